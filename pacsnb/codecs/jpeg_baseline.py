"""JPEG Baseline (Process 1) and Extended (Process 2 & 4): DCT-based sequential, Huffman coded
(ITU-T T.81 Annex F): decode and encode frames.

Two transfer syntaxes use it (PS3.5 A.4.1, 8.2.1):

- JPEG Baseline (Process 1), ``1.2.840.10008.1.2.4.50``: 8-bit samples (``SOF0``);
- JPEG Extended (Process 2 & 4), ``1.2.840.10008.1.2.4.51``: 8 or 12-bit samples
  (``SOF1``; ``SOF0`` frames are Extended frames too).

Decoding: ``SOI``, marker segments (``SOF0``/``SOF1``: precision, size, 1 to 4 components
with sampling factors 1 to 4 each; ``DQT`` 8 or 16-bit quantisation tables; ``DHT`` up to
four DC and four AC Huffman tables, redefinable between scans; ``DRI`` restart interval;
``APPn``, ``COM`` skipped; fill bytes), one or more scans (``SOS``, interleaved or one
component each) and ``EOI``. The entropy-coded data, dequantisation and the inverse DCT are
done block by block in one pass by the numba kernels of
:mod:`pacsnb.codecs._jpeg_dct_kernels` (a factored inverse DCT with the dequantisation
folded into its scale factors, in double precision; grey frames whose size is a multiple
of 8 are decoded straight into the output array), which also upsample subsampled
components (4:2:2, 4:2:0, ...) to full size. The state after the marker segments up to
the first scan's data is kept for the last few codestreams decoded, and reused for a
codestream that starts with the same bytes (frames of one series usually do). Progressive (``SOF2``),
lossless (``SOF3``, see :mod:`pacsnb.codecs.jpeg_lossless`), hierarchical and arithmetic
coded frames are a :class:`~pacsnb.errors.CodecError` saying so. A frame is decoded from
its own bytes only.

Colour: decoded samples are the component values as coded, with no colour conversion,
matching what :func:`pacsnb.pixels.pixel_array` returns for native data (stored values
in the Photometric Interpretation of the data set). For DICOM JPEG that means YCbCr for
``YBR_FULL_422`` and ``YBR_FULL`` (subsampled chroma is upsampled: a ``YBR_FULL_422``
frame comes back full size, one Y Cb Cr triplet per pixel; convert with
:func:`pacsnb.pixels.convert_color_space`) and RGB for ``RGB`` when the encoder did not
transform colour. When the data set says ``RGB`` but the codestream says it holds YCbCr
(a JFIF ``APP0`` segment, or an Adobe ``APP14`` segment with transform 1), the frame is
converted to RGB so that it matches the Photometric Interpretation (pass
``colour="raw"`` to get the coded values).

Encoding (baseline, 8 bits, and extended, 8 or 12 bits): 1 or 3 components, quality 1 to
100 (the example tables of T.81 Annex K scaled as the IJG software does: quality 50 is the
tables themselves, 100 all ones), Huffman tables optimised for each frame (K.2), an
optional restart interval. One kernel pass converts colour, downsamples, transforms
(factored forward DCT, quantisation folded into its scale factors) and counts the Huffman
symbols; a second writes the codes, so the optimised tables cost only the symbol counts
(a few percent of the encoding time) and no standard-table option is needed. The frame
is padded to whole MCUs by repeating its last column and row before chroma is
downsampled. Colour frames given as RGB are converted to YCbCr (the
YBR_FULL formulas of PS3.3 C.7.6.3.1.2) and chroma is subsampled 4:2:2 by default
(``subsampling="444"`` keeps it full, ``"420"`` halves it both ways); the data set then
needs Photometric Interpretation ``YBR_FULL_422`` (``YBR_FULL`` for 4:4:4), as
:func:`colour_plan` says and :func:`pacsnb.pixels.transcode` sets.

Bad input is a :class:`~pacsnb.errors.CodecError` naming the frame and the byte offset.

Examples
--------
>>> import numpy as np
>>> from pacsnb.codecs import jpeg_baseline as jb
>>> img = (np.add.outer(np.arange(16), np.arange(16)) * 8).astype(np.uint8)
>>> data = jb.encode_frame(img, rows=16, columns=16, bits_allocated=8, quality=95)
>>> data[:4], data[-2:]
(b'\\xff\\xd8\\xff\\xdb', b'\\xff\\xd9')
>>> out = jb.decode_frame(data, rows=16, columns=16, bits_allocated=8)
>>> out.shape, out.dtype, int(np.abs(out.astype(int) - img).max()) <= 4
((16, 16), dtype('uint8'), True)
>>> jb.read_header(data)
JpegDctHeader(process='baseline', precision=8, rows=16, columns=16, components=1, sampling=((1, 1),), restart_interval=0, colour='')
>>> jb.decode_frame(data[:40], rows=16, columns=16, bits_allocated=8, frame=2)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pacsnb.errors.CodecError: JPEG frame 2: the DQT segment at byte 2 has length 67, which runs past the end of the 40-byte codestream (truncated or corrupt)
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from pacsnb.codecs import _jpeg_dct_kernels as K
from pacsnb.codecs._common import (JPEG_SOF_NAMES, codestream_array, frame_output, jpeg_frame_params,
                                   jpeg_marker_name, jpeg_next_segment)
from pacsnb.codecs.rle import FrameParams
from pacsnb.errors import CodecError

__all__ = ["JPEG_BASELINE", "JPEG_EXTENDED", "JpegDctHeader", "decode_frame", "encode_frame",
           "encode_frame_extended", "read_header", "colour_plan", "quant_tables"]

#: JPEG Baseline (Process 1): 8-bit lossy.
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
#: JPEG Extended (Process 2 & 4): 8 or 12-bit lossy.
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"

# Table K.1 (luminance) and K.2 (chrominance) of T.81, natural (row-major) order
_K1 = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.int64)
_MAX_SAMPLES = 1 << 31  # samples of one decoded frame (4 GiB of planes): beyond it, a corrupt header
_K2 = np.full(64, 99, np.int64)
_K2[:4] = (17, 18, 24, 47)
_K2[8:12] = (18, 21, 26, 66)
_K2[16:19] = (24, 26, 56)
_K2[24:26] = (47, 66)


@dataclass(frozen=True, slots=True)
class JpegDctHeader:
    """What the marker segments of a DCT-based sequential JPEG codestream say.

    Attributes
    ----------
    process
        ``"baseline"`` (SOF0) or ``"extended"`` (SOF1).
    precision
        Sample precision in bits (8, or 12 for extended).
    rows, columns
        Number of lines and samples per line.
    components
        Number of components.
    sampling
        ``(H, V)`` sampling factors of each component.
    restart_interval
        MCUs per restart interval (0: none; the last DRI before the first scan).
    colour
        What APPn segments say about colour: ``"JFIF"`` (YCbCr), ``"Adobe-YCbCr"``,
        ``"Adobe-RGB"`` (Adobe APP14 transform 1 or 0), or ``""``.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.zeros((8, 16, 3), np.uint8), rows=8, columns=16, samples=3, bits_allocated=8)
    >>> read_header(data).sampling
    ((2, 1), (1, 1), (1, 1))
    """

    process: str
    precision: int
    rows: int
    columns: int
    components: int
    sampling: tuple[tuple[int, int], ...]
    restart_interval: int
    colour: str


def _where(frame: int | None) -> str:
    return "JPEG frame" + ("" if frame is None else f" {frame}")


class _Frame:
    """The frame header and the planes the scans decode into."""

    def __init__(self, seg: memoryview, m: int, mpos: int, fail) -> None:
        if len(seg) < 6:
            raise fail(f"the {jpeg_marker_name(m)} segment at byte {mpos} is too short ({len(seg) + 2} bytes)")
        self.process = "baseline" if m == 0xC0 else "extended"
        self.precision = seg[0]
        self.rows = (seg[1] << 8) | seg[2]
        self.columns = (seg[3] << 8) | seg[4]
        nf = seg[5]
        if self.precision not in ((8,) if m == 0xC0 else (8, 12)):
            raise fail(f"the {jpeg_marker_name(m)} frame header at byte {mpos} gives a sample precision of "
                       f"{self.precision} bits; {self.process} DCT allows "
                       + ("8" if m == 0xC0 else "8 or 12"))
        if self.rows == 0:
            raise fail("the frame header gives 0 lines (the number of lines comes in a DNL marker): not supported")
        if self.columns == 0:
            raise fail("the frame header gives 0 samples per line")
        if not 1 <= nf <= 4 or len(seg) != 6 + 3 * nf:
            raise fail(f"the {jpeg_marker_name(m)} segment at byte {mpos} has {len(seg) + 2} bytes and {nf} "
                       "components; pacsnb decodes 1 to 4 components, 3 bytes each")
        self.ids: list[int] = []
        hs, vs, tqs = [], [], []
        for i in range(nf):
            cid, hv, tq = seg[6 + 3 * i], seg[7 + 3 * i], seg[8 + 3 * i]
            if cid in self.ids:
                raise fail(f"the frame header names component {cid} twice")
            h, v = hv >> 4, hv & 15
            if not (1 <= h <= 4 and 1 <= v <= 4):
                raise fail(f"component {cid} has sampling factors {h} x {v}; T.81 allows 1 to 4")
            if tq > 3:
                raise fail(f"component {cid} selects quantisation table {tq}; there are four (0 to 3)")
            self.ids.append(cid)
            hs.append(h)
            vs.append(v)
            tqs.append(tq)
        self.nf = nf
        self.hmax, self.vmax = max(hs), max(vs)
        self.mcux = -(-self.columns // (8 * self.hmax))
        self.mcuy = -(-self.rows // (8 * self.vmax))
        # each component: real size, blocks (non-interleaved), plane size (the interleaved MCU grid)
        cw = [-(-self.columns * h // self.hmax) for h in hs]
        ch = [-(-self.rows * v // self.vmax) for v in vs]
        pstride = [self.mcux * h * 8 for h in hs]
        sizes = [st * self.mcuy * v * 8 for st, v in zip(pstride, vs)]
        poff = [sum(sizes[:i]) for i in range(nf)]
        self.total = sum(sizes)
        self.hs, self.vs, self.tq = np.array(hs, np.int64), np.array(vs, np.int64), np.array(tqs, np.int64)
        self.cw, self.ch = np.array(cw, np.int64), np.array(ch, np.int64)
        self.bw = np.array([-(-w // 8) for w in cw], np.int64)
        self.bh = np.array([-(-h // 8) for h in ch], np.int64)
        self.pstride, self.poff = np.array(pstride, np.int64), np.array(poff, np.int64)
        self.done: set[int] = set()
        self.planes: np.ndarray | None = None


def _read_dqt(seg: memoryview, mpos: int, fail, qt: np.ndarray, qdef: list[bool], precision: int) -> None:
    i, n = 0, len(seg)
    while i < n:
        pq, tq = seg[i] >> 4, seg[i] & 15
        size = 64 * (2 if pq else 1)
        if pq > 1 or tq > 3:
            raise fail(f"the DQT segment at byte {mpos} defines table {tq} with precision code {pq}; "
                       "tables are 0 to 3, precision 0 (8-bit) or 1 (16-bit)")
        if i + 1 + size > n:
            raise fail(f"the DQT segment at byte {mpos} is cut off (truncated or corrupt)")
        qt[tq, :] = np.frombuffer(seg, ">u2" if pq else np.uint8, 64, i + 1)
        qdef[tq] = True
        i += 1 + size


def _read_dht(seg: memoryview, mpos: int, fail, lut, fast, maxcode, valptr, huffval, hdef) -> None:
    i, n = 0, len(seg)
    bits = np.zeros(17, np.int64)
    while i < n:
        if i + 17 > n:
            raise fail(f"the DHT segment at byte {mpos} is cut off (truncated or corrupt)")
        tc, th = seg[i] >> 4, seg[i] & 15
        if tc > 1 or th > 3:
            raise fail(f"the DHT segment at byte {mpos} defines table class {tc}, destination {th}; DCT Huffman "
                       "tables are class 0 (DC) or 1 (AC), destinations 0 to 3")
        bits[1:] = np.frombuffer(seg, np.uint8, 16, i + 1)
        count = sum(seg[i + 1:i + 17])
        if count > 256 or i + 17 + count > n:
            raise fail(f"the DHT segment at byte {mpos} is cut off or lists {count} codes (truncated or corrupt)")
        t = th + 4 * tc
        huffval[t, :] = 0
        huffval[t, :count] = np.frombuffer(seg, np.uint8, count, i + 17)
        if K.build_decode_table(bits, huffval[t], count, tc == 0, lut[t], fast[t], maxcode[t], valptr[t]) != 0:
            raise fail(f"the DHT segment at byte {mpos} has more codes of some length than the code space allows "
                       "(corrupt table)")
        hdef[t] = True
        i += 17 + count


def _colour_of(m: int, seg: memoryview, colour: str) -> str:
    if m == 0xE0 and seg[:5] == b"JFIF\x00":
        return "JFIF"
    if m == 0xEE and len(seg) >= 12 and seg[:5] == b"Adobe":
        return "Adobe-YCbCr" if seg[11] == 1 else "Adobe-RGB" if seg[11] == 0 else colour
    return colour


def _parse(src: np.ndarray, frame: int | None, p: FrameParams | None = None,
           direct: np.ndarray | None = None) -> tuple[JpegDctHeader, _Frame]:
    """Walk the markers; with ``p`` (checked against the frame header) decode the scans,
    into ``direct`` (the flat output array) when it can be the single component's plane."""
    where = _where(frame)
    n = len(src)

    def fail(text: str) -> CodecError:
        return CodecError(f"{where}: {text}")

    if n < 2 or src[0] != 0xFF or src[1] != 0xD8:
        head = bytes(src[:4]).hex(" ").upper()
        raise fail(f"the codestream does not start with SOI (FF D8) but with {head or 'nothing'}: not JPEG data")
    raw = memoryview(src)
    fr: _Frame | None = None

    def decode(comps: list[int], dcsel: list[int], acsel: list[int], pos: int) -> int:
        assert fr is not None
        if fr.planes is None:
            if fr.total > _MAX_SAMPLES:
                raise fail(f"the frame header asks for {fr.rows} x {fr.columns} x {fr.nf} samples, more "
                           f"than pacsnb decodes in one frame ({_MAX_SAMPLES}): corrupt header?")
            ptype = np.uint8 if fr.precision <= 8 else np.uint16
            if (direct is not None and fr.nf == 1 and direct.dtype == ptype
                    and direct.shape[0] == fr.total and fr.pstride[0] == fr.columns):
                fr.planes = direct  # the plane is the frame: decoded in place
            else:
                fr.planes = np.zeros(fr.total, ptype)
        status = np.zeros(8, np.int64)
        pos = int(K.decode_scan(src, pos, len(comps), np.array(comps, np.int64), fr.hs, fr.vs, fr.tq,
                                K.dequant_table(qt), np.array(dcsel, np.int64), np.array(acsel, np.int64),
                                lut, fast, maxcode, valptr, huffval, fr.planes, fr.poff, fr.pstride, fr.bw, fr.bh,
                                fr.mcux, fr.mcuy, restart, fr.precision, status))
        if status[0]:
            raise _status_error(status, fail)
        return pos

    pending = None
    hit = _cached_header(raw) if p is not None else None
    if hit is not None:  # the same bytes up to the first scan's data as a frame decoded before
        (fr0, done, tables, qdef, hdef, restart, colour, pending, pos) = hit
        fr = copy.copy(fr0)
        fr.done = set(done)
        fr.planes = None
        _check_frame(fr, p, fail)
        qt, lut, fast, maxcode, valptr, huffval = (t.copy() for t in tables)
        qdef, hdef = list(qdef), list(hdef)
        first_restart = restart
        nscans = 1
    else:
        qt = np.ones((4, 64), np.int64)
        qdef = [False] * 4
        lut = np.zeros((8, 1 << K.LOOKAHEAD), np.int32)
        fast = np.zeros((8, 1 << K.LOOKAHEAD), np.int32)
        maxcode = np.zeros((8, 18), np.int64)
        valptr = np.zeros((8, 17), np.int64)
        huffval = np.zeros((8, 256), np.uint8)
        hdef = [False] * 8
        restart = 0
        first_restart = None
        colour = ""
        nscans = 0
        pos = 2
    while True:
        if pending is not None:
            pos = decode(*pending, pos)
            pending = None
            continue
        m, mpos, a, b = jpeg_next_segment(raw, pos, fail)
        if m < 0:
            if fr is not None and fr.done and len(fr.done) == fr.nf:
                break  # all decoded; a missing EOI is tolerated
            raise fail(f"the codestream ends at byte {n} before " +
                       ("any frame header (SOF0/SOF1)" if fr is None else
                        "any scan (SOS)" if not nscans else "all components were decoded") + " (truncated?)")
        pos = b
        seg = raw[a:b]
        if m == 0xD9:
            break
        if m in (0xD8, 0x01, 0x00) or 0xD0 <= m <= 0xD7:
            raise fail(f"{jpeg_marker_name(m)} at byte {mpos} is in the wrong place (outside entropy-coded data)")
        if m in (0xC0, 0xC1):
            if fr is not None:
                raise fail(f"a second frame header ({jpeg_marker_name(m)}) at byte {mpos}")
            fr = _Frame(seg, m, mpos, fail)
            if p is not None:
                _check_frame(fr, p, fail)
        elif m in JPEG_SOF_NAMES:
            kind = JPEG_SOF_NAMES[m]
            hint = (" (use the JPEG Lossless codec: wrong transfer syntax?)" if m == 0xC3 else
                    ": pacsnb decodes baseline and extended sequential Huffman-coded DCT (SOF0, SOF1) only")
            raise fail(f"the frame is {jpeg_marker_name(m)} ({kind}), which is not supported{hint}")
        elif m == 0xC4:
            _read_dht(seg, mpos, fail, lut, fast, maxcode, valptr, huffval, hdef)
        elif m == 0xDB:
            _read_dqt(seg, mpos, fail, qt, qdef, fr.precision if fr is not None else 8)
        elif m == 0xCC:
            raise fail(f"DAC at byte {mpos}: arithmetic coding is not supported (only Huffman coding)")
        elif m == 0xDD:
            if len(seg) != 2:
                raise fail(f"the DRI segment at byte {mpos} has length {len(seg) + 2}, not 4")
            restart = (int(seg[0]) << 8) | int(seg[1])
        elif m in (0xDC, 0xDE, 0xDF):
            raise fail(f"{jpeg_marker_name(m)} at byte {mpos}: hierarchical coding and DNL are not supported")
        elif 0xE0 <= m <= 0xEF:
            colour = _colour_of(m, seg, colour)
        elif m == 0xDA:
            if fr is None:
                raise fail(f"a scan (SOS at byte {mpos}) before the frame header (SOF0/SOF1)")
            nscans += 1
            if first_restart is None:
                first_restart = restart
            comps, dcsel, acsel = _read_sos(seg, mpos, fail, fr, qdef, hdef)
            if p is None:
                while True:  # skip the entropy-coded data and its restart markers
                    pos = int(K._find_marker(src, pos))
                    if pos + 1 < n and 0xD0 <= src[pos + 1] <= 0xD7:
                        pos += 2
                        continue
                    break
            else:
                if nscans == 1 and fr.planes is None:
                    _remember_header(bytes(raw[:b]), (copy.copy(fr), frozenset(fr.done),
                                                      tuple(t.copy() for t in (qt, lut, fast, maxcode, valptr,
                                                                               huffval)),
                                                      tuple(qdef), tuple(hdef), restart, colour,
                                                      (comps, dcsel, acsel), b))
                pos = decode(comps, dcsel, acsel, pos)
        # COM, JPGn and other segments: skipped
    if fr is None:
        raise fail("the codestream has no frame header (SOF0/SOF1)")
    if len(fr.done) != fr.nf:
        missing = [i for i in fr.ids if i not in fr.done]
        raise fail(f"EOI before component(s) {missing} were decoded (missing scans)")
    h = JpegDctHeader(fr.process, fr.precision, fr.rows, fr.columns, fr.nf,
                      tuple((int(a), int(b)) for a, b in zip(fr.hs, fr.vs)),
                      restart if first_restart is None else first_restart, colour)
    return h, fr


