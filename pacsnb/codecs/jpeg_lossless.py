"""JPEG Lossless, Non-Hierarchical (Process 14): decode and encode frames (ITU-T T.81 Annex H).

Two transfer syntaxes use it (PS3.5 A.4.1, 8.2.1):

- JPEG Lossless, Non-Hierarchical (Process 14), ``1.2.840.10008.1.2.4.57``: any of the
  seven predictors of Table H.1;
- JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1]),
  ``1.2.840.10008.1.2.4.70``: predictor 1 (the sample to the left).

A frame is one JPEG codestream: ``SOI``, then marker segments (``SOF3`` giving the sample
precision P = 2 .. 16 bits, the size and the components; ``DHT`` Huffman tables; ``DRI``
restart interval; ``APPn``/``COM`` skipped), one ``SOS`` per scan followed by its
entropy-coded data (with ``RSTm`` markers every restart interval), and ``EOI``. The marker
segments are parsed here; the entropy-coded data is decoded by the numba kernels of
:mod:`pacsnb.codecs._jpeg_kernels`, row by row, prediction included.

Decoded values are the stored values (P bits, the point transform undone), in an array of
``(rows, columns)`` or ``(rows, columns, samples)`` whatever the Planar Configuration, of
the dtype Bits Allocated (8 or 16) and Pixel Representation give; signed values are left
as their P-bit two's complement pattern for :mod:`pacsnb.pixels` to sign-extend from Bits
Stored. Components may be interleaved in one scan or come in several scans; their
sampling factors must be equal (no subsampling).

The encoder writes one interleaved scan of all components with one Huffman table
optimised for the frame (T.81 Annex K.2), predictor 1 by default (any of 1 .. 7 for
Process 14), no point transform, optionally restart markers.

Bad input (truncated or corrupt codestreams, missing or misplaced markers, tables that do
not exist, a frame that does not match Rows/Columns/Samples per Pixel/Bits Allocated) is
a :class:`~pacsnb.errors.CodecError` that names the frame and the byte offset.

Examples
--------
>>> import numpy as np
>>> from pacsnb.codecs import jpeg_lossless as jl
>>> ct = np.array([[-1024, -1024, 40, 41], [0, 7, 7, 3000]], dtype=np.int16)
>>> data = jl.encode_frame(ct, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
>>> data[:4], data[-2:]
(b'\\xff\\xd8\\xff\\xc3', b'\\xff\\xd9')
>>> jl.decode_frame(data, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
array([[-1024, -1024,    40,    41],
       [    0,     7,     7,  3000]], dtype=int16)
>>> jl.read_header(data)
JpegHeader(precision=16, rows=2, columns=4, components=1, predictors=(1,), point_transform=0, restart_interval=0)
>>> jl.decode_frame(data[:-9], rows=2, columns=4, bits_allocated=16, pixel_representation=1, frame=3)
Traceback (most recent call last):
...
pacsnb.errors.CodecError: JPEG Lossless frame 3: the entropy-coded data ends at byte 55 (the end of the codestream) before row 0 is complete (truncated or corrupt)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pacsnb.codecs import _jpeg_kernels as K
from pacsnb.codecs.rle import FrameParams
from pacsnb.codecs._common import (JPEG_SOF_NAMES, JpegLosslessFrame, codestream_array, frame_output,
                                   jpeg_check_frame, jpeg_check_soi, jpeg_frame_params, jpeg_marker_name,
                                   jpeg_next_segment, jpeg_skip_scan)
from pacsnb.errors import CodecError

__all__ = ["JPEG_LOSSLESS_P14", "JPEG_LOSSLESS_SV1", "JpegHeader", "decode_frame", "encode_frame",
           "encode_frame_sv1", "read_header"]

#: JPEG Lossless, Non-Hierarchical (Process 14).
JPEG_LOSSLESS_P14 = "1.2.840.10008.1.2.4.57"
#: JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1]).
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"

_NTABLES = 4


@dataclass(frozen=True, slots=True)
class JpegHeader:
    """What the marker segments of a JPEG lossless codestream say.

    Attributes
    ----------
    precision
        Sample precision P in bits (2 .. 16).
    rows, columns
        Number of lines and samples per line.
    components
        Number of components (samples per pixel).
    predictors
        The predictor (selection value, 1 .. 7) of each scan.
    point_transform
        The point transform Pt of the first scan (0: none).
    restart_interval
        Pixels per restart interval (0: no restart markers).

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.arange(12, dtype=np.uint8).reshape(3, 4), rows=3, columns=4,
    ...                     bits_allocated=8)
    >>> h = read_header(data)
    >>> h.precision, (h.rows, h.columns), h.components, h.predictors
    (8, (3, 4), 1, (1,))
    """

    precision: int
    rows: int
    columns: int
    components: int
    predictors: tuple[int, ...]
    point_transform: int
    restart_interval: int


def _where(frame: int | None) -> str:
    return "JPEG Lossless frame" + ("" if frame is None else f" {frame}")


def _parse(src: np.ndarray, frame: int | None, p: FrameParams | None = None,
           out16: np.ndarray | None = None) -> JpegHeader:
    """Walk the codestream's markers; with ``out16``, decode its scans into it, checking the
    frame against ``p``."""
    where = _where(frame)
    n = len(src)

    def fail(text: str) -> CodecError:
        return CodecError(f"{where}: {text}")

    jpeg_check_soi(src, fail, "JPEG")
    fast = np.zeros((_NTABLES, 1 << K.LOOKAHEAD), np.int32)
    maxcode = np.zeros((_NTABLES, 18), np.int64)
    valptr = np.zeros((_NTABLES, 17), np.int64)
    huffval = np.zeros((_NTABLES, 256), np.uint8)
    defined = [False] * _NTABLES
    fr: JpegLosslessFrame | None = None
    restart = 0
    predictors: list[int] = []
    first_pt = 0
    pos = 2
    while True:
        m, mpos, a, b = jpeg_next_segment(src, pos, fail)
        if m < 0:
            if fr is not None and predictors and len(fr.done) == len(fr.ids):
                break  # all decoded; a missing EOI is tolerated
            raise fail(f"the codestream ends at byte {n} before " +
                       ("any frame header (SOF3)" if fr is None else
                        "any scan (SOS)" if not predictors else "all components were decoded") + " (truncated?)")
        name = jpeg_marker_name(m)
        if m == 0xD9:  # EOI
            break
        if 0xD0 <= m <= 0xD7 or m in (0x00, 0x01, 0xD8):
            raise fail(f"{name} at byte {mpos} is in the wrong place (outside entropy-coded data)")
        seg = src[a:b]
        pos = b
        if m == 0xC3:
            if fr is not None:
                raise fail(f"a second frame header (SOF3) at byte {mpos}")
            fr = JpegLosslessFrame.read(seg, mpos, fail, "SOF3", "JPEG lossless")
            if p is not None:
                jpeg_check_frame(fr.rows, fr.columns, len(fr.ids), fr.precision, p, fail)
        elif m in JPEG_SOF_NAMES:
            raise fail(f"the frame is {name} ({JPEG_SOF_NAMES[m]}), not lossless Huffman-coded (SOF3): this is not "
                       "JPEG Lossless Process 14 data (wrong transfer syntax?)")
        elif m == 0xC4:
            _read_dht(seg, mpos, fail, fast, maxcode, valptr, huffval, defined)
        elif m == 0xCC:
            raise fail(f"DAC at byte {mpos}: arithmetic coding is not part of JPEG Lossless Process 14")
        elif m == 0xDD:
            if len(seg) != 2:
                raise fail(f"the DRI segment at byte {mpos} has length {len(seg) + 2}, not 4")
            restart = (int(seg[0]) << 8) | int(seg[1])
        elif m in (0xDC, 0xDE, 0xDF):
            raise fail(f"{name} at byte {mpos}: hierarchical coding and DNL are not supported")
        elif m == 0xDA:
            if fr is None:
                raise fail(f"a scan (SOS at byte {mpos}) before the frame header (SOF3)")
            comps, tsel, psv, pt = _read_sos(seg, mpos, fail, fr, defined)
            predictors.append(psv)
            if len(predictors) == 1:
                first_pt = pt
            if out16 is None:
                pos = jpeg_skip_scan(src, pos, K._find_marker)  # the entropy-coded data and its RSTm
            else:
                status = np.zeros(6, np.int64)
                pos = int(K.decode_scan(src, pos, out16, fr.rows, fr.columns, len(fr.ids), len(comps),
                                        np.array(comps, np.int64), np.array(tsel, np.int64), fast, maxcode,
                                        valptr, huffval, psv, 1 << (fr.precision - pt - 1), restart, status))
                if status[0]:
                    raise _status_error(status, src, fail)
                if pt:
                    K.scale_samples(out16, len(fr.ids), np.array(comps, np.int64), len(comps), pt)
        # APPn, COM, DQT, JPGn and others: skipped
    if fr is None:
        raise fail("the codestream has no frame header (SOF3)")
    if len(fr.done) != len(fr.ids):
        missing = [i for i in fr.ids if i not in fr.done]
        raise fail(f"EOI before component(s) {missing} were decoded (missing scans)")
    return JpegHeader(fr.precision, fr.rows, fr.columns, len(fr.ids), tuple(predictors), first_pt, restart)


def _status_error(status: np.ndarray, src: np.ndarray, fail) -> CodecError:
    code, row, col, pos, extra, m = (int(x) for x in status[:6])
    if code == K.OUT_OF_DATA:
        marker = "the end of the codestream" if extra < 0 else f"marker {jpeg_marker_name(extra)}"
    elif code == K.RST_MISSING:
        marker = "the end of the codestream" if extra < 0 else jpeg_marker_name(extra)
    else:
        marker = jpeg_marker_name(extra) if extra >= 0 else ""
    text = K.DECODE_STATUS[code].format(row=row, col=col, pos=pos, marker=marker, m=m)
    return fail(text)


def _read_dht(seg: np.ndarray, mpos: int, fail, fast, maxcode, valptr, huffval, defined) -> None:
    i = 0
    n = len(seg)
    while i < n:
        if i + 17 > n:
            raise fail(f"the DHT segment at byte {mpos} is cut off (truncated or corrupt)")
        tc, th = int(seg[i]) >> 4, int(seg[i]) & 15
        if tc != 0 or th >= _NTABLES:
            raise fail(f"the DHT segment at byte {mpos} defines table class {tc}, destination {th}; JPEG lossless "
                       "uses class 0 (DC/lossless) tables 0 to 3")
        bits = np.zeros(17, np.int64)
        bits[1:] = seg[i + 1:i + 17]
        total = int(bits.sum())
        if i + 17 + total > n or total > 256:
            raise fail(f"the DHT segment at byte {mpos} lists {total} codes, more than its length holds")
        vals = seg[i + 17:i + 17 + total]
        if total and int(vals.max()) > 16:
            raise fail(f"Huffman table {th} (DHT at byte {mpos}) has the value {int(vals.max())}; lossless "
                       "difference categories go up to 16")
        huffval[th, :] = 0
        huffval[th, :total] = vals
        if K.build_decode_table(bits, huffval[th], fast[th], maxcode[th], valptr[th]) < 0:
            raise fail(f"Huffman table {th} (DHT at byte {mpos}) has more codes of some length than the "
                       "lengths allow (corrupt table)")
        defined[th] = True
        i += 17 + total


def _read_sos(seg: np.ndarray, mpos: int, fail, fr: JpegLosslessFrame, defined) -> tuple[list[int], list[int], int, int]:
    if len(seg) < 1:
        raise fail(f"the SOS segment at byte {mpos} is empty")
    ns = int(seg[0])
    if ns < 1 or len(seg) != 1 + 2 * ns + 3:
        raise fail(f"the SOS segment at byte {mpos} has {len(seg) + 2} bytes, which does not fit {ns} components")
    comps, tsel = [], []
    for k in range(ns):
        cid = int(seg[1 + 2 * k])
        td = int(seg[2 + 2 * k]) >> 4
        if cid not in fr.ids:
            raise fail(f"the scan at byte {mpos} codes component {cid}, which the frame header does not define")
        if cid in fr.done or fr.ids.index(cid) in comps:
            raise fail(f"the scan at byte {mpos} codes component {cid} a second time")
        if td >= _NTABLES or not defined[td]:
            raise fail(f"the scan at byte {mpos} uses Huffman table {td}, which no DHT segment defined before it")
        comps.append(fr.ids.index(cid))
        tsel.append(td)
    psv = int(seg[1 + 2 * ns])
    pt = int(seg[3 + 2 * ns]) & 15
    if not 1 <= psv <= 7:
        raise fail(f"the scan at byte {mpos} selects predictor {psv}; JPEG lossless predictors are 1 to 7")
    if pt >= fr.precision:
        raise fail(f"the scan at byte {mpos} has a point transform of {pt} bits for {fr.precision}-bit samples")
    fr.done.update(fr.ids[c] for c in comps)
    return comps, tsel, psv, pt


def read_header(data: Any, *, frame: int | None = None) -> JpegHeader:
    """Read the markers of a JPEG lossless codestream (without decoding its scans).

    Raises
    ------
    CodecError
        When the codestream is not JPEG lossless, or its markers are bad.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.zeros((3, 5), np.uint8), rows=3, columns=5, bits_allocated=8)
    >>> h = read_header(data)
    >>> h.precision, h.rows, h.columns, h.predictors
    (8, 3, 5, (1,))
    """
    return _parse(codestream_array(data, _where(frame)), frame)


def decode_frame(data: Any, params: Any = None, *, frame: int | None = None, out: np.ndarray | None = None,
                 **kwargs: Any) -> np.ndarray:
    """Decode one JPEG lossless frame (Process 14, any predictor, 2 to 16 bits).

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
        Naming the frame and the byte offset: not a JPEG lossless codestream, misplaced,
        missing or truncated markers, undefined Huffman tables, invalid codes, data that
        ends too early, a frame that does not match ``params``.

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
        return h.rows, h.columns, h.components, h.precision

    p = jpeg_frame_params(params, kwargs, header, _where(frame), "JPEG lossless")
    out = frame_output(out, p.shape, p.dtype)
    if p.bits_allocated == 16:
        work = out.reshape(-1).view(np.uint16)
    else:
        work = np.empty(out.size, np.uint16)
    _parse(src, frame, p, work)
    if p.bits_allocated == 8:
        out.reshape(-1).view(np.uint8)[:] = work  # values of at most 8 bits (P <= 8 is checked)
    return out


