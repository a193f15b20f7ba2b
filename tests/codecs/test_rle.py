"""RLE Lossless (PS3.5 Annex G): pacsnb.codecs against pydicom, dcmtk and bad input.

1. Every RLE file among pydicom's test files (found by transfer syntax, not by name)
   decodes, whole and frame by frame, to pydicom's ``pixel_array``.
2. Round trips (hypothesis): random frames of runs and literals, 8/16/32 bits, 1 or 3
   samples, odd widths, signed or not, interleaved or planar input: we decode what we
   encode, pydicom decodes what we encode, and the encoded segments follow G.3.1 (rows
   encoded separately, three-byte repeats as replicate runs, even segment lengths).
3. dcmtk both ways: ``dcmdrle`` decodes the RLE files we write to our pixels; what
   ``dcmcrle`` encodes from a native file we wrote, we decode to the same pixels that
   ``dcmdrle`` gets back from it.
4. Bad input: truncation at every byte, header offsets outside the frame, segment count
   mismatches, runs that overflow, wrong fragment counts, frames of the wrong size: a
   CodecError naming the frame, never a crash, a hang or a wrong shape. Hypothesis fuzzes
   the decoder with random and mutated codestreams; the inputs worth keeping are in
   ``CORPUS``.
5. The registry, and what is tolerated "as found in the wild".
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
import pydicom.encaps
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.pixels.decoders import RLELosslessDecoder

import pacsnb
from codec_helpers import decode_or_codec_error, image_ds, mutate
import pacsnb.codecs as codecs
from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec, rle
from pacsnb.codecs.registry import Codec, register_codec
from pacsnb.dicom import Dataset
from pacsnb.errors import CodecError
from pacsnb.io.encaps import get_frame, number_of_frames, set_encapsulated_pixel_data
from pacsnb.pixels import pixel_array
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

RLE = "1.2.840.10008.1.2.5"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CODEC = get_codec(RLE)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- helpers --------------------------------------------------------------------------------------
def _rle_files() -> list[Path]:
    """Every pydicom test file whose transfer syntax is RLE Lossless."""
    out = []
    for p in sorted(TEST_FILES.rglob("*")):
        if not p.is_file() or p.suffix in (".py", ".pyc", ".json", ".txt", ".md", ".gz", ".bz2"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(p, stop_before_pixels=True)
            ts = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) is not None else None
        except Exception:  # noqa: BLE001 - not a DICOM file pydicom reads
            continue
        if ts == RLE:
            out.append(p)
    return out


RLE_FILES = _rle_files()


def _dtype(bits: int, signed: bool) -> np.dtype:
    return np.dtype(("i" if signed else "u") + str(bits // 8))


def _params(arr_shape, bits, signed=False, planar=0) -> FrameParams:
    samples = arr_shape[2] if len(arr_shape) == 3 else 1
    return FrameParams(rows=arr_shape[0], columns=arr_shape[1], samples=samples, bits_allocated=bits,
                       pixel_representation=int(signed), planar_configuration=planar)


def _pydicom_decode(data: bytes, p: FrameParams) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns when a frame does not compress
        return _pydicom_decode_noisy(data, p)


def _pydicom_decode_noisy(data: bytes, p: FrameParams) -> np.ndarray:
    arr, _ = RLELosslessDecoder.as_array(
        pydicom.encaps.encapsulate([data]), rows=p.rows, columns=p.columns, samples_per_pixel=p.samples,
        bits_allocated=p.bits_allocated, bits_stored=p.bits_allocated,
        pixel_representation=p.pixel_representation, number_of_frames=1, planar_configuration=0,
        photometric_interpretation="RGB" if p.samples == 3 else "MONOCHROME2")
    return arr


def _runs(segment: bytes, expected: int) -> list[tuple[str, int, int]]:
    """Parse a segment as (kind, count, value-or-offset) runs until ``expected`` bytes."""
    out, pos, made = [], 0, 0
    while made < expected:
        n = segment[pos]
        if n < 128:
            out.append(("literal", n + 1, pos + 1))
            pos += n + 2
            made += n + 1
        elif n > 128:
            out.append(("replicate", 257 - n, segment[pos + 1]))
            pos += 2
            made += 257 - n
        else:
            pos += 1
    assert made == expected, "a run crosses the end of the segment"
    return out


def _segments(data: bytes) -> list[bytes]:
    offs = rle.parse_header(data)
    return [data[a:b] for a, b in zip(offs, offs[1:] + [len(data)])]


def _image_ds(arr: np.ndarray, bits: int, signed: bool, frames: int) -> Dataset:
    """A Secondary Capture data set (no pixel data yet) for ``arr``: all bits stored."""
    return image_ds(arr, bits, bits, signed, frames, name="RLE^TEST")


def _rle_ds(arr: np.ndarray, bits: int, signed: bool = False) -> Dataset:
    """A data set holding ``arr`` (frames first) encoded by us in RLE Lossless."""
    ds = _image_ds(arr, bits, signed, len(arr))
    p = FrameParams.of(ds)
    set_encapsulated_pixel_data(ds, [CODEC.encode_frame(a, p, frame=i) for i, a in enumerate(arr)], RLE)
    return ds


def _random_frames(rng, frames, rows, cols, samples, bits, signed):
    dt = _dtype(bits, signed)
    shape = (frames, rows, cols) + ((samples,) if samples > 1 else ())
    info = np.iinfo(dt)
    arr = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
    arr[:, 0] = arr[:, 0, :1]            # a row of one long run
    arr[:, 1, : cols // 2] = arr[:, 1, :1]  # a run then literals
    return arr


# -- 1. pydicom's RLE files ----------------------------------------------------------------------
def test_enumeration_found_the_rle_files():
    names = {p.name for p in RLE_FILES}
    for expected in ("MR_small_RLE.dcm", "SC_rgb_rle.dcm", "SC_rgb_rle_16bit.dcm", "SC_rgb_rle_32bit.dcm",
                     "SC_rgb_rle_2frame.dcm", "rtdose_rle.dcm", "rtdose_rle_1frame.dcm"):
        assert expected in names, f"{expected} not found by transfer syntax among {sorted(names)}"
    assert len(RLE_FILES) >= 9


@pytest.mark.parametrize("path", RLE_FILES, ids=lambda p: p.name)
def test_pydicom_rle_file_decodes_like_pydicom(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(path).pixel_array
    ds = pacsnb.read(path)
    ours = pixel_array(ds)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)
    n = number_of_frames(ds)
    frames = [theirs] if n == 1 else list(theirs)
    for i, ref in enumerate(frames):
        one = pixel_array(pacsnb.read(path), frame=i)
        assert one.shape == ref.shape and np.array_equal(one, ref), f"frame {i}"
        # and straight through the registry, frame bytes from pacsnb.io.encaps
        direct = CODEC.decode_frame(get_frame(ds, i), ds, frame=i)
        assert np.array_equal(direct, ref), f"frame {i} (codec)"


@pytest.mark.parametrize("path", RLE_FILES, ids=lambda p: p.name)
def test_pydicom_rle_file_reencodes(path: Path):
    """Our encoding of pydicom's pixels decodes to them again, with us and with pydicom."""
    ds = pacsnb.read(path)
    arr = pixel_array(ds)
    p = FrameParams.of(ds)
    for frame in (arr if number_of_frames(ds) > 1 else [arr]):
        data = CODEC.encode_frame(frame, p)
        assert np.array_equal(CODEC.decode_frame(data, p), frame)
        assert np.array_equal(_pydicom_decode(data, p).astype(frame.dtype), frame)


