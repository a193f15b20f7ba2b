"""Seeing volumes: matplotlib figures and an ipywidgets viewer for JupyterLab.

- :func:`montage`: a grid of slices;
- :func:`orthogonal`: axial, coronal and sagittal views through one point, each with the
  aspect of its pixel spacing (coordinates in mm);
- :func:`histogram`: the distribution of values (HU for CT);
- :class:`SliceViewer`: slice slider, window/level sliders and presets, an optional mask
  overlay, and the DICOM attributes of the slice shown.

Importing this package also makes ``vol.dicom.show()`` work (``"viewer"``,
``"orthogonal"``, ``"montage"``, ``"histogram"``).

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import pacsnb.viz
>>> from pacsnb.cohort import open_series
>>> from pacsnb.samples import make_ct_series
>>> vol = open_series(make_ct_series(n_slices=6, rows=16, columns=16))
>>> len(pacsnb.viz.montage(vol, ncols=3).axes), len(vol.dicom.show("orthogonal").axes)
(6, 3)
"""
from pacsnb.cohort.dataarray import register_show
from pacsnb.viz.plots import histogram, montage, orthogonal, window_limits
from pacsnb.viz.viewer import SliceViewer

__all__ = ["montage", "orthogonal", "histogram", "window_limits", "SliceViewer"]

register_show("viewer", SliceViewer)
register_show("orthogonal", orthogonal)
register_show("montage", montage)
register_show("histogram", histogram)
