"""pacsnb.services against our own SCU: storage (statuses for duplicates, a full disk, bad data),
FIND at every level in both models, MOVE to a second in-process SCP, GET, cancel, the allow-list,
hostile UIDs and query values, worklist, MPPS, storage commitment, serve() and its configuration."""
from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

import pacsnb
import pacsnb.net as net
from pacsnb.archive import Archive
from pacsnb.dicom import Dataset
from pacsnb.errors import AssociationRejected, DimseError
from pacsnb.io import encode_dataset
from pacsnb.net import loop as L
from pacsnb.net import sync
from pacsnb.net.dimse import CStoreRQ
from pacsnb.samples import make_cohort, make_ct_series
from pacsnb.services import (COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, MPPS_SOP_CLASS, ConfigError,
                             ServeConfig, Worklist, load_config, serve)
from pacsnb.services.mpps import STATUS_NO_LONGER_UPDATABLE

TIMEOUT = 30


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(n_patients=3, series_per_study=2, slices=2, rows=8, columns=8)


@pytest.fixture()
def pacs(tmp_path):
    handle = sync.run(serve(tmp_path / "archive", port=0, ae_title="PACS"))
    try:
        yield handle
    finally:
        handle.close()


def test_store_then_find_at_every_level_in_both_models(pacs, cohort):
    uids = {str(ds.SOPInstanceUID) for ds in cohort}
    with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
        statuses = a.store(cohort, progress=False)
        assert statuses == [0] * len(cohort)
        patients = a.find("PATIENT", "patient", PatientID="*", fields=["NumberOfPatientRelatedInstances"])
        studies_p = a.find("STUDY", "patient", PatientID=str(cohort[0].PatientID))
        studies = a.find("STUDY", PatientID="*", fields=["ModalitiesInStudy", "NumberOfStudyRelatedInstances"])
        series = a.find("SERIES", StudyInstanceUID=str(cohort[0].StudyInstanceUID), Modality=None)
        images = a.find("IMAGE", StudyInstanceUID=str(cohort[0].StudyInstanceUID),
                        SeriesInstanceUID=str(cohort[0].SeriesInstanceUID))
    # every instance is on disk, readable and indexed
    assert set(pacs.archive.instances().SOPInstanceUID) == uids
    assert pacs.archive.verify().ok
    by_patient = {}
    for ds in cohort:
        by_patient.setdefault(str(ds.PatientID), set()).add(str(ds.SOPInstanceUID))
    assert sorted(patients.PatientID) == sorted(by_patient)
    assert dict(zip(patients.PatientID, patients.NumberOfPatientRelatedInstances)) == \
        {k: len(v) for k, v in by_patient.items()}
    assert set(studies_p.PatientID) == {str(cohort[0].PatientID)}
    assert len(studies) == len({str(ds.StudyInstanceUID) for ds in cohort})
    assert sum(studies.NumberOfStudyRelatedInstances) == len(cohort)
    assert len(series) == len({str(d.SeriesInstanceUID) for d in cohort if d.StudyInstanceUID == cohort[0].StudyInstanceUID})
    want = {str(d.SOPInstanceUID) for d in cohort if d.SeriesInstanceUID == cohort[0].SeriesInstanceUID}
    assert set(images.SOPInstanceUID) == want
    assert pacs.statistics["stored"] == len(cohort) and pacs.statistics["finds"] >= 5


