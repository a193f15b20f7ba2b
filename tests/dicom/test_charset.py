"""Tests of pacsnb.dicom.charset: Specific Character Set (PS3.5 6.1, PS3.3 C.12.1.1.2).

Oracles: pydicom (its charset test files, its value decoding and its table of Python
codecs), Python's own codecs read independently of the module (ISO-2022-JP, ISO-2022-KR,
HZ), and the byte listings of the examples in PS3.5 Annexes H, I, J and K.
"""
from __future__ import annotations

import codecs
import logging
import os
import re

import pytest

pydicom = pytest.importorskip("pydicom")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pydicom import charset as pyd_charset  # noqa: E402
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.datadict import dictionary_VR  # noqa: E402

from pacsnb.dicom import charset as cs  # noqa: E402
from pacsnb.dicom.charset import (  # noqa: E402
    CHARSET_VRS,
    DEFAULT_CHARSET,
    DEFINED_TERMS,
    decode_text,
    encode_text,
    normalize_charsets,
)
from pacsnb.errors import CharsetError, PacsnbError  # noqa: E402

ESC = b"\x1b"
LOGGER = "pacsnb.dicom.charset"


@pytest.fixture(autouse=True)
def _fresh_warnings():
    # normalize_charsets warns once per distinct input and process: start each test anew
    cs._normalize_cached.cache_clear()
    cs._context_cached.cache_clear()
    yield


# --------------------------------------------------------------------------------------
# Defined Terms (PS3.3 Tables C.12-2 to C.12-5)
# --------------------------------------------------------------------------------------

SINGLE_BYTE = ["ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 144",
               "ISO_IR 127", "ISO_IR 126", "ISO_IR 138", "ISO_IR 148", "ISO_IR 203",
               "ISO_IR 166", "ISO_IR 13"]
SINGLE_BYTE_2022 = ["ISO 2022 IR 6"] + [t.replace("ISO_IR ", "ISO 2022 IR ")
                                        for t in SINGLE_BYTE]
MULTI_BYTE_2022 = ["ISO 2022 IR 87", "ISO 2022 IR 159", "ISO 2022 IR 149",
                   "ISO 2022 IR 58"]
STANDALONE = ["ISO_IR 192", "GB18030", "GBK"]

# Python codec of each repertoire, as an oracle independent of the module's tables.
ORACLE_CODEC = {
    "100": "latin_1", "101": "iso8859_2", "109": "iso8859_3", "110": "iso8859_4",
    "144": "iso8859_5", "127": "iso8859_6", "126": "iso8859_7", "138": "iso8859_8",
    "148": "iso8859_9", "203": "iso8859_15", "166": "tis_620",
}
# The escape sequence that designates each single-byte G1 set (PS3.3 Table C.12-3).
G1_FINAL = {"100": b"A", "101": b"B", "109": b"C", "110": b"D", "144": b"L",
            "127": b"G", "126": b"F", "138": b"H", "148": b"M", "203": b"b",
            "166": b"T"}


def test_default_charset_is_the_ascii_codec():
    assert codecs.lookup(DEFAULT_CHARSET).name == "ascii"


def test_all_defined_terms_are_covered():
    expected = {"", *SINGLE_BYTE, *SINGLE_BYTE_2022, *MULTI_BYTE_2022, *STANDALONE}
    assert set(DEFINED_TERMS) == expected
    assert CHARSET_VRS == {"SH", "LO", "ST", "LT", "PN", "UT", "UC"}


