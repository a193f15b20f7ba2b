"""Synthetic MR series: MR Image Storage instances (T1, T2 or PD weighted) of a 3-D phantom.

Examples
--------
>>> from pacsnb.samples import make_mr_series
>>> s = make_mr_series(n_slices=3, rows=32, columns=32, weighting="T2")
>>> ds = s[0]
>>> ds.Modality, ds.ScanningSequence, ds.SequenceVariant, float(ds.EchoTime)
('MR', 'SE', ['SK', 'SP'], 100.0)
>>> [round(float(b.SliceLocation) - float(a.SliceLocation), 3) for a, b in zip(s, s[1:])]
[4.4, 4.4]
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.samples import _common as C
from pacsnb.samples.identity import format_ds
from pacsnb.samples.phantom import PlaneStack, Shape, mr_intensities

__all__ = ["iter_mr_series", "make_mr_series"]

# weighting: (ScanningSequence, SequenceVariant, TR, TE, echo train, flip angle, sequence name)
_PROTOCOLS = {
    "T1": ("SE", "NONE", 500, 12, 1, 90, "*se2d1"),
    "T2": ("SE", ["SK", "SP"], 4000, 100, 15, 150, "*tse2d1_15"),
    "PD": ("SE", ["SK", "SP"], 3000, 15, 7, 150, "*tse2d1_7"),
}
_ORIENTATION_NAMES = {(1, 0, 0, 0, 1, 0): "ax", (0, 1, 0, 0, 0, -1): "sag", (1, 0, 0, 0, 0, -1): "cor"}


def iter_mr_series(n_slices: int = 16, rows: int = 64, columns: int = 64, *, slice_thickness: float = 4.0,
                   spacing_between_slices: float | None = None,
                   pixel_spacing: tuple[float, float] = (0.9, 0.9),
                   orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
                   origin: tuple[float, float, float] | None = None, weighting: str = "T1", seed: int = 0,
                   patient: dict | None = None, study: dict | None = None, series_number: int = 1,
                   series_description: str | None = None, phantom: str | Sequence[Shape] = "shepp_logan", noise: float = 12.0,
                   phantom_center: tuple[float, float, float] | None = None,
                   phantom_scale: float | None = None, field_strength: float = 1.5,
                   shuffle_instance_numbers: bool = False, charset: str = "ISO_IR 100") -> Iterator[Dataset]:
    """Generate an MR series one instance at a time (same arguments as :func:`make_mr_series`).

    Parameters
    ----------
    n_slices, rows, columns
        Size of the series.
    slice_thickness, spacing_between_slices, pixel_spacing, orientation, origin
        Geometry, as for :func:`make_mr_series`.
    weighting, noise, field_strength
        Acquisition, as for :func:`make_mr_series`.
    seed, patient, study, series_number, series_description
        Identity, as for :func:`~pacsnb.samples.make_ct_series`.
    phantom, phantom_center, phantom_scale, shuffle_instance_numbers, charset
        As for :func:`~pacsnb.samples.make_ct_series`.

    Yields
    ------
    Dataset
        One MR Image Storage instance per slice, in Instance Number order.

    Raises
    ------
    PacsnbError
        For an unknown weighting, or an invalid size, geometry, phantom or ``charset``;
        raised when the first instance is asked for, as for any generator.

    Examples
    --------
    >>> from pacsnb.samples import iter_mr_series
    >>> next(iter_mr_series(rows=8, columns=8)).SOPClassUID.name
    'MR Image Storage'
    """
    weighting = weighting.upper()
    lut = mr_intensities(weighting)
    step = float(spacing_between_slices) if spacing_between_slices is not None else round(1.1 * slice_thickness, 6)
    geo = C.make_geometry(n_slices, rows, columns, step, pixel_spacing, orientation, origin)
    body_part = C.body_part_of(phantom)
    patient, study = C.resolve_identity(seed, patient, study, "MR", body_part)
    scale = geo.default_phantom_scale if phantom_scale is None else float(phantom_scale)
    center = geo.center if phantom_center is None else phantom_center
    stack = PlaneStack(phantom, geo.origin, geo.row_dir, geo.col_dir, geo.rows, geo.columns,
                       geo.pixel_spacing, geo.step, center, scale)
    plane = _ORIENTATION_NAMES.get(tuple(int(round(v)) if abs(v - round(v)) < 1e-6 else 9 for v in geo.orientation), "obl")
    description = series_description or f"{weighting} {'tse' if weighting != 'T1' else 'se'} {plane}"
    start = C.series_start(study, series_number)
    ds0 = C.common_template(modality="MR", sop_class=C.SOP_CLASSES["MR"], patient=patient, study=study,
                            series_number=series_number, series_description=description, charset=charset,
                            station="SYNTHMR01", model="Synthetic MR", patient_position="HFS", start=start,
                            body_part=body_part)
    ds0.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    C.plane_template(ds0, geo, slice_thickness, geo.step)
    C.pixel_module(ds0, geo.rows, geo.columns, bits_stored=12)
    seq, variant, tr, te, etl, flip, name = _PROTOCOLS[weighting]
    # MR Image
    ds0.ScanningSequence = seq
    ds0.SequenceVariant = variant
    ds0.ScanOptions = ""
    ds0.MRAcquisitionType = "2D"
    ds0.SequenceName = name
    ds0.AngioFlag = "N"
    ds0.RepetitionTime = format_ds(tr)
    ds0.EchoTime = format_ds(te)
    ds0.EchoTrainLength = etl
    ds0.NumberOfAverages = "1"
    ds0.ImagingFrequency = format_ds(42.577478 * field_strength)
    ds0.ImagedNucleus = "1H"
    ds0.EchoNumbers = 1
    ds0.MagneticFieldStrength = format_ds(field_strength)
    ds0.PercentSampling = "100"
    ds0.PercentPhaseFieldOfView = "100"
    ds0.PixelBandwidth = "130"
    ds0.ReceiveCoilName = "HEAD 16"
    ds0.TransmitCoilName = "BODY"
    ds0.AcquisitionMatrix = [0, geo.columns, geo.rows, 0]
    ds0.InPlanePhaseEncodingDirection = "ROW"
    ds0.FlipAngle = format_ds(flip)
    ds0.ImagesInAcquisition = geo.n
    top = float(lut.max())
    ds0.WindowCenter = format_ds(round(top / 2))
    ds0.WindowWidth = format_ds(round(top))
    uid = ds0.SeriesInstanceUID
    order = C.instance_order(geo.n, shuffle_instance_numbers, uid)
    sigma = float(noise)
    for number, k in enumerate(order, start=1):
        k = int(k)
        signal = lut[stack.labels(k)]
        x, y, z = stack.normalised_grid(k)
        signal *= np.float32(1.0) - np.float32(0.12) * (x * x + y * y + np.float32(0.5) * z * z)  # coil shading
        if sigma > 0:
            rng = C.noise_rng(uid, k)
            re = signal + C.gaussian_noise(rng, signal.shape, sigma)
            im = C.gaussian_noise(rng, signal.shape, sigma)
            signal = np.sqrt(re * re + im * im)  # magnitude images: Rician noise
        pixels = np.clip(np.rint(signal), 0, 4095).astype(np.uint16)
        yield C.slice_instance(ds0, uid, number, geo, k, C.acquisition_time(start, k, 4.0), pixels)


def make_mr_series(n_slices: int = 16, rows: int = 64, columns: int = 64, *, slice_thickness: float = 4.0,
                   spacing_between_slices: float | None = None,
                   pixel_spacing: tuple[float, float] = (0.9, 0.9),
                   orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
                   origin: tuple[float, float, float] | None = None, weighting: str = "T1", seed: int = 0,
                   patient: dict | None = None, study: dict | None = None, series_number: int = 1,
                   series_description: str | None = None, phantom: str | Sequence[Shape] = "shepp_logan", noise: float = 12.0,
                   phantom_center: tuple[float, float, float] | None = None,
                   phantom_scale: float | None = None, field_strength: float = 1.5,
                   shuffle_instance_numbers: bool = False, charset: str = "ISO_IR 100") -> list[Dataset]:
    """A synthetic MR series: MR Image Storage instances of a spin-echo acquisition.

    The geometry and phantom arguments are those of :func:`~pacsnb.samples.make_ct_series`;
    pixels are unsigned 12-bit magnitudes with Rician noise and a little coil shading.

    Parameters
    ----------
    slice_thickness, spacing_between_slices
        Slice Thickness and the distance between slice centres (default: thickness plus
        a 10 % gap); Spacing Between Slices is always written.
    weighting
        ``"T1"`` (SE, TR 500, TE 12), ``"T2"`` (TSE, TR 4000, TE 100) or ``"PD"`` (TSE,
        TR 3000, TE 15): decides the tissue contrast and the MR Image attributes.
    noise
        Standard deviation of the complex Gaussian noise before taking the magnitude.
    field_strength
        Magnetic Field Strength in tesla (Imaging Frequency follows).

    Returns
    -------
    list of Dataset
        In Instance Number order.

    Raises
    ------
    PacsnbError
        For an unknown weighting, or an invalid size, geometry, phantom or ``charset``.

    Examples
    --------
    >>> from pacsnb.samples import make_mr_series
    >>> sag = make_mr_series(n_slices=2, rows=16, columns=16, orientation=(0, 1, 0, 0, 0, -1))
    >>> sag[0].SeriesDescription, [float(v) for v in sag[0].ImageOrientationPatient]
    ('T1 se sag', [0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
    """
    return list(iter_mr_series(n_slices, rows, columns, slice_thickness=slice_thickness,
                               spacing_between_slices=spacing_between_slices, pixel_spacing=pixel_spacing,
                               orientation=orientation, origin=origin, weighting=weighting, seed=seed,
                               patient=patient, study=study, series_number=series_number,
                               series_description=series_description, phantom=phantom, noise=noise,
                               phantom_center=phantom_center, phantom_scale=phantom_scale,
                               field_strength=field_strength, shuffle_instance_numbers=shuffle_instance_numbers,
                               charset=charset))
