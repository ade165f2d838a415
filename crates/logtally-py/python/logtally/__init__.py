"""logtally: tally web-server access logs (.gz and plain) with logtally's Rust core.

Reports are the CLI's JSON (``logtally --format json``) as dicts. Options are
named as the CLI's long flags (``by``, ``prefix``, ``no_path_filter``,
``exclude_name``, ``exclude_ext``, ``max_line``, ``top``, ``all``,
``min_count``); they go to the core as one JSON object, and the core validates
them (an unknown or invalid option raises ValueError naming it).

    >>> import logtally
    >>> report = logtally.tally(["samples/apache_logs.gz"], all=True)   # doctest: +SKIP
    >>> report["totals"]["lines"]                                         # doctest: +SKIP
    10000

For clusters see :mod:`logtally.dask` and :mod:`logtally.spark`.
"""
import json
import os

from . import _logtally

__all__ = ["tally", "tally_stream", "merge", "merge_states", "render", "__version__"]
__version__ = _logtally.__version__


def _paths(paths):
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    return [os.fsdecode(p) for p in paths]


def _options(options):
    return json.dumps(options)


def _report_text(report):
    return report if isinstance(report, str) else json.dumps(report)


def _view(options):
    """The options that choose the rows shown."""
    return {k: v for k, v in options.items() if k in ("top", "all", "min_count")}


def _write_state(path, state):
    """Writes ``state`` (bytes) to ``path`` whole or not at all."""
    path = os.fsdecode(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(state)
    os.replace(tmp, path)


def tally(paths, *, state=None, **options):
    """Tally log files; returns the CLI's JSON report as a dict.

    ``paths`` is one path or a list of them, expanded as the CLI expands its
    PATH arguments (files, directories' ``*.gz``/``*.log``, glob patterns).
    Files are tallied in parallel on threads inside Rust, with the GIL released.
    A file that cannot be read does not raise: it is named in ``errors`` and in
    ``files`` (``failed``), as in the CLI. Bad options raise ValueError.
    ``state`` (a path): also write the run's state there, as the CLI's
    ``--state`` does, for :func:`merge_states`.
    """
    if state is None:
        return json.loads(_logtally.tally(_paths(paths), _options(options)))
    run = _logtally.tally_state(_paths(paths), _options(options))
    _write_state(state, run)
    return json.loads(_logtally.render_state(run, _options(_view(options))))


def tally_stream(fileobj, name, *, parallel=True, **options):
    """Tally one binary stream (gzip or plain text, sniffed) as file ``name``.

    ``fileobj`` is anything with ``read(n) -> bytes``: an open file, an
    ``io.BytesIO``, an fsspec file (S3, GCS, HDFS, HTTP...). It is read in 1 MiB
    chunks; the GIL is released between reads. A read that raises ends the
    file as failed (lines of the blocks read before it still count), named in
    ``errors``. ``parallel=False`` tallies on the calling thread only (for
    workers that already run one task per core, as in logtally.dask).
    """
    return json.loads(_logtally.tally_stream(fileobj, str(name), _options(options), parallel))


def merge(reports, **options):
    """Merge complete reports (dicts or JSON strings) into the report of one run.

    The core's merge: counts added, files and errors joined. It refuses, with
    ValueError naming the report, a report cut by ``top``/``min_count`` (write
    the parts with ``all=True``) and reports counted with other options.
    Options given here (``top``, ``all``, ``min_count``) choose the rows shown;
    by default every row is shown.
    """
    texts = [_report_text(r) for r in reports]
    return json.loads(_logtally.merge(texts, _options(options) if options else None))


def merge_states(states, *, state=None, **options):
    """Unite runs' states (paths, or bytes) into the report of one run over all
    their files, as ``logtally merge A.state B.state`` does: exact for reports
    with panels too (a visitor of both runs counts once). ``state`` (a path):
    also write the merged state. Options here choose the rows shown (``top``,
    ``all``, ``min_count``). A state that is damaged, from another version,
    or counted with other options raises ValueError naming it.
    """
    if isinstance(states, (str, bytes, bytearray, os.PathLike)):
        states = [states]
    parts = []
    for s in states:
        if isinstance(s, (bytes, bytearray)):
            parts.append(bytes(s))
        else:
            with open(os.fsdecode(s), "rb") as f:
                parts.append(f.read())
    merged = _logtally.merge_states(parts)
    if state is not None:
        _write_state(state, merged)
    return json.loads(_logtally.render_state(merged, _options(options)))


def render(report, **options):
    """Show a complete report again with other ``top``/``all``/``min_count``."""
    return json.loads(_logtally.render(_report_text(report), _options(options)))
