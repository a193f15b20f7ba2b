"""Smoke test of benchmarks/bench_deid.py: it runs end to end and prints both figures and the ratio.

Timing is never asserted (benchmarks do not gate CI on wall-clock time).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_deid.py"


def test_bench_deid_quick(tmp_path: Path):
    out_json = tmp_path / "figures.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--files", "30", "--work", str(tmp_path / "work"),
           "--json", str(out_json)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert re.search(r"dicognito\s+\d+ files/s", text), text
    assert re.search(r"pacsnb\s+\d+ files/s", text), text
    assert re.search(r"ratio\s+\d+\.\d+x", text), text
    assert "verified" in text
    f = json.loads(out_json.read_text())
    assert f["files"] == 30 and f["pacsnb_files_per_s"] > 0 and f["dicognito_files_per_s"] > 0
    assert abs(f["ratio"] - f["pacsnb_files_per_s"] / f["dicognito_files_per_s"]) < 1e-9
