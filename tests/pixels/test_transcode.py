"""pacsnb.transcode: round trips through RLE and JPEG Lossless, dcmtk and pydicom as oracles."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

import pacsnb
from pacsnb.errors import CodecError
from pacsnb.io.encaps import set_encapsulated_pixel_data
from pacsnb.pixels import pixel_array, transcode
from pacsnb.samples import make_ct_series, make_us_image

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
RLE, JL14, JLSV1 = "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"
IMPLICIT, EXPLICIT, BIG, DEFLATED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                                     "1.2.840.10008.1.2.1.99")


def dcmtk(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("PACSNB_REQUIRE_DCMTK") == "1":
        pytest.fail(f"{tool} (dcmtk) is not installed and PACSNB_REQUIRE_DCMTK=1")
    pytest.skip(f"{tool} (dcmtk) is not installed")


@pytest.fixture(scope="module")
def images():
    ct = make_ct_series(n_slices=1, rows=32, columns=40)[0]  # 16-bit signed
    us = make_us_image(rows=24, columns=32)  # 8-bit RGB
    cine = make_us_image(rows=24, columns=32, n_frames=3)  # multi-frame RGB
    return {"ct": ct, "us": us, "cine": cine}


@pytest.mark.parametrize("ts", [RLE, JL14, JLSV1])
@pytest.mark.parametrize("name", ["ct", "us", "cine"])
def test_round_trip_is_lossless(images, name, ts, tmp_path):
    ds = images[name]
    want = pixel_array(ds)
    enc = transcode(ds, ts)
    assert str(enc.file_meta.TransferSyntaxUID) == ts and enc["PixelData"].is_undefined_length
    assert np.array_equal(pixel_array(enc), want)
    pacsnb.write(enc, tmp_path / "c.dcm")
    back = transcode(pacsnb.read(tmp_path / "c.dcm"), EXPLICIT)
    assert not back["PixelData"].is_undefined_length
    assert back["PixelData"].VR == ("OB" if ds.BitsAllocated == 8 else "OW")
    assert np.array_equal(pixel_array(back), want)
    if ds.SamplesPerPixel > 1:
        assert back.PlanarConfiguration == 0
    assert "LossyImageCompression" not in back or back.LossyImageCompression == ds.get("LossyImageCompression")
    assert not ds["PixelData"].is_undefined_length and np.array_equal(pixel_array(ds), want)  # source untouched


def test_compressed_to_compressed_and_uncompressed_syntaxes(images, tmp_path):
    ds = images["cine"]
    want = pixel_array(ds)
    jl = transcode(transcode(ds, RLE), JLSV1)
    assert np.array_equal(pixel_array(jl), want)
    for ts in (IMPLICIT, BIG, DEFLATED):
        out = transcode(ds, ts)
        assert str(out.file_meta.TransferSyntaxUID) == ts
        pacsnb.write(out, tmp_path / "u.dcm")
        assert np.array_equal(pixel_array(pacsnb.read(tmp_path / "u.dcm")), want)
    assert str(transcode(ds, JLSV1, predictor=1).file_meta.TransferSyntaxUID) == JLSV1


def test_errors_name_what_cannot_be_done(images):
    with pytest.raises(CodecError, match="not a transfer syntax"):
        transcode(images["ct"], "1.2.3.4")
    with pytest.raises(CodecError, match="cannot encode JPEG 2000"):  # decode-only (pacsnb[jpeg2000])
        transcode(images["ct"], "1.2.840.10008.1.2.4.90")
    jxl = transcode(images["ct"], RLE)
    set_encapsulated_pixel_data(jxl, [b"\xff\x0a"] * int(jxl.get("NumberOfFrames", 1) or 1), "1.2.840.10008.1.2.4.110")
    with pytest.raises(CodecError, match="cannot decode JPEG XL"):
        transcode(jxl, EXPLICIT)
    jpeg = pacsnb.read(TEST_FILES / "JPEG2000.dcm")
    assert np.array_equal(pixel_array(transcode(jpeg, EXPLICIT)), pixel_array(jpeg))


@pytest.mark.parametrize("name", ["ct", "cine"])
def test_dcmdrle_decodes_our_rle(images, name, tmp_path):
    tool = dcmtk("dcmdrle")
    pacsnb.write(transcode(images[name], RLE), tmp_path / "rle.dcm")
    subprocess.run([tool, str(tmp_path / "rle.dcm"), str(tmp_path / "out.dcm")], check=True, timeout=30)
    assert np.array_equal(pydicom.dcmread(tmp_path / "out.dcm").pixel_array, pixel_array(images[name]))


@pytest.mark.parametrize("ts", [JL14, JLSV1])
@pytest.mark.parametrize("name", ["ct", "us"])
def test_dcmdjpeg_decodes_our_jpeg_lossless(images, name, ts, tmp_path):
    tool = dcmtk("dcmdjpeg")
    pacsnb.write(transcode(images[name], ts), tmp_path / "jl.dcm")
    subprocess.run([tool, str(tmp_path / "jl.dcm"), str(tmp_path / "out.dcm")], check=True, timeout=30)
    assert np.array_equal(pydicom.dcmread(tmp_path / "out.dcm").pixel_array, pixel_array(images[name]))


@pytest.mark.parametrize("fname", ["SC_rgb_rle.dcm", "SC_rgb_rle_2frame.dcm", "MR_small_RLE.dcm",
                                   "SC_rgb_rle_16bit.dcm"])
def test_pydicom_reads_our_native_output(fname, tmp_path):
    src = TEST_FILES / fname
    pacsnb.write(transcode(pacsnb.read(src), EXPLICIT), tmp_path / "n.dcm")
    ours = pydicom.dcmread(tmp_path / "n.dcm")
    assert ours.file_meta.TransferSyntaxUID == EXPLICIT
    assert np.array_equal(ours.pixel_array, pydicom.dcmread(src).pixel_array)
