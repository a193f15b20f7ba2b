"""What a user changes is what gets written; what they do not change is written as read."""
from __future__ import annotations

import os
import stat

import numpy as np
import pydicom
import pytest

import pacsnb
from pacsnb import Dataset
from pacsnb.io import reader as R
from pacsnb.samples import make_ct_series, write_sample_file

SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"]


def _utf8_file(tmp_path):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jörg"
    item = Dataset()
    item.CodeMeaning = "Façade"
    ds.ProcedureCodeSequence = [item]
    path = tmp_path / "utf8.dcm"
    pacsnb.write(ds, path)
    return path


@pytest.mark.parametrize("ts", SYNTAXES)
@pytest.mark.parametrize("how", ["read", "copy", "untouched"])
def test_changing_the_character_set_of_a_read_file_reencodes_text(tmp_path, ts, how):
    ds = pacsnb.read(_utf8_file(tmp_path))
    if how == "copy":
        ds = ds.copy()
    if how == "read":
        assert ds.PatientName == "Müller^Jörg"  # decoded before the change
    ds.SpecificCharacterSet = "ISO_IR 100"
    out = tmp_path / "latin1.dcm"
    pacsnb.write(ds, out, ts)
    if ts != "1.2.840.10008.1.2.1.99":  # (deflated bytes hide the text)
        raw = out.read_bytes()
        assert "Müller^Jörg".encode("latin-1") in raw and "Müller".encode("utf-8") not in raw
    theirs = pydicom.dcmread(out)
    assert str(theirs.PatientName) == "Müller^Jörg"
    assert theirs.ProcedureCodeSequence[0].CodeMeaning == "Façade"
    assert pacsnb.read(out).ProcedureCodeSequence[0].CodeMeaning == "Façade"


def test_an_element_moved_between_data_sets_takes_the_target_character_set(tmp_path):
    src = pacsnb.read(_utf8_file(tmp_path))
    target = Dataset()
    target.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    target.SOPInstanceUID = "1.2.3.5"
    target.SpecificCharacterSet = "ISO_IR 100"
    target.add(src["PatientName"])
    out = tmp_path / "moved.dcm"
    pacsnb.write(target, out)
    assert str(pydicom.dcmread(out).PatientName) == "Müller^Jörg"


@pytest.mark.parametrize("ts", SYNTAXES)
def test_in_place_edits_of_multi_values_are_written(tmp_path, ts):
    path = write_sample_file(str(tmp_path / "ct.dcm"))
    ds = pacsnb.read(path)
    ds.ImageType[0] = "DERIVED"
    ds.ImagePositionPatient.append("1")
    ds.ImagePositionPatient.pop()
    ds.PixelSpacing.reverse()
    out = tmp_path / "edited.dcm"
    pacsnb.write(ds, out, ts)
    back = pacsnb.read(out)
    assert back.ImageType[0] == "DERIVED"
    assert [float(x) for x in back.PixelSpacing] == [float(x) for x in reversed(pacsnb.read(path).PixelSpacing)]
    theirs = pydicom.dcmread(out)
    assert theirs.ImageType[0] == "DERIVED"


def test_untouched_multi_values_keep_their_bytes(tmp_path):
    path = write_sample_file(str(tmp_path / "ct.dcm"))
    ds = pacsnb.read(path)
    assert len(ds.ImageType) >= 2  # decoded, not changed
    out = tmp_path / "same.dcm"
    pacsnb.write(ds, out)
    assert out.read_bytes() == open(path, "rb").read()


def test_written_files_have_the_usual_mode(tmp_path):
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    out = tmp_path / "a.dcm"
    pacsnb.write(ds, out)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    os.chmod(out, 0o640)
    pacsnb.write(ds, out)  # replacing a file keeps its mode
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_us_or_ss_follows_pixel_representation():
    ds = Dataset()
    ds.PixelRepresentation = 1
    ds.SmallestImagePixelValue = -1000
    assert ds["SmallestImagePixelValue"].VR == "SS"
    unsigned = Dataset()
    unsigned.PixelRepresentation = 0
    unsigned.LargestImagePixelValue = 4000
    assert unsigned["LargestImagePixelValue"].VR == "US"


def test_header_reads_of_large_files_read_only_the_start(tmp_path, monkeypatch):
    ds = make_ct_series(n_slices=1, rows=512, columns=512)[0]
    path = tmp_path / "big.dcm"
    pacsnb.write(ds, path)
    assert path.stat().st_size > R.HEADER_PREFIX
    seen = []
    real = R._read_source
    monkeypatch.setattr(R, "_read_source", lambda src: seen.append(src) or real(src))
    head = pacsnb.read(path, stop_before_pixels=True)
    assert seen == []  # answered from the first HEADER_PREFIX bytes
    assert "PixelData" not in head and head.Rows == 512
    full = pacsnb.read(path)
    assert {int(t) for t in head.keys()} == {int(t) for t in full.keys()} - {0x7FE00010}


def test_header_read_falls_back_when_the_header_is_longer_than_the_prefix(tmp_path, monkeypatch):
    ds = make_ct_series(n_slices=1, rows=64, columns=64)[0]
    ds.add_new(0x00091010, "LO", "x")  # a private element to check the rest survives
    ds.add_new(0x00090010, "LO", "PACSNB TEST")
    ds.add_new(0x00291010, "OB", np.zeros(100_000, np.uint8))  # a long element before the pixels
    path = tmp_path / "long-header.dcm"
    pacsnb.write(ds, path)
    monkeypatch.setattr(R, "HEADER_PREFIX", 4096)
    head = pacsnb.read(path, stop_before_pixels=True)
    assert head[0x00291010].value.size == 100_000 and "PixelData" not in head
    assert head.Rows == 64


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_header_read_of_a_truncated_large_file_still_names_the_problem(tmp_path, monkeypatch, fraction):
    ds = make_ct_series(n_slices=1, rows=512, columns=512)[0]
    ds.add_new(0x00291010, "OB", np.zeros(200_000, np.uint8))  # a header longer than the prefix
    path = tmp_path / "t.dcm"
    pacsnb.write(ds, path)
    data = path.read_bytes()
    header_end = data.index(b"\xe0\x7f\x10\x00")  # Pixel Data's tag
    path.write_bytes(data[:int(header_end * fraction)])  # cut inside the header
    with pytest.raises(pacsnb.InvalidDicomError) as exc:
        pacsnb.read(path, stop_before_pixels=True)
    assert exc.value.path == str(path)
