"""The archive: DICOM files on disk and their SQLite index, stored and queried together.

See :class:`Archive`.

Examples
--------
>>> import tempfile
>>> from pacsnb.archive import Archive
>>> from pacsnb.samples import make_study
>>> with Archive(tempfile.mkdtemp()) as archive:
...     results = archive.store_many(make_study("CT", n_slices=3, rows=16, columns=16), progress=False)
...     studies = archive.find("STUDY", PatientName="kevzotwep*")
>>> len(results), studies.NumberOfStudyRelatedInstances.tolist()
(3, [3])
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from pacsnb.archive import layout
from pacsnb.archive.attributes import KEYS, LEVELS, UNIQUE, Key, is_key, key as _key
from pacsnb.archive.index import TABLES, connect, extract, migrate
from pacsnb.archive.matching import combined_datetime_condition, condition
from pacsnb.dicom import Dataset, Sequence
from pacsnb.dicom.dictionary import lookup_keyword
from pacsnb.errors import (ArchiveError, ArchiveFullError, DuplicateInstanceError, InvalidDicomError,
                           InvalidInstanceError, InvalidQueryError, PacsnbError)
from pacsnb.io import encode_file, read, read_bytes

__all__ = ["Archive", "StoreResult", "InstanceRecord", "VerifyReport", "DUPLICATE_POLICIES"]

log = logging.getLogger(__name__)

#: What ``Archive(duplicates=...)`` accepts for a SOP Instance UID that arrives twice.
DUPLICATE_POLICIES = ("reject", "replace", "keep")
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_ALIAS = {"PATIENT": "p", "STUDY": "st", "SERIES": "se", "IMAGE": "i"}
_JOIN = {"STUDY": "JOIN studies st ON st.patient_fk = p.id",
         "SERIES": "JOIN series se ON se.study_fk = st.id",
         "IMAGE": "JOIN instances i ON i.series_fk = se.id"}
_DATE_TIME = (("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime"), ("ContentDate", "ContentTime"),
              ("PatientBirthDate", "PatientBirthTime"),
              ("PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime"))
_ORDER = {"PATIENT": 'p."PatientID", p.id',
          "STUDY": 'st."StudyDate", st."StudyTime__n", st.id',
          "SERIES": 'st.id, CAST(se."SeriesNumber" AS INTEGER), se.id',
          "IMAGE": 'se.id, CAST(i."InstanceNumber" AS INTEGER), i.id'}
Source = Union[Dataset, str, os.PathLike, bytes]
_fdatasync = getattr(os, "fdatasync", os.fsync)  # the data and the size, not the times
_HOT_SECONDS = 30.0   # a landing folder unused this long is released at the next synced commit
_HOT_MAX = 256        # and the least recently used beyond this many


def _write_chunks(f, chunks: Iterable[Any]) -> int:
    """Write the chunks (bytes-like, or file objects to copy) to ``f``; returns the size."""
    size = 0
    for chunk in chunks:
        if hasattr(chunk, "read"):
            while True:
                block = chunk.read(1 << 20)
                if not block:
                    break
                f.write(block)
                size += len(block)
        else:
            f.write(chunk)
            size += len(chunk)
    return size


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What :meth:`Archive.store` did with one instance.

    Attributes
    ----------
    sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid
        The instance's UIDs.
    path
        Its file in the archive.
    transfer_syntax
        The transfer syntax of the stored file.
    size
        Bytes of the file.
    action
        ``"stored"`` (new), ``"replaced"`` (a copy with this UID was replaced) or ``"kept"``
        (stored beside an earlier copy).

    Examples
    --------
    >>> StoreResult("1.2.3", "1.2.840.10008.5.1.4.1.1.7", "1.2", "1.2.1", Path("/a/b.dcm"), "1.2.840.10008.1.2.1",
    ...             400, "stored").action
    'stored'
    """

    sop_instance_uid: str
    sop_class_uid: str | None
    study_instance_uid: str
    series_instance_uid: str
    path: Path
    transfer_syntax: str
    size: int
    action: str


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One stored file, as retrieval (C-MOVE, C-GET) needs it.

    Attributes
    ----------
    sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid
        The instance's UIDs.
    transfer_syntax
        The transfer syntax of the file.
    path
        The file.
    size
        Its size in bytes.

    Examples
    --------
    >>> InstanceRecord("1.2.3", "1.2.840.10008.5.1.4.1.1.7", "1.2", "1.2.1", "1.2.840.10008.1.2.1",
    ...                Path("/a/b.dcm"), 400).size
    400
    """

    sop_instance_uid: str
    sop_class_uid: str | None
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax: str | None
    path: Path
    size: int | None


@dataclass(slots=True)
class VerifyReport:
    """The findings of :meth:`Archive.verify`.

    Attributes
    ----------
    checked
        Index rows checked.
    missing
        Index rows whose file is not there (paths relative to the archive).
    unreadable
        ``(path, reason)`` of files that are not readable DICOM or whose SOP Instance UID
        differs from their index row.
    unindexed
        Files under ``data/`` that no index row points to.
    temporary
        Files left under ``tmp/`` by a process that is gone.

    Examples
    --------
    >>> report = VerifyReport(checked=3)
    >>> report.ok, str(report)
    (True, 'verify: 3 instances checked, no problems')
    """

    checked: int = 0
    missing: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    unindexed: list = field(default_factory=list)
    temporary: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was found wrong."""
        return not (self.missing or self.unreadable or self.unindexed or self.temporary)

    def __str__(self) -> str:
        """A one-line summary."""
        if self.ok:
            return f"verify: {self.checked} instances checked, no problems"
        parts = [f"{len(v)} {k}" for k, v in (("missing", self.missing), ("unreadable", self.unreadable),
                                              ("unindexed", self.unindexed), ("temporary", self.temporary)) if v]
        return f"verify: {self.checked} instances checked, " + ", ".join(parts)


