"""The seven upper layer PDUs of PS3.8 9.3, their encoding, and an incremental reader.

Each PDU is a frozen dataclass with an ``encode()`` method giving its bytes (the 6-byte
header included); :func:`decode_pdu` turns one complete PDU back into its dataclass and
raises :class:`~pacsnb.net.PDUError` for anything malformed. :class:`PDUReader` takes the
bytes of a transport connection in chunks of any size and hands out complete PDUs, with
memory bounded by the negotiated maximum length: a PDU-length that cannot be accepted is
refused as soon as its 6-byte header has arrived, before any of its body is buffered.

==========  ===============  ======================================
PDU-type    PS3.8            class
==========  ===============  ======================================
0x01        9.3.2            :class:`AssociateRQ`
0x02        9.3.3            :class:`AssociateAC`
0x03        9.3.4            :class:`AssociateRJ`
0x04        9.3.5            :class:`PDataTF` (of :class:`PDV` items)
0x05        9.3.6            :class:`ReleaseRQ`
0x06        9.3.7            :class:`ReleaseRP`
0x07        9.3.8            :class:`Abort`
==========  ===============  ======================================

Examples
--------
>>> from pacsnb.net.pdu import PDataTF, PDV, PDUReader, ReleaseRQ
>>> raw = PDataTF((PDV(1, b"\\x01\\x02", is_command=True, is_last=True),)).encode() + ReleaseRQ().encode()
>>> raw.hex()
'040000000008000000040103010205000000000400000000'
>>> reader = PDUReader()
>>> for i in range(0, len(raw), 5):      # any chunking gives the same PDUs
...     reader.feed(raw[i:i + 5])
...     for pdu in reader:
...         print(pdu)
PDataTF(pdvs=(PDV(context_id=1, data=b'\\x01\\x02', is_command=True, is_last=True),))
ReleaseRQ()
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Iterator, Union

from pacsnb.errors import DicomValueError
from pacsnb.net._errors import PDUError
from pacsnb.net.items import (DICOM_APPLICATION_CONTEXT, ItemType, PresentationContextAC,
                              PresentationContextRQ, UserInformation, _item, _uid_bytes,
                              decode_context_ac, decode_context_rq, decode_user_information,
                              iter_items, _decode_uid)

__all__ = [
    "PDUType", "AbortSource", "AbortReason", "RejectResult", "RejectSource", "RejectReason",
    "AssociateRQ", "AssociateAC", "AssociateRJ", "PDV", "PDataTF", "ReleaseRQ", "ReleaseRP",
    "Abort", "PDU", "decode_pdu", "PDUReader", "fragment",
    "DEFAULT_MAXIMUM_LENGTH", "MAX_ASSOCIATION_PDU_LENGTH", "ABSOLUTE_MAX_PDATA_LENGTH",
]

#: The Maximum Length pacsnb advertises by default (the largest P-DATA-TF PDU-length it
#: accepts): 1 MiB, a balance of per-PDU overhead and memory per association.
DEFAULT_MAXIMUM_LENGTH = 1 << 20
#: The largest A-ASSOCIATE-RQ/AC the reader buffers by default. A real request with 128
#: presentation contexts and a SAML assertion is far smaller.
MAX_ASSOCIATION_PDU_LENGTH = 1 << 20
#: Hard bound on a P-DATA-TF when the local Maximum Length is 0 ("unlimited").
ABSOLUTE_MAX_PDATA_LENGTH = 64 << 20

_HEADER = struct.Struct(">BBI")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class PDUType(enum.IntEnum):
    """PDU-type byte (PS3.8 9.3.1).

    The first byte of every PDU.

    Examples
    --------
    >>> PDUType.ABORT
    <PDUType.ABORT: 7>
    >>> PDUType(ReleaseRQ().encode()[0]).name
    'RELEASE_RQ'
    """

    ASSOCIATE_RQ = 0x01
    ASSOCIATE_AC = 0x02
    ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    RELEASE_RQ = 0x05
    RELEASE_RP = 0x06
    ABORT = 0x07


class AbortSource(enum.IntEnum):
    """Source of an A-ABORT PDU (PS3.8 Table 9-26).

    Examples
    --------
    >>> AbortSource(2).name
    'SERVICE_PROVIDER'
    >>> Abort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU).encode()
    b'\\x07\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x02\\x02'
    """

    SERVICE_USER = 0
    RESERVED = 1
    SERVICE_PROVIDER = 2


class AbortReason(enum.IntEnum):
    """Reason/Diag. of a service-provider A-ABORT (PS3.8 Table 9-26).

    Examples
    --------
    >>> AbortReason.UNEXPECTED_PDU.value
    2
    >>> pdu = decode_pdu(b"\\x07\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x02\\x06")
    >>> AbortReason(pdu.reason).name
    'INVALID_PDU_PARAMETER_VALUE'
    """

    NOT_SPECIFIED = 0
    UNRECOGNIZED_PDU = 1
    UNEXPECTED_PDU = 2
    UNRECOGNIZED_PDU_PARAMETER = 4
    UNEXPECTED_PDU_PARAMETER = 5
    INVALID_PDU_PARAMETER_VALUE = 6


class RejectResult(enum.IntEnum):
    """Result of an A-ASSOCIATE-RJ (PS3.8 Table 9-21).

    Examples
    --------
    >>> RejectResult.TRANSIENT
    <RejectResult.TRANSIENT: 2>
    >>> RejectResult(decode_pdu(b"\\x03\\x00\\x00\\x00\\x00\\x04\\x00\\x01\\x01\\x07").result).name
    'PERMANENT'
    """

    PERMANENT = 1
    TRANSIENT = 2


class RejectSource(enum.IntEnum):
    """Source of an A-ASSOCIATE-RJ (PS3.8 Table 9-21).

    Examples
    --------
    >>> RejectSource(3).name
    'SERVICE_PROVIDER_PRESENTATION'
    >>> AssociateRJ(RejectResult.TRANSIENT, RejectSource.SERVICE_PROVIDER_ACSE,
    ...             RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED).encode()
    b'\\x03\\x00\\x00\\x00\\x00\\x04\\x00\\x02\\x02\\x02'
    """

    SERVICE_USER = 1
    SERVICE_PROVIDER_ACSE = 2
    SERVICE_PROVIDER_PRESENTATION = 3


class RejectReason:
    """Reason/Diag. values of an A-ASSOCIATE-RJ; their meaning depends on the source.

    A namespace of plain ``int`` constants, not an enum: the same value means different
    things for each :class:`RejectSource` (PS3.8 Table 9-21).

    Examples
    --------
    >>> RejectReason.CALLED_AE_NOT_RECOGNIZED
    7
    >>> RejectReason.NO_REASON == RejectReason.ACSE_NO_REASON == RejectReason.TEMPORARY_CONGESTION
    True
    >>> AssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_USER,
    ...             RejectReason.CALLED_AE_NOT_RECOGNIZED).encode()
    b'\\x03\\x00\\x00\\x00\\x00\\x04\\x00\\x01\\x01\\x07'
    """

    #: source 1, service-user
    NO_REASON = 1
    APPLICATION_CONTEXT_NOT_SUPPORTED = 2
    CALLING_AE_NOT_RECOGNIZED = 3
    CALLED_AE_NOT_RECOGNIZED = 7
    #: source 2, service-provider (ACSE related function)
    ACSE_NO_REASON = 1
    PROTOCOL_VERSION_NOT_SUPPORTED = 2
    #: source 3, service-provider (presentation related function)
    TEMPORARY_CONGESTION = 1
    LOCAL_LIMIT_EXCEEDED = 2


def _header(pdu_type: int, body_length: int) -> bytes:
    if body_length > 0xFFFFFFFF:
        raise DicomValueError(f"PDU body of {body_length} bytes does not fit the 32-bit PDU-length")
    return _HEADER.pack(pdu_type, 0, body_length)


_AE_OK = set(range(0x20, 0x7F)) - {0x5C}


def _encode_ae(title: str, what: str, strict: bool) -> bytes:
    """16 bytes, space padded. Strict: non-empty, ISO 646 G0 without backslash (the AE VR)."""
    if not strict:
        raw = title.strip(" ").encode("latin-1", errors="replace")[:16]
        return raw.ljust(16, b" ")
    t = title.strip(" ")
    if not t:
        raise DicomValueError(f"{what} is empty; PS3.8 9.3.2 forbids 16 spaces (no AE title)")
    bad = [c for c in t if ord(c) not in _AE_OK]
    if bad:
        raise DicomValueError(f"{what} {title!r} has characters an AE title cannot hold "
                              f"({''.join(bad)!r}): use printable ASCII without backslash")
    if len(t) > 16:
        raise DicomValueError(f"{what} {title!r} is {len(t)} characters long; at most 16")
    return t.encode("ascii").ljust(16, b" ")


def _decode_ae(buf: bytes, off: int) -> str:
    return bytes(buf[off:off + 16]).decode("latin-1").strip(" \x00")


# --- the PDUs -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AssociateRQ:
    """A-ASSOCIATE-RQ PDU (PS3.8 9.3.2).

    Parameters
    ----------
    called_ae_title, calling_ae_title
        Up to 16 characters each; leading and trailing spaces are not significant.
    presentation_contexts
        The proposed :class:`~pacsnb.net.items.PresentationContextRQ` items.
    user_information
        The :class:`~pacsnb.net.items.UserInformation` item.
    application_context_name
        The DICOM application context unless told otherwise.
    protocol_version
        Bit 0 set for version 1, the only version.

    Examples
    --------
    >>> from pacsnb.net.pdu import AssociateRQ, decode_pdu
    >>> from pacsnb.net.items import PresentationContextRQ, UserInformation
    >>> rq = AssociateRQ("STORESCP", "PACSNB",
    ...                  (PresentationContextRQ(1, "1.2.840.10008.1.1", ("1.2.840.10008.1.2",)),),
    ...                  UserInformation(maximum_length=16384))
    >>> raw = rq.encode()
    >>> raw[:10].hex(), raw[10:42]
    ('01000000009b00010000', b'STORESCP        PACSNB          ')
    >>> decode_pdu(raw) == rq
    True
    """

    PDU_TYPE: ClassVar[int] = PDUType.ASSOCIATE_RQ

    called_ae_title: str
    calling_ae_title: str
    presentation_contexts: tuple[PresentationContextRQ, ...] = ()
    user_information: UserInformation = UserInformation()
    application_context_name: str = DICOM_APPLICATION_CONTEXT
    protocol_version: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.presentation_contexts, tuple):
            object.__setattr__(self, "presentation_contexts", tuple(self.presentation_contexts))

    def encode(self) -> bytes:
        """The PDU's bytes."""
        return _encode_associate(self, strict_ae=True)


