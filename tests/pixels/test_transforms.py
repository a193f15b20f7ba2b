"""pacsnb.pixels.transforms against pydicom's pixel processing (the oracle).

Every pydicom test file with Rescale Slope, Window Center, a palette (plain and
segmented, pydicom's ``palettes/`` included), YBR pixels or an overlay plane is put
through our transform and pydicom's on the same input array. pydicom ships no file with
a Modality LUT Sequence or a VOI LUT Sequence, so those are built with pydicom, written
by pydicom and read back by pacsnb. Hypothesis checks the formulas' properties.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydicom.pixels import apply_color_lut as pd_apply_color_lut
from pydicom.pixels import apply_modality_lut as pd_modality
from pydicom.pixels import apply_voi_lut as pd_voi_lut
from pydicom.pixels import apply_windowing as pd_windowing
from pydicom.pixels import convert_color_space as pd_convert

import pacsnb
from pacsnb.dicom import Dataset
from pacsnb.errors import InvalidDicomError, PacsnbError
from pacsnb.pixels import (LUT, TransformError, apply_modality_lut, apply_palette, apply_voi, apply_voi_lut,
                           apply_windowing, convert_color_space, expand_segmented_lut, invert_monochrome1,
                           overlay_array, overlay_groups, pixel_array)

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"


def _pd_read(p: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(p)


def _files() -> dict[str, list[Path]]:
    cats: dict[str, list[Path]] = {k: [] for k in ("rescale", "window", "palette", "ybr", "overlay")}
    for sub in ("test_files", "charset_files", "palettes"):
        for p in sorted((PYDICOM_DATA / sub).rglob("*")):
            if not p.is_file() or p.suffix in (".py", ".pyc", ".json", ".txt", ".md", ".gz", ".bz2"):
                continue
            try:
                ds = _pd_read(p)
            except Exception:  # noqa: BLE001 - not a DICOM file pydicom reads
                continue
            if "RescaleSlope" in ds and "RescaleIntercept" in ds:
                cats["rescale"].append(p)
            if "WindowCenter" in ds and "WindowWidth" in ds:
                cats["window"].append(p)
            if "RedPaletteColorLookupTableDescriptor" in ds:
                cats["palette"].append(p)
            if str(ds.get("PhotometricInterpretation", "")).startswith("YBR") and "PixelData" in ds:
                cats["ybr"].append(p)
            if any(e.tag.group & 0xFFE1 == 0x6000 and e.tag.element == 0x3000 for e in ds):
                cats["overlay"].append(p)
    return cats


FILES = _files()


def _ids(paths):
    return [str(p.relative_to(PYDICOM_DATA)) for p in paths]


def test_the_oracle_has_files_of_every_kind():
    assert {k: len(v) > 0 for k, v in FILES.items()} == dict.fromkeys(FILES, True)
    assert len(FILES["palette"]) >= 9  # examples_palette + 8 palettes (4 segmented)


def _stored_input(path: Path, pd_ds) -> np.ndarray:
    """The stored values pacsnb reads; a ramp over the stored range when pacsnb cannot
    decode the file (compressed) or it has no pixels."""
    try:
        return pixel_array(pacsnb.read(path))
    except PacsnbError:
        pass
    if "PixelData" in pd_ds and int(pd_ds.get("BitsAllocated", 16)) == 16:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pd_ds.pixel_array  # compressed: pydicom decodes, both transform the same values
        except Exception:  # noqa: BLE001 - no decoder: a ramp instead
            pass
    bs = int(pd_ds.get("BitsStored", 16) or 16)
    if int(pd_ds.get("PixelRepresentation", 0) or 0):
        return np.linspace(-(1 << (bs - 1)), (1 << (bs - 1)) - 1, 4099).astype(np.int32).astype(
            np.int16 if bs <= 16 else np.int32)
    return np.linspace(0, (1 << bs) - 1, 4099).astype(np.uint16 if bs <= 16 else np.uint32)


# ---------------------------------------------------------------------------------------
# Modality LUT


@pytest.mark.parametrize("path", FILES["rescale"], ids=_ids(FILES["rescale"]))
def test_rescale_matches_pydicom(path):
    pd_ds, ds = _pd_read(path), pacsnb.read(path)
    arr = _stored_input(path, pd_ds)
    ours = apply_modality_lut(arr, ds)
    theirs = pd_modality(arr, pd_ds)
    assert ours.dtype == np.float32 and ours.shape == arr.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-3)
    np.testing.assert_array_equal(apply_modality_lut(arr, ds, dtype=np.float64), theirs)


def _pd_bytes(pd_ds) -> bytes:
    buf = io.BytesIO()
    pd_ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _image(rows=4, cols=5, signed=False, bits=12):
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    ds.PhotometricInterpretation = "MONOCHROME2"
    fm = pydicom.dataset.FileMetaDataset()
    fm.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta = fm
    return ds


def _lut_item(n, first, bits, data, vr):
    item = pydicom.Dataset()
    item.add_new(0x00283002, "SS" if first < 0 else "US", [n, first, bits])
    if vr == "OW":
        item.add_new(0x00283006, "OW", np.asarray(data, "<u2").tobytes())
    else:
        item.add_new(0x00283006, "US", [int(x) for x in data])
    return item


@pytest.mark.parametrize("bits,first,vr", [(16, 0, "US"), (16, 100, "OW"), (16, -50, "US"), (12, 0, "OW"),
                                           (8, 10, "US")])
def test_modality_lut_sequence_matches_pydicom(bits, first, vr):
    n = 300
    data = (np.arange(n) * 7 % (1 << bits)).astype(np.uint16)
    pd_ds = _image(signed=first < 0)
    pd_ds.ModalityLUTSequence = pydicom.Sequence([_lut_item(n, first, bits, data, vr)])
    ds = pacsnb.read(_pd_bytes(pd_ds))
    arr = np.arange(max(first - 20, 0) if first >= 0 else first - 20, first + n + 20,
                    dtype=np.int16 if first < 0 else np.uint16)
    ours = apply_modality_lut(arr, ds)
    pd_ds2 = _pd_read(io.BytesIO(_pd_bytes(pd_ds)))
    if bits not in (8, 16):  # pydicom only makes uint8/uint16 arrays: compare by value
        theirs = data[np.clip(arr.astype(int) - first, 0, n - 1)]
    else:
        theirs = pd_modality(arr, pd_ds2)
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == (np.uint8 if bits <= 8 else np.uint16)


@pytest.mark.parametrize("bits,first,vr", [(16, 0, "OW"), (8, 0, "US"), (16, 2000, "US"), (12, 5, "OW")])
def test_voi_lut_sequence_matches_pydicom(bits, first, vr):
    n = 1000
    luts = [(np.arange(n) * k % (1 << bits)).astype(np.uint16) for k in (3, 5)]
    pd_ds = _image()
    pd_ds.VOILUTSequence = pydicom.Sequence([_lut_item(n, first, bits, d, vr) for d in luts])
    pd_ds.WindowCenter, pd_ds.WindowWidth = 500, 400
    ds = pacsnb.read(_pd_bytes(pd_ds))
    pd_ds2 = _pd_read(io.BytesIO(_pd_bytes(pd_ds)))
    arr = np.arange(0, first + n + 50, dtype=np.uint16).reshape(1, -1)
    for index in (0, 1):
        ours = apply_voi_lut(arr, ds, index=index)
        if bits == 16:
            theirs = pd_voi_lut(arr, pd_ds2, index=index)
        else:  # pydicom indexes 8-bit LUTs with uint8 (wrapping past 255): compare with the formula
            theirs = luts[index][np.clip(arr.astype(int) - first, 0, n - 1)]
        np.testing.assert_array_equal(ours, theirs)
    # prefer_lut=False: the window instead
    np.testing.assert_allclose(apply_voi_lut(arr, ds, prefer_lut=False), pd_voi_lut(arr, pd_ds2, prefer_lut=False),
                               rtol=1e-5, atol=1e-3)


# ---------------------------------------------------------------------------------------
# VOI LUT: windows


@pytest.mark.parametrize("path", FILES["window"], ids=_ids(FILES["window"]))
def test_windowing_matches_pydicom(path):
    pd_ds = _pd_read(path)
    try:
        ds = pacsnb.read(path)
    except InvalidDicomError:  # MR_truncated.dcm: the pixels are cut short, the attributes are fine
        ds = pacsnb.read(path, stop_before_pixels=True)
    arr = _stored_input(path, pd_ds)
    hu_pd = pd_modality(arr, pd_ds)
    hu = apply_modality_lut(arr, ds)
    nwin = len(pd_ds.WindowCenter) if pd_ds["WindowCenter"].VM > 1 else 1
    for function in (None, "LINEAR_EXACT", "SIGMOID"):
        if function:
            pd_ds.VOILUTFunction = function
            ds.VOILUTFunction = function
        for index in range(nwin):
            ours = apply_voi_lut(hu, ds, index=index)
            theirs = pd_windowing(hu_pd, pd_ds, index=index)
            span = float(np.ptp(theirs)) or 1.0
            assert ours.dtype == np.float32
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * max(span, 1.0) + 1e-3,
                                       err_msg=f"{function} window {index}")
            fused = apply_windowing(arr, ds, index, rescale=True)  # stored values, rescale in the same pass
            np.testing.assert_allclose(fused, theirs, rtol=1e-5, atol=1e-5 * max(span, 1.0) + 1e-3)


def test_windowing_on_real_ct_is_within_float_tolerance_of_float64():
    path = PYDICOM_DATA / "test_files" / "CT_small.dcm"
    ds = pacsnb.read(path)
    arr = pixel_array(ds)
    a32 = apply_windowing(apply_modality_lut(arr, ds), ds, center=40, width=400, output_range=(0, 255))
    a64 = apply_windowing(apply_modality_lut(arr, ds, dtype=np.float64), ds, center=40, width=400,
                          output_range=(0, 255), dtype=np.float64)
    assert a64.dtype == np.float64
    np.testing.assert_allclose(a32, a64, atol=1e-3)


# ---------------------------------------------------------------------------------------
# Palette Color


@pytest.mark.parametrize("path", FILES["palette"], ids=_ids(FILES["palette"]))
def test_palette_matches_pydicom(path):
    pd_ds, ds = _pd_read(path), pacsnb.read(path)
    if "PixelData" in pd_ds:
        arr = pixel_array(ds)
    else:  # a Color Palette: every index
        arr = np.arange(0, 256, dtype=np.uint8).reshape(16, 16)
    ours = apply_palette(arr, ds)
    theirs = pd_apply_color_lut(arr, pd_ds)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    # past the end: the last entry (PS3.3 C.7.6.3.1.5; pydicom wraps 8-bit indices instead)
    n = int(pd_ds.RedPaletteColorLookupTableDescriptor[0] or 65536)
    first = int(pd_ds.RedPaletteColorLookupTableDescriptor[1])
    edge = apply_palette(np.array([first + n - 1, first + n, first + n + 500], np.int32), ds)
    assert (edge == edge[0]).all()


def test_segmented_palette_indirect_segment_uses_a_byte_offset():
    # segment 0 discrete at byte 0; segment 1 linear; segment 2 copies segment 0 and 1
    words = [0, 2, 10, 20, 1, 2, 40, 2, 2, 0, 0]
    assert expand_segmented_lut(words).tolist() == [10, 20, 30, 40, 10, 20, 30, 40]
    words = [0, 2, 10, 20, 0, 1, 5, 2, 1, 8, 0]  # byte offset 8 = word 4: the second discrete segment
    assert expand_segmented_lut(words).tolist() == [10, 20, 5, 5]


@pytest.mark.parametrize("words,msg", [([1, 3, 9], "first segment"), ([0, 1, 5, 7, 1, 0], "opcode 7"),
                                       ([0, 5, 1, 2], "runs past"), ([0, 1, 5, 2, 1, 0, 0, 2, 1, 6, 0], "indirect")])
def test_bad_segmented_data_raises(words, msg):
    with pytest.raises(TransformError, match=msg):
        expand_segmented_lut(words)


# ---------------------------------------------------------------------------------------
# colour spaces


def _raw_pixels(path: Path) -> np.ndarray | None:
    try:
        return pixel_array(pacsnb.read(path))
    except PacsnbError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.pixels.pixel_array(path, raw=True)
    except Exception:  # noqa: BLE001 - no pydicom decoder either
        return None


@pytest.mark.parametrize("path", FILES["ybr"], ids=_ids(FILES["ybr"]))
def test_ybr_files_match_pydicom(path):
    pd_ds = _pd_read(path)
    arr = _raw_pixels(path)
    if arr is None:
        pytest.skip("no decoder for this transfer syntax")
    pi = str(pd_ds.PhotometricInterpretation)
    if pi in ("YBR_FULL", "YBR_FULL_422"):
        ours = convert_color_space(arr, pacsnb.read(path), "RGB")
        theirs = pd_convert(arr, pi, "RGB")
        diff = np.abs(ours.astype(int) - theirs.astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() > 0.999  # float32 vs float64 at .5 ties
        back = convert_color_space(ours, "RGB", "YBR_FULL")
        theirs_back = pd_convert(theirs, "RGB", "YBR_FULL")
        assert np.abs(back.astype(int) - theirs_back.astype(int)).max() <= 1
    else:  # YBR_RCT / YBR_ICT: pydicom has no converter; the transform itself must be exact
        rgb = arr.astype(np.uint8)
        rct = convert_color_space(rgb, "RGB", "YBR_RCT")
        np.testing.assert_array_equal(convert_color_space(rct, "YBR_RCT", "RGB"), rgb)


def test_rgb_to_ybr_full_matches_pydicom_on_every_8bit_colour_cube_corner_and_random():
    rng = np.random.default_rng(3)
    rgb = np.concatenate([rng.integers(0, 256, (20000, 3)),
                          np.array(np.meshgrid(*[[0, 1, 127, 128, 254, 255]] * 3)).reshape(3, -1).T])
    rgb = rgb.astype(np.uint8).reshape(1, -1, 3)
    ours = convert_color_space(rgb, "RGB", "YBR_FULL")
    theirs = pd_convert(rgb, "RGB", "YBR_FULL")
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999


def test_ybr_full_422_subsamples_chroma_pairs():
    rgb = np.array([[[255, 0, 0], [0, 0, 255], [9, 9, 9], [9, 9, 9]]], np.uint8)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL_422")
    assert (ybr[0, 0, 1:] == ybr[0, 1, 1:]).all() and (ybr[0, 2, 1:] == ybr[0, 3, 1:]).all()
    full = convert_color_space(rgb, "RGB", "YBR_FULL")
    np.testing.assert_array_equal(ybr[..., 0], full[..., 0])
    with pytest.raises(TransformError, match="even number of columns"):
        convert_color_space(rgb[:, :3], "RGB", "YBR_FULL_422")


def test_ict_matches_the_standard_coefficients():
    rgb = np.array([[200, 100, 50]], np.uint8)
    ict = convert_color_space(rgb, "RGB", "YBR_ICT")
    r, g, b = 200, 100, 50
    expect = [0.299 * r + 0.587 * g + 0.114 * b, -0.16875 * r - 0.33126 * g + 0.5 * b,
              0.5 * r - 0.41869 * g - 0.08131 * b]
    np.testing.assert_array_equal(ict[0], np.floor(np.array(expect) + 0.5))
    assert ict.dtype == np.int16


# ---------------------------------------------------------------------------------------
# overlays


@pytest.mark.parametrize("path", FILES["overlay"], ids=_ids(FILES["overlay"]))
def test_overlay_matches_pydicom(path):
    pd_ds, ds = _pd_read(path), pacsnb.read(path)
    groups = overlay_groups(ds)
    assert groups
    for g in groups:
        ours = overlay_array(ds, g)
        theirs = pd_ds.overlay_array(g)
        assert ours.dtype == bool
        np.testing.assert_array_equal(ours, theirs.astype(bool))
        if ours.ndim == 2:
            np.testing.assert_array_equal(overlay_array(ds, g, frame=0), ours)


def test_multiframe_overlay_frames_are_not_byte_aligned():
    rows, cols, frames = 3, 3, 3
    bits = np.random.default_rng(1).integers(0, 2, frames * rows * cols).astype(np.uint8)
    ds = Dataset()
    ds.add_new(0x60020010, "US", rows)
    ds.add_new(0x60020011, "US", cols)
    ds.add_new(0x60020015, "IS", str(frames))
    ds.add_new(0x60020100, "US", 1)
    ds.add_new(0x60020102, "US", 0)
    ds.add_new(0x60023000, "OW", np.packbits(bits, bitorder="little").tobytes() + b"\0")
    all_frames = overlay_array(ds, 0x6002)
    assert all_frames.shape == (3, 3, 3)
    np.testing.assert_array_equal(all_frames.reshape(-1), bits.astype(bool))
    np.testing.assert_array_equal(overlay_array(ds, 0x6002, frame=2), all_frames[2])
    with pytest.raises(TransformError, match="out of range"):
        overlay_array(ds, 0x6002, frame=3)
    with pytest.raises(InvalidDicomError, match="no Overlay Rows"):
        overlay_array(ds, 0x6000)
    with pytest.raises(TransformError, match="not an overlay group"):
        overlay_array(ds, 0x6001)


# ---------------------------------------------------------------------------------------
# MONOCHROME1


def test_monochrome1_inversion():
    path = PYDICOM_DATA / "test_files" / "dicomdirtests" / "77654033" / "CR1" / "6154"
    ds = pacsnb.read(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    arr = pixel_array(ds)
    inv = invert_monochrome1(arr, ds)
    np.testing.assert_array_equal(inv.astype(int), 4095 - arr.astype(int))
    assert inv.dtype == arr.dtype
    mono2 = Dataset({"PhotometricInterpretation": "MONOCHROME2"})
    assert invert_monochrome1(arr, mono2) is arr or np.array_equal(invert_monochrome1(arr, mono2), arr)
    signed = invert_monochrome1(np.array([-2048, 0, 2047], np.int16), {"PhotometricInterpretation": "MONOCHROME1",
                                                                      "BitsStored": 12, "PixelRepresentation": 1})
    assert signed.tolist() == [2047, -1, -2048]
    with pytest.raises(TransformError, match="value_range"):
        invert_monochrome1(np.zeros(2))


# ---------------------------------------------------------------------------------------
# bad parameters


@pytest.mark.parametrize("kw,msg", [(dict(width=0.5), "at least 1"), (dict(width=0, function="SIGMOID"), "above 0"),
                                    (dict(width=-1, function="LINEAR_EXACT"), "above 0"),
                                    (dict(width=10, function="CUBIC"), "CUBIC"),
                                    (dict(width="wide"), "not a number")])
def test_bad_window_parameters(kw, msg):
    with pytest.raises(TransformError, match=msg):
        apply_windowing(np.zeros(3), None, center=0, **kw)


def test_missing_attributes_raise_invalid_dicom():
    path = PYDICOM_DATA / "test_files" / "MR_small.dcm"
    ds = pacsnb.read(path)
    del ds[0x00281050]
    with pytest.raises(InvalidDicomError, match="Window Center") as info:
        apply_windowing(np.zeros(3), ds)
    assert "MR_small.dcm" in str(info.value)
    with pytest.raises(InvalidDicomError, match="Palette Color Lookup Table Descriptor"):
        apply_palette(np.zeros(3, np.uint8), ds)
    bad = Dataset({"ModalityLUTSequence": [Dataset({"LUTDescriptor": [3, 0, 16]})]})
    with pytest.raises(InvalidDicomError, match="LUT Data"):
        apply_modality_lut(np.zeros(3, np.uint16), bad)
    with pytest.raises(TransformError, match="index 2"):
        apply_windowing(np.zeros(3), {"WindowCenter": [1, 2], "WindowWidth": [3, 4]}, index=2)
    with pytest.raises(TransformError, match="colour spaces"):
        convert_color_space(np.zeros((2, 3), np.uint8), "CMYK", "RGB")
    with pytest.raises(TransformError, match="entries"):
        LUT.from_descriptor([10, 0, 16], [1, 2, 3])


def test_nothing_to_do_returns_the_input_values():
    arr = np.arange(6, dtype=np.int16)
    assert apply_modality_lut(arr, Dataset()) is arr
    assert apply_voi_lut(arr, Dataset()) is arr
    assert apply_voi(arr, None) is arr
    assert convert_color_space(np.zeros((1, 3), np.uint8), "RGB", "RGB").shape == (1, 3)


def test_transforms_do_not_modify_their_input():
    arr = np.arange(100, dtype=np.int16)
    before = arr.copy()
    apply_modality_lut(arr, {"RescaleSlope": 2, "RescaleIntercept": 1})
    apply_windowing(arr, None, center=10, width=20)
    invert_monochrome1(arr, None, value_range=(0, 100))
    np.testing.assert_array_equal(arr, before)


# ---------------------------------------------------------------------------------------
# properties (hypothesis)

_FN = st.sampled_from(["LINEAR", "LINEAR_EXACT", "SIGMOID"])


@settings(max_examples=60, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(2, 60), elements=st.floats(-5000, 5000)),
       center=st.floats(-3000, 3000), width=st.floats(1, 5000), fn=_FN,
       lo=st.floats(-100, 100), span=st.floats(1, 5000))
def test_windowing_is_monotonic_and_in_range(values, center, width, fn, lo, span):
    x = np.sort(values)
    y = apply_windowing(x, None, center=center, width=width, function=fn, output_range=(lo, lo + span),
                        dtype=np.float64)
    tol = 1e-9 * (abs(lo) + span)
    assert (np.diff(y) >= -tol).all()
    assert (y >= lo - tol).all() and (y <= lo + span + tol).all()


@settings(max_examples=60, deadline=None)
@given(rgb=hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 6), st.just(3))))
def test_rgb_ybr_round_trips(rgb):
    back = convert_color_space(convert_color_space(rgb, "RGB", "YBR_FULL"), "YBR_FULL", "RGB")
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1
    back = convert_color_space(convert_color_space(rgb, "RGB", "YBR_ICT"), "YBR_ICT", "RGB")
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1
    np.testing.assert_array_equal(convert_color_space(convert_color_space(rgb, "RGB", "YBR_RCT"), "YBR_RCT", "RGB"),
                                  rgb)


@settings(max_examples=30, deadline=None)
@given(rgb=hnp.arrays(np.uint16, st.tuples(st.integers(1, 3), st.just(3)), elements=st.integers(0, 4095)))
def test_rct_is_exact_for_12_bit(rgb):
    rct = convert_color_space(rgb, "RGB", "YBR_RCT", bits=12)
    assert rct.dtype == np.int32
    back = convert_color_space(rct, "YBR_RCT", "RGB", bits=12)
    np.testing.assert_array_equal(back, rgb)


@settings(max_examples=40, deadline=None)
@given(arr=hnp.arrays(np.int16, st.integers(1, 50)), slope=st.floats(0.01, 100), intercept=st.floats(-5000, 5000))
def test_rescale_equals_the_formula(arr, slope, intercept):
    ours = apply_modality_lut(arr, None, slope=slope, intercept=intercept, dtype=np.float64)
    np.testing.assert_allclose(ours, arr * slope + intercept, rtol=1e-12, atol=1e-9)
