"""C-MOVE, C-GET, worklist and N-services between pacsnb and pynetdicom, both directions
(tests only; pacsnb/ never imports pynetdicom). Everything on 127.0.0.1 with timeouts."""
from __future__ import annotations

import asyncio
import logging
import socket
import threading

import pytest

pynetdicom = pytest.importorskip("pynetdicom")
import pydicom  # noqa: E402
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pynetdicom import AE, build_role, evt  # noqa: E402
from pynetdicom.sop_class import (CTImageStorage, ModalityPerformedProcedureStep,  # noqa: E402
                                  ModalityWorklistInformationFind,
                                  PatientRootQueryRetrieveInformationModelGet,
                                  StudyRootQueryRetrieveInformationModelGet,
                                  StudyRootQueryRetrieveInformationModelMove, Verification)

import pacsnb  # noqa: E402
import pacsnb.net as net  # noqa: E402
from pacsnb.dicom import Dataset  # noqa: E402
from pacsnb.errors import DimseError  # noqa: E402
from pacsnb.net import loop as L  # noqa: E402
from pacsnb.net import sync  # noqa: E402
from pacsnb.net.memory import MemoryQR  # noqa: E402
from pacsnb.samples import make_ct_series  # noqa: E402

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
TIMEOUT = 20
SERIES = make_ct_series(n_slices=4, rows=16, columns=16)
STUDY = SERIES[0].StudyInstanceUID


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=TIMEOUT):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def py_series(tmp_path_factory):
    """SERIES as pydicom data sets (written by pacsnb, read by pydicom)."""
    d = tmp_path_factory.mktemp("series")
    out = []
    for i, ds in enumerate(SERIES):
        path = d / f"{i}.dcm"
        pacsnb.write(ds, path)
        out.append(pydicom.dcmread(path))
    return out


def _py_ae(title: str) -> AE:
    ae = AE(ae_title=title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    return ae


# --- pynetdicom SCU -> our SCP --------------------------------------------------------------------

def test_pynetdicom_move_to_its_own_storage_scp_through_ours():
    received = []

    def on_store(event):
        received.append(event.dataset.SOPInstanceUID)
        return 0x0000

    dest_ae = _py_ae("PYDEST")
    dest_ae.add_supported_context(CTImageStorage)
    dest = dest_ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    server = sync.start(net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR",
                                   destinations={"PYDEST": ("127.0.0.1", dest.server_address[1])}))
    try:
        ae = _py_ae("PYSCU")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        assoc = ae.associate("127.0.0.1", server.port, ae_title="QR")
        assert assoc.is_established
        q = PyDataset()
        q.QueryRetrieveLevel, q.StudyInstanceUID = "STUDY", STUDY
        responses = [(status.Status, status.get("NumberOfRemainingSuboperations"),
                      status.get("NumberOfCompletedSuboperations"))
                     for status, _ in assoc.send_c_move(q, "PYDEST", StudyRootQueryRetrieveInformationModelMove)]
        q.StudyInstanceUID = STUDY
        unknown = [status.Status for status, _ in
                   assoc.send_c_move(q, "NOWHERE", StudyRootQueryRetrieveInformationModelMove)]
        assoc.release()
    finally:
        sync.stop(server)
        dest.shutdown()
    assert responses[:-1] == [(0xFF00, 3, 1), (0xFF00, 2, 2), (0xFF00, 1, 3), (0xFF00, 0, 4)]
    assert responses[-1][0] == 0x0000 and responses[-1][2] == 4
    assert sorted(received) == sorted(ds.SOPInstanceUID for ds in SERIES)
    assert unknown == [0xA801]


def test_pynetdicom_get_with_role_selection_from_our_scp():
    received = []

    def on_store(event):
        received.append((event.dataset.SOPInstanceUID, bytes(event.dataset.PixelData)))
        return 0x0000

    server = sync.start(net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR"))
    try:
        ae = _py_ae("PYSCU")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", server.port, ae_title="QR", ext_neg=[build_role(CTImageStorage, scp_role=True)],
                             evt_handlers=[(evt.EVT_C_STORE, on_store)])
        assert assoc.is_established
        q = PyDataset()
        q.QueryRetrieveLevel, q.StudyInstanceUID = "STUDY", STUDY
        statuses = [status.Status for status, _ in assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet)]
        assoc.release()
    finally:
        sync.stop(server)
    assert statuses == [0xFF00] * 4 + [0x0000]
    assert sorted(received) == sorted((ds.SOPInstanceUID, bytes(ds.PixelData)) for ds in SERIES)


