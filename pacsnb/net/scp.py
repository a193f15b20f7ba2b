"""The SCP side: :class:`Server`, a registry of handlers per DIMSE service.

A server runs on pacsnb's service loop (:mod:`pacsnb.net.loop`): ``await server.start()``
in a notebook cell returns at once and the server keeps answering while other cells run,
heavy synchronous ones included. Each association gets its own task; messages of one
association are handled one after the other, associations concurrently.

Handlers
--------
``handlers`` maps a DIMSE service name to a function taking a :class:`ServiceRequest`.
Plain functions run in a worker thread (so they may block: write files, query a
database); ``async def`` functions run on the service loop (and must not block).

=================  ==========================================================================
service            the handler returns
=================  ==========================================================================
``"C-ECHO"``       ``None`` or a status (``0`` success)
``"C-STORE"``      ``None`` or a status; ``request.save(path)`` writes the Part 10 file
                   (the data set as received, streamed: compressed data passes through),
                   ``request.dataset`` decodes it
``"C-FIND"``       an iterable (or async iterable) of identifiers: data sets, or
                   ``(status, data set)`` pairs; each is a pending response, then success.
                   A C-CANCEL from the peer stops the iteration (status cancel, FE00)
``"C-MOVE"``       what to send: an iterable of data sets and Part 10 file paths (or a
``"C-GET"``        failure status). The server performs the C-STORE sub-operations: to the
                   move destination on a new association (its address from
                   ``destinations``; unknown: 0xA801), or back on the same association for
                   C-GET (storage contexts with SCP role), with pending responses counting
                   remaining/completed/failed/warning, honouring C-CANCEL (FE00)
``"N-..."``        ``None``, a status, a data set, or ``(status, data set or None)``
                   (N-EVENT-REPORT, N-GET, N-SET, N-ACTION, N-CREATE, N-DELETE; say which
                   SOP classes with ``sop_classes``). An N-CREATE without Affected SOP
                   Instance UID gets a new one before the handler sees it (answered back)
=================  ==========================================================================

A handler marked with :func:`inline` is cheap and never blocks: it runs on the service
loop as soon as its request is decoded, and its response is written at once (no task
wakes up, no thread is used). That suits C-ECHO, and a C-STORE handler that only keeps
the data in memory. It must not wait for anything (an ``async def`` one must not
``await`` anything that suspends).

Any handler may instead return a ready response command (``request.command.response(...)``,
for a status with an error comment, say). An exception in a handler is logged and
answered with a failure status (C000 for C-STORE and C-FIND, 0110 otherwise) whose error
comment names the exception.

Examples
--------
>>> import asyncio, pacsnb
>>> import pacsnb.net as net
>>> from pacsnb.samples import make_ct_series
>>> received = []
>>> def on_store(request):
...     received.append((request.sop_instance_uid, request.dataset.Modality))
...     return 0
>>> async def demo():
...     server = net.Server({"C-ECHO": lambda r: 0, "C-STORE": on_store}, port=0, ae_title="STORESCP")
...     await server.start()
...     try:
...         async with net.connect("127.0.0.1", server.port, called_ae="STORESCP") as assoc:
...             statuses = await assoc.store(make_ct_series(n_slices=3, rows=16, columns=16), progress=False)
...     finally:
...         await server.stop()
...     return statuses, server.statistics["C-STORE"], server.statistics["associations_released"]
>>> asyncio.run(demo())
([0, 0, 0], 3, 1)
>>> len(received), received[0][1]
(3, 'CT')
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import os
import struct
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pacsnb.dicom import Dataset
from pacsnb.dicom import uid as _uid
from pacsnb.errors import NetworkError
from pacsnb.io import encode_dataset, read_bytes
from pacsnb.io.writer import write_atomic
from pacsnb.net.dimse import (VERIFICATION_SOP_CLASS, Command, CStoreRQ, Message, Response, Spool,
                              Status, status_category)
from pacsnb.net.items import AsyncOperationsWindow, UserIdentityRQ
from pacsnb.net.loop import bridge
from pacsnb.net.negotiation import AcceptancePolicy, NegotiatedContext, negotiate
from pacsnb.net.pdu import (DEFAULT_MAXIMUM_LENGTH, AssociateRJ, RejectReason, RejectResult,
                            RejectSource)
from pacsnb.net.retrieve import serve_retrieve
from pacsnb.net.statemachine import AssociateIndication, ReleaseIndication, State, StateMachine
from pacsnb.net.tls import ssl_context
from pacsnb.net.transport import Connection

__all__ = ["Server", "ServiceRequest", "AssociationInfo", "SERVICES", "storage_sop_classes",
           "file_meta_bytes", "inline"]

log = logging.getLogger(__name__)

#: The DIMSE services a :class:`Server` has handlers for.
SERVICES = ("C-ECHO", "C-STORE", "C-FIND", "C-MOVE", "C-GET", "N-EVENT-REPORT", "N-GET", "N-SET", "N-ACTION",
            "N-CREATE", "N-DELETE")
_NATIVE = (_uid.ExplicitVRLittleEndian, _uid.ImplicitVRLittleEndian,
           _uid.DeflatedExplicitVRLittleEndian, _uid.ExplicitVRBigEndian)


def storage_sop_classes() -> tuple[str, ...]:
    """Every storage SOP class of the UID registry (the abstract syntaxes of C-STORE).

    Examples
    --------
    >>> from pacsnb.net.scp import storage_sop_classes
    >>> "1.2.840.10008.5.1.4.1.1.2" in storage_sop_classes(), len(storage_sop_classes()) > 150
    (True, True)
    """
    return tuple(u for u in _uid.all_uids("SOP Class")
                 if u.keyword.endswith("Storage") and u.keyword != "MediaStorageDirectoryStorage")


def _find_sop_classes() -> tuple[str, ...]:
    return tuple(u for u in _uid.all_uids("SOP Class") if u.keyword.endswith("Find"))


def _all_transfer_syntaxes() -> tuple[str, ...]:
    ours = list(_NATIVE)
    return tuple(ours + [str(u) for u in _uid.all_uids("Transfer Syntax") if u not in ours])


# --- Part 10 File Meta Information --------------------------------------------------------------

def _meta_element(elem: int, vr: str, value: bytes) -> bytes:
    if vr == "OB":
        return struct.pack("<HH2s2xI", 2, elem, b"OB", len(value)) + value
    return struct.pack("<HH2sH", 2, elem, vr.encode(), len(value)) + value


def _padded(text: str, pad: bytes) -> bytes:
    raw = text.encode("ascii")
    return raw + pad if len(raw) & 1 else raw


def file_meta_bytes(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, *,
                    source_ae_title: str | None = None) -> bytes:
    """Preamble, ``DICM`` and File Meta Information of a Part 10 file (PS3.10 7.1).

    What follows it is the data set, in ``transfer_syntax``, as received.

    Examples
    --------
    >>> import pacsnb
    >>> from pacsnb.net.scp import file_meta_bytes
    >>> raw = file_meta_bytes("1.2.3", "4.5.6", "1.2.840.10008.1.2") + bytes.fromhex("10001000040000004a4f4520")
    >>> ds = pacsnb.read(raw)
    >>> ds.PatientName, ds.file_meta.MediaStorageSOPInstanceUID, ds.file_meta.TransferSyntaxUID
    ('JOE', '4.5.6', '1.2.840.10008.1.2')
    """
    parts = [_meta_element(0x0001, "OB", b"\x00\x01"),
             _meta_element(0x0002, "UI", _padded(sop_class_uid, b"\x00")),
             _meta_element(0x0003, "UI", _padded(sop_instance_uid, b"\x00")),
             _meta_element(0x0010, "UI", _padded(transfer_syntax, b"\x00")),
             _meta_element(0x0012, "UI", _padded(_uid.PACSNB_IMPLEMENTATION_CLASS_UID, b"\x00")),
             _meta_element(0x0013, "SH", _padded(_uid.PACSNB_IMPLEMENTATION_VERSION_NAME, b" "))]
    if source_ae_title:
        parts.append(_meta_element(0x0016, "AE", _padded(source_ae_title, b" ")))
    body = b"".join(parts)
    return bytes(128) + b"DICM" + struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(body)) + body


# --- what handlers get --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AssociationInfo:
    """The association a request came on (``request.association`` in a handler).

    Examples
    --------
    >>> from pacsnb.net.scp import AssociationInfo
    >>> AssociationInfo(1, "CT1", "PACSNB", ("127.0.0.1", 40000), (), 16384).calling_ae_title
    'CT1'
    """

    id: int
    calling_ae_title: str
    called_ae_title: str
    address: tuple[str, int] | None
    contexts: tuple[NegotiatedContext, ...]
    peer_max_length: int
    implementation_class_uid: str | None = None
    implementation_version_name: str | None = None
    identity: UserIdentityRQ | None = None


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """A request received by a :class:`Server`, as its handler sees it.

    Attributes
    ----------
    command
        The request's command set (:class:`~pacsnb.net.dimse.CStoreRQ`, ...).
    context
        The presentation context it came on (abstract syntax, transfer syntax).
    association
        Who sent it (:class:`AssociationInfo`).
    data
        The data set as received: bytes, a file object (a large C-STORE is spooled to a
        temporary file, deleted once the handler returns), or ``None``.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> from pacsnb.io import encode_dataset
    >>> from pacsnb.net import NegotiatedContext
    >>> from pacsnb.net.dimse import CStoreRQ
    >>> from pacsnb.net.scp import AssociationInfo, ServiceRequest
    >>> ds = Dataset(); ds.PatientID = "P1"
    >>> request = ServiceRequest(
    ...     CStoreRQ(message_id=1, affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
    ...              affected_sop_instance_uid="1.2.3"),
    ...     NegotiatedContext(1, "1.2.840.10008.5.1.4.1.1.7", 0, "1.2.840.10008.1.2.1", True, False),
    ...     AssociationInfo(1, "CT1", "PACSNB", None, (), 0), encode_dataset(ds))
    >>> request.service, request.sop_instance_uid, request.dataset.PatientID
    ('C-STORE', '1.2.3', 'P1')
    >>> import pacsnb
    >>> pacsnb.read(request.save("/tmp/pacsnb-doc-servicerequest.dcm")).file_meta.SourceApplicationEntityTitle
    'CT1'
    """

    command: Command
    context: NegotiatedContext
    association: AssociationInfo
    data: Any = None
    _cancelled: set = field(default_factory=set, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    _send: Any = field(default=None, repr=False, compare=False)  # a request back on the same association

    @property
    def service(self) -> str:
        """The DIMSE service, e.g. ``'C-STORE'``."""
        return self.command.service

    @property
    def message_id(self) -> int:
        """The request's Message ID."""
        return self.command.message_id

    @property
    def transfer_syntax(self) -> str:
        """The transfer syntax of the data set (the presentation context's)."""
        return self.context.transfer_syntax or _uid.ImplicitVRLittleEndian

    @property
    def sop_class_uid(self) -> str | None:
        """Affected (or Requested) SOP Class UID."""
        return getattr(self.command, "affected_sop_class_uid", None) or \
            getattr(self.command, "requested_sop_class_uid", None)

    @property
    def sop_instance_uid(self) -> str | None:
        """Affected (or Requested) SOP Instance UID."""
        return getattr(self.command, "affected_sop_instance_uid", None) or \
            getattr(self.command, "requested_sop_instance_uid", None)

    @property
    def is_cancelled(self) -> bool:
        """Whether the peer sent a C-CANCEL for this request."""
        return self.message_id in self._cancelled

    async def n_event_report(self, event_type: int, information: Dataset | None = None, *,
                             sop_class_uid: str | None = None, sop_instance_uid: str | None = None,
                             timeout: float | None = 30.0) -> int:
        """Send an N-EVENT-REPORT to the peer on the association this request came on (on
        its presentation context), after the response to this request; the status of the
        peer's N-EVENT-REPORT response (e.g. a Storage Commitment result, PS3.4 J.3.3).

        Parameters
        ----------
        event_type
            The Event Type ID.
        information
            The Event Information data set.
        sop_class_uid, sop_instance_uid
            The Affected SOP Class and Instance (default: this request's).
        timeout
            Seconds allowed for this request's own response to go first, then as many for
            the peer's answer. Call it from a task (``asyncio.create_task``), not awaited in
            the handler: the handler's response must go first.

        Raises
        ------
        NetworkError
            The report could not be sent (the association has ended, stayed busy, or this
            request did not come from a :class:`Server` association), or it was sent and
            no answer came. The error's ``sent`` attribute is ``True`` when the association
            is still there but the answer did not come within ``timeout`` (the peer may
            have the report); ``False`` when it was not sent or the association ended first.

        Examples
        --------
        >>> import asyncio, pacsnb.net as net
        >>> from pacsnb.net.dimse import NEventReportRQ
        >>> COMMIT, INSTANCE = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
        >>> async def demo():
        ...     reported = []
        ...     async def on_action(request):  # answer, then report on the same association
        ...         reported.append(asyncio.create_task(request.n_event_report(1)))
        ...         return 0
        ...     async with net.Server({"N-ACTION": on_action}, port=0, ae_title="ARCH",
        ...                           sop_classes={"N-ACTION": [COMMIT]}) as s:
        ...         async with net.connect("127.0.0.1", s.port, called_ae="ARCH", contexts=[COMMIT]) as a:
        ...             await a.n_action(COMMIT, INSTANCE, 1)
        ...             report = await a.event_report(timeout=10)
        ...             return report.command.event_type_id, await reported[0]
        >>> asyncio.run(demo())
        (1, 0)
        """
        if self._send is None:
            raise NetworkError("this request did not come on a Server association: no report can be sent on it")
        from pacsnb.net.dimse import NEventReportRQ

        rq = NEventReportRQ(message_id=0, affected_sop_class_uid=sop_class_uid or self.sop_class_uid,
                            affected_sop_instance_uid=sop_instance_uid or self.sop_instance_uid,
                            event_type_id=int(event_type))
        data = encode_dataset(information, self.transfer_syntax) if information is not None else None
        rsp = await self._send(rq, data, timeout)
        return rsp.command.status

    def data_bytes(self) -> bytes:
        """The data set's bytes (read from the spool file if there is one)."""
        if self.data is None:
            return b""
        if isinstance(self.data, (bytes, bytearray, memoryview)):
            return bytes(self.data)
        self.data.seek(0)
        return self.data.read()

    @property
    def dataset(self) -> Dataset | None:
        """The data set, decoded on first use (``None`` if the request has none)."""
        if self.data is None:
            return None
        ds = self._cache.get("dataset")
        if ds is None:
            ds = self._cache["dataset"] = read_bytes(self.data_bytes(), transfer_syntax=self.transfer_syntax)
        return ds

    def save(self, path: str | os.PathLike, *, fsync: bool = True) -> Path:
        """Write the received SOP instance as a Part 10 file, atomically.

        The data set is copied as received (no decoding, whatever its transfer syntax)
        after a File Meta Information made from the command (SOP class and instance UIDs),
        the transfer syntax and the calling AE title. The file is written under a
        temporary name, synced and renamed, so a crash never leaves half a file.

        Returns
        -------
        Path
            ``path``.
        """
        if not isinstance(self.command, CStoreRQ):
            raise NetworkError(f"save() is for C-STORE requests, not {self.command.name}")
        meta = file_meta_bytes(self.command.affected_sop_class_uid, self.command.affected_sop_instance_uid,
                               self.transfer_syntax, source_ae_title=self.association.calling_ae_title)
        data = self.data if self.data is not None else b""
        if hasattr(data, "seek"):
            data.seek(0)
        write_atomic(path, [meta, data], fsync=fsync, make_dirs=True)
        return path if isinstance(path, Path) else Path(path)


