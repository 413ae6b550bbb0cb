"""``POST /v1/webhooks/{provider}``: verify, classify, store, and answer with the classification."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ticketguard.models.explain import Explainer
from ticketguard.service.classify import enforce_limits, ingest
from ticketguard.service.deps import BatcherDep, ClassifierDep, MetricsDep, SessionFactoryDep, SettingsDep
from ticketguard.service.errors import ProviderDisabledError
from ticketguard.service.openapi import error_responses
from ticketguard.service.routes.messages import to_out
from ticketguard.service.schemas import TicketIn, WebhookOut
from ticketguard.service.webhooks import PROVIDERS, Challenge, Ignored, get_provider
from ticketguard.service.webhooks.base import load_json

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


# the enum documents the providers; an unknown one is answered by get_provider (404, naming the known ones)
ProviderPath = Annotated[str, Path(description="the helpdesk", json_schema_extra={"enum": list(PROVIDERS)})]


@router.post("/{provider}", response_model=WebhookOut,
             responses=error_responses(400, 401, 404, 413, 422, 500, 503,
                                       not_found="unknown provider, or one not configured on this server"))
async def receive_webhook(provider: ProviderPath, request: Request, settings: SettingsDep, batcher: BatcherDep,
                          metrics: MetricsDep, classifier: ClassifierDep,
                          session_factory: SessionFactoryDep) -> WebhookOut | JSONResponse:
    """Accept a delivery from zendesk, intercom, freshdesk, front or generic; a retry gets the stored result."""
    adapter, secret = get_provider(provider, settings)
    if secret is None:
        raise ProviderDisabledError(f"webhook provider {provider!r} is not configured on this server")
    body = await request.body()
    adapter.verify(headers=request.headers, body=body, secret=secret, now=time.time(),
                   tolerance=settings.webhook_tolerance_seconds)
    parsed = adapter.parse(load_json(body), request.headers)
    if isinstance(parsed, Challenge):
        return JSONResponse({"challenge": parsed.value}, headers={"X-Front-Challenge": parsed.value})
    if isinstance(parsed, Ignored):
        return WebhookOut(status="ignored", reason=parsed.reason)
    try:
        ticket = TicketIn(text=parsed.text, id=parsed.external_id, lang=parsed.lang)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from err
    enforce_limits([ticket], settings)
    result = await ingest(ticket, source=provider, external_id=parsed.external_id, batcher=batcher,
                          session_factory=session_factory, settings=settings, metrics=metrics,
                          model_version=classifier.model_version,
                          explainer=Explainer(classifier) if settings.explain_webhooks else None)
    return WebhookOut(status="classified", duplicate=result.duplicate, message=to_out(result.message))