def test_pynetdicom_worklist_and_mpps_against_our_scp():
    item = Dataset()
    item.PatientID, item.PatientName = "P1", "DOE^JOHN"
    sps = Dataset()
    sps.Modality, sps.ScheduledStationAETitle = "CT", "CT1"
    item.ScheduledProcedureStepSequence = [sps]
    created = {}

    def on_create(request):
        created[request.sop_instance_uid] = request.dataset.PerformedProcedureStepStatus
        return 0

    handlers = {**MemoryQR(worklist=[item]).handlers(), "N-CREATE": on_create}
    server = sync.start(net.Server(handlers, port=0, ae_title="RIS",
                                   sop_classes={"N-CREATE": [ModalityPerformedProcedureStep]}))
    try:
        ae = _py_ae("CT1")
        ae.add_requested_context(ModalityWorklistInformationFind)
        ae.add_requested_context(ModalityPerformedProcedureStep)
        assoc = ae.associate("127.0.0.1", server.port, ae_title="RIS")
        assert assoc.is_established
        q = PyDataset()
        q.PatientName = "DOE*"
        q.PatientID = ""
        qs = PyDataset()
        qs.Modality, qs.ScheduledStationAETitle = "CT", ""
        q.ScheduledProcedureStepSequence = [qs]
        found = [(s.Status, ident.PatientID if ident else None,
                  ident.ScheduledProcedureStepSequence[0].ScheduledStationAETitle if ident else None)
                 for s, ident in assoc.send_c_find(q, ModalityWorklistInformationFind)]
        mpps = PyDataset()
        mpps.PerformedProcedureStepStatus = "IN PROGRESS"
        status, attrs = assoc.send_n_create(mpps, ModalityPerformedProcedureStep, "1.2.3.4.5")
        assoc.release()
    finally:
        sync.stop(server)
    assert found == [(0xFF00, "P1", "CT1"), (0x0000, None, None)]
    assert status.Status == 0 and created == {"1.2.3.4.5": "IN PROGRESS"}


# --- our SCU -> pynetdicom SCP ---------------------------------------------------------------------

@pytest.fixture()
def py_qr(py_series):
    """A pynetdicom Q/R SCP over py_series: C-MOVE (destinations from a dict) and C-GET."""
    destinations: dict[str, tuple[str, int]] = {}
    cancels = []

    def on_move(event):
        dest = destinations.get(event.move_destination.decode().strip() if isinstance(event.move_destination, bytes)
                                else event.move_destination.strip())
        if dest is None:
            yield None, None
            return
        yield dest
        yield len(py_series)
        for ds in py_series:
            if event.is_cancelled:
                cancels.append(True)
                yield 0xFE00, None
                return
            yield 0xFF00, ds

    def on_get(event):
        wanted = event.identifier.get("SOPInstanceUID")
        items = [ds for ds in py_series if not wanted or ds.SOPInstanceUID in
                 (wanted if isinstance(wanted, (list, pydicom.multival.MultiValue)) else [wanted])]
        yield len(items)
        for ds in items:
            yield 0xFF00, ds

    ae = _py_ae("PYQR")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_supported_context(PatientRootQueryRetrieveInformationModelGet)
    ae.add_supported_context(Verification)
    ae.add_supported_context(CTImageStorage, scu_role=True, scp_role=True)
    ae.add_requested_context(CTImageStorage)
    server = ae.start_server(("127.0.0.1", 0), block=False,
                             evt_handlers=[(evt.EVT_C_MOVE, on_move), (evt.EVT_C_GET, on_get)])
    try:
        yield server.server_address[1], destinations
    finally:
        server.shutdown()


def test_our_get_from_pynetdicom(py_qr, tmp_path):
    port, _ = py_qr

    async def main():
        async with net.connect("127.0.0.1", port, called_ae="PYQR", timeout=TIMEOUT) as pacs:
            return await pacs.get("STUDY", into=tmp_path, progress=False, StudyInstanceUID=STUDY)
    result = run(main())
    assert result.ok and result.completed == 4 and len(result.paths) == 4
    for ds in SERIES:
        got = pacsnb.read(tmp_path / f"{ds.SOPInstanceUID}.dcm")
        assert bytes(got.PixelData) == bytes(ds.PixelData)


def test_our_move_to_me_from_pynetdicom(py_qr, tmp_path):
    port, destinations = py_qr
    me = free_port()
    destinations["PACSNB"] = ("127.0.0.1", me)

    async def main():
        async with net.connect("127.0.0.1", port, called_ae="PYQR", timeout=TIMEOUT) as pacs:
            done = await pacs.move("ME", "STUDY", into=tmp_path, port=me, host="127.0.0.1", progress=False,
                                   StudyInstanceUID=STUDY)
            with pytest.raises(DimseError) as err:
                await pacs.move("NOWHERE", "STUDY", progress=False, StudyInstanceUID=STUDY)
            return done, err.value
    done, err = run(main())
    assert done.ok and done.completed == 4 and done.received == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in SERIES)
    assert err.status == 0xA801 and "'NOWHERE'" in str(err) and "ask its administrator" in str(err)
