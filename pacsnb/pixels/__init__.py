"""Pixels: frames of Pixel Data to numpy arrays.

It reads native (uncompressed) Pixel Data, Float Pixel Data and Double Float Pixel Data,
and encapsulated Pixel Data of every transfer syntax :mod:`pacsnb.codecs` can decode (RLE
Lossless so far), frame by frame, into arrays of stored values (see :func:`pixel_array`).
The Modality and VOI LUTs, photometric conversions and geometry come with the rest of the
pixel-data issue.

Importing this package registers ``Dataset.pixel_array`` (all frames, as
``pixel_array(ds)``).

Examples
--------
>>> import numpy as np
>>> import pacsnb.pixels
>>> from pacsnb.dicom import Dataset
>>> ds = Dataset()
>>> ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.PixelRepresentation = 2, 2, 1, 8, 0
>>> ds.PixelData = bytes([1, 2, 3, 4])
>>> ds.pixel_array
array([[1, 2],
       [3, 4]], dtype=uint8)
"""
from pacsnb.dicom.dataset import register_dataset_property
from pacsnb.pixels.array import (FrameIndexError, NoPixelDataError, PixelFormat, pixel_array,
                                 pixel_format)
from pacsnb.pixels.transforms import (LUT, TransformError, apply_modality_lut, apply_palette, apply_voi,
                                      apply_voi_lut, apply_windowing, convert_color_space, expand_segmented_lut,
                                      invert_monochrome1, overlay_array, overlay_groups)
from pacsnb.pixels.transcode import transcode

__all__ = ["pixel_array", "pixel_format", "PixelFormat", "NoPixelDataError", "FrameIndexError",
           "apply_modality_lut", "apply_voi_lut", "apply_windowing", "apply_voi", "invert_monochrome1",
           "convert_color_space", "apply_palette", "expand_segmented_lut", "overlay_array", "overlay_groups",
           "LUT", "TransformError", "transcode"]

def _writable_pixel_array(ds):
    # ``ds.pixel_array`` is a writable array, as pydicom users expect; pixel_array(ds) may
    # give a read-only zero-copy view of the file's bytes (no copy at all)
    arr = pixel_array(ds)
    return arr if arr.flags.writeable else arr.copy()


register_dataset_property("pixel_array", _writable_pixel_array)
