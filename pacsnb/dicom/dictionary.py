"""The DICOM data dictionary (PS3.6) and private dictionaries registered by creator.

Every element of the PS3.6 registry is here, retired ones and repeating groups such as
``(60xx,3000)`` included, plus the PS3.7 command group. The facts live in the generated
file ``_data/dictionary.json`` (made by ``tools/gen_dictionary.py``), which is read once,
lazily, on the first lookup; lookups are then dictionary hits.

Resolution order of :func:`lookup`:

1. an exact tag of the registry;
2. a repeating group: ``(50xx,eeee)`` and ``(60xx,eeee)`` for the even groups
   5000-501E and 6000-601E only (PS3.5 7.6), ``(7Fxx,eeee)`` for even groups, and the
   retired element ranges ``(0020,31xx)``, ``(0028,04x0-3)``, ``(0028,08x0-8)``,
   ``(1000,xxx0-5)``, ``(1010,xxxx)``;
3. a group length ``(gggg,0000)``: UL, keyword ``GroupLength`` (retired by PS3.5 7.2
   except for the command and file meta groups, which have their own entries);
4. a private creator ``(gggg,00ee)``, odd ``gggg``, ``ee`` from 10 to FF: LO,
   keyword ``PrivateCreator`` (PS3.5 7.8.1);

and ``None`` for anything else, private elements included (use :func:`lookup_private`
with the creator of the element's block).

Examples
--------
>>> from pacsnb.dicom.dictionary import lookup, tag_for_keyword, vr_for_tag
>>> e = lookup(0x00100010)
>>> e.keyword, e.vr, e.vm, e.retired
('PatientName', 'PN', '1', False)
>>> lookup(0x60023000).keyword, lookup(0x60023000).vrs
('OverlayData', ('OB', 'OW'))
>>> hex(tag_for_keyword("PixelData")), vr_for_tag(0x00091234)
('0x7fe00010', 'UN')
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pacsnb.errors import DictionaryError

__all__ = [
    "DictEntry", "lookup", "lookup_keyword", "tag_for_keyword", "keyword_for_tag",
    "vr_for_tag", "register_private_dictionary", "unregister_private_dictionary",
    "lookup_private", "private_creators", "all_entries", "dictionary_info",
]


@dataclass(frozen=True, slots=True)
class DictEntry:
    """One element of the data dictionary.

    Attributes
    ----------
    tag
        The tag as ``0xGGGGEEEE``; for a repeating-group entry returned by
        :func:`lookup`, the tag that was asked for; in :func:`all_entries` and
        :func:`lookup_keyword`, the first tag of the group not taken by another element
        (``0x60003000`` for ``(60xx,3000)``, ``0x00280410`` for ``(0028,04x0)`` since
        ``(0028,0400)`` is Transform Label).
    vr
        The one VR to use when the transfer syntax gives none (Implicit VR) and nothing
        else decides: the only VR when PS3.6 gives one; for "OB or OW", OW for Pixel
        Data, Overlay Data and Waveform Data (PS3.5 A.1) and the retired Variable Pixel
        Data and Curve Data, OB for the others (OB holds any length); for "US or SS",
        "US or OW" and "US or SS or OW", US (the reader switches to SS when Pixel
        Representation says so). ``"NONE"`` for items and delimitation items, which
        have no VR; ``"UN"`` for the few retired elements whose VR PS3.6 leaves blank.
    vrs
        All the VRs PS3.6 allows, in its order (``("US", "SS", "OW")``).
    vm
        Value multiplicity as written in PS3.6: ``"1"``, ``"1-n"``, ``"2-2n"``, ...
    keyword
        The PS3.6 keyword, ``''`` for the few retired elements that have none.
    name
        The PS3.6 name.
    retired
        Whether PS3.6 marks the element retired.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import lookup
    >>> lookup(0x7FE00010)
    DictEntry(tag=0x7FE00010, vr='OW', vrs=('OB', 'OW'), vm='1', keyword='PixelData', name='Pixel Data', retired=False)
    """

    tag: int
    vr: str
    vrs: tuple[str, ...]
    vm: str
    keyword: str
    name: str
    retired: bool

    def __repr__(self) -> str:
        """The dataclass repr, with the tag in hexadecimal."""
        return (f"DictEntry(tag=0x{self.tag:08X}, vr={self.vr!r}, vrs={self.vrs!r}, "
                f"vm={self.vm!r}, keyword={self.keyword!r}, name={self.name!r}, "
                f"retired={self.retired!r})")


# --- the registry, loaded once on first use ------------------------------------------

_DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data",
                          "dictionary.json")
_exact: dict[int, DictEntry] = {}           # exact tags, plus resolved repeaters (cache)
_by_keyword: dict[str, DictEntry] = {}
_rows: list[DictEntry] = []                 # the registry in tag order, for all_entries
# (mask, table keyed by tag & mask) for the repeating groups, most specific mask first
_masks: list[tuple[int, dict[int, DictEntry]]] = []
_info: dict[str, object] = {}
_loaded = False
_lock = threading.Lock()
_CACHE_LIMIT = 1 << 16                     # resolved repeaters / group lengths kept
_cached = 0


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        with open(_DATA_FILE, "rb") as f:
            data = json.loads(f.read())
        masks: dict[int, dict[int, DictEntry]] = {}
        exact: dict[int, DictEntry] = {}
        rows = data["entries"]
        for tag_s, vr, vrs, vm, keyword, name, retired, _src in rows:
            if "x" not in tag_s:
                exact[int(tag_s, 16)] = DictEntry(int(tag_s, 16), vr, tuple(vrs), vm,
                                                  keyword, name, bool(retired))
        for tag_s, vr, vrs, vm, keyword, name, retired, _src in rows:
            if "x" in tag_s:
                mask = int("".join("0" if c == "x" else "f" for c in tag_s), 16)
                value = int(tag_s.replace("x", "0"), 16)
                first = _first_tag(tag_s, exact)
                entry = DictEntry(first, vr, tuple(vrs), vm, keyword, name, bool(retired))
                masks.setdefault(mask, {})[value] = entry
            else:
                entry = exact[int(tag_s, 16)]
            _rows.append(entry)
            if keyword:
                _by_keyword[keyword] = entry
        for mask in sorted(masks, key=lambda m: -bin(m).count("1")):
            _masks.append((mask, masks[mask]))
        _info.update({k: v for k, v in data.items() if k != "entries"})
        _exact.update(exact)
        _loaded = True


def _first_tag(pattern: str, exact: Mapping[int, DictEntry]) -> int:
    """The first tag a repeating pattern such as '60xx3000' or '002804x0' stands for:
    the lowest one that is allowed and not taken by an exact element or a group length
    ((0028,0400) is Transform Label, not Rows For Nth Order Coefficients)."""
    xs = pattern.count("x")
    curve_or_overlay = pattern[:2] in ("50", "60") and pattern[2:4] == "xx"
    for n in range(16 ** xs):
        digits = iter(f"{n:0{xs}x}")
        tag = int("".join(next(digits) if c == "x" else c for c in pattern), 16)
        group = tag >> 16
        if group & 1 or tag & 0xFFFF == 0 or tag in exact:
            continue
        if curve_or_overlay and (group & 0xFF) > 0x1E:
            break
        return tag
    raise DictionaryError(f"repeating group {pattern} has no free tag")  # pragma: no cover


def _remember(tag: int, entry: DictEntry) -> DictEntry:
    global _cached
    if _cached < _CACHE_LIMIT:
        _exact[tag] = entry
        _cached += 1
    return entry


def _lookup_slow(tag: int) -> DictEntry | None:
    if not _loaded:
        _load()
        entry = _exact.get(tag)
        if entry is not None:
            return entry
    if not 0 <= tag <= 0xFFFFFFFF:
        return None
    group = tag >> 16
    elem = tag & 0xFFFF
    if elem == 0:
        return _remember(tag, DictEntry(tag, "UL", ("UL",), "1", "GroupLength",
                                        "Group Length", True))
    if group & 1:
        if 0x10 <= elem <= 0xFF and group not in (1, 3, 5, 7, 0xFFFF):
            return _remember(tag, DictEntry(tag, "LO", ("LO",), "1", "PrivateCreator",
                                            "Private Creator", False))
        return None
    for mask, table in _masks:
        base = table.get(tag & mask)
        if base is None:
            continue
        if (group & 0xFF) > 0x1E and (group >> 8) in (0x50, 0x60):
            continue  # curves and overlays use the even groups xx00-xx1E only
        # (odd groups, private, never reach here: 7Fxx matches even groups only)
        if base.tag == tag:
            return _remember(tag, base)
        return _remember(tag, DictEntry(tag, base.vr, base.vrs, base.vm, base.keyword,
                                        base.name, base.retired))
    return None


def lookup(tag: int) -> DictEntry | None:
    """The dictionary entry of a (public) tag, or ``None``.

    Parameters
    ----------
    tag
        The tag as an int ``0xGGGGEEEE``.

    Returns
    -------
    DictEntry or None
        Exact registry entries first, then repeating groups, group lengths and private
        creators (see the module documentation); ``None`` for unknown and private tags.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import lookup
    >>> lookup(0x00280010).keyword
    'Rows'
    >>> lookup(0x50003000).keyword, lookup(0x50003000).retired
    ('CurveData', True)
    >>> lookup(0x00190010).keyword, lookup(0x00190010).vr
    ('PrivateCreator', 'LO')
    >>> lookup(0x00081234) is None, lookup(0x00191001) is None
    (True, True)
    """
    entry = _exact.get(tag)
    if entry is not None:
        return entry
    return _lookup_slow(tag)


def lookup_keyword(keyword: str) -> DictEntry | None:
    """The dictionary entry with this PS3.6 keyword, or ``None``.

    Repeating-group entries carry the first free tag of the group (``OverlayData`` ->
    ``0x60003000``).

    Parameters
    ----------
    keyword
        A PS3.6 keyword (case-sensitive: ``"PatientName"``).

    Returns
    -------
    DictEntry or None

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import lookup_keyword
    >>> e = lookup_keyword("StudyInstanceUID")
    >>> f"{e.tag:08X}", e.vr
    ('0020000D', 'UI')
    >>> lookup_keyword("NoSuchKeyword") is None
    True
    """
    if not _loaded:
        _load()
    return _by_keyword.get(keyword)


def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a PS3.6 keyword, or ``None`` if there is no such keyword.

    Parameters
    ----------
    keyword
        A PS3.6 keyword (case-sensitive).

    Returns
    -------
    int or None
        The tag as ``0xGGGGEEEE`` (the first free tag for a repeating group).

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import tag_for_keyword
    >>> hex(tag_for_keyword("PatientID"))
    '0x100020'
    >>> tag_for_keyword("patientid") is None
    True
    """
    if not _loaded:
        _load()
    entry = _by_keyword.get(keyword)
    return None if entry is None else entry.tag


