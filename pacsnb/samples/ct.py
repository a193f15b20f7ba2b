"""Synthetic CT series: CT Image Storage instances with true geometry and a 3-D phantom.

Examples
--------
>>> from pacsnb.samples import make_ct_series
>>> series = make_ct_series(n_slices=3, rows=32, columns=32, phantom="sphere", noise=0)
>>> [float(ds.SliceLocation) for ds in series]
[-2.5, 0.0, 2.5]
>>> ds = series[1]
>>> ds.Modality, ds.Rows, float(ds.RescaleIntercept), ds.ImageType
('CT', 32, -1024.0, ['ORIGINAL', 'PRIMARY', 'AXIAL'])
>>> int(ds.PixelData.reshape(32, 32)[16, 16]) - 1024   # the sphere's soft tissue, in HU
40
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples import _common as C
from pacsnb.samples.identity import format_ds
from pacsnb.samples.phantom import HU, PlaneStack, Shape

__all__ = ["iter_ct_series", "make_ct_series"]

_WINDOWS = {
    "shepp_logan": (["40", "600"], ["80", "2800"], ["BRAIN", "BONE"]),
    "head": (["40", "600"], ["80", "2800"], ["BRAIN", "BONE"]),
    "body": (["40", "-600"], ["400", "1500"], ["SOFT TISSUE", "LUNG"]),
}
_PADDING = -2000


def iter_ct_series(n_slices: int = 20, rows: int = 64, columns: int = 64, *, slice_thickness: float = 2.5,
                   pixel_spacing: tuple[float, float] = (0.7, 0.7),
                   orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
                   origin: tuple[float, float, float] | None = None,
                   spacing_between_slices: float | None = None, seed: int = 0,
                   patient: dict | None = None, study: dict | None = None, series_number: int = 1,
                   series_description: str | None = None, dtype: str = "uint16",
                   phantom: str | Sequence[Shape] = "shepp_logan", noise: float = 5.0,
                   phantom_center: tuple[float, float, float] | None = None,
                   phantom_scale: float | None = None, kernel: str = "STANDARD",
                   shuffle_instance_numbers: bool = False, charset: str = "ISO_IR 100") -> Iterator[Dataset]:
    """Generate a CT series one instance at a time (same arguments as :func:`make_ct_series`).

    Only one slice is in memory at a time, which suits 300-slice 512x512 benchmark series.

    Parameters
    ----------
    n_slices, rows, columns
        Size of the series.
    slice_thickness, pixel_spacing, orientation, origin, spacing_between_slices
        Geometry, as for :func:`make_ct_series`.
    seed, patient, study, series_number, series_description
        Identity, as for :func:`make_ct_series`.
    dtype, phantom, noise, phantom_center, phantom_scale, kernel
        Pixels, as for :func:`make_ct_series`.
    shuffle_instance_numbers, charset
        As for :func:`make_ct_series`.

    Yields
    ------
    Dataset
        One CT Image Storage instance per slice, in Instance Number order.

    Raises
    ------
    PacsnbError
        For an invalid size, geometry, phantom, ``dtype`` or ``charset``; raised when the
        first instance is asked for, as for any generator.

    Examples
    --------
    >>> from pacsnb.samples import iter_ct_series
    >>> [int(ds.InstanceNumber) for ds in iter_ct_series(n_slices=3, rows=16, columns=16)]
    [1, 2, 3]
    """
    if dtype not in ("uint16", "int16"):
        raise PacsnbError(f"dtype must be 'uint16' or 'int16', got {dtype!r}")
    step = float(spacing_between_slices) if spacing_between_slices is not None else float(slice_thickness)
    geo = C.make_geometry(n_slices, rows, columns, step, pixel_spacing, orientation, origin)
    name = phantom if isinstance(phantom, str) else "custom"
    body_part = C.body_part_of(phantom)
    patient, study = C.resolve_identity(seed, patient, study, "CT", body_part)
    stack = PlaneStack(phantom, geo.origin, geo.row_dir, geo.col_dir, geo.rows, geo.columns,
                       geo.pixel_spacing, geo.step,
                       geo.center if phantom_center is None else phantom_center,
                       geo.default_phantom_scale if phantom_scale is None else phantom_scale)
    signed = dtype == "int16"
    region = {"HEAD": "Head", "CHEST": "Body"}.get(body_part, "Phantom")
    description = series_description or f"{region} {format_ds(slice_thickness)}mm {kernel.title()}"
    start = C.series_start(study, series_number)
    ds0 = C.common_template(modality="CT", sop_class=C.SOP_CLASSES["CT"], patient=patient, study=study,
                            series_number=series_number, series_description=description, charset=charset,
                            station="SYNTHCT01", model="Synthetic CT", body_part=body_part,
                            patient_position="HFS", start=start)
    ds0.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    C.plane_template(ds0, geo, slice_thickness, spacing_between_slices)
    C.pixel_module(ds0, geo.rows, geo.columns, bits_stored=16 if signed else 12, signed=signed)
    # CT Image
    ds0.RescaleIntercept = "-1024"
    ds0.RescaleSlope = "1"
    ds0.RescaleType = "HU"
    ds0.KVP = "120"
    ds0.ScanOptions = "HELICAL MODE"
    ds0.DataCollectionDiameter = "500"
    ds0.ReconstructionDiameter = format_ds(geo.columns * geo.pixel_spacing[1])
    ds0.DistanceSourceToDetector = "1040"
    ds0.DistanceSourceToPatient = "570"
    ds0.GantryDetectorTilt = "0"
    ds0.TableHeight = "150"
    ds0.RotationDirection = "CW"
    ds0.ExposureTime = "500"
    ds0.XRayTubeCurrent = 200
    ds0.Exposure = 100
    ds0.FilterType = "BODY FILTER"
    ds0.GeneratorPower = 24
    ds0.FocalSpots = "1.2"
    ds0.ConvolutionKernel = kernel
    ds0.RevolutionTime = 0.5
    ds0.SpiralPitchFactor = 1.0
    ds0.CTDIvol = 12.5
    ds0.ImagesInAcquisition = geo.n
    # VOI LUT
    centers, widths, names = _WINDOWS.get(name, (["40"], ["400"], ["SOFT TISSUE"]))
    ds0.WindowCenter = centers
    ds0.WindowWidth = widths
    ds0.WindowCenterWidthExplanation = names
    pad_mask = None
    if signed:
        ds0.add_new(0x00280120, "SS", _PADDING)  # Pixel Padding Value, outside the reconstruction circle
        ii = (np.arange(geo.rows) - (geo.rows - 1) / 2) / (geo.rows / 2)
        jj = (np.arange(geo.columns) - (geo.columns - 1) / 2) / (geo.columns / 2)
        pad_mask = ii[:, None] ** 2 + jj[None, :] ** 2 > 1.0
    lo, hi = (-32768, 32767) if signed else (0, 4095)
    out_dtype = np.int16 if signed else np.uint16
    uid = ds0.SeriesInstanceUID
    order = C.instance_order(geo.n, shuffle_instance_numbers, uid)
    sigma = float(noise)
    lut = HU + np.float32(1024.0)
    for number, k in enumerate(order, start=1):
        k = int(k)
        stored = lut[stack.labels(k)]
        if sigma > 0:
            stored += C.gaussian_noise(C.noise_rng(uid, k), (geo.rows, geo.columns), sigma)
        np.rint(stored, out=stored)
        np.clip(stored, lo, hi, out=stored)
        pixels = stored.astype(out_dtype)
        if pad_mask is not None:
            pixels[pad_mask] = _PADDING
        yield C.slice_instance(ds0, uid, number, geo, k, C.acquisition_time(start, k, 0.5), pixels)


def make_ct_series(n_slices: int = 20, rows: int = 64, columns: int = 64, *, slice_thickness: float = 2.5,
                   pixel_spacing: tuple[float, float] = (0.7, 0.7),
                   orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
                   origin: tuple[float, float, float] | None = None,
                   spacing_between_slices: float | None = None, seed: int = 0,
                   patient: dict | None = None, study: dict | None = None, series_number: int = 1,
                   series_description: str | None = None, dtype: str = "uint16",
                   phantom: str | Sequence[Shape] = "shepp_logan", noise: float = 5.0,
                   phantom_center: tuple[float, float, float] | None = None,
                   phantom_scale: float | None = None, kernel: str = "STANDARD",
                   shuffle_instance_numbers: bool = False, charset: str = "ISO_IR 100") -> list[Dataset]:
    """A synthetic CT series: complete CT Image Storage instances, one per slice.

    Each instance has the Patient, General Study, Patient Study, General Series, Frame of
    Reference, General Equipment, General Acquisition, General Image, Image Plane, Image
    Pixel, CT Image, VOI LUT and SOP Common modules. Pixels sample a 3-D phantom on the
    real grid, so the slices are consistent in 3-D; they are stored as ``HU + 1024``
    (Rescale Intercept -1024, slope 1).

    Parameters
    ----------
    n_slices, rows, columns
        Size of the series.
    slice_thickness
        Slice Thickness in mm; also the distance between slices unless
        ``spacing_between_slices`` is given (then Spacing Between Slices is written too).
    pixel_spacing
        Pixel Spacing ``(row spacing, column spacing)`` in mm.
    orientation
        Image Orientation (Patient): row direction then column direction cosines.
    origin
        Image Position (Patient) of the first slice in space; by default the volume is
        centred on the patient-coordinate origin. Slice ``k`` is at
        ``origin + k * spacing * normal``, ``normal = row x column``.
    seed
        Everything (names, dates, UIDs, noise) derives from it: equal seeds give
        byte-identical files.
    patient, study
        Dicts from :func:`~pacsnb.samples.make_patient` and
        :func:`~pacsnb.samples.identity.make_study_info`, to put several series in one
        study; by default both are made from ``seed``.
    series_number
        Series Number; also distinguishes the Series Instance UIDs of one study.
    series_description
        Default: from the phantom, thickness and kernel.
    dtype
        ``"uint16"`` (Bits Stored 12, unsigned) or ``"int16"`` (Bits Stored 16, signed,
        with Pixel Padding Value -2000 outside the reconstruction circle).
    phantom
        ``"shepp_logan"`` (a head), ``"body"`` (a torso: lungs, heart, liver, spine),
        ``"sphere"``, or a sequence of :class:`~pacsnb.samples.phantom.Shape`. Tissues:
        air -1000, lung -800, fat -100, fluid 5, soft tissue 40, blood 50, liver 60,
        lesion 75, marrow 250, bone 700 HU.
    noise
        Standard deviation of the Gaussian noise, HU (0 for exact phantom values).
    phantom_center, phantom_scale
        Where the phantom sits (patient coordinates, mm) and how many mm one normalised
        phantom unit is; default: the centre of the volume and half the in-plane field
        of view. Give both to image the same object in several series.
    kernel
        Convolution Kernel (text only).
    shuffle_instance_numbers
        Give the slices Instance Numbers in a random (seeded) order, to test sorting by
        position. The list is always in Instance Number order.
    charset
        Specific Character Set: ``"ISO_IR 100"`` or ``"ISO_IR 192"``.

    Returns
    -------
    list of Dataset
        In Instance Number order.

    Raises
    ------
    PacsnbError
        For an invalid size, geometry, phantom, ``dtype`` or ``charset``.

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> s = make_ct_series(n_slices=4, rows=16, columns=16, seed=1)
    >>> [int(ds.InstanceNumber) for ds in s], s[0].SOPClassUID.name
    ([1, 2, 3, 4], 'CT Image Storage')
    >>> [float(v) for v in s[1].ImagePositionPatient]
    [-5.25, -5.25, -1.25]
    >>> len({ds.SeriesInstanceUID for ds in s}), len({ds.SOPInstanceUID for ds in s})
    (1, 4)
    """
    return list(iter_ct_series(n_slices, rows, columns, slice_thickness=slice_thickness,
                               pixel_spacing=pixel_spacing, orientation=orientation, origin=origin,
                               spacing_between_slices=spacing_between_slices, seed=seed, patient=patient,
                               study=study, series_number=series_number,
                               series_description=series_description, dtype=dtype, phantom=phantom,
                               noise=noise, phantom_center=phantom_center, phantom_scale=phantom_scale,
                               kernel=kernel, shuffle_instance_numbers=shuffle_instance_numbers,
                               charset=charset))
