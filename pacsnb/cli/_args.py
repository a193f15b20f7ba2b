"""Command-line arguments shared by the network subcommands (internal): the dcmtk-style AE
title, timeout and TLS flags."""
from __future__ import annotations

import argparse

from pacsnb.errors import PacsnbError
from pacsnb.net.tls import TLSConfig


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


def add_tls_args(p: argparse.ArgumentParser, key_cert_flags: bool = True) -> None:
    """Add the dcmtk-style TLS flags (``--tls``, ``+tls KEY CERT``, ``--key``/``--cert``,
    ``+cf``, ``+cd``, ``+pw``, the profiles ``+py``/``+px``/``+pz``/``+pa`` and the peer
    certificate checks ``-rc``/``-vc``/``-ic``) to a parser made with
    ``prefix_chars="-+"``; :func:`tls_config` reads them. Without
    ``key_cert_flags``, ``--key``/``--cert`` are left out (``find`` uses ``--key`` for its
    query keys); ``+tls KEY CERT`` gives our key and certificate.

    Examples
    --------
    >>> p = argparse.ArgumentParser(prefix_chars="-+")   # the flags start with - or +
    >>> add_tls_args(p)
    >>> args = p.parse_args(["--tls", "+cf", "ca.pem"])
    >>> args.tls, args.tls_ca
    (True, ['ca.pem'])
    """
    g = p.add_argument_group("transport layer security (TLS), as dcmtk's")
    g.add_argument("-tls", "--disable-tls", dest="tls", action="store_false", default=False,
                   help="plain TCP (the default)")
    g.add_argument("--tls", dest="tls", action="store_true",
                   help="use TLS (a client without a certificate of its own)")
    g.add_argument("+tls", "--enable-tls", dest="tls_key_cert", nargs=2, metavar=("KEYFILE", "CERTFILE"),
                   help="use TLS with this private key and certificate (PEM)")
    if key_cert_flags:
        g.add_argument("--key", metavar="KEYFILE", help="our private key (PEM), with --cert")
        g.add_argument("--cert", metavar="CERTFILE", help="our certificate (PEM); implies TLS")
    g.add_argument("+pw", "--use-passwd", dest="tls_password", metavar="PASSWORD",
                   help="the private key's password")
    g.add_argument("+cf", "--add-cert-file", "--ca", dest="tls_ca", action="append", metavar="FILE",
                   help="trust the certificates of this PEM file to sign the peer's (repeatable); "
                        "for storescp, requires client certificates signed by them (mutual TLS)")
    g.add_argument("+cd", "--add-cert-dir", dest="tls_ca_dir", metavar="DIR",
                   help="trust the certificates of this folder (prepared with openssl rehash)")
    prof = g.add_mutually_exclusive_group()
    for flags, name, text in ((("+py", "--profile-bcp195-nd"), "bcp195-nd", "Non-downgrading BCP 195 (default)"),
                              (("+px", "--profile-bcp195"), "bcp195", "BCP 195"),
                              (("+pz", "--profile-bcp195-ex"), "bcp195-ex", "Extended BCP 195"),
                              (("+pa", "--profile-aes"), "aes", "AES (retired)")):
        prof.add_argument(*flags, dest="tls_profile", action="store_const", const=name,
                          help=f"TLS profile: {text}")
    peer = g.add_mutually_exclusive_group()
    peer.add_argument("-rc", "--require-peer-cert", dest="tls_peer", action="store_const", const="require",
                      help="verify the peer's certificate, fail if absent (default for a client, and for "
                           "storescp when +cf is given)")
    peer.add_argument("-vc", "--verify-peer-cert", dest="tls_peer", action="store_const", const="verify",
                      help="verify the peer's certificate if it sends one (storescp)")
    peer.add_argument("-ic", "--ignore-peer-cert", dest="tls_peer", action="store_const", const="ignore",
                      help="do not verify the peer's certificate")


def tls_config(args: argparse.Namespace) -> TLSConfig | None:
    """The :class:`~pacsnb.net.tls.TLSConfig` asked for by the TLS flags, ``None`` for plain TCP.

    Parameters
    ----------
    args
        Parsed arguments of a subcommand with the flags of :func:`add_tls_args` (``echo``,
        ``store``, ``storescp``, ``find``, ``move``, ``get``).

    Returns
    -------
    TLSConfig or None

    Examples
    --------
    >>> p = argparse.ArgumentParser(prefix_chars="-+")   # the flags start with - or +
    >>> add_tls_args(p)
    >>> cfg = tls_config(p.parse_args(["+tls", "server.key", "server.pem", "+cf", "ca.pem", "+pz"]))
    >>> cfg.certfile, cfg.keyfile, cfg.cafile, cfg.profile
    ('server.pem', 'server.key', ('ca.pem',), 'bcp195-ex')
    >>> tls_config(p.parse_args([])) is None
    True
    """
    key_cert = getattr(args, "tls_key_cert", None)
    key, cert = (key_cert[0], key_cert[1]) if key_cert else (getattr(args, "key", None), getattr(args, "cert", None))
    if not isinstance(key, (str, type(None))):  # ``--key`` of another meaning (find's query keys)
        key = None
    if not (getattr(args, "tls", False) or key_cert or cert):
        return None
    if key is not None and cert is None:
        raise PacsnbError("--key needs --cert (our certificate)")
    cas = tuple(getattr(args, "tls_ca", None) or ())
    return TLSConfig(certfile=cert, keyfile=key, cafile=cas or None, capath=getattr(args, "tls_ca_dir", None),
                     password=getattr(args, "tls_password", None),
                     profile=getattr(args, "tls_profile", None) or "bcp195-nd",
                     peer_cert=getattr(args, "tls_peer", None))
