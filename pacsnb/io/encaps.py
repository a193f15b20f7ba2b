"""Encapsulated pixel data (PS3.5 A.4): items, fragments, offset tables and frames.

Compressed pixel data is stored in (7FE0,0010) with undefined length as a run of items
(FFFE,E000): first the *Basic Offset Table* item, then one *fragment* item per piece of
compressed data, then a sequence delimiter (FFFE,E0DD). Items are always little endian and
of even length. A frame is made of one or more whole fragments; which fragments belong to
which frame is told, in this order of preference, by

1. the *Extended Offset Table* (7FE0,0001) and *Extended Offset Table Lengths* (7FE0,0002)
   (PS3.3 C.7.6.3.1.8; 64-bit offsets and frame lengths; one fragment per frame, empty
   Basic Offset Table),
2. the Basic Offset Table (32-bit offsets of each frame's first fragment item, measured from
   the first byte of the first item after the table),
3. the counts: one frame takes every fragment, and as many fragments as frames means one
   fragment per frame,
4. a heuristic for the JPEG family (JPEG, JPEG-LS, JPEG 2000, HTJ2K): a fragment whose data
   ends with an end-of-image/end-of-codestream marker ``FF D9`` (before any ``00`` padding),
   followed by a fragment that starts a new image (``FF D8``, ``FF 4F FF 51`` or a JP2
   signature box), ends a frame. Other toolkits do the same for these files, which are
   common: many writers leave the Basic Offset Table empty.

An offset table that does not match the fragments is skipped (with a logged warning) and
the next method is tried; when none works, :class:`~pacsnb.errors.InvalidDicomError` says
what each one found. Basic Offset Table entries that wrapped around past 4 GiB are
unwrapped. Extended Offset Table Lengths are written as the length of each frame's item
(padding included, as pydicom does); on reading, a frame is cut to the length given, so
tables written with unpadded lengths read right too.

In pacsnb the value of an encapsulated (7FE0,0010) is the item stream *without* its
sequence delimiter (the writer adds it). For a data set read from a file, :func:`get_frame`
takes the fragment positions from the reader's scan table and copies only the bytes of the
one frame asked for: the whole Pixel Data element is never built, so reading one frame of a
2,000-frame memory-mapped file reads only that frame from disk.

Examples
--------
>>> from pacsnb.dicom.dataset import Dataset
>>> ds = Dataset()
>>> set_encapsulated_pixel_data(ds, [b"\\xff\\xd8frame one\\xff\\xd9", b"\\xff\\xd8two!\\xff\\xd9"],
...                             transfer_syntax="1.2.840.10008.1.2.4.50")
'basic'
>>> number_of_frames(ds), get_frame(ds, 1)
(2, b'\\xff\\xd8two!\\xff\\xd9')
>>> bot, fragments = parse_fragments(ds.PixelData)
>>> bot, fragments
([0, 22], [(24, 14), (46, 8)])
"""
from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, overload

import numpy as np

from pacsnb.dicom.dataset import DataElement, Dataset
from pacsnb.dicom.tag import PIXEL_DATA
from pacsnb.dicom.uid import UID
from pacsnb.errors import DicomValueError, InvalidDicomError
from pacsnb.io import _kernels as K
from pacsnb.io.reader import DataSource

__all__ = [
    "parse_fragments",
    "frame_boundaries",
    "get_frame",
    "iter_frames",
    "number_of_frames",
    "encapsulate",
    "set_encapsulated_pixel_data",
    "EXTENDED_OFFSET_TABLE",
    "EXTENDED_OFFSET_TABLE_LENGTHS",
]

log = logging.getLogger(__name__)

#: (7FE0,0001) Extended Offset Table, OV.
EXTENDED_OFFSET_TABLE = 0x7FE00001
#: (7FE0,0002) Extended Offset Table Lengths, OV.
EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_NUMBER_OF_FRAMES = 0x00280008

_HDR = struct.Struct("<HHI")
_UNDEFINED = 0xFFFFFFFF
#: The largest offset a Basic Offset Table entry can hold (module constant so that tests
#: can exercise the switch to the Extended Offset Table without 4 GiB of data).
_BOT_MAX = 0xFFFFFFFF
#: The largest (even) value length of one fragment item.
_MAX_FRAGMENT = 0xFFFFFFFE
_RLE = "1.2.840.10008.1.2.5"

Buffer = Union[bytes, bytearray, memoryview, np.ndarray]
Pairs = list[tuple[int, int]]
OffsetTableKind = Literal["basic", "extended", "none"]


