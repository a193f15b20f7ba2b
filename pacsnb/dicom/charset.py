"""Specific Character Set (0008,0005): decoding and encoding of text values.

This module turns the bytes of one element value of VR SH, LO, ST, LT, PN, UT or UC into
a Python ``str`` and back, following PS3.5 section 6.1 and the Defined Terms of PS3.3
C.12.1.1.2:

* the default repertoire (ISO-IR 6, ASCII) when Specific Character Set is absent or its
  first value is empty;
* single-byte character sets without code extensions (Table C.12-2): ``ISO_IR 100``,
  ``101``, ``109``, ``110``, ``144``, ``127``, ``126``, ``138``, ``148``, ``203``,
  ``166`` and ``13`` (JIS X 0201);
* single-byte character sets with code extensions (Table C.12-3): the same repertoires
  as ``ISO 2022 IR nnn`` plus ``ISO 2022 IR 6``;
* multi-byte character sets with code extensions (Table C.12-4): ``ISO 2022 IR 87``
  (JIS X 0208, in G0), ``ISO 2022 IR 159`` (JIS X 0212, in G0), ``ISO 2022 IR 149``
  (KS X 1001, in G1) and ``ISO 2022 IR 58`` (GB 2312, in G1);
* multi-byte character sets without code extensions (Table C.12-5): ``ISO_IR 192``
  (UTF-8), ``GB18030`` and ``GBK``.

With code extensions (ISO/IEC 2022, PS3.5 6.1.2.5) the escape sequences of PS3.3
designate a character set to the G0 (bytes 0x21-0x7E) or the G1 (bytes 0xA1-0xFE) code
element.  The code elements designated by value 1 of Specific Character Set (ISO-IR 6 in
G0 and nothing in G1 when value 1 is empty) are the *initial* ones, and PS3.5 6.1.2.5.3
requires them to be active again before every delimiter: before CR, LF, FF, TAB and any
other control character, before the backslash that separates the values of a
multi-valued element, and before the ``^`` and ``=`` of a Person Name.  A character set
other than the initial one must therefore be designated again in every line, value,
name component and component group in which it is used.  :func:`decode_text` resets
its state at those delimiters and :func:`encode_text` writes the escape sequences that
the rule requires, in the style of the examples of PS3.5 Annexes H, I and K.

Which VRs are subject to Specific Character Set is the caller's decision
(:data:`CHARSET_VRS` lists the ones PS3.5 names); the functions here only use ``vr`` to
know the delimiters.

Notes
-----
* ISO-IR 14 (the G0 half of JIS X 0201, designated by ``ISO 2022 IR 13``) differs from
  ASCII only at 0x5C (YEN SIGN) and 0x7E (OVERLINE).  Like pydicom and most toolkits,
  pacsnb decodes and encodes it as ASCII: 0x5C is also the DICOM value delimiter, and
  mapping it to a yen sign would break multi-valued elements.
* ``ISO 2022 IR 149`` is decoded pair by pair as the 94x94 set of KS X 1001 only (the
  8-byte "composition" sequences that Python's ``euc_kr`` codec also accepts are not
  part of ISO-IR 149).
* Decoding is lenient where the standard is clear about the intent: a known DICOM escape
  sequence is honoured even if its Defined Term is missing from Specific Character Set
  (with a warning), and bytes with the high bit set while no G1 set is designated (for
  example after a delimiter, when a writer did not repeat the escape sequence) are read
  with the G1 set designated last, or else the first G1 set the data set declares.

Examples
--------
>>> from pacsnb.dicom.charset import decode_text, encode_text, normalize_charsets
>>> normalize_charsets("ISO 2022 IR 100\\\\ISO 2022 IR 87")
('ISO 2022 IR 100', 'ISO 2022 IR 87')
>>> raw = b"Yamada^Tarou=\\x1b$B;3ED\\x1b(B^\\x1b$BB@O:\\x1b(B"
>>> decode_text(raw, ["", "ISO 2022 IR 87"], vr="PN")
'Yamada^Tarou=山田^太郎'
>>> encode_text("Yamada^Tarou=山田^太郎", ["", "ISO 2022 IR 87"], vr="PN") == raw
True
>>> encode_text("Buc^Jérôme", "ISO_IR 100", vr="PN")
b'Buc^J\\xe9r\\xf4me'
"""
from __future__ import annotations

import codecs
import functools
import logging
import re
from collections.abc import Iterable, Sequence

from pacsnb.errors import CharsetError

__all__ = [
    "DEFAULT_CHARSET",
    "CHARSET_VRS",
    "DEFINED_TERMS",
    "normalize_charsets",
    "decode_text",
    "encode_text",
]

logger = logging.getLogger(__name__)

