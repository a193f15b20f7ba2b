"""Clean Pixel Data: blank the regions where devices burn in text, on native and compressed frames.

Regions come from rules (manufacturer, model, SOP class, image size -> boxes) and from boxes
given by the user. Boxes are ``(x0, y0, x1, y1)`` in pixels, ``x`` along the columns, ``y``
down the rows, half-open (``x0 <= x < x1``), clipped to the image; they are filled with the
smallest value the pixel data can hold (black, for MONOCHROME2 and RGB). Compressed frames
are decoded, blanked and encoded again in the same transfer syntax when pacsnb has its
encoder; otherwise the data set is written with native pixel data in Explicit VR Little
Endian, and the change is logged.

:data:`DEFAULT_REGIONS` ships empty: burned-in areas are a property of each device's
configuration, so a site lists its own (one row per device) and passes them as
``regions=``.

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

import logging
import re
from typing import Any, Iterable

import numpy as np

from pacsnb.codecs import can_encode
from pacsnb.dicom import DataElement, Dataset, UID
from pacsnb.errors import DeidError, PacsnbError
from pacsnb.pixels.array import pixel_array, pixel_format
from pacsnb.pixels.transcode import transcode

__all__ = ["DEFAULT_REGIONS", "regions_for", "clean_pixels", "recognizable_features"]

log = logging.getLogger(__name__)

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_PIXEL_DATA = 0x7FE00010

#: Rules shipped with pacsnb (none: see the module documentation). Each rule is a dict with
#: ``manufacturer`` and ``model`` (regular expressions, matched in full, case-insensitive),
#: optional ``sop_class`` (a UID), ``rows`` and ``columns``, and ``boxes``.
DEFAULT_REGIONS: list[dict] = []


def _rules(regions: Any) -> list[dict]:
    if regions is None:
        return list(DEFAULT_REGIONS)
    if hasattr(regions, "to_dict"):  # a DataFrame, one rule per row
        return [dict(r) for r in regions.to_dict("records")]
    return [dict(r) for r in regions]


def regions_for(ds: Dataset, regions: Any = None) -> list[tuple[int, int, int, int]]:
    """The boxes to blank in ``ds`` according to the rules that match it.

    Parameters
    ----------
    ds
        The data set (Manufacturer, Manufacturer's Model Name, SOP Class UID, Rows and
        Columns are matched).
    regions
        Rules: a list of dicts or a DataFrame (see :data:`DEFAULT_REGIONS`); ``None`` for
        the shipped ones.

    Returns
    -------
    list of (x0, y0, x1, y1)

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"Manufacturer": "ACME", "ManufacturerModelName": "Sono 5", "Rows": 480, "Columns": 640})
    >>> regions_for(ds, [{"manufacturer": "acme", "model": "sono.*", "boxes": [(0, 0, 640, 40)]}])
    [(0, 0, 640, 40)]
    >>> regions_for(ds, [{"manufacturer": "other", "model": ".*", "boxes": [(0, 0, 1, 1)]}])
    []
    """
    out: list[tuple[int, int, int, int]] = []
    man = str(ds.get(0x00080070, "") or "").strip()
    model = str(ds.get(0x00081090, "") or "").strip()
    sop = str(ds.get(0x00080016, "") or "").strip()
    for rule in _rules(regions):
        if not re.fullmatch(str(rule.get("manufacturer", ".*")), man, re.I):
            continue
        if not re.fullmatch(str(rule.get("model", ".*")), model, re.I):
            continue
        if rule.get("sop_class") and str(rule["sop_class"]) != sop:
            continue
        if rule.get("rows") and int(rule["rows"]) != int(ds.get(0x00280010, 0) or 0):
            continue
        if rule.get("columns") and int(rule["columns"]) != int(ds.get(0x00280011, 0) or 0):
            continue
        out.extend(tuple(int(v) for v in box) for box in rule.get("boxes", ()))  # type: ignore[misc]
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
