"""logtally on Spark: one task per file, reports merged with treeReduce.

    from pyspark.sql import SparkSession
    import logtally.spark
    spark = SparkSession.builder.master("spark://master:7077").getOrCreate()
    report = logtally.spark.tally(spark, ["hdfs:///logs/a.gz", "s3://bucket/b.gz"], all=True)

Executors need the ``logtally`` wheel (``pip install`` on each, or ship it with
``spark-submit --py-files``) and fsspec with the URLs' filesystem driver.
Each task writes a complete report (``all`` set), so the merge is exact; the
final report shows the rows the options ask for. A file that cannot be opened
is named in ``errors`` and ``files`` (``failed``), as in the CLI.
"""
import json

from . import _logtally, _remote
from . import tally as _tally_local

__all__ = ["tally"]


def tally(spark, paths, **options):
    """Tally files or fsspec URLs with a SparkSession; returns the report dict.

    Options as for :func:`logtally.tally`; bad options raise ValueError before
    any job starts.
    """
    urls = [paths] if isinstance(paths, str) else [str(p) for p in paths]
    user_json = json.dumps(options)
    worker_json = _logtally.worker_options(user_json)  # validates; all=True
    if not urls:
        return _tally_local([], **options)
    kind = _remote.parts_for(worker_json)
    tally_url = kind.tally_url
    reports = spark.sparkContext.parallelize(urls, len(urls)).map(
        lambda url: tally_url(url, worker_json)
    )
    merged = reports.treeReduce(kind.merge_pair, depth=2)
    return json.loads(kind.show(merged, options))