def test_one_frame_of_many_decodes_that_frame_only(tmp_path):
    """frame=i of a 2,000-frame file: one decode call, the Pixel Data element never built."""
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 3, size=(2000, 4, 6), dtype=np.uint16)
    path = tmp_path / "many.dcm"
    pacsnb.write(_rle_ds(arr, 16), path)
    calls = []

    def counting(data, params, *, frame=None, **kw):
        calls.append(frame)
        return rle.decode_frame(data, params, frame=frame, **kw)

    register_codec(Codec(RLE, decoder=counting, encoder=rle.encode_frame, source="test"), replace=True)
    try:
        ds = pacsnb.read(path)
        assert np.array_equal(pixel_array(ds, frame=1234), arr[1234])
        assert calls == [1234]
        assert type(ds._dict[0x7FE00010]) is int, "reading one frame built the whole Pixel Data element"
        assert np.array_equal(pixel_array(ds, frame=-1), arr[-1])
        calls.clear()
        assert np.array_equal(pixel_array(ds), arr)
        assert calls == list(range(2000))
    finally:
        register_codec(CODEC, replace=True)


# -- 2. round trips ------------------------------------------------------------------------------
@st.composite
def frames(draw):
    """A frame made of runs and literals, with its parameters."""
    bits = draw(st.sampled_from([8, 16, 32]))
    samples = draw(st.sampled_from([1, 3]))
    signed = draw(st.booleans())
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 300))  # odd widths, and rows longer than a 128-byte run
    dt = _dtype(bits, signed)
    n = rows * cols * samples
    pieces, total = [], 0
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    while total < n:
        kind = draw(st.sampled_from(["run", "literal", "pair", "few"]))
        length = min(n - total, draw(st.integers(1, 200)))
        if kind == "run":
            v = rng.integers(0, 2**bits, dtype=np.uint64)
            pieces.append(np.full(length, v, np.uint64))
        elif kind == "pair":  # repeats of two, the edge case of G.3.1
            v = rng.integers(0, 2**bits, size=(length + 1) // 2, dtype=np.uint64)
            pieces.append(np.repeat(v, 2)[:length])
        elif kind == "few":  # few distinct values: runs in some byte planes, not in others
            pieces.append(rng.integers(0, 3, size=length, dtype=np.uint64) * np.uint64(0x01010101 & (2**bits - 1)))
        else:
            pieces.append(rng.integers(0, 2**bits, size=length, dtype=np.uint64))
        total += length
    flat = np.concatenate(pieces)[:n].astype(np.dtype("u" + str(bits // 8))).view(dt)  # wraps modulo 2**bits
    shape = (rows, cols, samples) if samples > 1 else (rows, cols)
    return flat.reshape(shape), bits, signed


@FAST
@given(frames())
def test_round_trip_and_pydicom_decodes_ours(case):
    arr, bits, signed = case
    p = _params(arr.shape, bits, signed)
    data = CODEC.encode_frame(arr, p)
    back = CODEC.decode_frame(data, p)
    assert back.shape == arr.shape and back.dtype == arr.dtype and back.flags.c_contiguous
    assert np.array_equal(back, arr)
    theirs = _pydicom_decode(data, p)
    assert np.array_equal(theirs.astype(arr.dtype), arr)
    # G.3.1 and G.5: the shape of what we write
    assert len(data) % 2 == 0
    segs = _segments(data)
    assert len(segs) == p.samples * bits // 8
    for seg in segs:
        assert len(seg) % 2 == 0
        runs = _runs(seg, p.rows * p.columns)
        made = 0
        for kind, count, _ in runs:
            assert made // p.columns == (made + count - 1) // p.columns, "a run crosses a row boundary"
            made += count
        # no literal run holds three equal bytes in a row
        for kind, count, off in runs:
            if kind == "literal" and count >= 3:
                lit = np.frombuffer(seg[off:off + count], np.uint8)
                assert not np.any((lit[2:] == lit[1:-1]) & (lit[1:-1] == lit[:-2])), "a 3-byte repeat in a literal"


def test_encode_shape_that_reads_both_ways_is_rows_columns_samples():
    """3 x 3 with 3 samples: (rows, columns, samples) and (samples, rows, columns) have the
    same shape; the array is taken as the first (found by hypothesis in CI)."""
    arr = np.arange(27, dtype=np.uint8).reshape(3, 3, 3) * 7
    for planar in (0, 1):
        p = _params(arr.shape, 8, planar=planar)
        data = CODEC.encode_frame(arr, p)
        assert np.array_equal(CODEC.decode_frame(data, p), arr)
        assert data == CODEC.encode_frame(arr.tobytes() if not planar else np.moveaxis(arr, -1, 0).tobytes(), p)


@FAST
@given(frames(), st.booleans())
def test_encode_from_native_bytes_and_planes(case, planar):
    """The encoder takes native frame bytes (interleaved or planar) and (samples, rows, cols)."""
    arr, bits, signed = case
    if arr.ndim == 2:
        planar = False
    p = _params(arr.shape, bits, signed, planar=int(planar))
    le = arr.astype(arr.dtype.newbyteorder("<"))
    raw = np.moveaxis(le, -1, 0).tobytes() if planar else le.tobytes()
    data = CODEC.encode_frame(raw, p)
    assert data == CODEC.encode_frame(arr, p)
    assert np.array_equal(CODEC.decode_frame(data, p), arr)
    if arr.ndim == 3:
        planes = np.moveaxis(arr, -1, 0)
        if planes.shape != arr.shape:  # planes first are told apart by the shape alone
            assert CODEC.encode_frame(planes, p) == data
        else:  # 3 x 3 with 3 samples reads both ways: taken as (rows, columns, samples)
            assert CODEC.encode_frame(np.ascontiguousarray(planes), p) == CODEC.encode_frame(
                np.ascontiguousarray(planes).tobytes(), dataclasses.replace(p, planar_configuration=0))
    big = arr.astype(arr.dtype.newbyteorder(">"))
    assert CODEC.encode_frame(big, p) == data


def test_pydicom_encoder_output_decodes():
    """pydicom's own RLE encoder (another writer) against our decoder."""
    from pydicom.pixels.encoders import RLELosslessEncoder
    rng = np.random.default_rng(3)
    for bits, samples, signed in [(8, 1, False), (16, 1, True), (8, 3, False), (16, 3, False)]:  # 8/16 only
        arr = _random_frames(rng, 1, 9, 31, samples, bits, signed)[0]
        p = _params(arr.shape, bits, signed)
        data = RLELosslessEncoder.encode(
            arr, encoding_plugin="pydicom", rows=p.rows, columns=p.columns, samples_per_pixel=samples,
            bits_allocated=bits, bits_stored=bits, pixel_representation=int(signed), number_of_frames=1,
            photometric_interpretation="RGB" if samples == 3 else "MONOCHROME2", planar_configuration=0)
        assert np.array_equal(CODEC.decode_frame(data, p), arr)


def test_encoder_compresses_runs():
    flat = np.zeros((512, 512), np.uint16)
    data = CODEC.encode_frame(flat, _params(flat.shape, 16))
    # each row of each segment: 4 replicate runs of 128 = 8 bytes
    assert len(data) == 64 + 2 * 512 * 8


# -- 3. dcmtk ------------------------------------------------------------------------------------
DCMTK = shutil.which("dcmdrle") is not None and shutil.which("dcmcrle") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdrle", "dcmcrle")
DCMTK_CASES = [(8, 1, False, 5, 7, 2), (16, 1, True, 6, 9, 3), (16, 1, False, 64, 131, 1), (8, 3, False, 5, 7, 2),
               (16, 3, False, 4, 11, 2), (32, 1, False, 3, 5, 2), (32, 3, True, 3, 3, 1)]


def _run(*cmd: str) -> None:
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


@needs_dcmtk
@pytest.mark.parametrize("bits, samples, signed, rows, cols, nframes", DCMTK_CASES,
                         ids=lambda v: str(v))
def test_dcmdrle_decodes_what_we_encode(tmp_path, bits, samples, signed, rows, cols, nframes):
    arr = _random_frames(np.random.default_rng(bits + samples), nframes, rows, cols, samples, bits, signed)
    ours = tmp_path / "ours_rle.dcm"
    pacsnb.write(_rle_ds(arr, bits, signed), ours)
    native = tmp_path / "dcmdrle.dcm"
    _run("dcmdrle", str(ours), str(native))
    back = pacsnb.read(native)
    assert str(back.transfer_syntax) != RLE
    got = pixel_array(back)
    assert np.array_equal(got, arr if nframes > 1 else arr[0])


@needs_dcmtk
@pytest.mark.parametrize("bits, samples, signed, rows, cols, nframes", DCMTK_CASES,
                         ids=lambda v: str(v))
def test_we_decode_what_dcmcrle_encodes(tmp_path, bits, samples, signed, rows, cols, nframes):
    arr = _random_frames(np.random.default_rng(bits * samples), nframes, rows, cols, samples, bits, signed)
    ds = _image_ds(arr, bits, signed, nframes)
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    native = tmp_path / "native.dcm"
    pacsnb.write(ds, native, EXPLICIT_LE)
    theirs = tmp_path / "dcmcrle.dcm"
    _run("dcmcrle", str(native), str(theirs))
    back = tmp_path / "dcmdrle.dcm"
    _run("dcmdrle", str(theirs), str(back))
    dcmtk_pixels = pixel_array(pacsnb.read(back))
    rle_ds = pacsnb.read(theirs)
    assert str(rle_ds.transfer_syntax) == RLE
    ours = pixel_array(rle_ds)
    assert np.array_equal(ours, dcmtk_pixels)
    assert np.array_equal(ours, arr if nframes > 1 else arr[0])
    for i in range(nframes):
        assert np.array_equal(pixel_array(pacsnb.read(theirs), frame=i), arr[i])


# -- 4. bad input --------------------------------------------------------------------------------
SMALL = np.array([[[1, 2, 3], [1, 2, 3], [1, 2, 3], [9, 8, 7], [250, 251, 252]],
                  [[0, 0, 0], [5, 5, 5], [5, 5, 5], [5, 5, 5], [60000, 1, 2]]], dtype=np.uint16)
SMALL_P = _params(SMALL.shape, 16)


def _header(*offsets: int, count: int | None = None) -> bytes:
    vals = [len(offsets) if count is None else count, *offsets]
    return struct.pack("<16I", *(vals + [0] * (16 - len(vals))))


def test_truncated_at_every_byte():
    data = CODEC.encode_frame(SMALL, SMALL_P)
    for n in range(len(data)):
        try:
            got = CODEC.decode_frame(data[:n], SMALL_P, frame=5)
        except CodecError as exc:
            assert str(exc).startswith("RLE Lossless frame 5: "), str(exc)
            continue
        # only losing the last segment's padding byte may still decode
        assert n == len(data) - 1 and np.array_equal(got, SMALL), f"truncated to {n} bytes decoded"


@pytest.mark.parametrize("header, match", [
    (_header(64, 70, 4000, 80, 90, 100), "segment 3 the offset 4000, past the end"),
    (_header(64, 70, 20, 80, 90, 100), "segment 3 the offset 20, inside the 64-byte header"),
    (_header(64, 80, 70, 90, 100, 110), "do not increase"),
    (_header(64, 70, 70, 80, 90, 100), "do not increase"),
    (_header(64, 70, 76, 80, 90, 100, count=0), "gives 0 segments"),
    (_header(64, count=16), "gives 16 segments"),
    (_header(64, count=0xFFFFFFFF), "segments; there must be 1 to 15"),
    (_header(64, 70, 76, 80, 90), "gives 5 segment\\(s\\), but 3 sample\\(s\\) of 16 bits need 6"),
    (_header(64, 66, 68, 70, 72, 74, 76), "gives 7 segment\\(s\\)"),
])
def test_bad_headers(header, match):
    data = header + bytes(200)
    with pytest.raises(CodecError, match="RLE Lossless frame 2: .*" + match):
        CODEC.decode_frame(data, SMALL_P, frame=2)


def test_short_and_not_rle():
    for data in (b"", b"\x01\x00\x00", bytes(63), b"\xff\xd8\xff\xe0" + bytes(100)):
        with pytest.raises(CodecError, match="frame 0"):
            CODEC.decode_frame(data, SMALL_P, frame=0)
    with pytest.raises(CodecError, match="bytes-like"):
        CODEC.decode_frame(12345, SMALL_P)


def _one_segment(seg: bytes, rows=2, columns=4, tail=b"") -> tuple[bytes, FrameParams]:
    return _header(64) + seg + tail, FrameParams(rows=rows, columns=columns, bits_allocated=8)


@pytest.mark.parametrize("seg, match", [
    (bytes([0xFA, 5, 0x01, 1, 5, 0x00, 9]), "a run at byte 66 goes past the 8 bytes"),  # 7, then 2 more, then 1
    (bytes([0x81, 5, 0x81, 6, 0x81, 7]), "a run at byte 64 goes past"),                # 128 x 5, then more
    (bytes([0x7F, 1, 2, 3]), "a literal run at byte 64 needs more bytes"),
    (bytes([0xFD, 1, 0xFE]), "a replicate run at byte 66 has no value byte"),
    (bytes([0xFD, 1, 0x00, 2]), "its data ends after 5 of the 8 bytes"),
    (bytes([0x80, 0x80, 0x80, 0x80]), "its data ends after 0 of the 8 bytes"),
])
def test_bad_segments(seg, match):
    data, p = _one_segment(seg)
    with pytest.raises(CodecError, match="RLE Lossless frame 7: segment 1 of 1 .*" + match):
        CODEC.decode_frame(data, p, frame=7)


def test_bad_segment_in_the_middle_is_named():
    data = bytearray(CODEC.encode_frame(SMALL, SMALL_P))
    offs = rle.parse_header(bytes(data))
    data[offs[3]] = 0x7F  # segment 4 now starts with a 128-byte literal: more than it has
    with pytest.raises(CodecError, match="frame 1: segment 4 of 6"):
        CODEC.decode_frame(bytes(data), SMALL_P, frame=1)


def test_bad_parameters():
    data = CODEC.encode_frame(SMALL, SMALL_P)
    for kw, match in [(dict(bits_allocated=12), "Bits Allocated 12"), (dict(bits_allocated=1), "Bits Allocated 1"),
                      (dict(rows=0), "Rows x Columns is 0 x 5"), (dict(samples=4, bits_allocated=32), "16 RLE segments"),
                      (dict(pixel_representation=2), "Pixel Representation is 2")]:
        p = dict(rows=2, columns=5, samples=3, bits_allocated=16) | kw
        with pytest.raises(CodecError, match=match):
            CODEC.decode_frame(data, p, frame=0)
        with pytest.raises(CodecError, match=match):
            CODEC.encode_frame(SMALL, p, frame=0)
    with pytest.raises(CodecError, match="lack rows"):
        CODEC.decode_frame(data, dict(columns=5, bits_allocated=16))
    with pytest.raises(CodecError, match="does not match the frame"):
        CODEC.encode_frame(SMALL[:1], SMALL_P)
    with pytest.raises(CodecError, match="cannot encode a float32 array"):
        CODEC.encode_frame(SMALL.astype(np.float32), SMALL_P)
    with pytest.raises(CodecError, match="cannot encode a int8 array as 16-bit"):
        CODEC.encode_frame(SMALL.astype(np.int8), SMALL_P)
    with pytest.raises(CodecError, match="too short|bytes of pixel data"):
        CODEC.encode_frame(b"\x00" * 10, SMALL_P)
    with pytest.raises(ValueError, match="out must be"):
        CODEC.decode_frame(data, SMALL_P, out=np.empty((2, 5, 3), np.int16))


# mutated and random codestreams: the decoder answers with an array of the right shape or a
# CodecError, whatever it is given
@st.composite
def mutated(draw):
    arr, bits, signed = draw(frames())
    p = _params(arr.shape, bits, signed)
    data = bytearray(CODEC.encode_frame(arr, p))
    return mutate(draw, data, _header_edit, max_cut=64, max_insert=16), p


def _header_edit(draw, data: bytearray) -> None:
    """Overwrite one of the 16 offsets of the RLE header with a telling value."""
    k = draw(st.integers(0, 15))
    data[4 * k:4 * k + 4] = struct.pack("<I", draw(st.sampled_from(
        [0, 1, 15, 16, 63, 64, len(data) - 1, len(data), 2**31, 2**32 - 1])))


_decode_or_codec_error = partial(decode_or_codec_error, CODEC.decode_frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_codestreams(case):
    _decode_or_codec_error(*case)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=400), st.sampled_from([(8, 1), (16, 1), (8, 3), (16, 3), (32, 1)]),
       st.integers(1, 9), st.integers(1, 9))
def test_fuzz_random_codestreams(body, fmt, rows, cols):
    bits, samples = fmt
    p = FrameParams(rows=rows, columns=cols, samples=samples, bits_allocated=bits)
    nseg = samples * bits // 8
    # half the time a plausible header, so that the segment decoder gets exercised
    if len(body) > 8 and body[0] & 1:
        cut = sorted({64 + (b % max(1, len(body))) for b in body[1:nseg]} | {64})[:nseg]
        data = _header(*cut, count=nseg) + body
    else:
        data = body
    _decode_or_codec_error(data, p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=3))
def test_fuzz_through_pixel_array(cases):
    """Multi-frame data sets of mutated frames: pixel_array gives the right shape or a CodecError."""
    p = cases[0][1]
    frames_bytes = [data for data, _ in cases]
    shape = (len(frames_bytes),) + p.shape if len(frames_bytes) > 1 else p.shape
    ds = _image_ds(np.zeros((1,) + p.shape, p.dtype), p.bits_allocated, bool(p.pixel_representation),
                   len(frames_bytes))
    set_encapsulated_pixel_data(ds, frames_bytes, RLE)
    try:
        got = pixel_array(ds)
    except CodecError as exc:
        assert "RLE Lossless" in str(exc)
    else:
        assert got.shape == shape and got.dtype == p.dtype
    for i in range(len(frames_bytes)):
        try:
            got = pixel_array(ds, frame=i)
        except CodecError as exc:
            assert f"frame {i}" in str(exc)
        else:
            assert got.shape == p.shape


#: Inputs kept from fuzzing and from files seen in the wild (hex), with the frame parameters:
#: each must decode to an array of the right shape or raise CodecError. Add crashers here.
CORPUS = [
    # a literal header as the very last byte of a segment (padding read as a header)
    ("01000000400000000000000000000000" + "00" * 48 + "0301020304" + "00", dict(rows=1, columns=4, bits_allocated=8)),
    # two segments whose offsets are equal (an empty first segment)
    ("02000000400000004000000000000000" + "00" * 48 + "fd00fd00", dict(rows=1, columns=4, bits_allocated=16)),
    # replicate count 128 (0x81) for a 1-pixel frame, then nothing
    ("01000000400000000000000000000000" + "00" * 48 + "8107", dict(rows=1, columns=1, bits_allocated=8)),
    # offsets near 2**32
    ("02000000400000000000ffff00000000" + "00" * 48 + "fd00fd00", dict(rows=1, columns=4, bits_allocated=16)),
    # all -128 no-op headers
    ("01000000400000000000000000000000" + "00" * 48 + "80" * 64, dict(rows=8, columns=8, bits_allocated=8)),
]


@pytest.mark.parametrize("hexdata, params", CORPUS)
def test_corpus(hexdata, params):
    _decode_or_codec_error(bytes.fromhex(hexdata), FrameParams.of(params))


def _file_with_frames(tmp_path, frames_bytes, *, number_of_frames, rows=2, cols=5, offset_table="basic"):
    ds = _image_ds(SMALL[None], 16, False, number_of_frames)
    ds.Rows, ds.Columns = rows, cols
    set_encapsulated_pixel_data(ds, frames_bytes, RLE, offset_table=offset_table)
    ds.NumberOfFrames = number_of_frames
    path = tmp_path / "bad.dcm"
    pacsnb.write(ds, path)
    return path


def test_wrong_fragment_count_is_a_codec_error(tmp_path):
    good = CODEC.encode_frame(SMALL, SMALL_P)
    path = _file_with_frames(tmp_path, [good, good], number_of_frames=3, offset_table="none")
    with pytest.raises(CodecError, match=r"bad\.dcm: RLE Lossless frame 0: .*3 frames cannot be made of 2"):
        pixel_array(pacsnb.read(path))
    with pytest.raises(CodecError, match="frame 2"):
        pixel_array(pacsnb.read(path), frame=2)


def test_basic_offset_table_with_fewer_frames_is_a_codec_error(tmp_path):
    good = CODEC.encode_frame(SMALL, SMALL_P)
    path = _file_with_frames(tmp_path, [good, good], number_of_frames=3)
    with pytest.raises(CodecError, match="RLE Lossless"):
        pixel_array(pacsnb.read(path))


def test_frame_of_the_wrong_size_is_a_codec_error(tmp_path):
    good = CODEC.encode_frame(SMALL, SMALL_P)
    path = _file_with_frames(tmp_path, [good, good], number_of_frames=2, rows=3)  # Rows says 3, data has 2
    with pytest.raises(CodecError, match=r"bad\.dcm: RLE Lossless frame 0: segment 1 of 6 .*ends after 10 of the 15"):
        pixel_array(pacsnb.read(path))
    with pytest.raises(CodecError, match="frame 1: segment 1 of 6"):
        pixel_array(pacsnb.read(path), frame=1)
    path = _file_with_frames(tmp_path, [good, good], number_of_frames=2, cols=2)   # smaller: runs overflow
    with pytest.raises(CodecError, match="frame 0: segment 1 of 6 .*goes past the 4 bytes"):
        pixel_array(pacsnb.read(path))


def test_corrupt_second_frame_names_it(tmp_path):
    good = CODEC.encode_frame(SMALL, SMALL_P)
    path = _file_with_frames(tmp_path, [good, good[:100]], number_of_frames=2)
    ds = pacsnb.read(path)
    assert np.array_equal(pixel_array(ds, frame=0), SMALL)
    with pytest.raises(CodecError, match="frame 1: "):
        pixel_array(ds, frame=1)
    with pytest.raises(CodecError, match="frame 1: "):
        pixel_array(pacsnb.read(path))


def test_rle_label_on_native_pixel_data_is_a_codec_error():
    ds = _image_ds(SMALL[None], 16, False, 1)
    ds.PixelData = SMALL.tobytes()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = RLE
    with pytest.raises(CodecError, match="RLE Lossless frame 0: .*native"):
        pixel_array(ds)


# -- 5. as found in the wild, and the registry -----------------------------------------------------
def test_wild_odd_segments_padding_and_noop_headers():
    p = FrameParams(rows=1, columns=3, samples=1, bits_allocated=16)
    # odd, unpadded segments; a -128 no-op; a first offset past 64 after junk; junk in unused slots
    seg1 = bytes([0x80, 0xFE, 0x12])                    # 3 bytes: 0x12 x 3
    seg2 = bytes([0x02, 0x01, 0x02, 0x03, 0x00, 0x00])  # literal + padding bytes
    hdr = bytearray(_header(68, 68 + len(seg1)))
    hdr[40:44] = b"junk"
    data = bytes(hdr) + b"gap!" + seg1 + seg2 + b"\x00"
    assert CODEC.decode_frame(data, p).tolist() == [[0x1201, 0x1202, 0x1203]]


def test_wild_last_run_overshoot_is_cut():
    # the last run of a segment makes one byte more than the frame (encoded padding)
    data, p = _one_segment(bytes([0xFC, 9]), rows=1, columns=4)  # 5 x 9 for 4 pixels
    assert CODEC.decode_frame(data, p).tolist() == [[9, 9, 9, 9]]
    data, p = _one_segment(bytes([0x04, 1, 2, 3, 4, 5, 0]), rows=1, columns=4)  # literal of 5, 1 padding byte
    assert CODEC.decode_frame(data, p).tolist() == [[1, 2, 3, 4]]


def test_wild_lsb_first_segment_order():
    data = CODEC.encode_frame(SMALL, SMALL_P)
    segs = _segments(data)
    swapped = [segs[1], segs[0], segs[3], segs[2], segs[5], segs[4]]
    offs, pos = [], 64
    for s in swapped:
        offs.append(pos)
        pos += len(s)
    lsb_first = _header(*offs) + b"".join(swapped)
    assert np.array_equal(CODEC.decode_frame(lsb_first, SMALL_P, segment_order="<"), SMALL)
    assert not np.array_equal(CODEC.decode_frame(lsb_first, SMALL_P), SMALL)


def test_decode_into_out_and_signed_values():
    arr = np.array([[-1, -32768, 32767, 0, 5]], np.int16)
    p = _params(arr.shape, 16, signed=True)
    data = CODEC.encode_frame(arr, p)
    out = np.zeros((2,) + arr.shape, np.int16)
    got = CODEC.decode_frame(data, p, out=out[1])
    assert got is out[1] or np.shares_memory(got, out)
    assert np.array_equal(out[1], arr) and not out[0].any()


def test_bits_stored_below_bits_allocated_like_pydicom(tmp_path):
    """pixel_array masks (or sign-extends) decoded values from Bits Stored, as for native data."""
    arr = np.array([[[0x0FFF, 0xF00F, 0x0800, 5]]], np.uint16)
    for signed in (False, True):
        ds = _rle_ds(arr.view(np.int16) if signed else arr, 16, signed)
        ds.BitsStored, ds.HighBit = 12, 11
        path = tmp_path / f"hb{int(signed)}.dcm"
        pacsnb.write(ds, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = pydicom.dcmread(path).pixel_array
        ours = pixel_array(pacsnb.read(path))
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
        assert ours.tolist() == ([[-1, 15, -2048, 5]] if signed else [[4095, 15, 2048, 5]])


def test_kernels_refuse_buffers_too_small():
    """The kernels check their arrays themselves: a caller's mistake is no out-of-bounds write."""
    from pacsnb.codecs import _kernels as K
    data = np.frombuffer(CODEC.encode_frame(SMALL, SMALL_P), np.uint8)
    status = np.zeros(4, np.int64)
    K.decode_frame(data, 6, 10, np.zeros(59, np.uint8), status)
    assert status[0] == K.BAD_BUFFERS
    assert K.encode_planes(np.zeros(59, np.uint8), 6, 2, 5, np.zeros(1000, np.uint8)) == -1
    out = np.full(30, 7, np.uint16)
    K.join_planes_16(np.zeros(59, np.uint8), out, 3, 10, True)
    assert (out == 7).all()


def test_registry():
    assert can_decode(RLE) and can_encode(RLE)
    assert can_decode(RLE + "\x00")  # as padded in a UI value
    assert codecs.RLE_LOSSLESS == RLE and get_codec(RLE) is CODEC
    assert RLE in codecs.registered_codecs()
    for ts, match in [("1.2.840.10008.1.2.4.110", r"JPEG XL Lossless .*no codec for it yet"),
                      ("1.2.840.10008.1.2.4.100", "MPEG2 .*no codec for it yet"),
                      ("1.2.840.10008.1.2.1", "not a compressed syntax"),
                      ("1.2.3.4", "not a transfer syntax UID pacsnb knows")]:
        assert not can_decode(ts) and not can_encode(ts)
        with pytest.raises(CodecError, match=match):
            get_codec(ts)
    with pytest.raises(ValueError, match="already registered"):
        register_codec(Codec(RLE, decoder=rle.decode_frame))
    only_decode = Codec("1.2.3.4.5", decoder=rle.decode_frame, source="test")
    with pytest.raises(CodecError, match="not encode"):
        only_decode.encode_frame(SMALL, SMALL_P)
    assert "decode, encode" in repr(CODEC)


def test_frame_params_from_pixel_format_and_dataset():
    ds = _rle_ds(SMALL[None], 16)
    from pacsnb.pixels import pixel_format
    fmt = pixel_format(ds)
    assert FrameParams.of(fmt) == FrameParams.of(ds) == SMALL_P
    assert FrameParams.of(SMALL_P, rows=9).rows == 9
    with pytest.raises(TypeError, match="unknown frame parameter"):
        FrameParams.of(SMALL_P, colums=3)


def test_pixel_array_keeps_the_codec_error_for_other_syntaxes():
    ds = _image_ds(SMALL[None], 16, False, 1)
    set_encapsulated_pixel_data(ds, [b"\xff\xd8\xff\xd9"], "1.2.840.10008.1.2.4.110")
    with pytest.raises(CodecError, match=r"JPEG XL Lossless .*no codec for it yet"):
        pixel_array(ds)


# -- the benchmark runs -----------------------------------------------------------------------------
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_codecs.py"


def test_benchmark_quick_run(tmp_path):
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verified" in run.stdout and "WRONG" not in run.stdout
    figures = json.loads(out.read_text())
    for part in ("ct", "rgb"):
        for op in ("decode", "encode"):
            mbs = figures[part][op]["mb_per_s"]
            assert mbs["pacsnb"] > 0 and mbs["pydicom"] > 0
            assert abs(figures[part][op]["ratio"] - mbs["pacsnb"] / mbs[figures[part][op]["fastest_peer"]]) < 1e-9


def test_benchmark_without_the_optional_peers(tmp_path):
    """pylibjpeg-rle and gdcm are optional: missing, they are reported, not fatal."""
    code = ("import sys, runpy; [sys.modules.__setitem__(m, None) for m in ('rle', 'rle.rle', 'rle.utils', 'gdcm')]; "
            f"sys.argv = [{str(BENCH)!r}, '--quick']; runpy.run_path({str(BENCH)!r}, run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any("pylibjpeg-rle" in ln and "not installed" in ln for ln in lines), run.stdout
    assert any(ln.split()[:1] == ["gdcm"] and "not installed" in ln for ln in lines), run.stdout
    assert "ratio" in run.stdout and "verified" in run.stdout
