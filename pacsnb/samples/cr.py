"""Synthetic computed radiography: a chest X-ray projected through the 3-D body phantom.

Examples
--------
>>> from pacsnb.samples import make_cr_image
>>> ds = make_cr_image(rows=64, columns=64)
>>> ds.SOPClassUID.name, ds.PhotometricInterpretation, ds.ViewPosition, ds.PatientOrientation
('Computed Radiography Image Storage', 'MONOCHROME2', 'PA', ['L', 'F'])
>>> make_cr_image(rows=64, columns=64, monochrome1=True).PhotometricInterpretation
'MONOCHROME1'
"""
from __future__ import annotations

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples import _common as C
from pacsnb.samples.identity import format_ds
from pacsnb.samples.phantom import PlaneStack, attenuation_per_mm

__all__ = ["make_cr_image"]

# view: (row direction, column direction, depth direction, Patient Orientation)
_VIEWS = {
    "PA": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0), ["L", "F"]),
    "AP": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0), ["L", "F"]),
    "LL": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0), ["P", "F"]),
    "RL": ((0.0, -1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0), ["A", "F"]),
}

#: Half-size (mm) of the torso phantom used for radiographs: a ~330 mm wide chest.
_CHEST_SCALE = 175.0


def _projection(view: str, rows: int, columns: int, spacing: float, depth_samples: int) -> np.ndarray:
    """Line integrals of attenuation (per pixel, dimensionless) through the body phantom."""
    row_dir, col_dir, depth, _ = _VIEWS[view]
    # the detector field of view is centred on the chest, a little above the phantom centre
    center = np.array([0.0, 0.0, 0.3 * _CHEST_SCALE])
    r, c, d = np.asarray(row_dir), np.asarray(col_dir), np.asarray(depth)
    step = 2.0 * _CHEST_SCALE / depth_samples
    origin = (center - r * (columns - 1) / 2 * spacing - c * (rows - 1) / 2 * spacing
              - d * (_CHEST_SCALE - step / 2))
    # PlaneStack steps along row x column; make it step along +depth
    sign = 1.0 if float(np.cross(r, c) @ d) > 0 else -1.0
    stack = PlaneStack("body", origin, row_dir, col_dir, rows, columns, (spacing, spacing), sign * step,
                       center=(0.0, 0.0, 0.0), scale=_CHEST_SCALE)
    mu = attenuation_per_mm()
    total = np.zeros((rows, columns), dtype=np.float32)
    for k in range(depth_samples):
        total += mu[stack.labels(k)]
    total *= np.float32(step)
    return total


def make_cr_image(rows: int = 256, columns: int = 256, *, view: str = "PA", monochrome1: bool = False,
                  imager_pixel_spacing: float | None = None, seed: int = 0, patient: dict | None = None,
                  study: dict | None = None, series_number: int = 1, instance_number: int = 1,
                  series_description: str | None = None, noise: float = 12.0, depth_samples: int = 64,
                  charset: str = "ISO_IR 100") -> Dataset:
    """A synthetic chest radiograph: a CR Image Storage instance.

    The image is the X-ray projection of the torso phantom (lungs, heart, spine, liver),
    with 12-bit log-exposure pixels, quantum noise and a VOI window from the image content.

    Parameters
    ----------
    rows, columns
        Image size; the detector is 430 mm wide unless ``imager_pixel_spacing`` is given.
    view
        View Position: ``"PA"``, ``"AP"``, ``"LL"`` (left lateral) or ``"RL"``. Patient
        Orientation follows (``["L", "F"]`` for PA).
    monochrome1
        Store as MONOCHROME1 (high values are dark, as many CR plates do) instead of
        MONOCHROME2; the displayed picture is the same.
    imager_pixel_spacing
        Imager Pixel Spacing in mm (square pixels).
    seed, patient, study, series_number
        As for :func:`~pacsnb.samples.make_ct_series`.
    instance_number
        Instance Number (for several views in one series).
    noise
        Standard deviation of the noise in stored-value units.
    depth_samples
        Number of planes summed for each projection.

    Returns
    -------
    Dataset

    Raises
    ------
    PacsnbError
        For an unknown view, an invalid size or pixel spacing, or an unknown ``charset``.

    Examples
    --------
    >>> from pacsnb.samples import make_cr_image
    >>> pa, lat = make_cr_image(64, 64), make_cr_image(64, 64, view="LL", series_number=2)
    >>> pa.StudyInstanceUID == lat.StudyInstanceUID, pa.SeriesInstanceUID == lat.SeriesInstanceUID
    (True, False)
    >>> int(pa.PixelData.max()) <= 4095
    True
    """
    view = view.upper()
    if view not in _VIEWS:
        raise PacsnbError(f"view must be one of {sorted(_VIEWS)}, got {view!r}")
    geo = C.make_geometry(1, rows, columns, 1.0, (1.0, 1.0), (1, 0, 0, 0, 1, 0))  # validates the size
    spacing = float(imager_pixel_spacing) if imager_pixel_spacing is not None else 430.0 / max(rows, columns)
    if spacing <= 0:
        raise PacsnbError(f"imager_pixel_spacing must be positive, got {imager_pixel_spacing}")
    patient, study = C.resolve_identity(seed, patient, study, "CR")
    start = C.series_start(study, series_number)
    description = series_description or f"Chest {view}"
    ds = C.common_template(modality="CR", sop_class=C.SOP_CLASSES["CR"], patient=patient, study=study,
                           series_number=series_number, series_description=description, charset=charset,
                           station="SYNTHCR01", model="Synthetic CR", body_part="CHEST",
                           frame_of_reference=False, start=start)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    # CR Series
    ds.ViewPosition = view
    # General Image
    ds.SOPInstanceUID = C.instance_uid(ds.SeriesInstanceUID, instance_number)
    ds.InstanceNumber = int(instance_number)
    ds.PatientOrientation = _VIEWS[view][3]
    t = C.acquisition_time(start, int(instance_number) - 1, 60.0)
    ds.AcquisitionTime = t
    ds.ContentTime = t
    # CR Image
    ds.KVP = "125" if view in ("PA", "AP") else "110"
    ds.DistanceSourceToDetector = "1800"
    ds.ExposureTime = "20"
    ds.XRayTubeCurrent = 250
    ds.Exposure = 5
    ds.ImagerPixelSpacing = [format_ds(spacing), format_ds(spacing)]
    ds.FocalSpots = "1.2"
    ds.PlateType = "ST-VI"
    ds.PhosphorType = "BaFBr"
    ds.Sensitivity = "200"
    C.pixel_module(ds, geo.rows, geo.columns, bits_stored=12,
                   photometric="MONOCHROME1" if monochrome1 else "MONOCHROME2")
    integral = _projection(view, geo.rows, geo.columns, spacing, int(depth_samples))
    # MONOCHROME2 values grow with attenuation: direct exposure is dark, bone bright
    value = np.float32(250.0) + np.float32(430.0) * integral
    if noise > 0:
        value += C.gaussian_noise(C.noise_rng(ds.SOPInstanceUID, 0), value.shape, float(noise))
    value = np.clip(np.rint(value), 0, 4095)
    if monochrome1:
        value = np.float32(4095.0) - value
    pixels = value.astype(np.uint16)
    lo, hi = np.percentile(pixels, [1.0, 99.5])
    ds.WindowCenter = format_ds(round((lo + hi) / 2))
    ds.WindowWidth = format_ds(max(round(hi - lo), 1))
    C.set_pixels(ds, pixels)
    return ds
