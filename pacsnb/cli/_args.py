"""Command-line arguments shared by the network subcommands (internal): the dcmtk-style AE
title and timeout flags."""
from __future__ import annotations

import argparse


def add_association_args(p: argparse.ArgumentParser, aet: str, aec: str | None) -> None:
    """Add ``-aet`` (our AE title, default ``aet``) and, for a client (``aec`` not None),
    ``-aec`` (the called AE title, default ``aec``) and ``-to`` (the timeout, seconds).

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_association_args(p, "FINDSCU", "ANY-SCP")
    >>> args = p.parse_args(["-aec", "PACS", "-to", "5"])
    >>> args.aet, args.aec, args.timeout
    ('FINDSCU', 'PACS', 5.0)
    """
    p.add_argument("-aet", "--aetitle", dest="aet", default=aet, metavar="AET",
                   help=f"our AE title (default {aet})")
    if aec is not None:
        p.add_argument("-aec", "--call", dest="aec", default=aec, metavar="AEC",
                       help=f"the peer's (called) AE title (default {aec})")
        p.add_argument("-to", "--timeout", dest="timeout", type=float, default=30.0, metavar="SECONDS",
                       help="seconds allowed to connect, negotiate and wait for each answer (default 30)")
