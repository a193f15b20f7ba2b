"""The services, layer 4: SCP handlers that bind :mod:`pacsnb.net` to :mod:`pacsnb.archive`.

* :func:`serve`: a whole PACS on pacsnb's service loop (``await pacsnb.serve("archive/")``),
  configured by keyword arguments or a TOML file (:mod:`pacsnb.services.config`).
* :class:`ArchiveSCP`: Verification, Storage and Patient/Study Root Query/Retrieve
  (FIND, MOVE, GET) handlers over an :class:`~pacsnb.archive.Archive`.
* :class:`Worklist`: the Modality Worklist SCP (items from JSON, CSV, a DataFrame or the
  archive's own ``worklist.json``).
* :class:`MPPS`: the Modality Performed Procedure Step SCP, its records as a DataFrame.
* :class:`StorageCommitment`: the Storage Commitment Push Model SCP.

Examples
--------
>>> import asyncio, tempfile
>>> import pacsnb.net as net
>>> from pacsnb.services import serve
>>> from pacsnb.samples import make_ct_series
>>> async def cell():
...     async with await serve(tempfile.mkdtemp(), port=0, ae_title="PACS") as pacs:
...         async with net.connect("127.0.0.1", pacs.port, called_ae="PACS") as a:
...             await a.store(make_ct_series(n_slices=2, rows=8, columns=8), progress=False)
...             return (await a.find("SERIES", Modality="CT", fields=["NumberOfSeriesRelatedInstances"])
...                     ).NumberOfSeriesRelatedInstances.tolist()
>>> asyncio.run(cell())
[2]
"""
from pacsnb.services.commitment import COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, StorageCommitment
from pacsnb.services.config import DEFAULT_CONFIG, ConfigError, ServeConfig, load_config
from pacsnb.services.handlers import ArchiveSCP, store_status
from pacsnb.services.mpps import MPPS, MPPS_SOP_CLASS
from pacsnb.services.serve import PacsServer, build, serve
from pacsnb.services.worklist import Worklist

__all__ = ["serve", "build", "PacsServer", "ArchiveSCP", "store_status", "Worklist", "MPPS", "MPPS_SOP_CLASS",
           "StorageCommitment", "COMMITMENT_SOP_CLASS", "COMMITMENT_SOP_INSTANCE", "ServeConfig", "ConfigError",
           "load_config", "DEFAULT_CONFIG"]
