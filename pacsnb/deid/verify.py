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
from pathlib import Path
from typing import Any, Iterable

from pacsnb.dicom.dataset import Dataset
from pacsnb.dicom.tag import tag_str
from pacsnb.dicom.uid import uid_info
from pacsnb.errors import InvalidDicomError
from pacsnb.io import read
from pacsnb.io.writer import encode_file
from pacsnb.deid.anonymizer import DUMMY_VALUES, Anonymizer, _text_of
from pacsnb.deid.api import iter_paths

__all__ = ["verify", "identifiers_of"]

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


def verify(data: Any, profile: str = "basic", options: Iterable[str] = (), *, anonymizer: Anonymizer | None = None,
           originals: Any = None, key_table: Any = None, safe_private: Any = None, recursive: bool = True):
    """List what de-identified data still carries that the profile removes or changes.

    Parameters
    ----------
    data
        The de-identified data: a data set, a list of them, files, a folder, or a DataFrame
        with a ``path`` column.
    profile, options, safe_private
        The profile it was made with (as for :class:`~pacsnb.deid.Anonymizer`).
    anonymizer
        Or the anonymizer itself (its options and safe list are used).
    originals
        The data before de-identification (same kinds as ``data``): enables the byte search
        and the unchanged-value check.
    key_table
        A key table (DataFrame): its original Patient IDs, names and UIDs are searched for
        in the bytes too.
    recursive
        Look into sub-folders.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``path, tag, keyword, action, problem``; empty when nothing
        is left.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> verify(Dataset({"PatientName": "", "OtherPatientIDs": "X1"})).problem.tolist()
    ['present: the profile removes it (X)']
    """
    import pandas as pd

    an = anonymizer or Anonymizer(profile, options, safe_private=safe_private)
    rows: list[list[Any]] = []
    originals_by_uid: dict[str, Dataset] = {}
    needles: set[str] = set()
    if originals is not None:
        for _, ods, _raw in _datasets(originals):
            sop = str(ods.get(0x00080018, "") or "")
            if sop:
                originals_by_uid[an.map.uid(sop)] = ods
        needles |= identifiers_of(originals, an)
    if key_table is not None:
        for kind, orig in key_table[["kind", "original"]].itertuples(index=False):
            if kind in ("PatientID", "PatientName", "UID", "AE") and len(str(orig)) >= 4:
                needles.add(str(orig))
    pattern = re.compile(b"|".join(re.escape(n.encode("utf-8")) for n in sorted(needles, key=len, reverse=True))) \
        if needles else None
    for label, ds, raw in _datasets(data, recursive):
        top_names = set()
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
            if depth == 0 and tag == 0x00100010:
                top_names.add(_text_of(e))
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
        if pattern is not None:
            data_bytes = raw if raw is not None else encode_file(ds)
            seen: set[bytes] = set()
            for m in pattern.finditer(data_bytes):
                s = m.group(0)
                if s not in seen:
                    seen.add(s)
                    rows.append([label, "", "", "", f"original identifier {s.decode('utf-8', 'replace')!r} found in "
                                                    "the bytes"])
    return pd.DataFrame(rows, columns=_COLUMNS)

