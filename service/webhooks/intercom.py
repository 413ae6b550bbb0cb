"""Intercom webhooks (``conversation.user.created``, ``conversation.user.replied``).

Signature (developers.intercom.com, "Signed notifications"): ``X-Hub-Signature`` is
``sha1=`` + hex ``HMAC-SHA1(client_secret, body)``. Intercom sends no signed timestamp, so a
replayed delivery cannot be told apart by its signature; it is harmless because deliveries are
idempotent (the stored result is returned, nothing new is written).

Payload::

    {"type": "notification_event", "topic": "conversation.user.replied", "id": "notif_...",
     "data": {"type": "notification_event_data", "item": {"type": "conversation", "id": "123",
        "source": {"id": "456", "body": "<p>...</p>", "author": {"type": "user"}},
        "conversation_parts": {"conversation_parts": [
            {"id": "789", "part_type": "comment", "body": "<p>...</p>", "author": {"type": "user"}}]}}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ticketguard.service.errors import SignatureError
from ticketguard.service.webhooks.base import (
    Delivery,
    Ignored,
    Parsed,
    WebhookEvent,
    hmac_digest,
    html_to_text,
    model,
    require_header,
    same,
)

SIGNATURE = "X-Hub-Signature"
CUSTOMER_AUTHORS = frozenset({"user", "lead", "contact"})
TOPICS = ("conversation.user.created", "conversation.user.replied")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class _Author(_Loose):
    type: str = ""


class _Part(_Loose):
    id: str
    part_type: str = "comment"
    body: str | None = None
    author: _Author = _Author()


class _Parts(_Loose):
    conversation_parts: list[_Part] = Field(default_factory=list)


class _Source(_Loose):
    id: str
    body: str | None = None
    author: _Author = _Author()


class _Conversation(_Loose):
    id: str
    source: _Source | None = None
    conversation_parts: _Parts = _Parts()


class _Data(_Loose):
    item: _Conversation


class _Notification(_Loose):
    topic: str
    app_id: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class Intercom:
    name = "intercom"

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        signature = require_header(headers, SIGNATURE).strip()
        if not signature.startswith("sha1="):
            raise SignatureError(f"{SIGNATURE} must look like sha1=<hex>")
        expected = "sha1=" + hmac_digest(secret, body, "sha1").hex()
        if not same(expected, signature.lower()):
            raise SignatureError(f"{SIGNATURE} does not match the body")

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        notification = model(_Notification, payload, self.name)
        if notification.topic not in TOPICS:
            return Ignored(f"intercom topic {notification.topic!r} carries no new customer message")
        conversation = model(_Data, notification.data, self.name).item
        if notification.topic == "conversation.user.created":
            if conversation.source is None or not conversation.source.body:
                return Ignored("conversation has no opening message")
            source = conversation.source
            event = WebhookEvent(external_id=f"conversation:{conversation.id}:source:{source.id}",
                                 text=html_to_text(source.body or ""), ticket_id=conversation.id)
            return Delivery((event,), account=notification.app_id)
        parts = [p for p in conversation.conversation_parts.conversation_parts
                 if p.author.type in CUSTOMER_AUTHORS and p.body]
        if not parts:
            return Ignored("no customer-written part in this reply")
        # every customer part of the delivery (a customer may send several before the webhook fires)
        return Delivery(tuple(WebhookEvent(external_id=f"conversation:{conversation.id}:part:{part.id}",
                                           text=html_to_text(part.body or ""), ticket_id=conversation.id)
                              for part in parts), account=notification.app_id)
