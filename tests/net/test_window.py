"""The asynchronous operations window (PS3.7 D.3.3.3): negotiation, C-STORE pipelining by
our SCU, concurrent handling by our SCP, and the default (one at a time) with peers that
grant no window (pynetdicom)."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

import pacsnb.net as net
from pacsnb.net import loop as L
from pacsnb.net.items import AsyncOperationsWindow
from pacsnb.samples import make_ct_series

CT = "1.2.840.10008.5.1.4.1.1.2"


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


class Concurrency:
    """A C-STORE handler that takes ``delay(n)`` seconds for the n-th instance it sees,
    answers ``status(uid)``, and records how many handlers ran at once."""

    def __init__(self, delay=lambda n: 0.02, status=lambda uid: 0):
        self.delay, self.status = delay, status
        self.lock = threading.Lock()
        self.now = self.peak = self.seen = 0
        self.order: list[str] = []

    def __call__(self, request):
        with self.lock:
            n = self.seen
            self.seen += 1
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.delay(n))
            with self.lock:
                self.order.append(request.sop_instance_uid)
            return self.status(request.sop_instance_uid)
        finally:
            with self.lock:
                self.now -= 1


def _series(n: int):
    return make_ct_series(n_slices=n, rows=8, columns=8, seed=5)


def test_the_window_is_negotiated_to_the_smaller_of_both_sides():
    async def main():
        out = []
        for ours, theirs in ((16, 4), (3, 16), (16, 1), (1, 16)):
            async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="S", max_operations=theirs) as server:
                async with net.connect("127.0.0.1", server.port, called_ae="S", max_operations=ours) as assoc:
                    out.append((assoc.max_operations, assoc.request.user_information.async_operations_window,
                                assoc.response.user_information.async_operations_window))
        return out
    (a, rq_a, ac_a), (b, _, ac_b), (c, _, ac_c), (d, rq_d, ac_d) = run(main())
    assert (a, b, c, d) == (4, 3, 1, 1)
    assert rq_a == AsyncOperationsWindow(16, 1) and ac_a == AsyncOperationsWindow(4, 1)
    assert ac_b == AsyncOperationsWindow(3, 1)
    assert ac_c is None           # a server granting no window leaves the sub-item out
    assert rq_d is None and ac_d is None   # max_operations=1 proposes none


def test_store_pipelines_up_to_the_window_and_the_scp_handles_concurrently():
    handler = Concurrency(delay=lambda n: 0.03)
    items = _series(24)

    async def main():
        async with net.Server({"C-STORE": handler}, port=0, ae_title="S", max_operations=4) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                statuses = await assoc.store(items, progress=False)
            return statuses, server.statistics
    statuses, stats = run(main())
    assert statuses == [0] * 24
    assert stats["C-STORE"] == 24 and stats["responses_sent"] == 24
    assert 2 <= handler.peak <= 4   # several at once, never more than granted
    assert sorted(handler.order) == sorted(str(ds.SOPInstanceUID) for ds in items)


def test_statuses_follow_the_items_when_responses_come_out_of_order():
    items = _series(12)
    uids = [str(ds.SOPInstanceUID) for ds in items]
    warn = set(uids[1::3])
    # the first of every four takes longest: its response comes after the next ones'
    handler = Concurrency(delay=lambda n: 0.15 if n % 4 == 0 else 0.0,
                          status=lambda uid: 0xB000 if uid in warn else 0)

    async def main():
        async with net.Server({"C-STORE": handler}, port=0, ae_title="S", max_operations=4) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                return await assoc.store(items, progress=False)
    statuses = run(main())
    assert statuses == [0xB000 if uid in warn else 0 for uid in uids]
    assert handler.order != uids  # the responses did come out of order


def test_without_a_window_one_operation_at_a_time():
    for server_window, client_window in ((1, 16), (16, 1)):
        handler = Concurrency(delay=lambda n: 0.01)

        async def main():
            async with net.Server({"C-STORE": handler}, port=0, ae_title="S", max_operations=server_window) as s:
                async with net.connect("127.0.0.1", s.port, called_ae="S", contexts=[CT],
                                       max_operations=client_window) as assoc:
                    return assoc.max_operations, await assoc.store(_series(6), progress=False)
        window, statuses = run(main())
        assert window == 1 and statuses == [0] * 6 and handler.peak == 1


def test_other_requests_wait_for_the_stores_in_flight():
    handler = Concurrency(delay=lambda n: 0.05)

    def on_find(request):
        assert handler.now == 0  # no C-STORE is being handled meanwhile
        yield from ()

    async def main():
        async with net.Server({"C-STORE": handler, "C-FIND": on_find, "C-ECHO": lambda r: 0}, port=0,
                              ae_title="S", max_operations=8) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S") as assoc:
                stored = await assoc.store(_series(5), progress=False)
                found = await assoc.find("STUDY", PatientID="X")
                return stored, len(found), await assoc.echo(), server.statistics["failures"]
    assert run(main()) == ([0] * 5, 0, 0, 0)


def test_a_failing_handler_in_the_window_answers_its_own_request_only():
    items = _series(8)
    bad = str(items[3].SOPInstanceUID)

    def handler(request):
        if request.sop_instance_uid == bad:
            raise RuntimeError("disk full")
        return 0

    async def main():
        async with net.Server({"C-STORE": handler}, port=0, ae_title="S") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                return await assoc.store(items, progress=False), assoc.max_operations
    statuses, window = run(main())
    assert window == 16
    assert statuses == [0, 0, 0, 0xC000, 0, 0, 0, 0]


def test_release_waits_for_the_handlers_in_flight():
    handler = Concurrency(delay=lambda n: 0.05)

    async def main():
        async with net.Server({"C-STORE": handler}, port=0, ae_title="S") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                statuses = await assoc.store(_series(6), progress=False)
            await asyncio.sleep(0)
            return statuses, server.statistics
    statuses, stats = run(main())
    assert statuses == [0] * 6 and handler.seen == 6 and handler.now == 0
    assert stats["associations_released"] == 1 and stats["associations_aborted"] == 0


def test_pynetdicom_scp_grants_no_window_and_store_works_one_at_a_time(tmp_path):
    pytest.importorskip("pynetdicom")
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import CTImageStorage

    got = []

    def on_store(event):
        got.append(event.request.AffectedSOPInstanceUID)
        return 0x0000

    ae = AE(ae_title="PYSCP")
    ae.add_supported_context(CTImageStorage)
    scp = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        port = scp.socket.getsockname()[1]

        async def main():
            async with net.connect("127.0.0.1", port, called_ae="PYSCP", contexts=[CT]) as assoc:
                return (assoc.request.user_information.async_operations_window, assoc.max_operations,
                        await assoc.store(_series(5), progress=False))
        proposed, window, statuses = run(main())
    finally:
        scp.shutdown()
    assert proposed == AsyncOperationsWindow(16, 1)
    assert window == 1 and statuses == [0] * 5 and len(got) == 5


def test_no_response_is_lost_in_tight_loops():
    """pynetdicom 3.0.4 sometimes loses a response in a tight loop; ours must never: every
    request of a long run of echoes and of pipelined stores gets its own response."""
    items = make_ct_series(n_slices=300, rows=4, columns=4, seed=9)

    async def on_echo(request):
        return 0

    async def main():
        async with net.Server({"C-ECHO": on_echo, "C-STORE": lambda r: 0}, port=0, ae_title="S") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", dimse_timeout=10) as assoc:
                echoes = [await assoc.echo() for _ in range(2000)]
                stores = await assoc.store(items, progress=False)
                stores += await assoc.store(items[:50], progress=False)
            return echoes, stores, server.statistics
    echoes, stores, stats = run(main(), timeout=120)
    assert echoes == [0] * 2000 and stores == [0] * 350
    assert stats["messages_received"] == stats["responses_sent"] == 2350
    assert stats["associations_released"] == 1 and stats["associations_aborted"] == 0
