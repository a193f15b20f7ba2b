"""The options that go beyond the attribute table: Retain Safe Private (PS3.15 Table E.3.10-1),
Clean Pixel Data (region rules, derived ultrasound regions, compressed frames), Clean Graphics
(overlay planes, curves, graphic annotation text) and Clean Recognizable Visual Features (the
report and the recorded code sequence)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pydicom
import pytest

import pacsnb
from pacsnb.deid import Anonymizer, anonymize, verify
from pacsnb.deid.pixels import load_regions, outside_ultrasound_regions, regions_for
from pacsnb.deid.profile import safe_private_table
from pacsnb.dicom import DataElement, Dataset, Sequence
from pacsnb.errors import DeidError
from pacsnb.io import read_bytes
from pacsnb.io.writer import encode_file
from pacsnb.pixels import pixel_array, transcode
from pacsnb.samples import make_ct_series, make_mr_series, make_us_image

KEY = "options test key"


# --- Retain Safe Private -------------------------------------------------------------------------------------

def _private_dataset() -> Dataset:
    """Safe and unsafe private elements of several creators, in several blocks, top level and in items."""
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    add = ds.add
    # group 0019: an unknown creator in block 10, GEMS_ACQU_01 in block 11, SIEMENS MR HEADER in block 12
    add(DataElement(0x00190010, "LO", "ACME PRIVATE"))
    add(DataElement(0x00191023, "LO", "UNSAFE-SAME-OFFSET"))   # same offset as a safe GE element: other creator
    add(DataElement(0x00190011, "LO", "GEMS_ACQU_01"))
    add(DataElement(0x00191123, "DS", "39.375"))                # Table Speed: safe
    add(DataElement(0x00191124, "DS", "7.5"))                   # Mid Scan Time: safe
    add(DataElement(0x00191125, "LO", "UNSAFE-NOT-LISTED"))    # not in the table
    add(DataElement(0x00191127, "LO", "UNSAFE-WRONG-VR"))      # listed as DS
    add(DataElement(0x0019119E, "LO", "FIESTA"))               # Internal Pulse Sequence Name: safe LO
    add(DataElement(0x00190012, "LO", "SIEMENS MR HEADER"))
    add(DataElement(0x0019120C, "IS", "1000"))                  # B Value: safe
    add(DataElement(0x0019120E, "FD", [0.0, 0.6, 0.8]))         # Diffusion Gradient Direction: safe
    # group 0029: SIEMENS MR HEADER is safe in group 0019 only
    add(DataElement(0x00290010, "LO", "SIEMENS MR HEADER"))
    add(DataElement(0x0029100C, "IS", "1000"))
    add(DataElement(0x00291010, "OB", b"UNSAFE-CSA-HEADER\x00"))
    # group 0043, block 0x20: GEMS_PARM_01
    add(DataElement(0x00430020, "LO", "GEMS_PARM_01"))
    add(DataElement(0x00432027, "SH", "1.375:1"))               # Scan Pitch Ratio: safe
    add(DataElement(0x00432039, "IS", ["1000", "0", "0", "0"]))  # B Value: safe
    # group 0011: a creator with nothing safe
    add(DataElement(0x00110010, "LO", "ACME ONLY"))
    add(DataElement(0x00111001, "LO", "UNSAFE-ACME-ONLY"))
    # group 2001: a safe private sequence whose item holds a name and private elements of its own
    item = Dataset()
    item.add(DataElement(0x00100010, "PN", "UNSAFE^NAMEINITEM"))
    item.add(DataElement(0x20010010, "LO", "Philips Imaging DD 001"))
    item.add(DataElement(0x20011001, "FL", 1.5))                # MR Image Chemical Shift: safe
    item.add(DataElement(0x20011002, "LO", "UNSAFE-IN-ITEM"))   # listed as IS
    item.add(DataElement(0x00110010, "LO", "ACME ONLY"))
    item.add(DataElement(0x00111001, "LO", "UNSAFE-ACME-IN-ITEM"))
    add(DataElement(0x20010010, "LO", "Philips Imaging DD 001"))
    add(DataElement(0x2001105F, "SQ", Sequence([item])))        # Stack Sequence: safe
    # a standard sequence holding private elements
    ref = Dataset()
    ref.add(DataElement(0x00080100, "SH", "P1"))
    ref.add(DataElement(0x00190010, "LO", "GEMS_ACQU_01"))
    ref.add(DataElement(0x00191023, "DS", "20"))
    ref.add(DataElement(0x00191025, "LO", "UNSAFE-NESTED"))
    add(DataElement(0x00081032, "SQ", Sequence([ref])))
    return ds


def _unsafe_left(ds: Dataset) -> list[bytes]:
    data = encode_file(ds, "1.2.840.10008.1.2.1")
    return [w for w in (b"UNSAFE", b"ACME", b"NAMEINITEM") if w in data]


def test_the_generated_table_is_table_e_3_10_1():
    t = safe_private_table()
    assert len(t) == 479
    assert all(g & 1 for _c, g, _e in t) and all(0 <= e <= 0xFF for _c, _g, e in t)
    assert t[("GEMS_ACQU_01", 0x0019, 0x23)] == "DS" and t[("Philips Imaging DD 001", 0x2001, 0x7D)] == "OW/OB"
    assert t[("SIEMENS Ultrasound SC2000", 0x0119, 0x11)] == ""  # the table leaves this VR blank
    assert ("SIEMENS MR HEADER", 0x0029, 0x0C) not in t


def test_retain_safe_private_keeps_exactly_the_safe_elements():
    ds = _private_dataset()
    an = Anonymizer("basic", ["retain_safe_private"], KEY)
    out = an(ds)
    private = {t for t in out._dict if (t >> 16) & 1}
    assert private == {0x00190011, 0x00191123, 0x00191124, 0x0019119E, 0x00190012, 0x0019120C, 0x0019120E,
                       0x00430020, 0x00432027, 0x00432039, 0x20010010, 0x2001105F}
    assert str(out[0x00191123].value) == "39.375" and list(out[0x0019120E].value) == [0.0, 0.6, 0.8]
    item = out[0x2001105F].value[0]
    assert {t for t in item._dict if (t >> 16) & 1} == {0x20010010, 0x20011001}
    assert item.PatientName != "UNSAFE^NAMEINITEM"  # the kept sequence's items are de-identified
    ref = out.ProcedureCodeSequence[0]
    assert {t for t in ref._dict if (t >> 16) & 1} == {0x00190010, 0x00191023} and ref.CodeValue == "P1"
    assert not _unsafe_left(out)
    with pytest.warns(UserWarning, match="is skipped"):
        assert len(verify(out, anonymizer=an)) == 0
    # pydicom, as an oracle, reads the kept elements under their creators
    p = pydicom.dcmread(__import__("io").BytesIO(encode_file(out, "1.2.840.10008.1.2.1")))
    assert float(p.private_block(0x0019, "GEMS_ACQU_01")[0x23].value) == 39.375
    assert p.private_block(0x0043, "GEMS_PARM_01")[0x27].value == "1.375:1"


def test_without_the_option_every_private_element_goes():
    out = Anonymizer("basic", [], KEY)(_private_dataset())
    assert not [t for t in out._dict if (t >> 16) & 1]
    assert not [t for t in out[0x00081032].value[0]._dict if (t >> 16) & 1]


def test_safe_private_read_as_un_from_implicit_vr(monkeypatch):
    from pacsnb.dicom import dictionary

    # no private dictionary registered (other tests register pydicom's, which knows GEMS_ACQU_01)
    monkeypatch.setattr(dictionary, "_private", {})
    monkeypatch.setattr(dictionary, "_private_creators", {})
    ds = _private_dataset()
    del ds[0x2001105F]
    back = read_bytes(encode_file(ds, "1.2.840.10008.1.2"))
    assert back[0x00191123].VR == "UN"
    out = Anonymizer("basic", ["retain_safe_private"], KEY)(back)
    kept = {t for t in out._dict if (t >> 16) & 1}
    assert {0x00191123, 0x00191124, 0x0019119E, 0x0019120C, 0x0019120E, 0x00432027, 0x00432039} <= kept
    assert 0x00191127 not in kept and 0x00191125 not in kept  # text where the table says DS; not listed
    assert not _unsafe_left(out)


def test_user_safe_list_adds_to_the_table():
    ds = _private_dataset()
    out = Anonymizer("basic", ["retain_safe_private"], KEY, safe_private={"ACME ONLY": [0x01]})(ds)
    assert str(out[0x00111001].value) == "UNSAFE-ACME-ONLY" and 0x00110010 in out
    assert 0x00191123 in out  # the standard's list still applies


# --- Clean Pixel Data ----------------------------------------------------------------------------------------

def _us(rows=32, columns=48, frames=2, top=8) -> Dataset:
    ds = make_us_image(rows=rows, columns=columns, n_frames=frames)
    ds.BurnedInAnnotation = "YES"
    ds.SequenceOfUltrasoundRegions[0].RegionLocationMinY0 = top
    return ds


def test_outside_ultrasound_regions_is_the_complement_of_the_regions():
    ds = _us(rows=20, columns=30, frames=1, top=0)
    regions = ds.SequenceOfUltrasoundRegions
    regions[0].RegionLocationMinX0, regions[0].RegionLocationMinY0 = 2, 4
    regions[0].RegionLocationMaxX1, regions[0].RegionLocationMaxY1 = 14, 15
    second = Dataset({"RegionLocationMinX0": 16, "RegionLocationMinY0": 4, "RegionLocationMaxX1": 27,
                      "RegionLocationMaxY1": 9})
    ds.SequenceOfUltrasoundRegions = [regions[0], second]
    mask = np.zeros((20, 30), bool)
    for x0, y0, x1, y1 in outside_ultrasound_regions(ds):
        assert not mask[y0:y1, x0:x1].any()  # no overlap
        mask[y0:y1, x0:x1] = True
    want = np.ones((20, 30), bool)
    want[4:16, 2:15] = False
    want[4:10, 16:28] = False
    assert np.array_equal(mask, want)
    assert regions_for(ds) == outside_ultrasound_regions(ds)  # the shipped rule
    ds.BurnedInAnnotation = "NO"
    assert regions_for(ds) == []  # it applies only where annotation is burned in


LOSSLESS = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57",
            "1.2.840.10008.1.2.4.80"]


@pytest.mark.parametrize("ts", LOSSLESS + ["1.2.840.10008.1.2.4.50"])
def test_clean_pixel_data_blanks_the_derived_ultrasound_band(ts, tmp_path):
    src = _us()
    ds = transcode(src, ts) if ts != LOSSLESS[0] else src
    before = pixel_array(ds).astype(int)
    path, _ = anonymize(ds, "clean_pixel", key=KEY, out=tmp_path, progress=False)
    out = pacsnb.read(path)
    assert str(out.file_meta.TransferSyntaxUID) == ts
    after = pixel_array(out).astype(int)
    assert after.shape == before.shape == (2, 32, 48, 3)
    assert out.BurnedInAnnotation == "NO" and "113101" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    if ts == "1.2.840.10008.1.2.4.50":  # lossy: encoded again, so only nearly equal
        assert after[:, :8].max() <= 2
        assert np.abs(after[:, 8:] - before[:, 8:]).mean() < 4
    else:
        assert not after[:, :8].any()
        assert np.array_equal(after[:, 8:], before[:, 8:])
        assert np.array_equal(pydicom.dcmread(path).pixel_array.astype(int), after) if ts in LOSSLESS[:2] else True


@pytest.mark.parametrize("ts", LOSSLESS)
def test_clean_pixel_data_on_16_bit_frames_with_user_rules(ts, tmp_path):
    src = make_mr_series(n_slices=1, rows=16, columns=20)[0]
    src.Manufacturer, src.ManufacturerModelName = "ACME", "Magnet 3T"
    ds = transcode(src, ts) if ts != LOSSLESS[0] else src
    before = pixel_array(ds).astype(int)
    table = pd.DataFrame({"manufacturer": ["acme", "acme", "other"], "model": ["magnet.*", "magnet.*", ".*"],
                          "rows": [16, 16, None], "x0": [0, 15, 0], "y0": [0, 10, 0], "x1": [20, 20, 20],
                          "y1": [3, 16, 16]})
    path, _ = anonymize(ds, "clean_pixel", key=KEY, regions=table, boxes=[(5, 5, 7, 7)], out=tmp_path,
                        progress=False)
    after = pixel_array(pacsnb.read(path)).astype(int)
    blank = np.zeros(before.shape, bool)
    blank[:3, :] = blank[10:, 15:] = blank[5:7, 5:7] = True
    assert before[blank].any() and not after[blank].any()
    assert np.array_equal(after[~blank], before[~blank])


def test_region_rules_from_csv_and_json_files(tmp_path):
    csv_path = tmp_path / "regions.csv"
    csv_path.write_text("manufacturer,model,sop_class,rows,columns,x0,y0,x1,y1\n"
                        "ACME,Sono.*,1.2.840.10008.5.1.4.1.1.6.1,480,640,0,0,640,40\n"
                        "ACME,Sono.*,,,,600,440,640,480\n", encoding="utf-8")
    json_path = tmp_path / "regions.json"
    json_path.write_text(json.dumps({"rules": [{"manufacturer": "ACME", "boxes": [[1, 2, 3, 4]]}]}), encoding="utf-8")
    ds = Dataset({"Manufacturer": "ACME", "ManufacturerModelName": "Sono 5", "Rows": 480, "Columns": 640,
                  "SOPClassUID": "1.2.840.10008.5.1.4.1.1.6.1"})
    assert regions_for(ds, csv_path) == [(0, 0, 640, 40), (600, 440, 640, 480)]
    assert regions_for(ds, str(json_path)) == [(1, 2, 3, 4)]
    ds.Rows = 240
    assert regions_for(ds, csv_path) == [(600, 440, 640, 480)]
    with pytest.raises(DeidError, match="unknown key"):
        load_regions([{"manufacturer": "x", "box": [0, 0, 1, 1]}])
    with pytest.raises(DeidError, match="x0 <= x1"):
        load_regions([{"boxes": [[5, 0, 1, 1]]}])
    with pytest.raises(DeidError, match="cannot read"):
        load_regions(tmp_path / "missing.json")


def test_burned_in_annotation_with_regions_covering_the_image_is_refused(tmp_path):
    ds = _us(top=0)  # the region covers the whole image: nothing is known to hold the text
    with pytest.raises(DeidError, match="burned-in annotation"):
        anonymize(ds, "clean_pixel", key=KEY, out=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.dcm"))


# --- Clean Graphics ------------------------------------------------------------------------------------------

def _with_graphics() -> Dataset:
    ds = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    for g in (0x6000, 0x6002):
        ds.add(DataElement((g << 16) | 0x0010, "US", 8))
        ds.add(DataElement((g << 16) | 0x0011, "US", 8))
        ds.add(DataElement((g << 16) | 0x0040, "CS", "G"))
        ds.add(DataElement((g << 16) | 0x0050, "SS", [1, 1]))
        ds.add(DataElement((g << 16) | 0x0100, "US", 1))
        ds.add(DataElement((g << 16) | 0x0102, "US", 0))
        ds.add(DataElement((g << 16) | 0x0022, "LO", "OVERLAYDESC DOE^JOHN"))
        ds.add(DataElement((g << 16) | 0x3000, "OW", b"\xff\x00" * 4))
        ds.add(DataElement((g << 16) | 0x4000, "LT", "OVERLAYCOMMENT"))
    ds.add(DataElement(0x50000005, "US", 2))
    ds.add(DataElement(0x50003000, "OW", b"CURVEDATA!"))
    text = Dataset({"UnformattedTextValue": "DOE^JOHN 1961", "AnchorPointAnnotationUnits": "PIXEL"})
    graphic = Dataset({"GraphicAnnotationUnits": "PIXEL", "GraphicDimensions": 2, "NumberOfGraphicPoints": 2,
                       "GraphicData": [1.0, 1.0, 4.0, 4.0], "GraphicType": "POLYLINE"})
    ann_text_only = Dataset({"GraphicLayer": "TEXT"})
    ann_text_only.add(DataElement(0x00700008, "SQ", Sequence([text.copy()])))
    ann_both = Dataset({"GraphicLayer": "BOTH"})
    ann_both.add(DataElement(0x00700008, "SQ", Sequence([text])))
    ann_both.add(DataElement(0x00700009, "SQ", Sequence([graphic])))
    ds.add(DataElement(0x00700001, "SQ", Sequence([ann_text_only, ann_both])))
    return ds


def test_clean_graphics_removes_overlays_curves_and_annotation_text():
    an = Anonymizer("basic", ["clean_graphics"], KEY)
    out = an(_with_graphics())
    assert not [t for t in out._dict if 0x5000 <= (t >> 16) <= 0x60FF]  # whole planes and curves gone
    anns = out.GraphicAnnotationSequence
    assert len(anns) == 1 and anns[0].GraphicLayer == "BOTH"   # the text-only annotation is dropped
    assert 0x00700008 not in anns[0] and list(anns[0].GraphicObjectSequence[0].GraphicData) == [1.0, 1.0, 4.0, 4.0]
    data = encode_file(out, "1.2.840.10008.1.2.1")
    assert b"DOE^JOHN" not in data and b"OVERLAY" not in data and b"CURVEDATA" not in data
    assert "113103" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]


def test_basic_profile_removes_overlay_planes_whole_and_replaces_annotations():
    out = Anonymizer("basic", [], KEY)(_with_graphics())
    assert not [t for t in out._dict if 0x5000 <= (t >> 16) <= 0x60FF]  # no plane left without its data
    data = encode_file(out, "1.2.840.10008.1.2.1")
    assert b"DOE^JOHN" not in data
    kept = Anonymizer("basic", [], KEY, keep=["OverlayData"])(_with_graphics())
    assert 0x60003000 in kept and 0x60000010 in kept  # a kept Overlay Data keeps its plane


# --- Clean Recognizable Visual Features ----------------------------------------------------------------------

def test_visual_features_report_says_which_images_and_why(tmp_path):
    head = make_ct_series(n_slices=2, rows=8, columns=8)
    for ds in head:
        ds.BodyPartExamined = "HEAD"
    chest = make_ct_series(n_slices=1, rows=8, columns=8, seed=3)[0]
    chest.BodyPartExamined = "CHEST"
    an = Anonymizer("basic", ["clean_recognizable_visual_features"], KEY)
    outs = [an(ds) for ds in head + [chest]]
    assert [r["SOPInstanceUID"] for r in an.report] == [str(ds.SOPInstanceUID) for ds in head]
    for r, out in zip(an.report, outs):
        assert r["flag"] == "recognizable visual features" and r["Modality"] == "CT"
        assert "CT of the HEAD" in r["reason"] and "not recorded" in r["reason"]
        assert r["new_SOPInstanceUID"] == str(out.SOPInstanceUID) != r["SOPInstanceUID"]
    codes = [[i.CodeValue for i in o.DeidentificationMethodCodeSequence] for o in outs]
    assert codes[0] == codes[1] == ["113100"]          # flagged, not cleaned: the option is not claimed
    assert codes[2] == ["113100", "113102"]            # nothing recognizable found: the option holds
    assert outs[2].DeidentificationMethod[-1] == "Clean Recognizable Visual Features Option"
    yes = make_ct_series(n_slices=1, rows=8, columns=8)[0]
    yes.RecognizableVisualFeatures = "YES"
    plain = Anonymizer("basic", [], KEY)
    plain(yes)
    assert plain.report[0]["flag"] == "recognizable visual features"
    assert "(0028,0302) is YES" in plain.report[0]["reason"]
