"""JPEG Lossless Process 14 and SV1 (T.81 Annex H): pacsnb.codecs against dcmtk, pylibjpeg and bad input.

1. Every JPEG lossless file among pydicom's test files (found by transfer syntax) decodes to
   the pixels ``dcmdjpeg`` gets from it (always), and to what pylibjpeg-libjpeg decodes from
   the frames pydicom reads (skipped, saying so, when it is not installed; the ``pylibjpeg``
   umbrella package is not needed and not used).
2. Round trips (hypothesis): 2 to 16 bits, 1 to 3 components, the seven predictors, restart
   intervals aligned or not with rows, signed values, odd sizes.
3. dcmtk both ways: ``dcmdjpeg`` decodes what we encode (SV1 and the other predictors, with
   restart markers) to our pixels; what ``dcmcjpeg`` encodes (``+e1``, ``+el +sv1..7``,
   ``+pt``, 8/12/16 bits, signed, colour) we decode to the pixels ``dcmdjpeg`` gets.
4. Bad input: truncation at every byte, misplaced and missing markers, undefined tables,
   frames that do not match the parameters, hypothesis fuzzing of mutated codestreams: a
   CodecError naming the frame, never a crash, a hang or a wrong shape. Inputs worth
   keeping are in ``CORPUS``.
5. The registry and ``pixel_array``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pacsnb
from codec_helpers import decode_or_codec_error, image_ds, insert_marker, mutate
from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec, jpeg_lossless as jl
from pacsnb.dicom import Dataset
from pacsnb.errors import CodecError
from pacsnb.io.encaps import set_encapsulated_pixel_data
from pacsnb.pixels import pixel_array
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

P14 = "1.2.840.10008.1.2.4.57"
SV1 = "1.2.840.10008.1.2.4.70"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

try:
    import libjpeg  # noqa: F401  (pylibjpeg-libjpeg)
    HAVE_LIBJPEG = True
except ImportError:
    HAVE_LIBJPEG = False
needs_libjpeg = pytest.mark.skipif(not HAVE_LIBJPEG, reason="pylibjpeg-libjpeg is not installed, so there is no "
                                   "second JPEG lossless decoder to compare with (pip install pylibjpeg-libjpeg); "
                                   "the dcmtk comparison still runs")
DCMTK = shutil.which("dcmdjpeg") is not None and shutil.which("dcmcjpeg") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdjpeg", "dcmcjpeg")


# -- helpers --------------------------------------------------------------------------------------
def _jpeg_files() -> list[Path]:
    """Every pydicom test file whose transfer syntax is JPEG lossless and that has pixels."""
    out = []
    for p in sorted(TEST_FILES.rglob("*")):
        if not p.is_file() or p.suffix in (".py", ".pyc", ".json", ".txt", ".md", ".gz", ".bz2"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(p)
            ts = ds.file_meta.get("TransferSyntaxUID")
        except Exception:  # noqa: BLE001 - not a DICOM file pydicom reads
            continue
        if ts in (P14, SV1) and "PixelData" in ds:
            out.append(p)
    return out


JPEG_FILES = _jpeg_files()


def _run(*cmd: str) -> None:
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


def _image_ds(arr: np.ndarray, bits_allocated: int, bits_stored: int, signed: bool, frames: int) -> Dataset:
    """A Secondary Capture data set (no pixel data yet) for ``arr`` (frames first)."""
    return image_ds(arr, bits_allocated, bits_stored, signed, frames, name="JPEG^TEST")


def _random_frames(rng, frames, rows, cols, samples, bits, signed, smooth=True):
    """Frames of ``bits``-bit values: a smooth ramp plus noise (compressible) and some extremes."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    shape = (frames, rows, cols) + ((samples,) if samples > 1 else ())
    if smooth:
        base = np.linspace(lo, hi, rows * cols).reshape(rows, cols)
        base = base.reshape((1, rows, cols) + ((1,) if samples > 1 else ()))
        noise = rng.integers(-(1 << max(1, bits // 3)), 1 << max(1, bits // 3), size=shape)
        arr = np.clip(base + noise, lo, hi)
    else:
        arr = rng.integers(lo, hi, size=shape, endpoint=True)
    arr = arr.astype(np.int64)
    flat = arr.reshape(-1)
    flat[:: max(1, flat.size // 5)] = hi
    flat[1:: max(2, flat.size // 3)] = lo
    dt = np.dtype(("i" if signed else "u") + ("1" if bits <= 8 else "2"))
    return arr.astype(dt)


def _native_file(arr, bits_allocated, bits_stored, signed, path):
    ds = _image_ds(arr, bits_allocated, bits_stored, signed, len(arr))
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    pacsnb.write(ds, path, EXPLICIT_LE)


def _ours_file(arr, bits_allocated, bits_stored, signed, path, ts=SV1, **opts):
    ds = _image_ds(arr, bits_allocated, bits_stored, signed, len(arr))
    codec = get_codec(ts)
    set_encapsulated_pixel_data(ds, [codec.encode_frame(a, ds, frame=i, **opts) for i, a in enumerate(arr)], ts)
    pacsnb.write(ds, path)
    return ds


def _dcmdjpeg_pixels(path: Path, tmp_path: Path) -> np.ndarray:
    native = tmp_path / (path.stem + "_dcmdjpeg.dcm")
    _run("dcmdjpeg", str(path), str(native))
    back = pacsnb.read(native)
    assert str(back.transfer_syntax) not in (P14, SV1)
    return pixel_array(back)


# -- 1. pydicom's JPEG lossless files -------------------------------------------------------------
def test_enumeration_found_the_jpeg_lossless_files():
    assert "SC_rgb_jpeg_gdcm.dcm" in {p.name for p in JPEG_FILES}


@needs_dcmtk
@pytest.mark.parametrize("path", JPEG_FILES, ids=lambda p: p.name)
def test_pydicom_file_decodes_like_dcmdjpeg(path: Path, tmp_path):
    ours = pixel_array(pacsnb.read(path))
    assert np.array_equal(ours, _dcmdjpeg_pixels(path, tmp_path))


@needs_libjpeg
@pytest.mark.parametrize("path", JPEG_FILES, ids=lambda p: p.name)
def test_pydicom_file_decodes_like_libjpeg(path: Path):
    """pydicom reads the file and splits the frames; pylibjpeg-libjpeg decodes them."""
    from libjpeg import decode
    from pydicom.encaps import generate_frames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(path)
    n = int(pds.get("NumberOfFrames", 1) or 1)
    theirs = [np.asarray(decode(f)) for f in generate_frames(pds.PixelData, number_of_frames=n)]
    ds = pacsnb.read(path)
    ours = pixel_array(ds)
    assert np.array_equal(ours, theirs[0] if n == 1 else np.stack(theirs))
    for i in range(n):
        assert np.array_equal(pixel_array(ds, frame=i), theirs[i])


# -- 2. round trips -------------------------------------------------------------------------------
@st.composite
def frames(draw):
    bits = draw(st.integers(2, 16))
    samples = draw(st.sampled_from([1, 1, 3, 2]))
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    signed = draw(st.booleans())
    arr = _random_frames(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), 1, rows, cols, samples, bits,
                         signed, smooth=draw(st.booleans()))[0]
    return arr, bits, signed


@FAST
@given(frames(), st.integers(1, 7), st.sampled_from([0, 0, 1, 3, 7, 12, 100]))
def test_round_trip(case, predictor, restart):
    arr, bits, signed = case
    ba = 8 if bits <= 8 else 16
    p = FrameParams(rows=arr.shape[0], columns=arr.shape[1], samples=arr.shape[2] if arr.ndim == 3 else 1,
                    bits_allocated=ba, pixel_representation=int(signed))
    data = jl.encode_frame(arr, p, bits_stored=bits, predictor=predictor, restart_interval=restart)
    h = jl.read_header(data)
    assert (h.precision, h.predictors, h.restart_interval) == (bits, (predictor,), restart)
    got = jl.decode_frame(data, p)
    # signed values come back as their P-bit pattern; pixels sign-extends from Bits Stored
    expect = arr.astype(np.int64) & ((1 << bits) - 1)
    assert got.shape == arr.shape and got.dtype == p.dtype
    assert np.array_equal(got.astype(np.int64) & ((1 << bits) - 1), expect)
    if not signed:
        assert np.array_equal(got, arr)
    if (arr.ndim == 2 or arr.shape[2] == 3) and restart % arr.shape[1] == 0:
        # (libjpeg does not restart the prediction at intervals that begin inside a row)
        _check_libjpeg(data, expect)


def _check_libjpeg(data: bytes, expect: np.ndarray) -> None:
    if not HAVE_LIBJPEG:
        return
    from libjpeg import decode
    theirs = np.asarray(decode(bytes(data)))
    assert np.array_equal(theirs.astype(np.int64).reshape(expect.shape), expect)


@pytest.mark.parametrize("predictor", range(1, 8))
@pytest.mark.parametrize("bits, samples", [(16, 1), (12, 1), (8, 3), (2, 1), (16, 3)])
def test_round_trip_every_predictor(predictor, bits, samples):
    arr = _random_frames(np.random.default_rng(predictor * bits), 1, 17, 23, samples, bits, False)[0]
    ba = 8 if bits <= 8 else 16
    p = FrameParams(rows=17, columns=23, samples=samples, bits_allocated=ba)
    for restart in (0, 23, 46, 5):
        data = jl.encode_frame(arr, p, bits_stored=bits, predictor=predictor, restart_interval=restart)
        assert np.array_equal(jl.decode_frame(data, p, frame=0), arr)
        if restart in (0, 23, 46):  # libjpeg wants intervals of whole rows
            _check_libjpeg(data, arr.astype(np.int64))


def test_encoder_compresses_smooth_data():
    yy, xx = np.mgrid[:64, :64]
    img = (1000 + 3 * yy + 2 * xx).astype(np.uint16)
    data = jl.encode_frame(img, rows=64, columns=64, bits_allocated=16)
    assert len(data) < img.nbytes / 4


def test_encode_inputs():
    rgb = _random_frames(np.random.default_rng(1), 1, 5, 7, 3, 8, False)[0]
    p = FrameParams(rows=5, columns=7, samples=3, bits_allocated=8)
    ref = jl.encode_frame(rgb, p)
    assert jl.encode_frame(np.moveaxis(rgb, -1, 0).copy(), p) == ref          # planes first
    assert jl.encode_frame(rgb.tobytes(), p) == ref                          # interleaved bytes
    planar = FrameParams(rows=5, columns=7, samples=3, bits_allocated=8, planar_configuration=1)
    assert jl.encode_frame(np.moveaxis(rgb, -1, 0).tobytes(), planar) == ref  # planar bytes
    ct = np.array([[-1024, 2047], [0, -1]], np.int16)
    p16 = FrameParams(rows=2, columns=2, bits_allocated=16, pixel_representation=1)
    assert np.array_equal(jl.decode_frame(jl.encode_frame(ct.astype("<i2").tobytes(), p16), p16), ct)
    data12 = jl.encode_frame(ct, p16, bits_stored=12)
    assert jl.read_header(data12).precision == 12
    assert np.array_equal(jl.decode_frame(data12, p16).view(np.uint16), ct.view(np.uint16) & 0xFFF)


def test_encode_errors():
    p = FrameParams(rows=2, columns=2, bits_allocated=16)
    a = np.array([[0, 1], [2, 5000]], np.uint16)
    with pytest.raises(CodecError, match="5000 does not fit in 12 unsigned bits"):
        jl.encode_frame(a, p, bits_stored=12)
    with pytest.raises(CodecError, match="predictor 8"):
        jl.encode_frame(a, p, predictor=8)
    with pytest.raises(CodecError, match="shape"):
        jl.encode_frame(np.zeros((3, 2), np.uint16), p)
    with pytest.raises(CodecError, match="Bits Allocated 32"):
        jl.encode_frame(a, rows=2, columns=2, bits_allocated=32)
    with pytest.raises(CodecError, match="-3000 does not fit in 12 signed bits"):
        jl.encode_frame(np.array([[-3000, 0], [0, 0]], np.int16), p, bits_stored=12)
    with pytest.raises(CodecError, match="SV1 transfer syntax requires predictor 1"):
        get_codec(SV1).encode_frame(a, p, predictor=2)


# -- 3. dcmtk -------------------------------------------------------------------------------------
# (bits allocated, bits stored, samples, signed, rows, cols, frames)
DCMTK_CASES = [(8, 8, 1, False, 5, 7, 2), (16, 16, 1, True, 6, 9, 2), (16, 12, 1, False, 33, 41, 1),
               (8, 8, 3, False, 5, 7, 2), (16, 16, 1, False, 64, 70, 1), (16, 10, 1, False, 3, 4, 1),
               (16, 16, 3, False, 4, 11, 1)]


@needs_dcmtk
@pytest.mark.parametrize("ba, bs, samples, signed, rows, cols, nframes", DCMTK_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("ts, opts", [(SV1, {}), (P14, {"predictor": 6}), (P14, {"predictor": 4, "restart_interval": 0}),
                                      (SV1, {"restart_interval": "row"})], ids=["sv1", "p6", "p4", "sv1-rst"])
def test_dcmdjpeg_decodes_what_we_encode(tmp_path, ba, bs, samples, signed, rows, cols, nframes, ts, opts):
    arr = _random_frames(np.random.default_rng(ba + bs + samples), nframes, rows, cols, samples, bs, signed)
    if opts.get("restart_interval") == "row":
        opts = dict(opts, restart_interval=cols)
    if signed and bs < ba:
        pytest.skip("signed values below Bits Allocated: dcmtk's own behaviour differs")
    ours = tmp_path / "ours.dcm"
    _ours_file(arr, ba, bs, signed, ours, ts, **opts)
    got = _dcmdjpeg_pixels(ours, tmp_path)
    assert np.array_equal(got, arr if nframes > 1 else arr[0])
    assert np.array_equal(pixel_array(pacsnb.read(ours)), arr if nframes > 1 else arr[0])


DCMCJPEG_OPTIONS = [["+e1"], ["+el", "+sv", "1"], ["+el", "+sv", "2"], ["+el", "+sv", "3"], ["+el", "+sv", "4"],
                    ["+el", "+sv", "5"], ["+el", "+sv", "6"], ["+el", "+sv", "7"], ["+el", "+sv", "1", "+pt", "2"],
                    ["+e1", "-ho"]]


@needs_dcmtk
@pytest.mark.parametrize("ba, bs, samples, signed, rows, cols, nframes", DCMTK_CASES[:5], ids=lambda v: str(v))
@pytest.mark.parametrize("opts", DCMCJPEG_OPTIONS, ids=lambda o: "".join(o))
def test_we_decode_what_dcmcjpeg_encodes(tmp_path, ba, bs, samples, signed, rows, cols, nframes, opts):
    if "-ho" in opts and bs != 8:
        pytest.skip("standard Huffman tables only for 8 bits")
    arr = _random_frames(np.random.default_rng(ba * bs * samples), nframes, rows, cols, samples, bs, signed)
    native = tmp_path / "native.dcm"
    _native_file(arr, ba, bs, signed, native)
    theirs = tmp_path / "dcmcjpeg.dcm"
    _run("dcmcjpeg", *opts, str(native), str(theirs))
    ds = pacsnb.read(theirs)
    assert str(ds.transfer_syntax) in (P14, SV1)
    dcmtk_pixels = _dcmdjpeg_pixels(theirs, tmp_path)
    ours = pixel_array(ds)
    assert ours.shape == dcmtk_pixels.shape
    assert np.array_equal(ours, dcmtk_pixels)
    if "+pt" not in opts:
        assert np.array_equal(ours, arr if nframes > 1 else arr[0])
    for i in range(nframes):
        assert np.array_equal(pixel_array(ds, frame=i), dcmtk_pixels[i] if nframes > 1 else dcmtk_pixels)


# -- 4. bad input ---------------------------------------------------------------------------------
SMALL = _random_frames(np.random.default_rng(5), 1, 6, 9, 3, 12, False)[0]
SMALL_P = FrameParams(rows=6, columns=9, samples=3, bits_allocated=16)
SMALL_DATA = jl.encode_frame(SMALL, SMALL_P, bits_stored=12, restart_interval=9)


_decode_or_codec_error = partial(decode_or_codec_error, jl.decode_frame)


def test_truncated_at_every_byte():
    for n in range(len(SMALL_DATA) - 2):  # without EOI it is still whole
        with pytest.raises(CodecError, match="JPEG Lossless frame 4: "):
            jl.decode_frame(SMALL_DATA[:n], SMALL_P, frame=4)
    assert np.array_equal(jl.decode_frame(SMALL_DATA[:-2], SMALL_P), SMALL)


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


def _segment(data: bytes, marker: int) -> int:
    i = data.index(bytes([0xFF, marker]))
    return i


@pytest.mark.parametrize("mutate, match", [
    (lambda d: b"\x00" + d, "does not start with SOI"),
    (lambda d: d[:2] + b"\xff\xd8" + d[2:], "SOI at byte 2 is in the wrong place"),
    (lambda d: d[:2] + b"\xff\xd0" + d[2:], "RST0 at byte 2 is in the wrong place"),
    (lambda d: _replace(d, b"\xff\xc3", b"\xff\xc0"), r"SOF0 \(baseline DCT\), not lossless"),
    (lambda d: _replace(d, b"\xff\xc3", b"\xff\xcb"), "arithmetic coding"),
    (lambda d: _replace(d, b"\xff\xc4", b"\xff\xfe"), "uses Huffman table 0, which no DHT segment defined"),
    (lambda d: _replace(d, b"\xff\xc3", b"\xff\xfe"), r"scan \(SOS at byte \d+\) before the frame header"),
    (lambda d: _replace(d, b"\xff\xd1", b"\xff\xd2"), "found RST2 at byte \\d+ where RST1 was due"),
    (lambda d: _replace(d, b"\xff\xd1", b"\xff\xfe"), "the marker at byte \\d+ is COM, not RST1"),
    (lambda d: _replace(d, b"\xff\xdd\x00\x04\x00\x09", b"\xff\xdd\x00\x04\x00\x08"), "is EOI, not RST5"),
    (lambda d: _replace(d, b"\xff\xdd\x00\x04\x00\x09", b"\xff\xdd\x00\x04\x00\x00"), "ends at byte \\d+ \\(marker RST0\\) before row 1"),
    (lambda d: d[:d.index(b"\xff\xda")] + b"\xff\xd9", "EOI before component"),
    (lambda d: d[:d.index(b"\xff\xda")], "ends at byte \\d+ before any scan"),
    (lambda d: d[:2] + d[d.index(b"\xff\xd9"):], "no frame header"),
    (lambda d: _replace(d, b"\xff\xc3\x00\x11\x0c", b"\xff\xc3\x00\x11\x11"), "precision of 17 bits"),
    (lambda d: _replace(d, b"\xff\xc3\x00\x11\x0c", b"\xff\xc3\x00\x11\x01"), "precision of 1 bits"),
    (lambda d: _replace(d, b"\xff\xc3\x00\x11", b"\xff\xc3\xff\xff"), "length 65535, which runs past the end"),
    (lambda d: _replace(d, b"\xff\xc3\x00\x11\x0c\x00\x06", b"\xff\xc3\x00\x11\x0c\x00\x00"), "0 lines"),
    (lambda d: _replace(d, b"\xff\xc3\x00\x11\x0c\x00\x06", b"\xff\xc3\x00\x11\x0c\x00\x07"),
     "frame is 7 x 9 .* Rows x Columns are 6 x 9"),
    (lambda d: _replace(d, b"\x01\x11\x00\x02\x11\x00", b"\x01\x11\x00\x02\x21\x00"), "sampling factors"),
    (lambda d: _replace(d, b"\xff\xda\x00\x0c\x03\x01\x00", b"\xff\xda\x00\x0c\x03\x01\x10"),
     "uses Huffman table 1"),
    (lambda d: _replace(d, b"\xff\xda\x00\x0c\x03\x01\x00", b"\xff\xda\x00\x0c\x03\x07\x00"),
     "codes component 7, which the frame header does not define"),
    (lambda d: _replace(d, b"\xff\xc4\x00", b"\xff\xc4\x00\x05\x00\x01\x02\xff\xc4\x00"), "DHT .* cut off"),
    (lambda d: d[:d.index(b"\xff\xc4") + 4] + b"\x10" + d[d.index(b"\xff\xc4") + 5:], "table class 1"),
])
def test_bad_markers(mutate, match):
    data = mutate(SMALL_DATA)
    if match is None:
        _decode_or_codec_error(data, SMALL_P)
        return
    with pytest.raises(CodecError, match="JPEG Lossless frame 2: .*" + match):
        jl.decode_frame(data, SMALL_P, frame=2)


def test_bad_predictor_and_point_transform():
    data = jl.encode_frame(np.zeros((2, 2), np.uint8), rows=2, columns=2, bits_allocated=8)
    sos = data.index(b"\xff\xda")
    tail = sos + 2 + 2 + 1 + 2  # Ss
    bad = data[:tail] + b"\x00" + data[tail + 1:]
    with pytest.raises(CodecError, match="selects predictor 0"):
        jl.decode_frame(bad, rows=2, columns=2, bits_allocated=8)
    bad = data[:tail + 2] + b"\x08" + data[tail + 3:]
    with pytest.raises(CodecError, match="point transform of 8 bits for 8-bit samples"):
        jl.decode_frame(bad, rows=2, columns=2, bits_allocated=8)


def test_frame_parameters_must_match():
    with pytest.raises(CodecError, match="3 component\\(s\\) but Samples per Pixel is 1"):
        jl.decode_frame(SMALL_DATA, rows=6, columns=9, bits_allocated=16)
    with pytest.raises(CodecError, match="precision is 12 bits, more than Bits Allocated \\(8\\)"):
        jl.decode_frame(SMALL_DATA, rows=6, columns=9, samples=3, bits_allocated=8)
    with pytest.raises(CodecError, match="Bits Allocated 32"):
        jl.decode_frame(SMALL_DATA, rows=6, columns=9, samples=3, bits_allocated=32)
    with pytest.raises(CodecError, match="bytes-like"):
        jl.decode_frame(12, SMALL_P)
    with pytest.raises(ValueError, match="out must be"):
        jl.decode_frame(SMALL_DATA, SMALL_P, out=np.empty((6, 9), np.uint16))


def test_invalid_huffman_code_and_bad_table():
    # a table with one code of length 1 ('0'): all-ones bit patterns match no code
    bits = bytes([1] + [0] * 15)
    head = (b"\xff\xd8\xff\xc3\x00\x0b\x08\x00\x02\x00\x02\x01\x01\x11\x00"
            b"\xff\xc4\x00\x14\x00" + bits + b"\x00" + b"\xff\xda\x00\x08\x01\x01\x00\x01\x00\x00")
    with pytest.raises(CodecError, match="invalid Huffman code near byte"):
        jl.decode_frame(head + b"\x7f\xff\x00\xff\x00\xff\xd9", rows=2, columns=2, bits_allocated=8, frame=1)
    assert jl.decode_frame(head + b"\x00\xff\xd9", rows=2, columns=2, bits_allocated=8).tolist() == [[128] * 2] * 2
    over = bytes([3] + [0] * 15)
    bad = head.replace(b"\xff\xc4\x00\x14\x00" + bits + b"\x00", b"\xff\xc4\x00\x16\x00" + over + b"\x00\x01\x02")
    with pytest.raises(CodecError, match="more codes of some length than the lengths allow"):
        jl.decode_frame(bad + b"\x00\xff\xd9", rows=2, columns=2, bits_allocated=8)
    big = head.replace(b"\xff\xc4\x00\x14\x00" + bits + b"\x00", b"\xff\xc4\x00\x14\x00" + bits + b"\x11")
    with pytest.raises(CodecError, match="has the value 17"):
        jl.decode_frame(big + b"\x00\xff\xd9", rows=2, columns=2, bits_allocated=8)


@st.composite
def mutated(draw):
    arr, bits, signed = draw(frames())
    ba = 8 if bits <= 8 else 16
    p = FrameParams(rows=arr.shape[0], columns=arr.shape[1], samples=arr.shape[2] if arr.ndim == 3 else 1,
                    bits_allocated=ba, pixel_representation=int(signed))
    data = bytearray(jl.encode_frame(arr, p, bits_stored=bits, predictor=draw(st.integers(1, 7)),
                                     restart_interval=draw(st.sampled_from([0, 0, 2, arr.shape[1]]))))
    return mutate(draw, data, insert_marker(0xD0, 0xD1, 0xD8, 0xD9, 0xDA, 0xC4, 0xC3, 0xDD, 0xFF, 0x00)), p


@settings(max_examples=int(os.environ.get("PACSNB_FUZZ_EXAMPLES", 400)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_codestreams(case):
    _decode_or_codec_error(*case)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.sampled_from([(8, 1), (16, 1), (8, 3), (16, 3)]),
       st.integers(1, 9), st.integers(1, 9))
def test_fuzz_random_codestreams(body, fmt, rows, cols):
    bits, samples = fmt
    p = FrameParams(rows=rows, columns=cols, samples=samples, bits_allocated=bits)
    # half the time a valid header, so that the entropy decoder gets random data
    if body and body[0] & 1:
        head = bytearray(jl.encode_frame(np.zeros(p.shape, p.dtype), p))
        sos = head.index(b"\xff\xda")
        data = bytes(head[:sos + 2 + 6 + 2 * samples]) + body
    else:
        data = body
    _decode_or_codec_error(data, p)


#: Inputs kept from fuzzing and from odd files (hex), with the frame parameters: each must
#: decode to an array of the right shape or raise CodecError. Add crashers here.
CORPUS = [
    # SOI only
    ("ffd8", dict(rows=1, columns=1, bits_allocated=8)),
    # SOI, then 0xFF fill bytes to the end
    ("ffd8ffffff", dict(rows=1, columns=1, bits_allocated=8)),
    # a scan whose data is all 0xFF fill (a marker that never comes)
    ("ffd8ffc3000b08000100010101110" "0ffc400140001000000000000000000000000000000" "00ffda0008010100010000"
     + "ff" * 9, dict(rows=1, columns=1, bits_allocated=8)),
    # a DHT that lists 255 codes of length 16 (overflow) in a short segment
    ("ffd8ffc40014000000000000000000000000000000ff00", dict(rows=1, columns=1, bits_allocated=8)),
    # a restart interval of 1 with the scan's RST markers missing
    ("ffd8ffc3000b08000200020101110" "0ffc400140001000000000000000000000000000000" "00ffdd00040001"
     "ffda000801010001000000ffd9", dict(rows=2, columns=2, bits_allocated=8)),
]


@pytest.mark.parametrize("hexdata, params", CORPUS)
def test_corpus(hexdata, params):
    _decode_or_codec_error(bytes.fromhex(hexdata), FrameParams.of(params))


def test_decode_without_params_and_padding():
    img = np.arange(30, dtype=np.uint16).reshape(5, 6) * 1000
    data = jl.encode_frame(img, rows=5, columns=6, bits_allocated=16)
    assert np.array_equal(jl.decode_frame(data + b"\x00"), img)
    # APPn and COM segments, and fill bytes before markers, are skipped
    extra = data[:2] + b"\xff\xe0\x00\x04ab\xff\xfe\x00\x03c\xff\xff" + data[2:]
    assert np.array_equal(jl.decode_frame(extra, rows=5, columns=6, bits_allocated=16), img)


def test_decode_into_out():
    out = np.zeros((2, 6, 9, 3), np.uint16)
    jl.decode_frame(SMALL_DATA, SMALL_P, out=out[1])
    assert np.array_equal(out[1], SMALL) and not out[0].any()


# -- 5. registry and pixel_array ------------------------------------------------------------------
def test_registry():
    for ts in (P14, SV1):
        assert can_decode(ts) and can_encode(ts)
        assert "jpeg_lossless" in repr(get_codec(ts))


def test_pixel_array_multiframe_signed_12_bit(tmp_path):
    arr = _random_frames(np.random.default_rng(3), 3, 7, 8, 1, 12, True)
    ds = _ours_file(arr, 16, 12, True, tmp_path / "ct.dcm", P14, predictor=5)
    back = pacsnb.read(tmp_path / "ct.dcm")
    assert np.array_equal(pixel_array(back), arr)
    assert np.array_equal(pixel_array(back, frame=2), arr[2])
    assert np.array_equal(pixel_array(ds), arr)


def test_pixel_array_corrupt_frame_names_it(tmp_path):
    arr = _random_frames(np.random.default_rng(4), 2, 5, 5, 1, 8, False)
    ds = _image_ds(arr, 8, 8, False, 2)
    frames_bytes = [jl.encode_frame(a, ds) for a in arr]
    frames_bytes[1] = frames_bytes[1][:-8]
    set_encapsulated_pixel_data(ds, frames_bytes, SV1)
    with pytest.raises(CodecError, match="frame 1"):
        pixel_array(ds)
    assert np.array_equal(pixel_array(ds, frame=0), arr[0])
