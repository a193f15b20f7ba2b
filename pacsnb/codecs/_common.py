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
