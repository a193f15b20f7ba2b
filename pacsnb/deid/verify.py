"""``verify()``: prove that de-identified data carries nothing the profile removes or changes.

Two checks, for every data set or file given:

1. **Attributes**: walking every element, nested ones included, it lists each one that the
   profile removes (``X``) but is present, that it empties (``Z``) but has a value, whose UID
   it replaces (``U``) but is not a replacement (not under ``2.25.``, not a registry UID),
   and private elements that are not on the safe list. With ``originals``, it also lists
   elements the profile replaces (``D``, ``C``, ``U``) whose value is unchanged.
2. **Bytes**: with ``originals`` (data sets or files before de-identification) or a
   ``key_table``, every identifying string of the originals (the values of all attributes
   the profile does not keep, and the parts of person names) is searched for in the
   written bytes of every output (the file itself, or the data set encoded as a file).
   Without either, this check is skipped: :func:`verify` warns and says so in its result.

Each data set is checked against the profile it records it was made with (its
De-identification Method Code Sequence, De-identification Method and Longitudinal Temporal
Information Modified; see :func:`recorded_profile`), unless ``profile``, ``options`` or an
``anonymizer`` is given.

Examples
--------
>>> from pacsnb.samples import make_ct_series
>>> from pacsnb.deid import anonymize
>>> series = make_ct_series(n_slices=2, rows=8, columns=8)
>>> out, key = anonymize(series, key="k", progress=False)
>>> len(verify(out, originals=series))
0
>>> leaky = out[0].copy(); leaky.InstitutionAddress = "1 Hospital Road"; leaky.PatientComments = series[0].PatientName
>>> verify([leaky], originals=series)[["keyword", "problem"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['InstitutionAddress', 'present: the profile removes it (X)'],
 ['PatientComments', 'present: the profile removes it (X)'],
 ['', "original identifier 'KEVZOTWEP^DRUFEN' found in the bytes"]]
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable

from pacsnb.dicom.dataset import Dataset
from pacsnb.dicom.tag import tag_str
from pacsnb.dicom.uid import uid_info
from pacsnb.errors import InvalidDicomError
from pacsnb.io import read
from pacsnb.io.writer import encode_file
from pacsnb.deid.anonymizer import DUMMY_VALUES, PRESET_METHOD_PREFIX, Anonymizer, _text_of
from pacsnb.deid.api import iter_paths
from pacsnb.deid.profile import CODES, OPTIONS, PRESETS

__all__ = ["verify", "identifiers_of", "recorded_profile"]

_COLUMNS = ["path", "tag", "keyword", "action", "problem"]
#: VRs whose value the clean action (C) always changes (dates are shifted, AE titles and
#: UIDs replaced); cleaned free text and times may legitimately stay as they were.
_CHANGED_BY_C = frozenset({"DA", "DT", "AE", "UI"})
_RECORDING = {0x00120062, 0x00120063, 0x00120064, 0x00280303}
_DUMMIES = {v.decode("latin-1").strip("\x00 ") for v in DUMMY_VALUES.values()}
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT", "OB", "OW", "OD", "OF", "OL", "OV",
                          "UN", "IS", "DS", "SQ"})


def _datasets(data: Any, recursive: bool = True) -> list[tuple[str, Dataset, bytes | None]]:
    """``(label, data set, file bytes or None)`` for what verify() or identifiers_of() is given."""
    if isinstance(data, Dataset):
        return [(str(data.filename or "<dataset>"), data, None)]
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, Dataset) for d in data):
        return [(str(d.filename or f"<dataset {i}>"), d, None) for i, d in enumerate(data)]
    out = []
    folder = isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
    for p in iter_paths(data, recursive):
        try:
            raw = p.read_bytes()
            out.append((str(p), read(raw), raw))
        except InvalidDicomError:
            if not folder:
                raise
    return out


def recorded_profile(ds: Dataset) -> tuple[str, tuple[str, ...]]:
    """The preset and options a de-identified data set records it was made with.

    Read from the De-identification Method Code Sequence (0012,0064): each PS3.16 CID 7050
    code (scheme ``DCM``) of an option gives that option; from the De-identification Method
    (0012,0063), when it names a preset of :data:`~pacsnb.deid.PRESETS` (as pacsnb writes
    it: ``"pacsnb preset: hipaa_safe_harbor"``); and from Longitudinal Temporal Information
    Modified (0028,0303): ``UNMODIFIED`` means full dates were kept, ``MODIFIED`` that they
    were shifted.

    Parameters
    ----------
    ds
        A de-identified data set.

    Returns
    -------
    (profile, options)
        The preset (``"basic"`` when none is named) and the option names (keys of
        :data:`~pacsnb.deid.OPTIONS`) recorded on top of it, in the order of ``OPTIONS``.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"LongitudinalTemporalInformationModified": "MODIFIED"})
    >>> ds.DeidentificationMethodCodeSequence = [
    ...     Dataset({"CodeValue": "113100", "CodingSchemeDesignator": "DCM"}),
    ...     Dataset({"CodeValue": "113110", "CodingSchemeDesignator": "DCM"})]
    >>> recorded_profile(ds)
    ('basic', ('retain_uids', 'retain_longitudinal_modified_dates'))
    >>> ds.DeidentificationMethod = ["pacsnb deid: PS3.15 Annex E", "pacsnb preset: clean_pixel"]
    >>> recorded_profile(ds)[0]
    'clean_pixel'
    """
    by_code = {CODES[key][0]: name for name, key in OPTIONS.items()}
    chosen: set[str] = set()
    seq = ds.get(0x00120064)
    for item in (seq if isinstance(seq, (list, tuple)) else []):
        if not isinstance(item, Dataset):
            continue
        scheme = str(item.get(0x00080102, "") or "").strip()
        value = str(item.get(0x00080100, "") or "").strip()
        if scheme in ("DCM", "") and value in by_code:
            chosen.add(by_code[value])
    ltim = str(ds.get(0x00280303, "") or "").strip().upper()
    if ltim == "UNMODIFIED" and "retain_longitudinal_modified_dates" not in chosen:
        chosen.add("retain_longitudinal_full_dates")
    elif ltim == "MODIFIED" and "retain_longitudinal_full_dates" not in chosen:
        chosen.add("retain_longitudinal_modified_dates")
    profile = "basic"
    method = ds.get(0x00120063)
    for v in (method if isinstance(method, (list, tuple)) else [method] if method else []):
        v = str(v).strip()
        if v.startswith(PRESET_METHOD_PREFIX) and v[len(PRESET_METHOD_PREFIX):].strip() in PRESETS:
            profile = v[len(PRESET_METHOD_PREFIX):].strip()
            break
    dates = {"retain_longitudinal_full_dates", "retain_longitudinal_modified_dates"}
    if dates <= chosen:
        chosen -= dates  # contradictory records: check as if dates were removed (the strictest)
    if dates & chosen and dates & set(PRESETS[profile]) and not dates & set(PRESETS[profile]) >= dates & chosen:
        profile = "basic"  # the preset's date option contradicts the recorded one: the codes win
    return profile, tuple(o for o in OPTIONS if o in chosen and o not in PRESETS[profile])


def _walk(ds: Dataset, depth: int = 0):
    for tag in sorted(ds._dict):
        e = ds._get_elem(tag)
        yield ds, e, depth
        if e.VR == "SQ":
            for item in e.value:
                yield from _walk(item, depth + 1)


def identifiers_of(originals: Any, anonymizer: Anonymizer | None = None, *, min_length: int = 4) -> set[str]:
    """The identifying strings of original data: values the profile does not keep.

    Parameters
    ----------
    originals
        Data sets or files before de-identification (as :func:`verify` takes).
    anonymizer
        Gives the profile (default: the Basic Profile).
    min_length
        Shorter strings are left out (``"M"``, ``"1"`` match everywhere).

    Returns
    -------
    set of str

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> sorted(identifiers_of(Dataset({"PatientName": "DOE^JANE", "Rows": 2, "PatientID": "12"})))
    ['DOE^JANE', 'JANE']
    """
    an = anonymizer or Anonymizer()
    found: set[str] = set()
    for _, ds, _raw in _datasets(originals):
        for holder, e, _ in _walk(ds):
            tag = int(e.tag)
            if e.VR in _NUMERIC_VRS:
                continue
            private = bool((tag >> 16) & 1)
            if not private:
                act = an.action_for(tag)
                if act == "K" or (act == "C" and e.VR not in _CHANGED_BY_C):
                    continue
            if private and 0x10 <= (tag & 0xFFFF) <= 0xFF:
                continue  # a creator name identifies a vendor, not a patient
            text = _text_of(e)
            for v in text.split("\\"):
                v = v.strip()
                if len(v) >= min_length and v not in _DUMMIES and not (v.startswith("1.2.840.10008.") and uid_info(v)):
                    found.add(v)
                if e.VR == "PN":
                    for part in re.split(r"[\^=]+", v):
                        part = part.strip()
                        if len(part) >= min_length:
                            found.add(part)
    return found


def verify(data: Any, profile: str | None = None, options: Iterable[str] | None = None, *,
           anonymizer: Anonymizer | None = None, originals: Any = None, key_table: Any = None,
           safe_private: Any = None, recursive: bool = True):
    """List what de-identified data still carries that the profile removes or changes.

    Parameters
    ----------
    data
        The de-identified data: a data set, a list of them, files, a folder, or a DataFrame
        with a ``path`` column.
    profile, options
        The preset and options it was made with (as for :class:`~pacsnb.deid.Anonymizer`).
        When neither is given (nor ``anonymizer``), each data set is checked against what it
        records (see :func:`recorded_profile`): the CID 7050 codes of its De-identification
        Method Code Sequence, the preset named in its De-identification Method and its
        Longitudinal Temporal Information Modified; a data set that records nothing is
        checked against the Basic Profile. Given one of them, every data set is checked
        against it (``profile`` defaults to ``"basic"``, ``options`` to none).
    safe_private
        More safe private attributes (as for :class:`~pacsnb.deid.Anonymizer`).
    anonymizer
        Or the anonymizer itself (its options and safe list are used, and its key finds
        the original of each output for the unchanged-value check).
    originals
        The data before de-identification (same kinds as ``data``): enables the byte search
        and the unchanged-value check.
    key_table
        A key table (DataFrame): its original Patient IDs, names and UIDs are searched for
        in the bytes too, and its UID rows find the original of each output.
    recursive
        Look into sub-folders.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``path, tag, keyword, action, problem``; empty when nothing
        is left. ``.attrs["byte_search"]`` says whether original identifiers were searched
        for in the bytes (``"skipped: ..."`` when neither ``originals`` nor ``key_table``
        was given); ``.attrs["profiles"]`` maps each data set checked to the
        ``(profile, options)`` it was checked against.

    Warns
    -----
    UserWarning
        Once per call, when neither ``originals`` nor ``key_table`` is given: without them
        only the attributes are checked, and an original name or ID copied into a kept
        attribute would not be found.

    Examples
    --------
    >>> import warnings
    >>> from pacsnb.dicom import Dataset
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     found = verify(Dataset({"PatientName": "", "OtherPatientIDs": "X1"}))
    >>> found.problem.tolist(), found.attrs["byte_search"][:8], len(caught)
    (['present: the profile removes it (X)'], 'skipped:', 1)
    """
    import pandas as pd

    fixed = anonymizer
    if fixed is None and (profile is not None or options is not None):
        fixed = Anonymizer(profile or "basic", options or (), safe_private=safe_private)
    by_profile: dict[tuple[str, tuple[str, ...]], Anonymizer] = {}

    def anonymizer_for(ds: Dataset) -> Anonymizer:
        if fixed is not None:
            return fixed
        rec = recorded_profile(ds)
        an = by_profile.get(rec)
        if an is None:
            an = by_profile[rec] = Anonymizer(rec[0], rec[1], safe_private=safe_private)
        return an

    rows: list[list[Any]] = []
    originals_by_uid: dict[str, Dataset] = {}
    original_sets: list[Dataset] = []
    fixed_needles: set[str] = set()
    needles_by_profile: dict[int, re.Pattern | None] = {}
    if originals is not None:
        new_uid: dict[str, str] = {}
        if key_table is not None:
            uids = key_table[key_table["kind"] == "UID"]
            new_uid = dict(zip(uids["original"].astype(str), uids["pseudonym"].astype(str)))
        for _, ods, _raw in _datasets(originals):
            original_sets.append(ods)
            sop = str(ods.get(0x00080018, "") or "")
            if sop:
                originals_by_uid[sop] = ods  # Retain UIDs: the output has the same SOP Instance UID
                if sop in new_uid:
                    originals_by_uid[new_uid[sop]] = ods
                if anonymizer is not None:
                    originals_by_uid[anonymizer.map.uid(sop)] = ods
    if key_table is not None:
        for kind, orig in key_table[["kind", "original"]].itertuples(index=False):
            if kind in ("PatientID", "PatientName", "UID", "AE") and len(str(orig)) >= 4:
                fixed_needles.add(str(orig))
    searched = originals is not None or key_table is not None
    if not searched:
        warnings.warn("verify() without originals= or key_table= only checks the attributes: the search for "
                      "original identifiers (names, IDs, UIDs) in the output bytes is skipped; pass the files "
                      "before de-identification as originals= or the key table as key_table=", UserWarning,
                      stacklevel=2)

    def pattern_for(an: Anonymizer) -> re.Pattern | None:
        """The byte pattern of the identifying strings (those this profile does not keep)."""
        if id(an) not in needles_by_profile:
            needles = fixed_needles | (identifiers_of(original_sets, an) if original_sets else set())
            needles_by_profile[id(an)] = re.compile(
                b"|".join(re.escape(n.encode("utf-8")) for n in sorted(needles, key=len, reverse=True))) \
                if needles else None
        return needles_by_profile[id(an)]

    profiles: dict[str, tuple[str, tuple[str, ...]]] = {}
    for label, ds, raw in _datasets(data, recursive):
        an = anonymizer_for(ds)
        profiles[label] = (an.profile, tuple(o for o in an.options if o not in PRESETS.get(an.profile, ())))
        for holder, e, depth in _walk(ds):
            tag = int(e.tag)
            if tag in _RECORDING and depth == 0:
                continue
            if (tag >> 16) & 1:
                if not an._keep_private(holder, tag):
                    rows.append([label, tag_str(tag), "", "X", "private element present (not on the safe list)"])
                continue
            act = an.action_for(tag)
            kw = e.keyword
            if act == "X":
                rows.append([label, tag_str(tag), kw, "X", "present: the profile removes it (X)"])
            elif act == "Z" and e.VR != "SQ" and not e.is_empty and not (depth == 0 and tag == 0x00100010):
                rows.append([label, tag_str(tag), kw, "Z", "has a value: the profile empties it (Z)"])
            elif act == "U" and e.VR == "UI" and not e.is_empty:
                for u in _text_of(e).split("\\"):
                    if u and not u.startswith("2.25.") and uid_info(u) is None:
                        rows.append([label, tag_str(tag), kw, "U", f"UID {u} was not replaced (U)"])
        orig = originals_by_uid.get(str(ds.get(0x00080018, "") or ""))
        if orig is not None:
            for tag in sorted(orig._dict):
                if (tag >> 16) & 1 or tag not in ds._dict or tag in _RECORDING:
                    continue
                act = an.action_for(tag)
                if act not in ("D", "C", "U"):
                    continue
                if act == "C" and orig._get_elem(tag).VR not in _CHANGED_BY_C:
                    continue  # cleaned text without identifiers, and times, may stay as they were
                a, b = ds._get_elem(tag), orig._get_elem(tag)
                if a.VR != "SQ" and not b.is_empty and _text_of(a) == _text_of(b):
                    rows.append([label, tag_str(tag), a.keyword, act, f"value unchanged: the profile replaces it ({act})"])
        pattern = pattern_for(an) if searched else None
        if pattern is not None:
            data_bytes = raw if raw is not None else encode_file(ds)
            seen: set[bytes] = set()
            for m in pattern.finditer(data_bytes):
                s = m.group(0)
                if s not in seen:
                    seen.add(s)
                    rows.append([label, "", "", "", f"original identifier {s.decode('utf-8', 'replace')!r} found in "
                                                    "the bytes"])
    report = pd.DataFrame(rows, columns=_COLUMNS)
    report.attrs["byte_search"] = (
        "done: original identifiers searched for in the bytes of every output" if searched else
        "skipped: neither originals= nor key_table= was given, so original identifiers were not searched for in "
        "the bytes")
    report.attrs["profiles"] = profiles
    return report
