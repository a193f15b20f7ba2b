"""The derived counts and lists of the index (Number of ... Related ..., Modalities and SOP
Classes in Study) are kept up to date incrementally when instances are only added: they
must always equal what the instance rows give, whatever the order of arrival."""
from __future__ import annotations

import json
import random
import threading

import pytest

from pacsnb.archive import Archive
from pacsnb.samples import make_ct_series

MR = "1.2.840.10008.5.1.4.1.1.4"


def _truth(archive: Archive) -> dict:
    """The derived attributes computed from the instance rows alone."""
    conn = archive._conn()
    out = {}
    for seid, n in conn.execute("SELECT series_fk, COUNT(*) FROM instances GROUP BY series_fk"):
        out[("series", seid)] = n
    for sid, in conn.execute("SELECT id FROM studies"):
        n_se, n_in = conn.execute("SELECT COUNT(DISTINCT se.id), COUNT(i.id) FROM series se JOIN instances i "
                                  "ON i.series_fk = se.id WHERE se.study_fk = ?", (sid,)).fetchone()
        mods = [m for m, in conn.execute('SELECT DISTINCT "Modality" FROM series WHERE study_fk = ? '
                                         'AND "Modality" IS NOT NULL ORDER BY 1', (sid,))]
        classes = [c for c, in conn.execute('SELECT DISTINCT i."SOPClassUID" FROM instances i JOIN series se '
                                            'ON i.series_fk = se.id WHERE se.study_fk = ? ORDER BY 1', (sid,))]
        out[("study", sid)] = (n_se, n_in, mods, classes)
    for pid, in conn.execute("SELECT id FROM patients"):
        out[("patient", pid)] = conn.execute(
            "SELECT COUNT(DISTINCT st.id), COUNT(DISTINCT se.id), COUNT(i.id) FROM studies st "
            "JOIN series se ON se.study_fk = st.id JOIN instances i ON i.series_fk = se.id "
            "WHERE st.patient_fk = ?", (pid,)).fetchone()
    return out


def _stored(archive: Archive) -> dict:
    """The derived attributes as the index holds them."""
    conn = archive._conn()
    out = {}
    for seid, n in conn.execute('SELECT id, "NumberOfSeriesRelatedInstances" FROM series'):
        out[("series", seid)] = n
    for sid, n_se, n_in, mods, classes in conn.execute(
            'SELECT id, "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "ModalitiesInStudy", '
            '"SOPClassesInStudy" FROM studies'):
        out[("study", sid)] = (n_se, n_in, json.loads(mods) if mods else [], json.loads(classes) if classes else [])
    for pid, *counts in conn.execute('SELECT id, "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", '
                                     '"NumberOfPatientRelatedInstances" FROM patients'):
        out[("patient", pid)] = tuple(counts)
    return out


def _instances(seed: int) -> list:
    """3 patients, 2 studies each, series of CT and MR (one series with no Modality in its
    first instances), in a shuffled order."""
    rng = random.Random(seed)
    out = []
    for p in range(3):
        for st in range(2):
            for se in range(3):
                series = make_ct_series(n_slices=4, rows=4, columns=4)
                for k, ds in enumerate(series):
                    ds.PatientID, ds.PatientName = f"P{p}", f"PAT^{p}"
                    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.99.{p}.{st}"
                    ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.99.{p}.{st}.{se}"
                    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.99.{p}.{st}.{se}.{k}"
                    if se == 1:
                        ds.Modality, ds.SOPClassUID = "MR", MR
                    if se == 2 and k < 2:
                        del ds.Modality  # the series gets its Modality from a later instance
                    out.append(ds)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_equal_the_rows_after_stores_one_by_one_and_in_batches(tmp_path, seed):
    items = _instances(seed)
    with Archive(tmp_path / "a") as archive:
        for ds in items[:30]:
            archive.store(ds)
        assert _stored(archive) == _truth(archive)
        archive.store_many(items[30:50], progress=False, batch=7)
        assert _stored(archive) == _truth(archive)
        rest = items[50:]
        threads = [threading.Thread(target=lambda part=rest[k::3]: [archive.store(d) for d in part])
                   for k in range(3)]  # group commit: several instances per transaction
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        truth = _truth(archive)
        assert _stored(archive) == truth
        assert sum(v for k, v in truth.items() if k[0] == "series") == len(items)


def test_counts_after_duplicates_deletes_and_a_failed_instance_in_a_batch(tmp_path):
    items = _instances(4)
    with Archive(tmp_path / "a", duplicates="keep") as archive:
        archive.store_many(items[:40], progress=False)
        archive.store(items[0])  # kept twice
        bad = items[40].copy()
        del bad.SeriesInstanceUID  # refused inside the batch: the others stay
        archive.store_many([items[41], bad, items[42]], progress=False, errors="skip")
        assert _stored(archive) == _truth(archive)
        archive.delete(series=items[1].SeriesInstanceUID)
        assert _stored(archive) == _truth(archive)
    with Archive(tmp_path / "a", duplicates="reject") as archive:  # a duplicate fails inside the batch
        there = next(d for d in items[:40] if d.SeriesInstanceUID != items[1].SeriesInstanceUID)
        assert len(archive.store_many([items[43], there, items[44]], progress=False, errors="skip")) == 2
        assert _stored(archive) == _truth(archive)
    with Archive(tmp_path / "a", duplicates="replace") as archive:
        archive.store(items[2])
        archive.store_many(items[45:], progress=False)
        assert _stored(archive) == _truth(archive)