@dataclass(frozen=True, slots=True)
class AssociateAC:
    """A-ASSOCIATE-AC PDU (PS3.8 9.3.3).

    The AE title fields are reserved in the AC: they are sent with the values of the
    request and not tested when received.

    Examples
    --------
    >>> from pacsnb.net.pdu import AssociateAC, decode_pdu
    >>> from pacsnb.net.items import PresentationContextAC, UserInformation
    >>> ac = AssociateAC("STORESCP", "PACSNB", (PresentationContextAC(1, 0, "1.2.840.10008.1.2"),),
    ...                  UserInformation(maximum_length=0))
    >>> decode_pdu(ac.encode()).presentation_contexts[0].accepted
    True
    """

    PDU_TYPE: ClassVar[int] = PDUType.ASSOCIATE_AC

    called_ae_title: str
    calling_ae_title: str
    presentation_contexts: tuple[PresentationContextAC, ...] = ()
    user_information: UserInformation = UserInformation()
    application_context_name: str = DICOM_APPLICATION_CONTEXT
    protocol_version: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.presentation_contexts, tuple):
            object.__setattr__(self, "presentation_contexts", tuple(self.presentation_contexts))

    def encode(self) -> bytes:
        """The PDU's bytes."""
        return _encode_associate(self, strict_ae=False)