def keyword_for_tag(tag: int) -> str:
    """The keyword of a tag, ``''`` if unknown (or private).

    Parameters
    ----------
    tag
        The tag as an int ``0xGGGGEEEE``.

    Returns
    -------
    str
        The keyword; repeating groups, group lengths (``GroupLength``) and private
        creators (``PrivateCreator``) resolve as in :func:`lookup`.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import keyword_for_tag
    >>> keyword_for_tag(0x00080060), keyword_for_tag(0x60040010), keyword_for_tag(0x00091001)
    ('Modality', 'OverlayRows', '')
    """
    entry = _exact.get(tag)
    if entry is None:
        entry = _lookup_slow(tag)
        if entry is None:
            return ""
    return entry.keyword


def vr_for_tag(tag: int) -> str:
    """The VR to assume for a tag when the data gives none, ``'UN'`` if unknown.

    Parameters
    ----------
    tag
        The tag as an int ``0xGGGGEEEE``.

    Returns
    -------
    str
        :attr:`DictEntry.vr` of the tag's entry (``'NONE'`` for items and delimiters),
        ``'UN'`` for unknown and private tags.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import vr_for_tag
    >>> vr_for_tag(0x00100020), vr_for_tag(0x7FE00010), vr_for_tag(0x00280106)
    ('LO', 'OW', 'US')
    >>> vr_for_tag(0xFFFEE000), vr_for_tag(0x00111001)
    ('NONE', 'UN')
    """
    entry = _exact.get(tag)
    if entry is None:
        entry = _lookup_slow(tag)
        if entry is None:
            return "UN"
    return entry.vr


