"""Writing DICOM: Part 10 files and bare data sets in every uncompressed transfer syntax.

Elements that were read and never changed are copied as read (byte-identical) when the
byte order allows; others are encoded from their values. Sequences and items are written
with undefined length, so that private sequences survive implicit VR. Encapsulated pixel
data is written as it is.

Examples
--------
>>> import pacsnb
>>> from pacsnb.samples import make_ct_series
>>> ds = make_ct_series(n_slices=1)[0]
>>> pacsnb.write(ds, "/tmp/pacsnb-doc-write.dcm", transfer_syntax="1.2.840.10008.1.2.2")
>>> pacsnb.read("/tmp/pacsnb-doc-write.dcm").file_meta.TransferSyntaxUID.name
'Explicit VR Big Endian'
"""
from __future__ import annotations

import os
import secrets
import struct
import sys
import threading
import zlib

import numpy as np
from typing import BinaryIO, Union

from pacsnb.dicom.convert import encode_value
from pacsnb.dicom.dataset import DataElement, Dataset
from pacsnb.dicom.tag import PIXEL_DATA, tag_str
from pacsnb.dicom.uid import PACSNB_IMPLEMENTATION_CLASS_UID, PACSNB_IMPLEMENTATION_VERSION_NAME, UID
from pacsnb.dicom.vr import CHARSET_VRS, LONG_EXPLICIT_VRS, TEXT_VRS
from pacsnb.errors import DicomValueError, InvalidDicomError
from pacsnb.io.reader import data_set_encoding

__all__ = ["write", "encode_dataset", "build_file_meta", "encode_file", "fsync_dir", "write_atomic"]

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"

_ITEM_UNDEF = {True: struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF),
               False: struct.pack(">HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)}
_ITEM_DELIM = {True: struct.pack("<HHI", 0xFFFE, 0xE00D, 0), False: struct.pack(">HHI", 0xFFFE, 0xE00D, 0)}
_SEQ_DELIM = {True: struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), False: struct.pack(">HHI", 0xFFFE, 0xE0DD, 0)}


