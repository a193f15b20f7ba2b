"""numba kernels of JPEG DCT-based sequential coding, Huffman coded (ITU-T T.81 Annex F):
baseline (8-bit) and extended (8 and 12-bit) processes.

The marker segments are parsed in Python by :mod:`pacsnb.codecs.jpeg_baseline`; these
kernels do the entropy-coded data, the DCT, upsampling and the encoder's counterparts.

Decoding (:func:`decode_scan`) reads one scan's MCUs (interleaved, or one block per MCU
for a single-component scan, A.2) and, block by block, decodes the DC difference and the
AC run/size symbols (F.2.2), dequantises them, runs the inverse DCT, level-shifts, rounds,
clamps to ``0 .. 2**P - 1`` and stores the samples into the component's plane (a padded
region of one flat ``uint8`` or ``uint16`` array); no coefficient array is kept for the
frame. Huffman codes are looked up :data:`LOOKAHEAD` bits at a time; a second table
decodes, in the same look-up, the coefficient value of the common short codes whose
extra bits fit the look-ahead too. The bit reader keeps up to 63 bits in an integer,
removes stuffed zero bytes, and at a marker or the end of the data feeds zero bits and
counts them, so a truncated scan is reported without reading outside the source.
Restart intervals (DRI) are checked: ``RSTm`` with m counting 0 .. 7 after every
interval, predictors reset.

The inverse and forward DCTs (A.3.3) are the factored 8-point transform of Arai, Agui and
Nakajima (5 multiplications per 8-point inverse transform, separable: columns, then rows),
in double precision. The transform's output scale (``s(u) s(v) / 8`` with ``s(0) = 1``,
``s(k) = sqrt(2) cos(k pi / 16)``) is folded into the dequantisation table
(:func:`dequant_table`) when decoding and into the reciprocal quantisation table
(:func:`quant_reciprocals`) when encoding, so a block costs no extra multiplications.
Blocks whose AC coefficients are all zero (and columns whose vertical AC coefficients
are) are filled without the transform.

:func:`assemble` interleaves the planes into the frame, upsampling subsampled
components: 2:1 horizontally, or 2:1 both ways, with the triangle ("fancy") filter that
weighs the nearer input sample 3/4 (for components more than 2 samples wide, as the IJG
software does); other ratios, and narrower components, by replication.

Encoding: :func:`forward_frame` makes one pass over the frame, MCU row by MCU row: colour
conversion (RGB to YCbCr, YBR_FULL formulas), edge replication to whole MCUs, chroma
downsampling (the mean of each 2x1 or 2x2 neighbourhood), level shift, forward DCT and
quantisation (rounded half away from zero) into the blocks in coding order, and the
histogram of the Huffman symbols (for tables optimised per frame, K.2).
:func:`encode_mcus` then writes the Huffman codes, extra bits, 0xFF stuffing, restart
markers and 1-bit padding.

Kernels never raise: they report problems through ``status`` (:data:`DECODE_STATUS`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from pacsnb.codecs._jpeg_kernels import _find_marker

__all__ = ["LOOKAHEAD", "ZIGZAG", "AAN_SCALE", "build_decode_table", "dequant_table", "quant_reciprocals",
           "decode_scan", "assemble", "forward_frame", "encode_mcus", "write_scan", "huffman_code_lengths", "huffman_table",
           "ycc_to_rgb",
           "DECODE_STATUS"]

#: Bits looked at once when decoding a Huffman code.
LOOKAHEAD = 9
_LMASK = (1 << LOOKAHEAD) - 1

#: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient in zig-zag order (Figure A.6).
ZIGZAG = np.zeros(64, np.int64)


def _make_zigzag() -> None:
    k = 0
    for s in range(15):  # anti-diagonals u + v = s, alternating direction
        cells = [(i, s - i) for i in range(8) if 0 <= s - i < 8]  # (row, col), row increasing
        if s % 2 == 0:
            cells.reverse()  # even diagonals go up (row decreasing)
        for r, c in cells:
            ZIGZAG[k] = r * 8 + c
            k += 1


_make_zigzag()

#: Output scale of the factored 8-point DCT: 1, then sqrt(2) cos(k pi / 16) for k = 1 .. 7.
AAN_SCALE = np.array([1.0] + [math.sqrt(2.0) * math.cos(k * math.pi / 16) for k in range(1, 8)], np.float64)

# constants of the factored transforms
_R2 = math.sqrt(2.0)                                          # 1.414...
_C4 = math.cos(math.pi / 4)                                   # 0.707...
_C6 = math.cos(3 * math.pi / 8)                               # 0.382...
_C2MC6 = math.cos(math.pi / 8) - math.cos(3 * math.pi / 8)    # 0.541...
_C2PC6 = math.cos(math.pi / 8) + math.cos(3 * math.pi / 8)    # 1.306...
_2C2 = 2.0 * math.cos(math.pi / 8)                            # 1.847...
_2C2M2C6 = 2.0 * (math.cos(math.pi / 8) - math.cos(3 * math.pi / 8))  # 1.082...
_2C2P2C6 = 2.0 * (math.cos(math.pi / 8) + math.cos(3 * math.pi / 8))  # 2.613...

_NBITS = np.array([int(i).bit_length() for i in range(1 << 16)], np.int64)

OK = 0
OUT_OF_DATA = 1
BAD_CODE = 2
RST_MISSING = 3
RST_WRONG = 4
BAD_COEF = 5
BAD_BUFFERS = 20

#: What each status means; filled in with ``mcu`` (MCU index), ``row``/``col`` (of the MCU
#: in MCUs), ``pos`` (byte offset), ``marker`` (text), ``m`` (the RST number expected).
DECODE_STATUS = {
    OUT_OF_DATA: ("the entropy-coded data ends at byte {pos} ({marker}) inside MCU {mcu} (MCU row {row}, "
                  "column {col}): truncated or corrupt"),
    BAD_CODE: "invalid Huffman code near byte {pos}, in MCU {mcu} (MCU row {row}, column {col}): corrupt data",
    RST_MISSING: ("a restart interval ends before MCU {mcu}, but the marker at byte {pos} is {marker}, not "
                  "RST{m} (corrupt data, or a wrong restart interval)"),
    RST_WRONG: "found {marker} at byte {pos} where RST{m} was due (before MCU {mcu}): corrupt data",
    BAD_COEF: ("a run of AC coefficients goes past the 64th coefficient, or a magnitude category is too large, "
               "near byte {pos}, in MCU {mcu} (MCU row {row}, column {col}): corrupt data"),
    BAD_BUFFERS: "internal error: the buffers do not fit the frame",
}


_SCALE2 = np.outer(AAN_SCALE, AAN_SCALE).reshape(64)  # s(u) s(v), natural order
_DEQ_SCALE = _SCALE2[ZIGZAG] / 8.0


def dequant_table(qt: np.ndarray) -> np.ndarray:
    """Dequantisation factors for the factored inverse DCT: ``qt`` (``(n, 64)``, zig-zag
    order) times ``s(u) s(v) / 8``, as float64 in zig-zag order."""
    return qt * _DEQ_SCALE


def quant_reciprocals(qt: np.ndarray) -> np.ndarray:
    """Quantisation factors for the factored forward DCT: ``1 / (8 s(u) s(v) q)`` for
    ``qt`` (``(n, 64)``, natural order), float64 in natural order."""
    return np.ascontiguousarray(1.0 / (np.asarray(qt, np.float64) * (_SCALE2 * 8.0)))


@njit(cache=True, nogil=True)
def build_decode_table(bits, huffval, nvals, dc, lut, fast, maxcode, valptr):
    """Decoding tables of one Huffman table (C.2, F.2.2.3): ``bits[1..16]`` code counts,
    ``huffval[:nvals]`` the symbols, ``dc`` true for a DC table. Fills ``lut``
    (``2**LOOKAHEAD`` int32: ``length << 8 | symbol`` for codes of at most LOOKAHEAD bits,
    else 0), ``fast`` (``2**LOOKAHEAD`` int32: for codes whose extra bits fit the
    look-ahead too, ``value << 16 | run << 8 | bits used``, else 0; AC end-of-block and
    ZRL are not in it), ``maxcode`` (18 int64, -1 for no code of a length, sentinel at 17)
    and ``valptr`` (17 int64). Returns 0, or -1 when the counts overflow the code space or
    exceed ``nvals``."""
    for i in range(lut.shape[0]):
        lut[i] = 0
        fast[i] = 0
    code = 0
    k = 0
    for length in range(1, 17):
        n = bits[length]
        valptr[length] = k - code
        if n == 0:
            maxcode[length] = -1
        else:
            if code + n > (1 << length) or k + n > nvals:
                return -1
            if length <= LOOKAHEAD:
                for j in range(n):
                    sym = np.int64(huffval[k + j])
                    base = (code + j) << (LOOKAHEAD - length)
                    entry = (length << 8) | sym
                    s = sym & 15
                    r = 0 if dc else sym >> 4
                    if dc:
                        s = sym
                    withval = length + s <= LOOKAHEAD and (dc or s > 0)
                    for f in range(1 << (LOOKAHEAD - length)):
                        lut[base + f] = entry
                        if withval:
                            v = np.int64(0)
                            if s > 0:
                                v = (f >> (LOOKAHEAD - length - s)) & ((1 << s) - 1)
                                if (v >> (s - 1)) == 0:
                                    v = v - (1 << s) + 1
                            fast[base + f] = (v << 16) | (r << 8) | (length + s)
            k += n
            maxcode[length] = code + n - 1
            code += n
        code <<= 1
    maxcode[17] = np.int64(1) << 40
    return 0


@njit(cache=True, nogil=True, inline="always")
def _refill(src, end, pos, buf, nbits, fake):
    while nbits <= 55:  # at most 63 bits held: the value stays non-negative
        if fake == 0 and pos < end:
            b = np.int64(src[pos])
            if b == 0xFF:
                if pos + 1 < end and src[pos + 1] == 0:
                    pos += 2
                else:
                    fake = 8
                    b = 0
            else:
                pos += 1
            buf = ((buf << 8) | b) & 0x7FFFFFFFFFFFFFFF
        else:
            buf = (buf << 8) & 0x7FFFFFFFFFFFFFFF
            fake += 8
        nbits += 8
    return pos, buf, nbits, fake


@njit(cache=True, nogil=True, inline="always")
def _symbol(buf, nbits, t, lut, maxcode, valptr, huffval):
    """(symbol, bits used), symbol -1 for an invalid code; needs nbits >= 16."""
    look = (buf >> (nbits - LOOKAHEAD)) & _LMASK
    e = np.int64(lut[t, look])
    if e != 0:
        return e & 0xFF, e >> 8
    length = LOOKAHEAD + 1
    code = (buf >> (nbits - length)) & ((np.int64(1) << length) - 1)
    while code > maxcode[t, length]:
        length += 1
        if length > 16:
            return -1, 0
        code = (buf >> (nbits - length)) & ((np.int64(1) << length) - 1)
    j = valptr[t, length] + code
    if j < 0 or j >= 256:
        return -1, 0
    return np.int64(huffval[t, j]), length


@njit(cache=True, nogil=True)
def _idct8(i0, i1, i2, i3, i4, i5, i6, i7):
    """Factored 8-point inverse DCT (Arai, Agui, Nakajima) of inputs pre-scaled by ``s(k)``."""
    t10 = i0 + i4
    t11 = i0 - i4
    t13 = i2 + i6
    t12 = (i2 - i6) * _R2 - t13
    e0 = t10 + t13
    e3 = t10 - t13
    e1 = t11 + t12
    e2 = t11 - t12
    z13 = i5 + i3
    z10 = i5 - i3
    z11 = i1 + i7
    z12 = i1 - i7
    o7 = z11 + z13
    o11 = (z11 - z13) * _R2
    z5 = (z10 + z12) * _2C2
    o10 = z5 - z12 * _2C2M2C6
    o12 = z5 - z10 * _2C2P2C6
    o6 = o12 - o7
    o5 = o11 - o6
    o4 = o10 - o5
    return e0 + o7, e1 + o6, e2 + o5, e3 + o4, e3 - o4, e2 - o5, e1 - o6, e0 - o7


@njit(cache=True, nogil=True)
def _fdct8(x0, x1, x2, x3, x4, x5, x6, x7):
    """Factored 8-point forward DCT (Arai, Agui, Nakajima); output k scaled by ``sqrt(8) s(k)``."""
    t0 = x0 + x7
    t7 = x0 - x7
    t1 = x1 + x6
    t6 = x1 - x6
    t2 = x2 + x5
    t5 = x2 - x5
    t3 = x3 + x4
    t4 = x3 - x4
    t10 = t0 + t3
    t13 = t0 - t3
    t11 = t1 + t2
    t12 = t1 - t2
    z1 = (t12 + t13) * _C4
    t10b = t4 + t5
    t11b = t5 + t6
    t12b = t6 + t7
    z5 = (t10b - t12b) * _C6
    z2 = _C2MC6 * t10b + z5
    z4 = _C2PC6 * t12b + z5
    z3 = t11b * _C4
    z11 = t7 + z3
    z13 = t7 - z3
    return t10 + t11, z11 + z4, t13 + z1, z13 - z2, t10 - t11, z13 + z2, t13 - z1, z11 - z4


@njit(cache=True, nogil=True)
def _idct_put(coef, plane, off, stride, maxval, ws):
    """Factored inverse DCT of ``coef`` (``(8, 8)`` float64, natural order, dequantised and
    scaled by :func:`dequant_table`, the level shift plus 0.5 already added to the DC term)
    into ``plane[off + y * stride + x]``, truncated (so rounded) and clamped to ``0 ..
    maxval``; ``ws`` is ``(8, 8)`` float64 work space."""
    for u in range(8):  # columns
        if (coef[1, u] == 0.0 and coef[2, u] == 0.0 and coef[3, u] == 0.0 and coef[4, u] == 0.0
                and coef[5, u] == 0.0 and coef[6, u] == 0.0 and coef[7, u] == 0.0):
            d = coef[0, u]
            for y in range(8):
                ws[y, u] = d
            continue
        a = _idct8(coef[0, u], coef[1, u], coef[2, u], coef[3, u], coef[4, u], coef[5, u], coef[6, u], coef[7, u])
        ws[0, u] = a[0]
        ws[1, u] = a[1]
        ws[2, u] = a[2]
        ws[3, u] = a[3]
        ws[4, u] = a[4]
        ws[5, u] = a[5]
        ws[6, u] = a[6]
        ws[7, u] = a[7]
    fmax = np.float64(maxval)
    for y in range(8):  # rows
        a = _idct8(ws[y, 0], ws[y, 1], ws[y, 2], ws[y, 3], ws[y, 4], ws[y, 5], ws[y, 6], ws[y, 7])
        o = off + y * stride
        p = plane[o:o + 8]  # a view: constant indices, no negative-index checks
        p[0] = _clamp(a[0], fmax)
        p[1] = _clamp(a[1], fmax)
        p[2] = _clamp(a[2], fmax)
        p[3] = _clamp(a[3], fmax)
        p[4] = _clamp(a[4], fmax)
        p[5] = _clamp(a[5], fmax)
        p[6] = _clamp(a[6], fmax)
        p[7] = _clamp(a[7], fmax)


@njit(cache=True, nogil=True, inline="always")
def _clamp(s, fmax):
    if s <= 0.0:
        return 0
    if s >= fmax:
        return np.int64(fmax)
    return np.int64(s)


@njit(cache=True, nogil=True)
def _fill(plane, off, stride, val):
    for y in range(8):
        o = off + y * stride
        p = plane[o:o + 8]
        for x in range(8):
            p[x] = val


@njit(cache=True, nogil=True)
def decode_scan(src, start, ns, comps, hs, vs, qsel, qf, dcsel, acsel, lut, fast, maxcode, valptr, huffval,
                planes, poff, pstride, bw, bh, mcux, mcuy, restart_interval, precision, status):
    """Decode one scan from ``src[start]``; returns the offset of the marker after it.

    ``comps[:ns]`` are the frame indices of the scan's components; per frame component
    ``hs``/``vs`` sampling factors, ``qsel`` quantisation table, ``poff``/``pstride`` the
    plane's offset and row stride in ``planes``, ``bw``/``bh`` its blocks across and down
    (for a non-interleaved scan); per scan component ``dcsel`` / ``acsel`` the DC table
    (0 .. 3) and AC table (4 .. 7) rows of ``lut``/``fast``/``maxcode``/``valptr``/``huffval``.
    ``qf`` holds the dequantisation factors (:func:`dequant_table`) in zig-zag order.
    ``mcux`` x ``mcuy`` MCUs for an interleaved scan. ``status[0]`` is non-zero on a
    problem (``[1]`` MCU, ``[2]`` MCU row, ``[3]`` MCU column, ``[4]`` byte offset, ``[5]``
    marker or -1, ``[6]`` RST number due).
    """
    end = src.shape[0]
    maxval = (np.int64(1) << precision) - 1
    dcadd = np.float64(np.int64(1) << (precision - 1)) + 0.5  # level shift, and 0.5 to round by truncation
    maxcat = precision + 4  # largest magnitude category that fits (DC: P + 1, AC: P + 2 .. with margin)
    if ns == 1:
        c0 = comps[0]
        nmx = bw[c0]
        nmy = bh[c0]
    else:
        nmx = mcux
        nmy = mcuy
    # bounds: every block written must fit the plane
    for k in range(ns):
        ci = comps[k]
        if ns == 1:
            need = (bh[ci] * 8 - 1) * pstride[ci] + bw[ci] * 8
            if bw[ci] * 8 > pstride[ci]:
                status[0] = BAD_BUFFERS
                return start
        else:
            need = (mcuy * vs[ci] * 8 - 1) * pstride[ci] + mcux * hs[ci] * 8
            if mcux * hs[ci] * 8 > pstride[ci]:
                status[0] = BAD_BUFFERS
                return start
        if poff[ci] < 0 or poff[ci] + need > planes.shape[0]:
            status[0] = BAD_BUFFERS
            return start
    pos = start
    buf = np.int64(0)
    nbits = 0
    fake = 0
    pred = np.zeros(4, np.int64)
    coef2 = np.zeros((8, 8), np.float64)
    coef = coef2.reshape(64)
    ws = np.zeros((8, 8), np.float64)
    left = restart_interval
    nrst = 0
    total = nmx * nmy
    for mcu in range(total):
        my = mcu // nmx
        mx = mcu - my * nmx
        if restart_interval > 0:
            if left == 0:
                if nbits < fake:
                    status[0] = OUT_OF_DATA
                    status[1] = mcu - 1
                    status[2] = (mcu - 1) // nmx
                    status[3] = (mcu - 1) % nmx
                    status[4] = pos
                    status[5] = np.int64(src[pos + 1]) if pos + 1 < end else -1
                    return pos
                p2 = _find_marker(src, pos)
                m = np.int64(src[p2 + 1]) if p2 + 1 < end else -1
                if p2 >= end or m < 0xD0 or m > 0xD7:
                    status[0] = RST_MISSING
                    status[1] = mcu
                    status[4] = p2
                    status[5] = m if p2 < end else -1
                    status[6] = nrst & 7
                    return p2
                if m != 0xD0 + (nrst & 7):
                    status[0] = RST_WRONG
                    status[1] = mcu
                    status[4] = p2
                    status[5] = m
                    status[6] = nrst & 7
                    return p2
                pos = p2 + 2
                nrst += 1
                buf = np.int64(0)
                nbits = 0
                fake = 0
                for i in range(4):
                    pred[i] = 0
                left = restart_interval
            left -= 1
        for k in range(ns):
            ci = comps[k]
            if ns == 1:
                nby = 1
                nbx = 1
            else:
                nby = vs[ci]
                nbx = hs[ci]
            q = qsel[ci]
            tdc = dcsel[k]
            tac = acsel[k]
            for by in range(nby):
                for bx in range(nbx):
                    # -- DC
                    if nbits < 32:
                        pos, buf, nbits, fake = _refill(src, end, pos, buf, nbits, fake)
                    e = np.int64(fast[tdc, (buf >> (nbits - LOOKAHEAD)) & _LMASK])
                    if e != 0:
                        nbits -= e & 15
                        diff = e >> 16
                    else:
                        s, ln = _symbol(buf, nbits, tdc, lut, maxcode, valptr, huffval)
                        if s < 0:
                            status[0] = BAD_CODE
                            status[1] = mcu
                            status[2] = my
                            status[3] = mx
                            status[4] = pos
                            return pos
                        nbits -= ln
                        if s > maxcat or s > 16:
                            status[0] = BAD_COEF
                            status[1] = mcu
                            status[2] = my
                            status[3] = mx
                            status[4] = pos
                            return pos
                        diff = np.int64(0)
                        if s > 0:
                            v = (buf >> (nbits - s)) & ((np.int64(1) << s) - 1)
                            nbits -= s
                            diff = v if (v >> (s - 1)) else v - (np.int64(1) << s) + 1
                    pred[k] += diff
                    coef[0] = np.float64(pred[k]) * qf[q, 0] + dcadd
                    # -- AC
                    kk = 1
                    last = 0
                    while kk < 64:
                        if nbits < 32:
                            pos, buf, nbits, fake = _refill(src, end, pos, buf, nbits, fake)
                        e = np.int64(fast[tac, (buf >> (nbits - LOOKAHEAD)) & _LMASK])
                        if e != 0:
                            nbits -= e & 15
                            kk += (e >> 8) & 15
                            if kk > 63:
                                status[0] = BAD_COEF
                                status[1] = mcu
                                status[2] = my
                                status[3] = mx
                                status[4] = pos
                                return pos
                            z = ZIGZAG[kk]
                            coef[z] = np.float64(e >> 16) * qf[q, kk]
                            if z > last:
                                last = z
                            kk += 1
                            continue
                        rs, ln = _symbol(buf, nbits, tac, lut, maxcode, valptr, huffval)
                        if rs < 0:
                            status[0] = BAD_CODE
                            status[1] = mcu
                            status[2] = my
                            status[3] = mx
                            status[4] = pos
                            return pos
                        nbits -= ln
                        r = rs >> 4
                        s = rs & 15
                        if s == 0:
                            if r == 15:
                                kk += 16
                                continue
                            break
                        kk += r
                        if kk > 63 or s > maxcat:
                            status[0] = BAD_COEF
                            status[1] = mcu
                            status[2] = my
                            status[3] = mx
                            status[4] = pos
                            return pos
                        v = (buf >> (nbits - s)) & ((np.int64(1) << s) - 1)
                        nbits -= s
                        val = v if (v >> (s - 1)) else v - (np.int64(1) << s) + 1
                        z = ZIGZAG[kk]
                        coef[z] = np.float64(val) * qf[q, kk]
                        if z > last:
                            last = z
                        kk += 1
                    if nbits < fake:
                        status[0] = OUT_OF_DATA
                        status[1] = mcu
                        status[2] = my
                        status[3] = mx
                        status[4] = pos
                        status[5] = np.int64(src[pos + 1]) if pos + 1 < end else -1
                        return pos
                    if ns == 1:
                        row0 = my * 8
                        col0 = mx * 8
                    else:
                        row0 = (my * vs[ci] + by) * 8
                        col0 = (mx * hs[ci] + bx) * 8
                    off = poff[ci] + row0 * pstride[ci] + col0
                    if last == 0:  # DC only: a flat block
                        _fill(planes, off, pstride[ci], _clamp(coef[0], np.float64(maxval)))
                    else:
                        _idct_put(coef2, planes, off, pstride[ci], maxval, ws)
                        for i in range(last + 1):
                            coef[i] = 0.0
    return _find_marker(src, pos)


@njit(cache=True, nogil=True)
def _upsample_row(planes, off, st, w, h, fx, fy, exact, hs, vs, hmax, vmax, y, cols, row):
    """Output row ``y`` of one component into ``row[:cols]`` (see :func:`assemble`)."""
    if fx == 1 and fy == 1 and exact:
        b = off + y * st
        p = planes[b:b + cols]
        for x in range(cols):
            row[x] = p[x]
    elif exact and fx == 2 and fy == 1 and w > 2:
        b = off + y * st
        # output 2i + 1 leans on input i + 1, output 2i + 2 on input i (3/4 the nearer)
        row[0] = planes[b]
        n = min(w - 1, (cols - 1) // 2)
        p = planes[b:b + n + 1]
        for i in range(n):
            a0 = np.int32(p[i])
            a1 = np.int32(p[i + 1])
            row[2 * i + 1] = (3 * a0 + a1 + 2) >> 2
            row[2 * i + 2] = (3 * a1 + a0 + 1) >> 2
        for x in range(2 * n + 1, cols):  # the last one or two
            i = x >> 1
            if x & 1:
                row[x] = (3 * np.int32(planes[b + i]) + np.int32(planes[b + i + 1]) + 2) >> 2 if i + 1 < w \
                    else np.int32(planes[b + i])
            else:
                row[x] = (3 * np.int32(planes[b + i]) + np.int32(planes[b + i - 1]) + 1) >> 2
    elif exact and fx == 2 and fy == 2 and w > 2:
        iy = y >> 1
        # the nearer neighbouring input row: above for even output rows, below for odd
        if y & 1:
            jy = iy + 1 if iy + 1 < h else iy
        else:
            jy = iy - 1 if iy > 0 else iy
        b0 = off + iy * st
        b1 = off + jy * st
        prev = 3 * np.int32(planes[b0]) + np.int32(planes[b1])
        row[0] = (4 * prev + 8) >> 4
        for i in range(w - 1):
            this = 3 * np.int32(planes[b0 + i + 1]) + np.int32(planes[b1 + i + 1])
            x = 2 * i + 1
            if x + 1 < cols:
                row[x] = (3 * prev + this + 7) >> 4
                row[x + 1] = (3 * this + prev + 8) >> 4
            elif x < cols:
                row[x] = (3 * prev + this + 7) >> 4
            prev = this
        x = 2 * w - 1
        if x < cols:
            row[x] = (4 * prev + 7) >> 4
    else:
        iy = (y * vs) // vmax
        b = off + iy * st
        for x in range(cols):
            row[x] = planes[b + (x * hs) // hmax]


@njit(cache=True, nogil=True)
def assemble(planes, poff, pstride, cw, ch, hs, vs, hmax, vmax, rows, cols, nf, out):
    """Interleave the component planes into ``out`` (``rows * cols * nf``, any integer
    dtype), upsampling: 2:1 horizontal or 2:1 both ways by the triangle filter (components
    wider than 2 samples), others (whole or not, such as 3:4) by replication, sample
    ``(x * hs) // hmax`` of row ``(y * vs) // vmax``. ``cw``/``ch``: each component's real
    width and height."""
    fxs = np.ones(nf, np.int64)
    fys = np.ones(nf, np.int64)
    exact = np.zeros(nf, np.bool_)
    for c in range(nf):
        fxs[c] = hmax // hs[c] if hs[c] > 0 else 1
        fys[c] = vmax // vs[c] if vs[c] > 0 else 1
        exact[c] = hs[c] * fxs[c] == hmax and vs[c] * fys[c] == vmax
    if nf == 1:
        _upsample_rows1(planes, poff[0], pstride[0], cw[0], ch[0], fxs[0], fys[0], exact[0], hs[0], vs[0], hmax,
                        vmax, rows, cols, out)
        return
    rb = np.empty((nf, cols), np.int32)
    o3 = out.reshape(rows, cols, nf)
    for y in range(rows):
        for c in range(nf):
            _upsample_row(planes, poff[c], pstride[c], cw[c], ch[c], fxs[c], fys[c], exact[c], hs[c], vs[c],
                          hmax, vmax, y, cols, rb[c])
        if nf == 3:
            for x in range(cols):
                o3[y, x, 0] = rb[0, x]
                o3[y, x, 1] = rb[1, x]
                o3[y, x, 2] = rb[2, x]
        else:
            for x in range(cols):
                for c in range(nf):
                    o3[y, x, c] = rb[c, x]


@njit(cache=True, nogil=True)
def _upsample_rows1(planes, off, st, w, h, fx, fy, exact, hs, vs, hmax, vmax, rows, cols, out):
    if fx == 1 and fy == 1 and exact:
        for y in range(rows):
            b = off + y * st
            o = y * cols
            for x in range(cols):
                out[o + x] = planes[b + x]
        return
    rb = np.empty(cols, np.int32)
    for y in range(rows):
        _upsample_row(planes, off, st, w, h, fx, fy, exact, hs, vs, hmax, vmax, y, cols, rb)
        o = y * cols
        for x in range(cols):
            out[o + x] = rb[x]


@njit(cache=True, nogil=True)
def ycc_to_rgb(arr, maxval):
    """YCbCr (JFIF / YBR_FULL) to RGB in place on an interleaved ``(n * 3)`` array."""
    half = (maxval + 1) / 2.0
    for i in range(arr.shape[0] // 3):
        y = np.float64(arr[3 * i])
        cb = np.float64(arr[3 * i + 1]) - half
        cr = np.float64(arr[3 * i + 2]) - half
        r = math.floor(y + 1.402 * cr + 0.5)
        g = math.floor(y - 0.344136 * cb - 0.714136 * cr + 0.5)
        b = math.floor(y + 1.772 * cb + 0.5)
        arr[3 * i] = min(max(r, 0), maxval)
        arr[3 * i + 1] = min(max(g, 0), maxval)
        arr[3 * i + 2] = min(max(b, 0), maxval)


# -- encoding -------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _fdct_quant(src, c, r0, c0, recip, ws, blocks, nzk, bi, lim):
    """Factored forward DCT of the 8x8 block at row ``r0``, column ``c0`` of ``src[c]``
    (level-shifted samples), quantised with ``recip`` (:func:`quant_reciprocals`, natural
    order), rounded half away from zero, limited to ``-lim .. lim``, into ``blocks[bi]``
    (zig-zag order); ``nzk[bi]`` receives the zig-zag indices of the non-zero AC
    coefficients, and the count is returned. ``ws`` is ``(8, 8)`` float64 work space."""
    blk = src[c, r0:r0 + 8, c0:c0 + 8]  # a view: constant indices, no negative-index checks
    for y in range(8):  # rows
        a = _fdct8(blk[y, 0], blk[y, 1], blk[y, 2], blk[y, 3], blk[y, 4], blk[y, 5], blk[y, 6], blk[y, 7])
        ws[y, 0] = a[0]
        ws[y, 1] = a[1]
        ws[y, 2] = a[2]
        ws[y, 3] = a[3]
        ws[y, 4] = a[4]
        ws[y, 5] = a[5]
        ws[y, 6] = a[6]
        ws[y, 7] = a[7]
    for u in range(8):  # columns
        a = _fdct8(ws[0, u], ws[1, u], ws[2, u], ws[3, u], ws[4, u], ws[5, u], ws[6, u], ws[7, u])
        ws[0, u] = a[0]
        ws[1, u] = a[1]
        ws[2, u] = a[2]
        ws[3, u] = a[3]
        ws[4, u] = a[4]
        ws[5, u] = a[5]
        ws[6, u] = a[6]
        ws[7, u] = a[7]
    w = ws.reshape(64)
    nz = 0
    for k in range(64):  # branch-free: the signs of small coefficients are not predictable
        n = ZIGZAG[k]
        v = w[n] * recip[n]
        q = min(np.int64(abs(v) + 0.5), lim)
        q = q if v >= 0.0 else -q
        blocks[bi, k] = q
        nzk[bi, nz] = k
        nz += (q != 0) & (k > 0)
    return nz


@njit(cache=True, nogil=True)
def forward_frame(img, rows, cols, nf, ycc, hs, vs, hmax, vmax, mcux, mcuy, recip, tsel, precision,
                  restart_interval, blocks, nzk, nnz, dchist, achist):
    """Level shift, forward DCT and quantisation of a whole frame, and its symbol histograms.

    ``img`` holds ``rows x cols x nf`` interleaved samples (flat, uint8 or uint16); with
    ``ycc`` true the 3 components are RGB and are converted to YCbCr. Component ``c`` has
    sampling factors ``hs[c]`` x ``vs[c]`` (``hmax // hs[c]`` and ``vmax // vs[c]`` whole:
    1 or 2 for 4:4:4, 4:2:2, 4:2:0), quantisation reciprocals ``recip[tsel[c]]``
    (:func:`quant_reciprocals`) and Huffman tables ``tsel[c]``. The frame is padded to
    ``mcux`` x ``mcuy`` MCUs by repeating its last column and row. ``blocks`` (int16,
    one row of 64 zig-zag coefficients per block) receives the blocks in coding order:
    MCU by MCU, in each the component's blocks row by row; ``nzk[b, :nnz[b]]`` (uint8) are
    the zig-zag indices of block b's non-zero AC coefficients. ``dchist[t]`` (17) and
    ``achist[t]`` (256) count the DC and AC symbols of table ``t`` (DC predictions reset
    every ``restart_interval`` MCUs when non-zero). Returns the number of blocks."""
    shift = np.float64(np.int64(1) << (precision - 1))
    lim = (np.int64(1) << (precision + 2)) - 1  # magnitude categories up to P + 2 (F.1.2.1)
    sh = 8 * vmax
    sw = mcux * 8 * hmax
    full = np.empty((nf, sh, sw), np.float64)
    sub = np.empty((nf, sh, sw), np.float64)
    ws = np.empty((8, 8), np.float64)
    pred = np.zeros(4, np.int64)
    left = restart_interval
    bi = 0
    nblocks = blocks.shape[0]
    for my in range(mcuy):
        # the strip of 8 * vmax rows, full resolution, level-shifted (YCbCr from RGB)
        for r in range(sh):
            y = my * sh + r
            if y >= rows:
                y = rows - 1
            base = y * cols * nf
            im = img[base:base + cols * nf]
            if ycc:
                f0 = full[0, r]
                f1 = full[1, r]
                f2 = full[2, r]
                for x in range(cols):
                    rr = np.float64(im[3 * x])
                    gg = np.float64(im[3 * x + 1])
                    bb = np.float64(im[3 * x + 2])
                    f0[x] = 0.299 * rr + 0.587 * gg + 0.114 * bb - shift
                    f1[x] = -0.168736 * rr - 0.331264 * gg + 0.5 * bb
                    f2[x] = 0.5 * rr - 0.418688 * gg - 0.081312 * bb
            elif nf == 1:
                f0 = full[0, r]
                for x in range(cols):
                    f0[x] = np.float64(im[x]) - shift
            else:
                for x in range(cols):
                    for c in range(nf):
                        full[c, r, x] = np.float64(im[x * nf + c]) - shift
            for c in range(nf):
                last = full[c, r, cols - 1]
                for x in range(cols, sw):
                    full[c, r, x] = last
        # chroma downsampling: the mean of each fx x fy neighbourhood
        for c in range(nf):
            fx = hmax // hs[c]
            fy = vmax // vs[c]
            if fx == 1 and fy == 1:
                continue
            inv = 1.0 / (fx * fy)
            for r in range(8 * vs[c]):
                for x in range(mcux * 8 * hs[c]):
                    s = 0.0
                    for dy in range(fy):
                        for dx in range(fx):
                            s += full[c, r * fy + dy, x * fx + dx]
                    sub[c, r, x] = s * inv
        for mx in range(mcux):
            if restart_interval > 0:
                if left == 0:
                    for i in range(4):
                        pred[i] = 0
                    left = restart_interval
                left -= 1
            for c in range(nf):
                src = full if hs[c] == hmax and vs[c] == vmax else sub
                t = tsel[c]
                for v in range(vs[c]):
                    for h in range(hs[c]):
                        if bi >= nblocks:
                            return bi
                        nz = _fdct_quant(src, c, v * 8, (mx * hs[c] + h) * 8, recip[t], ws, blocks, nzk, bi, lim)
                        nnz[bi] = nz
                        d = np.int64(blocks[bi, 0]) - pred[c]
                        pred[c] = blocks[bi, 0]
                        dchist[t, _NBITS[d if d >= 0 else -d]] += 1
                        prev = 0
                        for j in range(nz):
                            k = np.int64(nzk[bi, j])
                            run = k - prev - 1
                            while run > 15:
                                achist[t, 0xF0] += 1
                                run -= 16
                            a = np.int64(blocks[bi, k])
                            achist[t, (run << 4) | _NBITS[a if a >= 0 else -a]] += 1
                            prev = k
                        if prev < 63:
                            achist[t, 0] += 1
                        bi += 1
    return bi


@njit(cache=True, nogil=True, inline="always")
def _put(out, pos, acc, nacc, bits, size):
    """Append ``size`` (at most 32) bits; whole bytes go out, 0xFF followed by a stuffed 0."""
    acc = (acc << size) | bits
    nacc += size
    if nacc >= 32:
        while nacc >= 8:
            nacc -= 8
            b = (acc >> nacc) & 0xFF
            out[pos] = b
            pos += 1
            if b == 0xFF:
                out[pos] = 0
                pos += 1
        acc &= (np.int64(1) << nacc) - 1
    return pos, acc, nacc


@njit(cache=True, nogil=True, inline="always")
def _flush(out, pos, acc, nacc):
    """Pad with 1 bits to a whole byte and write out every bit held."""
    if nacc & 7:
        pad = 8 - (nacc & 7)
        acc = (acc << pad) | ((np.int64(1) << pad) - 1)
        nacc += pad
    while nacc >= 8:
        nacc -= 8
        b = (acc >> nacc) & 0xFF
        out[pos] = b
        pos += 1
        if b == 0xFF:
            out[pos] = 0
            pos += 1
    return pos


@njit(cache=True, nogil=True)
def encode_mcus(blocks, nzk, nnz, nmcu, mcu_comp, tsel, restart_interval, dcco, dcsi, acco, acsi, out, start):
    """Write the entropy-coded data of ``nmcu`` MCUs into ``out`` from ``start``; returns the
    end offset, or -1 when ``out`` is too small. ``blocks``, ``nzk`` and ``nnz`` are in
    coding order (:func:`forward_frame`), ``mcu_comp[j]`` the component of the j-th block of an MCU,
    ``tsel[c]`` the table of component c. ``dcco``/``dcsi`` (``[t, 17]``) and
    ``acco``/``acsi`` (``[t, 256]``) are the codes and code lengths of each table."""
    per = mcu_comp.shape[0]
    if nmcu * per > blocks.shape[0] or nzk.shape[0] < blocks.shape[0] or nnz.shape[0] < blocks.shape[0]:
        return -1
    pred = np.zeros(4, np.int64)
    left = restart_interval
    nrst = 0
    pos = start
    acc = np.int64(0)
    nacc = 0
    bi = 0
    for m in range(nmcu):
        if restart_interval > 0:
            if left == 0:
                if pos + 8 > out.shape[0]:
                    return -1
                pos = _flush(out, pos, acc, nacc)
                acc = np.int64(0)
                nacc = 0
                out[pos] = 0xFF
                out[pos + 1] = 0xD0 + (nrst & 7)
                pos += 2
                nrst += 1
                for i in range(4):
                    pred[i] = 0
                left = restart_interval
            left -= 1
        for j in range(per):
            if pos + 600 > out.shape[0]:
                return -1
            c = mcu_comp[j]
            t = tsel[c]
            d = np.int64(blocks[bi, 0]) - pred[c]
            pred[c] = blocks[bi, 0]
            s = _NBITS[d if d >= 0 else -d]
            w = d if d >= 0 else d - 1
            pos, acc, nacc = _put(out, pos, acc, nacc, (dcco[t, s] << s) | (w & ((np.int64(1) << s) - 1)),
                                  dcsi[t, s] + s)
            prev = 0
            nz = min(nnz[bi], 63)
            for jj in range(nz):
                k = np.int64(nzk[bi, jj]) & 63
                run = k - prev - 1
                while run > 15:
                    pos, acc, nacc = _put(out, pos, acc, nacc, acco[t, 0xF0], acsi[t, 0xF0])
                    run -= 16
                v = np.int64(blocks[bi, k])
                s = _NBITS[v if v >= 0 else -v]
                sym = (run << 4) | s
                w = v if v >= 0 else v - 1
                pos, acc, nacc = _put(out, pos, acc, nacc, (acco[t, sym] << s) | (w & ((np.int64(1) << s) - 1)),
                                      acsi[t, sym] + s)
                prev = k
            if prev < 63:
                pos, acc, nacc = _put(out, pos, acc, nacc, acco[t, 0], acsi[t, 0])
            bi += 1
    if pos + 8 > out.shape[0]:
        return -1
    return _flush(out, pos, acc, nacc)


@njit(cache=True, nogil=True)
def huffman_code_lengths(freq, bits):
    """Code lengths of an optimal Huffman code for ``freq`` (int64, one count per symbol,
    0 for unused) with lengths limited to 16 (K.2, Figures K.1 to K.3): ``bits[1..16]``
    receives the number of codes of each length; returns the per-symbol code sizes. A
    reserved symbol with count 1 keeps the all-ones code unused."""
    n = freq.shape[0] + 1
    f = np.zeros(n, np.int64)
    for i in range(n - 1):
        f[i] = freq[i]
    f[n - 1] = 1
    size = np.zeros(n, np.int64)
    nxt = np.full(n, -1, np.int64)
    act = np.empty(n, np.int64)  # the symbols still with a count, increasing
    na = 0
    for i in range(n):
        if f[i] > 0:
            act[na] = i
            na += 1
    while True:
        # the least count, then the next least (ties: the larger symbol, as Figure K.1 scans),
        # in one pass over the symbols in increasing order
        v1 = -1
        v2 = -1
        j1 = -1
        j2 = -1
        for j in range(na):
            i = act[j]
            if v1 < 0 or f[i] <= f[v1]:
                v2 = v1
                j2 = j1
                v1 = i
                j1 = j
            elif v2 < 0 or f[i] <= f[v2]:
                v2 = i
                j2 = j
        if v2 < 0:
            break
        f[v1] += f[v2]
        f[v2] = 0
        for j in range(j2, na - 1):
            act[j] = act[j + 1]
        na -= 1
        size[v1] += 1
        while nxt[v1] >= 0:
            v1 = nxt[v1]
            size[v1] += 1
        nxt[v1] = v2
        size[v2] += 1
        while nxt[v2] >= 0:
            v2 = nxt[v2]
            size[v2] += 1
    cnt = np.zeros(2 * n + 2, np.int64)
    for i in range(n):
        if size[i] > 0:
            cnt[size[i]] += 1
    for i in range(cnt.shape[0] - 1, 16, -1):
        while cnt[i] > 0:
            j = i - 2
            while cnt[j] == 0:
                j -= 1
            cnt[i] -= 2
            cnt[i - 1] += 1
            cnt[j + 1] += 2
            cnt[j] -= 1
    i = 16
    while cnt[i] == 0:
        i -= 1
    cnt[i] -= 1  # drop the reserved symbol's code
    for i in range(17):
        bits[i] = cnt[i] if i > 0 else 0
    return size[:n - 1]


@njit(cache=True, nogil=True)
def huffman_table(freq, bits, huffval, codes, sizes):
    """An optimal Huffman table (K.2) for the symbol counts ``freq`` (int64): fills
    ``bits[1..16]`` (code counts, the DHT BITS), ``huffval`` (the symbols by code length,
    the DHT HUFFVAL) and, by symbol, ``codes`` and ``sizes`` (0 for unused symbols).
    Returns the number of symbols coded."""
    size = huffman_code_lengths(freq, bits)
    nsym = freq.shape[0]
    maxlen = 0
    for v in range(nsym):
        sizes[v] = 0
        codes[v] = 0
        if size[v] > maxlen:
            maxlen = size[v]
    k = 0
    for length in range(1, maxlen + 1):  # sorted by the unlimited code length (Figure K.4)
        for v in range(nsym):
            if size[v] == length:
                huffval[k] = v
                k += 1
    code = 0
    j = 0
    for length in range(1, 17):
        for _ in range(bits[length]):
            if j < k:
                codes[huffval[j]] = code
                sizes[huffval[j]] = length
            code += 1
            j += 1
        code <<= 1
    return k


@njit(cache=True, nogil=True)
def write_scan(hist, ntab, tail, blocks, nzk, nnz, nmcu, mcu_comp, tsel, restart_interval, out, start):
    """From ``out[start]``: a DHT segment for each of ``ntab`` pairs of optimal tables (K.2;
    ``hist[t, :17]`` the DC counts, ``hist[t, 17:]`` the AC counts of table ``t``), then
    ``tail`` (DRI, SOS), then the entropy-coded data (:func:`encode_mcus`). Returns the end
    offset, or -1 when ``out`` is too small."""
    dcco = np.zeros((2, 17), np.int64)
    dcsi = np.zeros((2, 17), np.int64)
    acco = np.zeros((2, 256), np.int64)
    acsi = np.zeros((2, 256), np.int64)
    bits = np.zeros(17, np.int64)
    huffval = np.zeros(256, np.uint8)
    pos = start
    for t in range(ntab):
        for cls in range(2):
            if pos + 21 + 256 > out.shape[0]:
                return -1
            if cls == 0:
                k = huffman_table(hist[t, :17], bits, huffval, dcco[t], dcsi[t])
            else:
                k = huffman_table(hist[t, 17:], bits, huffval, acco[t], acsi[t])
            length = 2 + 1 + 16 + k
            out[pos] = 0xFF
            out[pos + 1] = 0xC4
            out[pos + 2] = length >> 8
            out[pos + 3] = length & 0xFF
            out[pos + 4] = (cls << 4) | t
            for i in range(16):
                out[pos + 5 + i] = bits[i + 1]
            for i in range(k):
                out[pos + 21 + i] = huffval[i]
            pos += 21 + k
    if pos + tail.shape[0] > out.shape[0]:
        return -1
    for i in range(tail.shape[0]):
        out[pos + i] = tail[i]
    pos += tail.shape[0]
    return encode_mcus(blocks, nzk, nnz, nmcu, mcu_comp, tsel, restart_interval, dcco, dcsi, acco, acsi, out, pos)
