"""A series of images as an ``xarray.DataArray`` with coordinates in millimetres.

:func:`open_series` takes the rows of one series (a DataFrame from :func:`pacsnb.scan`), a
folder, a list of files or of data sets, and returns a volume with dims ``("z", "y", "x")``:

* slices are sorted by their position along the slice normal (Image Position (Patient)
  projected on ``row x column`` of Image Orientation (Patient)), never by file name or
  Instance Number; enhanced multi-frame images (Per-frame Functional Groups) are read frame
  by frame the same way;
* ``z`` is that position (mm), ``y`` and ``x`` the distance from the first row / column
  (Pixel Spacing, mm); per-slice coordinates give Image Position (Patient) (``ipp_x``,
  ``ipp_y``, ``ipp_z``), Instance Number, SOP Instance UID and the file;
* ``.attrs`` holds the series attributes, the 4x4 ``affine`` (voxel indices to patient
  LPS mm) and what was found about the geometry (missing slices, uneven spacing, tilt);
* values are in modality units (Hounsfield units for CT) as ``float32``, each slice
  rescaled straight into the volume (no temporary copy), unless ``rescale=False``; the
  pixel bytes of plain native files (uncompressed little endian, one frame, one sample, no
  Modality LUT) are read from where the header read found them, without parsing the file
  a second time, on two threads for a long series; a folder's headers are scanned many
  files at a time by the numba kernel of :func:`pacsnb.cohort.scan` (unusual files are read
  one by one with :func:`pacsnb.read`);
* ``chunks=`` gives a lazy Dask array: each slice is read and decoded only when computed.

Several series, or several orientations or image sizes in one series, are refused with a
message that lists them and says how to select one (or ``split=True``).

Examples
--------
>>> from pacsnb.cohort.volume import open_series
>>> from pacsnb.samples import make_ct_series
>>> vol = open_series(make_ct_series(n_slices=4, rows=16, columns=16, noise=0, shuffle_instance_numbers=True))
>>> vol.dims, vol.shape, str(vol.dtype)
(('z', 'y', 'x'), (4, 16, 16), 'float32')
>>> vol.z.values.tolist(), vol.attrs["slice_spacing"], vol.attrs["units"]
([-3.75, -1.25, 1.25, 3.75], 2.5, 'HU')
"""
from __future__ import annotations

import logging
import math
import os
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait as _wait_all
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from pacsnb.cohort import _volume_kernels as VK
from pacsnb.cohort.geometry import (ABS_TOL, GeometryWarning, StackGeometry, affine_matrix, analyze_stack,
                                    as_floats, direction_cosines, orientation_label)
from pacsnb.dicom.convert import decode_value
from pacsnb.dicom.dataset import Dataset
from pacsnb.dicom.dictionary import tag_for_keyword
from pacsnb.errors import GeometryError, InvalidDicomError, PacsnbError
from pacsnb.io.reader import read
from pacsnb.pixels.array import pixel_array
from pacsnb.pixels.transforms import apply_modality_lut

__all__ = ["open_series", "plan_series", "SeriesPlan", "GeometryWarning"]

log = logging.getLogger(__name__)

SeriesSource = Union[str, os.PathLike, Dataset, Iterable[Any], Any]

#: What a DataFrame must have, per row, to place the images without reading the headers.
_REQUIRED_COLUMNS = ("path", "SeriesInstanceUID", "Rows", "Columns", "ImagePositionPatient",
                     "ImageOrientationPatient", "PixelSpacing")
#: Attributes that differ from image to image: not series attributes.
_PER_INSTANCE = frozenset((
    "SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "AcquisitionTime", "ContentTime",
    "AcquisitionDateTime", "InstanceCreationTime", "TriggerTime", "TemporalPositionIdentifier", "ImageComments",
    "LargestImagePixelValue", "SmallestImagePixelValue", "PerFrameFunctionalGroupsSequence", "ImagesInAcquisition",
    "InStackPositionNumber", "FrameReferenceTime", "ReferencedImageSequence", "SourceImageSequence",
    "AcquisitionNumber", "DataSetTrailingPadding"))
_BULK_VRS = frozenset(("OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"))
_DICOMDIR = "1.2.840.10008.1.3.10"
#: Use threads to decode when there are at least this many slices.
_THREADS_FROM = 24


# ---------------------------------------------------------------------------------------------
# reading the inputs


@dataclass(slots=True)
class _Image:
    """One image (file or in-memory data set) and its header (a Dataset or a DataFrame row,
    or a :class:`_FastHeader`), with the layout of its pixels when known (FrameRef.layout)."""

    source: Any  # str path or Dataset
    header: Any  # Dataset or dict
    layout: tuple | None = None


@dataclass(frozen=True, slots=True)
class FrameRef:
    """Where the pixels of one slice are: a file (or in-memory data set) and a frame number.

    ``params`` holds the Pixel Value Transformation of an enhanced image's frame
    (Rescale Slope / Intercept); ``None`` means: take it from the data set. ``layout`` is
    set by the planning for a plain native image file (uncompressed little endian, one
    frame, one sample, no Modality LUT): where its pixel bytes are and how to rescale them,
    so that they are read straight into the volume without parsing the file again; the
    bytes found there are checked first, and anything unexpected falls back to the general
    path (read, decode, rescale).
    """

    source: Any
    frame: int | None = None
    params: tuple[tuple[str, Any], ...] | None = None
    layout: tuple | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class _Frame:
    """Planning information of one slice."""

    ref: FrameRef
    image: int
    ipp: list[float] | None
    iop: list[float] | None
    spacing: list[float] | None
    rows: int
    columns: int
    samples: int
    instance: int
    sop: str
    temporal: float


def _get(h: Any, keyword: str, default: Any = None) -> Any:
    if h is None:
        return default
    try:
        v = h.get(keyword, default)
    except (InvalidDicomError, PacsnbError):
        return default
    if v is None:
        return default
    if isinstance(v, float) and math.isnan(v):
        return default
    return v


def _int(v: Any, default: int) -> int:
    if v is None:
        return default
    try:
        if isinstance(v, (list, tuple)):
            v = v[0]
        return int(float(v))
    except (TypeError, ValueError, IndexError):
        return default


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _read_header(path: str) -> Dataset:
    return read(path, stop_before_pixels=True)


def _folder_files(folder: Path) -> list[str]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.startswith("."):
                continue
            files.append(os.path.join(root, name))
    return files


