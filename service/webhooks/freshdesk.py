"""Freshdesk automation-rule webhooks.

Freshdesk signs nothing, so the rule sends a shared secret in a custom header (default
``X-TicketGuard-Secret``, setting ``freshdesk_secret_header``), compared in constant time. There is
no timestamp: replays are absorbed by idempotency (a stored message is returned, not re-written).

Payload: the rule's JSON body built from placeholders, either wrapped the way Freshdesk's
"simple" content does it or bare::

    {"freshdesk_webhook": {"ticket_id": "{{ticket.id}}", "ticket_subject": "{{ticket.subject}}",
                           "ticket_description": "{{ticket.description}}",
                           "ticket_latest_public_comment": "{{ticket.latest_public_comment}}"}}

A comment, when present and not empty, is classified instead of the description; comments carry
no id placeholder, so their idempotency key is a hash of the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ticketguard.service.errors import SignatureError
from ticketguard.service.webhooks.base import (
    Delivery,
    Parsed,
    WebhookEvent,
    html_to_text,
    model,
    require_header,
    same,
    text_key,
)


class _Ticket(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    ticket_id: str
    ticket_subject: str | None = None
    ticket_description: str | None = None
    ticket_latest_public_comment: str | None = None
    ticket_language: str | None = None


class Freshdesk:
    name = "freshdesk"

    def __init__(self, header: str = "X-TicketGuard-Secret") -> None:
        self.header = header

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        if not same(secret, require_header(headers, self.header)):
            raise SignatureError(f"{self.header} does not hold the shared secret")

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        inner = payload.get("freshdesk_webhook", payload) if isinstance(payload, dict) else payload
        ticket = model(_Ticket, inner, self.name)
        comment = html_to_text(ticket.ticket_latest_public_comment or "")
        lang = ticket.ticket_language or None
        if comment:
            return Delivery((WebhookEvent(external_id=f"ticket:{ticket.ticket_id}:comment:{text_key(comment)}",
                                          text=comment, lang=lang, ticket_id=ticket.ticket_id),))
        text = html_to_text(ticket.ticket_description or "") or (ticket.ticket_subject or "")
        return Delivery((WebhookEvent(external_id=f"ticket:{ticket.ticket_id}", text=text, lang=lang,
                                      ticket_id=ticket.ticket_id),))
