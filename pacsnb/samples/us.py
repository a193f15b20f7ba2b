"""Synthetic ultrasound: RGB B-mode sector images with a colour Doppler vessel.

Examples
--------
>>> from pacsnb.samples import make_us_image
>>> ds = make_us_image(rows=60, columns=80)
>>> ds.SOPClassUID.name, ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.PlanarConfiguration
('Ultrasound Image Storage', 'RGB', 3, 0)
>>> cine = make_us_image(rows=60, columns=80, n_frames=4)
>>> cine.SOPClassUID.name, int(cine.NumberOfFrames), cine.FrameIncrementPointer
('Ultrasound Multi-frame Image Storage', 4, (0018,1063))
"""
from __future__ import annotations

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples import _common as C
from pacsnb.samples.identity import format_ds

__all__ = ["make_us_image"]


def _box_blur(a: np.ndarray) -> np.ndarray:
    """A 3x3 mean filter with edge replication (gives the speckle a grain)."""
    p = np.pad(a, 1, mode="edge")
    s = p[:-2] + p[1:-1] + p[2:]
    return (s[:, :-2] + s[:, 1:-1] + s[:, 2:]) / np.float32(9.0)


def _frame(rows: int, columns: int, depth_mm: float, rng: np.random.Generator, phase: float) -> np.ndarray:
    """One RGB frame (rows, columns, 3) uint8."""
    mm = depth_mm / rows  # square pixels
    yy = (np.arange(rows, dtype=np.float32)[:, None] + 0.5) * np.float32(mm)
    xx = (np.arange(columns, dtype=np.float32)[None, :] - (columns - 1) / 2) * np.float32(mm)
    apex = -12.0
    r = np.sqrt(xx * xx + (yy - np.float32(apex)) ** 2)
    theta = np.arctan2(xx, yy - np.float32(apex))
    half_angle = np.deg2rad(36.0)
    fan = (np.abs(theta) <= half_angle) & (r >= -apex + 2.0) & (r <= depth_mm - apex - 2.0)
    breath = np.float32(2.0 * np.sin(phase))  # tissue moves a little with breathing
    y = np.broadcast_to(yy - breath, (rows, columns))

    def ellipse(cx, cy, ax, ay):
        return ((xx - np.float32(cx * depth_mm)) / np.float32(ax * depth_mm)) ** 2 \
            + ((y - np.float32(cy * depth_mm)) / np.float32(ay * depth_mm)) ** 2

    echo = np.full((rows, columns), 0.16, dtype=np.float32)  # subcutaneous layer
    echo[y > 0.08 * depth_mm] = 0.30  # muscle
    echo[np.abs(y - np.float32(0.16 * depth_mm)) < 0.006 * depth_mm] = 0.9  # liver capsule
    echo[y > 0.165 * depth_mm] = 0.42  # liver parenchyma
    cyst = ellipse(-0.18, 0.5, 0.07, 0.06) <= 1.0
    vessel_q = ellipse(0.14, 0.42, 0.12, 0.035)
    vessel = vessel_q <= 1.0
    wall = (vessel_q > 1.0) & (vessel_q <= 1.5)
    echo[wall] = 0.85
    echo[cyst] = 0.02
    echo[vessel] = 0.04
    # enhancement behind the cyst (less attenuation), attenuation with depth
    behind = (np.abs(xx + np.float32(0.18 * depth_mm)) < 0.06 * depth_mm) & (y > 0.56 * depth_mm)
    echo[behind] *= 1.5
    echo *= np.exp(np.float32(-0.9) * yy / np.float32(depth_mm)).astype(np.float32)
    speckle = C.gaussian_noise(rng, (rows, columns), 1.0) ** 2 + C.gaussian_noise(rng, (rows, columns), 1.0) ** 2
    speckle = _box_blur(speckle.astype(np.float32))
    gray = np.log1p(np.float32(40.0) * echo * speckle) / np.float32(np.log1p(40.0 * 1.4))
    gray = np.clip(gray * 255.0, 0, 255)
    gray[~fan] = 0
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    # colour Doppler in the vessel: laminar (parabolic) flow, pulsatile
    v = (1.0 - vessel_q) * np.float32(0.6 + 0.4 * np.cos(phase))
    flow = vessel & fan
    red = np.clip(80 + 175 * v, 0, 255)
    rgb[..., 0][flow] = red[flow]
    rgb[..., 1][flow] = (60 * v)[flow]
    rgb[..., 2][flow] = 0
    # depth ticks every 10 mm at the right edge
    for d in np.arange(10.0, depth_mm, 10.0):
        row = int(d / mm)
        if row < rows:
            rgb[row, columns - 6:columns - 2, :] = 200
    return np.rint(rgb).astype(np.uint8)


