"""The thin asyncio layer binding the sans-IO state machine to a TCP (or TLS) socket.

:class:`Connection` is an :class:`asyncio.Protocol`: bytes received go to the
:class:`~pacsnb.net.StateMachine`, whose outputs it carries out (write a PDU, start or stop
the ARTIM timer with ``loop.call_later``, close the socket) and whose indications it hands
to the association code, P-DATA reassembled into DIMSE :class:`~pacsnb.net.dimse.Message`
objects by a :class:`~pacsnb.net.dimse.MessageAssembler`. Everything waits on events, never
polls: the consumer awaits :meth:`Connection.next_event`, the sender awaits the transport's
write flow control, and a timer is a ``call_later`` handle.

Every socket gets TCP_NODELAY (a DIMSE exchange is request/response: Nagle's algorithm
would delay each small command by up to 40 ms).

Examples
--------
Two connections talking over a real socket on 127.0.0.1, on any event loop:

>>> import asyncio
>>> from pacsnb.net import StateMachine, build_request, propose, negotiate, AcceptancePolicy
>>> from pacsnb.net.transport import Connection, open_connection
>>> from pacsnb.net.statemachine import AssociateIndication, AssociateAccepted
>>> async def demo():
...     loop = asyncio.get_running_loop()
...     accepted = []
...     async def serve(conn):
...         ev = await conn.next_event()
...         conn.send_associate_accept(negotiate(ev.request, AcceptancePolicy()).response)
...         accepted.append(type(await conn.next_event()).__name__)   # the release
...         conn.send_release_response()
...     server = await loop.create_server(lambda: Connection(StateMachine(), on_open=serve),
...                                       "127.0.0.1", 0)
...     port = server.sockets[0].getsockname()[1]
...     conn = await open_connection("127.0.0.1", port,
...                                  build_request("ANY", "ME", propose(["1.2.840.10008.1.1"])))
...     ev = await conn.next_event()
...     conn.send_release_request()
...     done = await conn.next_event()
...     await conn.wait_closed()
...     server.close(); await server.wait_closed()
...     return type(ev).__name__, type(done).__name__, accepted
>>> asyncio.run(demo())
('AssociateAccepted', 'ReleaseConfirmation', ['ReleaseIndication'])
"""
from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl as _ssl
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pacsnb.errors import DicomValueError, LocalProtocolError, NetworkError, PDUError
from pacsnb.net.dimse import (Command, CCancelRQ, DataSource, Message, MessageAssembler, SinkFactory,
                              command_pdu, message_to_pdus)
from pacsnb.net.pdu import AssociateAC, AssociateRJ, AssociateRQ, PDataTF
from pacsnb.net.statemachine import (CloseTransport, ConnectTransport, DataIndication, Indication,
                                     Output, SendPDU, StartTimer, StateMachine, StopTimer)

__all__ = ["Connection", "ConnectionClosed", "ProtocolError", "IdleTimeout", "open_connection",
           "set_nodelay"]

log = logging.getLogger(__name__)