def test_duplicate_full_disk_and_bad_data_statuses(tmp_path, monkeypatch):
    pacs = sync.run(serve(tmp_path / "archive", port=0, ae_title="PACS", duplicates="reject"))
    series = make_ct_series(n_slices=3, rows=8, columns=8)
    try:
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            assert a.store(series[0]) == 0
            assert a.store(series[0]) == 0x0111  # duplicate refused, first copy kept
            import pacsnb.archive.store as store_mod
            real = store_mod._write_chunks

            def full(f, chunks):
                f.write(b"\0" * 100)  # some bytes reached the disk, then it was full
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(store_mod, "_write_chunks", full)
            assert a.store(series[1]) == 0xA700
            monkeypatch.setattr(store_mod, "_write_chunks", real)
            assert a.store(series[2]) == 0
        # bad data: a data set that is not DICOM at all, sent by hand
        async def garbage():
            async with net.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT,
                                   contexts=[series[0].SOPClassUID]) as assoc:
                ctx = assoc.accepted_contexts[0]
                rq = CStoreRQ(message_id=7, affected_sop_class_uid=str(series[0].SOPClassUID),
                              affected_sop_instance_uid="1.2.3.4")
                await assoc._conn.send_message(ctx.context_id, rq, b"\xff\xff\xff\xff\x00\x00\x10\x00garbage!")
                return await assoc._response(7, "C-STORE")
        rsp = sync.run(garbage(), TIMEOUT)
        assert rsp.command.status == 0xC000
        assert pacs.archive.stats()["instances"] == 2
        assert os.listdir(pacs.archive.root / "tmp") == []  # nothing partial left
        assert pacs.archive.verify().ok
        assert pacs.statistics["duplicates"] == 1 and pacs.statistics["store_failures"] == 2
    finally:
        pacs.close()


def test_allow_list_rejects_other_calling_aes(tmp_path):
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", allowed_calling_aes=["CT1"]))
    try:
        assert sync.echo("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS") == 0
        with pytest.raises(AssociationRejected) as err:
            sync.echo("127.0.0.1", pacs.port, ae_title="INTRUDER", called_ae="PACS")
        assert "calling AE" in str(err.value)
        assert pacs.statistics["associations_rejected"] == 1
    finally:
        pacs.close()


def test_hostile_uids_and_query_values_stay_harmless(pacs):
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    ds.StudyInstanceUID = "../../x"
    ds.SeriesInstanceUID = "../../../etc"
    ds.PatientName = "O'Brien^Robert'); DROP TABLE instances;--"
    ds.PatientID = "P' OR '1'='1"
    with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
        assert a.store(ds) == 0
        exact = a.find("STUDY", PatientID="P' OR '1'='1")
        nothing = a.find("STUDY", PatientID="' OR 1=1 --")
        by_name = a.find("PATIENT", "patient", PatientName="O'Brien*")
    root = pacs.archive.root.resolve()
    files = [p for p in root.rglob("*.dcm")]
    assert len(files) == 1 and files[0].resolve().is_relative_to(root / "data")
    assert list(exact.PatientID) == ["P' OR '1'='1"] and len(nothing) == 0 and len(by_name) == 1
    assert pacs.archive.stats()["instances"] == 1  # no table was dropped


def test_move_to_a_second_scp_and_get_into_a_folder(tmp_path, cohort):
    received = []
    dest = sync.start(net.Server({"C-STORE": lambda r: received.append(str(r.sop_instance_uid)) or 0},
                                 port=0, ae_title="DEST"))
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS",
                          peers={"DEST": ("127.0.0.1", dest.port), "DOWN": ("127.0.0.1", 1)}))
    try:
        study = str(cohort[0].StudyInstanceUID)
        want = sorted(str(d.SOPInstanceUID) for d in cohort if str(d.StudyInstanceUID) == study)
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            a.store(cohort, progress=False)
            moved = a.move("DEST", "STUDY", progress=False, StudyInstanceUID=study)
            got = a.get("SERIES", into=tmp_path / "got", progress=False, StudyInstanceUID=study,
                        SeriesInstanceUID=str(cohort[0].SeriesInstanceUID))
            pmoved = a.move("DEST", "PATIENT", "patient", progress=False, PatientID=str(cohort[0].PatientID))
            with pytest.raises(DimseError) as unknown:
                a.move("NOWHERE", "STUDY", progress=False, StudyInstanceUID=study)
            with pytest.raises(DimseError) as down:
                a.move("DOWN", "STUDY", progress=False, StudyInstanceUID=study)
        assert moved.ok and moved.completed == len(want)
        assert sorted(received[:len(want)]) == want
        assert pmoved.ok and pmoved.completed == sum(1 for d in cohort if d.PatientID == cohort[0].PatientID)
        series_uids = sorted(str(d.SOPInstanceUID) for d in cohort if d.SeriesInstanceUID == cohort[0].SeriesInstanceUID)
        assert got.ok and sorted(str(pacsnb.read(p).SOPInstanceUID) for p in (tmp_path / "got").iterdir()) == series_uids
        assert unknown.value.status == 0xA801
        # PS3.4 C.4.2.1.5: the destination is known but cannot be reached, so every C-STORE
        # sub-operation fails: Refused, Out of Resources - Unable to perform sub-operations
        assert down.value.status == 0xA702
    finally:
        pacs.close()
        sync.stop(dest)


