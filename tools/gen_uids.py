#!/usr/bin/env python3
"""Generate ``pacsnb/dicom/_data/uids.json``, the UID registry of PS3.6 Annex A.

Sources:

``S``
    ``sops.json`` of the shared standard tables: the SOP classes with their IODs
    (PS3.4 Table B.5-1 and friends). Confirms the UID and gives the IOD name.
``P``
    The installed ``pydicom`` package (``pydicom/_uid_dict.py``), the machine-readable
    copy of PS3.6 Table A-1 (UID values) and Table A-2 (well-known frames of reference):
    transfer syntaxes, SOP classes, meta SOP classes, well-known SOP instances, service
    classes, coding schemes, LDAP OIDs, application context, mapping resource,
    synchronization frame of reference, application hosting models. Its names are the
    PS3.6 ones (authoritative for the registry) and its keywords the PS3.6 keywords.
    pydicom is never imported by pacsnb at run time; this script is the only place
    it is read.

For each transfer syntax the generator adds four properties from PS3.5 Section 10 and
Annex A (see :func:`transfer_syntax_flags`): Implicit VR, little endian, deflated data
set, encapsulated Pixel Data.

Run from the repository root::

    python tools/gen_uids.py [--standard-dir ../shared/data/standard]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STANDARD_DIR = ROOT.parent / "shared" / "data" / "standard"
OUTPUT = ROOT / "pacsnb" / "dicom" / "_data" / "uids.json"

TS_ROOT = "1.2.840.10008.1.2"

#: PS3.5 A.1 Implicit VR Little Endian, and the retired Papyrus 3 Implicit VR Little
#: Endian (its name says it: a native, implicit VR little endian data set).
IMPLICIT_VR = {"1.2.840.10008.1.2", "1.2.840.10008.1.20"}
#: PS3.5 A.3 Explicit VR Big Endian (retired) is the only big endian transfer syntax.
BIG_ENDIAN = {"1.2.840.10008.1.2.2"}
#: PS3.5 A.5 Deflated Explicit VR Little Endian, and the two JPIP Referenced Deflate
#: transfer syntaxes of PS3.5 Annex A, whose whole data set is deflated the same way.
DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95", "1.2.840.10008.1.2.4.205"}
#: Pixel Data in its native form (PS3.5 8.1.1).
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
          "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.20"}
#: Pixel Data not in the data set at all: the four JPIP referenced transfer syntaxes
#: (PS3.5 Annex A: "Pixel Data (7FE0,0010) shall not be present", a Pixel Data Provider
#: URL (0028,7FE0) instead), the DICOM-RTV flows (SMPTE ST 2110, PS3.22: the video or
#: audio travels as RTP, not in the data set), and the retired MIME (RFC 2557) and XML
#: encodings, which are not binary data set encodings.
NO_PIXEL_DATA = {"1.2.840.10008.1.2.4.94", "1.2.840.10008.1.2.4.95",
                 "1.2.840.10008.1.2.4.204", "1.2.840.10008.1.2.4.205",
                 "1.2.840.10008.1.2.7.1", "1.2.840.10008.1.2.7.2", "1.2.840.10008.1.2.7.3",
                 "1.2.840.10008.1.2.6.1", "1.2.840.10008.1.2.6.2"}


#: PS3.6 Table A-1 transfer syntaxes added after pydicom 3.0.2's table (source "A"):
#: Deflated Image Frame Compression (PS3.5 A.4.13: each frame deflated, encapsulated) and
#: JPEG XL (PS3.5 A.4.12).
NEWER_TRANSFER_SYNTAXES = [
    ("1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", "DeflatedImageFrameCompression"),
    ("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", "JPEGXLLossless"),
    ("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", "JPEGXLJPEGRecompression"),
    ("1.2.840.10008.1.2.4.112", "JPEG XL", "JPEGXL"),
]


def transfer_syntax_flags(uid: str, name: str) -> list[int]:
    """[implicit VR, little endian, deflated, encapsulated] for a transfer syntax.

    Encapsulated means Pixel Data in the encapsulated format of PS3.5 A.4 (fragments
    in items after a basic offset table): JPEG, JPEG-LS, JPEG 2000, HTJ2K, MPEG/HEVC,
    RLE and Encapsulated Uncompressed (1.2.840.10008.1.2.1.98). A transfer syntax this
    function cannot classify stops the generator, so a new edition is never guessed.
    """
    if uid in NATIVE or uid in NO_PIXEL_DATA:
        encapsulated = False
    elif (uid.startswith(TS_ROOT + ".4.") or uid == TS_ROOT + ".5"
          or uid == TS_ROOT + ".1.98" or uid == TS_ROOT + ".8.1"):
        encapsulated = True
    else:
        raise SystemExit(f"transfer syntax {uid} ({name}) is not classified: "
                         "extend transfer_syntax_flags() from PS3.5 Annex A")
    return [int(uid in IMPLICIT_VR), int(uid not in BIG_ENDIAN), int(uid in DEFLATED),
            int(encapsulated)]


def build(standard_dir: Path) -> dict:
    sops = json.loads((standard_dir / "sops.json").read_text(encoding="utf-8"))
    try:
        import pydicom
        from pydicom._uid_dict import UID_dictionary
    except ImportError as exc:  # pragma: no cover - generator environment
        raise SystemExit("pydicom is needed for the UID registry: pip install pydicom") from exc

    by_uid: dict[str, dict] = {}
    for uid, (name, typ, info, retired, keyword) in UID_dictionary.items():
        entry = {"uid": uid, "name": name, "keyword": keyword, "type": typ,
                 "retired": retired == "Retired", "source": "P"}
        if info:
            entry["info"] = info
        by_uid[uid] = entry

    # Transfer syntaxes of PS3.6 Table A-1 newer than the pydicom release used as the
    # machine-readable source (facts of the standard: UID, name, keyword).
    for uid, name, keyword in NEWER_TRANSFER_SYNTAXES:
        if uid not in by_uid:
            by_uid[uid] = {"uid": uid, "name": name, "keyword": keyword, "type": "Transfer Syntax",
                           "retired": False, "source": "A"}

    notes: dict[str, str] = {}
    for sop in sops:
        uid = sop["id"].strip()
        entry = by_uid.get(uid)
        if entry is None:
            entry = {"uid": uid, "name": sop["name"].strip(), "keyword": "",
                     "type": "SOP Class", "retired": False, "source": "S"}
            by_uid[uid] = entry
            notes[uid] = "only in sops.json: no PS3.6 keyword known"
        else:
            entry["source"] = "SP"
            if sop["name"].strip() != entry["name"]:
                notes[uid] = (f"sops.json (PS3.4) names it {sop['name'].strip()!r}; "
                              "kept the PS3.6 Table A-1 name")
        if sop.get("ciod"):
            entry["iod"] = sop["ciod"].strip()

    for entry in by_uid.values():
        if entry["type"] == "Transfer Syntax":
            entry["ts"] = transfer_syntax_flags(entry["uid"], entry["name"])

    keywords: dict[str, str] = {}
    for uid, entry in by_uid.items():
        kw = entry["keyword"]
        if kw:
            if kw in keywords:
                raise SystemExit(f"UID keyword {kw} used by {keywords[kw]} and {uid}")
            keywords[kw] = uid

    def order(uid: str) -> list[int]:
        return [int(p) for p in uid.split(".")]

    entries = [by_uid[u] for u in sorted(by_uid, key=order)]
    types: dict[str, int] = {}
    for e in entries:
        types[e["type"]] = types.get(e["type"], 0) + 1
    return {
        "format": "pacsnb.uids/1",
        "generator": "tools/gen_uids.py",
        "description": "DICOM UID registry, PS3.6 Annex A (Table A-1 UID values, Table "
                       "A-2 well-known frames of reference). Facts of the standard.",
        "sources": {
            "S": "shared/data/standard/sops.json (innolitics/dicom-standard 7f4749d, "
                 "January 2025): SOP class UIDs and their IODs",
            "P": f"pydicom {pydicom.__version__} pydicom/_uid_dict.py: PS3.6 Table A-1 and "
                 "A-2 (names, keywords, types, retired flags)",
            "SP": "in both; name, keyword and type from P, IOD from S",
        },
        "ts_flags": ["implicit_vr", "little_endian", "deflated", "encapsulated"],
        "notes": notes,
        "counts": {"entries": len(entries), "types": dict(sorted(types.items()))},
        "entries": entries,
    }


def write(data: dict, path: Path) -> None:
    head = {k: v for k, v in data.items() if k != "entries"}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in data["entries"]]
    text += ',\n "entries": [\n' + ",\n".join(lines) + "\n ]\n}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standard-dir", type=Path, default=DEFAULT_STANDARD_DIR,
                        help="folder holding sops.json (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT,
                        help="file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    data = build(args.standard_dir)
    write(data, args.output)
    c = data["counts"]
    sys.stdout.write(f"wrote {args.output}: {c['entries']} UIDs "
                     f"({', '.join(f'{n} {t}' for t, n in c['types'].items())})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
