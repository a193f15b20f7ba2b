"""SIGKILL of ``pacsnb serve`` in the middle of an ingest from four parallel dcmtk storescu processes,
then a restart: every instance acknowledged with Success is there, readable and indexed; no partial
file is visible; ``verify`` is clean. Then a graceful SIGTERM stop."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pacsnb
from pacsnb.archive import Archive
from pacsnb.samples import make_ct_series
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

needs_dcmtk = peers.needs_dcmtk("storescu")
TIMEOUT = 60
PROCESSES = 4
PER_PROCESS = 60


def _start_server(root: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    port_file = tmp / f"port-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-m", "pacsnb", "serve", str(root), "--port", "0",
                             "--port-file", str(port_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + TIMEOUT
    while not (port_file.exists() and port_file.read_text().strip()):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "pacsnb serve did not start"
        time.sleep(0.05)
    port = int(port_file.read_text())
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
        pass
    return proc, port


def _acknowledged(log: str) -> set[str]:
    """The files storescu -v saw answered with Success."""
    done, current = set(), None
    for line in log.splitlines():
        m = re.match(r"I: Sending file: (.*)$", line)
        if m:
            current = m.group(1).strip()
        elif "Received Store Response (Success)" in line and current:
            done.add(current)
            current = None
    return done


def _data_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root / "data"))


@needs_dcmtk
def test_sigkill_during_parallel_ingest_loses_nothing_acknowledged(tmp_path):
    sources = tmp_path / "src"
    uid_of = {}
    batches = []
    for p in range(PROCESSES):
        folder = sources / f"p{p}"
        folder.mkdir(parents=True)
        paths = []
        for i, ds in enumerate(make_ct_series(n_slices=PER_PROCESS, rows=64, columns=64, seed=p)):
            path = folder / f"{i:03d}.dcm"
            pacsnb.write(ds, path)
            uid_of[str(path)] = str(ds.SOPInstanceUID)
            paths.append(path)
        batches.append(paths)
    root = tmp_path / "archive"
    server, port = _start_server(root, tmp_path)
    senders = []
    try:
        for p, paths in enumerate(batches):
            senders.append(subprocess.Popen(["storescu", "-v", "-aet", f"CT{p}", "-aec", "PACSNB", "127.0.0.1",
                                             str(port), *map(str, paths)],
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        deadline = time.monotonic() + TIMEOUT
        while _data_files(root) < PROCESSES * PER_PROCESS // 4:  # well into the ingest
            assert time.monotonic() < deadline, "the ingest did not progress"
            assert any(s.poll() is None for s in senders), "the senders finished before the kill"
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        server.wait(TIMEOUT)
        logs = []
        for s in senders:
            out, _ = s.communicate(timeout=TIMEOUT)
            logs.append(out)
    finally:
        for s in senders:
            if s.poll() is None:
                s.kill()
                s.wait(TIMEOUT)
        if server.poll() is None:
            server.kill()
            server.wait(TIMEOUT)
    acknowledged = {uid_of[f] for log in logs for f in _acknowledged(log)}
    assert 0 < len(acknowledged) < PROCESSES * PER_PROCESS, "the kill did not land in the middle of the ingest"

    # restart: recovery runs, the server answers, then a graceful stop
    server, port = _start_server(root, tmp_path)
    try:
        from pacsnb.net import sync
        assert sync.echo("127.0.0.1", port, called_ae="PACSNB", timeout=TIMEOUT) == 0
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=TIMEOUT)
        assert server.returncode == 0, out
        assert "stopped" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(TIMEOUT)

    archive = Archive(root)
    try:
        stored = set(archive.instances().SOPInstanceUID)
        assert acknowledged <= stored  # nothing acknowledged was lost
        for uid in acknowledged:
            ds = archive.read(uid)  # readable, whole
            assert ds.SOPInstanceUID == uid and len(bytes(ds.PixelData)) == 64 * 64 * 2
        report = archive.verify()
        assert report.ok, report
        assert os.listdir(root / "tmp") == []  # no partial file left
        assert _data_files(root) == len(stored)  # every file in data/ is indexed
    finally:
        archive.close()