def all_entries() -> Iterator[DictEntry]:
    """Every entry of the registry, in tag order.

    A repeating group is sorted as if its ``x`` digits were 0, and given its first free
    tag.

    Returns
    -------
    Iterator of DictEntry
        Retired entries included; group lengths and private creators are not entries.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import all_entries
    >>> entries = list(all_entries())
    >>> len(entries) > 5000, entries[0].keyword
    (True, 'CommandGroupLength')
    """
    if not _loaded:
        _load()
    return iter(tuple(_rows))


def dictionary_info() -> dict[str, object]:
    """The header of the generated data file: format, sources, counts and notes.

    Returns
    -------
    dict
        A copy of the header of ``_data/dictionary.json`` (``format``, ``sources``,
        ``counts``, ``notes``, ...).

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import dictionary_info
    >>> sorted(dictionary_info()["sources"])
    ['P', 'S']
    """
    if not _loaded:
        _load()
    return dict(_info)


# --- private dictionaries ----------------------------------------------------------

#: Private dictionaries keyed by (creator without trailing padding, tag & 0xFFFF00FF).
#: pacsnb ships none: the default is empty, users register what they need.
_private: dict[tuple[str, int], DictEntry] = {}
_private_creators: dict[str, int] = {}
_PAD = " \x00"


def _check_vr(vr: str, where: str) -> tuple[str, ...]:
    from pacsnb.dicom.vr import ALL_VRS

    vrs = tuple(v.strip() for v in str(vr).split(" or "))
    bad = [v for v in vrs if v not in ALL_VRS]
    if bad:
        raise DictionaryError(f"{where}: unknown VR {vr!r}; use one of the PS3.5 VRs "
                              "('LO', 'US', 'OB or OW', ...)")
    return vrs


