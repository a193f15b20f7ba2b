"""Helpers shared by the codec tests."""
from __future__ import annotations

import numpy as np

from pacsnb.dicom import Dataset
from pacsnb.dicom.uid import generate_uid


def image_ds(arr: np.ndarray, bits_allocated: int, bits_stored: int, signed: bool, frames: int,
             name: str = "CODEC^TEST") -> Dataset:
    """A Secondary Capture data set (no pixel data yet) for ``arr`` (frames first)."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.PatientName = name
    ds.PatientID = name.split("^")[0]
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.NumberOfFrames = frames
    return ds