def _images_from(source: Any, progress: bool) -> tuple[list[_Image], str]:
    """The images of ``source`` and a short description of it (for messages)."""
    if isinstance(source, Dataset):
        return [_Image(source, source)], "a data set"
    if _is_dataframe(source):
        return _images_from_frame(source), "the DataFrame"
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            files = _folder_files(p)
            images = []
            bar = _bar(len(files), progress, "reading headers")
            for start in range(0, len(files), _HEAD_CHUNK):
                part = files[start:start + _HEAD_CHUNK]
                fast = _fast_headers(part)
                for f, got in zip(part, fast):
                    if got is not None:
                        if got is not _SKIP:
                            images.append(got)
                        continue
                    try:
                        h = _read_header(f)
                    except InvalidDicomError as exc:
                        log.debug("skipping %s: not DICOM (%s)", f, exc)
                        continue
                    if h.file_meta is not None and str(_get(h.file_meta, "MediaStorageSOPClassUID", "")) == _DICOMDIR:
                        continue
                    if "Rows" not in h:
                        log.debug("skipping %s: not an image (no Rows)", f)
                        continue
                    images.append(_Image(f, h))
                if bar is not None:
                    bar.update(len(part))
            if bar is not None:
                bar.close()
            if not images:
                raise GeometryError(f"{p}: no DICOM images in this folder (looked at {len(files)} files)")
            return images, f"the folder {p}"
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        return [_Image(str(p), _read_header(str(p)))], str(p)
    if isinstance(source, Iterable) and not isinstance(source, (bytes, bytearray)):
        items = list(source)
        if not items:
            raise GeometryError("open_series got an empty list: give the files or data sets of one series")
        images = []
        for it in _progress(items, progress, "reading headers"):
            if isinstance(it, Dataset):
                images.append(_Image(it, it))
            elif isinstance(it, (str, os.PathLike)):
                images.append(_Image(os.fspath(it), _read_header(os.fspath(it))))
            else:
                raise TypeError(f"open_series takes paths or Datasets in a list, not {type(it).__name__}")
        return images, "the list"
    raise TypeError(f"open_series takes a DataFrame of rows, a folder, a file, a list of paths or data sets, "
                    f"or a Dataset, not {type(source).__name__}")


# ---------------------------------------------------------------------------------------------
# the headers of a folder's files, many at a time


class _FastHeader(dict):
    """The attributes planning needs of one plain single-frame image file, decoded from the
    bytes found by the cohort scan kernel (as :meth:`Dataset.get` decodes them)."""


#: Files whose headers are scanned in one call of the kernel.
_HEAD_CHUNK = 256
#: Bytes read from the start of each file; a longer header is read by :func:`pacsnb.read`.
_HEAD_BYTES = 16 << 10
_SKIP = object()
#: Keyword of each tag decoded into a _FastHeader (none of them depends on the character set).
_FAST_KEYWORDS = ("SOPInstanceUID", "Modality", "SeriesInstanceUID", "SeriesNumber", "InstanceNumber",
                  "ImagePositionPatient", "ImageOrientationPatient", "TemporalPositionIdentifier", "SamplesPerPixel",
                  "NumberOfFrames", "Rows", "Columns", "PixelSpacing", "BitsAllocated", "BitsStored",
                  "PixelRepresentation", "RescaleIntercept", "RescaleSlope")
_FAST_TAG_KW = {tag_for_keyword(k): k for k in _FAST_KEYWORDS}
#: Tags that make a file take the general path (read with pacsnb.read): functional groups,
#: a Modality LUT, float pixel data.
_FAST_REFUSE = (0x52009229, 0x52009230, 0x00283000, 0x7FE00008, 0x7FE00009)
_TS_TAG, _SOP_CLASS_TAG = 0x00020010, 0x00020002
_FAST_WANT = np.array(sorted(set(_FAST_TAG_KW) | set(_FAST_REFUSE) | {_TS_TAG, _SOP_CLASS_TAG}), np.int64)


def _fast_headers(paths: list[str]) -> list[Any]:
    """For each file: an :class:`_Image` with a :class:`_FastHeader` (and the pixel layout),
    :data:`_SKIP` for a DICOMDIR or a data set without Rows, or ``None`` when the file needs
    :func:`pacsnb.read` (anything the kernel does not read itself, or not a plain image)."""
    from pacsnb.cohort import table as T  # the kernel's helpers (lazily: table imports pandas)
    from pacsnb.cohort._scan_kernels import OK, scan_files
    from pacsnb.io import _kernels as IOK
    from pacsnb.io.reader import MAX_DEPTH

    out: list[Any] = [None] * len(paths)
    blobs, starts, ends, whole, index, idents = [], [], [], [], [], []
    pos = 0
    for k, p in enumerate(paths):
        try:
            fd = os.open(p, _O_READ)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            size = st.st_size
            b = os.read(fd, _HEAD_BYTES)
        except OSError:
            continue
        finally:
            os.close(fd)
        blobs.append(b)
        starts.append(pos)
        pos += len(b)
        ends.append(pos)
        whole.append(len(b) >= size)
        index.append(k)
        idents.append(_ident(st))
    if not blobs:
        return out
    buf = b"".join(blobs)
    del blobs
    arr = np.frombuffer(buf, np.uint8) if buf else np.zeros(1, np.uint8)
    special, special_len = T._special_syntaxes()
    elems, sel, status, _enc, stops = scan_files(arr, np.array(starts, np.int64), np.array(ends, np.int64),
                                                 np.array(whole, np.bool_), _FAST_WANT, False, special, special_len,
                                                 MAX_DEPTH)
    e_vr, e_off, e_len, e_kind = (elems[:, c].tolist() for c in (2, 3, 4, 5))
    sel_l, status_l, stops_l = sel.tolist(), status.tolist(), stops.tolist()
    want = _FAST_WANT.tolist()
    memo: dict[tuple, Any] = {}
    for j, k in enumerate(index):
        if status_l[j] != OK:
            continue
        rows = sel_l[j]
        h = _FastHeader()
        plain = True
        ts = sop_class = None
        for t, r in zip(want, rows):
            if r < 0:
                continue
            if t in _FAST_REFUSE:
                plain = False
                break
            code, flags, n = e_vr[r], e_kind[r], e_len[r]
            if n < 0:
                plain = False
                break
            raw = buf[e_off[r]:e_off[r] + n]
            if t == _TS_TAG or t == _SOP_CLASS_TAG:
                v = raw.decode("latin-1").strip("\x00 ")
                if t == _TS_TAG:
                    ts = v
                else:
                    sop_class = v
                continue
            key = (t, code, flags, raw)
            v = memo.get(key, _MISS)
            if v is _MISS:
                vr = T._vr_name(code) if code else T._implicit_vr(t, 0)
                if vr in ("UN", "SQ"):
                    v = _MISS
                else:
                    try:
                        v = decode_value(vr, raw, not (flags & IOK.BIG_BIT), None)
                    except (PacsnbError, ValueError, TypeError, UnicodeError, OverflowError):
                        v = _MISS
                memo[key] = v
            if v is _MISS:
                plain = False
                break
            h[_FAST_TAG_KW[t]] = v
        if not plain:
            continue
        if sop_class == _DICOMDIR:
            out[k] = _SKIP
            continue
        if "Rows" not in h:
            log.debug("skipping %s: not an image (no Rows)", paths[k])
            out[k] = _SKIP
            continue
        nf = h.get("NumberOfFrames")
        if nf is not None and _int(nf, -1) != 1:
            continue  # multi-frame: the general path knows its frames
        layout = None
        if ts in _NATIVE_LE and stops_l[j] >= 0:
            layout = _layout_of(h, stops_l[j], ts == "1.2.840.10008.1.2", _get, idents[j])
        out[k] = _Image(paths[k], h, layout)
    return out


