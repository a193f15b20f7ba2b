"""The pacsnb demo (``make demo``): generate a sample CT study, read it back, show it, then run a PACS.

Run as a script::

    python -m pacsnb.demo OUTDIR

It writes a synthetic (PHI-free) CT study under ``OUTDIR/study/``, reads every file back
with :func:`pacsnb.read`, prints a dcmdump-like listing of one slice and saves a picture
of the middle slice (soft-tissue window, 40/400 HU) to ``OUTDIR/slice.png``. Then it
starts a PACS on 127.0.0.1 (:func:`pacsnb.services.serve`, archive in ``OUTDIR/archive``),
fills it with our own SCU (the study and a generated cohort), queries it at every level,
moves a study to a second SCP in the same process (``OUTDIR/moved``), gets a series into
``OUTDIR/retrieved``, and prints what it did (``--no-pacs`` skips that part).

Examples
--------
>>> import tempfile
>>> from pacsnb.demo import main
>>> main([tempfile.mkdtemp(), "--slices", "3", "--size", "32", "--quiet"])
0
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import pacsnb
from pacsnb.dicom.dataset import Dataset

__all__ = ["main", "pixels_hu", "dump", "run_pacs"]


def pixels_hu(ds: Dataset) -> np.ndarray:
    """The pixels of a single-frame monochrome image in modality units (HU for CT).

    Decoded with numpy directly from Pixel Data: the dtype follows Bits Allocated and
    Pixel Representation, then Rescale Slope and Intercept apply.

    Parameters
    ----------
    ds
        A single-frame, one-sample image with native little endian Pixel Data.

    Returns
    -------
    numpy.ndarray
        float64, ``(rows, columns)``: stored values x slope + intercept.

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> ds = make_ct_series(n_slices=1, rows=8, columns=8, phantom="sphere", noise=0)[0]
    >>> float(pixels_hu(ds)[4, 4])
    40.0
    """
    bits = int(ds.BitsAllocated)
    signed = int(ds.PixelRepresentation) == 1
    dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}").newbyteorder("<")
    raw = ds.PixelData
    buf = raw.tobytes() if isinstance(raw, np.ndarray) else bytes(raw)
    rows, columns = int(ds.Rows), int(ds.Columns)
    stored = np.frombuffer(buf, dtype=dtype, count=rows * columns).reshape(rows, columns)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return stored.astype(np.float64) * slope + intercept


def dump(ds: Dataset) -> str:
    """A dcmdump-like listing: file meta information, then the data set.

    Parameters
    ----------
    ds
        A data set, read from a file (its ``file_meta`` is listed first) or made in memory.

    Returns
    -------
    str
        The listing, one element a line, under dcmdump's ``#`` headings.

    Examples
    --------
    >>> print(dump(Dataset({"PatientID": "P1", "Rows": 4})))
    # Dicom-File-Format
    <BLANKLINE>
    # Dicom-Meta-Information-Header
    <BLANKLINE>
    # Dicom-Data-Set
    (0010,0020) LO [P1]                                         #   2, 1 PatientID
    (0028,0010) US 4                                            #   2, 1 Rows
    """
    lines = ["# Dicom-File-Format", "", "# Dicom-Meta-Information-Header"]
    if ds.file_meta is not None and len(ds.file_meta):
        lines.append("# Used TransferSyntax: Explicit VR Little Endian")  # group 0002 always is
        lines.append(str(ds.file_meta))
    lines += ["", "# Dicom-Data-Set"]
    if ds.transfer_syntax is not None:
        lines.append(f"# Used TransferSyntax: {getattr(ds.transfer_syntax, 'name', ds.transfer_syntax)}")
    lines.append(str(ds))
    return "\n".join(lines)


def _save_png(hu: np.ndarray, ds: Dataset, path: Path, center: float = 40.0, width: float = 400.0) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    lo, hi = center - width / 2, center + width / 2
    shown = np.clip((hu - lo) / (hi - lo), 0.0, 1.0)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    rows, columns = shown.shape
    fig = Figure(figsize=(6, 6.4), dpi=100)
    ax = fig.subplots()
    ax.imshow(shown, cmap="gray", vmin=0.0, vmax=1.0, extent=(0, columns * dx, rows * dy, 0))
    ax.set_xlabel("mm (columns)")
    ax.set_ylabel("mm (rows)")
    ax.set_title(f"{ds.SeriesDescription} - instance {ds.InstanceNumber}, slice location "
                 f"{float(ds.SliceLocation):g} mm\nwindow {center:g}/{width:g} HU (synthetic, PHI-free)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def run_pacs(out: Path, study_files: list[Path], *, patients: int = 3, say=print) -> dict:
    """Serve an archive on 127.0.0.1, fill it, query it, move and get from it.

    Parameters
    ----------
    out
        The folder for ``archive/``, ``moved/`` and ``retrieved/``.
    study_files
        Part 10 files sent first (the demo's CT study).
    patients
        Patients of the generated cohort sent next.
    say
        Where the report goes (``print``).

    Returns
    -------
    dict
        What happened: ``stored``, ``patients``, ``studies``, ``series``, ``moved``, ``retrieved``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from pacsnb.demo import run_pacs
    >>> run_pacs(Path(tempfile.mkdtemp()), [], patients=2, say=lambda *a: None)["stored"]
    8
    """
    import shutil

    import pandas as pd

    from pacsnb.net import Server, sync
    from pacsnb.samples import make_cohort
    from pacsnb.services import serve

    cohort = make_cohort(n_patients=patients, series_per_study=2, slices=2, rows=64, columns=64, seed=7)
    for sub in ("archive", "moved", "retrieved"):
        shutil.rmtree(out / sub, ignore_errors=True)
    moved_dir = out / "moved"
    moved_dir.mkdir(parents=True)
    workstation = sync.start(Server({"C-STORE": lambda r: r.save(moved_dir / f"{r.sop_instance_uid}.dcm") and 0},
                                    port=0, ae_title="WORKSTATION"))
    pacs = sync.run(serve(out / "archive", port=0, ae_title="PACSNB",
                          peers={"WORKSTATION": ("127.0.0.1", workstation.port)}))
    report: dict = {}
    try:
        say(f"PACS {pacs.ae_title} listening on 127.0.0.1:{pacs.port}, archive {pacs.archive.root}/")
        with pd.option_context("display.width", 160, "display.max_columns", 12, "display.max_colwidth", 28), \
                sync.connect("127.0.0.1", pacs.port, ae_title="DEMO", called_ae="PACSNB") as scu:
            say(f"C-ECHO: status {scu.echo()}")
            t0 = time.perf_counter()
            items = [str(p) for p in study_files] + cohort
            statuses = scu.store(items, progress=False)
            dt = time.perf_counter() - t0
            ok = sum(1 for s in statuses if s == 0)
            say(f"C-STORE: {ok} of {len(items)} instances stored (synced and indexed) in {dt:.2f} s")
            pats = scu.find("PATIENT", "patient", PatientID="*", PatientName=None,
                            fields=["NumberOfPatientRelatedStudies", "NumberOfPatientRelatedInstances"])
            say(f"C-FIND PATIENT level (Patient Root): {len(pats)} patients\n{pats.to_string()}")
            studies = scu.find("STUDY", PatientID="*", StudyDate=None,
                               fields=["ModalitiesInStudy", "NumberOfStudyRelatedInstances"])
            say(f"C-FIND STUDY level (Study Root): {len(studies)} studies\n{studies.to_string()}")
            first = studies.iloc[0]
            series = scu.find("SERIES", StudyInstanceUID=first.StudyInstanceUID, Modality=None,
                              fields=["SeriesNumber", "NumberOfSeriesRelatedInstances"])
            say(f"C-FIND SERIES level in study {first.StudyInstanceUID}:\n{series.to_string()}")
            images = scu.find("IMAGE", StudyInstanceUID=first.StudyInstanceUID,
                              SeriesInstanceUID=series.SeriesInstanceUID.iloc[0], InstanceNumber=None)
            say(f"C-FIND IMAGE level: {len(images)} instances in series {series.SeriesInstanceUID.iloc[0]}")
            moved = scu.move("WORKSTATION", "STUDY", progress=False, StudyInstanceUID=first.StudyInstanceUID)
            say(f"C-MOVE study to WORKSTATION (a second SCP in this process): {moved.completed} sent, "
                f"{moved.failed} failed -> {moved_dir}/")
            got = scu.get("SERIES", into=out / "retrieved", progress=False, StudyInstanceUID=first.StudyInstanceUID,
                          SeriesInstanceUID=series.SeriesInstanceUID.iloc[0])
            say(f"C-GET series: {got.completed} instances written to {out / 'retrieved'}/")
        stats = pacs.statistics
        say(f"server statistics: {stats['associations_accepted']} associations, {stats['stored']} stored, "
            f"{stats['finds']} queries ({stats['find_answers']} answers), {stats['retrieves']} retrieves, "
            f"{stats['bytes_received'] / 1e6:.1f} MB in, {stats['bytes_sent'] / 1e6:.1f} MB out")
        verify = pacs.archive.verify()
        say(f"archive verify: {'clean' if verify.ok else verify}")
        report = {"stored": ok, "patients": len(pats), "studies": len(studies), "series": len(series),
                  "moved": moved.completed, "retrieved": got.completed}
    finally:
        pacs.close()
        sync.stop(workstation)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit status.

    Writes a synthetic CT study (the body phantom) under ``OUTDIR/study/``, reads it back,
    prints a listing of the middle slice and saves its picture to ``OUTDIR/slice.png``.

    Parameters
    ----------
    argv
        Command-line arguments (default ``sys.argv[1:]``): ``[OUTDIR] [--slices N]
        [--size N] [--seed N] [--quiet]``.

    Returns
    -------
    int
        0 on success.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = tempfile.mkdtemp()
    >>> main([out, "--slices", "2", "--size", "16", "--quiet"])
    0
    >>> (Path(out) / "slice.png").is_file(), len(list((Path(out) / "study").rglob("*.dcm")))
    (True, 2)
    """
    parser = argparse.ArgumentParser(prog="python -m pacsnb.demo",
                                     description="Generate a sample CT study, read it back and show a slice.")
    parser.add_argument("outdir", nargs="?", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("--slices", type=int, default=40, help="number of CT slices (default 40)")
    parser.add_argument("--size", type=int, default=256, help="rows and columns (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="print nothing (no progress bar either)")
    parser.add_argument("--no-pacs", action="store_true", help="skip the PACS part (serve, store, query, retrieve)")
    args = parser.parse_args(argv)

    from pacsnb.samples import iter_ct_series, write_cohort

    out = Path(args.outdir)
    study_dir = out / "study"
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda *a, **k: None) if args.quiet else print

    t0 = time.perf_counter()
    fov = 350.0
    series = iter_ct_series(args.slices, args.size, args.size, pixel_spacing=(fov / args.size, fov / args.size),
                            slice_thickness=5.0, phantom="body", seed=args.seed)
    paths = write_cohort(study_dir, series, layout="series", progress=not args.quiet)
    t1 = time.perf_counter()
    say(f"wrote {len(paths)} CT files ({sum(p.stat().st_size for p in paths) / 1e6:.1f} MB) "
        f"in {t1 - t0:.2f} s under {study_dir}/")

    datasets = [pacsnb.read(p) for p in paths]
    t2 = time.perf_counter()
    say(f"read them back with pacsnb.read in {t2 - t1:.2f} s")
    datasets.sort(key=lambda d: float(d.SliceLocation))
    middle = datasets[len(datasets) // 2]
    say("")
    say(f"dcmdump-like listing of {middle.filename}:")
    say(dump(middle))
    say("")

    hu = pixels_hu(middle)
    png = out / "slice.png"
    _save_png(hu, middle, png)
    say(f"pacsnb demo: {len(paths)} synthetic CT files in {study_dir.resolve()}/, "
          f"middle slice picture in {png.resolve()}")
    say(f"  patient {middle.PatientName} ({middle.PatientID}), study {middle.StudyDescription}, "
          f"series {middle.SeriesDescription!s}, {middle.Rows}x{middle.Columns} pixels, HU range "
          f"{hu.min():.0f}..{hu.max():.0f}")
    if not args.no_pacs:
        say("")
        run_pacs(out, paths, say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