def register_private_dictionary(
        creator: str,
        entries: Mapping[int, tuple[str, str, str] | tuple[str, str, str, str]]) -> None:
    """Register (or extend) the private dictionary of a private creator.

    Parameters
    ----------
    creator
        The Private Creator value (PS3.5 7.8.1), compared without trailing spaces.
    entries
        ``{0xGGGGxxEE: (vr, vm, name[, keyword])}``: the odd private group ``GGGG`` and
        the low byte ``EE`` of the element; the block byte ``xx`` is ignored (write
        ``00``), since the block is allocated per dataset by the Private Creator
        element. ``vr`` may list alternatives (``"US or SS"``); the first is used when
        reading Implicit VR.

    Raises
    ------
    DictionaryError
        For an empty creator, a tag outside a private group, an element number below
        0x1000, or a malformed entry.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import (register_private_dictionary, lookup_private,
    ...                                      unregister_private_dictionary)
    >>> register_private_dictionary("ACME 1.0", {0x00090001: ("DS", "1", "Gain", "AcmeGain")})
    >>> e = lookup_private("ACME 1.0  ", 0x00091001)
    >>> e.vr, e.keyword, f"{e.tag:08X}"
    ('DS', 'AcmeGain', '00091001')
    >>> unregister_private_dictionary("ACME 1.0")
    """
    if not isinstance(creator, str) or not creator.rstrip(_PAD):
        raise DictionaryError(f"private creator must be a non-empty string, not {creator!r}")
    key_creator = creator.rstrip(_PAD)
    new: dict[tuple[str, int], DictEntry] = {}
    for tag, spec in entries.items():
        where = f"private dictionary {key_creator!r}, tag {tag!r}"
        if not isinstance(tag, int) or not 0 <= tag <= 0xFFFFFFFF:
            raise DictionaryError(f"{where}: the key must be an int 0xGGGGxxEE")
        group = tag >> 16
        if not group & 1 or group in (1, 3, 5, 7, 0xFFFF):
            raise DictionaryError(f"{where}: group {group:04X} is not a private group "
                                  "(odd, not 0001, 0003, 0005, 0007 or FFFF)")
        if not isinstance(spec, tuple) or len(spec) not in (3, 4):
            raise DictionaryError(f"{where}: expected (vr, vm, name) or "
                                  "(vr, vm, name, keyword)")
        vr_text, vm, name = spec[0], spec[1], spec[2]
        keyword = spec[3] if len(spec) == 4 else ""
        vrs = _check_vr(vr_text, where)
        norm = tag & 0xFFFF00FF
        new[(key_creator, norm)] = DictEntry(norm, vrs[0], vrs, str(vm), str(keyword),
                                             str(name), False)
    with _lock:
        _private.update(new)
        _private_creators[key_creator] = sum(1 for c, _ in _private if c == key_creator)


def unregister_private_dictionary(creator: str) -> None:
    """Forget every private entry registered for ``creator`` (no error if none).

    Parameters
    ----------
    creator
        The Private Creator value (trailing spaces are ignored).

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import unregister_private_dictionary
    >>> unregister_private_dictionary("NOT REGISTERED")
    """
    key_creator = creator.rstrip(_PAD)
    with _lock:
        for key in [k for k in _private if k[0] == key_creator]:
            del _private[key]
        _private_creators.pop(key_creator, None)


def private_creators() -> list[str]:
    """The creators with a registered private dictionary (empty by default).

    Returns
    -------
    list of str
        Sorted, without trailing spaces.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import private_creators
    >>> isinstance(private_creators(), list)
    True
    """
    return sorted(_private_creators)


def lookup_private(creator: str, tag: int) -> DictEntry | None:
    """The private dictionary entry of a private element, or ``None``.

    Parameters
    ----------
    creator
        The value of the Private Creator element that reserved the element's block
        (the caller locates it: for ``(gggg,xxee)`` it is ``(gggg,00xx)``); trailing
        spaces (and NUL padding) are ignored.
    tag
        The element's own tag ``0xGGGGxxEE``.

    Returns
    -------
    DictEntry or None
        The registered entry, with ``tag`` set to the element's own tag.

    Examples
    --------
    >>> from pacsnb.dicom.dictionary import lookup_private
    >>> lookup_private("UNKNOWN CREATOR", 0x00291010) is None
    True
    """
    if not _private:
        return None
    entry = _private.get((creator.rstrip(_PAD), tag & 0xFFFF00FF))
    if entry is None:
        return None
    return DictEntry(tag, entry.vr, entry.vrs, entry.vm, entry.keyword, entry.name,
                     entry.retired)
