"""Shared pieces of the sample generators: geometry, identities, common IOD modules."""
from __future__ import annotations

from collections.abc import Sequence as _Seq
from dataclasses import dataclass

import numpy as np

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples.identity import (derive_seed, format_ds, format_tm, make_patient, make_study_info,
                                     sample_uid)

#: Software Versions written in every sample: fixed, so that files do not change with
#: the pacsnb version (fixed seeds give identical bytes).
SOFTWARE_VERSION = "pacsnb.samples 1"
INSTITUTION = "Clinique Synthétique"  # non-ASCII on purpose: exercises Specific Character Set
CHARSETS = ("ISO_IR 100", "ISO_IR 192")

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "US-MF": "1.2.840.10008.5.1.4.1.1.3.1",
}


@dataclass(frozen=True, slots=True)
class SeriesGeometry:
    """The geometry of a stack of parallel slices (Image Plane module).

    ``origin`` is Image Position (Patient) of spatial slice 0; slice ``k`` is at
    ``origin + k * step * normal``, ``normal = row_dir x col_dir``.
    """

    rows: int
    columns: int
    pixel_spacing: tuple[float, float]
    row_dir: tuple[float, float, float]
    col_dir: tuple[float, float, float]
    origin: tuple[float, float, float]
    step: float
    n: int

    @property
    def normal(self) -> np.ndarray:
        """The slice normal ``row_dir x col_dir``."""
        return np.cross(np.asarray(self.row_dir), np.asarray(self.col_dir))

    @property
    def orientation(self) -> list[float]:
        """Image Orientation (Patient): the row, then the column direction cosines."""
        return [*self.row_dir, *self.col_dir]

    def position(self, k: float) -> np.ndarray:
        """Image Position (Patient) of spatial slice ``k``."""
        return np.asarray(self.origin) + float(k) * self.step * self.normal

    @property
    def center(self) -> np.ndarray:
        """The centre of the volume, in patient coordinates."""
        r, c = np.asarray(self.row_dir), np.asarray(self.col_dir)
        return (np.asarray(self.origin) + r * (self.columns - 1) / 2 * self.pixel_spacing[1]
                + c * (self.rows - 1) / 2 * self.pixel_spacing[0]
                + self.normal * (self.n - 1) / 2 * self.step)

    @property
    def default_phantom_scale(self) -> float:
        """Half of the smaller in-plane field of view: the phantom then fills the image."""
        return min(self.rows * self.pixel_spacing[0], self.columns * self.pixel_spacing[1]) / 2


