"""Folders of DICOM files as pandas DataFrames: :func:`scan`.

``scan`` reads only the headers of the files (never Pixel Data), many files per call of a
numba kernel, and decodes only the values asked for. It returns one row per instance,
columns named by DICOM keyword, plus ``path``, ``file_size``, ``transfer_syntax`` and
``sop_class_name``.

Value to dtype rules (by the data dictionary's VR and VM of each column)
------------------------------------------------------------------------

==========================  ===============================================================
VR (VM 1)                   column
==========================  ===============================================================
DA                          ``datetime64[us]``; NaT when absent, empty, a range or not a
                            complete date (``YYYYMMDD``; the old ``YYYY.MM.DD`` is read too)
DT                          ``datetime64[us]``, converted to UTC when it has an offset; NaT
                            when absent or coarser than a day (``"2024"``, ``"202401"``)
TM                          ``timedelta64[us]`` since midnight (``df.StudyDate +
                            df.StudyTime`` is a ``datetime64``); NaT when absent or invalid
IS, US, SS, UL, SL, SV, UV  ``Int64`` (pandas nullable integer)
DS, FL, FD                  ``Float64`` (pandas nullable float)
PN, UI, CS, LO, SH, ...     ``string`` (pandas nullable string; PN as its full text with
                            its ``=`` groups, padding stripped); ``""`` when the element is
                            present and empty, ``<NA>`` when it is absent
AT                          ``string``, ``"GGGG,EEEE"``
OB, OW, UN, ...             ``object`` holding the value bytes as stored
==========================  ===============================================================

A keyword whose dictionary VM can exceed 1 (``ImageType``, ``PixelSpacing``,
``ImagePositionPatient``, ``WindowCenter``, ...) gives an ``object`` column of tuples of
plain Python values (``int``, ``float``, ``str``), ``()`` for an empty element and
``None`` for an absent one. A file holding several values in a single-valued element keeps
them all in a text column (joined with backslashes) but gives ``<NA>`` in a numeric or
date column. A number that does not parse is ``<NA>``. Elements not in the dictionary
(private ones, with ``columns="all"``) give ``object`` columns of plain values, tuples
when multi-valued. Sequences (SQ) are not columns.

Broken and non-DICOM files are skipped: their paths and the reasons are in
``df.attrs["errors"]`` and one :class:`ScanWarning` says how many there were.

Examples
--------
>>> import pacsnb
>>> from pacsnb.samples import make_ct_series, write_cohort
>>> _ = write_cohort("/tmp/pacsnb-doc-scan", make_ct_series(n_slices=3, rows=16, columns=16), progress=False)
>>> df = pacsnb.cohort.scan("/tmp/pacsnb-doc-scan", progress=False)
>>> len(df), df["Modality"].iloc[0], str(df["StudyDate"].dtype), str(df["Rows"].dtype)
(3, 'CT', 'datetime64[us]', 'Int64')
"""
from __future__ import annotations

import atexit
import datetime as _dt
import json
import logging
import multiprocessing
import os
import stat
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

from pacsnb.cohort import _scan_kernels as SK
from pacsnb.dicom import charset as _charset
from pacsnb.dicom import dictionary as _dict
from pacsnb.dicom.convert import decode_value
from pacsnb.dicom.tag import Tag, as_tag
from pacsnb.dicom.uid import UID, all_uids
from pacsnb.dicom.values import DA, DS, DT, IS, TM, to_datetime64
from pacsnb.dicom.vr import BULK_VRS, CHARSET_VRS
from pacsnb.errors import PacsnbError
from pacsnb.io import _kernels as IOK
from pacsnb.io.reader import MAX_DEPTH, data_set_encoding, read

__all__ = ["scan", "DEFAULT_COLUMNS", "CACHE_NAME", "ScanWarning", "list_files", "shutdown_pool"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: The columns :func:`scan` gives by default (plus ``path``, ``file_size``,
#: ``transfer_syntax`` and ``sop_class_name``): identification of the patient, study,
#: series and instance, dates and times, modality, equipment, geometry and image size.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "PatientAge",
    "StudyInstanceUID", "StudyID", "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription",
    "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "SeriesDate", "SeriesTime",
    "Modality", "BodyPartExamined", "Manufacturer", "ManufacturerModelName", "InstitutionName",
    "SOPClassUID", "SOPInstanceUID", "InstanceNumber", "AcquisitionNumber", "ImageType",
    "AcquisitionDate", "AcquisitionTime", "ContentDate", "ContentTime",
    "FrameOfReferenceUID", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
    "SliceThickness", "SliceLocation",
    "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsAllocated", "BitsStored", "PixelRepresentation", "RescaleIntercept", "RescaleSlope",
    "WindowCenter", "WindowWidth",
)

#: The file name of the incremental-scan cache kept in a scanned folder.
CACHE_NAME = ".pacsnb-scan.parquet"
#: The leading bytes read of each file; a header longer than this is read whole.
HEADER_PREFIX = 64 << 10
#: Files per numba call at most (the largest chunk taken by a helper process; the default Dask partition).
CHUNK = 512
EXTRA_COLUMNS = ("path", "file_size", "transfer_syntax", "sop_class_name")
#: Fewer files than this are scanned in this process even with ``workers`` (the helpers'
#: round trips cost more than they save on a few hundred files).
POOL_MIN_FILES = 512

_NAT = np.iinfo(np.int64).min
_EPOCH_ORD = _dt.date(1970, 1, 1).toordinal()
_US_PER_DAY = 86_400_000_000
_SOP_CLASS = 0x00080016
_CHARSET_TAG = 0x00080005
_PIXEL_REP = 0x00280103
_TS_TAG = 0x00020010


class ScanWarning(UserWarning):
    """Warned by :func:`scan` when files were skipped (``df.attrs["errors"]`` lists them).

    Examples
    --------
    >>> import warnings
    >>> issubclass(ScanWarning, UserWarning)
    True
    """


# -- columns ------------------------------------------------------------------------------------

_INT_VRS = frozenset({"IS", "US", "SS", "UL", "SL", "SV", "UV"})
_FLOAT_VRS = frozenset({"DS", "FL", "FD", "OF", "OD"})


@dataclass(frozen=True, slots=True)
class _Col:
    name: str
    tag: int
    vr: str       # dictionary VR ("" when unknown)
    kind: str     # str int float date datetime time tuple bytes auto
    item: str     # kind of the items of a tuple column: str int float


def _kind_of(vr: str, vm: str) -> tuple[str, str]:
    if vr in BULK_VRS or vr == "UN":
        return "bytes", ""
    if vr in _INT_VRS:
        item = "int"
    elif vr in _FLOAT_VRS:
        item = "float"
    else:
        item = "str"
    if vm != "1":
        return "tuple", item
    if vr == "DA":
        return "date", ""
    if vr == "DT":
        return "datetime", ""
    if vr == "TM":
        return "time", ""
    return item, ""


def _tag_name(tag: int) -> str:
    return f"{tag >> 16:04X},{tag & 0xFFFF:04X}"


def _column_for_tag(tag: int, name: str | None = None) -> _Col:
    entry = _dict.lookup(tag) if not (tag >> 16) & 1 else None
    if entry is None or entry.vr in ("NONE",):
        return _Col(name or _tag_name(tag), tag, "", "auto", "")
    if entry.vr == "SQ":
        raise ValueError(f"{entry.keyword or _tag_name(tag)} is a sequence (SQ): sequences are not DataFrame "
                         "columns; read the files with pacsnb.read to walk their items")
    kw = entry.keyword
    if name is None:
        name = kw if kw and _dict.tag_for_keyword(kw) == tag else _tag_name(tag)
    kind, item = _kind_of(entry.vr, entry.vm)
    return _Col(name, tag, entry.vr, kind, item)


def _resolve(columns: Any) -> tuple[tuple[_Col, ...], bool]:
    """``(columns, all_mode)`` from the ``columns`` argument of :func:`scan`."""
    if columns is None:
        columns = DEFAULT_COLUMNS
    if isinstance(columns, str):
        if columns == "all":
            return (), True
        columns = [columns]
    cols = []
    seen = set()
    for c in columns:
        if isinstance(c, str) and c in EXTRA_COLUMNS:
            continue  # always there
        try:
            tag = int(as_tag(c))
        except (PacsnbError, ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"columns: {c!r} is neither a DICOM keyword nor a tag ({exc}); give keywords "
                             "such as 'PatientID', tags such as '0010,0020' or 0x00100020, or 'all'") from None
        if tag >> 16 == 0x7FE0:
            raise ValueError("columns: Pixel Data is not a column (scan reads headers only); "
                             "use pacsnb.read(path).pixel_array or pacsnb.open_series")
        if tag in seen:
            continue
        seen.add(tag)
        cols.append(_column_for_tag(tag))
    return tuple(cols), False


@dataclass(frozen=True, slots=True)
class _Spec:
    cols: tuple[_Col, ...]
    all_mode: bool

    def want(self) -> np.ndarray:
        tags = {c.tag for c in self.cols} | {_SOP_CLASS, _CHARSET_TAG, _PIXEL_REP, _TS_TAG}
        return np.array(sorted(tags), np.int64)


# -- values to cells ----------------------------------------------------------------------------

def _plain(x: Any) -> Any:
    t = type(x)
    if t is str or t is int or t is float:
        return x
    if isinstance(x, IS) or isinstance(x, (bool, np.integer)):
        return int(x)
    if isinstance(x, (DS, np.floating)):
        return float(x)
    if isinstance(x, Tag):
        return _tag_name(int(x))
    if isinstance(x, str):
        return str.__str__(x)
    if isinstance(x, (bytes, memoryview)):
        return bytes(x)
    return x


def _is_multi(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


def _cell_str(v: Any):
    if v is None:
        return None
    if type(v) is str:
        return v
    if _is_multi(v):
        return "\\".join(str(_plain(x)) for x in v)
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).decode("latin-1")
    p = _plain(v)
    return p if isinstance(p, str) else str(p)


def _cell_int(v: Any):
    if v is None:
        return None
    t = type(v)
    if t is int or t is IS:
        return int(v)
    if _is_multi(v):
        return _cell_int(v[0]) if len(v) == 1 else None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return int(v) if float(v).is_integer() else None
    if isinstance(v, str):
        s = v.strip(" \x00")
        if not s:
            return None
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            return int(f) if f.is_integer() else None
    return None


def _cell_float(v: Any):
    if v is None:
        return None
    t = type(v)
    if t is float or t is DS or t is int:
        return float(v)
    if _is_multi(v):
        return _cell_float(v[0]) if len(v) == 1 else None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        s = v.strip(" \x00")
        if not s:
            return None
        try:
            return float(s)
        except ValueError:
            return None
    return None


def _cell_date(v: Any):
    if v is None or _is_multi(v):
        return _NAT
    if not isinstance(v, DA):
        if not isinstance(v, str):
            return _NAT
        v = DA(v)
    d = v.value
    if d is None:
        return _NAT
    return (d.toordinal() - _EPOCH_ORD) * _US_PER_DAY


def _cell_datetime(v: Any):
    if v is None or _is_multi(v):
        return _NAT
    if not isinstance(v, DT):
        if not isinstance(v, str):
            return _NAT
        v = DT(v)
    if v.precision in (None, "year", "month"):
        return _NAT
    x = to_datetime64(v)
    return int(x.astype("datetime64[us]").astype(np.int64))


def _cell_time(v: Any):
    if v is None or _is_multi(v):
        return _NAT
    if not isinstance(v, TM):
        if not isinstance(v, str):
            return _NAT
        v = TM(v)
    t = v.value
    if t is None:
        return _NAT
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


_ITEM = {"str": lambda x: _cell_str(x) if x is not None else "", "int": _cell_int, "float": _cell_float}


def _cell_tuple(v: Any, item: str):
    if v is None:
        return None
    conv = _ITEM[item]
    if _is_multi(v):
        return tuple([conv(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)])
    if isinstance(v, str) and v == "":
        return ()
    if isinstance(v, (bytes, memoryview)):
        return (bytes(v),)
    return (conv(v),)


def _cell_bytes(v: Any):
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        return v.tobytes()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    return _cell_auto(v)


def _cell_auto(v: Any):
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        if v.dtype == np.uint8:
            return v.tobytes()
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x) for x in v)
    return _plain(v)


