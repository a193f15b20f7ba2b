"""``pacsnb archive``: look after an archive folder (list, statistics, verify, reindex, remove, add).

==================================================  ==========================================
``pacsnb archive ls ROOT [-L STUDY] [-k KEY=VALUE]``  list patients/studies/series/instances
                                                    matching the keys (C-FIND matching)
``pacsnb archive stats ROOT``                       counts, sizes, modalities
``pacsnb archive verify ROOT [--quick]``            every row has a readable file, every
                                                    file a row (exit status 1 if not)
``pacsnb archive reindex ROOT``                     rebuild the index from the files
``pacsnb archive rm ROOT --study/--series/--instance UID...``  delete
``pacsnb archive add ROOT FILE|DIR... [-r]``         store files into the archive
==================================================  ==========================================
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pacsnb.errors import PacsnbError

__all__ = ["add_parsers", "run_archive", "parse_keys"]


def add_parsers(sub) -> None:
    """Add the ``archive`` subcommand (and its own subcommands) to an ``argparse`` subparsers object.

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers()`` returned.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="pacsnb")
    >>> add_parsers(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["archive", "ls", "/tmp/a", "-L", "SERIES", "-k", "Modality=CT"])
    >>> args.action, args.level, args.keys
    ('ls', 'SERIES', ['Modality=CT'])
    """
    a = sub.add_parser("archive", help="list, check and maintain a pacsnb archive folder",
                       description="Work on a pacsnb archive (files + SQLite index).")
    acts = a.add_subparsers(dest="action", metavar="ACTION")
    ls = acts.add_parser("ls", help="list entities matching keys (C-FIND matching)")
    ls.add_argument("root")
    ls.add_argument("-L", "--level", default="STUDY", type=str.upper,
                    choices=["PATIENT", "STUDY", "SERIES", "IMAGE", "INSTANCE"], help="query level (default STUDY)")
    ls.add_argument("-k", "--key", dest="keys", action="append", default=[], metavar="KEY=VALUE",
                    help="a matching key by keyword or tag, like findscu -k (PatientName=DOE*, 0008,0020=2024-)")
    ls.add_argument("--columns", help="comma-separated columns to show (default: a few of the level's)")
    ls.add_argument("--limit", type=int, default=None, help="at most this many rows")
    st = acts.add_parser("stats", help="counts and sizes")
    st.add_argument("root")
    v = acts.add_parser("verify", help="check files against the index")
    v.add_argument("root")
    v.add_argument("--quick", action="store_true", help="check that files exist without reading them")
    r = acts.add_parser("reindex", help="rebuild the index from the files")
    r.add_argument("root")
    r.add_argument("--no-progress", action="store_true")
    rm = acts.add_parser("rm", help="delete studies, series or instances")
    rm.add_argument("root")
    rm.add_argument("--study", action="append", default=[], metavar="UID")
    rm.add_argument("--series", action="append", default=[], metavar="UID")
    rm.add_argument("--instance", action="append", default=[], metavar="UID")
    add = acts.add_parser("add", help="store DICOM files into the archive")
    add.add_argument("root")
    add.add_argument("paths", nargs="+", metavar="FILE|DIR")
    add.add_argument("-r", "--recursive", action="store_true", help="descend into folders")
    add.add_argument("--duplicates", default="reject", choices=["reject", "replace", "keep"])
    add.add_argument("--no-progress", action="store_true")
    a.set_defaults(func=run_archive)


def parse_keys(items: list[str]) -> dict[str, str]:
    """``["PatientName=DOE*", "0008,0020=2024-"]`` as ``{keyword: value}`` (tags become keywords).

    Examples
    --------
    >>> parse_keys(["PatientName=DOE*", "0008,0020=20240101-", "Modality"])
    {'PatientName': 'DOE*', 'StudyDate': '20240101-', 'Modality': ''}
    """
    from pacsnb.dicom import Tag

    out = {}
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip()
        if "," in name or (len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name)):
            name = Tag(name).keyword or name
        out[name] = value
    return out


_SHOW = {"PATIENT": ["PatientID", "PatientName", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies"],
         "STUDY": ["PatientID", "PatientName", "StudyDate", "AccessionNumber", "ModalitiesInStudy",
                   "StudyDescription", "NumberOfStudyRelatedInstances", "StudyInstanceUID"],
         "SERIES": ["PatientID", "StudyDate", "Modality", "SeriesNumber", "SeriesDescription",
                    "NumberOfSeriesRelatedInstances", "SeriesInstanceUID"],
         "IMAGE": ["PatientID", "Modality", "SeriesNumber", "InstanceNumber", "SOPInstanceUID", "path"]}


def _files(paths: list[str], recursive: bool):
    for p in paths:
        if os.path.isdir(p):
            if not recursive:
                print(f"pacsnb archive add: {p} is a folder (use -r)", file=sys.stderr)
                continue
            for folder, _, names in os.walk(p):
                for n in sorted(names):
                    yield os.path.join(folder, n)
        else:
            yield p


def run_archive(args: argparse.Namespace) -> int:
    """Run ``pacsnb archive ACTION``; returns the exit status (1 when verify finds problems
    or an error occurs, 2 without an action).

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> run_archive(argparse.Namespace(action="stats", root=root))  # doctest: +ELLIPSIS
    root ...
    instances 0
    ...
    0
    """
    from pacsnb.archive import Archive

    if not getattr(args, "action", None):
        print("pacsnb archive: give an action: ls, stats, verify, reindex, rm, add", file=sys.stderr)
        return 2
    if args.action != "add" and not (Path(args.root) / "index.sqlite").exists() and args.action != "stats":
        print(f"pacsnb archive: {args.root} is not an archive (no index.sqlite)", file=sys.stderr)
        return 1
    try:
        with Archive(args.root, duplicates=getattr(args, "duplicates", "reject")) as archive:
            if args.action == "ls":
                keys = parse_keys(args.keys)
                df = archive.find(args.level, limit=args.limit, **keys)
                cols = args.columns.split(",") if args.columns else _SHOW["IMAGE" if args.level == "INSTANCE"
                                                                           else args.level]
                cols += [k for k in keys if k not in cols]
                import pandas as pd

                with pd.option_context("display.max_rows", None, "display.max_columns", None,
                                       "display.width", 200, "display.max_colwidth", 70):
                    print(df[[c for c in cols if c in df.columns]].to_string(index=False) if len(df) else "(none)")
                return 0
            if args.action == "stats":
                for k, v in archive.stats().items():
                    print(f"{k} {v}")
                return 0
            if args.action == "verify":
                report = archive.verify(deep=not args.quick)
                print(report)
                for rel in report.missing:
                    print(f"missing     {rel}")
                for rel, why in report.unreadable:
                    print(f"unreadable  {rel}: {why}")
                for rel in report.unindexed:
                    print(f"unindexed   {rel}")
                for rel in report.temporary:
                    print(f"temporary   {rel}")
                return 0 if report.ok else 1
            if args.action == "reindex":
                n = archive.reindex(progress=not args.no_progress)
                print(f"reindexed {n} instances")
                return 0
            if args.action == "rm":
                if not (args.study or args.series or args.instance):
                    print("pacsnb archive rm: give --study, --series or --instance UIDs", file=sys.stderr)
                    return 2
                n = archive.delete(study=args.study or None, series=args.series or None,
                                   instance=args.instance or None)
                print(f"deleted {n} instances")
                return 0
            if args.action == "add":
                results = archive.store_many(_files(args.paths, args.recursive), progress=not args.no_progress,
                                             errors="skip")
                print(f"stored {len(results)} instances")
                return 0
    except (PacsnbError, OSError) as exc:
        print(f"pacsnb archive {args.action}: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover
