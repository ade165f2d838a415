"""The per-file work of logtally.dask and logtally.spark, run on workers.

Only orchestration: open a URL, hand the stream to the core, turn a failure
into the core's report of a failed file. Reports travel as JSON strings.
"""
from . import _logtally


def reason(exc):
    """The words for why a file could not be read, in the CLI's shape.

    An OSError gives the OS's text ("No such file or directory"), exactly as
    the CLI names an unreadable file; anything else (a dead worker, a missing
    filesystem driver) gives the exception's type and text.
    """
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_binary(url):
    """Opens ``url`` for binary reading: through fsspec if it is installed."""
    try:
        import fsspec
    except ImportError:  # plain local paths still work
        return open(url, "rb")
    return fsspec.open(url, "rb").open()


def _tally_url(url, options_json, tally_stream, failed):
    """One file's `tally_stream` result; `failed`'s for a file that cannot be
    opened (never raises for it)."""
    try:
        stream = open_binary(url)
    except Exception as exc:  # noqa: BLE001 - any failure names the file
        return failed(url, reason(exc), options_json)
    with stream:
        # One task per core already: read and tally on this thread only.
        return tally_stream(stream, url, options_json, False)


def tally_url(url, options_json):
    """One file's complete report (JSON). Never raises for an unreadable file."""
    return _tally_url(url, options_json, _logtally.tally_stream, _logtally.failed_report)


def merge_pair(a, b):
    """Two complete reports (JSON) merged into one."""
    return _logtally.merge([a, b], None)


def merge_all(reports):
    """Complete reports (JSON) merged into one."""
    return _logtally.merge(list(reports), None)


def tally_url_state(url, options_json):
    """One file's state (bytes), for reports with panels. Never raises for an
    unreadable file."""
    return _tally_url(url, options_json, _logtally.tally_stream_state, _logtally.failed_state)


def merge_state_pair(a, b):
    """Two states (bytes) united into one."""
    return _logtally.merge_states([a, b])


def with_panels(options_json):
    """Whether these (validated) options make a report with panels: such runs
    merge through their states (visitors united), not their reports."""
    import json

    return bool(json.loads(options_json)["report"])
