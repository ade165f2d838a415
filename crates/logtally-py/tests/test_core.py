"""logtally.tally / tally_stream / merge against the CLI's JSON."""
import io
import subprocess
import threading
import time

import pytest

import logtally
from conftest import CLI, run_cli, same_report


def test_sample_equals_cli(sample):
    same_report(logtally.tally([sample]), run_cli([sample]))
    same_report(logtally.tally(sample, all=True), run_cli([sample], all=True))


@pytest.mark.parametrize(
    "options",
    [
        {"all": True},
        {"by": "status", "all": True},
        {"by": "host", "top": 7},
        {"by": "hour", "min_count": 3, "all": True},
        {"by": "referrer-host", "all": True},
        {"by": "agent-product", "top": 5},
        {"prefix": "/book/", "all": True},
        {"no_path_filter": True, "top": 50},
        {"exclude_name": ["about"], "exclude_ext": [".html", ".txt"], "all": True},
        {"max_line": 300, "all": True},
    ],
)
def test_corpus_equals_cli(corpus, options):
    same_report(logtally.tally(corpus, **options), run_cli(corpus, **options))


def test_directory_glob_and_missing_file_as_cli(corpus, tmp_path):
    corpus_dir = corpus[0].rsplit("/", 1)[0]
    missing = str(tmp_path / "missing.gz")
    args = [corpus_dir, corpus_dir + "/*-0[01].log.gz", missing]
    report = logtally.tally(args, all=True)
    same_report(report, run_cli(args, all=True))
    assert [e["message"] for e in report["errors"] if e["path"] == missing] == ["No such file or directory"]


def test_tally_stream_equals_tally(corpus, sample):
    for path in [sample, corpus[0]]:
        expected = logtally.tally([path], by="status", all=True)
        with open(path, "rb") as f:
            same_report(logtally.tally_stream(f, path, by="status", all=True), expected)
        with open(path, "rb") as f:
            data = io.BytesIO(f.read())
        same_report(logtally.tally_stream(data, path, by="status", all=True), expected)
        data.seek(0)
        same_report(logtally.tally_stream(data, path, parallel=False, by="status", all=True), expected)


def test_tally_stream_plain_text_and_bytearray_reader(sample):
    import gzip

    text = gzip.open(sample).read()

    class Chunks:
        """A reader returning bytearrays of odd sizes."""

        def __init__(self, data):
            self.data, self.pos = data, 0

        def read(self, n):
            n = min(n, 777)
            chunk = bytearray(self.data[self.pos : self.pos + n])
            self.pos += n
            return chunk

    report = logtally.tally_stream(Chunks(text), "plain.log", all=True)
    expected = logtally.tally([sample], all=True)
    assert report["counts"] == expected["counts"]
    assert report["totals"]["lines"] == 10000
    assert report["files"][0]["gzip"] is False


def test_tally_stream_read_error_fails_the_file(sample):
    class Broken:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise OSError("connection reset")
            return b'1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'

    report = logtally.tally_stream(Broken(), "remote.log", all=True)
    assert report["files"][0]["failed"] is True
    assert "connection reset" in report["errors"][0]["message"]
    assert report["errors"][0]["path"] == "remote.log"


def test_merge_of_per_file_reports_equals_one_run(corpus, sample):
    files = corpus + [sample]
    for options in [{}, {"by": "day"}, {"prefix": "/book/"}]:
        parts = [logtally.tally([f], all=True, **options) for f in files]
        one_run = logtally.tally(files, all=True, **options)
        same_report(logtally.merge(parts), one_run)
        same_report(logtally.merge(reversed(parts)), one_run)
        # shown with the user's rows, as a run with those options
        same_report(logtally.merge(parts, top=3), logtally.tally(files, top=3, **options))
    # JSON strings are reports too
    import json

    same_report(logtally.merge([json.dumps(p) for p in parts]), logtally.merge(parts))


def test_merge_refuses_cut_report(corpus):
    whole = logtally.tally([corpus[0]], all=True)
    cut = logtally.tally([corpus[1]], top=5)
    with pytest.raises(ValueError, match=r"report 2 shows 5 of its \d+ keys .*--all"):
        logtally.merge([whole, cut])


def test_merge_refuses_mismatched_options(corpus):
    a = logtally.tally([corpus[0]], all=True)
    b = logtally.tally([corpus[1]], all=True, by="status")
    with pytest.raises(ValueError, match=r"report 2 .*another `by`"):
        logtally.merge([a, b])
    c = logtally.tally([corpus[1]], all=True, prefix="/book/")
    with pytest.raises(ValueError, match="`prefix`"):
        logtally.merge([a, c])
    with pytest.raises(ValueError, match="no reports"):
        logtally.merge([])
    with pytest.raises(ValueError, match="report 1 is not a logtally report"):
        logtally.merge([{"counts": 1}])
    with pytest.raises(ValueError, match="another `by`"):
        logtally.merge([a], by="status")


