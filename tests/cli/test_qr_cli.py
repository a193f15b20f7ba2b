"""``pacsnb find``, ``pacsnb move`` and ``pacsnb get`` against our own Server (MemoryQR), in
process and once as a real process; failures explained on stderr with exit status 1."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.cli import main
from pacsnb.dicom import Dataset
from pacsnb.errors import DicomValueError
from pacsnb.cli.qr import parse_keys
from pacsnb.net import sync
from pacsnb.net.memory import MemoryQR
from pacsnb.samples import make_ct_series

from peers import free_port, stop_service_loop  # noqa: F401 (an autouse fixture)

REPO = Path(__file__).resolve().parents[2]
SERIES = make_ct_series(n_slices=3, rows=8, columns=8)
STUDY = SERIES[0].StudyInstanceUID


@pytest.fixture()
def qr():
    me = free_port()
    sps = Dataset()
    sps.Modality, sps.ScheduledStationAETitle = "CT", "CT1"
    item = Dataset()
    item.PatientID, item.PatientName, item.ScheduledProcedureStepSequence = "W1", "DOE^W", [sps]
    server = sync.start(net.Server(MemoryQR(SERIES, worklist=[item]).handlers(), port=0, ae_title="QR",
                                   destinations={"MOVESCU": ("127.0.0.1", me), "GETSCU": ("127.0.0.1", me)}))
    try:
        yield server, me
    finally:
        sync.stop(server)


def test_find_prints_a_table_and_csv(qr, capsys, tmp_path):
    server, _ = qr
    assert main(["find", "-aec", "QR", "-k", "PatientName", "-k", "0020,1208",
                 "127.0.0.1", str(server.port)]) == 0
    out = capsys.readouterr().out
    assert STUDY in out and "NumberOfStudyRelatedInstances" in out
    csv = tmp_path / "m.csv"
    assert main(["find", "-aec", "QR", "-k", "0008,0052=SERIES", "-k", f"0020,000D={STUDY}", "-k", "Modality",
                 "--csv", str(csv), "127.0.0.1", str(server.port)]) == 0
    import pandas as pd
    df = pd.read_csv(csv)
    assert df.Modality.tolist() == ["CT"] and df.SeriesInstanceUID.tolist() == [SERIES[0].SeriesInstanceUID]


def test_find_worklist(qr, capsys):
    server, _ = qr
    assert main(["find", "-W", "-aec", "QR", "-k", "PatientID", "-k",
                 "ScheduledProcedureStepSequence[0].Modality=CT", "127.0.0.1", str(server.port)]) == 0
    assert "W1" in capsys.readouterr().out


def test_move_here_and_get(qr, tmp_path, capsys):
    server, me = qr
    moved, got = tmp_path / "moved", tmp_path / "got"
    assert main(["move", "-aec", "QR", "--port", str(me), "--bind", "127.0.0.1", "-od", str(moved),
                 "--no-progress", "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(server.port)]) == 0
    assert "3 completed, 0 failed" in capsys.readouterr().out
    assert sorted(p.name for p in moved.iterdir()) == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in SERIES)
    assert main(["get", "-aec", "QR", "-od", str(got), "--no-progress", "-k", "0008,0052=IMAGE",
                 "-k", f"0020,000D={STUDY}", "-k", f"0020,000E={SERIES[0].SeriesInstanceUID}",
                 "-k", f"0008,0018={SERIES[0].SOPInstanceUID}\\{SERIES[1].SOPInstanceUID}",
                 "127.0.0.1", str(server.port)]) == 0
    assert sorted(p.name for p in got.iterdir()) == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in SERIES[:2])


def test_move_to_an_unknown_destination_explains(qr, capsys):
    server, _ = qr
    assert main(["move", "-aec", "QR", "-aem", "NOWHERE", "--no-progress", "-k", f"StudyInstanceUID={STUDY}",
                 "127.0.0.1", str(server.port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("E: C-MOVE refused by QR") and "'NOWHERE'" in err and "ask its administrator" in err


def test_missing_unique_key_and_bad_keys(qr, capsys):
    server, _ = qr
    assert main(["get", "-aec", "QR", "-k", "PatientName=DOE*", "127.0.0.1", str(server.port)]) == 1
    assert "needs StudyInstanceUID" in capsys.readouterr().err
    with pytest.raises(DicomValueError):
        parse_keys(["9999,9999=1"])
    with pytest.raises(DicomValueError):
        parse_keys(["A[1].B=x"])


def test_get_as_a_real_process(qr, tmp_path):
    server, _ = qr
    r = subprocess.run([sys.executable, "-m", "pacsnb", "get", "-aec", "QR", "-od", str(tmp_path), "--no-progress",
                        "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(server.port)],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "C-GET: 3 completed, 0 failed, 0 warning, 3 files written" in r.stdout
    assert all(pacsnb.read(p).Modality == "CT" for p in tmp_path.iterdir())
