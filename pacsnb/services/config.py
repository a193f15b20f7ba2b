"""The configuration of ``pacsnb serve``: a TOML file, or the same settings as a dict.

::

    ae_title = "PACSNB"
    port = 11112
    host = "127.0.0.1"            # "0.0.0.0" to serve the network
    archive = "archive/"          # relative to the file's folder
    allowed_calling_aes = []      # empty: any calling AE title
    duplicates = "reject"         # reject | replace | keep

    [peers]                        # C-MOVE destinations and storage commitment requesters
    WORKSTATION = { host = "127.0.0.1", port = 11113 }

    [limits]
    max_associations = 32
    max_pdu_length = 1048576      # what we receive; what we send honours the peer's maximum
    network_timeout = 60
    max_find_results = 100000

    [tls]                          # DICOM over TLS (PS3.15 B): omit for plain TCP
    certfile = "server.pem"
    keyfile = "server.key"
    cafile = "ca.pem"              # require client certificates signed by it

    [anonymize]                    # de-identify on ingest (or on = "retrieve")
    profile = "basic"
    options = ["retain_longitudinal"]

    [worklist]
    file = "worklist.json"         # .json or .csv; omit for the archive's own worklist

:func:`load_config` reads and checks it (unknown keys, wrong types and bad values are
errors that name the key); :data:`DEFAULT_CONFIG` is the commented template that
``pacsnb serve --init-config`` writes.

Examples
--------
>>> from pacsnb.services.config import ServeConfig
>>> cfg = ServeConfig.from_dict({"ae_title": "PACS", "port": 0,
...                              "peers": {"WS": {"host": "127.0.0.1", "port": 11113}},
...                              "limits": {"max_associations": 4}})
>>> cfg.ae_title, cfg.peers, cfg.limits["max_associations"]
('PACS', {'WS': ('127.0.0.1', 11113)}, 4)
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pacsnb.errors import PacsnbError
from pacsnb.net.pdu import DEFAULT_MAXIMUM_LENGTH

__all__ = ["ServeConfig", "ConfigError", "load_config", "DEFAULT_CONFIG", "LIMITS"]


class ConfigError(PacsnbError, ValueError):
    """A ``pacsnb serve`` configuration that cannot be used (the message names the key).

    Examples
    --------
    >>> from pacsnb.services.config import ServeConfig, ConfigError
    >>> try:
    ...     ServeConfig.from_dict({"prot": 104})
    ... except ConfigError as err:
    ...     print(err)
    configuration: unknown key 'prot' (known: ae_title, allowed_calling_aes, anonymize, archive, commitment, convert_to, duplicates, durable, host, limits, mpps, peers, port, tls, worklist)
    """


#: The limits and their defaults.
LIMITS: dict[str, Any] = {"max_associations": 32, "max_pdu_length": DEFAULT_MAXIMUM_LENGTH, "network_timeout": 60.0,
                          "artim_timeout": 30.0, "move_timeout": 30.0, "max_find_results": 100_000,
                          "spool_threshold": 8 << 20, "max_operations": 16}
_DUPLICATES = ("reject", "replace", "keep")
_TLS_KEYS = ("certfile", "keyfile", "cafile", "profile", "password")
_ANON_KEYS = ("profile", "options", "key", "on")

DEFAULT_CONFIG = '''\
# pacsnb serve configuration (TOML). Start with:  pacsnb serve --config pacs.toml
ae_title = "PACSNB"
port = 11112
host = "127.0.0.1"           # "0.0.0.0" to serve the network
archive = "archive"          # the archive folder, relative to this file
allowed_calling_aes = []     # e.g. ["CT1", "WORKSTATION"]; empty: any calling AE title
duplicates = "reject"        # a SOP Instance UID already stored: reject | replace | keep
durable = true               # fsync files and the index (survives a power cut)
mpps = true                  # Modality Performed Procedure Step SCP
commitment = true            # Storage Commitment Push Model SCP; "same-association": report on the
                             # requester's association while it stays open (else on a new one)
# convert_to = "1.2.840.10008.1.2.5"   # convert images on ingest (here RLE Lossless); default: as received

[peers]                       # C-MOVE destinations and storage commitment requesters
# WORKSTATION = { host = "127.0.0.1", port = 11113 }

[limits]
max_associations = 32
max_pdu_length = 1048576     # largest P-DATA PDU we accept (1 MiB, the network layer's default: fewer,
                             # larger PDUs are faster); what we send honours each peer's own maximum
network_timeout = 60         # seconds of silence before an association is aborted
max_find_results = 100000    # answers to one C-FIND at most

# [tls]                       # DICOM over TLS (PS3.15 Annex B)
# certfile = "server.pem"
# keyfile = "server.key"
# cafile = "ca.pem"           # require client certificates signed by this CA

# [anonymize]                 # de-identify what comes in (on = "ingest") or goes out (on = "retrieve")
# profile = "basic"
# options = ["retain_longitudinal"]
# on = "ingest"

# [worklist]
# file = "worklist.json"      # a .json or .csv file; without it the archive's own worklist.json
'''


@dataclass
class ServeConfig:
    """The settings of a PACS served by :func:`pacsnb.services.serve`.

    Attributes
    ----------
    ae_title, port, host
        Where it listens, under which AE title.
    archive
        The archive folder (``None``: given to ``serve`` directly).
    allowed_calling_aes
        The calling AE titles accepted (``None``: any).
    peers
        ``{AE title: (host, port)}``: C-MOVE destinations and storage commitment requesters.
    duplicates
        The archive's duplicate policy: ``"reject"``, ``"replace"`` or ``"keep"``.
    durable
        Sync files and the index.
    limits
        See :data:`LIMITS`.
    tls
        ``{certfile, keyfile, cafile, profile}`` or ``None``.
    anonymize
        ``{profile, options, key, on}`` (``on``: ``"ingest"`` or ``"retrieve"``) or ``None``.
    worklist
        ``{file}`` or ``{}`` (the archive's own worklist), ``None`` for no worklist.
    mpps, commitment
        Serve MPPS and Storage Commitment (``commitment="same-association"``: report on
        the requester's association while it stays open, else on a new one; ``True``:
        always on a new association).
    convert_to
        A transfer syntax UID images are converted to on ingest (``None``: as received).

    Examples
    --------
    >>> from pacsnb.services.config import ServeConfig
    >>> ServeConfig().port, ServeConfig().limits["max_find_results"]
    (11112, 100000)
    """

    ae_title: str = "PACSNB"
    port: int = 11112
    host: str = "127.0.0.1"
    archive: str | None = None
    allowed_calling_aes: list[str] | None = None
    peers: dict[str, tuple[str, int]] = field(default_factory=dict)
    duplicates: str = "reject"
    durable: bool = True
    limits: dict[str, Any] = field(default_factory=lambda: dict(LIMITS))
    tls: dict[str, Any] | None = None
    anonymize: dict[str, Any] | None = None
    worklist: dict[str, Any] | None = field(default_factory=dict)
    mpps: bool = True
    commitment: bool | str = True
    convert_to: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: str | os.PathLike | None = None) -> "ServeConfig":
        """Check and convert a configuration mapping (a parsed TOML file).

        Parameters
        ----------
        data
            The settings.
        base
            The folder relative paths (archive, TLS files, worklist file) are resolved
            against (the TOML file's folder).

        Raises
        ------
        ConfigError
            For an unknown key, a value of the wrong type or out of range.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"configuration: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        cfg = cls()
        base_path = Path(base) if base is not None else None

        def path(value: Any, key: str) -> str:
            if not isinstance(value, (str, os.PathLike)) or not str(value):
                raise ConfigError(f"configuration: {key} must be a path (a string), not {value!r}")
            p = Path(value).expanduser()
            if base_path is not None and not p.is_absolute():
                p = base_path / p
            return str(p)

        def text(key: str, value: Any, maxlen: int | None = None) -> str:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"configuration: {key} must be a non-empty string, not {value!r}")
            if maxlen and len(value.strip()) > maxlen:
                raise ConfigError(f"configuration: {key} {value!r} is longer than {maxlen} characters")
            return value.strip()

        for key, value in data.items():
            if key == "ae_title":
                cfg.ae_title = text(key, value, 16)
            elif key == "port":
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
                    raise ConfigError(f"configuration: port must be an integer from 0 to 65535, not {value!r}")
                cfg.port = value
            elif key == "host":
                cfg.host = text(key, value)
            elif key == "archive":
                cfg.archive = path(value, key)
            elif key == "allowed_calling_aes":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"configuration: allowed_calling_aes must be a list of AE titles, not {value!r}")
                cfg.allowed_calling_aes = [text(key, v, 16) for v in value] or None
            elif key == "peers":
                cfg.peers = _peers(value)
            elif key == "duplicates":
                if value not in _DUPLICATES:
                    raise ConfigError(f"configuration: duplicates must be one of {', '.join(_DUPLICATES)}, "
                                      f"not {value!r}")
                cfg.duplicates = value
            elif key == "commitment" and value == "same-association":
                cfg.commitment = value
            elif key in ("durable", "mpps", "commitment"):
                if not isinstance(value, bool):
                    if key == "commitment":
                        raise ConfigError("configuration: commitment must be true, false or \"same-association\" "
                                          f"(report on the requester's association while it stays), not {value!r}")
                    raise ConfigError(f"configuration: {key} must be true or false, not {value!r}")
                setattr(cfg, key, value)
            elif key == "convert_to":
                cfg.convert_to = text(key, value, 64) if value else None
            elif key == "limits":
                cfg.limits = _limits(value)
            elif key == "tls":
                cfg.tls = _section(key, value, _TLS_KEYS)
                for k in ("certfile", "keyfile", "cafile"):
                    if k in cfg.tls:
                        cfg.tls[k] = path(cfg.tls[k], f"tls.{k}")
                if "certfile" not in cfg.tls or "keyfile" not in cfg.tls:
                    raise ConfigError("configuration: [tls] needs certfile and keyfile")
            elif key == "anonymize":
                cfg.anonymize = _section(key, value, _ANON_KEYS)
                if cfg.anonymize.get("on", "ingest") not in ("ingest", "retrieve"):
                    raise ConfigError("configuration: anonymize.on must be \"ingest\" or \"retrieve\"")
            elif key == "worklist":
                if value is False:
                    cfg.worklist = None
                    continue
                cfg.worklist = _section(key, value, ("file",))
                if "file" in cfg.worklist:
                    cfg.worklist["file"] = path(cfg.worklist["file"], "worklist.file")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (peers as ``{AE: {host, port}}``).

        Examples
        --------
        >>> from pacsnb.services.config import ServeConfig
        >>> ServeConfig(peers={"WS": ("127.0.0.1", 104)}).to_dict()["peers"]
        {'WS': {'host': '127.0.0.1', 'port': 104}}
        """
        out = dataclasses.asdict(self)
        out["peers"] = {ae: {"host": h, "port": p} for ae, (h, p) in self.peers.items()}
        return out


def _section(key: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"configuration: [{key}] must be a table, not {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"configuration: unknown key {key}.{unknown[0]} (known: {', '.join(allowed)})")
    return dict(value)


def _peers(value: Any) -> dict[str, tuple[str, int]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"configuration: [peers] must be a table of AE = {{ host = ..., port = ... }}, not {value!r}")
    out = {}
    for ae, spec in value.items():
        if isinstance(spec, str) and ":" in spec:  # "host:port"
            host, _, port = spec.rpartition(":")
            spec = {"host": host, "port": int(port) if port.isdigit() else port}
        if isinstance(spec, (list, tuple)) and len(spec) == 2:
            spec = {"host": spec[0], "port": spec[1]}
        if not isinstance(spec, Mapping) or set(spec) != {"host", "port"}:
            raise ConfigError(f"configuration: peers.{ae} must be {{ host = \"...\", port = ... }}, not {spec!r}")
        port = spec["port"]
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ConfigError(f"configuration: peers.{ae}.port must be an integer from 1 to 65535, not {port!r}")
        if not isinstance(spec["host"], str) or not spec["host"]:
            raise ConfigError(f"configuration: peers.{ae}.host must be a host name or address")
        if not ae.strip() or len(ae.strip()) > 16:
            raise ConfigError(f"configuration: peer AE title {ae!r} must have 1 to 16 characters")
        out[ae.strip()] = (spec["host"], port)
    return out


def _limits(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"configuration: [limits] must be a table, not {value!r}")
    out = dict(LIMITS)
    for k, v in value.items():
        if k not in LIMITS:
            raise ConfigError(f"configuration: unknown key limits.{k} (known: {', '.join(LIMITS)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(f"configuration: limits.{k} must be a positive number, not {v!r}")
        out[k] = type(LIMITS[k])(v)
    return out


def load_config(path: str | os.PathLike) -> ServeConfig:
    """Read a TOML configuration file (relative paths in it are relative to its folder).

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a setting is wrong.

    Examples
    --------
    >>> from pathlib import Path
    >>> from pacsnb.services.config import load_config
    >>> p = Path("/tmp/pacsnb-doc-serve.toml")
    >>> _ = p.write_text('ae_title = "PACS"\\narchive = "arc"\\n[peers]\\nWS = { host = "127.0.0.1", port = 104 }\\n')
    >>> cfg = load_config(p)
    >>> cfg.ae_title, cfg.archive, cfg.peers
    ('PACS', '/tmp/arc', {'WS': ('127.0.0.1', 104)})
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    try:
        return ServeConfig.from_dict(data, base=p.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