def _encode_associate(pdu: AssociateRQ | AssociateAC, strict_ae: bool) -> bytes:
    if not 0 <= pdu.protocol_version <= 0xFFFF:
        raise DicomValueError(f"protocol version {pdu.protocol_version} does not fit 16 bits")
    body = [
        _U16.pack(pdu.protocol_version), b"\x00\x00",
        _encode_ae(pdu.called_ae_title, "called AE title", strict_ae),
        _encode_ae(pdu.calling_ae_title, "calling AE title", strict_ae),
        bytes(32),
        _item(ItemType.APPLICATION_CONTEXT,
              _uid_bytes(pdu.application_context_name, "application context name")),
    ]
    body += [pc.encode() for pc in pdu.presentation_contexts]
    body.append(pdu.user_information.encode())
    raw = b"".join(body)
    return _header(pdu.PDU_TYPE, len(raw)) + raw


@dataclass(frozen=True, slots=True)
class AssociateRJ:
    """A-ASSOCIATE-RJ PDU (PS3.8 9.3.4).

    Parameters
    ----------
    result
        1 rejected-permanent, 2 rejected-transient (:class:`RejectResult`).
    source
        1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation).
    reason
        Reason/Diag. (:class:`RejectReason`), meaning depends on ``source``.

    Examples
    --------
    >>> from pacsnb.net.pdu import AssociateRJ, RejectReason
    >>> AssociateRJ(1, 1, RejectReason.CALLED_AE_NOT_RECOGNIZED).encode().hex()
    '03000000000400010107'
    """

    PDU_TYPE: ClassVar[int] = PDUType.ASSOCIATE_RJ

    result: int
    source: int
    reason: int

    def encode(self) -> bytes:
        """The PDU's bytes."""
        for v in (self.result, self.source, self.reason):
            if not 0 <= v <= 255:
                raise DicomValueError(f"A-ASSOCIATE-RJ field {v} does not fit a byte")
        return _header(self.PDU_TYPE, 4) + bytes((0, int(self.result), int(self.source),
                                                  int(self.reason)))


