"""Request and response models of the API (input, output and stored shapes are separate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, StrictStr, Tag, field_validator

from ticketguard.models.labels import Label
from ticketguard.models.text import unclassifiable_reason, visible_text_pattern
from ticketguard.service.orm import ACCOUNT_CHARS, AGENT_CHARS, ID_CHARS
from ticketguard.service.settings import HARD_MAX_BATCH_ITEMS, HARD_MAX_TEXT_CHARS
from ticketguard.service.validation import LangTag, Storable, remove_nul


def _visible_text_schema(schema: dict[str, Any]) -> None:
    schema["pattern"] = visible_text_pattern()  # built on first use of the OpenAPI document, not at import


class TicketIn(BaseModel):
    """One message to classify. Text the classifier cannot classify (blank, invisible only) is refused;
    NUL characters are removed from it (they carry nothing and PostgreSQL cannot store them)."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=HARD_MAX_TEXT_CHARS, description="the customer's message",
                            json_schema_extra=_visible_text_schema)
    id: Storable | None = Field(default=None, min_length=1, max_length=ID_CHARS, description="echoed back")
    lang: LangTag | None = Field(default=None, description="BCP 47 tag, e.g. en, de-AT, zh-Hant")

    @field_validator("text")
    @classmethod
    def _has_content(cls, value: str) -> str:
        # the classifier owns the rule; the schema only applies it at the edge (422 before the model)
        value = remove_nul(value)
        reason = unclassifiable_reason(value)
        if reason is not None:
            raise ValueError(reason)
        return value


class ClassifyIn(TicketIn):
    """One message to classify, optionally explained."""

    explain: StrictBool = Field(default=False, description="also return the spans that raised the label and each flag")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[TicketIn] = Field(min_length=1, max_length=HARD_MAX_BATCH_ITEMS)
    explain: StrictBool = Field(default=False, description="also return the spans that raised each label and flag")


def _request_kind(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "items" in value else "single"


ClassifyRequest = Annotated[
    Annotated[ClassifyIn, Tag("single")] | Annotated[BatchIn, Tag("batch")],
    Discriminator(_request_kind),
]

Scores = dict[str, float]


class SpanOut(BaseModel):
    start: int = Field(description="character offset into the text as sent")
    end: int = Field(description="end offset (exclusive): text[start:end] is the span")
    text: str
    score: float = Field(description="drop of the label's probability when the span is removed")


class ExplanationOut(BaseModel):
    method: str = Field(description="how the spans were found: occlusion (removing words and phrases)")
    spans: dict[Label, list[SpanOut]] = Field(description="per label (the primary label, then each flag) the spans "
                                                          "that raised its probability most, strongest first")


class ClassificationOut(BaseModel):
    id: str | None = None
    lang: str | None = Field(default=None, description="as sent, else detected (null: no language was likely)")
    lang_confidence: float | None = Field(default=None, description="confidence of a detected language; null when "
                                                                    "the caller gave it")
    label: Label
    scores: Scores = Field(description="calibrated probability of each of the five labels; they sum to 1")
    flags: list[Label] = Field(description="labels over their flag threshold, in precedence order")
    review: bool = Field(description="the model is not confident enough to act on alone: an agent should check")
    model_version: str
    explanation: ExplanationOut | None = Field(default=None, description="with explain=true")


class BatchOut(BaseModel):
    items: list[ClassificationOut]
    model_version: str


class MessageOut(BaseModel):
    """A stored, classified message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    external_id: str
    account: str = Field(default="", description="helpdesk account or workspace (webhooks)")
    ticket_id: str | None = Field(default=None, description="ticket or conversation it belongs to (webhooks)")
    text: str | None = Field(description="null when text storage is switched off (and in webhook answers)")
    lang: str | None
    lang_confidence: float | None = Field(default=None, description="confidence of a detected language; null when "
                                                                    "the caller gave it")
    label: Label
    scores: Scores
    flags: list[Label]
    model_version: str
    received_at: datetime
    explanation: ExplanationOut | None = Field(default=None, description="with TICKETGUARD_EXPLAIN_WEBHOOKS=true")
    feedback_label: Label | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: int | None = Field(description="pass as ?cursor= for the next page; null on the last one")


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    agent: Storable | None = Field(default=None, min_length=1, max_length=AGENT_CHARS, description="who corrected it")


class CorrectionIn(BaseModel):
    """An agent's correction parsed from a helpdesk's delivery, held to the limits of the columns it is stored in."""

    ticket_id: Storable = Field(min_length=1, max_length=ID_CHARS)
    label: Label
    account: Storable = Field(default="", max_length=ACCOUNT_CHARS)
    agent: Storable | None = Field(default=None, min_length=1, max_length=AGENT_CHARS)


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int
    label: Label
    agent: str | None
    created_at: datetime


class WebhookOut(BaseModel):
    """What a helpdesk gets back: accepted (stored, classified in the background), classified (a retry of
    a classified delivery, or the generic provider's ``?wait=``), recorded (an agent's correction of
    TicketGuard's field, stored as feedback), or why nothing was stored. Never the text."""

    status: Literal["accepted", "classified", "recorded", "ignored"]
    duplicate: bool = Field(default=False, description="true when this delivery was seen before (a retry)")
    inbox_ids: list[int] = Field(default_factory=list, description="the stored messages of this delivery")
    message: MessageOut | None = Field(default=None, description="when classified: the (last) message, without text")
    truncated: bool = Field(default=False, description="a text was longer than the limit; its start was kept")
    feedback_id: int | None = Field(default=None, description="when recorded: the stored feedback")
    reason: str | None = None


class LabelChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    label: Label
    band: str
    message_id: int
    at: datetime


class TicketOut(BaseModel):
    """A ticket's label: the most severe label of its customer messages so far, with its history."""

    provider: str
    account: str
    ticket_id: str
    label: Label
    band: str = Field(description="confidence band of the label: high, medium or low")
    updated_at: datetime
    written_label: Label | None = Field(description="what TicketGuard last queued for the helpdesk (null: nothing)")
    history: list[LabelChangeOut] = Field(description="each change of label or band, oldest first")
    messages: list[MessageOut] = Field(description="its classified customer messages, oldest first")


class ErrorDetail(BaseModel):
    loc: list[str] = Field(description="where: body, query or path, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. validation_error, not_found")
    message: str = Field(description="the field and what is wrong with it")
    request_id: str = Field(description="also in the X-Request-ID header; the server log carries it")
    details: list[ErrorDetail] | None = Field(default=None, description="every validation problem found")


class ErrorOut(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


class PrecisionOut(BaseModel):
    mode: str = Field(description="fp32, bf16 or int8")
    forced: bool = Field(description="named in the settings rather than chosen by the quality guard")
    guard: str = Field(description="reference (fp32), passed, not measured, or failed: <why>")


class Health(BaseModel):
    status: str
    model_version: str | None = None
    precision: PrecisionOut | None = None
    checks: dict[str, str] = Field(default_factory=dict)
