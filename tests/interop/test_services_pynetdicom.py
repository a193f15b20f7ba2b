"""MPPS and Storage Commitment of pacsnb.services with pynetdicom as the SCU (tests only; pacsnb/ never
imports pynetdicom). Everything on 127.0.0.1 with timeouts; every server is stopped."""
from __future__ import annotations

import logging
import threading

import pytest

pynetdicom = pytest.importorskip("pynetdicom")
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402
from pynetdicom import AE, build_role, evt  # noqa: E402
from pynetdicom.sop_class import (CTImageStorage, ModalityPerformedProcedureStep,  # noqa: E402
                                  StorageCommitmentPushModel)

from pacsnb.net import sync  # noqa: E402
from pacsnb.samples import make_ct_series  # noqa: E402
from pacsnb.services import COMMITMENT_SOP_INSTANCE, serve  # noqa: E402

from peers import free_port, stop_service_loop  # noqa: E402, F401 (an autouse fixture)

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # noqa
TIMEOUT = 20


def _ae(title: str) -> AE:
    ae = AE(ae_title=title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    return ae


def test_mpps_with_pynetdicom(tmp_path):
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS"))
    try:
        ae = _ae("CT1")
        ae.add_requested_context(ModalityPerformedProcedureStep)
        assoc = ae.associate("127.0.0.1", pacs.port, ae_title="PACS")
        assert assoc.is_established
        try:
            uid = generate_uid()
            ds = PyDataset()
            ds.PerformedProcedureStepStatus = "IN PROGRESS"
            ds.PatientID, ds.Modality, ds.PerformedStationAETitle = "P1", "CT", "CT1"
            ds.PerformedProcedureStepStartDate, ds.PerformedProcedureStepStartTime = "20240301", "101500"
            status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
            assert status.Status == 0
            status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
            assert status.Status == 0x0111  # duplicate
            done = PyDataset()
            done.PerformedProcedureStepStatus = "COMPLETED"
            done.PerformedProcedureStepEndDate, done.PerformedProcedureStepEndTime = "20240301", "103000"
            status, _ = assoc.send_n_set(done, ModalityPerformedProcedureStep, uid)
            assert status.Status == 0
            again = PyDataset()
            again.PerformedProcedureStepStatus = "DISCONTINUED"
            status, _ = assoc.send_n_set(again, ModalityPerformedProcedureStep, uid)
            assert status.Status == 0x0110 and status.ErrorID == 0xA710  # may no longer be updated
            status, _ = assoc.send_n_set(done, ModalityPerformedProcedureStep, generate_uid())
            assert status.Status == 0x0112
        finally:
            assoc.release()
        df = pacs.mpps.to_frame()
        assert df[["SOPInstanceUID", "PerformedProcedureStepStatus", "PerformedProcedureStepEndTime",
                   "calling_ae"]].values.tolist() == [[uid, "COMPLETED", "103000", "CT1"]]
    finally:
        pacs.close()



def _commitment_requester_scp(port: int, on_report):
    """A pynetdicom modality CT1 listening on ``port`` for Storage Commitment reports on new associations."""
    modality = _ae("CT1")
    modality.add_supported_context(StorageCommitmentPushModel, scu_role=True, scp_role=True)
    return modality.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])


def _commitment_request(series) -> PyDataset:
    """A pydicom Storage Commitment request (N-ACTION information) for these instances."""
    info = PyDataset()
    info.TransactionUID = generate_uid()
    info.ReferencedSOPSequence = []
    for d in series:
        item = PyDataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = str(d.SOPClassUID), str(d.SOPInstanceUID)
        info.ReferencedSOPSequence.append(item)
    return info

def test_storage_commitment_with_pynetdicom(tmp_path):
    series = make_ct_series(n_slices=3, rows=8, columns=8)
    events = []
    got = threading.Event()

    def on_report(event):
        events.append((event.event_type, event.event_information, event.assoc.requestor.ae_title))
        got.set()
        return 0x0000, None

    port = free_port()
    server = _commitment_requester_scp(port, on_report)
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", peers={"CT1": ("127.0.0.1", port)}))
    try:
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS", timeout=TIMEOUT) as a:
            assert a.store(series[:2], progress=False) == [0, 0]
        scu = _ae("CT1")
        scu.add_requested_context(StorageCommitmentPushModel)
        scu.add_requested_context(CTImageStorage)
        assoc = scu.associate("127.0.0.1", pacs.port, ae_title="PACS",
                              ext_neg=[build_role(StorageCommitmentPushModel, scu_role=True)])
        assert assoc.is_established
        try:
            info = _commitment_request(series)
            status, _ = assoc.send_n_action(info, 1, StorageCommitmentPushModel, COMMITMENT_SOP_INSTANCE)
            assert status.Status == 0
        finally:
            assoc.release()
        assert got.wait(TIMEOUT), "no N-EVENT-REPORT arrived"
    finally:
        pacs.close()
        server.shutdown()
    event_type, report, caller = events[0]
    assert event_type == 2 and caller == "PACS"
    assert report.TransactionUID == info.TransactionUID
    assert sorted(i.ReferencedSOPInstanceUID for i in report.ReferencedSOPSequence) == \
        sorted(str(d.SOPInstanceUID) for d in series[:2])
    assert [(i.ReferencedSOPInstanceUID, i.FailureReason) for i in report.FailedSOPSequence] == \
        [(str(series[2].SOPInstanceUID), 0x0112)]


def test_storage_commitment_report_on_the_same_association_with_pynetdicom(tmp_path):
    """pynetdicom's requestor keeps its association open with an N-EVENT-REPORT handler: the
    report comes on that association (PS3.4 J.3.3), not on a new one."""
    series = make_ct_series(n_slices=2, rows=8, columns=8)
    on_assoc, on_new = [], []
    got = threading.Event()

    def on_report(event):
        on_assoc.append((event.event_type, event.event_information, event.assoc.is_requestor))
        got.set()
        return 0x0000, None

    port = free_port()
    server = _commitment_requester_scp(port, lambda e: on_new.append(e) or (0, None))
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", peers={"CT1": ("127.0.0.1", port)},
                          commitment="same-association"))
    try:
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS", timeout=TIMEOUT) as a:
            assert a.store(series, progress=False) == [0, 0]
        scu = _ae("CT1")
        scu.add_requested_context(StorageCommitmentPushModel)
        assoc = scu.associate("127.0.0.1", pacs.port, ae_title="PACS",
                              evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        assert assoc.is_established
        try:
            info = _commitment_request(series)
            status, _ = assoc.send_n_action(info, 1, StorageCommitmentPushModel, COMMITMENT_SOP_INSTANCE)
            assert status.Status == 0
            assert got.wait(TIMEOUT), "no N-EVENT-REPORT arrived on the association"
        finally:
            assoc.release()
        records = pacs.commitment.to_frame()
    finally:
        pacs.close()
        server.shutdown()
    event_type, report, requestor = on_assoc[0]
    assert event_type == 1 and requestor and on_new == []
    assert report.TransactionUID == info.TransactionUID
    assert sorted(i.ReferencedSOPInstanceUID for i in report.ReferencedSOPSequence) == \
        sorted(str(d.SOPInstanceUID) for d in series)
    assert records[["event_type", "delivered", "association"]].values.tolist() == [[1, True, "same"]]