@dataclass(frozen=True, slots=True)
class PDV:
    """One presentation data value item of a P-DATA-TF (PS3.8 9.3.5.1, Annex E.2).

    Parameters
    ----------
    context_id
        The presentation context the fragment belongs to.
    data
        The fragment: part of a DIMSE command or of a data set.
    is_command
        Message control header bit 0: command (``True``) or data set fragment.
    is_last
        Message control header bit 1: the last fragment of the command or data set.

    Examples
    --------
    >>> from pacsnb.net.pdu import PDV
    >>> PDV(1, b"", is_command=True, is_last=True).control_header
    3
    """

    context_id: int
    data: bytes
    is_command: bool = False
    is_last: bool = True

    @property
    def control_header(self) -> int:
        """The message control header byte."""
        return int(bool(self.is_command)) | (int(bool(self.is_last)) << 1)


@dataclass(frozen=True, slots=True)
class PDataTF:
    """P-DATA-TF PDU (PS3.8 9.3.5): one or more :class:`PDV` items.

    Examples
    --------
    >>> from pacsnb.net.pdu import PDataTF, PDV
    >>> pdu = PDataTF([PDV(3, b"abc", is_command=False, is_last=False)])
    >>> pdu.encode().hex(), pdu.length
    ('040000000009000000050300616263', 9)
    """

    PDU_TYPE: ClassVar[int] = PDUType.P_DATA_TF

    pdvs: tuple[PDV, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.pdvs, tuple):
            object.__setattr__(self, "pdvs", tuple(self.pdvs))

    @property
    def length(self) -> int:
        """The PDU-length field: what the peer's Maximum Length bounds."""
        return sum(6 + len(p.data) for p in self.pdvs)

    def encode(self) -> bytes:
        """The PDU's bytes."""
        if not self.pdvs:
            raise DicomValueError("a P-DATA-TF PDU needs one or more PDV items (PS3.8 9.3.5)")
        parts = [_header(self.PDU_TYPE, self.length)]
        for p in self.pdvs:
            if not 0 <= p.context_id <= 255:
                raise DicomValueError(f"presentation context ID {p.context_id} does not fit a byte")
            parts.append(_U32.pack(len(p.data) + 2) + bytes((p.context_id, p.control_header)))
            parts.append(bytes(p.data))
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class ReleaseRQ:
    """A-RELEASE-RQ PDU (PS3.8 9.3.6).

    Examples
    --------
    >>> from pacsnb.net.pdu import ReleaseRQ
    >>> ReleaseRQ().encode().hex()
    '05000000000400000000'
    """

    PDU_TYPE: ClassVar[int] = PDUType.RELEASE_RQ

    def encode(self) -> bytes:
        """The PDU's bytes."""
        return _header(self.PDU_TYPE, 4) + bytes(4)


