"""A local stand-in for a helpdesk's REST API: records every request and answers from a script.

Each answer is ``(status, headers)``, or ``HANG`` to hold the connection past the client's timeout.
When the script runs out, it answers 200. Each test checks the recorded path, auth header and
body against the provider's documentation.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = (-1, {})


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class FakeHelpdesk:
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    hang_seconds: float = 3.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answered(self, status: int = 200) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.status == status]

    def wait_for(self, count: int, *, status: int = 200, timeout: float = 60.0) -> list[Recorded]:
        """Wait until ``count`` requests were answered ``status``; they are returned."""
        deadline = time.monotonic() + timeout
        while len(self.answered(status)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.answered(status))} of {count} requests answered {status}: "
                                     f"{self.requests}")
            time.sleep(0.02)
        return self.answered(status)

    def _next(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            return self.script.pop(0) if self.script else (200, {})

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def start(self) -> FakeHelpdesk:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers = fake._next()
                body = json.loads(raw) if raw else None
                fake._record(Recorded(self.command, self.path, dict(self.headers), body, status))
                if status == HANG[0]:
                    time.sleep(fake.hang_seconds)
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                payload = b"{}"
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PUT = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