_CONVERT = {"str": _cell_str, "int": _cell_int, "float": _cell_float, "date": _cell_date,
            "datetime": _cell_datetime, "time": _cell_time, "bytes": _cell_bytes, "auto": _cell_auto}


def _converter(col: _Col):
    if col.kind == "tuple":
        item = col.item
        return lambda v: _cell_tuple(v, item)
    return _CONVERT[col.kind]


# -- reading a chunk of files ----------------------------------------------------------------------

_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read_heads(paths: Sequence[str]):
    """The leading bytes of each file: ``(blobs, sizes, mtimes, whole, errors)``; unreadable
    files get ``None`` blobs and an entry in ``errors``."""
    blobs: list[bytes | None] = []
    sizes: list[int] = []
    mtimes: list[int] = []
    whole: list[bool] = []
    errors: list[tuple[str, str]] = []
    for p in paths:
        try:
            fd = os.open(p, _O_READ)
        except OSError as exc:
            errors.append((p, f"cannot open: {exc.strerror or exc}"))
            blobs.append(None), sizes.append(0), mtimes.append(0), whole.append(True)
            continue
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                errors.append((p, _IS_A_DIRECTORY))
                blobs.append(None), sizes.append(0), mtimes.append(0), whole.append(True)
                continue
            size = st.st_size
            want = size if size < HEADER_PREFIX else HEADER_PREFIX
            b = os.read(fd, want)
            while len(b) < want:
                more = os.read(fd, want - len(b))
                if not more:
                    break
                b += more
        except OSError as exc:
            errors.append((p, f"cannot read: {exc.strerror or exc}"))
            blobs.append(None), sizes.append(0), mtimes.append(0), whole.append(True)
            continue
        finally:
            os.close(fd)
        blobs.append(b)
        sizes.append(size)
        mtimes.append(st.st_mtime_ns)
        whole.append(len(b) >= size)
    return blobs, sizes, mtimes, whole, errors


_SPECIAL: tuple[np.ndarray, np.ndarray] | None = None


