"""Smoke test of the network parts of benchmarks/bench_archive.py ((d) ingest from dcmtk storescu,
(e) C-FIND over the network against dcmqrscp): they run and print both figures and the ratio
(timing is never asserted)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_archive.py"
HAVE = all(shutil.which(t) for t in ("storescu", "storescp", "dcmqrscp"))


@pytest.mark.skipif(not HAVE and os.environ.get("PACSNB_REQUIRE_DCMTK") != "1", reason="dcmtk is not installed")
def test_bench_archive_network_quick(tmp_path: Path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--network-only", "--instances", "200",
                          "--repeats", "2"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert len(re.findall(r"storescp\s+\d+ files/s\s+dcmqrscp\s+\d+ files/s\s+pacsnb\s+\d+ files/s\s+"
                          r"ratio [\d.]+x storescp \(goal 0\.70x\), [\d.]+x dcmqrscp", text)) == 2, text
    for name in ("PatientID exact", "PatientName wildcard", "StudyDate range", "all studies"):
        assert re.search(re.escape(name) + r"\s+\d+ answers\s+pacsnb\s+[\d.]+ ms\s+dcmqrscp\s+[\d.]+ ms "
                         r"\(\d+ answers\)\s+ratio [\d.]+x", text), text
