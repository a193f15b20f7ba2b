"""``await pacsnb.serve("archive/")``: a whole PACS on pacsnb's service loop.

:func:`serve` opens (or makes) an :class:`~pacsnb.archive.Archive` and starts a
:class:`~pacsnb.net.Server` with the handlers of this package: Verification, Storage (every
storage SOP class), Patient and Study Root Query/Retrieve (FIND, MOVE to the configured
peers, GET), Modality Worklist, MPPS and Storage Commitment. It returns at once with a
:class:`PacsServer` handle (its archive, worklist, MPPS records, statistics, ``stop()``);
the server keeps answering while other notebook cells run.

Settings come from keyword arguments, a :class:`~pacsnb.services.config.ServeConfig`
(or the path of a TOML file, see :mod:`pacsnb.services.config`), or both: keyword
arguments win.

Examples
--------
>>> import asyncio, tempfile
>>> import pacsnb.net as net
>>> from pacsnb.services import serve
>>> from pacsnb.samples import make_ct_series
>>> arrived = []
>>> async def cell():
...     pacs = await serve(tempfile.mkdtemp(), port=0, ae_title="PACS", on_stored=arrived.append)
...     async with net.connect("127.0.0.1", pacs.port, called_ae="PACS") as a:
...         await a.store(make_ct_series(n_slices=3, rows=8, columns=8), progress=False)
...         studies = await a.find("STUDY", PatientID="*", fields=["NumberOfStudyRelatedInstances"])
...     await pacs.stop()
...     return studies.NumberOfStudyRelatedInstances.tolist(), pacs.statistics["stored"]
>>> asyncio.run(cell()), len(arrived)
(([3], 3), 3)
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pacsnb.archive import Archive
from pacsnb.errors import PacsnbError
from pacsnb.net.loop import run_sync
from pacsnb.net.scp import Server
from pacsnb.services.commitment import StorageCommitment
from pacsnb.services.config import ConfigError, ServeConfig, load_config
from pacsnb.services.handlers import ArchiveSCP
from pacsnb.services.mpps import MPPS
from pacsnb.services.worklist import Worklist

__all__ = ["serve", "PacsServer", "build", "converter", "DeidSummary"]

log = logging.getLogger(__name__)


class PacsServer:
    """A running PACS: what :func:`serve` returns.

    Attributes
    ----------
    archive
        The :class:`~pacsnb.archive.Archive`.
    server
        The :class:`~pacsnb.net.Server`.
    scp
        The storage and query/retrieve handlers (:class:`~pacsnb.services.handlers.ArchiveSCP`).
    worklist
        The :class:`~pacsnb.services.worklist.Worklist` (or ``None``).
    mpps
        The :class:`~pacsnb.services.mpps.MPPS` SCP (or ``None``).
    commitment
        The :class:`~pacsnb.services.commitment.StorageCommitment` SCP (or ``None``).
    config
        The :class:`~pacsnb.services.config.ServeConfig` in force.
    anonymizer
        The :class:`~pacsnb.deid.Anonymizer` of the ``anonymize`` setting (or ``None``):
        its ``report`` lists each image flagged (recognizable features, burned-in
        annotation, ...), which the log only summarizes.
    deid
        The :class:`DeidSummary` hook of that anonymizer (or ``None``).

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.net import sync
    >>> from pacsnb.services import serve
    >>> pacs = sync.run(serve(tempfile.mkdtemp(), port=0, ae_title="PACS"))
    >>> sync.echo("127.0.0.1", pacs.port, called_ae="PACS"), pacs.is_serving
    (0, True)
    >>> pacs.close(); pacs.is_serving
    False
    """

    def __init__(self, archive: Archive, server: Server, scp: ArchiveSCP, *, worklist: Worklist | None,
                 mpps: MPPS | None, commitment: StorageCommitment | None, config: ServeConfig,
                 owns_archive: bool) -> None:
        self.archive = archive
        self.server = server
        self.scp = scp
        self.worklist = worklist
        self.mpps = mpps
        self.commitment = commitment
        self.config = config
        self._owns_archive = owns_archive
        self.deid: DeidSummary | None = None
        for fn in list(archive.on_ingest) + list(archive.on_retrieve):
            if isinstance(fn, DeidSummary):
                self.deid = fn

    @property
    def anonymizer(self) -> Any:
        """The :class:`~pacsnb.deid.Anonymizer` de-identifying what is stored or sent (``None``
        when there is none); its ``report`` has the per-image findings."""
        return self.deid.anonymizer if self.deid is not None else None

    def __repr__(self) -> str:
        state = f"listening on {self.server.host}:{self.port}" if self.is_serving else "stopped"
        return f"<PacsServer {self.ae_title} {state}, archive {self.archive.root}>"

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self.server.port

    @property
    def ae_title(self) -> str:
        """Our AE title."""
        return self.server.ae_title

    @property
    def is_serving(self) -> bool:
        """Whether the server listens."""
        return self.server.is_serving

    @property
    def statistics(self) -> dict[str, int]:
        """Live counters: the server's (associations, messages per service, bytes) and the
        handlers' (``stored``, ``duplicates``, ``store_failures``, ``finds``, ``find_answers``,
        ``retrieves``, ``instances_sent``, ``mpps_steps``, ``commitments``)."""
        out = dict(self.server.statistics)
        out.update(self.scp.counts)
        out["mpps_steps"] = len(self.mpps) if self.mpps is not None else 0
        out["commitments"] = len(self.commitment.transactions) if self.commitment is not None else 0
        return out

    async def start(self) -> "PacsServer":
        """Start listening again after :meth:`stop` (the archive must still be open)."""
        await self.server.start()
        return self

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: refuse new associations, finish the messages in progress (a
        C-STORE being written is completed and answered), deliver pending storage
        commitment reports, then close the archive if :func:`serve` opened it."""
        await self.server.stop(timeout)
        if self.commitment is not None:
            await self.commitment.drain(timeout)
        if self.deid is not None:
            self.deid.flush(final=True)
        if self._owns_archive:
            self.archive.close()

    def close(self, timeout: float = 10.0) -> None:
        """:meth:`stop`, from synchronous code (a script, a notebook cell without ``await``)."""
        run_sync(self.stop(timeout))

    async def __aenter__(self) -> "PacsServer":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.stop()


