"""The data model: Dataset, DataElement, Sequence and PrivateBlock.

Covers every access form (attribute, keyword, tag string, int, Tag, tuple), creation with
the dictionary VR, deletion, membership, iteration order, ``get`` defaults, nested
sequences and their character set inheritance, private blocks (with a registered private
dictionary), copies, equality, the dcmdump-like ``repr`` (checked against the real
``dcmdump`` when dcmtk is installed), ``_repr_html_``, ``to_series``, ``walk``/``iterall``
and the errors raised for bad keys.
"""
from __future__ import annotations

import copy
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pydicom
import pytest

import pacsnb
from pacsnb.dicom import DataElement, Dataset, MultiValue, PrivateBlock, Sequence, Tag
from pacsnb.dicom.dictionary import (lookup_private, register_private_dictionary,
                                     unregister_private_dictionary)
from pacsnb.dicom.values import PersonName
from pacsnb.errors import DictionaryError, PacsnbError
from pacsnb.io import encode_dataset, read_bytes

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CT_SMALL = TEST_FILES / "CT_small.dcm"
RTPLAN = TEST_FILES / "rtplan.dcm"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


# -- helpers -------------------------------------------------------------------------------------
def make_ds() -> Dataset:
    """A small data set with text, numbers, a multi-value, a nested sequence and a private block."""
    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "P-001"
    ds.Rows = 512
    ds.Columns = 256
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.PixelSpacing = [0.5, 0.75]
    item1 = Dataset()
    item1.CodeValue = "113100"
    item1.CodingSchemeDesignator = "DCM"
    item2 = Dataset()
    item2.CodeValue = "113101"
    inner = Dataset()
    inner.TextValue = "deep"
    item2.ContentSequence = [inner]
    ds.ProcedureCodeSequence = [item1, item2]
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "secret")
    return ds


def _elem(tag: int, value: bytes) -> bytes:
    """One implicit VR little endian element (padded to even length)."""
    if len(value) % 2:
        value += b" "
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def _sq_implicit(tag: int, items: list[bytes]) -> bytes:
    """An implicit VR LE sequence of undefined length holding the given item bodies."""
    out = struct.pack("<HHI", tag >> 16, tag & 0xFFFF, 0xFFFFFFFF)
    for body in items:
        out += struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    return out + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


@pytest.fixture
def acme_dictionary():
    register_private_dictionary("ACME 1.0", {
        0x00090002: ("DS", "1", "Gain", "AcmeGain"),
        0x00090003: ("US", "1-n", "Counts", "AcmeCounts"),
        0x00090004: ("SQ", "1", "Things", "AcmeThings"),
    })
    try:
        yield
    finally:
        unregister_private_dictionary("ACME 1.0")
    assert lookup_private("ACME 1.0", 0x00091002) is None


# -- access forms ------------------------------------------------------------------------------------
class TestAccess:
    def test_all_forms_give_the_same_element(self):
        ds = make_ds()
        e = ds["PatientName"]
        assert isinstance(e, DataElement)
        for key in ("0010,0010", "(0010,0010)", "00100010", "0x00100010", 0x00100010, Tag(0x00100010),
                    (0x0010, 0x0010), Tag("PatientName")):
            assert ds[key] is e, key
        assert ds.PatientName == "DOE^JANE"
        assert ds.PatientName is e.value

    def test_element_attributes(self):
        ds = make_ds()
        e = ds["PatientName"]
        assert e.tag == 0x00100010 and isinstance(e.tag, Tag)
        assert e.VR == "PN"
        assert e.keyword == "PatientName"
        assert e.name == "Patient's Name"
        assert e.VM == 1
        assert not e.is_empty
        assert ds["ImageType"].VM == 3
        assert ds["ProcedureCodeSequence"].VR == "SQ"

    def test_tag_strings_are_case_insensitive_and_spaced(self):
        ds = make_ds()
        assert ds["0009,1001"] is ds[0x00091001]
        assert ds["(0009, 1001)"] is ds[0x00091001]
        ds.add_new(0x0009100A, "LO", "x")
        assert ds["0009,100a"] is ds["0009,100A"]

    def test_access_on_a_file_read_lazily(self):
        ds = pacsnb.read(CT_SMALL)
        assert ds.PatientName == "CompressedSamples^CT1"
        assert ds["0010,0020"].value == "1CT1"
        assert ds[0x00280010].value == 128
        assert ds["Rows"] is ds[0x00280010]
        assert ds.OtherPatientIDsSequence[1].PatientID == "1234ABCD"
        assert ds.file_meta.TransferSyntaxUID == EXPLICIT_LE


