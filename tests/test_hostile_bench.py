"""The quick subset of bench/hostile.py: every hostile case within its bounds (issues 17 and 18).

It runs real `tracker poll` processes against a loopback server (entity bombs in three
encodings, nested gzip, a 5 MB entry, dripped headers, a FIFO feed, a shared guid) and takes
under a minute: the bench's --budget ends it in time, failing what it did not finish.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "hostile.py"
ROW = re.compile(r"^(PASS|FAIL|SKIP)\s+(\S+)")


def test_hostile_fast_subset_within_bounds() -> None:
    process = subprocess.Popen(
        [sys.executable, str(BENCH), "--fast", "--budget", "50"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        output, _ = process.communicate(timeout=58)
    except subprocess.TimeoutExpired:
        process.terminate()  # the bench kills the poll it is running on SIGTERM
        try:
            output, _ = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail("bench/hostile.py --fast ran past 58 s:\n" + output)

    rows = [m.groups() for m in map(ROW.match, output.splitlines()) if m]
    assert rows, "no case results printed:\n" + output
    not_passing = [name for verdict, name in rows if verdict != "PASS"]
    assert not not_passing, f"cases not within bounds: {', '.join(not_passing)}\n{output}"
    assert process.returncode == 0, output
