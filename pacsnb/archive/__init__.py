"""The embedded archive: DICOM files on disk plus a SQLite index, queried as PS3.4 says.

:class:`Archive` stores instances atomically (temporary file, fsync, rename, index rows
in the same step), answers C-FIND matching (PS3.4 C.2.2.2) from the index, lists its
content as DataFrames, and keeps itself checkable (``verify``, ``reindex``, ``delete``,
``stats``). The storage and query/retrieve services of :mod:`pacsnb.services` are built
on :meth:`Archive.store_raw`, :meth:`Archive.find_iter` and :meth:`Archive.records`.

Examples
--------
>>> import tempfile
>>> from pacsnb.archive import Archive
>>> from pacsnb.samples import make_cohort
>>> archive = Archive(tempfile.mkdtemp())
>>> _ = archive.store_many(make_cohort(n_patients=2, series_per_study=1, slices=2, rows=16, columns=16),
...                        progress=False)
>>> sorted(archive.studies()[["PatientID", "ModalitiesInStudy"]].values.tolist())
[['PNB0000000', ['CT']], ['PNB0000001', ['MR']]]
"""
from pacsnb.archive.store import DUPLICATE_POLICIES, Archive, InstanceRecord, StoreResult, VerifyReport

__all__ = ["Archive", "StoreResult", "InstanceRecord", "VerifyReport", "DUPLICATE_POLICIES"]
