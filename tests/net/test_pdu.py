"""PDU and item encoding (PS3.8 9.3, PS3.7 Annex D): round trips, hand-checked bytes, the reader."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net_strategies import (associate_acs, associate_rqs, common, context_acs, context_rqs, extended,
                            identity_ac, identity_rq, pdata, pdus, roles, user_informations)
from pacsnb.errors import DicomValueError, NetworkError
from pacsnb.net import (Abort, AssociateAC, AssociateRJ, AssociateRQ, AsyncOperationsWindow, PDataTF,
                        PDUError, PDUReader, PDV, PresentationContextAC, PresentationContextRQ,
                        ReleaseRP, ReleaseRQ, RoleSelection, SOPClassCommonExtendedNegotiation,
                        SOPClassExtendedNegotiation, UserIdentityAC, UserIdentityRQ, UserIdentityType,
                        UserInformation, decode_pdu, fragment)
from pacsnb.net.items import decode_context_ac, decode_context_rq, decode_user_information

FAST = settings(max_examples=60, deadline=None)


# --- round trips of every PDU and every item -------------------------------------------------

@FAST
@given(pdus)
def test_every_pdu_round_trips(pdu):
    raw = pdu.encode()
    assert raw[0] == pdu.PDU_TYPE and struct.unpack(">I", raw[2:6])[0] == len(raw) - 6
    back = decode_pdu(raw)
    assert back == pdu
    assert back.encode() == raw          # bytes -> object -> bytes is the identity too


@FAST
@given(associate_rqs())
def test_associate_rq_round_trips(rq):
    assert decode_pdu(rq.encode()) == rq


@FAST
@given(associate_acs())
def test_associate_ac_round_trips(ac):
    assert decode_pdu(ac.encode()) == ac


@FAST
@given(pdata)
def test_pdata_round_trips(pdu):
    raw = pdu.encode()
    assert decode_pdu(raw) == pdu and pdu.length == len(raw) - 6


@FAST
@given(user_informations())
def test_user_information_round_trips(ui):
    raw = ui.encode()
    assert decode_user_information(raw, 0, len(raw)) == ui


@FAST
@given(user_informations(identity_ac))
def test_user_information_ac_round_trips(ui):
    raw = ui.encode()
    assert decode_user_information(raw, 0, len(raw)) == ui


@FAST
@given(context_rqs())
def test_context_rq_round_trips(pc):
    raw = pc.encode()
    assert raw[0] == 0x20 and decode_context_rq(raw, 4, len(raw)) == pc


@FAST
@given(context_acs())
def test_context_ac_round_trips(pc):
    raw = pc.encode()
    assert raw[0] == 0x21 and decode_context_ac(raw, 4, len(raw)) == pc


@FAST
@given(st.one_of(roles, extended, common, identity_rq, identity_ac))
def test_every_sub_item_round_trips_alone(item):
    ui = {RoleSelection: lambda i: UserInformation(role_selections=(i,)),
          SOPClassExtendedNegotiation: lambda i: UserInformation(extended_negotiations=(i,)),
          SOPClassCommonExtendedNegotiation: lambda i: UserInformation(common_extended_negotiations=(i,)),
          UserIdentityRQ: lambda i: UserInformation(user_identity=i),
          UserIdentityAC: lambda i: UserInformation(user_identity=i)}[type(item)](item)
    raw = ui.encode()
    assert raw[4:] == item.encode()
    assert decode_user_information(raw, 0, len(raw)) == ui


# --- bytes checked by hand against the tables of PS3.8 / PS3.7 -------------------------------

def test_associate_rq_layout():
    rq = AssociateRQ(" CALLED", "CALLING ", (PresentationContextRQ(1, "1.2", ("3.4",)),),
                     UserInformation(maximum_length=0x4000))
    raw = rq.encode()
    assert raw[:2] == b"\x01\x00" and struct.unpack(">I", raw[2:6])[0] == len(raw) - 6
    assert raw[6:8] == b"\x00\x01" and raw[8:10] == b"\x00\x00"           # version 1, reserved
    assert raw[10:26] == b"CALLED          " and raw[26:42] == b"CALLING         "
    assert raw[42:74] == bytes(32)
    app = b"1.2.840.10008.3.1.1.1"
    assert raw[74:78] == b"\x10\x00" + struct.pack(">H", len(app)) and raw[78:78 + len(app)] == app
    off = 78 + len(app)
    pc = bytes.fromhex("20000012" "01000000" "30000003") + b"1.2" + bytes.fromhex("40000003") + b"3.4"
    assert raw[off:off + len(pc)] == pc
    assert raw[off + len(pc):] == bytes.fromhex("50000008" "5100000400004000")


def test_fixed_length_pdus():
    assert AssociateRJ(2, 3, 1).encode() == bytes.fromhex("03000000000400020301")
    assert ReleaseRQ().encode() == bytes.fromhex("05000000000400000000")
    assert ReleaseRP().encode() == bytes.fromhex("06000000000400000000")
    assert Abort(2, 4).encode() == bytes.fromhex("07000000000400000204")
    # reserved fields are not tested on receipt
    assert decode_pdu(bytes.fromhex("05ff00000004ffffffff")) == ReleaseRQ()
    assert decode_pdu(bytes.fromhex("07ff00000004eeee0005")) == Abort(0, 5)
    assert decode_pdu(bytes.fromhex("03ff00000004ee010107")) == AssociateRJ(1, 1, 7)


def test_pdv_message_control_header():
    raw = PDataTF([PDV(5, b"A", is_command=True, is_last=False), PDV(5, b"", False, True)]).encode()
    assert raw == bytes.fromhex("04 00 0000000D  00000003 05 01 41  00000002 05 02".replace(" ", ""))
    assert decode_pdu(bytes.fromhex("040000000007000000030503ff")).pdvs == (PDV(5, b"\xff", True, True),)


def test_user_information_sub_items_layout():
    ui = UserInformation(
        maximum_length=16384, implementation_class_uid="1.2.3", implementation_version_name="V1",
        async_operations_window=AsyncOperationsWindow(2, 3),
        role_selections=(RoleSelection("1.2", True, False),),
        extended_negotiations=(SOPClassExtendedNegotiation("1.2", b"\x01"),),
        common_extended_negotiations=(SOPClassCommonExtendedNegotiation("1.2", "1.3", ("1.4", "1.5")),),
        user_identity=UserIdentityRQ.username_and_passcode("u", "p", positive_response_requested=True))
    body = ui.encode()[4:]
    expected = bytes.fromhex(
        "51000004 00004000"
        "52000005 312e322e33"
        "53000004 0002 0003"
        "54000007 0003 312e32 01 00"
        "55000002 5631"
        "56000006 0003 312e32 01"
        "57000016 0003 312e32 0003 312e33 000a 0003 312e34 0003 312e35"
        "58000008 02 01 0001 75 0001 70".replace(" ", ""))
    assert body == expected


def test_user_identity_kinds():
    assert UserIdentityRQ.username("bob").encode() == bytes.fromhex("58000009010000036 26f620000".replace(" ", ""))
    assert UserIdentityRQ.kerberos(b"\x01\x02").identity_type == UserIdentityType.KERBEROS
    assert UserIdentityRQ.saml("<a/>").primary_field == b"<a/>"
    assert UserIdentityRQ.jwt("x.y.z").identity_type == 5
    assert UserIdentityRQ(9, b"?").identity_type == 9      # unknown types survive decoding


def test_uid_padding_and_spaces_are_tolerated():
    # an odd-length UID padded with NUL (as in data sets), AE titles with leading spaces
    rq = AssociateRQ("A", "B", (PresentationContextRQ(1, "1.2.3", ("1.2",)),)).encode()
    padded = bytearray(rq)
    padded[10:26] = b"   A            "
    out = decode_pdu(bytes(padded))
    assert out.called_ae_title == "A"
    ui = bytes.fromhex("50000008 52000004 312e3200".replace(" ", ""))
    assert decode_user_information(ui, 0, len(ui)).implementation_class_uid == "1.2"


def test_rejected_context_without_transfer_syntax_is_accepted():
    raw = bytes.fromhex("21000004 03000300".replace(" ", ""))
    assert decode_context_ac(raw, 4, len(raw)) == PresentationContextAC(3, 3, "")


def test_unknown_items_are_skipped_and_unknown_sub_items_kept():
    rq = AssociateRQ("A", "B", (PresentationContextRQ(1, "1.2", ("1.2",)),),
                     UserInformation(maximum_length=1)).encode()
    # insert an unknown item 0x7F before the user information item
    ui_at = rq.index(b"\x50\x00")
    body = rq[6:ui_at] + bytes.fromhex("7f000002abcd") + rq[ui_at:]
    out = decode_pdu(b"\x01\x00" + struct.pack(">I", len(body)) + body)
    assert out.user_information.maximum_length == 1
    ui = bytes.fromhex("5000000c 51000004 00000001 6a 07 0000".replace(" ", ""))
    dec = decode_user_information(ui, 0, len(ui))
    assert dec.unknown_items[0].item_type == 0x6A and dec.unknown_items[0].second_byte == 7


# --- what encoding refuses ------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: AssociateRQ("", "B").encode(),
    lambda: AssociateRQ("A" * 17, "B").encode(),
    lambda: AssociateRQ("A\\B", "B").encode(),
    lambda: AssociateRQ("Ä", "B").encode(),
    lambda: AssociateRQ("中", "B").encode(),
    lambda: AssociateRQ("A\tB", "B").encode(),
    lambda: PresentationContextRQ(2, "1.2", ("1.2",)).encode(),
    lambda: PresentationContextRQ(1, "1.2", ()).encode(),
    lambda: PresentationContextAC(0, 0, "1.2").encode(),
    lambda: UserInformation(implementation_version_name="X" * 17).encode(),
    lambda: UserInformation(maximum_length=1 << 32).encode(),
    lambda: UserInformation(user_identity=UserIdentityRQ.saml(b"x" * 70000)).encode(),
    lambda: PDataTF(()).encode(),
    lambda: PresentationContextRQ(1, "1.2.é", ("1.2",)).encode(),
])
def test_encoding_refuses_what_cannot_be_sent(make):
    with pytest.raises(DicomValueError):
        make()


# --- decoding refuses malformed bytes with PDUError and an offset ----------------------------

def _with_length(pdu_type: int, body: bytes) -> bytes:
    return bytes((pdu_type, 0)) + struct.pack(">I", len(body)) + body


@pytest.mark.parametrize("raw, reason, fragment_of_message", [
    (bytes.fromhex("0a00000000040000 0000".replace(" ", "")), 1, "unrecognized PDU type 0x0A"),
    (bytes.fromhex("0500000000050000000000"), 6, "fixed length 4"),
    (bytes.fromhex("0400000000"), 6, "fewer than the 6"),
    (_with_length(4, b""), 6, "without any PDV"),
    (_with_length(4, bytes.fromhex("00000001 01".replace(" ", ""))), 6, "less than the 2 bytes"),
    (_with_length(4, bytes.fromhex("00000009 0100".replace(" ", ""))), 6, "runs past the end"),
    (_with_length(4, bytes.fromhex("00000002 0100 00".replace(" ", ""))), 6, "stray byte"),
    (_with_length(1, bytes(60)), 6, "68 bytes of fixed fields"),
    (_with_length(1, bytes(68)), 6, "no application context"),
])
def test_decode_errors(raw, reason, fragment_of_message):
    with pytest.raises(PDUError) as info:
        decode_pdu(raw)
    assert info.value.reason == reason and fragment_of_message in str(info.value)
    assert isinstance(info.value, NetworkError)


def _rq_body(*items: bytes) -> bytes:
    fixed = b"\x00\x01\x00\x00" + b"A".ljust(16) + b"B".ljust(16) + bytes(32)
    return _with_length(1, fixed + b"".join(items))


APP = bytes.fromhex("10000015") + b"1.2.840.10008.3.1.1.1"
PC = bytes.fromhex("2000000e 01000000 30000002".replace(" ", "")) + b"12" + bytes.fromhex("40000000")


@pytest.mark.parametrize("raw, message", [
    (_rq_body(APP), "no presentation context"),
    (_rq_body(APP, APP, PC), "second application context"),
    (_rq_body(APP, bytes.fromhex("20000004 01000000".replace(" ", ""))), "no abstract syntax"),
    (_rq_body(APP, bytes.fromhex("20000008 01000000 30000000".replace(" ", ""))), "no transfer syntax"),
    (_rq_body(APP, bytes.fromhex("2000000c 01000000 30000000 30000000".replace(" ", ""))),
     "second abstract syntax"),
    (_rq_body(APP, PC, bytes.fromhex("21000004 01000000".replace(" ", ""))), "does not belong"),
    (_rq_body(APP, PC, bytes.fromhex("50000003 510000".replace(" ", ""))), "stray byte"),
    (_rq_body(APP, PC, bytes.fromhex("50000007 51000003 000000".replace(" ", ""))), "must be 4"),
    (_rq_body(APP, PC, bytes.fromhex("50000010 51000004 00000001 51000004 00000001".replace(" ", ""))),
     "second maximum length"),
    (_rq_body(APP, PC, bytes.fromhex("50000008 54000004 0005 0101".replace(" ", ""))), "runs past"),
    (_rq_body(APP, PC, bytes.fromhex("5000000a 54000006 0001 31 0101 ff".replace(" ", ""))), "must be 5"),
    (_rq_body(APP, PC, bytes.fromhex("50000005 58000001 01".replace(" ", ""))), "shorter than 2"),
    (_rq_body(APP, PC, bytes.fromhex("5000000c 58000008 0100 0001 41 0000 ff".replace(" ", ""))),
     "after its last field"),
    (_rq_body(APP, PC, bytes.fromhex("50000006 59000002 0005".replace(" ", ""))), "runs past"),
    (_rq_body(APP, PC, bytes.fromhex("5000000e 5700000a 0001 31 0001 32 0002 0005".replace(" ", ""))),
     "runs past"),
    (_rq_body(APP, PC, bytes.fromhex("5000000d 57000009 0001 31 0001 32 0000 ff".replace(" ", ""))),
     "after its last field"),
    (_rq_body(APP, bytes.fromhex("20000009 01000000 30000001 ff".replace(" ", ""))), "not ASCII"),
    (_rq_body(APP, PC, bytes.fromhex("50000014 58000006 010000000000 58000006 010000000000".replace(" ", ""))),
     "second user identity"),
])
def test_malformed_items(raw, message):
    with pytest.raises(PDUError) as info:
        decode_pdu(raw)
    assert message in str(info.value), str(info.value)
    assert info.value.offset is not None and 0 <= info.value.offset < len(raw)
    assert info.value.pdu_type == 1


def test_malformed_ac_items():
    fixed = b"\x00\x01\x00\x00" + b"A".ljust(16) + b"B".ljust(16) + bytes(32)
    two_ts = bytes.fromhex("2100000c 01000000 40000000 40000000".replace(" ", ""))
    with pytest.raises(PDUError, match="no transfer syntax|empty transfer syntax|second transfer"):
        decode_pdu(_with_length(2, fixed + APP + two_ts))
    no_ts = bytes.fromhex("21000004 01000000".replace(" ", ""))
    with pytest.raises(PDUError, match="no transfer syntax"):
        decode_pdu(_with_length(2, fixed + APP + no_ts))
    # rejected contexts: extra transfer syntax sub-items are not significant
    rej = bytes.fromhex("2100000c 01000300 40000000 40000000".replace(" ", ""))
    assert decode_pdu(_with_length(2, fixed + APP + rej)).presentation_contexts[0].result == 3


@settings(max_examples=250, deadline=None)
@given(pdus, st.data())
def test_truncated_and_mutated_pdus_raise_only_pdu_error(pdu, data):
    raw = pdu.encode()
    # every truncation of the body, with the length field fixed up so that framing is right
    cut = data.draw(st.integers(0, len(raw) - 6))
    truncated = raw[:1] + raw[1:2] + struct.pack(">I", cut) + raw[6:6 + cut]
    try:
        decode_pdu(truncated)
    except PDUError:
        pass
    # random byte flips
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        mutated[i] = data.draw(st.integers(0, 255))
    try:
        decode_pdu(bytes(mutated))
    except PDUError:
        pass


@settings(max_examples=250, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_pdu_error(raw):
    try:
        decode_pdu(raw)
    except PDUError:
        pass


# --- the incremental reader -------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.lists(pdus, min_size=1, max_size=4), st.data())
def test_reader_gives_the_same_pdus_for_any_chunking(pdu_list, data):
    stream = b"".join(p.encode() for p in pdu_list)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = PDUReader(max_pdata_length=0)
    got = []
    prev = 0
    for c in cuts + [len(stream)]:
        reader.feed(stream[prev:c])
        prev = c
        got += list(reader)
    assert got == pdu_list and reader.buffered == 0


def test_reader_byte_by_byte_and_every_prefix_is_incomplete():
    raw = AssociateRQ("A", "B", (PresentationContextRQ(1, "1.2", ("1.2",)),)).encode()
    reader = PDUReader()
    for i, b in enumerate(raw):
        reader.feed(bytes((b,)))
        pdu = reader.next_pdu()
        assert (pdu is None) == (i < len(raw) - 1)


@pytest.mark.parametrize("header, reason", [
    (bytes.fromhex("04 00 ffffffff".replace(" ", "")), 6),
    (bytes.fromhex("01 00 ffffffff".replace(" ", "")), 6),
    (bytes.fromhex("02 00 80000000".replace(" ", "")), 6),
    (bytes.fromhex("07 00 ffffffff".replace(" ", "")), 6),
    (bytes.fromhex("05 00 00000000".replace(" ", "")), 6),
    (bytes.fromhex("00".replace(" ", "")), 1),
    (bytes.fromhex("ff".replace(" ", "")), 1),
])
def test_reader_refuses_absurd_headers_at_once(header, reason):
    reader = PDUReader(max_pdata_length=16384)
    reader.feed(header)
    with pytest.raises(PDUError) as info:
        reader.next_pdu()
    assert info.value.reason == reason
    reader.feed(b"\x00" * 100_000)       # the stream cannot be resynchronised: everything is dropped
    assert reader.buffered == 0 and reader.next_pdu() is None and reader.failed is info.value


def test_reader_bounds():
    reader = PDUReader(max_pdata_length=100)
    ok = PDataTF([PDV(1, b"x" * 94)]).encode()        # PDU-length 100: accepted
    reader.feed(ok)
    assert reader.next_pdu() is not None
    reader.feed(PDataTF([PDV(1, b"x" * 95)]).encode()[:6])
    with pytest.raises(PDUError, match="exceeds the maximum length 100"):
        reader.next_pdu()
    # 0 = no limit, still bounded
    reader = PDUReader(max_pdata_length=0)
    assert reader.max_pdata_length == 64 << 20
    reader = PDUReader(max_association_length=100)
    reader.feed(AssociateRQ("A", "B", (PresentationContextRQ(1, "1.2", ("1.2",)),)).encode())
    with pytest.raises(PDUError, match="association PDU limit"):
        reader.next_pdu()


def test_reader_continues_after_a_malformed_body():
    bad = _with_length(4, b"\x00\x00\x00\x01\x01")            # framing fine, PDV length wrong
    reader = PDUReader()
    reader.feed(bad + ReleaseRQ().encode())
    with pytest.raises(PDUError):
        reader.next_pdu()
    assert reader.failed is None and reader.next_pdu() == ReleaseRQ()


# --- fragmentation ----------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500), st.integers(7, 200), st.booleans())
def test_fragment_respects_the_maximum_and_reassembles(data, max_len, is_command):
    pdus = list(fragment(3, data, is_command=is_command, max_pdu_length=max_len))
    assert all(p.length <= max_len for p in pdus)
    assert b"".join(p.pdvs[0].data for p in pdus) == data
    assert [p.pdvs[0].is_last for p in pdus] == [False] * (len(pdus) - 1) + [True]
    assert all(p.pdvs[0].is_command == is_command and p.pdvs[0].context_id == 3 for p in pdus)


def test_fragment_unlimited_and_too_small():
    assert len(list(fragment(1, b"x" * 100_000, is_command=False, max_pdu_length=0))) == 1
    assert list(fragment(1, b"", is_command=True, max_pdu_length=0))[0].pdvs[0].is_last
    with pytest.raises(DicomValueError):
        list(fragment(1, b"x", is_command=False, max_pdu_length=6))
