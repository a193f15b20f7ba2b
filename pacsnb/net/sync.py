"""The synchronous facade: the same coroutines, for scripts and the command line.

Each function submits its coroutine to pacsnb's service loop and waits
(:func:`pacsnb.net.loop.run_sync`). It works from a notebook cell too, even against a
:class:`~pacsnb.net.Server` running in the same kernel: the cell's thread waits while the
service loop serves both ends, so nothing deadlocks.

Examples
--------
>>> from pacsnb.net import Server, sync
>>> server = sync.start(Server({"C-ECHO": lambda request: 0}, port=0, ae_title="SCP"))
>>> sync.echo("127.0.0.1", server.port, called_ae="SCP")
0
>>> with sync.connect("127.0.0.1", server.port, called_ae="SCP") as assoc:
...     [assoc.echo() for _ in range(3)]
[0, 0, 0]
>>> sync.stop(server)
>>> server.statistics["C-ECHO"], server.statistics["associations_released"]
(4, 2)
"""
from __future__ import annotations

import os
from typing import Any, Awaitable, Iterable, TypeVar

from pacsnb.dicom import Dataset

from pacsnb.net.loop import run_sync
from pacsnb.net.scp import Server
from pacsnb.net.scu import DEFAULT_AE_TITLE, Association, Item, connect as _connect

__all__ = ["run", "echo", "store", "connect", "SyncAssociation", "start", "stop"]

T = TypeVar("T")


def run(awaitable: Awaitable[T], timeout: float | None = None) -> T:
    """Run any pacsnb coroutine to completion from synchronous code.

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.run(Server({"C-ECHO": lambda r: 0}, port=0).start())
    >>> server.is_serving
    True
    >>> sync.run(server.stop())
    """
    return run_sync(awaitable, timeout)


def start(server: Server) -> Server:
    """Start a :class:`~pacsnb.net.Server` on the service loop; return it once it listens.

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0))
    >>> server.is_serving, server.port > 0
    (True, True)
    >>> sync.stop(server)
    """
    return run_sync(server.start())


def stop(server: Server, timeout: float = 10.0) -> None:
    """Stop a :class:`~pacsnb.net.Server` gracefully (see :meth:`Server.stop`).

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0))
    >>> sync.stop(server); server.is_serving
    False
    """
    run_sync(server.stop(timeout))


def echo(host: str, port: int, *, ae_title: str = DEFAULT_AE_TITLE, called_ae: str = "ANY-SCP",
         timeout: float | None = 30.0, **kwargs: Any) -> int:
    """C-ECHO over a new association; the status (0 for success).

    Raises the errors of :func:`~pacsnb.net.connect` and :meth:`Association.echo`.

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP"))
    >>> sync.echo("127.0.0.1", server.port, called_ae="SCP")
    0
    >>> sync.stop(server)
    """
    async def go() -> int:
        async with _connect(host, port, ae_title=ae_title, called_ae=called_ae, timeout=timeout,
                            contexts=kwargs.pop("contexts", ["1.2.840.10008.1.1"]), **kwargs) as assoc:
            return await assoc.echo()
    return run_sync(go())


def store(host: str, port: int, items: Item | Iterable[Item], *, ae_title: str = DEFAULT_AE_TITLE,
          called_ae: str = "ANY-SCP", timeout: float | None = 30.0, progress: bool = True,
          **kwargs: Any) -> int | list[int]:
    """C-STORE data sets, files or folders over one new association; their statuses.

    The presentation contexts are proposed from the items themselves (their SOP classes
    and transfer syntaxes), so compressed files go as they are.

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> from pacsnb.samples import write_sample_file
    >>> got = []
    >>> server = sync.start(Server({"C-STORE": lambda r: got.append(r.sop_instance_uid)}, port=0,
    ...                            ae_title="SCP"))
    >>> path = write_sample_file("/tmp/pacsnb-doc-sync-store.dcm")
    >>> sync.store("127.0.0.1", server.port, [path], called_ae="SCP", progress=False), len(got)
    ([0], 1)
    >>> sync.stop(server)
    """
    if not isinstance(items, (Dataset, str, os.PathLike)):
        items = list(items)  # used twice: to propose contexts, then to send

    async def go():
        async with _connect(host, port, ae_title=ae_title, called_ae=called_ae, timeout=timeout,
                            contexts=kwargs.pop("contexts", items), **kwargs) as assoc:
            return await assoc.store(items, progress=progress)
    return run_sync(go())


