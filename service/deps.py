"""Dependencies handed to routes through ``Annotated`` aliases; each reads what the app's lifespan
put on ``app.state``, so no ``dependency_overrides`` are needed (FastAPI rebuilds every sub-dependency's
signature on every request while any override is set).

The per-request ones are ``async def``: FastAPI runs a plain ``def`` dependency in its thread
pool, a thread hop per dependency per request, for work that takes microseconds.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from ticketguard.models.classifier import Classifier
from ticketguard.models.langdetect import LanguageDetector
from ticketguard.service.batching import MicroBatcher
from ticketguard.service.errors import AuthenticationError, NotReadyError, UnsupportedMediaTypeError
from ticketguard.service.metrics import Metrics
from ticketguard.service.settings import Settings
from ticketguard.service.workers import InboxWorker


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise NotReadyError(f"the service is still starting ({name} not ready)")
    return value


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return _state(request, "settings")


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_classifier(request: Request) -> Classifier:
    return _state(request, "classifier")


async def get_batcher(request: Request) -> MicroBatcher:
    return _state(request, "batcher")


async def get_inbox_worker(request: Request) -> InboxWorker:
    return _state(request, "inbox_worker")


async def get_ack_session_factory(request: Request) -> sessionmaker[Session]:
    """Sessions of the webhook route's own connection pool (its inserts never wait for the workers' connections)."""
    return _state(request, "ack_session_factory")


async def get_language_detector(request: Request) -> LanguageDetector:
    return _state(request, "language_detector")


async def get_metrics(request: Request) -> Metrics:
    return _state(request, "metrics")


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    return _state(request, "session_factory")


def get_session(factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]) -> Iterator[Session]:
    with factory() as session:
        yield session


ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
SessionDep = Annotated[Session, Depends(get_session)]
InboxWorkerDep = Annotated[InboxWorker, Depends(get_inbox_worker)]
LanguageDetectorDep = Annotated[LanguageDetector, Depends(get_language_detector)]
AckSessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_ack_session_factory)]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="one of TICKETGUARD_API_KEYS")


async def require_api_key(settings: SettingsDep, key: Annotated[str | None, Depends(_api_key_header)]) -> None:
    """Accept the request when ``X-API-Key`` matches a configured key (constant-time)."""
    if settings.auth_disabled:
        return
    if not settings.api_keys:
        raise AuthenticationError("no API keys are configured on this server (set TICKETGUARD_API_KEYS)")
    if not key:
        raise AuthenticationError("missing X-API-Key header", headers={"WWW-Authenticate": "APIKey"})
    given = key.encode("utf-8", errors="replace")
    # compare against every key so the time taken does not reveal which one nearly matched
    matched = [hmac.compare_digest(given, k.get_secret_value().encode("utf-8")) for k in settings.api_keys]
    if not any(matched):
        raise AuthenticationError("invalid API key", headers={"WWW-Authenticate": "APIKey"})


ApiKeyDep = Depends(require_api_key)


JSON_MEDIA_TYPE = "application/json"


async def require_json_body(request: Request) -> None:
    """Refuse a body that is not declared as JSON (``application/json`` or ``application/*+json``),
    the way FastAPI decides whether to parse it, with a message naming the expected type."""
    declared = request.headers.get("content-type")
    if not declared:
        raise UnsupportedMediaTypeError(f"Content-Type header is missing; send the body as {JSON_MEDIA_TYPE}")
    media_type = declared.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    if main != "application" or not (sub == "json" or sub.endswith("+json")):
        raise UnsupportedMediaTypeError(f"Content-Type is {media_type[:100]!r}; send the body as {JSON_MEDIA_TYPE}")


JsonBodyDep = Depends(require_json_body)
