"""DIMSE messages (PS3.7): command sets, statuses, fragmentation and reassembly, sans-IO.

A DIMSE message is a *command set* (the group 0000 elements of PS3.7 Annex E, always in
implicit VR little endian) optionally followed by a *data set* (in the transfer syntax of
the presentation context). Both travel as PDVs of P-DATA-TF PDUs (PS3.8 9.3.5, Annex E),
each with a message control header saying whether it is command or data and whether it is
the last fragment.

* Each request and response of PS3.7 chapters 9 and 10 is a frozen dataclass
  (:class:`CEchoRQ`, :class:`CStoreRSP`, :class:`NActionRQ`, ...) whose fields are the
  command elements of its table; :meth:`Command.encode` gives the command set's bytes
  (Command Group Length computed) and :func:`decode_command` reads them back.
* :func:`status_category` classes a status code (success, pending, cancel, warning,
  failure; PS3.7 Annex C); :class:`Status` names the general ones.
* :func:`message_to_pdus` fragments a message to the peer's maximum PDU length; the data
  set may be bytes or a binary file read chunk by chunk, so a large data set streams from
  disk.
* :class:`MessageAssembler` takes the PDVs of :class:`~pacsnb.net.DataIndication` events
  and gives complete :class:`Message` objects. The data set goes to a *sink*: an in-memory
  buffer by default, or any writable binary file chosen per message, so a large C-STORE
  goes straight to disk and is never held in memory.

Examples
--------
>>> from pacsnb.net.dimse import CEchoRQ, MessageAssembler, message_to_pdus
>>> rq = CEchoRQ(message_id=7)
>>> raw = rq.encode()        # implicit VR little endian, group length first
>>> raw[:12].hex(), len(raw)
('000000000400000038000000', 68)
>>> pdus = list(message_to_pdus(1, rq, max_pdu_length=16384))
>>> asm = MessageAssembler()
>>> [m for pdu in pdus for m in asm.feed(pdu)]
[Message(context_id=1, command=CEchoRQ(message_id=7, affected_sop_class_uid='1.2.840.10008.1.1'), data=None)]
>>> rsp = rq.response()
>>> rsp, rsp.category.name
(CEchoRSP(message_id_being_responded_to=7, status=0x0000, affected_sop_class_uid='1.2.840.10008.1.1'), 'SUCCESS')
"""
from __future__ import annotations

import dataclasses
import enum
import io
import logging
import operator
import struct
import tempfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, ClassVar, Iterable, Iterator, Union

from pacsnb.dicom import dictionary as _dictionary
from pacsnb.errors import DicomValueError
from pacsnb.net._errors import PDUError
from pacsnb.net.pdu import DEFAULT_MAXIMUM_LENGTH, PDataTF, PDUType, PDV, fragment

__all__ = [
    "CommandField", "Priority", "StatusCategory", "Status", "status_category",
    "NO_DATA_SET", "DATA_SET_PRESENT", "VERIFICATION_SOP_CLASS",
    "Command", "Request", "Response",
    "CEchoRQ", "CEchoRSP", "CStoreRQ", "CStoreRSP", "CFindRQ", "CFindRSP", "CGetRQ",
    "CGetRSP", "CMoveRQ", "CMoveRSP", "CCancelRQ",
    "NEventReportRQ", "NEventReportRSP", "NGetRQ", "NGetRSP", "NSetRQ", "NSetRSP",
    "NActionRQ", "NActionRSP", "NCreateRQ", "NCreateRSP", "NDeleteRQ", "NDeleteRSP",
    "COMMAND_CLASSES", "decode_command", "Message", "MessageAssembler", "message_to_pdus",
    "command_pdu", "MAX_COMMAND_LENGTH", "Spool",
]

log = logging.getLogger(__name__)

#: Command Data Set Type (0000,0800) when no data set follows (PS3.7 E.1).
NO_DATA_SET = 0x0101
#: The Command Data Set Type pacsnb sends when a data set follows (any other value means so).
DATA_SET_PRESENT = 0x0001
#: The Verification SOP Class, the abstract syntax of C-ECHO.
VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"
#: The longest command set the assembler buffers; real ones are a few hundred bytes.
MAX_COMMAND_LENGTH = 1 << 20

_ELEMENT = struct.Struct("<HHI")
_US = struct.Struct("<H")
_UL = struct.Struct("<I")


class CommandField(enum.IntEnum):
    """Command Field (0000,0100) values (PS3.7 Table E.1-1).

    Examples
    --------
    >>> from pacsnb.net.dimse import CommandField
    >>> CommandField(0x8021).message_name, hex(CommandField.C_CANCEL_RQ)
    ('C-MOVE-RSP', '0xfff')
    """

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150
    C_CANCEL_RQ = 0x0FFF

    @property
    def message_name(self) -> str:
        """The name PS3.7 uses, e.g. ``'C-STORE-RQ'``."""
        name = _MESSAGE_NAMES.get(self._value_)
        if name is None:
            name = _MESSAGE_NAMES[self._value_] = self.name.replace("_", "-")
        return name


_MESSAGE_NAMES: dict[int, str] = {}


class Priority(enum.IntEnum):
    """Priority (0000,0700) of C-STORE, C-FIND, C-GET and C-MOVE requests.

    Examples
    --------
    >>> from pacsnb.net.dimse import Priority
    >>> [int(p) for p in (Priority.LOW, Priority.MEDIUM, Priority.HIGH)]
    [2, 0, 1]
    """

    MEDIUM = 0x0000
    HIGH = 0x0001
    LOW = 0x0002


class StatusCategory(enum.Enum):
    """The status classes of PS3.7 Annex C.

    Examples
    --------
    >>> from pacsnb.net.dimse import StatusCategory, status_category
    >>> status_category(0xA700) is StatusCategory.FAILURE
    True
    """

    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    CANCEL = "cancel"
    PENDING = "pending"


class Status(enum.IntEnum):
    """Status (0000,0900) codes with a meaning fixed by PS3.7 Annex C (and common ones of PS3.4).

    Service classes define more (A7xx out of resources, A9xx data set does not match SOP
    class, Cxxx cannot understand, B000/B006/B007 warnings of C-STORE, ...); any 16-bit
    code is accepted wherever a status is, and :func:`status_category` classes it.

    Examples
    --------
    >>> from pacsnb.net.dimse import Status
    >>> Status(0x0122).name, hex(Status.PENDING)
    ('SOP_CLASS_NOT_SUPPORTED', '0xff00')
    """

    SUCCESS = 0x0000
    WARNING = 0x0001
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    ATTRIBUTE_LIST_ERROR = 0x0107
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    NO_SUCH_SOP_INSTANCE = 0x0112
    NO_SUCH_EVENT_TYPE = 0x0113
    NO_SUCH_ARGUMENT = 0x0114
    INVALID_ARGUMENT_VALUE = 0x0115
    ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
    INVALID_SOP_INSTANCE = 0x0117
    NO_SUCH_SOP_CLASS = 0x0118
    CLASS_INSTANCE_CONFLICT = 0x0119
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    NO_SUCH_ACTION_TYPE = 0x0123
    NOT_AUTHORIZED = 0x0124
    DUPLICATE_INVOCATION = 0x0210
    UNRECOGNIZED_OPERATION = 0x0211
    MISTYPED_ARGUMENT = 0x0212
    RESOURCE_LIMITATION = 0x0213
    OUT_OF_RESOURCES = 0xA700
    DATA_SET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    COERCION_OF_DATA_ELEMENTS = 0xB000
    ELEMENTS_DISCARDED = 0xB006
    SUB_OPERATIONS_COMPLETE_WITH_FAILURES = 0xB000  # the same code, for C-GET and C-MOVE
    CANCEL = 0xFE00
    PENDING = 0xFF00
    PENDING_WARNING = 0xFF01


