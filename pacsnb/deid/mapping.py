"""Consistent replacements across a cohort: keyed UIDs, pseudonyms and date shifts, and the
key table that reverses them.

Everything derives from a secret key through HMAC-SHA256, so the same input gives the same
output in every file, run and machine that shares the key, and nothing can be reversed
without the key table. UIDs become ``2.25.<128-bit integer>`` (PS3.5 B.2; at most 44
characters, always valid).

Examples
--------
>>> m = KeyMap(key="cohort secret")
>>> u = m.uid("1.2.840.99999.1.2.3")
>>> u.startswith("2.25."), u == KeyMap(key="cohort secret").uid("1.2.840.99999.1.2.3")
(True, True)
>>> m.uid("1.2.840.10008.1.2")          # a UID of the standard's registry is kept
'1.2.840.10008.1.2'
>>> m.patient_id("PAT-001") == m.patient_id("PAT-001"), m.date_offset("PAT-001") < 0
(True, True)
>>> sorted(m.key_table()["kind"].unique())
['DateOffset', 'PatientID', 'UID']
"""
from __future__ import annotations

import base64
import csv
import datetime as _dt
import hashlib
import hmac
import io
import os
import threading
from typing import Any, Mapping, Union

from pacsnb.dicom.uid import uid_info
from pacsnb.errors import DeidError

__all__ = ["KeyMap", "save_key_table", "load_key_table", "shift_date", "shift_datetime"]

_KEY_MAGIC = b"PACSNB-KEYTABLE-FERNET/1\n"
_COLUMNS = ["kind", "original", "pseudonym"]


def _key_bytes(key: Any) -> tuple[bytes, bool]:
    if key is None:
        return os.urandom(32), True
    if isinstance(key, str):
        return key.encode("utf-8"), False
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key), False
    raise DeidError(f"key must be str or bytes (a secret shared by every run of a cohort), not {type(key).__name__}")


def shift_date(text: str, days: int) -> str | None:
    """A DA value (``YYYYMMDD``, or a range ``A-B``) moved by ``days``; ``None`` if not a date.

    Parameters
    ----------
    text
        The DA text.
    days
        Days to add (negative: earlier).

    Returns
    -------
    str or None

    Examples
    --------
    >>> shift_date("20240301", -1), shift_date("20240101-20240131", 31), shift_date("2024", 3)
    ('20240229', '20240201-20240302', None)
    """
    t = text.strip()
    if "-" in t:
        parts = t.split("-")
        if len(parts) != 2:
            return None
        out = [shift_date(p, days) if p else "" for p in parts]
        return None if None in out else "-".join(out)  # type: ignore[arg-type]
    if len(t) != 8 or not t.isdigit():
        return None
    try:
        d = _dt.date(int(t[:4]), int(t[4:6]), int(t[6:])) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def shift_datetime(text: str, days: int) -> str | None:
    """A DT value moved by whole ``days`` (the time of day, fraction and offset kept).

    Parameters
    ----------
    text
        The DT text (``YYYY[MM[DD[HH...]]]``); a value with less than a full date is
        returned ``None`` (it cannot be shifted by days).
    days
        Days to add.

    Returns
    -------
    str or None

    Examples
    --------
    >>> shift_datetime("20240301120000.5+0100", -1)
    '20240229120000.5+0100'
    """
    t = text.strip()
    if len(t) < 8:
        return None
    head = shift_date(t[:8], days)
    return None if head is None else head + t[8:]


