"""The Modality Performed Procedure Step SCP (PS3.4 Annex F): N-CREATE, N-SET, N-GET.

A modality tells the PACS that a procedure step started (N-CREATE, status
``IN PROGRESS``) and how it ended (N-SET to ``COMPLETED`` or ``DISCONTINUED``). The
state rules of PS3.4 F.7.2:

* N-CREATE must create the step ``IN PROGRESS`` (another value: 0x0106, invalid
  attribute value); a SOP Instance UID already known gets 0x0111 (duplicate SOP instance).
* N-SET on an unknown step gets 0x0112 (no such SOP instance); a status other than
  ``IN PROGRESS``, ``COMPLETED`` or ``DISCONTINUED`` gets 0x0106; once the step is
  ``COMPLETED`` or ``DISCONTINUED`` any further N-SET is refused with 0x0110 (processing
  failure) and Error ID 0xA710 ("Performed Procedure Step Object may no longer be updated").

Every step is kept (and, with ``path``, saved as JSON after each change); :meth:`MPPS.to_frame`
gives them as a DataFrame.

Examples
--------
>>> import pacsnb.net as net
>>> from pacsnb.net import sync
>>> from pacsnb.dicom import Dataset
>>> from pacsnb.services.mpps import MPPS, MPPS_SOP_CLASS
>>> mpps = MPPS()
>>> server = sync.start(net.Server(mpps.handlers(), port=0, ae_title="RIS", sop_classes=mpps.sop_classes()))
>>> with sync.connect("127.0.0.1", server.port, called_ae="RIS", contexts=[MPPS_SOP_CLASS]) as ris:
...     ds = Dataset(); ds.PerformedProcedureStepStatus = "IN PROGRESS"; ds.Modality = "CT"
...     uid = ris.n_create(MPPS_SOP_CLASS, ds).sop_instance_uid
...     done = Dataset(); done.PerformedProcedureStepStatus = "COMPLETED"
...     status = ris.n_set(MPPS_SOP_CLASS, uid, done).status
>>> sync.stop(server)
>>> status, mpps.to_frame()[["PerformedProcedureStepStatus", "Modality"]].values.tolist()
(0, [['COMPLETED', 'CT']])
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

from pacsnb.dicom import Dataset
from pacsnb.io.writer import write_atomic
from pacsnb.net.dimse import Status

__all__ = ["MPPS", "MPPS_SOP_CLASS", "FINAL_STATES", "STATUS_NO_LONGER_UPDATABLE"]

log = logging.getLogger(__name__)

#: Modality Performed Procedure Step SOP Class.
MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"
#: The states a step cannot leave.
FINAL_STATES = ("COMPLETED", "DISCONTINUED")
_STATES = ("IN PROGRESS",) + FINAL_STATES
#: Error ID of the 0x0110 answer to an N-SET on a completed or discontinued step (PS3.4 F.7.2.2.2).
STATUS_NO_LONGER_UPDATABLE = 0xA710
_INVALID_VALUE = 0x0106
_DUPLICATE = 0x0111
_NO_SUCH_INSTANCE = 0x0112
_COLUMNS = ("PatientID", "PatientName", "Modality", "PerformedStationAETitle", "PerformedProcedureStepID",
            "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "PerformedProcedureStepEndDate",
            "PerformedProcedureStepEndTime", "PerformedProcedureStepDescription")


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _plain(value: Any) -> Any:
    if isinstance(value, Dataset):
        return {e.keyword: _plain(e.value) for e in value if e.keyword}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return None
    return str(value)


class MPPS:
    """Modality Performed Procedure Step SCP: the steps received, with their state rules.

    Parameters
    ----------
    path
        A JSON file the steps are saved to after every change (read first when it exists).
    on_change
        ``f(sop_instance_uid, dataset)`` called after each accepted N-CREATE or N-SET
        (exceptions logged).

    Examples
    --------
    >>> from pacsnb.services.mpps import MPPS
    >>> sorted(MPPS().handlers())
    ['N-CREATE', 'N-GET', 'N-SET']
    """

    def __init__(self, *, path: str | os.PathLike | None = None,
                 on_change: Callable[[str, Dataset], Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        self.on_change = on_change
        #: ``{SOP Instance UID: data set}`` of the steps.
        self.steps: dict[str, Dataset] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.is_file():
            self._load()

    def __len__(self) -> int:
        """The number of steps."""
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<MPPS {len(self)} steps>"

    def handlers(self) -> dict[str, Callable]:
        """``{service: handler}`` for a :class:`~pacsnb.net.Server`: N-CREATE, N-SET, N-GET."""
        return {"N-CREATE": self.on_create, "N-SET": self.on_set, "N-GET": self.on_get}

    def sop_classes(self) -> dict[str, tuple[str, ...]]:
        """The SOP class per service, for :class:`~pacsnb.net.Server`'s ``sop_classes``."""
        return {s: (MPPS_SOP_CLASS,) for s in self.handlers()}

    # --- persistence ------------------------------------------------------------------------------

    def _load(self) -> None:
        from pacsnb.services.worklist import _dataset

        data = json.loads(self.path.read_text(encoding="utf-8"))
        for uid, rec in data.items():
            self.steps[uid] = _dataset(rec["dataset"], f"{self.path} {uid}")
            self._meta[uid] = {k: v for k, v in rec.items() if k != "dataset"}

    def _save(self) -> None:
        if self.path is None:
            return
        data = {uid: {**self._meta[uid], "dataset": _plain(ds)} for uid, ds in self.steps.items()}
        write_atomic(self.path, [json.dumps(data, indent=1).encode("utf-8")], make_dirs=True)  # synced, renamed

    def _changed(self, uid: str, ds: Dataset) -> None:
        if self.on_change is not None:
            try:
                self.on_change(uid, ds)
            except Exception:
                log.exception("the MPPS on_change callback failed for %s", uid)

    # --- handlers ---------------------------------------------------------------------------------

    def on_create(self, request: Any) -> Any:
        """N-CREATE: a new step, ``IN PROGRESS``."""
        cmd = request.command
        uid = request.sop_instance_uid
        ds = request.dataset if request.dataset is not None else Dataset()
        state = _text(ds.get("PerformedProcedureStepStatus")).upper()
        if state != "IN PROGRESS":
            return cmd.response(_INVALID_VALUE, error_comment="N-CREATE needs status IN PROGRESS")
        with self._lock:
            if uid in self.steps:
                return cmd.response(_DUPLICATE, error_comment="this SOP Instance UID exists")
            self.steps[uid] = ds
            now = _now()
            self._meta[uid] = {"calling_ae": request.association.calling_ae_title, "created": now, "updated": now}
            self._save()
        self._changed(uid, ds)
        log.info("MPPS %s created IN PROGRESS by %s", uid, request.association.calling_ae_title)
        return Status.SUCCESS

    def on_set(self, request: Any) -> Any:
        """N-SET: change a step still ``IN PROGRESS``."""
        cmd = request.command
        uid = request.sop_instance_uid
        mods = request.dataset if request.dataset is not None else Dataset()
        with self._lock:
            step = self.steps.get(uid)
            if step is None:
                return cmd.response(_NO_SUCH_INSTANCE, error_comment="no such performed procedure step")
            current = _text(step.get("PerformedProcedureStepStatus")).upper()
            if current in FINAL_STATES:
                return cmd.response(Status.PROCESSING_FAILURE, error_id=STATUS_NO_LONGER_UPDATABLE,
                                    error_comment=f"step is {current}: may no longer be updated")
            if "PerformedProcedureStepStatus" in mods:
                new = _text(mods.get("PerformedProcedureStepStatus")).upper()
                if new not in _STATES:
                    return cmd.response(_INVALID_VALUE,
                                        error_comment="status: IN PROGRESS, COMPLETED or DISCONTINUED")
            for elem in mods:
                step[elem.tag] = elem
            self._meta[uid]["updated"] = _now()
            self._save()
        self._changed(uid, step)
        return Status.SUCCESS

    def on_get(self, request: Any) -> Any:
        """N-GET: the attributes asked for (all of them when none is named)."""
        cmd = request.command
        uid = request.sop_instance_uid
        with self._lock:
            step = self.steps.get(uid)
            if step is None:
                return cmd.response(_NO_SUCH_INSTANCE, error_comment="no such performed procedure step")
            wanted = set(cmd.attribute_identifier_list or ())
            out = Dataset()
            for elem in step:
                if not wanted or int(elem.tag) in wanted:
                    out[elem.tag] = elem
        return Status.SUCCESS, out

    # --- the records ------------------------------------------------------------------------------

    def to_frame(self):
        """The steps as a DataFrame: one row per step, with its SOP Instance UID, status,
        the usual attributes (patient, modality, station, start and end), the calling AE
        title and when it was created and last updated.

        Examples
        --------
        >>> from pacsnb.services.mpps import MPPS
        >>> list(MPPS().to_frame().columns)[:3]
        ['SOPInstanceUID', 'PerformedProcedureStepStatus', 'PatientID']
        """
        import pandas as pd

        rows = []
        with self._lock:
            for uid, ds in self.steps.items():
                row = {"SOPInstanceUID": uid,
                       "PerformedProcedureStepStatus": _text(ds.get("PerformedProcedureStepStatus")).upper()}
                for kw in _COLUMNS:
                    value = ds.get(kw)
                    row[kw] = str(value) if value not in (None, "") else None
                row.update(self._meta.get(uid, {}))
                rows.append(row)
        columns = ["SOPInstanceUID", "PerformedProcedureStepStatus", *_COLUMNS, "calling_ae", "created", "updated"]
        return pd.DataFrame(rows, columns=columns)
