"""An xarray backend: ``xarray.open_dataset(path, engine="pacsnb")``.

``path`` is a folder holding one series, or one file (an enhanced multi-frame image). The
Dataset has one variable, ``image``, with the dims, coordinates and attributes of
:func:`~pacsnb.cohort.volume.open_series`; it is lazily indexed, so only the slices that
are selected are read and decoded, and ``chunks=`` gives a Dask array as usual with
xarray. Backend arguments: ``series_uid`` (select one series of several) and ``rescale``.

Examples
--------
>>> import tempfile, xarray as xr
>>> from pacsnb.cohort.backend import PacsnbBackendEntrypoint
>>> from pacsnb.samples import iter_ct_series, write_cohort
>>> folder = tempfile.mkdtemp(prefix="pacsnb-doc-")
>>> _ = write_cohort(folder, iter_ct_series(n_slices=4, rows=16, columns=16), layout="flat", progress=False)
>>> ds = xr.open_dataset(folder, engine=PacsnbBackendEntrypoint)
>>> ds.image.dims, ds.image.isel(z=2).shape
(('z', 'y', 'x'), (16, 16))
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from pacsnb.cohort.volume import SeriesPlan, plan_series

__all__ = ["PacsnbBackendEntrypoint"]


class _SeriesArray(BackendArray):
    """The pixels of a planned series, read slice by slice on indexing."""

    def __init__(self, plan: SeriesPlan) -> None:
        self.plan = plan
        self.shape = plan.shape
        self.dtype = plan.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._raw)

    def _raw(self, key: tuple) -> np.ndarray:
        lead = self.plan.lead_shape
        flat = np.arange(int(np.prod(lead))).reshape(lead)
        sel = flat[key[: len(lead)]]
        data = self.plan.load(np.atleast_1d(sel).ravel()).reshape(np.shape(sel) + tuple(self.plan.plane_shape))
        return data[(Ellipsis,) + tuple(key[len(lead):])] if len(key) > len(lead) else data


def _looks_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


class PacsnbBackendEntrypoint(BackendEntrypoint):
    """The ``"pacsnb"`` engine of ``xarray.open_dataset``: a DICOM series as a Dataset.

    Examples
    --------
    >>> PacsnbBackendEntrypoint().guess_can_open("ct.dcm"), PacsnbBackendEntrypoint().guess_can_open("x.nc")
    (True, False)
    """

    description = "Open a DICOM series (folder or enhanced multi-frame file) with pacsnb"
    url = "https://github.com/pacsnb/pacsnb"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "series_uid", "rescale")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Any = None, series_uid: str | None = None,
                     rescale: bool = True) -> xr.Dataset:
        """Open a folder (one series) or a file as a Dataset with a lazy ``image`` variable.

        Parameters
        ----------
        filename_or_obj
            A folder, a file, or a list of files.
        drop_variables
            Variable names to leave out (``"image"``, or coordinate names).
        series_uid
            Select one series when the folder holds several.
        rescale
            As for :func:`~pacsnb.cohort.volume.open_series`.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> from pacsnb.samples import make_ct_series
        >>> ds = PacsnbBackendEntrypoint().open_dataset(make_ct_series(n_slices=2, rows=8, columns=8))
        >>> list(ds.data_vars)
        ['image']
        """
        [plan] = plan_series(filename_or_obj, rescale=rescale, series_uid=series_uid, progress=False)
        var = xr.Variable(plan.dims, indexing.LazilyIndexedArray(_SeriesArray(plan)))
        ds = xr.Dataset({"image": var}, coords=plan.coords)
        ds["image"].attrs.update(plan.attrs)
        ds.attrs.update({k: v for k, v in plan.attrs.items() if k in ("Modality", "SeriesInstanceUID",
                                                                     "StudyInstanceUID", "SeriesDescription")})
        if drop_variables:
            drop = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            ds = ds.drop_vars([d for d in drop if d in ds.variables])
        return ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """A ``.dcm`` / ``.dicom`` name, a file with the ``DICM`` prefix, or a folder of them.

        Examples
        --------
        >>> PacsnbBackendEntrypoint().guess_can_open("/no/such/series.dicom")
        True
        """
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        p = os.fspath(filename_or_obj)
        if p.lower().endswith((".dcm", ".dicom")):
            return True
        if os.path.isfile(p):
            return _looks_dicom(p)
        return False