class TestSetting:
    @pytest.mark.parametrize("keyword, value, vr", [
        ("PatientName", "DOE^JOHN", "PN"),
        ("PatientID", "123", "LO"),
        ("Modality", "CT", "CS"),
        ("StudyDate", "20240131", "DA"),
        ("StudyTime", "101010", "TM"),
        ("AcquisitionDateTime", "20240131101010", "DT"),
        ("SOPInstanceUID", "1.2.3.4", "UI"),
        ("SliceThickness", "2.5", "DS"),
        ("InstanceNumber", 7, "IS"),
        ("Rows", 512, "US"),
        ("PixelRepresentation", 0, "US"),
        ("ImagePositionPatient", [0, 0, -10.5], "DS"),
        ("StudyDescription", "Brain", "LO"),
        ("AccessionNumber", "A1", "SH"),
        ("ReferencedImageSequence", [], "SQ"),
        ("FrameTime", 33.3, "DS"),
        ("RealWorldValueFirstValueMapped", 3, "US"),
    ])
    def test_keyword_creates_element_with_dictionary_vr(self, keyword, value, vr):
        ds = Dataset()
        setattr(ds, keyword, value)
        assert keyword in ds
        assert ds[keyword].VR == vr
        assert ds[keyword].keyword == keyword

    def test_set_by_item_key_forms(self):
        ds = Dataset()
        ds["PatientName"] = "A^B"
        ds["0010,0020"] = "ID1"
        ds[0x00280010] = 64
        ds[(0x0028, 0x0011)] = 32
        assert ds.PatientName == "A^B" and ds["PatientName"].VR == "PN"
        assert ds.PatientID == "ID1" and ds["PatientID"].VR == "LO"
        assert ds.Rows == 64 and ds.Columns == 32
        assert ds["Columns"].VR == "US"

    def test_value_types(self):
        ds = Dataset()
        ds.PatientName = "DOE^JOHN"
        ds.Rows = 256
        ds.ImageType = "ORIGINAL\\PRIMARY"
        assert isinstance(ds.PatientName, PersonName)
        assert ds.PatientName.family_name == "DOE"
        assert isinstance(ds.Rows, int) and ds.Rows == 256
        assert isinstance(ds.ImageType, MultiValue)
        assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY"]
        assert ds["ImageType"].VM == 2

    def test_update_keeps_vr_and_identity(self):
        ds = make_ds()
        e = ds["Rows"]
        ds.Rows = 1024
        assert ds["Rows"] is e
        assert e.VR == "US" and e.value == 1024
        ds["Rows"] = 2
        assert e.value == 2
        assert len([x for x in ds if x.tag == 0x00280010]) == 1

    def test_set_a_data_element(self):
        ds = Dataset()
        ds["PatientID"] = DataElement("PatientID", "LO", "X")
        assert ds.PatientID == "X"
        with pytest.raises(ValueError):
            ds["PatientName"] = DataElement("PatientID", "LO", "Y")

    def test_add_and_add_new(self):
        ds = Dataset()
        ds.add(DataElement(0x00100010, "PN", "A^B"))
        e = ds.add_new("0011,1010", "LO", "private-ish")
        assert ds[0x00111010] is e and e.VR == "LO"
        ds.add_new(0x00100020, "LO", "first")
        ds.add_new(0x00100020, "LO", "second")  # replaces
        assert ds.PatientID == "second" and len(ds) == 3

    def test_constructor_from_dict_and_elements(self):
        ds = Dataset({"PatientName": "A^B", 0x00280010: 5})
        assert ds.PatientName == "A^B" and ds.Rows == 5 and ds["Rows"].VR == "US"
        ds2 = Dataset([DataElement("Modality", "CS", "MR"), DataElement("PatientID", "LO", "1")])
        assert ds2.Modality == "MR" and len(ds2) == 2

    def test_unknown_public_tag_needs_add_new(self):
        ds = Dataset()
        with pytest.raises(DictionaryError, match="add_new"):
            ds[0x00181234] = "x"
        assert 0x00181234 not in ds
        ds.add_new(0x00181234, "LO", "x")
        assert ds[0x00181234].value == "x"

    def test_private_tag_without_known_vr_raises(self):
        ds = Dataset()
        with pytest.raises(DictionaryError, match="private"):
            ds[0x00091001] = "x"
        ds.private_block(0x0009, "NOT REGISTERED", create=True)
        with pytest.raises(DictionaryError):
            ds[0x00091001] = "x"

    def test_lowercase_attribute_is_plain_python(self):
        ds = Dataset()
        ds.my_note = "hello"
        assert ds.my_note == "hello"
        assert len(ds) == 0


class TestDeleteContainsIterate:
    def test_del_forms(self):
        ds = make_ds()
        n = len(ds)
        del ds.PatientName
        del ds["PatientID"]
        del ds["0028,0010"]
        del ds[0x00280011]
        del ds[(0x0008, 0x0008)]
        assert len(ds) == n - 5
        for kw in ("PatientName", "PatientID", "Rows", "Columns", "ImageType"):
            assert kw not in ds

    def test_del_missing(self):
        ds = Dataset()
        with pytest.raises(KeyError):
            del ds["PatientName"]
        with pytest.raises(KeyError):
            del ds[0x00100010]
        with pytest.raises(AttributeError):
            del ds.PatientName

    def test_contains(self):
        ds = make_ds()
        for key in ("PatientName", "0010,0010", "(0010,0010)", 0x00100010, Tag(0x00100010), (0x0010, 0x0010),
                    0x00091001, "0009,0010"):
            assert key in ds, key
        for key in ("PatientAge", 0x00101010, "0010,1010", "NotAKeyword", "zz,zz", "", 1.5, None):
            assert key not in ds, key

    def test_iteration_in_tag_order_regardless_of_insertion(self):
        ds = Dataset()
        order = ["PixelSpacing", "PatientName", "Rows", "SOPInstanceUID", "Modality", "StudyDate",
                 "SpecificCharacterSet", "Columns", "PatientID", "InstanceNumber"]
        values = {"PixelSpacing": [1, 1], "PatientName": "X", "Rows": 1, "SOPInstanceUID": "1.2",
                  "Modality": "CT", "StudyDate": "20200101", "SpecificCharacterSet": "ISO_IR 100",
                  "Columns": 2, "PatientID": "1", "InstanceNumber": 3}
        for kw in order:
            setattr(ds, kw, values[kw])
        ds.add_new(0x00091001, "LO", "p")
        ds.add_new(0x00090010, "LO", "creator")
        tags = [e.tag for e in ds]
        assert tags == sorted(tags)
        assert len(tags) == len(order) + 2
        assert ds.keys() == tags
        assert [e.tag for e in ds.values()] == tags
        assert [t for t, _ in ds.items()] == tags
        assert [e.tag for e in ds.elements()] == tags
        assert all(isinstance(t, Tag) for t in ds.keys())

    def test_nested_iteration_in_tag_order(self):
        item = Dataset()
        item.CodeMeaning = "m"
        item.CodeValue = "v"
        item.CodingSchemeDesignator = "DCM"
        ds = Dataset()
        ds.ProcedureCodeSequence = [item]
        assert [e.keyword for e in ds.ProcedureCodeSequence[0]] == [
            "CodeValue", "CodingSchemeDesignator", "CodeMeaning"]

    def test_len_and_empty(self):
        ds = Dataset()
        assert len(ds) == 0
        assert list(ds) == []
        assert repr(ds)  # does not raise on an empty data set
        ds.PatientID = "1"
        assert len(ds) == 1