class KeyMap:
    """The keyed replacement maps of one cohort, and their key table.

    Thread-safe: an archive may call it from several threads.

    Parameters
    ----------
    key
        The secret (str or bytes). ``None``: a random one, so replacements are consistent
        within this object only.
    patients
        Optional user table of replacements: a ``pandas.DataFrame``, a CSV path, or a dict
        ``{original PatientID: new PatientID}``. Columns: ``PatientID`` (original) and
        ``NewPatientID``, optionally ``NewPatientName`` and ``DateOffset`` (days).
    date_offset
        A fixed date shift in days for every patient (default: derived per patient from the
        key, between -3650 and -1 days).
    prefix
        Prefix of derived pseudonyms.

    Examples
    --------
    >>> m = KeyMap("k", patients={"PAT-001": "SUBJ01"})
    >>> m.patient_id("PAT-001"), m.patient_id("PAT-002").startswith("ANON")
    ('SUBJ01', True)
    """

    def __init__(self, key: Any = None, patients: Any = None, date_offset: int | None = None,
                 prefix: str = "ANON") -> None:
        self._key, self.random_key = _key_bytes(key)
        self._lock = threading.Lock()
        self._uids: dict[str, str] = {}
        self._ids: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._offsets: dict[str, int] = {}
        self._aes: dict[str, str] = {}
        self._user_names: dict[str, str] = {}
        self._user_offsets: dict[str, int] = {}
        self._user_ids: dict[str, str] = {}
        self.fixed_offset = None if date_offset is None else int(date_offset)
        self.prefix = prefix
        if patients is not None:
            self._load_patients(patients)

    # -- user table --------------------------------------------------------------------------------
    def _load_patients(self, patients: Any) -> None:
        if isinstance(patients, Mapping):
            self._user_ids.update({str(k): str(v) for k, v in patients.items()})
            return
        import pandas as pd

        if isinstance(patients, (str, os.PathLike)):
            try:
                df = pd.read_csv(patients, dtype=str, keep_default_na=False)
            except OSError as exc:
                raise DeidError(f"{patients}: cannot read the patient table ({exc})") from exc
        elif isinstance(patients, pd.DataFrame):
            df = patients
        else:
            raise DeidError("patients must be a DataFrame, a CSV path or a dict {PatientID: NewPatientID}")
        cols = set(df.columns)
        if not {"PatientID", "NewPatientID"} <= cols:
            raise DeidError(f"the patient table needs the columns PatientID and NewPatientID (it has "
                            f"{', '.join(map(str, df.columns))})")
        for _, row in df.iterrows():
            pid = str(row["PatientID"])
            self._user_ids[pid] = str(row["NewPatientID"])
            if "NewPatientName" in cols and str(row["NewPatientName"]):
                self._user_names[pid] = str(row["NewPatientName"])
            if "DateOffset" in cols and str(row["DateOffset"]).strip() not in ("", "nan", "None"):
                self._user_offsets[pid] = int(float(row["DateOffset"]))

    # -- derivations -------------------------------------------------------------------------------
    def digest(self, kind: str, value: str) -> bytes:
        """HMAC-SHA256 of ``value`` under the key, separated by ``kind``.

        Parameters
        ----------
        kind
            A domain label (``"uid"``, ``"patient"``, ...).
        value
            The text.

        Returns
        -------
        bytes
            32 bytes.

        Examples
        --------
        >>> len(KeyMap("k").digest("uid", "1.2.3"))
        32
        """
        return hmac.new(self._key, kind.encode() + b"\x00" + value.encode("utf-8", "surrogateescape"),
                        hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """The replacement of a UID: ``2.25.`` and a keyed 128-bit integer (UUID version 8).

        UIDs of the standard's registry (SOP classes, transfer syntaxes, coding schemes,
        well-known frames of reference) are kept; an empty value stays empty.

        Parameters
        ----------
        original
            The UID.

        Returns
        -------
        str

        Examples
        --------
        >>> u = KeyMap("k").uid("1.2.3.4")
        >>> len(u) <= 64 and all(p == "0" or not p.startswith("0") for p in u.split("."))
        True
        """
        o = str(original).strip().rstrip("\x00")
        if not o:
            return o
        got = self._uids.get(o)
        if got is not None:
            return got
        if o.startswith("1.2.840.10008.") and uid_info(o) is not None:
            return o
        b = bytearray(self.digest("uid", o)[:16])
        b[6] = (b[6] & 0x0F) | 0x80
        b[8] = (b[8] & 0x3F) | 0x80
        new = f"2.25.{int.from_bytes(b, 'big')}"
        with self._lock:
            self._uids.setdefault(o, new)
        return new

    def patient_id(self, original: str) -> str:
        """The pseudonym of a Patient ID (from the user table, else ``ANON`` + 12 hex digits).

        Parameters
        ----------
        original
            The original Patient ID.

        Returns
        -------
        str

        Examples
        --------
        >>> p = KeyMap("k").patient_id("12345"); p.startswith("ANON"), len(p)
        (True, 16)
        """
        o = str(original)
        got = self._ids.get(o)
        if got is not None:
            return got
        new = self._user_ids.get(o)
        if new is None:
            new = self.prefix + self.digest("patient", o)[:6].hex().upper()
        with self._lock:
            self._ids.setdefault(o, new)
        return new

    def patient_name(self, original_id: str, original_name: str = "") -> str:
        """The pseudonym Patient's Name of a patient (from the user table, else the ID pseudonym).

        Parameters
        ----------
        original_id
            The original Patient ID (names follow the patient, not the spelling).
        original_name
            The original name, recorded in the key table.

        Returns
        -------
        str

        Examples
        --------
        >>> m = KeyMap("k"); m.patient_name("12345", "DOE^JANE") == m.patient_id("12345")
        True
        """
        new = self._user_names.get(str(original_id)) or self.patient_id(original_id)
        if original_name:
            with self._lock:
                self._names.setdefault(str(original_name), new)
        return new

    def date_offset(self, original_id: str) -> int:
        """The date shift in days of a patient (the same for all of the patient's files).

        Parameters
        ----------
        original_id
            The original Patient ID.

        Returns
        -------
        int
            From the user table, else ``date_offset`` given to the map, else derived from the
            key: between -3650 and -1.

        Examples
        --------
        >>> KeyMap("k", date_offset=-30).date_offset("any")
        -30
        """
        o = str(original_id)
        got = self._offsets.get(o)
        if got is not None:
            return got
        if o in self._user_offsets:
            days = self._user_offsets[o]
        elif self.fixed_offset is not None:
            days = self.fixed_offset
        else:
            days = -1 - int.from_bytes(self.digest("date", o)[:4], "big") % 3650
        with self._lock:
            self._offsets.setdefault(o, days)
        return days

    def ae_title(self, original: str) -> str:
        """A consistent pseudonym AE title (``AE`` + 8 hex digits, 10 characters).

        Parameters
        ----------
        original
            The AE title.

        Returns
        -------
        str

        Examples
        --------
        >>> KeyMap("k").ae_title("CT_SCANNER_3").startswith("AE")
        True
        """
        o = str(original).strip()
        if not o:
            return o
        got = self._aes.get(o)
        if got is None:
            got = "AE" + self.digest("ae", o)[:4].hex().upper()
            with self._lock:
                self._aes.setdefault(o, got)
        return got

    # -- the key table -----------------------------------------------------------------------------
    def key_table(self):
        """Every replacement made so far, as a DataFrame ``kind, original, pseudonym``.

        ``kind`` is ``PatientID``, ``PatientName``, ``DateOffset`` (original: the Patient
        ID; pseudonym: the days), ``UID`` or ``AE``.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> m = KeyMap("k"); _ = m.patient_id("P1")
        >>> m.key_table().values.tolist() == [["PatientID", "P1", m.patient_id("P1")]]
        True
        """
        import pandas as pd

        rows = []
        with self._lock:
            for kind, d in (("PatientID", self._ids), ("PatientName", self._names),
                            ("DateOffset", self._offsets), ("UID", self._uids), ("AE", self._aes)):
                rows.extend((kind, k, str(v)) for k, v in d.items())
        return pd.DataFrame(rows, columns=_COLUMNS)

    def add_key_table(self, table: Any) -> None:
        """Load replacements of an earlier run (a key table), so that they are reused.

        Parameters
        ----------
        table
            A DataFrame as :meth:`key_table` returns.

        Examples
        --------
        >>> a = KeyMap("k1"); pid = a.patient_id("P1")
        >>> b = KeyMap("other key"); b.add_key_table(a.key_table()); b.patient_id("P1") == pid
        True
        """
        maps = {"PatientID": self._ids, "PatientName": self._names, "UID": self._uids, "AE": self._aes}
        with self._lock:
            for kind, orig, new in table[_COLUMNS].itertuples(index=False):
                if kind == "DateOffset":
                    self._offsets[str(orig)] = int(new)
                elif kind in maps:
                    maps[kind][str(orig)] = str(new)

    def reverse(self) -> dict[str, str]:
        """``{pseudonym: original}`` over UIDs, Patient IDs, names and AE titles (for re-identification).

        Returns
        -------
        dict

        Examples
        --------
        >>> m = KeyMap("k"); u = m.uid("1.2.3")
        >>> m.reverse()[u]
        '1.2.3'
        """
        out: dict[str, str] = {}
        with self._lock:
            for d in (self._uids, self._ids, self._names, self._aes):
                out.update({v: k for k, v in d.items()})
        return out


def _fernet(password: Any, salt: bytes):
    try:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DeidError("encrypting the key table needs the 'cryptography' package: "
                        "pip install cryptography (or pip install pacsnb[deid])") from exc
    pw, _ = _key_bytes(password)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=200_000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(pw)))


