"""The SCU side: :func:`connect` opens an association, :class:`Association` uses it.

Every association runs on pacsnb's service loop (:mod:`pacsnb.net.loop`); the coroutines
here work from any event loop, a notebook's top-level ``await`` included, and bridge to
it. On leaving ``async with`` the association is released, or aborted when an exception
left the block.

Storing files is fast: when a file's transfer syntax is the one accepted for its context,
its data set is streamed from disk after the File Meta Information, fragment by fragment,
without being parsed or held in memory; only files that need another (uncompressed)
transfer syntax are read and re-encoded.

Examples
--------
>>> import asyncio
>>> import pacsnb.net as net
>>> async def demo():
...     async with net.Server({"C-ECHO": lambda request: 0}, port=0, ae_title="ECHOSCP") as server:
...         async with net.connect("127.0.0.1", server.port, called_ae="ECHOSCP") as assoc:
...             return await assoc.echo()
>>> asyncio.run(demo())
0
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Union

from pacsnb.dicom import Dataset
from pacsnb.dicom import uid as _uid
from pacsnb.dicom import dictionary as _dictionary
from pacsnb.errors import AssociationAborted, AssociationRejected, DicomValueError, DimseError, NetworkError
from pacsnb.io import encode_dataset
from pacsnb.io import read as _read
from pacsnb.io import read_bytes as _read_bytes
from pacsnb.net.dimse import (VERIFICATION_SOP_CLASS, CCancelRQ, CEchoRQ, CFindRQ, CStoreRQ, Message,
                              Priority, Response, Status, StatusCategory, status_category)
from pacsnb.net.items import AsyncOperationsWindow, PresentationContextRQ, UserIdentityRQ
from pacsnb.net.loop import bridge
from pacsnb.net.negotiation import (CONVERTIBLE_TRANSFER_SYNTAXES, DEFAULT_TRANSFER_SYNTAXES,
                                    NegotiatedContext, build_request, find_context,
                                    negotiated_contexts, propose)
from pacsnb.net.retrieve import (GET_SOP_CLASSES, MOVE_SOP_CLASSES, WORKLIST_SOP_CLASS, QueryRetrieveSCU,
                                 _MAX_REPORTS, _spool_sink, explain_status)
from pacsnb.net.pdu import (DEFAULT_MAXIMUM_LENGTH, AssociateAC, AssociateRJ,
                            AssociateRQ, RejectReason, RejectResult, RejectSource)
from pacsnb.net.statemachine import (AbortIndication, AssociateAccepted, AssociateRejected,
                                     ProviderAbortIndication, ReleaseConfirmation,
                                     ReleaseIndication, StateMachine)
from pacsnb.net.tls import ssl_context
from pacsnb.net.transport import (Connection, ConnectionClosed, IdleTimeout, ProtocolError,
                                  open_connection)

__all__ = ["connect", "Association", "DEFAULT_STORAGE_SOP_CLASSES", "contexts_for",
           "DEFAULT_AE_TITLE", "FIND_SOP_CLASSES"]

log = logging.getLogger(__name__)

#: The calling AE title pacsnb uses unless told otherwise.
DEFAULT_AE_TITLE = "PACSNB"

#: Storage SOP classes proposed (with the native transfer syntaxes) when ``connect`` is
#: given no ``contexts``: the common imaging, SR and RT classes.
DEFAULT_STORAGE_SOP_CLASSES: tuple[str, ...] = tuple(
    getattr(_uid, kw) for kw in (
        "ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
        "DigitalXRayImageStorageForProcessing", "DigitalMammographyXRayImageStorageForPresentation",
        "DigitalMammographyXRayImageStorageForProcessing", "CTImageStorage", "EnhancedCTImageStorage",
        "MRImageStorage", "EnhancedMRImageStorage", "UltrasoundImageStorage",
        "UltrasoundMultiFrameImageStorage", "SecondaryCaptureImageStorage",
        "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
        "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
        "MultiFrameTrueColorSecondaryCaptureImageStorage", "XRayAngiographicImageStorage",
        "XRayRadiofluoroscopicImageStorage", "NuclearMedicineImageStorage",
        "PositronEmissionTomographyImageStorage", "EnhancedPETImageStorage",
        "BreastTomosynthesisImageStorage", "VLPhotographicImageStorage", "SegmentationStorage",
        "ParametricMapStorage", "GrayscaleSoftcopyPresentationStateStorage", "BasicTextSRStorage",
        "EnhancedSRStorage", "ComprehensiveSRStorage", "KeyObjectSelectionDocumentStorage",
        "XRayRadiationDoseSRStorage", "EncapsulatedPDFStorage", "RTImageStorage", "RTDoseStorage",
        "RTStructureSetStorage", "RTPlanStorage", "SpatialRegistrationStorage", "RawDataStorage",
    ) if hasattr(_uid, kw))

#: The FIND SOP classes of :meth:`Association.find`, by information model; all are
#: proposed (with the native transfer syntaxes) when ``connect`` is given no ``contexts``.
FIND_SOP_CLASSES: dict[str, str] = {
    "patient": "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root Query/Retrieve Information Model - FIND
    "study": "1.2.840.10008.5.1.4.1.2.2.1",    # Study Root Query/Retrieve Information Model - FIND
    "worklist": WORKLIST_SOP_CLASS,             # Modality Worklist Information Model - FIND
}

#: The unique key of each query level (sent empty when not given, so every match names it).
_UNIQUE_KEYS = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
                "IMAGE": "SOPInstanceUID"}
#: Returned attributes not made columns of :meth:`Association.find`'s DataFrame.
_NOT_COLUMNS = frozenset({"QueryRetrieveLevel", "SpecificCharacterSet"})

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)+$")
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}

Item = Union[Dataset, str, os.PathLike]


# --- what is to be sent -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _FileInfo:
    """What the File Meta Information of a Part 10 file says, and where its data set starts."""

    path: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    offset: int


def _ui(raw: bytes) -> str:
    return raw.decode("ascii", "replace").rstrip("\x00 ")


def _file_info(path: str) -> _FileInfo | None:
    """Read the File Meta Information only (a few hundred bytes); ``None`` if there is none."""
    with open(path, "rb") as f:
        head = f.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            return None
        pos, meta = 132, {}
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            group, elem, vr = struct.unpack_from("<HH2s", hdr)
            if group != 2:
                break
            if vr in _LONG_VRS:
                more = f.read(4)
                if len(more) < 4:
                    return None
                length, header = struct.unpack("<I", more)[0], 12
            else:
                length, header = struct.unpack_from("<H", hdr, 6)[0], 8
            if length > 1 << 16:
                return None
            meta[elem] = f.read(length)
            pos += header + length
    try:
        return _FileInfo(path, _ui(meta[0x0002]), _ui(meta[0x0003]), _ui(meta[0x0010]), pos)
    except KeyError:
        return None


def _files_of(item: Any) -> Iterable[Any]:
    """A folder's files (recursively, sorted), or the item itself."""
    if isinstance(item, (str, os.PathLike)) and os.path.isdir(item):
        return sorted(str(p) for p in Path(item).rglob("*") if p.is_file())
    return (item,)


