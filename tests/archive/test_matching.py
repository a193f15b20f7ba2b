"""PS3.4 C.2.2.2 matching through Archive.find / find_iter, on a small hand-made archive."""
from __future__ import annotations

import pytest

from pacsnb.archive import Archive
from pacsnb.dicom import Dataset, Sequence
from pacsnb.errors import InvalidQueryError

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"

# (patient id, name, study uid, date, time, modality, accession, series uid, sop class)
ROWS = [
    ("P1", "DOE^JOHN", "1.1", "20240101", "083000", "CT", "A1", "1.1.1", CT),
    ("P1", "DOE^JOHN", "1.1", "20240101", "083000", "MR", "A1", "1.1.2", MR),
    ("P2", "Dupré^Jérôme", "1.2", "20240115", "101500.5", "MR", "A2", "1.2.1", MR),
    ("P3", "SMITH^ANNA=スミス^アンナ", "1.3", "20240201", "235959", "CT", "A'3", "1.3.1", CT),
    ("P4", "O'BRIEN^PAT", "1.4", "20231231", "120000", "US", "A4", "1.4.1", CT),
    ("P5", "DOE^JANE", "1.5", "", "", "CT", "", "1.5.1", CT),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    a = Archive(tmp_path_factory.mktemp("match"))
    items = []
    for n, (pid, name, study, date, time, mod, acc, series, cls) in enumerate(ROWS):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID = cls
        ds.SOPInstanceUID = f"{series}.{n}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientID, ds.PatientName, ds.Modality = pid, name, mod
        if date:
            ds.StudyDate, ds.StudyTime = date, time
        if acc:
            ds.AccessionNumber = acc
        ds.SeriesNumber = str(n + 1)
        if study == "1.1":
            ds.ProcedureCodeSequence = Sequence([Dataset({"CodeValue": "CTHEAD", "CodingSchemeDesignator": "LOCAL",
                                                          "CodeMeaning": "CT head"})])
            ds.ReferencedStudySequence = Sequence([Dataset({"ReferencedSOPClassUID": "1.2.840.10008.3.1.2.3.1",
                                                            "ReferencedSOPInstanceUID": "9.9"})])
        items.append(ds)
    a.store_many(items, progress=False)
    yield a
    a.close()


def studies(archive, **keys):
    return sorted(archive.find("STUDY", **keys).StudyInstanceUID)


def test_single_value_and_universal(archive):
    assert studies(archive, PatientID="P2") == ["1.2"]
    assert studies(archive, PatientID="p2") == []  # LO is case-sensitive
    assert studies(archive, PatientID="") == ["1.1", "1.2", "1.3", "1.4", "1.5"]
    assert studies(archive, PatientID=None, AccessionNumber="*") == ["1.1", "1.2", "1.3", "1.4", "1.5"]


def test_wildcards(archive):
    assert studies(archive, PatientName="DOE*") == ["1.1", "1.5"]
    assert studies(archive, PatientName="D?E^J*") == ["1.1", "1.5"]
    assert studies(archive, AccessionNumber="A?") == ["1.1", "1.2", "1.4"]
    assert studies(archive, AccessionNumber="A*3") == ["1.3"]
    assert studies(archive, PatientID="P[1]*") == []  # [ is a literal character, not a GLOB class


def test_person_names(archive):
    assert studies(archive, PatientName="doe^john") == ["1.1"]      # case-insensitive by default
    assert studies(archive, PatientName="dupre^jerome") == ["1.2"]  # and accent-insensitive
    assert studies(archive, PatientName="Dupré^Jérôme^^") == ["1.2"]  # trailing empty components
    assert studies(archive, PatientName="SMITH^ANNA") == ["1.3"]    # alphabetic group alone
    assert studies(archive, PatientName="SMITH^ANNA=スミス^アンナ") == ["1.3"]
    assert studies(archive, PatientName="*スミス*") == ["1.3"]


def test_person_names_case_sensitive(tmp_path):
    a = Archive(tmp_path, pn_case_sensitive=True)
    a.store(Dataset({"SOPClassUID": CT, "SOPInstanceUID": "1.9", "StudyInstanceUID": "1.9.1",
                     "SeriesInstanceUID": "1.9.1.1", "PatientName": "DOE^JOHN"}))
    assert len(a.find("STUDY", PatientName="DOE^JOHN")) == 1
    assert len(a.find("STUDY", PatientName="doe^john")) == 0
    assert len(a.find("STUDY", PatientName="DO*")) == 1


def test_date_ranges(archive):
    assert studies(archive, StudyDate="20240101") == ["1.1"]
    assert studies(archive, StudyDate="20240101-20240131") == ["1.1", "1.2"]
    assert studies(archive, StudyDate="20240102-") == ["1.2", "1.3"]
    assert studies(archive, StudyDate="-20240101") == ["1.1", "1.4"]
    assert studies(archive, StudyDate="2024.01.15") == ["1.2"]
    assert studies(archive, StudyDate="-") == ["1.1", "1.2", "1.3", "1.4", "1.5"]


def test_time_ranges(archive):
    assert studies(archive, StudyTime="0800-0900") == ["1.1"]
    assert studies(archive, StudyTime="1015") == ["1.2"]           # 10:15 covers 10:15:00.5
    assert studies(archive, StudyTime="-10") == ["1.1", "1.2"]     # up to 10:59:59.999999
    assert studies(archive, StudyTime="2359-") == ["1.3"]
    assert studies(archive, StudyTime="101500.6-") == ["1.3", "1.4"]


def test_combined_date_time(archive):
    keys = dict(StudyDate="20240101-20240115", StudyTime="1000-1100")
    assert studies(archive, **keys) == ["1.2"]  # separately: 10:00-11:00 on each day
    got = sorted(archive.find("STUDY", combined_datetime=True, **keys).StudyInstanceUID)
    assert got == ["1.2"]
    keys = dict(StudyDate="20240101-20240201", StudyTime="0800-1000")
    assert studies(archive, **keys) == ["1.1"]  # 08:00 to 10:00:59.999999 each day
    got = sorted(archive.find("STUDY", combined_datetime=True, **keys).StudyInstanceUID)
    assert got == ["1.1", "1.2"]  # Jan 1 08:00 to Feb 1 10:00: Jan 15 whatever the time, not Feb 1 23:59


def test_uid_lists_and_multiple_values(archive):
    assert studies(archive, StudyInstanceUID="1.2\\1.4\\7.7") == ["1.2", "1.4"]
    assert studies(archive, StudyInstanceUID=["1.1", "1.3"]) == ["1.1", "1.3"]
    assert studies(archive, ModalitiesInStudy="MR") == ["1.1", "1.2"]
    assert studies(archive, ModalitiesInStudy="US\\MR") == ["1.1", "1.2", "1.4"]
    assert studies(archive, SOPClassesInStudy=MR) == ["1.1", "1.2"]
    assert studies(archive, PatientID="P1\\P4") == ["1.1", "1.4"]


def test_empty_value_matching(archive):
    assert studies(archive, AccessionNumber='""') == ["1.5"]
    assert studies(archive, StudyDate='""') == ["1.5"]


def test_sequence_matching(archive):
    assert studies(archive, ProcedureCodeSequence=[{"CodeValue": "CTHEAD"}]) == ["1.1"]
    assert studies(archive, ProcedureCodeSequence=[{"CodeValue": "CT*", "CodingSchemeDesignator": "LOCAL"}]) == ["1.1"]
    assert studies(archive, ProcedureCodeSequence=[{"CodeValue": "CTHEAD", "CodingSchemeDesignator": "DCM"}]) == []
    assert studies(archive, ReferencedStudySequence=[Dataset({"ReferencedSOPInstanceUID": "9.9"})]) == ["1.1"]
    # an empty item, or empty keys in it: universal, the sequence is a return key
    assert len(studies(archive, ProcedureCodeSequence=[{"CodeValue": ""}])) == 5
    answer = next(iter(archive.find_iter("STUDY", StudyInstanceUID="1.1",
                                         ProcedureCodeSequence=[Dataset({"CodeValue": None})])))
    items = answer.ProcedureCodeSequence
    assert len(items) == 1 and items[0].CodeValue == "CTHEAD" and "CodeMeaning" not in items[0]


def test_quotes_and_sql_are_just_characters(archive):
    assert studies(archive, PatientName="O'BRIEN^PAT") == ["1.4"]
    assert studies(archive, AccessionNumber="A'3") == ["1.3"]
    assert studies(archive, PatientID="' OR 1=1 --") == []
    assert studies(archive, PatientName="x\"; DROP TABLE patients; --*") == []
    assert len(archive.patients()) == 5


def test_levels_and_errors(archive):
    assert sorted(archive.find("SERIES", StudyInstanceUID="1.1").Modality) == ["CT", "MR"]
    assert len(archive.find("IMAGE", Modality="CT")) == 3
    assert len(archive.find("INSTANCE", PatientID="P1")) == 2
    with pytest.raises(InvalidQueryError, match="SERIES key"):
        archive.find("STUDY", Modality="CT")
    with pytest.raises(InvalidQueryError, match="keyword"):
        archive.find("STUDY", PatientNmae="DOE")
    with pytest.raises(InvalidQueryError, match="date"):
        archive.find("STUDY", StudyDate="yesterday")
    with pytest.raises(InvalidQueryError, match="level"):
        archive.find("WARD")
    with pytest.raises(InvalidQueryError, match="number"):
        archive.find("SERIES", SeriesNumber="one")


def test_find_iter_answers(archive):
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.SpecificCharacterSet = "ISO_IR 100"
    query.PatientName = "dupre*"
    query.StudyDate = ""
    query.add_new(0x00080061, "CS", None)  # ModalitiesInStudy, a return key
    query.add_new(0x00201208, "IS", None)  # NumberOfStudyRelatedInstances
    answers = list(archive.find_iter(identifier=query))
    assert len(answers) == 1
    a = answers[0]
    assert a.QueryRetrieveLevel == "STUDY" and a.StudyInstanceUID == "1.2"
    assert a.PatientName == "Dupré^Jérôme" and a.StudyDate == "20240115"
    assert list(a.ModalitiesInStudy) == ["MR"] or a.ModalitiesInStudy == "MR"
    assert str(a.NumberOfStudyRelatedInstances) == "1"
    assert a.SpecificCharacterSet == "ISO_IR 100"  # the query's charset encodes the answer
    # a name that Latin-1 cannot encode: the answer switches to UTF-8
    query.PatientName = "SMITH*"
    a = next(iter(archive.find_iter(identifier=query)))
    assert a.SpecificCharacterSet == "ISO_IR 192" and a.PatientName == "SMITH^ANNA=スミス^アンナ"
    from pacsnb.io import encode_dataset, read_bytes
    back = read_bytes(encode_dataset(a), transfer_syntax="1.2.840.10008.1.2.1")
    assert back.PatientName == "SMITH^ANNA=スミス^アンナ"
    # Patient Root answers at the SERIES level carry PatientID and StudyInstanceUID
    s = next(iter(archive.find_iter("SERIES", model="PATIENT", SeriesInstanceUID="1.1.1")))
    assert (s.PatientID, s.StudyInstanceUID, s.SeriesInstanceUID) == ("P1", "1.1", "1.1.1")


def test_query_keys_in_another_charset_are_decoded(archive):
    from pacsnb.io import encode_dataset, read_bytes

    q = Dataset()
    q.SpecificCharacterSet = "ISO_IR 100"
    q.PatientName = "Dupré*"
    raw = encode_dataset(q, "1.2.840.10008.1.2")
    assert "é".encode("latin-1") in raw  # what arrives on the wire is Latin-1
    received = read_bytes(raw, transfer_syntax="1.2.840.10008.1.2")
    assert [d.StudyInstanceUID for d in archive.find_iter("STUDY", received)] == ["1.2"]


def test_query_plans_use_indexes(archive):
    for keys in ({"PatientID": "P1"}, {"PatientName": "DOE*"}, {"StudyDate": "20240101-20240131"},
                 {"AccessionNumber": "A1"}):
        plan = " ".join(archive.explain("STUDY", **keys))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (keys, plan)
        assert "SCAN p" not in plan and "SCAN st" not in plan, (keys, plan)
