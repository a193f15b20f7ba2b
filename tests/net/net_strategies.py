"""Hypothesis strategies and small builders shared by the tests of pacsnb.net."""
from __future__ import annotations

from hypothesis import strategies as st

from pacsnb.net import (Abort, AssociateAC, AssociateRJ, AssociateRQ, AsyncOperationsWindow,
                        PDataTF, PDV, PresentationContextAC, PresentationContextRQ, ReleaseRP,
                        ReleaseRQ, RoleSelection, SOPClassCommonExtendedNegotiation,
                        SOPClassExtendedNegotiation, UnknownSubItem, UserIdentityAC, UserIdentityRQ,
                        UserInformation)

_component = st.integers(0, 10**8).map(str)
uids = st.lists(_component, min_size=2, max_size=9).map(".".join).filter(lambda u: len(u) <= 64)
_ae_chars = "".join(chr(c) for c in range(0x20, 0x7F) if c != 0x5C)
ae_titles = st.text(alphabet=_ae_chars, min_size=1, max_size=16).map(lambda s: s.strip(" ")).filter(bool)
small_bytes = st.binary(max_size=64)
u16 = st.integers(0, 0xFFFF)
context_ids = st.integers(0, 127).map(lambda n: 2 * n + 1)


@st.composite
def context_rqs(draw, context_id=None):
    return PresentationContextRQ(draw(context_ids) if context_id is None else context_id, draw(uids),
                                 tuple(draw(st.lists(uids, min_size=1, max_size=4))))


@st.composite
def context_acs(draw, context_id=None):
    result = draw(st.integers(0, 4))
    ts = draw(uids) if result == 0 else draw(st.one_of(uids, st.just("")))
    return PresentationContextAC(draw(context_ids) if context_id is None else context_id, result, ts)


roles = st.builds(RoleSelection, uids, st.booleans(), st.booleans())
extended = st.builds(SOPClassExtendedNegotiation, uids, small_bytes)
common = st.builds(SOPClassCommonExtendedNegotiation, uids, uids,
                   st.lists(uids, max_size=3).map(tuple))
identity_rq = st.builds(UserIdentityRQ, st.integers(1, 5), small_bytes, small_bytes, st.booleans())
identity_ac = st.builds(UserIdentityAC, small_bytes)
unknown = st.builds(UnknownSubItem, st.integers(0, 255).filter(lambda t: not 0x51 <= t <= 0x59),
                    small_bytes, st.integers(0, 255))
version_names = st.text(alphabet=_ae_chars, min_size=1, max_size=16).map(
    lambda s: s.rstrip(" ")).filter(bool)


@st.composite
def user_informations(draw, identity=identity_rq):
    return UserInformation(
        maximum_length=draw(st.one_of(st.none(), st.integers(0, 0xFFFFFFFF))),
        implementation_class_uid=draw(st.one_of(st.none(), uids)),
        implementation_version_name=draw(st.one_of(st.none(), version_names)),
        async_operations_window=draw(st.one_of(st.none(), st.builds(AsyncOperationsWindow, u16, u16))),
        role_selections=tuple(draw(st.lists(roles, max_size=3))),
        extended_negotiations=tuple(draw(st.lists(extended, max_size=2))),
        common_extended_negotiations=tuple(draw(st.lists(common, max_size=2))),
        user_identity=draw(st.one_of(st.none(), identity)),
        unknown_items=tuple(draw(st.lists(unknown, max_size=2))),
    )


@st.composite
def associate_rqs(draw):
    n = draw(st.integers(1, 5))
    ids = draw(st.lists(context_ids, min_size=n, max_size=n, unique=True))
    return AssociateRQ(draw(ae_titles), draw(ae_titles), tuple(draw(context_rqs(i)) for i in ids),
                       draw(user_informations()), draw(uids), draw(u16))


@st.composite
def associate_acs(draw):
    n = draw(st.integers(0, 5))
    ids = draw(st.lists(context_ids, min_size=n, max_size=n, unique=True))
    return AssociateAC(draw(ae_titles), draw(ae_titles), tuple(draw(context_acs(i)) for i in ids),
                       draw(user_informations(identity_ac)), draw(uids), draw(u16))


pdvs = st.builds(PDV, st.integers(0, 255), small_bytes, st.booleans(), st.booleans())
pdata = st.lists(pdvs, min_size=1, max_size=4).map(lambda v: PDataTF(tuple(v)))
byte = st.integers(0, 255)
pdus = st.one_of(associate_rqs(), associate_acs(), st.builds(AssociateRJ, byte, byte, byte), pdata,
                 st.just(ReleaseRQ()), st.just(ReleaseRP()), st.builds(Abort, byte, byte))
