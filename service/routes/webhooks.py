"""``POST /v1/webhooks/{provider}``: verify, store in the inbox, answer at once; the inbox worker classifies."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ticketguard.models.text import unclassifiable_reason
from ticketguard.service import corrections, inbox, repository
from ticketguard.service.deps import AckSessionFactoryDep, InboxWorkerDep, SettingsDep
from ticketguard.service.errors import OverloadedError, ProviderDisabledError
from ticketguard.service.openapi import error_responses
from ticketguard.service.routes.messages import to_out
from ticketguard.service.schemas import CorrectionIn, MessageOut, TicketIn, WebhookOut
from ticketguard.service.validation import remove_nul
from ticketguard.service.webhooks import PROVIDERS, Challenge, Correction, Delivery, Ignored, get_provider
from ticketguard.service.webhooks.base import load_json

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


# the enum documents the providers; an unknown one is answered by get_provider (404, naming the known ones)
ProviderPath = Annotated[str, Path(description="the helpdesk", json_schema_extra={"enum": list(PROVIDERS)})]
_WAIT = re.compile(r"^(?P<value>[0-9]{1,5}(?:\.[0-9]{1,3})?)(?P<unit>ms|s)?$")
WaitQuery = Annotated[str | None, Query(pattern=_WAIT.pattern, description="generic provider only: wait up to this "
                                        "long (e.g. 2s, 500ms) for the classification, else answer accepted")]


def wait_seconds(value: str | None, ceiling: float) -> float:
    """``?wait=`` in seconds, capped at ``ceiling`` (0 when absent)."""
    match = _WAIT.match(value or "")
    if match is None:
        return 0.0
    seconds = float(match["value"]) / (1000 if match["unit"] == "ms" else 1)
    return min(seconds, ceiling)


def _items(provider: str, delivery: Delivery, max_chars: int) -> list[inbox.NewItem]:
    """The classifiable messages of a delivery; an over-long text keeps its start and is marked truncated.

    Raises:
        RequestValidationError: an id or language tag the database cannot store (422).
    """
    items = []
    for event in delivery.events:
        text = remove_nul(event.text)
        if unclassifiable_reason(text) is not None:
            continue
        truncated = len(text) > max_chars
        text = text[:max_chars] if truncated else text
        key = delivery.key(event)
        try:
            ticket = TicketIn(text=text, id=key, lang=event.lang)
        except ValidationError as err:
            raise RequestValidationError(err.errors()) from err
        items.append(inbox.NewItem(provider=provider, account=delivery.account, external_id=key, text=ticket.text,
                                   truncated=truncated, lang=ticket.lang, ticket_id=event.ticket_id,
                                   sent_at=_utc(event.sent_at)))
    return items


def _utc(seconds: float | None) -> datetime | None:
    """Unix seconds from a payload as a datetime (``None`` when absent, not finite or out of range)."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _without_text(out: MessageOut) -> MessageOut:
    return out.model_copy(update={"text": None})


@router.post("/{provider}", response_model=WebhookOut,
             responses=error_responses(400, 401, 404, 413, 422, 429, 500, 503,
                                       not_found="unknown provider, or one not configured on this server"))
async def receive_webhook(provider: ProviderPath, request: Request, settings: SettingsDep, worker: InboxWorkerDep,
                          sessions: AckSessionFactoryDep, wait: WaitQuery = None) -> WebhookOut | JSONResponse:
    """Accept a delivery from zendesk, intercom, freshdesk, front or generic: stored, then answered ``accepted``.

    A retry of a delivery already classified gets ``classified`` with the stored result (never the text).
    An agent's change of TicketGuard's field or tag in the helpdesk is ``recorded`` as feedback.
    """
    adapter, secret = get_provider(provider, settings)
    if secret is None:
        raise ProviderDisabledError(f"webhook provider {provider!r} is not configured on this server")
    body = await request.body()
    adapter.verify(headers=request.headers, body=body, secret=secret, now=time.time(),
                   tolerance=settings.webhook_tolerance_seconds)
    payload = load_json(body)
    parsed = adapter.parse(payload, request.headers)
    if isinstance(parsed, Challenge):
        return JSONResponse({"challenge": parsed.value}, headers={"X-Front-Challenge": parsed.value})
    if isinstance(parsed, Ignored):
        return WebhookOut(status="ignored", reason=parsed.reason)
    if isinstance(parsed, Correction):
        correction = _checked(parsed)
        outcome = await run_in_threadpool(lambda: _correct(sessions, provider, correction))
        if outcome.feedback_id is None:
            return WebhookOut(status="ignored", reason=outcome.reason)
        return WebhookOut(status="recorded", feedback_id=outcome.feedback_id)
    items = _items(provider, parsed, settings.max_text_chars)
    if not items:
        return WebhookOut(status="ignored", reason="no text to classify (empty, markup or attachments only)")
    if worker.backlog >= settings.inbox_max_pending:
        # each helpdesk retries the status it expects: 429 for Intercom, 503 with Retry-After elsewhere
        raise OverloadedError(f"{worker.backlog} messages wait for classification; retry later",
                              retry_after=settings.retry_after_seconds, status_code=PROVIDERS[provider].overload_status)
    stored = await run_in_threadpool(lambda: _enqueue(sessions, items, payload, settings.webhook_tolerance_seconds))
    if not stored:
        return WebhookOut(status="ignored", reason="replayed: older than the conversation's newest stored message")
    created = sum(s.created for s in stored)
    worker.added(created)
    worker.wake()
    ids = [s.id for s in stored]
    truncated = any(item.truncated for item in items)
    duplicate = created == 0
    seconds = wait_seconds(wait, settings.webhook_max_wait_seconds) if provider == "generic" else 0.0
    finished = all(s.status != inbox.PENDING for s in stored)
    if not finished and seconds > 0:
        await worker.wait_for([s.id for s in stored if s.status == inbox.PENDING], seconds)
        finished = True  # or another replica finished it: the read below tells
    if finished:
        message = await run_in_threadpool(lambda: _last_message(sessions, ids))
        if message is not None:
            return WebhookOut(status="classified", duplicate=duplicate, inbox_ids=ids, truncated=truncated,
                              message=_without_text(message))
    return WebhookOut(status="accepted", duplicate=duplicate, inbox_ids=ids, truncated=truncated)


def _checked(correction: Correction) -> CorrectionIn:
    """``correction`` if the database can store it.

    Raises:
        RequestValidationError: an id or agent name too long, or with a NUL (422).
    """
    try:
        return CorrectionIn.model_validate(dataclasses.asdict(correction))
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from err


def _correct(sessions: AckSessionFactoryDep, provider: str, correction: CorrectionIn) -> corrections.Outcome:
    with sessions() as session:
        return corrections.record_correction(session=session, provider=provider, account=correction.account,
                                             ticket_id=correction.ticket_id, label=correction.label,
                                             agent=correction.agent)


def _enqueue(sessions: AckSessionFactoryDep, items: list[inbox.NewItem], payload: object,
             replay_window: float) -> list[inbox.Stored]:
    with sessions() as session:
        return inbox.enqueue(session=session, items=items, payload=payload, replay_window=replay_window)


def _last_message(sessions: AckSessionFactoryDep, ids: list[int]) -> MessageOut | None:
    with sessions() as session:
        rows = inbox.get_items(session=session, ids=ids)
        message_ids = [row.message_id for row in rows if row.message_id is not None]
        if not message_ids:
            return None
        return to_out(repository.get_message(session=session, message_id=message_ids[-1]))
