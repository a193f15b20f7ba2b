"""Items and sub-items of the A-ASSOCIATE PDUs (PS3.8 9.3.2-9.3.3, PS3.7 Annex D).

Every item is a frozen dataclass that encodes itself (``encode()`` gives the item's bytes,
header included) and is decoded by the PDU decoder in :mod:`pacsnb.net.pdu`. The user
information sub-items of PS3.7 Annex D are gathered in :class:`UserInformation`, one field
per kind of sub-item.

========  ==================================================  ==============================
type      item                                                class
========  ==================================================  ==============================
0x10      Application Context                                 ``application_context_name``
0x20      Presentation Context (RQ)                           :class:`PresentationContextRQ`
0x21      Presentation Context (AC)                           :class:`PresentationContextAC`
0x30      Abstract Syntax sub-item                            (inside 0x20)
0x40      Transfer Syntax sub-item                            (inside 0x20 and 0x21)
0x50      User Information                                    :class:`UserInformation`
0x51      Maximum Length                                      ``UserInformation.maximum_length``
0x52      Implementation Class UID                            ``implementation_class_uid``
0x53      Asynchronous Operations Window                      :class:`AsyncOperationsWindow`
0x54      SCP/SCU Role Selection                              :class:`RoleSelection`
0x55      Implementation Version Name                         ``implementation_version_name``
0x56      SOP Class Extended Negotiation                      :class:`SOPClassExtendedNegotiation`
0x57      SOP Class Common Extended Negotiation               :class:`SOPClassCommonExtendedNegotiation`
0x58      User Identity (RQ)                                  :class:`UserIdentityRQ`
0x59      User Identity (AC)                                  :class:`UserIdentityAC`
========  ==================================================  ==============================

All multi-byte numbers are big endian (PS3.8 9.3.1). Reserved fields are sent as zero and
never tested on receipt. Items of unrecognized types are skipped; unknown user
information sub-items are kept as :class:`UnknownSubItem` so nothing is silently lost.

Examples
--------
>>> from pacsnb.net.items import RoleSelection, UserInformation, decode_user_information
>>> ui = UserInformation(maximum_length=16384, implementation_class_uid="1.2.3",
...                      role_selections=(RoleSelection("1.2.840.10008.5.1.4.1.1.2",
...                                                     scu_role=False, scp_role=True),))
>>> raw = ui.encode()
>>> raw[:1].hex(), len(raw)
('50', 54)
>>> decode_user_information(raw, 0, len(raw)) == ui
True
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Iterator

from pacsnb.errors import DicomValueError
from pacsnb.net._errors import PDUError

__all__ = [
    "ItemType", "ContextResult", "UserIdentityType", "DICOM_APPLICATION_CONTEXT",
    "PresentationContextRQ", "PresentationContextAC", "AsyncOperationsWindow",
    "RoleSelection", "SOPClassExtendedNegotiation", "SOPClassCommonExtendedNegotiation",
    "UserIdentityRQ", "UserIdentityAC", "UnknownSubItem", "UserInformation",
    "decode_user_information",
]

#: The DICOM Application Context Name (PS3.7 A.2.1), the only one defined.
DICOM_APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class ItemType(enum.IntEnum):
    """Item-type bytes of PS3.8 9.3.2-9.3.3 and PS3.7 Annex D.

    Examples
    --------
    >>> ItemType(0x21)
    <ItemType.PRESENTATION_CONTEXT_AC: 33>
    >>> UnknownSubItem(ItemType.ASYNC_OPERATIONS_WINDOW, b"\\x00\\x01\\x00\\x01").encode()[0]
    83
    """

    APPLICATION_CONTEXT = 0x10
    PRESENTATION_CONTEXT_RQ = 0x20
    PRESENTATION_CONTEXT_AC = 0x21
    ABSTRACT_SYNTAX = 0x30
    TRANSFER_SYNTAX = 0x40
    USER_INFORMATION = 0x50
    MAXIMUM_LENGTH = 0x51
    IMPLEMENTATION_CLASS_UID = 0x52
    ASYNC_OPERATIONS_WINDOW = 0x53
    ROLE_SELECTION = 0x54
    IMPLEMENTATION_VERSION_NAME = 0x55
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57
    USER_IDENTITY_RQ = 0x58
    USER_IDENTITY_AC = 0x59


class ContextResult(enum.IntEnum):
    """Result/Reason of a presentation context in the A-ASSOCIATE-AC (PS3.8 Table 9-18).

    Examples
    --------
    >>> ContextResult(3).name
    'ABSTRACT_SYNTAX_NOT_SUPPORTED'
    >>> PresentationContextAC(1, ContextResult.ACCEPTANCE, "1.2.840.10008.1.2").result
    <ContextResult.ACCEPTANCE: 0>
    """

    ACCEPTANCE = 0
    USER_REJECTION = 1
    NO_REASON = 2  #: provider rejection, no reason
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 3  #: provider rejection
    TRANSFER_SYNTAXES_NOT_SUPPORTED = 4  #: provider rejection


class UserIdentityType(enum.IntEnum):
    """User-Identity-Type of the User Identity sub-item (PS3.7 Table D.3-14).

    Examples
    --------
    >>> UserIdentityType(2).name
    'USERNAME_AND_PASSCODE'
    >>> UserIdentityType.JWT.value
    5
    """

    USERNAME = 1
    USERNAME_AND_PASSCODE = 2
    KERBEROS = 3
    SAML = 4
    JWT = 5


# --- encoding helpers --------------------------------------------------------------------

def _item(item_type: int, body: bytes, second: int = 0) -> bytes:
    """An item: type, reserved (or version) byte, 2-byte length, body."""
    if len(body) > 0xFFFF:
        raise DicomValueError(f"item 0x{item_type:02X} would be {len(body)} bytes long; an item "
                              f"length is a 16-bit number (at most 65535)")
    return bytes((item_type, second)) + _U16.pack(len(body)) + body


def _uid_bytes(uid: str, what: str) -> bytes:
    try:
        raw = uid.encode("ascii")
    except UnicodeEncodeError:
        raise DicomValueError(f"{what} {uid!r} is not ASCII; a UID is digits and dots") from None
    return raw


def _prefixed(raw: bytes, what: str) -> bytes:
    """A 2-byte length then the bytes (the UID-length/field-length pairs of Annex D)."""
    if len(raw) > 0xFFFF:
        raise DicomValueError(f"{what} is {len(raw)} bytes long; at most 65535 fit its 16-bit length")
    return _U16.pack(len(raw)) + raw


def _text(value: str, what: str, limit: int | None = None) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise DicomValueError(f"{what} {value!r} is not ASCII (ISO 646 basic G0 set)") from None
    if limit is not None and len(raw) > limit:
        raise DicomValueError(f"{what} {value!r} is {len(raw)} characters long; at most {limit}")
    return raw


# --- decoding helpers --------------------------------------------------------------------

def _decode_uid(buf: bytes, start: int, end: int, what: str, pdu_type: int | None = None) -> str:
    raw = bytes(buf[start:end]).rstrip(b"\x00 ")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise PDUError(f"{what} is not ASCII: {raw[:80]!r}", offset=start, pdu_type=pdu_type) from None


def _u16(buf: bytes, off: int, end: int, what: str, pdu_type: int | None = None) -> int:
    if off + 2 > end:
        raise PDUError(f"{what}: a 2-byte length field runs past the end of its item",
                       offset=off, pdu_type=pdu_type)
    return _U16.unpack_from(buf, off)[0]


def _prefixed_field(buf: bytes, off: int, end: int, what: str,
                    pdu_type: int | None = None) -> tuple[int, int]:
    """(start, end) of a field preceded by its 2-byte length, checked against ``end``."""
    n = _u16(buf, off, end, what, pdu_type)
    if off + 2 + n > end:
        raise PDUError(f"{what}: length {n} runs past the end of its item ({end - off - 2} "
                       f"bytes left)", offset=off, pdu_type=pdu_type)
    return off + 2, off + 2 + n


def iter_items(buf: bytes, start: int, end: int, what: str,
               pdu_type: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """Walk the items of ``buf[start:end]``: yields ``(type, header_offset, body_start,
    body_end)`` and raises :class:`PDUError` on a truncated item."""
    off = start
    while off < end:
        if end - off < 4:
            raise PDUError(f"{what}: {end - off} stray byte(s) where a 4-byte item header "
                           f"was expected", offset=off, pdu_type=pdu_type)
        item_type = buf[off]
        n = _U16.unpack_from(buf, off + 2)[0]
        if off + 4 + n > end:
            raise PDUError(f"{what}: item 0x{item_type:02X} of length {n} runs past the end "
                           f"({end - off - 4} bytes left)", offset=off, pdu_type=pdu_type)
        yield item_type, off, off + 4, off + 4 + n
        off += 4 + n


# --- presentation contexts --------------------------------------------------------------

def _check_context_id(context_id: int) -> None:
    if not (isinstance(context_id, int) and 1 <= context_id <= 255 and context_id % 2 == 1):
        raise DicomValueError(f"presentation context ID {context_id!r} is invalid: PS3.8 9.3.2.2 "
                              f"requires an odd integer from 1 to 255")


@dataclass(frozen=True, slots=True)
class PresentationContextRQ:
    """A proposed presentation context (item 0x20, PS3.8 9.3.2.2).

    Parameters
    ----------
    context_id
        Odd integer 1-255, unique within the association request.
    abstract_syntax
        The SOP Class (or Meta SOP Class) UID.
    transfer_syntaxes
        One or more transfer syntax UIDs, in the requestor's order of preference.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextRQ
    >>> pc = PresentationContextRQ(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"])
    >>> pc.transfer_syntaxes
    ('1.2.840.10008.1.2',)
    >>> raw = pc.encode()
    >>> raw[:8].hex(), raw[8:12].hex(), raw[12:29]
    ('2000002e01000000', '30000011', b'1.2.840.10008.1.1')
    """

    context_id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.transfer_syntaxes, tuple):
            object.__setattr__(self, "transfer_syntaxes", tuple(self.transfer_syntaxes))

    def encode(self) -> bytes:
        """The item's bytes."""
        _check_context_id(self.context_id)
        if not self.transfer_syntaxes:
            raise DicomValueError(f"presentation context {self.context_id} proposes no transfer "
                                  f"syntax; PS3.8 9.3.2.2 requires one or more")
        body = [bytes((self.context_id, 0, 0, 0)),
                _item(ItemType.ABSTRACT_SYNTAX, _uid_bytes(self.abstract_syntax, "abstract syntax"))]
        body += [_item(ItemType.TRANSFER_SYNTAX, _uid_bytes(ts, "transfer syntax"))
                 for ts in self.transfer_syntaxes]
        return _item(ItemType.PRESENTATION_CONTEXT_RQ, b"".join(body))


@dataclass(frozen=True, slots=True)
class PresentationContextAC:
    """The acceptor's answer to one proposed context (item 0x21, PS3.8 9.3.3.2).

    Parameters
    ----------
    context_id
        The ID of the proposed context this answers.
    result
        A :class:`ContextResult` (0 acceptance, 1 user rejection, 2 no reason,
        3 abstract syntax not supported, 4 transfer syntaxes not supported).
    transfer_syntax
        The accepted transfer syntax; not significant (and may be ``""``) when the
        context is rejected.

    Examples
    --------
    >>> from pacsnb.net.items import PresentationContextAC, ContextResult
    >>> ac = PresentationContextAC(3, ContextResult.ACCEPTANCE, "1.2.840.10008.1.2.1")
    >>> ac.accepted, ac.encode()[:8].hex()
    (True, '2100001b03000000')
    """

    context_id: int
    result: int
    transfer_syntax: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the result is acceptance."""
        return self.result == ContextResult.ACCEPTANCE

    def encode(self) -> bytes:
        """The item's bytes (the transfer syntax sub-item is always present)."""
        _check_context_id(self.context_id)
        if not 0 <= self.result <= 255:
            raise DicomValueError(f"presentation context result {self.result} does not fit a byte")
        body = bytes((self.context_id, 0, int(self.result), 0)) + _item(
            ItemType.TRANSFER_SYNTAX, _uid_bytes(self.transfer_syntax, "transfer syntax"))
        return _item(ItemType.PRESENTATION_CONTEXT_AC, body)


def decode_context_rq(buf: bytes, start: int, end: int,
                      pdu_type: int | None = None) -> PresentationContextRQ:
    """Decode the body ``buf[start:end]`` of a presentation context item (0x20)."""
    if end - start < 4:
        raise PDUError(f"presentation context item is {end - start} bytes long; at least 4 are "
                       f"needed", offset=start, pdu_type=pdu_type)
    context_id = buf[start]
    abstract: str | None = None
    syntaxes: list[str] = []
    for item_type, hdr, b0, b1 in iter_items(buf, start + 4, end, "presentation context", pdu_type):
        if item_type == ItemType.ABSTRACT_SYNTAX:
            if abstract is not None:
                raise PDUError(f"presentation context {context_id} has a second abstract syntax "
                               f"sub-item", reason=5, offset=hdr, pdu_type=pdu_type)
            abstract = _decode_uid(buf, b0, b1, "abstract syntax", pdu_type)
        elif item_type == ItemType.TRANSFER_SYNTAX:
            syntaxes.append(_decode_uid(buf, b0, b1, "transfer syntax", pdu_type))
        # other sub-item types: ignored and skipped (PS3.8 9.3.1)
    if abstract is None:
        raise PDUError(f"presentation context {context_id} has no abstract syntax sub-item",
                       offset=start, pdu_type=pdu_type)
    if not syntaxes:
        raise PDUError(f"presentation context {context_id} has no transfer syntax sub-item",
                       offset=start, pdu_type=pdu_type)
    return PresentationContextRQ(context_id, abstract, tuple(syntaxes))


def decode_context_ac(buf: bytes, start: int, end: int,
                      pdu_type: int | None = None) -> PresentationContextAC:
    """Decode the body ``buf[start:end]`` of a presentation context item (0x21)."""
    if end - start < 4:
        raise PDUError(f"presentation context item is {end - start} bytes long; at least 4 are "
                       f"needed", offset=start, pdu_type=pdu_type)
    context_id, result = buf[start], buf[start + 2]
    syntax: str | None = None
    for item_type, hdr, b0, b1 in iter_items(buf, start + 4, end, "presentation context", pdu_type):
        if item_type == ItemType.TRANSFER_SYNTAX:
            if syntax is not None:
                if result != ContextResult.ACCEPTANCE:
                    continue  # not significant in a rejected context
                raise PDUError(f"accepted presentation context {context_id} has a second "
                               f"transfer syntax sub-item", reason=5, offset=hdr, pdu_type=pdu_type)
            syntax = _decode_uid(buf, b0, b1, "transfer syntax", pdu_type)
    if syntax is None:
        if result == ContextResult.ACCEPTANCE:
            raise PDUError(f"accepted presentation context {context_id} has no transfer syntax "
                           f"sub-item", offset=start, pdu_type=pdu_type)
        syntax = ""
    if result == ContextResult.ACCEPTANCE and not syntax:
        raise PDUError(f"accepted presentation context {context_id} has an empty transfer syntax",
                       offset=start, pdu_type=pdu_type)
    return PresentationContextAC(context_id, result, syntax)


# --- user information sub-items -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AsyncOperationsWindow:
    """Asynchronous Operations Window sub-item (0x53, PS3.7 D.3.3.3).

    ``0`` means unlimited; ``1``/``1`` (the default when the sub-item is absent) means
    synchronous operation.

    Examples
    --------
    >>> from pacsnb.net.items import AsyncOperationsWindow
    >>> AsyncOperationsWindow(5, 1).encode().hex()
    '5300000400050001'
    """

    max_operations_invoked: int = 1
    max_operations_performed: int = 1

    def encode(self) -> bytes:
        """The sub-item's bytes."""
        for v in (self.max_operations_invoked, self.max_operations_performed):
            if not 0 <= v <= 0xFFFF:
                raise DicomValueError(f"asynchronous operations window value {v} is not 0-65535")
        return _item(ItemType.ASYNC_OPERATIONS_WINDOW,
                     _U16.pack(self.max_operations_invoked) + _U16.pack(self.max_operations_performed))


@dataclass(frozen=True, slots=True)
class RoleSelection:
    """SCP/SCU Role Selection sub-item (0x54, PS3.7 D.3.3.4).

    In a request the flags say which roles the requestor proposes for itself; in an
    acceptance they say whether the acceptor accepts each proposed role (it never
    answers ``True`` to a role that was not proposed).

    Examples
    --------
    >>> from pacsnb.net.items import RoleSelection
    >>> RoleSelection("1.2.3", scu_role=True, scp_role=True).encode().hex()
    '540000090005312e322e330101'
    """

    sop_class_uid: str
    scu_role: bool = True
    scp_role: bool = False

    def encode(self) -> bytes:
        """The sub-item's bytes."""
        return _item(ItemType.ROLE_SELECTION,
                     _prefixed(_uid_bytes(self.sop_class_uid, "role selection SOP class"), "UID")
                     + bytes((int(bool(self.scu_role)), int(bool(self.scp_role)))))


@dataclass(frozen=True, slots=True)
class SOPClassExtendedNegotiation:
    """SOP Class Extended Negotiation sub-item (0x56, PS3.7 D.3.3.5).

    ``info`` is the Service-Class-Application-Information, defined by each service class
    in PS3.4 (for example the Query/Retrieve extended negotiation bytes).

    Examples
    --------
    >>> from pacsnb.net.items import SOPClassExtendedNegotiation
    >>> SOPClassExtendedNegotiation("1.2.3", b"\\x01\\x01").encode().hex()
    '560000090005312e322e330101'
    """

    sop_class_uid: str
    info: bytes = b""

    def encode(self) -> bytes:
        """The sub-item's bytes."""
        return _item(ItemType.SOP_CLASS_EXTENDED_NEGOTIATION,
                     _prefixed(_uid_bytes(self.sop_class_uid, "extended negotiation SOP class"),
                               "UID") + bytes(self.info))


@dataclass(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiation:
    """SOP Class Common Extended Negotiation sub-item (0x57, PS3.7 D.3.3.6), request only.

    Examples
    --------
    >>> from pacsnb.net.items import SOPClassCommonExtendedNegotiation as Common
    >>> item = Common("1.2.3", "1.2.4", ("1.2.5",))
    >>> item.encode().hex()
    '570000170005312e322e330005312e322e3400070005312e322e35'
    """

    sop_class_uid: str
    service_class_uid: str
    related_general_sop_classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.related_general_sop_classes, tuple):
            object.__setattr__(self, "related_general_sop_classes",
                               tuple(self.related_general_sop_classes))

    def encode(self) -> bytes:
        """The sub-item's bytes (Sub-Item-version 0)."""
        related = b"".join(_prefixed(_uid_bytes(u, "related general SOP class"), "UID")
                           for u in self.related_general_sop_classes)
        body = (_prefixed(_uid_bytes(self.sop_class_uid, "SOP class"), "UID")
                + _prefixed(_uid_bytes(self.service_class_uid, "service class"), "UID")
                + _prefixed(related, "related general SOP class identification"))
        return _item(ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION, body)


@dataclass(frozen=True, slots=True)
class UserIdentityRQ:
    """User Identity sub-item of the request (0x58, PS3.7 D.3.3.7.1).

    Build it with the class methods; ``primary_field`` and ``secondary_field`` are bytes
    because Kerberos tickets, SAML assertions and JWTs are opaque to the upper layer
    (usernames and passcodes are UTF-8).

    Examples
    --------
    >>> from pacsnb.net.items import UserIdentityRQ
    >>> ident = UserIdentityRQ.username_and_passcode("alice", "s3cret",
    ...                                              positive_response_requested=True)
    >>> ident.identity_type, ident.primary_field, ident.secondary_field
    (<UserIdentityType.USERNAME_AND_PASSCODE: 2>, b'alice', b's3cret')
    >>> ident.encode().hex()
    '5800001102010005616c6963650006733363726574'
    """

    identity_type: int
    primary_field: bytes
    secondary_field: bytes = b""
    positive_response_requested: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "identity_type", UserIdentityType(self.identity_type))
        except ValueError:
            pass  # keep an unknown type as a plain int (decoded from a peer)

    @classmethod
    def username(cls, name: str, *, positive_response_requested: bool = False) -> UserIdentityRQ:
        """Username only (type 1)."""
        return cls(UserIdentityType.USERNAME, name.encode("utf-8"), b"", positive_response_requested)

    @classmethod
    def username_and_passcode(cls, name: str, passcode: str, *,
                              positive_response_requested: bool = False) -> UserIdentityRQ:
        """Username and passcode (type 2)."""
        return cls(UserIdentityType.USERNAME_AND_PASSCODE, name.encode("utf-8"),
                   passcode.encode("utf-8"), positive_response_requested)

    @classmethod
    def kerberos(cls, ticket: bytes, *, positive_response_requested: bool = False) -> UserIdentityRQ:
        """A Kerberos service ticket (type 3)."""
        return cls(UserIdentityType.KERBEROS, bytes(ticket), b"", positive_response_requested)

    @classmethod
    def saml(cls, assertion: bytes | str, *, positive_response_requested: bool = False) -> UserIdentityRQ:
        """A SAML assertion (type 4)."""
        raw = assertion.encode("utf-8") if isinstance(assertion, str) else bytes(assertion)
        return cls(UserIdentityType.SAML, raw, b"", positive_response_requested)

    @classmethod
    def jwt(cls, token: bytes | str, *, positive_response_requested: bool = False) -> UserIdentityRQ:
        """A JSON Web Token (type 5)."""
        raw = token.encode("ascii") if isinstance(token, str) else bytes(token)
        return cls(UserIdentityType.JWT, raw, b"", positive_response_requested)

    def encode(self) -> bytes:
        """The sub-item's bytes."""
        if not 0 <= int(self.identity_type) <= 255:
            raise DicomValueError(f"user identity type {self.identity_type} does not fit a byte")
        body = (bytes((int(self.identity_type), int(bool(self.positive_response_requested))))
                + _prefixed(bytes(self.primary_field), "user identity primary field")
                + _prefixed(bytes(self.secondary_field), "user identity secondary field"))
        return _item(ItemType.USER_IDENTITY_RQ, body)


