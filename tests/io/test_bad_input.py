"""Bad input (issue section 4): truncation at every byte, hostile lengths, deep nesting,
unknown VRs, wrong meta, deflate bombs and random bytes.

The rule under test: pacsnb either reads (and then every value reads too) or raises
:class:`~pacsnb.errors.InvalidDicomError` naming the file, the byte offset and, where there
is one, the element. Never an ``IndexError``/``struct.error``/``MemoryError``/
``RecursionError``, never a hang, never an allocation much larger than the file. Where
pydicom is lenient for a good reason (odd lengths, missing meta, a meta that lies about
explicit/implicit VR, a wrong meta group length), pacsnb reads too and records a warning.

Element boundaries are computed with pydicom's element generator and deflate completeness
with zlib (``rt_helpers``), not with pacsnb.
"""
from __future__ import annotations

import logging
import resource
import struct
import time
import traceback
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pacsnb
import pacsnb.io.reader as reader_mod
from pacsnb.errors import InvalidDicomError, PacsnbError
from rt_helpers import (DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, NATIVE, inflate_prefix, layout,
                        pydicom_path)

# ---------------------------------------------------------------------------------------
# hand-made encodings (independent of pacsnb's writer)
# ---------------------------------------------------------------------------------------

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
UNDEF = 0xFFFFFFFF
SYNTAX_IDS = {IMPLICIT_LE: "implicit", EXPLICIT_LE: "explicit", EXPLICIT_BE: "bigendian"}
PLAIN_SYNTAXES = [IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE]


def el(tag: int, vr: bytes, value: bytes, ts: str, length: int | None = None) -> bytes:
    """One element: header (implicit or explicit, little or big endian) and value bytes."""
    implicit, little = NATIVE[ts]
    e = "<" if little else ">"
    n = len(value) if length is None else length
    g, m = tag >> 16, tag & 0xFFFF
    if implicit:
        return struct.pack(e + "HHI", g, m, n) + value
    if vr in LONG_VRS:
        return struct.pack(e + "HH2sHI", g, m, vr, 0, n) + value
    return struct.pack(e + "HH2sH", g, m, vr, n) + value


def item(body: bytes, ts: str, length: int | None = None) -> bytes:
    e = "<" if NATIVE[ts][1] else ">"
    return struct.pack(e + "HHI", 0xFFFE, 0xE000, len(body) if length is None else length) + body


def delim(ts: str, kind: str) -> bytes:
    e = "<" if NATIVE[ts][1] else ">"
    return struct.pack(e + "HHI", 0xFFFE, 0xE00D if kind == "item" else 0xE0DD, 0)


def txt(s: str, pad: bytes = b" ") -> bytes:
    b = s.encode("ascii")
    return b + pad if len(b) % 2 else b


def meta(ts: str, group_length_delta: int = 0) -> bytes:
    """Preamble, DICM and a File Meta Information group for ``ts`` (explicit VR LE)."""
    body = (el(0x00020001, b"OB", b"\x00\x01", EXPLICIT_LE)
            + el(0x00020002, b"UI", txt("1.2.840.10008.5.1.4.1.1.7", b"\0"), EXPLICIT_LE)
            + el(0x00020003, b"UI", txt("1.2.3.4", b"\0"), EXPLICIT_LE)
            + el(0x00020010, b"UI", txt(ts, b"\0"), EXPLICIT_LE)
            + el(0x00020012, b"UI", txt("1.2.3.4.5.6", b"\0"), EXPLICIT_LE))
    gl = el(0x00020000, b"UL", struct.pack("<I", len(body) + group_length_delta), EXPLICIT_LE)
    return b"\0" * 128 + b"DICM" + gl + body


def head(ts: str) -> bytes:
    """A few ordinary leading elements of a data set."""
    return (el(0x00080016, b"UI", txt("1.2.840.10008.5.1.4.1.1.7", b"\0"), ts)
            + el(0x00080018, b"UI", txt("1.2.3.4", b"\0"), ts)
            + el(0x00080060, b"CS", txt("OT"), ts))


def part10(body: bytes, ts: str, **kw) -> bytes:
    return meta(ts, **kw) + body


def walk_all(ds) -> None:
    ds.walk(lambda d, e: e.value)
    if ds.file_meta is not None:
        ds.file_meta.walk(lambda d, e: e.value)


def read_all(source, **kw):
    ds = pacsnb.read(source, **kw)
    walk_all(ds)
    return ds


def expect_invalid(source, **kw) -> InvalidDicomError:
    """Reading (and touching every value) raises InvalidDicomError, nothing else."""
    err = None
    failure = "DID NOT RAISE InvalidDicomError"
    try:
        read_all(source, **kw)
    except InvalidDicomError as exc:
        err = exc
    except Exception as exc:  # noqa: BLE001 - reported briefly below
        tb = "".join(traceback.format_exception(exc, limit=-4))
        failure = f"raised {type(exc).__name__} instead of InvalidDicomError:\n{tb[-3000:]}"
        del exc
    if err is None:
        # outside the except block: pytest would otherwise render the chained traceback
        # (thousands of frames for a RecursionError, minutes of formatting)
        pytest.fail(failure, pytrace=False)
    assert err.offset is not None, f"no byte offset in {err!r}"
    return err