#: Python codec of the default repertoire (ISO-IR 6, the ISO 646 IRV, i.e. ASCII).
DEFAULT_CHARSET: str = "ascii"

#: VRs whose values are affected by Specific Character Set (PS3.5 6.1.2.3 and C.12.1.1.2).
CHARSET_VRS: frozenset[str] = frozenset({"SH", "LO", "ST", "LT", "PN", "UT", "UC"})

# VRs that are single-valued free text: the backslash is an ordinary character there and
# only control characters delimit (PS3.5 6.2 and 6.1.2.5.3).
_TEXT_VRS = frozenset({"ST", "LT", "UT"})

_ESC = 0x1B
_UNDEF = "\ufffe"          # "no character here" in a charmap decoding table
_REPLACEMENT = "\ufffd"


# --------------------------------------------------------------------------------------
# Code elements: one graphic character set designated to G0 or G1
# --------------------------------------------------------------------------------------

class _Element:
    """One graphic character set as it is designated to G0 or G1 (PS3.3 C.12-3/C.12-4).

    A single-byte set has ``half``, the 128-character charmap decoding table of its half
    of the 8-bit code table (bytes 0x00-0x7F for a G0 set, 0x80-0xFF for a G1 set); a
    two-byte set has ``pairs`` (GL pair as an int ``(b1 << 8) | b2`` -> character, the
    high bits of GR bytes masked off).  ``encoding`` maps a character to the bytes that
    represent it in this element (high bit set for G1).  Tables are built on first use.
    """

    __slots__ = ("name", "term", "area", "width", "escape", "_build", "_tables")

    def __init__(self, name: str, term: str, area: int, width: int, escape: bytes,
                 build) -> None:
        self.name = name            # "ISO-IR 87"
        self.term = term            # "ISO 2022 IR 87": how messages name it
        self.area = area            # 0 = G0, 1 = G1
        self.width = width          # bytes per character
        self.escape = escape
        self._build = build
        self._tables: tuple | None = None

    def _get(self) -> tuple:
        tables = self._tables
        if tables is None:
            tables = self._tables = self._build()
        return tables

    @property
    def half(self) -> str:
        """Charmap table of 128 characters (single-byte sets only)."""
        return self._get()[0]

    @property
    def pairs(self) -> dict[int, str]:
        """GL pair -> character (two-byte sets only)."""
        return self._get()[0]

    @property
    def encoding(self) -> dict[str, bytes]:
        return self._get()[1]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<{self.name} in G{self.area}>"


def _ascii_tables() -> tuple[str, dict[str, bytes]]:
    half = "".join(map(chr, range(128)))
    # ESC is never a graphic character: in text with code extensions it would start an
    # escape sequence, so it is not encodable there.
    enc = {chr(i): bytes((i,)) for i in range(128) if i != _ESC}
    return half, enc


def _gr_tables(codec: str, first: int) -> tuple[str, dict[str, bytes]]:
    """Upper half (0x80-0xFF) of an 8-bit single-byte code, from a Python codec."""
    chars = []
    enc: dict[str, bytes] = {}
    for b in range(0x80, 0x100):
        try:
            ch = bytes((b,)).decode(codec)
        except UnicodeDecodeError:
            ch = _UNDEF
        chars.append(ch)
        if ch != _UNDEF and b >= first:
            enc.setdefault(ch, bytes((b,)))
    return "".join(chars), enc


def _katakana_tables() -> tuple[str, dict[str, bytes]]:
    """JIS X 0201 katakana (ISO-IR 13) in GR: 0xA1-0xDF -> U+FF61-U+FF9F."""
    chars = [_UNDEF] * 128
    enc: dict[str, bytes] = {}
    for b in range(0xA1, 0xE0):
        ch = chr(0xFF61 + b - 0xA1)
        chars[b - 0x80] = ch
        enc[ch] = bytes((b,))
    return "".join(chars), enc


def _dbcs_tables(codec: str, prefix: bytes, g1: bool,
                 extra: dict[int, str] | None = None) -> tuple[dict[int, str], dict[str, bytes]]:
    """A 94x94 two-byte set, read off a Python EUC codec one code position at a time."""
    pairs: dict[int, str] = {}
    enc: dict[str, bytes] = {}
    hi = 0x80 if g1 else 0
    for r in range(0x21, 0x7F):
        for c in range(0x21, 0x7F):
            key = (r << 8) | c
            try:
                ch = (prefix + bytes((r | 0x80, c | 0x80))).decode(codec)
            except UnicodeDecodeError:
                ch = (extra or {}).get(key, "")
            if len(ch) != 1:
                continue
            pairs[key] = ch
            enc.setdefault(ch, bytes((r | hi, c | hi)))
    return pairs, enc