@dataclass(frozen=True, slots=True)
class ReleaseRP:
    """A-RELEASE-RP PDU (PS3.8 9.3.7).

    Examples
    --------
    >>> from pacsnb.net.pdu import ReleaseRP, decode_pdu
    >>> decode_pdu(ReleaseRP().encode())
    ReleaseRP()
    """

    PDU_TYPE: ClassVar[int] = PDUType.RELEASE_RP

    def encode(self) -> bytes:
        """The PDU's bytes."""
        return _header(self.PDU_TYPE, 4) + bytes(4)


@dataclass(frozen=True, slots=True)
class Abort:
    """A-ABORT PDU (PS3.8 9.3.8), for both A-ABORT (user) and A-P-ABORT (provider).

    Parameters
    ----------
    source
        0 service-user, 2 service-provider (:class:`AbortSource`).
    reason
        Reason/Diag. (:class:`AbortReason`), significant for a provider abort only.

    Examples
    --------
    >>> from pacsnb.net.pdu import Abort, AbortSource, AbortReason
    >>> Abort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU).encode().hex()
    '07000000000400000202'
    """

    PDU_TYPE: ClassVar[int] = PDUType.ABORT

    source: int = AbortSource.SERVICE_USER
    reason: int = AbortReason.NOT_SPECIFIED

    def encode(self) -> bytes:
        """The PDU's bytes."""
        for v in (self.source, self.reason):
            if not 0 <= v <= 255:
                raise DicomValueError(f"A-ABORT field {v} does not fit a byte")
        return _header(self.PDU_TYPE, 4) + bytes((0, 0, int(self.source), int(self.reason)))


PDU = Union[AssociateRQ, AssociateAC, AssociateRJ, PDataTF, ReleaseRQ, ReleaseRP, Abort]


# --- decoding -----------------------------------------------------------------------------

