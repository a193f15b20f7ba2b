"""DIMSE command sets, statuses, fragmentation and reassembly (pacsnb.net.dimse), byte by byte."""
from __future__ import annotations

import dataclasses
import io
import os
import struct
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net_strategies import ae_titles, uids
from pacsnb.dicom import dictionary
from pacsnb.errors import DicomValueError, PDUError
from pacsnb.net import PDataTF, PDV
from pacsnb.net import dimse as D

ALL = list(D.COMMAND_CLASSES.values())
REQUESTS = [c for c in ALL if issubclass(c, D.Request)]

_texts = st.text(alphabet="".join(chr(c) for c in range(0x21, 0x7F) if c != 0x5C), min_size=1, max_size=64)
_tags = st.integers(0, 0xFFFFFFFF)


def _value_strategy(vr: str, keyword: str):
    if keyword == "Priority":
        return st.sampled_from(list(D.Priority))
    if vr == "US":
        return st.integers(0, 0xFFFF)
    if vr == "UI":
        return uids
    if vr == "AE":
        return ae_titles
    if vr == "AT":
        return st.lists(_tags, min_size=1, max_size=4).map(tuple)
    return _texts


@st.composite
def commands(draw, cls=None):
    cls = draw(st.sampled_from(ALL)) if cls is None else cls
    values = {}
    for f in dataclasses.fields(cls):
        kw = f.metadata.get("keyword")
        if kw is None:
            continue
        strategy = _value_strategy(dictionary.vr_for_tag(dictionary.tag_for_keyword(kw)), kw)
        if f.default is dataclasses.MISSING:
            values[f.name] = draw(strategy)
        elif draw(st.booleans()):
            values[f.name] = draw(strategy)
    extra = draw(st.lists(st.tuples(st.sampled_from([0x00000001, 0x00000200, 0x00004000, 0x00005010]),
                                     st.binary(max_size=20).map(lambda b: b + b"\x00" * (len(b) & 1))),
                          max_size=2, unique_by=lambda t: t[0]))
    return cls(extra=tuple(sorted(extra)), **values)


def _elements(raw: bytes):
    out, off = [], 0
    while off < len(raw):
        g, e, n = struct.unpack_from("<HHI", raw, off)
        out.append(((g << 16) | e, raw[off + 8:off + 8 + n]))
        off += 8 + n
    assert off == len(raw)
    return out


# --- command sets ---------------------------------------------------------------------------

def test_every_command_field_has_a_class():
    assert sorted(D.COMMAND_CLASSES) == sorted(int(c) for c in D.CommandField)
    for value, cls in D.COMMAND_CLASSES.items():
        assert cls.COMMAND_FIELD == value
        assert cls.COMMAND_FIELD.message_name.replace("-", "").replace("_", "") \
            == cls.__name__.upper()


def test_keywords_are_command_elements_of_the_dictionary():
    for cls in ALL:
        for f in dataclasses.fields(cls):
            kw = f.metadata.get("keyword")
            if kw is not None:
                assert dictionary.tag_for_keyword(kw) >> 16 == 0, (cls, kw)


@settings(max_examples=150, deadline=None)
@given(commands(), st.booleans())
def test_encode_decode_round_trip(command, has_data_set):
    if command.DATA_SET is not None:
        has_data_set = command.DATA_SET
    raw = command.encode(has_data_set=has_data_set)
    assert D.decode_command(raw) == (command, has_data_set)


@settings(max_examples=100, deadline=None)
@given(commands(), st.booleans())
def test_encoding_is_implicit_little_endian_sorted_with_group_length(command, has_data_set):
    raw = command.encode(has_data_set=has_data_set)
    elements = _elements(raw)
    tags = [t for t, _ in elements]
    assert tags == sorted(tags) and len(set(tags)) == len(tags)
    assert all(t >> 16 == 0 for t in tags)
    assert tags[0] == 0 and struct.unpack("<I", elements[0][1])[0] == len(raw) - 12
    values = dict(elements)
    assert struct.unpack("<H", values[0x100])[0] == command.COMMAND_FIELD
    assert (struct.unpack("<H", values[0x800])[0] != 0x0101) == has_data_set
    assert all(len(v) % 2 == 0 for v in values.values())


