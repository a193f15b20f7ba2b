"""The N-services (N-CREATE, N-SET, N-GET, N-ACTION, N-EVENT-REPORT, N-DELETE) between our
SCU and our Server: an MPPS and a storage commitment exchange, failures as DimseError."""
from __future__ import annotations

import pytest

import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.errors import DimseError, NetworkError
from pacsnb.net import sync

from peers import run, stop_service_loop  # noqa: F401 (an autouse fixture)

MPPS = "1.2.840.10008.3.1.2.3.3"
COMMIT = "1.2.840.10008.1.20.1"
COMMIT_INSTANCE = "1.2.840.10008.1.20.1.1"


class MppsSCP:
    """A tiny MPPS SCP: N-CREATE stores the attributes, N-SET changes them, N-GET reads them."""

    def __init__(self):
        self.steps: dict[str, Dataset] = {}

    def create(self, request):
        if request.sop_instance_uid in self.steps:
            return 0x0111  # duplicate SOP instance
        self.steps[request.sop_instance_uid] = request.dataset
        return 0

    def set(self, request):
        step = self.steps.get(request.sop_instance_uid)
        if step is None:
            return 0x0112
        for elem in request.dataset:
            step[elem.tag] = elem
        return 0

    def get(self, request):
        step = self.steps.get(request.sop_instance_uid)
        if step is None:
            return 0x0112
        wanted = request.command.attribute_identifier_list
        out = Dataset()
        for elem in step:
            if not wanted or int(elem.tag) in wanted:
                out[elem.tag] = elem
        return 0, out

    def handlers(self):
        return {"N-CREATE": self.create, "N-SET": self.set, "N-GET": self.get, "N-DELETE": self.delete}

    def delete(self, request):
        return 0 if self.steps.pop(request.sop_instance_uid, None) is not None else 0x0112


def test_mpps_create_set_get_delete():
    scp = MppsSCP()

    async def main():
        async with net.Server(scp.handlers(), port=0, ae_title="RIS",
                              sop_classes={s: [MPPS] for s in scp.handlers()}) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="RIS", contexts=[MPPS], timeout=10) as a:
                ds = Dataset()
                ds.PerformedProcedureStepStatus, ds.PerformedStationAETitle = "IN PROGRESS", "CT1"
                created = await a.n_create(MPPS, ds)  # no UID: the SCP chooses it
                uid = created.sop_instance_uid
                change = Dataset()
                change.PerformedProcedureStepStatus = "COMPLETED"
                set_result = await a.n_set(MPPS, uid, change)
                got = await a.n_get(MPPS, uid, ["PerformedProcedureStepStatus"])
                with pytest.raises(DimseError) as dup:
                    await a.n_create(MPPS, ds, sop_instance=uid)
                deleted = await a.n_delete(MPPS, uid)
                with pytest.raises(DimseError) as gone:
                    await a.n_get(MPPS, uid)
                return created, set_result, got, dup.value, deleted, gone.value
    created, set_result, got, dup, deleted, gone = run(main())
    assert created.status == 0 and created.sop_class_uid == MPPS
    assert created.sop_instance_uid and list(scp.steps) == [] and deleted.status == 0
    assert set_result.status == 0 and set_result.sop_instance_uid == created.sop_instance_uid
    assert got.dataset.PerformedProcedureStepStatus == "COMPLETED"
    assert "PerformedStationAETitle" not in got.dataset  # only what was asked for
    assert dup.status == 0x0111 and "duplicate SOP instance" in str(dup)
    assert gone.status == 0x0112 and "no such SOP instance" in str(gone)


def test_storage_commitment_action_and_event_report():
    """N-ACTION on one association, the N-EVENT-REPORT back on another (the SCU is an SCP too)."""
    reports, actions = [], []

    def on_action(request):
        info = request.dataset
        actions.append((request.command.action_type_id,
                        [item.ReferencedSOPInstanceUID for item in info.ReferencedSOPSequence]))
        return 0

    def on_report(request):
        reports.append((request.command.event_type_id, request.dataset.TransactionUID))
        reply = Dataset()
        reply.TransactionUID = request.dataset.TransactionUID
        return 0, reply

    async def main():
        async with net.Server({"N-ACTION": on_action}, port=0, ae_title="ARCH",
                              sop_classes={"N-ACTION": [COMMIT]}) as archive, \
                net.Server({"N-EVENT-REPORT": on_report}, port=0, ae_title="MOD",
                           sop_classes={"N-EVENT-REPORT": [COMMIT]}) as modality:
            info = Dataset()
            info.TransactionUID = "1.2.3.99"
            ref = Dataset()
            ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4"
            info.ReferencedSOPSequence = [ref]
            async with net.connect("127.0.0.1", archive.port, called_ae="ARCH", contexts=[COMMIT]) as a:
                action = await a.n_action(COMMIT, COMMIT_INSTANCE, 1, info)
            async with net.connect("127.0.0.1", modality.port, ae_title="ARCH", called_ae="MOD",
                                   contexts=[COMMIT]) as b:
                report = await b.n_event_report(COMMIT, COMMIT_INSTANCE, 1, info)
            return action, report
    action, report = run(main())
    assert action.status == 0 and action.response.action_type_id == 1
    assert action.sop_instance_uid == COMMIT_INSTANCE
    assert report.status == 0 and report.dataset.TransactionUID == "1.2.3.99"
    assert reports == [(1, "1.2.3.99")] and actions == [(1, ["1.2.3.4"])]


