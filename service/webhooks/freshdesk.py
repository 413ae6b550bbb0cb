"""Freshdesk automation-rule webhooks ("Trigger webhook" action).

Freshdesk signs nothing, so the rule sends a shared secret in a custom header (default
``X-TicketGuard-Secret``, setting ``freshdesk_secret_header``), compared in constant time. There is
no timestamp: replays are absorbed by idempotency (a stored message is returned, not re-written).

The JSON body is the one the admin writes into the rule, from Freshdesk placeholders, wrapped
(``{"freshdesk_webhook": {...}}``) or bare. Freshdesk's placeholders give the latest public comment's
text but neither its id nor its author, so the rules say who wrote it and which update it is:

- rule on ticket creation::

    {"ticket_id": "{{ticket.id}}", "ticket_subject": "{{ticket.subject}}",
     "ticket_description": "{{ticket.description}}"}

- rule on ticket update, event "Reply is sent", condition "Performed by: Requester"::

    {"ticket_id": "{{ticket.id}}", "ticket_latest_public_comment": "{{ticket.latest_public_comment}}",
     "performed_by": "requester", "update_id": "<the update's id or timestamp>"}

  ``update_id`` (or ``comment_id``: the conversation id, when the sender knows it) keys the comment,
  so two identical replies ("??") are two messages and a retry of one delivery is one; a comment
  without either is refused (422: the rule is misconfigured). ``performed_by`` other than the
  requester (or a contact) means an agent's text, which is ignored.

- rule on ticket update, event "TicketGuard label is updated", condition "Performed by: Agent"::

    {"ticket_id": "{{ticket.id}}", "ticketguard_label": "{{ticket.cf_ticketguard_label}}",
     "performed_by": "agent"}

  an agent's correction of TicketGuard's drop-down field (see :mod:`service.corrections`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from ticketguard.service.errors import PayloadError, SignatureError
from ticketguard.service.webhooks.base import (
    Correction,
    Delivery,
    Ignored,
    Parsed,
    PayloadPart,
    WebhookEvent,
    html_to_text,
    model,
    require_header,
    same,
)
from ticketguard.service.writeback.base import label_of_value

#: ``performed_by`` values that mean the customer wrote the comment
CUSTOMERS = frozenset({"requester", "customer", "contact"})


class _Ticket(PayloadPart):
    ticket_id: str
    ticket_subject: str | None = None
    ticket_description: str | None = None
    ticket_latest_public_comment: str | None = None
    ticket_language: str | None = None
    comment_id: str | None = Field(default=None, max_length=128)
    update_id: str | None = Field(default=None, max_length=128)
    performed_by: str | None = None
    ticketguard_label: str | None = None


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
        ticket_id = ticket.ticket_id
        if ticket.ticketguard_label is not None:
            label = label_of_value(ticket.ticketguard_label)
            if label is None:
                return Ignored(f"freshdesk field value {ticket.ticketguard_label!r} is not a TicketGuard label")
            return Correction(ticket_id=ticket_id, label=label)
        lang = ticket.ticket_language or None
        comment = html_to_text(ticket.ticket_latest_public_comment or "")
        if comment:
            by = (ticket.performed_by or "").strip().lower()
            if by and by not in CUSTOMERS:
                return Ignored(f"comment performed by {by!r}, not the requester")
            if ticket.comment_id:
                key = f"ticket:{ticket_id}:comment:{ticket.comment_id}"
            elif ticket.update_id:
                key = f"ticket:{ticket_id}:update:{ticket.update_id}"
            else:
                raise PayloadError("not a freshdesk payload: a ticket_latest_public_comment needs comment_id or "
                                   "update_id (see the rule body in the README)")
            return Delivery((WebhookEvent(external_id=key, text=comment, lang=lang, ticket_id=ticket_id),))
        text = html_to_text(ticket.ticket_description or "") or (ticket.ticket_subject or "")
        return Delivery((WebhookEvent(external_id=f"ticket:{ticket_id}", text=text, lang=lang, ticket_id=ticket_id),))