def test_c_echo_rq_bytes_by_hand():
    uid = b"1.2.840.10008.1.1\x00"
    body = (struct.pack("<HHI", 0, 0x0002, len(uid)) + uid
            + struct.pack("<HHIH", 0, 0x0100, 2, 0x0030)
            + struct.pack("<HHIH", 0, 0x0110, 2, 9)
            + struct.pack("<HHIH", 0, 0x0800, 2, 0x0101))
    expected = struct.pack("<HHII", 0, 0, 4, len(body)) + body
    assert D.CEchoRQ(message_id=9).encode() == expected


def test_c_store_rsp_status_fields_and_ae_padding():
    rsp = D.CStoreRSP(message_id_being_responded_to=2, status=0xA900, offending_element=(0x00100010, 0x00100020),
                      error_comment="bad name", error_id=7)
    values = dict(_elements(rsp.encode()))
    assert values[0x0901] == bytes.fromhex("1000 1000 1000 2000".replace(" ", ""))
    assert values[0x0902] == b"bad name" and values[0x0903] == b"\x07\x00"
    rq = D.CMoveRQ(message_id=1, affected_sop_class_uid="1.2", move_destination="DEST")
    assert dict(_elements(rq.encode()))[0x0600] == b"DEST"
    rq = D.CMoveRQ(message_id=1, affected_sop_class_uid="1.2", move_destination="ODD")
    assert dict(_elements(rq.encode(has_data_set=True)))[0x0600] == b"ODD "


def test_value_checks():
    with pytest.raises(DicomValueError, match="16"):
        D.CMoveRQ(message_id=1, affected_sop_class_uid="1.2", move_destination="A" * 17).encode()
    with pytest.raises(DicomValueError, match="16-bit"):
        D.CEchoRQ(message_id=70000).encode()
    with pytest.raises(DicomValueError, match="64"):
        D.CEchoRSP(message_id_being_responded_to=1, error_comment="x" * 65).encode()


def test_decode_errors():
    good = D.CEchoRQ(message_id=1).encode()
    with pytest.raises(PDUError, match="not in group 0000"):
        D.decode_command(good + struct.pack("<HHI", 8, 0x16, 0))
    with pytest.raises(PDUError, match="past the end"):
        D.decode_command(good[:-1])
    with pytest.raises(PDUError, match="unknown Command Field 0x1234"):
        D.decode_command(struct.pack("<HHIH", 0, 0x100, 2, 0x1234) + struct.pack("<HHIH", 0, 0x800, 2, 0x101))
    with pytest.raises(PDUError, match="Command Field .* missing"):
        D.decode_command(struct.pack("<HHIH", 0, 0x800, 2, 0x101))
    with pytest.raises(PDUError, match=r"C-STORE-RQ: mandatory element\(s\) missing: \(0000,1000\) AffectedSOPInstanceUID"):
        D.decode_command(struct.pack("<HHI", 0, 2, 4) + b"1.2\x00" + struct.pack("<HHIH", 0, 0x100, 2, 1)
                         + struct.pack("<HHIH", 0, 0x110, 2, 1) + struct.pack("<HHIH", 0, 0x800, 2, 1))
    with pytest.raises(PDUError, match="appears twice"):
        D.decode_command(good + struct.pack("<HHIH", 0, 0x110, 2, 1))


def test_wrong_group_length_is_tolerated(caplog):
    raw = bytearray(D.CEchoRQ(message_id=1).encode())
    raw[8] += 2
    assert D.decode_command(bytes(raw))[0] == D.CEchoRQ(message_id=1)
    assert "Command Group Length" in caplog.text
    # no group length at all (some old implementations) is fine too
    assert D.decode_command(bytes(raw[12:]))[0] == D.CEchoRQ(message_id=1)


@pytest.mark.parametrize("cls", REQUESTS)
def test_response_copies_what_ps37_says(cls):
    rq = _sample(cls)
    rsp = rq.response(0xFF00 if cls in (D.CFindRQ, D.CGetRQ, D.CMoveRQ) else 0)
    assert isinstance(rsp, cls.RESPONSE) and rsp.message_id_being_responded_to == rq.message_id
    for src, dst in (("affected_sop_class_uid", "affected_sop_class_uid"),
                     ("requested_sop_class_uid", "affected_sop_class_uid"),
                     ("affected_sop_instance_uid", "affected_sop_instance_uid"),
                     ("requested_sop_instance_uid", "affected_sop_instance_uid")):
        if hasattr(rq, src) and hasattr(rsp, dst):
            assert getattr(rsp, dst) == getattr(rq, src)
    assert rsp.service == rq.service and not rsp.is_request and rq.is_request