def warned(ds, caplog, *words: str) -> bool:
    """A warning was recorded (in ``ds.read_warnings`` or logged by pacsnb) that mentions one of ``words``."""
    texts = list(ds.read_warnings or [])
    texts += [r.getMessage() for r in caplog.records
              if r.levelno >= logging.WARNING and r.name.startswith("pacsnb")]
    if not words:
        return bool(texts)
    return any(w.lower() in t.lower() for t in texts for w in words)


class Peak:
    """Peak traced Python/numpy allocation and max RSS growth over a block."""

    def __enter__(self):
        self.rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        tracemalloc.reset_peak()
        return self

    def __exit__(self, *exc):
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.rss0
        return False


@pytest.fixture(autouse=True)
def _warm_up():
    # the numba scanner compiles (or loads its cache) on first use: keep that out of
    # timing and memory measurements
    pacsnb.read(part10(head(EXPLICIT_LE), EXPLICIT_LE))


# ---------------------------------------------------------------------------------------
# truncation at every byte offset of real files
# ---------------------------------------------------------------------------------------

TRUNCATION_FILES = [
    "CT_small.dcm",            # explicit VR little endian, ordinary CT
    "rtplan.dcm",              # implicit VR, nested sequences of defined length
    "MR_small_implicit.dcm",   # implicit VR little endian image
    "MR_small_bigendian.dcm",  # explicit VR big endian
    "image_dfl.dcm",           # deflated explicit VR little endian
    "JPEG2000.dcm",            # encapsulated pixel data
    "test-SR.dcm",             # structured report: sequences of undefined length nested deep
]


def _truncation_problems(data: bytes, ts: str, full, n: int, lay: dict) -> list[str]:
    start = lay["start"]
    try:
        ds = pacsnb.read(data[:n])
    except InvalidDicomError as exc:
        probs = []
        if exc.path is not None:
            probs.append(f"cut {n}: read from bytes but path={exc.path!r}")
        if exc.offset is None:
            probs.append(f"cut {n}: no byte offset in {exc!r}")
        elif exc.offset < 0 or (ts != DEFLATED or n <= start) and exc.offset > n:
            probs.append(f"cut {n}: offset {exc.offset} outside the {n} bytes read ({exc!r})")
        return probs
    except Exception as exc:  # noqa: BLE001 - the point of the test
        return [f"cut {n}: {type(exc).__name__}: {exc}"]
    try:
        walk_all(ds)
    except Exception as exc:  # noqa: BLE001
        return [f"cut {n}: read, then touching values raised {type(exc).__name__}: {exc}"]
    # it read: the cut must fall on an element boundary and give a prefix of the elements
    meta_ends = [e for _, e in lay["meta"]]
    if ts == DEFLATED and n > start:
        _, complete = inflate_prefix(data[start:n])
        if not complete:
            return [f"cut {n}: the deflate stream is incomplete (zlib) but the file read without error"
                    f" (warnings: {ds.read_warnings})"]
        want_meta = [t for t, _ in lay["meta"]]
        want_data = [t for t, _ in lay["data"]]
    else:
        ends = set(meta_ends) | ({e for _, e in lay["data"]} if ts != DEFLATED else set())
        if n not in ends:
            b = max((e for e in ends if e <= n), default=0)
            gap = data[b:n]
            if not (len(gap) < 8 and gap.count(0) == len(gap) and ds.read_warnings):
                return [f"cut {n}: read without error although the cut is {n - b} bytes past the "
                        f"element boundary {b} (warnings: {ds.read_warnings})"]
            n = b
        want_meta = [t for t, e in lay["meta"] if e <= n]
        want_data = [t for t, e in lay["data"] if e <= n] if ts != DEFLATED else []
    probs = []
    got_meta = [int(t) for t in ds.file_meta.keys()] if ds.file_meta is not None else []
    got_data = [int(t) for t in ds.keys()]
    if got_meta != want_meta:
        probs.append(f"cut {n}: meta tags {len(got_meta)} vs the {len(want_meta)} complete ones")
    if got_data != want_data:
        probs.append(f"cut {n}: data set tags {len(got_data)} vs the {len(want_data)} complete ones")
    for t in got_data:
        if t in full and not ds[t] == full[t]:
            probs.append(f"cut {n}: element {t:08X} differs from the whole file's")
    return probs


def _summary(problems: list[str]) -> str:
    """Problems grouped by kind (the text after 'cut N: '), three examples of each."""
    kinds: dict[str, list[str]] = {}
    for p in problems:
        key = p.split(": ", 1)[1][:40] if ": " in p else p
        kinds.setdefault(key, []).append(p)
    lines = [f"{len(problems)} problems of {len(kinds)} kinds:"]
    for key, ps in kinds.items():
        lines.append(f"  {len(ps)} x {key}...")
        lines += [f"      {p[:300]}" for p in ps[:3]]
    return "\n".join(lines)


