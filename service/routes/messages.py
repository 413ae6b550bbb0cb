"""Stored messages: read one, list with filters and a cursor, record an agent's correction."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from ticketguard.models.labels import Label
from ticketguard.service import repository
from ticketguard.service.deps import ApiKeyDep, SessionDep
from ticketguard.service.errors import ServiceError
from ticketguard.service.orm import Message
from ticketguard.service.schemas import FeedbackIn, FeedbackOut, MessageOut, MessagePage

router = APIRouter(prefix="/v1/messages", tags=["messages"], dependencies=[ApiKeyDep])


class InvalidCursorError(ServiceError):
    code = "invalid_cursor"


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m:{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "m":
            raise ValueError(prefix)
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise InvalidCursorError("cursor is not one this server handed out") from err


def to_out(message: Message, feedback_label: str | None = None) -> MessageOut:
    out = MessageOut.model_validate(message)
    return out.model_copy(update={"feedback_label": Label(feedback_label)}) if feedback_label else out


@router.get("/{message_id}", response_model=MessageOut)
def read_message(message_id: int, session: SessionDep) -> MessageOut:
    """One stored message with its classification and the latest agent correction."""
    message = repository.get_message(session=session, message_id=message_id)
    feedback = repository.latest_feedback(session=session, message_ids=[message.id]).get(message.id)
    return to_out(message, feedback.label if feedback else None)


@router.get("", response_model=MessagePage)
def list_messages(session: SessionDep, label: Label | None = None,
                  lang: Annotated[str | None, Query(max_length=35)] = None,
                  source: Annotated[str | None, Query(max_length=32)] = None,
                  since: Annotated[datetime | None, Query(description="ISO 8601; received at or after")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  cursor: Annotated[str | None, Query(max_length=64)] = None) -> MessagePage:
    """Newest first. Pass ``next_cursor`` back as ``cursor`` for the next page."""
    rows = repository.list_messages(session=session, label=label.value if label else None, lang=lang, source=source,
                                    since=since, before_id=decode_cursor(cursor) if cursor else None,
                                    limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    feedback = repository.latest_feedback(session=session, message_ids=[m.id for m in page])
    items = [to_out(m, feedback[m.id].label if m.id in feedback else None) for m in page]
    return MessagePage(items=items, next_cursor=encode_cursor(page[-1].id) if more and page else None)


@router.post("/{message_id}/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED)
def add_feedback(message_id: int, feedback: FeedbackIn, session: SessionDep) -> FeedbackOut:
    """Record an agent's correction; ``ticketguard feedback export`` turns corrections into training rows."""
    row = repository.add_feedback(session=session, message_id=message_id, label=feedback.label.value,
                                  agent=feedback.agent)
    return FeedbackOut.model_validate(row)
