"""pacsnb.cohort.scan: columns and dtypes, broken files, workers, the incremental cache."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pacsnb
import pacsnb.cohort
import pacsnb.cohort.table as T
from pacsnb.samples import make_cohort, make_ct_series, write_cohort, write_sample_file


def _ct_folder(folder: Path, n: int = 4, seed: int = 1, **kw) -> list[Path]:
    return write_cohort(folder, make_ct_series(n_slices=n, rows=16, columns=16, seed=seed, **kw), layout="series",
                        progress=False)


def test_values_and_dtypes(tmp_path):
    paths = _ct_folder(tmp_path, 3)
    ds = pacsnb.read(paths[0])
    df = pacsnb.cohort.scan(tmp_path, progress=False)
    assert len(df) == 3 and df["path"].tolist() == sorted(str(p) for p in paths)
    assert list(df.columns[:1]) == ["path"] and list(df.columns[-3:]) == ["file_size", "transfer_syntax",
                                                                          "sop_class_name"]
    row = df.iloc[0]
    assert row.PatientID == ds.PatientID and row.PatientName == str(ds.PatientName)
    assert row.StudyDate == pd.Timestamp(ds.StudyDate.value)
    t = ds.StudyTime.value
    assert row.StudyTime == pd.Timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)
    assert (row.StudyDate + row.StudyTime).to_pydatetime().time() == t
    assert row.Rows == 16 and row.ImageType == tuple(ds.ImageType)
    assert row.ImagePositionPatient == tuple(float(v) for v in ds.ImagePositionPatient)
    assert row.file_size == os.path.getsize(row.path)
    assert row.sop_class_name == "CT Image Storage" and row.transfer_syntax == "1.2.840.10008.1.2.1"
    dtypes = df.dtypes.astype(str).to_dict()
    assert dtypes["StudyDate"] == "datetime64[us]" and dtypes["StudyTime"] == "timedelta64[us]"
    assert dtypes["InstanceNumber"] == "Int64" and dtypes["SliceThickness"] == "Float64"
    assert dtypes["PatientID"] == "string" and dtypes["ImageType"] == "object"
    assert df["NumberOfFrames"].isna().all()  # absent: <NA>
    assert df.attrs["errors"] == []


def test_missing_empty_and_odd_values(tmp_path):
    ds = pacsnb.read(write_sample_file(tmp_path / "a.dcm"))
    ds.AccessionNumber = ""              # present, empty
    del ds.PatientBirthDate              # absent
    ds.StudyDate = "2024"                # not a complete date
    ds.SeriesTime = "10"                 # hour precision: a valid TM
    ds.SliceThickness = ""               # empty number
    ds.InstanceNumber = "7"
    ds.ImageType = ""                    # empty multi-valued
    ds.PatientName = "Müller^Jürgen"     # needs the character set
    ds.SpecificCharacterSet = "ISO_IR 100"
    pacsnb.write(ds, tmp_path / "a.dcm")
    pacsnb.write(ds, tmp_path / "b.dcm", transfer_syntax="1.2.840.10008.1.2")
    df = pacsnb.cohort.scan(tmp_path, progress=False)
    for _, row in df.iterrows():
        assert row.AccessionNumber == ""
        assert row.PatientBirthDate is pd.NaT and row.StudyDate is pd.NaT
        assert row.SeriesTime == pd.Timedelta(hours=10)
        assert row.SliceThickness is pd.NA and row.InstanceNumber == 7
        assert row.ImageType == ()
        assert row.PatientName == "Müller^Jürgen"
    assert df["transfer_syntax"].tolist() == ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def test_columns_by_keyword_and_tag(tmp_path):
    _ct_folder(tmp_path, 2)
    df = pacsnb.cohort.scan(tmp_path, ["Modality", "0028,0010", 0x00280011, "path", "Modality"], progress=False)
    assert list(df.columns) == ["path", "Modality", "Rows", "Columns", "file_size", "transfer_syntax",
                                "sop_class_name"]
    assert df.Rows.tolist() == [16, 16] and df.Columns.tolist() == [16, 16]
    # a private or unknown tag: an object column of plain values named by tag
    df = pacsnb.cohort.scan(tmp_path, ["0009,0010"], progress=False)
    assert df["0009,0010"].isna().all()


@pytest.mark.parametrize("bad, match", [("NoSuchKeyword", "neither a DICOM keyword"),
                                        ("ReferencedSeriesSequence", "sequence"),
                                        ("PixelData", "Pixel Data")])
def test_bad_columns(tmp_path, bad, match):
    _ct_folder(tmp_path, 1)
    with pytest.raises(ValueError, match=match):
        pacsnb.cohort.scan(tmp_path, [bad], progress=False)


def test_bad_source_and_engine(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pacsnb.cohort.scan(tmp_path / "nope", progress=False)
    with pytest.raises(ValueError, match="engine"):
        pacsnb.cohort.scan(tmp_path, engine="spark", progress=False)
    df = pacsnb.cohort.scan(tmp_path, progress=False)  # an empty folder: an empty table with the columns
    assert len(df) == 0 and "PatientID" in df.columns and str(df.StudyDate.dtype) == "datetime64[us]"


def test_broken_files_are_skipped_and_reported(tmp_path):
    good = _ct_folder(tmp_path / "ok", 3)
    data = good[0].read_bytes()
    cut = data.index(b"PNB") + 2  # inside the Patient ID value
    (tmp_path / "truncated.dcm").write_bytes(data[:cut])
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("a text file\n")
    (tmp_path / "garbage.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 2)
    with pytest.warns(pacsnb.cohort.ScanWarning, match=r"skipped 4 file\(s\).*df.attrs\['errors'\]"):
        df = pacsnb.cohort.scan(tmp_path, progress=False)
    assert sorted(df.path) == sorted(str(p) for p in good)
    errors = dict(df.attrs["errors"])
    assert set(errors) == {str(tmp_path / n) for n in ("truncated.dcm", "empty.dcm", "notes.txt", "garbage.dcm")}
    assert "empty" in errors[str(tmp_path / "empty.dcm")]
    assert "not a DICOM file" in errors[str(tmp_path / "notes.txt")]


def test_header_longer_than_the_prefix_and_large_pixels(tmp_path):
    ds = pacsnb.read(write_sample_file(tmp_path / "big-header.dcm"))
    ds.add_new(0x00282000, "OB", bytes(T.HEADER_PREFIX + 1000))  # ICC Profile, before Pixel Data
    ds.PatientID = "LONGHEAD"
    pacsnb.write(ds, tmp_path / "big-header.dcm")
    write_cohort(tmp_path, make_ct_series(n_slices=1, rows=256, columns=256, seed=5), layout="flat", progress=False)
    df = pacsnb.cohort.scan(tmp_path, ["PatientID", "Rows", "ICCProfile"], progress=False)
    assert df.attrs["errors"] == []
    big = df[df.PatientID == "LONGHEAD"].iloc[0]
    assert big.ICCProfile == bytes(T.HEADER_PREFIX + 1000)
    assert sorted(df.Rows.tolist()) == [64, 256]


def test_recursive_and_hidden_files(tmp_path):
    _ct_folder(tmp_path / "a" / "b", 2)
    write_sample_file(tmp_path / "top.dcm")
    write_sample_file(tmp_path / ".hidden.dcm")
    assert len(pacsnb.cohort.scan(tmp_path, progress=False)) == 3
    assert len(pacsnb.cohort.scan(tmp_path, recursive=False, progress=False)) == 1
    paths = pacsnb.cohort.list_files(tmp_path)
    assert len(pacsnb.cohort.scan(paths[:2], progress=False)) == 2   # a list of paths
    assert len(pacsnb.cohort.scan(paths[0], progress=False)) == 1    # one file


def test_progress_bar_switch(tmp_path, capsys):
    _ct_folder(tmp_path, 2)
    pacsnb.cohort.scan(tmp_path, progress=True)
    assert "2/2" in capsys.readouterr().err
    pacsnb.cohort.scan(tmp_path, progress=False)
    assert capsys.readouterr().err == ""


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert (a.dtypes == b.dtypes).all()
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_two_workers_give_the_same_table(tmp_path):
    write_cohort(tmp_path, make_cohort(n_patients=3, series_per_study=2, slices=25, rows=16, columns=16),
                 progress=False)
    (tmp_path / "bad.dcm").write_bytes(b"nope")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pacsnb.cohort.ScanWarning)
        one = pacsnb.cohort.scan(tmp_path, progress=False)
        two = pacsnb.cohort.scan(tmp_path, workers=2, progress=False)
    assert len(one) == 150
    _assert_same(one, two)
    assert one.attrs["errors"] == two.attrs["errors"] and len(two.attrs["errors"]) == 1



def test_workers_zero_or_negative_means_every_cpu(tmp_path, monkeypatch):
    write_cohort(tmp_path, make_cohort(n_patients=2, series_per_study=2, slices=20, rows=16, columns=16),
                 progress=False)
    monkeypatch.setattr(T.os, "cpu_count", lambda: 2)  # two processes whatever this machine has
    assert T._workers(0) == T._workers(-1) == 2 and T._workers(None) == T._workers(1) == 1
    one = pacsnb.cohort.scan(tmp_path, progress=False)
    for workers in (0, -1):
        _assert_same(one, pacsnb.cohort.scan(tmp_path, workers=workers, progress=False))

def test_incremental_cache_rereads_only_changes(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow", reason="the scan cache is parquet, written with pyarrow")
    read: list[list[str]] = []
    real = T._run_local

    def spy(paths, *args):
        read.append(sorted(paths))
        return real(paths, *args)

    monkeypatch.setattr(T, "_run_local", spy)
    paths = _ct_folder(tmp_path, 6)
    first = pacsnb.cohort.scan(tmp_path, cache=True, progress=False)
    assert (tmp_path / pacsnb.cohort.CACHE_NAME).is_file()
    assert read[-1] == sorted(str(p) for p in paths) and first.attrs["reread"] == 6
    again = pacsnb.cohort.scan(tmp_path, cache=True, progress=False)
    assert read[-1] == [] and again.attrs["reread"] == 0
    _assert_same(first, again)

    changed = paths[1]
    ds = pacsnb.read(changed)
    ds.PatientID = "CHANGED"
    pacsnb.write(ds, changed)
    os.utime(changed, ns=(1, 1_700_000_000_000_000_000))  # a new mtime even on coarse clocks
    deleted = paths[2]
    deleted.unlink()
    added = write_sample_file(tmp_path / "zz-new.dcm", modality="MR")
    (tmp_path / "zz-broken.dcm").write_bytes(b"broken")
    with pytest.warns(pacsnb.cohort.ScanWarning):
        third = pacsnb.cohort.scan(tmp_path, cache=True, progress=False)
    assert read[-1] == sorted([str(changed), added, str(tmp_path / "zz-broken.dcm")])
    assert third.attrs["reread"] == 3
    with pytest.warns(pacsnb.cohort.ScanWarning):  # the broken file is remembered, not re-read
        fourth = pacsnb.cohort.scan(tmp_path, cache=True, progress=False)
    assert read[-1] == [] and fourth.attrs["reread"] == 0
    with pytest.warns(pacsnb.cohort.ScanWarning):
        fresh = pacsnb.cohort.scan(tmp_path, progress=False)
    _assert_same(fresh, third)
    _assert_same(fresh, fourth)
    assert str(deleted) not in set(fresh.path)
    assert fresh.set_index("path").loc[str(changed), "PatientID"] == "CHANGED"
    # other columns: the cache is rebuilt
    with pytest.warns(pacsnb.cohort.ScanWarning):
        other = pacsnb.cohort.scan(tmp_path, ["PatientID"], cache=True, progress=False)
    assert other.attrs["reread"] == len(fresh) + 1


def test_cache_needs_a_folder(tmp_path):
    pytest.importorskip("pyarrow", reason="the scan cache is parquet, written with pyarrow")
    p = write_sample_file(tmp_path / "x.dcm")
    with pytest.raises(ValueError, match="folder"):
        pacsnb.cohort.scan([p], cache=True, progress=False)
    df = pacsnb.cohort.scan([p], cache=tmp_path / "c.parquet", progress=False)
    assert (tmp_path / "c.parquet").is_file() and len(df) == 1


def test_all_columns(tmp_path):
    ds = pacsnb.read(write_sample_file(tmp_path / "a.dcm"))
    block = ds.private_block(0x0009, "PACSNB TEST", create=True)
    block.add_new(0x01, "LO", "private text")
    block.add_new(0x02, "US", [1, 2])
    pacsnb.write(ds, tmp_path / "a.dcm")
    pacsnb.write(ds, tmp_path / "b.dcm", transfer_syntax="1.2.840.10008.1.2")
    df = pacsnb.cohort.scan(tmp_path, "all", progress=False)
    assert "PixelData" not in df.columns
    assert {"PatientID", "TransferSyntaxUID", "0009,0010", "0009,1001", "0009,1002"} <= set(df.columns)
    a, b = df.iloc[0], df.iloc[1]
    assert a["0009,1001"] == "private text" and a["0009,1002"] == (1, 2)
    assert a["0009,0010"] == b["0009,0010"] == "PACSNB TEST"
    assert b["0009,1002"] == bytes([1, 0, 2, 0])  # implicit VR, no private dictionary: UN, the bytes


def test_spawn_pool_is_reused_and_can_be_stopped(tmp_path):
    write_cohort(tmp_path, make_ct_series(n_slices=140, rows=8, columns=8, seed=2), layout="series", progress=False)
    a = pacsnb.cohort.scan(tmp_path, workers=2, progress=False)
    pool = T._POOL
    assert pool is not None and pool.n == 1 and pool.alive()  # workers=2: this process and one helper
    procs = list(pool.procs)
    b = pacsnb.cohort.scan(tmp_path, workers=2, progress=False)
    assert T._POOL is pool and len(a) == len(b) == 140
    T.shutdown_pool()
    assert T._POOL is None and not any(p.is_alive() for p in procs)


def test_helper_that_dies_mid_scan_is_replaced_by_this_process(tmp_path, monkeypatch):
    write_cohort(tmp_path, make_ct_series(n_slices=150, rows=8, columns=8, seed=5), layout="series", progress=False)
    one = pacsnb.cohort.scan(tmp_path, progress=False)
    real = T._pool

    def dying(n):  # the helper dies after the pool was checked, before or while it scans
        pool = real(n)
        pool.procs[0].kill()
        pool.procs[0].join(5)
        return pool

    monkeypatch.setattr(T, "_pool", dying)
    with pytest.warns(pacsnb.cohort.ScanWarning, match="helper processes"):
        two = pacsnb.cohort.scan(tmp_path, workers=2, progress=False)
    _assert_same(one, two)
    assert T._POOL is None  # the broken pool is dropped; the next scan starts a new one


def test_no_pixel_data_is_read(tmp_path, monkeypatch):
    """A header scan reads at most HEADER_PREFIX bytes of a file whose header fits."""
    write_cohort(tmp_path, make_ct_series(n_slices=1, rows=512, columns=512, seed=3), layout="flat", progress=False)
    sizes = []
    real = os.read

    def spy(fd, n):
        sizes.append(n)
        return real(fd, n)

    monkeypatch.setattr(T.os, "read", spy)
    df = pacsnb.cohort.scan(tmp_path, progress=False)
    assert df.Rows.tolist() == [512] and df.file_size.iloc[0] > 500_000
    assert max(sizes) <= T.HEADER_PREFIX


@pytest.mark.parametrize("vr, kind, item, texts", [
    ("UI", "str", "", [b"1.2.840.10008.5.1.4.1.1.2\x00", b" 1.2.3 ", b"", b"1.2\\3.4"]),
    ("IS", "int", "", [b"42", b"+042 ", b"-7", b" ", b"", b"1.0", b"4e2", b"12A", b"99999999999"]),
    ("DS", "float", "", [b"0.5", b" -1.25 ", b"+.5", b"1.", b"", b"1e3", b"nan", b"1.2.3", b"-"]),
    ("DS", "tuple", "float", [b"0.7\\0.7", b"1\\-2.5\\3.", b"", b"1\\\\2", b"1e2\\3", b"0.5"]),
    ("TM", "time", "", [b"101530", b"101530.5", b"101530.123456", b"235960", b"1015", b"10", b"246000",
                        b"101530.", b"101530.1234567", b"10:15:30", b""]),
])
def test_fast_value_paths_agree_with_the_general_one(vr, kind, item, texts):
    """The shortcuts for common value forms give what decoding through pacsnb's value types gives."""
    col = T._Col("X", 0x00091000, vr, kind, item)
    conv = T._converter(col)
    fast = T._FAST[(vr, kind, item)]
    taken = 0
    for raw in texts:
        got = fast(raw)
        if got is T._MISS:
            continue
        taken += 1
        assert got == conv(T._decode(vr, raw, True, None)), raw
    assert taken >= 2


