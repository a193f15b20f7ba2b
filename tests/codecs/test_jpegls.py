"""JPEG-LS (T.87): pacsnb.codecs.jpegls against pydicom's decoders, CharLS, libjpeg and bad input.

1. Every JPEG-LS file among pydicom's test files (found by transfer syntax) decodes to
   what pydicom decodes with pylibjpeg-libjpeg, and with gdcm (each skipped, saying so,
   when not installed).
2. Round trips (hypothesis): 2 to 16 bits, 1 to 3 components, the three interleave modes,
   NEAR 0 to 3 (every sample within NEAR), restart intervals, signed values, odd sizes;
   what we encode, pylibjpeg-libjpeg and CharLS (imagecodecs) decode to the same pixels.
3. Codestreams of another encoder (CharLS through imagecodecs: lossless and near-lossless)
   decode to what CharLS decodes. (dcmtk both ways: tests/interop/test_jpegls_dcmtk.py.)
4. Bad input: truncation at every byte, misplaced and missing markers, mapping tables,
   point transform, frames that do not match the parameters, hypothesis fuzzing of
   mutated codestreams: a CodecError naming the frame, never a crash, a hang or a wrong
   shape. Inputs worth keeping are files in ``corpus/jpegls``, replayed here.
5. The registry, ``pixel_array``, ``transcode`` and ``pacsnb conv --jpeg-ls``.
"""
from __future__ import annotations

import os
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
from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec, jpegls
from pacsnb.errors import CodecError
from pacsnb.io.encaps import set_encapsulated_pixel_data
from pacsnb.pixels import pixel_array

LOSSLESS = "1.2.840.10008.1.2.4.80"
NEAR = "1.2.840.10008.1.2.4.81"
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CORPUS_DIR = Path(__file__).parent / "corpus" / "jpegls"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

try:
    import libjpeg  # pylibjpeg-libjpeg
except ImportError:
    libjpeg = None
try:
    import imagecodecs
    if not imagecodecs.JPEGLS.available:
        imagecodecs = None
except (ImportError, AttributeError):
    imagecodecs = None
try:
    import gdcm  # noqa: F401
    HAVE_GDCM = True
except ImportError:
    HAVE_GDCM = False

needs_libjpeg = pytest.mark.skipif(libjpeg is None, reason="pylibjpeg-libjpeg is not installed, so there is no "
                                   "second JPEG-LS decoder (pip install pylibjpeg-libjpeg)")
needs_charls = pytest.mark.skipif(imagecodecs is None, reason="imagecodecs (CharLS) is not installed, so there is "
                                  "no CharLS to compare with (pip install imagecodecs)")
needs_gdcm = pytest.mark.skipif(not HAVE_GDCM, reason="python-gdcm is not installed (pip install python-gdcm)")


def _jls_files() -> list[Path]:
    """Every pydicom test file whose transfer syntax is JPEG-LS and that has pixels."""
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
        if ts in (LOSSLESS, NEAR) and "PixelData" in ds:
            out.append(p)
    return out


JLS_FILES = _jls_files()


def _params(arr: np.ndarray, signed: bool = False) -> FrameParams:
    return FrameParams(rows=arr.shape[0], columns=arr.shape[1], samples=arr.shape[2] if arr.ndim == 3 else 1,
                       bits_allocated=8 if arr.dtype.itemsize == 1 else 16, pixel_representation=int(signed))


