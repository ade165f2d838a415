#!/usr/bin/env python3
"""Speed of logtally's Python package against the CLI, on the seed-scale corpus.

    target/py-venv/bin/python crates/logtally-py/bench_python.py [--runs N] [--no-spark]

Uses bench/bench.py's corpus (target/bench/corpus-seed/seed: 5 gzip files of
~100 MB of text each), generating it if missing. Prints medians of N runs and,
for each target, MET / NOT MET with the ratio:
  one file:  logtally.tally (one rayon thread, and default) vs `logtally --engine serial`  (target: within 10%)
  5 files:   logtally.dask.tally on LocalCluster(2 workers x 1 thread) vs `logtally -j 2`
             (process engine)  (target: within 1.3x; cluster start-up shown apart)
  5 files:   logtally.spark.tally in local[2] (figures only)
Wall times of the CLI include its process start-up (a few ms).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "release" / "logtally"
GEN = ROOT / "target" / "release" / "logtally-gen"
SEED = ROOT / "target" / "bench" / "corpus-seed" / "seed"


def corpus():
    if not sorted(SEED.glob("*.gz")):
        # bench/bench.py's corpus command
        subprocess.run([str(GEN), str(SEED), "5", "520000", "2015"], check=True, stdout=subprocess.DEVNULL)
    return [str(p) for p in sorted(SEED.glob("*.gz"))]


def median_wall(fn, runs):
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def cli(*args):
    return lambda: subprocess.run([str(CLI), "--all", "--format", "json", "-q", *args], check=True, stdout=subprocess.DEVNULL)


def python_tally(path, threads, runs):
    """Median seconds of logtally.tally([path]) inside a fresh interpreter whose
    rayon pool has `threads` threads (None: one per core)."""
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    code = (
        "import json, statistics, sys, time, logtally\n"
        "walls = []\n"
        f"for _ in range({runs}):\n"
        "    t = time.perf_counter(); logtally.tally([sys.argv[1]], all=True); walls.append(time.perf_counter() - t)\n"
        "print(statistics.median(walls))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, path], env=env, check=True, stdout=subprocess.PIPE, text=True)
    return float(out.stdout)


def verdict(name, ours, theirs, limit):
    ratio = ours / theirs
    status = "MET" if ratio <= limit else "NOT MET"
    print(f"  {name}: {ours:.3f} s vs {theirs:.3f} s = {ratio:.2f}x (target <= {limit:.2f}x): {status}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args()
    files = corpus()
    size = sum(os.path.getsize(f) for f in files)
    print(f"corpus: {len(files)} files, {size / 1e6:.1f} MB gzip ({SEED}); {os.cpu_count()} cores; medians of {a.runs} runs")

    print("one file:", files[0])
    serial = median_wall(cli("--engine", "serial", files[0]), a.runs)
    one_thread = python_tally(files[0], 1, a.runs)
    default = python_tally(files[0], None, a.runs)
    print(f"  logtally --engine serial: {serial:.3f} s")
    print(f"  logtally.tally, RAYON_NUM_THREADS=1: {one_thread:.3f} s; default threads: {default:.3f} s")
    verdict("logtally.tally (1 thread) vs CLI serial", one_thread, serial, 1.10)

    print("5 files:")
    process = median_wall(cli("--engine", "process", "-j", "2", *files), a.runs)
    print(f"  logtally --engine process -j 2: {process:.3f} s")
    import logtally

    local = median_wall(lambda: logtally.tally(files, all=True), a.runs)
    print(f"  logtally.tally (in process, rayon threads): {local:.3f} s")
    if not a.no_dask:
        import distributed

        import logtally.dask

        started = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        client.run(lambda: __import__("logtally"))
        startup = time.perf_counter() - started
        report = logtally.dask.tally(files, client=client, all=True)  # warm-up
        assert report["totals"]["files"] == len(files)
        dask_wall = median_wall(lambda: logtally.dask.tally(files, client=client, all=True), a.runs)
        client.close()
        cluster.close()
        print(f"  Dask LocalCluster start-up (2 workers): {startup:.2f} s")
        verdict("logtally.dask.tally (2 workers) vs CLI -j 2", dask_wall, process, 1.30)
    if not a.no_spark:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        import logtally.spark

        started = time.perf_counter()
        spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        startup = time.perf_counter() - started
        logtally.spark.tally(spark, files, all=True)  # warm-up
        spark_wall = median_wall(lambda: logtally.spark.tally(spark, files, all=True), a.runs)
        spark.stop()
        print(f"  Spark local[2] session start-up: {startup:.2f} s")
        print(f"  logtally.spark.tally local[2]: {spark_wall:.3f} s = {spark_wall / process:.2f}x CLI -j 2 (figures only)")


if __name__ == "__main__":
    main()
