"""The ``.dicom`` accessor of ``xarray.DataArray``: windowing, MIPs, the affine, a viewer.

Importing :mod:`pacsnb.cohort` registers it. Windowing follows the LINEAR function of PS3.3
C.11.2.1.2 (the same kernel as :func:`pacsnb.pixels.apply_windowing`), to values between 0
and 1; named presets give the usual CT windows (centre, width in HU).

Examples
--------
>>> import pacsnb.cohort
>>> from pacsnb.cohort.volume import open_series
>>> from pacsnb.samples import make_ct_series
>>> vol = open_series(make_ct_series(n_slices=4, rows=16, columns=16, noise=0))
>>> w = vol.dicom.window("brain")
>>> float(w.min()), float(w.max()), w.attrs["window"]
(0.0, 1.0, [40.0, 80.0])
>>> vol.dicom.mip("z").dims
('y', 'x')
"""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from pacsnb.cohort.geometry import affine_matrix, as_floats
from pacsnb.errors import GeometryError, TransformError
from pacsnb.pixels.transforms import apply_windowing

__all__ = ["DicomArrayAccessor", "WINDOW_PRESETS", "window_values", "volume_affine", "register_show"]

#: Named CT windows: ``name -> (centre, width)`` in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "stroke": (40.0, 40.0),
    "temporal_bone": (600.0, 2800.0),
    "soft_tissue": (40.0, 400.0),
    "abdomen": (50.0, 400.0),
    "liver": (60.0, 150.0),
    "mediastinum": (50.0, 350.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
}


def window_values(preset_or_center: str | float | None, width: float | None = None,
                  attrs: dict | None = None) -> tuple[float, float]:
    """``(center, width)`` from a preset name, explicit numbers or the series' own window.

    Parameters
    ----------
    preset_or_center
        A name of :data:`WINDOW_PRESETS`, a centre, or ``None`` for the first Window
        Center / Window Width of ``attrs`` (the series' own).
    width
        The width, with a numeric centre.
    attrs
        The DataArray's attributes.

    Returns
    -------
    tuple of float

    Raises
    ------
    TransformError
        For an unknown preset, a centre without a width, or no window anywhere.

    Examples
    --------
    >>> window_values("lung"), window_values(40, 400)
    ((-600.0, 1500.0), (40.0, 400.0))
    >>> window_values(None, attrs={"WindowCenter": [40.0, 600.0], "WindowWidth": [80.0, 2800.0]})
    (40.0, 80.0)
    """
    if isinstance(preset_or_center, str):
        key = preset_or_center.lower().replace(" ", "_").replace("-", "_")
        if key not in WINDOW_PRESETS:
            raise TransformError(f"unknown window preset {preset_or_center!r}; presets: {sorted(WINDOW_PRESETS)}")
        return WINDOW_PRESETS[key]
    if preset_or_center is None:
        attrs = attrs or {}
        c = as_floats(attrs.get("WindowCenter"))
        w = as_floats(attrs.get("WindowWidth"))
        if not c or not w:
            raise TransformError("no window given and the series has no Window Center / Window Width; give "
                                 f"center and width or a preset: {sorted(WINDOW_PRESETS)}")
        return c[0], w[0]
    if width is None:
        raise TransformError("a window needs a width: window(center, width), or a preset name")
    return float(preset_or_center), float(width)


