"""Association.find against pynetdicom's C-FIND SCP (tests only; pacsnb/ never imports it)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import pytest

pynetdicom = pytest.importorskip("pynetdicom")
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pynetdicom import AE, evt  # noqa: E402
from pynetdicom.sop_class import (PatientRootQueryRetrieveInformationModelFind,  # noqa: E402
                                  StudyRootQueryRetrieveInformationModelFind, Verification)

import pacsnb.net as net  # noqa: E402
from pacsnb.net import loop as L  # noqa: E402

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


def _study(pid, name, uid):
    ds = PyDataset()
    ds.PatientID, ds.PatientName, ds.StudyInstanceUID, ds.NumberOfStudyRelatedInstances = pid, name, uid, 4
    return ds


STUDIES = [_study(f"P{i}", f"DOE^{i}", f"1.2.{i}") for i in range(50)]


@pytest.fixture(scope="module")
def scp():
    cancels = []

    def on_find(event):
        query = event.identifier
        want = str(query.get("PatientID", "") or "")
        for study in STUDIES:
            if event.is_cancelled:
                cancels.append(True)
                yield 0xFE00, None
                return
            if want and want != study.PatientID:
                continue
            out = PyDataset()
            out.QueryRetrieveLevel = query.QueryRetrieveLevel
            for elem in query:
                if elem.keyword in study:
                    out[elem.tag] = study[elem.tag]
            yield 0xFF00, out

    ae = AE(ae_title="PYQR")
    for sop in (PatientRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelFind,
                Verification):
        ae.add_supported_context(sop)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)])
    try:
        yield server.server_address[1], cancels
    finally:
        server.shutdown()
        L.shutdown()
        assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_find_against_pynetdicom(scp):
    port, _ = scp

    async def main():
        async with net.connect("127.0.0.1", port, called_ae="PYQR", timeout=5) as assoc:
            one = await assoc.find("STUDY", PatientID="P7", fields=["PatientName",
                                                                   "NumberOfStudyRelatedInstances"])
            every = await assoc.find("PATIENT", "patient", fields=["PatientName"])
            none = await assoc.find("STUDY", PatientID="NOBODY")
            return one, every, none
    one, every, none = run(main())
    assert one.to_dict("records") == [{"PatientID": "P7", "StudyInstanceUID": "1.2.7",
                                       "PatientName": "DOE^7", "NumberOfStudyRelatedInstances": 4}]
    assert len(every) == 50 and list(every.columns) == ["PatientID", "PatientName"]
    assert none.empty and list(none.columns) == ["PatientID", "StudyInstanceUID"]


def test_cancel_against_pynetdicom(scp):
    port, cancels = scp

    async def main():
        async with net.connect("127.0.0.1", port, called_ae="PYQR", timeout=5) as assoc:
            got = []
            async with contextlib.aclosing(assoc.find_iter("STUDY")) as matches:
                async for ds in matches:
                    got.append(ds.StudyInstanceUID)
                    break
            return got, await assoc.echo()
    got, echo = run(main())
    assert got == ["1.2.0"] and echo == 0
