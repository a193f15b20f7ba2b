"""Peers that stop reading, and peers that open too many connections: the association is
aborted within the network timeout (memory bounded), the server keeps serving the others,
and excess connections are closed at once."""
from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.errors import NetworkError
from pacsnb.net import StateMachine, build_request, propose
from pacsnb.net.dimse import CEchoRQ, command_pdu
from pacsnb.net.scp import inline
from pacsnb.net.statemachine import AssociateAccepted
from pacsnb.net.transport import Connection, open_connection

from peers import run, stop_service_loop  # noqa: F401 (an autouse fixture)

ECHO = "1.2.840.10008.1.1"
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
TIMEOUT = 1.0


async def _flood_until_aborted(server: net.Server, conn: Connection, limit: float) -> float:
    """Send C-ECHO requests without reading the answers, until the server counts the
    association aborted (at most ``limit`` seconds); the seconds it took."""
    batch = command_pdu(1, CEchoRQ(message_id=1, affected_sop_class_uid=ECHO)) * 2000
    start = time.monotonic()
    deadline = start + limit
    while server.statistics["associations_aborted"] == 0 and time.monotonic() < deadline:
        t = conn.transport
        if not t.is_closing() and t.get_write_buffer_size() < (1 << 20):  # our own memory bounded
            t.write(batch)
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize("handler", [inline(lambda r: 0), lambda r: 0], ids=["inline", "thread"])
def test_peer_that_stops_reading_is_aborted_and_others_are_served(handler, caplog):
    async def main():
        async with net.Server({"C-ECHO": handler}, port=0, ae_title="SCP",
                              network_timeout=TIMEOUT) as server:
            stalled = await open_connection("127.0.0.1", server.port,
                                            build_request("SCP", "STALLED", propose([ECHO])))
            assert isinstance(await stalled.next_event(5), AssociateAccepted)
            stalled.transport.pause_reading()  # we never read again
            flood = asyncio.ensure_future(_flood_until_aborted(server, stalled, 20 * TIMEOUT))
            # meanwhile another association is served
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[ECHO],
                                   timeout=5) as other:
                other_statuses = [await other.echo() for _ in range(3)]
            took = await flood
            stats = server.statistics
            open_ = [c for c in server._open if c.transport is not None and not c.closed]
            # the stalled association's socket is gone on the server side
            await asyncio.sleep(0.1)
            left = [c for c in server._open if c.transport is not None and not c.closed]
            stalled.transport.abort()
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[ECHO],
                                   timeout=5) as after:
                after_status = await after.echo()
            return other_statuses, took, stats, open_, left, after_status

    with caplog.at_level(logging.WARNING, logger="pacsnb.net"):
        other_statuses, took, stats, _, left, after_status = run(main(), timeout=60)
    assert other_statuses == [0, 0, 0] and after_status == 0
    assert stats["associations_aborted"] == 1, (stats, took)
    assert stats["associations_released"] == 1
    assert left == []
    text = caplog.text
    assert "stopped reading" in text or "read nothing" in text
    assert "Traceback" not in text and not any(r.exc_info for r in caplog.records)
    print(f"aborted {took:.1f} s after the flood began (network_timeout {TIMEOUT} s)")


def test_scu_writing_to_scp_that_stops_reading_times_out():
    async def main():
        loop = asyncio.get_running_loop()
        conns = []

        async def serve(conn):  # accept, then never read again
            ev = await conn.next_event()
            from pacsnb.net import AcceptancePolicy, negotiate
            conn.send_associate_accept(negotiate(ev.request, AcceptancePolicy()).response)
            conn.transport.pause_reading()
            conns.append(conn)
            await conn.wait_closed()

        lsock = await loop.create_server(lambda: Connection(StateMachine(), on_open=serve), "127.0.0.1", 0)
        port = lsock.sockets[0].getsockname()[1]
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = SC, "1.2.3.4"
        ds.PatientID = "STALL"
        ds.PixelData = bytes(24 << 20)  # more than every socket buffer on the way
        try:
            with pytest.raises(NetworkError) as info:
                async with net.connect("127.0.0.1", port, called_ae="ANY", contexts=[SC],
                                       timeout=5, dimse_timeout=TIMEOUT) as assoc:
                    await assoc.store([ds], progress=False)
            return str(info.value)
        finally:
            for c in conns:
                c.transport.abort()
            lsock.close()
            await lsock.wait_closed()

    message = run(main(), timeout=60)
    assert f"{TIMEOUT} s" in message and "stopped reading" in message, message


def test_connections_beyond_max_connections_are_closed_at_once():
    async def main():
        async with net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP", max_associations=2,
                              max_connections=3, artim_timeout=30) as server:
            assert net.Server({}, max_associations=5).max_connections == 21  # the default
            loop = asyncio.get_running_loop()
            idle = []
            for _ in range(3):  # connect and send nothing: they wait for ARTIM
                s = socket.create_connection(("127.0.0.1", server.port))
                idle.append(s)
            for _ in range(100):  # bounded: until the server has accepted all three
                if server.statistics["connections_open"] == 3:
                    break
                await asyncio.sleep(0.02)
            assert server.statistics["connections_open"] == 3
            extra = socket.create_connection(("127.0.0.1", server.port))
            extra.settimeout(5)
            got = await loop.run_in_executor(None, _recv_or_reset, extra)
            extra.close()
            refused = server.statistics["connections_refused"]
            for s in idle:
                s.close()
            for _ in range(100):
                if server.statistics["connections_open"] == 0:
                    break
                await asyncio.sleep(0.02)
            async with net.connect("127.0.0.1", server.port, called_ae="SCP", contexts=[ECHO],
                                   timeout=5) as assoc:
                status = await assoc.echo()
            return got, refused, status, server.statistics
    got, refused, status, stats = run(main(), timeout=30)
    assert got == b"" and refused == 1
    assert status == 0 and stats["connections"] == 5 and stats["associations_accepted"] == 1


def _recv_or_reset(sock: socket.socket) -> bytes:
    try:
        return sock.recv(10)
    except ConnectionResetError:
        return b""


def test_max_connections_is_checked():
    with pytest.raises(NetworkError, match="max_connections"):
        net.Server({}, max_connections=0)