# Codestreams of one series or multi-frame image usually share everything up to the first
# scan's data (tables, frame and scan headers): the state after it is kept for a few of them
# and reused when a codestream starts with the same bytes (the same bytes parse the same way).
_HEADERS: list[tuple[bytes, tuple]] = []
_HEADERS_KEPT = 4


def _cached_header(raw: memoryview) -> tuple | None:
    for key, state in _HEADERS:  # a list replaced, never changed in place: safe across threads
        if len(key) <= len(raw) and raw[:len(key)] == key:
            return state
    return None


def _remember_header(key: bytes, state: tuple) -> None:
    global _HEADERS
    if len(key) <= 4096:
        _HEADERS = [(key, state)] + [kv for kv in _HEADERS if kv[0] != key][:_HEADERS_KEPT - 1]


def _status_error(status: np.ndarray, fail) -> CodecError:
    code, mcu, row, col, pos, extra, m = (int(x) for x in status[:7])
    if code in (K.OUT_OF_DATA, K.RST_MISSING):
        marker = "the end of the codestream" if extra < 0 else f"marker {jpeg_marker_name(extra)}"
    else:
        marker = jpeg_marker_name(extra) if extra >= 0 else ""
    return fail(K.DECODE_STATUS[code].format(mcu=mcu, row=row, col=col, pos=pos, marker=marker, m=m))