def status_category(status: int) -> StatusCategory:
    """The status class of a status code (PS3.7 Annex C).

    Success 0000; warning 0001, Bxxx, 0107, 0116; failure Axxx, Cxxx, other 01xx and
    02xx; cancel FE00; pending FF00 and FF01. Codes outside those ranges (which an
    implementation shall not send) are counted as failures.

    Examples
    --------
    >>> from pacsnb.net.dimse import status_category
    >>> [status_category(s).name for s in (0x0000, 0xFF01, 0xFE00, 0xB007, 0x0107, 0xA702, 0x0122)]
    ['SUCCESS', 'PENDING', 'CANCEL', 'WARNING', 'WARNING', 'FAILURE', 'FAILURE']
    """
    status = int(status)
    if status == 0x0000:
        return StatusCategory.SUCCESS
    if status in (0xFF00, 0xFF01):
        return StatusCategory.PENDING
    if status == 0xFE00:
        return StatusCategory.CANCEL
    if status in (0x0001, 0x0107, 0x0116) or status >> 12 == 0xB:
        return StatusCategory.WARNING
    return StatusCategory.FAILURE


# --- command elements ---------------------------------------------------------------------

def _f(keyword: str, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is the command element ``keyword``."""
    return field(default=default, metadata={"keyword": keyword})


_CACHE: dict[type, tuple[tuple[str, int, str], ...]] = {}
_FIXED_TAGS = (0x00000000, 0x00000100, 0x00000800)  # group length, command field, data set type


def _spec(cls: type) -> tuple[tuple[str, int, str], ...]:
    """``(attribute, tag, VR)`` of each command element field of a class (from the dictionary)."""
    spec = _CACHE.get(cls)
    if spec is None:
        out = []
        for f in dataclasses.fields(cls):
            kw = f.metadata.get("keyword")
            if kw is None:
                continue
            tag = int(_dictionary.tag_for_keyword(kw))
            out.append((f.name, tag, _dictionary.vr_for_tag(tag)))
        spec = _CACHE[cls] = tuple(out)
    return spec


def _text(value: str, pad: bytes, limit: int | None, what: str) -> bytes:
    raw = str(value).encode("ascii", errors="replace")
    if limit is not None and len(raw) > limit:
        raise DicomValueError(f"{what} {value!r} is {len(raw)} characters long; at most {limit} fit")
    return raw + pad if len(raw) & 1 else raw


def _encode_value(vr: str, value: Any, what: str) -> bytes:
    if vr == "US":
        v = int(value)
        if not 0 <= v <= 0xFFFF:
            raise DicomValueError(f"{what} {v} does not fit an unsigned 16-bit number (US)")
        return _US.pack(v)
    if vr == "UL":
        return _UL.pack(int(value))
    if vr == "UI":
        return _text(value, b"\x00", 64, what)
    if vr == "AE":
        return _text(value, b" ", 16, what)
    if vr == "AT":
        tags = (value,) if isinstance(value, int) else tuple(value)
        return b"".join(struct.pack("<HH", (int(t) >> 16) & 0xFFFF, int(t) & 0xFFFF) for t in tags)
    # LO, SH, ST and any other text
    return _text(value, b" ", {"LO": 64, "SH": 16}.get(vr), what)


def _decode_value(vr: str, raw: bytes, what: str) -> Any:
    if vr == "US":
        if len(raw) != 2:
            raise _error(f"{what} has {len(raw)} bytes; a US value has 2")
        return _US.unpack(raw)[0]
    if vr == "UL":
        if len(raw) != 4:
            raise _error(f"{what} has {len(raw)} bytes; a UL value has 4")
        return _UL.unpack(raw)[0]
    if vr == "AT":
        if len(raw) % 4:
            raise _error(f"{what} has {len(raw)} bytes; AT values are 4 bytes each")
        return tuple((g << 16) | e for g, e in struct.iter_unpack("<HH", raw))
    text = raw.decode("latin-1")
    if vr == "UI":
        return text.rstrip("\x00 ")
    return text.strip(" \x00")


def _error(message: str) -> PDUError:
    return PDUError(f"DIMSE command set: {message}", pdu_type=PDUType.P_DATA_TF)


# --- the commands -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base class of the DIMSE command sets.

    Each subclass is one message of PS3.7 chapters 9 and 10; its fields are its command
    elements (``None`` leaves an optional one out). Command Field, Command Data Set Type
    and Command Group Length are not fields: the class fixes the first, the presence of
    a data set the second, and :meth:`encode` computes the third.

    ``extra`` keeps command elements the class has no field for, as
    ``(tag, raw value bytes)`` pairs, so that a decoded command re-encodes unchanged.

    Examples
    --------
    >>> from pacsnb.net.dimse import CEchoRQ, decode_command
    >>> rq = CEchoRQ(message_id=1, extra=((0x00004000, b"OLD "),))   # a retired element kept
    >>> decode_command(rq.encode())[0].extra
    ((16384, b'OLD '),)
    >>> rq.service, rq.is_request, rq.command_field.name
    ('C-ECHO', True, 'C_ECHO_RQ')
    """

    COMMAND_FIELD: ClassVar[CommandField]
    #: Whether a data set always (``True``), never (``False``) or may (``None``) follow.
    DATA_SET: ClassVar[bool | None] = None

    extra: tuple[tuple[int, bytes], ...] = field(default=(), repr=False)

    @property
    def command_field(self) -> CommandField:
        """The Command Field (0000,0100)."""
        return self.COMMAND_FIELD

    @property
    def name(self) -> str:
        """The PS3.7 name, e.g. ``'C-STORE-RQ'``."""
        return self.COMMAND_FIELD.message_name

    @property
    def service(self) -> str:
        """The DIMSE service, e.g. ``'C-STORE'``."""
        return self.name.rsplit("-", 1)[0]

    @property
    def is_request(self) -> bool:
        """Whether this is a request (C-CANCEL-RQ included)."""
        return not self.COMMAND_FIELD & 0x8000

    def elements(self, *, has_data_set: bool = False) -> dict[int, bytes]:
        """The command elements as ``{tag: raw value}`` (group length excluded), by tag."""
        out: dict[int, bytes] = {
            0x00000100: _US.pack(int(self.COMMAND_FIELD)),
            0x00000800: _US.pack(DATA_SET_PRESENT if has_data_set else NO_DATA_SET),
        }
        for name, tag, vr in _spec(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if vr == "UI" and type(value) is str and len(value) < 64 and value.isascii():
                out[tag] = value.encode() + b"\x00" if len(value) & 1 else value.encode()  # the common case
            elif vr == "US" and type(value) is int and 0 <= value <= 0xFFFF:
                out[tag] = _US.pack(value)
            else:
                out[tag] = _encode_value(vr, value, f"{self.name} {name}")
        for tag, raw in self.extra:
            if tag >> 16 != 0 or tag in _FIXED_TAGS:
                raise DicomValueError(f"extra command element ({tag >> 16:04X},{tag & 0xFFFF:04X}) "
                                      f"cannot be set that way")
            out.setdefault(tag, bytes(raw))
        return dict(sorted(out.items()))

    def encode(self, *, has_data_set: bool | None = None) -> bytes:
        """The command set in implicit VR little endian, Command Group Length first.

        Parameters
        ----------
        has_data_set
            Whether a data set follows (sets Command Data Set Type); default: the class's
            :attr:`DATA_SET`, ``False`` where it is optional.

        Examples
        --------
        >>> from pacsnb.net.dimse import CCancelRQ
        >>> CCancelRQ(message_id_being_responded_to=3).encode().hex()
        '00000000040000001e0000000000000102000000ff0f0000200102000000030000000008020000000101'
        """
        if has_data_set is None:
            has_data_set = bool(self.DATA_SET)
        parts = []
        for tag, raw in self.elements(has_data_set=has_data_set).items():
            parts.append(_ELEMENT.pack(0, tag & 0xFFFF, len(raw)))
            parts.append(raw)
        body = b"".join(parts)
        return _ELEMENT.pack(0, 0, 4) + _UL.pack(len(body)) + body

    def to_dataset(self, *, has_data_set: bool | None = None):
        """The command set as a :class:`~pacsnb.dicom.Dataset` (for display and inspection).

        Examples
        --------
        >>> from pacsnb.net.dimse import CEchoRQ
        >>> CEchoRQ(message_id=1).to_dataset().CommandField
        48
        """
        from pacsnb.io import read_bytes
        return read_bytes(self.encode(has_data_set=has_data_set), transfer_syntax="1.2.840.10008.1.2")

    def replace(self, **changes: Any) -> "Command":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


#: The fields a response copies from its request (PS3.7): ``(request field, response field)``.
_COPIED = (("affected_sop_class_uid", "affected_sop_class_uid"),
           ("requested_sop_class_uid", "affected_sop_class_uid"),
           ("affected_sop_instance_uid", "affected_sop_instance_uid"),
           ("requested_sop_instance_uid", "affected_sop_instance_uid"),
           ("event_type_id", "event_type_id"), ("action_type_id", "action_type_id"))
_COPIES: dict[type, tuple[tuple[str, str], ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Command):
    """A request: it carries a Message ID (0000,0110).

    Examples
    --------
    >>> from pacsnb.net.dimse import NActionRQ
    >>> rq = NActionRQ(message_id=3, requested_sop_class_uid="1.2.840.10008.1.20.1",
    ...                requested_sop_instance_uid="1.2.840.10008.1.20.1.1", action_type_id=1)
    >>> rq.response().affected_sop_instance_uid, rq.response().action_type_id
    ('1.2.840.10008.1.20.1.1', 1)
    """

    RESPONSE: ClassVar[type]

    message_id: int = _f("MessageID")

    def response(self, status: int = 0x0000, **fields: Any) -> "Response":
        """The response to this request, with the fields PS3.7 says equal the request's.

        Message ID Being Responded To is this Message ID; Affected SOP Class/Instance UID
        (from the Requested ones for N-GET, N-SET, N-ACTION and N-DELETE), Event Type ID
        and Action Type ID are copied when the response has them. ``fields`` override.

        Examples
        --------
        >>> from pacsnb.net.dimse import CStoreRQ
        >>> rq = CStoreRQ(message_id=5, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="4.5")
        >>> rq.response(0xB000, error_comment="coerced")
        CStoreRSP(message_id_being_responded_to=5, status=0xB000, error_comment='coerced', affected_sop_class_uid='1.2.3', affected_sop_instance_uid='4.5')
        """
        cls = self.RESPONSE
        copies = _COPIES.get(type(self))
        if copies is None:
            names = {f.name for f in dataclasses.fields(cls)}
            mine = {f.name for f in dataclasses.fields(type(self))}
            copies = _COPIES[type(self)] = tuple((src, dst) for src, dst in _COPIED if src in mine and dst in names)
        values: dict[str, Any] = {"message_id_being_responded_to": self.message_id,
                                  "status": status if type(status) is int else int(status)}
        for src, dst in copies:
            value = getattr(self, src)
            if value is not None:
                values[dst] = value
        if fields:
            values.update(fields)
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Response(Command):
    """A response: Message ID Being Responded To (0000,0120), Status (0000,0900), and the
    optional status detail of PS3.7 Annex C (Offending Element, Error Comment, Error ID).

    Examples
    --------
    >>> from pacsnb.net.dimse import CFindRSP
    >>> rsp = CFindRSP(message_id_being_responded_to=2, status=0xFF00)
    >>> rsp.is_pending, rsp.is_final, rsp
    (True, False, CFindRSP(message_id_being_responded_to=2, status=0xFF00))
    """

    DATA_SET: ClassVar[bool | None] = None

    message_id_being_responded_to: int = _f("MessageIDBeingRespondedTo")
    status: int = _f("Status", 0x0000)
    offending_element: tuple[int, ...] | None = _f("OffendingElement", None)
    error_comment: str | None = _f("ErrorComment", None)
    error_id: int | None = _f("ErrorID", None)

    @property
    def category(self) -> StatusCategory:
        """The status class of :attr:`status`."""
        return status_category(self.status)

    @property
    def is_pending(self) -> bool:
        """Whether more responses to the same request follow (status FF00 or FF01)."""
        return self.category is StatusCategory.PENDING

    @property
    def is_final(self) -> bool:
        """Whether this response ends its operation (any status but pending)."""
        return not self.is_pending

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.name == "status":
                parts.append(f"status=0x{value:04X}")
            elif value is not None or f.name == "message_id_being_responded_to":
                parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _response_repr(cls: type) -> type:
    cls.__repr__ = Response.__repr__  # dataclass(repr=True) of subclasses would override it
    return cls


# C-ECHO (PS3.7 9.3.5)

@dataclass(frozen=True, slots=True, kw_only=True)
class CEchoRQ(Request):
    """C-ECHO-RQ (PS3.7 Table 9.3-12).

    Examples
    --------
    >>> from pacsnb.net.dimse import CEchoRQ, decode_command
    >>> rq = CEchoRQ(message_id=1)
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-ECHO-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_ECHO_RQ
    DATA_SET: ClassVar[bool | None] = False

    affected_sop_class_uid: str = _f("AffectedSOPClassUID", VERIFICATION_SOP_CLASS)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class CEchoRSP(Response):
    """C-ECHO-RSP (PS3.7 Table 9.3-13).

    Examples
    --------
    >>> from pacsnb.net.dimse import CEchoRSP, decode_command
    >>> rsp = CEchoRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('C-ECHO-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_ECHO_RSP
    DATA_SET: ClassVar[bool | None] = False

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)


# C-STORE (PS3.7 9.3.1)

@dataclass(frozen=True, slots=True, kw_only=True)
class CStoreRQ(Request):
    """C-STORE-RQ (PS3.7 Table 9.3-1); the data set is the SOP instance to store.

    Examples
    --------
    >>> from pacsnb.net.dimse import CStoreRQ, decode_command
    >>> rq = CStoreRQ(message_id=1, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-STORE-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_STORE_RQ
    DATA_SET: ClassVar[bool | None] = True

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    affected_sop_instance_uid: str = _f("AffectedSOPInstanceUID")
    priority: int = _f("Priority", Priority.MEDIUM)
    move_originator_aet: str | None = _f("MoveOriginatorApplicationEntityTitle", None)
    move_originator_message_id: int | None = _f("MoveOriginatorMessageID", None)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class CStoreRSP(Response):
    """C-STORE-RSP (PS3.7 Table 9.3-2).

    Examples
    --------
    >>> from pacsnb.net.dimse import CStoreRSP, decode_command
    >>> rsp = CStoreRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('C-STORE-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_STORE_RSP
    DATA_SET: ClassVar[bool | None] = False

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)


# C-FIND (PS3.7 9.3.2)

@dataclass(frozen=True, slots=True, kw_only=True)
class CFindRQ(Request):
    """C-FIND-RQ (PS3.7 Table 9.3-3); the data set is the identifier (the query).

    Examples
    --------
    >>> from pacsnb.net.dimse import CFindRQ, decode_command
    >>> rq = CFindRQ(message_id=1, affected_sop_class_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-FIND-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_FIND_RQ
    DATA_SET: ClassVar[bool | None] = True

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    priority: int = _f("Priority", Priority.MEDIUM)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class CFindRSP(Response):
    """C-FIND-RSP (PS3.7 Table 9.3-4); pending responses carry an identifier (a match).

    Examples
    --------
    >>> from pacsnb.net.dimse import CFindRSP, decode_command
    >>> rsp = CFindRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('C-FIND-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_FIND_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)


# C-GET (PS3.7 9.3.3)

@dataclass(frozen=True, slots=True, kw_only=True)
class CGetRQ(Request):
    """C-GET-RQ (PS3.7 Table 9.3-5); the data set is the identifier.

    Examples
    --------
    >>> from pacsnb.net.dimse import CGetRQ, decode_command
    >>> rq = CGetRQ(message_id=1, affected_sop_class_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-GET-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_GET_RQ
    DATA_SET: ClassVar[bool | None] = True

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    priority: int = _f("Priority", Priority.MEDIUM)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _SubOperations(Response):
    """The sub-operation counters of C-GET-RSP and C-MOVE-RSP."""

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    remaining: int | None = _f("NumberOfRemainingSuboperations", None)
    completed: int | None = _f("NumberOfCompletedSuboperations", None)
    failed: int | None = _f("NumberOfFailedSuboperations", None)
    warning: int | None = _f("NumberOfWarningSuboperations", None)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class CGetRSP(_SubOperations):
    """C-GET-RSP (PS3.7 Table 9.3-6); a data set may list the failed SOP instance UIDs.

    Examples
    --------
    >>> from pacsnb.net.dimse import CGetRSP, decode_command
    >>> rsp = CGetRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('C-GET-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_GET_RSP


# C-MOVE (PS3.7 9.3.4)

@dataclass(frozen=True, slots=True, kw_only=True)
class CMoveRQ(Request):
    """C-MOVE-RQ (PS3.7 Table 9.3-7); the data set is the identifier.

    Examples
    --------
    >>> from pacsnb.net.dimse import CMoveRQ, decode_command
    >>> rq = CMoveRQ(message_id=1, affected_sop_class_uid="1.2.3", move_destination="DEST")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-MOVE-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_MOVE_RQ
    DATA_SET: ClassVar[bool | None] = True

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    move_destination: str = _f("MoveDestination")
    priority: int = _f("Priority", Priority.MEDIUM)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class CMoveRSP(_SubOperations):
    """C-MOVE-RSP (PS3.7 Table 9.3-8).

    Examples
    --------
    >>> from pacsnb.net.dimse import CMoveRSP, decode_command
    >>> rsp = CMoveRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('C-MOVE-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_MOVE_RSP


# C-CANCEL (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3)

@dataclass(frozen=True, slots=True, kw_only=True)
class CCancelRQ(Command):
    """C-CANCEL-RQ (PS3.7 Table 9.3-11): cancel the C-FIND, C-GET or C-MOVE whose Message
    ID is ``message_id_being_responded_to``. It has no response of its own.

    Examples
    --------
    >>> from pacsnb.net.dimse import CCancelRQ, decode_command
    >>> rq = CCancelRQ(message_id_being_responded_to=1)
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('C-CANCEL-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.C_CANCEL_RQ
    DATA_SET: ClassVar[bool | None] = False

    message_id_being_responded_to: int = _f("MessageIDBeingRespondedTo")


# N-EVENT-REPORT (PS3.7 10.3.1)

@dataclass(frozen=True, slots=True, kw_only=True)
class NEventReportRQ(Request):
    """N-EVENT-REPORT-RQ (PS3.7 Table 10.3-1); an optional data set is the event information.

    Examples
    --------
    >>> from pacsnb.net.dimse import NEventReportRQ, decode_command
    >>> rq = NEventReportRQ(message_id=1, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="1.2.3", event_type_id=1)
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-EVENT-REPORT-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_EVENT_REPORT_RQ

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    affected_sop_instance_uid: str = _f("AffectedSOPInstanceUID")
    event_type_id: int = _f("EventTypeID")


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NEventReportRSP(Response):
    """N-EVENT-REPORT-RSP (PS3.7 Table 10.3-2); an optional data set is the event reply.

    Examples
    --------
    >>> from pacsnb.net.dimse import NEventReportRSP, decode_command
    >>> rsp = NEventReportRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-EVENT-REPORT-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_EVENT_REPORT_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)
    event_type_id: int | None = _f("EventTypeID", None)


# N-GET (PS3.7 10.3.2)

@dataclass(frozen=True, slots=True, kw_only=True)
class NGetRQ(Request):
    """N-GET-RQ (PS3.7 Table 10.3-3): no data set; ``attribute_identifier_list`` lists the
    tags wanted (all when left out).

    Examples
    --------
    >>> from pacsnb.net.dimse import NGetRQ, decode_command
    >>> rq = NGetRQ(message_id=1, requested_sop_class_uid="1.2.3", requested_sop_instance_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-GET-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_GET_RQ
    DATA_SET: ClassVar[bool | None] = False

    requested_sop_class_uid: str = _f("RequestedSOPClassUID")
    requested_sop_instance_uid: str = _f("RequestedSOPInstanceUID")
    attribute_identifier_list: tuple[int, ...] | None = _f("AttributeIdentifierList", None)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NGetRSP(Response):
    """N-GET-RSP (PS3.7 Table 10.3-4); the data set is the attribute list.

    Examples
    --------
    >>> from pacsnb.net.dimse import NGetRSP, decode_command
    >>> rsp = NGetRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-GET-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_GET_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)
    #: The attributes not recognized (warning 0107) or not found (failure 0105).
    attribute_identifier_list: tuple[int, ...] | None = _f("AttributeIdentifierList", None)


# N-SET (PS3.7 10.3.3)

@dataclass(frozen=True, slots=True, kw_only=True)
class NSetRQ(Request):
    """N-SET-RQ (PS3.7 Table 10.3-5); the data set is the modification list.

    Examples
    --------
    >>> from pacsnb.net.dimse import NSetRQ, decode_command
    >>> rq = NSetRQ(message_id=1, requested_sop_class_uid="1.2.3", requested_sop_instance_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-SET-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_SET_RQ
    DATA_SET: ClassVar[bool | None] = True

    requested_sop_class_uid: str = _f("RequestedSOPClassUID")
    requested_sop_instance_uid: str = _f("RequestedSOPInstanceUID")


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NSetRSP(Response):
    """N-SET-RSP (PS3.7 Table 10.3-6); an optional data set is the attribute list.

    Examples
    --------
    >>> from pacsnb.net.dimse import NSetRSP, decode_command
    >>> rsp = NSetRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-SET-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_SET_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)
    #: The attributes not recognized (warning 0107) or not found (failure 0105).
    attribute_identifier_list: tuple[int, ...] | None = _f("AttributeIdentifierList", None)


# N-ACTION (PS3.7 10.3.4)

@dataclass(frozen=True, slots=True, kw_only=True)
class NActionRQ(Request):
    """N-ACTION-RQ (PS3.7 Table 10.3-7); an optional data set is the action information.

    Examples
    --------
    >>> from pacsnb.net.dimse import NActionRQ, decode_command
    >>> rq = NActionRQ(message_id=1, requested_sop_class_uid="1.2.3", requested_sop_instance_uid="1.2.3", action_type_id=1)
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-ACTION-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_ACTION_RQ

    requested_sop_class_uid: str = _f("RequestedSOPClassUID")
    requested_sop_instance_uid: str = _f("RequestedSOPInstanceUID")
    action_type_id: int = _f("ActionTypeID")


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NActionRSP(Response):
    """N-ACTION-RSP (PS3.7 Table 10.3-8); an optional data set is the action reply.

    Examples
    --------
    >>> from pacsnb.net.dimse import NActionRSP, decode_command
    >>> rsp = NActionRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-ACTION-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_ACTION_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)
    action_type_id: int | None = _f("ActionTypeID", None)


# N-CREATE (PS3.7 10.3.5)

@dataclass(frozen=True, slots=True, kw_only=True)
class NCreateRQ(Request):
    """N-CREATE-RQ (PS3.7 Table 10.3-9); an optional data set is the attribute list. Without
    ``affected_sop_instance_uid`` the performer chooses the instance UID.

    Examples
    --------
    >>> from pacsnb.net.dimse import NCreateRQ, decode_command
    >>> rq = NCreateRQ(message_id=1, affected_sop_class_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-CREATE-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_CREATE_RQ

    affected_sop_class_uid: str = _f("AffectedSOPClassUID")
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NCreateRSP(Response):
    """N-CREATE-RSP (PS3.7 Table 10.3-10); an optional data set is the attribute list.

    Examples
    --------
    >>> from pacsnb.net.dimse import NCreateRSP, decode_command
    >>> rsp = NCreateRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-CREATE-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_CREATE_RSP

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)
    #: The attributes not recognized (warning 0107) or not found (failure 0105).
    attribute_identifier_list: tuple[int, ...] | None = _f("AttributeIdentifierList", None)


# N-DELETE (PS3.7 10.3.6)

@dataclass(frozen=True, slots=True, kw_only=True)
class NDeleteRQ(Request):
    """N-DELETE-RQ (PS3.7 Table 10.3-11): no data set.

    Examples
    --------
    >>> from pacsnb.net.dimse import NDeleteRQ, decode_command
    >>> rq = NDeleteRQ(message_id=1, requested_sop_class_uid="1.2.3", requested_sop_instance_uid="1.2.3")
    >>> rq.name, decode_command(rq.encode())[0] == rq
    ('N-DELETE-RQ', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_DELETE_RQ
    DATA_SET: ClassVar[bool | None] = False

    requested_sop_class_uid: str = _f("RequestedSOPClassUID")
    requested_sop_instance_uid: str = _f("RequestedSOPInstanceUID")


@_response_repr
@dataclass(frozen=True, slots=True, kw_only=True)
class NDeleteRSP(Response):
    """N-DELETE-RSP (PS3.7 Table 10.3-12): no data set.

    Examples
    --------
    >>> from pacsnb.net.dimse import NDeleteRSP, decode_command
    >>> rsp = NDeleteRSP(message_id_being_responded_to=1, status=0x0000)
    >>> rsp.name, rsp.category.name, decode_command(rsp.encode())[0] == rsp
    ('N-DELETE-RSP', 'SUCCESS', True)
    """

    COMMAND_FIELD: ClassVar[CommandField] = CommandField.N_DELETE_RSP
    DATA_SET: ClassVar[bool | None] = False

    affected_sop_class_uid: str | None = _f("AffectedSOPClassUID", None)
    affected_sop_instance_uid: str | None = _f("AffectedSOPInstanceUID", None)


for _rq, _rsp in ((CEchoRQ, CEchoRSP), (CStoreRQ, CStoreRSP), (CFindRQ, CFindRSP),
                  (CGetRQ, CGetRSP), (CMoveRQ, CMoveRSP), (NEventReportRQ, NEventReportRSP),
                  (NGetRQ, NGetRSP), (NSetRQ, NSetRSP), (NActionRQ, NActionRSP),
                  (NCreateRQ, NCreateRSP), (NDeleteRQ, NDeleteRSP)):
    _rq.RESPONSE = _rsp
del _rq, _rsp

#: Every command class by its Command Field.
COMMAND_CLASSES: dict[int, type[Command]] = {
    cls.COMMAND_FIELD: cls for cls in (
        CEchoRQ, CEchoRSP, CStoreRQ, CStoreRSP, CFindRQ, CFindRSP, CGetRQ, CGetRSP, CMoveRQ,
        CMoveRSP, CCancelRQ, NEventReportRQ, NEventReportRSP, NGetRQ, NGetRSP, NSetRQ, NSetRSP,
        NActionRQ, NActionRSP, NCreateRQ, NCreateRSP, NDeleteRQ, NDeleteRSP)
}


_KNOWN: dict[type, frozenset[int]] = {}


def _parse_elements(data: bytes) -> dict[int, bytes]:
    n = len(data)
    off = 0
    elements: dict[int, bytes] = {}
    view = data if type(data) is bytes else memoryview(data)  # command sets are small: slices copy little
    while off < n:
        if n - off < 8:
            raise _error(f"{n - off} stray byte(s) at byte {off} where an element header was expected")
        group, elem, length = _ELEMENT.unpack_from(data, off)
        tag = (group << 16) | elem
        if group != 0:
            raise _error(f"element ({group:04X},{elem:04X}) at byte {off} is not in group 0000; "
                         f"a command set holds command elements only")
        if length == 0xFFFFFFFF or length > n - off - 8:
            raise _error(f"element (0000,{elem:04X}) at byte {off} has length {length}, past the "
                         f"end of the {n}-byte command set")
        if tag in elements:
            raise _error(f"element (0000,{elem:04X}) appears twice")
        elements[tag] = bytes(view[off + 8:off + 8 + length])
        off += 8 + length
    return elements


def decode_command(data: bytes) -> tuple[Command, bool]:
    """Decode a command set (implicit VR little endian).

    Parameters
    ----------
    data
        The bytes of the command set, as reassembled from its PDVs.

    Returns
    -------
    (Command, bool)
        The command, and whether a data set follows (Command Data Set Type is not 0101H).

    Raises
    ------
    PDUError
        Malformed elements, an unknown Command Field, or a missing mandatory element.
        A wrong Command Group Length is only logged.

    Examples
    --------
    >>> from pacsnb.net.dimse import CStoreRQ, decode_command
    >>> rq = CStoreRQ(message_id=1, affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
    ...               affected_sop_instance_uid="1.2.3.4", move_originator_aet="MOVER")
    >>> decode_command(rq.encode()) == (rq, True)
    True
    >>> decode_command(bytes(8))
    Traceback (most recent call last):
    ...
    pacsnb.errors.PDUError: P-DATA-TF PDU: DIMSE command set: element (0000,0000) has 0 bytes; a UL value has 4
    """
    for at in _ID_OFFSETS if type(data) is bytes else ():  # a C-ECHO like one seen, but for its ID
        if len(data) > at + 2:
            hit = _DECODED.get((at, data[:at] + data[at + 2:]))
            if hit is not None:
                cls, values, id_name, has_data_set = hit
                return cls(**values, **{id_name: data[at] | (data[at + 1] << 8)}), has_data_set
    elements = _parse_elements(data)
    if 0x00000000 in elements:
        length = _decode_value("UL", elements[0x00000000], "element (0000,0000)")
        first = 12  # bytes of the group length element itself
        if length != len(data) - first:
            log.warning("command set: Command Group Length is %d, but %d bytes follow it",
                        length, len(data) - first)
    if 0x00000100 not in elements:
        raise _error("Command Field (0000,0100) is missing")
    field_value = _decode_value("US", elements[0x00000100], "Command Field (0000,0100)")
    cls = COMMAND_CLASSES.get(field_value)
    if cls is None:
        raise _error(f"unknown Command Field 0x{field_value:04X}")
    if 0x00000800 not in elements:
        raise _error(f"{cls.COMMAND_FIELD.message_name}: Command Data Set Type (0000,0800) is missing")
    has_data_set = _decode_value("US", elements[0x00000800], "Command Data Set Type") != NO_DATA_SET
    values: dict[str, Any] = {}
    spec = _spec(cls)
    known = _KNOWN.get(cls)
    if known is None:
        known = _KNOWN[cls] = frozenset(_FIXED_TAGS) | {tag for _, tag, _ in spec}
    for name, tag, vr in spec:
        raw = elements.get(tag)
        if raw is None:
            continue
        if vr == "UI":  # the common cases first, as _decode_value does them
            values[name] = raw.decode("latin-1").rstrip("\x00 ")
        elif vr == "US" and len(raw) == 2:
            values[name] = _US.unpack(raw)[0]
        else:
            values[name] = _decode_value(vr, raw, f"{cls.COMMAND_FIELD.message_name} element "
                                                  f"(0000,{tag & 0xFFFF:04X})")
    extra = () if known.issuperset(elements) else \
        tuple((t, raw) for t, raw in sorted(elements.items()) if t not in known)
    try:
        command = cls(extra=extra, **values)
    except TypeError:
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = [f"(0000,{tag & 0xFFFF:04X}) {_dictionary.keyword_for_tag(tag)}"
                   for name, tag, _ in _spec(cls) if name in required and name not in values]
        raise _error(f"{cls.COMMAND_FIELD.message_name}: mandatory element(s) missing: "
                     f"{', '.join(missing)}") from None
    if cls.__name__ in _PDU_CACHED and not extra:
        _remember(data, cls, values, has_data_set)
    return command, has_data_set


#: Decoded C-ECHO command sets by their bytes without the Message ID value, and where the
#: Message ID value was in them: a peer's C-ECHO-RQs (or -RSPs) differ only by their ID.
_DECODED: dict[tuple[int, bytes], tuple[type, dict, str, bool]] = {}
_ID_OFFSETS: list[int] = []


def _remember(data: bytes, cls: type, values: dict, has_data_set: bool) -> None:
    id_name, _ = _id_and_others(cls)
    tag = _spec_tag(cls, id_name)
    off = 0
    while off + 8 <= len(data):
        group, elem, length = _ELEMENT.unpack_from(data, off)
        if (group << 16) | elem == tag:
            break
        off += 8 + length
    else:  # pragma: no cover - decoded commands have their ID
        return
    if length != 2:  # pragma: no cover - checked when decoding
        return
    at = off + 8
    if at not in _ID_OFFSETS:
        if len(_ID_OFFSETS) >= 4:
            return
        _ID_OFFSETS.append(at)
    if len(_DECODED) >= 64:
        _DECODED.clear()
    rest = {k: v for k, v in values.items() if k != id_name}
    _DECODED[(at, bytes(data[:at]) + bytes(data[at + 2:]))] = (cls, rest, id_name, has_data_set)


# --- messages: fragmentation and reassembly -----------------------------------------------

DataSource = Union[bytes, bytearray, memoryview, BinaryIO]


def _data_pdus(context_id: int, source: DataSource, max_pdu_length: int) -> Iterator[PDataTF]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield from fragment(context_id, source, is_command=False, max_pdu_length=max_pdu_length)
        return
    room = (max_pdu_length or DEFAULT_MAXIMUM_LENGTH) - 6
    if room < 1:
        raise DicomValueError(f"a maximum length of {max_pdu_length} leaves no room for data "
                              f"(a PDV costs 6 bytes)")
    chunk = source.read(room)
    while True:
        nxt = source.read(room) if chunk else b""
        last = not nxt
        yield PDataTF((PDV(context_id, bytes(chunk), False, last),))
        if last:
            return
        chunk = nxt


def message_to_pdus(context_id: int, command: Command, data: DataSource | None = None, *,
                    max_pdu_length: int) -> Iterator[PDataTF]:
    """The P-DATA-TF PDUs of one message, each within the peer's maximum length.

    Parameters
    ----------
    context_id
        The presentation context the message is sent on.
    command
        The command set; Command Data Set Type says whether ``data`` is given.
    data
        The encoded data set (in the context's transfer syntax), as bytes or as a binary
        file positioned at its start, read one fragment at a time: memory stays bounded
        by the maximum length whatever the size of the data set.
    max_pdu_length
        The peer's Maximum Length (0: no limit).

    Yields
    ------
    PDataTF
        First the command fragments, then the data set fragments; one PDV each.

    Examples
    --------
    >>> import io
    >>> from pacsnb.net.dimse import CStoreRQ, message_to_pdus
    >>> rq = CStoreRQ(message_id=1, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="4.5.6")
    >>> pdus = list(message_to_pdus(3, rq, io.BytesIO(bytes(100)), max_pdu_length=46))
    >>> [(p.pdvs[0].is_command, len(p.pdvs[0].data), p.pdvs[0].is_last) for p in pdus]
    [(True, 40, False), (True, 40, True), (False, 40, False), (False, 40, False), (False, 20, True)]
    """
    has_data_set = data is not None
    if command.DATA_SET is True and not has_data_set:
        raise DicomValueError(f"a {command.name} needs a data set")
    if command.DATA_SET is False and has_data_set:
        raise DicomValueError(f"a {command.name} has no data set")
    yield from fragment(context_id, command.encode(has_data_set=has_data_set), is_command=True,
                        max_pdu_length=max_pdu_length)
    if has_data_set:
        yield from _data_pdus(context_id, data, max_pdu_length)


# --- the encodings of frequent messages, cached ------------------------------------------

#: Command classes whose whole P-DATA-TF PDU is cached, the Message ID patched in per message
#: (the messages of a tight loop whose other fields do not change: C-ECHO).
_PDU_CACHED = frozenset({"CEchoRQ", "CEchoRSP"})
_PDU_CACHE: dict[tuple, tuple[bytes, int]] = {}
_PDU_CACHE_SIZE = 64
_FIELD_NAMES: dict[type, tuple[str, tuple[str, ...]]] = {}
_OTHERS: dict[type, Callable[[Any], tuple]] = {}


def _id_and_others(cls: type) -> tuple[str, tuple[str, ...]]:
    """The name of the Message ID field of ``cls`` and the names of its other fields."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        fields = tuple(f.name for f in dataclasses.fields(cls))
        id_name = "message_id" if "message_id" in fields else "message_id_being_responded_to"
        names = _FIELD_NAMES[cls] = (id_name, tuple(n for n in fields if n != id_name))
        _OTHERS[cls] = operator.attrgetter(*names[1])
    return names


def _pdu_of(context_id: int, raw: bytes) -> bytes:
    """One P-DATA-TF PDU holding ``raw`` as a single, last command PDV."""
    if not 0 <= context_id <= 255:
        raise DicomValueError(f"presentation context ID {context_id} does not fit a byte")
    return (bytes((0x04, 0)) + _U32BE.pack(len(raw) + 6) + _U32BE.pack(len(raw) + 2)
            + bytes((context_id, 0x03)) + raw)


_U32BE = struct.Struct(">I")


def command_pdu(context_id: int, command: Command, max_pdu_length: int = 0) -> bytes | None:
    """The encoded P-DATA-TF PDU of a message without a data set, or ``None`` if its
    command set does not fit one PDU within ``max_pdu_length`` (then use
    :func:`message_to_pdus`).

    The same bytes as ``message_to_pdus(context_id, command, None, ...)`` gives. For
    C-ECHO-RQ and C-ECHO-RSP the PDU is built once per presentation context and field
    values, and only the Message ID (Being Responded To) is patched in for each message.

    Examples
    --------
    >>> from pacsnb.net.dimse import CEchoRQ, command_pdu, message_to_pdus
    >>> a = command_pdu(1, CEchoRQ(message_id=2))
    >>> b = command_pdu(1, CEchoRQ(message_id=300))
    >>> a == list(message_to_pdus(1, CEchoRQ(message_id=2), max_pdu_length=0))[0].encode()
    True
    >>> b == list(message_to_pdus(1, CEchoRQ(message_id=300), max_pdu_length=0))[0].encode()
    True
    >>> command_pdu(1, CEchoRQ(message_id=2), max_pdu_length=40) is None   # must be split
    True
    """
    cls = type(command)
    if cls.__name__ not in _PDU_CACHED or command.extra:
        raw = command.encode(has_data_set=False)
        if max_pdu_length and len(raw) + 6 > max_pdu_length:
            return None
        return _pdu_of(context_id, raw)
    id_name, others = _id_and_others(cls)
    key = (cls, context_id, _OTHERS[cls](command))
    try:
        cached = _PDU_CACHE.get(key)
    except TypeError:  # an unhashable value (a list where a tuple is meant)
        cached, key = None, None
    if cached is None:
        raw = dataclasses.replace(command, **{id_name: 0}).encode(has_data_set=False)
        pdu = _pdu_of(context_id, raw)
        tag = _spec_tag(cls, id_name)
        off = 0
        while off < len(raw):  # the offset of the Message ID value in the command set
            group, elem, length = _ELEMENT.unpack_from(raw, off)
            if (group << 16) | elem == tag:
                break
            off += 8 + length
        cached = (pdu, 12 + off + 8)
        if key is not None:
            if len(_PDU_CACHE) >= _PDU_CACHE_SIZE:
                _PDU_CACHE.clear()
            _PDU_CACHE[key] = cached
    pdu, at = cached
    if max_pdu_length and len(pdu) - 6 > max_pdu_length:
        return None
    mid = getattr(command, id_name)
    if type(mid) is not int or not 0 <= mid <= 0xFFFF:
        raw = command.encode(has_data_set=False)  # raises the usual error for a bad value
        return _pdu_of(context_id, raw)
    return pdu[:at] + _US.pack(mid) + pdu[at + 2:]


def _spec_tag(cls: type, name: str) -> int:
    for field_name, tag, _ in _spec(cls):
        if field_name == name:
            return tag
    raise KeyError(name)  # pragma: no cover - every command class has its ID field


@dataclass(frozen=True, slots=True)
class Message:
    """A complete DIMSE message.

    ``data`` is ``None`` when no data set came; otherwise the data set's bytes (the
    default sink) or the writable object the assembler's sink factory gave for it (a file,
    after its last byte was written; not closed, nor rewound).

    Examples
    --------
    >>> from pacsnb.net.dimse import CEchoRQ, Message
    >>> Message(1, CEchoRQ(message_id=1)).has_data_set
    False
    """

    context_id: int
    command: Command
    data: Any = None

    @property
    def has_data_set(self) -> bool:
        """Whether a data set came with the command."""
        return self.data is not None


class Spool(tempfile.SpooledTemporaryFile):
    """A data set sink: held in memory up to ``max_size`` bytes, then in a temporary file
    (deleted when closed), as :class:`tempfile.SpooledTemporaryFile`; plus
    :meth:`in_memory`, so that what is still in memory is used where it is.

    Examples
    --------
    >>> from pacsnb.net.dimse import Spool
    >>> with Spool(max_size=8) as small:
    ...     _ = small.write(b"DICM")
    ...     bytes(small.in_memory())
    b'DICM'
    >>> with Spool(max_size=8) as large:
    ...     _ = large.write(b"0123456789")
    ...     large.in_memory() is None
    True
    """

    def in_memory(self) -> memoryview | None:
        """The bytes written so far, without a copy, while they are in memory; ``None``
        once they went to the temporary file (read it instead). Release the view before
        writing more."""
        if self._rolled:
            return None
        return self._file.getbuffer()


#: ``f(context_id, command) -> writable binary file or None`` (``None``: keep in memory).
SinkFactory = Callable[[int, Command], "BinaryIO | None"]


class MessageAssembler:
    """Reassemble DIMSE messages from the PDVs of P-DATA-TF PDUs (sans-IO).

    Feed it every P-DATA-TF the peer sends (or its PDVs); it returns the messages each
    one completes. The command set is buffered (it is small); the data set is written to
    a *sink* fragment by fragment, as it arrives.

    Parameters
    ----------
    sink
        ``f(context_id, command) -> file or None``, called when a command announcing a
        data set is complete: a writable binary object receiving the data set's bytes
        (e.g. a temporary file for a C-STORE), or ``None`` to collect them in memory.
        By default everything is collected in memory.
    max_command_length
        The longest command set accepted.

    Raises
    ------
    PDUError
        From :meth:`feed`, for a fragment out of order (data before its command, a
        command fragment in a data set, a change of presentation context within a
        message) or a malformed command set. The assembler is reset (the sink of a
        partial data set is closed): an association should be aborted.

    Examples
    --------
    >>> import io
    >>> from pacsnb.net.dimse import CStoreRQ, MessageAssembler, message_to_pdus
    >>> rq = CStoreRQ(message_id=1, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="4.5.6")
    >>> files = {}
    >>> asm = MessageAssembler(sink=lambda ctx, cmd: files.setdefault(cmd.affected_sop_instance_uid,
    ...                                                               io.BytesIO()))
    >>> for pdu in message_to_pdus(1, rq, b"x" * 1000, max_pdu_length=256):
    ...     for msg in asm.feed(pdu):
    ...         print(msg.command.name, msg.data is files["4.5.6"], len(files["4.5.6"].getvalue()))
    C-STORE-RQ True 1000
    """

    __slots__ = ("_sink", "max_command_length", "_cmd", "_cmd_len", "_context_id", "_command",
                 "_out", "_own", "_data_length")

    def __init__(self, sink: SinkFactory | None = None, *,
                 max_command_length: int = MAX_COMMAND_LENGTH) -> None:
        self._sink = sink
        self.max_command_length = max_command_length
        self._reset()

    def _reset(self) -> None:
        self._cmd: list[bytes] = []
        self._cmd_len = 0
        self._context_id: int | None = None
        self._command: Command | None = None
        self._out: Any = None
        self._own = False
        self._data_length = 0

    @property
    def in_progress(self) -> bool:
        """Whether part of a message has arrived and the rest has not."""
        return self._context_id is not None

    @property
    def command(self) -> Command | None:
        """The command whose data set is arriving, if any."""
        return self._command

    @property
    def data_length(self) -> int:
        """Bytes of the current data set received so far."""
        return self._data_length

    def abandon(self) -> Any:
        """Drop a partly received message (the association ended); return its sink, if any,
        for the caller to close or delete."""
        sink = None if self._own else self._out
        self._reset()
        return sink

    def feed(self, data: PDataTF | PDV | Iterable[PDV]) -> list[Message]:
        """Take a P-DATA-TF (or PDVs); return the messages completed by it, in order."""
        if isinstance(data, PDataTF):
            pdvs: Iterable[PDV] = data.pdvs
        elif isinstance(data, PDV):
            pdvs = (data,)
        else:
            pdvs = data
        done: list[Message] = []
        for pdv in pdvs:
            try:
                msg = self._pdv(pdv)
            except PDUError:
                sink = self.abandon()
                if sink is not None and hasattr(sink, "close"):
                    sink.close()
                raise
            if msg is not None:
                done.append(msg)
        return done

    def feed_fragment(self, context_id: int, data: bytes, is_command: bool, is_last: bool) -> Message | None:
        """Take the fragment of one PDV (as :meth:`feed` does, without a :class:`PDV`
        object); return the message it completes, if any.

        Examples
        --------
        >>> from pacsnb.net.dimse import CEchoRQ, MessageAssembler
        >>> MessageAssembler().feed_fragment(1, CEchoRQ(message_id=4).encode(), True, True).command
        CEchoRQ(message_id=4, affected_sop_class_uid='1.2.840.10008.1.1')
        """
        try:
            return self._fragment(context_id, data, is_command, is_last)
        except PDUError:
            sink = self.abandon()
            if sink is not None and hasattr(sink, "close"):
                sink.close()
            raise

    def _pdv(self, pdv: PDV) -> Message | None:
        return self._fragment(pdv.context_id, pdv.data, pdv.is_command, pdv.is_last)

    def _fragment(self, context_id: int, data: bytes, is_command: bool, is_last: bool) -> Message | None:
        if self._command is None and self._context_id is None and is_command and is_last \
                and len(data) <= self.max_command_length:  # a whole command in one fragment
            command, has_data_set = decode_command(data)
            if not has_data_set:
                return Message(context_id, command)
            self._context_id = context_id
            self._command = command
            out = self._sink(context_id, command) if self._sink is not None else None
            self._own = out is None
            self._out = io.BytesIO() if out is None else out
            return None
        if self._context_id is not None and context_id != self._context_id:
            raise _error(f"a fragment on presentation context {context_id} arrived in the "
                         f"middle of a message on context {self._context_id}")
        if self._command is None:  # reading a command set
            if not is_command:
                raise _error(f"a data set fragment on presentation context {context_id} "
                             f"arrived where a command was expected")
            self._context_id = context_id
            self._cmd_len += len(data)
            if self._cmd_len > self.max_command_length:
                raise _error(f"command set longer than {self.max_command_length} bytes")
            self._cmd.append(data)
            if not is_last:
                return None
            command, has_data_set = decode_command(b"".join(self._cmd))
            self._cmd, self._cmd_len = [], 0
            context_id = self._context_id
            if not has_data_set:
                self._reset()
                return Message(context_id, command)
            self._command = command
            out = self._sink(context_id, command) if self._sink is not None else None
            self._own = out is None
            self._out = io.BytesIO() if out is None else out
            return None
        if is_command:
            raise _error(f"a command fragment arrived in the data set of {self._command.name} "
                         f"(message ID {getattr(self._command, 'message_id', '?')})")
        self._out.write(data)
        self._data_length += len(data)
        if not is_last:
            return None
        out, own, command, context_id = self._out, self._own, self._command, self._context_id
        self._reset()
        # getvalue() of a BytesIO hands over its buffer without a copy when nothing else holds it
        return Message(context_id, command, out.getvalue() if own else out)
