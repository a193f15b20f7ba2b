"""The PS3.8 state machine, driven by bytes and primitives only (no sockets).

Every one of the 13 x 19 (state, event) pairs is reached by real input: the machine is
brought into each state by a sequence of primitives and PDU bytes, the event is applied by
its primitive or by the bytes of its PDU, and the outcome is compared with PS3.8 Table
9-10 (the action's outputs and next state) or, for the empty cells, with the documented
behaviour (LocalProtocolError with the state unchanged, or nothing at all).
"""
from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacsnb.net import (TRANSITIONS, Abort, AbortIndication, AssociateAC, AssociateAccepted,
                        AssociateIndication, AssociateRejected, AssociateRJ, AssociateRQ,
                        CloseTransport, ConnectTransport, DataIndication, Event, LocalProtocolError,
                        PDataTF, PDV, PresentationContextAC, PresentationContextRQ,
                        ProviderAbortIndication, ReleaseConfirmation, ReleaseIndication, ReleaseRP,
                        ReleaseRQ, SendPDU, StartTimer, State, StateMachine, StopTimer,
                        UserInformation, fragment)

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
RQ = AssociateRQ("SCP", "SCU", (PresentationContextRQ(1, VERIFICATION, (IMPLICIT,)),),
                 UserInformation(maximum_length=16384, implementation_class_uid="1.2.3"))
AC = AssociateAC("SCP", "SCU", (PresentationContextAC(1, 0, IMPLICIT),),
                 UserInformation(maximum_length=32768, implementation_class_uid="1.2.4"))
RJ = AssociateRJ(1, 1, 7)
PDATA = PDataTF((PDV(1, b"\x00" * 10, is_command=True, is_last=True),))
GARBAGE = bytes.fromhex("0a0000000000")      # PDU type 0x0A: unrecognized
USER_ABORT = Abort(0, 0)

# --- bringing a machine into each state with real input -----------------------------------------


def _sta2():
    sm = StateMachine()
    sm.transport_indication()
    return sm


def _sta3():
    sm = _sta2()
    sm.receive_bytes(RQ.encode())
    return sm


def _sta4():
    sm = StateMachine()
    sm.send_associate_request(RQ)
    return sm


def _sta5():
    sm = _sta4()
    sm.transport_connected()
    return sm


def _sta6(requestor: bool):
    if requestor:
        sm = _sta5()
        sm.receive_bytes(AC.encode())
    else:
        sm = _sta3()
        sm.send_associate_accept(AC)
    return sm


def _sta7(requestor: bool):
    sm = _sta6(requestor)
    sm.send_release_request()
    return sm


def _sta8(requestor: bool):
    sm = _sta6(requestor)
    sm.receive_bytes(ReleaseRQ().encode())
    return sm


def _sta9():
    sm = _sta7(True)
    sm.receive_bytes(ReleaseRQ().encode())
    return sm


def _sta10():
    sm = _sta7(False)
    sm.receive_bytes(ReleaseRQ().encode())
    return sm


def _sta11():
    sm = _sta9()
    sm.send_release_response()
    return sm


def _sta12():
    sm = _sta10()
    sm.receive_bytes(ReleaseRP().encode())
    return sm


def _sta13(requestor: bool):
    sm = _sta6(requestor)
    sm.send_abort()
    return sm


# (state, role) -> builder; role None where the state belongs to one side only
SETUPS = {
    (1, None): StateMachine, (2, None): _sta2, (3, None): _sta3, (4, None): _sta4, (5, None): _sta5,
    (6, "requestor"): lambda: _sta6(True), (6, "acceptor"): lambda: _sta6(False),
    (7, "requestor"): lambda: _sta7(True), (7, "acceptor"): lambda: _sta7(False),
    (8, "requestor"): lambda: _sta8(True), (8, "acceptor"): lambda: _sta8(False),
    (9, None): _sta9, (10, None): _sta10, (11, None): _sta11, (12, None): _sta12,
    (13, "requestor"): lambda: _sta13(True), (13, "acceptor"): lambda: _sta13(False),
}

