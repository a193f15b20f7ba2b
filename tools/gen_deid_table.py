#!/usr/bin/env python3
"""Generate ``pacsnb/deid/_data/profile.json``: PS3.15 Annex E, Table E.1-1, as pacsnb uses it.

Source: ``confidentiality_profile_attributes.json`` of the shared standard tables (PS3.15
Table E.1-1, "Application Level Confidentiality Profile Attributes", extracted from the
standard's web edition), plus the attribute keywords of ``attributes.json`` (PS3.6) and the
codes of PS3.16 CID 7050 "De-identification Method", written below as facts of the
standard (the shared tables do not hold CID 7050).

Output format (one JSON object; one attribute per line so that diffs stay readable)::

    {"format": "pacsnb.deid-profile/1", ..., "options": {...}, "codes": {...},
     "columns": ["tag", "keyword", "name", "std_comp_iod", "basic", "options"],
     "attributes": [
      ["00080050", "AccessionNumber", "Accession Number", 1, "Z", {}],
      ["00080022", "AcquisitionDate", "Acquisition Date", 1, "X/Z", {"rtnLongFullDates": "K", ...}],
      ["60xx3000", "OverlayData", "Overlay Data", 1, "X", {"cleanGraph": "C"}],
      ["private", "", "Private Attributes", 0, "X", {"rtnSafePriv": "C"}],
      ...]}

``tag`` is eight hex digits, ``x`` standing for any hex digit of a repeating group, or
``"private"`` for the row "(gggg,eeee) where gggg is odd". ``basic`` is the action of the
Basic Profile and ``options`` maps each option that has its own action for the attribute
to that action (the option names are the keys of ``"options"``).

Run from the repository root (re-running gives a byte-identical file)::

    python tools/gen_deid_table.py [--standard-dir ../shared/data/standard] [--check]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STANDARD_DIR = ROOT.parent / "shared" / "data" / "standard"
OUTPUT = ROOT / "pacsnb" / "deid" / "_data" / "profile.json"

#: Column of the shared table -> (pacsnb's option name, the option's name in PS3.15 E.3).
OPTION_COLUMNS = {
    "rtnSafePrivOpt": ("rtnSafePriv", "Retain Safe Private Option"),
    "rtnUIDsOpt": ("rtnUIDs", "Retain UIDs Option"),
    "rtnDevIdOpt": ("rtnDevId", "Retain Device Identity Option"),
    "rtnInstIdOpt": ("rtnInstId", "Retain Institution Identity Option"),
    "rtnPatCharsOpt": ("rtnPatChars", "Retain Patient Characteristics Option"),
    "rtnLongFullDatesOpt": ("rtnLongFullDates", "Retain Longitudinal Temporal Information with Full Dates Option"),
    "rtnLongModifDatesOpt": ("rtnLongModifDates",
                             "Retain Longitudinal Temporal Information with Modified Dates Option"),
    "cleanDescOpt": ("cleanDesc", "Clean Descriptors Option"),
    "cleanStructContOpt": ("cleanStructCont", "Clean Structured Content Option"),
    "cleanGraphOpt": ("cleanGraph", "Clean Graphics Option"),
}

#: PS3.16 CID 7050 "De-identification Method": code value (scheme DCM) and code meaning of
#: the profile and of each option, including the two options without a column in Table E.1-1.
CID_7050 = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "cleanPixel": ("113101", "Clean Pixel Data Option"),
    "cleanVisual": ("113102", "Clean Recognizable Visual Features Option"),
    "cleanGraph": ("113103", "Clean Graphics Option"),
    "cleanStructCont": ("113104", "Clean Structured Content Option"),
    "cleanDesc": ("113105", "Clean Descriptors Option"),
    "rtnLongFullDates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "rtnLongModifDates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "rtnPatChars": ("113108", "Retain Patient Characteristics Option"),
    "rtnDevId": ("113109", "Retain Device Identity Option"),
    "rtnUIDs": ("113110", "Retain UIDs Option"),
    "rtnSafePriv": ("113111", "Retain Safe Private Option"),
    "rtnInstId": ("113112", "Retain Institution Identity Option"),
}

VALID_ACTIONS = {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}


def _tag_of(text: str) -> str:
    """'(0008,0050)' -> '00080050'; '(50XX,XXXX)' -> '50xxxxxx'; the odd-group row -> 'private'."""
    t = text.strip()
    if "ODD" in t.upper():
        return "private"
    digits = t.strip("()").replace(",", "").lower()
    if len(digits) != 8 or any(c not in "0123456789abcdefx" for c in digits):
        raise ValueError(f"unexpected tag {text!r} in Table E.1-1")
    return digits


def build(standard_dir: Path) -> str:
    """The text of profile.json from the shared tables."""
    rows = json.loads((standard_dir / "confidentiality_profile_attributes.json").read_text(encoding="utf-8"))
    attrs = json.loads((standard_dir / "attributes.json").read_text(encoding="utf-8"))
    keywords = {_tag_of(a["tag"]): a.get("keyword") or "" for a in attrs}
    out = []
    seen = set()
    for r in rows:
        tag = _tag_of(r["tag"])
        if tag in seen:
            raise ValueError(f"{r['tag']} appears twice in Table E.1-1")
        seen.add(tag)
        basic = r["basicProfile"].strip()
        if basic not in VALID_ACTIONS:
            raise ValueError(f"unknown action {basic!r} for {r['tag']}")
        opts = {}
        for col, (name, _title) in OPTION_COLUMNS.items():
            v = (r.get(col) or "").strip()
            if v:
                if v not in VALID_ACTIONS:
                    raise ValueError(f"unknown action {v!r} for {r['tag']} / {col}")
                opts[name] = v
        kw = keywords.get(tag, "")
        if tag == "00001000":
            kw = kw or "AffectedSOPInstanceUID"
        elif tag == "00001001":
            kw = kw or "RequestedSOPInstanceUID"
        out.append([tag, kw, r["name"].strip(), 1 if r.get("stdCompIOD") == "Y" else 0, basic, opts])
    out.sort(key=lambda row: (row[0] == "private", row[0]))
    head = {
        "format": "pacsnb.deid-profile/1",
        "source": "PS3.15 Annex E Table E.1-1 (shared/data/standard/confidentiality_profile_attributes.json, "
                  "innolitics/dicom-standard 7f4749d); PS3.16 CID 7050",
        "generator": "tools/gen_deid_table.py",
        "options": {name: title for name, title in OPTION_COLUMNS.values()},
        "codes": {k: list(v) for k, v in CID_7050.items()},
        "columns": ["tag", "keyword", "name", "std_comp_iod", "basic", "options"],
    }
    text = json.dumps(head, indent=1, sort_keys=True)[:-2]  # drop the closing "\n}"
    lines = [json.dumps(row, sort_keys=True, ensure_ascii=True) for row in out]
    return text + ',\n "attributes": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the profile table; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--standard-dir", type=Path, default=DEFAULT_STANDARD_DIR)
    p.add_argument("--output", type=Path, default=OUTPUT)
    p.add_argument("--check", action="store_true", help="exit 1 if the output differs from what would be written")
    args = p.parse_args(argv)
    text = build(args.standard_dir)
    json.loads(text)  # must be valid JSON
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run tools/gen_deid_table.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
