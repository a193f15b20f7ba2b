"""pacsnb.archive: storing, duplicates, safety of names, disk full, maintenance, hooks, threads."""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from pathlib import Path

import pydicom
import pytest

import pacsnb
from pacsnb.archive import Archive
from pacsnb.archive import store as store_mod
from pacsnb.archive.index import SCHEMA_VERSION
from pacsnb.dicom import Dataset
from pacsnb.errors import (ArchiveError, ArchiveFullError, DuplicateInstanceError, InvalidInstanceError,
                           InvalidQueryError)
from pacsnb.io import encode_dataset
from pacsnb.samples import make_cohort, make_ct_series, make_study


def small_ct(n=3, seed=0):
    return make_ct_series(n_slices=n, rows=16, columns=16, seed=seed)


def minimal(sop="1.2.3.4.5", study="1.2.3", series="1.2.3.4", **more) -> Dataset:
    ds = Dataset({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7", "SOPInstanceUID": sop, "StudyInstanceUID": study,
                  "SeriesInstanceUID": series, "PatientID": "P1", "PatientName": "DOE^JOHN", "Modality": "OT"})
    for k, v in more.items():
        setattr(ds, k, v)
    return ds


def files_under(root: Path, sub: str) -> list[Path]:
    return sorted(p for p in (root / sub).rglob("*") if p.is_file())


def test_store_indexes_and_files_read_back_with_pydicom(tmp_path):
    archive = Archive(tmp_path)
    series = small_ct(4)
    results = [archive.store(ds, source_ae_title="CT1") for ds in series]
    assert [r.action for r in results] == ["stored"] * 4
    for ds, r in zip(series, results):
        assert r.path.is_file() and r.path.is_relative_to(tmp_path / "data")
        theirs = pydicom.dcmread(r.path)  # the oracle reads what we wrote
        assert theirs.SOPInstanceUID == ds.SOPInstanceUID
        assert theirs.file_meta.TransferSyntaxUID == r.transfer_syntax
        assert (theirs.pixel_array == ds.pixel_array).all()
    inst = archive.instances()
    assert len(inst) == 4 and set(inst.source_ae) == {"CT1"}
    assert sorted(inst.InstanceNumber.astype(int)) == [1, 2, 3, 4]
    series_df = archive.series()
    assert series_df.NumberOfSeriesRelatedInstances.tolist() == [4]
    studies = archive.studies()
    assert studies.NumberOfStudyRelatedSeries.tolist() == [1]
    assert studies.NumberOfStudyRelatedInstances.tolist() == [4]
    assert studies.ModalitiesInStudy.tolist() == [["CT"]]
    assert studies.SOPClassesInStudy.tolist() == [["1.2.840.10008.5.1.4.1.1.2"]]
    assert archive.patients().NumberOfPatientRelatedInstances.tolist() == [4]
    assert archive.verify().ok
    archive.close()


def test_derived_attributes_across_a_cohort(tmp_path):
    cohort = make_cohort(n_patients=3, studies_per_patient=2, series_per_study=2, slices=2, rows=16, columns=16)
    archive = Archive(tmp_path)
    assert len(archive.store_many(cohort, progress=False)) == len(cohort)
    pats = archive.patients().set_index("PatientID")
    for pid, group in pats.iterrows():
        mine = [ds for ds in cohort if ds.PatientID == pid]
        assert group.NumberOfPatientRelatedInstances == len(mine)
        assert group.NumberOfPatientRelatedStudies == len({ds.StudyInstanceUID for ds in mine})
        assert group.NumberOfPatientRelatedSeries == len({ds.SeriesInstanceUID for ds in mine})
    studies = archive.studies()
    for _, row in studies.iterrows():
        mine = [ds for ds in cohort if ds.StudyInstanceUID == row.StudyInstanceUID]
        assert row.ModalitiesInStudy == sorted({ds.Modality for ds in mine})
        assert row.NumberOfStudyRelatedInstances == len(mine)