TRIGGERS = {
    1: lambda sm: sm.send_associate_request(RQ),
    2: lambda sm: sm.transport_connected(),
    3: lambda sm: sm.receive_bytes(AC.encode()),
    4: lambda sm: sm.receive_bytes(RJ.encode()),
    5: lambda sm: sm.transport_indication(),
    6: lambda sm: sm.receive_bytes(RQ.encode()),
    7: lambda sm: sm.send_associate_accept(AC),
    8: lambda sm: sm.send_associate_reject(RJ),
    9: lambda sm: sm.send_data(PDATA),
    10: lambda sm: sm.receive_bytes(PDATA.encode()),
    11: lambda sm: sm.send_release_request(),
    12: lambda sm: sm.receive_bytes(ReleaseRQ().encode()),
    13: lambda sm: sm.receive_bytes(ReleaseRP().encode()),
    14: lambda sm: sm.send_release_response(),
    15: lambda sm: sm.send_abort(),
    16: lambda sm: sm.receive_bytes(USER_ABORT.encode()),
    17: lambda sm: sm.transport_closed(),
    18: lambda sm: sm.timer_expired(),
    19: lambda sm: sm.receive_bytes(GARBAGE),
}

NEXT_STATE = {  # PS3.8 Tables 9-6 to 9-9 (AE-6 with an acceptable request, AR-8 by role)
    "AE-1": 4, "AE-2": 5, "AE-3": 6, "AE-4": 1, "AE-5": 2, "AE-6": 3, "AE-7": 6, "AE-8": 13,
    "DT-1": 6, "DT-2": 6, "AR-1": 7, "AR-2": 8, "AR-3": 1, "AR-4": 13, "AR-5": 1, "AR-6": 7,
    "AR-7": 8, "AR-9": 11, "AR-10": 12, "AA-1": 13, "AA-2": 1, "AA-3": 1, "AA-4": 1, "AA-5": 1,
    "AA-6": 13, "AA-7": 13, "AA-8": 13,
}


def _shape(out):
    """Outputs as comparable tuples: ('send', PDU class) or the output class."""
    return [("send", type(o.pdu).__name__) if isinstance(o, SendPDU) else type(o).__name__ for o in out]


def _expected_outputs(action: str, state: int, event: int, artim_was_running: bool):
    send = lambda name: ("send", name)  # noqa: E731
    return {
        "AE-1": ["ConnectTransport"],
        "AE-2": [send("AssociateRQ")],
        "AE-3": ["AssociateAccepted"],
        "AE-4": ["AssociateRejected", "CloseTransport"],
        "AE-5": ["StartTimer"],
        "AE-6": ["StopTimer", "AssociateIndication"],
        "AE-7": [send("AssociateAC")],
        "AE-8": [send("AssociateRJ"), "StartTimer"],
        "DT-1": [send("PDataTF")],
        "DT-2": ["DataIndication"],
        "AR-1": [send("ReleaseRQ")],
        "AR-2": ["ReleaseIndication"],
        "AR-3": ["ReleaseConfirmation", "CloseTransport"],
        "AR-4": [send("ReleaseRP"), "StartTimer"],
        "AR-5": ["StopTimer"],
        "AR-6": ["DataIndication"],
        "AR-7": [send("PDataTF")],
        "AR-8": ["ReleaseIndication"],
        "AR-9": [send("ReleaseRP")],
        "AR-10": ["ReleaseConfirmation"],
        "AA-1": [send("Abort"), "StartTimer"],
        "AA-2": (["StopTimer"] if artim_was_running else []) + ["CloseTransport"],
        "AA-3": ["AbortIndication", "CloseTransport"],
        "AA-4": ["ProviderAbortIndication"],
        "AA-5": ["StopTimer"],
        "AA-6": [],
        "AA-7": [send("Abort")],
        "AA-8": [send("Abort"), "ProviderAbortIndication", "StartTimer"],
    }[action]


PAIRS = [(s, role, e) for (s, role) in SETUPS for e in range(1, 20)]


def test_every_state_is_reached_and_every_pair_enumerated():
    assert {s for s, _ in SETUPS} == set(range(1, 14))
    for (s, role), make in SETUPS.items():
        assert make().state == State(s), (s, role)
    assert {(s, e) for s, _, e in PAIRS} == {(s, e) for s in range(1, 14) for e in range(1, 20)}


@pytest.mark.parametrize("state, role, event", PAIRS,
                         ids=[f"Sta{s}{'-' + r if r else ''}-Evt{e}" for s, r, e in PAIRS])