def _special_syntaxes() -> tuple[np.ndarray, np.ndarray]:
    """Transfer syntaxes whose data set the kernel does not read itself (deflated ones)."""
    global _SPECIAL
    if _SPECIAL is None:
        uids = [u for u in all_uids("Transfer Syntax")
                if data_set_encoding(u) not in ((False, True, False), (True, True, False), (False, False, False))
                or (data_set_encoding(u) != (False, True, False)
                    and u not in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.2"))]
        width = max((len(u) for u in uids), default=1)
        arr = np.zeros((max(1, len(uids)), width), np.uint8)
        lens = np.full(max(1, len(uids)), -1, np.int64)
        for i, u in enumerate(uids):
            arr[i, :len(u)] = np.frombuffer(u.encode(), np.uint8)
            lens[i] = len(u)
        _SPECIAL = (arr, lens)
    return _SPECIAL


_VR_NAMES: dict[int, str] = {}


def _vr_name(code: int) -> str:
    s = _VR_NAMES.get(code)
    if s is None:
        s = _VR_NAMES[code] = chr(code >> 8) + chr(code & 0xFF)
    return s


def _implicit_vr(tag: int, pixel_rep: int) -> str:
    if (tag >> 16) & 1:
        el = tag & 0xFFFF
        return "LO" if 0x10 <= el <= 0xFF else "UN"
    entry = _dict.lookup(tag)
    if entry is None:
        return "UN"
    if len(entry.vrs) > 1 and "SS" in entry.vrs and "US" in entry.vrs:
        return "SS" if pixel_rep == 1 else "US"
    return entry.vr if entry.vr != "NONE" else "UN"


def _un_vr(tag: int) -> str:
    """The VR to decode an element written as UN with (PS3.5 6.2.2)."""
    if (tag >> 16) & 1:
        return "LO" if 0x10 <= (tag & 0xFFFF) <= 0xFF else "UN"
    entry = _dict.lookup(tag)
    if entry is None or entry.vr in ("UN", "NONE"):
        return "UN"
    return entry.vr


class _Chunk:
    """The rows of one chunk of files: plain lists, cheap to pickle between processes."""

    __slots__ = ("path", "file_size", "mtime_ns", "transfer_syntax", "sop_class", "cells", "kinds",
                 "errors", "value_errors")

    def __init__(self) -> None:
        self.path: list[str] = []
        self.file_size: list[int] = []
        self.mtime_ns: list[int] = []
        self.transfer_syntax: list[str | None] = []
        self.sop_class: list[str | None] = []
        self.cells: dict[str, list] = {}
        self.kinds: dict[str, tuple[str, str]] = {}
        self.errors: list[tuple[str, str]] = []
        self.value_errors: list[tuple[str, str, str]] = []


def _decode(vr: str, raw: bytes, little: bool, charsets):
    if vr in BULK_VRS or vr == "UN":
        return raw
    return decode_value(vr, raw, little, charsets if vr in CHARSET_VRS else None)


def _scan_chunk(paths: Sequence[str], spec: _Spec) -> _Chunk:
    """Scan a chunk of files into a :class:`_Chunk` (the unit of work of every engine)."""
    out = _Chunk()
    paths = [os.fspath(p) for p in paths]
    blobs, sizes, mtimes, whole, read_errors = _read_heads(paths)
    out.errors.extend(read_errors)
    ok_idx = [i for i, b in enumerate(blobs) if b is not None]
    if not ok_idx:
        _finish_kinds(out, spec)
        return out
    lens = np.array([len(blobs[i]) for i in ok_idx], np.int64)
    ends = np.cumsum(lens)
    starts = ends - lens
    buf = b"".join([blobs[i] for i in ok_idx])
    del blobs
    arr = np.frombuffer(buf, np.uint8) if buf else np.zeros(1, np.uint8)
    want = np.empty(0, np.int64) if spec.all_mode else spec.want()
    special, special_len = _special_syntaxes()
    elems, sel, status, encoding, _stops = SK.scan_files(arr, starts, ends, np.array([whole[i] for i in ok_idx]),
                                                         want, spec.all_mode, special, special_len, MAX_DEPTH)
    status = status.tolist()
    encoding = encoding.tolist()
    e_file, e_tag, e_vr, e_off, e_len, e_kind = (elems[:, k].tolist() for k in range(6))
    want_list = want.tolist()
    want_pos = {t: j for j, t in enumerate(want_list)}
    sel_l = sel.tolist()

    fallback: list[int] = []
    order: list[int] = []  # positions in ok_idx of the rows kept, in path order
    datasets: dict[int, Any] = {}
    for k, i in enumerate(ok_idx):
        if status[k] == SK.OK:
            order.append(k)
            continue
        try:
            ds = read(paths[i], stop_before_pixels=True)
        except (PacsnbError, OSError, ValueError, OverflowError, MemoryError) as exc:
            msg = str(exc)
            if msg.startswith(paths[i] + ": "):
                msg = msg[len(paths[i]) + 2:]  # the path is the other half of the pair
            out.errors.append((paths[i], msg))
            continue
        datasets[k] = ds
        fallback.append(k)
        order.append(k)
    if spec.all_mode:
        rows_by_file: dict[int, dict[int, int]] = {}
        for r, f in enumerate(e_file):
            rows_by_file.setdefault(f, {})[e_tag[r]] = r  # the last of a repeated tag wins
    else:
        rows_by_file = {}

    def row_of(k: int, tag: int) -> int:
        if spec.all_mode:
            return rows_by_file.get(k, _NO_ROWS).get(tag, -1)
        return sel_l[k][want_pos[tag]]

    n = len(order)
    # per-file context: charsets, pixel representation, transfer syntax, SOP class
    charsets: list[tuple[str, ...] | None] = [None] * n
    pixel_rep: list[int] = [0] * n
    cs_memo: dict[bytes, tuple[str, ...]] = {}
    for pos, k in enumerate(order):
        i = ok_idx[k]
        out.path.append(paths[i])
        out.file_size.append(sizes[i])
        out.mtime_ns.append(mtimes[i])
        ds = datasets.get(k)
        if ds is None:
            r = row_of(k, _CHARSET_TAG)
            if r >= 0:
                cs_raw = buf[e_off[r]:e_off[r] + e_len[r]]
                cs = cs_memo.get(cs_raw)
                if cs is None:
                    cs = cs_memo[cs_raw] = _charset.normalize_charsets(cs_raw.decode("latin-1"))
                charsets[pos] = cs
            r = row_of(k, _PIXEL_REP)
            if r >= 0 and e_len[r] == 2:
                little = not (e_kind[r] & IOK.BIG_BIT)
                pixel_rep[pos] = int.from_bytes(buf[e_off[r]:e_off[r] + 2], "little" if little else "big")
            r = row_of(k, _TS_TAG)
            out.transfer_syntax.append(buf[e_off[r]:e_off[r] + e_len[r]].decode("latin-1").strip(" \x00")
                                       if r >= 0 else None)
            r = row_of(k, _SOP_CLASS)
            out.sop_class.append(buf[e_off[r]:e_off[r] + e_len[r]].decode("latin-1").strip(" \x00")
                                 if r >= 0 else None)
        else:
            ts = ds.read_transfer_syntax
            out.transfer_syntax.append(str(ts) if ts is not None else None)
            sc = ds.get(_SOP_CLASS)
            out.sop_class.append(_cell_str(sc) if sc is not None else None)

    out.sop_class = [_sop_class_name(u) for u in out.sop_class]  # names, resolved here (in parallel)
    cols = spec.cols
    if spec.all_mode:
        cols = _discover_columns(order, ok_idx, rows_by_file, e_tag, e_vr, datasets)

    fb_pos = [pos for pos, k in enumerate(order) if k in datasets]
    if spec.all_mode:
        # files with the same character set and pixel representation decode equal bytes alike:
        # one memo per column, keyed by (context, VR and byte order, bytes)
        contexts: dict[tuple, int] = {}
        ctx = [contexts.setdefault((charsets[pos], pixel_rep[pos]), len(contexts)) << 40 for pos in range(n)]
        e_key = [(v | (f << 16)) for v, f in zip(e_vr, e_kind)]
    if not spec.all_mode and n:
        # equal values are decoded once: the kernel groups them exactly, by their bytes
        rep = SK.group_values(arr, elems, sel, np.array(order, np.int64),
                              np.array([want_pos[_CHARSET_TAG], want_pos[_PIXEL_REP]], np.int64))
        own = np.arange(n)
    for col in cols:
        conv = _converter(col)
        missing = conv(None)
        tag = col.tag
        if not spec.all_mode:
            j = want_pos[tag]
            reps = rep[:, j] if n else np.empty(0, np.int64)
            lookup = np.empty(n + 1, dtype=object)
            lookup[n] = missing  # rep -1 (absent) picks the last entry
            for pos in np.flatnonzero(reps == own).tolist() if n else ():
                r = sel_l[order[pos]][j]
                lookup[pos] = _cell_of(col, conv, tag, e_vr[r], e_kind[r], e_len[r],
                                       buf[e_off[r]:e_off[r] + e_len[r]] if e_len[r] > 0 else b"",
                                       charsets[pos], pixel_rep[pos], out, paths[ok_idx[order[pos]]])
            cells = lookup[reps].tolist()
        else:
            rows = [rows_by_file.get(k, _NO_ROWS).get(tag, -1) for k in order]
            cells = [missing] * n
            memo: dict[tuple[int, bytes], Any] = {}
            for pos in range(n):
                r = rows[pos]
                if r < 0:
                    continue
                off = e_off[r]
                ln = e_len[r]
                raw = buf[off:off + ln] if ln > 0 else b""
                key = (e_key[r] | ctx[pos], raw)
                cell = memo.get(key, _MISS)
                if cell is _MISS:
                    cell = _cell_of(col, conv, tag, e_vr[r], e_kind[r], ln, raw, charsets[pos], pixel_rep[pos],
                                    out, paths[ok_idx[order[pos]]])
                    memo[key] = cell
                cells[pos] = cell
        if fb_pos:
            for pos in fb_pos:
                v = _fallback_value(datasets[order[pos]], tag)
                if v is _ABSENT:
                    continue
                try:
                    cells[pos] = conv(v)
                except (PacsnbError, ValueError, TypeError, OverflowError) as exc:
                    out.value_errors.append((paths[ok_idx[order[pos]]], col.name, str(exc)))
        out.cells[col.name] = _pack(cells, col.kind)
        out.kinds[col.name] = (col.kind, col.item)
    return out


_ABSENT = object()
_MISS = object()
_NO_ROWS: dict[int, int] = {}


def _fast_text(raw: bytes):
    """ASCII text without backslashes or escapes, padding stripped; else ``None``."""
    try:
        t = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if "\\" in t or "\x1b" in t:
        return None
    return t.strip(" \x00")


def _fast_ui(raw: bytes):
    t = _fast_text(raw)
    return _MISS if t is None else t


def _fast_is(raw: bytes):
    t = _fast_text(raw)
    if t is None:
        return _MISS
    if not t:
        return None
    if t.isdigit() or (t[0] in "+-" and t[1:].isdigit()):
        return int(t)
    return _MISS


def _fast_ds(raw: bytes):
    t = _fast_text(raw)
    if t is None:
        return _MISS
    if not t:
        return None
    if t.lstrip("+-").replace(".", "", 1).isdigit():  # plain decimals; exponents take the long way
        return float(t)
    return _MISS


def _fast_ds_tuple(raw: bytes):
    try:
        t = raw.decode("ascii")
    except UnicodeDecodeError:
        return _MISS
    out = []
    for part in t.split("\\"):
        part = part.strip(" \x00")
        if not part or not part.lstrip("+-").replace(".", "", 1).isdigit():
            return _MISS
        out.append(float(part))
    return tuple(out)


def _fast_tm(raw: bytes):
    t = _fast_text(raw)
    if t is None or len(t) < 6 or not t[:6].isdigit():
        return _MISS
    frac = 0
    if len(t) > 6:
        f = t[7:]
        if t[6] != "." or not (0 < len(f) <= 6 and f.isdigit()):
            return _MISS
        frac = int(f.ljust(6, "0"))
    h, m, sec = int(t[0:2]), int(t[2:4]), int(t[4:6])
    if h > 23 or m > 59 or sec > 59:
        return _MISS  # leap seconds and errors: the long way
    return ((h * 60 + m) * 60 + sec) * 1_000_000 + frac


#: Shortcuts for the common forms of the values that differ from file to file (UIDs, instance
#: numbers, positions, times): plain ASCII handled without building value objects; anything
#: else (``_MISS``) takes the general path.
_FAST = {("UI", "str", ""): _fast_ui, ("IS", "int", ""): _fast_is, ("DS", "float", ""): _fast_ds,
         ("DS", "tuple", "float"): _fast_ds_tuple, ("TM", "time", ""): _fast_tm}


def _cell_of(col: _Col, conv, tag: int, code: int, flags: int, length: int, raw: bytes, charsets, pixel_rep: int,
             out: _Chunk, path: str):
    """The cell of one element found by the kernel (memo miss)."""
    if code:
        vr = _vr_name(code)
        little = not (flags & IOK.BIG_BIT)
        if vr == "UN":
            vr = _un_vr(tag)
            little = True
    else:
        vr = _implicit_vr(tag, pixel_rep)
        little = True
    if vr == "SQ" or length < 0:
        return conv(None)
    fast = _FAST.get((vr, col.kind, col.item))
    if fast is not None:
        cell = fast(raw)
        if cell is not _MISS:
            return cell
    try:
        return conv(_decode(vr, raw, little, charsets))
    except (PacsnbError, ValueError, TypeError, OverflowError, UnicodeError) as exc:
        out.value_errors.append((path, col.name, str(exc)))
        return conv(None)


def _fallback_value(ds, tag: int):
    """The value of ``tag`` in a data set read by :func:`pacsnb.read` (meta group included)."""
    src = ds.file_meta if tag >> 16 == 2 else ds
    if src is None or tag not in src:
        return _ABSENT
    e = src[tag]
    if e.VR == "SQ":
        return _ABSENT
    if e.VR in BULK_VRS or e.VR == "UN":
        raw = e.raw
        return bytes(raw) if raw is not None else e.value
    return e.value


def _discover_columns(order, ok_idx, rows_by_file, e_tag, e_vr, datasets) -> tuple[_Col, ...]:
    """The columns of ``columns="all"``: every top-level element of the chunk but sequences."""
    tags: set[int] = set()
    sq: set[int] = set()
    for k in order:
        ds = datasets.get(k)
        if ds is None:
            for t, r in rows_by_file.get(k, {}).items():
                if e_vr[r] == 0x5351:  # "SQ"
                    sq.add(t)
                else:
                    tags.add(t)
        else:
            for src in (ds.file_meta, ds):
                if src is None:
                    continue
                for t in src.keys():
                    t = int(t)
                    (sq if src[t].VR == "SQ" else tags).add(t)
    cols = []
    for t in sorted(tags):
        if t == SK.PIXEL_DATA:
            continue
        try:
            cols.append(_column_for_tag(t))
        except ValueError:  # a sequence by the dictionary
            continue
    return tuple(cols)


def _finish_kinds(out: _Chunk, spec: _Spec) -> None:
    for col in spec.cols:
        out.cells[col.name] = []
        out.kinds[col.name] = (col.kind, col.item)


# -- chunks to a DataFrame ------------------------------------------------------------------------------

#: pandas keeps "string" columns in Arrow arrays (pyarrow installed): chunks build their text
#: columns as Arrow arrays then (in the pool's workers too: cheaper to send, and the parent
#: only chains them), else as lists.
_ARROW_STRINGS = pd.StringDtype().storage == "pyarrow"


class _Packed:
    """A numeric column of one chunk as arrays: ``values`` and ``mask`` (True where missing).

    Built where the chunk is scanned (in a helper process too), so that the process building
    the DataFrame only concatenates arrays, and cheap to send between processes."""

    __slots__ = ("values", "mask")

    def __init__(self, values: np.ndarray, mask: np.ndarray) -> None:
        self.values = values
        self.mask = mask

    def __len__(self) -> int:
        return len(self.values)

    def tolist(self) -> list:
        return [None if m else v for v, m in zip(self.values.tolist(), self.mask.tolist())]


def _pack(cells: list, kind: str) -> Any:
    """The compact form of a chunk's cells of one column (as they are when no form fits)."""
    if kind == "str":
        return _arrow_strings(cells) if _ARROW_STRINGS else cells
    if kind in ("date", "datetime", "time"):
        return np.array(cells, np.int64)
    if kind == "int":
        mask = np.array([v is None for v in cells], np.bool_)
        try:
            values = np.array([0 if v is None else v for v in cells], np.int64)
        except (OverflowError, TypeError, ValueError):
            return cells  # beyond int64: an object column, built from the list
        return _Packed(values, mask)
    if kind == "float":
        try:
            values = np.array([np.nan if v is None else v for v in cells], np.float64)
        except (TypeError, ValueError):
            return cells
        return _Packed(values, np.isnan(values))
    return cells


def _as_list(piece: Any) -> list:
    return piece.tolist() if isinstance(piece, (_Packed, np.ndarray)) else list(piece)


def _arrow_strings(cells: Any):
    import pyarrow as pa
    return cells if isinstance(cells, pa.Array) else pa.array(cells, type=pa.large_string())


def _string_column(pieces: list) -> Any:
    if not _ARROW_STRINGS:
        return pd.array([x for p in pieces for x in p], dtype="string")
    import pyarrow as pa
    return pd.array(pa.chunked_array([_arrow_strings(p) for p in pieces], type=pa.large_string()), dtype="string")


def _numeric_column(pieces: list, kind: str) -> Any:
    """A column from its chunks' pieces: arrays concatenated when every piece is packed."""
    if kind in ("date", "datetime", "time"):
        vals = np.concatenate([np.asarray(p, np.int64) for p in pieces]) if pieces else np.empty(0, np.int64)
        return vals.view("timedelta64[us]" if kind == "time" else "datetime64[us]")
    if pieces and all(isinstance(p, _Packed) for p in pieces):
        values = np.concatenate([p.values for p in pieces])
        mask = np.concatenate([p.mask for p in pieces])
        if kind == "int":
            return pd.arrays.IntegerArray(values, mask)
        return pd.arrays.FloatingArray(values, mask)
    return _series([x for p in pieces for x in _as_list(p)], kind)


def _series(cells: list, kind: str) -> Any:
    if kind == "str":
        return pd.array(cells, dtype="string")
    if kind == "int":
        try:
            return pd.array(cells, dtype="Int64")
        except (OverflowError, TypeError, ValueError):
            return np.array(cells, dtype=object)
    if kind == "float":
        return pd.array(cells, dtype="Float64")
    if kind in ("date", "datetime"):
        return np.array(cells, np.int64).view("datetime64[us]")
    if kind == "time":
        return np.array(cells, np.int64).view("timedelta64[us]")
    a = np.empty(len(cells), dtype=object)
    a[:] = cells
    return a


def _empty_cells(kind: str, n: int) -> list:
    return [_NAT] * n if kind in ("date", "datetime", "time") else [None] * n


def _frame(chunks: Sequence[_Chunk], spec: _Spec) -> pd.DataFrame:
    """One DataFrame from the chunks, the columns in a fixed order and with their dtypes."""
    data: dict[str, Any] = {}
    data["path"] = _string_column([c.path for c in chunks])
    names: list[str] = []
    kinds: dict[str, tuple[str, str]] = {}
    if spec.all_mode:
        for c in chunks:
            for name, k in c.kinds.items():
                if name not in kinds:
                    kinds[name] = k
        # keyword columns in tag order: sort by the tag each name stands for
        names = sorted(kinds, key=lambda nm: int(as_tag(nm)))
    else:
        names = [c.name for c in spec.cols]
        kinds = {c.name: (c.kind, c.item) for c in spec.cols}
    for name in names:
        kind = kinds[name][0]
        if kind == "str":
            data[name] = _string_column([c.cells[name] if name in c.cells else _empty_cells(kind, len(c.path))
                                         for c in chunks])
            continue
        pieces = []
        for c in chunks:
            got = c.cells.get(name)
            pieces.append(got if got is not None else _empty_cells(kind, len(c.path)))
        if kind in ("int", "float", "date", "datetime", "time"):
            data[name] = _numeric_column(pieces, kind)
        else:
            data[name] = _series([x for p in pieces for x in _as_list(p)], kind)
    data["file_size"] = np.array([s for c in chunks for s in c.file_size], np.int64)
    data["transfer_syntax"] = _string_column([c.transfer_syntax for c in chunks])
    data["sop_class_name"] = _string_column([c.sop_class for c in chunks])
    df = pd.DataFrame(data)
    df.attrs["errors"] = [e for c in chunks for e in c.errors]
    df.attrs["value_errors"] = [e for c in chunks for e in c.value_errors]
    return df


_SOP_NAMES: dict[str, str | None] = {}


def _sop_class_name(uid: str | None) -> str | None:
    if uid is None:
        return None
    name = _SOP_NAMES.get(uid)
    if name is None and uid not in _SOP_NAMES:
        name = UID(uid).name or None
        _SOP_NAMES[uid] = name
    return name


def _chunk_frame(paths: Sequence[str], spec: _Spec) -> pd.DataFrame:
    """A DataFrame of one chunk of files (the task of a Dask partition)."""
    ch = _scan_chunk(paths, spec)
    for p, msg in ch.errors:
        log.warning("scan skipped %s: %s", p, msg)
    return _frame([ch], spec)


def _empty_frame(spec: _Spec) -> pd.DataFrame:
    return _frame([_finish_empty(spec)], spec)


def _finish_empty(spec: _Spec) -> _Chunk:
    ch = _Chunk()
    _finish_kinds(ch, spec)
    return ch


# -- listing files ---------------------------------------------------------------------------------------

def list_files(source: PathLike | Iterable[PathLike], recursive: bool = True) -> list[str]:
    """The files :func:`scan` would read from ``source``, sorted.

    Parameters
    ----------
    source
        A folder, one file, or an iterable of paths (kept as given, folders expanded).
    recursive
        Descend into sub-folders of folders.

    Returns
    -------
    list of str
        The file paths, sorted; hidden files (names starting with ``.``, such as the
        incremental-scan cache) are left out of folders.

    Raises
    ------
    FileNotFoundError
        When ``source`` is a path that does not exist.

    Examples
    --------
    >>> from pacsnb.samples import write_sample_file
    >>> p = write_sample_file("/tmp/pacsnb-doc-list/a.dcm")
    >>> list_files("/tmp/pacsnb-doc-list") == [p]
    True
    """
    if isinstance(source, (str, os.PathLike)):
        sources = [os.fspath(source)]
        if not os.path.exists(sources[0]):
            raise FileNotFoundError(f"scan: {sources[0]} does not exist (give a folder, a file or a list of paths)")
    else:
        sources = [os.fspath(s) for s in source]
    out: list[str] = []
    for s in sources:
        if os.path.isdir(s):
            out.extend(_walk(s, recursive))
        else:
            out.append(s)
    out.sort()
    return out


#: Opening a folder succeeds on POSIX systems and ``_read_heads`` reports it as
#: :data:`_IS_A_DIRECTORY`: a list of paths then needs no ``stat`` per path before the scan
#: (``os.path.isdir`` of 5,000 paths is about 15 ms, serial work in front of the workers).
_DIRS_FOUND_BY_OPEN = os.name == "posix"
_IS_A_DIRECTORY = "is a directory"


def _unchecked_list(source: Iterable[PathLike]) -> list[str]:
    """The paths of an iterable, sorted, not yet checked for folders (see :func:`_expand_folders`)."""
    out = [os.fspath(s) for s in source]
    out.sort()
    return out


def _expand_folders(df: pd.DataFrame, paths: list[str], spec: _Spec, recursive: bool, workers: int,
                    progress: bool) -> pd.DataFrame:
    """``df`` when no path of the list was a folder; else the scan of the files
    :func:`list_files` lists (the folders' files in place of the folders): a list holding
    folders is rare, and scanning it again gives exactly the rows and columns of one scan."""
    if not any(reason == _IS_A_DIRECTORY for _p, reason in df.attrs["errors"]):
        return df
    df, _m = _run_local(list_files(paths, recursive), spec, workers, progress)
    return df


def _walk(folder: str, recursive: bool) -> list[str]:
    found = []
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError as exc:
            log.warning("scan: cannot list %s: %s", d, exc)
            continue
        with it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=True):
                        if recursive:
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=True):
                        found.append(entry.path)
                except OSError:
                    continue
    return found


