"""The DICOM upper layer state machine of PS3.8 9.2, sans-IO.

:class:`StateMachine` holds the state of one transport connection (one association,
PS3.8 9.1.1) and nothing else: no sockets, no clocks, no threads. Every input is a method
call (a primitive from the local user, a transport event, received bytes, the ARTIM timer
expiring) and every method returns the list of :class:`Output` the transition produced:

* for the transport layer: :class:`SendPDU` (bytes to write), :class:`ConnectTransport`,
  :class:`CloseTransport`, :class:`StartTimer` / :class:`StopTimer` (the ARTIM timer);
* for the local user (subclasses of :class:`Indication`): :class:`AssociateIndication`,
  :class:`AssociateAccepted`, :class:`AssociateRejected`, :class:`DataIndication`,
  :class:`ReleaseIndication`, :class:`ReleaseConfirmation`, :class:`AbortIndication`
  (A-ABORT) and :class:`ProviderAbortIndication` (A-P-ABORT).

The transitions are :data:`TRANSITIONS`, PS3.8 Table 9-10 transcribed cell by cell:
``(state, event) -> action``; each action (AE-1 ... AA-8, Tables 9-6 to 9-9) decides the
next state. Cells the table leaves empty are combinations the standard does not define;
pacsnb treats them as follows:

* a primitive of the local user or of the local transport service (Evt1, 2, 5, 7, 8, 9,
  11, 14, 15) raises :class:`~pacsnb.net.LocalProtocolError` and changes nothing, except
  A-ABORT (Evt15) in Sta1 and Sta13, which does nothing: there is no association left;
* received bytes in Sta1 are dropped (the transport connection is already closed on this
  side; no PDU event can occur), in Sta4 they raise ``LocalProtocolError`` (no transport
  connection is open yet);
* transport closed (Evt17) in Sta1, and ARTIM expiry (Evt18) outside Sta2 and Sta13 (a
  timer that fired as it was being stopped), do nothing.

Every PDU that cannot be decoded, and every PDU-length the :class:`~pacsnb.net.PDUReader`
refuses (unknown type, P-DATA-TF longer than the Maximum Length this side sent, absurd
sizes such as 0xFFFFFFFF) is Evt19, handled by the table like any other event: AA-8 in
an association (A-ABORT with service-provider source and the reason of the
:class:`~pacsnb.net.PDUError`, A-P-ABORT indication, ARTIM started, Sta13).

Examples
--------
An acceptor, driven by the bytes of a requestor:

>>> from pacsnb.net.statemachine import StateMachine, AssociateIndication, SendPDU
>>> from pacsnb.net.pdu import AssociateRQ, AssociateAC, ReleaseRQ
>>> from pacsnb.net.items import PresentationContextRQ, PresentationContextAC
>>> scp = StateMachine()
>>> scp.transport_indication()
[StartTimer(timeout=30.0)]
>>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
...                                                       ["1.2.840.10008.1.2"])])
>>> out = scp.receive_bytes(rq.encode())
>>> out[0], type(out[1]).__name__, scp.state
(StopTimer(), 'AssociateIndication', <State.STA3: 3>)
>>> out = scp.send_associate_accept(AssociateAC("SCP", "SCU",
...                                 [PresentationContextAC(1, 0, "1.2.840.10008.1.2")]))
>>> type(out[0]).__name__, scp.state
('SendPDU', <State.STA6: 6>)
>>> scp.receive_bytes(ReleaseRQ().encode()), scp.state
([ReleaseIndication(collision=False)], <State.STA8: 8>)
>>> [o.pdu for o in scp.send_release_response() if isinstance(o, SendPDU)], scp.state
([ReleaseRP()], <State.STA13: 13>)
>>> scp.transport_closed(), scp.state
([StopTimer()], <State.STA1: 1>)
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Callable

from pacsnb.net._errors import LocalProtocolError, PDUError
from pacsnb.net.pdu import (DEFAULT_MAXIMUM_LENGTH, MAX_ASSOCIATION_PDU_LENGTH, PDU, Abort,
                            AbortReason, AbortSource, AssociateAC, AssociateRJ, AssociateRQ,
                            PDataTF, PDUReader, PDV, RejectReason, RejectResult, RejectSource,
                            ReleaseRP, ReleaseRQ)

__all__ = [
    "State", "Event", "TRANSITIONS", "ACTIONS", "StateMachine", "DEFAULT_ARTIM_TIMEOUT",
    "Output", "SendPDU", "ConnectTransport", "CloseTransport", "StartTimer", "StopTimer",
    "Indication", "AssociateIndication", "AssociateAccepted", "AssociateRejected",
    "DataIndication", "ReleaseIndication", "ReleaseConfirmation", "AbortIndication",
    "ProviderAbortIndication",
]

log = logging.getLogger(__name__)

#: Seconds the ARTIM timer runs unless told otherwise.
DEFAULT_ARTIM_TIMEOUT = 30.0


class State(enum.IntEnum):
    """The 13 states of PS3.8 Tables 9-1 to 9-5.

    Examples
    --------
    >>> StateMachine().state
    <State.STA1: 1>
    >>> State.STA6.description
    'Association established and ready for data transfer'
    """

    STA1 = 1    #: Idle
    STA2 = 2    #: Transport connection open (awaiting A-ASSOCIATE-RQ PDU)
    STA3 = 3    #: Awaiting local A-ASSOCIATE response primitive
    STA4 = 4    #: Awaiting transport connection opening to complete
    STA5 = 5    #: Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
    STA6 = 6    #: Association established and ready for data transfer
    STA7 = 7    #: Awaiting A-RELEASE-RP PDU
    STA8 = 8    #: Awaiting local A-RELEASE response primitive
    STA9 = 9    #: Release collision requestor side; awaiting A-RELEASE response
    STA10 = 10  #: Release collision acceptor side; awaiting A-RELEASE-RP PDU
    STA11 = 11  #: Release collision requestor side; awaiting A-RELEASE-RP PDU
    STA12 = 12  #: Release collision acceptor side; awaiting A-RELEASE response primitive
    STA13 = 13  #: Awaiting transport connection close indication

    @property
    def description(self) -> str:
        """The definition of PS3.8 Tables 9-1 to 9-5."""
        return _STATE_TEXT[self]


_STATE_TEXT = {
    State.STA1: "Idle",
    State.STA2: "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)",
    State.STA3: "Awaiting local A-ASSOCIATE response primitive (from local user)",
    State.STA4: "Awaiting transport connection opening to complete (from local transport service)",
    State.STA5: "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU",
    State.STA6: "Association established and ready for data transfer",
    State.STA7: "Awaiting A-RELEASE-RP PDU",
    State.STA8: "Awaiting local A-RELEASE response primitive (from local user)",
    State.STA9: "Release collision requestor side; awaiting A-RELEASE response (from local user)",
    State.STA10: "Release collision acceptor side; awaiting A-RELEASE-RP PDU",
    State.STA11: "Release collision requestor side; awaiting A-RELEASE-RP PDU",
    State.STA12: "Release collision acceptor side; awaiting A-RELEASE response primitive "
                 "(from local user)",
    State.STA13: "Awaiting Transport Connection Close Indication (Association no longer exists)",
}


class Event(enum.IntEnum):
    """The 19 events of PS3.8 Table 9-10.

    Examples
    --------
    >>> Event(18)
    <Event.EVT18: 18>
    >>> TRANSITIONS[(State.STA6, Event.EVT12)], ACTIONS["AR-2"]
    ('AR-2', 'Issue A-RELEASE indication primitive')
    """

    EVT1 = 1    #: A-ASSOCIATE request (local user)
    EVT2 = 2    #: Transport connect confirmation (local transport service)
    EVT3 = 3    #: A-ASSOCIATE-AC PDU (received on transport connection)
    EVT4 = 4    #: A-ASSOCIATE-RJ PDU (received on transport connection)
    EVT5 = 5    #: Transport connection indication (local transport service)
    EVT6 = 6    #: A-ASSOCIATE-RQ PDU (received on transport connection)
    EVT7 = 7    #: A-ASSOCIATE response primitive (accept)
    EVT8 = 8    #: A-ASSOCIATE response primitive (reject)
    EVT9 = 9    #: P-DATA request primitive
    EVT10 = 10  #: P-DATA-TF PDU
    EVT11 = 11  #: A-RELEASE request primitive
    EVT12 = 12  #: A-RELEASE-RQ PDU
    EVT13 = 13  #: A-RELEASE-RP PDU
    EVT14 = 14  #: A-RELEASE response primitive
    EVT15 = 15  #: A-ABORT request primitive
    EVT16 = 16  #: A-ABORT PDU
    EVT17 = 17  #: Transport connection closed indication
    EVT18 = 18  #: ARTIM timer expired (Association reject/release timer)
    EVT19 = 19  #: Unrecognized or invalid PDU received


#: Events that are primitives of the local user or of the local transport service.
LOCAL_EVENTS = frozenset({Event.EVT1, Event.EVT2, Event.EVT5, Event.EVT7, Event.EVT8, Event.EVT9,
                          Event.EVT11, Event.EVT14, Event.EVT15})
#: Events that come from bytes received on the transport connection.
PDU_EVENTS = frozenset({Event.EVT3, Event.EVT4, Event.EVT6, Event.EVT10, Event.EVT12,
                        Event.EVT13, Event.EVT16, Event.EVT19})

#: The actions of PS3.8 Tables 9-6 to 9-9.
ACTIONS: dict[str, str] = {
    "AE-1": "Issue TRANSPORT CONNECT request primitive to local transport service",
    "AE-2": "Send A-ASSOCIATE-RQ-PDU",
    "AE-3": "Issue A-ASSOCIATE confirmation (accept) primitive",
    "AE-4": "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection",
    "AE-5": "Issue Transport connection response primitive; start ARTIM timer",
    "AE-6": "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue "
            "A-ASSOCIATE indication primitive; otherwise: issue A-ASSOCIATE-RJ-PDU and start "
            "ARTIM timer",
    "AE-7": "Send A-ASSOCIATE-AC PDU",
    "AE-8": "Send A-ASSOCIATE-RJ PDU and start ARTIM timer",
    "DT-1": "Send P-DATA-TF PDU",
    "DT-2": "Send P-DATA indication primitive",
    "AR-1": "Send A-RELEASE-RQ PDU",
    "AR-2": "Issue A-RELEASE indication primitive",
    "AR-3": "Issue A-RELEASE confirmation primitive, and close transport connection",
    "AR-4": "Issue A-RELEASE-RP PDU and start ARTIM timer",
    "AR-5": "Stop ARTIM timer",
    "AR-6": "Issue P-DATA indication",
    "AR-7": "Issue P-DATA-TF PDU",
    "AR-8": "Issue A-RELEASE indication (release collision)",
    "AR-9": "Send A-RELEASE-RP PDU",
    "AR-10": "Issue A-RELEASE confirmation primitive",
    "AA-1": "Send A-ABORT PDU (service-user source) and start (or restart if already started) "
            "ARTIM timer",
    "AA-2": "Stop ARTIM timer if running. Close transport connection",
    "AA-3": "If (service-user initiated abort): issue A-ABORT indication and close transport "
            "connection; otherwise (service-provider initiated abort): issue A-P-ABORT "
            "indication and close transport connection",
    "AA-4": "Issue A-P-ABORT indication primitive",
    "AA-5": "Stop ARTIM timer",
    "AA-6": "Ignore PDU",
    "AA-7": "Send A-ABORT PDU",
    "AA-8": "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and "
            "start ARTIM timer",
}

# PS3.8 Table 9-10, one row per event, one column per state; "." is an empty cell.
_TABLE_9_10 = """
        Sta1  Sta2  Sta3  Sta4  Sta5  Sta6  Sta7  Sta8  Sta9  Sta10 Sta11 Sta12 Sta13