def _decode_associate(buf: bytes, pdu_type: int) -> AssociateRQ | AssociateAC:
    end = len(buf)
    if end < 6 + 68:
        raise PDUError(f"PDU-length {end - 6} is shorter than the 68 bytes of fixed fields",
                       offset=2, pdu_type=pdu_type)
    version = _U16.unpack_from(buf, 6)[0]
    called, calling = _decode_ae(buf, 10), _decode_ae(buf, 26)
    app: str | None = None
    contexts: list = []
    user: UserInformation | None = None
    is_rq = pdu_type == PDUType.ASSOCIATE_RQ
    for t, hdr, b0, b1 in iter_items(buf, 74, end, "variable items", pdu_type):
        if t == ItemType.APPLICATION_CONTEXT:
            if app is not None:
                raise PDUError("second application context item", reason=5, offset=hdr,
                               pdu_type=pdu_type)
            app = _decode_uid(buf, b0, b1, "application context name", pdu_type)
        elif is_rq and t == ItemType.PRESENTATION_CONTEXT_RQ:
            contexts.append(decode_context_rq(buf, b0, b1, pdu_type))
        elif not is_rq and t == ItemType.PRESENTATION_CONTEXT_AC:
            contexts.append(decode_context_ac(buf, b0, b1, pdu_type))
        elif t == ItemType.USER_INFORMATION:
            if user is not None:
                raise PDUError("second user information item", reason=5, offset=hdr,
                               pdu_type=pdu_type)
            user = decode_user_information(buf, hdr, b1, pdu_type)
        elif t in (ItemType.PRESENTATION_CONTEXT_RQ, ItemType.PRESENTATION_CONTEXT_AC):
            raise PDUError(f"presentation context item 0x{t:02X} does not belong in this PDU",
                           reason=5, offset=hdr, pdu_type=pdu_type)
        # items of unrecognized types are ignored and skipped (PS3.8 9.3.1)
    if app is None:
        raise PDUError("no application context item", offset=74, pdu_type=pdu_type)
    if is_rq and not contexts:
        raise PDUError("no presentation context item (one or more are required)", offset=74,
                       pdu_type=pdu_type)
    cls = AssociateRQ if is_rq else AssociateAC
    return cls(called, calling, tuple(contexts), user if user is not None else UserInformation(),
               app, version)


def _decode_pdata(buf: bytes) -> PDataTF:
    end = len(buf)
    off = 6
    pdvs = []
    while off < end:
        if end - off < 4:
            raise PDUError(f"{end - off} stray byte(s) where a PDV item length was expected",
                           offset=off, pdu_type=PDUType.P_DATA_TF)
        n = _U32.unpack_from(buf, off)[0]
        if n < 2:
            raise PDUError(f"PDV item length {n} is less than the 2 bytes of its context ID and "
                           f"control header", offset=off, pdu_type=PDUType.P_DATA_TF)
        if n > end - off - 4:
            raise PDUError(f"PDV item length {n} runs past the end of the PDU ({end - off - 4} "
                           f"bytes left)", offset=off, pdu_type=PDUType.P_DATA_TF)
        ctl = buf[off + 5]
        pdvs.append(PDV(buf[off + 4], bytes(buf[off + 6:off + 4 + n]), bool(ctl & 1), bool(ctl & 2)))
        off += 4 + n
    if not pdvs:
        raise PDUError("P-DATA-TF PDU without any PDV item", offset=6, pdu_type=PDUType.P_DATA_TF)
    return PDataTF(tuple(pdvs))


_FIXED = {PDUType.ASSOCIATE_RJ, PDUType.RELEASE_RQ, PDUType.RELEASE_RP, PDUType.ABORT}