# -- helper processes ------------------------------------------------------------------------------------
#
# ``workers=N`` scans with this process and N - 1 helper processes. All of them take chunks
# of files (shrinking towards the end, see _guided_chunks) from one shared counter, so that a
# process slowed down by other work on its CPU takes fewer; a helper keeps its chunks (numeric
# columns as numpy arrays, text as Arrow arrays: see _pack) and sends them in one message when
# no chunk is left, while this process has been scanning too. What is left to this process
# alone is unpickling them (about 3 ms for 2,500 files) and building the DataFrame (about
# 7 ms for 5,000 files): so it leaves the last small chunks (TAIL_SHARE) to the helpers. A
# list of paths is not stat-ed path by path before the scan (folders in it are found when
# opened, see _expand_folders). Measured on 2 CPUs, 5,000 small files (about 0.18 CPU-s in
# one process): with workers=2 this process used about 0.105 CPU-s and the helper 0.10
# (before those two changes: 0.14 and 0.12).
# Alternatives tried:
# - a ProcessPoolExecutor of N workers with this process only waiting: one CPU less, and its
#   feeder and result threads compete for the GIL when this process scans a share too;
# - threads: only the numba kernels and the system calls release the GIL, about a quarter of
#   the work (decoding values into Python objects is most of the rest), so two threads can
#   gain about 1.3x at most (measured 1.04x on a busy machine).

