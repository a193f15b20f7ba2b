"""Helpers shared by the codecs (internal)."""
from __future__ import annotations

from typing import Any

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
                      0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM", 0x01: "TEM"}


def jpeg_marker_name(m: int) -> str:
    """The name of JPEG marker ``0xFF m`` (T.81 Table B.1).

    Examples
    --------
    >>> jpeg_marker_name(0xC0), jpeg_marker_name(0xD3), jpeg_marker_name(0xE1), jpeg_marker_name(0x02)
    ('SOF0', 'RST3', 'APP1', 'marker 0xFF02')
    """
    if 0xD0 <= m <= 0xD7:
        return f"RST{m - 0xD0}"
    if 0xE0 <= m <= 0xEF:
        return f"APP{m - 0xE0}"
    if 0xF0 <= m <= 0xFD:
        return f"JPG{m - 0xF0}"
    if m in JPEG_SOF_NAMES:
        return f"SOF{m - 0xC0}"
    return _JPEG_MARKER_NAMES.get(m, f"marker 0xFF{m:02X}")


def jpeg_next_segment(src: np.ndarray, pos: int, fail) -> tuple[int, int, int, int]:
    """The marker at ``src[pos]`` (after any 0xFF fill bytes) and its segment.

    Returns ``(marker, marker_offset, segment_start, segment_end)``: the segment's
    parameters are ``src[segment_start:segment_end]`` (after the length field); markers
    without a segment (SOI, EOI, RSTm, TEM) have ``segment_start == segment_end`` just
    after the marker. ``marker`` is -1 at the end of the data. ``fail(text)`` makes the
    exception raised for a byte that is not a marker or a segment that runs past the end.

    Examples
    --------
    >>> seg = np.frombuffer(b"\\xff\\xd8\\xff\\xff\\xfe\\x00\\x04hi\\xff\\xd9", np.uint8)
    >>> jpeg_next_segment(seg, 2, ValueError)
    (254, 3, 7, 9)
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
    if m in (0xD8, 0xD9, 0x01) or 0xD0 <= m <= 0xD7:
        return m, mpos, pos, pos
    name = jpeg_marker_name(m)
    if pos + 2 > n:
        raise fail(f"the {name} segment at byte {mpos} is cut off: the codestream ends (truncated)")
    length = (int(src[pos]) << 8) | int(src[pos + 1])
    if length < 2 or pos + length > n:
        raise fail(f"the {name} segment at byte {mpos} has length {length}, which runs past the end of the "
                   f"{n}-byte codestream (truncated or corrupt)")
    return m, mpos, pos + 2, pos + length
