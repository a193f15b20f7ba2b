"""An ipywidgets slice viewer for JupyterLab.

A slice slider, window centre / width sliders with the CT presets, an optional overlay (a
mask DataArray on the same grid, drawn in colour), and a table of the DICOM attributes of
the slice shown (read from its file when the volume has a ``path`` coordinate). The image
is rendered to PNG in the kernel, so the viewer needs no JavaScript beyond ipywidgets and
works on lazy (Dask) volumes, decoding only the slice shown.

Examples
--------
>>> from pacsnb.cohort import open_series
>>> from pacsnb.samples import make_ct_series
>>> from pacsnb.viz.viewer import SliceViewer
>>> v = SliceViewer(open_series(make_ct_series(n_slices=5, rows=16, columns=16)), window="brain")
>>> v.slider.value = 1
>>> v.index, v.displayed.shape, (v.center.value, v.width.value)
(1, (16, 16, 3), (40.0, 80.0))
"""
from __future__ import annotations

import html
import io
from typing import Any

import numpy as np

from pacsnb.cohort.dataarray import WINDOW_PRESETS
from pacsnb.errors import GeometryError
from pacsnb.viz.plots import window_limits

__all__ = ["SliceViewer"]

#: Attributes listed for the slice shown, when it has a file.
SLICE_KEYWORDS = ("InstanceNumber", "SOPInstanceUID", "ImagePositionPatient", "SliceLocation", "SliceThickness",
                  "AcquisitionNumber", "AcquisitionTime", "ContentTime", "RescaleSlope", "RescaleIntercept",
                  "WindowCenter", "WindowWidth", "ImageType", "ConvolutionKernel", "EchoTime", "RepetitionTime")

_SERIES = "(series)"


