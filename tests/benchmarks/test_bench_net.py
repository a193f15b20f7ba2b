"""Smoke test of benchmarks/bench_net.py: it runs end to end (tiny counts) and prints both
sides' figures and their ratio. Timing is never asserted; failures are counted by the
benchmark, and for pairs where pacsnb is one side there must be none."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import peers

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_net.py"
needs_dcmtk = peers.needs_dcmtk("echoscu", "storescu", "storescp")  # the benchmark's reference peer


@needs_dcmtk
def test_bench_net_quick(tmp_path: Path):
    pytest.importorskip("pynetdicom")
    out_json = tmp_path / "figures.json"
    pairs = "pacsnb:pacsnb,dcmtk:dcmtk,pynetdicom:pynetdicom"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--ct", "3", "--ct-size", "64", "--small", "10",
           "--assocs", "2", "--echoes", "10", "--pairs", pairs, "--work", str(tmp_path / "work"),
           "--json", str(out_json), "--timeout", "20"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    for title in ("C-ECHO associations/s", "C-ECHO in one association", "C-STORE 3 CT 64x64",
                  "C-STORE 10 small instances"):
        block = text[text.index(title):]
        block = block[:block.index("\n\n")]
        assert re.search(r"pacsnb -> pacsnb\s+-\s+\d+\.\d (assoc|echo|files)/s", block), block
        for variant in ("as installed", r"TCP_NODELAY=1"):
            assert re.search(rf"dcmtk -> dcmtk\s+{variant}\s+\d+\.\d (assoc|echo|files)/s", block), block
    goals = text[text.index("Goals:"):]
    for workload in ("echo", "ct", "small"):
        assert re.search(rf"{workload}\s+dcmtk TCP_NODELAY=1 pacsnb\s+\d+\.\d .*dcmtk\s+\d+\.\d .*"
                         rf"ratio \d+\.\d\dx", goals), goals
    assert re.search(r"failures: \d+ in all", text)

    figures = json.loads(out_json.read_text())
    rows = figures["rows"]
    assert {(r["client"], r["server"]) for r in rows} == {tuple(p.split(":")) for p in pairs.split(",")}
    for r in rows:
        if "pacsnb" in (r["client"], r["server"]):
            assert "per_s" in r and r["failures"] == 0, r
        if r["workload"] in ("ct", "small") and "per_s" in r:
            assert r["received"] == r["n"] - r["failures"] or r["failures"] > 0
    s = figures["summary"]["small/TCP_NODELAY=1"]
    assert abs(s["ratio"] - s["pacsnb"] / s["dcmtk"]) < 1e-9
