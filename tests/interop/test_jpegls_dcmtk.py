"""JPEG-LS against dcmtk (dcmcjpls / dcmdjpls, CharLS inside), both ways.

1. What pacsnb encodes (lossless; 8, 12 signed and 16 bits; colour in the three interleave
   modes; several frames), ``dcmdjpls`` decodes to our original pixels. (dcmtk 3.6.7's
   CharLS refuses restart markers, "Codec does not support this JPEG-LS image"; ours are
   checked against CharLS 2 through imagecodecs in tests/codecs/test_jpegls.py.)
2. What ``dcmcjpls`` encodes (lossless and near-lossless ``+en +md d``, line, sample and no
   interleave, explicit thresholds ``+t1 +t2 +t3 +rs`` that put an LSE segment in the
   codestream), pacsnb decodes to exactly the pixels ``dcmdjpls`` decodes.

Skipped when dcmtk is missing, unless PACSNB_REQUIRE_DCMTK=1 (then a failure).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pacsnb
from pacsnb.codecs import get_codec, jpegls
from pacsnb.io.encaps import get_frame, set_encapsulated_pixel_data
from pacsnb.pixels import pixel_array
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

HAVE_DCMTK = shutil.which("dcmcjpls") is not None and shutil.which("dcmdjpls") is not None
needs_dcmtk = peers.needs_dcmtk("dcmcjpls", "dcmdjpls")
pytestmark = needs_dcmtk

LOSSLESS = "1.2.840.10008.1.2.4.80"
NEAR = "1.2.840.10008.1.2.4.81"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _image_ds(arr: np.ndarray, bits_allocated: int, bits_stored: int, signed: bool) -> pacsnb.Dataset:
    """A Secondary Capture data set (no pixel data yet) for ``arr`` (frames first)."""
    from pacsnb.dicom.uid import generate_uid
    ds = pacsnb.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.PatientName = "JLS^DCMTK"
    ds.PatientID = "JLS"
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.NumberOfFrames = len(arr)
    return ds


def _run(*cmd: str) -> None:
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


def _frames(seed: int, n: int, rows: int, cols: int, samples: int, bits: int, signed: bool) -> np.ndarray:
    """Smooth ramps plus noise, a flat band (run mode) and the extreme values."""
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    shape = (n, rows, cols) + ((samples,) if samples > 1 else ())
    base = np.linspace(lo, hi, rows * cols).reshape((1, rows, cols) + ((1,) if samples > 1 else ()))
    arr = np.clip(base + rng.integers(-(1 << (bits // 3)), 1 << (bits // 3), size=shape), lo, hi).astype(np.int64)
    arr[:, rows // 3: rows // 2] = lo + (hi - lo) // 4
    flat = arr.reshape(-1)
    flat[::97] = hi
    flat[1::89] = lo
    return arr.astype(np.dtype(("i" if signed else "u") + ("1" if bits <= 8 else "2")))


def _dcmdjpls(path: Path, tmp_path: Path) -> np.ndarray:
    native = tmp_path / (path.stem + "_dcmdjpls.dcm")
    _run("dcmdjpls", str(path), str(native))
    back = pacsnb.read(native)
    assert str(back.transfer_syntax) not in (LOSSLESS, NEAR)
    return pixel_array(back)


# -- 1. we encode, dcmdjpls decodes ----------------------------------------------------------------
@pytest.mark.parametrize("ba, bs, samples, signed, n, opts", [
    (8, 8, 1, False, 1, {}),
    (16, 12, 1, True, 3, {}),
    (16, 16, 1, False, 2, {}),
    (16, 10, 1, False, 1, {}),
    (8, 8, 3, False, 2, dict(interleave=0)),
    (8, 8, 3, False, 1, dict(interleave=1)),
    (8, 8, 3, False, 1, dict(interleave=2)),
    (16, 12, 3, False, 1, dict(interleave=1)),
])
def test_dcmdjpls_decodes_what_we_encode(tmp_path, ba, bs, samples, signed, n, opts):
    arr = _frames(ba + bs + samples, n, 37, 45, samples, bs, signed)
    ds = _image_ds(arr, ba, bs, signed)
    codec = get_codec(LOSSLESS)
    set_encapsulated_pixel_data(ds, [codec.encode_frame(a, ds, frame=i, **opts) for i, a in enumerate(arr)],
                                LOSSLESS)
    path = tmp_path / "ours.dcm"
    pacsnb.write(ds, path)
    got = _dcmdjpls(path, tmp_path)
    assert np.array_equal(got, arr if n > 1 else arr[0])


def test_dcmdjpls_decodes_transcode_of_sample_ct(tmp_path):
    from pacsnb.samples import make_ct_series
    ct = make_ct_series(n_slices=1, rows=64, columns=64)[0]
    pacsnb.write(pacsnb.transcode(ct, LOSSLESS), tmp_path / "ct.dcm")
    assert np.array_equal(_dcmdjpls(tmp_path / "ct.dcm", tmp_path), pixel_array(ct))


# -- 2. dcmcjpls encodes, we decode like dcmdjpls ----------------------------------------------------
@pytest.mark.parametrize("ba, bs, samples, signed, n, flags", [
    (8, 8, 1, False, 1, ["+el"]),
    (16, 12, 1, True, 2, ["+el"]),
    (16, 16, 1, False, 1, ["+el"]),
    (8, 8, 1, False, 1, ["+en"]),
    (16, 12, 1, False, 2, ["+en", "+md", "3"]),
    (16, 16, 1, False, 1, ["+en", "+md", "7"]),
    (8, 8, 3, False, 1, ["+el", "+il"]),
    (8, 8, 3, False, 1, ["+el", "+is"]),
    (8, 8, 3, False, 1, ["+el", "+in"]),
    (8, 8, 3, False, 1, ["+en", "+is"]),
    (8, 8, 3, False, 1, ["+en", "+md", "4", "+il"]),
    (8, 8, 1, False, 1, ["+el", "+t1", "5", "+t2", "11", "+t3", "40", "+rs", "32"]),
    (16, 12, 1, False, 1, ["+en", "+t1", "20", "+t2", "70", "+t3", "300", "+rs", "100"]),
    (16, 12, 1, False, 1, ["+el", "+pc"]),
])
def test_we_decode_what_dcmcjpls_encodes(tmp_path, ba, bs, samples, signed, n, flags):
    arr = _frames(ba * bs + len(flags), n, 40, 39, samples, bs, signed)
    ds = _image_ds(arr, ba, bs, signed)
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    native = tmp_path / "native.dcm"
    pacsnb.write(ds, native, EXPLICIT_LE)
    jls = tmp_path / "dcmcjpls.dcm"
    _run("dcmcjpls", *flags, str(native), str(jls))
    ref = _dcmdjpls(jls, tmp_path)
    back = pacsnb.read(jls)
    ts = str(back.transfer_syntax)
    assert ts == (NEAR if "+en" in flags else LOSSLESS)
    ours = pixel_array(back)
    assert ours.shape == ref.shape and np.array_equal(ours, ref)
    if ts == LOSSLESS:
        assert np.array_equal(ours, arr if n > 1 else arr[0])
    else:
        near = jpegls.read_header(get_frame(back, 0)).near[0]
        assert near > 0
        assert np.abs(ours.astype(np.int64) - (arr if n > 1 else arr[0])).max() <= near
    if "+t1" in flags:
        h = jpegls.read_header(get_frame(back, 0))
        assert h.thresholds == tuple(int(flags[flags.index(f) + 1]) for f in ("+t1", "+t2", "+t3"))
        assert h.reset == int(flags[flags.index("+rs") + 1])
    for i in range(n):
        assert np.array_equal(pixel_array(back, frame=i), ref[i] if n > 1 else ref)
