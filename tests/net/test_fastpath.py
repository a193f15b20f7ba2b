"""The network fast paths: cached C-ECHO encodings, inline handlers answered from the
receive path, blocking handlers handed to a worker thread from it, the shared wait timer."""
from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

import pacsnb.net as net
from pacsnb.errors import DicomValueError, LocalProtocolError
from pacsnb.net import StateMachine
from pacsnb.net.dimse import (CEchoRQ, CEchoRSP, CStoreRQ, Message, Status, command_pdu,
                              decode_command, message_to_pdus)
from pacsnb.net.pdu import PDataTF, PDV
from pacsnb.net.loop import bridge
from pacsnb.net.scp import inline
from pacsnb.samples import make_ct_series
from pacsnb.io import encode_dataset

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def _reference(context_id: int, command) -> bytes:
    pdus = list(message_to_pdus(context_id, command, None, max_pdu_length=0))
    assert len(pdus) == 1
    return pdus[0].encode()


# --- cached encodings -------------------------------------------------------------------------

def test_command_pdu_matches_the_reference_encoding_for_every_id_and_context():
    rng = random.Random(7)
    cases = []
    for _ in range(500):  # interleaved: a cached template must never leak an id or a context
        ctx = rng.choice([1, 3, 5, 255])
        mid = rng.choice([0, 1, 2, 255, 256, 4660, 65535, rng.randrange(65536)])
        kind = rng.randrange(4)
        if kind == 0:
            cmd = CEchoRQ(message_id=mid)
        elif kind == 1:
            cmd = CEchoRSP(message_id_being_responded_to=mid, status=0, affected_sop_class_uid=VERIFICATION)
        elif kind == 2:
            cmd = CEchoRSP(message_id_being_responded_to=mid, status=0x0110, error_comment="boom",
                           affected_sop_class_uid=VERIFICATION)
        else:
            cmd = CEchoRQ(message_id=mid, affected_sop_class_uid="1.2.3.4")
        cases.append((ctx, cmd))
    for ctx, cmd in cases:
        raw = command_pdu(ctx, cmd)
        assert raw == _reference(ctx, cmd), (ctx, cmd)
        # and it decodes back to the same command on the same context
        assert raw[10] == ctx and raw[11] == 0x03
        assert decode_command(raw[12:])[0] == cmd


def test_command_pdu_of_other_commands_and_limits():
    rsp = CStoreRQ(message_id=9, affected_sop_class_uid=CT, affected_sop_instance_uid="1.2.3").response(0)
    assert command_pdu(7, rsp) == _reference(7, rsp)
    extra = CEchoRQ(message_id=3, extra=((0x00004000, b"OLD "),))  # not cached: still exact
    assert command_pdu(1, extra) == _reference(1, extra)
    assert command_pdu(1, CEchoRQ(message_id=1), max_pdu_length=40) is None
    assert command_pdu(1, CEchoRQ(message_id=1), max_pdu_length=len(_reference(1, CEchoRQ(message_id=1))) - 6)
    with pytest.raises(DicomValueError):
        command_pdu(1, CEchoRQ(message_id=70000))
    with pytest.raises(DicomValueError):
        command_pdu(256, CEchoRQ(message_id=1))


def _elements(items):
    import struct
    body = b"".join(struct.pack("<HHI", 0, tag, len(raw)) + raw for tag, raw in items)
    return body