def test_move_with_partial_failures_and_cancel(tmp_path):
    series = make_ct_series(n_slices=6, rows=8, columns=8)
    refuse = {str(series[1].SOPInstanceUID), str(series[4].SOPInstanceUID)}
    slow = threading.Event()

    def on_store(r):
        if slow.is_set():
            import time
            time.sleep(0.2)
        return 0xA700 if str(r.sop_instance_uid) in refuse else 0
    dest = sync.start(net.Server({"C-STORE": on_store}, port=0, ae_title="DEST", max_operations=1))
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", peers={"DEST": ("127.0.0.1", dest.port)}))
    try:
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            a.store(series, progress=False)
            result = a.move("DEST", "SERIES", progress=False, StudyInstanceUID=str(series[0].StudyInstanceUID),
                            SeriesInstanceUID=str(series[0].SeriesInstanceUID))
        assert result.status == 0xB000 and result.completed == 4 and result.failed == 2
        assert set(result.failed_sop_instance_uids) == refuse

        async def cancelled():
            slow.set()
            async with net.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as assoc:
                task = asyncio.ensure_future(assoc.move("DEST", "STUDY", progress=False,
                                                        StudyInstanceUID=str(series[0].StudyInstanceUID)))
                await asyncio.sleep(0.3)
                await assoc.cancel()
                return await task
        r = run(cancelled())
        assert r.cancelled and r.completed + r.failed + r.warning < 6
    finally:
        pacs.close()
        sync.stop(dest)


def test_worklist_from_csv_dataframe_and_archive(tmp_path):
    csv = tmp_path / "wl.csv"
    csv.write_text("PatientID,PatientName,AccessionNumber,Modality,ScheduledStationAETitle,"
                   "ScheduledProcedureStepStartDate\n"
                   "P1,DOE^JANE,A1,MR,MR1,20240301\nP2,ROE^RICHARD,A2,CT,CT1,20240305\n"
                   "P3,POE^EDGAR,A3,CT,CT2,20240310\n")
    frame = pd.DataFrame({"PatientID": ["P1", "P2", "P3"], "PatientName": ["DOE^JANE", "ROE^RICHARD", "POE^EDGAR"],
                          "AccessionNumber": ["A1", "A2", "A3"], "Modality": ["MR", "CT", "CT"],
                          "ScheduledStationAETitle": ["MR1", "CT1", "CT2"],
                          "ScheduledProcedureStepStartDate": ["20240301", "20240305", "20240310"]})

    def answers(source, folder):
        pacs = sync.run(serve(tmp_path / folder, port=0, ae_title="RIS", worklist=source))
        try:
            with sync.connect("127.0.0.1", pacs.port, called_ae="RIS", timeout=TIMEOUT) as a:
                def q(**sps):
                    return a.find("STUDY", "worklist", PatientName=None, AccessionNumber=None,
                                  ScheduledProcedureStepSequence=dict({"Modality": None, "ScheduledStationAETitle": None,
                                                                       "ScheduledProcedureStepStartDate": None}, **sps))
                return (len(pacs.worklist), q(Modality="CT"), q(ScheduledStationAETitle="MR1"),
                        q(ScheduledProcedureStepStartDate="20240304-20240311"), q(Modality="US"),
                        q(PatientName=None), a.find("STUDY", "worklist", PatientName="ROE*", AccessionNumber=None))
        finally:
            pacs.close()

    def check(n, ct, station, dates, none, _all, by_name):
        assert n == 3
        assert sorted(ct.AccessionNumber) == ["A2", "A3"]
        assert list(station.AccessionNumber) == ["A1"]
        assert sorted(dates.AccessionNumber) == ["A2", "A3"]
        assert len(none) == 0
        assert list(by_name.AccessionNumber) == ["A2"] and list(map(str, by_name.PatientName)) == ["ROE^RICHARD"]

    from_csv = answers(csv, "a")
    from_frame = answers(frame, "f")
    from_api = answers(Worklist(frame), "w")
    for got in (from_csv, from_frame, from_api):
        check(*got)
    # the same answers, row for row, whatever the source
    key = lambda df: sorted(tuple(map(str, r)) for r in df[["AccessionNumber", "PatientName"]].values)  # noqa: E731
    for got in (from_frame, from_api):
        assert [key(df) for df in got[1:]] == [key(df) for df in from_csv[1:]]
    # the archive's own worklist persists in the archive folder
    arc = Archive(tmp_path / "b")
    wl = Worklist.for_archive(arc)
    wl.add(PatientID="P9", AccessionNumber="A9", Modality="US", ScheduledStationAETitle="US1")
    arc.close()
    pacs = sync.run(serve(tmp_path / "b", port=0, ae_title="RIS"))
    try:
        assert len(pacs.worklist) == 1 and pacs.worklist.to_frame().AccessionNumber.tolist() == ["A9"]
    finally:
        pacs.close()


