"""Value Representations (PS3.5 section 6.2) and their encoding properties.

VRs are plain two-letter strings throughout pacsnb (fast to compare and hash); :class:`VR`
is a ``StrEnum`` for users who like names, and the sets and tables here say how each VR
is encoded.

Examples
--------
>>> from pacsnb.dicom.vr import VR, is_long_explicit, NUMPY_DTYPES
>>> VR.US == "US", is_long_explicit("OB"), NUMPY_DTYPES["FD"]
(True, True, 'f8')
"""
from __future__ import annotations

from enum import StrEnum

__all__ = [
    "VR", "ALL_VRS", "LONG_EXPLICIT_VRS", "TEXT_VRS", "CHARSET_VRS", "SINGLE_VALUE_TEXT_VRS",
    "NUMERIC_VRS", "BULK_VRS", "NUMPY_DTYPES", "MAX_LENGTHS", "is_long_explicit", "padding_byte",
]


class VR(StrEnum):
    """The value representations of PS3.5 Table 6.2-1.

    A ``StrEnum``: each member is equal to its two-letter string, so members and plain
    strings can be mixed freely (pacsnb itself uses the strings).

    Examples
    --------
    >>> VR.PN == "PN", VR("OB") is VR.OB, len(VR)
    (True, True, 34)
    >>> from pacsnb.dicom import DataElement
    >>> e = DataElement("PatientName", VR.PN, "DOE^JANE")
    >>> e.VR == "PN", str(e.VR)
    (True, 'PN')
    """

    AE = "AE"; AS = "AS"; AT = "AT"; CS = "CS"; DA = "DA"; DS = "DS"; DT = "DT"  # noqa: E702
    FL = "FL"; FD = "FD"; IS = "IS"; LO = "LO"; LT = "LT"; OB = "OB"; OD = "OD"  # noqa: E702
    OF = "OF"; OL = "OL"; OV = "OV"; OW = "OW"; PN = "PN"; SH = "SH"; SL = "SL"  # noqa: E702
    SQ = "SQ"; SS = "SS"; ST = "ST"; SV = "SV"; TM = "TM"; UC = "UC"; UI = "UI"  # noqa: E702
    UL = "UL"; UN = "UN"; UR = "UR"; US = "US"; UT = "UT"; UV = "UV"  # noqa: E702


ALL_VRS = frozenset(v.value for v in VR)

#: VRs with a reserved 2 bytes and a 4-byte length in explicit VR encoding (PS3.5 7.1.2).
LONG_EXPLICIT_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"})

#: VRs whose values are character strings.
TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM",
                      "UC", "UI", "UR", "UT"})

#: Text VRs affected by Specific Character Set (PS3.5 6.1.2.3).
CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})

#: Text VRs whose value is never split at backslashes (VM is always 1).
SINGLE_VALUE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})

#: Binary numeric VRs and their little-endian numpy dtype characters.
NUMPY_DTYPES = {
    "US": "u2", "SS": "i2", "UL": "u4", "SL": "i4", "FL": "f4", "FD": "f8", "SV": "i8", "UV": "u8",
    "OB": "u1", "OW": "u2", "OF": "f4", "OD": "f8", "OL": "u4", "OV": "u8",
}
NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"})
#: "Other" VRs: one bulk value, returned as a numpy array.
BULK_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV"})

#: Maximum value length in bytes (per value) for text VRs with a limit (PS3.5 Table 6.2-1).
MAX_LENGTHS = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
               "LT": 10240, "SH": 16, "ST": 1024, "TM": 14, "UI": 64}


def is_long_explicit(vr: str) -> bool:
    """True if ``vr`` uses the 12-byte explicit VR header with a 32-bit length.

    In explicit VR encoding (PS3.5 7.1.2) the VRs of :data:`LONG_EXPLICIT_VRS` have two
    reserved bytes and a 32-bit value length; the others have a 16-bit length.

    Parameters
    ----------
    vr
        A two-letter VR.

    Returns
    -------
    bool
        Whether the element header is 12 bytes long (else 8).

    Examples
    --------
    >>> is_long_explicit("OB"), is_long_explicit("SQ"), is_long_explicit("US")
    (True, True, False)
    """
    return vr in LONG_EXPLICIT_VRS


def padding_byte(vr: str) -> bytes:
    """The byte that pads a value to even length: NUL for UI and OB (and binary), space for text.

    Parameters
    ----------
    vr
        A two-letter VR.

    Returns
    -------
    bytes
        ``b" "`` for the text VRs except UI, ``b"\\x00"`` for UI and every binary VR
        (PS3.5 6.2).

    Examples
    --------
    >>> padding_byte("PN"), padding_byte("UI"), padding_byte("OB")
    (b' ', b'\\x00', b'\\x00')
    """
    return b" " if vr in TEXT_VRS and vr != "UI" else b"\x00"
