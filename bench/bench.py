#!/usr/bin/env python3
"""logtally's benchmark: throughput against the decompression floor, engine
scaling, gzip backends and peers, on a deterministic generated corpus.

    python3 bench/bench.py [--scale seed|small] [--runs N] [--no-peers] [--no-backends]
                           [--only-formats]

Builds the release binaries, generates the corpus once (target/bench/), runs
the matrix, prints tables and writes target/bench/results-<scale>.json.

  seed  5 files of ~100 MB of text each (the seed's scale), and one big file
        of the same total;
  small 5 files of ~10 MB each, for a quick look.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target"
BENCH = TARGET / "bench"
CORES = os.cpu_count() or 1
REFERENCE = ROOT.parent / "shared" / "tools" / "reference.py"
# Lines per file: the generator averages ~195 bytes of text per line.
SCALES = {"seed": 520_000, "small": 52_000}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build(backend):
    """The release CLI with a gzip backend; returns its path."""
    if backend == "default":
        sh(["cargo", "build", "--release", "-q", "-p", "logtally-cli", "-p", "logtally-gen"], cwd=ROOT)
        return TARGET / "release" / "logtally"
    target_dir = BENCH / "build" / backend
    features = [] if backend == "miniz_oxide" else ["--features", backend]
    sh(["cargo", "build", "--release", "-q", "-p", "logtally-cli", "--no-default-features", *features,
        "--target-dir", str(target_dir)], cwd=ROOT)
    return target_dir / "release" / "logtally"


def corpus(scale):
    lines = SCALES[scale]
    seed_dir = BENCH / f"corpus-{scale}" / "seed"
    big_dir = BENCH / f"corpus-{scale}" / "big"
    gen = TARGET / "release" / "logtally-gen"
    if not seed_dir.exists():
        sh([str(gen), str(seed_dir), "5", str(lines), "2015"], stdout=subprocess.DEVNULL)
    if not big_dir.exists():
        sh([str(gen), str(big_dir), "1", str(5 * lines), "2015"], stdout=subprocess.DEVNULL)
    return sorted(str(p) for p in seed_dir.glob("*.gz")), sorted(str(p) for p in big_dir.glob("*.gz"))


def run_logtally(binary, files, engine, jobs, floor, runs):
    """Best wall time of `runs`, with the --stats of that run."""
    cmd = [str(binary), "--engine", engine, "-j", str(jobs), "--format", "json", "-q", "--stats", "--all"]
    if floor:
        cmd.append("--decompress-only")
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        p = subprocess.run(cmd + files, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
        wall = time.perf_counter() - start
        stats = json.loads(p.stderr.decode().strip().splitlines()[-1])
        if best is None or wall < best["wall"]:
            best = {"wall": wall, **stats}
    return best


def vhost_corpus(scale, seed_files):
    """The seed corpus as Apache's vhost_combined writes it (`%v:%p ` in front)."""
    def write(tmp):
        for f in seed_files:
            target = tmp / Path(f).name
            sh(["bash", "-c", f"gzip -dc {f} | sed 's/^/www.example.com:443 /' | gzip -1 > {target}"])
    return cached_corpus(BENCH / f"corpus-{scale}" / "vhost", write)


def cached_corpus(out_dir, write):
    """The *.gz files of `out_dir`, written once by `write(tmp)` into a
    directory beside it and renamed, so an interrupted run leaves no half corpus."""
    if not out_dir.exists():
        tmp = out_dir.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write(tmp)
        tmp.rename(out_dir)
    return sorted(str(p) for p in out_dir.glob("*.gz"))


def generated_corpus(name, make, *args):
    """BENCH/name written by the Python program `make` (given the directory,
    then `args`) in a child process: Linux keeps a process's peak RSS across
    fork and exec, so a large bench process would inflate the --stats of later runs."""
    return cached_corpus(BENCH / name, lambda tmp: sh([sys.executable, "-c", make, str(tmp), *map(str, args)]))


