"""Helpers for the round-trip and bad-input tests (tests/io/test_roundtrip.py,
tests/io/test_bad_input.py).

Everything that judges pacsnb here is computed independently of pacsnb: element
boundaries come from pydicom's element generator, deflate completeness from zlib, value
comparisons from pydicom's reading of both files, file validity from dcmtk's ``dcmdump``.
"""
from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import warnings
import zlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.filereader import data_element_generator
from pydicom.multival import MultiValue as PdMulti
from pydicom.sequence import Sequence as PdSeq

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
TEST_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
SYNTAXES = {"implicit": IMPLICIT_LE, "explicit": EXPLICIT_LE, "bigendian": EXPLICIT_BE, "deflated": DEFLATED}
NATIVE = {IMPLICIT_LE: (True, True), EXPLICIT_LE: (False, True), EXPLICIT_BE: (False, False),
          DEFLATED: (False, True)}

BULK = {"OB": "u1", "OW": "u2", "OF": "f4", "OD": "f8", "OL": "u4", "OV": "u8"}
NUMERIC = {"US": "u2", "SS": "i2", "UL": "u4", "SL": "i4", "FL": "f4", "FD": "f8", "SV": "i8", "UV": "u8"}


def pydicom_path(name: str) -> Path:
    for base in (TEST_FILES, CHARSET_FILES):
        p = base / name
        if p.exists():
            return p
    raise FileNotFoundError(name)


# ---------------------------------------------------------------------------------------
# Part 10 layout, computed with pydicom and zlib (not with pacsnb)
# ---------------------------------------------------------------------------------------

def meta_end(data: bytes) -> int:
    """Byte offset just after the File Meta Information of a Part 10 file (via its group length)."""
    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00", "needs a meta group length"
    return 144 + struct.unpack("<I", data[140:144])[0]


def element_ends(data: bytes, start: int, implicit: bool, little: bool, *, meta: bool = False) -> list[tuple[int, int]]:
    """(tag, end offset) of each top-level element from ``start``, by pydicom's generator."""
    fp = io.BytesIO(data)
    fp.seek(start)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for el in data_element_generator(fp, implicit, little):
            if meta and int(el.tag) >> 16 != 2:
                break
            out.append((int(el.tag), fp.tell()))
    return out


def layout(data: bytes, transfer_syntax: str) -> dict:
    """Meta and data set element boundaries of a Part 10 file.

    Returns a dict with ``meta`` [(tag, end)] in file offsets, ``start`` (offset of the data
    set), and ``data`` [(tag, end)]: file offsets, or offsets in the inflated data set for
    deflate.
    """
    m = element_ends(data, 132, False, True, meta=True)
    start = meta_end(data)
    assert m[-1][1] == start
    if transfer_syntax == DEFLATED:
        body = zlib.decompress(data[start:], -zlib.MAX_WBITS)
        d = element_ends(body, 0, False, True)
    else:
        implicit, little = NATIVE.get(transfer_syntax, (False, True))  # encapsulated: explicit LE
        d = element_ends(data, start, implicit, little)
    return {"meta": m, "start": start, "data": d}


def inflate_prefix(stream: bytes) -> tuple[bytes, bool]:
    """What zlib inflates from a (possibly truncated) raw deflate stream, and whether it is complete."""
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = d.decompress(stream)
    except zlib.error:
        return b"", False
    return out, d.eof


# ---------------------------------------------------------------------------------------
# pydicom-vs-pydicom comparison (original file vs the file pacsnb wrote)
# ---------------------------------------------------------------------------------------

