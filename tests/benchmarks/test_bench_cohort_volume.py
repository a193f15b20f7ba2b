"""Smoke test of benchmarks/bench_cohort_volume.py: it runs end to end and prints both
sides' figures and their ratio (timing is never asserted)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cohort_volume.py"


def test_bench_cohort_volume_quick(tmp_path: Path):
    out_json = tmp_path / "figures.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--work", str(tmp_path / "work"), "--json", str(out_json)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert "(b)" in text and "verified equal" in text
    assert re.search(r"pydicom\s+\d+\.\d+ s\s+peak memory \d+\.\d+x", text), text
    assert re.search(r"pacsnb\s+\d+\.\d+ s\s+peak memory \d+\.\d+x", text), text
    assert re.search(r"ratio\s+\d+\.\d+x faster", text), text
    f = json.loads(out_json.read_text())["b"]
    assert f["pydicom_seconds"] > 0 and f["pacsnb_seconds"] > 0
    assert abs(f["ratio"] - f["pydicom_seconds"] / f["pacsnb_seconds"]) < 1e-9
    assert "median of" in text and re.search(r"best \d+\.\d+ s", text), text
    for side in ("pydicom", "pacsnb"):  # the figure is the median of the repeats, the best printed too
        times = sorted(f[f"{side}_times"])
        assert len(times) >= 3 and f[f"{side}_seconds"] == times[len(times) // 2]
        assert f[f"{side}_best_seconds"] == times[0]
    assert f["pacsnb_peak_ratio"] > 0 and f["pydicom_peak_ratio"] > 0
