"""UIDs: the PS3.6 Annex A registry, transfer syntax properties, and UID generation.

:class:`UID` is a ``str`` that knows its registry entry: name, keyword, type, retired,
and for transfer syntaxes how a data set is encoded. The registry is the generated file
``_data/uids.json`` (made by ``tools/gen_uids.py``), read once on first use. Every
keyword of the registry is also a module attribute (``uid.CTImageStorage``).

New UIDs are made under the ``2.25`` root of PS3.5 B.2 (a UUID as a decimal integer),
which needs no registration.

Examples
--------
>>> from pacsnb.dicom import uid
>>> ts = uid.UID("1.2.840.10008.1.2.4.50")
>>> ts.name, ts.keyword, ts.is_transfer_syntax, ts.is_encapsulated
('JPEG Baseline (Process 1)', 'JPEGBaseline8Bit', True, True)
>>> uid.CTImageStorage, uid.CTImageStorage.type
('1.2.840.10008.5.1.4.1.1.2', 'SOP Class')
>>> new = uid.generate_uid(entropy="study 42")
>>> new.startswith("2.25."), new.is_valid, new == uid.generate_uid(entropy="study 42")
(True, True, True)
"""
from __future__ import annotations

import json
import os
import re
import threading

from pacsnb.errors import DicomValueError, DictionaryError

__all__ = [
    "UID", "uid_for_keyword", "uid_info", "all_uids", "uid_types", "generate_uid",
    "PACSNB_ROOT", "PACSNB_IMPLEMENTATION_CLASS_UID", "PACSNB_IMPLEMENTATION_VERSION_NAME",
    "UNCOMPRESSED_TRANSFER_SYNTAXES",
    "ImplicitVRLittleEndian", "ExplicitVRLittleEndian", "ExplicitVRBigEndian",
    "DeflatedExplicitVRLittleEndian", "EncapsulatedUncompressedExplicitVRLittleEndian",
    "RLELossless", "JPEGBaseline8Bit", "JPEGExtended12Bit", "JPEGLossless",
    "JPEGLosslessSV1", "JPEGLSLossless", "JPEGLSNearLossless", "JPEG2000Lossless",
    "JPEG2000", "HTJ2KLossless", "HTJ2KLosslessRPCL", "HTJ2K", "VerificationSOPClass",
]

# --- the registry, loaded once on first use --------------------------------------------

_DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data", "uids.json")


class _Record:
    """One registry entry (internal)."""

    __slots__ = ("uid", "name", "keyword", "type", "retired", "info", "iod", "ts")

    def __init__(self, d: dict) -> None:
        self.uid: str = d["uid"]
        self.name: str = d["name"]
        self.keyword: str = d["keyword"]
        self.type: str = d["type"]
        self.retired: bool = bool(d["retired"])
        self.info: str = d.get("info", "")
        self.iod: str = d.get("iod", "")
        ts = d.get("ts")
        # (implicit VR, little endian, deflated, encapsulated) or None
        self.ts: tuple[bool, bool, bool, bool] | None = (
            None if ts is None else tuple(bool(x) for x in ts))


_by_uid: dict[str, _Record] = {}
_by_keyword: dict[str, _Record] = {}
_order: list[_Record] = []
_types: dict[str, int] = {}
_loaded = False
_lock = threading.Lock()


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        with open(_DATA_FILE, "rb") as f:
            data = json.loads(f.read())
        for d in data["entries"]:
            rec = _Record(d)
            _order.append(rec)
            if rec.keyword:
                _by_keyword[rec.keyword] = rec
            _types[rec.type] = _types.get(rec.type, 0) + 1
            _by_uid[rec.uid] = rec
        _loaded = True


def _record(uid: str) -> _Record | None:
    if not _loaded:
        _load()
    return _by_uid.get(uid)


_VALID_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")


