"""``pacsnb anonymize``: PS3.15 de-identification of files and folders, through :func:`pacsnb.deid.anonymize`.

Flags familiar from other anonymizers: ``--profile``, ``-k/--keep``, ``-r/--replace TAG=VALUE``,
``--patient-id``, ``--patient-name``, ``--date-offset``, ``-m mapping.csv``, ``--recursive``,
``-o out/``, ``--dry-run``, ``--verify``; ``--report CSV`` lists the images to review.
The secret key comes from ``--key`` or the
environment variable ``PACSNB_DEID_KEY``; the key table is written only where
``--key-table`` says (never inside the output folder).
"""
from __future__ import annotations

import argparse
import os
import sys

from pacsnb.errors import PacsnbError

__all__ = ["add_parsers", "run_anonymize", "parse_replace"]


def add_parsers(sub) -> None:
    """Add the ``anonymize`` subcommand to an ``argparse`` subparsers object.

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers()`` returned.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="pacsnb")
    >>> add_parsers(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["anonymize", "in/", "-o", "out/", "--profile", "retain_longitudinal",
    ...                           "-k", "PatientSex", "-r", "StudyDescription=RESEARCH"])
    >>> args.profile, args.keep, parse_replace(args.replace)
    ('retain_longitudinal', ['PatientSex'], {'StudyDescription': 'RESEARCH'})
    """
    from pacsnb.deid.profile import OPTIONS, PRESETS

    a = sub.add_parser("anonymize", help="de-identify DICOM files with a PS3.15 profile (consistent across runs "
                                         "that share a key)",
                       description="De-identify files and folders with the PS3.15 Basic Profile and its options. "
                                   "The same --key (or PACSNB_DEID_KEY) gives the same new UIDs, pseudonyms and "
                                   "date shifts in every run.")
    a.add_argument("paths", nargs="+", metavar="IN", help="files or folders")
    a.add_argument("-o", "--out", metavar="DIR", help="output folder (PatientID/StudyUID/SeriesUID/SOPUID.dcm)")
    a.add_argument("--profile", default="basic", choices=sorted(PRESETS), help="named preset (default basic)")
    a.add_argument("--option", action="append", default=[], choices=sorted(OPTIONS), metavar="OPTION",
                   help=f"add an option (repeatable): {', '.join(sorted(OPTIONS))}")
    a.add_argument("-k", "--keep", action="append", default=[], metavar="TAG", help="keep this attribute as it is")
    a.add_argument("-r", "--replace", action="append", default=[], metavar="TAG=VALUE",
                   help="set this attribute on every file")
    a.add_argument("--patient-id", help="the new Patient ID of every file")
    a.add_argument("--patient-name", help="the new Patient's Name of every file")
    a.add_argument("--date-offset", type=int, metavar="DAYS",
                   help="shift dates by DAYS (with --option retain_longitudinal_modified_dates or that profile)")
    a.add_argument("-m", "--mapping", metavar="CSV", help="patient table: PatientID,NewPatientID[,NewPatientName,"
                                                         "DateOffset]")
    a.add_argument("--key", help="the cohort's secret (default: $PACSNB_DEID_KEY, else random for this run)")
    a.add_argument("--key-table", metavar="PATH", help="write the key table (original -> new) there")
    a.add_argument("--key-password", help="encrypt the key table with this password")
    a.add_argument("--recursive", action="store_true", help="look into sub-folders (folders are read recursively "
                                                              "by default only with this flag)")
    a.add_argument("--dry-run", action="store_true", help="anonymize in memory, write nothing")
    a.add_argument("--verify", action="store_true", help="check the outputs against the inputs with verify()")
    a.add_argument("--skip-errors", action="store_true", help="skip files that fail instead of stopping")
    a.add_argument("--report", metavar="CSV", help="write the per-image findings (recognizable features, "
                                                   "burned-in annotation, failures) there")
    a.set_defaults(func=run_anonymize)