def distinct_corpus():
    """2 M lines with 2 M distinct paths in 4 gzip files: a crawler's unique URLs."""
    make = r"""
import gzip, sys
n = 0
for f in range(4):
    with gzip.open(f"{sys.argv[1]}/crawl-{f}.log.gz", "wt", compresslevel=1) as out:
        for i in range(500_000):
            n += 1
            out.write(f'66.249.{n % 250}.{n % 199} - - [17/May/2015:10:{(n // 60) % 60:02d}:{n % 60:02d} +0000] '
                      f'"GET /catalog/item-{n:08d}/page?ref={n * 7919 % 100003} HTTP/1.1" 200 {n % 9000} '
                      f'"-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"\n')
"""
    return generated_corpus("corpus-distinct", make)


def distinct_section(binary, seed_files, runs):
    """Per-line speed with 2 M distinct keys against the seed corpus, side by side."""
    distinct = distinct_corpus()
    walls = {"seed": [], "distinct": []}
    stats = {}
    for _ in range(runs):
        for name, files in (("seed", seed_files), ("distinct", distinct)):
            r = run_logtally(binary, files, "process", CORES, False, 1)
            walls[name].append(r["wall"])
            stats[name] = r
    med = {k: sorted(v)[len(v) // 2] for k, v in walls.items()}
    per_line = {k: med[k] / stats[k]["lines"] * 1e9 for k in med}
    rows = [{"corpus": k, "lines": stats[k]["lines"], "median_s": round(med[k], 3),
             "ns_per_line": round(per_line[k], 1),
             "rss_parent_MB": round(stats[k]["max_rss_parent_kb"] / 1024, 1),
             "rss_worker_MB": round(stats[k]["max_rss_worker_kb"] / 1024, 1)} for k in med]
    table(rows, f"distinct keys (process -j{CORES}, --by path --all, median of {runs})")
    return rows, round(per_line["distinct"] / per_line["seed"], 2)


def formats_section(binary, seed_files, vhost_files, runs):
    """Format matchers side by side: each configuration once per round, rounds
    interleaved, medians (the machine is shared and noisy)."""
    apache_vhost = '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
    configs = [
        ("--book-compat (the seed's pattern: before log formats)", seed_files, ["--book-compat"]),
        ("--log-format combined", seed_files, ["--log-format", "combined"]),
        ("--log-format auto (the default)", seed_files, []),
        ("vhost corpus, --log-format vcombined (compiled matcher)", vhost_files, ["--log-format", "vcombined"]),
        ("vhost corpus, Apache string (compiled matcher)", vhost_files, ["--log-format", apache_vhost]),
        ("vhost corpus, auto", vhost_files, []),
    ]
    walls = {name: [] for name, _, _ in configs}
    for _ in range(runs):
        for name, files, extra in configs:
            cmd = [str(binary), "--engine", "process", "-j", str(CORES), "--format", "json", "-q", "--all", *extra, *files]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - start)
    median = {name: sorted(w)[len(w) // 2] for name, w in walls.items()}
    base = median[configs[0][0]]
    rows = [{"run": name, "median_s": round(median[name], 3), "vs_book_compat": round(median[name] / base, 3)}
            for name, _, _ in configs]
    table(rows, f"log formats (process -j{CORES}, seed-scale corpora, median of {runs} interleaved rounds)")
    combined = median[configs[1][0]]
    return rows, {
        "combined_over_book_compat": round(combined / base, 3),
        "auto_over_book_compat": round(median[configs[2][0]] / base, 3),
        "apache_string_over_combined_preset": round(median[configs[4][0]] / combined, 3),
    }


def time_shell(command, runs=1):
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["bash", "-c", command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        best = wall if best is None else min(best, wall)
    return best


def sizes(files):
    gz = sum(os.path.getsize(f) for f in files)
    return gz


def row(name, r, gz_bytes, text_bytes, lines, floor_wall=None):
    out = {
        "run": name,
        "seconds": round(r["wall"], 3),
        "gz_MBps": round(gz_bytes / 1e6 / r["wall"], 1),
        "text_MBps": round(text_bytes / 1e6 / r["wall"], 1),
        "Mlines_per_s": round(lines / 1e6 / r["wall"], 2),
        "rss_parent_MB": round(r.get("max_rss_parent_kb", 0) / 1024, 1),
        "rss_worker_MB": round(r.get("max_rss_worker_kb", 0) / 1024, 1),
    }
    if floor_wall is not None:
        out["efficiency"] = round(floor_wall / r["wall"], 2)
    return out


def table(rows, title):
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print(f"\n### {title}\n")
    print("| " + " | ".join(k.ljust(widths[k]) for k in keys) + " |")
    print("|" + "|".join("-" * (widths[k] + 2) for k in keys) + "|")
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys) + " |")


def visitors_corpus():
    """2.6 M real lines: the bundled sample (10,000 lines of a real site, 2,143
    visitors) 260 times, each copy 4 days later, in 5 gzip files, so visitors
    come back as on a real site (the seed corpus has a new host on every line)."""
    make = r"""
import datetime, gzip, re, sys
lines = gzip.open(sys.argv[2], "rt", errors="replace").read().splitlines()
stamp = re.compile(r"\[(\d\d)/(\w\w\w)/(\d{4}):")
def shifted(line, days):
    m = stamp.search(line)
    if not m:
        return line
    d = datetime.datetime.strptime(m.group(0)[1:-1], "%d/%b/%Y") + datetime.timedelta(days=days)
    return line[:m.start()] + d.strftime("[%d/%b/%Y:") + line[m.end():]
for f in range(5):
    with gzip.open(f"{sys.argv[1]}/site-{f}.log.gz", "wt", compresslevel=6) as out:
        for copy in range(52):
            days = 4 * (f * 52 + copy)
            out.write("\n".join(shifted(l, days) for l in lines) + "\n")
"""
    return generated_corpus("corpus-visitors", make, ROOT / "samples" / "apache_logs.gz")


def report_section(binary, seed_files, runs):
    """`--report` (every panel) against `--by path` alone: process -jCORES,
    interleaved rounds, medians, with the peak memory of each (--stats); on
    the seed corpus (a new visitor on every line: the worst case) and on real
    lines whose visitors come back."""
    site_files = visitors_corpus()
    configs = [("seed corpus, --by path", seed_files, ["--by", "path"]),
               ("seed corpus, --report (13 panels)", seed_files, ["--report"]),
               ("real-site corpus, --by path", site_files, ["--by", "path"]),
               ("real-site corpus, --report (13 panels)", site_files, ["--report"])]
    walls = {name: [] for name, _, _ in configs}
    rss = {name: (0, 0) for name, _, _ in configs}
    for _ in range(runs):
        for name, files, extra in configs:
            cmd = [str(binary), "--engine", "process", "-j", str(CORES), "--format", "json", "-q", "--stats", *extra, *files]
            start = time.perf_counter()
            p = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            walls[name].append(time.perf_counter() - start)
            stats = json.loads(p.stderr.decode().strip().splitlines()[-1])
            rss[name] = (max(rss[name][0], stats["max_rss_parent_kb"]), max(rss[name][1], stats["max_rss_worker_kb"]))
    median = {name: sorted(w)[len(w) // 2] for name, w in walls.items()}
    base = {name: median[configs[i - i % 2][0]] for i, (name, _, _) in enumerate(configs)}
    rows = [{"run": name, "median_s": round(median[name], 3), "vs_by_path": round(median[name] / base[name], 3),
             "parent_MB": round(rss[name][0] / 1024), "worker_MB": round(rss[name][1] / 1024)} for name, _, _ in configs]
    table(rows, f"one pass, every panel (process -j{CORES}, 2.6 M lines each, median of {runs} interleaved rounds)")
    return rows, rows[1]["vs_by_path"], rows[3]["vs_by_path"]


def peers_section(seed_files, ours):
    """The peers on the seed corpus beside logtally's process engine (`ours`
    seconds): the table's rows, and pigz's time over logtally's (None
    without pigz)."""
    rows = []
    gz = sizes(seed_files)
    files = " ".join(seed_files)
    peers = []
    if shutil.which("gzip"):
        peers.append(("gzip -dc > /dev/null", f"gzip -dc {files} > /dev/null"))
    if shutil.which("pigz"):
        peers.append((f"pigz -dc -p {CORES} > /dev/null", f"pigz -dc -p {CORES} {files} > /dev/null"))
    if shutil.which("goaccess"):
        peers.append(("zcat | goaccess -o json", f"zcat {files} | goaccess --log-format=COMBINED -o json - > /dev/null"))
    if REFERENCE.exists():
        for pool in ("serial", "thread", "process"):
            peers.append((f"reference.py --pool {pool}", f"python3 {REFERENCE} --pool {pool} -j {CORES} --all-paths --any-host {files}"))
    pigz = None
    for name, command in peers:
        # Best of 3 like logtally's runs, where a run is short.
        wall = time_shell(command, 3 if name.startswith(("gzip", "pigz")) else 1)
        rows.append({"run": name, "seconds": round(wall, 2), "gz_MBps": round(gz / 1e6 / wall, 1),
                     "logtally_speedup": round(wall / ours, 2)})
        if name.startswith("pigz"):
            pigz = round(wall / ours, 2)
        print(f"  peer {name}: {wall:.2f} s", file=sys.stderr)
    table(rows, f"peers on the seed corpus (logtally: process -j{CORES}, the default, {ours} s)")
    return rows, pigz


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=SCALES, default="seed")
    ap.add_argument("--runs", type=int, default=5, help="rounds of logtally runs (medians; interleaved)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-backends", action="store_true")
    ap.add_argument("--only-formats", action="store_true", help="only the log-format comparison")
    ap.add_argument("--only-keys", action="store_true", help="only the distinct-keys comparison")
    ap.add_argument("--only-report", action="store_true", help="only --report against --by path")
    ap.add_argument("--only-big", action="store_true", help="only one big file, every engine")
    ap.add_argument("--only-peers", action="store_true", help="only the peers beside the process engine")
    a = ap.parse_args()

    binary = build("default")
    seed_files, big_files = corpus(a.scale)
    if a.only_peers:
        ours = round(run_logtally(binary, seed_files, "process", CORES, False, max(a.runs, 3))["wall"], 3)
        _, pigz = peers_section(seed_files, ours)
        if pigz is not None:
            print("\n### Targets\n")
            print(f"- {'MET    ' if pigz >= 1.0 else 'NOT MET'} faster than pigz -dc -p {CORES} "
                  f"(pigz time over logtally's, process -j{CORES}): {pigz}")
        return
    if a.only_big:
        walls = {}
        gz = sizes(big_files)
        probe = run_logtally(binary, big_files, "serial", 1, True, 1)
        rows = []
        # Interleaved rounds, medians: each engine sees the same moments of a shared machine.
        runs = {(e, j): [] for e in ("thread", "process") for j in range(1, CORES + 1)}
        for _ in range(max(a.runs, 5)):
            for (engine, jobs), walls_of in runs.items():
                walls_of.append(run_logtally(binary, big_files, engine, jobs, False, 1))
        for (engine, jobs), results_of in runs.items():
            r = sorted(results_of, key=lambda x: x["wall"])[len(results_of) // 2]
            walls[(engine, jobs)] = r["wall"]
            rows.append(row(f"{engine} -j{jobs} --by path", r, gz, probe["bytes_out"], probe["lines"]))
        table(rows, f"one big file ({gz / 1e6:.1f} MB gzip, {CORES} cores), medians of {max(a.runs, 5)} interleaved rounds")
        print("\n### Targets\n")
        for engine, need in (("process", 1.6), ("thread", 1.5)):
            v = round(walls[(engine, 1)] / walls[(engine, CORES)], 2)
            print(f"- {'MET    ' if v >= need else 'NOT MET'} one big file: >= {need}x on {CORES} cores ({engine}): {v}")
        return
    report_rows, report_checks = [], []
    if not (a.only_keys or a.only_formats):
        report_rows, report_seed, report_site = report_section(binary, seed_files, max(a.runs, 3))
        report_checks = [("--report (all panels) within 1.5x of --by path, seed corpus", report_seed <= 1.5, report_seed),
                         ("--report (all panels) within 1.5x of --by path, real-site corpus", report_site <= 1.5, report_site)]
    if a.only_report:
        print("\n### Targets\n")
        for n, ok, v in report_checks:
            print(f"- {'MET    ' if ok else 'NOT MET'} {n}: {v}")
        return
    key_rows, key_checks = [], []
    if not a.only_formats:
        key_rows, key_ratio = distinct_section(binary, seed_files, max(a.runs, 3))
        key_checks = [("2 M distinct paths at least half as fast per line as the seed corpus", key_ratio <= 2.0, key_ratio)]
    if a.only_keys:
        print("\n### Targets\n")
        for n, ok, v in key_checks:
            print(f"- {'MET    ' if ok else 'NOT MET'} {n}: {v}")
        return
    vhost_files = vhost_corpus(a.scale, seed_files)
    format_rows, format_ratios = formats_section(binary, seed_files, vhost_files, max(a.runs, 5))
    format_checks = [
        ("--log-format combined within 5% of the seed's pattern", format_ratios["combined_over_book_compat"] <= 1.05,
         format_ratios["combined_over_book_compat"]),
        ("--log-format auto within 5% of the seed's pattern", format_ratios["auto_over_book_compat"] <= 1.05,
         format_ratios["auto_over_book_compat"]),
        ("a custom format string within 1.5x of the combined preset", format_ratios["apache_string_over_combined_preset"] <= 1.5,
         format_ratios["apache_string_over_combined_preset"]),
    ]
    if a.only_formats:
        print("\n### Targets\n")
        for n, ok, v in format_checks:
            print(f"- {'MET    ' if ok else 'NOT MET'} {n}: {v}")
        return
    results = {"cores": CORES, "scale": a.scale, "corpora": {}, "runs": {}, "targets": {}}
    probe = run_logtally(binary, seed_files, "thread", CORES, True, 1)
    text_bytes, lines = probe["bytes_out"], probe["lines"]
    for name, files in (("seed", seed_files), ("big", big_files)):
        results["corpora"][name] = {"files": len(files), "gz_bytes": sizes(files), "text_bytes": text_bytes, "lines": lines}
        print(f"corpus {name}: {len(files)} file(s), {sizes(files) / 1e6:.1f} MB gzip, "
              f"{text_bytes / 1e6:.1f} MB text, {lines} lines", file=sys.stderr)

    for corpus_name, files in (("seed", seed_files), ("big", big_files)):
        gz = sizes(files)
        rows = []
        walls = {}
        # Interleaved rounds, medians: every configuration sees the same
        # moments of a shared machine, so the ratios between them hold.
        configs = [(engine, jobs) for engine in ("serial", "thread", "process")
                   for jobs in ([1] if engine == "serial" else range(1, CORES + 1))]
        rounds = {(c, floor): [] for c in configs for floor in (True, False)}
        for _ in range(a.runs):
            for (engine, jobs), floor in rounds:
                rounds[((engine, jobs), floor)].append(run_logtally(binary, files, engine, jobs, floor, 1))
        mid = lambda results_of: sorted(results_of, key=lambda x: x["wall"])[len(results_of) // 2]
        for engine, jobs in configs:
            floor, analysis = mid(rounds[((engine, jobs), True)]), mid(rounds[((engine, jobs), False)])
            walls[(engine, jobs)] = analysis["wall"]
            walls[(engine, jobs, "floor")] = floor["wall"]
            rows.append(row(f"{engine} -j{jobs} floor", floor, gz, text_bytes, lines))
            rows.append(row(f"{engine} -j{jobs} --by path", analysis, gz, text_bytes, lines, floor["wall"]))
            print(f"  {corpus_name} {engine} -j{jobs}: {analysis['wall']:.2f} s (floor {floor['wall']:.2f} s)", file=sys.stderr)
        results["runs"][corpus_name] = rows
        table(rows, f"logtally on the {corpus_name} corpus ({len(files)} file(s), {gz / 1e6:.1f} MB gzip, {CORES} cores), "
                    f"medians of {a.runs} interleaved rounds")
        if corpus_name == "seed":
            results["targets"]["efficiency_process_jmax"] = round(walls[("process", CORES, "floor")] / walls[("process", CORES)], 2)
            results["targets"]["efficiency_thread_jmax"] = round(walls[("thread", CORES, "floor")] / walls[("thread", CORES)], 2)
            results["targets"]["process_over_thread"] = round(walls[("process", CORES)] / walls[("thread", CORES)], 3)
            results["targets"]["process_scaling_j1_over_jmax"] = round(walls[("process", 1)] / walls[("process", CORES)], 2)
            results["targets"]["worker_rss_MB"] = max(r["rss_worker_MB"] for r in rows if r["run"].startswith("process"))
        else:
            results["targets"]["big_file_thread_scaling"] = round(walls[("thread", 1)] / walls[("thread", CORES)], 2)
            results["targets"]["big_file_process_scaling"] = round(walls[("process", 1)] / walls[("process", CORES)], 2)
            results["targets"]["big_file_parent_rss_MB"] = max(r["rss_parent_MB"] for r in rows if r["run"].startswith("thread"))

    if not a.no_backends:
        rows = []
        gz = sizes(seed_files)
        for backend in ("miniz_oxide", "zlib-rs", "zlib-ng"):
            try:
                b = build(backend)
            except subprocess.CalledProcessError:
                rows.append({"run": f"{backend}: does not build here"})
                continue
            floor = run_logtally(b, seed_files, "thread", CORES, True, a.runs)
            analysis = run_logtally(b, seed_files, "thread", CORES, False, a.runs)
            name = floor.get("gzip_backend", backend)
            rows.append(row(f"{name} floor", floor, gz, text_bytes, lines))
            rows.append(row(f"{name} --by path", analysis, gz, text_bytes, lines, floor["wall"]))
        results["runs"]["backends"] = rows
        table(rows, f"gzip backends (seed corpus, thread engine, -j{CORES})")

    if not a.no_peers:
        ours = min(r["seconds"] for r in results["runs"]["seed"] if r["run"] == f"process -j{CORES} --by path")
        results["runs"]["peers"], results["targets"]["pigz_over_process"] = peers_section(seed_files, ours)

    t = results["targets"]
    checks = [
        ("efficiency >= 0.8 (process, seed, -j%d)" % CORES, t["efficiency_process_jmax"] >= 0.8, t["efficiency_process_jmax"]),
        ("process within 5% of thread", t["process_over_thread"] <= 1.05, t["process_over_thread"]),
        ("2 workers >= 1.8x one (process)", t["process_scaling_j1_over_jmax"] >= 1.8, t["process_scaling_j1_over_jmax"]),
        ("one big file: >= 1.5x on %d cores (thread)" % CORES, t["big_file_thread_scaling"] >= 1.5, t["big_file_thread_scaling"]),
        ("one big file: >= 1.6x on %d cores (process)" % CORES, t["big_file_process_scaling"] >= 1.6, t["big_file_process_scaling"]),
        ("worker peak RSS < 64 MB", t["worker_rss_MB"] < 64, t["worker_rss_MB"]),
    ]
    if "pigz_over_process" in t and t["pigz_over_process"] is not None:
        checks.append(("faster than pigz -dc -p %d (pigz time over logtally's, process -j%d)" % (CORES, CORES),
                       t["pigz_over_process"] >= 1.0, t["pigz_over_process"]))
    checks += format_checks + key_checks + report_checks
    results["runs"]["formats"] = format_rows
    results["runs"]["distinct_keys"] = key_rows
    results["runs"]["report"] = report_rows
    results["checks"] = [{"target": n, "met": ok, "value": v} for n, ok, v in checks]
    print("\n### Targets\n")
    for n, ok, v in checks:
        print(f"- {'MET    ' if ok else 'NOT MET'} {n}: {v}")
    out = BENCH / f"results-{a.scale}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
