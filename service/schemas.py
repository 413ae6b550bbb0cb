"""Request and response models of the API (input, output and stored shapes are separate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictStr, Tag, field_validator

from ticketguard.models.labels import Label
from ticketguard.models.languages import LANG_TAG, MAX_TAG_CHARS
from ticketguard.models.text import unclassifiable_reason
from ticketguard.service.settings import HARD_MAX_BATCH_ITEMS, HARD_MAX_TEXT_CHARS


class TicketIn(BaseModel):
    """One message to classify. Text the classifier cannot classify (blank, invisible only) is refused."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=HARD_MAX_TEXT_CHARS, description="the customer's message")
    id: StrictStr | None = Field(default=None, min_length=1, max_length=255, description="echoed back")
    lang: StrictStr | None = Field(default=None, max_length=MAX_TAG_CHARS, description="BCP 47 tag, e.g. en, de-AT, zh-Hant")

    @field_validator("text")
    @classmethod
    def _has_content(cls, value: str) -> str:
        # the classifier owns the rule; the schema only applies it at the edge (422 before the model)
        reason = unclassifiable_reason(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("lang")
    @classmethod
    def _lang_tag(cls, value: str | None) -> str | None:
        if value is not None and not LANG_TAG.match(value):
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
    review: bool = Field(description="the model is not confident enough to act on alone: an agent should check")
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
