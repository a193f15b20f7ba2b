"""DICOM over TLS against dcmtk (built with OpenSSL on Debian): echoscu and storescu with
``+tls key cert +cf ca`` against our TLS Server, and our SCU against ``storescp +tls``;
mutual TLS both ways, and the refusals. Also: our SCU proposes an asynchronous operations
window and dcmtk, which grants none, still gets one operation at a time.

Certificates come from the ``openssl`` tool (tests/net/test_tls.py's ``make_pki``). Every
process started is stopped in a ``finally``; everything is on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.net import sync
from pacsnb.net.tls import TLSConfig
from pacsnb.samples import make_ct_series

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))
from test_tls import make_pki  # noqa: E402

import peers  # noqa: E402
from peers import free_port, peer_process, run_tool, stop_service_loop  # noqa: E402, F401 (an autouse fixture)

TOOLS = ("echoscu", "storescu", "storescp")
HAVE_DCMTK = peers.have_tools(*TOOLS)
needs_dcmtk = peers.needs_dcmtk(*TOOLS)
TIMEOUT = 30
_run = partial(run_tool, timeout=TIMEOUT)
CT = "1.2.840.10008.5.1.4.1.1.2"


def _dcmtk_has_tls() -> bool:
    try:
        out = subprocess.run(["storescp", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--enable-tls" in out.stdout + out.stderr


pytestmark = [needs_dcmtk]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        if peers.REQUIRE_DCMTK:  # CI installs openssl with dcmtk
            pytest.fail("the openssl command is missing although CI installs it")
        pytest.skip("the openssl command is not installed: no certificates to test TLS with")
    if HAVE_DCMTK and not _dcmtk_has_tls():
        pytest.skip("this dcmtk was built without OpenSSL (storescp --help lists no --enable-tls)")
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ct")
    paths = []
    for i, ds in enumerate(make_ct_series(n_slices=4, rows=32, columns=32, seed=3)):
        paths.append(d / f"{i}.dcm")
        pacsnb.write(ds, paths[-1])
    return paths


def _tls(pki, who: str) -> list:
    return ["+tls", pki[f"{who}.key"], pki[who], "-pw", "+cf", pki["ca"]]


def _server(pki, handlers, **kw):
    tls = TLSConfig(certfile=pki["server"], keyfile=pki["server.key"], cafile=pki["ca"])  # mutual TLS
    return sync.start(net.Server(handlers, port=0, ae_title="PACSNB", tls=tls, **kw))


# --- dcmtk SCUs against our TLS Server -------------------------------------------------------------

def test_echoscu_and_storescu_over_mutual_tls(pki, files):
    got = []
    server = _server(pki, {"C-ECHO": lambda r: 0, "C-STORE": lambda r: got.append(r.sop_instance_uid) or 0})
    try:
        port = str(server.port)
        echo = _run(["echoscu", *_tls(pki, "client"), "-aec", "PACSNB", "127.0.0.1", port])
        assert echo.returncode == 0, echo.stderr
        store = _run(["storescu", *_tls(pki, "client"), "-aec", "PACSNB", "127.0.0.1", port, *files])
        assert store.returncode == 0, store.stderr
        for profile in ("+px", "+pz"):
            again = _run(["echoscu", *_tls(pki, "client"), profile, "-aec", "PACSNB", "127.0.0.1", port])
            assert again.returncode == 0, (profile, again.stderr)
        stats = server.statistics
    finally:
        sync.stop(server)
    assert sorted(got) == sorted(str(pacsnb.read(f).SOPInstanceUID) for f in files)
    assert stats["associations_accepted"] == 4 and stats["C-ECHO"] == 3


def test_our_mutual_tls_server_refuses_dcmtk_with_a_foreign_certificate_or_none(pki):
    server = _server(pki, {"C-ECHO": lambda r: 0})
    try:
        port = str(server.port)
        rogue = _run(["echoscu", "+tls", pki["rogue-client.key"], pki["rogue-client"], "-pw", "+cf", pki["ca"],
                      "-aec", "PACSNB", "127.0.0.1", port])
        plain = _run(["echoscu", "-to", "5", "-aec", "PACSNB", "127.0.0.1", port])
        stats = server.statistics
    finally:
        sync.stop(server)
    assert rogue.returncode != 0 and plain.returncode != 0
    assert stats["associations_accepted"] == 0


# --- our SCU against dcmtk's storescp +tls ---------------------------------------------------------

@contextmanager
def store_scp(pki, out: Path, *extra: str):
    """dcmtk's storescp with TLS (requiring a client certificate, its default), running while
    the context lasts; gives its port."""
    port = free_port()
    with peer_process(["storescp", *_tls(pki, "server"), *extra, "-aet", "STORESCP", "-od", out, port], port,
                      TIMEOUT):
        yield port


@pytest.mark.parametrize("profile, flag", [("bcp195-nd", "+py"), ("bcp195", "+px"), ("bcp195-ex", "+pz")])
def test_our_scu_stores_to_storescp_over_mutual_tls(pki, files, tmp_path, profile, flag):
    tls = TLSConfig(certfile=pki["client"], keyfile=pki["client.key"], cafile=pki["ca"], profile=profile)

    async def session(port):
        async with net.connect("127.0.0.1", port, called_ae="STORESCP", contexts=files, tls=tls) as assoc:
            return await assoc.echo(), await assoc.store(files, progress=False), \
                assoc._conn.transport.get_extra_info("ssl_object").version()
    with store_scp(pki, tmp_path, flag) as port:
        echo, statuses, version = asyncio.run(asyncio.wait_for(session(port), TIMEOUT))
    assert echo == 0 and statuses == [0] * len(files)
    assert version in ("TLSv1.2", "TLSv1.3")
    received = sorted(str(pacsnb.read(f).SOPInstanceUID) for f in tmp_path.iterdir())
    assert received == sorted(str(pacsnb.read(f).SOPInstanceUID) for f in files)


def test_storescp_refuses_our_scu_without_a_client_certificate(pki, tmp_path):
    async def session(port):
        async with net.connect("127.0.0.1", port, called_ae="STORESCP", contexts=[CT], timeout=10,
                               tls=TLSConfig(cafile=pki["ca"])) as assoc:
            return await assoc.echo()
    with store_scp(pki, tmp_path) as port:
        with pytest.raises(net.NetworkError):
            asyncio.run(asyncio.wait_for(session(port), TIMEOUT))


def test_our_scu_refuses_a_storescp_whose_certificate_it_cannot_verify(pki, tmp_path):
    tls = TLSConfig(certfile=pki["client"], keyfile=pki["client.key"], cafile=pki["rogue-ca"])

    async def session(port):
        await net.connect("127.0.0.1", port, called_ae="STORESCP", tls=tls, timeout=10)
    with store_scp(pki, tmp_path) as port:
        with pytest.raises(net.NetworkError, match="TLS handshake"):
            asyncio.run(asyncio.wait_for(session(port), TIMEOUT))


# --- the asynchronous operations window with dcmtk -------------------------------------------------

def test_dcmtk_grants_no_window_and_store_goes_one_at_a_time(files, tmp_path):
    port = free_port()
    with peer_process(["storescp", "-aet", "STORESCP", "-od", tmp_path, port], port, TIMEOUT):
        async def session():
            async with net.connect("127.0.0.1", port, called_ae="STORESCP", contexts=files) as assoc:
                return (assoc.request.user_information.async_operations_window is not None,
                        assoc.max_operations, await assoc.store(files, progress=False))
        proposed, window, statuses = asyncio.run(asyncio.wait_for(session(), TIMEOUT))
    assert proposed and window == 1 and statuses == [0] * len(files)
    assert len(list(tmp_path.iterdir())) == len(files)


def test_cli_echo_and_store_with_dcmtk_tls_flags(pki, files, tmp_path):
    from pacsnb.cli import main
    got = []
    server = _server(pki, {"C-ECHO": lambda r: 0, "C-STORE": lambda r: got.append(1) or 0})
    try:
        port = str(server.port)
        flags = ["+tls", str(pki["client.key"]), str(pki["client"]), "+cf", str(pki["ca"])]
        assert main(["echo", "-aec", "PACSNB", *flags, "127.0.0.1", port]) == 0
        assert main(["store", "-aec", "PACSNB", "--no-progress", "--key", str(pki["client.key"]),
                     "--cert", str(pki["client"]), "--ca", str(pki["ca"]), "127.0.0.1", port,
                     *map(str, files)]) == 0
        assert main(["echo", "-aec", "PACSNB", "--tls", "--ca", str(pki["ca"]), "-to", "5", "127.0.0.1", port]) == 1
    finally:
        sync.stop(server)
    assert len(got) == len(files)


def test_cli_find_and_get_over_mutual_tls(pki, tmp_path, capsys):
    from pacsnb.cli import main
    from pacsnb.net.memory import MemoryQR
    series = make_ct_series(n_slices=2, rows=8, columns=8, seed=5)
    server = _server(pki, MemoryQR(series).handlers())
    try:
        port = str(server.port)
        flags = ["+tls", str(pki["client.key"]), str(pki["client"]), "+cf", str(pki["ca"])]
        capsys.readouterr()
        assert main(["find", "-aec", "PACSNB", *flags, "-S", "-k", "0008,0052=STUDY", "-k", "PatientID",
                     "127.0.0.1", port]) == 0
        found = capsys.readouterr().out
        assert main(["get", "-aec", "PACSNB", *flags, "-od", str(tmp_path), "--no-progress",
                     "-k", f"StudyInstanceUID={series[0].StudyInstanceUID}", "127.0.0.1", port]) == 0
        # without TLS the server (TLS only) cannot be queried
        plain = main(["find", "-aec", "PACSNB", "-to", "5", "-k", "PatientID", "127.0.0.1", port])
        stats = server.statistics
    finally:
        sync.stop(server)
    assert str(series[0].PatientID) in found and str(series[0].StudyInstanceUID) in found
    assert plain == 1
    assert sorted(str(pacsnb.read(f).SOPInstanceUID) for f in tmp_path.rglob("*.dcm")) == \
        sorted(str(ds.SOPInstanceUID) for ds in series)
    assert stats["C-FIND"] == 1 and stats["C-GET"] == 1


def test_cli_storescp_with_tls_receives_from_dcmtk_storescu(pki, files, tmp_path):
    from pacsnb.cli import build_parser
    from pacsnb.cli.net import storescp_server
    args = build_parser().parse_args(["storescp", "0", "--bind", "127.0.0.1", "-od", str(tmp_path),
                                      "+tls", str(pki["server.key"]), str(pki["server"]), "+cf", str(pki["ca"])])
    server = sync.start(storescp_server(args))
    try:
        store = _run(["storescu", *_tls(pki, "client"), "-aec", "STORESCP", "127.0.0.1", str(server.port), *files])
        refused = _run(["storescu", "+tls", pki["rogue-client.key"], pki["rogue-client"], "-pw", "+cf", pki["ca"],
                        "-aec", "STORESCP", "127.0.0.1", str(server.port), files[0]])
    finally:
        sync.stop(server)
    assert store.returncode == 0, store.stderr
    assert refused.returncode != 0
    assert len(list(tmp_path.glob("*.dcm"))) == len(files)