# ---------------------------------------------------------------------------------------
# the item stream
# ---------------------------------------------------------------------------------------
def _byte_view(data: Any) -> memoryview:
    """A flat byte view of ``data`` (bytes, bytearray, memoryview, mmap or numpy array)."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data)
    mv = memoryview(data)
    if mv.ndim != 1 or mv.itemsize != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    return mv


def _tag_text(g: int, e: int) -> str:
    return f"({g:04X},{e:04X})"


def _walk(mv: memoryview, n: int, base: int, path: str | None) -> tuple[int, int, Pairs]:
    """Walk the items of ``mv[:n]``: (BOT value offset, BOT length, fragments).

    Offsets are relative to ``mv``; error messages report ``base + offset``.
    """

    def bad(msg: str, pos: int) -> InvalidDicomError:
        return InvalidDicomError(f"encapsulated pixel data: {msg}", path=path, offset=base + pos,
                                 tag=PIXEL_DATA)

    frags: Pairs = []
    bot_off = bot_len = -1
    pos = 0
    unpack = _HDR.unpack_from
    while pos < n:
        if pos + 8 > n:
            raise bad(f"the data ends {n - pos} byte(s) into an item header (truncated?)", pos)
        g, e, length = unpack(mv, pos)
        if g == 0xFFFE and e == 0xE0DD:
            if bot_off < 0:
                raise bad("a sequence delimiter where the Basic Offset Table item should be", pos)
            if length != 0 or pos + 8 != n:
                raise bad("a sequence delimiter before the end of the item stream"
                          if pos + 8 != n else f"the sequence delimiter has length {length}, not 0", pos)
            break  # a trailing delimiter is tolerated
        if g != 0xFFFE or e != 0xE000:
            what = "the Basic Offset Table item" if bot_off < 0 else "a fragment item"
            raise bad(f"expected {what} (FFFE,E000), found tag {_tag_text(g, e)}", pos)
        if length == _UNDEFINED:
            raise bad("an item of undefined length; fragment items need a defined length (PS3.5 A.4)", pos)
        vpos = pos + 8
        if vpos + length > n:
            raise bad(f"the item's length {length} runs {vpos + length - n} byte(s) past the end of the "
                      "pixel data (truncated?)", pos)
        if bot_off < 0:
            if length % 4:
                raise bad(f"the Basic Offset Table's length {length} is not a multiple of 4", pos)
            bot_off, bot_len = vpos, length
        else:
            frags.append((vpos, length))
        pos = vpos + length
    if bot_off < 0:
        raise bad("the pixel data is empty: no Basic Offset Table item", 0)
    return bot_off, bot_len, frags


def parse_fragments(data: Buffer, *, path: object = None) -> tuple[list[int], list[tuple[int, int]]]:
    """The Basic Offset Table and the fragments of an encapsulated item stream.

    Nothing is copied: fragments are given as positions in ``data``.

    Parameters
    ----------
    data
        The value of an encapsulated (7FE0,0010): the Basic Offset Table item and the
        fragment items. A trailing sequence delimiter (FFFE,E0DD) is tolerated.
    path
        The file the data comes from, for error messages.

    Returns
    -------
    offsets : list of int
        The Basic Offset Table (empty when its item is empty).
    fragments : list of (int, int)
        ``(offset, length)`` of each fragment's value in ``data`` (after its 8-byte item
        header). Odd lengths, which PS3.5 forbids, are accepted as they are.

    Raises
    ------
    InvalidDicomError
        Naming the byte offset: a tag that is not an item, an item of undefined length, a
        length past the end, a Basic Offset Table whose length is not a multiple of 4, data
        after a sequence delimiter, or no item at all.

    Examples
    --------
    >>> stream = (b"\\xfe\\xff\\x00\\xe0\\x04\\x00\\x00\\x00" + b"\\x00\\x00\\x00\\x00"
    ...           + b"\\xfe\\xff\\x00\\xe0\\x02\\x00\\x00\\x00" + b"AB")
    >>> parse_fragments(stream)
    ([0], [(20, 2)])
    >>> parse_fragments(stream[:-1])
    Traceback (most recent call last):
    ...
    pacsnb.errors.InvalidDicomError: at byte 12, element (7FE0,0010): encapsulated pixel data: the item's length 2 runs 1 byte(s) past the end of the pixel data (truncated?)
    """
    mv = _byte_view(data)
    p = None if path is None else str(path)
    bot_off, bot_len, frags = _walk(mv, len(mv), 0, p)
    return np.frombuffer(mv[bot_off:bot_off + bot_len], "<u4").tolist(), frags


@dataclass(slots=True)
class _Stream:
    """An item stream: where its bytes are and what its items are."""

    view: memoryview        # bytes holding the stream
    base: int               # offset of the stream's first byte in ``view``
    size: int               # length of the stream (without a sequence delimiter)
    bot: np.ndarray         # the Basic Offset Table (int64)
    off: np.ndarray         # each fragment's value offset, relative to the stream (int64)
    length: np.ndarray      # each fragment's length (int64)
    path: str | None

    @property
    def n(self) -> int:
        return len(self.off)

    def head(self, i: int, n: int) -> bytes:
        o, ln = int(self.off[i]), int(self.length[i])
        return bytes(self.view[self.base + o:self.base + o + min(n, ln)])

    def tail(self, i: int, n: int) -> bytes:
        o, ln = int(self.off[i]), int(self.length[i])
        return bytes(self.view[self.base + o + max(0, ln - n):self.base + o + ln])

    def error(self, msg: str) -> InvalidDicomError:
        return InvalidDicomError(msg, path=self.path, offset=self.base, tag=PIXEL_DATA)


@dataclass(slots=True)
class _Frames:
    """Frame ``i`` is fragments ``starts[i]:starts[i + 1]``, cut to ``cut[i]`` bytes if given."""

    stream: _Stream
    starts: np.ndarray              # int64, one more than the number of frames
    cut: np.ndarray | None = None   # int64 frame lengths (Extended Offset Table Lengths)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def pairs(self, i: int) -> Pairs:
        s = self.stream
        a, b = int(self.starts[i]), int(self.starts[i + 1])
        out = list(zip(s.off[a:b].tolist(), s.length[a:b].tolist()))
        if self.cut is not None:
            left = int(self.cut[i])
            trimmed: Pairs = []
            for o, n in out:
                if left <= 0 and trimmed:
                    break
                trimmed.append((o, min(n, left)))
                left -= n
            out = trimmed
        return out

    def read(self, i: int) -> bytes:
        s = self.stream
        b, v = s.base, s.view
        pairs = self.pairs(i)
        if len(pairs) == 1:
            o, n = pairs[0]
            return bytes(v[b + o:b + o + n])
        return b"".join([v[b + o:b + o + n] for o, n in pairs])


def _stream_of_value(value: Any, path: str | None) -> _Stream:
    mv = _byte_view(value)
    bot_off, bot_len, frags = _walk(mv, len(mv), 0, path)
    arr = np.array(frags, dtype=np.int64).reshape(-1, 2)
    bot = np.frombuffer(mv[bot_off:bot_off + bot_len], "<u4").astype(np.int64)
    return _Stream(mv, 0, len(mv), bot, arr[:, 0].copy(), arr[:, 1].copy(), path)


def _not_encapsulated(ds: Dataset) -> DicomValueError:
    return DicomValueError("this data set's Pixel Data (7FE0,0010) is native (not encapsulated); "
                           "read it with the pixels layer, not as compressed frames")


def _stream_of_dataset(ds: Dataset) -> _Stream:
    entry = ds._dict.get(PIXEL_DATA) if PIXEL_DATA in ds else None
    if entry is None:
        raise DicomValueError("the data set has no Pixel Data (7FE0,0010), so it has no frames")
    src = ds._src
    path = getattr(src, "path", None) or (str(ds.filename) if ds.filename else None)
    if type(entry) is int and isinstance(src, DataSource):
        # read from a file and never touched: the reader's scan table has a row per item
        # after the Pixel Data row; use it, and copy nothing
        tab = src.tab
        row = entry
        if int(tab[row, K.COL_LENGTH]) >= 0:
            raise _not_encapsulated(ds)
        base = int(tab[row, K.COL_OFFSET])
        end = int(tab[row, K.COL_END]) - 8
        nxt = int(tab[row, K.COL_NEXT])
        sub = tab[row + 1:nxt]
        depth = int(tab[row, K.COL_DEPTH]) + 1
        if len(sub) and bool(np.all((sub[:, K.COL_KIND] & 3) == K.FRAGMENT)) \
                and bool(np.all(sub[:, K.COL_DEPTH] == depth)) and not (int(tab[row, K.COL_KIND]) & K.BIG_BIT):
            view = _byte_view(src.buf)
            bot_off, bot_len = int(sub[0, K.COL_OFFSET]), int(sub[0, K.COL_LENGTH])
            if bot_len % 4:
                raise InvalidDicomError(
                    f"encapsulated pixel data: the Basic Offset Table's length {bot_len} is not a multiple of 4",
                    path=path, offset=bot_off - 8, tag=PIXEL_DATA)
            bot = np.frombuffer(view[bot_off:bot_off + bot_len], "<u4").astype(np.int64)
            return _Stream(view, base, end - base, bot, sub[1:, K.COL_OFFSET] - base,
                           sub[1:, K.COL_LENGTH].copy(), path)
    e = ds[PIXEL_DATA]
    if not e.is_undefined_length:
        raise _not_encapsulated(ds)
    return _stream_of_value(e.value, path)


# ---------------------------------------------------------------------------------------
# frame boundaries
# ---------------------------------------------------------------------------------------
def _u64_values(v: Any) -> np.ndarray | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        return np.frombuffer(b, "<u8") if len(b) % 8 == 0 else None
    a = np.asarray(v)
    if a.dtype == np.uint8:
        b = a.tobytes()
        return np.frombuffer(b, "<u8") if len(b) % 8 == 0 else None
    if a.dtype.kind not in "ui":
        return None
    return a.astype(np.uint64).ravel()


def _nframes_of(ds: Dataset) -> int | None:
    if _NUMBER_OF_FRAMES not in ds:
        return 1  # absent: a single frame (PS3.3 C.7.6.6)
    v = ds.get(_NUMBER_OF_FRAMES)
    try:
        n = int(v) if v not in (None, "") else 1
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


def _unwrap32(offsets: np.ndarray) -> np.ndarray:
    """Undo the 32-bit wrap-around of Basic Offset Table entries past 4 GiB (seen in the wild)."""
    out, add, prev = [], 0, -1
    for o in offsets.tolist():
        if o + add <= prev:
            add += _BOT_MAX + 1
        prev = o + add
        out.append(prev)
    return np.asarray(out, dtype=np.int64)


def _starts_from_offsets(stream: _Stream, offsets: np.ndarray, what: str) -> tuple[np.ndarray | None, str]:
    """Fragment index of each frame's first fragment, from item offsets (BOT or EOT)."""
    if not len(offsets):
        return None, f"the {what} is empty"
    if not stream.n:
        return None, f"the {what} has {len(offsets)} entries but there are no fragments"
    if int(offsets[0]) != 0:
        return None, f"the {what}'s first offset is {int(offsets[0])}, not 0"
    headers = stream.off - stream.off[0]       # item offsets, from the first fragment item
    idx = np.searchsorted(headers, offsets)
    hit = idx < len(headers)
    hit[hit] = headers[idx[hit]] == offsets[hit]
    if len(offsets) > 1:
        hit[1:] &= idx[1:] > idx[:-1]
    if not hit.all():
        k = int(np.argmin(hit))
        return None, (f"the {what}'s entry {k} ({int(offsets[k])}) is not the offset of a fragment item "
                      "after the previous frame's")
    return np.append(idx, stream.n).astype(np.int64), ""


