"""Synthetic enhanced multi-frame images: one Enhanced CT or Enhanced MR instance per series.

The frames are the slices of :func:`~pacsnb.samples.make_ct_series` /
:func:`~pacsnb.samples.make_mr_series` (same phantom, same geometry), put into one
instance with the Multi-frame Functional Groups module (PS3.3 C.7.6.16): Pixel Measures,
Plane Orientation and Pixel Value Transformation in the Shared Functional Groups Sequence,
Plane Position and Frame Content per frame.

Examples
--------
>>> from pacsnb.samples.enhanced import make_enhanced_series
>>> ds = make_enhanced_series("CT", n_frames=4, rows=16, columns=16)
>>> ds.SOPClassUID.name, int(ds.NumberOfFrames), len(ds.PerFrameFunctionalGroupsSequence)
('Enhanced CT Image Storage', 4, 4)
>>> [float(v) for v in ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence[0].ImagePositionPatient]
[-5.25, -5.25, -1.25]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples.identity import derive_seed, sample_uid

__all__ = ["make_enhanced_series", "ENHANCED_SOP_CLASSES"]

#: SOP Class UIDs of the enhanced images made here.
ENHANCED_SOP_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2.1", "MR": "1.2.840.10008.5.1.4.1.1.4.1"}

# per-slice attributes of the classic images that the functional groups replace
_PER_FRAME = ("SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
              "SliceThickness", "SliceLocation", "SpacingBetweenSlices", "RescaleIntercept", "RescaleSlope",
              "RescaleType", "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "AcquisitionTime",
              "ContentTime", "PixelData", "ImagesInAcquisition")


def make_enhanced_series(modality: str = "CT", n_frames: int = 20, rows: int = 64, columns: int = 64, *,
                         shuffle_frames: bool = False, seed: int = 0, **series_kwargs: Any) -> Dataset:
    """One Enhanced CT / Enhanced MR Image Storage instance holding a whole stack.

    Parameters
    ----------
    modality
        ``"CT"`` or ``"MR"``.
    n_frames, rows, columns
        Size of the stack.
    shuffle_frames
        Store the frames in a random (seeded) order, to test sorting by Plane Position.
    seed
        As for the classic generators.
    **series_kwargs
        Geometry and phantom arguments of :func:`~pacsnb.samples.make_ct_series` or
        :func:`~pacsnb.samples.make_mr_series` (``pixel_spacing``, ``orientation``,
        ``slice_thickness``, ``origin``, ``phantom``, ``noise``, ...).

    Returns
    -------
    Dataset
        With Number of Frames, Shared and Per-frame Functional Groups Sequences and the
        frames' Pixel Data (16-bit).

    Raises
    ------
    PacsnbError
        For another modality or the errors of the classic generator.

    Examples
    --------
    >>> ds = make_enhanced_series("MR", n_frames=3, rows=8, columns=8, orientation=(0, 1, 0, 0, 0, -1))
    >>> sh = ds.SharedFunctionalGroupsSequence[0]
    >>> [float(v) for v in sh.PlaneOrientationSequence[0].ImageOrientationPatient]
    [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    """
    from pacsnb.samples.ct import make_ct_series
    from pacsnb.samples.mr import make_mr_series

    if modality not in ENHANCED_SOP_CLASSES:
        raise PacsnbError(f"modality must be 'CT' or 'MR', got {modality!r}")
    make = make_ct_series if modality == "CT" else make_mr_series
    slices = make(n_frames, rows, columns, seed=seed, **series_kwargs)
    first = slices[0]
    ds = Dataset()
    for e in first:
        if e.keyword not in _PER_FRAME:
            ds.add(e._copy())
    ds.SOPClassUID = ENHANCED_SOP_CLASSES[modality]
    ds.SOPInstanceUID = sample_uid("enhanced", str(first.SeriesInstanceUID))
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.NumberOfFrames = n_frames
    ds.ContentTime = first.ContentTime
    if modality == "MR":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    shared = Dataset()
    shared.PixelMeasuresSequence = [Dataset({"PixelSpacing": first.PixelSpacing,
                                             "SliceThickness": first.SliceThickness})]
    shared.PlaneOrientationSequence = [Dataset({"ImageOrientationPatient": first.ImageOrientationPatient})]
    if "RescaleSlope" in first:
        shared.PixelValueTransformationSequence = [Dataset({
            "RescaleIntercept": first.RescaleIntercept, "RescaleSlope": first.RescaleSlope,
            "RescaleType": first.get("RescaleType", "US") or "US"})]
    if "WindowCenter" in first:
        wc, ww = first.WindowCenter, first.WindowWidth
        wc = wc[0] if isinstance(wc, list) else wc
        ww = ww[0] if isinstance(ww, list) else ww
        shared.FrameVOILUTSequence = [Dataset({"WindowCenter": wc, "WindowWidth": ww})]
    ds.SharedFunctionalGroupsSequence = [shared]
    order = np.arange(n_frames)
    if shuffle_frames:
        order = np.random.default_rng(derive_seed("frames", str(first.SeriesInstanceUID))).permutation(n_frames)
    per_frame = []
    pixels = []
    for k in order:
        s = slices[int(k)]
        item = Dataset()
        item.FrameContentSequence = [Dataset({"StackID": "1", "InStackPositionNumber": int(k) + 1,
                                              "DimensionIndexValues": [1, int(k) + 1]})]
        item.PlanePositionSequence = [Dataset({"ImagePositionPatient": s.ImagePositionPatient})]
        per_frame.append(item)
        pixels.append(np.asarray(s.PixelData).view(np.uint16).reshape(rows, columns))
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.add_new(0x7FE00010, "OW", np.ascontiguousarray(np.stack(pixels)).ravel())
    return ds
