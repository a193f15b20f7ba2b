"""Association.move against our own Server (MemoryQR handlers): to ourselves (dest="ME"),
to a third node, unknown and unreachable destinations, failed sub-operations, C-CANCEL."""
from __future__ import annotations

import asyncio
import os
import socket
import threading

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.errors import DicomValueError, DimseError
from pacsnb.net import loop as L
from pacsnb.net import sync
from pacsnb.net.memory import MemoryQR
from pacsnb.samples import make_cohort, make_ct_series


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERIES = make_ct_series(n_slices=5, rows=16, columns=16)
STUDY = SERIES[0].StudyInstanceUID


def test_move_to_me_writes_every_instance_and_counts():
    port = free_port()
    out = f"/tmp/pacsnb-test-move-me-{os.getpid()}"

    async def main():
        async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR",
                              destinations={"PACSNB": ("127.0.0.1", port)}) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10) as pacs:
                result = await pacs.move("ME", "STUDY", into=out, port=port, host="127.0.0.1", progress=False,
                                         StudyInstanceUID=STUDY)
                return result, await pacs.echo(), server.statistics
    result, echo, stats = run(main())
    assert (result.status, result.completed, result.failed, result.warning) == (0, 5, 0, 0)
    assert result.ok and result.received == 5 and echo == 0
    assert sorted(os.path.basename(p) for p in result.paths) == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in SERIES)
    for ds in SERIES:
        got = pacsnb.read(os.path.join(out, f"{ds.SOPInstanceUID}.dcm"))
        assert got.SOPInstanceUID == ds.SOPInstanceUID
        assert bytes(got.PixelData) == bytes(ds.PixelData)
        assert got.file_meta.SourceApplicationEntityTitle == "QR"
    # one pending response per sub-operation, then the final one
    assert stats["C-MOVE"] == 1 and stats["responses_sent"] >= 5 + 1 + 1  # + echo


def test_move_to_a_third_node_carries_the_originator():
    seen = []

    def on_store(request):
        cmd = request.command
        seen.append((request.sop_instance_uid, cmd.move_originator_aet, cmd.move_originator_message_id,
                     request.association.calling_ae_title))
        return 0

    async def main():
        async with net.Server({"C-STORE": on_store}, port=0, ae_title="VIEWER") as viewer:
            async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR",
                                  destinations=lambda ae: ("127.0.0.1", viewer.port) if ae == "VIEWER" else None
                                  ) as qr:
                async with net.connect("127.0.0.1", qr.port, ae_title="WS1", called_ae="QR", timeout=10) as pacs:
                    return await pacs.move("VIEWER", "SERIES", progress=False, StudyInstanceUID=STUDY,
                                           SeriesInstanceUID=SERIES[0].SeriesInstanceUID)
    result = run(main())
    assert result.completed == 5 and result.received == 0 and result.paths == ()
    assert sorted(s[0] for s in seen) == sorted(ds.SOPInstanceUID for ds in SERIES)
    assert {s[1:] for s in seen} == {("WS1", 1, "QR")}


def test_unknown_destination_explains_what_to_configure():
    port = free_port()

    async def main():
        async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, ae_title="MYAE", called_ae="QR", timeout=10) as pacs:
                with pytest.raises(DimseError) as err:
                    await pacs.move("ME", "STUDY", into=f"/tmp/pacsnb-test-move-unknown-{os.getpid()}", port=port,
                                    host="127.0.0.1", progress=False, StudyInstanceUID=STUDY)
                return err.value, await pacs.echo()
    err, echo = run(main())
    assert err.status == 0xA801 and echo == 0
    text = str(err)
    assert "'MYAE'" in text and "ask its administrator" in text and f"port {port}" in text
    assert "get()" in text
    assert err.result.completed == 0


def test_unreachable_destination_fails_with_sub_operations_failed():
    dead = free_port()  # nobody listens there

    async def main():
        async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR",
                              destinations={"GONE": ("127.0.0.1", dead)}, move_timeout=5) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10) as pacs:
                with pytest.raises(DimseError) as err:
                    await pacs.move("GONE", "STUDY", progress=False, StudyInstanceUID=STUDY)
                return err.value
    err = run(main())
    assert err.status == 0xA702
    assert "could not send the images to 'GONE'" in str(err) and "reaches a running storage SCP" in str(err)
    assert err.result.failed == 5
    assert sorted(err.result.failed_sop_instance_uids) == sorted(ds.SOPInstanceUID for ds in SERIES)


