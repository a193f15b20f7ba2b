"""Association.find / find_iter / cancel against our own Server (C-FIND handler over an
in-memory list), and the synchronous facade."""
from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import threading

import pandas as pd
import pytest

import pacsnb.net as net
from pacsnb.dicom import Dataset
from pacsnb.errors import DicomValueError, DimseError, NetworkError
from pacsnb.net import loop as L
from pacsnb.net import sync
from pacsnb.net.dimse import Status

STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _study(pid, name, uid, date, n, modalities):
    ds = Dataset()
    ds.PatientID, ds.PatientName, ds.StudyInstanceUID, ds.StudyDate = pid, name, uid, date
    ds.NumberOfStudyRelatedInstances, ds.ModalitiesInStudy = n, modalities
    return ds


STUDIES = [_study("P1", "DOE^JOHN", "1.2.1", "20240105", 10, ["CT", "SR"]),
           _study("P2", "DOE^JANE", "1.2.2", "20231231", 3, "MR"),
           _study("P3", "ROE^RICHARD", "1.2.3", "20240201", 7, "CT")]


def _matches(value, key):
    if key in ("", None):
        return True
    if isinstance(value, list):
        return any(_matches(v, key) for v in value)
    value = str(value)
    if "-" in key and len(key) <= 17:  # date range
        lo, _, hi = key.partition("-")
        return (not lo or value >= lo) and (not hi or value <= hi)
    return fnmatch.fnmatchcase(value, key)


class Handler:
    """A C-FIND SCP over STUDIES: equality, * and ? wildcards, date ranges."""

    def __init__(self):
        self.queries, self.cancelled = [], []

    def __call__(self, request):
        query = request.dataset
        self.queries.append(query)
        for study in STUDIES:
            keys = [e for e in query if e.keyword != "QueryRetrieveLevel"]
            if all(_matches(study.get(e.keyword, ""), "" if e.value is None else str(e.value))
                   for e in keys):
                out = Dataset()
                out.QueryRetrieveLevel = query.QueryRetrieveLevel
                for e in keys:
                    if e.keyword in study:
                        setattr(out, e.keyword, study[e.keyword].value)
                out.RetrieveAETitle = "QR"
                yield out


