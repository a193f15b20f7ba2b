"""The DataArray .dicom accessor: window (numbers and presets), mip, affine, spacing, show."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import pacsnb
from pacsnb.cohort import WINDOW_PRESETS, open_series
from pacsnb.errors import GeometryError, TransformError
from pacsnb.samples import make_ct_series


@pytest.fixture(scope="module")
def vol():
    return open_series(make_ct_series(6, 16, 12, pixel_spacing=(0.5, 0.8), noise=0, seed=51))


def test_window_matches_the_ps3_3_linear_formula(vol):
    c, w = 40.0, 80.0
    x = vol.values.astype(np.float64)
    lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    expected = np.where(x <= lo, 0.0, np.where(x > hi, 1.0, (x - (c - 0.5)) / (w - 1) + 0.5))
    got = vol.dicom.window(c, w)
    np.testing.assert_allclose(got.values, expected, atol=1e-6)
    assert got.dims == vol.dims and got.attrs["window"] == [c, w] and "units" not in got.attrs
    xr.testing.assert_identical(vol.dicom.window("brain"), got)


def test_presets_and_series_window(vol):
    for name, (c, w) in WINDOW_PRESETS.items():
        assert vol.dicom.window(name).attrs["window"] == [c, w]
    assert vol.dicom.window().attrs["window"] == [40.0, 80.0]  # the series' first Window Center/Width
    with pytest.raises(TransformError, match="unknown window preset"):
        vol.dicom.window("kidney-ish")
    with pytest.raises(TransformError, match="needs a width"):
        vol.dicom.window(40)


def test_mip(vol):
    np.testing.assert_array_equal(vol.dicom.mip("z").values, vol.values.max(axis=0))
    np.testing.assert_array_equal(vol.dicom.mip(2).values, vol.values.max(axis=2))
    assert vol.dicom.mip("y").dims == ("z", "x")
    with pytest.raises(GeometryError):
        vol.dicom.mip("t")


def test_affine_and_spacing_follow_slicing(vol):
    np.testing.assert_allclose(vol.dicom.affine, vol.attrs["affine"], atol=1e-9)
    assert vol.dicom.spacing == (2.5, 0.5, 0.8)
    sub = vol[::2, 1:, 2:]
    A = sub.dicom.affine
    np.testing.assert_allclose(A @ [0, 0, 1, 1], vol.attrs["affine"] @ [2, 1, 2, 1], atol=1e-9)
    assert sub.dicom.spacing == (5.0, 0.5, 0.8)
    with pytest.raises(GeometryError, match="coordinate"):
        xr.DataArray(np.zeros((2, 2, 2)), dims=("z", "y", "x")).dicom.affine


def test_show_kinds(vol):
    import matplotlib

    matplotlib.use("Agg")
    import pacsnb.viz  # noqa: F401 - registers the viewers

    assert len(vol.dicom.show("orthogonal").axes) == 3
    assert len(vol.dicom.show("montage", slices=4).axes) == 4
    assert type(vol.dicom.show()).__name__ == "SliceViewer"
    with pytest.raises(TransformError, match="kind must be"):
        vol.dicom.show("hologram")