def _images_from_frame(df: Any) -> list[_Image]:
    if "path" not in df.columns:
        raise GeometryError("the DataFrame has no 'path' column: give the rows of pacsnb.scan(), or a list of files")
    if len(df) == 0:
        raise GeometryError("the DataFrame has no rows: select the rows of one series, "
                            "e.g. df[df.SeriesInstanceUID == uid]")
    complete = all(c in df.columns for c in _REQUIRED_COLUMNS) and not df[list(_REQUIRED_COLUMNS)].isna().any().any()
    if complete and "NumberOfFrames" in df.columns:
        nf = df["NumberOfFrames"]
        complete = bool(((nf.isna()) | (nf.astype(str).isin(["1", "1.0", "", "None"]))).all())
    paths = [os.fspath(p) for p in df["path"].tolist()]
    if not complete:
        log.debug("re-reading %d headers: the DataFrame lacks geometry columns", len(paths))
        return [_Image(p, _read_header(p)) for p in paths]
    cols = [c for c in df.columns if c != "path"]
    records = df[cols].to_dict("records")
    return [_Image(p, r) for p, r in zip(paths, records)]


def _progress(items: list, progress: bool, desc: str):
    if not progress or len(items) < 32:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


# ---------------------------------------------------------------------------------------------
# frames of the images


def _fg(item: Any, shared: Any, seq: str, keyword: str) -> Any:
    """A functional-group attribute: the frame's own group first, then the shared one."""
    for where in (item, shared):
        if where is None:
            continue
        s = _get(where, seq)
        if s:
            v = _get(s[0], keyword)
            if v is not None:
                return v
    return None


class _Memo:
    """:func:`_get` for the headers of many files of one series, decoding each distinct value
    once: most attributes have the same bytes in every file of a series (Rows, Image
    Orientation, Pixel Spacing, Bits Allocated, Rescale Slope, ...), and a value is a function
    of its tag, VR code, encoding flags and bytes (the attributes memoised here do not depend
    on the character set). Anything else goes through :func:`_get`."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[tuple, Any] = {}

    def get(self, h: Any, keyword: str, default: Any = None) -> Any:
        tag = _MEMO_TAGS.get(keyword)
        if tag is not None and type(h) is Dataset:
            d = h.__dict__
            row = d["_dict"].get(tag)
            if row is None:
                return default
            src = d.get("_src")
            if type(row) is int and src is not None:
                r = src._rows[row] if src._rows is not None else src.tab[row].tolist()
                if r[0] == tag and r[2] >= 0:
                    key = (tag, r[1], r[7], bytes(src.buf[r[3]:r[3] + r[2]]))
                    v = self.values.get(key, _MISS)
                    if v is _MISS:
                        v = self.values[key] = _get(h, keyword)
                    return default if v is None else v
        return _get(h, keyword, default)


_MISS = object()
_PER_FRAME_TAG = 0x52009230  # Per-frame Functional Groups Sequence
_MEMO_TAGS = {kw: tag_for_keyword(kw) for kw in (
    "Rows", "Columns", "SamplesPerPixel", "NumberOfFrames", "ImageOrientationPatient", "PixelSpacing",
    "BitsAllocated", "BitsStored", "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "SeriesInstanceUID",
    "TemporalPositionIdentifier")}


def _frames_of(index: int, img: _Image, memo: _Memo | None = None) -> list[_Frame]:
    h = img.header
    g = _get if memo is None else memo.get
    rows, columns = _int(g(h, "Rows"), 0), _int(g(h, "Columns"), 0)
    samples = _int(g(h, "SamplesPerPixel"), 1)
    instance = _int(_get(h, "InstanceNumber"), -1)
    sop = str(_get(h, "SOPInstanceUID", "") or "")
    where = img.source if isinstance(img.source, str) else f"image {index}"
    if rows <= 0 or columns <= 0:
        raise GeometryError(f"{where}: Rows x Columns is {rows} x {columns}: not an image")
    nframes = _int(g(h, "NumberOfFrames"), 1)
    per_frame = (_get(h, "PerFrameFunctionalGroupsSequence")
                 if not isinstance(h, Dataset) or _PER_FRAME_TAG in h else None)
    if per_frame:
        shared_seq = _get(h, "SharedFunctionalGroupsSequence")
        shared = shared_seq[0] if shared_seq else None
        if len(per_frame) != nframes:
            raise GeometryError(f"{where}: Number of Frames is {nframes} but the Per-frame Functional Groups "
                                f"Sequence has {len(per_frame)} items")
        out = []
        for i, item in enumerate(per_frame):
            slope = _fg(item, shared, "PixelValueTransformationSequence", "RescaleSlope")
            intercept = _fg(item, shared, "PixelValueTransformationSequence", "RescaleIntercept")
            params = []
            if slope is not None:
                params.append(("RescaleSlope", float(slope)))
            if intercept is not None:
                params.append(("RescaleIntercept", float(intercept)))
            temporal = _fg(item, None, "FrameContentSequence", "TemporalPositionIndex")
            out.append(_Frame(FrameRef(img.source, i, tuple(params)), index,
                              as_floats(_fg(item, shared, "PlanePositionSequence", "ImagePositionPatient"), 3,
                                        what=f"{where} frame {i}: Image Position (Patient)"),
                              as_floats(_fg(item, shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6,
                                        what=f"{where} frame {i}: Image Orientation (Patient)"),
                              as_floats(_fg(item, shared, "PixelMeasuresSequence", "PixelSpacing"), 2,
                                        what=f"{where} frame {i}: Pixel Spacing"),
                              rows, columns, samples, instance, sop, float(_int(temporal, 0))))
        return out
    ipp = as_floats(_get(h, "ImagePositionPatient"), 3, what=f"{where}: Image Position (Patient)")
    iop = as_floats(g(h, "ImageOrientationPatient"), 6, what=f"{where}: Image Orientation (Patient)")
    ps = as_floats(g(h, "PixelSpacing"), 2, what=f"{where}: Pixel Spacing")
    temporal = float(_int(g(h, "TemporalPositionIdentifier"), 0))
    if nframes > 1:  # a multi-frame image without per-frame geometry (cine, ...): frames in order
        return [_Frame(FrameRef(img.source, i), index, None, iop, ps, rows, columns, samples, instance, sop,
                       float(i)) for i in range(nframes)]
    if isinstance(img.source, str) and isinstance(h, Dataset):
        layout = _native_layout(h, img.source, g)
    else:
        layout = img.layout
    return [_Frame(FrameRef(img.source, None, None, layout), index, ipp, iop, ps, rows, columns, samples, instance,
                   sop, temporal)]


_NATIVE_LE = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1"))
_LITTLE_HOST = sys.byteorder == "little"
_PIXEL_TAG_BYTES = b"\xe0\x7f\x10\x00"  # (7FE0,0010) in little endian
_NOT_PLAIN = (0x7FE00008, 0x7FE00009, 0x00283000)  # float pixel data, Modality LUT Sequence


def _number(v: Any) -> float | None:
    """A single numeric value (``None`` for anything else: the general path decides)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _native_layout(h: Dataset, path: str, g: Any = _get) -> tuple | None:
    """:func:`_layout_of` for a data set read from ``path`` with ``stop_before_pixels``."""
    if not _LITTLE_HOST:
        return None
    d = h.__dict__
    stop = getattr(d.get("_src"), "stop_pos", None)
    if stop is None or not d.get("is_little_endian") or str(d.get("read_transfer_syntax") or "") not in _NATIVE_LE:
        return None
    if any(t in h for t in _NOT_PLAIN):
        return None
    try:
        ident = _ident(os.stat(path))
    except OSError:
        return None
    return _layout_of(h, int(stop), bool(d.get("is_implicit_VR")), g, ident)


