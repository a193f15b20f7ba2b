"""numba kernel of :mod:`pacsnb.cohort.table`: the headers of many files in one call.

:func:`scan_files` takes the leading bytes of a chunk of files laid end to end in one
``uint8`` buffer and, file by file, finds the File Meta Information, decides the data set's
encoding from the Transfer Syntax UID, and runs the element scanner of
:mod:`pacsnb.io._kernels` over the data set up to Pixel Data. It records the top-level
elements the caller wants (or all of them) in one table, so that Python only slices the
values it decodes and pays the cost of a numba call once per chunk, not once per file.

Anything out of the ordinary (no ``DICM`` prefix, meta not in explicit VR little endian,
a deflated or unknown-encoding data set, a first element that does not match the transfer
syntax, a scanner error, a header longer than the bytes read) gives the file status
:data:`FALLBACK`: the caller reads that file with :func:`pacsnb.read`, which knows every
tolerated oddity and gives the precise error for broken files. The kernel never reads
outside a file's own bytes.

Output table ``elems`` (int64, one row per element kept): ``[file, tag, vr, offset,
length, kind]`` with the columns of the io scanner's table (``vr`` 0 in implicit VR,
``kind`` holding the implicit/big-endian bits); ``sel[f, j]`` is the row of wanted tag
``j`` in file ``f`` (-1 when absent), filled when ``want`` is not empty.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from pacsnb.io import _kernels as K

OK, FALLBACK = 0, 1
#: The tag that stops the scan (Pixel Data): everything after it is never looked at.
PIXEL_DATA = 0x7FE00010
#: Encodings of the data set, decided from the transfer syntax.
ENC_EXPLICIT_LE, ENC_IMPLICIT_LE, ENC_EXPLICIT_BE, ENC_OTHER = 0, 1, 2, 3

_IMPLICIT = np.frombuffer(b"1.2.840.10008.1.2", np.uint8).copy()
_BIG = np.frombuffer(b"1.2.840.10008.1.2.2", np.uint8).copy()


@njit(cache=True, nogil=True)
def _same(buf, off, n, ref):
    if n != ref.shape[0]:
        return False
    for i in range(n):
        if buf[off + i] != ref[i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _encoding(buf, off, length, special, special_len):
    """The encoding of the data set for the Transfer Syntax UID at ``buf[off:off+length]``."""
    n = length
    while n > 0 and (buf[off + n - 1] == 0 or buf[off + n - 1] == 32):
        n -= 1
    s = 0
    while s < n and buf[off + s] == 32:
        s += 1
    if _same(buf, off + s, n - s, _IMPLICIT):
        return ENC_IMPLICIT_LE
    if _same(buf, off + s, n - s, _BIG):
        return ENC_EXPLICIT_BE
    for k in range(special.shape[0]):
        m = special_len[k]
        if m == n - s:
            eq = True
            for i in range(m):
                if buf[off + s + i] != special[k, i]:
                    eq = False
                    break
            if eq:
                return ENC_OTHER
    if n - s == 0:
        return ENC_OTHER
    return ENC_EXPLICIT_LE


@njit(cache=True, nogil=True)
def _find(want, tag):
    lo = 0
    hi = want.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if want[mid] < tag:
            lo = mid + 1
        else:
            hi = mid
    if lo < want.shape[0] and want[lo] == tag:
        return lo
    return -1


@njit(cache=True, nogil=True)
def scan_files(buf, starts, ends, whole, want, all_mode, special, special_len, max_depth):
    """Scan the headers of the files ``buf[starts[f]:ends[f]]``.

    Parameters
    ----------
    buf : uint8 array
        The leading bytes of every file of the chunk, end to end.
    starts, ends : int64 arrays
        Where each file's bytes are in ``buf``.
    whole : bool array
        Whether the bytes are the whole file (else a header read may need more).
    want : int64 array
        The wanted tags, sorted (may be empty when ``all_mode``).
    all_mode : bool
        Keep every top-level element (else only the wanted ones).
    special : uint8 2-D array, special_len : int64 array
        Transfer syntax UIDs whose data set is neither explicit VR little endian, implicit
        VR little endian nor explicit VR big endian (deflated ones): such files fall back.
    max_depth : int
        Nesting limit of sequences, as for the reader.

    Returns
    -------
    elems : int64 array (m, 6)
        ``[file, tag, vr, offset, length, kind]`` per kept element, offsets into ``buf``.
    sel : int64 array (n_files, len(want))
        Row of each wanted tag in ``elems``, -1 if absent.
    status : int64 array (n_files,)
        :data:`OK` or :data:`FALLBACK`.
    encoding : int64 array (n_files,)
        The data set encoding (``ENC_*``).
    stops : int64 array (n_files,)
        Where the scan of each file's data set stopped, from the start of the file: the
        offset of its Pixel Data element when it has one (-1 for files that fall back).
    """
    nf = starts.shape[0]
    nw = want.shape[0]
    cap_e = max(64, nf * (nw + 2) if not all_mode else nf * 96)
    elems = np.empty((cap_e, 6), np.int64)
    m = 0
    sel = np.full((nf, nw), -1, np.int64)
    status = np.zeros(nf, np.int64)
    encoding = np.zeros(nf, np.int64)
    stops = np.full(nf, -1, np.int64)
    cap = 256
    tab = np.empty((cap, 8), np.int64)
    top = np.empty((cap, 2), np.int64)
    warn = np.zeros(6, np.int64)
    for f in range(nf):
        s = starts[f]
        e = ends[f]
        pos = s
        if e - s >= 132 and buf[s + 128] == 68 and buf[s + 129] == 73 and buf[s + 130] == 67 and buf[s + 131] == 77:
            pos = s + 132
        elif e - s >= 4 and buf[s] == 68 and buf[s + 1] == 73 and buf[s + 2] == 67 and buf[s + 3] == 77:
            pos = s + 4
        else:
            status[f] = FALLBACK
            continue
        if pos + 8 > e or buf[pos] != 2 or buf[pos + 1] != 0 or not K._is_known_vr(buf[pos + 4], buf[pos + 5]):
            status[f] = FALLBACK
            continue
        m0 = m
        # -- File Meta Information (explicit VR little endian) --
        n, st, _ep, _et, _sp, ntop = K.scan(buf, pos, e, False, True, 0x00030000, 0x00020000, 0, max_depth,
                                            warn, tab, top)
        if st != 0 or ntop == 0:
            status[f] = FALLBACK
            continue
        ts_row = -1
        meta_end = pos
        for i in range(ntop):
            r = top[i, 1]
            if tab[r, 4] > meta_end:
                meta_end = tab[r, 4]
            if top[i, 0] == 0x00020010:
                ts_row = r
        if ts_row < 0 or tab[ts_row, 2] < 0:
            status[f] = FALLBACK
            continue
        enc = _encoding(buf, tab[ts_row, 3], tab[ts_row, 2], special, special_len)
        if enc == ENC_OTHER:
            status[f] = FALLBACK
            continue
        encoding[f] = enc
        # meta rows the caller wants
        for i in range(ntop):
            r = top[i, 1]
            t = tab[r, 0]
            j = _find(want, t) if nw else -1
            if j >= 0 or all_mode:
                if m >= elems.shape[0]:
                    bigger = np.empty((elems.shape[0] * 2, 6), np.int64)
                    bigger[:m] = elems[:m]
                    elems = bigger
                elems[m, 0] = f
                elems[m, 1] = t
                elems[m, 2] = tab[r, 1]
                elems[m, 3] = tab[r, 3]
                elems[m, 4] = tab[r, 2]
                elems[m, 5] = tab[r, 7]
                if j >= 0:
                    sel[f, j] = m
                m += 1
        # -- the data set --
        pos = meta_end
        implicit = enc == ENC_IMPLICIT_LE
        little = enc != ENC_EXPLICIT_BE
        if pos + 8 <= e:
            looks_explicit = K._is_known_vr(buf[pos + 4], buf[pos + 5])
            if looks_explicit == implicit:
                status[f] = FALLBACK  # the meta's transfer syntax is wrong: the reader says so
                m = m0
                sel[f, :] = -1
                continue
        st = 4
        n = 0
        ntop = 0
        stop_pos = 0
        while True:
            n, st, _ep, _et, stop_pos, ntop = K.scan(buf, pos, e, implicit, little, PIXEL_DATA, 0, 0, max_depth,
                                                     warn, tab, top)
            if st != 4:
                break
            cap = cap * 4
            tab = np.empty((cap, 8), np.int64)
            top = np.empty((cap, 2), np.int64)
        if st != 0 or (not whole[f] and stop_pos >= e):
            status[f] = FALLBACK
            m = m0
            sel[f, :] = -1
            continue
        stops[f] = stop_pos - s
        for i in range(ntop):
            r = top[i, 1]
            t = tab[r, 0]
            j = _find(want, t) if nw else -1
            if j >= 0 or all_mode:
                if m >= elems.shape[0]:
                    bigger = np.empty((elems.shape[0] * 2, 6), np.int64)
                    bigger[:m] = elems[:m]
                    elems = bigger
                elems[m, 0] = f
                elems[m, 1] = t
                elems[m, 2] = tab[r, 1]
                elems[m, 3] = tab[r, 3]
                elems[m, 4] = tab[r, 2]
                elems[m, 5] = tab[r, 7]
                if j >= 0:
                    sel[f, j] = m  # a repeated tag: the last one is kept, as the reader does
                m += 1
    return elems[:m], sel, status, encoding, stops


@njit(cache=True, nogil=True)
def _same_value(buf, elems, a, b):
    la = elems[a, 4]
    if la != elems[b, 4] or elems[a, 2] != elems[b, 2] or elems[a, 5] != elems[b, 5]:
        return False
    oa = elems[a, 3]
    ob = elems[b, 3]
    for i in range(la):
        if buf[oa + i] != buf[ob + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _hash_value(buf, elems, r):
    h = np.uint64(14695981039346656037)
    prime = np.uint64(1099511628211)
    h = (h ^ np.uint64(elems[r, 2] & 0xFFFF)) * prime
    h = (h ^ np.uint64(elems[r, 5] & 0xFF)) * prime
    off = elems[r, 3]
    for i in range(max(elems[r, 4], 0)):
        h = (h ^ np.uint64(buf[off + i])) * prime
    return h


@njit(cache=True, nogil=True)
def group_values(buf, elems, sel, rows, ctx_cols):
    """Group equal values, exactly: ``rep[p, j]`` is the first position ``q <= p`` whose
    value of wanted tag ``j`` has the same bytes, VR, byte order and context (the values of
    the ``ctx_cols`` tags: Specific Character Set, Pixel Representation) as position ``p``'s,
    -1 when the element is absent. ``rows`` are the files to group (positions ``p``).

    Only one value per group needs decoding: files of a series share most of their values.
    """
    n = rows.shape[0]
    nw = sel.shape[1]
    rep = np.full((n, nw), -1, np.int64)
    size = 1
    while size < 2 * n + 2:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.empty(size, np.int64)
    hashes = np.empty(n, np.uint64)
    # the context of each position: the representative of its context values
    ctx = np.zeros(n, np.uint64)
    for c in range(ctx_cols.shape[0]):
        j = ctx_cols[c]
        table[:] = -1
        for p in range(n):
            r = sel[rows[p], j]
            if r < 0:
                rep[p, j] = -1
                ctx[p] = ctx[p] * np.uint64(1000003) + np.uint64(1)
                continue
            h = _hash_value(buf, elems, r)
            k = h & mask
            while True:
                q = table[k]
                if q < 0:
                    table[k] = p
                    rep[p, j] = p
                    hashes[p] = h
                    break
                if hashes[q] == h and _same_value(buf, elems, sel[rows[q], j], r):
                    rep[p, j] = q
                    break
                k = (k + np.uint64(1)) & mask
            ctx[p] = ctx[p] * np.uint64(1000003) + np.uint64(rep[p, j] + 2)
    for j in range(nw):
        is_ctx = False
        for c in range(ctx_cols.shape[0]):
            if ctx_cols[c] == j:
                is_ctx = True
        if is_ctx:
            continue
        table[:] = -1
        for p in range(n):
            r = sel[rows[p], j]
            if r < 0:
                continue
            h = _hash_value(buf, elems, r) ^ ctx[p]
            k = h & mask
            while True:
                q = table[k]
                if q < 0:
                    table[k] = p
                    rep[p, j] = p
                    hashes[p] = h
                    break
                if hashes[q] == h and ctx[q] == ctx[p] and _same_value(buf, elems, sel[rows[q], j], r):
                    rep[p, j] = q
                    break
                k = (k + np.uint64(1)) & mask
    return rep