class TestGetPopUpdate:
    def test_get_defaults(self):
        ds = make_ds()
        assert ds.get("PatientName") == "DOE^JANE"
        assert ds.get("0010,0010") == "DOE^JANE"
        assert ds.get(0x00100010) == "DOE^JANE"
        assert ds.get(Tag(0x00280010)) == 512
        assert ds.get("PatientAge") is None
        assert ds.get("PatientAge", "042Y") == "042Y"
        assert ds.get(0x00101010, 0) == 0
        assert ds.get("NotAKeywordAtAll", "d") == "d"
        assert ds.get("0010,zzzz", "d") == "d"

    def test_pop_setdefault_update_clear(self):
        ds = make_ds()
        e = ds.pop("PatientID")
        assert e.value == "P-001" and "PatientID" not in ds
        assert ds.pop("PatientID", None) is None
        with pytest.raises(KeyError):
            ds.pop("PatientID")
        got = ds.setdefault("PatientID", "NEW")
        assert got.value == "NEW" and ds.PatientID == "NEW"
        assert ds.setdefault("PatientID", "OTHER").value == "NEW"
        other = Dataset()
        other.Modality = "MR"
        other.Rows = 1
        ds.update(other)
        assert ds.Modality == "MR" and ds.Rows == 1
        other.Modality = "CT"
        assert ds.Modality == "MR"  # update copies elements
        ds.update({"StudyDescription": "D", 0x00280011: 3})
        assert ds.StudyDescription == "D" and ds.Columns == 3
        ds.clear()
        assert len(ds) == 0


# -- sequences ------------------------------------------------------------------------------------
class TestSequences:
    def test_assign_list_of_datasets(self):
        ds = make_ds()
        seq = ds.ProcedureCodeSequence
        assert isinstance(seq, Sequence) and isinstance(seq, list)
        assert len(seq) == 2
        assert all(isinstance(i, Dataset) for i in seq)
        assert seq[0].CodeValue == "113100"
        assert seq[1].ContentSequence[0].TextValue == "deep"
        assert ds["ProcedureCodeSequence"].VM == 2

    def test_append_insert_extend(self):
        ds = Dataset()
        ds.ReferencedImageSequence = []
        assert len(ds.ReferencedImageSequence) == 0
        for i in range(3):
            item = Dataset()
            item.ReferencedSOPInstanceUID = f"1.2.3.{i}"
            ds.ReferencedImageSequence.append(item)
        first = Dataset()
        first.ReferencedSOPInstanceUID = "1.2.3.99"
        ds.ReferencedImageSequence.insert(0, first)
        more = [Dataset(), Dataset()]
        ds.ReferencedImageSequence.extend(more)
        uids = [i.get("ReferencedSOPInstanceUID") for i in ds.ReferencedImageSequence]
        assert uids == ["1.2.3.99", "1.2.3.0", "1.2.3.1", "1.2.3.2", None, None]

    def test_sequence_rejects_non_datasets(self):
        seq = Sequence()
        with pytest.raises(TypeError):
            seq.append({"PatientID": "1"})
        with pytest.raises(TypeError):
            Sequence(["not a dataset"])
        ds = Dataset()
        with pytest.raises(TypeError):
            ds.ReferencedImageSequence = [1, 2]

    def test_assign_sequence_object_and_none(self):
        ds = Dataset()
        s = Sequence([Dataset()])
        ds.ReferencedImageSequence = s
        assert len(ds.ReferencedImageSequence) == 1
        ds.ReferencedImageSequence = None
        assert isinstance(ds.ReferencedImageSequence, Sequence)
        assert len(ds.ReferencedImageSequence) == 0

    def test_deep_nesting(self):
        ds = Dataset()
        cur = ds
        for depth in range(6):
            item = Dataset()
            item.TextValue = f"level {depth}"
            cur.ContentSequence = [item]
            cur = item
        x = ds
        for depth in range(6):
            x = x.ContentSequence[0]
            assert x.TextValue == f"level {depth}"

    def test_sequence_round_trip_through_bytes(self):
        ds = make_ds()
        for ts in (IMPLICIT_LE, EXPLICIT_LE, "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"):
            back = read_bytes(encode_dataset(ds, ts), transfer_syntax=ts)
            assert back.ProcedureCodeSequence[1].ContentSequence[0].TextValue == "deep"
            assert back.ProcedureCodeSequence[0].CodingSchemeDesignator == "DCM"