def _from_bot(stream: _Stream) -> tuple[_Frames | None, str]:
    offs = stream.bot
    if stream.size > _BOT_MAX and len(offs) > 1 and bool(np.any(offs[1:] <= offs[:-1])):
        offs = _unwrap32(offs)
    starts, why = _starts_from_offsets(stream, offs, "Basic Offset Table")
    return (None if starts is None else _Frames(stream, starts)), why


def _from_eot(stream: _Stream, offsets: np.ndarray, lengths: np.ndarray) -> tuple[_Frames | None, str]:
    if len(offsets) != len(lengths):
        return None, (f"the Extended Offset Table has {len(offsets)} entries but its Lengths has "
                      f"{len(lengths)}")
    if len(offsets) and int(offsets.max()) > stream.size:
        return None, "the Extended Offset Table points past the end of the pixel data"
    starts, why = _starts_from_offsets(stream, offsets.astype(np.int64), "Extended Offset Table")
    if starts is None:
        return None, why
    csum = np.concatenate(([0], np.cumsum(stream.length)))
    have = csum[starts[1:]] - csum[starts[:-1]]
    want = lengths.astype(np.int64) if int(lengths.max(initial=0)) < (1 << 62) else None
    if want is None or bool(np.any(want > have)):
        k = 0 if want is None else int(np.argmax(want > have))
        return None, (f"the Extended Offset Table Lengths gives frame {k} {int(lengths[k])} bytes, but its "
                      f"fragment(s) hold {int(have[k])}")
    return _Frames(stream, starts, want), ""