def test_decoded_c_echo_commands_keep_their_own_ids_and_fields():
    """Decoding remembers C-ECHO command sets by their bytes without the Message ID: each
    decoded command must still be exactly what its bytes say, whatever was decoded before."""
    import struct
    from pacsnb.net import dimse
    rng = random.Random(5)
    uid = b"1.2.840.10008.1.1\x00"
    layouts = []
    for _ in range(400):
        mid = rng.randrange(65536)
        kind = rng.randrange(4)
        if kind == 0:  # ours: group length first
            raw = CEchoRQ(message_id=mid).encode()
        elif kind == 1:  # no group length, a field order of its own
            raw = _elements([(0x0002, uid), (0x0100, struct.pack("<H", 0x0030)),
                             (0x0110, struct.pack("<H", mid)), (0x0800, struct.pack("<H", 0x0101))])
        elif kind == 2:
            raw = CEchoRSP(message_id_being_responded_to=mid, status=rng.choice([0, 0x0110, 0x0122]),
                           affected_sop_class_uid=VERIFICATION).encode()
        else:  # a status detail
            raw = CEchoRSP(message_id_being_responded_to=mid, status=0x0110, error_comment=f"e{mid % 3}",
                           affected_sop_class_uid=VERIFICATION).encode()
        layouts.append(raw)
    decoded = [decode_command(raw) for raw in layouts]
    dimse._DECODED.clear()
    dimse._ID_OFFSETS.clear()
    fresh = []
    for raw in layouts:  # the reference: nothing remembered
        fresh.append(decode_command(raw))
        dimse._DECODED.clear()
        dimse._ID_OFFSETS.clear()
    assert decoded == fresh
    assert decode_command(bytearray(layouts[0])) == fresh[0]


def test_send_encoded_data_follows_the_table():
    sm = StateMachine()
    raw = PDataTF([PDV(1, CEchoRQ(message_id=1).encode(), is_command=True)]).encode()
    with pytest.raises(LocalProtocolError):  # Sta1: no association
        sm.send_encoded_data(raw)
    assert sm.state.name == "STA1"


# --- servers ------------------------------------------------------------------------------------

def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _raw_echoes(assoc, ids_and_contexts, *, pipelined: bool):
    """Send C-ECHO-RQs with the given (message id, context id) on the association's connection;
    return the (context id, message id being responded to, status) of each response."""
    conn = assoc._conn
    out = []
    if pipelined:
        for mid, ctx in ids_and_contexts:
            await conn.send_message(ctx, CEchoRQ(message_id=mid))
        for _ in ids_and_contexts:
            ev = await conn.next_event(30)
            assert isinstance(ev, Message)
            out.append((ev.context_id, ev.command.message_id_being_responded_to, ev.command.status))
        return out
    for mid, ctx in ids_and_contexts:
        await conn.send_message(ctx, CEchoRQ(message_id=mid))
        ev = await conn.next_event(30)
        assert isinstance(ev, Message)
        out.append((ev.context_id, ev.command.message_id_being_responded_to, ev.command.status))
    return out


@pytest.mark.parametrize("pipelined", [False, True])
def test_two_thousand_inline_echoes_keep_their_ids_and_contexts(pipelined):
    calls = []

    @inline
    def on_echo(request):
        calls.append((request.message_id, request.context.context_id))
        return 0

    async def main():
        async with net.Server({"C-ECHO": on_echo}, port=0, ae_title="SCP") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="SCP",
                                   contexts=[(VERIFICATION, "1.2.840.10008.1.2"),
                                             (VERIFICATION, "1.2.840.10008.1.2.1")]) as assoc:
                ctxs = [c.context_id for c in assoc.accepted_contexts]
                assert len(ctxs) == 2
                rng = random.Random(11)
                plan = [(rng.randrange(1, 65536), rng.choice(ctxs)) for _ in range(2000)]
                got = []
                step = 100 if pipelined else len(plan)
                for i in range(0, len(plan), step):  # the connection lives on the service loop
                    got += await bridge(_raw_echoes(assoc, plan[i:i + step], pipelined=pipelined))
                echoes = [await assoc.echo() for _ in range(50)]  # the public API on the same association
            return plan, got, echoes, server.statistics

    plan, got, echoes, stats = _run(main())
    assert got == [(ctx, mid, 0) for mid, ctx in plan]
    assert calls[:2000] == plan  # handled in order, each with its own request
    assert echoes == [0] * 50
    assert stats["C-ECHO"] == 2050 and stats["responses_sent"] == 2050


