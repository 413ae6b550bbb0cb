"""TicketGuard's own webhook format, for helpdesks without a dedicated adapter.

Signature: ``X-TicketGuard-Signature`` is hex ``HMAC-SHA256(secret, f"{timestamp}.{body}")``
(optionally prefixed ``sha256=``) and ``X-TicketGuard-Timestamp`` is unix seconds.

Payload: ``{"id": "<your message id>", "text": "...", "lang": "en", "ticket_id": "...", "account": "..."}``
(``lang``, ``ticket_id`` and ``account`` are optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ticketguard.service.errors import SignatureError
from ticketguard.service.orm import ACCOUNT_CHARS, ID_CHARS
from ticketguard.service.webhooks.base import (
    Delivery,
    Parsed,
    WebhookEvent,
    check_fresh,
    hmac_digest,
    model,
    require_header,
    same,
    unix_seconds,
)

SIGNATURE = "X-TicketGuard-Signature"
TIMESTAMP = "X-TicketGuard-Timestamp"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1, max_length=ID_CHARS)
    text: StrictStr
    lang: StrictStr | None = None
    ticket_id: StrictStr | None = Field(default=None, min_length=1, max_length=ID_CHARS)
    account: StrictStr = Field(default="", max_length=ACCOUNT_CHARS)


class Generic:
    name = "generic"

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        signature = require_header(headers, SIGNATURE).strip().lower().removeprefix("sha256=")
        timestamp = require_header(headers, TIMESTAMP).strip()
        expected = hmac_digest(secret, timestamp.encode("utf-8") + b"." + body, "sha256").hex()
        if not same(expected, signature):
            raise SignatureError(f"{SIGNATURE} does not match the body")
        check_fresh(unix_seconds(timestamp, header=TIMESTAMP), now=now, tolerance=tolerance, header=TIMESTAMP)

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        message = model(_Message, payload, self.name)
        event = WebhookEvent(external_id=message.id, text=message.text, lang=message.lang, ticket_id=message.ticket_id)
        return Delivery((event,), account=message.account)
