"""Front application webhooks (``inbound_received``) and rule webhooks (event ``inbound``).

Signature of application webhooks (dev.frontapp.com/docs/application-webhooks): ``X-Front-Signature``
is ``base64(HMAC-SHA256(app_secret, timestamp + ":" + body))`` with ``X-Front-Request-Timestamp``
in milliseconds; Front recommends refusing requests older than 5 minutes.

Rule webhooks (dev.frontapp.com/docs/webhooks-1) send no timestamp: ``X-Front-Signature`` is
``base64(HMAC-SHA1(api_secret, body))``. A delivery without ``X-Front-Request-Timestamp`` is checked
that way, with the same configured secret; deliveries are idempotent, so a replay writes nothing. The subscription
handshake (body ``{"type": "sync"}`` and an ``X-Front-Challenge`` header) is answered with
``{"challenge": <value>}`` once its signature checks out.

Payload (the event preview)::

    {"type": "inbound_received", "payload": {"id": "evt_...", "type": "inbound",
        "conversation": {"id": "cnv_..."},
        "target": {"_meta": {"type": "message"},
                   "data": {"id": "msg_...", "is_inbound": true, "text": "...", "body": "<p>...</p>"}}}}
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field

from ticketguard.service.errors import SignatureError
from ticketguard.service.webhooks.base import (
    Challenge,
    Delivery,
    Ignored,
    Parsed,
    PayloadPart,
    WebhookEvent,
    check_fresh,
    hmac_digest,
    html_to_text,
    model,
    require_header,
    same,
    unix_seconds,
)

SIGNATURE = "X-Front-Signature"
TIMESTAMP = "X-Front-Request-Timestamp"
CHALLENGE = "X-Front-Challenge"
INBOUND = frozenset({"inbound", "inbound_received"})


class _FrontPart(PayloadPart):
    model_config = ConfigDict(populate_by_name=True)


class _Message(_FrontPart):
    id: str
    is_inbound: bool = True
    text: str | None = None
    body: str | None = None


class _Meta(_FrontPart):
    type: str


class _Target(_FrontPart):
    meta: _Meta = Field(alias="_meta")
    data: dict[str, Any]


class _Conversation(_FrontPart):
    id: str


class _Event(_FrontPart):
    type: str
    conversation: _Conversation | None = None
    target: _Target | None = None


class Front:
    name = "front"

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        signature = require_header(headers, SIGNATURE)
        timestamp = headers.get(TIMESTAMP)
        if timestamp is None:  # a rule webhook
            if not same(base64.b64encode(hmac_digest(secret, body, "sha1")), signature.strip()):
                raise SignatureError(f"{SIGNATURE} does not match the body (rule webhooks: base64 HMAC-SHA1)")
            return
        expected = base64.b64encode(hmac_digest(secret, timestamp.encode("utf-8") + b":" + body, "sha256"))
        if not same(expected, signature.strip()):
            raise SignatureError(f"{SIGNATURE} does not match the body")
        check_fresh(unix_seconds(timestamp, header=TIMESTAMP, millis=True), now=now, tolerance=tolerance,
                    header=TIMESTAMP)

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        if isinstance(payload, dict) and payload.get("type") == "sync":
            challenge = headers.get(CHALLENGE)
            return Challenge(challenge) if challenge else Ignored("sync event without a challenge")
        # application webhooks wrap the event in {"type", "payload"}; rule webhooks send it bare
        event_payload = payload.get("payload", payload) if isinstance(payload, dict) else payload
        wrapper_type = payload.get("type") if isinstance(payload, dict) and "payload" in payload else None
        event = model(_Event, event_payload, self.name)
        kind = wrapper_type or event.type
        if kind not in INBOUND and event.type not in INBOUND:
            return Ignored(f"front event {kind!r} carries no new customer message")
        if event.target is None or event.target.meta.type != "message":
            return Ignored("front event has no message target")
        message = model(_Message, event.target.data, self.name)
        if not message.is_inbound:
            return Ignored("outbound message written by a teammate")
        text = message.text if message.text else html_to_text(message.body or "")
        account = payload.get("authorization", {}).get("id", "") if isinstance(payload, dict) else ""
        ticket_id = event.conversation.id if event.conversation is not None else None
        return Delivery((WebhookEvent(external_id=f"message:{message.id}", text=text, ticket_id=ticket_id),),
                        account=account if isinstance(account, str) else "")