def make_us_image(rows: int = 240, columns: int = 320, *, n_frames: int = 1, depth_mm: float = 160.0,
                  frame_time: float = 40.0, seed: int = 0, patient: dict | None = None,
                  study: dict | None = None, series_number: int = 1, instance_number: int = 1,
                  series_description: str | None = None, charset: str = "ISO_IR 100") -> Dataset:
    """A synthetic abdominal ultrasound image: RGB B-mode sector with colour Doppler.

    One frame gives an Ultrasound Image Storage instance; several frames an Ultrasound
    Multi-frame Image Storage instance (Cine and Multi-frame modules, Frame Time). Both
    carry an Ultrasound Region Calibration (Sequence of Ultrasound Regions) giving the
    physical size of a pixel.

    Parameters
    ----------
    rows, columns
        Frame size. Pixels are square: ``depth_mm / rows`` mm.
    n_frames
        Number of frames (a short cine loop; the tissue breathes, the vessel pulses).
    depth_mm
        Imaging depth.
    frame_time
        Frame Time in ms (multi-frame only).
    seed, patient, study, series_number, instance_number
        As for :func:`~pacsnb.samples.make_ct_series`.

    Returns
    -------
    Dataset
        8-bit RGB, Planar Configuration 0 (``R G B R G B ...``).

    Raises
    ------
    PacsnbError
        For a frame count, size or depth that is not positive, or an unknown ``charset``.

    Examples
    --------
    >>> from pacsnb.samples import make_us_image
    >>> ds = make_us_image(rows=48, columns=64, n_frames=2)
    >>> ds.PixelData.reshape(2, 48, 64, 3).shape
    (2, 48, 64, 3)
    >>> region = ds.SequenceOfUltrasoundRegions[0]
    >>> region.PhysicalUnitsXDirection, round(region.PhysicalDeltaX, 4)   # cm per pixel
    (3, 0.3333)
    """
    if int(n_frames) != n_frames or n_frames < 1:
        raise PacsnbError(f"n_frames must be a positive integer, got {n_frames!r}")
    geo = C.make_geometry(1, rows, columns, 1.0, (1.0, 1.0), (1, 0, 0, 0, 1, 0))  # validates the size
    if depth_mm <= 0:
        raise PacsnbError(f"depth_mm must be positive, got {depth_mm}")
    multi = n_frames > 1
    patient, study = C.resolve_identity(seed, patient, study, "US")
    start = C.series_start(study, series_number)
    ds = C.common_template(modality="US", sop_class=C.SOP_CLASSES["US-MF" if multi else "US"], patient=patient,
                           study=study, series_number=series_number,
                           series_description=series_description or "Liver", charset=charset,
                           station="SYNTHUS01", model="Synthetic US", body_part="ABDOMEN",
                           frame_of_reference=False, start=start)
    ds.SOPInstanceUID = C.instance_uid(ds.SeriesInstanceUID, instance_number)
    ds.InstanceNumber = int(instance_number)
    ds.PatientOrientation = ""
    t = C.acquisition_time(start, int(instance_number) - 1, 15.0)
    ds.AcquisitionTime = t
    ds.ContentTime = t
    # US Image: value 4 of Image Type: 0001 2-D imaging + 0010 colour flow
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0011"]
    C.pixel_module(ds, geo.rows, geo.columns, bits_stored=8, bits_allocated=8, photometric="RGB", samples=3)
    ds.TransducerData = ["C5-2", "", ""]
    ds.ProcessingFunction = "ABDOMEN"
    ds.MechanicalIndex = "0.9"
    ds.BoneThermalIndex = "0.3"
    ds.SoftTissueThermalIndex = "0.4"
    ds.DepthOfScanField = int(round(depth_mm))
    if multi:
        ds.NumberOfFrames = int(n_frames)
        ds.FrameIncrementPointer = 0x00181063  # Frame Time
        ds.FrameTime = format_ds(frame_time)
        ds.CineRate = int(round(1000.0 / frame_time))
        ds.RecommendedDisplayFrameRate = int(round(1000.0 / frame_time))
        ds.PreferredPlaybackSequencing = 0
        ds.ActualFrameDuration = int(round(frame_time))
    # US Region Calibration: one 2-D tissue region covering the sector, in cm
    cm = depth_mm / rows / 10.0
    region = Dataset()
    region.RegionSpatialFormat = 1
    region.RegionDataType = 1
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = 0
    region.RegionLocationMaxX1 = geo.columns - 1
    region.RegionLocationMaxY1 = geo.rows - 1
    region.ReferencePixelX0 = geo.columns // 2
    region.ReferencePixelY0 = 0
    region.PhysicalUnitsXDirection = 3
    region.PhysicalUnitsYDirection = 3
    region.ReferencePixelPhysicalValueX = 0.0
    region.ReferencePixelPhysicalValueY = 0.0
    region.PhysicalDeltaX = cm
    region.PhysicalDeltaY = cm
    region.TransducerFrequency = 3500
    ds.SequenceOfUltrasoundRegions = [region]
    rng = C.noise_rng(ds.SOPInstanceUID, 0)
    frames = [_frame(geo.rows, geo.columns, float(depth_mm), rng, 2 * np.pi * f / max(n_frames, 1))
              for f in range(int(n_frames))]
    C.set_pixels(ds, np.stack(frames))
    return ds