@dataclass(slots=True)
class _Prepared:
    tmp: str                 # temporary file name under tmp/
    rows: dict               # extract() output
    sop: str
    sop_class: str | None
    study: str
    series: str
    transfer_syntax: str
    size: int
    source_ae: str | None
    relpath: str = ""
    action: str = "stored"
    old_paths: list = field(default_factory=list)
    token: str | None = None  # the row's ``pending`` value until the file is in place


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Archive:
    """A DICOM archive: Part 10 files under a folder, indexed in SQLite, queried as PS3.4 says.

    Storing is atomic and durable: the file is written under ``tmp/`` and synced
    (``fdatasync``, in a worker thread while the index values are extracted), its index
    rows are committed (SQLite WAL), then, its sync done, the file is renamed into
    ``data/`` and its folder synced (see :mod:`pacsnb.archive.layout`): two syncs per
    instance. When :meth:`store` returns, the instance is on disk and indexed; a crash at
    any moment leaves either the whole instance or nothing, and the next ``Archive(root)``
    finishes or removes what a dead process left half done.

    The files are the source of truth. An index commit survives a crash of the process
    as soon as it is made; to survive a power cut as well without a second sync per
    instance, the folder an instance goes into is first recorded in the index's
    ``landing`` table by a synced commit (once per folder while it keeps receiving), and
    the commits of the instances that follow into it are not synced. Should a power cut
    lose some of those commits, their files are there (each is synced with its folder
    before :meth:`store` returns) and the next ``Archive(root)`` indexes the files of the
    landing folders of the dead process that the index lacks.

    Safe to use from several threads (one SQLite connection per thread) and processes.
    Instances stored at the same time from several threads (several associations of a
    server) are indexed together: one transaction and one sync of each folder for all
    of them (group commit).

    Parameters
    ----------
    root
        The archive's folder (made if missing).
    duplicates
        What to do with a SOP Instance UID that is already stored: ``"reject"`` (raise
        :class:`~pacsnb.errors.DuplicateInstanceError`, keep the first), ``"replace"``
        (the new one replaces it) or ``"keep"`` (store both; queries return both).
    on_ingest
        A callable ``f(Dataset) -> Dataset`` (or a list of them, applied in order) run on
        each incoming instance before it is stored, e.g. a de-identifier. A function that
        returns ``None`` is taken to have changed the data set in place; one that raises
        rejects the instance.
    on_retrieve
        Likewise for the data sets that leave the archive (:meth:`read`,
        :meth:`iter_instances`).
    on_stored
        A callable ``f(StoreResult)`` (or a list) called after each successful store, e.g.
        to watch a cohort arrive in a notebook. Its exceptions are logged, not raised.
    durable
        Sync files and commits to the disk (survives a power cut). ``False`` still
        survives a crash of the process, and is faster.
    retrieve_ae_title
        Put in the answers of :meth:`find_iter` as Retrieve AE Title.
    pn_case_sensitive
        Match person names literally (default: case- and accent-insensitive, see
        :mod:`pacsnb.archive.matching`).

    Raises
    ------
    ArchiveError
        When ``root`` cannot be used as an archive (not a folder, an index from a newer
        pacsnb, an unknown duplicates policy).

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.archive import Archive
    >>> from pacsnb.samples import make_ct_series
    >>> archive = Archive(tempfile.mkdtemp(), duplicates="replace")
    >>> result = archive.store(make_ct_series(n_slices=1, rows=16, columns=16)[0])
    >>> result.action, result.path.relative_to(archive.root).parts[0]
    ('stored', 'data')
    >>> archive.store(make_ct_series(n_slices=1, rows=16, columns=16)[0]).action
    'replaced'
    >>> archive.stats()["instances"], archive.verify().ok
    (1, True)
    >>> archive.close()
    """

    def __init__(self, root: Union[str, os.PathLike], *, duplicates: str = "reject",
                 on_ingest: Callable | Iterable[Callable] | None = None,
                 on_retrieve: Callable | Iterable[Callable] | None = None,
                 on_stored: Callable | Iterable[Callable] | None = None,
                 durable: bool = True, retrieve_ae_title: str | None = None,
                 pn_case_sensitive: bool = False) -> None:
        if duplicates not in DUPLICATE_POLICIES:
            raise ArchiveError(f"duplicates={duplicates!r}: use one of {', '.join(DUPLICATE_POLICIES)}")
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise ArchiveError(f"{self.root}: not a folder; give the folder the archive lives in (or a new one)")
        for sub in ("", layout.DATA, layout.TMP):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.duplicates = duplicates
        self.on_ingest = _callables(on_ingest)
        self.on_retrieve = _callables(on_retrieve)
        self.on_stored = _callables(on_stored)
        self.durable = bool(durable)
        self.retrieve_ae_title = retrieve_ae_title
        self.pn_case_sensitive = bool(pn_case_sensitive)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._renamed: list[str] = []  # pending tokens whose rename is done, to clear
        self._closed = False
        # group commit: stores from several threads queue up; one thread at a time (the
        # leader) indexes everything queued in one transaction
        self._gc = threading.Condition(threading.Lock())
        self._queue: list[list] = []
        self._leading = False
        # landing folders whose mark in the index is synced: {relative folder: last use}
        self._owner = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._hot: dict[str, float] = {}
        self._syncing: dict[str, Any] = {}  # tmp name -> the future of its sync
        self.schema_version = migrate(self._conn())
        self._recover()

    # --- connections ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise ArchiveError(f"the archive {self.root} is closed; open it again with Archive(root)")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = connect(str(self.root / layout.INDEX), durable=self.durable)
            except sqlite3.Error as exc:
                raise ArchiveError(f"{self.root / layout.INDEX}: cannot open the index: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _begin(self, conn: sqlite3.Connection, *, full: bool = True) -> None:
        """``BEGIN IMMEDIATE``; the commit that ends it is synced when ``full`` (and the archive
        is durable), else it survives a crash of the process but not a power cut."""
        want = "FULL" if (full and self.durable) else "NORMAL"
        if getattr(self._local, "sync", None) != want:  # the connection is the thread's too
            conn.execute(f"PRAGMA synchronous={want}")
            self._local.sync = want
        conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Be the only thread of this archive indexing new instances (the group-commit leader)."""
        with self._gc:
            while self._leading:
                self._gc.wait()
            self._leading = True
        try:
            yield
        finally:
            with self._gc:
                self._leading = False
                self._gc.notify_all()

    def close(self) -> None:
        """Close the index connections (the archive cannot be used afterwards).

        Examples
        --------
        >>> import tempfile
        >>> a = Archive(tempfile.mkdtemp()); a.close(); a.close()
        """
        if self._closed:
            return
        try:
            with self._exclusive():
                conn = self._conn()
                self._begin(conn, full=True)
                try:
                    self._clear_pending(conn)
                    conn.execute("DELETE FROM landing WHERE owner = ?", (self._owner,))
                    conn.execute("COMMIT")  # synced: every earlier commit is durable too
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                self._hot.clear()
        except Exception:  # pragma: no cover - best effort (the next open reconciles)
            pass
        self._closed = True
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except Exception:  # pragma: no cover
                    pass
            self._conns.clear()

    def __enter__(self) -> "Archive":
        """Use as a context manager: closed at the end of the block."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the archive."""
        self.close()

    def __repr__(self) -> str:
        """``Archive('/path', duplicates='reject')``."""
        return f"Archive({str(self.root)!r}, duplicates={self.duplicates!r})"

    # --- recovery ---------------------------------------------------------------------------

    def _recover(self) -> None:
        """Finish or undo what dead processes left in ``tmp/``; index the files that the
        landing folders of dead processes hold and the index lacks (commits lost at a power cut)."""
        conn = self._conn()
        tmp_dir = self.root / layout.TMP
        me = os.getpid()
        try:
            names = os.listdir(tmp_dir)
        except OSError:
            names = []
        done = []
        for name in names:
            pid = layout.temp_owner(name)
            if pid is None or pid == me or _pid_alive(pid):
                continue
            row = conn.execute("SELECT path FROM instances WHERE pending = ?", (name,)).fetchone()
            src = tmp_dir / name
            try:
                if row is not None:  # committed after its file was synced: finish the store
                    dst = self.root / row[0]
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dst)
                    if self.durable:  # the file was synced before its commit
                        layout.fsync_dir(str(dst.parent))
                    log.info("archive %s: finished storing %s (left by process %d)", self.root, row[0], pid)
                    done.append(name)
                else:
                    os.unlink(src)
                    log.info("archive %s: removed %s (a store that process %d did not finish)", self.root, name, pid)
            except OSError as exc:  # pragma: no cover - logged, verify() reports it
                log.warning("archive %s: cannot recover %s: %s", self.root, name, exc)
        stale, lost = [], []
        for rid, token, rel in conn.execute(
                "SELECT id, pending, path FROM instances WHERE pending IS NOT NULL").fetchall():
            pid = layout.temp_owner(token.removeprefix("u:"))
            if pid is None or (pid != me and not _pid_alive(pid)):
                # renamed (or finished above): keep; neither there nor in tmp/: never stored
                (stale if (self.root / rel).exists() else lost).append(rid)
        landing = [(d, o) for d, o in conn.execute("SELECT dir, owner FROM landing").fetchall()
                   if _owner_dead(o, me)]
        if not (stale or done or lost or landing):
            return
        self._begin(conn, full=True)
        try:
            conn.executemany("UPDATE instances SET pending = NULL WHERE id = ?", [(r,) for r in stale])
            touched: dict = {"series": set(), "studies": set(), "patients": set()}
            for rid in lost:
                seid = conn.execute("SELECT series_fk FROM instances WHERE id = ?", (rid,)).fetchone()[0]
                conn.execute("DELETE FROM instances WHERE id = ?", (rid,))
                touched["series"].add(seid)
            if lost:
                touched["moved"] = True
                log.info("archive %s: dropped %d index rows of stores that never finished", self.root, len(lost))
            for folder in sorted({d for d, _ in landing}):
                self._reconcile_folder(conn, folder, touched)
            conn.executemany("DELETE FROM landing WHERE dir = ? AND owner = ?", landing)
            self._refresh(conn, touched)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _reconcile_folder(self, conn: sqlite3.Connection, folder: str, touched: dict) -> None:
        """Index the files of a landing folder that the index lacks (inside a transaction)."""
        path = self.root / folder
        try:
            names = sorted(n for n in os.listdir(path) if n.endswith(".dcm"))
        except OSError:
            return
        prefix = folder.rstrip("/") + "/"
        have = {r[0] for r in conn.execute("SELECT path FROM instances WHERE path >= ? AND path < ?",
                                           (prefix, prefix[:-1] + "0"))}
        for name in names:
            rel = prefix + name
            if rel in have:
                continue
            if self._index_in_place(conn, path / name, rel, touched):
                log.warning("archive %s: indexed %s, whose index commit was lost (power cut?)", self.root, rel)

    def _index_in_place(self, conn: sqlite3.Connection, file: Path, rel: str, touched: dict) -> bool:
        """Index a file already in its place in the archive, under ``rel`` (inside a
        transaction); ``False`` (and a warning) when it cannot be read."""
        try:
            header = read(file, stop_before_pixels=True)
            ts = str(header.file_meta.get("TransferSyntaxUID") or _EXPLICIT_LE)
            p = self._prepared(header, "", file.stat().st_size, ts,
                               header.file_meta.get("SourceApplicationEntityTitle"))
        except (PacsnbError, OSError) as exc:
            log.warning("archive %s: cannot index %s: %s", self.root, rel, exc)
            return False
        p.tmp = None  # type: ignore[assignment]
        self._index_one(conn, p, touched, policy="keep")
        conn.execute("UPDATE instances SET path = ?, pending = NULL WHERE path = ?", (rel, p.relpath))
        return True

    def _clear_pending(self, conn: sqlite3.Connection) -> list[str]:
        """Inside or outside a transaction: forget the tokens of finished renames (returned,
        to give back with :meth:`_keep_pending` if the transaction is rolled back)."""
        with self._lock:
            tokens, self._renamed = self._renamed, []
        if tokens:
            conn.executemany("UPDATE instances SET pending = NULL WHERE pending = ?", [(t,) for t in tokens])
        return tokens

    def _keep_pending(self, tokens: list[str]) -> None:
        if tokens:
            with self._lock:
                self._renamed.extend(tokens)

    # --- preparing files --------------------------------------------------------------------

    def _tmp_write(self, chunks: Iterable[Any]) -> tuple[str, int]:
        """Write a file under ``tmp/``; when durable, its sync starts in a worker thread
        (waited for before the rename, see :meth:`_synced`), so that it overlaps the
        extraction of the index values and the index transaction."""
        name = layout.temp_name()
        path = self.root / layout.TMP / name
        fd = -1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb", closefd=False) as f:
                size = _write_chunks(f, chunks)
                f.flush()
            if self.durable:
                future = _sync_in_background(fd)
                fd = -1  # closed by the sync
                with self._lock:
                    self._syncing[name] = future
        except BaseException as exc:
            if fd >= 0:
                os.close(fd)
                fd = -1
            try:
                os.unlink(path)
            except OSError:
                pass
            if layout.is_out_of_space(exc):
                raise ArchiveFullError(f"{self.root}: the disk is full ({exc}); nothing was stored. "
                                       "Free some space and send the instance again") from exc
            raise
        finally:
            if fd >= 0:
                os.close(fd)
        return name, size

    def _synced(self, name: str) -> None:
        """Wait for the sync of a file written by :meth:`_tmp_write` (raises its error)."""
        with self._lock:
            future = self._syncing.pop(name, None)
        if future is not None:
            future.result()

    def _unlink_tmp(self, name: str) -> None:
        with self._lock:
            self._syncing.pop(name, None)
        try:
            os.unlink(self.root / layout.TMP / name)
        except OSError:
            pass

    def _transform(self, ds: Dataset, transforms: list[Callable]) -> Dataset:
        for fn in transforms:
            out = fn(ds)
            if out is not None:
                if not isinstance(out, Dataset):
                    raise ArchiveError(f"the transform {getattr(fn, '__name__', fn)!r} returned "
                                       f"{type(out).__name__}, not a Dataset (or None for in-place changes)")
                ds = out
        return ds

    def _prepared(self, header: Dataset, tmp: str, size: int, ts: str, source_ae: str | None,
                  sop_class: str | None = None, sop: str | None = None) -> _Prepared:
        rows = extract(header)
        uid_sop = rows["IMAGE"].get("SOPInstanceUID") or sop
        uid_class = rows["IMAGE"].get("SOPClassUID") or sop_class
        study = rows["STUDY"].get("StudyInstanceUID")
        series = rows["SERIES"].get("SeriesInstanceUID")
        missing = [n for n, v in (("SOPInstanceUID", uid_sop), ("StudyInstanceUID", study),
                                  ("SeriesInstanceUID", series)) if not v]
        if missing:
            if tmp:
                self._unlink_tmp(tmp)
            raise InvalidInstanceError(f"cannot archive an instance without {', '.join(missing)}"
                                       + (f" (SOP Instance UID {uid_sop})" if uid_sop else "")
                                       + ": nothing was stored")
        rows["IMAGE"]["SOPInstanceUID"] = uid_sop
        if uid_class:
            rows["IMAGE"]["SOPClassUID"] = uid_class
        rows["IMAGE"]["AvailableTransferSyntaxUID"] = json.dumps([ts])
        return _Prepared(tmp, rows, uid_sop, uid_class, study, series, ts, size, source_ae)

    def _prepare_dataset(self, ds: Dataset, source_ae: str | None) -> _Prepared:
        if self.on_ingest:
            ds = self._transform(ds, self.on_ingest)
        ts = str(ds.transfer_syntax or _EXPLICIT_LE)
        try:
            data = encode_file(ds, ts)
        except PacsnbError as exc:
            raise InvalidInstanceError(f"cannot archive this data set: {exc}") from exc
        tmp, size = self._tmp_write([data])
        return self._prepared(ds, tmp, size, ts, source_ae)

    def _prepare_file(self, source: Union[str, os.PathLike, bytes], source_ae: str | None) -> _Prepared:
        try:
            header = read(source, stop_before_pixels=True)
        except InvalidDicomError as exc:
            raise InvalidInstanceError(f"cannot archive: {exc}") from exc
        ts = header.file_meta.get("TransferSyntaxUID") if header.file_meta else None
        if self.on_ingest or not ts or header.preamble is None:
            full = read(source) if not isinstance(source, bytes) else read_bytes(source)
            return self._prepare_dataset(full, source_ae)
        if isinstance(source, bytes):
            tmp, size = self._tmp_write([source])
        else:
            with open(source, "rb") as f:
                tmp, size = self._tmp_write([f])
        return self._prepared(header, tmp, size, str(ts), source_ae or header.file_meta.get("SourceApplicationEntityTitle"))

    def _prepare_raw(self, data: Any, transfer_syntax: str, sop_class_uid: str | None,
                     sop_instance_uid: str | None, source_ae: str | None) -> _Prepared:
        ts = str(transfer_syntax)
        if self.on_ingest:
            raw = data.read() if hasattr(data, "read") else bytes(data)
            try:
                ds = read_bytes(raw, transfer_syntax=ts)
            except InvalidDicomError as exc:
                raise InvalidInstanceError(f"cannot archive: {exc}") from exc
            return self._prepare_dataset(ds, source_ae)
        from pacsnb.net.scp import file_meta_bytes  # pure helper of the network layer

        body = _in_memory(data)
        if body is not None:
            # parse the header where the bytes are (no read back from the disk), check and
            # extract the index rows, then write meta + data set in one go
            try:
                header = read_bytes(body, transfer_syntax=ts, stop_before_pixels=True)
            except PacsnbError as exc:
                raise InvalidInstanceError(f"cannot archive {sop_instance_uid or 'this data set'}: {exc}") from exc
            sop_class_uid = sop_class_uid or header.get("SOPClassUID")
            sop_instance_uid = sop_instance_uid or header.get("SOPInstanceUID")
            if not sop_class_uid or not sop_instance_uid:
                raise InvalidInstanceError("cannot archive raw data without SOP Class and SOP Instance UIDs "
                                           "(pass sop_class_uid= and sop_instance_uid=)")
            missing = [n for n in ("StudyInstanceUID", "SeriesInstanceUID") if not header.get(n)]
            if missing:  # (checked again, with the values as indexed, by _prepared)
                raise InvalidInstanceError(f"cannot archive an instance without {', '.join(missing)} "
                                           f"(SOP Instance UID {sop_instance_uid}): nothing was stored")
            meta = file_meta_bytes(str(sop_class_uid), str(sop_instance_uid), ts, source_ae_title=source_ae)
            tmp, size = self._tmp_write([meta, body])  # its sync runs while the values are extracted
            return self._prepared(header, tmp, size, ts, source_ae, str(sop_class_uid), str(sop_instance_uid))
        if hasattr(data, "seek"):
            data.seek(0)
        if not sop_class_uid or not sop_instance_uid:
            head = data.read(1 << 16) if hasattr(data, "read") else bytes(data[:1 << 16])
            if hasattr(data, "seek"):
                data.seek(0)
            try:
                probe = read_bytes(head, transfer_syntax=ts, stop_before_pixels=True)
                sop_class_uid = sop_class_uid or probe.get("SOPClassUID")
                sop_instance_uid = sop_instance_uid or probe.get("SOPInstanceUID")
            except PacsnbError:
                pass
            if not sop_class_uid or not sop_instance_uid:
                raise InvalidInstanceError("cannot archive raw data without SOP Class and SOP Instance UIDs "
                                           "(pass sop_class_uid= and sop_instance_uid=)")
        meta = file_meta_bytes(str(sop_class_uid), str(sop_instance_uid), ts, source_ae_title=source_ae)
        tmp, size = self._tmp_write([meta, data])
        try:
            header = read(self.root / layout.TMP / tmp, stop_before_pixels=True)
        except (InvalidDicomError, OSError) as exc:
            self._unlink_tmp(tmp)
            raise InvalidInstanceError(f"cannot archive {sop_instance_uid}: {exc}") from exc
        return self._prepared(header, tmp, size, ts, source_ae, str(sop_class_uid), str(sop_instance_uid))

    def _prepare(self, item: Any, source_ae: str | None) -> _Prepared:
        if isinstance(item, Dataset):
            return self._prepare_dataset(item, source_ae)
        if isinstance(item, (str, os.PathLike, bytes)):
            return self._prepare_file(item, source_ae)
        raise TypeError(f"store() takes a Dataset, a path or the bytes of a Part 10 file, not {type(item).__name__}")

    # --- indexing ---------------------------------------------------------------------------

    def _upsert(self, conn: sqlite3.Connection, level: str, row: dict, conflict: str,
                parent: tuple[str, int] | None, touched: dict | None = None,
                new: set | None = None) -> int:
        """The id of the row of ``level`` with these values (inserted, or updated with the
        values it lacked); ``(level, id)`` goes into ``new`` when the row is new."""
        cols = dict(row)
        if parent:
            cols[parent[0]] = parent[1]
        names = list(cols)
        quoted = ", ".join(f'"{n}"' for n in names)
        # the row is there already with these values (the usual case: the next instance of a
        # series): read it, and write nothing (an upsert rewrites the row and its indexes)
        keys = [c.strip().strip('"') for c in conflict.split(",")]
        have = None
        if all(cols.get(k) is not None for k in keys):
            have = conn.execute(f"SELECT id, {quoted} FROM {TABLES[level]} WHERE "
                                + " AND ".join(f'"{k}" = ?' for k in keys), [cols[k] for k in keys]).fetchone()
            if have is not None:
                if all(v is None or v == h for v, h in zip((cols[n] for n in names), have[1:])):
                    return have[0]
                old_parent = have[1 + names.index(parent[0])] if parent else None
                if parent and touched is not None and old_parent != parent[1]:
                    # to another parent: the old one's counts change, it may be left empty
                    touched["moved"] = True
                    touched["patients" if parent[0] == "patient_fk" else "studies"].add(old_parent)
                if touched is not None and level == "SERIES" and cols.get("Modality") is not None \
                        and have[1 + names.index("Modality")] != cols["Modality"]:
                    touched["moved"] = True  # Modalities in Study is recomputed, not merged
        marks = ", ".join("?" * len(names))
        updates = ", ".join(f'"{n}" = COALESCE(excluded."{n}", "{n}")' for n in names
                            if n not in ("PatientID", "IssuerOfPatientID"))
        sql = (f"INSERT INTO {TABLES[level]} ({quoted}) VALUES ({marks}) ON CONFLICT({conflict}) "
               f"DO UPDATE SET {updates or 'id = id'} RETURNING id")
        rid = conn.execute(sql, [cols[n] for n in names]).fetchone()[0]
        if have is None and new is not None:
            new.add((level, rid))
        return rid

    def _free_relpath(self, conn: sqlite3.Connection, p: _Prepared) -> str:
        copy = 1
        while True:
            rel = layout.instance_relpath(p.study, p.series, p.sop, copy)
            taken = conn.execute("SELECT 1 FROM instances WHERE path = ?", (rel,)).fetchone()
            if not taken and not (copy > 1 and (self.root / rel).exists()):
                return rel
            copy += 1

    def _index_one(self, conn: sqlite3.Connection, p: _Prepared, touched: dict, policy: str | None = None) -> None:
        policy = policy or self.duplicates
        old = conn.execute('SELECT id, path, series_fk FROM instances WHERE "SOPInstanceUID" = ? ORDER BY id',
                           (p.sop,)).fetchall()
        if old and policy == "reject":
            raise DuplicateInstanceError(f"SOP Instance {p.sop} is already in the archive {self.root} "
                                         f"(duplicates='reject'); nothing was stored", p.sop)
        if old and policy == "replace":
            p.relpath, p.action = old[0][1], "replaced"
            p.old_paths = [r[1] for r in old[1:]]
            conn.executemany("DELETE FROM instances WHERE id = ?", [(r[0],) for r in old])
            touched["series"].update(r[2] for r in old)
            touched["moved"] = True
        else:
            p.relpath = self._free_relpath(conn, p)
            p.action = "kept" if old else "stored"
        rows = p.rows
        patient = dict(rows["PATIENT"])
        patient.setdefault("PatientID", "")
        patient.setdefault("IssuerOfPatientID", "")
        created: set = set()
        pid = self._upsert(conn, "PATIENT", patient, '"PatientID", "IssuerOfPatientID"', None, new=created)
        sid = self._upsert(conn, "STUDY", rows["STUDY"], '"StudyInstanceUID"', ("patient_fk", pid), touched,
                           new=created)
        seid = self._upsert(conn, "SERIES", rows["SERIES"], '"SeriesInstanceUID"', ("study_fk", sid), touched,
                            new=created)
        inst = dict(rows["IMAGE"])
        inst.update(series_fk=seid, path=p.relpath, transfer_syntax=p.transfer_syntax, size=p.size,
                    source_ae=p.source_ae, pending=p.token if p.tmp else None, attrs=rows.get("attrs"))
        names = list(inst)
        conn.execute(f"INSERT INTO instances ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                     f"VALUES ({', '.join('?' * len(names))})", [inst[n] for n in names])
        touched["series"].add(seid)
        touched["studies"].add(sid)
        touched["patients"].add(pid)
        # what was added, for the counts (see _refresh; recorded once the row is in)
        touched.setdefault("new", set()).update(created)
        added = touched.setdefault("added", {}).setdefault(seid, [sid, pid, 0, set()])
        added[2] += 1
        if rows["SERIES"].get("Modality"):
            added[3].add(rows["SERIES"]["Modality"])
        if p.sop_class:
            touched.setdefault("classes", {}).setdefault(sid, set()).add(str(p.sop_class))

    def _refresh(self, conn: sqlite3.Connection, touched: dict) -> None:
        """Recompute the derived attributes of the touched entities; drop empty ones.

        When instances were only added (``touched["classes"]`` says which SOP classes, by
        study, and nothing was removed or moved), the SOP classes of a study are the ones
        it had plus the new ones, and no patient can have been left without studies: the
        two queries that read a whole study or every patient are skipped."""
        added_only = "classes" in touched and not touched.get("moved")
        if added_only and touched.get("added") and set(touched["added"]) == set(touched["series"]):
            self._refresh_added(conn, touched)
            return
        studies, patients = set(touched["studies"]), set(touched["patients"])
        for seid in touched["series"]:
            r = conn.execute("SELECT study_fk FROM series WHERE id = ?", (seid,)).fetchone()
            if r is None:
                continue
            studies.add(r[0])
            n = conn.execute("SELECT COUNT(*) FROM instances WHERE series_fk = ?", (seid,)).fetchone()[0]
            if n == 0:
                conn.execute("DELETE FROM series WHERE id = ?", (seid,))
            else:
                conn.execute('UPDATE series SET "NumberOfSeriesRelatedInstances" = ? WHERE id = ?', (n, seid))
        for sid in studies:
            r = conn.execute("SELECT patient_fk FROM studies WHERE id = ?", (sid,)).fetchone()
            if r is None:
                continue
            patients.add(r[0])
            n_series, n_inst = conn.execute(
                'SELECT COUNT(*), COALESCE(SUM("NumberOfSeriesRelatedInstances"), 0) FROM series WHERE study_fk = ?',
                (sid,)).fetchone()
            if n_series == 0:
                conn.execute("DELETE FROM studies WHERE id = ?", (sid,))
                continue
            mods = [m for (m,) in conn.execute(
                'SELECT DISTINCT "Modality" FROM series WHERE study_fk = ? AND "Modality" IS NOT NULL '
                'ORDER BY "Modality"', (sid,))]
            if added_only:
                had = conn.execute('SELECT "SOPClassesInStudy" FROM studies WHERE id = ?', (sid,)).fetchone()[0]
                classes = sorted(set(json.loads(had) if had else ()) | touched["classes"].get(sid, set()))
            else:
                classes = [c for (c,) in conn.execute(
                    'SELECT DISTINCT i."SOPClassUID" FROM instances i JOIN series se ON i.series_fk = se.id '
                    'WHERE se.study_fk = ? AND i."SOPClassUID" IS NOT NULL ORDER BY 1', (sid,))]
            conn.execute('UPDATE studies SET "NumberOfStudyRelatedSeries" = ?, "NumberOfStudyRelatedInstances" = ?, '
                         '"ModalitiesInStudy" = ?, "SOPClassesInStudy" = ? WHERE id = ?',
                         (n_series, n_inst, json.dumps(mods) if mods else None,
                          json.dumps(classes) if classes else None, sid))
        if not added_only:  # studies that moved to another patient leave their old patient behind
            patients.update(r[0] for r in conn.execute(
                "SELECT p.id FROM patients p WHERE NOT EXISTS (SELECT 1 FROM studies st WHERE st.patient_fk = p.id)"))
        for pid in patients:
            n_st, n_se, n_in = conn.execute(
                'SELECT COUNT(*), COALESCE(SUM("NumberOfStudyRelatedSeries"), 0), '
                'COALESCE(SUM("NumberOfStudyRelatedInstances"), 0) FROM studies WHERE patient_fk = ?',
                (pid,)).fetchone()
            if n_st == 0:
                conn.execute("DELETE FROM patients WHERE id = ?", (pid,))
            else:
                conn.execute('UPDATE patients SET "NumberOfPatientRelatedStudies" = ?, '
                             '"NumberOfPatientRelatedSeries" = ?, "NumberOfPatientRelatedInstances" = ? WHERE id = ?',
                             (n_st, n_se, n_in, pid))

    def _refresh_added(self, conn: sqlite3.Connection, touched: dict) -> None:
        """:meth:`_refresh` when instances were only added: the counts grow by what was
        added, and the study's modalities and SOP classes by the new ones (no count over
        a whole series, study or patient, so a store costs the same in a series of 10 or
        of 10,000 instances)."""
        new = touched.get("new", set())
        studies: dict = {}
        for seid, (sid, pid, n, mods) in touched["added"].items():
            conn.execute('UPDATE series SET "NumberOfSeriesRelatedInstances" = '
                         'COALESCE("NumberOfSeriesRelatedInstances", 0) + ? WHERE id = ?', (n, seid))
            st = studies.setdefault(sid, [pid, 0, 0, set()])
            st[1] += n
            st[2] += ("SERIES", seid) in new
            st[3] |= mods
        patients: dict = {}
        for sid, (pid, n, n_series, mods) in studies.items():
            had_mods, had_classes = conn.execute('SELECT "ModalitiesInStudy", "SOPClassesInStudy" FROM studies '
                                                 'WHERE id = ?', (sid,)).fetchone()
            mods = sorted(set(json.loads(had_mods) if had_mods else ()) | mods)
            classes = sorted(set(json.loads(had_classes) if had_classes else ()) | touched["classes"].get(sid, set()))
            conn.execute('UPDATE studies SET "NumberOfStudyRelatedSeries" = COALESCE("NumberOfStudyRelatedSeries", 0) + ?, '
                         '"NumberOfStudyRelatedInstances" = COALESCE("NumberOfStudyRelatedInstances", 0) + ?, '
                         '"ModalitiesInStudy" = ?, "SOPClassesInStudy" = ? WHERE id = ?',
                         (n_series, n, json.dumps(mods) if mods else None, json.dumps(classes) if classes else None, sid))
            pa = patients.setdefault(pid, [0, 0, 0])
            pa[0] += ("STUDY", sid) in new
            pa[1] += n_series
            pa[2] += n
        for pid, (n_studies, n_series, n) in patients.items():
            conn.execute('UPDATE patients SET '
                         '"NumberOfPatientRelatedStudies" = COALESCE("NumberOfPatientRelatedStudies", 0) + ?, '
                         '"NumberOfPatientRelatedSeries" = COALESCE("NumberOfPatientRelatedSeries", 0) + ?, '
                         '"NumberOfPatientRelatedInstances" = COALESCE("NumberOfPatientRelatedInstances", 0) + ? '
                         'WHERE id = ?', (n_studies, n_series, n, pid))

    def _commit(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")

    def _ingest(self, prepared: list[_Prepared], *, errors: str = "raise", callbacks: bool = True) -> list:
        """Index the prepared files in one transaction, then move them into place.

        The caller holds :meth:`_exclusive` (or is the group-commit leader). ``errors``:
        ``"raise"`` (all or nothing), ``"skip"`` (log and leave out the instances that
        cannot be indexed) or ``"each"`` (return, in the order of ``prepared``, a
        :class:`StoreResult` or the exception of each instance)."""
        conn = self._conn()
        dirs = {}
        for p in prepared:  # folders first: nothing that can fail is left after the commit
            rel_dir = layout.instance_relpath(p.study, p.series, p.sop).rsplit("/", 1)[0]
            dirs[rel_dir] = None
            folder = self.root / rel_dir
            if not folder.is_dir():
                new_study = not folder.parent.is_dir()
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    for q in prepared:
                        self._unlink_tmp(q.tmp)
                    if layout.is_out_of_space(exc):
                        raise ArchiveFullError(f"{self.root}: the disk is full ({exc}); nothing was stored") from exc
                    raise
                if self.durable:  # the new folders' entries
                    layout.fsync_dir(str(folder.parent))
                    if new_study:
                        layout.fsync_dir(str(folder.parent.parent))
        # landing folders: a folder not yet marked is marked by this commit, which is then
        # synced; into marked folders the commits need not be (see the class docstring)
        now = time.monotonic()
        new_dirs = [d for d in dirs if d not in self._hot] if self.durable else []
        full = bool(new_dirs) or self.duplicates != "reject"
        released: list[str] = []
        if new_dirs and self._hot:
            by_age = sorted(self._hot, key=self._hot.__getitem__)
            excess = len(self._hot) + len(new_dirs) - _HOT_MAX
            released = [d for i, d in enumerate(by_age)
                        if d not in dirs and (i < excess or now - self._hot[d] > _HOT_SECONDS)]
        # a file's sync may still run when its row is committed (it overlaps the indexing):
        # its row says so (``u:`` before the token: the next open drops it if the file is
        # still in tmp/, never finishing a store whose file may not be on the disk); before
        # a synced commit the files are synced first
        unsynced = self.durable and not full
        for p in prepared:
            p.token = f"u:{p.tmp}" if unsynced else p.tmp
        outcomes: list[Any] = [None] * len(prepared)
        done: list[int] = []
        touched: dict = {"series": set(), "studies": set(), "patients": set()}
        tokens: list[str] = []
        try:
            self._begin(conn, full=full)
            try:
                tokens = self._clear_pending(conn)
                if new_dirs:
                    conn.executemany("INSERT OR IGNORE INTO landing (dir, owner) VALUES (?, ?)",
                                     [(d, self._owner) for d in new_dirs])
                if released:  # this commit is synced: the rows stored into them are durable
                    conn.executemany("DELETE FROM landing WHERE dir = ? AND owner = ?",
                                     [(d, self._owner) for d in released])
                for n, p in enumerate(prepared):
                    if errors != "raise" and len(prepared) > 1:
                        conn.execute("SAVEPOINT one")
                        try:
                            self._index_one(conn, p, touched)
                        except (ArchiveError, sqlite3.IntegrityError) as exc:
                            conn.execute("ROLLBACK TO one")
                            conn.execute("RELEASE one")
                            self._unlink_tmp(p.tmp)
                            if errors == "skip":
                                log.warning("archive %s: %s not stored: %s", self.root, p.sop, exc)
                            else:
                                outcomes[n] = exc if isinstance(exc, ArchiveError) else ArchiveError(
                                    f"{self.root}: {p.sop} cannot be indexed: {exc}")
                            continue
                        conn.execute("RELEASE one")
                    else:
                        try:
                            self._index_one(conn, p, touched)
                        except (ArchiveError, sqlite3.IntegrityError) as exc:
                            if errors == "raise":
                                raise
                            # a single instance: nothing else in the transaction to keep
                            conn.execute("ROLLBACK")
                            self._keep_pending(tokens)
                            self._unlink_tmp(p.tmp)
                            if errors == "skip":
                                log.warning("archive %s: %s not stored: %s", self.root, p.sop, exc)
                                return []
                            return [exc if isinstance(exc, ArchiveError) else
                                    ArchiveError(f"{self.root}: {p.sop} cannot be indexed: {exc}")]
                    done.append(n)
                self._refresh(conn, touched)
                if not unsynced:
                    for n in done:
                        self._synced(prepared[n].tmp)
                self._commit(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as exc:
            self._keep_pending(tokens)
            for p in prepared:
                self._unlink_tmp(p.tmp)
            if layout.is_out_of_space(exc):
                raise ArchiveFullError(f"{self.root}: the disk is full ({exc}); nothing was stored. "
                                       "Free some space and send the instances again") from exc
            if isinstance(exc, sqlite3.Error):
                raise ArchiveError(f"{self.root}: the index cannot be written: {exc}") from exc
            raise
        if self.durable:
            for d in dirs:
                self._hot[d] = now
            for d in released:
                self._hot.pop(d, None)
        # committed: move the files into place (a crash here is finished by the next open)
        folders = set()
        failed = []
        for n in done:
            p = prepared[n]
            dst = self.root / p.relpath
            try:
                self._synced(p.tmp)  # the data is on the disk before the file is in place
                os.replace(self.root / layout.TMP / p.tmp, dst)
                folders.add(str(dst.parent))
            except OSError as exc:
                failed.append((n, exc))
        for old in (o for n in done for o in prepared[n].old_paths):
            try:
                os.unlink(self.root / old)
            except OSError:
                pass
        if self.durable:
            for folder in folders:  # one sync per folder, for every instance renamed into it
                layout.fsync_dir(folder)
        failed_ids = {n for n, _ in failed}
        with self._lock:
            self._renamed.extend(prepared[n].token for n in done if n not in failed_ids)
        if failed:
            errs = self._undo([(prepared[n], exc) for n, exc in failed])
            if errors != "each":
                raise errs[0]
            for (n, _), err in zip(failed, errs):
                outcomes[n] = err
        results = []
        for n in done:
            if n in failed_ids:
                continue
            p = prepared[n]
            r = StoreResult(p.sop, p.sop_class, p.study, p.series, self.root / p.relpath, p.transfer_syntax,
                            p.size, p.action)
            results.append(r)
            outcomes[n] = r
            if callbacks:
                self._stored(r)
        return outcomes if errors == "each" else results

    def _stored(self, r: StoreResult) -> None:
        for fn in self.on_stored:
            try:
                fn(r)
            except Exception:
                log.exception("archive %s: the on_stored callback failed for %s", self.root, r.sop_instance_uid)

    def _undo(self, failed: list) -> list[ArchiveError]:
        """The files of committed rows could not be moved into place: drop those rows; the
        errors to give for them."""
        conn = self._conn()
        self._begin(conn, full=True)
        touched: dict = {"series": set(), "studies": set(), "patients": set()}
        for p, _ in failed:
            for rid, seid in conn.execute("SELECT id, series_fk FROM instances WHERE pending = ?",
                                          (p.token,)).fetchall():
                conn.execute("DELETE FROM instances WHERE id = ?", (rid,))
                touched["series"].add(seid)
            self._unlink_tmp(p.tmp)
        self._refresh(conn, touched)
        conn.execute("COMMIT")
        errs: list[ArchiveError] = []
        for p, exc in failed:
            if layout.is_out_of_space(exc):
                err: ArchiveError = ArchiveFullError(f"{self.root}: the disk is full ({exc}); {p.sop} was not stored")
            else:
                err = ArchiveError(f"{self.root}: cannot move {p.sop} into place: {exc}; it was not stored")
            err.__cause__ = exc
            errs.append(err)
        return errs

    def _submit(self, p: _Prepared) -> StoreResult:
        """Index one prepared instance with whatever other threads are storing at the same
        time (group commit): the first to come indexes the queue, the others wait."""
        ticket: list = [p, None]
        batch = None
        with self._gc:
            self._queue.append(ticket)
            while ticket[1] is None and self._leading:
                self._gc.wait()
            if ticket[1] is None:
                self._leading = True
                batch, self._queue = self._queue, []
        if batch is not None:
            outcomes: list = []
            try:
                outcomes = self._ingest([t[0] for t in batch], errors="each", callbacks=False)
            except BaseException as exc:
                outcomes = [exc] * len(batch)
            finally:
                with self._gc:
                    for t, o in zip(batch, outcomes or [ArchiveError("the store was interrupted")] * len(batch)):
                        t[1] = o
                    self._leading = False
                    self._gc.notify_all()
        outcome = ticket[1]
        if isinstance(outcome, BaseException):
            raise outcome
        self._stored(outcome)
        return outcome

    # --- storing ----------------------------------------------------------------------------

    def store(self, item: Source, *, source_ae_title: str | None = None) -> StoreResult:
        """Store one instance: a :class:`~pacsnb.dicom.Dataset`, a Part 10 file's path, or its bytes.

        A file (or a data set read from a file and not changed) is copied byte for byte,
        whatever its transfer syntax; a data set is written in the transfer syntax it was
        read in (explicit VR little endian for a new one). The ``on_ingest`` transforms
        run first (then the data set is written anew).

        Parameters
        ----------
        item
            The instance.
        source_ae_title
            The AE title it came from (kept in the index).

        Returns
        -------
        StoreResult

        Raises
        ------
        DuplicateInstanceError
            With ``duplicates="reject"``, for a SOP Instance UID already stored.
        ArchiveFullError
            When the disk is full; nothing was stored.
        InvalidInstanceError
            When the data lacks Study, Series or SOP Instance UID, or is not DICOM.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import write_sample_file
        >>> archive = Archive(tempfile.mkdtemp())
        >>> r = archive.store(write_sample_file("/tmp/pacsnb-doc-archive-store.dcm"))
        >>> r.action, archive.read(r.sop_instance_uid).Modality
        ('stored', 'CT')
        """
        return self._submit(self._prepare(item, source_ae_title))

    def store_raw(self, data: Any, transfer_syntax: str, *, sop_class_uid: str | None = None,
                  sop_instance_uid: str | None = None, source_ae_title: str | None = None) -> StoreResult:
        """Store a data set received as bytes (as C-STORE gives it), without decoding it.

        The File Meta Information is made from the UIDs and the transfer syntax; the data
        set's bytes are written after it as they are. Data in memory (bytes, a buffer, an
        in-memory spool file) is indexed from there, its header parsed where it is; a file
        object on disk (a large spooled C-STORE) is streamed in blocks, never held in
        memory, and its header read back from the written file. With ``on_ingest``
        transforms the data set is decoded, transformed and written anew.

        Parameters
        ----------
        data
            The data set's bytes (``bytes``, ``memoryview``) or a binary file object.
        transfer_syntax
            The transfer syntax the bytes are in.
        sop_class_uid, sop_instance_uid
            From the C-STORE command (read from the data set when not given).
        source_ae_title
            The calling AE title.

        Returns
        -------
        StoreResult

        Raises
        ------
        DuplicateInstanceError, ArchiveFullError, InvalidInstanceError
            As :meth:`store`.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.io import encode_dataset
        >>> from pacsnb.samples import make_ct_series
        >>> ds = make_ct_series(n_slices=1, rows=16, columns=16)[0]
        >>> archive = Archive(tempfile.mkdtemp())
        >>> r = archive.store_raw(encode_dataset(ds, "1.2.840.10008.1.2"), "1.2.840.10008.1.2",
        ...                       sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID,
        ...                       source_ae_title="CT1")
        >>> r.transfer_syntax, archive.instances().source_ae.tolist()
        ('1.2.840.10008.1.2', ['CT1'])
        """
        p = self._prepare_raw(data, transfer_syntax, sop_class_uid, sop_instance_uid, source_ae_title)
        return self._submit(p)

    def store_many(self, items: Iterable[Source], *, progress: bool = True, errors: str = "raise",
                   batch: int = 500) -> list[StoreResult]:
        """Store many instances, ``batch`` of them per transaction (much faster than
        :meth:`store` one by one).

        Parameters
        ----------
        items
            Data sets, paths or bytes, as :meth:`store` takes.
        progress
            Show a progress bar.
        errors
            ``"raise"``: stop at the first instance that cannot be stored (the batches
            before it stay stored, the failing batch is not); ``"skip"``: log it and go on.
        batch
            Instances per transaction.

        Returns
        -------
        list of StoreResult
            One per stored instance.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> series = make_ct_series(n_slices=4, rows=16, columns=16)
        >>> len(archive.store_many(series + series[:1], progress=False, errors="skip"))
        4
        """
        if errors not in ("raise", "skip"):
            raise ArchiveError(f"errors={errors!r}: use 'raise' or 'skip'")
        from tqdm.auto import tqdm

        total = len(items) if hasattr(items, "__len__") else None
        results: list[StoreResult] = []
        pending: list[_Prepared] = []
        bar = tqdm(total=total, disable=not progress, desc="store", unit="file")
        try:
            for item in items:
                try:
                    pending.append(self._prepare(item, None))
                except (InvalidInstanceError, TypeError) as exc:
                    if errors == "raise":
                        raise
                    log.warning("archive %s: not stored: %s", self.root, exc)
                    bar.update(1)
                    continue
                except BaseException:
                    for p in pending:
                        self._unlink_tmp(p.tmp)
                    raise
                if len(pending) >= batch:
                    results += self._ingest_batch(pending, errors)
                    bar.update(len(pending))
                    pending = []
            if pending:
                results += self._ingest_batch(pending, errors)
                bar.update(len(pending))
        finally:
            bar.close()
        return results

    def _ingest_batch(self, pending: list[_Prepared], errors: str) -> list[StoreResult]:
        with self._exclusive():
            results = self._ingest(pending, errors=errors, callbacks=False)
        for r in results:  # outside: a callback may store too
            self._stored(r)
        return results

    # --- queries ----------------------------------------------------------------------------

    def _sql(self, level: str, keys: Mapping[str, Any], *, model: str, combined_datetime: bool,
             extra_select: Iterable[str] = ()) -> tuple[str, list, list[str]]:
        level = _level(level)
        depth = LEVELS.index(level)
        levels = LEVELS[:depth + 1]
        params: list = []
        where: list[str] = []
        from pacsnb.archive.matching import _Aliases

        aliases = _Aliases()
        keys = dict(keys)
        if combined_datetime:
            for d, t in _DATE_TIME:
                if d in keys and t in keys and is_key(d) and _key(d).level in levels:
                    c = combined_datetime_condition(_key(d), _key(t), _ALIAS[_key(d).level], keys[d], keys[t], params)
                    if c is not None:
                        where.append(c)
                        keys[d] = keys[t] = None
        for kw, value in keys.items():
            if not is_key(kw):
                if lookup_keyword(kw) is None:
                    raise InvalidQueryError(f"{kw!r} is not a DICOM keyword (check the spelling: CamelCase, "
                                            "e.g. PatientName)")
                continue  # an attribute without a column: a return key only (C.2.2.1.2)
            k = _key(kw)
            if k.level not in levels:
                raise InvalidQueryError(
                    f"{kw} is a {k.level} key; a {level} query cannot match on it (query at the {k.level} "
                    "level, or use ModalitiesInStudy / the level's own keys)")
            c = condition(k, _ALIAS[k.level], value, params, pn_case_sensitive=self.pn_case_sensitive,
                          aliases=aliases)
            if c is not None:
                where.append(c)
        select = []
        names = []
        for lv in levels:
            a = _ALIAS[lv]
            select.append(f"{a}.id")
            names.append(f"_{lv}_id")
            for k in KEYS[lv]:
                select.append(f'{a}."{k.keyword}"')
                names.append(k.keyword)
        if level == "IMAGE":
            for col in ("path", "transfer_syntax", "size", "stored_at", "source_ae", "pending", "attrs"):
                select.append(f"i.{col}")
                names.append(col)
        for expr, name in extra_select:
            select.append(expr)
            names.append(name)
        sql = f"SELECT {', '.join(select)} FROM patients p " + " ".join(_JOIN[lv] for lv in levels[1:])
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + _ORDER[level]
        return sql, params, names

    def _rows(self, level: str, keys: Mapping[str, Any], *, model: str = "STUDY", combined_datetime: bool = False,
              want_attrs: bool = False, limit: int | None = None) -> Iterator[dict]:
        extra = []
        level = _level(level)
        if want_attrs and level != "IMAGE":
            link = {"PATIENT": "st2.patient_fk = p.id", "STUDY": "se2.study_fk = st.id",
                    "SERIES": "i2.series_fk = se.id"}[level]
            sub = ("(SELECT i2.attrs FROM instances i2 JOIN series se2 ON i2.series_fk = se2.id "
                   "JOIN studies st2 ON se2.study_fk = st2.id WHERE " + link + " LIMIT 1)")
            extra.append((sub, "attrs"))
        sql, params, names = self._sql(level, keys, model=model, combined_datetime=combined_datetime,
                                       extra_select=extra)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        cur = self._conn().execute(sql, params)
        while True:
            batch = cur.fetchmany(256)
            if not batch:
                return
            for r in batch:
                yield dict(zip(names, r))

    def explain(self, level: str, **keys: Any) -> list[str]:
        """SQLite's query plan for a query (to check that it uses the indexes).

        Parameters
        ----------
        level
            ``"PATIENT"``, ``"STUDY"``, ``"SERIES"`` or ``"IMAGE"``.
        **keys
            As :meth:`find`.

        Returns
        -------
        list of str
            The lines of ``EXPLAIN QUERY PLAN``.

        Examples
        --------
        >>> import tempfile
        >>> plan = Archive(tempfile.mkdtemp()).explain("STUDY", PatientID="PNB0000001")
        >>> any("USING INDEX" in line for line in plan)
        True
        """
        sql, params, _ = self._sql(level, keys, model="STUDY", combined_datetime=False)
        return [r[-1] for r in self._conn().execute("EXPLAIN QUERY PLAN " + sql, params)]

    def find_iter(self, level: str | None = None, identifier: Dataset | Mapping[str, Any] | None = None, *,
                  model: str = "STUDY", combined_datetime: bool = False, limit: int | None = None,
                  **keys: Any) -> Iterator[Dataset]:
        """The C-FIND answers to a query, one identifier :class:`~pacsnb.dicom.Dataset` per match.

        Each answer holds every key of the query (matching and return keys) with the
        entity's values, the unique keys of the levels above, Query/Retrieve Level,
        Specific Character Set (the query's when it can encode the answer, else
        ``ISO_IR 192``), and Retrieve AE Title when the archive has one. Keys without a
        column in the index are answered from the stored instances.

        Parameters
        ----------
        level
            ``"PATIENT"``, ``"STUDY"``, ``"SERIES"`` or ``"IMAGE"`` (default: the
            identifier's Query/Retrieve Level).
        identifier
            The query as a data set (as C-FIND receives it) or a dict of keys.
        model
            ``"STUDY"`` (Study Root) or ``"PATIENT"`` (Patient Root): which unique keys of
            higher levels the answers carry.
        combined_datetime
            Combined date and time range matching (negotiated by the SCU, PS3.4 C.2.2.2.5).
        limit
            At most this many answers.
        **keys
            More keys, by keyword.

        Yields
        ------
        Dataset

        Raises
        ------
        InvalidQueryError
            For a key that is not a keyword, a key below the query level, a value that
            cannot be matched.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> _ = archive.store_many(make_ct_series(n_slices=2, rows=16, columns=16), progress=False)
        >>> answer = next(archive.find_iter("SERIES", Modality="CT", SeriesNumber=None))
        >>> answer.QueryRetrieveLevel, answer.Modality, answer.SeriesNumber, "StudyInstanceUID" in answer
        ('SERIES', 'CT', '1', True)
        """
        query, charset = _query_keys(identifier)
        query.update(keys)
        qrl = query.pop("QueryRetrieveLevel", None)
        level = _level(level or qrl or "")
        query.pop("SpecificCharacterSet", None)
        for drop in ("RetrieveAETitle", "InstanceAvailability"):
            query.pop(drop, None)
        top = 0 if str(model).upper().startswith("P") else 1
        uniques = [UNIQUE[lv] for lv in LEVELS[top:LEVELS.index(level) + 1]]
        want_attrs = any(not is_key(kw) for kw in query)
        for row in self._rows(level, query, model=model, combined_datetime=combined_datetime,
                              want_attrs=want_attrs, limit=limit):
            yield self._identifier(row, level, query, uniques, charset)

    def _identifier(self, row: dict, level: str, query: Mapping[str, Any], uniques: list[str],
                    charset: str | None) -> Dataset:
        ds = Dataset()
        attrs = None
        texts: list[str] = []
        wanted = list(dict.fromkeys(uniques + list(query)))
        for kw in wanted:
            entry = lookup_keyword(kw)
            if entry is None:
                continue
            if is_key(kw):
                k = _key(kw)
                value = _answer_value(k, row.get(kw), query.get(kw))
            else:
                if attrs is None:
                    attrs = json.loads(row.get("attrs") or "{}")
                value = attrs.get(kw)
                if value is not None and entry.vr not in ("SQ",):
                    value = value.split("\\") if "\\" in value else value
            vr = entry.vr.split()[0]
            ds.add_new(entry.tag, vr, value)
            _collect_text(value, texts)
        ds.add_new(0x00080052, "CS", level)
        if self.retrieve_ae_title:
            ds.add_new(0x00080054, "AE", self.retrieve_ae_title)
        cs = _answer_charset(texts, charset)
        if cs:
            ds.add_new(0x00080005, "CS", cs)
        return ds

    def find(self, level: str, identifier: Dataset | Mapping[str, Any] | None = None, *,
             combined_datetime: bool = False, limit: int | None = None, **keys: Any):
        """Query the archive; one row per matching entity, as a ``pandas.DataFrame``.

        Matching is PS3.4 C.2.2.2's (see :mod:`pacsnb.archive.matching`): ``"DOE*"``,
        ``"20240101-"``, ``"1.2.3\\\\1.2.4"``, ``ProcedureCodeSequence=[{"CodeValue": "X"}]``...

        Parameters
        ----------
        level
            ``"PATIENT"``, ``"STUDY"``, ``"SERIES"`` or ``"IMAGE"`` (``"INSTANCE"`` too).
        identifier
            Keys as a data set or a dict (merged with ``**keys``).
        combined_datetime
            Combined date and time range matching.
        limit
            At most this many rows.
        **keys
            Matching keys by keyword (``None`` or ``""``: any value).

        Returns
        -------
        pandas.DataFrame
            The level's columns (for STUDY, the patient's too; for SERIES and IMAGE the
            unique keys above), multi-valued attributes as lists, sequences as lists of
            dicts; for IMAGE also ``path`` (absolute), ``transfer_syntax``, ``size``,
            ``stored_at`` and ``source_ae``.

        Raises
        ------
        InvalidQueryError
            As :meth:`find_iter`.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_study
        >>> archive = Archive(tempfile.mkdtemp())
        >>> _ = archive.store_many(make_study("MR", n_series=2, n_slices=2, rows=16, columns=16), progress=False)
        >>> archive.find("SERIES", SeriesNumber="2")[["Modality", "SeriesNumber"]].values.tolist()
        [['MR', '2']]
        >>> archive.find("STUDY", StudyDate="-19000101").empty
        True
        """
        import pandas as pd

        level = _level(level)
        query, _ = _query_keys(identifier)
        query.update(keys)
        query.pop("QueryRetrieveLevel", None)
        query.pop("SpecificCharacterSet", None)
        columns = _frame_columns(level)
        extra = [kw for kw in query if kw not in columns and not kw.startswith("_")]
        records = []
        want_attrs = any(not is_key(kw) for kw in extra)
        for row in self._rows(level, query, combined_datetime=combined_datetime, want_attrs=want_attrs,
                              limit=limit):
            rec = {}
            for c in columns:
                if is_key(c):
                    rec[c] = _frame_value(_key(c), row.get(c))
                elif c == "path":
                    rec[c] = str(self.root / row[c])
                else:
                    rec[c] = row.get(c)
            if extra:
                attrs = json.loads(row.get("attrs") or "{}")
                for kw in extra:
                    rec[kw] = _frame_value(_key(kw), row.get(kw)) if is_key(kw) else attrs.get(kw)
            records.append(rec)
        return pd.DataFrame.from_records(records, columns=columns + extra)

    def patients(self):
        """Every patient, as a DataFrame (see :meth:`find`).

        Examples
        --------
        >>> import tempfile
        >>> Archive(tempfile.mkdtemp()).patients().empty
        True
        """
        return self.find("PATIENT")

    def studies(self):
        """Every study, with its patient's attributes, as a DataFrame (see :meth:`find`).

        Examples
        --------
        >>> import tempfile
        >>> "ModalitiesInStudy" in Archive(tempfile.mkdtemp()).studies().columns
        True
        """
        return self.find("STUDY")

    def series(self):
        """Every series, as a DataFrame (see :meth:`find`).

        Examples
        --------
        >>> import tempfile
        >>> "NumberOfSeriesRelatedInstances" in Archive(tempfile.mkdtemp()).series().columns
        True
        """
        return self.find("SERIES")

    def instances(self):
        """Every stored instance with its file's path, as a DataFrame (see :meth:`find`).

        Examples
        --------
        >>> import tempfile
        >>> "path" in Archive(tempfile.mkdtemp()).instances().columns
        True
        """
        return self.find("IMAGE")

    # --- retrieval --------------------------------------------------------------------------

    def records(self, identifier: Dataset | Mapping[str, Any] | None = None, **keys: Any) -> list[InstanceRecord]:
        """The stored files of the entities a C-MOVE or C-GET asks for.

        Parameters
        ----------
        identifier
            The retrieve identifier (unique keys, e.g. StudyInstanceUID; lists of UIDs
            allowed) as a data set or dict; its Query/Retrieve Level is ignored, every
            instance below the entities matched is returned.
        **keys
            More keys.

        Returns
        -------
        list of InstanceRecord
            In series and instance-number order.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> stored = archive.store_many(make_ct_series(n_slices=3, rows=16, columns=16), progress=False)
        >>> [r.path.exists() for r in archive.records(SeriesInstanceUID=stored[0].series_instance_uid)]
        [True, True, True]
        """
        query, _ = _query_keys(identifier)
        query.update(keys)
        for drop in ("QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle"):
            query.pop(drop, None)
        query = {k: v for k, v in query.items() if is_key(k)}
        if not any(_values_given(v) for v in query.values()):
            raise InvalidQueryError("a retrieve needs at least one key with a value (e.g. StudyInstanceUID); "
                                    "refusing to retrieve the whole archive")
        out = []
        for row in self._rows("IMAGE", query):
            out.append(InstanceRecord(row["SOPInstanceUID"], row.get("SOPClassUID"), row["StudyInstanceUID"],
                                      row["SeriesInstanceUID"], row.get("transfer_syntax"),
                                      self.root / row["path"], row.get("size")))
        return out

    def _open(self, path: Path) -> Path:
        """The path, once a rename committed by another thread has happened."""
        deadline = time.monotonic() + 2.0
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return path

    def read(self, sop_instance_uid: str, **kwargs: Any) -> Dataset:
        """Read a stored instance (the ``on_retrieve`` transforms applied).

        Parameters
        ----------
        sop_instance_uid
            Its SOP Instance UID (the first copy when several are kept).
        **kwargs
            Passed to :func:`pacsnb.read` (``stop_before_pixels``, ...).

        Returns
        -------
        Dataset

        Raises
        ------
        ArchiveError
            When no instance has this UID.

        Examples
        --------
        >>> import tempfile
        >>> Archive(tempfile.mkdtemp()).read("1.2.3")
        Traceback (most recent call last):
        ...
        pacsnb.errors.ArchiveError: no instance 1.2.3 in the archive ...
        """
        return self._retrieved(read(self._open(self.path(sop_instance_uid)), **kwargs))

    def path(self, sop_instance_uid: str) -> Path:
        """The file of a stored instance.

        Raises
        ------
        ArchiveError
            When no instance has this UID.

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> r = archive.store(make_ct_series(n_slices=1, rows=16, columns=16)[0])
        >>> archive.path(r.sop_instance_uid) == r.path
        True
        """
        row = self._conn().execute('SELECT path FROM instances WHERE "SOPInstanceUID" = ? ORDER BY id LIMIT 1',
                                   (str(sop_instance_uid),)).fetchone()
        if row is None:
            raise ArchiveError(f"no instance {sop_instance_uid} in the archive {self.root}")
        return self.root / row[0]

    def _retrieved(self, ds: Dataset) -> Dataset:
        return self._transform(ds, self.on_retrieve) if self.on_retrieve else ds

    def iter_instances(self, identifier: Dataset | Mapping[str, Any] | None = None, **keys: Any) -> Iterator[Dataset]:
        """The stored data sets a retrieve asks for, read one at a time, ``on_retrieve`` applied.

        Parameters
        ----------
        identifier, **keys
            As :meth:`records`.

        Yields
        ------
        Dataset

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp(), on_retrieve=lambda ds: setattr(ds, "PatientName", "ANON"))
        >>> r = archive.store(make_ct_series(n_slices=1, rows=16, columns=16)[0])
        >>> [ds.PatientName for ds in archive.iter_instances(SOPInstanceUID=r.sop_instance_uid)]
        ['ANON']
        """
        for rec in self.records(identifier, **keys):
            yield self._retrieved(read(self._open(rec.path)))

    def open_series(self, series_instance_uid: str, **kwargs: Any):
        """A stored series as a volume, through :func:`pacsnb.cohort.volume.open_series`.

        Parameters
        ----------
        series_instance_uid
            The series.
        **kwargs
            Passed to the cohort layer's ``open_series``.

        Returns
        -------
        xarray.DataArray

        Raises
        ------
        ArchiveError
            When the series is not in the archive, or the cohort layer is not available.

        Examples
        --------
        >>> import tempfile
        >>> Archive(tempfile.mkdtemp()).open_series("1.2.3")
        Traceback (most recent call last):
        ...
        pacsnb.errors.ArchiveError: no series 1.2.3 in the archive ...
        """
        df = self.find("IMAGE", SeriesInstanceUID=str(series_instance_uid))
        if df.empty:
            raise ArchiveError(f"no series {series_instance_uid} in the archive {self.root}")
        try:
            from pacsnb.cohort.volume import open_series
        except ImportError as exc:  # pragma: no cover - the cohort layer is being written
            raise ArchiveError(f"open_series needs pacsnb.cohort ({exc}); read the files in "
                               "archive.find('IMAGE', SeriesInstanceUID=...).path instead") from exc
        return open_series(df, **kwargs)

    # --- maintenance ------------------------------------------------------------------------

    def delete(self, *, study: str | Iterable[str] | None = None, series: str | Iterable[str] | None = None,
               instance: str | Iterable[str] | None = None) -> int:
        """Delete studies, series or instances (index rows, then files); returns how many
        instances were deleted.

        Parameters
        ----------
        study, series, instance
            Study, Series or SOP Instance UIDs (one or a list); give at least one.

        Returns
        -------
        int

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> stored = archive.store_many(make_ct_series(n_slices=3, rows=16, columns=16), progress=False)
        >>> archive.delete(instance=stored[0].sop_instance_uid), archive.stats()["instances"]
        (1, 2)
        >>> archive.delete(study=stored[0].study_instance_uid), archive.stats()["studies"]
        (2, 0)
        """
        conds, params = [], []
        for col, alias, value in (("StudyInstanceUID", "st", study), ("SeriesInstanceUID", "se", series),
                                  ("SOPInstanceUID", "i", instance)):
            if value is None:
                continue
            uids = [value] if isinstance(value, str) else [str(v) for v in value]
            if uids:
                conds.append(f'{alias}."{col}" IN ({", ".join("?" * len(uids))})')
                params += uids
        if not conds:
            raise ArchiveError("delete() needs study=, series= or instance= UIDs")
        conn = self._conn()
        self._begin(conn, full=True)
        try:
            rows = conn.execute(
                "SELECT i.id, i.path, i.series_fk FROM instances i JOIN series se ON i.series_fk = se.id "
                "JOIN studies st ON se.study_fk = st.id WHERE " + " OR ".join(conds), params).fetchall()
            conn.executemany("DELETE FROM instances WHERE id = ?", [(r[0],) for r in rows])
            self._refresh(conn, {"series": {r[2] for r in rows}, "studies": set(), "patients": set()})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for _, rel, _ in rows:
            path = self.root / rel
            try:
                os.unlink(path)
            except OSError:
                pass
            for folder in (path.parent, path.parent.parent):
                try:
                    folder.rmdir()  # only when empty
                except OSError:
                    break
        return len(rows)

    def verify(self, *, deep: bool = True, progress: bool = False) -> VerifyReport:
        """Check that every index row has a readable file and every file an index row.

        Parameters
        ----------
        deep
            Read each file's header and check its SOP Instance UID (``False``: only that
            the files exist).
        progress
            Show a progress bar.

        Returns
        -------
        VerifyReport

        Examples
        --------
        >>> import os, tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> r = archive.store(make_ct_series(n_slices=1, rows=16, columns=16)[0])
        >>> os.unlink(r.path)
        >>> report = archive.verify()
        >>> report.ok, len(report.missing)
        (False, 1)
        """
        from tqdm.auto import tqdm

        report = VerifyReport()
        conn = self._conn()
        rows = conn.execute('SELECT path, "SOPInstanceUID" FROM instances').fetchall()
        indexed = set()
        for rel, sop in tqdm(rows, disable=not progress, desc="verify", unit="file"):
            indexed.add(rel)
            report.checked += 1
            path = self.root / rel
            if not path.is_file():
                report.missing.append(rel)
                continue
            if deep:
                try:
                    header = read(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
                    if str(header.get("SOPInstanceUID") or "") != sop:
                        report.unreadable.append((rel, f"its SOP Instance UID is {header.get('SOPInstanceUID')!r}, "
                                                       f"the index says {sop!r}"))
                except (PacsnbError, OSError) as exc:
                    report.unreadable.append((rel, str(exc)))
        for path in self._data_files():
            rel = path.relative_to(self.root).as_posix()
            if rel not in indexed:
                report.unindexed.append(rel)
        me = os.getpid()
        for name in sorted(os.listdir(self.root / layout.TMP)):
            pid = layout.temp_owner(name)
            if pid is None or (pid != me and not _pid_alive(pid)):
                report.temporary.append(f"{layout.TMP}/{name}")
        return report

    def _data_files(self) -> Iterator[Path]:
        for folder, _, files in os.walk(self.root / layout.DATA):
            for name in sorted(files):
                yield Path(folder) / name

    def reindex(self, *, progress: bool = True) -> int:
        """Rebuild the index from the files under ``data/``; returns the number indexed.

        Files that cannot be read are left where they are and logged (:meth:`verify`
        lists them as unindexed). Store dates and source AE titles not kept in the files
        are lost.

        Parameters
        ----------
        progress
            Show a progress bar.

        Returns
        -------
        int

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.samples import make_ct_series
        >>> archive = Archive(tempfile.mkdtemp())
        >>> _ = archive.store_many(make_ct_series(n_slices=3, rows=16, columns=16), progress=False)
        >>> archive.reindex(progress=False), archive.stats()["instances"], archive.verify().ok
        (3, 3, True)
        """
        from tqdm.auto import tqdm

        conn = self._conn()
        files = list(self._data_files())
        touched: dict = {"series": set(), "studies": set(), "patients": set()}
        count = 0
        self._begin(conn, full=True)
        try:
            for table in ("instances", "series", "studies", "patients"):
                conn.execute(f"DELETE FROM {table}")
            for path in tqdm(files, disable=not progress, desc="reindex", unit="file"):
                count += self._index_in_place(conn, path, path.relative_to(self.root).as_posix(), touched)
            self._refresh(conn, touched)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    def stats(self) -> dict[str, Any]:
        """Counts and sizes: patients, studies, series, instances, bytes, instances per modality.

        Returns
        -------
        dict

        Examples
        --------
        >>> import tempfile
        >>> s = Archive(tempfile.mkdtemp()).stats()
        >>> s["instances"], s["bytes"], s["schema_version"]
        (0, 0, 2)
        """
        conn = self._conn()
        out: dict[str, Any] = {"root": str(self.root)}
        for level in LEVELS:
            table = TABLES[level]
            out[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        out["bytes"] = conn.execute("SELECT COALESCE(SUM(size), 0) FROM instances").fetchone()[0]
        out["modalities"] = dict(conn.execute(
            'SELECT se."Modality", COUNT(*) FROM instances i JOIN series se ON i.series_fk = se.id '
            'GROUP BY se."Modality" ORDER BY 2 DESC').fetchall())
        index = self.root / layout.INDEX
        out["index_bytes"] = sum(p.stat().st_size for p in (index, Path(f"{index}-wal")) if p.exists())
        out["schema_version"] = self.schema_version
        out["duplicates"] = self.duplicates
        return out


# --- helpers -------------------------------------------------------------------------------------

_sync_pool: list = []
_sync_pool_lock = threading.Lock()


def _sync_and_close(fd: int) -> None:
    try:
        _fdatasync(fd)
    finally:
        os.close(fd)


def _sync_in_background(fd: int):
    """A future of ``fdatasync(fd)`` then ``close(fd)``, run by a few shared worker threads
    (the sync releases the GIL: it overlaps the Python work of the store)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    with _sync_pool_lock:
        if not _sync_pool or _sync_pool[0] != os.getpid():  # none yet, or made before a fork
            _sync_pool[:] = [os.getpid(), ThreadPoolExecutor(max_workers=8,
                                                             thread_name_prefix="pacsnb-archive-sync")]
    try:
        return _sync_pool[1].submit(_sync_and_close, fd)
    except RuntimeError:  # the interpreter is shutting down: sync here
        done: Future = Future()
        try:
            _sync_and_close(fd)
            done.set_result(None)
        except BaseException as exc:  # pragma: no cover
            done.set_exception(exc)
        return done


def _in_memory(data: Any) -> Any:
    """The bytes of ``data`` when they are in memory (bytes, a memory buffer, a network
    :class:`~pacsnb.net.dimse.Spool` still in memory, an ``io.BytesIO``), else ``None`` (a
    file on disk: streamed in blocks instead).

    Examples
    --------
    >>> import io
    >>> from pacsnb.net.dimse import Spool
    >>> small, large = Spool(max_size=64), Spool(max_size=4)
    >>> _ = small.write(b"abc"), large.write(b"abcdefgh")
    >>> _in_memory(small), _in_memory(large), _in_memory(io.BytesIO(b"xy"))
    (b'abc', None, b'xy')
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    in_memory = getattr(data, "in_memory", None)
    if callable(in_memory):  # a Spool: its bytes while they are in memory (a copy: the spool stays free)
        view = in_memory()
        if view is None:
            return None
        with view:
            return bytes(view)
    if hasattr(data, "getbuffer"):  # io.BytesIO
        return data.getvalue()
    return None


def _owner_dead(owner: str, me: int) -> bool:
    """Whether the process of a landing mark's owner (``<pid>-<token>``) is gone."""
    try:
        pid = int(str(owner).split("-", 1)[0])
    except ValueError:
        return True
    return pid != me and not _pid_alive(pid)


def _callables(value: Any) -> list[Callable]:
    if value is None:
        return []
    if callable(value):
        return [value]
    fns = list(value)
    for fn in fns:
        if not callable(fn):
            raise ArchiveError(f"{fn!r} is not callable: give functions taking a Dataset")
    return fns


def _level(level: str) -> str:
    lv = str(level or "").strip().upper()
    if lv == "INSTANCE":
        lv = "IMAGE"
    if lv not in LEVELS:
        raise InvalidQueryError(f"query level {level!r}: use PATIENT, STUDY, SERIES or IMAGE")
    return lv


def _values_given(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(_values_given(v) for v in value)
    return str(value).strip("*\\ ") != ""


def _query_keys(identifier: Any) -> tuple[dict[str, Any], str | None]:
    """``({keyword: value}, specific character set)`` of a query data set or dict."""
    if identifier is None:
        return {}, None
    if isinstance(identifier, Mapping):
        q = dict(identifier)
        cs = q.get("SpecificCharacterSet")
        return q, (str(cs) if cs else None)
    if not isinstance(identifier, Dataset):
        raise InvalidQueryError(f"a query is a Dataset or a dict of keys, not {type(identifier).__name__}")
    q: dict[str, Any] = {}
    cs = None
    for e in identifier.elements():
        kw = e.keyword
        if int(e.tag) == 0x00080005:
            v = e.value
            cs = "\\".join(str(x) for x in v) if isinstance(v, list) else (str(v) if v else None)
            continue
        if not kw or (int(e.tag) >> 16) & 1:
            continue  # private elements are not keys
        v = e.value
        if e.VR == "SQ":
            q[kw] = list(v) if v else None
        elif isinstance(v, list):
            q[kw] = [str(x) for x in v]
        else:
            q[kw] = None if v is None else str(v)
    return q, cs


def _decode(k: Key, raw: Any) -> Any:
    if raw is None:
        return None
    if k.vr == "SQ" or k.multi:
        return json.loads(raw)
    return raw


def _frame_value(k: Key, raw: Any) -> Any:
    return _decode(k, raw)


def _answer_value(k: Key, raw: Any, query_value: Any) -> Any:
    value = _decode(k, raw)
    if value is None:
        return None
    if k.vr == "SQ":
        from pacsnb.archive.matching import _item_keys

        wanted = None
        try:
            item = _item_keys(query_value)
        except InvalidQueryError:
            item = None
        if item:
            wanted = list(item)
        return Sequence([_item_dataset(it, wanted) for it in value])
    if isinstance(value, int) and k.vr in ("IS", "DS"):
        return str(value)
    return value


def _item_dataset(item: dict, wanted: list[str] | None) -> Dataset:
    ds = Dataset()
    for kw in (wanted if wanted else list(item)):
        entry = lookup_keyword(kw)
        if entry is None:
            continue
        value = item.get(kw)
        vr = entry.vr.split()[0] if " " in entry.vr else entry.vr
        if vr == "SQ":
            value = Sequence([_item_dataset(i, None) for i in value]) if value else None
        elif isinstance(value, str) and "\\" in value:
            value = value.split("\\")
        ds.add_new(entry.tag, vr, value)
    return ds


def _collect_text(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if not value.isascii():
            out.append(value)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, Dataset):
                for e in v.elements():
                    _collect_text(e.value, out)
            else:
                _collect_text(v, out)


def _answer_charset(texts: list[str], query_charset: str | None) -> str | None:
    """The Specific Character Set of an answer: the query's if it encodes every value, else UTF-8."""
    if not texts:
        return query_charset
    if query_charset:
        from pacsnb.dicom.charset import encode_text

        try:
            for t in texts:
                encode_text(t, query_charset, vr="LO")
            return query_charset
        except PacsnbError:
            pass
    return "ISO_IR 192"


def _frame_columns(level: str) -> list[str]:
    cols: list[str] = []
    if level == "STUDY":
        cols += [k.keyword for k in KEYS["PATIENT"]]
    elif level in ("SERIES", "IMAGE"):
        cols += ["PatientID", "PatientName", "StudyInstanceUID", "StudyDate"]
        if level == "IMAGE":
            cols += ["SeriesInstanceUID", "Modality", "SeriesNumber"]
    cols += [k.keyword for k in KEYS[level] if k.keyword not in cols]
    if level == "IMAGE":
        cols += ["path", "transfer_syntax", "size", "stored_at", "source_ae"]
    return cols

