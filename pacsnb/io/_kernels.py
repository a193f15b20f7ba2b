"""numba kernels of the io layer: the element scanner.

:func:`scan` walks a byte buffer holding an encoded data set and fills a flat table of
rows, one per element, item or encapsulated fragment, nested ones included, so that the
reader can build a lazy :class:`~pacsnb.dicom.dataset.Dataset` without touching values.

The table ``tab`` is an int64 array of shape ``(cap, 8)``; its columns (see ``COL_*``):

- 0 ``tag``: the element tag (items: FFFE,E000)
- 1 ``vr``: the two VR bytes as ``b0 << 8 | b1`` (0 in implicit VR)
- 2 ``length``: the value length, -1 when undefined
- 3 ``offset``: byte offset of the value (just after the header)
- 4 ``end``: byte offset just after the whole element, its delimiter included
- 5 ``next``: the row after this row's subtree (rows of nested items follow their parent)
- 6 ``depth``: nesting depth (0 = top level; items of a top-level sequence have 1, their
  elements 2, ...)
- 7 ``kind``: bits 0-1 the kind (0 element, 1 item, 2 fragment), bit 4 the value is in
  implicit VR, bit 5 big endian

Scanning stops before the first top-level element whose tag is ``>= stop_tag`` or
``< min_tag`` (``min_tag``/``stop_tag`` 0x00020000/0x00030000 read the file meta group only).

``warn`` (int64[6]) reports tolerated defects: ``[0]``/``[1]`` items longer than their
sequence (count, first offset), ``[2]``/``[3]`` trailing NUL bytes after the last element
(count, offset), ``[4]``/``[5]`` values of odd length (count, first offset).

``top`` (int64, shape ``(cap, 2)``) receives ``[tag, row]`` of each top-level element, so
that ``dict(top[:ntop].tolist())`` maps tags to rows.

The kernel returns ``(n_rows, status, err_pos, err_tag, stop_pos, ntop)``; status 0 means the data
set ended (or reached ``stop_tag``) cleanly, 4 means the arrays are full (call again with
more room); the other codes are in :data:`STATUS_MESSAGES`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ELEMENT, ITEM_ROW, FRAGMENT = 0, 1, 2
COL_TAG, COL_VR, COL_LENGTH, COL_OFFSET, COL_END, COL_NEXT, COL_DEPTH, COL_KIND = range(8)
IMPLICIT_BIT, BIG_BIT = 16, 32

# container kinds on the stack
_DATASET, _SEQUENCE, _ENCAPS = 0, 1, 2

STATUS_MESSAGES = {
    1: "the data ends inside an element header (file truncated?)",
    2: "the element's value length runs past the end of the data or of its enclosing item or sequence",
    3: "sequences are nested deeper than the limit (a hostile or corrupt file?)",
    5: "expected an item tag (FFFE,E000) or a sequence delimiter inside a sequence",
    6: "unknown or invalid VR in explicit VR data (wrong transfer syntax, or corrupt data)",
    7: "an encapsulated pixel data fragment has undefined length",
    8: "a delimitation item appears where none is open",
    9: "the data ends inside a sequence or item of undefined length (file truncated?)",
    10: "an item of defined length runs past the end of its sequence",
}


@njit(cache=True, nogil=True, inline="always")
def _u16(buf, p, little):
    if little:
        return np.uint32(buf[p]) | (np.uint32(buf[p + 1]) << np.uint32(8))
    return (np.uint32(buf[p]) << np.uint32(8)) | np.uint32(buf[p + 1])


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, p, little):
    if little:
        return (np.uint32(buf[p]) | (np.uint32(buf[p + 1]) << np.uint32(8))
                | (np.uint32(buf[p + 2]) << np.uint32(16)) | (np.uint32(buf[p + 3]) << np.uint32(24)))
    return ((np.uint32(buf[p]) << np.uint32(24)) | (np.uint32(buf[p + 1]) << np.uint32(16))
            | (np.uint32(buf[p + 2]) << np.uint32(8)) | np.uint32(buf[p + 3]))


@njit(cache=True, nogil=True)
def _is_known_vr(a, b):
    # AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV
    if a == 65:  # A
        return b == 69 or b == 83 or b == 84
    if a == 67:  # C
        return b == 83
    if a == 68:  # D
        return b == 65 or b == 83 or b == 84
    if a == 70:  # F
        return b == 68 or b == 76
    if a == 73:  # I
        return b == 83
    if a == 76:  # L
        return b == 79 or b == 84
    if a == 79:  # O
        return b == 66 or b == 68 or b == 70 or b == 76 or b == 86 or b == 87
    if a == 80:  # P
        return b == 78
    if a == 83:  # S
        return b == 72 or b == 76 or b == 81 or b == 83 or b == 84 or b == 86
    if a == 84:  # T
        return b == 77
    if a == 85:  # U
        return b == 67 or b == 73 or b == 76 or b == 78 or b == 82 or b == 83 or b == 84 or b == 86
    return False


@njit(cache=True, nogil=True, inline="always")
def _is_long_vr(a, b):
    # OB OD OF OL OV OW SQ UC UN UR UT SV UV
    if a == 79:  # 'O'
        return b == 66 or b == 68 or b == 70 or b == 76 or b == 86 or b == 87
    if a == 85:  # 'U'
        return b == 67 or b == 78 or b == 82 or b == 84 or b == 86
    if a == 83:  # 'S'
        return b == 81 or b == 86
    return False


@njit(cache=True, nogil=True)
def scan(buf, start, end, implicit, little, stop_tag, min_tag, root_kind, max_depth, warn, tab, top):
    """Scan the data set in ``buf[start:end]`` into the row table ``tab`` (see the module docstring).

    Returns ``(n_rows, status, err_pos, err_tag, stop_pos, ntop)``; fills ``tab``, ``top``
    and ``warn`` in place.
    """
    cap = tab.shape[0]
    ntop = 0
    st_kind = np.empty(max_depth + 2, np.int8)
    st_end = np.empty(max_depth + 2, np.int64)      # -1: undefined length
    st_row = np.empty(max_depth + 2, np.int64)      # the row that opened the container (-1 root)
    st_impl = np.empty(max_depth + 2, np.bool_)
    st_little = np.empty(max_depth + 2, np.bool_)
    st_lim = np.empty(max_depth + 2, np.int64)      # innermost defined end (the buffer end at worst)
    sp = 0
    st_lim[0] = end
    st_kind[0] = root_kind
    st_end[0] = end
    st_row[0] = -1
    st_impl[0] = implicit
    st_little[0] = little
    pos = start
    n = 0
    while True:
        kind = st_kind[sp]
        cend = st_end[sp]
        lim = st_lim[sp]
        if cend >= 0 and pos >= cend:
            if pos > cend:
                return n, 2, pos, np.int64(0), pos, ntop
            if sp == 0:
                return n, 0, pos, np.int64(0), pos, ntop
            r = st_row[sp]
            tab[r, 5] = n
            tab[r, 4] = pos
            sp -= 1
            continue
        if cend < 0 and pos >= lim:
            if sp == 0:
                return n, 0, pos, np.int64(0), pos, ntop
            return n, 9, pos, np.int64(0), pos, ntop
        if pos + 8 > lim:
            if sp == 0 and root_kind == _DATASET and cend >= 0 and end - pos < 8 and \
                    buf[pos:end].sum() == 0:
                # trailing NUL padding after the last element: tolerated, reported
                warn[2] = end - pos
                warn[3] = pos
                return n, 0, end, np.int64(0), end, ntop
            return n, 1, pos, np.int64(0), pos, ntop
        lt = st_little[sp]
        imp = st_impl[sp]
        grp = _u16(buf, pos, lt)
        ele = _u16(buf, pos + 2, lt)
        tag = (grp << np.uint32(16)) | ele
        if kind == _DATASET:
            if tag == np.uint32(0xFFFEE00D):
                if sp > 0 and cend < 0:
                    r = st_row[sp]
                    pos += 8
                    tab[r, 5] = n
                    tab[r, 4] = pos
                    sp -= 1
                    continue
                return n, 8, pos, np.int64(tag), pos, ntop
            if tag == np.uint32(0xFFFEE0DD):
                return n, 8, pos, np.int64(tag), pos, ntop
            if sp == 0 and (tag >= np.uint32(stop_tag) or tag < np.uint32(min_tag)):
                return n, 0, pos, np.int64(0), pos, ntop
            vr0 = 0
            vr1 = 0
            if imp:
                length = np.int64(_u32(buf, pos + 4, lt))
                hdr = 8
            else:
                vr0 = buf[pos + 4]
                vr1 = buf[pos + 5]
                if not _is_known_vr(vr0, vr1):
                    return n, 6, pos, np.int64(tag), pos, ntop
                if _is_long_vr(vr0, vr1):
                    if pos + 12 > lim:
                        return n, 1, pos, np.int64(tag), pos, ntop
                    length = np.int64(_u32(buf, pos + 8, lt))
                    hdr = 12
                else:
                    length = np.int64(_u16(buf, pos + 6, lt))
                    hdr = 8
            if n >= cap:
                return n, 4, pos, np.int64(tag), pos, ntop
            vpos = pos + hdr
            undefined = length == 0xFFFFFFFF
            flags = np.uint8(0)
            if imp:
                flags |= np.uint8(IMPLICIT_BIT)
            if not lt:
                flags |= np.uint8(BIG_BIT)
            tab[n, 0] = tag
            tab[n, 1] = (vr0 << 8) | vr1
            tab[n, 2] = -1 if undefined else length
            tab[n, 3] = vpos
            tab[n, 6] = sp
            tab[n, 7] = flags | np.uint8(ELEMENT)
            if sp == 0:
                top[ntop, 0] = tag
                top[ntop, 1] = n
                ntop += 1
            is_sq = vr0 == 83 and vr1 == 81
            if undefined or is_sq:
                if sp + 1 > max_depth:
                    return n, 3, pos, np.int64(tag), pos, ntop
                if not undefined and vpos + length > lim:
                    return n, 2, pos, np.int64(tag), pos, ntop
                sp += 1
                st_row[sp] = n
                st_end[sp] = -1 if undefined else vpos + length
                st_lim[sp] = st_lim[sp - 1] if undefined else vpos + length
                if undefined and tag == np.uint32(0x7FE00010):
                    st_kind[sp] = _ENCAPS
                    st_impl[sp] = imp
                    st_little[sp] = lt
                elif undefined and vr0 == 85 and vr1 == 78:
                    # UN of undefined length: a sequence in implicit VR little endian (PS3.5 6.2.2)
                    st_kind[sp] = _SEQUENCE
                    st_impl[sp] = True
                    st_little[sp] = True
                else:
                    st_kind[sp] = _SEQUENCE
                    st_impl[sp] = imp
                    st_little[sp] = lt
                n += 1
                pos = vpos
                continue
            if vpos + length > lim:
                return n, 2, pos, np.int64(tag), pos, ntop
            if length & 1:
                if warn[4] == 0:
                    warn[5] = pos
                warn[4] += 1
            tab[n, 5] = n + 1
            tab[n, 4] = vpos + length
            n += 1
            pos = vpos + length
        else:
            # inside a sequence or encapsulated pixel data: items and the delimiter only
            if tag == np.uint32(0xFFFEE0DD):
                if cend >= 0:
                    return n, 8, pos, np.int64(tag), pos, ntop
                r = st_row[sp]
                pos += 8
                tab[r, 5] = n
                tab[r, 4] = pos
                sp -= 1
                continue
            if tag != np.uint32(0xFFFEE000):
                return n, 5, pos, np.int64(tag), pos, ntop
            length = np.int64(_u32(buf, pos + 4, lt))
            if n >= cap:
                return n, 4, pos, np.int64(tag), pos, ntop
            vpos = pos + 8
            undefined = length == 0xFFFFFFFF
            flags = np.uint8(0)
            if imp:
                flags |= np.uint8(IMPLICIT_BIT)
            if not lt:
                flags |= np.uint8(BIG_BIT)
            tab[n, 0] = tag
            tab[n, 1] = 0
            tab[n, 2] = -1 if undefined else length
            tab[n, 3] = vpos
            tab[n, 6] = sp
            if kind == _ENCAPS:
                if undefined:
                    return n, 7, pos, np.int64(tag), pos, ntop
                if vpos + length > lim:
                    return n, 2, pos, np.int64(tag), pos, ntop
                tab[n, 7] = flags | np.uint8(FRAGMENT)
                tab[n, 5] = n + 1
                tab[n, 4] = vpos + length
                n += 1
                pos = vpos + length
                continue
            tab[n, 7] = flags | np.uint8(ITEM_ROW)
            if not undefined and vpos + length > lim:
                # an item longer than its (defined-length) sequence: tolerate it when the
                # enclosing data still holds it (real files have wrong sequence lengths)
                plim = st_lim[sp - 1] if sp > 0 else end
                if cend < 0 or vpos + length > plim:
                    return n, 10, pos, np.int64(tag), pos, ntop
                st_end[sp] = vpos + length
                st_lim[sp] = vpos + length
                if warn[0] == 0:
                    warn[1] = pos
                warn[0] += 1
            if sp + 1 > max_depth:
                return n, 3, pos, np.int64(tag), pos, ntop
            sp += 1
            st_row[sp] = n
            st_end[sp] = -1 if undefined else vpos + length
            st_lim[sp] = st_lim[sp - 1] if undefined else vpos + length
            st_kind[sp] = _DATASET
            st_impl[sp] = imp
            st_little[sp] = lt
            n += 1
            pos = vpos
    return n, 0, pos, np.int64(0), pos, ntop  # not reached
