"""verify() against the profile each file records, the CLI's flags, and one log summary per anonymize()."""
from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import pandas as pd
import pytest

import pacsnb
from pacsnb.cli import main
from pacsnb.deid import PRESETS, Anonymizer, KeyMap, anonymize, verify
from pacsnb.deid.verify import recorded_profile
from pacsnb.samples import make_ct_series, write_cohort

KEY = "verify and cli test key"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> list[Path]:
    """Two patients (a CT and an MR study of the head), two images each."""
    folder = tmp_path_factory.mktemp("cohort")
    return write_cohort(folder, n_patients=2, series_per_study=1, slices=2, rows=8, columns=8, progress=False)


def _days(a: str, b: str) -> int:
    return (dt.date(int(b[:4]), int(b[4:6]), int(b[6:8])) - dt.date(int(a[:4]), int(a[4:6]), int(a[6:8]))).days


# --- verify() reads the profile from the files ---------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_verify_without_profile_checks_each_file_against_what_it_records(preset, cohort, tmp_path):
    new, key = anonymize(cohort, preset, key=KEY, out=tmp_path / "out", progress=False)
    with pytest.warns(UserWarning, match="is skipped") as caught:
        findings = verify(new)
    assert len([w for w in caught if "verify()" in str(w.message)]) == 1  # once per call, not per file
    assert findings.empty, findings.to_string()
    assert findings.attrs["byte_search"].startswith("skipped")
    assert {p for p, _ in findings.attrs["profiles"].values()} == {preset}
    # with the key table the bytes are searched too, and nothing is found either
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = verify(tmp_path / "out", key_table=key, originals=cohort)
    assert full.empty, full.to_string()
    assert full.attrs["byte_search"].startswith("done")
    # a leaked attribute is still found: one every preset removes, and the original name in kept text
    ds = pacsnb.read(new[0])
    orig = pacsnb.read(cohort[0])
    ds.InstitutionAddress = "1 Hospital Road"
    ds.ImageComments = str(orig.PatientName)
    leaked = verify([ds], key_table=key, originals=cohort)
    problems = leaked.set_index("keyword").problem.to_dict()
    assert problems.get("InstitutionAddress") == "present: the profile removes it (X)", leaked.to_string()
    assert any(f"original identifier {str(orig.PatientName)!r}" in p for p in leaked.problem), leaked.to_string()


def test_the_recorded_profile_is_what_avoids_false_findings(cohort, tmp_path):
    new, key = anonymize(cohort, "gdpr_pseudonymization", key=KEY, out=tmp_path / "out", progress=False)
    ds = pacsnb.read(new[0])
    assert recorded_profile(ds) == ("gdpr_pseudonymization", ())
    assert verify([ds], key_table=key).empty
    # checked against the Basic Profile (asked explicitly), the kept dates and characteristics are findings
    basic = verify([ds], "basic", key_table=key)
    assert {"StudyDate", "PatientSex"} <= set(basic.keyword), basic.to_string()
    # without the preset's name, the codes and Longitudinal Temporal Information Modified still say it all
    ds.DeidentificationMethod = "some other tool"
    profile, options = recorded_profile(ds)
    assert profile == "basic" and set(options) == set(PRESETS["gdpr_pseudonymization"])
    assert verify([ds], key_table=key).empty
    # a file that records nothing is checked against the Basic Profile
    del ds.DeidentificationMethodCodeSequence
    del ds.LongitudinalTemporalInformationModified
    assert recorded_profile(ds) == ("basic", ())
    assert "StudyDate" in set(verify([ds], key_table=key).keyword)
    # a retained-UID output is matched to its original without the anonymizer: unchanged values are found
    kept, _ = anonymize(cohort[:1], "basic", ["retain_uids"], key=KEY, progress=False)
    kept[0].PatientID = str(pacsnb.read(cohort[0]).PatientID)  # D: replaced by the profile
    unchanged = verify(kept, originals=cohort[:1])
    assert "value unchanged: the profile replaces it (D)" in set(unchanged.problem), unchanged.to_string()


# --- Clean Recognizable Visual Features: one summary per call ------------------------------------------------

def test_visual_features_log_one_summary_and_keep_the_detail_in_the_report(caplog):
    head = make_ct_series(n_slices=5, rows=8, columns=8, seed=5)
    for ds in head:
        ds.BodyPartExamined = "HEAD"
    chest = make_ct_series(n_slices=3, rows=8, columns=8, seed=6)
    for ds in chest:
        ds.BodyPartExamined = "CHEST"
    an = Anonymizer("hipaa_safe_harbor", key=KEY)
    with caplog.at_level(logging.DEBUG, logger="pacsnb.deid"):
        out, key = anonymize(head + chest, anonymizer=an, progress=False)
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert warned[0].getMessage().startswith("5 of 8 images may show recognizable features")
    assert "see the report" in warned[0].getMessage()
    # the per-image detail: in the report (and the key table's attrs), one entry per flagged image
    assert [r["SOPInstanceUID"] for r in an.report] == [str(ds.SOPInstanceUID) for ds in head]
    assert key.attrs["report"] == an.report
    assert all("CT of the HEAD" in r["reason"] for r in an.report)
    assert [r["new_SOPInstanceUID"] for r in an.report] == [str(d.SOPInstanceUID) for d in out[:5]]
    # a direct call (an archive transform) has no batch to summarize: it warns for its image
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pacsnb.deid"):
        an(head[0])
    assert len(caplog.records) == 1 and "CT of the HEAD" in caplog.records[0].getMessage()


# --- command line --------------------------------------------------------------------------------------------