def _image(rng, rows, cols, samples, bits, signed=False, smooth=True) -> np.ndarray:
    """``bits``-bit values: a ramp plus noise with flat patches (runs) and some extremes."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    shape = (rows, cols) + ((samples,) if samples > 1 else ())
    if smooth:
        base = np.linspace(lo, hi, rows * cols).reshape(rows, cols)
        if samples > 1:
            base = base[..., None]
        noise = rng.integers(-(1 << max(1, bits // 3)), 1 << max(1, bits // 3), size=shape)
        arr = np.clip(base + noise, lo, hi).astype(np.int64)
    else:
        arr = rng.integers(lo, hi, size=shape, endpoint=True)
    arr[rows // 3: rows // 2] = lo + (hi - lo) // 3   # a flat band: run mode
    flat = arr.reshape(-1)
    flat[:: max(1, flat.size // 5)] = hi
    flat[1:: max(2, flat.size // 3)] = lo
    dt = np.dtype(("i" if signed else "u") + ("1" if bits <= 8 else "2"))
    return arr.astype(dt)


def _unsigned(arr: np.ndarray, bits: int) -> np.ndarray:
    """The P-bit pattern of ``arr`` (what JPEG-LS codes)."""
    return (arr.astype(np.int64) & ((1 << bits) - 1)).astype(arr.dtype.str.replace("i", "u"))


# -- 1. pydicom's JPEG-LS files --------------------------------------------------------------------
def test_enumeration_found_the_jpegls_files():
    names = {p.name for p in JLS_FILES}
    assert {"MR_small_jpeg_ls_lossless.dcm", "SC_rgb_jls_lossy_line.dcm", "SC_rgb_jls_lossy_sample.dcm",
            "JPEGLSNearLossless_16.dcm"} <= names


def _pydicom_pixels(path: Path, plugin: str) -> np.ndarray:
    ds = pydicom.dcmread(path)
    ds.pixel_array_options(decoding_plugin=plugin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ds.pixel_array


@needs_libjpeg
@pytest.mark.parametrize("path", JLS_FILES, ids=lambda p: p.name)
def test_pydicom_file_decodes_like_libjpeg(path: Path):
    """Frame by frame, as pydicom reads the frames, against pylibjpeg-libjpeg called directly
    (pydicom's own "pylibjpeg" plug-in also wants the umbrella package ``pylibjpeg``)."""
    from pydicom.encaps import generate_frames
    ds = pydicom.dcmread(path)
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    p = FrameParams.of(ds)
    for i, data in enumerate(generate_frames(ds.PixelData, number_of_frames=n)):
        ref = np.asarray(libjpeg.decode(data))
        ours = jpegls.decode_frame(data, p, frame=i)
        unsigned = ours.view(ours.dtype.str.replace("i", "u"))
        assert unsigned.shape == p.shape and np.array_equal(unsigned, ref.reshape(p.shape))


@needs_gdcm
@pytest.mark.parametrize("path", JLS_FILES, ids=lambda p: p.name)
def test_pydicom_file_decodes_like_gdcm(path: Path):
    ref = _pydicom_pixels(path, "gdcm")
    ours = pixel_array(pacsnb.read(path))
    assert ours.shape == ref.shape and np.array_equal(ours, ref)


def test_pydicom_near_lossless_file_headers():
    h = jpegls.read_header(pacsnb.io.encaps.get_frame(pacsnb.read(TEST_FILES / "SC_rgb_jls_lossy_line.dcm"), 0))
    assert h.components == 3 and h.interleave == (1,) and h.near[0] > 0


# -- 2. round trips ---------------------------------------------------------------------------------
@st.composite
def cases(draw):
    bits = draw(st.integers(2, 16))
    samples = draw(st.sampled_from([1, 1, 3]))
    signed = draw(st.booleans())
    rows, cols = draw(st.integers(1, 19)), draw(st.integers(1, 23))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    arr = _image(rng, rows, cols, samples, bits, signed, smooth=draw(st.booleans()))
    maxval = (1 << bits) - 1
    near = draw(st.sampled_from([0, 0, 1, 3])) if maxval >= 6 else 0
    ilv = draw(st.sampled_from([0, 1, 2]))
    restart = draw(st.sampled_from([0, 0, 1, 3]))
    return arr, bits, signed, near, ilv, restart


@FAST
@given(cases())
def test_round_trip(case):
    arr, bits, signed, near, ilv, restart = case
    p = _params(arr, signed)
    data = jpegls.encode_frame(arr, p, bits_stored=bits, near=near, interleave=ilv, restart_interval=restart)
    back = jpegls.decode_frame(data, p)
    assert back.shape == arr.shape and back.dtype == arr.dtype
    want, got = _unsigned(arr, bits).astype(np.int64), _unsigned(back, bits).astype(np.int64)
    assert np.abs(got - want).max(initial=0) <= near
    if near == 0:
        assert np.array_equal(back, _unsigned(arr, bits).view(arr.dtype) if not signed else
                              _unsigned(arr, bits).astype(arr.dtype))
    h = jpegls.read_header(data)
    assert (h.precision, h.rows, h.columns, h.components, h.restart_interval) == (
        bits, p.rows, p.columns, p.samples, restart)
    if imagecodecs is not None:   # CharLS decodes what we encode to the same pixels
        ref = imagecodecs.jpegls_decode(data)
        assert np.array_equal(np.asarray(ref).reshape(arr.shape).astype(np.int64), got)
    if libjpeg is not None and not restart:   # libjpeg has no restart markers in JPEG-LS scans
        ref = libjpeg.decode(data)
        assert np.array_equal(np.asarray(ref).reshape(arr.shape).astype(np.int64), got)


@pytest.mark.parametrize("bits, samples, ilv", [(8, 1, 0), (16, 1, 0), (12, 1, 0), (8, 3, 0), (8, 3, 1),
                                                (8, 3, 2), (16, 3, 2), (2, 1, 0), (5, 3, 1)])
def test_round_trip_larger(bits, samples, ilv):
    arr = _image(np.random.default_rng(bits * 10 + ilv), 64, 77, samples, bits)
    p = _params(arr)
    data = jpegls.encode_frame(arr, p, bits_stored=bits, interleave=ilv)
    assert np.array_equal(jpegls.decode_frame(data, p), arr)
    if libjpeg is not None:
        assert np.array_equal(np.asarray(libjpeg.decode(data)).reshape(arr.shape), arr)


def test_encoder_compresses():
    flat = np.full((64, 64), 1000, np.uint16)
    assert len(jpegls.encode_frame(flat, rows=64, columns=64, bits_allocated=16)) < 128   # of 8192
    ramp = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8)
    assert len(jpegls.encode_frame(ramp, rows=64, columns=64, bits_allocated=8)) < 64 * 64 // 4


