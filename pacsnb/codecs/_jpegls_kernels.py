"""numba kernels of JPEG-LS (ITU-T T.87 | ISO/IEC 14495-1): one scan at a time.

The marker segments (SOF55, LSE, DRI, SOS) are parsed in Python by
:mod:`pacsnb.codecs.jpegls`; these kernels do the coded part of a scan, both ways.

The coding follows T.87 Annex A, written here from the standard's description:

- context modelling (A.3): the local gradients ``D1 = Rd - Rb``, ``D2 = Rb - Rc``,
  ``D3 = Rc - Ra`` are quantized to ``-4 .. 4`` with the thresholds T1, T2, T3 and NEAR
  (a table of ``2 * MAXVAL + 1`` entries built by :func:`quantization_table`); the
  context is ``81 * Q1 + 9 * Q2 + Q3`` (a balanced base-9 number, so its sign is the
  sign of the first non-zero ``Qi``, A.3.4) taken in absolute value, 0 .. 364; all three
  zero selects run mode;
- regular mode (A.4 - A.6): the median edge detector, the bias correction ``C[Q]``, the
  prediction error reduced modulo RANGE (and quantized for NEAR > 0), mapped to a
  non-negative value and coded with the limited-length Golomb code of parameter ``k``
  (the smallest with ``N[Q] << k >= A[Q]``); then the updates of A, B, C, N;
- run mode (A.7): runs of samples equal (within NEAR) to ``Ra`` are coded with the
  ``J[RUNindex]`` table; a run cut by the end of the line ends with a ``1`` bit if it has
  a remainder; a run cut by another sample has a ``0``, the remainder in ``J[RUNindex]``
  bits and the run interruption sample, coded in context 365 or 366 with the limit
  ``LIMIT - J[RUNindex] - 1`` before RUNindex is decremented;
- the edges of the image (A.2.1): above the first line is a line of zeros; ``Ra`` of the
  first sample of a line is ``Rb``, ``Rc`` is the first sample of the line two above;
  ``Rd`` of the last sample is ``Rb``. Line buffers have one sample of padding each side.

Multi-component scans (Annex B): with line interleave (ILV 1) the components' lines
alternate, the contexts are shared and each component has its own RUNindex; with sample
interleave (ILV 2) the contexts are shared, run mode is entered only when every component
would enter it, a run continues while every component is within NEAR of its ``Ra``, and
the run interruption codes every component in context 365 (``Px = Rb``) with one
RUNindex. After a restart marker (DRI) everything starts again as at the start of the
scan: contexts, RUNindex, and the line above the next line is zeros.

The bit stream: after a 0xFF byte, the next byte holds 7 bits (its top bit is 0); an 0xFF
followed by a byte with the top bit set is a marker. The reader keeps up to 63 bits in an
integer; at a marker or the end of the data it feeds zero bits and counts them, so a
truncated scan is found (status ``OUT_OF_DATA``) without reading outside the source, and
every loop is bounded by the number of samples. Kernels never raise: they report through
``status`` (:data:`STATUS`).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["J", "STATUS", "quantization_table", "decode_lines", "decode_samples", "encode_lines",
           "encode_samples", "OK", "BAD_CODE", "BAD_RUN", "OUT_OF_DATA", "RST_MISSING", "RST_WRONG"]

#: The run length order of each RUNindex (A.7.1.1, the table J).
J = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15],
             np.int64)

# status[0] codes; status[1] = line, [2] = column, [3] = byte offset, [4] = component (index in the scan),
# [5] = the RSTm number expected, [6] = the marker byte found (-1: the end of the data)
OK = 0
BAD_CODE = 1       # a Golomb code longer than LIMIT allows
BAD_RUN = 2        # a run interrupted past the end of its line
OUT_OF_DATA = 3    # the coded data ended (a marker or the end of the codestream) before the scan was complete
RST_MISSING = 4    # a restart interval ended and RSTm does not follow
RST_WRONG = 5      # RSTn where RSTm was due

#: What each status code means; ``line``, ``col``, ``pos``, ``comp``, ``m`` and ``marker``
#: are filled in by the caller.
STATUS = {
    BAD_CODE: "invalid Golomb code (longer than LIMIT) near byte {pos}, at line {line}, column {col}, "
              "component {comp} (corrupt data)",
    BAD_RUN: "a run at line {line} of component {comp} runs past the end of the line (column {col}) near byte "
             "{pos} (corrupt data)",
    OUT_OF_DATA: "the coded data ends at byte {pos} ({marker}) before line {line} is complete (truncated or corrupt)",
    RST_MISSING: "a restart interval ends before line {line}, but the data at byte {pos} is {marker}, not RST{m} "
                 "(corrupt data, or a wrong restart interval)",
    RST_WRONG: "found {marker} at byte {pos} where RST{m} was due (before line {line}): corrupt data",
}

_NCTX = 367          # 365 regular contexts, then the two run interruption contexts
_RI0 = 365


@intrinsic
def _ctlz(typingctx, x):
    """Leading zero bits of a 64-bit integer (llvm.ctlz; 64 for 0)."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.int64)
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        fn = builder.module.declare_intrinsic("llvm.ctlz", [ir.IntType(64)], fnty)
        return builder.call(fn, [v, ir.Constant(ir.IntType(1), 0)])
    return sig, codegen


