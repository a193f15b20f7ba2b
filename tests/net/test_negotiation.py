"""Presentation context negotiation (PS3.7 Annex D, PS3.8 7.1.1.13)."""
from __future__ import annotations

import logging

import pytest

from pacsnb.errors import NetworkError
from pacsnb.net import (AcceptancePolicy, AssociateAC, AssociateRJ, AssociateRQ, AsyncOperationsWindow,
                        ContextResult, PresentationContextAC, PresentationContextRQ, RoleSelection,
                        SOPClassCommonExtendedNegotiation, SOPClassExtendedNegotiation, StateMachine,
                        UserIdentityAC, UserIdentityRQ, UserInformation, build_request, decode_pdu,
                        find_context, negotiate, negotiated_contexts, propose)

CT, MR, ECHO = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.1"
IMPLICIT, EXPLICIT, DEFLATE, BIG = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99",
                                    "1.2.840.10008.1.2.2")
JPEG, JLS = "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.80"


# --- the requestor's proposal --------------------------------------------------------------------

def test_propose_groups_native_syntaxes_and_isolates_compressed_ones():
    files = [(CT, IMPLICIT), (CT, JPEG), (CT, EXPLICIT), (MR, JLS), (CT, IMPLICIT), (CT, JPEG), (MR, BIG)]
    pcs = propose(files)
    assert [(pc.context_id, pc.abstract_syntax, pc.transfer_syntaxes) for pc in pcs] == [
        (1, CT, (IMPLICIT, EXPLICIT)),
        (3, CT, (JPEG,)),
        (5, MR, (JLS,)),
        (7, MR, (BIG, EXPLICIT, IMPLICIT)),
    ]
    assert [pc.transfer_syntaxes for pc in propose([ECHO, (ECHO, None)])] == [(EXPLICIT, IMPLICIT)]
    assert propose([(CT, DEFLATE)], fallback=())[0].transfer_syntaxes == (DEFLATE,)


def test_propose_refuses_more_than_128_contexts():
    assert len(propose([f"1.2.3.{i}" for i in range(128)])) == 128
    assert propose([f"1.2.3.{i}" for i in range(128)])[-1].context_id == 255
    with pytest.raises(NetworkError, match="129 presentation contexts"):
        propose([f"1.2.3.{i}" for i in range(129)])


def test_build_request_has_the_mandatory_user_information():
    rq = build_request("SCP", "SCU", propose([ECHO]), roles={CT: (False, True)},
                       user_identity=UserIdentityRQ.username("u"),
                       async_operations_window=AsyncOperationsWindow(3, 1))
    ui = rq.user_information
    assert ui.maximum_length == 1 << 20 and ui.implementation_class_uid.startswith("2.25.")
    assert 1 <= len(ui.implementation_version_name) <= 16
    assert ui.role_selections == (RoleSelection(CT, False, True),)
    assert decode_pdu(rq.encode()) == rq
    rq2 = build_request("SCP", "SCU", propose([ECHO]), roles=[RoleSelection(CT, True, True)],
                        implementation_version_name="X")
    assert rq2.user_information.role_selections[0].scp_role and rq2.user_information.implementation_version_name == "X"


# --- the acceptor's answer ---------------------------------------------------------------------

def _rq(contexts, **kw):
    return build_request("ARCHIVE", "MODALITY", contexts, **kw)


@pytest.mark.parametrize("rq, policy, reason", [
    (AssociateRQ("ARCHIVE", "M", propose([ECHO]), application_context_name="1.2.3"), AcceptancePolicy(), 2),
    (_rq(propose([ECHO])), AcceptancePolicy(ae_title="OTHER"), 7),
    (_rq(propose([ECHO])), AcceptancePolicy(calling_ae_titles=frozenset({"CT1"})), 3),
    (_rq(propose([ECHO]), user_identity=UserIdentityRQ.username("eve")),
     AcceptancePolicy(user_identity=lambda ident: ident.primary_field == b"alice"), 1),
])
def test_association_rejections(rq, policy, reason):
    answer = negotiate(rq, policy)
    assert not answer.accepted and answer.contexts == ()
    assert answer.response == AssociateRJ(1, 1, reason)


