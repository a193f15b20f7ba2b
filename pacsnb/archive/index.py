"""The SQLite index of an archive: schema, migrations, and the rows made from a data set.

One table per query level, each with a column per key of :mod:`pacsnb.archive.attributes`
(named by keyword) and links to the level above, and a small ``landing`` table:

==============  ======================================================================
``patients``    one row per (PatientID, IssuerOfPatientID)
``studies``     one row per StudyInstanceUID, ``patient_fk`` to ``patients``
``series``      one row per SeriesInstanceUID, ``study_fk`` to ``studies``
``instances``   one row per stored file (two for a UID kept twice), ``series_fk``,
                ``path`` (relative to the archive), ``transfer_syntax``, ``size``,
                ``stored_at``, ``source_ae``, ``attrs`` (other short attributes, JSON)
``landing``     the folders under ``data/`` that a running archive stores files into
                without syncing each index commit (one row per folder and process)
==============  ======================================================================

Text is stored decoded (Unicode, whatever the Specific Character Set of the file).
Attributes that may hold several values, and sequences, are JSON; person names have a
``<keyword>__fold`` column (see :func:`pacsnb.archive.matching.fold_pn`), times and
date-times a ``<keyword>__n`` column in a form that sorts (see
:func:`~pacsnb.archive.matching.normalize_tm`), so that matching uses indexes.

The schema is versioned with ``PRAGMA user_version``: :data:`MIGRATIONS` lists the steps
from each version to the next and :func:`migrate` applies the missing ones in one
transaction; a key column added to the table of attributes later is added to an existing
index on open (:func:`migrate` as well).

Examples
--------
>>> from pacsnb.archive.index import connect, migrate, SCHEMA_VERSION
>>> conn = connect(":memory:")
>>> migrate(conn) == SCHEMA_VERSION
True
>>> "PatientName__fold" in [r[1] for r in conn.execute("PRAGMA table_info(patients)")]
True
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from pacsnb.archive.attributes import KEYS, LEVELS, Key
from pacsnb.archive.matching import fold_pn, normalize_dt, normalize_tm
from pacsnb.dicom.dictionary import keyword_for_tag
from pacsnb.dicom.vr import CHARSET_VRS, SINGLE_VALUE_TEXT_VRS, TEXT_VRS
from pacsnb.errors import ArchiveError, PacsnbError

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "TABLES", "connect", "migrate", "extract", "column_names",
           "item_to_json", "value_text"]

#: ``{level: table name}``.
TABLES = {"PATIENT": "patients", "STUDY": "studies", "SERIES": "series", "IMAGE": "instances"}
_PARENT = {"STUDY": ("patient_fk", "patients"), "SERIES": ("study_fk", "studies"),
           "IMAGE": ("series_fk", "series")}
_BULK_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"})
_ATTR_LIMIT = 128  # longest value kept in the ``attrs`` JSON of an instance
# text VRs: the index text of each value is its stripped raw text (IS and DS values keep
# their text as read, valid or not)
_FAST_TEXT_VRS = frozenset(TEXT_VRS)


def _sql_type(k: Key) -> str:
    if k.derived and k.keyword.startswith("NumberOf"):
        return "INTEGER"
    if k.multi or k.vr == "SQ":
        return "TEXT"
    if k.vr in ("US", "UL", "SS", "SL", "SV", "UV"):
        return "INTEGER"
    if k.vr in ("FL", "FD"):
        return "REAL"
    return "TEXT"


def column_names(k: Key) -> list[tuple[str, str]]:
    """The columns of a key in the index: ``[(name, SQL type), ...]``.

    Examples
    --------
    >>> from pacsnb.archive.attributes import key
    >>> column_names(key("StudyTime"))
    [('StudyTime', 'TEXT'), ('StudyTime__n', 'TEXT')]
    """
    cols = [(k.keyword, _sql_type(k))]
    if not k.multi and k.vr == "PN":
        cols.append((k.keyword + "__fold", "TEXT"))
    if not k.multi and k.vr in ("TM", "DT"):
        cols.append((k.keyword + "__n", "TEXT"))
    return cols


def _create_v1(conn: sqlite3.Connection) -> None:
    for level in LEVELS:
        table = TABLES[level]
        cols = ["id INTEGER PRIMARY KEY"]
        if level in _PARENT:
            fk, parent = _PARENT[level]
            cols.append(f"{fk} INTEGER NOT NULL REFERENCES {parent}(id)")
        for k in KEYS[level]:
            for name, typ in column_names(k):
                if level == "PATIENT" and name in ("PatientID", "IssuerOfPatientID"):
                    cols.append(f'"{name}" TEXT NOT NULL DEFAULT \'\'')
                elif name == {"STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID"}.get(level):
                    cols.append(f'"{name}" TEXT NOT NULL UNIQUE')
                elif level == "IMAGE" and name == "SOPInstanceUID":
                    cols.append(f'"{name}" TEXT NOT NULL')
                else:
                    cols.append(f'"{name}" {typ}')
        if level == "PATIENT":
            cols.append('UNIQUE ("PatientID", "IssuerOfPatientID")')
        if level == "IMAGE":
            cols += ["path TEXT NOT NULL UNIQUE", "transfer_syntax TEXT", "size INTEGER",
                     "stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                     "source_ae TEXT", "pending TEXT", "attrs TEXT"]
        conn.execute(f"CREATE TABLE {table} ({', '.join(cols)})")
    for sql in (
        'CREATE INDEX patients_name ON patients ("PatientName__fold")',
        'CREATE INDEX patients_name_cs ON patients ("PatientName")',
        'CREATE INDEX patients_birth ON patients ("PatientBirthDate")',
        'CREATE INDEX studies_patient ON studies (patient_fk)',
        'CREATE INDEX studies_date ON studies ("StudyDate", "StudyTime__n")',
        'CREATE INDEX studies_accession ON studies ("AccessionNumber")',
        'CREATE INDEX studies_id ON studies ("StudyID")',
        'CREATE INDEX series_study ON series (study_fk)',
        'CREATE INDEX series_modality ON series ("Modality")',
        'CREATE INDEX instances_series ON instances (series_fk)',
        'CREATE INDEX instances_sop ON instances ("SOPInstanceUID")',
        'CREATE INDEX instances_pending ON instances (pending) WHERE pending IS NOT NULL',
        "CREATE TABLE archive_meta (key TEXT PRIMARY KEY, value TEXT)",
    ):
        conn.execute(sql)


def _landing_v2(conn: sqlite3.Connection) -> None:
    """Version 2: ``landing``, the folders that files are being stored into (see
    :class:`pacsnb.archive.Archive`: an index commit may be lost at a power cut, the files in
    these folders never are, and the next open indexes what they hold)."""
    conn.execute("CREATE TABLE landing (dir TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (dir, owner))")


#: The schema steps: ``MIGRATIONS[i]`` takes a version ``i`` index to version ``i + 1``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_v1, _landing_v2]
#: The schema version this pacsnb writes.
SCHEMA_VERSION = len(MIGRATIONS)


def _fold(value: Any) -> str | None:
    return None if value is None else fold_pn(str(value))


def _norm(value: Any, vr: str) -> str | None:
    if value is None:
        return None
    return normalize_tm(str(value)) if vr == "TM" else normalize_dt(str(value)) if vr == "DT" else str(value)


def connect(path: str, *, durable: bool = True, timeout: float = 60.0) -> sqlite3.Connection:
    """Open the index database with the archive's settings.

    WAL journal (readers never block the writer), ``synchronous=FULL`` when ``durable``
    (a commit survives a power cut) else ``NORMAL`` (it survives a crash of the process),
    a busy timeout, autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``), and
    the SQL functions matching needs (``pacsnb_fold_pn``, ``pacsnb_norm``).

    Parameters
    ----------
    path
        The database file (``":memory:"`` for tests).
    durable
        Sync every commit to the disk.
    timeout
        Seconds to wait for another writer's lock.

    Returns
    -------
    sqlite3.Connection

    Examples
    --------
    >>> conn = connect(":memory:")
    >>> conn.execute("SELECT pacsnb_fold_pn('Dupré^Jé')").fetchone()[0]
    'dupre^je'
    """
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.create_function("pacsnb_fold_pn", 1, _fold, deterministic=True)
    conn.create_function("pacsnb_norm", 2, _norm, deterministic=True)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the index to :data:`SCHEMA_VERSION`; returns the version.

    Raises
    ------
    ArchiveError
        When the index was written by a newer pacsnb (its version is higher).

    Examples
    --------
    >>> conn = connect(":memory:")
    >>> migrate(conn), migrate(conn)
    (2, 2)
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ArchiveError(f"the archive index has schema version {version}, newer than this pacsnb's "
                           f"({SCHEMA_VERSION}): upgrade pacsnb to open it")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
        for step in MIGRATIONS[version:]:
            step(conn)
        # key columns added to the attribute table since the index was made
        for level in LEVELS:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({TABLES[level]})")}
            for k in KEYS[level]:
                for name, typ in column_names(k):
                    if name not in have:
                        conn.execute(f'ALTER TABLE {TABLES[level]} ADD COLUMN "{name}" {typ}')
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def value_text(value: Any) -> list[str] | None:
    """The values of an element as text (``None`` when empty or binary).

    Examples
    --------
    >>> value_text(["ORIGINAL", "PRIMARY"]), value_text(""), value_text(b"x")
    (['ORIGINAL', 'PRIMARY'], None, None)
    """
    if value is None or isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if isinstance(value, (list, tuple)):
        vals = [str(v) for v in value if v is not None]
    else:
        vals = [str(value)]
    vals = [v.strip(" \x00") for v in vals]
    if not any(vals):
        return None
    return vals


def _raw_text(vr: str, raw: Any) -> Any:
    """``value_text`` of a text VR's value straight from its bytes (ASCII text, no escape
    sequences), without building the decoded value; ``False`` when it needs decoding."""
    try:
        s = (raw if type(raw) is bytes else bytes(raw)).decode("ascii")
    except UnicodeDecodeError:
        return False
    if "\x1b" in s and vr in CHARSET_VRS:
        return False
    if "\\" not in s or vr in SINGLE_VALUE_TEXT_VRS:
        s = s.strip(" \x00")
        return [s] if s else None
    vals = [v.strip(" \x00") for v in s.split("\\")]
    return vals if any(vals) else None


def _element_text(e: Any) -> list[str] | None:
    """``value_text(e.value)``, straight from the bytes read for the common case (ASCII text
    of a VR whose value is its text), without building the decoded value."""
    vr = e.VR
    if vr in _FAST_TEXT_VRS:
        raw = e.raw
        if raw is not None:
            vals = _raw_text(vr, raw)
            if vals is not False:
                return vals
    return value_text(e.value)


def item_to_json(item: Any, depth: int = 0) -> dict:
    """A sequence item as a dict ``{keyword: text or [items]}`` for the index (binary values
    and private elements left out; multiple values joined with backslashes).

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> item_to_json(Dataset({"CodeValue": "T-A0100", "CodingSchemeDesignator": "SRT"}))
    {'CodeValue': 'T-A0100', 'CodingSchemeDesignator': 'SRT'}
    """
    out: dict[str, Any] = {}
    for e in item.elements():
        kw = e.keyword
        if not kw:
            continue
        if e.VR == "SQ":
            if depth < 3 and e.value:
                out[kw] = [item_to_json(i, depth + 1) for i in e.value]
            continue
        if e.VR in _BULK_VRS:
            continue
        vals = value_text(e.value)
        if vals is not None:
            out[kw] = "\\".join(vals)
    return out


def extract(ds: Any) -> dict[str, dict[str, Any]]:
    """The index columns a data set gives, ``{level: {column: value}}``, plus ``"attrs"``:
    its other short, non-binary top-level attributes as a JSON text.

    Derived attributes (counts, Modalities in Study, ...) are left out: the archive
    computes them from the rows.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"PatientName": "Dupré^Jérôme", "StudyTime": "1015", "ImageType": ["ORIGINAL", "PRIMARY"]})
    >>> rows = extract(ds)
    >>> rows["PATIENT"]["PatientName__fold"], rows["STUDY"]["StudyTime__n"], rows["IMAGE"]["ImageType"]
    ('dupre^jerome', '101500.000000', '["ORIGINAL", "PRIMARY"]')
    """
    out: dict[str, Any] = {level: {} for level in LEVELS}
    attrs: dict[str, str] = {}
    for tag, vr, raw in _raw_values(ds):
        try:
            hit = _BY_TAG.get(tag)
            if hit is None:
                if tag < 0x00080000 or (tag >> 16) & 1:
                    continue
                if raw is None:  # a sequence, an element written as UN, ...: its element says
                    vr = ds[tag].VR
                if vr in _BULK_VRS:
                    continue
                kw = keyword_for_tag(tag)
                vals = _text(ds, tag, vr, raw) if kw else None
                if vals is not None:
                    text = "\\".join(vals)
                    if len(text) <= _ATTR_LIMIT:
                        attrs[kw] = text
                continue
            level, k = hit
            _put(out[level], k, ds, tag, vr, raw)
        except PacsnbError:
            continue  # a malformed element: index without it
    out["attrs"] = json.dumps(attrs, ensure_ascii=False) if attrs else None
    return out


def _raw_values(ds: Any) -> Any:
    """``(tag, VR, value bytes or None)`` of the top-level elements, in tag order: from the
    bytes read where the data set was read (no element objects), else from its elements."""
    src = getattr(ds, "__dict__", {}).get("_src")
    if src is not None and hasattr(src, "raw_values"):
        return src.raw_values(ds)
    return ((int(e.tag), e.VR, None) for e in (ds.elements() if hasattr(ds, "elements") else ()))


def _text(ds: Any, tag: int, vr: str, raw: Any) -> list[str] | None:
    """The element's values as text (see :func:`value_text`)."""
    if raw is not None and vr in _FAST_TEXT_VRS:
        vals = _raw_text(vr, raw)
        if vals is not False:
            return vals
    return _element_text(ds[tag])


def _put(row: dict, k: Key, ds: Any, tag: int, vr: str, raw: Any) -> None:
    if k.vr == "SQ":
        items = ds[tag].value
        if items:
            row[k.keyword] = json.dumps([item_to_json(i) for i in items], ensure_ascii=False)
        return
    vals = _text(ds, tag, vr, raw)
    if vals is None:
        return
    if k.multi:
        row[k.keyword] = json.dumps(vals, ensure_ascii=False)
        return
    text = "\\".join(vals)
    if k.vr in ("US", "UL", "SS", "SL", "SV", "UV"):
        try:
            row[k.keyword] = int(vals[0])
        except ValueError:
            pass
        return
    if k.vr in ("FL", "FD"):
        row[k.keyword] = float(vals[0])
        return
    row[k.keyword] = text.replace(".", "") if k.vr == "DA" else text
    if k.vr == "PN":
        row[k.keyword + "__fold"] = fold_pn(text)
    elif k.vr == "TM":
        row[k.keyword + "__n"] = normalize_tm(vals[0])
    elif k.vr == "DT":
        row[k.keyword + "__n"] = normalize_dt(vals[0])


_BY_TAG = {k.tag: (level, k) for level in LEVELS for k in KEYS[level] if not k.derived}