def test_state_event_pair(state, role, event):
    sm = SETUPS[(state, role)]()
    action = TRANSITIONS.get((State(state), Event(event)))
    artim = sm.artim_running
    assert artim == (state in (2, 13))                  # ARTIM runs exactly in Sta2 and Sta13 here
    if action is None:
        _check_empty_cell(sm, state, event)
        return
    out = TRIGGERS[event](sm)
    expected_next = NEXT_STATE.get(action) or (9 if sm.is_requestor else 10)   # AR-8
    assert sm.last_transition == (State(state), Event(event), action, State(expected_next))
    assert sm.state == State(expected_next)
    assert _shape(out) == _expected_outputs(action, state, event, artim)
    assert sm.artim_running == (expected_next in (2, 13))
    # details the shapes do not show
    for o in out:
        if isinstance(o, SendPDU) and isinstance(o.pdu, Abort):
            if action == "AA-1":
                assert o.pdu == Abort(0, 0)                 # service-user source
            else:                                          # AA-7, AA-8: service-provider source
                assert o.pdu.source == 2 and o.pdu.reason == (1 if event == 19 else 2)
        if isinstance(o, ProviderAbortIndication) and action == "AA-8":
            assert o.reason == (1 if event == 19 else 2) and o.message
        if isinstance(o, ReleaseIndication):
            assert o.collision == (action == "AR-8")
        if isinstance(o, SendPDU):
            assert o.data == o.pdu.encode()


LOCAL = {1, 2, 5, 7, 8, 9, 11, 14, 15}


def _check_empty_cell(sm, state, event):
    before = (sm.state, sm.artim_running, sm.last_transition)
    if event in LOCAL and not (event == 15 and state in (1, 13)):
        with pytest.raises(LocalProtocolError, match=f"Evt{event}.*Sta{state}"):
            TRIGGERS[event](sm)
    elif event not in LOCAL and event not in (17, 18) and state == 4:
        with pytest.raises(LocalProtocolError, match="Sta4"):   # no transport connection yet
            TRIGGERS[event](sm)
    else:
        # Evt15 in Sta1/Sta13, bytes in Sta1, Evt17 in Sta1, stale ARTIM: nothing happens
        assert TRIGGERS[event](sm) == []
    assert (sm.state, sm.artim_running, sm.last_transition) == before


def test_table_shape():
    # 247 cells, 123 filled: per event, the states PS3.8 Table 9-10 gives an action for
    assert len(TRANSITIONS) == 123
    per_event = {e: sum(1 for (_, ev) in TRANSITIONS if ev == e) for e in Event}
    assert [per_event[Event(e)] for e in range(1, 20)] == [
        1, 1, 11, 11, 1, 11, 1, 1, 2, 11, 1, 11, 11, 3, 10, 11, 12, 2, 11]
    # an invalid PDU aborts with AA-8 in every state where an association (or its request) exists
    assert {s for (s, e), a in TRANSITIONS.items() if e == Event.EVT19 and a == "AA-8"} == {
        State(s) for s in (3, 5, 6, 7, 8, 9, 10, 11, 12)}


# --- flows ------------------------------------------------------------------------------------


def _pump(src_out, dst):
    """Feed what one machine sends to the other; return the receiver's outputs."""
    out = []
    for o in src_out:
        if isinstance(o, SendPDU):
            out += dst.receive_bytes(o.data)
    return out


def test_association_data_and_release_between_two_machines():
    scu, scp = StateMachine(), StateMachine()
    assert isinstance(scu.send_associate_request(RQ)[0], ConnectTransport)
    scp.transport_indication()
    out = _pump(scu.transport_connected(), scp)
    assert isinstance(out[1], AssociateIndication) and out[1].request == RQ
    out = _pump(scp.send_associate_accept(AC), scu)
    assert out == [AssociateAccepted(AC)] and scu.state == scp.state == State.STA6
    assert scu.peer_max_length == 32768 and scp.peer_max_length == 16384
    # data both ways, fragmented to the peer's maximum
    message = bytes(range(256)) * 300
    got = []
    for pdu in fragment(1, message, is_command=False, max_pdu_length=scu.peer_max_length):
        got += _pump(scu.send_data(pdu), scp)
    assert b"".join(o.pdu.pdvs[0].data for o in got) == message and all(isinstance(o, DataIndication) for o in got)
    with pytest.raises(LocalProtocolError, match="maximum length 16384"):
        scp.send_data(PDataTF([PDV(1, message[:20000])]))
    # release
    out = _pump(scu.send_release_request(), scp)
    assert out == [ReleaseIndication(collision=False)] and scp.state == State.STA8
    scp.send_data(PDATA)            # AR-7: data may still be sent while the release is pending
    out = _pump(scp.send_release_response(), scu)
    assert out == [ReleaseConfirmation(), CloseTransport()] and scu.state == State.STA1
    assert scp.state == State.STA13 and scp.artim_running
    assert scp.transport_closed() == [StopTimer()] and scp.state == State.STA1