def test_mpps_state_rules_and_records(pacs):
    with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", contexts=[MPPS_SOP_CLASS], timeout=TIMEOUT) as a:
        ds = Dataset()
        ds.PerformedProcedureStepStatus, ds.Modality, ds.PatientID = "IN PROGRESS", "CT", "P1"
        uid = a.n_create(MPPS_SOP_CLASS, ds).sop_instance_uid
        with pytest.raises(DimseError) as dup:
            a.n_create(MPPS_SOP_CLASS, ds, sop_instance=uid)
        bad = Dataset(); bad.PerformedProcedureStepStatus = "COMPLETED"
        with pytest.raises(DimseError) as not_in_progress:
            a.n_create(MPPS_SOP_CLASS, bad)
        with pytest.raises(DimseError) as unknown:
            a.n_set(MPPS_SOP_CLASS, "1.2.3.4.5", bad)
        wrong = Dataset(); wrong.PerformedProcedureStepStatus = "PAUSED"
        with pytest.raises(DimseError) as invalid:
            a.n_set(MPPS_SOP_CLASS, uid, wrong)
        assert a.n_set(MPPS_SOP_CLASS, uid, bad).status == 0
        again = Dataset(); again.PerformedProcedureStepStatus = "DISCONTINUED"
        with pytest.raises(DimseError) as final:
            a.n_set(MPPS_SOP_CLASS, uid, again)
        got = a.n_get(MPPS_SOP_CLASS, uid)
    assert dup.value.status == 0x0111 and not_in_progress.value.status == 0x0106
    assert unknown.value.status == 0x0112 and invalid.value.status == 0x0106
    assert final.value.status == 0x0110
    assert got.dataset.PerformedProcedureStepStatus == "COMPLETED"
    df = pacs.mpps.to_frame()
    assert df[["SOPInstanceUID", "PerformedProcedureStepStatus", "Modality", "calling_ae"]].values.tolist() == \
        [[uid, "COMPLETED", "CT", "PACSNB"]]
    assert STATUS_NO_LONGER_UPDATABLE == 0xA710
    assert (pacs.archive.root / "mpps.json").is_file()



def _commitment_request(series, transaction_uid: str) -> Dataset:
    """A Storage Commitment request (N-ACTION information) for these instances."""
    info = Dataset()
    info.TransactionUID = transaction_uid
    info.ReferencedSOPSequence = [Dataset({"ReferencedSOPClassUID": str(d.SOPClassUID),
                                           "ReferencedSOPInstanceUID": str(d.SOPInstanceUID)}) for d in series]
    return info