class DeidSummary:
    """The archive hook of the ``anonymize`` setting: an :class:`~pacsnb.deid.Anonymizer`
    called once per image, whose findings are logged as a summary, not one WARNING per image.

    An Anonymizer called directly logs a WARNING for each image it flags (recognizable
    visual features, burned-in annotation, ...); a PACS receiving a thousand-slice series
    would log a thousand of them. This hook keeps every finding in the Anonymizer's
    ``report`` and logs one WARNING line per kind of finding: at the first finding, then
    every ``every`` images that brought new findings, and the totals when the server stops.

    Parameters
    ----------
    anonymizer
        The :class:`~pacsnb.deid.Anonymizer`.
    on
        ``"ingest"`` or ``"retrieve"`` (for the messages).
    every
        Images between two summary lines.

    Attributes
    ----------
    images : int
        Images handed to the anonymizer so far.

    Examples
    --------
    >>> from pacsnb.deid import Anonymizer
    >>> from pacsnb.samples import make_ct_series
    >>> hook = DeidSummary(Anonymizer("basic", key="k"))
    >>> out = [hook(ds) for ds in make_ct_series(n_slices=2, rows=8, columns=8)]
    >>> hook.images, hook.findings(), str(out[0].PatientName) != "Doe^John"
    (2, {}, True)
    """

    def __init__(self, anonymizer: Any, on: str = "ingest", *, every: int = 1000) -> None:
        self.anonymizer = anonymizer
        self.on = on
        self.every = max(1, int(every))
        self.images = 0
        self._lock = threading.Lock()
        self._start = len(anonymizer.report)  # findings from before this hook are not ours
        self._logged = self._start            # report entries already summarized
        self._images_logged = 0
        self._warned = False

    def __repr__(self) -> str:
        return f"<DeidSummary on {self.on}: {self.images} images, findings {self.findings()}>"

    def __call__(self, ds: Any) -> Any:
        """De-identify ``ds`` (per-image findings go to the report, not to the log)."""
        an = self.anonymizer
        batch = getattr(an, "_batch", None)
        was = getattr(batch, "active", False)
        if batch is not None:
            batch.active = True  # the Anonymizer logs its findings at DEBUG level only
        try:
            return an(ds)
        finally:
            if batch is not None:
                batch.active = was
            with self._lock:
                self.images += 1
                due = self.images - self._images_logged >= self.every or (
                    not self._warned and len(an.report) > self._logged)
            if due:
                self.flush()

    def findings(self) -> dict[str, int]:
        """``{finding: number of images}`` since this hook was made (failures excluded).

        Examples
        --------
        >>> from pacsnb.deid import Anonymizer
        >>> DeidSummary(Anonymizer("basic", key="k")).findings()
        {}
        """
        return _count(self.anonymizer, self._start)

    def flush(self, final: bool = False) -> None:
        """Log the findings not summarized yet (one WARNING per kind); with ``final``, the
        totals since the start as well.

        Examples
        --------
        >>> from pacsnb.deid import Anonymizer
        >>> DeidSummary(Anonymizer("basic", key="k")).flush(final=True)  # nothing to say
        """
        an = self.anonymizer
        with self._lock:
            start, self._logged = self._logged, len(an.report)
            n_images, self._images_logged = self.images - self._images_logged, self.images
            new = _count(an, start, self._logged)
            if new:
                self._warned = True
        for flag, n in sorted(new.items()):
            log.warning("de-identification on %s: %d of the last %d images flagged %r; each image is listed in "
                        "PacsServer.anonymizer.report (summarized every %d images and at stop)", self.on, n,
                        n_images, flag, self.every)
        if final:
            for flag, n in sorted(self.findings().items()):
                log.warning("de-identification on %s: %d of %d images flagged %r in all; see "
                            "PacsServer.anonymizer.report", self.on, n, self.images, flag)


