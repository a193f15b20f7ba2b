"""The :class:`Anonymizer`: PS3.15 Annex E applied to one data set at a time.

Built once from a profile, options and a key, it turns each data set into its
de-identified form: every attribute of Table E.1-1 gets the action the table gives for the
chosen options (at the top level and inside every sequence), private attributes are removed
(except, with Retain Safe Private, those of PS3.15 Table E.3.10-1 and those the user lists as
safe), unknown and retired attributes are removed,
UIDs are remapped with a keyed map shared by every file, and the attributes that record what
was done are set. The decision for each tag is computed once and cached, and elements that
are kept are never decoded: a file read lazily is written back mostly as it was read.

It is a ``callable(Dataset) -> Dataset``, so an archive can use it as an ingest or
retrieval transform.

Examples
--------
>>> from pacsnb.samples import make_ct_series
>>> anon = Anonymizer(profile="basic", key="cohort secret")
>>> ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
>>> out = anon(ds)
>>> out.PatientIdentityRemoved, out.PatientName == ds.PatientName, out.StudyInstanceUID.startswith("2.25.")
('YES', False, True)
>>> out.DeidentificationMethodCodeSequence[0].CodeValue
'113100'
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Any, Iterable, Mapping

from pacsnb.dicom import dictionary as _dict
from pacsnb.dicom.dataset import DataElement, Dataset, lazy_element
from pacsnb.dicom.tag import as_tag
from pacsnb.errors import DeidError, PacsnbError
from pacsnb.deid.mapping import KeyMap, shift_date, shift_datetime
from pacsnb.deid.profile import CODES, OPTIONS, options_of, resolve_actions, safe_private_table

__all__ = ["Anonymizer", "DUMMY_VALUES", "IDENTIFYING_KEYWORDS", "PRESET_METHOD_PREFIX"]

log = logging.getLogger(__name__)

_PATIENT_ID = 0x00100020
_PATIENT_NAME = 0x00100010
_PIXEL_DATA = 0x7FE00010
_GRAPHIC_ANNOTATION = 0x00700001
_TEXT_OBJECTS = 0x00700008
_GRAPHIC_OBJECTS = 0x00700009

#: The raw bytes of the dummy value (action D) of each VR; UIDs are remapped instead.
DUMMY_VALUES: dict[str, bytes] = {
    "AE": b"ANONYMIZED", "AS": b"000Y", "CS": b"ANONYMIZED", "DA": b"19000101", "DS": b"0 ",
    "DT": b"19000101000000", "IS": b"0 ", "LO": b"ANONYMIZED", "LT": b"ANONYMIZED", "PN": b"ANONYMIZED",
    "SH": b"ANONYMIZED", "ST": b"ANONYMIZED", "TM": b"000000", "UC": b"ANONYMIZED", "UT": b"ANONYMIZED",
    "UR": b"ANONYMIZED", "AT": b"\x00\x00\x00\x00", "FL": b"\x00" * 4, "FD": b"\x00" * 8, "SL": b"\x00" * 4,
    "SS": b"\x00" * 2, "UL": b"\x00" * 4, "US": b"\x00" * 2, "SV": b"\x00" * 8, "UV": b"\x00" * 8,
    "OB": b"\x00" * 8, "OD": b"\x00" * 8, "OF": b"\x00" * 8, "OL": b"\x00" * 8, "OV": b"\x00" * 8,
    "OW": b"\x00" * 8, "UN": b"\x00" * 8,
}

#: How the De-identification Method (0012,0063) names the preset that made a file
#: (``"pacsnb preset: hipaa_safe_harbor"``); :func:`~pacsnb.deid.verify` reads it back.
PRESET_METHOD_PREFIX = "pacsnb preset: "

#: Attributes whose values are searched for (and removed) in free text by the clean action.
IDENTIFYING_KEYWORDS = (
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthName",
    "PatientMotherBirthName", "PatientAddress", "PatientBirthDate", "PatientTelephoneNumbers",
    "AccessionNumber", "StudyID", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "ReferringPhysicianName", "PerformingPhysicianName", "NameOfPhysiciansReadingStudy", "OperatorsName",
    "PhysiciansOfRecord", "RequestingPhysician", "StationName", "DeviceSerialNumber",
    "MedicalRecordLocator", "RequestAttributesSequence",
)

_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN", "CS"})
_FREE_TEXT = frozenset({"LT", "ST", "UT", "UC", "PN"})
_DATE_VRS = frozenset({"DA", "DT", "TM"})
_SQ_CODES = {"K": "SQ0", "U": "SQ0", "C": "SQ1", "D": "SQ2"}
_DATE_LIKE = re.compile(r"\b(?:19|20)\d{2}[-/.]?(?:0[1-9]|1[0-2])[-/.]?(?:0[1-9]|[12]\d|3[01])\b")
_LONG_NUMBER = re.compile(r"\b\d{5,}\b")


def _text_of(e: DataElement) -> str:
    raw = e.raw
    if raw is not None and e.VR not in ("PN", "LO", "SH", "LT", "ST", "UT", "UC"):
        return bytes(raw).decode("latin-1").rstrip("\x00 ")
    v = e.value
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "\\".join(str(x) for x in v)
    return str(v).rstrip("\x00 ")


_FIXED_SIZE = {"FL": 4, "FD": 8, "SS": 2, "US": 2, "SL": 4, "UL": 4, "AT": 4, "SV": 8, "UV": 8, "OF": 4, "OD": 8,
               "OL": 4, "OV": 8, "OW": 2}
_VR_CHARS = {"DS": re.compile(rb"[0-9+\-.eE \\]*"), "IS": re.compile(rb"[0-9+\- \\]*"),
             "CS": re.compile(rb"[A-Z0-9 _\\]*"), "UI": re.compile(rb"[0-9.\\\x00]*"),
             "AS": re.compile(rb"[0-9DWMY ]*"), "DA": re.compile(rb"[0-9 \-\\]*"),
             "TM": re.compile(rb"[0-9.: \-\\]*"), "DT": re.compile(rb"[0-9.+\- \\]*")}
_PRINTABLE = re.compile(rb"[\x20-\x7e\t\r\n\f\x1b\x80-\xff]*")


def _vr_fits(e: DataElement, table_vr: str) -> bool:
    """Whether an element matches the VR that Table E.3.10-1 gives for it. An element read as
    UN (implicit VR data, no private dictionary) matches when its bytes fit that VR."""
    if not table_vr:
        return True  # the table leaves the VR blank
    allowed = table_vr.split("/")
    if e.VR in allowed:
        return True
    if e.VR != "UN" or "SQ" in allowed:
        return False
    raw = e.raw
    if raw is None:
        return False
    data = bytes(raw)
    for vr in allowed:
        if vr in ("OB", "UN"):
            return True
        size = _FIXED_SIZE.get(vr)
        if size is not None:
            if len(data) % size == 0:
                return True
            continue
        pattern = _VR_CHARS.get(vr, _PRINTABLE)
        if pattern.fullmatch(data.rstrip(b"\x00 ") if vr != "UI" else data):
            return True
    return False


def _ascii_element(tag: int, vr: str, text: str) -> DataElement:
    """A new element from text: raw ASCII bytes (fast, written as they are) when possible."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        return DataElement(tag, vr, text.split("\\") if "\\" in text and vr != "PN" else text)
    if len(data) & 1:
        data += b"\x00" if vr == "UI" else b" "
    return lazy_element(tag, vr, data, True, None)


