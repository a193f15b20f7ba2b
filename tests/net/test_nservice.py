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