def decode_pdu(data: bytes) -> PDU:
    """Decode one complete PDU (header included).

    Parameters
    ----------
    data
        Exactly one PDU: its PDU-length must match ``len(data) - 6``.

    Returns
    -------
    PDU
        One of :class:`AssociateRQ`, :class:`AssociateAC`, :class:`AssociateRJ`,
        :class:`PDataTF`, :class:`ReleaseRQ`, :class:`ReleaseRP`, :class:`Abort`.

    Raises
    ------
    PDUError
        Unknown PDU type (reason 1, unrecognized-PDU) or malformed content (reason 6,
        invalid-PDU-parameter value, or 5 for a duplicated item), with the byte offset.

    Examples
    --------
    >>> from pacsnb.net.pdu import decode_pdu
    >>> decode_pdu(bytes.fromhex("07000000000400000206"))
    Abort(source=2, reason=6)
    >>> decode_pdu(bytes.fromhex("0900000000020000"))
    Traceback (most recent call last):
    ...
    pacsnb.errors.PDUError: PDU type 0x09 PDU, at byte 0: unrecognized PDU type 0x09
    """
    if len(data) < 6:
        raise PDUError(f"{len(data)} bytes are fewer than the 6 of a PDU header", offset=0)
    pdu_type, _, length = _HEADER.unpack_from(data, 0)
    if pdu_type not in PDUType._value2member_map_:
        raise PDUError(f"unrecognized PDU type 0x{pdu_type:02X}", reason=AbortReason.UNRECOGNIZED_PDU,
                       offset=0, pdu_type=pdu_type)
    if length != len(data) - 6:
        raise PDUError(f"PDU-length {length} does not match the {len(data) - 6} bytes given",
                       offset=2, pdu_type=pdu_type)
    if pdu_type in _FIXED:
        if length != 4:
            raise PDUError(f"PDU-length is {length}; this PDU has the fixed length 4", offset=2,
                           pdu_type=pdu_type)
        if pdu_type == PDUType.ASSOCIATE_RJ:
            return AssociateRJ(data[7], data[8], data[9])
        if pdu_type == PDUType.ABORT:
            return Abort(data[8], data[9])
        return ReleaseRQ() if pdu_type == PDUType.RELEASE_RQ else ReleaseRP()
    if pdu_type == PDUType.P_DATA_TF:
        return _decode_pdata(data)
    return _decode_associate(data, pdu_type)


