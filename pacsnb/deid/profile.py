"""PS3.15 Annex E: the attribute table, the options, the named presets and action resolution.

The table is ``pacsnb/deid/_data/profile.json``, generated from PS3.15 Table E.1-1 by
``tools/gen_deid_table.py``. :func:`resolve_actions` turns it into one action per attribute
for a choice of options, the way the standard says:

- an option that has its own action for an attribute replaces the Basic Profile's action
  (when two chosen options both have one, the more protective wins: ``C`` before ``K``);
- a combined action (``X/Z``, ``X/D``, ``X/Z/D``, ``Z/D``, ``X/Z/U*``) depends on the Type of
  the attribute in the IOD. With ``compound="conformant"`` (the default) it resolves to the
  action that keeps *every* IOD valid whatever that Type is: ``X/Z`` -> ``Z``,
  ``X/D`` / ``X/Z/D`` / ``Z/D`` -> ``D``, ``X/Z/U*`` -> ``U`` (the sequence is kept and its
  UIDs remapped). With ``compound="strict"`` it resolves to the most removing action
  (``X``, and ``Z`` for ``Z/D``), which may leave a Type 1 or 2 attribute missing.

Examples
--------
>>> from pacsnb.deid.profile import resolve_actions, options_of
>>> acts = resolve_actions(options_of("basic"))
>>> acts[0x00100010], acts[0x00100020], acts[0x00080022], acts[0x0020000D]
('Z', 'D', 'Z', 'U')
>>> resolve_actions(options_of("retain_longitudinal"))[0x00080022]
'C'
>>> sorted(PRESETS)[:3]
['basic', 'clean_descriptions', 'clean_pixel']
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Iterable

from pacsnb.errors import DeidError

__all__ = ["OPTIONS", "PRESETS", "CODES", "TableRow", "table", "resolve_actions", "options_of",
           "option_title", "REPEATING", "safe_private_table"]

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data", "profile.json")
_SAFE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data", "safe_private.json")

#: pacsnb's option names -> the key of the option in the table (PS3.15 E.3).
OPTIONS: dict[str, str] = {
    "retain_safe_private": "rtnSafePriv",
    "retain_uids": "rtnUIDs",
    "retain_device_identity": "rtnDevId",
    "retain_institution_identity": "rtnInstId",
    "retain_patient_characteristics": "rtnPatChars",
    "retain_longitudinal_full_dates": "rtnLongFullDates",
    "retain_longitudinal_modified_dates": "rtnLongModifDates",
    "clean_descriptors": "cleanDesc",
    "clean_structured_content": "cleanStructCont",
    "clean_graphics": "cleanGraph",
    "clean_pixel_data": "cleanPixel",
    "clean_recognizable_visual_features": "cleanVisual",
}

#: Named presets: the options each one uses (the Basic Profile is always applied).
PRESETS: dict[str, tuple[str, ...]] = {
    # the Basic Application Level Confidentiality Profile alone
    "basic": (),
    # dates shifted per patient (consistent across the patient's files), not removed
    "retain_longitudinal": ("retain_longitudinal_modified_dates",),
    # age, sex, size, weight and the like kept
    "retain_patient_characteristics": ("retain_patient_characteristics",),
    # descriptions cleaned of identifiers instead of removed
    "clean_descriptions": ("clean_descriptors",),
    # burned-in text blanked from the pixels (regions by device or given boxes)
    "clean_pixel": ("clean_pixel_data",),
    # HIPAA Safe Harbor (45 CFR 164.514(b)(2)): every date and identifier removed, free text
    # and structured content cleaned, graphics cleaned, burned-in text blanked, faces flagged
    "hipaa_safe_harbor": ("clean_descriptors", "clean_structured_content", "clean_graphics",
                          "clean_pixel_data", "clean_recognizable_visual_features"),
    # GDPR pseudonymisation (Art. 4(5)): identities replaced by keyed pseudonyms that the key
    # table reverses; dates shifted per patient; patient characteristics and device identity
    # kept for research; descriptions and structured content cleaned
    "gdpr_pseudonymization": ("retain_longitudinal_modified_dates", "retain_patient_characteristics",
                              "retain_device_identity", "clean_descriptors", "clean_structured_content",
                              "clean_graphics"),
}

#: Repeating-group rows of the table: (mask, value) of the tags each stands for.
REPEATING = {"50xxxxxx": (0xFF000000, 0x50000000), "60xx3000": (0xFF00FFFF, 0x60003000),
             "60xx4000": (0xFF00FFFF, 0x60004000)}


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of PS3.15 Table E.1-1.

    Attributes
    ----------
    tag
        ``"00100010"``; ``"60xx3000"`` for a repeating group; ``"private"`` for private
        attributes.
    keyword, name
        From PS3.6 and PS3.15.
    std_comp_iod
        Whether the attribute is in a standard composite IOD.
    basic
        The Basic Profile's action (``"X"``, ``"Z/D"``, ...).
    options
        The table key of each option with its own action -> that action.

    Examples
    --------
    >>> row = [r for r in table() if r.keyword == "StudyDate"][0]
    >>> row.basic, row.options["rtnLongModifDates"]
    ('Z', 'C')
    """

    tag: str
    keyword: str
    name: str
    std_comp_iod: bool
    basic: str
    options: dict = field(default_factory=dict)


