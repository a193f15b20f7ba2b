"""Fast out of the box: TCP_NODELAY on both ends, a large Maximum Length honouring the
peer's, and an SCP that accepts the transfer syntax the caller proposes first."""
from __future__ import annotations

import asyncio
import socket
import threading

import pytest

import pacsnb.net as net
from pacsnb.net import loop as L
from pacsnb.net.pdu import DEFAULT_MAXIMUM_LENGTH
from pacsnb.samples import make_ct_series

CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT, EXPLICIT, DEFLATED = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"
JPEG_LS, RLE = "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5"


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def _nodelay(transport) -> int:
    return transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_tcp_nodelay_on_the_socket_we_open_and_the_one_we_accept():
    seen = []

    async def on_echo(request):
        server_conn = next(iter(server._connections))
        seen.append(_nodelay(server_conn.transport))
        return 0

    server = net.Server({"C-ECHO": on_echo}, port=0, ae_title="S")

    async def main():
        async with server:
            async with net.connect("127.0.0.1", server.port, called_ae="S") as assoc:
                return _nodelay(assoc._conn.transport), await assoc.echo()
    client, status = run(main())
    assert status == 0 and client != 0 and seen and seen[0] != 0


def test_the_default_maximum_length_is_large_and_both_sides_honour_the_peers():
    assert DEFAULT_MAXIMUM_LENGTH >= 128 * 1024
    stream = bytearray()
    items = make_ct_series(n_slices=2, rows=128, columns=128, seed=1)  # 32 KB of pixels each

    async def main():
        async with net.Server({"C-STORE": lambda r: 0}, port=0, ae_title="S") as big, \
                net.Server({"C-STORE": lambda r: 0}, port=0, ae_title="S", maximum_length=4096) as small:
            async with net.connect("127.0.0.1", big.port, called_ae="S", contexts=[CT]) as assoc:
                defaults = (assoc.request.user_information.maximum_length, assoc.max_pdu_length)
            async with net.connect("127.0.0.1", small.port, called_ae="S", contexts=[CT]) as assoc:
                transport = assoc._conn.transport
                write = transport.write

                def spy(data):  # the bytes sent: PDUs, several to a write at times
                    stream.extend(data)
                    return write(data)
                transport.write = spy
                try:
                    statuses = await assoc.store(items, progress=False)
                finally:
                    transport.write = write
                return defaults, assoc.max_pdu_length, statuses
    defaults, small_max, statuses = run(main())
    assert defaults == (DEFAULT_MAXIMUM_LENGTH, DEFAULT_MAXIMUM_LENGTH)
    assert small_max == 4096 and statuses == [0, 0]
    lengths, pos = [], 0
    while pos < len(stream):  # the PDU-length of each PDU (PS3.8 9.3.1: 6 bytes of header)
        assert stream[pos] == 0x04  # P-DATA-TF only (the release came after the spy was removed)
        lengths.append(int.from_bytes(stream[pos + 2:pos + 6], "big"))
        pos += 6 + lengths[-1]
    assert pos == len(stream)
    assert max(lengths) <= 4096 and max(lengths) > 4000   # full PDUs, none above the peer's limit
    assert len(lengths) > 2 * 32768 // 4096


@pytest.mark.parametrize("proposed, chosen", [
    ((IMPLICIT, EXPLICIT), IMPLICIT),
    ((EXPLICIT, IMPLICIT), EXPLICIT),
    ((DEFLATED, EXPLICIT, IMPLICIT), DEFLATED),
    ((JPEG_LS, EXPLICIT), JPEG_LS),
    (("1.2.3.4.5.6", RLE, EXPLICIT), RLE),   # an unknown syntax first: the next supported one
])
def test_the_scp_accepts_the_first_proposed_transfer_syntax_it_supports(proposed, chosen):
    async def main():
        async with net.Server({"C-STORE": lambda r: 0, "C-ECHO": lambda r: 0}, port=0, ae_title="S") as server:
            pcs = [net.PresentationContextRQ(1, CT, proposed),
                   net.PresentationContextRQ(3, "1.2.840.10008.1.1", tuple(reversed((IMPLICIT, EXPLICIT))))]
            async with net.connect("127.0.0.1", server.port, called_ae="S", contexts=pcs) as assoc:
                return [c.transfer_syntax for c in assoc.contexts]
    assert run(main()) == [chosen, EXPLICIT]
