"""``pacsnb conv --jpeg / --jpeg-extended -q Q``, run as the real command, checked with pydicom
(+ pylibjpeg-libjpeg on the frames) and, when installed, ``dcmdjpeg``."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

import pacsnb
from pacsnb.pixels import pixel_array
from pacsnb.samples import make_ct_series, make_us_image
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

REPO = Path(__file__).resolve().parents[2]
DCMTK = shutil.which("dcmdjpeg") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdjpeg")


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pacsnb", "conv", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("convjpeg")
    pacsnb.write(make_us_image(rows=32, columns=48, n_frames=2), d / "us.dcm")
    pacsnb.write(make_ct_series(n_slices=1, rows=64, columns=64)[0], d / "ct.dcm")
    return d


def _pydicom(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def test_jpeg_quality_and_lossy_attributes(files):
    src = files / "us.dcm"
    sizes = {}
    for q in (30, 95):
        out = files / f"us-q{q}.dcm"
        res = run(src, out, "--jpeg", "-q", q)
        assert res.returncode == 0, res.stderr
        ds = _pydicom(out)
        assert str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.4.50"
        assert ds.PhotometricInterpretation == "YBR_FULL_422"
        assert ds.LossyImageCompression == "01"
        assert ds.LossyImageCompressionMethod == "ISO_10918_1"
        assert float(ds.LossyImageCompressionRatio) > 1
        assert ds.SOPInstanceUID != _pydicom(src).SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        sizes[q] = out.stat().st_size
    assert sizes[30] < sizes[95]
    orig = pixel_array(pacsnb.read(src)).astype(np.float64)
    from pacsnb.pixels import convert_color_space
    ybr = pixel_array(pacsnb.read(files / "us-q95.dcm"))
    rgb = convert_color_space(ybr, "YBR_FULL", "RGB").astype(np.float64)
    assert rgb.shape == orig.shape and float(np.abs(rgb - orig).mean()) < 6


def test_jpeg_444_and_keep_uid(files):
    src, out = files / "us.dcm", files / "us-444.dcm"
    res = run(src, out, "--jpeg", "--subsampling", "444", "--keep-uid")
    assert res.returncode == 0, res.stderr
    ds = _pydicom(out)
    assert ds.PhotometricInterpretation == "YBR_FULL"
    assert ds.SOPInstanceUID == _pydicom(src).SOPInstanceUID


def test_jpeg_extended_12_bit(files):
    src, out = files / "ct.dcm", files / "ct-ee.dcm"
    res = run(src, out, "--jpeg-extended", "-q", "95")
    assert res.returncode == 0, res.stderr
    ds = _pydicom(out)
    assert str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.4.51"
    ours = pixel_array(pacsnb.read(out)).astype(int)
    orig = pixel_array(pacsnb.read(src)).astype(int)
    assert float(np.abs(ours - orig).mean()) < 8
    try:
        import libjpeg
    except ImportError:
        return
    from pydicom.encaps import generate_frames
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    assert int(np.abs(libjpeg.decode(bytes(frame)).astype(int) - ours).max()) <= 1


def test_baseline_refuses_12_bit_and_quality_without_jpeg(files):
    res = run(files / "ct.dcm", files / "x.dcm", "--jpeg")
    assert res.returncode == 1 and "E: " in res.stderr and "JPEG Extended" in res.stderr
    res = run(files / "ct.dcm", files / "x.dcm", "--rle", "-q", "50")
    assert res.returncode == 1 and "lossy JPEG only" in res.stderr
    res = run(files / "us.dcm", files / "x.dcm", "--jpeg", "-q", "0")
    assert res.returncode == 1 and "1 .. 100" in res.stderr


@needs_dcmtk
def test_dcmdjpeg_reads_what_conv_writes_and_back(files, tmp_path):
    out = files / "us-q90.dcm"
    assert run(files / "us.dcm", out, "--jpeg").returncode == 0
    theirs = tmp_path / "d.dcm"
    subprocess.run(["dcmdjpeg", "+cn", str(out), str(theirs)], check=True, capture_output=True, timeout=60)
    back = tmp_path / "back.dcm"
    res = run(out, back, "--explicit")  # our decoder, like dcmdjpeg
    assert res.returncode == 0, res.stderr
    ours_ds = pacsnb.read(back)
    assert ours_ds.PhotometricInterpretation == "YBR_FULL"  # decoded 4:2:2 chroma is full size
    diff = np.abs(pixel_array(ours_ds).astype(int) - pixel_array(pacsnb.read(theirs)).astype(int))
    assert int(diff.max()) <= 1
