"""The Modality Worklist SCP: scheduled procedure steps from a file, a DataFrame or the archive.

A :class:`Worklist` holds worklist items (data sets with a Scheduled Procedure Step
Sequence) and answers Modality Worklist Information Model - FIND queries (PS3.4 K.6)
with the PS3.4 C.2.2.2 matching rules: universal, single value, wildcard, date and time
ranges, UID lists, and sequence matching on the Scheduled Procedure Step Sequence (an
item of the sequence must match every non-empty key of the query's item: Modality,
Scheduled Station AE Title, Scheduled Procedure Step Start Date range, ...).

Items come from

* a JSON file: a list of objects, one per item, keyed by DICOM keyword;
* a CSV file or a :class:`pandas.DataFrame`: one row per item, columns named by keyword;
* the archive: ``Worklist.for_archive(archive)`` keeps the items in ``worklist.json``
  in the archive's folder, saved on every change.

In flat records (CSV, DataFrame, JSON objects without the sequence) the Scheduled
Procedure Step attributes (``Modality``, ``ScheduledStationAETitle``,
``ScheduledProcedureStepStartDate``, ...) go into the item's Scheduled Procedure Step
Sequence, the others (``PatientName``, ``AccessionNumber``, ...) at the top level.

Examples
--------
>>> from pacsnb.dicom import Dataset
>>> from pacsnb.services.worklist import Worklist
>>> wl = Worklist([{"PatientName": "DOE^JANE", "PatientID": "P1", "AccessionNumber": "A1",
...                 "Modality": "MR", "ScheduledStationAETitle": "MR1",
...                 "ScheduledProcedureStepStartDate": "20240301"}])
>>> q = Dataset(); q.PatientName = "DOE*"; q.AccessionNumber = None
>>> sps = Dataset(); sps.Modality = "MR"; sps.ScheduledProcedureStepStartDate = "20240301-20240302"
>>> q.ScheduledProcedureStepSequence = [sps]
>>> [(a.AccessionNumber, a.ScheduledProcedureStepSequence[0].Modality) for a in wl.query(q)]
[('A1', 'MR')]
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pacsnb.dicom import Dataset
from pacsnb.dicom.dictionary import lookup_keyword
from pacsnb.errors import DicomValueError
from pacsnb.io.writer import write_atomic
from pacsnb.net.memory import answer, match

__all__ = ["Worklist", "SPS_KEYWORDS"]

log = logging.getLogger(__name__)

#: The attributes that belong in a Scheduled Procedure Step Sequence item (PS3.4 K.6.1.2.2).
SPS_KEYWORDS = ("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate",
                "ScheduledProcedureStepStartTime", "ScheduledProcedureStepEndDate", "ScheduledProcedureStepEndTime",
                "ScheduledPerformingPhysicianName", "ScheduledProcedureStepDescription", "ScheduledProcedureStepID",
                "ScheduledStationName", "ScheduledProcedureStepLocation", "ScheduledProcedureStepStatus",
                "PreMedication", "RequestedContrastAgent", "CommentsOnTheScheduledProcedureStep")
_SPS = "ScheduledProcedureStepSequence"
_FILE = "worklist.json"


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _dataset(record: Mapping[str, Any], where: str) -> Dataset:
    """A data set from ``{keyword: value}`` (nested lists of mappings become sequences)."""
    ds = Dataset()
    for kw, value in record.items():
        if _blank(value):
            continue
        if lookup_keyword(kw) is None:
            raise DicomValueError(f"{where}: {kw!r} is not a DICOM keyword (use CamelCase keywords, "
                                  "e.g. PatientName, ScheduledStationAETitle)")
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (Mapping, Dataset)) for v in value):
            value = [v if isinstance(v, Dataset) else _dataset(v, f"{where}.{kw}") for v in value]
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
            value = value.item()
        setattr(ds, kw, value if not isinstance(value, float) or not value.is_integer() else int(value))
    return ds


def _item(record: Mapping[str, Any] | Dataset, where: str) -> Dataset:
    """A worklist item: flat Scheduled Procedure Step keys go into the sequence."""
    if isinstance(record, Dataset):
        return record
    top = {k: v for k, v in record.items() if k not in SPS_KEYWORDS}
    sps = {k: v for k, v in record.items() if k in SPS_KEYWORDS and not _blank(v)}
    ds = _dataset(top, where)
    if sps:
        step = _dataset(sps, where)
        if _SPS in ds and len(ds[_SPS].value or ()):
            for elem in step:
                ds[_SPS].value[0][elem.tag] = elem
        else:
            ds.ScheduledProcedureStepSequence = [step]
    return ds


def _plain(value: Any) -> Any:
    """JSON-ready value of a data set attribute."""
    if isinstance(value, Dataset):
        return {e.keyword: _plain(e.value) for e in value if e.keyword}
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return items if not all(isinstance(v, str) for v in items) else "\\".join(items)
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return None
    return str(value)


class Worklist:
    """Modality Worklist items, and the C-FIND answers to worklist queries.

    Parameters
    ----------
    items
        Data sets, ``{keyword: value}`` records, a :class:`pandas.DataFrame`, or the
        path of a JSON or CSV file.
    path
        A JSON file the items are saved to after every change (:meth:`add`,
        :meth:`remove`); it is read first when it exists.

    Raises
    ------
    DicomValueError
        For a column or key that is not a DICOM keyword, or a file that is neither JSON
        nor CSV.

    Examples
    --------
    >>> import pandas as pd
    >>> from pacsnb.services.worklist import Worklist
    >>> wl = Worklist(pd.DataFrame({"PatientID": ["P1", "P2"], "Modality": ["CT", "MR"],
    ...                             "ScheduledStationAETitle": ["CT1", "MR1"]}))
    >>> len(wl), wl.to_frame()[["PatientID", "Modality", "ScheduledStationAETitle"]].values.tolist()
    (2, [['P1', 'CT', 'CT1'], ['P2', 'MR', 'MR1']])
    """

    def __init__(self, items: Any = (), *, path: str | os.PathLike | None = None) -> None:
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        self._items: list[Dataset] = []
        if self.path is not None and self.path.is_file():
            self._items.extend(self._load(self.path))
        self._items.extend(self._parse(items))
        if self.path is not None and items is not None and len(self._items):
            self._save()

    @classmethod
    def for_archive(cls, archive: Any) -> "Worklist":
        """The archive's own worklist, kept in ``worklist.json`` in its folder.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.archive import Archive
        >>> from pacsnb.services.worklist import Worklist
        >>> archive = Archive(tempfile.mkdtemp())
        >>> Worklist.for_archive(archive).add(PatientID="P9", Modality="US")
        >>> len(Worklist.for_archive(archive))
        1
        """
        return cls(path=Path(archive.root) / _FILE)

    def _parse(self, items: Any) -> list[Dataset]:
        if items is None:
            return []
        if isinstance(items, (str, os.PathLike)):
            return self._load(Path(items))
        if hasattr(items, "to_dict") and hasattr(items, "columns"):  # a DataFrame
            return [_item(r, f"row {i}") for i, r in enumerate(items.to_dict("records"))]
        if isinstance(items, (Dataset, Mapping)):
            items = [items]
        return [_item(r, f"item {i}") for i, r in enumerate(items)]

    @staticmethod
    def _load(path: Path) -> list[Dataset]:
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DicomValueError(f"{path}: cannot read the worklist ({exc}); give a JSON list of "
                                      "objects keyed by DICOM keyword") from exc
            if isinstance(data, Mapping):
                data = [data]
            if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
                raise DicomValueError(f"{path}: a worklist JSON file is a list of objects keyed by DICOM keyword")
            return [_item(r, f"{path} item {i}") for i, r in enumerate(data)]
        if suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                return [_item(r, f"{path} line {i + 2}") for i, r in enumerate(csv.DictReader(f))]
        raise DicomValueError(f"{path}: worklist files are .json or .csv")

    def _save(self) -> None:
        if self.path is None:
            return
        data = [_plain(ds) for ds in self._items]
        write_atomic(self.path, [json.dumps(data, indent=1).encode("utf-8")], make_dirs=True)  # synced, renamed

    def __len__(self) -> int:
        """The number of items."""
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Worklist {len(self)} items{f' in {self.path}' if self.path else ''}>"

    @property
    def items(self) -> list[Dataset]:
        """The items (a copy of the list)."""
        with self._lock:
            return list(self._items)

    def add(self, item: Mapping[str, Any] | Dataset | None = None, **fields: Any) -> None:
        """Add an item: a data set, a record, or keyword arguments (flat SPS keys allowed).

        Examples
        --------
        >>> from pacsnb.services.worklist import Worklist
        >>> wl = Worklist(); wl.add(PatientID="P1", Modality="CT", AccessionNumber="A1")
        >>> wl.items[0].ScheduledProcedureStepSequence[0].Modality
        'CT'
        """
        record = item if item is not None else fields
        ds = _item(record, "item")
        with self._lock:
            self._items.append(ds)
            self._save()

    def remove(self, **keys: Any) -> int:
        """Remove the items whose top-level attributes equal ``keys``; returns how many.

        Examples
        --------
        >>> from pacsnb.services.worklist import Worklist
        >>> wl = Worklist([{"AccessionNumber": "A1"}, {"AccessionNumber": "A2"}])
        >>> wl.remove(AccessionNumber="A1"), len(wl)
        (1, 1)
        """
        with self._lock:
            keep = [ds for ds in self._items if not all(str(ds.get(k) or "") == str(v) for k, v in keys.items())]
            n = len(self._items) - len(keep)
            self._items = keep
            self._save()
        return n

    def query(self, identifier: Dataset) -> list[Dataset]:
        """The answers to a worklist C-FIND identifier (PS3.4 K.6.1.2 matching).

        Parameters
        ----------
        identifier
            The query: matching keys (empty ones are return keys), the Scheduled Procedure
            Step Sequence with one item holding its keys.

        Returns
        -------
        list of Dataset
            One per matching item, holding the query's keys.
        """
        answers = []
        for item in self.items:
            if match(item, identifier):
                answers.append(answer(item, identifier))
        return answers

    def to_frame(self):
        """The items as a DataFrame: one row per item, the first Scheduled Procedure Step's
        attributes as columns beside the top-level ones.

        Examples
        --------
        >>> from pacsnb.services.worklist import Worklist
        >>> list(Worklist([{"PatientID": "P1", "Modality": "CT"}]).to_frame().columns)
        ['PatientID', 'Modality']
        """
        import pandas as pd

        rows = []
        for ds in self.items:
            row: dict[str, Any] = {}
            for elem in ds:
                if elem.keyword == _SPS:
                    first = (elem.value or [None])[0]
                    if first is not None:
                        row.update({e.keyword: _plain(e.value) for e in first if e.keyword})
                elif elem.keyword:
                    row[elem.keyword] = _plain(elem.value)
            rows.append(row)
        return pd.DataFrame(rows)
