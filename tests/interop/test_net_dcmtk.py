"""Our SCU and SCP against real peers: dcmtk's echoscu, storescu and storescp, and pynetdicom.

Everything talks on 127.0.0.1, every wait has a timeout, and every process and server a
test starts is stopped in a ``finally``.
"""
from __future__ import annotations

import subprocess
import threading
import time
from functools import partial
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.net import sync
from pacsnb.net.scu import _file_info

import peers
from peers import free_port, peer_process, run_tool, stop_service_loop  # noqa: F401 (an autouse fixture)

DATA = Path(__file__).resolve().parents[2] / "data"
TOOLS = ("echoscu", "storescu", "storescp", "dcmcrle", "dcmcjpeg", "dcmdump")
HAVE_DCMTK = peers.have_tools(*TOOLS)
needs_dcmtk = peers.needs_dcmtk(*TOOLS)
TIMEOUT = 20
_run = partial(run_tool, timeout=TIMEOUT)

IMPLICIT, EXPLICIT, BIG, DEFLATED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                                     "1.2.840.10008.1.2.1.99")
RLE, JPEG_LOSSLESS, JPEG_BASELINE = "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.50"


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    """RLE, JPEG lossless and JPEG baseline files made by dcmtk from the sample data."""
    if not HAVE_DCMTK:
        pytest.skip("dcmtk is not installed")
    d = tmp_path_factory.mktemp("compressed")
    made = {RLE: d / "rle.dcm", JPEG_LOSSLESS: d / "jpll.dcm", JPEG_BASELINE: d / "jpb.dcm"}
    for cmd in (["dcmcrle", DATA / "ct_explicit_le.dcm", made[RLE]],
                ["dcmcjpeg", DATA / "ct_explicit_le.dcm", made[JPEG_LOSSLESS]],
                ["dcmcjpeg", "+eb", DATA / "us_rgb.dcm", made[JPEG_BASELINE]]):
        subprocess.run([str(c) for c in cmd], check=True, timeout=TIMEOUT, capture_output=True)
    for ts, path in made.items():
        assert _file_info(str(path)).transfer_syntax == ts
    return made


def _data_set_bytes(path) -> bytes:
    return Path(path).read_bytes()[_file_info(str(path)).offset:]


class Saver:
    """C-STORE handler: saves each instance under its own number, keeps what it saw."""

    def __init__(self, folder: Path):
        self.folder, self.got, self.lock = folder, [], threading.Lock()

    def __call__(self, request):
        with self.lock:
            n = len(self.got)
            path = request.save(self.folder / f"{n:03d}.dcm")
            self.got.append((request.transfer_syntax, path, request.association.calling_ae_title))
        return 0


# --- dcmtk SCUs against our Server ----------------------------------------------------------------