def _expand(items: Item | Iterable[Item]) -> tuple[list[Item], bool]:
    """The items, directories expanded to their files; and whether a single item was given."""
    if isinstance(items, Dataset):
        return [items], True
    if isinstance(items, (str, os.PathLike)):
        if os.path.isdir(items):
            return list(_files_of(items)), False
        return [items], True
    return [f for item in items for f in _files_of(item)], False


def _is_uid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UID_RE.match(value)) and not os.path.exists(value)


def _dataset_syntax(ds: Dataset) -> tuple[str, str | None]:
    sop_class = ds.get("SOPClassUID")
    if not sop_class:
        raise NetworkError("this data set has no SOPClassUID; it cannot be stored")
    ts = ds.transfer_syntax
    return str(sop_class), (str(ts) if ts else None)


def contexts_for(items: Iterable[Any], *, include_verification: bool = True,
                 transfer_syntaxes: Sequence[str] = DEFAULT_TRANSFER_SYNTAXES
                 ) -> tuple[PresentationContextRQ, ...]:
    """Presentation contexts to propose for what will be sent.

    Parameters
    ----------
    items
        SOP class UIDs, ``(sop_class_uid, transfer_syntax_uid)`` pairs, data sets, files
        or folders (only the File Meta Information of files is read).
    include_verification
        Add the Verification SOP Class (C-ECHO).
    transfer_syntaxes
        The native transfer syntaxes added to every context of uncompressed data.

    Examples
    --------
    >>> from pacsnb.net.scu import contexts_for
    >>> [(pc.context_id, pc.abstract_syntax, pc.transfer_syntaxes) for pc in
    ...  contexts_for([("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.4.70")])]
    [(1, '1.2.840.10008.1.1', ('1.2.840.10008.1.2.1', '1.2.840.10008.1.2')), (3, '1.2.840.10008.5.1.4.1.1.2', ('1.2.840.10008.1.2.4.70',))]
    """
    wanted: list[str | tuple[str, str | None]] = [VERIFICATION_SOP_CLASS] if include_verification else []
    for item in items:
        if isinstance(item, tuple):
            wanted.append(item)
        elif _is_uid(item):
            wanted.append(item)
        elif isinstance(item, Dataset):
            wanted.append(_dataset_syntax(item))
        else:
            paths, _ = _expand([item])
            for p in paths:
                info = _file_info(str(p))
                if info is not None:
                    wanted.append((info.sop_class_uid, info.transfer_syntax))
                else:
                    wanted.append(_dataset_syntax(_read(p, stop_before_pixels=True)))
    return _propose_exact(wanted, tuple(transfer_syntaxes))