def _count(an: Any, start: int, stop: int | None = None) -> dict[str, int]:
    with an._lock:
        entries = an.report[start:stop]
    images: dict[str, set[str]] = {}
    for r in entries:
        if r.get("flag") != "failed":  # a failure stops the store, which reports it by itself
            images.setdefault(r["flag"], set()).add(r.get("SOPInstanceUID") or r.get("path") or str(id(r)))
    return {flag: len(names) for flag, names in images.items()}


def _anonymizer(spec: Any) -> tuple[Any, str]:
    """(callable, "ingest" or "retrieve") from an ``anonymize`` setting; an Anonymizer is
    wrapped in a :class:`DeidSummary`."""
    from pacsnb.deid import Anonymizer

    if callable(spec):
        return (DeidSummary(spec) if isinstance(spec, Anonymizer) else spec), "ingest"
    spec = dict(spec)
    on = spec.pop("on", "ingest")
    try:
        an = Anonymizer(spec.pop("profile", "basic"), spec.pop("options", ()), spec.pop("key", None), **spec)
    except TypeError as exc:
        raise ConfigError(f"anonymize: {exc}") from exc
    return DeidSummary(an, on), on


def converter(transfer_syntax: str) -> Callable[[Any], Any]:
    """An ``on_ingest`` transform storing images in ``transfer_syntax`` (conversion on ingest).

    Data sets without Pixel Data, already in that syntax, or that cannot be converted
    (logged) are stored as received.

    Examples
    --------
    >>> from pacsnb.samples import make_ct_series
    >>> from pacsnb.services.serve import converter
    >>> str(converter("1.2.840.10008.1.2.5")(make_ct_series(n_slices=1, rows=8, columns=8)[0]).transfer_syntax)
    '1.2.840.10008.1.2.5'
    """
    from pacsnb.errors import CodecError
    from pacsnb.pixels.transcode import transcode

    target = str(transfer_syntax)

    def convert(ds: Any) -> Any:
        if "PixelData" not in ds or str(ds.transfer_syntax or "") == target:
            return ds
        try:
            return transcode(ds, target, new_uid=False) if target in _LOSSY else transcode(ds, target)
        except (CodecError, ValueError, NotImplementedError) as exc:
            log.warning("%s not converted to %s, stored as received: %s", ds.get("SOPInstanceUID"), target, exc)
            return ds
    convert.__name__ = f"convert_to_{target}"
    return convert