class PDUReader:
    """Split a byte stream into PDUs, with bounded memory (sans-IO).

    Feed it whatever the transport delivers, then take complete PDUs with
    :meth:`next_pdu` or by iterating. A header announcing a PDU that may not be accepted
    (unknown type, P-DATA-TF longer than the local Maximum Length, association PDU
    longer than ``max_association_length``, a fixed-size PDU of the wrong size) raises
    :class:`~pacsnb.net.PDUError` as soon as the header is seen; the reader then stays
    failed and drops every further byte (the stream cannot be resynchronised). A PDU
    whose body is malformed raises too, but framing is intact and reading may go on.

    Parameters
    ----------
    max_pdata_length
        The largest P-DATA-TF PDU-length accepted: the Maximum Length sub-item this side
        sent. ``0`` (no limit) is bounded by :data:`ABSOLUTE_MAX_PDATA_LENGTH`.
    max_association_length
        The largest A-ASSOCIATE-RQ/AC PDU-length accepted.

    Examples
    --------
    >>> from pacsnb.net.pdu import PDUReader
    >>> reader = PDUReader(max_pdata_length=16384)
    >>> reader.feed(bytes.fromhex("04 00 FFFFFFFF"))
    >>> reader.next_pdu()
    Traceback (most recent call last):
    ...
    pacsnb.errors.PDUError: P-DATA-TF PDU, at byte 2: PDU-length 4294967295 exceeds the maximum length 16384 this side accepts
    >>> reader.feed(b"x" * 1000); reader.buffered, reader.failed is not None
    (0, True)
    """

    __slots__ = ("_buf", "_max_pdata", "max_association_length", "failed")

    def __init__(self, *, max_pdata_length: int = DEFAULT_MAXIMUM_LENGTH,
                 max_association_length: int = MAX_ASSOCIATION_PDU_LENGTH) -> None:
        self._buf = bytearray()
        self._max_pdata = 0
        self.max_pdata_length = max_pdata_length
        self.max_association_length = max_association_length
        #: The error that stopped the reader, or ``None``.
        self.failed: PDUError | None = None

    @property
    def max_pdata_length(self) -> int:
        """The P-DATA-TF bound in force (0 reads as :data:`ABSOLUTE_MAX_PDATA_LENGTH`)."""
        return self._max_pdata

    @max_pdata_length.setter
    def max_pdata_length(self, value: int) -> None:
        self._max_pdata = ABSOLUTE_MAX_PDATA_LENGTH if value == 0 else min(int(value),
                                                                            ABSOLUTE_MAX_PDATA_LENGTH)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet handed out as a PDU."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        """Append received bytes (dropped if the reader has failed)."""
        if self.failed is None and data:
            self._buf += data

    def _fail(self, err: PDUError) -> PDUError:
        self.failed = err
        self._buf = bytearray()
        return err

    def next_pdu(self) -> PDU | None:
        """The next complete PDU, or ``None`` if more bytes are needed.

        Raises
        ------
        PDUError
            The next PDU is unacceptable (see the class description).
        """
        if self.failed is not None:
            return None
        buf = self._buf
        if not buf:
            return None
        pdu_type = buf[0]
        if pdu_type not in PDUType._value2member_map_:
            raise self._fail(PDUError(f"unrecognized PDU type 0x{pdu_type:02X}",
                                      reason=AbortReason.UNRECOGNIZED_PDU, offset=0,
                                      pdu_type=pdu_type))
        if len(buf) < 6:
            return None
        length = _U32.unpack_from(buf, 2)[0]
        if pdu_type == PDUType.P_DATA_TF:
            limit, what = self._max_pdata, "the maximum length"
        elif pdu_type in (PDUType.ASSOCIATE_RQ, PDUType.ASSOCIATE_AC):
            limit, what = self.max_association_length, "the association PDU limit"
        else:
            limit, what = 4, ""
            if length != 4:
                raise self._fail(PDUError(f"PDU-length is {length}; this PDU has the fixed "
                                          f"length 4", offset=2, pdu_type=pdu_type))
        if length > limit:
            raise self._fail(PDUError(f"PDU-length {length} exceeds {what} {limit} this side "
                                      f"accepts", offset=2, pdu_type=pdu_type))
        if len(buf) < 6 + length:
            return None
        raw = bytes(buf[:6 + length])
        del buf[:6 + length]
        return decode_pdu(raw)

    def __iter__(self) -> Iterator[PDU]:
        while (pdu := self.next_pdu()) is not None:
            yield pdu


def fragment(context_id: int, data: bytes, *, is_command: bool,
             max_pdu_length: int) -> Iterator[PDataTF]:
    """Split a DIMSE command or data set into P-DATA-TF PDUs the peer accepts.

    Parameters
    ----------
    context_id
        The presentation context.
    data
        The encoded command set or data set.
    is_command
        Whether ``data`` is a command.
    max_pdu_length
        The peer's Maximum Length (0 for no limit): every PDU's PDU-length stays within it.

    Yields
    ------
    PDataTF
        One PDV each; the last one has ``is_last=True``.

    Examples
    --------
    >>> from pacsnb.net.pdu import fragment
    >>> [(p.pdvs[0].data, p.pdvs[0].is_last) for p in fragment(1, b"abcdefgh", is_command=False,
    ...                                                          max_pdu_length=9)]
    [(b'abc', False), (b'def', False), (b'gh', True)]
    """
    if max_pdu_length and max_pdu_length < 7:
        raise DicomValueError(f"a maximum length of {max_pdu_length} leaves no room for data "
                              f"(a PDV costs 6 bytes)")
    n = len(data)
    room = max_pdu_length - 6 if max_pdu_length else max(n, 1)
    view = memoryview(data)
    off = 0
    while True:
        chunk = bytes(view[off:off + room])
        off += len(chunk)
        yield PDataTF((PDV(context_id, chunk, is_command, off >= n),))
        if off >= n:
            return
