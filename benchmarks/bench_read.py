"""Read benchmark: pacsnb against pydicom, on the same generated files, in one run.

(a) header-only read of 5,000 small files (64x64 CT and MR slices, ~1.8 KB of header each),
    25 keywords extracted per file and converted to plain Python the same way on both sides;
(b) read plus pixel array of a 300-slice 512x512 CT series.

The issue's goals: (a) at least 6x pydicom's files/s, (b) at least 2x. For reference, the
issue quotes pydicom at about 600 files/s for (a) and 800 files/s for (b) and gdcm's C++
scanner at about 10,000 files/s for (a) on its machine; only pydicom is measured here.

Also measured: numba compile time on first use, with a cold cache (a subprocess whose
NUMBA_CACHE_DIR is a fresh empty directory) and a warm one (the same directory again).

Method: the data are generated once into ``benchmarks/_work/`` (reused when present); every
file is read once before timing so that both sides find the OS page cache warm; then each
repeat times pydicom and pacsnb back to back (alternating which goes first) and the best
repeat of each is kept. Before timing, a verification pass checks that both sides extract
equal values and equal pixel arrays. Wall-clock figures are for reading, not for gating CI.

Usage::

    python benchmarks/bench_read.py                 # full run
    python benchmarks/bench_read.py --quick         # 50 files, 5 slices of 64x64: smoke run
    python benchmarks/bench_read.py --json out.json # also write the figures as JSON
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, MutableSequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

import pacsnb  # noqa: E402
from pacsnb.samples import iter_ct_series, iter_mr_series, write_cohort  # noqa: E402

#: The 25 keywords extracted per file in (a): what a cohort scan typically wants.
KEYWORDS = (
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
    "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Modality", "StudyDate", "StudyTime",
    "AccessionNumber", "StudyDescription", "SeriesDescription", "SeriesNumber", "InstanceNumber",
    "Rows", "Columns", "PixelSpacing", "ImagePositionPatient", "ImageOrientationPatient",
    "SliceThickness", "RescaleIntercept", "WindowCenter", "InstitutionName",
)
assert len(KEYWORDS) == 25

GOALS = {"a": 6.0, "b": 2.0}
ISSUE_REFERENCE = {"a": {"pydicom": 600, "gdcm": 10_000}, "b": {"pydicom": 800}}

FULL = {"a_files": 5000, "a_rows": 64, "b_slices": 300, "b_rows": 512, "repeats": 5}
QUICK = {"a_files": 50, "a_rows": 64, "b_slices": 5, "b_rows": 64, "repeats": 2}
SLICES_PER_SERIES = 100


# -- plain values: the same conversion on both sides ----------------------------------------------

def _to_tuple(v) -> tuple:
    return tuple([plain(x) for x in v])


def _converter(t: type):
    if t is type(None):
        return lambda v: None
    if issubclass(t, (bool, int, np.integer)):
        return int
    if issubclass(t, (float, np.floating)):
        return float
    if issubclass(t, str):
        return str
    if issubclass(t, (list, tuple, MutableSequence, np.ndarray)):
        return _to_tuple
    return str  # pydicom's PersonName is not a str


_CONVERTERS: dict[type, Callable] = {}


def plain(v):
    """A value as plain Python: None, int, float, str, or a tuple of those.

    The same function serves both libraries; the conversion is chosen once per value type.
    """
    t = type(v)
    conv = _CONVERTERS.get(t)
    if conv is None:
        conv = _CONVERTERS[t] = _converter(t)
    return conv(v)


def extract_pydicom(path: str) -> dict:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return {kw: plain(getattr(ds, kw, None)) for kw in KEYWORDS}


def extract_pacsnb(path: str) -> dict:
    ds = pacsnb.read(path, stop_before_pixels=True)
    return {kw: plain(getattr(ds, kw, None)) for kw in KEYWORDS}


def pixels_pydicom(path: str) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


def pixels_pacsnb(path: str) -> np.ndarray:
    return pacsnb.read(path).pixel_array


# -- data --------------------------------------------------------------------------------------------

def _manifest_ok(folder: Path, params: dict) -> list[str] | None:
    m = folder / "manifest.json"
    if not m.is_file():
        return None
    try:
        data = json.loads(m.read_text())
    except ValueError:
        return None
    if data.get("params") != params:
        return None
    files = data.get("files", [])
    if not files or not all((folder / f).is_file() for f in files):
        return None
    return [str(folder / f) for f in files]


def _save_manifest(folder: Path, params: dict, paths: list[Path]) -> list[str]:
    rel = [str(Path(p).relative_to(folder)) for p in paths]
    (folder / "manifest.json").write_text(json.dumps({"params": params, "files": rel}, indent=0))
    return [str(p) for p in paths]


def small_files(work: Path, n: int, rows: int) -> list[str]:
    """``n`` small CT and MR slices (series of 100, one synthetic patient per series)."""
    folder = work / f"a-{n}-files-{rows}px"
    params = {"n": n, "rows": rows, "pacsnb": pacsnb.__version__, "kind": "ct+mr series of 100"}
    found = _manifest_ok(folder, params)
    if found:
        return found
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"generating {n} small files into {folder} ...", flush=True)
    t0 = time.perf_counter()
    paths: list[Path] = []
    k = 0
    while len(paths) < n:
        m = min(SLICES_PER_SERIES, n - len(paths))
        make = iter_ct_series if k % 2 == 0 else iter_mr_series
        series = make(n_slices=m, rows=rows, columns=rows, seed=1000 + k)
        paths += write_cohort(folder, series, layout="patient/study/series", progress=False)
        k += 1
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return _save_manifest(folder, params, paths)


def ct_series(work: Path, slices: int, rows: int) -> list[str]:
    folder = work / f"b-ct-{slices}x{rows}"
    params = {"slices": slices, "rows": rows, "pacsnb": pacsnb.__version__}
    found = _manifest_ok(folder, params)
    if found:
        return found
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"generating a {slices}-slice {rows}x{rows} CT series into {folder} ...", flush=True)
    t0 = time.perf_counter()
    paths = write_cohort(folder, iter_ct_series(n_slices=slices, rows=rows, columns=rows, seed=7),
                         layout="series", progress=False)
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return _save_manifest(folder, params, paths)


# -- timing --------------------------------------------------------------------------------------------

def warm_os_cache(paths: list[str]) -> int:
    total = 0
    for p in paths:
        with open(p, "rb") as f:
            total += len(f.read())
    return total


def time_pass(fn: Callable[[str], object], paths: list[str]) -> float:
    t0 = time.perf_counter()
    for p in paths:
        fn(p)
    return time.perf_counter() - t0


def compare(paths: list[str], repeats: int, ours: Callable, theirs: Callable) -> dict:
    best = {"pydicom": float("inf"), "pacsnb": float("inf")}
    for r in range(repeats):
        order = [("pydicom", theirs), ("pacsnb", ours)]
        if r % 2:
            order.reverse()
        for name, fn in order:
            best[name] = min(best[name], time_pass(fn, paths))
    n = len(paths)
    res = {"files": n, "repeats": repeats,
           "pydicom_seconds": best["pydicom"], "pacsnb_seconds": best["pacsnb"],
           "pydicom_files_per_s": n / best["pydicom"], "pacsnb_files_per_s": n / best["pacsnb"]}
    res["ratio"] = res["pacsnb_files_per_s"] / res["pydicom_files_per_s"]
    return res


def verify_headers(paths: list[str]) -> None:
    for p in paths:
        a, b = extract_pacsnb(p), extract_pydicom(p)
        if a != b:
            diff = {k: (a[k], b[k]) for k in KEYWORDS if a[k] != b[k]}
            raise SystemExit(f"(a) pacsnb and pydicom disagree on {p}: {diff}")


def verify_pixels(paths: list[str]) -> None:
    for p in paths:
        a, b = pixels_pacsnb(p), pixels_pydicom(p)
        if a.shape != b.shape or not np.array_equal(a, b):
            raise SystemExit(f"(b) pacsnb and pydicom pixel arrays differ for {p}")


# -- numba compile time -----------------------------------------------------------------------------------

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numba.core.dispatcher as _d
t_numba = time.perf_counter() - t0
_orig = _d.Dispatcher.compile
_spent = [0.0, 0]
_depth = [0]
def _timed(self, sig):  # time spent compiling or loading from the cache, outermost calls only
    _depth[0] += 1
    t = time.perf_counter()
    try:
        return _orig(self, sig)
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            _spent[0] += time.perf_counter() - t
            _spent[1] += 1
_d.Dispatcher.compile = _timed
t0 = time.perf_counter()
import pacsnb
t1 = time.perf_counter()
pacsnb.read(sys.argv[1])
t2 = time.perf_counter()
pacsnb.read(sys.argv[1])
t3 = time.perf_counter()
hits = misses = 0
import gc
for obj in gc.get_objects():
    if isinstance(obj, _d.Dispatcher):
        hits += sum(obj.stats.cache_hits.values())
        misses += sum(obj.stats.cache_misses.values())
print(json.dumps({"import_numba_s": t_numba, "import_s": t1 - t0, "first_read_s": t2 - t1,
                  "second_read_s": t3 - t2, "numba_s": _spent[0], "signatures": _spent[1],
                  "cache_hits": hits, "cache_misses": misses}))
"""