class SyncAssociation:
    """An :class:`~pacsnb.net.Association` driven from synchronous code (see :func:`connect`).

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP"))
    >>> assoc = sync.connect("127.0.0.1", server.port, called_ae="SCP")
    >>> assoc.echo(), assoc.association.is_established
    (0, True)
    >>> assoc.release(); sync.stop(server)
    """

    def __init__(self, association: Association) -> None:
        #: The underlying asynchronous association.
        self.association = association

    def __repr__(self) -> str:
        return repr(self.association).replace("<Association", "<SyncAssociation", 1)

    def echo(self) -> int:
        """C-ECHO; the status."""
        return run_sync(self.association.echo())

    def store(self, items: Item | Iterable[Item], **kwargs: Any) -> int | list[int]:
        """C-STORE; the statuses (see :meth:`Association.store`)."""
        return run_sync(self.association.store(items, **kwargs))

    def find(self, level: str, model: str = "study", *, fields: Iterable[str] | None = None,
             **keys: Any) -> Any:
        """C-FIND; the matches as a ``pandas.DataFrame`` (see :meth:`Association.find`).

        Examples
        --------
        >>> from pacsnb.net import Server, sync
        >>> from pacsnb.dicom import Dataset
        >>> def on_find(request):
        ...     for pid in ("P1", "P2"):
        ...         ds = Dataset()
        ...         ds.PatientID, ds.PatientName = pid, "DOE^J"
        ...         yield ds
        >>> server = sync.start(Server({"C-FIND": on_find}, port=0, ae_title="QR"))
        >>> with sync.connect("127.0.0.1", server.port, called_ae="QR") as assoc:
        ...     df = assoc.find("PATIENT", "patient", PatientName="DOE*")
        >>> sync.stop(server)
        >>> df
          PatientName PatientID
        0       DOE^J        P1
        1       DOE^J        P2
        """
        return run_sync(self.association.find(level, model, fields=fields, **keys))

    def move(self, dest: str | None, level: str, model: str = "study", **kwargs: Any) -> Any:
        """C-MOVE; a :class:`~pacsnb.net.retrieve.RetrieveResult` (see :meth:`Association.move`).

        ``move("ME", ..., into=folder)`` receives the images on a temporary storage SCP that
        runs on the service loop while this thread waits.

        Examples
        --------
        >>> import socket, tempfile
        >>> from pacsnb.net import Server, sync
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> series = make_ct_series(n_slices=2, rows=8, columns=8)
        >>> with socket.socket() as s:
        ...     s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
        >>> server = sync.start(Server(MemoryQR(series).handlers(), port=0, ae_title="QR",
        ...                            destinations={"PACSNB": ("127.0.0.1", port)}))
        >>> with sync.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
        ...     result = pacs.move("ME", "STUDY", into=tempfile.mkdtemp(), port=port, host="127.0.0.1",
        ...                        progress=False, StudyInstanceUID=series[0].StudyInstanceUID)
        >>> sync.stop(server)
        >>> result.completed, len(result.paths)
        (2, 2)
        """
        return run_sync(self.association.move(dest, level, model, **kwargs))

    def get(self, level: str, model: str = "study", **kwargs: Any) -> Any:
        """C-GET; a :class:`~pacsnb.net.retrieve.RetrieveResult` (see :meth:`Association.get`).

        Examples
        --------
        >>> import tempfile
        >>> from pacsnb.net import Server, sync
        >>> from pacsnb.net.memory import MemoryQR
        >>> from pacsnb.samples import make_ct_series
        >>> series = make_ct_series(n_slices=2, rows=8, columns=8)
        >>> server = sync.start(Server(MemoryQR(series).handlers(), port=0, ae_title="QR"))
        >>> with sync.connect("127.0.0.1", server.port, called_ae="QR") as pacs:
        ...     result = pacs.get("STUDY", into=tempfile.mkdtemp(), progress=False,
        ...                       StudyInstanceUID=series[0].StudyInstanceUID)
        >>> sync.stop(server)
        >>> result.ok, len(result.paths)
        (True, 2)
        """
        return run_sync(self.association.get(level, model, **kwargs))

    def n_get(self, *args: Any, **kwargs: Any) -> Any:
        """N-GET (see :meth:`Association.n_get`)."""
        return run_sync(self.association.n_get(*args, **kwargs))

    def n_set(self, *args: Any, **kwargs: Any) -> Any:
        """N-SET (see :meth:`Association.n_set`)."""
        return run_sync(self.association.n_set(*args, **kwargs))

    def n_create(self, *args: Any, **kwargs: Any) -> Any:
        """N-CREATE (see :meth:`Association.n_create`)."""
        return run_sync(self.association.n_create(*args, **kwargs))

    def n_action(self, *args: Any, **kwargs: Any) -> Any:
        """N-ACTION (see :meth:`Association.n_action`)."""
        return run_sync(self.association.n_action(*args, **kwargs))

    def n_delete(self, *args: Any, **kwargs: Any) -> Any:
        """N-DELETE (see :meth:`Association.n_delete`)."""
        return run_sync(self.association.n_delete(*args, **kwargs))

    def n_event_report(self, *args: Any, **kwargs: Any) -> Any:
        """N-EVENT-REPORT (see :meth:`Association.n_event_report`)."""
        return run_sync(self.association.n_event_report(*args, **kwargs))

    def event_report(self, timeout: float | None = 30.0) -> Any:
        """The next N-EVENT-REPORT the peer sends on this association (see
        :meth:`Association.event_report`)."""
        return run_sync(self.association.event_report(timeout))

    def cancel(self) -> bool:
        """C-CANCEL the running operation (from another thread; see :meth:`Association.cancel`)."""
        return run_sync(self.association.cancel())

    @property
    def identity_response(self) -> bytes | None:
        """The peer's user identity response (see :attr:`Association.identity_response`)."""
        return self.association.identity_response

    def release(self) -> None:
        """A-RELEASE."""
        run_sync(self.association.release())

    def abort(self) -> None:
        """A-ABORT."""
        run_sync(self.association.abort())

    def __enter__(self) -> "SyncAssociation":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.release()
        else:
            self.abort()


def connect(host: str, port: int, **kwargs: Any) -> SyncAssociation:
    """Open an association synchronously (the arguments of :func:`pacsnb.net.connect`).

    Use it in a ``with`` block, released at the end (aborted on an exception).

    Examples
    --------
    >>> from pacsnb.net import Server, sync
    >>> server = sync.start(Server({"C-ECHO": lambda r: 0}, port=0, ae_title="SCP"))
    >>> with sync.connect("127.0.0.1", server.port, called_ae="SCP") as assoc:
    ...     assoc.echo()
    0
    >>> sync.stop(server)
    """
    return SyncAssociation(run_sync(_open_async(host, port, kwargs)))


async def _open_async(host: str, port: int, kwargs: dict) -> Association:
    return await _connect(host, port, **kwargs)
