"""DICOM over TLS: :class:`ssl.SSLContext` objects for the PS3.15 Annex B profiles.

``pacsnb.connect(..., tls=...)`` and ``Server(..., tls=...)`` take either a ready
:class:`ssl.SSLContext` (used as it is) or a :class:`TLSConfig` (or a dict of its fields),
turned into a context by :func:`make_context` with the standard library's :mod:`ssl`.

Profiles (PS3.15 Annex B, Secure Transport Connection Profiles):

=================  ===============================================================================
``profile``        what the context allows
=================  ===============================================================================
``"bcp195-nd"``    Non-Downgrading BCP 195 (B.10), the default: TLS 1.2 or later only, forward
                   secret AEAD cipher suites (ECDHE/DHE with AES-GCM, and TLS 1.3's suites)
``"bcp195"``       BCP 195 (B.9): TLS 1.2 or later (the versions below are deprecated by RFC
                   8996 and refused by OpenSSL's default security level), the suites above,
                   then AES-CBC suites for older peers
``"bcp195-ex"``    Extended BCP 195 (B.11): TLS 1.2 or later, ECDHE with AES-GCM only
``"aes"``          the retired AES profile (B.3): TLS_RSA_WITH_AES_128_CBC_SHA first; only
                   for old peers
=================  ===============================================================================

Peer authentication follows dcmtk's ``-rc``/``-vc``/``-ic`` options: ``peer_cert="require"``
(verify the peer's certificate against ``cafile``/``capath``, fail if it has none: on a
server this is mutual TLS), ``"verify"`` (a server verifies a client certificate if one is
sent) or ``"ignore"`` (no verification: encryption without authentication of the peer).
Host names are not checked unless ``check_hostname=True``: DICOM nodes are identified by
their certificate chain and AE title, and are often addressed by IP.

Examples
--------
>>> import ssl
>>> from pacsnb.net.tls import TLSConfig, make_context, ssl_context
>>> ctx = make_context(TLSConfig(peer_cert="ignore"))          # a client that trusts anyone
>>> ctx.minimum_version >= ssl.TLSVersion.TLSv1_2, ctx.verify_mode == ssl.CERT_NONE
(True, True)
>>> all("GCM" in c["name"] or c["protocol"] == "TLSv1.3" for c in ctx.get_ciphers())
True
>>> ssl_context({"peer_cert": "ignore"}, server_side=False).check_hostname
False
>>> ssl_context(None, server_side=True) is None
True
"""
from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from pacsnb.errors import NetworkError

__all__ = ["TLSConfig", "PROFILES", "make_context", "ssl_context", "describe"]

# OpenSSL names of the TLS 1.2 cipher suites of each profile, in order of preference
# (TLS 1.3 suites are all AEAD and forward secret: OpenSSL configures them apart).
_GCM_ECDHE = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384")
_GCM_DHE = "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

#: The profiles of PS3.15 Annex B: ``name -> (TLS 1.2 cipher suites in OpenSSL's notation,
#: whether TLS 1.3 is allowed)``. TLS 1.2 is the minimum version of every profile.
PROFILES: dict[str, tuple[str, bool]] = {
    "bcp195-nd": (f"{_GCM_ECDHE}:{_GCM_DHE}", True),
    "bcp195": (f"{_GCM_ECDHE}:{_GCM_DHE}:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:"
               "AES128-GCM-SHA256:AES128-SHA", True),
    "bcp195-ex": (_GCM_ECDHE, True),
    "aes": ("AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", True),
}
_PEER = ("require", "verify", "ignore")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """How to set up TLS for a :func:`~pacsnb.net.connect` or a :class:`~pacsnb.net.Server`.

    Parameters
    ----------
    certfile, keyfile
        Our certificate (PEM, the chain after it if any) and its private key (PEM; in
        ``certfile`` too when ``None``). A server needs them; a client only for mutual TLS.
    cafile, capath
        The certificates trusted to sign the peer's certificate: PEM files (one path or a
        list) and a folder prepared with ``openssl rehash``; dcmtk's ``+cf`` / ``+cd``.
    password
        The private key's password, if it is encrypted.
    profile
        A key of :data:`PROFILES`: ``"bcp195-nd"`` (the default), ``"bcp195"``,
        ``"bcp195-ex"`` or ``"aes"``.
    peer_cert
        ``"require"``, ``"verify"`` or ``"ignore"`` (see the module description).
        ``None``: a client requires a valid server certificate (checked against
        ``cafile``/``capath``, or the system's trusted authorities when neither is given);
        a server requires a client certificate when ``cafile`` or ``capath`` is given
        (mutual TLS), and asks for none otherwise.
    check_hostname
        A client checks that the server's certificate names the host it connects to.

    Examples
    --------
    >>> from pacsnb.net.tls import TLSConfig
    >>> TLSConfig(certfile="server.pem", keyfile="server.key", cafile="ca.pem").profile
    'bcp195-nd'
    """

    certfile: str | os.PathLike | None = None
    keyfile: str | os.PathLike | None = None
    cafile: str | os.PathLike | tuple | list | None = None
    capath: str | os.PathLike | None = None
    password: str | None = None
    profile: str = "bcp195-nd"
    peer_cert: str | None = None
    check_hostname: bool = False


