"""Tests of pacsnb.dicom.values: PN, DA/TM/DT, IS/DS and multi-valued text.

The standard (PS3.5 section 6.2, Table 6.2-1, and 6.2.1) is the authority. pydicom is used
as an oracle where it follows the standard; where it does not, the test says so.
"""
from __future__ import annotations

import copy
import datetime as dt
import doctest
import logging
import math
import pickle
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pacsnb.dicom import values as V
from pacsnb.dicom.values import (DA, DS, DT, IS, TM, PersonName, PNComponents, format_ds, format_is,
                                 parse_multi, to_datetime64, validate_da, validate_ds, validate_dt,
                                 validate_is, validate_pn, validate_tm)
from pacsnb.errors import DicomValueError, PacsnbError

pydicom_valuerep = pytest.importorskip("pydicom.valuerep")

UTC = dt.timezone.utc


def tz(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


def test_doctests():
    result = doctest.testmod(V, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 40


# ======================================================================================
# PN
# ======================================================================================

class TestPersonNameStandardExamples:
    """The examples of PS3.5 6.2.1.1 and Annex H/I/J."""

    def test_adams(self):
        pn = PersonName("Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
        assert pn.family_name == "Adams"
        assert pn.given_name == "John Robert Quincy"
        assert pn.middle_name == ""
        assert pn.name_prefix == "Rev."
        assert pn.name_suffix == "B.A. M.Div."
        assert pn.ideographic == "" and pn.phonetic == ""
        assert pn.components == ("Adams^John Robert Quincy^^Rev.^B.A. M.Div.",)
        assert validate_pn(pn) == []

    def test_morrison_jones(self):
        pn = PersonName("Morrison-Jones^Susan^^^Ph.D., Chief Executive Officer")
        assert pn.group(0) == PNComponents("Morrison-Jones", "Susan", "", "",
                                           "Ph.D., Chief Executive Officer")

    def test_doe_trailing_components_omitted(self):
        pn = PersonName("Doe^John")
        assert (pn.family_name, pn.given_name, pn.middle_name, pn.name_prefix, pn.name_suffix) == (
            "Doe", "John", "", "", "")

    def test_veterinary(self):
        pn = PersonName("ABC Farms^Running on Water")
        assert pn.family_name == "ABC Farms" and pn.given_name == "Running on Water"

    def test_chinese_with_trailing_group_delimiter(self):
        pn = PersonName("Wang^XiaoDong=王^小東=")
        assert pn.alphabetic == "Wang^XiaoDong"
        assert pn.ideographic == "王^小東"
        assert pn.phonetic == ""
        assert pn.group(1) == PNComponents("王", "小東")
        assert pn.components == ("Wang^XiaoDong", "王^小東")
        assert str(pn) == "Wang^XiaoDong=王^小東="  # the text itself is unchanged
        assert validate_pn(pn) == []

    def test_japanese_three_groups(self):
        pn = PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
        assert pn.components == ("Yamada^Tarou", "山田^太郎", "やまだ^たろう")
        assert pn.group(0).given_name == "Tarou"
        assert pn.group(1) == PNComponents("山田", "太郎", "", "", "")
        assert pn.group(2).family_name == "やまだ"
        assert validate_pn(pn) == []

    def test_korean(self):
        pn = PersonName("Hong^Gildong=洪^吉洞=홍^길동")
        assert pn.group(2) == PNComponents("홍", "길동")

    def test_only_ideographic(self):
        pn = PersonName("=山田^太郎")
        assert pn.alphabetic == "" and pn.family_name == ""
        assert pn.ideographic == "山田^太郎"
        assert pn.components == ("", "山田^太郎")


class TestPersonName:
    def test_is_a_str(self):
        pn = PersonName("Doe^John")
        assert isinstance(pn, str)
        assert pn == "Doe^John" and hash(pn) == hash("Doe^John")
        assert {pn: 1}["Doe^John"] == 1
        assert str(pn) == "Doe^John" and type(str(pn)) is str
        assert repr(pn) == "'Doe^John'"  # values show as their text, as in pydicom
        assert PersonName(pn) == pn

    def test_empty(self):
        pn = PersonName("")
        assert pn.components == ()
        assert pn.family_name == "" and pn.group(2) == PNComponents()
        assert PersonName() == ""
        assert PersonName("=").components == ()

    def test_trailing_padding_is_not_part_of_a_component(self):
        # PS3.5 6.2: "The string may be padded with trailing spaces". pydicom keeps the
        # padding in the last component ('John '); the padding is not part of the name.
        pn = PersonName("Doe^John ")
        assert pn.given_name == "John"
        assert pn == "Doe^John "  # but the text is kept as it was
        # spaces inside a name are significant
        assert PersonName("van Gogh^ Vincent").given_name == " Vincent"

    def test_extra_components_and_groups(self):
        pn = PersonName("a^b^c^d^e^f=g=h=i")
        assert pn.group(0) == PNComponents("a", "b", "c", "d", "e")
        assert pn.components == ("a^b^c^d^e^f", "g", "h", "i")
        problems = validate_pn(pn)
        assert any("4 component groups" in p for p in problems)
        assert any("6 components" in p for p in problems)

    def test_group_index_checked(self):
        with pytest.raises(DicomValueError):
            PersonName("a").group(3)
        with pytest.raises(DicomValueError):
            PersonName("a").group(-1)

    def test_immutable_and_picklable(self):
        pn = PersonName("Yamada^Tarou=山田^太郎")
        with pytest.raises(AttributeError):
            pn.family_name = "x"
        with pytest.raises(AttributeError):
            pn.foo = 1
        for other in (pickle.loads(pickle.dumps(pn)), copy.deepcopy(pn), copy.copy(pn)):
            assert type(other) is PersonName and other == pn

    def test_bytes_rejected(self):
        with pytest.raises(DicomValueError, match="Specific Character Set"):
            PersonName(b"Doe^John")
        assert issubclass(DicomValueError, PacsnbError)

    @pytest.mark.parametrize("kwargs, expected", [
        (dict(family_name="Doe", given_name="John"), "Doe^John"),
        (dict(family_name="Adams", given_name="John Robert Quincy", name_prefix="Rev.",
              name_suffix="B.A. M.Div."), "Adams^John Robert Quincy^^Rev.^B.A. M.Div."),
        (dict(family_name="Morrison-Jones", given_name="Susan",
              name_suffix="Ph.D., Chief Executive Officer"),
         "Morrison-Jones^Susan^^^Ph.D., Chief Executive Officer"),
        (dict(family_name="Wang", given_name="XiaoDong", ideographic="王^小東"), "Wang^XiaoDong=王^小東"),
        (dict(family_name="Yamada", given_name="Tarou", ideographic=("山田", "太郎"),
              phonetic=PNComponents("やまだ", "たろう")), "Yamada^Tarou=山田^太郎=やまだ^たろう"),
        (dict(phonetic="やまだ^たろう"), "==やまだ^たろう"),
        (dict(ideographic="山田^太郎^^"), "=山田^太郎"),  # trailing empty components trimmed
        (dict(given_name="John"), "^John"),
        (dict(middle_name="", ideographic="", phonetic=""), ""),
        (dict(), ""),
    ])
    def test_from_parts(self, kwargs, expected):
        pn = PersonName.from_parts(**kwargs)
        assert type(pn) is PersonName and pn == expected

    @pytest.mark.parametrize("kwargs", [
        dict(family_name="a^b"),
        dict(given_name="x=y"),
        dict(family_name="a\\b"),
        dict(family_name="a\nb"),
        dict(family_name="x" * 65),
        dict(ideographic="a=b"),
        dict(ideographic=("a", "b", "c", "d", "e", "f")),
        dict(phonetic="a^b^c^d^e^f"),
        dict(family_name=5),
    ])
    def test_from_parts_rejects(self, kwargs):
        with pytest.raises(DicomValueError):
            PersonName.from_parts(**kwargs)

    def test_from_parts_64_characters_is_fine(self):
        assert PersonName.from_parts("x" * 30, "y" * 33) == "x" * 30 + "^" + "y" * 33

    @pytest.mark.parametrize("text, fragment", [
        ("Doe^John\\Smith^Jane", "backslash"),
        ("Doe\r^John", "U+000D"),
        ("Doe\n", "U+000A"),
        ("Doe\x0c", "U+000C"),
        ("Doe\tJohn", "U+0009"),
        ("x" * 65, "65 characters"),
        ("x" * 30 + "=" + "y" * 65, "ideographic group is 65"),
        ("a=b=c=d", "4 component groups"),
        ("a^b^c^d^e^f", "6 components"),
    ])
    def test_validate_pn_problems(self, text, fragment):
        problems = validate_pn(text)
        assert any(fragment in p for p in problems), problems
        assert PersonName(text).is_valid is False

    def test_validate_pn_allows(self):
        assert validate_pn("") == []
        assert validate_pn("x" * 64 + "=" + "y" * 64 + "=" + "z" * 64) == []
        assert validate_pn("Doe^John" + " " * 10) == []  # trailing padding
        assert validate_pn("\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B") == []  # ESC is allowed
        assert PersonName("Doe^John").is_valid


PN_ORACLE_CASES = [
    "Adams^John Robert Quincy^^Rev.^B.A. M.Div.",
    "Morrison-Jones^Susan^^^Ph.D., Chief Executive Officer",
    "Doe^John",
    "Doe",
    "^John",
    "^^^^Jr.",
    "Smith^Fluffy",
    "Wang^XiaoDong=王^小東=",
    "Wang^XiaoDong=王^小東",
    "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "Hong^Gildong=洪^吉洞=홍^길동",
    "=山田^太郎",
    "==やまだ^たろう",
    "Yamada^Tarou==やまだ^たろう",
    "",
    "a^b^c^d^e",
    "a^b^c^d^e^f",
]


@pytest.mark.parametrize("text", PN_ORACLE_CASES)
def test_person_name_against_pydicom(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom_valuerep.PersonName(text)
    ours = PersonName(text)
    for attr in ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix",
                 "ideographic", "phonetic"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.components == tuple(theirs.components)
    assert ours.alphabetic == (theirs.alphabetic if text else "")


pn_component = st.text(
    alphabet=st.characters(blacklist_characters="^=\\", blacklist_categories=("Cc", "Cs", "Zs")),
    max_size=12)


@given(parts=st.lists(pn_component, min_size=5, max_size=5),
       ideo=st.one_of(st.none(), st.lists(pn_component, max_size=5)),
       phon=st.one_of(st.none(), st.lists(pn_component, max_size=5)))
def test_from_parts_round_trip(parts, ideo, phon):
    pn = PersonName.from_parts(*parts, ideographic=ideo, phonetic=phon)
    assert pn.group(0) == PNComponents(*parts)
    for i, g in ((1, ideo), (2, phon)):
        assert pn.group(i) == PNComponents(*(g or ()))
    # canonical: no trailing component or group delimiters
    assert not pn.endswith("=")
    for g in pn.split("="):
        assert not g.endswith("^")
    assert validate_pn(pn) == []
    assert PersonName(str(pn)) == pn


# ======================================================================================
# DA
# ======================================================================================

class TestDA:
    def test_full_date(self):
        d = DA("20240131")
        assert d == "20240131" and isinstance(d, str)
        assert d.value == dt.date(2024, 1, 31)
        assert d.precision == "day"
        assert not d.is_range and not d.is_empty and d.is_valid
        assert d.range is None and d.bounds is None
        assert repr(d) == "'20240131'"

    def test_from_date(self):
        assert DA(dt.date(2024, 2, 29)) == "20240229"
        assert DA(dt.date(5, 1, 2)) == "00050102"
        assert DA(dt.datetime(2024, 2, 29, 23, 59)) == "20240229"
        assert type(DA(dt.date(2024, 1, 1))) is DA

    def test_empty(self):
        for text in ("", "  ", "\x00"):
            d = DA(text)
            assert d.is_empty and d.value is None and d.precision is None and not d.is_range
        assert DA() == "" and DA("").is_valid

    @pytest.mark.parametrize("text, start, end", [
        ("20240101-20240131", dt.date(2024, 1, 1), dt.date(2024, 1, 31)),
        ("-20240101", None, dt.date(2024, 1, 1)),
        ("20240101-", dt.date(2024, 1, 1), None),
    ])
    def test_ranges(self, text, start, end):
        d = DA(text)
        assert d.is_range and d.value is None and d.precision is None
        assert d.range == (start, end)
        assert d == text
        assert d.is_valid
        assert validate_da(text, allow_range=False)
        b = d.bounds
        assert all(x is None or type(x) is DA for x in b)

    def test_acr_nema_dotted_form_is_read(self):
        d = DA("1993.08.22")
        assert d.value == dt.date(1993, 8, 22) and d.precision == "day"
        assert not d.is_valid
        assert "ACR-NEMA" in validate_da(d)[0]

    @pytest.mark.parametrize("text", [
        "20240230", "20231301", "2024013", "202401011", "2024", "202401", "abcdefgh",
        "2024-01-01x", "00000101", "2024.1.01", "2024/01/01", "２０２４０１０１", "-",
    ])
    def test_invalid(self, text):
        d = DA(text)  # never raises
        assert d.value is None
        assert not d.is_valid
        assert validate_da(text)

    def test_invalid_range_end(self):
        d = DA("20240101-2024")
        assert d.is_range and d.range == (dt.date(2024, 1, 1), None)
        assert d.bounds == (DA("20240101"), DA("2024"))
        assert not d.is_valid

    def test_padding_and_spaces(self):
        assert DA("20240101 ").value == dt.date(2024, 1, 1)
        assert validate_da("20240101 ") == []
        assert DA(" 20240101").value == dt.date(2024, 1, 1)  # tolerated
        assert validate_da(" 20240101") == ["leading spaces are not allowed"]
        assert validate_da("20240101\\20240102")

    def test_bytes(self):
        assert DA(b"20240101").value == dt.date(2024, 1, 1)
        with pytest.raises(DicomValueError):
            DA(20240101)

    def test_immutable_and_picklable(self):
        d = DA("20240101-")
        with pytest.raises(AttributeError):
            d.value = None
        for other in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
            assert type(other) is DA and other == d and other.range == d.range

    @given(st.dates())
    def test_round_trip(self, value):
        d = DA(value)
        assert len(d) == 8 and d.isdigit()
        assert d.value == value
        assert DA(str(d)).value == value
        assert d.is_valid


# ======================================================================================
# TM
# ======================================================================================

class TestTM:
    @pytest.mark.parametrize("text, value, precision", [
        ("07", dt.time(7), "hour"),
        ("0709", dt.time(7, 9), "minute"),
        ("070907", dt.time(7, 9, 7), "second"),
        ("070907.0705", dt.time(7, 9, 7, 70500), "fraction"),
        ("070907.7", dt.time(7, 9, 7, 700000), "fraction"),
        ("070907.123456", dt.time(7, 9, 7, 123456), "fraction"),
        ("000000", dt.time(0), "second"),
        ("0000", dt.time(0), "minute"),
        ("235959.999999", dt.time(23, 59, 59, 999999), "fraction"),
        ("1010 ", dt.time(10, 10), "minute"),
    ])
    def test_partial_values(self, text, value, precision):
        t = TM(text)
        assert t.value == value and t.precision == precision
        assert t.is_valid and validate_tm(text) == []
        assert t == text

    def test_leap_second(self):
        t = TM("235960")
        assert t.value == dt.time(23, 59, 59)  # clamped: datetime.time has no second 60
        assert t.is_valid  # the standard allows "60"
        assert TM("235960.5").value == dt.time(23, 59, 59, 500000)

    @pytest.mark.parametrize("text, value, precision", [
        ("12:30", dt.time(12, 30), "minute"),
        ("12:30:45", dt.time(12, 30, 45), "second"),
        ("12:30:45.5", dt.time(12, 30, 45, 500000), "fraction"),
    ])
    def test_acr_nema_colon_form_tolerated(self, text, value, precision):
        t = TM(text)
        assert t.value == value and t.precision == precision
        assert not t.is_valid and "ACR-NEMA" in validate_tm(text)[0]

    @pytest.mark.parametrize("text", [
        "1", "123", "12345", "1234567", "2400", "24", "1260", "126000", "123061",
        "123045.", "123045.1234567", "1230.5", "12:3", "12:30:4", "12:30:45:00", "ab",
        "12.5", "12:3045", "-",
    ])
    def test_invalid(self, text):
        t = TM(text)
        assert t.value is None and t.precision is None
        assert not t.is_valid and validate_tm(text)

    @pytest.mark.parametrize("text, start, end", [
        ("0800-1200", dt.time(8), dt.time(12)),
        ("-1200", None, dt.time(12)),
        ("083000.5-", dt.time(8, 30, 0, 500000), None),
    ])
    def test_ranges(self, text, start, end):
        t = TM(text)
        assert t.is_range and t.value is None and t.range == (start, end) and t.is_valid

    def test_from_time(self):
        assert TM(dt.time(7, 9, 7)) == "070907"
        assert TM(dt.time(7, 9, 7, 70500)) == "070907.070500"
        assert TM(dt.time(0)) == "000000"
        assert TM(dt.datetime(2024, 1, 1, 13, 14, 15)) == "131415"
        assert TM(dt.time(1, 2, 3, tzinfo=UTC)) == "010203"  # TM has no offset

    @given(st.times())
    def test_round_trip(self, value):
        t = TM(value)
        assert t.value == value
        assert t.precision == ("fraction" if value.microsecond else "second")
        assert len(t) in (6, 13)
        assert t.is_valid


# ======================================================================================
# DT
# ======================================================================================

class TestDT:
    @pytest.mark.parametrize("text, value, precision", [
        ("2024", dt.datetime(2024, 1, 1), "year"),
        ("202402", dt.datetime(2024, 2, 1), "month"),
        ("20240229", dt.datetime(2024, 2, 29), "day"),
        ("2024022913", dt.datetime(2024, 2, 29, 13), "hour"),
        ("202402291314", dt.datetime(2024, 2, 29, 13, 14), "minute"),
        ("20240229131415", dt.datetime(2024, 2, 29, 13, 14, 15), "second"),
        ("20240229131415.1", dt.datetime(2024, 2, 29, 13, 14, 15, 100000), "fraction"),
        ("20240229131415.123456", dt.datetime(2024, 2, 29, 13, 14, 15, 123456), "fraction"),
        ("20240229131415 ", dt.datetime(2024, 2, 29, 13, 14, 15), "second"),
    ])
    def test_partial_values(self, text, value, precision):
        d = DT(text)
        assert d.value == value and d.value.tzinfo is None
        assert d.precision == precision and d.is_valid and not d.is_range

    @pytest.mark.parametrize("text, value, precision", [
        ("20240101120000.123456+0100", dt.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=tz(60)),
         "fraction"),
        ("20240101120000-0500", dt.datetime(2024, 1, 1, 12, tzinfo=tz(-300)), "second"),
        ("2024+0000", dt.datetime(2024, 1, 1, tzinfo=UTC), "year"),
        ("2024-1200", dt.datetime(2024, 1, 1, tzinfo=tz(-720)), "year"),
        ("2024010112-0530", dt.datetime(2024, 1, 1, 12, tzinfo=tz(-330)), "hour"),
        ("20240101+1400", dt.datetime(2024, 1, 1, tzinfo=tz(840)), "day"),
    ])
    def test_offsets(self, text, value, precision):
        d = DT(text)
        assert not d.is_range
        assert d.value == value
        assert d.value.utcoffset() == value.utcoffset()
        assert d.precision == precision and d.is_valid

    @pytest.mark.parametrize("text, start, end", [
        ("20240101-20240201", dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)),
        ("-20240101", None, dt.datetime(2024, 1, 1)),
        ("20240101-", dt.datetime(2024, 1, 1), None),
        ("2023-2024", dt.datetime(2023, 1, 1), dt.datetime(2024, 1, 1)),
        ("-2024", None, dt.datetime(2024, 1, 1)),
        ("2024-", dt.datetime(2024, 1, 1), None),
        ("20240101120000+0100-20240102120000+0100",
         dt.datetime(2024, 1, 1, 12, tzinfo=tz(60)), dt.datetime(2024, 1, 2, 12, tzinfo=tz(60))),
        ("20240101-0500-20240102-0500",
         dt.datetime(2024, 1, 1, tzinfo=tz(-300)), dt.datetime(2024, 1, 2, tzinfo=tz(-300))),
        ("20240101-0500-", dt.datetime(2024, 1, 1, tzinfo=tz(-300)), None),
        ("-20240102-0500", None, dt.datetime(2024, 1, 2, tzinfo=tz(-300))),
        ("20240101000000.5-20240101000001",
         dt.datetime(2024, 1, 1, 0, 0, 0, 500000), dt.datetime(2024, 1, 1, 0, 0, 1)),
    ])
    def test_ranges(self, text, start, end):
        d = DT(text)
        assert d.is_range, text
        assert d.value is None and d.precision is None
        got = d.range
        assert got == (start, end)
        for g, e in zip(got, (start, end)):
            if e is not None:
                assert g.utcoffset() == e.utcoffset()
        assert d.is_valid
        assert validate_dt(text, allow_range=False)

    def test_range_dash_versus_offset(self):
        # An offset has 4 digits after its sign, as does a year: the text is one value when
        # its last 5 characters are a plausible offset (-1200..+1400 exist; -2025 does not).
        assert not DT("2024-0500").is_range
        assert DT("2024-2025").is_range
        assert not DT("20240101-1200").is_range
        assert DT("20240101-2024").is_range

    def test_leap_second(self):
        d = DT("20161231235960")
        assert d.value == dt.datetime(2016, 12, 31, 23, 59, 59) and d.is_valid

    @pytest.mark.parametrize("text", [
        "202", "20241", "2024010", "20241301", "20240230", "2024010124", "202401011260",
        "20240101126000", "20240101120061", "20240101120000.", "20240101120000.1234567",
        "2024010112.5", "20240101120000+01", "20240101120000+2400", "20240101120000+0160",
        "0000", "abcd", "2024 01", "+0100", "-", "2024-13",
    ])
    def test_invalid(self, text):
        d = DT(text)  # never raises
        assert d.value is None and d.precision is None
        assert not d.is_valid and validate_dt(text)

    def test_offset_problems(self):
        assert DT("20240101+1500").value == dt.datetime(2024, 1, 1, tzinfo=tz(900))
        assert validate_dt("20240101+1500") == ["UTC offset '+1500' is outside -1200..+1400"]
        assert any("-0000" in p for p in validate_dt("20240101-0000"))
        assert DT("20240101-0000").value == dt.datetime(2024, 1, 1, tzinfo=UTC)

    def test_from_datetime(self):
        assert DT(dt.datetime(2024, 1, 2, 3, 4, 5)) == "20240102030405"
        assert DT(dt.datetime(2024, 1, 2, 3, 4, 5, 6)) == "20240102030405.000006"
        assert DT(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz(-330))) == "20240102030405-0530"
        assert DT(dt.datetime(2024, 1, 2, tzinfo=UTC)) == "20240102000000+0000"
        assert DT(dt.date(2024, 1, 2)) == "20240102"
        with pytest.raises(DicomValueError, match="whole minutes"):
            DT(dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))))

    @given(st.datetimes(), st.one_of(st.none(), st.integers(-12 * 60, 14 * 60).map(tz)))
    def test_round_trip(self, value, tzinfo):
        value = value.replace(tzinfo=tzinfo)
        d = DT(value)
        assert d.value == value
        assert d.value.utcoffset() == value.utcoffset()
        assert d.precision == ("fraction" if value.microsecond else "second")
        assert not d.is_range and d.is_valid and len(d) <= 26

    @given(st.dates())
    def test_round_trip_dates(self, value):
        assert DT(value).value == dt.datetime(value.year, value.month, value.day)