def _header(tag: int, vr: str, length: int, implicit: bool, little: bool) -> bytes:
    e = "<" if little else ">"
    if implicit:
        return struct.pack(e + "HHI", tag >> 16, tag & 0xFFFF, length)
    if vr in LONG_EXPLICIT_VRS:
        return struct.pack(e + "HH2s2xI", tag >> 16, tag & 0xFFFF, vr.encode(), length)
    if length > 0xFFFF:
        # too long for a 16-bit length: PS3.5 6.2.2 says write it as UN
        return struct.pack(e + "HH2s2xI", tag >> 16, tag & 0xFFFF, b"UN", length)
    return struct.pack(e + "HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _write_dataset(out: list, ds: Dataset, implicit: bool, little: bool, skip_group2: bool) -> None:
    cs = ds._charsets()
    for tag in sorted(ds._dict):
        if skip_group2 and tag >> 16 == 2:
            continue
        e = ds._get_elem(tag)
        if tag == PIXEL_DATA and e.VR == "OW" and not e.is_undefined_length:
            bits = ds.get(0x00280100)
            if isinstance(bits, int) and bits in (32, 64):
                _write_wide_ow_pixels(out, e, bits // 8, implicit, little)
                continue
        _write_element(out, e, implicit, little, cs)


def _write_wide_ow_pixels(out: list, e: DataElement, size: int, implicit: bool, little: bool) -> None:
    """Pixel Data of 32 or 64 bits in OW: big endian swaps whole pixel values, as real files
    and readers do, not 16-bit words (PS3.5 leaves this to the Bits Allocated)."""
    if e._raw is not None:
        data = bytes(e._raw)
        src_little = e._little
    else:
        v = e.value
        data = np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else bytes(v)
        src_little = sys.byteorder == "little" if isinstance(v, np.ndarray) else True
    if len(data) % size == 0 and src_little != little:
        data = np.frombuffer(data, f"<u{size}").byteswap().tobytes()
    if len(data) & 1:
        data += b"\x00"
    out.append(_header(int(e.tag), "OW", len(data), implicit, little))
    out.append(data)


def _write_element(out: list, e: DataElement, implicit: bool, little: bool, cs) -> None:
    tag = int(e.tag)
    vr = e.VR
    if vr == "SQ":
        out.append(_header(tag, "SQ", 0xFFFFFFFF, implicit, little))
        for item in e.value:
            out.append(_ITEM_UNDEF[little])
            _write_dataset(out, item, implicit, little, False)
            out.append(_ITEM_DELIM[little])
        out.append(_SEQ_DELIM[little])
        return
    if e.is_undefined_length and tag == PIXEL_DATA:
        # the encapsulated item stream (without its delimiter), as read or built
        value = e._raw if e._raw is not None else e.value
        value = value.tobytes() if isinstance(value, np.ndarray) else bytes(value)
        if not little:
            raise InvalidDicomError("encapsulated pixel data cannot be written in big endian")
        # refuse to write what could not be read back: the value must be a run of items
        # (a trailing sequence delimiter, if a caller left one, is not written twice)
        end = _item_stream_end(value)
        out.append(_header(tag, vr if vr in ("OB", "OW") else "OB", 0xFFFFFFFF, implicit, little))
        out.append(value[:end])
        out.append(_SEQ_DELIM[little])
        return
    raw = e._raw
    if raw is not None and len(raw) % 2 == 0 and (
            # unchanged values are copied as read: text does not depend on the byte order (so
            # IS/DS and everything else keep their exact text) unless it was read in another
            # character set than the one in force; bytes do not depend on it either
            (vr in CHARSET_VRS and e._cs == cs) or (vr in TEXT_VRS and vr not in CHARSET_VRS)
            or (vr not in TEXT_VRS and (vr in ("UN", "OB") or e._little == little))):
        data = raw
    else:
        data = encode_value(vr, e.value, little, cs if vr in CHARSET_VRS else None)
    n = len(data)
    if n > 0xFFFFFFFE:
        raise DicomValueError(f"element {tag_str(tag)} is too long ({n} bytes) for DICOM")
    out.append(_header(tag, vr, n, implicit, little))
    out.append(data)


def _item_stream_end(value: bytes) -> int:
    """Where the items of an encapsulated value end (before a trailing sequence delimiter);
    raises if the value is not a run of defined-length items, which could not be read back."""
    pos, n = 0, len(value)
    while pos < n:
        if pos + 8 > n:
            raise DicomValueError(f"encapsulated pixel data: {n - pos} stray byte(s) at byte {pos} after the items")
        group, elem, length = struct.unpack_from("<HHI", value, pos)
        if (group, elem) == (0xFFFE, 0xE0DD):
            return pos
        if (group, elem) != (0xFFFE, 0xE000) or length == 0xFFFFFFFF or pos + 8 + length > n:
            raise DicomValueError(
                f"encapsulated pixel data must be a run of items (see pacsnb.io.encaps.encapsulate); "
                f"byte {pos} holds no valid item")
        pos += 8 + length
    return pos


def encode_dataset(ds: Dataset, transfer_syntax: str = _EXPLICIT_LE) -> bytes:
    """Encode a data set (without file meta) in ``transfer_syntax``.

    Group 0002 elements are left out; sequences and items get undefined lengths.

    Parameters
    ----------
    ds
        The data set.
    transfer_syntax
        A Transfer Syntax UID (default explicit VR little endian); a deflated syntax
        deflates the encoded bytes.

    Returns
    -------
    bytes
        The encoded data set, of even length.

    Raises
    ------
    DicomValueError
        When a value cannot be encoded in its VR, or an element is too long.
    InvalidDicomError
        For encapsulated pixel data in a big endian syntax.

    Examples
    --------
    >>> ds = Dataset(); ds.PatientName = "DOE"
    >>> encode_dataset(ds, "1.2.840.10008.1.2")
    b'\\x10\\x00\\x10\\x00\\x04\\x00\\x00\\x00DOE '
    """
    implicit, little, deflated = data_set_encoding(str(transfer_syntax))
    out: list = []
    _write_dataset(out, ds, implicit, little, True)
    data = b"".join(out)
    if deflated:
        c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = c.compress(data) + c.flush()
        if len(data) & 1:
            data += b"\x00"
    return data


def build_file_meta(ds: Dataset, transfer_syntax: str) -> Dataset:
    """The File Meta Information (group 0002) for writing ``ds`` in ``transfer_syntax``.

    Keeps Source/Sending/Receiving AE titles and private information from ``ds.file_meta``;
    sets our implementation class UID and version name.

    Parameters
    ----------
    ds
        The data set to be written; its SOP Class and SOP Instance UIDs (or those of its
        ``file_meta``) become the Media Storage SOP Class and Instance UIDs.
    transfer_syntax
        The Transfer Syntax UID the data set will be written in.

    Returns
    -------
    Dataset
        The group 0002 elements, without the group length (the writer adds it).

    Raises
    ------
    DicomValueError
        When the SOP Class UID or SOP Instance UID is missing.

    Examples
    --------
    >>> ds = Dataset(); ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"; ds.SOPInstanceUID = "1.2.3"
    >>> build_file_meta(ds, "1.2.840.10008.1.2.1").MediaStorageSOPInstanceUID
    '1.2.3'
    """
    old = ds.file_meta if ds.file_meta is not None else Dataset()
    meta = Dataset()
    meta.add_new(0x00020001, "OB", b"\x00\x01")
    sop_class = ds.get(0x00080016) or old.get(0x00020002)
    sop_inst = ds.get(0x00080018) or old.get(0x00020003)
    if not sop_class or not sop_inst:
        raise DicomValueError(
            "a Part 10 file needs SOPClassUID and SOPInstanceUID (or file_meta with "
            "MediaStorageSOPClassUID/InstanceUID); set them, or write with write_like_original=True")
    meta.add_new(0x00020002, "UI", str(sop_class))
    meta.add_new(0x00020003, "UI", str(sop_inst))
    meta.add_new(0x00020010, "UI", str(transfer_syntax))
    meta.add_new(0x00020012, "UI", PACSNB_IMPLEMENTATION_CLASS_UID)
    meta.add_new(0x00020013, "SH", PACSNB_IMPLEMENTATION_VERSION_NAME)
    for t in (0x00020016, 0x00020017, 0x00020018, 0x00020026, 0x00020027, 0x00020028, 0x00020100, 0x00020102):
        if t in old:
            meta.add(old[t]._copy())
    return meta


def encode_file(ds: Dataset, transfer_syntax: str | None = None, *, preamble: bytes | None = None,
                write_like_original: bool = False) -> bytes:
    """The bytes of a Part 10 file (preamble, ``DICM``, meta, data set).

    With ``write_like_original=True`` and a data set that was read without meta, the data set
    is written bare (no preamble, no meta), as it was read. :func:`write` writes these
    bytes to a file.

    Parameters
    ----------
    ds
        The data set; its ``file_meta`` is rebuilt (see :func:`build_file_meta`).
    transfer_syntax
        The Transfer Syntax UID (default: the one the data set was read in, else explicit
        VR little endian). Encapsulated (compressed) syntaxes only for data sets whose
        pixel data is already encapsulated.
    preamble
        128 bytes (default: as read, else zeros).
    write_like_original
        Write a data set that was read without meta back the same way (no meta).

    Returns
    -------
    bytes

    Raises
    ------
    DicomValueError
        For a UID that is not a transfer syntax (or one pacsnb cannot write), native pixel
        data with an encapsulated syntax or the reverse, a missing SOP Class or Instance
        UID, a preamble that is not 128 bytes, or a value that cannot be encoded.

    Examples
    --------
    >>> import pacsnb
    >>> ds = Dataset({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7", "SOPInstanceUID": "1.2.3.4"})
    >>> data = encode_file(ds)
    >>> data[:128] == bytes(128), data[128:132]
    (True, b'DICM')
    >>> pacsnb.read(data).file_meta.TransferSyntaxUID.name
    'Explicit VR Little Endian'
    >>> encode_file(ds, "1.2.3")
    Traceback (most recent call last):
    ...
    pacsnb.errors.DicomValueError: '1.2.3' is not a transfer syntax UID
    """
    ts = transfer_syntax or ds.transfer_syntax or _EXPLICIT_LE
    ts = str(ts)
    if ts not in (_IMPLICIT_LE, _EXPLICIT_LE, _EXPLICIT_BE):
        uid = UID(ts)
        if not uid.is_transfer_syntax:
            raise DicomValueError(f"{ts!r} is not a transfer syntax UID")
        if not uid.is_encapsulated and not uid.is_little_endian:
            raise DicomValueError(f"cannot write {uid.name}")
        if uid.is_encapsulated and PIXEL_DATA in ds and not ds[PIXEL_DATA].is_undefined_length:
            raise DicomValueError(
                f"{uid.name} needs encapsulated (compressed) pixel data; this data set's pixel data "
                "is native. Compress its frames and set them with pacsnb.io.encaps.set_encapsulated_pixel_data first")
    if PIXEL_DATA in ds and ds[PIXEL_DATA].is_undefined_length:
        uid = UID(ts)
        if not uid.is_encapsulated:
            raise DicomValueError(
                f"this data set has compressed (encapsulated) pixel data; it cannot be written as "
                f"{uid.name or ts}. Keep its transfer syntax ({ds.transfer_syntax}) or decompress it first")
    body = encode_dataset(ds, ts)
    if write_like_original and not ds.file_meta and ds.preamble is None:
        return body
    meta = build_file_meta(ds, ts)
    meta_out: list = []
    _write_dataset(meta_out, meta, False, True, False)
    meta_bytes = b"".join(meta_out)
    group_length = _header(0x00020000, "UL", 4, False, True) + struct.pack("<I", len(meta_bytes))
    pre = preamble if preamble is not None else (ds.preamble if ds.preamble is not None else b"\x00" * 128)
    if len(pre) != 128:
        raise DicomValueError("the preamble must be 128 bytes")
    return b"".join((pre, b"DICM", group_length, meta_bytes, body))


def fsync_dir(folder: str) -> None:
    """Sync a folder, so that a rename or a new entry in it is durable (where the platform
    allows it; a folder that cannot be opened or synced is left as it is).

    Examples
    --------
    >>> fsync_dir("/tmp")
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_CREATE = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
           | getattr(os, "O_BINARY", 0))
try:
    _IOV_MAX = max(16, min(1024, os.sysconf("SC_IOV_MAX")))
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    _IOV_MAX = 16


def _write_all(fd: int, buffers: list) -> None:
    """``writev`` the buffers (at most IOV_MAX at a time), going on after a short write.

    Every view made here is released before returning, also when a write fails (a view of
    an in-memory spool left alive in the traceback would keep the spool from closing)."""
    made: list = []
    try:
        views = []
        for b in buffers:
            if len(b):
                v = memoryview(b)
                made.append(v)
                if v.format != "B" or v.ndim != 1:
                    v = v.cast("B")
                    made.append(v)
                views.append(v)
        while views:
            n = os.writev(fd, views[:_IOV_MAX]) if hasattr(os, "writev") else os.write(fd, views[0])
            while views and n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            if views and n:
                views[0] = views[0][n:]
                made.append(views[0])
    finally:
        for v in reversed(made):
            v.release()


def _create_temp(folder: str, name: str, make_dirs: bool) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file beside ``folder/name`` (never an existing file
    or a symbolic link planted under its name)."""
    base = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}")
    tmp = base + ".tmp"
    for attempt in range(100):
        try:
            return os.open(tmp, _CREATE, 0o666), tmp
        except FileNotFoundError:
            if not make_dirs or attempt:
                raise
            os.makedirs(folder or ".", exist_ok=True)
        except FileExistsError:  # a leftover of a crash, or someone else's: another name
            tmp = f"{base}.{secrets.token_hex(4)}.tmp"
    raise FileExistsError(f"{folder}: cannot make a temporary file for {name}")  # pragma: no cover


def write_atomic(path: Union[str, os.PathLike], parts: list, *, fsync: bool = True, sync_dir: bool = False,
                 keep_mode: bool = False, make_dirs: bool = False) -> int:
    """Write ``parts`` one after the other into the file ``path``, atomically.

    The bytes go to a new temporary file beside ``path``, which is synced and then renamed
    over ``path``: a crash never leaves half a file under the final name. Buffers are
    written with ``writev``; file objects are copied in blocks from where they stand (an
    in-memory spool that offers ``in_memory()``, such as a received C-STORE's data set, is
    written from its buffer).

    Parameters
    ----------
    path
        The file to write.
    parts
        Bytes-like objects and readable binary file objects, in order.
    fsync
        Sync the file's data before the rename (survives a power cut, not only a crash).
    sync_dir
        Also sync the folder after the rename (the new name itself survives a power cut).
    keep_mode
        Give the file the permissions of the file it replaces, if any (else those a plain
        ``open()`` gives).
    make_dirs
        Make the folder (and its parents) if it is missing; else a missing folder raises
        ``FileNotFoundError``, as ``open()`` does.

    Returns
    -------
    int
        The bytes written.

    Examples
    --------
    >>> import io
    >>> from pacsnb.io.writer import write_atomic
    >>> write_atomic("/tmp/pacsnb-doc-atomic/a.bin", [b"DICM", io.BytesIO(b"1234")], make_dirs=True)
    8
    >>> open("/tmp/pacsnb-doc-atomic/a.bin", "rb").read()
    b'DICM1234'
    """
    target = os.fspath(path)
    folder, name = os.path.split(target)
    fd, tmp = _create_temp(folder, name, make_dirs)
    size = 0
    held: list = []  # views of in-memory spools: released before returning
    try:
        try:
            if keep_mode:
                try:
                    os.fchmod(fd, os.stat(target).st_mode & 0o7777)
                except FileNotFoundError:
                    pass
            pending: list = []
            for part in parts:
                view = part.in_memory() if hasattr(part, "in_memory") else None
                if view is not None:
                    held.append(view)
                    part = view
                if hasattr(part, "read"):
                    _write_all(fd, pending)
                    pending = []
                    while True:
                        block = part.read(1 << 20)
                        if not block:
                            break
                        _write_all(fd, [block])
                        size += len(block)
                else:
                    pending.append(part)
                    size += memoryview(part).nbytes
            _write_all(fd, pending)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
            pending = []
            part = view = None
            for v in held:
                v.release()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(folder or ".")
    return size


def write(ds: Dataset, target: Union[str, os.PathLike, BinaryIO], transfer_syntax: str | None = None, *,
          preamble: bytes | None = None, write_like_original: bool = False, atomic: bool = True) -> None:
    """Write ``ds`` as a DICOM Part 10 file.

    Parameters
    ----------
    ds
        The data set. Its ``file_meta`` is rebuilt (group length, our implementation class
        UID and version name; Source AE title and the like are kept).
    target
        A path or a writable binary file.
    transfer_syntax
        The transfer syntax UID (default: the one it was read in, else explicit VR little
        endian). Any of implicit/explicit little endian, explicit big endian and deflated;
        compressed syntaxes only for data sets whose pixel data is already encapsulated.
    preamble
        128 bytes (default: as read, else zeros).
    write_like_original
        Write a data set that was read without meta back the same way (no meta).
    atomic
        When writing to a path: write a temporary file, fsync, then rename, so that a crash
        never leaves a half-written file under the final name.

    Raises
    ------
    DicomValueError
        When the data set cannot be written as asked (see :func:`encode_file`).
    OSError
        When the file cannot be written.

    Examples
    --------
    >>> import pacsnb
    >>> ds = pacsnb.Dataset(); ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"; ds.SOPInstanceUID = "1.2.3.4"
    >>> ds.PatientName = "DOE^JOHN"
    >>> pacsnb.write(ds, "/tmp/pacsnb-doc-write2.dcm", "1.2.840.10008.1.2")
    >>> pacsnb.read("/tmp/pacsnb-doc-write2.dcm").PatientName
    'DOE^JOHN'
    """
    data = encode_file(ds, transfer_syntax, preamble=preamble, write_like_original=write_like_original)
    if hasattr(target, "write"):
        target.write(data)  # type: ignore[union-attr]
        return
    path = os.fspath(target)
    if not atomic:
        with open(path, "wb") as f:
            f.write(data)
        return
    write_atomic(path, [data], keep_mode=True, sync_dir=True)
