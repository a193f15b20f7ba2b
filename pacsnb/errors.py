"""The pacsnb exception hierarchy.

Everything pacsnb raises on purpose derives from :class:`PacsnbError`, so a notebook can
catch all of it with one ``except``. Each layer has its own subclasses; messages say what
went wrong, where (file, byte offset, tag, association, message id) and what to do.

Examples
--------
>>> from pacsnb.errors import InvalidDicomError, PacsnbError
>>> err = InvalidDicomError("element length runs past the end of the data",
...                         path="ct.dcm", offset=132, tag=0x00100010)
>>> str(err)
'ct.dcm: at byte 132, element (0010,0010): element length runs past the end of the data'
>>> isinstance(err, PacsnbError)
True
"""
from __future__ import annotations

__all__ = [
    "PacsnbError",
    "InvalidDicomError",
    "DicomValueError",
    "CharsetError",
    "DictionaryError",
    "CodecError",
    "NetworkError",
    "AssociationRejected",
    "AssociationAborted",
    "DimseError",
    "PDUError",
    "LocalProtocolError",
    "ArchiveError",
    "DeidError",
]


class PacsnbError(Exception):
    """Base class of every error pacsnb raises on purpose."""


class InvalidDicomError(PacsnbError, ValueError):
    """The bytes are not valid DICOM (or not DICOM at all).

    Parameters
    ----------
    message
        What is wrong.
    path
        The file (or other source) being read, if known.
    offset
        Byte offset in that source where the problem was found.
    tag
        The element being read, as an int ``0xGGGGEEEE``.
    """

    def __init__(self, message: str, *, path: object = None, offset: int | None = None,
                 tag: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.offset = offset
        self.tag = tag
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        loc = []
        if self.offset is not None:
            loc.append(f"at byte {self.offset}")
        if self.tag is not None:
            loc.append(f"element ({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})")
        if loc:
            where.append(", ".join(loc))
        return ": ".join(where + [self.message])

    def __reduce__(self):  # keep keyword arguments through pickling (multiprocessing)
        return (_rebuild_invalid, (self.message, self.path, self.offset, self.tag))


def _rebuild_invalid(message, path, offset, tag):
    return InvalidDicomError(message, path=path, offset=offset, tag=tag)


class DicomValueError(PacsnbError, ValueError):
    """A value cannot be represented in the element's VR (too long, wrong characters, ...)."""


class CharsetError(PacsnbError, ValueError):
    """Text cannot be decoded or encoded with the Specific Character Set in force."""


class DictionaryError(PacsnbError, KeyError):
    """An unknown keyword or tag, or a malformed tag string."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CodecError(PacsnbError):
    """Compressed pixel data cannot be decoded or encoded."""


class NetworkError(PacsnbError):
    """A DICOM network operation failed (connection, timeout, protocol error)."""


class AssociationRejected(NetworkError):
    """The peer rejected the association request."""


class AssociationAborted(NetworkError):
    """The association was aborted by the peer or by the local provider."""


class DimseError(NetworkError):
    """A DIMSE operation ended with a failure status.

    Parameters
    ----------
    message
        What failed.
    status
        The DIMSE status code (0x0000 success, 0xA700 out of resources, ...).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message if status is None else f"{message} (status 0x{status:04X})")


class ArchiveError(PacsnbError):
    """The archive cannot store, index or find something."""


class DeidError(PacsnbError):
    """De-identification cannot be done safely as asked."""


_PDU_NAMES = {
    0x01: "A-ASSOCIATE-RQ", 0x02: "A-ASSOCIATE-AC", 0x03: "A-ASSOCIATE-RJ", 0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ", 0x06: "A-RELEASE-RP", 0x07: "A-ABORT",
}


def _pdu_name(pdu_type: int) -> str:
    """The PS3.8 name of a PDU type (``'PDU type 0x09'`` for an unknown one)."""
    return _PDU_NAMES.get(pdu_type, f"PDU type 0x{pdu_type:02X}")


class PDUError(NetworkError):
    """Bytes received from the peer are not a valid PDU (PS3.8 Evt19).

    The state machine answers it with the abort PS3.8 Table 9-10 prescribes for the
    current state, sending an A-ABORT PDU whose reason/diag field is :attr:`reason`.

    Parameters
    ----------
    message
        What is wrong.
    reason
        The A-ABORT reason/diag (PS3.8 Table 9-26) for a service-provider abort:
        1 unrecognized-PDU, 2 unexpected-PDU, 4 unrecognized-PDU parameter,
        5 unexpected-PDU parameter, 6 invalid-PDU-parameter value (the default).
    offset
        Byte offset of the problem from the first byte of the PDU, if known.
    pdu_type
        The PDU-type byte of the PDU being read, if known.
    """

    def __init__(self, message: str, *, reason: int = 6, offset: int | None = None,
                 pdu_type: int | None = None) -> None:
        self.message = message
        self.reason = int(reason)
        self.offset = offset
        self.pdu_type = pdu_type
        where = []
        if pdu_type is not None:
            where.append(f"{_pdu_name(pdu_type)} PDU")
        if offset is not None:
            where.append(f"at byte {offset}")
        super().__init__(", ".join(where) + ": " + message if where else message)

    def __reduce__(self):  # keep keyword arguments through pickling
        return (_rebuild_pdu_error, (self.message, self.reason, self.offset, self.pdu_type))


def _rebuild_pdu_error(message, reason, offset, pdu_type):
    return PDUError(message, reason=reason, offset=offset, pdu_type=pdu_type)


class LocalProtocolError(NetworkError):
    """The local user (or transport layer) asked for something the current state forbids.

    Raised by :class:`~pacsnb.net.StateMachine` for a primitive in a state where PS3.8
    Table 9-10 has no entry for it (for example P-DATA before the association is
    established). The state machine's state is unchanged.
    """
