"""The ``pacsnb`` command: one entry point with dcmtk-like subcommands.

Examples
--------
>>> from pacsnb.cli import main
>>> main(["--version"])  # doctest: +ELLIPSIS
pacsnb ...
0
"""
from __future__ import annotations

import argparse
import logging
import sys

from pacsnb._version import __version__

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from pacsnb.cli import dump as _dump

    p = argparse.ArgumentParser(prog="pacsnb", description="pacsnb: a PACS in a notebook, and its command-line tools")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _dump.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``pacsnb`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"pacsnb {__version__}")
        return 0
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `pacsnb dump x | head`
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
