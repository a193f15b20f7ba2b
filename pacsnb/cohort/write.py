"""Write a volume back as a derived DICOM series.

:func:`write_series` turns a ``(z, y, x)`` DataArray (a volume from
:func:`~pacsnb.cohort.volume.open_series`, or something computed from it on the same grid:
a filtered image, a mask) into one Part 10 file per slice. The files copy the patient,
study, equipment and frame-of-reference attributes of the template series, get a new
Series Instance UID and new SOP Instance UIDs, Image Type ``DERIVED\\SECONDARY``, and the
geometry of the DataArray's coordinates (so a cropped or sub-sampled volume is placed
right). Each slice references the template image at its position (Source Image Sequence).

Values are stored as 16-bit integers: whole numbers that fit ``int16`` / ``uint16`` exactly
(Rescale Slope 1, Intercept 0), others linearly quantised (Rescale Slope and Intercept set
so that :func:`~pacsnb.cohort.volume.open_series` gives them back to within half a step).

Examples
--------
>>> import tempfile
>>> from pacsnb.cohort.volume import open_series
>>> from pacsnb.cohort.write import write_series
>>> from pacsnb.samples import make_ct_series
>>> src = make_ct_series(n_slices=3, rows=16, columns=16)
>>> vol = open_series(src)
>>> paths = write_series(vol + 100, src, tempfile.mkdtemp(prefix="pacsnb-doc-"))
>>> back = open_series(paths)
>>> bool((back.values == vol.values + 100).all()), back.attrs["ImageType"][:2]
(True, ['DERIVED', 'SECONDARY'])
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from pacsnb.cohort.dataarray import volume_affine
from pacsnb.cohort.geometry import as_floats, direction_cosines
from pacsnb.cohort.volume import _frames_of, _images_from, _read_header, _series_check
from pacsnb.dicom.dataset import Dataset
from pacsnb.dicom.uid import generate_uid
from pacsnb.errors import GeometryError, PacsnbError
from pacsnb.io.writer import write

__all__ = ["write_series"]

log = logging.getLogger(__name__)

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
#: Enhanced SOP classes and the classic one a derived slice is written as.
_CLASSIC = {"1.2.840.10008.5.1.4.1.1.2.1": "1.2.840.10008.5.1.4.1.1.2",
            "1.2.840.10008.5.1.4.1.1.4.1": "1.2.840.10008.5.1.4.1.1.4"}
#: Attributes of the template that do not describe the derived images.
_DROP = ("SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "PixelData",
         "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue", "PixelPaddingRangeLimit",
         "ModalityLUTSequence", "VOILUTSequence", "PerFrameFunctionalGroupsSequence",
         "SharedFunctionalGroupsSequence", "NumberOfFrames", "FrameIncrementPointer", "SourceImageSequence",
         "ReferencedImageSequence", "DerivationCodeSequence", "SpacingBetweenSlices", "PlanarConfiguration",
         "DimensionIndexSequence", "DimensionOrganizationSequence", "ImagesInAcquisition", "IconImageSequence",
         "LossyImageCompressionRatio", "LossyImageCompressionMethod", "ImageComments")


def _storage(values: np.ndarray) -> tuple[np.ndarray, float, float, bool]:
    """``(stored uint16/int16 values, slope, intercept, signed)`` for modality values."""
    if values.dtype == bool:
        return values.astype(np.uint16), 1.0, 0.0, False
    v = values.astype(np.float64, copy=False) if values.dtype.kind != "f" else values
    if not np.isfinite(v).all():
        raise PacsnbError("the DataArray holds NaN or infinite values, which DICOM pixels cannot store; "
                          "fill them first (e.g. vol.fillna(-1024))")
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
    integral = values.dtype.kind in "uib" or bool(np.all(v == np.rint(v)))
    if integral and lo >= -32768 and hi <= 32767:
        return v.astype(np.int16), 1.0, 0.0, True
    if integral and lo >= 0 and hi <= 65535:
        return v.astype(np.uint16), 1.0, 0.0, False
    slope = float(f"{(hi - lo) / 65535.0:.9g}") if hi > lo else 1.0
    intercept = float(f"{lo:.9g}")
    stored = np.rint((v - intercept) / slope)
    np.clip(stored, 0, 65535, out=stored)
    log.info("write_series: values quantised to 16 bits, step %g", slope)
    return stored.astype(np.uint16), slope, intercept, False


def _ds(x: float) -> str:
    """A DS value (at most 16 characters)."""
    for digits in range(12, 4, -1):
        s = f"{x:.{digits}g}"
        if len(s) <= 16:
            return s
    return f"{x:.4e}"


def write_series(dataarray: Any, template_rows: Any, folder: str | os.PathLike, *,
                 series_description: str | None = None, series_number: int | None = None,
                 progress: bool = True) -> list[Path]:
    """Write a ``(z, y, x)`` DataArray as a derived series of single-frame images.

    Parameters
    ----------
    dataarray
        The volume, on the grid of the template series or a part of it (crop, slices):
        ``z``, ``y``, ``x`` and ``ipp_x``/``ipp_y``/``ipp_z`` coordinates as
        :func:`~pacsnb.cohort.volume.open_series` gives them, and the
        ``ImageOrientationPatient`` attribute. Modality values (or stored values when
        ``attrs["rescaled"]`` is false); a Dask-backed array is computed slice by slice.
    template_rows
        The template series, in any form :func:`~pacsnb.cohort.volume.open_series`
        takes (DataFrame rows, folder, paths, data sets).
    folder
        Created if needed; the files are ``00001.dcm``, ``00002.dcm``, ... in slice
        order. Existing files are never overwritten.
    series_description
        Default: the template's with `` (derived)``.
    series_number
        Default: the template's plus 1000.
    progress
        Show a progress bar (32 slices or more).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    GeometryError
        When the DataArray is not a ``(z, y, x)`` grey-level volume with coordinates, or its
        orientation differs from the template's frame of reference setup.
    PacsnbError
        For NaN values or a folder that already holds a file of the same name.

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.cohort.volume import open_series
    >>> from pacsnb.samples import make_ct_series
    >>> src = make_ct_series(n_slices=4, rows=16, columns=16)
    >>> mask = open_series(src) > 0
    >>> paths = write_series(mask[1:3], src, tempfile.mkdtemp(prefix="pacsnb-doc-"), series_description="mask")
    >>> back = open_series(paths)
    >>> back.shape, back.attrs["SeriesDescription"], back.attrs["FrameOfReferenceUID"] == src[0].FrameOfReferenceUID
    ((2, 16, 16), 'mask', True)
    """
    da = dataarray
    if tuple(da.dims) != ("z", "y", "x"):
        raise GeometryError(f"write_series writes (z, y, x) grey-level volumes; this DataArray has dims {da.dims} "
                            "(select one frame / channel first, or transpose)")
    affine = volume_affine(da)
    iop = as_floats(da.attrs.get("ImageOrientationPatient"), 6)
    row, col, normal = direction_cosines(iop)
    x, y = np.asarray(da.x, float), np.asarray(da.y, float)
    ipp = np.stack([np.asarray(da[f"ipp_{a}"], float) for a in "xyz"], axis=-1)
    positions = ipp + row * x[0] + col * y[0]
    dy, dx = float(np.linalg.norm(affine[:3, 1])), float(np.linalg.norm(affine[:3, 0]))
    images, what = _images_from(template_rows, False)
    images = _series_check(images, None, what)
    frames = [f for i, im in enumerate(images) for f in _frames_of(i, im)]
    first_image = images[frames[0].image]
    base = first_image.header
    if not isinstance(base, Dataset):
        base = _read_header(first_image.source)
    t_iop = frames[0].iop
    if t_iop is not None:
        t_normal = direction_cosines(t_iop)[2]
        if abs(float(t_normal @ normal)) < 0.9999:
            raise GeometryError("the DataArray's orientation differs from the template series': write_series keeps "
                                "the template's grid (resample onto it first)")
    # the template image nearest to each output slice, for Source Image Sequence
    t_pos = np.array([f.ipp if f.ipp is not None else [np.nan] * 3 for f in frames], float)
    t_d = t_pos @ normal
    sop_class = str(base.get("SOPClassUID", "") or "")
    new_class = _CLASSIC.get(sop_class, sop_class)
    series_uid = generate_uid()
    template = base.copy()
    template.remove_private_tags()
    for kw in _DROP:
        if kw in template:
            del template[kw]
    template.__dict__["file_meta"] = None
    template.SOPClassUID = new_class
    template.SeriesInstanceUID = series_uid
    number = series_number if series_number is not None else int(base.get("SeriesNumber", 0) or 0) + 1000
    template.SeriesNumber = int(number)
    desc = series_description if series_description is not None else \
        f"{base.get('SeriesDescription', '') or 'series'} (derived)"
    template.SeriesDescription = str(desc)[:64]
    image_type = [str(v) for v in (_as_list(base.get("ImageType")) or [])]
    template.ImageType = ["DERIVED", "SECONDARY"] + image_type[2:]
    template.DerivationDescription = "written by pacsnb.write_series from a volume"
    template.ImageOrientationPatient = [_ds(v) for v in iop]
    template.PixelSpacing = [_ds(dy), _ds(dx)]
    template.Rows, template.Columns = int(da.sizes["y"]), int(da.sizes["x"])
    template.SamplesPerPixel = 1
    template.PhotometricInterpretation = "MONOCHROME2"
    template.BitsAllocated = 16
    template.BitsStored = 16
    template.HighBit = 15
    if "RescaleType" not in template and str(base.get("Modality", "")) == "CT":
        template.RescaleType = "HU"
    rescaled = bool(da.attrs.get("rescaled", True))
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = int(da.sizes["z"])
    names = [out_dir / f"{k + 1:05d}.dcm" for k in range(n)]
    clash = [p for p in names if p.exists()]
    if clash:
        raise PacsnbError(f"{clash[0]} already exists: write_series never overwrites files; choose an empty folder")
    z = np.asarray(da.z, float)
    written: list[Path] = []
    steps = range(n)
    if progress and n >= 32:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="writing slices", leave=False)
    for k in steps:
        values = np.asarray(da.isel(z=k).values)
        ds = template.copy()
        if rescaled:
            stored, slope, intercept, signed = _storage(values)
            ds.RescaleSlope = _ds(slope)
            ds.RescaleIntercept = _ds(intercept)
        else:
            signed = values.dtype.kind == "i"
            stored = values.astype(np.int16 if signed else np.uint16)
        ds.PixelRepresentation = 1 if signed else 0
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in positions[k]]
        ds.SliceLocation = _ds(float(z[k]))
        if np.isfinite(t_d).any():
            j = int(np.nanargmin(np.abs(t_d - positions[k] @ normal)))
            src = frames[j]
            if src.sop:
                ref = Dataset()
                ref.ReferencedSOPClassUID = sop_class
                ref.ReferencedSOPInstanceUID = src.sop
                if src.ref.frame is not None:
                    ref.ReferencedFrameNumber = src.ref.frame + 1
                ds.SourceImageSequence = [ref]
        ds.add_new(0x7FE00010, "OW", np.ascontiguousarray(stored).view(np.uint16).ravel())
        write(ds, names[k], _EXPLICIT_LE)
        written.append(names[k])
    return written


def _as_list(v: Any) -> list | None:
    """A single or multi-value as a list (``None`` stays ``None``)."""
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return list(v)