def _probe(path: str, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = subprocess.run([sys.executable, "-c", _PROBE, path], env=env, capture_output=True, text=True,
                         timeout=600, cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"compile-time probe failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["compile_s"] = res["numba_s"]
    res["other_first_use_s"] = max(0.0, res["first_read_s"] - res["second_read_s"] - res["numba_s"])
    return res


def compile_times(path: str) -> dict:
    cache = tempfile.mkdtemp(prefix="pacsnb-numba-cache-")
    try:
        cold = _probe(path, cache)
        warm = _probe(path, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"cold": cold, "warm": warm}


# -- report --------------------------------------------------------------------------------------------------

def _report(label: str, key: str, res: dict) -> None:
    goal = GOALS[key]
    ok = "meets" if res["ratio"] >= goal else "BELOW"
    ref = ISSUE_REFERENCE[key]
    print(label)
    print(f"    pydicom {res['pydicom_files_per_s']:10.0f} files/s   (best of {res['repeats']}: "
          f"{res['pydicom_seconds']:.3f} s for {res['files']} files)")
    print(f"    pacsnb  {res['pacsnb_files_per_s']:10.0f} files/s   (best of {res['repeats']}: "
          f"{res['pacsnb_seconds']:.3f} s for {res['files']} files)")
    print(f"    ratio   {res['ratio']:10.2f}x pydicom       (goal >= {goal:g}x: {ok})")
    refs = ", ".join(f"{k} ~{v:,} files/s" for k, v in ref.items())
    print(f"    (the issue's machine: {refs}; not measured here)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny data (50 files, 5 slices of 64x64): a smoke run")
    ap.add_argument("--json", metavar="OUT", help="write the figures to this JSON file")
    ap.add_argument("--work", metavar="DIR", default=str(HERE / "_work"),
                    help="where the generated data live (default benchmarks/_work, reused when present)")
    ap.add_argument("--repeats", type=int, help="timed repeats per side (best is kept)")
    ap.add_argument("--files", type=int, help="number of small files for (a)")
    ap.add_argument("--slices", type=int, help="number of slices for (b)")
    ap.add_argument("--no-compile", action="store_true", help="skip the numba compile-time measurement")
    args = ap.parse_args(argv)

    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats:
        cfg["repeats"] = args.repeats
    if args.files:
        cfg["a_files"] = args.files
    if args.slices:
        cfg["b_slices"] = args.slices
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")

    a_paths = small_files(work, cfg["a_files"], cfg["a_rows"])
    b_paths = ct_series(work, cfg["b_slices"], cfg["b_rows"])

    print(f"pacsnb {pacsnb.__version__}, pydicom {pydicom.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs)")
    # every file read once (OS cache), and both libraries warmed up (imports, numba compile)
    mb = (warm_os_cache(a_paths) + warm_os_cache(b_paths)) / 1e6
    print(f"read {len(a_paths) + len(b_paths)} files ({mb:.1f} MB) once to warm the OS cache")
    verify_headers(a_paths)
    verify_pixels(b_paths)
    print("verified: both sides extract equal values and equal pixel arrays")
    print()

    res_a = compare(a_paths, cfg["repeats"], extract_pacsnb, extract_pydicom)
    _report(f"(a) header-only read + {len(KEYWORDS)} keywords, {len(a_paths)} files "
            f"({cfg['a_rows']}x{cfg['a_rows']}, stop_before_pixels=True)", "a", res_a)
    res_a2 = compare(b_paths, cfg["repeats"], extract_pacsnb, extract_pydicom)
    _report(f"(a2) the same header-only read on the {len(b_paths)} {cfg['b_rows']}x{cfg['b_rows']} CT files "
            "(not a goal of the issue: real-size files, where reading only the header matters)", "a", res_a2)
    res_b = compare(b_paths, cfg["repeats"], pixels_pacsnb, pixels_pydicom)
    _report(f"(b) read + pixel array, {len(b_paths)}-slice {cfg['b_rows']}x{cfg['b_rows']} CT series",
            "b", res_b)

    figures: dict = {
        "a": res_a, "a2": res_a2, "b": res_b, "goals": GOALS, "issue_reference": ISSUE_REFERENCE, "quick": args.quick,
        "environment": {"pacsnb": pacsnb.__version__, "pydicom": pydicom.__version__, "numpy": np.__version__,
                        "python": platform.python_version(), "machine": platform.machine(),
                        "cpus": os.cpu_count()},
    }
    if not args.no_compile:
        ct = compile_times(b_paths[0])
        figures["compile"] = ct
        print("numba compile time on first use (import pacsnb; pacsnb.read(file), in a fresh subprocess)")
        for which, what in (("cold", "compile"), ("warm", "cache load")):
            r = ct[which]
            print(f"    {which} cache: numba {what} {r['numba_s'] * 1e3:7.1f} ms "
                  f"({r['signatures']} signature(s), {r['cache_hits']} cache hit(s), "
                  f"{r['cache_misses']} miss(es)); first read {r['first_read_s'] * 1e3:.1f} ms in all, "
                  f"second read {r['second_read_s'] * 1e3:.2f} ms")
        r = ct["warm"]
        print(f"    (import pacsnb {r['import_s'] * 1e3:.0f} ms after numba's own import "
              f"{r['import_numba_s'] * 1e3:.0f} ms; other first-use costs of read ~"
              f"{r['other_first_use_s'] * 1e3:.0f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
