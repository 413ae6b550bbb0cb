"""The FastAPI application: ``create_app`` builds it; the lifespan loads the model and the database.

Nothing heavy happens at import or in ``create_app``: the classifier, the micro-batcher, the
database engines and the inbox and outbox workers are created when the app starts and handed to
routes through dependencies.

Run it with ``ticketguard serve`` or ``uvicorn --factory service.app:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ticketguard import __version__
from ticketguard.models.classifier import Classifier
from ticketguard.models.explain import Explainer
from ticketguard.models.hardware import serving_threads
from ticketguard.models.langdetect import LanguageDetector
from ticketguard.service.batching import MicroBatcher
from ticketguard.service.db import make_engine, make_session_factory, upgrade_database
from ticketguard.service.errors import install_error_handlers
from ticketguard.service.log import configure_logging
from ticketguard.service.metrics import Metrics
from ticketguard.service.middleware import BodyGuardMiddleware, RequestContextMiddleware
from ticketguard.service.openapi import install_openapi
from ticketguard.service.routes import classify, messages, ops, tickets, webhooks
from ticketguard.service.settings import Settings, get_settings
from ticketguard.service.workers import InboxWorker, OutboxWorker

logger = logging.getLogger(__name__)

@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    metrics: Metrics = app.state.metrics
    engine = make_engine(settings.database_url)
    ack_engine = make_engine(settings.database_url)  # the webhook route's own pool: acks never wait for workers
    batcher: MicroBatcher | None = None
    inbox_worker: InboxWorker | None = None
    outbox_worker: OutboxWorker | None = None
    try:
        if settings.migrate_on_start:
            await run_in_threadpool(upgrade_database, engine)
        classifier: Classifier = app.state.preloaded_classifier or await run_in_threadpool(
            Classifier.load, settings.resolved_model_path, batch_size=settings.batch_size,
            threads=settings.threads or serving_threads(),
            device=settings.device, precision=settings.precision)
        batcher = MicroBatcher(classifier.encode, classifier.predict_encoded, max_batch_size=settings.microbatch_max_size,
                               max_batch_tokens=settings.microbatch_max_tokens,
                               max_wait_ms=settings.microbatch_max_wait_ms, queue_size=settings.microbatch_queue_size,
                               enabled=settings.microbatch_enabled, retry_after=settings.retry_after_seconds,
                               metrics=metrics)
        await batcher.start()
        metrics.set_model(classifier.model_version)
        await run_in_threadpool(app.state.language_detector.warm)  # loading later would stall the event loop
        session_factory = make_session_factory(engine)
        outbox_worker = OutboxWorker(session_factory=session_factory, settings=settings,
                                     client=app.state.writeback_client)
        inbox_worker = InboxWorker(session_factory=session_factory, batcher=batcher, settings=settings,
                                   metrics=metrics, model_version=classifier.model_version,
                                   detector=app.state.language_detector,
                                   explainer=Explainer(classifier) if settings.explain_webhooks else None,
                                   on_written=outbox_worker.wake)
        if settings.outbox_worker_enabled:
            await outbox_worker.start()
        if settings.inbox_worker_enabled:
            await inbox_worker.start()  # picks up whatever an earlier run acknowledged and did not finish
        app.state.engine = engine
        app.state.session_factory = session_factory
        app.state.ack_session_factory = make_session_factory(ack_engine)
        app.state.classifier = classifier
        app.state.batcher = batcher
        app.state.inbox_worker = inbox_worker
        app.state.outbox_worker = outbox_worker
        if not settings.api_keys and not settings.auth_disabled:
            logger.warning("no API keys configured: /v1/classify and /v1/messages refuse every request "
                           "(set TICKETGUARD_API_KEYS, or TICKETGUARD_AUTH_DISABLED=true for local use)")
        logger.info("ready", extra={"model_version": classifier.model_version,
                                    "precision": classifier.precision.describe(),
                                    "microbatch": settings.microbatch_enabled,
                                    "database": engine.url.render_as_string(hide_password=True)})
        yield
    finally:
        for name in ("classifier", "batcher", "session_factory", "ack_session_factory", "engine", "inbox_worker",
                     "outbox_worker"):
            setattr(app.state, name, None)
        if inbox_worker is not None:
            await inbox_worker.stop()
        if outbox_worker is not None:
            await outbox_worker.stop()
        if batcher is not None:
            await batcher.stop()
        engine.dispose()
        ack_engine.dispose()


def create_app(settings: Settings | None = None, *, classifier: Classifier | None = None,
               writeback_client: httpx.AsyncClient | None = None) -> FastAPI:
    """Build the app.

    Args:
        settings: defaults to :func:`get_settings` (environment and ``.env``).
        classifier: an already loaded model (tests share one); default: load ``settings.resolved_model_path``
            at startup.
        writeback_client: the HTTP client of the helpdesk write-back (default: one with
            ``outbox_timeout_seconds``); the app closes it when it stops.

    Example:
        >>> app = create_app(Settings(model_path="artifacts/default", api_keys="..."))
        >>> with TestClient(app) as client: client.get("/readyz").json()["status"]
        'ready'
    """
    settings = settings or get_settings()
    app = FastAPI(title="TicketGuard", version=__version__, lifespan=lifespan,
                  description="Classify customer-support messages as threat, abuse, manipulation, complaint or "
                              "neutral; receive helpdesk webhooks; store results and agent feedback.")
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.preloaded_classifier = classifier

    app.state.writeback_client = writeback_client
    app.state.language_detector = LanguageDetector()
    install_error_handlers(app)
    install_openapi(app, settings)
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)  # added last = outermost
    for module in (ops, classify, webhooks, messages, tickets):
        app.include_router(module.router)
    return app


def create_worker_app() -> FastAPI:
    """The app of one ``ticketguard serve --workers N`` process: it starts fresh, so it reads its settings
    from the environment (where the command put what it resolved) and sets up logging as the command did."""
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    return create_app(settings)
