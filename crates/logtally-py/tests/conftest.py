"""Shared fixtures: the repository's CLI (the oracle for every equality here),
the sample log, a small generated corpus and the seed program's reference."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "target" / "release" / "logtally"
GEN = ROOT / "target" / "release" / "logtally-gen"
SAMPLE = ROOT / "samples" / "apache_logs.gz"
REFERENCE = ROOT.parent / "shared" / "tools" / "reference.py"
REFERENCE_FIXTURE = ROOT / "crates" / "logtally-cli" / "tests" / "fixtures" / "apache_logs.reference.json"

# The CLI's long flags for the Python keyword options.
def cli_args(options):
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, str(value)]
    return args


def run_cli(paths, **options):
    """The CLI's JSON report for `paths` with `options` (Python names)."""
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: cargo build --release -p logtally-cli")
    out = subprocess.run(
        [str(CLI), "--format", "json", "-q", *cli_args(options), *map(str, paths)],
        stdout=subprocess.PIPE,
        check=False,
    )
    assert out.returncode in (0, 1), out  # 1: some file failed
    return json.loads(out.stdout)


def same_report(a, b):
    """Equality of two reports' counts (in rank order), totals, files, errors, options."""
    assert list(a["counts"].items()) == list(b["counts"].items())
    for key in ("totals", "files", "errors", "distinct", "complete", "partial", "options"):
        assert a[key] == b[key], key


@pytest.fixture(scope="session")
def sample():
    assert SAMPLE.exists(), SAMPLE
    return str(SAMPLE)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Four generated gzip logs (wild: malformed lines, odd hosts, ...)."""
    if not GEN.exists():
        pytest.fail(f"{GEN} is missing: cargo build --release -p logtally-gen")
    out = tmp_path_factory.mktemp("corpus")
    listed = subprocess.run(
        [str(GEN), str(out), "4", "20000", "11", "wild"], stdout=subprocess.PIPE, check=True, text=True
    ).stdout.split()
    assert len(listed) == 4
    return sorted(listed)


@pytest.fixture(scope="session")
def oracle_corpus(tmp_path_factory):
    """Three generated gzip logs in the seed's own shape (what reference.py reads alike)."""
    out = tmp_path_factory.mktemp("oracle")
    listed = subprocess.run(
        [str(GEN), str(out), "3", "10000", "13", "oracle"], stdout=subprocess.PIPE, check=True, text=True
    ).stdout.split()
    return sorted(listed)


@pytest.fixture(scope="session")
def big_file(tmp_path_factory):
    """One generated log big enough for ~1 s of tallying on one core."""
    out = tmp_path_factory.mktemp("big")
    listed = subprocess.run(
        [str(GEN), str(out), "1", "1500000", "5"], stdout=subprocess.PIPE, check=True, text=True
    ).stdout.split()
    return listed[0]


def python():
    return sys.executable


def env_with_path():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env
