"""Pixel transforms: Modality LUT, VOI LUT, MONOCHROME1, colour spaces, palettes, overlays.

Each transform is a pure function ``(array, dataset-or-parameters) -> new array``; the
input is never modified. The dataset can be a :class:`~pacsnb.dicom.Dataset`, a mapping
of keywords to values (``{"RescaleSlope": 2, "RescaleIntercept": -1024}``), or ``None``
with the parameters given as keyword arguments (which win over the dataset's). The hot
loops are numba kernels (:mod:`pacsnb.pixels._kernels`) that make one pass over memory
and release the GIL.

The order of the grayscale pipeline is that of PS3.4 N.2.1.1: stored values ->
:func:`apply_modality_lut` -> :func:`apply_voi_lut` -> (:func:`invert_monochrome1` for
MONOCHROME1) -> display. Conventions follow PS3.3 C.11 (Modality and VOI LUTs, window
center/width LINEAR, LINEAR_EXACT and SIGMOID), C.7.6.3.1.2 (YBR_FULL, YBR_FULL_422,
YBR_ICT, YBR_RCT), C.7.6.3.1.5/6 and C.7.9 (palette colour LUTs, segmented palettes) and
C.9 (overlay planes).

Examples
--------
>>> import numpy as np
>>> from pacsnb.dicom import Dataset
>>> from pacsnb.pixels import apply_modality_lut, apply_voi_lut
>>> ds = Dataset({"RescaleSlope": "1", "RescaleIntercept": "-1024", "BitsStored": 12,
...               "PixelRepresentation": 0, "WindowCenter": "40", "WindowWidth": "400"})
>>> hu = apply_modality_lut(np.array([0, 1024, 1064, 2000], np.uint16), ds)
>>> hu
array([-1024.,     0.,    40.,   976.], dtype=float32)
>>> apply_voi_lut(hu, None, center=40, width=400, output_range=(0, 255)).round(1)
array([  0. , 102.3, 127.8, 255. ], dtype=float32)
"""
from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import InvalidDicomError, PacsnbError, TransformError
from pacsnb.pixels import _kernels as K

__all__ = ["apply_modality_lut", "apply_voi_lut", "apply_windowing", "apply_voi", "invert_monochrome1",
           "convert_color_space", "apply_palette", "overlay_array", "overlay_groups", "LUT",
           "expand_segmented_lut", "TransformError"]

log = logging.getLogger(__name__)


ParamsLike = Dataset | Mapping[str, Any] | None

_FUNCTIONS = {"LINEAR": K.LINEAR, "LINEAR_EXACT": K.LINEAR_EXACT, "SIGMOID": K.SIGMOID}


# ---------------------------------------------------------------------------------------
# helpers


def _get(src: ParamsLike, keyword: str, default: Any = None) -> Any:
    if src is None:
        return default
    v = src.get(keyword, default)
    return default if v is None else v


def _where(src: ParamsLike) -> str | None:
    if not isinstance(src, Dataset):
        return None
    d = src
    while d.__dict__.get("_parent") is not None:
        d = d.__dict__["_parent"]
    return d.__dict__.get("filename")


def _missing(src: ParamsLike, what: str, hint: str) -> PacsnbError:
    if isinstance(src, Dataset):
        return InvalidDicomError(f"{what}; {hint}", path=_where(src))
    return TransformError(f"{what}; {hint}")


def _values(v: Any) -> list:
    """A single value or a multi-value as a list."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
        return [v]
    return list(v)


def _float(v: Any, name: str, src: ParamsLike) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise _missing(src, f"{name} has the value {v!r}, which is not a number",
                       "fix the attribute or pass the value explicitly") from None
    if not math.isfinite(f):
        raise _missing(src, f"{name} is {f}", "it must be a finite number")
    return f


def _flat(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arr).reshape(-1)


#: Arrays of at least this many values are split across threads (the kernels release the GIL).
PARALLEL_MIN = 1 << 20
_pool = None
_pool_lock = threading.Lock()


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _run_split(kernel, src: np.ndarray, out: np.ndarray, *args) -> None:
    """``kernel(src, *args, out)`` for an element-wise kernel over flat arrays, split into
    one contiguous chunk per core when the array is large: each chunk is the same kernel
    on a slice, so the result is identical, and first-touch page faults of a new ``out``
    are shared out too."""
    n = src.shape[0]
    workers = _threads()
    if n < PARALLEL_MIN or workers == 1:
        kernel(src, *args, out)
        return
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pacsnb-pixels")
    step = -(-n // workers)
    jobs = [_pool.submit(kernel, src[i:i + step], *args, out[i:i + step]) for i in range(0, n, step)]
    for job in jobs:
        job.result()


def _out(out: np.ndarray | None, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A flat view of the caller's ``out`` array (checked), or a new flat array."""
    if out is None:
        return np.empty(int(np.prod(shape)), dtype)
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous \
            or not out.flags.writeable:
        raise TransformError(f"out must be a writable C-contiguous {dtype} array of shape {shape}")
    return out.reshape(-1)


def _as_array(arr: Any) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind not in "uifb":
        raise TransformError(f"expected a numeric array, got dtype {a.dtype}")
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def _stored_range(src: ParamsLike) -> tuple[float, float] | None:
    """The range of stored values from Bits Stored and Pixel Representation."""
    bs = _get(src, "BitsStored")
    if bs is None:
        return None
    bs = int(bs)
    if int(_get(src, "PixelRepresentation", 0)) == 1:
        return float(-(1 << (bs - 1))), float((1 << (bs - 1)) - 1)
    return 0.0, float((1 << bs) - 1)


