"""Anonymized files are read by pydicom and by dcmtk's dcmdump, for every preset, native and compressed."""
from __future__ import annotations

import os
import shutil
import subprocess

import pydicom
import pytest

import pacsnb
from pacsnb.deid import PRESETS, anonymize
from pacsnb.pixels import transcode
from pacsnb.samples import make_ct_series, make_us_image
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

HAVE_DCMTK = shutil.which("dcmdump") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdump")


def _inputs():
    ct = make_ct_series(n_slices=2, rows=8, columns=8, seed=5)
    ref = pacsnb.Dataset({"ReferencedSOPClassUID": ct[0].SOPClassUID,
                          "ReferencedSOPInstanceUID": ct[0].SOPInstanceUID})
    ct[1].ReferencedImageSequence = [ref]
    us = make_us_image(rows=16, columns=16, n_frames=2, seed=5)
    rle = transcode(make_ct_series(n_slices=1, rows=8, columns=8, seed=6)[0], "1.2.840.10008.1.2.5")
    return ct + [us, rle]


@pytest.mark.parametrize("profile", sorted(PRESETS))
def test_outputs_read_by_pydicom_and_dcmdump(profile, tmp_path):
    boxes = [(0, 0, 4, 4)] if "pixel" in profile or profile == "hipaa_safe_harbor" else None
    paths, key = anonymize(_inputs(), profile, key="interop", out=tmp_path, boxes=boxes, progress=False)
    assert len(paths) == 4
    for p in paths:
        ds = pydicom.dcmread(p)
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        ours = pacsnb.read(p)
        assert ours.SOPInstanceUID == ds.SOPInstanceUID
        if HAVE_DCMTK:
            r = subprocess.run(["dcmdump", "-q", "+E", str(p)], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "PatientIdentityRemoved" in r.stdout


@needs_dcmtk
def test_dcmdump_reads_every_output_without_warnings(tmp_path):
    paths, _ = anonymize(_inputs(), "gdpr_pseudonymization", key="interop", out=tmp_path, progress=False)
    for p in paths:
        r = subprocess.run(["dcmdump", "+E", str(p)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "E: " not in r.stderr and "W: " not in r.stderr, r.stderr