class Anonymizer:
    """PS3.15 de-identification of data sets, built once and applied per data set.

    Parameters
    ----------
    profile
        A preset of :data:`pacsnb.deid.PRESETS` (``"basic"``, ``"retain_longitudinal"``,
        ``"hipaa_safe_harbor"``, ...).
    options
        More options (keys of :data:`pacsnb.deid.OPTIONS`).
    key
        The secret that makes replacements consistent across files, runs and machines
        (str or bytes). ``None``: a random key (consistent within this object only).
    keep
        Keywords or tags kept as they are (they override the table).
    replace
        ``{keyword or tag: value}`` set on every data set after de-identification.
    patients
        A user table of new Patient IDs (and names, date offsets): a DataFrame, CSV path or
        dict; see :class:`~pacsnb.deid.mapping.KeyMap`.
    date_offset
        A fixed date shift in days for Retain Longitudinal with Modified Dates.
    safe_private
        For Retain Safe Private, more safe private attributes than PS3.15 Table E.3.10-1
        (which is always used with the option; see
        :func:`~pacsnb.deid.profile.safe_private_table`): ``{private creator: "*" or element
        bytes}``, e.g. ``{"ACME 1.0": [0x10, 0x11]}`` for ``(gggg,xx10)`` and ``(gggg,xx11)``
        in any group and any block the creator reserves. With the option, a private element
        is kept when its creator, group, element byte and VR match a row of the table (an
        element read as ``UN``, from implicit VR data, matches when its bytes fit the table's
        VR; a row whose VR the table leaves blank matches any VR), or its creator and
        element byte are in ``safe_private``; everything else
        private is removed, and a Private Creator is kept only while its block still holds
        a kept element. The items of a kept private sequence are de-identified like any
        other sequence.
    regions
        For Clean Pixel Data: more rules of regions to blank (a DataFrame, a CSV or JSON
        file, or a list of dicts; see :mod:`pacsnb.deid.pixels`), used with the shipped
        rules (``pacsnb/deid/_data/pixel_regions.json``).
    boxes
        For Clean Pixel Data: boxes ``(x0, y0, x1, y1)`` blanked in every image.
    compound
        ``"conformant"`` (default) or ``"strict"`` resolution of the combined actions (see
        :mod:`pacsnb.deid.profile`).
    keymap
        A :class:`~pacsnb.deid.mapping.KeyMap` to share between anonymizers (then ``key``,
        ``patients`` and ``date_offset`` are not used).

    Attributes
    ----------
    options : tuple of str
        The options in force.
    map : KeyMap
        The replacement maps (its :meth:`~pacsnb.deid.mapping.KeyMap.key_table` is the key table).
    report : list of dict
        Things a person should look at, one dict per image and finding: ``flag`` (what:
        ``"recognizable visual features"``, ``"burned-in annotation"``, ``"graphics"``,
        ``"failed"``), ``reason`` (why), ``SOPInstanceUID`` (the original UID, to find the
        image), ``new_SOPInstanceUID`` (its UID after de-identification), ``Modality`` and
        ``path`` (the file read, if any). Each finding is logged as a WARNING when the
        anonymizer is called directly; :func:`~pacsnb.deid.anonymize` logs one summary per
        call instead (the detail stays here).

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> a = Anonymizer("retain_longitudinal", key="k", date_offset=-10)
    >>> ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    >>> out = a(ds)
    >>> from pacsnb.deid.mapping import shift_date
    >>> out.StudyDate == shift_date(ds.StudyDate, -10), out.LongitudinalTemporalInformationModified
    (True, 'MODIFIED')
    """

    def __init__(self, profile: str = "basic", options: Iterable[str] = (), key: Any = None, *,
                 keep: Iterable[Any] = (), replace: Mapping[Any, Any] | None = None, patients: Any = None,
                 date_offset: int | None = None, safe_private: Mapping[str, Any] | None = None,
                 regions: Any = None, boxes: Iterable[Any] | None = None, compound: str = "conformant",
                 keymap: KeyMap | None = None) -> None:
        self.profile = profile
        self.options = options_of(profile, options)
        self._keys = {OPTIONS[o] for o in self.options}
        acts = resolve_actions(self.options, compound)
        self.compound = compound
        self._repeat = {k: acts.pop(k) for k in [k for k in acts if isinstance(k, str)]}
        self._table: dict[int, str] = acts
        try:
            self._keep = {as_tag(k) for k in keep}
            self._replace = {as_tag(k): v for k, v in (replace or {}).items()}
        except PacsnbError as exc:
            raise DeidError(f"keep/replace: {exc}") from exc
        self.map = keymap if keymap is not None else KeyMap(key, patients, date_offset)
        if self.map.random_key:
            log.info("no key given: UIDs and pseudonyms are consistent within this Anonymizer only")
        self._safe: dict[str, Any] = {}
        for creator, elems in (safe_private or {}).items():
            self._safe[str(creator).strip()] = "*" if elems == "*" else {int(x) & 0xFF for x in elems}
        self._safe_std: dict[tuple[str, int, int], str] = {}
        self._safe_groups: set[tuple[str, int]] = set()
        if "rtnSafePriv" in self._keys:
            self._safe_std = safe_private_table()
            self._safe_groups = {(c, g) for c, g, _e in self._safe_std}
        self._clean_graphics = "cleanGraph" in self._keys
        self._modified_dates = "rtnLongModifDates" in self._keys
        self._full_dates = "rtnLongFullDates" in self._keys
        self._clean_pixel = "cleanPixel" in self._keys
        self._regions: list[dict] = []
        try:
            self._boxes = [tuple(int(v) for v in b) for b in (boxes or [])]
        except (TypeError, ValueError) as exc:
            raise DeidError(f"boxes are (x0, y0, x1, y1) in pixels: {exc}") from exc
        if regions is not None:
            from pacsnb.deid.pixels import load_regions

            self._regions = load_regions(regions)  # read and checked once, not per data set
        self._cache: dict[int, str] = {}
        self._acts: dict[int, str] = {}
        self._lock = threading.Lock()
        self._batch = threading.local()  # .active while anonymize() runs a batch in this thread
        self.report: list[dict] = []

    def __repr__(self) -> str:
        """The profile and options (never the key)."""
        return f"Anonymizer(profile={self.profile!r}, options={list(self.options)!r})"

    # -- decisions ---------------------------------------------------------------------------------
    def action_for(self, tag: int) -> str:
        """The action for a public tag, after options, compound resolution and ``keep``.

        Parameters
        ----------
        tag
            The tag as an int.

        Returns
        -------
        str
            ``X``, ``Z``, ``D``, ``K``, ``C`` or ``U``; ``K`` for attributes outside the table
            that the dictionary knows and does not retire, ``X`` for unknown and retired ones.

        Examples
        --------
        >>> a = Anonymizer(key="k")
        >>> a.action_for(0x00100010), a.action_for(0x00280010), a.action_for(0x00080040)
        ('Z', 'K', 'X')
        """
        self._decide(tag)
        return "K" if tag in self._replace else self._acts[tag]

    def _decide(self, tag: int) -> str:
        code = self._cache.get(tag)
        if code is not None:
            return code
        if tag in self._keep:
            code = act = "KEEP"
        else:
            act = self._table.get(tag)
            g = tag >> 16
            if act is None and not g & 1:
                if (g & 0xFF00) == 0x5000:
                    act = self._repeat["50xxxxxx"]
                elif (g & 0xFF00) == 0x6000 and (tag & 0xFFFF) in (0x3000, 0x4000):
                    act = self._repeat["60xx3000" if tag & 0xFFFF == 0x3000 else "60xx4000"]
            entry = _dict.lookup(tag)
            in_table = act is not None
            if act is None:
                act = "X" if (entry is None or entry.retired) else "K"
            if entry is not None and entry.vr == "SQ" and act in _SQ_CODES:
                code = _SQ_CODES[act]
            elif act == "K":
                code = "KT" if in_table else "K"
            else:
                code = act
        self._acts[tag] = "K" if act == "KEEP" else act
        self._cache[tag] = code
        return code

    # -- application -------------------------------------------------------------------------------
    def __call__(self, ds: Dataset) -> Dataset:
        """De-identify a copy of ``ds`` (the transform an archive calls); see :meth:`apply`.

        Parameters
        ----------
        ds
            The data set (not changed).

        Returns
        -------
        Dataset

        Examples
        --------
        >>> from pacsnb.dicom import Dataset
        >>> Anonymizer(key="k")(Dataset({"PatientName": "DOE^JANE"})).PatientName != "DOE^JANE"
        True
        """
        return self.apply(ds, inplace=False)

    def apply(self, ds: Dataset, *, inplace: bool = False) -> Dataset:
        """De-identify one data set.

        Parameters
        ----------
        ds
            The data set (top level, with or without file meta).
        inplace
            Change ``ds`` itself (fast: kept elements are never decoded) instead of a copy.

        Returns
        -------
        Dataset
            The de-identified data set (``ds`` itself when ``inplace``).

        Raises
        ------
        DeidError
            When it cannot be done safely: burned-in annotation with Clean Pixel Data but no
            region known for the device, or pixel data that cannot be cleaned.

        Examples
        --------
        >>> from pacsnb.dicom import Dataset
        >>> ds = Dataset({"PatientID": "P1", "StudyInstanceUID": "1.2.3"})
        >>> out = Anonymizer(key="k").apply(ds, inplace=True)
        >>> out is ds, ds.PatientID != "P1", ds.StudyInstanceUID != "1.2.3"
        (True, True, True)
        """
        if not inplace:
            ds = ds.copy()
        ctx = _Context(self, ds)
        self._pixels(ds, ctx)
        self._clean(ds, ctx, 0, True)
        self._record(ds, ctx)
        for tag, value in self._replace.items():
            ds[tag] = value
        self._fix_meta(ds)
        return ds

    def _pixels(self, ds: Dataset, ctx: "_Context") -> None:
        burned = str(ds.get(0x00280301, "") or "").strip().upper() == "YES"
        visual = str(ds.get(0x00280302, "") or "").strip().upper() == "YES"
        if "cleanVisual" in self._keys:
            from pacsnb.deid.pixels import recognizable_features

            reason = recognizable_features(ds)
            if reason:
                ctx.visual_flag = reason
                self._flag(ds, "recognizable visual features",
                           f"{reason}; pacsnb flags such images but does not deface them, so the Clean Recognizable "
                           "Visual Features Option (113102) is not recorded for this image: review or deface it")
        elif visual:
            self._flag(ds, "recognizable visual features", "Recognizable Visual Features (0028,0302) is YES and the "
                                                           "Clean Recognizable Visual Features Option is not chosen")
        if self._clean_pixel and _PIXEL_DATA in ds._dict:
            from pacsnb.deid.pixels import clean_pixels, regions_for

            boxes = regions_for(ds, self._regions) + self._boxes
            if boxes:
                clean_pixels(ds, boxes)
                ctx.pixels_cleaned = True
            elif burned:
                raise DeidError("burned-in annotation (0028,0301) is YES and no region to blank is known for "
                                f"manufacturer {str(ds.get(0x00080070, ''))!r}, model "
                                f"{str(ds.get(0x00081090, ''))!r}: give boxes= or regions= (Clean Pixel Data); "
                                "the file was not written")
        elif burned:
            self._flag(ds, "burned-in annotation", "Burned In Annotation is YES and Clean Pixel Data is not chosen")

    def _flag(self, ds: Dataset, what: str, reason: str) -> None:
        sop = str(ds.get(0x00080018, "") or "").strip()
        path = str(ds.filename or "")
        if getattr(self._batch, "active", False):  # anonymize() logs one summary for the whole call
            log.debug("%s: %s (%s)", what, reason, path or sop)
        else:
            log.warning("%s: %s (%s)", what, reason, path or sop)
        with self._lock:
            self.report.append({"SOPInstanceUID": sop, "flag": what, "reason": reason, "path": path,
                                "new_SOPInstanceUID": self.map.uid(sop) if sop and "rtnUIDs" not in self._keys else sop,
                                "Modality": str(ds.get(0x00080060, "") or "").strip()})

    def _keep_private(self, ds: Dataset, tag: int) -> bool:
        """Whether the private element ``tag`` of ``ds`` is safe (Retain Safe Private)."""
        if "rtnSafePriv" not in self._keys:
            return False
        el = tag & 0xFFFF
        if el < 0x10:
            return False  # group length and (gggg,0001-000F): never kept
        group = tag >> 16
        if el <= 0xFF:  # a Private Creator: kept if its creator has safe elements in this group
            creator = _text_of(ds._get_elem(tag)).strip()
            return creator in self._safe or (creator, group) in self._safe_groups
        creator = ds.private_creator_of(tag)
        if creator is None:
            return False
        creator = creator.strip()
        allowed = self._safe.get(creator)
        if allowed is not None and (allowed == "*" or (el & 0xFF) in allowed):
            return True
        vr = self._safe_std.get((creator, group, el & 0xFF))
        return vr is not None and _vr_fits(ds._get_elem(tag), vr)

    def _clean(self, ds: Dataset, ctx: "_Context", mode: int, top: bool) -> None:
        d = ds._dict
        decide = self._cache.get
        if top:
            self._graphics(ds, ctx)
        creators: list[int] = []
        for tag in list(d):
            if (tag >> 16) & 1:
                if not self._keep_private(ds, tag):
                    del d[tag]
                elif (tag & 0xFFFF) <= 0xFF:
                    creators.append(tag)
                else:
                    e = ds._get_elem(tag)
                    if e.VR == "SQ":  # a safe private sequence: its items are de-identified too
                        for item in e.value:
                            self._clean(item, ctx, mode, False)
                continue
            code = decide(tag) or self._decide(tag)
            if code == "X":
                del d[tag]
            elif code == "K":
                if mode:
                    self._mode_value(ds, tag, mode, ctx)
            elif code == "KT" or code == "KEEP":
                continue
            elif code == "SQ1" and tag == _GRAPHIC_ANNOTATION and self._clean_graphics:
                self._clean_annotations(ds._get_elem(tag), ctx, mode)
            elif code[0] == "S":  # SQ0 / SQ1 / SQ2: recurse into the items
                e = ds._get_elem(tag)
                if e.VR != "SQ":
                    self._value(ds, tag, e, {"SQ0": "K", "SQ1": "C", "SQ2": "D"}[code], ctx, top)
                    continue
                sub = max(mode, int(code[2]))
                for item in e.value:
                    self._clean(item, ctx, sub, False)
            else:
                self._value(ds, tag, ds._get_elem(tag), code, ctx, top)
        for ct in creators:  # a Private Creator stays only while its block holds a kept element
            low = (ct & 0xFFFF0000) | ((ct & 0xFF) << 8)
            if not any(low <= t <= low + 0xFF for t in d):
                del d[ct]

    def _graphics(self, ds: Dataset, ctx: "_Context") -> None:
        """Overlay planes (60xx) and curves (50xx): a plane whose Overlay Data (or a curve whose
        Curve Data) the profile does not keep is removed whole, describing attributes included
        (pacsnb cannot read text in a bitmap, so Clean Graphics cleans by removing)."""
        d = ds._dict
        planes: dict[int, list[int]] = {}
        for tag in d:
            g = tag >> 16
            if (0x5000 <= g <= 0x501E or 0x6000 <= g <= 0x601E) and not g & 1:
                planes.setdefault(g, []).append(tag)
        for g, tags in planes.items():
            data_tag = (g << 16) | 0x3000
            code = self._decide(data_tag)
            if code in ("K", "KT", "KEEP"):
                continue
            kind = "overlay plane" if g >= 0x6000 else "curve"
            if data_tag not in d and g >= 0x6000 and int(ds.get((g << 16) | 0x0102, 0) or 0):
                self._flag(ds, "graphics", f"overlay plane {g:04X} is embedded in unused bits of the pixel data "
                                           "(retired form): its description is removed but the bits are not cleaned")
            for tag in tags:
                if tag not in self._keep:
                    del d[tag]
            if self._clean_graphics:
                log.info("Clean Graphics: %s %04X removed", kind, g)

    def _clean_annotations(self, e: DataElement, ctx: "_Context", mode: int) -> None:
        """Clean Graphics on a Graphic Annotation Sequence: text objects are removed, graphic
        objects (coordinates) kept; an annotation left with nothing is dropped."""
        kept = []
        for item in e.value:
            had_text = item._dict.pop(_TEXT_OBJECTS, None) is not None
            if had_text and _GRAPHIC_OBJECTS not in item._dict:
                continue  # an annotation that was only text
            self._clean(item, ctx, max(mode, 1), False)
            kept.append(item)
        e.value = kept

    def _mode_value(self, ds: Dataset, tag: int, mode: int, ctx: "_Context") -> None:
        """Inside a sequence that is cleaned (1) or replaced by dummies (2): attributes outside the
        table that carry free text or dates are cleaned or replaced too."""
        e = ds._get_elem(tag)
        vr = e.VR
        if vr == "SQ":
            for item in e.value:
                self._clean(item, ctx, mode, False)
        elif vr in _DATE_VRS:
            if not self._full_dates:
                self._value(ds, tag, e, "C" if self._modified_dates else "D", ctx, False)
        elif vr in _FREE_TEXT or (mode == 1 and vr in ("LO", "SH")):
            self._value(ds, tag, e, "D" if mode == 2 else "C", ctx, False)

    def _value(self, ds: Dataset, tag: int, e: DataElement, act: str, ctx: "_Context", top: bool) -> None:
        d = ds._dict
        vr = e.VR
        if top and tag == _PATIENT_ID:
            d[tag] = _ascii_element(tag, "LO", self.map.patient_id(ctx.pid))
            return
        if top and tag == _PATIENT_NAME:
            d[tag] = _ascii_element(tag, "PN", self.map.patient_name(ctx.pid, ctx.name))
            return
        if act == "Z":
            d[tag] = DataElement(tag, "SQ", []) if vr == "SQ" else lazy_element(tag, vr, b"", True, None)
            return
        if act == "K":
            return
        if vr == "UI":
            text = _text_of(e)
            d[tag] = _ascii_element(tag, "UI", "\\".join(self.map.uid(u) for u in text.split("\\")))
            return
        if vr == "SQ":  # D or C on a sequence the dictionary did not call one: clean its items
            for item in e.value:
                self._clean(item, ctx, 2 if act == "D" else 1, False)
            return
        if act == "U":
            if vr in _TEXT_VRS or vr == "UN":
                text = _text_of(e)
                d[tag] = _ascii_element(tag, vr if vr != "UN" else "UN",
                                        "\\".join(self.map.uid(u) for u in text.split("\\")))
            else:
                d[tag] = lazy_element(tag, vr, DUMMY_VALUES.get(vr, b""), True, None)
            return
        if vr in _DATE_VRS and (act == "C" or self._modified_dates):
            new = self._shift(e, vr, ctx)
            if new is not None:
                d[tag] = _ascii_element(tag, vr, new)
                return
            act = "D"
        if act == "C":
            if (tag >> 24) in (0x50, 0x60) and vr not in _TEXT_VRS:
                del d[tag]  # a curve or overlay value outside a plane :meth:`_graphics` removed
                return
            if vr == "AE":
                d[tag] = _ascii_element(tag, "AE", "\\".join(self.map.ae_title(a) for a in _text_of(e).split("\\")))
                return
            if vr in _TEXT_VRS:
                d[tag] = _scrubbed(tag, vr, e, ctx)
                return
        dummy = DUMMY_VALUES.get(vr)
        if dummy is None:
            del d[tag]
        else:
            d[tag] = lazy_element(tag, vr, dummy, True, None)

    def _shift(self, e: DataElement, vr: str, ctx: "_Context") -> str | None:
        text = _text_of(e)
        if not text:
            return ""
        if vr == "TM":
            return text  # whole-day shifts keep the time of day
        days = ctx.offset()
        out = []
        for v in text.split("\\"):
            s = shift_date(v, days) if vr == "DA" else shift_datetime(v, days)
            if s is None:
                return None
            out.append(s)
        return "\\".join(out)

    def _record(self, ds: Dataset, ctx: "_Context") -> None:
        ds.PatientIdentityRemoved = "YES"
        keys = ["basic"] + [OPTIONS[o] for o in self.options]
        if ctx.visual_flag:
            keys = [k for k in keys if k != "cleanVisual"]
        if "cleanPixel" in keys and not ctx.pixels_cleaned and str(ds.get(0x00280301, "")).upper() == "YES":
            keys.remove("cleanPixel")
        # the preset is named too, so that verify() can check a file against what made it
        ds.DeidentificationMethod = (["pacsnb deid: PS3.15 Annex E", f"{PRESET_METHOD_PREFIX}{self.profile}"] +
                                     [CODES[k][1] for k in keys])
        items = []
        for k in keys:
            value, meaning = CODES[k]
            items.append(Dataset({"CodeValue": value, "CodingSchemeDesignator": "DCM", "CodeMeaning": meaning}))
        ds.DeidentificationMethodCodeSequence = items
        if self._full_dates:
            ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
        elif self._modified_dates:
            ds.LongitudinalTemporalInformationModified = "MODIFIED"
        else:
            ds.LongitudinalTemporalInformationModified = "REMOVED"
        if ctx.pixels_cleaned:
            ds.BurnedInAnnotation = "NO"

    def _fix_meta(self, ds: Dataset) -> None:
        fm = ds.file_meta
        meta = Dataset()
        ts = fm.get(0x00020010) if fm is not None else None
        if ts:
            meta.TransferSyntaxUID = str(ts)
        sop_class = ds.get(0x00080016) or (fm.get(0x00020002) if fm is not None else None)
        if sop_class:
            meta.MediaStorageSOPClassUID = str(sop_class)
        if 0x00080018 in ds:
            meta.MediaStorageSOPInstanceUID = str(ds.SOPInstanceUID)
        elif fm is not None and 0x00020003 in fm:
            meta.MediaStorageSOPInstanceUID = self.map.uid(str(fm.MediaStorageSOPInstanceUID))
        ds.file_meta = meta
        if ts is None and fm is None:
            ds.file_meta = meta if len(meta) else None


