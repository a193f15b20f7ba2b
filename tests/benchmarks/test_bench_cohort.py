"""Smoke test of benchmarks/bench_cohort.py: it runs end to end and prints its figures.

Timing is never asserted: only that both sides' figures and the ratios of (a) are printed
and written to JSON.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cohort.py"


def test_bench_cohort_quick(tmp_path: Path):
    out_json = tmp_path / "figures.json"
    # (b), the volume part, runs bench_cohort_volume.py, which has its own smoke test
    cmd = [sys.executable, str(SCRIPT), "--quick", "--no-b", "--files", "150", "--work", str(tmp_path / "work"),
           "--json", str(out_json)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    block = text[text.index("(a)"):]
    for label in ("pydicom", "pacsnb", "pydicom 2 procs", "pacsnb 2 workers"):
        assert re.search(rf"{label}\s+\d+ files/s", block), text
    assert re.search(r"ratio\s+\d+\.\d+x pydicom", block), text
    assert re.search(r"ratio workers\s+\d+\.\d+x pacsnb single", block), text
    assert "verified" in text
    assert re.search(r"median of 3 ", block), text
    assert re.search(r"helper process starts in \d+\.\d+ s", block), text
    a = json.loads(out_json.read_text())["a"]
    assert a["files"] == 150
    for side in ("pydicom", "pacsnb", "pydicom_2proc", "pacsnb_2workers"):
        assert a[side]["files_per_s"] > 0
    assert abs(a["ratio"] - a["pacsnb"]["files_per_s"] / a["pydicom"]["files_per_s"]) < 1e-9
    for side in ("pacsnb", "pacsnb_2workers"):  # the figure is the median of the repeats
        runs = sorted(a[side]["all_seconds"])
        assert len(runs) == 3 and a[side]["seconds"] == runs[1] and a[side]["best_seconds"] == runs[0]
    assert a["pool_start_s"] > 0 and a["first_2worker_scan_s"] > 0
    if Path("/proc/self/stat").exists():  # the CPU split of a 2-worker scan (Linux /proc)
        assert re.search(r"CPU time\s+single process \d+\.\d+ s; 2 workers: this process \d+\.\d+ s", block), text
        assert a["cpu_split"]["single_cpu_s"] > 0 and a["cpu_split"]["idle_bound_ratio"] > 0
    assert abs(a["ratio_workers"] - a["pacsnb_2workers"]["files_per_s"] / a["pacsnb"]["files_per_s"]) < 1e-9
