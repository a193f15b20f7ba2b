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
