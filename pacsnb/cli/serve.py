"""``pacsnb serve``: run a PACS over an archive folder in the foreground.

``pacsnb serve --config pacs.toml`` (see :mod:`pacsnb.services.config`) or
``pacsnb serve ARCHIVE [--port N] [-aet TITLE] [--peer AE=host:port] [--allow AE]``; it
runs until SIGINT (Ctrl-C) or SIGTERM, then stops gracefully: the messages in progress
are answered, the archive is closed. ``pacsnb serve --init-config pacs.toml`` writes a
commented configuration to start from.

Examples
--------
>>> from pacsnb.cli import main
>>> main(["serve", "--init-config", "/tmp/pacsnb-doc-cli-serve.toml", "--force"])  # doctest: +ELLIPSIS
wrote /tmp/pacsnb-doc-cli-serve.toml; edit it, then run: pacsnb serve --config ...
0
>>> from pacsnb.services import load_config
>>> load_config("/tmp/pacsnb-doc-cli-serve.toml").ae_title
'PACSNB'
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from pacsnb.errors import PacsnbError

__all__ = ["add_parsers", "run_serve"]


def _err(msg: object) -> None:
    print(f"E: {msg}", file=sys.stderr, flush=True)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand.

    Examples
    --------
    >>> from pacsnb.cli import build_parser
    >>> args = build_parser().parse_args(["serve", "arc", "--port", "0", "-aet", "PACS", "--peer", "WS=127.0.0.1:104"])
    >>> args.archive, args.port, args.aet, args.peer
    ('arc', 0, 'PACS', ['WS=127.0.0.1:104'])
    """
    p = sub.add_parser("serve", help="run a PACS (storage, query/retrieve, worklist, MPPS, commitment)",
                       description="Run a PACS over an archive folder until SIGINT/SIGTERM.")
    p.add_argument("archive", nargs="?", default=None, help="the archive folder (or archive = ... in --config)")
    p.add_argument("-c", "--config", default=None, help="a TOML configuration file")
    p.add_argument("--init-config", metavar="PATH", default=None, help="write a configuration template and exit")
    p.add_argument("--force", action="store_true", help="with --init-config: overwrite an existing file")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 11112; 0: any free port)")
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("-aet", "--aetitle", dest="aet", default=None, help="our AE title (default PACSNB)")
    p.add_argument("--peer", action="append", default=None, metavar="AE=HOST:PORT",
                   help="a C-MOVE destination / storage commitment requester (repeatable)")
    p.add_argument("--allow", action="append", default=None, metavar="AE",
                   help="accept only these calling AE titles (repeatable)")
    p.add_argument("--duplicates", choices=("reject", "replace", "keep"), default=None,
                   help="what to do with a SOP instance already stored")
    p.add_argument("--port-file", default=None, help="write the port listened on to this file once started")
    p.add_argument("--no-durable", action="store_true", help="do not fsync (faster, survives a crash but not a power cut)")
    p.set_defaults(func=run_serve)


def _peers(specs: list[str] | None) -> dict[str, tuple[str, int]] | None:
    if not specs:
        return None
    out = {}
    for spec in specs:
        ae, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        if not ae or not host or not port.isdigit():
            raise PacsnbError(f"--peer {spec!r}: write AE=host:port, e.g. WORKSTATION=127.0.0.1:11113")
        out[ae] = (host, int(port))
    return out


def run_serve(args: argparse.Namespace) -> int:
    """Run ``pacsnb serve``; returns the exit status (0 after a graceful stop).

    Examples
    --------
    >>> from pacsnb.cli import main
    >>> main(["serve"])
    1
    """
    if args.init_config:
        from pacsnb.services import DEFAULT_CONFIG

        path = Path(args.init_config)
        if path.exists() and not args.force:
            _err(f"{path} exists; use --force to overwrite it")
            return 1
        path.write_text(DEFAULT_CONFIG, encoding="utf-8")
        print(f"wrote {path}; edit it, then run: pacsnb serve --config {path}")
        return 0
    from pacsnb.net.loop import run_sync
    from pacsnb.services import serve

    try:
        pacs = run_sync(serve(args.archive, config=args.config, port=args.port, host=args.host, ae_title=args.aet,
                              peers=_peers(args.peer), allowed_calling_aes=args.allow, duplicates=args.duplicates,
                              durable=False if args.no_durable else None))
    except (PacsnbError, OSError) as exc:
        _err(exc)
        return 1
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        print(f"pacsnb serve: {pacs.ae_title} on {pacs.server.host}:{pacs.port}, archive {pacs.archive.root} "
              "(Ctrl-C to stop)", flush=True)
        if args.port_file:
            Path(args.port_file).write_text(str(pacs.port))
        while not stop.wait(0.5):
            pass
        print("pacsnb serve: stopping", flush=True)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        pacs.close()
    stats = pacs.statistics
    print(f"pacsnb serve: stopped; {stats['stored']} stored, {stats['finds']} queries, "
          f"{stats['retrieves']} retrieves, {stats['associations_accepted']} associations", flush=True)
    return 0