def test_storage_commitment_reports_on_a_new_association(tmp_path):
    series = make_ct_series(n_slices=3, rows=8, columns=8)
    reports = []
    got = threading.Event()

    def on_report(r):
        reports.append((r.command.event_type_id, r.dataset, r.association.calling_ae_title))
        got.set()
        return 0
    modality = sync.start(net.Server({"N-EVENT-REPORT": on_report}, port=0, ae_title="CT1",
                                     sop_classes={"N-EVENT-REPORT": [COMMITMENT_SOP_CLASS]}))
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", peers={"CT1": ("127.0.0.1", modality.port)}))
    try:
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS", timeout=TIMEOUT) as a:
            a.store(series[:2], progress=False)
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS",
                          contexts=[COMMITMENT_SOP_CLASS], timeout=TIMEOUT) as a:
            info = _commitment_request(series, "1.2.826.0.1.3680043.10.1.99")
            assert a.n_action(COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, 1, info).status == 0
        assert got.wait(TIMEOUT)
        # an unknown requester is refused: the result could not be delivered
        with sync.connect("127.0.0.1", pacs.port, ae_title="STRANGER", called_ae="PACS",
                          contexts=[COMMITMENT_SOP_CLASS], timeout=TIMEOUT) as a:
            with pytest.raises(DimseError) as err:
                a.n_action(COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, 1, info)
        assert err.value.status == 0x0110
    finally:
        pacs.close()
        sync.stop(modality)
    event, ds, caller = reports[0]
    assert event == 2 and caller == "PACS"
    assert ds.TransactionUID == "1.2.826.0.1.3680043.10.1.99"
    assert sorted(i.ReferencedSOPInstanceUID for i in ds.ReferencedSOPSequence) == \
        sorted(str(d.SOPInstanceUID) for d in series[:2])
    assert [(i.ReferencedSOPInstanceUID, int(i.FailureReason)) for i in ds.FailedSOPSequence] == \
        [(str(series[2].SOPInstanceUID), 0x0112)]
    df = pacs.commitment.to_frame()
    assert df[["committed", "failed", "event_type", "delivered"]].values.tolist() == [[2, 1, 2, True]]



def test_storage_commitment_reports_on_the_requesters_association_while_it_stays(tmp_path):
    series = make_ct_series(n_slices=2, rows=8, columns=8)
    on_new = []
    modality = sync.start(net.Server({"N-EVENT-REPORT": lambda r: on_new.append(r) or 0}, port=0, ae_title="CT1",
                                     sop_classes={"N-EVENT-REPORT": [COMMITMENT_SOP_CLASS]}))
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", peers={"CT1": ("127.0.0.1", modality.port)},
                          commitment="same-association"))
    try:
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS",
                          contexts=[COMMITMENT_SOP_CLASS, str(series[0].SOPClassUID)], timeout=TIMEOUT) as a:
            a.store(series, progress=False)
            info = _commitment_request(series, "1.2.826.0.1.3680043.10.1.98")
            assert a.n_action(COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, 1, info).status == 0
            report = a.event_report(timeout=TIMEOUT)
            assert a.echo() == 0  # the association goes on
    finally:
        pacs.close()
        sync.stop(modality)
    assert report.event_type_id == 1 and report.sop_instance_uid == COMMITMENT_SOP_INSTANCE
    assert report.dataset.TransactionUID == "1.2.826.0.1.3680043.10.1.98"
    assert sorted(i.ReferencedSOPInstanceUID for i in report.dataset.ReferencedSOPSequence) == \
        sorted(str(d.SOPInstanceUID) for d in series)
    assert "FailedSOPSequence" not in report.dataset
    assert on_new == []  # nothing on a new association
    assert pacs.commitment.to_frame()[["event_type", "delivered", "association"]].values.tolist() == \
        [[1, True, "same"]]