class TestCharsetInheritance:
    def _file(self, parent_charset: bytes | None, item_charset: bytes | None, name: bytes) -> bytes:
        body = b""
        if item_charset is not None:
            body += _elem(0x00080005, item_charset)
        body += _elem(0x00100010, name)
        out = b""
        if parent_charset is not None:
            out += _elem(0x00080005, parent_charset)
        out += _elem(0x00100010, name)
        out += _sq_implicit(0x00101002, [body])
        return out

    def test_item_without_charset_decodes_with_the_parents(self):
        name = "Müller^Jürgen"
        data = self._file(b"ISO_IR 192", None, name.encode("utf-8"))
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds.PatientName == name
        item = ds.OtherPatientIDsSequence[0]
        assert "SpecificCharacterSet" not in item
        assert item.PatientName == name

    def test_latin1_parent(self):
        name = "Müller^Jürgen"
        data = self._file(b"ISO_IR 100", None, name.encode("latin-1"))
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds.OtherPatientIDsSequence[0].PatientName == name

    def test_item_charset_overrides_the_parents(self):
        # parent says UTF-8, the item says Latin-1 and is encoded so
        body = _elem(0x00080005, b"ISO_IR 100") + _elem(0x00100010, "Gräf".encode("latin-1"))
        data = _elem(0x00080005, b"ISO_IR 192") + _sq_implicit(0x00101002, [body])
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds.OtherPatientIDsSequence[0].PatientName == "Gräf"

    def test_nested_two_levels(self):
        inner = _elem(0x0040A160, "日本語のテキスト".encode("utf-8"))
        mid = _sq_implicit(0x0040A730, [inner])
        data = _elem(0x00080005, b"ISO_IR 192") + _sq_implicit(0x0040A730, [mid])
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds.ContentSequence[0].ContentSequence[0].TextValue == "日本語のテキスト"

    @pytest.mark.parametrize("how", ["assign", "append"])
    def test_built_items_are_encoded_with_the_parents_charset(self, how):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        item = Dataset()
        item.PatientName = "Müller^Jürgen"
        if how == "assign":
            ds.OtherPatientIDsSequence = [item]
        else:
            ds.OtherPatientIDsSequence = []
            ds.OtherPatientIDsSequence.append(item)
        raw = encode_dataset(ds, EXPLICIT_LE)
        assert "Müller^Jürgen".encode("latin-1") in raw
        assert "Müller".encode("utf-8") not in raw
        back = read_bytes(raw, transfer_syntax=EXPLICIT_LE)
        assert back.OtherPatientIDsSequence[0].PatientName == "Müller^Jürgen"

    def test_parent_charset_set_after_the_item_was_used(self):
        """Items must follow a later change of the parent's Specific Character Set."""
        ds = Dataset()
        item = Dataset()
        item.PatientID = "abc"
        ds.OtherPatientIDsSequence = [item]
        encode_dataset(ds, EXPLICIT_LE)  # the item's character set is looked up (none yet)
        ds.SpecificCharacterSet = "ISO_IR 192"
        item.PatientName = "Müller^Jürgen"
        raw = encode_dataset(ds, EXPLICIT_LE)
        assert "Müller^Jürgen".encode("utf-8") in raw
        ds.SpecificCharacterSet = "ISO_IR 100"
        raw = encode_dataset(ds, EXPLICIT_LE)
        assert "Müller^Jürgen".encode("latin-1") in raw
        assert read_bytes(raw, transfer_syntax=EXPLICIT_LE).OtherPatientIDsSequence[0].PatientName == "Müller^Jürgen"


