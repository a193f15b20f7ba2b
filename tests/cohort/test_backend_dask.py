"""Lazy volumes: Dask variants equal the local ones (threads and a local dask.distributed
cluster), and the xarray backend reads only the slices selected."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pacsnb.cohort import open_series
from pacsnb.cohort.backend import PacsnbBackendEntrypoint
from pacsnb.samples import make_ct_series, write_cohort
from pacsnb.samples.enhanced import make_enhanced_series

da_ = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    f = tmp_path_factory.mktemp("series")
    write_cohort(f, make_ct_series(7, 16, 12, shuffle_instance_numbers=True, seed=41), layout="flat", progress=False)
    return f


def _count_decodes(monkeypatch):
    import pacsnb.cohort.volume as V

    calls = []
    real = V.pixel_array
    real_native = V._read_native

    def counting(ds, frame=None):
        calls.append(frame)
        return real(ds, frame=frame)

    def counting_native(ref, *args):
        done = real_native(ref, *args)
        if done:  # read straight into the volume (else pixel_array above is called)
            calls.append(ref.frame)
        return done

    monkeypatch.setattr(V, "pixel_array", counting)
    monkeypatch.setattr(V, "_read_native", counting_native)
    return calls


def test_chunks_forms_give_the_same_volume(folder, monkeypatch):
    local = open_series(folder)
    calls = _count_decodes(monkeypatch)
    for chunks in (True, "auto", 3, {"z": 2, "y": 8}):
        lazy = open_series(folder, chunks=chunks)
        assert isinstance(lazy.data, da_.Array)
        xr.testing.assert_identical(lazy.compute(), local)
    calls.clear()
    one = open_series(folder, chunks=True)
    assert calls == []  # nothing decoded until computed
    one.isel(z=4).compute()
    assert len(calls) == 1  # only that slice


def test_window_and_mip_stay_lazy(folder):
    local = open_series(folder)
    lazy = open_series(folder, chunks=2)
    w = lazy.dicom.window("brain")
    assert isinstance(w.data, da_.Array)
    np.testing.assert_array_equal(w.values, local.dicom.window("brain").values)
    np.testing.assert_array_equal(lazy.dicom.mip("z").values, local.dicom.mip("z").values)


def test_distributed_local_cluster_gives_the_same_results(folder):
    distributed = pytest.importorskip("distributed")
    local = open_series(folder)
    enh_local = open_series(make_enhanced_series("CT", n_frames=5, rows=8, columns=8, shuffle_frames=True))
    path = folder.parent / "enh.dcm"
    import pacsnb

    pacsnb.write(make_enhanced_series("CT", n_frames=5, rows=8, columns=8, shuffle_frames=True), path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster, timeout=60) as client:
        lazy = open_series(folder, chunks=2)
        got = client.compute(lazy.data).result(timeout=120)
        np.testing.assert_array_equal(got, local.values)
        mip = client.compute(lazy.dicom.window(40, 400).max(dim="z").data).result(timeout=120)
        np.testing.assert_array_equal(mip, local.dicom.window(40, 400).max(dim="z").values)
        enh = client.compute(open_series(path, chunks=True).data).result(timeout=120)
        np.testing.assert_array_equal(enh, enh_local.values)


def test_backend_open_dataset_is_lazy_and_equal(folder, monkeypatch):
    local = open_series(folder)
    calls = _count_decodes(monkeypatch)
    ds = xr.open_dataset(folder, engine=PacsnbBackendEntrypoint)
    assert calls == []
    assert ds.image.dims == ("z", "y", "x")
    np.testing.assert_array_equal(ds.image.isel(z=slice(2, 4)).values, local.values[2:4])
    assert len(calls) == 2
    np.testing.assert_array_equal(ds.image.values, local.values)
    np.testing.assert_allclose(ds.z.values, local.z.values)
    np.testing.assert_allclose(ds.image.attrs["affine"], local.attrs["affine"])
    assert ds.attrs["Modality"] == "CT"
    chunked = xr.open_dataset(folder, engine=PacsnbBackendEntrypoint, chunks={"z": 1})
    assert isinstance(chunked.image.data, da_.Array)
    np.testing.assert_array_equal(chunked.image.values, local.values)
    raw = xr.open_dataset(folder, engine=PacsnbBackendEntrypoint, rescale=False)
    assert raw.image.dtype == np.uint16


def test_backend_guess_can_open(folder):
    be = PacsnbBackendEntrypoint()
    f = next(folder.iterdir())
    renamed = folder.parent / "noext"
    renamed.write_bytes(f.read_bytes())
    assert be.guess_can_open(str(renamed)) and be.guess_can_open("a.dcm")
    assert not be.guess_can_open("a.nc") and not be.guess_can_open(123)


def test_backend_entry_point_is_installed(folder):
    from importlib.metadata import entry_points

    eps = {e.name: e for e in entry_points(group="xarray.backends")}
    # pyproject.toml declares it: an editable install that lacks it is out of date (reinstall)
    assert "pacsnb" in eps, "xarray.backends entry point 'pacsnb' missing: pip install -e . again"
    assert eps["pacsnb"].load() is PacsnbBackendEntrypoint
    ds = xr.open_dataset(folder, engine="pacsnb")
    assert ds.image.shape == (7, 16, 12)
