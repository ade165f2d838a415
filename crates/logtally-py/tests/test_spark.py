"""logtally.spark with PySpark in local[2] mode against the CLI."""
import os
import shutil
import sys

import pytest

import logtally
import logtally.spark
from conftest import run_cli, same_report

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java: scripts/python-setup installs openjdk-17-jre-headless")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("logtally-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_equals_cli(spark, corpus, sample, tmp_path):
    missing = str(tmp_path / "gone.log.gz")
    files = corpus + [sample, missing]
    for options in [{"all": True}, {"by": "host", "top": 10}]:
        same_report(logtally.spark.tally(spark, files, **options), run_cli(files, **options))


def test_spark_report_with_panels_equals_cli(spark, corpus, sample):
    files = corpus + [sample]
    options = {"report": True, "top": 5}
    assert logtally.spark.tally(spark, files, **options) == run_cli(files, **options)


def test_spark_bad_option(spark, sample):
    with pytest.raises(ValueError, match="min_count"):
        logtally.spark.tally(spark, [sample], min_count="many")
