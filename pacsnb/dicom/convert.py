"""Element values to and from bytes (PS3.5 section 6.2 and 7).

:func:`decode_value` turns the bytes of one element value into the Python value pacsnb
gives users; :func:`encode_value` does the reverse, padding to even length. These functions
know nothing about files: they see a value's bytes, its VR, the byte order and the
Specific Character Set in force.

Values by VR:

- text VRs: ``str`` (single value) or :class:`MultiValue` of them; PN as
  :class:`~pacsnb.dicom.values.PersonName`, DA/TM/DT as the :mod:`~pacsnb.dicom.values`
  types, IS/DS as numbers that keep their original text, UI as
  :class:`~pacsnb.dicom.uid.UID`; an empty value is ``""``;
- US/SS/UL/SL/FL/FD/SV/UV: a Python number when VM is 1, a read-only numpy array when VM
  is more than 1, ``None`` when empty;
- OB/OW/OF/OD/OL/OV: a numpy array (uint8, uint16, float32, float64, uint32, uint64);
- UN: ``bytes``; AT: a :class:`~pacsnb.dicom.tag.Tag` or a list of them.

Examples
--------
>>> from pacsnb.dicom.convert import decode_value, encode_value
>>> decode_value("DS", b"0.5\\\\1.25 ", True)
['0.5', '1.25']
>>> encode_value("US", 512, True)
b'\\x00\\x02'
>>> encode_value("UI", "1.2.3", True)
b'1.2.3\\x00'
"""
from __future__ import annotations

import logging
import struct
from collections.abc import Iterable

import numpy as np

from pacsnb.dicom import charset as _charset
from pacsnb.dicom.tag import Tag
from pacsnb.dicom.uid import UID
from pacsnb.dicom.values import DA, DS, DT, IS, TM, PersonName
from pacsnb.dicom.vr import (BULK_VRS, CHARSET_VRS, NUMERIC_VRS, NUMPY_DTYPES, SINGLE_VALUE_TEXT_VRS,
                             TEXT_VRS)
from pacsnb.errors import DicomValueError

__all__ = ["MultiValue", "decode_value", "encode_value", "coerce_value", "value_multiplicity"]

log = logging.getLogger(__name__)


class MultiValue(list):
    """A multi-valued element's values (a ``list``); its ``str`` joins them with backslashes.

    Changing it in place (``ds.ImageType[0] = "DERIVED"``) marks its element as changed,
    so that the new values are written, not the bytes it was read from.

    Parameters
    ----------
    values
        The values (any iterable).

    Examples
    --------
    >>> v = MultiValue(["ORIGINAL", "PRIMARY"])
    >>> v[0] = "DERIVED"
    >>> print(v)
    DERIVED\\PRIMARY
    """

    __slots__ = ("_owner",)

    def __init__(self, values=()) -> None:
        super().__init__(values)
        self._owner = None

    def __str__(self) -> str:
        """The values joined with backslashes, as in the element's text."""
        return "\\".join(str(v) for v in self)

    def _changed(self) -> None:
        owner = self._owner
        if owner is not None:
            element = owner()
            if element is not None:
                element._raw = None  # write the values, not the bytes read
            self._owner = None

    def __setitem__(self, i, v) -> None:
        """Set a value (or a slice), marking the element changed."""
        self._changed()
        super().__setitem__(i, v)

    def __delitem__(self, i) -> None:
        """Delete a value (or a slice), marking the element changed."""
        self._changed()
        super().__delitem__(i)

    def __iadd__(self, other):
        """``v += values``, marking the element changed."""
        self._changed()
        return super().__iadd__(other)

    def __imul__(self, n):
        """``v *= n``, marking the element changed."""
        self._changed()
        return super().__imul__(n)

    def append(self, v) -> None:
        """Append a value (``list.append``), marking the element changed.

        Examples
        --------
        >>> v = MultiValue(["ORIGINAL"])
        >>> v.append("PRIMARY")
        >>> print(v)
        ORIGINAL\\PRIMARY
        """
        self._changed()
        super().append(v)

    def extend(self, vs) -> None:
        """Append several values (``list.extend``), marking the element changed."""
        self._changed()
        super().extend(vs)

    def insert(self, i, v) -> None:
        """Insert a value before index ``i`` (``list.insert``), marking the element changed."""
        self._changed()
        super().insert(i, v)

    def pop(self, *args):
        """Remove and return a value, the last by default (``list.pop``), marking the element changed."""
        self._changed()
        return super().pop(*args)

    def remove(self, v) -> None:
        """Remove the first value equal to ``v`` (``list.remove``), marking the element changed."""
        self._changed()
        super().remove(v)

    def clear(self) -> None:
        """Remove every value (``list.clear``), marking the element changed."""
        self._changed()
        super().clear()

    def sort(self, *args, **kwargs) -> None:
        """Sort the values in place (``list.sort``), marking the element changed."""
        self._changed()
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        """Reverse the values in place (``list.reverse``), marking the element changed."""
        self._changed()
        super().reverse()

    def __reduce__(self):
        """Pickle the values only (not the element they belong to)."""
        return (MultiValue, (list(self),))