@njit(cache=True, nogil=True)
def quantization_table(maxval, near, t1, t2, t3):
    """Q(D) for D = -MAXVAL .. MAXVAL at index ``D + MAXVAL`` (A.3.3), as int32 in -4 .. 4."""
    n = 2 * maxval + 1
    q = np.empty(n, np.int32)
    for i in range(n):
        d = i - maxval
        if d <= -t3:
            v = -4
        elif d <= -t2:
            v = -3
        elif d <= -t1:
            v = -2
        elif d < -near:
            v = -1
        elif d <= near:
            v = 0
        elif d < t1:
            v = 1
        elif d < t2:
            v = 2
        elif d < t3:
            v = 3
        else:
            v = 4
        q[i] = v
    return q


@njit(cache=True, nogil=True, inline="always")
def _kparam(n, a):
    """The smallest k with ``n << k >= a`` (A.5.1), n >= 1."""
    k = _ctlz(n) - _ctlz(a)
    if k <= 0:
        return 0 if n >= a else 1
    if (n << k) < a:
        k += 1
    return k


@njit(cache=True, nogil=True)
def _init_contexts(A, B, C, N, Nn, rng):
    a0 = max(2, (rng + 32) // 64)
    for i in range(_NCTX):
        A[i] = a0
        B[i] = 0
        C[i] = 0
        N[i] = 1
        Nn[i] = 0


# -- bit reader -----------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _fill(src, acc, nacc, pos, end, extra):
    """Top up the bit cache to at least 49 bits (zeros past a marker or the end, counted)."""
    while nacc <= 48:
        if pos < end:
            b = np.int64(src[pos])
            if b == 0xFF:
                if pos + 1 < end and src[pos + 1] < 0x80:
                    acc = (acc << 15) | 0x7F80 | np.int64(src[pos + 1])
                    nacc += 15
                    pos += 2
                    continue
                end = pos  # a marker (or a lone 0xFF at the very end): the coded data stops here
                continue
            acc = (acc << 8) | b
            nacc += 8
            pos += 1
        else:
            acc <<= 8
            nacc += 8
            extra += 8
    return acc, nacc, pos, end, extra


def _golomb_py(src, acc, nacc, pos, end, extra, k, limit, qbpp):
    """Decode one limited-length Golomb code LG(k, limit) (A.5.3); the value is -1 for an
    invalid code."""
    q = 0
    maxq = limit - qbpp - 1
    while True:
        if nacc < 32:
            acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
        if acc == 0:
            q += nacc
            nacc = 0
            if q > maxq:
                return -1, acc, nacc, pos, end, extra
            continue
        z = nacc - (64 - _ctlz(acc))
        q += z
        nacc -= z + 1
        acc &= (np.int64(1) << nacc) - 1
        break
    if q < maxq:
        if k:
            if nacc < k:
                acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
            nacc -= k
            v = (q << k) | (acc >> nacc)
            acc &= (np.int64(1) << nacc) - 1
            return v, acc, nacc, pos, end, extra
        return q, acc, nacc, pos, end, extra
    if q > maxq:
        return -1, acc, nacc, pos, end, extra
    if nacc < qbpp:
        acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
    nacc -= qbpp
    v = (acc >> nacc) + 1
    acc &= (np.int64(1) << nacc) - 1
    return v, acc, nacc, pos, end, extra


#: LG(k, limit) decoding, compiled inline (numba IR) into the decoding loops: a call per
#: sample costs about a third of the decoding speed
_golomb_inline = njit(cache=True, nogil=True, inline="always")(_golomb_py)


@njit(cache=True, nogil=True)
def _restart(src, pos, end, srcend, acc, nacc, extra, m, status, line):
    """At the end of a restart interval: the data must stop at RSTm; skip it. Returns the
    new position and the end of the data, or -1 (status set)."""
    if extra > nacc:
        status[0] = OUT_OF_DATA
    elif pos + 1 < srcend and src[pos] == 0xFF:
        # skip fill bytes
        p = pos
        while p + 1 < srcend and src[p + 1] == 0xFF:
            p += 1
        mk = np.int64(src[p + 1]) if p + 1 < srcend else -1
        if mk == 0xD0 + m:
            return p + 2, srcend
        status[0] = RST_WRONG if 0xD0 <= mk <= 0xD7 else RST_MISSING
        status[6] = mk
    else:
        status[0] = RST_MISSING
        status[6] = np.int64(src[pos]) if pos < srcend else -1
    status[1] = line
    status[3] = pos
    status[5] = m
    return -1, end


# -- decoding -------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _decode_line(src, st, prev, cur, cols, A, B, C, N, Nn, qt, near, maxval, rng, qbpp, limit, reset, ri):
    """Decode one line of one component into ``cur[1 .. cols]`` (``prev`` is the line
    above); the bit reader state is ``st`` = [acc, nacc, pos, end, extra]. Returns the new
    RUNindex, or -1 - column on a bad code, -100000000 - column on a bad run."""
    acc, nacc, pos, end, extra = st[0], st[1], st[2], st[3], st[4]
    cur[0] = prev[1]
    prev[cols + 1] = prev[cols]
    step = 2 * near + 1
    wrap = rng * step
    i = 1
    # the neighbours carry over from one sample to the next: one new load (Rd) per sample
    ra = np.int64(cur[0])
    rb = np.int64(prev[1])
    rc = np.int64(prev[0])
    while i <= cols:
        rd = np.int64(prev[i + 1])
        q = 81 * qt[rd - rb + maxval] + 9 * qt[rb - rc + maxval] + qt[rc - ra + maxval]
        if q != 0:
            sign = 1
            if q < 0:
                q = -q
                sign = -1
            # median edge detector: the median of Ra, Rb and Ra + Rb - Rc (no branches)
            px = max(min(ra, rb), min(max(ra, rb), ra + rb - rc))
            px += sign * C[q]
            if px < 0:
                px = 0
            elif px > maxval:
                px = maxval
            a = A[q]
            n = N[q]
            k = _kparam(n, a)
            m, acc, nacc, pos, end, extra = _golomb_inline(src, acc, nacc, pos, end, extra, k, limit, qbpp)
            if m < 0:
                st[0], st[1], st[2], st[3], st[4] = acc, nacc, pos, end, extra
                return -i
            e = (m >> 1) ^ -(m & 1)          # 0, -1, 1, -2, 2, ...
            b = B[q]
            if near == 0 and k == 0 and 2 * b <= -n:
                e = ~e
            b += e * step
            A[q] = a + abs(e)
            if n == reset:
                A[q] >>= 1
                b >>= 1
                n >>= 1
            n += 1
            N[q] = n
            if b <= -n:
                b += n
                if C[q] > -128:
                    C[q] -= 1
                if b <= -n:
                    b = -n + 1
            elif b > 0:
                b -= n
                if C[q] < 127:
                    C[q] += 1
                if b > 0:
                    b = 0
            B[q] = b
            rx = px + sign * e * step
            if rx < -near:
                rx += wrap
            elif rx > maxval + near:
                rx -= wrap
            if rx < 0:
                rx = 0
            elif rx > maxval:
                rx = maxval
            cur[i] = rx
            i += 1
            ra = rx
            rc = rb
            rb = rd
            continue
        # run mode
        while True:
            if nacc == 0:
                acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
            nacc -= 1
            bit = (acc >> nacc) & 1
            acc &= (np.int64(1) << nacc) - 1
            if bit:
                cnt = np.int64(1) << J[ri]
                left = cols + 1 - i
                if cnt > left:
                    cnt = left
                elif ri < 31:
                    ri += 1
                for t in range(cnt):
                    cur[i + t] = ra
                i += cnt
                if i > cols:
                    break
                continue
            jr = J[ri]
            cnt = 0
            if jr:
                if nacc < jr:
                    acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
                nacc -= jr
                cnt = acc >> nacc
                acc &= (np.int64(1) << nacc) - 1
            if cnt >= cols + 1 - i:
                st[0], st[1], st[2], st[3], st[4] = acc, nacc, pos, end, extra
                return -100000000 - i
            for t in range(cnt):
                cur[i + t] = ra
            i += cnt
            # the run interruption sample
            rb = np.int64(prev[i])
            ritype = 1 if abs(ra - rb) <= near else 0
            if ritype:
                px = ra
                sign = 1
            else:
                px = rb
                sign = -1 if ra > rb else 1
            qi = _RI0 + ritype
            n = N[qi]
            t = A[qi] + ((n >> 1) if ritype else 0)
            k = 0
            while (n << k) < t:
                k += 1
            m, acc, nacc, pos, end, extra = _golomb_inline(src, acc, nacc, pos, end, extra, k, limit - jr - 1, qbpp)
            if m < 0:
                st[0], st[1], st[2], st[3], st[4] = acc, nacc, pos, end, extra
                return -i
            tmp = m + ritype
            mag = (tmp + 1) >> 1
            flip = tmp & 1
            if k == 0 and 2 * Nn[qi] < n:
                e = mag if flip else -mag
            else:
                e = -mag if flip else mag
            if e < 0:
                Nn[qi] += 1
            A[qi] += (m + 1 - ritype) >> 1
            if n == reset:
                A[qi] >>= 1
                n >>= 1
                Nn[qi] >>= 1
            N[qi] = n + 1
            rx = px + sign * e * step
            if rx < -near:
                rx += wrap
            elif rx > maxval + near:
                rx -= wrap
            if rx < 0:
                rx = 0
            elif rx > maxval:
                rx = maxval
            cur[i] = rx
            i += 1
            if ri > 0:
                ri -= 1
            break
        if i <= cols:
            ra = np.int64(cur[i - 1])
            rb = np.int64(prev[i])
            rc = np.int64(prev[i - 1])
    st[0], st[1], st[2], st[3], st[4] = acc, nacc, pos, end, extra
    return ri


@njit(cache=True, nogil=True)
def decode_lines(src, pos, srcend, out, rows, cols, nf, comps, ncomp, near, maxval, t1, t2, t3, reset,
                 restart, qt, status):
    """Decode a scan with no interleave (one component) or line interleave (ILV 1) into
    ``out`` (a flat array of ``rows * cols * nf`` samples, interleaved by pixel; the scan's
    components are ``comps[:ncomp]``, indices in the frame). Returns the byte position
    where the coded data stops (the next marker), status[0] == OK, or -1 (status set)."""
    rng = (maxval + 2 * near) // (2 * near + 1) + 1
    qbpp = 1
    while (1 << qbpp) < rng:
        qbpp += 1
    bpp = 2
    while (1 << bpp) < maxval + 1:
        bpp += 1
    limit = 2 * (bpp + max(8, bpp))
    A = np.empty(_NCTX, np.int64)
    B = np.empty(_NCTX, np.int64)
    C = np.empty(_NCTX, np.int64)
    N = np.empty(_NCTX, np.int64)
    Nn = np.empty(_NCTX, np.int64)
    _init_contexts(A, B, C, N, Nn, rng)
    lines = np.zeros((ncomp, 2, cols + 2), np.int32)
    runidx = np.zeros(ncomp, np.int64)
    st = np.zeros(5, np.int64)
    st[2] = pos
    st[3] = srcend
    rst = 0
    since = 0
    for y in range(rows):
        if restart and since == restart:
            p, e = _restart(src, st[2], st[3], srcend, st[0], st[1], st[4], rst, status, y)
            if p < 0:
                return -1
            st[0] = 0
            st[1] = 0
            st[2] = p
            st[3] = e
            st[4] = 0
            rst = (rst + 1) & 7
            since = 0
            _init_contexts(A, B, C, N, Nn, rng)
            lines[:] = 0
            runidx[:] = 0
        since += 1
        for c in range(ncomp):
            prev = lines[c, (y + 1) & 1]
            cur = lines[c, y & 1]
            r = _decode_line(src, st, prev, cur, cols, A, B, C, N, Nn, qt, near, maxval, rng, qbpp, limit,
                             reset, runidx[c])
            if r < 0 and st[4] > st[1]:
                r = 0  # the data ran out first: report that (below)
            if r < 0:
                status[0] = BAD_CODE if r > -100000000 else BAD_RUN
                status[1] = y
                status[2] = (-r if r > -100000000 else -r - 100000000) - 1
                status[3] = st[2]
                status[4] = c
                return -1
            runidx[c] = r
            if st[4] > st[1]:
                status[0] = OUT_OF_DATA
                status[1] = y
                status[3] = st[3]
                status[4] = c
                status[6] = np.int64(src[st[3] + 1]) if st[3] + 1 < srcend else -1
                return -1
            o = y * cols * nf + comps[c]
            for x in range(cols):
                out[o + x * nf] = cur[x + 1]
    return st[3] if st[4] else st[2]


@njit(cache=True, nogil=True)
def decode_samples(src, pos, srcend, out, rows, cols, nf, comps, ncomp, near, maxval, t1, t2, t3, reset,
                   restart, qt, status):
    """Decode a sample-interleaved scan (ILV 2) of ``ncomp`` components; as
    :func:`decode_lines`."""
    rng = (maxval + 2 * near) // (2 * near + 1) + 1
    qbpp = 1
    while (1 << qbpp) < rng:
        qbpp += 1
    bpp = 2
    while (1 << bpp) < maxval + 1:
        bpp += 1
    limit = 2 * (bpp + max(8, bpp))
    step = 2 * near + 1
    wrap = rng * step
    A = np.empty(_NCTX, np.int64)
    B = np.empty(_NCTX, np.int64)
    C = np.empty(_NCTX, np.int64)
    N = np.empty(_NCTX, np.int64)
    Nn = np.empty(_NCTX, np.int64)
    _init_contexts(A, B, C, N, Nn, rng)
    lines = np.zeros((2, cols + 2, ncomp), np.int64)
    qs = np.zeros(ncomp, np.int64)
    ras = np.zeros(ncomp, np.int64)
    acc = np.int64(0)
    nacc = np.int64(0)
    end = srcend
    extra = np.int64(0)
    ri = 0
    rst = 0
    since = 0
    for y in range(rows):
        if restart and since == restart:
            p, e = _restart(src, pos, end, srcend, acc, nacc, extra, rst, status, y)
            if p < 0:
                return -1
            acc = 0
            nacc = 0
            pos = p
            end = e
            extra = 0
            rst = (rst + 1) & 7
            since = 0
            _init_contexts(A, B, C, N, Nn, rng)
            lines[:] = 0
            ri = 0
        since += 1
        prev = lines[(y + 1) & 1]
        cur = lines[y & 1]
        for c in range(ncomp):
            cur[0, c] = prev[1, c]
            prev[cols + 1, c] = prev[cols, c]
        i = 1
        while i <= cols:
            run = True
            for c in range(ncomp):
                ra = cur[i - 1, c]
                rb = prev[i, c]
                rc = prev[i - 1, c]
                rd = prev[i + 1, c]
                q = 81 * qt[rd - rb + maxval] + 9 * qt[rb - rc + maxval] + qt[rc - ra + maxval]
                qs[c] = q
                ras[c] = ra
                if q != 0:
                    run = False
            if not run:
                for c in range(ncomp):
                    ra = cur[i - 1, c]
                    rb = prev[i, c]
                    rc = prev[i - 1, c]
                    q = qs[c]
                    sign = 1
                    if q < 0:
                        q = -q
                        sign = -1
                    px = max(min(ra, rb), min(max(ra, rb), ra + rb - rc))
                    px += sign * C[q]
                    if px < 0:
                        px = 0
                    elif px > maxval:
                        px = maxval
                    a = A[q]
                    n = N[q]
                    k = 0
                    while (n << k) < a:
                        k += 1
                    m, acc, nacc, pos, end, extra = _golomb_inline(src, acc, nacc, pos, end, extra, k, limit, qbpp)
                    if m < 0:
                        status[0] = BAD_CODE if extra <= nacc else OUT_OF_DATA
                        status[1] = y
                        status[2] = i - 1
                        status[3] = pos if extra <= nacc else end
                        status[4] = c
                        status[6] = np.int64(src[end + 1]) if end + 1 < srcend else -1
                        return -1
                    e = (m >> 1) ^ -(m & 1)
                    b = B[q]
                    if near == 0 and k == 0 and 2 * b <= -n:
                        e = ~e
                    b += e * step
                    A[q] = a + abs(e)
                    if n == reset:
                        A[q] >>= 1
                        b >>= 1
                        n >>= 1
                    n += 1
                    N[q] = n
                    if b <= -n:
                        b += n
                        if C[q] > -128:
                            C[q] -= 1
                        if b <= -n:
                            b = -n + 1
                    elif b > 0:
                        b -= n
                        if C[q] < 127:
                            C[q] += 1
                        if b > 0:
                            b = 0
                    B[q] = b
                    rx = px + sign * e * step
                    if rx < -near:
                        rx += wrap
                    elif rx > maxval + near:
                        rx -= wrap
                    if rx < 0:
                        rx = 0
                    elif rx > maxval:
                        rx = maxval
                    cur[i, c] = rx
                i += 1
                continue
            # run mode over whole pixels
            while True:
                if nacc == 0:
                    acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
                nacc -= 1
                bit = (acc >> nacc) & 1
                acc &= (np.int64(1) << nacc) - 1
                if bit:
                    cnt = np.int64(1) << J[ri]
                    left = cols + 1 - i
                    if cnt > left:
                        cnt = left
                    elif ri < 31:
                        ri += 1
                    for t in range(cnt):
                        for c in range(ncomp):
                            cur[i + t, c] = ras[c]
                    i += cnt
                    if i > cols:
                        break
                    continue
                jr = J[ri]
                cnt = 0
                if jr:
                    if nacc < jr:
                        acc, nacc, pos, end, extra = _fill(src, acc, nacc, pos, end, extra)
                    nacc -= jr
                    cnt = acc >> nacc
                    acc &= (np.int64(1) << nacc) - 1
                if cnt >= cols + 1 - i:
                    status[0] = BAD_RUN if extra <= nacc else OUT_OF_DATA
                    status[1] = y
                    status[2] = i - 1
                    status[3] = pos if extra <= nacc else end
                    status[6] = np.int64(src[end + 1]) if end + 1 < srcend else -1
                    return -1
                for t in range(cnt):
                    for c in range(ncomp):
                        cur[i + t, c] = ras[c]
                i += cnt
                for c in range(ncomp):
                    ra = ras[c]
                    rb = prev[i, c]
                    px = rb
                    sign = -1 if ra > rb else 1
                    n = N[_RI0]
                    t = A[_RI0]
                    k = 0
                    while (n << k) < t:
                        k += 1
                    m, acc, nacc, pos, end, extra = _golomb_inline(src, acc, nacc, pos, end, extra, k, limit - jr - 1,
                                                            qbpp)
                    if m < 0:
                        status[0] = BAD_CODE if extra <= nacc else OUT_OF_DATA
                        status[1] = y
                        status[2] = i - 1
                        status[3] = pos if extra <= nacc else end
                        status[4] = c
                        status[6] = np.int64(src[end + 1]) if end + 1 < srcend else -1
                        return -1
                    mag = (m + 1) >> 1
                    flip = m & 1
                    if k == 0 and 2 * Nn[_RI0] < n:
                        e = mag if flip else -mag
                    else:
                        e = -mag if flip else mag
                    if e < 0:
                        Nn[_RI0] += 1
                    A[_RI0] += (m + 1) >> 1
                    if n == reset:
                        A[_RI0] >>= 1
                        n >>= 1
                        Nn[_RI0] >>= 1
                    N[_RI0] = n + 1
                    rx = px + sign * e * step
                    if rx < -near:
                        rx += wrap
                    elif rx > maxval + near:
                        rx -= wrap
                    if rx < 0:
                        rx = 0
                    elif rx > maxval:
                        rx = maxval
                    cur[i, c] = rx
                i += 1
                if ri > 0:
                    ri -= 1
                break
        if extra > nacc:
            status[0] = OUT_OF_DATA
            status[1] = y
            status[3] = end
            status[6] = np.int64(src[end + 1]) if end + 1 < srcend else -1
            return -1
        o = y * cols * nf
        for x in range(cols):
            for c in range(ncomp):
                out[o + x * nf + comps[c]] = cur[x + 1, c]
    return end if extra else pos


# -- encoding -------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _put(out, op, acc, nacc, lastff, value, nbits):
    """Append ``nbits`` (<= 55) bits of ``value``, writing whole bytes with 0xFF stuffing
    (a byte after 0xFF carries 7 bits)."""
    acc = (acc << nbits) | value
    nacc += nbits
    while True:
        w = 7 if lastff else 8
        if nacc < w:
            break
        nacc -= w
        byte = acc >> nacc
        acc &= (np.int64(1) << nacc) - 1
        out[op] = byte
        op += 1
        lastff = byte == 0xFF
    return op, acc, nacc, lastff


@njit(cache=True, nogil=True)
def _put_golomb(out, op, acc, nacc, lastff, m, k, limit, qbpp):
    """Append LG(k, limit) of ``m`` (A.5.3)."""
    high = m >> k
    maxq = limit - qbpp - 1
    if high < maxq:
        if high + 1 > 32:
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 0, high + 1 - 32)
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 32)
        else:
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, high + 1)
        if k:
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, m & ((np.int64(1) << k) - 1), k)
    else:
        if maxq + 1 > 32:
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 0, maxq + 1 - 32)
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 32)
        else:
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, maxq + 1)
        op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, m - 1, qbpp)
    return op, acc, nacc, lastff