def _sample(cls):
    values = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.metadata.get("keyword"):
            kw = f.metadata["keyword"]
            vr = dictionary.vr_for_tag(dictionary.tag_for_keyword(kw))
            values[f.name] = {"US": 3, "UI": "1.2.3", "AE": "DEST"}[vr]
    return cls(**values)


def test_status_categories_against_annex_c():
    cat = D.status_category
    assert cat(0) is D.StatusCategory.SUCCESS
    assert all(cat(s) is D.StatusCategory.WARNING for s in (0x0001, 0x0107, 0x0116, 0xB000, 0xBFFF))
    assert all(cat(s) is D.StatusCategory.FAILURE for s in (0x0105, 0x0122, 0x0213, 0xA700, 0xA9FF, 0xC000, 0xCFFF))
    assert cat(0xFE00) is D.StatusCategory.CANCEL
    assert cat(0xFF00) is cat(0xFF01) is D.StatusCategory.PENDING
    rsp = D.CFindRSP(message_id_being_responded_to=1, status=0xFF01)
    assert rsp.is_pending and not rsp.is_final and rsp.category is D.StatusCategory.PENDING


def test_to_dataset_shows_keywords():
    ds = D.CStoreRQ(message_id=4, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4").to_dataset()
    assert ds.MessageID == 4 and ds.AffectedSOPInstanceUID == "3.4" and ds.CommandDataSetType == 1
    assert ds.CommandGroupLength == len(D.CStoreRQ(message_id=4, affected_sop_class_uid="1.2",
                                                   affected_sop_instance_uid="3.4").encode()) - 12


# --- fragmentation --------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(commands(), st.binary(max_size=3000), st.one_of(st.just(0), st.integers(7, 600)), st.booleans())
def test_fragments_respect_the_maximum_and_reassemble(command, data, max_pdu, as_file):
    if command.DATA_SET is False:
        data = None
    elif command.DATA_SET is None and not data:
        data = None
    source = io.BytesIO(data) if (as_file and data is not None) else data
    pdus = list(D.message_to_pdus(5, command, source, max_pdu_length=max_pdu))
    assert all(len(p.pdvs) == 1 for p in pdus)
    if max_pdu:
        assert all(p.length <= max_pdu for p in pdus)
    flags = [(p.pdvs[0].is_command, p.pdvs[0].is_last) for p in pdus]
    n_cmd = sum(1 for c, _ in flags if c)
    assert flags[:n_cmd] == [(True, False)] * (n_cmd - 1) + [(True, True)]
    if data is not None:
        assert flags[n_cmd:] == [(False, False)] * (len(flags) - n_cmd - 1) + [(False, True)]
    asm = D.MessageAssembler()
    msgs = [m for p in pdus for m in asm.feed(p)]
    assert msgs == [D.Message(5, command, data)]
    assert not asm.in_progress


def test_data_set_presence_is_checked():
    with pytest.raises(DicomValueError, match="needs a data set"):
        list(D.message_to_pdus(1, D.CStoreRQ(message_id=1, affected_sop_class_uid="1", affected_sop_instance_uid="2"),
                               max_pdu_length=0))
    with pytest.raises(DicomValueError, match="has no data set"):
        list(D.message_to_pdus(1, D.CEchoRQ(message_id=1), b"xx", max_pdu_length=0))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(commands(), st.binary(max_size=500)), min_size=1, max_size=5),
       st.integers(7, 200), st.integers(1, 4), st.data())
def test_many_messages_in_any_pdv_packing(items, max_pdu, per_pdu, data):
    messages, pdvs = [], []
    for i, (command, payload) in enumerate(items):
        payload = payload if command.DATA_SET is not False and (command.DATA_SET or payload) else None
        ctx = 2 * i + 1
        messages.append(D.Message(ctx, command, payload))
        pdvs += [pdv for p in D.message_to_pdus(ctx, command, payload, max_pdu_length=max_pdu) for pdv in p.pdvs]
    asm = D.MessageAssembler()
    got = []
    while pdvs:
        k = data.draw(st.integers(1, per_pdu))
        got += asm.feed(PDataTF(tuple(pdvs[:k])))
        pdvs = pdvs[k:]
    assert got == messages


