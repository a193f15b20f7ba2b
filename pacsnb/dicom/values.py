"""Typed values of the DICOM text VRs (PS3.5 section 6.2, Table 6.2-1).

Every type here keeps the exact text it was built from, so a value that is read and not
changed writes back byte-identical, and gives the meaning of that text on demand:

- :class:`PersonName` (PN): component groups (alphabetic, ideographic, phonetic) and the
  five components of each group (PS3.5 6.2.1);
- :class:`DA`, :class:`TM`, :class:`DT`: dates and times as :mod:`datetime` objects,
  partial values (``TM "10"``, ``DT "2024"``), UTC offsets and ranges (``"20240101-"``);
- :class:`IS`, :class:`DS`: an ``int`` and a ``float`` that remember their text;
- :func:`parse_multi`: the values of a multi-valued element.

All types are immutable. Building one from text is cheap (no parsing, no regular
expression): the text is parsed when a property asks for it, because these objects are
made for every element of every file that is read. Text from a file never makes DA, TM,
DT or PN raise: a value that does not follow the standard has ``value`` ``None`` and
``is_valid`` ``False``, and the ``validate_*`` functions say what is wrong with it.

Attribute Tag (AT) values are :class:`pacsnb.dicom.tag.Tag` objects.

Examples
--------
>>> from pacsnb.dicom.values import DA, DS, DT, IS, PersonName, TM
>>> PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう").ideographic
'山田^太郎'
>>> DA("20240131").value
datetime.date(2024, 1, 31)
>>> TM("1015").value, TM("1015").precision
(datetime.time(10, 15), 'minute')
>>> DT("20240101120000+0100").value.utcoffset()
datetime.timedelta(seconds=3600)
>>> DA("20240101-").range
(datetime.date(2024, 1, 1), None)
>>> d = DS(" 1.50 ")
>>> d + 1, str(d)
(2.5, ' 1.50 ')
>>> str(IS(42)), str(IS("+042"))
('42', '+042')
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import logging
import math
import operator
from typing import Any, NamedTuple, Self

from pacsnb.errors import DicomValueError

__all__ = [
    "PersonName",
    "PNComponents",
    "validate_pn",
    "DA",
    "TM",
    "DT",
    "validate_da",
    "validate_tm",
    "validate_dt",
    "IS",
    "DS",
    "format_is",
    "format_ds",
    "validate_is",
    "validate_ds",
    "parse_multi",
    "to_datetime64",
]

_log = logging.getLogger(__name__)

_IS_MIN = -(2**31)
_IS_MAX = 2**31 - 1


def _digits(s: str) -> bool:
    """True if ``s`` is one or more ASCII digits (``str.isdigit`` alone accepts '²')."""
    return s.isdigit() and s.isascii()


def _text_of(cls_name: str, value: object) -> str:
    """The text of a str-like input (str or ASCII bytes) or raise for anything else."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        # DA, TM, DT, IS and DS use the default repertoire only; latin-1 never fails, and
        # a non-ASCII byte then makes the value invalid instead of the read failing.
        return bytes(value).decode("latin-1")
    raise DicomValueError(
        f"a {cls_name} value is built from text or a number/date/time object, "
        f"not from {type(value).__name__} ({value!r})")


# --------------------------------------------------------------------------------------
# PN
# --------------------------------------------------------------------------------------

_GROUP_NAMES = ("alphabetic", "ideographic", "phonetic")


class PNComponents(NamedTuple):
    """The five components of one Person Name component group (PS3.5 6.2.1).

    Examples
    --------
    >>> PersonName("Doe^John^^Dr.").group(0)
    PNComponents(family_name='Doe', given_name='John', middle_name='', name_prefix='Dr.', name_suffix='')
    """

    family_name: str = ""
    given_name: str = ""
    middle_name: str = ""
    name_prefix: str = ""
    name_suffix: str = ""


