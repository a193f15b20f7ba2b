"""JPEG 2000 and HTJ2K through the optional extra pacsnb[jpeg2000] (imagecodecs).

Oracles: pydicom's JPEG 2000 test files decoded by pydicom (its gdcm plug-in; test extra), and the
uncompressed twin of a lossless file. Without the extra, the error names what to install.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import pacsnb
from pacsnb.codecs import can_decode, can_encode, get_codec, jpeg2000, missing_codec_hint
from pacsnb.errors import CodecError
from pacsnb.io.encaps import set_encapsulated_pixel_data

from codec_helpers import image_ds

imagecodecs = pytest.importorskip("imagecodecs", reason="the test extra installs imagecodecs (pacsnb[jpeg2000])")
pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

FILES = ["JPEG2000.dcm", "SC_rgb_gdcm_KY.dcm", "GDCMJ2K_TextGBR.dcm", "examples_jpeg2k.dcm",
         "J2K_pixelrep_mismatch.dcm", "693_J2KI.dcm", "MR_small_jp2klossless.dcm"]


def _path(name: str) -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.fail(f"pydicom's wheel no longer ships {name}")
    return path


def test_registered_for_decoding_only():
    for uid in jpeg2000.JPEG2000_SYNTAXES:
        assert can_decode(uid) and not can_encode(uid)
        assert "imagecodecs" in get_codec(uid).source


@pytest.mark.parametrize("name", FILES)
def test_pydicom_files_decode_like_pydicom(name):
    pytest.importorskip("gdcm", reason="pydicom decodes JPEG 2000 with python-gdcm (test extra)")
    path = _path(name)
    ours = pacsnb.read(path).pixel_array
    ref = pydicom.dcmread(path).pixel_array
    assert ours.shape == ref.shape and ours.dtype == ref.dtype
    assert np.array_equal(ours, ref)


def test_lossless_file_equals_its_uncompressed_twin():
    ours = pacsnb.read(_path("MR_small_jp2klossless.dcm")).pixel_array
    twin = pacsnb.read(_path("MR_small.dcm")).pixel_array
    assert np.array_equal(ours, twin)


@pytest.mark.parametrize("ts,encode", [("1.2.840.10008.1.2.4.90", "jpeg2k_encode"),
                                       ("1.2.840.10008.1.2.4.201", "htj2k_encode")])
def test_multiframe_frame_by_frame(ts, encode):
    if not hasattr(imagecodecs, encode):
        pytest.skip(f"this imagecodecs build has no {encode}")
    rng = np.random.default_rng(3)
    frames = rng.integers(-2000, 3000, size=(3, 24, 20)).astype(np.int16)
    ds = image_ds(frames, 16, 16, True, 3)
    enc = getattr(imagecodecs, encode)
    set_encapsulated_pixel_data(ds, [enc(f, level=0) if encode == "jpeg2k_encode" else enc(f) for f in frames], ts)
    assert np.array_equal(pacsnb.pixel_array(ds), frames)
    assert np.array_equal(pacsnb.pixel_array(ds, frame=2), frames[2])


def test_framing_test_file_is_refused_cleanly():
    # pydicom's file for encapsulation framing: its 250-byte "codestream" declares an absurd
    # image size (neither pydicom's plugins nor OpenJPEG decode it); ours says so, no crash
    ds = pacsnb.read(_path("JPEG2000-embedded-sequence-delimiter.dcm"))
    with pytest.raises(CodecError, match="frame 0"):
        ds.pixel_array


def test_corrupt_and_wrong_size_frames_raise_codec_error():
    img = np.arange(64, dtype=np.uint16).reshape(8, 8)
    data = imagecodecs.jpeg2k_encode(img, level=0)
    with pytest.raises(CodecError, match="frame 4 cannot be decoded"):
        jpeg2000.decode_frame(data[: len(data) // 3], rows=8, columns=8, bits_allocated=16, frame=4)
    with pytest.raises(CodecError, match="cannot be decoded"):
        jpeg2000.decode_frame(b"\x00" * 40, rows=8, columns=8, bits_allocated=16)
    with pytest.raises(CodecError, match=r"decodes to shape \(8, 8\).*says \(8, 9\)"):
        jpeg2000.decode_frame(data, rows=8, columns=9, bits_allocated=16)
    with pytest.raises(CodecError, match="more than the data set's Bits Allocated 8"):
        jpeg2000.decode_frame(data, rows=8, columns=8, bits_allocated=8)


def test_without_the_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import raises ImportError
    with pytest.raises(CodecError, match=r'frame 0\): pip install "pacsnb\[jpeg2000\]"'):
        jpeg2000.decode_frame(b"\xff\x4f\xff\x51", rows=1, columns=1, frame=0)
    for uid in jpeg2000.JPEG2000_SYNTAXES:
        assert 'pip install "pacsnb[jpeg2000]"' in missing_codec_hint(uid)