def test_pool_failure_falls_back_to_this_process(tmp_path, monkeypatch):
    write_cohort(tmp_path, make_ct_series(n_slices=130, rows=8, columns=8, seed=4), layout="series", progress=False)

    def broken(n):
        raise T._HelpersFailed("no helpers")

    monkeypatch.setattr(T, "_pool", broken)
    with pytest.warns(pacsnb.cohort.ScanWarning, match="__main__"):
        df = pacsnb.cohort.scan(tmp_path, workers=2, progress=False)
    assert len(df) == 130


def test_all_columns_with_workers(tmp_path):
    write_cohort(tmp_path, make_cohort(n_patients=2, series_per_study=2, slices=40, rows=8, columns=8,
                                       modalities=("CT", "MR")), progress=False)
    one = pacsnb.cohort.scan(tmp_path, "all", progress=False)
    two = pacsnb.cohort.scan(tmp_path, "all", workers=2, progress=False)
    _assert_same(one, two)


@pytest.fixture(autouse=True, scope="module")
def _stop_the_pool():
    yield
    T.shutdown_pool()  # no worker process outlives these tests


@pytest.fixture(autouse=True)
def _small_pool_threshold(monkeypatch):
    monkeypatch.setattr(T, "POOL_MIN_FILES", 100)  # the pool on test-sized folders too