_LOSSY = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def build(archive_root: str | os.PathLike | Archive | None = None, *, config: ServeConfig | Mapping | str | os.PathLike | None = None,
          on_stored: Callable[[Any], Any] | None = None, **settings: Any) -> PacsServer:
    """Make the archive, handlers and server of :func:`serve` without starting it.

    Parameters are those of :func:`serve`.

    Returns
    -------
    PacsServer
        Not listening yet: ``await pacs.start()``.

    Examples
    --------
    >>> import tempfile
    >>> from pacsnb.services.serve import build
    >>> pacs = build(tempfile.mkdtemp(), port=0, worklist=[{"PatientID": "P1", "Modality": "CT"}])
    >>> pacs.is_serving, len(pacs.worklist), sorted(pacs.server.handlers)[:3]
    (False, 1, ['C-ECHO', 'C-FIND', 'C-GET'])
    >>> pacs.archive.close()
    """
    if config is None:
        cfg = ServeConfig()
    elif isinstance(config, ServeConfig):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = ServeConfig.from_dict(config)
    else:
        cfg = load_config(config)
    worklist_arg = settings.pop("worklist", Ellipsis)
    anonymize_arg = settings.pop("anonymize", Ellipsis)
    tls_arg = settings.pop("tls", Ellipsis)
    limits = dict(cfg.limits)
    limits.update(settings.pop("limits", None) or {})
    for key, value in settings.items():
        if value is None:
            continue
        if key == "peers":
            value = {ae: (str(h), int(p)) for ae, (h, p) in dict(value).items()}
        elif key == "allowed_calling_aes":
            value = list(value)
        if not hasattr(cfg, key) or key in ("limits", "worklist", "anonymize", "tls"):
            raise ConfigError(f"serve(): unknown setting {key!r}")
        setattr(cfg, key, value)
    anonymize = cfg.anonymize if anonymize_arg is Ellipsis else anonymize_arg
    tls = cfg.tls if tls_arg is Ellipsis else tls_arg

    # the archive
    owns = not isinstance(archive_root, Archive)
    if isinstance(archive_root, Archive):
        archive = archive_root
        if anonymize is not None:
            fn, on = _anonymizer(anonymize)
            (archive.on_ingest if on == "ingest" else archive.on_retrieve).append(fn)
        if cfg.convert_to:
            archive.on_ingest.append(converter(cfg.convert_to))
    else:
        root = archive_root if archive_root is not None else cfg.archive
        if root is None:
            raise ConfigError("serve(): say where the archive is (serve('archive/') or archive = ... in the "
                              "configuration)")
        kwargs: dict[str, Any] = {"on_ingest": [], "on_retrieve": []}
        if anonymize is not None:
            fn, on = _anonymizer(anonymize)
            kwargs["on_ingest" if on == "ingest" else "on_retrieve"].append(fn)
        if cfg.convert_to:
            kwargs["on_ingest"].append(converter(cfg.convert_to))
        archive = Archive(root, duplicates=cfg.duplicates, durable=cfg.durable, retrieve_ae_title=cfg.ae_title,
                          **kwargs)
    try:
        # the worklist
        wl_spec = cfg.worklist if worklist_arg is Ellipsis else worklist_arg
        if wl_spec is None or wl_spec is False:
            worklist = None
        elif isinstance(wl_spec, Worklist):
            worklist = wl_spec
        elif isinstance(wl_spec, Mapping) and set(wl_spec) <= {"file"} and not (
                set(wl_spec) and not isinstance(wl_spec.get("file"), (str, os.PathLike))):
            worklist = Worklist(wl_spec["file"]) if "file" in wl_spec else Worklist.for_archive(archive)
        else:
            worklist = Worklist(wl_spec)
        scp = ArchiveSCP(archive, worklist=worklist, max_find_results=int(limits["max_find_results"]),
                         on_stored=on_stored)
        handlers = scp.handlers()
        sop_classes = scp.sop_classes()
        mpps = commitment = None
        if cfg.mpps:
            mpps = MPPS(path=Path(archive.root) / "mpps.json")
            handlers.update(mpps.handlers())
            sop_classes.update(mpps.sop_classes())
        client_tls = _client_tls(tls)  # for the associations this PACS opens: reports and moves
        if cfg.commitment:
            commitment = StorageCommitment(archive, peers=cfg.peers, ae_title=cfg.ae_title,
                                           timeout=float(limits["move_timeout"]), tls=client_tls,
                                           same_association=cfg.commitment == "same-association")
            handlers.update(commitment.handlers())
            sop_classes.update(commitment.sop_classes())
        server = Server(handlers, port=cfg.port, host=cfg.host, ae_title=cfg.ae_title,
                        calling_ae_titles=cfg.allowed_calling_aes, max_associations=int(limits["max_associations"]),
                        maximum_length=int(limits["max_pdu_length"]), artim_timeout=float(limits["artim_timeout"]),
                        network_timeout=float(limits["network_timeout"]), sop_classes=sop_classes, tls=tls,
                        spool_threshold=int(limits["spool_threshold"]), max_operations=int(limits["max_operations"]),
                        destinations=dict(cfg.peers), move_timeout=float(limits["move_timeout"]),
                        destination_tls=client_tls)
    except BaseException:
        if owns:
            archive.close()
        raise
    cfg.limits = limits
    return PacsServer(archive, server, scp, worklist=worklist, mpps=mpps, commitment=commitment, config=cfg,
                      owns_archive=owns)