# -- private blocks ---------------------------------------------------------------------------------
class TestPrivateBlocks:
    def test_create_block(self):
        ds = Dataset()
        block = ds.private_block(0x0009, "ACME 1.0", create=True)
        assert isinstance(block, PrivateBlock)
        assert block.group == 0x0009 and block.byte == 0x10 and block.creator == "ACME 1.0"
        assert ds[0x00090010].value == "ACME 1.0"
        assert ds[0x00090010].VR == "LO"
        assert block.tag(0x01) == 0x00091001
        e = block.add_new(0x01, "LO", "secret")
        assert ds[0x00091001] is e and block[0x01] is e
        assert 0x01 in block and 0x02 not in block
        assert ds.private_creator_of(0x00091001) == "ACME 1.0"
        assert ds[0x00091001].keyword == ""
        assert ds[0x00090010].tag.is_private_creator

    def test_find_existing_creator(self):
        ds = Dataset()
        ds.add_new(0x00290010, "LO", "OTHER")
        ds.add_new(0x00290011, "LO", "ACME 1.0 ")  # trailing space padding
        ds.add_new(0x00291101, "US", 5)
        block = ds.private_block(0x0029, "ACME 1.0")
        assert block.byte == 0x11
        assert block[0x01].value == 5
        again = ds.private_block(0x0029, "ACME 1.0", create=True)
        assert again.byte == 0x11
        assert ds.private_creators(0x0029) == ["OTHER", "ACME 1.0 "]

    def test_second_creator_gets_next_block(self):
        ds = Dataset()
        a = ds.private_block(0x0011, "A", create=True)
        b = ds.private_block(0x0011, "B", create=True)
        assert (a.byte, b.byte) == (0x10, 0x11)
        a.add_new(0x05, "SH", "a")
        b.add_new(0x05, "SH", "b")
        assert ds[0x00111005].value == "a" and ds[0x00111105].value == "b"
        assert [e.value for e in b] == ["b"]

    def test_missing_creator_and_bad_groups(self):
        ds = Dataset()
        with pytest.raises(KeyError):
            ds.private_block(0x0009, "NOPE")
        for group in (0x0008, 0x0010, 0x0001, 0x0007):
            with pytest.raises(ValueError):
                ds.private_block(group, "X", create=True)
        block = ds.private_block(0x0009, "X", create=True)
        with pytest.raises(ValueError):
            block.tag(0x100)

    def test_delete_in_block(self):
        ds = Dataset()
        block = ds.private_block(0x0009, "X", create=True)
        block.add_new(0x02, "LO", "v")
        del block[0x02]
        assert 0x00091002 not in ds

    def test_vr_from_registered_private_dictionary(self, acme_dictionary):
        ds = Dataset()
        ds.private_block(0x0009, "SOMEONE ELSE", create=True)  # ACME gets block 0x11
        block = ds.private_block(0x0009, "ACME 1.0", create=True)
        assert block.byte == 0x11
        ds[block.tag(0x02)] = "1.5"
        ds[block.tag(0x03)] = [1, 2, 3]
        assert ds[0x00091102].VR == "DS"
        assert float(ds[0x00091102].value) == 1.5
        assert ds[0x00091103].VR == "US"
        assert list(ds[0x00091103].value) == [1, 2, 3]
        ds[block.tag(0x04)] = [Dataset()]
        assert ds[0x00091104].VR == "SQ"
        # an element the dictionary does not list still needs an explicit VR
        with pytest.raises(DictionaryError):
            ds[block.tag(0x09)] = "x"

    def test_registered_vr_used_when_reading_implicit(self, acme_dictionary):
        data = (_elem(0x00090010, b"ACME 1.0")
                + struct.pack("<HHI", 0x0009, 0x1003, 4) + struct.pack("<HH", 7, 9))
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds[0x00091003].VR == "US"
        assert list(ds[0x00091003].value) == [7, 9]

    def test_unregistered_dictionary_gives_un_in_implicit(self):
        data = (_elem(0x00090010, b"ACME 1.0")
                + struct.pack("<HHI", 0x0009, 0x1003, 4) + struct.pack("<HH", 7, 9))
        ds = read_bytes(data, transfer_syntax=IMPLICIT_LE)
        assert ds[0x00091003].VR == "UN"

    def test_remove_private_tags(self):
        ds = make_ds()
        inner_item = ds.ProcedureCodeSequence[1]
        ib = inner_item.private_block(0x0019, "NESTED", create=True)
        ib.add_new(0x10, "LO", "nested private")
        deep = inner_item.ContentSequence[0]
        deep.add_new(0x00431001, "LO", "orphan private, no creator")
        ds.remove_private_tags()
        assert not [e for e in ds.iterall() if e.tag.is_private]
        assert ds.PatientName == "DOE^JANE"
        assert ds.ProcedureCodeSequence[1].CodeValue == "113101"
        assert ds.ProcedureCodeSequence[1].ContentSequence[0].TextValue == "deep"

    def test_remove_private_tags_from_file(self):
        ds = pacsnb.read(CT_SMALL)
        n_public = sum(1 for e in ds if not e.tag.is_private)
        assert any(e.tag.is_private for e in ds)
        ds.remove_private_tags()
        assert len(ds) == n_public
        assert ds.PatientID == "1CT1"


