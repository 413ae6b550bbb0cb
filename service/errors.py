"""Service errors and the handlers that turn every error into a JSON body.

Each error carries its HTTP status and a stable ``code``; the body is always::

    {"error": {"code": "...", "message": "...", "request_id": "..."}}

Bad input is a 4xx, never a 500: validation errors are trimmed to location, message and type
(the rejected input is never echoed back, it may be 20,000 characters of customer text).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketguard.models.errors import InvalidInputError, TicketGuardError
from ticketguard.service.log import current_request_id

logger = logging.getLogger(__name__)


class ServiceError(TicketGuardError):
    """Base of errors raised by the service; ``status_code`` and ``code`` shape the response."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class AuthenticationError(ServiceError):
    status_code = 401
    code = "unauthorized"


class SignatureError(ServiceError):
    """A webhook's signature (or shared secret, or timestamp) does not check out."""

    status_code = 401
    code = "invalid_signature"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


class UnknownProviderError(NotFoundError):
    code = "unknown_provider"


class ProviderDisabledError(NotFoundError):
    code = "provider_disabled"


class AmbiguousTicketError(ServiceError):
    """A ticket id found in several helpdesk accounts; the caller must name the account."""

    status_code = 409
    code = "ambiguous_ticket"


class PayloadError(ServiceError):
    """A webhook body that is valid JSON but not the provider's documented shape."""

    status_code = 422
    code = "invalid_payload"


class MalformedJSONError(ServiceError):
    status_code = 400
    code = "malformed_json"
    #: the message of every body that is not JSON (bad syntax or encoding, integers over Python's digit limit)
    MESSAGE = "body: not valid JSON"


class JSONTooDeepError(ServiceError):
    """A body nesting deeper than ``MAX_JSON_DEPTH``; refused before any parser recurses into it."""

    status_code = 400
    code = "json_too_deep"


class UnsupportedMediaTypeError(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class LimitError(ServiceError):
    """A message or batch over the configured limits."""

    status_code = 422
    code = "limit_exceeded"


class BodyTooLargeError(ServiceError):
    status_code = 413
    code = "body_too_large"


class OverloadedError(ServiceError):
    """The inference queue is full; the client should retry after ``retry_after`` seconds."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int, status_code: int = 503) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
        self.status_code = status_code  # 429 for a sender that retries only that (Intercom)


class NotReadyError(ServiceError):
    status_code = 503
    code = "not_ready"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": current_request_id()}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   details: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status_code, headers=headers)


_LOC_NOISE = frozenset({"body", "single", "batch"})


def _trim(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")).removeprefix("Value error, "),
             "type": str(e.get("type", ""))} for e in errors]


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status_code >= 500:
        logger.warning("%s: %s", exc.code, exc.message)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, MalformedJSONError.code, MalformedJSONError.MESSAGE)
    details = _trim(errors)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    # drop "body" and the union tags ("single"/"batch") so the message names the field the client sent
    where = ".".join(p for p in first["loc"] if p not in _LOC_NOISE) or "body"
    return error_response(422, "validation_error", f"{where}: {first['msg']}", details=details)


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "invalid_input", str(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI raises 400 only when the body fails to parse as JSON
        return error_response(400, MalformedJSONError.code, MalformedJSONError.MESSAGE)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: BodyTooLargeError.code,
             415: UnsupportedMediaTypeError.code}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                          headers=dict(exc.headers or {}))


def internal_error_response() -> JSONResponse:
    """The answer to a bug (never to bad input): nothing about it but the request id to look up in the log.

    ``RequestContextMiddleware`` sends it, inside the request's context, after logging the exception.
    """
    return error_response(500, "internal_error", "internal error; see the server log for this request id")


def install_error_handlers(app: FastAPI) -> None:
    """Handlers of the errors we raise on purpose; anything else ends in ``RequestContextMiddleware``."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(StarletteHTTPException, _http_error)
