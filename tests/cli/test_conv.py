"""``pacsnb conv``, run as the real command (``python -m pacsnb``) in a subprocess."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

import pacsnb
from pacsnb.samples import make_us_image, write_sample_file

REPO = Path(__file__).resolve().parents[2]
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pacsnb", "conv", *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    ct = write_sample_file(d / "ct.dcm")
    pacsnb.write(make_us_image(rows=24, columns=32, n_frames=2), d / "us.dcm")
    return d, Path(ct), d / "us.dcm"


@pytest.mark.parametrize("which,opts,ts", [
    ("us", ["--rle"], "1.2.840.10008.1.2.5"),
    ("ct", ["--jpeg-lossless"], "1.2.840.10008.1.2.4.57"),
    ("us", ["--jpeg-lossless", "--sv1"], "1.2.840.10008.1.2.4.70"),
    ("ct", ["--big-endian"], "1.2.840.10008.1.2.2"),
    ("us", ["--ts", "1.2.840.10008.1.2"], "1.2.840.10008.1.2"),
])
def test_conv_and_back(files, which, opts, ts):
    d, ct, us = files
    for src in (ct if which == "ct" else us,):
        out, back = d / f"{src.stem}-{ts}.dcm", d / f"{src.stem}-{ts}-back.dcm"
        r = run(src, out, *opts)
        assert r.returncode == 0, r.stderr
        assert pacsnb.read(out).file_meta.TransferSyntaxUID == ts
        r = run(out, back, "--explicit")
        assert r.returncode == 0, r.stderr
        assert np.array_equal(pydicom.dcmread(back).pixel_array, pacsnb.read(src).pixel_array)


def test_conv_decompresses_pydicom_rle(files):
    d = files[0]
    r = run(TEST_FILES / "SC_rgb_rle.dcm", d / "sc.dcm", "--explicit")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(pydicom.dcmread(d / "sc.dcm").pixel_array,
                          pydicom.dcmread(TEST_FILES / "SC_rgb_rle.dcm").pixel_array)


@pytest.mark.parametrize("args,text", [
    (["--ts", "1.2.840.10008.1.2.4.90"], "E: cannot encode JPEG 2000"),
    (["--ts", "1.2.3"], "E: '1.2.3' is not a transfer syntax UID"),
])
def test_conv_errors(files, args, text):
    d, ct, _ = files
    r = run(ct, d / "bad.dcm", *args)
    assert r.returncode == 1 and r.stderr.startswith(text) and "Traceback" not in r.stderr


def test_conv_missing_input(files):
    r = run(files[0] / "nope.dcm", files[0] / "x.dcm", "--rle")
    assert r.returncode == 1 and r.stderr.startswith("E: ") and "Traceback" not in r.stderr
