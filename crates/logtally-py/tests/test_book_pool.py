"""examples/book_pool.py (the book's Pool program on logtally) prints the seed
reference program's counts."""
import json
import subprocess
import sys

import pytest

from conftest import REFERENCE, REFERENCE_FIXTURE, ROOT

BOOK_POOL = ROOT / "crates" / "logtally-py" / "examples" / "book_pool.py"


def book_pool(*args):
    out = subprocess.run([sys.executable, str(BOOK_POOL), "-j", "2", *args], stdout=subprocess.PIPE, check=True)
    return json.loads(out.stdout)


def reference(*args):
    out = subprocess.run(
        [sys.executable, str(REFERENCE), "--pool", "serial", "--any-host", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return json.loads(out.stdout)


def test_book_pool_equals_reference_fixture(sample):
    expected = json.loads(REFERENCE_FIXTURE.read_text())
    expected = expected.get("counts", expected)
    assert book_pool("--all-paths", sample)["counts"] == expected


def test_book_pool_equals_reference_program(sample, oracle_corpus):
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is absent (no ../shared beside this checkout)")
    files = [sample] + oracle_corpus
    got = book_pool("--all-paths", *files)
    assert got["counts"] == reference("--all-paths", *files)["counts"]
    assert got["files"] == 4
    # the book filter (prefix /book/) too
    assert book_pool(*files)["counts"] == reference(*files)["counts"]