def _single_g1(num: int, codec: str, final: str, first: int = 0xA0) -> _Element:
    return _Element(f"ISO-IR {num}", f"ISO 2022 IR {num}", 1, 1,
                    b"\x1b-" + final.encode("ascii"),
                    functools.partial(_gr_tables, codec, first))


_IR6 = _Element("ISO-IR 6", "ISO 2022 IR 6", 0, 1, b"\x1b(B", _ascii_tables)
_IR14 = _Element("ISO-IR 14", "ISO 2022 IR 13", 0, 1, b"\x1b(J", _ascii_tables)
_IR13 = _Element("ISO-IR 13", "ISO 2022 IR 13", 1, 1, b"\x1b)I", _katakana_tables)
_IR100 = _single_g1(100, "latin_1", "A")
_IR101 = _single_g1(101, "iso8859_2", "B")
_IR109 = _single_g1(109, "iso8859_3", "C")
_IR110 = _single_g1(110, "iso8859_4", "D")
_IR126 = _single_g1(126, "iso8859_7", "F")
_IR127 = _single_g1(127, "iso8859_6", "G")
_IR138 = _single_g1(138, "iso8859_8", "H")
_IR144 = _single_g1(144, "iso8859_5", "L")
_IR148 = _single_g1(148, "iso8859_9", "M")
# TIS 620-2533: ISO 8859-11 is the same code plus NO-BREAK SPACE at 0xA0.
_IR166 = _single_g1(166, "iso8859_11", "T")
_IR203 = _single_g1(203, "iso8859_15", "b")
_IR87 = _Element("ISO-IR 87", "ISO 2022 IR 87", 0, 2, b"\x1b$B",
                 functools.partial(_dbcs_tables, "euc_jp", b"", False))
_IR159 = _Element("ISO-IR 159", "ISO 2022 IR 159", 0, 2, b"\x1b$(D",
                  functools.partial(_dbcs_tables, "euc_jp", b"\x8f", False))
# 0x2454 is HANGUL FILLER; Python's euc_kr reads it as the start of an 8-byte sequence.
_IR149 = _Element("ISO-IR 149", "ISO 2022 IR 149", 1, 2, b"\x1b$)C",
                  functools.partial(_dbcs_tables, "euc_kr", b"", True, {0x2454: "\u3164"}))
_IR58 = _Element("ISO-IR 58", "ISO 2022 IR 58", 1, 2, b"\x1b$)A",
                 functools.partial(_dbcs_tables, "gb2312", b"", True))

_ELEMENTS = (_IR6, _IR14, _IR13, _IR100, _IR101, _IR109, _IR110, _IR126, _IR127, _IR138,
             _IR144, _IR148, _IR166, _IR203, _IR87, _IR159, _IR149, _IR58)
_BY_ESCAPE: dict[bytes, _Element] = {el.escape: el for el in _ELEMENTS}


# --------------------------------------------------------------------------------------
# Defined Terms
# --------------------------------------------------------------------------------------

class _Term:
    __slots__ = ("term", "g0", "g1", "extensions", "codec")

    def __init__(self, term: str, g0: _Element | None, g1: _Element | None,
                 extensions: bool, codec: str | None = None) -> None:
        self.term = term
        self.g0 = g0
        self.g1 = g1
        self.extensions = extensions   # an "ISO 2022" term (tables C.12-3 and C.12-4)
        self.codec = codec             # stand-alone multi-byte code (table C.12-5)

    @property
    def multibyte_2022(self) -> bool:
        return self.extensions and ((self.g0 is not None and self.g0.width == 2)
                                    or (self.g1 is not None and self.g1.width == 2))


_SINGLE_BYTE_G1 = {100: _IR100, 101: _IR101, 109: _IR109, 110: _IR110, 144: _IR144,
                   127: _IR127, 126: _IR126, 138: _IR138, 148: _IR148, 203: _IR203,
                   166: _IR166}

_TERMS: dict[str, _Term] = {"": _Term("", _IR6, None, False)}
for _num, _el in _SINGLE_BYTE_G1.items():
    _TERMS[f"ISO_IR {_num}"] = _Term(f"ISO_IR {_num}", _IR6, _el, False)
    _TERMS[f"ISO 2022 IR {_num}"] = _Term(f"ISO 2022 IR {_num}", _IR6, _el, True)