def _close_data(data: Any) -> None:
    """Close a request's spool once it is answered; a spool that cannot be closed (a view
    of its buffer still held somewhere) is logged and left to the garbage collector, never
    allowed to stop the association."""
    if data is None or not hasattr(data, "close"):
        return
    try:
        data.close()
    except (BufferError, OSError, ValueError) as exc:
        log.warning("could not close a received data set's spool: %s", exc)


# --- inline handlers ----------------------------------------------------------------------------

_INLINE_ATTR = "__pacsnb_inline__"
#: The services with a single response whose handlers may run inline.
_INLINE_SERVICES = ("C-ECHO", "C-STORE", "N-EVENT-REPORT", "N-GET", "N-SET", "N-ACTION", "N-CREATE",
                    "N-DELETE")


def inline(handler: Callable[[ServiceRequest], Any]) -> Callable[[ServiceRequest], Any]:
    """Mark a handler as cheap and non-blocking: a :class:`Server` calls it on the service
    loop the moment its request is decoded and writes the response at once, with no task
    switch and no worker thread (the fast path for C-ECHO in a tight loop).

    The handler must return quickly and never block (no file or network I/O, no locks
    held by other threads). An ``async def`` handler may be marked too, as long as it never
    suspends (awaits nothing that waits): if it does, the request gets a failure status.
    Requests are still handled in order, one at a time per association; a request that
    arrives while another is being handled waits its turn as usual.
    Services: C-ECHO, C-STORE and the N-services (one response each); the mark is ignored
    for the others.

    Parameters
    ----------
    handler
        The handler (it is marked and returned, so ``@inline`` works as a decorator).

    Returns
    -------
    callable
        ``handler`` itself.

    Examples
    --------
    >>> import asyncio, pacsnb.net as net
    >>> from pacsnb.net.scp import inline
    >>> @inline
    ... def on_echo(request):
    ...     return 0
    >>> async def demo():
    ...     async with net.Server({"C-ECHO": on_echo}, port=0, ae_title="SCP") as server:
    ...         async with net.connect("127.0.0.1", server.port, called_ae="SCP",
    ...                                contexts=["1.2.840.10008.1.1"]) as assoc:
    ...             return [await assoc.echo() for _ in range(3)], server.statistics["C-ECHO"]
    >>> asyncio.run(demo())
    ([0, 0, 0], 3)
    """
    try:
        setattr(handler, _INLINE_ATTR, True)
    except (AttributeError, TypeError):  # a bound method or a builtin: wrap it
        original = handler

        @functools.wraps(original)
        def handler(request):  # type: ignore[no-redef]
            return original(request)
        setattr(handler, _INLINE_ATTR, True)
    return handler


