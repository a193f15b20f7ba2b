"""Clean Pixel Data: blank the regions where devices burn in text, on native and compressed frames.

Regions come from rules and from boxes given by the user. Boxes are ``(x0, y0, x1, y1)`` in
pixels, ``x`` along the columns, ``y`` down the rows, half-open (``x0 <= x < x1``), clipped
to the image; they are filled with the smallest value the pixel data can hold (zero: black
for MONOCHROME2 and RGB). Compressed frames are decoded, blanked and encoded again in the
same transfer syntax when pacsnb has its encoder (RLE, JPEG lossless, JPEG-LS, JPEG
baseline and extended); otherwise the data set is written with native pixel data in
Explicit VR Little Endian, and the change is logged.

Rules
-----
A rule says which images it applies to and what to blank. It is a dict (a JSON object, or
one row of a table) with these keys, all optional except what to blank:

=================  =============================================================================
``manufacturer``   regular expression matched in full (case-insensitive) against Manufacturer
``model``          the same against Manufacturer's Model Name
``sop_class``      a SOP Class UID, or a list of them
``modality``       a Modality value (``US``, ``CR``, ...)
``rows``           Rows of the image
``columns``        Columns of the image
``burned_in``      ``"YES"``: only for images whose Burned In Annotation is YES
``boxes``          boxes to blank: ``[[x0, y0, x1, y1], ...]``; in a table, one box per row
                   in columns ``x0``, ``y0``, ``x1``, ``y1`` (rows with the same keys add up)
``derive``         a region computed from the data set: ``"outside_ultrasound_regions"``
                   (everything outside the boxes of the Sequence of Ultrasound Regions)
=================  =============================================================================

Empty cells of a table (and ``None``) match anything. User rules (``regions=``) are a
DataFrame, a CSV or JSON file (a list of rules, or ``{"rules": [...]}``), a dict or a list
of dicts; they are used together with the shipped rules.

The shipped rules (:data:`DEFAULT_REGIONS`, from ``pacsnb/deid/_data/pixel_regions.json``)
hold only what follows from the data set itself, because where a device burns in text is a
property of its configuration, not a published fact: for an ultrasound image whose Burned
In Annotation is YES and that describes its image areas in the Sequence of Ultrasound
Regions (0018,6011), everything outside those regions is blanked (the bands where the
patient's name, dates and the institution are written). Text a device writes *inside* an
image region (measurements, labels) is not found this way: give ``boxes=`` or a rule for
the device. An image with burned-in annotation that no rule covers is refused by the
:class:`~pacsnb.deid.Anonymizer` (never written uncleaned).

Examples
--------
>>> import numpy as np
>>> from pacsnb.samples import make_us_image
>>> from pacsnb.pixels import pixel_array
>>> ds = make_us_image(rows=16, columns=24)
>>> rules = [{"manufacturer": ".*", "model": ".*", "boxes": [(0, 0, 24, 4)]}]
>>> boxes = regions_for(ds, rules)
>>> clean_pixels(ds, boxes)
>>> int(pixel_array(ds)[:4].max())
0
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from typing import Any, Iterable

import numpy as np

from pacsnb.codecs import can_encode
from pacsnb.dicom import DataElement, Dataset, UID
from pacsnb.errors import DeidError, PacsnbError
from pacsnb.pixels.array import pixel_array, pixel_format
from pacsnb.pixels.transcode import transcode

__all__ = ["DEFAULT_REGIONS", "load_regions", "regions_for", "outside_ultrasound_regions", "clean_pixels",
           "recognizable_features"]

log = logging.getLogger(__name__)

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_PIXEL_DATA = 0x7FE00010
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data", "pixel_regions.json")
_KEYS = ("manufacturer", "model", "sop_class", "modality", "rows", "columns", "burned_in", "boxes", "derive",
         "x0", "y0", "x1", "y1", "name", "why")


def _load_default() -> list[dict]:
    with open(_DATA, "rb") as f:
        return [dict(r) for r in json.loads(f.read())["rules"]]


#: The shipped rules (see the module documentation), read from
#: ``pacsnb/deid/_data/pixel_regions.json``.
DEFAULT_REGIONS: list[dict] = _load_default()


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _rule(raw: Any, where: str) -> dict:
    if not isinstance(raw, dict):
        raise DeidError(f"a region rule is a dict (or a table row), not {type(raw).__name__} ({where})")
    rule = {str(k).strip().lower(): v for k, v in raw.items() if not _missing(v)}
    unknown = sorted(set(rule) - set(_KEYS))
    if unknown:
        raise DeidError(f"unknown key(s) {', '.join(unknown)} in a region rule ({where}): use "
                        f"{', '.join(_KEYS[:9])} or x0, y0, x1, y1")
    boxes = []
    try:
        if "boxes" in rule:
            raw_boxes = rule["boxes"]
            if isinstance(raw_boxes, str):
                raw_boxes = json.loads(raw_boxes)
            boxes = [tuple(int(v) for v in b) for b in raw_boxes]
        corners = [rule.pop(k) for k in ("x0", "y0", "x1", "y1") if k in rule]
        if corners:
            if len(corners) != 4:
                raise ValueError("a box needs all of x0, y0, x1, y1")
            boxes.append(tuple(int(float(v)) for v in corners))
        for k in ("rows", "columns"):
            if k in rule:
                rule[k] = int(float(rule[k]))
    except (TypeError, ValueError) as exc:
        raise DeidError(f"bad boxes in a region rule ({where}): {exc}; a box is [x0, y0, x1, y1]") from exc
    for b in boxes:
        if len(b) != 4 or b[2] < b[0] or b[3] < b[1]:
            raise DeidError(f"a box is (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1, not {b} ({where})")
    rule["boxes"] = boxes
    if not boxes and "derive" not in rule:
        raise DeidError(f"a region rule gives neither boxes nor derive ({where})")
    if "derive" in rule and rule["derive"] not in _DERIVED:
        raise DeidError(f"unknown derive {rule['derive']!r} in a region rule ({where}): use "
                        f"{', '.join(sorted(_DERIVED))}")
    for k in ("manufacturer", "model"):
        if k in rule:
            try:
                re.compile(str(rule[k]))
            except re.error as exc:
                raise DeidError(f"bad regular expression {rule[k]!r} for {k} in a region rule ({where}): {exc}") \
                    from exc
    return rule


def load_regions(regions: Any) -> list[dict]:
    """Region rules from a DataFrame, a CSV or JSON file, a dict or a list of dicts, checked.

    Parameters
    ----------
    regions
        The rules (see the module documentation); ``None`` for none.

    Returns
    -------
    list of dict
        One rule per entry, ``boxes`` as a list of ``(x0, y0, x1, y1)``.

    Raises
    ------
    DeidError
        For a file that cannot be read, an unknown key, a bad box or regular expression.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"manufacturer": ["ACME"], "model": ["Sono.*"], "x0": [0], "y0": [0],
    ...                       "x1": [640], "y1": [40]})
    >>> load_regions(table)[0]["boxes"]
    [(0, 0, 640, 40)]
    """
    if regions is None:
        return []
    if hasattr(regions, "to_dict"):  # a DataFrame, one rule per row
        return [_rule(r, f"row {i}") for i, r in enumerate(regions.to_dict("records"))]
    if isinstance(regions, (str, os.PathLike)):
        path = os.fspath(regions)
        try:
            with open(path, encoding="utf-8", newline="") as f:
                if path.lower().endswith(".csv"):
                    return [_rule(r, f"{path} line {i + 2}") for i, r in enumerate(csv.DictReader(f))]
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise DeidError(f"cannot read the region rules {path}: {exc}") from exc
        regions = data
    if isinstance(regions, dict):
        regions = regions.get("rules", [regions]) if "rules" in regions else [regions]
    return [_rule(r, f"rule {i}") for i, r in enumerate(regions)]


def outside_ultrasound_regions(ds: Dataset) -> list[tuple[int, int, int, int]]:
    """Boxes covering everything outside the Sequence of Ultrasound Regions' boxes.

    Parameters
    ----------
    ds
        The data set (Rows, Columns and the Sequence of Ultrasound Regions (0018,6011), whose
        Region Location Min X0 / Min Y0 / Max X1 / Max Y1 are inclusive pixel bounds).

    Returns
    -------
    list of (x0, y0, x1, y1)
        Empty when the data set has no regions, or when they cover the whole image.

    Examples
    --------
    >>> from pacsnb.samples import make_us_image
    >>> ds = make_us_image(rows=20, columns=30)
    >>> r = ds.SequenceOfUltrasoundRegions[0]
    >>> r.RegionLocationMinY0, r.RegionLocationMaxY1 = 5, 19
    >>> outside_ultrasound_regions(ds)
    [(0, 0, 30, 5)]
    """
    rows = int(ds.get(0x00280010, 0) or 0)
    cols = int(ds.get(0x00280011, 0) or 0)
    items = ds.get(0x00186011)
    if not rows or not cols or not items:
        return []
    keep = []
    for item in items:
        try:
            x0, y0 = int(item.get(0x00186018)), int(item.get(0x0018601A))
            x1, y1 = int(item.get(0x0018601C)) + 1, int(item.get(0x0018601E)) + 1
        except (TypeError, ValueError):
            continue  # a region without its location: it protects nothing
        x0, x1 = max(0, min(x0, cols)), max(0, min(x1, cols))
        y0, y1 = max(0, min(y0, rows)), max(0, min(y1, rows))
        if x1 > x0 and y1 > y0:
            keep.append((x0, y0, x1, y1))
    if not keep:
        return []
    xs = sorted({0, cols, *(b[0] for b in keep), *(b[2] for b in keep)})
    ys = sorted({0, rows, *(b[1] for b in keep), *(b[3] for b in keep)})
    out = []
    for ya, yb in zip(ys, ys[1:]):
        start = None
        for xa, xb in zip(xs, xs[1:]):
            covered = any(k[0] <= xa and xb <= k[2] and k[1] <= ya and yb <= k[3] for k in keep)
            if not covered and start is None:
                start = xa
            elif covered and start is not None:
                out.append((start, ya, xa, yb))
                start = None
        if start is not None:
            out.append((start, ya, cols, yb))
    return out


_DERIVED = {"outside_ultrasound_regions": outside_ultrasound_regions}


def _text(ds: Dataset, tag: int) -> str:
    return str(ds.get(tag, "") or "").strip()


def regions_for(ds: Dataset, regions: Any = None, *, defaults: bool = True) -> list[tuple[int, int, int, int]]:
    """The boxes to blank in ``ds`` according to the rules that match it.

    Parameters
    ----------
    ds
        The data set (Manufacturer, Manufacturer's Model Name, SOP Class UID, Modality, Rows,
        Columns and Burned In Annotation are matched).
    regions
        User rules (see :func:`load_regions`), used with the shipped ones.
    defaults
        Use the shipped rules (:data:`DEFAULT_REGIONS`) too.

    Returns
    -------
    list of (x0, y0, x1, y1)

    Raises
    ------
    DeidError
        For bad rules.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"Manufacturer": "ACME", "ManufacturerModelName": "Sono 5", "Rows": 480, "Columns": 640})
    >>> regions_for(ds, [{"manufacturer": "acme", "model": "sono.*", "boxes": [(0, 0, 640, 40)]}])
    [(0, 0, 640, 40)]
    >>> regions_for(ds, [{"manufacturer": "other", "model": ".*", "boxes": [(0, 0, 1, 1)]}])
    []
    """
    rules = (list(DEFAULT_REGIONS) if defaults else []) + [r for r in load_regions(regions)]
    out: list[tuple[int, int, int, int]] = []
    man = _text(ds, 0x00080070)
    model = _text(ds, 0x00081090)
    sop = _text(ds, 0x00080016)
    modality = _text(ds, 0x00080060).upper()
    burned = _text(ds, 0x00280301).upper() == "YES"
    for raw in rules:
        rule = raw if isinstance(raw.get("boxes"), list) and all(isinstance(b, tuple) for b in raw["boxes"]) \
            else _rule(raw, "shipped rule")
        if not re.fullmatch(str(rule.get("manufacturer", ".*")), man, re.I):
            continue
        if not re.fullmatch(str(rule.get("model", ".*")), model, re.I):
            continue
        want = rule.get("sop_class")
        if want and sop not in ([str(u).strip() for u in want] if isinstance(want, (list, tuple)) else
                                [str(want).strip()]):
            continue
        if rule.get("modality") and str(rule["modality"]).strip().upper() != modality:
            continue
        if rule.get("rows") and int(rule["rows"]) != int(ds.get(0x00280010, 0) or 0):
            continue
        if rule.get("columns") and int(rule["columns"]) != int(ds.get(0x00280011, 0) or 0):
            continue
        if str(rule.get("burned_in", "")).strip().upper() == "YES" and not burned:
            continue
        out.extend(rule["boxes"])
        if rule.get("derive"):
            out.extend(_DERIVED[rule["derive"]](ds))
    return out


def clean_pixels(ds: Dataset, boxes: Iterable[Any]) -> None:
    """Blank ``boxes`` in every frame of ``ds`` (in place).

    Parameters
    ----------
    ds
        The data set; its Pixel Data is replaced. Compressed data is re-encoded in its own
        transfer syntax when pacsnb can encode it, else made native (Explicit VR Little
        Endian, ``file_meta`` updated).
    boxes
        ``(x0, y0, x1, y1)`` boxes.

    Raises
    ------
    DeidError
        When the pixel data cannot be decoded or encoded again (the message says why).

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> from pacsnb.pixels import pixel_array, transcode
    >>> ds = transcode(make_ct_series(n_slices=1, rows=8, columns=8)[0], "1.2.840.10008.1.2.5")
    >>> clean_pixels(ds, [(0, 0, 8, 2)])
    >>> ds.file_meta.TransferSyntaxUID.name, int(pixel_array(ds)[:2].max()) == int(pixel_array(ds).min())
    ('RLE Lossless', True)
    """
    boxes = [tuple(int(v) for v in b) for b in boxes]
    for b in boxes:
        if len(b) != 4 or b[2] < b[0] or b[3] < b[1]:
            raise DeidError(f"a box is (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1, not {b}")
    try:
        fmt = pixel_format(ds)
        src = UID(str(ds.transfer_syntax or _EXPLICIT_LE))
        encapsulated = bool(ds[_PIXEL_DATA].is_undefined_length)
        arr = np.array(pixel_array(ds), copy=True)
    except PacsnbError as exc:
        raise DeidError(f"cannot clean the pixel data: {exc}") from exc
    if fmt.bits_allocated == 1:
        raise DeidError("cannot clean 1-bit pixel data yet")
    frames = arr if fmt.frames > 1 else arr[None]
    fill = np.iinfo(arr.dtype).min if arr.dtype.kind in "iu" and fmt.signed else 0
    for x0, y0, x1, y1 in boxes:
        frames[:, max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0), ...] = fill
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    if len(data) & 1:
        data += b"\x00"
    for tag in (0x7FE00001, 0x7FE00002):
        if tag in ds:
            del ds[tag]
    ds.add(DataElement(_PIXEL_DATA, "OB" if fmt.bits_allocated <= 8 else "OW", data))
    if fmt.samples > 1:
        ds.PlanarConfiguration = 0
    if fmt.subsampled:
        ds.PhotometricInterpretation = "YBR_FULL"
    if ds.file_meta is None:
        ds.file_meta = Dataset()
    if not encapsulated:
        if src.is_transfer_syntax and not src.is_encapsulated:
            return
        ds.file_meta.TransferSyntaxUID = _EXPLICIT_LE
        return
    ds.file_meta.TransferSyntaxUID = _EXPLICIT_LE
    if can_encode(src):
        try:
            new = transcode(ds, src)
        except PacsnbError as exc:
            raise DeidError(f"cannot encode the cleaned pixel data again in {src.name or src}: {exc}") from exc
        for tag in (0x7FE00001, 0x7FE00002, _PIXEL_DATA, 0x00280006, 0x00280004):
            if tag in new:
                ds.add(new[tag])
        ds.file_meta.TransferSyntaxUID = str(src)
    else:
        log.warning("pixel data cleaned: pacsnb cannot encode %s, so it is written uncompressed "
                    "(Explicit VR Little Endian)", src.name or src)


def recognizable_features(ds: Dataset) -> str:
    """Why ``ds`` may show recognizable visual features (a face), or ``''``.

    Flags (does not change) images that say so (Recognizable Visual Features YES) and
    CT/MR images of the head, from which a face can be rendered.

    Parameters
    ----------
    ds
        The data set.

    Returns
    -------
    str

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> recognizable_features(Dataset({"Modality": "MR", "BodyPartExamined": "HEAD"}))
    'MR of the HEAD: a face may be rendered from the volume'
    >>> recognizable_features(Dataset({"Modality": "CT", "BodyPartExamined": "CHEST"}))
    ''
    """
    if str(ds.get(0x00280302, "") or "").strip().upper() == "YES":
        return "Recognizable Visual Features is YES"
    body = str(ds.get(0x00180015, "") or "").strip().upper()
    modality = str(ds.get(0x00080060, "") or "").strip().upper()
    if modality in ("CT", "MR", "PT") and body in ("HEAD", "BRAIN", "HEADNECK", "FACE", "SKULL", "NECK"):
        return f"{modality} of the {body}: a face may be rendered from the volume"
    return ""
