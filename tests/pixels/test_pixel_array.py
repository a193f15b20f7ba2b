"""pacsnb.pixels.pixel_array against pydicom's ``pixel_array`` (the oracle).

Every pydicom test file with native pixel data (transfer syntax not encapsulated, pixel
data present) is compared value for value; files pydicom itself cannot decode must make us
raise a PacsnbError too. Generated files cover what pydicom's files do not (1-bit frames
off byte boundaries, 64-bit, float pixel data, stray high bits, planar colour frames, big
endian of each), written by pacsnb and read by both.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid
import pytest

import pacsnb
import pacsnb.codecs
from pacsnb.dicom import Dataset
from pacsnb.errors import CodecError, InvalidDicomError, PacsnbError
from pacsnb.pixels import FrameIndexError, NoPixelDataError, pixel_array

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _all_pydicom_files() -> list[Path]:
    out = []
    for sub in ("test_files", "charset_files"):
        for p in sorted((PYDICOM_DATA / sub).rglob("*")):
            if p.is_file() and p.suffix not in (".py", ".pyc", ".json", ".txt", ".md"):
                out.append(p)
    return out


def _classify() -> tuple[list[Path], list[Path]]:
    """(native, encapsulated): pydicom files with pixel data, by transfer syntax."""
    native, encapsulated = [], []
    for p in _all_pydicom_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(p)
        except Exception:  # noqa: BLE001 - not a file pydicom reads: not ours to compare
            continue
        if not any(k in ds for k in PIXEL_KEYWORDS):
            continue
        ts = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) is not None else None
        if ts is not None and pydicom.uid.UID(ts).is_encapsulated:
            encapsulated.append(p)
        else:
            native.append(p)
    return native, encapsulated


NATIVE_FILES, ENCAPSULATED_FILES = _classify()


def _rel(p: Path) -> str:
    return str(p.relative_to(PYDICOM_DATA))


def _pydicom_pixels(path: Path, ts_guess: str | None = None):
    """pydicom's ds.pixel_array, or the exception it raises.

    Our pixel_array gives stored values without colour conversion, so YBR images are
    compared with pydicom's ``as_rgb=False``. A file whose meta lacks the transfer syntax
    is given the one pacsnb guessed (pydicom refuses to guess).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            if ts_guess is not None and "TransferSyntaxUID" not in ds.file_meta:
                ds.file_meta.TransferSyntaxUID = ts_guess
            if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
                ds.pixel_array_options(as_rgb=False)
            return ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - the oracle's failure is a result too
        return exc


def _assert_same(ours: np.ndarray, theirs: np.ndarray, where: str = "") -> None:
    assert ours.shape == theirs.shape, f"{where} shape {ours.shape} vs pydicom {theirs.shape}"
    assert ours.dtype.kind == theirs.dtype.kind, f"{where} dtype {ours.dtype} vs pydicom {theirs.dtype}"
    assert ours.dtype.itemsize == theirs.dtype.itemsize, f"{where} dtype {ours.dtype} vs pydicom {theirs.dtype}"
    assert ours.dtype.isnative, f"{where} dtype {ours.dtype} is not in native byte order"
    assert np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"), f"{where} values differ"


def test_enumeration_found_the_pydicom_files():
    names = {p.name for p in NATIVE_FILES}
    # the wheel's native images of every kind we handle must be among them
    for expected in ("CT_small.dcm", "MR_small_bigendian.dcm", "rtdose.dcm", "liver_1frame.dcm",
                     "SC_rgb_small_odd_big_endian.dcm", "ExplVR_BigEnd.dcm", "image_dfl.dcm",
                     "SC_ybr_full_422_uncompressed.dcm"):
        assert expected in names
    assert len(NATIVE_FILES) >= 60 and len(ENCAPSULATED_FILES) >= 10


@pytest.mark.parametrize("path", NATIVE_FILES, ids=_rel)
def test_native_file_matches_pydicom(path: Path):
    try:
        ds = pacsnb.read(path)
        ours = ds.pixel_array
    except PacsnbError as exc:
        ours = exc
    ts_guess = None
    if isinstance(ours, np.ndarray) or "Transfer Syntax" in str(ours):
        ts_guess = str(pacsnb.read(path, stop_before_pixels=True).read_transfer_syntax)
    theirs = _pydicom_pixels(path, ts_guess)
    if isinstance(theirs, Exception):
        assert isinstance(ours, PacsnbError), (
            f"pydicom cannot decode {path.name} ({theirs!r}) but pacsnb returned an array")
        return
    assert isinstance(ours, np.ndarray), f"pacsnb raised {ours!r}; pydicom decodes the file"
    _assert_same(ours, theirs, path.name)