@dataclass(frozen=True, slots=True)
class UserIdentityAC:
    """User Identity sub-item of the acceptance (0x59, PS3.7 D.3.3.7.2).

    Sent only when the request asked for a positive response; ``server_response`` is the
    Kerberos server ticket, SAML response or JWT (empty for username identities).

    Examples
    --------
    >>> from pacsnb.net.items import UserIdentityAC
    >>> UserIdentityAC(b"ok").encode().hex()
    '5900000400026f6b'
    """

    server_response: bytes = b""

    def encode(self) -> bytes:
        """The sub-item's bytes."""
        return _item(ItemType.USER_IDENTITY_AC, _prefixed(bytes(self.server_response),
                                                          "user identity server response"))


@dataclass(frozen=True, slots=True)
class UnknownSubItem:
    """A user information sub-item of a type pacsnb does not know; kept, not interpreted.

    Parameters
    ----------
    item_type
        The sub-item's item-type byte.
    data
        The sub-item's body, as received.
    second_byte
        The (reserved) byte after the item type, as received.

    Examples
    --------
    >>> item = UnknownSubItem(0x60, b"ab")
    >>> item.encode()
    b'`\\x00\\x00\\x02ab'
    """

    item_type: int
    data: bytes = b""
    second_byte: int = 0

    def encode(self) -> bytes:
        """The sub-item's bytes, as received."""
        return _item(self.item_type, bytes(self.data), self.second_byte)