@njit(cache=True, nogil=True)
def _flush(out, op, acc, nacc, lastff):
    """Pad the last byte with zero bits; after a final 0xFF, a zero byte (7 bits) so that
    the next marker is not taken for a stuffed byte."""
    if nacc:
        w = 7 if lastff else 8
        op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 0, w - nacc)
    if lastff:
        out[op] = 0
        op += 1
    return op


@njit(cache=True, nogil=True)
def _quantize(e, near):
    if near == 0:
        return e
    if e > 0:
        return (near + e) // (2 * near + 1)
    return -((near - e) // (2 * near + 1))


@njit(cache=True, nogil=True)
def _encode_line(img, base, stride, out, ws, prev, cur, cols, A, B, C, N, Nn, qt, near, maxval, rng, qbpp,
                 limit, reset, ri):
    """Encode one line of one component (samples ``img[base + x * stride]``); the writer
    state is ``ws`` = [op, acc, nacc, lastff]; ``cur`` receives the reconstructed line.
    Returns the new RUNindex."""
    op, acc, nacc, lastff = ws[0], ws[1], ws[2], ws[3] != 0
    cur[0] = prev[1]
    prev[cols + 1] = prev[cols]
    step = 2 * near + 1
    half = (rng + 1) // 2
    i = 1
    ra = np.int64(cur[0])
    rb = np.int64(prev[1])
    rc = np.int64(prev[0])
    while i <= cols:
        ix = np.int64(img[base + (i - 1) * stride])
        rd = np.int64(prev[i + 1])
        q = 81 * qt[rd - rb + maxval] + 9 * qt[rb - rc + maxval] + qt[rc - ra + maxval]
        if q != 0:
            sign = 1
            if q < 0:
                q = -q
                sign = -1
            px = max(min(ra, rb), min(max(ra, rb), ra + rb - rc))
            px += sign * C[q]
            if px < 0:
                px = 0
            elif px > maxval:
                px = maxval
            e = _quantize(sign * (ix - px), near)
            rx = px + sign * e * step
            if rx < 0:
                rx = 0
            elif rx > maxval:
                rx = maxval
            cur[i] = rx
            if e < 0:
                e += rng
            if e >= half:
                e -= rng
            a = A[q]
            n = N[q]
            k = 0
            while (n << k) < a:
                k += 1
            b = B[q]
            if near == 0 and k == 0 and 2 * b <= -n:
                m = 2 * e + 1 if e >= 0 else -2 * (e + 1)
            else:
                m = 2 * e if e >= 0 else -2 * e - 1
            op, acc, nacc, lastff = _put_golomb(out, op, acc, nacc, lastff, m, k, limit, qbpp)
            b += e * step
            A[q] = a + abs(e)
            if n == reset:
                A[q] >>= 1
                b >>= 1
                n >>= 1
            n += 1
            N[q] = n
            if b <= -n:
                b += n
                if C[q] > -128:
                    C[q] -= 1
                if b <= -n:
                    b = -n + 1
            elif b > 0:
                b -= n
                if C[q] < 127:
                    C[q] += 1
                if b > 0:
                    b = 0
            B[q] = b
            i += 1
            ra = rx
            rc = rb
            rb = rd
            continue
        # run mode
        cnt = 0
        while i <= cols and abs(np.int64(img[base + (i - 1) * stride]) - ra) <= near:
            cur[i] = ra
            cnt += 1
            i += 1
        while cnt >= (np.int64(1) << J[ri]):
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 1)
            cnt -= np.int64(1) << J[ri]
            if ri < 31:
                ri += 1
        if i > cols:
            if cnt > 0:
                op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 1)
            break
        jr = J[ri]
        op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, cnt, jr + 1)
        ix = np.int64(img[base + (i - 1) * stride])
        rb = np.int64(prev[i])
        ritype = 1 if abs(ra - rb) <= near else 0
        if ritype:
            px = ra
            sign = 1
        else:
            px = rb
            sign = -1 if ra > rb else 1
        e = _quantize(sign * (ix - px), near)
        rx = px + sign * e * step
        if rx < 0:
            rx = 0
        elif rx > maxval:
            rx = maxval
        cur[i] = rx
        if e < 0:
            e += rng
        if e >= half:
            e -= rng
        qi = _RI0 + ritype
        n = N[qi]
        t = A[qi] + ((n >> 1) if ritype else 0)
        k = 0
        while (n << k) < t:
            k += 1
        if k == 0 and e > 0 and 2 * Nn[qi] < n:
            flip = 1
        elif e < 0 and (2 * Nn[qi] >= n or k != 0):
            flip = 1
        else:
            flip = 0
        m = 2 * abs(e) - ritype - flip
        op, acc, nacc, lastff = _put_golomb(out, op, acc, nacc, lastff, m, k, limit - jr - 1, qbpp)
        if e < 0:
            Nn[qi] += 1
        A[qi] += (m + 1 - ritype) >> 1
        if n == reset:
            A[qi] >>= 1
            n >>= 1
            Nn[qi] >>= 1
        N[qi] = n + 1
        i += 1
        if ri > 0:
            ri -= 1
        if i <= cols:
            ra = np.int64(cur[i - 1])
            rb = np.int64(prev[i])
            rc = np.int64(prev[i - 1])
    ws[0], ws[1], ws[2], ws[3] = op, acc, nacc, 1 if lastff else 0
    return ri