def test_encode_inputs_and_errors():
    img = np.arange(12, dtype=np.uint16).reshape(3, 4)
    data = jpegls.encode_frame(img, rows=3, columns=4, bits_allocated=16)
    assert jpegls.encode_frame(img.tobytes(), rows=3, columns=4, bits_allocated=16) == data
    rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    planar = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    a = jpegls.encode_frame(rgb, rows=2, columns=4, samples=3, bits_allocated=8)
    assert jpegls.encode_frame(planar, rows=2, columns=4, samples=3, bits_allocated=8) == a
    assert jpegls.encode_frame(planar.tobytes(), rows=2, columns=4, samples=3, bits_allocated=8,
                               planar_configuration=1) == a
    for kwargs, match in [(dict(near=300), "NEAR 300"), (dict(interleave=3), "interleave mode 3"),
                          (dict(bits_stored=17), "Bits Stored 17"), (dict(bits_allocated=32), "Bits Allocated 32"),
                          (dict(bits_stored=3), "the value 11 does not fit in 3 unsigned bits"),
                          (dict(rows=4), "shape"), (dict(restart_interval=-1), "restart interval")]:
        kw = dict(rows=3, columns=4, bits_allocated=16) | kwargs
        with pytest.raises(CodecError, match=match):
            jpegls.encode_frame(img, **kw)
    with pytest.raises(CodecError, match="does not fit in 4 signed bits"):
        jpegls.encode_frame(np.array([[-9]], np.int8), rows=1, columns=1, bits_allocated=8, bits_stored=4)
    with pytest.raises(CodecError, match="float"):
        jpegls.encode_frame(img.astype(float), rows=3, columns=4, bits_allocated=16)


# -- 3. another encoder: CharLS ---------------------------------------------------------------------
@needs_charls
@pytest.mark.parametrize("dtype, samples, near", [(np.uint8, 1, 0), (np.uint16, 1, 0), (np.uint8, 3, 0),
                                                  (np.uint8, 1, 2), (np.uint16, 1, 5), (np.uint8, 3, 3)])
