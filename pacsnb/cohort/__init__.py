"""Cohorts as pandas tables and xarray volumes, locally or on Dask.

- :func:`scan`: a folder of DICOM files to a DataFrame, one row per instance (headers
  only, many files per numba call, a process pool or Dask when asked, incremental with a
  parquet cache);
- ``df.dicom.patients()``, ``.studies()``, ``.series()``: one row per entity, with
  counts, modalities, date spans and sizes (:mod:`pacsnb.cohort.accessor`).

Examples
--------
>>> import pacsnb.cohort
>>> from pacsnb.samples import make_ct_series, write_cohort
>>> _ = write_cohort("/tmp/pacsnb-doc-cohort", make_ct_series(n_slices=2, rows=16, columns=16), progress=False)
>>> df = pacsnb.cohort.scan("/tmp/pacsnb-doc-cohort", progress=False)
>>> df.dicom.series()[["Modality", "n_instances"]].values.tolist()
[['CT', 2]]
"""
from pacsnb.cohort import accessor as _accessor  # noqa: F401 - registers the DataFrame .dicom accessor
from pacsnb.cohort.accessor import DicomFrameAccessor
from pacsnb.cohort.table import CACHE_NAME, DEFAULT_COLUMNS, ScanWarning, list_files, scan, shutdown_pool

from pacsnb.cohort import dataarray as _dataarray  # noqa: F401 - registers the DataArray .dicom accessor
from pacsnb.cohort.dataarray import WINDOW_PRESETS, DicomArrayAccessor
from pacsnb.cohort.geometry import GeometryWarning
from pacsnb.cohort.volume import open_series
from pacsnb.cohort.write import write_series

__all__ = ["scan", "list_files", "shutdown_pool", "DEFAULT_COLUMNS", "CACHE_NAME", "ScanWarning",
           "DicomFrameAccessor",
           "open_series", "write_series", "GeometryWarning", "DicomArrayAccessor", "WINDOW_PRESETS"]