@dataclass(frozen=True, slots=True)
class UserInformation:
    """The User Information item (0x50, PS3.8 9.3.2.3 and PS3.7 Annex D).

    One field per kind of sub-item; ``None`` or ``()`` means the sub-item is absent. The
    encoder writes sub-items in increasing item-type order.

    Parameters
    ----------
    maximum_length
        Maximum Length (0x51): the largest P-DATA-TF PDU length the sender can receive;
        ``0`` means no limit.
    implementation_class_uid, implementation_version_name
        Implementation identification (0x52, 0x55).
    async_operations_window
        0x53.
    role_selections
        0x54, at most one per SOP class.
    extended_negotiations
        0x56.
    common_extended_negotiations
        0x57 (request only).
    user_identity
        0x58 in a request, 0x59 in an acceptance.
    unknown_items
        Sub-items of other types, kept as received.

    Examples
    --------
    >>> from pacsnb.net.items import UserInformation, UserIdentityRQ
    >>> ui = UserInformation(maximum_length=0, user_identity=UserIdentityRQ.jwt("e30.e30.x"))
    >>> ui.encode().hex()
    '5000001b51000004000000005800000f050000096533302e6533302e780000'
    """

    maximum_length: int | None = None
    implementation_class_uid: str | None = None
    implementation_version_name: str | None = None
    async_operations_window: AsyncOperationsWindow | None = None
    role_selections: tuple[RoleSelection, ...] = ()
    extended_negotiations: tuple[SOPClassExtendedNegotiation, ...] = ()
    common_extended_negotiations: tuple[SOPClassCommonExtendedNegotiation, ...] = ()
    user_identity: UserIdentityRQ | UserIdentityAC | None = None
    unknown_items: tuple[UnknownSubItem, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("role_selections", "extended_negotiations", "common_extended_negotiations",
                     "unknown_items"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    def role_for(self, sop_class_uid: str) -> RoleSelection | None:
        """The (first) role selection sub-item for a SOP class, or ``None``."""
        for r in self.role_selections:
            if r.sop_class_uid == sop_class_uid:
                return r
        return None

    def encode_sub_items(self) -> bytes:
        """The concatenated sub-items (the item's body)."""
        parts: list[bytes] = []
        if self.maximum_length is not None:
            if not 0 <= self.maximum_length <= 0xFFFFFFFF:
                raise DicomValueError(f"maximum length {self.maximum_length} does not fit 32 bits")
            parts.append(_item(ItemType.MAXIMUM_LENGTH, _U32.pack(self.maximum_length)))
        if self.implementation_class_uid is not None:
            parts.append(_item(ItemType.IMPLEMENTATION_CLASS_UID,
                               _uid_bytes(self.implementation_class_uid, "implementation class UID")))
        if self.async_operations_window is not None:
            parts.append(self.async_operations_window.encode())
        parts += [r.encode() for r in self.role_selections]
        if self.implementation_version_name is not None:
            parts.append(_item(ItemType.IMPLEMENTATION_VERSION_NAME,
                               _text(self.implementation_version_name,
                                     "implementation version name", 16)))
        parts += [e.encode() for e in self.extended_negotiations]
        parts += [c.encode() for c in self.common_extended_negotiations]
        if self.user_identity is not None:
            parts.append(self.user_identity.encode())
        parts += [u.encode() for u in self.unknown_items]
        return b"".join(parts)

    def encode(self) -> bytes:
        """The item's bytes."""
        return _item(ItemType.USER_INFORMATION, self.encode_sub_items())


def _exact(n_expected: int, b0: int, b1: int, what: str, hdr: int, pdu_type: int | None) -> None:
    if b1 - b0 != n_expected:
        raise PDUError(f"{what} sub-item has length {b1 - b0}; it must be {n_expected}",
                       offset=hdr, pdu_type=pdu_type)


def decode_user_information(buf: bytes, start: int, end: int,
                            pdu_type: int | None = None) -> UserInformation:
    """Decode a User Information item (header included) in ``buf[start:end]``.

    Parameters
    ----------
    buf
        The bytes holding the item (a whole PDU, usually).
    start, end
        Where the item (from its type byte) starts and ends in ``buf``.
    pdu_type
        The PDU type, for error messages.

    Raises
    ------
    PDUError
        A sub-item is truncated, has an impossible length, or a single-valued sub-item
        appears twice.

    Examples
    --------
    >>> from pacsnb.net.items import decode_user_information
    >>> raw = bytes.fromhex("50000008" "5100000400004000")
    >>> decode_user_information(raw, 0, len(raw)).maximum_length
    16384
    """
    if end - start < 4 or buf[start] != ItemType.USER_INFORMATION:
        raise PDUError("not a user information item", offset=start, pdu_type=pdu_type)
    n = _U16.unpack_from(buf, start + 2)[0]
    if start + 4 + n > end:
        raise PDUError(f"user information item of length {n} runs past its end",
                       offset=start, pdu_type=pdu_type)
    singles: dict[str, object] = {}
    roles: list[RoleSelection] = []
    ext: list[SOPClassExtendedNegotiation] = []
    common: list[SOPClassCommonExtendedNegotiation] = []
    unknown: list[UnknownSubItem] = []

    def once(name: str, value: object, hdr: int) -> None:
        if name in singles:
            raise PDUError(f"user information has a second {name.replace('_', ' ')} sub-item",
                           reason=5, offset=hdr, pdu_type=pdu_type)
        singles[name] = value

    for t, hdr, b0, b1 in iter_items(buf, start + 4, start + 4 + n, "user information", pdu_type):
        if t == ItemType.MAXIMUM_LENGTH:
            _exact(4, b0, b1, "maximum length", hdr, pdu_type)
            once("maximum_length", _U32.unpack_from(buf, b0)[0], hdr)
        elif t == ItemType.IMPLEMENTATION_CLASS_UID:
            once("implementation_class_uid",
                 _decode_uid(buf, b0, b1, "implementation class UID", pdu_type), hdr)
        elif t == ItemType.IMPLEMENTATION_VERSION_NAME:
            once("implementation_version_name",
                 bytes(buf[b0:b1]).rstrip(b"\x00 ").decode("latin-1"), hdr)
        elif t == ItemType.ASYNC_OPERATIONS_WINDOW:
            _exact(4, b0, b1, "asynchronous operations window", hdr, pdu_type)
            once("async_operations_window",
                 AsyncOperationsWindow(_U16.unpack_from(buf, b0)[0], _U16.unpack_from(buf, b0 + 2)[0]),
                 hdr)
        elif t == ItemType.ROLE_SELECTION:
            u0, u1 = _prefixed_field(buf, b0, b1, "role selection UID", pdu_type)
            _exact(u1 - b0 + 2, b0, b1, "role selection", hdr, pdu_type)
            roles.append(RoleSelection(_decode_uid(buf, u0, u1, "role selection SOP class", pdu_type),
                                       bool(buf[u1]), bool(buf[u1 + 1])))
        elif t == ItemType.SOP_CLASS_EXTENDED_NEGOTIATION:
            u0, u1 = _prefixed_field(buf, b0, b1, "extended negotiation UID", pdu_type)
            ext.append(SOPClassExtendedNegotiation(
                _decode_uid(buf, u0, u1, "extended negotiation SOP class", pdu_type),
                bytes(buf[u1:b1])))
        elif t == ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION:
            u0, u1 = _prefixed_field(buf, b0, b1, "common extended negotiation SOP class", pdu_type)
            s0, s1 = _prefixed_field(buf, u1, b1, "common extended negotiation service class",
                                     pdu_type)
            r0, r1 = _prefixed_field(buf, s1, b1, "related general SOP class identification",
                                     pdu_type)
            if r1 != b1:
                raise PDUError(f"common extended negotiation sub-item has {b1 - r1} byte(s) after "
                               f"its last field", offset=hdr, pdu_type=pdu_type)
            related = []
            off = r0
            while off < r1:
                g0, g1 = _prefixed_field(buf, off, r1, "related general SOP class UID", pdu_type)
                related.append(_decode_uid(buf, g0, g1, "related general SOP class", pdu_type))
                off = g1
            common.append(SOPClassCommonExtendedNegotiation(
                _decode_uid(buf, u0, u1, "SOP class", pdu_type),
                _decode_uid(buf, s0, s1, "service class", pdu_type), tuple(related)))
        elif t == ItemType.USER_IDENTITY_RQ:
            if b1 - b0 < 2:
                raise PDUError("user identity sub-item is shorter than 2 bytes", offset=hdr,
                               pdu_type=pdu_type)
            p0, p1 = _prefixed_field(buf, b0 + 2, b1, "user identity primary field", pdu_type)
            s0, s1 = _prefixed_field(buf, p1, b1, "user identity secondary field", pdu_type)
            if s1 != b1:
                raise PDUError(f"user identity sub-item has {b1 - s1} byte(s) after its last "
                               f"field", offset=hdr, pdu_type=pdu_type)
            once("user_identity", UserIdentityRQ(buf[b0], bytes(buf[p0:p1]), bytes(buf[s0:s1]),
                                                 bool(buf[b0 + 1])), hdr)
        elif t == ItemType.USER_IDENTITY_AC:
            r0, r1 = _prefixed_field(buf, b0, b1, "user identity server response", pdu_type)
            if r1 != b1:
                raise PDUError(f"user identity sub-item has {b1 - r1} byte(s) after its last "
                               f"field", offset=hdr, pdu_type=pdu_type)
            once("user_identity", UserIdentityAC(bytes(buf[r0:r1])), hdr)
        else:
            unknown.append(UnknownSubItem(t, bytes(buf[b0:b1]), buf[hdr + 1]))
    return UserInformation(role_selections=tuple(roles), extended_negotiations=tuple(ext),
                           common_extended_negotiations=tuple(common),
                           unknown_items=tuple(unknown), **singles)  # type: ignore[arg-type]
