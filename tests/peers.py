"""Helpers for tests that talk to peers on 127.0.0.1: whether the dcmtk tools are here, free
ports, running a tool with a timeout, starting a peer process and waiting until it listens,
stopping it, and stopping pacsnb's service loop after a test module.

Importable as ``peers`` from any test folder: pytest puts ``tests/`` (the folder of the
top-level conftest.py) on ``sys.path``.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import pytest

from pacsnb.net import loop as L

#: CI sets PACSNB_REQUIRE_DCMTK=1: a missing dcmtk tool is then a failure, not a skip.
REQUIRE_DCMTK = os.environ.get("PACSNB_REQUIRE_DCMTK") == "1"


def have_tools(*tools: str) -> bool:
    """Whether every one of the command-line ``tools`` is on the PATH."""
    return all(shutil.which(t) for t in tools)


def needs_dcmtk(*tools: str) -> pytest.MarkDecorator:
    """Skip when one of the dcmtk ``tools`` is missing, unless CI requires dcmtk."""
    return pytest.mark.skipif(not have_tools(*tools) and not REQUIRE_DCMTK, reason="dcmtk is not installed")


@pytest.fixture(autouse=True, scope="module")
def stop_service_loop():
    """After the module: stop pacsnb's service loop and check its thread is gone (import this
    name into a test module to use it there)."""
    yield
    L.shutdown()
    assert not any(t.name == L.THREAD_NAME for t in threading.enumerate())


def run(coro, timeout: float = 20):
    """Run ``coro`` in a new event loop, at most ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(cmd: Sequence, timeout: float, **kw) -> subprocess.CompletedProcess:
    """Run a command-line tool (arguments made strings) and capture its output as text."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, errors="replace",
                          timeout=timeout, **kw)


def wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    """Wait (at most ``timeout`` seconds) until something accepts TCP connections on
    127.0.0.1:``port``; fail with the process's output if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited with status {proc.returncode}: "
                        f"{proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"{proc.args[0]} did not start listening on port {port}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate ``proc`` (kill it if it does not end within ``timeout``) and close its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextmanager
def peer_process(cmd: Sequence, port: int, timeout: float) -> Iterator[subprocess.Popen]:
    """Start the peer ``cmd`` (its output, stdout and stderr together, in ``proc.stdout``),
    wait until it listens on ``port``, and stop it on leaving."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    try:
        wait_listening(port, proc, timeout)
        yield proc
    finally:
        stop(proc)
