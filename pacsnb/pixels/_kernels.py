"""Numba kernels of :mod:`pacsnb.pixels.transforms`.

Every kernel works on flat (1-D) contiguous arrays and writes into an ``out`` array that
the caller allocates, so one pass over memory does the whole transform (no temporaries).
All are ``@njit(cache=True, nogil=True)``: compiled once per dtype signature, cached on
disk, and they release the GIL so that a server on pacsnb's service loop keeps answering
while a cell windows a volume.

Formulas are those of PS3.3 C.11.1 (rescale), C.11.2.1.2 / C.11.2.1.3 (window center and
width: LINEAR, LINEAR_EXACT, SIGMOID) and C.7.6.3.1.2 (YBR_FULL, YBR_ICT, YBR_RCT).

Examples
--------
>>> import numpy as np
>>> from pacsnb.pixels import _kernels as k
>>> out = np.empty(3, np.float32)
>>> k.rescale(np.array([0, 1, 2], np.int16), 2.0, -1.0, out)
>>> out
array([-1.,  1.,  3.], dtype=float32)
"""
from __future__ import annotations

import math

from numba import njit

#: Window functions, as the integers the kernels take.
LINEAR, LINEAR_EXACT, SIGMOID = 0, 1, 2


@njit(cache=True, nogil=True)
def rescale(src, slope, intercept, out):
    """``out[i] = src[i] * slope + intercept`` (PS3.3 C.11.1.1.2), in float64 arithmetic."""
    for i in range(src.shape[0]):
        out[i] = src[i] * slope + intercept


@njit(cache=True, nogil=True)
def window(src, center, width, function, ymin, ymax, out):
    """Window center/width (PS3.3 C.11.2.1.2 LINEAR, C.11.2.1.3.1 LINEAR_EXACT,
    C.11.2.1.3.2 SIGMOID) from any numeric input to ``[ymin, ymax]``."""
    yrange = ymax - ymin
    n = src.shape[0]
    if function == SIGMOID:
        k = -4.0 / width
        for i in range(n):
            out[i] = yrange / (1.0 + math.exp(k * (src[i] - center))) + ymin
        return
    if function == LINEAR:
        c = center - 0.5
        w = width - 1.0
    else:
        c = center
        w = width
    lo = c - w / 2.0
    hi = c + w / 2.0
    if w > 0.0:
        scale = yrange / w
    else:
        scale = 0.0  # LINEAR with width 1: a step, no value lies between lo and hi
    offset = (0.5 - c / w if w > 0.0 else 0.0) * yrange + ymin
    for i in range(n):
        x = src[i] * 1.0
        if x <= lo:
            out[i] = ymin
        elif x > hi:
            out[i] = ymax
        else:
            out[i] = x * scale + offset


@njit(cache=True, nogil=True)
def rescale_window(src, slope, intercept, center, width, function, ymin, ymax, out):
    """Rescale then window in one pass: the Modality and VOI transforms fused."""
    yrange = ymax - ymin
    n = src.shape[0]
    if function == SIGMOID:
        k = -4.0 / width
        for i in range(n):
            out[i] = yrange / (1.0 + math.exp(k * (src[i] * slope + intercept - center))) + ymin
        return
    if function == LINEAR:
        c = center - 0.5
        w = width - 1.0
    else:
        c = center
        w = width
    lo = c - w / 2.0
    hi = c + w / 2.0
    scale = yrange / w if w > 0.0 else 0.0
    offset = (0.5 - c / w if w > 0.0 else 0.0) * yrange + ymin
    for i in range(n):
        x = src[i] * slope + intercept
        if x <= lo:
            out[i] = ymin
        elif x > hi:
            out[i] = ymax
        else:
            out[i] = x * scale + offset


@njit(cache=True, nogil=True)
def apply_lut(src, first, lut, out):
    """``out[i] = lut[src[i] - first]``, values below ``first`` giving ``lut[0]`` and
    values past the end giving ``lut[-1]`` (PS3.3 C.11.1.1.1, C.11.2.1.1, C.7.6.3.1.5)."""
    last = lut.shape[0] - 1
    for i in range(src.shape[0]):
        j = int(src[i]) - first
        if j < 0:
            j = 0
        elif j > last:
            j = last
        out[i] = lut[j]


@njit(cache=True, nogil=True)
def apply_luts(src, first, luts, out):
    """Several LUTs of one length (``luts[c]``) to one index array: ``out[i, c]``."""
    last = luts.shape[1] - 1
    nc = luts.shape[0]
    for i in range(src.shape[0]):
        j = int(src[i]) - first
        if j < 0:
            j = 0
        elif j > last:
            j = last
        for c in range(nc):
            out[i, c] = luts[c, j]