def test_we_decode_what_charls_encodes(dtype, samples, near):
    bits = np.dtype(dtype).itemsize * 8
    arr = _image(np.random.default_rng(7), 40, 53, samples, bits)
    data = imagecodecs.jpegls_encode(arr, level=near)
    ref = np.asarray(imagecodecs.jpegls_decode(data)).reshape(arr.shape)
    ours = jpegls.decode_frame(data, _params(arr))
    assert np.array_equal(ours, ref)
    assert np.abs(ours.astype(np.int64) - arr).max() <= near


# -- 4. bad input -----------------------------------------------------------------------------------
SMALL = _image(np.random.default_rng(5), 6, 9, 3, 12)
SMALL_P = _params(SMALL)
SMALL_DATA = jpegls.encode_frame(SMALL, SMALL_P, bits_stored=12, interleave=1, restart_interval=2)


_decode_or_codec_error = partial(decode_or_codec_error, jpegls.decode_frame)


def test_truncated_at_every_byte():
    for n in range(len(SMALL_DATA) - 2):  # without EOI it is still whole
        with pytest.raises(CodecError, match="JPEG-LS frame 4: "):
            jpegls.decode_frame(SMALL_DATA[:n], SMALL_P, frame=4)
    assert np.array_equal(jpegls.decode_frame(SMALL_DATA[:-2], SMALL_P), SMALL)


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


_SOF = b"\xff\xf7\x00\x11\x0c\x00\x06\x00\x09\x03"
_SOS = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x01\x00"


@pytest.mark.parametrize("mutate, match", [
    (lambda d: b"\x00" + d, "does not start with SOI"),
    (lambda d: d[:2] + b"\xff\xd8" + d[2:], "SOI at byte 2 is in the wrong place"),
    (lambda d: d[:2] + b"\xff\xd0" + d[2:], "RST0 at byte 2 is in the wrong place"),
    (lambda d: _replace(d, b"\xff\xf7", b"\xff\xc3"), r"SOF3, a JPEG \(T.81\) frame, not JPEG-LS"),
    (lambda d: _replace(d, b"\xff\xf7", b"\xff\xf9"), "JPEG-LS part 2"),
    (lambda d: _replace(d, b"\xff\xf7", b"\xff\xfe"), r"scan \(SOS at byte \d+\) before the frame header"),
    (lambda d: _replace(d, b"\xff\xd1", b"\xff\xd2"), r"found RST2 at byte \d+ where RST1 was due"),
    (lambda d: _replace(d, b"\xff\xd1", b"\xff\xfe"), r"the data at byte \d+ is COM, not RST1"),
    (lambda d: _replace(d, b"\xff\xdd\x00\x04\x00\x02", b"\xff\xdd\x00\x04\x00\x03"),
     r"ends at byte \d+ \(marker RST0\) before line 2"),
    (lambda d: _replace(d, b"\xff\xdd\x00\x04\x00\x02", b"\xff\xdd\x00\x04\x00\x01"),
     r"restart interval ends before line 1, but the data at byte \d+ is"),
    (lambda d: _replace(d, b"\xff\xdd\x00\x04\x00\x02", b"\xff\xdd\x00\x04\x00\x00"),
     r"ends at byte \d+ \(marker RST0\) before line 2"),
    (lambda d: d[:d.index(b"\xff\xda")] + b"\xff\xd9", "EOI before component"),
    (lambda d: d[:d.index(b"\xff\xda")], r"ends at byte \d+ before any scan"),
    (lambda d: d[:2] + d[d.index(b"\xff\xd9"):], "no frame header"),
    (lambda d: _replace(d, _SOF, b"\xff\xf7\x00\x11\x11\x00\x06\x00\x09\x03"), "precision of 17 bits"),
    (lambda d: _replace(d, _SOF, b"\xff\xf7\x00\x11\x01\x00\x06\x00\x09\x03"), "precision of 1 bits"),
    (lambda d: _replace(d, b"\xff\xf7\x00\x11", b"\xff\xf7\xff\xff"), "length 65535, which runs past the end"),
    (lambda d: _replace(d, _SOF, b"\xff\xf7\x00\x11\x0c\x00\x00\x00\x09\x03"), "0 lines"),
    (lambda d: _replace(d, _SOF, b"\xff\xf7\x00\x11\x0c\x00\x07\x00\x09\x03"),
     "frame is 7 x 9 .* Rows x Columns are 6 x 9"),
    (lambda d: _replace(d, b"\x01\x11\x00\x02\x11\x00", b"\x01\x11\x00\x02\x21\x00"), "sampling factors"),
    (lambda d: _replace(d, _SOS, _SOS[:5] + b"\x07" + _SOS[6:]), "codes component 7, which the frame header"),
    (lambda d: _replace(d, _SOS, _SOS[:6] + b"\x01" + _SOS[7:]), "mapping table 1 .*not even defined"),
    (lambda d: _replace(d, _SOS, _SOS[:11] + b"\x00\x03\x00"), "interleave mode 3"),
    (lambda d: _replace(d, _SOS, _SOS[:11] + b"\x00\x00\x00"), "3 components but no interleave"),
    (lambda d: _replace(d, _SOS, _SOS[:11] + b"\x00\x01\x01"), r"point transform \(1\)"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x0d\x01\x01\x2c\x00\x00\x00\x00\x00\x00\x00\x00"
     + _replace(d[2:], _SOS, _SOS[:11] + b"\xff\x01\x00"), "NEAR 255; at most 150 is allowed for MAXVAL 300"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x0d\x01\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00" + d[2:],
     "MAXVAL 4096, more than 12-bit samples hold"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x0d\x01\x00\x00\x00\x09\x00\x05\x00\x00\x00\x00" + d[2:],
     "thresholds T1=9, T2=5"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x0d\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02" + d[2:], "RESET 2"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x05\x07\x00\x00" + d[2:], "unknown type 7"),
    (lambda d: d[:2] + b"\xff\xf8\x00\x05\x01\x00\x00" + d[2:], "preset parameters.* not 13"),
    (lambda d: d[:2] + b"\xff\xe8\x00\x07mrfx\x01" + d[2:], "HP colour transform 1"),
])
def test_bad_markers(mutate, match):
    data = mutate(SMALL_DATA)
    with pytest.raises(CodecError, match="JPEG-LS frame 2: .*" + match):
        jpegls.decode_frame(data, SMALL_P, frame=2)


