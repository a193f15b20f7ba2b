"""The PACS part of ``make demo`` (python -m pacsnb.demo): serve, store with our SCU, query, move, get."""
from __future__ import annotations

import re
import subprocess
import sys

import pacsnb


def test_demo_runs_a_pacs_and_says_what_it_did(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pacsnb.demo", str(tmp_path), "--slices", "3", "--size", "32"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"PACS PACSNB listening on 127\.0\.0\.1:\d+", out)
    assert "C-ECHO: status 0" in out
    m = re.search(r"C-STORE: (\d+) of (\d+) instances stored", out)
    assert m and m.group(1) == m.group(2) == str(3 + 3 * 2 * 2)
    assert "C-FIND PATIENT level (Patient Root): 4 patients" in out
    assert "C-FIND STUDY level (Study Root): 4 studies" in out
    assert re.search(r"C-MOVE study to WORKSTATION .*: (\d+) sent, 0 failed", out)
    assert "archive verify: clean" in out
    moved = list((tmp_path / "moved").iterdir())
    got = list((tmp_path / "retrieved").iterdir())
    sent = int(re.search(r"C-MOVE study to WORKSTATION .*: (\d+) sent", out).group(1))
    assert len(moved) == sent > 0 and len(got) == int(re.search(r"C-GET series: (\d+) instances", out).group(1)) > 0
    assert all(pacsnb.read(p).SOPInstanceUID for p in moved + got)