def _is_inline(handler: Any) -> bool:
    return bool(getattr(handler, _INLINE_ATTR, False))


class _Suspended(Exception):
    """An inline ``async def`` handler waited for something."""


def _call_inline(handler: Callable, request: ServiceRequest) -> Any:
    result = handler(request)
    if inspect.iscoroutine(result):  # an async def marked inline: run it to its end, here
        try:
            result.send(None)
        except StopIteration as done:
            return done.value
        result.close()
        raise _Suspended(f"the inline handler {getattr(handler, '__name__', handler)!r} waited for "
                         f"something; an inline handler must not (remove the inline mark)")
    if inspect.isawaitable(result):
        raise _Suspended(f"the inline handler {getattr(handler, '__name__', handler)!r} returned an "
                         f"awaitable; an inline handler must give its result at once")
    return result


_SERVICE_OF: dict[type, str] = {}


def _service_of(command: Command) -> str:
    cls = type(command)
    service = _SERVICE_OF.get(cls)
    if service is None:
        service = _SERVICE_OF[cls] = command.service
    return service


# --- the server ---------------------------------------------------------------------------------

_FAILURE = {"C-STORE": Status.CANNOT_UNDERSTAND, "C-FIND": Status.CANNOT_UNDERSTAND}


def _comment(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".encode("ascii", "replace").decode()
    return text[:64].rstrip()


class Server:
    """A DICOM server (SCP) running on pacsnb's service loop.

    Parameters
    ----------
    handlers
        ``{service: handler}`` for the services of :data:`SERVICES` (see the module
        description for what each handler returns).
    port
        The TCP port; ``0`` picks a free one (read :attr:`port` after :meth:`start`).
    host
        The address to listen on: ``"127.0.0.1"`` (this machine only) by default,
        ``"0.0.0.0"`` to serve the network.
    ae_title
        Our AE title.
    require_called_ae
        Reject associations whose called AE title is not ``ae_title`` (reason 7).
    calling_ae_titles
        The calling AE titles allowed (reason 3 for others); ``None`` allows any.
    max_associations
        Associations served at once; more are rejected (transient, local limit exceeded).
    max_connections
        Transport connections open at once, associated or not (default
        ``max_associations + 16``: a few more than the associations, so that the excess
        gets a proper A-ASSOCIATE-RJ). A connection beyond it is closed the moment it is
        accepted (counted in ``statistics["connections_refused"]``), so that peers that
        connect and send nothing cannot hold memory until ARTIM expires. With TLS a
        connection counts once its handshake is done (handshakes are bounded by
        ``artim_timeout``).
    maximum_length
        The largest P-DATA-TF PDU we accept (the Maximum Length we answer). What we send
        honours the peer's.
    artim_timeout
        Seconds allowed for the association request after connecting, and for the peer
        to close after a release or an abort (PS3.8 ARTIM timer).
    network_timeout
        Seconds of silence from a peer (while we wait for it) before its association is
        aborted, and seconds a response may wait for a peer that stopped reading (its
        association is then aborted, the socket closed, and the server goes on serving
        the others); ``None`` waits forever.
    sop_classes
        ``{service: SOP class UIDs}`` overriding the abstract syntaxes accepted for a
        service. By default: Verification for C-ECHO, every storage SOP class for C-STORE
        (in every transfer syntax: data sets are kept as received), the query SOP classes
        for C-FIND. N-services have no default.
    tls
        DICOM over TLS: an :class:`ssl.SSLContext` (server side), or a
        :class:`~pacsnb.net.tls.TLSConfig` (or a dict of its fields): ``certfile`` and
        ``keyfile`` (required), ``cafile`` to require client certificates signed by it
        (mutual TLS), ``profile`` (a PS3.15 Annex B profile, BCP 195 non-downgrading by
        default). See :mod:`pacsnb.net.tls`.
    identity
        ``f(UserIdentityRQ) -> bool, bytes or None`` to check user identity negotiation
        (``False`` rejects); ``None`` ignores it.
    spool_threshold
        C-STORE data sets larger than this many bytes are spooled to a temporary file
        (in ``spool_dir``) as they arrive instead of being held in memory.
    spool_dir
        Where spool files go (default: the system's temporary folder).
    destinations
        C-MOVE destinations: ``{AE title: (host, port)}``, or a function of the AE title
        returning ``(host, port)`` or ``None``. A destination not found gets 0xA801 (move
        destination unknown).
    move_timeout
        Seconds allowed to connect to a move destination, and for each C-STORE
        sub-operation's response (C-MOVE and C-GET).
    destination_tls
        DICOM over TLS for the associations opened to C-MOVE destinations, as
        :func:`~pacsnb.net.connect` takes it (a :class:`~pacsnb.net.tls.TLSConfig` with the
        authority that signed their certificates, and ours for mutual TLS, or a client-side
        :class:`ssl.SSLContext`). ``None``: plain TCP.
    max_operations
        The asynchronous operations window granted to a requestor that proposes one: up
        to this many C-STORE and C-ECHO requests of one association are handled at once
        (their handlers run concurrently; each response goes as soon as its handler
        returns). Other requests, and associations without the proposal, are handled
        one at a time. ``1`` grants no window.

    Attributes
    ----------
    port
        The port actually listened on (after :meth:`start`).
    policy
        The :class:`~pacsnb.net.AcceptancePolicy` answering association requests.

    Examples
    --------
    In a notebook, ``await server.start()`` returns at once and the server keeps serving
    while other cells run:

    >>> import asyncio, pacsnb.net as net
    >>> server = net.Server({"C-ECHO": lambda request: 0}, port=0, ae_title="PACSNB",
    ...                     calling_ae_titles=["CT1", "WORKSTATION"])
    >>> async def cell():
    ...     await server.start()
    ...     async with net.connect("127.0.0.1", server.port, ae_title="CT1", called_ae="PACSNB") as a:
    ...         status = await a.echo()
    ...     await server.stop()
    ...     return status
    >>> asyncio.run(cell()), server.statistics["associations_accepted"], server.is_serving
    (0, 1, False)
    """

    def __init__(self, handlers: Mapping[str, Callable[[ServiceRequest], Any]], *, port: int = 11112,
                 host: str = "127.0.0.1", ae_title: str = "PACSNB", require_called_ae: bool = True,
                 calling_ae_titles: Iterable[str] | None = None, max_associations: int = 32,
                 max_connections: int | None = None,
                 maximum_length: int = DEFAULT_MAXIMUM_LENGTH, artim_timeout: float = 30.0,
                 network_timeout: float | None = 60.0,
                 sop_classes: Mapping[str, Iterable[str]] | None = None, tls: Any = None,
                 identity: Callable[[UserIdentityRQ], Any] | None = None,
                 spool_threshold: int = 8 << 20, spool_dir: str | os.PathLike | None = None,
                 max_operations: int = 16,
                 destinations: Mapping[str, tuple[str, int]] | Callable[[str], Any] | None = None,
                 move_timeout: float | None = 30.0, destination_tls: Any = None) -> None:
        unknown = sorted(set(handlers) - set(SERVICES))
        if unknown:
            raise NetworkError(f"no SCP support for {', '.join(unknown)}; handlers can be given for "
                               f"{', '.join(SERVICES)}")
        self.handlers = dict(handlers)
        self.host = host
        self.port = port
        self.ae_title = ae_title
        self.max_associations = max_associations
        #: Transport connections open at once; more are closed as soon as accepted.
        self.max_connections = max_connections if max_connections is not None else max_associations + 16
        if not isinstance(self.max_connections, int) or self.max_connections < 1:
            raise NetworkError(f"max_connections must be a positive int, not {max_connections!r}")
        self._open: set[Connection] = set()
        self.artim_timeout = artim_timeout
        self.network_timeout = network_timeout
        #: The server's :class:`ssl.SSLContext` (``None``: plain TCP).
        self.tls = ssl_context(tls, server_side=True)
        if not isinstance(max_operations, int) or not 1 <= max_operations <= 256:
            raise NetworkError(f"max_operations must be an int from 1 to 256, not {max_operations!r}")
        self.max_operations = max_operations
        self.spool_threshold = spool_threshold
        self.spool_dir = os.fspath(spool_dir) if spool_dir is not None else None
        supported: dict[str, tuple[str, ...] | None] = {}
        overrides = {k: tuple(v) for k, v in (sop_classes or {}).items()}
        for service in self.handlers:
            if service in overrides:
                classes = overrides[service]
            elif service == "C-ECHO":
                classes = (VERIFICATION_SOP_CLASS,)
            elif service == "C-STORE":
                classes = storage_sop_classes()
            elif service == "C-FIND":
                classes = _find_sop_classes()
            elif service in ("C-MOVE", "C-GET"):
                suffix = "Move" if service == "C-MOVE" else "Get"
                classes = tuple(u for u in _uid.all_uids("SOP Class") if u.keyword.endswith(suffix))
            else:
                raise NetworkError(f"say which SOP classes the {service} handler serves: "
                                   f"Server(..., sop_classes={{{service!r}: [...]}})")
            syntaxes = _all_transfer_syntaxes() if service == "C-STORE" else _NATIVE
            for sop in classes:
                supported[str(sop)] = syntaxes
        roles: dict[str, tuple[bool, bool]] = {}
        if "C-GET" in self.handlers:  # C-STORE sub-operations go back to the requestor: its SCP role
            for sop in overrides.get("C-STORE", storage_sop_classes()):
                supported.setdefault(str(sop), _all_transfer_syntaxes())
                roles[str(sop)] = (True, True)
        #: Where C-MOVE destinations are: ``{AE title: (host, port)}`` or a function of the AE
        #: title returning ``(host, port)`` or ``None`` (unknown: 0xA801).
        self.destinations = destinations if destinations is not None else {}
        #: Seconds allowed to connect to a move destination and for each sub-operation.
        self.move_timeout = move_timeout
        #: The client-side TLS context of the associations to move destinations (``None``: plain TCP).
        self.destination_tls = ssl_context(destination_tls, server_side=False)
        #: The negotiation policy (built from the arguments; replace it to fine-tune).
        self.policy = AcceptancePolicy(
            ae_title=ae_title if require_called_ae else None,
            calling_ae_titles=frozenset(calling_ae_titles) if calling_ae_titles is not None else None,
            abstract_syntaxes=supported, transfer_syntaxes=_NATIVE, prefer_proposed_order=True,
            maximum_length=maximum_length, user_identity=identity, roles=roles,
            async_operations_window=AsyncOperationsWindow(max_operations, 1) if max_operations > 1 else None)
        self._stats: dict[str, int] = {
            "connections": 0, "connections_open": 0, "connections_refused": 0, "associations_active": 0, "associations_accepted": 0,
            "associations_rejected": 0, "associations_released": 0, "associations_aborted": 0,
            "messages_received": 0, "responses_sent": 0, "failures": 0,
            "bytes_received": 0, "bytes_sent": 0, **{s: 0 for s in SERVICES}}
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        # requests we sent on an association (ServiceRequest.n_event_report): {conn: {message ID: future}}
        self._awaiting: dict[Connection, dict[int, asyncio.Future]] = {}
        self._request_ids: dict[Connection, int] = {}  # the last message ID of those requests
        self._stopping = False
        self._next_id = 0
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        state = f"listening on {self.host}:{self.port}" if self.is_serving else "stopped"
        return (f"<Server {self.ae_title} {state}, {self._stats['associations_active']} associations, "
                f"services {', '.join(self.handlers)}>")

    def _destination(self, ae_title: str) -> tuple[str, int] | None:
        dest = self.destinations
        try:
            address = dest(ae_title) if callable(dest) else dest.get(ae_title)
        except Exception:  # a failing lookup is an unknown destination, logged
            log.exception("%s: looking up move destination %r failed", self.ae_title, ae_title)
            return None
        if address is None:
            return None
        host, port = address
        return str(host), int(port)

    @property
    def is_serving(self) -> bool:
        """Whether the server listens."""
        return self._server is not None

    @property
    def statistics(self) -> dict[str, int]:
        """Live counters: connections (accepted, open, refused beyond ``max_connections``),
        associations (active, accepted, rejected, released, aborted: by the peer, by a
        timeout, or because the peer stopped reading), messages received per service,
        responses sent, failures, bytes in and out."""
        return dict(self._stats)

    # --- start and stop -----------------------------------------------------------------------

    async def start(self) -> "Server":
        """Start listening (on the service loop); returns at once.

        Raises
        ------
        NetworkError
            The port cannot be bound.
        """
        return await bridge(self._start())

    async def _start(self) -> "Server":
        if self._server is not None:
            return self
        loop = asyncio.get_running_loop()
        self._stopping = False
        try:
            self._server = await loop.create_server(
                self._factory, self.host, self.port, ssl=self.tls, reuse_address=True, backlog=128,
                ssl_handshake_timeout=self.artim_timeout if self.tls is not None else None)
        except OSError as err:
            raise NetworkError(f"cannot listen on {self.host}:{self.port}: {err}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("%s listening on %s:%d", self.ae_title, self.host, self.port)
        return self

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop: refuse new connections, finish the messages in progress, end every association.

        Idle associations are aborted at once; one receiving or handling a message is
        aborted after its response is sent. After ``timeout`` seconds whatever is left is
        cut off.
        """
        await bridge(self._stop(timeout))

    async def _stop(self, timeout: float) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        for conn in list(self._connections):
            if not conn.busy and not conn.assembler.in_progress:
                conn.abort()
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
        try:
            await asyncio.wait_for(server.wait_closed(), 1.0)
        except asyncio.TimeoutError:  # pragma: no cover
            pass
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
        log.info("%s stopped", self.ae_title)

    async def __aenter__(self) -> "Server":
        return await self.start()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.stop()

    # --- associations -------------------------------------------------------------------------

    def _factory(self) -> Connection:
        self._stats["connections"] += 1
        return Connection(StateMachine(artim_timeout=self.artim_timeout), sink=self._sink,
                          on_open=self._serve, idle_timeout=self.network_timeout, statistics=self._stats,
                          admit=self._admit, on_close=self._closed)

    def _admit(self, conn: Connection) -> bool:
        if len(self._open) >= self.max_connections:
            self._stats["connections_refused"] += 1
            log.warning("%s: connection from %s closed: %d connections already open (max_connections)",
                        self.ae_title, conn.peer, self.max_connections)
            return False
        self._open.add(conn)
        self._stats["connections_open"] = len(self._open)
        return True

    def _closed(self, conn: Connection) -> None:
        self._open.discard(conn)
        self._stats["connections_open"] = len(self._open)

    def _sink(self, context_id: int, command: Command):
        if isinstance(command, CStoreRQ):
            return Spool(max_size=self.spool_threshold, dir=self.spool_dir)
        return None

    async def _serve(self, conn: Connection) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._connections.add(conn)
        try:
            ev = await conn.next_event()
            if not isinstance(ev, AssociateIndication):
                return
            rq = ev.request
            if self._stopping or self._stats["associations_active"] >= self.max_associations:
                log.warning("%s: association from %s rejected: %s", self.ae_title, rq.calling_ae_title,
                            "stopping" if self._stopping else f"{self.max_associations} already active")
                self._stats["associations_rejected"] += 1
                conn.send_associate_reject(AssociateRJ(RejectResult.TRANSIENT,
                                                       RejectSource.SERVICE_PROVIDER_PRESENTATION,
                                                       RejectReason.LOCAL_LIMIT_EXCEEDED))
                return
            outcome = negotiate(rq, self.policy)
            if not outcome.accepted:
                log.info("%s: association from %s (%s) rejected: %s", self.ae_title, rq.calling_ae_title,
                         conn.peer, outcome.response)
                self._stats["associations_rejected"] += 1
                conn.send_associate_reject(outcome.response)
                return
            self._next_id += 1
            ui = rq.user_information
            info = AssociationInfo(self._next_id, rq.calling_ae_title, rq.called_ae_title, conn.peer,
                                   outcome.contexts, conn.machine.peer_max_length,
                                   ui.implementation_class_uid, ui.implementation_version_name,
                                   ui.user_identity)
            contexts = {c.context_id: c for c in outcome.contexts if c.accepted}
            self._stats["associations_accepted"] += 1
            self._stats["associations_active"] += 1
            try:
                conn.window = _granted_window(outcome.response)
                conn.send_associate_accept(outcome.response)
                await self._messages(conn, info, contexts)
            finally:
                self._stats["associations_active"] -= 1
        except asyncio.CancelledError:
            conn.abort()
            raise
        except NetworkError as err:  # the peer went away or stopped reading: one line, no traceback
            log.warning("%s: association with %s ended: %s", self.ae_title, conn.peer, err)
            self._stats["associations_aborted"] += 1
            conn.abort()
        except Exception:
            log.exception("%s: association with %s failed", self.ae_title, conn.peer)
            self._stats["associations_aborted"] += 1
            conn.abort()
        finally:
            self._request_ids.pop(conn, None)
            for future in self._awaiting.pop(conn, {}).values():  # nobody answers them now
                if not future.done():
                    future.set_exception(NetworkError(f"the association with {conn.peer} ended before "
                                                      "the response"))
            try:
                await conn.wait_closed(self.artim_timeout)
            finally:
                self._tasks.discard(task)
                self._connections.discard(conn)

    def _sender(self, conn: Connection, ctx: NegotiatedContext) -> Callable:
        """A function sending a request to the peer on ``conn`` and returning its response."""
        async def send(rq: Command, data: bytes | None, timeout: float | None) -> Message:
            loop = asyncio.get_running_loop()
            name = rq.name.replace("-RQ", "")
            deadline = None if timeout is None else loop.time() + timeout
            while conn.busy or conn.pending is not None:  # the response in progress goes first
                if conn.closed:
                    break
                if deadline is not None and loop.time() > deadline:
                    raise NetworkError(f"the association with {conn.peer} stayed busy for {timeout} s: the "
                                       f"{name} was not sent (send it from a task, after the response)")
                await asyncio.sleep(0.002)
            if conn.closed or conn.machine.state is not State.STA6:
                raise NetworkError(f"the association with {conn.peer} has ended: the {name} was not sent")
            waiting = self._awaiting.setdefault(conn, {})
            mid = self._request_ids.get(conn, 0) % 0xFFFF + 1
            self._request_ids[conn] = mid
            future = loop.create_future()
            waiting[mid] = future
            try:
                await conn.send_message(ctx.context_id, rq.replace(message_id=mid), data)
                try:
                    return await asyncio.wait_for(future, timeout)
                except asyncio.TimeoutError:
                    err = NetworkError(f"{conn.peer} did not answer the {name} within {timeout} s")
                    err.sent = True
                    raise err from None
                except NetworkError as err:  # the association ended before the answer: a peer
                    err.sent = False             # that had taken the report would have answered it
                    raise
            finally:
                waiting.pop(mid, None)
        return send

    def _answered(self, conn: Connection, msg: Message) -> bool:
        """``Connection.on_response``: whether the response ``msg`` answers a request we sent
        on ``conn`` (then it is handed over)."""
        waiting = self._awaiting.get(conn)
        if not waiting:
            return False
        future = waiting.get(getattr(msg.command, "message_id_being_responded_to", None))
        if future is None:
            return False
        if not future.done():
            future.set_result(msg)
        return True

    def _request(self, conn: Connection, ctx: NegotiatedContext, info: AssociationInfo, cmd: Command,
                 msg: Message) -> ServiceRequest:
        """The :class:`ServiceRequest` a handler gets; an N-service's can send a report back
        on the association (:meth:`ServiceRequest.n_event_report`)."""
        send = self._sender(conn, ctx) if cmd.service.startswith("N-") else None
        return ServiceRequest(cmd, ctx, info, msg.data, conn.cancelled, _send=send)

    async def _messages(self, conn: Connection, info: AssociationInfo,
                        contexts: dict[int, NegotiatedContext]) -> None:
        fast = {k: h for k, h in self.handlers.items()
                if k in _INLINE_SERVICES and (_is_inline(h) or (conn.window == 1 and not _on_loop(h)))}
        if fast:
            conn.on_message = functools.partial(self._inline, conn, info, contexts, fast)
        conn.on_response = functools.partial(self._answered, conn)  # (ServiceRequest.n_event_report)
        try:
            if conn.window > 1:
                await self._messages_window(conn, info, contexts)
            else:
                await self._messages_one(conn, info, contexts)
        finally:
            conn.on_message = conn.on_response = None

    def _inline(self, conn: Connection, info: AssociationInfo, contexts: dict[int, NegotiatedContext],
                handlers: dict[str, Callable], msg: Message) -> bool:
        """The fast path (``Connection.on_message``), for requests with one response: a handler
        marked :func:`inline` runs at once, on the loop, and its response is written at once;
        a plain function (on an association without an operations window) is handed to a
        worker thread straight from the receive path, and its response is written as soon as
        it returns (the association's task does not wake up for it; messages that arrive
        meanwhile wait for it, in order). ``False`` leaves ``msg`` to the association's task."""
        cmd = msg.command
        service = _service_of(cmd)
        handler = handlers.get(service)
        if handler is None or self._stopping or not cmd.is_request:
            return False
        ctx = contexts.get(msg.context_id)
        if ctx is None or conn.machine.state is not State.STA6 or not conn.can_write_now():
            return False
        if service == "N-CREATE" and not cmd.affected_sop_instance_uid:
            return False  # the performer names the instance: the usual path does it
        stats = self._stats
        stats["messages_received"] += 1
        stats[service] += 1
        request = self._request(conn, ctx, info, cmd, msg)
        if not _is_inline(handler):
            self._in_thread(conn, ctx, msg, service, handler, request)
            return True
        try:
            rsp, data = _single_response(cmd, _call_inline(handler, request), ctx)
        except Exception as err:
            log.exception("%s: the %s handler failed", self.ae_title, service)
            rsp, data = cmd.response(_FAILURE.get(service, Status.PROCESSING_FAILURE),
                                     error_comment=_comment(err)), None
        finally:
            _close_data(msg.data)
        if rsp.status and status_category(rsp.status).value == "failure":
            stats["failures"] += 1
        stats["responses_sent"] += 1
        if not conn.write_message_now(ctx.context_id, rsp, data, any_size=True):  # pragma: no cover
            conn.busy = True  # cannot happen (checked above): send it in order anyway

            async def later() -> None:
                try:
                    await conn.send_message(ctx.context_id, rsp, data)
                finally:
                    conn.busy = False
            self._loop_task(later())
        return True

    def _in_thread(self, conn: Connection, ctx: NegotiatedContext, msg: Message, service: str,
                   handler: Callable, request: ServiceRequest) -> None:
        """Run a blocking handler in a worker thread; answer from the loop when it returns."""
        loop = asyncio.get_running_loop()
        conn.busy = True  # later messages queue for the association's task, which waits for this one
        conn.pending = loop.create_future()
        pool = self._pool
        if pool is None:
            pool = self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="pacsnb-handler")

        def returned(future: concurrent.futures.Future) -> None:  # in the worker thread
            try:
                error = future.exception()
            except BaseException as err:  # pragma: no cover - cancelled: nothing cancels these
                error = err
            result = None if error is not None else future.result()
            try:
                loop.call_soon_threadsafe(self._thread_done, conn, ctx, msg, service, result, error)
            except RuntimeError:  # pragma: no cover - the loop is closed: nobody to answer
                pass

        try:
            pool.submit(handler, request).add_done_callback(returned)
        except RuntimeError as err:  # pragma: no cover - the pool was shut down (stopping)
            self._thread_done(conn, ctx, msg, service, None, err)

    def _thread_done(self, conn: Connection, ctx: NegotiatedContext, msg: Message, service: str,
                     result: Any, error: BaseException | None) -> None:
        cmd = msg.command
        try:
            if error is not None:
                raise error
            rsp, data = _single_response(cmd, result, ctx)
        except BaseException as err:  # the handler's, from its thread: answered with a failure status
            log.error("%s: the %s handler failed", self.ae_title, service, exc_info=err)
            rsp, data = cmd.response(_FAILURE.get(service, Status.PROCESSING_FAILURE),
                                     error_comment=_comment(err)), None
        finally:
            _close_data(msg.data)

        def finish() -> None:
            conn.busy = False
            pending, conn.pending = conn.pending, None
            if pending is not None and not pending.done():
                pending.set_result(None)
            if self._stopping:  # the work in flight is done: end the association
                conn.abort()

        if conn.closed or conn.machine.state.value not in (6, 8):
            finish()
            return
        if rsp.status and status_category(rsp.status).value == "failure":
            self._stats["failures"] += 1
        self._stats["responses_sent"] += 1
        try:
            sent = conn.write_message_now(ctx.context_id, rsp, data, any_size=True)
        except NetworkError:  # pragma: no cover - closed as we answered
            sent = True
        if sent:
            finish()
            return

        async def later() -> None:  # the peer is slow to read: wait for the transport
            try:
                await conn.send_message(ctx.context_id, rsp, data)
            except NetworkError:  # pragma: no cover
                pass
            finally:
                finish()
        self._loop_task(later())

    def _loop_task(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _messages_one(self, conn: Connection, info: AssociationInfo,
                            contexts: dict[int, NegotiatedContext]) -> None:
        while True:
            if self._stopping:
                conn.abort()
                self._stats["associations_aborted"] += 1
                return
            ev = await conn.next_event()
            if conn.pending is not None:  # a request handed to a worker thread is answered first
                await conn.pending
            if isinstance(ev, Message):
                conn.busy = True
                try:
                    await self._handle(conn, info, contexts, ev)
                finally:
                    conn.busy = False
                    _close_data(ev.data)
                continue
            if isinstance(ev, ReleaseIndication):
                self._stats["associations_released"] += 1
                conn.send_release_response()
                return
            self._stats["associations_aborted"] += 1
            return

    async def _messages_window(self, conn: Connection, info: AssociationInfo,
                               contexts: dict[int, NegotiatedContext]) -> None:
        """The messages of an association with an asynchronous operations window: C-STORE and
        C-ECHO requests are handled concurrently, up to ``conn.window`` at once; any other
        message waits until those in progress are done, then is handled alone."""
        running: set[asyncio.Task] = set()
        slots = asyncio.Semaphore(conn.window)

        async def one(msg: Message) -> None:
            try:
                await self._handle(conn, info, contexts, msg)
            finally:
                _close_data(msg.data)  # never raises: the slot is always given back
                slots.release()

        def done(task: asyncio.Task) -> None:
            running.discard(task)
            conn.busy = bool(running)
            if self._stopping and not running:  # the work in flight is done: end the association
                conn.abort()
            error = None if task.cancelled() else task.exception()
            if isinstance(error, NetworkError):  # the peer went away: its association ends
                log.warning("%s: association with %s: %s", self.ae_title, conn.peer, error)
            elif error is not None:  # pragma: no cover - _handle answers
                log.error("%s: handling a request failed: %r", self.ae_title, error)

        async def drain() -> None:
            if running:
                await asyncio.wait(list(running))

        try:
            while True:
                if self._stopping:
                    await drain()
                    conn.abort()
                    self._stats["associations_aborted"] += 1
                    return
                ev = await conn.next_event()
                if isinstance(ev, Message):
                    service = ev.command.service
                    if service == "C-ECHO" and not running:  # nothing to overlap with: no task
                        await slots.acquire()
                        conn.busy = True
                        try:
                            await one(ev)
                        finally:
                            conn.busy = False
                        continue
                    if service in ("C-STORE", "C-ECHO") and ev.command.is_request:
                        await slots.acquire()
                        conn.busy = True
                        task = asyncio.get_running_loop().create_task(one(ev))
                        running.add(task)
                        task.add_done_callback(done)
                        continue
                    await drain()
                    await slots.acquire()
                    conn.busy = True
                    try:
                        await one(ev)
                    finally:
                        conn.busy = bool(running)
                    continue
                await drain()
                if isinstance(ev, ReleaseIndication):
                    self._stats["associations_released"] += 1
                    conn.send_release_response()
                    return
                self._stats["associations_aborted"] += 1
                return
        finally:
            for task in list(running):
                task.cancel()
            if running:
                await asyncio.wait(list(running), timeout=1.0)

    async def _handle(self, conn: Connection, info: AssociationInfo,
                      contexts: dict[int, NegotiatedContext], msg: Message) -> None:
        cmd = msg.command
        self._stats["messages_received"] += 1
        ctx = contexts.get(msg.context_id)
        if ctx is None:
            log.warning("%s: %s on presentation context %d, which was not accepted; aborting",
                        self.ae_title, cmd.name, msg.context_id)
            conn.abort()
            return
        if not cmd.is_request:
            log.warning("%s: unexpected %s from %s ignored", self.ae_title, cmd.name, info.calling_ae_title)
            return
        service = cmd.service
        if service in self._stats:
            self._stats[service] += 1
        handler = self.handlers.get(service)
        if handler is None:
            await self._respond(conn, ctx, cmd.response(Status.UNRECOGNIZED_OPERATION,
                                                        error_comment=f"no {service} here"))
            return
        if service == "N-CREATE" and not cmd.affected_sop_instance_uid:  # the performer names it
            cmd = cmd.replace(affected_sop_instance_uid=str(_uid.generate_uid()))
        request = self._request(conn, ctx, info, cmd, msg)
        if service in ("C-MOVE", "C-GET"):
            await serve_retrieve(self, conn, ctx, contexts, request, handler)
            return
        if service == "C-FIND":
            await self._find(conn, ctx, request, handler)
            return
        try:
            result = await _call(handler, request)
            rsp, data = _single_response(cmd, result, ctx)
        except Exception as err:
            log.exception("%s: the %s handler failed", self.ae_title, service)
            rsp, data = cmd.response(_FAILURE.get(service, Status.PROCESSING_FAILURE),
                                     error_comment=_comment(err)), None
        await self._respond(conn, ctx, rsp, data)

    async def _respond(self, conn: Connection, ctx: NegotiatedContext, rsp: Response,
                       data: bytes | None = None) -> None:
        if conn.closed or conn.machine.state.value not in (6, 8):
            return
        if status_category(rsp.status).value == "failure":
            self._stats["failures"] += 1
        self._stats["responses_sent"] += 1
        await conn.send_message(ctx.context_id, rsp, data)

    async def _find(self, conn: Connection, ctx: NegotiatedContext, request: ServiceRequest,
                    handler: Callable) -> None:
        cmd = request.command
        loop = asyncio.get_running_loop()
        final: Response
        try:
            result = await _call(handler, request)
            if isinstance(result, AsyncIterable):
                iterator = result.__aiter__()

                async def step():
                    return await iterator.__anext__()
            else:
                it = iter(result if result is not None else ())

                async def step():
                    if inspect.isgenerator(it):  # a generator may block: advance it in a worker thread
                        more, value = await loop.run_in_executor(None, _advance, it)
                    else:
                        more, value = _advance(it)
                    if not more:
                        raise StopAsyncIteration
                    return value
            while True:
                if request.is_cancelled:
                    final = cmd.response(Status.CANCEL)
                    break
                try:
                    item = await step()
                except StopAsyncIteration:
                    final = cmd.response(Status.SUCCESS)
                    break
                status, identifier = (item if isinstance(item, tuple) else (Status.PENDING, item))
                await self._respond(conn, ctx, cmd.response(status),
                                    encode_dataset(identifier, request.transfer_syntax))
                if conn.closed:
                    return
        except Exception as err:
            log.exception("%s: the C-FIND handler failed", self.ae_title)
            final = cmd.response(Status.CANNOT_UNDERSTAND, error_comment=_comment(err))
        request._cancelled.discard(request.message_id)
        await self._respond(conn, ctx, final)


def _granted_window(response: Any) -> int:
    """The operations a requestor may have outstanding, by our A-ASSOCIATE-AC (1 without a window)."""
    window = getattr(response.user_information, "async_operations_window", None)
    if window is None:
        return 1
    return max(1, min(window.max_operations_invoked or 256, 256))


def _advance(iterator) -> tuple[bool, Any]:
    try:
        return True, next(iterator)
    except StopIteration:
        return False, None


@functools.lru_cache(maxsize=256)
def _runs_on_loop(handler: Callable) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)


def _on_loop(handler: Callable) -> bool:
    try:
        return _runs_on_loop(handler)
    except TypeError:  # an unhashable callable
        return inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)


async def _call(handler: Callable, request: ServiceRequest) -> Any:
    try:
        on_loop = _runs_on_loop(handler)
    except TypeError:  # an unhashable callable
        on_loop = inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)
    if on_loop:
        result = handler(request)
    else:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, functools.partial(handler, request))
    if inspect.isawaitable(result):
        result = await result
    return result


def _single_response(cmd: Command, result: Any, ctx: NegotiatedContext) -> tuple[Response, bytes | None]:
    if isinstance(result, Response):
        if result.message_id_being_responded_to != cmd.message_id:
            result = result.replace(message_id_being_responded_to=cmd.message_id)
        return result, None
    data = None
    status = Status.SUCCESS
    if isinstance(result, tuple):
        status, ds = result
        if ds is not None:
            data = encode_dataset(ds, ctx.transfer_syntax)
    elif isinstance(result, Dataset):
        data = encode_dataset(result, ctx.transfer_syntax)
    elif result is not None:
        status = int(result)
    rsp = cmd.response(status)
    if rsp.DATA_SET is False:
        data = None
    return rsp, data