@pytest.mark.parametrize("path", NATIVE_FILES, ids=_rel)
def test_native_file_frames(path: Path):
    try:
        ds = pacsnb.read(path)
        full = pixel_array(ds)
    except PacsnbError:
        # a file neither library decodes (see the test above): frame access must fail the
        # same clean way, not with an IndexError or a wrong-shaped array
        with pytest.raises(PacsnbError):
            pixel_array(pacsnb.read(path), frame=0)
        return
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n == 1:
        _assert_same(pixel_array(ds, frame=0), full, path.name)
        _assert_same(pixel_array(ds, frame=-1), full, path.name)
        with pytest.raises(FrameIndexError):
            pixel_array(ds, frame=1)
        return
    for i in range(n):
        _assert_same(pixel_array(ds, frame=i), full[i], f"{path.name} frame {i}")
    _assert_same(pixel_array(ds, frame=-1), full[-1], path.name)
    with pytest.raises(FrameIndexError):
        pixel_array(ds, frame=n)


@pytest.mark.parametrize("path", ENCAPSULATED_FILES, ids=_rel)
def test_encapsulated_raises_codec_error_naming_the_transfer_syntax(path: Path):
    try:
        ds = pacsnb.read(path)
    except PacsnbError:
        pytest.skip("pacsnb cannot read the file itself")
    ts = str(ds.transfer_syntax)
    if pacsnb.codecs.can_decode(ts):
        # a syntax pacsnb.codecs decodes (RLE Lossless): the pixels, not an error (the
        # codec's own tests in tests/codecs compare every frame with pydicom)
        theirs = _pydicom_pixels(path)
        if isinstance(theirs, Exception):
            if ts in pacsnb.codecs.jpeg2000.JPEG2000_SYNTAXES:
                # pydicom has its JPEG 2000 plug-in (pylibjpeg-openjpeg, test extra) and still
                # fails: an undecodable codestream (pydicom's framing test file), which must
                # give our clean error too
                with pytest.raises(CodecError, match="frame 0"):
                    ds.pixel_array
                return
            # pydicom needs a plug-in (gdcm, pylibjpeg) for this syntax: dcmtk is the oracle
            theirs = _dcmtk_decoded(path, ts)
        if ts in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"):
            # lossy JPEG: IDCTs may differ by rounding; the issue allows 1 grey level
            ours = np.asarray(ds.pixel_array)
            assert ours.shape == np.asarray(theirs).shape, path.name
            assert int(np.abs(ours.astype(np.int64) - np.asarray(theirs).astype(np.int64)).max()) <= 1, path.name
        else:
            _assert_same(ds.pixel_array, theirs, path.name)
        return
    with pytest.raises(CodecError) as info:
        ds.pixel_array
    msg = str(info.value)
    assert ts in msg and "pixel-data issue" in msg


