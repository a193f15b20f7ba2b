"""pynetdicom as the oracle of DIMSE encoding (tests only; pacsnb/ never imports it).

Both directions, for every message type: the same command built as a pynetdicom primitive
and as a pacsnb dataclass gives byte-identical command sets and identical PDV fragments;
pacsnb's PDVs decode in pynetdicom to the same fields; pynetdicom's PDVs reassemble in
pacsnb to the same message.
"""
from __future__ import annotations

import dataclasses
import io
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pynetdicom = pytest.importorskip("pynetdicom")
from pynetdicom import dimse_messages as pm  # noqa: E402
from pynetdicom import dimse_primitives as pp  # noqa: E402
from pynetdicom.dsutils import encode as pyn_encode  # noqa: E402
from pynetdicom.pdu_primitives import P_DATA  # noqa: E402
from pynetdicom.status import code_to_category  # noqa: E402

from test_dimse import commands  # noqa: E402
from pacsnb.dicom import dictionary  # noqa: E402
from pacsnb.net import dimse as D  # noqa: E402

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)

_PRIMITIVES = {"C-ECHO": pp.C_ECHO, "C-STORE": pp.C_STORE, "C-FIND": pp.C_FIND, "C-GET": pp.C_GET,
               "C-MOVE": pp.C_MOVE, "C-CANCEL": pp.C_CANCEL, "N-EVENT-REPORT": pp.N_EVENT_REPORT,
               "N-GET": pp.N_GET, "N-SET": pp.N_SET, "N-ACTION": pp.N_ACTION, "N-CREATE": pp.N_CREATE,
               "N-DELETE": pp.N_DELETE}


def _keywords(cls):
    return {name: dictionary.keyword_for_tag(tag) for name, tag, _ in D._spec(cls)}


def _supported(cls):
    """Our fields that pynetdicom also has for this message type."""
    theirs = set(pm._COMMAND_SET_KEYWORDS[cls.COMMAND_FIELD.message_name])
    return {name for name, kw in _keywords(cls).items() if kw in theirs}


@st.composite
def oracle_commands(draw):
    cmd = draw(commands())
    keep = _supported(type(cmd))
    changes = {name: None for name in _keywords(type(cmd)) if name not in keep}
    return dataclasses.replace(cmd, extra=(), **changes)


def _data_for(cmd, data):
    if cmd.DATA_SET is False:
        return None
    return data if (cmd.DATA_SET or data) else None


def _pyn_message(cmd, data):
    prim = _PRIMITIVES[cmd.service]()
    for name, kw in _keywords(type(cmd)).items():
        value = getattr(cmd, name)
        if value is not None:
            setattr(prim, kw, list(value) if isinstance(value, tuple) else value)
    msg_name = cmd.COMMAND_FIELD.message_name.replace("-", "_")
    if data is not None:
        setattr(prim, pm._DATASET_KEYWORDS[msg_name], io.BytesIO(data))
    msg = getattr(pm, msg_name)()
    msg.primitive_to_message(prim)
    return msg


def _pyn_dataset_supported(cmd):
    return cmd.COMMAND_FIELD.message_name.replace("-", "_") in pm._DATASET_KEYWORDS


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oracle_commands(), st.binary(min_size=1, max_size=300))
def test_command_set_bytes_match_pynetdicom(cmd, data):
    data = _data_for(cmd, data) if _pyn_dataset_supported(cmd) else None
    if cmd.DATA_SET and data is None:
        return
    msg = _pyn_message(cmd, data)
    assert pyn_encode(msg.command_set, True, True) == cmd.encode(has_data_set=data is not None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oracle_commands(), st.binary(min_size=1, max_size=2000), st.integers(8, 400))
def test_fragments_match_pynetdicom_both_ways(cmd, data, max_pdu):
    data = _data_for(cmd, data) if _pyn_dataset_supported(cmd) else None
    if cmd.DATA_SET and data is None:
        return
    theirs = [pdv for p in _pyn_message(cmd, data).encode_msg(3, max_pdu)
              for pdv in p.presentation_data_value_list]
    ours = [(pdv.context_id, bytes((pdv.control_header,)) + pdv.data)
            for p in D.message_to_pdus(3, cmd, data, max_pdu_length=max_pdu) for pdv in p.pdvs]
    assert ours == theirs

    # our PDVs decode in pynetdicom to the same fields and data set
    msg = pm.DIMSEMessage()
    done = False
    for ctx, raw in ours:
        p = P_DATA()
        p.presentation_data_value_list.append((ctx, raw))
        done = msg.decode_msg(p)
    assert done and type(msg).__name__ == cmd.COMMAND_FIELD.message_name.replace("-", "_")
    for name, kw in _keywords(type(cmd)).items():
        if name not in _supported(type(cmd)):
            continue
        value = getattr(cmd, name)
        theirs_value = msg.command_set.get(kw)
        if isinstance(value, tuple):
            many = not isinstance(theirs_value, int)
            theirs_value = tuple(int(t) for t in theirs_value) if many else (int(theirs_value),)
        elif isinstance(value, str):
            theirs_value = str(theirs_value)
        assert theirs_value == value, (name, theirs_value, value)
    if data is not None:
        assert msg.data_set.getvalue() == data

    # pynetdicom's PDVs reassemble in pacsnb to the same message
    asm = D.MessageAssembler()
    from pacsnb.net import PDV
    got = [m for ctx, raw in theirs for m in asm.feed(PDV(ctx, raw[1:], bool(raw[0] & 1), bool(raw[0] & 2)))]
    assert got == [D.Message(3, cmd, data)]


def test_status_categories_match_pynetdicom():
    names = {D.StatusCategory.SUCCESS: "Success", D.StatusCategory.WARNING: "Warning",
             D.StatusCategory.FAILURE: "Failure", D.StatusCategory.CANCEL: "Cancel",
             D.StatusCategory.PENDING: "Pending"}
    checked = 0
    for code in range(0x10000):
        theirs = code_to_category(code)
        if theirs == "Unknown":
            continue  # codes PS3.7 Annex C does not assign; we count them as failures
        assert names[D.status_category(code)] == theirs, hex(code)
        checked += 1
    assert checked > 3 * 4096
