"""The OpenAPI document says what the server does: every status a route answers, with the shape of
the error body, the headers every response carries, and the limits this server is configured with.

Routes declare their error statuses with :func:`error_responses`; :func:`install_openapi` makes the
app's document carry the configured limits (``max_text_chars``, ``max_batch_items``) instead of the
hard ceilings of the request models, and documents ``X-Request-ID`` and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ticketguard.service.schemas import ErrorOut
from ticketguard.service.settings import Settings

_DESCRIPTIONS = {
    400: "the body is not valid JSON, or nests deeper than the limit",
    401: "missing or invalid credentials (X-API-Key, or the webhook's signature)",
    404: "no such resource",
    413: "the body is larger than the limit",
    415: "the body is not sent as application/json",
    409: "the request is ambiguous; the message says which parameter to add",
    422: "a field is missing, malformed or over a limit; the message names it",
    429: "too many messages wait for classification (Intercom); retry after Retry-After seconds",
    500: "a server bug; the request id leads to the logged traceback",
    503: "not ready yet, or the inference queue is full; retry after Retry-After seconds",
}
_REQUEST_ID = {"description": "the request's id (the client's X-Request-ID when well-formed); also in error bodies",
               "required": True, "schema": {"type": "string"}}
_RETRY_AFTER = {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}


def error_responses(*statuses: int, not_found: str | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with the JSON error body and what it means (``not_found``:
    what a 404 means on this route).

    Example:
        >>> sorted(error_responses(401, 404, not_found="no message with this id"))
        [401, 404]
    """
    return {status: {"model": ErrorOut, "description": (not_found if status == 404 else None) or _DESCRIPTIONS[status]}
            for status in statuses}


def build_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The app's OpenAPI document with this server's limits and headers."""
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = document.get("components", {}).get("schemas", {})
    for schema in schemas.values():  # every message body (TicketIn and the models built on it)
        text = schema.get("properties", {}).get("text")
        if text is not None and "maxLength" in text:
            text["maxLength"] = settings.max_text_chars
    if "BatchIn" in schemas:
        schemas["BatchIn"]["properties"]["items"]["maxItems"] = settings.max_batch_items
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = _REQUEST_ID
                if status in ("429", "503") and operation.get("tags") != ["operations"]:
                    headers["Retry-After"] = _RETRY_AFTER
    return document


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve :func:`build_openapi`'s document at ``/openapi.json`` (built once, on first request)."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cache:
            cache.update(build_openapi(app, settings))
        return cache

    app.openapi = openapi  # type: ignore[method-assign]