Evt1    AE-1  .     .     .     .     .     .     .     .     .     .     .     .
Evt2    .     .     .     AE-2  .     .     .     .     .     .     .     .     .
Evt3    .     AA-1  AA-8  .     AE-3  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt4    .     AA-1  AA-8  .     AE-4  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt5    AE-5  .     .     .     .     .     .     .     .     .     .     .     .
Evt6    .     AE-6  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
Evt7    .     .     AE-7  .     .     .     .     .     .     .     .     .     .
Evt8    .     .     AE-8  .     .     .     .     .     .     .     .     .     .
Evt9    .     .     .     .     .     DT-1  .     AR-7  .     .     .     .     .
Evt10   .     AA-1  AA-8  .     AA-8  DT-2  AR-6  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt11   .     .     .     .     .     AR-1  .     .     .     .     .     .     .
Evt12   .     AA-1  AA-8  .     AA-8  AR-2  AR-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt13   .     AA-1  AA-8  .     AA-8  AA-8  AR-3  AA-8  AA-8  AR-10 AR-3  AA-8  AA-6
Evt14   .     .     .     .     .     .     .     AR-4  AR-9  .     .     AR-4  .
Evt15   .     .     AA-1  AA-2  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  .
Evt16   .     AA-2  AA-3  .     AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-2
Evt17   .     AA-5  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AR-5
Evt18   .     AA-2  .     .     .     .     .     .     .     .     .     .     AA-2
Evt19   .     AA-1  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
"""


def _parse_table(text: str) -> dict[tuple[State, Event], str]:
    lines = [ln.split() for ln in text.strip().splitlines()]
    states = [State(int(s[3:])) for s in lines[0]]
    table = {}
    for row in lines[1:]:
        event = Event(int(row[0][3:]))
        for state, cell in zip(states, row[1:], strict=True):
            if cell != ".":
                table[(state, event)] = cell
    return table


#: PS3.8 Table 9-10: ``(state, event) -> action`` for every cell that is not empty.
TRANSITIONS: dict[tuple[State, Event], str] = _parse_table(_TABLE_9_10)


# --- outputs ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Output:
    """Base class of everything a transition produces.

    Examples
    --------
    >>> out = StateMachine().transport_indication()
    >>> out, all(isinstance(o, Output) for o in out)
    ([StartTimer(timeout=30.0)], True)
    """


@dataclass(frozen=True, slots=True)
class SendPDU(Output):
    """Write ``data`` (the encoding of ``pdu``) to the transport connection.

    Parameters
    ----------
    pdu
        The PDU, for inspection and logging.
    data
        Its bytes, to write as they are.

    Examples
    --------
    >>> out = SendPDU(ReleaseRQ(), ReleaseRQ().encode())
    >>> out
    SendPDU(ReleaseRQ, 10 bytes)
    >>> out.data[:2]
    b'\\x05\\x00'
    """

    pdu: PDU
    data: bytes

    def __repr__(self) -> str:
        return f"SendPDU({type(self.pdu).__name__}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class ConnectTransport(Output):
    """Open a transport connection to the peer of ``request`` (AE-1); then call
    :meth:`StateMachine.transport_connected`, or :meth:`StateMachine.transport_closed` if
    the connection cannot be made.

    Parameters
    ----------
    request
        The A-ASSOCIATE-RQ that is sent once the connection is open.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> out = StateMachine().send_associate_request(rq)
    >>> type(out[0]).__name__, out[0].request.called_ae_title
    ('ConnectTransport', 'SCP')
    """

    request: AssociateRQ


@dataclass(frozen=True, slots=True)
class CloseTransport(Output):
    """Close the transport connection.

    Examples
    --------
    >>> sm = StateMachine()
    >>> sm.transport_indication()
    [StartTimer(timeout=30.0)]
    >>> sm.timer_expired()      # ARTIM expired in Sta2: AA-2
    [StopTimer(), CloseTransport()]
    """


@dataclass(frozen=True, slots=True)
class StartTimer(Output):
    """Start (or restart) the ARTIM timer; call :meth:`StateMachine.timer_expired` when it
    runs out.

    Parameters
    ----------
    timeout
        Seconds until the timer expires.

    Examples
    --------
    >>> StateMachine(artim_timeout=5.0).transport_indication()
    [StartTimer(timeout=5.0)]
    >>> StartTimer(1.5).timeout
    1.5
    """

    timeout: float


@dataclass(frozen=True, slots=True)
class StopTimer(Output):
    """Stop the ARTIM timer.

    Examples
    --------
    >>> sm = StateMachine()
    >>> sm.transport_indication()
    [StartTimer(timeout=30.0)]
    >>> sm.transport_closed()   # Evt17 in Sta2: AA-5
    [StopTimer()]
    """


@dataclass(frozen=True, slots=True)
class Indication(Output):
    """Base class of the primitives issued to the local user.

    Examples
    --------
    >>> isinstance(ReleaseConfirmation(), Indication), isinstance(StopTimer(), Indication)
    (True, False)
    """


@dataclass(frozen=True, slots=True)
class AssociateIndication(Indication):
    """A-ASSOCIATE indication: the peer asks for an association; answer with
    :meth:`StateMachine.send_associate_accept` or ``send_associate_reject``.

    Parameters
    ----------
    request
        The A-ASSOCIATE-RQ the peer sent.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> scp = StateMachine()
    >>> _ = scp.transport_indication()
    >>> out = scp.receive_bytes(rq.encode())
    >>> type(out[1]).__name__, out[1].request.calling_ae_title, scp.state
    ('AssociateIndication', 'SCU', <State.STA3: 3>)
    """

    request: AssociateRQ


@dataclass(frozen=True, slots=True)
class AssociateAccepted(Indication):
    """A-ASSOCIATE confirmation (accept).

    Parameters
    ----------
    response
        The A-ASSOCIATE-AC the peer sent.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ, PresentationContextAC
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> ac = AssociateAC("SCP", "SCU", [PresentationContextAC(1, 0, "1.2.840.10008.1.2")])
    >>> scu = StateMachine()
    >>> _ = scu.send_associate_request(rq), scu.transport_connected()
    >>> out = scu.receive_bytes(ac.encode())
    >>> type(out[0]).__name__, out[0].response.called_ae_title, scu.state
    ('AssociateAccepted', 'SCP', <State.STA6: 6>)
    """

    response: AssociateAC


@dataclass(frozen=True, slots=True)
class AssociateRejected(Indication):
    """A-ASSOCIATE confirmation (reject).

    Parameters
    ----------
    response
        The A-ASSOCIATE-RJ the peer sent.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> scu = StateMachine()
    >>> _ = scu.send_associate_request(rq), scu.transport_connected()
    >>> rj = AssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_USER,
    ...                  RejectReason.CALLED_AE_NOT_RECOGNIZED)
    >>> scu.receive_bytes(rj.encode()), scu.state
    ([AssociateRejected(response=AssociateRJ(result=1, source=1, reason=7)), CloseTransport()], <State.STA1: 1>)
    """

    response: AssociateRJ


@dataclass(frozen=True, slots=True)
class DataIndication(Indication):
    """P-DATA indication: a P-DATA-TF PDU arrived.

    Parameters
    ----------
    pdu
        The P-DATA-TF PDU received.

    Examples
    --------
    >>> pdu = PDataTF([PDV(1, b"\\x00", is_command=True)])
    >>> ind = DataIndication(pdu)
    >>> [(v.context_id, v.is_command, v.is_last) for v in ind.pdu.pdvs]
    [(1, True, True)]
    """

    pdu: PDataTF


@dataclass(frozen=True, slots=True)
class ReleaseIndication(Indication):
    """A-RELEASE indication; ``collision`` when both sides asked for release at once.

    Answer with :meth:`StateMachine.send_release_response`; in a collision on the
    acceptor side (Sta10), only after the :class:`ReleaseConfirmation` has come.

    Parameters
    ----------
    collision
        Whether this is a release collision (AR-8) rather than a plain A-RELEASE-RQ (AR-2).

    Examples
    --------
    >>> ReleaseIndication()
    ReleaseIndication(collision=False)
    >>> ReleaseIndication(collision=True).collision
    True
    """

    collision: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseConfirmation(Indication):
    """A-RELEASE confirmation: the peer answered our release request.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ, PresentationContextAC
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> ac = AssociateAC("SCP", "SCU", [PresentationContextAC(1, 0, "1.2.840.10008.1.2")])
    >>> scu = StateMachine()
    >>> _ = scu.send_associate_request(rq), scu.transport_connected(), scu.receive_bytes(ac.encode())
    >>> scu.send_release_request(), scu.state
    ([SendPDU(ReleaseRQ, 10 bytes)], <State.STA7: 7>)
    >>> scu.receive_bytes(ReleaseRP().encode()), scu.state
    ([ReleaseConfirmation(), CloseTransport()], <State.STA1: 1>)
    """


@dataclass(frozen=True, slots=True)
class AbortIndication(Indication):
    """A-ABORT indication: the peer's service-user aborted the association.

    Parameters
    ----------
    source
        The A-ABORT source (:class:`~pacsnb.net.AbortSource`), as received.
    reason
        The A-ABORT reason/diag (:class:`~pacsnb.net.AbortReason`), as received.

    Examples
    --------
    >>> ind = AbortIndication()
    >>> AbortSource(ind.source).name, AbortReason(ind.reason).name
    ('SERVICE_USER', 'NOT_SPECIFIED')
    """

    source: int = AbortSource.SERVICE_USER
    reason: int = AbortReason.NOT_SPECIFIED


@dataclass(frozen=True, slots=True)
class ProviderAbortIndication(Indication):
    """A-P-ABORT indication: a service provider (the peer's or ours) aborted.

    ``reason`` is the A-ABORT reason/diag (:class:`~pacsnb.net.AbortReason`); ``message``
    says what happened in words.

    Parameters
    ----------
    reason
        The A-ABORT reason/diag.
    message
        What happened, in words.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> sm = StateMachine()
    >>> _ = sm.send_associate_request(rq)
    >>> sm.transport_closed(), sm.state      # the connection could not be made: AA-4
    ([ProviderAbortIndication(reason=<AbortReason.NOT_SPECIFIED: 0>, message='the transport connection was closed')], <State.STA1: 1>)
    >>> ProviderAbortIndication(AbortReason.UNEXPECTED_PDU, "A-ASSOCIATE-AC in Sta6").reason
    <AbortReason.UNEXPECTED_PDU: 2>
    """

    reason: int = AbortReason.NOT_SPECIFIED
    message: str = ""


_EVENT_FOR_PDU: dict[type, Event] = {
    AssociateAC: Event.EVT3, AssociateRJ: Event.EVT4, AssociateRQ: Event.EVT6,
    PDataTF: Event.EVT10, ReleaseRQ: Event.EVT12, ReleaseRP: Event.EVT13, Abort: Event.EVT16,
}


class StateMachine:
    """The PS3.8 upper layer protocol machine for one transport connection.

    Parameters
    ----------
    artim_timeout
        Seconds of the ARTIM timer, reported in :class:`StartTimer`.
    max_association_length
        Largest A-ASSOCIATE-RQ/AC accepted from the peer (memory bound).

    Attributes
    ----------
    state : State
        The current state (Sta1 at construction).
    is_requestor : bool or None
        ``True`` after :meth:`send_associate_request`, ``False`` after
        :meth:`transport_indication`.
    request : AssociateRQ or None
        The A-ASSOCIATE-RQ sent or received.
    response : AssociateAC or AssociateRJ or None
        The answer sent or received.
    peer_max_length : int
        The Maximum Length the peer announced (0: no limit): P-DATA-TF PDUs sent to it
        must not be longer.
    artim_running : bool
        Whether the ARTIM timer is running (from the StartTimer/StopTimer outputs).
    last_transition : tuple or None
        ``(state, event, action, next_state)`` of the last defined transition.

    Examples
    --------
    A requestor, with the acceptor's bytes made by hand:

    >>> from pacsnb.net.statemachine import StateMachine
    >>> from pacsnb.net.pdu import AssociateRQ, AssociateAC, PDataTF, PDV
    >>> from pacsnb.net.items import PresentationContextRQ, PresentationContextAC
    >>> scu = StateMachine()
    >>> rq = AssociateRQ("SCP", "SCU", [PresentationContextRQ(1, "1.2.840.10008.1.1",
    ...                                                       ["1.2.840.10008.1.2"])])
    >>> scu.send_associate_request(rq)[0].__class__.__name__, scu.state.name
    ('ConnectTransport', 'STA4')
    >>> scu.transport_connected(), scu.state.name
    ([SendPDU(AssociateRQ, 153 bytes)], 'STA5')
    >>> ac = AssociateAC("SCP", "SCU", [PresentationContextAC(1, 0, "1.2.840.10008.1.2")])
    >>> [type(o).__name__ for o in scu.receive_bytes(ac.encode())], scu.state.name
    (['AssociateAccepted'], 'STA6')
    >>> scu.send_data(PDataTF([PDV(1, b"...", is_command=True)]))
    [SendPDU(PDataTF, 15 bytes)]
    >>> scu.receive_bytes(b"\\x09garbage")[:2], scu.state.name   # Evt19 in Sta6: AA-8
    ([SendPDU(Abort, 10 bytes), ProviderAbortIndication(reason=1, message='PDU type 0x09 PDU, at byte 0: unrecognized PDU type 0x09')], 'STA13')
    >>> scu.timer_expired(), scu.state.name                     # ARTIM: AA-2
    ([StopTimer(), CloseTransport()], 'STA1')
    """

    def __init__(self, *, artim_timeout: float = DEFAULT_ARTIM_TIMEOUT,
                 max_association_length: int = MAX_ASSOCIATION_PDU_LENGTH) -> None:
        self.state = State.STA1
        self.is_requestor: bool | None = None
        self.request: AssociateRQ | None = None
        self.response: AssociateAC | AssociateRJ | None = None
        self.peer_max_length = 0
        self.artim_timeout = float(artim_timeout)
        self.artim_running = False
        self.last_transition: tuple[State, Event, str, State] | None = None
        self._max_association_length = max_association_length
        self._reader = self._new_reader()
        self._actions: dict[str, Callable[..., State]] = {
            "AE-1": self._ae1, "AE-2": self._ae2, "AE-3": self._ae3, "AE-4": self._ae4,
            "AE-5": self._ae5, "AE-6": self._ae6, "AE-7": self._ae7, "AE-8": self._ae8,
            "DT-1": self._dt1, "DT-2": self._dt2,
            "AR-1": self._ar1, "AR-2": self._ar2, "AR-3": self._ar3, "AR-4": self._ar4,
            "AR-5": self._ar5, "AR-6": self._ar6, "AR-7": self._ar7, "AR-8": self._ar8,
            "AR-9": self._ar9, "AR-10": self._ar10,
            "AA-1": self._aa1, "AA-2": self._aa2, "AA-3": self._aa3, "AA-4": self._aa4,
            "AA-5": self._aa5, "AA-6": self._aa6, "AA-7": self._aa7, "AA-8": self._aa8,
        }

    def __repr__(self) -> str:
        role = {None: "", True: " requestor", False: " acceptor"}[self.is_requestor]
        return f"<StateMachine{role} {self.state.name}: {self.state.description}>"

    @property
    def reader(self) -> PDUReader:
        """The :class:`~pacsnb.net.PDUReader` of received bytes."""
        return self._reader

    def _new_reader(self) -> PDUReader:
        return PDUReader(max_pdata_length=DEFAULT_MAXIMUM_LENGTH,
                         max_association_length=self._max_association_length)

    # --- primitives of the local user and of the transport service ----------------------

    def send_associate_request(self, request: AssociateRQ) -> list[Output]:
        """A-ASSOCIATE request (Evt1): ask for a transport connection, then send ``request``."""
        request.encode()  # validate before any change of state
        return self._handle(Event.EVT1, request)

    def transport_connected(self) -> list[Output]:
        """Transport connect confirmation (Evt2): the connection asked for is open."""
        return self._handle(Event.EVT2)

    def transport_indication(self) -> list[Output]:
        """Transport connection indication (Evt5): a peer connected to us."""
        return self._handle(Event.EVT5)

    def send_associate_accept(self, response: AssociateAC) -> list[Output]:
        """A-ASSOCIATE response, accept (Evt7)."""
        data = response.encode()
        return self._handle(Event.EVT7, response, data=data)

    def send_associate_reject(self, response: AssociateRJ) -> list[Output]:
        """A-ASSOCIATE response, reject (Evt8)."""
        data = response.encode()
        return self._handle(Event.EVT8, response, data=data)

    def send_data(self, pdu: PDataTF | list[PDV] | tuple[PDV, ...]) -> list[Output]:
        """P-DATA request (Evt9).

        Raises
        ------
        LocalProtocolError
            Not in Sta6 or Sta8, or the PDU is longer than the peer's Maximum Length
            (split data with :func:`~pacsnb.net.fragment`).
        """
        if not isinstance(pdu, PDataTF):
            pdu = PDataTF(tuple(pdu))
        if self.state is State.STA6 and not _debug():  # the common case (DT-1), without the table
            if self.peer_max_length and pdu.length > self.peer_max_length:
                raise LocalProtocolError(f"P-DATA-TF PDU-length {pdu.length} exceeds the peer's maximum "
                                         f"length {self.peer_max_length}; split it with fragment()")
            data = pdu.encode()
            self.last_transition = _DT1
            return [SendPDU(pdu, data)]
        if (self.state, Event.EVT9) in TRANSITIONS and self.peer_max_length \
                and pdu.length > self.peer_max_length:
            raise LocalProtocolError(f"P-DATA-TF PDU-length {pdu.length} exceeds the peer's maximum "
                                     f"length {self.peer_max_length}; split it with fragment()")
        data = pdu.encode()
        return self._handle(Event.EVT9, pdu, data=data)

    def send_encoded_data(self, data: bytes) -> bytes:
        """P-DATA request (Evt9) for a P-DATA-TF PDU already encoded: ``data`` is checked
        and returned, to be written as it is (the fast path of the transport, which caches
        the encodings of frequent messages).

        The transition is the same as :meth:`send_data`'s (DT-1 in Sta6, AR-7 in Sta8);
        no :class:`Output` is made: the caller writes ``data``.

        Raises
        ------
        LocalProtocolError
            Not in Sta6 or Sta8, ``data`` is not one whole P-DATA-TF PDU, or it is longer
            than the peer's Maximum Length.

        Examples
        --------
        >>> from pacsnb.net.pdu import PDataTF, PDV
        >>> sm = StateMachine()
        >>> raw = PDataTF([PDV(1, b"abc", is_command=True)]).encode()
        >>> try:
        ...     sm.send_encoded_data(raw)
        ... except Exception as err:
        ...     print(type(err).__name__)
        LocalProtocolError
        """
        state = self.state
        if state is not State.STA6 and state is not State.STA8:
            self._undefined(Event.EVT9)
        if len(data) < 12 or data[0] != 0x04 or int.from_bytes(data[2:6], "big") != len(data) - 6:
            raise LocalProtocolError("send_encoded_data() takes exactly one encoded P-DATA-TF PDU")
        if self.peer_max_length and len(data) - 6 > self.peer_max_length:
            raise LocalProtocolError(f"P-DATA-TF PDU-length {len(data) - 6} exceeds the peer's maximum "
                                     f"length {self.peer_max_length}; split it with fragment()")
        if state is State.STA6:
            self.last_transition = _DT1
        else:
            self.last_transition = (State.STA8, Event.EVT9, "AR-7", State.STA8)
        if _debug():
            log.debug("%s + %s: %s -> %s", state.name, Event.EVT9.name, self.last_transition[2], state.name)
        return data

    def send_release_request(self) -> list[Output]:
        """A-RELEASE request (Evt11)."""
        return self._handle(Event.EVT11)

    def send_release_response(self) -> list[Output]:
        """A-RELEASE response (Evt14)."""
        return self._handle(Event.EVT14)

    def send_abort(self) -> list[Output]:
        """A-ABORT request (Evt15); does nothing when no association is left (Sta1, Sta13)."""
        return self._handle(Event.EVT15)

    def transport_closed(self) -> list[Output]:
        """Transport connection closed indication (Evt17)."""
        return self._handle(Event.EVT17)

    def timer_expired(self) -> list[Output]:
        """ARTIM timer expired (Evt18)."""
        if not self.artim_running:
            return []  # a timer that fired while being stopped
        return self._handle(Event.EVT18)

    def receive_pdata(self, data: bytes) -> bool:
        """Take ``data`` as one whole P-DATA-TF PDU with a single PDV item, if it is one and
        nothing else is pending: the fast path of :meth:`receive_bytes` for the common case.

        Returns ``True`` when the PDU was taken (Evt10 in Sta6: DT-2, recorded in
        :attr:`last_transition`); the caller then reads the PDV itself from ``data``:
        context ID at byte 10, message control header at byte 11, fragment from byte 12.
        Returns ``False``, changing nothing, for anything else (other states, other PDUs,
        several PDVs or PDUs, partial PDUs, bytes already buffered, a PDU-length this side
        does not accept, debug logging on): then call :meth:`receive_bytes`, which handles
        every case.

        Examples
        --------
        >>> from pacsnb.net.pdu import PDataTF, PDV
        >>> raw = PDataTF([PDV(1, b"abc", is_command=True)]).encode()
        >>> StateMachine().receive_pdata(raw)     # no association: the general path decides
        False
        """
        if self.state is not State.STA6 or len(data) < 12 or data[0] != 0x04:
            return False
        reader = self._reader
        if reader._buf or reader.failed is not None or _debug():
            return False
        length = len(data) - 6
        if int.from_bytes(data[2:6], "big") != length or length > reader._max_pdata \
                or int.from_bytes(data[6:10], "big") != length - 4:
            return False
        self.last_transition = _DT2
        return True

    def receive_bytes(self, data: bytes) -> list[Output]:
        """Bytes received on the transport connection (Evt3, 4, 6, 10, 12, 13, 16, 19).

        Any chunking is fine: incomplete PDUs wait in the reader for the rest.
        """
        if self.state == State.STA1:
            return []  # the connection is closed on this side: nothing can be received
        if self.state == State.STA4:
            raise LocalProtocolError("bytes received in Sta4, before the transport connection "
                                     "is open: call transport_connected() first")
        reader = self._reader
        reader.feed(data)
        out: list[Output] = []
        debug = _debug()
        while self.state is not State.STA1:
            try:
                pdu = reader.next_pdu()
            except PDUError as err:
                out += self._handle(Event.EVT19, error=err)
                continue
            if pdu is None:
                break
            if self.state is State.STA6 and type(pdu) is PDataTF and not debug:
                out.append(DataIndication(pdu))  # DT-2, the common case, without the table
                self.last_transition = _DT2
                continue
            out += self._handle(_EVENT_FOR_PDU[type(pdu)], pdu)
        return out

    # --- dispatch -------------------------------------------------------------------------

    def _handle(self, event: Event, pdu: object = None, *, data: bytes | None = None,
                error: PDUError | None = None) -> list[Output]:
        action = TRANSITIONS.get((self.state, event))
        if action is None:
            return self._undefined(event)
        out: list[Output] = []
        next_state = self._actions[action](out, pdu, data, error)
        if _debug():
            log.debug("%s + %s: %s -> %s", self.state.name, event.name, action, next_state.name)
        self.last_transition = (self.state, event, action, next_state)
        self.state = next_state
        for o in out:
            if isinstance(o, StartTimer):
                self.artim_running = True
            elif isinstance(o, StopTimer):
                self.artim_running = False
        return out

    def _undefined(self, event: Event) -> list[Output]:
        if event == Event.EVT15 and self.state in (State.STA1, State.STA13):
            return []
        if event == Event.EVT17 and self.state == State.STA1:
            return []
        if event == Event.EVT18:
            return []
        raise LocalProtocolError(
            f"{_EVENT_TEXT[event]} is not allowed in Sta{self.state.value} "
            f"({self.state.description}); PS3.8 Table 9-10 has no transition for it")

    def _send(self, out: list[Output], pdu: PDU, data: bytes | None = None) -> None:
        out.append(SendPDU(pdu, pdu.encode() if data is None else data))

    def _start_timer(self, out: list[Output]) -> None:
        out.append(StartTimer(self.artim_timeout))

    # --- association establishment (Table 9-6) ------------------------------------------

    def _ae1(self, out, pdu, data, error) -> State:
        self.is_requestor = True
        self.request, self.response, self.peer_max_length = pdu, None, 0
        self._reader = self._new_reader()
        out.append(ConnectTransport(pdu))
        return State.STA4

    def _ae2(self, out, pdu, data, error) -> State:
        rq = self.request
        assert rq is not None
        self._reader.max_pdata_length = _max_length(rq.user_information.maximum_length)
        self._send(out, rq)
        return State.STA5

    def _ae3(self, out, pdu, data, error) -> State:
        self.response = pdu
        self.peer_max_length = pdu.user_information.maximum_length or 0
        out.append(AssociateAccepted(pdu))
        return State.STA6

    def _ae4(self, out, pdu, data, error) -> State:
        self.response = pdu
        out.append(AssociateRejected(pdu))
        out.append(CloseTransport())
        return State.STA1

    def _ae5(self, out, pdu, data, error) -> State:
        self.is_requestor = False
        self.request, self.response, self.peer_max_length = None, None, 0
        self._reader = self._new_reader()
        self._start_timer(out)
        return State.STA2

    def _ae6(self, out, pdu, data, error) -> State:
        out.append(StopTimer())
        self.request = pdu
        if pdu.protocol_version & 1:
            self.peer_max_length = pdu.user_information.maximum_length or 0
            out.append(AssociateIndication(pdu))
            return State.STA3
        # not acceptable by the service-provider: only version 1 (bit 0) is known
        rj = AssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_PROVIDER_ACSE,
                         RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED)
        self.response = rj
        self._send(out, rj)
        self._start_timer(out)
        return State.STA13

    def _ae7(self, out, pdu, data, error) -> State:
        self.response = pdu
        self._reader.max_pdata_length = _max_length(pdu.user_information.maximum_length)
        self._send(out, pdu, data)
        return State.STA6

    def _ae8(self, out, pdu, data, error) -> State:
        self.response = pdu
        self._send(out, pdu, data)
        self._start_timer(out)
        return State.STA13

    # --- data transfer (Table 9-7) --------------------------------------------------------

    def _dt1(self, out, pdu, data, error) -> State:
        self._send(out, pdu, data)
        return State.STA6

    def _dt2(self, out, pdu, data, error) -> State:
        out.append(DataIndication(pdu))
        return State.STA6

    # --- association release (Table 9-8) --------------------------------------------------

    def _ar1(self, out, pdu, data, error) -> State:
        self._send(out, ReleaseRQ())
        return State.STA7

    def _ar2(self, out, pdu, data, error) -> State:
        out.append(ReleaseIndication(collision=False))
        return State.STA8

    def _ar3(self, out, pdu, data, error) -> State:
        out.append(ReleaseConfirmation())
        out.append(CloseTransport())
        return State.STA1

    def _ar4(self, out, pdu, data, error) -> State:
        self._send(out, ReleaseRP())
        self._start_timer(out)
        return State.STA13

    def _ar5(self, out, pdu, data, error) -> State:
        out.append(StopTimer())
        return State.STA1

    def _ar6(self, out, pdu, data, error) -> State:
        out.append(DataIndication(pdu))
        return State.STA7

    def _ar7(self, out, pdu, data, error) -> State:
        self._send(out, pdu, data)
        return State.STA8

    def _ar8(self, out, pdu, data, error) -> State:
        out.append(ReleaseIndication(collision=True))
        return State.STA9 if self.is_requestor else State.STA10

    def _ar9(self, out, pdu, data, error) -> State:
        self._send(out, ReleaseRP())
        return State.STA11

    def _ar10(self, out, pdu, data, error) -> State:
        out.append(ReleaseConfirmation())
        return State.STA12

    # --- association abort (Table 9-9) ----------------------------------------------------

    def _aa1(self, out, pdu, data, error) -> State:
        self._send(out, Abort(AbortSource.SERVICE_USER, AbortReason.NOT_SPECIFIED))
        self._start_timer(out)
        return State.STA13

    def _aa2(self, out, pdu, data, error) -> State:
        if self.artim_running:
            out.append(StopTimer())
        out.append(CloseTransport())
        return State.STA1

    def _aa3(self, out, pdu, data, error) -> State:
        if pdu.source == AbortSource.SERVICE_USER:
            out.append(AbortIndication(pdu.source, pdu.reason))
        else:
            out.append(ProviderAbortIndication(
                pdu.reason, f"the peer's service provider aborted the association "
                            f"(reason {_abort_reason_text(pdu.reason)})"))
        out.append(CloseTransport())
        return State.STA1

    def _aa4(self, out, pdu, data, error) -> State:
        out.append(ProviderAbortIndication(AbortReason.NOT_SPECIFIED,
                                           "the transport connection was closed"))
        return State.STA1

    def _aa5(self, out, pdu, data, error) -> State:
        out.append(StopTimer())
        return State.STA1

    def _aa6(self, out, pdu, data, error) -> State:
        return State.STA13

    def _aa7(self, out, pdu, data, error) -> State:
        reason = error.reason if error is not None else AbortReason.UNEXPECTED_PDU
        self._send(out, Abort(AbortSource.SERVICE_PROVIDER, reason))
        return State.STA13

    def _aa8(self, out, pdu, data, error) -> State:
        if error is not None:
            reason, message = error.reason, str(error)
        else:
            reason = AbortReason.UNEXPECTED_PDU
            message = (f"unexpected {type(pdu).__name__} PDU in Sta{self.state.value} "
                       f"({self.state.description})")
        self._send(out, Abort(AbortSource.SERVICE_PROVIDER, reason))
        out.append(ProviderAbortIndication(reason, message))
        self._start_timer(out)
        return State.STA13


#: The transitions of the data transfer fast paths (PS3.8 Table 9-10).
_DT1 = (State.STA6, Event.EVT9, "DT-1", State.STA6)
_DT2 = (State.STA6, Event.EVT10, "DT-2", State.STA6)
_DEBUG = logging.DEBUG


def _debug() -> bool:
    """Whether transitions are logged (the fast paths then go through the table, which logs)."""
    return log.isEnabledFor(_DEBUG)


def _max_length(value: int | None) -> int:
    return DEFAULT_MAXIMUM_LENGTH if value is None else value


def _abort_reason_text(reason: int) -> str:
    try:
        return f"{reason}, {AbortReason(reason).name.lower().replace('_', '-')}"
    except ValueError:
        return str(reason)


_EVENT_TEXT = {
    Event.EVT1: "A-ASSOCIATE request (Evt1)",
    Event.EVT2: "transport connect confirmation (Evt2)",
    Event.EVT3: "A-ASSOCIATE-AC PDU (Evt3)",
    Event.EVT4: "A-ASSOCIATE-RJ PDU (Evt4)",
    Event.EVT5: "transport connection indication (Evt5)",
    Event.EVT6: "A-ASSOCIATE-RQ PDU (Evt6)",
    Event.EVT7: "A-ASSOCIATE response accept (Evt7)",
    Event.EVT8: "A-ASSOCIATE response reject (Evt8)",
    Event.EVT9: "P-DATA request (Evt9)",
    Event.EVT10: "P-DATA-TF PDU (Evt10)",
    Event.EVT11: "A-RELEASE request (Evt11)",
    Event.EVT12: "A-RELEASE-RQ PDU (Evt12)",
    Event.EVT13: "A-RELEASE-RP PDU (Evt13)",
    Event.EVT14: "A-RELEASE response (Evt14)",
    Event.EVT15: "A-ABORT request (Evt15)",
    Event.EVT16: "A-ABORT PDU (Evt16)",
    Event.EVT17: "transport connection closed (Evt17)",
    Event.EVT18: "ARTIM timer expired (Evt18)",
    Event.EVT19: "unrecognized or invalid PDU (Evt19)",
}
