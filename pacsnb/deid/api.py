"""``anonymize()``: a data set, files, a folder or a scan DataFrame through an :class:`Anonymizer`.

Examples
--------
>>> from pacsnb.samples import make_ct_series
>>> series = make_ct_series(n_slices=2, rows=8, columns=8)
>>> out, key = anonymize(series, profile="basic", key="secret", progress=False)
>>> len(out), out[0].StudyInstanceUID == out[1].StudyInstanceUID != series[0].StudyInstanceUID
(2, True)
>>> key[key.kind == "PatientID"].original.tolist() == [series[0].PatientID]
True
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Union

from pacsnb.dicom.dataset import Dataset
from pacsnb.errors import DeidError, InvalidDicomError, PacsnbError
from pacsnb.io import read
from pacsnb.io.writer import encode_file, write_atomic
from pacsnb.deid.anonymizer import Anonymizer
from pacsnb.deid.mapping import save_key_table

__all__ = ["anonymize", "iter_paths", "output_path"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def iter_paths(data: Any, recursive: bool = True) -> Iterator[Path]:
    """The files named by ``data``: a path, a folder, a list of them, or a DataFrame with ``path``.

    Parameters
    ----------
    data
        What :func:`anonymize` was given.
    recursive
        Look into sub-folders.

    Yields
    ------
    Path
        Files, in sorted order within each folder (hidden files and folders skipped).

    Examples
    --------
    >>> from pacsnb.samples import write_sample_file
    >>> p = write_sample_file("/tmp/pacsnb-doc-iter/a.dcm")
    >>> [x.name for x in iter_paths("/tmp/pacsnb-doc-iter")]
    ['a.dcm']
    """
    if hasattr(data, "columns") and hasattr(data, "iloc"):
        if "path" not in data.columns:
            raise DeidError("a DataFrame given to anonymize() needs a 'path' column (as pacsnb.scan() gives)")
        items: Iterable[Any] = list(data["path"])
    elif isinstance(data, (str, os.PathLike)):
        items = [data]
    else:
        items = list(data)
    for item in items:
        p = Path(item)
        if p.is_dir():
            walker = p.rglob("*") if recursive else p.glob("*")
            for f in sorted(walker):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    yield f
        else:
            yield p


def output_path(ds: Dataset, out: PathLike) -> Path:
    """Where an anonymized data set is written: ``out/PatientID/StudyUID/SeriesUID/SOPUID.dcm``.

    Built from the new (de-identified) values only, so no original identifier reaches a
    file name.

    Parameters
    ----------
    ds
        The anonymized data set.
    out
        The output folder.

    Returns
    -------
    Path

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"PatientID": "ANON1", "StudyInstanceUID": "2.25.1", "SeriesInstanceUID": "2.25.2",
    ...               "SOPInstanceUID": "2.25.3"})
    >>> output_path(ds, "/tmp/out").as_posix()
    '/tmp/out/ANON1/2.25.1/2.25.2/2.25.3.dcm'
    """
    def part(keyword: str, default: str) -> str:
        v = str(ds.get(keyword, "") or "").strip()
        v = _SAFE.sub("_", v).strip("._") or default
        return v[:64]

    return Path(out) / part("PatientID", "NOID") / part("StudyInstanceUID", "NOSTUDY") / \
        part("SeriesInstanceUID", "NOSERIES") / (part("SOPInstanceUID", "NOUID") + ".dcm")


def _write(ds: Dataset, path: Path, transfer_syntax: str | None) -> None:
    """Encode completely first (a data set that cannot be written never leaves a file), then
    write a temporary file and rename it."""
    write_atomic(path, [encode_file(ds, transfer_syntax)], fsync=False, make_dirs=True)


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def anonymize(data: Any, profile: str = "basic", options: Iterable[str] = (), key: Any = None, *,
              out: PathLike | None = None, keep: Iterable[Any] = (), replace: Mapping[Any, Any] | None = None,
              patients: Any = None, date_offset: int | None = None, safe_private: Mapping[str, Any] | None = None,
              regions: Any = None, boxes: Iterable[Any] | None = None, recursive: bool = True,
              key_table: PathLike | None = None, key_password: Any = None, transfer_syntax: str | None = None,
              errors: str = "raise", dry_run: bool = False, anonymizer: Anonymizer | None = None,
              progress: bool = True):
    """De-identify data sets or files with a PS3.15 profile, consistently across a cohort.

    Parameters
    ----------
    data
        A :class:`~pacsnb.dicom.Dataset`, a list of them, a file or folder path, a list of
        paths, or a DataFrame with a ``path`` column (as ``pacsnb.scan()`` gives).
    profile
        A preset of :data:`pacsnb.deid.PRESETS`.
    options
        More options of :data:`pacsnb.deid.OPTIONS`.
    key
        The cohort's secret: the same key gives the same new UIDs, pseudonyms and date
        shifts in every run. ``None``: a random key (consistent within this call only).
    out
        Folder to write to (``PatientID/StudyUID/SeriesUID/SOPUID.dcm``, new values only).
        Without it, files are read and anonymized in memory and data sets are returned.
    keep, replace, patients, date_offset, safe_private, regions, boxes
        As for :class:`~pacsnb.deid.Anonymizer`.
    recursive
        Look into sub-folders of a folder.
    key_table
        Also write the key table there (never inside ``out``: it re-identifies the cohort).
    key_password
        Encrypt that key table with this password (Fernet; needs ``cryptography``).
    transfer_syntax
        Write in this transfer syntax (default: the one each file was read in).
    errors
        ``"raise"``: stop at the first file that cannot be read, anonymized or written
        (nothing half-done is left for it); ``"skip"``: log it, list it in
        ``anonymizer.report`` and go on.
    dry_run
        Anonymize but write nothing (checks that every file can be done).
    anonymizer
        An :class:`~pacsnb.deid.Anonymizer` to use instead of building one.
    progress
        Show a progress bar.

    Returns
    -------
    (result, key table)
        ``result``: the anonymized data set(s) (a single one for a single data set), or
        the list of new paths when ``out`` is given; ``key table``: a DataFrame
        ``kind, original, pseudonym`` of every replacement. ``key_table.attrs["report"]``
        lists what a person should look at, one dict per image and finding, as
        :attr:`Anonymizer.report <pacsnb.deid.Anonymizer>` does; the log gets one WARNING
        line per kind of finding for the whole call ("N of M images may show recognizable
        features; ..."), not one per image.

    Raises
    ------
    DeidError
        For bad options, a key table asked inside ``out``, or (with ``errors="raise"``)
        a file that cannot be anonymized safely.
    InvalidDicomError
        With ``errors="raise"``, for a file that is not DICOM.

    Examples
    --------
    >>> from pacsnb.samples import write_cohort
    >>> paths = write_cohort("/tmp/pacsnb-doc-anon-in", n_patients=1, series_per_study=1, slices=2,
    ...                      rows=8, columns=8, progress=False)
    >>> new, key = anonymize("/tmp/pacsnb-doc-anon-in", "retain_longitudinal", key="k",
    ...                      out="/tmp/pacsnb-doc-anon-out", progress=False)
    >>> len(new), all(p.exists() for p in new)
    (2, True)
    """
    if errors not in ("raise", "skip"):
        raise DeidError(f"errors must be 'raise' or 'skip', not {errors!r}")
    an = anonymizer or Anonymizer(profile, options, key, keep=keep, replace=replace, patients=patients,
                                  date_offset=date_offset, safe_private=safe_private, regions=regions,
                                  boxes=boxes)
    if key_table is not None and out is not None and _inside(Path(key_table), Path(out)):
        raise DeidError(f"the key table {key_table} would be written inside the output folder {out}: it "
                        "re-identifies the cohort, so keep it elsewhere")
    from tqdm.auto import tqdm

    start = len(an.report)
    seen = [0]  # data sets read and handed to the anonymizer
    was_batch = getattr(an._batch, "active", False)
    an._batch.active = True  # per-image findings go to the report; one summary is logged below
    try:
        if isinstance(data, Dataset) or (isinstance(data, (list, tuple)) and data and
                                         all(isinstance(d, Dataset) for d in data)):
            single = isinstance(data, Dataset)
            items = [data] if single else list(data)
            results: list[Any] = []
            for i, ds in enumerate(tqdm(items, desc="anonymize", unit="ds", disable=not progress)):
                seen[0] += 1
                new = _one(an, lambda ds=ds: an.apply(ds), out, transfer_syntax, dry_run, errors,
                           ds.filename or f"data set {i}")
                if new is not None:
                    results.append(new)
            result: Any = results[0] if single and results else results
        else:
            paths = list(iter_paths(data, recursive))
            folder_given = isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
            results = []
            for path in tqdm(paths, desc="anonymize", unit="file", disable=not progress):
                def job(path=path):
                    try:
                        ds = read(path)
                    except InvalidDicomError:
                        if folder_given:  # other files in a folder (README, DICOMDIR, ...) are skipped
                            log.info("%s: not a DICOM file, skipped", path)
                            return None
                        seen[0] += 1
                        raise
                    seen[0] += 1
                    return an.apply(ds, inplace=True)
                new = _one(an, job, out, transfer_syntax, dry_run, errors, path)
                if new is not None:
                    results.append(new)
            result = results
    finally:
        an._batch.active = was_batch
    with an._lock:
        entries = [dict(r) for r in an.report[start:]]
    _summarize(entries, seen[0])
    table = an.map.key_table()
    table.attrs["report"] = entries
    if key_table is not None and not dry_run:
        save_key_table(table, key_table, password=key_password)
    return result, table


_SUMMARY = {
    "recognizable visual features": "may show recognizable features (a face could be rendered from them; pacsnb "
                                    "flags such images but does not deface them)",
    "burned-in annotation": "have burned-in annotation that was not blanked (Clean Pixel Data was not chosen)",
    "graphics": "have overlay bits in the pixel data that were not cleaned",
}


def _summarize(entries: list[dict], n_images: int) -> None:
    """One WARNING per kind of finding of an anonymize() call (the per-image detail is in the report)."""
    images: dict[str, set[str]] = {}
    for r in entries:
        if r["flag"] != "failed":  # failures are logged one by one: each names a file not written
            images.setdefault(r["flag"], set()).add(r["path"] or r["SOPInstanceUID"] or str(id(r)))
    for flag, names in images.items():
        what = _SUMMARY.get(flag, f"were flagged {flag!r}")
        log.warning("%d of %d images %s; see the report for each image (Anonymizer.report, or "
                    "key_table.attrs['report'] from anonymize(); pacsnb anonymize --report CSV)", len(names),
                    n_images, what)


def _one(an: Anonymizer, job, out, transfer_syntax, dry_run: bool, errors: str, where) -> Any:
    try:
        ds = job()
        if ds is None:
            return None
        if out is None:
            if dry_run:
                encode_file(ds, transfer_syntax)
            return ds
        target = output_path(ds, out)
        if dry_run:
            encode_file(ds, transfer_syntax)
            return target
        _write(ds, target, transfer_syntax)
        return target
    except (PacsnbError, OSError) as exc:
        if errors == "raise":
            if isinstance(exc, (DeidError, InvalidDicomError)) or not where:
                raise  # these name the file already
            raise DeidError(f"{where}: {exc} (nothing was written for it)") from exc
        log.warning("%s: %s (skipped, nothing written)", where, exc)
        with an._lock:
            an.report.append({"SOPInstanceUID": "", "flag": "failed", "reason": str(exc), "path": str(where or "")})
        return None
