"""pynetdicom as an oracle for the PDU bytes (tests only; pacsnb/ never imports it).

Both directions: the same PDU built with pynetdicom's classes and with pacsnb's must give
identical bytes; pynetdicom's bytes decode in pacsnb to the same PDU; pacsnb's bytes decode
in pynetdicom to the same fields. The State table is cross-checked against pynetdicom's
transcription of PS3.8 Table 9-10 too.
"""
from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pynetdicom = pytest.importorskip("pynetdicom")
from pynetdicom import fsm as pyn_fsm  # noqa: E402
from pynetdicom import pdu as pyn  # noqa: E402
from pynetdicom import pdu_primitives as prim  # noqa: E402
from pynetdicom.presentation import PresentationContext  # noqa: E402

from net_strategies import ae_titles, small_bytes, u16, uids  # noqa: E402
from pacsnb.net import (TRANSITIONS, Abort, AssociateAC, AssociateRJ, AssociateRQ,  # noqa: E402
                        AsyncOperationsWindow, PDataTF, PDV, PresentationContextAC,
                        PresentationContextRQ, ReleaseRP, ReleaseRQ, RoleSelection,
                        SOPClassCommonExtendedNegotiation, SOPClassExtendedNegotiation,
                        UserIdentityAC, UserIdentityRQ, UserInformation, decode_pdu)

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


# --- pacsnb objects -> pynetdicom primitives --------------------------------------------------

def _user_info_primitives(ui: UserInformation, ac: bool) -> list:
    out = []
    if ui.maximum_length is not None:
        x = prim.MaximumLengthNotification()
        x.maximum_length_received = ui.maximum_length
        out.append(x)
    if ui.implementation_class_uid is not None:
        x = prim.ImplementationClassUIDNotification()
        x.implementation_class_uid = ui.implementation_class_uid
        out.append(x)
    if ui.async_operations_window is not None:
        x = prim.AsynchronousOperationsWindowNegotiation()
        x.maximum_number_operations_invoked = ui.async_operations_window.max_operations_invoked
        x.maximum_number_operations_performed = ui.async_operations_window.max_operations_performed
        out.append(x)
    for r in ui.role_selections:
        x = prim.SCP_SCU_RoleSelectionNegotiation()
        x.sop_class_uid, x.scu_role, x.scp_role = r.sop_class_uid, r.scu_role, r.scp_role
        out.append(x)
    if ui.implementation_version_name is not None:
        x = prim.ImplementationVersionNameNotification()
        x.implementation_version_name = ui.implementation_version_name
        out.append(x)
    for e in ui.extended_negotiations:
        x = prim.SOPClassExtendedNegotiation()
        x.sop_class_uid, x.service_class_application_information = e.sop_class_uid, e.info
        out.append(x)
    for c in ui.common_extended_negotiations:
        x = prim.SOPClassCommonExtendedNegotiation()
        x.sop_class_uid, x.service_class_uid = c.sop_class_uid, c.service_class_uid
        x.related_general_sop_class_identification = list(c.related_general_sop_classes)
        out.append(x)
    ident = ui.user_identity
    if ident is not None:
        x = prim.UserIdentityNegotiation()
        if ac:
            x.server_response = ident.server_response
        else:
            x.user_identity_type = int(ident.identity_type)
            x.positive_response_requested = ident.positive_response_requested
            x.primary_field = ident.primary_field
            x.secondary_field = ident.secondary_field
        out.append(x)
    return out


def _pyn_associate(pdu: AssociateRQ | AssociateAC):
    p = prim.A_ASSOCIATE()
    p.application_context_name = pdu.application_context_name
    p.called_ae_title = pdu.called_ae_title
    p.calling_ae_title = pdu.calling_ae_title
    contexts = []
    for pc in pdu.presentation_contexts:
        cx = PresentationContext()
        cx.context_id = pc.context_id
        if isinstance(pdu, AssociateRQ):
            cx.abstract_syntax = pc.abstract_syntax
            cx.transfer_syntax = list(pc.transfer_syntaxes)
        else:
            cx.result = pc.result
            cx.transfer_syntax = [pc.transfer_syntax]
        contexts.append(cx)
    ac = isinstance(pdu, AssociateAC)
    if ac:
        p.presentation_context_definition_results_list = contexts
        p.result = 0
    else:
        p.presentation_context_definition_list = contexts
    p.user_information = _user_info_primitives(pdu.user_information, ac)
    return (pyn.A_ASSOCIATE_AC if ac else pyn.A_ASSOCIATE_RQ)(p)


