"""numba kernels of the codecs layer: RLE Lossless (PS3.5 Annex G).

An RLE frame is a 64-byte header (16 little endian UL: the number of segments, then the
byte offset of each of up to 15 segments) followed by the segments. Segment ``k`` holds
one byte of one sample of every pixel, in pixel order: for ``b`` bytes per sample, the
segments of sample 0 come first, most significant byte first, then those of sample 1,
... (G.2). Each segment is a PackBits-like stream of runs (G.3):

- a header ``n`` in ``0 .. 127``: copy the next ``n + 1`` bytes (a *literal run*);
- ``n`` in ``129 .. 255`` (``-127 .. -1`` as a signed byte): repeat the next byte
  ``257 - n`` times (a *replicate run*);
- ``n == 128`` (``-128``): nothing.

Decoding is two passes, both over contiguous memory so that the compiler can vectorize
them: :func:`decode_segments` expands each segment into a plane of its own (literal runs
are slice copies, replicate runs slice fills), then ``join_planes_8/16/32`` build the values
(``hi << 8 | lo`` for 16 bits, ...) in native byte order, interleaving colour samples.
:func:`split_planes` and :func:`encode_planes` do the same backwards: split the values
into byte planes by shifting, then encode each plane row by row, literal runs as slice
copies. Every read of the source is checked against the end of its
segment and every write against the size of the output; the kernels report problems
through status codes (:data:`DECODE_STATUS`) and never raise.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["decode_frame", "read_header", "decode_segments", "join_planes_8", "join_planes_16", "join_planes_32", "split_planes", "encode_planes", "encoded_size_bound", "DECODE_STATUS", "HEADER_SIZE"]

#: Size of the RLE header in bytes (16 UL).
HEADER_SIZE = 64

# decode status codes (status[0]); status[1] = segment (from 0), [2] = byte offset in the
# frame where the problem was found (or the offset in question), [3] = bytes the segment
# had produced (or the segment count, or the previous offset)
OK = 0
SHORT = 1             # the segment's data ended before it produced one byte per pixel
LITERAL_CUT = 2       # a literal run needs more bytes than the segment has left
REPLICATE_CUT = 3     # a replicate run's value byte is missing (the segment ended)
OVERFLOW = 4          # a run writes past the frame, and more runs follow it
HEADER_SHORT = 10     # fewer bytes than the header
BAD_COUNT = 11        # a segment count outside 1 .. 15
COUNT_MISMATCH = 12   # a segment count other than samples x bytes per sample
OFFSET_IN_HEADER = 13
OFFSET_PAST_END = 14
NOT_INCREASING = 15
BAD_BUFFERS = 20      # the caller's arrays are too small (a bug, never the data's fault)

#: What each decode status means; the caller fills in the ``{...}`` fields: ``n`` (the
#: frame's length), ``seg`` (segment number from 1), ``pos``, ``produced``, ``expected``
#: (bytes per segment), ``count`` (segment count), ``prev`` (the previous offset), and for
#: ``COUNT_MISMATCH`` ``samples``, ``bits``, ``nseg``.
DECODE_STATUS = {
    SHORT: "its data ends after {produced} of the {expected} bytes it must decode to (truncated or corrupt)",
    LITERAL_CUT: "a literal run at byte {pos} needs more bytes than the segment has left (truncated?)",
    REPLICATE_CUT: "a replicate run at byte {pos} has no value byte: the segment ends (truncated?)",
    OVERFLOW: ("a run at byte {pos} goes past the {expected} bytes the segment must decode to, and more runs "
               "follow it (corrupt data, or Rows/Columns do not match the pixel data)"),
    HEADER_SHORT: ("the codestream has {n} bytes, fewer than the 64-byte RLE header (truncated, or not RLE "
                   "data)"),
    BAD_COUNT: "the RLE header gives {count} segments; there must be 1 to 15 (corrupt, or not RLE data)",
    COUNT_MISMATCH: ("the RLE header gives {count} segment(s), but {samples} sample(s) of {bits} bits need "
                     "{nseg} (Samples per Pixel x Bits Allocated / 8)"),
    OFFSET_IN_HEADER: "the header gives segment {seg} the offset {pos}, inside the 64-byte header (corrupt)",
    OFFSET_PAST_END: ("the header gives segment {seg} the offset {pos}, past the end of the frame's {n} bytes "
                      "(truncated?)"),
    BAD_BUFFERS: "internal error: the decoder's buffers are too small",
    NOT_INCREASING: ("the header's segment offsets do not increase (segment {seg_prev}: {prev}, segment {seg}: "
                     "{pos}) (corrupt)"),
}
#: The status codes about a segment's data (the others are about the header).
SEGMENT_STATUS = (SHORT, LITERAL_CUT, REPLICATE_CUT, OVERFLOW)


@njit(cache=True, nogil=True, inline="always")
def _get_u32(buf, p):
    return (np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 3]) << 24))


@njit(cache=True, nogil=True)
def read_header(src, starts, ends, status):
    """Read and check an RLE header; return the segment count (0 on error).

    ``starts`` and ``ends`` (int64, 15 items) receive each segment's byte range: from its
    offset to the next segment's offset, the last one to the end of ``src``. ``status`` is
    set as for :func:`decode_segments`.
    """
    n = src.shape[0]
    status[0] = OK
    if n < HEADER_SIZE:
        status[0] = HEADER_SHORT
        return 0
    nseg = _get_u32(src, 0)
    if nseg < 1 or nseg > 15:
        status[0] = BAD_COUNT
        status[3] = nseg
        return 0
    for k in range(nseg):
        off = _get_u32(src, 4 + 4 * k)
        if off < HEADER_SIZE or off >= n or (k > 0 and off <= starts[k - 1]):
            status[0] = OFFSET_IN_HEADER if off < HEADER_SIZE else (OFFSET_PAST_END if off >= n else NOT_INCREASING)
            status[1] = k
            status[2] = off
            status[3] = starts[k - 1] if k > 0 else 0
            return 0
        starts[k] = off
        if k > 0:
            ends[k - 1] = off
    ends[nseg - 1] = n
    return nseg


@njit(cache=True, nogil=True, inline="always")
def _copy(dst, src):
    """``dst[:] = src`` for two views of the same length (a loop the compiler makes a memcpy)."""
    for t in range(min(dst.shape[0], src.shape[0])):
        dst[t] = src[t]


@njit(cache=True, nogil=True, inline="always")
def _fill(dst, v):
    """``dst[:] = v`` (a loop the compiler makes a memset)."""
    for t in range(dst.shape[0]):
        dst[t] = v


@njit(cache=True, nogil=True)
def decode_segments(src, seg_start, seg_end, planes, npix, status):
    """Decode the RLE segments of one frame, segment ``k`` into ``planes[k * npix:(k + 1) * npix]``.

    Parameters
    ----------
    src : uint8[:]
        The frame (header included).
    seg_start, seg_end : int64[:]
        Where each segment's bytes start and end in ``src`` (``0 <= start <= end <=
        len(src)``, checked by the caller).
    planes : uint8[:]
        At least ``len(seg_start) * npix`` bytes (checked by the caller).
    npix : int
        Pixels in the frame: each segment must decode to ``npix`` bytes.
    status : int64[4]
        Set to (code, segment, byte offset in ``src``, bytes produced by the segment).

    Notes
    -----
    A segment stops as soon as it has produced ``npix`` bytes; what follows (padding to an
    even length, or padding bytes some writers leave) is ignored. A last run that
    overshoots the output is cut, as long as no more than one byte of the segment follows
    it (a few writers encode the padding); an overshooting run in the middle of a segment
    is an error.
    """
    status[0] = OK
    if planes.shape[0] < seg_start.shape[0] * npix or seg_end.shape[0] < seg_start.shape[0]:
        status[0] = BAD_BUFFERS
        return
    for seg in range(seg_start.shape[0]):
        pos = seg_start[seg]
        end = min(seg_end[seg], src.shape[0])
        o = seg * npix
        k = 0
        while k < npix:
            if pos >= end:
                status[0] = SHORT
                status[1] = seg
                status[2] = pos
                status[3] = k
                return
            n = np.int64(src[pos])
            head = pos
            pos += 1
            if n < 128:
                cnt = n + 1
                if pos + cnt > end:
                    status[0] = LITERAL_CUT
                    status[1] = seg
                    status[2] = head
                    status[3] = k
                    return
                take = cnt
                if k + cnt > npix:
                    if end - (pos + cnt) > 1:
                        status[0] = OVERFLOW
                        status[1] = seg
                        status[2] = head
                        status[3] = k
                        return
                    take = npix - k
                _copy(planes[o:o + take], src[pos:pos + take])
                o += take
                pos += cnt
                k += take
            elif n > 128:
                cnt = 257 - n
                if pos >= end:
                    status[0] = REPLICATE_CUT
                    status[1] = seg
                    status[2] = head
                    status[3] = k
                    return
                v = src[pos]
                pos += 1
                take = cnt
                if k + cnt > npix:
                    if end - pos > 1:
                        status[0] = OVERFLOW
                        status[1] = seg
                        status[2] = head
                        status[3] = k
                        return
                    take = npix - k
                _fill(planes[o:o + take], v)
                o += take
                k += take
            # n == 128: a no-op header


@njit(cache=True, nogil=True, inline="always")
def _plane(planes, sample, significance, bps, npix, msb_first):
    """The plane of the byte of ``sample`` of the given significance (0 = least)."""
    k = sample * bps + (bps - 1 - significance if msb_first else significance)
    return planes[k * npix:(k + 1) * npix]


@njit(cache=True, nogil=True)
def join_planes_8(planes, out, samples, npix):
    """Interleave 8-bit planes: ``out[i * samples + s] = planes[s * npix + i]``.

    ``out`` is a flat uint8 array of ``npix * samples`` items; ``planes`` holds
    ``samples * npix`` bytes (both checked by the caller). Like the other ``join_planes_*``
    kernels, the common layouts have loops of their own over plane views indexed from 0,
    which the compiler vectorizes.
    """
    if planes.shape[0] < samples * npix or out.shape[0] < samples * npix:
        return
    if samples == 1:
        out[:npix] = planes[:npix]
    elif samples == 3:
        r = planes[:npix]
        g = planes[npix:2 * npix]
        b = planes[2 * npix:3 * npix]
        for i in range(npix):
            out[3 * i] = r[i]
            out[3 * i + 1] = g[i]
            out[3 * i + 2] = b[i]
    else:
        for s in range(samples):
            pl = planes[s * npix:(s + 1) * npix]
            for i in range(npix):
                out[i * samples + s] = pl[i]


@njit(cache=True, nogil=True)
def join_planes_16(planes, out, samples, npix, msb_first):
    """Build 16-bit values from their byte planes: sample ``s`` of pixel ``i`` is
    ``hi << 8 | lo`` from planes ``2s`` and ``2s + 1`` (most significant first when
    ``msb_first``), written to ``out[i * samples + s]`` (a flat uint16 array, so the values
    come in native byte order)."""
    if planes.shape[0] < 2 * samples * npix or out.shape[0] < samples * npix:
        return
    if samples == 1:
        h = _plane(planes, 0, 1, 2, npix, msb_first)
        lo = _plane(planes, 0, 0, 2, npix, msb_first)
        for i in range(npix):
            out[i] = (np.uint16(h[i]) << 8) | np.uint16(lo[i])
    elif samples == 3:
        rh = _plane(planes, 0, 1, 2, npix, msb_first)
        rl = _plane(planes, 0, 0, 2, npix, msb_first)
        gh = _plane(planes, 1, 1, 2, npix, msb_first)
        gl = _plane(planes, 1, 0, 2, npix, msb_first)
        bh = _plane(planes, 2, 1, 2, npix, msb_first)
        bl = _plane(planes, 2, 0, 2, npix, msb_first)
        for i in range(npix):
            out[3 * i] = (np.uint16(rh[i]) << 8) | np.uint16(rl[i])
            out[3 * i + 1] = (np.uint16(gh[i]) << 8) | np.uint16(gl[i])
            out[3 * i + 2] = (np.uint16(bh[i]) << 8) | np.uint16(bl[i])
    else:
        for s in range(samples):
            h = _plane(planes, s, 1, 2, npix, msb_first)
            lo = _plane(planes, s, 0, 2, npix, msb_first)
            for i in range(npix):
                out[i * samples + s] = (np.uint16(h[i]) << 8) | np.uint16(lo[i])


@njit(cache=True, nogil=True)
def join_planes_32(planes, out, samples, npix, msb_first):
    """Build 32-bit values from their four byte planes each (see :func:`join_planes_16`)."""
    if planes.shape[0] < 4 * samples * npix or out.shape[0] < samples * npix:
        return
    for s in range(samples):
        b3 = _plane(planes, s, 3, 4, npix, msb_first)
        b2 = _plane(planes, s, 2, 4, npix, msb_first)
        b1 = _plane(planes, s, 1, 4, npix, msb_first)
        b0 = _plane(planes, s, 0, 4, npix, msb_first)
        if samples == 1:
            for i in range(npix):
                out[i] = ((np.uint32(b3[i]) << 24) | (np.uint32(b2[i]) << 16) | (np.uint32(b1[i]) << 8)
                          | np.uint32(b0[i]))
        else:
            for i in range(npix):
                out[i * samples + s] = ((np.uint32(b3[i]) << 24) | (np.uint32(b2[i]) << 16)
                                        | (np.uint32(b1[i]) << 8) | np.uint32(b0[i]))


@njit(cache=True, nogil=True)
def decode_frame(src, nseg, npix, planes, status):
    """Decode one RLE frame into its byte planes: :func:`read_header`, then
    :func:`decode_segments` (one call from Python for the lot).

    ``nseg`` is the segment count the frame must have; ``planes`` holds ``nseg * npix``
    bytes (checked by the caller). Problems are reported in ``status`` (see
    :data:`DECODE_STATUS`). The ``join_planes_*`` kernels then build the values.
    """
    starts = np.zeros(15, np.int64)
    ends = np.zeros(15, np.int64)
    count = read_header(src, starts, ends, status)
    if status[0] != OK:
        return
    if count != nseg:
        status[0] = COUNT_MISMATCH
        status[3] = count
        return
    decode_segments(src, starts[:nseg], ends[:nseg], planes, npix, status)


@njit(cache=True, nogil=True, inline="always")
def _put_u32(buf, p, v):
    buf[p] = v & 0xFF
    buf[p + 1] = (v >> 8) & 0xFF
    buf[p + 2] = (v >> 16) & 0xFF
    buf[p + 3] = (v >> 24) & 0xFF


def encoded_size_bound(rows: int, columns: int, nseg: int) -> int:
    """The most bytes :func:`encode_planes` can need: each input byte costs at most two."""
    return HEADER_SIZE + nseg * (rows * 2 * columns + 1)


@njit(cache=True, nogil=True)
def split_planes(values, planes, samples, bps, npix, planar):
    """Split a frame's values into one plane of bytes per RLE segment (G.2).

    ``values`` is a flat unsigned array (uint8, uint16 or uint32 for ``bps`` 1, 2, 4) of
    ``npix * samples`` items in native byte order: sample ``s`` of pixel ``i`` at
    ``i * samples + s``, or at ``s * npix + i`` when ``planar``. Plane ``k`` of ``planes``
    (``planes[k * npix:(k + 1) * npix]``) receives segment ``k``: sample ``k // bps``, most
    significant byte first. Bytes are taken by shifting, so the host's byte order does not
    matter. The caller checks the sizes (and the kernel does nothing if they are wrong).
    """
    if values.shape[0] < samples * npix or planes.shape[0] < samples * bps * npix:
        return
    for s in range(samples):
        for sig in range(bps):
            k = s * bps + (bps - 1 - sig)
            pl = planes[k * npix:(k + 1) * npix]
            shift = 8 * sig
            if planar or samples == 1:
                sv = values[s * npix:(s + 1) * npix]
                for i in range(npix):
                    pl[i] = (sv[i] >> shift) & 0xFF
            elif samples == 3:
                sv = values[s:]
                for i in range(npix):
                    pl[i] = (sv[3 * i] >> shift) & 0xFF
            else:
                for i in range(npix):
                    pl[i] = (values[i * samples + s] >> shift) & 0xFF


@njit(cache=True, nogil=True)
def encode_planes(planes, nseg, rows, columns, out):
    """RLE-encode one frame from its byte planes; return the encoded length, or -1 when
    ``out`` is too small.

    Parameters
    ----------
    planes : uint8[:]
        ``nseg`` planes of ``rows * columns`` bytes, one per segment in segment order (see
        :func:`split_planes`; for 8-bit grey the frame itself). The caller checks the size.
    nseg, rows, columns : int
        Every row of every segment is encoded on its own (G.3.1).
    out : uint8[:]
        Room for the encoded frame: header, segments, each padded to an even length with a
        zero byte. Before each row the kernel checks that the worst case (two bytes per
        input byte) fits, so it never writes past ``out``.

    Notes
    -----
    Runs of two or more equal bytes become replicate runs; the bytes between them, up to
    the next run of three equal bytes, literal runs (so a pair inside a literal stays in
    it, as the note of G.3.1 suggests, and every run of three or more is a replicate run,
    as G.3.1 requires). Runs hold at most 128 bytes. The search for the next run of three
    steps two bytes at a time while the bytes differ.
    """
    cap = out.shape[0]
    npix = rows * columns
    if planes.shape[0] < nseg * npix or cap < HEADER_SIZE:
        return -1
    out[:HEADER_SIZE] = 0
    _put_u32(out, 0, nseg)
    pos = HEADER_SIZE
    for seg in range(nseg):
        _put_u32(out, 4 + 4 * seg, pos)
        seg_begin = pos
        for r in range(rows):
            if pos + 2 * columns > cap:
                return -1
            row = planes[seg * npix + r * columns:seg * npix + (r + 1) * columns]
            c = 0
            while c < columns:
                v = row[c]
                j = c + 1
                lim = min(columns, c + 128)
                while j < lim and row[j] == v:
                    j += 1
                if j - c >= 2:
                    out[pos] = 257 - (j - c)
                    out[pos + 1] = v
                    pos += 2
                    c = j
                    continue
                # a literal run: up to the next three equal bytes (or the row's end)
                j = c + 1
                while j + 2 < columns:
                    if row[j + 1] != row[j + 2]:
                        j += 2
                    elif row[j] == row[j + 1]:
                        break
                    else:
                        j += 1
                if j + 2 >= columns:
                    j = columns
                while c < j:
                    n = min(128, j - c)
                    out[pos] = n - 1
                    _copy(out[pos + 1:pos + 1 + n], row[c:c + n])
                    pos += 1 + n
                    c += n
        if (pos - seg_begin) & 1:
            if pos >= cap:
                return -1
            out[pos] = 0
            pos += 1
    return pos
