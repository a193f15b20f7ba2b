"""Attribute matching of PS3.4 C.2.2.2, compiled to parameterised SQL over the index.

Every kind of matching the standard defines for C-FIND:

=============================  ============================================================
single value (C.2.2.2.1)       ``PatientID="PNB0001"``; case-sensitive, except PN (below)
universal (C.2.2.2.3)          an empty value (or ``"*"``): the attribute is a return key
wildcard (C.2.2.2.4)           ``*`` and ``?`` in values of AE, CS, LO, LT, PN, SH, ST, UC,
                               UR and UT (not in UIDs, dates, times or numbers)
range (C.2.2.2.5)              ``"20240101-20240131"``, ``"20240101-"``, ``"-20240131"`` for
                               DA, TM and DT; a time range is inclusive of its last unit
                               (``"-10"`` runs to 10:59:59.999999); with combined date-time
                               matching, a Date range and a Time range form one interval
UID list (C.2.2.2.2)           ``"1.2.3\\1.2.4"``: any of the UIDs
multiple values (C.2.2.2.8)    backslash-separated values of other VRs: any of them
empty value (C.2.2.2.7)        ``'""'``: entities whose attribute is empty or absent
sequence (C.2.2.2.6)           one item of keys: an entity matches if one of its items
                               matches every key of that item
=============================  ============================================================

Person names are matched case-insensitively and accent-insensitively by default, which
C.2.2.2.1 allows for PN ("insensitive to some or all aspects of case, position, accent");
``pn_case_sensitive=True`` gives literal matching, as dcmqrscp does. A name without ``=``
also matches stored names that have ideographic or phonetic groups after their alphabetic
one. Trailing empty components (``"DOE^JOHN^^"``) are ignored on both sides.

Values only ever travel as SQL parameters; column names come from the fixed table of
:mod:`pacsnb.archive.attributes`, never from a query.

Examples
--------
>>> from pacsnb.archive.attributes import key
>>> from pacsnb.archive.matching import condition
>>> params = []
>>> condition(key("StudyDate"), "st", "20240101-", params), params
('st."StudyDate" >= ?', ['20240101'])
>>> params = []
>>> condition(key("PatientName"), "p", "Doe*", params), params
('p."PatientName__fold" GLOB ?', ['doe*'])
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from pacsnb.archive.attributes import Key
from pacsnb.errors import InvalidQueryError

__all__ = ["condition", "fold_pn", "normalize_tm", "normalize_dt", "normalize_da", "glob_pattern",
           "WILDCARD_VRS", "RANGE_VRS", "NUMERIC_VRS", "combined_datetime_condition"]

#: VRs whose values may hold the wildcards ``*`` and ``?`` (PS3.4 C.2.2.2.4).
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
#: VRs with range matching (PS3.4 C.2.2.2.5).
RANGE_VRS = frozenset({"DA", "TM", "DT"})
#: VRs compared as numbers.
NUMERIC_VRS = frozenset({"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "SV", "UV"})

_TM = re.compile(r"^(\d\d)(?::?(\d\d)(?::?(\d\d)(?:\.(\d{1,6}))?)?)?$")
_DT = re.compile(r"^(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?(?:\.(\d{1,6}))?(?:[+-]\d{4})?$")


def fold_pn(name: str) -> str:
    """The form of a person name that case- and accent-insensitive matching compares.

    Letters are case-folded and stripped of accents; trailing empty components and
    groups are dropped.

    Parameters
    ----------
    name
        A PN value (``family^given^middle^prefix^suffix``, groups separated by ``=``).

    Returns
    -------
    str

    Examples
    --------
    >>> fold_pn("Dupré^Jérôme^^"), fold_pn("DOE^JOHN=")
    ('dupre^jerome', 'doe^john')
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    groups = [g.rstrip("^ ") for g in text.split("=")]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def normalize_da(value: str) -> str:
    """A date as ``YYYYMMDD`` (the pre-1993 form ``YYYY.MM.DD`` accepted).

    Examples
    --------
    >>> normalize_da("2024.01.31"), normalize_da(" 20240131 ")
    ('20240131', '20240131')
    """
    return value.strip().replace(".", "")


