"""pacsnb: a whole PACS inside a Jupyter notebook.

Read and write DICOM files (:func:`read`, :func:`write`, :func:`pixel_array`,
:func:`transcode`), scan folders into pandas (:func:`scan`), open series as xarray volumes
(:func:`open_series`, :func:`write_series`), anonymize cohorts (:func:`anonymize`), talk to
DICOM nodes (:func:`connect`, :class:`Server`) and run a PACS over an archive
(:class:`Archive`, :func:`serve`), all implemented from the DICOM standard.

Examples
--------
>>> import pacsnb as pn
>>> from pacsnb.samples import write_sample_file
>>> ds = pn.read(write_sample_file("/tmp/pacsnb-doc-init.dcm"))
>>> ds.Modality
'CT'
"""
from pacsnb._version import __version__
from pacsnb.dicom import DataElement, Dataset, Sequence, Tag, UID, generate_uid
from pacsnb.errors import InvalidDicomError, PacsnbError
from pacsnb.io import read, read_bytes, write
import pacsnb.pixels  # registers Dataset.pixel_array
from pacsnb.pixels import pixel_array
from pacsnb.pixels import transcode
from pacsnb.net import Server, connect
from pacsnb.deid import anonymize
from pacsnb.archive import Archive
from pacsnb.cohort import open_series, scan, write_series
import pacsnb.viz  # registers the viewers behind DataArray.dicom.show() (viz is above cohort)
from pacsnb.services import serve

__all__ = ["__version__", "read", "read_bytes", "write", "Dataset", "DataElement", "Sequence", "Tag", "UID",
           "generate_uid", "PacsnbError", "InvalidDicomError", "pixel_array", "transcode", "connect", "Server",
           "anonymize", "Archive", "serve", "scan", "open_series", "write_series"]
