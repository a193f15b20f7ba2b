"""Helpers shared by the codec tests."""
from __future__ import annotations

from typing import Callable

import numpy as np
from hypothesis import strategies as st

from pacsnb.codecs.rle import FrameParams
from pacsnb.dicom import Dataset
from pacsnb.errors import CodecError
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


def decode_or_codec_error(decode: Callable, data: bytes, p: FrameParams) -> None:
    """What a codec's ``decode(data, p, frame=9)`` does with a damaged codestream: it gives an
    array of the frame's shape and type, or raises a CodecError naming the frame."""
    try:
        got = decode(data, p, frame=9)
    except CodecError as exc:
        assert "frame 9" in str(exc)
        return
    assert got.shape == p.shape and got.dtype == p.dtype


def insert_marker(*markers: int) -> Callable:
    """A :func:`mutate` edit: insert 0xFF and one of ``markers`` somewhere."""
    def edit(draw, data: bytearray) -> None:
        i = draw(st.integers(0, len(data)))
        data[i:i] = bytes([0xFF, draw(st.sampled_from(markers))])
    return edit


def mutate(draw, data: bytearray, edit: Callable, max_cut: int = 32, max_insert: int = 8) -> bytes:
    """``data`` after 1 to 6 random edits (hypothesis ``draw``): a byte changed, up to
    ``max_cut`` bytes cut, up to ``max_insert`` random bytes inserted, or the codec's own
    ``edit(draw, data)``."""
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "own"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "cut" and data:
            i = draw(st.integers(0, len(data) - 1))
            j = draw(st.integers(i, min(len(data), i + max_cut)))
            del data[i:j]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=max_insert))
        else:
            edit(draw, data)
    return bytes(data)