def test_lse_presets_are_used():
    arr = _image(np.random.default_rng(11), 20, 21, 1, 8)
    p = _params(arr)
    data = jpegls.encode_frame(arr, p)
    # the same thresholds as the defaults, spelled out: the same pixels
    same = data[:2] + b"\xff\xf8\x00\x0d\x01\x00\xff\x00\x03\x00\x07\x00\x15\x00\x40" + data[2:]
    assert np.array_equal(jpegls.decode_frame(same, p), arr)
    h = jpegls.read_header(same)
    assert (h.maxval, h.thresholds, h.reset) == (255, (3, 7, 21), 64)
    # other thresholds: another context model, so other pixels (or a CodecError), never a crash
    other = data[:2] + b"\xff\xf8\x00\x0d\x01\x00\x00\x00\x05\x00\x09\x00\x20\x00\x20" + data[2:]
    assert jpegls.read_header(other).thresholds == (5, 9, 32)
    _decode_or_codec_error(other, p)


def test_lse_oversize_dimensions():
    arr = _image(np.random.default_rng(12), 5, 6, 1, 8)
    p = _params(arr)
    data = jpegls.encode_frame(arr, p)
    sof = data.index(b"\xff\xf7")
    zeroed = data[:sof + 5] + b"\x00\x00\x00\x00" + data[sof + 9:sof + 13]
    lse = b"\xff\xf8\x00\x08\x04\x02\x00\x05\x00\x06"
    assert np.array_equal(jpegls.decode_frame(zeroed + lse + data[sof + 13:], p), arr)
    with pytest.raises(CodecError, match="0 lines or columns"):
        jpegls.decode_frame(zeroed + data[sof + 13:], p)