def _propose_exact(wanted: list, fallback: tuple[str, ...]) -> tuple[PresentationContextRQ, ...]:
    """Like :func:`~pacsnb.net.propose`, but a native transfer syntax seen after the first of
    its SOP class gets a context of its own, so that every file can go as it is (no
    conversion); falls back to :func:`propose` when that would need more than 128 contexts."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    first_native: dict[str, str | None] = {}
    for item in wanted:
        sop, ts = (item, None) if isinstance(item, str) else (str(item[0]), item[1])
        if ts is None or ts in CONVERTIBLE_TRANSFER_SYNTAXES:
            first = first_native.setdefault(sop, ts)
            if first is None and ts is not None:
                first_native[sop] = first = ts
            if ts is None or ts == first:
                groups.setdefault((sop, None), [])
                if ts is not None and ts not in groups[(sop, None)]:
                    groups[(sop, None)].append(ts)
                continue
        groups.setdefault((sop, ts), [ts])
    if len(groups) > 128:
        return propose(wanted, fallback=fallback)
    out = []
    for n, ((sop, key), syntaxes) in enumerate(groups.items()):
        if key is None:
            syntaxes = list(dict.fromkeys([*syntaxes, *fallback]))
        out.append(PresentationContextRQ(2 * n + 1, sop, tuple(syntaxes)))
    return tuple(out)


def _default_contexts() -> tuple[PresentationContextRQ, ...]:
    return propose([VERIFICATION_SOP_CLASS, *FIND_SOP_CLASSES.values(), *MOVE_SOP_CLASSES.values(),
                    *GET_SOP_CLASSES.values(), *DEFAULT_STORAGE_SOP_CLASSES])


_GET_CLASSES = frozenset(GET_SOP_CLASSES.values()) | frozenset(
    str(u) for u in _uid.all_uids("SOP Class") if u.keyword.endswith("Get"))


def _roles(pcs: Sequence[PresentationContextRQ]) -> dict[str, tuple[bool, bool]]:
    """SCU and SCP role for every storage context when a GET SOP class is proposed (the peer
    sends the C-STORE sub-operations of a C-GET back to us); no role selection otherwise."""
    if not any(pc.abstract_syntax in _GET_CLASSES for pc in pcs):
        return {}
    return {pc.abstract_syntax: (True, True) for pc in pcs if pc.abstract_syntax in _STORAGE_CLASSES}


_STORAGE_CLASSES = frozenset(str(u) for u in _uid.all_uids("SOP Class")
                             if u.keyword.endswith("Storage") and u.keyword != "MediaStorageDirectoryStorage")


def _identity(identity: Any) -> UserIdentityRQ | None:
    if identity is None or isinstance(identity, UserIdentityRQ):
        return identity
    if isinstance(identity, str):
        return UserIdentityRQ.username(identity)
    if isinstance(identity, tuple) and len(identity) == 2:
        return UserIdentityRQ.username_and_passcode(str(identity[0]), str(identity[1]))
    if isinstance(identity, Mapping):
        spec = dict(identity)
        positive = bool(spec.pop("positive_response", False))
        if set(spec) == {"username"}:
            return UserIdentityRQ.username(str(spec["username"]), positive_response_requested=positive)
        if set(spec) == {"username", "passcode"}:
            return UserIdentityRQ.username_and_passcode(str(spec["username"]), str(spec["passcode"]),
                                                        positive_response_requested=positive)
        if set(spec) == {"kerberos"}:
            return UserIdentityRQ.kerberos(spec["kerberos"], positive_response_requested=positive)
        if set(spec) == {"saml"}:
            return UserIdentityRQ.saml(spec["saml"], positive_response_requested=positive)
        if set(spec) == {"jwt"}:
            return UserIdentityRQ.jwt(spec["jwt"], positive_response_requested=positive)
    raise NetworkError(f"identity must be a user name, a (user, password) pair, a dict with 'username' "
                       f"(and 'passcode'), 'kerberos', 'saml' or 'jwt' (and 'positive_response'), or a "
                       f"UserIdentityRQ, not {identity!r}")


_REJECT_TEXT = {
    (RejectSource.SERVICE_USER, RejectReason.NO_REASON): "no reason given",
    (RejectSource.SERVICE_USER, RejectReason.APPLICATION_CONTEXT_NOT_SUPPORTED):
        "application context name not supported",
    (RejectSource.SERVICE_USER, RejectReason.CALLING_AE_NOT_RECOGNIZED):
        "calling AE title not recognized: the peer does not accept associations from {calling!r}",
    (RejectSource.SERVICE_USER, RejectReason.CALLED_AE_NOT_RECOGNIZED):
        "called AE title not recognized: the peer does not answer to {called!r}; check called_ae",
    (RejectSource.SERVICE_PROVIDER_ACSE, RejectReason.ACSE_NO_REASON): "no reason given",
    (RejectSource.SERVICE_PROVIDER_ACSE, RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED):
        "protocol version not supported",
    (RejectSource.SERVICE_PROVIDER_PRESENTATION, RejectReason.TEMPORARY_CONGESTION):
        "temporary congestion: try again later",
    (RejectSource.SERVICE_PROVIDER_PRESENTATION, RejectReason.LOCAL_LIMIT_EXCEEDED):
        "local limit exceeded (too many associations): try again later",
}


def _rejection(rj: AssociateRJ, rq: AssociateRQ, where: str) -> AssociationRejected:
    how = "permanently" if rj.result == RejectResult.PERMANENT else "transiently"
    try:
        source = RejectSource(rj.source).name.lower().replace("_", " ")
    except ValueError:
        source = f"source {rj.source}"
    text = _REJECT_TEXT.get((rj.source, rj.reason), f"reason {rj.reason}")
    text = text.format(called=rq.called_ae_title, calling=rq.calling_ae_title)
    err = AssociationRejected(f"{where} {how} rejected the association ({source}): {text}")
    err.result, err.source, err.reason = rj.result, rj.source, rj.reason
    return err


def _aborted(ev: Any, where: str) -> AssociationAborted:
    if isinstance(ev, AbortIndication):
        return AssociationAborted(f"{where} aborted the association (A-ABORT)")
    if isinstance(ev, ProviderAbortIndication):
        return AssociationAborted(f"association with {where} aborted: {ev.message}")
    if isinstance(ev, ProtocolError):
        return AssociationAborted(f"association with {where} aborted: {ev.error}")
    if isinstance(ev, IdleTimeout):
        return AssociationAborted(f"association with {where} aborted: nothing received for {ev.timeout} s")
    if isinstance(ev, ConnectionClosed):
        return AssociationAborted(f"the connection to {where} was closed")
    return AssociationAborted(f"association with {where} ended unexpectedly ({type(ev).__name__})")


# --- C-FIND -----------------------------------------------------------------------------------

@dataclass(slots=True)
class _FindState:
    """A C-FIND in progress: its context, message ID and whether its final response came."""

    context: NegotiatedContext
    message_id: int
    what: str
    done: bool = False
    cancel_sent: bool = False


def _find_identifier(level: str, model: str, fields: Iterable[str] | None, keys: dict[str, Any]
                     ) -> tuple[str, str, Dataset, list[str]]:
    """The SOP class, level, identifier and column order of a query."""
    if level is not None and str(level).upper() == "WORKLIST":
        model = "worklist"
    sop_class = FIND_SOP_CLASSES.get(str(model).lower())
    if sop_class is None:
        raise DicomValueError(f"model must be one of {sorted(FIND_SOP_CLASSES)}, not {model!r}")
    if sop_class == WORKLIST_SOP_CLASS:
        return _worklist_identifier(fields, keys)
    level = str(level).upper()
    if level not in _UNIQUE_KEYS:
        raise DicomValueError(f"level must be one of {sorted(_UNIQUE_KEYS)}, not {level!r}")
    if level == "PATIENT" and sop_class != FIND_SOP_CLASSES["patient"]:
        raise DicomValueError("the Study Root model has no PATIENT level: use model='patient'")
    if isinstance(fields, str):
        fields = [fields]
    order = list(dict.fromkeys([*keys, _UNIQUE_KEYS[level], *(fields or ())]))
    for kw in order:
        if _dictionary.tag_for_keyword(kw) is None:
            raise DicomValueError(f"{kw!r} is not a DICOM keyword")
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for kw in order:
        value = keys.get(kw)
        setattr(ds, kw, None if value is None or value == "" else value)
    return sop_class, level, ds, [kw for kw in order if kw not in _NOT_COLUMNS]


def _worklist_identifier(fields: Iterable[str] | None, keys: dict[str, Any]
                         ) -> tuple[str, str, Dataset, list[str]]:
    """A Modality Worklist query: no level; a dict value is the one item of a sequence key."""
    if isinstance(fields, str):
        fields = [fields]
    order = list(dict.fromkeys([*keys, *(fields or ())]))
    ds = Dataset()
    for kw in order:
        if _dictionary.tag_for_keyword(kw) is None:
            raise DicomValueError(f"{kw!r} is not a DICOM keyword")
        setattr(ds, kw, _worklist_value(kw, keys.get(kw)))
    return WORKLIST_SOP_CLASS, "WORKLIST", ds, [kw for kw in order if kw not in _NOT_COLUMNS]


def _worklist_value(kw: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        item = Dataset()
        for k, v in value.items():
            if _dictionary.tag_for_keyword(k) is None:
                raise DicomValueError(f"{k!r} (in {kw}) is not a DICOM keyword")
            setattr(item, k, _worklist_value(k, v))
        return [item]
    if isinstance(value, Dataset):
        return [value]
    return None if value is None or value == "" else value


def _plain(value: Any) -> Any:
    """A decoded element value as plain Python: str, int, float, bytes, tuple or list."""
    if value is None or isinstance(value, (bool, bytes)):
        return value
    if isinstance(value, str):
        return str(value) if value != "" else None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list) and value and all(isinstance(v, Dataset) for v in value):
        return list(value)  # a sequence: its items stay data sets
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value) if value else None
    return value


def _frame(results: list[Dataset], columns: list[str]) -> Any:
    """One row per identifier; the requested columns first, then any other returned keyword."""
    import pandas as pd

    extra: dict[int, str] = {}
    for ds in results:
        for elem in ds:
            kw = elem.keyword
            if kw and kw not in _NOT_COLUMNS and kw not in columns:
                extra.setdefault(int(elem.tag), kw)
    columns = columns + [extra[t] for t in sorted(extra)]
    rows = []
    for ds in results:
        row = {}
        for kw in columns:
            row[kw] = _plain(ds[kw].value) if kw in ds else None
        rows.append(row)
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


# --- the association --------------------------------------------------------------------------

class Association(QueryRetrieveSCU):
    """An established association, as requestor (SCU).

    Made by :func:`connect`. Its coroutines run on pacsnb's service loop whatever loop
    awaits them. Use it in ``async with`` (released at the end, aborted on an exception),
    or call :meth:`release` yourself.

    Attributes
    ----------
    request, response
        The A-ASSOCIATE-RQ sent and the A-ASSOCIATE-AC received.
    contexts
        Every proposed presentation context with its outcome
        (:class:`~pacsnb.net.NegotiatedContext`).

    Examples
    --------
    >>> import asyncio, pacsnb.net as net
    >>> async def demo():
    ...     async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP") as server:
    ...         assoc = await net.connect("127.0.0.1", server.port, called_ae="SCP",
    ...                                   contexts=["1.2.840.10008.1.1"])
    ...         try:
    ...             return await assoc.echo(), [c.transfer_syntax for c in assoc.accepted_contexts]
    ...         finally:
    ...             await assoc.release()
    >>> asyncio.run(demo())
    (0, ['1.2.840.10008.1.2.1'])
    """

    def __init__(self, connection: Connection, request: AssociateRQ, response: AssociateAC,
                 address: tuple[str, int], *, timeout: float | None, dimse_timeout: float | None,
                 tls: Any = None) -> None:
        self._conn = connection
        self._tls = tls  # what it was opened with (move(dest="ME") receives over TLS with it)
        self.request = request
        self.response = response
        self.address = address
        self.contexts: tuple[NegotiatedContext, ...] = negotiated_contexts(request, response)
        self.timeout = timeout
        self.dimse_timeout = dimse_timeout
        self._message_id = 0
        self._lock: asyncio.Lock | None = None
        self._released = False
        self._find: _FindState | None = None
        # N-EVENT-REPORTs the peer sent on this association, for event_report(), and the
        # tasks sending our answers when they could not be written at once
        self._reports: collections.deque = collections.deque(maxlen=_MAX_REPORTS)
        self._answering: set[asyncio.Task] = set()

    def __repr__(self) -> str:
        state = "established" if self.is_established else "ended"
        return (f"<Association {self.request.calling_ae_title} -> {self.request.called_ae_title} at "
                f"{self.address[0]}:{self.address[1]}, {len(self.accepted_contexts)} contexts, {state}>")

    @property
    def where(self) -> str:
        """The peer, for messages: ``'AE at host:port'``."""
        return f"{self.request.called_ae_title} at {self.address[0]}:{self.address[1]}"

    @property
    def is_established(self) -> bool:
        """Whether the association can carry messages."""
        return self._conn.machine.state.value == 6 and not self._conn.closed

    @property
    def accepted_contexts(self) -> tuple[NegotiatedContext, ...]:
        """The accepted presentation contexts."""
        contexts = self.contexts
        cached = getattr(self, "_accepted_cache", None)  # computed once per association
        if cached is None or cached[0] is not contexts:
            cached = self._accepted_cache = (contexts, tuple(c for c in contexts if c.accepted))
        return cached[1]

    @property
    def max_pdu_length(self) -> int:
        """The peer's Maximum Length (0: unlimited): every PDU sent stays within it."""
        return self._conn.machine.peer_max_length

    @property
    def max_operations(self) -> int:
        """Operations we may have outstanding at once: the asynchronous operations window
        the peer granted (1 when it answered none, as most peers do)."""
        return _granted_window(self.request, self.response)

    # --- plumbing ---------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._message_id = self._message_id % 0xFFFF + 1
        return self._message_id

    def _check(self) -> None:
        if not self.is_established:
            raise AssociationAborted(f"the association with {self.where} has ended")

    async def _response(self, message_id: int, what: str) -> Message:
        while True:
            try:
                ev = await self._conn.next_event(self.dimse_timeout)
            except asyncio.TimeoutError:
                self._conn.abort()
                raise NetworkError(f"no {what} response from {self.where} within {self.dimse_timeout} s "
                                   f"(message ID {message_id}); the association was aborted") from None
            if isinstance(ev, Message):
                cmd = ev.command
                if isinstance(cmd, Response) and cmd.message_id_being_responded_to == message_id:
                    return ev
                if not self._peer_request(ev):
                    log.warning("%s: unexpected %s ignored while waiting for the %s response to message %d",
                                self.where, cmd.name, what, message_id)
                continue
            if isinstance(ev, ReleaseIndication):
                raise AssociationAborted(f"{self.where} asked to release the association while a "
                                         f"{what} was outstanding")
            raise _aborted(ev, self.where)

    async def _serialized(self, coro):
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await coro

    # --- C-ECHO -----------------------------------------------------------------------------

    async def echo(self) -> int:
        """C-ECHO (verification): the response's status, 0 for success.

        Raises
        ------
        NetworkError
            The Verification SOP Class was not accepted, or no response came.
        """
        return await bridge(self._serialized(self._echo()))

    async def _echo(self) -> int:
        self._check()
        cached = getattr(self, "_echo_context", None)
        if cached is None or cached[0] is not self.contexts:  # looked up once per association
            found = next((c for c in self.accepted_contexts if c.abstract_syntax == VERIFICATION_SOP_CLASS), None)
            cached = self._echo_context = (self.contexts, found)
        ctx = cached[1]
        if ctx is None:
            raise NetworkError(f"{self.where} did not accept the Verification SOP Class; propose it "
                               f"in connect(contexts=...)")
        mid = self._next_id()
        await self._conn.send_message(ctx.context_id, CEchoRQ(message_id=mid))
        return (await self._response(mid, "C-ECHO")).command.status

    # --- C-STORE ----------------------------------------------------------------------------

    async def store(self, items: Item | Iterable[Item], *, progress: bool = True,
                    priority: int = Priority.MEDIUM, move_originator_aet: str | None = None,
                    move_originator_message_id: int | None = None) -> int | list[int]:
        """C-STORE data sets or files over this association.

        When the peer granted an asynchronous operations window of more than one
        operation (see :attr:`max_operations`), up to that many C-STORE requests are
        sent before their responses are awaited (pipelining: a request is on the wire
        while the peer stores the one before); otherwise one at a time.

        Parameters
        ----------
        items
            A :class:`~pacsnb.dicom.Dataset`, a file path or a folder (all its files), or
            an iterable of them.
        progress
            Show a progress bar (``tqdm.auto``: a widget in a notebook).
        priority, move_originator_aet, move_originator_message_id
            Fields of the C-STORE-RQ (the last two for sub-operations of a C-MOVE).

        Returns
        -------
        int or list of int
            The status of each item, in the order of ``items`` (0 success, Bxxx warning,
            others failure); one int for a single data set or file. An item whose SOP
            class and transfer syntax have no accepted presentation context is not sent
            and gets 0x0122 (SOP class not supported), with a warning in the log.

        Raises
        ------
        AssociationAborted, NetworkError
            The association ended or no response came; earlier items were stored.
        InvalidDicomError
            A file that is not DICOM.
        """
        return await bridge(self._serialized(self._store(items, progress, priority,
                                                         move_originator_aet, move_originator_message_id)))

    async def _store(self, items, progress, priority, move_aet, move_id):
        self._check()
        if isinstance(items, (Dataset, str, os.PathLike, list, tuple)):
            seq, single = _expand(items)
            total: int | None = len(seq)
        else:  # an iterator (a generator of data sets, say): sent as it yields, never listed
            seq, single, total = (f for item in items for f in _files_of(item)), False, None
        bar = None
        if progress and total != 1:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, unit="file", desc=f"C-STORE to {self.request.called_ae_title}")
        statuses: list[int] = []
        pending: dict[int, int] = {}  # message ID -> index in statuses, of requests sent
        window = self.max_operations
        try:
            for item in seq:
                while len(pending) >= window:
                    await self._store_collect(pending, statuses, bar)
                index = len(statuses)
                statuses.append(Status.PROCESSING_FAILURE)
                sent = await self._store_send(item, priority, move_aet, move_id)
                if sent < 0:  # a message ID, negated: the response will come
                    pending[-sent] = index
                else:  # not sent (no presentation context): its status
                    statuses[index] = sent
                    if bar is not None:
                        bar.update(1)
            while pending:
                await self._store_collect(pending, statuses, bar)
        finally:
            if bar is not None:
                bar.close()
        return statuses[0] if single and len(statuses) == 1 else statuses

    async def _store_collect(self, pending: dict[int, int], statuses: list[int], bar) -> None:
        """Wait for the next C-STORE response of a request in ``pending``; record its status."""
        try:
            ev = await self._conn.next_event(self.dimse_timeout)
        except asyncio.TimeoutError:
            self._conn.abort()
            raise NetworkError(f"no C-STORE response from {self.where} within {self.dimse_timeout} s "
                               f"({len(pending)} outstanding, message IDs {sorted(pending)[:8]}); the "
                               f"association was aborted") from None
        if isinstance(ev, Message):
            cmd = ev.command
            if isinstance(cmd, Response) and cmd.message_id_being_responded_to in pending:
                statuses[pending.pop(cmd.message_id_being_responded_to)] = cmd.status
                if cmd.status:
                    log.info("%s: C-STORE of %s: status 0x%04X %s", self.where,
                             getattr(cmd, "affected_sop_instance_uid", "?"), cmd.status, cmd.error_comment or "")
                if bar is not None:
                    bar.update(1)
                return
            if not self._peer_request(ev):
                log.warning("%s: unexpected %s ignored while waiting for C-STORE responses", self.where, cmd.name)
            return
        if isinstance(ev, ReleaseIndication):
            raise AssociationAborted(f"{self.where} asked to release the association while "
                                     f"{len(pending)} C-STORE operations were outstanding")
        raise _aborted(ev, self.where)

    async def _store_send(self, item, priority, move_aet, move_id) -> int:
        """Send the C-STORE-RQ of one item: minus its message ID, or the status of an item not sent."""
        if isinstance(item, Dataset):
            return await self._store_dataset(item, priority, move_aet, move_id,
                                             str(item.get("SOPInstanceUID", "?")), wait=False)
        path = os.fspath(item)
        info = _file_info(path)
        if info is not None:
            ctx = find_context(self.contexts, info.sop_class_uid, info.transfer_syntax)
            if ctx is not None and ctx.transfer_syntax == info.transfer_syntax:
                with open(path, "rb") as f:  # the data set streams from disk as it is
                    f.seek(info.offset)
                    return -await self._start_store(ctx, info.sop_class_uid, info.sop_instance_uid, f,
                                                    priority, move_aet, move_id)
            if ctx is None:
                return self._no_context(info.sop_class_uid, info.transfer_syntax, path)
        return await self._store_dataset(_read(path), priority, move_aet, move_id, path, wait=False)

    async def _store_one(self, item, priority, move_aet, move_id) -> int:
        """C-STORE one item and wait for its response: its status."""
        statuses: list[int] = [Status.PROCESSING_FAILURE]
        sent = await self._store_send(item, priority, move_aet, move_id)
        if sent >= 0:
            return sent
        pending = {-sent: 0}
        while pending:
            await self._store_collect(pending, statuses, None)
        return statuses[0]

    def _no_context(self, sop_class: str, ts: str | None, what: str) -> int:
        log.warning("%s: not sent: %s has no accepted presentation context for SOP class %s in "
                    "transfer syntax %s (propose it with connect(contexts=...))",
                    self.where, what, sop_class, ts or "native")
        return Status.SOP_CLASS_NOT_SUPPORTED

    async def _store_dataset(self, ds: Dataset, priority, move_aet, move_id, what: str, *,
                             wait: bool = True) -> int:
        sop_class, ts = _dataset_syntax(ds)
        sop_instance = ds.get("SOPInstanceUID")
        if not sop_instance:
            raise NetworkError(f"{what}: no SOPInstanceUID; it cannot be stored")
        ctx = find_context(self.contexts, sop_class, ts)
        if ctx is None:
            return self._no_context(sop_class, ts, what)
        data = encode_dataset(ds, ctx.transfer_syntax)
        if not wait:
            return -await self._start_store(ctx, sop_class, str(sop_instance), data, priority, move_aet, move_id)
        return await self._send_store(ctx, sop_class, str(sop_instance), data, priority, move_aet, move_id)

    async def _start_store(self, ctx, sop_class, sop_instance, data, priority, move_aet, move_id) -> int:
        """Send a C-STORE-RQ: its message ID."""
        self._check()
        mid = self._next_id()
        rq = CStoreRQ(message_id=mid, affected_sop_class_uid=sop_class,
                      affected_sop_instance_uid=sop_instance, priority=priority,
                      move_originator_aet=move_aet, move_originator_message_id=move_id)
        await self._conn.send_message(ctx.context_id, rq, data)
        return mid

    async def _send_store(self, ctx, sop_class, sop_instance, data, priority, move_aet, move_id) -> int:
        mid = await self._start_store(ctx, sop_class, sop_instance, data, priority, move_aet, move_id)
        rsp = (await self._response(mid, "C-STORE")).command
        if rsp.status:
            log.info("%s: C-STORE of %s: status 0x%04X %s", self.where, sop_instance, rsp.status,
                     rsp.error_comment or "")
        return rsp.status

    # --- C-FIND and C-CANCEL -----------------------------------------------------------------

    async def find(self, level: str, model: str = "study", *, fields: Iterable[str] | None = None,
                   **keys: Any) -> Any:
        """C-FIND (Query/Retrieve, Patient or Study Root): the matches as a DataFrame.

        Parameters
        ----------
        level
            The query level: ``"PATIENT"`` (Patient Root only), ``"STUDY"``, ``"SERIES"``
            or ``"IMAGE"`` (any case).
        model
            The information model: ``"study"`` (Study Root) or ``"patient"`` (Patient Root).
        fields
            Keywords of attributes to return (sent empty: universal matching).
        **keys
            Matching keys by keyword, values as DICOM matching strings (``PatientName="DOE*"``,
            ``StudyDate="20240101-"``); ``None`` or ``""`` asks for the attribute. The
            level's unique key (``StudyInstanceUID`` at STUDY level, ...) is always asked for.

        Returns
        -------
        pandas.DataFrame
            One row per match, columns named by keyword: the keys, the level's unique key
            and the fields in that order, then any other attribute the peer returned (in
            tag order; QueryRetrieveLevel and SpecificCharacterSet left out). Values are
            plain Python: ``str`` for text, ``int``/``float`` for numbers, ``tuple`` for
            several values, ``None`` for none. No match gives an empty DataFrame with
            those columns. A find cancelled with :meth:`cancel` gives the matches so far.

        Raises
        ------
        DimseError
            The peer answered with a failure status (the error's ``status``).
        NetworkError
            The FIND SOP class of ``model`` was not accepted, or no response came.
        DicomValueError
            An unknown level, model or keyword.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.dicom import Dataset
        >>> def on_find(request):
        ...     ds = Dataset()
        ...     ds.PatientName, ds.StudyInstanceUID, ds.NumberOfStudyRelatedInstances = "DOE^J", "1.2.3", 12
        ...     yield ds
        >>> async def demo():
        ...     async with net.Server({"C-FIND": on_find}, port=0, ae_title="QR") as server:
        ...         async with net.connect("127.0.0.1", server.port, called_ae="QR") as assoc:
        ...             return await assoc.find("STUDY", PatientName="DOE*",
        ...                                     fields=["NumberOfStudyRelatedInstances"])
        >>> asyncio.run(demo())
          PatientName StudyInstanceUID  NumberOfStudyRelatedInstances
        0       DOE^J            1.2.3                             12
        """
        sop_class, level, identifier, columns = _find_identifier(level, model, fields, keys)
        results = await bridge(self._find_all(sop_class, level, identifier))
        return _frame(results, columns)

    async def find_iter(self, level: str, model: str = "study", *, fields: Iterable[str] | None = None,
                        **keys: Any):
        """C-FIND as an async iterator of the matching identifiers (data sets), as they come.

        The arguments and errors are those of :meth:`find`. Leaving the ``async for``
        early sends a C-CANCEL and reads the remaining responses up to the final one, so
        the association stays usable. That happens when the iterator is closed: at once
        with ``contextlib.aclosing``, otherwise when it is garbage-collected (other
        operations on the association wait for it meanwhile).

        Examples
        --------
        >>> import asyncio, contextlib, pacsnb.net as net
        >>> from pacsnb.dicom import Dataset
        >>> def on_find(request):
        ...     for i in range(100):
        ...         ds = Dataset()
        ...         ds.PatientID = f"P{i}"
        ...         yield ds
        >>> async def demo():
        ...     async with net.Server({"C-FIND": on_find, "C-ECHO": lambda r: 0}, port=0,
        ...                           ae_title="QR") as server:
        ...         async with net.connect("127.0.0.1", server.port, called_ae="QR") as assoc:
        ...             got = []
        ...             async with contextlib.aclosing(assoc.find_iter("PATIENT", "patient")) as matches:
        ...                 async for ds in matches:
        ...                     got.append(ds.PatientID)
        ...                     if len(got) == 2:
        ...                         break
        ...             return got, await assoc.echo()
        >>> asyncio.run(demo())
        (['P0', 'P1'], 0)
        """
        sop_class, level, identifier, _ = _find_identifier(level, model, fields, keys)
        state = await bridge(self._find_begin(sop_class, level, identifier))
        try:
            while True:
                ds = await bridge(self._find_next(state))
                if ds is None:
                    return
                yield ds
        finally:
            await bridge(self._find_end(state))

    async def cancel(self) -> bool:
        """C-CANCEL the running C-FIND, C-MOVE or C-GET; whether there was one to cancel.

        The operation ends when the peer's final response (cancel, FE00) comes: :meth:`find`
        then returns the matches so far, :meth:`find_iter` stops, :meth:`move` and
        :meth:`get` return a :class:`~pacsnb.net.retrieve.RetrieveResult` whose
        ``cancelled`` is true. Call it from another task than the one awaiting the operation.
        """
        return await bridge(self._cancel())

    async def _cancel(self) -> bool:
        state = self._find
        if state is None or state.done or state.cancel_sent or not self.is_established:
            return False
        state.cancel_sent = True
        await self._conn.send_message(state.context.context_id,
                                      CCancelRQ(message_id_being_responded_to=state.message_id))
        return True

    async def _find_all(self, sop_class: str, level: str, identifier: Dataset) -> list[Dataset]:
        state = await self._find_begin(sop_class, level, identifier)
        results = []
        try:
            while (ds := await self._find_next(state)) is not None:
                results.append(ds)
        finally:
            await self._find_end(state)
        return results

    async def _find_begin(self, sop_class: str, level: str, identifier: Dataset) -> _FindState:
        if self._lock is None:
            self._lock = asyncio.Lock()
        await self._lock.acquire()
        try:
            self._check()
            ctx = next((c for c in self.accepted_contexts if c.abstract_syntax == sop_class), None)
            if ctx is None:
                model = next(m for m, u in FIND_SOP_CLASSES.items() if u == sop_class)
                name = "Modality Worklist" if model == "worklist" else f"{model.title()} Root"
                raise NetworkError(f"{self.where} did not accept the {name} FIND SOP Class "
                                   f"({sop_class}); propose it in connect(contexts=...)")
            state = _FindState(ctx, self._next_id(), f"C-FIND at {level} level")
            await self._conn.send_message(ctx.context_id, CFindRQ(message_id=state.message_id,
                                                                  affected_sop_class_uid=sop_class),
                                          encode_dataset(identifier, ctx.transfer_syntax))
        except BaseException:
            self._lock.release()
            raise
        self._find = state
        return state

    async def _find_next(self, state: _FindState) -> Dataset | None:
        """The next match, or ``None`` once the final response came."""
        if state.done:
            return None
        msg = await self._response(state.message_id, "C-FIND")
        rsp = msg.command
        category = status_category(rsp.status)
        if category is StatusCategory.PENDING:
            if msg.data is None:
                log.warning("%s: pending C-FIND response without identifier ignored", self.where)
                return await self._find_next(state)
            data = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
            return _read_bytes(data, transfer_syntax=state.context.transfer_syntax)
        state.done = True
        if category is StatusCategory.CANCEL:
            if not state.cancel_sent:
                log.warning("%s: %s cancelled by the peer", self.where, state.what)
            return None
        if category is StatusCategory.WARNING:
            log.warning("%s: %s ended with status 0x%04X %s", self.where, state.what, rsp.status,
                        rsp.error_comment or "")
        elif category is not StatusCategory.SUCCESS:
            raise DimseError(explain_status(state.what, rsp.status, where=self.where,
                                            comment=rsp.error_comment), rsp.status)
        return None

    async def _find_end(self, state: _FindState) -> None:
        """Cancel the find if it is still running, read up to its final response, unlock."""
        try:
            if not state.done and self.is_established:
                await self._cancel()
                while await self._find_next(state) is not None:
                    pass
        finally:
            state.done = True
            if self._find is state:
                self._find = None
            self._lock.release()

    # --- release and abort ------------------------------------------------------------------

    async def release(self) -> None:
        """A-RELEASE: end the association in good order (aborted if the peer does not answer)."""
        await bridge(self._release())

    async def _release(self) -> None:
        if self._released or not self.is_established:
            await self._conn.wait_closed(self.timeout)
            return
        self._released = True
        self._conn.send_release_request()
        try:
            while True:
                ev = await self._conn.next_event(self.timeout)
                if isinstance(ev, ReleaseConfirmation):
                    break
                if isinstance(ev, ReleaseIndication):  # release collision (PS3.8 Sta9)
                    self._conn.send_release_response()
                    continue
                if isinstance(ev, Message):
                    log.warning("%s: %s ignored during release", self.where, ev.command.name)
                    continue
                raise _aborted(ev, self.where)
        except asyncio.TimeoutError:
            self._conn.abort()
            await self._conn.wait_closed(1.0)
            raise NetworkError(f"{self.where} did not answer the release request within "
                               f"{self.timeout} s; the association was aborted") from None
        await self._conn.wait_closed(self.timeout)

    async def abort(self) -> None:
        """A-ABORT: end the association at once."""
        await bridge(self._abort())

    async def _abort(self) -> None:
        self._released = True
        self._conn.abort()
        await self._conn.wait_closed(min(self.timeout or 5.0, 5.0))

    async def __aenter__(self) -> "Association":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            await self.release()
        else:
            await self.abort()