def _dcmtk_decoded(path: Path, ts: str) -> np.ndarray:
    """The stored pixels of ``path`` as dcmtk decompresses them (dcmdrle / dcmdjpeg)."""
    import os
    import shutil
    import subprocess
    import tempfile

    tool = "dcmdrle" if ts == "1.2.840.10008.1.2.5" else "dcmdjpeg"
    if shutil.which(tool) is None:
        if os.environ.get("PACSNB_REQUIRE_DCMTK") == "1":
            raise AssertionError(f"{tool} is missing although CI installs dcmtk")
        pytest.skip(f"neither pydicom (no plug-in) nor dcmtk ({tool} not installed) can decode {path.name}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "native.dcm"
        subprocess.run([tool, str(path), str(out)], check=True, capture_output=True, timeout=60)
        return pixel_array(pacsnb.read(out)).copy()


# -- generated files ---------------------------------------------------------------------------


def _pack_bits(values: np.ndarray) -> bytes:
    return np.packbits(values.astype(np.uint8).ravel(), bitorder="little").tobytes()


def _make(*, rows=5, columns=7, frames=1, samples=1, planar=0, ba=16, bs=None, signed=False,
          kind="int", photometric=None, stray_bits=False, sign_extended=True,
          seed=0) -> tuple[Dataset, np.ndarray]:
    """A data set and the stored values pydicom should find in it (before any masking)."""
    rng = np.random.default_rng(seed)
    bs = ba if bs is None else bs
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = pacsnb.generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, samples
    ds.PhotometricInterpretation = photometric or ("MONOCHROME2" if samples == 1 else "RGB")
    if samples > 1:
        ds.PlanarConfiguration = planar
    if frames != 1 or seed % 2:
        ds.NumberOfFrames = frames
    ds.BitsAllocated = ba
    count = frames * rows * columns * samples
    if kind == "float":
        dt = np.float32 if ba == 32 else np.float64
        vals = rng.normal(0, 1000, count).astype(dt)
        vals[:3] = [np.inf, -0.0, 1e-30]
        if ba == 32:
            ds.add_new(0x7FE00008, "OF", vals)
        else:
            ds.add_new(0x7FE00009, "OD", vals)
        return ds, vals
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bs, bs - 1, int(signed)
    if ba == 1:
        bits = rng.integers(0, 2, count, dtype=np.uint8)
        ds.add_new(0x7FE00010, "OB", _pack_bits(bits))
        return ds, bits
    sdt = np.dtype(("i" if signed else "u") + str(ba // 8))
    udt = np.dtype(f"u{ba // 8}")
    lo, hi = (-(1 << (bs - 1)), (1 << (bs - 1)) - 1) if signed else (0, (1 << bs) - 1)
    if ba == 64 and not signed:
        vals = rng.integers(lo, hi, count, dtype=np.uint64, endpoint=True)
    else:
        vals = rng.integers(lo, hi, count, dtype=np.int64, endpoint=True).astype(sdt)
    raw = vals.view(udt).copy()  # two's complement bits
    if bs < ba and not (signed and sign_extended):
        raw &= udt.type((1 << bs) - 1)  # bits above Bits Stored cleared, as many devices write
    if bs < ba and stray_bits:
        raw[::3] ^= udt.type(((1 << ba) - 1) ^ ((1 << bs) - 1))  # junk (overlays) above
    vr = "OB" if ba == 8 else "OW"
    ds.add_new(0x7FE00010, vr, raw.astype(udt.newbyteorder("<")).tobytes())
    return ds, vals


def _roundtrip(ds: Dataset, ts: str, tmp_path: Path):
    path = tmp_path / f"x-{ts}.dcm"
    pacsnb.write(ds, path, ts)
    return path


CASES = {
    "u8": dict(ba=8),
    "s8": dict(ba=8, signed=True),
    "u16": dict(ba=16),
    "s16": dict(ba=16, signed=True),
    "u16-bs12-clean": dict(ba=16, bs=12),
    "u16-bs12-stray": dict(ba=16, bs=12, stray_bits=True),
    "s16-bs12-clean": dict(ba=16, bs=12, signed=True),
    "s16-bs12-not-sign-extended": dict(ba=16, bs=12, signed=True, sign_extended=False),
    "s16-bs12-stray": dict(ba=16, bs=12, signed=True, stray_bits=True),
    "s16-bs1": dict(ba=16, bs=1, signed=True, stray_bits=True),
    "u32": dict(ba=32),
    "s32-bs20-stray": dict(ba=32, bs=20, signed=True, stray_bits=True),
    "u64": dict(ba=64),
    "s64": dict(ba=64, signed=True),
    "bits1": dict(ba=1),
    "bits1-frames-off-byte": dict(ba=1, rows=3, columns=5, frames=4),
    "rgb-planar0": dict(ba=8, samples=3, planar=0),
    "rgb-planar1": dict(ba=8, samples=3, planar=1),
    "rgb16-planar1-frames": dict(ba=16, samples=3, planar=1, frames=3),
    "argb-like-4-samples": dict(ba=8, samples=4, photometric="ARGB"),
    "frames-u16": dict(ba=16, frames=4),
    "frames-s16-bs12-stray": dict(ba=16, bs=12, signed=True, stray_bits=True, frames=3),
    "float32": dict(ba=32, kind="float"),
    "float64-frames": dict(ba=64, kind="float", frames=2),
    "one-frame-number": dict(ba=16, seed=1),
}


def _pydicom_supports(case: dict) -> bool:
    return not (case.get("samples") == 4)  # pydicom refuses 4 samples (retired ARGB/CMYK)


@pytest.mark.parametrize("ts", [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED],
                         ids=["explicit-le", "implicit-le", "explicit-be", "deflated"])
@pytest.mark.parametrize("name", list(CASES))
def test_generated_file_matches_pydicom(name: str, ts: str, tmp_path: Path):
    case = CASES[name]
    ds, _ = _make(**case)
    path = _roundtrip(ds, ts, tmp_path)
    ours = pacsnb.read(path).pixel_array
    if not _pydicom_supports(case):
        want = _expected(case, _make(**case)[1])
        _assert_same(ours, want, name)
        return
    theirs = _pydicom_pixels(path)
    assert not isinstance(theirs, Exception), f"pydicom: {theirs!r}"
    _assert_same(ours, theirs, name)
    # frame selection reads the same values
    n = case.get("frames", 1)
    for i in range(n):
        _assert_same(pixel_array(pacsnb.read(path), frame=i), ours[i] if n > 1 else ours, f"{name} frame {i}")
    # and the values are what was meant (not only what pydicom thinks)
    # (32/64-bit OW pixel data in big endian: whole values are swapped, as in files in the
    # wild such as pydicom's rtdose_expb.dcm, and as both readers expect)
    _assert_same(ours, _expected(case, _make(**case)[1]).astype(ours.dtype), name + " (intended)")


def _expected(case: dict, vals: np.ndarray) -> np.ndarray:
    rows, columns = case.get("rows", 5), case.get("columns", 7)
    frames, samples, planar = case.get("frames", 1), case.get("samples", 1), case.get("planar", 0)
    ba = case["ba"]
    if case.get("kind") == "float":
        dt = np.float32 if ba == 32 else np.float64
    elif ba == 1:
        dt = np.uint8
    else:
        dt = np.dtype(("i" if case.get("signed") else "u") + str(ba // 8))
    a = np.asarray(vals).astype(dt)
    if samples == 1:
        a = a.reshape(frames, rows, columns)
    elif planar == 0:
        a = a.reshape(frames, rows, columns, samples)
    else:
        a = a.reshape(frames, samples, rows, columns).transpose(0, 2, 3, 1)
    return a[0] if frames == 1 else a


def test_ybr_full_422_multiframe_expands_chroma(tmp_path: Path):
    rows, columns, frames = 4, 6, 3
    rng = np.random.default_rng(5)
    stream = rng.integers(0, 256, frames * rows * columns * 2, dtype=np.uint8)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", pacsnb.generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PlanarConfiguration = rows, columns, 3, 0
    ds.PhotometricInterpretation, ds.NumberOfFrames = "YBR_FULL_422", frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = stream.tobytes()
    path = _roundtrip(ds, EXPLICIT_LE, tmp_path)
    ours = pacsnb.read(path).pixel_array
    _assert_same(ours, _pydicom_pixels(path))
    q = stream.reshape(frames, rows, columns // 2, 4)
    assert (ours[:, :, 0::2, 0] == q[..., 0]).all() and (ours[:, :, 1::2, 0] == q[..., 1]).all()
    assert (ours[:, :, 1::2, 1] == q[..., 2]).all() and (ours[:, :, 0::2, 2] == q[..., 3]).all()
    for i in range(frames):
        _assert_same(pixel_array(pacsnb.read(path), frame=i), ours[i])


# -- zero copy, memory maps, registration ------------------------------------------------------------


def test_zero_copy_view_of_the_value_bytes(tmp_path: Path):
    ds, _ = _make(ba=16, frames=3, rows=8, columns=8)
    path = _roundtrip(ds, EXPLICIT_LE, tmp_path)
    r = pacsnb.read(path)
    whole = pixel_array(r)
    value = r.PixelData
    assert np.shares_memory(whole, value)
    assert not whole.flags.writeable
    one = pixel_array(r, frame=2)
    assert np.shares_memory(one, value) and one.flags.c_contiguous


def test_masking_copies_only_when_needed(tmp_path: Path):
    for case in (dict(signed=True), dict(signed=False)):
        clean, _ = _make(ba=16, bs=12, **case)
        a = pacsnb.read(_roundtrip(clean, EXPLICIT_LE, tmp_path))
        assert np.shares_memory(pixel_array(a), a.PixelData)
    for case in (dict(signed=True, stray_bits=True), dict(signed=True, sign_extended=False),
                 dict(signed=False, stray_bits=True)):
        dirty, _ = _make(ba=16, bs=12, **case)
        b = pacsnb.read(_roundtrip(dirty, IMPLICIT_LE, tmp_path))
        arr = pixel_array(b)
        assert not np.shares_memory(arr, b.PixelData)
        if case["signed"]:
            assert arr.min() >= -2048 and arr.max() <= 2047 and arr.min() < 0
        else:
            assert arr.max() <= 4095


def test_large_memory_mapped_multiframe_file(tmp_path: Path):
    ds, vals = _make(ba=16, frames=40, rows=128, columns=128, signed=True)  # 1.3 MB: memory-mapped
    path = _roundtrip(ds, EXPLICIT_LE, tmp_path)
    r = pacsnb.read(path)
    whole = r.pixel_array
    assert whole.shape == (40, 128, 128)
    _assert_same(whole, _pydicom_pixels(path))
    for i in (0, 17, 39):
        _assert_same(pixel_array(pacsnb.read(path), frame=i), whole[i])


def test_in_memory_dataset_with_array_value():
    ds = Dataset()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored = 2, 2, 1, 16, 16
    ds.PixelRepresentation = 1
    ds.PixelData = np.array([[-1, 2], [3, -32768]], np.int16)
    np.testing.assert_array_equal(pixel_array(ds), [[-1, 2], [3, -32768]])
    assert pixel_array(ds).dtype == np.int16


def test_registered_on_dataset_and_top_level():
    assert pacsnb.pixel_array is pixel_array
    path = PYDICOM_DATA / "test_files" / "CT_small.dcm"
    ds = pacsnb.read(path)
    np.testing.assert_array_equal(ds.pixel_array, pixel_array(ds))


# -- errors ---------------------------------------------------------------------------------------


def test_no_pixel_data_is_an_attribute_error_too():
    ds = pacsnb.read(PYDICOM_DATA / "test_files" / "CT_small.dcm", stop_before_pixels=True)
    with pytest.raises(NoPixelDataError, match="stop_before_pixels"):
        pixel_array(ds)
    assert not hasattr(ds, "pixel_array")
    assert isinstance(NoPixelDataError("x"), InvalidDicomError)


def test_truncated_value_names_the_sizes():
    ds, _ = _make(ba=16, rows=4, columns=4, frames=2)
    ds.PixelData = ds.PixelData.tobytes()[:40]  # 20 values, 32 needed
    with pytest.raises(InvalidDicomError, match=r"has 40 bytes .* needs 64 bytes"):
        pixel_array(ds)
    np.testing.assert_array_equal(pixel_array(ds, frame=0).ravel(), ds.PixelData[:16])
    with pytest.raises(InvalidDicomError, match="frame 1"):
        pixel_array(ds, frame=1)


@pytest.mark.parametrize("keyword, value, message", [
    ("Rows", None, "Rows"),
    ("BitsAllocated", 12, "Bits Allocated 12"),
    ("BitsStored", 17, "Bits Stored 17"),
    ("SamplesPerPixel", 2, "Samples per Pixel is 2"),
    ("PlanarConfiguration", 2, "Planar Configuration is 2"),
    ("NumberOfFrames", -2, "Number of Frames is -2"),
    ("PixelRepresentation", 3, "Pixel Representation is 3"),
])
def test_bad_attributes(keyword, value, message):
    ds, _ = _make(ba=16, samples=3 if keyword == "PlanarConfiguration" else 1)
    if value is None:
        del ds[keyword]
    else:
        ds[keyword] = value
    with pytest.raises(InvalidDicomError, match=message):
        pixel_array(ds)


def test_frame_out_of_range():
    ds, _ = _make(ba=16, frames=3)
    with pytest.raises(FrameIndexError, match=r"0 \.\. 2"):
        pixel_array(ds, frame=3)
    with pytest.raises(IndexError):
        pixel_array(ds, frame=-4)
    assert pixel_array(ds, frame=-3).shape == (5, 7)


def test_encapsulated_in_memory_names_the_transfer_syntax():
    path = PYDICOM_DATA / "test_files" / "JPEG2000.dcm"
    ds = pacsnb.read(path)
    assert ds["PixelData"].is_undefined_length
    # decoded frame by frame from the in-memory fragments (the codec: pacsnb[jpeg2000])
    assert pixel_array(ds).shape == (ds.Rows, ds.Columns)


def test_ds_pixel_array_is_writable_and_the_function_can_be_zero_copy(tmp_path):
    """``ds.pixel_array`` can be changed in place (as pydicom users do) without changing the
    data set; ``pixel_array(ds)`` is a read-only view of the bytes read, with no copy."""
    from pacsnb.samples import write_sample_file

    ds = pacsnb.read(write_sample_file(str(tmp_path / "ct.dcm")))
    before = pixel_array(ds).copy()
    arr = ds.pixel_array
    assert arr.flags.writeable
    arr[0, 0] += 1
    assert np.array_equal(pixel_array(ds), before)
    view = pixel_array(ds)
    assert not view.flags.writeable
    assert np.shares_memory(view, ds.PixelData)
