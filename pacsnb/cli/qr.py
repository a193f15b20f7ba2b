"""``pacsnb find``, ``pacsnb move`` and ``pacsnb get``: dcmtk's findscu, movescu and getscu.

Thin layers over :class:`pacsnb.net.sync.SyncAssociation`, with the flags dcmtk users know:
``-aet``/``-aec``/``-aem`` (our, the peer's and the move destination's AE titles), ``-P``,
``-S`` and ``-W`` (Patient Root, Study Root, Modality Worklist), ``-k`` keys
(``-k 0010,0010=DOE*``, ``-k PatientName=DOE*``, ``-k StudyDate`` to ask for an attribute,
``-k QueryRetrieveLevel=SERIES`` or ``-k 0008,0052=SERIES`` for the level, and
``-k "ScheduledProcedureStepSequence[0].Modality=CT"`` inside a sequence), ``-od`` (where
retrieved files go), and the TLS flags of ``pacsnb echo`` (``--tls``, ``+tls KEY CERT``,
``+cf CA``, ...: the association with the node goes over TLS). Messages go to stderr as ``E: ...``; the exit status is 0 on
success and 1 on failure.

Examples
--------
>>> from pacsnb.cli import main
>>> from pacsnb.net import Server, sync
>>> from pacsnb.net.memory import MemoryQR
>>> from pacsnb.samples import make_ct_series
>>> series = make_ct_series(n_slices=2, rows=8, columns=8)
>>> server = sync.start(Server(MemoryQR(series).handlers(), port=0, ae_title="QR"))
>>> main(["find", "-aec", "QR", "-S", "-k", "0008,0052=STUDY", "-k", "PatientID",
...       "-k", "NumberOfStudyRelatedInstances", "127.0.0.1", str(server.port)])  # doctest: +ELLIPSIS
 PatientID  NumberOfStudyRelatedInstances                             StudyInstanceUID
PNB0000000                              2 2.25...
0
>>> sync.stop(server)
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable

from pacsnb.cli._args import add_association_args, add_tls_args, tls_config
from pacsnb.dicom import dictionary as _dictionary
from pacsnb.errors import DicomValueError, DimseError, PacsnbError
from pacsnb.net import sync

__all__ = ["add_parsers", "parse_keys", "run_find", "run_move", "run_get"]

_TAG = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")
_ITEM = re.compile(r"^(.+?)\[(\d+)\]$")


def _err(msg: object) -> None:
    print(f"E: {msg}", file=sys.stderr, flush=True)


def _keyword(name: str) -> str:
    name = name.strip()
    m = _TAG.match(name)
    if m:
        tag = int(m.group(1) + m.group(2), 16)
        kw = _dictionary.keyword_for_tag(tag)
        if not kw:
            raise DicomValueError(f"-k {name}: ({m.group(1)},{m.group(2)}) has no keyword in the dictionary; "
                                  f"use a standard attribute")
        return kw
    if _dictionary.tag_for_keyword(name) is None:
        raise DicomValueError(f"-k {name}: not a DICOM keyword nor a tag like 0010,0010")
    return name


def parse_keys(keys: list[str]) -> tuple[str | None, dict[str, Any]]:
    """The query level and the matching keys of ``-k`` arguments (dcmtk syntax).

    Parameters
    ----------
    keys
        ``KEY=VALUE`` or ``KEY`` (asked for, empty), where KEY is a keyword or a tag
        (``0010,0010`` or ``(0010,0010)``); ``SEQ[0].KEY=VALUE`` sets a key inside the first
        item of a sequence.

    Returns
    -------
    tuple
        The QueryRetrieveLevel given (or ``None``), and ``{keyword: value}`` (``None`` for
        an empty key; a dict for a sequence item).

    Raises
    ------
    DicomValueError
        A key that is neither a keyword nor a known tag.

    Examples
    --------
    >>> from pacsnb.cli.qr import parse_keys
    >>> parse_keys(["0008,0052=SERIES", "PatientName=DOE*", "(0020,000D)=1.2.3", "Modality"])
    ('SERIES', {'PatientName': 'DOE*', 'StudyInstanceUID': '1.2.3', 'Modality': None})
    >>> parse_keys(["ScheduledProcedureStepSequence[0].Modality=CT",
    ...             "(0040,0100)[0].ScheduledStationAETitle"])
    (None, {'ScheduledProcedureStepSequence': {'Modality': 'CT', 'ScheduledStationAETitle': None}})
    """
    level = None
    out: dict[str, Any] = {}
    for text in keys:
        name, eq, value = text.partition("=")
        val: Any = value if eq and value != "" else None
        path = name.split(".")
        if len(path) > 2:
            raise DicomValueError(f"-k {text}: only one level of sequence is supported (SEQ[0].KEY=VALUE)")
        if len(path) == 2:
            m = _ITEM.match(path[0])
            if not m or m.group(2) != "0":
                raise DicomValueError(f"-k {text}: write a sequence key as SEQ[0].KEY=VALUE")
            seq = _keyword(m.group(1))
            item = out.get(seq)
            if not isinstance(item, dict):
                item = out[seq] = {}
            item[_keyword(path[1])] = val
            continue
        kw = _keyword(name)
        if kw == "QueryRetrieveLevel":
            level = str(val).upper() if val else None
            continue
        if isinstance(val, str) and kw.endswith("UID") and "\\" in val:
            val = val.split("\\")  # a UID list
        out[kw] = val
    return level, out


def _common(p: argparse.ArgumentParser, aet: str, models: str) -> None:
    p.add_argument("host", metavar="HOST")
    p.add_argument("port", type=int, metavar="PORT")
    add_association_args(p, aet, "ANY-SCP")
    add_tls_args(p, key_cert_flags=False)
    p.add_argument("-k", "--key", dest="keys", action="append", default=[], metavar="KEY[=VALUE]",
                   help="a key: 0010,0010=DOE* or PatientName=DOE*; KEY alone asks for the attribute; "
                        "0008,0052=LEVEL sets the query level")
    model = p.add_mutually_exclusive_group()
    model.add_argument("-P", "--patient", dest="model", action="store_const", const="patient",
                       help="Patient Root information model")
    model.add_argument("-S", "--study", dest="model", action="store_const", const="study",
                       help="Study Root information model (the default)")
    if "W" in models:
        model.add_argument("-W", "--worklist", dest="model", action="store_const", const="worklist",
                           help="Modality Worklist information model")
    p.set_defaults(model="study")


def add_parsers(sub) -> None:
    """Add the ``find``, ``move`` and ``get`` subcommands to an ``argparse`` subparsers object.

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers()`` returned.

    Examples
    --------
    >>> import argparse
    >>> from pacsnb.cli.qr import add_parsers
    >>> parser = argparse.ArgumentParser(prog="pacsnb")
    >>> add_parsers(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["move", "-aem", "ME", "-P", "-k", "0010,0020=P1", "pacs", "104"])
    >>> args.aem, args.model, args.keys, args.port
    ('ME', 'patient', ['0010,0020=P1'], 104)
    """
    f = sub.add_parser("find", help="C-FIND query a DICOM node (like findscu)",
                       description="Query a node and print the matches as a table (or CSV).", prefix_chars="-+")
    _common(f, "FINDSCU", "PSW")
    f.add_argument("--csv", metavar="FILE", help="write the matches as CSV to FILE ('-': stdout)")
    f.set_defaults(func=run_find)

    m = sub.add_parser("move", help="C-MOVE instances to an AE title (like movescu)",
                       description="Ask a node to send the matching instances to the move destination "
                                   "(-aem). With -aem equal to -aet (or ME) they come here: a storage SCP "
                                   "listens on --port and writes them into -od.", prefix_chars="-+")
    _common(m, "MOVESCU", "PS")
    m.add_argument("-aem", "--move", dest="aem", default=None, metavar="AEM",
                   help="the move destination AE title (default: our -aet, i.e. here)")
    m.add_argument("-od", "--output-directory", dest="od", default=".", metavar="DIR",
                   help="where instances moved here go (default: the current folder)")
    m.add_argument("--port", dest="move_port", type=int, default=11112, metavar="PORT",
                   help="the port to receive on when moving here (default 11112; the node must know it)")
    m.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS", help="the address to receive on")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.set_defaults(func=run_move)

    g = sub.add_parser("get", help="C-GET instances into a folder (like getscu)",
                       description="Retrieve the matching instances over the same association "
                                   "(nothing to configure on the node) into -od.", prefix_chars="-+")
    _common(g, "GETSCU", "PS")
    g.add_argument("-od", "--output-directory", dest="od", default=".", metavar="DIR",
                   help="where retrieved instances go (default: the current folder)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=run_get)


def run_find(args: argparse.Namespace) -> int:
    """``pacsnb find``: query and print the matches.

    Returns 0 on success (no match included), 1 on failure (explained on stderr).

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run_find(build_parser().parse_args(["find", "-k", "NotAKey=1", "127.0.0.1", "1"]))
    1
    >>> err.getvalue().startswith("E: -k NotAKey")
    True
    """
    try:
        level, keys = parse_keys(args.keys)
        if args.model == "worklist":
            level = "WORKLIST"
        elif level is None:
            level = "PATIENT" if args.model == "patient" else "STUDY"
        with sync.connect(args.host, args.port, ae_title=args.aet, called_ae=args.aec,
                          timeout=args.timeout, tls=tls_config(args)) as assoc:
            df = assoc.find(level, args.model, **keys)
    except PacsnbError as exc:
        _err(exc)
        return 1
    if args.csv:
        df.to_csv(sys.stdout if args.csv == "-" else args.csv, index=False)
    else:
        print(df.to_string(index=False) if len(df) else f"no match ({', '.join(df.columns)})", flush=True)
    return 0


def _retrieve_keys(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    level, keys = parse_keys(args.keys)
    if level is None:
        level = "PATIENT" if args.model == "patient" else "STUDY"
    return level, keys


def _summary(what: str, result) -> int:
    print(f"{what}: {result.completed} completed, {result.failed} failed, {result.warning} warning"
          + (f", {len(result.paths)} files written" if result.paths else "")
          + (" (cancelled)" if result.cancelled else ""), flush=True)
    for uid in result.failed_sop_instance_uids:
        _err(f"failed: {uid}")
    return 1 if result.failed else 0


def run_move(args: argparse.Namespace) -> int:
    """``pacsnb move``: C-MOVE to ``-aem`` (here by default); print a summary.

    Returns 0 if every sub-operation succeeded, 1 otherwise (the reason on stderr, e.g.
    what the node's administrator must configure for a destination it does not know).

    Examples
    --------
    >>> import socket, tempfile
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.net import Server, sync
    >>> from pacsnb.net.memory import MemoryQR
    >>> from pacsnb.samples import make_ct_series
    >>> series = make_ct_series(n_slices=2, rows=8, columns=8)
    >>> with socket.socket() as s:
    ...     s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    >>> server = sync.start(Server(MemoryQR(series).handlers(), port=0, ae_title="QR",
    ...                            destinations={"MOVESCU": ("127.0.0.1", port)}))
    >>> run_move(build_parser().parse_args(["move", "-aec", "QR", "--port", str(port), "--bind", "127.0.0.1",
    ...     "-od", tempfile.mkdtemp(), "--no-progress", "-k", f"StudyInstanceUID={series[0].StudyInstanceUID}",
    ...     "127.0.0.1", str(server.port)]))
    C-MOVE: 2 completed, 0 failed, 0 warning, 2 files written
    0
    >>> sync.stop(server)
    """
    dest = args.aem or args.aet
    if dest.upper() == "ME" or dest == args.aet:  # here: our own storage SCP receives
        return _retrieve("C-MOVE", args, lambda assoc, level, keys: assoc.move(
            "ME", level, args.model, into=args.od, port=args.move_port, host=args.bind,
            progress=not args.no_progress, **keys))
    return _retrieve("C-MOVE", args, lambda assoc, level, keys: assoc.move(
        dest, level, args.model, progress=not args.no_progress, **keys))


def run_get(args: argparse.Namespace) -> int:
    """``pacsnb get``: C-GET into ``-od``; print a summary.

    Returns 0 if every sub-operation succeeded, 1 otherwise.

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.net import Server, sync
    >>> from pacsnb.net.memory import MemoryQR
    >>> from pacsnb.samples import make_ct_series
    >>> series = make_ct_series(n_slices=3, rows=8, columns=8)
    >>> server = sync.start(Server(MemoryQR(series).handlers(), port=0, ae_title="QR"))
    >>> run_get(build_parser().parse_args(["get", "-aec", "QR", "-od", tempfile.mkdtemp(), "--no-progress",
    ...     "-k", "0008,0052=SERIES", "-k", f"0020,000D={series[0].StudyInstanceUID}",
    ...     "-k", f"SeriesInstanceUID={series[0].SeriesInstanceUID}", "127.0.0.1", str(server.port)]))
    C-GET: 3 completed, 0 failed, 0 warning, 3 files written
    0
    >>> sync.stop(server)
    """
    return _retrieve("C-GET", args, lambda assoc, level, keys: assoc.get(
        level, args.model, into=args.od, progress=not args.no_progress, **keys))


def _retrieve(kind: str, args: argparse.Namespace, op: Callable[[Any, str, dict], Any]) -> int:
    """Run ``op(association, level, keys)`` (a C-MOVE or C-GET) on an association from
    ``args``; print its summary (also after a failure that has one). 0 if every
    sub-operation succeeded, 1 otherwise (the reason on stderr)."""
    try:
        level, keys = _retrieve_keys(args)
        with sync.connect(args.host, args.port, ae_title=args.aet, called_ae=args.aec,
                          timeout=args.timeout, tls=tls_config(args)) as assoc:
            result = op(assoc, level, keys)
    except DimseError as exc:
        _err(exc)
        if getattr(exc, "result", None) is not None:
            _summary(kind, exc.result)
        return 1
    except PacsnbError as exc:
        _err(exc)
        return 1
    return _summary(kind, result)