@njit(cache=True, nogil=True)
def invert(src, total, out):
    """``out[i] = total - src[i]``: MONOCHROME1 to MONOCHROME2 for a range ``[lo, hi]``
    with ``total = lo + hi``."""
    for i in range(src.shape[0]):
        out[i] = total - src[i]


@njit(cache=True, nogil=True)
def _round_clip(x, hi):
    v = math.floor(x + 0.5)
    if v < 0.0:
        return 0.0
    if v > hi:
        return hi
    return v


@njit(cache=True, nogil=True)
def rgb_to_ybr_full(src, half, maxval, out):
    """RGB to YBR_FULL (PS3.3 C.7.6.3.1.2); ``half`` is 2**(bits-1), ``maxval`` 2**bits-1."""
    for i in range(src.shape[0]):
        r = src[i, 0] * 1.0
        g = src[i, 1] * 1.0
        b = src[i, 2] * 1.0
        out[i, 0] = _round_clip(0.299 * r + 0.587 * g + 0.114 * b, maxval)
        out[i, 1] = _round_clip(-0.299 / 1.772 * r - 0.587 / 1.772 * g + 0.5 * b + half, maxval)
        out[i, 2] = _round_clip(0.5 * r - 0.587 / 1.402 * g - 0.114 / 1.402 * b + half, maxval)


@njit(cache=True, nogil=True)
def ybr_full_to_rgb(src, half, maxval, out):
    """YBR_FULL to RGB: the inverse of :func:`rgb_to_ybr_full`."""
    for i in range(src.shape[0]):
        y = src[i, 0] * 1.0
        cb = src[i, 1] - half
        cr = src[i, 2] - half
        out[i, 0] = _round_clip(y + 1.402 * cr, maxval)
        out[i, 1] = _round_clip(y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr, maxval)
        out[i, 2] = _round_clip(y + 1.772 * cb, maxval)


@njit(cache=True, nogil=True)
def subsample_422(ybr, columns):
    """Average the chroma of horizontal pixel pairs in place (rows of ``columns`` pixels,
    an even number): the YBR_FULL_422 sampling of PS3.3 C.7.6.3.1.2."""
    n = ybr.shape[0]
    for i in range(0, n - 1, 2):
        if (i % columns) + 1 >= columns:
            continue
        for c in range(1, 3):
            v = (ybr[i, c] * 1.0 + ybr[i + 1, c] * 1.0) / 2.0
            v = math.floor(v + 0.5)
            ybr[i, c] = v
            ybr[i + 1, c] = v


@njit(cache=True, nogil=True)
def rgb_to_ybr_ict(src, out):
    """RGB to YBR_ICT (PS3.3 C.7.6.3.1.2, the JPEG 2000 irreversible transform); chroma is
    signed, centred on 0, rounded to the nearest integer."""
    for i in range(src.shape[0]):
        r = src[i, 0] * 1.0
        g = src[i, 1] * 1.0
        b = src[i, 2] * 1.0
        out[i, 0] = math.floor(0.299 * r + 0.587 * g + 0.114 * b + 0.5)
        out[i, 1] = math.floor(-0.16875 * r - 0.33126 * g + 0.5 * b + 0.5)
        out[i, 2] = math.floor(0.5 * r - 0.41869 * g - 0.08131 * b + 0.5)


@njit(cache=True, nogil=True)
def ybr_ict_to_rgb(src, maxval, out):
    """YBR_ICT to RGB, clipped to ``[0, maxval]``."""
    for i in range(src.shape[0]):
        y = src[i, 0] * 1.0
        cb = src[i, 1] * 1.0
        cr = src[i, 2] * 1.0
        out[i, 0] = _round_clip(y + 1.402 * cr, maxval)
        out[i, 1] = _round_clip(y - 0.344136 * cb - 0.714136 * cr, maxval)
        out[i, 2] = _round_clip(y + 1.772 * cb, maxval)


@njit(cache=True, nogil=True)
def rgb_to_ybr_rct(src, out):
    """RGB to YBR_RCT (PS3.3 C.7.6.3.1.2, the JPEG 2000 reversible transform), exact."""
    for i in range(src.shape[0]):
        r = int(src[i, 0])
        g = int(src[i, 1])
        b = int(src[i, 2])
        out[i, 0] = (r + 2 * g + b) >> 2  # floor division, also for negative sums
        out[i, 1] = b - g
        out[i, 2] = r - g


@njit(cache=True, nogil=True)
def ybr_rct_to_rgb(src, out):
    """YBR_RCT to RGB, exact: G = Y - floor((Cb + Cr) / 4), R = Cr + G, B = Cb + G."""
    for i in range(src.shape[0]):
        y = int(src[i, 0])
        cb = int(src[i, 1])
        cr = int(src[i, 2])
        g = y - ((cb + cr) >> 2)
        out[i, 0] = cr + g
        out[i, 1] = g
        out[i, 2] = cb + g
