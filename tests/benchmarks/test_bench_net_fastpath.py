"""bench_net.py's options for the latency rows (``--nodelay-only``, ``--workloads``): the
rows asked for are printed, with both figures and the ratio; the others are not run.
Timing is never asserted."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import peers

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_net.py"
needs_dcmtk = peers.needs_dcmtk("echoscu", "storescu", "storescp")  # the benchmark's reference peer


@needs_dcmtk
def test_bench_net_nodelay_only_echo_and_small(tmp_path: Path):
    cmd = [sys.executable, str(SCRIPT), "--quick", "--nodelay-only", "--workloads", "echo,small",
           "--small", "6", "--echoes", "20", "--pairs", "pacsnb:pacsnb,dcmtk:dcmtk,dcmtk:pacsnb",
           "--work", str(tmp_path / "work"), "--timeout", "20"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    rows = [line for line in text.splitlines() if re.match(r"\s+\w+ -> \w+\s", line)]
    assert rows and not [r for r in rows if "as installed" in r], text  # dcmtk with TCP_NODELAY=1 only
    assert not [r for r in rows if re.search(r"\b(echo-assoc|ct)\b", r)], text  # workloads not asked for
    echo = text[text.index("C-ECHO in one association"):]
    echo = echo[:echo.index("\n\n")]
    for pair in (r"pacsnb -> pacsnb\s+-", r"dcmtk -> dcmtk\s+TCP_NODELAY=1", r"dcmtk -> pacsnb\s+TCP_NODELAY=1"):
        assert re.search(pair + r"\s+\d+\.\d echo/s\s+n=20 failures 0", echo), echo
    small = text[text.index("C-STORE 6 small instances"):]
    small = small[:small.index("\n\n")]
    assert re.search(r"dcmtk -> pacsnb\s+TCP_NODELAY=1\s+\d+\.\d files/s .* n=6 failures 0", small), small
    assert re.search(r"echo\s+dcmtk TCP_NODELAY=1 pacsnb\s+\d+\.\d echo/s\s+dcmtk\s+\d+\.\d echo/s\s+"
                     r"ratio \d+\.\d\dx", text), text
    assert re.search(r"small\s+dcmtk TCP_NODELAY=1 dcmtk SCU -> pacsnb SCP\s+ratio \d+\.\d\dx", text), text