#: The PDUs of a message are joined into writes of up to about this many bytes; a PDU of
#: ``_COALESCE_BELOW`` bytes or more is written alone (joining would copy it).
_COALESCE = 256 * 1024
_COALESCE_BELOW = 64 * 1024


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The transport connection is closed; no event follows.

    Examples
    --------
    >>> from pacsnb.net.transport import ConnectionClosed
    >>> ConnectionClosed()
    ConnectionClosed(error=None)
    """

    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """The peer broke the DIMSE protocol (message fragments out of order, a malformed
    command set); the association was aborted.

    Examples
    --------
    >>> from pacsnb.errors import PDUError
    >>> from pacsnb.net.transport import ProtocolError
    >>> ProtocolError(PDUError("bad")).error.reason
    6
    """

    error: PDUError


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    """Nothing came from the peer for ``timeout`` seconds while waiting for it; the
    association was aborted.

    Examples
    --------
    >>> from pacsnb.net.transport import IdleTimeout
    >>> IdleTimeout(60.0).timeout
    60.0
    """

    timeout: float


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Set TCP_NODELAY on a transport's socket (if it is a TCP socket).

    Examples
    --------
    >>> import asyncio, socket
    >>> from pacsnb.net.transport import set_nodelay
    >>> async def demo():
    ...     server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    ...     _, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    ...     set_nodelay(writer.transport)
    ...     on = writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    ...     writer.close(); server.close(); await server.wait_closed()
    ...     return bool(on)
    >>> asyncio.run(demo())
    True
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - a socket closing as it opens
            pass


class _EventQueue:
    """A FIFO of events for the consumer of a connection: ``asyncio.Queue`` without its
    costs (a task and a timer per timed wait): one future per wait, and one timer handle
    for the timeouts of the consumer's successive waits (re-armed only when it fires
    before the current deadline, so a tight request/response loop schedules no timer per
    message)."""

    __slots__ = ("_items", "_waiters", "_loop", "_timer", "_timed", "_deadline")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._items: collections.deque = collections.deque()
        self._waiters: collections.deque = collections.deque()
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._timed: asyncio.Future | None = None
        self._deadline = 0.0

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def get_nowait(self) -> Any:
        return self._items.popleft()

    async def get(self, timeout: float | None = None) -> Any:
        while not self._items:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            timer = None
            if timeout is not None:
                if self._timed is None:  # the shared deadline timer
                    self._timed = waiter
                    self._deadline = self._loop.time() + timeout
                    if self._timer is not None and self._timer.when() > self._deadline:
                        self._timer.cancel()
                        self._timer = None
                    if self._timer is None:
                        self._timer = self._loop.call_at(self._deadline, self._on_timer)
                else:  # a second timed waiter at once: a timer of its own
                    timer = self._loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None and self._items:
                    self._wake()  # another waiter gets the event this one leaves
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                if self._timed is waiter:
                    self._timed = None
                if waiter in self._waiters:  # still there after a timeout or a cancellation
                    self._waiters.remove(waiter)
        return self._items.popleft()

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._timed
        if waiter is None or waiter.done():
            return
        if self._loop.time() < self._deadline:  # a later wait moved the deadline: sleep on
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            return
        self._timed = None
        waiter.set_exception(asyncio.TimeoutError())

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


class Connection(asyncio.Protocol):
    """One transport connection and its association, driven by a :class:`StateMachine`.

    Parameters
    ----------
    machine
        The state machine (a new one per connection).
    sink
        The data set sink factory of the :class:`~pacsnb.net.dimse.MessageAssembler`.
    on_open
        For an acceptor: ``async f(connection)``, started as a task when the connection
        is made (the per-association task of a server).
    idle_timeout
        Seconds of silence from the peer after which the association is aborted, counted
        only while this side waits for the peer (not while :attr:`busy`). ``None``: never.
    max_queued
        Complete messages waiting for the consumer beyond which reading pauses.
    statistics
        A dict whose ``bytes_received`` and ``bytes_sent`` counters are updated.
    write_timeout
        Seconds a sender may wait for a peer that does not read (the transport's buffer
        stays full) before the association is aborted and the send raises
        :class:`~pacsnb.errors.NetworkError`; default ``idle_timeout``. ``None``: never.
    admit
        For an acceptor: ``f(connection) -> bool`` called when the socket opens;
        ``False`` closes it at once (a limit on open connections).
    on_close
        ``f(connection)`` called once when the socket closes.

    Events handed out by :meth:`next_event`: the indications of the state machine
    (:class:`~pacsnb.net.AssociateIndication`, ...), :class:`~pacsnb.net.dimse.Message`
    for each complete DIMSE message (a C-CANCEL-RQ is not queued but recorded in
    :attr:`cancelled`), :class:`ProtocolError`, :class:`IdleTimeout` and, last,
    :class:`ConnectionClosed`.

    Examples
    --------
    See the module example: a server whose factory makes a ``Connection`` per
    accepted socket, and :func:`open_connection` for the requestor.

    >>> from pacsnb.net.transport import Connection
    >>> Connection.next_event.__doc__.splitlines()[0]
    'The next event (see the class description).'
    """

    def __init__(self, machine: StateMachine, *, sink: SinkFactory | None = None,
                 on_open: Callable[["Connection"], Awaitable[Any]] | None = None,
                 idle_timeout: float | None = None, max_queued: int = 16,
                 statistics: dict | None = None, write_timeout: float | None | str = "idle",
                 admit: Callable[["Connection"], bool] | None = None,
                 on_close: Callable[["Connection"], None] | None = None) -> None:
        self.machine = machine
        #: Seconds a sender waits for a peer that does not read before aborting (``None``: never).
        self.write_timeout = idle_timeout if write_timeout == "idle" else write_timeout
        self._admit = admit
        self._on_close = on_close
        #: Whether the association was aborted because the peer stopped reading.
        self.write_timed_out = False
        self.assembler = MessageAssembler(sink)
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] | None = None
        self.idle_timeout = idle_timeout
        self.max_queued = max_queued
        self.statistics = statistics if statistics is not None else {}
        self.statistics.setdefault("bytes_received", 0)
        self.statistics.setdefault("bytes_sent", 0)
        #: Message IDs of the requests the peer asked to cancel (C-CANCEL-RQ).
        self.cancelled: set[int] = set()
        #: While ``True`` the idle timeout does not count (this side is working).
        self.busy = False
        self.task: asyncio.Task | None = None
        #: Operations that may be outstanding at once on this association (the negotiated
        #: asynchronous operations window; 1: one at a time).
        self.window = 1
        #: ``f(message) -> bool``, or ``None``: offered each complete message received while
        #: nothing is queued for the consumer and it is not :attr:`busy`; ``True`` means the
        #: hook handled it (answered it at once, on the loop) and it is not queued. The
        #: fast path of a server for cheap requests (C-ECHO): no task wakes up for them.
        self.on_message: Callable[[Message], bool] | None = None
        #: ``f(message) -> bool``, or ``None``: offered every response received, at once (in
        #: whatever order, even while the consumer is busy); ``True`` means it was the answer
        #: to a request this side sent outside the consumer's flow, and it is not queued.
        self.on_response: Callable[[Message], bool] | None = None
        #: A future the consumer awaits before handling the next event, while the
        #: :attr:`on_message` hook has a request in progress (``None``: nothing is).
        self.pending: asyncio.Future | None = None
        self._on_open = on_open
        self._loop = asyncio.get_running_loop()
        self._events = _EventQueue(self._loop)
        self._closed = self._loop.create_future()
        self._writable = asyncio.Event()
        self._writable.set()
        self._send_lock = asyncio.Lock()
        self._paused = False
        self._artim: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._last_activity = self._loop.time()

    def __repr__(self) -> str:
        return f"<Connection {self.peer} {self.machine.state.name}>"

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The socket is open: TCP_NODELAY, then Evt2 (requestor) or Evt5 (acceptor)."""
        self.transport = transport  # type: ignore[assignment]
        if self._admit is not None and not self._admit(self):
            transport.abort()  # refused: closed at once, nothing started
            return
        set_nodelay(transport)
        peer = transport.get_extra_info("peername")
        self.peer = tuple(peer[:2]) if peer else None
        self._arm_idle()
        if self.machine.is_requestor:
            self._apply(self.machine.transport_connected())
        else:
            self._apply(self.machine.transport_indication())
            if self._on_open is not None:
                self.task = self._loop.create_task(self._on_open(self))

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer go to the state machine."""
        self.statistics["bytes_received"] += len(data)
        self._last_activity = self._loop.time()
        if self.machine.receive_pdata(data):  # one whole P-DATA-TF, one PDV: read it here
            ctl = data[11]
            try:
                message = self.assembler.feed_fragment(data[10], data[12:], bool(ctl & 1), bool(ctl & 2))
            except PDUError as err:
                self._protocol_error(err)
                return
            if message is not None:
                self._deliver((message,))
            return
        outputs = self.machine.receive_bytes(data)
        if len(outputs) == 1 and type(outputs[0]) is DataIndication:  # the common case
            self._data(outputs[0])
        else:
            self._apply(outputs)

    def eof_received(self) -> bool | None:
        """The peer closed its side: close ours too."""
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        """The socket closed (Evt17): timers stop, a partial message's sink is closed."""
        self._cancel_timers()
        self._writable.set()
        try:
            self._apply(self.machine.transport_closed())
        except NetworkError:  # pragma: no cover - an undefined cell: nothing left to do
            pass
        sink = self.assembler.abandon()
        if sink is not None and hasattr(sink, "close"):
            try:
                sink.close()
            except OSError:  # pragma: no cover
                pass
        self._events.put_nowait(ConnectionClosed(exc))
        self._events.close()
        if not self._closed.done():
            self._closed.set_result(None)
            if self._on_close is not None:
                self._on_close(self)

    def pause_writing(self) -> None:
        """The transport's write buffer is full: senders wait."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """The write buffer drained: senders go on."""
        self._writable.set()

    # --- the state machine's outputs --------------------------------------------------------

    def _apply(self, outputs: list[Output]) -> None:
        for o in outputs:
            if isinstance(o, SendPDU):
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.write(o.data)
                    self.statistics["bytes_sent"] += len(o.data)
            elif isinstance(o, DataIndication):
                self._data(o)
            elif isinstance(o, Indication):
                self._events.put_nowait(o)
            elif isinstance(o, StartTimer):
                if self._artim is not None:
                    self._artim.cancel()
                self._artim = self._loop.call_later(o.timeout, self._artim_expired)
            elif isinstance(o, StopTimer):
                if self._artim is not None:
                    self._artim.cancel()
                    self._artim = None
            elif isinstance(o, CloseTransport):
                if self.transport is not None:
                    self.transport.close()
            elif isinstance(o, ConnectTransport):
                pass  # the requestor opens the socket itself (open_connection)

    def _protocol_error(self, err: PDUError) -> None:
        log.warning("%s: %s; aborting the association", self.peer, err)
        self._events.put_nowait(ProtocolError(err))
        self.abort()

    def _data(self, indication: DataIndication) -> None:
        try:
            messages = self.assembler.feed(indication.pdu)
        except PDUError as err:
            self._protocol_error(err)
            return
        self._deliver(messages)

    def _deliver(self, messages) -> None:
        hook, responses = self.on_message, self.on_response
        for m in messages:
            if type(m.command) is CCancelRQ:
                self.cancelled.add(m.command.message_id_being_responded_to)
                continue
            if responses is not None and not m.command.is_request and responses(m):
                continue
            if hook is not None and not self.busy and not self._events._items and hook(m):
                continue
            self._events.put_nowait(m)
        if not self._paused and self._events.qsize() >= self.max_queued and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _artim_expired(self) -> None:
        self._artim = None
        self._apply(self.machine.timer_expired())
        self._force_close_if_stuck()

    def _force_close_if_stuck(self) -> None:
        """A transport closing with bytes the peer never reads would wait for it forever:
        drop them and close now."""
        t = self.transport
        if t is not None and t.is_closing() and not self._closed.done() and t.get_write_buffer_size():
            t.abort()

    async def _wait_writable(self) -> None:
        """Wait until the transport's buffer drains, at most :attr:`write_timeout` seconds;
        then the association is aborted (A-ABORT, the socket closed at once) and
        :class:`~pacsnb.errors.NetworkError` raised."""
        if self.write_timeout is None:
            await self._writable.wait()
            return
        try:
            await asyncio.wait_for(self._writable.wait(), self.write_timeout)
        except asyncio.TimeoutError:
            if not self.closed:
                self.write_timed_out = True
                log.warning("%s: the peer read nothing for %s s while we were sending; aborting the "
                            "association", self.peer, self.write_timeout)
                self.abort()
                if self.transport is not None:
                    self.transport.abort()  # the A-ABORT cannot get past the unread bytes
            raise NetworkError(f"{self.peer} stopped reading: nothing could be sent for {self.write_timeout} s "
                               f"(the write timeout); the association was aborted") from None

    def _arm_idle(self) -> None:
        if self.idle_timeout is not None and self._idle is None:
            self._idle = self._loop.call_later(self.idle_timeout, self._idle_check)

    def _idle_check(self) -> None:
        self._idle = None
        if self._closed.done() or self.idle_timeout is None:
            return
        now = self._loop.time()
        if self.busy:
            self._last_activity = now
        left = self._last_activity + self.idle_timeout - now
        if left > 0:
            self._idle = self._loop.call_later(left, self._idle_check)
            return
        log.warning("%s: nothing received for %s s; aborting the association", self.peer,
                    self.idle_timeout)
        self._events.put_nowait(IdleTimeout(self.idle_timeout))
        self.abort()

    def _cancel_timers(self) -> None:
        for h in (self._artim, self._idle):
            if h is not None:
                h.cancel()
        self._artim = self._idle = None

    # --- the user's side --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the transport connection is closed."""
        return self._closed.done()

    async def wait_closed(self, timeout: float | None = None) -> None:
        """Wait until the transport connection is closed (closing it after ``timeout``)."""
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), timeout)
        except asyncio.TimeoutError:
            if self.transport is not None:
                self.transport.abort()
            await self._closed

    async def next_event(self, timeout: float | None = None) -> Any:
        """The next event (see the class description).

        Raises
        ------
        asyncio.TimeoutError
            Nothing came within ``timeout`` seconds.
        """
        events = self._events
        ev = events.get_nowait() if events.qsize() else await events.get(timeout)
        if self._paused and self._events.qsize() <= self.max_queued // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return ev

    def send_associate_accept(self, response: AssociateAC) -> None:
        """A-ASSOCIATE response, accept."""
        self._apply(self.machine.send_associate_accept(response))

    def send_associate_reject(self, response: AssociateRJ) -> None:
        """A-ASSOCIATE response, reject."""
        self._apply(self.machine.send_associate_reject(response))

    def send_release_request(self) -> None:
        """A-RELEASE request."""
        self._apply(self.machine.send_release_request())

    def send_release_response(self) -> None:
        """A-RELEASE response."""
        self._apply(self.machine.send_release_response())

    def abort(self) -> None:
        """A-ABORT (does nothing once the association is gone); the socket closes soon after.

        Before an association exists (no A-ASSOCIATE-RQ yet), the socket is just closed.
        """
        try:
            self._apply(self.machine.send_abort())
        except LocalProtocolError:
            if self.transport is not None:
                self.transport.close()

    async def send_pdu(self, pdu: PDataTF) -> None:
        """Send one P-DATA-TF PDU, waiting while the transport's buffer is full."""
        if not self._writable.is_set():
            await self._wait_writable()
        if self.closed:
            raise NetworkError(f"the connection to {self.peer} is closed")
        self._apply(self.machine.send_data(pdu))

    def can_write_now(self) -> bool:
        """Whether :meth:`write_message_now` would write at once (no other message is being
        sent, the transport's buffer is not full, the connection is open)."""
        return not self._send_lock.locked() and self._writable.is_set() and not self._closed.done()

    def write_message_now(self, context_id: int, command: Command, data: bytes | None = None, *,
                          any_size: bool = False) -> bool:
        """Send a small DIMSE message at once, without waiting, if nothing stops it: no
        other message is being sent, the transport's buffer is not full, and the data set
        (if any) is bytes of at most 64 KiB (of any size with ``any_size``). Returns
        whether it was sent; if not, nothing was done (use :meth:`send_message`).

        The PDU of a message without a data set comes from
        :func:`~pacsnb.net.dimse.command_pdu` (cached for C-ECHO).

        Raises
        ------
        NetworkError
            The connection is closed.
        """
        if self._send_lock.locked() or not self._writable.is_set():
            return False
        if self.closed:
            raise NetworkError(f"the connection to {self.peer} is closed")
        machine = self.machine
        if data is None:
            if command.DATA_SET is True:
                raise DicomValueError(f"a {command.name} needs a data set")
            raw = command_pdu(context_id, command, machine.peer_max_length)
            if raw is not None:
                self._write([machine.send_encoded_data(raw)])
                return True
        elif not isinstance(data, (bytes, bytearray)) or (len(data) > _COALESCE_BELOW and not any_size):
            return False
        chunks: list[bytes] = []
        large = data is not None and len(data) > _COALESCE_BELOW
        for pdu in message_to_pdus(context_id, command, data, max_pdu_length=machine.peer_max_length):
            for o in machine.send_data(pdu):
                chunks.append(o.data)  # SendPDU only: Evt9 in Sta6 or Sta8
            if large:  # write as they come: joining would copy
                self._write(chunks)
        self._write(chunks)
        return True

    async def send_message(self, context_id: int, command: Command, data: DataSource | None = None) -> None:
        """Send a DIMSE message, fragmented to the peer's maximum length.

        Messages sent concurrently (responses of operations handled at once) go one after
        the other: the fragments of two messages are never interleaved.
        """
        if (data is None or type(data) is bytes) and self.write_message_now(context_id, command, data):
            return
        async with self._send_lock:
            # the PDUs of a message go to the transport in as few writes (system calls) as
            # possible: a C-ECHO-RQ or a small C-STORE-RQ and its data set in one
            chunks: list[bytes] = []
            size = 0
            for pdu in message_to_pdus(context_id, command, data, max_pdu_length=self.machine.peer_max_length):
                if not self._writable.is_set():
                    self._write(chunks)
                    size = 0
                    await self._wait_writable()
                if self.closed:
                    raise NetworkError(f"the connection to {self.peer} is closed")
                for o in self.machine.send_data(pdu):
                    if isinstance(o, SendPDU):
                        if len(o.data) >= _COALESCE_BELOW:  # a large PDU goes as it is: no copy
                            self._write(chunks)
                            size = 0
                            self._write([o.data])
                            continue
                        chunks.append(o.data)
                        size += len(o.data)
                    else:  # pragma: no cover - Evt9 in Sta6/Sta8 only sends
                        self._write(chunks)
                        self._apply([o])
                if size >= _COALESCE:
                    self._write(chunks)
                    size = 0
            self._write(chunks)

    def _write(self, chunks: list[bytes]) -> None:
        """Write and empty ``chunks`` (one write)."""
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            self.statistics["bytes_sent"] += len(data)


