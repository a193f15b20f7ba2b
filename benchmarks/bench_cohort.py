"""Cohort benchmark: pacsnb against the pydicom + pandas code a notebook user writes today.

(a) scan of 5,000 small files (64x64 CT and MR slices, the files of ``bench_read.py``) into a
    DataFrame with the default columns of ``pacsnb.cohort.scan`` (48 keywords):

    - pydicom + pandas, one process: ``dcmread(stop_before_pixels=True)`` per file, a dict of
      the keywords per file, ``pd.DataFrame(rows)``; and the same with two processes
      (``multiprocessing.Pool(2)`` over chunks of files), as a reference;
    - ``pacsnb.cohort.scan(paths)`` in this process, and with ``workers=2`` (this process and
      one helper process take chunks of files from a shared counter; the helper is started
      once before timing, as in a notebook session, and its start-up time is printed
      separately, with the time of a first 2-worker scan that includes it).

    The issue's goals: pacsnb single-process at least 10x pydicom single-process, and
    pacsnb with 2 workers at least 1.7x pacsnb single-process. For reference, the issue
    quotes pydicom + pandas at about 600 files/s (about 1,000 with two processes) and gdcm's
    C++ scanner at about 10,000 files/s on its machine; only pydicom is measured here.

(b) the volume part of the issue (open_series into an xarray volume): ``part_b`` below runs
    ``bench_cohort_volume.py`` (its own goals and method are described there).

Method: the files are generated once into ``benchmarks/_work/`` (shared with bench_read.py);
every file is read once so that the OS page cache is warm; both sides are run once before
timing (imports, numba compile, the helper process); a verification pass checks that both
sides give the same values; then each repeat times every side back to back (alternating the
order) and the figure of a side is the median of its repeats (the best is printed too). CPU
seconds of the single-process runs are printed too (a shared machine inflates wall-clock
time, not CPU time). On a shared machine the 2-worker figure needs a second idle CPU: check
the load (``uptime``) before reading it.

Usage::

    python benchmarks/bench_cohort.py                 # full run
    python benchmarks/bench_cohort.py --quick         # 300 files: a smoke run
    python benchmarks/bench_cohort.py --json out.json # also write the figures as JSON
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pydicom  # noqa: E402

import pacsnb  # noqa: E402
import pacsnb.cohort  # noqa: E402
import pacsnb.cohort.table as _table  # noqa: E402
from bench_read import small_files, warm_os_cache  # noqa: E402

KEYWORDS = pacsnb.cohort.DEFAULT_COLUMNS
GOALS = {"a_single": 10.0, "a_workers": 1.7}
ISSUE_REFERENCE = {"pydicom": 600, "pydicom_2proc": 1000, "gdcm": 10_000}
FULL = {"a_files": 5000, "a_rows": 64, "repeats": 5, "quick": False}
QUICK = {"a_files": 300, "a_rows": 64, "repeats": 3, "quick": True}


# -- the two sides ---------------------------------------------------------------------------------

def pydicom_rows(paths: list[str]) -> list[dict]:
    """What a notebook user writes today: one dict of keyword values per file."""
    rows = []
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        row = {kw: getattr(ds, kw, None) for kw in KEYWORDS}
        row["path"] = p
        rows.append(row)
    return rows


def pydicom_scan(paths: list[str]) -> pd.DataFrame:
    return pd.DataFrame(pydicom_rows(paths))


def pydicom_scan_pool(pool, paths: list[str], n: int = 2) -> pd.DataFrame:
    size = max(1, math.ceil(len(paths) / (n * 4)))
    parts = [paths[i:i + size] for i in range(0, len(paths), size)]
    rows = [r for part in pool.map(pydicom_rows, parts) for r in part]
    return pd.DataFrame(rows)


def pacsnb_scan(paths: list[str], workers: int | None = None) -> pd.DataFrame:
    return pacsnb.cohort.scan(paths, workers=workers, progress=False)


# -- verification -----------------------------------------------------------------------------------

def _plain(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return tuple(_plain(x) for x in v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return str(v)


CHECKED = ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality",
           "InstanceNumber", "SeriesNumber", "Rows", "Columns", "SliceThickness", "ImagePositionPatient",
           "PixelSpacing", "ImageType", "RescaleIntercept")


def verify(paths: list[str]) -> None:
    ours = pacsnb_scan(paths).set_index("path")
    theirs = pydicom_scan(paths).set_index("path")
    assert len(ours) == len(theirs) == len(paths), "both sides must read every file"
    for p in paths:
        for kw in CHECKED:
            a, b = _plain(ours.at[p, kw]), _plain(theirs.at[p, kw])
            if kw == "ImageType" and b is not None:
                b = tuple(x.strip() for x in b)
            if a != b:
                raise SystemExit(f"(a) pacsnb and pydicom disagree on {p} {kw}: {a!r} vs {b!r}")
        # dates: pydicom gives text, pacsnb a datetime64
        d = theirs.at[p, "StudyDate"]
        if d and pd.Timestamp(ours.at[p, "StudyDate"]).strftime("%Y%m%d") != str(d):
            raise SystemExit(f"(a) StudyDate differs on {p}")


# -- timing -----------------------------------------------------------------------------------------

def timed(fn: Callable[[], object]) -> tuple[float, float]:
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def measure(sides: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Each side ``repeats`` times, the sides alternating; the median (and best) of each."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            runs[name].append(timed(sides[name]))
    out = {}
    for name, got in runs.items():
        walls = [w for w, _ in got]
        out[name] = {"seconds": statistics.median(walls), "best_seconds": min(walls),
                     "cpu_seconds": statistics.median([c for _, c in got]), "all_seconds": walls}
    return out


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(paths: list[str], repeats: int) -> dict | None:
    """CPU seconds of a 2-worker scan in this process and in the helper (medians), and of a
    single-process scan: figures that other work on a shared machine changes little, unlike
    wall-clock time. ``single / max(this, helper)`` bounds the 2-worker speed-up on two idle
    CPUs (from above: waiting is not counted)."""
    pool = _table._POOL
    if pool is None or _proc_cpu(pool.procs[0].pid) is None:
        return None
    pid = pool.procs[0].pid
    single, mine, helper = [], [], []
    for _ in range(repeats):
        c = time.process_time()
        pacsnb_scan(paths)
        single.append(time.process_time() - c)
        c, h = time.process_time(), _proc_cpu(pid)
        pacsnb_scan(paths, workers=2)
        mine.append(time.process_time() - c)
        helper.append(_proc_cpu(pid) - h)
    out = {"single_cpu_s": statistics.median(single), "this_process_cpu_s": statistics.median(mine),
           "helper_cpu_s": statistics.median(helper), "clock_tick_s": 1 / os.sysconf("SC_CLK_TCK")}
    out["idle_bound_ratio"] = out["single_cpu_s"] / max(out["this_process_cpu_s"], out["helper_cpu_s"])
    return out


def part_a(cfg: dict, work: Path) -> dict:
    paths = small_files(work, cfg["a_files"], cfg["a_rows"])
    n = len(paths)
    mb = warm_os_cache(paths) / 1e6
    print(f"read {n} files ({mb:.1f} MB) once to warm the OS cache")
    # warm-up: imports and numba compile on both sides; start pacsnb's worker pool
    pydicom_scan(paths[:20])
    pacsnb_scan(paths[:20])
    # the pool whatever the number of files, so that a --quick run exercises it too (scan uses
    # it from POOL_MIN_FILES files on; 5,000 are well above)
    _table.POOL_MIN_FILES = 64
    _table.shutdown_pool()
    t0 = time.perf_counter()
    pacsnb_scan(paths, workers=2)  # a first 2-worker scan of a session: starts the helper
    first_scan = time.perf_counter() - t0
    _table.shutdown_pool()
    t0 = time.perf_counter()
    with _table._POOL_LOCK:
        _table._pool(1)  # the helper process alone: spawn, imports, loading the compiled kernels
    pool_start = time.perf_counter() - t0
    verify(paths[: min(n, 500)])
    print(f"verified: pacsnb and pydicom give equal values for {len(CHECKED) + 1} checked keywords "
          f"on {min(n, 500)} files")
    load = list(os.getloadavg())  # other work on the machine: the 2-worker figure needs an idle CPU
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(pydicom_rows, [paths[:5], paths[5:10]])  # warm the pydicom workers too
        res = measure({
            "pydicom": lambda: pydicom_scan(paths),
            "pacsnb": lambda: pacsnb_scan(paths),
            "pydicom_2proc": lambda: pydicom_scan_pool(pool, paths),
            "pacsnb_2workers": lambda: pacsnb_scan(paths, workers=2),
        }, cfg["repeats"])
    res["cpu_split"] = cpu_split(paths, cfg["repeats"])
    for v in res.values():
        if not isinstance(v, dict) or "seconds" not in v:
            continue
        v["files_per_s"] = n / v["seconds"]
        v["files_per_cpu_s"] = n / v["cpu_seconds"] if v["cpu_seconds"] > 0 else float("nan")
    out = {"files": n, "repeats": cfg["repeats"], "columns": len(KEYWORDS), "pool_start_s": pool_start,
           "first_2worker_scan_s": first_scan, "load_average": load, **res}
    out["ratio"] = res["pacsnb"]["files_per_s"] / res["pydicom"]["files_per_s"]
    out["ratio_cpu"] = res["pacsnb"]["files_per_cpu_s"] / res["pydicom"]["files_per_cpu_s"]
    out["ratio_workers"] = res["pacsnb_2workers"]["files_per_s"] / res["pacsnb"]["files_per_s"]
    out["ratio_2proc"] = res["pacsnb_2workers"]["files_per_s"] / res["pydicom_2proc"]["files_per_s"]
    return out


def report_a(res: dict) -> None:
    n = res["files"]
    print(f"(a) scan of {n} small files into a DataFrame ({res['columns']} keyword columns), "
          f"median of {res['repeats']} (load average before: {res['load_average'][0]:.2f} on {os.cpu_count()} CPUs)")
    for name, label in (("pydicom", "pydicom"), ("pacsnb", "pacsnb"), ("pydicom_2proc", "pydicom 2 procs"),
                        ("pacsnb_2workers", "pacsnb 2 workers")):
        r = res[name]
        cpu = (f"   ({r['files_per_cpu_s']:8.0f} files per CPU-s in this process)"
               if name in ("pydicom", "pacsnb") else "")
        print(f"    {label:17s} {r['files_per_s']:9.0f} files/s   ({r['seconds']:.3f} s, best {r['best_seconds']:.3f} s)"
              f"{cpu}")
    g1 = "meets" if res["ratio"] >= GOALS["a_single"] else "BELOW"
    g2 = "meets" if res["ratio_workers"] >= GOALS["a_workers"] else "BELOW"
    print(f"    ratio             {res['ratio']:9.2f}x pydicom, single process (goal >= {GOALS['a_single']:g}x: {g1}; "
          f"by CPU time {res['ratio_cpu']:.2f}x)")
    print(f"    ratio workers     {res['ratio_workers']:9.2f}x pacsnb single process, 2 workers "
          f"(goal >= {GOALS['a_workers']:g}x: {g2}; on {os.cpu_count()} CPUs)")
    print(f"    ratio 2 procs     {res['ratio_2proc']:9.2f}x pydicom with 2 processes")
    cs = res.get("cpu_split")
    if cs:
        print(f"    CPU time          single process {cs['single_cpu_s']:.3f} s; 2 workers: this process "
              f"{cs['this_process_cpu_s']:.3f} s + helper {cs['helper_cpu_s']:.3f} s (medians; the helper's to "
              f"{cs['clock_tick_s']:.2f} s): at most {cs['idle_bound_ratio']:.2f}x on two idle CPUs")
    print(f"    (pacsnb's helper process starts in {res['pool_start_s']:.2f} s, once per session, not timed above; "
          f"a session's first 2-worker scan, start-up included: {res['first_2worker_scan_s']:.2f} s)")
    refs = ", ".join(f"{k} ~{v:,} files/s" for k, v in ISSUE_REFERENCE.items())
    print(f"    (the issue's machine: {refs}; not measured here)")


# -- (b): the volume part -----------------------------------------------------------------------------

def part_b(cfg: dict, work: Path) -> dict | None:
    """(b) of the issue, measured by ``bench_cohort_volume.py`` (the volume side of the cohort
    package): its ``measure`` prints its figures and returns them (``None`` on a failure).

    Returns its figures (a dict, written to the JSON under ``"b"``), or ``None``.
    """
    try:
        from bench_cohort_volume import measure
    except ImportError as exc:
        print(f"(b) not measured: {exc}")
        return None
    print()
    return measure(cfg.get("quick", False), work, cfg.get("b_repeats"))


# -- main --------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny data (300 files): a smoke run")
    ap.add_argument("--json", metavar="OUT", help="write the figures to this JSON file")
    ap.add_argument("--work", metavar="DIR", default=str(HERE / "_work"),
                    help="where the generated data live (default benchmarks/_work, reused when present)")
    ap.add_argument("--repeats", type=int, help="timed repeats per side (best is kept)")
    ap.add_argument("--files", type=int, help="number of small files for (a)")
    ap.add_argument("--no-b", action="store_true", help="skip (b), the volume benchmark")
    args = ap.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats:
        cfg["repeats"] = args.repeats
    if args.files:
        cfg["a_files"] = args.files
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    print(f"pacsnb {pacsnb.__version__}, pydicom {pydicom.__version__}, pandas {pd.__version__}, "
          f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs)")
    figures: dict = {"goals": GOALS, "issue_reference": ISSUE_REFERENCE, "quick": args.quick,
                     "environment": {"pacsnb": pacsnb.__version__, "pydicom": pydicom.__version__,
                                     "pandas": pd.__version__, "python": platform.python_version(),
                                     "cpus": os.cpu_count()}}
    try:
        res_a = part_a(cfg, work)
        print()
        report_a(res_a)
        figures["a"] = res_a
        res_b = None if args.no_b else part_b(cfg, work)
        if res_b is not None:
            figures["b"] = res_b
    finally:
        _table.shutdown_pool()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
