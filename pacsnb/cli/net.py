"""``pacsnb echo``, ``pacsnb store`` and ``pacsnb storescp``: dcmtk's echoscu, storescu, storescp.

Thin layers over :mod:`pacsnb.net.sync` and :class:`pacsnb.net.Server`, with the flags
dcmtk users know (``-aet``, ``-aec``, ``-to``, ``-r``, ``-od``), TLS ones included:
``+tls KEY CERT`` (or ``--key``/``--cert``; ``--tls`` for a client without a certificate),
``+cf CA`` (``--ca``), ``+cd DIR``, ``-rc``/``-vc``/``-ic`` and the PS3.15 profiles
``+py``/``+px``/``+pz``/``+pa`` (see :mod:`pacsnb.net.tls`). Messages go to stderr as
``E: ...`` (errors), ``W: ...`` and, with ``-v``, ``I: ...``; the exit status is 0 on
success and 1 on failure.

Examples
--------
>>> from pacsnb.cli import main
>>> from pacsnb.net import Server, sync
>>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP"))
>>> main(["echo", "-aec", "SCP", "127.0.0.1", str(server.port)])
0
>>> sync.stop(server)
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from pacsnb.cli._args import add_association_args, add_tls_args as _tls_options, tls_config
from pacsnb.cli.dump import iter_files, with_path
from pacsnb.errors import PacsnbError
from pacsnb.net import Server, sync
from pacsnb.net.dimse import Status, StatusCategory, status_category
from pacsnb.net.retrieve import safe_filename
from pacsnb.net.scp import inline
from pacsnb.net.scu import contexts_for

__all__ = ["add_parsers", "run_echo", "run_store", "run_storescp", "storescp_server",
           "tls_config"]

_VERIFICATION = "1.2.840.10008.1.1"


def _err(msg: object) -> None:
    print(f"E: {msg}", file=sys.stderr, flush=True)


def _info(args: argparse.Namespace, msg: str) -> None:
    if _verbose(args):
        print(f"I: {msg}", file=sys.stderr, flush=True)


def _verbose(args: argparse.Namespace) -> int:
    return int(getattr(args, "verbose", 0) or 0) + int(getattr(args, "sub_verbose", 0) or 0)


def _setup_logging(args: argparse.Namespace) -> None:
    """``pacsnb echo -v ...`` is as verbose as ``pacsnb -v echo ...``."""
    if getattr(args, "sub_verbose", 0):
        level = logging.WARNING - 10 * min(_verbose(args), 2)
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger().setLevel(level)


def _common(p: argparse.ArgumentParser, aet: str, aec: str | None) -> None:
    p.add_argument("-v", "--verbose", dest="sub_verbose", action="count", default=0,
                   help="print what happens (-vv for debug logging)")
    add_association_args(p, aet, aec)


def add_parsers(sub) -> None:
    """Add the ``echo``, ``store`` and ``storescp`` subcommands to an ``argparse`` subparsers object.

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
    ['echo', 'store', 'storescp']
    >>> args = parser.parse_args(["echo", "-aec", "PACS", "-r", "3", "pacs.example.org", "104"])
    >>> args.host, args.port, args.aet, args.aec, args.repeat
    ('pacs.example.org', 104, 'ECHOSCU', 'PACS', 3)
    >>> parser.parse_args(["storescp", "11112", "--allow", "CT1", "MR1"]).allow
    ['CT1', 'MR1']
    """
    e = sub.add_parser("echo", help="C-ECHO a DICOM node (like echoscu)", prefix_chars="-+",
                       description="Verify a DICOM node: open an association, send C-ECHO, release. "
                                   "Exit status 0 on success, 1 on failure (explained on stderr).")
    e.add_argument("host", metavar="HOST")
    e.add_argument("port", type=int, metavar="PORT")
    _common(e, "ECHOSCU", "ANY-SCP")
    e.add_argument("-r", "--repeat", type=int, default=1, metavar="N", help="send N C-ECHO requests (default 1)")
    _tls_options(e)
    e.set_defaults(func=run_echo)

    s = sub.add_parser("store", help="C-STORE files to a DICOM node (like storescu)", prefix_chars="-+",
                       description="Send DICOM files (and the files of folders) over one association; "
                                   "print a summary. Exit status 1 if any file was not stored.")
    s.add_argument("host", metavar="HOST")
    s.add_argument("port", type=int, metavar="PORT")
    s.add_argument("paths", nargs="+", metavar="FILE|DIR")
    _common(s, "STORESCU", "ANY-SCP")
    s.add_argument("-r", "--recursive", action="store_true", help="descend into subfolders")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--max-operations", type=int, default=16, metavar="N",
                   help="C-STORE requests outstanding at once when the peer grants an asynchronous "
                        "operations window (default 16; 1 proposes none)")
    _tls_options(s)
    s.set_defaults(func=run_store)

    c = sub.add_parser("storescp", help="receive DICOM files into a folder (like storescp)", prefix_chars="-+",
                       description="Serve C-ECHO and C-STORE, writing each instance received to "
                                   "DIR/<SOP Instance UID>.dcm as received, until Ctrl-C or SIGTERM. "
                                   "Associations called with another AE title than -aet are rejected.")
    c.add_argument("port", type=int, metavar="PORT", help="the port to listen on (0: any free port)")
    _common(c, "STORESCP", None)
    c.add_argument("-od", "--output-directory", dest="od", default=".", metavar="DIR",
                   help="where received files go (default: the current folder; created if missing)")
    c.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS",
                   help="the address to listen on (default 0.0.0.0, every interface, as storescp)")
    who = c.add_mutually_exclusive_group()
    who.add_argument("--accept-all-calling", action="store_true",
                     help="accept any calling AE title (the default)")
    who.add_argument("--allow", nargs="+", metavar="AET", help="accept only these calling AE titles")
    c.add_argument("--max-associations", type=int, default=32, metavar="N",
                   help="associations served at once; more are rejected (default 32)")
    c.add_argument("--max-operations", type=int, default=16, metavar="N",
                   help="asynchronous operations window granted: C-STOREs of one association handled "
                        "at once (default 16; 1 grants none)")
    _tls_options(c)
    c.set_defaults(func=run_storescp)


# --- echo -------------------------------------------------------------------------------------------

def run_echo(args: argparse.Namespace) -> int:
    """``pacsnb echo``: C-ECHO ``args.repeat`` times over one association, as echoscu does.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb echo``: ``host``, ``port``, ``aet``, ``aec``,
        ``timeout`` and ``repeat``.

    Returns
    -------
    int
        0 if every C-ECHO succeeded; 1 otherwise, with the reason on stderr (``E: ...``:
        connection refused, association rejected and why, no answer in time, ...).

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP"))
    >>> run_echo(build_parser().parse_args(["echo", "-aec", "SCP", "127.0.0.1", str(server.port)]))
    0
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run_echo(build_parser().parse_args(["echo", "-aec", "NOT-SCP", "127.0.0.1", str(server.port)]))
    1
    >>> print(err.getvalue())  # doctest: +ELLIPSIS
    E: Echo failed: NOT-SCP at 127.0.0.1:... rejected the association ...called AE title not recognized...
    >>> sync.stop(server)
    """
    _setup_logging(args)
    if args.repeat < 1:
        _err("-r/--repeat must be at least 1")
        return 1
    try:
        with sync.connect(args.host, args.port, ae_title=args.aet, called_ae=args.aec,
                          timeout=args.timeout, contexts=[_VERIFICATION], tls=tls_config(args)) as assoc:
            _info(args, f"association accepted by {args.aec} at {args.host}:{args.port}")
            for n in range(args.repeat):
                status = assoc.echo()
                if status:
                    _err(f"Echo failed: status 0x{status:04X} from {args.aec} at {args.host}:{args.port}")
                    return 1
                _info(args, f"Received Echo Response {n + 1} (Success)")
    except PacsnbError as exc:
        _err(f"Echo failed: {exc}")
        return 1
    return 0


# --- store ------------------------------------------------------------------------------------------

def run_store(args: argparse.Namespace) -> int:
    """``pacsnb store``: C-STORE files and folders over one association, as storescu does.

    Files that are not DICOM are reported (``E: ...``) and skipped; the others go as they
    are (compressed ones included). A summary line goes to stdout.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb store``: ``host``, ``port``, ``paths``,
        ``recursive``, ``aet``, ``aec``, ``timeout`` and ``no_progress``.

    Returns
    -------
    int
        0 if every file was stored (success or warning status); 1 if one was not, could
        not be read, or the association failed.

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.net import Server, sync
    >>> from pacsnb.samples import write_sample_file
    >>> server = sync.start(Server({"C-STORE": lambda r: 0}, port=0, ae_title="SCP"))
    >>> path = write_sample_file("/tmp/pacsnb-doc-cli-store.dcm")
    >>> run_store(build_parser().parse_args(["store", "-aec", "SCP", "--no-progress",
    ...                                      "127.0.0.1", str(server.port), path]))
    1 file sent to SCP at 127.0.0.1:...: 1 success, 0 warning, 0 failed
    0
    >>> sync.stop(server)
    """
    _setup_logging(args)
    where = f"{args.aec} at {args.host}:{args.port}"
    files, bad = [], 0
    for path in iter_files(args.paths, args.recursive):
        try:
            contexts_for([path], include_verification=False)  # reads the File Meta Information only
        except (PacsnbError, OSError) as exc:
            _err(with_path(exc, path))
            bad += 1
            continue
        files.append(path)
    if not files:
        _err("no DICOM file to send")
        return 1
    counts = {StatusCategory.SUCCESS: 0, StatusCategory.WARNING: 0, StatusCategory.FAILURE: 0}
    sent = 0
    bar = None
    try:
        with sync.connect(args.host, args.port, ae_title=args.aet, called_ae=args.aec,
                          timeout=args.timeout, contexts=files, tls=tls_config(args),
                          max_operations=args.max_operations) as assoc:
            _info(args, f"association accepted by {where}")
            if not args.no_progress and len(files) > 1:
                from tqdm import tqdm
                bar = tqdm(total=len(files), unit="file", desc=f"C-STORE to {args.aec}", file=sys.stderr)
            # batches over the asynchronous operations window; a batch with a file that cannot
            # be read or converted is sent again file by file, to report that file alone
            batch = max(64, 4 * assoc.association.max_operations)
            for start in range(0, len(files), batch):
                chunk = files[start:start + batch]
                try:
                    results = list(zip(chunk, assoc.store(chunk, progress=False)))
                except PacsnbError:
                    if not assoc.association.is_established:
                        raise
                    results = []
                    for path in chunk:
                        try:
                            results.append((path, assoc.store(path, progress=False)))
                        except PacsnbError as exc:
                            if not assoc.association.is_established:
                                raise
                            _err(f"{path}: {exc}")
                            counts[StatusCategory.FAILURE] += 1
                            if bar is not None:
                                bar.update(1)
                for path, status in results:
                    if bar is not None:
                        bar.update(1)
                    sent += 1
                    category = status_category(status)
                    if category not in counts:
                        category = StatusCategory.FAILURE
                    counts[category] += 1
                    if category is StatusCategory.FAILURE:
                        _err(f"{path}: not stored: status 0x{status:04X} ({_status_name(status)})")
                    elif category is StatusCategory.WARNING:
                        print(f"W: {path}: stored with warning status 0x{status:04X}", file=sys.stderr)
                    else:
                        _info(args, f"{path}: stored")
    except PacsnbError as exc:
        if bar is not None:
            bar.close()
            bar = None
        _err(f"Store failed: {exc}")
        _summary(sent, where, counts, len(files) - sent - counts[StatusCategory.FAILURE] + bad)
        return 1
    finally:
        if bar is not None:
            bar.close()
    _summary(sent, where, counts, bad)
    return 1 if bad or counts[StatusCategory.FAILURE] else 0


def _status_name(status: int) -> str:
    try:
        return Status(status).name.lower().replace("_", " ")
    except ValueError:
        return "failure"


def _summary(sent: int, where: str, counts: dict, not_sent: int) -> None:
    line = (f"{sent} file{'s' if sent != 1 else ''} sent to {where}: {counts[StatusCategory.SUCCESS]} success, "
            f"{counts[StatusCategory.WARNING]} warning, {counts[StatusCategory.FAILURE]} failed")
    if not_sent:
        line += f", {not_sent} not sent"
    print(line, flush=True)


# --- storescp ---------------------------------------------------------------------------------------

def storescp_server(args: argparse.Namespace) -> Server:
    """The (not yet started) :class:`~pacsnb.net.Server` that ``pacsnb storescp`` runs.

    It answers C-ECHO, and C-STORE by writing each instance, as received, to
    ``args.od/<SOP Instance UID>.dcm`` (see :func:`pacsnb.net.retrieve.safe_filename`), atomically.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb storescp``.

    Returns
    -------
    Server
        Its ``received`` attribute lists the paths written.

    Examples
    --------
    >>> import os, tempfile
    >>> from pacsnb.cli import build_parser
    >>> from pacsnb.net import sync
    >>> from pacsnb.samples import write_sample_file
    >>> out = tempfile.mkdtemp()
    >>> server = sync.start(storescp_server(build_parser().parse_args(
    ...     ["storescp", "0", "--bind", "127.0.0.1", "-od", out])))
    >>> path = write_sample_file("/tmp/pacsnb-doc-cli-storescp.dcm")
    >>> sync.store("127.0.0.1", server.port, path, called_ae="STORESCP", progress=False)
    0
    >>> sync.stop(server)
    >>> [os.path.basename(p) for p in server.received] == os.listdir(out)
    True
    """
    out = Path(args.od)
    out.mkdir(parents=True, exist_ok=True)
    received: list[str] = []
    lock = threading.Lock()
    verbose = _verbose(args)

    @inline  # like dcmtk's storescp: each file is saved on the receive path, one at a time (this
    # process only receives; no task switch or thread hop per file)
    def on_store(request) -> int:
        name = safe_filename(request.sop_instance_uid)
        if os.sep in name or name in (".", "..") or (os.altsep and os.altsep in name):  # cannot happen
            raise PacsnbError(f"refusing to write {name!r} outside {out}")
        target = out / name
        request.save(target)
        with lock:  # handlers may run concurrently (operations window): one line at a time
            received.append(str(target))
            if verbose:
                print(f"I: stored {target} ({request.sop_class_uid}) from {request.association.calling_ae_title}",
                      flush=True)
        return 0

    @inline
    def on_echo(request) -> int:  # answered from the receive path: no task switch, no thread
        return 0

    server = Server({"C-ECHO": on_echo, "C-STORE": on_store}, port=args.port, host=args.bind,
                    ae_title=args.aet, calling_ae_titles=args.allow, max_associations=args.max_associations,
                    tls=tls_config(args), max_operations=getattr(args, "max_operations", 16))
    server.received = received
    return server


def run_storescp(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """``pacsnb storescp``: receive files into a folder until Ctrl-C or SIGTERM.

    On the signal the server stops gracefully: no new association, the active ones may
    finish (10 s), then it exits.

    Parameters
    ----------
    args
        The parsed arguments of ``pacsnb storescp``.
    stop
        Stop when this event is set (the signals then still stop it too when called
        from the main thread).

    Returns
    -------
    int
        0 after a graceful stop; 1 if it could not listen (port in use, ...).

    Examples
    --------
    >>> import tempfile, threading
    >>> from pacsnb.cli import build_parser
    >>> stop = threading.Event(); stop.set()  # stop at once
    >>> run_storescp(build_parser().parse_args(["storescp", "0", "-od", tempfile.mkdtemp()]), stop)
    0
    """
    _setup_logging(args)
    stop = stop or threading.Event()
    try:
        server = storescp_server(args)
        sync.start(server)
    except (PacsnbError, OSError) as exc:
        _err(f"cannot listen on {args.bind}:{args.port}: {exc}")
        return 1
    _info(args, f"listening on {args.bind}:{server.port} as {args.aet}, storing into {os.path.abspath(args.od)}")
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _info(args, "stopping")
        sync.stop(server)
    _info(args, f"stopped; {len(server.received)} file{'s' if len(server.received) != 1 else ''} received")
    return 0
