"""An in-memory Query/Retrieve SCP: a list of data sets (or files) that answers C-FIND,
C-MOVE, C-GET, C-STORE and Modality Worklist queries.

:class:`MemoryQR` gives the handlers of a :class:`~pacsnb.net.Server`; it is what a
notebook needs to serve a small cohort to a viewer or to test a workflow, and what the
tests use as a PACS. The archive (files on disk plus an index) is the real thing for large
collections; this one keeps the headers in memory and matches by scanning them.

Matching follows PS3.4 C.2.2.2 for the common cases: universal matching (empty key),
single value (exact; case-insensitive for person names), wildcards ``*`` and ``?``, ranges
of dates and times (``20240101-``), lists of UIDs, and sequence matching (an item of the
key's sequence must match every non-empty key of the query item). Computed attributes
(``NumberOfStudyRelatedInstances``, ``ModalitiesInStudy``, ...) are computed.

Examples
--------
>>> import pacsnb.net as net
>>> from pacsnb.net import sync
>>> from pacsnb.net.memory import MemoryQR
>>> from pacsnb.samples import make_ct_series
>>> qr = MemoryQR(make_ct_series(n_slices=3, rows=8, columns=8))
>>> server = sync.start(net.Server(qr.handlers(), port=0, ae_title="QR"))
>>> with sync.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
...     df = pacs.find("STUDY", ModalitiesInStudy="CT", fields=["NumberOfStudyRelatedInstances"])
>>> sync.stop(server)
>>> df[["ModalitiesInStudy", "NumberOfStudyRelatedInstances"]].values.tolist()
[['CT', 3]]
"""
from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from pacsnb.dicom import Dataset
from pacsnb.io import read as _read
from pacsnb.net.dimse import Status
from pacsnb.net.retrieve import WORKLIST_SOP_CLASS

__all__ = ["MemoryQR", "answer", "match"]

log = logging.getLogger(__name__)

_UNIQUE = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
           "IMAGE": "SOPInstanceUID"}
_PARENTS = {"PATIENT": (), "STUDY": ("PatientID",), "SERIES": ("PatientID", "StudyInstanceUID"),
            "IMAGE": ("PatientID", "StudyInstanceUID", "SeriesInstanceUID")}