@njit(cache=True, nogil=True)
def encode_lines(img, rows, cols, nf, comps, ncomp, near, maxval, t1, t2, t3, reset, restart, qt, out, op):
    """Encode one scan with no interleave (one component) or line interleave (ILV 1) of
    the samples ``img`` (flat, ``rows * cols * nf``, interleaved by pixel) into ``out``
    from byte ``op``, with ``RSTm`` every ``restart`` lines (0: none). Returns the end
    position."""
    rng = (maxval + 2 * near) // (2 * near + 1) + 1
    qbpp = 1
    while (1 << qbpp) < rng:
        qbpp += 1
    bpp = 2
    while (1 << bpp) < maxval + 1:
        bpp += 1
    limit = 2 * (bpp + max(8, bpp))
    A = np.empty(_NCTX, np.int64)
    B = np.empty(_NCTX, np.int64)
    C = np.empty(_NCTX, np.int64)
    N = np.empty(_NCTX, np.int64)
    Nn = np.empty(_NCTX, np.int64)
    _init_contexts(A, B, C, N, Nn, rng)
    lines = np.zeros((ncomp, 2, cols + 2), np.int32)
    runidx = np.zeros(ncomp, np.int64)
    ws = np.zeros(4, np.int64)
    ws[0] = op
    rst = 0
    for y in range(rows):
        if restart and y and y % restart == 0:
            op = _flush(out, ws[0], ws[1], ws[2], ws[3] != 0)
            out[op] = 0xFF
            out[op + 1] = 0xD0 + rst
            rst = (rst + 1) & 7
            ws[0] = op + 2
            ws[1] = 0
            ws[2] = 0
            ws[3] = 0
            _init_contexts(A, B, C, N, Nn, rng)
            lines[:] = 0
            runidx[:] = 0
        for c in range(ncomp):
            prev = lines[c, (y + 1) & 1]
            cur = lines[c, y & 1]
            runidx[c] = _encode_line(img, y * cols * nf + comps[c], nf, out, ws, prev, cur, cols, A, B, C, N, Nn,
                                     qt, near, maxval, rng, qbpp, limit, reset, runidx[c])
    return _flush(out, ws[0], ws[1], ws[2], ws[3] != 0)


