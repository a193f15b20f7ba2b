"""viz: figure contents (axes, image shapes, extents and aspect from the spacing) and the
ipywidgets viewer's state changes, without a browser."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from pacsnb.cohort import open_series  # noqa: E402
from pacsnb.errors import GeometryError  # noqa: E402
from pacsnb.samples import make_ct_series, write_cohort  # noqa: E402
from pacsnb.viz import SliceViewer, histogram, montage, orthogonal, window_limits  # noqa: E402

NZ, NY, NX = 10, 20, 16


@pytest.fixture(scope="module")
def vol():
    return open_series(make_ct_series(NZ, NY, NX, pixel_spacing=(0.5, 0.8), slice_thickness=3.0, noise=0, seed=61))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _extent_size(ax):
    left, right, bottom, top = ax.get_images()[0].get_extent()
    return abs(right - left), abs(top - bottom)


def test_orthogonal_views_have_the_physical_aspect(vol):
    fig = orthogonal(vol, point=(3, 5, 7))
    assert len(fig.axes) == 3
    ax_axial, ax_cor, ax_sag = fig.axes
    assert ax_axial.get_title() == "axial (z=3)" and ax_cor.get_title() == "coronal (y=5)"
    assert ax_sag.get_title() == "sagittal (x=7)"
    shapes = [ax.get_images()[0].get_array().shape for ax in fig.axes]
    assert shapes == [(NY, NX), (NZ, NX), (NZ, NY)]
    np.testing.assert_array_equal(ax_cor.get_images()[0].get_array(), vol.values[:, 5, :])
    for ax in fig.axes:
        assert ax.get_aspect() == 1.0  # equal aspect on extents in mm
    assert _extent_size(ax_axial) == pytest.approx((NX * 0.8, NY * 0.5))
    assert _extent_size(ax_cor) == pytest.approx((NX * 0.8, NZ * 3.0))
    assert _extent_size(ax_sag) == pytest.approx((NY * 0.5, NZ * 3.0))
    with pytest.raises(GeometryError):
        orthogonal(vol.isel(z=0))


def test_window_limits_of_the_images(vol):
    fig = orthogonal(vol, window="lung")
    assert fig.axes[0].get_images()[0].get_clim() == (-1350.0, 150.0)
    assert window_limits(vol) == (0.0, 80.0)  # the series' first window (brain 40/80)
    lo, hi = window_limits(vol, "auto")
    assert lo == pytest.approx(np.percentile(vol.values, 1)) and hi == pytest.approx(np.percentile(vol.values, 99))


def test_montage(vol):
    fig = montage(vol, [0, 4, 9], ncols=2)
    assert len(fig.axes) == 3
    np.testing.assert_array_equal(fig.axes[1].get_images()[0].get_array(), vol.values[4])
    assert fig.axes[2].get_title() == f"z[9] {float(vol.z[9]):g} mm"
    assert len(montage(vol).axes) == NZ
    assert len(montage(vol, 4).axes) == 4


def test_histogram(vol):
    fig = histogram(vol, bins=32, log=False)
    counts = [p.get_height() for p in fig.axes[0].patches]
    assert len(counts) == 32 and sum(counts) == vol.size
    assert fig.axes[0].get_xlabel() == "value (HU)"


def test_viewer_slider_window_preset_and_overlay(vol):
    mask = vol > 30
    v = SliceViewer(vol, overlay=mask, window=(40, 400))
    assert v.index == NZ // 2 and v.window == (40.0, 400.0)
    png_before = v.image.value
    v.slider.value = 4
    assert v.index == 4 and v.image.value != png_before
    grey = np.clip((vol.values[4] - (40 - 200)) / 400, 0, 1) * 255
    m = mask.values[4]
    np.testing.assert_array_equal(v.displayed[~m][:, 0], np.rint(grey[~m]).astype(np.uint8))
    assert m.any()
    overlaid = v.displayed[m].astype(int)
    assert (overlaid[:, 0] >= overlaid[:, 2]).all()  # drawn in colour (red-ish)
    v.show_overlay.value = False
    np.testing.assert_array_equal(v.displayed[..., 0], np.rint(grey).astype(np.uint8))
    v.preset.value = "bone"
    assert v.window == (400.0, 1800.0)
    v.center.value = 100.0
    v.width.value = 50.0
    np.testing.assert_array_equal(v.displayed[..., 1],
                                  np.rint(np.clip((vol.values[4] - 75) / 50, 0, 1) * 255).astype(np.uint8))
    assert v.image.layout.width == f"{NX * 0.8 * 3:.0f}px" and v.image.layout.height == f"{NY * 0.5 * 3:.0f}px"


def test_viewer_attributes_of_the_current_slice(tmp_path):
    write_cohort(tmp_path, make_ct_series(4, 8, 8, shuffle_instance_numbers=True, seed=62), layout="flat",
                 progress=False)
    vol = open_series(tmp_path, chunks=True)  # lazy: the viewer decodes only the slice shown
    v = SliceViewer(vol)
    for k in (0, 3):
        v.slider.value = k
        a = v.slice_attributes()
        assert a["InstanceNumber"] == int(vol.InstanceNumber[k]) and a["z (mm)"] == float(vol.z[k])
        assert a["SliceLocation"] and a["SOPInstanceUID"] == str(vol.SOPInstanceUID.values[k])
        assert str(vol.SOPInstanceUID.values[k]) in v.info.value


def test_viewer_refuses_bad_overlay(vol):
    with pytest.raises(GeometryError, match="same grid"):
        SliceViewer(vol, overlay=vol[:2])