_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def _starts_image(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8") or head.startswith(b"\xff\x4f\xff\x51") or head.startswith(_JP2_SIGNATURE)


def _ends_image(tail: bytes) -> bool:
    return tail.rstrip(b"\x00").endswith(b"\xff\xd9")


def _from_markers(stream: _Stream, n_frames: int) -> tuple[_Frames | None, str]:
    n = stream.n
    starts_img = [_starts_image(stream.head(i, 12)) for i in range(n)]
    ends = [i for i in range(n - 1) if starts_img[i + 1] and _ends_image(stream.tail(i, 16))]
    starts = [0] + [i + 1 for i in ends]
    if len(starts) == n_frames:
        return _Frames(stream, np.asarray(starts + [n], np.int64)), ""
    found = len(starts)
    starts = [i for i in range(n) if starts_img[i]]
    if starts and starts[0] == 0 and len(starts) == n_frames:
        return _Frames(stream, np.asarray(starts + [n], np.int64)), ""
    return None, (f"splitting the {n} fragments on JPEG end/start-of-image markers gives {found} "
                  f"frame(s), not {n_frames}")


def _boundaries(stream: _Stream, n_frames: int | None, eot: tuple[Any, Any] | None) -> _Frames:
    problems: list[str] = []
    n = stream.n
    where = stream.path or "encapsulated pixel data"

    def found(frames: _Frames, how: str) -> _Frames:
        if problems:  # an offset table was there but could not be used
            log.warning("%s: %s; frames found by %s instead", where, "; ".join(problems), how)
        return frames

    if eot is not None and (eot[0] is not None or eot[1] is not None):
        offsets, lengths = _u64_values(eot[0]), _u64_values(eot[1])
        if offsets is None or lengths is None:
            problems.append("the Extended Offset Table (7FE0,0001) and its Lengths (7FE0,0002) must both be "
                            "present as 64-bit values")
        else:
            got, why = _from_eot(stream, offsets, lengths)
            if got is not None:
                if n_frames is not None and len(got) != n_frames:
                    log.warning("%s: the Extended Offset Table lists %d frames, Number of Frames says %d; "
                                "using the table", where, len(got), n_frames)
                return got
            problems.append(why)
    by_bot = None
    if len(stream.bot):
        by_bot, why = _from_bot(stream)
        if by_bot is not None and (n_frames is None or len(by_bot) == n_frames):
            return found(by_bot, "the Basic Offset Table")
        if by_bot is not None:
            problems.append(f"the Basic Offset Table lists {len(by_bot)} frames, Number of Frames says {n_frames}")
        else:
            problems.append(why)
    if not n:
        problems.append("there are no fragments")
    elif n_frames is None:
        if n == 1:
            return found(_Frames(stream, np.array([0, 1], np.int64)), "taking the only fragment")
        problems.append(f"the number of frames is unknown and there are {n} fragments: give n_frames "
                        "(Number of Frames)")
    elif n_frames == 1:
        return found(_Frames(stream, np.array([0, n], np.int64)), "taking all fragments for the single frame")
    elif n == n_frames:
        return found(_Frames(stream, np.arange(n + 1, dtype=np.int64)), "taking one fragment per frame")
    elif n < n_frames:
        problems.append(f"{n_frames} frames cannot be made of {n} fragment(s)")
    else:
        got, why = _from_markers(stream, n_frames)
        if got is not None:
            return found(got, "JPEG markers")
        problems.append(why)
    if by_bot is not None:
        log.warning("%s: %s; using the Basic Offset Table's %d frames", where, "; ".join(problems), len(by_bot))
        return by_bot
    raise stream.error("cannot tell which fragments make up which frame of the encapsulated pixel data: "
                       + "; ".join(problems) + ". The file needs a valid offset table")


def _resolve(ds_or_value: Any, n_frames: int | None) -> _Frames:
    if n_frames is not None and (not isinstance(n_frames, (int, np.integer)) or n_frames < 1):
        raise ValueError(f"n_frames must be a positive int or None, got {n_frames!r}")
    if isinstance(ds_or_value, Dataset):
        ds = ds_or_value
        stream = _stream_of_dataset(ds)
        nf = int(n_frames) if n_frames is not None else _nframes_of(ds)
        eot = None
        if EXTENDED_OFFSET_TABLE in ds or EXTENDED_OFFSET_TABLE_LENGTHS in ds:
            eot = (ds.get(EXTENDED_OFFSET_TABLE), ds.get(EXTENDED_OFFSET_TABLE_LENGTHS))
        return _boundaries(stream, nf, eot)
    if isinstance(ds_or_value, DataElement):
        ds_or_value = ds_or_value.value
    stream = _stream_of_value(ds_or_value, None)
    return _boundaries(stream, None if n_frames is None else int(n_frames), None)


def frame_boundaries(ds_or_value: Union[Dataset, DataElement, Buffer], n_frames: int | None = None
                     ) -> list[list[tuple[int, int]]]:
    """Which fragments make up each frame.

    Parameters
    ----------
    ds_or_value
        A data set with encapsulated Pixel Data (its Extended Offset Table and Number of
        Frames are used), or the item stream itself (bytes, memoryview, uint8 array, or the
        (7FE0,0010) element).
    n_frames
        The number of frames; by default Number of Frames (0028,0008) of the data set (1 when
        absent). For a bare item stream with an empty Basic Offset Table it must be given
        unless there is a single fragment.

    Returns
    -------
    list of list of (int, int)
        For each frame, ``(offset, length)`` of its fragments' values, offsets relative to
        the start of the item stream (as in :func:`parse_fragments`). With an Extended Offset
        Table the frame is cut to its length in (7FE0,0002) (which may leave out a padding
        byte).

    Raises
    ------
    InvalidDicomError
        When the stream is malformed or no method tells the frames apart (the message says
        what each method found).
    DicomValueError
        When the data set has no Pixel Data, or native Pixel Data.

    Notes
    -----
    The methods, in order: Extended Offset Table; Basic Offset Table; one frame takes all
    fragments; one fragment per frame when the counts are equal; the JPEG marker heuristic
    (see the module notes). An offset table that does not match the fragments is skipped
    with the reason kept for the error message; a valid Basic Offset Table whose frame count
    differs from ``n_frames`` is used, with a logged warning, when nothing else fits.

    Examples
    --------
    >>> stream = encapsulate([b"abcd", b"efg"], offset_table="none")
    >>> frame_boundaries(stream, n_frames=2)
    [[(16, 4)], [(28, 4)]]
    >>> frame_boundaries(encapsulate([b"abcdef"], fragments_per_frame=2))
    [[(20, 4), (32, 2)]]
    """
    frames = _resolve(ds_or_value, n_frames)
    return [frames.pairs(i) for i in range(len(frames))]


def get_frame(ds: Union[Dataset, DataElement, Buffer], index: int, *, n_frames: int | None = None) -> bytes:
    """The encoded bytes of one frame: its fragments, concatenated.

    Only that frame's fragments are copied; for a data set read from a file the Pixel Data
    element is not even built.

    Parameters
    ----------
    ds
        A data set with encapsulated Pixel Data (or the item stream, see
        :func:`frame_boundaries`).
    index
        The frame number, from 0; negative numbers count from the end.
    n_frames
        Overrides Number of Frames (see :func:`frame_boundaries`).

    Returns
    -------
    bytes
        The frame, with any padding byte of its last fragment (unless an Extended Offset
        Table gives a length without it).

    Raises
    ------
    IndexError
        When there is no such frame.
    InvalidDicomError
        When the pixel data is malformed.

    Examples
    --------
    >>> stream = encapsulate([b"first", b"second"])
    >>> get_frame(stream, 0), get_frame(stream, -1)
    (b'first\\x00', b'second')
    """
    frames = _resolve(ds, n_frames)
    n = len(frames)
    i = int(index)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"frame index {index} is out of range: the pixel data has {n} frame(s)")
    return frames.read(i)