@pytest.mark.parametrize(
    "options, name",
    [
        ({"colour": "red"}, "colour"),
        ({"top": "ten"}, "top"),
        ({"by": "colour"}, "by"),
        ({"max_line": 0}, "max_line"),
        ({"exclude_name": [""]}, "exclude_name"),
        ({"min_count": -1}, "min_count"),
    ],
)
def test_bad_option_is_value_error_naming_it(sample, options, name):
    with pytest.raises(ValueError, match=name):
        logtally.tally([sample], **options)
    with pytest.raises(ValueError, match=name):
        logtally.tally_stream(io.BytesIO(b""), "x", **options)


def test_gil_released_during_tally(big_file):
    """A Python thread keeps running while a big tally runs in Rust."""
    stop = threading.Event()
    ticks = [0]

    def busy():
        while not stop.is_set():
            ticks[0] += 1

    # How fast the loop runs alone, for scale.
    worker = threading.Thread(target=busy)
    worker.start()
    time.sleep(0.2)
    stop.set()
    worker.join()
    alone_rate = ticks[0] / 0.2

    stop.clear()
    ticks[0] = 0
    worker = threading.Thread(target=busy)
    worker.start()
    started = time.perf_counter()
    report = logtally.tally([big_file], all=True)
    seconds = time.perf_counter() - started
    during = ticks[0]
    stop.set()
    worker.join()
    assert report["totals"]["lines"] == 1_500_000
    # Holding the GIL would leave the loop (almost) still for the whole tally;
    # released, it runs at a good fraction of its own speed even on a busy machine.
    assert during > 0.05 * alone_rate * seconds, (during, alone_rate, seconds)


def test_report_with_panels_equals_cli(sample):
    """--report (schema 2) from Python = the CLI's, whole and per stream."""
    for options in (
        {"report": True, "all": True},
        {"report": True, "top": 5, "where": ["status>=400", "method=GET"], "bucket": "1h"},
        {"report": True, "by": "status", "panels": ["status", "browser"], "since": "2015-05-18", "until": "2015-05-19T06:00"},
    ):
        cli_options = dict(options)
        if "panels" in cli_options:
            cli_options["by"] = ",".join(cli_options.pop("panels"))
        cli = run_cli([sample], **cli_options)
        ours = logtally.tally([sample], **options)
        with open(sample, "rb") as f:
            streamed = logtally.tally_stream(f, sample, **options)
        assert ours["schema"] == 2
        for key in ("totals", "panels", "timeseries", "files", "errors", "options"):
            assert ours[key] == cli[key], key
            assert streamed[key] == cli[key], key
        assert sum(p["hits"] for p in ours["timeseries"]["points"]) == ours["totals"]["counted"]


def test_states_of_runs_apart_merge_into_one_run(corpus, sample, tmp_path):
    """Reports with panels merge exactly through states (visitors united),
    Python's and the CLI's states alike."""
    options = {"report": True, "all": True, "bucket": "1h"}
    whole = logtally.tally(corpus, **options)
    a, b, c = tmp_path / "a.state", tmp_path / "b.state", tmp_path / "c.state"
    first = logtally.tally(corpus[:2], state=a, **options)
    assert first == logtally.tally(corpus[:2], **options)
    logtally.tally(corpus[2:3], state=b, **options)
    # The CLI writes the same kind of state.
    subprocess.run(
        [str(CLI), "--report", "--bucket", "1h", "-q", "--format", "json", "--state", str(c), corpus[3]],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    merged = logtally.merge_states([a, b.read_bytes(), c], all=True, state=tmp_path / "all.state")
    assert merged == whole
    # Visitors of several files are counted once, not added.
    parts = sum(logtally.tally([f], **options)["totals"]["visitors"] for f in corpus)
    assert parts > whole["totals"]["visitors"]
    again = logtally.merge_states([tmp_path / "all.state"], top=3)
    assert all(len(p["hits"]) <= 3 for p in again["panels"].values())
    assert again["totals"] == whole["totals"]
    # Refusals name the state.
    with pytest.raises(ValueError, match="state 2: damaged"):
        logtally.merge_states([a, a.read_bytes()[:500]])
    other = tmp_path / "other.state"
    logtally.tally(corpus[:1], state=other, where=["status=200"], **options)
    with pytest.raises(ValueError, match="`where`"):
        logtally.merge_states([a, other])


def test_relative_times_count_back_from_the_newest_record(sample):
    """As the CLI: a first pass finds the newest record."""
    for options in ({"report": True, "since": "1d", "all": True}, {"until": "12h", "by": "status"}):
        assert logtally.tally([sample], **options) == run_cli([sample], **options)
    with open(sample, "rb") as f, pytest.raises(ValueError, match="read twice"):
        logtally.tally_stream(f, sample, since="2h")