def test_release_collision_on_both_sides():
    scu, scp = StateMachine(), StateMachine()
    scu.send_associate_request(RQ)
    scp.transport_indication()
    _pump(scu.transport_connected(), scp)
    _pump(scp.send_associate_accept(AC), scu)
    a, b = scu.send_release_request(), scp.send_release_request()
    assert scu.state == scp.state == State.STA7
    assert _pump(b, scu) == [ReleaseIndication(collision=True)] and scu.state == State.STA9
    assert _pump(a, scp) == [ReleaseIndication(collision=True)] and scp.state == State.STA10
    out = _pump(scu.send_release_response(), scp)                   # AR-9 then AR-10
    assert scu.state == State.STA11 and out == [ReleaseConfirmation()] and scp.state == State.STA12
    out = _pump(scp.send_release_response(), scu)                   # AR-4 then AR-3
    assert scp.state == State.STA13 and out == [ReleaseConfirmation(), CloseTransport()]
    assert scu.state == State.STA1
    assert scp.transport_closed() == [StopTimer()] and scp.state == State.STA1


def test_rejection_flow():
    scu, scp = StateMachine(), StateMachine()
    scu.send_associate_request(RQ)
    scp.transport_indication()
    _pump(scu.transport_connected(), scp)
    out = _pump(scp.send_associate_reject(RJ), scu)
    assert out == [AssociateRejected(RJ), CloseTransport()] and scu.state == State.STA1
    assert scp.state == State.STA13 and scp.artim_running
    assert scp.timer_expired() == [StopTimer(), CloseTransport()] and scp.state == State.STA1


def test_ae6_rejects_an_unsupported_protocol_version():
    sm = _sta2()
    v2 = AssociateRQ("SCP", "SCU", RQ.presentation_contexts, RQ.user_information, protocol_version=2)
    out = sm.receive_bytes(v2.encode())
    assert _shape(out) == ["StopTimer", ("send", "AssociateRJ"), "StartTimer"]
    assert out[1].pdu == AssociateRJ(1, 2, 2)          # permanent, ACSE provider, protocol version
    assert sm.state == State.STA13 and sm.last_transition[2] == "AE-6"
    # a version word with bit 0 set and others too is acceptable (only bit 0 is tested)
    sm = _sta2()
    v3 = AssociateRQ("SCP", "SCU", RQ.presentation_contexts, RQ.user_information, protocol_version=3)
    assert isinstance(sm.receive_bytes(v3.encode())[1], AssociateIndication)


def test_provider_abort_from_peer_is_an_a_p_abort():
    sm = _sta6(True)
    out = sm.receive_bytes(Abort(2, 6).encode())
    assert isinstance(out[0], ProviderAbortIndication) and out[0].reason == 6
    assert out[1] == CloseTransport() and sm.state == State.STA1
    sm = _sta6(False)
    assert sm.receive_bytes(Abort(0, 0).encode())[0] == AbortIndication(0, 0)


# --- the ARTIM timer ---------------------------------------------------------------------------

def test_artim_in_sta2_waiting_for_the_request():
    sm = StateMachine(artim_timeout=2.5)
    assert sm.transport_indication() == [StartTimer(2.5)] and sm.artim_running
    assert sm.timer_expired() == [StopTimer(), CloseTransport()] and sm.state == State.STA1
    assert not sm.artim_running and sm.timer_expired() == []


def test_artim_stopped_when_the_request_arrives_and_peer_closing_in_sta2():
    sm = _sta2()
    sm.receive_bytes(RQ.encode()[:10])                 # part of the request: timer still runs
    assert sm.artim_running and sm.state == State.STA2
    assert sm.transport_closed() == [StopTimer()] and sm.state == State.STA1   # AA-5


def test_artim_in_sta13_after_each_way_in():
    for make in (lambda: _sta13(True),                                           # AA-1
                 lambda: (lambda s: (s.send_associate_reject(RJ), s)[1])(_sta3()),   # AE-8
                 lambda: (lambda s: (s.send_release_response(), s)[1])(_sta8(False)),  # AR-4
                 lambda: (lambda s: (s.receive_bytes(GARBAGE), s)[1])(_sta6(True))):  # AA-8
        sm = make()
        assert sm.state == State.STA13 and sm.artim_running
        # PDUs arriving now are ignored (AA-6) or answered by an abort (AA-7)
        assert sm.receive_bytes(PDATA.encode() + ReleaseRP().encode()) in ([],)
        assert sm.timer_expired() == [StopTimer(), CloseTransport()] and sm.state == State.STA1


def test_abort_restarts_artim_and_a_second_abort_does_nothing():
    sm = _sta6(True)
    out = sm.send_abort()
    assert _shape(out) == [("send", "Abort"), "StartTimer"]
    assert sm.send_abort() == []
    assert sm.receive_bytes(Abort(0, 0).encode()) == [StopTimer(), CloseTransport()]   # AA-2


