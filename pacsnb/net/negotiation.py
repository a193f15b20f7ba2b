"""Presentation context negotiation (PS3.8 7.1.1.13, PS3.7 Annex D), sans-IO.

Requestor side: :func:`propose` turns what will be sent (SOP classes and the transfer
syntaxes of the files) into presentation contexts, :func:`build_request` wraps them in an
A-ASSOCIATE-RQ with pacsnb's user information, and :func:`negotiated_contexts` reads the
answer. Acceptor side: :func:`negotiate` answers a request by an
:class:`AcceptancePolicy`, with the A-ASSOCIATE-AC (or -RJ) to send and the outcome of
each context, SCP/SCU role selection (PS3.7 D.3.3.4) included.

Roles are always those of the association *requestor*, as in the role selection
sub-items: ``scu_role`` means the requestor may invoke operations (act as SCU) on the
context, ``scp_role`` that it may perform them (act as SCP, e.g. receive C-STORE
sub-operations of a C-GET). The acceptor's roles are the complement.

Examples
--------
>>> from pacsnb.net.negotiation import (propose, build_request, negotiate, AcceptancePolicy,
...                                     negotiated_contexts)
>>> CT, MR = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
>>> contexts = propose([(CT, "1.2.840.10008.1.2"), (CT, "1.2.840.10008.1.2.4.70"),
...                     (MR, "1.2.840.10008.1.2.1")])
>>> [(pc.context_id, pc.abstract_syntax[-3:], pc.transfer_syntaxes) for pc in contexts]
[(1, '1.2', ('1.2.840.10008.1.2', '1.2.840.10008.1.2.1')), (3, '1.2', ('1.2.840.10008.1.2.4.70',)), (5, '1.4', ('1.2.840.10008.1.2.1', '1.2.840.10008.1.2'))]
>>> rq = build_request("ARCHIVE", "PACSNB", contexts, roles={CT: (True, True)})
>>> policy = AcceptancePolicy(ae_title="ARCHIVE", abstract_syntaxes={CT: None},
...                           roles={CT: (True, True)})
>>> answer = negotiate(rq, policy)
>>> [(c.context_id, c.result.name, c.transfer_syntax, c.scu_role, c.scp_role)
...  for c in answer.contexts]
[(1, 'ACCEPTANCE', '1.2.840.10008.1.2', True, True), (3, 'TRANSFER_SYNTAXES_NOT_SUPPORTED', None, False, False), (5, 'ABSTRACT_SYNTAX_NOT_SUPPORTED', None, False, False)]
>>> negotiated_contexts(rq, answer.response) == answer.contexts
True
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from pacsnb.dicom import uid as _uid
from pacsnb.errors import NetworkError
from pacsnb.net.items import (DICOM_APPLICATION_CONTEXT, AsyncOperationsWindow, ContextResult,
                              PresentationContextAC, PresentationContextRQ, RoleSelection,
                              SOPClassCommonExtendedNegotiation, SOPClassExtendedNegotiation,
                              UserIdentityAC, UserIdentityRQ, UserInformation)
from pacsnb.net.pdu import (DEFAULT_MAXIMUM_LENGTH, AssociateAC, AssociateRJ, AssociateRQ,
                            RejectReason, RejectResult, RejectSource)

__all__ = [
    "DEFAULT_TRANSFER_SYNTAXES", "CONVERTIBLE_TRANSFER_SYNTAXES", "propose", "build_request",
    "AcceptancePolicy", "NegotiatedContext", "Negotiated", "negotiate", "negotiated_contexts",
    "find_context",
]

log = logging.getLogger(__name__)

#: Transfer syntaxes every proposal of native data offers, and the acceptor's default.
DEFAULT_TRANSFER_SYNTAXES: tuple[str, ...] = (_uid.ExplicitVRLittleEndian,
                                              _uid.ImplicitVRLittleEndian)
#: Transfer syntaxes pacsnb.io converts between without a codec.
CONVERTIBLE_TRANSFER_SYNTAXES: frozenset[str] = frozenset(_uid.UNCOMPRESSED_TRANSFER_SYNTAXES)

_MAX_CONTEXTS = 128  # odd IDs 1..255


def propose(items: Iterable[str | tuple[str, str | None]], *,
            fallback: Sequence[str] = DEFAULT_TRANSFER_SYNTAXES) -> tuple[PresentationContextRQ, ...]:
    """Presentation contexts for what will be sent.

    Parameters
    ----------
    items
        SOP class UIDs, or ``(sop_class_uid, transfer_syntax_uid)`` pairs (one per file,
        duplicates welcome). A bare SOP class (or a ``None`` transfer syntax) means
        "native data", for commands such as C-ECHO or C-FIND.
    fallback
        Transfer syntaxes added to every native-data context.

    Returns
    -------
    tuple of PresentationContextRQ
        Per SOP class: one context for the native (uncompressed, convertible) transfer
        syntaxes seen, then ``fallback``; one context per other (compressed) transfer
        syntax, proposing it alone, since it cannot be converted without a codec. IDs
        are 1, 3, 5, ... in order of first appearance.

    Raises
    ------
    NetworkError
        More than 128 contexts would be needed (the limit of odd 8-bit IDs).

    Examples
    --------
    >>> from pacsnb.net.negotiation import propose
    >>> [pc.transfer_syntaxes for pc in propose(["1.2.840.10008.1.1"])]
    [('1.2.840.10008.1.2.1', '1.2.840.10008.1.2')]
    """
    groups: dict[tuple[str, str | None], list[str]] = {}
    for item in items:
        sop, ts = (item, None) if isinstance(item, str) else (item[0], item[1])
        if ts is None or ts in CONVERTIBLE_TRANSFER_SYNTAXES:
            seen = groups.setdefault((sop, None), [])
            if ts is not None and ts not in seen:
                seen.append(ts)
        else:
            groups.setdefault((sop, ts), [ts])
    if len(groups) > _MAX_CONTEXTS:
        raise NetworkError(f"{len(groups)} presentation contexts would be needed (one per SOP class "
                           f"and compressed transfer syntax); an association carries at most "
                           f"{_MAX_CONTEXTS}: send in several associations")
    contexts = []
    for n, ((sop, key), syntaxes) in enumerate(groups.items()):
        if key is None:
            syntaxes = list(dict.fromkeys([*syntaxes, *fallback]))
        contexts.append(PresentationContextRQ(2 * n + 1, sop, tuple(syntaxes)))
    return tuple(contexts)


def build_request(called_ae_title: str, calling_ae_title: str,
                  contexts: Sequence[PresentationContextRQ], *,
                  maximum_length: int = DEFAULT_MAXIMUM_LENGTH,
                  roles: Mapping[str, tuple[bool, bool]] | Iterable[RoleSelection] = (),
                  user_identity: UserIdentityRQ | None = None,
                  async_operations_window: AsyncOperationsWindow | None = None,
                  extended_negotiations: Sequence[SOPClassExtendedNegotiation] = (),
                  common_extended_negotiations: Sequence[SOPClassCommonExtendedNegotiation] = (),
                  implementation_class_uid: str = _uid.PACSNB_IMPLEMENTATION_CLASS_UID,
                  implementation_version_name: str | None = None) -> AssociateRQ:
    """An A-ASSOCIATE-RQ with pacsnb's user information.

    Parameters
    ----------
    called_ae_title, calling_ae_title
        The peer's and our AE titles.
    contexts
        From :func:`propose`.
    maximum_length
        The largest P-DATA-TF this side accepts (0: no limit).
    roles
        Role selection: ``{sop_class_uid: (scu_role, scp_role)}`` or
        :class:`~pacsnb.net.RoleSelection` items (e.g. ``(False, True)`` for the storage
        SOP classes of a C-GET).
    user_identity, async_operations_window, extended_negotiations, common_extended_negotiations
        The optional sub-items of PS3.7 Annex D.
    implementation_class_uid, implementation_version_name
        pacsnb's, unless told otherwise.

    Examples
    --------
    >>> from pacsnb.net.negotiation import build_request, propose
    >>> rq = build_request("SCP", "SCU", propose(["1.2.840.10008.1.1"]), maximum_length=16384)
    >>> rq.user_information.maximum_length, rq.user_information.implementation_version_name[:7]
    (16384, 'PACSNB_')
    """
    if isinstance(roles, Mapping):
        role_items = tuple(RoleSelection(sop, bool(scu), bool(scp)) for sop, (scu, scp) in roles.items())
    else:
        role_items = tuple(roles)
    if implementation_version_name is None:
        implementation_version_name = _uid.PACSNB_IMPLEMENTATION_VERSION_NAME
    ui = UserInformation(maximum_length=maximum_length,
                         implementation_class_uid=implementation_class_uid,
                         implementation_version_name=implementation_version_name,
                         async_operations_window=async_operations_window,
                         role_selections=role_items,
                         extended_negotiations=tuple(extended_negotiations),
                         common_extended_negotiations=tuple(common_extended_negotiations),
                         user_identity=user_identity)
    return AssociateRQ(called_ae_title, calling_ae_title, tuple(contexts), ui)


@dataclass(frozen=True, slots=True)
class NegotiatedContext:
    """The outcome of one presentation context.

    ``transfer_syntax`` is ``None`` unless accepted. ``scu_role``/``scp_role`` are the
    requestor's roles (both ``False`` for a rejected context).

    Parameters
    ----------
    context_id
        The presentation context ID (odd, 1 .. 255).
    abstract_syntax
        The abstract syntax UID proposed.
    result
        The :class:`~pacsnb.net.ContextResult`.
    transfer_syntax
        The transfer syntax UID accepted, or ``None``.
    scu_role, scp_role
        The requestor's roles on the context.

    Examples
    --------
    >>> c = NegotiatedContext(1, "1.2.840.10008.1.1", ContextResult.ACCEPTANCE, "1.2.840.10008.1.2")
    >>> c.accepted, c.transfer_syntax
    (True, '1.2.840.10008.1.2')
    >>> NegotiatedContext(3, "1.2.3.4", ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED).accepted
    False
    """

    context_id: int
    abstract_syntax: str
    result: ContextResult
    transfer_syntax: str | None = None
    scu_role: bool = False
    scp_role: bool = False

    @property
    def accepted(self) -> bool:
        """Whether the context was accepted."""
        return self.result == ContextResult.ACCEPTANCE


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What :func:`negotiate` decided: the PDU to send and each context's outcome.

    Parameters
    ----------
    response
        The A-ASSOCIATE-AC or A-ASSOCIATE-RJ to send.
    contexts
        One :class:`NegotiatedContext` per proposed context (empty when rejected).

    Examples
    --------
    >>> policy = AcceptancePolicy(ae_title="ARCHIVE")
    >>> n = negotiate(build_request("ARCHIVE", "CT1", propose(["1.2.840.10008.1.1"])), policy)
    >>> n.accepted, [(c.context_id, c.transfer_syntax) for c in n.contexts]
    (True, [(1, '1.2.840.10008.1.2.1')])
    >>> n = negotiate(build_request("PACS", "CT1", propose(["1.2.840.10008.1.1"])), policy)
    >>> n.accepted, n.contexts, n.response
    (False, (), AssociateRJ(result=<RejectResult.PERMANENT: 1>, source=<RejectSource.SERVICE_USER: 1>, reason=7))
    """

    response: AssociateAC | AssociateRJ
    contexts: tuple[NegotiatedContext, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether the association is accepted (``response`` is an A-ASSOCIATE-AC)."""
        return isinstance(self.response, AssociateAC)


@dataclass(frozen=True, slots=True)
class AcceptancePolicy:
    """What an acceptor agrees to.

    Parameters
    ----------
    ae_title
        The called AE title this acceptor answers to; ``None`` accepts any.
    calling_ae_titles
        The calling AE titles allowed; ``None`` allows any.
    abstract_syntaxes
        ``{sop_class_uid: transfer_syntaxes or None}``: the abstract syntaxes supported,
        each with the transfer syntaxes accepted for it (``None``: ``transfer_syntaxes``).
        ``None`` supports every abstract syntax.
    transfer_syntaxes
        Transfer syntaxes accepted where ``abstract_syntaxes`` says nothing more precise,
        in this side's order of preference.
    prefer_proposed_order
        ``True``: accept the requestor's first proposed transfer syntax that is
        supported; ``False``: the first of ours that was proposed.
    roles
        ``{sop_class_uid: (scu, scp)}``: whether a requestor's proposal to act as SCU,
        resp. as SCP, is accepted. Unlisted SOP classes: ``(True, False)``, the default
        roles. A context on which the requestor would be left with no role is rejected
        (user rejection).
    maximum_length, implementation_class_uid, implementation_version_name
        This side's user information.
    async_operations_window
        Answered (never above what was proposed) when the requestor proposes one;
        ``None`` leaves the sub-item out (synchronous operation).
    extended_negotiation
        ``f(item) -> bytes or None``: the answer to a SOP Class Extended Negotiation
        sub-item, ``None`` to leave it unanswered.
    user_identity
        ``f(item) -> bytes, True, None or False``: ``False`` rejects the association
        (permanent, service-user, no reason given); bytes are the server response sent
        when a positive response is requested. ``None`` (the default policy) ignores
        user identity, as an acceptor that does not support it.

    Examples
    --------
    >>> from pacsnb.net.negotiation import AcceptancePolicy, negotiate, build_request, propose
    >>> policy = AcceptancePolicy(ae_title="ARCHIVE", calling_ae_titles=frozenset({"CT1"}))
    >>> negotiate(build_request("ARCHIVE", "OTHER", propose(["1.2.840.10008.1.1"])), policy).response
    AssociateRJ(result=<RejectResult.PERMANENT: 1>, source=<RejectSource.SERVICE_USER: 1>, reason=3)
    """

    ae_title: str | None = None
    calling_ae_titles: frozenset[str] | None = None
    abstract_syntaxes: Mapping[str, Sequence[str] | None] | None = None
    transfer_syntaxes: tuple[str, ...] = (_uid.ExplicitVRLittleEndian, _uid.ImplicitVRLittleEndian,
                                          _uid.DeflatedExplicitVRLittleEndian,
                                          _uid.ExplicitVRBigEndian)
    prefer_proposed_order: bool = True
    roles: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)
    maximum_length: int = DEFAULT_MAXIMUM_LENGTH
    implementation_class_uid: str = _uid.PACSNB_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str | None = None
    async_operations_window: AsyncOperationsWindow | None = None
    extended_negotiation: Callable[[SOPClassExtendedNegotiation], bytes | None] | None = None
    user_identity: Callable[[UserIdentityRQ], bytes | bool | None] | None = None

    def supported_syntaxes(self, abstract_syntax: str) -> Sequence[str] | None:
        """Transfer syntaxes accepted for an abstract syntax; ``None`` if it is unsupported."""
        if self.abstract_syntaxes is None:
            return self.transfer_syntaxes
        if abstract_syntax not in self.abstract_syntaxes:
            return None
        chosen = self.abstract_syntaxes[abstract_syntax]
        return self.transfer_syntaxes if chosen is None else chosen


def _reject(reason: int) -> Negotiated:
    return Negotiated(AssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_USER, reason))


def _window(proposed: AsyncOperationsWindow, ours: AsyncOperationsWindow) -> AsyncOperationsWindow:
    def one(a: int, b: int) -> int:  # 0 is unlimited
        return b if a == 0 else a if b == 0 else min(a, b)
    return AsyncOperationsWindow(one(proposed.max_operations_invoked, ours.max_operations_invoked),
                                 one(proposed.max_operations_performed, ours.max_operations_performed))


def negotiate(request: AssociateRQ, policy: AcceptancePolicy) -> Negotiated:
    """Answer an A-ASSOCIATE-RQ by a policy.

    The association is rejected (permanent, service-user source) for an application
    context other than DICOM's (reason 2), an unknown called AE title (7), a calling AE
    title not allowed (3) or a user identity the policy refuses (1). Otherwise it is
    accepted, and each presentation context gets its result: acceptance; abstract
    syntax not supported (3); transfer syntaxes not supported (4); user rejection (1)
    when role selection leaves the requestor no role. Role selection sub-items are
    answered exactly when proposed, never with 1 for a role that was not proposed.

    Parameters
    ----------
    request
        The A-ASSOCIATE-RQ received.
    policy
        What this side supports.

    Returns
    -------
    Negotiated
        ``response`` (the A-ASSOCIATE-AC or -RJ to send) and ``contexts``.

    Examples
    --------
    >>> from pacsnb.net.negotiation import AcceptancePolicy, negotiate, build_request, propose
    >>> rq = build_request("ANY", "SCU", propose([("1.2.3", "1.2.840.10008.1.2")]))
    >>> answer = negotiate(rq, AcceptancePolicy(prefer_proposed_order=False))
    >>> answer.accepted, answer.contexts[0].transfer_syntax     # our first choice, proposed too
    (True, '1.2.840.10008.1.2.1')
    """
    if request.application_context_name != DICOM_APPLICATION_CONTEXT:
        return _reject(RejectReason.APPLICATION_CONTEXT_NOT_SUPPORTED)
    if policy.ae_title is not None and request.called_ae_title != policy.ae_title.strip():
        return _reject(RejectReason.CALLED_AE_NOT_RECOGNIZED)
    if policy.calling_ae_titles is not None and request.calling_ae_title not in policy.calling_ae_titles:
        return _reject(RejectReason.CALLING_AE_NOT_RECOGNIZED)
    rui = request.user_information
    identity_answer: UserIdentityAC | None = None
    if policy.user_identity is not None and isinstance(rui.user_identity, UserIdentityRQ):
        verdict = policy.user_identity(rui.user_identity)
        if verdict is False:
            return _reject(RejectReason.NO_REASON)
        if rui.user_identity.positive_response_requested:
            identity_answer = UserIdentityAC(verdict if isinstance(verdict, bytes) else b"")

    # role selection: answer every proposed item (the first per SOP class)
    proposed_roles: dict[str, RoleSelection] = {}
    for r in rui.role_selections:
        proposed_roles.setdefault(r.sop_class_uid, r)
    answered_roles: dict[str, RoleSelection] = {}
    for sop, r in proposed_roles.items():
        ok_scu, ok_scp = policy.roles.get(sop, (True, False))
        answered_roles[sop] = RoleSelection(sop, r.scu_role and ok_scu, r.scp_role and ok_scp)

    contexts: list[NegotiatedContext] = []
    answers: list[PresentationContextAC] = []
    seen_ids: set[int] = set()
    for pc in request.presentation_contexts:
        if not (1 <= pc.context_id <= 255 and pc.context_id % 2) or pc.context_id in seen_ids:
            log.warning("presentation context ID %d from %s is invalid or repeated: not answered",
                        pc.context_id, request.calling_ae_title)
            continue
        seen_ids.add(pc.context_id)
        syntax: str | None = None
        scu = scp = False
        supported = policy.supported_syntaxes(pc.abstract_syntax)
        if supported is None:
            result = ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED
        else:
            if policy.prefer_proposed_order:
                syntax = next((ts for ts in pc.transfer_syntaxes if ts in supported), None)
            else:
                syntax = next((ts for ts in supported if ts in pc.transfer_syntaxes), None)
            if syntax is None:
                result = ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED
            else:
                answer = answered_roles.get(pc.abstract_syntax)
                if answer is None:  # default roles: requestor SCU, acceptor SCP
                    scu, scp = policy.roles.get(pc.abstract_syntax, (True, False))[0], False
                else:
                    scu, scp = answer.scu_role, answer.scp_role
                result = ContextResult.ACCEPTANCE if (scu or scp) else ContextResult.USER_REJECTION
        if result != ContextResult.ACCEPTANCE:
            syntax, scu, scp = None, False, False
        contexts.append(NegotiatedContext(pc.context_id, pc.abstract_syntax, result, syntax, scu, scp))
        answers.append(PresentationContextAC(pc.context_id, result,
                                             syntax if syntax is not None else pc.transfer_syntaxes[0]))

    accepted_sops = {c.abstract_syntax for c in contexts if c.accepted}
    extended = []
    if policy.extended_negotiation is not None:
        for item in rui.extended_negotiations:
            if item.sop_class_uid in accepted_sops:
                info = policy.extended_negotiation(item)
                if info is not None:
                    extended.append(SOPClassExtendedNegotiation(item.sop_class_uid, info))
    window = None
    if rui.async_operations_window is not None and policy.async_operations_window is not None:
        window = _window(rui.async_operations_window, policy.async_operations_window)
    version = policy.implementation_version_name
    if version is None:
        version = _uid.PACSNB_IMPLEMENTATION_VERSION_NAME
    ui = UserInformation(maximum_length=policy.maximum_length,
                         implementation_class_uid=policy.implementation_class_uid,
                         implementation_version_name=version,
                         async_operations_window=window,
                         role_selections=tuple(answered_roles.values()),
                         extended_negotiations=tuple(extended),
                         user_identity=identity_answer)
    ac = AssociateAC(request.called_ae_title, request.calling_ae_title, tuple(answers), ui,
                     request.application_context_name)
    return Negotiated(ac, tuple(contexts))


def negotiated_contexts(request: AssociateRQ, response: AssociateAC) -> tuple[NegotiatedContext, ...]:
    """The requestor's view of the outcome: each proposed context with its answer.

    A context the acceptor did not answer, or accepted with a transfer syntax that was
    not proposed, counts as rejected (result 2, no reason). Roles follow PS3.7 D.3.3.4:
    without an answered role selection item the requestor is SCU only; with one, it has
    each role it proposed and the acceptor accepted.

    Examples
    --------
    >>> from pacsnb.net.negotiation import negotiated_contexts, build_request, propose
    >>> from pacsnb.net.pdu import AssociateAC
    >>> from pacsnb.net.items import PresentationContextAC
    >>> rq = build_request("SCP", "SCU", propose(["1.2.840.10008.1.1"]))
    >>> ac = AssociateAC("SCP", "SCU", [PresentationContextAC(1, 0, "1.2.840.10008.1.2")])
    >>> c = negotiated_contexts(rq, ac)[0]
    >>> c.accepted, c.transfer_syntax, c.scu_role, c.scp_role
    (True, '1.2.840.10008.1.2', True, False)
    """
    answers = {}
    for a in response.presentation_contexts:
        answers.setdefault(a.context_id, a)
    proposed_roles: dict[str, RoleSelection] = {}
    for r in request.user_information.role_selections:
        proposed_roles.setdefault(r.sop_class_uid, r)
    answered_roles: dict[str, RoleSelection] = {}
    for r in response.user_information.role_selections:
        answered_roles.setdefault(r.sop_class_uid, r)
    out = []
    for pc in request.presentation_contexts:
        a = answers.get(pc.context_id)
        if a is None:
            out.append(NegotiatedContext(pc.context_id, pc.abstract_syntax, ContextResult.NO_REASON))
            continue
        try:
            result = ContextResult(a.result)
        except ValueError:
            result = ContextResult.NO_REASON
        if result == ContextResult.ACCEPTANCE and a.transfer_syntax not in pc.transfer_syntaxes:
            log.warning("context %d accepted with transfer syntax %s, which was not proposed: "
                        "treated as rejected", pc.context_id, a.transfer_syntax)
            result = ContextResult.NO_REASON
        if result != ContextResult.ACCEPTANCE:
            out.append(NegotiatedContext(pc.context_id, pc.abstract_syntax, result))
            continue
        p, r = proposed_roles.get(pc.abstract_syntax), answered_roles.get(pc.abstract_syntax)
        if p is None or r is None:
            scu, scp = True, False
        else:
            scu, scp = p.scu_role and r.scu_role, p.scp_role and r.scp_role
        out.append(NegotiatedContext(pc.context_id, pc.abstract_syntax, result, a.transfer_syntax,
                                     scu, scp))
    return tuple(out)


def find_context(contexts: Iterable[NegotiatedContext], abstract_syntax: str,
                 transfer_syntax: str | None = None) -> NegotiatedContext | None:
    """The accepted context to send a data set of ``abstract_syntax`` on.

    An exact transfer syntax match first; else, for native data (``transfer_syntax`` in
    :data:`CONVERTIBLE_TRANSFER_SYNTAXES` or ``None``), a context with a convertible
    transfer syntax (the caller converts when ``context.transfer_syntax`` differs).

    Examples
    --------
    >>> from pacsnb.net.negotiation import NegotiatedContext, find_context
    >>> ctx = [NegotiatedContext(1, "1.2.3", 0, "1.2.840.10008.1.2.1", True, False)]
    >>> find_context(ctx, "1.2.3", "1.2.840.10008.1.2").context_id
    1
    >>> find_context(ctx, "1.2.3", "1.2.840.10008.1.2.4.50") is None
    True
    """
    candidates = [c for c in contexts if c.accepted and c.abstract_syntax == abstract_syntax]
    for c in candidates:
        if transfer_syntax is not None and c.transfer_syntax == transfer_syntax:
            return c
    if transfer_syntax is None or transfer_syntax in CONVERTIBLE_TRANSFER_SYNTAXES:
        for c in candidates:
            if c.transfer_syntax in CONVERTIBLE_TRANSFER_SYNTAXES:
                return c
    return None
