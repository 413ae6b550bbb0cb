"""The service as a real server process (uvicorn in a subprocess), for tests that kill or fork it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
#: a bound on waiting, not a speed check: on a loaded 2-core machine importing torch alone can take minutes
START_TIMEOUT_S = 900


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(command: list[str], *, env: dict[str, str], cwd: Path, port: int,
                   stop: signal.Signals = signal.SIGTERM) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until it answers ``/readyz``; yields its base URL; ``stop`` ends it.

    Its output goes to ``cwd / "server.log"``, whose end a failed start shows.
    """
    log = cwd / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                   stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the server did not start within {START_TIMEOUT_S} s"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(stop)
        process.wait(timeout=120)