_TEXT_TYPES = {"PN": PersonName, "DA": DA, "TM": TM, "DT": DT, "IS": IS, "DS": DS, "UI": UID}
_STRIP_BOTH = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "SH", "TM", "UI"})
_DTYPES_LE = {vr: np.dtype("<" + c) for vr, c in NUMPY_DTYPES.items()}
_STRUCT_CODES = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
_STRUCT_LE = {vr: struct.Struct("<" + c) for vr, c in _STRUCT_CODES.items()}
_STRUCT_BE = {vr: struct.Struct(">" + c) for vr, c in _STRUCT_CODES.items()}
_SIZES = {vr: st.size for vr, st in _STRUCT_LE.items()}
_DTYPES_BE = {vr: np.dtype(">" + c) for vr, c in NUMPY_DTYPES.items()}


def _convert_text(vr: str, s: str):
    typ = _TEXT_TYPES.get(vr)
    if typ is None:
        return s
    if vr in ("IS", "DS"):
        if s == "":
            return ""
        try:
            return typ(s)
        except (ValueError, DicomValueError):
            log.warning("invalid %s value %r kept as text", vr, s)
            return s
    return typ(s)


def _strip(vr: str, s: str) -> str:
    if vr in _STRIP_BOTH:
        return s.strip(" \x00")
    return s.rstrip(" \x00")


def decode_text(vr: str, raw, charsets: tuple[str, ...] | None = None):
    """Decode the value of a text VR; see :func:`decode_value`.

    Padding is stripped, a multi-valued text becomes a :class:`MultiValue`, and each value
    gets the type of its VR (PN, DA, TM, DT, IS, DS and UI have their own types; an IS or
    DS text that is not a number is kept as ``str``, with a logged warning).

    Parameters
    ----------
    vr
        A text VR (``"CS"``, ``"PN"``, ``"DS"``, ...).
    raw
        The value bytes (``bytes``, ``memoryview`` or any buffer).
    charsets
        The Specific Character Set terms in force; used for SH, LO, ST, LT, UC, UT and PN
        only. Without them, non-ASCII bytes are read as Latin-1.

    Returns
    -------
    str or MultiValue
        The value (``""`` when empty), or the values when the text holds backslashes
        (not for LT, ST, UT and UR, which are single-valued).

    Examples
    --------
    >>> decode_text("CS", b"ORIGINAL\\\\PRIMARY ")
    ['ORIGINAL', 'PRIMARY']
    >>> decode_text("LO", b"Jos\\xe9", ("ISO_IR 100",))
    'José'
    >>> type(decode_text("DA", b"20240131")).__name__
    'DA'
    """
    b = raw if type(raw) is bytes else bytes(raw)
    try:
        # ASCII bytes without ESC mean the same in every character set pacsnb supports
        s = b.decode("ascii")
        if "\x1b" in s and charsets and vr in CHARSET_VRS:
            s = _charset.decode_text(b, charsets, vr)
    except UnicodeDecodeError:
        if charsets and vr in CHARSET_VRS:
            s = _charset.decode_text(b, charsets, vr)
        else:
            s = b.decode("latin-1")
    if vr in SINGLE_VALUE_TEXT_VRS:
        return _convert_text(vr, s.rstrip(" \x00"))
    typ = _TEXT_TYPES.get(vr)
    strip = str.strip if vr in _STRIP_BOTH else str.rstrip
    if "\\" not in s:
        s = strip(s, " \x00")
        if typ is None:
            return s
        if typ is IS or typ is DS:
            return _convert_text(vr, s)
        return typ(s)
    if typ is None:
        return MultiValue([strip(p, " \x00") for p in s.split("\\")])
    parts = [strip(p, " \x00") for p in s.split("\\")]
    if typ is IS or typ is DS:
        try:
            return MultiValue([typ(p) for p in parts])
        except (ValueError, DicomValueError):  # an empty or invalid value among them
            return MultiValue([_convert_text(vr, p) for p in parts])
    return MultiValue([typ(p) for p in parts])