def _pyn_simple(pdu):
    if isinstance(pdu, AssociateRJ):
        x = pyn.A_ASSOCIATE_RJ()
        x.result, x.source, x.reason_diagnostic = pdu.result, pdu.source, pdu.reason
        return x
    if isinstance(pdu, Abort):
        x = pyn.A_ABORT_RQ()
        x.source, x.reason_diagnostic = pdu.source, pdu.reason
        return x
    if isinstance(pdu, ReleaseRQ):
        return pyn.A_RELEASE_RQ()
    if isinstance(pdu, ReleaseRP):
        return pyn.A_RELEASE_RP()
    if isinstance(pdu, PDataTF):
        p = prim.P_DATA()
        p.presentation_data_value_list = [[v.context_id, bytes((v.control_header,)) + v.data]
                                          for v in pdu.pdvs]
        return pyn.P_DATA_TF(p)
    return _pyn_associate(pdu)


# --- strategies limited to what pynetdicom's classes accept -----------------------------------

names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.", min_size=1, max_size=16)
context_ids = st.integers(0, 127).map(lambda n: 2 * n + 1)


@st.composite
def user_infos(draw, ac: bool):
    ident = None
    if draw(st.booleans()):
        if ac:
            ident = UserIdentityAC(draw(st.binary(min_size=1, max_size=40)))
        else:
            t = draw(st.integers(1, 5))
            ident = UserIdentityRQ(t, draw(st.binary(min_size=1, max_size=40)),
                                   draw(st.binary(min_size=1, max_size=40)) if t == 2 else b"",
                                   draw(st.booleans()))
    role_sops = draw(st.lists(uids, max_size=3, unique=True))
    return UserInformation(
        maximum_length=draw(st.integers(0, 0xFFFFFFFF)),
        implementation_class_uid=draw(uids),
        implementation_version_name=draw(st.one_of(st.none(), names)),
        async_operations_window=draw(st.one_of(st.none(), st.builds(AsyncOperationsWindow, u16, u16))),
        role_selections=tuple(RoleSelection(s, *draw(st.sampled_from([(True, False), (False, True), (True, True)])))
                              for s in role_sops),
        extended_negotiations=tuple(draw(st.lists(st.builds(SOPClassExtendedNegotiation, uids,
                                                            st.binary(min_size=1, max_size=20)),
                                                  max_size=2))),
        common_extended_negotiations=() if ac else tuple(draw(st.lists(
            st.builds(SOPClassCommonExtendedNegotiation, uids, uids, st.lists(uids, max_size=3).map(tuple)),
            max_size=2))),
        user_identity=ident)


@st.composite
def rqs(draw):
    ids = draw(st.lists(context_ids, min_size=1, max_size=4, unique=True))
    return AssociateRQ(draw(ae_titles), draw(ae_titles),
                       tuple(PresentationContextRQ(i, draw(uids), tuple(draw(st.lists(uids, min_size=1, max_size=3, unique=True))))
                             for i in ids),
                       draw(user_infos(False)))


@st.composite
def acs(draw):
    ids = draw(st.lists(context_ids, min_size=1, max_size=4, unique=True))
    return AssociateAC(draw(ae_titles), draw(ae_titles),
                       tuple(PresentationContextAC(i, draw(st.integers(0, 4)), draw(uids)) for i in ids),
                       draw(user_infos(True)))


byte = st.integers(0, 255)
simple = st.one_of(
    st.builds(AssociateRJ, st.integers(1, 2), st.integers(1, 3), byte),
    st.builds(Abort, st.sampled_from([0, 2]), st.integers(0, 6)),
    st.just(ReleaseRQ()), st.just(ReleaseRP()),
    st.lists(st.builds(PDV, st.integers(1, 255), small_bytes, st.booleans(), st.booleans()),
             min_size=1, max_size=3).map(lambda v: PDataTF(tuple(v))),
)


