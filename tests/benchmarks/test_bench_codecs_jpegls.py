"""Smoke test of the JPEG-LS part of benchmarks/bench_codecs.py: it runs and prints its figures.

Timing is never asserted: only that pacsnb's figure, the peers' figures (or why a peer is
absent) and the ratios are printed and returned, for decode and encode, on the CT and the
RGB frames (tiny frames, one pass).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_codecs.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_codecs_for_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_jpegls_quick(capsys):
    bench = _bench_module()
    figures = bench.bench_jpegls(1, 32, (16, 24), repeats=1, budget=1.0)
    text = capsys.readouterr().out
    assert "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)" in text
    for key in ("jls_ct", "jls_rgb"):
        for op in ("decode", "encode"):
            entry = figures[key][op]
            assert entry["mb_per_s"]["pacsnb"] > 0
            assert set(entry["mb_per_s"]) | set(entry["status"]) >= {"pacsnb", "charls", "gdcm", "pylibjpeg-libjpeg"}
            assert not any("WRONG" in s for s in entry["status"].values()), entry["status"]
            if entry["fastest_peer"] is not None:
                assert abs(entry["ratio"] - entry["mb_per_s"]["pacsnb"] / entry["mb_per_s"][entry["fastest_peer"]]) < 1e-9
    assert re.search(r"pacsnb\s+\d+ MB/s", text)
    assert re.search(r"ratio\s+(\d+\.\d+x|n/a)", text)