def test_aa1_in_sta2_for_an_unexpected_pdu():
    sm = _sta2()
    out = sm.receive_bytes(ReleaseRQ().encode())
    assert _shape(out) == [("send", "Abort"), "StartTimer"] and out[0].pdu == Abort(0, 0)
    assert sm.state == State.STA13


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("state", [2, 3, 5, 6, 7, 8, 9, 10, 11, 12])
def test_pdu_length_ffffffff_aborts_without_allocating(state):
    role = "requestor" if (state, "requestor") in SETUPS else None
    sm = SETUPS[(state, role)]()
    tracemalloc.start()
    try:
        out = sm.receive_bytes(bytes.fromhex("04 00 ff ff ff ff".replace(" ", "")))
        out += sm.receive_bytes(b"\x00" * 1_000_000)           # the peer keeps sending: dropped
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sm.state == State.STA13
    aborts = [o.pdu for o in out if isinstance(o, SendPDU)]
    assert aborts == [Abort(0, 0)] if state == 2 else aborts == [Abort(2, 6)]
    assert sm.reader.buffered == 0
    assert peak < 3_000_000          # the 1 MB chunk itself is the only large object


def test_pdata_longer_than_our_maximum_is_an_invalid_pdu():
    sm = _sta6(True)                 # our RQ said 16384
    big = PDataTF([PDV(1, b"x" * 16379)])      # PDU-length 16385
    out = sm.receive_bytes(big.encode())
    assert out[0].pdu == Abort(2, 6) and "exceeds the maximum length 16384" in out[1].message
    ok = _sta6(True)
    assert isinstance(ok.receive_bytes(PDataTF([PDV(1, b"x" * 16378)]).encode())[0], DataIndication)


def test_truncated_pdu_then_connection_closed():
    sm = _sta6(False)
    assert sm.receive_bytes(PDATA.encode()[:-3]) == [] and sm.reader.buffered == len(PDATA.encode()) - 3
    out = sm.transport_closed()
    assert isinstance(out[0], ProviderAbortIndication) and sm.state == State.STA1


def test_malformed_body_in_each_association_state():
    bad = bytes.fromhex("0400000000050000000101")     # PDV length 1
    for key, make in SETUPS.items():
        if key[0] in (1, 4, 13):
            continue
        sm = make()
        out = sm.receive_bytes(bad)
        sent = [o.pdu for o in out if isinstance(o, SendPDU)]
        assert sm.state == State.STA13
        assert sent == ([Abort(0, 0)] if key[0] == 2 else [Abort(2, 6)])


def test_several_pdus_in_one_chunk_and_bytes_after_closing_are_dropped():
    sm = _sta6(True)
    out = sm.receive_bytes(PDATA.encode() * 3 + ReleaseRQ().encode())
    assert [type(o).__name__ for o in out] == ["DataIndication"] * 3 + ["ReleaseIndication"]
    sm = _sta7(True)
    out = sm.receive_bytes(ReleaseRP().encode() + PDATA.encode())       # AR-3 closes: rest ignored
    assert out == [ReleaseConfirmation(), CloseTransport()] and sm.receive_bytes(b"xyz") == []


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(k for k in SETUPS if k[0] not in (1, 4))), st.binary(max_size=200),
       st.integers(1, 50))
def test_random_bytes_in_any_state(key, junk, chunk):
    sm = SETUPS[key]()
    for i in range(0, len(junk), chunk):
        out = sm.receive_bytes(junk[i:i + chunk])
        assert all(isinstance(o, (SendPDU, StartTimer, StopTimer, CloseTransport)) or
                   type(o).__name__.endswith(("Indication", "Confirmation", "Accepted", "Rejected"))
                   for o in out)
    assert sm.reader.buffered <= max(len(junk), 6)
    assert sm.state in State


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=100))
def test_random_bytes_after_a_valid_prefix(junk):
    sm = _sta2()
    raw = RQ.encode()
    out = sm.receive_bytes(raw + junk)
    assert isinstance(out[1], AssociateIndication)
    assert sm.state in (State.STA3, State.STA13)


def test_repr_and_descriptions():
    sm = _sta6(True)
    assert "requestor STA6" in repr(sm) and "data transfer" in repr(sm)
    assert State.STA13.description.startswith("Awaiting Transport Connection Close")
    assert ConnectTransport(RQ).request is RQ and isinstance(AssociateAccepted(AC), object)
    assert DataIndication(PDATA).pdu is PDATA