def _check_frame(fr: _Frame, p: FrameParams, fail) -> None:
    if (fr.rows, fr.columns) != (p.rows, p.columns):
        raise fail(f"the codestream's frame is {fr.rows} x {fr.columns} (lines x samples per line) but Rows x "
                   f"Columns are {p.rows} x {p.columns}")
    if fr.nf != p.samples:
        raise fail(f"the codestream has {fr.nf} component(s) but Samples per Pixel is {p.samples}")
    if fr.precision > p.bits_allocated:
        raise fail(f"the codestream's sample precision is {fr.precision} bits, more than Bits Allocated "
                   f"({p.bits_allocated})")


def _read_sos(seg: memoryview, mpos: int, fail, fr: _Frame, qdef: list[bool],
              hdef: list[bool]) -> tuple[list[int], list[int], list[int]]:
    if len(seg) < 1:
        raise fail(f"the SOS segment at byte {mpos} is empty")
    ns = int(seg[0])
    if not 1 <= ns <= 4 or len(seg) != 1 + 2 * ns + 3:
        raise fail(f"the SOS segment at byte {mpos} has {len(seg) + 2} bytes, which does not fit {ns} components")
    comps, dcsel, acsel = [], [], []
    blocks = 0
    for k in range(ns):
        cid = int(seg[1 + 2 * k])
        td, ta = int(seg[2 + 2 * k]) >> 4, int(seg[2 + 2 * k]) & 15
        if cid not in fr.ids:
            raise fail(f"the scan at byte {mpos} codes component {cid}, which the frame header does not define")
        ci = fr.ids.index(cid)
        if cid in fr.done or ci in comps:
            raise fail(f"the scan at byte {mpos} codes component {cid} a second time")
        if td > 3 or not hdef[td]:
            raise fail(f"the scan at byte {mpos} uses DC Huffman table {td}, which no DHT segment defined before it")
        if ta > 3 or not hdef[4 + ta]:
            raise fail(f"the scan at byte {mpos} uses AC Huffman table {ta}, which no DHT segment defined before it")
        if not qdef[int(fr.tq[ci])]:
            raise fail(f"component {cid} uses quantisation table {int(fr.tq[ci])}, which no DQT segment defined "
                       f"before the scan at byte {mpos}")
        comps.append(ci)
        dcsel.append(td)
        acsel.append(4 + ta)
        blocks += int(fr.hs[ci] * fr.vs[ci])
    if ns > 1 and blocks > 10:
        raise fail(f"the scan at byte {mpos} interleaves {blocks} blocks per MCU; T.81 allows at most 10")
    ss, se, ahal = int(seg[1 + 2 * ns]), int(seg[2 + 2 * ns]), int(seg[3 + 2 * ns])
    if ss != 0 or ahal != 0:
        raise fail(f"the scan at byte {mpos} has spectral selection {ss}..{se} and successive approximation "
                   f"0x{ahal:02X}: a progressive scan, not sequential DCT")
    fr.done.update(fr.ids[c] for c in comps)
    return comps, dcsel, acsel


