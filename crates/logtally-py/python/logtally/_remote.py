"""The per-file work of logtally.dask and logtally.spark, run on workers.

Only orchestration: open a URL, hand the stream to the core, turn a failure
into the core's report of a failed file. Reports travel as JSON strings,
states (reports with panels) as bytes.
"""
import json
from typing import Callable, NamedTuple

from . import _logtally, _view


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


def _show_report(merged, options):
    """The merged report (JSON) showing the rows ``options`` ask for."""
    return _logtally.render(merged, json.dumps(options))


def _show_state(merged, options):
    """The merged state's report (JSON) showing the rows ``options`` ask for."""
    return _logtally.render_state(merged, json.dumps(_view(options)))


class Parts(NamedTuple):
    """How a cluster run's per-file parts are made, merged and shown."""

    tally_url: Callable
    failed: Callable
    merge_pair: Callable
    merge_all: Callable
    show: Callable


REPORTS = Parts(tally_url, _logtally.failed_report, merge_pair, merge_all, _show_report)
STATES = Parts(tally_url_state, _logtally.failed_state, merge_state_pair, _logtally.merge_states, _show_state)


def parts_for(options_json):
    """Complete reports, or for reports with panels the files' states: their
    visitors are united when merged, not added (``options_json`` validated)."""
    return STATES if json.loads(options_json)["report"] else REPORTS