def test_store_paths_bytes_raw_and_file_objects(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    series = small_ct(4)
    pacsnb.write(series[0], src / "a.dcm", "1.2.840.10008.1.2")  # implicit VR: copied byte for byte
    archive = Archive(tmp_path / "arc")
    r0 = archive.store(src / "a.dcm")
    assert r0.path.read_bytes() == (src / "a.dcm").read_bytes()
    assert r0.transfer_syntax == "1.2.840.10008.1.2"
    r1 = archive.store(pacsnb.io.encode_file(series[1]))
    assert r1.sop_instance_uid == series[1].SOPInstanceUID
    data = encode_dataset(series[2], "1.2.840.10008.1.2")
    r2 = archive.store_raw(data, "1.2.840.10008.1.2", sop_class_uid=series[2].SOPClassUID,
                           sop_instance_uid=series[2].SOPInstanceUID, source_ae_title="MOD")
    theirs = pydicom.dcmread(r2.path)
    assert theirs.file_meta.SourceApplicationEntityTitle == "MOD"
    assert theirs.PatientName == series[2].PatientName
    spool = tmp_path / "spool.bin"
    spool.write_bytes(encode_dataset(series[3], "1.2.840.10008.1.2.1"))
    with open(spool, "rb") as f:  # a spooled C-STORE: streamed, UIDs read from the data set
        r3 = archive.store_raw(f, "1.2.840.10008.1.2.1")
    assert r3.sop_instance_uid == series[3].SOPInstanceUID
    assert pydicom.dcmread(r3.path).SOPInstanceUID == series[3].SOPInstanceUID
    assert archive.stats()["instances"] == 4 and archive.verify().ok


@pytest.mark.parametrize("policy", ["reject", "replace", "keep"])
def test_duplicate_policies(tmp_path, policy):
    archive = Archive(tmp_path, duplicates=policy)
    first = minimal(PatientComments="first")
    second = minimal(PatientComments="second")
    archive.store(first)
    if policy == "reject":
        with pytest.raises(DuplicateInstanceError) as info:
            archive.store(second)
        assert info.value.sop_instance_uid == "1.2.3.4.5"
        assert archive.read("1.2.3.4.5").PatientComments == "first"
        assert len(files_under(tmp_path, "data")) == 1
    elif policy == "replace":
        assert archive.store(second).action == "replaced"
        assert archive.read("1.2.3.4.5").PatientComments == "second"
        assert len(files_under(tmp_path, "data")) == 1
        assert archive.patients().PatientComments.tolist() == ["second"]
    else:
        r = archive.store(second)
        assert r.action == "kept" and r.path.name == "1.2.3.4.5~2.dcm"
        assert len(archive.find("IMAGE", SOPInstanceUID="1.2.3.4.5")) == 2
        assert archive.series().NumberOfSeriesRelatedInstances.tolist() == [2]
    assert files_under(tmp_path, "tmp") == []
    assert archive.verify().ok


@pytest.mark.parametrize("uid", ["../../x", "/etc/passwd", "..", "a/b:c", "1.2.3/../../../evil", "x" * 300,
                                 "1.2.\x00.3", "'; DROP TABLE instances; --"])
def test_hostile_uids_never_leave_the_archive(tmp_path, uid):
    root = tmp_path / "arc"
    archive = Archive(root)
    r = archive.store(minimal(sop=uid, study=uid, series=uid))
    assert r.path.resolve().is_relative_to((root / "data").resolve())
    assert all(len(part) <= 64 for part in r.path.relative_to(root).parts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arc"]
    assert archive.path(uid) == r.path and archive.read(uid).Modality == "OT"
    assert len(archive.find("IMAGE", SOPInstanceUID=uid)) == 1
    assert archive.stats()["instances"] == 1  # the table is still there
    assert archive.verify().ok


def test_disk_full_while_writing_stores_nothing(tmp_path, monkeypatch):
    archive = Archive(tmp_path)
    archive.store(minimal(sop="1.1"))

    def full(f, chunks):
        f.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod, "_write_chunks", full)
    with pytest.raises(ArchiveFullError) as info:
        archive.store(minimal(sop="1.2"))
    assert isinstance(info.value, OSError) and "full" in str(info.value)
    with pytest.raises(ArchiveFullError):
        archive.store_many([minimal(sop="1.3"), minimal(sop="1.4")], progress=False)
    assert files_under(tmp_path, "tmp") == []
    assert len(files_under(tmp_path, "data")) == 1
    assert archive.instances().SOPInstanceUID.tolist() == ["1.1"]
    assert archive.verify().ok


def test_disk_full_at_commit_stores_nothing(tmp_path, monkeypatch):
    archive = Archive(tmp_path)

    def full(self, conn):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Archive, "_commit", full)
    with pytest.raises(ArchiveFullError):
        archive.store(minimal())
    monkeypatch.undo()
    assert files_under(tmp_path, "tmp") == [] and files_under(tmp_path, "data") == []
    assert archive.stats()["instances"] == 0
    assert archive.verify().ok
    archive.store(minimal())  # and the archive still works
    assert archive.stats()["instances"] == 1


