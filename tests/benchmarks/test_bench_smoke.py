"""Smoke test of benchmarks/bench_read.py: it runs end to end and prints its figures.

Timing is never asserted (benchmarks do not gate CI on wall-clock time); only that both
sides' figures and their ratio are printed and written to JSON, for (a) and (b), and that
the compile times were measured.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_read.py"


def test_bench_read_quick(tmp_path: Path):
    out_json = tmp_path / "figures.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--repeats", "1", "--work", str(tmp_path / "work"),
           "--json", str(out_json)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    for part in ("(a)", "(b)"):
        block = text[text.index(part):]
        assert re.search(r"pydicom\s+\d+ files/s", block), text
        assert re.search(r"pacsnb\s+\d+ files/s", block), text
        assert re.search(r"ratio\s+\d+\.\d+x", block), text
    assert "verified" in text
    assert "cold cache" in text and "warm cache" in text
    figures = json.loads(out_json.read_text())
    for part, files in (("a", 50), ("b", 5)):
        f = figures[part]
        assert f["files"] == files
        assert f["pydicom_files_per_s"] > 0 and f["pacsnb_files_per_s"] > 0
        assert abs(f["ratio"] - f["pacsnb_files_per_s"] / f["pydicom_files_per_s"]) < 1e-9
    # compile figures are reported, not gated: whether numba's cache is hit depends on the
    # machine (file system, clock), not on pacsnb
    assert {"cold", "warm"} <= set(figures["compile"])
    assert figures["compile"]["cold"]["compile_s"] >= 0

    # a second run reuses the generated data
    again = subprocess.run(cmd + ["--no-compile"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "generating" not in again.stdout