def test_handler_exception_and_missing_context():
    def broken(request):
        raise RuntimeError("database down")

    server = sync.start(net.Server({"N-SET": broken, "C-ECHO": lambda r: 0}, port=0, ae_title="RIS",
                                   sop_classes={"N-SET": [MPPS]}))
    try:
        with sync.connect("127.0.0.1", server.port, called_ae="RIS", contexts=[MPPS, "1.2.840.10008.1.1"]) as a:
            with pytest.raises(DimseError) as err:
                a.n_set(MPPS, "1.2.3", Dataset())
            with pytest.raises(NetworkError, match="did not accept"):
                a.n_get(COMMIT, COMMIT_INSTANCE)
            assert a.echo() == 0
    finally:
        sync.stop(server)
    assert err.value.status == 0x0110
    assert "processing failure" in str(err.value) and "database down" in str(err.value)


# --- a report back on the requester's association (ServiceRequest.n_event_report) ---------------

COMMIT, COMMIT_INSTANCE = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"


def test_a_report_sent_while_the_requester_is_busy_is_answered_and_routed():
    """The report goes after the N-ACTION response; the requester, already waiting for a slow
    C-STORE, answers it at once, and the server takes the answer while its C-STORE handler
    still runs (the response is routed as it arrives, not behind the queued work)."""
    import asyncio
    import time

    from pacsnb.samples import make_ct_series

    order, outcome = [], {}

    async def on_action(request):
        async def report():
            outcome["status"] = await request.n_event_report(1, timeout=1.0)
            outcome["at"] = time.monotonic()
        asyncio.create_task(report())
        order.append("action")
        return 0

    def slow_store(request):  # in a worker thread: 2.5 s, longer than the report's timeout
        time.sleep(2.5)
        outcome["store_done"] = time.monotonic()
        return 0

    async def main():
        async with net.Server({"N-ACTION": on_action, "C-STORE": slow_store}, port=0, ae_title="ARCH",
                              sop_classes={"N-ACTION": [COMMIT], "C-STORE": [CT_CLASS]}) as s:
            async with net.connect("127.0.0.1", s.port, called_ae="ARCH", contexts=[COMMIT, CT_CLASS]) as a:
                assert (await a.n_action(COMMIT, COMMIT_INSTANCE, 1)).status == 0
                stored = await a.store(make_ct_series(n_slices=1, rows=8, columns=8), progress=False)
                report = await a.event_report(timeout=1)  # taken (and answered) during the store
                return stored, report
    stored, report = run(main(), timeout=30)
    assert stored == [0] and report.event_type_id == 1 and report.sop_class_uid == COMMIT
    assert outcome["status"] == 0 and outcome["at"] < outcome["store_done"]  # answered before the store ended


def test_a_report_cannot_overtake_the_response_nor_be_lost_by_an_inline_handler():
    import asyncio

    from pacsnb.net.scp import inline

    seen = {}

    async def awaiting(request):  # awaited in the handler: its own response must go first: refused
        try:
            await request.n_event_report(1, timeout=0.3)
        except NetworkError as err:
            seen["awaited"] = (str(err), getattr(err, "sent", False))
        return 0

    @inline
    def from_inline(request):  # a plain handler on the receive path: the report follows its response
        task = asyncio.get_running_loop().create_task(request.n_event_report(2))  # (on the service loop)
        task.add_done_callback(lambda t: seen.__setitem__("status", t.result()))
        return 0

    async def main():
        async with net.Server({"N-ACTION": awaiting}, port=0, ae_title="A", sop_classes={"N-ACTION": [COMMIT]}) as s:
            async with net.connect("127.0.0.1", s.port, called_ae="A", contexts=[COMMIT]) as a:
                assert (await a.n_action(COMMIT, COMMIT_INSTANCE, 1)).status == 0
                with pytest.raises(NetworkError, match="no N-EVENT-REPORT"):
                    await a.event_report(timeout=0.5)
        async with net.Server({"N-ACTION": from_inline}, port=0, ae_title="B", sop_classes={"N-ACTION": [COMMIT]}) as s:
            async with net.connect("127.0.0.1", s.port, called_ae="B", contexts=[COMMIT]) as a:
                assert (await a.n_action(COMMIT, COMMIT_INSTANCE, 1)).status == 0
                report = await a.event_report(timeout=5)
                for _ in range(200):  # the server takes our answer
                    if "status" in seen:
                        break
                    await asyncio.sleep(0.01)
                return report, seen.get("status")
    report, status = run(main(), timeout=30)
    assert "stayed busy" in seen["awaited"][0] and seen["awaited"][1] is False
    assert report.event_type_id == 2 and status == 0
