"""A bug answers a JSON 500 that carries the request id, is logged once, and keeps the connection (issue 9).

The app is served by uvicorn over a real socket, because dropping a keep-alive connection is the
server's behaviour, which an in-process client cannot see. The bug is a route this test adds.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from ticketguard.models.classifier import Classifier
from ticketguard.service.app import create_app
from ticketguard.service.log import JsonFormatter
from ticketguard.service.settings import Settings


class _Lines(logging.Handler):
    """Every record, formatted the way the server logs it (JSON with the request id)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[_Lines]:
    handler = _Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_a_bug_is_a_json_500_with_the_request_id_logged_once_and_the_connection_stays_open(
        serve: Callable[..., str], make_settings: Callable[..., Settings], classifier: Classifier,
        database_url: str, logged: _Lines) -> None:
    app = create_app(make_settings(database_url=database_url), classifier=classifier)

    def explode() -> None:
        raise RuntimeError("secret detail of a bug")

    app.add_api_route("/test-only/explode", explode)
    url = urlsplit(serve(app=app))
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)

    connection.request("GET", "/test-only/explode", headers={"X-Request-ID": "probe-500"})
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 500
    assert response.getheader("content-type") == "application/json"
    assert response.getheader("x-request-id") == "probe-500"
    assert body == {"error": {"code": "internal_error", "request_id": "probe-500",
                              "message": "internal error; see the server log for this request id"}}
    assert (response.getheader("connection") or "").lower() != "close"
    socket_before = connection.sock

    # the next request goes over the same connection (http.client would reconnect silently if it were closed)
    connection.request("GET", "/healthz")
    follow_up = connection.getresponse()
    assert follow_up.status == 200 and json.loads(follow_up.read())["status"] == "ok"
    assert connection.sock is socket_before
    # a server-generated id when the client sent none, in the header and in the body alike
    connection.request("GET", "/test-only/explode")
    second = connection.getresponse()
    assert second.status == 500
    assert json.loads(second.read())["error"]["request_id"] == second.getheader("x-request-id")
    connection.close()

    errors = [line for line in logged.lines if line["level"] == "ERROR"]
    assert len(errors) == 2, errors  # once per failed request: not again by uvicorn or Starlette
    first = errors[0]
    assert first["request_id"] == "probe-500"
    assert "RuntimeError: secret detail of a bug" in first["exc_info"]
    assert "explode" in first["message"]
