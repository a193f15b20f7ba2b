"""Tests of pacsnb.samples: the generated files are valid DICOM with the values we meant.

Oracles: pydicom (reads every file with strict validation and no warnings, sees the same
values and pixels) and dcmtk's ``dcmdump``/``dcm2pnm``/``dcmftest`` (installed in CI from
the Debian package ``dcmtk``).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import pacsnb
from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.io.writer import encode_file
from pacsnb.samples import (iter_ct_series, make_cohort, make_cr_image, make_ct_series, make_mr_series,
                            make_patient, make_study, make_us_image, write_cohort, write_sample_file)
from pacsnb.samples.identity import NAME_PATTERN, make_study_info

ROOT = Path(__file__).resolve().parents[2]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
ALL_TS = (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED)


def _samples() -> dict[str, Dataset]:
    """One instance of every kind the generators make (small, fast)."""
    ct = make_ct_series(n_slices=3, rows=32, columns=32, seed=11)
    return {
        "ct": ct[1],
        "ct_int16": make_ct_series(n_slices=1, rows=32, columns=32, dtype="int16", phantom="body", seed=12)[0],
        "ct_utf8": make_ct_series(n_slices=1, rows=16, columns=16, charset="ISO_IR 192", seed=13)[0],
        "ct_oblique": make_ct_series(n_slices=2, rows=16, columns=16, seed=14,
                                     orientation=(0.8, 0.6, 0, 0, 0, -1))[1],
        "mr_t1": make_mr_series(n_slices=1, rows=32, columns=32, seed=15)[0],
        "mr_t2_sag": make_mr_series(n_slices=1, rows=32, columns=24, weighting="T2",
                                    orientation=(0, 1, 0, 0, 0, -1), seed=16)[0],
        "cr": make_cr_image(rows=48, columns=64, seed=17),
        "cr_mono1_lat": make_cr_image(rows=48, columns=48, monochrome1=True, view="LL", seed=18),
        "us": make_us_image(rows=30, columns=40, seed=19),
        "us_multiframe": make_us_image(rows=30, columns=40, n_frames=3, seed=20),
    }


SAMPLES = _samples()
CASES = [(name, ts) for name in SAMPLES for ts in ALL_TS]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("samples")
    out = {}
    for name, ts in CASES:
        path = folder / f"{name}_{ts}.dcm"
        pacsnb.write(SAMPLES[name], path, ts)
        out[(name, ts)] = path
    return out


# --- pydicom, the file-level oracle ------------------------------------------------------------

pydicom = pytest.importorskip("pydicom")


def _pydicom_read(path: Path):
    from pydicom import config

    old = config.settings.reading_validation_mode
    config.settings.reading_validation_mode = config.RAISE  # invalid values raise instead of warn
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = pydicom.dcmread(path)
            for elem in ds.iterall():  # decode every value (lazy in pydicom too)
                repr(elem.value)
        return ds
    finally:
        config.settings.reading_validation_mode = old


def _as_text_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value]
    s = str(value)
    return [] if s == "" else [s]


def _compare(ours: Dataset, theirs, where: str = "") -> None:
    """Every element of ``ours`` is in ``theirs`` (a pydicom Dataset) with the same value."""
    for elem in ours:
        tag = int(elem.tag)
        label = f"{where}{elem.keyword or elem.tag}"
        assert tag in theirs, f"pydicom does not see {label}"
        other = theirs[tag]
        vr = elem.VR
        if vr == "SQ":
            assert len(other.value) == len(elem.value), label
            for i, (a, b) in enumerate(zip(elem.value, other.value)):
                _compare(a, b, f"{label}[{i}].")
        elif tag == 0x7FE00010:
            continue  # compared as decoded pixels in test_pydicom_pixels
        elif vr in ("DS", "IS"):
            a = [float(v) for v in _as_text_list(elem.value)]
            b = [float(v) for v in _as_text_list(other.value)]
            assert a == b, label
        elif vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"):
            assert np.allclose(np.atleast_1d(elem.value), np.atleast_1d(other.value)), label
        elif vr == "AT":
            assert int(elem.value) == int(other.value), label
        elif vr in ("OB", "OW"):
            assert np.asarray(elem.value).tobytes() == bytes(other.value), label
        else:
            assert _as_text_list(elem.value) == _as_text_list(other.value), f"{label}: {elem.value!r} != {other.value!r}"


@pytest.mark.parametrize("name,ts", CASES)
def test_pydicom_reads_every_file_without_warnings(files, name, ts):
    theirs = _pydicom_read(files[(name, ts)])
    _compare(SAMPLES[name], theirs)
    assert theirs.file_meta.TransferSyntaxUID == ts
    assert theirs.file_meta.MediaStorageSOPInstanceUID == SAMPLES[name].SOPInstanceUID


def _our_pixels(ds: Dataset) -> np.ndarray:
    """The generated pixels as a numpy array shaped like pydicom's pixel_array."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.SamplesPerPixel)
    dtype = {(8, 0): np.uint8, (16, 0): np.uint16, (16, 1): np.int16}[(int(ds.BitsAllocated),
                                                                         int(ds.PixelRepresentation))]
    arr = np.frombuffer(np.asarray(ds.PixelData).tobytes(), dtype=dtype)
    shape = (frames, rows, cols, samples) if frames > 1 else (rows, cols, samples)
    return arr.reshape(shape).squeeze(axis=-1) if samples == 1 else arr.reshape(shape)


