"""pacsnb.services with dcmtk on 127.0.0.1: storescu into our PACS; findscu at every level of both
information models and with each matching type, answers compared with dcmqrscp's on the same data
and keys; movescu to a dcmtk storescp destination; getscu; findscu -W against our worklist.
Every wait has a timeout; every process started is stopped in a ``finally``."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

import pacsnb
from pacsnb.net import sync
from pacsnb.samples import make_cohort
from pacsnb.services import serve

import peers
from peers import free_port, peer_process, run_tool, stop_service_loop  # noqa: F401 (an autouse fixture)

TOOLS = ("storescu", "storescp", "findscu", "movescu", "getscu", "dcmqrscp")
needs_dcmtk = peers.needs_dcmtk(*TOOLS)
pytestmark = needs_dcmtk
TIMEOUT = 60
_run = partial(run_tool, timeout=TIMEOUT)
COHORT = make_cohort(n_patients=4, studies_per_patient=2, series_per_study=2, slices=2, rows=8, columns=8, seed=5)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort")
    paths = []
    for i, ds in enumerate(COHORT):
        pacsnb.write(ds, d / f"{i:03d}.dcm")
        paths.append(d / f"{i:03d}.dcm")
    return d, paths


@pytest.fixture(scope="module")
def ours(tmp_path_factory, files):
    """Our PACS, filled by dcmtk storescu."""
    folder, paths = files
    root = tmp_path_factory.mktemp("ours")
    pacs = sync.run(serve(root / "archive", port=0, ae_title="PACSNB"))
    try:
        r = _run(["storescu", "-aet", "STORESCU", "-aec", "PACSNB", "+sd", "127.0.0.1", pacs.port, folder])
        assert r.returncode == 0, r.stderr
        yield pacs
    finally:
        pacs.close()


@pytest.fixture(scope="module")
def dcmqrscp(tmp_path_factory, files):
    """dcmqrscp with one storage area, filled by dcmtk storescu with the same files."""
    folder, paths = files
    root = tmp_path_factory.mktemp("dcmqrscp")
    port = free_port()
    db = root / "db"
    db.mkdir()
    cfg = root / "dcmqrscp.cfg"
    cfg.write_text(f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n\n"
                   "HostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\n"
                   f"AETable BEGIN\nDCMQR {db} RW (1000, 1024mb) ANY\nAETable END\n")
    with peer_process(["dcmqrscp", "-c", cfg, port], port, TIMEOUT):
        r = _run(["storescu", "-aec", "DCMQR", "+sd", "127.0.0.1", port, folder])
        assert r.returncode == 0, r.stderr
        yield port


def test_storescu_into_our_scp(ours):
    stats = ours.archive.stats()
    assert stats["instances"] == len(COHORT)
    assert set(ours.archive.instances().SOPInstanceUID) == {str(d.SOPInstanceUID) for d in COHORT}
    assert set(ours.archive.instances().source_ae) == {"STORESCU"}
    assert ours.archive.verify().ok
    # stored as received: byte for byte the data set storescu sent (pixels included)
    ds = COHORT[3]
    assert bytes(ours.archive.read(str(ds.SOPInstanceUID)).PixelData) == bytes(ds.PixelData)


def _find(model: str, port: int, aec: str, keys: list[str], out: Path) -> list[dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    r = _run(["findscu", model, "-X", "-od", out, "-aec", aec, *[a for k in keys for a in ("-k", k)],
              "127.0.0.1", port])
    assert r.returncode == 0, r.stdout + r.stderr
    answers = []
    wanted = [k.split("=")[0] for k in keys]
    for p in sorted(out.glob("rsp*.dcm")):
        ds = pacsnb.read(p)
        row = {}
        for tag in wanted:
            g, e = (int(x, 16) for x in tag.split(","))
            if g == 0x0008 and e == 0x0052:
                continue
            value = ds.get((g << 16) | e)
            row[tag] = "" if value is None else str(value).strip()
        answers.append(row)
    return sorted(answers, key=lambda r: sorted(r.items()))


def _queries():
    a, b = COHORT[0], COHORT[-1]
    studies = sorted({str(d.StudyInstanceUID) for d in COHORT})
    dates = sorted({str(d.StudyDate) for d in COHORT})
    name = str(a.PatientName)
    return [
        # (model, keys) ; matching type in the comment
        ("-P", ["0008,0052=PATIENT", "0010,0020", "0010,0010"]),                               # universal
        ("-P", ["0008,0052=PATIENT", f"0010,0020={a.PatientID}", "0010,0010", "0010,0030"]),  # single value
        ("-P", ["0008,0052=PATIENT", f"0010,0010={name[:3]}*", "0010,0020"]),                   # wildcard *
        ("-P", ["0008,0052=PATIENT", f"0010,0010={name[0]}?{name[2:]}", "0010,0020"]),          # wildcard ?
        ("-P", ["0008,0052=STUDY", f"0010,0020={a.PatientID}", "0020,000D", "0008,0020"]),      # patient root study
        ("-P", ["0008,0052=SERIES", f"0010,0020={a.PatientID}", f"0020,000D={a.StudyInstanceUID}",
                "0020,000E", "0008,0060"]),
        ("-P", ["0008,0052=IMAGE", f"0010,0020={a.PatientID}", f"0020,000D={a.StudyInstanceUID}",
                f"0020,000E={a.SeriesInstanceUID}", "0008,0018", "0020,0013"]),
        ("-S", ["0008,0052=STUDY", "0020,000D", "0010,0020", "0008,0020"]),                    # universal
        ("-S", ["0008,0052=STUDY", f"0008,0020={dates[1]}-{dates[-2]}", "0020,000D"]),          # date range
        ("-S", ["0008,0052=STUDY", f"0008,0020=-{dates[2]}", "0020,000D"]),                     # open range
        ("-S", ["0008,0052=STUDY", f"0020,000D={studies[0]}\\{studies[3]}", "0010,0020"]),      # UID list
        ("-S", ["0008,0052=STUDY", f"0010,0010={name[:2]}*", "0020,000D", "0010,0020"]),        # wildcard
        ("-S", ["0008,0052=SERIES", f"0020,000D={b.StudyInstanceUID}", "0020,000E", "0008,0060", "0020,0011"]),
        ("-S", ["0008,0052=SERIES", f"0020,000D={b.StudyInstanceUID}", f"0008,0060={b.Modality}", "0020,000E"]),
        ("-S", ["0008,0052=IMAGE", f"0020,000D={b.StudyInstanceUID}", f"0020,000E={b.SeriesInstanceUID}",
                "0008,0018", "0020,0013"]),  # (dcmqrscp answers no SOP Class UID: not compared)
        ("-S", ["0008,0052=IMAGE", f"0020,000D={b.StudyInstanceUID}", f"0020,000E={b.SeriesInstanceUID}",
                f"0008,0018={b.SOPInstanceUID}", "0020,0013"]),                                 # single UID
    ]


@pytest.mark.parametrize("i", range(len(_queries())))
def test_findscu_answers_equal_dcmqrscp(ours, dcmqrscp, tmp_path, i):
    model, keys = _queries()[i]
    mine = _find(model, ours.port, "PACSNB", keys, tmp_path / "ours")
    theirs = _find(model, dcmqrscp, "DCMQR", keys, tmp_path / "theirs")
    assert len(theirs) >= 1, keys  # every query matches something
    assert mine == theirs, (keys, mine, theirs)


def test_movescu_to_a_dcmtk_storescp_destination(tmp_path, files):
    folder, _ = files
    dest_port = free_port()
    out = tmp_path / "received"
    out.mkdir()
    pacs = None
    with peer_process(["storescp", "-aet", "STORESCP", "-od", out, dest_port], dest_port, TIMEOUT):
        try:
            pacs = sync.run(serve(tmp_path / "archive", port=0, ae_title="PACSNB",
                                  peers={"STORESCP": ("127.0.0.1", dest_port)}))
            r = _run(["storescu", "-aec", "PACSNB", "+sd", "127.0.0.1", pacs.port, folder])
            assert r.returncode == 0, r.stderr
            study = str(COHORT[0].StudyInstanceUID)
            r = _run(["movescu", "-v", "-S", "-aet", "MOVESCU", "-aec", "PACSNB", "-aem", "STORESCP",
                      "-k", "0008,0052=STUDY", "-k", f"0020,000D={study}", "127.0.0.1", pacs.port])
            assert r.returncode == 0, r.stderr
            got = sorted(str(pacsnb.read(p, stop_before_pixels=True).SOPInstanceUID) for p in out.iterdir())
            assert got == sorted(str(d.SOPInstanceUID) for d in COHORT if str(d.StudyInstanceUID) == study)
            # an unknown destination: 0xA801
            r = _run(["movescu", "-v", "-S", "-aec", "PACSNB", "-aem", "NOWHERE", "-k", "0008,0052=STUDY",
                      "-k", f"0020,000D={study}", "127.0.0.1", pacs.port])
            assert "movedestinationunknown" in (r.stdout + r.stderr).lower().replace(" ", "")
        finally:
            if pacs is not None:
                pacs.close()


def test_getscu_from_our_pacs(ours, tmp_path):
    a = COHORT[0]
    r = _run(["getscu", "-S", "-aet", "GETSCU", "-aec", "PACSNB", "-od", tmp_path, "-k", "0008,0052=SERIES",
              "-k", f"0020,000D={a.StudyInstanceUID}", "-k", f"0020,000E={a.SeriesInstanceUID}",
              "127.0.0.1", ours.port])
    assert r.returncode == 0, r.stderr
    got = {str(pacsnb.read(p).SOPInstanceUID): pacsnb.read(p) for p in tmp_path.iterdir()}
    want = [d for d in COHORT if d.SeriesInstanceUID == a.SeriesInstanceUID]
    assert sorted(got) == sorted(str(d.SOPInstanceUID) for d in want)
    for d in want:
        assert bytes(got[str(d.SOPInstanceUID)].PixelData) == bytes(d.PixelData)


def test_findscu_worklist_against_our_pacs(tmp_path):
    items = tmp_path / "worklist.json"
    items.write_text('[{"PatientName": "DOE^JANE", "PatientID": "P7", "AccessionNumber": "ACC7",'
                     ' "Modality": "MR", "ScheduledStationAETitle": "MR1", "ScheduledProcedureStepStartDate": "20240301"},'
                     ' {"PatientName": "ROE^JOHN", "PatientID": "P8", "AccessionNumber": "ACC8",'
                     ' "Modality": "CT", "ScheduledStationAETitle": "CT1", "ScheduledProcedureStepStartDate": "20240305"}]')
    pacs = sync.run(serve(tmp_path / "archive", port=0, ae_title="RIS", worklist=items))
    try:
        def query(*keys):
            out = tmp_path / f"q{len(list(tmp_path.iterdir()))}"
            out.mkdir()
            r = _run(["findscu", "-W", "-X", "-od", out, "-aec", "RIS", "-k", "0010,0010", "-k", "0008,0050",
                      *[a for k in keys for a in ("-k", k)], "127.0.0.1", pacs.port])
            assert r.returncode == 0, r.stderr
            return sorted(str(pacsnb.read(p).AccessionNumber) for p in out.glob("rsp*.dcm"))
        assert query("(0040,0100)[0].Modality=MR", "(0040,0100)[0].ScheduledStationAETitle") == ["ACC7"]
        assert query("(0040,0100)[0].ScheduledStationAETitle=CT1") == ["ACC8"]
        assert query("(0040,0100)[0].ScheduledProcedureStepStartDate=20240302-20240310") == ["ACC8"]
        assert query("0010,0010=*OE^J*", "(0040,0100)[0].Modality") == ["ACC7", "ACC8"]
        assert query("(0040,0100)[0].Modality=US") == []
    finally:
        pacs.close()