def check_orientation(orientation: _Seq[float]) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Two orthonormal direction cosines from Image Orientation (Patient), or an error."""
    vals = [float(v) for v in orientation]
    if len(vals) != 6:
        raise PacsnbError(f"orientation needs 6 direction cosines (row, then column), got {len(vals)}")
    r, c = np.array(vals[:3]), np.array(vals[3:])
    nr, nc = np.linalg.norm(r), np.linalg.norm(c)
    if nr < 1e-6 or nc < 1e-6:
        raise PacsnbError(f"orientation {vals} has a zero direction")
    r, c = r / nr, c / nc
    if abs(float(r @ c)) > 1e-4:
        raise PacsnbError(f"orientation {vals}: the row and column directions are not orthogonal")
    return tuple(float(x) for x in r), tuple(float(x) for x in c)  # type: ignore[return-value]


def make_geometry(n_slices: int, rows: int, columns: int, slice_step: float, pixel_spacing,
                  orientation, origin=None, center=(0.0, 0.0, 0.0)) -> SeriesGeometry:
    """Build and check a :class:`SeriesGeometry`; without ``origin`` the volume is centred on ``center``."""
    for name, v in (("n_slices", n_slices), ("rows", rows), ("columns", columns)):
        if int(v) != v or v < 1:
            raise PacsnbError(f"{name} must be a positive integer, got {v!r}")
    if rows > 65535 or columns > 65535:
        raise PacsnbError("rows and columns are at most 65535 (US values)")
    # the geometry uses exactly the values written as DS, so positions recomputed from the
    # attributes agree with Image Position (Patient)
    ps = tuple(float(format_ds(x)) for x in pixel_spacing)
    if len(ps) != 2 or min(ps) <= 0:
        raise PacsnbError(f"pixel_spacing must be two positive numbers (row, column spacing), got {pixel_spacing}")
    if not slice_step > 0:
        raise PacsnbError(f"the slice spacing must be positive, got {slice_step}")
    slice_step = float(format_ds(slice_step))
    r, c = check_orientation(orientation)
    g = SeriesGeometry(int(rows), int(columns), ps, r, c, (0.0, 0.0, 0.0), slice_step, int(n_slices))  # type: ignore[arg-type]
    if origin is None:
        o = np.asarray(center, dtype=float) - g.center
    else:
        o = np.asarray([float(v) for v in origin])
        if o.shape != (3,):
            raise PacsnbError(f"origin needs 3 coordinates, got {origin}")
    return SeriesGeometry(g.rows, g.columns, ps, r, c, tuple(float(x) for x in o), g.step, g.n)  # type: ignore[arg-type]


def body_part_of(phantom) -> str:
    """Body Part Examined for a phantom name ("" for a test object or custom shapes)."""
    return {"shepp_logan": "HEAD", "head": "HEAD", "body": "CHEST"}.get(phantom, "") if isinstance(phantom, str) else ""


def resolve_identity(seed: int, patient: dict | None, study: dict | None, modality: str,
                     body_part: str | None = None) -> tuple[dict, dict]:
    """(patient, study) dicts, made from the seed when not given."""
    if study is not None:
        if patient is None:
            patient = study.get("patient") or make_patient(seed)
        return patient, study
    if patient is None:
        patient = make_patient(seed)
    return patient, make_study_info(seed, patient, modality=modality, body_part=body_part or None)


def series_uid(study: dict, modality: str, series_number: int) -> str:
    """The deterministic Series Instance UID of a series of a sample study."""
    return sample_uid("series", study["StudyInstanceUID"], modality, int(series_number))


def instance_uid(series_uid_: str, instance_number: int) -> str:
    """The deterministic SOP Instance UID of an instance of a sample series."""
    return sample_uid("instance", series_uid_, int(instance_number))


def series_start(study: dict, series_number: int) -> float:
    """Seconds after midnight at which a series starts (its series number orders it)."""
    return float(study.get("_start_seconds", 9 * 3600)) + 120.0 * max(int(series_number) - 1, 0) + 60.0


def common_template(*, modality: str, sop_class: str, patient: dict, study: dict, series_number: int,
                    series_description: str, charset: str, station: str, model: str,
                    body_part: str | None = None, frame_of_reference: bool = True,
                    patient_position: str | None = None, start: float | None = None) -> Dataset:
    """A data set holding the modules shared by every image of a series.

    Patient, General Study, Patient Study, General Series, Frame of Reference (if asked),
    General Equipment, the series-level part of General Image / General Acquisition and
    SOP Common (without the instance UID).
    """
    if charset not in CHARSETS:
        raise PacsnbError(f"charset must be one of {CHARSETS}, got {charset!r}")
    ds = Dataset()
    start = series_start(study, series_number) if start is None else start
    date = study["StudyDate"]
    # SOP Common
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.InstanceCreationDate = date
    ds.InstanceCreationTime = format_tm(start)
    # Patient
    ds.PatientName = patient["PatientName"]
    ds.PatientID = patient["PatientID"]
    ds.IssuerOfPatientID = patient.get("IssuerOfPatientID", "PACSNB SAMPLES")
    ds.PatientBirthDate = patient["PatientBirthDate"]
    ds.PatientSex = patient["PatientSex"]
    # General Study, Patient Study
    ds.StudyInstanceUID = study["StudyInstanceUID"]
    ds.StudyDate = date
    ds.StudyTime = study["StudyTime"]
    ds.ReferringPhysicianName = study["ReferringPhysicianName"]
    ds.StudyID = study["StudyID"]
    ds.AccessionNumber = study["AccessionNumber"]
    ds.StudyDescription = study["StudyDescription"]
    ds.PatientAge = study["PatientAge"]
    ds.PatientSize = format_ds(patient["PatientSize"])
    ds.PatientWeight = format_ds(patient["PatientWeight"])
    # General Series
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid(study, modality, series_number)
    ds.SeriesNumber = int(series_number)
    ds.SeriesDate = date
    ds.SeriesTime = format_tm(start)
    ds.SeriesDescription = series_description
    body_part = body_part if body_part is not None else study.get("BodyPartExamined", "")
    if body_part:
        ds.BodyPartExamined = body_part
    if patient_position:
        ds.PatientPosition = patient_position
    # Frame of Reference
    if frame_of_reference:
        ds.FrameOfReferenceUID = study.get("FrameOfReferenceUID") or sample_uid("for", study["StudyInstanceUID"])
        ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = "PACSNB"
    ds.InstitutionName = INSTITUTION
    ds.StationName = station
    ds.ManufacturerModelName = model
    ds.DeviceSerialNumber = f"SN{derive_seed('device', station) % 10**6:06d}"
    ds.SoftwareVersions = SOFTWARE_VERSION
    # General Image / General Acquisition (series level)
    ds.ContentDate = date
    ds.AcquisitionDate = date
    ds.AcquisitionNumber = 1
    ds.LossyImageCompression = "00"
    ds.BurnedInAnnotation = "NO"
    return ds


def set_plane(ds: Dataset, geometry: SeriesGeometry, k: int) -> None:
    """Image Plane attributes of spatial slice ``k`` (and Slice Location along the normal)."""
    pos = geometry.position(k)
    ds.ImagePositionPatient = [format_ds(v) for v in pos]
    ds.SliceLocation = format_ds(float(pos @ geometry.normal))


def plane_template(ds: Dataset, geometry: SeriesGeometry, slice_thickness: float,
                   spacing_between_slices: float | None) -> None:
    """The slice-independent Image Plane attributes."""
    ds.PixelSpacing = [format_ds(v) for v in geometry.pixel_spacing]
    ds.ImageOrientationPatient = [format_ds(round(v, 6)) for v in geometry.orientation]
    ds.SliceThickness = format_ds(slice_thickness)
    if spacing_between_slices is not None:
        ds.SpacingBetweenSlices = format_ds(spacing_between_slices)


def pixel_module(ds: Dataset, rows: int, columns: int, *, bits_stored: int, signed: bool = False,
                 photometric: str = "MONOCHROME2", samples: int = 1, bits_allocated: int = 16) -> None:
    """Image Pixel attributes (without Pixel Data)."""
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.Rows = int(rows)
    ds.Columns = int(columns)
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0


def set_pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """Pixel Data from an integer array, stored as the value the reader gives back.

    16-bit data is OW (a ``uint16`` view, so signed pixels keep their bits), 8-bit OB.
    """
    arr = np.ascontiguousarray(pixels)
    if arr.dtype.itemsize == 2:
        ds.add_new(0x7FE00010, "OW", arr.view(np.uint16).ravel())
    elif arr.dtype.itemsize == 1:
        ds.add_new(0x7FE00010, "OB", arr.view(np.uint8).ravel())
    else:
        raise PacsnbError(f"samples only write 8- and 16-bit pixels, got {arr.dtype}")


def instance_order(n: int, shuffle: bool, key: str) -> np.ndarray:
    """``order[i]`` = the spatial index of the image with Instance Number ``i + 1``."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng(derive_seed("shuffle", key)).permutation(n)