def decode_value(vr: str, raw, little: bool = True, charsets: tuple[str, ...] | None = None):
    """Decode one element value from its bytes.

    Parameters
    ----------
    vr
        The element's VR (``"SQ"`` is not handled here).
    raw
        The value bytes (``bytes``, ``memoryview`` or a buffer of a memory map).
    little
        Byte order of binary values.
    charsets
        The Specific Character Set terms in force (for SH, LO, ST, LT, UC, UT and PN).

    Returns
    -------
    object
        The value, typed as described in the module documentation.

    Examples
    --------
    >>> decode_value("PN", b"DOE^JOHN")
    'DOE^JOHN'
    >>> decode_value("FD", b"\\x00\\x00\\x00\\x00\\x00\\x00\\xf0?")
    1.0
    """
    if vr in TEXT_VRS:
        return decode_text(vr, raw, charsets)
    if vr in NUMERIC_VRS:
        n = len(raw)
        if n == _SIZES[vr]:  # one value, the common case: no numpy
            return (_STRUCT_LE if little else _STRUCT_BE)[vr].unpack(raw)[0]
        dt = (_DTYPES_LE if little else _DTYPES_BE)[vr]
        if n == 0:
            return None
        if n % dt.itemsize:
            log.warning("%s value of %d bytes is not a multiple of %d: kept as bytes", vr, n, dt.itemsize)
            return bytes(raw)
        arr = np.frombuffer(raw, dt)
        if n == dt.itemsize:
            return arr[0].item()
        if not little:
            arr = arr.astype(dt.newbyteorder("="))
            arr.flags.writeable = False
        return arr
    if vr in BULK_VRS:
        dt = (_DTYPES_LE if little else _DTYPES_BE)[vr]
        n = len(raw)
        if n % dt.itemsize:
            log.warning("%s value of %d bytes is not a multiple of %d: returned as uint8", vr, n, dt.itemsize)
            return np.frombuffer(raw, np.uint8)
        arr = np.frombuffer(raw, dt)
        if not little and dt.itemsize > 1:
            arr = arr.astype(dt.newbyteorder("="))
            arr.flags.writeable = False
        return arr
    if vr == "AT":
        n = len(raw)
        if n == 0:
            return None
        if n % 4:
            log.warning("AT value of %d bytes is not a multiple of 4: kept as bytes", n)
            return bytes(raw)
        pairs = np.frombuffer(raw, "<u2" if little else ">u2").tolist()
        tags = [Tag((pairs[i] << 16) | pairs[i + 1]) for i in range(0, len(pairs), 2)]
        return tags[0] if len(tags) == 1 else MultiValue(tags)
    return bytes(raw)  # UN and anything unknown


