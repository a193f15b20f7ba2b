"""open_series: geometry with known answers, input forms, refusals, values against pydicom.

Known answers come from how the samples are built: slice ``k`` of a generated series is at
``origin + k * spacing * (row x column)``; the tests shuffle, drop, tilt and mix those
slices and check that the volume comes back in the right order with the right coordinates.
"""
from __future__ import annotations

import os
import random
import warnings

import numpy as np
import pandas as pd
import pytest

import pacsnb
from pacsnb.cohort import GeometryWarning, open_series
from pacsnb.cohort.volume import plan_series
from pacsnb.errors import GeometryError
from pacsnb.samples import make_ct_series, make_mr_series, write_cohort
from pacsnb.samples.enhanced import make_enhanced_series

N, R, C = 8, 12, 10


def _write(folder, datasets, shuffle_names=True):
    """Write data sets under names that do NOT follow their order (shuffled, seeded)."""
    folder.mkdir(parents=True, exist_ok=True)
    order = list(range(len(datasets)))
    if shuffle_names:
        random.Random(7).shuffle(order)
    paths = []
    for name, ds in zip(order, datasets):
        p = folder / f"img{name:03d}.dcm"
        pacsnb.write(ds, p)
        paths.append(p)
    return paths


def _expected_hu(datasets, normal):
    """The oracle: the stored pixels read back with pydicom, rescaled, sorted by position."""
    pydicom = pytest.importorskip("pydicom")
    import io

    items = []
    for ds in datasets:
        buf = io.BytesIO()
        pacsnb.write(ds, buf)
        buf.seek(0)
        p = pydicom.dcmread(buf)
        pos = np.array([float(v) for v in p.ImagePositionPatient])
        items.append((float(pos @ normal), p.pixel_array.astype(np.float64) * float(p.RescaleSlope)
                      + float(p.RescaleIntercept)))
    items.sort(key=lambda t: t[0])
    return np.array([t[0] for t in items]), np.stack([t[1] for t in items])


