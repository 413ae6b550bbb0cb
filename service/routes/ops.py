"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ticketguard.service.db import check_database
from ticketguard.service.errors import NotReadyError
from ticketguard.service.openapi import error_responses
from ticketguard.service.schemas import Health, PrecisionOut

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, responses=error_responses(500))
def healthz() -> Health:
    """The process is alive (it says nothing about the model or the database)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health,
            responses={**error_responses(500), 503: {"model": Health, "description": "model, batcher or database not ready"}})
async def readyz(request: Request) -> Health | JSONResponse:
    """Ready when the model is loaded, the micro-batcher runs and the database answers; ``precision`` says
    which mode the model runs in and whether it passed the model's quality guard."""
    state = request.app.state
    classifier = getattr(state, "classifier", None)
    batcher = getattr(state, "batcher", None)
    checks = {"model": "ok" if classifier is not None else "not loaded",
              "batcher": "ok" if batcher is not None and batcher.running else "not running"}
    engine = getattr(state, "engine", None)
    if engine is None:
        checks["database"] = "not connected"
    else:
        try:
            await run_in_threadpool(check_database, engine)
            checks["database"] = "ok"
        except NotReadyError as err:
            checks["database"] = err.message
    precision = None
    if classifier is not None:
        choice = classifier.precision
        precision = PrecisionOut(mode=choice.mode, forced=choice.forced, guard=choice.guard)
    health = Health(status="ready" if all(v == "ok" for v in checks.values()) else "not ready",
                    model_version=classifier.model_version if classifier is not None else None, precision=precision,
                    checks=checks)
    if health.status != "ready":
        return JSONResponse(health.model_dump(), status_code=503)
    return health


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **error_responses(500)})
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics."""
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