def test_find_returns_a_dataframe_with_requested_columns_first():
    handler = Handler()

    async def main():
        async with net.Server({"C-FIND": handler}, port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
                df = await assoc.find("study", PatientName="DOE*", StudyDate="20240101-",
                                      fields=["NumberOfStudyRelatedInstances", "ModalitiesInStudy"])
                all_ = await assoc.find("STUDY", fields=["PatientID"])
                return df, all_
    df, all_ = run(main())
    assert list(df.columns) == ["PatientName", "StudyDate", "StudyInstanceUID",
                                "NumberOfStudyRelatedInstances", "ModalitiesInStudy", "RetrieveAETitle"]
    assert df.to_dict("records") == [{"PatientName": "DOE^JOHN", "StudyDate": "20240105",
                                      "StudyInstanceUID": "1.2.1", "NumberOfStudyRelatedInstances": 10,
                                      "ModalitiesInStudy": ("CT", "SR"), "RetrieveAETitle": "QR"}]
    assert type(df.PatientName[0]) is str and df.NumberOfStudyRelatedInstances.dtype.kind == "i"
    query = handler.queries[0]
    assert query.QueryRetrieveLevel == "STUDY" and query.PatientName == "DOE*"
    assert query["StudyInstanceUID"].is_empty and query["ModalitiesInStudy"].is_empty
    assert list(all_.PatientID) == ["P1", "P2", "P3"] and list(all_.columns[:2]) == ["StudyInstanceUID",
                                                                                     "PatientID"]


def test_no_match_gives_an_empty_dataframe_with_the_columns():
    async def main():
        async with net.Server({"C-FIND": Handler()}, port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
                return await assoc.find("PATIENT", "patient", PatientName="NOBODY", fields=["PatientSex"])
    df = run(main())
    assert isinstance(df, pd.DataFrame) and df.empty
    assert list(df.columns) == ["PatientName", "PatientID", "PatientSex"]


def test_failure_status_raises_dimse_error_and_the_association_stays_usable():
    def broken(request):
        raise RuntimeError("out of resources")

    async def main():
        async with net.Server({"C-FIND": broken, "C-ECHO": lambda r: 0}, port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
                with pytest.raises(DimseError) as err:
                    await assoc.find("STUDY", PatientID="P1")
                return err.value, await assoc.echo()
    err, echo = run(main())
    assert err.status == Status.CANNOT_UNDERSTAND
    assert "out of resources" in str(err) and "C-FIND at STUDY level" in str(err)
    assert echo == 0


def _slow_handler(seen):
    async def handler(request):
        async def matches():
            for i in range(500):
                await asyncio.sleep(0.005)
                if request.is_cancelled:
                    seen.append(request.message_id)
                ds = Dataset()
                ds.PatientID = f"P{i}"
                yield ds
        return matches()
    return handler


def test_breaking_out_of_find_iter_sends_c_cancel_and_association_stays_usable():
    seen = []

    async def main():
        async with net.Server({"C-FIND": _slow_handler(seen), "C-ECHO": lambda r: 0}, port=0,
                              ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
                got = []
                async with contextlib.aclosing(assoc.find_iter("PATIENT", "patient")) as matches:
                    async for ds in matches:
                        got.append(ds.PatientID)
                        if len(got) == 3:
                            break
                # without aclosing: the garbage-collected generator cancels; echo waits for it
                async for ds in assoc.find_iter("PATIENT", "patient"):
                    break
                return got, await assoc.echo(), await assoc.find("PATIENT", "patient", PatientID="P1")
    got, echo, df = run(main())
    assert got == ["P0", "P1", "P2"] and echo == 0
    assert len(seen) >= 2  # the server saw the C-CANCEL of both finds
    assert len(df) == 500  # our slow handler ignores matching keys


def test_cancel_ends_a_running_find_with_the_matches_so_far():
    seen = []

    async def main():
        async with net.Server({"C-FIND": _slow_handler(seen)}, port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
                assert await assoc.cancel() is False  # nothing running
                task = asyncio.ensure_future(assoc.find("PATIENT", "patient"))
                await asyncio.sleep(0.1)
                assert await assoc.cancel() is True
                return await task
    df = run(main())
    assert 0 < len(df) < 500 and seen


def test_bad_arguments_and_missing_context():
    async def main():
        async with net.Server({"C-FIND": Handler()}, port=0, ae_title="QR") as server:
            async with net.connect("127.0.0.1", server.port, called_ae="QR", timeout=5,
                                   contexts=[STUDY_ROOT]) as assoc:
                with pytest.raises(DicomValueError):
                    await assoc.find("PATIENT")  # no PATIENT level in Study Root
                with pytest.raises(DicomValueError):
                    await assoc.find("STUDY", "composite")
                with pytest.raises(DicomValueError):
                    await assoc.find("STUDY", NotAKeyword="x")
                with pytest.raises(NetworkError, match="Patient Root FIND"):
                    await assoc.find("STUDY", "patient")
                return await assoc.find("STUDY", PatientID="P2")
    assert list(run(main()).StudyInstanceUID) == ["1.2.2"]


def test_sync_facade_find():
    server = sync.start(net.Server({"C-FIND": Handler()}, port=0, ae_title="QR"))
    try:
        with sync.connect("127.0.0.1", server.port, called_ae="QR", timeout=5) as assoc:
            df = assoc.find("STUDY", ModalitiesInStudy="CT")
    finally:
        sync.stop(server)
    assert list(df.StudyInstanceUID) == ["1.2.1", "1.2.3"]
