"""A derived series from write_series, read by the peers: pydicom (values, geometry, UIDs)
and dcmtk's dcmdump (the files parse)."""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from pacsnb.cohort import open_series, write_series
from pacsnb.samples import make_ct_series

pydicom = pytest.importorskip("pydicom")

HAVE_DCMDUMP = shutil.which("dcmdump") is not None
needs_dcmtk = pytest.mark.skipif(not HAVE_DCMDUMP and os.environ.get("PACSNB_REQUIRE_DCMTK") != "1",
                                 reason="dcmtk is not installed")


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    src = make_ct_series(5, 16, 12, pixel_spacing=(0.6, 0.8), seed=31)
    vol = open_series(src)
    out = (vol + 0.5).assign_attrs(vol.attrs)  # non-integer: exercises slope/intercept
    paths = write_series(out, src, tmp_path_factory.mktemp("derived"), progress=False)
    return src, out, paths


def test_pydicom_reads_values_and_geometry(derived):
    src, vol, paths = derived
    step = float(vol.max() - vol.min()) / 65535
    uids = set()
    for k, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        assert np.abs(hu - vol.values[k]).max() <= step * 0.51 + 1e-4
        np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient],
                                   [vol.ipp_x.values[k], vol.ipp_y.values[k], vol.ipp_z.values[k]], atol=1e-6)
        assert [float(v) for v in ds.PixelSpacing] == [0.6, 0.8]
        assert ds.FrameOfReferenceUID == src[0].FrameOfReferenceUID
        assert ds.StudyInstanceUID == src[0].StudyInstanceUID
        assert ds.SeriesInstanceUID != src[0].SeriesInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        uids.add(ds.SeriesInstanceUID)
    assert len(uids) == 1


@needs_dcmtk
def test_dcmdump_reads_every_file(derived):
    _, _, paths = derived
    for p in paths:
        run = subprocess.run(["dcmdump", "-q", "+E", str(p)], capture_output=True, text=True, errors="replace", timeout=30)
        assert run.returncode == 0, run.stderr
        assert "ImagePositionPatient" in run.stdout and "DERIVED\\SECONDARY" in run.stdout
        assert "E:" not in run.stderr