def test_a_report_sent_on_the_association_but_unanswered_is_not_sent_again(tmp_path):
    """PS3.4 J.3.3.1.2: the transaction ends with its report. A requester that answers too late
    (here: it reads nothing for 1.6 s, the SCP waits 1 s) gets it once, on its association."""
    import time

    from pacsnb.services.commitment import StorageCommitment

    series = make_ct_series(n_slices=1, rows=8, columns=8)
    on_new = []
    modality = sync.start(net.Server({"N-EVENT-REPORT": lambda r: on_new.append(r) or 0}, port=0, ae_title="CT1",
                                     sop_classes={"N-EVENT-REPORT": [COMMITMENT_SOP_CLASS]}))
    archive = Archive(tmp_path / "a")
    commitment = StorageCommitment(archive, peers={"CT1": ("127.0.0.1", modality.port)}, ae_title="PACS",
                                   timeout=1.0, same_association=True)
    pacs = sync.start(net.Server(commitment.handlers(), port=0, ae_title="PACS", sop_classes=commitment.sop_classes()))
    try:
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="PACS",
                          contexts=[COMMITMENT_SOP_CLASS], timeout=TIMEOUT) as a:
            info = _commitment_request(series, "1.2.826.0.1.3680043.10.1.97")
            assert a.n_action(COMMITMENT_SOP_CLASS, COMMITMENT_SOP_INSTANCE, 1, info).status == 0
            time.sleep(1.6)  # not reading: the report waits, unanswered, past the SCP's timeout
            report = a.event_report(timeout=TIMEOUT)
        sync.run(commitment.drain(10))
    finally:
        sync.stop(pacs)
        sync.stop(modality)
        archive.close()
    assert report.event_type_id == 2 and report.dataset.TransactionUID == "1.2.826.0.1.3680043.10.1.97"
    assert on_new == []  # not again on a new association
    assert commitment.to_frame()[["event_type", "delivered", "association"]].values.tolist() == [[2, False, "same"]]


def test_commitment_setting_of_the_configuration():
    assert ServeConfig.from_dict({"commitment": "same-association"}).commitment == "same-association"
    assert ServeConfig.from_dict({"commitment": False}).commitment is False
    with pytest.raises(ConfigError, match="same-association"):
        ServeConfig.from_dict({"commitment": "sometimes"})

def test_anonymize_on_ingest_from_the_configuration(tmp_path):
    series = make_ct_series(n_slices=2, rows=8, columns=8)
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS",
                          config={"anonymize": {"profile": "basic", "key": "k"}}))
    try:
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            assert a.store(series, progress=False) == [0, 0]
            df = a.find("STUDY", PatientID="*", PatientName=None, fields=["NumberOfStudyRelatedInstances"])
        assert df.NumberOfStudyRelatedInstances.tolist() == [2]
        assert df.StudyInstanceUID[0] != str(series[0].StudyInstanceUID)
        assert str(series[0].PatientName) not in set(map(str, df.PatientName))
    finally:
        pacs.close()


