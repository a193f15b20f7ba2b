"""Association.get against our own Server (MemoryQR handlers): C-STORE sub-operations on the
same association with SCP role selection, into a folder or a callback, files streamed as
they are, failures, C-CANCEL, hostile SOP Instance UIDs."""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.errors import DimseError
from pacsnb.net import loop as L
from pacsnb.net.memory import MemoryQR
from pacsnb.net.retrieve import GET_SOP_CLASSES
from pacsnb.net.scu import _file_info
from pacsnb.samples import make_ct_series

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


SERIES = make_ct_series(n_slices=4, rows=16, columns=16)
STUDY = SERIES[0].StudyInstanceUID


async def _get(qr: MemoryQR, **kwargs):
    connect_kwargs = kwargs.pop("connect", {})
    async with net.Server(qr.handlers(), port=0, ae_title="QR") as server:
        async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10, **connect_kwargs) as pacs:
            result = await pacs.get(progress=False, **kwargs)
            return result, await pacs.echo()


def test_get_into_a_folder(tmp_path):
    result, echo = run(_get(MemoryQR(SERIES), level="STUDY", into=tmp_path, StudyInstanceUID=STUDY))
    assert result.ok and (result.completed, result.failed, result.received) == (4, 0, 4) and echo == 0
    assert sorted(os.listdir(tmp_path)) == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in SERIES)
    for ds in SERIES:
        got = pacsnb.read(tmp_path / f"{ds.SOPInstanceUID}.dcm")
        assert bytes(got.PixelData) == bytes(ds.PixelData) and got.PatientName == ds.PatientName
        assert got.file_meta.SourceApplicationEntityTitle == "QR"


def test_files_are_streamed_as_they_are_and_written_unchanged(tmp_path):
    files = [DATA / "ct_deflated.dcm", DATA / "ct_int16.dcm", DATA / "mr_small.dcm", DATA / "cr.dcm"]
    qr = MemoryQR(files)
    infos = [_file_info(str(f)) for f in files]
    # propose each file's own transfer syntax for its SOP class, with the GET class
    contexts = [GET_SOP_CLASSES["study"], *[(i.sop_class_uid, i.transfer_syntax) for i in infos]]
    out = tmp_path / "out"
    async def main():
        async with net.Server(qr.handlers(), port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10,
                                   contexts=contexts) as pacs:
                results = []
                for ds in qr.instances:
                    header = pacsnb.read(ds, stop_before_pixels=True)
                    results.append(await pacs.get("IMAGE", into=out, progress=False,
                                                  StudyInstanceUID=header.StudyInstanceUID,
                                                  SeriesInstanceUID=header.SeriesInstanceUID,
                                                  SOPInstanceUID=header.SOPInstanceUID))
                return results
    results = run(main())
    assert [r.completed for r in results] == [1, 1, 1, 1]
    for f, info in zip(files, infos):
        written = out / f"{info.sop_instance_uid}.dcm"
        assert _file_info(str(written)).transfer_syntax == info.transfer_syntax
        # the data set bytes went through untouched
        assert written.read_bytes()[_file_info(str(written)).offset:] == f.read_bytes()[info.offset:]


def test_get_into_a_callback_sync_and_async():
    got = []

    def keep(ds):
        got.append((ds.SOPInstanceUID, ds.Rows))

    result, _ = run(_get(MemoryQR(SERIES), level="SERIES", into=keep, StudyInstanceUID=STUDY,
                         SeriesInstanceUID=SERIES[0].SeriesInstanceUID))
    assert result.completed == 4 and sorted(got) == sorted((ds.SOPInstanceUID, 16) for ds in SERIES)

    seen = []

    async def keep_async(ds):
        seen.append(ds.SOPInstanceUID)
        return 0xB000 if ds.SOPInstanceUID == SERIES[0].SOPInstanceUID else 0  # a warning status

    result, _ = run(_get(MemoryQR(SERIES), level="STUDY", into=keep_async, StudyInstanceUID=STUDY))
    assert sorted(seen) == sorted(ds.SOPInstanceUID for ds in SERIES)
    assert (result.completed, result.warning, result.status) == (3, 1, 0xB000)


def test_a_failing_callback_is_a_failed_sub_operation():
    def broken(ds):
        if ds.SOPInstanceUID == SERIES[2].SOPInstanceUID:
            raise RuntimeError("disk full")

    result, echo = run(_get(MemoryQR(SERIES), level="STUDY", into=broken, StudyInstanceUID=STUDY))
    assert result.status == 0xB000 and (result.completed, result.failed) == (3, 1) and echo == 0
    assert result.failed_sop_instance_uids == (SERIES[2].SOPInstanceUID,)


