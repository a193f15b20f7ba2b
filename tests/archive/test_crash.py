"""SIGKILL in the middle of storing: every instance store() returned for is there, readable and
indexed; nothing partial is visible; verify is clean; leftovers are cleaned on the next open."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pydicom

from pacsnb.archive import Archive

WRITER = textwrap.dedent("""
    import sys
    from pacsnb.archive import Archive
    from pacsnb.samples import make_ct_series
    archive = Archive(sys.argv[1])
    base = make_ct_series(n_slices=1, rows=64, columns=64)[0]
    for i in range(100000):
        ds = base.copy()
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1.{i}"
        ds.InstanceNumber = i
        ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.2.{i % 7}"
        archive.store(ds)
        print(ds.SOPInstanceUID, flush=True)
""")


def test_sigkill_during_ingest(tmp_path: Path):
    root = tmp_path / "arc"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    acknowledged = []
    try:
        deadline = time.monotonic() + 120
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of the next store()
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)
    assert len(acknowledged) >= 60, err
    assert proc.returncode == -signal.SIGKILL

    archive = Archive(root)
    assert list((root / "tmp").iterdir()) == []  # leftovers of the dead writer are gone
    indexed = set(archive.instances().SOPInstanceUID)
    for uid in acknowledged:
        assert uid in indexed
        assert pydicom.dcmread(archive.path(uid)).SOPInstanceUID == uid
    for path in (root / "data").rglob("*"):
        assert path.is_dir() or path.suffix == ".dcm"  # no temporary file visible as an instance
    report = archive.verify()
    assert report.ok, report
    archive.close()
