"""numba kernels of JPEG DCT-based sequential coding, Huffman coded (ITU-T T.81 Annex F):
baseline (8-bit) and extended (8 and 12-bit) processes.

The marker segments are parsed in Python by :mod:`pacsnb.codecs.jpeg_baseline`; these
kernels do the entropy-coded data, the DCT, upsampling and the encoder's counterparts.

Decoding (:func:`decode_scan`) reads one scan's MCUs (interleaved, or one block per MCU
for a single-component scan, A.2), decodes each 8x8 block's DC difference and AC
run/size symbols (F.2.2), dequantises them, runs the inverse DCT (A.3.3, computed in
double precision, rounded, level-shifted and clamped to ``0 .. 2**P - 1``) and writes the
samples into the component's plane (a padded region of one flat ``uint16`` array). The
bit reader keeps up to 64 bits in an integer, removes stuffed zero bytes, and at a marker
or the end of the data feeds zero bits and counts them, so a truncated scan is reported
without reading outside the source. Restart intervals (DRI) are checked: ``RSTm`` with m
counting 0 .. 7 after every interval, predictors reset.

:func:`assemble` interleaves the planes into the frame, upsampling subsampled
components: 2:1 horizontally, or 2:1 both ways, with the triangle ("fancy") filter that
weighs the nearer input sample 3/4 (for components more than 2 samples wide, as the IJG
software does); other ratios, and narrower components, by replication.

Encoding (:func:`forward_blocks`, :func:`count_symbols`, :func:`encode_blocks`): level
shift, forward DCT and quantisation of each block (double precision, rounded), the
histogram of the Huffman symbols (for tables optimised per frame, K.2), then the
Huffman codes, extra bits, 0xFF stuffing, restart markers and 1-bit padding.

Kernels never raise: they report problems through ``status`` (:data:`DECODE_STATUS`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from pacsnb.codecs._jpeg_kernels import _find_marker

__all__ = ["LOOKAHEAD", "ZIGZAG", "build_decode_table", "decode_scan", "assemble", "forward_blocks",
           "count_symbols", "encode_blocks", "huffman_code_lengths", "ycc_to_rgb", "DECODE_STATUS"]

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

# C[x, u] = c(u) / 2 * cos((2x + 1) u pi / 16), c(0) = 1 / sqrt(2), else 1 (A.3.3)
_COS = np.zeros((8, 8), np.float64)
for _x in range(8):
    for _u in range(8):
        _COS[_x, _u] = (math.sqrt(0.5) if _u == 0 else 1.0) / 2.0 * math.cos((2 * _x + 1) * _u * math.pi / 16)

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


@njit(cache=True, nogil=True)
def build_decode_table(bits, huffval, nvals, lut, maxcode, valptr):
    """Decoding tables of one Huffman table (C.2, F.2.2.3): ``bits[1..16]`` code counts,
    ``huffval[:nvals]`` the symbols. Fills ``lut`` (``2**LOOKAHEAD`` int32: ``length << 8
    | symbol`` for codes of at most LOOKAHEAD bits, else 0), ``maxcode`` (18 int64, -1 for
    no code of a length, sentinel at 17) and ``valptr`` (17 int64). Returns 0, or -1 when
    the counts overflow the code space or exceed ``nvals``."""
    for i in range(lut.shape[0]):
        lut[i] = 0
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
                    base = (code + j) << (LOOKAHEAD - length)
                    entry = (length << 8) | np.int64(huffval[k + j])
                    for f in range(1 << (LOOKAHEAD - length)):
                        lut[base + f] = entry
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
def _idct_store(coef, plane, off, stride, maxval, shift, tmp):
    """Inverse DCT of ``coef`` (64 float64, natural order, dequantised) into ``plane[off +
    y * stride + x]``, level-shifted by ``shift``, rounded and clamped."""
    # rows: tmp[v, x] = sum_u C[x, u] F[v, u]
    for v in range(8):
        r = v * 8
        nz = False
        for u in range(1, 8):
            if coef[r + u] != 0.0:
                nz = True
                break
        if not nz:
            d = coef[r] * _COS[0, 0]
            for x in range(8):
                tmp[r + x] = d
        else:
            for x in range(8):
                s = 0.0
                for u in range(8):
                    s += _COS[x, u] * coef[r + u]
                tmp[r + x] = s
    # columns: out[y, x] = sum_v C[y, v] tmp[v, x]
    for y in range(8):
        o = off + y * stride
        for x in range(8):
            s = 0.0
            for v in range(8):
                s += _COS[y, v] * tmp[v * 8 + x]
            val = np.int64(math.floor(s + 0.5)) + shift
            if val < 0:
                val = 0
            elif val > maxval:
                val = maxval
            plane[o + x] = val


@njit(cache=True, nogil=True)
def decode_scan(src, start, ns, comps, hs, vs, qsel, qt, dcsel, acsel, lut, maxcode, valptr, huffval,
                planes, poff, pstride, bw, bh, mcux, mcuy, restart_interval, precision, status):
    """Decode one scan from ``src[start]``; returns the offset of the marker after it.

    ``comps[:ns]`` are the frame indices of the scan's components; per frame component
    ``hs``/``vs`` sampling factors, ``qsel`` quantisation table, ``poff``/``pstride`` the
    plane's offset and row stride in ``planes``, ``bw``/``bh`` its blocks across and down
    (for a non-interleaved scan); per scan component ``dcsel`` / ``acsel`` the DC table
    (0 .. 3) and AC table (4 .. 7) rows of ``lut``/``maxcode``/``valptr``/``huffval``.
    ``qt`` holds the quantisation tables in zig-zag order. ``mcux`` x ``mcuy`` MCUs for an
    interleaved scan. ``status[0]`` is non-zero on a problem (``[1]`` MCU, ``[2]`` MCU row,
    ``[3]`` MCU column, ``[4]`` byte offset, ``[5]`` marker or -1, ``[6]`` RST number due).
    """
    end = src.shape[0]
    maxval = (np.int64(1) << precision) - 1
    shift = np.int64(1) << (precision - 1)
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
    coef = np.zeros(64, np.float64)
    tmp = np.zeros(64, np.float64)
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
                    for i in range(64):
                        coef[i] = 0.0
                    coef[0] = np.float64(pred[k] * qt[q, 0])
                    # -- AC
                    kk = 1
                    while kk < 64:
                        if nbits < 32:
                            pos, buf, nbits, fake = _refill(src, end, pos, buf, nbits, fake)
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
                        coef[ZIGZAG[kk]] = np.float64(val * qt[q, kk])
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
                    _idct_store(coef, planes, poff[ci] + row0 * pstride[ci] + col0, pstride[ci], maxval, shift,
                                tmp)
    return _find_marker(src, pos)


@njit(cache=True, nogil=True)
def assemble(planes, poff, pstride, cw, ch, hs, vs, hmax, vmax, rows, cols, nf, out):
    """Interleave the component planes into ``out`` (``rows * cols * nf``, any integer
    dtype), upsampling: 2:1 horizontal or 2:1 both ways by the triangle filter (components
    wider than 2 samples), others by replication. ``cw``/``ch``: each component's real width and height."""
    for c in range(nf):
        fx = hmax // hs[c] if hs[c] > 0 else 1
        fy = vmax // vs[c] if vs[c] > 0 else 1
        exact = hs[c] * fx == hmax and vs[c] * fy == vmax
        off = poff[c]
        st = pstride[c]
        w = cw[c]
        h = ch[c]
        if fx == 1 and fy == 1:
            for y in range(rows):
                b = off + y * st
                o = y * cols * nf + c
                for x in range(cols):
                    out[o + x * nf] = planes[b + x]
        elif exact and fx == 2 and fy == 1 and w > 2:
            for y in range(rows):
                b = off + y * st
                o = y * cols * nf + c
                for x in range(cols):
                    i = x >> 1
                    near = np.int64(planes[b + i]) * 3
                    if x & 1:
                        j = i + 1 if i + 1 < w else i
                        if i + 1 >= w:
                            val = np.int64(planes[b + i])
                        else:
                            val = (near + np.int64(planes[b + j]) + 2) >> 2
                    else:
                        if i == 0:
                            val = np.int64(planes[b])
                        else:
                            val = (near + np.int64(planes[b + i - 1]) + 1) >> 2
                    out[o + x * nf] = val
        elif exact and fx == 2 and fy == 2 and w > 2:
            for y in range(rows):
                iy = y >> 1
                # the nearer neighbouring input row: above for even output rows, below for odd
                if y & 1:
                    jy = iy + 1 if iy + 1 < h else iy
                else:
                    jy = iy - 1 if iy > 0 else iy
                b0 = off + iy * st
                b1 = off + jy * st
                o = y * cols * nf + c
                for x in range(cols):
                    i = x >> 1
                    this = 3 * np.int64(planes[b0 + i]) + np.int64(planes[b1 + i])
                    if x & 1:
                        if i + 1 < w:
                            other = 3 * np.int64(planes[b0 + i + 1]) + np.int64(planes[b1 + i + 1])
                            val = (3 * this + other + 7) >> 4
                        else:
                            val = (4 * this + 7) >> 4
                    else:
                        if i > 0:
                            other = 3 * np.int64(planes[b0 + i - 1]) + np.int64(planes[b1 + i - 1])
                            val = (3 * this + other + 8) >> 4
                        else:
                            val = (4 * this + 8) >> 4
                    out[o + x * nf] = val
        else:
            for y in range(rows):
                iy = (y * vs[c]) // vmax
                b = off + iy * st
                o = y * cols * nf + c
                for x in range(cols):
                    out[o + x * nf] = planes[b + (x * hs[c]) // hmax]


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
@njit(cache=True, nogil=True)
def forward_blocks(plane, prows, pcols, qt, shift, out, first):
    """Forward DCT and quantisation of every 8x8 block of ``plane`` (``prows x pcols`` float64,
    both multiples of 8, already padded) into ``out[first + i]`` (int32, zig-zag order),
    blocks in raster order. ``qt`` is the quantisation table in zig-zag order."""
    tmp = np.zeros(64, np.float64)
    nbx = pcols // 8
    nby = prows // 8
    for byi in range(nby):
        for bxi in range(nbx):
            base = byi * 8 * pcols + bxi * 8
            # rows: tmp[y, u] = sum_x C[x, u] (f[y, x] - shift)
            for y in range(8):
                o = base + y * pcols
                for u in range(8):
                    s = 0.0
                    for x in range(8):
                        s += _COS[x, u] * (plane[o + x] - shift)
                    tmp[y * 8 + u] = s
            blk = first + byi * nbx + bxi
            for k in range(64):
                nat = ZIGZAG[k]
                v = nat >> 3
                u = nat & 7
                s = 0.0
                for y in range(8):
                    s += _COS[y, v] * tmp[y * 8 + u]
                out[blk, k] = np.int32(math.floor(s / qt[k] + 0.5)) if s >= 0 else -np.int32(
                    math.floor(-s / qt[k] + 0.5))


@njit(cache=True, nogil=True)
def count_symbols(blocks, blk_comp, mcu_blocks, tsel, restart_interval, dchist, achist):
    """Histograms of the DC (``dchist[t, 0..16]``) and AC (``achist[t, 0..255]``) symbols.

    ``mcu_blocks[m, j]`` is the j-th block (row of ``blocks``) of MCU ``m``; ``blk_comp`` the
    component of each; ``tsel[c]`` the table (0 luminance, 1 chrominance) of component c."""
    pred = np.zeros(4, np.int64)
    left = restart_interval
    for m in range(mcu_blocks.shape[0]):
        if restart_interval > 0:
            if left == 0:
                for i in range(4):
                    pred[i] = 0
                left = restart_interval
            left -= 1
        for j in range(mcu_blocks.shape[1]):
            b = mcu_blocks[m, j]
            if b < 0:
                continue
            c = blk_comp[b]
            t = tsel[c]
            d = np.int64(blocks[b, 0]) - pred[c]
            pred[c] = blocks[b, 0]
            a = d if d >= 0 else -d
            dchist[t, _NBITS[a]] += 1
            run = 0
            for k in range(1, 64):
                v = np.int64(blocks[b, k])
                if v == 0:
                    run += 1
                    continue
                while run > 15:
                    achist[t, 0xF0] += 1
                    run -= 16
                a = v if v >= 0 else -v
                achist[t, (run << 4) | _NBITS[a]] += 1
                run = 0
            if run > 0:
                achist[t, 0] += 1


@njit(cache=True, nogil=True, inline="always")
def _put(out, pos, acc, nacc, code, size):
    acc = ((acc << size) | code) & 0xFFFFFFFFFFFF
    nacc += size
    while nacc >= 8:
        b = (acc >> (nacc - 8)) & 0xFF
        nacc -= 8
        out[pos] = b
        pos += 1
        if b == 0xFF:
            out[pos] = 0
            pos += 1
    return pos, acc, nacc


@njit(cache=True, nogil=True)
def encode_blocks(blocks, blk_comp, mcu_blocks, tsel, restart_interval, dcco, dcsi, acco, acsi, out, start):
    """Write the entropy-coded data of the MCUs into ``out`` from ``start``; returns the
    end offset, or -1 when ``out`` is too small. ``dcco``/``dcsi`` (``[t, 17]``) and
    ``acco``/``acsi`` (``[t, 256]``) are the codes and code lengths of each table."""
    pred = np.zeros(4, np.int64)
    left = restart_interval
    nrst = 0
    pos = start
    acc = np.int64(0)
    nacc = 0
    for m in range(mcu_blocks.shape[0]):
        if restart_interval > 0:
            if left == 0:
                if nacc > 0:
                    pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << (8 - nacc)) - 1, 8 - nacc)
                if pos + 2 > out.shape[0]:
                    return -1
                out[pos] = 0xFF
                out[pos + 1] = 0xD0 + (nrst & 7)
                pos += 2
                nrst += 1
                for i in range(4):
                    pred[i] = 0
                left = restart_interval
            left -= 1
        for j in range(mcu_blocks.shape[1]):
            b = mcu_blocks[m, j]
            if b < 0:
                continue
            if pos + 600 > out.shape[0]:
                return -1
            c = blk_comp[b]
            t = tsel[c]
            d = np.int64(blocks[b, 0]) - pred[c]
            pred[c] = blocks[b, 0]
            a = d if d >= 0 else -d
            s = _NBITS[a]
            pos, acc, nacc = _put(out, pos, acc, nacc, dcco[t, s], dcsi[t, s])
            if s > 0:
                v = d if d >= 0 else d - 1
                pos, acc, nacc = _put(out, pos, acc, nacc, v & ((np.int64(1) << s) - 1), s)
            run = 0
            for k in range(1, 64):
                v = np.int64(blocks[b, k])
                if v == 0:
                    run += 1
                    continue
                while run > 15:
                    pos, acc, nacc = _put(out, pos, acc, nacc, acco[t, 0xF0], acsi[t, 0xF0])
                    run -= 16
                a = v if v >= 0 else -v
                s = _NBITS[a]
                sym = (run << 4) | s
                pos, acc, nacc = _put(out, pos, acc, nacc, acco[t, sym], acsi[t, sym])
                w = v if v >= 0 else v - 1
                pos, acc, nacc = _put(out, pos, acc, nacc, w & ((np.int64(1) << s) - 1), s)
                run = 0
            if run > 0:
                pos, acc, nacc = _put(out, pos, acc, nacc, acco[t, 0], acsi[t, 0])
    if nacc > 0:
        if pos + 2 > out.shape[0]:
            return -1
        pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << (8 - nacc)) - 1, 8 - nacc)
    return pos


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
    while True:
        v1 = -1
        for i in range(n):
            if f[i] > 0 and (v1 < 0 or f[i] <= f[v1]):
                v1 = i
        v2 = -1
        for i in range(n):
            if f[i] > 0 and i != v1 and (v2 < 0 or f[i] <= f[v2]):
                v2 = i
        if v2 < 0:
            break
        f[v1] += f[v2]
        f[v2] = 0
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