_TABLE: list[TableRow] | None = None
_CODES: dict[str, tuple[str, str]] = {}
_TITLES: dict[str, str] = {}


def _load() -> list[TableRow]:
    global _TABLE
    if _TABLE is None:
        with open(_DATA, "rb") as f:
            data = json.loads(f.read())
        _CODES.update({k: (v[0], v[1]) for k, v in data["codes"].items()})
        _TITLES.update(data["options"])
        _TABLE = [TableRow(t, kw, name, bool(std), basic, dict(opts))
                  for t, kw, name, std, basic, opts in data["attributes"]]
    return _TABLE


def table() -> list[TableRow]:
    """The rows of PS3.15 Table E.1-1, in tag order (private attributes last).

    Returns
    -------
    list of TableRow

    Examples
    --------
    >>> len(table()) > 600, table()[-1].tag
    (True, 'private')
    """
    return list(_load())


class _Codes(dict):
    def __missing__(self, key):
        _load()
        if key in _CODES:
            self.update(_CODES)
            return _CODES[key]
        raise KeyError(key)


#: PS3.16 CID 7050 code (value, meaning; scheme ``DCM``) of the profile (``"basic"``) and of
#: each option, by table key (``"rtnUIDs"``, ``"cleanPixel"``, ...).
CODES: dict[str, tuple[str, str]] = _Codes()


def option_title(option: str) -> str:
    """The PS3.16 code meaning of an option (or of ``"basic"``).

    Parameters
    ----------
    option
        A name of :data:`OPTIONS` or a table key.

    Returns
    -------
    str

    Examples
    --------
    >>> option_title("retain_uids")
    'Retain UIDs Option'
    """
    key = OPTIONS.get(option, option)
    return CODES[key][1]


def options_of(profile: str = "basic", options: Iterable[str] = ()) -> tuple[str, ...]:
    """The option names of a preset plus extra options, checked and in a stable order.

    Parameters
    ----------
    profile
        A key of :data:`PRESETS`.
    options
        More option names (keys of :data:`OPTIONS`; table keys such as ``"rtnUIDs"`` and the
        preset names are accepted too).

    Returns
    -------
    tuple of str

    Raises
    ------
    DeidError
        For an unknown preset or option, or both date options at once.

    Examples
    --------
    >>> options_of("clean_pixel", ["retain_uids"])
    ('retain_uids', 'clean_pixel_data')
    >>> options_of("basic", ["no_such"])
    Traceback (most recent call last):
    ...
    pacsnb.errors.DeidError: unknown de-identification option 'no_such': use one of ...
    """
    if profile not in PRESETS:
        raise DeidError(f"unknown profile {profile!r}: use one of {', '.join(sorted(PRESETS))}")
    chosen = set(PRESETS[profile])
    by_key = {v: k for k, v in OPTIONS.items()}
    for o in options:
        name = str(o).strip()
        low = name.lower().replace("-", "_").replace(" ", "_")
        if low in OPTIONS:
            chosen.add(low)
        elif name in by_key:
            chosen.add(by_key[name])
        elif low in PRESETS:
            chosen.update(PRESETS[low])
        else:
            raise DeidError(f"unknown de-identification option {name!r}: use one of "
                            f"{', '.join(sorted(OPTIONS))} (or a preset: {', '.join(sorted(PRESETS))})")
    if {"retain_longitudinal_full_dates", "retain_longitudinal_modified_dates"} <= chosen:
        raise DeidError("retain_longitudinal_full_dates and retain_longitudinal_modified_dates exclude each "
                        "other: choose one")
    return tuple(o for o in OPTIONS if o in chosen)


