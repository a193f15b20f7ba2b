"""Re-identification with the key table: pseudonyms and new UIDs back to the originals.

Only the holder of the key table can do it; dates shifted per patient are shifted back,
values the profile removed or replaced by dummies are gone for good.

Examples
--------
>>> from pacsnb.samples import make_ct_series
>>> from pacsnb.deid import anonymize
>>> ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
>>> anon, key = anonymize(ds, "retain_longitudinal", key="k", progress=False)
>>> back = reidentify(anon, key)
>>> back.PatientID == ds.PatientID, back.SOPInstanceUID == ds.SOPInstanceUID, back.StudyDate == ds.StudyDate
(True, True, True)
"""
from __future__ import annotations

from typing import Any

from pacsnb.dicom.dataset import Dataset
from pacsnb.deid.anonymizer import _ascii_element, _text_of
from pacsnb.deid.mapping import shift_date, shift_datetime
from pacsnb.errors import DeidError

__all__ = ["reidentify"]


def reidentify(ds: Dataset, key_table: Any) -> Dataset:
    """A copy of ``ds`` with its pseudonyms, UIDs and shifted dates mapped back to the originals.

    Parameters
    ----------
    ds
        A data set de-identified with the key that made ``key_table``.
    key_table
        The key table (a DataFrame as :func:`pacsnb.deid.anonymize` returns, or as
        :func:`pacsnb.deid.load_key_table` reads).

    Returns
    -------
    Dataset
        Patient ID and name, every UID, AE titles and (when the dates were shifted) dates
        restored; Patient Identity Removed is removed.

    Raises
    ------
    DeidError
        When ``key_table`` lacks the columns ``kind, original, pseudonym``.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> from pacsnb.deid import Anonymizer
    >>> a = Anonymizer(key="k")
    >>> out = a(Dataset({"PatientID": "P7", "StudyInstanceUID": "1.2.3.4"}))
    >>> back = reidentify(out, a.map.key_table())
    >>> back.PatientID, back.StudyInstanceUID
    ('P7', '1.2.3.4')
    """
    if not {"kind", "original", "pseudonym"} <= set(getattr(key_table, "columns", ())):
        raise DeidError("key_table must be a DataFrame with the columns kind, original, pseudonym")
    rev: dict[str, dict[str, str]] = {}
    offsets: dict[str, int] = {}
    for kind, orig, new in key_table[["kind", "original", "pseudonym"]].itertuples(index=False):
        if kind == "DateOffset":
            offsets[str(orig)] = int(new)
        else:
            rev.setdefault(str(kind), {})[str(new)] = str(orig)
    out = ds.copy()
    pid = str(out.get(0x00100020, "") or "")
    orig_pid = rev.get("PatientID", {}).get(pid)
    names = {v: k for k, v in rev.get("PatientName", {}).items()}
    modified = str(out.get(0x00280303, "") or "") == "MODIFIED"
    days = offsets.get(orig_pid) if orig_pid is not None else None
    uids = rev.get("UID", {})
    aes = rev.get("AE", {})

    def fix(d: Dataset, depth: int) -> None:
        for tag in list(d._dict):
            e = d._get_elem(tag)
            vr = e.VR
            if vr == "SQ":
                for item in e.value:
                    fix(item, depth + 1)
            elif vr == "UI":
                text = _text_of(e)
                new = "\\".join(uids.get(u, u) for u in text.split("\\"))
                if new != text:
                    d._dict[tag] = _ascii_element(tag, "UI", new)
            elif vr == "AE":
                text = _text_of(e)
                new = "\\".join(aes.get(a, a) for a in text.split("\\"))
                if new != text:
                    d._dict[tag] = _ascii_element(tag, "AE", new)
            elif vr in ("DA", "DT") and modified and days is not None:
                text = _text_of(e)
                parts = [(shift_date if vr == "DA" else shift_datetime)(v, -days) for v in text.split("\\")]
                if text and None not in parts:
                    d._dict[tag] = _ascii_element(tag, vr, "\\".join(parts))  # type: ignore[arg-type]

    fix(out, 0)
    if orig_pid is not None:
        out.PatientID = orig_pid
        original_name = names.get(orig_pid) or next((k for k, v in rev.get("PatientName", {}).items()
                                                     if v == orig_pid), None)
        name_by_pseudonym = rev.get("PatientName", {}).get(str(out.get(0x00100010, "") or ""))
        if name_by_pseudonym is not None:
            out.PatientName = name_by_pseudonym
        elif original_name is not None:
            out.PatientName = original_name
    if 0x00120062 in out:
        del out[0x00120062]
    if out.file_meta is not None and 0x00020003 in out.file_meta and 0x00080018 in out:
        out.file_meta.MediaStorageSOPInstanceUID = str(out.SOPInstanceUID)
    return out
