"""The Anonymizer as the archive's ingest and retrieval transform (``callable(Dataset) -> Dataset``)."""
from __future__ import annotations

import pytest

from pacsnb.deid import Anonymizer, verify
from pacsnb.samples import make_ct_series

archive = pytest.importorskip("pacsnb.archive", reason="pacsnb.archive (issue 5) is not in this checkout")


def test_anonymize_on_ingest(tmp_path):
    series = make_ct_series(n_slices=2, rows=8, columns=8, seed=21)
    an = Anonymizer("retain_longitudinal", key="archive key")
    arc = archive.Archive(tmp_path / "arc", on_ingest=an)
    try:
        for ds in series:
            arc.store(ds)
        for ds in series:
            stored = arc.read(an.map.uid(str(ds.SOPInstanceUID)))
            assert stored.PatientIdentityRemoved == "YES" and stored.PatientID != ds.PatientID
        assert verify([arc.read(an.map.uid(str(d.SOPInstanceUID))) for d in series], "retain_longitudinal",
                      originals=series).empty
    finally:
        arc.close()


def test_anonymize_on_retrieval(tmp_path):
    series = make_ct_series(n_slices=1, rows=8, columns=8, seed=22)
    an = Anonymizer(key="archive key")
    arc = archive.Archive(tmp_path / "arc", on_retrieve=an)
    try:
        arc.store(series[0])
        out = arc.read(str(series[0].SOPInstanceUID))  # stored as is, anonymized when read
        assert out.PatientIdentityRemoved == "YES" and out.SOPInstanceUID != series[0].SOPInstanceUID
    finally:
        arc.close()