def value_multiplicity(vr: str, value) -> int:
    """The number of values in ``value`` as stored for ``vr`` (0 if empty).

    Parameters
    ----------
    vr
        The element's VR.
    value
        The element's value, as :func:`decode_value` or :func:`coerce_value` give it.

    Returns
    -------
    int
        0 for ``None`` and empty values; the number of items for lists, arrays and
        sequences; 1 for a scalar and for any non-empty bulk (OB, OW, ..., UN) value.

    Examples
    --------
    >>> value_multiplicity("CS", MultiValue(["ORIGINAL", "PRIMARY"]))
    2
    >>> value_multiplicity("PN", ""), value_multiplicity("US", 512), value_multiplicity("US", None)
    (0, 1, 0)
    >>> import numpy as np
    >>> value_multiplicity("OB", np.zeros(16, np.uint8))
    1
    """
    if value is None:
        return 0
    if vr in BULK_VRS or vr == "UN":
        return 1 if len(value) else 0
    if vr == "SQ":
        return len(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return len(value)
    if isinstance(value, str):
        return 1 if value != "" else 0
    return 1


def _text_of(vr: str, v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return str.__str__(v) if type(v) in (str,) else str(v)
    if vr == "DS":
        return str(DS(v))
    if vr == "IS":
        return str(IS(v))
    if vr in ("DA", "TM", "DT"):
        return str({"DA": DA, "TM": TM, "DT": DT}[vr](v))
    return str(v)


def encode_value(vr: str, value, little: bool = True, charsets: tuple[str, ...] | None = None) -> bytes:
    """Encode a value to bytes of even length, padded as PS3.5 6.2 says.

    Parameters
    ----------
    vr
        The element's VR (``"SQ"`` is not handled here).
    value
        The value: text, a number, a list of them, a numpy array, bytes, a
        :class:`~pacsnb.dicom.tag.Tag`, ... (``None`` gives an empty value).
    little
        Byte order of binary values.
    charsets
        The Specific Character Set terms in force (for SH, LO, ST, LT, UC, UT and PN).

    Returns
    -------
    bytes
        The value bytes, padded to even length (space for text, NUL for UI and binary).

    Raises
    ------
    DicomValueError
        For non-ASCII text in a VR that Specific Character Set does not apply to, or
        bulk data whose size is not a multiple of the VR's item size.
    CharsetError
        For text the character set in force cannot encode.

    Examples
    --------
    >>> encode_value("CS", ["ORIGINAL", "PRIMARY", "AX"])
    b'ORIGINAL\\\\PRIMARY\\\\AX '
    >>> encode_value("FL", [1.0, 2.0], little=False)
    b'?\\x80\\x00\\x00@\\x00\\x00\\x00'
    """
    if vr in TEXT_VRS:
        if isinstance(value, (list, tuple)):
            s = "\\".join(_text_of(vr, v) for v in value)
        else:
            s = _text_of(vr, value)
        if vr in CHARSET_VRS and charsets:
            b = _charset.encode_text(s, charsets, vr)
        else:
            try:
                b = s.encode("ascii")
            except UnicodeEncodeError:
                if vr in CHARSET_VRS:
                    b = _charset.encode_text(s, charsets or (), vr)
                else:
                    raise DicomValueError(
                        f"{vr} values must be ASCII (the default repertoire); got {s!r}") from None
        if len(b) & 1:
            b += b"\x00" if vr == "UI" else b" "
        return b
    if vr in NUMERIC_VRS or vr in BULK_VRS:
        if value is None:
            return b""
        if isinstance(value, (bytes, bytearray, memoryview)):
            b = bytes(value)
            if little is False and vr not in ("OB",):
                b = np.frombuffer(b, _DTYPES_LE[vr]).astype(_DTYPES_BE[vr]).tobytes()
        else:
            dt = (_DTYPES_LE if little else _DTYPES_BE)[vr]
            arr = np.asarray(value)
            if vr in BULK_VRS and arr.dtype.itemsize != dt.itemsize and arr.dtype.kind in "iub":
                # e.g. int16 pixels given for OW: reinterpret, do not convert
                raw = np.ascontiguousarray(arr).tobytes()
                if len(raw) % dt.itemsize:
                    raise DicomValueError(f"{vr} value of {len(raw)} bytes is not a multiple of {dt.itemsize}")
                arr = np.frombuffer(raw, dt.newbyteorder("="))
            elif vr in BULK_VRS and arr.dtype.kind in "iu" and arr.dtype.itemsize == dt.itemsize:
                arr = arr.view(dt.newbyteorder("=")) if arr.flags.c_contiguous else np.ascontiguousarray(arr).view(dt.newbyteorder("="))
            b = np.ascontiguousarray(arr, dtype=dt).tobytes()
        if len(b) & 1:
            b += b"\x00"
        return b
    if vr == "AT":
        if value is None:
            return b""
        vals = value if isinstance(value, (list, tuple)) else [value]
        out = []
        for v in vals:
            t = int(Tag(v))
            out += [t >> 16, t & 0xFFFF]
        return np.asarray(out, "<u2" if little else ">u2").tobytes()
    if value is None:
        return b""
    if isinstance(value, np.ndarray):
        b = value.tobytes()
    else:
        b = bytes(value)
    if len(b) & 1:
        b += b"\x00"
    return b


def coerce_value(vr: str, value):
    """Normalise a value assigned by a user to the type :func:`decode_value` would give.

    Parameters
    ----------
    vr
        The element's VR (``"SQ"`` is handled by :class:`~pacsnb.dicom.dataset.DataElement`).
    value
        What the user assigned: text, numbers, lists, arrays, bytes, dates, ...

    Returns
    -------
    object
        The value typed as in the module documentation (``""`` or ``None`` when empty).

    Raises
    ------
    DicomValueError
        When the value cannot be held by the VR: a number out of range or not integral
        for an integer VR, text for a numeric VR, an invalid IS or DS value, ...

    Examples
    --------
    >>> type(coerce_value("PN", "DOE^JOHN")).__name__
    'PersonName'
    >>> coerce_value("US", [1, 2]).tolist()
    [1, 2]
    """
    if value is None:
        return "" if vr in TEXT_VRS else None
    if vr in TEXT_VRS:
        if isinstance(value, (list, tuple)):
            vals = [_coerce_one(vr, v) for v in value]
            return vals[0] if len(vals) == 1 else MultiValue(vals)
        if isinstance(value, str) and "\\" in value and vr not in SINGLE_VALUE_TEXT_VRS:
            return MultiValue(_coerce_one(vr, v) for v in value.split("\\"))
        return _coerce_one(vr, value)
    if vr in NUMERIC_VRS:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return decode_value(vr, bytes(value), True)
        arr = _checked_numbers(vr, value)
        if arr.size == 0:
            return None
        if arr.size == 1:
            return arr.ravel()[0].item()
        return np.ascontiguousarray(arr.ravel())
    if vr in BULK_VRS:
        if isinstance(value, (bytes, bytearray, memoryview)):
            b = bytes(value)
            dt = np.dtype("<" + NUMPY_DTYPES[vr])
            if len(b) % dt.itemsize:
                return np.frombuffer(b, np.uint8)
            return np.frombuffer(b, dt.newbyteorder("="))
        return np.asarray(value)
    if vr == "AT":
        if isinstance(value, (list, tuple)):
            vals = [Tag(v) for v in value]
            return vals[0] if len(vals) == 1 else MultiValue(vals)
        return Tag(value)
    if vr == "UN":
        if isinstance(value, np.ndarray):
            return value.tobytes()
        return bytes(value)
    return value


def _checked_numbers(vr: str, value) -> np.ndarray:
    """``value`` as an array of the VR's dtype, refusing what the VR cannot hold exactly."""
    dt = np.dtype(NUMPY_DTYPES[vr])
    try:
        arr = np.asarray(value)
        if arr.dtype.kind in "USO":
            arr = np.asarray(arr, dtype=np.float64 if dt.kind == "f" else object)
            if dt.kind != "f":
                arr = np.asarray([int(x) if float(x) == int(float(x)) else float(x) for x in arr.ravel()])
    except (TypeError, ValueError):
        raise DicomValueError(f"{vr} needs numbers; got {value!r}") from None
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise DicomValueError(f"{vr} needs numbers; got {value!r}")
    if dt.kind in "iu":
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise DicomValueError(f"{vr} holds integers; {value!r} is not integral")
        info = np.iinfo(dt)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise DicomValueError(f"{value!r} does not fit in {vr} ({info.min}..{info.max})")
    return arr.astype(dt)


def _coerce_one(vr: str, v):
    if v is None:
        return ""
    typ = _TEXT_TYPES.get(vr)
    if typ is None:
        return v if isinstance(v, str) else str(v)
    if isinstance(v, typ):
        return v
    if vr in ("IS", "DS") and isinstance(v, str) and v.strip() == "":
        return ""
    return typ(v)


def is_empty_value(value) -> bool:
    """True if ``value`` is ``None`` or an empty string, bytes, list, tuple or array.

    Parameters
    ----------
    value
        An element value.

    Returns
    -------
    bool
        Whether the value holds nothing (``0`` is not empty).

    Examples
    --------
    >>> is_empty_value(""), is_empty_value(None), is_empty_value([]), is_empty_value(0)
    (True, True, True, False)
    """
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value) == 0
    if isinstance(value, np.ndarray):
        return value.size == 0
    return False


def iter_values(value) -> Iterable:
    """The values of an element as a sequence (a scalar gives one item, empty gives none).

    Parameters
    ----------
    value
        An element value.

    Returns
    -------
    Iterable
        ``value`` itself for a list, tuple or 1-D array; ``(value,)`` for a scalar;
        ``()`` for ``None`` and ``""``.

    Examples
    --------
    >>> iter_values("CT"), iter_values(["CT", "MR"]), iter_values(""), iter_values(None)
    (('CT',), ['CT', 'MR'], (), ())
    """
    if value is None or (isinstance(value, str) and value == ""):
        return ()
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value
    return (value,)