def noise_rng(series_uid_: str, k: int) -> np.random.Generator:
    """The random generator of the noise of slice ``k`` of a series."""
    return np.random.default_rng(derive_seed("noise", series_uid_, int(k)))


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Approximately Gaussian noise (float32, mean 0, standard deviation ``sigma``), fast.

    The sum of four uniform random bytes (Irwin-Hall), about three times faster than
    ``standard_normal`` and plenty for image noise.
    """
    n = int(np.prod(shape))
    b = np.frombuffer(rng.bytes(4 * n), np.uint8).reshape(4, n)
    s = b.sum(axis=0, dtype=np.int16).astype(np.float32)
    s -= np.float32(510.0)
    s *= np.float32(sigma / 147.80)  # sd of the sum of four uniform bytes: sqrt(4 (256^2 - 1) / 12)
    return s.reshape(shape)


def acquisition_time(start: float, k: int, per_image: float) -> str:
    """Acquisition Time (TM) of slice ``k``: 30 s after the series start, then ``per_image`` s apart."""
    return format_tm(start + 30.0 + k * per_image)


def slice_instance(template: Dataset, series_uid: str, number: int, geo, k: int, time: str,
                   pixels: np.ndarray) -> Dataset:
    """One slice of a series: a copy of ``template`` with its own SOP Instance UID, number,
    plane ``k`` of ``geo``, acquisition/content time and pixels."""
    ds = template.copy()
    ds.SOPInstanceUID = instance_uid(series_uid, number)
    ds.InstanceNumber = number
    set_plane(ds, geo, k)
    ds.AcquisitionTime = time
    ds.ContentTime = time
    set_pixels(ds, pixels)
    return ds