class UID(str):
    """A UID string that knows its PS3.6 registry entry.

    Construction is as cheap as ``str``: nothing is checked or looked up until a
    property is read. Trailing NUL padding of a UI value must be stripped by the
    reader before constructing.

    Properties on any UID: ``name``, ``keyword``, ``type`` (``''`` when the UID is not
    in the registry), ``is_retired``, ``is_transfer_syntax``, ``is_valid``. The
    transfer syntax properties ``is_implicit_vr``, ``is_little_endian``,
    ``is_deflated`` and ``is_encapsulated`` raise :class:`~pacsnb.errors.DictionaryError`
    for a UID that is not a transfer syntax.

    Parameters
    ----------
    value
        The UID text (as for ``str``).

    Examples
    --------
    >>> from pacsnb.dicom.uid import UID
    >>> u = UID("1.2.840.10008.1.2.1")
    >>> u.name, u.is_implicit_vr, u.is_little_endian, u.is_deflated, u.is_encapsulated
    ('Explicit VR Little Endian', False, True, False, False)
    >>> UID("1.2.840.10008.5.1.4.1.1.4").keyword
    'MRImageStorage'
    >>> UID("1.2.3").name, UID("1.2.3").is_valid, UID("1.02.3").is_valid
    ('', True, False)
    >>> UID("1.2.840.10008.1.1").is_implicit_vr
    Traceback (most recent call last):
    ...
    pacsnb.errors.DictionaryError: UID 1.2.840.10008.1.1 (Verification SOP Class) is not a transfer syntax: is_implicit_vr applies to transfer syntax UIDs only
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """The registry name, ``''`` if the UID is not in the registry."""
        rec = _record(self)
        return "" if rec is None else rec.name

    @property
    def keyword(self) -> str:
        """The registry keyword (``CTImageStorage``), ``''`` if unknown."""
        rec = _record(self)
        return "" if rec is None else rec.keyword

    @property
    def type(self) -> str:
        """The registry type (``'SOP Class'``, ``'Transfer Syntax'``, ...), ``''`` if unknown."""
        rec = _record(self)
        return "" if rec is None else rec.type

    @property
    def is_retired(self) -> bool:
        """Whether PS3.6 marks the UID retired (``False`` if unknown)."""
        rec = _record(self)
        return False if rec is None else rec.retired

    @property
    def is_transfer_syntax(self) -> bool:
        """Whether the UID is a transfer syntax of the registry."""
        rec = _record(self)
        return rec is not None and rec.ts is not None

    def _ts(self, what: str) -> tuple[bool, bool, bool, bool]:
        rec = _record(self)
        if rec is None or rec.ts is None:
            known = "not in the UID registry" if rec is None else rec.name
            raise DictionaryError(f"UID {str(self)} ({known}) is not a transfer syntax: "
                                  f"{what} applies to transfer syntax UIDs only")
        return rec.ts

    @property
    def is_implicit_vr(self) -> bool:
        """Whether data sets in this transfer syntax carry no VR (PS3.5 7.1.3)."""
        return self._ts("is_implicit_vr")[0]

    @property
    def is_little_endian(self) -> bool:
        """Whether this transfer syntax is little endian (all but Explicit VR Big Endian)."""
        return self._ts("is_little_endian")[1]

    @property
    def is_deflated(self) -> bool:
        """Whether the data set is deflated (RFC 1951) after encoding (PS3.5 A.5)."""
        return self._ts("is_deflated")[2]

    @property
    def is_encapsulated(self) -> bool:
        """Whether Pixel Data is in the encapsulated format (PS3.5 A.4).

        True for the compressed syntaxes and Encapsulated Uncompressed; ``False`` for
        native Pixel Data and for the transfer syntaxes that carry no Pixel Data in the
        data set (JPIP referenced, RTV).
        """
        return self._ts("is_encapsulated")[3]

    @property
    def is_valid(self) -> bool:
        """Whether the string is a valid UID (PS3.5 9.1).

        At most 64 characters, digits and dots, components without leading zeros, no
        empty component.
        """
        return len(self) <= 64 and _VALID_UID.fullmatch(self) is not None


# --- registry functions -------------------------------------------------------------

def uid_for_keyword(keyword: str) -> UID:
    """The UID of a registry keyword.

    Parameters
    ----------
    keyword
        A PS3.6 Annex A keyword (``"CTImageStorage"``, ``"ExplicitVRLittleEndian"``).

    Returns
    -------
    UID

    Raises
    ------
    DictionaryError
        If no UID has this keyword (the message suggests close keywords).

    Examples
    --------
    >>> from pacsnb.dicom.uid import uid_for_keyword
    >>> uid_for_keyword("SecondaryCaptureImageStorage")
    '1.2.840.10008.5.1.4.1.1.7'
    """
    if not _loaded:
        _load()
    rec = _by_keyword.get(keyword)
    if rec is None:
        import difflib

        close = difflib.get_close_matches(str(keyword), list(_by_keyword), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DictionaryError(f"no UID with keyword {keyword!r} in the PS3.6 registry{hint}")
    return UID(rec.uid)


def uid_info(uid: str) -> dict[str, object] | None:
    """Everything the registry says about a UID, or ``None`` if it is not registered.

    Parameters
    ----------
    uid
        The UID text.

    Returns
    -------
    dict or None
        ``uid``, ``name``, ``keyword``, ``type``, ``retired``, ``info`` (extra text of
        the registry, such as "Default Transfer Syntax for DICOM"), ``iod`` (for storage
        SOP classes) and, for transfer syntaxes, ``implicit_vr``, ``little_endian``,
        ``deflated``, ``encapsulated``.

    Examples
    --------
    >>> from pacsnb.dicom.uid import uid_info
    >>> info = uid_info("1.2.840.10008.1.2")
    >>> info["name"], info["implicit_vr"], info["info"]
    ('Implicit VR Little Endian', True, 'Default Transfer Syntax for DICOM')
    >>> uid_info("1.2.3.4") is None
    True
    """
    rec = _record(uid)
    if rec is None:
        return None
    out: dict[str, object] = {"uid": UID(rec.uid), "name": rec.name, "keyword": rec.keyword,
                              "type": rec.type, "retired": rec.retired, "info": rec.info,
                              "iod": rec.iod}
    if rec.ts is not None:
        out.update(zip(("implicit_vr", "little_endian", "deflated", "encapsulated"), rec.ts))
    return out


def uid_types() -> dict[str, int]:
    """The UID types of the registry with their counts.

    Returns
    -------
    dict of str to int
        ``{type: number of UIDs}``, e.g. ``"SOP Class"``, ``"Transfer Syntax"``.

    Examples
    --------
    >>> from pacsnb.dicom.uid import uid_types
    >>> uid_types()["Transfer Syntax"] > 30
    True
    """
    if not _loaded:
        _load()
    return dict(_types)


def all_uids(type: str | None = None) -> list[UID]:  # noqa: A002 - the contract's name
    """Every registered UID, or those of one type, in numeric order.

    Parameters
    ----------
    type
        A registry type such as ``"Transfer Syntax"``, ``"SOP Class"``,
        ``"Well-known SOP Instance"``, ``"Meta SOP Class"``, ``"LDAP OID"``,
        ``"Coding Scheme"``, ...; ``None`` for all (see :func:`uid_types`).

    Returns
    -------
    list of UID

    Raises
    ------
    DictionaryError
        For a type that is not in the registry.

    Examples
    --------
    >>> from pacsnb.dicom.uid import all_uids
    >>> ts = all_uids("Transfer Syntax")
    >>> ts[0], all(u.is_transfer_syntax for u in ts)
    ('1.2.840.10008.1.2', True)
    """
    if not _loaded:
        _load()
    if type is None:
        return [UID(r.uid) for r in _order]
    if type not in _types:
        raise DictionaryError(f"no UID type {type!r} in the registry; known types: "
                              f"{', '.join(sorted(_types))}")
    return [UID(r.uid) for r in _order if r.type == type]


# --- constants ------------------------------------------------------------------------

ImplicitVRLittleEndian = UID("1.2.840.10008.1.2")
ExplicitVRLittleEndian = UID("1.2.840.10008.1.2.1")
EncapsulatedUncompressedExplicitVRLittleEndian = UID("1.2.840.10008.1.2.1.98")
DeflatedExplicitVRLittleEndian = UID("1.2.840.10008.1.2.1.99")
ExplicitVRBigEndian = UID("1.2.840.10008.1.2.2")
JPEGBaseline8Bit = UID("1.2.840.10008.1.2.4.50")
JPEGExtended12Bit = UID("1.2.840.10008.1.2.4.51")
JPEGLossless = UID("1.2.840.10008.1.2.4.57")
JPEGLosslessSV1 = UID("1.2.840.10008.1.2.4.70")
JPEGLSLossless = UID("1.2.840.10008.1.2.4.80")
JPEGLSNearLossless = UID("1.2.840.10008.1.2.4.81")
JPEG2000Lossless = UID("1.2.840.10008.1.2.4.90")
JPEG2000 = UID("1.2.840.10008.1.2.4.91")
HTJ2KLossless = UID("1.2.840.10008.1.2.4.201")
HTJ2KLosslessRPCL = UID("1.2.840.10008.1.2.4.202")
HTJ2K = UID("1.2.840.10008.1.2.4.203")
RLELossless = UID("1.2.840.10008.1.2.5")
#: The Verification SOP Class (C-ECHO); its registry keyword is ``Verification``.
VerificationSOPClass = UID("1.2.840.10008.1.1")

#: Transfer syntaxes whose Pixel Data is native (not encapsulated): what a reader
#: handles without any codec or frame extraction.
UNCOMPRESSED_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)

#: The UID root pacsnb generates under: the UUID-derived root of PS3.5 B.2, which needs
#: no registration.
PACSNB_ROOT = "2.25."
#: pacsnb's Implementation Class UID (PS3.7 D.3.3.2): fixed, derived once from a UUID.
PACSNB_IMPLEMENTATION_CLASS_UID = UID("2.25.49566690476833286909332081849391497405")


def _implementation_version_name() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            ver = version("pacsnb")
        except PackageNotFoundError:
            ver = "0.1"
    except ImportError:  # pragma: no cover
        ver = "0.1"
    return ("PACSNB_" + ver)[:16]


# --- generation -----------------------------------------------------------------------

def _uuid_int(raw: bytes, version: int) -> int:
    """16 bytes as a UUID integer with the given version and the RFC 4122 variant."""
    b = bytearray(raw[:16])
    b[6] = (b[6] & 0x0F) | (version << 4)
    b[8] = (b[8] & 0x3F) | 0x80
    return int.from_bytes(b, "big")


def generate_uid(entropy: str | bytes | None = None) -> UID:
    """A new UID under ``2.25`` (PS3.5 B.2): a UUID written as a decimal integer.

    Parameters
    ----------
    entropy
        ``None`` for a random UID (a version 4 UUID from ``os.urandom``). A string
        (UTF-8) or bytes for a deterministic one: the first 16 bytes of the SHA-256 of
        ``entropy``, with the UUID version (8, RFC 9562 custom/name-based) and variant
        bits set, so the same input always gives the same UID (useful to remap UIDs
        consistently when de-identifying).

    Returns
    -------
    UID
        A valid UID of at most 44 characters.

    Raises
    ------
    DicomValueError
        If ``entropy`` is neither ``None``, ``str`` nor bytes-like.

    Examples
    --------
    >>> from pacsnb.dicom.uid import generate_uid
    >>> u = generate_uid()
    >>> u.startswith("2.25."), u.is_valid, u != generate_uid()
    (True, True, True)
    >>> generate_uid(entropy=b"1.2.3.4") == generate_uid(entropy="1.2.3.4")
    True
    """
    if entropy is None:
        return UID(f"2.25.{_uuid_int(os.urandom(16), 4)}")
    if isinstance(entropy, str):
        data = entropy.encode("utf-8")
    elif isinstance(entropy, (bytes, bytearray, memoryview)):
        data = bytes(entropy)
    else:
        raise DicomValueError(f"generate_uid: entropy must be str, bytes or None, not "
                              f"{type(entropy).__name__}")
    import hashlib

    return UID(f"2.25.{_uuid_int(hashlib.sha256(data).digest(), 8)}")


# --- every registry keyword as a module attribute (PEP 562) ---------------------------

def __getattr__(name: str) -> object:
    """Every registry keyword as a module attribute: ``uid.CTImageStorage`` (PEP 562)."""
    if name == "PACSNB_IMPLEMENTATION_VERSION_NAME":
        value = _implementation_version_name()
        globals()[name] = value
        return value
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _loaded:
        _load()
    rec = _by_keyword.get(name)
    if rec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                             "(not a UID keyword of the PS3.6 registry either)")
    return UID(rec.uid)


def __dir__() -> list[str]:
    """The module's names plus every registry keyword (for tab completion)."""
    if not _loaded:
        _load()
    return sorted(set(globals()) | set(_by_keyword) | {"PACSNB_IMPLEMENTATION_VERSION_NAME"})