class SliceViewer:
    """Scroll through a ``(z, y, x)`` volume with window/level, presets and an overlay.

    Parameters
    ----------
    da
        The volume (numpy- or Dask-backed).
    overlay
        A DataArray of the same ``(z, y, x)`` shape (a mask: non-zero voxels are drawn).
    window
        The initial window: ``(center, width)``, a preset name or ``None`` (the series'
        own, else the 1st-99th percentiles).
    color
        The overlay colour, RGB 0-255.
    alpha
        The overlay opacity.
    scale
        Screen pixels per millimetre of the image.

    Attributes
    ----------
    slider, center, width, preset, show_overlay
        The controls (``ipywidgets``); set their ``value`` to drive the viewer from code.
    image, info
        The ``ipywidgets.Image`` shown and the ``HTML`` attribute table.
    widget
        The whole viewer (a ``VBox``); the viewer displays itself in a notebook.

    Raises
    ------
    GeometryError
        When ``da`` is not ``(z, y, x)`` or the overlay is not on its grid.

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.cohort import open_series
    >>> from pacsnb.samples import make_ct_series
    >>> vol = open_series(make_ct_series(n_slices=3, rows=8, columns=8))
    >>> v = SliceViewer(vol, overlay=vol > 100)
    >>> v.preset.value = "bone"
    >>> v.center.value, v.width.value
    (400.0, 1800.0)
    """

    def __init__(self, da: Any, overlay: Any = None, *, window: Any = None, color: tuple[int, int, int] = (255, 60, 0),
                 alpha: float = 0.4, scale: float = 3.0) -> None:
        import ipywidgets as W

        if tuple(da.dims) != ("z", "y", "x"):
            raise GeometryError(f"SliceViewer shows (z, y, x) volumes; got dims {da.dims}")
        if overlay is not None and tuple(overlay.shape) != tuple(da.shape):
            raise GeometryError(f"the overlay has shape {tuple(overlay.shape)}, the volume {tuple(da.shape)}: "
                                "it must be on the same grid")
        self.da = da
        self.overlay = overlay
        self.color = np.asarray(color, np.float32)
        self.alpha = float(alpha)
        self._headers: dict[str, Any] = {}
        lo, hi = window_limits(da, window)
        c0, w0 = (lo + hi) / 2.0, max(hi - lo, 1.0)
        n = da.sizes["z"]
        self.slider = W.IntSlider(value=n // 2, min=0, max=n - 1, description="slice", continuous_update=True)
        self.center = W.FloatSlider(value=c0, min=min(-1500.0, c0), max=max(3000.0, c0), step=1.0,
                                    description="center")
        self.width = W.FloatSlider(value=w0, min=1.0, max=max(4000.0, w0), step=1.0, description="width")
        presets = [_SERIES] + sorted(WINDOW_PRESETS)
        self.preset = W.Dropdown(options=presets, value=_SERIES, description="preset")
        self.show_overlay = W.Checkbox(value=overlay is not None, description="overlay", disabled=overlay is None)
        ps = [float(np.median(np.diff(np.asarray(da[d], float)))) if d in da.coords and da.sizes[d] > 1 else 1.0
              for d in ("y", "x")]
        height, width = da.sizes["y"] * ps[0] * scale, da.sizes["x"] * ps[1] * scale
        self.image = W.Image(format="png", layout=W.Layout(width=f"{width:.0f}px", height=f"{height:.0f}px"))
        self.info = W.HTML()
        self._updating = False
        for w in (self.slider, self.center, self.width, self.show_overlay):
            w.observe(self._on_change, names="value")
        self.preset.observe(self._on_preset, names="value")
        controls = W.VBox([self.slider, self.center, self.width, self.preset, self.show_overlay])
        self.widget = W.VBox([W.HBox([self.image, self.info]), controls])
        self.displayed: np.ndarray = np.zeros((0, 0, 3), np.uint8)
        self.render()

    # -- state ---------------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        """The index of the slice shown."""
        return int(self.slider.value)

    @property
    def window(self) -> tuple[float, float]:
        """The window shown: ``(center, width)``."""
        return float(self.center.value), float(self.width.value)

    def slice_attributes(self) -> dict[str, Any]:
        """The DICOM attributes of the slice shown: its coordinates, and more from its file.

        Returns
        -------
        dict
            ``z`` (mm), the per-slice coordinates (Instance Number, SOP Instance UID, ...)
            and, when the slice has a file, :data:`SLICE_KEYWORDS` read from its header.
        """
        k = self.index
        out: dict[str, Any] = {"z (mm)": float(self.da.z[k]) if "z" in self.da.coords else k}
        for name, coord in self.da.coords.items():
            if coord.dims == ("z",) and name != "z":
                v = coord.values[k]
                out[name] = v.item() if hasattr(v, "item") else v
        path = out.get("path")
        if isinstance(path, str):
            h = self._headers.get(path)
            if h is None:
                from pacsnb.io.reader import read

                try:
                    h = read(path, stop_before_pixels=True)
                except (OSError, ValueError):
                    h = None
                self._headers[path] = h
            if h is not None:
                for kw in SLICE_KEYWORDS:
                    v = h.get(kw)
                    if v is not None and kw not in out:
                        out[kw] = "\\".join(str(x) for x in v) if isinstance(v, list) else str(v)
        return out

    # -- events ----------------------------------------------------------------------------------------
    def _on_change(self, change: dict) -> None:
        if not self._updating:
            self.render()

    def _on_preset(self, change: dict) -> None:
        name = change["new"]
        if name == _SERIES:
            lo, hi = window_limits(self.da, None)
            c, w = (lo + hi) / 2.0, max(hi - lo, 1.0)
        else:
            c, w = WINDOW_PRESETS[name]
        self._updating = True
        try:
            self.center.value, self.width.value = float(c), float(w)
        finally:
            self._updating = False
        self.render()

    def render(self) -> None:
        """Redraw the image and the attribute table from the controls' values."""
        k = self.index
        c, w = self.window
        plane = np.asarray(self.da.isel(z=k).values, dtype=np.float32)
        lo = c - w / 2.0
        grey = np.clip((plane - lo) / w, 0.0, 1.0) * 255.0
        rgb = np.repeat(grey[..., None], 3, axis=2)
        if self.overlay is not None and self.show_overlay.value:
            mask = np.asarray(self.overlay.isel(z=k).values) != 0 if hasattr(self.overlay, "isel") else \
                np.asarray(self.overlay[k]) != 0
            rgb[mask] = (1.0 - self.alpha) * rgb[mask] + self.alpha * self.color
        self.displayed = np.rint(rgb).astype(np.uint8)
        self.image.value = _png(self.displayed)
        rows = "".join(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(str(v))}</td></tr>"
                       for key, v in self.slice_attributes().items())
        self.info.value = f"<table style='font-size:11px'>{rows}</table>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _png(rgb: np.ndarray) -> bytes:
    import matplotlib.image

    buf = io.BytesIO()
    matplotlib.image.imsave(buf, rgb, format="png")
    return buf.getvalue()