# ======================================================================================
# DA/TM/DT against pydicom
# ======================================================================================

def _pydicom(cls, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return cls(text)
        except (ValueError, TypeError, OverflowError):
            return None


# Strings both read the same way (pydicom is right on these).
DA_ORACLE = ["20240131", "19930822", "00010101", "99991231", "20240229", "1993.08.22"]
TM_ORACLE = ["07", "0709", "070907", "070907.0705", "070907.1", "235959.999999", "000000",
             "235960", "1200"]
DT_ORACLE = ["2024", "202402", "20240229", "2024022913", "202402291314", "20240229131415",
             "20240229131415.1", "20240229131415.123456", "20240101120000.123456+0100",
             "20240101120000-0500", "2024+0100", "2024010112-0530", "20161231235960",
             "2024+0000", "2024-1200"]


@pytest.mark.parametrize("text", DA_ORACLE)
def test_da_against_pydicom(text):
    theirs = _pydicom(pydicom_valuerep.DA, text)
    assert theirs is not None
    assert DA(text).value == dt.date(theirs.year, theirs.month, theirs.day)


@pytest.mark.parametrize("text", TM_ORACLE)
def test_tm_against_pydicom(text):
    theirs = _pydicom(pydicom_valuerep.TM, text)
    assert theirs is not None
    assert TM(text).value == dt.time(theirs.hour, theirs.minute, theirs.second, theirs.microsecond)


def _same_datetime(ours, theirs):
    plain = dt.datetime(theirs.year, theirs.month, theirs.day, theirs.hour, theirs.minute,
                        theirs.second, theirs.microsecond, tzinfo=theirs.tzinfo)
    assert ours == plain
    assert ours.utcoffset() == plain.utcoffset()


@pytest.mark.parametrize("text", DT_ORACLE)
def test_dt_against_pydicom(text):
    theirs = _pydicom(pydicom_valuerep.DT, text)
    assert theirs is not None
    _same_datetime(DT(text).value, theirs)


@pytest.mark.parametrize("cls, theirs_cls, text", [
    (DA, "DA", "20240230"), (DA, "DA", "2024"), (DA, "DA", "20240101-"),
    (TM, "TM", "1"), (TM, "TM", "2400"), (TM, "TM", "126000"), (TM, "TM", "1200-"),
    (DT, "DT", "20241301"), (DT, "DT", "2024010124"), (DT, "DT", "20240101+2400"),
])
def test_invalid_for_both(cls, theirs_cls, text):
    assert _pydicom(getattr(pydicom_valuerep, theirs_cls), text) is None
    assert cls(text).value is None


def test_where_pydicom_differs_from_the_standard():
    # pydicom 3 reads these; PS3.5 Table 6.2-1 does not allow them, so we do not.
    # "The Fractional Second component, if present, shall contain 1 to 6 digits. If
    # Fractional Second is unspecified the preceding '.' shall not be included."
    for cls, text in [(DT, "20240101123045.1234567"), (DT, "20240101123045."),
                      (TM, "123045."), (DT, "2024010112304")]:
        assert _pydicom(getattr(pydicom_valuerep, cls.__name__), text) is not None
        assert cls(text).value is None and not cls(text).is_valid
    # pydicom takes the range dash for a UTC offset sign ("-2024" as -20:24).
    theirs = _pydicom(pydicom_valuerep.DT, "20240101-20240201")
    assert theirs is not None and theirs.utcoffset() == -dt.timedelta(hours=20, minutes=24)
    assert DT("20240101-20240201").is_range
    # pydicom 3 no longer reads the ACR-NEMA "HH:MM:SS" time, which older editions of
    # PS3.5 recommended supporting; we still read it (flagged by is_valid).
    assert _pydicom(pydicom_valuerep.TM, "12:30:45") is None
    assert TM("12:30:45").value == dt.time(12, 30, 45)


@st.composite
def dt_texts(draw):
    """DT (and, via prefixes, DA/TM) text at any precision, with an optional offset."""
    value = draw(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
    n = draw(st.sampled_from([4, 6, 8, 10, 12, 14]))
    text = (f"{value.year:04d}{value.month:02d}{value.day:02d}"
            f"{value.hour:02d}{value.minute:02d}{value.second:02d}")[:n]
    if n == 14 and draw(st.booleans()):
        text += "." + f"{value.microsecond:06d}"[:draw(st.integers(1, 6))]
    if draw(st.booleans()):
        minutes = draw(st.integers(-12 * 60, 14 * 60))
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return text


@settings(max_examples=200)
@given(dt_texts())
@example("2024-0000")
@example("00010101-0100")
def test_dt_against_pydicom_generated(text):
    theirs = _pydicom(pydicom_valuerep.DT, text)
    ours = DT(text)
    assert theirs is not None
    assert not ours.is_range
    assert ours.is_valid != text.endswith("-0000")  # RFC 2822's -0000 is not allowed in DT
    _same_datetime(ours.value, theirs)


@settings(max_examples=200)
@given(st.times(), st.sampled_from([2, 4, 6, 8, 9, 10, 11, 12, 13]))
def test_tm_against_pydicom_generated(value, n):
    text = value.strftime("%H%M%S.%f")[:n]
    theirs = _pydicom(pydicom_valuerep.TM, text)
    ours = TM(text)
    assert theirs is not None
    assert ours.value == dt.time(theirs.hour, theirs.minute, theirs.second, theirs.microsecond)
    assert ours.precision == {2: "hour", 4: "minute", 6: "second"}.get(n, "fraction")


@settings(max_examples=300)
@given(st.text(alphabet="0123456789+-.: \x00\\aZ", max_size=40))
@example("20240101-0500-20240102-0500")
@example("0001-0100")
def test_date_time_types_never_raise(text):
    for cls, validate in ((DA, validate_da), (TM, validate_tm), (DT, validate_dt)):
        v = cls(text)
        v.value, v.precision, v.is_range, v.is_empty, v.range, v.bounds
        to_datetime64(v)
        assert v.is_valid == (validate(text) == [])
        if v.is_valid and v.is_range:
            assert all(b is None or b.value is not None for b in v.bounds)
        elif v.is_valid and not v.is_empty:
            assert v.value is not None and v.precision is not None


@given(st.text(max_size=80))
def test_person_name_never_raises(text):
    pn = PersonName(text)
    pn.components, pn.alphabetic, pn.ideographic, pn.phonetic, pn.family_name, pn.name_suffix
    for i in range(3):
        assert len(pn.group(i)) == 5
    assert isinstance(validate_pn(text), list)


# ======================================================================================
# IS
# ======================================================================================

class TestIS:
    @pytest.mark.parametrize("text, value", [
        ("12", 12), (" 12", 12), ("12 ", 12), ("+12", 12), ("-12", -12), ("0012", 12),
        ("-0", 0), ("2147483647", 2**31 - 1), ("-2147483648", -(2**31)),
    ])
    def test_from_text(self, text, value):
        n = IS(text)
        assert n == value and isinstance(n, int)
        assert n.original == text and str(n) == text
        assert f"{n}" == text
        assert repr(n) == repr(text)

    def test_from_number(self):
        n = IS(12)
        assert n == 12 and n.original is None and str(n) == "12" and repr(n) == "'12'"
        assert IS(3.0) == 3 and IS(Decimal("4")) == 4 and IS(np.int64(5)) == 5 and IS(np.float32(6)) == 6
        assert IS(True) == 1
        assert IS(-(2**31)) == -(2**31)
        for bad in (2**31, -(2**31) - 1, 1.5, float("nan"), float("inf"), Decimal("1.5"), None, [1]):
            with pytest.raises(DicomValueError):
                IS(bad)

    def test_tolerated_float_text(self, caplog):
        with caplog.at_level(logging.WARNING, logger="pacsnb.dicom.values"):
            n = IS("1.0")
        assert n == 1 and n.original == "1.0" and str(n) == "1.0"
        assert "not an integer string" in caplog.text
        assert IS("1e3") == 1000
        assert validate_is("1.0")

    def test_out_of_range_text_kept(self, caplog):
        with caplog.at_level(logging.WARNING, logger="pacsnb.dicom.values"):
            n = IS("2147483648")
        assert n == 2**31 and str(n) == "2147483648"
        assert "out of the range" in caplog.text
        assert validate_is("2147483648") == ["2147483648 is out of the range -2147483648..2147483647"]

    @pytest.mark.parametrize("text", ["", "  ", "abc", "1.5", "1_000", "0x10", "1e-3", "nan", "inf"])
    def test_invalid_text(self, text):
        with pytest.raises(DicomValueError):
            IS(text)

    def test_arithmetic_gives_int(self):
        n = IS(" 5")
        assert type(n + 1) is int and n + 1 == 6 and n * 2 == 10
        assert IS(n) is n

    def test_immutable_and_picklable(self):
        n = IS(" +7")
        with pytest.raises(AttributeError):
            n.original = "7"
        with pytest.raises(AttributeError):
            del n.original
        for other in (pickle.loads(pickle.dumps(n)), copy.deepcopy(n), copy.copy(n)):
            assert type(other) is IS and other == 7 and other.original == " +7"
        assert pickle.loads(pickle.dumps(IS(7))).original is None

    def test_against_pydicom(self):
        for text in ["12", " 12", "+12", "-3", "1.0", "1e3", "2147483648"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert IS(text) == pydicom_valuerep.IS(text)

    def test_format_is(self):
        assert format_is(12) == "12"
        assert format_is(-7.0) == "-7"
        assert format_is(" +0012 ") == "12"
        assert format_is(IS(" 5")) == "5"
        for bad in (2**31, 1.5, "x"):
            with pytest.raises(DicomValueError):
                format_is(bad)

    def test_validate_is(self):
        assert validate_is("") == [] and validate_is(" -12") == [] and validate_is("+2147483647") == []
        assert validate_is("1 2") == ["'1 2' has embedded spaces"]
        assert any("13 characters" in p for p in validate_is("0000000000012"))
        assert validate_is("--1") == ["'--1' is not an integer"]

    @given(st.integers(-(2**31), 2**31 - 1), st.text(" ", max_size=3), st.text(" ", max_size=3),
           st.sampled_from(["", "+"]))
    def test_original_kept(self, value, lead, trail, plus):
        text = f"{lead}{plus if value >= 0 else ''}{value}{trail}"
        n = IS(text)
        assert n == value and n.original == text and str(n) == text
        assert str(IS(value)) == format_is(value) == str(value)


# ======================================================================================
# DS
# ======================================================================================

DS_CHARS = set("0123456789+-Ee.")


class TestDS:
    @pytest.mark.parametrize("text, value", [
        ("1.5", 1.5), (" 1.50 ", 1.5), ("+.5", 0.5), ("5.", 5.0), ("-0", -0.0), ("1e3", 1000.0),
        ("1.5E-3", 0.0015), ("  -2.5e+2", -250.0), ("0012", 12.0), ("3", 3.0),
    ])
    def test_from_text(self, text, value):
        d = DS(text)
        assert d == value and isinstance(d, float)
        assert d.original == text and str(d) == text and f"{d}" == text
        assert repr(d) == repr(text)

    def test_from_number(self):
        d = DS(1.5)
        assert d.original is None and str(d) == "1.5" and repr(d) == "'1.5'"
        assert str(DS(1 / 3)) == "0.33333333333333"
        assert str(DS(Decimal("1.10"))) == "1.1"
        assert str(DS(3)) == "3" and str(DS(-0.0)) == "-0" and str(DS(512.0)) == "512"
        assert DS(np.float32(0.5)) == 0.5 and DS(np.float64(2)) == 2
        assert f"{DS(1 / 3):.3f}" == "0.333"
        for bad in (float("nan"), float("inf"), -float("inf"), 10**400, None, "x".encode("utf-16")):
            with pytest.raises(DicomValueError):
                DS(bad)

    def test_non_finite_text_is_kept(self, caplog):
        with caplog.at_level(logging.WARNING, logger="pacsnb.dicom.values"):
            d = DS("NaN")
        assert math.isnan(d) and str(d) == "NaN"
        assert "not a finite number" in caplog.text
        assert math.isinf(DS("1e400"))
        assert validate_ds("NaN")

    @pytest.mark.parametrize("text", ["", " ", "abc", "1_0", "1.2.3", "0x1p3", "1,5"])
    def test_invalid_text(self, text):
        with pytest.raises(DicomValueError):
            DS(text)

    def test_arithmetic_immutability_pickle(self):
        d = DS(" 2.50")
        assert type(d * 2) is float and d * 2 == 5.0
        assert DS(d) is d
        with pytest.raises(AttributeError):
            d.original = "x"
        for other in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d), copy.copy(d)):
            assert type(other) is DS and other == 2.5 and other.original == " 2.50"
        assert pickle.loads(pickle.dumps(DS(0.1))).original is None

    def test_against_pydicom(self):
        for text in [" 1.50 ", "1e3", "+.5", "-0.000001", "123456789012345"]:
            assert DS(text) == float(pydicom_valuerep.DSfloat(text))
            assert DS(text).original == text

    def test_validate_ds(self):
        assert validate_ds("") == [] and validate_ds(" -1.5e-3 ") == [] and validate_ds("1E10") == []
        assert validate_ds("1 .5") == ["'1 .5' has embedded spaces"]
        assert any("17 characters" in p for p in validate_ds("1.000000000000001"))
        assert validate_ds("1e") == ["'1e' is not a number"]
        assert validate_ds("inf")

    @pytest.mark.parametrize("x, text", [
        (0.0, "0"), (-0.0, "-0"), (5.0, "5"), (-1e15, "-1e15"), (1e15, "1000000000000000"),
        (0.5, "0.5"), (1e16, "1e+16"), (1.5e15, "1500000000000000"),
        (123456789.12345678, "123456789.123457"), (2 / 3, "0.66666666666667"),
        (-2 / 3, "-0.6666666666667"), (1e-5, "1e-05"), (5e-324, "5e-324"),
        (-1.2345678901234567e-100, "-1.23456789e-100"),
        # rounding up would overflow to inf: the digits are cut instead
        (1.7976931348623157e308, "1.7976931348e308"), (-1.7976931348623157e308, "-1.797693134e308"),
        (0.00012345678901234567, "1.23456789012e-4"), (1234567890123456.7, "1234567890123457"),
        (12345678901234567.0, "1.23456789012e16"),
    ])
    def test_format_ds_examples(self, x, text):
        assert format_ds(x) == text
        assert len(text) <= 16

    @pytest.mark.parametrize("x", [float("nan"), float("inf"), -float("inf"), "abc", None])
    def test_format_ds_rejects(self, x):
        with pytest.raises(DicomValueError):
            format_ds(x)

    @given(st.floats(allow_nan=False, allow_infinity=False))
    @example(2.2250738585072014e-308)
    @example(-9.999999999999999e-100)
    @example(9.9999999999999999e15)
    @example(-1.2345678901234567e-10)
    @example(1.7976931348500002e+308)
    @example(-1.7976931345e+308)
    def test_format_ds_property(self, x):
        text = format_ds(x)
        assert 1 <= len(text) <= 16
        assert set(text) <= DS_CHARS
        assert validate_ds(text) == []
        y = float(text)
        if len(repr(x)) <= 16:
            assert y == x and text == repr(x).removesuffix(".0")  # exact when the shortest text fits
        if x == 0:
            assert y == 0 and math.copysign(1, y) == math.copysign(1, x)
            return
        rel = abs(y - x) / abs(x)
        # 16 characters leave at least 11 significant digits for 1e-9 <= |x| < 1e100 and at
        # least 9 anywhere (e.g. "-1.23456789e-100").
        if 1e-9 <= abs(x) < 1e100:
            assert rel < 1e-10
        else:
            assert rel < 1e-8
        assert str(DS(x)) == text and DS(text) == y

    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_format_ds_at_least_as_close_as_pydicom(self, x):
        # pydicom.valuerep.format_number_as_ds also fits a float into 16 characters.
        theirs = pydicom_valuerep.format_number_as_ds(x)
        ours = format_ds(x)
        assert len(theirs) <= 16
        assert abs(float(ours) - x) <= abs(float(theirs) - x)

    @given(st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda s: len(s) <= 16),
           st.text(" ", max_size=2))
    def test_original_kept(self, text, pad):
        d = DS(pad + text + pad)
        assert str(d) == pad + text + pad and d == float(text)