_TERMS["ISO_IR 13"] = _Term("ISO_IR 13", _IR14, _IR13, False)
_TERMS["ISO 2022 IR 13"] = _Term("ISO 2022 IR 13", _IR14, _IR13, True)
_TERMS["ISO 2022 IR 6"] = _Term("ISO 2022 IR 6", _IR6, None, True)
_TERMS["ISO 2022 IR 87"] = _Term("ISO 2022 IR 87", _IR87, None, True)
_TERMS["ISO 2022 IR 159"] = _Term("ISO 2022 IR 159", _IR159, None, True)
_TERMS["ISO 2022 IR 149"] = _Term("ISO 2022 IR 149", None, _IR149, True)
_TERMS["ISO 2022 IR 58"] = _Term("ISO 2022 IR 58", None, _IR58, True)
_TERMS["ISO_IR 192"] = _Term("ISO_IR 192", None, None, False, "utf_8")
_TERMS["GB18030"] = _Term("GB18030", None, None, False, "gb18030")
_TERMS["GBK"] = _Term("GBK", None, None, False, "gbk")
del _num, _el

#: Every Defined Term of PS3.3 C.12.1.1.2 (tables C.12-2 to C.12-5); "" is the default.
DEFINED_TERMS: tuple[str, ...] = tuple(_TERMS)