# -- copies and equality --------------------------------------------------------------------------
class TestCopyEquality:
    @pytest.mark.parametrize("how", ["method", "copy", "deepcopy"])
    def test_copy_is_independent(self, how):
        ds = make_ds()
        ds.add_new(0x7FE00010, "OW", np.arange(8, dtype=np.uint16))
        before = repr(ds)
        c = {"method": ds.copy, "copy": lambda: copy.copy(ds), "deepcopy": lambda: copy.deepcopy(ds)}[how]()
        assert c == ds and c is not ds
        c.PatientName = "CHANGED^NAME"
        c.Rows = 1
        del c.PatientID
        c.ProcedureCodeSequence[0].CodeValue = "CHANGED"
        c.ProcedureCodeSequence[1].ContentSequence[0].TextValue = "changed deep"
        c.ProcedureCodeSequence.append(Dataset())
        c.ProcedureCodeSequence[1].ContentSequence.append(Dataset())
        c[0x00091001].value = "changed private"
        c.ImageType.append("EXTRA")
        c.PixelData[0] = 999
        c.private_block(0x0009, "NEW", create=True)
        assert repr(ds) == before
        assert ds.PatientName == "DOE^JANE" and ds.PatientID == "P-001" and ds.Rows == 512
        assert ds.ProcedureCodeSequence[0].CodeValue == "113100"
        assert ds.ProcedureCodeSequence[1].ContentSequence[0].TextValue == "deep"
        assert len(ds.ProcedureCodeSequence) == 2
        assert len(ds.ProcedureCodeSequence[1].ContentSequence) == 1
        assert ds[0x00091001].value == "secret"
        assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
        assert ds.PixelData[0] == 0
        assert c != ds

    def test_original_mutation_does_not_change_copy(self):
        ds = make_ds()
        c = ds.copy()
        ds.ProcedureCodeSequence[1].ContentSequence[0].TextValue = "changed"
        ds.PatientName = "X"
        assert c.ProcedureCodeSequence[1].ContentSequence[0].TextValue == "deep"
        assert c.PatientName == "DOE^JANE"

    def test_copy_of_file_read_lazily(self):
        ds = pacsnb.read(RTPLAN)
        c = ds.copy()
        assert c == ds
        c.BeamSequence[0].BeamName = "CHANGED"
        c.PatientName = "CHANGED"
        fresh = pacsnb.read(RTPLAN)
        assert ds == fresh
        assert ds.BeamSequence[0].BeamName == fresh.BeamSequence[0].BeamName != "CHANGED"
        assert c.file_meta == ds.file_meta
        assert c.file_meta is not ds.file_meta

    def test_equality(self):
        a, b = make_ds(), make_ds()
        assert a == b
        assert not (a != b)
        b.Rows = 513
        assert a != b
        b = make_ds()
        b.ProcedureCodeSequence[1].ContentSequence[0].TextValue = "other"
        assert a != b
        b = make_ds()
        b.StudyDescription = "extra"
        assert a != b
        assert a != "not a dataset"
        assert Dataset() == Dataset()
        assert (a == 5) is False

    def test_equality_ignores_insertion_order(self):
        a = Dataset()
        a.PatientName = "A"
        a.Rows = 1
        b = Dataset()
        b.Rows = 1
        b.PatientName = "A"
        assert a == b

    def test_element_equality(self):
        assert DataElement("Rows", "US", 5) == DataElement(0x00280010, "US", 5)
        assert DataElement("Rows", "US", 5) != DataElement(0x00280010, "US", 6)
        assert DataElement("Rows", "US", 5) != DataElement(0x00280010, "SS", 5)
        assert DataElement("LUTData", "US", [1, 2]) == DataElement("LUTData", "US", np.array([1, 2]))

    def test_unhashable(self):
        with pytest.raises(TypeError):
            hash(Dataset())


# -- display ------------------------------------------------------------------------------------------
# dcmdump line: indent, (gggg,eeee) VR value, padding, '#', length, VM, keyword
DUMP_LINE = re.compile(
    r"^(?P<indent> *)\((?P<g>[0-9a-fA-F]{4}),(?P<e>[0-9a-fA-F]{4})\) (?P<vr>[A-Za-z]{2}) (?P<value>.*?) *"
    r"# *(?P<length>\d+|u/l), *(?P<vm>\d+) (?P<kw>.*)$", re.DOTALL)


ELEMENT_START = re.compile(r"^ *\([0-9a-fA-F]{4},[0-9a-fA-F]{4}\) ")


def logical_lines(text: str) -> list[str]:
    """Lines of a dump, with the continuation lines of values holding line breaks joined back."""
    lines: list[str] = []
    for line in text.split("\n"):
        if lines and lines[-1] and ELEMENT_START.match(lines[-1]) and not ELEMENT_START.match(line) \
                and not DUMP_LINE.match(lines[-1]) and not line.startswith("#"):
            lines[-1] += "\n" + line
        else:
            lines.append(line)
    return lines


def parse_dump(text: str, skip_meta: bool = True) -> list[dict]:
    """Element lines of a dump (dcmdump's or ours), without item/delimiter lines and meta."""
    out = []
    for line in logical_lines(text):
        m = DUMP_LINE.match(line)
        if not m:
            continue
        d = m.groupdict()
        d["tag"] = (d["g"] + d["e"]).upper()
        if d["tag"].startswith("FFFE") or (skip_meta and d["tag"].startswith("0002")):
            continue
        d["depth"] = len(d["indent"])
        out.append(d)
    return out


TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
needs_dcmdump = pytest.mark.skipif(shutil.which("dcmdump") is None,
                                   reason="dcmtk not installed (apt-get install dcmtk)")


