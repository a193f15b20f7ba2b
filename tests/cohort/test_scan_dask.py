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
