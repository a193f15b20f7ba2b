"""Smoke test of benchmarks/bench_archive.py: it runs end to end and prints its figures (timing is
never asserted: only that our figure, the reference figure and their ratio are printed)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_archive.py"


def test_bench_archive_quick(tmp_path: Path):
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--instances", "400", "--repeats", "2",
                          "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert len(re.findall(r"pacsnb\.io\.write\s+\d+ files/s\s+archive\.store\s+\d+ files/s\s+ratio \d+\.\d+x",
                          text)) == 3, text
    assert re.search(r"400 instances, \d+ studies, \d+ patients in [\d.]+ s: \d+ files/s", text), text
    for name in ("PatientID exact", "PatientName wildcard", "StudyDate range", "all studies"):
        assert re.search(re.escape(name) + r"\s+\d+ answers\s+pacsnb\s+[\d.]+ ms\s+goal 20 ms\s+ratio [\d.]+x",
                         text), text
    figures = json.loads(out.read_text())
    assert figures["find"]["PatientID exact"]["answers"] >= 1
    assert any("INDEX" in line for line in figures["find"]["PatientID exact"]["plan"])
