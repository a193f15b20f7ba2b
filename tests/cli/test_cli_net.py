"""``pacsnb echo``, ``pacsnb store`` and ``pacsnb storescp`` as real processes on 127.0.0.1.

Against each other and against dcmtk's echoscu, storescu and storescp (skipped when dcmtk
is not installed, unless PACSNB_REQUIRE_DCMTK=1). Every process is stopped in ``finally``
(terminate, wait, kill) and every call has a timeout.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pytest

from pacsnb.net.scu import _file_info
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

REPO = Path(__file__).resolve().parents[2]
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
TIMEOUT = 20
HAVE_DCMTK = all(shutil.which(t) for t in ("echoscu", "storescu", "storescp"))
needs_dcmtk = peers.needs_dcmtk("echoscu", "storescu", "storescp")
PACSNB = [sys.executable, "-m", "pacsnb"]


def run(*cmd, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, errors="replace",
                          timeout=timeout, cwd=REPO)


def data_set_bytes(path) -> bytes:
    """The data set of a Part 10 file, after its File Meta Information."""
    info = _file_info(str(path))
    assert info is not None, path
    return Path(path).read_bytes()[info.offset:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Lines:
    """Collects a pipe's lines on a thread."""

    def __init__(self, pipe) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe) -> None:
        for line in pipe:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def pacsnb_storescp(out: Path, *extra: str, aet: str = "PNSCP"):
    """``pacsnb storescp 0 -v`` in a subprocess; yields (process, port, stdout, stderr)."""
    proc = subprocess.Popen([*PACSNB, "storescp", "0", "--bind", "127.0.0.1", "-aet", aet, "-od", str(out), "-v",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            cwd=REPO)
    try:
        out_lines, err_lines = Lines(proc.stdout), Lines(proc.stderr)
        deadline, port = time.monotonic() + TIMEOUT, None
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            for line in list(err_lines.lines):
                m = re.match(r"I: listening on 127\.0\.0\.1:(\d+) ", line)
                if m:
                    port = int(m[1])
            time.sleep(0.05)
        assert port, f"pacsnb storescp did not start: {err_lines.text()}"
        yield proc, port, out_lines, err_lines
    finally:
        stop_process(proc)


@contextmanager
def dcmtk_storescp(out: Path, aet: str = "DCMSCP"):
    """dcmtk's storescp in a subprocess, listening; yields its port."""
    port = free_port()
    proc = subprocess.Popen(["storescp", "-aet", aet, "-od", str(out), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "storescp did not start listening"
                time.sleep(0.05)
        yield port
    finally:
        stop_process(proc)


@pytest.fixture
def files(tmp_path) -> Path:
    """src/: two DICOM files (explicit and implicit VR little endian) and sub/one more."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    shutil.copy(TEST_FILES / "CT_small.dcm", src / "ct.dcm")
    shutil.copy(TEST_FILES / "MR_small.dcm", src / "mr.dcm")
    shutil.copy(TEST_FILES / "rtplan.dcm", src / "sub" / "plan.dcm")
    return src


@pytest.fixture
def samples(tmp_path) -> list[Path]:
    """Clean sample files (CT, MR, CR; explicit VR little endian, which storescp accepts) that dcmtk
    re-encodes to the same bytes (pydicom's CT_small.dcm has bytes after its data set that
    dcmtk drops; pacsnb keeps them, see the tests above)."""
    from pacsnb.samples import write_sample_file

    src = tmp_path / "samples"
    return [Path(write_sample_file(src / "ct.dcm", "CT")), Path(write_sample_file(src / "mr.dcm", "MR")),
            Path(write_sample_file(src / "sub" / "cr.dcm", "CR"))]


def sop_instance_uid(path: Path) -> str:
    return _file_info(str(path)).sop_instance_uid


def assert_arrived(src_files, out: Path) -> None:
    for f in src_files:
        got = out / f"{sop_instance_uid(f)}.dcm"
        assert got.is_file(), f"{f.name} did not arrive in {sorted(os.listdir(out))}"
        assert data_set_bytes(got) == data_set_bytes(f), f"{f.name}: the data set changed"


# --- pacsnb echo / store against pacsnb storescp ---------------------------------------------------

def test_echo_store_and_graceful_stop_with_pacsnb_storescp(tmp_path, files):
    out = tmp_path / "out"
    with pacsnb_storescp(out) as (proc, port, stdout, stderr):
        echo = run(*PACSNB, "echo", "-aec", "PNSCP", "-r", "2", "127.0.0.1", port)
        assert (echo.returncode, echo.stdout, echo.stderr) == (0, "", "")
        verbose = run(*PACSNB, "echo", "-v", "-aec", "PNSCP", "127.0.0.1", port)
        assert verbose.returncode == 0 and "Received Echo Response" in verbose.stderr

        store = run(*PACSNB, "store", "-aec", "PNSCP", "-r", "--no-progress", "127.0.0.1", port, files)
        assert store.returncode == 0, store.stderr
        assert re.search(r"^3 files sent to PNSCP at 127\.0\.0\.1:\d+: 3 success, 0 warning, 0 failed$",
                         store.stdout, re.M), store.stdout
        assert_arrived([files / "ct.dcm", files / "mr.dcm", files / "sub" / "plan.dcm"], out)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
        stdout.thread.join(5)
        stderr.thread.join(5)
    assert len([line for line in stdout.lines if line.startswith("I: stored ")]) == 3, stdout.text()
    assert "stopped; 3 files received" in stderr.text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_store_without_recursion_skips_subfolders_and_reports_non_dicom(tmp_path, files):
    (files / "notes.txt").write_text("not DICOM\n" * 10)
    out = tmp_path / "out"
    with pacsnb_storescp(out) as (proc, port, stdout, stderr):
        store = run(*PACSNB, "store", "-aec", "PNSCP", "--no-progress", "127.0.0.1", port, files)
    assert store.returncode == 1
    assert "notes.txt" in store.stderr and store.stderr.startswith("E: ")
    assert "2 files sent" in store.stdout and "2 success" in store.stdout and "1 not sent" in store.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{sop_instance_uid(files / n)}.dcm"
                                                          for n in ("ct.dcm", "mr.dcm"))


def test_wrong_called_ae_is_a_clear_error(tmp_path, files):
    with pacsnb_storescp(tmp_path / "out") as (proc, port, stdout, stderr):
        echo = run(*PACSNB, "echo", "-aec", "WRONG", "127.0.0.1", port)
        store = run(*PACSNB, "store", "-aec", "WRONG", "--no-progress", "127.0.0.1", port, files / "ct.dcm")
    assert echo.returncode == 1 and echo.stdout == ""
    assert echo.stderr.startswith("E: Echo failed: WRONG at 127.0.0.1:")
    assert "rejected the association" in echo.stderr and "called AE title not recognized" in echo.stderr
    assert store.returncode == 1 and "E: Store failed: " in store.stderr
    assert "called AE title not recognized" in store.stderr


def test_storescp_allow_list_rejects_other_calling_ae(tmp_path):
    with pacsnb_storescp(tmp_path / "out", "--allow", "CT1", "MR1") as (proc, port, stdout, stderr):
        ok = run(*PACSNB, "echo", "-aet", "CT1", "-aec", "PNSCP", "127.0.0.1", port)
        no = run(*PACSNB, "echo", "-aet", "OTHER", "-aec", "PNSCP", "127.0.0.1", port)
    assert ok.returncode == 0, ok.stderr
    assert no.returncode == 1 and "rejected the association" in no.stderr and "calling AE" in no.stderr


def test_unreachable_port_is_a_clear_error(tmp_path, files):
    port = free_port()  # nobody listens there
    echo = run(*PACSNB, "echo", "-to", "5", "127.0.0.1", port)
    store = run(*PACSNB, "store", "--no-progress", "-to", "5", "127.0.0.1", port, files / "ct.dcm")
    for proc in (echo, store):
        assert proc.returncode == 1
        assert f"cannot connect to 127.0.0.1:{port}" in proc.stderr and proc.stderr.startswith("E: ")


def test_storescp_names_files_safely_whatever_the_uid(tmp_path):
    from pacsnb.dicom import Dataset
    from pacsnb.net import sync

    out = tmp_path / "deep" / "out"
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.PatientID = "EVIL"
    with pacsnb_storescp(out) as (proc, port, stdout, stderr):
        for uid in ("../../escaped", "/tmp/absolute", ".."):
            ds.SOPInstanceUID = uid
            assert sync.store("127.0.0.1", port, ds, called_ae="PNSCP", progress=False, timeout=10) == 0
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and all(n.startswith("invalid-uid-") and "/" not in n for n in names), names
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]
    assert not (tmp_path / "escaped").exists()


def test_storescp_cannot_listen_on_a_busy_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        r = run(*PACSNB, "storescp", "--bind", "127.0.0.1", "-od", tmp_path, busy)
    assert r.returncode == 1 and r.stderr.startswith(f"E: cannot listen on 127.0.0.1:{busy}")


# --- dcmtk against pacsnb storescp, pacsnb against dcmtk storescp ---------------------------------

@needs_dcmtk
def test_echoscu_and_storescu_against_pacsnb_storescp(tmp_path, samples):
    out = tmp_path / "out"
    with pacsnb_storescp(out) as (proc, port, stdout, stderr):
        echo = run("echoscu", "-aet", "ECHOSCU", "-aec", "PNSCP", "127.0.0.1", port)
        assert echo.returncode == 0, echo.stderr + echo.stdout
        wrong = run("echoscu", "-aec", "WRONG", "127.0.0.1", port)
        assert wrong.returncode != 0
        # -xe: propose explicit VR little endian first, the files' own syntax (no conversion)
        store = run("storescu", "-xe", "-aec", "PNSCP", "127.0.0.1", port, *samples[:2])
        assert store.returncode == 0, store.stderr + store.stdout
    assert_arrived(samples[:2], out)


@needs_dcmtk
def test_pacsnb_echo_and_store_against_dcmtk_storescp(tmp_path, samples):
    out = tmp_path / "out"
    out.mkdir()
    with dcmtk_storescp(out) as port:
        echo = run(*PACSNB, "echo", "-aec", "DCMSCP", "127.0.0.1", port)
        assert (echo.returncode, echo.stdout, echo.stderr) == (0, "", "")
        store = run(*PACSNB, "store", "-aec", "DCMSCP", "-r", "--no-progress", "127.0.0.1", port,
                    samples[0].parent)
        assert store.returncode == 0, store.stderr
        assert "3 files sent" in store.stdout and "3 success" in store.stdout
    received = {sop_instance_uid(p): p for p in out.iterdir() if p.is_file()}
    for f in samples:
        assert data_set_bytes(received[sop_instance_uid(f)]) == data_set_bytes(f), f.name
