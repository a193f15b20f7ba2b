"""User identity negotiation: connect(identity=...) sends it, Server(identity=...) checks it and
answers the positive response when asked; handlers see who called."""
from __future__ import annotations

import asyncio
import threading

import pytest

import pacsnb.net as net
from pacsnb.net import UserIdentityRQ, UserIdentityType
from pacsnb.net import loop as L

USERS = {"alice": "s3cret"}


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def policy(ident: UserIdentityRQ):
    """Username+passcode against USERS; a JWT 'good.token.x' gets a server response; else refuse."""
    if ident.identity_type == UserIdentityType.USERNAME_AND_PASSCODE:
        return USERS.get(ident.primary_field.decode()) == ident.secondary_field.decode()
    if ident.identity_type == UserIdentityType.JWT:
        return b"session-42" if ident.primary_field == b"good.token.x" else False
    if ident.identity_type in (UserIdentityType.KERBEROS, UserIdentityType.SAML):
        return ident.primary_field.startswith(b"ok")
    return ident.identity_type == UserIdentityType.USERNAME


async def _try(identity, seen):
    def on_echo(request):
        seen.append(request.association.identity)
        return 0
    async with net.Server({"C-ECHO": on_echo}, port=0, ae_title="SCP", identity=policy) as server:
        async with net.connect("127.0.0.1", server.port, called_ae="SCP", identity=identity, timeout=10,
                               contexts=["1.2.840.10008.1.1"]) as assoc:
            return await assoc.echo(), assoc.identity_response


@pytest.mark.parametrize("identity, response", [
    (("alice", "s3cret"), None),                                     # no positive response asked
    ({"username": "alice", "passcode": "s3cret", "positive_response": True}, b""),
    ("bob", None),
    ({"jwt": "good.token.x", "positive_response": True}, b"session-42"),
    ({"kerberos": b"ok-ticket", "positive_response": True}, b""),
    (UserIdentityRQ.saml("ok<assertion/>", positive_response_requested=True), b""),
])
def test_accepted_identities(identity, response):
    seen = []
    status, answer = run(_try(identity, seen))
    assert status == 0 and answer == response
    assert seen[0] is not None and seen[0].primary_field.decode().startswith(
        ("alice", "bob", "good", "ok"))


@pytest.mark.parametrize("identity", [("alice", "wrong"), {"jwt": "bad.token.x"}, {"kerberos": b"no"}])
def test_refused_identities_reject_the_association(identity):
    with pytest.raises(net.AssociationRejected) as err:
        run(_try(identity, []))
    assert err.value.reason == 1 and err.value.result == 1  # permanent, no reason given


def test_bad_identity_argument():
    with pytest.raises(net.NetworkError, match="identity must be"):
        run(_try({"jwt": "x", "saml": "y"}, []))


def test_server_without_policy_ignores_identity():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", timeout=10,
                                   identity={"jwt": "anything", "positive_response": True},
                                   contexts=["1.2.840.10008.1.1"]) as assoc:
                return await assoc.echo(), assoc.identity_response
    assert run(main()) == (0, None)