@pytest.mark.parametrize("name", TRUNCATION_FILES)
def test_truncated_at_every_offset(name, caplog):
    """Every prefix of the file raises InvalidDicomError (path None for bytes, offset set),
    or, only when the cut is on an element boundary, reads a prefix of the elements."""
    caplog.set_level(logging.CRITICAL)
    data = pydicom_path(name).read_bytes()
    full = read_all(data)
    ts = str(full.transfer_syntax)
    lay = layout(data, ts)
    problems: list[str] = []
    t0 = time.perf_counter()
    for n in range(len(data)):
        problems += _truncation_problems(data, ts, full, n, lay)
    elapsed = time.perf_counter() - t0
    assert not problems, _summary(problems)
    assert elapsed < 60, f"{len(data)} truncated reads took {elapsed:.1f} s"


@pytest.mark.parametrize("name", TRUNCATION_FILES)
def test_truncated_files_on_disk_name_the_file(name, tmp_path, caplog):
    """A sample of the cuts, read from real files: the error names the file."""
    caplog.set_level(logging.CRITICAL)
    data = pydicom_path(name).read_bytes()
    lay = layout(data, str(pacsnb.read(data).transfer_syntax))
    cuts = sorted({0, 1, 7, 127, 128, 131, 132, 133, 139, lay["start"] - 1, lay["start"] + 3, len(data) - 1}
                  | {len(data) * k // 23 for k in range(1, 23)})
    path = tmp_path / f"cut-{name}"
    rejected = 0
    problems: list[str] = []
    for n in cuts:
        path.write_bytes(data[:n])
        with open(path, "rb") as f:
            for how, src in (("path", path), ("file object", f)):
                try:
                    read_all(src)
                except InvalidDicomError as exc:
                    rejected += how == "path"
                    if exc.path != str(path) or str(path) not in str(exc):
                        problems.append(f"cut {n}: via {how}, the error does not name the file: {exc!r}")
                    if exc.offset is None:
                        problems.append(f"cut {n}: via {how}, no byte offset in {exc!r}")
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"cut {n}: via {how}, {type(exc).__name__}: {exc}")
    assert not problems, _summary(problems)
    assert rejected >= len(cuts) - 3


# ---------------------------------------------------------------------------------------
# hostile lengths
# ---------------------------------------------------------------------------------------

HUGE = [0xFFFFFFF0, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFE, 0x00100000]


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("length", HUGE, ids=hex)
@pytest.mark.parametrize("vr", [b"UT", b"OB"])
def test_element_length_past_end(ts, length, vr, tmp_path):
    h = head(ts)
    bad_tag = 0x00181030 if vr == b"UT" else 0x00420011  # Protocol Name; Encapsulated Document (OB)
    body = h + el(bad_tag, vr, b"abcdefgh", ts, length=length)
    data = part10(body, ts)
    offset = len(meta(ts)) + len(h)
    path = tmp_path / "huge.dcm"
    path.write_bytes(data)
    with Peak() as mem:
        err = expect_invalid(data)
        err2 = expect_invalid(path)
    assert err.offset == offset and err.tag == bad_tag, err
    assert err.path is None
    assert err2.path == str(path) and err2.offset == offset and err2.tag == bad_tag
    assert f"{bad_tag >> 16:04X},{bad_tag & 0xFFFF:04X}" in str(err2) and str(offset) in str(err2)
    assert mem.peak < 2_000_000 + 16 * len(data), f"peak allocation {mem.peak} bytes for a {len(data)}-byte file"
    assert mem.rss_growth < 100_000_000


@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE], ids=SYNTAX_IDS.get)
def test_short_explicit_length_past_end(ts):
    h = head(ts)
    data = part10(h + el(0x00100010, b"PN", b"DOE ", ts, length=0xFFFF), ts)
    err = expect_invalid(data)
    assert err.tag == 0x00100010 and err.offset == len(meta(ts)) + len(h)


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x80000000])
def test_huge_pixel_data_is_fine_when_stopping_before_pixels(ts, length):
    h = head(ts) + el(0x00100010, b"PN", b"DOE ", ts)
    data = part10(h + el(0x7FE00010, b"OW", b"\0\0\0\0", ts, length=length), ts)
    ds = read_all(data, stop_before_pixels=True)
    assert ds.PatientName == "DOE" and "PixelData" not in ds
    err = expect_invalid(data)
    assert err.tag == 0x7FE00010


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x80000000, 0x1000])
def test_element_in_item_longer_than_item(ts, length):
    inner = el(0x00080100, b"SH", b"ABCD", ts) + el(0x00080104, b"UT", b"long", ts, length=length)
    seq = el(0x00081110, b"SQ", item(inner + delim(ts, "item"), ts, length=UNDEF) + delim(ts, "seq"), ts,
             length=UNDEF)
    h = head(ts)
    data = part10(h + seq + el(0x00100010, b"PN", b"DOE ", ts), ts)
    err = expect_invalid(data)
    assert err.tag == 0x00080104, err


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
def test_element_in_defined_item_longer_than_item_but_within_file(ts):
    """A defined-length item whose last element runs past the item's end."""
    inner = el(0x00080100, b"SH", b"ABCD", ts) + el(0x00080104, b"LO", b"long", ts)
    it = item(inner, ts, length=len(inner) - 2)
    seq = el(0x00081110, b"SQ", it + delim(ts, "seq"), ts, length=UNDEF)
    data = part10(head(ts) + seq + el(0x00100010, b"PN", b"DOE^JOHN", ts), ts)
    err = expect_invalid(data)
    assert err.tag in (0x00080104, 0xFFFEE000, 0xFFFEE0DD), err


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x80000000, 0x200])
def test_item_longer_than_sequence_and_file(ts, length):
    inner = el(0x00080100, b"SH", b"ABCD", ts)
    it = item(inner, ts, length=length)
    seq = el(0x00081110, b"SQ", it, ts, length=len(it))
    data = part10(head(ts) + seq, ts)
    with Peak() as mem:
        err = expect_invalid(data)
    assert err.tag in (0xFFFEE000, 0x00081110), err
    assert mem.peak < 2_000_000 + 16 * len(data)