def test_rename_failure_after_commit_is_undone(tmp_path, monkeypatch):
    archive = Archive(tmp_path)
    real = os.replace

    def failing(src, dst):
        if "data" in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", failing)
    with pytest.raises(ArchiveFullError):
        archive.store(minimal())
    monkeypatch.undo()
    assert archive.stats()["instances"] == 0 and archive.verify().ok


def test_invalid_instances(tmp_path):
    archive = Archive(tmp_path)
    ds = minimal()
    del ds.StudyInstanceUID
    with pytest.raises(InvalidInstanceError, match="StudyInstanceUID"):
        archive.store(ds)
    with pytest.raises(InvalidInstanceError):
        archive.store(b"not DICOM at all" * 20)
    with pytest.raises(TypeError):
        archive.store(42)
    assert files_under(tmp_path, "tmp") == [] and archive.stats()["instances"] == 0


def test_leftover_temporary_files_are_cleaned_on_open(tmp_path):
    Archive(tmp_path).close()
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stray = tmp_path / "tmp" / f"{dead}-0123456789abcdef.tmp"
    stray.write_bytes(b"half a file")
    live = tmp_path / "tmp" / f"{os.getpid()}-00aa.tmp"  # ours: may be in flight, kept
    live.write_bytes(b"x")
    archive = Archive(tmp_path)
    assert not stray.exists() and live.exists()
    live.unlink()
    assert archive.verify().ok


def test_committed_but_not_renamed_is_finished_on_open(tmp_path):
    """The crash window between the index commit and the rename: the next open completes it."""
    archive = Archive(tmp_path)
    r = archive.store(minimal())
    dead = 2 ** 22 + 54321
    token = f"{dead}-feedfacecafe0000.tmp"
    # put the instance back in the state a crash after COMMIT leaves: file still in tmp/
    os.replace(r.path, tmp_path / "tmp" / token)
    conn = sqlite3.connect(tmp_path / "index.sqlite")
    conn.execute("UPDATE instances SET pending = ?", (token,))
    conn.commit()
    conn.close()
    archive.close()
    again = Archive(tmp_path)
    assert r.path.is_file() and files_under(tmp_path, "tmp") == []
    assert again.verify().ok
    assert again._conn().execute("SELECT COUNT(*) FROM instances WHERE pending IS NOT NULL").fetchone()[0] == 0


def test_verify_finds_every_kind_of_problem_and_reindex_repairs(tmp_path):
    archive = Archive(tmp_path)
    results = archive.store_many(small_ct(4), progress=False)
    os.unlink(results[0].path)                                          # missing
    results[1].path.write_bytes(b"garbage" * 10)                        # unreadable
    pacsnb.write(minimal(sop="9.9.9"), tmp_path / "data" / "stray.dcm")  # unindexed
    report = archive.verify()
    assert not report.ok
    assert report.missing == [results[0].path.relative_to(tmp_path).as_posix()]
    assert [u[0] for u in report.unreadable] == [results[1].path.relative_to(tmp_path).as_posix()]
    assert report.unindexed == ["data/stray.dcm"]
    assert "1 missing" in str(report)
    results[1].path.unlink()
    assert archive.reindex(progress=False) == 3
    assert archive.verify().ok
    assert sorted(archive.instances().SOPInstanceUID) == sorted(
        [results[2].sop_instance_uid, results[3].sop_instance_uid, "9.9.9"])


def test_delete_levels(tmp_path):
    archive = Archive(tmp_path)
    cohort = make_cohort(n_patients=2, studies_per_patient=1, series_per_study=2, slices=2, rows=16, columns=16)
    archive.store_many(cohort, progress=False)
    s = archive.series()
    one_series = s.SeriesInstanceUID.iloc[0]
    assert archive.delete(series=one_series) == 2
    assert archive.stats()["series"] == 3
    study = archive.studies().StudyInstanceUID.iloc[0]
    n = archive.studies().NumberOfStudyRelatedInstances.iloc[0]
    assert archive.delete(study=[study]) == n
    assert archive.stats()["studies"] == 1 and archive.stats()["patients"] == 1
    assert archive.verify().ok
    with pytest.raises(ArchiveError):
        archive.delete()


