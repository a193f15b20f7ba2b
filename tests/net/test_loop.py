"""The service loop: one daemon thread, bridging from other loops and from synchronous code."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pacsnb.errors import NetworkError
from pacsnb.net import loop as L


@pytest.fixture(autouse=True, scope="module")
def _stop_service_loop():
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


async def _thread_name():
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_run_sync_runs_on_the_service_thread():
    assert L.run_sync(_thread_name()) == L.THREAD_NAME
    assert L.service_thread().daemon


def test_bridge_from_another_loop_and_from_the_service_loop_itself():
    async def outer():
        here = threading.current_thread().name
        there = await L.bridge(_thread_name())
        nested = await L.bridge(L.bridge(_thread_name()))  # on the service loop: a plain await
        return here, there, nested
    here, there, nested = asyncio.run(outer())
    assert here == "MainThread" and there == nested == L.THREAD_NAME


def test_run_sync_on_the_service_loop_refuses_instead_of_deadlocking():
    async def inner():
        with pytest.raises(NetworkError, match="await the coroutine instead"):
            L.run_sync(_thread_name())
        return True
    assert L.run_sync(inner())


def test_sync_calls_work_inside_a_running_loop_like_a_notebook_cell():
    async def cell():  # a cell's code runs on the kernel's loop; a sync call blocks it, not the service loop
        return L.run_sync(_thread_name())
    assert asyncio.run(cell()) == L.THREAD_NAME


def test_cancelling_the_awaiting_task_cancels_the_work():
    cancelled = threading.Event()

    async def work():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main():
        task = asyncio.ensure_future(L.bridge(work()))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(main())
    assert cancelled.wait(2)


def test_run_sync_timeout_cancels():
    cancelled = threading.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match="no result after 0.1 s"):
        L.run_sync(slow(), timeout=0.1)
    assert time.monotonic() - t0 < 2 and cancelled.wait(2)


def test_errors_cross_the_bridge():
    async def boom():
        raise KeyError("x")
    with pytest.raises(KeyError):
        L.run_sync(boom())


def test_shutdown_then_restart():
    first = L.service_loop()
    L.shutdown()
    assert first.is_closed() and L.service_thread() is None
    assert L.run_sync(_thread_name()) == L.THREAD_NAME
    assert L.service_loop() is not first