@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE], ids=SYNTAX_IDS.get)
def test_item_longer_than_its_sequence_within_file_is_lenient(ts, caplog):
    """A defined-length sequence shorter than its item (a real-world defect) reads with a warning."""
    inner = el(0x00080100, b"SH", b"ABCD", ts)
    it = item(inner, ts)
    seq = el(0x00081110, b"SQ", it, ts, length=len(it) - 4)
    data = part10(head(ts) + seq + el(0x00100010, b"PN", b"DOE ", ts), ts)
    ds = read_all(data)
    assert ds.ReferencedStudySequence[0].CodeValue == "ABCD"
    assert ds.PatientName == "DOE"
    assert warned(ds, caplog, "longer", "length")


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x80000000])
def test_defined_length_sequence_past_end(ts, length):
    it = item(el(0x00080100, b"SH", b"ABCD", ts), ts)
    data = part10(head(ts) + el(0x00081110, b"SQ", it, ts, length=length), ts)
    with Peak() as mem:
        err = expect_invalid(data)
    assert err.tag in (0x00081110, 0xFFFEE000) or err.tag is None
    assert mem.peak < 2_000_000 + 16 * len(data)


# ---------------------------------------------------------------------------------------
# deep nesting
# ---------------------------------------------------------------------------------------

def nested_undefined(depth: int, ts: str) -> bytes:
    """Sequence > item > sequence > item ... ``depth`` levels, all of undefined length."""
    open_ = (el(0x00081115, b"SQ", b"", ts, length=UNDEF) + item(b"", ts, length=UNDEF))
    leaf = el(0x00080100, b"SH", b"LEAF", ts)
    close = delim(ts, "item") + delim(ts, "seq")
    return open_ * depth + leaf + close * depth


def nested_defined(depth: int, ts: str) -> bytes:
    """The same with defined lengths everywhere (in implicit VR the reader only sees the
    nesting when it decodes each sequence)."""
    inner = el(0x00080100, b"SH", b"LEAF", ts)
    for _ in range(depth):
        inner = el(0x00081115, b"SQ", item(inner, ts), ts)
    return inner


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("build", [nested_undefined, nested_defined], ids=["undefined", "defined"])
def test_sequences_nested_ten_thousand_deep(ts, build):
    h = head(ts)
    data = part10(h + build(10_000, ts) + el(0x00100010, b"PN", b"DOE ", ts), ts)
    t0 = time.perf_counter()
    with Peak() as mem:
        err = expect_invalid(data)  # walking the values included: no RecursionError
    assert time.perf_counter() - t0 < 10
    assert err.tag in (0x00081115, 0xFFFEE000), err
    assert len(meta(ts)) + len(h) <= err.offset < len(data)
    assert "nest" in str(err).lower() or "deep" in str(err).lower(), str(err)
    assert mem.peak < 4_000_000 + 64 * len(data)


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("build", [nested_undefined, nested_defined], ids=["undefined", "defined"])
def test_moderate_nesting_reads(ts, build):
    """Real files nest a few levels; 40 levels must read, in every syntax."""
    data = part10(head(ts) + build(40, ts), ts)
    ds = read_all(data)
    x = ds
    for _ in range(40):
        x = x.ReferencedSeriesSequence[0]
    assert x.CodeValue == "LEAF"