def _granted_window(rq: AssociateRQ, ac: AssociateAC) -> int:
    """The number of operations the requestor may invoke at once, by the A-ASSOCIATE-AC."""
    granted = ac.user_information.async_operations_window
    proposed = rq.user_information.async_operations_window
    if granted is None or proposed is None:
        return 1
    n = granted.max_operations_invoked or proposed.max_operations_invoked or _MAX_WINDOW
    if proposed.max_operations_invoked:
        n = min(n, proposed.max_operations_invoked)
    return max(1, min(n, _MAX_WINDOW))


#: The largest asynchronous operations window used (0, unlimited, counts as this).
_MAX_WINDOW = 256


async def _open(host: str, port: int, *, ae_title: str, called_ae: str, contexts, tls, identity,
                timeout: float | None, dimse_timeout: float | None, max_pdu_length: int,
                max_operations: int = 1) -> Association:
    if contexts is None:
        pcs = _default_contexts()
    elif isinstance(contexts, (list, tuple)) and contexts and all(isinstance(c, PresentationContextRQ)
                                                                  for c in contexts):
        pcs = tuple(contexts)
    else:
        pcs = contexts_for(_expand(contexts)[0])
    if not isinstance(max_operations, int) or not 1 <= max_operations <= _MAX_WINDOW:
        raise NetworkError(f"max_operations must be an int from 1 to {_MAX_WINDOW}, not {max_operations!r}")
    window = AsyncOperationsWindow(max_operations, 1) if max_operations > 1 else None
    rq = build_request(called_ae, ae_title, pcs, maximum_length=max_pdu_length,
                       user_identity=_identity(identity), async_operations_window=window,
                       roles=_roles(pcs))
    machine = StateMachine(artim_timeout=timeout if timeout else 30.0)
    conn = await open_connection(host, port, rq, machine=machine, sink=_spool_sink,
                                 ssl=ssl_context(tls, server_side=False), timeout=timeout,
                                 write_timeout=dimse_timeout if dimse_timeout is not None else timeout)
    where = f"{called_ae} at {host}:{port}"
    try:
        ev = await conn.next_event(timeout)
    except asyncio.TimeoutError:
        conn.abort()
        await conn.wait_closed(1.0)
        raise NetworkError(f"{where} did not answer the association request within {timeout} s") from None
    except BaseException:
        conn.abort()
        raise
    if isinstance(ev, AssociateAccepted):
        assoc = Association(conn, rq, ev.response, (host, port), timeout=timeout,
                            dimse_timeout=dimse_timeout if dimse_timeout is not None else timeout, tls=tls)
        log.debug("associated with %s: %d of %d contexts accepted", where, len(assoc.accepted_contexts),
                  len(pcs))
        return assoc
    await conn.wait_closed(timeout)
    if isinstance(ev, AssociateRejected):
        raise _rejection(ev.response, rq, where)
    raise _aborted(ev, where)


