"""Where an archive keeps its files, and how it writes them.

::

    root/
      index.sqlite                      the index (+ -wal, -shm)
      data/<study>/<series>/<sop>.dcm   the instances, Part 10 files
      tmp/<pid>-<token>.tmp             files being written (never seen as instances)

Each name under ``data/`` is a UID when the UID is a valid one (digits and dots, at most
64 characters); any other value, whatever it contains (``../../x``, slashes, NUL, 10,000
characters), becomes ``x`` and 40 hexadecimal digits of its SHA-256, so a name can never
leave its folder. A second copy of an instance kept with ``duplicates="keep"`` is
``<sop>~2.dcm``, ``<sop>~3.dcm``, ...

A file is written under ``tmp/``, synced, and renamed into ``data/`` only once the index
says where it goes (see :class:`pacsnb.archive.Archive`); ``tmp/`` is on the same file
system, so the rename is atomic.

Examples
--------
>>> from pacsnb.archive.layout import safe_name, instance_relpath
>>> safe_name("1.2.840.113619.2.55"), safe_name("../../x")
('1.2.840.113619.2.55', 'x9cdf6a50100a862e14286c7a334296daf7da8b45')
>>> instance_relpath("1.2.3", "1.2.3.4", "1.2.3.4.5")
'data/1.2.3/1.2.3.4/1.2.3.4.5.dcm'
"""
from __future__ import annotations

import errno
import hashlib
import itertools
import os
import re
import secrets

from pacsnb.io.writer import fsync_dir  # the one folder sync, shared with pacsnb.write

__all__ = ["safe_name", "instance_relpath", "temp_name", "temp_owner", "fsync_dir", "is_out_of_space",
           "DATA", "TMP", "INDEX"]

DATA = "data"
TMP = "tmp"
INDEX = "index.sqlite"
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_OUT_OF_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def safe_name(uid: object) -> str:
    """A file or folder name for a UID that cannot escape its folder.

    A valid UID (digits and dots, at most 64 characters) is used as is; anything else
    becomes ``x`` + the first 40 hex digits of its SHA-256.

    Parameters
    ----------
    uid
        The UID (any value, text or not).

    Returns
    -------
    str

    Examples
    --------
    >>> safe_name("1.2.3"), len(safe_name("a/b")), safe_name("..").startswith("x")
    ('1.2.3', 41, True)
    """
    text = str(uid)
    if len(text) <= 64 and _UID.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return "x" + digest[:40]


def instance_relpath(study_uid: object, series_uid: object, sop_uid: object, copy: int = 1) -> str:
    """The path of an instance's file, relative to the archive root (``/`` separators).

    Parameters
    ----------
    study_uid, series_uid, sop_uid
        The instance's UIDs.
    copy
        1 for the first file of this SOP Instance UID, 2, 3, ... for more kept copies.

    Examples
    --------
    >>> instance_relpath("1.2", "1.2.3", "1.2.3.4", copy=2)
    'data/1.2/1.2.3/1.2.3.4~2.dcm'
    """
    name = safe_name(sop_uid) + ("" if copy == 1 else f"~{copy}") + ".dcm"
    return "/".join((DATA, safe_name(study_uid), safe_name(series_uid), name))


_names = itertools.count()
_name_prefix: list = [None, ""]  # [pid, random hex]: made again in a forked child


def temp_name() -> str:
    """A fresh name for a file being written under ``tmp/``: ``<pid>-<hex>.tmp`` (a random
    part drawn once per process, then a counter).

    Examples
    --------
    >>> import os
    >>> temp_owner(temp_name()) == os.getpid(), temp_name() != temp_name()
    (True, True)
    """
    pid = os.getpid()
    if _name_prefix[0] != pid:
        _name_prefix[:] = [pid, secrets.token_hex(6)]
    return f"{pid}-{_name_prefix[1]}{next(_names):08x}.tmp"


def temp_owner(name: str) -> int | None:
    """The process id a temporary file name was made by (``None`` if not one of ours).

    Examples
    --------
    >>> temp_owner("123-abcdef.tmp"), temp_owner("notes.txt")
    (123, None)
    """
    m = re.fullmatch(r"(\d+)-[0-9a-f]+\.tmp", name)
    return int(m.group(1)) if m else None


def is_out_of_space(exc: BaseException) -> bool:
    """Whether an exception says the disk is full (or the quota used up).

    Examples
    --------
    >>> import errno, sqlite3
    >>> is_out_of_space(OSError(errno.ENOSPC, "No space left on device"))
    True
    >>> is_out_of_space(sqlite3.OperationalError("database or disk is full"))
    True
    """
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
        return True
    return "disk is full" in str(exc) or "SQLITE_FULL" in str(exc)
