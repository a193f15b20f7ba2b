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
    "NoPixelDataError",
    "FrameIndexError",
    "TransformError",
    "ArchiveError",
    "DuplicateInstanceError",
    "ArchiveFullError",
    "InvalidInstanceError",
    "InvalidQueryError",
    "DeidError",
    "GeometryError",
]


class PacsnbError(Exception):
    """Base class of every error pacsnb raises on purpose.

    Catch it to handle any failure of pacsnb in one place; the subclasses tell which
    layer failed and why. Several are also standard exceptions (``ValueError``,
    ``KeyError``, ...), so code that catches those keeps working.

    Examples
    --------
    >>> from pacsnb.dicom import Tag
    >>> try:
    ...     Tag("NoSuchKeyword")
    ... except PacsnbError as exc:
    ...     print(type(exc).__name__, isinstance(exc, PacsnbError))
    DictionaryError True
    """


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

    Examples
    --------
    >>> err = InvalidDicomError("the file is empty", path="empty.dcm", offset=0)
    >>> str(err), err.path, err.offset, isinstance(err, ValueError)
    ('empty.dcm: at byte 0: the file is empty', 'empty.dcm', 0, True)
    >>> import pacsnb
    >>> pacsnb.read(b"not DICOM at all")
    Traceback (most recent call last):
    ...
    pacsnb.errors.InvalidDicomError: at byte 0: not a DICOM file: no 'DICM' prefix at byte 128 and no data set at the start (pass force=True to try anyway)
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
        """Pickle support that keeps ``path``, ``offset`` and ``tag``."""
        return (_rebuild_invalid, (self.message, self.path, self.offset, self.tag))


def _rebuild_invalid(message, path, offset, tag):
    return InvalidDicomError(message, path=path, offset=offset, tag=tag)


class DicomValueError(PacsnbError, ValueError):
    """A value cannot be represented in the element's VR (too long, wrong characters, ...).

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset()
    >>> ds.Rows = -1
    Traceback (most recent call last):
    ...
    pacsnb.errors.DicomValueError: -1 does not fit in US (0..65535)
    """


class CharsetError(PacsnbError, ValueError):
    """Text cannot be decoded or encoded with the Specific Character Set in force.

    Examples
    --------
    >>> from pacsnb.dicom.charset import encode_text
    >>> try:
    ...     encode_text("Buc^Jérôme", "", vr="PN")  # the default repertoire is ASCII
    ... except CharsetError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    CharsetError True
    >>> encode_text("Buc^Jérôme", "ISO_IR 100", vr="PN")
    b'Buc^J\\xe9r\\xf4me'
    """


class DictionaryError(PacsnbError, KeyError):
    """An unknown keyword or tag, or a malformed tag string.

    Also a ``KeyError``; unlike a plain ``KeyError``, its ``str()`` is the message
    without quotes.

    Examples
    --------
    >>> from pacsnb.dicom import Tag
    >>> try:
    ...     Tag("PatientNmae")
    ... except KeyError as exc:
    ...     print(exc)
    'PatientNmae' is neither a DICOM keyword nor a tag like '0010,0010': check the spelling (keywords are CamelCase, e.g. 'PatientName')
    """

    def __str__(self) -> str:  # KeyError would quote the message
        """The message as given (``KeyError`` would quote it)."""
        return str(self.args[0]) if self.args else ""


class CodecError(PacsnbError):
    """Compressed pixel data cannot be decoded or encoded.

    Raised by :func:`pacsnb.pixels.pixel_array` for a transfer syntax without a codec or
    a corrupt frame; the message names the transfer syntax and the frame.

    Examples
    --------
    >>> try:
    ...     raise CodecError("RLE Lossless frame 3: the segment offsets run past the frame")
    ... except PacsnbError as exc:
    ...     print(f"{type(exc).__name__}: {exc}")
    CodecError: RLE Lossless frame 3: the segment offsets run past the frame
    """


class NetworkError(PacsnbError):
    """A DICOM network operation failed (connection, timeout, protocol error).

    The base class of the network errors: catch it to handle any of them.

    Examples
    --------
    >>> try:
    ...     raise AssociationRejected("rejected-permanent: called AE title not recognized")
    ... except NetworkError as exc:
    ...     print(f"{type(exc).__name__}: {exc}")
    AssociationRejected: rejected-permanent: called AE title not recognized
    """


class AssociationRejected(NetworkError):
    """The peer rejected the association request.

    Examples
    --------
    >>> err = AssociationRejected("rejected-transient: local limit exceeded")
    >>> isinstance(err, NetworkError), str(err)
    (True, 'rejected-transient: local limit exceeded')
    """


class AssociationAborted(NetworkError):
    """The association was aborted by the peer or by the local provider.

    Examples
    --------
    >>> err = AssociationAborted("A-ABORT from the peer (service-user)")
    >>> isinstance(err, NetworkError), str(err)
    (True, 'A-ABORT from the peer (service-user)')
    """


