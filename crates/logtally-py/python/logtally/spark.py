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
from . import _view
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
    # Reports with panels travel as states: their visitors are united, not added.
    panels = _remote.with_panels(worker_json)
    if panels:
        tally_url, merge_pair = _remote.tally_url_state, _remote.merge_state_pair
    else:
        tally_url, merge_pair = _remote.tally_url, _remote.merge_pair
    reports = spark.sparkContext.parallelize(urls, len(urls)).map(
        lambda url: tally_url(url, worker_json)
    )
    merged = reports.treeReduce(merge_pair, depth=2)
    if panels:
        return json.loads(_logtally.render_state(merged, json.dumps(_view(options))))
    return json.loads(_logtally.render(merged, user_json))
