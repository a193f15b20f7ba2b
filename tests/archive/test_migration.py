"""The index schema migrations: an index written by pacsnb's schema version 1 (with data)
opens with the current code, which migrates it in place, and answers as before.

The version 1 DDL is frozen below, as the version 1 code (commit 927ada4,
``pacsnb/archive/index.py``, ``_create_v1``) made it, so that later changes to the table of
attributes or to the current code cannot change what "a version 1 index" is here.
"""
from __future__ import annotations

import sqlite3

from pacsnb.archive import Archive
from pacsnb.archive import layout
from pacsnb.archive.index import SCHEMA_VERSION
from pacsnb.samples import make_cohort

#: ``SELECT sql FROM sqlite_master`` of a new version 1 index, in creation order.
V1_DDL = [
    ('CREATE TABLE patients (id INTEGER PRIMARY KEY, "PatientName" TEXT, "PatientName__fold" TEXT, '
     '"PatientID" TEXT NOT NULL DEFAULT \'\', "IssuerOfPatientID" TEXT NOT NULL DEFAULT \'\', '
     '"IssuerOfPatientIDQualifiersSequence" TEXT, "TypeOfPatientID" TEXT, '
     '"OtherPatientIDsSequence" TEXT, "ReferencedPatientSequence" TEXT, "PatientBirthDate" TEXT, '
     '"PatientBirthTime" TEXT, "PatientBirthTime__n" TEXT, "PatientSex" TEXT, '
     '"OtherPatientNames" TEXT, "EthnicGroup" TEXT, "PatientComments" TEXT, '
     '"PatientBirthDateInAlternativeCalendar" TEXT, "PatientDeathDateInAlternativeCalendar" TEXT, '
     '"PatientAlternativeCalendar" TEXT, "NumberOfPatientRelatedStudies" INTEGER, '
     '"NumberOfPatientRelatedSeries" INTEGER, "NumberOfPatientRelatedInstances" INTEGER, '
     'UNIQUE ("PatientID", "IssuerOfPatientID"))'),
    ('CREATE TABLE studies (id INTEGER PRIMARY KEY, '
     'patient_fk INTEGER NOT NULL REFERENCES patients(id), "StudyDate" TEXT, "StudyTime" TEXT, '
     '"StudyTime__n" TEXT, "AccessionNumber" TEXT, "StudyID" TEXT, '
     '"StudyInstanceUID" TEXT NOT NULL UNIQUE, "IssuerOfAccessionNumberSequence" TEXT, '
     '"ModalitiesInStudy" TEXT, "SOPClassesInStudy" TEXT, "AnatomicRegionsInStudyCodeSequence" TEXT, '
     '"ReferringPhysicianName" TEXT, "ReferringPhysicianName__fold" TEXT, "StudyDescription" TEXT, '
     '"ProcedureCodeSequence" TEXT, "NameOfPhysiciansReadingStudy" TEXT, '
     '"AdmittingDiagnosesDescription" TEXT, "ReferencedStudySequence" TEXT, "PatientAge" TEXT, '
     '"PatientSize" TEXT, "PatientWeight" TEXT, "Occupation" TEXT, "AdditionalPatientHistory" TEXT, '
     '"OtherStudyNumbers" TEXT, "NumberOfStudyRelatedSeries" INTEGER, '
     '"NumberOfStudyRelatedInstances" INTEGER)'),
    ('CREATE TABLE series (id INTEGER PRIMARY KEY, study_fk INTEGER NOT NULL REFERENCES studies(id), '
     '"Modality" TEXT, "SeriesNumber" TEXT, "SeriesInstanceUID" TEXT NOT NULL UNIQUE, '
     '"NumberOfSeriesRelatedInstances" INTEGER, "SeriesDate" TEXT, "SeriesTime" TEXT, '
     '"SeriesTime__n" TEXT, "SeriesDescription" TEXT, "BodyPartExamined" TEXT, "Laterality" TEXT, '
     '"ProtocolName" TEXT, "PerformedProcedureStepStartDate" TEXT, '
     '"PerformedProcedureStepStartTime" TEXT, "PerformedProcedureStepStartTime__n" TEXT, '
     '"RequestAttributesSequence" TEXT)'),
    ('CREATE TABLE instances (id INTEGER PRIMARY KEY, '
     'series_fk INTEGER NOT NULL REFERENCES series(id), "InstanceNumber" TEXT, '
     '"SOPInstanceUID" TEXT NOT NULL, "SOPClassUID" TEXT, "AlternateRepresentationSequence" TEXT, '
     '"AvailableTransferSyntaxUID" TEXT, "ContentDate" TEXT, "ContentTime" TEXT, '
     '"ContentTime__n" TEXT, "ImageType" TEXT, "AcquisitionNumber" TEXT, "Rows" INTEGER, '
     '"Columns" INTEGER, "BitsAllocated" INTEGER, "NumberOfFrames" TEXT, path TEXT NOT NULL UNIQUE, '
     'transfer_syntax TEXT, size INTEGER, '
     "stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), source_ae TEXT, "
     'pending TEXT, attrs TEXT)'),
    'CREATE INDEX patients_name ON patients ("PatientName__fold")',
    'CREATE INDEX patients_name_cs ON patients ("PatientName")',
    'CREATE INDEX patients_birth ON patients ("PatientBirthDate")',
    'CREATE INDEX studies_patient ON studies (patient_fk)',
    'CREATE INDEX studies_date ON studies ("StudyDate", "StudyTime__n")',
    'CREATE INDEX studies_accession ON studies ("AccessionNumber")',
    'CREATE INDEX studies_id ON studies ("StudyID")',
    'CREATE INDEX series_study ON series (study_fk)',
    'CREATE INDEX series_modality ON series ("Modality")',
    'CREATE INDEX instances_series ON instances (series_fk)',
    'CREATE INDEX instances_sop ON instances ("SOPInstanceUID")',
    'CREATE INDEX instances_pending ON instances (pending) WHERE pending IS NOT NULL',
    'CREATE TABLE archive_meta (key TEXT PRIMARY KEY, value TEXT)',
]
_TABLES = ("patients", "studies", "series", "instances")


