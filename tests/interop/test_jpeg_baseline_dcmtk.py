"""JPEG Baseline / Extended (lossy, T.81 Annex F) against dcmtk, both ways.

- What we encode (``pacsnb.transcode`` to .50 and .51: grey, RGB 4:2:2 / 4:2:0 / 4:4:4,
  restart intervals, 12-bit), ``dcmdjpeg +cn`` (no colour conversion) decodes to the
  pixels our decoder gets, within 1 grey level, and both are close to the original
  (PSNR bound).
- What ``dcmcjpeg`` encodes (``+eb``, ``+ee`` 8 and 12 bits, ``+s2``, ``+s4``, ``+n2``,
  ``+np``, ``+cr``, quality settings), we decode to the pixels ``dcmdjpeg +cn`` gets,
  within 1 grey level.

Skipped when dcmtk is missing unless ``PACSNB_REQUIRE_DCMTK=1``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pacsnb
from pacsnb.pixels import pixel_array, transcode
from pacsnb.samples import make_ct_series, make_us_image
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

BASELINE = "1.2.840.10008.1.2.4.50"
EXTENDED = "1.2.840.10008.1.2.4.51"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DCMTK = shutil.which("dcmdjpeg") is not None and shutil.which("dcmcjpeg") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdjpeg", "dcmcjpeg")


def _run(*cmd: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"{' '.join(cmd)} failed: {res.stderr}"


def _psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def _ramp_rgb(rows: int, cols: int) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:cols]
    rgb = np.stack([(x * 255 // max(1, cols - 1)), (y * 255 // max(1, rows - 1)),
                    128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _rgb_ds(rows: int, cols: int):
    ds = make_us_image(rows=rows, columns=cols)
    arr = _ramp_rgb(rows, cols)
    ds.PixelData = arr.tobytes()
    return ds, arr


def _ct_ds(rows: int = 64, cols: int = 64):
    return make_ct_series(n_slices=1, rows=rows, columns=cols)[0]


def _dcmdjpeg(path: Path, tmp: Path) -> np.ndarray:
    out = tmp / (path.stem + "-dcmdjpeg.dcm")
    _run("dcmdjpeg", "+cn", str(path), str(out))
    ds = pacsnb.read(out)
    assert str(ds.file_meta.TransferSyntaxUID) == EXPLICIT_LE
    return np.asarray(pixel_array(ds))


# -- ours encoded, dcmtk decodes ------------------------------------------------------------------
@needs_dcmtk
@pytest.mark.parametrize("sub,rows,cols,rst", [("422", 48, 64, 0), ("420", 37, 50, 0), ("444", 40, 33, 5),
                                               ("422", 31, 46, 3)])
def test_dcmdjpeg_decodes_our_colour_baseline(tmp_path, sub, rows, cols, rst):
    ds, rgb = _rgb_ds(rows, cols)
    jpg = transcode(ds, BASELINE, quality=90, subsampling=sub, restart_interval=rst)
    assert jpg.PhotometricInterpretation == ("YBR_FULL" if sub == "444" else "YBR_FULL_422")
    path = tmp_path / "ours.dcm"
    pacsnb.write(jpg, path)
    theirs = _dcmdjpeg(path, tmp_path)
    ours = pixel_array(pacsnb.read(path))
    assert ours.shape == theirs.shape == (rows, cols, 3)
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1
    back = pixel_array(transcode(pacsnb.read(path), EXPLICIT_LE))  # YBR_FULL, full size
    from pacsnb.pixels import convert_color_space
    assert _psnr(convert_color_space(back, "YBR_FULL", "RGB"), rgb, 255) > 30


@needs_dcmtk
@pytest.mark.parametrize("quality", [10, 50, 90, 100])
def test_dcmdjpeg_decodes_our_grey_baseline(tmp_path, quality):
    ct = _ct_ds(64, 72)
    ct.BitsStored, ct.HighBit = 8, 7
    ct.BitsAllocated = 8
    arr8 = (np.asarray(pixel_array(_ct_ds(64, 72))) >> 4).clip(0, 255).astype(np.uint8)
    ct.PixelData = arr8.tobytes()
    jpg = transcode(ct, BASELINE, quality=quality, restart_interval=7)
    path = tmp_path / "ours.dcm"
    pacsnb.write(jpg, path)
    theirs = _dcmdjpeg(path, tmp_path)
    ours = pixel_array(pacsnb.read(path))
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1
    assert _psnr(ours, arr8, 255) > {10: 24, 50: 30, 90: 36, 100: 45}[quality]


@needs_dcmtk
def test_dcmdjpeg_decodes_our_12_bit_extended(tmp_path):
    ct = _ct_ds(64, 64)
    orig = np.asarray(pixel_array(ct))
    jpg = transcode(ct, EXTENDED, quality=95)
    assert jpg.BitsStored == 12 and jpg.LossyImageCompression == "01"
    path = tmp_path / "ours.dcm"
    pacsnb.write(jpg, path)
    theirs = _dcmdjpeg(path, tmp_path)
    ours = pixel_array(pacsnb.read(path))
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1
    assert _psnr(ours, orig, 4095) > 45


# -- dcmtk encoded, we decode ---------------------------------------------------------------------
def _native_rgb_file(tmp: Path, rows: int = 45, cols: int = 62) -> Path:
    ds, _ = _rgb_ds(rows, cols)
    path = tmp / "rgb.dcm"
    pacsnb.write(ds, path)
    return path


@needs_dcmtk
@pytest.mark.parametrize("flags", [("+eb", "+s2"), ("+eb", "+s4"), ("+eb", "+n2"), ("+eb", "+np"), ("+eb", "+n1"),
                                   ("+eb", "+cr"), ("+eb", "+q", "30"), ("+ee", "+s2"), ("+eb", "-ho")])
def test_we_decode_dcmcjpeg_colour(tmp_path, flags):
    src = _native_rgb_file(tmp_path)
    path = tmp_path / "dcmcjpeg.dcm"
    _run("dcmcjpeg", *flags, str(src), str(path))
    ds = pacsnb.read(path)
    assert str(ds.file_meta.TransferSyntaxUID) in (BASELINE, EXTENDED)
    theirs = _dcmdjpeg(path, tmp_path)
    ours = pixel_array(ds)
    assert ours.shape == theirs.shape
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1


@needs_dcmtk
@pytest.mark.parametrize("flags,bits", [(("+eb",), 8), (("+ee",), 8), (("+ee", "+bt"), 12), (("+ee", "+q", "60"), 12)])
def test_we_decode_dcmcjpeg_grey(tmp_path, flags, bits):
    ct = _ct_ds(70, 52)
    if bits == 8:
        arr8 = (np.asarray(pixel_array(ct)) >> 4).clip(0, 255).astype(np.uint8)
        ct.BitsAllocated, ct.BitsStored, ct.HighBit = 8, 8, 7
        ct.PixelData = arr8.tobytes()
    src = tmp_path / "ct.dcm"
    pacsnb.write(ct, src)
    path = tmp_path / "dcmcjpeg.dcm"
    _run("dcmcjpeg", *flags, str(src), str(path))
    ds = pacsnb.read(path)
    theirs = _dcmdjpeg(path, tmp_path)
    ours = pixel_array(ds)
    assert ours.shape == theirs.shape
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1
