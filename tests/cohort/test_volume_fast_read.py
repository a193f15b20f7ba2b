"""open_series reads plain native slices straight into the volume (FrameRef.layout).

The fast read must give exactly what the general path gives (read the file, pixel_array,
apply_modality_lut), for the bit layouts it accepts, and step aside for everything else: a
file changed since the planning, encodings and attributes it does not handle. pydicom is
the oracle for the values.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import pacsnb
import pacsnb.cohort.volume as V
from pacsnb.cohort import open_series
from pacsnb.cohort.volume import load_slices, plan_series
from pacsnb.pixels import apply_modality_lut, pixel_array
from pacsnb.samples import make_ct_series

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def _series(n=5, rows=6, columns=7, *, ba=16, bs=16, pr=1, seed=1, slope=1.0, intercept=-1024.0):
    """CT slices with the given bit layout; stored values carry garbage above Bits Stored."""
    rng = np.random.default_rng(seed)
    out = []
    for ds in make_ct_series(n, rows, columns, noise=0, seed=seed, shuffle_instance_numbers=True):
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = ba, bs, bs - 1, pr
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        dt = np.dtype(f"<{'i' if pr else 'u'}{ba // 8}")
        info = np.iinfo(dt)
        ds.PixelData = rng.integers(info.min, info.max, size=(rows, columns), dtype=dt, endpoint=True).tobytes()
        out.append(ds)
    return out


def _write(folder, datasets, ts=None):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ds in enumerate(datasets):
        p = folder / f"{i:03d}.dcm"
        pacsnb.write(ds, p, ts)
        paths.append(str(p))
    return paths


def _general(refs, plane_shape, dtype, rescale):
    """The general path alone: the same refs without their layout."""
    plain = [V.FrameRef(r.source, r.frame, r.params) for r in refs]
    assert all(r.layout is None for r in plain)
    return load_slices(plain, plane_shape, dtype, rescale)


def _pydicom_volume(paths, rescale):
    pydicom = pytest.importorskip("pydicom")
    items = []
    for p in paths:
        d = pydicom.dcmread(p)
        a = d.pixel_array.astype(np.float64)
        if rescale:
            a = a * float(d.RescaleSlope) + float(d.RescaleIntercept)
        items.append((float(d.ImagePositionPatient[2]), a))
    items.sort(key=lambda t: t[0])
    return np.stack([t[1] for t in items])


@pytest.mark.parametrize("ba,bs,pr", [(16, 16, 1), (16, 12, 1), (16, 12, 0), (16, 16, 0), (8, 8, 0), (8, 6, 1),
                                      (32, 32, 1), (32, 20, 0)])
@pytest.mark.parametrize("rescale", [True, False])
def test_fast_read_equals_general_path_and_pydicom(tmp_path, monkeypatch, ba, bs, pr, rescale):
    paths = _write(tmp_path / "s", _series(ba=ba, bs=bs, pr=pr, slope=0.5 if rescale else 1.0))
    [plan] = plan_series(str(tmp_path / "s"), rescale=rescale)
    assert all(r.layout is not None for r in plan.refs), "a plain native series takes the fast read"
    general = _general(plan.refs, plan.plane_shape, plan.dtype, rescale)

    def no_general_path(*a, **k):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(V, "_decode_into", no_general_path)
    fast = open_series(str(tmp_path / "s"), rescale=rescale, progress=False).values
    assert fast.dtype == general.dtype == (np.float32 if rescale else np.dtype(f"{'i' if pr else 'u'}{ba // 8}"))
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(fast.astype(np.float64), _pydicom_volume(paths, rescale).astype(fast.dtype))


def test_implicit_vr_files_take_the_fast_read(tmp_path, monkeypatch):
    paths = _write(tmp_path / "s", _series(bs=12), IMPLICIT_LE)
    [plan] = plan_series(str(tmp_path / "s"))
    assert {r.layout[1] for r in plan.refs} == {8}  # implicit VR: tag and length, no VR
    monkeypatch.setattr(V, "_decode_into", None)  # any use of the general path fails
    vol = open_series(str(tmp_path / "s"), progress=False).values
    np.testing.assert_array_equal(vol, _pydicom_volume(paths, True).astype(np.float32))


def test_big_endian_and_modality_lut_take_the_general_path(tmp_path):
    paths = _write(tmp_path / "be", _series(bs=12), EXPLICIT_BE)
    [plan] = plan_series(str(tmp_path / "be"))
    assert all(r.layout is None for r in plan.refs)
    np.testing.assert_array_equal(open_series(str(tmp_path / "be"), progress=False).values,
                                  _pydicom_volume(paths, True).astype(np.float32))

    series = _series(n=3)
    for ds in series:
        item = pacsnb.Dataset()
        item.LUTDescriptor = [4, 0, 16]
        item.LUTData = [10, 20, 30, 40]
        item.ModalityLUTType = "HU"
        ds.ModalityLUTSequence = [item]
        del ds.RescaleSlope, ds.RescaleIntercept
    _write(tmp_path / "lut", series)
    [plan] = plan_series(str(tmp_path / "lut"))
    assert all(r.layout is None for r in plan.refs)


def test_a_file_changed_after_planning_is_read_by_the_general_path(tmp_path):
    series = _series(n=4, bs=12)
    paths = _write(tmp_path / "s", series)
    lazy = open_series(str(tmp_path / "s"), chunks=True, progress=False)  # planned, nothing read yet
    # rewrite one file: a longer header moves its Pixel Data, and new pixel values
    k = int(np.argsort([float(ds.ImagePositionPatient[2]) for ds in series])[2])
    changed = series[k]
    changed.ImageComments = "x" * 301
    changed.PixelData = (np.arange(6 * 7, dtype="<i2").reshape(6, 7) * 3).tobytes()
    pacsnb.write(changed, paths[k])
    got = lazy.values
    expected = apply_modality_lut(pixel_array(pacsnb.read(paths[k])), pacsnb.read(paths[k]))
    np.testing.assert_array_equal(got[2], expected)
    np.testing.assert_array_equal(got, _pydicom_volume(paths, True).astype(np.float32))


def test_a_truncated_file_gives_the_general_paths_error(tmp_path):
    paths = _write(tmp_path / "s", _series(n=3))
    [plan] = plan_series(str(tmp_path / "s"))
    data = open(paths[1], "rb").read()
    with open(paths[1], "wb") as f:
        f.write(data[:-10])
    with pytest.raises(pacsnb.errors.PacsnbError):
        plan.load()


def test_many_slices_in_threads_equal_the_general_path(tmp_path):
    n = V._THREADS_FROM + 6
    _write(tmp_path / "s", _series(n=n, rows=5, columns=4, bs=12))
    [plan] = plan_series(str(tmp_path / "s"))
    np.testing.assert_array_equal(plan.load(), _general(plan.refs, plan.plane_shape, plan.dtype, True))


def test_scan_of_a_list_holding_a_folder_equals_its_listing(tmp_path):
    paths = _write(tmp_path / "a", _series(n=3))
    more = _write(tmp_path / "b" / "c", _series(n=2, seed=4))
    source = [paths[2], str(tmp_path / "b"), paths[0]]
    df = pacsnb.cohort.scan(source, progress=False)
    expected = sorted([paths[0], paths[2]] + more)
    assert df.path.tolist() == expected
    assert df.attrs["errors"] == []
    ref = pacsnb.cohort.scan(pacsnb.cohort.list_files(source), progress=False)
    assert df.drop(columns="path").equals(ref.drop(columns="path"))


def test_folder_headers_read_many_at_a_time_or_one_by_one_when_unusual(tmp_path):
    """The batched header read takes plain files; anything else is read by pacsnb.read, and
    the volume is the same as pydicom's."""
    series = _series(n=7, bs=12)
    folder = tmp_path / "s"
    paths = _write(folder, series[:3])
    paths += _write(folder / "implicit", series[3:4], IMPLICIT_LE)
    paths += _write(folder / "big", series[4:5], EXPLICIT_BE)
    long_header = series[5]
    long_header.ImageComments = "c" * (V._HEAD_BYTES + 100)  # more than the bytes read at first
    paths += _write(folder / "long", [long_header])
    paths += _write(folder / "z", series[6:7])
    (folder / "notes.txt").write_text("not DICOM")
    no_rows = pacsnb.Dataset()
    no_rows.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # a report: no Rows
    no_rows.SOPInstanceUID = "1.2.3.4"
    no_rows.SeriesInstanceUID = series[0].SeriesInstanceUID
    pacsnb.write(no_rows, folder / "report.dcm")

    files = V._folder_files(folder)
    got = dict(zip(files, V._fast_headers(files)))
    kinds = {os.path.relpath(p, folder): ("fast" if isinstance(g, V._Image) else "skip" if g is V._SKIP else "read")
             for p, g in got.items()}
    assert kinds == {"000.dcm": "fast", "001.dcm": "fast", "002.dcm": "fast", "implicit/000.dcm": "fast",
                     "big/000.dcm": "fast", "long/000.dcm": "read", "z/000.dcm": "fast", "notes.txt": "read",
                     "report.dcm": "skip"}
    assert got[str(folder / "big" / "000.dcm")].layout is None  # big endian: pixels by the general path
    assert got[str(folder / "implicit" / "000.dcm")].layout[1] == 8
    # the values decoded in a batch are those pacsnb.read gives
    for p, g in got.items():
        if isinstance(g, V._Image):
            ds = pacsnb.read(p, stop_before_pixels=True)
            assert g.header == {k: ds.get(k) for k in g.header}
            assert set(g.header) == {k for k in V._FAST_KEYWORDS if k in ds}
    vol = open_series(str(folder), progress=False)
    np.testing.assert_array_equal(vol.values, _pydicom_volume(paths, True).astype(np.float32))
    assert sorted(vol.path.values.tolist()) == sorted(paths)


