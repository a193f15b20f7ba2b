"""How the archive stays durable at a low cost per instance: one data sync of the file and one
sync of its folder per instance, index commits synced only when a folder starts receiving
(the ``landing`` marks), the files indexed again after a power cut lost unsynced commits,
group commit across threads, and index values read from the received bytes."""
from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pydicom
import pytest

import pacsnb
from pacsnb.archive import Archive, layout
from pacsnb.archive import store as store_mod
from pacsnb.archive.index import _element_text, extract, value_text
from pacsnb.dicom import Dataset
from pacsnb.errors import DuplicateInstanceError, InvalidInstanceError
from pacsnb.io import encode_dataset, read_bytes
from pacsnb.net.dimse import Spool
from pacsnb.samples import make_ct_series

EXPLICIT = "1.2.840.10008.1.2.1"
DEAD = 2 ** 22 + 4242  # above the default pid_max: no such process


def series(n, seed=0, rows=16):
    return make_ct_series(n_slices=n, rows=rows, columns=rows, seed=seed)


def landing(root: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(root / "index.sqlite")
    try:
        return conn.execute("SELECT dir, owner FROM landing ORDER BY dir").fetchall()
    finally:
        conn.close()


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "data").rglob("*.dcm"))


# A writer that stores the first instance of two series (each marks its folder: synced
# commits), copies the index files as they are then (what the disk holds for sure at a power
# cut: the state of the last synced commit), stores more instances into both folders (commits
# not synced) and dies without closing the archive.
POWER_CUT = textwrap.dedent("""
    import os, shutil, sys
    from pathlib import Path
    from pacsnb.archive import Archive
    from pacsnb.samples import make_ct_series
    root, snap = Path(sys.argv[1]), Path(sys.argv[2])
    archive = Archive(root)
    a = make_ct_series(n_slices=4, rows=16, columns=16, seed=1)
    b = make_ct_series(n_slices=3, rows=16, columns=16, seed=2)
    archive.store(a[0])
    archive.store(b[0])
    snap.mkdir()
    for name in ("index.sqlite", "index.sqlite-wal"):
        if (root / name).exists():
            shutil.copy2(root / name, snap / name)
    for ds in a[1:] + b[1:]:
        archive.store(ds)
    print(" ".join(str(ds.SOPInstanceUID) for ds in a + b), flush=True)
    os._exit(0)
""")