# ---------------------------------------------------------------------------------------
# VRs
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE], ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("vr", [b"ZZ", b"XY", b"\x01\xff", b"pn", b"\0\0", b"  "])
def test_unknown_vr_in_explicit_data(ts, vr):
    h = head(ts)
    data = part10(h + el(0x00100010, vr, b"DOE ", ts) + el(0x00100020, b"LO", b"ID", ts), ts)
    err = expect_invalid(data)
    assert err.tag == 0x00100010 and err.offset == len(meta(ts)) + len(h), err


@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE], ids=SYNTAX_IDS.get)
def test_unknown_vr_inside_an_item(ts):
    inner = el(0x00080100, b"SH", b"ABCD", ts) + el(0x00080104, b"QQ", b"long", ts)
    seq = el(0x00081110, b"SQ", item(inner, ts, length=UNDEF) + delim(ts, "item") + delim(ts, "seq"), ts,
             length=UNDEF)
    err = expect_invalid(part10(head(ts) + seq, ts))
    assert err.tag == 0x00080104, err


# ---------------------------------------------------------------------------------------
# wrong or missing meta: lenient, with a warning
# ---------------------------------------------------------------------------------------

def _body(ts: str) -> bytes:
    return (head(ts) + el(0x00100010, b"PN", b"DOE^JOHN", ts) + el(0x00100020, b"LO", b"ID42", ts)
            + el(0x00280010, b"US", struct.pack("<H" if NATIVE[ts][1] else ">H", 512), ts))


def _check_body(ds) -> None:
    assert ds.Modality == "OT"
    assert ds.PatientName == "DOE^JOHN"
    assert ds.PatientID == "ID42"
    assert ds.Rows == 512


@pytest.mark.parametrize("claimed,actual", [(EXPLICIT_LE, IMPLICIT_LE), (IMPLICIT_LE, EXPLICIT_LE),
                                            (EXPLICIT_BE, IMPLICIT_LE)],
                         ids=["explicit-but-implicit", "implicit-but-explicit", "bigendian-but-implicit"])
def test_meta_transfer_syntax_wrong_about_vr_reads_with_warning(claimed, actual, caplog):
    """pydicom reads these (warning 'Expected explicit VR, but found implicit VR'); so do we."""
    ds = read_all(meta(claimed) + _body(actual))
    _check_body(ds)
    assert warned(ds, caplog, "transfer syntax", "implicit", "explicit")


@pytest.mark.parametrize("claimed,actual", [(EXPLICIT_BE, EXPLICIT_LE), (EXPLICIT_LE, EXPLICIT_BE),
                                            (DEFLATED, EXPLICIT_LE), (IMPLICIT_LE, EXPLICIT_BE)],
                         ids=["BE-but-LE", "LE-but-BE", "deflated-but-plain", "implicit-but-BE"])
def test_meta_transfer_syntax_wrong_about_byte_order(claimed, actual, caplog):
    """Either read correctly with a warning, or raise InvalidDicomError: never garbage in silence."""
    data = meta(claimed) + _body(actual)
    try:
        ds = read_all(data)
    except InvalidDicomError as exc:
        assert exc.offset is not None
        return
    _check_body(ds)
    assert warned(ds, caplog), "read a data set whose encoding differs from the meta without a warning"


@pytest.mark.parametrize("delta", [10, -10, 1000, -60])
def test_wrong_meta_group_length_is_lenient_with_warning(delta, caplog):
    ds = read_all(part10(_body(EXPLICIT_LE), EXPLICIT_LE, group_length_delta=delta))
    _check_body(ds)
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT_LE
    assert warned(ds, caplog, "group length"), ds.read_warnings


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
def test_odd_length_values_are_lenient_with_warning(ts, caplog):
    """Odd value lengths (common in real files; pydicom reads them) read, with a warning."""
    body = (head(ts) + el(0x00100010, b"PN", b"DOE", ts) + el(0x00100020, b"LO", b"ID42", ts)
            + el(0x00101010, b"AS", b"045Y", ts))
    ds = read_all(part10(body, ts))
    assert ds.PatientName == "DOE" and ds.PatientID == "ID42" and ds.PatientAge == "045Y"
    assert warned(ds, caplog, "odd"), ds.read_warnings


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
def test_missing_meta_raw_data_set_is_lenient_with_warning(ts, caplog, tmp_path):
    """A bare data set (no preamble, no meta) reads, with a warning saying so."""
    data = _body(ts)
    path = tmp_path / "raw.dcm"
    path.write_bytes(data)
    for src in (data, path):
        caplog.clear()
        ds = read_all(src)
        _check_body(ds)
        assert warned(ds, caplog, "meta"), ds.read_warnings


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
def test_dicm_prefix_without_meta_is_lenient_with_warning(ts, caplog):
    ds = read_all(b"\0" * 128 + b"DICM" + _body(ts))
    _check_body(ds)
    assert warned(ds, caplog, "meta")