def test_out_of_order_fragments_are_refused():
    echo = list(D.message_to_pdus(1, D.CEchoRQ(message_id=1), max_pdu_length=20))
    store = D.CStoreRQ(message_id=2, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4")
    stored = list(D.message_to_pdus(1, store, b"abcd" * 10, max_pdu_length=20))
    asm = D.MessageAssembler()
    with pytest.raises(PDUError, match="data set fragment .* where a command was expected"):
        asm.feed(PDV(1, b"xx", False, True))
    asm.feed(echo[0])
    with pytest.raises(PDUError, match="context 3 arrived in the middle of a message on context 1"):
        asm.feed(PDV(3, echo[1].pdvs[0].data, True, False))
    assert not asm.in_progress  # reset after an error
    n = next(i for i, p in enumerate(stored) if not p.pdvs[0].is_command)
    for p in stored[:n + 1]:
        asm.feed(p)
    assert asm.in_progress and asm.command == store and asm.data_length == 14
    with pytest.raises(PDUError, match="command fragment arrived in the data set of C-STORE-RQ"):
        asm.feed(echo[0])
    sink = io.BytesIO()
    with_sink = D.MessageAssembler(sink=lambda ctx, cmd: sink)
    for p in stored[:n + 1]:
        with_sink.feed(p)
    with pytest.raises(PDUError):
        with_sink.feed(echo[0])
    assert sink.closed and not with_sink.in_progress
    big = D.MessageAssembler(max_command_length=30)
    with pytest.raises(PDUError, match="longer than 30"):
        for p in echo:
            big.feed(p)


def test_abandon_returns_the_sink_of_a_partial_message():
    store = D.CStoreRQ(message_id=2, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4")
    sink = io.BytesIO()
    asm = D.MessageAssembler(sink=lambda ctx, cmd: sink)
    pdus = list(D.message_to_pdus(1, store, b"z" * 100, max_pdu_length=30))
    for p in pdus[:-1]:
        assert asm.feed(p) == []
    assert asm.abandon() is sink and not asm.in_progress
    assert D.MessageAssembler().abandon() is None


def test_sink_factory_can_keep_some_messages_in_memory():
    asm = D.MessageAssembler(sink=lambda ctx, cmd: None)
    store = D.CStoreRQ(message_id=2, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4")
    [msg] = [m for p in D.message_to_pdus(1, store, b"q" * 50, max_pdu_length=30) for m in asm.feed(p)]
    assert msg.data == b"q" * 50 and msg.has_data_set


class _Zeros(io.RawIOBase):
    """A readable file of ``n`` zero bytes that is never in memory as a whole."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


class _CountingSink(io.RawIOBase):
    def __init__(self):
        self.n = 0

    def writable(self):
        return True

    def write(self, b):
        self.n += len(b)
        return len(b)


def test_streaming_a_large_data_set_keeps_memory_bounded(tmp_path):
    size, max_pdu = 48 << 20, 256 << 10
    store = D.CStoreRQ(message_id=1, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4")
    target = open(tmp_path / "big.raw", "wb")
    asm = D.MessageAssembler(sink=lambda ctx, cmd: target)
    tracemalloc.start()
    try:
        msgs = []
        for pdu in D.message_to_pdus(1, store, io.BufferedReader(_Zeros(size)), max_pdu_length=max_pdu):
            msgs += asm.feed(PDataTF(pdu.pdvs))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        target.close()
    assert len(msgs) == 1 and msgs[0].data is target
    assert os.path.getsize(tmp_path / "big.raw") == size
    assert peak < 8 * max_pdu, f"peak {peak} bytes for a {size}-byte data set"


def test_default_sink_holds_one_copy():
    size = 16 << 20
    store = D.CStoreRQ(message_id=1, affected_sop_class_uid="1.2", affected_sop_instance_uid="3.4")
    asm = D.MessageAssembler()
    tracemalloc.start()
    try:
        msgs = []
        for pdu in D.message_to_pdus(1, store, io.BufferedReader(_Zeros(size)), max_pdu_length=1 << 20):
            msgs += asm.feed(pdu)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(msgs[0].data) == size
    assert peak < size * 1.5, f"peak {peak} for {size} bytes"
