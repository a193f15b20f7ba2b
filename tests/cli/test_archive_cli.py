"""``pacsnb archive ls|stats|verify|reindex|rm|add``, run as the real command in a subprocess."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pacsnb
from pacsnb.archive import Archive
from pacsnb.samples import make_study

REPO = Path(__file__).resolve().parents[2]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pacsnb", "archive", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_archive_cli_round(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    study = make_study("CT", n_series=2, n_slices=2, rows=16, columns=16)
    for i, ds in enumerate(study):
        pacsnb.write(ds, src / f"{i}.dcm")
    root = tmp_path / "arc"
    r = run("add", root, src, "-r", "--no-progress")
    assert r.returncode == 0 and "stored 4 instances" in r.stdout, r.stderr
    r = run("ls", root, "-k", f"PatientID={study[0].PatientID}")
    assert r.returncode == 0 and study[0].StudyInstanceUID in r.stdout, r.stdout + r.stderr
    r = run("ls", root, "-L", "SERIES", "-k", "0008,0060=CT", "-k", "SeriesNumber=2")
    assert r.returncode == 0 and r.stdout.count("CT") >= 1 and len(r.stdout.strip().splitlines()) == 2, r.stdout
    r = run("ls", root, "-k", "StudyDate=19000101-19000102")
    assert r.returncode == 0 and "(none)" in r.stdout
    r = run("stats", root)
    assert "instances 4" in r.stdout and "series 2" in r.stdout
    assert run("verify", root).returncode == 0
    victim = Archive(root).instances().path.iloc[0]
    Path(victim).unlink()
    r = run("verify", root)
    assert r.returncode == 1 and "missing" in r.stdout
    r = run("reindex", root, "--no-progress")
    assert r.returncode == 0 and "reindexed 3" in r.stdout
    assert run("verify", root).returncode == 0
    series = Archive(root).series()
    series_uid, n = series.SeriesInstanceUID.iloc[0], int(series.NumberOfSeriesRelatedInstances.iloc[0])
    r = run("rm", root, "--series", series_uid)
    assert r.returncode == 0 and f"deleted {n} instances" in r.stdout
    assert f"instances {3 - n}" in run("stats", root).stdout


def test_archive_cli_errors(tmp_path):
    r = run("ls", tmp_path / "nothing")
    assert r.returncode == 1 and "not an archive" in r.stderr
    Archive(tmp_path / "a").close()
    r = run("ls", tmp_path / "a", "-k", "StudyDate=yesterday")
    assert r.returncode == 1 and "StudyDate" in r.stderr
    r = run("rm", tmp_path / "a")
    assert r.returncode == 2