def _ident(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file apart from itself rewritten: device, inode, size, modification time."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _layout_of(h: Any, stop: int, implicit: bool, g: Any, ident: tuple) -> tuple | None:
    """``(offset, header_len, nbytes, dtype, bits_stored, bits_allocated, signed, slope, intercept,
    ident)`` of a plain native single-frame image in little endian whose Pixel Data element
    starts at ``stop`` (``None`` when its attributes need the general path); ``ident`` (see
    :func:`_ident`) is the file as its header was read: a file changed since is read by the
    general path."""
    if not _LITTLE_HOST:
        return None
    try:
        rows, columns = _int(g(h, "Rows"), 0), _int(g(h, "Columns"), 0)
        nf = g(h, "NumberOfFrames")
        if nf is not None and _int(nf, -1) != 1:
            return None
        rv, cv = g(h, "Rows"), g(h, "Columns")
        if type(rv) is not int or type(cv) is not int or (rv, cv) != (rows, columns):
            return None  # odd values (text, several values): the general path judges them
        ba, bs, pr, spp = (g(h, k) for k in ("BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel"))
        if not all(isinstance(x, int) for x in (ba, pr)) or ba not in (8, 16, 32) or pr not in (0, 1):
            return None
        bs = ba if bs is None else bs
        if not isinstance(bs, int) or not 1 <= bs <= ba or spp not in (None, 1):
            return None
        slope, intercept = g(h, "RescaleSlope"), g(h, "RescaleIntercept")
        slope = 1.0 if slope is None else _number(slope)
        intercept = 0.0 if intercept is None else _number(intercept)
        if slope is None or intercept is None:
            return None
    except (PacsnbError, TypeError, ValueError, UnicodeError):
        return None
    dtype = f"{'i' if pr else 'u'}{ba // 8}"
    nbytes = rows * columns * (ba // 8)
    return (int(stop), 8 if implicit else 12, nbytes, dtype, bs, ba, bool(pr), slope, intercept, ident)


# ---------------------------------------------------------------------------------------------
# the plan of one volume


@dataclass
class SeriesPlan:
    """Everything needed to build one volume, before any pixel is read.

    Made by :func:`plan_series`; :meth:`to_dataarray` reads the pixels (or wraps them in a
    lazy Dask array). The xarray backend builds its lazily indexed variable from the same
    plan.

    Attributes
    ----------
    refs
        Where each slice's pixels are, in volume order (``frame``-major, then ``z``).
    dims, shape
        Of the volume: ``("z", "y", "x")``, with a leading ``"frame"`` for several frames at
        each position (or instead of ``"z"`` for images without geometry) and a trailing
        ``"channel"`` for colour.
    dtype
        ``float32`` when rescaling, else the stored type.
    rescale
        Whether values are converted to modality units.
    coords, attrs
        Of the DataArray.
    warnings
        Geometry problems found (also in ``attrs["geometry_warnings"]``).

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> [plan] = plan_series(make_ct_series(n_slices=3, rows=8, columns=8))
    >>> plan.dims, plan.shape, len(plan.refs)
    (('z', 'y', 'x'), (3, 8, 8), 3)
    """

    refs: list[FrameRef]
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    rescale: bool
    coords: dict[str, Any]
    attrs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def plane_shape(self) -> tuple[int, ...]:
        """The shape of one slice: ``(y, x)`` or ``(y, x, channel)``."""
        return self.shape[-3:] if self.dims[-1] == "channel" else self.shape[-2:]

    @property
    def lead_shape(self) -> tuple[int, ...]:
        """The shape before the slice axes: ``(z,)``, ``(frame,)`` or ``(frame, z)``."""
        return self.shape[: len(self.shape) - len(self.plane_shape)]

    def load(self, indices: Iterable[int] | None = None, *, progress: bool = False) -> np.ndarray:
        """Read and decode slices (all by default) into a new array of shape ``(k, *plane_shape)``.

        Parameters
        ----------
        indices
            Flat slice indices into :attr:`refs`.
        progress
            Show a progress bar.

        Returns
        -------
        numpy.ndarray
        """
        idx = list(range(len(self.refs))) if indices is None else [int(i) for i in indices]
        return load_slices([self.refs[i] for i in idx], self.plane_shape, self.dtype, self.rescale,
                           progress=progress)

    def to_dataarray(self, chunks: Any = None, *, progress: bool = True):
        """The volume as an ``xarray.DataArray``: read now, or lazily with ``chunks``.

        Parameters
        ----------
        chunks
            ``None`` (read now), ``True``/``"auto"`` (a Dask array, one slice per chunk),
            an int (slices per chunk) or a dict ``{"z": n, ...}``.
        progress
            Show a progress bar while reading (never for lazy arrays).

        Returns
        -------
        xarray.DataArray
        """
        import xarray as xr

        if chunks is None or chunks is False:
            data = self.load(progress=progress).reshape(self.shape)
        else:
            data = self._dask(chunks)
        return xr.DataArray(data, dims=self.dims, coords=self.coords, attrs=dict(self.attrs), name="image")

    def _dask(self, chunks: Any):
        import dask
        import dask.array as da
        from dask.base import tokenize

        per, rest = _parse_chunks(chunks, self.dims)
        lead = self.lead_shape
        if len(lead) > 1:
            per = 1
        n = len(self.refs)
        token = tokenize([(_token_of(r.source), r.frame, r.params) for r in self.refs], self.plane_shape,
                         str(self.dtype), self.rescale)
        blocks = []
        for s in range(0, n, per):
            e = min(n, s + per)
            task = dask.delayed(load_slices, pure=True, name=f"pacsnb-slices-{token}-{s}")
            blocks.append(da.from_delayed(task(self.refs[s:e], self.plane_shape, self.dtype, self.rescale),
                                          shape=(e - s,) + tuple(self.plane_shape), dtype=self.dtype,
                                          name=f"pacsnb-series-{token}-{s}"))
        arr = da.concatenate(blocks, axis=0)
        if len(lead) > 1:
            arr = arr.reshape(self.shape)
        if rest:
            arr = arr.rechunk({self.dims.index(d): v for d, v in rest.items()})
        return arr


def _token_of(source: Any) -> Any:
    return source if isinstance(source, str) else id(source)


def _parse_chunks(chunks: Any, dims: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    lead_dim = dims[0]
    if chunks is True or chunks == "auto":
        return 1, {}
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        if chunks < 1:
            raise PacsnbError(f"chunks must be at least 1 slice, got {chunks}")
        return int(chunks), {}
    if isinstance(chunks, Mapping):
        rest = {d: v for d, v in chunks.items() if d != lead_dim}
        unknown = set(rest) - set(dims)
        if unknown:
            raise PacsnbError(f"chunks names dims {sorted(unknown)} that the volume does not have {dims}")
        v = chunks.get(lead_dim, 1)
        if v in (-1, None):
            v = 1 << 30
        return max(1, int(v)), rest
    raise PacsnbError(f"chunks must be None, True, 'auto', an int or a dict of dims, not {chunks!r}")


# ---------------------------------------------------------------------------------------------
# decoding


def _stored_dtype(h: Any) -> np.dtype:
    ba = _int(_get(h, "BitsAllocated"), 16)
    signed = _int(_get(h, "PixelRepresentation"), 0) == 1
    if ba == 1:
        return np.dtype(np.uint8)
    if ba in (8, 16, 32, 64):
        return np.dtype(f"{'i' if signed else 'u'}{ba // 8}")
    raise GeometryError(f"Bits Allocated {ba} is not one pacsnb reads into a volume (1, 8, 16, 32 or 64)")


def _open_source(source: Any) -> Dataset:
    return source if isinstance(source, Dataset) else read(source)


def load_slices(refs: list[FrameRef], plane_shape: tuple[int, ...], dtype: Any, rescale: bool,
                out: np.ndarray | None = None, *, progress: bool = False) -> np.ndarray:
    """Read and decode slices into one array (the work of each lazy chunk).

    Parameters
    ----------
    refs
        The slices (file or data set, frame, rescale parameters).
    plane_shape
        The shape of one slice.
    dtype
        ``float32`` to rescale into, or the stored type.
    rescale
        Apply the Modality LUT (Rescale Slope and Intercept, or the LUT sequence),
        writing each slice's result straight into the output.
    out
        An array of shape ``(len(refs), *plane_shape)`` to fill instead of a new one.
    progress
        Show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``(len(refs), *plane_shape)``.

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> s = make_ct_series(n_slices=2, rows=4, columns=4, noise=0, phantom="sphere")
    >>> load_slices([FrameRef(s[0]), FrameRef(s[1])], (4, 4), "float32", True)[:, 0, 0].tolist()
    [-1000.0, -1000.0]
    """
    dt = np.dtype(dtype)
    n = len(refs)
    if out is None:
        out = np.empty((n,) + tuple(plane_shape), dt)
    if n == 0:
        return out
    threads = min(4, os.cpu_count() or 1)
    if n >= _THREADS_FROM and threads > 1 and not any(isinstance(r.source, Dataset) for r in refs):
        # file reading and the rescale kernel release the GIL: two or more threads overlap them
        bounds = np.linspace(0, n, threads + 1).astype(int)
        bar = _bar(n, progress)
        pool = _pool(threads)
        futures = [pool.submit(_fill, refs, out, int(a), int(b), rescale, bar)
                   for a, b in zip(bounds[:-1], bounds[1:])]
        try:
            _wait_all(futures)  # all of them, also when one fails: none writes later
            for f in futures:
                f.result()
        finally:
            if bar is not None:
                bar.close()
    else:
        bar = _bar(n, progress)
        try:
            _fill(refs, out, 0, n, rescale, bar)
        finally:
            if bar is not None:
                bar.close()
    return out


_POOL: ThreadPoolExecutor | None = None
_POOL_KEY: tuple[int, int] | None = None  # (process id, threads) of _POOL
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """The reading threads, kept for the next volumes (starting threads for each call costs
    more than a small volume takes to read). Tasks never wait for other tasks of the pool.
    A process made by ``fork`` (a DataLoader worker, a multiprocessing pool) has none of its
    parent's threads: it gets its own pool."""
    global _POOL, _POOL_KEY
    key = (os.getpid(), threads)
    with _POOL_LOCK:
        if _POOL is None or _POOL_KEY != key:
            if _POOL is not None and _POOL_KEY[0] == key[0]:
                _POOL.shutdown(wait=False)
            _POOL, _POOL_KEY = ThreadPoolExecutor(threads, thread_name_prefix="pacsnb-volume"), key
        return _POOL


def _after_fork() -> None:  # the lock may have been held by a thread that does not exist here
    global _POOL_LOCK
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _bar(n: int, progress: bool, desc: str = "decoding slices"):
    if not progress or n < 32:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, desc=desc, leave=False)


def _fill(refs: list[FrameRef], out: np.ndarray, a: int, b: int, rescale: bool, bar) -> None:
    cache_key, ds = None, None
    scratch: dict[str, np.ndarray] = {}
    for i in range(a, b):
        ref = refs[i]
        if ref.layout is not None and _read_native(ref, out[i], rescale, scratch):
            if bar is not None:
                bar.update(1)
            continue
        key = _token_of(ref.source)
        if key != cache_key:
            ds = _open_source(ref.source)
            cache_key = key
        _decode_into(ds, ref, out[i], rescale)
        if bar is not None:
            bar.update(1)


def _pread(path: str, header: bytearray, data: memoryview, offset: int, ident: tuple) -> int:
    """Read the element header then the pixel bytes at ``offset`` of a file: bytes read
    (``-1`` when the file is no longer the one planned: ``ident`` differs)."""
    fd = os.open(path, _O_READ)
    try:
        if _ident(os.fstat(fd)) != ident:
            return -1
        if _HAVE_PREADV:
            return os.preadv(fd, [header, data], offset)
        os.lseek(fd, offset, os.SEEK_SET)
        return os.readv(fd, [header, data])
    finally:
        os.close(fd)


_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_HAVE_PREADV = hasattr(os, "preadv")


def _read_native(ref: FrameRef, plane: np.ndarray, rescale: bool, scratch: dict[str, np.ndarray]) -> bool:
    """Read a plain native slice straight into ``plane`` (see ``FrameRef.layout``).

    ``False`` when the file is not as planned (changed since, or not what the header
    suggested): the caller then takes the general path, which also gives the errors."""
    offset, hlen, nbytes, dtype, bs, ba, signed, slope, intercept, ident = ref.layout
    n = plane.size
    if n * (ba // 8) != nbytes or not plane.flags.c_contiguous:
        return False
    flat = plane.reshape(-1)
    direct = not rescale and plane.dtype == np.dtype(dtype)
    if direct:
        buf = flat
    else:
        buf = scratch.get(dtype)
        if buf is None or buf.shape[0] < n:
            buf = scratch[dtype] = np.empty(n, dtype)
        buf = buf[:n]
    header = bytearray(hlen)
    try:
        got = _pread(ref.source, header, memoryview(buf).cast("B"), offset, ident)
    except OSError:
        return False
    if got != hlen + nbytes or header[:4] != _PIXEL_TAG_BYTES:
        return False
    length = int.from_bytes(header[hlen - 4:], "little")
    if length != nbytes + (nbytes & 1) or (hlen == 12 and header[4:8] not in (b"OW\0\0", b"OB\0\0")):
        return False
    if rescale:
        if plane.dtype != np.float32:
            return False
        VK.stored_to_float(buf, bs, ba, signed, slope, intercept, flat)
        return True
    VK.fix_high_bits(buf, bs, ba, signed)
    if not direct:
        plane[...] = buf.reshape(plane.shape)
    return True


def _decode_into(ds: Dataset, ref: FrameRef, plane: np.ndarray, rescale: bool) -> None:
    arr = pixel_array(ds, frame=ref.frame)
    if arr.shape != plane.shape:
        where = ref.source if isinstance(ref.source, str) else "a data set"
        raise GeometryError(f"{where}: the pixel data has shape {arr.shape}, the volume's slices {plane.shape}: "
                            "the header and the pixels disagree")
    if rescale and arr.ndim == 2:
        params: Any = ds if ref.params is None else dict(ref.params)
        res = apply_modality_lut(arr, params, out=plane) if plane.dtype == np.float32 else None
        if res is None:
            plane[...] = apply_modality_lut(arr, params)
        elif res is not plane:  # nothing to rescale, or a LUT: copy the values in
            plane[...] = res
    else:
        plane[...] = arr


# ---------------------------------------------------------------------------------------------
# planning


def _plain(e: Any) -> Any:
    v = e.value
    if v is None:
        return None
    vr = e.VR
    try:
        if vr == "DS":
            return [float(x) for x in v] if isinstance(v, list) else float(v)
        if vr == "IS":
            return [int(x) for x in v] if isinstance(v, list) else int(v)
    except (TypeError, ValueError):
        return str(v)
    if isinstance(v, list):
        return [x if isinstance(x, (int, float)) else str(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        return None
    return str(v)


def _series_attrs(header: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if isinstance(header, Dataset):
        for e in header:
            kw = e.keyword
            if not kw or e.VR in _BULK_VRS or kw in _PER_INSTANCE or (int(e.tag) >> 16) in (0x0002, 0x7FE0):
                continue
            try:
                v = _plain(e)
            except (PacsnbError, UnicodeError):
                continue
            if v is not None:
                attrs[kw] = v
    else:
        for k, v in header.items():
            if k in _PER_INSTANCE or v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            attrs[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return attrs


def _group_key(f: _Frame) -> tuple:
    iop = None if f.iop is None else tuple(round(v, 4) for v in f.iop)
    ps = None if f.spacing is None else tuple(round(v, 4) for v in f.spacing)
    return (f.rows, f.columns, f.samples, iop, ps)


def _describe_group(key: tuple, frames: list[_Frame]) -> str:
    rows, columns, samples, iop, ps = key
    where = "orientation " + (f"{orientation_label(iop)} {list(iop)}" if iop else "none")
    size = f"{rows}x{columns}" + (f"x{samples}" if samples > 1 else "")
    spacing = f"spacing {ps[0]:g}x{ps[1]:g} mm" if ps else "no spacing"
    numbers = sorted(f.instance for f in frames)
    return f"{where}, {size}, {spacing}: {len(frames)} image(s) (Instance Numbers {numbers[0]}..{numbers[-1]})"


def _series_check(images: list[_Image], series_uid: str | None, what: str, memo: _Memo | None = None) -> list[_Image]:
    g = _get if memo is None else memo.get
    uids = [str(g(im.header, "SeriesInstanceUID", "") or "") for im in images]
    if series_uid is not None:
        chosen = [im for im, u in zip(images, uids) if u == str(series_uid)]
        if not chosen:
            raise GeometryError(f"{what} holds no image of series {series_uid}; it has {sorted(set(uids))}")
        return chosen
    counts = Counter(uids)
    if len(counts) <= 1:
        return images
    first = {}
    for im, u in zip(images, uids):
        if u not in first:
            # a header decoded in part only: the whole one for the message (description...)
            first[u] = _read_header(im.source) if isinstance(im.header, _FastHeader) else im.header
    lines = []
    for u, c in counts.most_common():
        h = first[u]
        desc = " ".join(str(x) for x in (_get(h, "Modality", ""), f"#{_get(h, 'SeriesNumber', '')}",
                                            _get(h, "SeriesDescription", "")) if x)
        lines.append(f"  {u or '(no SeriesInstanceUID)'}: {c} image(s)  {desc}")
    uid0 = counts.most_common(1)[0][0]
    raise GeometryError(
        f"{what} holds {len(counts)} series; open_series opens one.\n" + "\n".join(lines)
        + f"\nSelect one: open_series(df[df.SeriesInstanceUID == '{uid0}']) with the rows of pacsnb.scan(), "
        f"or open_series(..., series_uid='{uid0}')")


def plan_series(source: SeriesSource, *, rescale: bool = True, series_uid: str | None = None,
                split: bool = False, progress: bool = False) -> list[SeriesPlan]:
    """Read the headers of one series and work out its volume(s), without reading pixels.

    Parameters
    ----------
    source, rescale, series_uid, split, progress
        As for :func:`open_series`.

    Returns
    -------
    list of SeriesPlan
        One plan, or with ``split=True`` one per group of images of the same orientation,
        size and spacing (largest group first).

    Raises
    ------
    GeometryError
        As :func:`open_series`.

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> s = make_ct_series(n_slices=3, rows=8, columns=8) + make_ct_series(
    ...     n_slices=2, rows=8, columns=8, orientation=(1, 0, 0, 0, 0, -1))
    >>> [p.shape for p in plan_series(s, split=True)]
    [(3, 8, 8), (2, 8, 8)]
    """
    images, what = _images_from(source, progress)
    memo = _Memo()
    images = _series_check(images, series_uid, what, memo)
    frames = [f for i, im in enumerate(images) for f in _frames_of(i, im, memo)]
    groups: dict[tuple, list[_Frame]] = {}
    for f in frames:
        groups.setdefault(_group_key(f), []).append(f)
    if len(groups) > 1 and not split:
        lines = "\n".join("  " + _describe_group(k, g) for k, g in
                          sorted(groups.items(), key=lambda kv: -len(kv[1])))
        raise GeometryError(f"{what} mixes {len(groups)} orientations / image sizes / pixel spacings in one series; "
                            f"a volume needs one of each:\n{lines}\nPass split=True for one volume per group, or "
                            "select the rows of one group (e.g. by ImageOrientationPatient, Rows, Columns)")
    plans = []
    for key, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        plans.append(_plan_group(group, images, rescale))
    return plans


def _plan_group(frames: list[_Frame], images: list[_Image], rescale: bool) -> SeriesPlan:
    first = frames[0]
    header = images[first.image].header
    if not isinstance(header, Dataset) and isinstance(images[first.image].source, str):
        header = _read_header(images[first.image].source)  # all attributes, for .attrs
    attrs = _series_attrs(header)
    rows, columns, samples = first.rows, first.columns, first.samples
    plane_dims: tuple[str, ...] = ("y", "x") + (("channel",) if samples > 1 else ())
    plane_shape = (rows, columns) + ((samples,) if samples > 1 else ())
    if rescale:
        dtype = np.dtype(np.float32)
    else:
        dtype = _stored_dtype(header)
    coords: dict[str, Any] = {}
    warn: list[str] = []
    with_geometry = [f.ipp is not None and f.iop is not None and f.spacing is not None for f in frames]
    if not any(with_geometry):
        return _plan_frames(frames, images, header, attrs, plane_dims, plane_shape, dtype, rescale)
    if not all(with_geometry):
        bad = [f for f, ok in zip(frames, with_geometry) if not ok][0]
        where = bad.ref.source if isinstance(bad.ref.source, str) else f"image {bad.image}"
        raise GeometryError(f"{where} has no Image Position (Patient), Image Orientation (Patient) or Pixel Spacing "
                            "while other images of the series have them: they cannot be placed in one volume")
    iop, ps = first.iop, first.spacing
    _, _, normal = direction_cosines(iop)
    pos = np.array([f.ipp for f in frames], dtype=np.float64)
    d = pos @ normal
    order = np.argsort(d, kind="stable")
    # clusters of slices at the same position: several frames (phases, ...) per position
    clusters: list[list[int]] = []
    for i in order:
        if clusters and abs(d[i] - d[clusters[-1][0]]) <= ABS_TOL:
            clusters[-1].append(int(i))
        else:
            clusters.append([int(i)])
    sizes = {len(c) for c in clusters}
    if len(sizes) > 1:
        dup = [c for c in clusters if len(c) > 1]
        at = ", ".join(f"{d[c[0]]:.2f}" for c in dup[:5])
        raise GeometryError(f"{len(dup)} position(s) along the normal hold several images (at {at} mm) but others "
                            f"hold one: the images are not one stack with the same number of frames everywhere "
                            "(several acquisitions?); select one set, e.g. by AcquisitionNumber, "
                            "TemporalPositionIdentifier or EchoNumbers")
    nt = sizes.pop()
    for c in clusters:
        c.sort(key=lambda i: (frames[i].temporal, frames[i].instance, frames[i].ref.frame or 0))
    reps = [c[0] for c in clusters]
    geo = analyze_stack(pos[reps], iop)  # reps are already sorted: geo.order is the identity
    ordered = [[c[t] for c in clusters] for t in range(nt)]  # [frame][z]
    refs = [frames[i].ref for row in ordered for i in row]
    z_frames = [frames[i] for i in reps]
    coords["z"] = ("z", geo.z.copy(), {"units": "mm", "long_name": "position along the slice normal"})
    coords["y"] = ("y", np.arange(rows) * ps[0], {"units": "mm", "long_name": "distance along the columns"})
    coords["x"] = ("x", np.arange(columns) * ps[1], {"units": "mm", "long_name": "distance along the rows"})
    for j, axis in enumerate("xyz"):
        coords[f"ipp_{axis}"] = ("z", geo.positions[:, j].copy(),
                                 {"units": "mm", "long_name": f"Image Position (Patient) {axis}"})
    lead_dims: tuple[str, ...] = ("z",)
    lead_shape: tuple[int, ...] = (len(clusters),)
    if nt > 1:
        lead_dims, lead_shape = ("frame", "z"), (nt, len(clusters))
        coords["frame"] = ("frame", np.arange(nt))
        coords["InstanceNumber"] = (("frame", "z"), np.array([[frames[i].instance for i in row] for row in ordered]))
        coords["SOPInstanceUID"] = (("frame", "z"), np.array([[frames[i].sop for i in row] for row in ordered]))
    else:
        coords["InstanceNumber"] = ("z", np.array([f.instance for f in z_frames]))
        coords["SOPInstanceUID"] = ("z", np.array([f.sop for f in z_frames]))
        if all(isinstance(f.ref.source, str) for f in z_frames):
            coords["path"] = ("z", np.array([f.ref.source for f in z_frames]))
        if any(f.ref.frame is not None for f in z_frames):
            coords["frame_index"] = ("z", np.array([-1 if f.ref.frame is None else f.ref.frame for f in z_frames]))
    if samples > 1:
        coords["channel"] = ("channel", np.arange(samples))
    affine = affine_matrix(iop, ps, geo.positions[0], geo.step)
    attrs.update(_geometry_attrs(geo, iop, ps, affine))
    attrs.update(_value_attrs(header, rescale))
    if len(images) == 1 and len(frames) > 1:
        attrs["NumberOfFrames"] = len(frames)
    for w in geo.warnings:
        warnings.warn(GeometryWarning(w), stacklevel=4)
        log.info("%s", w)
    return SeriesPlan(refs, lead_dims + plane_dims, lead_shape + plane_shape, dtype, rescale, coords, attrs,
                      list(geo.warnings))


def _plan_frames(frames, images, header, attrs, plane_dims, plane_shape, dtype, rescale) -> SeriesPlan:
    """Images without geometry (cine loops, projections): a ``frame`` axis in image order."""
    order = sorted(range(len(frames)), key=lambda i: (frames[i].instance, frames[i].image, frames[i].ref.frame or 0))
    fr = [frames[i] for i in order]
    ps = fr[0].spacing or as_floats(_get(header, "ImagerPixelSpacing"), 2) or None
    rows, columns = plane_shape[:2]
    coords: dict[str, Any] = {"frame": ("frame", np.arange(len(fr)))}
    if ps:
        coords["y"] = ("y", np.arange(rows) * ps[0], {"units": "mm"})
        coords["x"] = ("x", np.arange(columns) * ps[1], {"units": "mm"})
    else:
        coords["y"] = ("y", np.arange(rows), {"units": "pixel"})
        coords["x"] = ("x", np.arange(columns), {"units": "pixel"})
    if len(plane_shape) == 3:
        coords["channel"] = ("channel", np.arange(plane_shape[2]))
    coords["InstanceNumber"] = ("frame", np.array([f.instance for f in fr]))
    attrs.update(_value_attrs(header, rescale))
    attrs["geometry_warnings"] = ["the images have no Image Position / Orientation (Patient): no z axis, "
                                  "frames in Instance Number order"]
    return SeriesPlan([f.ref for f in fr], ("frame",) + plane_dims, (len(fr),) + tuple(plane_shape), dtype, rescale,
                      coords, attrs, list(attrs["geometry_warnings"]))


def _geometry_attrs(geo: StackGeometry, iop: list[float], ps: list[float], affine: np.ndarray) -> dict[str, Any]:
    return {
        "ImageOrientationPatient": [float(v) for v in iop],
        "PixelSpacing": [float(v) for v in ps],
        "affine": affine,
        "orientation": orientation_label(iop),
        "slice_spacing": float(geo.spacing),
        "missing_slices": len(geo.missing),
        "missing_positions": [float(v) for v in geo.missing],
        "uneven_spacing": bool(geo.uneven),
        "gantry_tilt": float(round(geo.tilt, 6)),
        "regular_grid": bool(geo.regular),
        "geometry_warnings": list(geo.warnings),
    }


def _value_attrs(header: Any, rescale: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"rescaled": bool(rescale)}
    if rescale:
        units = _get(header, "RescaleType")
        shared = _get(header, "SharedFunctionalGroupsSequence")
        if units is None and shared:
            units = _fg(shared[0], None, "PixelValueTransformationSequence", "RescaleType")
        if units is None and str(_get(header, "Modality", "")) == "CT":
            units = "HU"
        if units:
            out["units"] = str(units)
    return out


# ---------------------------------------------------------------------------------------------
# the public function


def open_series(source: SeriesSource, chunks: Any = None, rescale: bool = True, *, series_uid: str | None = None,
                split: bool = False, progress: bool = True):
    """Open one series as an ``xarray.DataArray`` with coordinates in millimetres.

    Parameters
    ----------
    source
        The rows of one series from :func:`pacsnb.scan` (a DataFrame with a ``path``
        column; geometry columns are used when present, headers re-read when not), a
        folder, a file, a list of paths, or data sets in memory.
    chunks
        ``None`` reads the pixels now into a numpy array. ``True`` or ``"auto"`` gives a
        lazy Dask array with one slice per chunk; an int, that many slices per chunk; a
        dict such as ``{"z": 8, "y": 256}`` chunks the other dims too. Nothing is read
        until computed, and each chunk reads only its own slices.
    rescale
        Convert stored values to modality units (Rescale Slope/Intercept or the Modality
        LUT; Hounsfield units for CT) as ``float32``. ``False`` keeps the stored values and
        type.
    series_uid
        Select one series when ``source`` holds several.
    split
        Return a list of volumes, one per orientation / image size / pixel spacing found,
        instead of refusing a mixed series.
    progress
        Show progress bars while reading (series of 32 images or more).

    Returns
    -------
    xarray.DataArray or list of xarray.DataArray
        Dims ``("z", "y", "x")``, or ``("frame", "z", "y", "x")`` when each position has
        several frames (phases), ``("frame", "y", "x")`` for images without geometry, and a
        trailing ``"channel"`` for colour. Coordinates: ``z`` (position along the normal),
        ``y``, ``x`` (mm from the first row / column), ``ipp_x``, ``ipp_y``, ``ipp_z``,
        ``InstanceNumber``, ``SOPInstanceUID`` and ``path`` per slice. ``.attrs``: the
        series attributes, ``affine`` (4x4, voxel ``(x, y, z)`` indices to patient LPS
        mm), ``slice_spacing``, ``missing_slices``, ``uneven_spacing``, ``gantry_tilt``,
        ``geometry_warnings``, ``units``.

    Raises
    ------
    GeometryError
        When the input holds several series (the message lists them with their counts and
        says how to select one), mixes orientations or image sizes (unless ``split``), puts
        different numbers of images at different positions, or lacks geometry for some
        images.
    InvalidDicomError, CodecError
        When a file cannot be read or decoded.

    Warns
    -----
    GeometryWarning
        For missing slices, uneven spacing, gantry tilt or positions off a line (also in
        ``attrs["geometry_warnings"]``).

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.samples import iter_ct_series, write_cohort
    >>> folder = tempfile.mkdtemp(prefix="pacsnb-doc-")
    >>> _ = write_cohort(folder, iter_ct_series(n_slices=5, rows=16, columns=16), layout="flat", progress=False)
    >>> vol = open_series(folder)
    >>> vol.shape, vol.attrs["Modality"], vol.attrs["affine"][:3, 2].tolist()
    ((5, 16, 16), 'CT', [0.0, 0.0, 2.5])
    >>> lazy = open_series(folder, chunks=True)
    >>> bool((lazy[2].compute() == vol[2]).all())
    True
    """
    plans = plan_series(source, rescale=rescale, series_uid=series_uid, split=split, progress=progress)
    arrays = [p.to_dataarray(chunks, progress=progress) for p in plans]
    return arrays if split else arrays[0]