_POOL_LOCK = threading.Lock()
_POOL: "_Helpers | None" = None
#: Seconds to wait for helpers to start (spawn, import, loading the compiled kernels).
START_TIMEOUT = 300.0


class _HelpersFailed(RuntimeError):
    """The helper processes could not start or died during a scan."""


def _warm() -> None:
    """Compile (or load) the kernels once, before the first task."""
    _scan_chunk([], _Spec((), False))
    SK.scan_files(np.zeros(1, np.uint8), np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.bool_),
                  np.zeros(1, np.int64), False, *_special_syntaxes(), MAX_DEPTH)
    SK.group_values(np.zeros(1, np.uint8), np.zeros((1, 6), np.int64), np.full((1, 2), -1, np.int64),
                    np.zeros(1, np.int64), np.array([0, 1], np.int64))


def _claim(counter, n: int) -> int:
    """The next chunk to scan (``-1`` when none is left)."""
    with counter.get_lock():
        i = counter.value
        if i >= n:
            return -1
        counter.value = i + 1
        return i


def _helper_main(conn, counter) -> None:
    """The loop of a helper process: scan the chunks it claims, send them back."""
    try:
        _warm()
        conn.send(("ready", os.getpid()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which falls back
        try:
            conn.send(("failed", repr(exc)))
        finally:
            return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        parts, spec = msg
        done: list[tuple[int, _Chunk]] = []
        try:
            while True:
                i = _claim(counter, len(parts))
                if i < 0:
                    break
                done.append((i, _scan_chunk(parts[i], spec)))
            conn.send(("ok", done))
        except Exception as exc:  # noqa: BLE001 - the parent scans the missing chunks itself
            conn.send(("error", done, repr(exc)))


def _wait(conn, proc, timeout: float | None) -> Any:
    """The next message of a helper; :class:`_HelpersFailed` when it died or timed out."""
    waited = 0.0
    while not conn.poll(0.2):
        if not proc.is_alive():
            raise _HelpersFailed(f"helper process {proc.pid} exited with code {proc.exitcode}")
        waited += 0.2
        if timeout is not None and waited >= timeout:
            raise _HelpersFailed(f"helper process {proc.pid} did not answer within {timeout:g} s")
    try:
        return conn.recv()
    except (EOFError, OSError) as exc:
        raise _HelpersFailed(f"helper process {proc.pid} closed its pipe ({exc!r})") from None


class _Helpers:
    """``n`` helper processes started with ``spawn``, and the shared chunk counter."""

    def __init__(self, n: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.n = n
        self.counter = ctx.Value("q", 0)
        self.procs: list = []
        self.conns: list = []
        try:
            for _ in range(n):
                mine, theirs = ctx.Pipe()
                p = ctx.Process(target=_helper_main, args=(theirs, self.counter), daemon=True,
                                name="pacsnb-scan-helper")
                p.start()
                theirs.close()
                self.procs.append(p)
                self.conns.append(mine)
            for conn, p in zip(self.conns, self.procs):
                msg = _wait(conn, p, START_TIMEOUT)
                if msg[0] != "ready":
                    raise _HelpersFailed(f"helper process {p.pid} failed to start: {msg[1]}")
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        return all(p.is_alive() for p in self.procs)

    def run(self, parts: list[list[str]], spec: _Spec, bar) -> list[_Chunk]:
        """Scan ``parts`` with the helpers and this process: the chunks in order."""
        out: list[_Chunk | None] = [None] * len(parts)
        with self.counter.get_lock():
            self.counter.value = 0
        failure: Exception | None = None
        sent = []
        for conn, p in zip(self.conns, self.procs):
            try:
                conn.send((parts, spec))
                sent.append((conn, p))
            except (OSError, ValueError) as exc:  # a helper that died since the last scan
                failure = _HelpersFailed(f"helper process {p.pid} cannot be reached ({exc!r})")
        # this process leaves the last few small chunks to the helpers: it has the unpickling
        # and the DataFrame to do when they are done, so all finish at about the same time
        mine = _own_share(parts, len(sent) + 1) if sent else len(parts)
        while True:
            i = _claim(self.counter, mine)
            if i < 0:
                break
            out[i] = _scan_chunk(parts[i], spec)
            if bar is not None:
                bar.update(len(parts[i]))
        for conn, p in sent:
            try:
                msg = _wait(conn, p, None)
            except _HelpersFailed as exc:
                failure = exc
                continue
            for i, ch in msg[1]:
                out[i] = ch
                if bar is not None:
                    bar.update(len(parts[i]))
            if msg[0] == "error":
                log.warning("scan: a helper process failed (%s); scanning its chunks here", msg[2])
        for i, ch in enumerate(out):
            if ch is None:  # claimed by a helper that died or failed: scanned here
                out[i] = _scan_chunk(parts[i], spec)
                if bar is not None:
                    bar.update(len(parts[i]))
        if failure is not None:
            raise _PartialFailure(out, failure)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.procs, self.conns = [], []


#: The share of the files that this process leaves to the helpers at the end of a scan,
#: divided by the number of processes: about the work of unpickling the helpers' chunks
#: and building the DataFrame, which only this process does (measured on 5,000 small
#: files: about 12 ms of 0.18 CPU-s; a helper also pickles its chunks).
TAIL_SHARE = 0.07


def _own_share(parts: list[list[str]], processes: int) -> int:
    """How many chunks this process may claim: all but the last ones holding about
    ``TAIL_SHARE / processes`` of the files (the helpers claim those)."""
    tail = int(TAIL_SHARE * sum(len(p) for p in parts) / processes)
    k, left = len(parts), 0
    while k > 1 and left + len(parts[k - 1]) <= tail:
        k -= 1
        left += len(parts[k])
    return k


class _PartialFailure(_HelpersFailed):
    """A helper died during a scan; its chunks were scanned in this process (``chunks``)."""

    def __init__(self, chunks: list, cause: Exception) -> None:
        super().__init__(str(cause))
        self.chunks = chunks


def _pool(n: int) -> _Helpers:
    """``n`` helper processes, kept for the next scans (started with ``spawn``); the caller
    holds :data:`_POOL_LOCK`."""
    global _POOL
    if _POOL is not None and _POOL.n == n and _POOL.alive():
        return _POOL
    if _POOL is not None:
        _POOL.close()
        _POOL = None
    _POOL = _Helpers(n)
    return _POOL


def shutdown_pool() -> None:
    """Stop the helper processes kept by ``scan(..., workers=N)`` (also done at exit).

    The next ``scan`` with workers starts new ones.

    Examples
    --------
    >>> shutdown_pool()  # nothing to stop: a no-op
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None


atexit.register(shutdown_pool)


def _workers(workers: int | None) -> int:
    if workers is None or workers == 1:
        return 1
    if workers <= 0:
        return os.cpu_count() or 1
    return int(workers)


def _chunks(paths: list[str], size: int) -> list[list[str]]:
    return [paths[i:i + size] for i in range(0, len(paths), size)]


def _guided_chunks(paths: list[str], workers: int, smallest: int = 64) -> list[list[str]]:
    """Chunks for ``workers`` processes, shrinking towards the end: large ones first (the numba
    call and the transfer are paid rarely; each chunk costs about 0.5 ms of its own for the
    default columns), small ones last (when one process is slowed down, e.g. by other work on
    its CPU, the others wait at most a small chunk for it)."""
    out = []
    i, n = 0, len(paths)
    while i < n:
        size = max(smallest, min(CHUNK, (n - i) // (workers * 2)))
        out.append(paths[i:i + size])
        i += size
    return out


def _run_local(paths: list[str], spec: _Spec, workers: int, progress: bool) -> tuple[pd.DataFrame, list[int]]:
    """The table of ``paths`` in this process (and helpers), and the files' mtimes (ns)."""
    bar = None
    if progress and paths:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(paths), unit="file", desc="scan")
    try:
        if workers == 1 or len(paths) < POOL_MIN_FILES:
            out: list[_Chunk] = []
            for ch in _chunks(paths, CHUNK):
                out.append(_scan_chunk(ch, spec))
                if bar is not None:
                    bar.update(len(ch))
            return _frame(out, spec), [m for c in out for m in c.mtime_ns]
        parts = _guided_chunks(paths, workers)
        with _POOL_LOCK:
            try:
                chunks = _pool(workers - 1).run(parts, spec, bar)
            except _HelpersFailed as exc:
                global _POOL
                if _POOL is not None:
                    _POOL.close()
                    _POOL = None
                warnings.warn(f"scan: the helper processes could not start or died ({exc}; in a script, call "
                              "scan(..., workers=N) under `if __name__ == '__main__':`, which 'spawn' needs); "
                              "scanning in this process instead", ScanWarning, stacklevel=3)
                if isinstance(exc, _PartialFailure):
                    chunks = exc.chunks
                else:
                    if bar is not None:
                        bar.reset()
                    return _run_local(paths, spec, 1, False)
        return _frame(chunks, spec), [m for c in chunks for m in c.mtime_ns]
    finally:
        if bar is not None:
            bar.close()


# -- incremental mode ---------------------------------------------------------------------------------

def _cache_path(source: Any, cache: Any) -> str | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
            return os.path.join(os.fspath(source), CACHE_NAME)
        raise ValueError("scan(cache=True) keeps its cache in the scanned folder: give a folder, or a cache "
                         "file path with cache='...parquet'")
    return os.fspath(cache)


def _cache_key(spec: _Spec) -> str:
    return json.dumps({"version": 1, "all": spec.all_mode, "cols": [[c.name, c.tag, c.kind, c.item]
                                                                     for c in spec.cols]})


def _load_cache(path: str, spec: _Spec, base: str) -> tuple[pd.DataFrame, dict] | None:
    if not os.path.exists(path):
        return None
    try:
        import pyarrow.parquet as pq
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {}).get(b"pacsnb", b"{}"))
        if meta.get("key") != _cache_key(spec):
            log.info("scan cache %s was made with other columns: rescanning", path)
            return None
        df = table.to_pandas()
    except Exception as exc:  # noqa: BLE001 - a broken cache is rebuilt, never fatal
        log.warning("scan cache %s cannot be read (%s): rescanning everything", path, exc)
        return None
    for name, (kind, _item) in meta.get("kinds", {}).items():
        if kind in ("tuple", "auto", "bytes") and name in df.columns:
            df[name] = _restore_objects(df[name])
    df["path"] = pd.array([os.path.join(base, p) for p in df["path"].tolist()], dtype="string")
    errors = {os.path.join(base, rel): (size, mt, msg) for rel, size, mt, msg in meta.get("errors", [])}
    return df, errors