def test_some_sub_operations_fail_warning_with_failed_uids():
    bad = {SERIES[1].SOPInstanceUID, SERIES[3].SOPInstanceUID}

    def on_store(request):
        return 0xA700 if request.sop_instance_uid in bad else 0

    async def main():
        async with net.Server({"C-STORE": on_store}, port=0, ae_title="DEST") as dest:
            async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR",
                                  destinations={"DEST": ("127.0.0.1", dest.port)}) as qr:
                async with net.connect("127.0.0.1", qr.port, called_ae="QR", timeout=10) as pacs:
                    return await pacs.move("DEST", "STUDY", progress=False, StudyInstanceUID=STUDY)
    result = run(main())
    assert result.status == 0xB000 and not result.ok
    assert (result.completed, result.failed, result.warning) == (3, 2, 0)
    assert set(result.failed_sop_instance_uids) == bad


def test_cancel_stops_the_move_and_the_association_stays_usable():
    many = make_ct_series(n_slices=60, rows=8, columns=8)
    started = threading.Event()

    def slow_store(request):
        started.set()
        import time
        time.sleep(0.02)
        return 0

    async def main():
        async with net.Server({"C-STORE": slow_store}, port=0, ae_title="DEST") as dest:
            async with net.Server(MemoryQR(many).handlers(), port=0, ae_title="QR",
                                  destinations={"DEST": ("127.0.0.1", dest.port)}) as qr:
                async with net.connect("127.0.0.1", qr.port, called_ae="QR", timeout=10) as pacs:
                    task = asyncio.ensure_future(pacs.move("DEST", "STUDY", progress=False,
                                                           StudyInstanceUID=many[0].StudyInstanceUID))
                    for _ in range(500):
                        if started.is_set():
                            break
                        await asyncio.sleep(0.01)
                    assert await pacs.cancel()
                    result = await task
                    return result, await pacs.echo()
    result, echo = run(main())
    assert result.cancelled and result.status == 0xFE00 and echo == 0
    assert 0 < result.completed < 60 and result.remaining > 0
    assert result.completed + result.remaining + result.failed == 60


def test_bad_arguments():
    async def main():
        async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10) as pacs:
                with pytest.raises(DicomValueError, match="into="):
                    await pacs.move("ME", "STUDY", StudyInstanceUID=STUDY)
                with pytest.raises(DicomValueError, match="needs StudyInstanceUID"):
                    await pacs.move("X", "STUDY", PatientName="DOE*")
                with pytest.raises(DicomValueError, match="model='patient'"):
                    await pacs.move("X", "PATIENT", PatientID="P1")
                with pytest.raises(DicomValueError, match="dest='ME'"):
                    await pacs.move("OTHER", "STUDY", into="/tmp/x", StudyInstanceUID=STUDY)
                return await pacs.echo()
    assert run(main()) == 0


def test_patient_root_move_of_one_patient_from_a_cohort():
    cohort = make_cohort(n_patients=3, studies_per_patient=1, series_per_study=1, slices=2, modalities=("CT",))
    patient = cohort[0].PatientID
    expected = {ds.SOPInstanceUID for ds in cohort if ds.PatientID == patient}
    got = []
    server = sync.start(net.Server({"C-STORE": lambda r: got.append(r.sop_instance_uid)}, port=0, ae_title="D"))
    qr = sync.start(net.Server(MemoryQR(cohort).handlers(), port=0, ae_title="QR",
                               destinations={"D": ("127.0.0.1", server.port)}))
    try:
        with sync.connect("127.0.0.1", qr.port, called_ae="QR", timeout=10) as pacs:
            result = pacs.move("D", "PATIENT", "patient", progress=False, PatientID=patient)
    finally:
        sync.stop(qr)
        sync.stop(server)
    assert result.completed == len(expected) and set(got) == expected