def _client_tls(tls: Any) -> Any:
    """TLS for the associations we open (C-MOVE sub-operations, commitment reports): our
    certificate and key, the same trusted authorities and profile; the peer's certificate is
    verified. A server given as an :class:`ssl.SSLContext` has no client side to derive:
    those associations are then plain TCP, and a warning says so.

    Examples
    --------
    >>> from pacsnb.net.tls import TLSConfig
    >>> _client_tls(TLSConfig(certfile="s.pem", keyfile="s.key", cafile="ca.pem", peer_cert="ignore"))
    {'certfile': 's.pem', 'keyfile': 's.key', 'cafile': 'ca.pem', 'profile': 'bcp195-nd'}
    >>> _client_tls(None) is None
    True
    """
    if tls is None or tls is False:
        return None
    if hasattr(tls, "wrap_socket"):  # an ssl.SSLContext (server side)
        log.warning("TLS given as an ssl.SSLContext: the associations this PACS opens (C-MOVE to its peers, "
                    "storage commitment reports) use plain TCP; give tls as a dict or TLSConfig to use TLS")
        return None
    fields = dataclasses.asdict(tls) if dataclasses.is_dataclass(tls) else dict(tls)
    out = {k: fields[k] for k in ("certfile", "keyfile", "cafile", "capath", "profile", "password")
           if fields.get(k) is not None}
    return out or None


