"""Compare pacsnb's reading of a file with pydicom's (the oracle): helpers shared by tests."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.errors
from pydicom.multival import MultiValue as PdMulti
from pydicom.sequence import Sequence as PdSeq

import pacsnb
from pacsnb.dicom.convert import MultiValue

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
BULK = {"OB": "u1", "OW": "u2", "OF": "f4", "OD": "f8", "OL": "u4", "OV": "u8"}


def pydicom_files() -> list[Path]:
    """Every file the pydicom wheel ships as test data (test_files and charset_files)."""
    out = []
    for sub in ("test_files", "charset_files", "palettes"):
        for p in sorted((PYDICOM_DATA / sub).rglob("*")):
            if p.is_file() and p.suffix not in (".py", ".pyc", ".json", ".txt", ".md") and p.name != "__init__.py":
                out.append(p)
    return out


def read_pydicom(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        # force conversion of everything now, like our lazy values on access
        ds.walk(lambda d, e: e.value)
    return ds


def read_pydicom_forced(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
        ds.walk(lambda d, e: e.value)
    return ds


def _norm_scalar(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def compare(ours, theirs, little: bool, where: str = "") -> list[str]:
    """Differences between our Dataset and pydicom's, as readable strings."""
    problems: list[str] = []
    our_tags = {int(t) for t in ours.keys()}
    their_tags = {int(t) for t in theirs.keys()}
    for t in sorted(our_tags ^ their_tags):
        side = "only pacsnb" if t in our_tags else "only pydicom"
        problems.append(f"{where}({t >> 16:04X},{t & 0xFFFF:04X}): {side}")
    for t in sorted(our_tags & their_tags):
        a = ours[t]
        b = theirs[t]
        loc = f"{where}({t >> 16:04X},{t & 0xFFFF:04X})"
        bvr = b.VR
        if a.VR != bvr and not (bvr in ("US or SS", "OB or OW", "US or SS or OW") or
                                (a.VR == "UN" and bvr == "UN")):
            problems.append(f"{loc}: VR {a.VR} vs pydicom {bvr}")
            continue
        if t == 0x7FE00010 and a.VR == "OW" and not little and ours.get(0x00280100) in (32, 64) \
                and isinstance(b.value, (bytes, bytearray)):
            # 32/64-bit pixels in big endian: pydicom keeps the file's bytes (whole values
            # swapped); pacsnb gives the values in native order
            size = ours.get(0x00280100) // 8
            theirs_values = np.frombuffer(bytes(b.value), f">u{size}")
            our_values = np.frombuffer(np.ascontiguousarray(a.value).tobytes(), f"=u{size}")
            if not np.array_equal(theirs_values, our_values):
                problems.append(f"{loc}: {size * 8}-bit big endian pixel values differ")
            continue
        problems += compare_values(a.VR, a.value, b.value, little, loc)
    return problems


