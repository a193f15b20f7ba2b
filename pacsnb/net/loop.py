"""pacsnb's *service loop*: one asyncio event loop on a daemon thread, started on first use.

Every association, SCU and SCP alike, runs on this loop (ARCHITECTURE.md, principle 2). So a
server started from a notebook cell keeps answering while the kernel's own thread runs a
long synchronous cell, and a synchronous call from a cell to a server in the same kernel
cannot deadlock: the cell's thread waits, the service loop works.

* :func:`bridge` awaits a coroutine on the service loop from any other loop (the kernel's,
  ``asyncio.run``'s, ...): ``asyncio.wrap_future(run_coroutine_threadsafe(...))``. Called
  on the service loop itself, it simply awaits. Cancelling the awaiting task cancels the
  coroutine on the service loop.
* :func:`run_sync` submits a coroutine from synchronous code and waits for its result.
* :func:`shutdown` stops the loop and its thread (the next use starts a new one); tests
  call it so that no thread outlives them.

Examples
--------
>>> import asyncio, threading
>>> from pacsnb.net.loop import bridge, run_sync, service_thread
>>> async def where():
...     return threading.current_thread() is service_thread()
>>> run_sync(where())
True
>>> asyncio.run(bridge(where()))       # from another loop: runs on the service loop
True
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from typing import Any, Awaitable, Coroutine, TypeVar

from pacsnb.errors import NetworkError

__all__ = ["service_loop", "service_thread", "on_service_loop", "bridge", "run_sync", "submit",
           "shutdown", "THREAD_NAME"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The name of the service loop's thread.
THREAD_NAME = "pacsnb-service-loop"

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _run(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def service_loop() -> asyncio.AbstractEventLoop:
    """The service loop, started (with its daemon thread) on first use.

    Examples
    --------
    >>> from pacsnb.net.loop import service_loop
    >>> service_loop().is_running()
    True
    """
    global _loop, _thread
    loop = _loop
    if loop is not None and not loop.is_closed():
        return loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            thread = threading.Thread(target=_run, args=(loop, started), name=THREAD_NAME, daemon=True)
            thread.start()
            started.wait()
            _loop, _thread = loop, thread
            log.debug("service loop started on thread %s", thread.name)
        return _loop


def service_thread() -> threading.Thread | None:
    """The service loop's thread, if it runs.

    Examples
    --------
    >>> from pacsnb.net.loop import service_loop, service_thread
    >>> _ = service_loop(); service_thread().name, service_thread().daemon
    ('pacsnb-service-loop', True)
    """
    return _thread if _loop is not None and not _loop.is_closed() else None


def on_service_loop() -> bool:
    """Whether the caller runs on the service loop's thread.

    Examples
    --------
    >>> from pacsnb.net.loop import on_service_loop, run_sync
    >>> async def where():
    ...     return on_service_loop()
    >>> on_service_loop(), run_sync(where())
    (False, True)
    """
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future:
    """Schedule ``coro`` on the service loop; a :class:`concurrent.futures.Future` of its result.

    Examples
    --------
    >>> import asyncio
    >>> from pacsnb.net.loop import submit
    >>> submit(asyncio.sleep(0, result="done")).result(5)
    'done'
    """
    return asyncio.run_coroutine_threadsafe(coro, service_loop())


async def bridge(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the service loop, from whatever loop the caller runs on.

    Examples
    --------
    >>> import asyncio
    >>> from pacsnb.net.loop import bridge
    >>> async def add(a, b):
    ...     await asyncio.sleep(0)
    ...     return a + b
    >>> asyncio.run(bridge(add(1, 2)))
    3
    """
    if on_service_loop():
        return await coro
    return await asyncio.wrap_future(submit(coro))


def run_sync(coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float | None = None) -> T:
    """Run ``coro`` on the service loop and wait for its result (synchronous facade).

    Works from plain scripts and from a notebook cell (the cell's thread waits while the
    service loop runs, so a server in the same kernel keeps answering).

    Parameters
    ----------
    coro
        The coroutine.
    timeout
        Seconds to wait; then the coroutine is cancelled and :class:`NetworkError` raised.

    Raises
    ------
    NetworkError
        Called on the service loop itself (it would wait for itself forever: ``await``
        the coroutine instead), or the timeout expired.

    Examples
    --------
    >>> import asyncio
    >>> from pacsnb.net.loop import run_sync
    >>> run_sync(asyncio.sleep(0.01, result=42), timeout=5)
    42
    """
    if on_service_loop():
        if asyncio.iscoroutine(coro):
            coro.close()
        raise NetworkError("a synchronous pacsnb network call was made on pacsnb's service loop, "
                           "where it would wait for itself forever; await the coroutine instead")
    if not asyncio.iscoroutine(coro):
        async def _wrap(aw: Awaitable[T]) -> T:
            return await aw
        coro = _wrap(coro)
    future = submit(coro)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise NetworkError(f"no result after {timeout} s; the operation was cancelled") from None
    except BaseException:
        future.cancel()  # KeyboardInterrupt in a script or an interrupted cell: stop the work too
        raise


def shutdown(timeout: float = 10.0) -> None:
    """Stop the service loop: cancel what still runs on it, close it, join its thread.

    The next network call starts a new loop. Servers still running are cut off: stop
    them first (``await server.stop()``).

    Examples
    --------
    >>> import asyncio
    >>> from pacsnb.net.loop import run_sync, service_thread, shutdown
    >>> run_sync(asyncio.sleep(0))
    >>> shutdown(); service_thread() is None
    True
    """
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop = _thread = None
    if loop is None or loop.is_closed():
        return
    if thread is threading.current_thread():
        raise NetworkError("shutdown() cannot be called from the service loop itself")
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the service loop thread did not stop within %s s", timeout)


atexit.register(shutdown, 2.0)
