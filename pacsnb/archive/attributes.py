"""The keys of the Patient Root and Study Root Query/Retrieve Information Models (PS3.4 Annex C).

Facts of the standard, written down as a table of keywords (the JSON extracts in the team's
``standard/`` folder do not carry PS3.4's tables). Each level lists the attributes the
archive indexes in its own column, with the key type PS3.4 gives it:

``U``
    the unique key of the level (C.2.2.1.1),
``R``
    a required key (the SCP must support matching on it),
``O``
    an optional key.

Sources, PS3.4 (2025a):

* C.6.1.1.2, Table C.6-1, Patient level of the Patient Root model;
* C.6.1.1.3, Table C.6-2, Study level;
* C.6.1.1.4, Table C.6-3, Series level;
* C.6.1.1.5, Table C.6-4, Composite Object Instance level ("IMAGE");
* C.6.2.1, Tables C.6-5 to C.6-8, the Study Root model: its Study level holds the Patient
  level's attributes too, its lower levels are the Patient Root ones;
* C.3.4, Table C.3-1, the additional (derived) attributes: Number of Patient/Study/Series
  Related ..., Modalities in Study, SOP Classes in Study.

Each of these tables ends with "All other Attributes of the ... IE" as optional keys; the
archive adds a few common ones of those IEs (Series Date, Body Part Examined, Content Date,
Rows, ...) to its columns, and answers any other attribute of the stored instances as a
return key (see :mod:`pacsnb.archive.matching`). Sequence keys list the attributes of their
items that the tables name (code sequences: the Basic Code Sequence Macro).

Examples
--------
>>> from pacsnb.archive.attributes import KEYS, key, level_of
>>> [k.keyword for k in KEYS["SERIES"] if k.type != "O"]
['Modality', 'SeriesNumber', 'SeriesInstanceUID']
>>> key("ModalitiesInStudy").multi, key("ModalitiesInStudy").derived, level_of("PatientName")
(True, True, 'PATIENT')
"""
from __future__ import annotations

from dataclasses import dataclass

from pacsnb.dicom.dictionary import lookup_keyword

__all__ = ["Key", "LEVELS", "KEYS", "UNIQUE", "key", "level_of", "is_key"]

#: The query levels, top down (``IMAGE`` is the Composite Object Instance level).
LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")

#: The unique key of each level.
UNIQUE = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
          "IMAGE": "SOPInstanceUID"}

_CODE = ("CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning")
_REF = ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID")
_QUALIFIERS = ("UniversalEntityID", "UniversalEntityIDType", "IdentifierTypeCode")

