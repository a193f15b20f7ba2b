"""Tests of pacsnb.dicom.dictionary against pydicom's dictionary (the oracle) and PS3.6.

The generated dictionary follows the PS3.6 extraction in ``shared/data/standard``; where
pydicom says otherwise the standard's value is asserted and the difference is listed in
``DISAGREEMENTS`` below with the reason.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacsnb.dicom import dictionary as dd
from pacsnb.dicom.dictionary import (
    DictEntry, all_entries, keyword_for_tag, lookup, lookup_keyword, lookup_private,
    private_creators, register_private_dictionary, tag_for_keyword,
    unregister_private_dictionary, vr_for_tag,
)
from pacsnb.errors import DictionaryError

pydicom_dict = pytest.importorskip("pydicom._dicom_dict")
DicomDictionary = pydicom_dict.DicomDictionary
RepeatersDictionary = pydicom_dict.RepeatersDictionary

STANDARD_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "standard"

# Where the PS3.6 extraction and pydicom 3.0.2 disagree. Each value maps a field to
# (our value = the standard's, pydicom's value); the comment says why.
DISAGREEMENTS: dict[int, dict[str, tuple[object, object]]] = {
    # Retired elements whose VR, VM and name PS3.6 leaves blank. pydicom invents
    # VR OB and the name "Retired-blank"; we keep the blank name and, since a VR is
    # needed to read them, use UN with VM 1 (an UN value is one byte string).
    0x00080202: {"vrs": (("UN",), ("OB",)), "name": ("", "Retired-blank")},
    0x00189445: {"vrs": (("UN",), ("OB",)), "name": ("", "Retired-blank")},
    0x00280020: {"vrs": (("UN",), ("OB",)), "name": ("", "Retired-blank")},
    # PS3.6 writes the micro sign; pydicom transliterates it to "u".
    0x00181153: {"name": ("Exposure in µAs", "Exposure in uAs")},
    0x00188150: {"name": ("Exposure Time in µS", "Exposure Time in uS")},
    0x00188151: {"name": ("X-Ray Tube Current in µA", "X-Ray Tube Current in uA")},
    # PS3.6 gives "1-n or 1" (1-n for US/SS, 1 for OW); pydicom keeps only "1-n".
    0x00281200: {"vm": ("1-n or 1", "1-n")},
    0x00283006: {"vm": ("1-n or 1", "1-n")},
}
# In the PS3.6 extraction, not in pydicom 3.0.2 (an older or newer edition).
ONLY_IN_STANDARD = {0x00060001}  # Current Frame Functional Groups Sequence
# In pydicom 3.0.2, not in the PS3.6 extraction: taken from pydicom by the generator.
ONLY_IN_PYDICOM = {0x00102161, 0x300A0054, 0x300A079F, 0x300A07A0, 0x300A07A1}


def _fields(entry: DictEntry) -> dict[str, object]:
    return {"vrs": entry.vrs, "vm": entry.vm, "keyword": entry.keyword, "name": entry.name,
            "retired": entry.retired}


def _pydicom_fields(value: tuple) -> dict[str, object]:
    vr, vm, name, retired, keyword = value
    return {"vrs": tuple(vr.split(" or ")), "vm": vm, "keyword": keyword, "name": name,
            "retired": retired == "Retired"}


def _check_against_pydicom(tag: int, entry: DictEntry | None, value: tuple) -> None:
    assert entry is not None, f"{tag:08X} missing"
    ours, theirs = _fields(entry), _pydicom_fields(value)
    known = DISAGREEMENTS.get(tag, {})
    for field, expected in theirs.items():
        if field in known:
            std_value, pyd_value = known[field]
            assert expected == pyd_value, f"{tag:08X} {field}: pydicom changed"
            assert ours[field] == std_value, f"{tag:08X} {field}"
        else:
            assert ours[field] == expected, f"{tag:08X} {field}: {ours[field]!r} != {expected!r}"
    assert entry.vr in entry.vrs or entry.vr == "NONE"


def _run_isolated(code: str) -> None:
    """Run ``code`` in a fresh interpreter where ``pacsnb`` and ``pacsnb.dicom`` are bare
    namespaces, so only the module under test (and pacsnb.errors) is imported."""
    import pacsnb.dicom
    pkg_dir = str(Path(pacsnb.dicom.__file__).resolve().parent)
    prelude = (
        "import sys, types\n"
        f"p = types.ModuleType('pacsnb'); p.__path__ = [{str(Path(pkg_dir).parent)!r}]\n"
        f"d = types.ModuleType('pacsnb.dicom'); d.__path__ = [{pkg_dir!r}]\n"
        "sys.modules['pacsnb'] = p; sys.modules['pacsnb.dicom'] = d\n"
    )
    subprocess.run([sys.executable, "-c", prelude + code], check=True)


def test_every_pydicom_element_is_found() -> None:
    for tag, value in DicomDictionary.items():
        entry = lookup(tag)
        _check_against_pydicom(tag, entry, value)
        assert entry.tag == tag


def _matches(pattern: str, tag: int) -> bool:
    return all(p in ("x", c) for p, c in zip(pattern.lower(), f"{tag:08x}"))


def test_every_pydicom_repeater_is_found() -> None:
    for mask_str, value in RepeatersDictionary.items():
        entry = lookup_keyword(value[4])
        assert entry is not None, mask_str
        assert _matches(mask_str, entry.tag), (mask_str, f"{entry.tag:08X}")
        assert lookup(entry.tag) is entry
        _check_against_pydicom(entry.tag, entry, value)
        base = int(mask_str.lower().replace("x", "0"), 16)
        if base not in DicomDictionary and base & 0xFFFF:
            assert entry.tag == base  # the first tag of the pattern unless it is taken


def test_repeater_first_tags() -> None:
    # (0028,0400-0403) are elements of their own, so (0028,04x0-3) start at x = 1;
    # (1000,0000) and (1010,0000) are group lengths.
    assert tag_for_keyword("RowsForNthOrderCoefficients") == 0x00280410
    assert lookup(0x00280400).keyword == "TransformLabel"
    assert lookup(0x00280410).keyword == "RowsForNthOrderCoefficients"
    assert tag_for_keyword("EscapeTriplet") == 0x10000010
    assert tag_for_keyword("ZonalMap") == 0x10100001
    assert tag_for_keyword("OverlayData") == 0x60003000
    assert tag_for_keyword("VariablePixelData") == 0x7F000010


def _instances(pattern: str) -> list[int]:
    """Some concrete tags of a repeating pattern such as '60xx3000' or '1000xxx0'."""
    pattern = pattern.lower()
    out = []
    for fill in ("0", "2", "8", "e", "a"):
        if pattern[:2] in ("50", "60") and pattern[2:4] == "xx":
            s = pattern[:2] + f"{int(fill, 16) * 2:02x}"[-2:] + pattern[4:]
            if int(s[2:4], 16) > 0x1E:
                continue
        else:
            s = pattern.replace("x", fill)
        out.append(int(s, 16))
    return out


def test_repeating_groups_match_every_allowed_group() -> None:
    for mask_str, value in RepeatersDictionary.items():
        keyword = value[4]
        for tag in _instances(mask_str):
            if tag in DicomDictionary or tag & 0xFFFF == 0:
                continue  # an exact element (or a group length) wins over the pattern
            entry = lookup(tag)
            assert entry is not None, f"{mask_str} as {tag:08X}"
            assert entry.keyword == keyword and entry.tag == tag


@pytest.mark.parametrize("tag, keyword, vr", [
    (0x60003000, "OverlayData", "OW"),
    (0x601E3000, "OverlayData", "OW"),
    (0x60220010, None, None),            # 6022 is beyond the overlay groups 6000-601E
    (0x60020010, "OverlayRows", "US"),
    (0x60040011, "OverlayColumns", "US"),
    (0x60001234, None, None),
    (0x50003000, "CurveData", "OW"),
    (0x50100005, "CurveDimensions", "US"),
    (0x50200005, None, None),
    (0x7F000010, "VariablePixelData", "OW"),
    (0x7F200010, "VariablePixelData", "OW"),
    (0x7F210010, "PrivateCreator", "LO"),  # odd group: a private creator, not 7Fxx
    (0x7F211010, None, None),              # private element
    (0x7FE00010, "PixelData", "OW"),
    (0x002031A5, "SourceImageIDs", "CS"),
    (0x00280470, "RowsForNthOrderCoefficients", "US"),
    (0x002804F3, "CoefficientCodingPointers", "AT"),
    (0x00280838, "ImageDataLocation", "AT"),
    (0x10001230, "EscapeTriplet", "US"),
    (0x1000FFF5, "ShiftTableTriplet", "US"),
    (0x1000FFF6, None, None),
    (0x10101234, "ZonalMap", "US"),
])
def test_repeating_group_lookups(tag: int, keyword: str | None, vr: str | None) -> None:
    entry = lookup(tag)
    if keyword is None:
        assert entry is None
        assert vr_for_tag(tag) == "UN" and keyword_for_tag(tag) == ""
    else:
        assert entry is not None and entry.keyword == keyword and entry.vr == vr
        assert entry.tag == tag
        assert keyword_for_tag(tag) == keyword and vr_for_tag(tag) == vr


def test_figures() -> None:
    entries = list(all_entries())
    assert len(entries) >= 5000
    assert len({e.tag for e in entries}) == len(entries)
    assert sum(e.retired for e in entries) > 400
    keywords = [e.keyword for e in entries if e.keyword]
    assert len(keywords) == len(set(keywords))
    # everything pydicom has (elements + repeaters), plus what only the standard has
    assert len(entries) == len(DicomDictionary) + len(RepeatersDictionary) + len(ONLY_IN_STANDARD)
    info = dd.dictionary_info()
    assert info["counts"]["entries"] == len(entries)
    assert info["counts"]["from_pydicom"] == len(ONLY_IN_PYDICOM) + sum(
        1 for t in DicomDictionary if t >> 16 == 0)


def test_only_in_standard_and_only_in_pydicom() -> None:
    for tag in ONLY_IN_STANDARD:
        assert tag not in DicomDictionary
        assert lookup(tag) is not None
    assert lookup(0x00060001).keyword == "CurrentFrameFunctionalGroupsSequence"
    for tag in ONLY_IN_PYDICOM:
        assert tag in DicomDictionary and lookup(tag) is not None
        assert tag in {int(t, 16) for t in dd.dictionary_info()["notes"]}


def test_command_group_from_ps3_7() -> None:
    assert lookup(0x00000000).keyword == "CommandGroupLength"
    assert lookup(0x00000100).keyword == "CommandField" and vr_for_tag(0x00000100) == "US"
    assert lookup(0x00000900).keyword == "Status"
    assert tag_for_keyword("MoveOriginatorMessageID") == 0x00001031
    assert lookup(0x00000001).retired


def test_group_length_and_private_creator() -> None:
    gl = lookup(0x00080000)
    assert (gl.keyword, gl.vr, gl.vm, gl.retired, gl.tag) == ("GroupLength", "UL", "1", True,
                                                              0x00080000)
    assert lookup(0x00090000).keyword == "GroupLength"
    assert lookup(0x00020000).keyword == "FileMetaInformationGroupLength"
    for tag in (0x00090010, 0x000900FF, 0x7FE10010, 0x60010010):
        pc = lookup(tag)
        assert (pc.keyword, pc.vr, pc.name, pc.tag) == ("PrivateCreator", "LO",
                                                        "Private Creator", tag)
    for tag in (0x00090001, 0x0009000F, 0x00090100, 0x00091010, 0x00010010, 0x00070010,
                0xFFFF0010, 0x00083000):
        assert lookup(tag) is None, f"{tag:08X}"
    assert lookup_keyword("GroupLength") is None
    assert lookup_keyword("PrivateCreator") is None


def test_items_have_no_vr() -> None:
    for tag, keyword in ((0xFFFEE000, "Item"), (0xFFFEE00D, "ItemDelimitationItem"),
                         (0xFFFEE0DD, "SequenceDelimitationItem")):
        e = lookup(tag)
        assert (e.keyword, e.vr, e.vrs) == (keyword, "NONE", ("NONE",))


def test_blank_retired_rows_kept() -> None:
    for tag in (0x00080202, 0x00189445, 0x00280020):
        e = lookup(tag)
        assert (e.vr, e.vrs, e.vm, e.keyword, e.retired) == ("UN", ("UN",), "1", "", True)
    for tag in (0x00180061, 0x04000315, 0x300A0782):
        e = lookup(tag)
        assert e.keyword == "" and e.retired and e.vr != "UN"
        assert keyword_for_tag(tag) == ""
    assert lookup_keyword("") is None and tag_for_keyword("") is None


@pytest.mark.parametrize("tag, vr, vrs", [
    (0x7FE00010, "OW", ("OB", "OW")),    # PS3.5 A.1: Pixel Data is OW in Implicit VR
    (0x60003000, "OW", ("OB", "OW")),    # Overlay Data likewise
    (0x54001010, "OW", ("OB", "OW")),    # Waveform Data likewise
    (0x50003000, "OW", ("OB", "OW")),    # retired Curve Data (word data)
    (0x54000110, "OB", ("OB", "OW")),    # Channel Minimum Value: any length, so OB
    (0x5400100A, "OB", ("OB", "OW")),
    (0x50002000 | 0x0C, "OB", ("OB", "OW")),  # Audio Sample Data
    (0x00280106, "US", ("US", "SS")),
    (0x00281200, "US", ("US", "SS", "OW")),
    (0x00283006, "US", ("US", "OW")),
    (0x00283002, "US", ("US", "SS")),
])
def test_implicit_vr_choice(tag: int, vr: str, vrs: tuple[str, ...]) -> None:
    e = lookup(tag)
    assert (e.vr, e.vrs) == (vr, vrs)
    assert vr_for_tag(tag) == vr


def test_keyword_round_trip() -> None:
    n = 0
    for e in all_entries():
        if not e.keyword:
            continue
        assert lookup_keyword(e.keyword) is e
        assert tag_for_keyword(e.keyword) == e.tag
        assert keyword_for_tag(e.tag) == e.keyword
        assert lookup(e.tag) is e
        n += 1
    assert n > 5000
    assert tag_for_keyword("OverlayData") == 0x60003000
    assert tag_for_keyword("NotAKeyword") is None and lookup_keyword("patientname") is None


def test_unknown_tags() -> None:
    assert lookup(0x00081234) is None
    assert keyword_for_tag(0x00081234) == "" and vr_for_tag(0x00081234) == "UN"
    assert lookup(0x00191001) is None and vr_for_tag(0x00191001) == "UN"
    assert lookup(-1) is None and lookup(1 << 32) is None


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_lookup_total(tag: int) -> None:
    e = lookup(tag)
    if e is not None:
        assert e.tag == tag and (e.vr in e.vrs or e.vr == "NONE")
        assert keyword_for_tag(tag) == e.keyword and vr_for_tag(tag) == e.vr
    else:
        assert keyword_for_tag(tag) == "" and vr_for_tag(tag) == "UN"


def test_matches_the_standard_table() -> None:
    path = STANDARD_DIR / "attributes.json"
    if not path.exists():
        pytest.skip("the shared standard tables are not available")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert len(rows) >= 5000
    for r in rows:
        tag_s = r["tag"].strip("()").replace(",", "").lower()
        if "x" in tag_s:
            e = lookup_keyword(r["keyword"])
            assert e is not None and _matches(tag_s, e.tag), r["tag"]
        else:
            e = lookup(int(tag_s, 16))
        assert e is not None, r["tag"]
        assert e.keyword == r["keyword"] and e.name == r["name"], r["tag"]
        assert e.retired == (r["retired"] == "Y"), r["tag"]
        vr_text = r["valueRepresentation"]
        if vr_text == "See Note 2":
            assert e.vrs == ("NONE",)
        elif vr_text == "":
            assert e.vrs == ("UN",) and e.vm == "1"
        else:
            assert e.vrs == tuple(vr_text.split(" or ")), r["tag"]
            assert e.vm == r["valueMultiplicity"], r["tag"]


def test_data_file_header_records_sources() -> None:
    info = dd.dictionary_info()
    assert info["format"] == "pacsnb.dictionary/1"
    assert "PS3.6" in info["sources"]["S"] and "pydicom" in info["sources"]["P"]
    assert info["columns"] == ["tag", "vr", "vrs", "vm", "keyword", "name", "retired", "source"]


def test_import_does_not_load_the_data() -> None:
    _run_isolated("import pacsnb.dicom.dictionary as d; assert not d._loaded; "
                  "d.lookup(0x00100010); assert d._loaded")


def test_dict_entry_is_frozen() -> None:
    e = lookup(0x00100010)
    with pytest.raises(AttributeError):
        e.vr = "LO"  # type: ignore[misc]
    assert repr(e).startswith("DictEntry(tag=0x00100010, vr='PN'")


# --- private dictionaries ---------------------------------------------------------------

@pytest.fixture
def acme():
    register_private_dictionary("ACME IMAGING 1.0", {
        0x00290001: ("DS", "1", "Detector Gain", "AcmeDetectorGain"),
        0x00290002: ("US or SS", "1-n", "Table Offsets"),
        0x00291103: ("SQ", "1", "Calibration Sequence", "AcmeCalibrationSequence"),
    })
    yield "ACME IMAGING 1.0"
    unregister_private_dictionary("ACME IMAGING 1.0")


def test_default_private_dictionary_is_empty() -> None:
    # pacsnb ships no private dictionary (a fresh interpreter has none registered)
    _run_isolated("import pacsnb.dicom.dictionary as d; assert d.private_creators() == []; "
                  "assert d.lookup_private('ANY CREATOR', 0x00091001) is None")
    assert lookup_private("ANY CREATOR", 0x00091001) is None


def test_register_and_lookup_private(acme: str) -> None:
    assert acme in private_creators()
    e = lookup_private(acme, 0x00291001)
    assert (e.tag, e.vr, e.vm, e.name, e.keyword, e.retired) == (
        0x00291001, "DS", "1", "Detector Gain", "AcmeDetectorGain", False)
    # the block byte is the caller's business: any block finds the same entry
    assert lookup_private(acme, 0x00291201).keyword == "AcmeDetectorGain"
    assert lookup_private(acme, 0x00294201).tag == 0x00294201
    # creators compare without trailing padding
    assert lookup_private(acme + "  ", 0x00291001) is not None
    assert lookup_private(acme + "\x00", 0x00291001) is not None
    assert lookup_private("acme imaging 1.0", 0x00291001) is None
    e2 = lookup_private(acme, 0x00291002)
    assert (e2.vr, e2.vrs, e2.keyword) == ("US", ("US", "SS"), "")
    assert lookup_private(acme, 0x00291003).vr == "SQ"  # registered as 0x00291103
    assert lookup_private(acme, 0x00291004) is None
    assert lookup_private(acme, 0x00311001) is None
    # public lookups are not affected
    assert lookup(0x00291001) is None and lookup(0x00290010).keyword == "PrivateCreator"


def test_register_extends_and_unregister(acme: str) -> None:
    register_private_dictionary(acme + " ", {0x00290010: ("LO", "1", "Site")})
    assert lookup_private(acme, 0x00291010).name == "Site"
    assert lookup_private(acme, 0x00291001) is not None
    unregister_private_dictionary(acme)
    assert lookup_private(acme, 0x00291001) is None and acme not in private_creators()


@pytest.mark.parametrize("creator, entries", [
    ("", {0x00290001: ("DS", "1", "x")}),
    ("   ", {0x00290001: ("DS", "1", "x")}),
    ("C", {0x00280001: ("DS", "1", "x")}),          # even group: not private
    ("C", {0x00070001: ("DS", "1", "x")}),          # group 0007 may not be private
    ("C", {0x00290001: ("XX", "1", "x")}),          # bad VR
    ("C", {0x00290001: ("DS", "1")}),               # too short
    ("C", {"00290001": ("DS", "1", "x")}),          # key not an int
])
def test_register_rejects_bad_input(creator: str, entries: dict) -> None:
    with pytest.raises(DictionaryError):
        register_private_dictionary(creator, entries)
    assert "C" not in private_creators() and lookup_private("C", 0x00291001) is None
