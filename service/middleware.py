"""ASGI middleware: request ids, access logs, HTTP metrics and the last-resort 500; and the body guard
(size and JSON nesting, checked before anything parses the body)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketguard.service.errors import JSONTooDeepError, error_response, internal_error_response
from ticketguard.service.log import reset_request_id, set_request_id
from ticketguard.service.metrics import Metrics
from ticketguard.service.validation import MAX_JSON_DEPTH, json_depth

logger = logging.getLogger("ticketguard.access")
error_logger = logging.getLogger("ticketguard.service.errors")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestContextMiddleware:
    """Give every request an id (``X-Request-ID``, taken from the client when well-formed), time it,
    count it per route template (never per raw path, to keep metric cardinality bounded) and log it.

    It is also where an unexpected exception ends: it is logged once, with its traceback and the
    request id, and answered as a JSON 500 that carries the id like every other response. Nothing
    is re-raised, so the server keeps the client's keep-alive connection open.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_request_id(request_id)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the last resort: a bug, not bad input (bad input is answered inside the app)
            error_logger.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method", ""),
                               scope.get("path", ""), exc_info=exc)
            if not response_started:  # once a response has started, the server can only close the connection
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(elapsed)
            logger.info("%s %s %d", method, scope.get("path", ""), status,
                        extra={"method": method, "path": scope.get("path", ""), "route": route, "status": status,
                               "duration_ms": round(elapsed * 1000, 2)})
            reset_request_id(token)


class BodyGuardMiddleware:
    """Answer 413 to bodies over ``max_bytes`` (by ``Content-Length`` or by counting a streamed body)
    and 400 to bodies nesting deeper than :data:`~service.validation.MAX_JSON_DEPTH`.

    The body is read (bounded) before the app sees it and replayed, so the limit holds for chunked
    uploads too, the app never buffers more than ``max_bytes``, and no JSON parser of any route
    (FastAPI's or a webhook's) ever recurses deeper than the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await error_response(400, "bad_request", "Content-Length is not a number")(scope, receive, send)
                return
            if too_large:
                await self._reject(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            await error_response(JSONTooDeepError.status_code, JSONTooDeepError.code,
                                 f"body: JSON nests deeper than {MAX_JSON_DEPTH} levels")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "body_too_large", f"request body is larger than {self.max_bytes} bytes",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)