class TestRepr:
    def test_element_repr_format(self):
        ds = make_ds()
        line = repr(ds["PatientName"])
        assert line.startswith("(0010,0010) PN [DOE^JANE]")
        m = DUMP_LINE.match(line)
        assert m, line
        assert m["length"] == "8" and m["vm"] == "1" and m["kw"] == "PatientName"
        rows = DUMP_LINE.match(repr(ds["Rows"]))
        assert rows["value"] == "512" and rows["vr"] == "US" and rows["length"] == "2"
        it = DUMP_LINE.match(repr(ds["ImageType"]))
        assert it["value"] == "[ORIGINAL\\PRIMARY\\AXIAL]" and it["vm"] == "3"

    def test_dataset_repr_lines(self):
        ds = make_ds()
        text = repr(ds)
        assert str(ds) == text
        lines = text.splitlines()
        parsed = parse_dump(text)
        # every element line parses; items are marked with (FFFE,E000)
        assert len(parsed) == len(list(ds.iterall()))
        assert [p["tag"] for p in parsed] == [f"{int(e.tag):08X}" for e in ds.iterall()]
        assert sum(1 for line in lines if "(FFFE,E000)" in line.upper()) == 3
        seq = [p for p in parsed if p["tag"] == "00081032"][0]
        assert seq["vr"] == "SQ" and seq["depth"] == 0
        inner = [p for p in parsed if p["tag"] == "0040A160"][0]
        assert inner["depth"] == 8 and inner["value"] == "[deep]"  # two sequence levels down
        assert "DOE^JANE" in text

    def test_long_and_multiline_values_stay_on_one_line(self):
        ds = Dataset()
        ds.ImageComments = "line one\nline two\r\n" + "x" * 200
        text = repr(ds)
        assert len(text.splitlines()) == 1
        assert DUMP_LINE.match(text)

    @needs_dcmdump
    @pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "MR_small.dcm", "rtstruct.dcm"])
    def test_repr_has_the_structure_of_dcmdump(self, name):
        path = TEST_FILES / name
        r = subprocess.run(["dcmdump", str(path)], capture_output=True, text=True, errors="replace", timeout=30)
        assert r.returncode == 0, r.stderr
        theirs = parse_dump(r.stdout)
        ours = parse_dump(repr(pacsnb.read(path)))
        assert len(theirs) > 20
        assert [(d["tag"], d["depth"]) for d in ours] == [(d["tag"], d["depth"]) for d in theirs]
        assert [d["vr"] for d in ours] == [d["vr"] for d in theirs]
        checked = 0
        for a, b in zip(ours, theirs):
            if a["vr"] != "SQ":
                assert a["vm"] == b["vm"], (a, b)
            if not (int(a["g"], 16) & 1):  # dcmtk prefixes retired keywords with RETIRED_
                assert a["kw"] == b["kw"].removeprefix("RETIRED_"), (a["tag"], a["kw"], b["kw"])
            if a["vr"] not in TEXT_VRS or not b["value"].startswith("["):
                continue
            if "..." in a["value"] or "..." in b["value"] or a["value"].startswith("="):
                continue  # shortened long values, UID names
            assert a["value"] == b["value"], (a["tag"], a["value"], b["value"])
            checked += 1
        assert checked > 10

    @needs_dcmdump
    def test_empty_values_are_shown_as_dcmdump_shows_them(self):
        """dcmdump prints an empty element as ``(no value available)`` (e.g. AccessionNumber of CT_small)."""
        r = subprocess.run(["dcmdump", "+P", "0008,0050", str(CT_SMALL)], capture_output=True, text=True, timeout=30)
        theirs = parse_dump(r.stdout)[0]
        assert theirs["value"] == "(no value available)"
        ours = parse_dump(repr(pacsnb.read(CT_SMALL)["AccessionNumber"]))[0]
        assert ours["value"] == theirs["value"]

    @needs_dcmdump
    def test_short_ob_values_are_hex_like_dcmdump(self):
        """dcmdump prints FileMetaInformationVersion as ``00\\01`` (hex bytes)."""
        r = subprocess.run(["dcmdump", "+P", "0002,0001", str(CT_SMALL)], capture_output=True, text=True, timeout=30)
        theirs = parse_dump(r.stdout, skip_meta=False)[0]
        assert theirs["value"] == "00\\01"
        ours = parse_dump(repr(pacsnb.read(CT_SMALL).file_meta[0x00020001]), skip_meta=False)[0]
        assert ours["value"] == theirs["value"]


class TestReprHtml:
    def test_well_formed_table_with_every_keyword(self):
        ds = make_ds()
        ds.StudyDescription = "a <b> & c"
        html_text = ds._repr_html_()
        root = ET.fromstring(html_text)  # well-formed (XML-parsable) HTML
        assert root.tag == "table"
        text = "".join(root.itertext())
        for e in ds.iterall():
            if e.keyword:
                assert e.keyword in text, e.keyword
        assert "a <b> & c" in text  # escaped in the markup, intact as text
        assert "<b>" not in html_text
        rows = root.findall("./tr")
        assert len(rows) == len(ds) + 1  # header + one row per top-level element

    def test_file_html(self):
        ds = pacsnb.read(RTPLAN)
        root = ET.fromstring(ds._repr_html_())
        text = "".join(root.itertext())
        kws = {e.keyword for e in ds.iterall() if e.keyword}
        assert kws and all(k in text for k in kws)

    def test_empty_dataset_html(self):
        root = ET.fromstring(Dataset()._repr_html_())
        assert root.tag == "table"


class TestToSeries:
    def test_keyword_index_and_values(self):
        pd = pytest.importorskip("pandas")
        ds = make_ds()
        s = ds.to_series()
        assert isinstance(s, pd.Series)
        assert s.index.name == "keyword"
        assert list(s.index[:2]) == ["ImageType", "ProcedureCodeSequence"]
        assert s["PatientName"] == "DOE^JANE"
        assert s["Rows"] == 512 and s["Columns"] == 256
        assert tuple(s["ImageType"]) == ("ORIGINAL", "PRIMARY", "AXIAL")
        assert [float(x) for x in s["PixelSpacing"]] == [0.5, 0.75]
        assert s["ProcedureCodeSequence"] == "<2 items>"
        assert s["(0009,1001)"] == "secret"
        assert len(s) == len(ds)
        # in tag order
        assert list(s.index) == [e.keyword or str(e.tag) for e in ds]

    def test_nested(self):
        pytest.importorskip("pandas")
        s = make_ds().to_series(nested=True)
        assert s["ProcedureCodeSequence[0].CodeValue"] == "113100"
        assert s["ProcedureCodeSequence[1].ContentSequence[0].TextValue"] == "deep"
        assert "ProcedureCodeSequence" not in s.index

    def test_file_series(self):
        pytest.importorskip("pandas")
        ds = pacsnb.read(CT_SMALL)
        s = ds.to_series()
        assert s["PatientID"] == "1CT1"
        assert s["Rows"] == 128
        assert "bytes" in str(s["PixelData"])