def test_commits_lost_at_a_power_cut_are_indexed_again_from_the_landing_folders(tmp_path):
    root, snap = tmp_path / "arc", tmp_path / "snap"
    run = subprocess.run([sys.executable, "-c", POWER_CUT, str(root), str(snap)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    stored = run.stdout.split()
    assert len(stored) == 7 and len(data_files(root)) == 7
    # the power cut: the index is back to its last synced state; the files (synced) are all there
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (root / name).unlink(missing_ok=True)
    for f in snap.iterdir():
        shutil.copy2(f, root / f.name)
    lost = sqlite3.connect(root / "index.sqlite")
    assert lost.execute("SELECT COUNT(*) FROM instances").fetchone()[0] == 2  # five commits lost
    lost.close()
    assert len(landing(root)) == 2  # the two folders were marked by synced commits

    archive = Archive(root)  # the writer is dead: its landing folders are reconciled
    try:
        assert sorted(archive.instances().SOPInstanceUID) == sorted(stored)
        counts = archive.series().set_index("SeriesInstanceUID").NumberOfSeriesRelatedInstances
        assert sorted(counts.tolist()) == [3, 4]
        assert archive.studies().NumberOfStudyRelatedInstances.sum() == 7
        for uid in stored:
            assert pydicom.dcmread(archive.path(uid)).SOPInstanceUID == uid
        assert archive.instances().source_ae.isna().all()  # stored without a calling AE
        report = archive.verify()
        assert report.ok, report
        assert landing(root) == []
    finally:
        archive.close()


def test_landing_marks_one_synced_commit_per_folder_then_released(tmp_path, monkeypatch):
    syncs = {"file": 0, "dir": 0}
    real_file, real_dir = store_mod._fdatasync, layout.fsync_dir

    def file_sync(fd):
        syncs["file"] += 1
        real_file(fd)

    def dir_sync(folder):
        syncs["dir"] += 1
        real_dir(folder)

    monkeypatch.setattr(store_mod, "_fdatasync", file_sync)
    monkeypatch.setattr(layout, "fsync_dir", dir_sync)
    archive = Archive(tmp_path)
    statements: list[str] = []
    archive._conn().set_trace_callback(statements.append)
    items = series(6)
    archive.store(items[0])
    assert [d for d, _ in landing(tmp_path)] == [archive.path(items[0].SOPInstanceUID).parent.relative_to(
        tmp_path).as_posix()]
    assert "PRAGMA synchronous=FULL" in statements  # the mark's commit is synced
    statements.clear()
    before = dict(syncs)
    for ds in items[1:]:
        archive.store(ds)
    # per instance: one sync of its file, one of its folder; the commits are not synced
    assert syncs["file"] - before["file"] == 5 and syncs["dir"] - before["dir"] == 5
    assert "PRAGMA synchronous=NORMAL" in statements and "PRAGMA synchronous=FULL" not in statements
    assert archive.stats()["instances"] == 6
    archive.close()  # a synced commit releases the marks
    assert landing(tmp_path) == []

    plain = Archive(tmp_path / "fast", durable=False)
    plain.store(items[0])
    assert landing(tmp_path / "fast") == []  # nothing to reconcile without syncs
    plain.close()


def test_folders_unused_for_a_while_are_released(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "_HOT_MAX", 2)
    archive = Archive(tmp_path)
    for seed in range(4):  # four series, four folders: at most two stay marked
        archive.store(series(1, seed=seed)[0])
        assert len(landing(tmp_path)) <= 2
    assert archive.stats()["instances"] == 4
    archive.close()


def test_marks_of_a_live_archive_are_left_alone(tmp_path):
    first = Archive(tmp_path)
    first.store(series(1)[0])
    marks = landing(tmp_path)
    assert len(marks) == 1 and marks[0][1].startswith(f"{os.getpid()}-")
    second = Archive(tmp_path)  # same process, another archive object: the first is alive
    assert landing(tmp_path) == marks
    second.close()
    assert landing(tmp_path) == marks  # each archive releases its own marks only
    first.close()
    assert landing(tmp_path) == []


def test_a_dead_writers_marks_are_released_and_rows_of_unfinished_stores_dropped(tmp_path):
    archive = Archive(tmp_path)
    r = archive.store(series(1)[0])
    archive.close()
    conn = sqlite3.connect(tmp_path / "index.sqlite")
    conn.execute("INSERT INTO landing (dir, owner) VALUES (?, ?)", ("data/nothing/here", f"{DEAD}-00"))
    # a committed row whose file never landed (the power went before its rename was synced)
    conn.execute("UPDATE instances SET pending = ?, path = ?", (f"{DEAD}-abc0.tmp", "data/gone/gone/x.dcm"))
    conn.commit()
    conn.close()
    os.unlink(r.path)
    again = Archive(tmp_path)
    try:
        assert landing(tmp_path) == []
        assert again.stats()["instances"] == 0 and again.stats()["studies"] == 0
        assert again.verify().ok
    finally:
        again.close()


def test_group_commit_from_many_threads(tmp_path):
    archive = Archive(tmp_path)
    batches = [series(8, seed=s) for s in range(6)]
    dup = series(1, seed=99)[0]
    outcomes: list = []
    lock = threading.Lock()
    start = threading.Barrier(len(batches) + 4)

    def work(items):
        start.wait(30)
        for ds in items:
            archive.store(ds)

    def duplicate():
        start.wait(30)
        try:
            out = archive.store(dup.copy())
        except DuplicateInstanceError as exc:
            out = exc
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    threads += [threading.Thread(target=duplicate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert sum(1 for o in outcomes if isinstance(o, DuplicateInstanceError)) == 3
    assert sum(1 for o in outcomes if not isinstance(o, Exception)) == 1
    assert archive.stats()["instances"] == 6 * 8 + 1
    assert sorted(archive.series().NumberOfSeriesRelatedInstances.tolist()) == [1] + [8] * 6
    assert list((tmp_path / "tmp").iterdir()) == []
    assert archive.verify().ok
    archive.close()
    assert landing(tmp_path) == []


def test_store_raw_parses_in_memory_and_writes_what_it_got(tmp_path):
    archive = Archive(tmp_path)
    items = series(5)
    sources = []
    for k, ds in enumerate(items):
        raw = encode_dataset(ds, EXPLICIT)
        if k == 0:
            src = raw
        elif k == 1:
            src = memoryview(bytearray(raw))
        elif k == 2:
            src = io.BytesIO(raw)
        else:  # the server's spool: in memory (k == 3) or rolled over to a file (k == 4)
            src = Spool(max_size=1 << 20 if k == 3 else 64)
            src.write(raw)
        sources.append((raw, src))
    for (raw, src), ds in zip(sources, items):
        r = archive.store_raw(src, EXPLICIT, sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID,
                              source_ae_title="CT1")
        data = r.path.read_bytes()
        assert data.endswith(raw) and data[128:132] == b"DICM"
        theirs = pydicom.dcmread(r.path)
        assert theirs.SOPInstanceUID == ds.SOPInstanceUID and theirs.file_meta.SourceApplicationEntityTitle == "CT1"
    assert sources[4][1].in_memory() is None and sources[3][1].in_memory() is not None
    assert archive.find("IMAGE", SeriesInstanceUID=items[0].SeriesInstanceUID).InstanceNumber.tolist() == [
        str(ds.InstanceNumber) for ds in items]
    with pytest.raises(InvalidInstanceError):
        archive.store_raw(b"\x08\x00\x18\x00\xff\xff\xff\x7f", EXPLICIT, sop_class_uid="1.2", sop_instance_uid="1.2.3")
    no_study = items[0].copy()
    no_study.SOPInstanceUID = "1.2.3.4.5.6"
    del no_study.StudyInstanceUID
    with pytest.raises(InvalidInstanceError, match="StudyInstanceUID"):
        archive.store_raw(encode_dataset(no_study, EXPLICIT), EXPLICIT, sop_class_uid=no_study.SOPClassUID,
                          sop_instance_uid=no_study.SOPInstanceUID)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert archive.stats()["instances"] == 5 and archive.verify().ok
    archive.close()


def test_parent_rows_follow_changes_without_rewriting_unchanged_ones(tmp_path):
    archive = Archive(tmp_path)
    a, b, c = series(3)
    del a.StudyDescription
    b.StudyDescription = "later"
    archive.store(a)
    assert archive.studies().StudyDescription.isna().all()
    archive.store(b)
    assert archive.studies().StudyDescription.tolist() == ["later"]
    other = series(1, seed=7)[0]  # another study of the same patient
    other.PatientID, other.PatientName = a.PatientID, a.PatientName
    archive.store(other)
    assert archive.patients().NumberOfPatientRelatedInstances.tolist() == [3]
    c.PatientID = "MOVED"  # the first study is sent again under another patient
    archive.store(c)
    pats = archive.patients().set_index("PatientID")
    assert pats.loc["MOVED"].NumberOfPatientRelatedStudies == 1
    assert pats.loc["MOVED"].NumberOfPatientRelatedInstances == 3
    assert pats.loc[a.PatientID].NumberOfPatientRelatedStudies == 1  # the old patient's counts follow
    assert pats.loc[a.PatientID].NumberOfPatientRelatedInstances == 1
    archive.delete(study=other.StudyInstanceUID)
    assert a.PatientID not in archive.patients().PatientID.tolist()  # left without studies: gone
    mr = series(1, seed=5)[0]
    mr.StudyInstanceUID, mr.PatientID = c.StudyInstanceUID, "MOVED"
    mr.SOPClassUID, mr.Modality = "1.2.840.10008.5.1.4.1.1.4", "MR"
    archive.store(mr)
    study = archive.studies().set_index("StudyInstanceUID").loc[c.StudyInstanceUID]
    assert study.SOPClassesInStudy == sorted(["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"])
    assert study.ModalitiesInStudy == ["CT", "MR"] and study.NumberOfStudyRelatedInstances == 4
    assert archive.verify().ok
    archive.close()


@pytest.mark.parametrize("charset", [None, "ISO_IR 100", "ISO_IR 192", "ISO 2022 IR 87"])
def test_index_text_from_bytes_matches_the_decoded_values(charset):
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName = {"ISO_IR 100": "Dupré^Jérôme", "ISO_IR 192": "Ünal^Zoë",
                      "ISO 2022 IR 87": "山田^太郎"}.get(charset, "DOE^JOHN")
    ds.PatientID = " P1 "
    ds.StudyDescription = "Thorax \\ abdomen" if charset != "ISO 2022 IR 87" else "胸部"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "", "AXIAL"]
    ds.SliceThickness = "1.50"
    ds.add_new(0x00200032, "DS", ["-1.0", "2.50", "3e1"])
    ds.add_new(0x00200013, "IS", "0012")
    ds.add_new(0x00181030, "LO", "")
    ds.add_new(0x00204000, "LT", "a \\ b  ")
    ds.add_new(0x00080018, "UI", "1.2.3\x00")
    ds.add_new(0x00080020, "DA", "20240131")
    ds.add_new(0x00080030, "TM", "101500.5 ")
    ds.add_new(0x00280010, "US", 512)
    for ts in (EXPLICIT, "1.2.840.10008.1.2"):
        back = read_bytes(encode_dataset(ds, ts), transfer_syntax=ts)
        for e in back.elements():
            assert _element_text(e) == value_text(e.value), (e.keyword, ts)
        slow = read_bytes(encode_dataset(ds, ts), transfer_syntax=ts)
        for e in slow.elements():
            _ = e.value  # decoded first: extract takes the decoded values
        assert extract(back) == extract(slow)


def test_a_store_whose_file_may_be_unsynced_is_dropped_on_open_not_finished(tmp_path):
    archive = Archive(tmp_path)
    a, b, c = series(3)
    ra = archive.store(a)  # first into its folder: the commit is synced, the file before it
    rb = archive.store(b)  # the next: committed while the file's sync may still run

    def pending(uid):
        conn = sqlite3.connect(tmp_path / "index.sqlite")
        try:
            return conn.execute('SELECT pending FROM instances WHERE "SOPInstanceUID" = ?', (uid,)).fetchone()[0]
        finally:
            conn.close()

    assert pending(rb.sop_instance_uid).startswith("u:")
    rc = archive.store(c)
    assert pending(rb.sop_instance_uid) is None  # cleared once its file is in place
    archive.close()
    # the state a power cut can leave: b's row committed, its file (maybe partial) still in tmp/;
    # c renamed into place but its row still pending
    token_b, token_c = f"{DEAD}-0b0b.tmp", f"{DEAD}-0c0c.tmp"
    os.replace(rb.path, tmp_path / "tmp" / token_b)
    conn = sqlite3.connect(tmp_path / "index.sqlite")
    conn.execute('UPDATE instances SET pending = ? WHERE "SOPInstanceUID" = ?', (f"u:{token_b}", rb.sop_instance_uid))
    conn.execute('UPDATE instances SET pending = ? WHERE "SOPInstanceUID" = ?', (f"u:{token_c}", rc.sop_instance_uid))
    conn.commit()
    conn.close()
    again = Archive(tmp_path)
    try:
        assert sorted(again.instances().SOPInstanceUID) == sorted([ra.sop_instance_uid, rc.sop_instance_uid])
        assert list((tmp_path / "tmp").iterdir()) == [] and not rb.path.exists()
        assert again.series().NumberOfSeriesRelatedInstances.tolist() == [2]
        assert again.verify().ok
    finally:
        again.close()