def _restore_objects(s: pd.Series) -> np.ndarray:
    def back(v):
        if isinstance(v, np.ndarray):
            return tuple(back(x) for x in v.tolist())
        if isinstance(v, list):
            return tuple(back(x) for x in v)
        if isinstance(v, float) and np.isnan(v):
            return None
        return v
    a = np.empty(len(s), dtype=object)
    a[:] = [back(v) for v in s.tolist()]
    return a


def _save_cache(path: str, df: pd.DataFrame, mtimes: list[int], spec: _Spec, base: str,
                errors: list[tuple[str, int, int, str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    out = df.copy()
    out["path"] = [os.path.relpath(p, base) for p in out["path"].tolist()]
    out["_mtime_ns"] = np.array(mtimes, np.int64)
    kinds = {}
    for name in df.columns:
        if out[name].dtype == object:
            kinds[name] = ("tuple", "")
            out[name] = [list(v) if isinstance(v, tuple) else v for v in out[name].tolist()]
    try:
        table = pa.Table.from_pandas(out, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        log.warning("scan: the table cannot be cached as parquet (%s); no cache kept", exc)
        return
    meta = dict(table.schema.metadata or {})
    meta[b"pacsnb"] = json.dumps({"key": _cache_key(spec), "kinds": kinds,
                                  "errors": [[os.path.relpath(p, base), s, m, msg] for p, s, m, msg in errors]
                                  }).encode()
    table = table.replace_schema_metadata(meta)
    tmp = path + ".tmp"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("scan: cannot write the cache %s (%s)", path, exc)


def _stat_all(paths: list[str]) -> dict[str, tuple[int, int]]:
    out = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        out[p] = (st.st_size, st.st_mtime_ns)
    return out


# -- scan --------------------------------------------------------------------------------------------------

def scan(source: PathLike | Iterable[PathLike], columns: Sequence[Any] | str | None = None, *,
         recursive: bool = True, workers: int | None = None, progress: bool = True,
         cache: bool | PathLike | None = None, engine: str = "local", chunk_size: int = CHUNK,
         return_errors: bool = False) -> Any:
    """Scan DICOM files into a DataFrame, one row per instance, reading headers only.

    Parameters
    ----------
    source
        A folder (its files, in sub-folders too with ``recursive``), one file, or an
        iterable of paths.
    columns
        Keywords or tags (``"PatientID"``, ``"0010,0020"``, ``0x00100020``) of the columns
        to extract; ``None`` for :data:`DEFAULT_COLUMNS`; ``"all"`` for every top-level
        element of the files but sequences and Pixel Data. ``path``, ``file_size``,
        ``transfer_syntax`` and ``sop_class_name`` are always there.
    recursive
        Descend into sub-folders.
    workers
        ``None`` or 1: scan in this process. ``N > 1``: ``N`` processes in all, this one
        and ``N - 1`` helper processes (started with ``spawn`` on first use, a few seconds,
        and kept for the next scans; :func:`shutdown_pool` stops them), taking chunks of
        files from one shared counter. 0 or -1: one process per CPU. Fewer than
        :data:`POOL_MIN_FILES` files are scanned in this process. In a script (not a
        notebook), call ``scan`` with workers under ``if __name__ == "__main__":``, as
        ``spawn`` needs; if the helpers cannot start or die, their files are scanned in
        this process, with a :class:`ScanWarning`.
    progress
        Show a progress bar (``tqdm.auto``: a widget in a notebook).
    cache
        Incremental mode. ``True``: keep the table in :data:`CACHE_NAME` inside the scanned
        folder (parquet: needs pyarrow) and, on the next scan, read again only the files
        that are new or whose size or modification time changed; deleted files are
        dropped. A path: keep the cache there. The cache is rebuilt when ``columns`` change.
    engine
        ``"local"`` (a pandas DataFrame) or ``"dask"``: a lazy ``dask.dataframe`` with one
        partition per ``chunk_size`` files, each a task that scans its files; it runs
        under a ``dask.distributed`` client too. With Dask, skipped files are logged
        (warnings of ``pacsnb.cohort.table``) and, with ``return_errors``, given as a
        second lazy DataFrame; ``columns="all"`` runs a first pass at once to find the
        columns.
    chunk_size
        Files per Dask partition.
    return_errors
        With ``engine="dask"`` only: return ``(rows, errors)``, where ``errors`` is a lazy
        ``dask.dataframe`` with the string columns ``path`` and ``reason``, one row per
        skipped file, built from the same tasks as ``rows``: ``dask.compute(rows,
        errors)`` scans every file once. (A Dask DataFrame has no ``attrs`` that survive
        ``compute``, hence a second collection.)

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame or tuple
        Rows sorted by path (with ``return_errors``, the pair ``(rows, errors)`` of lazy
        DataFrames); the dtypes follow the rules of the module documentation.
        ``df.attrs["errors"]`` lists ``(path, reason)`` of every file skipped (not DICOM,
        broken, unreadable); ``df.attrs["value_errors"]`` lists ``(path, column,
        reason)`` of values that could not be decoded (the cell is missing). With
        ``cache``, ``df.attrs["reread"]`` is the number of files read this time (the
        others came from the cache).

    Raises
    ------
    FileNotFoundError
        When ``source`` does not exist.
    ValueError
        For an unknown keyword, a sequence or Pixel Data in ``columns``, an unknown
        ``engine``, ``cache=True`` without a folder, ``cache`` with Dask, or
        ``return_errors`` without Dask.
    ImportError
        For ``cache`` without pyarrow, or ``engine="dask"`` without dask.

    Warns
    -----
    ScanWarning
        When files were skipped: how many, and where the list is.

    Examples
    --------
    >>> import pacsnb
    >>> from pacsnb.samples import make_mr_series, write_cohort
    >>> _ = write_cohort("/tmp/pacsnb-doc-scan2", make_mr_series(n_slices=4, rows=16, columns=16),
    ...                  progress=False)
    >>> df = pacsnb.cohort.scan("/tmp/pacsnb-doc-scan2", ["PatientID", "PixelSpacing", "InstanceNumber"],
    ...                         progress=False)
    >>> df.InstanceNumber.tolist(), df.PixelSpacing.iloc[0], df.sop_class_name.iloc[0]
    ([1, 2, 3, 4], (0.9, 0.9), 'MR Image Storage')
    """
    if engine not in ("local", "dask"):
        raise ValueError(f"engine must be 'local' or 'dask', not {engine!r}")
    cols, all_mode = _resolve(columns)
    spec = _Spec(cols, all_mode)
    quick_list = engine == "local" and not cache and _DIRS_FOUND_BY_OPEN and not isinstance(source, (str, os.PathLike))
    paths = _unchecked_list(source) if quick_list else list_files(source, recursive)
    if engine == "dask":
        if cache:
            raise ValueError("cache= is for the local engine; with Dask, persist the result instead")
        return _scan_dask(paths, spec, chunk_size, return_errors)
    if return_errors:
        raise ValueError("return_errors= is for engine='dask'; the local engine lists skipped files in "
                         "df.attrs['errors']")
    n_workers = _workers(workers)
    cache_file = _cache_path(source, cache)
    if cache_file is not None:
        try:
            import pyarrow  # noqa: F401 - the cache is a parquet file
        except ImportError:
            raise ImportError("scan(cache=...) keeps its cache as parquet and needs pyarrow: pip install pyarrow "
                              "(or scan without cache)") from None
    if cache_file is None:
        df, _mtimes = _run_local(paths, spec, n_workers, progress)
        if quick_list:
            df = _expand_folders(df, paths, spec, recursive, n_workers, progress)
    else:
        df = _scan_incremental(source, paths, spec, n_workers, progress, cache_file)
    errors = df.attrs["errors"]
    if errors:
        where = errors[0][0]
        warnings.warn(f"scan skipped {len(errors)} file(s) that are not DICOM or are broken (the first: {where}: "
                      f"{errors[0][1]}); the list of (path, reason) is in df.attrs['errors']",
                      ScanWarning, stacklevel=2)
    return df


def _scan_incremental(source, paths: list[str], spec: _Spec, workers: int, progress: bool,
                      cache_file: str) -> pd.DataFrame:
    base = os.fspath(source) if isinstance(source, (str, os.PathLike)) and os.path.isdir(source) \
        else os.path.dirname(os.path.abspath(cache_file))
    cache_abs = os.path.abspath(cache_file)
    paths = [p for p in paths if os.path.abspath(p) != cache_abs]
    stats = _stat_all(paths)
    loaded = _load_cache(cache_file, spec, base)
    old_df, old_errors = (loaded if loaded is not None else (None, {}))
    keep_rows: list[int] = []
    keep_mtimes: list[int] = []
    kept_errors: list[tuple[str, int, int, str]] = []
    todo: list[str] = []
    if old_df is not None:
        old_index = {p: i for i, p in enumerate(old_df["path"].tolist())}
        old_mt = old_df["_mtime_ns"].tolist()
        old_size = old_df["file_size"].tolist()
    else:
        old_index, old_mt, old_size = {}, [], []
    for p in paths:
        st = stats.get(p)
        i = old_index.get(p)
        if st is not None and i is not None and (old_size[i], old_mt[i]) == st:
            keep_rows.append(i)
            keep_mtimes.append(old_mt[i])
            continue
        err = old_errors.get(p)
        if st is not None and err is not None and (err[0], err[1]) == st:
            kept_errors.append((p, err[0], err[1], err[2]))
            continue
        todo.append(p)
    log.info("scan: %d file(s) from the cache, %d to read", len(keep_rows), len(todo))
    new, new_mtimes = _run_local(todo, spec, workers, progress)
    new_errors = [(p, *stats.get(p, (0, 0)), msg) for p, msg in new.attrs["errors"]]
    if old_df is not None and keep_rows:
        old_part = old_df.iloc[keep_rows].drop(columns=["_mtime_ns"]).reset_index(drop=True)
        old_part = old_part[list(new.columns)] if set(old_part.columns) == set(new.columns) else old_part
        df = pd.concat([old_part, new], ignore_index=True) if len(new) else old_part
        mtimes = keep_mtimes + new_mtimes
    else:
        df, mtimes = new, new_mtimes
    order = np.argsort(np.array(df["path"].tolist(), dtype=object), kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    mtimes = [mtimes[i] for i in order.tolist()]
    for name in df.columns:  # concat may widen dtypes: restore them from a fresh frame's
        if name in new.columns and df[name].dtype != new[name].dtype:
            try:
                df[name] = df[name].astype(new[name].dtype)
            except (TypeError, ValueError):
                pass
    errors = kept_errors + new_errors
    _save_cache(cache_file, df, mtimes, spec, base, errors)
    df.attrs["errors"] = [(p, msg) for p, _s, _m, msg in errors]
    df.attrs["value_errors"] = new.attrs.get("value_errors", [])
    df.attrs["reread"] = len(todo)  # a count: pandas deep-copies attrs on every operation
    return df


#: The columns of the errors DataFrame of ``scan(..., engine="dask", return_errors=True)``.
ERROR_COLUMNS = ("path", "reason")


def _errors_frame(errors: Sequence[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"path": pd.array([e[0] for e in errors], dtype="string"),
                         "reason": pd.array([e[1] for e in errors], dtype="string")})


def _scan_dask(paths: list[str], spec: _Spec, chunk_size: int, return_errors: bool = False):
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("engine='dask' needs dask: pip install 'pacsnb[dask]'") from exc
    if spec.all_mode:
        spec = _all_columns_dask(paths, spec, chunk_size)
    parts = _chunks(paths, max(1, min(int(chunk_size), 100_000))) or [[]]
    meta = _empty_frame(spec)
    meta.attrs.clear()
    # one task per chunk gives its rows and its skipped files; the frames of rows and of errors
    # are two collections over the same tasks (dask.compute of both scans each file once)
    part = _DaskPart(spec)
    tasks = [dask.delayed(part, pure=True, nout=2)(p) for p in parts]
    # tuples and bytes stay Python objects: dask must not turn object columns into strings
    with dask.config.set({"dataframe.convert-string": False}):
        rows = dd.from_delayed([t[0] for t in tasks], meta=meta, verify_meta=False)
        if not return_errors:
            return rows
        errors = dd.from_delayed([t[1] for t in tasks], meta=_errors_frame([]), verify_meta=False)
    return rows, errors


class _DaskPart:
    """A picklable callable: the DataFrames of one partition's rows and skipped files."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec

    def __call__(self, paths: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        df = _chunk_frame(paths, self.spec)
        errors = _errors_frame(df.attrs["errors"])
        df.attrs.clear()
        return df, errors

    def __dask_tokenize__(self):
        return ("pacsnb-scan-part", _cache_key(self.spec))


def _tags_of_chunk(paths: list[str]) -> list[int]:
    ch = _scan_chunk(paths, _Spec((), True))
    return [int(as_tag(n)) for n in ch.kinds]


def _all_columns_dask(paths: list[str], spec: _Spec, chunk_size: int) -> _Spec:
    """``columns="all"`` under Dask: a first pass finds the union of the elements."""
    import dask
    parts = _chunks(paths, max(1, int(chunk_size)))
    found = dask.compute(*[dask.delayed(_tags_of_chunk)(p) for p in parts])
    tags = sorted({t for f in found for t in f})
    return _Spec(tuple(_column_for_tag(t) for t in tags), False)