# (keyword, type, items) per level; items: the keys of a sequence's items
_TABLE: dict[str, tuple] = {
    # Table C.6-1 (and the Patient IE's other attributes that C.6-1 names)
    "PATIENT": (
        ("PatientName", "R", None),
        ("PatientID", "U", None),
        ("IssuerOfPatientID", "O", None),
        ("IssuerOfPatientIDQualifiersSequence", "O", _QUALIFIERS),
        ("TypeOfPatientID", "O", None),
        ("OtherPatientIDsSequence", "O", ("PatientID", "IssuerOfPatientID", "TypeOfPatientID")),
        ("ReferencedPatientSequence", "O", _REF),
        ("PatientBirthDate", "O", None),
        ("PatientBirthTime", "O", None),
        ("PatientSex", "O", None),
        ("OtherPatientNames", "O", None),
        ("EthnicGroup", "O", None),
        ("PatientComments", "O", None),
        ("PatientBirthDateInAlternativeCalendar", "O", None),
        ("PatientDeathDateInAlternativeCalendar", "O", None),
        ("PatientAlternativeCalendar", "O", None),
        ("NumberOfPatientRelatedStudies", "O", None),
        ("NumberOfPatientRelatedSeries", "O", None),
        ("NumberOfPatientRelatedInstances", "O", None),
    ),
    # Table C.6-2
    "STUDY": (
        ("StudyDate", "R", None),
        ("StudyTime", "R", None),
        ("AccessionNumber", "R", None),
        ("StudyID", "R", None),
        ("StudyInstanceUID", "U", None),
        ("IssuerOfAccessionNumberSequence", "O", ("LocalNamespaceEntityID", "UniversalEntityID",
                                                  "UniversalEntityIDType")),
        ("ModalitiesInStudy", "O", None),
        ("SOPClassesInStudy", "O", None),
        ("AnatomicRegionsInStudyCodeSequence", "O", _CODE),
        ("ReferringPhysicianName", "O", None),
        ("StudyDescription", "O", None),
        ("ProcedureCodeSequence", "O", _CODE),
        ("NameOfPhysiciansReadingStudy", "O", None),
        ("AdmittingDiagnosesDescription", "O", None),
        ("ReferencedStudySequence", "O", _REF),
        ("PatientAge", "O", None),
        ("PatientSize", "O", None),
        ("PatientWeight", "O", None),
        ("Occupation", "O", None),
        ("AdditionalPatientHistory", "O", None),
        ("OtherStudyNumbers", "O", None),
        ("NumberOfStudyRelatedSeries", "O", None),
        ("NumberOfStudyRelatedInstances", "O", None),
    ),
    # Table C.6-3, plus attributes of the Series IE (General Series module)
    "SERIES": (
        ("Modality", "R", None),
        ("SeriesNumber", "R", None),
        ("SeriesInstanceUID", "U", None),
        ("NumberOfSeriesRelatedInstances", "O", None),
        ("SeriesDate", "O", None),
        ("SeriesTime", "O", None),
        ("SeriesDescription", "O", None),
        ("BodyPartExamined", "O", None),
        ("Laterality", "O", None),
        ("ProtocolName", "O", None),
        ("PerformedProcedureStepStartDate", "O", None),
        ("PerformedProcedureStepStartTime", "O", None),
        ("RequestAttributesSequence", "O", ("RequestedProcedureID", "ScheduledProcedureStepID",
                                            "AccessionNumber", "StudyInstanceUID",
                                            "RequestedProcedureDescription",
                                            "ScheduledProcedureStepDescription")),
    ),
    # Table C.6-4, plus attributes of the instance IEs (SOP Common, General Image, ...)
    "IMAGE": (
        ("InstanceNumber", "R", None),
        ("SOPInstanceUID", "U", None),
        ("SOPClassUID", "O", None),
        ("AlternateRepresentationSequence", "O", ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID")),
        ("AvailableTransferSyntaxUID", "O", None),
        ("ContentDate", "O", None),
        ("ContentTime", "O", None),
        ("ImageType", "O", None),
        ("AcquisitionNumber", "O", None),
        ("Rows", "O", None),
        ("Columns", "O", None),
        ("BitsAllocated", "O", None),
        ("NumberOfFrames", "O", None),
    ),
}

#: Attributes the archive computes from the instances below an entity (PS3.4 C.3.4).
DERIVED = frozenset({
    "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances",
    "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "NumberOfSeriesRelatedInstances",
    "ModalitiesInStudy", "SOPClassesInStudy", "AvailableTransferSyntaxUID",
})


@dataclass(frozen=True, slots=True)
class Key:
    """One key attribute of a query level.

    Attributes
    ----------
    keyword
        The PS3.6 keyword (also the name of its column in the index).
    tag
        The tag as ``0xGGGGEEEE``.
    vr
        Its value representation.
    multi
        Whether it may hold several values (VM above 1): stored as a JSON array.
    level
        ``"PATIENT"``, ``"STUDY"``, ``"SERIES"`` or ``"IMAGE"``.
    type
        ``"U"`` unique, ``"R"`` required or ``"O"`` optional key.
    items
        For a sequence: the keys of its items; else ``None``.
    derived
        Computed by the archive (counts, Modalities in Study, ...), not read from files.

    Examples
    --------
    >>> from pacsnb.archive.attributes import key
    >>> k = key("StudyDate")
    >>> k.vr, k.level, k.type, hex(k.tag)
    ('DA', 'STUDY', 'R', '0x80020')
    """

    keyword: str
    tag: int
    vr: str
    multi: bool
    level: str
    type: str
    items: tuple | None = None
    derived: bool = False


def _make(keyword: str, level: str, type_: str, items) -> Key:
    entry = lookup_keyword(keyword)
    if entry is None:  # pragma: no cover - the table above is checked by the tests
        raise KeyError(keyword)
    sub = None
    if items is not None:
        sub = tuple(_make(i, level, "O", None) for i in items)
    return Key(keyword, entry.tag, entry.vr, entry.vm not in ("1", ""), level, type_, sub,
               keyword in DERIVED)


#: ``{level: (Key, ...)}``: the columns of each level's table in the index.
KEYS: dict[str, tuple[Key, ...]] = {
    level: tuple(_make(kw, level, t, items) for kw, t, items in rows) for level, rows in _TABLE.items()
}
_BY_KEYWORD = {k.keyword: k for level in LEVELS for k in KEYS[level]}


def key(keyword: str) -> Key:
    """The :class:`Key` of an indexed attribute.

    Parameters
    ----------
    keyword
        A keyword of :data:`KEYS`.

    Returns
    -------
    Key

    Raises
    ------
    KeyError
        When the attribute is not one of the indexed keys.

    Examples
    --------
    >>> key("PatientName").vr
    'PN'
    """
    return _BY_KEYWORD[keyword]


def is_key(keyword: str) -> bool:
    """Whether ``keyword`` has its own column in the index.

    Examples
    --------
    >>> is_key("StudyDate"), is_key("InstitutionName")
    (True, False)
    """
    return keyword in _BY_KEYWORD


def level_of(keyword: str) -> str | None:
    """The level whose table holds ``keyword`` (``None`` for other attributes).

    Examples
    --------
    >>> level_of("Modality"), level_of("InstitutionName")
    ('SERIES', None)
    """
    k = _BY_KEYWORD.get(keyword)
    return k.level if k else None
