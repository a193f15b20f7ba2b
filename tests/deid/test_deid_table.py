"""Tests generated from PS3.15 Table E.1-1: every attribute, at the top level, inside a nested
sequence and next to private blocks, gets the table's action for each option combination;
afterwards no original identifying string is left in the written bytes.

The expected action is computed here from the generated table file with the rules of PS3.15
E.1.1 as this test reads them (option action over the basic one, C before K when two chosen
options disagree, compound actions resolved to the one valid for every Type), independently of
pacsnb.deid.profile; the generator itself is checked against the standard's table.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pacsnb.deid import Anonymizer
from pacsnb.deid.mapping import shift_date, shift_datetime
from pacsnb.dicom import DataElement, Dataset, Sequence
from pacsnb.dicom.dictionary import lookup
from pacsnb.dicom.uid import UID
from pacsnb.io import read_bytes
from pacsnb.io.writer import encode_file

ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "pacsnb" / "deid" / "_data" / "profile.json").read_text())
KEY = "table test key"
OFFSET = -123
NESTER = 0x00081032  # Procedure Code Sequence: outside the table, kept, so its items are cleaned
SAFE_CREATOR, OTHER_CREATOR = "ACME SAFE 1.0", "ACME OTHER"

OPTION_KEYS = {"retain_safe_private": "rtnSafePriv", "retain_uids": "rtnUIDs", "retain_device_identity": "rtnDevId",
               "retain_institution_identity": "rtnInstId", "retain_patient_characteristics": "rtnPatChars",
               "retain_longitudinal_full_dates": "rtnLongFullDates",
               "retain_longitudinal_modified_dates": "rtnLongModifDates", "clean_descriptors": "cleanDesc",
               "clean_structured_content": "cleanStructCont", "clean_graphics": "cleanGraph"}
COMBOS = [()] + [(o,) for o in OPTION_KEYS] + [
    ("retain_uids", "retain_device_identity", "retain_institution_identity", "retain_patient_characteristics",
     "retain_longitudinal_modified_dates", "retain_safe_private"),
    ("retain_longitudinal_full_dates", "retain_device_identity", "clean_descriptors"),
    ("clean_descriptors", "clean_structured_content", "clean_graphics", "retain_longitudinal_modified_dates"),
]
CONFORMANT = {"X/Z": "Z", "X/D": "D", "X/Z/D": "D", "Z/D": "D", "X/Z/U*": "U"}


def expected(row, options) -> str:
    acts = [row[5][OPTION_KEYS[o]] for o in options if OPTION_KEYS[o] in row[5]]
    act = ("C" if "C" in acts else acts[0]) if acts else row[4]
    return CONFORMANT.get(act, act)


def _tag(text: str) -> int:
    if text == "50xxxxxx":
        return 0x50003000  # Curve Data
    if text.startswith("60xx"):
        return int("6002" + text[4:], 16)  # overlay group 6002
    return int(text, 16)


def _rows():
    # the command group (0000,1000)/(0000,1001) exists only in DIMSE messages, never in a stored data set
    return [r for r in TABLE["attributes"] if r[0] != "private" and not r[0].startswith("0000")]


def _value(tag: int, vr: str, i: int):
    """A unique, recognisable original value for the element."""
    if vr == "PN":
        return f"FAM{i:04d}^GIVEN{i:04d}"
    if vr in ("LO", "SH", "LT", "ST", "UT", "UC"):
        return f"SECRET{tag:08X}"
    if vr == "CS":
        return f"CS{tag:08X}"
    if vr == "AE":
        return f"AE{tag:08X}"
    if vr == "AS":
        return "045Y"
    if vr == "DA":
        d = dt.date(1931, 1, 1) + dt.timedelta(days=37 * i)
        return d.strftime("%Y%m%d")
    if vr == "DT":
        d = dt.date(1931, 2, 3) + dt.timedelta(days=41 * i)
        return d.strftime("%Y%m%d") + f"1015{i % 60:02d}.{i:06d}"
    if vr == "TM":
        return f"{i // 60 % 24:02d}{i % 60:02d}17.{i:06d}"
    if vr == "UI":
        return f"1.2.826.0.1.3680043.99.{tag}.{i + 1}"
    if vr == "UR":
        return f"http://secret.example/{tag:08X}"
    if vr in ("US", "SS", "UL", "SL", "SV", "UV"):
        return 7
    if vr in ("FL", "FD"):
        return 7.5
    if vr == "IS":
        return "7"
    if vr == "DS":
        return "7.5"
    if vr == "AT":
        return 0x00100010
    if vr in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
        return f"BYTES{tag:08X}Z".encode()  # even length, as OW needs
    raise AssertionError(vr)


def _vr(tag: int) -> str:
    e = lookup(tag)
    assert e is not None, hex(tag)
    return e.vr


def _item_for_sequence(i: int) -> Dataset:
    item = Dataset()
    item.add(DataElement(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"))
    item.add(DataElement(0x00081155, "UI", f"1.2.826.0.1.3680043.99.ref.{i}"))
    return item


def _fill(ds: Dataset, with_private: bool) -> dict:
    """Every table attribute in ``ds``; returns ``{tag: original value}``."""
    originals = {}
    for i, row in enumerate(_rows()):
        tag = _tag(row[0])
        vr = _vr(tag)
        if vr == "SQ":
            ds.add(DataElement(tag, "SQ", Sequence([_item_for_sequence(i)])))
            originals[tag] = None
            continue
        v = _value(tag, vr, i)
        ds.add(DataElement(tag, vr, v))
        originals[tag] = v
    if with_private:
        ds.add(DataElement(0x00090010, "LO", SAFE_CREATOR))
        ds.add(DataElement(0x00091001, "LO", "PRIVSAFEVALUE"))
        ds.add(DataElement(0x00091002, "LO", "PRIVUNSAFEVALUE"))
        ds.add(DataElement(0x00110010, "LO", OTHER_CREATOR))
        ds.add(DataElement(0x00111001, "LO", "PRIVOTHERVALUE"))
    return originals


def build() -> tuple[Dataset, dict]:
    ds = Dataset()
    originals = _fill(ds, True)
    item = Dataset()
    _fill(item, True)
    ds.add(DataElement(NESTER, "SQ", Sequence([item])))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    return ds, originals


def _is_valid_uid(u: str) -> bool:
    return UID(u).is_valid and len(u) <= 64


def _check(ds: Dataset, an: Anonymizer, originals: dict, options, where: str, top: bool) -> list[str]:
    problems = []
    modified = "retain_longitudinal_modified_dates" in options
    for i, row in enumerate(_rows()):
        tag = _tag(row[0])
        act = expected(row, options)
        if act == "C" and (row[0] in ("50xxxxxx", "60xx3000") or (row[0] == "60xx4000" and top)):
            # Clean Graphics cleans a curve or overlay plane by removing it whole (pacsnb cannot
            # read text in a bitmap); a stray overlay comment inside an item is cleaned as text
            act = "X"
        orig = originals[tag]
        vr = _vr(tag)
        name = f"{where} {row[0]} {row[1] or row[2]} ({act} under {options or 'basic'})"
        present = tag in ds
        if act == "X":
            if present:
                problems.append(f"{name}: still present")
            continue
        if not present:
            problems.append(f"{name}: removed")
            continue
        e = ds[tag]
        if vr == "SQ":
            n = len(e.value)
            if act == "Z" and n:
                problems.append(f"{name}: sequence not emptied")
            if act in ("K", "U", "D", "C") and n != 1:
                problems.append(f"{name}: the sequence lost its item")
            if act in ("K", "U", "D", "C") and n == 1:
                ref = str(e.value[0].ReferencedSOPInstanceUID)
                want = f"1.2.826.0.1.3680043.99.ref.{i}"
                if ("retain_uids" in options) != (ref == want):
                    problems.append(f"{name}: the reference inside the item is {ref}")
            continue
        v = e.value
        text = "" if v is None else "\\".join(map(str, v)) if isinstance(v, list) else (
            v.tobytes().decode("latin-1") if hasattr(v, "tobytes") else str(v))
        if act == "Z":
            if top and tag == 0x00100010:
                if text != an.map.patient_name(str(originals[0x00100020])):
                    problems.append(f"{name}: not the pseudonym name")
            elif not e.is_empty:
                problems.append(f"{name}: not empty ({text!r})")
        elif act == "K":
            if e.VR in ("OB", "OW", "UN"):
                same = bytes(v.tobytes() if hasattr(v, "tobytes") else v).rstrip(b"\x00 ") == orig
            elif e.VR in ("FL", "FD", "US", "SS", "UL", "SL", "SV", "UV", "AT"):
                same = v == orig
            else:
                same = text.rstrip() == str(orig)
            if not same:
                problems.append(f"{name}: changed to {text!r}")
        elif act == "U" or (vr == "UI" and act in ("D", "C")):
            if text != an.map.uid(str(orig)) or not _is_valid_uid(text):
                problems.append(f"{name}: UID {text!r} is not the keyed replacement")
        elif act == "D":
            if top and tag == 0x00100020:
                if text != an.map.patient_id(str(orig)):
                    problems.append(f"{name}: not the pseudonym ID")
            elif e.is_empty or (vr not in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT") and text == str(orig)):
                problems.append(f"{name}: not a dummy ({text!r})")
            elif modified and vr in ("DA", "DT"):
                want = (shift_date if vr == "DA" else shift_datetime)(str(orig), OFFSET)
                if text != want:
                    problems.append(f"{name}: {text!r} is not shifted by {OFFSET} days")
        elif act == "C":
            if vr == "DA" and text != shift_date(str(orig), OFFSET):
                problems.append(f"{name}: {text!r} is not shifted")
            elif vr == "DT" and text != shift_datetime(str(orig), OFFSET):
                problems.append(f"{name}: {text!r} is not shifted")
            elif vr == "TM" and text != str(orig):
                problems.append(f"{name}: a time changed under a whole-day shift")
            elif vr == "AE" and text != an.map.ae_title(str(orig)):
                problems.append(f"{name}: AE title not pseudonymised")
            elif vr == "PN" and "FAM" in text:
                problems.append(f"{name}: name not cleaned")
    # private blocks
    safe_kept = "retain_safe_private" in options
    for tag, should in ((0x00090010, safe_kept), (0x00091001, safe_kept), (0x00091002, False),
                        (0x00110010, False), (0x00111001, False)):
        if (tag in ds) != should:
            problems.append(f"{where} private {tag:08X}: {'kept' if tag in ds else 'removed'} under {options}")
    return problems


def _identifiers(originals: dict, options) -> list[bytes]:
    """Original values that must not be found in the output bytes."""
    out = []
    for row in _rows():
        tag = _tag(row[0])
        act = expected(row, options)
        orig = originals[tag]
        vr = _vr(tag)
        if orig is None or act == "K" or vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT", "IS", "DS", "AS"):
            continue
        if act == "C" and vr not in ("DA", "DT", "AE", "UI", "PN"):
            continue  # cleaned text without identifying words, and times, stay
        out.append(orig if isinstance(orig, bytes) else str(orig).encode())
    return out


@pytest.mark.parametrize("options", COMBOS, ids=lambda o: "+".join(o) or "basic")
def test_every_table_attribute_gets_its_action(options):
    ds, originals = build()
    an = Anonymizer("basic", options, KEY, date_offset=OFFSET, safe_private={SAFE_CREATOR: [0x01]})
    out = an.apply(ds, inplace=False)
    problems = _check(out, an, originals, options, "top", True)
    problems += _check(out[NESTER].value[0], an, originals, options, "nested", False)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    data = encode_file(out, "1.2.840.10008.1.2.1")
    leaks = [s for s in _identifiers(originals, options) if s in data]
    if "retain_safe_private" not in options:
        leaks += [s for s in (b"PRIVSAFEVALUE",) if s in data]
    leaks += [s for s in (b"PRIVUNSAFEVALUE", b"PRIVOTHERVALUE") if s in data]
    assert not leaks, f"original values in the written bytes: {leaks[:20]}"
    back = read_bytes(data)
    assert back.PatientIdentityRemoved == "YES"
    assert back.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    codes = {item.CodeValue for item in back.DeidentificationMethodCodeSequence}
    assert len(codes) == 1 + len(options)


def test_strict_compound_resolution_removes():
    ds, originals = build()
    an = Anonymizer("basic", (), KEY, compound="strict")
    out = an.apply(ds)
    for row in _rows():
        tag = _tag(row[0])
        if row[4] in ("X/Z", "X/D", "X/Z/D", "X/Z/U*"):
            assert tag not in out, row
        elif row[4] == "Z/D" and tag != 0x00100020:
            assert out[tag].is_empty, row


def test_every_attribute_of_the_table_is_tested():
    tested = {_tag(r[0]) for r in _rows()}
    assert len(tested) == len(TABLE["attributes"]) - 3  # private row and the two command-group rows
    assert len(TABLE["attributes"]) == len(json.loads(
        (ROOT / "pacsnb" / "deid" / "_data" / "profile.json").read_text())["attributes"]) >= 600


def test_unknown_and_retired_attributes_are_removed_unless_kept():
    ds = Dataset()
    ds.add(DataElement(0x00080040, "US", 3))           # retired, outside the table
    ds.add(DataElement(0x00081234, "LO", "UNKNOWN"))   # not in the dictionary
    ds.add(DataElement(0x00280010, "US", 4))           # Rows: kept
    out = Anonymizer(key=KEY).apply(ds)
    assert 0x00080040 not in out and 0x00081234 not in out and out.Rows == 4
    kept = Anonymizer(key=KEY, keep=["0008,0040", 0x00081234]).apply(ds)
    assert kept[0x00080040].value == 3 and str(kept[0x00081234].value) == "UNKNOWN"


GENERATOR = ROOT / "tools" / "gen_deid_table.py"
STANDARD = ROOT.parent / "shared" / "data" / "standard"


@pytest.mark.skipif(not (STANDARD / "confidentiality_profile_attributes.json").exists(),
                    reason="the shared standard tables are not beside the checkout")
def test_generator_reproduces_the_committed_tables_byte_for_byte(tmp_path):
    out, safe = tmp_path / "profile.json", tmp_path / "safe_private.json"
    for _ in range(2):  # and twice the same
        r = subprocess.run([sys.executable, str(GENERATOR), "--output", str(out), "--safe-private-output", str(safe)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == (ROOT / "pacsnb" / "deid" / "_data" / "profile.json").read_bytes()
        assert safe.read_bytes() == (ROOT / "pacsnb" / "deid" / "_data" / "safe_private.json").read_bytes()
    source = json.loads((STANDARD / "confidentiality_profile_attributes.json").read_text())
    assert len(json.loads(out.read_text())["attributes"]) == len(source)
    rows = json.loads(safe.read_text())["attributes"]
    assert len(rows) == 479 and len({(c, g, e) for c, g, e, *_ in rows}) == 479  # PS3.15 2026d E.3.10-1
    check = subprocess.run([sys.executable, str(GENERATOR), "--check", "--output", str(out), "--safe-private-output",
                            str(safe)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    safe.write_text(safe.read_text().replace('"DLP"', '"DLQ"'))
    stale = subprocess.run([sys.executable, str(GENERATOR), "--check", "--output", str(out), "--safe-private-output",
                            str(safe)], capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and "stale" in stale.stderr