def _both_ways(ours) -> None:
    theirs = _pyn_simple(ours)
    raw_theirs = theirs.encode()
    raw_ours = ours.encode()
    assert raw_ours == raw_theirs
    assert decode_pdu(raw_theirs) == ours
    back = type(theirs)()
    back.decode(raw_ours)
    assert back.encode() == raw_ours


@settings(max_examples=40, deadline=None)
@given(rqs())
def test_associate_rq_same_bytes_as_pynetdicom(rq):
    _both_ways(rq)
    p = pyn.A_ASSOCIATE_RQ()
    p.decode(rq.encode())
    assert p.called_ae_title == rq.called_ae_title and p.calling_ae_title == rq.calling_ae_title
    got = p.to_primitive()
    assert [(c.context_id, c.abstract_syntax, list(c.transfer_syntax))
            for c in got.presentation_context_definition_list] == [
        (c.context_id, c.abstract_syntax, list(c.transfer_syntaxes)) for c in rq.presentation_contexts]
    assert got.maximum_length_received == rq.user_information.maximum_length
    assert got.implementation_class_uid == rq.user_information.implementation_class_uid


@settings(max_examples=40, deadline=None)
@given(acs())
def test_associate_ac_same_bytes_as_pynetdicom(ac):
    _both_ways(ac)
    p = pyn.A_ASSOCIATE_AC()
    p.decode(ac.encode())
    got = p.to_primitive()
    assert [(c.context_id, c.result, c.transfer_syntax[0] if c.transfer_syntax else None)
            for c in got.presentation_context_definition_results_list] == [
        (c.context_id, c.result, c.transfer_syntax) for c in ac.presentation_contexts]


@settings(max_examples=60, deadline=None)
@given(simple)
def test_other_pdus_same_bytes_as_pynetdicom(pdu):
    _both_ways(pdu)


def test_a_full_realistic_request_from_pynetdicom():
    # what pynetdicom's AE would send for a C-GET with role selection and user identity
    p = prim.A_ASSOCIATE()
    p.application_context_name = "1.2.840.10008.3.1.1.1"
    p.calling_ae_title, p.called_ae_title = "PYNETDICOM", "ANY-SCP"
    contexts = []
    for i, sop in enumerate(["1.2.840.10008.5.1.4.1.2.2.3", "1.2.840.10008.5.1.4.1.1.2"]):
        cx = PresentationContext()
        cx.context_id, cx.abstract_syntax = 2 * i + 1, sop
        cx.transfer_syntax = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
        contexts.append(cx)
    p.presentation_context_definition_list = contexts
    role = prim.SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid, role.scu_role, role.scp_role = "1.2.840.10008.5.1.4.1.1.2", False, True
    ident = prim.UserIdentityNegotiation()
    ident.user_identity_type, ident.primary_field = 5, b"eyJhbGciOi.e30.sig"
    ident.positive_response_requested = True
    ml = prim.MaximumLengthNotification()
    ml.maximum_length_received = 16382
    ic = prim.ImplementationClassUIDNotification()
    ic.implementation_class_uid = "1.2.826.0.1.3680043.9.3811.3.0.4"
    p.user_information = [ml, ic, role, ident]
    rq = decode_pdu(pyn.A_ASSOCIATE_RQ(p).encode())
    assert rq.calling_ae_title == "PYNETDICOM"
    assert rq.user_information.role_for("1.2.840.10008.5.1.4.1.1.2") == RoleSelection(
        "1.2.840.10008.5.1.4.1.1.2", False, True)
    assert rq.user_information.user_identity == UserIdentityRQ.jwt(
        "eyJhbGciOi.e30.sig", positive_response_requested=True)


def test_state_table_matches_pynetdicoms_transcription():
    theirs = {(int(s[3:]), int(e[3:])): a for (e, s), a in pyn_fsm.TRANSITION_TABLE.items()}
    ours = {(int(s), int(e)): a for (s, e), a in TRANSITIONS.items()}
    assert ours == theirs
