"""DICOM over TLS (pacsnb.net.tls): profiles, server and client authentication, mutual TLS.

The certificates are made for each test session by the ``openssl`` command-line tool (a
throwaway CA, a server and a client certificate, and a client certificate from another CA);
the tests are skipped, saying so, when it is not installed.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

import pacsnb.net as net
from pacsnb.errors import DimseError
from pacsnb.net import loop as L
from pacsnb.net.tls import PROFILES, TLSConfig, describe, make_context, ssl_context
from pacsnb.samples import make_ct_series

CT = "1.2.840.10008.5.1.4.1.1.2"


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate (for 127.0.0.1 and localhost), a client certificate, and a
    rogue CA with a client certificate of its own; PEM files, keys unencrypted."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = folder / "leaf.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for ca in ("ca", "rogue-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=pacsnb test {ca}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=folder)
    for leaf, ca in (("server", "ca"), ("client", "ca"), ("rogue-client", "rogue-ca")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=pacsnb test {leaf}",
                 "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr", cwd=folder)
        _openssl("x509", "-req", "-in", f"{leaf}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", f"{leaf}.pem", cwd=folder)
    return {p.stem: p for p in folder.glob("*.pem")} | {p.name: p for p in folder.glob("*.key")}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        if os.environ.get("PACSNB_REQUIRE_DCMTK") == "1":  # CI installs openssl with dcmtk
            pytest.fail("the openssl command is missing although CI installs it")
        pytest.skip("the openssl command is not installed: no certificates to test TLS with")
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def server_config(pki, **kw) -> TLSConfig:
    return TLSConfig(certfile=pki["server"], keyfile=pki["server.key"], **kw)


def client_config(pki, *, cert: str | None = None, **kw) -> TLSConfig:
    if cert is not None:
        kw.update(certfile=pki[cert], keyfile=pki[f"{cert}.key"])
    return TLSConfig(cafile=pki["ca"], **kw)


class Recorder:
    def __init__(self):
        self.got, self.lock = [], threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.got.append((request.sop_instance_uid, request.dataset.Modality))
        return 0


# --- contexts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_refuses_tls_below_1_2(pki, profile):
    for ctx in (make_context(TLSConfig(profile=profile, peer_cert="ignore")),
                make_context(server_config(pki, profile=profile), server_side=True)):
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
        assert ctx.get_ciphers()
        assert ctx.options & ssl.OP_NO_COMPRESSION


def test_non_downgrading_and_extended_profiles_offer_only_forward_secret_aead_suites():
    for profile in ("bcp195-nd", "bcp195-ex"):
        ctx = make_context(TLSConfig(profile=profile, peer_cert="ignore"))
        for c in ctx.get_ciphers():
            if c["protocol"] == "TLSv1.2":
                assert c["aead"] and c["kea"] in ("kx-ecdhe", "kx-dhe"), (profile, c["name"])
    ex = make_context(TLSConfig(profile="bcp195-ex", peer_cert="ignore"))
    assert all(c["kea"] == "kx-ecdhe" for c in ex.get_ciphers() if c["protocol"] == "TLSv1.2")
    assert any(not c["aead"] for c in make_context(TLSConfig(profile="bcp195", peer_cert="ignore")).get_ciphers())


def test_bad_configurations_are_explained(pki, tmp_path):
    with pytest.raises(net.NetworkError, match="unknown TLS profile 'tls9'"):
        make_context(TLSConfig(profile="tls9"))
    with pytest.raises(net.NetworkError, match="peer_cert must be one of"):
        make_context(TLSConfig(peer_cert="maybe"))
    with pytest.raises(net.NetworkError, match="needs a certificate"):
        net.Server({"C-ECHO": lambda r: 0}, port=0, tls={"cafile": pki["ca"]})
    with pytest.raises(net.NetworkError, match="nothere.pem does not exist"):
        make_context(TLSConfig(certfile=tmp_path / "nothere.pem"), server_side=True)
    with pytest.raises(net.NetworkError, match="cannot load the certificate or key"):
        make_context(TLSConfig(certfile=pki["server"], keyfile=pki["client.key"]), server_side=True)
    with pytest.raises(net.NetworkError, match="unknown TLS setting 'cert'"):
        ssl_context({"cert": "x.pem"}, server_side=False)
    with pytest.raises(net.NetworkError, match="needs the authorities"):
        make_context(server_config(pki, peer_cert="require"), server_side=True)
    with pytest.raises(net.NetworkError, match="tls must be"):
        ssl_context(42, server_side=False)


def test_contexts_verify_as_configured(pki):
    server = make_context(server_config(pki), server_side=True)
    assert server.verify_mode == ssl.CERT_NONE  # no cafile: no client certificate asked
    mutual = make_context(server_config(pki, cafile=pki["ca"]), server_side=True)
    assert mutual.verify_mode == ssl.CERT_REQUIRED
    optional = make_context(server_config(pki, cafile=pki["ca"], peer_cert="verify"), server_side=True)
    assert optional.verify_mode == ssl.CERT_OPTIONAL
    client = make_context(client_config(pki))
    assert client.verify_mode == ssl.CERT_REQUIRED and not client.check_hostname
    assert make_context(client_config(pki, check_hostname=True)).check_hostname


# --- associations over TLS --------------------------------------------------------------------

def test_echo_and_store_over_tls_with_a_verified_server(pki):
    rec = Recorder()

    async def main():
        async with net.Server({"C-ECHO": lambda r: 0, "C-STORE": rec}, port=0, ae_title="TLS",
                              tls=server_config(pki)) as server:
            # a dict of TLSConfig's fields, the host name checked against the certificate
            async with net.connect("127.0.0.1", server.port, called_ae="TLS", contexts=[CT],
                                   tls={"cafile": str(pki["ca"]), "check_hostname": True}) as assoc:
                ssl_object = assoc._conn.transport.get_extra_info("ssl_object")
                return (await assoc.echo(), await assoc.store(make_ct_series(n_slices=3, rows=16, columns=16),
                                                              progress=False), describe(ssl_object))
    echo, statuses, how = run(main())
    assert echo == 0 and statuses == [0, 0, 0] and len(rec.got) == 3
    assert how.startswith(("TLSv1.2", "TLSv1.3"))


def test_a_client_rejects_a_server_it_cannot_verify(pki):
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS", tls=server_config(pki)) as server:
            with pytest.raises(net.NetworkError, match="TLS handshake with 127.0.0.1:.* failed"):
                await net.connect("127.0.0.1", server.port, called_ae="TLS",
                                  tls=TLSConfig(cafile=pki["rogue-ca"]), timeout=10)
            return server.statistics["associations_accepted"]
    assert run(main()) == 0


@pytest.mark.parametrize("profile", ["bcp195-nd", "bcp195", "bcp195-ex"])
def test_mutual_tls_accepts_a_client_certificate_signed_by_the_ca(pki, profile):
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS",
                              tls=server_config(pki, cafile=pki["ca"], profile=profile)) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="TLS",
                                   tls=client_config(pki, cert="client", profile=profile)) as assoc:
                peer = server._connections and next(iter(server._connections)).transport.get_extra_info("peercert")
                return await assoc.echo(), peer
    status, peer = run(main())
    assert status == 0
    assert dict(x[0] for x in peer["subject"])["commonName"] == "pacsnb test client"


@pytest.mark.parametrize("cert", [None, "rogue-client"])
def test_mutual_tls_refuses_a_client_without_a_valid_certificate(pki, cert):
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS",
                              tls=server_config(pki, cafile=pki["ca"])) as server:
            with pytest.raises(net.NetworkError):
                async with net.connect("127.0.0.1", server.port, called_ae="TLS", timeout=10,
                                       tls=client_config(pki, cert=cert)) as assoc:
                    await assoc.echo()
            return server.statistics
    stats = run(main())
    assert stats["associations_accepted"] == 0 and stats["C-ECHO"] == 0


def test_a_plain_tcp_client_gets_nothing_from_a_tls_server(pki):
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS", tls=server_config(pki)) as server:
            with pytest.raises(net.NetworkError):
                await net.connect("127.0.0.1", server.port, called_ae="TLS", timeout=5)
            return server.statistics["associations_accepted"]
    assert run(main()) == 0


def test_a_ready_ssl_context_is_used_as_it_is(pki):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki["server"], pki["server.key"])
    client_ctx = ssl.create_default_context(cafile=str(pki["ca"]))

    async def main():
        server = net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS", tls=server_ctx)
        assert server.tls is server_ctx
        async with server:
            async with net.connect("localhost", server.port, called_ae="TLS", tls=client_ctx) as assoc:
                return await assoc.echo()
    assert run(main()) == 0


def test_cli_tls_flags(pki, tmp_path):
    from pacsnb.cli import build_parser, main
    from pacsnb.cli.net import tls_config
    from pacsnb.net import sync

    args = build_parser().parse_args(["store", "h", "104", "x.dcm", "--cert", "c.pem", "--key", "k.pem",
                                      "+cf", "a.pem", "--ca", "b.pem", "-ic", "+px"])
    cfg = tls_config(args)
    assert (cfg.certfile, cfg.keyfile, cfg.cafile, cfg.peer_cert, cfg.profile) == \
        ("c.pem", "k.pem", ("a.pem", "b.pem"), "ignore", "bcp195")
    assert tls_config(build_parser().parse_args(["echo", "h", "104", "--tls"])) == TLSConfig()
    assert tls_config(build_parser().parse_args(["echo", "h", "104", "-tls"])) is None

    server = sync.start(net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="TLS",
                                   tls=server_config(pki, cafile=pki["ca"])))
    try:
        port = str(server.port)
        ok = main(["echo", "-aec", "TLS", "+tls", str(pki["client.key"]), str(pki["client"]),
                   "+cf", str(pki["ca"]), "127.0.0.1", port])
        no_cert = main(["echo", "-aec", "TLS", "--tls", "--ca", str(pki["ca"]), "-to", "5", "127.0.0.1", port])
        wrong_ca = main(["echo", "-aec", "TLS", "+tls", str(pki["client.key"]), str(pki["client"]),
                         "+cf", str(pki["rogue-ca"]), "-to", "5", "127.0.0.1", port])
        accepted = server.statistics["associations_accepted"]
    finally:
        sync.stop(server)
    assert (ok, no_cert, wrong_ca, accepted) == (0, 1, 1, 1)


# --- C-MOVE over TLS ----------------------------------------------------------------------------

def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_move_to_me_on_a_tls_association_receives_over_tls(pki, tmp_path):
    from pacsnb.net.memory import MemoryQR

    series = make_ct_series(n_slices=3, rows=16, columns=16)
    study = str(series[0].StudyInstanceUID)
    port = _free_port()

    async def main():
        # the QR node reaches move destinations over TLS (its certificate: mutual TLS)
        async with net.Server(MemoryQR(series).handlers(), port=0, ae_title="QR", tls=server_config(pki),
                              destinations={"WS": ("127.0.0.1", port)},
                              destination_tls=client_config(pki, cert="server")) as qr, \
                net.Server(MemoryQR(series).handlers(), port=0, ae_title="PLAIN",
                           destinations={"WS": ("127.0.0.1", port)}) as plain:
            # our association names our certificate: the temporary storage SCP uses it
            async with net.connect("127.0.0.1", qr.port, ae_title="WS", called_ae="QR",
                                   tls=client_config(pki, cert="client"), timeout=10) as pacs:
                done = await pacs.move("ME", "STUDY", into=tmp_path / "tls", port=port, host="127.0.0.1",
                                       progress=False, StudyInstanceUID=study)
            # a node moving in plain TCP cannot deliver to it: there is no plain fallback
            async with net.connect("127.0.0.1", plain.port, ae_title="WS", called_ae="PLAIN", timeout=10) as p:
                with pytest.raises(DimseError) as refused:
                    await p.move("ME", "STUDY", into=tmp_path / "plain", port=port, host="127.0.0.1",
                                 tls=server_config(pki, cafile=pki["ca"]), progress=False, StudyInstanceUID=study)
            return done, refused.value
    done, refused = run(main(), timeout=60)
    assert (done.status, done.completed, done.received) == (0, 3, 3)
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == sorted(f"{d.SOPInstanceUID}.dcm" for d in series)
    assert refused.status == 0xA702 and (refused.result.completed, refused.result.failed) == (0, 3)
    assert not (tmp_path / "plain").exists() or list((tmp_path / "plain").iterdir()) == []


def test_move_to_me_never_falls_back_to_plain_tcp_silently(pki, tmp_path):
    from pacsnb.net.memory import MemoryQR

    series = make_ct_series(n_slices=2, rows=16, columns=16)
    port = _free_port()

    async def main():
        async with net.Server(MemoryQR(series).handlers(), port=0, ae_title="QR", tls=server_config(pki),
                              destinations={"WS": ("127.0.0.1", port)}) as qr:
            # a TLS association without our certificate: the receiver needs one, or tls=False
            async with net.connect("127.0.0.1", qr.port, ae_title="WS", called_ae="QR",
                                   tls=client_config(pki), timeout=10) as pacs:
                with pytest.raises(net.NetworkError, match="over TLS.*tls=False"):
                    await pacs.move("ME", "STUDY", into=tmp_path / "x", port=port, host="127.0.0.1",
                                    progress=False, StudyInstanceUID=series[0].StudyInstanceUID)
                assert not (tmp_path / "x").exists()
                # said explicitly: plain TCP (the QR node moves in plain TCP here)
                return await pacs.move("ME", "STUDY", into=tmp_path / "y", port=port, host="127.0.0.1",
                                       tls=False, progress=False, StudyInstanceUID=series[0].StudyInstanceUID)
    done = run(main(), timeout=60)
    assert (done.status, done.completed, done.received) == (0, 2, 2)


def test_a_tls_pacs_moves_to_its_peers_over_tls(pki, tmp_path):
    from pacsnb.services import serve

    rec = Recorder()
    series = make_ct_series(n_slices=2, rows=16, columns=16)
    tls = {"certfile": str(pki["server"]), "keyfile": str(pki["server.key"]), "cafile": str(pki["ca"])}

    async def main():
        # the destination accepts TLS only, with client certificates signed by the CA
        async with net.Server({"C-STORE": rec}, port=0, ae_title="WS",
                              tls=server_config(pki, cafile=pki["ca"])) as ws:
            pacs = await serve(tmp_path / "arc", port=0, ae_title="PACS", tls=tls, peers={"WS": ("127.0.0.1", ws.port)},
                               mpps=False, commitment=False, worklist=None)
            try:
                async with net.connect("127.0.0.1", pacs.port, ae_title="WS", called_ae="PACS",
                                       tls=client_config(pki, cert="client"), timeout=10) as a:
                    assert await a.store(series, progress=False) == [0, 0]
                    return await a.move("WS", "STUDY", progress=False, StudyInstanceUID=series[0].StudyInstanceUID)
            finally:
                await pacs.stop()
    done = run(main(), timeout=60)
    assert (done.status, done.completed) == (0, 2)
    assert sorted(uid for uid, _ in rec.got) == sorted(str(d.SOPInstanceUID) for d in series)