_NOT_KEYS = frozenset({"QueryRetrieveLevel", "SpecificCharacterSet", "QueryRetrieveView"})
_RANGE_VRS = frozenset({"DA", "TM", "DT"})
_NO_WILDCARD_VRS = frozenset({"UI", "DA", "TM", "DT", "US", "UL", "SS", "SL", "FL", "FD", "IS", "DS"})


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _values(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    text = _text(value)
    return [v.strip() for v in text.split("\\")] if "\\" in text else [text]


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return len(value) == 0 or all(_is_empty(v) for v in value)
    return _text(value) in ("", "*")


def _match_value(vr: str, value: Any, key: Any) -> bool:
    """Whether an attribute's value matches a query key's value (not a sequence)."""
    have = _values(value)
    if vr == "UI" or isinstance(key, (list, tuple)):
        wanted = set(_values(key))
        return any(v in wanted for v in have)
    key = _text(key)
    if vr in _RANGE_VRS and "-" in key:
        lo, _, hi = key.partition("-")
        lo, hi = lo.strip(), hi.strip()
        return any(v and (not lo or v[:len(lo)] >= lo) and (not hi or v[:len(hi)] <= hi) for v in have)
    if vr == "PN":
        key, have = key.upper(), [v.upper() for v in have]
    if vr not in _NO_WILDCARD_VRS and ("*" in key or "?" in key):
        return any(fnmatch.fnmatchcase(v, key.replace("[", "[[]")) for v in have)
    return key in have


def match(dataset: Dataset, query: Dataset) -> bool:
    """Whether a data set matches every non-empty key of a query identifier (PS3.4 C.2.2.2).

    Parameters
    ----------
    dataset
        The candidate (an instance's header, a worklist item).
    query
        The identifier; ``QueryRetrieveLevel`` and ``SpecificCharacterSet`` are not keys.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> from pacsnb.net.memory import match
    >>> ds = Dataset(); ds.PatientName, ds.StudyDate, ds.Modality = "Doe^John", "20240105", "CT"
    >>> q = Dataset(); q.PatientName, q.StudyDate = "DOE*", "20240101-20240131"
    >>> match(ds, q)
    True
    >>> q.Modality = "MR"; match(ds, q)
    False
    """
    for elem in query:
        kw = elem.keyword
        if not kw or kw in _NOT_KEYS:
            continue
        if elem.VR == "SQ":
            items = list(elem.value or ())
            if not items or len(items[0]) == 0:
                continue  # universal sequence matching
            have = dataset.get(kw)
            if not have or not any(match(item, items[0]) for item in have):
                return False
            continue
        if _is_empty(elem.value):
            continue
        if kw not in dataset:
            return False
        if not _match_value(elem.VR, dataset[kw].value, elem.value):
            return False
    return True


def answer(source: Dataset, query: Dataset, computed: dict[str, Any] | None = None) -> Dataset:
    """The C-FIND response identifier for a matching ``source`` (PS3.4 C.2.2.1.2): every key
    of ``query``, valued from ``source`` (empty where it has no value) or from ``computed``;
    a sequence key with an item of keys answers the source's matching items, reduced to
    those keys.

    Parameters
    ----------
    source
        The matching data set (an instance's header, a worklist item).
    query
        The identifier. ``QueryRetrieveLevel`` is echoed; ``SpecificCharacterSet`` comes
        from ``source``.
    computed
        Values by keyword that are not in ``source`` (e.g. the number of related instances).

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset(); ds.PatientName, ds.PatientID, ds.Modality = "Doe^John", "P1", "CT"
    >>> q = Dataset(); q.PatientName, q.PatientBirthDate = "DOE*", ""
    >>> a = answer(ds, q)
    >>> str(a.PatientName), a.PatientBirthDate, "Modality" in a
    ('Doe^John', '', False)
    """
    out = Dataset()
    charset = source.get("SpecificCharacterSet")
    if charset:
        out.SpecificCharacterSet = charset
    for elem in query:
        kw = elem.keyword
        if not kw or kw == "SpecificCharacterSet":
            continue
        if kw == "QueryRetrieveLevel":
            out.QueryRetrieveLevel = elem.value
            continue
        if computed and kw in computed:
            setattr(out, kw, computed[kw])
            continue
        have = source.get(kw)
        if elem.VR == "SQ":
            query_items = list(elem.value or ())
            if have and query_items and len(query_items[0]):
                setattr(out, kw, [answer(item, query_items[0]) for item in have if match(item, query_items[0])])
            else:
                setattr(out, kw, list(have) if have else None)
            continue
        setattr(out, kw, have if have not in (None, "") else None)
    return out


class MemoryQR:
    """Query/Retrieve handlers over data sets kept in memory (and files named by path).

    Parameters
    ----------
    instances
        Data sets and Part 10 file paths (folders are not walked: pass their files). Only
        the headers of files are read (pixel data stays on disk until sent, and then
        streams from the file as it is).
    worklist
        Modality Worklist items (data sets with ``ScheduledProcedureStepSequence``, ...),
        answered for ``find(..., model="worklist")``.

    Examples
    --------
    >>> from pacsnb.net.memory import MemoryQR
    >>> from pacsnb.samples import make_ct_series
    >>> qr = MemoryQR(make_ct_series(n_slices=2, rows=8, columns=8))
    >>> len(qr), sorted(qr.handlers())
    (2, ['C-ECHO', 'C-FIND', 'C-GET', 'C-MOVE', 'C-STORE'])
    """

    def __init__(self, instances: Iterable[Dataset | str | os.PathLike] = (), *,
                 worklist: Iterable[Dataset] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[Dataset, Any]] = {}
        #: The worklist items.
        self.worklist: list[Dataset] = list(worklist)
        for item in instances:
            self.add(item)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<MemoryQR {len(self)} instances, {len(self.worklist)} worklist items>"

    def add(self, item: Dataset | str | os.PathLike) -> str:
        """Add a data set or a file (its header is read); returns its SOP Instance UID.

        An instance with the same SOP Instance UID is replaced.
        """
        if isinstance(item, Dataset):
            header, source = item, item
        else:
            source = os.fspath(item)
            header = _read(source, stop_before_pixels=True)
        uid = str(header.get("SOPInstanceUID") or "")
        if not uid:
            raise ValueError(f"{item if not isinstance(item, Dataset) else 'a data set'} has no SOPInstanceUID")
        with self._lock:
            self._items[uid] = (header, source)
        return uid

    @property
    def instances(self) -> list[Any]:
        """What was added: data sets and file paths, in order."""
        with self._lock:
            return [source for _, source in self._items.values()]

    # --- handlers ---------------------------------------------------------------------------------

    def handlers(self, *, store: bool = True) -> dict[str, Callable]:
        """The handlers for a :class:`~pacsnb.net.Server`: C-ECHO, C-FIND, C-MOVE, C-GET and,
        with ``store``, C-STORE (what is received is added)."""
        out: dict[str, Callable] = {"C-ECHO": lambda request: 0, "C-FIND": self.on_find,
                                    "C-MOVE": self.on_retrieve, "C-GET": self.on_retrieve}
        if store:
            out["C-STORE"] = self.on_store
        return out

    def on_store(self, request: Any) -> int:
        """C-STORE handler: keep the received data set."""
        self.add(request.dataset)
        return Status.SUCCESS

    def on_find(self, request: Any) -> Iterator[Dataset]:
        """C-FIND handler (Patient Root, Study Root and Modality Worklist)."""
        query = request.dataset
        if request.sop_class_uid == WORKLIST_SOP_CLASS:
            yield from (answer(item, query) for item in list(self.worklist) if match(item, query))
            return
        yield from self.query(query)

    def on_retrieve(self, request: Any) -> list[Any]:
        """C-MOVE and C-GET handler: the data sets and files matching the identifier."""
        return self.select(request.dataset)

    # --- matching ---------------------------------------------------------------------------------

    def select(self, identifier: Dataset) -> list[Any]:
        """The instances (data sets and paths) matching a retrieve identifier.

        Examples
        --------
        >>> from pacsnb.dicom import Dataset
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> series = make_ct_series(n_slices=3, rows=8, columns=8)
        >>> q = Dataset(); q.QueryRetrieveLevel = "IMAGE"
        >>> q.SOPInstanceUID = [series[0].SOPInstanceUID, series[2].SOPInstanceUID]
        >>> [int(ds.InstanceNumber) for ds in MemoryQR(series).select(q)]
        [1, 3]
        """
        with self._lock:
            items = list(self._items.values())
        return [source for header, source in items if match(header, identifier)]

    def query(self, identifier: Dataset) -> list[Dataset]:
        """The response identifiers of a C-FIND at the identifier's level (one per entity).

        Examples
        --------
        >>> from pacsnb.dicom import Dataset
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> q = Dataset(); q.QueryRetrieveLevel = "SERIES"; q.SeriesInstanceUID = None
        >>> q.NumberOfSeriesRelatedInstances = None; q.Modality = "CT"
        >>> [(ds.Modality, int(ds.NumberOfSeriesRelatedInstances))
        ...  for ds in MemoryQR(make_ct_series(n_slices=4, rows=8, columns=8)).query(q)]
        [('CT', 4)]
        """
        level = str(identifier.get("QueryRetrieveLevel") or "STUDY").strip().upper()
        if level not in _UNIQUE:
            raise ValueError(f"unknown QueryRetrieveLevel {level!r}")
        unique = _UNIQUE[level]
        computed_keys = {"ModalitiesInStudy", "SOPClassesInStudy"}
        plain = Dataset()
        for elem in identifier:
            if elem.keyword not in computed_keys and not elem.keyword.startswith("NumberOf"):
                plain[elem.tag] = elem
        with self._lock:
            items = [header for header, _ in self._items.values()]
        groups: dict[tuple, list[Dataset]] = {}
        for header in items:
            key = tuple(_text(header.get(k)) for k in (*_PARENTS[level], unique))
            groups.setdefault(key, []).append(header)
        out = []
        for members in groups.values():
            first = next((m for m in members if match(m, plain)), None)
            if first is None:
                continue
            computed = _computed(level, members, items)
            if not all(_is_empty(identifier[k].value) or _match_value(identifier[k].VR, computed[k], identifier[k].value)
                       for k in computed_keys if k in identifier and k in computed):
                continue
            out.append(answer(first, identifier, computed))
        return out


def _computed(level: str, members: list[Dataset], everything: list[Dataset]) -> dict[str, Any]:
    """The computed attributes of an entity whose instances are ``members``."""
    def distinct(kw: str, among: list[Dataset]) -> list[str]:
        return sorted({_text(m.get(kw)) for m in among if m.get(kw)})

    out: dict[str, Any] = {}
    if level == "PATIENT":
        out.update(NumberOfPatientRelatedStudies=len(distinct("StudyInstanceUID", members)),
                   NumberOfPatientRelatedSeries=len(distinct("SeriesInstanceUID", members)),
                   NumberOfPatientRelatedInstances=len(members))
    if level in ("PATIENT", "STUDY"):
        out.update(ModalitiesInStudy=distinct("Modality", members) or None,
                   SOPClassesInStudy=distinct("SOPClassUID", members) or None)
    if level == "STUDY":
        out.update(NumberOfStudyRelatedSeries=len(distinct("SeriesInstanceUID", members)),
                   NumberOfStudyRelatedInstances=len(members))
    if level == "SERIES":
        out.update(NumberOfSeriesRelatedInstances=len(members))
    return out