def normalize_tm(value: str, upper: bool = False) -> str | None:
    """A time as ``HHMMSS.FFFFFF``, missing parts filled with zeros (or, for the upper end
    of a range, with their largest value); ``None`` when it is not a time.

    Parameters
    ----------
    value
        A TM value, ``HH[MM[SS[.F...]]]`` (or the old ``HH:MM:SS`` form).
    upper
        Fill for the upper end of a range: ``"10"`` becomes ``"105959.999999"``.

    Examples
    --------
    >>> normalize_tm("1015"), normalize_tm("10", upper=True), normalize_tm("noon")
    ('101500.000000', '105959.999999', None)
    """
    m = _TM.match(value.strip())
    if not m:
        return None
    hh, mm, ss, frac = m.groups()
    top = upper
    mm = mm if mm is not None else ("59" if top else "00")
    ss = ss if ss is not None else ("59" if top else "00")
    if frac is None:
        frac = "999999" if top else "000000"
    else:
        frac = frac.ljust(6, "9" if top else "0")
    return f"{hh}{mm}{ss}.{frac}"


def normalize_dt(value: str, upper: bool = False) -> str | None:
    """A date-time as ``YYYYMMDDHHMMSS.FFFFFF`` (UTC offset dropped), missing parts filled
    as :func:`normalize_tm` does; ``None`` when it is not a date-time.

    Examples
    --------
    >>> normalize_dt("2024"), normalize_dt("202401", upper=True)
    ('20240101000000.000000', '20240131235959.999999')
    """
    m = _DT.match(value.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac = m.groups()
    if upper:
        mo = mo or "12"
        d = d or ("31" if mo != "02" else "29")
        if mo in ("04", "06", "09", "11") and d == "31":
            d = "30"
        hh, mi, ss = hh or "23", mi or "59", ss or "59"
        frac = (frac or "").ljust(6, "9")
    else:
        mo, d, hh, mi, ss = mo or "01", d or "01", hh or "00", mi or "00", ss or "00"
        frac = (frac or "").ljust(6, "0")
    return f"{y}{mo}{d}{hh}{mi}{ss}.{frac}"


def glob_pattern(value: str) -> str:
    """A DICOM wildcard value as an SQLite ``GLOB`` pattern (``[`` is escaped).

    Examples
    --------
    >>> glob_pattern("DOE*^J?HN[1]")
    'DOE*^J?HN[[]1]'
    """
    return value.replace("[", "[[]")


def _escape_glob_literal(value: str) -> str:
    return value.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")


def _split_range(vr: str, value: str) -> tuple[str, str] | None:
    """``(low, high)`` of a range value, ``None`` for a single value. A DT value's UTC
    offset (``-0500``) is not a range separator."""
    v = value.strip()
    if "-" not in v:
        return None
    if vr != "DT":
        lo, _, hi = v.partition("-")
        return lo.strip(), hi.strip()
    if normalize_dt(v) is not None:
        return None
    for i, c in enumerate(v):
        if c == "-":
            lo, hi = v[:i].strip(), v[i + 1:].strip()
            if (not lo or normalize_dt(lo) is not None) and (not hi or normalize_dt(hi) is not None):
                return lo, hi
    lo, _, hi = v.partition("-")
    return lo.strip(), hi.strip()


def _bad(k: Key, value: Any, why: str) -> InvalidQueryError:
    return InvalidQueryError(f"{k.keyword} ({k.vr}) = {value!r}: {why}")


def _norm(k: Key, value: str, upper: bool = False) -> str:
    if k.vr == "DA":
        v = normalize_da(value)
        if not re.fullmatch(r"\d{8}", v):
            raise _bad(k, value, "not a date (YYYYMMDD)")
        return v
    f = normalize_tm if k.vr == "TM" else normalize_dt
    v = f(value, upper)
    if v is None:
        raise _bad(k, value, "not a time (HHMMSS.FFFFFF)" if k.vr == "TM" else "not a date-time")
    return v


class _Target:
    """Where a value is compared: the SQL expression of the stored value, and of its
    folded (PN) or normalised (TM, DT) form."""

    __slots__ = ("expr", "fold", "norm", "stored_json")

    def __init__(self, expr: str, fold: str | None, norm: str | None) -> None:
        self.expr, self.fold, self.norm = expr, fold, norm


def _single(k: Key, t: _Target, value: str, params: list, pn_case_sensitive: bool) -> str | None:
    """One value (no backslash) against one stored value."""
    vr = k.vr
    if value == '""':  # empty value matching
        return f"({t.expr} IS NULL OR {t.expr} = '')"
    if vr in WILDCARD_VRS and value.strip("*") == "":
        return None  # "*" alone: universal
    if vr == "PN":
        v = value.strip() if pn_case_sensitive else fold_pn(value)
        col = t.expr if pn_case_sensitive else t.fold
        if "*" in v or "?" in v:
            params.append(glob_pattern(v))
            return f"{col} GLOB ?"
        if "=" in v:
            params.append(v)
            return f"{col} = ?"
        params.extend((v, _escape_glob_literal(v) + "=*"))
        return f"({col} = ? OR {col} GLOB ?)"
    if vr in RANGE_VRS:
        col = t.expr if vr == "DA" else t.norm
        rng = _split_range(vr, value)
        if rng is not None:
            lo, hi = rng
            if not lo and not hi:
                return None
            parts = []
            if lo:
                params.append(_norm(k, lo))
                parts.append(f"{col} >= ?")
            if hi:
                params.append(_norm(k, hi, upper=True))
                parts.append(f"{col} <= ?")
            return " AND ".join(parts) if len(parts) == 1 else f"({parts[0]} AND {parts[1]})"
        if vr == "DA":
            params.append(_norm(k, value))
            return f"{col} = ?"
        params.extend((_norm(k, value), _norm(k, value, upper=True)))
        return f"{col} BETWEEN ? AND ?"
    if vr in NUMERIC_VRS:
        try:
            number = float(value)
        except ValueError:
            raise _bad(k, value, "not a number") from None
        params.append(number)
        return f"CAST({t.expr} AS REAL) = ?"
    if vr in WILDCARD_VRS and ("*" in value or "?" in value):
        params.append(glob_pattern(value))
        return f"{t.expr} GLOB ?"
    params.append(value if vr in ("LT", "ST", "UT") else value.strip())
    return f"{t.expr} = ?"


def _values(value: Any) -> list[str] | None:
    """The query's values: ``None`` for universal matching."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        vals = [str(v) for v in value]
    else:
        vals = str(value).split("\\")
    vals = [v for v in vals if v != ""]
    return vals or None


class _Aliases:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"j{self.n}"


def _compile(k: Key, t: _Target, value: Any, params: list, pn_case_sensitive: bool, aliases: _Aliases,
             in_item: bool) -> str | None:
    if k.vr == "SQ":
        return _sequence(k, t.expr, value, params, pn_case_sensitive, aliases)
    vals = _values(value)
    if vals is None:
        return None
    if k.vr == "UI" and len(vals) > 1:
        if k.multi:
            a = aliases.next()
            params.extend(vals)
            return f"EXISTS (SELECT 1 FROM json_each({t.expr}) AS {a} WHERE {a}.value IN ({', '.join('?' * len(vals))}))"
        params.extend(vals)
        return f"{t.expr} IN ({', '.join('?' * len(vals))})"
    if k.multi and not in_item:
        a = aliases.next()
        inner = _Target(f"{a}.value", f"pacsnb_fold_pn({a}.value)", f"pacsnb_norm({a}.value, '{k.vr}')")
        parts = []
        for v in vals:
            c = _single(k, inner, v, params, pn_case_sensitive)
            if c is None:
                return None
            parts.append(c)
        return f"EXISTS (SELECT 1 FROM json_each({t.expr}) AS {a} WHERE {' OR '.join(parts)})"
    parts = []
    for v in vals:
        c = _single(k, t, v, params, pn_case_sensitive)
        if c is None:
            return None  # one universal value makes the whole key universal
        parts.append(c)
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _item_keys(value: Any) -> Mapping[str, Any] | None:
    """The keys of a sequence key's (single) item, as ``{keyword: value}``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        return None
    item = items[0]
    if isinstance(item, Mapping):
        return item
    if hasattr(item, "elements"):
        out = {}
        for e in item.elements():
            if e.keyword:
                out[e.keyword] = e.value
        return out
    raise InvalidQueryError(f"a sequence key needs an item (a Dataset or a dict of keys), not {item!r}")


def _sequence(k: Key, expr: str, value: Any, params: list, pn_case_sensitive: bool, aliases: _Aliases) -> str | None:
    from pacsnb.archive.attributes import _make  # item keys for attributes not listed in the table

    item = _item_keys(value)
    if not item:
        return None
    a = aliases.next()
    listed = {s.keyword: s for s in (k.items or ())}
    parts = []
    for kw, v in item.items():
        try:
            sub = listed.get(kw) or _make(kw, k.level, "O", None)
        except KeyError:
            raise InvalidQueryError(f"{k.keyword}: {kw!r} is not a DICOM keyword") from None
        path = json.dumps("$." + kw)
        sub_expr = f"json_extract({a}.value, {path})"
        t = _Target(sub_expr, f"pacsnb_fold_pn({sub_expr})", f"pacsnb_norm({sub_expr}, '{sub.vr}')")
        c = _compile(sub, t, v, params, pn_case_sensitive, aliases, True)
        if c is not None:
            parts.append(c)
    if not parts:
        return None
    return f"EXISTS (SELECT 1 FROM json_each({expr}) AS {a} WHERE {' AND '.join(parts)})"


def condition(k: Key, alias: str, value: Any, params: list, *, pn_case_sensitive: bool = False,
              aliases: Any = None) -> str | None:
    """The SQL condition matching the index column of ``k`` against a query value.

    Parameters
    ----------
    k
        The key (:func:`pacsnb.archive.attributes.key`).
    alias
        The SQL alias of the table holding its column.
    value
        The query value: a string (backslashes separate values), a list of values, or for
        a sequence a list with one item (a ``Dataset`` or a dict of keys).
    params
        The SQL parameters so far; the values this condition needs are appended.
    pn_case_sensitive
        Literal matching of person names (default: case- and accent-insensitive).
    aliases
        Internal: the counter of ``json_each`` aliases shared by one query.

    Returns
    -------
    str or None
        The condition, or ``None`` for universal matching (no condition).

    Raises
    ------
    InvalidQueryError
        For a value that cannot be matched (a date that is not one, a number that is not).

    Examples
    --------
    >>> from pacsnb.archive.attributes import key
    >>> p = []
    >>> condition(key("StudyInstanceUID"), "st", "1.2.3\\\\1.2.4", p), p
    ('st."StudyInstanceUID" IN (?, ?)', ['1.2.3', '1.2.4'])
    >>> condition(key("PatientID"), "p", "", []) is None
    True
    """
    col = f'{alias}."{k.keyword}"'
    t = _Target(col, f'{alias}."{k.keyword}__fold"', f'{alias}."{k.keyword}__n"')
    return _compile(k, t, value, params, pn_case_sensitive, aliases or _Aliases(), False)


def combined_datetime_condition(date_key: Key, time_key: Key, alias: str, date_value: str, time_value: str,
                                params: list) -> str | None:
    """Combined date-time range matching (PS3.4 C.2.2.2.5): a Date range and a Time range
    as one interval, from the first date at the first time to the last date at the last time.

    Returns ``None`` when the two values are not both ranges (match them one by one then).

    Examples
    --------
    >>> from pacsnb.archive.attributes import key
    >>> p = []
    >>> sql = combined_datetime_condition(key("StudyDate"), key("StudyTime"), "st",
    ...                                   "20240101-20240102", "1000-1800", p)
    >>> p
    ['20240101', '20240101', '100000.000000', '20240102', '20240102', '180059.999999']
    """
    dv, tv = str(date_value or "").strip(), str(time_value or "").strip()
    if "-" not in dv or "-" not in tv or "\\" in dv or "\\" in tv:
        return None
    d_lo, _, d_hi = (s.strip() for s in dv.partition("-"))
    t_lo, _, t_hi = (s.strip() for s in tv.partition("-"))
    d = f'{alias}."{date_key.keyword}"'
    t = f'COALESCE({alias}."{time_key.keyword}__n", \'\')'
    parts = []
    if d_lo:
        lo_t = _norm(time_key, t_lo) if t_lo else "000000.000000"
        params.extend((_norm(date_key, d_lo), _norm(date_key, d_lo), lo_t))
        parts.append(f"({d} > ? OR ({d} = ? AND {t} >= ?))")
    if d_hi:
        hi_t = _norm(time_key, t_hi, upper=True) if t_hi else "235959.999999"
        params.extend((_norm(date_key, d_hi), _norm(date_key, d_hi), hi_t))
        parts.append(f"({d} < ? OR ({d} = ? AND {t} <= ?))")
    if not parts:
        return None
    return " AND ".join(parts)