def _cli_inputs(folder: Path) -> tuple[Path, Path]:
    """``folder/top.dcm`` (patient A) and ``folder/sub/deeper/nested.dcm`` (patient B)."""
    a = make_ct_series(n_slices=1, rows=8, columns=8, seed=21)[0]
    b = make_ct_series(n_slices=1, rows=8, columns=8, seed=22)[0]
    assert a.PatientID != b.PatientID
    top = folder / "top.dcm"
    nested = folder / "sub" / "deeper" / "nested.dcm"
    for ds, p in ((a, top), (b, nested)):
        p.parent.mkdir(parents=True, exist_ok=True)
        pacsnb.write(ds, p)
    return top, nested


def _outputs(folder: Path) -> dict[str, pacsnb.Dataset]:
    """The output data sets under ``folder``, by their (new) Patient ID."""
    return {str(d.PatientID): d for d in (pacsnb.read(p) for p in sorted(folder.rglob("*.dcm")))}


def test_cli_flags_each_change_the_output(tmp_path, capsys):
    top, nested = _cli_inputs(tmp_path / "in")
    a, b = pacsnb.read(top), pacsnb.read(nested)

    # --recursive: without it a folder gives only its own files, with it the sub-folders too
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "flat"), "--key", KEY]) == 0
    assert len(list((tmp_path / "flat").rglob("*.dcm"))) == 1
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "rec"), "--key", KEY, "--recursive"]) == 0
    assert len(list((tmp_path / "rec").rglob("*.dcm"))) == 2

    # -m mapping.csv: new IDs, names and date shifts per patient; --option: dates shifted and characteristics kept
    mapping = tmp_path / "mapping.csv"
    pd.DataFrame({"PatientID": [str(a.PatientID), str(b.PatientID)], "NewPatientID": ["SUBJ-A", "SUBJ-B"],
                  "NewPatientName": ["SUBJECT^A", "SUBJECT^B"], "DateOffset": [-3, -40]}).to_csv(mapping, index=False)
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "mapped"), "--key", KEY, "--recursive",
                 "-m", str(mapping), "--option", "retain_longitudinal_modified_dates",
                 "--option", "retain_patient_characteristics"]) == 0
    got = _outputs(tmp_path / "mapped")
    assert set(got) == {"SUBJ-A", "SUBJ-B"}
    assert str(got["SUBJ-A"].PatientName) == "SUBJECT^A" and str(got["SUBJ-B"].PatientName) == "SUBJECT^B"
    assert _days(a.StudyDate, got["SUBJ-A"].StudyDate) == -3 and _days(b.StudyDate, got["SUBJ-B"].StudyDate) == -40
    for d, o in ((got["SUBJ-A"], a), (got["SUBJ-B"], b)):
        codes = {i.CodeValue for i in d.DeidentificationMethodCodeSequence}
        assert {"113107", "113108"} <= codes and d.LongitudinalTemporalInformationModified == "MODIFIED"
        assert d.PatientSex == o.PatientSex and d.PatientAge == o.PatientAge  # Retain Patient Characteristics
    plain = _outputs(tmp_path / "rec")  # without the options: dates and characteristics are gone
    assert all(not d.get("StudyDate") and d.LongitudinalTemporalInformationModified == "REMOVED"
               and not d.get("PatientAge") for d in plain.values())

    # --patient-name and --date-offset: the same name and shift for every file; --skip-errors: a bad file is
    # reported and the others written (without it the run stops at the bad file)
    bad = tmp_path / "not-dicom.dcm"
    bad.write_bytes(b"this is not a DICOM file" * 10)
    capsys.readouterr()
    args = ["anonymize", str(top), str(bad), str(nested), "-o", str(tmp_path / "named"), "--key", KEY,
            "--patient-name", "RESEARCH^SUBJECT", "--date-offset", "-100", "--option",
            "retain_longitudinal_modified_dates"]
    assert main(args) == 1
    assert "not-dicom.dcm" in capsys.readouterr().err
    assert len(list((tmp_path / "named").rglob("*.dcm"))) == 1  # top.dcm only: stopped at the bad file
    assert main(args + ["-o", str(tmp_path / "skipped"), "--skip-errors"]) == 1  # a file failed: status 1
    captured = capsys.readouterr()
    assert "failed:" in captured.err and "not-dicom.dcm" in captured.err and "anonymized 2 file(s)" in captured.out
    named = {str(d.SOPInstanceUID): d for d in (pacsnb.read(p) for p in (tmp_path / "skipped").rglob("*.dcm"))}
    assert len(named) == 2
    assert {str(d.PatientName) for d in named.values()} == {"RESEARCH^SUBJECT"}
    keymap = KeyMap(KEY)
    for o in (a, b):
        d = named[keymap.uid(str(o.SOPInstanceUID))]
        assert _days(o.StudyDate, d.StudyDate) == -100 and _days(o.ContentDate, d.ContentDate) == -100


def test_cli_report_lists_the_images_to_review(tmp_path, capsys, caplog):
    head = make_ct_series(n_slices=3, rows=8, columns=8, seed=31)
    for ds in head:
        ds.BodyPartExamined = "HEAD"
    paths = write_cohort(tmp_path / "in", head, layout="flat", progress=False)
    with caplog.at_level(logging.WARNING, logger="pacsnb.deid"):
        status = main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--key", KEY,
                       "--profile", "hipaa_safe_harbor", "--report", str(tmp_path / "review.csv")])
    assert status == 0
    assert [r.getMessage()[:14] for r in caplog.records] == ["3 of 3 images "]
    report = pd.read_csv(tmp_path / "review.csv")
    assert sorted(report.path) == sorted(str(p) for p in paths)
    assert set(report.flag) == {"recognizable visual features"}
    assert main(["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out2"), "--key", KEY,
                 "--report", str(tmp_path / "out2" / "review.csv")]) == 2  # never inside the output folder
    assert "outside" in capsys.readouterr().err