def test_inline_handler_failures_and_async_inline_handlers():
    state = {"n": 0}

    @inline
    def flaky(request):
        state["n"] += 1
        if state["n"] % 3 == 0:
            raise RuntimeError("broken")
        return 0

    @inline
    async def quick(request):  # async, but never suspends: fine inline
        return 0

    @inline
    async def sleepy(request):  # suspends: not allowed inline
        await asyncio.sleep(0.01)
        return 0

    async def one(handler, n):
        async with net.Server({"C-ECHO": handler}, port=0, ae_title="SCP") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[VERIFICATION]) as assoc:
                return [await assoc.echo() for _ in range(n)]

    async def main():
        return await one(flaky, 6), await one(quick, 3), await one(sleepy, 2)

    flaky_statuses, quick_statuses, sleepy_statuses = _run(main())
    assert flaky_statuses == [0, 0, Status.PROCESSING_FAILURE, 0, 0, Status.PROCESSING_FAILURE]
    assert quick_statuses == [0, 0, 0]
    assert sleepy_statuses == [Status.PROCESSING_FAILURE] * 2


def test_blocking_handler_in_a_thread_keeps_order_of_pipelined_stores():
    """C-STOREs sent back to back (no operations window) to a blocking handler: each is
    handled in a worker thread, in order, one at a time, and answered in order."""
    received = []
    active = []
    lock = threading.Lock()
    rng = random.Random(3)

    def on_store(request):
        with lock:
            active.append(1)
            assert len(active) == 1  # one at a time per association
        time.sleep(rng.random() * 0.003)
        received.append((request.message_id, request.dataset.SOPInstanceUID, threading.current_thread().name))
        with lock:
            active.pop()
        return 0 if request.message_id % 5 else 0xB000  # a warning now and then, answered as it is

    series = make_ct_series(n_slices=40, rows=8, columns=8)

    async def main():
        async with net.Server({"C-STORE": on_store, "C-ECHO": inline(lambda r: 0)}, port=0, ae_title="SCP",
                              max_operations=1) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="SCP",
                                   contexts=[(CT, "1.2.840.10008.1.2.1"), VERIFICATION]) as assoc:
                answers = await bridge(raw(assoc))  # the connection lives on the service loop
            return answers, server.statistics

    async def raw(assoc):
        conn = assoc._conn
        ctx = next(c.context_id for c in assoc.accepted_contexts if c.abstract_syntax == CT)
        for i, ds in enumerate(series, start=1):
            await conn.send_message(ctx, CStoreRQ(message_id=i, affected_sop_class_uid=CT,
                                                  affected_sop_instance_uid=ds.SOPInstanceUID),
                                    encode_dataset(ds, "1.2.840.10008.1.2.1"))
            if i % 10 == 0:  # an echo in the middle of the stores waits its turn
                await conn.send_message(next(c.context_id for c in assoc.accepted_contexts
                                             if c.abstract_syntax == VERIFICATION),
                                        CEchoRQ(message_id=1000 + i))
        answers = []
        for _ in range(len(series) + 4):
            ev = await conn.next_event(30)
            answers.append((ev.command.name, ev.command.message_id_being_responded_to, ev.command.status))
        return answers

    answers, stats = _run(main())
    expected = []
    for i in range(1, len(series) + 1):
        expected.append(("C-STORE-RSP", i, 0 if i % 5 else 0xB000))
        if i % 10 == 0:
            expected.append(("C-ECHO-RSP", 1000 + i, 0))
    assert answers == expected
    assert [r[0] for r in received] == list(range(1, len(series) + 1))
    assert [r[1] for r in received] == [ds.SOPInstanceUID for ds in series]
    assert all(r[2] != threading.main_thread().name for r in received)  # not on the loop's thread
    assert stats["C-STORE"] == len(series) and stats["associations_released"] == 1


