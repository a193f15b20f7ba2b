"""The Storage Commitment Push Model SCP (PS3.4 Annex J).

A modality asks the archive to take responsibility for instances it sent (N-ACTION,
action type 1, with a Transaction UID and the Referenced SOP Sequence). The answer comes
in two steps: the N-ACTION response at once (the request was accepted), then an
N-EVENT-REPORT with the outcome, which this SCP sends on a *new* association to the
requester (the most common way), whose address comes from the peers of the configuration
(``{AE title: (host, port)}``); with ``same_association=True``, on the requester's own
association while it is still open (PS3.4 J.3.3), a new one only when it is gone or
refuses the report before it was sent or by a failure status: event type 1 when every instance is safely in the archive, event type 2 with a
Failed SOP Sequence (Failure Reason 0x0112, no such object instance; 0x0119, class /
instance conflict) otherwise. An instance is committed when the index has it with the
same SOP class and its file is there.

A requester not among the peers gets 0x0110 (processing failure) in the N-ACTION
response: the result could not be delivered. Each transaction is recorded
(:meth:`StorageCommitment.to_frame`).

Examples
--------
>>> StorageCommitment.__name__
'StorageCommitment'
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pacsnb.dicom import Dataset
from pacsnb.net.dimse import Status, status_category

__all__ = ["StorageCommitment", "COMMITMENT_SOP_CLASS", "COMMITMENT_SOP_INSTANCE"]

log = logging.getLogger(__name__)

#: Storage Commitment Push Model SOP Class.
COMMITMENT_SOP_CLASS = "1.2.840.10008.1.20.1"
#: Its well-known SOP Instance.
COMMITMENT_SOP_INSTANCE = "1.2.840.10008.1.20.1.1"
_NO_SUCH_OBJECT = 0x0112
_CLASS_INSTANCE_CONFLICT = 0x0119
_NO_SUCH_ACTION = 0x0123
_MISSING_ATTRIBUTE = 0x0120
_RESOURCE_LIMITATION = 0x0213


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


class StorageCommitment:
    """Storage Commitment Push Model SCP over an archive.

    Parameters
    ----------
    archive
        The :class:`~pacsnb.archive.Archive` whose content is committed.
    peers
        ``{AE title: (host, port)}`` of the requesters (where the N-EVENT-REPORT goes),
        or a function of the AE title returning ``(host, port)`` or ``None``.
    ae_title
        Our AE title (the calling AE title of the report's association).
    timeout
        Seconds allowed to connect to the requester and for its answer.
    retries
        Attempts to deliver a report before giving up (logged; recorded as undelivered).
    tls
        TLS for the report's association (as :func:`pacsnb.net.connect` takes it).

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.archive import Archive
    >>> from pacsnb.services.commitment import StorageCommitment
    >>> sc = StorageCommitment(Archive(tempfile.mkdtemp()), peers={"CT1": ("127.0.0.1", 11113)})
    >>> sorted(sc.handlers()), sc.sop_classes()
    (['N-ACTION'], {'N-ACTION': ('1.2.840.10008.1.20.1',)})
    """

    def __init__(self, archive: Any, *, peers: Mapping[str, tuple[str, int]] | Callable[[str], Any] | None = None,
                 ae_title: str = "PACSNB", timeout: float = 30.0, retries: int = 3, tls: Any = None,
                 same_association: bool = False) -> None:
        self.archive = archive
        self.same_association = bool(same_association)
        self.peers = peers if peers is not None else {}
        self.ae_title = ae_title
        self.timeout = timeout
        self.retries = max(1, int(retries))
        self.tls = tls
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task] = set()
        #: One record per transaction (see :meth:`to_frame`).
        self.transactions: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"<StorageCommitment {len(self.transactions)} transactions>"

    def handlers(self) -> dict[str, Callable]:
        """``{service: handler}`` for a :class:`~pacsnb.net.Server`: N-ACTION."""
        return {"N-ACTION": self.on_action}

    def sop_classes(self) -> dict[str, tuple[str, ...]]:
        """The SOP class per service, for :class:`~pacsnb.net.Server`'s ``sop_classes``."""
        return {"N-ACTION": (COMMITMENT_SOP_CLASS,)}

    def _address(self, ae_title: str) -> tuple[str, int] | None:
        try:
            address = self.peers(ae_title) if callable(self.peers) else self.peers.get(ae_title)
        except Exception:
            log.exception("looking up the storage commitment requester %r failed", ae_title)
            return None
        if address is None:
            return None
        host, port = address
        return str(host), int(port)

    async def on_action(self, request: Any) -> Any:
        """N-ACTION: accept the request, then report the outcome on a new association."""
        cmd = request.command
        requester = request.association.calling_ae_title
        if int(cmd.action_type_id or 0) != 1:
            return cmd.response(_NO_SUCH_ACTION, error_comment="only action type 1 (request storage commitment)")
        ds = request.dataset
        transaction = _text(ds.get("TransactionUID")) if ds is not None else ""
        refs = list(ds.get("ReferencedSOPSequence") or ()) if ds is not None else []
        if not transaction or not refs:
            return cmd.response(_MISSING_ATTRIBUTE, error_comment="needs TransactionUID and ReferencedSOPSequence")
        address = self._address(requester)
        if address is None:
            log.warning("storage commitment from %s refused: not among the peers", requester)
            return cmd.response(Status.PROCESSING_FAILURE,
                                error_comment=f"unknown AE {requester}: add it to the peers"[:64])
        wanted = [(_text(r.get("ReferencedSOPClassUID")), _text(r.get("ReferencedSOPInstanceUID"))) for r in refs]
        record = {"TransactionUID": transaction, "requester": requester, "requested": len(wanted),
                  "committed": None, "failed": None, "event_type": None, "delivered": False, "association": None,
                  "received_at": _dt.datetime.now().isoformat(timespec="seconds")}
        with self._lock:
            self.transactions.append(record)
        same = request if self.same_association and hasattr(request, "n_event_report") else None
        task = asyncio.get_running_loop().create_task(self._report(record, wanted, address, same))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Status.SUCCESS

    def check(self, references: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
        """Which referenced instances are committed.

        Parameters
        ----------
        references
            ``(SOP Class UID, SOP Instance UID)`` pairs.

        Returns
        -------
        tuple
            The committed pairs, and the failed ones as ``(class, instance, failure reason)``.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.archive import Archive
        >>> from pacsnb.samples import make_ct_series
        >>> from pacsnb.services.commitment import StorageCommitment
        >>> archive = Archive(tempfile.mkdtemp())
        >>> ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]; _ = archive.store(ds)
        >>> ok, failed = StorageCommitment(archive).check([(ds.SOPClassUID, ds.SOPInstanceUID), ("1.2", "9.9")])
        >>> len(ok), [hex(f[2]) for f in failed]
        (1, ['0x112'])
        """
        uids = sorted({sop for _, sop in references if sop})
        stored: dict[str, Any] = {}
        if uids:
            for rec in self.archive.records(SOPInstanceUID=uids):
                stored.setdefault(rec.sop_instance_uid, rec)
        ok, failed = [], []
        for cls, sop in references:
            rec = stored.get(sop)
            if rec is None or not rec.path.is_file():
                failed.append((cls, sop, _NO_SUCH_OBJECT))
            elif rec.sop_class_uid and cls and rec.sop_class_uid != cls:
                failed.append((cls, sop, _CLASS_INSTANCE_CONFLICT))
            else:
                ok.append((cls, sop))
        return ok, failed

    async def _report(self, record: dict, wanted: list[tuple[str, str]], address: tuple[str, int],
                      same: Any = None) -> None:
        from pacsnb.net.scu import connect

        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)  # let the N-ACTION response go first
        try:
            ok, failed = await loop.run_in_executor(None, self.check, wanted)
        except Exception:
            log.exception("storage commitment %s: checking the archive failed", record["TransactionUID"])
            ok, failed = [], [(c, s, _RESOURCE_LIMITATION) for c, s in wanted]
        info = Dataset()
        info.TransactionUID = record["TransactionUID"]
        if ok:
            info.ReferencedSOPSequence = [Dataset({"ReferencedSOPClassUID": c, "ReferencedSOPInstanceUID": s})
                                          for c, s in ok]
        if failed:
            info.FailedSOPSequence = [Dataset({"ReferencedSOPClassUID": c, "ReferencedSOPInstanceUID": s,
                                               "FailureReason": reason}) for c, s, reason in failed]
        event = 1 if not failed else 2
        record.update(committed=len(ok), failed=len(failed), event_type=event)
        if same is not None:  # on the requester's association, if it is still there
            try:
                status = await same.n_event_report(event, info, sop_class_uid=COMMITMENT_SOP_CLASS,
                                                   sop_instance_uid=COMMITMENT_SOP_INSTANCE, timeout=self.timeout)
            except Exception as err:
                if getattr(err, "sent", False):  # the requester may have it: the transaction ends
                    record.update(association="same")  # with its report (PS3.4 J.3.3.1.2), not sent twice
                    log.warning("storage commitment %s: reported on %s's association, unanswered: %s",
                                record["TransactionUID"], record["requester"], err)
                    return
                log.info("storage commitment %s: not reported on the requester's association (%s); "
                         "reporting on a new one", record["TransactionUID"], err)
            else:
                if status_category(status).value != "failure":
                    record.update(delivered=True, association="same")
                    log.info("storage commitment %s: event %d (%d committed, %d failed) reported to %s on its "
                             "association", record["TransactionUID"], event, len(ok), len(failed),
                             record["requester"])
                    return
                log.info("storage commitment %s: %s answered 0x%04X on its association; reporting on a new one",
                         record["TransactionUID"], record["requester"], status)
        for attempt in range(self.retries):
            try:
                async with connect(address[0], address[1], ae_title=self.ae_title, called_ae=record["requester"],
                                   contexts=[COMMITMENT_SOP_CLASS], timeout=self.timeout, tls=self.tls,
                                   max_operations=1) as assoc:
                    await assoc.n_event_report(COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, event, info)
                record.update(delivered=True, association="new")
                log.info("storage commitment %s: event %d (%d committed, %d failed) reported to %s",
                         record["TransactionUID"], event, len(ok), len(failed), record["requester"])
                return
            except Exception as err:
                log.warning("storage commitment %s: report to %s at %s:%d failed (attempt %d): %s",
                            record["TransactionUID"], record["requester"], address[0], address[1], attempt + 1, err)
                if attempt + 1 < self.retries:
                    await asyncio.sleep(0.5 * (attempt + 1))

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every pending report is delivered (or given up).

        Examples
        --------
        >>> import asyncio, tempfile
        >>> from pacsnb.archive import Archive
        >>> asyncio.run(StorageCommitment(Archive(tempfile.mkdtemp())).drain())
        """
        tasks = [t for t in self._tasks if not t.done()]
        if not tasks:
            return
        from pacsnb.net.loop import bridge

        async def wait() -> None:
            await asyncio.wait(tasks, timeout=timeout)

        await bridge(wait())

    def to_frame(self):
        """The transactions as a DataFrame: Transaction UID, requester, counts, event type,
        whether the report was delivered, and on which association (``"same"``: the
        requester's own, ``"new"``: one we opened).

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.archive import Archive
        >>> list(StorageCommitment(Archive(tempfile.mkdtemp())).to_frame().columns)[:3]
        ['TransactionUID', 'requester', 'requested']
        """
        import pandas as pd

        columns = ["TransactionUID", "requester", "requested", "committed", "failed", "event_type", "delivered",
                   "association", "received_at"]
        with self._lock:
            return pd.DataFrame([dict(r) for r in self.transactions], columns=columns)
