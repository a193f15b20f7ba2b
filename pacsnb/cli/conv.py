"""``pacsnb conv``: write a DICOM file in another transfer syntax (like dcmconv, dcmcrle,
dcmdrle, dcmcjpeg and dcmdjpeg), through :func:`pacsnb.transcode`.

Lossy JPEG: ``--jpeg`` (Baseline, like ``dcmcjpeg +eb``) and ``--jpeg-extended``
(Extended, 12-bit, like ``+ee``), with ``-q/--quality`` (default 90) and
``--subsampling 444|422|420`` for colour."""
from __future__ import annotations

import argparse
import sys

from pacsnb.errors import PacsnbError
from pacsnb.io import read, write
from pacsnb.pixels import transcode

__all__ = ["add_parsers", "target_syntax", "run_conv", "encode_options", "SHORTCUTS"]

#: Transfer syntax UIDs of the shortcut options.
SHORTCUTS = {
    "implicit": "1.2.840.10008.1.2",
    "explicit": "1.2.840.10008.1.2.1",
    "big_endian": "1.2.840.10008.1.2.2",
    "deflated": "1.2.840.10008.1.2.1.99",
    "rle": "1.2.840.10008.1.2.5",
    "jpeg_lossless": "1.2.840.10008.1.2.4.57",
    "jpeg_ls": "1.2.840.10008.1.2.4.80",
    "jpeg": "1.2.840.10008.1.2.4.50",
    "jpeg_extended": "1.2.840.10008.1.2.4.51",
}
_LOSSY = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")
_SV1 = "1.2.840.10008.1.2.4.70"


def add_parsers(sub) -> None:
    """Add the ``conv`` subcommand to an ``argparse`` subparsers object.

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers()`` returned.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="pacsnb")
    >>> add_parsers(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["conv", "in.dcm", "out.dcm", "--rle"])
    >>> target_syntax(args)
    '1.2.840.10008.1.2.5'
    """
    c = sub.add_parser("conv", help="write a DICOM file in another transfer syntax (like dcmconv/dcmcrle/dcmdjpeg)",
                       description="Read IN and write OUT in another transfer syntax, compressing or decompressing "
                                   "the pixel data as needed (default: the transfer syntax of IN).")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--ts", metavar="UID", help="the transfer syntax UID to write")
    g.add_argument("--implicit", action="store_true", help="implicit VR little endian (like dcmconv +ti)")
    g.add_argument("--explicit", action="store_true", help="explicit VR little endian (like dcmconv +te, dcmdrle)")
    g.add_argument("--big-endian", action="store_true", help="explicit VR big endian (like dcmconv +tb)")
    g.add_argument("--deflated", action="store_true", help="deflated explicit VR little endian (like dcmconv +td)")
    g.add_argument("--rle", action="store_true", help="RLE Lossless (like dcmcrle)")
    g.add_argument("--jpeg-lossless", action="store_true",
                   help="JPEG Lossless, Process 14 (like dcmcjpeg +e14); with --sv1 the SV1 syntax (+e1)")
    g.add_argument("--jpeg-ls", action="store_true", help="JPEG-LS Lossless (like dcmcjpls +el)")
    g.add_argument("--jpeg", action="store_true",
                   help="JPEG Baseline, lossy 8-bit (like dcmcjpeg +eb); quality with -q. Images of more "
                        "than 8 bits are refused rather than windowed down to 8 as dcmcjpeg does: use "
                        "--jpeg-extended (12-bit) or a lossless syntax for them")
    g.add_argument("--jpeg-extended", action="store_true",
                   help="JPEG Extended, lossy 8 or 12-bit (like dcmcjpeg +ee); quality with -q")
    c.add_argument("--sv1", action="store_true",
                   help="with --jpeg-lossless: JPEG Lossless First-Order Prediction (1.2.840.10008.1.2.4.70)")
    c.add_argument("-q", "--quality", type=int, default=None, metavar="Q",
                   help="with --jpeg/--jpeg-extended: quality 1..100 (default 90, like dcmcjpeg +q)")
    c.add_argument("--subsampling", choices=("444", "422", "420"), default=None,
                   help="with --jpeg/--jpeg-extended, colour images: chroma subsampling (default 422, like "
                        "dcmcjpeg +s2; 444 like +s4; 420 like +np)")
    c.add_argument("--keep-uid", action="store_true",
                   help="with lossy JPEG: keep the SOP Instance UID (default: a new one, like dcmcjpeg +ud)")
    c.set_defaults(func=run_conv)


