#!/usr/bin/env python3
"""The book's chapter-12 program (Functional Python Programming: a
multiprocessing.Pool over glob.glob(pattern), imap_unordered, Counter.update)
with its analysis() replaced by logtally's Rust core.

    python book_pool.py [--all-paths] [-j N] PATTERN_OR_FILE...

Prints {"counts": {path: n}, "files": n, "seconds": s} like the seed's
reference program (`reference.py --all-paths --any-host`): the same counts.
Without --all-paths it counts the book's chapters only (its book_filter).
"""
import argparse
import glob
import json
import multiprocessing
import sys
import time
from collections import Counter

import logtally

ALL_PATHS = False


def analysis(filename):
    """The book's analysis(filename) -> Counter, on logtally's core."""
    # book_compat: the book's own line pattern and details, so the counts are its counts.
    report = logtally.tally([filename], all=True, book_compat=True, prefix=None if ALL_PATHS else "/book/")
    return Counter(report["counts"])


def _init(all_paths):
    global ALL_PATHS
    ALL_PATHS = all_paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=multiprocessing.cpu_count())
    ap.add_argument("--all-paths", action="store_true", help="skip the book filter")
    ap.add_argument("patterns", nargs="+", help="file names or glob patterns")
    a = ap.parse_args()
    files = [f for pattern in a.patterns for f in (sorted(glob.glob(pattern)) or [pattern])]
    start = time.perf_counter()
    combined = Counter()
    with multiprocessing.Pool(a.j, initializer=_init, initargs=(a.all_paths,)) as workers:
        for result in workers.imap_unordered(analysis, files):
            combined.update(result)
    seconds = time.perf_counter() - start
    json.dump({"counts": dict(combined), "files": len(files), "seconds": seconds}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
