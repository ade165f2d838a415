"""logtally.dask on a local Dask cluster (2 worker processes) against the CLI."""
import pytest

import logtally
import logtally.dask
from conftest import run_cli, same_report

distributed = pytest.importorskip("distributed")
fsspec = pytest.importorskip("fsspec")
import dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # A task whose worker dies fails at once (no retries on other workers), so
    # the worker-death test is quick; tally names that file as failed.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, distributed.Client(cluster) as client:
            yield client


def test_dask_equals_cli(client, corpus, sample):
    files = corpus + [sample]
    for options in [{"all": True}, {}, {"by": "status", "all": True}, {"prefix": "/book/", "top": 3}]:
        same_report(logtally.dask.tally(files, client=client, **options), run_cli(files, **options))


def test_dask_failing_file_named_like_cli(client, corpus, tmp_path):
    missing = str(tmp_path / "gone.log.gz")
    files = [corpus[0], missing, corpus[1]]
    report = logtally.dask.tally(files, client=client, all=True)
    same_report(report, run_cli(files, all=True))
    failed = [f["path"] for f in report["files"] if f["failed"]]
    assert failed == [missing]
    assert [e for e in report["errors"] if e["path"] == missing] == [
        {"path": missing, "line": None, "message": "No such file or directory"}
    ]


def test_dask_bad_option_before_submitting(client, sample):
    with pytest.raises(ValueError, match="colour"):
        logtally.dask.tally([sample], client=client, colour="red")


def test_dask_urls_through_fsspec(client, sample):
    url = "file://" + sample
    report = logtally.dask.tally([url], client=client, all=True)
    expected = logtally.tally([sample], all=True)
    assert report["counts"] == expected["counts"]
    assert report["totals"] == expected["totals"]
    assert report["files"][0]["path"] == url


# Defined on the workers (they cannot import this test module): a filesystem
# whose files kill the worker process that opens them.
CRASHFS = """
import os
import fsspec

class CrashFS(fsspec.AbstractFileSystem):
    protocol = "crash"

    def _open(self, path, mode="rb", **kwargs):
        os._exit(3)

fsspec.register_implementation("crash", CrashFS, clobber=True)
"""


def test_dask_worker_death_fails_only_its_file(client, corpus):
    client.run(exec, CRASHFS, {})
    doomed = "crash://the-worker-dies.gz"
    report = logtally.dask.tally([corpus[0], doomed, corpus[1]], client=client, all=True)
    expected = logtally.tally([corpus[0], corpus[1]], all=True)
    assert report["counts"] == expected["counts"]
    assert report["totals"]["lines"] == expected["totals"]["lines"]
    assert report["totals"]["files"] == 3
    assert [f["path"] for f in report["files"] if f["failed"]] == [doomed]
    (error,) = [e for e in report["errors"] if e["path"] == doomed]
    assert "KilledWorker" in error["message"], error


def test_dask_report_with_panels_equals_cli(client, corpus, sample, tmp_path):
    """Panels travel as states: visitors of several files are united."""
    missing = str(tmp_path / "gone.log.gz")
    files = corpus + [sample, missing]
    for options in [{"report": True, "all": True}, {"report": True, "top": 5, "where": ["status>=400"]}]:
        cli_options = dict(options)
        assert logtally.dask.tally(files, client=client, **options) == run_cli(files, **cli_options)