@needs_dcmtk
def test_echoscu_while_the_main_thread_is_busy():
    echoed = []
    server = sync.start(net.Server({"C-ECHO": lambda r: echoed.append(time.monotonic())}, port=0,
                                   ae_title="PACSNB"))
    proc = None
    try:
        proc = subprocess.Popen(["echoscu", "-aec", "PACSNB", "-aet", "ECHOSCU", "127.0.0.1", str(server.port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t_end = time.monotonic() + 0.8
        x = 0
        while time.monotonic() < t_end:  # a heavy synchronous "cell" holding the main thread
            x += sum(i * i for i in range(2000))
        busy_until = time.monotonic()
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, err
        assert echoed and echoed[0] < busy_until  # answered while the main thread was busy
        assert server.statistics["C-ECHO"] == 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        sync.stop(server)


@needs_dcmtk
def test_echoscu_with_a_wrong_called_ae_is_rejected():
    server = sync.start(net.Server({"C-ECHO": lambda r: 0}, port=0, ae_title="PACSNB"))
    try:
        p = _run(["echoscu", "-aec", "SOMEONE", "127.0.0.1", server.port])
        assert p.returncode != 0 and "Rejected" in (p.stdout + p.stderr)
        assert server.statistics["associations_rejected"] == 1
    finally:
        sync.stop(server)


@needs_dcmtk
@pytest.mark.parametrize("flag, expected", [("-xi", IMPLICIT), ("-xe", EXPLICIT), ("-xb", BIG),
                                            ("-xd", DEFLATED)])
def test_storescu_uncompressed_syntaxes(tmp_path, flag, expected):
    saver = Saver(tmp_path)
    server = sync.start(net.Server({"C-STORE": saver}, port=0, ae_title="PACSNB"))
    files = [DATA / "ct_implicit_le.dcm", DATA / "ct_explicit_be.dcm", DATA / "mr_small.dcm", DATA / "cr.dcm"]
    try:
        p = _run(["storescu", flag, "-aec", "PACSNB", "-aet", "STORESCU", "127.0.0.1", server.port, *files])
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        sync.stop(server)
    syntaxes = [ts for ts, *_ in saver.got]
    assert len(syntaxes) == len(files) and expected in syntaxes  # storescu's first proposal is accepted
    assert set(syntaxes) <= {IMPLICIT, EXPLICIT, BIG, DEFLATED}
    for source, (ts, saved, calling) in zip(files, saver.got):
        assert calling == "STORESCU"
        ours, theirs = pacsnb.read(saved), pacsnb.read(source)
        assert ours.file_meta.TransferSyntaxUID == ts
        assert ours.SOPInstanceUID == theirs.SOPInstanceUID
        assert (ours.pixel_array == theirs.pixel_array).all()
        assert _run(["dcmdump", "-q", saved]).returncode == 0


@needs_dcmtk
@pytest.mark.parametrize("ts, flag", [(RLE, "-xr"), (JPEG_LOSSLESS, "-xs"), (JPEG_BASELINE, "-xy")])
def test_storescu_compressed_pass_through(tmp_path, compressed, ts, flag):
    saver = Saver(tmp_path)
    server = sync.start(net.Server({"C-STORE": saver}, port=0, ae_title="PACSNB"))
    try:
        p = _run(["storescu", flag, "-aec", "PACSNB", "127.0.0.1", server.port, compressed[ts]])
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        sync.stop(server)
    [(got_ts, saved, _)] = saver.got
    assert got_ts == ts
    assert _data_set_bytes(saved) == _data_set_bytes(compressed[ts])  # not decoded, not re-encoded
    dump = _run(["dcmdump", saved])
    assert dump.returncode == 0 and "PixelData" in dump.stdout


# --- our SCU against dcmtk storescp ----------------------------------------------------------------

@needs_dcmtk
def test_our_scu_against_storescp(tmp_path, compressed):
    out = tmp_path / "received"
    out.mkdir()
    port = free_port()
    with peer_process(["storescp", "+xa", "+uf", "-pdu", "8192", "-aet", "STORESCP", "-od", out, port], port,
                      TIMEOUT):
        files = [DATA / "ct_implicit_le.dcm", DATA / "ct_explicit_be.dcm", DATA / "cr.dcm", *compressed.values()]
        series = pacsnb.read(DATA / "mr_small.dcm")

        async def session():
            async with net.connect("127.0.0.1", port, called_ae="STORESCP", contexts=[*files, series]) as assoc:
                assert assoc.max_pdu_length == 8192  # and every PDU we send stays within it
                assert await assoc.echo() == 0
                return await assoc.store([*files, series], progress=False)
        import asyncio
        assert asyncio.run(asyncio.wait_for(session(), TIMEOUT)) == [0] * (len(files) + 1)
    received = {}
    for f in out.iterdir():
        ds = pacsnb.read(f)
        received.setdefault(ds.SOPInstanceUID, []).append((ds.file_meta.TransferSyntaxUID, f))
    assert sum(len(v) for v in received.values()) == len(files) + 1
    for source in [*files, DATA / "mr_small.dcm"]:
        info = _file_info(str(source))
        matches = received[info.sop_instance_uid]
        if info.transfer_syntax in compressed:  # compressed: sent in its own syntax, pixel data untouched
            kept = [f for ts, f in matches if ts == info.transfer_syntax]
            assert kept and pacsnb.read(kept[0]).PixelData == pacsnb.read(source).PixelData
        else:  # native: converted if storescp chose another syntax, same pixels
            theirs = pacsnb.read(source).pixel_array
            assert any((pacsnb.read(f).pixel_array == theirs).all() for ts, f in matches
                       if ts not in compressed)


# --- pynetdicom ----------------------------------------------------------------------------------

def _pynetdicom_scp(handler_log):
    pytest.importorskip("pynetdicom")
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
    from pynetdicom.sop_class import Verification

    def on_store(event):
        handler_log.append((event.context.transfer_syntax, event.request.AffectedSOPInstanceUID,
                            event.request.DataSet.getvalue()))
        return 0x0000

    ae = AE(ae_title="PYNETDICOM")
    ae.add_supported_context(Verification)
    for sop in ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.6.1"):
        ae.add_supported_context(sop, ALL_TRANSFER_SYNTAXES)
    return ae, ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])


def test_our_scu_against_a_pynetdicom_scp(compressed):
    import logging
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    got = []
    ae, server = _pynetdicom_scp(got)
    try:
        port = server.server_address[1]
        files = [DATA / "ct_implicit_le.dcm", DATA / "mr_small.dcm", compressed[RLE], compressed[JPEG_LOSSLESS]]
        datasets = [pacsnb.read(DATA / "ct_explicit_le.dcm")]
        with sync.connect("127.0.0.1", port, called_ae="PYNETDICOM", contexts=[*files, *datasets],
                          timeout=TIMEOUT) as assoc:
            assert assoc.echo() == 0
            assert assoc.store([*files, *datasets], progress=False) == [0] * 5
    finally:
        server.shutdown()
        ae.shutdown()
    assert len(got) == len(files) + len(datasets)
    for source, (ts, sop_instance, data) in zip(files, got):
        info = _file_info(str(source))
        assert sop_instance == info.sop_instance_uid
        if str(ts) == info.transfer_syntax:
            assert data == _data_set_bytes(source)  # streamed from disk as it is
        else:  # pynetdicom chose another native syntax: converted
            assert info.transfer_syntax not in compressed
            ours = pacsnb.io.read_bytes(data, transfer_syntax=str(ts))
            assert (ours.pixel_array == pacsnb.read(source).pixel_array).all()
    assert [str(ts) for ts, *_ in got[2:4]] == [RLE, JPEG_LOSSLESS]
    assert got[-1][2] == pacsnb.io.encode_dataset(datasets[0], str(got[-1][0]))


def test_pynetdicom_scu_find_against_our_server():
    pytest.importorskip("pynetdicom")
    import logging

    from pydicom.dataset import Dataset as PydicomDataset
    from pynetdicom import AE
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)

    def find(request):
        assert request.dataset.QueryRetrieveLevel == "STUDY"
        for i in range(3):
            ds = pacsnb.Dataset()
            ds.PatientID, ds.StudyInstanceUID, ds.QueryRetrieveLevel = f"P{i}", f"1.2.3.{i}", "STUDY"
            yield ds

    server = sync.start(net.Server({"C-ECHO": lambda r: 0, "C-FIND": find}, port=0, ae_title="PACSNB"))
    ae = AE(ae_title="PYSCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    ae.add_requested_context(Verification)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    try:
        assoc = ae.associate("127.0.0.1", server.port, ae_title="PACSNB")
        assert assoc.is_established
        try:
            assert assoc.send_c_echo().Status == 0
            query = PydicomDataset()
            query.QueryRetrieveLevel, query.PatientID = "STUDY", "*"
            results = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
        finally:
            assoc.release()
    finally:
        ae.shutdown()
        sync.stop(server)
    statuses = [status.Status for status, _ in results]
    assert statuses == [0xFF00] * 3 + [0x0000]
    assert [ident.PatientID for _, ident in results[:3]] == ["P0", "P1", "P2"]
    assert server.statistics["C-FIND"] == 1 and server.statistics["associations_released"] == 1