def _as_v1(root):
    """Rewrite the index of the closed archive ``root`` as a version 1 index with the same rows:
    the frozen v1 DDL, the rows copied column by column, ``user_version = 1``."""
    path = root / layout.INDEX
    new = sqlite3.connect(":memory:")
    for sql in V1_DDL:
        new.execute(sql)
    old = sqlite3.connect(path)
    for table in _TABLES:
        v1_cols = [r[1] for r in new.execute(f"PRAGMA table_info({table})")]
        have = {r[1] for r in old.execute(f"PRAGMA table_info({table})")}
        cols = [c for c in v1_cols if c in have]
        assert cols == v1_cols, f"{table}: v1 columns missing from the current schema"
        names = ", ".join(f'"{c}"' for c in cols)
        rows = old.execute(f"SELECT {names} FROM {table} ORDER BY id").fetchall()
        assert rows
        new.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})", rows)
    new.execute("PRAGMA user_version=1")
    new.commit()
    old.close()
    for suffix in ("", "-wal", "-shm"):
        (root / (layout.INDEX + suffix)).unlink(missing_ok=True)
    dest = sqlite3.connect(path)
    new.backup(dest)
    dest.close()
    new.close()


def _snapshot(arc):
    # the version and the index file's size differ, the rest must not
    stats = {k: v for k, v in arc.stats().items() if k not in ("schema_version", "index_bytes")}
    finds = {
        "patients": arc.find("PATIENT", PatientID="*", PatientName=None,
                             NumberOfPatientRelatedInstances=None).sort_values("PatientID").values.tolist(),
        "studies": arc.find("STUDY", PatientName="*", ModalitiesInStudy=None, StudyDate=None,
                            NumberOfStudyRelatedInstances=None).sort_values("StudyInstanceUID").values.tolist(),
        "series_ct": sorted(arc.find("SERIES", Modality="CT").SeriesInstanceUID),
        "instances": sorted(arc.instances().SOPInstanceUID),
    }
    return stats, finds


def test_a_version_1_index_with_data_is_migrated_on_open(tmp_path):
    root = tmp_path / "arc"
    cohort = make_cohort(n_patients=3, studies_per_patient=1, series_per_study=2, slices=2,
                         rows=8, columns=8, seed=5)
    arc = Archive(root)
    arc.store_many(cohort, progress=False)
    stats_before, finds_before = _snapshot(arc)
    arc.close()
    _as_v1(root)
    with sqlite3.connect(root / layout.INDEX) as conn:  # it is a version 1 index now
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'landing'").fetchall()
        assert conn.execute("SELECT count(*) FROM instances").fetchone()[0] == len(cohort)

    arc = Archive(root)  # the current code migrates it
    try:
        assert arc.schema_version == SCHEMA_VERSION == arc.stats()["schema_version"]
        with sqlite3.connect(root / layout.INDEX) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'landing'").fetchall()
        stats_after, finds_after = _snapshot(arc)
        assert stats_after == stats_before and stats_after["instances"] == len(cohort)
        assert finds_after == finds_before
        assert finds_after["instances"] == sorted(str(d.SOPInstanceUID) for d in cohort)
        assert arc.verify().ok
        # and it keeps working: one more instance stored, found, verified
        extra = make_cohort(n_patients=1, studies_per_patient=1, series_per_study=1, slices=1,
                            rows=8, columns=8, seed=99)
        arc.store_many(extra, progress=False)
        assert len(arc.find("IMAGE", SOPInstanceUID=str(extra[0].SOPInstanceUID),
                            StudyInstanceUID=str(extra[0].StudyInstanceUID),
                            SeriesInstanceUID=str(extra[0].SeriesInstanceUID))) == 1
        assert arc.stats()["instances"] == len(cohort) + 1 and arc.verify().ok
    finally:
        arc.close()