def _key(term: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", term.upper())


# Spellings seen in the wild, keyed by _key(): tolerated with a warning.
_ALIASES: dict[str, str] = {_key(t): t for t in _TERMS if t}
_ALIASES.update({
    "ISOIR6": "", "ASCII": "", "USASCII": "", "ISO646": "",
    "UTF8": "ISO_IR 192", "UTF": "ISO_IR 192", "ISOIR192UTF8": "ISO_IR 192",
    "ISO2022IR192": "ISO_IR 192",
    "GB2312": "GBK", "EUCCN": "GBK", "ISO2022GBK": "GBK", "CP936": "GBK",
    "ISO202258": "ISO 2022 IR 58", "ISO2022GB2312": "ISO 2022 IR 58",
    "ISO2022GB18030": "GB18030",
    "LATIN1": "ISO_IR 100", "LATIN2": "ISO_IR 101", "LATIN3": "ISO_IR 109",
    "LATIN4": "ISO_IR 110", "LATIN5": "ISO_IR 148", "LATIN9": "ISO_IR 203",
    "TIS620": "ISO_IR 166",
})
for _part, _num in ((1, 100), (2, 101), (3, 109), (4, 110), (5, 144), (6, 127), (7, 126),
                    (8, 138), (9, 148), (11, 166), (15, 203)):
    _ALIASES[f"ISO8859{_part}"] = f"ISO_IR {_num}"
del _part, _num


# --------------------------------------------------------------------------------------
# normalize_charsets
# --------------------------------------------------------------------------------------

def normalize_charsets(value: str | bytes | Sequence[str] | None) -> tuple[str, ...]:
    """Clean the value(s) of Specific Character Set (0008,0005) into Defined Terms.

    Parameters
    ----------
    value
        The attribute as found in a data set: ``None`` (absent), one string (possibly
        several values joined by backslashes, possibly padded), the raw bytes, or a
        sequence of values.

    Returns
    -------
    tuple of str
        The Defined Terms, never empty; value 1 is ``""`` for the default repertoire
        (ISO-IR 6).  Spaces and NULs are stripped.  Tolerated with a logged warning:
        common misspellings (``"ISO_IR100"``, ``"ISO-IR 100"``, ``"UTF-8"``,
        ``"GB2312"`` read as its superset ``"GBK"``, ...); terms without code extensions
        inside a multi-valued list (``"ISO_IR 13\\\\ISO 2022 IR 87"`` is read as
        ``"ISO 2022 IR 13\\\\ISO 2022 IR 87"``); a multi-byte ``ISO 2022`` term as value
        1 (an empty value 1 is put in front of it); a stand-alone code (``ISO_IR 192``,
        ``GB18030``, ``GBK``) together with other values (it is kept alone).  Unknown
        terms are dropped with a warning (the default repertoire takes the place of an
        unknown value 1).  Each distinct input is warned about once per process.

    Examples
    --------
    >>> normalize_charsets(None)
    ('',)
    >>> normalize_charsets(["", "ISO 2022 IR 87"])
    ('', 'ISO 2022 IR 87')
    >>> normalize_charsets(b"ISO_IR 192 ")
    ('ISO_IR 192',)
    >>> normalize_charsets("ISO-IR 100")  # logs a warning
    ('ISO_IR 100',)
    """
    return _normalize_cached(_hashable(value))


def _hashable(value) -> str | tuple | None:
    if value is None or isinstance(value, (str, tuple)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    if isinstance(value, Iterable):
        return tuple(value)
    raise TypeError(f"Specific Character Set must be str, bytes, a sequence of str or "
                    f"None, not {type(value).__name__}")


@functools.lru_cache(maxsize=256)
def _normalize_cached(value: str | tuple | None) -> tuple[str, ...]:
    if value is None:
        return ("",)
    if isinstance(value, str):
        items = value.split("\\")
    else:
        items = []
        for v in value:
            if isinstance(v, (bytes, bytearray)):
                v = bytes(v).decode("latin-1")
            items.extend(str(v).split("\\"))
    if not items:
        return ("",)
    shown = "\\".join(items)
    terms: list[str | None] = []
    for raw in items:
        text = raw.strip(" \x00\t\r\n")
        if text in _TERMS:
            terms.append(text)
            continue
        k = _key(text)
        if not k:
            terms.append("")
        elif k in _ALIASES:
            terms.append(_ALIASES[k])
            logger.warning("Specific Character Set %r: read %r as the Defined Term %r",
                           shown, raw, _ALIASES[k] or "(default repertoire)")
        else:
            terms.append(None)
            logger.warning("Specific Character Set %r: unknown term %r ignored; %s",
                           shown, raw, "the default repertoire (ISO-IR 6) is used instead"
                           if len(terms) == 1 else "it cannot be used for decoding")
    first = terms[0] or ""
    rest: list[str] = []
    for t in terms[1:]:
        if t and t not in rest:
            rest.append(t)

    standalone = [t for t in [first, *rest] if _TERMS[t].codec]
    if standalone:
        if len(items) > 1:
            logger.warning("Specific Character Set %r: %s allows no code extensions "
                           "(PS3.5 6.1.2.4); the other values are ignored",
                           shown, standalone[0])
        return (standalone[0],)
    if _TERMS[first].multibyte_2022:
        logger.warning("Specific Character Set %r: %s cannot be value 1 (PS3.3 Table "
                       "C.12-4); read as if value 1 were empty", shown, first)
        rest.insert(0, first)
        first = ""
    if not rest:
        return (first,)

    def with_extensions(t: str) -> str:
        if t and not _TERMS[t].extensions:
            ext = t.replace("ISO_IR ", "ISO 2022 IR ")
            logger.warning("Specific Character Set %r: %r in a multi-valued Specific "
                           "Character Set read as %r (code extensions are in use)",
                           shown, t, ext)
            return ext
        return t

    first = with_extensions(first)
    out = [first]
    for t in rest:
        t = with_extensions(t)
        if t not in out:
            out.append(t)
    return tuple(out)


# --------------------------------------------------------------------------------------
# Decoding contexts
# --------------------------------------------------------------------------------------

class _Context:
    """Everything needed to decode and encode with one normalized Specific Character Set."""

    __slots__ = ("terms", "label", "mode", "codec", "table", "encmap", "init_g0",
                 "init_g1", "elements", "first_g1", "declared", "alt", "enc_cache")

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.terms = terms
        self.label = ("the default repertoire (ISO-IR 6; no Specific Character Set)"
                      if terms == ("",) else
                      "Specific Character Set " + repr("\\".join(terms)))
        infos = [_TERMS[t] for t in terms]
        self.codec = None
        self.table = None
        self.encmap = None
        self.alt: _Context | None = None
        self.enc_cache: dict[str, tuple[_Element, bytes]] = {}
        first = infos[0]
        self.init_g0 = first.g0 or _IR6
        self.init_g1 = first.g1
        elements: list[_Element] = []
        for info in infos:
            for el in (info.g0, info.g1):
                if el is not None and el not in elements:
                    elements.append(el)
        if self.init_g0 not in elements:
            elements.insert(0, self.init_g0)
        self.elements = tuple(elements)
        # ESC ( B (ISO-IR 6) is accepted without complaint even where value 1 designates
        # ISO-IR 14 (writers use it to return from JIS X 0208, see chrSQEncoding.dcm)
        self.declared = frozenset(elements) | {_IR6}
        self.first_g1 = next((el for el in elements if el.area == 1), None)
        if first.codec:
            self.mode = "codec"
            self.codec = first.codec
        elif len(terms) == 1 and not first.extensions:
            self.mode = "single"
            self.table = _table(self.init_g0, self.init_g1)
            self.encmap = codecs.charmap_build(self.table)
        else:
            self.mode = "2022"


@functools.lru_cache(maxsize=64)
def _table(g0: _Element, g1: _Element | None) -> str:
    """256-character charmap decoding table for single-byte G0 and G1 sets."""
    return g0.half + (g1.half if g1 is not None else _UNDEF * 128)


@functools.lru_cache(maxsize=256)
def _context_for_terms(terms: tuple[str, ...]) -> _Context:
    ctx = _Context(terms)
    if ctx.mode == "single":
        # Escape sequences in data that declares no code extensions: read them anyway.
        ctx.alt = _Context(("ISO 2022 IR 6",) if terms == ("",)
                           else (terms[0].replace("ISO_IR ", "ISO 2022 IR "),))
        ctx.alt.label = ctx.label
    return ctx


@functools.lru_cache(maxsize=256)
def _context_cached(key) -> _Context:
    return _context_for_terms(_normalize_cached(key))


def _context(charsets) -> _Context:
    return _context_cached(_hashable(charsets))


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------

class _Problems:
    """Collects decoding problems; raises at the first one when strict."""

    __slots__ = ("ctx", "vr", "strict", "first", "count")

    def __init__(self, ctx: _Context, vr: str, strict: bool) -> None:
        self.ctx = ctx
        self.vr = vr
        self.strict = strict
        self.first: str | None = None
        self.count = 0

    def add(self, raw: bytes, pos: int, why: str) -> None:
        b = raw[pos] if pos < len(raw) else None
        what = f"byte 0x{b:02X}" if b is not None else "end of value"
        msg = (f"cannot decode {what} at position {pos} of a {self.vr} value with "
               f"{self.ctx.label}: {why}")
        if self.strict:
            raise CharsetError(msg + "; check Specific Character Set (0008,0005) of the "
                               "data set")
        self.count += 1
        if self.first is None:
            self.first = msg

    def report(self) -> None:
        if self.first is not None:
            more = f" (and {self.count - 1} more)" if self.count > 1 else ""
            logger.warning("%s%s; replaced with U+FFFD. Check Specific Character Set "
                           "(0008,0005) of the data set", self.first, more)


def _charmap(raw: bytes, start: int, stop: int, table: str, probs: _Problems,
             why: str) -> str:
    piece = raw[start:stop]
    try:
        return codecs.charmap_decode(piece, "strict", table)[0]
    except UnicodeDecodeError as exc:
        probs.add(raw, start + exc.start, why)
        return codecs.charmap_decode(piece, "replace", table)[0]


def _pairs(el: _Element, raw: bytes, start: int, stop: int, probs: _Problems) -> str:
    pairs = el.pairs
    out = []
    for i in range(start, stop - 1, 2):
        ch = pairs.get(((raw[i] & 0x7F) << 8) | (raw[i + 1] & 0x7F))
        if ch is None:
            probs.add(raw, i, f"not a character of {el.term} ({el.name})")
            ch = _REPLACEMENT
        out.append(ch)
    if (stop - start) & 1:
        probs.add(raw, stop - 1, f"half of a two-byte character of {el.term}")
        out.append(_REPLACEMENT)
    return "".join(out)


_RUNS_SB = re.compile(rb"[\x80-\xff]+|[\x00-\x7f]+")
_RUNS_MB = re.compile(rb"[\x80-\xff]+|[\x21-\x7e]+|[\x00-\x20\x7f]+")


def _decode_piece(raw: bytes, start: int, stop: int, g0: _Element, g1: _Element | None,
                  probs: _Problems) -> str:
    """Decode raw[start:stop], which holds no escape sequence and no delimiter."""
    if g0.width == 1 and (g1 is None or g1.width == 1):
        why = ("not a character of " + g1.term if g1 is not None else
               "high bit set but no G1 character set is designated")
        return _charmap(raw, start, stop, _table(g0, g1), probs, why)
    out = []
    rx = _RUNS_MB if g0.width == 2 else _RUNS_SB
    for m in rx.finditer(raw, start, stop):
        s, e = m.span()
        b = raw[s]
        if b >= 0x80:
            if g1 is None:
                out.append(_charmap(raw, s, e, _table(_IR6, None), probs,
                                    "high bit set but no G1 character set is designated"))
            elif g1.width == 2:
                out.append(_pairs(g1, raw, s, e, probs))
            else:
                out.append(_charmap(raw, s, e, _table(_IR6, g1), probs,
                                    "not a character of " + g1.term))
        elif g0.width == 2 and 0x21 <= b <= 0x7E:
            out.append(_pairs(g0, raw, s, e, probs))
        else:
            out.append(raw[s:e].decode("ascii"))
    return "".join(out)


_C0 = rb"\x00-\x1a\x1c-\x1f"    # control characters other than ESC
_DELIMS_DECODE = {
    "PN": re.compile(rb"[" + _C0 + rb"\\^=]"),
    "text": re.compile(rb"[" + _C0 + rb"]"),
    "other": re.compile(rb"[" + _C0 + rb"\\]"),
}
_ESC_SEQ = re.compile(rb"\x1b[\x20-\x2f]*[\x30-\x7e]")
_KNOWN_ESC = re.compile(b"|".join(re.escape(e) for e in sorted(_BY_ESCAPE)))


def _vr_class(vr: str) -> str:
    vr = vr.upper()
    if vr == "PN":
        return "PN"
    return "text" if vr in _TEXT_VRS else "other"


def _decode_2022(raw: bytes, ctx: _Context, vr: str, probs: _Problems) -> str:
    init_g0, init_g1 = ctx.init_g0, ctx.init_g1
    g0, g1 = init_g0, init_g1
    last_g1 = ctx.first_g1            # used for GR bytes while G1 is undefined
    delims_sb = _DELIMS_DECODE[_vr_class(vr)]
    delims_mb = _DELIMS_DECODE["text"]
    out: list[str] = []
    pos, n = 0, len(raw)
    undeclared: set[_Element] = set()
    while pos < n:
        esc = raw.find(b"\x1b", pos)
        end = n if esc < 0 else esc
        while pos < end:
            m = (delims_sb if g0.width == 1 else delims_mb).search(raw, pos, end)
            stop = end if m is None else m.start()
            if stop > pos:
                out.append(_decode_piece(raw, pos, stop, g0,
                                         g1 if g1 is not None else last_g1, probs))
            if m is None:
                pos = end
                break
            # PS3.5 6.1.2.5.3: the initial code elements are active again at a delimiter.
            out.append(chr(raw[stop]))
            g0, g1 = init_g0, init_g1
            pos = stop + 1
        if esc < 0:
            break
        m = _ESC_SEQ.match(raw, esc)
        el = _BY_ESCAPE.get(m.group()) if m else None
        if el is None:
            seq_end = m.end() if m else esc + 1
            probs.add(raw, esc, "unknown or incomplete escape sequence "
                      f"{raw[esc:seq_end]!r} (PS3.3 Tables C.12-3 and C.12-4)")
            if not probs.strict:
                out.append(_REPLACEMENT)
            pos = seq_end
            continue
        if el not in ctx.declared:
            undeclared.add(el)
        if el.area == 0:
            g0 = el
        else:
            g1 = last_g1 = el
        pos = m.end()
    if undeclared:
        logger.warning("escape sequence(s) for %s found in a %s value although %s does "
                       "not declare them; decoded anyway",
                       ", ".join(sorted(el.term for el in undeclared)), vr, ctx.label)
    return "".join(out)


def decode_text(raw: bytes, charsets: Sequence[str] | str | None, vr: str = "LO", *,
                strict: bool = False) -> str:
    """Decode one element value (all of its values, backslashes included).

    Parameters
    ----------
    raw
        The value field as read from the data set (padding included; it is not
        stripped here).
    charsets
        Specific Character Set (0008,0005) of the data set (or sequence item) the value
        belongs to, in any form :func:`normalize_charsets` accepts.
    vr
        The element's VR; it decides the delimiters at which code extensions return to
        the initial code elements: ``\\``, ``^`` and ``=`` for PN, control characters
        only for LT, ST and UT, ``\\`` and control characters for the others.
    strict
        Raise :class:`~pacsnb.errors.CharsetError` (naming the character set and the
        byte position) for bytes that cannot be decoded.  By default they are replaced
        with U+FFFD and a warning is logged.

    Returns
    -------
    str
        The decoded text.

    Examples
    --------
    >>> decode_text(b"Buc^J\\xe9r\\xf4me", "ISO_IR 100", vr="PN")
    'Buc^Jérôme'
    >>> decode_text(b"Hong^Gildong=\\x1b$)C\\xfb\\xf3^\\x1b$)C\\xd1\\xce\\xd4\\xd7",
    ...             "\\\\ISO 2022 IR 149", vr="PN")
    'Hong^Gildong=洪^吉洞'
    >>> decode_text(b"Wang^XiaoDong=\\xcd\\xf5", "GB18030", vr="PN")
    'Wang^XiaoDong=王'
    >>> decode_text(b"M\\xfcller", None)  # logs a warning
    'M\\ufffdller'
    """
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    if not raw:
        return ""
    if raw.isascii() and b"\x1b" not in raw:          # by far the most common case
        return raw.decode("ascii")
    ctx = _context(charsets)
    vr = vr.upper()
    probs = _Problems(ctx, vr, strict)
    if ctx.mode == "codec":
        try:
            return raw.decode(ctx.codec)
        except UnicodeDecodeError as exc:
            probs.add(raw, exc.start, f"not valid {_TERMS[ctx.terms[0]].term}")
            text = raw.decode(ctx.codec, "replace")
    elif ctx.mode == "single" and (b"\x1b" not in raw or not _KNOWN_ESC.search(raw)):
        text = _charmap(raw, 0, len(raw), ctx.table, probs,
                        "undefined in that character set" if ctx.terms != ("",) else
                        "only ASCII is defined there")
    else:
        text = _decode_2022(raw, ctx.alt or ctx, vr, probs)
    probs.report()
    return text


# --------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------

_CONTROLS = frozenset(chr(i) for i in range(0x20) if i != _ESC)
_DELIMS_ENCODE = {
    "PN": _CONTROLS | {"\\", "^", "="},
    "text": _CONTROLS,
    "other": _CONTROLS | {"\\"},
}


def _cannot_encode(text: str, pos: int, ctx: _Context) -> CharsetError:
    ch = text[pos]
    if ch == "\x1b" and ctx.mode == "2022":
        return CharsetError(f"cannot encode ESC (U+001B) at position {pos}: with code "
                            f"extensions ({ctx.label}) it would start an escape sequence")
    if 0xD800 <= ord(ch) <= 0xDFFF:
        return CharsetError(f"cannot encode the lone surrogate U+{ord(ch):04X} at "
                            f"position {pos}: it is not a character")
    hint = ("" if ctx.terms == ("ISO_IR 192",) else
            "; set Specific Character Set (0008,0005) to 'ISO_IR 192' (UTF-8), which "
            "can encode every character")
    return CharsetError(f"cannot encode character {ch!r} (U+{ord(ch):04X}) at position "
                        f"{pos} with {ctx.label}{hint}")


def _encode_2022(text: str, ctx: _Context, vr: str) -> bytes:
    delims = _DELIMS_ENCODE[_vr_class(vr)]
    cache = ctx.enc_cache
    init_g0, init_g1 = ctx.init_g0, ctx.init_g1
    g0, g1 = init_g0, init_g1
    out = bytearray()
    for i, ch in enumerate(text):
        if ch in delims:
            # PS3.5 6.1.2.5.3: value 1's code elements must be active before a delimiter
            if g0 is not init_g0:
                out += init_g0.escape
                g0 = init_g0
            if g1 is not init_g1:
                if init_g1 is not None:
                    out += init_g1.escape
                g1 = init_g1
            out.append(ord(ch))
            continue
        hit = cache.get(ch)
        if hit is None:
            for el in ctx.elements:       # the first character set that has it
                code = el.encoding.get(ch)
                if code is not None:
                    hit = cache[ch] = (el, code)
                    break
            else:
                raise _cannot_encode(text, i, ctx)
        el, code = hit
        if el.area == 0:
            if g0 is not el:
                out += el.escape
                g0 = el
        elif g1 is not el:
            out += el.escape
            g1 = el
        out += code
    if g0 is not init_g0:                 # ... and before the end of the value
        out += init_g0.escape
    if g1 is not init_g1 and init_g1 is not None:
        out += init_g1.escape
    return bytes(out)


def encode_text(text: str, charsets: Sequence[str] | str | None, vr: str = "LO") -> bytes:
    """Encode one element value (all of its values, backslashes included).

    With code extensions each character is written in the first character set of
    Specific Character Set that has it (value 1's G0 and G1 sets first, then values 2 to
    n in order), with the escape sequence that designates it whenever it is not already
    designated, and the initial code elements are designated again before each
    delimiter and at the end of the value (PS3.5 6.1.2.5.3).  No padding is added.

    Parameters
    ----------
    text
        The value; several values are joined with backslashes.
    charsets
        Specific Character Set (0008,0005), in any form :func:`normalize_charsets`
        accepts.
    vr
        The element's VR (decides the delimiters, as for :func:`decode_text`).

    Returns
    -------
    bytes
        The encoded value.

    Raises
    ------
    CharsetError
        If a character is in none of the character sets.

    Examples
    --------
    >>> encode_text("Hong^Gildong=洪^吉洞", ["", "ISO 2022 IR 149"], vr="PN")
    b'Hong^Gildong=\\x1b$)C\\xfb\\xf3^\\x1b$)C\\xd1\\xce\\xd4\\xd7'
    >>> encode_text("Wang^XiaoDong=王", "GB18030", vr="PN")
    b'Wang^XiaoDong=\\xcd\\xf5'
    >>> encode_text("Ж", "ISO_IR 100")
    Traceback (most recent call last):
    ...
    pacsnb.errors.CharsetError: cannot encode character 'Ж' (U+0416) at position 0 with Specific Character Set 'ISO_IR 100'; set Specific Character Set (0008,0005) to 'ISO_IR 192' (UTF-8), which can encode every character
    """
    if not text:
        return b""
    if text.isascii() and "\x1b" not in text:          # by far the most common case
        return text.encode("ascii")
    ctx = _context(charsets)
    if ctx.mode == "codec":
        try:
            return text.encode(ctx.codec)
        except UnicodeEncodeError as exc:
            raise _cannot_encode(text, exc.start, ctx) from None
    if ctx.mode == "single":
        try:
            return codecs.charmap_encode(text, "strict", ctx.encmap)[0]
        except UnicodeEncodeError as exc:
            raise _cannot_encode(text, exc.start, ctx) from None
    return _encode_2022(text, ctx, vr)
