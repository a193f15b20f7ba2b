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
    """The argument parser of the ``pacsnb`` command, with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        Parsed arguments have ``command`` and, for a subcommand, ``func``: the function
        that runs it (it takes the parsed arguments and returns the exit status).

    Examples
    --------
    >>> args = build_parser().parse_args(["dump", "--no-pixels", "ct.dcm"])
    >>> args.command, args.paths, args.no_pixels, args.func.__name__
    ('dump', ['ct.dcm'], True, 'run_dump')
    """
    import importlib
    import pkgutil

    import pacsnb.cli

    p = argparse.ArgumentParser(prog="pacsnb", description="pacsnb: a PACS in a notebook, and its command-line tools")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    # every module of this package that has ``add_parsers(sub)`` adds its subcommands: a new
    # command is a new module, nothing to register here
    for info in sorted(pkgutil.iter_modules(pacsnb.cli.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"pacsnb.cli.{info.name}")
            if hasattr(module, "add_parsers"):
                module.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``pacsnb`` command line; returns the exit status.

    Parameters
    ----------
    argv
        The arguments (default ``sys.argv[1:]``): ``--version``, ``-v``/``-vv`` and a
        subcommand (``dump``, ``info``) with its arguments.

    Returns
    -------
    int
        0 on success, 1 when a file could not be read, 2 for a usage error (no command),
        130 when interrupted.

    Raises
    ------
    SystemExit
        For arguments ``argparse`` rejects (and for ``--help``).

    Examples
    --------
    >>> from pacsnb.samples import write_sample_file
    >>> path = write_sample_file("/tmp/pacsnb-doc-cli-main.dcm")
    >>> main(["dump", "-k", "Modality", "-k", "Rows", path])
    (0008,0060) CS [CT]                                         #   2, 1 Modality
    (0028,0010) US 64                                           #   2, 1 Rows
    0
    """
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