@pytest.mark.parametrize("name,ts", CASES)
def test_pydicom_pixels(files, name, ts):
    theirs = _pydicom_read(files[(name, ts)])
    expected = _our_pixels(SAMPLES[name])
    got = theirs.pixel_array
    assert got.shape == expected.shape
    assert np.array_equal(got.astype(expected.dtype), expected)


@pytest.mark.parametrize("name,ts", CASES)
def test_pacsnb_reads_back_the_same_values(files, name, ts):
    ours = SAMPLES[name]
    back = pacsnb.read(files[(name, ts)])
    assert set(back.keys()) == set(ours.keys())
    for elem in ours:
        if int(elem.tag) == 0x7FE00010:
            # Implicit VR gives OW (PS3.5 A.1), so 8-bit pixels come back as uint16 pairs:
            # compare the bytes
            assert np.asarray(back.PixelData).tobytes() == np.asarray(ours.PixelData).tobytes()
        else:
            assert back[elem.tag] == elem, f"{elem.keyword}: {back[elem.tag]!r} != {elem!r}"


# --- dcmtk --------------------------------------------------------------------------------------

def _dcmtk(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"dcmtk's {tool} is not installed (Debian/Ubuntu: apt-get install dcmtk; CI installs it)")
    return path


@pytest.mark.parametrize("name,ts", CASES)
def test_dcmdump_reads_without_errors(files, name, ts):
    dcmdump = _dcmtk("dcmdump")
    # +U8: dcmtk converts the text to UTF-8 from the declared Specific Character Set
    r = subprocess.run([dcmdump, "+U8", str(files[(name, ts)])], capture_output=True, timeout=60)
    out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err
    assert err.strip() == "", err  # no W: or E: lines
    assert str(SAMPLES[name].SOPInstanceUID) in out
    assert "[Clinique Synthétique]" in out
    assert f"[{SAMPLES[name].PatientName}]" in out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_dcmtk_recognises_part10_and_renders_pixels(files, name, tmp_path):
    dcmftest = _dcmtk("dcmftest")
    dcm2pnm = _dcmtk("dcm2pnm")
    path = files[(name, EXPLICIT_LE)]
    r = subprocess.run([dcmftest, str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("yes:"), r.stdout + r.stderr
    png = tmp_path / "out.png"
    r = subprocess.run([dcm2pnm, "--write-png", str(path), str(png)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr
    assert png.stat().st_size > 0


# --- required attributes of each IOD --------------------------------------------------------------

_COMMON_1 = ["SOPClassUID", "SOPInstanceUID", "SpecificCharacterSet", "StudyInstanceUID", "Modality",
             "SeriesInstanceUID", "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
             "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PixelData"]
_COMMON_2 = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
             "ReferringPhysicianName", "StudyID", "AccessionNumber", "SeriesNumber", "Manufacturer",
             "InstanceNumber", "ContentDate", "ContentTime"]
_IOD = {
    # Type 1 (present, not empty), Type 2 (present)
    "CT": (["FrameOfReferenceUID", "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient",
            "ImageType", "RescaleIntercept", "RescaleSlope", "WindowCenter", "WindowWidth"],
           ["PositionReferenceIndicator", "SliceThickness", "KVP", "AcquisitionNumber", "PatientPosition"]),
    "MR": (["FrameOfReferenceUID", "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient",
            "ImageType", "ScanningSequence", "SequenceVariant"],
           ["PositionReferenceIndicator", "SliceThickness", "ScanOptions", "MRAcquisitionType", "RepetitionTime",
            "EchoTime", "EchoTrainLength", "PatientPosition"]),
    "CR": ([], ["BodyPartExamined", "ViewPosition", "PatientOrientation"]),
    "US": (["ImageType"], ["PatientOrientation"]),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_required_attributes(name):
    ds = SAMPLES[name]
    type1, type2 = _IOD[ds.Modality]
    for kw in _COMMON_1 + type1:
        assert kw in ds and not ds[kw].is_empty, f"{name}: Type 1 {kw} missing or empty"
    for kw in _COMMON_2 + type2:
        assert kw in ds, f"{name}: Type 2 {kw} missing"
    assert int(ds.HighBit) == int(ds.BitsStored) - 1
    if int(ds.SamplesPerPixel) > 1:
        assert int(ds.PlanarConfiguration) == 0 and ds.PhotometricInterpretation == "RGB"
    if "NumberOfFrames" in ds:
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.3.1"
        assert int(ds.FrameIncrementPointer) == 0x00181063 and "FrameTime" in ds
    expected_class = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
                      "CR": "1.2.840.10008.5.1.4.1.1.1"}.get(ds.Modality)
    if expected_class:
        assert ds.SOPClassUID == expected_class
    pixels = _our_pixels(ds)
    assert int(pixels.max()) < 2 ** int(ds.BitsStored) or int(ds.PixelRepresentation) == 1


# --- geometry -----------------------------------------------------------------------------------------

def _vec(v) -> np.ndarray:
    return np.array([float(x) for x in v])


@pytest.mark.parametrize("orientation", [(1, 0, 0, 0, 1, 0), (0, 1, 0, 0, 0, -1), (1, 0, 0, 0, 0, -1),
                                         (0.8, 0.6, 0, 0, 0, -1), (1, 0, 0, 0, 0.6, -0.8)])
def test_positions_are_spaced_by_slice_thickness_along_the_normal(orientation):
    series = make_ct_series(n_slices=6, rows=8, columns=8, slice_thickness=1.25, orientation=orientation)
    iop = _vec(series[0].ImageOrientationPatient)
    normal = np.cross(iop[:3], iop[3:])
    assert np.isclose(np.linalg.norm(normal), 1.0)
    positions = np.array([_vec(ds.ImagePositionPatient) for ds in series])
    steps = np.diff(positions, axis=0)
    assert np.allclose(steps, 1.25 * normal, atol=1e-5)
    assert all(float(ds.SliceThickness) == 1.25 for ds in series)
    for ds, pos in zip(series, positions):
        assert np.isclose(float(ds.SliceLocation), pos @ normal, atol=1e-5)
        assert np.allclose(_vec(ds.ImageOrientationPatient), iop)
    # centred on the origin of the patient coordinate system by default
    rows, cols = 8, 8
    dy, dx = (float(v) for v in series[0].PixelSpacing)
    center = positions.mean(axis=0) + iop[:3] * (cols - 1) / 2 * dx + iop[3:] * (rows - 1) / 2 * dy
    assert np.allclose(center, 0.0, atol=1e-5)


def test_mr_spacing_between_slices_and_explicit_origin():
    s = make_mr_series(n_slices=4, rows=8, columns=8, slice_thickness=3.0, spacing_between_slices=3.5,
                       origin=(-10, 20, 30))
    assert [float(v) for v in s[0].ImagePositionPatient] == [-10.0, 20.0, 30.0]
    z = [float(ds.ImagePositionPatient[2]) for ds in s]
    assert np.allclose(np.diff(z), 3.5)
    assert float(s[0].SpacingBetweenSlices) == 3.5 and float(s[0].SliceThickness) == 3.0


def test_shuffled_instance_numbers_sort_back_by_position():
    s = make_ct_series(n_slices=12, rows=8, columns=8, shuffle_instance_numbers=True, seed=3)
    numbers = [int(ds.InstanceNumber) for ds in s]
    assert numbers == list(range(1, 13))  # the list is in Instance Number order
    iop = _vec(s[0].ImageOrientationPatient)
    normal = np.cross(iop[:3], iop[3:])
    along = [_vec(ds.ImagePositionPatient) @ normal for ds in s]
    assert along != sorted(along)  # ... which is not the spatial order
    assert np.allclose(np.diff(sorted(along)), 2.5)
    same = make_ct_series(n_slices=12, rows=8, columns=8, seed=3)
    by_position = sorted(s, key=lambda ds: _vec(ds.ImagePositionPatient) @ normal)
    for a, b in zip(by_position, same):  # same slices, only numbered differently
        assert np.array_equal(a.PixelData, b.PixelData)
        assert a.ImagePositionPatient == b.ImagePositionPatient


def test_the_phantom_is_consistent_in_3d():
    # an axial and a sagittal series over the same voxel centres see the same object
    n, sp = 12, 2.0
    kw = dict(rows=n, columns=n, slice_thickness=sp, pixel_spacing=(sp, sp), phantom="body", noise=0,
              phantom_center=(0, 0, 0), phantom_scale=10.0)
    axial = make_ct_series(n, orientation=(1, 0, 0, 0, 1, 0), **kw)
    sagittal = make_ct_series(n, orientation=(0, 1, 0, 0, 0, -1), **kw)
    ax = np.stack([ds.PixelData.reshape(n, n) for ds in axial])  # (z, y, x)
    sg = np.stack([ds.PixelData.reshape(n, n) for ds in sagittal])  # (-x, -z, y): normal is -x
    assert np.allclose(_vec(axial[0].ImagePositionPatient), [-11, -11, -11])
    sg_as_zyx = sg[::-1].transpose(1, 2, 0)[::-1]  # -> (z, y, x)
    agree = np.mean(ax == sg_as_zyx)
    assert agree > 0.995, agree
    assert len(np.unique(ax)) >= 4  # the body phantom has several tissues here


def test_ct_values_are_hounsfield_units_with_intercept():
    ds = make_ct_series(n_slices=1, rows=33, columns=33, phantom="sphere", noise=0)[0]
    hu = ds.PixelData.reshape(33, 33).astype(int) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert hu[16, 16] == 40 and hu[0, 0] == -1000
    noisy = make_ct_series(n_slices=1, rows=33, columns=33, phantom="sphere", noise=5.0)[0]
    diff = noisy.PixelData.reshape(33, 33).astype(int) - ds.PixelData.reshape(33, 33).astype(int)
    assert 2.0 < diff.std() < 8.0 and abs(diff.mean()) < 2.0


def test_int16_ct_has_signed_pixels_and_padding():
    ds = SAMPLES["ct_int16"]
    assert int(ds.PixelRepresentation) == 1 and int(ds.BitsStored) == 16
    assert ds["PixelPaddingValue"].VR == "SS" and ds.PixelPaddingValue == -2000
    pixels = _our_pixels(ds)
    assert pixels[0, 0] == -2000 and pixels[16, 16] > 0


def test_mr_contrast_follows_the_weighting():
    t1 = make_mr_series(n_slices=1, rows=64, columns=64, weighting="T1", noise=0)[0]
    t2 = make_mr_series(n_slices=1, rows=64, columns=64, weighting="T2", noise=0)[0]
    a, b = (ds.PixelData.reshape(64, 64).astype(float) for ds in (t1, t2))
    # the ventricles (fluid, left of centre in the image) are dark in T1, bright in T2
    assert a[32, 25] < a[32, 32] and b[32, 25] > b[32, 32]
    assert float(t1.RepetitionTime) == 500 and float(t2.EchoTime) == 100


def test_cr_monochrome1_is_the_inverse_of_monochrome2():
    m2 = make_cr_image(rows=32, columns=32, noise=0)
    m1 = make_cr_image(rows=32, columns=32, noise=0, monochrome1=True)
    assert m1.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(m1.PixelData.astype(int), 4095 - m2.PixelData.astype(int))
    img = m2.PixelData.reshape(32, 32).astype(int)
    assert img[16, 16] > img[12, 8]  # spine/mediastinum brighter than the lung
    assert img[16, 0] < img[12, 8]  # direct exposure darkest


def test_us_frames_and_regions():
    ds = SAMPLES["us_multiframe"]
    pixels = _our_pixels(ds)
    assert pixels.shape == (3, 30, 40, 3)
    assert not np.array_equal(pixels[0], pixels[1])
    red = (pixels[..., 0].astype(int) - pixels[..., 2]) > 60
    assert red.any()  # the colour Doppler vessel
    region = ds.SequenceOfUltrasoundRegions[0]
    assert region.PhysicalUnitsXDirection == 3 and np.isclose(region.PhysicalDeltaY, 160 / 30 / 10)


# --- determinism and synthetic identities ---------------------------------------------------------------

def test_same_seed_gives_identical_bytes():
    for make in (lambda s: make_ct_series(n_slices=2, rows=16, columns=16, seed=s)[1],
                 lambda s: make_mr_series(n_slices=1, rows=16, columns=16, seed=s)[0],
                 lambda s: make_cr_image(rows=16, columns=16, seed=s),
                 lambda s: make_us_image(rows=16, columns=16, n_frames=2, seed=s)):
        for ts in ALL_TS:
            assert encode_file(make(5), ts) == encode_file(make(5), ts)
        assert encode_file(make(5)) != encode_file(make(6))


def test_same_seed_identical_files_on_disk_in_a_new_process(tmp_path):
    code = ("import sys; from pacsnb.samples import write_cohort; "
            "write_cohort(sys.argv[1], n_patients=2, series_per_study=1, slices=2, rows=8, columns=8, "
            "modalities=('CT', 'US'), seed=4, progress=False)")
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        subprocess.run([sys.executable, "-c", code, str(folder)], check=True, timeout=120)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.dcm"))
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*.dcm"))
    assert len(files_a) == 3  # 2 CT slices + 1 US image
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_different_seeds_give_different_uids():
    a = make_ct_series(n_slices=2, rows=8, columns=8, seed=1)
    b = make_ct_series(n_slices=2, rows=8, columns=8, seed=2)
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "PatientID", "AccessionNumber"):
        assert a[0].get(kw) != b[0].get(kw), kw
    assert not {ds.SOPInstanceUID for ds in a} & {ds.SOPInstanceUID for ds in b}
    assert all(pacsnb.UID(ds.SOPInstanceUID).is_valid for ds in a + b)


def _all_elements(ds: Dataset):
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _all_elements(item)


def test_no_phi_like_content():
    cohort = make_cohort(n_patients=4, studies_per_patient=2, series_per_study=1, slices=1, rows=8, columns=8,
                         modalities=("CT", "MR", "CR", "US"), seed=9)
    assert len(cohort) == 8
    for ds in cohort:
        for elem in _all_elements(ds):
            if elem.VR == "PN":
                assert NAME_PATTERN.match(str(elem.value)), f"{elem.keyword} {elem.value!r}"
        assert re.fullmatch(r"PNB\d{7}", ds.PatientID)
        assert ds.IssuerOfPatientID == "PACSNB SAMPLES"
        assert "19400101" <= ds.PatientBirthDate < ds.StudyDate <= "20301231"
        assert ds.PatientSex in ("F", "M", "O")
        assert int(ds.PatientAge[:3]) == int(ds.StudyDate[:4]) - int(ds.PatientBirthDate[:4]) - (
            ds.StudyDate[4:] < ds.PatientBirthDate[4:])
        for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            assert str(ds.get(kw)).startswith("2.25.")
        for kw in ("OtherPatientIDs", "PatientAddress", "PatientTelephoneNumbers", "PatientMotherBirthName"):
            assert kw not in ds


def test_patients_are_deterministic_and_distinct():
    assert make_patient(42) == make_patient(42)
    names = {make_patient(i)["PatientName"] for i in range(50)}
    assert len(names) > 40
    assert len({make_patient(i)["PatientID"] for i in range(50)}) == 50
    with pytest.raises(PacsnbError):
        make_patient(-1)


# --- studies, cohorts, writing ---------------------------------------------------------------------------

@pytest.mark.parametrize("modality,n_images", [("CT", 3 * 2), ("MR", 3 * 2), ("CR", 3), ("US", 3)])
def test_make_study(modality, n_images):
    kw = {"n_slices": 2} if modality in ("CT", "MR") else {}
    study = make_study(modality, n_series=3, seed=7, rows=16, columns=16, **kw)
    assert len(study) == n_images
    assert {ds.Modality for ds in study} == {modality}
    assert len({ds.StudyInstanceUID for ds in study}) == 1
    assert len({ds.SeriesInstanceUID for ds in study}) == 3
    assert sorted({int(ds.SeriesNumber) for ds in study}) == [1, 2, 3]
    assert len({ds.SOPInstanceUID for ds in study}) == n_images
    if modality in ("CT", "MR"):
        assert len({ds.FrameOfReferenceUID for ds in study}) == 1
    if modality == "US":
        assert [int(ds.get("NumberOfFrames", 1) or 1) for ds in study] == [1, 6, 1]


def test_first_series_of_a_study_is_make_ct_series():
    a = make_study("CT", n_series=1, seed=3, n_slices=2, rows=8, columns=8)
    b = make_ct_series(n_slices=2, rows=8, columns=8, seed=3, study=make_study_info(3, modality="CT"))
    assert [encode_file(x) for x in a] == [encode_file(x) for x in b]


def test_make_cohort_counts_and_uniqueness():
    c = make_cohort(n_patients=3, studies_per_patient=2, series_per_study=2, slices=2, rows=8, columns=8)
    assert len(c) == 3 * 2 * 2 * 2
    assert len({ds.PatientID for ds in c}) == 3
    assert len({ds.StudyInstanceUID for ds in c}) == 6
    assert len({ds.SeriesInstanceUID for ds in c}) == 12
    assert len({ds.SOPInstanceUID for ds in c}) == 24
    assert {ds.Modality for ds in c} == {"CT", "MR"}
    for pid in {ds.PatientID for ds in c}:  # one patient keeps one name, dates ordered by study
        mine = [ds for ds in c if ds.PatientID == pid]
        assert len({str(ds.PatientName) for ds in mine}) == 1


@pytest.mark.parametrize("layout,depth", [("patient/study/series", 4), ("study/series", 3), ("series", 2),
                                          ("flat", 1)])
def test_write_cohort_layouts(tmp_path, layout, depth):
    data = make_cohort(n_patients=2, studies_per_patient=1, series_per_study=1, slices=2, rows=8, columns=8)
    paths = write_cohort(tmp_path, data, layout=layout, transfer_syntax=IMPLICIT_LE, progress=False)
    assert len(paths) == len(set(paths)) == 4
    for path, ds in zip(paths, data):
        rel = path.relative_to(tmp_path)
        assert len(rel.parts) == depth
        back = pacsnb.read(path)
        assert back.SOPInstanceUID == ds.SOPInstanceUID
        assert back.file_meta.TransferSyntaxUID == IMPLICIT_LE
        if layout == "flat":
            assert rel.name == f"{ds.SOPInstanceUID}.dcm"
        else:
            assert rel.name == f"{int(ds.InstanceNumber):05d}.dcm"
            assert rel.parent.name == ds.SeriesInstanceUID
        if layout == "patient/study/series":
            assert rel.parts[:2] == (ds.PatientID, ds.StudyInstanceUID)


def test_write_cohort_from_kwargs_and_generator(tmp_path):
    paths = write_cohort(tmp_path / "k", n_patients=1, series_per_study=1, slices=3, rows=8, columns=8,
                         progress=False)
    assert len(paths) == 3
    gen = iter_ct_series(n_slices=4, rows=8, columns=8)
    assert iter(gen) is gen  # a generator: one slice in memory at a time
    assert len(write_cohort(tmp_path / "g", gen, layout="flat", progress=False)) == 4
    with pytest.raises(PacsnbError):
        write_cohort(tmp_path, [], layout="nope")
    with pytest.raises(PacsnbError):
        write_cohort(tmp_path, [], n_patients=2)


@pytest.mark.parametrize("modality", ["CT", "MR", "CR", "US"])
@pytest.mark.parametrize("ts", [None, IMPLICIT_LE, EXPLICIT_BE, DEFLATED])
def test_write_sample_file(tmp_path, modality, ts):
    path = write_sample_file(tmp_path / "sub" / "x.dcm", modality, ts)
    assert isinstance(path, str)
    ds = pacsnb.read(path)
    assert ds.Modality == modality
    assert ds.file_meta.TransferSyntaxUID == (ts or EXPLICIT_LE)
    _pydicom_read(Path(path))


def test_bad_arguments_raise_pacsnb_errors():
    with pytest.raises(PacsnbError):
        make_ct_series(n_slices=0)
    with pytest.raises(PacsnbError):
        make_ct_series(orientation=(1, 0, 0, 1, 0, 0))
    with pytest.raises(PacsnbError):
        make_ct_series(dtype="float32")
    with pytest.raises(PacsnbError):
        make_ct_series(phantom="teapot")
    with pytest.raises(PacsnbError):
        make_ct_series(charset="ISO_IR 6")
    with pytest.raises(PacsnbError):
        make_mr_series(weighting="T3")
    with pytest.raises(PacsnbError):
        make_cr_image(view="OBLIQUE")
    with pytest.raises(PacsnbError):
        make_us_image(n_frames=0)
    with pytest.raises(PacsnbError):
        make_study("PET")


# --- the committed examples and the demo -------------------------------------------------------------------

def test_committed_data_is_up_to_date_and_valid():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "make_data.py"), "--check"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, "data/ is stale: run `python tools/make_data.py`\n" + r.stderr
    files = sorted((ROOT / "data").rglob("*.dcm"))
    assert len(files) >= 10
    assert sum(p.stat().st_size for p in files) < 2_000_000
    for path in files:
        ours = pacsnb.read(path)
        theirs = _pydicom_read(path)
        _compare(ours, theirs)
        assert theirs.pixel_array.size > 0


def test_demo(tmp_path, capsys):
    from pacsnb.demo import main

    assert main([str(tmp_path), "--slices", "4", "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "slice.png").stat().st_size > 1000
    assert len(list((tmp_path / "study").rglob("*.dcm"))) == 4
    assert str((tmp_path / "slice.png").resolve()) in out
    assert "(0010,0010) PN" in out and "# Dicom-Data-Set" in out and "(7FE0,0010) OW" in out