# -- encoding -------------------------------------------------------------------------------------
def _huffman_table(hist: np.ndarray) -> tuple[list[int], list[int]]:
    """BITS (counts of code lengths 1..16) and HUFFVAL of an optimal table for the
    histogram of the 17 categories (T.81 K.2: a reserved symbol keeps the all-ones code
    free; code lengths are limited to 16)."""
    freq = [int(x) for x in hist] + [1]
    nsym = len(freq)
    size = [0] * nsym
    nxt = [-1] * nsym
    while True:
        v1 = -1
        for i in range(nsym):
            if freq[i] > 0 and (v1 < 0 or freq[i] <= freq[v1]):
                v1 = i
        v2 = -1
        for i in range(nsym):
            if freq[i] > 0 and i != v1 and (v2 < 0 or freq[i] <= freq[v2]):
                v2 = i
        if v2 < 0:
            break
        freq[v1] += freq[v2]
        freq[v2] = 0
        size[v1] += 1
        while nxt[v1] >= 0:
            v1 = nxt[v1]
            size[v1] += 1
        nxt[v1] = v2
        size[v2] += 1
        while nxt[v2] >= 0:
            v2 = nxt[v2]
            size[v2] += 1
    bits = [0] * 40
    for s in size:
        if s:
            bits[s] += 1
    for i in range(39, 16, -1):  # limit the lengths to 16 (K.3)
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    i = 16
    while bits[i] == 0:
        i -= 1
    bits[i] -= 1  # drop the reserved code
    order = sorted((size[v], v) for v in range(nsym - 1) if size[v] > 0)
    return bits[1:17], [v for _, v in order]


