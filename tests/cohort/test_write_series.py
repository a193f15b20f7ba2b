"""write_series: a derived series that open_series reads back to the same values and coordinates."""
from __future__ import annotations

import numpy as np
import pytest

import pacsnb
from pacsnb.cohort import open_series, write_series
from pacsnb.errors import GeometryError, PacsnbError
from pacsnb.samples import make_ct_series, write_cohort
from pacsnb.samples.enhanced import make_enhanced_series


@pytest.fixture()
def ct(tmp_path):
    src = tmp_path / "src"
    write_cohort(src, make_ct_series(6, 12, 10, pixel_spacing=(0.6, 0.8), orientation=(1, 0, 0, 0, 0.8, -0.6),
                                     seed=21), layout="flat", progress=False)
    return src


def test_round_trip_values_coordinates_and_uids(ct, tmp_path):
    vol = open_series(ct)
    derived = (vol * 2 - 7).assign_attrs(vol.attrs)
    paths = write_series(derived, ct, tmp_path / "out", progress=False)
    assert [p.name for p in paths] == [f"{k:05d}.dcm" for k in range(1, 7)]
    back = open_series(tmp_path / "out")
    np.testing.assert_array_equal(back.values, derived.values)
    for c in ("z", "y", "x", "ipp_x", "ipp_y", "ipp_z"):
        np.testing.assert_allclose(back[c].values, vol[c].values, atol=1e-6)
    np.testing.assert_allclose(back.attrs["affine"], vol.attrs["affine"], atol=1e-6)
    assert back.attrs["SeriesInstanceUID"] != vol.attrs["SeriesInstanceUID"]
    assert back.attrs["StudyInstanceUID"] == vol.attrs["StudyInstanceUID"]
    assert back.attrs["FrameOfReferenceUID"] == vol.attrs["FrameOfReferenceUID"]
    assert back.attrs["ImageType"][:2] == ["DERIVED", "SECONDARY"]
    assert back.attrs["SeriesNumber"] == vol.attrs["SeriesNumber"] + 1000
    assert not set(back.SOPInstanceUID.values) & set(vol.SOPInstanceUID.values)
    # each slice points at the template image at its position
    for k, p in enumerate(paths):
        ref = pacsnb.read(p, stop_before_pixels=True).SourceImageSequence[0]
        assert ref.ReferencedSOPInstanceUID == vol.SOPInstanceUID.values[k]


def test_cropped_sub_volume_keeps_its_place_in_space(ct, tmp_path):
    vol = open_series(ct)
    sub = vol[1:4, 3:9, 2:7]
    write_series(sub, ct, tmp_path / "crop", progress=False)
    back = open_series(tmp_path / "crop")
    np.testing.assert_array_equal(back.values, sub.values)
    np.testing.assert_allclose(back.attrs["affine"], sub.dicom.affine, atol=1e-6)
    # the first voxel of the crop is where it was in the full volume
    np.testing.assert_allclose(back.attrs["affine"] @ [0, 0, 0, 1], vol.attrs["affine"] @ [2, 3, 1, 1], atol=1e-6)


def test_non_integer_values_are_quantised_within_half_a_step(ct, tmp_path):
    vol = open_series(ct)
    smooth = (vol / 3.0).assign_attrs(vol.attrs)
    write_series(smooth, ct, tmp_path / "q", progress=False)
    back = open_series(tmp_path / "q")
    step = float(smooth.max() - smooth.min()) / 65535
    assert np.abs(back.values - smooth.values).max() <= step * 0.51 + 1e-4


def test_mask_and_lazy_input(ct, tmp_path):
    lazy = open_series(ct, chunks=2)
    mask = lazy > 0
    write_series(mask, ct, tmp_path / "mask", series_description="mask", progress=False)
    back = open_series(tmp_path / "mask")
    np.testing.assert_array_equal(back.values, mask.values.astype(np.float32))
    assert back.attrs["SeriesDescription"] == "mask"


def test_stored_values_stay_stored(ct, tmp_path):
    raw = open_series(ct, rescale=False)
    write_series(raw, ct, tmp_path / "raw", progress=False)
    np.testing.assert_array_equal(open_series(tmp_path / "raw", rescale=False).values, raw.values)


def test_enhanced_template_gives_classic_slices(tmp_path):
    enh = make_enhanced_series("CT", n_frames=4, rows=8, columns=8, seed=3)
    vol = open_series(enh)
    paths = write_series(vol, enh, tmp_path / "e", progress=False)
    ds = pacsnb.read(paths[0])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and "PerFrameFunctionalGroupsSequence" not in ds
    np.testing.assert_array_equal(open_series(tmp_path / "e").values, vol.values)


def test_refusals(ct, tmp_path):
    vol = open_series(ct)
    with pytest.raises(GeometryError, match="dims"):
        write_series(vol.transpose("y", "z", "x"), ct, tmp_path / "a")
    with pytest.raises(PacsnbError, match="NaN"):
        write_series(vol.where(vol > 0), ct, tmp_path / "b")
    write_series(vol, ct, tmp_path / "c", progress=False)
    with pytest.raises(PacsnbError, match="never overwrites"):
        write_series(vol, ct, tmp_path / "c")
    sag = open_series(make_ct_series(3, 12, 10, orientation=(0, 1, 0, 0, 0, -1)))
    with pytest.raises(GeometryError, match="orientation differs"):
        write_series(sag, ct, tmp_path / "d")