def test_shuffled_files_are_sorted_by_position_not_name_or_instance_number(tmp_path):
    series = make_ct_series(N, R, C, shuffle_instance_numbers=True, seed=3)
    _write(tmp_path, series)
    vol = open_series(tmp_path, progress=False)
    assert vol.dims == ("z", "y", "x") and vol.shape == (N, R, C) and vol.dtype == np.float32
    z, hu = _expected_hu(series, np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(vol.z.values, z)
    np.testing.assert_array_equal(vol.values, hu.astype(np.float32))
    assert np.all(np.diff(vol.z.values) > 0)
    # Instance Numbers were shuffled: the coordinate follows the slices, not 1..N
    assert sorted(vol.InstanceNumber.values.tolist()) == list(range(1, N + 1))
    assert vol.InstanceNumber.values.tolist() != list(range(1, N + 1))
    np.testing.assert_allclose(vol.y.values, np.arange(R) * 0.7)
    np.testing.assert_allclose(vol.x.values, np.arange(C) * 0.7)
    assert vol.attrs["slice_spacing"] == pytest.approx(2.5)
    assert vol.attrs["missing_slices"] == 0 and not vol.attrs["uneven_spacing"] and vol.attrs["gantry_tilt"] == 0
    assert vol.attrs["units"] == "HU" and vol.attrs["Modality"] == "CT"
    assert all(os.path.basename(p).startswith("img") for p in vol.path.values)


def test_affine_maps_indices_to_each_slice_position(tmp_path):
    series = make_ct_series(N, R, C, pixel_spacing=(0.5, 0.8), origin=(-30, 20, 100), seed=1)
    vol = open_series(series)
    A = vol.attrs["affine"]
    for k in range(N):
        ipp = [vol.ipp_x.values[k], vol.ipp_y.values[k], vol.ipp_z.values[k]]
        np.testing.assert_allclose(A @ [0, 0, k, 1], ipp + [1], atol=1e-6)
    # column index moves by the column spacing along the row direction, row index by the row spacing
    np.testing.assert_allclose(A[:3, 0], [0.8, 0, 0])
    np.testing.assert_allclose(A[:3, 1], [0, 0.5, 0])
    np.testing.assert_allclose(vol.y.values[1], 0.5)
    np.testing.assert_allclose(vol.x.values[1], 0.8)
    np.testing.assert_allclose(vol.dicom.affine, A, atol=1e-9)


def test_oblique_orientation():
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    iop = (1, 0, 0, 0, c, -s)  # rows along x, columns tilted 30 degrees from y towards -z
    series = make_ct_series(N, R, C, orientation=iop, seed=2)
    rng = random.Random(1)
    shuffled = series[:]
    rng.shuffle(shuffled)
    vol = open_series(shuffled)
    normal = np.cross(iop[:3], iop[3:])
    z, hu = _expected_hu(series, normal)
    np.testing.assert_allclose(vol.z.values, z, atol=1e-6)
    np.testing.assert_array_equal(vol.values, hu.astype(np.float32))
    assert vol.attrs["orientation"] == "oblique"
    assert vol.attrs["gantry_tilt"] == 0.0 and vol.attrs["regular_grid"]
    np.testing.assert_allclose(vol.attrs["affine"][:3, 2], normal * 2.5, atol=1e-6)
    np.testing.assert_allclose(vol.attrs["affine"][:3, 1], np.array(iop[3:]) * 0.7, atol=1e-6)


def test_negative_spacing_direction_positions_decrease_along_instance_numbers():
    # a feet-first-like stack: Instance Number 1 is the highest slice; the normal points up
    series = make_ct_series(N, R, C, seed=4)
    reversed_numbers = []
    for i, ds in enumerate(reversed(series)):
        ds = ds.copy()
        ds.InstanceNumber = i + 1
        reversed_numbers.append(ds)
    ipp_z = [float(ds.ImagePositionPatient[2]) for ds in reversed_numbers]
    assert np.all(np.diff(ipp_z) < 0)
    vol = open_series(reversed_numbers)
    assert np.all(np.diff(vol.z.values) > 0)
    assert vol.InstanceNumber.values.tolist() == list(range(N, 0, -1))
    assert vol.attrs["slice_spacing"] == pytest.approx(2.5)
    np.testing.assert_allclose(vol.attrs["affine"][:3, 2], [0, 0, 2.5])
    # a sagittal stack whose normal is -x: z grows along the normal, i.e. towards patient right
    sag = make_mr_series(5, R, C, orientation=(0, 1, 0, 0, 0, -1), spacing_between_slices=4.0, seed=5)
    v2 = open_series(sag[::-1])
    np.testing.assert_allclose(v2.attrs["affine"][:3, 2], [-4.0, 0, 0], atol=1e-9)
    assert np.all(np.diff(v2.ipp_x.values) < 0) and np.all(np.diff(v2.z.values) > 0)
    assert v2.attrs["orientation"] == "sagittal"


def test_missing_slice_is_reported():
    series = make_ct_series(N, R, C, seed=6)
    del series[3]
    with pytest.warns(GeometryWarning, match="1 slice.*missing"):
        vol = open_series(series)
    assert vol.sizes["z"] == N - 1
    assert vol.attrs["missing_slices"] == 1
    full = open_series(make_ct_series(N, R, C, seed=6)).z.values
    assert vol.attrs["missing_positions"] == pytest.approx([full[3]])
    assert vol.attrs["slice_spacing"] == pytest.approx(2.5)
    assert not vol.attrs["uneven_spacing"] and not vol.attrs["regular_grid"]
    assert any("missing" in w for w in vol.attrs["geometry_warnings"])
    np.testing.assert_allclose(vol.z.values, np.delete(full, 3))  # true positions, no made-up slice


def test_uneven_spacing_is_reported():
    series = make_ct_series(N, R, C, seed=6)
    ds = series[5]
    ipp = [float(v) for v in ds.ImagePositionPatient]
    ds.ImagePositionPatient = [ipp[0], ipp[1], ipp[2] + 0.9]
    with pytest.warns(GeometryWarning, match="uneven"):
        vol = open_series(series)
    assert vol.attrs["uneven_spacing"] and vol.attrs["missing_slices"] == 0
    assert vol.z.values[5] == pytest.approx(ipp[2] + 0.9)


def test_gantry_tilt_is_detected_and_in_the_affine():
    series = make_ct_series(N, R, C, seed=8)
    shift = np.tan(np.radians(15)) * 2.5  # each slice moves in y as it moves 2.5 mm in z
    for k, ds in enumerate(series):
        ipp = [float(v) for v in ds.ImagePositionPatient]
        ds.ImagePositionPatient = [f"{ipp[0]:.6f}", f"{ipp[1] + k * shift:.6f}", f"{ipp[2]:.6f}"]
    with pytest.warns(GeometryWarning, match="tilted 15.0 degrees"):
        vol = open_series(series)
    assert vol.attrs["gantry_tilt"] == pytest.approx(15.0, abs=1e-3)
    A = vol.attrs["affine"]
    np.testing.assert_allclose(A[:3, 2], [0, shift, 2.5], atol=1e-5)
    for k in range(N):
        np.testing.assert_allclose(A @ [0, 0, k, 1], [vol.ipp_x[k], vol.ipp_y[k], vol.ipp_z[k], 1], atol=1e-5)


def test_two_series_mixed_are_refused_with_a_list_and_selectable(tmp_path):
    a = make_ct_series(6, R, C, seed=9)
    b = make_ct_series(4, R, C, seed=9, series_number=2, kernel="BONE")
    _write(tmp_path, a + b)
    with pytest.raises(GeometryError) as info:
        open_series(tmp_path, progress=False)
    msg = str(info.value)
    assert "2 series" in msg and a[0].SeriesInstanceUID in msg and b[0].SeriesInstanceUID in msg
    assert "6 image(s)" in msg and "4 image(s)" in msg and "series_uid=" in msg
    vol = open_series(tmp_path, series_uid=b[0].SeriesInstanceUID, progress=False)
    assert vol.sizes["z"] == 4 and vol.attrs["SeriesInstanceUID"] == b[0].SeriesInstanceUID


def test_mixed_orientations_refused_or_split():
    axial = make_ct_series(5, R, C, seed=10)
    coronal = make_ct_series(3, R, C, seed=10, orientation=(1, 0, 0, 0, 0, -1))
    with pytest.raises(GeometryError, match="(?s)mixes 2 orientations.*axial.*coronal.*split=True"):
        open_series(axial + coronal)
    parts = open_series(axial + coronal, split=True)
    assert [p.attrs["orientation"] for p in parts] == ["axial", "coronal"]
    assert [p.sizes["z"] for p in parts] == [5, 3]


def test_mixed_image_sizes_refused():
    with pytest.raises(GeometryError, match="12x10.*\n.*16x16|16x16.*\n.*12x10"):
        open_series(make_ct_series(3, R, C, seed=1) + make_ct_series(2, 16, 16, seed=1, origin=(0, 0, 50)))


def test_duplicate_positions_with_unequal_counts_refused():
    s = make_ct_series(4, R, C, seed=1)
    extra = s[2].copy()
    extra.SOPInstanceUID = "1.2.3.4.5"
    with pytest.raises(GeometryError, match="hold several images"):
        open_series(s + [extra])


def test_two_phases_at_each_position_give_a_frame_dim():
    p1 = make_ct_series(4, R, C, seed=1, noise=0)
    p2 = []
    for ds in make_ct_series(4, R, C, seed=1, noise=0):
        ds = ds.copy()
        ds.TemporalPositionIdentifier = 2
        ds.RescaleIntercept = "-1000"  # a different rescale per image: +24 HU everywhere
        p2.append(ds)
    for ds in p1:
        ds.TemporalPositionIdentifier = 1
    vol = open_series(p2 + p1)
    assert vol.dims == ("frame", "z", "y", "x") and vol.shape == (2, 4, R, C)
    np.testing.assert_array_equal(vol[1].values - vol[0].values, 24)


def test_enhanced_multiframe_sorted_by_plane_position():
    ds = make_enhanced_series("CT", n_frames=N, rows=R, columns=C, shuffle_frames=True, seed=11,
                              pixel_spacing=(0.6, 0.9))
    classic = make_ct_series(N, R, C, seed=11, pixel_spacing=(0.6, 0.9))
    vol = open_series(ds)
    ref = open_series(classic)
    assert vol.dims == ("z", "y", "x") and vol.shape == (N, R, C)
    np.testing.assert_array_equal(vol.values, ref.values)
    np.testing.assert_allclose(vol.z.values, ref.z.values)
    np.testing.assert_allclose(vol.attrs["affine"], ref.attrs["affine"])
    assert vol.frame_index.values.tolist() != list(range(N))  # frames were stored shuffled
    assert sorted(vol.frame_index.values.tolist()) == list(range(N))
    assert vol.attrs["units"] == "HU" and vol.attrs["NumberOfFrames"] == N


def test_enhanced_multiframe_from_a_file_and_lazily(tmp_path):
    path = tmp_path / "enh.dcm"
    pacsnb.write(make_enhanced_series("MR", n_frames=6, rows=R, columns=C, shuffle_frames=True, seed=12,
                                      orientation=(0, 1, 0, 0, 0, -1)), path)
    vol = open_series(path)
    lazy = open_series(path, chunks=2)
    assert vol.attrs["orientation"] == "sagittal"
    np.testing.assert_array_equal(lazy.values, vol.values)


def test_dataframe_rows_with_and_without_geometry_columns(tmp_path):
    series = make_ct_series(N, R, C, shuffle_instance_numbers=True, seed=13)
    paths = _write(tmp_path, series)
    ref = open_series(tmp_path, progress=False)
    rows = []
    for p in paths:
        h = pacsnb.read(p, stop_before_pixels=True)
        rows.append({"path": str(p), "SeriesInstanceUID": str(h.SeriesInstanceUID), "Rows": h.Rows,
                     "Columns": h.Columns, "InstanceNumber": int(h.InstanceNumber),
                     "ImagePositionPatient": tuple(float(v) for v in h.ImagePositionPatient),
                     "ImageOrientationPatient": "\\".join(str(v) for v in h.ImageOrientationPatient),
                     "PixelSpacing": [float(v) for v in h.PixelSpacing]})
    df = pd.DataFrame(rows)
    full = open_series(df)
    np.testing.assert_array_equal(full.values, ref.values)
    np.testing.assert_allclose(full.z.values, ref.z.values)
    assert full.attrs["PatientID"] == series[0].PatientID  # series attributes from a header
    only_paths = open_series(df[["path"]].iloc[::-1])
    np.testing.assert_array_equal(only_paths.values, ref.values)


def test_scan_rows_select_one_series(tmp_path):
    from pacsnb.cohort import scan

    a = make_ct_series(5, R, C, seed=14)
    b = make_mr_series(3, R, C, seed=14)
    write_cohort(tmp_path, a + b, progress=False)
    df = scan(tmp_path, progress=False)
    with pytest.raises(GeometryError, match="2 series"):
        open_series(df)
    vol = open_series(df[df.Modality == "MR"])
    assert vol.sizes["z"] == 3 and vol.attrs["Modality"] == "MR" and "units" not in vol.attrs


def test_rescale_false_keeps_stored_values():
    series = make_ct_series(4, R, C, seed=15)
    vol = open_series(series, rescale=False)
    assert vol.dtype == np.uint16 and vol.attrs["rescaled"] is False
    hu = open_series(series)
    np.testing.assert_array_equal(vol.values.astype(np.float32) - 1024, hu.values)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(GeometryError, match="no DICOM images"):
        open_series(tmp_path)
    with pytest.raises(GeometryError, match="empty list"):
        open_series([])
    with pytest.raises(GeometryError, match="'path' column"):
        open_series(pd.DataFrame({"x": [1]}))
    s = make_ct_series(3, R, C)
    del s[1].ImagePositionPatient
    with pytest.raises(GeometryError, match="no Image Position"):
        open_series(s)
    with pytest.raises(TypeError):
        open_series(42)


def test_plan_reads_no_pixels(tmp_path, monkeypatch):
    _write(tmp_path, make_ct_series(4, R, C))
    import pacsnb.cohort.volume as V

    def boom(*a, **k):
        raise AssertionError("pixels read while planning")

    monkeypatch.setattr(V, "pixel_array", boom)
    [plan] = plan_series(tmp_path)
    assert plan.shape == (4, R, C)
    lazy = open_series(tmp_path, chunks=True)  # building the Dask graph reads nothing either
    assert lazy.chunks[0] == (1, 1, 1, 1)


def test_no_warning_for_a_regular_series():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vol = open_series(make_ct_series(N, R, C))
    assert vol.attrs["geometry_warnings"] == [] and vol.attrs["regular_grid"]


@pytest.mark.parametrize("n_frames", [1, 3])
def test_colour_images_have_a_channel_dim_with_the_stored_values(tmp_path, n_frames):
    pydicom = pytest.importorskip("pydicom")
    from pacsnb.samples import make_us_image

    path = tmp_path / "us.dcm"
    pacsnb.write(make_us_image(rows=24, columns=32, n_frames=n_frames, seed=n_frames), path)
    da = open_series([path])
    assert da.dims == ("frame", "y", "x", "channel")
    assert da.shape == (n_frames, 24, 32, 3) and da.sizes["channel"] == 3
    expected = pydicom.dcmread(path).pixel_array.reshape(n_frames, 24, 32, 3)  # RGB, colour by pixel
    assert expected.std() > 0  # a real image, not a constant
    np.testing.assert_array_equal(da.values, expected.astype(np.float32))
    raw = open_series([path], rescale=False)
    assert raw.dtype == np.uint8 and np.array_equal(raw.values, expected)