class _Connect:
    """What :func:`connect` returns: an async context manager, and an awaitable."""

    def __init__(self, host: str, port: int, params: dict) -> None:
        self._host, self._port, self._params = host, port, params
        self._assoc: Association | None = None

    def __await__(self):
        return bridge(_open(self._host, self._port, **self._params)).__await__()

    async def __aenter__(self) -> Association:
        self._assoc = await bridge(_open(self._host, self._port, **self._params))
        return self._assoc

    async def __aexit__(self, exc_type, exc, tb) -> None:
        assoc, self._assoc = self._assoc, None
        if assoc is None:
            return
        if exc_type is None:
            await assoc.release()
        else:
            await assoc.abort()


def connect(host: str, port: int, *, ae_title: str = DEFAULT_AE_TITLE, called_ae: str = "ANY-SCP",
            contexts: Any = None, tls: Any = None, identity: Any = None, timeout: float | None = 30.0,
            dimse_timeout: float | None = None,
            max_pdu_length: int = DEFAULT_MAXIMUM_LENGTH, max_operations: int = 16) -> _Connect:
    """Open an association with a DICOM node (as SCU).

    Use it as ``async with connect(...) as assoc`` (released at the end, aborted if an
    exception leaves the block) or ``assoc = await connect(...)`` (then
    ``await assoc.release()``).

    Parameters
    ----------
    host, port
        The peer's address.
    ae_title
        Our (calling) AE title.
    called_ae
        The peer's AE title.
    contexts
        What to propose: ``None`` for Verification, the Patient and Study Root FIND, MOVE
        and GET SOP classes and Modality Worklist FIND (:data:`FIND_SOP_CLASSES`,
        :data:`~pacsnb.net.retrieve.MOVE_SOP_CLASSES`, :data:`~pacsnb.net.retrieve.GET_SOP_CLASSES`)
        and the common storage SOP classes (:data:`DEFAULT_STORAGE_SOP_CLASSES`) in the
        native transfer syntaxes; otherwise
        anything :func:`contexts_for` takes (SOP class UIDs, ``(sop_class, transfer_syntax)``
        pairs, data sets, files, folders), or ready :class:`~pacsnb.net.PresentationContextRQ`
        items. Files in a compressed transfer syntax need their own context: pass them.
    tls
        DICOM over TLS: an :class:`ssl.SSLContext`, or a :class:`~pacsnb.net.tls.TLSConfig`
        (or a dict of its fields: ``certfile``, ``keyfile`` for mutual TLS, ``cafile`` to
        verify the server, ``profile``, ...) turned into a context for a PS3.15 Annex B
        profile by :func:`~pacsnb.net.tls.make_context`. ``None``: plain TCP.
    identity
        User identity negotiation: a user name, a ``(user, password)`` pair, a dict
        (``{"username": ..., "passcode": ...}``, ``{"kerberos": ticket}``, ``{"saml": assertion}``
        or ``{"jwt": token}``, with ``"positive_response": True`` to ask the peer to answer:
        :attr:`Association.identity_response`) or a :class:`~pacsnb.net.UserIdentityRQ`.
    timeout
        Seconds allowed for connecting, negotiating and releasing (also the ARTIM timer).
    dimse_timeout
        Seconds to wait for each DIMSE response (default: ``timeout``), and for a peer
        that stops reading what we send: then the association is aborted and
        :class:`~pacsnb.errors.NetworkError` names the timeout.
    max_pdu_length
        The largest P-DATA-TF we accept (the Maximum Length we propose).
    max_operations
        The asynchronous operations window we propose: how many operations we may have
        outstanding at once (:meth:`Association.store` pipelines up to what the peer
        grants). ``1`` leaves the sub-item out of the request (for a peer that mishandles
        it); peers that do not support it answer nothing and get one operation at a time.

    Raises
    ------
    NetworkError
        The connection cannot be made or no answer came.
    AssociationRejected
        The peer rejected the association (the message says why).
    AssociationAborted
        The peer aborted instead of answering.

    Examples
    --------
    >>> import asyncio, pacsnb.net as net
    >>> async def demo():
    ...     async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP") as server:
    ...         try:
    ...             await net.connect("127.0.0.1", server.port, called_ae="WRONG")
    ...         except net.AssociationRejected as err:
    ...             return str(err)
    >>> print(asyncio.run(demo()))  # doctest: +ELLIPSIS
    WRONG at 127.0.0.1:... permanently rejected the association (service user): called AE title not recognized: the peer does not answer to 'WRONG'; check called_ae
    """
    return _Connect(host, port, dict(ae_title=ae_title, called_ae=called_ae, contexts=contexts, tls=tls,
                                     identity=identity, timeout=timeout, dimse_timeout=dimse_timeout,
                                     max_pdu_length=max_pdu_length, max_operations=max_operations))
