"""Reading DICOM data: Part 10 files, raw data sets and byte buffers.

The reader scans the bytes once with the numba kernel of :mod:`pacsnb.io._kernels`,
building a table of element offsets, and returns a lazy
:class:`~pacsnb.dicom.dataset.Dataset`: no value is decoded until it is touched. Files
larger than :data:`MMAP_THRESHOLD` are memory-mapped, so pixel data that is never touched
is never read from disk.

Examples
--------
>>> import pacsnb
>>> from pacsnb.samples import write_sample_file
>>> path = write_sample_file("/tmp/pacsnb-doc-read.dcm")
>>> ds = pacsnb.read(path, stop_before_pixels=True)
>>> ds.Modality, "PixelData" in ds
('CT', False)
"""
from __future__ import annotations

import functools
import logging
import mmap
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Union

import numpy as np

from pacsnb.dicom import dictionary as _dict
from pacsnb.dicom.dataset import DataElement, Dataset, Sequence, lazy_element
from pacsnb.dicom.vr import CHARSET_VRS
from pacsnb.dicom.tag import PIXEL_DATA, TagLike, as_tag
from pacsnb.dicom.uid import UID
from pacsnb.errors import InvalidDicomError
from pacsnb.io import _kernels as K

__all__ = ["read", "read_bytes", "MMAP_THRESHOLD", "MAX_DEPTH", "DataSource"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: Files at least this large are memory-mapped instead of read into memory.
MMAP_THRESHOLD = 1 << 20
#: Maximum nesting depth of sequences and items (each level of sequence + item counts 2).
MAX_DEPTH = 256
#: Deflated data sets may not inflate to more than this many bytes (zip-bomb guard).
MAX_INFLATED = 1 << 30

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"


@functools.lru_cache(maxsize=256)
def data_set_encoding(transfer_syntax: str) -> tuple[bool, bool, bool]:
    """``(implicit_vr, little_endian, deflated)`` of the data set in a transfer syntax.

    From the UID registry; an unknown UID is read as explicit VR little endian, the
    encoding of every transfer syntax but four (PS3.5 Annex A).

    Parameters
    ----------
    transfer_syntax
        A Transfer Syntax UID.

    Returns
    -------
    tuple of (bool, bool, bool)
        Whether the data set is in implicit VR, in little endian, and deflated.

    Examples
    --------
    >>> data_set_encoding("1.2.840.10008.1.2"), data_set_encoding("1.2.840.10008.1.2.1.99")
    ((True, True, False), (False, True, True))
    >>> data_set_encoding("1.2.840.10008.1.2.8.1")  # deflated frames, not a deflated data set
    (False, True, False)
    """
    uid = UID(transfer_syntax)
    if uid.is_transfer_syntax:
        return uid.is_implicit_vr, uid.is_little_endian, uid.is_deflated
    return False, True, False

_VR_CACHE: dict[int, str] = {}


def _vr_str(code: int) -> str:
    s = _VR_CACHE.get(code)
    if s is None:
        s = chr(code >> 8) + chr(code & 0xFF)
        _VR_CACHE[code] = s
    return s


class DataSource:
    """The scanned bytes of one data set and its row table; builds elements on demand.

    Datasets read from a buffer keep a reference to their source; nested items share it.
    ``tab`` is the scanner's table (see :mod:`pacsnb.io._kernels`). The reader makes
    these: user code rarely needs one.

    Parameters
    ----------
    buf
        The bytes the values are sliced from (``bytes``, or a ``memoryview`` of a memory
        map or of inflated data).
    arr
        The same bytes as a ``uint8`` array, for the scanner.
    path
        The file name, for error messages (``None`` for bytes).
    tab
        The scanner's row table, int64 of shape ``(capacity, 8)``.
    n
        The number of rows used in ``tab``.

    Examples
    --------
    >>> from pacsnb.io import read_bytes
    >>> ds = read_bytes(b"\\x10\\x00\\x10\\x00\\x04\\x00\\x00\\x00DOE ", transfer_syntax="1.2.840.10008.1.2")
    >>> src = ds._src  # the source behind the lazy data set
    >>> isinstance(src, DataSource), src.n, src.rows()[0][:4]
    (True, 1, [1048592, 0, 4, 8])
    >>> src.element(0, ds).value
    'DOE'
    """

    __slots__ = ("buf", "arr", "path", "tab", "n", "_rows", "warnings", "top", "ntop", "depth", "stop_pos")

    def __init__(self, buf, arr: np.ndarray, path: str | None, tab: np.ndarray, n: int) -> None:
        self.buf = buf
        self.arr = arr
        self.path = path
        self.tab = tab
        self.n = n
        self._rows = None
        self.warnings: list[str] = []
        self.top: dict[int, int] = {}
        self.ntop = 0
        self.depth = 0

    def rows(self) -> list[list[int]]:
        """The whole table as Python lists (made once, when nested items are first needed).

        Returns
        -------
        list of list of int
            One ``[tag, vr, length, offset, end, next, depth, kind]`` row per element,
            item or fragment (see :mod:`pacsnb.io._kernels`).
        """
        if self._rows is None:
            self._rows = self.tab[: self.n].tolist()
        return self._rows

    def rows_of_item(self, item_row: int) -> dict[int, int]:
        """The rows of the elements of one sequence item, by tag.

        Parameters
        ----------
        item_row
            The row of the item (FFFE,E000) in the table.

        Returns
        -------
        dict of int to int
            ``{tag: row}`` for the item's own elements (not those nested deeper), the
            mapping a lazy item :class:`~pacsnb.dicom.dataset.Dataset` is made from.
        """
        rows = self.rows()
        out = {}
        k = item_row + 1
        end = rows[item_row][5]
        while k < end:
            r = rows[k]
            out[r[0]] = k
            k = r[5]
        return out

    def raw_values(self, ds: Dataset) -> Iterator[tuple[int, str, Any]]:
        """The data set's own elements as ``(tag, VR, value bytes)``, in tag order, without
        building element objects (for code that reads many values as text).

        The bytes are ``None`` where the value is not plain bytes of the data: sequences,
        elements written as UN, undefined lengths, big endian data, and elements already
        built or set (read those with ``ds[tag]``).

        Parameters
        ----------
        ds
            A data set made from this source (for implicit VRs: private creators and the
            like).

        Yields
        ------
        tuple of (int, str, bytes or None)

        Examples
        --------
        >>> from pacsnb.io import read_bytes
        >>> ds = read_bytes(b"\\x10\\x00\\x10\\x00\\x04\\x00\\x00\\x00DOE ", transfer_syntax="1.2.840.10008.1.2")
        >>> [(hex(t), vr, bytes(v)) for t, vr, v in ds._src.raw_values(ds)]
        [('0x100010', 'PN', b'DOE ')]
        """
        rows = self.rows()
        own = ds.__dict__["_dict"]
        buf = self.buf
        for tag in sorted(own):
            r = own[tag]
            if type(r) is not int:
                yield tag, r.VR, None
                continue
            _tag, code, length, off, _end, _nxt, _depth, flags = rows[r]
            if code:
                vr = _VR_CACHE.get(code) or _vr_str(code)
            else:
                vr = self._implicit_vr(tag, ds, r)
            if length < 0 or vr in ("SQ", "UN") or flags & K.BIG_BIT:
                yield tag, vr, None
            else:
                yield tag, vr, buf[off:off + length]

    def element(self, row: int, ds: Dataset) -> DataElement:
        """Build the (lazy) element of one row of the table.

        The VR comes from the data (explicit VR) or from the data dictionary (implicit VR,
        private dictionaries included); elements written as UN get their dictionary VR
        when it is known. The value is decoded only when asked for.

        Parameters
        ----------
        row
            The element's row in the table.
        ds
            The data set the element belongs to (for the character set in force, Pixel
            Representation and private creators).

        Returns
        -------
        DataElement
        """
        tag, code, length, off, end, _nxt, _depth, flags = (
            self._rows[row] if self._rows is not None else self.tab[row].tolist())
        little = not (flags & K.BIG_BIT)
        if code:
            vr = _VR_CACHE.get(code) or _vr_str(code)
            if vr == "UN":
                vr, little, as_sequence = self._resolve_un(tag, length, ds)
                if as_sequence:
                    return self._sequence(row, tag, ds, implicit_inside=True)
        else:
            vr = self._implicit_vr(tag, ds, row)
        if length < 0 or vr == "SQ":
            if vr == "SQ" or tag != PIXEL_DATA:
                return self._sequence(row, tag, ds)
            raw = self.buf[off:end - 8]
            # encapsulated pixel data is OB (PS3.5 A.4), whatever implicit VR would say
            e = lazy_element(tag, vr if (code and vr in ("OB", "OW")) else "OB", raw, little, None, True)
            e._value = bytes(raw)
            return e
        if tag == PIXEL_DATA and vr == "OW" and not little:
            return self._wide_big_endian_pixels(tag, off, length, ds)
        return lazy_element(tag, vr, self.buf[off:off + length], little,
                            ds._charsets() if vr in CHARSET_VRS else None)

    def _resolve_un(self, tag: int, length: int, ds: Dataset) -> tuple[str, bool, bool]:
        """The VR to use for an element written as UN: ``(vr, little, is_sequence)``."""
        if (tag >> 16) & 1:
            if 0x10 <= (tag & 0xFFFF) <= 0xFF:
                return "LO", True, False  # a private creator written as UN
            creator = ds.private_creator_of(tag)
            entry = _dict.lookup_private(creator, tag) if creator else None
            if entry is not None and length >= 0 and entry.vr not in ("UN", "SQ"):
                return entry.vr, True, False
            return "UN", True, False
        entry = _dict.lookup(tag)
        if entry is not None and entry.vr not in ("UN", "NONE"):
            # known VR for an element written as UN: its value is implicit VR little endian
            # (PS3.5 6.2.2)
            return entry.vr, True, entry.vr == "SQ"
        return "UN", True, False

    def _wide_big_endian_pixels(self, tag: int, off: int, length: int, ds: Dataset) -> DataElement:
        """OW Pixel Data in big endian: 32/64-bit pixels are stored with whole values swapped
        (as written in the wild and expected by readers), not 16-bit words; give the value in
        native order either way."""
        raw = self.buf[off:off + length]
        e = lazy_element(tag, "OW", raw, False, None)
        bits = ds.get(0x00280100)
        if isinstance(bits, int) and bits in (32, 64) and length % (bits // 8) == 0:
            size = bits // 8
            value = np.frombuffer(raw, f">u{size}").astype(f"=u{size}").view(np.uint16)
            value.flags.writeable = False
            e._value = value
        return e

    def _implicit_vr(self, tag: int, ds: Dataset, row: int) -> str:
        if (tag >> 16) & 1:
            if (tag >> 16) in (1, 3, 5, 7, 0xFFFF):
                return "UN"  # odd groups that are not private groups (PS3.5 7.1)
            el = tag & 0xFFFF
            if el == 0:
                return "UL"
            if 0x10 <= el <= 0xFF:
                return "LO"  # private creator
            if el <= 0xFF:
                return "UN"  # (gggg,0001-000F): reserved, no VR known
            creator = ds.private_creator_of(tag)
            if creator:
                entry = _dict.lookup_private(creator, tag)
                if entry is not None:
                    return entry.vr
            return "UN"
        entry = _dict.lookup(tag)
        if entry is None:
            return "UN"
        vr = entry.vr
        if len(vr) != 2 or entry.vrs and len(entry.vrs) > 1:
            vr = self._ambiguous_vr(tag, entry, ds, row)
        return vr

    def _ambiguous_vr(self, tag: int, entry, ds: Dataset, row: int) -> str:
        vrs = entry.vrs
        if "OW" in vrs:
            return "OW"  # implicit VR little endian: OB-or-OW values are OW (PS3.5 A.1, 8.1.2)
        if "SS" in vrs and "US" in vrs:
            pr = ds.get(0x00280103) if (tag != 0x00280103 and 0x00280103 in ds) else None
            if pr == 1:
                return "SS"
            return "US"
        return vrs[0] if vrs else "UN"

    def _sequence(self, row: int, tag: int, ds: Dataset, implicit_inside: bool = False) -> DataElement:
        rows = self.rows()
        _, _, length, off, _, nxt, row_depth, flags = rows[row]
        undefined = length < 0
        e = lazy_element(tag, "SQ", None, True, None, undefined)
        src = self
        if nxt > row + 1 or undefined or length == 0:
            def load(row=row) -> Sequence:
                seq = Sequence()
                seq._parent = ds
                j = row + 1
                while j < nxt:
                    seq.append(Dataset._from_source(src, src.rows_of_item(j), ds))
                    j = rows[j][5]
                return seq
        else:
            # a defined-length sequence the scanner could not recognise (implicit VR, or UN
            # known to be SQ): scan its value now as a run of items
            implicit = bool(flags & K.IMPLICIT_BIT) or implicit_inside
            little = not (flags & K.BIG_BIT) or implicit_inside

            def load(row=row) -> Sequence:
                sub = _scan(src.arr, off, off + length, implicit, little, 0xFFFFFFFF, 1, src.path,
                            depth=src.depth + row_depth + 1, tag=tag)
                sub.buf = src.buf
                seq = Sequence()
                seq._parent = ds
                sub_rows = sub.rows()
                j = 0
                while j < sub.n:
                    seq.append(Dataset._from_source(sub, sub.rows_of_item(j), ds))
                    j = sub_rows[j][5]
                return seq
        e._seq_loader = load
        e._parent = ds
        return e


def _scan(arr: np.ndarray, start: int, end: int, implicit: bool, little: bool, stop_tag: int,
          root_kind: int, path: str | None, cap: int | None = None,
          max_depth: int = MAX_DEPTH, min_tag: int = 0, depth: int = 0, tag: int | None = None) -> DataSource:
    """Scan ``arr[start:end]``; ``depth`` is the nesting depth of the data scanned (for
    sequences found inside a value, so that the depth limit holds across scans)."""
    if max_depth - depth < 1:
        raise InvalidDicomError(K.STATUS_MESSAGES[3], path=path, offset=start, tag=tag)
    max_depth = max_depth - depth
    if cap is None:
        # a sequence's value scanned on its own holds few rows of its own (deeper ones grow it)
        cap = 64 if root_kind else max(64, min(4096, (end - start) // 48 + 16))
    while True:
        tab = np.empty((cap, 8), np.int64)
        top = np.empty((cap, 2), np.int64)
        warn = np.zeros(6, np.int64)
        n, status, err_pos, err_tag, stop_pos, ntop = K.scan(
            arr, start, end, implicit, little, stop_tag, min_tag, root_kind, max_depth, warn, tab, top)
        if status == 4:
            cap = min(cap * 4, (end - start) // 8 + 16)
            continue
        if status:
            msg = K.STATUS_MESSAGES.get(status, f"scanner status {status}")
            if status == 2:
                msg += f" ({end - err_pos} bytes left)"
            raise InvalidDicomError(msg, path=path, offset=int(err_pos), tag=int(err_tag) or None)
        src = DataSource(None, arr, path, tab, int(n))
        src.stop_pos = int(stop_pos)
        if ntop == n:  # no nested rows: top-level element i is row i
            src.top = dict(zip(top[:ntop, 0].tolist(), range(ntop)))
        else:
            src.top = dict(zip(top[:ntop, 0].tolist(), top[:ntop, 1].tolist()))
        src.ntop = int(ntop)
        if warn[0]:
            src.warnings.append(f"{int(warn[0])} item(s) longer than their sequence's length, first at byte "
                                f"{int(warn[1])}: the sequence length was extended")
        if warn[2]:
            src.warnings.append(f"{int(warn[2])} trailing NUL byte(s) after the last element, at byte "
                                f"{int(warn[3])}: ignored")
        if warn[4]:
            src.warnings.append(f"{int(warn[4])} value(s) of odd length (PS3.5 7.1.1 wants even), first "
                                f"element at byte {int(warn[5])}: read as they are")
        src.depth = depth
        return src


class _Incomplete(Exception):
    """A header read from the start of a file needs more of the file."""


#: A header-only read first reads this many bytes of a larger file.
HEADER_PREFIX = 64 << 10


def _read_prefix(source) -> tuple[bytes, np.ndarray, str, bool]:
    """``(bytes, array, path, whole)``: the first HEADER_PREFIX bytes of a file, and whether
    that is the whole file."""
    path = os.fspath(source)
    fd, size = _open_file(path)
    try:
        b = _read_upto(fd, HEADER_PREFIX)
    finally:
        os.close(fd)
    return b, np.frombuffer(b, np.uint8), path, size <= len(b)


def _open_file(path: str) -> tuple[int, int]:
    """``(fd, size)`` of a file opened for reading (os-level: no file object, no buffering
    layer, a few microseconds less per file); a directory is refused."""
    try:
        fd = os.open(path, _O_READ)
    except IsADirectoryError:
        raise _is_a_directory(path) from None
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        os.close(fd)
        raise _is_a_directory(path)
    return fd, st.st_size


def _read_upto(fd: int, n: int) -> bytes:
    """Up to ``n`` bytes from ``fd``, fewer only at the end of the file (short reads retried)."""
    b = os.read(fd, n)
    if len(b) < n:
        parts = [b]
        got = len(b)
        while got < n:
            more = os.read(fd, n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        b = b"".join(parts)
    return b


_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _is_a_directory(path: str) -> InvalidDicomError:
    return InvalidDicomError("is a directory, not a DICOM file (read the files in it one by one)", path=path)


def _read_source(source: Any) -> tuple[Any, np.ndarray, str | None]:
    """Get (buffer, uint8 array, path) for a path, bytes or binary file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        b = bytes(source) if not isinstance(source, bytes) else source
        return b, np.frombuffer(b, np.uint8), None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        fd, size = _open_file(path)
        try:
            if size >= MMAP_THRESHOLD:
                mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                # a memoryview, so that value slices (pixel data above all) are views of the
                # mapping, read from disk only when touched, never copies
                view = memoryview(mm)
                return view, np.frombuffer(view, np.uint8), path
            b = _read_upto(fd, size)  # as large as fstat said (a file still growing is cut there)
        finally:
            os.close(fd)
        return b, np.frombuffer(b, np.uint8), path
    if hasattr(source, "read"):
        b = source.read()
        name = getattr(source, "name", None)
        return b, np.frombuffer(b, np.uint8), str(name) if isinstance(name, str) else None
    raise TypeError(f"cannot read DICOM from {type(source).__name__}: give a path, bytes or a binary file")


def _looks_explicit(arr: np.ndarray, pos: int, end: int) -> bool:
    if pos + 6 > end:
        return False
    return arr[pos + 4:pos + 6].tobytes() in _KNOWN_VRS


_KNOWN_VRS = frozenset(v.encode() for v in "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ "
                       "SS ST SV TM UC UI UL UN UR US UT UV".split())


def _guess_encoding(arr: np.ndarray, pos: int, end: int, path: str | None = None) -> tuple[bool, bool]:
    """(implicit, little) for a data set without meta, from its first element."""
    if pos + 8 > end:
        raise InvalidDicomError(f"the data ends {end - pos} bytes after the start of the data set, too short "
                                "to hold an element (file truncated?)", path=path, offset=pos)
    g_le = int(arr[pos]) | (int(arr[pos + 1]) << 8)
    g_be = (int(arr[pos]) << 8) | int(arr[pos + 1])
    explicit = _looks_explicit(arr, pos, end)
    if explicit:
        little = g_le <= g_be or g_le in (0x0008, 0x0002) or g_le < 0x0100
        if g_be in (0x0008, 0x0002, 0x0010) and g_le not in (0x0008, 0x0002, 0x0010):
            little = False
        return False, little
    return True, True


def _is_plausible_first(arr: np.ndarray, pos: int, end: int, implicit: bool, little: bool) -> bool:
    if pos + 8 > end:
        return False
    if implicit:
        return not _looks_explicit(arr, pos, end)
    return _looks_explicit(arr, pos, end)


def read(source: Union[PathLike, bytes, BinaryIO], *, stop_before_pixels: bool = False,
         specific_tags: Iterable[TagLike] | None = None, force: bool = False,
         max_depth: int = MAX_DEPTH) -> Dataset:
    """Read a DICOM file (Part 10 or a raw data set) into a lazy :class:`Dataset`.

    Parameters
    ----------
    source
        A path, the bytes of a file, or an open binary file.
    stop_before_pixels
        Stop at (7FE0,0010) Pixel Data: a fast header-only read.
    specific_tags
        Keep only these elements (keywords, tag strings or ints); Specific Character Set is
        always kept so that text decodes correctly.
    force
        Read data without the ``DICM`` prefix and File Meta Information even when it does
        not look like DICOM (the encoding is guessed from the first element).
    max_depth
        Limit on the nesting of sequences.

    Returns
    -------
    Dataset
        With ``file_meta``, ``preamble``, ``filename`` and ``read_transfer_syntax`` set.

    Raises
    ------
    InvalidDicomError
        Naming the file, the byte offset and the element, when the bytes are not valid DICOM
        (a folder given as ``source`` too).
    OSError
        When the file cannot be opened (``FileNotFoundError``, ``PermissionError``, ...).
    TypeError
        When ``source`` is neither a path, bytes nor a binary file.

    Examples
    --------
    >>> from pacsnb.samples import write_sample_file
    >>> ds = read(write_sample_file("/tmp/pacsnb-doc-read2.dcm"))
    >>> ds.file_meta.TransferSyntaxUID.name
    'Explicit VR Little Endian'
    """
    if stop_before_pixels and isinstance(source, (str, os.PathLike)):
        # a header read needs the start of the file only: read HEADER_PREFIX bytes first
        buf, arr, path, whole = _read_prefix(source)
        if whole:
            return _read_array(buf, arr, path, stop_before_pixels=True, specific_tags=specific_tags,
                               force=force, max_depth=max_depth)
        try:
            return _read_array(buf, arr, path, stop_before_pixels=True, specific_tags=specific_tags,
                               force=force, max_depth=max_depth, partial=True)
        except _Incomplete:
            pass
    buf, arr, path = _read_source(source)
    return _read_array(buf, arr, path, stop_before_pixels=stop_before_pixels,
                       specific_tags=specific_tags, force=force, max_depth=max_depth)


def read_bytes(data: bytes, *, transfer_syntax: str | None = None, **kwargs: Any) -> Dataset:
    """Read a data set from bytes (a Part 10 file, or a bare data set in ``transfer_syntax``).

    Parameters
    ----------
    data
        The bytes.
    transfer_syntax
        The transfer syntax of a bare data set (no preamble, no meta). ``None``: the bytes
        are read as :func:`read` with ``force=True`` reads them (a Part 10 file, or a
        data set whose encoding is guessed from its first element).
    **kwargs
        ``stop_before_pixels``, ``specific_tags``, ``max_depth``: as for :func:`read`.

    Returns
    -------
    Dataset
        A lazy data set, as :func:`read` gives.

    Raises
    ------
    InvalidDicomError
        When the bytes are not a valid data set.

    Examples
    --------
    >>> read_bytes(b"\\x10\\x00\\x10\\x00\\x04\\x00\\x00\\x00DOE ", transfer_syntax="1.2.840.10008.1.2").PatientName
    'DOE'
    """
    arr = np.frombuffer(data, np.uint8)
    kwargs.pop("force", None)  # bytes are always read as force=True would
    if transfer_syntax is None:
        return _read_array(data, arr, None, force=True, **kwargs)
    ds = _read_dataset(data, arr, None, 0, len(arr), str(transfer_syntax), **kwargs)
    ds.__dict__["file_meta"] = Dataset()  # as read() gives for data without meta
    return ds


def _read_array(buf, arr: np.ndarray, path: str | None, *, stop_before_pixels: bool = False,
                specific_tags=None, force: bool = False, max_depth: int = MAX_DEPTH,
                partial: bool = False) -> Dataset:
    end = len(arr)
    preamble = None
    pos = 0
    if end >= 132 and buf[128:132] == b"DICM":
        preamble = bytes(buf[:128])
        pos = 132
    elif end >= 4 and buf[:4] == b"DICM":
        pos = 4  # "DICM" without a preamble (seen in the wild)
    warnings: list[str] = []
    meta = None
    ts = None
    if pos + 8 <= end and buf[pos:pos + 2] == b"\x02\x00":
        meta, pos, meta_warn = _read_meta(buf, arr, pos, end, path)
        warnings += meta_warn
        ts = meta.get(0x00020010)
        if ts is not None:
            ts = str(ts).strip("\x00 ")
    elif preamble is None and not force:
        # no DICM prefix and no meta: accept only if it looks like a data set
        if end == 0:
            raise InvalidDicomError("the file is empty", path=path, offset=0)
        if end < 8 or not _plausible_raw(arr, end):
            raise InvalidDicomError(
                "not a DICOM file: no 'DICM' prefix at byte 128 and no data set at the start "
                "(pass force=True to try anyway)", path=path, offset=0)
    elif preamble is not None and pos >= end:
        raise InvalidDicomError("the file ends right after the 'DICM' prefix", path=path, offset=pos)
    if ts is None:
        if preamble is not None and meta is None:
            warnings.append("no File Meta Information after the DICM prefix")
        if pos >= end:
            implicit, little = True, True
        else:
            implicit, little = _guess_encoding(arr, pos, end, path)
        ts = _IMPLICIT_LE if implicit else (_EXPLICIT_LE if little else _EXPLICIT_BE)
        if meta is not None:
            warnings.append(f"no Transfer Syntax UID in the file meta: guessed {UID(ts).name}")
        elif preamble is None:
            warnings.append(f"no 'DICM' prefix and no File Meta Information: read as a bare data set "
                            f"in {UID(ts).name}")
    ds = _read_dataset(buf, arr, path, pos, end, ts, stop_before_pixels=stop_before_pixels,
                       specific_tags=specific_tags, max_depth=max_depth, warnings=warnings, partial=partial)
    ds.__dict__["file_meta"] = meta if meta is not None else Dataset()
    ds.__dict__["preamble"] = preamble
    ds.__dict__["filename"] = path
    for w in warnings:
        log.warning("%s: %s", path or "<bytes>", w)
    ds.__dict__["read_warnings"] = warnings
    return ds


def _plausible_raw(arr: np.ndarray, end: int) -> bool:
    g = int(arr[0]) | (int(arr[1]) << 8)
    g_be = (int(arr[0]) << 8) | int(arr[1])
    if _looks_explicit(arr, 0, end):
        return g in (0x0002, 0x0008) or g_be in (0x0002, 0x0008) or g < 0x0100
    # implicit: group 0008 with a small element and a sane length
    if g not in (0x0008, 0x0002, 0x0010, 0x0018, 0x0020, 0x0028):
        return False
    length = int(arr[4]) | (int(arr[5]) << 8) | (int(arr[6]) << 16) | (int(arr[7]) << 24)
    return length == 0xFFFFFFFF or 8 + length <= end


def _read_meta(buf, arr: np.ndarray, pos: int, end: int, path: str | None):
    warnings: list[str] = []
    if not _looks_explicit(arr, pos, end):
        # some writers put the meta in implicit VR: tolerate it, as others do
        warnings.append("File Meta Information is not in explicit VR little endian")
        implicit = True
    else:
        implicit = False
    src = _scan(arr, pos, end, implicit, True, 0x00030000, 0, path, min_tag=0x00020000)
    src.buf = buf
    rows = src.top
    meta = Dataset._from_source(src, rows)
    stop = int(src.tab[max(rows.values()), K.COL_END]) if rows else pos
    gl_row = rows.get(0x00020000)
    if gl_row is not None and src.tab[gl_row, K.COL_LENGTH] == 4:
        gl_off = int(src.tab[gl_row, K.COL_OFFSET])
        gl = int.from_bytes(buf[gl_off:gl_off + 4], "little")
        if gl_off + 4 + gl != stop:
            warnings.append(f"File Meta Information Group Length says {gl} but the group is "
                            f"{stop - gl_off - 4} bytes long")
    return meta, stop, warnings


def _read_dataset(buf, arr: np.ndarray, path: str | None, pos: int, end: int, ts: str, *,
                  stop_before_pixels: bool = False, specific_tags=None, max_depth: int = MAX_DEPTH,
                  warnings: list[str] | None = None, force: bool = False, partial: bool = False) -> Dataset:
    if warnings is None:
        warnings = []
    deflated_at = None
    implicit, little, deflated = data_set_encoding(ts)
    if deflated:
        deflated_at = pos
        buf, arr, end = _inflate(arr, pos, end, path)
        pos = 0
    elif ts != _EXPLICIT_LE and not UID(ts).is_transfer_syntax and not UID(ts).is_valid:
        warnings.append(f"Transfer Syntax UID {ts!r} is not a valid UID; reading as explicit VR little endian")
    # A wrong transfer syntax in the meta is common: check the first element and say so.
    if pos + 8 <= end and not _is_plausible_first(arr, pos, end, implicit, little):
        g_imp, g_little = _guess_encoding(arr, pos, end, path)
        if (g_imp, g_little) != (implicit, little):
            warnings.append(
                f"the data set is not encoded as the meta's transfer syntax {UID(ts).name or ts} says: "
                f"read as {'implicit' if g_imp else 'explicit'} VR {'little' if g_little else 'big'} endian")
            implicit, little = g_imp, g_little
    stop_tag = PIXEL_DATA if stop_before_pixels else 0xFFFFFFFF
    try:
        src = _scan(arr, pos, end, implicit, little, stop_tag, 0, path, max_depth=max_depth)
    except InvalidDicomError as exc:
        if partial:
            raise _Incomplete from None
        if deflated_at is None:
            raise
        # offsets in the inflated bytes are not file offsets: name both
        raise InvalidDicomError(f"{exc.message} (at byte {exc.offset} of the inflated data set)", path=path,
                                offset=deflated_at, tag=exc.tag) from None
    if partial and src.stop_pos >= end:
        raise _Incomplete  # the data set may go on past the part read: read it all
    src.buf = buf
    warnings += src.warnings
    rows = src.top
    if len(rows) != src.ntop:
        warnings.append("the data set repeats a tag; the last occurrence is kept")
    if specific_tags is not None:
        want = {as_tag(t) for t in specific_tags}
        want.add(0x00080005)
        rows = {t: r for t, r in rows.items() if t in want}
    ds = Dataset._from_source(src, rows)
    ds.__dict__["read_transfer_syntax"] = UID(ts)
    ds.__dict__["is_little_endian"] = little
    ds.__dict__["is_implicit_VR"] = implicit
    return ds


def _inflate(arr: np.ndarray, pos: int, end: int, path: str | None):
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    data = arr[pos:end].tobytes()
    out = bytearray()
    total = 0
    chunk = data
    try:
        while chunk:
            piece = d.decompress(chunk, 1 << 22)
            out += piece
            total += len(piece)
            if total > MAX_INFLATED:
                raise InvalidDicomError(f"deflated data set inflates to more than {MAX_INFLATED} bytes",
                                        path=path, offset=pos)
            chunk = d.unconsumed_tail
        out += d.flush()
        if not d.eof:
            raise InvalidDicomError("the deflated data set ends before its deflate stream does (file truncated?)",
                                    path=path, offset=end)
    except zlib.error as exc:
        raise InvalidDicomError(f"deflated data set is corrupt ({exc})", path=path, offset=pos) from None
    view = memoryview(out)  # no second copy: values are views of the inflated bytes
    return view, np.frombuffer(view, np.uint8), len(out)
