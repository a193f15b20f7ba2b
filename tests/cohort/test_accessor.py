"""df.dicom.patients() / .studies() / .series(): one row per entity, checked against the rows."""
from __future__ import annotations

import pandas as pd
import pytest

import pacsnb.cohort
from pacsnb.samples import make_cohort, write_cohort


@pytest.fixture(scope="module")
def df(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acc")
    write_cohort(folder, make_cohort(n_patients=3, studies_per_patient=2, series_per_study=2, slices=3, rows=16,
                                     columns=16, modalities=("CT", "MR", "CR")), progress=False)
    return pacsnb.cohort.scan(folder, progress=False)


def test_patients(df):
    p = df.dicom.patients()
    assert list(p.index) == sorted(df.PatientID.unique())
    for pid, row in p.iterrows():
        rows = df[df.PatientID == pid]
        assert row.n_instances == len(rows)
        assert row.n_studies == rows.StudyInstanceUID.nunique()
        assert row.n_series == rows.SeriesInstanceUID.nunique()
        assert row.modalities == tuple(sorted(set(rows.Modality)))
        assert isinstance(row.modalities, tuple)
        assert row.first_date == rows.StudyDate.min() and row.last_date == rows.StudyDate.max()
        assert row.size_bytes == rows.file_size.sum()
        assert row.PatientName == rows.PatientName.iloc[0]
    assert p.n_instances.sum() == len(df)


def test_studies(df):
    s = df.dicom.studies()
    assert len(s) == df.StudyInstanceUID.nunique() == 6
    for uid, row in s.iterrows():
        rows = df[df.StudyInstanceUID == uid]
        assert row.PatientID == rows.PatientID.iloc[0] and row.StudyDate == rows.StudyDate.iloc[0]
        assert row.n_series == rows.SeriesInstanceUID.nunique() and row.n_instances == len(rows)
        assert row.size_bytes == rows.file_size.sum()
        assert row.modalities == tuple(sorted(set(rows.Modality)))


def test_series(df):
    s = df.dicom.series()
    assert len(s) == df.SeriesInstanceUID.nunique()
    for uid, row in s.iterrows():
        rows = df[df.SeriesInstanceUID == uid]
        assert row.n_instances == len(rows) and row.Modality == rows.Modality.iloc[0]
        assert row.StudyInstanceUID == rows.StudyInstanceUID.iloc[0] and row.Rows == rows.Rows.iloc[0]
        assert row.size_bytes == rows.file_size.sum()


def test_missing_values_and_key(df):
    small = df[["PatientID", "StudyInstanceUID", "Modality"]].copy()
    small.loc[small.index[0], "PatientID"] = pd.NA  # an instance without Patient ID still counts
    p = small.dicom.patients()
    assert p.n_instances.sum() == len(small) and "size_bytes" not in p.columns
    with pytest.raises(ValueError, match="SeriesInstanceUID"):
        small.dicom.series()
