"""JPEG-LS (ITU-T T.87 | ISO/IEC 14495-1): decode and encode frames.

Two transfer syntaxes use it (PS3.5 A.4.3, 8.2.3):

- JPEG-LS Lossless Image Compression, ``1.2.840.10008.1.2.4.80``: NEAR = 0;
- JPEG-LS Lossy (Near-Lossless) Image Compression, ``1.2.840.10008.1.2.4.81``: every
  reconstructed sample within NEAR of the original.

A frame is one JPEG-LS codestream: ``SOI``, marker segments (``SOF55`` giving the sample
precision P = 2 .. 16 bits, the size and the components; ``LSE`` preset parameters
MAXVAL, T1, T2, T3, RESET, or oversize dimensions; ``DRI`` restart interval;
``APPn``/``COM`` skipped), one ``SOS`` per scan (its components, NEAR and the interleave
mode: none, line or sample) followed by the coded data (with ``RSTm`` markers every
restart interval), and ``EOI``. The marker segments are parsed here; the coded data is
decoded and encoded by the numba kernels of :mod:`pacsnb.codecs._jpegls_kernels`.

Decoded values are the stored values (P bits), in an array of ``(rows, columns)`` or
``(rows, columns, samples)`` whatever the Planar Configuration, of the dtype Bits
Allocated (8 or 16) and Pixel Representation give; signed values are left as their P-bit
two's complement pattern for :mod:`pacsnb.pixels` to sign-extend from Bits Stored (as
JPEG-LS codes them). Components may be coded in one scan (interleaved by line or by
sample) or in one scan each; their sampling factors must be equal (no subsampling).
Mapping tables (palettised JPEG-LS, LSE 2/3 used by a scan), a point transform, and
HP's colour transform (APP8 ``mrfx``) are refused with a clear :class:`CodecError`:
DICOM does not use them.

The encoder writes lossless (NEAR = 0, or NEAR > 0 when asked, for the near-lossless
syntax) codestreams with the default parameters: one scan for one component; for colour,
one scan interleaved by sample by default (``interleave=0`` one scan per component,
``1`` by line).

Bad input (truncated or corrupt codestreams, missing or misplaced markers, a frame that
does not match Rows/Columns/Samples per Pixel/Bits Allocated) is a
:class:`~pacsnb.errors.CodecError` that names the frame and the byte offset.

Examples
--------
>>> import numpy as np
>>> from pacsnb.codecs import jpegls
>>> ct = np.array([[-1024, -1024, 40, 41], [0, 7, 7, 3000]], dtype=np.int16)
>>> data = jpegls.encode_frame(ct, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
>>> data[:4], data[-2:]
(b'\\xff\\xd8\\xff\\xf7', b'\\xff\\xd9')
>>> jpegls.decode_frame(data, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
array([[-1024, -1024,    40,    41],
       [    0,     7,     7,  3000]], dtype=int16)
>>> jpegls.read_header(data)
JlsHeader(precision=16, rows=2, columns=4, components=1, near=(0,), interleave=(0,), maxval=65535, thresholds=(18, 67, 276), reset=64, restart_interval=0)
>>> jpegls.decode_frame(data[:-6], rows=2, columns=4, bits_allocated=16, pixel_representation=1, frame=3)
Traceback (most recent call last):
...
pacsnb.errors.CodecError: JPEG-LS frame 3: the coded data ends at byte 34 (the end of the codestream) before line 1 is complete (truncated or corrupt)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pacsnb.codecs import _jpegls_kernels as K
from pacsnb.codecs._common import (JPEG_SOF_NAMES, JpegLosslessFrame, codestream_array, frame_output,
                                   jpeg_check_frame, jpeg_check_soi, jpeg_frame_params, jpeg_marker_name,
                                   jpeg_next_segment, jpeg_skip_scan)
from pacsnb.codecs.rle import FrameParams
from pacsnb.errors import CodecError

__all__ = ["JPEG_LS_LOSSLESS", "JPEG_LS_NEAR_LOSSLESS", "JlsHeader", "decode_frame", "encode_frame",
           "read_header", "default_thresholds"]

#: JPEG-LS Lossless Image Compression.
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
#: JPEG-LS Lossy (Near-Lossless) Image Compression.
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"

_BASIC_T = (3, 7, 21)
_MAX_SAMPLES = 1 << 28  # decoding without frame parameters: the largest frame the header may ask for
_BASIC_RESET = 64


def default_thresholds(maxval: int, near: int = 0) -> tuple[int, int, int]:
    """The default T1, T2, T3 of T.87 C.2.4.1.1 for ``maxval`` and ``near``.

    Examples
    --------
    >>> default_thresholds(255), default_thresholds(4095), default_thresholds(65535, 2)
    ((3, 7, 21), (18, 67, 276), (24, 77, 290))
    """
    def clamp(i: int, j: int) -> int:
        return j if (i > maxval or i < j) else i
    b1, b2, b3 = _BASIC_T
    if maxval >= 128:
        f = (min(maxval, 4095) + 128) // 256
        t1 = clamp(f * (b1 - 2) + 2 + 3 * near, near + 1)
        t2 = clamp(f * (b2 - 3) + 3 + 5 * near, t1)
        t3 = clamp(f * (b3 - 4) + 4 + 7 * near, t2)
    else:
        f = 256 // (maxval + 1)
        t1 = clamp(max(2, b1 // f + 3 * near), near + 1)
        t2 = clamp(max(3, b2 // f + 5 * near), t1)
        t3 = clamp(max(4, b3 // f + 7 * near), t2)
    return t1, t2, t3


@lru_cache(maxsize=32)
def _qtable(maxval: int, near: int, t1: int, t2: int, t3: int) -> np.ndarray:
    return K.quantization_table(maxval, near, t1, t2, t3)


@dataclass(frozen=True, slots=True)
class JlsHeader:
    """What the marker segments of a JPEG-LS codestream say.

    Attributes
    ----------
    precision
        Sample precision P in bits (2 .. 16).
    rows, columns
        Number of lines and samples per line.
    components
        Number of components (samples per pixel).
    near
        NEAR of each scan (0: lossless).
    interleave
        The interleave mode of each scan: 0 none, 1 line, 2 sample.
    maxval
        MAXVAL of the first scan (``2 ** P - 1`` unless an LSE segment sets it).
    thresholds
        T1, T2, T3 of the first scan (the defaults for MAXVAL and NEAR unless an LSE
        segment sets them).
    reset
        RESET (64 unless an LSE segment sets it).
    restart_interval
        Lines per restart interval (0: no restart markers).

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.arange(12, dtype=np.uint8).reshape(3, 4), rows=3, columns=4,
    ...                     bits_allocated=8)
    >>> h = read_header(data)
    >>> h.precision, (h.rows, h.columns), h.components, h.near, h.thresholds
    (8, (3, 4), 1, (0,), (3, 7, 21))
    """

    precision: int
    rows: int
    columns: int
    components: int
    near: tuple[int, ...]
    interleave: tuple[int, ...]
    maxval: int
    thresholds: tuple[int, int, int]
    reset: int
    restart_interval: int


def _where(frame: int | None) -> str:
    return "JPEG-LS frame" + ("" if frame is None else f" {frame}")


def _next_marker(src: np.ndarray, pos: int) -> int:
    """The position of the next marker (0xFF then a byte >= 0x80) at or after ``pos``, or
    the end of the data."""
    n = len(src)
    while pos < n - 1:
        hits = np.flatnonzero(src[pos:n - 1] == 0xFF)
        if not len(hits):
            return n
        p = pos + int(hits[0])
        if src[p + 1] >= 0x80:
            return p
        pos = p + 1
    return n


def _parse(src: np.ndarray, frame: int | None, p: FrameParams | None = None,
           out: np.ndarray | None = None) -> JlsHeader:
    """Walk the codestream's markers; with ``out`` (a flat uint8 or uint16 array of
    ``rows * columns * samples``), decode its scans into it, checking the frame against ``p``."""
    where = _where(frame)
    n = len(src)

    def fail(text: str) -> CodecError:
        return CodecError(f"{where}: {text}")

    jpeg_check_soi(src, fail, "JPEG-LS")
    fr: JpegLosslessFrame | None = None
    restart = 0
    preset = [0, 0, 0, 0, 0]  # MAXVAL, T1, T2, T3, RESET (0: default)
    nears: list[int] = []
    ilvs: list[int] = []
    first: tuple[int, tuple[int, int, int], int] | None = None
    mapping_tables: set[int] = set()
    pos = 2
    while True:
        m, mpos, a, b = jpeg_next_segment(src, pos, fail)
        if m < 0:
            if fr is not None and nears and len(fr.done) == len(fr.ids):
                break  # all decoded; a missing EOI is tolerated
            raise fail(f"the codestream ends at byte {n} before " +
                       ("any frame header (SOF55)" if fr is None else
                        "any scan (SOS)" if not nears else "all components were decoded") + " (truncated?)")
        name = jpeg_marker_name(m)
        if m == 0xD9:  # EOI
            break
        if 0xD0 <= m <= 0xD7 or m in (0x00, 0x01, 0xD8):
            raise fail(f"{name} at byte {mpos} is in the wrong place (outside coded data)")
        seg = src[a:b]
        pos = b
        if m == 0xF7:
            if fr is not None:
                raise fail(f"a second frame header (SOF55) at byte {mpos}")
            fr = JpegLosslessFrame.read(seg, mpos, fail, "SOF55", "JPEG-LS", zero_size=True)
        elif m in JPEG_SOF_NAMES or m == 0xF9:
            what = "JPEG-LS part 2 (extensions)" if m == 0xF9 else "JPEG (T.81)"
            raise fail(f"the frame is {name}, a {what} frame, not JPEG-LS (SOF55): wrong transfer syntax?")
        elif m == 0xF8:
            _read_lse(seg, mpos, fail, fr, preset, mapping_tables)
        elif m == 0xDD:
            if len(seg) not in (2, 3, 4):
                raise fail(f"the DRI segment at byte {mpos} has length {len(seg) + 2}, not 4 to 6")
            restart = int.from_bytes(bytes(seg), "big")
        elif m == 0xE8 and len(seg) >= 5 and bytes(seg[:4]) == b"mrfx" and seg[4] != 0:
            raise fail(f"APP8 at byte {mpos} asks for HP colour transform {int(seg[4])}; pacsnb does not undo it "
                       "(DICOM does not allow it)")
        elif m == 0xDA:
            if fr is None:
                raise fail(f"a scan (SOS at byte {mpos}) before the frame header (SOF55)")
            if fr.rows == 0 or fr.columns == 0:
                raise fail("the frame header gives 0 lines or columns and no LSE segment gives the size "
                           "(number of lines in a DNL marker is not supported)")
            if p is not None:
                # every scan: an LSE between scans may change the size
                jpeg_check_frame(fr.rows, fr.columns, len(fr.ids), fr.precision, p, fail)
            if out is not None and out.size != fr.rows * fr.columns * len(fr.ids):
                raise fail("internal error: the output buffer does not fit the frame")
            comps, near, ilv = _read_sos(seg, mpos, fail, fr, mapping_tables)
            maxval = preset[0] or (1 << fr.precision) - 1
            if preset[0] and preset[0] >= 1 << fr.precision:
                raise fail(f"the LSE segment gives MAXVAL {preset[0]}, more than {fr.precision}-bit samples hold")
            if near > min(255, maxval // 2):
                raise fail(f"the scan at byte {mpos} has NEAR {near}; at most {min(255, maxval // 2)} is allowed "
                           f"for MAXVAL {maxval}")
            t = default_thresholds(maxval, near)
            t1, t2, t3 = (preset[1] or t[0], preset[2] or t[1], preset[3] or t[2])
            if not (near + 1 <= t1 <= t2 <= t3 <= maxval):
                raise fail(f"the LSE thresholds T1={t1}, T2={t2}, T3={t3} are invalid for NEAR {near} and "
                           f"MAXVAL {maxval} (NEAR + 1 <= T1 <= T2 <= T3 <= MAXVAL)")
            reset = preset[4] or _BASIC_RESET
            if not 3 <= reset <= max(255, maxval):
                raise fail(f"the LSE segment gives RESET {reset}; it must be 3 to max(255, MAXVAL)")
            nears.append(near)
            ilvs.append(ilv)
            if first is None:
                first = (maxval, (t1, t2, t3), reset)
            if out is None:
                pos = jpeg_skip_scan(src, pos, _next_marker)  # the coded data and its restart markers
            else:
                status = np.zeros(8, np.int64)
                kernel = K.decode_samples if ilv == 2 else K.decode_lines
                qt = _qtable(maxval, near, t1, t2, t3)
                end = int(kernel(src, pos, n, out, fr.rows, fr.columns, len(fr.ids), np.array(comps, np.int64),
                                 len(comps), near, maxval, t1, t2, t3, reset, restart, qt, status))
                if end < 0 or status[0]:
                    raise _status_error(status, fail, comps, fr)
                pos = _next_marker(src, end)
        # APPn, COM and others: skipped
    if fr is None:
        raise fail("the codestream has no frame header (SOF55)")
    if len(fr.done) != len(fr.ids):
        missing = [i for i in fr.ids if i not in fr.done]
        raise fail(f"EOI before component(s) {missing} were decoded (missing scans)")
    maxval, thr, reset = first if first is not None else ((1 << fr.precision) - 1, (0, 0, 0), _BASIC_RESET)
    return JlsHeader(fr.precision, fr.rows, fr.columns, len(fr.ids), tuple(nears), tuple(ilvs), maxval, thr,
                     reset, restart)


def _status_error(status: np.ndarray, fail, comps: list[int], fr: JpegLosslessFrame) -> CodecError:
    code, line, col, pos, comp, m, mk = (int(x) for x in status[:7])
    if code == K.OUT_OF_DATA:
        marker = "the end of the codestream" if mk < 0 else f"marker {jpeg_marker_name(mk)}"
    else:
        marker = "the end of the codestream" if mk < 0 else jpeg_marker_name(mk)
    cid = fr.ids[comps[comp]] if 0 <= comp < len(comps) else comp
    text = K.STATUS.get(code, "internal error {code}").format(line=line, col=col, pos=pos, comp=cid, m=m,
                                                                marker=marker, code=code)
    return fail(text)


def _read_lse(seg: np.ndarray, mpos: int, fail, fr: JpegLosslessFrame | None, preset: list[int],
              mapping_tables: set[int]) -> None:
    if len(seg) < 1:
        raise fail(f"the LSE segment at byte {mpos} is empty")
    kind = int(seg[0])
    if kind == 1:
        if len(seg) != 11:
            raise fail(f"the LSE segment (preset parameters) at byte {mpos} has {len(seg) + 2} bytes, not 13")
        for i in range(5):
            preset[i] = (int(seg[1 + 2 * i]) << 8) | int(seg[2 + 2 * i])
    elif kind in (2, 3):
        if len(seg) < 4:
            raise fail(f"the LSE segment (mapping table) at byte {mpos} is too short")
        mapping_tables.add(int(seg[1]))
    elif kind == 4:
        if fr is None:
            raise fail(f"the LSE segment (oversize dimensions) at byte {mpos} comes before the frame header")
        wxy = int(seg[1]) if len(seg) > 1 else 0
        if not 2 <= wxy <= 4 or len(seg) != 2 + 2 * wxy:
            raise fail(f"the LSE segment (oversize dimensions) at byte {mpos} is malformed")
        rows = int.from_bytes(bytes(seg[2:2 + wxy]), "big")
        cols = int.from_bytes(bytes(seg[2 + wxy:2 + 2 * wxy]), "big")
        if rows > 65535 * 16 or cols > 65535 * 16:
            raise fail(f"the LSE segment at byte {mpos} gives a frame of {rows} x {cols}: too large")
        fr.rows, fr.columns = rows, cols
    else:
        raise fail(f"the LSE segment at byte {mpos} has the unknown type {kind} (1 to 4 are defined)")


def _read_sos(seg: np.ndarray, mpos: int, fail, fr: JpegLosslessFrame,
              mapping_tables: set[int]) -> tuple[list[int], int, int]:
    if len(seg) < 1:
        raise fail(f"the SOS segment at byte {mpos} is empty")
    ns = int(seg[0])
    if ns < 1 or len(seg) != 1 + 2 * ns + 3:
        raise fail(f"the SOS segment at byte {mpos} has {len(seg) + 2} bytes, which does not fit {ns} components")
    comps = []
    for k in range(ns):
        cid = int(seg[1 + 2 * k])
        tm = int(seg[2 + 2 * k])
        if cid not in fr.ids:
            raise fail(f"the scan at byte {mpos} codes component {cid}, which the frame header does not define")
        if cid in fr.done or fr.ids.index(cid) in comps:
            raise fail(f"the scan at byte {mpos} codes component {cid} a second time")
        if tm:
            raise fail(f"the scan at byte {mpos} maps component {cid} through mapping table {tm} "
                       f"({'defined' if tm in mapping_tables else 'not even defined'}): palettised JPEG-LS is not "
                       "supported by pacsnb (DICOM does not use it)")
        comps.append(fr.ids.index(cid))
    near = int(seg[1 + 2 * ns])
    ilv = int(seg[2 + 2 * ns])
    pt = int(seg[3 + 2 * ns])
    if ilv > 2:
        raise fail(f"the scan at byte {mpos} has the interleave mode {ilv}; JPEG-LS defines 0 (none), 1 (line) "
                   "and 2 (sample)")
    if ilv == 0 and ns != 1:
        raise fail(f"the scan at byte {mpos} has {ns} components but no interleave (ILV 0 codes one component)")
    if ilv == 2 and ns > 4:
        raise fail(f"the scan at byte {mpos} interleaves {ns} components by sample; pacsnb handles up to 4")
    if pt:
        raise fail(f"the scan at byte {mpos} has a point transform ({pt}); not supported by pacsnb")
    fr.done.update(fr.ids[c] for c in comps)
    return comps, near, ilv


def read_header(data: Any, *, frame: int | None = None) -> JlsHeader:
    """Read the markers of a JPEG-LS codestream (without decoding its scans).

    Raises
    ------
    CodecError
        When the codestream is not JPEG-LS, or its markers are bad.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.zeros((3, 5, 3), np.uint8), rows=3, columns=5, samples=3, bits_allocated=8)
    >>> h = read_header(data)
    >>> h.precision, h.rows, h.columns, h.components, h.interleave
    (8, 3, 5, 3, (2,))
    """
    return _parse(codestream_array(data, _where(frame)), frame)


def decode_frame(data: Any, params: Any = None, *, frame: int | None = None, out: np.ndarray | None = None,
                 **kwargs: Any) -> np.ndarray:
    """Decode one JPEG-LS frame (lossless or near-lossless, 2 to 16 bits, any interleave).

    Parameters
    ----------
    data
        The frame's codestream (bytes-like or a uint8 array), as given by
        :func:`pacsnb.io.encaps.get_frame`; padding after EOI is ignored.
    params
        A :class:`~pacsnb.codecs.FrameParams` or anything ``FrameParams.of`` takes (such
        as ``pacsnb.pixels.PixelFormat`` or a Dataset); keyword arguments override it.
        When neither is given, the frame header decides: 8 bits allocated for P <= 8, else
        16, unsigned.
    frame
        The frame's number, for error messages.
    out
        A writeable C-contiguous array of the frame's shape and dtype to decode into.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` or ``(rows, columns, samples)``, C-contiguous (``out`` when given).

    Raises
    ------
    CodecError
        Naming the frame and the byte offset: not a JPEG-LS codestream, misplaced, missing
        or truncated markers, invalid codes, data that ends too early, unsupported features
        (mapping tables, point transform), a frame that does not match ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    >>> data = encode_frame(rgb, rows=2, columns=4, samples=3, bits_allocated=8)
    >>> bool((decode_frame(data, rows=2, columns=4, samples=3, bits_allocated=8) == rgb).all())
    True
    >>> decode_frame(data)[1, 3]   # parameters from the frame header
    array([21, 22, 23], dtype=uint8)
    """
    src = codestream_array(data, _where(frame))

    def header() -> tuple[int, int, int, int]:
        h = _parse(src, frame)
        if h.rows * h.columns * h.components > _MAX_SAMPLES:
            raise CodecError(f"{_where(frame)}: the frame header gives {h.rows} x {h.columns} x {h.components} "
                             "samples, more than pacsnb decodes without frame parameters (pass Rows/Columns)")
        return h.rows, h.columns, h.components, h.precision

    p = jpeg_frame_params(params, kwargs, header, _where(frame), "JPEG-LS")
    out = frame_output(out, p.shape, p.dtype)
    work = out.reshape(-1).view(np.uint16 if p.bits_allocated == 16 else np.uint8)
    _parse(src, frame, p, work)
    return out


# -- encoding -------------------------------------------------------------------------------------
def _encode_values(arr: Any, p: FrameParams, frame: int | None) -> np.ndarray:
    """The frame as a flat integer array of samples, colour interleaved by pixel."""
    where = _where(frame)
    if isinstance(arr, np.ndarray) and (arr.dtype != np.uint8 or p.bits_allocated == 8):
        a = arr.view(np.uint8) if arr.dtype == np.bool_ else arr
        if a.dtype.kind not in "ui":
            raise CodecError(f"{where}: cannot encode a {a.dtype} array")
        if a.shape != p.shape:
            if a.ndim == 3 and p.samples > 1 and a.shape == (p.samples, p.rows, p.columns):
                a = np.moveaxis(a, 0, -1)
            else:
                raise CodecError(f"{where}: the array's shape {a.shape} does not match the frame's {p.shape}")
        return np.ascontiguousarray(a).reshape(-1)
    src = codestream_array(arr, where)
    if len(src) < p.frame_bytes:
        raise CodecError(f"{where}: {len(src)} bytes of pixel data, but Rows x Columns x Samples x "
                         f"Bits Allocated / 8 = {p.frame_bytes}")
    vals = np.frombuffer(src[:p.frame_bytes].tobytes(), p.dtype.newbyteorder("<"))
    if p.samples > 1 and p.planar_configuration == 1:
        vals = vals.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
    return np.ascontiguousarray(vals).reshape(-1)


def encode_frame(array: Any, params: Any = None, *, frame: int | None = None, near: int = 0,
                 interleave: int | None = None, bits_stored: int | None = None, restart_interval: int = 0,
                 **kwargs: Any) -> bytes:
    """Encode one frame as JPEG-LS (lossless by default; default parameters, no LSE).

    Parameters
    ----------
    array
        The frame: an integer array of shape ``(rows, columns)`` or ``(rows, columns,
        samples)`` (also ``(samples, rows, columns)``), or its native little endian bytes.
    params
        A :class:`~pacsnb.codecs.FrameParams` or anything ``FrameParams.of`` takes; keyword
        arguments override it.
    frame
        The frame's number, for error messages.
    near
        NEAR: 0 (lossless, ``1.2.840.10008.1.2.4.80``) or the largest error allowed per
        sample (near-lossless, ``1.2.840.10008.1.2.4.81``).
    interleave
        For colour: 0 one scan per component, 1 interleaved by line, 2 by sample (the
        default).
    bits_stored
        The sample precision P (2 .. 16); by default the ``bits_stored`` / ``BitsStored``
        of ``params`` if it has one, else Bits Allocated. Signed values are stored as their
        P-bit two's complement.
    restart_interval
        Lines per restart interval (``DRI`` and ``RSTm`` markers; 0: none).

    Returns
    -------
    bytes
        The codestream, SOI to EOI.

    Raises
    ------
    CodecError
        Values that do not fit in P bits, an array that does not match ``params``, bad
        parameters.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((64, 64), 100, np.uint8)
    >>> len(encode_frame(img, rows=64, columns=64, bits_allocated=8))   # 4096 bytes: one run a line
    52
    >>> encode_frame(img, rows=64, columns=64, bits_allocated=8, bits_stored=6)
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: JPEG-LS frame: the value 100 does not fit in 6 unsigned bits (Bits Stored)
    """
    if bits_stored is None:
        for name in ("bits_stored", "BitsStored"):
            v = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
            if v is not None:
                bits_stored = int(v)
                break
    p = FrameParams.of(params, **kwargs)
    where = _where(frame)
    if p.rows <= 0 or p.columns <= 0 or p.rows > 65535 or p.columns > 65535:
        raise CodecError(f"{where}: Rows x Columns {p.rows} x {p.columns} is outside 1 .. 65535")
    if p.bits_allocated not in (8, 16):
        raise CodecError(f"{where}: Bits Allocated {p.bits_allocated} is not supported; JPEG-LS frames have 8 or 16")
    if not 1 <= p.samples <= 4:
        raise CodecError(f"{where}: Samples per Pixel {p.samples} is not supported (1 to 4)")
    prec = p.bits_allocated if bits_stored is None else int(bits_stored)
    if not 2 <= prec <= min(16, p.bits_allocated):
        raise CodecError(f"{where}: Bits Stored {prec} is not supported; JPEG-LS needs 2 to 16 bits, at most Bits "
                         f"Allocated ({p.bits_allocated})")
    maxval = (1 << prec) - 1
    near = int(near)
    if not 0 <= near <= min(255, maxval // 2):
        raise CodecError(f"{where}: NEAR {near} is outside 0 .. {min(255, maxval // 2)} for {prec}-bit samples")
    ilv = (2 if p.samples > 1 else 0) if interleave is None else int(interleave)
    if ilv not in (0, 1, 2):
        raise CodecError(f"{where}: interleave mode {interleave} is not 0 (none), 1 (line) or 2 (sample)")
    if p.samples == 1:
        ilv = 0
    restart = int(restart_interval)
    if not 0 <= restart <= 65535:
        raise CodecError(f"{where}: restart interval {restart_interval} is outside 0 .. 65535")
    vals = _encode_values(array, p, frame)
    signed = vals.dtype.kind == "i" or p.pixel_representation == 1
    if vals.size:
        lo, hi = int(vals.min()), int(vals.max())
        if vals.dtype.kind == "u" and signed and hi >= 1 << (vals.dtype.itemsize * 8 - 1):
            vals = vals.view(vals.dtype.str.replace("u", "i"))
            lo, hi = int(vals.min()), int(vals.max())
        if signed and vals.dtype.kind == "i":
            if lo < -(1 << (prec - 1)) or hi >= 1 << (prec - 1):
                bad = lo if lo < -(1 << (prec - 1)) else hi
                raise CodecError(f"{where}: the value {bad} does not fit in {prec} signed bits (Bits Stored)")
        elif hi >= 1 << prec:
            raise CodecError(f"{where}: the value {hi} does not fit in {prec} unsigned bits (Bits Stored)")
    if vals.dtype.itemsize == 2 and vals.dtype.kind == "u" and prec == 16:
        work = vals
    elif vals.dtype.itemsize <= 2:
        work = vals.view(vals.dtype.str.replace("i", "u")) & np.array(maxval, vals.dtype.str.replace("i", "u"))
    else:
        work = (vals.astype(np.int64) & maxval).astype(np.uint16)
    work = np.ascontiguousarray(work)
    nf = p.samples
    t1, t2, t3 = default_thresholds(maxval, near)
    qt = _qtable(maxval, near, t1, t2, t3)
    head = bytearray(b"\xff\xd8")
    head += b"\xff\xf7" + (8 + 3 * nf).to_bytes(2, "big") + bytes([prec]) + p.rows.to_bytes(2, "big")
    head += p.columns.to_bytes(2, "big") + bytes([nf])
    for i in range(nf):
        head += bytes([i + 1, 0x11, 0])
    if restart:
        head += b"\xff\xdd\x00\x04" + restart.to_bytes(2, "big")
    bpp = max(2, maxval.bit_length())
    limit = 2 * (bpp + max(8, bpp))
    nsamples = p.rows * p.columns * nf
    scans = [[c] for c in range(nf)] if ilv == 0 else [list(range(nf))]
    nrst = (p.rows - 1) // restart if restart else 0
    cap = len(head) + nsamples * (limit + 2) // 7 + (64 + 4 * nrst) * len(scans) + 64
    out = np.empty(cap, np.uint8)
    out[:len(head)] = np.frombuffer(bytes(head), np.uint8)
    op = len(head)
    for comps in scans:
        sos = b"\xff\xda" + (6 + 2 * len(comps)).to_bytes(2, "big") + bytes([len(comps)])
        for c in comps:
            sos += bytes([c + 1, 0])
        sos += bytes([near, ilv, 0])
        out[op:op + len(sos)] = np.frombuffer(sos, np.uint8)
        op += len(sos)
        kernel = K.encode_samples if ilv == 2 else K.encode_lines
        op = int(kernel(work, p.rows, p.columns, nf, np.array(comps, np.int64), len(comps), near, maxval, t1, t2, t3,
                        _BASIC_RESET, restart, qt, out, op))
        if op + 16 > cap:  # cannot happen: the capacity is the worst case
            raise CodecError(f"{where}: internal error: the encoder ran out of room")
    out[op:op + 2] = (0xFF, 0xD9)
    return out[:op + 2].tobytes()
