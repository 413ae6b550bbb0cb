"""Zendesk event webhooks (``ticket.created``, ``ticket.comment_added``, ``ticket.custom_field_changed``).

Signature (developer.zendesk.com/documentation/webhooks/verifying): the
``X-Zendesk-Webhook-Signature`` header is ``base64(HMAC-SHA256(secret, timestamp + body))`` with
the ISO 8601 ``X-Zendesk-Webhook-Signature-Timestamp``; the timestamp bounds replays.

Payload (developer.zendesk.com/api-reference/webhooks/event-types/ticket-events)::

    {"type": "zen:event-type:ticket.comment_added", "id": "<event uuid>", "subject": "zen:ticket:5158",
     "detail": {"id": "5158", "subject": "...", "description": "...", ...},
     "event": {"comment": {"id": "10001", "body": "...", "is_public": true,
                           "author": {"id": "...", "is_staff": false, "name": "..."}}}}

A new ticket's description is also its first comment: ``ticket.created`` and the
``comment_added`` whose body is the description share the key ``ticket:<id>:description``, so
they store one message. Keys are per ``account_id``.

An agent's change of TicketGuard's label field (``label_field_id`` of the write-back) arrives as
``zen:event-type:ticket.custom_field_changed``::

    {"type": "zen:event-type:ticket.custom_field_changed", "account_id": 22129848, "subject": "zen:ticket:5158",
     "detail": {"id": "5158", "actor_id": "8447388090494", ...},
     "event": {"custom_field": {"id": 360001, "title": "TicketGuard", "type": "tagger"},
               "current": "ticketguard_abuse", "previous": "ticketguard_threat"}}

``current`` (a drop-down's option tag; an object ``{"value": ...}`` is read too) becomes a
:class:`Correction`; other fields, cleared values and values that name no label are ignored.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from ticketguard.service.errors import PayloadError, SignatureError
from ticketguard.service.webhooks.base import (
    Correction,
    Delivery,
    Ignored,
    Parsed,
    PayloadPart,
    WebhookEvent,
    check_fresh,
    hmac_digest,
    html_to_text,
    iso_seconds,
    model,
    require_header,
    same,
)
from ticketguard.service.writeback.base import label_of_value

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
CREATED = "zen:event-type:ticket.created"
COMMENT_ADDED = "zen:event-type:ticket.comment_added"
FIELD_CHANGED = "zen:event-type:ticket.custom_field_changed"


class _Author(PayloadPart):
    id: str | None = None
    is_staff: bool = False


class _Comment(PayloadPart):
    id: str
    body: str
    is_public: bool = True
    author: _Author = _Author()


class _CommentEvent(PayloadPart):
    comment: _Comment


class _Field(PayloadPart):
    id: str


class _FieldChange(PayloadPart):
    custom_field: _Field
    current: Any = None


class _Ticket(PayloadPart):
    id: str
    actor_id: str | None = None
    subject: str | None = None
    description: str | None = None


class _Envelope(PayloadPart):
    type: str
    account_id: str = ""
    detail: _Ticket | None = None
    event: dict[str, Any] | None = None


class Zendesk:
    name = "zendesk"

    def __init__(self, label_field_id: int | None = None) -> None:
        #: TicketGuard's label field (from the write-back settings); ``None``: no field to correct
        self.label_field_id = label_field_id

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        signature = require_header(headers, SIGNATURE)
        timestamp = require_header(headers, TIMESTAMP)
        expected = base64.b64encode(hmac_digest(secret, timestamp.encode("utf-8") + body, "sha256"))
        if not same(expected, signature.strip()):
            raise SignatureError(f"{SIGNATURE} does not match the body")
        check_fresh(iso_seconds(timestamp, header=TIMESTAMP), now=now, tolerance=tolerance, header=TIMESTAMP)

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        envelope = model(_Envelope, payload, self.name)
        if envelope.type == FIELD_CHANGED:
            return self._correction(envelope)
        if envelope.type not in (CREATED, COMMENT_ADDED):
            return Ignored(f"zendesk event {envelope.type!r} carries no new customer message")
        if envelope.detail is None:
            raise PayloadError("not a zendesk payload: detail: Field required")
        ticket = envelope.detail
        description = html_to_text(ticket.description or "")
        if envelope.type == CREATED:
            event = WebhookEvent(external_id=f"ticket:{ticket.id}:description",
                                 text=description or html_to_text(ticket.subject or ""), ticket_id=ticket.id)
            return Delivery((event,), account=envelope.account_id)
        comment = model(_CommentEvent, envelope.event or {}, self.name).comment
        if comment.author.is_staff:
            return Ignored("comment written by an agent")
        text = html_to_text(comment.body)
        key = "description" if description and text == description else f"comment:{comment.id}"
        return Delivery((WebhookEvent(external_id=f"ticket:{ticket.id}:{key}", text=text, ticket_id=ticket.id),),
                        account=envelope.account_id)


    def _correction(self, envelope: _Envelope) -> Correction | Ignored:
        if envelope.detail is None:
            raise PayloadError("not a zendesk payload: detail: Field required")
        change = model(_FieldChange, envelope.event or {}, self.name)
        if self.label_field_id is None or change.custom_field.id != str(self.label_field_id):
            return Ignored(f"zendesk field {change.custom_field.id} is not TicketGuard's label field")
        value = change.current.get("value") if isinstance(change.current, dict) else change.current
        label = label_of_value(value) if isinstance(value, str) else None
        if label is None:
            return Ignored(f"zendesk field value {value!r} is not a TicketGuard label")
        actor = envelope.detail.actor_id
        return Correction(ticket_id=envelope.detail.id, label=label, account=envelope.account_id,
                          agent=f"zendesk:{actor}" if actor else None)