def _photometric_of(params: Any, kwargs: dict) -> str:
    pi = kwargs.pop("photometric", None)
    if pi is None and params is not None:
        for name in ("photometric", "PhotometricInterpretation", "photometric_interpretation"):
            v = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
            if v is not None:
                pi = v
                break
    return str(pi or "").strip().upper()


def read_header(data: Any, *, frame: int | None = None) -> JpegDctHeader:
    """Read the markers of a DCT-based sequential JPEG codestream (without decoding its scans).

    Raises
    ------
    CodecError
        When the codestream is not baseline or extended sequential JPEG, or its markers are bad.

    Examples
    --------
    >>> import numpy as np
    >>> h = read_header(encode_frame(np.zeros((3, 5), np.uint8), rows=3, columns=5, bits_allocated=8))
    >>> h.process, h.precision, h.rows, h.columns
    ('baseline', 8, 3, 5)
    """
    return _parse(codestream_array(data, _where(frame)), frame)[0]


def decode_frame(data: Any, params: Any = None, *, frame: int | None = None, out: np.ndarray | None = None,
                 colour: str = "auto", **kwargs: Any) -> np.ndarray:
    """Decode one JPEG baseline or extended frame (8 or 12 bits, any sampling, restart markers).

    Parameters
    ----------
    data
        The frame's codestream (bytes-like or a uint8 array), as given by
        :func:`pacsnb.io.encaps.get_frame`; padding after EOI is ignored.
    params
        A :class:`~pacsnb.codecs.FrameParams` or anything ``FrameParams.of`` takes (such
        as ``pacsnb.pixels.PixelFormat`` or a Dataset), whose Photometric Interpretation
        (``photometric``) is also read; keyword arguments override it. When neither is
        given, the frame header decides: 8 bits allocated for 8-bit data, else 16.
    frame
        The frame's number, for error messages.
    out
        A writeable C-contiguous array of the frame's shape and dtype to decode into.
    colour
        ``"auto"``: the coded values, except that YCbCr data in a frame whose
        Photometric Interpretation is ``RGB`` (JFIF or Adobe YCbCr markers) is converted
        to RGB; ``"raw"``: always the coded values.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` or ``(rows, columns, samples)``, full size (subsampled
        components upsampled), C-contiguous (``out`` when given).

    Raises
    ------
    CodecError
        Naming the frame and the byte offset: not a JPEG codestream, an unsupported process
        (progressive, lossless, hierarchical, arithmetic), misplaced, missing or truncated
        markers, undefined tables, invalid codes, data that ends too early, a frame that
        does not match ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((16, 16, 3), np.uint8); rgb[..., 0] = 200; rgb[8:, :, 2] = 255
    >>> data = encode_frame(rgb, rows=16, columns=16, samples=3, bits_allocated=8, quality=100)
    >>> ybr = decode_frame(data, rows=16, columns=16, samples=3, bits_allocated=8)
    >>> ybr[0, 0], ybr[15, 15]    # YCbCr, as coded (Photometric Interpretation YBR_FULL_422)
    (array([ 60,  94, 228], dtype=uint8), array([ 89, 222, 207], dtype=uint8))
    """
    photometric = _photometric_of(params, kwargs)
    src = codestream_array(data, _where(frame))

    def header() -> tuple[int, int, int, int]:
        h = read_header(src, frame=frame)
        return h.rows, h.columns, h.components, h.precision

    p = jpeg_frame_params(params, kwargs, header, _where(frame), "JPEG DCT")
    if colour not in ("auto", "raw"):
        raise ValueError(f"colour must be 'auto' or 'raw', not {colour!r}")
    out = frame_output(out, p.shape, p.dtype)
    flat = out.reshape(-1)
    h, fr = _parse(src, frame, p, flat)
    if fr.planes is not flat:
        K.assemble(fr.planes, fr.poff, fr.pstride, fr.cw, fr.ch, fr.hs, fr.vs, fr.hmax, fr.vmax, fr.rows,
                   fr.columns, fr.nf, flat)
    if (colour == "auto" and fr.nf == 3 and photometric == "RGB" and h.colour in ("JFIF", "Adobe-YCbCr")):
        K.ycc_to_rgb(flat, (1 << fr.precision) - 1)
    return out