@pytest.mark.parametrize("term", [t for t in DEFINED_TERMS if t])
def test_defined_terms_normalize_to_themselves_without_warning(term, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        got = normalize_charsets(term)
    if term in MULTI_BYTE_2022:
        # Table C.12-4 terms are for values 2 to n; alone, value 1 is the default.
        assert got == ("", term)
        assert "cannot be value 1" in caplog.text
    else:
        assert got == (term,)
        assert caplog.text == ""
    if term in SINGLE_BYTE_2022 or term in MULTI_BYTE_2022:
        assert normalize_charsets(["", term]) == ("", term)


@pytest.mark.parametrize("value, expected", [
    (None, ("",)),
    ("", ("",)),
    ((), ("",)),
    ([], ("",)),
    (b"ISO_IR 100", ("ISO_IR 100",)),
    ("ISO_IR 100 ", ("ISO_IR 100",)),
    (" ISO_IR 100\x00", ("ISO_IR 100",)),
    (["", "ISO 2022 IR 87"], ("", "ISO 2022 IR 87")),
    (("", "ISO 2022 IR 87"), ("", "ISO 2022 IR 87")),
    ("\\ISO 2022 IR 87", ("", "ISO 2022 IR 87")),
    (b"\\ISO 2022 IR 149 ", ("", "ISO 2022 IR 149")),
    ("ISO 2022 IR 100\\ISO 2022 IR 87", ("ISO 2022 IR 100", "ISO 2022 IR 87")),
    (["ISO 2022 IR 13", "ISO 2022 IR 87", "ISO 2022 IR 159"],
     ("ISO 2022 IR 13", "ISO 2022 IR 87", "ISO 2022 IR 159")),
    (["", "ISO 2022 IR 87", "ISO 2022 IR 87", ""], ("", "ISO 2022 IR 87")),
])
def test_normalize_charsets_clean_values(value, expected, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert normalize_charsets(value) == expected
    assert caplog.text == ""


@pytest.mark.parametrize("value, expected, says", [
    ("ISO_IR100", ("ISO_IR 100",), "ISO_IR100"),
    ("ISO-IR 100", ("ISO_IR 100",), "ISO-IR 100"),
    ("ISO IR 100", ("ISO_IR 100",), "ISO IR 100"),
    ("iso_ir 144", ("ISO_IR 144",), "iso_ir 144"),
    ("ISO2022 IR 100", ("ISO 2022 IR 100",), "ISO2022 IR 100"),
    ("UTF-8", ("ISO_IR 192",), "UTF-8"),
    ("utf8", ("ISO_IR 192",), "utf8"),
    ("ISO_IR 192 (UTF-8)", ("ISO_IR 192",), "UTF-8"),
    ("GB2312", ("GBK",), "GB2312"),
    ("ISO 2022 GBK", ("GBK",), "GBK"),
    ("ISO 2022 58", ("", "ISO 2022 IR 58"), "ISO 2022 58"),
    ("ISO_IR 6", ("",), "ISO_IR 6"),
    ("ISO-8859-1", ("ISO_IR 100",), "ISO-8859-1"),
    ("latin1", ("ISO_IR 100",), "latin1"),
    ("KLINGON", ("",), "unknown term 'KLINGON'"),
    (["", "ISO 2022 IR 87", "FOO"], ("", "ISO 2022 IR 87"), "unknown term 'FOO'"),
    # terms without code extensions in a multi-valued list (see dcm4che issue 869)
    ("ISO_IR 13\\ISO 2022 IR 87", ("ISO 2022 IR 13", "ISO 2022 IR 87"), "ISO_IR 13"),
    (["ISO_IR 100", "ISO_IR 126"], ("ISO 2022 IR 100", "ISO 2022 IR 126"), "ISO_IR 126"),
    # stand-alone codes allow no code extensions (PS3.5 6.1.2.4)
    (["ISO_IR 192", "ISO 2022 IR 87"], ("ISO_IR 192",), "no code extensions"),
    (["", "ISO_IR 192"], ("ISO_IR 192",), "no code extensions"),
    # a multi-byte set as value 1
    (["ISO 2022 IR 87", "ISO 2022 IR 159"], ("", "ISO 2022 IR 87", "ISO 2022 IR 159"),
     "cannot be value 1"),
])
def test_normalize_charsets_tolerates_with_warning(value, expected, says, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert normalize_charsets(value) == expected
    assert says in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):   # once per distinct input
        assert normalize_charsets(value) == expected
    assert caplog.text == ""


def test_normalize_charsets_rejects_other_types():
    with pytest.raises(TypeError):
        normalize_charsets(100)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Every repertoire, code position by code position, against Python's codecs
# --------------------------------------------------------------------------------------

def _single_byte_positions(codec: str) -> bytes:
    """GL graphic bytes plus every GR byte the oracle codec defines."""
    gl = bytes(range(0x20, 0x7F))
    gr = bytes(b for b in range(0x80, 0x100) if _decodes(bytes((b,)), codec))
    return gl + gr


def _decodes(b: bytes, codec: str) -> bool:
    try:
        b.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("term", SINGLE_BYTE)
def test_single_byte_terms_whole_code_table(term):
    if term == "ISO_IR 13":
        # JIS X 0201: ISO-IR 14 romaji (read as ASCII, like pydicom) + katakana A1-DF
        raw = bytes(range(0x20, 0x7F)) + bytes(range(0xA1, 0xE0))
        expected = raw.decode("shift_jis")
        assert expected[-63:] == "".join(chr(c) for c in range(0xFF61, 0xFFA0))
    else:
        codec = ORACLE_CODEC[term.split()[-1]]
        raw = _single_byte_positions(codec)
        expected = raw.decode(codec)
        if term == "ISO_IR 100":
            assert len(raw) == 95 + 128
    # pydicom agrees (its table maps the Defined Term to a Python codec); pydicom 3.0
    # has no entry for ISO_IR 203 (Latin alphabet No. 9, ISO 8859-15), whose oracle is
    # then Python's iso8859_15 alone.
    if term != "ISO_IR 203":
        assert expected == raw.decode(pyd_charset.python_encoding[term])
    assert decode_text(raw, term, "LT", strict=True) == expected
    assert encode_text(expected, term, "LT") == raw


@pytest.mark.parametrize("term", [t for t in SINGLE_BYTE_2022 if t not in
                                  ("ISO 2022 IR 6", "ISO 2022 IR 13")])
def test_single_byte_2022_terms_with_escape_sequences(term):
    num = term.split()[-1]
    codec = ORACLE_CODEC[num]
    gr = bytes(b for b in range(0xA0, 0x100) if _decodes(bytes((b,)), codec))
    expected = "abc" + gr.decode(codec) + "xyz"
    # as value 2: the G1 set must be designated by ESC 02/13 F (Table C.12-3)
    raw = b"abc" + ESC + b"-" + G1_FINAL[num] + gr + b"xyz"
    assert decode_text(raw, ["", term], "LT", strict=True) == expected
    assert encode_text(expected, ["", term], "LT") == raw
    # as value 1: designated from the start, no escape sequence needed
    assert decode_text(b"abc" + gr + b"xyz", [term, "ISO 2022 IR 87"], "LT",
                       strict=True) == expected
    assert encode_text(expected, [term, "ISO 2022 IR 87"], "LT") == b"abc" + gr + b"xyz"


def test_iso_2022_ir_6_and_13():
    assert decode_text(b"ABC", "ISO 2022 IR 6") == "ABC"
    kana = "".join(chr(c) for c in range(0xFF61, 0xFFA0))
    raw = b"ab" + ESC + b")I" + bytes(range(0xA1, 0xE0)) + b"cd"
    assert decode_text(raw, ["", "ISO 2022 IR 13"], "LO", strict=True) == "ab" + kana + "cd"
    assert encode_text("ab" + kana + "cd", ["", "ISO 2022 IR 13"], "LO") == raw
    # value 1 ISO 2022 IR 13: ISO-IR 14 in G0 and ISO-IR 13 in G1 from the start
    assert encode_text("ab" + kana, ["ISO 2022 IR 13", "ISO 2022 IR 87"]) == \
        b"ab" + bytes(range(0xA1, 0xE0))


def _dbcs_oracle(term: str) -> dict[bytes, str]:
    """GL pair -> character, read with Python's ISO 2022 (or HZ) codecs."""
    out = {}
    for r in range(0x21, 0x7F):
        for c in range(0x21, 0x7F):
            pair = bytes((r, c))
            try:
                if term == "ISO 2022 IR 87":
                    ch = (ESC + b"$B" + pair).decode("iso2022_jp")
                elif term == "ISO 2022 IR 159":
                    ch = (ESC + b"$(D" + pair).decode("iso2022_jp_2")
                elif term == "ISO 2022 IR 149":
                    ch = (ESC + b"$)C\x0e" + pair + b"\x0f").decode("iso2022_kr")
                else:
                    ch = (b"~{" + pair + b"~}").decode("hz")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                out[pair] = ch
    return out


_ORACLES: dict[str, dict[bytes, str]] = {}


def dbcs(term: str) -> dict[bytes, str]:
    if term not in _ORACLES:
        _ORACLES[term] = _dbcs_oracle(term)
    return _ORACLES[term]


@pytest.mark.parametrize("term, escape, g1, size", [
    ("ISO 2022 IR 87", b"$B", False, 6879),      # JIS X 0208-1990
    ("ISO 2022 IR 159", b"$(D", False, 6067),    # JIS X 0212-1990
    ("ISO 2022 IR 149", b"$)C", True, 8226),     # KS X 1001 (with HANGUL FILLER)
    ("ISO 2022 IR 58", b"$)A", True, 7445),      # GB 2312
])
def test_multi_byte_2022_terms_whole_code_table(term, escape, g1, size):
    table = dbcs(term)
    assert len(table) == size
    pairs = b"".join(table)
    if g1:
        pairs = bytes(b | 0x80 for b in pairs)
    text = "".join(table.values())
    raw = b"A" + ESC + escape + pairs + (b"" if g1 else ESC + b"(B") + b"Z"
    assert decode_text(raw, ["", term], "LT", strict=True) == "A" + text + "Z"
    # JIS X 0212 has TILDE (0x2237) because ISO-IR 14 has OVERLINE at 0x7E; written
    # with code extensions it is ISO-IR 6 (value 1) that has it first.
    ascii_too = {k for k, ch in table.items() if ch.isascii()}
    assert ascii_too == ({b"\x22\x37"} if term == "ISO 2022 IR 159" else set())
    table = {k: ch for k, ch in table.items() if k not in ascii_too}
    pairs = b"".join(bytes(b | (0x80 if g1 else 0) for b in k) for k in table)
    raw = b"A" + ESC + escape + pairs + (b"" if g1 else ESC + b"(B") + b"Z"
    assert encode_text("A" + "".join(table.values()) + "Z", ["", term], "LT") == raw
    assert encode_text("~", ["", term], "LT") == b"~"


@pytest.mark.parametrize("term, codec", [("ISO_IR 192", "utf_8"), ("GB18030", "gb18030"),
                                         ("GBK", "gbk")])
def test_standalone_multi_byte_terms(term, codec):
    text = "Wang^XiaoDong=王^小东=中文 ½ é 한글 ひらがな"
    if term == "GBK":
        text = "Wang^XiaoDong=王^小东=中文 é ひらがな"
    raw = text.encode(codec)
    assert decode_text(raw, term, "PN", strict=True) == text
    assert encode_text(text, term, "PN") == raw


def test_gbk_trail_byte_backslash_is_not_a_delimiter():
    # GBK/GB18030 trail bytes include 0x40-0x7E: the value must be decoded before it is
    # split at backslashes (there are no code extensions, so the whole value decodes).
    ch = next(chr(c) for c in range(0x4E00, 0x9FA6) if chr(c).encode("gbk")[1:] == b"\\")
    raw = (ch + "\\" + ch).encode("gbk")
    assert raw.count(b"\\") == 3
    for term in ("GBK", "GB18030"):
        assert decode_text(raw, term, "LO").split("\\") == [ch, ch]
        assert encode_text(ch + "\\" + ch, term, "LO") == raw


# --------------------------------------------------------------------------------------
# pydicom's charset test files: every file, every element of a charset VR
# --------------------------------------------------------------------------------------

CHARSET_DIR = os.path.join(os.path.dirname(pydicom.__file__), "data", "charset_files")
CHARSET_FILES = sorted(f for f in os.listdir(CHARSET_DIR) if f.endswith(".dcm"))


def _drop_return_to_ascii(raw: bytes) -> bytes:
    return raw.replace(ESC + b"(B", b"")


def _romaji_return(raw: bytes) -> bytes:
    return raw.replace(ESC + b"(B", ESC + b"(J")


# Elements whose bytes are valid but not what encode_text writes.  Each entry says why
# and gives the bytes encode_text must write instead (which must decode to the same text).
NON_CANONICAL = {
    # G0 never left ISO-IR 6 (KS X 1001 lives in G1), so ESC 02/08 04/02 is redundant;
    # PS3.5 Annex I (Example I.2-1) writes no such sequence.
    **{("chrKoreanMulti.dcm", p): _drop_return_to_ascii
       for p in ("(0008,1070)", "(0010,0010)", "(0010,1001)", "(0010,21B0)")},
    # Value 1 is ISO 2022 IR 13, whose G0 set is ISO-IR 14: PS3.5 Example H.3-2 returns
    # with ESC 02/08 04/10 ("ESC ( J"); these items return with ESC ( B (ISO-IR 6),
    # which is legal but not the initial code element.
    ("chrSQEncoding.dcm", "(0032,1064)[0](0010,0010)"): _romaji_return,
    ("chrSQEncoding1.dcm", "(0032,1064)[0](0010,0010)"): _romaji_return,
}


def _pydicom_values(value, vr: str) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value]
    return [str(value)]


def _my_values(text: str, vr: str) -> list[str]:
    if vr in ("LT", "ST", "UT"):
        return [text.rstrip(" ")]
    return [v.strip(" ") for v in text.split("\\")]


def _walk(ds, charsets, path=""):
    """Yield (path, vr, raw bytes, pydicom's value, charsets) for charset VRs, recursing."""
    own = ds.get("SpecificCharacterSet")
    if own is not None:
        charsets = own
    for tag in list(ds._dict.keys()):
        raw_elem = ds._dict[tag]
        where = f"{path}({tag.group:04X},{tag.element:04X})"
        if isinstance(raw_elem, RawDataElement):
            vr = raw_elem.VR or dictionary_VR(tag)
            raw = raw_elem.value
        else:
            vr, raw = raw_elem.VR, None
        if vr == "SQ":
            for i, item in enumerate(ds[tag].value):
                yield from _walk(item, charsets, f"{where}[{i}]")
            continue
        if vr in CHARSET_VRS:
            assert raw is not None, f"{where}: raw value was already converted"
            yield where, vr, bytes(raw), ds[tag].value, charsets


def test_charset_files_are_all_there():
    assert len(CHARSET_FILES) == 17
    assert {"chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrX1.dcm", "chrX2.dcm",
            "chrKoreanMulti.dcm", "chrSQEncoding.dcm"} <= set(CHARSET_FILES)


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_pydicom_charset_file(name, caplog):
    ds = pydicom.dcmread(os.path.join(CHARSET_DIR, name))
    seen = 0
    needs_charset = 0
    used = set()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for where, vr, raw, value, charsets in _walk(ds, None):
            seen += 1
            needs_charset += not raw.isascii() or ESC in raw
            text = decode_text(raw, charsets, vr, strict=True)
            mine, theirs = _my_values(text, vr), _pydicom_values(value, vr)
            if vr == "PN":
                # pydicom's str(PersonName) drops empty trailing component groups
                mine = [v.rstrip("=") for v in mine]
                theirs = [v.rstrip("=") for v in theirs]
            assert mine == theirs, f"{name} {where}"
            expected = raw
            fix = NON_CANONICAL.get((name, where))
            if fix is not None:
                used.add((name, where))
                expected = fix(raw)
                assert expected != raw
                assert decode_text(expected, charsets, vr, strict=True) == text
            assert encode_text(text, charsets, vr) == expected, f"{name} {where}"
    assert seen >= 4, f"{name}: only {seen} elements of a charset VR"
    assert used == {k for k in NON_CANONICAL if k[0] == name}
    assert needs_charset, f"{name}: no element needs its Specific Character Set"
    assert caplog.text == ""


# --------------------------------------------------------------------------------------
# The examples of PS3.5 Annexes H (Japanese), I (Korean), J and K (Chinese)
# --------------------------------------------------------------------------------------

H31 = (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^"
       b"\x1b$B$?$m$&\x1b(B")
H32 = (b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J="
       b"\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J")
I2 = (b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^"
      b"\x1b$)C\xb1\xe6\xb5\xbf")
J2 = bytes.fromhex(
    "54 68 65 20 66 69 72 73 74 20 6c 69 6e 65 20 69 6e 63 6c 75 64 65 73 e4 b8 ad e6 96"
    " 87 2e 0d 0a 54 68 65 20 73 65 63 6f 6e 64 20 6c 69 6e 65 20 69 6e 63 6c 75 64 65"
    " 73 e4 b8 ad e6 96 87 2c 20 74 6f 6f 2e 0d 0a 54 68 65 20 74 68 69 72 64 20 6c 69"
    " 6e 65 2e 0d 0a")
J3 = bytes.fromhex("57 61 6e 67 5e 58 69 61 6f 44 6f 6e 67 3d cd f5 5e d0 a1 b6 ab 3d")
J4 = bytes.fromhex(
    "54 68 65 20 66 69 72 73 74 20 6c 69 6e 65 20 69 6e 63 6c 75 64 65 73 d6 d0 ce c4"
    " 2e 0d 0a 54 68 65 20 73 65 63 6f 6e 64 20 6c 69 6e 65 20 69 6e 63 6c 75 64 65 73"
    " d6 d0 ce c4 2c 20 74 6f 6f 2e 0d 0a 54 68 65 20 74 68 69 72 64 20 6c 69 6e 65 2e"
    " 0d 0a")
K2 = bytes.fromhex("5A 68 61 6E 67 5E 58 69 61 6F 44 6F 6E 67 3D 1B 24 29 41 D5 C5 5E"
                   " 1B 24 29 41 D0 A1 B6 AB 3D 20")
K3 = bytes.fromhex(
    "31 2e 1B 24 29 41 B5 DA D2 BB D0 D0 CE C4 D7 D6 A1 A3 1B 28 42 0D 0A"
    " 32 2e 1B 24 29 41 B5 DA B6 FE D0 D0 CE C4 D7 D6 A1 A3 1B 28 42 0D 0A"
    " 33 2e 1B 24 29 41 B5 DA C8 FD D0 D0 CE C4 D7 D6 A1 A3 1B 28 42 0D 0A 20")
ZH_LINES = "The first line includes中文.\r\nThe second line includes中文, too.\r\n" \
           "The third line.\r\n"


@pytest.mark.parametrize("raw, charsets, vr, text", [
    # Example H.3-1: value 1 empty (ISO-IR 6), value 2 ISO 2022 IR 87
    (H31, ["", "ISO 2022 IR 87"], "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    # Example H.3-2: value 1 ISO 2022 IR 13 (JIS X 0201), value 2 ISO 2022 IR 87
    (H32, ["ISO 2022 IR 13", "ISO 2022 IR 87"], "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),
    # Example I.2-1: Korean, the escape sequence repeated in every name component
    (I2, ["", "ISO 2022 IR 149"], "PN", "Hong^Gildong=洪^吉洞=홍^길동"),
    # Example J.2-1: Long Text in UTF-8
    (J2, "ISO_IR 192", "LT", ZH_LINES),
    # Example J.3-1: Person Name in GB18030
    (J3, "GB18030", "PN", "Wang^XiaoDong=王^小东="),
    # Example J.4-1: Long Text in GB18030
    (J4, "GB18030", "LT", ZH_LINES),
    # Example K.2-1: ISO 2022 IR 58 (GB 2312 in G1), trailing SPACE is padding
    (K2, ["", "ISO 2022 IR 58"], "PN", "Zhang^XiaoDong=张^小东= "),
])
def test_annex_examples(raw, charsets, vr, text):
    assert decode_text(raw, charsets, vr, strict=True) == text
    assert encode_text(text, charsets, vr) == raw


def test_annex_k3_explicit_return_to_ascii():
    # Example K.3-1 writes ESC ( B before each CR LF although G0 never left ISO-IR 6.
    # Both forms are legal; encode_text writes the shorter one, as in Example K.2-1.
    text = "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n "
    charsets = ["", "ISO 2022 IR 58"]
    assert decode_text(K3, charsets, "LT", strict=True) == text
    assert encode_text(text, charsets, "LT") == K3.replace(ESC + b"(B", b"")


def test_annex_i3_escape_at_the_head_of_each_line():
    # Example I.3-1 designates KS X 1001 at the head of each line, before ASCII text.
    hangul = "한글".encode("euc_kr")
    raw = (ESC + b"$)CThe first line includes " + hangul + b".\r\n" + ESC +
           b"$)CThe second line includes " + hangul + b", too.\r\nThe third line")
    text = "The first line includes 한글.\r\nThe second line includes 한글, too.\r\n" \
           "The third line"
    charsets = ["", "ISO 2022 IR 149"]
    assert decode_text(raw, charsets, "LT", strict=True) == text
    # encode_text designates just before first use in the line (as Example I.2-1 does)
    canonical = encode_text(text, charsets, "LT")
    assert canonical == raw.replace(ESC + b"$)CThe", b"The").replace(
        b"includes " + hangul, b"includes " + ESC + b"$)C" + hangul)
    assert decode_text(canonical, charsets, "LT") == text


# --------------------------------------------------------------------------------------
# Delimiters and the return to the initial code elements (PS3.5 6.1.2.5.3)
# --------------------------------------------------------------------------------------

JA = ["", "ISO 2022 IR 87"]
KO = ["", "ISO 2022 IR 149"]


def test_backslash_is_a_delimiter_except_in_text_vrs():
    # Korean (G1): a new value needs a new designation; a backslash in LT does not
    assert encode_text("홍\\길", KO, "LO") == b"\x1b$)C\xc8\xab\\\x1b$)C\xb1\xe6"
    assert encode_text("홍\\길", KO, "LT") == b"\x1b$)C\xc8\xab\\\xb1\xe6"
    assert decode_text(b"\x1b$)C\xc8\xab\\\xb1\xe6", KO, "LT") == "홍\\길"
    # Japanese (G0): ISO-IR 6 must be designated again to write the backslash anyway
    assert encode_text("山\\田", JA, "LT") == b"\x1b$B;3\x1b(B\\\x1b$BED\x1b(B"
    assert encode_text("山\\田", JA, "LO") == b"\x1b$B;3\x1b(B\\\x1b$BED\x1b(B"
    assert encode_text("山^田", JA, "LO") == b"\x1b$B;3\x1b(B^\x1b$BED\x1b(B"
    # ^ and = only delimit in PN
    assert encode_text("홍^길", KO, "LO") == b"\x1b$)C\xc8\xab^\xb1\xe6"
    assert encode_text("홍^길=홍", KO, "PN") == \
        b"\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6=\x1b$)C\xc8\xab"


@pytest.mark.parametrize("control", ["\r", "\n", "\x0c", "\t"])
def test_control_characters_reset_the_code_elements(control):
    assert encode_text(f"山{control}田", JA, "LT") == \
        b"\x1b$B;3\x1b(B" + control.encode() + b"\x1b$BED\x1b(B"
    assert encode_text(f"홍{control}길", KO, "LT") == \
        b"\x1b$)C\xc8\xab" + control.encode() + b"\x1b$)C\xb1\xe6"
    # a writer that forgot to return to ISO-IR 6 before the line end: the reader resets
    raw = b"\x1b$B;3ED" + control.encode() + b"abc"
    assert decode_text(raw, JA, "LT") == f"山田{control}abc"


def test_value_1_g1_set_is_designated_again_before_delimiters():
    # value 1 ISO 2022 IR 100 has Latin-1 in G1; Korean replaces it and must be undone
    charsets = ["ISO 2022 IR 100", "ISO 2022 IR 149"]
    raw = encode_text("é홍^é", charsets, "PN")
    assert raw == b"\xe9\x1b$)C\xc8\xab\x1b-A^\xe9"
    assert decode_text(raw, charsets, "PN", strict=True) == "é홍^é"
    assert encode_text("홍", charsets, "PN") == b"\x1b$)C\xc8\xab\x1b-A"


def test_jis_bytes_that_look_like_delimiters_are_not_delimiters():
    # in JIS X 0208, 0x24 0x5E is hiragana MA: its 0x5E is not a component delimiter
    assert decode_text(b"\x1b$B$^\x1b(B", JA, "PN", strict=True) == "ま"
    assert decode_text(b"\x1b$B!@\x1b(B", JA, "LO", strict=True) == "＼"   # 0x2140


def test_ir13_romaji_and_kanji_switching():
    charsets = ["ISO 2022 IR 13", "ISO 2022 IR 87"]
    assert encode_text("ｱ山a", charsets, "LO") == b"\xb1\x1b$B;3\x1b(Ja"
    # a reader accepts ESC ( B for the return too (chrSQEncoding.dcm does that)
    assert decode_text(b"\xb1\x1b$B;3\x1b(Ba", charsets, "LO", strict=True) == "ｱ山a"


def test_jis_x_0212_with_jis_x_0208():
    charsets = ["", "ISO 2022 IR 87", "ISO 2022 IR 159"]
    raw = b"\x1b$B;3\x1b$(D0!\x1b(B"
    text = "山" + (ESC + b"$(D0!").decode("iso2022_jp_2")
    assert decode_text(raw, charsets, "LO", strict=True) == text
    assert encode_text(text, charsets, "LO") == raw


def test_lenient_reading_of_missing_designations(caplog):
    # the G1 designation was not repeated after a delimiter: reuse the last G1 set
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert decode_text(b"\x1b$)C\xc8\xab^\xb1\xe6", KO, "PN", strict=True) == "홍^길"
        # EUC-KR bytes with no escape sequence at all: the declared G1 set
        assert decode_text(b"\xc8\xab^\xb1\xe6", KO, "PN", strict=True) == "홍^길"
        assert decode_text(b"\xd5\xc5", ["", "ISO 2022 IR 58"], "PN") == "张"
    assert caplog.text == ""


def test_escape_sequences_in_data_without_code_extensions(caplog):
    # a Japanese name in a data set that declares no Specific Character Set
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert decode_text(b"\x1b$B;3ED\x1b(B", None, "PN") == "山田"
        assert decode_text(b"\x1b-A\xe9", "ISO_IR 100", "PN") == "é"
    assert "ISO 2022 IR 87" in caplog.text and "decoded anyway" in caplog.text


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, charsets, vr, position, says", [
    (b"M\xfcller", None, "PN", 1, "default repertoire"),
    (b"M\xfcller", "", "PN", 1, "default repertoire"),
    (b"ab\xa5", "ISO_IR 109", "LO", 2, "ISO_IR 109"),          # 0xA5 is not in Latin-3
    (b"ok\xff\xfe", "ISO_IR 192", "LO", 2, "ISO_IR 192"),
    (b"ab\x81", "GB18030", "LO", 2, "GB18030"),
    (b"\x1b$B;", JA, "LO", 3, "two-byte"),                     # half a JIS character
    (b"\x1b$B)!\x1b(B", JA, "LO", 3, "ISO 2022 IR 87"),       # row 9: unassigned
    (b"a\xc8\xab", ["", "ISO 2022 IR 87"], "LO", 1, "no G1"),   # no G1 set declared
    (b"a\x1b$)Z\xc8", KO, "LO", 1, "escape sequence"),          # unknown escape
    (b"a\x1b", KO, "LO", 1, "escape sequence"),                 # truncated escape
    (b"\x1b$)C\xc8\x41", KO, "LO", 4, ""),                      # lead byte, no trail
])
def test_undecodable_bytes(raw, charsets, vr, position, says, caplog):
    with pytest.raises(CharsetError) as info:
        decode_text(raw, charsets, vr, strict=True)
    assert isinstance(info.value, PacsnbError)
    assert f"position {position}" in str(info.value)
    assert says in str(info.value)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        text = decode_text(raw, charsets, vr)
    assert "\ufffd" in text
    assert f"position {position}" in caplog.text


def test_undecodable_bytes_replacement_keeps_the_rest():
    assert decode_text(b"M\xfcller", None) == "M\ufffdller"
    assert decode_text(b"ab\xa5cd", "ISO_IR 109") == "ab\ufffdcd"


@pytest.mark.parametrize("text, charsets, position, char", [
    ("Jérôme Ж", "ISO_IR 100", 7, "U+0416"),
    ("é", None, 0, "U+00E9"),
    ("é", "", 0, "U+00E9"),
    ("山田", "ISO_IR 13", 0, "U+5C71"),
    ("ab김", JA, 2, "U+AE40"),
    ("ab€", ["ISO 2022 IR 100", "ISO 2022 IR 87"], 2, "U+20AC"),
    ("😀", "GB2312", 0, "U+1F600"),
])
def test_unencodable_characters(text, charsets, position, char):
    with pytest.raises(CharsetError) as info:
        encode_text(text, charsets, "LO")
    message = str(info.value)
    assert f"position {position}" in message and char in message
    assert "ISO_IR 192" in message


def test_encode_special_cases():
    with pytest.raises(CharsetError, match="escape sequence"):
        encode_text("a\x1bb\u00e9", ["", "ISO 2022 IR 100"])
    with pytest.raises(CharsetError, match="surrogate"):
        encode_text("a\ud800", "ISO_IR 192")
    # no code extensions: ESC is just a control character, unless it starts one of the
    # escape sequences of PS3.3 (then code extensions are read anyway, see above)
    assert encode_text("a\x1b", "ISO_IR 100") == b"a\x1b"
    assert decode_text(b"a\x1b", "ISO_IR 100", strict=True) == "a\x1b"
    assert decode_text(b"\x1b[1m\xe9", "ISO_IR 100", strict=True) == "\x1b[1mé"


def test_empty_and_ascii_fast_paths():
    for term in DEFINED_TERMS:
        assert decode_text(b"", term) == ""
        assert encode_text("", term) == b""
        assert decode_text(b"Doe^John\\Roe", term, "PN") == "Doe^John\\Roe"
        assert encode_text("Doe^John\\Roe", term, "PN") == b"Doe^John\\Roe"
    assert decode_text(bytearray(b"abc"), None) == "abc"
    assert decode_text(memoryview(b"ab\xe9"), "ISO_IR 100") == "abé"


def test_multi_valued_charsets_from_a_pydicom_multivalue():
    mv = pydicom.multival.MultiValue(str, ["", "ISO 2022 IR 87"])
    assert decode_text(H31, mv, "PN") == "Yamada^Tarou=山田^太郎=やまだ^たろう"


# --------------------------------------------------------------------------------------
# Round trips over whole repertoires (hypothesis)
# --------------------------------------------------------------------------------------

ASCII_GRAPHIC = [chr(c) for c in range(0x20, 0x7F)]
KATAKANA = [chr(c) for c in range(0xFF61, 0xFFA0)]


def _gr_chars(num: str) -> list[str]:
    codec = ORACLE_CODEC[num]
    return [bytes((b,)).decode(codec) for b in range(0xA0, 0x100)
            if _decodes(bytes((b,)), codec)]


def _alphabet(*parts) -> list[str]:
    chars: set[str] = set()
    for p in parts:
        chars.update(p)
    return sorted(chars)


_COMBOS = {
    "ja": (["", "ISO 2022 IR 87"], lambda: _alphabet(ASCII_GRAPHIC,
                                                     dbcs("ISO 2022 IR 87").values())),
    "ja13": (["ISO 2022 IR 13", "ISO 2022 IR 87"],
             lambda: _alphabet(ASCII_GRAPHIC, KATAKANA, dbcs("ISO 2022 IR 87").values())),
    "ja212": (["", "ISO 2022 IR 87", "ISO 2022 IR 159"],
              lambda: _alphabet(ASCII_GRAPHIC, dbcs("ISO 2022 IR 87").values(),
                                dbcs("ISO 2022 IR 159").values())),
    "ko": (["", "ISO 2022 IR 149"], lambda: _alphabet(ASCII_GRAPHIC,
                                                      dbcs("ISO 2022 IR 149").values())),
    "zh": (["", "ISO 2022 IR 58"], lambda: _alphabet(ASCII_GRAPHIC,
                                                     dbcs("ISO 2022 IR 58").values())),
    "eu": (["ISO 2022 IR 100", "ISO 2022 IR 126", "ISO 2022 IR 144", "ISO 2022 IR 138"],
           lambda: _alphabet(ASCII_GRAPHIC, _gr_chars("100"), _gr_chars("126"),
                             _gr_chars("144"), _gr_chars("138"))),
    "latin_ko": (["ISO 2022 IR 100", "ISO 2022 IR 149"],
                 lambda: _alphabet(ASCII_GRAPHIC, _gr_chars("100"),
                                   dbcs("ISO 2022 IR 149").values())),
    "thai_ja": (["ISO 2022 IR 166", "ISO 2022 IR 87", "ISO 2022 IR 13"],
                lambda: _alphabet(ASCII_GRAPHIC, _gr_chars("166"), KATAKANA,
                                  dbcs("ISO 2022 IR 87").values())),
}

_DELIMS = {"PN": "\\^=", "LO": "\\", "LT": "\r\n\t\x0c"}


@st.composite
def _texts(draw, combo: str, vr: str):
    charsets, alphabet = _COMBOS[combo]
    chars = draw(st.lists(st.one_of(st.sampled_from(alphabet()),
                                    st.sampled_from(_DELIMS[vr])), max_size=30))
    return charsets, "".join(chars)


def _split_keep(text: str, vr: str) -> list[str]:
    return re.split("([" + re.escape(_DELIMS[vr]) + "])", text)


HYP = settings(max_examples=100, deadline=None,
               suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("vr", ["PN", "LO", "LT"])
@pytest.mark.parametrize("combo", sorted(_COMBOS))
def test_iso_2022_round_trip(combo, vr):
    @HYP
    @given(_texts(combo, vr))
    def check(case):
        charsets, text = case
        raw = encode_text(text, charsets, vr)
        assert decode_text(raw, charsets, vr, strict=True) == text
        # PS3.5 6.1.2.5.3: each line, value and name component stands alone, starting
        # and ending in the initial code elements
        parts = _split_keep(text, vr)
        assert raw == b"".join(encode_text(p, charsets, vr) if i % 2 == 0
                               else p.encode("ascii") for i, p in enumerate(parts))
        # no escape sequence designates something the charsets do not declare
        for m in re.finditer(rb"\x1b[\x20-\x2f]*[\x30-\x7e]", raw):
            assert m.group() in _declared_escapes(charsets)

    check()


def _declared_escapes(charsets) -> set[bytes]:
    out = {ESC + b"(B"}
    for t in charsets:
        num = t.split()[-1] if t else "6"
        if num in G1_FINAL:
            out.add(ESC + b"-" + G1_FINAL[num])
        out |= {"13": {ESC + b")I", ESC + b"(J"}, "87": {ESC + b"$B"},
                "159": {ESC + b"$(D"}, "149": {ESC + b"$)C"},
                "58": {ESC + b"$)A"}}.get(num, set())
    return out


# Not "zh": pydicom 3.0 leaves the escape sequence of ISO 2022 IR 58 in the decoded text
# (it hands "ESC $ ) A" to Python's gb2312 codec, which does not know it), e.g. it reads
# Example K.2-1 as 'Zhang^XiaoDong=\x1b$)A张^\x1b$)A小东= '; test_annex_examples checks
# that example against the bytes of the standard instead.
@pytest.mark.parametrize("combo", ["ja", "ja13", "ja212", "ko", "eu", "latin_ko"])
def test_pydicom_reads_what_we_write(combo):
    charsets, _ = _COMBOS[combo]
    encodings = pyd_charset.convert_encodings(list(charsets))

    @HYP
    @given(_texts(combo, "PN"))
    def check(case):
        _, text = case
        # Python's euc_kr (used by pydicom) reads HANGUL FILLER as the start of an
        # 8-byte composition sequence, which is not part of ISO-IR 149
        text = text.replace("\u3164", "")
        raw = encode_text(text, charsets, "PN")
        assert pyd_charset.decode_bytes(raw, encodings, {0x5C, 0x5E, 0x3D}) == text

    check()


@HYP
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
       st.sampled_from(["PN", "LO", "LT", "UC"]))
def test_utf8_round_trip(text, vr):
    raw = encode_text(text, "ISO_IR 192", vr)
    assert raw == text.encode("utf-8")
    assert decode_text(raw, "ISO_IR 192", vr, strict=True) == text


@HYP
@given(st.text(alphabet=st.characters(max_codepoint=0xFF, blacklist_characters="\x1b"),
               max_size=60),
       st.sampled_from(["PN", "LO", "LT"]))
def test_latin1_round_trip(text, vr):
    raw = encode_text(text, "ISO_IR 100", vr)
    assert raw == text.encode("latin-1")
    assert decode_text(raw, "ISO_IR 100", vr, strict=True) == text


@pytest.mark.parametrize("term", SINGLE_BYTE[:-1] + ["ISO_IR 13"])
def test_single_byte_round_trip(term):
    if term == "ISO_IR 13":
        alphabet = ASCII_GRAPHIC + KATAKANA
    else:
        alphabet = ASCII_GRAPHIC + _gr_chars(term.split()[-1])

    @HYP
    @given(st.text(alphabet=st.sampled_from(alphabet), max_size=40))
    def check(text):
        assert decode_text(encode_text(text, term, "LO"), term, "LO", strict=True) == text

    check()


@HYP
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_gb18030_round_trip(text):
    raw = encode_text(text, "GB18030", "LT")
    assert decode_text(raw, "GB18030", "LT", strict=True) == text
