"""logtally on a Dask cluster: one task per file, reports merged as a tree.

    from distributed import Client
    import logtally.dask
    client = Client("tcp://scheduler:8786")
    report = logtally.dask.tally(["s3://bucket/logs/a.gz", "s3://bucket/logs/b.gz"],
                                 client=client, by="status")

Workers need the ``logtally`` wheel (and fsspec plus the driver of the URLs'
filesystem, e.g. s3fs). Every file's task writes a complete report (``all``
set), so that the pairwise merges are exact; the final report shows the rows
the options ask for. Reports with panels (``report=True``) travel as the
files' states, so that visitors are united, not added. A file whose task fails (the open raises, the worker dies)
is named in ``errors`` and ``files`` (``failed``) and the others still count,
as the CLI treats an unreadable file.
"""
import json

from . import _logtally, _remote
from . import tally as _tally_local

__all__ = ["tally"]


def _tree(client, futures, merge_pair):
    """Pairwise merge tasks over ``futures`` up to one root future."""
    level = list(futures)
    while len(level) > 1:
        merged = [
            client.submit(merge_pair, level[i], level[i + 1], pure=False)
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            merged.append(level[-1])
        level = merged
    return level[0]


def _recover(client, urls, futures, options_json, kind):
    """Each file's part (report or state, as ``kind`` says) where its task
    succeeded, merged. A task that raised (its worker may have died with
    another file's task on it) runs again, alone; if it raises again, its file
    is a failed file naming the exception."""
    parts = []
    for url, future in zip(urls, futures):
        try:
            parts.append(future.result())
        except Exception:  # noqa: BLE001 - retried below
            retry = client.submit(kind.tally_url, url, options_json, pure=False)
            try:
                parts.append(retry.result())
            except Exception as exc:  # noqa: BLE001 - a lost task fails its file only
                parts.append(kind.failed(url, _remote.reason(exc), options_json))
    return kind.merge_all(parts)


def tally(paths_or_urls, client=None, **options):
    """Tally files or fsspec URLs on a Dask cluster; returns the report dict.

    ``client`` is a ``distributed.Client`` (default: the current one, from
    ``distributed.get_client()``). Options as for :func:`logtally.tally`;
    bad options raise ValueError before anything is submitted.
    """
    urls = [paths_or_urls] if isinstance(paths_or_urls, str) else [str(u) for u in paths_or_urls]
    user_json = json.dumps(options)
    worker_json = _logtally.worker_options(user_json)  # validates; all=True
    if not urls:
        return _tally_local([], **options)
    if client is None:
        from distributed import get_client

        client = get_client()
    kind = _remote.parts_for(worker_json)
    futures = [client.submit(kind.tally_url, url, worker_json, pure=False) for url in urls]
    root = _tree(client, futures, kind.merge_pair)
    try:
        merged = root.result()
    except Exception:  # noqa: BLE001 - some file's task failed: merge the others
        merged = _recover(client, urls, futures, worker_json, kind)
    return json.loads(kind.show(merged, options))