def parse_replace(items: list[str]) -> dict[str, str]:
    """``["Tag=VALUE", ...]`` as a dict.

    Parameters
    ----------
    items
        The ``-r`` arguments.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        For an item without ``=``.

    Examples
    --------
    >>> parse_replace(["0008,1030=A=B", "PatientSex=O"])
    {'0008,1030': 'A=B', 'PatientSex': 'O'}
    """
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"-r {item!r}: write TAG=VALUE (e.g. -r StudyDescription=RESEARCH)")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def run_anonymize(args: argparse.Namespace) -> int:
    """Run ``pacsnb anonymize`` with parsed arguments; returns the exit status.

    Parameters
    ----------
    args
        From the ``anonymize`` parser.

    Returns
    -------
    int
        0 on success, 1 when a file failed or ``--verify`` found something, 2 for bad arguments.

    Examples
    --------
    >>> from pacsnb.cli import main
    >>> from pacsnb.samples import write_sample_file
    >>> p = write_sample_file("/tmp/pacsnb-doc-cli-anon/in.dcm")
    >>> main(["anonymize", p, "-o", "/tmp/pacsnb-doc-cli-anon/out", "--key", "k", "--verify"])  # doctest: +ELLIPSIS
    anonymized 1 file(s) into /tmp/pacsnb-doc-cli-anon/out
    verify: nothing left
    0
    """
    from pacsnb.deid import Anonymizer, anonymize, verify

    try:
        replace = parse_replace(args.replace)
    except ValueError as exc:
        print(f"pacsnb anonymize: {exc}", file=sys.stderr)
        return 2
    if args.patient_id is not None:
        replace["PatientID"] = args.patient_id
    if args.patient_name is not None:
        replace["PatientName"] = args.patient_name
    if args.out is None and not args.dry_run:
        print("pacsnb anonymize: give -o/--out DIR (or --dry-run)", file=sys.stderr)
        return 2
    if args.report and args.out:
        from pathlib import Path

        try:
            Path(args.report).resolve().relative_to(Path(args.out).resolve())
            print(f"pacsnb anonymize: the report {args.report} names the original files and UIDs: write it outside "
                  f"the output folder {args.out}", file=sys.stderr)
            return 2
        except ValueError:
            pass
    key = args.key if args.key is not None else os.environ.get("PACSNB_DEID_KEY")
    if key is None:
        print("pacsnb anonymize: no --key or PACSNB_DEID_KEY: a random key is used, so another run will not give "
              "the same UIDs and pseudonyms", file=sys.stderr)
    try:
        an = Anonymizer(args.profile, args.option, key, keep=args.keep, replace=replace, patients=args.mapping,
                        date_offset=args.date_offset)
        paths = list(args.paths)
        result, table = anonymize(paths, anonymizer=an, out=args.out, recursive=args.recursive,
                                  key_table=args.key_table, key_password=args.key_password, dry_run=args.dry_run,
                                  errors="skip" if args.skip_errors else "raise", progress=False)
    except PacsnbError as exc:
        print(f"pacsnb anonymize: {exc}", file=sys.stderr)
        return 1
    failed = [r for r in an.report if r["flag"] == "failed"]
    for r in failed:  # each one is a file that was not written: name them all
        print(f"failed: {r['path'] or r['SOPInstanceUID']}: {r['reason']}", file=sys.stderr)
    # images to review were summarized in the log, one line per kind; the detail goes to --report
    if len(an.report) > len(failed) and not args.report:
        print("pacsnb anonymize: some images need review; --report CSV lists them one by one", file=sys.stderr)
    if args.report:
        import pandas as pd

        pd.DataFrame(an.report, columns=["flag", "reason", "path", "SOPInstanceUID", "new_SOPInstanceUID",
                                         "Modality"]).to_csv(args.report, index=False)
    verb = "would anonymize" if args.dry_run else "anonymized"
    print(f"{verb} {len(result)} file(s)" + (f" into {args.out}" if args.out else ""))
    status = 1 if failed else 0
    if args.verify and result and not args.dry_run:
        findings = verify(result, anonymizer=an, originals=paths, key_table=table)
        if len(findings):
            print(findings.to_string(index=False))
            status = 1
        else:
            print("verify: nothing left")
    return status