def target_syntax(args: argparse.Namespace) -> str | None:
    """The transfer syntax UID the parsed ``conv`` arguments ask for (``None``: as the input).

    Parameters
    ----------
    args
        Arguments parsed by the ``conv`` parser.

    Returns
    -------
    str or None

    Examples
    --------
    >>> target_syntax(argparse.Namespace(ts=None, jpeg_lossless=True, sv1=True))
    '1.2.840.10008.1.2.4.70'
    >>> target_syntax(argparse.Namespace(ts="1.2.840.10008.1.2"))
    '1.2.840.10008.1.2'
    """
    if getattr(args, "ts", None):
        return args.ts
    if getattr(args, "jpeg_lossless", False) and getattr(args, "sv1", False):
        return _SV1
    for name, uid in SHORTCUTS.items():
        if getattr(args, name, False):
            return uid
    if getattr(args, "sv1", False):
        return _SV1
    return None


def encode_options(args: argparse.Namespace, ts: str) -> dict:
    """The encoder options the parsed ``conv`` arguments give for transfer syntax ``ts``.

    Parameters
    ----------
    args
        Arguments parsed by the ``conv`` parser.
    ts
        The target transfer syntax UID.

    Returns
    -------
    dict
        Keyword arguments for :func:`pacsnb.transcode` (quality, subsampling, new_uid
        for the lossy JPEG syntaxes; nothing otherwise).

    Raises
    ------
    ValueError
        ``-q``/``--subsampling`` given for a syntax they do not apply to, or a quality
        outside 1 .. 100.

    Examples
    --------
    >>> encode_options(argparse.Namespace(quality=75, subsampling=None), "1.2.840.10008.1.2.4.50")
    {'quality': 75}
    >>> encode_options(argparse.Namespace(quality=None, subsampling=None), "1.2.840.10008.1.2.5")
    {}
    """
    quality = getattr(args, "quality", None)
    subsampling = getattr(args, "subsampling", None)
    if ts not in _LOSSY:
        if quality is not None or subsampling is not None:
            raise ValueError("-q/--quality and --subsampling apply to lossy JPEG only (--jpeg, --jpeg-extended)")
        return {}
    opts: dict = {}
    if quality is not None:
        if not 1 <= quality <= 100:
            raise ValueError(f"-q/--quality must be 1 .. 100, not {quality}")
        opts["quality"] = quality
    if subsampling is not None:
        opts["subsampling"] = subsampling
    if getattr(args, "keep_uid", False):
        opts["new_uid"] = False
    return opts


def run_conv(args: argparse.Namespace) -> int:
    """Run ``pacsnb conv``: read, transcode, write; errors are printed as ``E: ...``.

    Parameters
    ----------
    args
        Parsed arguments (``input``, ``output`` and the transfer syntax options).

    Returns
    -------
    int
        0 on success, 1 on any error.

    Examples
    --------
    >>> from pacsnb.samples import write_sample_file
    >>> src = write_sample_file("/tmp/pacsnb-doc-conv-in.dcm")
    >>> args = argparse.Namespace(input=src, output="/tmp/pacsnb-doc-conv-out.dcm", ts=None, rle=True)
    >>> run_conv(args)
    0
    >>> read("/tmp/pacsnb-doc-conv-out.dcm").file_meta.TransferSyntaxUID.name
    'RLE Lossless'
    """
    try:
        ds = read(args.input)
        ts = target_syntax(args) or str(ds.transfer_syntax or SHORTCUTS["explicit"])
        write(transcode(ds, ts, **encode_options(args, ts)), args.output, ts)
    except (PacsnbError, OSError, ValueError) as exc:
        print(f"E: {exc}", file=sys.stderr)
        return 1
    return 0