def volume_affine(da: xr.DataArray) -> np.ndarray:
    """The 4x4 affine of a DataArray from :func:`~pacsnb.cohort.volume.open_series`, from its
    coordinates: it stays right after slicing or cropping (``vol[10:20, 64:192]``).

    Parameters
    ----------
    da
        A volume with ``z``, ``y``, ``x`` coordinates, ``ipp_x``/``ipp_y``/``ipp_z`` and the
        ``ImageOrientationPatient`` attribute.

    Returns
    -------
    numpy.ndarray
        ``(4, 4)``: voxel indices ``(x, y, z, 1)`` to patient LPS mm.

    Raises
    ------
    GeometryError
        When the DataArray lacks the coordinates or attributes.

    Examples
    --------
    >>> from pacsnb.cohort.volume import open_series
    >>> from pacsnb.samples import make_ct_series
    >>> vol = open_series(make_ct_series(n_slices=4, rows=16, columns=16))
    >>> A = volume_affine(vol[1:, 2:, 3:])
    >>> import numpy as np
    >>> expected = [float(vol.ipp_x[1]) + 3 * 0.7, float(vol.ipp_y[1]) + 2 * 0.7, float(vol.ipp_z[1])]
    >>> bool(np.allclose(A @ [0, 0, 0, 1], expected + [1]))
    True
    """
    for name in ("x", "y", "ipp_x", "ipp_y", "ipp_z"):
        if name not in da.coords:
            raise GeometryError(f"the DataArray has no {name!r} coordinate: it does not come from open_series "
                                "(or lost its coordinates)")
    iop = da.attrs.get("ImageOrientationPatient")
    if iop is None:
        raise GeometryError("the DataArray has no ImageOrientationPatient attribute")
    r = np.asarray(as_floats(iop, 6)[:3])
    c = np.asarray(as_floats(iop, 6)[3:])
    x, y = np.asarray(da.x, float), np.asarray(da.y, float)
    ps = as_floats(da.attrs.get("PixelSpacing"), 2) or [1.0, 1.0]
    dx = float(x[1] - x[0]) if x.size > 1 else ps[1]
    dy = float(y[1] - y[0]) if y.size > 1 else ps[0]
    ipp = np.stack([np.atleast_1d(np.asarray(da[f"ipp_{a}"], float)) for a in "xyz"], axis=-1).reshape(-1, 3)
    origin = ipp[0] + r * x[0] + c * y[0]
    if ipp.shape[0] > 1:
        step = (ipp[-1] - ipp[0]) / (ipp.shape[0] - 1)
    else:
        spacing = float(da.attrs.get("slice_spacing") or 1.0)
        step = np.cross(r, c) * spacing
    return affine_matrix(iop, [dy, dx], origin, step)


