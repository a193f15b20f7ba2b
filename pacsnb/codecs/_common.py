"""Helpers shared by the codecs (internal)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pacsnb.errors import CodecError


def codestream_array(data: Any, where: str) -> np.ndarray:
    """``data`` (bytes-like or an array) as a flat, contiguous uint8 array, without copying
    when it can; ``where`` names the codec and frame in the error.

    Examples
    --------
    >>> codestream_array(b"ab", "RLE frame 0").tolist()
    [97, 98]
    """
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            data = np.ascontiguousarray(data).view(np.uint8)
        return np.ascontiguousarray(data).reshape(-1)
    try:
        mv = memoryview(data)
    except TypeError:
        raise CodecError(f"{where}: the codestream must be bytes-like, not {type(data).__name__}") from None
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return np.frombuffer(mv, dtype=np.uint8)


def frame_output(out: np.ndarray | None, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """The array a decoder writes a frame into: a new one, or the caller's ``out`` once it
    is checked to be a writeable C-contiguous array of the frame's shape and dtype.

    Examples
    --------
    >>> frame_output(None, (2, 3), np.uint16).shape
    (2, 3)
    >>> frame_output(np.zeros((2, 2), np.uint8), (2, 3), np.uint8)
    Traceback (most recent call last):
    ...
    ValueError: out must be a writeable C-contiguous uint8 array of shape (2, 3)
    """
    dtype = np.dtype(dtype)
    if out is None:
        return np.empty(shape, dtype)
    if (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype
            or not out.flags.c_contiguous or not out.flags.writeable):
        raise ValueError(f"out must be a writeable C-contiguous {dtype} array of shape {shape}")
    return out


def jpeg_frame_params(params: Any, kwargs: dict, header: Callable[[], tuple[int, int, int, int]],
                      where: str, what: str) -> Any:
    """The :class:`~pacsnb.codecs.FrameParams` a JPEG decoder decodes a frame to: ``params``
    with ``kwargs`` over it, or, when neither is given, the frame header's
    ``header() -> (rows, columns, components, precision)`` (8 bits allocated for a precision
    up to 8, else 16, unsigned); checked for a positive size and 8 or 16 bits allocated.

    Examples
    --------
    >>> jpeg_frame_params(None, {}, lambda: (4, 5, 3, 12), "JPEG frame 0", "JPEG").bits_allocated
    16
    >>> jpeg_frame_params({"rows": 2, "columns": 2, "bits_allocated": 32}, {}, None, "JPEG frame 0", "JPEG")
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: JPEG frame 0: Bits Allocated 32 is not supported; JPEG frames have 8 or 16
    """
    from pacsnb.codecs.rle import FrameParams  # rle imports this module

    if params is None and not kwargs:
        rows, columns, components, precision = header()
        params = FrameParams(rows=rows, columns=columns, samples=components,
                             bits_allocated=8 if precision <= 8 else 16)
    p = FrameParams.of(params, **kwargs)
    if p.rows <= 0 or p.columns <= 0 or p.samples < 1:
        raise CodecError(f"{where}: Rows x Columns x Samples is {p.rows} x {p.columns} x {p.samples}")
    if p.bits_allocated not in (8, 16):
        raise CodecError(f"{where}: Bits Allocated {p.bits_allocated} is not supported; {what} frames have 8 or 16")
    return p


# -- JPEG (ITU-T T.81) marker names, shared by the JPEG codecs ------------------------------------
#: The frame header (SOFn) markers and the coding process each starts (T.81 Table B.1).
JPEG_SOF_NAMES = {0xC0: "baseline DCT", 0xC1: "extended sequential DCT", 0xC2: "progressive DCT",
                  0xC3: "lossless", 0xC5: "differential sequential DCT", 0xC6: "differential progressive DCT",
                  0xC7: "differential lossless", 0xC9: "extended sequential DCT, arithmetic coding",
                  0xCA: "progressive DCT, arithmetic coding", 0xCB: "lossless, arithmetic coding",
                  0xCD: "differential sequential DCT, arithmetic coding",
                  0xCE: "differential progressive DCT, arithmetic coding",
                  0xCF: "differential lossless, arithmetic coding"}
_JPEG_MARKER_NAMES = {0xC4: "DHT", 0xC8: "JPG", 0xCC: "DAC", 0xD8: "SOI", 0xD9: "EOI", 0xDA: "SOS", 0xDB: "DQT",
                      0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM", 0x01: "TEM",
                      # T.87 (JPEG-LS) takes three of T.81's JPGn markers
                      0xF7: "SOF55", 0xF8: "LSE", 0xF9: "SOF57"}
# markers without a length and parameters (0xFF00 is a stuffed zero, not a marker)
_JPEG_STANDALONE = frozenset([0x00, 0x01, 0xD8, 0xD9, *range(0xD0, 0xD8)])


def jpeg_marker_name(m: int) -> str:
    """The name of JPEG marker ``0xFF m`` (T.81 Table B.1; T.87 Table C.1 for SOF55, LSE, SOF57).

    Examples
    --------
    >>> jpeg_marker_name(0xC0), jpeg_marker_name(0xD3), jpeg_marker_name(0xE1), jpeg_marker_name(0x02)
    ('SOF0', 'RST3', 'APP1', 'marker 0xFF02')
    >>> jpeg_marker_name(0xF7), jpeg_marker_name(0xF8), jpeg_marker_name(0xF0)
    ('SOF55', 'LSE', 'JPG0')
    """
    if 0xD0 <= m <= 0xD7:
        return f"RST{m - 0xD0}"
    if 0xE0 <= m <= 0xEF:
        return f"APP{m - 0xE0}"
    if m in _JPEG_MARKER_NAMES:
        return _JPEG_MARKER_NAMES[m]
    if 0xF0 <= m <= 0xFD:
        return f"JPG{m - 0xF0}"
    if m in JPEG_SOF_NAMES:
        return f"SOF{m - 0xC0}"
    return f"marker 0xFF{m:02X}"


def jpeg_check_soi(src: Any, fail: Callable[[str], Exception], what: str) -> None:
    """Raise ``fail(...)`` unless the codestream ``src`` starts with SOI; ``what`` names the
    data expected ("JPEG", "JPEG-LS").

    Examples
    --------
    >>> jpeg_check_soi(b"\\xff\\xd8", ValueError, "JPEG")
    >>> jpeg_check_soi(b"\\x00\\x01", ValueError, "JPEG")
    Traceback (most recent call last):
    ValueError: the codestream does not start with SOI (FF D8) but with 00 01: not JPEG data
    """
    if len(src) < 2 or src[0] != 0xFF or src[1] != 0xD8:
        head = bytes(src[:4]).hex(" ").upper()
        raise fail(f"the codestream does not start with SOI (FF D8) but with {head or 'nothing'}: not {what} data")


def jpeg_next_segment(src: Any, pos: int, fail: Callable[[str], Exception]) -> tuple[int, int, int, int]:
    """The marker at ``src[pos]`` (after any 0xFF fill bytes) and its segment.

    ``src`` is a uint8 array or a memoryview of the codestream. Returns
    ``(marker, marker_offset, segment_start, segment_end)``: the segment's parameters are
    ``src[segment_start:segment_end]`` (after the length field); markers without a segment
    (SOI, EOI, RSTm, TEM, and the stuffed zero 0xFF00, which is no marker) have
    ``segment_start == segment_end`` just after the marker. ``marker`` is -1 at the end of the
    data. ``fail(text)`` makes the exception raised for a byte that is not a marker or a
    segment that runs past the end.

    Examples
    --------
    >>> seg = np.frombuffer(b"\\xff\\xd8\\xff\\xff\\xfe\\x00\\x04hi\\xff\\xd9", np.uint8)
    >>> jpeg_next_segment(seg, 2, ValueError)
    (254, 3, 7, 9)
    >>> jpeg_next_segment(memoryview(b"\\xff\\xd9"), 0, ValueError)
    (217, 0, 2, 2)
    """
    n = len(src)
    if pos >= n:
        return -1, pos, pos, pos
    if src[pos] != 0xFF:
        raise fail(f"expected a marker at byte {pos}, found 0x{int(src[pos]):02X} (corrupt data)")
    while pos < n and src[pos] == 0xFF:
        pos += 1  # fill bytes
    if pos >= n:
        return -1, pos, pos, pos
    m = int(src[pos])
    mpos = pos - 1
    pos += 1
    if m in _JPEG_STANDALONE:
        return m, mpos, pos, pos
    if pos + 2 > n:
        raise fail(f"the {jpeg_marker_name(m)} segment at byte {mpos} is cut off: the codestream ends (truncated)")
    length = (int(src[pos]) << 8) | int(src[pos + 1])
    if length < 2 or pos + length > n:
        raise fail(f"the {jpeg_marker_name(m)} segment at byte {mpos} has length {length}, which runs past the end "
                   f"of the {n}-byte codestream (truncated or corrupt)")
    return m, mpos, pos + 2, pos + length


def jpeg_skip_scan(src: np.ndarray, pos: int, find_marker: Callable[[np.ndarray, int], int]) -> int:
    """The offset of the first marker after the coded data of a scan starting at ``pos``,
    stepping over its restart markers; ``find_marker(src, pos)`` finds the next marker the
    codec's way (T.81 and T.87 stuff bits differently).

    Examples
    --------
    >>> def find(src, pos):  # T.81: 0xFF then a byte other than 0x00
    ...     hits = [i for i in range(pos, len(src) - 1) if src[i] == 0xFF and src[i + 1] != 0]
    ...     return hits[0] if hits else len(src)
    >>> jpeg_skip_scan(np.frombuffer(b"\\x12\\xff\\x00\\xff\\xd0\\x34\\xff\\xd9", np.uint8), 0, find)
    6
    """
    n = len(src)
    while True:
        pos = int(find_marker(src, pos))
        if pos + 1 < n and 0xD0 <= src[pos + 1] <= 0xD7:
            pos += 2
            continue
        return pos


class JpegLosslessFrame:
    """A lossless frame header (SOF3 of T.81, SOF55 of T.87: every component sampled alike)
    and which components the scans have decoded so far.

    Attributes
    ----------
    precision, rows, columns
        Sample precision in bits, lines and samples per line.
    ids
        The component identifiers, in frame header order.
    done
        The identifiers of the components a scan has coded.

    Examples
    --------
    >>> seg = np.frombuffer(bytes([8, 0, 2, 0, 3, 1, 1, 0x11, 0]), np.uint8)
    >>> fr = JpegLosslessFrame.read(seg, 0, ValueError, "SOF3", "JPEG lossless")
    >>> fr.precision, fr.rows, fr.columns, fr.ids
    (8, 2, 3, [1])
    """

    def __init__(self) -> None:
        self.precision = 0
        self.rows = 0
        self.columns = 0
        self.ids: list[int] = []
        self.done: set[int] = set()

    @classmethod
    def read(cls, seg: np.ndarray, mpos: int, fail: Callable[[str], Exception], sof: str, codec: str,
             zero_size: bool = False) -> JpegLosslessFrame:
        """Parse the frame header segment ``seg`` (the ``sof`` marker at byte ``mpos``) of
        ``codec``; with ``zero_size`` a frame of 0 lines or columns is allowed (a later
        segment gives the size).

        Examples
        --------
        >>> seg = np.frombuffer(bytes([1, 0, 2, 0, 3, 1, 1, 0x11, 0]), np.uint8)
        >>> JpegLosslessFrame.read(seg, 5, ValueError, "SOF3", "JPEG lossless")
        Traceback (most recent call last):
        ValueError: the SOF3 segment at byte 5 gives a sample precision of 1 bits; JPEG lossless allows 2 to 16
        """
        if len(seg) < 6:
            raise fail(f"the {sof} segment at byte {mpos} is too short ({len(seg) + 2} bytes)")
        fr = cls()
        fr.precision = int(seg[0])
        fr.rows = (int(seg[1]) << 8) | int(seg[2])
        fr.columns = (int(seg[3]) << 8) | int(seg[4])
        nf = int(seg[5])
        if not 2 <= fr.precision <= 16:
            raise fail(f"the {sof} segment at byte {mpos} gives a sample precision of {fr.precision} bits; "
                       f"{codec} allows 2 to 16")
        if not zero_size:
            if fr.rows == 0:
                raise fail("the frame header gives 0 lines (the number of lines in a DNL marker): not supported")
            if fr.columns == 0:
                raise fail("the frame header gives 0 samples per line")
        if nf < 1 or len(seg) != 6 + 3 * nf:
            raise fail(f"the {sof} segment at byte {mpos} has {len(seg) + 2} bytes, which does not fit {nf} "
                       "components")
        hv = set()
        for i in range(nf):
            cid = int(seg[6 + 3 * i])
            if cid in fr.ids:
                raise fail(f"the frame header names component {cid} twice")
            fr.ids.append(cid)
            hv.add(int(seg[7 + 3 * i]))
        if len(hv) > 1:
            raise fail("the components have different sampling factors (subsampled colour): not supported in "
                       f"{codec} by pacsnb")
        return fr


def jpeg_check_frame(rows: int, columns: int, components: int, precision: int, p: Any,
                     fail: Callable[[str], Exception]) -> None:
    """Raise ``fail(...)`` when a codestream's frame (``rows`` x ``columns``, ``components``,
    ``precision`` bits) does not fit the frame parameters ``p`` (a
    :class:`pacsnb.codecs.rle.FrameParams`).

    Examples
    --------
    >>> from pacsnb.codecs.rle import FrameParams
    >>> jpeg_check_frame(2, 3, 1, 8, FrameParams(rows=2, columns=3, bits_allocated=8), ValueError)
    >>> jpeg_check_frame(2, 3, 3, 8, FrameParams(rows=2, columns=3, bits_allocated=8), ValueError)
    Traceback (most recent call last):
    ValueError: the codestream has 3 component(s) but Samples per Pixel is 1
    """
    if (rows, columns) != (p.rows, p.columns):
        raise fail(f"the codestream's frame is {rows} x {columns} (lines x samples per line) but Rows x "
                   f"Columns are {p.rows} x {p.columns}")
    if components != p.samples:
        raise fail(f"the codestream has {components} component(s) but Samples per Pixel is {p.samples}")
    if precision > p.bits_allocated:
        raise fail(f"the codestream's sample precision is {precision} bits, more than Bits Allocated "
                   f"({p.bits_allocated})")