class _Context:
    """What the anonymization of one top-level data set needs to know about its patient."""

    __slots__ = ("an", "ds", "pid", "name", "_offset", "_words", "visual_flag", "pixels_cleaned")

    def __init__(self, an: Anonymizer, ds: Dataset) -> None:
        self.an = an
        self.ds = ds
        pid = ds.get(_PATIENT_ID)
        self.pid = str(pid).strip() if pid else ""
        name = ds.get(_PATIENT_NAME)
        self.name = str(name).strip() if name else ""
        if not self.pid and self.name:
            self.pid = "name:" + self.name  # no ID: the patient is known by name only
        self._offset: int | None = None
        self._words: re.Pattern | None = None
        self.visual_flag = ""
        self.pixels_cleaned = False

    def offset(self) -> int:
        if self._offset is None:
            self._offset = self.an.map.date_offset(self.pid)
        return self._offset

    def words(self) -> re.Pattern | None:
        """A pattern of the identifying words of the data set (for cleaning free text)."""
        if self._words is None:
            found: set[str] = set()
            for kw in IDENTIFYING_KEYWORDS:
                tag = _dict.tag_for_keyword(kw)
                if tag is None or tag not in self.ds._dict:
                    continue
                e = self.ds._get_elem(tag)
                if e.VR == "SQ":
                    continue
                text = _text_of(e)
                for v in text.split("\\"):
                    v = v.strip()
                    if len(v) >= 2:
                        found.add(v)
                    for part in re.split(r"[\^=\s,]+", v):
                        if len(part) >= 2:
                            found.add(part)
            words = sorted(found, key=len, reverse=True)
            self._words = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![A-Za-z0-9])",
                                     re.I) if words else re.compile(r"(?!x)x")
        return self._words


def _scrubbed(tag: int, vr: str, e: DataElement, ctx: _Context) -> DataElement:
    """Free text with the data set's identifying words, dates and long numbers replaced by ``*``."""
    text = _text_of(e)
    text = ctx.words().sub("*", text)
    text = _DATE_LIKE.sub("*", text)
    text = _LONG_NUMBER.sub("*", text)
    if vr == "CS":
        text = re.sub(r"[^A-Z0-9 _\\]", "", text.upper())
    return DataElement(tag, vr, text if vr in ("LT", "ST", "UT", "UR") or "\\" not in text else text.split("\\"))