def test_context_results_and_syntax_choice():
    pcs = (PresentationContextRQ(1, CT, (JPEG, IMPLICIT, EXPLICIT)),
           PresentationContextRQ(3, MR, (IMPLICIT,)),
           PresentationContextRQ(5, ECHO, (JPEG,)))
    policy = AcceptancePolicy(ae_title="ARCHIVE", abstract_syntaxes={CT: None, ECHO: (IMPLICIT,)})
    answer = negotiate(_rq(pcs), policy)
    assert answer.accepted
    assert [(c.context_id, c.result, c.transfer_syntax) for c in answer.contexts] == [
        (1, ContextResult.ACCEPTANCE, IMPLICIT),                 # the caller's first that we support
        (3, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED, None),
        (5, ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED, None)]
    ours_first = negotiate(_rq(pcs), AcceptancePolicy(abstract_syntaxes={CT: None}, prefer_proposed_order=False))
    assert ours_first.contexts[0].transfer_syntax == EXPLICIT     # our first that was proposed
    ac = answer.response
    assert isinstance(ac, AssociateAC) and ac.called_ae_title == "ARCHIVE" and ac.calling_ae_title == "MODALITY"
    assert [(p.context_id, p.result) for p in ac.presentation_contexts] == [(1, 0), (3, 3), (5, 4)]
    assert all(p.transfer_syntax for p in ac.presentation_contexts)   # always a syntax sub-item
    assert decode_pdu(ac.encode()) == ac
    # the requestor reads the same outcome from the AC bytes
    assert negotiated_contexts(_rq(pcs), decode_pdu(ac.encode())) == answer.contexts


def test_invalid_or_repeated_context_ids_are_not_answered(caplog):
    pcs = (PresentationContextRQ(1, ECHO, (IMPLICIT,)), PresentationContextRQ(1, ECHO, (IMPLICIT,)),
           PresentationContextRQ(4, ECHO, (IMPLICIT,)))
    rq = AssociateRQ("A", "B", pcs)
    with caplog.at_level(logging.WARNING, logger="pacsnb.net.negotiation"):
        answer = negotiate(rq, AcceptancePolicy())
    assert [c.context_id for c in answer.contexts] == [1] and "repeated" in caplog.text


ROLE_CASES = [
    # requestor's proposal (None: no item), acceptor policy -> (result, requestor scu, scp, answered item)
    (None, (True, False), (0, True, False, None)),
    (None, (True, True), (0, True, False, None)),
    (None, (False, True), (1, False, False, None)),          # policy refuses the default SCU role
    ((True, False), (True, False), (0, True, False, (True, False))),
    ((True, False), (False, True), (1, False, False, (False, False))),
    ((False, True), (True, False), (1, False, False, (False, False))),
    ((False, True), (False, True), (0, False, True, (False, True))),
    ((False, True), (True, True), (0, False, True, (False, True))),   # never 1 for an unproposed role
    ((True, True), (True, False), (0, True, False, (True, False))),
    ((True, True), (False, True), (0, False, True, (False, True))),
    ((True, True), (True, True), (0, True, True, (True, True))),
    ((True, True), (False, False), (1, False, False, (False, False))),
    ((False, False), (True, True), (1, False, False, (False, False))),
]


@pytest.mark.parametrize("proposal, policy_roles, expected", ROLE_CASES)
def test_role_selection(proposal, policy_roles, expected):
    rq = _rq((PresentationContextRQ(1, CT, (IMPLICIT,)),), roles={} if proposal is None else {CT: proposal})
    answer = negotiate(rq, AcceptancePolicy(roles={CT: policy_roles}))
    c = answer.contexts[0]
    assert (int(c.result), c.scu_role, c.scp_role) == expected[:3]
    items = answer.response.user_information.role_selections
    if expected[3] is None:
        assert items == ()              # not proposed: omitted from the response
    else:
        assert items == (RoleSelection(CT, *expected[3]),)
        assert not (items[0].scu_role and not proposal[0]) and not (items[0].scp_role and not proposal[1])
    # the requestor derives the same roles from the bytes of the answer
    if c.accepted:
        assert negotiated_contexts(rq, decode_pdu(answer.response.encode()))[0] == c


def test_requestor_side_role_rules():
    rq = _rq((PresentationContextRQ(1, CT, (IMPLICIT,)),), roles={CT: (False, True)})
    # acceptor without role selection support: default roles
    ac = AssociateAC("A", "B", (PresentationContextAC(1, 0, IMPLICIT),))
    assert negotiated_contexts(rq, ac)[0].scu_role and not negotiated_contexts(rq, ac)[0].scp_role
    # an acceptor answering 1 for a role that was not proposed is ignored
    ac = AssociateAC("A", "B", (PresentationContextAC(1, 0, IMPLICIT),),
                     UserInformation(role_selections=(RoleSelection(CT, True, True),)))
    c = negotiated_contexts(rq, ac)[0]
    assert (c.scu_role, c.scp_role) == (False, True)


def test_requestor_side_odd_answers(caplog):
    rq = _rq((PresentationContextRQ(1, CT, (IMPLICIT,)), PresentationContextRQ(3, MR, (IMPLICIT,)),
              PresentationContextRQ(5, ECHO, (IMPLICIT,))))
    ac = AssociateAC("A", "B", (PresentationContextAC(1, 0, JPEG), PresentationContextAC(5, 9, "")))
    with caplog.at_level(logging.WARNING):
        got = negotiated_contexts(rq, ac)
    assert [(c.context_id, c.result) for c in got] == [(1, 2), (3, 2), (5, 2)]
    assert "not proposed" in caplog.text


