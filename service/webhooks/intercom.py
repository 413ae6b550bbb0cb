"""Intercom webhooks (``conversation.user.created``, ``conversation.user.replied``, ``conversation_part.tag.created``).

Signature (developers.intercom.com, "Signed notifications"): ``X-Hub-Signature`` is
``sha1=`` + hex ``HMAC-SHA1(client_secret, body)``. Intercom sends no signed timestamp, so replays
are bounded with the payload's own timestamps: a notification whose ``created_at`` is more than the
replay window (``webhook_tolerance_seconds``) away from the server clock is ignored, and each part carries its ``created_at``
(stored as the message's ``sent_at``), so the inbox refuses a part older than the conversation's
newest stored part by more than that window (:func:`service.inbox.enqueue`). A part already stored
is a duplicate (the stored result is returned, nothing new is written).

Intercom has no webhook topic for a change of a conversation's custom attributes, so agents correct
TicketGuard's label by tagging the conversation with the label's tag (``tag_ids`` of the write-back,
or a tag named ``ticketguard_<label>``): ``conversation_part.tag.created`` carries it in
``data.item.tags_added.tags``, and becomes a :class:`Correction` (the most severe label tagged).

Payload::

    {"type": "notification_event", "topic": "conversation.user.replied", "id": "notif_...",
     "data": {"type": "notification_event_data", "item": {"type": "conversation", "id": "123",
        "source": {"id": "456", "body": "<p>...</p>", "author": {"type": "user"}},
        "conversation_parts": {"conversation_parts": [
            {"id": "789", "part_type": "comment", "body": "<p>...</p>", "author": {"type": "user"}}]}}}}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from ticketguard.models.labels import Label, most_severe
from ticketguard.service.errors import SignatureError
from ticketguard.service.webhooks.base import (
    Correction,
    Delivery,
    Ignored,
    Parsed,
    PayloadPart,
    WebhookEvent,
    hmac_digest,
    html_to_text,
    model,
    require_header,
    same,
)
from ticketguard.service.writeback.base import label_of_value

SIGNATURE = "X-Hub-Signature"
CUSTOMER_AUTHORS = frozenset({"user", "lead", "contact"})
TOPICS = ("conversation.user.created", "conversation.user.replied")
TAGGED = "conversation_part.tag.created"


class _Author(PayloadPart):
    type: str = ""
    id: str | None = None


class _Part(PayloadPart):
    id: str
    part_type: str = "comment"
    body: str | None = None
    author: _Author = _Author()
    created_at: float | None = None


class _Parts(PayloadPart):
    conversation_parts: list[_Part] = Field(default_factory=list)


class _Source(PayloadPart):
    id: str
    body: str | None = None
    author: _Author = _Author()


class _Tag(PayloadPart):
    id: str = ""
    name: str = ""


class _Tags(PayloadPart):
    tags: list[_Tag] = Field(default_factory=list)


class _Conversation(PayloadPart):
    id: str
    created_at: float | None = None
    source: _Source | None = None
    conversation_parts: _Parts = _Parts()
    tags_added: _Tags = _Tags()


class _Data(PayloadPart):
    item: _Conversation


class _Notification(PayloadPart):
    topic: str
    app_id: str = ""
    created_at: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Intercom:
    name = "intercom"

    def __init__(self, *, tag_ids: Mapping[str, str] | None = None, tolerance: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        """``tag_ids``: the write-back's Intercom tag id of each label; ``tolerance``: the replay window."""
        self.tag_labels = {tag_id: Label(label).value for label, tag_id in (tag_ids or {}).items()}
        self.tolerance = tolerance
        self.clock = clock

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        signature = require_header(headers, SIGNATURE).strip()
        if not signature.startswith("sha1="):
            raise SignatureError(f"{SIGNATURE} must look like sha1=<hex>")
        expected = "sha1=" + hmac_digest(secret, body, "sha1").hex()
        if not same(expected, signature.lower()):
            raise SignatureError(f"{SIGNATURE} does not match the body")

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        notification = model(_Notification, payload, self.name)
        if notification.topic not in (*TOPICS, TAGGED):
            return Ignored(f"intercom topic {notification.topic!r} carries no new customer message")
        # "not <=": a NaN timestamp is stale too
        if notification.created_at is not None and not abs(self.clock() - notification.created_at) <= self.tolerance:
            return Ignored(f"intercom notification created more than {self.tolerance:g}s away from the server "
                           "clock (stale or replayed)")
        conversation = model(_Data, notification.data, self.name).item
        if notification.topic == TAGGED:
            return self._correction(conversation, notification.app_id)
        if notification.topic == "conversation.user.created":
            if conversation.source is None or not conversation.source.body:
                return Ignored("conversation has no opening message")
            source = conversation.source
            event = WebhookEvent(external_id=f"conversation:{conversation.id}:source:{source.id}",
                                 text=html_to_text(source.body or ""), ticket_id=conversation.id,
                                 sent_at=conversation.created_at)
            return Delivery((event,), account=notification.app_id)
        parts = [p for p in conversation.conversation_parts.conversation_parts
                 if p.author.type in CUSTOMER_AUTHORS and p.body]
        if not parts:
            return Ignored("no customer-written part in this reply")
        # every customer part of the delivery (a customer may send several before the webhook fires)
        return Delivery(tuple(WebhookEvent(external_id=f"conversation:{conversation.id}:part:{part.id}",
                                           text=html_to_text(part.body or ""), ticket_id=conversation.id,
                                           sent_at=part.created_at)
                              for part in parts), account=notification.app_id)

    def _correction(self, conversation: _Conversation, account: str) -> Correction | Ignored:
        labels = [label for tag in conversation.tags_added.tags
                  if (label := self.tag_labels.get(tag.id) or label_of_value(tag.name)) is not None]
        if not labels:
            return Ignored("no TicketGuard label tag was added")
        admins = [p.author.id for p in conversation.conversation_parts.conversation_parts
                  if p.author.type == "admin" and p.author.id]
        return Correction(ticket_id=conversation.id, label=most_severe(labels), account=account,
                          agent=f"intercom:{admins[-1]}" if admins else None)
