"""Cohort benchmark (b): a 300-slice 512x512 CT series into a float32 volume.

pacsnb's ``open_series(folder)`` against the pydicom + numpy code a notebook user writes
today (read every file, sort by position, stack the pixel arrays, rescale to HU), in the
same run, on the same files.

Goals (issue 4): at least 3x pydicom's speed, with peak memory at most 1.3x the volume's
size. The issue measured pydicom at about 0.9 s and about 3x the volume's size.

Method: the series is generated once into ``benchmarks/_work/`` (reused when present). Each
side runs in its own subprocess: one warm-up (numba compile, OS page cache), then
``--repeats`` timed runs; then a separate run under ``tracemalloc`` gives the peak of
Python/numpy allocations above the baseline, as a multiple of the volume's size. A full run
does this in two rounds, the sides alternating (pydicom, pacsnb, then pacsnb, pydicom), so
that a busy moment of a shared machine does not fall on one side only. The figures are the
median of all timed runs of a side (the best is printed too; the ratio is of the medians)
and the largest peak. Both sides' volumes are checked equal (checksums) before the figures
are printed.

Usage::

    python benchmarks/bench_cohort_volume.py            # full run
    python benchmarks/bench_cohort_volume.py --quick    # 10 slices of 64x64: smoke run
    python benchmarks/bench_cohort_volume.py --json out.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

GOAL_SPEED = 3.0
GOAL_MEMORY = 1.3
FULL = {"slices": 300, "rows": 512, "repeats": 4, "rounds": 2}
QUICK = {"slices": 10, "rows": 64, "repeats": 3, "rounds": 1}


def pydicom_volume(folder: str) -> np.ndarray:
    """What a notebook user writes today with pydicom and numpy."""
    import pydicom

    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".dcm"))
    slices = [pydicom.dcmread(f) for f in files]
    slices.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    vol = np.stack([ds.pixel_array for ds in slices]).astype(np.float32)
    vol = vol * np.float32(slices[0].RescaleSlope) + np.float32(slices[0].RescaleIntercept)
    return vol


def pacsnb_volume(folder: str) -> np.ndarray:
    """pacsnb: one call, coordinates and attributes included."""
    from pacsnb.cohort import open_series

    return open_series(folder, progress=False).values


SIDES = {"pydicom": pydicom_volume, "pacsnb": pacsnb_volume}


def _child(side: str, folder: str, repeats: int) -> None:
    fn = SIDES[side]
    vol = fn(folder)  # warm-up: imports, numba compile, page cache
    digest = hashlib.sha256(np.ascontiguousarray(vol, np.float32).tobytes()).hexdigest()
    nbytes = int(vol.nbytes)
    shape = list(vol.shape)
    del vol
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        vol = fn(folder)
        times.append(time.perf_counter() - t)
        del vol
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    vol = fn(folder)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del vol
    print(json.dumps({"side": side, "times": times, "peak_bytes": peak, "volume_bytes": nbytes,
                      "shape": shape, "sha256": digest}))


def _generate(work: Path, slices: int, rows: int) -> Path:
    folder = work / f"cohort-b-{slices}x{rows}"
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    from pacsnb.samples import iter_ct_series, write_cohort

    print(f"generating {slices} slices of {rows}x{rows} in {folder} ...", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    write_cohort(folder, iter_ct_series(n_slices=slices, rows=rows, columns=rows, slice_thickness=1.0, seed=5,
                                        dtype="int16", phantom="body", shuffle_instance_numbers=True),
                 layout="series", progress=False)
    stamp.write_text("ok")
    return folder


def _series_folder(folder: Path) -> str:
    subs = [p for p in folder.iterdir() if p.is_dir()]
    return str(subs[0] if len(subs) == 1 else folder)


def measure(quick: bool, work: Path, repeats: int | None = None) -> dict | None:
    """Run (b) for both sides, print the figures, return them (``None`` on a failure).

    The entry point for ``bench_cohort.py``'s part (b) as well as this script's ``main``.
    """
    params = QUICK if quick else FULL
    repeats = repeats or params["repeats"]
    args_quick = ["--quick"] if quick else []
    folder = _series_folder(_generate(Path(work), params["slices"], params["rows"]))
    rounds = params["rounds"]
    results: dict[str, dict] = {}
    for r in range(rounds):
        for side in (("pydicom", "pacsnb") if r % 2 == 0 else ("pacsnb", "pydicom")):
            run = subprocess.run([sys.executable, __file__, "--child", side, folder, "--repeats", str(repeats)]
                                 + args_quick, capture_output=True, text=True, timeout=1800)
            if run.returncode != 0:
                print(run.stdout, run.stderr, file=sys.stderr)
                return None
            got = json.loads(run.stdout.strip().splitlines()[-1])
            if side in results:
                results[side]["times"] += got["times"]
                results[side]["peak_bytes"] = max(results[side]["peak_bytes"], got["peak_bytes"])
            else:
                results[side] = got
    p, o = results["pydicom"], results["pacsnb"]
    if p["sha256"] != o["sha256"] or p["shape"] != o["shape"]:
        print("MISMATCH: the two volumes differ", file=sys.stderr)
        return None
    for r in (p, o):
        r["median"] = statistics.median(r["times"])
        r["best"] = min(r["times"])
    ratio = p["median"] / o["median"]
    ratio_best = p["best"] / o["best"]
    vol_mb = o["volume_bytes"] / 2**20
    n = len(o["times"])
    print(f"(b) {params['slices']}-slice {params['rows']}x{params['rows']} CT into a float32 volume "
          f"({vol_mb:.1f} MiB); volumes verified equal; median of {n} runs per side ({rounds} round(s))")
    for name, r in (("pydicom", p), ("pacsnb", o)):
        print(f"  {name:<8} {r['median']:.3f} s   peak memory {r['peak_bytes'] / r['volume_bytes']:.2f}x the volume"
              f"   (best {r['best']:.3f} s, worst {max(r['times']):.3f} s)")
    mem = o["peak_bytes"] / o["volume_bytes"]
    print(f"  ratio    {ratio:.2f}x faster, medians (best to best {ratio_best:.2f}x; goal {GOAL_SPEED:g}x); "
          f"pacsnb peak memory {mem:.2f}x the volume (goal <= {GOAL_MEMORY:g}x)")
    figures = {"b": {"slices": params["slices"], "rows": params["rows"], "repeats": repeats, "rounds": rounds,
                     "pydicom_seconds": p["median"], "pacsnb_seconds": o["median"], "ratio": ratio,
                     "pydicom_best_seconds": p["best"], "pacsnb_best_seconds": o["best"], "ratio_best": ratio_best,
                     "pydicom_times": p["times"], "pacsnb_times": o["times"],
                     "pydicom_peak_ratio": p["peak_bytes"] / p["volume_bytes"], "pacsnb_peak_ratio": mem,
                     "volume_bytes": o["volume_bytes"]},
               "goals": {"speed": GOAL_SPEED, "memory": GOAL_MEMORY}}
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small series: a smoke run")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--work", default=str(HERE / "_work"))
    ap.add_argument("--json", default=None, help="also write the figures here")
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    params = QUICK if args.quick else FULL
    repeats = args.repeats or params["repeats"]
    if args.child:
        _child(args.child[0], args.child[1], repeats)
        return 0
    figures = measure(args.quick, Path(args.work), repeats)
    if figures is None:
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