class DimseError(NetworkError):
    """A DIMSE operation ended with a failure status.

    Parameters
    ----------
    message
        What failed.
    status
        The DIMSE status code (0x0000 success, 0xA700 out of resources, ...).

    Examples
    --------
    >>> err = DimseError("C-STORE of 1.2.3.4 failed", status=0xA700)
    >>> str(err), hex(err.status)
    ('C-STORE of 1.2.3.4 failed (status 0xA700)', '0xa700')
    >>> DimseError("C-FIND cancelled").status is None
    True
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message if status is None else f"{message} (status 0x{status:04X})")


class ArchiveError(PacsnbError):
    """The archive cannot store, index or find something.

    Examples
    --------
    >>> err = ArchiveError("no study 1.2.3 in the archive")
    >>> isinstance(err, PacsnbError), str(err)
    (True, 'no study 1.2.3 in the archive')
    """


class DeidError(PacsnbError):
    """De-identification cannot be done safely as asked.

    Examples
    --------
    >>> err = DeidError("burned-in annotation: the pixels may show identifying text")
    >>> isinstance(err, PacsnbError), str(err)
    (True, 'burned-in annotation: the pixels may show identifying text')
    """


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

    Examples
    --------
    >>> err = PDUError("unknown PDU type", reason=1, offset=0, pdu_type=0x09)
    >>> str(err), err.reason
    ('PDU type 0x09 PDU, at byte 0: unknown PDU type', 1)
    >>> str(PDUError("the item length runs past the PDU", offset=74, pdu_type=0x01))
    'A-ASSOCIATE-RQ PDU, at byte 74: the item length runs past the PDU'
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
        """Pickle support that keeps ``reason``, ``offset`` and ``pdu_type``."""
        return (_rebuild_pdu_error, (self.message, self.reason, self.offset, self.pdu_type))


def _rebuild_pdu_error(message, reason, offset, pdu_type):
    return PDUError(message, reason=reason, offset=offset, pdu_type=pdu_type)


class LocalProtocolError(NetworkError):
    """The local user (or transport layer) asked for something the current state forbids.

    Raised by :class:`~pacsnb.net.StateMachine` for a primitive in a state where PS3.8
    Table 9-10 has no entry for it (for example P-DATA before the association is
    established). The state machine's state is unchanged.

    Examples
    --------
    >>> err = LocalProtocolError("P-DATA request in state Sta1 (idle): no association")
    >>> isinstance(err, NetworkError), str(err)
    (True, 'P-DATA request in state Sta1 (idle): no association')
    """


class NoPixelDataError(InvalidDicomError, AttributeError):
    """The data set has no Pixel Data, Float Pixel Data or Double Float Pixel Data.

    Also an ``AttributeError``, so that ``hasattr(ds, "pixel_array")`` is ``False``.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> import pacsnb.pixels
    >>> try:
    ...     pacsnb.pixels.pixel_array(Dataset({"Rows": 2, "Columns": 2}))
    ... except NoPixelDataError as exc:
    ...     print(isinstance(exc, AttributeError), isinstance(exc, InvalidDicomError))
    True True
    """


class FrameIndexError(PacsnbError, IndexError):
    """``frame=`` is outside ``0 .. NumberOfFrames - 1``. Also an ``IndexError``.

    Examples
    --------
    >>> issubclass(FrameIndexError, IndexError)
    True
    """


class TransformError(PacsnbError, ValueError):
    """A pixel transform was given parameters it cannot use (a window width below 1, an
    unknown VOI LUT Function or colour space, a LUT that is not one, ...).

    Also a ``ValueError``. Missing or malformed attributes of a data set raise
    :class:`InvalidDicomError` instead (with the file's name).

    Examples
    --------
    >>> issubclass(TransformError, ValueError)
    True
    """


class GeometryError(PacsnbError, ValueError):
    """The images given as one volume do not make one: several series, mixed orientations
    or image sizes, slices at the same position, missing geometry attributes, or a
    DataArray whose grid cannot be written back. Also a ``ValueError``.

    The message lists what was found (series UIDs and counts, the groups of orientations
    or sizes) and how to select one.

    Examples
    --------
    >>> issubclass(GeometryError, ValueError)
    True
    """


class DuplicateInstanceError(ArchiveError):
    """An archive with ``duplicates="reject"`` already holds this SOP Instance UID.

    Nothing was stored; the instance already in the archive is untouched. (The storage
    service answers it with a failure status; ``duplicates="replace"`` or ``"keep"``
    accept such instances instead.)

    Parameters
    ----------
    message
        What happened.
    sop_instance_uid
        The UID that arrived twice.

    Examples
    --------
    >>> err = DuplicateInstanceError("1.2.3 is already in the archive", sop_instance_uid="1.2.3")
    >>> isinstance(err, ArchiveError), err.sop_instance_uid
    (True, '1.2.3')
    """

    def __init__(self, message: str, sop_instance_uid: str | None = None) -> None:
        self.sop_instance_uid = sop_instance_uid
        super().__init__(message)

    def __reduce__(self):
        """Pickle support that keeps ``sop_instance_uid``."""
        return (DuplicateInstanceError, (str(self), self.sop_instance_uid))


class ArchiveFullError(ArchiveError, OSError):
    """The archive's disk is full (or over quota): nothing was stored.

    Also an ``OSError``. The storage service answers it with status A700 (Out of
    Resources). Free space, or move the archive to a larger disk.

    Examples
    --------
    >>> import errno
    >>> err = ArchiveFullError("no space left on /archive while storing 1.2.3")
    >>> isinstance(err, ArchiveError), isinstance(err, OSError)
    (True, True)
    """


class InvalidInstanceError(ArchiveError, ValueError):
    """An instance cannot be archived: a UID it needs is missing, or the data is not DICOM.

    Also a ``ValueError``. Nothing was stored.

    Examples
    --------
    >>> issubclass(InvalidInstanceError, ValueError)
    True
    """


class InvalidQueryError(ArchiveError, ValueError):
    """A query key or value cannot be matched (an unknown keyword, a date that is not one,
    a key below the query level).

    Also a ``ValueError``. The query/retrieve service answers it with a failure status
    (A900 or C000) naming the key.

    Examples
    --------
    >>> issubclass(InvalidQueryError, ValueError)
    True
    """