def compare_values(vr, av, bv, little, loc) -> list[str]:
    if vr == "SQ":
        if not isinstance(bv, PdSeq):
            return [f"{loc}: sequence vs pydicom {type(bv).__name__}"]
        if len(av) != len(bv):
            return [f"{loc}: {len(av)} items vs pydicom {len(bv)}"]
        out = []
        for i, (x, y) in enumerate(zip(av, bv)):
            out += compare(x, y, little, f"{loc}[{i}].")
        return out
    if vr in BULK:
        if isinstance(bv, (bytes, bytearray)):
            if isinstance(av, (bytes, bytearray)):
                ab = bytes(av)
            else:
                ab = np.asarray(av).astype(np.dtype(("<" if little else ">") + BULK[vr]) if np.asarray(av).dtype.itemsize > 1 else np.uint8).tobytes()
            # pydicom keeps the value bytes as read (file byte order)
            if ab != bytes(bv) and ab.rstrip(b"\0") != bytes(bv).rstrip(b"\0"):
                return [f"{loc}: {vr} bytes differ ({len(ab)} vs {len(bv)} bytes)"]
            return []
        if bv is None and (av is None or len(av) == 0):
            return []
        return [f"{loc}: {vr} value {type(av).__name__} vs pydicom {type(bv).__name__}"]
    if vr == "UN":
        if bytes(av or b"") != bytes(bv or b""):
            return [f"{loc}: UN bytes differ"]
        return []
    # normalise to lists of comparable scalars
    def as_list(v, theirs=False):
        if v is None:
            return []
        if isinstance(v, (MultiValue, PdMulti, list, tuple)):
            return [x for x in v]
        if isinstance(v, np.ndarray):
            return v.tolist()
        if str(v) == "":
            return []
        return [v]
    al, bl = as_list(av), as_list(bv, True)
    if len(al) != len(bl):
        if not (len(al) == 0 and len(bl) == 0):
            return [f"{loc}: {vr} VM {len(al)} {al!r:.80} vs pydicom {len(bl)} {bl!r:.80}"]
    for x, y in zip(al, bl):
        if vr in ("FL", "FD", "SS", "US", "SL", "UL", "SV", "UV"):
            if isinstance(y, (bytes, bytearray)):
                return [f"{loc}: pydicom gives bytes"]
            if _norm_scalar(float(x)) != _norm_scalar(float(y)) and not (float(x) == float(y)):
                return [f"{loc}: {vr} {x!r} vs pydicom {y!r}"]
        elif vr == "AT":
            if int(x) != int(y):
                return [f"{loc}: AT {x!r} vs pydicom {y!r}"]
        elif vr in ("DS", "IS"):
            sx = str(x).strip()
            sy = (getattr(y, "original_string", None) or str(y)).strip()
            if sx != sy:
                try:
                    if float(sx) == float(sy):
                        continue
                except ValueError:
                    pass
                return [f"{loc}: {vr} {sx!r} vs pydicom {sy!r}"]
        elif vr == "PN":
            if str(x).rstrip("=^ ") != str(y).rstrip("=^ "):
                return [f"{loc}: PN {str(x)!r:.80} vs pydicom {str(y)!r:.80}"]
        else:
            sx, sy = str(x), str(y)
            if vr in ("AE", "CS", "SH", "LO", "AS", "DA", "TM", "DT", "UI"):
                sx, sy = sx.strip(" \0"), sy.strip(" \0")
            if sx != sy:
                return [f"{loc}: {vr} {str(x)!r:.80} vs pydicom {str(y)!r:.80}"]
    return []


def compare_file(path) -> tuple[str, list[str]]:
    """('both-ok'|'both-reject'|'only-pacsnb-rejects'|'only-pydicom-rejects', problems)."""
    forced = False
    try:
        theirs = read_pydicom(path)
        their_err = None
    except pydicom.errors.InvalidDicomError as exc:
        theirs, their_err, forced = None, exc, True
    except Exception as exc:  # noqa: BLE001 - the oracle rejects the file
        theirs, their_err = None, exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = pacsnb.read(path)
            ours.walk(lambda d, e: e.value)
        our_err = None
    except pacsnb.PacsnbError as exc:
        ours, our_err = None, exc
    if forced and ours is not None:
        # pydicom wants force=True for a data set without the DICM prefix; pacsnb detects
        # raw data sets by itself: compare with pydicom forced
        try:
            theirs, their_err = read_pydicom_forced(path), None
        except Exception as exc:  # noqa: BLE001
            theirs, their_err = None, exc
    if theirs is None and ours is None:
        return "both-reject", []
    if ours is None:
        return "only-pacsnb-rejects", [f"pacsnb: {our_err}"]
    if theirs is None:
        return "only-pydicom-rejects", [f"pydicom: {their_err!r}"]
    little = bool(ours.is_little_endian)
    problems = compare(ours.file_meta, theirs.file_meta, True, "meta:")
    problems += compare(ours, theirs, little)
    return "both-ok", problems


def register_pydicom_private_dictionaries() -> int:
    """Register pydicom's vendor private dictionaries through our registration API.

    pacsnb ships no vendor private dictionaries (they are not part of the standard); for
    the oracle comparison we give pacsnb the same knowledge pydicom has, which also
    exercises :func:`pacsnb.dicom.dictionary.register_private_dictionary`.
    """
    from pydicom._private_dict import private_dictionaries

    from pacsnb.dicom.dictionary import register_private_dictionary

    n = 0
    for creator, entries in private_dictionaries.items():
        ours = {}
        for key, (vr, vm, name, *_rest) in entries.items():
            k = key.lower().replace("xx", "00")
            if len(k) != 8 or any(c not in "0123456789abcdef" for c in k):
                continue
            if not vr or vr == "NONE":
                continue
            tag = int(k, 16)
            if not (tag >> 16) & 1 or (tag >> 16) in (1, 3, 5, 7, 0xFFFF):
                continue  # vendor entries outside private groups: not private elements
            vr = vr.replace("_", " or ")  # pydicom writes 'OB_OW' for 'OB or OW'
            ours[tag] = (vr.split(" or ")[0], vm or "1", name)
        if ours and creator.strip():
            register_private_dictionary(creator, ours)
            n += 1
    return n