def iter_frames(ds: Union[Dataset, DataElement, Buffer], *, n_frames: int | None = None) -> Iterator[bytes]:
    """Yield the encoded bytes of each frame in turn (the frame table is worked out once).

    Parameters
    ----------
    ds
        A data set with encapsulated Pixel Data, or the item stream (see
        :func:`frame_boundaries`).
    n_frames
        Overrides Number of Frames (see :func:`frame_boundaries`).

    Yields
    ------
    bytes
        Each frame, as :func:`get_frame` gives it.

    Raises
    ------
    InvalidDicomError
        When the pixel data is malformed or its frames cannot be told apart.
    DicomValueError
        When the data set has no Pixel Data, or native Pixel Data.

    Examples
    --------
    >>> list(iter_frames(encapsulate([b"ab", b"cd", b"ef"], offset_table="none"), n_frames=3))
    [b'ab', b'cd', b'ef']
    """
    frames = _resolve(ds, n_frames)
    for i in range(len(frames)):
        yield frames.read(i)


def number_of_frames(ds: Dataset) -> int:
    """The number of frames, as :func:`get_frame` sees them.

    For encapsulated Pixel Data, the number of frames found in it (normally Number of
    Frames); otherwise Number of Frames (0028,0008), 1 when absent or empty.

    Parameters
    ----------
    ds
        A data set, with or without Pixel Data.

    Returns
    -------
    int

    Raises
    ------
    InvalidDicomError
        When encapsulated pixel data is malformed.

    Examples
    --------
    >>> from pacsnb.dicom.dataset import Dataset
    >>> ds = Dataset()
    >>> number_of_frames(ds)
    1
    >>> _ = set_encapsulated_pixel_data(ds, [b"a", b"b", b"c"], transfer_syntax="1.2.840.10008.1.2.5")
    >>> number_of_frames(ds)
    3
    """
    if PIXEL_DATA in ds:
        entry = ds._dict[PIXEL_DATA]
        if type(entry) is int and isinstance(ds._src, DataSource):
            encapsulated = int(ds._src.tab[entry, K.COL_LENGTH]) < 0
        else:
            encapsulated = ds[PIXEL_DATA].is_undefined_length
        if encapsulated:
            return len(_resolve(ds, None))
    n = _nframes_of(ds)
    return 1 if n is None else n