def test_two_series_message_names_their_descriptions(tmp_path):
    a = _series(n=3)
    b = make_ct_series(2, 6, 7, seed=9, series_number=2, series_description="second series")
    _write(tmp_path / "s", a + b)
    with pytest.raises(pacsnb.errors.GeometryError, match="second series"):
        open_series(str(tmp_path / "s"), progress=False)


def test_a_file_rewritten_with_another_shape_and_rescale_after_a_lazy_plan_is_refused(tmp_path):
    """Same byte count, same header length: only the file's identity (inode, size, mtime)
    tells that it changed; the general path then finds the new shape (found by review)."""
    import warnings

    from pacsnb.errors import GeometryError

    _write(tmp_path, make_ct_series(n_slices=30, rows=8, columns=16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = open_series(tmp_path, chunks={"z": 30}, progress=False)
    ds = pacsnb.read(tmp_path / "000.dcm")
    ds.Rows, ds.Columns = 16, 8
    ds.PixelData = np.arange(128, dtype=np.uint16).reshape(16, 8).tobytes()
    ds.RescaleSlope = "9"
    pacsnb.write(ds, tmp_path / "000.dcm")
    with pytest.raises(GeometryError, match="shape"):
        lazy.values


def test_a_forked_child_reads_volumes_after_its_parent_did(tmp_path):
    """The reading threads are per process: a child made by fork after its parent used them
    (a DataLoader worker) gets its own (found by review: it used to wait forever)."""
    import multiprocessing as mp

    _write(tmp_path, make_ct_series(n_slices=V._THREADS_FROM + 6, rows=16, columns=16))
    expected = open_series(tmp_path, progress=False).values
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_volume, args=(str(tmp_path), queue))
    child.start()
    try:
        got = queue.get(timeout=60)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    assert np.array_equal(got, expected)


def _child_volume(folder, queue):
    queue.put(open_series(folder, progress=False).values)