def test_frame_parameters_must_match():
    with pytest.raises(CodecError, match="3 component\\(s\\) but Samples per Pixel is 1"):
        jpegls.decode_frame(SMALL_DATA, rows=6, columns=9, bits_allocated=16)
    with pytest.raises(CodecError, match="precision is 12 bits, more than Bits Allocated \\(8\\)"):
        jpegls.decode_frame(SMALL_DATA, rows=6, columns=9, samples=3, bits_allocated=8)
    with pytest.raises(CodecError, match="Bits Allocated 32"):
        jpegls.decode_frame(SMALL_DATA, rows=6, columns=9, samples=3, bits_allocated=32)
    with pytest.raises(CodecError, match="bytes-like"):
        jpegls.decode_frame(12, SMALL_P)
    with pytest.raises(ValueError, match="out must be"):
        jpegls.decode_frame(SMALL_DATA, SMALL_P, out=np.empty((6, 9), np.uint16))
    huge = _replace(SMALL_DATA, _SOF, b"\xff\xf7\x00\x11\x0c\xff\xff\xff\xff\x03")
    with pytest.raises(CodecError, match="65535 x 65535 x 3 samples, more than pacsnb decodes without frame"):
        jpegls.decode_frame(huge)   # no parameters: the header is not trusted with 25 GB


def test_invalid_golomb_code_and_bad_run():
    head = jpegls.encode_frame(np.zeros((2, 3), np.uint8), rows=2, columns=3, bits_allocated=8)
    sos_end = head.index(b"\xff\xda") + 2 + 8
    # all zero bits: the first sample's code never ends within LIMIT
    with pytest.raises(CodecError, match="frame 1: invalid Golomb code"):
        jpegls.decode_frame(head[:sos_end] + b"\x00" * 8 + b"\xff\xd9", rows=2, columns=3, bits_allocated=8,
                            frame=1)
    # 5 columns of zeros: run mode from the first sample; bits 1111 fill 4 samples (RUNindex
    # 0 -> 4), then 0 and the J[4] = 1 bit remainder 1: a run up to column 5 of a 5-column line
    head = jpegls.encode_frame(np.zeros((2, 5), np.uint8), rows=2, columns=5, bits_allocated=8)
    with pytest.raises(CodecError, match="frame 3: a run at line 0 of component 1 runs past the end of the line"):
        jpegls.decode_frame(head[:sos_end] + b"\xf4\x00\xff\xd9", rows=2, columns=5, bits_allocated=8, frame=3)


def test_decode_without_params_padding_and_out():
    img = np.arange(30, dtype=np.uint16).reshape(5, 6) * 1000
    data = jpegls.encode_frame(img, rows=5, columns=6, bits_allocated=16)
    assert np.array_equal(jpegls.decode_frame(data + b"\x00"), img)
    extra = data[:2] + b"\xff\xe0\x00\x04ab\xff\xfe\x00\x03c\xff\xff" + data[2:-2] + b"\xff\xff\xd9"
    assert np.array_equal(jpegls.decode_frame(extra, rows=5, columns=6, bits_allocated=16), img)
    out = np.zeros((2, 6, 9, 3), np.uint16)
    jpegls.decode_frame(SMALL_DATA, SMALL_P, out=out[1])
    assert np.array_equal(out[1], SMALL) and not out[0].any()


@st.composite
def mutated(draw):
    bits = draw(st.sampled_from([8, 12, 16]))
    samples = draw(st.sampled_from([1, 3]))
    rows, cols = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    arr = _image(np.random.default_rng(draw(st.integers(0, 1000))), rows, cols, samples, bits)
    p = _params(arr)
    data = bytearray(jpegls.encode_frame(arr, p, bits_stored=bits, near=draw(st.sampled_from([0, 0, 2])),
                                         interleave=draw(st.integers(0, 2)),
                                         restart_interval=draw(st.sampled_from([0, 0, 1, 2]))))
    return mutate(draw, data, insert_marker(0xD0, 0xD1, 0xD8, 0xD9, 0xDA, 0xF7, 0xF8, 0xDD, 0xFF, 0x00)), p