def test_meta_without_transfer_syntax_is_lenient_with_warning(caplog):
    m = (el(0x00020001, b"OB", b"\x00\x01", EXPLICIT_LE)
         + el(0x00020002, b"UI", txt("1.2.840.10008.5.1.4.1.1.7", b"\0"), EXPLICIT_LE))
    data = b"\0" * 128 + b"DICM" + el(0x00020000, b"UL", struct.pack("<I", len(m)), EXPLICIT_LE) + m
    ds = read_all(data + _body(IMPLICIT_LE))
    _check_body(ds)
    assert warned(ds, caplog, "transfer syntax")


# ---------------------------------------------------------------------------------------
# deflate
# ---------------------------------------------------------------------------------------

def _deflate(raw: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = c.compress(raw) + c.flush()
    return out + b"\0" if len(out) % 2 else out


def _bomb(inflated_size: int) -> bytes:
    """A deflated data set: a few elements, then an OB element of ``inflated_size`` zeros."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [c.compress(head(EXPLICIT_LE) + el(0x00420011, b"OB", b"", EXPLICIT_LE, length=inflated_size))]
    zeros = b"\0" * (1 << 20)
    for _ in range(inflated_size >> 20):
        parts.append(c.compress(zeros))
    parts.append(c.flush())
    return b"".join(parts)


def test_deflate_bomb_is_bounded(monkeypatch):
    monkeypatch.setattr(reader_mod, "MAX_INFLATED", 1 << 20)
    stream = _bomb(128 << 20)
    data = meta(DEFLATED) + stream
    assert len(data) < 400_000  # 128 MiB from less than 400 kB
    t0 = time.perf_counter()
    with Peak() as mem:
        err = expect_invalid(data)
    assert time.perf_counter() - t0 < 10
    assert err.offset == len(meta(DEFLATED)), err
    assert "inflate" in str(err).lower() or "deflate" in str(err).lower()
    # bounded by the limit (plus the working buffers of one decompression step, 16 MiB in
    # pacsnb), far below the 128 MiB the stream inflates to
    assert mem.peak < 2 * (1 << 20) + 40_000_000, f"peak allocation {mem.peak}"
    assert mem.rss_growth < 100_000_000


def test_deflate_limit_default_is_finite():
    assert 0 < reader_mod.MAX_INFLATED <= 1 << 40


def test_deflated_file_within_the_limit_reads(monkeypatch):
    data = pydicom_path("image_dfl.dcm").read_bytes()
    monkeypatch.setattr(reader_mod, "MAX_INFLATED", 1 << 20)  # it inflates to ~260 kB
    assert read_all(data).Rows > 0
    monkeypatch.setattr(reader_mod, "MAX_INFLATED", 100_000)
    err = expect_invalid(data)
    assert "inflate" in str(err).lower() or "deflate" in str(err).lower()


@pytest.mark.parametrize("garbage", [b"\xff" * 64, b"\x00" * 64, bytes(range(256))])
def test_corrupt_deflate_stream(garbage):
    err = expect_invalid(meta(DEFLATED) + garbage)
    assert err.offset is not None


def test_deflated_stream_of_a_valid_body_reads():
    ds = read_all(meta(DEFLATED) + _deflate(_body(EXPLICIT_LE)))
    _check_body(ds)


def test_hostile_length_inside_a_deflated_data_set():
    """The offset of an error found after inflating cannot be a file offset: the message
    must say which it is (a bare "at byte 60" would point into the preamble)."""
    body = head(EXPLICIT_LE) + el(0x00181030, b"UT", b"abcd", EXPLICIT_LE, length=0xFFFFFFF0)
    data = meta(DEFLATED) + _deflate(body)
    with Peak() as mem:
        err = expect_invalid(data)
    assert err.tag == 0x00181030
    assert mem.peak < 2_000_000 + 16 * len(data)
    msg = str(err)
    says_where = err.offset >= len(meta(DEFLATED)) or "inflated" in msg.lower() or "deflated" in msg.lower()
    assert says_where, f"offset {err.offset} of the inflated data set reported as if it were a file offset: {msg}"


# ---------------------------------------------------------------------------------------
# hostile meta, stray delimiters, garbage values
# ---------------------------------------------------------------------------------------

def _meta_with(*elements: bytes, group_length: int | None = None) -> bytes:
    body = b"".join(elements)
    gl = len(body) if group_length is None else group_length
    return b"\0" * 128 + b"DICM" + el(0x00020000, b"UL", struct.pack("<I", gl), EXPLICIT_LE) + body


@pytest.mark.parametrize("bad", [
    el(0x00020001, b"OB", b"\0\1", EXPLICIT_LE, length=0xFFFFFFF0),
    el(0x00020010, b"UI", b"1.2", EXPLICIT_LE, length=0xFFF0),
    el(0x00020010, b"UI", b"1.2", EXPLICIT_LE, length=0x80000000 >> 16),
], ids=["OB-huge", "UI-0xFFF0", "UI-0x8000"])
def test_hostile_length_in_the_meta(bad, tmp_path):
    path = tmp_path / "meta.dcm"
    path.write_bytes(_meta_with(bad) + _body(IMPLICIT_LE))
    err = expect_invalid(path)
    assert err.path == str(path) and err.offset == 144 and err.tag in (0x00020001, 0x00020010)


@pytest.mark.parametrize("gl", [0xFFFFFFF0, 0x80000000, 0])
def test_hostile_meta_group_length_is_lenient_with_warning(gl, caplog):
    m = meta(EXPLICIT_LE)
    ds = read_all(m[:140] + struct.pack("<I", gl) + m[144:] + _body(EXPLICIT_LE))
    _check_body(ds)
    assert warned(ds, caplog, "group length")


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("kind", ["item", "seq"])
def test_stray_delimiter_at_top_level(ts, kind):
    h = head(ts)
    err = expect_invalid(part10(h + delim(ts, kind) + el(0x00100010, b"PN", b"DOE ", ts), ts))
    assert err.offset == len(meta(ts)) + len(h)
    assert err.tag == (0xFFFEE00D if kind == "item" else 0xFFFEE0DD)


GARBAGE_VALUES = {  # VR: (tag, value bytes that do not follow the VR's rules)
    b"DA": (0x00080020, b"2024XX99"), b"TM": (0x00080030, b"99:99:99"), b"DT": (0x0008002A, b"\xff\xff"),
    b"AT": (0x00209165, b"\x01\x02\x03"), b"US": (0x00280010, b"\x01\x02\x03"), b"FD": (0x00189345, b"\x01" * 7),
    b"DS": (0x00180050, b"1.2.3.4\0"), b"IS": (0x00200013, b"abc "), b"UI": (0x0020000D, b"\xff\0"),
    b"AS": (0x00101010, b"\0\0"), b"PN": (0x00100010, b"a=b=c=d^e^f^g^h^"), b"OF": (0x00181638, b"\x01\x02\x03"),
    b"OW": (0x7FE00010, b"\x01\x02\x03"), b"UR": (0x00081190, b"\xff\xfe"), b"UC": (0x00080119, b"\xc3\x28"),
    b"SV": (0x00720082, b"\x01" * 9), b"LO": (0x00100020, b"\x1b$B\x80"), b"CS": (0x00080060, b"\x00\xff"),
}


@pytest.mark.parametrize("ts", PLAIN_SYNTAXES, ids=SYNTAX_IDS.get)
@pytest.mark.parametrize("vr", list(GARBAGE_VALUES), ids=lambda v: v.decode())
def test_garbage_values_read_leniently(ts, vr):
    """Values that break their VR's rules never make reading or touching them raise
    anything but PacsnbError (data sets from the wild must stay readable)."""
    tag, value = GARBAGE_VALUES[vr]
    data = part10(head(ts) + el(tag, vr, value, ts) + el(0x00201041, b"DS", b"1.5 ", ts), ts)
    try:
        ds = read_all(data)
        repr(ds)
        ds.to_series(nested=True)
    except PacsnbError:
        return
    assert float(ds.SliceLocation) == 1.5


@pytest.mark.parametrize("charset", [b"ISO_IR 999 ", b"\xff\xfe", b"ISO 2022 IR 87\\ISO_IR 999 ", b"ISO_IR 192"])
def test_garbage_text_and_charsets_read_leniently(charset):
    ts = EXPLICIT_LE
    body = (el(0x00080005, b"CS", charset, ts) + head(ts) + el(0x00100010, b"PN", b"\xff\xfe\x1b$B\x80\x80", ts)
            + el(0x00081030, b"LO", b"\xe9\xe9\x1b(J", ts) + el(0x00201041, b"DS", b"1.5 ", ts))
    try:
        ds = read_all(part10(body, ts))
        repr(ds)
    except PacsnbError:
        return
    assert float(ds.SliceLocation) == 1.5


# ---------------------------------------------------------------------------------------
# files that are not DICOM at all
# ---------------------------------------------------------------------------------------

def test_dicm_then_end_of_file(tmp_path):
    path = tmp_path / "prefix-only.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM")
    err = expect_invalid(path)
    assert err.path == str(path) and err.offset == 132


@pytest.mark.parametrize("extra", [1, 3, 7])
def test_dicm_then_a_few_bytes(tmp_path, extra):
    path = tmp_path / "prefix-plus.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x01\x00\x4f\x42\x00"[:extra])
    err = expect_invalid(path)
    assert err.path == str(path)
    assert 132 <= err.offset <= 132 + extra


def test_empty_file(tmp_path):
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    err = expect_invalid(path)
    assert err.path == str(path) and err.offset == 0
    err = expect_invalid(b"")
    assert err.path is None


def test_directory(tmp_path):
    with pytest.raises(InvalidDicomError) as info:
        pacsnb.read(tmp_path)
    assert info.value.path == str(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("data", [b"hello world, this is not DICOM at all" * 10, b"\x89PNG\r\n\x1a\n" + b"\0" * 300,
                                  b"%PDF-1.4\n" * 40])
def test_not_dicom(data, tmp_path):
    path = tmp_path / "x.dcm"
    path.write_bytes(data)
    err = expect_invalid(path)
    assert err.path == str(path)


# ---------------------------------------------------------------------------------------
# random bytes (hypothesis)
# ---------------------------------------------------------------------------------------

def _only_pacsnb_errors(data: bytes, **kw) -> None:
    """Read, touch every value and render the data set: only PacsnbError may come out, and
    an InvalidDicomError says where."""
    try:
        ds = pacsnb.read(data, **kw)
        walk_all(ds)
        repr(ds)
    except InvalidDicomError as exc:
        assert exc.offset is not None, f"no byte offset in {exc!r}"
    except PacsnbError:
        pass


FUZZ = settings(max_examples=1000, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes(data, force):
    logging.disable(logging.CRITICAL)
    try:
        _only_pacsnb_errors(data, force=force)
    finally:
        logging.disable(logging.NOTSET)


@FUZZ
@given(st.sampled_from(PLAIN_SYNTAXES + [DEFLATED]), st.binary(max_size=600))
def test_random_bytes_after_a_valid_meta(ts, body):
    logging.disable(logging.CRITICAL)
    try:
        _only_pacsnb_errors(meta(ts) + body)
    finally:
        logging.disable(logging.NOTSET)


def _seed_file(ts: str) -> bytes:
    """A small valid file with nested sequences, private elements and numbers."""
    inner = (el(0x00080100, b"SH", b"ABCD", ts) + el(0x00080102, b"SH", b"DCM ", ts)
             + el(0x00081115, b"SQ", item(el(0x00200013, b"IS", b"12", ts), ts), ts))
    seq = el(0x00081110, b"SQ", item(inner, ts, length=UNDEF) + delim(ts, "item") + delim(ts, "seq"), ts,
             length=UNDEF)
    little = NATIVE[ts][1]
    e = "<" if little else ">"
    body = (head(ts) + seq + el(0x00090010, b"LO", b"ACME 1.0", ts) + el(0x00091001, b"UN", b"\x01\x02", ts)
            + el(0x00100010, b"PN", b"DOE^JOHN", ts)
            + el(0x00280010, b"US", struct.pack(e + "H", 4), ts)
            + el(0x00280030, b"DS", b"0.5\\0.5 ", ts)
            + el(0x00189345, b"FD", struct.pack(e + "d", 1.5), ts)
            + el(0x7FE00010, b"OW", bytes(range(32)), ts))
    return part10(body, ts)


def _seed_deflated() -> bytes:
    plain = _seed_file(EXPLICIT_LE)
    return meta(DEFLATED) + _deflate(plain[len(meta(EXPLICIT_LE)):])


def _seed_encapsulated() -> bytes:
    """Explicit VR LE data with encapsulated pixel data: an offset table and two fragments."""
    ts = EXPLICIT_LE
    frags = item(b"", ts) + item(b"\xff\xd8\xff\xe0frag1!", ts) + item(b"\x01\x02frag2\xff\xd9", ts)
    body = (head(ts) + el(0x00100010, b"PN", b"DOE ", ts)
            + el(0x7FE00010, b"OB", frags + delim(ts, "seq"), ts, length=UNDEF))
    return part10(body, "1.2.840.10008.1.2.5")  # RLE Lossless: framing only matters here


SEEDS = {ts: _seed_file(ts) for ts in PLAIN_SYNTAXES}
SEEDS[DEFLATED] = _seed_deflated()
SEEDS["encapsulated"] = _seed_encapsulated()


def test_seed_files_are_valid():
    for ts, data in SEEDS.items():
        ds = read_all(data)
        if ts == "encapsulated":
            assert ds.PatientName == "DOE" and ds["PixelData"].is_undefined_length
            continue
        assert ds.ReferencedStudySequence[0].ReferencedSeriesSequence[0].InstanceNumber == 12
        assert ds.Rows == 4 and [float(x) for x in ds.PixelSpacing] == [0.5, 0.5]


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_mutated_valid_files(ts, draw):
    """Random byte flips, insertions and deletions in a valid file: never anything but PacsnbError."""
    data = bytearray(SEEDS[ts])
    start = 132
    for _ in range(draw.draw(st.integers(1, 6))):
        kind = draw.draw(st.sampled_from(["set", "insert", "delete", "length"]))
        pos = draw.draw(st.integers(start, len(data) - 1))
        if kind == "set":
            data[pos] = draw.draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw.draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos:pos + draw.draw(st.integers(1, 8))]
        else:  # a hostile 32-bit or 16-bit length somewhere
            val = draw.draw(st.sampled_from([0xFFFFFFFF, 0xFFFFFFF0, 0x80000000, 0xFFFF, 0xFFFE, 1, 3]))
            data[pos:pos + 4] = struct.pack("<I", val)
    logging.disable(logging.CRITICAL)
    try:
        _only_pacsnb_errors(bytes(data))
    finally:
        logging.disable(logging.NOTSET)

