"""What every webhook provider shares: the parsed event (messages, a correction, nothing), signature helpers
and HTML flattening."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ticketguard.service.errors import MalformedJSONError, PayloadError, SignatureError


@dataclass(frozen=True)
class WebhookEvent:
    """A customer message found in a delivery; ``external_id`` (unique within the account) makes retries
    idempotent, ``ticket_id`` groups it with the other messages of its ticket or conversation."""

    external_id: str
    text: str
    lang: str | None = None
    ticket_id: str | None = None
    #: when the customer sent it (unix seconds), when the payload says: bounds replays (Intercom)
    sent_at: float | None = None


@dataclass(frozen=True)
class Delivery:
    """The customer messages of one delivery, from one helpdesk account or workspace (``""``: unknown)."""

    events: tuple[WebhookEvent, ...]
    account: str = ""

    def key(self, event: WebhookEvent) -> str:
        """The stored key of ``event``: the account, then the provider's message key."""
        return f"{self.account}/{event.external_id}" if self.account else event.external_id


@dataclass(frozen=True)
class Ignored:
    """A valid delivery with nothing to classify (an agent reply, another event type, a ping)."""

    reason: str


@dataclass(frozen=True)
class Challenge:
    """A subscription handshake to answer with ``{"challenge": value}`` (Front)."""

    value: str


@dataclass(frozen=True)
class Correction:
    """An agent set TicketGuard's field (or tag) of a ticket to ``label`` in the helpdesk: feedback on the
    ticket's label, unless it is the echo of TicketGuard's own write (see :mod:`service.corrections`)."""

    ticket_id: str
    label: str
    account: str = ""
    #: who changed it, as ``<provider>:<user id>`` when the payload says
    agent: str | None = None


Parsed = Delivery | Ignored | Challenge | Correction


class Provider(Protocol):
    """One helpdesk: how it signs deliveries and where the message sits in its payload."""

    name: str

    def verify(self, *, headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: int) -> None:
        """Raise ``SignatureError`` unless the delivery is authentic and recent."""
        ...

    def parse(self, payload: Any, headers: Mapping[str, str]) -> Parsed:
        """The message of a verified delivery (``PayloadError`` when the shape is wrong)."""
        ...


def require_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def hmac_digest(secret: str, message: bytes, algorithm: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, getattr(hashlib, algorithm)).digest()


def same(expected: str | bytes, given: str | bytes) -> bool:
    """Constant-time comparison (``hmac.compare_digest``) of two ASCII strings or byte strings."""
    if isinstance(expected, str):
        expected = expected.encode("utf-8")
    if isinstance(given, str):
        given = given.encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


def check_fresh(timestamp: float, *, now: float, tolerance: int, header: str) -> None:
    """Refuse deliveries signed more than ``tolerance`` seconds away from ``now`` (replays)."""
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"{header} is more than {tolerance}s away from the server clock (stale or replayed)")


#: a unix timestamp as helpdesks send it: digits, maybe a fraction (no sign, exponent, ``nan`` or ``inf``,
#: which ``float`` would take and which would defeat the replay window)
_UNIX_TIMESTAMP = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?")


def unix_seconds(value: str, *, header: str, millis: bool = False) -> float:
    """Seconds since the epoch from a header of digits (``millis``: the header counts milliseconds).

    Raises:
        SignatureError: anything but digits with an optional fraction.
    """
    if not _UNIX_TIMESTAMP.fullmatch(value.strip()):
        unit = "milliseconds" if millis else "seconds"
        raise SignatureError(f"{header} is not a unix timestamp in {unit} (digits only)")
    number = float(value)
    return number / 1000 if millis else number


def iso_seconds(value: str, *, header: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise SignatureError(f"{header} is not an ISO 8601 timestamp") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()  # always finite: datetimes have no NaN or infinity


def load_json(body: bytes) -> Any:
    """The parsed body (its size and nesting were bounded by ``BodyGuardMiddleware`` before the route ran)."""
    try:
        return json.loads(body)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, and integers over Python's digit limit
        raise MalformedJSONError(f"{MalformedJSONError.MESSAGE}; webhooks must send application/json") from err


class PayloadPart(BaseModel):
    """A part of a helpdesk's payload: fields we do not read are ignored (helpdesks add fields), and ids
    that arrive as numbers read as strings."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


M = TypeVar("M", bound=BaseModel)


def model(cls: type[M], payload: Any, provider: str) -> M:
    """Validate ``payload`` as ``cls``, turning pydantic's error into a ``PayloadError``."""
    try:
        return cls.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise PayloadError(f"not a {provider} payload: {where}: {first['msg']}") from err


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>")


def html_to_text(value: str) -> str:
    """Visible text of an HTML fragment; plain text (no tags) only has its entities decoded.

    Example:
        >>> html_to_text("<p>Refund me <b>now</b></p><p>or else</p>")
        'Refund me now\\nor else'
    """
    if not _TAG.search(value):
        return unescape(value).strip()
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)
