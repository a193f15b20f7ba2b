"""C-MOVE, C-GET and the N-services, on both sides of an association.

The SCU side is part of :class:`~pacsnb.net.Association` (``move``, ``get``, ``n_get``,
``n_set``, ``n_create``, ``n_action``, ``n_delete``, ``n_event_report``); the SCP side
is part of :class:`~pacsnb.net.Server` (``"C-MOVE"`` and ``"C-GET"`` handlers return what
to send; the server performs the C-STORE sub-operations). This module holds what they
share: the summary of a retrieve (:class:`RetrieveResult`), the answer to an N-service
request (:class:`NResult`), the SOP classes, and the explanation of failure statuses
(:func:`explain_status`), so that a refused C-MOVE says what the remote PACS needs
configured instead of printing a hexadecimal code.

C-GET vs C-MOVE
---------------
``get`` receives the images on the association that asked for them (the peer sends
C-STORE sub-operations back, which needs SCP role selection for the storage SOP classes,
proposed by :func:`~pacsnb.net.connect` whenever a GET SOP class is proposed). It needs no
configuration on the PACS. ``move`` asks the PACS to open a *new* association to a
destination AE title it knows by host and port; ``move(dest="ME", into=...)`` starts a
temporary storage SCP here, under our AE title, for the time of the move.

Examples
--------
>>> import asyncio, tempfile, os
>>> import pacsnb.net as net
>>> from pacsnb.net.memory import MemoryQR
>>> from pacsnb.samples import make_ct_series
>>> qr = MemoryQR(make_ct_series(n_slices=3, rows=8, columns=8))
>>> out = tempfile.mkdtemp(prefix="pacsnb-doc-retrieve-")
>>> async def demo():
...     async with net.Server(qr.handlers(), port=0, ae_title="QR") as server:
...         async with net.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
...             studies = await pacs.find("STUDY", PatientID="*")
...             return await pacs.get("STUDY", into=out, progress=False,
...                                   StudyInstanceUID=studies.StudyInstanceUID[0])
>>> result = asyncio.run(demo())
>>> result.completed, result.failed, len(os.listdir(out))
(3, 0, 3)
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from pacsnb.dicom import Dataset
from pacsnb.dicom import dictionary as _dictionary
from pacsnb.errors import AssociationAborted, DicomValueError, DimseError, NetworkError
from pacsnb.io import encode_dataset, read_bytes
from pacsnb.net.dimse import (CGetRQ, CGetRSP, CMoveRQ, CMoveRSP, CStoreRQ, CStoreRSP, Message,
                              NActionRQ, NCreateRQ, NDeleteRQ, NEventReportRQ, NGetRQ, NSetRQ,
                              Priority, Request, Response, Spool, Status, StatusCategory, status_category)
from pacsnb.net.loop import bridge
from pacsnb.net.negotiation import NegotiatedContext, find_context
from pacsnb.net.statemachine import ReleaseIndication
from pacsnb.net.tls import TLSConfig

__all__ = ["RetrieveResult", "NResult", "EventReport", "MOVE_SOP_CLASSES", "GET_SOP_CLASSES", "WORKLIST_SOP_CLASS",
           "DEFAULT_MOVE_PORT", "explain_status", "safe_filename", "retrieve_identifier"]

log = logging.getLogger(__name__)

#: Query/Retrieve MOVE SOP classes of :meth:`Association.move`, by information model.
MOVE_SOP_CLASSES: dict[str, str] = {
    "patient": "1.2.840.10008.5.1.4.1.2.1.2",  # Patient Root Query/Retrieve Information Model - MOVE
    "study": "1.2.840.10008.5.1.4.1.2.2.2",    # Study Root Query/Retrieve Information Model - MOVE
}
#: Query/Retrieve GET SOP classes of :meth:`Association.get`, by information model.
GET_SOP_CLASSES: dict[str, str] = {
    "patient": "1.2.840.10008.5.1.4.1.2.1.3",  # Patient Root Query/Retrieve Information Model - GET
    "study": "1.2.840.10008.5.1.4.1.2.2.3",    # Study Root Query/Retrieve Information Model - GET
}
#: Modality Worklist Information Model - FIND (``find(..., model="worklist")``).
WORKLIST_SOP_CLASS = "1.2.840.10008.5.1.4.31"
#: The port of the temporary storage SCP of ``move(dest="ME")`` unless told otherwise.
DEFAULT_MOVE_PORT = 11112

_UNIQUE_KEYS = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
                "IMAGE": "SOPInstanceUID"}
_LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_FAILED_LIST = "FailedSOPInstanceUIDList"


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RetrieveResult:
    """What a C-MOVE or C-GET did.

    Attributes
    ----------
    status
        The final response's status: 0x0000 success, 0xB000 some sub-operations failed,
        0xFE00 cancelled (a failure status raises :class:`~pacsnb.errors.DimseError`
        instead, with this object as its ``result``).
    completed, failed, warning
        The numbers of C-STORE sub-operations that succeeded, failed, or succeeded with a
        warning, as the peer counted them (our own count when it did not say).
    remaining
        Sub-operations not performed (after a cancel).
    failed_sop_instance_uids
        The SOP Instance UIDs the peer reported as failed.
    paths
        The files written here (``get(into=folder)``, ``move(dest="ME", into=folder)``).
    received
        The instances received here (written or given to the callback).

    Examples
    --------
    >>> from pacsnb.net.retrieve import RetrieveResult
    >>> r = RetrieveResult(0xB000, completed=9, failed=1, failed_sop_instance_uids=("1.2.3",))
    >>> r.ok, r.cancelled, r
    (False, False, RetrieveResult(status=0xB000, completed=9, failed=1, warning=0, remaining=0, received=0, failed_sop_instance_uids=('1.2.3',)))
    """

    status: int
    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int = 0
    failed_sop_instance_uids: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    received: int = 0

    @property
    def ok(self) -> bool:
        """Whether everything was retrieved (success status, nothing failed)."""
        return self.status == Status.SUCCESS and not self.failed

    @property
    def cancelled(self) -> bool:
        """Whether the retrieve was cancelled (status 0xFE00)."""
        return self.status == Status.CANCEL

    def __repr__(self) -> str:
        text = (f"RetrieveResult(status=0x{self.status:04X}, completed={self.completed}, failed={self.failed}, "
                f"warning={self.warning}, remaining={self.remaining}, received={self.received}")
        if self.failed_sop_instance_uids:
            text += f", failed_sop_instance_uids={self.failed_sop_instance_uids!r}"
        if self.paths:
            text += f", paths=[{len(self.paths)} files]"
        return text + ")"


@dataclass(frozen=True, slots=True)
class EventReport:
    """An N-EVENT-REPORT the peer sent on our association (answered with success), as
    :meth:`Association.event_report` returns it.

    Attributes
    ----------
    command
        The :class:`~pacsnb.net.dimse.NEventReportRQ` (Event Type ID, Affected SOP Class
        and Instance UIDs).
    dataset
        The Event Information, decoded (``None`` when there was none).

    Examples
    --------
    >>> from pacsnb.net.dimse import NEventReportRQ
    >>> report = EventReport(NEventReportRQ(message_id=1, affected_sop_class_uid="1.2.840.10008.1.20.1",
    ...                      affected_sop_instance_uid="1.2.840.10008.1.20.1.1", event_type_id=1), None)
    >>> report.event_type_id, report.sop_class_uid
    (1, '1.2.840.10008.1.20.1')
    """

    command: Any
    dataset: Dataset | None

    @property
    def event_type_id(self) -> int | None:
        """The Event Type ID (for Storage Commitment: 1 all committed, 2 some failed)."""
        return self.command.event_type_id

    @property
    def sop_class_uid(self) -> str | None:
        """The Affected SOP Class UID."""
        return self.command.affected_sop_class_uid

    @property
    def sop_instance_uid(self) -> str | None:
        """The Affected SOP Instance UID."""
        return self.command.affected_sop_instance_uid


@dataclass(frozen=True, slots=True)
class NResult:
    """The answer to an N-service request (N-GET, N-SET, N-CREATE, N-ACTION, N-DELETE,
    N-EVENT-REPORT).

    Attributes
    ----------
    status
        The response's status (0 success, or a warning; failures raise
        :class:`~pacsnb.errors.DimseError`).
    sop_class_uid, sop_instance_uid
        The Affected SOP Class and Instance UIDs of the response (for N-CREATE, the
        instance the performer created).
    dataset
        The data set of the response (attribute list, action or event reply), or ``None``.
    response
        The response command itself.

    Examples
    --------
    >>> from pacsnb.net.retrieve import NResult
    >>> NResult(0, "1.2.840.10008.3.1.2.3.3", "1.2.3").sop_instance_uid
    '1.2.3'
    """

    status: int
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    dataset: Dataset | None = None
    response: Response | None = None


# --- explanations -------------------------------------------------------------------------------

def explain_status(service: str, status: int, *, where: str = "the peer", comment: str | None = None,
                   dest: str | None = None, local: tuple[str, int] | None = None) -> str:
    """A sentence saying what a DIMSE failure status means and what to do about it.

    Parameters
    ----------
    service
        ``"C-MOVE"``, ``"C-GET"``, ``"C-FIND"``, ``"N-GET"``, ...
    status
        The status of the final response.
    where
        The peer, for the message (``"PACS at host:port"``).
    comment
        The response's Error Comment, quoted when given.
    dest
        The move destination AE title (C-MOVE).
    local
        ``(host, port)`` of our temporary storage SCP when the destination is us.

    Examples
    --------
    >>> from pacsnb.net.retrieve import explain_status
    >>> print(explain_status("C-MOVE", 0xA801, where="PACS at 10.0.0.5:104", dest="PACSNB",
    ...                      local=("0.0.0.0", 11112)))  # doctest: +NORMALIZE_WHITESPACE
    C-MOVE refused by PACS at 10.0.0.5:104: move destination unknown: the PACS does not know
    AE title 'PACSNB': ask its administrator to add PACSNB with the host name or IP address
    of this machine and port 11112 (the storage SCP started for this move), or use get(),
    which needs no configuration on the PACS
    >>> explain_status("C-FIND", 0xC001, where="QR", comment="bad key")
    "C-FIND refused by QR: unable to process (status 0xC001): the peer could not process the request; its error comment says 'bad key'"
    """
    category = status_category(status)
    dest_text = repr(dest) if dest else "the destination"
    if status == 0xA801:
        if local is not None:
            where_dest = f"the host name or IP address of this machine and port {local[1]} (the storage SCP " \
                         f"started for this move)"
        else:
            where_dest = f"the host and port where {dest or 'the destination'} listens"
        text = (f"move destination unknown: the PACS does not know AE title {dest_text}: ask its administrator "
                f"to add {dest or 'it'} with {where_dest}, or use get(), which needs no configuration on the PACS")
    elif status == 0xA702:
        text = (f"unable to perform sub-operations: the PACS could not send the images to {dest_text}; "
                f"check that the address it has for {dest or 'the destination'} reaches a running storage SCP "
                f"(host, port, firewall) that accepts its SOP classes") if service == "C-MOVE" else \
            "unable to perform sub-operations: the peer could not send the images back on this association " \
            "(check the storage SOP classes and transfer syntaxes proposed with SCP role)"
    elif status in (0xA700, 0xA701) or (status & 0xFF00) == 0xA700:
        text = "out of resources: the peer cannot handle the request now (a narrower query may help)"
    elif status == 0xA900:
        text = ("identifier does not match SOP class: check the level and keys (the level's unique key, "
                "e.g. StudyInstanceUID at STUDY level, must be given; PATIENT level needs model='patient')")
    elif status == Status.SOP_CLASS_NOT_SUPPORTED:
        text = f"SOP class not supported: the peer does not offer {service} for this information model"
    elif status == Status.NOT_AUTHORIZED:
        text = "not authorized: the peer refuses this user or AE title (check identity= and ae_title=)"
    elif status == Status.UNRECOGNIZED_OPERATION:
        text = f"unrecognized operation: the peer has no {service} service here"
    elif status in (Status.NO_SUCH_SOP_INSTANCE, Status.INVALID_SOP_INSTANCE):
        text = "no such SOP instance: the peer does not know the SOP Instance UID given"
    elif status == Status.DUPLICATE_SOP_INSTANCE:
        text = "duplicate SOP instance: an instance with this SOP Instance UID exists already"
    elif status == Status.PROCESSING_FAILURE:
        text = "processing failure: the peer failed while performing the request"
    elif (status & 0xF000) == 0xC000:
        text = f"unable to process (status 0x{status:04X}): the peer could not process the request"
    else:
        try:
            name = Status(status).name.lower().replace("_", " ")
        except ValueError:
            name = f"{category.value} status 0x{status:04X}"
        text = name
    if comment:
        text += f"; its error comment says {comment.strip()!r}"
    verb = "refused by" if category is StatusCategory.FAILURE else "answered by"
    return f"{service} {verb} {where}: {text}"


def safe_filename(sop_instance_uid: str | None, suffix: str = ".dcm") -> str:
    """A file name for a received instance: its SOP Instance UID, made harmless.

    A valid UID (digits and dots, at most 64 characters) is used as it is. Anything else
    becomes letters, digits and ``_`` followed by a hash of the original value, so that a
    hostile UID can never leave the output folder nor collide with another one's file.

    Examples
    --------
    >>> from pacsnb.net.retrieve import safe_filename
    >>> safe_filename("1.2.840.113619.2.55.3")
    '1.2.840.113619.2.55.3.dcm'
    >>> name = safe_filename("../../etc/passwd")
    >>> "/" in name, name.startswith("invalid-uid-etc_passwd-")
    (False, True)
    """
    uid = sop_instance_uid or ""
    if _UID.match(uid) and len(uid) <= 64:
        return uid + suffix
    readable = re.sub(r"[^0-9A-Za-z]+", "_", uid).strip("_")[:48]
    digest = hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"invalid-uid-{readable + '-' if readable else ''}{digest}{suffix}"


# --- identifiers --------------------------------------------------------------------------------

def retrieve_identifier(level: str, model: str, keys: Mapping[str, Any],
                        sop_classes: Mapping[str, str] = MOVE_SOP_CLASSES) -> tuple[str, str, Dataset]:
    """The SOP class, level and identifier of a C-MOVE or C-GET.

    The level's unique key must be given (a UID, or a list of UIDs: several are sent as
    a UID list), and so must the unique keys of the levels above it in the Patient Root
    model. Other keys are sent as given (relational retrieve, if the peer supports it).

    Raises
    ------
    DicomValueError
        An unknown level, model or keyword, or a missing unique key.

    Examples
    --------
    >>> from pacsnb.net.retrieve import retrieve_identifier
    >>> sop, level, ds = retrieve_identifier("series", "study", {"StudyInstanceUID": "1.2",
    ...                                      "SeriesInstanceUID": ["1.2.3", "1.2.4"]})
    >>> sop, level, list(ds.SeriesInstanceUID)
    ('1.2.840.10008.5.1.4.1.2.2.2', 'SERIES', ['1.2.3', '1.2.4'])
    >>> retrieve_identifier("STUDY", "study", {"PatientName": "DOE*"})
    Traceback (most recent call last):
    ...
    pacsnb.errors.DicomValueError: a retrieve at STUDY level needs StudyInstanceUID: find the studies first (find('STUDY', ...)) and pass their StudyInstanceUID (one, or a list)
    """
    sop_class = sop_classes.get(str(model).lower())
    if sop_class is None:
        raise DicomValueError(f"model must be one of {sorted(sop_classes)}, not {model!r}")
    level = str(level).upper()
    if level not in _UNIQUE_KEYS:
        raise DicomValueError(f"level must be one of {list(_LEVELS)}, not {level!r}")
    if level == "PATIENT" and model.lower() != "patient":
        raise DicomValueError("the Study Root model has no PATIENT level: use model='patient'")
    unique = _UNIQUE_KEYS[level]
    if keys.get(unique) in (None, "", [], ()):
        plural = {"PATIENT": "patients", "STUDY": "studies", "SERIES": "series", "IMAGE": "images"}[level]
        raise DicomValueError(f"a retrieve at {level} level needs {unique}: find the {plural} first "
                              f"(find({level!r}, ...)) and pass their {unique} (one, or a list)")
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for kw, value in keys.items():
        if _dictionary.tag_for_keyword(kw) is None:
            raise DicomValueError(f"{kw!r} is not a DICOM keyword")
        if not isinstance(value, str) and hasattr(value, "tolist"):  # a pandas Series or numpy array
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            value = [str(v) for v in value]
        setattr(ds, kw, value)
    return sop_class, level, ds


# --- receiving C-STORE sub-operations -----------------------------------------------------------

class _Receiver:
    """Where received instances go: files in a folder, or a callback per data set."""

    def __init__(self, into: Any) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.count = 0
        if callable(into):
            self.callback: Callable | None = into
            self.folder: Path | None = None
        else:
            self.callback = None
            self.folder = Path(into)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._resolved = self.folder.resolve()

    @property
    def is_async(self) -> bool:
        return self.callback is not None and inspect.iscoroutinefunction(self.callback)

    def __call__(self, request) -> int:
        """Store one request (runs in a worker thread); the C-STORE status."""
        status = 0
        if self.folder is not None:
            target = self.folder / safe_filename(request.sop_instance_uid)
            if target.resolve().parent != self._resolved:  # cannot happen: never write elsewhere
                raise NetworkError(f"refusing to write {target} outside {self.folder}")
            request.save(target)
            with self.lock:
                self.paths.append(str(target))
        else:
            result = self.callback(request.dataset)
            status = _status_of(result)
        with self.lock:
            self.count += 1
        return status

    async def receive(self, request) -> int:
        if self.is_async:
            result = await self.callback(request.dataset)
            with self.lock:
                self.count += 1
            return _status_of(result)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self, request)


def _status_of(result: Any) -> int:
    if result is None or result is True:
        return 0
    if result is False:
        return Status.OUT_OF_RESOURCES
    return int(result)


def _spool_sink(context_id: int, command: Any):
    """The SCU connection's data set sink: C-STORE sub-operations of a C-GET are spooled to a
    temporary file beyond 8 MiB instead of held in memory."""
    if isinstance(command, CStoreRQ):
        return Spool(max_size=8 << 20)
    return None


def _failed_uids(msg: Message, transfer_syntax: str | None) -> tuple[str, ...]:
    if msg.data is None:
        return ()
    try:
        data = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
        ds = read_bytes(data, transfer_syntax=transfer_syntax or "1.2.840.10008.1.2")
        value = ds.get(_FAILED_LIST)
    except Exception as err:  # a malformed optional data set: say so, keep the counts
        log.warning("unreadable data set in a retrieve response ignored: %s", err)
        return ()
    if value is None or value == "":
        return ()
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)


# --- the SCU side: methods of Association ----------------------------------------------------------

class QueryRetrieveSCU:
    """C-MOVE, C-GET and N-service methods of :class:`~pacsnb.net.Association` (a mixin).

    Examples
    --------
    >>> from pacsnb.net import Association
    >>> from pacsnb.net.retrieve import QueryRetrieveSCU
    >>> issubclass(Association, QueryRetrieveSCU)
    True
    """

    # --- user identity ----------------------------------------------------------------------

    @property
    def identity_response(self) -> bytes | None:
        """The peer's positive user identity response (PS3.7 D.3.3.7.2): the server
        response bytes (empty for username identities), or ``None`` if it sent none."""
        ui = getattr(self.response, "user_information", None)
        ident = getattr(ui, "user_identity", None) if ui is not None else None
        return bytes(ident.server_response) if ident is not None else None

    # --- plumbing ---------------------------------------------------------------------------

    def _context_for(self, sop_class: str, service: str, what: str = "") -> NegotiatedContext:
        ctx = next((c for c in self.accepted_contexts if c.abstract_syntax == sop_class), None)
        if ctx is None:
            raise NetworkError(f"{self.where} did not accept {what or 'the SOP class'} ({sop_class}) needed "
                               f"for {service}; propose it in connect(contexts=...)")
        return ctx

    async def _next_message(self, message_id: int, what: str) -> Message:
        from pacsnb.net.scu import _aborted
        try:
            ev = await self._conn.next_event(self.dimse_timeout)
        except asyncio.TimeoutError:
            self._conn.abort()
            raise NetworkError(f"no {what} response from {self.where} within {self.dimse_timeout} s "
                               f"(message ID {message_id}); the association was aborted") from None
        if isinstance(ev, Message):
            return ev
        if isinstance(ev, ReleaseIndication):
            raise AssociationAborted(f"{self.where} asked to release the association while a {what} was "
                                     f"outstanding")
        raise _aborted(ev, self.where)

    # --- C-MOVE -----------------------------------------------------------------------------

    async def move(self, dest: str | None, level: str, model: str = "study", *, into: Any = None,
                   port: int = DEFAULT_MOVE_PORT, host: str = "0.0.0.0", tls: Any = None, progress: bool = True,
                   priority: int = Priority.MEDIUM, **keys: Any) -> RetrieveResult:
        """C-MOVE: ask the peer to send the matching instances to an AE title.

        Parameters
        ----------
        dest
            The move destination AE title, which the peer must know (with a host and
            port). ``"ME"`` (or ``None``, or our own AE title with ``into``) receives the
            images here: a temporary storage SCP answering to our AE title is started on
            ``host:port`` for the time of the move; the peer must know our AE title with
            this machine's address and ``port``.
        level
            ``"PATIENT"`` (Patient Root only), ``"STUDY"``, ``"SERIES"`` or ``"IMAGE"``.
        model
            ``"study"`` (Study Root) or ``"patient"`` (Patient Root).
        into
            With ``dest="ME"``: a folder (each instance written, as received, to
            ``<SOP Instance UID>.dcm``, atomically) or a function called with each data set
            (it may return a C-STORE status; ``async def`` functions run on the service loop).
        port, host
            Where the temporary storage SCP listens (``dest="ME"`` only).
        tls
            DICOM over TLS for that temporary storage SCP (``dest="ME"`` only), as a
            :class:`~pacsnb.net.Server` takes it: a :class:`~pacsnb.net.tls.TLSConfig` (or a
            dict of its fields) with ``certfile`` and ``keyfile``, or a server-side
            :class:`ssl.SSLContext`; ``False``: plain TCP. ``None`` (the default): plain TCP
            when this association is plain; when it is over TLS, the TLS configuration it
            was opened with (which must then name our certificate and key: the images are
            never received in plain TCP unless ``tls=False`` says so).
        progress
            Show a progress bar of the sub-operations (``tqdm.auto``).
        priority
            The C-MOVE-RQ priority.
        **keys
            The identifier: the level's unique key (``StudyInstanceUID="1.2..."``, or a
            list of UIDs) and, with the Patient Root model, the unique keys above it.

        Returns
        -------
        RetrieveResult
            Sub-operations completed, failed and with warning, the failed SOP instance
            UIDs and, with ``into``, the files written.

        Raises
        ------
        DimseError
            The peer refused or failed the move; the message explains the status (0xA801
            move destination unknown: what the PACS administrator must configure), the
            error's ``status`` is the status and its ``result`` the counts.
        NetworkError
            The MOVE SOP class was not accepted, the temporary SCP cannot listen on
            ``port``, or no response came.
        DicomValueError
            An unknown level, model or keyword, a missing unique key, ``dest="ME"``
            without ``into``.

        Examples
        --------
        >>> import asyncio, tempfile, os
        >>> import pacsnb.net as net
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> series = make_ct_series(n_slices=2, rows=8, columns=8)
        >>> qr = MemoryQR(series)
        >>> out = tempfile.mkdtemp(prefix="pacsnb-doc-move-")
        >>> async def demo(port):
        ...     destinations = {"PACSNB": ("127.0.0.1", port)}
        ...     async with net.Server(qr.handlers(), port=0, ae_title="QR", destinations=destinations) as server:
        ...         async with net.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
        ...             done = await pacs.move("ME", "STUDY", into=out, port=port, host="127.0.0.1",
        ...                                    progress=False, StudyInstanceUID=series[0].StudyInstanceUID)
        ...             try:
        ...                 await pacs.move("NOBODY", "STUDY", progress=False,
        ...                                 StudyInstanceUID=series[0].StudyInstanceUID)
        ...             except net.DimseError as err:
        ...                 return done, err.status
        >>> import socket
        >>> with socket.socket() as s:
        ...     s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
        >>> done, status = asyncio.run(demo(port))
        >>> done.completed, done.received, len(os.listdir(out)), hex(status)
        (2, 2, 2, '0xa801')
        """
        sop_class, level, identifier = retrieve_identifier(level, model, keys, MOVE_SOP_CLASSES)
        me = self.request.calling_ae_title
        if dest is None or str(dest).strip().upper() == "ME":
            if into is None:
                raise DicomValueError("move(dest='ME') receives the images here: say where they go with "
                                      "into=<folder> or into=<function called with each data set>")
            dest = me
        dest = str(dest).strip()
        if into is not None and dest != me:
            raise DicomValueError(f"into= receives the images here, under our AE title {me!r}; with "
                                  f"dest={dest!r} they go to that node instead: use dest='ME', or drop into=")
        return await bridge(self._serialized(self._move(sop_class, level, identifier, dest, into, host,
                                                        port, progress, priority, tls)))

    def _receiver_tls(self, tls: Any) -> Any:
        """The ``tls=`` of the temporary storage SCP of ``move(dest="ME")``."""
        if tls is False:
            return None
        if tls is not None:
            return tls
        if self._conn.transport is None or self._conn.transport.get_extra_info("ssl_object") is None:
            return None  # a plain association: a plain receiver
        mine = self._tls
        if isinstance(mine, Mapping) and mine.get("certfile"):
            return dict(mine, check_hostname=False)
        if isinstance(mine, TLSConfig) and mine.certfile:
            return replace(mine, check_hostname=False)
        raise NetworkError("this association is over TLS, and move(dest='ME') receives the images on a new "
                           "association to this machine: pass tls= the TLS configuration of that storage SCP "
                           "(certfile and keyfile, as for Server(tls=...)), or open this association with a "
                           "TLS configuration naming our certificate and key, or pass tls=False to receive "
                           "them over plain TCP")

    async def _move(self, sop_class, level, identifier, dest, into, host, port, progress, priority, tls=None):
        self._check()
        ctx = self._context_for(sop_class, "C-MOVE", "the MOVE SOP class")
        server = receiver = None
        if into is not None:
            from pacsnb.net.scp import Server
            receiver_tls = self._receiver_tls(tls)
            receiver = _Receiver(into)
            server = Server({"C-STORE": receiver.receive if receiver.is_async else receiver,
                             "C-ECHO": lambda request: 0}, port=port, host=host, ae_title=dest,
                            network_timeout=self.dimse_timeout, tls=receiver_tls)
            try:
                await server._start()
            except NetworkError as err:
                raise NetworkError(f"move(dest='ME') cannot receive the images: {err}; pass port= a free "
                                   f"port, the one {self.where} knows for {dest}") from None
        try:
            rq = CMoveRQ(message_id=self._next_id(), affected_sop_class_uid=sop_class, move_destination=dest,
                         priority=priority)
            result = await self._retrieve(ctx, rq, identifier, f"C-MOVE at {level} level to {dest}",
                                          progress, None, dest=dest,
                                          local=(host, server.port) if server is not None else None)
        finally:
            if server is not None:
                tasks = [t for t in server._tasks if not t.done()]
                if tasks:  # let the peer release its sub-association after its last C-STORE
                    await asyncio.wait(tasks, timeout=5.0)
                await server._stop(5.0)
        if receiver is not None:
            result = replace(result, paths=tuple(receiver.paths), received=receiver.count)
        return result

    # --- C-GET ------------------------------------------------------------------------------

    async def get(self, level: str, model: str = "study", *, into: Any, progress: bool = True,
                  priority: int = Priority.MEDIUM, **keys: Any) -> RetrieveResult:
        """C-GET: retrieve the matching instances over this association.

        The peer sends them back as C-STORE sub-operations on this association, on the
        storage contexts proposed with SCP role (:func:`~pacsnb.net.connect` proposes the
        role for every storage context when a GET SOP class is proposed, as by default).
        Nothing needs configuring on the peer.

        Parameters
        ----------
        level, model, priority, **keys
            As for :meth:`move`.
        into
            A folder (each instance written as received, compressed data untouched, to
            ``<SOP Instance UID>.dcm``, atomically: large ones stream through a temporary
            file, never held in memory twice) or a function called with each data set (its
            return value, if any, is the C-STORE status; ``async def`` runs on the service
            loop, a plain function in a worker thread).
        progress
            Show a progress bar (``tqdm.auto``).

        Returns
        -------
        RetrieveResult
            The counts, failed UIDs and files written.

        Raises
        ------
        DimseError
            The peer refused or failed the retrieve (the message explains the status; the
            error's ``result`` has the counts).
        NetworkError
            The GET SOP class was not accepted, or no response came.
        DicomValueError
            An unknown level, model or keyword, or a missing unique key.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> series = make_ct_series(n_slices=4, rows=8, columns=8)
        >>> got = []
        >>> async def demo():
        ...     async with net.Server(MemoryQR(series).handlers(), port=0, ae_title="QR") as server:
        ...         async with net.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
        ...             return await pacs.get("SERIES", into=lambda ds: got.append(int(ds.InstanceNumber)),
        ...                                   progress=False, StudyInstanceUID=series[0].StudyInstanceUID,
        ...                                   SeriesInstanceUID=series[0].SeriesInstanceUID)
        >>> result = asyncio.run(demo())
        >>> result.completed, result.received, sorted(got)
        (4, 4, [1, 2, 3, 4])
        """
        sop_class, level, identifier = retrieve_identifier(level, model, keys, GET_SOP_CLASSES)
        receiver = _Receiver(into)
        return await bridge(self._serialized(self._get(sop_class, level, identifier, receiver, progress,
                                                       priority)))

    async def _get(self, sop_class, level, identifier, receiver, progress, priority):
        self._check()
        ctx = self._context_for(sop_class, "C-GET", "the GET SOP class")
        if not any(c.scp_role for c in self.accepted_contexts):
            log.warning("%s accepted no context with our SCP role: it cannot send the images back on this "
                        "association (its C-GET will fail)", self.where)
        rq = CGetRQ(message_id=self._next_id(), affected_sop_class_uid=sop_class, priority=priority)
        result = await self._retrieve(ctx, rq, identifier, f"C-GET at {level} level", progress, receiver)
        return replace(result, paths=tuple(receiver.paths), received=receiver.count)

    # --- both -------------------------------------------------------------------------------

    async def _retrieve(self, ctx, rq: Request, identifier: Dataset, what: str, progress: bool,
                        receiver: _Receiver | None, *, dest: str | None = None,
                        local: tuple[str, int] | None = None) -> RetrieveResult:
        from pacsnb.net.scu import _FindState
        service = rq.service
        state = _FindState(ctx, rq.message_id, what)
        self._find = state  # cancel() sends a C-CANCEL for it
        bar = None
        counted = {"completed": 0, "failed": 0, "warning": 0}
        try:
            await self._conn.send_message(ctx.context_id, rq, encode_dataset(identifier, ctx.transfer_syntax))
            while True:
                msg = await self._next_message(rq.message_id, service)
                cmd = msg.command
                try:
                    if isinstance(cmd, CStoreRQ):
                        status = await self._sub_store(msg, receiver, service)
                        category = status_category(status)
                        key = {StatusCategory.SUCCESS: "completed", StatusCategory.WARNING: "warning"}.get(
                            category, "failed")
                        counted[key] += 1
                        if bar is not None and service == "C-GET":
                            bar.update(1)
                        continue
                    if self._peer_request(msg):  # e.g. an N-EVENT-REPORT: answered, kept
                        continue
                finally:
                    if msg.data is not None and hasattr(msg.data, "close"):
                        msg.data.close()
                if not (isinstance(cmd, (CMoveRSP, CGetRSP)) and cmd.message_id_being_responded_to == rq.message_id):
                    log.warning("%s: unexpected %s ignored during %s", self.where, cmd.name, what)
                    continue
                if cmd.is_pending:
                    if progress and bar is None:
                        total = sum(v or 0 for v in (cmd.remaining, cmd.completed, cmd.failed, cmd.warning))
                        if total:
                            from tqdm.auto import tqdm
                            bar = tqdm(total=total, unit="instance", desc=what)
                    if bar is not None and service == "C-MOVE":
                        done = sum(v or 0 for v in (cmd.completed, cmd.failed, cmd.warning))
                        bar.update(max(0, done - bar.n))
                    continue
                state.done = True
                return self._final(cmd, msg, ctx, counted, what, dest, local)
        finally:
            state.done = True
            if self._find is state:
                self._find = None
            if bar is not None:
                bar.close()

    def _final(self, cmd, msg, ctx, counted, what, dest, local) -> RetrieveResult:
        result = RetrieveResult(
            cmd.status,
            completed=cmd.completed if cmd.completed is not None else counted["completed"],
            failed=cmd.failed if cmd.failed is not None else counted["failed"],
            warning=cmd.warning if cmd.warning is not None else counted["warning"],
            remaining=cmd.remaining or 0,
            failed_sop_instance_uids=_failed_uids(msg, ctx.transfer_syntax))
        category = status_category(cmd.status)
        if category is StatusCategory.FAILURE:
            err = DimseError(explain_status(cmd.service, cmd.status,
                                            where=self.where, comment=cmd.error_comment, dest=dest,
                                            local=local), cmd.status)
            err.result = result
            raise err
        if category is StatusCategory.WARNING or result.failed:
            log.warning("%s on %s: %d completed, %d failed, %d warning (status 0x%04X)%s", what, self.where,
                        result.completed, result.failed, result.warning, cmd.status,
                        f": {cmd.error_comment}" if cmd.error_comment else "")
        elif category is StatusCategory.CANCEL:
            log.info("%s on %s cancelled: %d completed, %d remaining", what, self.where, result.completed,
                     result.remaining)
        return result

    async def _sub_store(self, msg: Message, receiver: _Receiver | None, service: str) -> int:
        """Answer a C-STORE sub-operation received during a C-GET; its status."""
        from pacsnb.net.scp import AssociationInfo, ServiceRequest
        cmd = msg.command
        ctx = next((c for c in self.contexts if c.context_id == msg.context_id), None)
        if ctx is None or not ctx.accepted:
            log.warning("%s: C-STORE on presentation context %d, which was not accepted; aborting",
                        self.where, msg.context_id)
            self._conn.abort()
            raise AssociationAborted(f"{self.where} sent a C-STORE on presentation context {msg.context_id}, "
                                     f"which was not accepted; the association was aborted")
        if receiver is None or not ctx.scp_role:
            status = Status.SOP_CLASS_NOT_SUPPORTED
            log.warning("%s: C-STORE of %s during %s refused (%s)", self.where, cmd.affected_sop_instance_uid,
                        service, "we did not ask for it" if receiver is None else "no SCP role on its context")
        else:
            info = AssociationInfo(0, self.request.called_ae_title, self.request.calling_ae_title,
                                   self.address, self.contexts, self.max_pdu_length)
            try:
                status = await receiver.receive(ServiceRequest(cmd, ctx, info, msg.data))
            except Exception as err:
                log.exception("%s: storing %s received during %s failed", self.where,
                              cmd.affected_sop_instance_uid, service)
                status = Status.OUT_OF_RESOURCES if isinstance(err, OSError) else Status.CANNOT_UNDERSTAND
        await self._conn.send_message(msg.context_id, cmd.response(status))
        return status

    # --- N-services ---------------------------------------------------------------------------

    async def _n_service(self, rq: Request, sop_class: str, data: Dataset | None) -> NResult:
        self._check()
        ctx = self._context_for(sop_class, rq.service)
        mid = self._next_id()
        rq = rq.replace(message_id=mid)
        raw = encode_dataset(data, ctx.transfer_syntax) if data is not None else None
        await self._conn.send_message(ctx.context_id, rq, raw)
        msg = await self._response(mid, rq.service)
        rsp = msg.command
        ds = None
        if msg.data is not None:
            body = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
            ds = read_bytes(body, transfer_syntax=ctx.transfer_syntax)
        category = status_category(rsp.status)
        if category is StatusCategory.FAILURE:
            raise DimseError(explain_status(rq.service, rsp.status, where=self.where,
                                            comment=rsp.error_comment), rsp.status)
        if category is StatusCategory.WARNING:
            log.warning("%s: %s answered with warning status 0x%04X %s", self.where, rq.service, rsp.status,
                        rsp.error_comment or "")
        return NResult(rsp.status, getattr(rsp, "affected_sop_class_uid", None),
                       getattr(rsp, "affected_sop_instance_uid", None), ds, rsp)

    def _n(self, rq: Request, sop_class: str, data: Dataset | None):
        return bridge(self._serialized(self._n_service(rq, sop_class, data)))

    async def n_get(self, sop_class: str, sop_instance: str,
                    attributes: Iterable[str | int] | None = None) -> NResult:
        """N-GET: the attributes of a SOP instance (all of them unless ``attributes`` says which).

        Parameters
        ----------
        sop_class, sop_instance
            The Requested SOP Class and Instance UIDs.
        attributes
            Keywords or tags of the attributes wanted.

        Returns
        -------
        NResult
            ``dataset`` holds the attributes.

        Raises
        ------
        DimseError
            A failure status (explained); ``NetworkError`` if the SOP class was not accepted.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.dicom import Dataset
        >>> MPPS = "1.2.840.10008.3.1.2.3.3"
        >>> def on_get(request):
        ...     ds = Dataset(); ds.PerformedProcedureStepStatus = "IN PROGRESS"
        ...     return ds
        >>> async def demo():
        ...     async with net.Server({"N-GET": on_get}, port=0, ae_title="RIS",
        ...                           sop_classes={"N-GET": [MPPS]}) as server:
        ...         async with net.connect("127.0.0.1", server.port, called_ae="RIS", contexts=[MPPS]) as a:
        ...             return await a.n_get(MPPS, "1.2.3", ["PerformedProcedureStepStatus"])
        >>> asyncio.run(demo()).dataset.PerformedProcedureStepStatus
        'IN PROGRESS'
        """
        tags = None
        if attributes is not None:
            tags = []
            for a in attributes:
                tag = _dictionary.tag_for_keyword(a) if isinstance(a, str) else int(a)
                if tag is None:
                    raise DicomValueError(f"{a!r} is not a DICOM keyword")
                tags.append(int(tag))
            tags = tuple(tags)
        return await self._n(NGetRQ(message_id=0, requested_sop_class_uid=sop_class,
                                    requested_sop_instance_uid=sop_instance, attribute_identifier_list=tags),
                             sop_class, None)

    async def n_set(self, sop_class: str, sop_instance: str, modifications: Dataset) -> NResult:
        """N-SET: change attributes of a SOP instance (the modification list).

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.dicom import Dataset
        >>> MPPS, seen = "1.2.840.10008.3.1.2.3.3", []
        >>> async def demo():
        ...     handlers = {"N-SET": lambda r: seen.append(r.dataset.PerformedProcedureStepStatus)}
        ...     async with net.Server(handlers, port=0, ae_title="RIS", sop_classes={"N-SET": [MPPS]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="RIS", contexts=[MPPS]) as a:
        ...             ds = Dataset(); ds.PerformedProcedureStepStatus = "COMPLETED"
        ...             return (await a.n_set(MPPS, "1.2.3", ds)).status
        >>> asyncio.run(demo()), seen
        (0, ['COMPLETED'])
        """
        return await self._n(NSetRQ(message_id=0, requested_sop_class_uid=sop_class,
                                    requested_sop_instance_uid=sop_instance), sop_class, modifications)

    async def n_create(self, sop_class: str, dataset: Dataset | None = None,
                       sop_instance: str | None = None) -> NResult:
        """N-CREATE: create a SOP instance (MPPS, ...); without ``sop_instance`` the peer chooses
        its UID (the result's ``sop_instance_uid``).

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.dicom import Dataset
        >>> MPPS = "1.2.840.10008.3.1.2.3.3"
        >>> async def demo():
        ...     async with net.Server({"N-CREATE": lambda r: 0}, port=0, ae_title="RIS",
        ...                           sop_classes={"N-CREATE": [MPPS]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="RIS", contexts=[MPPS]) as a:
        ...             ds = Dataset(); ds.PerformedProcedureStepStatus = "IN PROGRESS"
        ...             return await a.n_create(MPPS, ds, sop_instance="1.2.3.4")
        >>> result = asyncio.run(demo())
        >>> result.status, result.sop_instance_uid
        (0, '1.2.3.4')
        """
        return await self._n(NCreateRQ(message_id=0, affected_sop_class_uid=sop_class,
                                       affected_sop_instance_uid=sop_instance), sop_class, dataset)

    async def n_action(self, sop_class: str, sop_instance: str, action_type: int,
                       information: Dataset | None = None) -> NResult:
        """N-ACTION: ask the peer to perform an action (storage commitment request, ...).

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> COMMIT, INSTANCE = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
        >>> async def demo():
        ...     async with net.Server({"N-ACTION": lambda r: 0}, port=0, ae_title="ARCH",
        ...                           sop_classes={"N-ACTION": [COMMIT]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="ARCH", contexts=[COMMIT]) as a:
        ...             return (await a.n_action(COMMIT, INSTANCE, 1)).response.action_type_id
        >>> asyncio.run(demo())
        1
        """
        return await self._n(NActionRQ(message_id=0, requested_sop_class_uid=sop_class,
                                       requested_sop_instance_uid=sop_instance, action_type_id=int(action_type)),
                             sop_class, information)

    async def n_delete(self, sop_class: str, sop_instance: str) -> NResult:
        """N-DELETE: delete a SOP instance.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> PRINT = "1.2.840.10008.5.1.1.2"   # Basic Film Session
        >>> async def demo():
        ...     async with net.Server({"N-DELETE": lambda r: 0x0112}, port=0, ae_title="P",
        ...                           sop_classes={"N-DELETE": [PRINT]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="P", contexts=[PRINT]) as a:
        ...             try:
        ...                 await a.n_delete(PRINT, "1.2.3")
        ...             except net.DimseError as err:
        ...                 return hex(err.status)
        >>> asyncio.run(demo())
        '0x112'
        """
        return await self._n(NDeleteRQ(message_id=0, requested_sop_class_uid=sop_class,
                                       requested_sop_instance_uid=sop_instance), sop_class, None)

    async def n_event_report(self, sop_class: str, sop_instance: str, event_type: int,
                             information: Dataset | None = None) -> NResult:
        """N-EVENT-REPORT: report an event (storage commitment result, MPPS notification, ...).

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> COMMIT, INSTANCE, got = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1", []
        >>> async def demo():
        ...     handler = {"N-EVENT-REPORT": lambda r: got.append(r.command.event_type_id)}
        ...     async with net.Server(handler, port=0, ae_title="MOD", sop_classes={"N-EVENT-REPORT": [COMMIT]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="MOD", contexts=[COMMIT]) as a:
        ...             return (await a.n_event_report(COMMIT, INSTANCE, 1)).status
        >>> asyncio.run(demo()), got
        (0, [1])
        """
        return await self._n(NEventReportRQ(message_id=0, affected_sop_class_uid=sop_class,
                                            affected_sop_instance_uid=sop_instance, event_type_id=int(event_type)),
                             sop_class, information)

    # --- requests from the peer on our association ----------------------------------------------

    def _peer_request(self, msg: Message) -> bool:
        """A request the peer sent on our association while we waited for something else:
        an N-EVENT-REPORT is answered with success at once and kept for
        :meth:`event_report`; ``False`` for anything else (the caller logs it)."""
        cmd = msg.command
        if not isinstance(cmd, NEventReportRQ):
            return False
        ctx = next((c for c in self.contexts if c.context_id == msg.context_id and c.accepted), None)
        if ctx is None:  # not on a context we accepted: nothing to answer on
            log.warning("%s: N-EVENT-REPORT on presentation context %d, which was not accepted, ignored",
                        self.where, msg.context_id)
            return True
        dataset = None
        try:
            if msg.data is not None:  # in memory (the connection's sink spools C-STOREs only)
                dataset = read_bytes(bytes(msg.data), transfer_syntax=ctx.transfer_syntax)
            status = 0
        except Exception as err:  # a report we cannot read: say so to the peer, keep nothing
            log.warning("%s: an N-EVENT-REPORT could not be decoded: %s", self.where, err)
            status = 0x0110
        rsp = cmd.response(status)
        if not self._conn.write_message_now(msg.context_id, rsp, None, any_size=True):
            task = asyncio.get_running_loop().create_task(self._conn.send_message(msg.context_id, rsp))
            self._answering.add(task)
            task.add_done_callback(_log_unsent_answer)
            task.add_done_callback(self._answering.discard)
        if status == 0:
            if len(self._reports) == self._reports.maxlen:
                log.warning("%s: %d N-EVENT-REPORTs not taken with event_report(); the oldest is dropped",
                            self.where, len(self._reports))
            self._reports.append(EventReport(cmd, dataset))
            log.info("%s: N-EVENT-REPORT (event type %s) received and answered", self.where, cmd.event_type_id)
        return True

    async def event_report(self, timeout: float | None = 30.0) -> EventReport:
        """The next N-EVENT-REPORT the peer sends on this association (for instance the
        Storage Commitment result after :meth:`n_action`, when the peer reports on the same
        association, PS3.4 J.3.3). It is answered with success as it arrives, also while
        another operation waits for its own responses; reports received earlier are
        returned first.

        Parameters
        ----------
        timeout
            Seconds to wait (``None``: no limit).

        Raises
        ------
        NetworkError
            No report within ``timeout`` (the association stays), or the association ended.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> COMMIT, INSTANCE = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
        >>> async def demo():
        ...     async def on_action(request):
        ...         asyncio.create_task(request.n_event_report(1))
        ...         return 0
        ...     async with net.Server({"N-ACTION": on_action}, port=0, ae_title="ARCH",
        ...                           sop_classes={"N-ACTION": [COMMIT]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="ARCH", contexts=[COMMIT]) as a:
        ...             await a.n_action(COMMIT, INSTANCE, 1)
        ...             return (await a.event_report(timeout=10)).event_type_id
        >>> asyncio.run(demo())
        1
        """
        return await bridge(self._serialized(self._event_report(timeout)))

    async def _event_report(self, timeout: float | None) -> EventReport:
        reports = self._reports
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not reports:
            self._check()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise NetworkError(f"no N-EVENT-REPORT from {self.where} within {timeout} s")
            try:
                ev = await self._conn.next_event(left)
            except asyncio.TimeoutError:
                raise NetworkError(f"no N-EVENT-REPORT from {self.where} within {timeout} s") from None
            if isinstance(ev, Message):
                try:
                    if not self._peer_request(ev):
                        log.warning("%s: unexpected %s ignored while waiting for an N-EVENT-REPORT",
                                    self.where, ev.command.name)
                finally:
                    if ev.data is not None and hasattr(ev.data, "close"):
                        ev.data.close()
                continue
            if isinstance(ev, ReleaseIndication):
                raise AssociationAborted(f"{self.where} asked to release the association while we waited "
                                         "for an N-EVENT-REPORT")
            from pacsnb.net.scu import _aborted
            raise _aborted(ev, self.where)
        return reports.popleft()


#: N-EVENT-REPORTs kept on an association for :meth:`QueryRetrieveSCU.event_report`, at most.
_MAX_REPORTS = 10_000


def _log_unsent_answer(task: asyncio.Task) -> None:
    """Done callback of the answer to a peer's request: a failure (the association went) is logged."""
    if not task.cancelled() and task.exception() is not None:
        log.info("the answer to an N-EVENT-REPORT could not be sent: %s", task.exception())


# --- the SCP side: C-MOVE and C-GET sub-operations ------------------------------------------------

def _item_uids(item: Any) -> tuple[str | None, str | None, str | None]:
    """SOP class, SOP instance and transfer syntax of something to send (data set or file)."""
    from pacsnb.net.scu import _file_info
    if isinstance(item, Dataset):
        ts = item.transfer_syntax
        return (str(item.get("SOPClassUID") or "") or None, str(item.get("SOPInstanceUID") or "") or None,
                str(ts) if ts else None)
    info = _file_info(os.fspath(item))
    if info is None:
        return None, None, None
    return info.sop_class_uid, info.sop_instance_uid, info.transfer_syntax


class _SameAssociationSender:
    """Sends C-STORE sub-operations of a C-GET back over the requesting association."""

    def __init__(self, conn, contexts: Iterable[NegotiatedContext], timeout: float | None, where: str) -> None:
        self.conn = conn
        self.contexts = [c for c in contexts if c.accepted and c.scp_role]
        self.timeout = timeout
        self.where = where
        self._mid = 0

    async def send(self, item: Any, originator: tuple[str, int] | None = None) -> int:
        from pacsnb.net.scu import _file_info
        from pacsnb.io import read as _read
        sop_class, sop_instance, ts = _item_uids(item)
        if not sop_class or not sop_instance:
            log.warning("%s: C-GET sub-operation skipped: %r has no SOP class or instance UID", self.where, item)
            return Status.CANNOT_UNDERSTAND
        ctx = find_context(self.contexts, sop_class, ts)
        if ctx is None:
            log.warning("%s: C-GET sub-operation for %s failed: no context with SCP role for SOP class %s in "
                        "transfer syntax %s was proposed", self.where, sop_instance, sop_class, ts or "native")
            return Status.SOP_CLASS_NOT_SUPPORTED
        self._mid = self._mid % 0xFFFF + 1
        rq = CStoreRQ(message_id=self._mid, affected_sop_class_uid=sop_class,
                      affected_sop_instance_uid=sop_instance,
                      move_originator_aet=originator[0] if originator else None,
                      move_originator_message_id=originator[1] if originator else None)
        if isinstance(item, Dataset):
            await self.conn.send_message(ctx.context_id, rq, encode_dataset(item, ctx.transfer_syntax))
        elif ctx.transfer_syntax == ts:
            info = _file_info(os.fspath(item))
            with open(os.fspath(item), "rb") as f:  # streamed from disk as it is
                f.seek(info.offset)
                await self.conn.send_message(ctx.context_id, rq, f)
        else:
            ds = await asyncio.get_running_loop().run_in_executor(None, _read, os.fspath(item))
            await self.conn.send_message(ctx.context_id, rq, encode_dataset(ds, ctx.transfer_syntax))
        while True:
            try:
                ev = await self.conn.next_event(self.timeout)
            except asyncio.TimeoutError:
                self.conn.abort()
                raise NetworkError(f"no C-STORE response from {self.where} within {self.timeout} s during a "
                                   f"C-GET; the association was aborted") from None
            if isinstance(ev, Message):
                if isinstance(ev.command, CStoreRSP) and ev.command.message_id_being_responded_to == self._mid:
                    return ev.command.status
                log.warning("%s: %s ignored during a C-GET", self.where, ev.command.name)
                continue
            raise AssociationAborted(f"the association with {self.where} ended during a C-GET "
                                     f"({type(ev).__name__})")


async def serve_retrieve(server: Any, conn: Any, ctx: NegotiatedContext, contexts: Mapping[int, NegotiatedContext],
                         request: Any, handler: Callable) -> None:
    """Perform a C-MOVE or C-GET for a :class:`~pacsnb.net.Server` (called by it).

    The handler returns what to send: an iterable of data sets and Part 10 file paths
    (files stream from disk as they are), or a status / ready response to refuse. Each
    C-STORE sub-operation is followed by a pending response with the remaining,
    completed, failed and warning counts; a C-CANCEL stops before the next one (final
    status 0xFE00); the final response lists the failed SOP Instance UIDs.

    Examples
    --------
    >>> from pacsnb.net.retrieve import serve_retrieve
    >>> serve_retrieve.__name__
    'serve_retrieve'
    """
    from pacsnb.net.scp import _call, _comment
    cmd = request.command
    service = cmd.service
    info = request.association
    where = f"{info.calling_ae_title} at {info.address[0]}:{info.address[1]}" if info.address else \
        info.calling_ae_title

    async def final(status: int, comment: str | None = None, counts: dict | None = None,
                    failed_uids: list[str] | None = None, remaining: int | None = None) -> None:
        fields: dict[str, Any] = {}
        if counts is not None:
            fields.update(completed=counts["completed"], failed=counts["failed"], warning=counts["warning"])
        if remaining is not None:
            fields["remaining"] = remaining
        if comment:
            fields["error_comment"] = comment
        data = None
        if failed_uids:
            ds = Dataset()
            setattr(ds, _FAILED_LIST, list(failed_uids))
            data = encode_dataset(ds, request.transfer_syntax)
        await server._respond(conn, ctx, cmd.response(status, **fields), data)

    # what to send
    try:
        result = await _call(handler, request)
        if isinstance(result, Response):
            await server._respond(conn, ctx, result.replace(message_id_being_responded_to=cmd.message_id))
            return
        if isinstance(result, int) and not isinstance(result, bool):
            await final(result)
            return
        if result is None:
            items: list = []
        elif isinstance(result, (list, tuple)):
            items = list(result)
        else:
            items = await asyncio.get_running_loop().run_in_executor(None, list, result)
    except Exception as err:
        log.exception("%s: the %s handler failed", server.ae_title, service)
        await final(Status.CANNOT_UNDERSTAND, _comment(err))
        return

    # where to send it
    dest_assoc = None
    if service == "C-MOVE":
        dest = cmd.move_destination.strip()
        address = server._destination(dest)
        if address is None:
            log.warning("%s: C-MOVE from %s to unknown destination %r refused", server.ae_title, where, dest)
            await final(0xA801, f"Move destination unknown: {dest}"[:64])
            return
        if items:
            from pacsnb.net.scu import connect, contexts_for
            try:
                pcs = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: contexts_for(items, include_verification=False))
                dest_assoc = await connect(address[0], address[1], ae_title=server.ae_title, called_ae=dest,
                                           contexts=list(pcs), timeout=server.move_timeout,
                                           tls=server.destination_tls)
            except Exception as err:
                log.warning("%s: cannot associate with move destination %s at %s:%s: %s", server.ae_title, dest,
                            address[0], address[1], err)
                await final(0xA702, _comment(err), {"completed": 0, "failed": len(items), "warning": 0},
                            [u for u in (_item_uids(i)[1] for i in items) if u])
                return
        originator = (info.calling_ae_title, cmd.message_id)
        send = lambda item: dest_assoc.store(item, progress=False, move_originator_aet=originator[0],  # noqa: E731
                                             move_originator_message_id=originator[1])
    else:
        sender = _SameAssociationSender(conn, contexts.values(), server.move_timeout, where)
        send = sender.send

    counts = {"completed": 0, "failed": 0, "warning": 0}
    failed_uids: list[str] = []
    total = len(items)
    cancelled = False
    try:
        for n, item in enumerate(items):
            if request.is_cancelled:
                cancelled = True
                break
            try:
                status = await send(item)
            except (AssociationAborted, NetworkError) as err:
                if service == "C-GET" or conn.closed:
                    raise
                log.warning("%s: move destination association failed: %s", server.ae_title, err)
                rest = items[n:]
                counts["failed"] += len(rest)
                failed_uids.extend(u for u in (_item_uids(i)[1] for i in rest) if u)
                break
            category = status_category(status)
            if category is StatusCategory.SUCCESS:
                counts["completed"] += 1
            elif category is StatusCategory.WARNING:
                counts["warning"] += 1
            else:
                counts["failed"] += 1
                uid = _item_uids(item)[1]
                if uid:
                    failed_uids.append(uid)
            if conn.closed:
                return
            await server._respond(conn, ctx, cmd.response(Status.PENDING, remaining=total - n - 1, **counts))
    finally:
        if dest_assoc is not None:
            try:
                await dest_assoc._release()
            except Exception as err:  # the sub-operations are done; a bad release is only logged
                log.warning("%s: release of the move destination association failed: %s", server.ae_title, err)
    request._cancelled.discard(cmd.message_id)
    done = sum(counts.values())
    if cancelled:
        await final(Status.CANCEL, None, counts, failed_uids, remaining=total - done)
    elif counts["failed"] and not counts["completed"] and not counts["warning"]:
        await final(0xA702, "Unable to perform sub-operations", counts, failed_uids)
    elif counts["failed"] or counts["warning"]:
        await final(0xB000, None, counts, failed_uids)
    else:
        await final(Status.SUCCESS, None, counts)
