"""numba kernels of :mod:`pacsnb.cohort.volume`: stored values of one slice into the volume.

:func:`stored_to_float` does, in one pass over a slice's raw stored values, what
:func:`pacsnb.pixels.pixel_array` and :func:`pacsnb.pixels.apply_modality_lut` do in two:
keep the low Bits Stored bits (sign-extended for signed data, PS3.5 8.1.1), then
``value * slope + intercept`` in float64 arithmetic, written into the caller's ``float32``
slice of the volume. :func:`fix_high_bits` is the first half alone, in place (volumes kept
in stored values). Both are element-wise over flat contiguous arrays of the same length.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def stored_to_float(src, bits_stored, bits_allocated, signed, slope, intercept, out):
    """``out[i] = value(src[i]) * slope + intercept`` with the high bits fixed first."""
    n = min(src.shape[0], out.shape[0])
    if bits_stored >= bits_allocated:
        for i in range(n):
            out[i] = src[i] * slope + intercept
        return
    mask = (1 << bits_stored) - 1
    sign = 1 << (bits_stored - 1)
    full = 1 << bits_stored
    if signed:
        for i in range(n):
            v = src[i] & mask
            if v & sign:
                v -= full
            out[i] = v * slope + intercept
    else:
        for i in range(n):
            out[i] = (src[i] & mask) * slope + intercept


@njit(cache=True, nogil=True)
def fix_high_bits(arr, bits_stored, bits_allocated, signed):
    """Clear (unsigned) or sign-extend (signed) the bits above Bits Stored, in place."""
    if bits_stored >= bits_allocated:
        return
    mask = (1 << bits_stored) - 1
    sign = 1 << (bits_stored - 1)
    full = 1 << bits_stored
    for i in range(arr.shape[0]):
        v = arr[i] & mask
        if signed and (v & sign):
            v -= full
        arr[i] = v

