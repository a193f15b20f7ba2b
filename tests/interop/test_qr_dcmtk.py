"""Query/retrieve between pacsnb and dcmtk, both directions: findscu, movescu and getscu
against our SCP (MemoryQR handlers over files), and our SCU (find, get, move) against
dcmqrscp. Everything on 127.0.0.1; every wait has a timeout; every process started is
terminated in a ``finally``."""
from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.errors import DimseError
from pacsnb.net import sync
from pacsnb.net.memory import MemoryQR
from pacsnb.samples import make_ct_series

import peers
from peers import free_port, peer_process, run_tool, stop_service_loop  # noqa: F401 (an autouse fixture)

needs_dcmtk = peers.needs_dcmtk("findscu", "movescu", "getscu", "dcmqrscp", "storescu")
pytestmark = needs_dcmtk
TIMEOUT = 30
_run = partial(run_tool, timeout=TIMEOUT)
SERIES = make_ct_series(n_slices=3, rows=16, columns=16)
STUDY = SERIES[0].StudyInstanceUID
UIDS = sorted(ds.SOPInstanceUID for ds in SERIES)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    paths = []
    for i, ds in enumerate(SERIES):
        pacsnb.write(ds, d / f"{i}.dcm")
        paths.append(d / f"{i}.dcm")
    return paths


@pytest.fixture()
def our_qr(files):
    """Our SCP over the files, with MOVESCU (movescu's own storage SCP) as a destination."""
    move_port = free_port()
    server = sync.start(net.Server(MemoryQR(files).handlers(), port=0, ae_title="QR",
                                   destinations={"MOVESCU": ("127.0.0.1", move_port)}))
    try:
        yield server, move_port
    finally:
        sync.stop(server)


