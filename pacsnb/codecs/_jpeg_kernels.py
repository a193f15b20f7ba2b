"""numba kernels of JPEG Lossless (ITU-T T.81 Annex H, Huffman coded): one scan at a time.

The marker segments (SOF3, DHT, DRI, SOS) are parsed in Python by
:mod:`pacsnb.codecs.jpeg_lossless`; these kernels do the entropy-coded part.

Decoding (:func:`decode_scan`) reads the bits of one scan and writes the reconstructed
samples straight into the frame, row by row, the predictor in the same loop (H.1.2.1):

- the first sample of the scan and of each restart interval is predicted by
  ``2 ** (P - Pt - 1)``; the rest of that line by ``Ra`` (the sample to the left);
- the first sample of every other line by ``Rb`` (the sample above);
- every other sample by the predictor the scan selects (Table H.1): ``1`` Ra, ``2`` Rb,
  ``3`` Rc, ``4`` Ra + Rb - Rc, ``5`` Ra + ((Rb - Rc) >> 1), ``6`` Rb + ((Ra - Rc) >> 1),
  ``7`` (Ra + Rb) >> 1;
- sample = (prediction + difference) modulo 2 ** 16 (H.1.2.2).

A difference is a Huffman code giving its magnitude category SSSS (0 .. 16) followed by
SSSS extra bits (F.1.2.1 and H.1.2.2; SSSS 16 means 32768 and has no extra bits). The
Huffman tables are looked up :data:`LOOKAHEAD` bits at a time (:func:`build_decode_table`):
an entry gives either the whole difference (code and extra bits together fit in the
lookahead) or the code's length and SSSS; codes longer than the lookahead take the slow
path of F.2.2.3 (``maxcode``/``valptr``). The bit reader keeps up to 64 bits in an integer,
removes the 0x00 stuffed after every 0xFF data byte, and stops at a marker; past a marker
or the end of the data it feeds zero bits and counts them, so a truncated scan is found at
the end of the row where it ran out, without reading outside the source. Every restart
interval (DRI) ends with ``RSTm`` (m = 0 .. 7 in turn), which the kernel checks.

Encoding (:func:`predict_diffs`, :func:`encode_diffs`) does the same backwards: differences
and their SSSS histogram in one pass, then the Huffman codes and extra bits with 0xFF
stuffing, restart markers and 1-bit padding.

Kernels never raise: they report problems through ``status`` (:data:`DECODE_STATUS`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["LOOKAHEAD", "build_decode_table", "decode_scan", "predict_diffs", "encode_diffs", "scale_samples",
           "DECODE_STATUS"]

#: Bits looked at once when decoding a Huffman code (the fast table has 2 ** LOOKAHEAD entries).
LOOKAHEAD = 12
_LMASK = (1 << LOOKAHEAD) - 1
_WHOLE = 32      # a fast-table entry holding the whole difference
_NBITS = np.array([int(i).bit_length() for i in range(256)], np.int64)  # bit length of a byte
_LEN_MASK = 31

# status[0] codes; status[1] = row, [2] = column, [3] = byte offset, [4] = the marker found (-1: the end),
# [5] = the number m of the RSTm expected
OK = 0
OUT_OF_DATA = 1      # the entropy-coded data ended (marker or end of the codestream) inside a row
BAD_CODE = 2         # a bit pattern that is no code of the Huffman table
RST_MISSING = 3      # a restart interval ended, and the next marker is not RSTm (or there is none)
RST_WRONG = 4        # RSTn where RSTm was due
BAD_BUFFERS = 20     # the caller's arrays do not fit (a bug, never the data's fault)

#: What each status means; the caller fills in ``row``, ``col``, ``pos``, ``marker`` (the
#: marker found, as text) and ``m`` (the restart marker number expected).
DECODE_STATUS = {
    OUT_OF_DATA: ("the entropy-coded data ends at byte {pos} ({marker}) before row {row} is complete "
                  "(truncated or corrupt)"),
    BAD_CODE: "invalid Huffman code near byte {pos}, at row {row}, column {col} (corrupt data)",
    RST_MISSING: ("a restart interval ends before row {row}, column {col}, but the marker at byte {pos} is "
                  "{marker}, not RST{m} (corrupt data, or a wrong restart interval)"),
    RST_WRONG: "found {marker} at byte {pos} where RST{m} was due (row {row}, column {col}): corrupt data",
    BAD_BUFFERS: "internal error: the output buffer does not fit the frame",
}


@njit(cache=True, nogil=True)
def build_decode_table(bits, huffval, fast, maxcode, valptr):
    """Build the decoding tables of one Huffman table (C.2 and F.2.2.3).

    ``bits[1..16]`` are the number of codes of each length and ``huffval`` the values in
    order of increasing code length (DHT). Fills ``fast`` (``2 ** LOOKAHEAD`` int32),
    ``maxcode`` (18 int64: the largest code of each length, -1 for none, and a sentinel at
    17) and ``valptr`` (17 int64: index in ``huffval`` of a length's first code, minus that
    code). Returns 0, or -1 when the code lengths overflow (more codes than bits allow).
    """
    for i in range(fast.shape[0]):
        fast[i] = 0
    code = 0
    k = 0
    for length in range(1, 17):
        n = bits[length]
        valptr[length] = k - code
        if n == 0:
            maxcode[length] = -1
        else:
            if code + n > (1 << length):
                return -1
            for j in range(n):
                s = np.int64(huffval[k + j])
                c = code + j
                if length <= LOOKAHEAD:
                    extra = s if s < 16 else 0
                    if length + extra <= LOOKAHEAD:
                        # the whole difference: one entry per value of the extra bits
                        for v in range(1 << extra):
                            if extra == 0:
                                diff = 32768 if s == 16 else 0
                            elif v >> (extra - 1):
                                diff = v
                            else:
                                diff = v - (1 << extra) + 1
                            total = length + extra
                            base = ((c << extra) | v) << (LOOKAHEAD - total)
                            entry = ((diff + 32768) << 6) | _WHOLE | total
                            for f in range(1 << (LOOKAHEAD - total)):
                                fast[base + f] = entry
                    else:
                        base = c << (LOOKAHEAD - length)
                        entry = (s << 6) | length
                        for f in range(1 << (LOOKAHEAD - length)):
                            fast[base + f] = entry
            k += n
            maxcode[length] = code + n - 1
            code += n
        code <<= 1
    maxcode[17] = np.int64(1) << 40   # sentinel: ends the slow search
    return 0


@njit(cache=True, nogil=True)
def _find_marker(src, pos):
    """The offset of the next marker (0xFF then a byte other than 0x00 and 0xFF) at or after
    ``pos``, skipping stuffed bytes; ``len(src)`` when there is none."""
    end = src.shape[0]
    while pos < end:
        if src[pos] == 0xFF:
            if pos + 1 >= end:
                return end
            m = src[pos + 1]
            if m == 0:
                pos += 2
                continue
            if m != 0xFF:
                return pos
        pos += 1
    return end


@njit(cache=True, nogil=True)
def decode_scan(src, start, out, rows, cols, nf, ns, comps, tsel, fast, maxcode, valptr, huffval, psv,
                initial, restart_interval, status):
    """Decode one scan (its entropy-coded data starts at ``src[start]``) into ``out``.

    ``out`` is the frame as uint16, ``rows x cols x nf`` samples interleaved; the scan
    codes the ``ns`` components ``comps[:ns]`` with the Huffman tables ``tsel[:ns]``
    (rows of ``fast``, ``maxcode``, ``valptr``, ``huffval``). ``psv`` is the predictor
    (1 .. 7), ``initial`` the first prediction ``2 ** (P - Pt - 1)``, ``restart_interval``
    the MCUs (pixels) per restart interval, 0 for none. Returns the offset of the marker
    that follows the scan; ``status[0]`` is non-zero on a problem.
    """
    end = src.shape[0]
    stride = cols * nf
    if out.shape[0] < rows * stride or ns < 1 or ns > nf:
        status[0] = BAD_BUFFERS
        return start
    pos = start
    buf = np.int64(0)
    nbits = 0
    fake = 0           # zero bits fed past the end of the data (the last `fake` bits of buf)
    mcu_left = restart_interval
    nrst = 0
    first_line = True
    first_sample = True
    for r in range(rows):
        row_base = r * stride
        for c in range(cols):
            if restart_interval > 0:
                if mcu_left == 0:
                    # end of a restart interval: the rest of the buffered bits are padding
                    if nbits < fake:
                        status[0] = OUT_OF_DATA
                        status[1] = r
                        status[2] = c
                        status[3] = pos
                        status[4] = np.int64(src[pos + 1]) if pos + 1 < end else -1
                        return pos
                    p2 = _find_marker(src, pos)
                    if p2 >= end:
                        status[0] = RST_MISSING
                        status[1] = r
                        status[2] = c
                        status[3] = p2
                        status[4] = -1
                        status[5] = nrst & 7
                        return p2
                    m = np.int64(src[p2 + 1])
                    if m < 0xD0 or m > 0xD7:
                        status[0] = RST_MISSING
                        status[1] = r
                        status[2] = c
                        status[3] = p2
                        status[4] = m
                        status[5] = nrst & 7
                        return p2
                    if m != 0xD0 + (nrst & 7):
                        status[0] = RST_WRONG
                        status[1] = r
                        status[2] = c
                        status[3] = p2
                        status[4] = m
                        status[5] = nrst & 7
                        return p2
                    pos = p2 + 2
                    nrst += 1
                    buf = np.int64(0)
                    nbits = 0
                    fake = 0
                    mcu_left = restart_interval
                    first_line = True
                    first_sample = True
                mcu_left -= 1
            for k in range(ns):
                ci = comps[k]
                t = tsel[k]
                # -- refill to at least 57 bits
                if nbits < 32:
                    while nbits <= 56:
                        if fake == 0 and pos < end:
                            b = np.int64(src[pos])
                            if b == 0xFF:
                                if pos + 1 < end and src[pos + 1] == 0:
                                    pos += 2
                                else:
                                    fake = 8   # a marker: the data ends here
                                    b = 0
                            else:
                                pos += 1
                            buf = (buf << 8) | b
                            nbits += 8
                        else:
                            buf = buf << 8
                            nbits += 8
                            fake += 8
                # -- one difference
                look = (buf >> (nbits - LOOKAHEAD)) & _LMASK
                e = np.int64(fast[t, look])
                if e & _WHOLE:
                    nbits -= e & _LEN_MASK
                    diff = (e >> 6) - 32768
                else:
                    if e != 0:
                        length = e & _LEN_MASK
                        s = e >> 6
                    else:
                        length = LOOKAHEAD + 1
                        code = (buf >> (nbits - length)) & ((np.int64(1) << length) - 1)
                        while code > maxcode[t, length]:
                            length += 1
                            code = (buf >> (nbits - length)) & ((np.int64(1) << length) - 1)
                        if length > 16:
                            status[0] = BAD_CODE
                            status[1] = r
                            status[2] = c
                            status[3] = pos
                            return pos
                        j = valptr[t, length] + code
                        if j < 0 or j >= huffval.shape[1]:
                            status[0] = BAD_CODE
                            status[1] = r
                            status[2] = c
                            status[3] = pos
                            return pos
                        s = np.int64(huffval[t, j])
                    nbits -= length
                    if s == 0:
                        diff = 0
                    elif s >= 16:
                        diff = 32768
                    else:
                        v = (buf >> (nbits - s)) & ((np.int64(1) << s) - 1)
                        nbits -= s
                        if v >> (s - 1):
                            diff = v
                        else:
                            diff = v - (np.int64(1) << s) + 1
                # -- prediction
                idx = row_base + c * nf + ci
                if first_sample:
                    pred = initial
                elif first_line:
                    pred = np.int64(out[idx - nf])
                elif c == 0:
                    pred = np.int64(out[idx - stride])
                elif psv == 1:
                    pred = np.int64(out[idx - nf])
                elif psv == 2:
                    pred = np.int64(out[idx - stride])
                elif psv == 3:
                    pred = np.int64(out[idx - stride - nf])
                else:
                    ra = np.int64(out[idx - nf])
                    rb = np.int64(out[idx - stride])
                    rc = np.int64(out[idx - stride - nf])
                    if psv == 4:
                        pred = ra + rb - rc
                    elif psv == 5:
                        pred = ra + ((rb - rc) >> 1)
                    elif psv == 6:
                        pred = rb + ((ra - rc) >> 1)
                    else:
                        pred = (ra + rb) >> 1
                out[idx] = (pred + diff) & 0xFFFF
            first_sample = False
        first_line = False
        if nbits < fake:
            status[0] = OUT_OF_DATA
            status[1] = r
            status[3] = pos
            status[4] = np.int64(src[pos + 1]) if pos + 1 < end else -1
            return pos
    return _find_marker(src, pos)


@njit(cache=True, nogil=True)
def scale_samples(out, nf, comps, ns, pt):
    """Undo the point transform of a scan: shift its components' samples left by ``pt``."""
    n = out.shape[0] // nf
    for i in range(n):
        for k in range(ns):
            j = i * nf + comps[k]
            out[j] = (out[j] << pt) & 0xFFFF