class TestWalk:
    def test_walk_visits_every_element_depth_first(self):
        ds = make_ds()
        seen = []
        ds.walk(lambda d, e: seen.append(e.keyword or str(e.tag)))
        assert seen == ["ImageType", "ProcedureCodeSequence", "CodeValue", "CodingSchemeDesignator",
                        "CodeValue", "ContentSequence", "TextValue", "(0009,0010)", "(0009,1001)",
                        "PatientName", "PatientID", "Rows", "Columns", "PixelSpacing"]
        assert seen == [e.keyword or str(e.tag) for e in ds.iterall()]

    def test_walk_gives_the_holding_dataset(self):
        ds = make_ds()
        holders = {}
        ds.walk(lambda d, e: holders.setdefault(e.keyword, d))
        assert holders["TextValue"] is ds.ProcedureCodeSequence[1].ContentSequence[0]
        assert holders["PatientName"] is ds

    def test_walk_not_recursive(self):
        ds = make_ds()
        seen = []
        ds.walk(lambda d, e: seen.append(e.tag), recursive=False)
        assert seen == ds.keys()

    def test_walk_callback_may_delete(self):
        ds = make_ds()

        def drop_codes(d, e):
            if e.keyword in ("CodeValue", "PatientID"):
                del d[e.tag]

        ds.walk(drop_codes)
        assert not [e for e in ds.iterall() if e.keyword in ("CodeValue", "PatientID")]
        assert ds.ProcedureCodeSequence[0].CodingSchemeDesignator == "DCM"

    def test_iterall_on_file(self):
        ds = pacsnb.read(RTPLAN)
        all_elems = list(ds.iterall())
        assert len(all_elems) > len(ds)
        assert sum(1 for e in all_elems if e.VR == "SQ") >= 5
        assert all(isinstance(e, DataElement) for e in all_elems)


# -- errors -----------------------------------------------------------------------------------------
class TestErrors:
    def test_unknown_keyword_set_raises_attribute_error(self):
        ds = Dataset()
        with pytest.raises(AttributeError) as info:
            ds.PatientNam = "x"
        msg = str(info.value)
        assert "PatientNam" in msg and "keyword" in msg and "add_new" in msg
        assert len(ds) == 0

    def test_unknown_keyword_get_raises_attribute_error(self):
        ds = Dataset()
        with pytest.raises(AttributeError):
            _ = ds.PatientNam
        with pytest.raises(AttributeError, match="PatientName"):
            _ = ds.PatientName  # a keyword, but not in this data set
        assert getattr(ds, "PatientName", "default") == "default"
        assert not hasattr(ds, "Rows")

    @pytest.mark.parametrize("key", ["PatientAge", "0010,1010", 0x00101010, Tag(0x00101010), (0x0010, 0x1010)])
    def test_missing_tag_raises_key_error(self, key):
        ds = make_ds()
        with pytest.raises(KeyError) as info:
            ds[key]
        assert not isinstance(info.value, DictionaryError)
        assert "0010,1010" in str(info.value)

    @pytest.mark.parametrize("key", ["0010,00zz", "(0010", "12345", "", "PatientNam", "0010,0010,0010",
                                     "gggg,eeee", "0x1234567890", "00100010FF", "10010,0010"])
    def test_malformed_tag_strings(self, key):
        ds = make_ds()
        with pytest.raises(DictionaryError):
            ds[key]
        with pytest.raises(DictionaryError):
            ds[key] = "x"
        with pytest.raises(DictionaryError):
            del ds[key]
        with pytest.raises(PacsnbError):
            ds[key]

    @pytest.mark.parametrize("key", [-1, 0x1_0000_0000, (0x10000, 0), 1.5])
    def test_bad_tag_values(self, key):
        with pytest.raises(DictionaryError):
            Dataset()[key]

    @pytest.mark.parametrize("keyword, value", [("Rows", 70000), ("PixelRepresentation", -1), ("Rows", "abc"),
                                                ("BitsAllocated", 1.5)])
    def test_numbers_the_vr_cannot_hold_are_refused(self, keyword, value):
        """A value a US element cannot hold raises DicomValueError (when set, or at the latest when encoded),
        rather than being wrapped around or written as something else."""
        ds = Dataset()
        with pytest.raises(PacsnbError):
            setattr(ds, keyword, value)
            encode_dataset(ds, EXPLICIT_LE)

    def test_unknown_vr_is_refused(self):
        """An element with a VR that PS3.5 does not define cannot be created (or at least not written)."""
        with pytest.raises(PacsnbError):
            ds = Dataset()
            ds.add(DataElement("Rows", "XX", 1))
            encode_dataset(ds, EXPLICIT_LE)

    def test_dictionary_error_message_is_helpful(self):
        with pytest.raises(DictionaryError) as info:
            Dataset()["PatientNam"]
        assert "PatientNam" in str(info.value)
        assert "0010,0010" in str(info.value)
