"""Our SCU against our SCP over real sockets on 127.0.0.1: echo, store, find, N-services,
negotiation checks, limits, timeouts, graceful shutdown, statistics, the sync facade."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.io import encode_dataset, read_bytes
from pacsnb.net import dimse as D
from pacsnb.net import loop as L
from pacsnb.net import sync
from pacsnb.net.scu import _file_info
from pacsnb.samples import make_ct_series

from peers import run, stop_service_loop  # noqa: F401 (an autouse fixture)

DATA = Path(__file__).resolve().parents[2] / "data"
CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
RLE = "1.2.840.10008.1.2.5"


class Recorder:
    """C-STORE handler keeping what it got."""

    def __init__(self, status=0, save_to=None):
        self.status, self.save_to, self.got = status, save_to, []

    def __call__(self, request):
        self.got.append((request.command, request.transfer_syntax, request.data_bytes(),
                         threading.current_thread().name))
        if self.save_to is not None:
            request.save(Path(self.save_to) / f"{request.sop_instance_uid}.dcm")
        return self.status


def _series(n=3):
    return make_ct_series(n_slices=n, rows=16, columns=16, seed=1)


# --- C-ECHO ----------------------------------------------------------------------------------

def test_echo_and_statistics():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="ECHO") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="ECHO") as assoc:
                statuses = [await assoc.echo() for _ in range(5)]
                assert assoc.is_established and assoc.max_pdu_length == net.DEFAULT_MAXIMUM_LENGTH
                stats = server.statistics
            await asyncio.sleep(0.05)
            return statuses, stats, server.statistics
    statuses, during, after = run(main())
    assert statuses == [0] * 5
    assert during["associations_active"] == 1 and during["C-ECHO"] == 5
    assert after["associations_active"] == 0 and after["associations_released"] == 1
    assert after["bytes_received"] > 0 and after["bytes_sent"] > 0 and after["responses_sent"] == 5


def test_echo_handler_status_and_async_handler():
    async def handler(request):
        await asyncio.sleep(0)
        assert threading.current_thread().name == L.THREAD_NAME
        return 0x0110

    async def main():
        async with net.Server({"C-ECHO": handler}, port=0, ae_title="E") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="E") as assoc:
                return await assoc.echo()
    assert run(main()) == 0x0110


def test_tcp_nodelay_on_both_ends():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="E") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="E") as assoc:
                await assoc.echo()
                ours = assoc._conn.transport.get_extra_info("socket")
                theirs = next(iter(server._connections)).transport.get_extra_info("socket")
                return [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in (ours, theirs)]
    assert all(run(main()))


# --- C-STORE ---------------------------------------------------------------------------------

def test_store_datasets_and_save(tmp_path):
    rec = Recorder(save_to=tmp_path)
    series = _series()

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="STORE") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="STORE", contexts=[CT]) as assoc:
                return await assoc.store(series, progress=False)
    assert run(main()) == [0, 0, 0]
    assert [c.affected_sop_instance_uid for c, *_ in rec.got] == [ds.SOPInstanceUID for ds in series]
    assert all(thread != L.THREAD_NAME for *_, thread in rec.got)  # sync handlers run in a worker thread
    for ds, (cmd, ts, data, _) in zip(series, rec.got):
        assert ts == EXPLICIT and data == encode_dataset(ds, EXPLICIT)
        back = pacsnb.read(tmp_path / f"{ds.SOPInstanceUID}.dcm")
        assert back.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert back.file_meta.TransferSyntaxUID == EXPLICIT
        assert back.file_meta.SourceApplicationEntityTitle == "PACSNB"
        assert (back.pixel_array == ds.pixel_array).all() and back.PatientName == ds.PatientName


def test_store_files_streams_the_data_set_as_it_is(tmp_path):
    files = sorted((DATA / "ct_small").glob("*.dcm")) + [DATA / "ct_implicit_le.dcm", DATA / "ct_deflated.dcm",
                                                        DATA / "ct_explicit_be.dcm", DATA / "mr_small.dcm"]
    rec = Recorder()

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="STORE") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="STORE", contexts=files) as assoc:
                return await assoc.store(files)  # with a progress bar
    assert run(main()) == [0] * len(files)
    for path, (cmd, ts, data, _) in zip(files, rec.got):
        info = _file_info(str(path))
        assert ts == info.transfer_syntax  # the first proposed, which is the file's own
        assert data == path.read_bytes()[info.offset:]


def test_store_a_folder_and_a_single_path(tmp_path):
    rec = Recorder()

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="STORE") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="STORE",
                                   contexts=[DATA / "ct_small"]) as assoc:
                many = await assoc.store(DATA / "ct_small", progress=False)
                one = await assoc.store(str(DATA / "ct_small" / "00001.dcm"))
                return many, one
    many, one = run(main())
    assert many == [0] * 5 and one == 0


def test_store_converts_when_the_file_syntax_was_not_accepted():
    rec = Recorder()
    path = DATA / "ct_implicit_le.dcm"

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="S") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S",
                                   contexts=[net.PresentationContextRQ(1, CT, (EXPLICIT,))]) as assoc:
                return await assoc.store(path)
    assert run(main()) == 0
    cmd, ts, data, _ = rec.got[0]
    assert ts == EXPLICIT
    assert read_bytes(data, transfer_syntax=EXPLICIT).PatientName == pacsnb.read(path).PatientName


def test_compressed_data_passes_through_and_missing_contexts_are_reported(tmp_path, caplog):
    ds = pacsnb.read(DATA / "ct_explicit_le.dcm")
    from pacsnb.io.encaps import set_encapsulated_pixel_data
    set_encapsulated_pixel_data(ds, [b"\x01\x02fake-rle-frame\x00"], RLE)
    path = tmp_path / "rle.dcm"
    pacsnb.write(ds, path, RLE)
    rec = Recorder(save_to=tmp_path / "in")

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="S") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[path]) as assoc:
                ok = await assoc.store(path)
                mr = await assoc.store(DATA / "mr_small.dcm")  # MR was not proposed
                return ok, mr
    ok, mr = run(main())
    assert ok == 0 and mr == D.Status.SOP_CLASS_NOT_SUPPORTED
    assert "no accepted presentation context" in caplog.text
    info = _file_info(str(path))
    assert rec.got[0][1] == RLE and rec.got[0][2] == path.read_bytes()[info.offset:]
    saved = tmp_path / "in" / f"{ds.SOPInstanceUID}.dcm"
    assert saved.read_bytes()[_file_info(str(saved)).offset:] == path.read_bytes()[info.offset:]


def test_large_store_is_spooled_and_pdus_honour_the_peer_maximum(tmp_path):
    ds = _series(1)[0]
    import numpy as np
    ds.Rows, ds.Columns = 512, 1024
    ds.PixelData = np.arange(512 * 1024, dtype=np.uint16).tobytes()
    expected = encode_dataset(ds, EXPLICIT)
    seen = {}

    def handler(request):
        seen["spooled"] = not isinstance(request.data, (bytes, bytearray))
        seen["rolled"] = getattr(request.data, "_rolled", None)
        seen["ok"] = request.data_bytes() == expected
        request.save(tmp_path / "big.dcm")
        return 0

    async def main():
        async with net.Server({"C-STORE": handler}, port=0, ae_title="S", maximum_length=16384,
                              spool_threshold=64 << 10, spool_dir=tmp_path) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                assert assoc.max_pdu_length == 16384
                return await assoc.store(ds)
    assert run(main(), 60) == 0
    assert seen == {"spooled": True, "rolled": True, "ok": True}
    saved = tmp_path / "big.dcm"
    assert saved.read_bytes()[_file_info(str(saved)).offset:] == expected
    assert pacsnb.read(saved).Rows == 512
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp")]  # spool files removed


def test_handler_failures_become_statuses():
    def broken(request):
        raise RuntimeError("disk on fire")

    def warning(request):
        return request.command.response(0xB000, error_comment="coerced")

    async def main():
        out = []
        for handler in (broken, warning, lambda r: 0xA700):
            async with net.Server({"C-STORE": handler}, port=0, ae_title="S") as server:
                async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT]) as assoc:
                    out.append(await assoc.store(_series(1)[0]))
                out.append(server.statistics["failures"])
        return out
    assert run(main()) == [0xC000, 1, 0xB000, 0, 0xA700, 1]


# --- negotiation, limits ---------------------------------------------------------------------

def test_called_ae_calling_ae_and_unsupported_contexts():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP",
                              calling_ae_titles=["FRIEND"]) as server:
            with pytest.raises(net.AssociationRejected, match="does not answer to 'NOPE'") as e1:
                await net.connect("127.0.0.1", server.port, called_ae="NOPE", ae_title="FRIEND")
            with pytest.raises(net.AssociationRejected, match="does not accept associations from 'STRANGER'"):
                await net.connect("127.0.0.1", server.port, called_ae="SCP", ae_title="STRANGER")
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", ae_title="FRIEND",
                                   contexts=[net.PresentationContextRQ(1, CT, (EXPLICIT,))]) as assoc:
                assert not assoc.accepted_contexts
                assert assoc.contexts[0].result == net.ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED
                with pytest.raises(net.NetworkError, match="did not accept the Verification SOP Class"):
                    await assoc.echo()
            return e1.value.reason, server.statistics["associations_rejected"]
    assert run(main()) == (7, 2)


def test_any_called_ae_when_not_required():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP", require_called_ae=False) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="WHATEVER") as assoc:
                return await assoc.echo()
    assert run(main()) == 0


def test_transfer_syntax_accepted_is_the_first_proposed_that_is_supported():
    async def main():
        async with net.Server({"C-STORE": Recorder()}, port=0, ae_title="S") as server:
            pcs = [net.PresentationContextRQ(1, CT, ("1.2.3.4.5", IMPLICIT, EXPLICIT)),
                   net.PresentationContextRQ(3, CT, ("1.2.840.10008.1.2.4.50", EXPLICIT))]
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=pcs) as assoc:
                return [c.transfer_syntax for c in assoc.contexts]
    assert run(main()) == [IMPLICIT, "1.2.840.10008.1.2.4.50"]


def test_max_associations_rejects_transiently():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="S", max_associations=1) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S"):
                with pytest.raises(net.AssociationRejected, match="transiently .*local limit exceeded"):
                    await net.connect("127.0.0.1", server.port, called_ae="S")
            await asyncio.sleep(0.05)
            async with net.connect("127.0.0.1", server.port, called_ae="S") as again:
                return await again.echo()
    assert run(main()) == 0


def test_concurrent_associations():
    async def handler(request):
        await asyncio.sleep(0.2)
        return 0

    async def one(port):
        async with net.connect("127.0.0.1", port, called_ae="S") as assoc:
            return await assoc.echo()

    async def main():
        async with net.Server({"C-ECHO": handler}, port=0, ae_title="S") as server:
            t0 = time.monotonic()
            statuses = await asyncio.gather(*(one(server.port) for _ in range(8)))
            return statuses, time.monotonic() - t0, server.statistics["associations_accepted"]
    statuses, elapsed, accepted = run(main())
    assert statuses == [0] * 8 and accepted == 8 and elapsed < 1.5


def test_connection_refused_is_a_network_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(net.NetworkError, match=f"cannot connect to 127.0.0.1:{port}"):
        run(net.connect("127.0.0.1", port, timeout=2).__aenter__())


# --- timeouts, protocol errors, shutdown ------------------------------------------------------

def test_artim_closes_a_silent_connection():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="S", artim_timeout=0.2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            t0 = time.monotonic()
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return data, time.monotonic() - t0
    data, elapsed = run(main())
    assert data == b"" and 0.15 < elapsed < 3


def test_idle_association_is_aborted_after_the_network_timeout():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="S", network_timeout=0.2) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S") as assoc:
                assert await assoc.echo() == 0
                await asyncio.sleep(0.45)
                assert not assoc.is_established
                with pytest.raises(net.AssociationAborted, match="has ended"):
                    await assoc.echo()
        return server.statistics["associations_aborted"]
    assert run(main()) == 1


def test_protocol_error_aborts():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="S") as server:
            assoc = await net.connect("127.0.0.1", server.port, called_ae="S")

            async def bad():
                await assoc._conn.send_pdu(net.PDataTF((net.PDV(1, b"\x00" * 4, False, True),)))
                return await assoc._conn.next_event(5)
            ev = await L.bridge(bad())
            await assoc.abort()
            await asyncio.sleep(0.05)
            return type(ev).__name__, server.statistics["associations_aborted"]
    kind, aborted = run(main())
    assert kind in ("AbortIndication", "ConnectionClosed") and aborted == 1


def test_graceful_stop_finishes_work_in_flight():
    started = threading.Event()

    def slow(request):
        started.set()
        time.sleep(0.4)
        return 0

    async def main():
        server = await net.Server({"C-STORE": slow, "C-ECHO": lambda r: 0}, port=0, ae_title="S").start()
        idle = await net.connect("127.0.0.1", server.port, called_ae="S")
        busy = await net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT])
        store = asyncio.ensure_future(busy.store(_series(1)[0]))
        while not started.is_set():
            await asyncio.sleep(0.01)
        await server.stop()
        status = await store
        with pytest.raises(net.AssociationAborted):
            await idle.echo()
        with pytest.raises(net.NetworkError):
            await net.connect("127.0.0.1", server.port, called_ae="S", timeout=2)
        with pytest.raises(net.AssociationAborted):
            await busy.echo()
        await idle.abort()
        await busy.abort()
        return status, server.statistics
    status, stats = run(main())
    assert status == 0
    assert stats["associations_aborted"] == 2 and stats["associations_active"] == 0


# --- C-FIND, C-CANCEL and N-services over the low-level API ------------------------------------

async def _exchange(assoc, context_id, command, data=None, until_final=True):
    """Send a request and collect responses, on the service loop."""
    async def go():
        await assoc._conn.send_message(context_id, command, data)
        out = []
        while True:
            msg = await assoc._conn.next_event(5)
            out.append(msg)
            if not until_final or not msg.command.is_pending:
                return out
    return await L.bridge(go())


def _query(**kw):
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def test_c_find_pending_identifiers_and_large_ones_fragmented():
    find = "1.2.840.10008.5.1.4.1.2.2.1"

    def handler(request):
        assert request.dataset.QueryRetrieveLevel == "STUDY"
        for i in range(3):
            yield _query(PatientID=f"P{i}", StudyDescription="x" * 20000)

    async def main():
        async with net.Server({"C-FIND": handler}, port=0, ae_title="Q") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="Q", contexts=[find],
                                   max_pdu_length=8192) as assoc:
                rq = D.CFindRQ(message_id=7, affected_sop_class_uid=find)
                return await _exchange(assoc, 3, rq, encode_dataset(_query(QueryRetrieveLevel="STUDY"), EXPLICIT))
    msgs = run(main())
    assert [m.command.status for m in msgs] == [0xFF00] * 3 + [0]
    assert [read_bytes(m.data, transfer_syntax=EXPLICIT).PatientID for m in msgs[:3]] == ["P0", "P1", "P2"]
    assert msgs[-1].data is None and all(m.command.message_id_being_responded_to == 7 for m in msgs)


def test_c_cancel_stops_a_find():
    find = "1.2.840.10008.5.1.4.1.2.2.1"

    async def handler(request):
        async def matches():
            for i in range(1000):
                await asyncio.sleep(0.01)
                yield _query(PatientID=str(i))
        return matches()

    async def main():
        async with net.Server({"C-FIND": handler}, port=0, ae_title="Q") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="Q", contexts=[find]) as assoc:
                async def go():
                    conn = assoc._conn
                    await conn.send_message(3, D.CFindRQ(message_id=9, affected_sop_class_uid=find),
                                            encode_dataset(_query(PatientID="*"), EXPLICIT))
                    first = await conn.next_event(5)
                    await conn.send_message(3, D.CCancelRQ(message_id_being_responded_to=9))
                    statuses = [first.command.status]
                    while statuses[-1] == 0xFF00:
                        statuses.append((await conn.next_event(5)).command.status)
                    return statuses
                return await L.bridge(go())
    statuses = run(main())
    assert statuses[-1] == 0xFE00 and len(statuses) < 50


def test_n_services_and_unknown_service():
    mpps = "1.2.840.10008.3.1.2.3.3"

    def n_create(request):
        return 0, _query(PerformedProcedureStepStatus="IN PROGRESS")

    async def main():
        async with net.Server({"N-CREATE": n_create, "N-SET": lambda r: 0x0110}, port=0, ae_title="N",
                              sop_classes={"N-CREATE": [mpps], "N-SET": [mpps]}) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="N", contexts=[mpps]) as assoc:
                ctx = assoc.accepted_contexts[0].context_id
                created = await _exchange(assoc, ctx, D.NCreateRQ(message_id=1, affected_sop_class_uid=mpps,
                                                                  affected_sop_instance_uid="1.2.3"),
                                          encode_dataset(_query(PatientID="X"), assoc.accepted_contexts[0].transfer_syntax))
                modified = await _exchange(assoc, ctx, D.NSetRQ(message_id=2, requested_sop_class_uid=mpps,
                                                                requested_sop_instance_uid="1.2.3"),
                                           encode_dataset(_query(PatientID="Y"), EXPLICIT))
                deleted = await _exchange(assoc, ctx, D.NDeleteRQ(message_id=3, requested_sop_class_uid=mpps,
                                                                  requested_sop_instance_uid="1.2.3"))
                return created, modified, deleted
    created, modified, deleted = run(main())
    c = created[0]
    assert c.command.status == 0 and c.command.affected_sop_instance_uid == "1.2.3"
    assert read_bytes(c.data, transfer_syntax=EXPLICIT).PerformedProcedureStepStatus == "IN PROGRESS"
    assert modified[0].command.status == 0x0110
    assert deleted[0].command.status == 0x0211 and deleted[0].command.error_comment == "no N-DELETE here"


def test_server_arguments_are_checked():
    with pytest.raises(net.NetworkError, match="no SCP support for C-FOO"):
        net.Server({"C-FOO": lambda r: 0})
    with pytest.raises(net.NetworkError, match="sop_classes"):
        net.Server({"N-ACTION": lambda r: 0})


# --- the synchronous facade -------------------------------------------------------------------

def test_sync_facade_from_a_running_loop_against_a_server_in_the_same_process(tmp_path):
    rec = Recorder()
    server = sync.start(net.Server({"C-ECHO": lambda r: 0, "C-STORE": rec}, port=0, ae_title="SYNC"))
    try:
        async def notebook_cell():  # blocking calls inside a coroutine on another loop: no deadlock
            assert sync.echo("127.0.0.1", server.port, called_ae="SYNC") == 0
            return sync.store("127.0.0.1", server.port, [DATA / "ct_implicit_le.dcm", _series(1)[0]],
                              called_ae="SYNC", progress=False)
        assert asyncio.run(notebook_cell()) == [0, 0]
        with sync.connect("127.0.0.1", server.port, called_ae="SYNC", contexts=[CT]) as assoc:
            assert assoc.store(_series(2), progress=False) == [0, 0]
        assert "SyncAssociation" in repr(assoc)
    finally:
        sync.stop(server)
    assert len(rec.got) == 4 and not server.is_serving


# --- user identity and TLS ----------------------------------------------------------------------

def test_user_identity_is_checked_by_the_server():
    seen = []

    def check(item):
        seen.append((item.primary_field, item.secondary_field))
        return item.primary_field == b"alice" and item.secondary_field == b"s3cret"

    def who(request):
        seen.append(request.association.identity.primary_field)
        return 0

    async def main():
        async with net.Server({"C-ECHO": who}, port=0, ae_title="S", identity=check) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="S", identity=("alice", "s3cret")) as assoc:
                ok = await assoc.echo()
            with pytest.raises(net.AssociationRejected, match="no reason given"):
                await net.connect("127.0.0.1", server.port, called_ae="S", identity="mallory")
            return ok
    assert run(main()) == 0
    assert seen == [(b"alice", b"s3cret"), b"alice", (b"mallory", b"")]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    import shutil
    import subprocess
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=30)
    return d / "cert.pem", d / "key.pem"


def test_dicom_over_tls(certificate):
    import ssl
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    client_ctx.check_hostname = False
    rec = Recorder()

    async def main():
        async with net.Server({"C-ECHO": lambda r: 0, "C-STORE": rec}, port=0, ae_title="TLS",
                              tls=server_ctx) as server:
            async with net.connect("127.0.0.1", server.port, called_ae="TLS", tls=client_ctx,
                                   contexts=[CT]) as assoc:
                cipher = assoc._conn.transport.get_extra_info("cipher")
                return await assoc.echo(), await assoc.store(_series(2), progress=False), cipher
    echo, stored, cipher = run(main())
    assert echo == 0 and stored == [0, 0] and cipher is not None and len(rec.got) == 2


def test_store_a_generator_of_data_sets_lazily():
    from pacsnb.samples import iter_ct_series
    rec = Recorder()
    produced = []

    def series():
        for ds in iter_ct_series(n_slices=4, rows=16, columns=16, seed=2):
            produced.append(len(rec.got))  # how many were stored when this one was made
            yield ds

    async def main():
        async with net.Server({"C-STORE": rec}, port=0, ae_title="S") as server:
            # one at a time: with a window, up to 16 items are made ahead
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=[CT], max_operations=1) as assoc:
                return await assoc.store(series(), progress=False)
    assert run(main()) == [0] * 4
    # lazily: with no window, each is made at most one ahead of what the peer has stored
    # (the next is read while the previous response is awaited), never the whole series first
    assert all(produced[i] >= i - 1 for i in range(4)), produced
