"""anonymize(), verify(), the key table, re-identification, pixel cleaning and the CLI."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

import pacsnb
from pacsnb.cli import main
from pacsnb.deid import Anonymizer, KeyMap, anonymize, load_key_table, reidentify, save_key_table, verify
from pacsnb.dicom import DataElement, Dataset, Sequence
from pacsnb.errors import DeidError
from pacsnb.pixels import pixel_array, transcode
from pacsnb.samples import make_ct_series, make_us_image, write_cohort

KEY = "api test key"


def _study_files(folder: Path) -> list[Path]:
    series = make_ct_series(n_slices=2, rows=8, columns=8, seed=11)
    first, second = series
    ref = Dataset()
    ref.ReferencedSOPClassUID = first.SOPClassUID
    ref.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = [ref]
    second.StudyComments = f"patient {first.PatientName} seen"  # free text naming the patient
    return write_cohort(folder, series, layout="flat", progress=False)


def _date(s: str) -> dt.date:
    return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))


def test_two_files_of_one_study_in_separate_runs_stay_consistent(tmp_path):
    a, b = _study_files(tmp_path / "in")
    orig_a, orig_b = pacsnb.read(a), pacsnb.read(b)
    (pa,), _ = anonymize(a, "retain_longitudinal", key=KEY, out=tmp_path / "run1", progress=False)
    (pb,), _ = anonymize(b, "retain_longitudinal", key=KEY, out=tmp_path / "run2", progress=False)
    na, nb = pacsnb.read(pa), pacsnb.read(pb)
    assert na.StudyInstanceUID == nb.StudyInstanceUID != orig_a.StudyInstanceUID
    assert na.SeriesInstanceUID == nb.SeriesInstanceUID != orig_a.SeriesInstanceUID
    assert na.FrameOfReferenceUID == nb.FrameOfReferenceUID != orig_a.FrameOfReferenceUID
    # the reference inside the sequence still resolves, to the other file's new UID
    assert nb.ReferencedImageSequence[0].ReferencedSOPInstanceUID == na.SOPInstanceUID
    assert na.file_meta.MediaStorageSOPInstanceUID == na.SOPInstanceUID
    # one date shift per patient, in both runs
    shift_a = (_date(na.StudyDate) - _date(orig_a.StudyDate)).days
    shift_b = (_date(nb.ContentDate) - _date(orig_b.ContentDate)).days
    assert shift_a == shift_b != 0
    assert na.PatientID == nb.PatientID != orig_a.PatientID
    for p in (pa, pb):
        theirs = pydicom.dcmread(p)
        assert theirs.PatientIdentityRemoved == "YES"
        assert theirs.LongitudinalTemporalInformationModified == "MODIFIED"
        assert theirs.DeidentificationMethodCodeSequence[1].CodeValue == "113107"
    # a different key gives other UIDs
    (pc,), _ = anonymize(a, "retain_longitudinal", key="another key", out=tmp_path / "run3", progress=False)
    assert pacsnb.read(pc).StudyInstanceUID != na.StudyInstanceUID


def test_free_text_is_cleaned_and_verify_finds_nothing(tmp_path):
    paths = _study_files(tmp_path / "in")
    new, key = anonymize(tmp_path / "in", "clean_descriptions", key=KEY, out=tmp_path / "out", progress=False)
    assert len(new) == 2
    second = [pacsnb.read(p) for p in new if "StudyComments" in pacsnb.read(p)]
    assert second and "*" in str(second[0].StudyComments)
    findings = verify(tmp_path / "out", "clean_descriptions", originals=paths, key_table=key)
    assert findings.empty, findings.to_string()


def test_verify_finds_leaks_and_left_attributes(tmp_path):
    paths = _study_files(tmp_path / "in")
    new, key = anonymize(paths, key=KEY, out=tmp_path / "out", progress=False)
    ds = pacsnb.read(new[0])
    orig = pacsnb.read(paths[0])
    ds.OtherPatientIDs = "X"                   # X attribute present
    ds.add(DataElement(0x00190010, "LO", "VENDOR"))
    ds.add(DataElement(0x00191001, "LO", "hidden"))
    ds.ImageComments = f"{orig.PatientID}"     # original identifier in the bytes
    found = verify([ds], originals=paths)
    problems = " | ".join(found.problem)
    assert "present: the profile removes it (X)" in problems
    assert "private element present" in problems
    assert f"original identifier {str(orig.PatientID)!r}" in problems
    # an unchanged UID the profile replaces is caught without the originals too
    ds2 = pacsnb.read(new[0])
    ds2.StudyInstanceUID = "1.2.826.0.1.3680043.99.5"  # (sample UIDs are under 2.25 already)
    with pytest.warns(UserWarning, match="search for original identifiers .* is skipped"):
        assert "was not replaced" in " | ".join(verify([ds2]).problem)


def test_dataframe_and_patient_table(tmp_path):
    paths = write_cohort(tmp_path / "in", n_patients=2, series_per_study=1, slices=1, rows=8, columns=8,
                         progress=False)
    df = pd.DataFrame({"path": [str(p) for p in paths]})
    pids = sorted({str(pacsnb.read(p).PatientID) for p in paths})
    table = pd.DataFrame({"PatientID": pids, "NewPatientID": ["SUBJ-A", "SUBJ-B"],
                          "NewPatientName": ["SUBJECT^A", "SUBJECT^B"], "DateOffset": [-10, -20]})
    csv = tmp_path / "patients.csv"
    table.to_csv(csv, index=False)
    out, key = anonymize(df, "retain_longitudinal", key=KEY, patients=csv, progress=False)
    got = {(str(d.PatientID), str(d.PatientName)) for d in out}
    assert got == {("SUBJ-A", "SUBJECT^A"), ("SUBJ-B", "SUBJECT^B")}
    offsets = dict(zip(key[key.kind == "DateOffset"].original, key[key.kind == "DateOffset"].pseudonym))
    assert offsets == {pids[0]: "-10", pids[1]: "-20"}


def test_key_table_encrypted_round_trip_and_reidentify(tmp_path):
    paths = _study_files(tmp_path / "in")
    out, key = anonymize(paths, "retain_longitudinal", key=KEY, progress=False)
    target = tmp_path / "secret" / "key.bin"
    target.parent.mkdir()
    save_key_table(key, target, password="pw")
    raw = target.read_bytes()
    orig = pacsnb.read(paths[0])
    assert str(orig.PatientID).encode() not in raw and str(orig.StudyInstanceUID).encode() not in raw
    with pytest.raises(DeidError, match="wrong password"):
        load_key_table(target, password="nope")
    with pytest.raises(DeidError, match="encrypted"):
        load_key_table(target)
    back_table = load_key_table(target, password="pw")
    assert back_table.equals(key)
    back = reidentify(out[0], back_table)
    assert back.PatientID == orig.PatientID and back.SOPInstanceUID == orig.SOPInstanceUID
    assert back.StudyDate == orig.StudyDate and str(back.PatientName) == str(orig.PatientName)
    # a KeyMap fed the key table reproduces the pseudonyms without the key
    m = KeyMap("unrelated")
    m.add_key_table(back_table)
    assert m.uid(str(orig.StudyInstanceUID)) == out[0].StudyInstanceUID


def test_key_table_is_never_written_into_the_output_by_default(tmp_path):
    paths = _study_files(tmp_path / "in")
    new, key = anonymize(paths, key=KEY, out=tmp_path / "out", progress=False)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert sorted(files) == sorted(new) and all(p.suffix == ".dcm" for p in files)
    with pytest.raises(DeidError, match="inside the output folder"):
        anonymize(paths, key=KEY, out=tmp_path / "out", key_table=tmp_path / "out" / "key.csv", progress=False)
    anonymize(paths, key=KEY, out=tmp_path / "out2", key_table=tmp_path / "key.csv", progress=False)
    assert (tmp_path / "key.csv").exists() and not list((tmp_path / "out2").rglob("*.csv"))


def test_a_data_set_that_cannot_be_written_is_reported_not_written(tmp_path):
    good = make_ct_series(n_slices=1, rows=8, columns=8, seed=3)[0]
    bad = make_ct_series(n_slices=1, rows=8, columns=8, seed=4)[0]
    # encapsulated pixel data that is not a run of items cannot be written
    bad.add(DataElement(0x7FE00010, "OB", b"\xfe\xff\x00\xe0\x10\x00\x00\x00abc", undefined_length=True))
    bad.file_meta = Dataset({"TransferSyntaxUID": "1.2.840.10008.1.2.5"})
    with pytest.raises(DeidError, match="nothing was written|stray"):
        anonymize([good, bad], key=KEY, out=tmp_path / "out", progress=False)
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1  # only the good one, complete
    assert not list((tmp_path / "out").rglob("*.tmp"))
    an = Anonymizer(key=KEY)
    new, _ = anonymize([good, bad], anonymizer=an, out=tmp_path / "out2", errors="skip", progress=False)
    assert len(new) == 1 and [r["flag"] for r in an.report] == ["failed"]
    pydicom.dcmread(new[0])


def test_not_dicom_in_a_folder_is_skipped_but_named_file_fails(tmp_path):
    _study_files(tmp_path / "in")
    (tmp_path / "in" / "README.txt").write_text("not dicom")
    new, _ = anonymize(tmp_path / "in", key=KEY, out=tmp_path / "out", progress=False)
    assert len(new) == 2
    with pytest.raises(pacsnb.InvalidDicomError):
        anonymize(tmp_path / "in" / "README.txt", key=KEY, out=tmp_path / "o2", progress=False)


def test_safe_private_and_keep_replace():
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    block = ds.private_block(0x0029, "SAFE VENDOR", create=True)
    block.add_new(0x10, "DS", "1.5")
    block.add_new(0x11, "LO", "operator note")
    other = ds.private_block(0x0031, "OTHER", create=True)
    other.add_new(0x10, "LO", "x")
    an = Anonymizer("basic", ["retain_safe_private"], KEY, safe_private={"SAFE VENDOR": [0x10]},
                    keep=["PatientSex"], replace={"StudyDescription": "RESEARCH"})
    out = an(ds)
    assert float(out.private_block(0x0029, "SAFE VENDOR")[0x10].value) == 1.5
    assert 0x00291011 not in out and 0x00310010 not in out and 0x00311010 not in out
    assert out.PatientSex == ds.PatientSex and out.StudyDescription == "RESEARCH"
    plain = Anonymizer(key=KEY)(ds)
    assert not [t for t in plain.keys() if t >> 16 & 1]


def test_recursion_into_every_sequence_and_odd_inputs():
    ds = Dataset()
    ds.PatientID = "P1"
    inner = Dataset({"PatientName": "DOE^JANE", "StudyInstanceUID": "1.2.3.4.5"})
    mid = Dataset()
    mid.ProcedureCodeSequence = [inner]
    ds.ProcedureCodeSequence = [mid]
    out = Anonymizer(key=KEY)(ds)
    deep = out.ProcedureCodeSequence[0].ProcedureCodeSequence[0]
    assert deep.PatientName == "" and deep.StudyInstanceUID == KeyMap(KEY).uid("1.2.3.4.5")
    with pytest.raises(DeidError):
        Anonymizer("no_such_profile")
    with pytest.raises(DeidError, match="exclude each other"):
        Anonymizer("basic", ["retain_longitudinal_full_dates", "retain_longitudinal_modified_dates"])


# --- pixel cleaning ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ts", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.70"])
def test_clean_pixel_data_on_native_and_compressed_frames(ts, tmp_path):
    src = make_us_image(rows=24, columns=32, n_frames=2)
    src.BurnedInAnnotation = "YES"
    src.Manufacturer = "ACME"
    src.ManufacturerModelName = "SONO 1"
    ds = transcode(src, ts) if ts != "1.2.840.10008.1.2.1" else src
    before = pixel_array(ds).copy()
    rules = [{"manufacturer": "acme", "model": "sono.*", "boxes": [(0, 0, 32, 5)]}]
    path, _ = anonymize(ds, "clean_pixel", key=KEY, regions=rules, boxes=[(30, 20, 32, 24)],
                           out=tmp_path, progress=False)
    out = pacsnb.read(path)
    assert str(out.file_meta.TransferSyntaxUID) == ts  # re-encoded in its own syntax
    after = pixel_array(out)
    assert after.shape == before.shape
    assert not after[:, :5].any() and not after[:, 20:24, 30:32].any()
    assert np.array_equal(after[:, 5:20], before[:, 5:20])
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert np.array_equal(pydicom.dcmread(path).pixel_array, after) if ts != "1.2.840.10008.1.2.4.70" else True


def test_burned_in_annotation_without_a_region_is_refused(tmp_path):
    ds = make_us_image(rows=16, columns=16)
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(DeidError, match="burned-in annotation"):
        anonymize(ds, "clean_pixel", key=KEY, out=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.dcm"))
    an = Anonymizer(key=KEY)  # basic profile: flagged in the report
    an(ds)
    assert an.report[0]["flag"] == "burned-in annotation"


def test_recognizable_visual_features_are_flagged():
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    ds.BodyPartExamined = "HEAD"
    an = Anonymizer("hipaa_safe_harbor", key=KEY)
    out = an(ds)
    assert an.report and an.report[0]["flag"] == "recognizable visual features"
    assert "113102" not in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]


# --- command line --------------------------------------------------------------------------------------------

def test_cli_anonymize(tmp_path, capsys):
    paths = _study_files(tmp_path / "in")
    status = main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--key", KEY,
                   "--profile", "retain_longitudinal", "-k", "PatientSex", "-r", "StudyDescription=RESEARCH",
                   "--patient-id", "SUBJ9", "--key-table", str(tmp_path / "key.csv"), "--verify"])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "anonymized 2 file(s)" in text and "verify: nothing left" in text
    outs = sorted((tmp_path / "out").rglob("*.dcm"))
    assert len(outs) == 2
    d = pacsnb.read(outs[0])
    assert d.PatientID == "SUBJ9" and d.StudyDescription == "RESEARCH"
    assert d.PatientSex == pacsnb.read(paths[0]).PatientSex
    assert load_key_table(tmp_path / "key.csv").kind.str.contains("UID").any()
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "dry"), "--key", KEY, "--dry-run"]) == 0
    assert not (tmp_path / "dry").exists()
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "o3"), "-r", "nokeyvalue"]) == 2