def test_hooks(tmp_path):
    seen = []

    def anonymize(ds):
        ds.PatientName = "ANON^YMOUS"
        return ds

    def mark(ds):
        ds.PatientComments = "in place"  # returns None: changed in place

    archive = Archive(tmp_path, on_ingest=[anonymize, mark], on_stored=seen.append,
                      on_retrieve=lambda ds: setattr(ds, "InstitutionName", "OUT"))
    src = small_ct(2)
    archive.store(src[0])
    data = encode_dataset(src[1], "1.2.840.10008.1.2.1")
    archive.store_raw(data, "1.2.840.10008.1.2.1")
    assert [r.sop_instance_uid for r in seen] == [ds.SOPInstanceUID for ds in src]
    assert set(archive.patients().PatientName) == {"ANON^YMOUS"}
    on_disk = pydicom.dcmread(seen[1].path)
    assert on_disk.PatientName == "ANON^YMOUS" and on_disk.PatientComments == "in place"
    assert archive.read(src[0].SOPInstanceUID).InstitutionName == "OUT"
    assert pydicom.dcmread(seen[0].path).InstitutionName != "OUT"

    def refuse(ds):
        raise ArchiveError("not this one")

    strict = Archive(tmp_path / "strict", on_ingest=refuse)
    with pytest.raises(ArchiveError, match="not this one"):
        strict.store(src[0])
    assert strict.stats()["instances"] == 0


def test_a_failing_on_stored_callback_does_not_fail_the_store(tmp_path):
    def boom(result):
        raise RuntimeError("notebook widget gone")

    archive = Archive(tmp_path, on_stored=boom)
    assert archive.store(minimal()).action == "stored"


def test_threads_store_concurrently(tmp_path):
    archive = Archive(tmp_path, durable=False)
    series = [small_ct(5, seed=s) for s in range(4)]
    errors = []

    def work(items):
        try:
            for ds in items:
                archive.store(ds)
                archive.find("STUDY", PatientID=ds.PatientID)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in series]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert archive.stats()["instances"] == 20
    assert archive.verify().ok


def test_schema_version_and_newer_index(tmp_path):
    archive = Archive(tmp_path)
    assert archive.schema_version == SCHEMA_VERSION
    archive.close()
    with pytest.raises(ArchiveError, match="closed"):
        archive.find("STUDY")
    conn = sqlite3.connect(tmp_path / "index.sqlite")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(ArchiveError, match="newer"):
        Archive(tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ArchiveError, match="duplicates"):
        Archive(tmp_path, duplicates="overwrite")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ArchiveError, match="not a folder"):
        Archive(f)
    archive = Archive(tmp_path / "a")
    with pytest.raises(InvalidQueryError):
        archive.records()  # refuses to retrieve everything
    with pytest.raises(ArchiveError):
        archive.read("1.2.3")


def test_records_and_iter_instances(tmp_path):
    archive = Archive(tmp_path)
    study = make_study("CT", n_series=2, n_slices=2, rows=16, columns=16)
    archive.store_many(study, progress=False)
    uid = study[0].StudyInstanceUID
    recs = archive.records(StudyInstanceUID=uid)
    assert len(recs) == 4 and all(r.path.is_file() and r.size == r.path.stat().st_size for r in recs)
    series_uids = sorted({ds.SeriesInstanceUID for ds in study})
    assert len(archive.records({"SeriesInstanceUID": series_uids})) == 4
    got = [ds.SOPInstanceUID for ds in archive.iter_instances(SeriesInstanceUID=series_uids[0])]
    assert sorted(got) == sorted(ds.SOPInstanceUID for ds in study if ds.SeriesInstanceUID == series_uids[0])


def test_open_series_goes_through_the_cohort_layer(tmp_path):
    archive = Archive(tmp_path)
    series = small_ct(3)
    archive.store_many(series, progress=False)
    try:
        import pacsnb.cohort.volume  # noqa: F401
    except ImportError:
        with pytest.raises(ArchiveError, match="cohort"):
            archive.open_series(series[0].SeriesInstanceUID)
        return
    vol = archive.open_series(series[0].SeriesInstanceUID)
    assert vol.shape[0] == 3


def test_attrs_answer_other_attributes(tmp_path):
    archive = Archive(tmp_path)
    archive.store_many(small_ct(2), progress=False)
    df = archive.find("STUDY", InstitutionName=None)
    assert df.InstitutionName.tolist() == ["Clinique Synthétique"]
    row = archive._conn().execute("SELECT attrs FROM instances LIMIT 1").fetchone()[0]
    assert json.loads(row)["Manufacturer"] == "PACSNB"
