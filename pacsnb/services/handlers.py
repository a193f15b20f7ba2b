"""Verification, Storage and Query/Retrieve SCP handlers bound to an :class:`~pacsnb.archive.Archive`.

:class:`ArchiveSCP` gives the handlers a :class:`~pacsnb.net.Server` needs to be a PACS:

* C-ECHO: success.
* C-STORE, for every storage SOP class: the data set is stored as received (any accepted
  transfer syntax, compressed ones too) with :meth:`Archive.store_raw`; Success is
  answered only once the file is synced and indexed. Archive errors become statuses:
  a duplicate refused by the archive's ``duplicates="reject"`` policy gets 0x0111
  (duplicate SOP instance), a full disk 0xA700 (out of resources, nothing stored),
  data that cannot be archived (no UIDs, not DICOM) 0xC000 (cannot understand).
* C-FIND in the Patient Root and Study Root information models, at every level, with
  the archive's PS3.4 C.2.2.2 matching (:meth:`Archive.find_iter`); the Modality Worklist
  model when a :class:`~pacsnb.services.worklist.Worklist` is given.
* C-MOVE and C-GET in both models: the matching instances' files are streamed as stored
  (the server performs the sub-operations, with pending counts, cancel and 0xB000 for
  partial failures; an unknown move destination gets 0xA801). With ``on_retrieve``
  transforms on the archive (a de-identifier, say) the instances are read, transformed
  and sent as data sets instead.

Examples
--------
>>> import tempfile
>>> import pacsnb.net as net
>>> from pacsnb.net import sync
>>> from pacsnb.archive import Archive
>>> from pacsnb.services.handlers import ArchiveSCP
>>> from pacsnb.samples import make_ct_series
>>> scp = ArchiveSCP(Archive(tempfile.mkdtemp()))
>>> server = sync.start(net.Server(scp.handlers(), port=0, ae_title="PACS"))
>>> with sync.connect("127.0.0.1", server.port, called_ae="PACS") as pacs:
...     statuses = pacs.store(make_ct_series(n_slices=2, rows=8, columns=8), progress=False)
...     studies = pacs.find("STUDY", PatientID="*", fields=["NumberOfStudyRelatedInstances"])
>>> sync.stop(server)
>>> statuses, studies.NumberOfStudyRelatedInstances.tolist()
([0, 0], [2])
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pacsnb.archive import Archive
from pacsnb.dicom import Dataset
from pacsnb.errors import (ArchiveError, ArchiveFullError, DuplicateInstanceError, InvalidInstanceError,
                           InvalidQueryError, PacsnbError)
from pacsnb.net.dimse import Status
from pacsnb.net.retrieve import GET_SOP_CLASSES, MOVE_SOP_CLASSES, WORKLIST_SOP_CLASS

__all__ = ["ArchiveSCP", "FIND_SOP_CLASSES", "QR_SOP_CLASSES", "STATUS_DUPLICATE", "STATUS_OUT_OF_RESOURCES",
           "STATUS_CANNOT_UNDERSTAND", "store_status"]

log = logging.getLogger(__name__)

#: Query/Retrieve FIND SOP classes, by information model.
FIND_SOP_CLASSES: dict[str, str] = {
    "patient": "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root Query/Retrieve Information Model - FIND
    "study": "1.2.840.10008.5.1.4.1.2.2.1",    # Study Root Query/Retrieve Information Model - FIND
}
#: Every Query/Retrieve SOP class served: FIND, MOVE, GET of both models.
QR_SOP_CLASSES: dict[str, tuple[str, ...]] = {
    "C-FIND": tuple(FIND_SOP_CLASSES.values()),
    "C-MOVE": tuple(MOVE_SOP_CLASSES.values()),
    "C-GET": tuple(GET_SOP_CLASSES.values()),
}
_MODEL = {uid: model for d in (FIND_SOP_CLASSES, MOVE_SOP_CLASSES, GET_SOP_CLASSES) for model, uid in d.items()}

#: C-STORE answer to a duplicate refused by the archive (PS3.7 C.4: duplicate SOP instance).
STATUS_DUPLICATE = 0x0111
#: C-STORE answer when the disk is full (PS3.4 B.2.3: Refused, Out of Resources).
STATUS_OUT_OF_RESOURCES = 0xA700
#: C-STORE answer to data that cannot be archived (PS3.4 B.2.3: Error, Cannot understand).
STATUS_CANNOT_UNDERSTAND = 0xC000


def _comment(err: BaseException) -> str:
    """An Error Comment (at most 64 ASCII characters) naming the error."""
    return str(err).encode("ascii", "replace").decode().replace("\\", "/")[:64].rstrip()


def store_status(err: BaseException) -> int:
    """The C-STORE status for an error of :meth:`Archive.store_raw`.

    Parameters
    ----------
    err
        What storing raised.

    Returns
    -------
    int
        0x0111 for a refused duplicate, 0xA700 for a full disk (or any other lack of
        space or resource), 0xC000 for data that cannot be archived, 0x0110 (processing
        failure) otherwise.

    Examples
    --------
    >>> from pacsnb.errors import ArchiveFullError, DuplicateInstanceError, InvalidInstanceError
    >>> from pacsnb.services.handlers import store_status
    >>> [hex(store_status(e)) for e in (DuplicateInstanceError("dup"), ArchiveFullError("full"),
    ...                                   InvalidInstanceError("bad"), RuntimeError("?"))]
    ['0x111', '0xa700', '0xc000', '0x110']
    """
    if isinstance(err, DuplicateInstanceError):
        return STATUS_DUPLICATE
    if isinstance(err, ArchiveFullError) or isinstance(err, MemoryError):
        return STATUS_OUT_OF_RESOURCES
    if isinstance(err, OSError) and getattr(err, "errno", None) in (28, 122):  # ENOSPC, EDQUOT
        return STATUS_OUT_OF_RESOURCES
    if isinstance(err, (InvalidInstanceError, ValueError)):
        return STATUS_CANNOT_UNDERSTAND
    return Status.PROCESSING_FAILURE


def _warm_up() -> None:
    """Load the element scanner (a numba kernel, from its cache) now, not at the first C-STORE."""
    try:
        from pacsnb.io import read_bytes

        read_bytes(b"\x08\x00\x60\x00\x02\x00\x00\x00OT", transfer_syntax="1.2.840.10008.1.2",
                   stop_before_pixels=True)
    except Exception:  # pragma: no cover - the first store loads it then
        log.debug("warming up the element scanner failed", exc_info=True)


class ArchiveSCP:
    """The Verification, Storage and Query/Retrieve handlers of a PACS over an archive.

    Parameters
    ----------
    archive
        The :class:`~pacsnb.archive.Archive` received instances go into and queries are
        answered from.
    worklist
        A :class:`~pacsnb.services.worklist.Worklist` answering Modality Worklist C-FINDs
        (``None``: the worklist model is not served).
    max_find_results
        At most this many answers to one C-FIND (more are left out and logged): bounds
        the memory a query over a huge archive takes.
    on_stored
        ``f(StoreResult)`` called after each instance stored through the network (the archive's own ``on_stored`` callbacks run too). Its exceptions are
        logged, never answered to the peer.

    Attributes
    ----------
    counts
        Live counters: ``stored``, ``duplicates``, ``store_failures``, ``finds``,
        ``find_answers``, ``retrieves``, ``instances_sent``.

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.archive import Archive
    >>> from pacsnb.services.handlers import ArchiveSCP
    >>> sorted(ArchiveSCP(Archive(tempfile.mkdtemp())).handlers())
    ['C-ECHO', 'C-FIND', 'C-GET', 'C-MOVE', 'C-STORE']
    """

    def __init__(self, archive: Archive, *, worklist: Any = None, max_find_results: int = 100_000,
                 on_stored: Callable[[Any], Any] | None = None) -> None:
        self.archive = archive
        self.worklist = worklist
        self.max_find_results = int(max_find_results)
        self.on_stored = on_stored
        self._lock = threading.Lock()
        _warm_up()
        self.counts: dict[str, int] = {"stored": 0, "duplicates": 0, "store_failures": 0, "finds": 0,
                                       "find_answers": 0, "retrieves": 0, "instances_sent": 0}

    def __repr__(self) -> str:
        return f"<ArchiveSCP {self.archive.root} stored={self.counts['stored']}>"

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def handlers(self) -> dict[str, Callable]:
        """``{service: handler}`` for a :class:`~pacsnb.net.Server`: C-ECHO, C-STORE, C-FIND,
        C-MOVE, C-GET."""
        return {"C-ECHO": self.on_echo, "C-STORE": self.on_store, "C-FIND": self.on_find,
                "C-MOVE": self.on_retrieve, "C-GET": self.on_retrieve}

    def sop_classes(self) -> dict[str, tuple[str, ...]]:
        """The SOP classes per service for :class:`~pacsnb.net.Server`'s ``sop_classes``
        (FIND: both Query/Retrieve models, plus Modality Worklist with a worklist)."""
        out = dict(QR_SOP_CLASSES)
        if self.worklist is not None:
            out["C-FIND"] = out["C-FIND"] + (WORKLIST_SOP_CLASS,)
        return out

    # --- the handlers -----------------------------------------------------------------------------

    def on_echo(self, request: Any) -> int:
        """C-ECHO: success."""
        return Status.SUCCESS

    def on_store(self, request: Any) -> Any:
        """C-STORE: store the data set as received; the status says what happened."""
        cmd = request.command
        data = request.data if request.data is not None else b""
        if self.archive.on_ingest and hasattr(data, "read"):  # decoded anyway: hand over the bytes
            data = request.data_bytes()
        try:
            result = self.archive.store_raw(data,
                                            request.transfer_syntax, sop_class_uid=cmd.affected_sop_class_uid,
                                            sop_instance_uid=cmd.affected_sop_instance_uid,
                                            source_ae_title=request.association.calling_ae_title)
        except (PacsnbError, OSError, ValueError, MemoryError) as err:
            status = store_status(err)
            self._count("duplicates" if status == STATUS_DUPLICATE else "store_failures")
            log.warning("C-STORE of %s from %s refused (0x%04X): %s", cmd.affected_sop_instance_uid,
                        request.association.calling_ae_title, status, err)
            return cmd.response(status, error_comment=_comment(err))
        self._count("stored")
        if self.on_stored is not None:
            try:
                self.on_stored(result)
            except Exception:
                log.exception("the on_stored callback failed for %s", result.sop_instance_uid)
        return Status.SUCCESS

    def on_find(self, request: Any) -> list[Dataset]:
        """C-FIND: the answers (Patient Root, Study Root, Modality Worklist).

        The answers are collected at once (in the worker thread the server runs the
        handler in, the thread that owns the index connection), at most
        ``max_find_results`` of them; the server then sends them one by one, stopping at
        a C-CANCEL.
        """
        self._count("finds")
        query = request.dataset
        if query is None:
            raise InvalidQueryError("the C-FIND request has no identifier")
        if request.sop_class_uid == WORKLIST_SOP_CLASS:
            if self.worklist is None:
                raise InvalidQueryError("no worklist is served here")
            answers = self.worklist.query(query)
        else:
            model = _MODEL.get(request.sop_class_uid, "study")
            level = str(query.get("QueryRetrieveLevel") or "").strip().upper()
            if model == "study" and level == "PATIENT":
                raise InvalidQueryError("the Study Root model has no PATIENT level; use the Patient Root model")
            answers = []
            for ds in self.archive.find_iter(level or None, query, model=model.upper()):
                answers.append(ds)
                if len(answers) >= self.max_find_results:
                    log.warning("C-FIND from %s: answers cut at %d (max_find_results)",
                                request.association.calling_ae_title, self.max_find_results)
                    break
        self._count("find_answers", len(answers))
        return answers

    def on_retrieve(self, request: Any) -> list[Any]:
        """C-MOVE and C-GET: the files (or, with ``on_retrieve`` transforms, the data sets) to send."""
        self._count("retrieves")
        query = request.dataset
        if query is None:
            raise InvalidQueryError(f"the {request.service} request has no identifier")
        records = self.archive.records(query)
        self._count("instances_sent", len(records))
        if self.archive.on_retrieve:
            return list(self._transformed(records))
        return [str(r.path) for r in records]

    def _transformed(self, records: list) -> Iterator[Dataset]:
        for rec in records:
            yield self.archive.read(rec.sop_instance_uid)