class PersonName(str):
    """A Person Name (PN) value: the decoded text, with its groups and components.

    The object *is* the text (a ``str``), so it compares equal to the plain string and
    writes back unchanged. Component groups are separated by ``=`` (alphabetic,
    ideographic, phonetic) and the components of a group by ``^`` (family name, given
    name, middle name, name prefix, name suffix); trailing padding spaces of the whole
    value are not part of the last component. Components beyond the fifth and groups
    beyond the third are not standard: :func:`validate_pn` reports them, the component
    properties ignore them (``components`` still shows every group).

    Parameters
    ----------
    value
        The decoded PN text of one value (Specific Character Set already applied).

    Examples
    --------
    >>> pn = PersonName("Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
    >>> pn.family_name, pn.given_name, pn.name_prefix, pn.name_suffix
    ('Adams', 'John Robert Quincy', 'Rev.', 'B.A. M.Div.')
    >>> pn == "Adams^John Robert Quincy^^Rev.^B.A. M.Div."
    True
    >>> PersonName("Wang^XiaoDong=王^小東=").components
    ('Wang^XiaoDong', '王^小東')
    >>> PersonName.from_parts("Doe", "John", ideographic="ドウ^ジョン")
    'Doe^John=ドウ^ジョン'
    """

    __slots__ = ()

    def __new__(cls, value: str = "") -> PersonName:
        """Wrap decoded PN text; anything but a ``str`` raises :class:`~pacsnb.errors.DicomValueError`."""
        if isinstance(value, str):
            return str.__new__(cls, value)
        raise DicomValueError(
            f"a PersonName is built from decoded text, not {type(value).__name__} ({value!r}); "
            "decode PN bytes with the Specific Character Set first")

    def __reduce__(self):
        """Pickle as the type and the text."""
        return (type(self), (str.__str__(self),))

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: PersonName values are immutable."""
        raise AttributeError("PersonName values are immutable")

    def _groups(self) -> list[str]:
        return self.rstrip(" ").split("=")

    @property
    def components(self) -> tuple[str, ...]:
        """The component groups as text, trailing empty groups left out.

        Examples
        --------
        >>> PersonName("=山田^太郎").components
        ('', '山田^太郎')
        """
        groups = self._groups()
        while groups and not groups[-1]:
            groups.pop()
        return tuple(groups)

    def group(self, i: int) -> PNComponents:
        """The five components of component group ``i`` (0 alphabetic, 1 ideographic, 2 phonetic).

        An absent group gives five empty strings.

        Parameters
        ----------
        i
            The group index: 0, 1 or 2.

        Returns
        -------
        PNComponents
            Family name, given name, middle name, prefix and suffix (components beyond the
            fifth are left out).

        Raises
        ------
        DicomValueError
            When ``i`` is not 0, 1 or 2.

        Examples
        --------
        >>> PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう").group(2).given_name
        'たろう'
        """
        if type(i) is not int or not 0 <= i <= 2:
            raise DicomValueError(
                f"component group index must be 0 (alphabetic), 1 (ideographic) or "
                f"2 (phonetic), not {i!r}")
        groups = self._groups()
        if i >= len(groups) or not groups[i]:
            return _EMPTY_COMPONENTS
        parts = groups[i].split("^")
        if len(parts) >= 5:
            return PNComponents(*parts[:5])
        return PNComponents(*parts)

    @property
    def alphabetic(self) -> str:
        """The first (alphabetic, single-byte) component group, ``''`` if absent."""
        return self._groups()[0]

    @property
    def ideographic(self) -> str:
        """The second (ideographic) component group, ``''`` if absent."""
        groups = self._groups()
        return groups[1] if len(groups) > 1 else ""

    @property
    def phonetic(self) -> str:
        """The third (phonetic) component group, ``''`` if absent."""
        groups = self._groups()
        return groups[2] if len(groups) > 2 else ""

    @property
    def family_name(self) -> str:
        """Family name complex of the alphabetic group."""
        return self.group(0).family_name

    @property
    def given_name(self) -> str:
        """Given name complex of the alphabetic group."""
        return self.group(0).given_name

    @property
    def middle_name(self) -> str:
        """Middle name of the alphabetic group."""
        return self.group(0).middle_name

    @property
    def name_prefix(self) -> str:
        """Name prefix of the alphabetic group."""
        return self.group(0).name_prefix

    @property
    def name_suffix(self) -> str:
        """Name suffix of the alphabetic group."""
        return self.group(0).name_suffix

    @property
    def is_valid(self) -> bool:
        """True if :func:`validate_pn` finds no problem."""
        return not validate_pn(self)

    @classmethod
    def from_parts(cls, family_name: str = "", given_name: str = "", middle_name: str = "",
                   name_prefix: str = "", name_suffix: str = "",
                   ideographic: str | tuple[str, ...] | list[str] | None = None,
                   phonetic: str | tuple[str, ...] | list[str] | None = None) -> PersonName:
        """Build the canonical PN text from its parts.

        Trailing empty components of each group and trailing empty groups are left out,
        with their delimiters (PS3.5 6.2.1).

        Parameters
        ----------
        family_name, given_name, middle_name, name_prefix, name_suffix
            Components of the alphabetic group.
        ideographic, phonetic
            The other groups, as group text (``"山田^太郎"``) or as a sequence of up to
            five components (a :class:`PNComponents` for instance).

        Returns
        -------
        PersonName

        Raises
        ------
        DicomValueError
            If a component holds a delimiter (``^``, ``=``, ``\\``) or a control
            character, or a group is longer than 64 characters.

        Examples
        --------
        >>> pn = PersonName.from_parts("Morrison-Jones", "Susan", name_suffix="Ph.D.")
        >>> type(pn).__name__, pn
        ('PersonName', 'Morrison-Jones^Susan^^^Ph.D.')
        >>> PersonName.from_parts(ideographic=("山田", "太郎"))
        '=山田^太郎'
        """
        groups = [_group_from_components(
            (family_name, given_name, middle_name, name_prefix, name_suffix), "alphabetic")]
        for name, g in (("ideographic", ideographic), ("phonetic", phonetic)):
            if g is None:
                groups.append("")
            elif isinstance(g, str):
                for bad in "=\\":
                    if bad in g:
                        raise DicomValueError(f"the {name} group {g!r} contains {bad!r}, a delimiter")
                groups.append(_group_from_components(tuple(g.split("^")), name))
            else:
                groups.append(_group_from_components(tuple(g), name))
        while groups and not groups[-1]:
            groups.pop()
        text = "=".join(groups)
        problems = validate_pn(text)
        if problems:
            raise DicomValueError(f"cannot build a PN value {text!r}: " + "; ".join(problems))
        return cls(text)


_EMPTY_COMPONENTS = PNComponents()


def _group_from_components(parts: tuple, name: str) -> str:
    if len(parts) > 5:
        raise DicomValueError(
            f"the {name} group has {len(parts)} components; a PN group has at most 5 "
            "(family, given, middle, prefix, suffix)")
    for p in parts:
        if not isinstance(p, str):
            raise DicomValueError(f"PN components are str, not {type(p).__name__} ({p!r})")
        for bad in "^=\\":
            if bad in p:
                raise DicomValueError(
                    f"the {name} component {p!r} contains {bad!r}, which is a PN delimiter")
    return "^".join(parts).rstrip("^")


def _control_chars(text: str, allowed: str = "") -> list[str]:
    return sorted({c for c in text
                   if (c < " " or "\x7f" <= c <= "\x9f") and c not in allowed})


def validate_pn(text: str) -> list[str]:
    """Problems of one PN value against PS3.5 6.2 and 6.2.1 (an empty list if none).

    Checked: at most 3 component groups, at most 5 components a group, at most 64
    characters a group, no control characters (except ESC, used by ISO 2022 code
    extensions), no backslash (the value delimiter). Trailing padding spaces are ignored.

    Parameters
    ----------
    text
        One decoded PN value.

    Returns
    -------
    list of str
        One message per problem.

    Examples
    --------
    >>> validate_pn("Doe^John")
    []
    >>> validate_pn("a^b^c^d^e^f")
    ['the alphabetic group has 6 components; at most 5 are allowed']
    """
    problems: list[str] = []
    t = str(text).rstrip(" ")
    if "\\" in t:
        problems.append("contains a backslash (5CH), which separates values: "
                        "one PN value cannot hold it")
    bad = _control_chars(t, "\x1b")
    if bad:
        names = ", ".join(f"U+{ord(c):04X}" for c in bad)
        problems.append(f"contains control characters ({names}); PN allows none but ESC")
    groups = t.split("=")
    if len(groups) > 3:
        problems.append(f"has {len(groups)} component groups; at most 3 "
                        "(alphabetic, ideographic, phonetic) are allowed")
    for i, g in enumerate(groups):
        name = f"the {_GROUP_NAMES[i]} group" if i < 3 else f"component group {i + 1}"
        n = g.count("^") + 1
        if n > 5:
            problems.append(f"{name} has {n} components; at most 5 are allowed")
        if len(g) > 64:
            problems.append(f"{name} is {len(g)} characters long; at most 64 are allowed")
    return problems


# --------------------------------------------------------------------------------------
# DA, TM, DT: parsing helpers (all return None instead of raising)
# --------------------------------------------------------------------------------------

def _parse_da(t: str) -> _dt.date | None:
    """A single DA value (stripped text) to a date, or None."""
    n = len(t)
    if n == 8 and _digits(t):
        y, m, d = t[:4], t[4:6], t[6:]
    elif n == 10 and t[4] == "." and t[7] == ".":  # ACR-NEMA YYYY.MM.DD, tolerated
        y, m, d = t[:4], t[5:7], t[8:]
        if not (_digits(y) and _digits(m) and _digits(d)):
            return None
    else:
        return None
    try:
        return _dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _tm_fields(t: str) -> tuple[int, int, int, int, int] | None:
    """A single TM value (stripped) to (hour, minute, second, microsecond, precision index).

    Precision index: 3 hour, 4 minute, 5 second, 6 fraction (into _PRECISIONS).
    """
    if ":" in t:  # ACR-NEMA HH:MM[:SS[.F]], tolerated
        main, dot, frac = t.partition(".")
        parts = main.split(":")
        if len(parts) > 3:
            return None
        for p in parts:
            if len(p) != 2:
                return None
        digits = "".join(parts)
    else:
        digits, dot, frac = t.partition(".")
    n = len(digits)
    if n not in (2, 4, 6) or not _digits(digits):
        return None
    h = int(digits[:2])
    mi = int(digits[2:4]) if n >= 4 else 0
    s = int(digits[4:6]) if n == 6 else 0
    if h > 23 or mi > 59 or s > 60:
        return None
    if dot:
        if n != 6 or not 1 <= len(frac) <= 6 or not _digits(frac):
            return None
        return h, mi, s, int(frac.ljust(6, "0")), 6
    return h, mi, s, 0, 2 + n // 2


def _dt_offset_split(t: str) -> tuple[str, str]:
    """Split a single DT value into (core, '&ZZXX' or '')."""
    if len(t) >= 5 and t[-5] in "+-" and _digits(t[-4:]):
        return t[:-5], t[-5:]
    return t, ""


def _dt_core_ok(core: str) -> bool:
    """Whether ``core`` has the shape YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]] (values unchecked)."""
    digits, dot, frac = core.partition(".")
    n = len(digits)
    if n not in (4, 6, 8, 10, 12, 14) or not _digits(digits):
        return False
    if dot:
        return n == 14 and 1 <= len(frac) <= 6 and _digits(frac)
    return True


def _dt_shape_ok(t: str) -> bool:
    core, _ = _dt_offset_split(t)
    return _dt_core_ok(core)


def _dt_fields(t: str):
    """A single DT value (stripped) to (datetime, precision index), or None."""
    core, off = _dt_offset_split(t)
    if not _dt_core_ok(core):
        return None
    digits, dot, frac = core.partition(".")
    n = len(digits)
    y = int(digits[:4])
    mo = int(digits[4:6]) if n >= 6 else 1
    d = int(digits[6:8]) if n >= 8 else 1
    h = int(digits[8:10]) if n >= 10 else 0
    mi = int(digits[10:12]) if n >= 12 else 0
    s = int(digits[12:14]) if n >= 14 else 0
    if h > 23 or mi > 59 or s > 60:
        return None
    us = int(frac.ljust(6, "0")) if dot else 0
    tz = None
    if off:
        oh, om = int(off[1:3]), int(off[3:5])
        if oh > 23 or om > 59:
            return None
        minutes = oh * 60 + om
        tz = _dt.timezone(_dt.timedelta(minutes=-minutes if off[0] == "-" else minutes))
    try:
        value = _dt.datetime(y, mo, d, h, mi, min(s, 59), us, tzinfo=tz)
    except ValueError:
        return None
    return value, (6 if dot else n // 2 - 2)


def _dt_range_split(t: str) -> tuple[str, str] | None:
    """Split DT text at its range dash, or None if it is a single value.

    A '-' can be the sign of a UTC offset as well as the range dash. The text is one value
    when it has the shape of one with a plausible offset (hours at most 14, minutes at most
    59: the offsets in use are -1200..+1400); else the range dash is the '-' whose two sides
    both have the shape of a DT value (or are empty, for open ranges). So "2024-2025" is a
    range of years (an offset of -20:25 does not exist) and "2024-0500" is 2024 at UTC-5.
    """
    if "-" not in t:
        return None
    core, off = _dt_offset_split(t)
    if off and _dt_core_ok(core) and int(off[1:3]) <= 14 and int(off[3:5]) <= 59:
        return None
    first = -1
    for i, c in enumerate(t):
        if c != "-":
            continue
        if first < 0 and not (i == len(t) - 5 and _digits(t[i + 1:])):
            first = i
        left, right = t[:i], t[i + 1:]
        if (left or right) and (not left or _dt_shape_ok(left)) and (not right or _dt_shape_ok(right)):
            return left, right
    # No split gives two well-shaped sides: still a range (an invalid one) if some dash
    # cannot be an offset sign; split at the first such dash.
    if first >= 0:
        return t[:first], t[first + 1:]
    return None


_PRECISIONS = ("year", "month", "day", "hour", "minute", "second", "fraction")

_DateOrTime = _dt.date | _dt.time  # datetime.datetime is a date


class _DateTimeText(str):
    """Shared behaviour of DA, TM and DT: the exact text plus lazily parsed meaning."""

    __slots__ = ()

    def __reduce__(self):
        return (type(self), (str.__str__(self),))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} values are immutable")

    # Subclasses define _split(t) -> (left, right) | None, _parse(t) -> (value, precision
    # index) | None and _validate(text, allow_range) -> list[str].

    def _text(self) -> str:
        return self.strip(" \x00")

    @property
    def is_empty(self) -> bool:
        """True if the value is empty (or only padding)."""
        return not self._text()

    @property
    def is_range(self) -> bool:
        """True if the text is a range (``"A-B"``, ``"-B"`` or ``"A-"``, PS3.4 C.2.2.2.5)."""
        return self._split(self._text()) is not None

    @property
    def bounds(self) -> tuple[Self | None, Self | None] | None:
        """The two ends of a range as values of this type (``None`` for an open end).

        ``None`` if the value is not a range.
        """
        parts = self._split(self._text())
        if parts is None:
            return None
        cls = type(self)
        return tuple(cls(p) if p else None for p in parts)

    @property
    def range(self) -> tuple[_DateOrTime | None, _DateOrTime | None] | None:
        """``(start, end)`` of a range as date/time objects (``None`` for an open end).

        An end whose text cannot be parsed is ``None`` too; see :attr:`bounds` for the
        text. ``None`` if the value is not a range.
        """
        b = self.bounds
        if b is None:
            return None
        return tuple(None if x is None else x.value for x in b)

    def _single(self):
        t = self._text()
        if not t or self._split(t) is not None:
            return None
        return self._parse(t)

    @property
    def value(self) -> _DateOrTime | None:
        """The value as a :mod:`datetime` object; ``None`` if empty, a range or invalid.

        A :class:`datetime.date` for DA, :class:`datetime.time` for TM and
        :class:`datetime.datetime` for DT (aware when the text has a UTC offset).
        """
        r = self._single()
        return None if r is None else r[0]

    @property
    def precision(self) -> str | None:
        """The last component the text gives: ``'year'`` ... ``'second'``, ``'fraction'``.

        ``None`` if empty, a range or invalid.
        """
        r = self._single()
        return None if r is None else _PRECISIONS[r[1]]

    @property
    def is_valid(self) -> bool:
        """True if the text follows PS3.5 (ranges allowed, tolerated old forms not)."""
        return not self._validate(self, True)


def _common_problems(text: str, kind: str, allow_range: bool, split) -> tuple[list[str], str, Any]:
    problems: list[str] = []
    if "\\" in text:
        problems.append("contains a backslash (5CH): one value cannot hold it, "
                        "split multi-valued text with parse_multi first")
    t = text.rstrip(" ")
    if t != t.lstrip(" "):
        problems.append("leading spaces are not allowed")
    t = t.strip(" ")
    if "\x00" in t:
        problems.append("contains NUL characters")
        t = t.strip("\x00")
    parts = split(t) if t else None
    if parts is not None:
        if not allow_range:
            problems.append(f"is a range; a {kind} range is only allowed in a query")
        if not parts[0] and not parts[1]:
            problems.append("a range needs at least one end")
    return problems, t, parts


def _da_split(t: str):
    if "-" not in t:
        return None
    left, _, right = t.partition("-")
    return left, right


def validate_da(text: str, *, allow_range: bool = True) -> list[str]:
    """Problems of one DA value against PS3.5 Table 6.2-1 (an empty list if none).

    Parameters
    ----------
    text
        The value text.
    allow_range
        Accept ranges (``"A-B"``, ``"-B"``, ``"A-"``), which are allowed in query keys.

    Returns
    -------
    list of str
        One message per problem.

    Examples
    --------
    >>> validate_da("20240229"), validate_da("20230229")
    ([], ["'20230229' is not a valid date (YYYYMMDD)"])
    >>> validate_da("2024.01.31")
    ["'2024.01.31' is the ACR-NEMA form YYYY.MM.DD, which DICOM does not allow"]
    """
    text = str(text)
    problems, t, parts = _common_problems(text, "DA", allow_range, _da_split)
    if not t:
        return problems
    for p in (parts if parts is not None else (t,)):
        if not p:
            continue
        if len(p) == 10 and p[4:5] == "." and _parse_da(p) is not None:
            problems.append(f"{p!r} is the ACR-NEMA form YYYY.MM.DD, which DICOM does not allow")
        elif len(p) != 8 or _parse_da(p) is None:
            problems.append(f"{p!r} is not a valid date (YYYYMMDD)")
    return problems


def validate_tm(text: str, *, allow_range: bool = True) -> list[str]:
    """Problems of one TM value against PS3.5 Table 6.2-1 (an empty list if none).

    A second of ``60`` (a leap second) is allowed, as the standard allows it.

    Parameters
    ----------
    text
        The value text.
    allow_range
        Accept ranges (``"A-B"``, ``"-B"``, ``"A-"``), which are allowed in query keys.

    Returns
    -------
    list of str
        One message per problem.

    Examples
    --------
    >>> validate_tm("235960.5"), validate_tm("2400")
    ([], ["'2400' is not a valid time (HH[MM[SS[.F{1-6}]]], HH 00-23)"])
    """
    text = str(text)
    problems, t, parts = _common_problems(text, "TM", allow_range, _da_split)
    if not t:
        return problems
    for p in (parts if parts is not None else (t,)):
        if not p:
            continue
        if ":" in p and _tm_fields(p) is not None:
            problems.append(f"{p!r} is the ACR-NEMA form HH:MM:SS, which DICOM does not allow")
        elif _tm_fields(p) is None:
            problems.append(f"{p!r} is not a valid time (HH[MM[SS[.F{{1-6}}]]], HH 00-23)")
    return problems


def validate_dt(text: str, *, allow_range: bool = True) -> list[str]:
    """Problems of one DT value against PS3.5 Table 6.2-1 (an empty list if none).

    Parameters
    ----------
    text
        The value text.
    allow_range
        Accept ranges (``"A-B"``, ``"-B"``, ``"A-"``), which are allowed in query keys.

    Returns
    -------
    list of str
        One message per problem (UTC offsets are checked against -1200..+1400).

    Examples
    --------
    >>> validate_dt("20240101120000.5+0100")
    []
    >>> validate_dt("20240101+1500")
    ["UTC offset '+1500' is outside -1200..+1400"]
    """
    text = str(text)
    problems, t, parts = _common_problems(text, "DT", allow_range, _dt_range_split)
    if not t:
        return problems
    for p in (parts if parts is not None else (t,)):
        if not p:
            continue
        if _dt_fields(p) is None:
            problems.append(f"{p!r} is not a valid date-time "
                            "(YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX])")
            continue
        _, off = _dt_offset_split(p)
        if off:
            minutes = int(off[1:3]) * 60 + int(off[3:5])
            if off[0] == "-":
                minutes = -minutes
            if not -12 * 60 <= minutes <= 14 * 60:
                problems.append(f"UTC offset {off!r} is outside -1200..+1400")
            if off == "-0000":
                problems.append("UTC offset '-0000' is not allowed; UTC is '+0000'")
    return problems


# --------------------------------------------------------------------------------------
# DA, TM, DT
# --------------------------------------------------------------------------------------

class DA(_DateTimeText):
    """A Date (DA) value: the exact text, and the date it means.

    Build it from text (as read) or from a :class:`datetime.date` (written as
    ``YYYYMMDD``). Ranges (``"20240101-20240131"``, open ``"-20240101"`` or
    ``"20240101-"``) are kept as text; ``range`` gives their ends. The ACR-NEMA form
    ``YYYY.MM.DD`` is read (``is_valid`` is ``False`` for it).

    Parameters
    ----------
    value
        The text of one value (or a range), or a date.

    Raises
    ------
    DicomValueError
        For anything but text, bytes or a date.

    Examples
    --------
    >>> import datetime
    >>> DA(datetime.date(2024, 2, 29))
    '20240229'
    >>> DA("1993.08.22").value
    datetime.date(1993, 8, 22)
    >>> DA("-20240101").range
    (None, datetime.date(2024, 1, 1))
    >>> DA("20240230").value is None, DA("20240230").is_valid
    (True, False)
    """

    __slots__ = ()

    def __new__(cls, value: str | _dt.date = "") -> DA:
        """Keep text as it is; write a date as ``YYYYMMDD``."""
        if isinstance(value, str):
            return str.__new__(cls, value)
        if isinstance(value, _dt.date):
            return str.__new__(cls, f"{value.year:04d}{value.month:02d}{value.day:02d}")
        return str.__new__(cls, _text_of("DA", value))

    _split = staticmethod(_da_split)

    @staticmethod
    def _parse(t: str):
        d = _parse_da(t)
        return None if d is None else (d, 2)

    _validate = staticmethod(lambda text, allow_range: validate_da(text, allow_range=allow_range))


class TM(_DateTimeText):
    """A Time (TM) value: the exact text, and the time it means.

    Partial values are read as the standard allows: ``"HH"``, ``"HHMM"``, ``"HHMMSS"``,
    ``"HHMMSS.F"`` to ``"HHMMSS.FFFFFF"``; missing components are zero in ``value`` and
    ``precision`` tells where the text stops. A leap second (``60``) becomes 59 in
    ``value``. The ACR-NEMA form ``"HH:MM:SS.F"`` is read too (``is_valid`` ``False``).
    Built from a :class:`datetime.time` (or the time of a ``datetime``), it is written
    ``HHMMSS``, with ``.FFFFFF`` only if the microsecond is not 0.

    Parameters
    ----------
    value
        The text of one value (or a range), or a time (or datetime).

    Raises
    ------
    DicomValueError
        For anything but text, bytes, a time or a datetime.

    Examples
    --------
    >>> import datetime
    >>> TM(datetime.time(7, 9, 7, 70500))
    '070907.070500'
    >>> TM("070907.0705").value
    datetime.time(7, 9, 7, 70500)
    >>> TM("10").value, TM("10").precision
    (datetime.time(10, 0), 'hour')
    >>> TM("0800-1200").range
    (datetime.time(8, 0), datetime.time(12, 0))
    """

    __slots__ = ()

    def __new__(cls, value: str | _dt.time | _dt.datetime = "") -> TM:
        """Keep text as it is; write a time as ``HHMMSS[.FFFFFF]``."""
        if isinstance(value, str):
            return str.__new__(cls, value)
        if isinstance(value, _dt.datetime):
            value = value.time()
        if isinstance(value, _dt.time):
            text = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
            if value.microsecond:
                text += f".{value.microsecond:06d}"
            return str.__new__(cls, text)
        return str.__new__(cls, _text_of("TM", value))

    _split = staticmethod(_da_split)

    @staticmethod
    def _parse(t: str):
        f = _tm_fields(t)
        if f is None:
            return None
        h, mi, s, us, p = f
        return _dt.time(h, mi, min(s, 59), us), p

    _validate = staticmethod(lambda text, allow_range: validate_tm(text, allow_range=allow_range))


class DT(_DateTimeText):
    """A Date Time (DT) value: the exact text, and the datetime it means.

    Partial values (``"YYYY"``, ``"YYYYMM"``, ... ``"YYYYMMDDHHMMSS.FFFFFF"``) are read
    with missing components at their smallest; ``precision`` tells where the text stops.
    With a UTC offset suffix ``&ZZXX`` the value is timezone-aware. A ``-`` is a range
    dash unless it is the sign of the offset. Built from a :class:`datetime.datetime` it
    is written ``YYYYMMDDHHMMSS[.FFFFFF][&ZZXX]`` (fraction only if the microsecond is not
    0, offset only if aware); from a :class:`datetime.date` it is ``YYYYMMDD``.

    Parameters
    ----------
    value
        The text of one value (or a range), or a datetime or date.

    Raises
    ------
    DicomValueError
        For anything but text, bytes, a datetime or a date, or a UTC offset that is not
        a whole number of minutes.

    Examples
    --------
    >>> DT("20240101120000.123456+0100").value
    datetime.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))
    >>> DT("2024").value, DT("2024").precision
    (datetime.datetime(2024, 1, 1, 0, 0), 'year')
    >>> DT("2024-0500").is_range, DT("2023-2024").is_range
    (False, True)
    >>> import datetime
    >>> DT(datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc))
    '20240506070809+0000'
    """

    __slots__ = ()

    def __new__(cls, value: str | _dt.datetime | _dt.date = "") -> DT:
        """Keep text as it is; write a datetime as ``YYYYMMDDHHMMSS[.FFFFFF][&ZZXX]``."""
        if isinstance(value, str):
            return str.__new__(cls, value)
        if isinstance(value, _dt.datetime):
            return str.__new__(cls, _format_dt(value))
        if isinstance(value, _dt.date):
            return str.__new__(cls, f"{value.year:04d}{value.month:02d}{value.day:02d}")
        return str.__new__(cls, _text_of("DT", value))

    _split = staticmethod(_dt_range_split)
    _parse = staticmethod(_dt_fields)
    _validate = staticmethod(lambda text, allow_range: validate_dt(text, allow_range=allow_range))


def _format_dt(v: _dt.datetime) -> str:
    text = (f"{v.year:04d}{v.month:02d}{v.day:02d}"
            f"{v.hour:02d}{v.minute:02d}{v.second:02d}")
    if v.microsecond:
        text += f".{v.microsecond:06d}"
    off = v.utcoffset()
    if off is not None:
        if off % _dt.timedelta(minutes=1):
            raise DicomValueError(
                f"the UTC offset {off} of {v!r} has seconds; a DT offset (&ZZXX) has "
                "whole minutes only")
        minutes = off // _dt.timedelta(minutes=1)
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        text += f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    return text


# --------------------------------------------------------------------------------------
# IS, DS
# --------------------------------------------------------------------------------------

class IS(int):
    """An Integer String (IS) value: an ``int`` that keeps the text it was read from.

    From text, surrounding spaces and a ``+`` sign are accepted; text such as ``"1.0"``
    that is not an integer string but holds an integral number is read (as pydicom does)
    with a logged warning. Text out of the IS range (-2**31 .. 2**31-1) is kept, with a
    logged warning. From a number, a value that is not integral or out of range raises
    :class:`~pacsnb.errors.DicomValueError`.

    ``original`` is the exact text (``None`` if built from a number); ``str()`` and
    ``repr()`` give it back, else the canonical decimal form. Arithmetic gives plain ``int``.

    Parameters
    ----------
    value
        The text of one value, or an integral number.

    Raises
    ------
    DicomValueError
        If the text holds no integer (empty, ``"abc"``, ``"1.5"``), or the number is not
        integral or out of range.

    Examples
    --------
    >>> n = IS(" +12 ")
    >>> n == 12, n.original, str(n)
    (True, ' +12 ', ' +12 ')
    >>> str(IS(12)), IS(12).original is None
    ('12', True)
    >>> IS(2**31)
    Traceback (most recent call last):
    ...
    pacsnb.errors.DicomValueError: 2147483648 is out of the IS range -2147483648..2147483647
    """

    original: str | None = None  # instances built from text set their own

    def __new__(cls, value: str | int | float = 0) -> IS:
        """Read IS text (kept as ``original``) or check an integral number."""
        if type(value) is not str:
            if isinstance(value, IS):
                return value
            if isinstance(value, str):
                value = str.__str__(value)
            elif isinstance(value, (bytes, bytearray, memoryview)):
                value = _text_of("IS", value)
            else:
                n = _integral(value)
                if not _IS_MIN <= n <= _IS_MAX:
                    raise DicomValueError(f"{n} is out of the IS range {_IS_MIN}..{_IS_MAX}")
                return int.__new__(cls, n)
        if "_" in value:  # int() would read "1_000"
            raise DicomValueError(f"{value!r} is not an Integer String (IS) value")
        try:
            obj = int.__new__(cls, value)
        except ValueError:
            obj = int.__new__(cls, _is_from_float_text(value))
        if not -2147483648 <= obj <= 2147483647:
            _log.warning("IS value %r is out of the range %d..%d; kept", value, _IS_MIN, _IS_MAX)
        _obj_setattr(obj, "original", value)
        return obj

    def __str__(self) -> str:
        """The original text, else the canonical decimal form."""
        o = self.original
        return o if o is not None else int.__repr__(self)

    def __repr__(self) -> str:  # the DICOM text, as for the str-based value types
        """The ``repr`` of the text (``'+012'``), as for the str-based value types."""
        return repr(self.__str__())

    def __format__(self, spec: str) -> str:
        """The text for an empty spec (``f"{n}"``), else ``int`` formatting."""
        return str(self) if not spec else int.__format__(int(self), spec)

    def __reduce__(self):
        """Pickle as the original text (or the number), so that the text survives."""
        o = self.original
        return (IS, (o if o is not None else int(self),))

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: IS values are immutable."""
        raise AttributeError("IS values are immutable")

    def __delattr__(self, name: str) -> None:
        """Refuse: IS values are immutable."""
        raise AttributeError("IS values are immutable")