def save_key_table(table: Any, path: Union[str, os.PathLike], *, password: Any = None) -> None:
    """Write a key table: plain CSV, or encrypted (Fernet, key from ``password`` by PBKDF2).

    Parameters
    ----------
    table
        The DataFrame of :meth:`KeyMap.key_table` (or of :func:`pacsnb.deid.anonymize`).
    path
        Where to write it.
    password
        ``None`` for a plain CSV; else a str or bytes the table is encrypted with (needs the
        ``cryptography`` package).

    Raises
    ------
    DeidError
        When encryption is asked for and ``cryptography`` is missing.

    Examples
    --------
    >>> m = KeyMap("k"); _ = m.uid("1.2.3")
    >>> save_key_table(m.key_table(), "/tmp/pacsnb-doc-key.bin", password="pw")
    >>> open("/tmp/pacsnb-doc-key.bin", "rb").read().startswith(b"PACSNB-KEYTABLE")
    True
    >>> load_key_table("/tmp/pacsnb-doc-key.bin", password="pw").equals(m.key_table())
    True
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_COLUMNS)
    for row in table[_COLUMNS].itertuples(index=False):
        w.writerow([str(v) for v in row])
    data = buf.getvalue().encode("utf-8")
    if password is not None:
        salt = os.urandom(16)
        data = _KEY_MAGIC + salt + _fernet(password, salt).encrypt(data)
    tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_key_table(path: Union[str, os.PathLike], *, password: Any = None):
    """Read a key table written by :func:`save_key_table`.

    Parameters
    ----------
    path
        The file.
    password
        The password, for an encrypted table.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DeidError
        For an encrypted table without a password or with a wrong one.

    Examples
    --------
    >>> m = KeyMap("k"); _ = m.patient_id("P9")
    >>> save_key_table(m.key_table(), "/tmp/pacsnb-doc-key.csv")
    >>> load_key_table("/tmp/pacsnb-doc-key.csv")["original"].tolist()
    ['P9']
    """
    import pandas as pd

    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(_KEY_MAGIC):
        if password is None:
            raise DeidError(f"{path}: the key table is encrypted: pass password=")
        salt = data[len(_KEY_MAGIC):len(_KEY_MAGIC) + 16]
        try:
            data = _fernet(password, salt).decrypt(data[len(_KEY_MAGIC) + 16:])
        except Exception as exc:  # cryptography.fernet.InvalidToken
            raise DeidError(f"{path}: cannot decrypt the key table: wrong password or damaged file") from exc
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)