def _uids(folder: Path) -> list[str]:
    return sorted(str(pacsnb.read(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.iterdir()
                  if p.is_file())


# --- dcmtk SCU -> our SCP ---------------------------------------------------------------------------

def test_findscu_against_our_scp(our_qr, tmp_path):
    server, _ = our_qr
    r = _run(["findscu", "-S", "-X", "-aet", "FINDSCU", "-aec", "QR", "-k", "0008,0052=STUDY",
              "-k", "0010,0020", "-k", "0020,000D", "-k", "0020,1208", "-k", "0008,0061=CT",
              "127.0.0.1", server.port], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rsp = sorted(tmp_path.glob("rsp*.dcm"))
    assert len(rsp) == 1
    ds = pacsnb.read(rsp[0])
    assert ds.StudyInstanceUID == STUDY and int(ds.NumberOfStudyRelatedInstances) == 3
    assert ds.PatientID == SERIES[0].PatientID


def test_movescu_to_itself_through_our_scp(our_qr, tmp_path):
    server, move_port = our_qr
    r = _run(["movescu", "-S", "-aet", "MOVESCU", "-aec", "QR", "-aem", "MOVESCU", "--port", move_port,
              "-od", tmp_path, "-k", "0008,0052=STUDY", "-k", f"0020,000D={STUDY}", "127.0.0.1", server.port])
    assert r.returncode == 0, r.stderr
    assert _uids(tmp_path) == UIDS
    # an unknown destination: movescu reports the 0xA801 status we sent
    r = _run(["movescu", "-v", "-S", "-aet", "MOVESCU", "-aec", "QR", "-aem", "NOWHERE",
              "-k", "0008,0052=STUDY", "-k", f"0020,000D={STUDY}", "127.0.0.1", server.port])
    assert "movedestinationunknown" in (r.stdout + r.stderr).lower()


def test_getscu_with_role_selection_from_our_scp(our_qr, tmp_path, files):
    server, _ = our_qr
    r = _run(["getscu", "-S", "-aet", "GETSCU", "-aec", "QR", "-od", tmp_path, "-k", "0008,0052=SERIES",
              "-k", f"0020,000D={STUDY}", "-k", f"0020,000E={SERIES[0].SeriesInstanceUID}", "127.0.0.1", server.port])
    assert r.returncode == 0, r.stderr
    assert _uids(tmp_path) == UIDS
    for ds in SERIES:  # the pixel data arrived intact
        match = [p for p in tmp_path.iterdir()
                 if pacsnb.read(p, stop_before_pixels=True).SOPInstanceUID == ds.SOPInstanceUID]
        assert bytes(pacsnb.read(match[0]).PixelData) == bytes(ds.PixelData)


def test_findscu_worklist_against_our_scp(tmp_path):
    item = pacsnb.dicom.Dataset()
    item.PatientID, item.PatientName, item.AccessionNumber = "P7", "DOE^JANE", "ACC7"
    sps = pacsnb.dicom.Dataset()
    sps.Modality, sps.ScheduledStationAETitle, sps.ScheduledProcedureStepStartDate = "MR", "MR1", "20240301"
    item.ScheduledProcedureStepSequence = [sps]
    server = sync.start(net.Server(MemoryQR(worklist=[item]).handlers(), port=0, ae_title="RIS"))
    try:
        r = _run(["findscu", "-W", "-X", "-aec", "RIS", "-k", "0010,0010=DOE*", "-k", "0008,0050",
                  "-k", "(0040,0100)[0].Modality=MR", "-k", "(0040,0100)[0].ScheduledStationAETitle",
                  "127.0.0.1", server.port], cwd=tmp_path)
    finally:
        sync.stop(server)
    assert r.returncode == 0, r.stderr
    rsp = sorted(tmp_path.glob("rsp*.dcm"))
    assert len(rsp) == 1
    ds = pacsnb.read(rsp[0])
    assert ds.AccessionNumber == "ACC7" and ds.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "MR1"


# --- our SCU -> dcmqrscp -----------------------------------------------------------------------------

@pytest.fixture()
def dcmqrscp(tmp_path, files):
    """dcmqrscp with one storage area (AE DCMQR), filled with the files by our store, and
    PACSNB (our temporary storage SCP of move(dest="ME")) in its host table."""
    port, me_port = free_port(), free_port()
    db = tmp_path / "db"
    db.mkdir()
    cfg = tmp_path / "dcmqrscp.cfg"
    cfg.write_text(f"""NetworkTCPPort = {port}
MaxPDUSize = 16384
MaxAssociations = 16

HostTable BEGIN
pacsnb = (PACSNB, 127.0.0.1, {me_port})
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
DCMQR {db} RW (100, 1024mb) ANY
AETable END
""")
    with peer_process(["dcmqrscp", "-c", cfg, "-dhl", port], port, TIMEOUT):
        statuses = sync.store("127.0.0.1", port, [str(f) for f in files], called_ae="DCMQR", progress=False)
        assert statuses == [0, 0, 0]
        yield port, me_port


def test_our_find_get_and_move_against_dcmqrscp(dcmqrscp, tmp_path):
    port, me_port = dcmqrscp

    async def main():
        async with net.connect("127.0.0.1", port, called_ae="DCMQR", timeout=TIMEOUT) as pacs:
            studies = await pacs.find("STUDY", PatientID=SERIES[0].PatientID, fields=["StudyDate"])
            series = await pacs.find("SERIES", StudyInstanceUID=STUDY, Modality=None)
            got = await pacs.get("STUDY", into=tmp_path / "get", progress=False,
                                 StudyInstanceUID=list(studies.StudyInstanceUID))
            moved = await pacs.move("ME", "SERIES", into=tmp_path / "move", port=me_port, host="127.0.0.1",
                                    progress=False, StudyInstanceUID=STUDY,
                                    SeriesInstanceUID=series.SeriesInstanceUID[0])
            with pytest.raises(DimseError) as err:
                await pacs.move("NOWHERE", "STUDY", progress=False, StudyInstanceUID=STUDY)
            return studies, series, got, moved, err.value
    studies, series, got, moved, err = asyncio.run(asyncio.wait_for(main(), 2 * TIMEOUT))
    assert list(studies.StudyInstanceUID) == [STUDY] and list(series.Modality) == ["CT"]
    assert got.ok and got.completed == 3 and _uids(tmp_path / "get") == UIDS
    assert moved.ok and moved.completed == 3 and _uids(tmp_path / "move") == UIDS
    assert err.status == 0xA801 and "'NOWHERE'" in str(err) and "ask its administrator" in str(err)