_CONFORMANT = {"X/Z": "Z", "X/D": "D", "X/Z/D": "D", "Z/D": "D", "X/Z/U*": "U"}
_STRICT = {"X/Z": "X", "X/D": "X", "X/Z/D": "X", "Z/D": "Z", "X/Z/U*": "X"}


def resolve_row(row: TableRow, keys: Iterable[str], compound: str = "conformant") -> str:
    """The single action (``X``, ``Z``, ``D``, ``K``, ``C`` or ``U``) of one table row.

    Parameters
    ----------
    row
        The row.
    keys
        Table keys of the chosen options (``"rtnUIDs"``, ...).
    compound
        ``"conformant"`` or ``"strict"`` (see the module documentation).

    Returns
    -------
    str

    Examples
    --------
    >>> row = [r for r in table() if r.keyword == "AcquisitionDate"][0]
    >>> resolve_row(row, []), resolve_row(row, [], "strict"), resolve_row(row, ["rtnLongFullDates"])
    ('Z', 'X', 'K')
    """
    acts = [row.options[k] for k in keys if k in row.options]
    act = ("C" if "C" in acts else acts[0]) if acts else row.basic
    if "/" in act:
        if compound == "conformant":
            act = _CONFORMANT[act]
        elif compound == "strict":
            act = _STRICT[act]
        else:
            raise DeidError(f"compound must be 'conformant' or 'strict', not {compound!r}")
    return act


def resolve_actions(options: Iterable[str] = (), compound: str = "conformant") -> dict:
    """One action per attribute of Table E.1-1 for a choice of options.

    Parameters
    ----------
    options
        Option names (keys of :data:`OPTIONS`), e.g. from :func:`options_of`.
    compound
        How combined actions resolve: ``"conformant"`` (default) or ``"strict"``.

    Returns
    -------
    dict
        ``{tag int: action}`` for the exact tags, plus ``{"60xx3000": action, ...}`` for the
        repeating groups of :data:`REPEATING` and ``{"private": action}``.

    Examples
    --------
    >>> acts = resolve_actions(["retain_uids"])
    >>> acts[0x0020000D], acts["private"], acts["60xx3000"]
    ('K', 'X', 'X')
    """
    keys = [OPTIONS[o] for o in options]
    out: dict = {}
    for row in _load():
        act = resolve_row(row, keys, compound)
        if "x" in row.tag or row.tag == "private":
            out[row.tag] = act
        else:
            out[int(row.tag, 16)] = act
    return out


_SAFE: dict[tuple[str, int, int], str] | None = None


def safe_private_table() -> dict[tuple[str, int, int], str]:
    """PS3.15 Table E.3.10-1 "Safe Private Attributes", the list Retain Safe Private keeps.

    Generated into ``pacsnb/deid/_data/safe_private.json`` by ``tools/gen_deid_table.py``.

    Returns
    -------
    dict
        ``{(private creator, group, element): VR}``: ``group`` the odd private group,
        ``element`` the element number within the creator's block (the ``ee`` of
        ``(gggg,xxee)``); ``VR`` as the table gives it (``"OW/OB"`` for either, ``""`` where
        the table leaves it blank).

    Examples
    --------
    >>> t = safe_private_table()
    >>> len(t), t[("GEMS_ACQU_01", 0x0019, 0x23)], t[("SIEMENS MR HEADER", 0x0019, 0x0C)]
    (479, 'DS', 'IS')
    """
    global _SAFE
    if _SAFE is None:
        with open(_SAFE_DATA, "rb") as f:
            data = json.loads(f.read())
        _SAFE = {(c, int(g, 16), int(e, 16)): vr for c, g, e, vr, _vm, _meaning in data["attributes"]}
    return dict(_SAFE)