# ======================================================================================
# multi-valued text, numpy
# ======================================================================================

def test_parse_multi():
    assert parse_multi("") == []
    assert parse_multi("ORIGINAL") == ["ORIGINAL"]
    assert parse_multi("ORIGINAL\\PRIMARY\\AXIAL") == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert parse_multi("1\\") == ["1", ""]
    assert parse_multi("\\") == ["", ""]
    assert parse_multi("Doe^John\\Smith^Jane") == ["Doe^John", "Smith^Jane"]
    assert [DS(v) for v in parse_multi("0.5\\0.25")] == [0.5, 0.25]


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\\"), max_size=5), min_size=1))
def test_parse_multi_round_trip(vals):
    text = "\\".join(vals)
    assume(text != "")
    assert parse_multi(text) == vals


class TestToDatetime64:
    def test_da(self):
        v = to_datetime64(DA("20240131"))
        assert v == np.datetime64("2024-01-31") and v.dtype == np.dtype("datetime64[D]")

    def test_dt(self):
        assert to_datetime64(DT("20240131123456.5")) == np.datetime64("2024-01-31T12:34:56.500000")
        assert to_datetime64(DT("2024")) == np.datetime64("2024-01-01T00:00:00")
        # aware values are converted to UTC
        assert to_datetime64(DT("20240101000000+0100")) == np.datetime64("2023-12-31T23:00")
        assert to_datetime64(DT("00010101+0100")) == np.datetime64("0000-12-31T23:00")
        assert to_datetime64(DT("20240101-0530")) == np.datetime64("2024-01-01T05:30")

    def test_tm_is_time_since_midnight(self):
        t = to_datetime64(TM("123045.5"))
        assert t == np.timedelta64(45045500000, "us")
        assert to_datetime64(DA("20240131")) + t == np.datetime64("2024-01-31T12:30:45.5")

    @pytest.mark.parametrize("value", [
        None, DA(""), DA("20240101-"), DA("20240230"), TM(""), TM("1200-1300"), TM("99"),
        DT(""), DT("2023-2024"), DT("2024013"),
    ])
    def test_nat(self, value):
        assert np.isnat(to_datetime64(value))

    def test_plain_objects(self):
        assert to_datetime64(dt.date(2024, 1, 2)) == np.datetime64("2024-01-02")
        assert to_datetime64(dt.datetime(2024, 1, 2, 3, tzinfo=UTC)) == np.datetime64("2024-01-02T03:00")
        assert to_datetime64(dt.time(1)) == np.timedelta64(3600, "s")

    def test_plain_str_rejected(self):
        with pytest.raises(DicomValueError, match="DA, TM or DT"):
            to_datetime64("20240101")
        with pytest.raises(DicomValueError):
            to_datetime64(5)


def test_public_names():
    for name in V.__all__:
        obj = getattr(V, name)
        assert obj.__doc__, name
