"""``pacsnb dump`` (like dcmdump) and ``pacsnb info`` (one summary line per file)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pacsnb.dicom.tag import as_tag
from pacsnb.errors import PacsnbError
from pacsnb.io import read

__all__ = ["add_parsers", "iter_files", "with_path", "run_dump", "run_info"]


def add_parsers(sub) -> None:
    """Add the ``dump`` and ``info`` subcommands to an ``argparse`` subparsers object.

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers()`` returned.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="pacsnb")
    >>> sub = parser.add_subparsers(dest="command")
    >>> add_parsers(sub)
    >>> sorted(sub.choices)
    ['dump', 'info']
    >>> parser.parse_args(["info", "-r", "folder"]).recursive
    True
    """
    d = sub.add_parser("dump", help="print the elements of DICOM files (like dcmdump)",
                       description="Print the elements of DICOM files, one per line, as dcmdump does.")
    d.add_argument("paths", nargs="+", metavar="FILE|DIR")
    d.add_argument("-r", "--recursive", action="store_true", help="descend into folders")
    d.add_argument("--no-pixels", action="store_true", help="stop before Pixel Data (faster)")
    d.add_argument("--tags", "-k", "--search", dest="tags", action="append", default=[], metavar="TAG",
                   help="show only this element (keyword or gggg,eeee); repeatable")
    d.add_argument("--no-meta", action="store_true", help="do not print the File Meta Information")
    d.set_defaults(func=run_dump)
    i = sub.add_parser("info", help="one summary line per DICOM file",
                       description="Summarise DICOM files: patient, study, series, SOP class, transfer syntax, size.")
    i.add_argument("paths", nargs="*", metavar="FILE|DIR")
    i.add_argument("-r", "--recursive", action="store_true", help="descend into folders")
    i.set_defaults(func=run_info)


def iter_files(paths: list[str], recursive: bool) -> Iterator[str]:
    """Files named, and files in named folders (their subfolders too if ``recursive``).

    Parameters
    ----------
    paths
        Files and folders; a path that is not a folder is yielded as it is (even if it
        does not exist, so that reading it reports the error).
    recursive
        Also walk the subfolders of named folders.

    Yields
    ------
    str
        File paths, each folder's files in sorted order.

    Examples
    --------
    >>> import os, tempfile
    >>> from pacsnb.samples import write_sample_file
    >>> top = tempfile.mkdtemp()
    >>> _ = write_sample_file(os.path.join(top, "b.dcm")), write_sample_file(os.path.join(top, "sub", "a.dcm"))
    >>> [Path(p).relative_to(top).as_posix() for p in iter_files([top], recursive=False)]
    ['b.dcm']
    >>> [Path(p).relative_to(top).as_posix() for p in iter_files([top], recursive=True)]
    ['b.dcm', 'sub/a.dcm']
    """
    for p in paths:
        if os.path.isdir(p):
            if recursive:
                for root, dirs, files in os.walk(p):
                    dirs.sort()
                    for f in sorted(files):
                        yield os.path.join(root, f)
            else:
                for f in sorted(os.listdir(p)):
                    full = os.path.join(p, f)
                    if os.path.isfile(full):
                        yield full
        else:
            yield p


def with_path(exc: Exception, path: str) -> str:
    """The error message, naming the file once (for ``E:`` lines of the subcommands).

    Examples
    --------
    >>> with_path(OSError("disk full"), "a.dcm"), with_path(OSError("a.dcm: gone"), "a.dcm")
    ('a.dcm: disk full', 'a.dcm: gone')
    """
    msg = str(exc)
    return msg if path in msg else f"{path}: {msg}"


def run_dump(args: argparse.Namespace) -> int:
    """``pacsnb dump``: print the elements of each file, as dcmdump does.

    Errors are printed to stderr (``E: ...``), read warnings too (``W: ...``), and the
    other files are still dumped.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb dump``: ``paths``, ``recursive``, ``no_pixels``,
        ``tags`` (print only these elements) and ``no_meta``.

    Returns
    -------
    int
        0 if every file was read, 1 if one could not be, 2 for an invalid ``--tags``.

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.samples import write_sample_file
    >>> path = write_sample_file("/tmp/pacsnb-doc-cli-dump.dcm")
    >>> run_dump(build_parser().parse_args(["dump", "--tags", "PatientID", path]))
    (0010,0020) LO [PNB0000000]                                 #  10, 1 PatientID
    0
    """
    try:
        tags = [as_tag(t) for t in args.tags] if args.tags else None
    except PacsnbError as exc:
        print(f"E: {exc}", file=sys.stderr)
        return 2
    status = 0
    files = list(iter_files(args.paths, args.recursive))
    for path in files:
        try:
            ds = read(path, stop_before_pixels=args.no_pixels)
        except (PacsnbError, OSError) as exc:
            print(f"E: {with_path(exc, path)}", file=sys.stderr)
            status = 1
            continue
        if len(files) > 1:
            print(f"\n# {path}")
        if tags:
            for t in tags:
                if t in ds:
                    print(repr(ds[t]))
            continue
        print("# Dicom-File-Format\n")
        if ds.file_meta is not None and len(ds.file_meta) and not args.no_meta:
            print("# Dicom-Meta-Information-Header")
            print("# Used TransferSyntax: Explicit VR Little Endian")
            print(ds.file_meta)
            print()
        ts = ds.read_transfer_syntax
        print("# Dicom-Data-Set")
        print(f"# Used TransferSyntax: {ts.name if ts is not None and ts.name else ts}")
        print(ds)
        for w in ds.read_warnings:
            print(f"W: {w}", file=sys.stderr)
    return status


def run_info(args: argparse.Namespace) -> int:
    """``pacsnb info``: one tab-separated summary line per file.

    The fields: path, Patient ID, Modality, Study Date, SOP Class, ``COLUMNSxROWS[xFRAMES]``,
    transfer syntax and file size. Without paths, prints the versions of pacsnb, numpy,
    numba and Python.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb info``: ``paths`` and ``recursive``.

    Returns
    -------
    int
        0 if every file was read, 1 if one could not be (its error goes to stderr).

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.samples import write_sample_file
    >>> path = write_sample_file("/tmp/pacsnb-doc-cli-info.dcm")
    >>> run_info(build_parser().parse_args(["info", path]))  # doctest: +NORMALIZE_WHITESPACE, +ELLIPSIS
    /tmp/pacsnb-doc-cli-info.dcm PNB0000000 CT 20240920 CT Image Storage 64x64 Explicit VR Little Endian ... B
    0
    """
    if not args.paths:
        import numba
        import numpy

        from pacsnb._version import __version__
        print(f"pacsnb {__version__} (numpy {numpy.__version__}, numba {numba.__version__}, "
              f"Python {sys.version.split()[0]})")
        return 0
    status = 0
    for path in iter_files(args.paths, args.recursive):
        try:
            ds = read(path, stop_before_pixels=True)
        except (PacsnbError, OSError) as exc:
            print(f"E: {with_path(exc, path)}", file=sys.stderr)
            status = 1
            continue
        ts = ds.read_transfer_syntax
        sop = ds.get("SOPClassUID")
        dims = ""
        if "Rows" in ds and "Columns" in ds:
            dims = f"{ds.get('Columns')}x{ds.get('Rows')}"
            frames = ds.get("NumberOfFrames")
            if frames not in (None, "", 1):
                dims += f"x{frames}"
        fields = [path, str(ds.get("PatientID", "")), str(ds.get("Modality", "")),
                  str(ds.get("StudyDate", "")), getattr(sop, "name", "") or str(sop or ""), dims,
                  (ts.name if ts is not None and ts.name else str(ts)), f"{Path(path).stat().st_size} B"]
        print("\t".join(fields))
    return status
