"""Whole synthetic studies and cohorts, and writing them to disk.

Examples
--------
>>> import tempfile
>>> from pacsnb.samples import make_cohort, write_cohort
>>> cohort = make_cohort(n_patients=2, series_per_study=1, slices=2, rows=16, columns=16)
>>> sorted({(ds.PatientID, ds.Modality) for ds in cohort})
[('PNB0000000', 'CT'), ('PNB0000001', 'MR')]
>>> paths = write_cohort(tempfile.mkdtemp(), cohort, progress=False)
>>> len(paths), paths[0].parts[-4:-3] == ('PNB0000000',)
(4, True)
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import PacsnbError
from pacsnb.samples import _common as C
from pacsnb.samples.cr import make_cr_image
from pacsnb.samples.ct import make_ct_series
from pacsnb.samples.identity import make_patient, make_study_info
from pacsnb.samples.mr import make_mr_series
from pacsnb.samples.us import make_us_image

__all__ = ["make_study", "make_cohort", "write_cohort", "write_sample_file", "MODALITIES", "LAYOUTS"]

MODALITIES = ("CT", "MR", "CR", "US")
LAYOUTS = ("patient/study/series", "study/series", "series", "flat")

_CT_KERNELS = (("STANDARD", 1.0), ("BONE", 2.5), ("LUNG", 2.0))
_MR_PLAN = (("T1", (1, 0, 0, 0, 1, 0)), ("T2", (1, 0, 0, 0, 1, 0)), ("PD", (1, 0, 0, 0, 1, 0)),
            ("T2", (0, 1, 0, 0, 0, -1)), ("T1", (1, 0, 0, 0, 0, -1)))
_CR_VIEWS = ("PA", "LL")


def _phantom_frame(fn, kw: dict[str, Any]) -> tuple[tuple[float, float, float], float]:
    """Phantom centre and scale of the first series, so that every series of a study sees one object."""
    defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items()
                if p.default is not inspect.Parameter.empty}
    a = {**defaults, **kw}
    step = a.get("spacing_between_slices") or a["slice_thickness"]
    geo = C.make_geometry(a["n_slices"], a["rows"], a["columns"], float(step), a["pixel_spacing"],
                          a["orientation"], a["origin"])
    center = a["phantom_center"] if a.get("phantom_center") is not None else tuple(float(v) for v in geo.center)
    scale = a["phantom_scale"] if a.get("phantom_scale") is not None else geo.default_phantom_scale
    return center, float(scale)


def make_study(modality: str = "CT", n_series: int = 1, seed: int = 0, patient: dict | None = None, *,
               study_index: int = 0, **kw: Any) -> list[Dataset]:
    """A synthetic study of one modality with ``n_series`` series.

    Parameters
    ----------
    modality
        ``"CT"`` (series differ by reconstruction kernel: standard, bone, lung), ``"MR"``
        (T1, T2, PD axial, then T2 sagittal and T1 coronal of the same head), ``"CR"``
        (PA and lateral chest views, one image per series) or ``"US"`` (odd series a
        single frame, even series a cine loop of ``n_frames``, default 6).
    n_series
        Number of series.
    seed
        Study seed; the patient is ``make_patient(seed)`` unless given.
    patient
        A dict from :func:`~pacsnb.samples.make_patient`.
    study_index
        Number of this study among the patient's (later studies are later in time).
    **kw
        Passed to :func:`~pacsnb.samples.make_ct_series`,
        :func:`~pacsnb.samples.make_mr_series`, :func:`~pacsnb.samples.make_cr_image` or
        :func:`~pacsnb.samples.make_us_image` (e.g. ``n_slices``, ``rows``, ``phantom``).

    Returns
    -------
    list of Dataset
        Series after series, each in Instance Number order.

    Raises
    ------
    PacsnbError
        For an unknown modality, a count that is not a positive integer, or arguments
        the series generator refuses.

    Examples
    --------
    >>> from pacsnb.samples import make_study
    >>> study = make_study("MR", n_series=2, n_slices=3, rows=16, columns=16, seed=5)
    >>> [(int(ds.SeriesNumber), ds.SeriesDescription) for ds in study[::3]]
    [(1, 'T1 se ax'), (2, 'T2 tse ax')]
    >>> len({ds.StudyInstanceUID for ds in study}), len({ds.FrameOfReferenceUID for ds in study})
    (1, 1)
    """
    modality = modality.upper()
    if modality not in MODALITIES:
        raise PacsnbError(f"modality must be one of {MODALITIES}, got {modality!r}")
    if int(n_series) != n_series or n_series < 1:
        raise PacsnbError(f"n_series must be a positive integer, got {n_series!r}")
    patient = make_patient(seed) if patient is None else patient
    body_part = C.body_part_of(kw.get("phantom", "shepp_logan")) if modality in ("CT", "MR") else None
    study = make_study_info(seed, patient, modality=modality, index=study_index, body_part=body_part or None)
    kw = dict(kw)
    kw.pop("series_number", None)
    out: list[Dataset] = []
    if modality in ("CT", "MR"):
        fn = make_ct_series if modality == "CT" else make_mr_series
        center, scale = _phantom_frame(fn, kw)
        kw.setdefault("phantom_center", center)
        kw.setdefault("phantom_scale", scale)
    for i in range(int(n_series)):
        number = i + 1
        if modality == "CT":
            kernel, noise_factor = _CT_KERNELS[i % len(_CT_KERNELS)]
            args = {"kernel": kernel, "noise": 5.0 * noise_factor, **kw}
            out += make_ct_series(seed=seed, patient=patient, study=study, series_number=number, **args)
        elif modality == "MR":
            weighting, orientation = _MR_PLAN[i % len(_MR_PLAN)]
            args = {"weighting": weighting, "orientation": orientation, **kw}
            out += make_mr_series(seed=seed, patient=patient, study=study, series_number=number, **args)
        elif modality == "CR":
            args = {"view": _CR_VIEWS[i % len(_CR_VIEWS)], **kw}
            out.append(make_cr_image(seed=seed, patient=patient, study=study, series_number=number, **args))
        else:
            args = dict(kw)
            frames = args.pop("n_frames", 6)
            args["n_frames"] = 1 if i % 2 == 0 else frames
            out.append(make_us_image(seed=seed, patient=patient, study=study, series_number=number, **args))
    return out


def make_cohort(n_patients: int = 3, studies_per_patient: int = 1, series_per_study: int = 2, slices: int = 10,
                modalities: Iterable[str] = ("CT", "MR"), seed: int = 0, **kw: Any) -> list[Dataset]:
    """A synthetic cohort: several patients, each with studies of the given modalities.

    Patient ``i`` is ``make_patient(seed * 100000 + i)`` (so Patient IDs are unique within
    a cohort); study ``j`` of patient ``i`` has modality
    ``modalities[(i * studies_per_patient + j) % len(modalities)]``.

    Parameters
    ----------
    n_patients, studies_per_patient, series_per_study
        Counts.
    slices
        Slices per CT or MR series, frames of US cine loops (ignored for CR).
    modalities
        Modalities to cycle through.
    seed
        Cohort seed: equal seeds give identical cohorts.
    **kw
        Passed to :func:`make_study` (e.g. ``rows=128, columns=128``).

    Returns
    -------
    list of Dataset
        Patient after patient, study after study, series after series.

    Raises
    ------
    PacsnbError
        For no modality, an unknown one, or a patient count outside 0..100000.

    Examples
    --------
    >>> from pacsnb.samples import make_cohort
    >>> c = make_cohort(n_patients=2, studies_per_patient=2, series_per_study=1,
    ...                 modalities=("CR", "US"), rows=32, columns=32)
    >>> [(ds.PatientID, ds.Modality) for ds in c]
    [('PNB0000000', 'CR'), ('PNB0000000', 'US'), ('PNB0000001', 'CR'), ('PNB0000001', 'US')]
    """
    mods = [m.upper() for m in modalities]
    if not mods:
        raise PacsnbError("make_cohort needs at least one modality")
    if int(n_patients) != n_patients or not 0 <= n_patients <= 100000:
        raise PacsnbError(f"n_patients must be an integer from 0 to 100000, got {n_patients!r}")
    out: list[Dataset] = []
    for i in range(int(n_patients)):
        p_seed = int(seed) * 100000 + i
        patient = make_patient(p_seed)
        for j in range(int(studies_per_patient)):
            modality = mods[(i * int(studies_per_patient) + j) % len(mods)]
            args = dict(kw)
            if modality in ("CT", "MR"):
                args.setdefault("n_slices", slices)
            elif modality == "US":
                args.setdefault("n_frames", slices)
            out += make_study(modality, series_per_study, seed=p_seed, patient=patient, study_index=j, **args)
    return out


def _relative_path(ds: Dataset, layout: str) -> Path:
    number = ds.get("InstanceNumber")
    name = f"{int(number):05d}.dcm" if number not in (None, "") else f"{ds.SOPInstanceUID}.dcm"
    if layout == "flat":
        return Path(f"{ds.SOPInstanceUID}.dcm")
    series = Path(str(ds.SeriesInstanceUID)) / name
    if layout == "series":
        return series
    study = Path(str(ds.StudyInstanceUID)) / series
    if layout == "study/series":
        return study
    return Path(str(ds.PatientID)) / study


def write_cohort(folder: str | os.PathLike, datasets: Iterable[Dataset] | None = None, *,
                 layout: str = "patient/study/series", transfer_syntax: str | None = None,
                 progress: bool = True, **cohort_kwargs: Any) -> list[Path]:
    """Write sample data sets as DICOM files under ``folder``.

    Parameters
    ----------
    folder
        Created if needed.
    datasets
        Any iterable of data sets (a list, or a generator such as
        :func:`~pacsnb.samples.iter_ct_series` to keep memory flat); ``None`` makes
        ``make_cohort(**cohort_kwargs)``.
    layout
        ``"patient/study/series"`` (``PatientID/StudyUID/SeriesUID/00001.dcm``),
        ``"study/series"``, ``"series"`` (file names by Instance Number) or ``"flat"``
        (``SOPInstanceUID.dcm``).
    transfer_syntax
        Any uncompressed transfer syntax UID or deflate (default explicit VR little endian).
    progress
        Show a progress bar (``tqdm.auto``, a widget in notebooks).
    **cohort_kwargs
        Arguments of :func:`make_cohort` when ``datasets`` is ``None``.

    Returns
    -------
    list of pathlib.Path
        The files written, in order.

    Raises
    ------
    PacsnbError
        For an unknown layout, or both ``datasets`` and ``cohort_kwargs``.
    DicomValueError
        When a data set cannot be written in ``transfer_syntax``.

    Examples
    --------
    >>> import tempfile, pacsnb
    >>> from pacsnb.samples import iter_ct_series, write_cohort
    >>> paths = write_cohort(tempfile.mkdtemp(), iter_ct_series(n_slices=3, rows=16, columns=16),
    ...                      layout="flat", transfer_syntax="1.2.840.10008.1.2", progress=False)
    >>> [int(pacsnb.read(p).InstanceNumber) for p in paths]
    [1, 2, 3]
    """
    if layout not in LAYOUTS:
        raise PacsnbError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if datasets is None:
        datasets = make_cohort(**cohort_kwargs)
    elif cohort_kwargs:
        raise PacsnbError(f"write_cohort: give data sets or make_cohort arguments, not both "
                          f"(got {sorted(cohort_kwargs)})")
    from pacsnb.io import write  # the io layer, imported late to keep `import pacsnb.samples` light

    root = Path(folder)
    total = len(datasets) if hasattr(datasets, "__len__") else None  # type: ignore[arg-type]
    it: Iterable[Dataset] = datasets
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(datasets, total=total, desc="writing DICOM", unit="file")
    paths: list[Path] = []
    made: set[Path] = set()
    for ds in it:
        path = root / _relative_path(ds, layout)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        write(ds, path, transfer_syntax, atomic=False)
        paths.append(path)
    return paths


def write_sample_file(path: str | os.PathLike, modality: str = "CT", transfer_syntax: str | None = None,
                      *, seed: int = 0) -> str:
    """Write one small sample image (a 64x64 CT slice by default) and return its path.

    Parameters
    ----------
    path
        The file to write (parent folders are created).
    modality
        ``"CT"``, ``"MR"`` (64x64), ``"CR"`` (128x128) or ``"US"`` (RGB, 60x80).
    transfer_syntax
        Transfer Syntax UID; default explicit VR little endian.
    seed
        Sample seed.

    Returns
    -------
    str
        ``path``, as a string.

    Raises
    ------
    PacsnbError
        For an unknown modality.

    Examples
    --------
    >>> import pacsnb
    >>> from pacsnb.samples import write_sample_file
    >>> pacsnb.read(write_sample_file("/tmp/pacsnb-doc-sample.dcm")).Modality
    'CT'
    >>> pacsnb.read(write_sample_file("/tmp/pacsnb-doc-sample-us.dcm", "US")).PhotometricInterpretation
    'RGB'
    """
    modality = modality.upper()
    if modality == "CT":
        ds = make_ct_series(n_slices=1, seed=seed)[0]
    elif modality == "MR":
        ds = make_mr_series(n_slices=1, seed=seed)[0]
    elif modality == "CR":
        ds = make_cr_image(rows=128, columns=128, seed=seed)
    elif modality == "US":
        ds = make_us_image(rows=60, columns=80, seed=seed)
    else:
        raise PacsnbError(f"modality must be one of {MODALITIES}, got {modality!r}")
    from pacsnb.io import write

    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    write(ds, p, transfer_syntax)
    return str(path)