# -- encoding -------------------------------------------------------------------------------------
def quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """The luminance and chrominance quantisation tables for ``quality`` (1 .. 100), in
    natural order: T.81 Tables K.1 and K.2 scaled by ``5000 / quality`` percent below 50
    and ``200 - 2 * quality`` percent from 50, rounded, within 1 .. 255.

    Examples
    --------
    >>> lum, chrom = quant_tables(50)
    >>> lum[:4].tolist(), chrom[:4].tolist()
    ([16, 11, 10, 16], [17, 18, 24, 47])
    >>> int(quant_tables(100)[0].max()), int(quant_tables(1)[0].min())
    (1, 255)
    """
    q = int(quality)
    if not 1 <= q <= 100:
        raise CodecError(f"JPEG quality {quality} is outside 1 .. 100")
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return tuple(np.clip((t * scale + 50) // 100, 1, 255).astype(np.int64) for t in (_K1, _K2))  # type: ignore


_TSEL = np.array([0, 1, 1], np.int64)


@functools.lru_cache(maxsize=32)
def _tables(quality: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Luminance and chrominance tables (natural order) and their reciprocals for the forward DCT."""
    lum, chrom = quant_tables(quality)
    return lum, chrom, K.quant_reciprocals(np.stack([lum, chrom]))


def colour_plan(photometric: str, samples: int, subsampling: str | None = None) -> tuple[str, str]:
    """How a frame of ``photometric`` is encoded: ``(photometric of the result, subsampling)``.

    RGB is converted to YCbCr; YBR_FULL and YBR_FULL_422 are coded as they are. The
    subsampling is ``"444"``, ``"422"`` or ``"420"``; by default 4:2:2, except 4:4:4 for
    YBR_FULL. The result is YBR_FULL for 4:4:4 and YBR_FULL_422 for subsampled chroma
    (PS3.5 8.2.1); monochrome frames are unchanged.

    Examples
    --------
    >>> colour_plan("RGB", 3), colour_plan("RGB", 3, "444"), colour_plan("MONOCHROME2", 1)
    (('YBR_FULL_422', '422'), ('YBR_FULL', '444'), ('MONOCHROME2', '444'))
    """
    pi = str(photometric or "").strip().upper()
    if samples == 1:
        return (pi or "MONOCHROME2"), "444"
    if samples != 3:
        raise CodecError(f"JPEG encoding takes 1 or 3 samples per pixel, not {samples}")
    if pi not in ("", "RGB", "YBR_FULL", "YBR_FULL_422"):
        raise CodecError(f"cannot JPEG-encode colour frames of Photometric Interpretation {pi}: pacsnb takes RGB, "
                         "YBR_FULL and YBR_FULL_422 (convert with pacsnb.pixels.convert_color_space)")
    sub = subsampling if subsampling is not None else ("444" if pi == "YBR_FULL" else "422")
    sub = str(sub).replace(":", "")
    if sub not in ("444", "422", "420"):
        raise CodecError(f"subsampling {subsampling!r} is not one of '444', '422', '420'")
    return ("YBR_FULL" if sub == "444" else "YBR_FULL_422"), sub


def _values(arr: Any, p: FrameParams, where: str) -> np.ndarray:
    if isinstance(arr, np.ndarray):
        a = arr
        if a.shape != p.shape:
            if a.ndim == 3 and p.samples > 1 and a.shape == (p.samples, p.rows, p.columns):
                a = np.moveaxis(a, 0, -1)
            else:
                raise CodecError(f"{where}: the array's shape {a.shape} does not match the frame's {p.shape}")
        if a.dtype.kind not in "uib":
            raise CodecError(f"{where}: cannot encode a {a.dtype} array")
        return a
    src = codestream_array(arr, where)
    if len(src) < p.frame_bytes:
        raise CodecError(f"{where}: {len(src)} bytes of pixel data, but Rows x Columns x Samples x "
                         f"Bits Allocated / 8 = {p.frame_bytes}")
    vals = np.frombuffer(src[:p.frame_bytes].tobytes(), p.dtype.newbyteorder("<"))
    if p.samples > 1 and p.planar_configuration == 1:
        return vals.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
    return vals.reshape(p.shape)


@dataclass(frozen=True)
class _Layout:
    """What the encoder needs for one kind of frame, computed once (:func:`_layout`)."""

    hs: np.ndarray
    vs: np.ndarray
    hmax: int
    vmax: int
    mcux: int
    mcuy: int
    per: int             # blocks per MCU
    nmcu: int
    ntab: int            # Huffman and quantisation tables: 1 (grey) or 2
    tsel: np.ndarray     # table of each component
    mcu_comp: np.ndarray  # component of each block of an MCU
    recip: np.ndarray    # quantisation reciprocals (K.quant_reciprocals)
    head: np.ndarray     # SOI, DQT, SOF
    tail: np.ndarray     # DRI, SOS


@functools.lru_cache(maxsize=64)
def _layout(rows: int, cols: int, nf: int, sub: str, quality: int, precision: int, extended: bool,
            restart_interval: int) -> _Layout:
    hmax, vmax = {"444": (1, 1), "422": (2, 1), "420": (2, 2)}[sub] if nf == 3 else (1, 1)
    hs = np.array([hmax] + [1] * (nf - 1), np.int64)
    vs = np.array([vmax] + [1] * (nf - 1), np.int64)
    mcux = -(-cols // (8 * hmax))
    mcuy = -(-rows // (8 * vmax))
    lum, chrom, recip = _tables(quality)
    ntab = 1 if nf == 1 else 2
    head = bytearray(b"\xff\xd8")
    for t in range(ntab):
        head += b"\xff\xdb\x00\x43" + bytes([t]) + (lum, chrom)[t][K.ZIGZAG].astype(np.uint8).tobytes()
    head += bytes([0xFF, 0xC1 if extended else 0xC0]) + (8 + 3 * nf).to_bytes(2, "big") + bytes([precision])
    head += rows.to_bytes(2, "big") + cols.to_bytes(2, "big") + bytes([nf])
    for c in range(nf):
        head += bytes([c + 1, (int(hs[c]) << 4) | int(vs[c]), min(c, 1)])
    tail = bytearray()
    if restart_interval:
        tail += b"\xff\xdd\x00\x04" + restart_interval.to_bytes(2, "big")
    tail += b"\xff\xda" + (6 + 2 * nf).to_bytes(2, "big") + bytes([nf])
    for c in range(nf):
        tail += bytes([c + 1, (min(c, 1) << 4) | min(c, 1)])
    tail += b"\x00\x3f\x00"
    return _Layout(hs, vs, hmax, vmax, mcux, mcuy, int((hs * vs).sum()), mcux * mcuy, ntab, _TSEL[:nf].copy(),
                   np.repeat(np.arange(nf, dtype=np.int64), hs * vs), recip,
                   np.frombuffer(bytes(head), np.uint8), np.frombuffer(bytes(tail), np.uint8))


def _encode(array: Any, params: Any, frame: int | None, quality: int, subsampling: str | None,
            restart_interval: int, precision: int | None, extended: bool, kwargs: dict) -> bytes:
    where = _where(frame)
    photometric = _photometric_of(params, kwargs)
    bits_stored = kwargs.pop("bits_stored", None)
    if bits_stored is None and params is not None:
        for name in ("bits_stored", "BitsStored"):
            v = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
            if v is not None:
                bits_stored = int(v)
                break
    p = FrameParams.of(params, **kwargs)
    if p.rows <= 0 or p.columns <= 0 or p.rows > 65535 or p.columns > 65535:
        raise CodecError(f"{where}: Rows x Columns {p.rows} x {p.columns} is outside 1 .. 65535")
    if precision is None:
        precision = 12 if extended and bits_stored is not None and int(bits_stored) > 8 else 8
    if not extended and (p.bits_allocated != 8 or (bits_stored is not None and int(bits_stored) > 8)):
        raise CodecError(f"{where}: JPEG Baseline holds 8-bit samples; Bits Allocated is {p.bits_allocated}"
                         + (f", Bits Stored {bits_stored}" if bits_stored is not None else "")
                         + " (use JPEG Extended, 1.2.840.10008.1.2.4.51, for 12 bits)")
    if precision not in (8, 12) or p.bits_allocated not in (8, 16) or (precision == 12 and p.bits_allocated != 16):
        raise CodecError(f"{where}: cannot encode {precision}-bit JPEG samples in Bits Allocated {p.bits_allocated}")
    if p.samples not in (1, 3):
        raise CodecError(f"{where}: Samples per Pixel {p.samples} is not supported (1 or 3)")
    if not 0 <= int(restart_interval) <= 65535:
        raise CodecError(f"{where}: restart interval {restart_interval} is outside 0 .. 65535")
    out_pi, sub = colour_plan(photometric, p.samples, subsampling)
    a = _values(array, p, where)
    maxval = (1 << precision) - 1
    if a.size and not (a.dtype == np.uint8 or a.dtype == np.bool_):  # 8-bit values always fit
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > maxval:
            raise CodecError(f"{where}: the values {lo} .. {hi} do not fit {precision}-bit unsigned JPEG samples "
                             "(lossy JPEG takes unsigned values; signed data cannot be coded this way)")
    img = np.ascontiguousarray(a, np.uint8 if precision == 8 else np.uint16).reshape(-1)
    lay = _layout(p.rows, p.columns, p.samples, sub, int(quality), precision, extended, int(restart_interval))
    nblocks = lay.nmcu * lay.per
    blocks = np.empty((nblocks, 64), np.int16)
    nzk = np.empty((nblocks, 64), np.uint8)
    nnz = np.empty(nblocks, np.int64)
    hist = np.zeros((2, 17 + 256), np.int64)  # DC counts, then AC counts, of each table
    K.forward_frame(img, p.rows, p.columns, p.samples, p.samples == 3 and photometric in ("", "RGB"), lay.hs, lay.vs,
                    lay.hmax, lay.vmax, lay.mcux, lay.mcuy, lay.recip, lay.tsel, precision, int(restart_interval),
                    blocks, nzk, nnz, hist[:, :17], hist[:, 17:])
    nrst = (lay.nmcu - 1) // restart_interval if restart_interval else 0
    cap = len(lay.head) + 4 * (21 + 256) + len(lay.tail) + nblocks * 600 + 2 * nrst + 16
    buf = np.empty(cap, np.uint8)
    buf[:len(lay.head)] = lay.head
    end = int(K.write_scan(hist, lay.ntab, lay.tail, blocks, nzk, nnz, lay.nmcu, lay.mcu_comp, lay.tsel,
                           int(restart_interval), buf, len(lay.head)))
    if end < 0 or end + 2 > cap:  # cannot happen: the capacity is the worst case
        raise CodecError(f"{where}: internal error: the encoder ran out of room")
    buf[end:end + 2] = (0xFF, 0xD9)
    return buf[:end + 2].tobytes()


def encode_frame(array: Any, params: Any = None, *, frame: int | None = None, quality: int = 90,
                 subsampling: str | None = None, restart_interval: int = 0, **kwargs: Any) -> bytes:
    """Encode one 8-bit frame as JPEG Baseline (Process 1, ``1.2.840.10008.1.2.4.50``).

    Parameters
    ----------
    array
        The frame: ``(rows, columns)`` or ``(rows, columns, 3)`` (also ``(3, rows,
        columns)``) of values 0 .. 255, or its native bytes.
    params
        A :class:`~pacsnb.codecs.FrameParams` or anything ``FrameParams.of`` takes, with
        the Photometric Interpretation (``photometric``: RGB, the default for colour, is
        converted to YCbCr; YBR_FULL / YBR_FULL_422 are coded as they are); keyword
        arguments override it.
    frame
        The frame's number, for error messages.
    quality
        1 (smallest) to 100 (best); IJG scaling of the T.81 Annex K tables.
    subsampling
        ``"444"``, ``"422"`` or ``"420"`` for colour (see :func:`colour_plan`).
    restart_interval
        MCUs per restart interval (0: none).

    Returns
    -------
    bytes
        The codestream, SOI to EOI. Colour frames then have the Photometric
        Interpretation :func:`colour_plan` gives.

    Raises
    ------
    CodecError
        Values that are not 8-bit unsigned samples, an array that does not match
        ``params``, bad parameters.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((8, 8), 100, np.uint8)
    >>> data = encode_frame(img, rows=8, columns=8, bits_allocated=8, quality=75)
    >>> decode_frame(data, rows=8, columns=8, bits_allocated=8)[0, :3]
    array([100, 100, 100], dtype=uint8)
    >>> encode_frame(img, rows=8, columns=8, bits_allocated=8, quality=0)
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: JPEG quality 0 is outside 1 .. 100
    """
    return _encode(array, params, frame, quality, subsampling, restart_interval, 8, False, kwargs)


def encode_frame_extended(array: Any, params: Any = None, *, frame: int | None = None, quality: int = 90,
                          subsampling: str | None = None, restart_interval: int = 0, **kwargs: Any) -> bytes:
    """Encode one frame as JPEG Extended (Process 2 & 4, ``1.2.840.10008.1.2.4.51``, SOF1).

    12-bit samples when Bits Stored (``bits_stored`` or the ``BitsStored`` of ``params``)
    is more than 8 (Bits Allocated 16), else 8-bit; the other parameters are those of
    :func:`encode_frame`.

    Examples
    --------
    >>> import numpy as np
    >>> ct = np.linspace(0, 4095, 64).astype(np.uint16).reshape(8, 8)
    >>> data = encode_frame_extended(ct, rows=8, columns=8, bits_allocated=16, bits_stored=12, quality=100)
    >>> read_header(data).precision
    12
    >>> int(np.abs(decode_frame(data).astype(int) - ct).max()) <= 2
    True
    """
    return _encode(array, params, frame, quality, subsampling, restart_interval, None, True, kwargs)
