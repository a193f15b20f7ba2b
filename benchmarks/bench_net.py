"""Network benchmark: pacsnb, pynetdicom and dcmtk as SCU and SCP, every pair, on loopback.

Measured in one run, for each pair ``client -> server``:

- C-ECHO associations per second (open, one C-ECHO, release; dcmtk: one ``echoscu``
  process per association, so its figure includes process start-up);
- C-ECHO requests per second in one association;
- C-STORE files/s and MB/s for 300 CT instances of 512x512 (16 bit) and for 2,000 small
  instances (CT of 16x16), all over one association.

Servers are subprocesses: ``pacsnb storescp`` (the command-line SCP), a pynetdicom 3 SCP
(this script with ``--serve pynetdicom``) and dcmtk's ``storescp``; each writes what it
receives as Part 10 files into a folder on ``/dev/shm`` when there is one (so the disk is
not measured; pacsnb's ``fsync`` is then nearly free, as dcmtk's missing one). Clients are
subprocesses too: this script with ``--client pacsnb|pynetdicom`` (times measured inside,
after the imports), dcmtk's ``echoscu``/``storescu`` (wall time of the process).

Pairs with a dcmtk peer run twice: with dcmtk as installed (Nagle's algorithm on: each
request/response waits for delayed ACKs) and with ``TCP_NODELAY=1`` in its environment.
As installed, dcmtk stalls 40 ms or more per operation, so those runs are capped
(``--installed-cap``, default 50 associations, 200 echoes, 100 CT, 300 small instances):
the rates do not depend on the count, and the full counts would take most of an hour.
The pacsnb SCU here proposes its default asynchronous operations window (16): against
the pacsnb SCP, which grants it, C-STOREs are pipelined; dcmtk and pynetdicom grant none.

Failures are counted, never hidden: a status other than success, a response that did not
come (pynetdicom 3.0.4's reactor sometimes loses one in a tight loop: its DIMSE timeout,
10 s here, then fires and aborts the association; the pynetdicom client opens a new one
and goes on, and the table says how often), a client that died, or fewer files received
than sent.

Goals of issue 7 (ours to ours against dcmtk to dcmtk, same run): echoes in one
association at least 0.5x, small files at least 0.8x, CT at least 0.8x of dcmtk's MB/s.

Usage::

    python benchmarks/bench_net.py                  # full run (several minutes)
    python benchmarks/bench_net.py --quick          # small counts: smoke run
    python benchmarks/bench_net.py --pairs pacsnb:pacsnb,dcmtk:dcmtk --json out.json
    python benchmarks/bench_net.py --nodelay-only --workloads echo,small   # the latency rows only
    python benchmarks/bench_net.py --pairs dcmtk:dcmtk,dcmtk:pacsnb,pacsnb:dcmtk --nodelay-only --rounds 5
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KINDS = ("pacsnb", "pynetdicom", "dcmtk")
AE = "BENCH"
VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
NATIVE = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")


# --- data -----------------------------------------------------------------------------------------

def make_data(work: Path, n_ct: int, ct_size: int, n_small: int) -> dict[str, list[str]]:
    """The CT and small-instance files (explicit VR little endian), generated once per size."""
    import pacsnb
    from pacsnb.samples import iter_ct_series

    out = {}
    for name, n, size, seed in (("ct", n_ct, ct_size, 7), ("small", n_small, 16, 8)):
        folder = work / f"{name}-{n}x{size}"
        done = folder / ".complete"
        if not done.exists():
            print(f"generating {n} CT instances of {size}x{size} in {folder} ...", flush=True)
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            for i, ds in enumerate(iter_ct_series(n_slices=n, rows=size, columns=size, seed=seed,
                                                  noise=0.0 if size > 64 else 5.0)):
                pacsnb.write(ds, folder / f"{i:05d}.dcm")
            done.write_text("ok")
        out[name] = sorted(str(p) for p in folder.glob("*.dcm"))
    return out


# --- servers --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """A server subprocess receiving into ``folder``."""

    def __init__(self, kind: str, folder: Path, nodelay: bool) -> None:
        self.kind, self.folder, self.port = kind, folder, free_port()
        env = dict(os.environ)
        env.pop("TCP_NODELAY", None)
        if nodelay:
            env["TCP_NODELAY"] = "1"
        if kind == "pacsnb":
            cmd = [sys.executable, "-m", "pacsnb", "storescp", str(self.port), "--bind", "127.0.0.1",
                   "-aet", AE, "-od", str(folder)]
        elif kind == "pynetdicom":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "pynetdicom", str(self.port), str(folder)]
        else:
            cmd = ["storescp", "-aet", AE, "-od", str(folder), str(self.port)]
        self.log = open(folder.parent / f"{folder.name}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded wait until it listens
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {kind} SCP exited at once; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {kind} SCP did not listen within 30 s")

    def received(self) -> int:
        return sum(1 for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def clear(self) -> None:
        for p in self.folder.iterdir():
            if p.is_file():
                p.unlink()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def serve_pynetdicom(port: int, folder: str) -> None:
    """A pynetdicom SCP (Verification and CT storage) writing Part 10 files, until killed."""
    from pynetdicom import AE as PynAE
    from pynetdicom import evt
    from pynetdicom.sop_class import CTImageStorage, Verification

    out = Path(folder)

    def on_store(event):
        uid = event.request.AffectedSOPInstanceUID
        with open(out / f"{uid}.dcm", "wb") as f:
            f.write(event.encoded_dataset(include_meta=True))
        return 0x0000

    ae = PynAE(ae_title=AE)
    ae.add_supported_context(Verification)
    ae.add_supported_context(CTImageStorage, list(NATIVE))
    ae.maximum_associations = 16
    ae.start_server(("127.0.0.1", port), block=True,
                    evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_C_ECHO, lambda event: 0x0000)])


# --- clients --------------------------------------------------------------------------------------

def client_pacsnb(task: str, port: int, arg: str, timeout: float) -> dict:
    import pacsnb.net as net
    from pacsnb.net import sync

    failures = 0

    async def main() -> tuple[int, float]:
        nonlocal failures
        if task == "assoc":
            n = int(arg)
            t0 = time.perf_counter()
            for _ in range(n):
                try:
                    async with net.connect("127.0.0.1", port, called_ae=AE, contexts=[VERIFICATION],
                                           timeout=timeout) as assoc:
                        failures += (await assoc.echo()) != 0
                except net.NetworkError:
                    failures += 1
            return n, time.perf_counter() - t0
        if task == "echo":
            n = int(arg)
            async with net.connect("127.0.0.1", port, called_ae=AE, contexts=[VERIFICATION],
                                   timeout=timeout) as assoc:
                t0 = time.perf_counter()
                for _ in range(n):
                    failures += (await assoc.echo()) != 0
                return n, time.perf_counter() - t0
        files = Path(arg).read_text().split("\n")
        t0 = time.perf_counter()
        async with net.connect("127.0.0.1", port, called_ae=AE, contexts=[(CT_STORAGE, NATIVE[0])],
                               timeout=timeout) as assoc:
            statuses = await assoc.store(files, progress=False)
        failures += sum(1 for s in statuses if s != 0)
        return len(files), time.perf_counter() - t0

    try:
        n, seconds = sync.run(main())  # the SCU's coroutines run on pacsnb's service loop
    except Exception as err:  # noqa: BLE001 - reported, counted
        return {"error": f"{type(err).__name__}: {err}"}
    return {"n": n, "seconds": seconds, "failures": failures}


def client_pynetdicom(task: str, port: int, arg: str, timeout: float) -> dict:
    import logging

    from pynetdicom import AE as PynAE
    from pynetdicom.sop_class import CTImageStorage, Verification
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)

    ae = PynAE(ae_title="PYSCU")
    ae.acse_timeout = ae.network_timeout = timeout
    ae.dimse_timeout = min(timeout, 10.0)  # a lost response costs this long
    ae.add_requested_context(Verification)
    if task == "store":
        ae.add_requested_context(CTImageStorage, list(NATIVE))
    failures = 0

    def ok(status) -> bool:
        return bool(status) and getattr(status, "Status", None) == 0

    if task == "assoc":
        n = int(arg)
        t0 = time.perf_counter()
        for _ in range(n):
            assoc = ae.associate("127.0.0.1", port, ae_title=AE)
            if not assoc.is_established:
                failures += 1
                continue
            failures += not ok(assoc.send_c_echo())
            assoc.release()
        return {"n": n, "seconds": time.perf_counter() - t0, "failures": failures}
    items = list(range(int(arg))) if task == "echo" else Path(arg).read_text().split("\n")
    t0 = time.perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=AE)
    if not assoc.is_established:
        return {"error": "association not established"}
    if task == "echo":
        t0 = time.perf_counter()
    reassociations = 0
    for item in items:
        if not assoc.is_established:  # a lost response (DIMSE timeout) aborted it: go on in a new one
            reassociations += 1
            assoc = ae.associate("127.0.0.1", port, ae_title=AE)
            if not assoc.is_established:
                return {"error": "association not established again after a failure"}
        status = assoc.send_c_echo() if task == "echo" else assoc.send_c_store(item)
        failures += not ok(status)
    if assoc.is_established:
        assoc.release()
    return {"n": len(items), "seconds": time.perf_counter() - t0, "failures": failures,
            "reassociations": reassociations}


def run_client(kind: str, task: str, port: int, arg: str, nodelay: bool, timeout: float) -> dict:
    """Run one client subprocess; its figures."""
    env = dict(os.environ)
    env.pop("TCP_NODELAY", None)
    if nodelay:
        env["TCP_NODELAY"] = "1"
    limit = 900
    if kind == "dcmtk":
        if task == "assoc":
            n, failures = int(arg), 0
            t0 = time.perf_counter()
            for _ in range(n):
                r = subprocess.run(["echoscu", "-aec", AE, "-to", str(int(timeout)), "127.0.0.1", str(port)],
                                   capture_output=True, env=env, timeout=limit)
                failures += r.returncode != 0
            return {"n": n, "seconds": time.perf_counter() - t0, "failures": failures}
        if task == "echo":
            cmd = ["echoscu", "-aec", AE, "-to", str(int(timeout)), "--repeat", arg, "127.0.0.1", str(port)]
            n = int(arg)
        else:
            files = Path(arg).read_text().split("\n")
            cmd = ["storescu", "-aec", AE, "-to", str(int(timeout)), "127.0.0.1", str(port), *files]
            n = len(files)
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, capture_output=True, env=env, timeout=limit)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {limit} s"}
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            return {"n": n, "seconds": seconds, "failures": n,
                    "error": r.stderr.decode(errors="replace")[-300:].strip()}
        return {"n": n, "seconds": seconds, "failures": 0}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--client", kind, task, str(port), arg,
           "--timeout", str(timeout)]
    try:
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=limit, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {limit} s"}
    lines = r.stdout.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (r.stderr.decode(errors="replace")[-300:] or "no output").strip()}


# --- the run --------------------------------------------------------------------------------------

def measure(pairs, data, counts, work_out: Path, nodelay_variants, timeout: float, cap: dict,
            workloads=("echo-assoc", "echo", "ct", "small")) -> list[dict]:
    rows = []
    sizes, lists = {}, {}
    for capped in (False, True):
        for name, files in data.items():
            if capped and cap.get(name):
                files = files[:cap[name]]
            sizes[name, capped] = sum(os.path.getsize(f) for f in files)
            lists[name, capped] = work_out / f"{name}{'-capped' if capped else ''}.list"
            lists[name, capped].write_text("\n".join(files))
    for server in KINDS:
        clients = [c for c, s in pairs if s == server]
        if not clients:
            continue
        only = "nodelay-only" in nodelay_variants
        for nodelay in (v for v in nodelay_variants if v != "nodelay-only"):
            batch = [c for c in clients if "dcmtk" in (c, server) or not nodelay]
            if only:  # dcmtk pairs with TCP_NODELAY=1 only, the others once
                batch = [c for c in batch if ("dcmtk" in (c, server)) == bool(nodelay)]
            if not batch:
                continue
            folder = work_out / f"{server}-{'nodelay' if nodelay else 'default'}"
            folder.mkdir(parents=True, exist_ok=True)
            try:
                peer = Peer(server, folder, nodelay)
            except RuntimeError as err:
                print(f"  ! {err}", flush=True)
                continue
            try:
                for client in batch:
                    variant = "TCP_NODELAY=1" if nodelay else ("as installed" if "dcmtk" in (client, server) else "-")
                    capped = variant == "as installed"  # Nagle's stalls: fewer operations, same rates
                    n = {k: min(v, cap[k]) if capped and cap.get(k) else v for k, v in counts.items()}
                    for task, arg, what in (("assoc", str(n["assocs"]), "echo-assoc"),
                                            ("echo", str(n["echoes"]), "echo"),
                                            ("store", str(lists["ct", capped]), "ct"),
                                            ("store", str(lists["small", capped]), "small")):
                        if what not in workloads:
                            continue
                        peer.clear()
                        result = run_client(client, task, peer.port, arg, nodelay, timeout)
                        row = {"client": client, "server": server, "variant": variant, "workload": what, **result}
                        if task == "store" and "n" in result:
                            got = peer.received()
                            row["received"] = got
                            row["failures"] = max(row.get("failures", 0), result["n"] - got)
                            row["bytes"] = sizes[what, capped]
                        if "seconds" in row and row["seconds"] > 0:
                            row["per_s"] = row["n"] / row["seconds"]
                            if "bytes" in row:
                                row["mb_per_s"] = row["bytes"] / row["seconds"] / 1e6
                        rows.append(row)
                        print(f"  {client:>10} -> {server:<10} {variant:<13} {what:<10} " + _figure(row), flush=True)
            finally:
                peer.stop()
    return rows


def combine_rounds(runs: list[list[dict]]) -> list[dict]:
    """One row per (client, server, variant, workload): the median rate over the rounds (the
    rounds' rates kept in ``rounds``), failures added up."""
    if len(runs) == 1:
        return runs[0]
    out: list[dict] = []
    keys = [(r["client"], r["server"], r["variant"], r["workload"]) for r in runs[0]]
    for key in keys:
        same = [r for run in runs for r in run if (r["client"], r["server"], r["variant"], r["workload"]) == key]
        ok = [r for r in same if "per_s" in r]
        if not ok:
            out.append(same[0])
            continue
        row = dict(sorted(ok, key=lambda r: r["per_s"])[len(ok) // 2])  # the median round (upper, if even)
        row["per_s"] = statistics.median(r["per_s"] for r in ok)
        if all("mb_per_s" in r for r in ok):
            row["mb_per_s"] = statistics.median(r["mb_per_s"] for r in ok)
        row["rounds"] = [round(r["per_s"], 1) for r in same if "per_s" in r]
        row["failures"] = sum(r.get("failures", 0) for r in same) + (len(same) - len(ok))
        out.append(row)
    return out


def _figure(row: dict) -> str:
    if "per_s" not in row:
        return f"ERROR {row.get('error', '?')}"
    unit = {"echo-assoc": "assoc/s", "echo": "echo/s"}.get(row["workload"], "files/s")
    text = f"{row['per_s']:9.1f} {unit}"
    if "mb_per_s" in row:
        text += f" {row['mb_per_s']:7.1f} MB/s"
    text += f"  n={row['n']} failures {row.get('failures', 0)}"
    if row.get("rounds"):
        text += f" (median of {len(row['rounds'])} rounds: {min(row['rounds']):.0f}-{max(row['rounds']):.0f})"
    if row.get("reassociations"):
        text += f" (association lost and opened again {row['reassociations']}x)"
    if row.get("error"):
        text += f"  ({row['error'][:80]})"
    return text


def _find(rows, client, server, workload, variants=("TCP_NODELAY=1", "-", "as installed")):
    for v in variants:
        for r in rows:
            if (r["client"], r["server"], r["workload"], r["variant"]) == (client, server, workload, v) and "per_s" in r:
                return r
    return None


def report(rows: list[dict], counts: dict) -> dict:
    titles = {"echo-assoc": f"C-ECHO associations/s ({counts['assocs']} associations, one echo each)",
              "echo": f"C-ECHO in one association ({counts['echoes']} echoes)",
              "ct": f"C-STORE {counts['ct']} CT {counts['ct_size']}x{counts['ct_size']}, one association",
              "small": f"C-STORE {counts['small']} small instances (CT 16x16), one association"}
    print()
    for workload, title in titles.items():
        print(title)
        for r in rows:
            if r["workload"] == workload:
                print(f"  {r['client']:>10} -> {r['server']:<10} {r['variant']:<13} {_figure(r)}")
        print()
    goals = {"echo": 0.5, "small": 0.8, "ct": 0.8}
    summary = {}
    print("Goals: pacsnb -> pacsnb against dcmtk -> dcmtk, same run")
    for workload, title in titles.items():
        ours = _find(rows, "pacsnb", "pacsnb", workload)
        for variant in ("TCP_NODELAY=1", "as installed"):
            theirs = _find(rows, "dcmtk", "dcmtk", workload, (variant,))
            if not ours or not theirs:
                continue
            key = "mb_per_s" if workload == "ct" else "per_s"
            ratio = ours[key] / theirs[key]
            goal = goals.get(workload)
            unit = "MB/s" if key == "mb_per_s" else ("assoc/s" if workload == "echo-assoc" else
                                                     "echo/s" if workload == "echo" else "files/s")
            summary[f"{workload}/{variant}"] = {"pacsnb": ours[key], "dcmtk": theirs[key], "ratio": ratio,
                                                "goal": goal}
            print(f"  {workload:<10} dcmtk {variant:<13} pacsnb {ours[key]:9.1f} {unit}  dcmtk {theirs[key]:9.1f} "
                  f"{unit}  ratio {ratio:.2f}x" + (f" (goal {goal}x)" if goal else ""))
    print("Is our side the bottleneck for a dcmtk peer? (dcmtk's figure against ours / against dcmtk)")
    for workload in ("echo", "ct", "small"):
        for variant in ("TCP_NODELAY=1", "as installed"):
            base = _find(rows, "dcmtk", "dcmtk", workload, (variant,))
            for client, server, label in (("dcmtk", "pacsnb", "dcmtk SCU -> pacsnb SCP"),
                                          ("pacsnb", "dcmtk", "pacsnb SCU -> dcmtk SCP")):
                r = _find(rows, client, server, workload, (variant,))
                if base and r:
                    ratio = r["per_s"] / base["per_s"]
                    summary[f"{workload}/{variant}/{client}->{server}"] = {"ratio": ratio}
                    print(f"  {workload:<6} dcmtk {variant:<13} {label:<24} ratio {ratio:.2f}x")
    def lost(r: dict) -> int:
        return r.get("failures", 0) + ("per_s" not in r)
    failures = sum(lost(r) for r in rows)
    by_client = {k: sum(lost(r) for r in rows if r["client"] == k) for k in KINDS}
    ours = sum(lost(r) for r in rows if r["client"] == "pacsnb" or
               (r["server"] == "pacsnb" and r["client"] != "pynetdicom"))
    print(f"failures: {failures} in all; by client: " + ", ".join(f"{k} SCU {v}" for k, v in by_client.items())
          + f"; with pacsnb as SCU, or as SCP of a dcmtk or pacsnb SCU: {ours}")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--work", type=Path, default=HERE / "_work" / "net", help="where generated data go")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.add_argument("--pairs", help="client:server pairs, comma separated (default: all nine)")
    p.add_argument("--ct", type=int, help="CT instances (default 300; --quick 8)")
    p.add_argument("--ct-size", type=int, help="CT rows and columns (default 512; --quick 128)")
    p.add_argument("--small", type=int, help="small instances (default 2000; --quick 40)")
    p.add_argument("--assocs", type=int, help="associations for associations/s (default 200; --quick 5)")
    p.add_argument("--echoes", type=int, help="echoes in one association (default 2000; --quick 50)")
    p.add_argument("--no-nodelay", action="store_true", help="do not repeat the dcmtk pairs with TCP_NODELAY=1")
    p.add_argument("--nodelay-only", action="store_true",
                   help="run the dcmtk pairs with TCP_NODELAY=1 only (skip dcmtk as installed, whose "
                        "Nagle stalls dominate); pairs without dcmtk still run")
    p.add_argument("--installed-cap", type=int, nargs=4, default=[50, 200, 100, 300],
                   metavar=("ASSOCS", "ECHOES", "CT", "SMALL"),
                   help="at most this many operations for dcmtk as installed (each stalls 40+ ms on "
                        "delayed ACKs; the rates do not depend on the count); 0: no cap "
                        "(default 50 200 100 300)")
    p.add_argument("--workloads", default="echo-assoc,echo,ct,small",
                   help="which measurements, comma separated (default: echo-assoc,echo,ct,small)")
    p.add_argument("--timeout", type=float, default=30.0, help="DIMSE and network timeouts of the clients (s)")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every pair this many times, one round after the other, and report the "
                        "median of each figure (on a shared machine, a busy moment then falls on one "
                        "round of each pair instead of on one pair)")
    # internal modes
    p.add_argument("--serve", nargs=3, metavar=("KIND", "PORT", "DIR"), help=argparse.SUPPRESS)
    p.add_argument("--client", nargs=4, metavar=("KIND", "TASK", "PORT", "ARG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.serve:
        serve_pynetdicom(int(args.serve[1]), args.serve[2])
        return 0
    if args.client:
        kind, task, port, arg = args.client
        fn = client_pacsnb if kind == "pacsnb" else client_pynetdicom
        print(json.dumps(fn(task, int(port), arg, args.timeout)))
        return 0

    q = args.quick
    counts = {"ct": args.ct or (8 if q else 300), "ct_size": args.ct_size or (128 if q else 512),
              "small": args.small or (40 if q else 2000), "assocs": args.assocs or (5 if q else 200),
              "echoes": args.echoes or (50 if q else 2000)}
    available = [k for k in KINDS if k != "dcmtk" or (shutil.which("storescp") and shutil.which("storescu"))]
    try:
        import pynetdicom  # noqa: F401
    except ImportError:
        available.remove("pynetdicom")
    if args.pairs:
        pairs = [tuple(x.split(":")) for x in args.pairs.split(",")]
    else:
        pairs = [(c, s) for s in KINDS for c in KINDS]
    missing = sorted({k for pair in pairs for k in pair} - set(available))
    if missing:
        print(f"not installed, pairs left out: {', '.join(missing)}")
        pairs = [pair for pair in pairs if not set(pair) & set(missing)]

    import pacsnb
    versions = {"pacsnb": pacsnb.__version__}
    if "pynetdicom" in available:
        from importlib.metadata import version
        versions["pynetdicom"] = version("pynetdicom")
    if "dcmtk" in available:
        out = subprocess.run(["storescu", "--version"], capture_output=True, text=True).stdout
        versions["dcmtk"] = (out.split("\n")[0].split("v")[-1].split()[0] if out else "?")
    print(f"bench_net: {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, " + ", ".join(f"{k} {v}" for k, v in versions.items()))

    data = make_data(args.work, counts["ct"], counts["ct_size"], counts["small"])
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="pacsnb-bench-net-", dir=str(shm) if shm.is_dir() else None))
    print(f"received files go to {base} (removed at the end)")
    try:
        variants = (False,) if args.no_nodelay else (False, True)
        if args.nodelay_only and not args.no_nodelay:
            variants = (False, True, "nodelay-only")
        cap = dict(zip(("assocs", "echoes", "ct", "small"), args.installed_cap))
        workloads = tuple(w.strip() for w in args.workloads.split(",") if w.strip())
        unknown = set(workloads) - {"echo-assoc", "echo", "ct", "small"}
        if unknown:
            p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
        runs = []
        for k in range(args.rounds):
            if args.rounds > 1:
                print(f"round {k + 1} of {args.rounds}", flush=True)
            runs.append(measure(pairs, data, counts, base, variants, args.timeout, cap, workloads))
        rows = combine_rounds(runs)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    summary = report(rows, counts)
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "versions": versions, "rows": rows,
                                         "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
