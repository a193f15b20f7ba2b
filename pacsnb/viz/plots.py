"""matplotlib figures of volumes: montage, orthogonal views, histogram.

Images are drawn with ``extent`` in millimetres (from the ``x``, ``y``, ``z``
coordinates) and an equal aspect, so a pixel is as tall and as wide as it is in the
patient: a coronal view of 2.5 mm slices of 0.7 mm pixels is stretched accordingly.

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> from pacsnb.cohort import open_series
>>> from pacsnb.samples import make_ct_series
>>> from pacsnb.viz.plots import histogram
>>> vol = open_series(make_ct_series(n_slices=4, rows=16, columns=16))
>>> histogram(vol).axes[0].get_xlabel()
'value (HU)'
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pacsnb.cohort.dataarray import window_values
from pacsnb.errors import GeometryError

__all__ = ["montage", "orthogonal", "histogram", "window_limits"]


def window_limits(da: Any, window: Any = None) -> tuple[float, float]:
    """``(vmin, vmax)`` for display: from a window, a preset, the series' own, or the data.

    Parameters
    ----------
    da
        The DataArray (its attrs may hold Window Center / Width).
    window
        ``(center, width)``, a preset name (``"lung"``, ...), ``"auto"`` (the 1st and
        99th percentiles) or ``None`` (the series' window if any, else ``"auto"``).

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> window_limits(xr.DataArray(np.zeros(3)), (40, 400)), window_limits(xr.DataArray(np.zeros(3)), "brain")
    ((-160.0, 240.0), (0.0, 80.0))
    """
    if isinstance(window, (tuple, list)) and len(window) == 2:
        c, w = float(window[0]), float(window[1])
    elif isinstance(window, str) and window != "auto":
        c, w = window_values(window)
    else:
        c = w = None
        if window is None and "WindowCenter" in da.attrs and "WindowWidth" in da.attrs:
            c, w = window_values(None, attrs=da.attrs)
        if c is None:
            v = np.asarray(da.values, dtype=np.float64).ravel()
            if v.size > 1_000_000:
                v = v[:: v.size // 1_000_000]
            lo, hi = (float(np.percentile(v, 1)), float(np.percentile(v, 99))) if v.size else (0.0, 1.0)
            return (lo, hi if hi > lo else lo + 1.0)
    return c - w / 2.0, c + w / 2.0


def _extent(da: Any, hdim: str, vdim: str) -> tuple[float, float, float, float]:
    """imshow extent (left, right, bottom, top) in mm for an image with rows along ``vdim``."""
    def edges(dim: str) -> tuple[float, float]:
        c = np.asarray(da[dim], float) if dim in da.coords else np.arange(da.sizes[dim], dtype=float)
        step = float(np.median(np.diff(c))) if c.size > 1 else 1.0
        return float(c[0]) - step / 2, float(c[-1]) + step / 2

    h0, h1 = edges(hdim)
    v0, v1 = edges(vdim)
    return (h0, h1, v1, v0)


def _check3d(da: Any) -> None:
    if tuple(da.dims) != ("z", "y", "x"):
        raise GeometryError(f"expected a (z, y, x) volume, got dims {da.dims}; select a frame or channel first")


def orthogonal(da: Any, point: tuple[int, int, int] | None = None, *, window: Any = None, cmap: str = "gray",
               figsize: tuple[float, float] = (12, 4.5)):
    """Three views through one voxel: the slice plane (``z``), and the ``y`` and ``x`` planes.

    For an axial series these are the axial, coronal and sagittal views. Each image has its
    physical aspect (extent in mm, equal aspect); the ``z`` axis points up.

    Parameters
    ----------
    da
        A ``(z, y, x)`` volume.
    point
        ``(z, y, x)`` indices of the voxel the views go through (default: the centre).
    window
        As :func:`window_limits`.
    cmap
        A matplotlib colour map.
    figsize
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes, titled with the plane and its index.

    Raises
    ------
    GeometryError
        When the DataArray is not ``(z, y, x)``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from pacsnb.cohort import open_series
    >>> from pacsnb.samples import make_ct_series
    >>> fig = orthogonal(open_series(make_ct_series(n_slices=4, rows=16, columns=16)))
    >>> [ax.get_title().split()[0] for ax in fig.axes]
    ['axial', 'coronal', 'sagittal']
    """
    import matplotlib.pyplot as plt

    _check3d(da)
    nz, ny, nx = (da.sizes[d] for d in ("z", "y", "x"))
    k, j, i = point if point is not None else (nz // 2, ny // 2, nx // 2)
    vmin, vmax = window_limits(da, window)
    names = ("axial", "coronal", "sagittal") if da.attrs.get("orientation") == "axial" else \
        ("z plane", "y plane", "x plane")
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    views = [
        (np.asarray(da.isel(z=k).values), _extent(da, "x", "y"), f"{names[0]} (z={k})", "x (mm)", "y (mm)", False),
        (np.asarray(da.isel(y=j).values), _extent(da, "x", "z"), f"{names[1]} (y={j})", "x (mm)", "z (mm)", True),
        (np.asarray(da.isel(x=i).values), _extent(da, "y", "z"), f"{names[2]} (x={i})", "y (mm)", "z (mm)", True),
    ]
    for ax, (img, ext, title, xl, yl, up) in zip(axes, views):
        if up:  # z grows upwards
            ext = (ext[0], ext[1], ext[3], ext[2])
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, extent=ext, origin="lower", aspect="equal",
                      interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, extent=ext, aspect="equal", interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    fig.tight_layout()
    return fig


def montage(da: Any, slices: Any = None, *, ncols: int | None = None, window: Any = None, cmap: str = "gray",
            size: float = 2.5):
    """A grid of slices (``z`` planes).

    Parameters
    ----------
    da
        A ``(z, y, x)`` volume.
    slices
        ``z`` indices to show, or an int: that many evenly spaced slices (default: all
        slices up to 16, else 16 evenly spaced).
    ncols
        Columns of the grid (default: about the square root).
    window
        As :func:`window_limits`.
    cmap
        A matplotlib colour map.
    size
        The size of one panel, inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per slice shown, titled with the index and ``z`` in mm.

    Raises
    ------
    GeometryError
        When the DataArray is not ``(z, y, x)``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from pacsnb.cohort import open_series
    >>> from pacsnb.samples import make_ct_series
    >>> fig = montage(open_series(make_ct_series(n_slices=8, rows=16, columns=16)), 4)
    >>> len(fig.axes), fig.axes[0].get_title()
    (4, 'z[0] -8.75 mm')
    """
    import matplotlib.pyplot as plt

    _check3d(da)
    nz = da.sizes["z"]
    if slices is None:
        slices = min(nz, 16)
    if isinstance(slices, (int, np.integer)):
        idx = np.unique(np.linspace(0, nz - 1, int(slices)).round().astype(int)).tolist()
    else:
        idx = [int(s) for s in slices]
    n = len(idx)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    vmin, vmax = window_limits(da, window)
    ext = _extent(da, "x", "y")
    fig = plt.figure(figsize=(size * ncols, size * nrows))
    z = np.asarray(da.z, float) if "z" in da.coords else np.arange(nz, dtype=float)
    for p, k in enumerate(idx):
        ax = fig.add_subplot(nrows, ncols, p + 1)
        ax.imshow(np.asarray(da.isel(z=k).values), cmap=cmap, vmin=vmin, vmax=vmax, extent=ext, aspect="equal",
                  interpolation="nearest")
        ax.set_title(f"z[{k}] {z[k]:g} mm", fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def histogram(da: Any, *, bins: int = 256, range: tuple[float, float] | None = None, log: bool = True,
              figsize: tuple[float, float] = (7, 3.5)):
    """A histogram of the values (HU for CT).

    Parameters
    ----------
    da
        Any DataArray.
    bins
        Number of bins.
    range
        ``(low, high)``; default: the data's range.
    log
        Logarithmic counts (air and background otherwise hide everything else).
    figsize
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import xarray as xr, numpy as np
    >>> fig = histogram(xr.DataArray(np.arange(100.0)), bins=10, log=False)
    >>> [int(p.get_height()) for p in fig.axes[0].patches][:3]
    [10, 10, 10]
    """
    import matplotlib.pyplot as plt

    v = np.asarray(da.values).ravel()
    fig, ax = plt.subplots(figsize=figsize)
    ax.hist(v, bins=bins, range=range, log=log, color="0.3")
    units = da.attrs.get("units")
    ax.set_xlabel(f"value ({units})" if units else "value")
    ax.set_ylabel("voxels")
    fig.tight_layout()
    return fig