def test_extended_negotiation_async_window_and_user_identity():
    QR_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
    rq = _rq(propose([QR_FIND, CT]),
             extended_negotiations=[SOPClassExtendedNegotiation(QR_FIND, b"\x01\x01"),
                                    SOPClassExtendedNegotiation("1.9.9", b"\x01")],
             common_extended_negotiations=[SOPClassCommonExtendedNegotiation(CT, "1.2.840.10008.4.2")],
             async_operations_window=AsyncOperationsWindow(0, 5),
             user_identity=UserIdentityRQ.saml("<assertion/>", positive_response_requested=True))
    seen = []
    policy = AcceptancePolicy(
        extended_negotiation=lambda item: item.info[:1] + b"\x00",
        async_operations_window=AsyncOperationsWindow(2, 2),
        user_identity=lambda ident: seen.append(ident) or b"<response/>")
    ui = negotiate(rq, policy).response.user_information
    assert ui.extended_negotiations == (SOPClassExtendedNegotiation(QR_FIND, b"\x01\x00"),)  # only accepted SOPs
    assert ui.async_operations_window == AsyncOperationsWindow(2, 2)
    assert ui.user_identity == UserIdentityAC(b"<response/>") and seen[0].identity_type == 4
    assert ui.common_extended_negotiations == ()        # request only
    # no positive response requested, or no support: no user identity sub-item; True accepts silently
    rq2 = _rq(propose([ECHO]), user_identity=UserIdentityRQ.username("u"))
    assert negotiate(rq2, AcceptancePolicy(user_identity=lambda i: True)).response.user_information.user_identity is None
    rq3 = _rq(propose([ECHO]), user_identity=UserIdentityRQ.username("u", positive_response_requested=True))
    assert negotiate(rq3, AcceptancePolicy()).response.user_information.user_identity is None
    assert negotiate(rq3, AcceptancePolicy(user_identity=lambda i: None)).response.user_information.user_identity \
        == UserIdentityAC(b"")
    # no window proposed: none answered
    assert negotiate(rq2, policy).response.user_information.async_operations_window is None


def test_find_context():
    rq = _rq(propose([(CT, IMPLICIT), (CT, JPEG)]))
    ctx = negotiate(rq, AcceptancePolicy(abstract_syntaxes={CT: (EXPLICIT, JPEG)})).contexts
    assert [(c.context_id, c.transfer_syntax) for c in ctx] == [(1, EXPLICIT), (3, JPEG)]
    assert find_context(ctx, CT, JPEG).context_id == 3
    assert find_context(ctx, CT, IMPLICIT).transfer_syntax == EXPLICIT      # converted on the way
    assert find_context(ctx, CT, None).context_id == 1
    assert find_context(ctx, CT, JLS) is None and find_context(ctx, MR, IMPLICIT) is None


def test_negotiation_with_the_state_machine():
    scu, scp = StateMachine(), StateMachine()
    rq = _rq(propose([(CT, EXPLICIT)]))
    scu.send_associate_request(rq)
    scp.transport_indication()
    out = [o for o in scu.transport_connected()]
    ind = scp.receive_bytes(out[0].data)[1]
    answer = negotiate(ind.request, AcceptancePolicy(ae_title="ARCHIVE", maximum_length=4096))
    acc = scu.receive_bytes(scp.send_associate_accept(answer.response)[0].data)[0]
    assert negotiated_contexts(rq, acc.response) == answer.contexts
    assert scu.peer_max_length == 4096 and scp.reader.max_pdata_length == 4096


def test_roles_agree_with_pynetdicom():
    """pynetdicom's acceptor gives the same outcomes, seen from the other side.

    Known, deliberate differences: pacsnb answers a turned-down role item with (0, 0) as
    PS3.7 D.3.3.4 says ("turns down the proposal by returning the value (0)") where pynetdicom
    leaves the item out, and pacsnb lets a policy refuse the default SCU role.
    """
    pyn = pytest.importorskip("pynetdicom.presentation")
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    for proposal, policy_roles, expected in ROLE_CASES:
        if proposal is None and not policy_roles[0]:
            continue
        rq_cx = pyn.PresentationContext()
        rq_cx.context_id, rq_cx.abstract_syntax, rq_cx.transfer_syntax = 1, CT, [IMPLICIT]
        ac_cx = pyn.PresentationContext()
        ac_cx.abstract_syntax, ac_cx.transfer_syntax = CT, [IMPLICIT]
        ac_cx.scu_role, ac_cx.scp_role = policy_roles
        res, replies = pyn.negotiate_as_acceptor([rq_cx], [ac_cx], None if proposal is None else {CT: proposal})
        # pynetdicom's as_scu/as_scp are the acceptor's roles: the requestor's, swapped
        assert (res[0].result, res[0].as_scp, res[0].as_scu) == expected[:3], (proposal, policy_roles)
        if expected[0] == 0 and expected[3] is not None:
            assert [(r.scu_role, r.scp_role) for r in replies] == [expected[3]]
