"""Benchmark of pacsnb.archive: ingest rate and in-process C-FIND matching latency.

(a) ingest of CT slices (64x64 .. 512x512) and of small header-only files: ``Archive.store()``
    (temporary file, fsync, rename, SQLite row in the same step) against a plain
    ``pacsnb.io.write(..., atomic=True)`` of the same data sets into a folder (temporary file,
    fsync, rename, no index): what the index costs.
(b) a bulk archive of generated instances (100,000 by default, 5,000 with --quick) built with
    ``Archive.store_many()``: files/s.
(c) median latency of ``Archive.find_iter()`` at the STUDY level (the identifiers a C-FIND SCP
    sends, all of them consumed) on that archive: PatientID exact, PatientName wildcard,
    StudyDate range, all studies; against the issue's goal of 20 ms for the selective ones.
    (The network part against dcmqrscp belongs to the services benchmark.)

Run ``python benchmarks/bench_archive.py [--quick] [--instances N] [--json out.json]``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pacsnb
from pacsnb.archive import Archive
from pacsnb.dicom import Dataset
from pacsnb.samples import make_ct_series, make_patient

GOAL_MS = 20.0


def _ingest(datasets, work: Path) -> tuple[float, float]:
    """(files/s of pacsnb.io.write, files/s of Archive.store) for the same data sets."""
    plain = work / "plain"
    plain.mkdir(parents=True)
    t0 = time.perf_counter()
    for i, ds in enumerate(datasets):
        pacsnb.write(ds, plain / f"{i:06d}.dcm", atomic=True)
    t_plain = time.perf_counter() - t0
    archive = Archive(work / "archive")
    t0 = time.perf_counter()
    for ds in datasets:
        archive.store(ds)
    t_arch = time.perf_counter() - t0
    assert archive.stats()["instances"] == len(datasets)
    archive.close()
    return len(datasets) / t_plain, len(datasets) / t_arch


def _header_only(n_instances: int):
    """Generated header-only instances: 10 instances per series, 4 series per study, 2 studies a patient."""
    template = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    del template.PixelData
    per_series, per_study, per_patient = 10, 4, 2
    n = 0
    p = 0
    while n < n_instances:
        pat = make_patient(p)
        for s in range(per_patient):
            study_uid = f"1.2.826.0.1.3680043.10.9.{p}.{s}"
            date = f"{2015 + (p * 7 + s) % 10}{1 + (p + s) % 12:02d}{1 + (p * 3 + s) % 28:02d}"
            for se in range(per_study):
                series_uid = f"{study_uid}.{se + 1}"
                for i in range(per_series):
                    if n >= n_instances:
                        return
                    ds = template.copy()
                    ds.PatientName, ds.PatientID = pat["PatientName"], pat["PatientID"]
                    ds.PatientBirthDate = pat["PatientBirthDate"]
                    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
                    ds.SOPInstanceUID = f"{series_uid}.{i + 1}"
                    ds.StudyDate, ds.StudyTime = date, f"{8 + (p % 10):02d}{(p * 7) % 60:02d}00"
                    ds.AccessionNumber = f"ACC{p:06d}{s}"
                    ds.Modality = ("CT", "MR")[s % 2]
                    ds.SeriesNumber = str(se + 1)
                    ds.InstanceNumber = str(i + 1)
                    yield ds
                    n += 1
        p += 1


def _median_ms(fn, repeats: int) -> tuple[float, int]:
    fn()  # warm the caches
    times = []
    count = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        count = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--instances", type=int, default=None, help="instances of the query archive (b, c)")
    ap.add_argument("--repeats", type=int, default=None, help="queries per kind for the median")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one, removed)")
    ap.add_argument("--json", default=None, help="write the figures there")
    args = ap.parse_args(argv)
    n_inst = args.instances or (5000 if args.quick else 100_000)
    repeats = args.repeats or (5 if args.quick else 25)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="pacsnb-bench-archive-"))
    figures: dict = {"ingest": {}, "instances": n_inst}
    try:
        print("(a) ingest: Archive.store() vs pacsnb.io.write() (both: temporary file, fsync, rename)")
        cases = [("CT 64x64", 40 if args.quick else 200, 64), ("CT 512x512", 10 if args.quick else 60, 512)]
        for name, n, size in cases:
            datasets = make_ct_series(n_slices=n, rows=size, columns=size)
            plain, arch = _ingest(datasets, work / f"a-{size}")
            figures["ingest"][name] = {"files": n, "write_files_per_s": plain, "store_files_per_s": arch,
                                       "ratio": arch / plain}
            print(f"  {name:12s} n={n:4d}   pacsnb.io.write {plain:8.0f} files/s   "
                  f"archive.store {arch:8.0f} files/s   ratio {arch / plain:.2f}x")
        small = list(_header_only(100 if args.quick else 1000))
        plain, arch = _ingest(small, work / "a-small")
        figures["ingest"]["small"] = {"files": len(small), "write_files_per_s": plain, "store_files_per_s": arch,
                                      "ratio": arch / plain}
        print(f"  {'small':12s} n={len(small):4d}   pacsnb.io.write {plain:8.0f} files/s   "
              f"archive.store {arch:8.0f} files/s   ratio {arch / plain:.2f}x")

        print(f"(b) bulk build: Archive.store_many() of {n_inst} generated header-only instances")
        archive = Archive(work / "big", durable=False)
        t0 = time.perf_counter()
        archive.store_many(_header_only(n_inst), progress=False, batch=2000)
        t_build = time.perf_counter() - t0
        stats = archive.stats()
        figures["build"] = {"seconds": t_build, "files_per_s": n_inst / t_build, "studies": stats["studies"],
                            "patients": stats["patients"]}
        print(f"  {n_inst} instances, {stats['studies']} studies, {stats['patients']} patients in {t_build:.1f} s: "
              f"{n_inst / t_build:.0f} files/s")

        print(f"(c) find_iter() at the STUDY level, median of {repeats} (goal {GOAL_MS:.0f} ms)")
        some = archive.find("PATIENT", limit=200)
        pid = some.PatientID.iloc[len(some) // 2]
        prefix = some.PatientName.iloc[len(some) // 3].split("^")[0][:4] + "*"
        queries = {
            "PatientID exact": {"PatientID": pid},
            "PatientName wildcard": {"PatientName": prefix},
            "StudyDate range": {"StudyDate": "20190301-20190310"},
            "all studies": {},
        }
        figures["find"] = {}
        for name, keys in queries.items():
            q = dict(keys)
            q.update(PatientName=q.get("PatientName", ""), StudyDate=q.get("StudyDate", ""), ModalitiesInStudy="",
                     NumberOfStudyRelatedInstances="", AccessionNumber="")

            def run(q=q):
                return sum(1 for _ in archive.find_iter("STUDY", q))

            med, count = _median_ms(run, repeats if name != "all studies" else max(3, repeats // 5))
            figures["find"][name] = {"median_ms": med, "answers": count, "goal_ms": GOAL_MS,
                                     "ratio": GOAL_MS / med, "plan": archive.explain("STUDY", **keys)}
            print(f"  {name:22s} {count:6d} answers   pacsnb {med:8.2f} ms   goal {GOAL_MS:.0f} ms   "
                  f"ratio {GOAL_MS / med:.2f}x")
        archive.close()
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