def _codes(bits: list[int], huffval: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The code and code length of each category (C.2)."""
    ehufco = np.zeros(17, np.int64)
    ehufsi = np.zeros(17, np.int64)
    code, k = 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            ehufco[huffval[k]] = code
            ehufsi[huffval[k]] = length
            code += 1
            k += 1
        code <<= 1
    return ehufco, ehufsi


def _encode_values(arr: Any, p: FrameParams, frame: int | None) -> np.ndarray:
    """The frame as a flat integer array of samples, colour interleaved by pixel."""
    if isinstance(arr, np.ndarray) and (arr.dtype != np.uint8 or p.bits_allocated == 8):
        a = arr.view(np.uint8) if arr.dtype == np.bool_ else arr
        if a.dtype.kind not in "ui":
            raise CodecError(f"{_where(frame)}: cannot encode a {a.dtype} array")
        if a.shape != p.shape:
            if a.ndim == 3 and p.samples > 1 and a.shape == (p.samples, p.rows, p.columns):
                a = np.moveaxis(a, 0, -1)
            else:
                raise CodecError(f"{_where(frame)}: the array's shape {a.shape} does not match the frame's "
                                 f"{p.shape}")
        return np.ascontiguousarray(a).reshape(-1)
    src = codestream_array(arr, _where(frame))
    if len(src) < p.frame_bytes:
        raise CodecError(f"{_where(frame)}: {len(src)} bytes of pixel data, but Rows x Columns x Samples x "
                         f"Bits Allocated / 8 = {p.frame_bytes}")
    vals = np.frombuffer(src[:p.frame_bytes].tobytes(), p.dtype.newbyteorder("<"))
    if p.samples > 1 and p.planar_configuration == 1:
        vals = vals.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
    return np.ascontiguousarray(vals).reshape(-1)


def encode_frame(array: Any, params: Any = None, *, frame: int | None = None, predictor: int = 1,
                 bits_stored: int | None = None, restart_interval: int = 0, **kwargs: Any) -> bytes:
    """Encode one frame as JPEG lossless (Process 14; predictor 1 is SV1).

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
    predictor
        The selection value, 1 to 7 (1 for the SV1 transfer syntax).
    bits_stored
        The sample precision P (2 .. 16); by default the ``bits_stored`` / ``BitsStored``
        of ``params`` if it has one, else Bits Allocated. Signed values are stored as their
        P-bit two's complement.
    restart_interval
        Pixels per restart interval (0: none).

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
    >>> img = np.full((8, 8), 100, np.uint8)
    >>> data = encode_frame(img, rows=8, columns=8, bits_allocated=8)
    >>> len(data)   # 64 equal samples: one bit each
    59
    >>> encode_frame(img, rows=8, columns=8, bits_allocated=8, bits_stored=6)
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: JPEG Lossless frame: the value 100 does not fit in 6 unsigned bits (Bits Stored)
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
        raise CodecError(f"{where}: Bits Allocated {p.bits_allocated} is not supported; JPEG lossless frames "
                         "have 8 or 16")
    if not 1 <= p.samples <= 4:
        raise CodecError(f"{where}: Samples per Pixel {p.samples} is not supported (1 to 4)")
    prec = p.bits_allocated if bits_stored is None else int(bits_stored)
    if not 2 <= prec <= min(16, p.bits_allocated):
        raise CodecError(f"{where}: Bits Stored {prec} is not supported; JPEG lossless needs 2 to 16 bits, "
                         f"at most Bits Allocated ({p.bits_allocated})")
    if not 1 <= int(predictor) <= 7:
        raise CodecError(f"{where}: predictor {predictor} is not one of 1 to 7")
    if not 0 <= int(restart_interval) <= 65535:
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
    work = np.ascontiguousarray((vals.astype(np.int64) & ((1 << prec) - 1)).astype(np.uint16))
    nf, npix = p.samples, p.rows * p.columns
    diffs = np.empty(npix * nf, np.int32)
    hist = np.zeros(17, np.int64)
    K.predict_diffs(work, p.rows, p.columns, nf, int(predictor), 1 << (prec - 1), int(restart_interval), diffs,
                    hist)
    bits, huffval = _huffman_table(hist)
    ehufco, ehufsi = _codes(bits, huffval)
    head = bytearray(b"\xff\xd8")
    head += b"\xff\xc3" + (8 + 3 * nf).to_bytes(2, "big") + bytes([prec]) + p.rows.to_bytes(2, "big")
    head += p.columns.to_bytes(2, "big") + bytes([nf])
    for i in range(nf):
        head += bytes([i + 1, 0x11, 0])
    head += b"\xff\xc4" + (2 + 1 + 16 + len(huffval)).to_bytes(2, "big") + b"\x00" + bytes(bits) + bytes(huffval)
    if restart_interval:
        head += b"\xff\xdd\x00\x04" + int(restart_interval).to_bytes(2, "big")
    head += b"\xff\xda" + (6 + 2 * nf).to_bytes(2, "big") + bytes([nf])
    for i in range(nf):
        head += bytes([i + 1, 0x00])
    head += bytes([int(predictor), 0, 0])
    nbits = int((hist * (ehufsi + np.minimum(np.arange(17), 15) * (np.arange(17) < 16))).sum())
    nrst = (npix - 1) // restart_interval if restart_interval else 0
    cap = len(head) + 2 * (nbits // 8 + 1) + 4 * nrst + 16
    out = np.empty(cap, np.uint8)
    out[:len(head)] = np.frombuffer(bytes(head), np.uint8)
    end = int(K.encode_diffs(diffs, npix, nf, int(restart_interval), ehufco, ehufsi, out, len(head)))
    if end < 0 or end + 2 > cap:  # cannot happen: the capacity is the worst case
        raise CodecError(f"{where}: internal error: the encoder ran out of room")
    out[end:end + 2] = (0xFF, 0xD9)
    return out[:end + 2].tobytes()


def encode_frame_sv1(array: Any, params: Any = None, *, frame: int | None = None, **kwargs: Any) -> bytes:
    """Encode one frame for JPEG Lossless SV1 (``1.2.840.10008.1.2.4.70``): predictor 1.

    Takes the parameters of :func:`encode_frame` except ``predictor``.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame_sv1(np.eye(4, dtype=np.uint16), rows=4, columns=4, bits_allocated=16)
    >>> read_header(data).predictors
    (1,)
    """
    if kwargs.pop("predictor", 1) != 1:
        raise CodecError(f"{_where(frame)}: the SV1 transfer syntax requires predictor 1")
    return encode_frame(array, params, frame=frame, predictor=1, **kwargs)