_obj_setattr = object.__setattr__


def _integral(value: object) -> int:
    try:
        return operator.index(value)  # int, bool, numpy integers
    except TypeError:
        pass
    try:
        n = int(value)  # float, Decimal, Fraction, numpy floats
        exact = n == value
    except (TypeError, ValueError, OverflowError):
        raise DicomValueError(f"{value!r} is not an integer, so it cannot be an IS value") from None
    if not exact:
        raise DicomValueError(f"{value!r} is not an integer, so it cannot be an IS value")
    return n


def _is_from_float_text(text: str) -> int:
    try:
        f = float(text)
    except ValueError:
        what = "is empty" if not text.strip() else "is not a number"
        raise DicomValueError(
            f"IS value {text!r} {what}; an empty IS value is no number, keep it as text") from None
    if not math.isfinite(f) or not f.is_integer():
        raise DicomValueError(f"IS value {text!r} is not an integer")
    n = int(f)
    _log.warning("IS value %r is not an integer string; read as %d", text, n)
    return n


class DS(float):
    """A Decimal String (DS) value: a ``float`` that keeps the text it was read from.

    From text, surrounding spaces, a sign and exponent forms are accepted. Text reading as
    NaN or infinity (not allowed in a DS, but found in files) is kept with a logged
    warning. From a number (``float``, ``int``, ``Decimal``, numpy scalar), NaN and
    infinity raise.

    ``original`` is the exact text (``None`` if built from a number); ``str()`` and
    ``repr()`` give it back, else :func:`format_ds` of the number (at most 16 characters).

    Parameters
    ----------
    value
        The text of one value, or a number.

    Raises
    ------
    DicomValueError
        If the text holds no number, or the number is NaN or infinite.

    Examples
    --------
    >>> d = DS("1.50")
    >>> d == 1.5, str(d), str(DS(1.5))
    (True, '1.50', '1.5')
    >>> str(DS(1 / 3))
    '0.33333333333333'
    >>> DS(float("nan"))
    Traceback (most recent call last):
    ...
    pacsnb.errors.DicomValueError: a DS value cannot be nan: a Decimal String holds finite numbers only
    """

    __slots__ = ("original",)

    def __new__(cls, value: str | float | int = 0.0) -> DS:
        """Read DS text (kept as ``original``) or check a finite number."""
        if type(value) is not str:
            if isinstance(value, DS):
                return value
            if isinstance(value, str):
                value = str.__str__(value)
            elif isinstance(value, (bytes, bytearray, memoryview)):
                value = _text_of("DS", value)
            else:
                try:
                    f = float(value)
                except (TypeError, ValueError, OverflowError):
                    raise DicomValueError(f"{value!r} is not a number, so it cannot be a DS value") from None
                if not math.isfinite(f):
                    raise DicomValueError(
                        f"a DS value cannot be {f!r}: a Decimal String holds finite numbers only")
                obj = float.__new__(cls, f)
                _DS_SET_ORIGINAL(obj, None)
                return obj
        if "_" in value:
            raise DicomValueError(f"{value!r} is not a Decimal String (DS) value")
        try:
            f = float(value)
        except ValueError:
            what = "is empty" if not value.strip() else "is not a number"
            raise DicomValueError(
                f"DS value {value!r} {what}; an empty DS value is no number, keep it as text") from None
        if not math.isfinite(f):
            _log.warning("DS value %r is not a finite number; kept", value)
        obj = float.__new__(cls, f)
        _DS_SET_ORIGINAL(obj, value)
        return obj

    def __str__(self) -> str:
        """The original text, else :func:`format_ds` of the number."""
        o = self.original
        return o if o is not None else format_ds(self)

    def __repr__(self) -> str:  # the DICOM text, as for the str-based value types
        """The ``repr`` of the text (``'1.50'``), as for the str-based value types."""
        return repr(self.__str__())

    def __format__(self, spec: str) -> str:
        """The text for an empty spec (``f"{d}"``), else ``float`` formatting."""
        return str(self) if not spec else float.__format__(float(self), spec)

    def __reduce__(self):
        """Pickle as the original text (or the number), so that the text survives."""
        o = self.original
        return (DS, (o if o is not None else float(self),))

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: DS values are immutable."""
        raise AttributeError("DS values are immutable")

    def __delattr__(self, name: str) -> None:
        """Refuse: DS values are immutable."""
        raise AttributeError("DS values are immutable")


_DS_SET_ORIGINAL = DS.__dict__["original"].__set__


def format_is(x: int | float | str) -> str:
    """The canonical IS text of an integer: no spaces, no ``+``, no leading zeros.

    Parameters
    ----------
    x
        An integral number, or IS text.

    Returns
    -------
    str
        At most 11 characters.

    Raises
    ------
    DicomValueError
        If ``x`` is not integral or out of -2**31 .. 2**31-1.

    Examples
    --------
    >>> format_is(-7), format_is(3.0), format_is(" 0012")
    ('-7', '3', '12')
    """
    n = int(IS(x)) if isinstance(x, (str, bytes)) else _integral(x)
    if not _IS_MIN <= n <= _IS_MAX:
        raise DicomValueError(f"{n} is out of the IS range {_IS_MIN}..{_IS_MAX}")
    return str(n)


def _ds_candidates(f: float, p: int) -> tuple[str, str]:
    """Fixed-point and exponent forms of ``f`` rounded to ``p`` significant digits."""
    m = f"{f:.{p - 1}e}"
    if math.isinf(float(m)):
        # Rounding up went past the largest float (1.7976931348623157e308 to 11 digits):
        # cut the digits instead, so the text still reads as a finite number.
        with _decimal.localcontext() as ctx:
            ctx.rounding = _decimal.ROUND_DOWN
            m = format(_decimal.Decimal(f), f".{p - 1}e")
    mant, _, exp = m.partition("e")
    e = int(exp)
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    sci = f"{mant}e{e}"
    fixed = f"{f:.{max(p - 1 - e, 0)}f}"
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    return fixed, sci


def format_ds(x: float) -> str:
    """The shortest DS text (at most 16 characters) for a number, as exact as 16 allow.

    ``repr(x)`` is used when it fits (it is the shortest text that reads back exactly),
    without a trailing ``.0`` (``5.0`` is written ``"5"``).
    Otherwise the number is rounded to the most significant digits that fit, in fixed
    point or exponent form (``e`` without ``+`` or leading zeros to save room), whichever
    keeps more digits, the shorter on a tie.

    Parameters
    ----------
    x
        A number (anything ``float()`` takes).

    Returns
    -------
    str
        At most 16 characters, reading back as ``x`` or its nearest 16-character form.

    Raises
    ------
    DicomValueError
        For NaN and infinity, which a DS cannot hold.

    Examples
    --------
    >>> format_ds(0.5), format_ds(-3.0), format_ds(1e20), format_ds(2 / 3)
    ('0.5', '-3', '1e+20', '0.66666666666667')
    >>> format_ds(-1.2345678901234567e-100)
    '-1.23456789e-100'
    """
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        raise DicomValueError(f"{x!r} is not a number, so it cannot be a DS value") from None
    if not math.isfinite(f):
        raise DicomValueError(f"a DS value cannot be {f!r}: a Decimal String holds finite numbers only")
    s = repr(f)
    if s.endswith(".0"):  # 5.0 -> "5": shorter, and as exact
        s = s[:-2]
    if len(s) <= 16:
        return s
    # Significant digits of the shortest exact text: no form with more can do better.
    mant = s.partition("e")[0].lstrip("-").replace(".", "")
    n = max(len(mant.strip("0")), 1)
    for p in range(n, 0, -1):
        fits = [c for c in _ds_candidates(f, p) if len(c) <= 16]
        if fits:
            return min(fits, key=len)
    raise AssertionError(f"no DS form for {f!r}")  # pragma: no cover - p == 1 always fits


_IS_CHARS = frozenset("0123456789+- ")
_DS_CHARS = frozenset("0123456789+-Ee. ")


def validate_is(text: str) -> list[str]:
    """Problems of one IS value text against PS3.5 Table 6.2-1 (an empty list if none).

    Parameters
    ----------
    text
        One IS value as text (empty text has no problem).

    Returns
    -------
    list of str
        One message per problem: characters, embedded spaces, length, range.

    Examples
    --------
    >>> validate_is(" -12 "), validate_is("1.0")
    ([], ["'1.0' has characters other than 0-9, + and -"])
    """
    text = str(text)
    problems: list[str] = []
    t = text.strip(" ")
    if not t:
        return problems
    if not set(text) <= _IS_CHARS:
        problems.append(f"{t!r} has characters other than 0-9, + and -")
    elif " " in t:
        problems.append(f"{t!r} has embedded spaces")
    if len(text) > 12:
        problems.append(f"is {len(text)} characters long; at most 12 are allowed")
    if not problems:
        try:
            n = int(t)
        except ValueError:
            problems.append(f"{t!r} is not an integer")
        else:
            if not _IS_MIN <= n <= _IS_MAX:
                problems.append(f"{n} is out of the range {_IS_MIN}..{_IS_MAX}")
    return problems


def validate_ds(text: str) -> list[str]:
    """Problems of one DS value text against PS3.5 Table 6.2-1 (an empty list if none).

    Parameters
    ----------
    text
        One DS value as text (empty text has no problem).

    Returns
    -------
    list of str
        One message per problem: characters, embedded spaces, length, not a number.

    Examples
    --------
    >>> validate_ds(" 1.5e-3"), validate_ds("NaN")
    ([], ["'NaN' has characters other than 0-9, +, -, E, e and ."])
    """
    text = str(text)
    problems: list[str] = []
    t = text.strip(" ")
    if not t:
        return problems
    if not set(text) <= _DS_CHARS:
        problems.append(f"{t!r} has characters other than 0-9, +, -, E, e and .")
    elif " " in t:
        problems.append(f"{t!r} has embedded spaces")
    if len(text) > 16:
        problems.append(f"is {len(text)} characters long; at most 16 are allowed")
    if not problems:
        try:
            float(t)
        except ValueError:
            problems.append(f"{t!r} is not a number")
    return problems


# --------------------------------------------------------------------------------------
# multi-valued elements, numpy
# --------------------------------------------------------------------------------------

def parse_multi(text: str) -> list[str]:
    """Split the decoded text of an element into its values (PS3.5 6.4).

    Values are separated by backslashes; an empty text has no value (VM 0), while
    ``"a\\\\"`` has two, the second empty. Character sets must be applied before: in
    some multi-byte encodings the byte 5CH is not a backslash.

    Parameters
    ----------
    text
        The decoded text of the element.

    Returns
    -------
    list of str
        The values, padding not stripped.

    Examples
    --------
    >>> parse_multi("ORIGINAL\\\\PRIMARY\\\\AXIAL")
    ['ORIGINAL', 'PRIMARY', 'AXIAL']
    >>> parse_multi(""), parse_multi("1\\\\")
    ([], ['1', ''])
    """
    return text.split("\\") if text else []


def to_datetime64(value: object):
    """A DA, DT or TM value as a numpy scalar for a DataFrame column.

    - :class:`DA` (or ``datetime.date``): ``numpy.datetime64`` in days;
    - :class:`DT` (or ``datetime.datetime``): ``numpy.datetime64`` in microseconds; an
      aware value is converted to UTC (numpy has no time zones);
    - :class:`TM` (or ``datetime.time``): ``numpy.timedelta64`` in microseconds since
      midnight, so that ``date + time`` gives a ``datetime64``.

    Empty values, ranges, invalid values and ``None`` give NaT.

    Parameters
    ----------
    value
        A :class:`DA`, :class:`DT` or :class:`TM`, a :mod:`datetime` date, datetime or
        time, or ``None``.

    Returns
    -------
    numpy.datetime64 or numpy.timedelta64

    Raises
    ------
    DicomValueError
        For a plain ``str``, whose meaning (date, time or date-time) is unknown: wrap
        it in DA, TM or DT first.

    Examples
    --------
    >>> to_datetime64(DA("20240131"))
    np.datetime64('2024-01-31')
    >>> to_datetime64(DA("20240131")) + to_datetime64(TM("1230"))
    np.datetime64('2024-01-31T12:30:00.000000')
    >>> to_datetime64(DT("20240101000000+0100"))
    np.datetime64('2023-12-31T23:00:00.000000')
    >>> import numpy as np
    >>> np.isnat(to_datetime64(DA(""))), np.isnat(to_datetime64(TM("1200-1300")))
    (np.True_, np.True_)
    """
    import numpy as np

    if value is None:
        return np.datetime64("NaT")
    if isinstance(value, TM):
        v = value.value
        if v is None:
            return np.timedelta64("NaT", "us")
        value = v
    elif isinstance(value, DA):
        v = value.value
        if v is None:
            return np.datetime64("NaT", "D")
        return np.datetime64(v, "D")
    elif isinstance(value, DT):
        v = value.value
        if v is None:
            return np.datetime64("NaT", "us")
        value = v
    elif isinstance(value, str):
        raise DicomValueError(
            f"to_datetime64 needs a DA, TM or DT value, not a plain str ({value!r}): "
            "wrap it in the type of its VR")
    if isinstance(value, _dt.datetime):
        off = value.utcoffset()
        naive = np.datetime64(value.replace(tzinfo=None), "us")
        if off is None:
            return naive
        # numpy does the shift, so that year 1 at +0100 does not overflow datetime
        return naive - np.timedelta64(off // _dt.timedelta(microseconds=1), "us")
    if isinstance(value, _dt.date):
        return np.datetime64(value, "D")
    if isinstance(value, _dt.time):
        us = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return np.timedelta64(us, "us")
    raise DicomValueError(
        f"to_datetime64 needs a DA, TM or DT value, not {type(value).__name__} ({value!r})")
