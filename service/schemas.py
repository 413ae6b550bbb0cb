"""Request and response models of the API (input, output and stored shapes are separate)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictStr, Tag, field_validator

from ticketguard.models.classifier import normalize_text
from ticketguard.models.labels import Label
from ticketguard.service.settings import HARD_MAX_BATCH_ITEMS, HARD_MAX_TEXT_CHARS

_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
_CORPUS_LANG = re.compile(r"^(?:[a-z]{2}|zh-Hans|zh-Hant)$")
_HANT_REGIONS = {"tw", "hk", "mo", "hant"}


def normalize_lang(value: str | None) -> str | None:
    """A language tag in corpus form (``en``, ``zh-Hans``), or ``None`` when it has none.

    Example:
        >>> normalize_lang("en-US"), normalize_lang("zh-TW"), normalize_lang("ZH_hans_CN"), normalize_lang("tlh")
        ('en', 'zh-Hant', 'zh-Hans', None)
    """
    if not value:
        return None
    parts = re.split(r"[-_]", value.strip())
    primary = parts[0].lower()
    if primary == "zh":
        rest = {p.lower() for p in parts[1:]}
        return "zh-Hant" if rest & _HANT_REGIONS else "zh-Hans"
    return primary if _CORPUS_LANG.match(primary) else None


class TicketIn(BaseModel):
    """One message to classify. Whitespace-only or control-character-only text is refused."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=HARD_MAX_TEXT_CHARS, description="the customer's message")
    id: StrictStr | None = Field(default=None, min_length=1, max_length=255, description="echoed back")
    lang: StrictStr | None = Field(default=None, max_length=35, description="BCP 47 tag, e.g. en, de-AT, zh-Hant")

    @field_validator("text")
    @classmethod
    def _has_content(cls, value: str) -> str:
        # the classifier's own normalisation decides what "empty" means
        if not normalize_text(value):
            raise ValueError("text is empty or whitespace only")
        return value

    @field_validator("lang")
    @classmethod
    def _lang_tag(cls, value: str | None) -> str | None:
        if value is not None and not _LANG_TAG.match(value):
            raise ValueError(f"lang must be a language tag like 'en' or 'zh-Hant', got {value!r}")
        return value


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[TicketIn] = Field(min_length=1, max_length=HARD_MAX_BATCH_ITEMS)


def _request_kind(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "items" in value else "single"


ClassifyRequest = Annotated[
    Annotated[TicketIn, Tag("single")] | Annotated[BatchIn, Tag("batch")],
    Discriminator(_request_kind),
]

Scores = dict[str, float]


class ClassificationOut(BaseModel):
    id: str | None = None
    lang: str | None = None
    label: Label
    scores: Scores = Field(description="calibrated probability of each of the five labels; they sum to 1")
    flags: list[Label] = Field(description="labels over their flag threshold, in precedence order")
    model_version: str


class BatchOut(BaseModel):
    items: list[ClassificationOut]
    model_version: str


class MessageOut(BaseModel):
    """A stored, classified message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    external_id: str
    text: str | None = Field(description="null when text storage is switched off")
    lang: str | None
    label: Label
    scores: Scores
    flags: list[Label]
    model_version: str
    received_at: datetime
    feedback_label: Label | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last one")


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    agent: StrictStr | None = Field(default=None, min_length=1, max_length=128)


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int
    label: Label
    agent: str | None
    created_at: datetime


class WebhookOut(BaseModel):
    """What a helpdesk gets back: the classification, or why the event was not classified."""

    status: Literal["classified", "ignored"]
    duplicate: bool = Field(default=False, description="true when this delivery was seen before (a retry)")
    message: MessageOut | None = None
    reason: str | None = None


class Health(BaseModel):
    status: str
    model_version: str | None = None
    checks: dict[str, str] = Field(default_factory=dict)