def test_without_scp_role_the_get_fails_and_says_why():
    async def main():
        async with net.Server(MemoryQR(SERIES).handlers(), port=0, ae_title="QR") as server:
            # the storage class is proposed but no GET class: no role selection is sent
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10,
                                   contexts=[SERIES[0].SOPClassUID, "1.2.840.10008.5.1.4.1.2.2.3"]) as pacs:
                assert any(c.scp_role for c in pacs.accepted_contexts)
            pcs = [net.PresentationContextRQ(1, "1.2.840.10008.5.1.4.1.2.2.3", ("1.2.840.10008.1.2",)),
                   net.PresentationContextRQ(3, SERIES[0].SOPClassUID, ("1.2.840.10008.1.2",))]
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10, contexts=pcs) as pacs:
                # ready contexts: role selection still proposed, as a GET class is among them
                assert any(c.scp_role for c in pacs.accepted_contexts)
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10,
                                   contexts=["1.2.840.10008.5.1.4.1.2.2.3"]) as pacs:
                with pytest.raises(DimseError) as err:
                    await pacs.get("STUDY", into=lambda ds: None, progress=False, StudyInstanceUID=STUDY)
                return err.value, await pacs.echo()
    err, echo = run(main())
    assert echo == 0
    assert err.status == 0xA702 and "SCP role" in str(err)
    assert err.result.failed == 4 and len(err.result.failed_sop_instance_uids) == 4


def test_cancel_stops_the_get():
    many = make_ct_series(n_slices=80, rows=8, columns=8)
    count = []

    async def main():
        async with net.Server(MemoryQR(many).handlers(), port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=10) as pacs:
                async def slow(ds):
                    count.append(1)
                    if len(count) == 3:
                        await pacs.cancel()
                    await asyncio.sleep(0.005)
                result = await pacs.get("STUDY", into=slow, progress=False, StudyInstanceUID=many[0].StudyInstanceUID)
                return result, await pacs.echo()
    result, echo = run(main())
    assert result.cancelled and echo == 0
    assert 3 <= result.completed < 80 and result.remaining == 80 - result.completed - result.failed


def test_hostile_sop_instance_uid_stays_inside_the_folder(tmp_path):
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    ds.SOPInstanceUID = "../../escape"
    out = tmp_path / "inside"
    result, _ = run(_get(MemoryQR([ds]), level="IMAGE", into=out, StudyInstanceUID=ds.StudyInstanceUID,
                         SeriesInstanceUID=ds.SeriesInstanceUID, SOPInstanceUID="../../escape"))
    assert result.completed == 1
    assert [Path(p).parent for p in result.paths] == [out]
    assert os.listdir(out)[0].startswith("invalid-uid-escape-")
    assert not (tmp_path / "escape.dcm").exists()


def test_large_sub_operation_is_spooled_not_kept_in_memory(tmp_path, monkeypatch):
    from pacsnb.net import retrieve
    from pacsnb.net.dimse import Spool
    spools = []

    class Recorded(Spool):
        def close(self):
            if not self.closed:
                held = self.in_memory()
                spools.append(held is None)  # True: on disk, not in memory
                if held is not None:
                    held.release()
            super().close()

    monkeypatch.setattr(retrieve, "Spool", Recorded)
    big = make_ct_series(n_slices=1, rows=2048, columns=2100)[0]  # about 8.6 MB of pixels
    result, _ = run(_get(MemoryQR([big]), level="STUDY", into=tmp_path, StudyInstanceUID=big.StudyInstanceUID))
    assert result.completed == 1
    assert True in spools  # the received data set went to a file, not held in memory
    got = pacsnb.read(result.paths[0])
    assert bytes(got.PixelData) == bytes(big.PixelData)


def test_nothing_matches():
    result, _ = run(_get(MemoryQR(SERIES), level="STUDY", into=lambda ds: None, StudyInstanceUID="1.2.3.4.5"))
    assert result.ok and (result.completed, result.failed, result.received) == (0, 0, 0)


def test_dataset_items_keep_their_private_and_sequence_elements(tmp_path):
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    item = Dataset()
    item.CodeValue = "T-D0050"
    ds.AnatomicRegionSequence = [item]
    result, _ = run(_get(MemoryQR([ds]), level="STUDY", into=tmp_path, StudyInstanceUID=ds.StudyInstanceUID))
    got = pacsnb.read(result.paths[0])
    assert got.AnatomicRegionSequence[0].CodeValue == "T-D0050"
