#!/usr/bin/env python3
"""Generate ``pacsnb/dicom/_data/dictionary.json``, the PS3.6 data dictionary.

Sources, in order of authority:

``S``
    ``attributes.json`` of the shared standard tables (PS3.6 Section 6, Table 6-1, the
    registry of DICOM data elements, extracted from the standard's web edition). Every
    row is kept, retired ones and repeating groups included.
``P``
    The installed ``pydicom`` package (``pydicom/_dicom_dict.py``), used *only* for the
    elements the PS3.6 table above lacks: the PS3.7 command group ``(0000,eeee)``
    (PS3.7 Annex E, not part of PS3.6 Table 6-1) and a few elements present in the
    edition pydicom was built from but absent from the extraction. pydicom is never
    imported by pacsnb at run time; this script is the only place it is read.

Output format (one JSON object, one entry per line so that diffs stay readable)::

    {"format": "pacsnb.dictionary/1", ..., "columns": [...], "entries": [
     ["00080005", "CS", ["CS"], "1-n", "SpecificCharacterSet", "Specific Character Set", 0, "S"],
     ["60xx3000", "OW", ["OB", "OW"], "1", "OverlayData", "Overlay Data", 0, "S"],
     ...]}

``tag`` is eight hex digits, ``x`` standing for any hex digit of a repeating group
(``60xx3000``, ``002804x0``, ``1000xxx0``); the reader turns it into a mask/value pair.
``vr`` is the single VR to assume when an Implicit VR transfer syntax gives none and
nothing else decides (see :func:`implicit_vr`), ``vrs`` all the VRs PS3.6 allows.

Run from the repository root::

    python tools/gen_dictionary.py [--standard-dir ../shared/data/standard]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STANDARD_DIR = ROOT.parent / "shared" / "data" / "standard"
OUTPUT = ROOT / "pacsnb" / "dicom" / "_data" / "dictionary.json"

#: Elements whose VR is "OB or OW" but that an Implicit VR reader shall take as OW.
#: PS3.5 Annex A.1 names Pixel Data (7FE0,0010), Overlay Data (60xx,3000) and Waveform
#: Data (5400,1010); the retired Variable Pixel Data (7Fxx,0010) and Curve Data
#: (50xx,3000) are their predecessors and were word data in the same way. Every other
#: "OB or OW" element (channel minimum/maximum, waveform padding value, audio samples,
#: DICONDE dark current / air counts) defaults to OB: OB holds any byte length, while OW
#: needs an even one, so OB never misreads the value and a writer can always re-encode it.
OW_IN_IMPLICIT_VR = {"7fe00010", "60xx3000", "54001010", "7fxx0010", "50xx3000"}

#: Item and delimitation items (PS3.5 7.5): they have no VR at all.
ITEM_TAGS = {"fffee000", "fffee00d", "fffee0dd"}

VALID_VRS = {
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD",
    "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI",
    "UL", "UN", "UR", "US", "UT", "UV",
}


def implicit_vr(tag: str, vrs: list[str]) -> str:
    """The one VR to use for ``tag`` when the transfer syntax carries no VR.

    * a single VR: that VR;
    * "OB or OW": OW for the elements of :data:`OW_IN_IMPLICIT_VR`, OB otherwise;
    * "US or SS", "US or OW", "US or SS or OW": US. Whether a US/SS value is signed
      depends on Pixel Representation (0028,0103), which the reader resolves when it
      knows the dataset; US is the neutral default (same bytes, no sign assumed). LUT
      data is a list of 16-bit entries either way, which US presents directly.
    """
    if len(vrs) == 1:
        return vrs[0]
    if set(vrs) == {"OB", "OW"}:
        return "OW" if tag in OW_IN_IMPLICIT_VR else "OB"
    if "US" in vrs:
        return "US"
    raise SystemExit(f"no implicit VR rule for {tag} with VRs {vrs}: extend implicit_vr()")


def _std_tag(text: str) -> str:
    """'(60XX,3000)' -> '60xx3000'."""
    t = text.strip()
    if not (len(t) == 11 and t[0] == "(" and t[5] == "," and t[10] == ")"):
        raise SystemExit(f"malformed tag in the standard table: {text!r}")
    out = (t[1:5] + t[6:10]).lower()
    if any(c not in "0123456789abcdefx" for c in out):
        raise SystemExit(f"malformed tag in the standard table: {text!r}")
    return out


def _sort_key(tag: str) -> tuple[int, int]:
    return int(tag.replace("x", "0"), 16), tag.count("x")


def build(standard_dir: Path) -> dict:
    rows = json.loads((standard_dir / "attributes.json").read_text(encoding="utf-8"))
    entries: dict[str, list] = {}
    notes: dict[str, str] = {}

    for r in rows:
        tag = _std_tag(r["tag"])
        vr_text = r["valueRepresentation"].strip()
        vm = r["valueMultiplicity"].strip()
        keyword = r["keyword"].strip()
        name = r["name"].strip()
        retired = r["retired"].strip().upper() == "Y"
        if tag in ITEM_TAGS:
            vrs, vr = ["NONE"], "NONE"
            notes[tag] = (f"PS3.6 gives VR {vr_text!r}: items and delimitation items "
                          "have no VR (PS3.5 7.5), stored as NONE")
        elif not vr_text:
            vrs, vr = ["UN"], "UN"
            if not vm:
                vm = "1"
            notes[tag] = ("retired element with VR and VM left blank in PS3.6: stored as "
                          "UN, VM 1 (an UN value is one opaque byte string)")
        else:
            vrs = [v.strip() for v in vr_text.split(" or ")]
            bad = [v for v in vrs if v not in VALID_VRS]
            if bad:
                raise SystemExit(f"unknown VR {bad} for {tag} in the standard table")
            vr = implicit_vr(tag, vrs)
        if not keyword:
            notes.setdefault(tag, "retired element without keyword or name in PS3.6: "
                                  "kept, not indexed by keyword")
        row = [tag, vr, vrs, vm, keyword, name, int(retired), "S"]
        if tag in entries:
            if entries[tag] != row:
                raise SystemExit(f"conflicting duplicate rows for {tag} in the standard table")
            continue  # the standard table repeats the three item rows
        entries[tag] = row

    # Supplement from pydicom what the PS3.6 table lacks.
    try:
        import pydicom
        from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
    except ImportError as exc:  # pragma: no cover - generator environment
        raise SystemExit("pydicom is needed to supplement the command group: "
                         "pip install pydicom") from exc
    supplements = [(f"{t:08x}", v) for t, v in DicomDictionary.items()]
    supplements += [(k.lower(), v) for k, v in RepeatersDictionary.items()]
    added = []
    for tag, (vr_text, vm, name, retired, keyword) in supplements:
        if tag in entries:
            continue
        vrs = [v.strip() for v in vr_text.split(" or ")]
        if tag in ITEM_TAGS:
            vrs = ["NONE"]
        elif any(v not in VALID_VRS for v in vrs):
            raise SystemExit(f"unknown VR {vrs} for {tag} in pydicom's dictionary")
        vr = "NONE" if tag in ITEM_TAGS else implicit_vr(tag, vrs)
        entries[tag] = [tag, vr, vrs, vm, keyword, name, int(retired == "Retired"), "P"]
        added.append(tag)
        if not tag.startswith("0000"):
            notes[tag] = (f"not in the PS3.6 extraction; taken from pydicom "
                          f"{pydicom.__version__} (a different edition of PS3.6)")

    keywords: dict[str, str] = {}
    for tag, row in entries.items():
        kw = row[4]
        if kw:
            if kw in keywords:
                raise SystemExit(f"keyword {kw} used by both {keywords[kw]} and {tag}")
            keywords[kw] = tag

    ordered = [entries[t] for t in sorted(entries, key=_sort_key)]
    return {
        "format": "pacsnb.dictionary/1",
        "generator": "tools/gen_dictionary.py",
        "description": "DICOM PS3.6 data dictionary (Table 6-1, Table 7-1 of PS3.6 for "
                       "the file meta group, Table 8-1 for items) plus the PS3.7 command "
                       "group. Facts of the standard.",
        "sources": {
            "S": "PS3.6 registry of data elements, shared/data/standard/attributes.json "
                 "(innolitics/dicom-standard 7f4749d, January 2025)",
            "P": f"pydicom {pydicom.__version__} pydicom/_dicom_dict.py, only for elements "
                 "missing from S: the PS3.7 command group (0000,eeee) and a few newer ones",
        },
        "columns": ["tag", "vr", "vrs", "vm", "keyword", "name", "retired", "source"],
        "implicit_vr_rule": "vr is the VR assumed for Implicit VR: the only VR if one; "
                            "for 'OB or OW' OW for Pixel Data, Overlay Data, Waveform Data "
                            "(PS3.5 A.1), Variable Pixel Data and Curve Data, OB otherwise; "
                            "US for 'US or SS', 'US or OW', 'US or SS or OW'",
        "notes": dict(sorted(notes.items(), key=lambda kv: _sort_key(kv[0]))),
        "counts": {
            "entries": len(ordered),
            "repeating": sum(1 for r in ordered if "x" in r[0]),
            "retired": sum(r[6] for r in ordered),
            "from_standard": sum(1 for r in ordered if r[7] == "S"),
            "from_pydicom": len(added),
        },
        "entries": ordered,
    }


def write(data: dict, path: Path) -> None:
    head = {k: v for k, v in data.items() if k != "entries"}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":"))
             for row in data["entries"]]
    text += ',\n "entries": [\n' + ",\n".join(lines) + "\n ]\n}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standard-dir", type=Path, default=DEFAULT_STANDARD_DIR,
                        help="folder holding attributes.json (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT,
                        help="file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    data = build(args.standard_dir)
    write(data, args.output)
    c = data["counts"]
    sys.stdout.write(f"wrote {args.output}: {c['entries']} entries ({c['repeating']} "
                     f"repeating, {c['retired']} retired, {c['from_pydicom']} from pydicom)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