@njit(cache=True, nogil=True)
def _category(d, hist):
    a = d if d >= 0 else -d
    s = _NBITS[a >> 8] + 8 if a >= 256 else _NBITS[a]
    hist[s] += 1


@njit(cache=True, nogil=True)
def _predict_rows_sv1(values, rows, cols, nf, initial, diffs, hist):
    stride = cols * nf
    for idx in range(stride):
        if idx < nf:
            pred = initial
        else:
            pred = np.int64(values[idx - nf])
        d = (np.int64(values[idx]) - pred) & 0xFFFF
        if d >= 32768:
            d -= 65536
        diffs[idx] = d
        _category(d, hist)
    for r in range(1, rows):
        base = r * stride
        for idx in range(base, base + stride):
            if idx < base + nf:
                pred = np.int64(values[idx - stride])
            else:
                pred = np.int64(values[idx - nf])
            d = (np.int64(values[idx]) - pred) & 0xFFFF
            if d >= 32768:
                d -= 65536
            diffs[idx] = d
            _category(d, hist)


@njit(cache=True, nogil=True)
def predict_diffs(values, rows, cols, nf, psv, initial, restart_interval, diffs, hist):
    """The differences (H.1.2, as int32 in -32768 .. 32767) of every sample of an
    interleaved frame ``values`` (uint16, already shifted right by the point transform),
    and the histogram of their magnitude categories in ``hist`` (17 int64)."""
    stride = cols * nf
    mcu_left = restart_interval
    first_line = True
    first_sample = True
    for i in range(17):
        hist[i] = 0
    if restart_interval == 0 and psv == 1 and rows > 1:
        # the common case (SV1, no restarts): the first row, then the rest with Rb/Ra hoisted
        _predict_rows_sv1(values, rows, cols, nf, initial, diffs, hist)
        return 0
    for r in range(rows):
        row_base = r * stride
        for c in range(cols):
            if restart_interval > 0:
                if mcu_left == 0:
                    mcu_left = restart_interval
                    first_line = True
                    first_sample = True
                mcu_left -= 1
            for ci in range(nf):
                idx = row_base + c * nf + ci
                if first_sample:
                    pred = initial
                elif first_line:
                    pred = np.int64(values[idx - nf])
                elif c == 0:
                    pred = np.int64(values[idx - stride])
                elif psv == 1:
                    pred = np.int64(values[idx - nf])
                elif psv == 2:
                    pred = np.int64(values[idx - stride])
                elif psv == 3:
                    pred = np.int64(values[idx - stride - nf])
                else:
                    ra = np.int64(values[idx - nf])
                    rb = np.int64(values[idx - stride])
                    rc = np.int64(values[idx - stride - nf])
                    if psv == 4:
                        pred = ra + rb - rc
                    elif psv == 5:
                        pred = ra + ((rb - rc) >> 1)
                    elif psv == 6:
                        pred = rb + ((ra - rc) >> 1)
                    else:
                        pred = (ra + rb) >> 1
                d = (np.int64(values[idx]) - pred) & 0xFFFF
                if d >= 32768:
                    d -= 65536
                diffs[idx] = d
                a = d if d >= 0 else -d
                s = _NBITS[a >> 8] + 8 if a >= 256 else _NBITS[a]
                hist[s] += 1
            first_sample = False
        first_line = False
    return 0