@njit(cache=True, nogil=True)
def encode_samples(img, rows, cols, nf, comps, ncomp, near, maxval, t1, t2, t3, reset, restart, qt, out, op):
    """Encode one sample-interleaved scan (ILV 2); as :func:`encode_lines`."""
    rng = (maxval + 2 * near) // (2 * near + 1) + 1
    qbpp = 1
    while (1 << qbpp) < rng:
        qbpp += 1
    bpp = 2
    while (1 << bpp) < maxval + 1:
        bpp += 1
    limit = 2 * (bpp + max(8, bpp))
    step = 2 * near + 1
    half = (rng + 1) // 2
    A = np.empty(_NCTX, np.int64)
    B = np.empty(_NCTX, np.int64)
    C = np.empty(_NCTX, np.int64)
    N = np.empty(_NCTX, np.int64)
    Nn = np.empty(_NCTX, np.int64)
    _init_contexts(A, B, C, N, Nn, rng)
    lines = np.zeros((2, cols + 2, ncomp), np.int64)
    qs = np.zeros(ncomp, np.int64)
    ras = np.zeros(ncomp, np.int64)
    acc = np.int64(0)
    nacc = np.int64(0)
    lastff = False
    ri = 0
    rst = 0
    for y in range(rows):
        if restart and y and y % restart == 0:
            op = _flush(out, op, acc, nacc, lastff)
            out[op] = 0xFF
            out[op + 1] = 0xD0 + rst
            rst = (rst + 1) & 7
            op += 2
            acc = 0
            nacc = 0
            lastff = False
            _init_contexts(A, B, C, N, Nn, rng)
            lines[:] = 0
            ri = 0
        prev = lines[(y + 1) & 1]
        cur = lines[y & 1]
        for c in range(ncomp):
            cur[0, c] = prev[1, c]
            prev[cols + 1, c] = prev[cols, c]
        row = y * cols * nf
        i = 1
        while i <= cols:
            run = True
            for c in range(ncomp):
                ra = cur[i - 1, c]
                rb = prev[i, c]
                rc = prev[i - 1, c]
                rd = prev[i + 1, c]
                q = 81 * qt[rd - rb + maxval] + 9 * qt[rb - rc + maxval] + qt[rc - ra + maxval]
                qs[c] = q
                ras[c] = ra
                if q != 0:
                    run = False
            if not run:
                for c in range(ncomp):
                    ix = np.int64(img[row + (i - 1) * nf + comps[c]])
                    ra = cur[i - 1, c]
                    rb = prev[i, c]
                    rc = prev[i - 1, c]
                    q = qs[c]
                    sign = 1
                    if q < 0:
                        q = -q
                        sign = -1
                    px = max(min(ra, rb), min(max(ra, rb), ra + rb - rc))
                    px += sign * C[q]
                    if px < 0:
                        px = 0
                    elif px > maxval:
                        px = maxval
                    e = _quantize(sign * (ix - px), near)
                    rx = px + sign * e * step
                    if rx < 0:
                        rx = 0
                    elif rx > maxval:
                        rx = maxval
                    cur[i, c] = rx
                    if e < 0:
                        e += rng
                    if e >= half:
                        e -= rng
                    a = A[q]
                    n = N[q]
                    k = 0
                    while (n << k) < a:
                        k += 1
                    b = B[q]
                    if near == 0 and k == 0 and 2 * b <= -n:
                        m = 2 * e + 1 if e >= 0 else -2 * (e + 1)
                    else:
                        m = 2 * e if e >= 0 else -2 * e - 1
                    op, acc, nacc, lastff = _put_golomb(out, op, acc, nacc, lastff, m, k, limit, qbpp)
                    b += e * step
                    A[q] = a + abs(e)
                    if n == reset:
                        A[q] >>= 1
                        b >>= 1
                        n >>= 1
                    n += 1
                    N[q] = n
                    if b <= -n:
                        b += n
                        if C[q] > -128:
                            C[q] -= 1
                        if b <= -n:
                            b = -n + 1
                    elif b > 0:
                        b -= n
                        if C[q] < 127:
                            C[q] += 1
                        if b > 0:
                            b = 0
                    B[q] = b
                i += 1
                continue
            # run mode
            cnt = 0
            while i <= cols:
                same = True
                for c in range(ncomp):
                    if abs(np.int64(img[row + (i - 1) * nf + comps[c]]) - ras[c]) > near:
                        same = False
                        break
                if not same:
                    break
                for c in range(ncomp):
                    cur[i, c] = ras[c]
                cnt += 1
                i += 1
            while cnt >= (np.int64(1) << J[ri]):
                op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 1)
                cnt -= np.int64(1) << J[ri]
                if ri < 31:
                    ri += 1
            if i > cols:
                if cnt > 0:
                    op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, 1, 1)
                break
            jr = J[ri]
            op, acc, nacc, lastff = _put(out, op, acc, nacc, lastff, cnt, jr + 1)
            for c in range(ncomp):
                ix = np.int64(img[row + (i - 1) * nf + comps[c]])
                ra = ras[c]
                rb = prev[i, c]
                px = rb
                sign = -1 if ra > rb else 1
                e = _quantize(sign * (ix - px), near)
                rx = px + sign * e * step
                if rx < 0:
                    rx = 0
                elif rx > maxval:
                    rx = maxval
                cur[i, c] = rx
                if e < 0:
                    e += rng
                if e >= half:
                    e -= rng
                n = N[_RI0]
                t = A[_RI0]
                k = 0
                while (n << k) < t:
                    k += 1
                if k == 0 and e > 0 and 2 * Nn[_RI0] < n:
                    flip = 1
                elif e < 0 and (2 * Nn[_RI0] >= n or k != 0):
                    flip = 1
                else:
                    flip = 0
                m = 2 * abs(e) - flip
                op, acc, nacc, lastff = _put_golomb(out, op, acc, nacc, lastff, m, k, limit - jr - 1, qbpp)
                if e < 0:
                    Nn[_RI0] += 1
                A[_RI0] += (m + 1) >> 1
                if n == reset:
                    A[_RI0] >>= 1
                    n >>= 1
                    Nn[_RI0] >>= 1
                N[_RI0] = n + 1
            i += 1
            if ri > 0:
                ri -= 1
    return _flush(out, op, acc, nacc, lastff)