async def serve(archive_root: str | os.PathLike | Archive | None = None, *, port: int | None = None,
                ae_title: str | None = None, host: str | None = None,
                config: ServeConfig | Mapping | str | os.PathLike | None = None,
                allowed_calling_aes: list[str] | None = None, peers: Mapping[str, tuple[str, int]] | None = None,
                tls: Any = Ellipsis, on_stored: Callable[[Any], Any] | None = None, duplicates: str | None = None,
                durable: bool | None = None, anonymize: Any = Ellipsis, worklist: Any = Ellipsis,
                mpps: bool | None = None, commitment: bool | str | None = None, convert_to: str | None = None,
                limits: Mapping[str, Any] | None = None) -> PacsServer:
    """Start a PACS over an archive, on pacsnb's service loop; returns once it listens.

    Parameters
    ----------
    archive_root
        The archive folder (made if missing), or an open :class:`~pacsnb.archive.Archive`.
        ``None``: the configuration's ``archive``.
    port, ae_title, host
        Where to listen (``port=0`` picks a free port: read ``.port``), under which AE
        title; ``host="0.0.0.0"`` serves the network (default: this machine only).
    config
        A :class:`~pacsnb.services.config.ServeConfig`, a dict of its settings, or the
        path of a TOML file. Keyword arguments override it.
    allowed_calling_aes
        The calling AE titles accepted; others are rejected (reason 3). ``None``: any.
    peers
        ``{AE title: (host, port)}``: C-MOVE destinations and storage commitment requesters.
    tls
        DICOM over TLS: a dict (``certfile``, ``keyfile``, ``cafile``, ``profile``), a
        :class:`~pacsnb.net.tls.TLSConfig` or an :class:`ssl.SSLContext`. With a dict or a
        ``TLSConfig``, the associations the PACS opens (C-MOVE sub-operations to the peers,
        storage commitment reports) use TLS too, with our certificate and the same CA.
    on_stored
        ``f(StoreResult)`` called (in a worker thread) after each instance stored through
        the network: watch a cohort arrive.
    duplicates
        ``"reject"`` (answered 0x0111), ``"replace"`` or ``"keep"``.
    durable
        Sync files and the index (default ``True``).
    anonymize
        De-identify: an :class:`~pacsnb.deid.Anonymizer` (on ingest) or a dict
        ``{"profile": "basic", "options": [...], "key": ..., "on": "ingest" | "retrieve"}``.
    worklist
        Modality Worklist items: a :class:`~pacsnb.services.worklist.Worklist`, a JSON or
        CSV path, a DataFrame, records; ``None``: no worklist. Default: the archive's
        own worklist (``worklist.json`` in its folder).
    mpps, commitment
        Serve MPPS and Storage Commitment (default ``True``; ``commitment="same-association"``
        reports on the requester's association while it stays open, else on a new one).
    convert_to
        Conversion on ingest: store images in this transfer syntax (e.g. RLE Lossless
        ``"1.2.840.10008.1.2.5"``); ``None`` keeps them as received.
    limits
        ``max_associations``, ``max_pdu_length``, ``network_timeout``, ``max_find_results``,
        ... (see :data:`pacsnb.services.config.LIMITS`). ``max_pdu_length`` is the largest
        PDU we accept, 1 MiB by default like :class:`~pacsnb.net.Server` (fewer, larger PDUs
        are faster); what we send always honours the peer's own maximum.

    Returns
    -------
    PacsServer

    Raises
    ------
    ConfigError
        A setting is wrong.
    NetworkError
        The port cannot be bound.
    ArchiveError
        The archive folder cannot be used.

    Examples
    --------
    >>> import asyncio, tempfile
    >>> from pacsnb.services import serve
    >>> async def cell():
    ...     async with await serve(tempfile.mkdtemp(), port=0, allowed_calling_aes=["CT1"]) as pacs:
    ...         return pacs.is_serving, pacs.config.allowed_calling_aes
    >>> asyncio.run(cell())
    (True, ['CT1'])
    """
    settings: dict[str, Any] = dict(port=port, ae_title=ae_title, host=host, allowed_calling_aes=allowed_calling_aes,
                                    peers=peers, duplicates=duplicates, durable=durable, mpps=mpps,
                                    commitment=commitment, convert_to=convert_to, limits=limits)
    if tls is not Ellipsis:
        settings["tls"] = tls
    if anonymize is not Ellipsis:
        settings["anonymize"] = anonymize
    if worklist is not Ellipsis:
        settings["worklist"] = worklist
    pacs = build(archive_root, config=config, on_stored=on_stored, **settings)
    try:
        await pacs.server.start()
    except PacsnbError:
        if pacs._owns_archive:
            pacs.archive.close()
        raise
    log.info("PACS %s serving archive %s on %s:%d", pacs.ae_title, pacs.archive.root, pacs.server.host, pacs.port)
    return pacs