@settings(max_examples=int(os.environ.get("PACSNB_FUZZ_EXAMPLES", 300)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_codestreams(case):
    _decode_or_codec_error(*case)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.sampled_from([(8, 1), (16, 1), (8, 3), (16, 3)]),
       st.integers(1, 9), st.integers(1, 9), st.integers(0, 2), st.integers(0, 3))
def test_fuzz_random_scan_data(body, fmt, rows, cols, ilv, near):
    """A valid header then random coded data (or random bytes altogether)."""
    bits, samples = fmt
    p = FrameParams(rows=rows, columns=cols, samples=samples, bits_allocated=bits)
    if body and body[0] & 1:
        head = bytearray(jpegls.encode_frame(np.zeros(p.shape, p.dtype), p, near=near, interleave=ilv))
        sos = head.index(b"\xff\xda")
        data = bytes(head[:sos + 2 + 6 + 2 * (1 if ilv == 0 else samples)]) + body
    else:
        data = body
    _decode_or_codec_error(data, p)


def _corpus() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.jls"))


def _corpus_params(path: Path) -> FrameParams:
    """``<what>-<rows>x<columns>x<samples>-<bits allocated>.jls``."""
    size, bits = path.stem.split("-")[-2:]
    rows, cols, samples = (int(x) for x in size.split("x"))
    return FrameParams(rows=rows, columns=cols, samples=samples, bits_allocated=int(bits))


def test_corpus_is_there():
    assert len(_corpus()) >= 5


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_corpus(path: Path):
    """Inputs kept from fuzzing and hand-made: each decodes to the right shape or raises CodecError."""
    _decode_or_codec_error(path.read_bytes(), _corpus_params(path))


# -- 5. registry, pixel_array, transcode, CLI -------------------------------------------------------
def test_registry():
    assert can_decode(LOSSLESS) and can_encode(LOSSLESS)
    assert can_decode(NEAR) and not can_encode(NEAR)
    assert "jpegls" in repr(get_codec(LOSSLESS)) and "jpegls" in repr(get_codec(NEAR))


def test_pixel_array_multiframe_signed_12_bit(tmp_path):
    arr = np.stack([_image(np.random.default_rng(i), 7, 8, 1, 12, signed=True) for i in range(3)])
    ds = image_ds(arr, 16, 12, True, 3, name="JLS^TEST")
    codec = get_codec(LOSSLESS)
    set_encapsulated_pixel_data(ds, [codec.encode_frame(a, ds, frame=i) for i, a in enumerate(arr)], LOSSLESS)
    pacsnb.write(ds, tmp_path / "ct.dcm")
    back = pacsnb.read(tmp_path / "ct.dcm")
    assert np.array_equal(pixel_array(back), arr)
    assert np.array_equal(pixel_array(back, frame=2), arr[2])
    assert jpegls.read_header(pacsnb.io.encaps.get_frame(back, 0)).precision == 12


def test_pixel_array_corrupt_frame_names_it():
    arr = np.stack([_image(np.random.default_rng(i), 5, 5, 1, 8) for i in range(2)])
    ds = image_ds(arr, 8, 8, False, 2)
    frames = [jpegls.encode_frame(a, ds) for a in arr]
    frames[1] = frames[1][:len(frames[1]) // 2]
    set_encapsulated_pixel_data(ds, frames, LOSSLESS)
    with pytest.raises(CodecError, match="frame 1"):
        pixel_array(ds)
    assert np.array_equal(pixel_array(ds, frame=0), arr[0])


def test_transcode_and_cli(tmp_path):
    from pacsnb.cli import main
    from pacsnb.samples import make_ct_series
    ct = make_ct_series(n_slices=1, rows=32, columns=32)[0]
    jls = pacsnb.transcode(ct, LOSSLESS)
    assert str(jls.file_meta.TransferSyntaxUID) == LOSSLESS
    assert np.array_equal(pixel_array(jls), pixel_array(ct))
    back = pacsnb.transcode(jls, "1.2.840.10008.1.2.1")
    assert np.array_equal(pixel_array(back), pixel_array(ct))
    pacsnb.write(ct, tmp_path / "in.dcm")
    assert main(["conv", "--jpeg-ls", str(tmp_path / "in.dcm"), str(tmp_path / "out.dcm")]) == 0
    out = pacsnb.read(tmp_path / "out.dcm")
    assert str(out.transfer_syntax) == LOSSLESS
    assert np.array_equal(pixel_array(out), pixel_array(ct))
    ref = pydicom.dcmread(tmp_path / "out.dcm").pixel_array
    assert np.array_equal(ref, pixel_array(ct))
