"""scan(engine="dask"): a lazy dask.dataframe with the same rows as the local engine,
under a local dask.distributed cluster (threads, and worker processes)."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import pacsnb.cohort
from pacsnb.samples import make_cohort, write_cohort

dd = pytest.importorskip("dask.dataframe", reason="the dask extra (pip install 'pacsnb[dask]') is not installed")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask-cohort")
    write_cohort(folder, make_cohort(n_patients=3, series_per_study=2, slices=4, rows=16, columns=16,
                                     modalities=("CT", "MR", "US")), progress=False)
    (folder / "broken.dcm").write_bytes(b"not dicom")
    return folder


def _local(folder, columns=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pacsnb.cohort.ScanWarning)
        return pacsnb.cohort.scan(folder, columns, progress=False)


def _same(local: pd.DataFrame, computed: pd.DataFrame) -> None:
    computed = computed.sort_values("path").reset_index(drop=True)
    local = local.sort_values("path").reset_index(drop=True)
    assert list(computed.columns) == list(local.columns)
    assert (computed.dtypes == local.dtypes).all(), (computed.dtypes, local.dtypes)
    pd.testing.assert_frame_equal(computed, local)


def test_dask_engine_is_lazy_and_typed(cohort):
    ddf = pacsnb.cohort.scan(cohort, engine="dask", chunk_size=5)
    assert isinstance(ddf, dd.DataFrame)
    local = _local(cohort)
    assert ddf.npartitions == -(-(len(local) + 1) // 5)
    assert list(ddf.columns) == list(local.columns)
    assert (ddf.dtypes == local.dtypes).all()
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None):
        _same(local, ddf.compute())


@pytest.mark.timeout(300)
def test_dask_engine_under_a_process_cluster(cohort):
    local = _local(cohort, ["PatientID", "StudyDate", "StudyTime", "ImageType", "Rows", "SliceThickness"])
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        ddf = pacsnb.cohort.scan(cohort, ["PatientID", "StudyDate", "StudyTime", "ImageType", "Rows",
                                          "SliceThickness"], engine="dask", chunk_size=7)
        _same(local, ddf.compute())
        # dask operations work on it
        counts = ddf.groupby("PatientID").size().compute().sort_index()
        assert counts.to_dict() == local.groupby("PatientID").size().sort_index().to_dict()


def test_dask_engine_all_columns(cohort):
    local = _local(cohort, "all")
    ddf = pacsnb.cohort.scan(cohort, "all", engine="dask", chunk_size=9)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None):
        got = ddf.compute()
    assert set(got.columns) == set(local.columns)
    _same(local, got[list(local.columns)])


def test_dask_engine_refuses_the_cache(cohort):
    with pytest.raises(ValueError, match="local engine"):
        pacsnb.cohort.scan(cohort, engine="dask", cache=True)


@pytest.mark.timeout(300)
def test_dask_engine_returns_the_skipped_files_under_a_process_cluster(cohort):
    import dask

    local = _local(cohort, ["PatientID", "Rows"])
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        rows, errors = pacsnb.cohort.scan(cohort, ["PatientID", "Rows"], engine="dask", chunk_size=6,
                                          return_errors=True)
        assert isinstance(errors, dd.DataFrame) and list(errors.columns) == ["path", "reason"]
        got_rows, got_errors = dask.compute(rows, errors)
    _same(local, got_rows)
    assert got_errors["path"].tolist() == [p for p, _ in local.attrs["errors"]] == [str(cohort / "broken.dcm")]
    assert got_errors["reason"].tolist() == [r for _, r in local.attrs["errors"]]
    assert str(got_errors["reason"].dtype) == "string"


def test_dask_errors_and_rows_share_their_scan_tasks(cohort, monkeypatch):
    import dask

    import pacsnb.cohort.table as T

    rows, errors = pacsnb.cohort.scan(cohort, ["PatientID"], engine="dask", chunk_size=8, return_errors=True)
    calls = []
    real = T._scan_chunk

    def counting(paths, spec):
        calls.append(len(paths))
        return real(paths, spec)

    monkeypatch.setattr(T, "_scan_chunk", counting)
    with dask.config.set(scheduler="synchronous"):
        got_rows, got_errors = dask.compute(rows, errors)
    assert sum(calls) == len(got_rows) + len(got_errors)  # every file scanned once
    assert len(got_errors) == 1


def test_return_errors_is_for_the_dask_engine(cohort):
    with pytest.raises(ValueError, match="engine='dask'"):
        pacsnb.cohort.scan(cohort, return_errors=True, progress=False)