def test_mutated_files_scan_like_the_reader_reads_them(tmp_path):
    """Hostile input: damaged copies of a file, scanned together in one kernel call, give
    exactly what pacsnb.read gives for each (rows or skips), never values from a neighbour."""
    rng = np.random.default_rng(7)
    src = Path(write_sample_file(tmp_path / "src.dcm")).read_bytes()
    folder = tmp_path / "m"
    folder.mkdir()
    header_end = src.index(b"\xe0\x7f\x10\x00")
    for i in range(150):
        b = bytearray(src[:header_end + 64])
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, len(b)))
            b[pos] = int(rng.integers(0, 256))
        if i % 3 == 0:
            b = b[:int(rng.integers(100, len(b)))]
        (folder / f"{i:03d}.dcm").write_bytes(bytes(b))
    columns = ["PatientID", "PatientName", "StudyDate", "Rows", "PixelSpacing", "ImageType", "SOPInstanceUID"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pacsnb.cohort.scan(folder, columns, progress=False).set_index("path")
        skipped = {p for p, _ in df.attrs["errors"]}
        spec = T._Spec(T._resolve(columns)[0], False)
        for p in pacsnb.cohort.list_files(folder):
            try:
                ds = pacsnb.read(p, stop_before_pixels=True)
            except (pacsnb.errors.PacsnbError, ValueError):
                assert p in skipped, p
                continue
            assert p not in skipped, p
            for col in spec.cols:
                v = T._fallback_value(ds, col.tag)
                want = T._converter(col)(None if v is T._ABSENT else v)
                got = df.at[p, col.name]
                if col.kind == "date":
                    got = T._NAT if got is pd.NaT else (pd.Timestamp(got) - pd.Timestamp(0)) // pd.Timedelta(1, "us")
                elif got is pd.NA:
                    got = None
                assert got == want, (p, col.name, got, want)
    assert 0 < len(skipped) < 150


def test_cache_round_trips_all_columns(tmp_path):
    pytest.importorskip("pyarrow", reason="the scan cache is parquet, written with pyarrow")
    write_cohort(tmp_path, make_cohort(n_patients=2, series_per_study=1, slices=3, rows=8, columns=8,
                                       modalities=("CT", "US", "CR")), progress=False)
    first = pacsnb.cohort.scan(tmp_path, "all", cache=True, progress=False)
    again = pacsnb.cohort.scan(tmp_path, "all", cache=True, progress=False)
    assert first.attrs["reread"] == len(first) and again.attrs["reread"] == 0
    _assert_same(first, again)
    assert isinstance(again.ImageType.iloc[0], tuple)


@pytest.mark.parametrize("text, expected", [("20240131120000+0100", pd.Timestamp("2024-01-31 11:00:00")),
                                            ("20240131", pd.Timestamp("2024-01-31")),
                                            ("20240131101530.25", pd.Timestamp("2024-01-31 10:15:30.25")),
                                            ("2024", pd.NaT), ("202401", pd.NaT), ("", pd.NaT)])
def test_datetime_column(tmp_path, text, expected):
    ds = pacsnb.read(write_sample_file(tmp_path / "a.dcm"))
    ds.AcquisitionDateTime = text
    pacsnb.write(ds, tmp_path / "a.dcm")
    df = pacsnb.cohort.scan(tmp_path, ["AcquisitionDateTime"], progress=False)
    assert str(df.AcquisitionDateTime.dtype) == "datetime64[us]"
    got = df.AcquisitionDateTime.iloc[0]
    assert (got is pd.NaT and expected is pd.NaT) or got == expected


@pytest.mark.parametrize("n, workers", [(0, 2), (1, 2), (47, 2), (100, 2), (5000, 2), (5000, 4), (20000, 3)])
def test_guided_chunks_cover_every_file_once_in_order(n, workers):
    paths = [f"/x/{i:06d}" for i in range(n)]
    parts = T._guided_chunks(paths, workers)
    assert [p for part in parts for p in part] == paths
    sizes = [len(p) for p in parts]
    assert all(0 < s <= T.CHUNK for s in sizes)
    assert sizes == sorted(sizes, reverse=True) or sizes[-1] < 48  # shrinking; the last may be a remainder