async def open_connection(host: str, port: int, request: AssociateRQ, *,
                          machine: StateMachine | None = None, sink: SinkFactory | None = None,
                          ssl: _ssl.SSLContext | None = None, timeout: float | None = 30.0,
                          idle_timeout: float | None = None, write_timeout: float | None = None,
                          statistics: dict | None = None) -> Connection:
    """Open a transport connection and send ``request`` (A-ASSOCIATE-RQ).

    The answer is the connection's first event (:class:`~pacsnb.net.AssociateAccepted` or
    :class:`~pacsnb.net.AssociateRejected`, or an abort). ``write_timeout`` bounds each wait
    for a peer that does not read what we send (see :class:`Connection`; ``None``: the
    idle timeout).

    Raises
    ------
    NetworkError
        The connection cannot be made within ``timeout`` seconds.

    Examples
    --------
    >>> import asyncio, socket
    >>> from pacsnb.net import NetworkError, build_request, propose
    >>> from pacsnb.net.transport import open_connection
    >>> with socket.socket() as s:               # a port nobody listens on
    ...     s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    >>> try:
    ...     asyncio.run(open_connection("127.0.0.1", port, build_request("A", "B", propose(["1.2.840.10008.1.1"]))))
    ... except NetworkError as err:
    ...     print(str(err).split(":")[0])
    cannot connect to 127.0.0.1
    """
    machine = machine if machine is not None else StateMachine()
    machine.send_associate_request(request)  # Sta4: ConnectTransport
    loop = asyncio.get_running_loop()

    def factory() -> Connection:
        return Connection(machine, sink=sink, idle_timeout=idle_timeout, statistics=statistics,
                          write_timeout=write_timeout if write_timeout is not None else idle_timeout)

    try:
        _, conn = await asyncio.wait_for(
            loop.create_connection(factory, host, port, ssl=ssl,
                                   server_hostname=host if ssl is not None else None),
            timeout)
    except (OSError, asyncio.TimeoutError) as err:
        machine.transport_closed()
        if isinstance(err, _ssl.SSLError):
            raise NetworkError(f"TLS handshake with {host}:{port} failed: {err.reason or err}; check that "
                               f"the peer speaks TLS, that its certificate is signed by an authority in "
                               f"cafile, and the TLS profile") from None
        what = f"no answer within {timeout} s" if isinstance(err, asyncio.TimeoutError) else str(err)
        raise NetworkError(f"cannot connect to {host}:{port}: {what}") from None
    return conn
