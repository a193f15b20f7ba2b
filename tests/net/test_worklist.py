"""Modality Worklist: find(..., model="worklist") against MemoryQR(worklist=...), with
sequence matching on the Scheduled Procedure Step."""
from __future__ import annotations

import asyncio
import threading

import pytest

import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.errors import DicomValueError
from pacsnb.net import loop as L
from pacsnb.net import sync
from pacsnb.net.memory import MemoryQR


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def _item(pid, name, modality, station, date, accession):
    ds = Dataset()
    ds.PatientID, ds.PatientName, ds.AccessionNumber = pid, name, accession
    sps = Dataset()
    sps.Modality, sps.ScheduledStationAETitle, sps.ScheduledProcedureStepStartDate = modality, station, date
    sps.ScheduledProcedureStepDescription = f"{modality} exam"
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


WORKLIST = [_item("P1", "DOE^JOHN", "CT", "CT1", "20240105", "A1"),
            _item("P2", "DOE^JANE", "MR", "MR1", "20240105", "A2"),
            _item("P3", "ROE^RICHARD", "CT", "CT2", "20240210", "A3")]


def test_worklist_query_with_sequence_matching():
    server = sync.start(net.Server(MemoryQR(worklist=WORKLIST).handlers(), port=0, ae_title="RIS"))
    try:
        with sync.connect("127.0.0.1", server.port, called_ae="RIS", timeout=10) as ris:
            df = ris.find("WORKLIST", PatientName="DOE*", AccessionNumber=None,
                          ScheduledProcedureStepSequence={"Modality": "CT", "ScheduledStationAETitle": None,
                                                          "ScheduledProcedureStepStartDate": "20240101-20240131"})
            everything = ris.find(None, "worklist", PatientID=None)
            ct_only = ris.find("WORKLIST", PatientID=None, ScheduledProcedureStepSequence={"Modality": "CT"})
    finally:
        sync.stop(server)
    assert list(df.columns[:3]) == ["PatientName", "AccessionNumber", "ScheduledProcedureStepSequence"]
    assert df.PatientName.tolist() == ["DOE^JOHN"] and df.AccessionNumber.tolist() == ["A1"]
    sps = df.ScheduledProcedureStepSequence[0][0]
    assert sps.Modality == "CT" and sps.ScheduledStationAETitle == "CT1"
    assert "ScheduledProcedureStepDescription" not in sps  # only the keys asked for
    assert sorted(everything.PatientID) == ["P1", "P2", "P3"]
    assert sorted(ct_only.PatientID) == ["P1", "P3"]


def test_worklist_arguments_are_checked():
    async def main():
        async with net.Server(MemoryQR(worklist=WORKLIST).handlers(), port=0, ae_title="RIS") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="RIS", timeout=10) as ris:
                with pytest.raises(DicomValueError, match="NotAKeyword"):
                    await ris.find("WORKLIST", ScheduledProcedureStepSequence={"NotAKeyword": "x"})
                return len(await ris.find("WORKLIST", PatientID="P2"))
    assert asyncio.run(asyncio.wait_for(main(), 20)) == 1