def _config(tls: Any) -> TLSConfig:
    if isinstance(tls, TLSConfig):
        return tls
    if isinstance(tls, Mapping):
        known = {f.name for f in fields(TLSConfig)}
        unknown = sorted(set(tls) - known)
        if unknown:
            raise NetworkError(f"unknown TLS setting {', '.join(map(repr, unknown))}; the settings are "
                               f"{', '.join(sorted(known))}")
        return TLSConfig(**tls)
    if tls is True:
        return TLSConfig()
    raise NetworkError(f"tls must be an ssl.SSLContext, a pacsnb.net.tls.TLSConfig or a dict of its "
                       f"fields, not {type(tls).__name__}")


def make_context(config: TLSConfig, *, server_side: bool = False) -> ssl.SSLContext:
    """An :class:`ssl.SSLContext` for a profile, with our certificate and trusted authorities.

    Parameters
    ----------
    config
        What to set up.
    server_side
        For a :class:`~pacsnb.net.Server` (``True``) or a client.

    Returns
    -------
    ssl.SSLContext

    Raises
    ------
    NetworkError
        An unknown profile or peer_cert mode; a server without a certificate; a
        certificate, key or CA file that cannot be read (the message names it).

    Examples
    --------
    >>> import ssl
    >>> from pacsnb.net.tls import TLSConfig, make_context
    >>> ctx = make_context(TLSConfig(profile="bcp195-ex", peer_cert="ignore"))
    >>> sorted({c["protocol"] for c in ctx.get_ciphers()})
    ['TLSv1.2', 'TLSv1.3']
    >>> try:
    ...     make_context(TLSConfig(), server_side=True)
    ... except Exception as err:
    ...     print(err)
    a TLS server needs a certificate and its private key: TLSConfig(certfile=..., keyfile=...)
    """
    if config.profile not in PROFILES:
        raise NetworkError(f"unknown TLS profile {config.profile!r}; choose one of {', '.join(PROFILES)}")
    peer = config.peer_cert
    if peer is not None and peer not in _PEER:
        raise NetworkError(f"peer_cert must be one of {', '.join(_PEER)} (or None), not {peer!r}")
    if server_side and config.certfile is None:
        raise NetworkError("a TLS server needs a certificate and its private key: "
                           "TLSConfig(certfile=..., keyfile=...)")
    ciphers, tls13 = PROFILES[config.profile]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not tls13:  # pragma: no cover - every profile allows TLS 1.3 today
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    if server_side:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        ctx.set_ciphers(ciphers)
    except ssl.SSLError as err:  # pragma: no cover - an OpenSSL without any of them
        raise NetworkError(f"this OpenSSL supports none of the cipher suites of TLS profile "
                           f"{config.profile!r}: {err}") from None
    if config.certfile is not None:
        _load(ctx.load_cert_chain, "certificate or key", config.certfile, config.keyfile, config.password)
    has_ca = config.cafile is not None or config.capath is not None
    if has_ca:
        cafiles = config.cafile if isinstance(config.cafile, (list, tuple)) else [config.cafile]
        for n, cafile in enumerate(cafiles):
            _load(ctx.load_verify_locations, "CA certificates", cafile, config.capath if n == 0 else None)
    if server_side:
        mode = peer or ("require" if has_ca else "ignore")
        ctx.verify_mode = {"require": ssl.CERT_REQUIRED, "verify": ssl.CERT_OPTIONAL,
                           "ignore": ssl.CERT_NONE}[mode]
        if mode != "ignore" and not has_ca:
            raise NetworkError(f"peer_cert={mode!r} needs the authorities that sign client certificates: "
                               f"TLSConfig(cafile=...)")
    else:
        mode = peer or "require"
        if mode == "ignore":
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx.check_hostname = bool(config.check_hostname)
            ctx.verify_mode = ssl.CERT_REQUIRED
            if not has_ca:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return ctx


def _load(method, what: str, *paths: Any) -> None:
    names = [os.fspath(p) if isinstance(p, os.PathLike) else p for p in paths]
    try:
        method(*names)
    except FileNotFoundError as err:
        raise NetworkError(f"TLS: cannot read the {what}: {err.filename or names[0]} does not exist") from None
    except (ssl.SSLError, OSError, ValueError) as err:
        files = ", ".join(str(n) for n in names[:2] if isinstance(n, str))
        raise NetworkError(f"TLS: cannot load the {what} from {files}: {err}; check that they are "
                           f"PEM files, that the key matches the certificate and the password") from None


def ssl_context(tls: Any, *, server_side: bool) -> ssl.SSLContext | None:
    """The :class:`ssl.SSLContext` for a ``tls=`` argument (``None`` for plain TCP).

    Parameters
    ----------
    tls
        ``None`` or ``False`` (no TLS), an :class:`ssl.SSLContext` (returned as it is),
        a :class:`TLSConfig`, a dict of its fields, or ``True`` (a client with the
        default :class:`TLSConfig`).
    server_side
        Whether the context is for a server.

    Examples
    --------
    >>> import ssl
    >>> from pacsnb.net.tls import ssl_context
    >>> ctx = ssl.create_default_context()
    >>> ssl_context(ctx, server_side=False) is ctx, ssl_context(False, server_side=False)
    (True, None)
    """
    if tls is None or tls is False:
        return None
    if isinstance(tls, ssl.SSLContext):
        return tls
    return make_context(_config(tls), server_side=server_side)


def describe(ssl_object: Any) -> str:
    """``'TLSv1.3 TLS_AES_256_GCM_SHA384'`` for a connection's SSL object, ``'TCP'`` for none.

    Examples
    --------
    >>> from pacsnb.net.tls import describe
    >>> describe(None)
    'TCP'
    """
    if ssl_object is None:
        return "TCP"
    cipher = ssl_object.cipher()
    return f"{ssl_object.version()} {cipher[0] if cipher else '?'}"