# ---------------------------------------------------------------------------------------
# building encapsulated pixel data
# ---------------------------------------------------------------------------------------
def _split(n: int, fragments_per_frame: int, max_fragment_size: int | None) -> list[tuple[int, int]]:
    if n == 0:
        return [(0, 0)]
    if max_fragment_size is not None:
        size = max_fragment_size
    elif fragments_per_frame == 1:
        size = n
    else:
        size = -(-n // fragments_per_frame)
    size += size & 1
    size = min(size, _MAX_FRAGMENT)
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def _check_kind(offset_table: str) -> None:
    if offset_table not in ("basic", "extended", "none"):
        raise ValueError(f"offset_table must be 'basic', 'extended' or 'none', not {offset_table!r}")


def _plan(frames: Sequence[Any], fragments_per_frame: int, max_fragment_size: int | None
          ) -> tuple[list[memoryview], list[list[tuple[int, int]]], list[int]]:
    """Frame views, their pieces, and each frame's first item offset after the BOT item."""
    if isinstance(frames, (bytes, bytearray, memoryview)):
        raise TypeError("frames must be a sequence of frames (e.g. a list of bytes), not one bytes object")
    if not isinstance(fragments_per_frame, (int, np.integer)) or fragments_per_frame < 1:
        raise ValueError(f"fragments_per_frame must be an int >= 1, got {fragments_per_frame!r}")
    if max_fragment_size is not None:
        if fragments_per_frame != 1:
            raise ValueError("give fragments_per_frame or max_fragment_size, not both")
        if not isinstance(max_fragment_size, (int, np.integer)) or max_fragment_size < 2 or max_fragment_size % 2:
            raise ValueError(f"max_fragment_size must be an even int >= 2, got {max_fragment_size!r}")
    views = [_byte_view(f) for f in frames]
    if not views:
        raise DicomValueError("no frames to encapsulate")
    pieces = [_split(len(v), int(fragments_per_frame), max_fragment_size) for v in views]
    offsets = []
    pos = 0
    for ps in pieces:
        offsets.append(pos)
        for a, b in ps:
            pos += 8 + (b - a) + ((b - a) & 1)
    return views, pieces, offsets


def _eot_lengths(views: list[memoryview]) -> np.ndarray:
    # the length of the item holding each frame, padding included (as pydicom and the
    # wsidicom writers do), so that a frame reads the same through either offset table
    return np.asarray([len(v) + (len(v) & 1) for v in views], dtype=np.uint64)


def _item_header(length: int) -> bytes:
    return _HDR.pack(0xFFFE, 0xE000, length)


def _build(views: list[memoryview], pieces: list[list[tuple[int, int]]], bot: bytes) -> bytes:
    parts: list[Any] = [_item_header(len(bot)), bot]
    for v, ps in zip(views, pieces):
        for a, b in ps:
            n = b - a
            parts.append(_item_header(n + (n & 1)))
            parts.append(v[a:b])
            if n & 1:
                parts.append(b"\x00")
    return b"".join(parts)


@overload
def encapsulate(frames: Sequence[Any], *, fragments_per_frame: int = ..., max_fragment_size: int | None = ...,
                offset_table: Literal["basic", "none"] = ...) -> bytes: ...


@overload
def encapsulate(frames: Sequence[Any], *, fragments_per_frame: int = ..., max_fragment_size: int | None = ...,
                offset_table: Literal["extended"]) -> tuple[bytes, np.ndarray, np.ndarray]: ...


def encapsulate(frames: Sequence[Any], *, fragments_per_frame: int = 1, max_fragment_size: int | None = None,
                offset_table: OffsetTableKind = "basic") -> Union[bytes, tuple[bytes, np.ndarray, np.ndarray]]:
    """Build an encapsulated item stream (PS3.5 A.4) from encoded frames.

    Parameters
    ----------
    frames
        The encoded frames (bytes-like), one per frame, each already compressed in the
        transfer syntax the data set will be written in.
    fragments_per_frame
        Split each frame into (at most) this many fragments of even length.
    max_fragment_size
        Or: split each frame into fragments of at most this many bytes (even). Without
        either, a frame larger than 4 GiB - 2 bytes is still split, as an item length is 32
        bits.
    offset_table
        ``"basic"``: fill the Basic Offset Table; ``"extended"``: leave it empty and return
        the Extended Offset Table and its Lengths too (one fragment per frame is then
        required, PS3.3 C.7.6.3.1.8); ``"none"``: leave it empty.

    Returns
    -------
    bytes or (bytes, numpy.ndarray, numpy.ndarray)
        The item stream without the sequence delimiter (the value of (7FE0,0010) in
        pacsnb); with ``"extended"`` also the uint64 arrays for (7FE0,0001) (offsets of each
        frame's item from the first item after the Basic Offset Table) and (7FE0,0002) (the
        length of each frame's item, padding included).

    Raises
    ------
    DicomValueError
        No frames; a Basic Offset Table entry past 4 GiB (use ``"extended"``, or
        :func:`set_encapsulated_pixel_data`, which switches by itself); fragmented frames
        with an Extended Offset Table.
    ValueError
        An unknown ``offset_table``, or a bad ``fragments_per_frame`` or
        ``max_fragment_size`` (or both given).
    TypeError
        ``frames`` given as one bytes object instead of a sequence of frames.

    Notes
    -----
    Every fragment item has an even length: a fragment of odd length is padded with one
    ``00`` byte (PS3.5 A.4), which the frame read back then includes. An empty frame gets
    one empty fragment.

    Examples
    --------
    >>> encapsulate([b"abc"])
    b'\\xfe\\xff\\x00\\xe0\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xfe\\xff\\x00\\xe0\\x04\\x00\\x00\\x00abc\\x00'
    >>> stream, offsets, lengths = encapsulate([b"abc", b"de"], offset_table="extended")
    >>> offsets.tolist(), lengths.tolist()
    ([0, 12], [4, 2])
    """
    _check_kind(offset_table)
    views, pieces, offsets = _plan(frames, fragments_per_frame, max_fragment_size)
    if offset_table == "extended":
        if any(len(ps) > 1 for ps in pieces):
            raise DicomValueError("with an Extended Offset Table each frame must be one fragment "
                                  "(PS3.3 C.7.6.3.1.8): use fragments_per_frame=1 and no max_fragment_size")
        data = _build(views, pieces, b"")
        return data, np.asarray(offsets, dtype=np.uint64), _eot_lengths(views)
    if offset_table == "basic":
        if offsets[-1] > _BOT_MAX:
            raise DicomValueError(
                f"the last frame starts {offsets[-1]} bytes into the fragments, past what a Basic Offset Table "
                "can hold (4 GiB): use offset_table='extended' (set_encapsulated_pixel_data switches by itself)")
        bot = np.asarray(offsets, dtype="<u4").tobytes()
    else:
        bot = b""
    return _build(views, pieces, bot)


def set_encapsulated_pixel_data(ds: Dataset, frames: Sequence[Any], transfer_syntax: str | None = None,
                                offset_table: OffsetTableKind = "basic", *, fragments_per_frame: int = 1,
                                max_fragment_size: int | None = None) -> str:
    """Put encoded frames on a data set as encapsulated Pixel Data.

    Sets (7FE0,0010) as an undefined-length OB element holding the item stream; sets or
    removes the Extended Offset Table (7FE0,0001) and its Lengths (7FE0,0002) to match; sets
    Number of Frames when there is more than one frame or when the data set already has it;
    sets the Transfer Syntax UID of ``ds.file_meta`` when ``transfer_syntax`` is given.

    Parameters
    ----------
    ds
        The data set to change.
    frames
        The encoded frames (see :func:`encapsulate`).
    transfer_syntax
        An encapsulated transfer syntax UID (JPEG, RLE, ...), to record in the file meta.
    offset_table
        ``"basic"``, ``"extended"`` or ``"none"`` (see :func:`encapsulate`). ``"basic"``
        switches to ``"extended"`` by itself when the frames pass 4 GiB.
    fragments_per_frame, max_fragment_size
        How to split frames into fragments (see :func:`encapsulate`).

    Returns
    -------
    str
        The kind of offset table written.

    Raises
    ------
    DicomValueError
        A transfer syntax that is not encapsulated; fragmented frames for RLE (PS3.5 A.4.2:
        one fragment per frame) or with an Extended Offset Table; no frames.
    ValueError, TypeError
        Bad arguments, as for :func:`encapsulate`.

    Examples
    --------
    >>> from pacsnb.dicom.dataset import Dataset
    >>> ds = Dataset()
    >>> set_encapsulated_pixel_data(ds, [b"\\x00\\x01", b"\\x02\\x03"], "1.2.840.10008.1.2.4.50",
    ...                             offset_table="extended")
    'extended'
    >>> ds.NumberOfFrames, ds[0x7FE00010].is_undefined_length, ds[0x7FE00001].value.tolist()
    ('2', True, [0, 10])
    """
    _check_kind(offset_table)
    if transfer_syntax is not None:
        uid = UID(str(transfer_syntax))
        if not uid.is_transfer_syntax or not uid.is_encapsulated:
            raise DicomValueError(f"{transfer_syntax!r} ({uid.name or 'unknown'}) is not an encapsulated transfer "
                                  "syntax: encapsulated pixel data needs JPEG, RLE, JPEG 2000, ...")
    ts = str(transfer_syntax) if transfer_syntax is not None else (str(ds.transfer_syntax or ""))
    views, pieces, offsets = _plan(frames, fragments_per_frame, max_fragment_size)
    fragmented = any(len(ps) > 1 for ps in pieces)
    if ts == _RLE and fragmented:
        raise DicomValueError("RLE Lossless stores each frame in exactly one fragment (PS3.5 A.4.2): "
                              "do not split frames")
    kind = offset_table
    if kind == "basic" and offsets[-1] > _BOT_MAX:
        if fragmented:
            raise DicomValueError("the frames pass 4 GiB, too much for a Basic Offset Table, and are split into "
                                  "several fragments each, which an Extended Offset Table does not allow: "
                                  "encode one fragment per frame")
        log.info("encapsulated pixel data passes 4 GiB: writing an Extended Offset Table")
        kind = "extended"
    if kind == "extended":
        if fragmented:
            raise DicomValueError("with an Extended Offset Table each frame must be one fragment "
                                  "(PS3.3 C.7.6.3.1.8)")
        value = _build(views, pieces, b"")
        ds.add(DataElement(EXTENDED_OFFSET_TABLE, "OV", np.asarray(offsets, dtype=np.uint64)))
        ds.add(DataElement(EXTENDED_OFFSET_TABLE_LENGTHS, "OV", _eot_lengths(views)))
    else:
        bot = np.asarray(offsets, dtype="<u4").tobytes() if kind == "basic" else b""
        value = _build(views, pieces, bot)
        for t in (EXTENDED_OFFSET_TABLE, EXTENDED_OFFSET_TABLE_LENGTHS):
            if t in ds:
                del ds[t]
    ds.add(DataElement(PIXEL_DATA, "OB", value, undefined_length=True))
    if len(views) > 1 or _NUMBER_OF_FRAMES in ds:
        ds.add(DataElement(_NUMBER_OF_FRAMES, "IS", len(views)))
    if transfer_syntax is not None:
        if ds.file_meta is None:
            ds.file_meta = Dataset()
        ds.file_meta.add(DataElement(0x00020010, "UI", str(transfer_syntax)))
    return kind