@xr.register_dataarray_accessor("dicom")
class DicomArrayAccessor:
    """``vol.dicom``: DICOM-aware operations on a volume from
    :func:`~pacsnb.cohort.volume.open_series`.

    Parameters
    ----------
    da
        The DataArray.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> import pacsnb.cohort
    >>> xr.DataArray(np.array([[-1000.0, 40.0, 1000.0]]), dims=("y", "x")).dicom.window(40, 80).values.round(3)
    array([[0.   , 0.506, 1.   ]], dtype=float32)
    """

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da

    def window(self, center: str | float | None = None, width: float | None = None) -> xr.DataArray:
        """Apply a window: ``window(center, width)``, ``window("lung")`` or ``window()`` (the series' own).

        Values below the window become 0, above it 1, linear in between (PS3.3 C.11.2.1.2
        LINEAR). Works lazily on Dask-backed volumes.

        Parameters
        ----------
        center
            The window centre (modality units, HU for CT), a preset name of
            :data:`WINDOW_PRESETS`, or ``None``.
        width
            The window width.

        Returns
        -------
        xarray.DataArray
            ``float32`` in ``[0, 1]``, same dims and coordinates, ``attrs["window"]``
            ``[center, width]``.

        Examples
        --------
        >>> import xarray as xr, numpy as np
        >>> import pacsnb.cohort
        >>> xr.DataArray(np.array([-700.0, 0.0]), dims="x").dicom.window("lung").values.round(3)
        array([0.434, 0.901], dtype=float32)
        """
        c, w = window_values(center, width, self._da.attrs)
        if w < 1:
            raise TransformError(f"the window width must be at least 1, got {w}")

        def fn(a: np.ndarray) -> np.ndarray:
            a = np.asarray(a)
            if a.dtype.kind not in "uif":
                a = a.astype(np.float32)
            return apply_windowing(a, None, center=c, width=w, output_range=(0.0, 1.0))

        out = xr.apply_ufunc(fn, self._da, dask="parallelized", output_dtypes=[np.float32], keep_attrs=True)
        out.attrs["window"] = [c, w]
        out.attrs.pop("units", None)
        return out

    def mip(self, axis: str | int = "z") -> xr.DataArray:
        """The maximum intensity projection along a dim.

        Parameters
        ----------
        axis
            A dim name (``"z"``, ``"y"``, ``"x"``) or its position.

        Returns
        -------
        xarray.DataArray
            Without that dim; attrs kept, ``attrs["projection"]`` says which.

        Examples
        --------
        >>> import xarray as xr, numpy as np
        >>> import pacsnb.cohort
        >>> da = xr.DataArray(np.arange(24.0).reshape(2, 3, 4), dims=("z", "y", "x"))
        >>> da.dicom.mip("y").values.tolist()
        [[8.0, 9.0, 10.0, 11.0], [20.0, 21.0, 22.0, 23.0]]
        """
        dim = self._da.dims[axis] if isinstance(axis, int) else axis
        if dim not in self._da.dims:
            raise GeometryError(f"the DataArray has no dim {dim!r}; dims are {self._da.dims}")
        out = self._da.max(dim=dim, keep_attrs=True)
        out.attrs["projection"] = f"MIP along {dim}"
        return out

    @property
    def affine(self) -> np.ndarray:
        """The 4x4 affine (voxel ``(x, y, z)`` indices to patient LPS mm), from the coordinates.

        Examples
        --------
        >>> import pacsnb.cohort
        >>> from pacsnb.cohort.volume import open_series
        >>> from pacsnb.samples import make_ct_series
        >>> open_series(make_ct_series(n_slices=3, rows=8, columns=8)).dicom.affine[:3, :3].diagonal().tolist()
        [0.7, 0.7, 2.5]
        """
        return volume_affine(self._da)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """``(z, y, x)`` spacing in mm: slice spacing, row spacing, column spacing.

        Examples
        --------
        >>> import pacsnb.cohort
        >>> from pacsnb.cohort.volume import open_series
        >>> from pacsnb.samples import make_ct_series
        >>> open_series(make_ct_series(n_slices=3, rows=8, columns=8)).dicom.spacing
        (2.5, 0.7, 0.7)
        """
        def step(name: str, default: float) -> float:
            if name in self._da.coords and self._da[name].size > 1:
                v = np.asarray(self._da[name], float)
                return float(round(np.median(np.diff(v)), 6))
            return default

        ps = as_floats(self._da.attrs.get("PixelSpacing"), 2) or [1.0, 1.0]
        return (step("z", float(self._da.attrs.get("slice_spacing") or 1.0)), step("y", ps[0]), step("x", ps[1]))

    def show(self, kind: str = "viewer", **kwargs: Any) -> Any:
        """Show the volume: an interactive viewer, orthogonal views or a montage.

        Parameters
        ----------
        kind
            ``"viewer"`` (ipywidgets: slice, window/level, presets, overlay),
            ``"orthogonal"`` (matplotlib axial / coronal / sagittal), ``"montage"`` or
            ``"histogram"`` (what :mod:`pacsnb.viz` registers).
        **kwargs
            Passed on to :class:`pacsnb.viz.SliceViewer`,
            :func:`pacsnb.viz.orthogonal` or :func:`pacsnb.viz.montage`.

        Returns
        -------
        pacsnb.viz.SliceViewer or matplotlib.figure.Figure

        Examples
        --------
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import pacsnb.viz
        >>> from pacsnb.cohort.volume import open_series
        >>> from pacsnb.samples import make_ct_series
        >>> fig = open_series(make_ct_series(n_slices=4, rows=16, columns=16)).dicom.show("orthogonal")
        >>> len(fig.axes)
        3
        """
        fn = _SHOW.get(kind)
        if fn is None:
            if not _SHOW:
                raise TransformError("no viewer is registered: import pacsnb.viz (pacsnb does it on import) to "
                                     "use .dicom.show()")
            raise TransformError(f"kind must be one of {sorted(_SHOW)}, not {kind!r}")
        return fn(self._da, **kwargs)


#: ``kind -> function(DataArray, **kwargs)``, filled by :mod:`pacsnb.viz` (a higher layer) on import.
_SHOW: dict[str, Any] = {}


def register_show(kind: str, fn: Any) -> None:
    """Register what ``vol.dicom.show(kind)`` calls (done by :mod:`pacsnb.viz` on import).

    Parameters
    ----------
    kind
        The name given to ``show``.
    fn
        A callable taking the DataArray and keyword arguments.

    Examples
    --------
    >>> register_show("shape", lambda da: da.shape)
    >>> import xarray as xr, numpy as np
    >>> xr.DataArray(np.zeros((2, 3)), dims=("y", "x")).dicom.show("shape")
    (2, 3)
    >>> del _SHOW["shape"]
    """
    _SHOW[kind] = fn
