"""io.writer.write_atomic: the one temp-file-then-rename write of pacsnb (pacsnb.write, the
SCP's request.save, the anonymizer, the MPPS and worklist stores)."""
from __future__ import annotations

import errno
import io
import os
import stat
import threading

import pytest

from pacsnb.io.writer import write_atomic
from pacsnb.net.dimse import Spool


def test_parts_of_every_kind_and_replacing_a_file(tmp_path):
    target = tmp_path / "a.dcm"
    target.write_bytes(b"old")
    spool = Spool(max_size=1 << 20)
    spool.write(b"SPOOL")
    big = Spool(max_size=4)
    big.write(b"ON DISK")
    big.seek(0)
    n = write_atomic(target, [b"A", bytearray(b"B"), memoryview(b"C"), io.BytesIO(b"D"), spool, big])
    assert n == 16 and target.read_bytes() == b"ABCDSPOOLON DISK"
    spool.write(b"!")  # no view of the spool's buffer is left: it can grow and close
    spool.close()
    big.close()
    assert [p.name for p in tmp_path.iterdir()] == ["a.dcm"]  # no temporary file left


def test_more_parts_than_iov_max(tmp_path):
    parts = [bytes([i % 256]) * 3 for i in range(3000)]
    assert write_atomic(tmp_path / "many", parts, fsync=False) == 9000
    assert (tmp_path / "many").read_bytes() == b"".join(parts)


def test_missing_folder_is_made_only_when_asked(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "x", [b"1"])
    assert not (tmp_path / "no").exists()
    write_atomic(tmp_path / "no" / "deep" / "x", [b"1"], make_dirs=True)
    assert (tmp_path / "no" / "deep" / "x").read_bytes() == b"1"


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "out"
    folder.mkdir()
    planted = folder / f".x.dcm.{os.getpid()}.{threading.get_ident()}.tmp"
    planted.symlink_to(victim)
    write_atomic(folder / "x.dcm", [b"DICM"], fsync=False)
    assert victim.read_text() == "precious"
    assert (folder / "x.dcm").read_bytes() == b"DICM" and not (folder / "x.dcm").is_symlink()
    assert planted.is_symlink()  # left as it was


def test_a_failed_write_leaves_nothing_and_releases_the_spool(tmp_path, monkeypatch):
    spool = Spool(max_size=1 << 20)
    spool.write(b"x" * 1000)

    def full(fd, buffers):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", full)
    with pytest.raises(OSError) as caught:
        write_atomic(tmp_path / "x.dcm", [b"meta", spool])
    assert caught.value.errno == errno.ENOSPC
    spool.close()  # would raise BufferError while a view of its buffer were alive (in the traceback)
    assert list(tmp_path.iterdir()) == []


def test_keep_mode(tmp_path):
    target = tmp_path / "m"
    target.write_bytes(b"1")
    os.chmod(target, 0o600)
    write_atomic(target, [b"2"], keep_mode=True)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    write_atomic(target, [b"3"])
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