def test_blocking_handler_failure_is_answered_and_stop_waits_for_it():
    release = threading.Event()
    started = threading.Event()

    def on_store(request):
        started.set()
        if not release.wait(20):
            raise TimeoutError("never released")
        raise ValueError("disk full")

    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]

    async def main():
        server = net.Server({"C-STORE": on_store}, port=0, ae_title="SCP", max_operations=1)
        await server.start()
        try:
            assoc = await net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[(CT, "1.2.840.10008.1.2.1")])
            store = asyncio.ensure_future(assoc.store(ds, progress=False))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 20)
            stopping = asyncio.ensure_future(server.stop(timeout=20))
            await asyncio.sleep(0.05)
            assert not store.done()  # the handler still runs: stop waits for it
            release.set()
            status = await store
            await stopping
            return status, server.statistics
        finally:
            release.set()
            await server.stop()

    status, stats = _run(main())
    assert status == Status.CANNOT_UNDERSTAND  # C000: the handler's exception, answered
    assert stats["failures"] == 1 and stats["responses_sent"] == 1


def test_next_event_timeout_with_the_shared_timer():
    async def main():
        async with net.Server({"C-ECHO": inline(lambda r: 0)}, port=0, ae_title="SCP") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[VERIFICATION]) as assoc:
                return await bridge(raw(assoc))

    async def raw(assoc):
        conn = assoc._conn
        for i in range(200):  # long timeouts, answered at once: the timer is shared
            await conn.send_message(1, CEchoRQ(message_id=i + 1))
            ev = await conn.next_event(60)
            assert ev.command.message_id_being_responded_to == i + 1
        t0 = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):  # then a short one still expires
            await conn.next_event(0.05)
        waited = time.monotonic() - t0
        assert await assoc.echo() == 0
        return waited

    waited = _run(main())
    assert waited < 30  # it did not wait for the 60 s deadline of the earlier waits


def test_release_asked_while_a_blocking_handler_runs_waits_for_its_response():
    """A-RELEASE-RQ sent right after a C-STORE whose handler is still running in its thread:
    the C-STORE-RSP comes first (PS3.8: Sta8 still sends P-DATA), then the A-RELEASE-RP."""
    from pacsnb.net.statemachine import ReleaseConfirmation
    release = threading.Event()
    started = threading.Event()

    def on_store(request):
        started.set()
        release.wait(20)
        return 0

    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]

    async def raw(assoc):
        conn = assoc._conn
        ctx = next(c.context_id for c in assoc.accepted_contexts if c.abstract_syntax == CT)
        await conn.send_message(ctx, CStoreRQ(message_id=7, affected_sop_class_uid=CT,
                                            affected_sop_instance_uid=ds.SOPInstanceUID),
                                encode_dataset(ds, "1.2.840.10008.1.2.1"))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 20)
        conn.send_release_request()
        await asyncio.sleep(0.05)
        release.set()
        first = await conn.next_event(30)
        second = await conn.next_event(30)
        return first, second

    async def main():
        async with net.Server({"C-STORE": on_store}, port=0, ae_title="SCP", max_operations=1) as server:
            assoc = await net.connect("127.0.0.1", server.port, called_ae="SCP",
                                      contexts=[(CT, "1.2.840.10008.1.2.1")])
            try:
                first, second = await bridge(raw(assoc))
            finally:
                release.set()
            await asyncio.sleep(0)
            return first, second, server.statistics

    first, second, stats = _run(main())
    assert isinstance(first, Message) and first.command.name == "C-STORE-RSP"
    assert (first.command.message_id_being_responded_to, first.command.status) == (7, 0)
    assert isinstance(second, ReleaseConfirmation)
    assert stats["associations_released"] == 1 and stats["responses_sent"] == 1


def test_inline_marks_functions_and_wraps_what_cannot_be_marked():
    from pacsnb.net.scp import _is_inline

    class Handlers:
        def echo(self, request):
            return 0x0110

    def plain(request):
        return 0

    assert inline(plain) is plain and _is_inline(plain)
    bound = inline(Handlers().echo)  # a bound method takes no attribute: wrapped, same behaviour
    assert _is_inline(bound) and bound(None) == 0x0110
    assert not _is_inline(Handlers().echo) and not _is_inline(lambda r: 0)