@njit(cache=True, nogil=True)
def encode_diffs(diffs, npix, nf, restart_interval, ehufco, ehufsi, out, start):
    """Write the entropy-coded data of ``diffs`` (``npix`` pixels of ``nf`` samples) into
    ``out`` from ``start``: Huffman code of each SSSS (``ehufco``/``ehufsi``), extra bits,
    0xFF stuffing, ``RSTm`` after every ``restart_interval`` pixels, 1-bit padding at the
    ends. Returns the end offset, or -1 when ``out`` is too small."""
    end = out.shape[0]
    pos = start
    acc = np.int64(0)
    nacc = 0
    nrst = 0
    left = restart_interval
    for i in range(npix):
        if restart_interval > 0:
            if left == 0:
                if nacc > 0:  # pad with 1 bits to a byte boundary
                    pad = 8 - nacc
                    acc = (acc << pad) | ((np.int64(1) << pad) - 1)
                    nacc = 8
                    b = (acc >> (nacc - 8)) & 0xFF
                    nacc = 0
                    if pos + 2 > end:
                        return -1
                    out[pos] = b
                    pos += 1
                    if b == 0xFF:
                        out[pos] = 0
                        pos += 1
                if pos + 2 > end:
                    return -1
                out[pos] = 0xFF
                out[pos + 1] = 0xD0 + (nrst & 7)
                pos += 2
                nrst += 1
                left = restart_interval
            left -= 1
        for k in range(nf):
            d = np.int64(diffs[i * nf + k])
            a = d if d >= 0 else -d
            s = _NBITS[a >> 8] + 8 if a >= 256 else _NBITS[a]
            acc = (acc << ehufsi[s]) | ehufco[s]
            nacc += ehufsi[s]
            if s > 0 and s < 16:
                v = d if d >= 0 else d - 1
                acc = (acc << s) | (v & ((np.int64(1) << s) - 1))
                nacc += s
            while nacc >= 8:
                b = (acc >> (nacc - 8)) & 0xFF
                nacc -= 8
                if pos + 2 > end:
                    return -1
                out[pos] = b
                pos += 1
                if b == 0xFF:
                    out[pos] = 0
                    pos += 1
    if nacc > 0:
        pad = 8 - nacc
        acc = (acc << pad) | ((np.int64(1) << pad) - 1)
        b = acc & 0xFF
        if pos + 2 > end:
            return -1
        out[pos] = b
        pos += 1
        if b == 0xFF:
            out[pos] = 0
            pos += 1
    return pos
