"""Encapsulated pixel data (PS3.5 A.4): offset tables, fragments, frame boundaries.

pydicom is the oracle: its ``generate_frames`` on every encapsulated file it ships, its
``encapsulate``/``encapsulate_extended`` output, and its reading of files we write.
"""
from __future__ import annotations

import logging
import struct
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.encaps as pde
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.filereader import read_file_meta_info
from pydicom.uid import UID as PdUID

import pacsnb
from pacsnb.dicom.dataset import DataElement, Dataset
from pacsnb.dicom.tag import PIXEL_DATA
from pacsnb.errors import DicomValueError, InvalidDicomError
from pacsnb.io import encaps
from pacsnb.io.encaps import (encapsulate, frame_boundaries, get_frame, iter_frames, number_of_frames,
                              parse_fragments, set_encapsulated_pixel_data)

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG2000 = "1.2.840.10008.1.2.4.90"
RLE = "1.2.840.10008.1.2.5"
ITEM = b"\xfe\xff\x00\xe0"
SEQ_DELIM = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


# ---------------------------------------------------------------------------------------
# inventory of pydicom's test files (every file is classified; nothing is skipped silently)
# ---------------------------------------------------------------------------------------
def _inventory() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {"encapsulated": [], "native": [], "no_meta": []}
    for p in sorted(x for x in TEST_FILES.rglob("*") if x.is_file()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                meta = read_file_meta_info(p)
            ts = meta.get("TransferSyntaxUID")
        except Exception:  # noqa: BLE001 - not a Part 10 file (raw data sets, non-DICOM data)
            ts = None
        if ts is None:
            out["no_meta"].append(p)
        elif PdUID(ts).is_encapsulated:
            out["encapsulated"].append(p)
        else:
            out["native"].append(p)
    return out


INVENTORY = _inventory()
ENCAPSULATED = INVENTORY["encapsulated"]


def _pydicom(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def test_inventory_of_pydicom_files():
    counts = {k: len(v) for k, v in INVENTORY.items()}
    print(f"\npydicom test_files: {sum(counts.values())} files: {counts}")
    assert sum(counts.values()) == len([p for p in TEST_FILES.rglob("*") if p.is_file()])
    # the wheel ships 40 encapsulated files (39 with Pixel Data); fail loudly if that changes
    assert len(ENCAPSULATED) >= 40, counts
    with_pixels = [p for p in ENCAPSULATED if "PixelData" in _pydicom(p)]
    multi = [p for p in with_pixels if int(_pydicom(p).get("NumberOfFrames") or 1) > 1]
    print(f"encapsulated: {len(ENCAPSULATED)}, with Pixel Data: {len(with_pixels)}, multi-frame: {len(multi)}")
    assert len(with_pixels) >= 39 and len(multi) >= 5


@pytest.mark.parametrize("path", ENCAPSULATED, ids=lambda p: p.name)
def test_frames_match_pydicom(path: Path):
    pds = _pydicom(path)
    ds = pacsnb.read(path)
    if "PixelData" not in pds:
        # e.g. UN_sequence.dcm: an encapsulated transfer syntax and no pixel data at all
        assert PIXEL_DATA not in ds
        with pytest.raises(DicomValueError, match="no Pixel Data"):
            get_frame(ds, 0)
        assert number_of_frames(ds) == int(pds.get("NumberOfFrames") or 1)
        return
    nf = int(pds.get("NumberOfFrames") or 1)
    kwargs = {}
    if "ExtendedOffsetTable" in pds:
        kwargs["extended_offsets"] = (pds.ExtendedOffsetTable, pds.ExtendedOffsetTableLengths)
    ref = list(pde.generate_frames(pds.PixelData, number_of_frames=nf, **kwargs))
    # a data set read from the file: frames located from the reader's scan table
    assert number_of_frames(ds) == nf == len(ref)
    for i in (0, nf - 1):
        assert get_frame(ds, i) == ref[i]
    assert type(ds._dict[PIXEL_DATA]) is int, "get_frame built the whole Pixel Data element"
    assert list(iter_frames(ds)) == ref
    # the element's value (an in-memory item stream)
    value = ds[PIXEL_DATA].value
    assert value == pds.PixelData  # both leave out the sequence delimiter
    assert list(iter_frames(value, n_frames=nf)) == ref
    bounds = frame_boundaries(ds)
    assert bounds == frame_boundaries(value, nf)
    assert [b"".join(value[o:o + n] for o, n in fr) for fr in bounds] == ref
    # the fragments are pydicom's fragments
    bot, frags = parse_fragments(value)
    assert [value[o:o + n] for o, n in frags] == list(pde.generate_fragments(pds.PixelData))[1:]
    assert bot == pde.parse_basic_offsets(pds.PixelData)


# ---------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------
def _padded(frame: bytes) -> bytes:
    return frame + b"\x00" * (len(frame) & 1)


frames_st = st.lists(st.binary(min_size=0, max_size=80), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=frames_st, fpf=st.integers(1, 4), maxsize=st.one_of(st.none(), st.integers(1, 20).map(lambda x: 2 * x)),
       kind=st.sampled_from(["basic", "none"]))
def test_round_trip_basic_and_none(frames, fpf, maxsize, kind):
    if maxsize is not None:
        fpf = 1
    if kind == "none" and len(frames) > 1:
        fpf, maxsize = 1, None  # no table and several fragments per frame: only markers could tell
    value = encapsulate(frames, fragments_per_frame=fpf, max_fragment_size=maxsize, offset_table=kind)
    bot, frags = parse_fragments(value)
    assert all(n % 2 == 0 for _, n in frags)
    assert len(bot) == (len(frames) if kind == "basic" else 0)
    if maxsize is not None:
        assert all(n <= maxsize for _, n in frags)
    else:
        assert len(frags) <= fpf * len(frames)
    n = len(frames)
    want = [_padded(f) for f in frames]
    assert [get_frame(value, i, n_frames=n) for i in range(n)] == want
    assert list(iter_frames(value, n_frames=n)) == want
    assert list(pde.generate_frames(value, number_of_frames=n)) == want  # the oracle agrees
    # through a data set
    ds = Dataset()
    set_encapsulated_pixel_data(ds, frames, JPEG_BASELINE, kind, fragments_per_frame=fpf,
                                max_fragment_size=maxsize)
    assert number_of_frames(ds) == n
    assert [get_frame(ds, i) for i in range(n)] == want


@settings(max_examples=100, deadline=None)
@given(frames=frames_st)
def test_round_trip_extended(frames):
    value, offsets, lengths = encapsulate(frames, offset_table="extended")
    bot, frags = parse_fragments(value)
    assert bot == []
    assert offsets.dtype == np.uint64 and lengths.dtype == np.uint64
    assert lengths.tolist() == [len(_padded(f)) for f in frames]
    ds = Dataset()
    assert set_encapsulated_pixel_data(ds, frames, JPEG2000, "extended") == "extended"
    assert ds[0x7FE00001].value.tolist() == offsets.tolist()
    assert ds[0x7FE00002].value.tolist() == lengths.tolist()
    want = [_padded(f) for f in frames]
    assert [get_frame(ds, i) for i in range(len(frames))] == want
    ref = list(pde.generate_frames(value, number_of_frames=len(frames),
                                   extended_offsets=(offsets.tolist(), lengths.tolist())))
    assert ref == want


def test_extended_lengths_without_padding_cut_the_frame():
    frames = [b"abc", b"defgh"]
    value, offsets, _ = encapsulate(frames, offset_table="extended")
    ds = Dataset()
    ds.add(DataElement(PIXEL_DATA, "OB", value, undefined_length=True))
    ds.add(DataElement(0x7FE00001, "OV", offsets))
    ds.add(DataElement(0x7FE00002, "OV", np.array([3, 5], np.uint64)))
    ds.NumberOfFrames = 2
    assert list(iter_frames(ds)) == frames
    assert frame_boundaries(ds) == [[(16, 3)], [(28, 5)]]


def _write_read(ds: Dataset, tmp_path: Path, name: str):
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.PatientName = "ENCAPS^TEST"
    path = tmp_path / name
    pacsnb.write(ds, path)
    return path, _pydicom(path), pacsnb.read(path)


@pytest.mark.parametrize("kind,fpf,ts", [("basic", 1, JPEG_BASELINE), ("basic", 3, JPEG_BASELINE),
                                         ("extended", 1, JPEG2000), ("none", 1, RLE)])
def test_written_file_read_by_pydicom(tmp_path, kind, fpf, ts):
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in (101, 64, 1, 250, 33)]
    ds = Dataset()
    assert set_encapsulated_pixel_data(ds, frames, ts, kind, fragments_per_frame=fpf) == kind
    path, pds, ours = _write_read(ds, tmp_path, f"{kind}{fpf}.dcm")
    assert pds.file_meta.TransferSyntaxUID == ts
    assert pds["PixelData"].is_undefined_length
    kwargs = {}
    if kind == "extended":
        assert "ExtendedOffsetTable" in pds
        eot = np.frombuffer(pds.ExtendedOffsetTable, "<u8").tolist()
        assert eot == ds[0x7FE00001].value.tolist()
        kwargs["extended_offsets"] = (pds.ExtendedOffsetTable, pds.ExtendedOffsetTableLengths)
    else:
        assert "ExtendedOffsetTable" not in pds
    assert int(pds.NumberOfFrames) == len(frames)
    ref = list(pde.generate_frames(pds.PixelData, number_of_frames=len(frames), **kwargs))
    want = [_padded(f) for f in frames]
    assert ref == want
    assert [get_frame(ours, i) for i in range(len(frames))] == want
    assert list(iter_frames(ours)) == want
    # pydicom's writer output (same data set, re-encoded by pydicom) is read the same by us
    again = tmp_path / f"{kind}{fpf}-pydicom.dcm"
    pds.save_as(again)
    assert list(iter_frames(pacsnb.read(again))) == want


@pytest.mark.parametrize("fpf,has_bot", [(1, True), (1, False), (2, True), (5, True)])
def test_pydicom_encapsulate_parsed_by_us(fpf, has_bot):
    frames = [bytes(range(i, i + 17 + 6 * i)) for i in range(4)]
    value = pde.encapsulate(frames, fragments_per_frame=fpf, has_bot=has_bot)
    ref = list(pde.generate_frames(value, number_of_frames=len(frames)))
    assert list(iter_frames(value, n_frames=len(frames))) == ref == [_padded(f) for f in frames]
    bot, frags = parse_fragments(value)
    assert len(frags) == fpf * len(frames)
    assert [value[o:o + n] for o, n in frags] == list(pde.generate_fragments(value))[1:]
    # pydicom's encapsulate leaves out the delimiter too; with one it still parses
    assert parse_fragments(value + SEQ_DELIM) == (bot, frags)


def test_pydicom_encapsulate_extended_parsed_by_us():
    frames = [b"\x01" * 9, b"\x02" * 10, b"\x03"]
    value, eot, eotl = pde.encapsulate_extended(frames)
    ds = Dataset()
    ds.add(DataElement(PIXEL_DATA, "OB", value, undefined_length=True))
    ds.add(DataElement(0x7FE00001, "OV", eot))  # raw bytes, as pydicom returns them
    ds.add(DataElement(0x7FE00002, "OV", eotl))
    ds.NumberOfFrames = 3
    ref = list(pde.generate_frames(value, number_of_frames=3, extended_offsets=(eot, eotl)))
    assert list(iter_frames(ds)) == ref == [_padded(f) for f in frames]
    ours_value, ours_eot, ours_eotl = encapsulate(frames, offset_table="extended")
    assert ours_value == value
    assert ours_eot.astype("<u8").tobytes() == eot and ours_eotl.astype("<u8").tobytes() == eotl


def test_encapsulate_matches_pydicom_bytes():
    frames = [b"abc", b"defgh", b"ij"]  # (pydicom refuses empty frames; ours give an empty item)
    assert encapsulate(frames) == pde.encapsulate(frames)
    assert encapsulate(frames, offset_table="none") == pde.encapsulate(frames, has_bot=False)


# ---------------------------------------------------------------------------------------
# how frames are found
# ---------------------------------------------------------------------------------------
def _jpeg(n: int, fill: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes([fill]) * n + b"\xff\xd9"


def test_no_table_single_frame_takes_all_fragments():
    value = encapsulate([b"x" * 40], fragments_per_frame=4, offset_table="none")
    ds = Dataset()
    ds.add(DataElement(PIXEL_DATA, "OB", value, undefined_length=True))
    assert number_of_frames(ds) == 1
    assert get_frame(ds, 0) == b"x" * 40
    assert len(frame_boundaries(ds)[0]) == 4


def test_no_table_jpeg_markers_split_frames():
    frames = [_jpeg(31, 1), _jpeg(8, 2), _jpeg(57, 3)]
    value = encapsulate(frames, max_fragment_size=10, offset_table="none")
    assert len(parse_fragments(value)[1]) > 3
    want = [_padded(f) for f in frames]
    assert list(iter_frames(value, n_frames=3)) == want
    assert list(pde.generate_frames(value, number_of_frames=3)) == want  # pydicom agrees
    # JPEG 2000 codestreams: SOC SIZ ... EOC
    j2k = [b"\xff\x4f\xff\x51" + bytes(30) + b"\x07\xff\xd9", b"\xff\x4f\xff\x51" + b"\x05" * 13 + b"\xff\xd9"]
    value = encapsulate(j2k, max_fragment_size=8, offset_table="none")
    assert list(iter_frames(value, n_frames=2)) == [_padded(f) for f in j2k]


def test_no_table_markers_that_do_not_fit():
    frames = [b"\x00" * 20, b"\x01" * 20]
    value = encapsulate(frames, fragments_per_frame=2, offset_table="none")
    with pytest.raises(InvalidDicomError, match="markers gives 1 frame"):
        get_frame(value, 0, n_frames=2)
    with pytest.raises(InvalidDicomError, match="cannot be made of 4 fragment"):
        get_frame(value, 0, n_frames=5)
    with pytest.raises(InvalidDicomError, match="give n_frames"):
        frame_boundaries(value)
    with pytest.raises(InvalidDicomError, match="no fragments"):
        frame_boundaries(ITEM + b"\x00" * 4, 1)


def test_bot_is_preferred_and_checked():
    frames = [_jpeg(10, 1), _jpeg(12, 2)]
    value = encapsulate(frames, fragments_per_frame=2)
    assert frame_boundaries(value) == frame_boundaries(value, 2)
    # a BOT whose offsets do not fall on items is skipped (markers still work here)
    bad = bytearray(value)
    bad[12:16] = struct.pack("<I", 3)
    assert list(iter_frames(bytes(bad), n_frames=2)) == [_padded(f) for f in frames]
    # ... and named in the error when nothing else works
    plain = encapsulate([b"a" * 10, b"b" * 10], fragments_per_frame=2)
    bad = bytearray(plain)
    bad[12:16] = struct.pack("<I", 3)
    with pytest.raises(InvalidDicomError, match=r"Basic Offset Table's entry 1 \(3\)"):
        get_frame(bytes(bad), 0, n_frames=2)
    bad[8:12] = struct.pack("<I", 4)
    with pytest.raises(InvalidDicomError, match="first offset is 4, not 0"):
        get_frame(bytes(bad), 0, n_frames=2)


def test_bot_frame_count_differs_from_number_of_frames(caplog):
    frames = [b"a" * 10, b"b" * 10, b"c" * 10]
    value = encapsulate(frames)
    assert list(iter_frames(value, n_frames=3)) == frames
    # Number of Frames says 2: nothing else fits, so the BOT's 3 frames are used, with a warning
    with caplog.at_level(logging.WARNING, logger="pacsnb.io.encaps"):
        assert list(iter_frames(value, n_frames=2)) == frames
    assert "Basic Offset Table lists 3 frames, Number of Frames says 2" in caplog.text
    caplog.clear()
    # a BOT listing only the first frame, with one fragment per frame: the counts win
    one = ITEM + b"\x04\x00\x00\x00" + b"\x00" * 4 + encapsulate(frames, offset_table="none")[8:]
    assert frame_boundaries(one) == [[(20, 10), (38, 10), (56, 10)]]
    with caplog.at_level(logging.WARNING, logger="pacsnb.io.encaps"):
        assert list(iter_frames(one, n_frames=3)) == frames
    assert "one fragment per frame instead" in caplog.text


def test_bad_extended_offset_table_falls_back(caplog):
    frames = [b"a" * 10, b"b" * 12]
    ds = Dataset()
    set_encapsulated_pixel_data(ds, frames, JPEG2000, "extended")
    ds[0x7FE00002].value = np.array([10], np.uint64)  # one length for two offsets
    assert list(iter_frames(ds)) == frames  # one fragment per frame
    ds[0x7FE00002].value = np.array([10, 99], np.uint64)
    assert list(iter_frames(ds)) == frames
    ds.NumberOfFrames = 3
    with pytest.raises(InvalidDicomError) as exc:
        get_frame(ds, 0)
    msg = str(exc.value)
    assert "Extended Offset Table Lengths gives frame 1 99 bytes" in msg and "3 frames" in msg
    assert "(7FE0,0010)" in msg


def test_bot_offsets_past_4gib_wrap(monkeypatch):
    # 32-bit BOT entries that wrapped around past 4 GiB (shrunk here to a 1-byte table)
    monkeypatch.setattr(encaps, "_BOT_MAX", 0xFF)
    frames = [bytes([i]) * 100 for i in range(4)]  # items of 108 bytes
    value = encapsulate(frames, offset_table="none")
    offsets = [0, 108, 216 % 256, 324 % 256]
    bot = b"".join(struct.pack("<I", o) for o in offsets)
    stream = ITEM + struct.pack("<I", len(bot)) + bot + value[8:]
    assert list(iter_frames(stream, n_frames=4)) == frames


def test_set_encapsulated_switches_to_extended(monkeypatch):
    monkeypatch.setattr(encaps, "_BOT_MAX", 100)
    frames = [bytes([i]) * 60 for i in range(3)]
    with pytest.raises(DicomValueError, match="offset_table='extended'"):
        encapsulate(frames)
    ds = Dataset()
    assert set_encapsulated_pixel_data(ds, frames, JPEG_BASELINE) == "extended"
    assert parse_fragments(ds.PixelData)[0] == []
    assert ds[0x7FE00001].value.tolist() == [0, 68, 136]
    assert list(iter_frames(ds)) == frames
    with pytest.raises(DicomValueError, match="Extended Offset Table does not allow"):
        set_encapsulated_pixel_data(ds, frames, JPEG_BASELINE, fragments_per_frame=2)
    monkeypatch.setattr(encaps, "_BOT_MAX", 0xFFFFFFFF)
    # back to a Basic Offset Table: the stale extended table goes away
    assert set_encapsulated_pixel_data(ds, frames[:2], JPEG_BASELINE) == "basic"
    assert 0x7FE00001 not in ds and 0x7FE00002 not in ds
    assert ds.NumberOfFrames == 2
    assert list(iter_frames(ds)) == frames[:2]


def test_number_of_frames_and_index():
    ds = Dataset()
    assert number_of_frames(ds) == 1
    ds.NumberOfFrames = 4
    assert number_of_frames(ds) == 4
    ds = Dataset()
    set_encapsulated_pixel_data(ds, [b"aa"], RLE)
    assert "NumberOfFrames" not in ds  # a single frame leaves Number of Frames alone
    assert ds.file_meta.TransferSyntaxUID == RLE
    assert number_of_frames(ds) == 1 and get_frame(ds, -1) == b"aa"
    with pytest.raises(IndexError, match="out of range"):
        get_frame(ds, 1)
    with pytest.raises(ValueError, match="n_frames"):
        get_frame(ds, 0, n_frames=0)


def test_native_pixel_data_is_refused(tmp_path):
    ds = Dataset()
    ds.add(DataElement(PIXEL_DATA, "OW", np.zeros(4, np.uint16)))
    with pytest.raises(DicomValueError, match="native"):
        get_frame(ds, 0)
    assert number_of_frames(ds) == 1
    path, _, ours = _write_read(ds, tmp_path, "native.dcm")
    with pytest.raises(DicomValueError, match="native"):
        frame_boundaries(ours)
    assert number_of_frames(ours) == 1


def test_build_arguments():
    with pytest.raises(TypeError):
        encapsulate(b"one frame")
    with pytest.raises(ValueError, match="not both"):
        encapsulate([b"ab"], fragments_per_frame=2, max_fragment_size=4)
    with pytest.raises(ValueError, match="even"):
        encapsulate([b"ab"], max_fragment_size=3)
    with pytest.raises(ValueError, match=">= 1"):
        encapsulate([b"ab"], fragments_per_frame=0)
    with pytest.raises(ValueError, match="offset_table"):
        encapsulate([b"ab"], offset_table="big")
    with pytest.raises(DicomValueError, match="no frames"):
        encapsulate([])
    with pytest.raises(DicomValueError, match="one fragment"):
        encapsulate([b"abcd"], fragments_per_frame=2, offset_table="extended")
    with pytest.raises(DicomValueError, match="not an encapsulated"):
        set_encapsulated_pixel_data(Dataset(), [b"ab"], "1.2.840.10008.1.2.1")
    with pytest.raises(DicomValueError, match="RLE"):
        set_encapsulated_pixel_data(Dataset(), [b"abcd"], RLE, fragments_per_frame=2)
    # numpy and memoryview frames
    arr = np.arange(6, dtype=np.uint16)
    value = encapsulate([arr, memoryview(b"xyz")])
    assert list(iter_frames(value, n_frames=2)) == [arr.tobytes(), b"xyz\x00"]


def test_many_frames_one_frame_is_cheap(tmp_path):
    n = 2000
    frames = [struct.pack("<I", i) * 150 for i in range(n)]  # 1.2 MB: the file is memory-mapped
    for kind in ("basic", "none"):
        ds = Dataset()
        set_encapsulated_pixel_data(ds, frames, JPEG_BASELINE, kind)
        path, _, ours = _write_read(ds, tmp_path, f"many-{kind}.dcm")
        t = time.perf_counter()
        assert get_frame(ours, 1234) == frames[1234]
        assert get_frame(ours, n - 1) == frames[-1]
        assert time.perf_counter() - t < 0.5
        assert type(ours._dict[PIXEL_DATA]) is int  # the 2000-frame element was never built
        assert number_of_frames(ours) == n
        t = time.perf_counter()
        assert get_frame(ds.PixelData, 1999, n_frames=n) == frames[1999]
        assert time.perf_counter() - t < 0.5
    assert sum(1 for _ in iter_frames(ours)) == n


# ---------------------------------------------------------------------------------------
# bad input: InvalidDicomError naming the byte offset, never IndexError/struct.error
# ---------------------------------------------------------------------------------------
SMALL = encapsulate([b"\xff\xd8abc\xff\xd9", b"\xff\xd8defgh\xff\xd9"], fragments_per_frame=2)


def _item_starts(stream: bytes) -> set[int]:
    out, pos = {0}, 0
    while pos + 8 <= len(stream):
        pos += 8 + struct.unpack_from("<I", stream, pos + 4)[0]
        out.add(pos)
    return out


@pytest.mark.parametrize("cut", range(len(SMALL)))
def test_truncated_at_every_byte(cut):
    data = SMALL[:cut]
    try:
        bot, frags = parse_fragments(data, path="small.dcm")
    except InvalidDicomError as exc:
        assert cut not in _item_starts(SMALL) or cut == 0
        assert exc.offset is not None and 0 <= exc.offset <= cut and exc.path == "small.dcm"
        assert "small.dcm: at byte" in str(exc)
    else:
        assert cut in _item_starts(SMALL)
    # a cut between two items leaves a well-formed (shorter) stream, which only the missing
    # sequence delimiter betrays (the reader checks that); every other cut is an error
    for call in (lambda: get_frame(data, 1, n_frames=2), lambda: list(iter_frames(data, n_frames=2))):
        if cut in _item_starts(SMALL) and cut > 0:
            try:
                call()
            except InvalidDicomError:
                pass
        else:
            with pytest.raises(InvalidDicomError):
                call()


def test_truncated_file_is_refused_by_the_reader(tmp_path):
    ds = Dataset()
    set_encapsulated_pixel_data(ds, [b"abcd", b"efgh"], JPEG_BASELINE)
    path, _, _ = _write_read(ds, tmp_path, "t.dcm")
    raw = path.read_bytes()
    with pytest.raises(InvalidDicomError):
        get_frame(pacsnb.read(raw[:-12]), 1)


@pytest.mark.parametrize("data,match,offset", [
    (b"", "no Basic Offset Table item", 0),
    (b"\xfe\xff\x00\xe0", "ends 4 byte", 0),
    (b"\xfe\xff\x0d\xe0\x00\x00\x00\x00", r"found tag \(FFFE,E00D\)", 0),
    (b"\x10\x00\x10\x00\x00\x00\x00\x00", r"Basic Offset Table item \(FFFE,E000\), found tag \(0010,0010\)", 0),
    (ITEM + b"\x00" * 4 + b"\xe0\x7f\x10\x00\x02\x00\x00\x00ab", r"fragment item .* \(7FE0,0010\)", 8),
    (ITEM + b"\x00" * 4 + ITEM + b"\xff\xff\xff\xff" + b"ab", "undefined length", 8),
    (ITEM + b"\x00" * 4 + ITEM + b"\x10\x00\x00\x00" + b"ab", "runs 14 byte", 8),
    (ITEM + b"\xfe\xff\xff\xff", "runs", 0),
    (ITEM + b"\x06\x00\x00\x00" + b"\x00" * 6, "not a multiple of 4", 0),
    (SEQ_DELIM, "where the Basic Offset Table", 0),
    (ITEM + b"\x00" * 4 + SEQ_DELIM + ITEM + b"\x00" * 4, "before the end", 8),
    (ITEM + b"\x00" * 4 + b"\xfe\xff\xdd\xe0\x02\x00\x00\x00", "has length 2", 8),
])
def test_malformed_streams(data, match, offset):
    with pytest.raises(InvalidDicomError, match=match) as exc:
        parse_fragments(data, path="bad.dcm")
    assert exc.value.offset == offset and exc.value.tag == PIXEL_DATA
    with pytest.raises(InvalidDicomError):
        frame_boundaries(data, 1)


def test_error_offsets_are_file_offsets_for_read_data_sets(tmp_path):
    ds = Dataset()
    set_encapsulated_pixel_data(ds, [b"abcd"], JPEG_BASELINE, "none")
    # a Basic Offset Table item of 2 bytes, then the fragment
    stream = ITEM + b"\x02\x00\x00\x00\x00\x00" + encapsulate([b"abcd"], offset_table="none")[8:]
    ds.add(DataElement(PIXEL_DATA, "OB", stream, undefined_length=True))
    path, _, ours = _write_read(ds, tmp_path, "bot2.dcm")
    with pytest.raises(InvalidDicomError, match="multiple of 4") as exc:
        get_frame(ours, 0)
    raw = path.read_bytes()
    assert raw[exc.value.offset:exc.value.offset + 8] == ITEM + b"\x02\x00\x00\x00"
    assert exc.value.path == str(path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(1, 4))
def test_random_bytes(data, n):
    for call in (lambda: parse_fragments(data), lambda: frame_boundaries(data, n),
                 lambda: list(iter_frames(data, n_frames=n))):
        try:
            call()
        except InvalidDicomError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(1, 3))
def test_mutated_streams(edits, n):
    data = bytearray(SMALL)
    for pos, b in edits:
        data[pos] = b
    ds = Dataset()
    ds.add(DataElement(PIXEL_DATA, "OB", bytes(data), undefined_length=True))
    ds.NumberOfFrames = n
    try:
        got = list(iter_frames(ds))
    except InvalidDicomError:
        return
    assert len(got) >= 1
