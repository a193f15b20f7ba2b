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
(d) network ingest: dcmtk ``storescu`` sends the same files (CT slices, small header-only files)
    to dcmtk ``storescp`` (files only, no index, no sync), to dcmtk ``dcmqrscp`` (indexed) and to
    ``pacsnb serve`` (synced and indexed before Success): files/s and our ratio to each; also
    ``pacsnb serve --no-durable`` (no sync), and four ``storescu`` at once (the files split
    between them) into ``storescp --fork`` and ``pacsnb serve`` (group commit).
(e) C-FIND over the network: our SCU, one association, median round trip of the queries of (c)
    against ``pacsnb serve`` over the archive of (b) and against ``dcmqrscp`` filled by
    ``storescu`` with the same instances (at most ``--peer-instances`` of them).

Run ``python benchmarks/bench_archive.py [--quick] [--instances N] [--json out.json] [--network-only]``
(``--ingest-only`` runs (d) alone; ``--ct-files``, ``--small-files`` set its sizes).
"""
from __future__ import annotations

import argparse
import json
import os
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


# --- (d) and (e): the network parts ------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)


def _stop(proc) -> None:
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def _dcmqrscp(work: Path, name: str):
    """A started dcmqrscp with one storage area (AE DCMQR): (process, port)."""
    import subprocess

    port = _free_port()
    db = work / f"{name}-db"
    db.mkdir(parents=True)
    cfg = work / f"{name}.cfg"
    cfg.write_text(f"NetworkTCPPort = {port}\nMaxPDUSize = 65536\nMaxAssociations = 16\n\n"
                   "HostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\n"
                   f"AETable BEGIN\nDCMQR {db} RW (1000000, 100000mb) ANY\nAETable END\n")
    proc = subprocess.Popen(["dcmqrscp", "-c", str(cfg), str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    _wait_port(port, proc)
    return proc, port


def _storescu(folder, port: int, aec: str) -> float:
    """Seconds dcmtk storescu takes to send every file of ``folder`` (one association); with a
    list of folders, one storescu per folder, all at once, until the last one is done."""
    import subprocess

    folders = folder if isinstance(folder, list) else [folder]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(["storescu", "-aec", aec, "+sd", "+r", "127.0.0.1", str(port), str(f)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in folders]
    errors = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=3600)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        if p.returncode != 0:
            errors.append(err[-2000:])
    dt = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"storescu to {aec} failed: {errors[0]}")
    return dt


def _pacsnb_serve(work: Path, name: str, *args: str):
    """A started ``pacsnb serve`` (its own process, as the peers): (process, port)."""
    import subprocess

    port_file = work / f"{name}.port"
    proc = subprocess.Popen([sys.executable, "-m", "pacsnb", "serve", str(work / name), "--port", "0",
                             "--port-file", str(port_file), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read() if proc.poll() is not None else ""
            _stop(proc)
            raise RuntimeError(f"pacsnb serve did not start: {out}")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def _ours(work: Path, name: str, src, n: int, *args: str) -> float:
    """files/s of storescu into a new ``pacsnb serve`` (checked: every file stored)."""
    proc, port = _pacsnb_serve(work, name, *args)
    try:
        rate = n / _storescu(src, port, "PACSNB")
    finally:
        _stop(proc)
    archive = Archive(work / name)
    try:
        assert archive.stats()["instances"] == n, "pacsnb serve did not store every file"
    finally:
        archive.close()
    return rate


def net_ingest(datasets, work: Path, parallel: int = 4) -> dict:
    """(d) files/s of storescu into storescp, dcmqrscp and pacsnb serve (synced, and with
    ``--no-durable``), for the same files; then ``parallel`` storescu at once (the files
    split between them) into storescp ``--fork`` and pacsnb serve."""
    import subprocess

    src = work / "src"
    src.mkdir(parents=True)
    parts = [work / f"part{k}" for k in range(parallel)]
    for part in parts:
        part.mkdir()
    for i, ds in enumerate(datasets):
        pacsnb.write(ds, src / f"{i:06d}.dcm")
        os.link(src / f"{i:06d}.dcm", parts[i % parallel] / f"{i:06d}.dcm")
    n = len(datasets)
    out: dict = {"files": n, "parallel": parallel}
    # dcmtk storescp: files only
    for key, folder, extra in (("storescp_files_per_s", src, []),
                               ("storescp_parallel_files_per_s", parts, ["--fork"])):
        port = _free_port()
        dest = work / f"storescp-{key}"
        dest.mkdir()
        proc = subprocess.Popen(["storescp", *extra, "-aet", "STORESCP", "-od", str(dest), str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_port(port, proc)
            out[key] = n / _storescu(folder, port, "STORESCP")
        finally:
            _stop(proc)
    # dcmtk dcmqrscp: indexed
    proc, port = _dcmqrscp(work, "qr")
    try:
        out["dcmqrscp_files_per_s"] = n / _storescu(src, port, "DCMQR")
    finally:
        _stop(proc)
    out["pacsnb_files_per_s"] = _ours(work, "ours", src, n)
    out["pacsnb_no_durable_files_per_s"] = _ours(work, "ours-no-durable", src, n, "--no-durable")
    out["pacsnb_parallel_files_per_s"] = _ours(work, "ours-parallel", parts, n)
    out["ratio_storescp"] = out["pacsnb_files_per_s"] / out["storescp_files_per_s"]
    out["ratio_dcmqrscp"] = out["pacsnb_files_per_s"] / out["dcmqrscp_files_per_s"]
    out["ratio_no_durable_storescp"] = out["pacsnb_no_durable_files_per_s"] / out["storescp_files_per_s"]
    out["ratio_parallel_storescp"] = out["pacsnb_parallel_files_per_s"] / out["storescp_parallel_files_per_s"]
    return out


def net_find(archive: Archive, queries: dict, work: Path, repeats: int, peer_instances: int) -> dict:
    """(e) median C-FIND round trip (our SCU, one association) against pacsnb serve and dcmqrscp."""
    from pacsnb.net import sync
    from pacsnb.services import serve

    def medians(port: int, aec: str) -> dict:
        res = {}
        with sync.connect("127.0.0.1", port, called_ae=aec, timeout=600, dimse_timeout=600) as scu:
            for name, keys in queries.items():
                q = {"PatientName": None, "StudyDate": None, "AccessionNumber": None, **keys}

                def run(q=q):
                    return len(scu.find("STUDY", **q))
                res[name] = _median_ms(run, repeats if name != "all studies" else max(3, repeats // 5))
        return res

    pacs = sync.run(serve(archive, port=0, ae_title="PACSNB", mpps=False, commitment=False, worklist=None,
                          limits={"max_find_results": 10_000_000}))
    try:
        ours = medians(pacs.port, "PACSNB")
    finally:
        sync.run(pacs.server.stop())
    # dcmqrscp filled by storescu with (up to peer_instances of) the same instances
    src = work / "find-src"
    src.mkdir(parents=True)
    n = 0
    for n, ds in enumerate(_header_only(peer_instances), 1):
        pacsnb.write(ds, src / f"{n:07d}.dcm")
    proc, port = _dcmqrscp(work, "find")
    try:
        fill_s = _storescu(src, port, "DCMQR")
        theirs = medians(port, "DCMQR")
    finally:
        _stop(proc)
    return {"ours": ours, "dcmqrscp": theirs, "dcmqrscp_instances": n, "dcmqrscp_fill_files_per_s": n / fill_s}


def _net_ingest_part(args, figures: dict, work: Path, small=None) -> None:
    """(d): print and record the network ingest figures."""
    # dcmtk leaves Nagle's algorithm on unless TCP_NODELAY=1: with it on, each request waits
    # for the peer's delayed ACK (~40 ms) and dcmtk would look 30x slower than it is
    os.environ.setdefault("TCP_NODELAY", "1")
    n_ct = args.ct_files or (20 if args.quick else 200)
    n_small = args.small_files or (100 if args.quick else 1000)
    if small is None or len(small) != n_small:
        small = list(_header_only(n_small))
    print("(d) network ingest: dcmtk storescu into dcmtk storescp (no index), dcmtk dcmqrscp (indexed) "
          "and pacsnb serve (synced + indexed)")
    figures["net_ingest"] = {}
    net_cases = [("CT 512x512", make_ct_series(n_slices=n_ct, rows=512, columns=512)), ("small", small)]
    for name, datasets in net_cases:
        f = net_ingest(datasets, work / f"d-{name.replace(' ', '')}")
        figures["net_ingest"][name] = f
        print(f"  {name:12s} n={f['files']:4d}   storescp {f['storescp_files_per_s']:7.0f} files/s   "
              f"dcmqrscp {f['dcmqrscp_files_per_s']:7.0f} files/s   pacsnb {f['pacsnb_files_per_s']:7.0f} "
              f"files/s   ratio {f['ratio_storescp']:.2f}x storescp (goal 0.70x), "
              f"{f['ratio_dcmqrscp']:.2f}x dcmqrscp", flush=True)
        print(f"  {'':12s}          without syncing (--no-durable, survives a crash but not a power cut): "
              f"pacsnb {f['pacsnb_no_durable_files_per_s']:7.0f} files/s, "
              f"{f['ratio_no_durable_storescp']:.2f}x storescp", flush=True)
        print(f"  {'':12s}          {f['parallel']} storescu at once: storescp --fork "
              f"{f['storescp_parallel_files_per_s']:7.0f} files/s, pacsnb (synced) "
              f"{f['pacsnb_parallel_files_per_s']:7.0f} files/s, {f['ratio_parallel_storescp']:.2f}x", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--instances", type=int, default=None, help="instances of the query archive (b, c)")
    ap.add_argument("--repeats", type=int, default=None, help="queries per kind for the median")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one, removed)")
    ap.add_argument("--json", default=None, help="write the figures there")
    ap.add_argument("--network-only", action="store_true", help="skip (a); run (b), (d), (e)")
    ap.add_argument("--no-network", action="store_true", help="skip (d) and (e) (no dcmtk needed)")
    ap.add_argument("--ingest-only", action="store_true", help="run only (d), the network ingest")
    ap.add_argument("--ct-files", type=int, default=None, help="CT 512x512 files sent in (d)")
    ap.add_argument("--small-files", type=int, default=None, help="small files sent in (d)")
    ap.add_argument("--peer-instances", type=int, default=None,
                    help="instances given to dcmqrscp in (e) (default: as many as --instances)")
    args = ap.parse_args(argv)
    n_inst = args.instances or (5000 if args.quick else 100_000)
    repeats = args.repeats or (5 if args.quick else 25)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="pacsnb-bench-archive-"))
    figures: dict = {"ingest": {}, "instances": n_inst}
    if args.ingest_only:
        try:
            _net_ingest_part(args, figures, work)
            if args.json:
                Path(args.json).write_text(json.dumps(figures, indent=2))
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
        return 0
    try:
        print("(a) ingest: Archive.store() vs pacsnb.io.write() (both: temporary file, fsync, rename)")
        cases = [] if args.network_only else [("CT 64x64", 40 if args.quick else 200, 64), ("CT 512x512", 10 if args.quick else 60, 512)]
        for name, n, size in cases:
            datasets = make_ct_series(n_slices=n, rows=size, columns=size)
            plain, arch = _ingest(datasets, work / f"a-{size}")
            figures["ingest"][name] = {"files": n, "write_files_per_s": plain, "store_files_per_s": arch,
                                       "ratio": arch / plain}
            print(f"  {name:12s} n={n:4d}   pacsnb.io.write {plain:8.0f} files/s   "
                  f"archive.store {arch:8.0f} files/s   ratio {arch / plain:.2f}x")
        small = list(_header_only(100 if args.quick else 1000))
        if not args.network_only:
            plain, arch = _ingest(small, work / "a-small")
            figures["ingest"]["small"] = {"files": len(small), "write_files_per_s": plain,
                                          "store_files_per_s": arch, "ratio": arch / plain}
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
        if not args.no_network:
            _net_ingest_part(args, figures, work, small)
            peer_n = min(args.peer_instances or n_inst, n_inst)
            print(f"(e) C-FIND over the network (our SCU, round trip), median: pacsnb serve on {n_inst} instances, "
                  f"dcmqrscp on {peer_n}")
            f = net_find(archive, queries, work / "e", repeats, peer_n)
            figures["net_find"] = f
            for name in queries:
                (ours, count), (theirs, tcount) = f["ours"][name], f["dcmqrscp"][name]
                print(f"  {name:22s} {count:6d} answers   pacsnb {ours:8.2f} ms   dcmqrscp {theirs:8.2f} ms "
                      f"({tcount} answers)   ratio {theirs / ours:.2f}x   goal {GOAL_MS:.0f} ms")
        archive.close()
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