def test_on_stored_callback_and_toml_configuration(tmp_path):
    toml = tmp_path / "pacs.toml"
    toml.write_text('ae_title = "TOMLPACS"\nport = 0\narchive = "arc"\nallowed_calling_aes = ["CT1"]\n'
                    'duplicates = "replace"\n[peers]\nWS = { host = "127.0.0.1", port = 11113 }\n'
                    '[limits]\nmax_associations = 4\nmax_find_results = 1\n')
    cfg = load_config(toml)
    assert cfg.archive == str(tmp_path / "arc") and cfg.peers == {"WS": ("127.0.0.1", 11113)}
    seen = []
    pacs = sync.run(serve(config=toml, on_stored=seen.append))
    try:
        assert pacs.ae_title == "TOMLPACS" and pacs.server.max_associations == 4
        series = make_ct_series(n_slices=2, rows=8, columns=8)
        with sync.connect("127.0.0.1", pacs.port, ae_title="CT1", called_ae="TOMLPACS", timeout=TIMEOUT) as a:
            assert a.store(series + series[:1], progress=False) == [0, 0, 0]  # replace policy
            assert len(a.find("SERIES", StudyInstanceUID=str(series[0].StudyInstanceUID))) == 1
            assert len(a.find("IMAGE", StudyInstanceUID=str(series[0].StudyInstanceUID))) == 1  # max_find_results
        assert sorted(r.action for r in seen) == ["replaced", "stored", "stored"]
        assert Path(pacs.archive.root) == tmp_path / "arc"
    finally:
        pacs.close()
    for bad, what in [({"prot": 1}, "unknown key 'prot'"), ({"port": "x"}, "port must be"),
                      ({"duplicates": "merge"}, "duplicates must be"),
                      ({"peers": {"WS": {"host": "h"}}}, "peers.WS"),
                      ({"limits": {"max_associations": -1}}, "limits.max_associations"),
                      ({"tls": {"certfile": "a.pem"}}, "certfile and keyfile")]:
        with pytest.raises(ConfigError, match=what):
            ServeConfig.from_dict(bad)
    (tmp_path / "bad.toml").write_text("port = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_stop_waits_for_a_store_in_progress(tmp_path):
    """A graceful stop answers the C-STORE being handled, and what was answered Success is stored."""
    big = make_ct_series(n_slices=4, rows=256, columns=256)
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS"))
    statuses = []

    async def send():
        async with net.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            for ds in big:
                try:
                    statuses.append(await a.store(ds, progress=False))
                except Exception:
                    break

    async def main():
        task = asyncio.ensure_future(send())
        await asyncio.sleep(0.05)
        await pacs.stop()
        try:
            await asyncio.wait_for(task, TIMEOUT)
        except Exception:
            pass
    run(main())
    arc = Archive(tmp_path / "a")
    try:
        assert arc.stats()["instances"] >= statuses.count(0)
        assert arc.verify().ok
    finally:
        arc.close()


def test_conversion_on_ingest_keeps_the_pixels(tmp_path):
    series = make_ct_series(n_slices=2, rows=16, columns=16)
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS", convert_to="1.2.840.10008.1.2.5"))
    try:
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
            assert a.store(series, progress=False) == [0, 0]
        for ds in series:
            stored = pacs.archive.read(str(ds.SOPInstanceUID))
            assert str(stored.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.5"
            assert (pacsnb.pixel_array(stored) == pacsnb.pixel_array(ds)).all()
    finally:
        pacs.close()


def test_deid_findings_are_summarized_not_logged_per_image(tmp_path, caplog):
    # images the de-identification flags (Recognizable Visual Features YES, option not chosen)
    series = make_ct_series(n_slices=6, rows=8, columns=8)
    for ds in series:
        ds.RecognizableVisualFeatures = "YES"
    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS",
                          config={"anonymize": {"profile": "basic", "key": "k"}}))
    with caplog.at_level("WARNING"):
        try:
            with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT) as a:
                assert a.store(series, progress=False) == [0] * len(series)
            assert pacs.deid.images == len(series)
        finally:
            pacs.close()
    flagged = [r.getMessage() for r in caplog.records if "recognizable visual features" in r.getMessage()]
    # one line at the first finding, the rest at stop, and the total: not one per image
    assert flagged and len(flagged) <= 3 < len(series)
    assert f"{len(series)} of {len(series)} images flagged 'recognizable visual features' in all" in flagged[-1]
    # the detail stays retrievable, one entry per image
    report = pacs.anonymizer.report
    assert sorted(r["SOPInstanceUID"] for r in report) == sorted(str(d.SOPInstanceUID) for d in series)
    assert {r["flag"] for r in report} == {"recognizable visual features"}


def test_serve_limits_default_to_the_network_maximum_pdu(tmp_path):
    import tomllib

    from pacsnb.net.pdu import DEFAULT_MAXIMUM_LENGTH
    from pacsnb.services.config import DEFAULT_CONFIG, LIMITS

    pacs = sync.run(serve(tmp_path / "a", port=0, ae_title="PACS"))
    try:
        assert pacs.config.limits["max_pdu_length"] == DEFAULT_MAXIMUM_LENGTH == LIMITS["max_pdu_length"]
        # our SCU proposes a smaller maximum: what the server sends honours it (a 64 KiB image
        # comes back whole in PDUs the SCU accepts)
        series = make_ct_series(n_slices=2, rows=128, columns=128)
        with sync.connect("127.0.0.1", pacs.port, called_ae="PACS", timeout=TIMEOUT, max_pdu_length=16384) as a:
            assert a.store(series, progress=False) == [0, 0]
            got = a.get("SERIES", into=tmp_path / "got", progress=False,
                        StudyInstanceUID=str(series[0].StudyInstanceUID),
                        SeriesInstanceUID=str(series[0].SeriesInstanceUID))
        assert got.ok and got.completed == 2
    finally:
        pacs.close()
    assert tomllib.loads(DEFAULT_CONFIG)["limits"]["max_pdu_length"] == DEFAULT_MAXIMUM_LENGTH