def read_pd(source, **kw):
    """pydicom's reading of a path or bytes, every value converted now."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source, **kw)
        ds.walk(lambda d, e: e.value)
    return ds


def _bulk_array(vr: str, value, little: bool) -> np.ndarray:
    b = bytes(value)
    dt = np.dtype(("<" if little else ">") + BULK.get(vr, "u1"))
    if len(b) % dt.itemsize:
        return np.frombuffer(b, np.uint8)
    return np.frombuffer(b, dt).astype(dt.newbyteorder("="))


def _as_list(v) -> list:
    if v is None:
        return []
    if isinstance(v, (PdMulti, list, tuple)):
        return list(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (str, bytes)) and len(v) == 0:
        return []
    return [v]


def _text(x) -> str:
    s = getattr(x, "original_string", None)
    if s is None:
        s = str(x)
    return s


def _num_equal(x, y) -> bool:
    fx, fy = float(x), float(y)
    return fx == fy or (math.isnan(fx) and math.isnan(fy))


def _convert(elem, vr: str, little: bool, encoding):
    """Decode the raw bytes of a pydicom UN/OB element as ``vr`` (with pydicom)."""
    value = bytes(elem.value or b"")
    raw = RawDataElement(elem.tag, vr, len(value), value, 0, False, little)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_raw_data_element(raw, encoding=encoding)


def compare_pd(a, b, a_little: bool, b_little: bool, b_implicit: bool, where: str = "",
               encoding=None) -> list[str]:
    """Differences between two pydicom datasets: ``a`` read from the original file, ``b``
    from what pacsnb wrote. Values are compared by meaning (bulk data by numeric value, so
    byte order may differ); in implicit VR ``b`` cannot know every VR, so a VR mismatch is
    resolved by decoding ``b``'s bytes with ``a``'s VR (pydicom does the decoding)."""
    probs: list[str] = []
    if encoding is None:
        encoding = getattr(a, "_character_set", None) or ["iso8859"]
    ta = {int(t) for t in a.keys()}
    tb = {int(t) for t in b.keys()}
    for t in sorted(ta ^ tb):
        probs.append(f"{where}({t >> 16:04X},{t & 0xFFFF:04X}): only in {'original' if t in ta else 'written'}")
    for t in sorted(ta & tb):
        loc = f"{where}({t >> 16:04X},{t & 0xFFFF:04X})"
        ea, eb = a[t], b[t]
        va, vb = ea.VR, eb.VR
        if va == "SQ" or vb == "SQ":
            if b_implicit and va == "SQ" and vb == "UN" and len(ea.value) == 0 and not eb.value:
                continue  # pydicom reads an empty private sequence in implicit VR as empty UN
            if not (isinstance(ea.value, PdSeq) and isinstance(eb.value, PdSeq)):
                probs.append(f"{loc}: sequence {va} vs {vb}")
                continue
            if len(ea.value) != len(eb.value):
                probs.append(f"{loc}: {len(ea.value)} items vs {len(eb.value)}")
                continue
            for i, (x, y) in enumerate(zip(ea.value, eb.value)):
                probs += compare_pd(x, y, a_little, b_little, b_implicit, f"{loc}[{i}].",
                                    getattr(x, "_character_set", None) or encoding)
            continue
        bval = eb.value
        if t == 0x7FE00010 and isinstance(ea.value, (bytes, bytearray)) and isinstance(bval, (bytes, bytearray)) \
                and not getattr(ea, "is_undefined_length", False) and not getattr(eb, "is_undefined_length", False):
            probs += _compare_pixels(a, ea, eb, a_little, b_little, b_implicit, loc)
            continue
        if va != vb:
            both_bulk = va in BULK and vb in BULK or {va, vb} <= {"OB", "OW", "UN", "OB or OW"}
            if both_bulk:
                ab = _bulk_bytes(va, ea.value, a_little)
                bb = _bulk_bytes(va, eb.value, b_little)
                if ab != bb and ab.rstrip(b"\0") != bb.rstrip(b"\0"):
                    probs.append(f"{loc}: {va}/{vb} bytes differ ({len(ab)} vs {len(bb)})")
                continue
            if b_implicit and vb == "UN" and (bval is None or isinstance(bval, (bytes, bytearray))):
                try:
                    bval = _convert(eb, va, b_little, encoding).value
                except Exception as exc:  # noqa: BLE001
                    probs.append(f"{loc}: cannot decode written UN as {va}: {exc!r}")
                    continue
            elif va == "UN" and isinstance(ea.value, (bytes, bytearray)):
                # pacsnb resolved the VR of an element the original wrote as UN: decode the
                # original's bytes with the resolved VR
                try:
                    ea = _convert(ea, vb, True, encoding)
                    va = vb
                except Exception as exc:  # noqa: BLE001
                    probs.append(f"{loc}: cannot decode original UN as {vb}: {exc!r}")
                    continue
            elif not (b_implicit and (va in ("LO", "SH", "CS", "LT", "ST", "UT", "UC")
                                      and vb in ("LO", "SH", "CS", "LT", "ST", "UT", "UC"))):
                if not ({va, vb} <= {"US", "SS", "US or SS"} or {va, vb} <= {"US", "OW", "US or SS or OW"}):
                    probs.append(f"{loc}: VR {va} vs written {vb}")
                    continue
        probs += _compare_value(va, ea.value, bval, a_little, b_little, loc)
    return probs


def _compare_pixels(a, ea, eb, a_little: bool, b_little: bool, b_implicit: bool, loc: str) -> list[str]:
    """Native Pixel Data compared as pixels: Bits Allocated decides the size of a value
    whose bytes a big endian file swaps (as dcmtk and pydicom do); 8-bit pixels in an OW
    element of a big endian file are in swapped 16-bit words."""
    bits = a.get("BitsAllocated", 16)
    size = {8: 1, 16: 2, 32: 4, 64: 8}.get(int(bits or 16), 1 if int(bits or 16) < 8 else 2)
    probs: list[str] = []

    def pixels(value, little, vr):
        n = size if not (size == 1 and vr == "OW" and not little) else 2
        b = bytes(value)
        if len(b) % n:
            return np.frombuffer(b, np.uint8)
        arr = np.frombuffer(b, np.dtype(("<" if little else ">") + f"u{n}"))
        return arr.astype(arr.dtype.newbyteorder("<")).view(np.uint8)

    x = pixels(ea.value, a_little, ea.VR)
    y = pixels(eb.value, b_little, eb.VR)
    n = min(len(x), len(y))
    if abs(len(x) - len(y)) > 1 or not np.array_equal(x[:n], y[:n]):
        probs.append(f"{loc}: Pixel Data values differ ({len(x)} vs {len(y)} bytes, Bits Allocated {bits},"
                     f" {ea.VR} {'LE' if a_little else 'BE'} vs {eb.VR} {'LE' if b_little else 'BE'})")
    return probs


def _bulk_bytes(vr: str, value, little: bool) -> bytes:
    """Bulk value bytes in little endian (the element is read with its file's byte order)."""
    if value is None:
        return b""
    if vr in ("OB", "UN", "OB or OW") or not isinstance(value, (bytes, bytearray)):
        return bytes(value) if isinstance(value, (bytes, bytearray)) else np.asarray(value).tobytes()
    arr = _bulk_array(vr, value, little)
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def _compare_value(vr: str, av, bv, a_little: bool, b_little: bool, loc: str) -> list[str]:
    if vr in BULK or vr in ("OB or OW", "US or SS or OW") and isinstance(av, (bytes, bytearray)):
        if av is None and bv is None:
            return []
        if isinstance(av, (bytes, bytearray)) and isinstance(bv, (bytes, bytearray)):
            va = vr if vr in BULK else "OW"
            x, y = _bulk_array(va, av, a_little), _bulk_array(va, bv, b_little)
            if x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return []
            # a value of odd length is padded with one NUL when written
            if bytes(av) + b"\0" == bytes(bv) or bytes(av).rstrip(b"\0") == bytes(bv).rstrip(b"\0"):
                return []
            return [f"{loc}: {vr} values differ ({len(av)} vs {len(bv)} bytes)"]
        return [f"{loc}: {vr} {type(av).__name__} vs {type(bv).__name__}"]
    if vr == "UN":
        if bytes(av or b"") != bytes(bv or b""):
            if bytes(av or b"").rstrip(b"\0 ") == bytes(bv or b"").rstrip(b"\0 "):
                return []
            return [f"{loc}: UN bytes differ"]
        return []
    al, bl = _as_list(av), _as_list(bv)
    if len(al) != len(bl):
        return [f"{loc}: {vr} VM {len(al)} {al!r:.80} vs {len(bl)} {bl!r:.80}"]
    for x, y in zip(al, bl):
        if vr in NUMERIC or vr in ("US or SS",):
            if isinstance(x, (bytes, bytearray)) or isinstance(y, (bytes, bytearray)):
                if bytes(x) != bytes(y):
                    return [f"{loc}: {vr} bytes {x!r:.40} vs {y!r:.40}"]
                continue
            if not _num_equal(x, y):
                return [f"{loc}: {vr} {x!r} vs {y!r}"]
        elif vr == "AT":
            if int(x) != int(y):
                return [f"{loc}: AT {x!r} vs {y!r}"]
        elif vr in ("DS", "IS"):
            sx, sy = _text(x).strip(" \0"), _text(y).strip(" \0")
            if sx != sy:
                return [f"{loc}: {vr} text {sx!r} vs {sy!r}"]
        elif vr == "PN":
            if str(x).rstrip(" \0") != str(y).rstrip(" \0"):
                return [f"{loc}: PN {str(x)!r:.80} vs {str(y)!r:.80}"]
        else:
            sx, sy = str(x), str(y)
            if vr in ("AE", "CS", "SH", "LO", "AS", "DA", "TM", "DT", "UI", "UC"):
                sx, sy = sx.strip(" \0"), sy.strip(" \0")
            else:
                sx, sy = sx.rstrip(" \0"), sy.rstrip(" \0")
            if sx != sy:
                return [f"{loc}: {vr} {sx!r:.80} vs {sy!r:.80}"]
    return []


# ---------------------------------------------------------------------------------------
# pacsnb-vs-pacsnb comparison that tolerates what implicit VR cannot carry
# ---------------------------------------------------------------------------------------

def compare_ours(a, b, b_implicit: bool, where: str = "") -> list[str]:
    """Differences between two pacsnb datasets; with ``b_implicit``, an element whose VR the
    implicit file could not carry (OB pixel data read back as OW, a private element without a
    dictionary entry read back as UN) is compared by its little-endian value bytes."""
    from pacsnb.dicom.convert import encode_value

    probs: list[str] = []
    ta, tb = {int(t) for t in a.keys()}, {int(t) for t in b.keys()}
    for t in sorted(ta ^ tb):
        probs.append(f"{where}({t >> 16:04X},{t & 0xFFFF:04X}): only in {'a' if t in ta else 'b'}")
    for t in sorted(ta & tb):
        loc = f"{where}({t >> 16:04X},{t & 0xFFFF:04X})"
        ea, eb = a[t], b[t]
        if ea.VR == "SQ" and eb.VR == "SQ":
            if len(ea.value) != len(eb.value):
                probs.append(f"{loc}: {len(ea.value)} items vs {len(eb.value)}")
                continue
            for i, (x, y) in enumerate(zip(ea.value, eb.value)):
                probs += compare_ours(x, y, b_implicit, f"{loc}[{i}].")
            continue
        if ea == eb:
            continue
        if b_implicit and ea.VR != eb.VR and ea.VR != "SQ" and eb.VR != "SQ":
            try:
                cs = a._charsets()
                xa = encode_value(ea.VR, ea.value, True, cs)
                xb = encode_value(eb.VR, eb.value, True, cs)
            except Exception as exc:  # noqa: BLE001
                probs.append(f"{loc}: {ea.VR} vs {eb.VR}, cannot encode: {exc!r}")
                continue
            if xa == xb:
                continue
        probs.append(f"{loc}: {ea.VR} {ea.value!r:.60} vs {eb.VR} {eb.value!r:.60}")
    return probs


# ---------------------------------------------------------------------------------------
# dcmtk
# ---------------------------------------------------------------------------------------

DCMDUMP = shutil.which("dcmdump")


def dcmdump_problems(path) -> list[str]:
    """Run ``dcmdump`` on a file: its exit code and every ``E:`` line it prints."""
    r = subprocess.run([DCMDUMP, str(path)], capture_output=True, text=True, errors="replace",
                       timeout=60)
    lines = [ln for ln in (r.stdout + "\n" + r.stderr).splitlines() if ln.startswith("E:")]
    if r.returncode:
        lines.insert(0, f"dcmdump exit code {r.returncode}")
    return lines


# ---------------------------------------------------------------------------------------
# hypothesis strategies: random data sets with valid values for their VRs
# ---------------------------------------------------------------------------------------

def _strategies():
    import datetime as dt

    from hypothesis import strategies as st

    from pacsnb.dicom.dictionary import all_entries

    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ascii_letters = upper + upper.lower()
    ascii_text = ascii_letters + "0123456789 .,-_()+*/:;?!'\""

    # Specific Character Set -> the letters its text may use (besides ASCII)
    charsets = {
        None: "",
        "ISO_IR 100": "àéîõüßÆØçñ",
        "ISO_IR 101": "ąčęłńřšžŁŽ",
        "ISO_IR 144": "абвгдежзАБВГЖЯ",
        "ISO_IR 126": "αβγδεΑΒΓΔΩ",
        "ISO_IR 138": "אבגדהוזח",
        "ISO_IR 127": "ابتثجحخد",
        "ISO_IR 192": "àßΩжא山田太郎日本語한국어€",
        # JIS X 0208 through ISO 2022 escapes; 宮 and 府 encode with a 0x5C byte ('\\')
        "\\ISO 2022 IR 87": "山田太郎宮府花子東京",
        "ISO 2022 IR 6\\ISO 2022 IR 149": "김희중한국어",
    }
    charset_vrs = {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
    max_len = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 200, "LT": 200, "UT": 300, "UC": 60}

    def text(alphabet: str, max_size: int, strip: str = "both"):
        s = st.text(alphabet, min_size=1, max_size=max_size)
        if strip == "both":
            s = s.map(lambda x: x.strip(" ")).filter(bool)
        else:
            s = s.map(lambda x: x.rstrip(" ")).filter(bool)
        return s

    def ds_text(x: float) -> str:
        for f in (repr(x), f"{x:.10g}", f"{x:.6g}", f"{x:.3g}"):
            if len(f) <= 16 and "inf" not in f and "nan" not in f:
                return f
        return "0"

    def uid():
        return st.lists(st.integers(0, 10 ** 8), min_size=2, max_size=8).map(
            lambda parts: "1.2." + ".".join(str(p) for p in parts))

    def value_for(vr: str, letters: str):
        alpha = ascii_text + letters if vr in charset_vrs else ascii_text
        if vr == "AE":
            return text(upper + "0123456789_ ", 16)
        if vr == "AS":
            return st.builds(lambda n, u: f"{n:03d}{u}", st.integers(0, 999), st.sampled_from("DWMY"))
        if vr == "CS":
            return text(upper + "0123456789_ ", 16)
        if vr == "DA":
            return st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
        if vr == "TM":
            return st.builds(lambda h, m, s, f: f"{h:02d}{m:02d}{s:02d}" + (f".{f:06d}" if f >= 0 else ""),
                             st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(-1, 999999))
        if vr == "DT":
            return st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2099, 12, 31)).map(
                lambda d: d.strftime("%Y%m%d%H%M%S"))
        if vr == "DS":
            return st.one_of(st.integers(-10 ** 9, 10 ** 9).map(str),
                             st.floats(allow_nan=False, allow_infinity=False).map(ds_text),
                             st.sampled_from(["0.500000", "+5", "-0", "1e3", "1.5E-3", "-12.250", "007.5"]))
        if vr == "IS":
            return st.one_of(st.integers(-(2 ** 31), 2 ** 31 - 1).map(str), st.sampled_from(["+5", "007", "-0"]))
        if vr == "UI":
            return uid()
        if vr == "UR":
            return st.text(ascii_letters + "0123456789/._-", min_size=1, max_size=40).map(
                lambda p: "http://example.org/" + p)
        if vr == "PN":
            comp = st.text(ascii_letters + letters, min_size=1, max_size=10)
            group = st.lists(comp, min_size=1, max_size=3).map("^".join)
            return st.lists(group, min_size=1, max_size=3 if letters else 1).map("=".join)
        if vr in ("SH", "LO", "UC"):
            return text(alpha, max_len[vr])
        if vr in ("ST", "LT", "UT"):
            return text(alpha + "\\\r\n", max_len[vr], strip="right")
        ints = {"US": (0, 2 ** 16 - 1), "SS": (-(2 ** 15), 2 ** 15 - 1), "UL": (0, 2 ** 32 - 1),
                "SL": (-(2 ** 31), 2 ** 31 - 1), "SV": (-(2 ** 63), 2 ** 63 - 1), "UV": (0, 2 ** 64 - 1)}
        if vr in ints:
            return st.integers(*ints[vr])
        if vr == "FL":
            return st.floats(width=32, allow_nan=False)
        if vr == "FD":
            return st.floats(allow_nan=False)
        if vr == "AT":
            return st.integers(0, 2 ** 32 - 1)
        raise ValueError(vr)

    def bulk(vr: str):
        import numpy as np

        dt_ = {"OB": "u1", "OW": "<u2", "OF": "<f4", "OD": "<f8", "OL": "<u4", "OV": "<u8"}[vr]
        size = np.dtype(dt_).itemsize
        if vr == "OB":
            return st.binary(min_size=0, max_size=40).map(lambda b: b if len(b) % 2 == 0 else b + b"\x07")
        if vr in ("OF", "OD"):
            return st.lists(st.floats(width=8 * size, allow_nan=False), min_size=0, max_size=8).map(
                lambda xs: np.asarray(xs, dt_))
        return st.binary(min_size=0, max_size=8 * size).map(
            lambda b: np.frombuffer(b[: len(b) // size * size], dt_).copy())

    def vm_range(vm: str) -> tuple[int, int, int]:
        """(min, max, step) of the number of values to generate for a PS3.6 VM."""
        if vm.isdigit():
            return int(vm), int(vm), 1
        lo, hi = vm.split("-")
        lo_i = int(lo)
        if hi == "n":
            return lo_i, max(lo_i, 4), 1
        if hi.endswith("n"):
            step = int(hi[:-1])
            return step, 2 * step, step
        return lo_i, min(int(hi), 4), 1

    entries: dict[str, list] = {}
    for e in all_entries():
        g = e.tag >> 16
        if not e.keyword or len(e.vrs) != 1 or g in (0x0000, 0x0002, 0xFFFE) or not e.tag & 0xFFFF:
            continue
        if e.tag in (0x00080005, 0x00080016, 0x00080018) or e.vr in ("UN", "NONE"):
            continue
        if e.vr == "SQ" and e.tag < 0x00080005:
            # pydicom decodes items of a sequence that comes before (0008,0005) with the
            # default character set (it has not read the charset yet): the oracle would be wrong
            continue
        entries.setdefault(e.vr, []).append(e)
    value_vrs = sorted(vr for vr in entries if vr != "SQ")

    @st.composite
    def element_value(draw, entry, letters: str):
        vr = entry.vr
        if vr in ("OB", "OW", "OF", "OD", "OL", "OV"):
            return draw(bulk(vr))
        if draw(st.integers(0, 19)) == 0:
            return None if vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT") else ""
        lo, hi, step = vm_range(entry.vm)
        if vr in ("LT", "ST", "UT", "UR"):
            lo = hi = 1
        n = draw(st.integers(lo // step, hi // step)) * step
        vals = [draw(value_for(vr, letters)) for _ in range(max(n, 1))]
        if vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT") or len(vals) > 1:
            return vals[0] if len(vals) == 1 else vals
        return vals[0]

    @st.composite
    def dataset(draw, letters: str = "", depth: int = 0, max_elements: int = 12):
        from pacsnb.dicom.dataset import Dataset

        ds = Dataset()
        for _ in range(draw(st.integers(1, max_elements))):
            if depth < 2 and draw(st.integers(0, 5)) == 0:
                entry = draw(st.sampled_from(entries["SQ"]))
                items = draw(st.lists(dataset(letters, depth + 1, 4), min_size=0, max_size=3))
                setattr(ds, entry.keyword, items)
                continue
            vr = draw(st.sampled_from(value_vrs))
            entry = draw(st.sampled_from(entries[vr]))
            setattr(ds, entry.keyword, draw(element_value(entry, letters)))
        if draw(st.integers(0, 2)) == 0:
            add_private(ds, draw, letters, depth)
        return ds

    def add_private(ds, draw, letters, depth):
        group = draw(st.sampled_from([0x0009, 0x0011, 0x0029, 0x7FDF]))
        block = ds.private_block(group, PRIVATE_CREATOR, create=True)
        block.add_new(0x10, "LO", draw(value_for("LO", letters)))
        block.add_new(0x11, "US", draw(st.lists(st.integers(0, 65535), min_size=1, max_size=4)))
        block.add_new(0x12, "DS", draw(value_for("DS", "")))
        block.add_new(0x13, "OB", draw(bulk("OB")))
        block.add_new(0x15, "FD", draw(st.floats(allow_nan=False)))
        if depth < 2:
            block.add_new(0x14, "SQ", draw(st.lists(dataset(letters, depth + 1, 3), max_size=2)))
        other = ds.private_block(group, "UNREGISTERED VENDOR", create=True)
        other.add_new(0x01, "UN", draw(st.binary(max_size=10).map(lambda b: b if len(b) % 2 == 0 else b + b"\0")))

    @st.composite
    def top_dataset(draw):
        charset = draw(st.sampled_from(list(charsets)))
        letters = charsets[charset]
        ds = draw(dataset(letters))
        if charset is not None:
            ds.SpecificCharacterSet = charset.split("\\") if "\\" in charset else charset
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.SOPInstanceUID = draw(uid())
        return ds

    return top_dataset, value_for, entries


PRIVATE_CREATOR = "PACSNB RT TEST"
PRIVATE_ENTRIES = {0x00090010: ("LO", "1", "Text"), 0x00090011: ("US", "1-n", "Numbers"),
                   0x00090012: ("DS", "1", "Decimal"), 0x00090013: ("OB", "1", "Blob"),
                   0x00090014: ("SQ", "1", "Items"), 0x00090015: ("FD", "1", "Double")}
PRIVATE_GROUPS = (0x0009, 0x0011, 0x0029, 0x7FDF)


def register_test_private_dictionary() -> None:
    from pacsnb.dicom.dictionary import register_private_dictionary

    for g in PRIVATE_GROUPS:
        register_private_dictionary(PRIVATE_CREATOR, {(g << 16) | (k & 0xFFFF): v for k, v in PRIVATE_ENTRIES.items()})


def unregister_test_private_dictionary() -> None:
    from pacsnb.dicom.dictionary import unregister_private_dictionary

    unregister_private_dictionary(PRIVATE_CREATOR)


_STRATS = None


def random_datasets():
    """The hypothesis strategy of random top-level data sets (built lazily)."""
    global _STRATS
    if _STRATS is None:
        _STRATS = _strategies()
    return _STRATS[0]()