def _le_bytes(v: Any) -> np.ndarray:
    """An OB/OW/US value as its bytes in little endian order (the order of PS3.5 for 8-bit
    data packed into OW words)."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return np.frombuffer(v, np.uint8)
    a = np.asarray(v)
    if a.dtype.kind == "O":
        a = a.astype(np.uint16)
    if a.dtype.kind not in "ui":
        raise TransformError(f"expected bytes or an integer array, got {a.dtype}")
    a = np.ascontiguousarray(a)
    return a.astype(a.dtype.newbyteorder("<")).view(np.uint8).reshape(-1)


# ---------------------------------------------------------------------------------------
# lookup tables


@dataclass(frozen=True, slots=True)
class LUT:
    """A lookup table of PS3.3 C.11.1.1.1 / C.11.2.1.1 / C.7.6.3.1.5: the input value
    ``first`` maps to ``data[0]``; lower inputs to ``data[0]``, higher ones past the end to
    ``data[-1]``.

    Attributes
    ----------
    first
        First Value Mapped (second value of LUT Descriptor); may be negative.
    bits
        Bits per entry (third value of LUT Descriptor).
    data
        The entries, ``uint8`` or ``uint16``.

    Examples
    --------
    >>> import numpy as np
    >>> lut = LUT.from_descriptor([4, -2, 8], [10, 20, 30, 40])
    >>> lut.first, lut.data
    (-2, array([10, 20, 30, 40], dtype=uint8))
    >>> lut(np.array([-5, -1, 0, 9]))
    array([10, 20, 30, 40], dtype=uint8)
    """

    first: int
    bits: int
    data: np.ndarray

    @classmethod
    def from_descriptor(cls, descriptor: Any, data: Any, *, signed: bool = False) -> "LUT":
        """Build a LUT from the three LUT Descriptor values and the LUT Data.

        ``signed`` says that First Value Mapped is a signed 16-bit number (Pixel
        Representation 1): a descriptor read as US then gives e.g. 65534 for -2. An
        OW value with 8-bit entries packed two per word is unpacked.
        """
        desc = [int(x) for x in _values(descriptor)]
        if len(desc) != 3:
            raise TransformError(f"a LUT Descriptor has 3 values, got {len(desc)}: {desc}")
        n, first, bits = desc
        n = n or 65536  # PS3.3 C.11.1.1.1: 0 means 2**16 entries
        if signed and first >= 32768:
            first -= 65536
        if not 1 <= bits <= 16:
            raise TransformError(f"LUT Descriptor says {bits} bits per entry; it must be 1 .. 16")
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = np.frombuffer(data, np.uint8)
            entries = raw if (bits <= 8 and raw.size == n) else raw[: raw.size // 2 * 2].view("<u2")
        else:
            a = np.asarray(_values(data) if not isinstance(data, np.ndarray) else data)
            if bits <= 8 and a.dtype.itemsize == 2 and a.size * 2 in (n, n + 1) and a.size != n:
                entries = _le_bytes(a)[:n]  # 8-bit entries packed two per OW word
            else:
                entries = a
        entries = np.asarray(entries)
        if entries.size < n:
            raise TransformError(f"LUT Data has {entries.size} entries but the LUT Descriptor says {n}")
        dtype = np.uint8 if bits <= 8 and int(entries[:n].max(initial=0)) < 256 else np.uint16
        return cls(first, bits, np.ascontiguousarray(entries[:n].astype(dtype)))

    @classmethod
    def from_item(cls, item: Any, *, signed: bool = False, what: str = "LUT") -> "LUT":
        """Build a LUT from a sequence item with LUT Descriptor and LUT Data."""
        desc = _get(item, "LUTDescriptor")
        data = _get(item, "LUTData")
        if desc is None or data is None:
            missing = "LUT Descriptor (0028,3002)" if desc is None else "LUT Data (0028,3006)"
            raise _missing(item, f"the {what} item has no {missing}", "a LUT needs both")
        return cls.from_descriptor(desc, data, signed=signed)

    def __call__(self, arr: Any) -> np.ndarray:
        a = _as_array(arr)
        out = np.empty(a.size, self.data.dtype)
        src = _flat(a) if a.dtype.kind in "ui" else _flat(np.floor(a)).astype(np.int64)
        K.apply_lut(src, self.first, self.data, out)
        return out.reshape(a.shape)


def _signed(src: ParamsLike) -> bool:
    return int(_get(src, "PixelRepresentation", 0) or 0) == 1


# ---------------------------------------------------------------------------------------
# Modality LUT


def apply_modality_lut(arr: Any, ds_or_params: ParamsLike = None, *, slope: float | None = None,
                       intercept: float | None = None, lut: LUT | None = None,
                       dtype: Any = np.float32, out: np.ndarray | None = None) -> np.ndarray:
    """Stored values to modality values (Hounsfield units, ...): PS3.3 C.11.1.

    A Modality LUT Sequence (0028,3000) maps through its LUT (output ``uint8`` or
    ``uint16``); otherwise Rescale Slope (0028,1053) and Rescale Intercept (0028,1052)
    give ``arr * slope + intercept`` in one fused pass (output ``dtype``, float32 by
    default). With neither, ``arr`` comes back unchanged.

    Parameters
    ----------
    arr
        Stored values, any shape.
    ds_or_params
        A Dataset, a mapping of keywords, or ``None``.
    slope, intercept
        Explicit rescale values (they win over the data set's). One without the other
        takes the default of the missing one (1 and 0).
    lut
        An explicit :class:`LUT` (wins over everything).
    dtype
        The float type of the rescaled output: ``float32`` (default) or ``float64``.
    out
        For the rescale: an array of ``arr``'s shape and ``dtype`` to write into instead
        of a new one (saves the page faults of a fresh allocation when called in a loop).

    Returns
    -------
    numpy.ndarray
        A new array of the shape of ``arr`` (or ``arr`` itself when there is nothing to do).

    Raises
    ------
    InvalidDicomError
        When a data set's attributes are not numbers or the LUT item is incomplete.
    TransformError
        For explicit parameters that are not numbers.

    Examples
    --------
    >>> import numpy as np
    >>> apply_modality_lut(np.array([[0, 10]], np.int16), {"RescaleSlope": 0.5, "RescaleIntercept": 3})
    array([[3., 8.]], dtype=float32)
    >>> apply_modality_lut(np.array([0, 1, 5]), None, lut=LUT(1, 8, np.array([7, 8, 9], np.uint8)))
    array([7, 7, 9], dtype=uint8)
    """
    a = _as_array(arr)
    if lut is None and slope is None and intercept is None:
        seq = _get(ds_or_params, "ModalityLUTSequence")
        if seq:
            lut = LUT.from_item(seq[0], signed=_signed(ds_or_params), what="Modality LUT Sequence (0028,3000)")
    if lut is not None:
        return lut(a)
    s = slope if slope is not None else _get(ds_or_params, "RescaleSlope")
    b = intercept if intercept is not None else _get(ds_or_params, "RescaleIntercept")
    if s is None and b is None:
        return a
    s = 1.0 if s is None else _float(s, "Rescale Slope (0028,1053)", ds_or_params)
    b = 0.0 if b is None else _float(b, "Rescale Intercept (0028,1052)", ds_or_params)
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TransformError(f"dtype must be a float type, got {dt}")
    res = _out(out, a.shape, dt)
    _run_split(K.rescale, _flat(a), res, s, b)
    return res.reshape(a.shape)


# ---------------------------------------------------------------------------------------
# VOI LUT


def _voi_output_range(src: ParamsLike) -> tuple[float, float]:
    """The range of the modality output (what the window maps to when none is given)."""
    seq = _get(src, "ModalityLUTSequence")
    if seq:
        desc = _values(_get(seq[0], "LUTDescriptor", [0, 0, 16]))
        return 0.0, float((1 << int(desc[2])) - 1)
    rng = _stored_range(src)
    if rng is None:
        return 0.0, 255.0
    lo, hi = rng
    s, b = _get(src, "RescaleSlope"), _get(src, "RescaleIntercept")
    if s is not None and b is not None:
        s, b = float(s), float(b)
        lo, hi = lo * s + b, hi * s + b
    return lo, hi


def apply_windowing(arr: Any, ds_or_params: ParamsLike = None, index: int = 0, *,
                    center: float | None = None, width: float | None = None, function: str | None = None,
                    output_range: tuple[float, float] | None = None, dtype: Any = np.float32,
                    rescale: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Window center and width (PS3.3 C.11.2.1.2, C.11.2.1.3) to ``output_range``.

    LINEAR (the default)::

        x <= c - 0.5 - (w-1)/2  ->  ymin
        x >  c - 0.5 + (w-1)/2  ->  ymax
        else ((x - (c - 0.5)) / (w-1) + 0.5) * (ymax - ymin) + ymin

    LINEAR_EXACT uses ``c`` and ``w`` as they are; SIGMOID is
    ``(ymax - ymin) / (1 + exp(-4 (x - c) / w)) + ymin``.

    Parameters
    ----------
    arr
        Modality values (the output of :func:`apply_modality_lut`).
    ds_or_params
        Supplies Window Center (0028,1050), Window Width (0028,1051), VOI LUT Function
        (0028,1056); with several windows, ``index`` picks one.
    index
        Which of several windows.
    center, width, function
        Explicit values (they win over the data set's).
    output_range
        ``(ymin, ymax)``. Default: the range of the modality output, from Bits Stored,
        Pixel Representation and the rescale (or the Modality LUT's bits), as pydicom
        does; ``(0, 255)`` when nothing says.
    dtype
        Output float type (``float32`` default).
    rescale
        ``arr`` holds stored values: apply the data set's Rescale Slope and Intercept in
        the same pass (one read of the stored values, one write of the output).
    out
        An array of ``arr``'s shape and ``dtype`` to write into instead of a new one.

    Raises
    ------
    TransformError
        Width below 1 for LINEAR, not above 0 for LINEAR_EXACT and SIGMOID; unknown
        function; ``index`` out of range; no center/width anywhere.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1000, 0, 40, 80, 1000], np.int16)
    >>> apply_windowing(x, None, center=40, width=80, output_range=(0, 100)).round(2)
    array([  0.  ,   0.  ,  50.63, 100.  , 100.  ], dtype=float32)
    >>> apply_windowing(x, None, center=40, width=80, function="SIGMOID", output_range=(0, 1)).round(3)
    array([0.   , 0.119, 0.5  , 0.881, 1.   ], dtype=float32)
    >>> ct = {"RescaleSlope": 1, "RescaleIntercept": -1024, "WindowCenter": 40, "WindowWidth": 80}
    >>> apply_windowing(x + 1024, ct, rescale=True, output_range=(0, 100)).round(2)
    array([  0.  ,   0.  ,  50.63, 100.  , 100.  ], dtype=float32)
    """
    a = _as_array(arr)
    c, w, fn = _window_params(ds_or_params, index, center, width, function)
    ymin, ymax = output_range if output_range is not None else _voi_output_range(ds_or_params)
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TransformError(f"dtype must be a float type, got {dt}")
    res = _out(out, a.shape, dt)
    if rescale:
        s = _get(ds_or_params, "RescaleSlope")
        b = _get(ds_or_params, "RescaleIntercept")
        s = 1.0 if s is None else _float(s, "Rescale Slope (0028,1053)", ds_or_params)
        b = 0.0 if b is None else _float(b, "Rescale Intercept (0028,1052)", ds_or_params)
        _run_split(K.rescale_window, _flat(a), res, s, b, c, w, _FUNCTIONS[fn], float(ymin), float(ymax))
    else:
        _run_split(K.window, _flat(a), res, c, w, _FUNCTIONS[fn], float(ymin), float(ymax))
    return res.reshape(a.shape)


def _window_params(src: ParamsLike, index: int, center, width, function) -> tuple[float, float, str]:
    def pick(v, name):
        vals = _values(v)
        if not -len(vals) <= index < len(vals):
            raise TransformError(f"{name} has {len(vals)} value(s); window index {index} is out of range")
        return vals[index]

    if center is None:
        v = _get(src, "WindowCenter")
        if v is None:
            raise _missing(src, "there is no Window Center (0028,1050)", "pass center= and width=")
        center = pick(v, "Window Center (0028,1050)")
    if width is None:
        v = _get(src, "WindowWidth")
        if v is None:
            raise _missing(src, "there is no Window Width (0028,1051)", "pass center= and width=")
        width = pick(v, "Window Width (0028,1051)")
    if function is None:
        function = _get(src, "VOILUTFunction", "LINEAR")
    c = _float(center, "Window Center (0028,1050)", src)
    w = _float(width, "Window Width (0028,1051)", src)
    fn = str(function).strip().upper() or "LINEAR"
    if fn not in _FUNCTIONS:
        raise TransformError(f"VOI LUT Function (0028,1056) {function!r} is not one of LINEAR, LINEAR_EXACT, SIGMOID")
    if fn == "LINEAR" and w < 1:
        raise TransformError(f"Window Width (0028,1051) is {w:g}; the LINEAR function needs a width of at "
                             "least 1 (PS3.3 C.11.2.1.2)")
    if fn != "LINEAR" and w <= 0:
        raise TransformError(f"Window Width (0028,1051) is {w:g}; the {fn} function needs a width above 0 "
                             "(PS3.3 C.11.2.1.3)")
    return c, w, fn


def apply_voi(arr: Any, ds_or_params: ParamsLike = None, index: int = 0, *, lut: LUT | None = None) -> np.ndarray:
    """Map through a VOI LUT Sequence (0028,3010) item (PS3.3 C.11.2.1.1).

    Output is ``uint8`` or ``uint16``; inputs below First Value Mapped take the first
    entry, inputs past the end the last. Without a VOI LUT, ``arr`` comes back unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.dicom import Dataset
    >>> item = Dataset({"LUTDescriptor": [3, 10, 16], "LUTData": [100, 200, 300]})
    >>> ds = Dataset({"VOILUTSequence": [item]})
    >>> apply_voi(np.array([0, 11, 99]), ds)
    array([100, 200, 300], dtype=uint16)
    """
    a = _as_array(arr)
    if lut is None:
        seq = _get(ds_or_params, "VOILUTSequence")
        if not seq:
            return a
        if not -len(seq) <= index < len(seq):
            raise TransformError(f"VOI LUT Sequence has {len(seq)} item(s); index {index} is out of range")
        signed = _signed(ds_or_params) and not _get(ds_or_params, "RescaleSlope")
        lut = LUT.from_item(seq[index], signed=signed, what="VOI LUT Sequence (0028,3010)")
    return lut(a)


def apply_voi_lut(arr: Any, ds_or_params: ParamsLike = None, index: int = 0, *, center: float | None = None,
                  width: float | None = None, function: str | None = None, lut: LUT | None = None,
                  prefer_lut: bool = True, output_range: tuple[float, float] | None = None,
                  dtype: Any = np.float32) -> np.ndarray:
    """The VOI LUT transform of PS3.3 C.11.2: a VOI LUT Sequence or a window.

    Explicit ``center``/``width`` window; an explicit ``lut`` maps. Otherwise the data set
    decides: with both a VOI LUT Sequence (0028,3010) and Window Center/Width, the LUT
    when ``prefer_lut`` (default), the window otherwise; with neither, ``arr`` comes back
    unchanged. See :func:`apply_windowing` and :func:`apply_voi`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(0, 5001, 1000, dtype=np.int16)
    >>> apply_voi_lut(x, {"WindowCenter": [2500, 1000], "WindowWidth": [5000, 2000]}, index=1,
    ...               output_range=(0, 10)).round(3)
    array([ 0.   ,  5.003, 10.   , 10.   , 10.   , 10.   ], dtype=float32)
    >>> apply_voi_lut(x, None, center=2500, width=5000, function="LINEAR_EXACT", output_range=(0, 1)).round(3)
    array([0. , 0.2, 0.4, 0.6, 0.8, 1. ], dtype=float32)
    """
    if lut is not None:
        return apply_voi(arr, None, lut=lut)
    if center is not None or width is not None:
        return apply_windowing(arr, ds_or_params, index, center=center, width=width, function=function,
                               output_range=output_range, dtype=dtype)
    seq = _get(ds_or_params, "VOILUTSequence")
    has_lut = bool(seq) and all(_get(seq[0], k) is not None for k in ("LUTDescriptor", "LUTData"))
    has_window = _get(ds_or_params, "WindowCenter") is not None and _get(ds_or_params, "WindowWidth") is not None
    if has_lut and (prefer_lut or not has_window):
        return apply_voi(arr, ds_or_params, index)
    if has_window:
        return apply_windowing(arr, ds_or_params, index, function=function, output_range=output_range,
                               dtype=dtype)
    return _as_array(arr)


# ---------------------------------------------------------------------------------------
# MONOCHROME1


def invert_monochrome1(arr: Any, ds_or_params: ParamsLike = None, *,
                       value_range: tuple[float, float] | None = None, force: bool = False) -> np.ndarray:
    """MONOCHROME1 to MONOCHROME2: ``lo + hi - x`` over the value range ``[lo, hi]``.

    In MONOCHROME1 the minimum value is white (PS3.3 C.7.6.3.1.2); inverting within the
    same range gives the MONOCHROME2 view. Images whose Photometric Interpretation is not
    MONOCHROME1 come back unchanged unless ``force=True`` (or there is no data set).

    Parameters
    ----------
    arr
        Stored values, modality values or VOI output.
    ds_or_params
        Supplies Photometric Interpretation and, for the default range, Bits Stored and
        Pixel Representation.
    value_range
        ``(lo, hi)``. Default: the stored value range from the data set; else the
        range of an integer dtype. Float arrays with no data set need it.
    force
        Invert even when the data set is not MONOCHROME1.

    Examples
    --------
    >>> import numpy as np
    >>> ds = {"PhotometricInterpretation": "MONOCHROME1", "BitsStored": 12, "PixelRepresentation": 0}
    >>> invert_monochrome1(np.array([0, 1, 4095], np.uint16), ds)
    array([4095, 4094,    0], dtype=uint16)
    >>> invert_monochrome1(np.array([0., 0.25]), None, value_range=(0, 1))
    array([1.  , 0.75])
    """
    a = _as_array(arr)
    if ds_or_params is not None and not force:
        pi = str(_get(ds_or_params, "PhotometricInterpretation", "") or "").strip()
        if pi != "MONOCHROME1":
            return a
    if value_range is None:
        value_range = _stored_range(ds_or_params)
    if value_range is None:
        if a.dtype.kind not in "ui":
            raise TransformError("a float array needs value_range=(lo, hi) to be inverted")
        info = np.iinfo(a.dtype)
        value_range = (info.min, info.max)
    lo, hi = value_range
    total = lo + hi
    out = np.empty(a.size, a.dtype)
    if a.dtype.kind in "ui":
        total = int(total)
        if a.dtype.kind == "u" and total > np.iinfo(a.dtype).max:
            raise TransformError(f"value range {value_range} does not fit {a.dtype}")
        K.invert(_flat(a).astype(np.int64), total, out)
    else:
        K.invert(_flat(a), float(total), out)
    return out.reshape(a.shape)


# ---------------------------------------------------------------------------------------
# colour spaces

_SPACES = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_422", "YBR_PARTIAL_420")
_PARTIAL = ("YBR_PARTIAL_422", "YBR_PARTIAL_420")
# PS3.3 C.7.6.3.1.2, YBR_PARTIAL_422: for 8-bit samples Y = 0.2568 R + 0.5041 G + 0.0979 B + 16,
# CB = -0.1482 R - 0.2910 G + 0.4392 B + 128, CR = 0.4392 R - 0.3678 G - 0.0714 B + 128
# (Y in 16..235, chroma in 16..240); offsets scale with the sample size
_PARTIAL_M = np.array([[0.2568, 0.5041, 0.0979], [-0.1482, -0.2910, 0.4392], [0.4392, -0.3678, -0.0714]])
_PARTIAL_INV = np.linalg.inv(_PARTIAL_M)


def _space(v: Any, role: str) -> str:
    if isinstance(v, (Dataset, Mapping)):
        v = _get(v, "PhotometricInterpretation", "")
    s = str(v).strip().upper()
    if s not in _SPACES:
        raise TransformError(f"cannot convert {role} {s!r}: the colour spaces are {', '.join(_SPACES)}")
    return s


def convert_color_space(arr: Any, current: Any, desired: str, *, bits: int | None = None) -> np.ndarray:
    """Convert ``(..., 3)`` arrays between RGB and YBR_FULL, YBR_FULL_422, YBR_ICT, YBR_RCT,
    YBR_PARTIAL_422 and YBR_PARTIAL_420.

    The formulas are those of PS3.3 C.7.6.3.1.2. YBR_FULL and YBR_FULL_422 have unsigned
    chroma centred on ``2**(bits-1)``; rounding is to the nearest integer, clipped to
    ``[0, 2**bits - 1]``. Arrays of YBR_FULL_422 are full size (one Cb Cr per pixel, as
    :func:`~pacsnb.pixels.pixel_array` returns them); converting *to* YBR_FULL_422 gives
    the two pixels of each horizontal pair the mean of their chroma, so the result can be
    stored subsampled. YBR_ICT and YBR_RCT (JPEG 2000) have signed chroma centred on 0, so
    converting to them gives ``int16`` for 8-bit RGB and ``int32`` for 16-bit RGB; RCT is
    exact both ways. YBR_PARTIAL_422 and YBR_PARTIAL_420 (as JPEG and MPEG decoders give
    them, full size) have limited-range luminance (16..235 for 8 bits) and chroma (16..240);
    converting RGB to YBR_PARTIAL_420 is not offered (it only describes MPEG streams).

    Parameters
    ----------
    arr
        ``(..., 3)`` samples (any leading shape: frames, rows, columns).
    current
        The colour space of ``arr``: a name or a data set (its Photometric Interpretation).
    desired
        The colour space wanted.
    bits
        Bits per RGB sample. Default: 8 for ``uint8``/``int8``/``int16`` arrays, 16 for
        ``uint16``/``int32``; float arrays default to 8.

    Returns
    -------
    numpy.ndarray
        RGB in ``uint8`` (``bits <= 8``) or ``uint16``; YBR_FULL in the dtype of the RGB
        input; ICT/RCT as above. ``arr`` itself when ``current == desired``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.array([[[255, 0, 0], [10, 200, 30]]], np.uint8)
    >>> ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    >>> ybr
    array([[[ 76,  85, 255],
            [124,  75,  47]]], dtype=uint8)
    >>> convert_color_space(ybr, "YBR_FULL", "RGB")
    array([[[254,   0,   0],
            [ 10, 200,  30]]], dtype=uint8)
    >>> rct = convert_color_space(rgb, "RGB", "YBR_RCT")
    >>> np.array_equal(convert_color_space(rct, "YBR_RCT", "RGB"), rgb)
    True
    >>> convert_color_space(np.array([[16, 128, 128], [235, 128, 128]], np.uint8), "YBR_PARTIAL_422", "RGB")
    array([[  0,   0,   0],
           [255, 255, 255]], dtype=uint8)
    """
    a = _as_array(arr)
    cur, want = _space(current, "from"), _space(desired, "to")
    if a.ndim < 1 or a.shape[-1] != 3:
        raise TransformError(f"colour conversion needs samples on the last axis (..., 3); got shape {a.shape}")
    if cur == want:
        return a
    if bits is None:
        if a.dtype.kind == "f":
            bits = 8
        else:
            bits = {1: 8, 2: 16 if a.dtype.kind == "u" else 8, 4: 16}.get(a.dtype.itemsize, 16)
    if not 1 <= bits <= 16:
        raise TransformError(f"bits must be 1 .. 16, got {bits}")
    rgb_dtype = np.dtype(np.uint8 if bits <= 8 else np.uint16)
    if cur != "RGB":
        rgb = _to_rgb(a, cur, bits, rgb_dtype)
        if want == "RGB":
            return rgb
        a = rgb
    return _from_rgb(a, want, bits, rgb_dtype)


def _to_rgb(a: np.ndarray, cur: str, bits: int, rgb_dtype: np.dtype) -> np.ndarray:
    maxval = float((1 << bits) - 1)
    src = np.ascontiguousarray(a).reshape(-1, 3)
    out = np.empty(src.shape, rgb_dtype)
    if cur in _PARTIAL:
        scale = float(1 << (bits - 8)) if bits >= 8 else 1.0 / (1 << (8 - bits))
        ybr = src.astype(np.float64) - np.array([16.0, 128.0, 128.0]) * scale
        rgb = ybr @ _PARTIAL_INV.T
        np.clip(np.floor(rgb + 0.5), 0, maxval, out=rgb)
        out[...] = rgb
    elif cur in ("YBR_FULL", "YBR_FULL_422"):
        K.ybr_full_to_rgb(src, float(1 << (bits - 1)), maxval, out)
    elif cur == "YBR_ICT":
        K.ybr_ict_to_rgb(src, maxval, out)
    else:
        if a.dtype.kind == "f":
            src = src.astype(np.int64)
        wide = np.empty(src.shape, np.int64)
        K.ybr_rct_to_rgb(src, wide)
        np.clip(wide, 0, int(maxval), out=wide)
        out[...] = wide
    return out.reshape(a.shape)


def _from_rgb(a: np.ndarray, want: str, bits: int, rgb_dtype: np.dtype) -> np.ndarray:
    src = np.ascontiguousarray(a).reshape(-1, 3)
    if want == "YBR_PARTIAL_420":
        raise TransformError("converting to YBR_PARTIAL_420 is not offered: PS3.3 uses it only for MPEG "
                             "streams; convert to YBR_PARTIAL_422 or YBR_FULL instead")
    if want == "YBR_PARTIAL_422":
        if a.ndim < 2 or a.shape[-2] % 2:
            raise TransformError(f"YBR_PARTIAL_422 needs an even number of columns; got shape {a.shape}")
        scale = float(1 << (bits - 8)) if bits >= 8 else 1.0 / (1 << (8 - bits))
        ybr = src.astype(np.float64) @ _PARTIAL_M.T + np.array([16.0, 128.0, 128.0]) * scale
        ybr = ybr.reshape(a.shape)
        pairs = ybr[..., 1:].reshape(*a.shape[:-2], a.shape[-2] // 2, 2, 2).mean(axis=-2, keepdims=True)
        ybr[..., 1:] = np.broadcast_to(pairs, (*a.shape[:-2], a.shape[-2] // 2, 2, 2)).reshape(*a.shape[:-1], 2)
        dt = a.dtype if a.dtype.kind in "uf" else rgb_dtype
        if dt.kind == "f":
            return ybr.astype(dt)
        return np.clip(np.floor(ybr + 0.5), 0, (1 << bits) - 1).astype(dt)
    if want in ("YBR_FULL", "YBR_FULL_422"):
        dt = a.dtype if a.dtype.kind in "uf" else rgb_dtype
        out = np.empty(src.shape, dt)
        K.rgb_to_ybr_full(src, float(1 << (bits - 1)), float((1 << bits) - 1), out)
        if want == "YBR_FULL_422":
            if a.ndim < 2 or a.shape[-2] % 2:
                raise TransformError(f"YBR_FULL_422 needs an even number of columns; got shape {a.shape}")
            K.subsample_422(out, a.shape[-2])
        return out.reshape(a.shape)
    dt = np.dtype(np.int16 if bits <= 8 else np.int32)
    out = np.empty(src.shape, dt)
    if want == "YBR_ICT":
        K.rgb_to_ybr_ict(src, out)
    else:
        if a.dtype.kind == "f":
            src = np.floor(src + 0.5).astype(np.int64)
        K.rgb_to_ybr_rct(src, out)
    return out.reshape(a.shape)


# ---------------------------------------------------------------------------------------
# palettes

_COLOURS = ("Red", "Green", "Blue", "Alpha")


def expand_segmented_lut(data: Any, bits: int = 16) -> np.ndarray:
    """Expand Segmented Palette Color Lookup Table Data (PS3.3 C.7.9.2).

    Segments are discrete (opcode 0: length, then that many entries), linear (opcode 1:
    length, end value; the entries step from the previous entry to the end value, rounded
    to the nearest integer) and indirect (opcode 2: number of segments, then the byte
    offset of the first segment to copy as two 16-bit words, least significant first).

    Parameters
    ----------
    data
        The words of the segmented data (a ``uint16`` array or a list), or its bytes. For
        8-bit palettes (``bits=8``) the words are taken byte by byte.
    bits
        Bits per entry (third LUT Descriptor value): 8 or 16.

    Examples
    --------
    >>> expand_segmented_lut([0, 3, 10, 20, 30, 1, 4, 70, 2, 1, 0, 0])
    array([10, 20, 30, 40, 50, 60, 70, 10, 20, 30], dtype=uint16)
    """
    if isinstance(data, (bytes, bytearray, memoryview)) or bits <= 8:
        raw = _le_bytes(np.asarray(_values(data), np.uint16) if isinstance(data, list) else data)
        words = raw.astype(np.int64) if bits <= 8 else raw[: raw.size // 2 * 2].view("<u2").astype(np.int64)
    else:
        words = np.asarray(_values(data) if not isinstance(data, np.ndarray) else data).astype(np.int64)
    entry_bytes = 1 if bits <= 8 else 2
    seq = words.tolist()
    out: list[int] = []

    def run(pos: int, limit: int | None, nested: bool) -> None:
        done = 0
        while pos + 1 < len(seq) and (limit is None or done < limit):
            op, n = seq[pos], seq[pos + 1]
            pos += 2
            if op == 0:
                if pos + n > len(seq):
                    raise TransformError(f"discrete segment of {n} entries runs past the end of the data "
                                         f"({len(seq)} words)")
                out.extend(seq[pos:pos + n])
                pos += n
            elif op == 1:
                if not out:
                    raise TransformError("a linear segment cannot be the first segment (PS3.3 C.7.9.2.2)")
                if pos >= len(seq):
                    raise TransformError("linear segment without its end value")
                y0, y1 = out[-1], seq[pos]
                pos += 1
                if n:
                    k = np.arange(1, n + 1, dtype=np.float64)
                    out.extend(np.rint(y0 + (y1 - y0) * k / n).astype(np.int64).tolist())
            elif op == 2:
                if nested:
                    raise TransformError("an indirect segment points to another indirect segment (PS3.3 C.7.9.2.3)")
                if not out:
                    raise TransformError("an indirect segment cannot be the first segment")
                if bits <= 8:
                    off_lo = seq[pos] | (seq[pos + 1] << 8)
                    off_hi = seq[pos + 2] | (seq[pos + 3] << 8)
                    pos += 4
                else:
                    off_lo, off_hi = seq[pos], seq[pos + 1]
                    pos += 2
                offset = (off_hi << 16 | off_lo) // entry_bytes
                run(offset, n, True)
            else:
                raise TransformError(f"unknown segment opcode {op} at word {pos - 2} (PS3.3 C.7.9.2: 0, 1 or 2)")
            done += 1

    run(0, None, False)
    return np.asarray(out, np.uint8 if bits <= 8 else np.uint16)


def _palette_luts(ds: Any) -> tuple[int, np.ndarray]:
    desc_v = _get(ds, "RedPaletteColorLookupTableDescriptor")
    if desc_v is None:
        raise _missing(ds, "there is no Red Palette Color Lookup Table Descriptor (0028,1101)",
                       "a PALETTE COLOR image or a Color Palette needs the Palette Color Lookup Table module")
    desc = [int(x) for x in _values(desc_v)]
    n = desc[0] or 65536
    first = desc[1]
    if first >= 32768 and _signed(ds):
        first -= 65536
    bits = desc[2]
    luts = []
    segmented = _get(ds, "SegmentedRedPaletteColorLookupTableData") is not None
    for colour in _COLOURS:
        if segmented:
            v = _get(ds, f"Segmented{colour}PaletteColorLookupTableData")
        else:
            v = _get(ds, f"{colour}PaletteColorLookupTableData")
        if v is None:
            if colour == "Alpha":
                continue
            raise _missing(ds, f"{'Segmented ' if segmented else ''}{colour} Palette Color Lookup Table Data "
                           "is missing", "all three colours are needed")
        if segmented:
            lut = expand_segmented_lut(v, bits)
        else:
            raw = _le_bytes(v)
            entry = raw.size // n if raw.size // n in (1, 2) else (1 if bits <= 8 else 2)
            lut = raw[:n] if entry == 1 else raw[: n * 2].view("<u2").astype(np.uint16)
        if lut.size < n:
            raise _missing(ds, f"the {colour} palette has {lut.size} entries, its descriptor says {n}",
                           "the LUT data is short")
        luts.append(np.ascontiguousarray(lut[:n]))
    dtype = np.result_type(*[x.dtype for x in luts])
    return first, np.stack([x.astype(dtype) for x in luts])


def apply_palette(arr: Any, ds: Any) -> np.ndarray:
    """PALETTE COLOR to RGB (or RGBA) through the Palette Color LUTs (PS3.3 C.7.6.3.1.5-6, C.7.9).

    Works with plain and segmented LUT data; ``ds`` may be the image or a Color Palette
    data set (for a grayscale image). Indices below First Value Mapped take the first
    entry, past the end the last.

    Returns
    -------
    numpy.ndarray
        ``arr.shape + (3,)`` (``(4,)`` with an alpha LUT), ``uint8`` for 8-bit entries
        and ``uint16`` for 16-bit entries.

    Examples
    --------
    >>> import numpy as np
    >>> ds = {"RedPaletteColorLookupTableDescriptor": [3, 0, 8],
    ...       "RedPaletteColorLookupTableData": bytes([0, 128, 255, 0]),
    ...       "GreenPaletteColorLookupTableData": bytes([0, 0, 0, 0]),
    ...       "BluePaletteColorLookupTableData": bytes([255, 128, 0, 0])}
    >>> apply_palette(np.array([0, 1, 2, 7]), ds)
    array([[  0,   0, 255],
           [128,   0, 128],
           [255,   0,   0],
           [255,   0,   0]], dtype=uint8)
    """
    a = _as_array(arr)
    first, luts = _palette_luts(ds)
    src = _flat(a) if a.dtype.kind in "ui" else _flat(np.floor(a)).astype(np.int64)
    out = np.empty((a.size, luts.shape[0]), luts.dtype)
    K.apply_luts(src, first, luts, out)
    return out.reshape(a.shape + (luts.shape[0],))


# ---------------------------------------------------------------------------------------
# overlays


def overlay_groups(ds: Dataset) -> list[int]:
    """The overlay groups (0x6000, 0x6002, ... 0x601E) of ``ds`` that have Overlay Rows.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset()
    >>> _ = ds.add_new(0x60020010, "US", 4)
    >>> [hex(g) for g in overlay_groups(ds)]
    ['0x6002']
    """
    return [g for g in range(0x6000, 0x6020, 2) if (g << 16 | 0x0010) in ds]


def overlay_array(ds: Dataset, group: int = 0x6000, frame: int | None = None) -> np.ndarray:
    """The overlay plane of repeating group ``group`` (PS3.3 C.9.2) as a boolean array.

    Reads Overlay Data (60xx,3000), one bit per pixel, frames packed one after another.
    Overlays embedded in the high bits of Pixel Data (retired; Overlay Bits Allocated
    above 1) are read from bit Overlay Bit Position of each Pixel Data word.

    Parameters
    ----------
    ds
        The data set.
    group
        0x6000, 0x6002, ... 0x601E.
    frame
        ``None`` for all overlay frames, or an overlay frame index.

    Returns
    -------
    numpy.ndarray
        ``bool``, ``(rows, columns)``, or ``(frames, rows, columns)`` when Number of
        Frames in Overlay (60xx,0015) is above 1 and ``frame`` is ``None``.

    Raises
    ------
    InvalidDicomError
        Missing Overlay Rows/Columns/Data, or data shorter than they need.
    TransformError
        ``group`` not an overlay group, ``frame`` out of range.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset()
    >>> _ = ds.add_new(0x60000010, "US", 2), ds.add_new(0x60000011, "US", 3)
    >>> _ = ds.add_new(0x60000100, "US", 1), ds.add_new(0x60000102, "US", 0)
    >>> _ = ds.add_new(0x60003000, "OW", bytes([0b00100011, 0]))
    >>> overlay_array(ds, 0x6000)
    array([[ True,  True, False],
           [False, False,  True]])
    """
    g = int(group)
    if not (0x6000 <= g <= 0x601E and g % 2 == 0):
        raise TransformError(f"group {g:#06x} is not an overlay group (0x6000, 0x6002, ... 0x601E)")

    def tag(e: int) -> int:
        return g << 16 | e

    where = _where(ds)
    rows, cols = ds.get(tag(0x0010)), ds.get(tag(0x0011))
    if rows is None or cols is None:
        raise InvalidDicomError(f"overlay group {g:04X} has no Overlay Rows ({g:04X},0010) or Overlay Columns "
                                f"({g:04X},0011)", path=where)
    rows, cols = int(rows), int(cols)
    nframes = int(ds.get(tag(0x0015), 1) or 1)
    bits_alloc = int(ds.get(tag(0x0100), 1) or 1)
    bit_pos = int(ds.get(tag(0x0102), 0) or 0)
    if frame is not None:
        i = int(frame)
        if i < 0:
            i += nframes
        if not 0 <= i < nframes:
            raise TransformError(f"overlay frame {frame} is out of range: group {g:04X} has {nframes} frame(s)")
        first, count = i, 1
    else:
        first, count = 0, nframes
    per = rows * cols
    data = ds.get(tag(0x3000))
    if data is None:
        if bits_alloc > 1 and 0x7FE00010 in ds:
            words = np.asarray(ds[0x7FE00010].value)
            if isinstance(ds[0x7FE00010].value, (bytes, bytearray, memoryview)):
                words = np.frombuffer(ds[0x7FE00010].value, "<u2" if bits_alloc == 16 else np.uint8)
            need = (first + count) * per
            if words.size < need:
                raise InvalidDicomError(f"Pixel Data holds {words.size} values; the overlay in its bit {bit_pos} "
                                        f"needs {need}", path=where)
            bits = ((words[first * per:need] >> bit_pos) & 1).astype(bool)
        else:
            raise InvalidDicomError(f"overlay group {g:04X} has no Overlay Data ({g:04X},3000)", path=where)
    else:
        raw = _le_bytes(data)
        start, need = first * per, (first + count) * per
        if raw.size * 8 < need:
            raise InvalidDicomError(f"Overlay Data ({g:04X},3000) has {raw.size} bytes; {nframes} frame(s) of "
                                    f"{rows} x {cols} need {(nframes * per + 7) // 8}", path=where)
        chunk = raw[start >> 3:(need + 7) >> 3]
        bits = np.unpackbits(chunk, bitorder="little")[start & 7:(start & 7) + count * per].astype(bool)
    if count == 1:
        return bits.reshape(rows, cols)
    return bits.reshape(count, rows, cols)
