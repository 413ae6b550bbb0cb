"""Stored messages: read one, list with filters and a cursor, record an agent's correction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from ticketguard.models.labels import Label
from ticketguard.service import repository
from ticketguard.service.deps import ApiKeyDep, JsonBodyDep, SessionDep
from ticketguard.service.openapi import error_responses
from ticketguard.service.orm import Message
from ticketguard.service.schemas import FeedbackIn, FeedbackOut, MessageOut, MessagePage
from ticketguard.service.validation import MAX_DB_ID, DbId, LangTag, Storable, Timestamp

router = APIRouter(prefix="/v1/messages", tags=["messages"], dependencies=[ApiKeyDep])

MessageIdPath = Annotated[DbId, Path(description="the message's id")]


def to_out(message: Message, feedback_label: str | None = None) -> MessageOut:
    out = MessageOut.model_validate(message)
    return out.model_copy(update={"feedback_label": Label(feedback_label)}) if feedback_label else out


@router.get("/{message_id}", response_model=MessageOut,
            responses=error_responses(401, 404, 422, 500, 503, not_found="no message with this id"))
def read_message(message_id: MessageIdPath, session: SessionDep) -> MessageOut:
    """One stored message with its classification and the latest agent correction."""
    message = repository.get_message(session=session, message_id=message_id)
    feedback = repository.latest_feedback(session=session, message_ids=[message.id]).get(message.id)
    return to_out(message, feedback.label if feedback else None)


@router.get("", response_model=MessagePage, responses=error_responses(401, 422, 500, 503))
def list_messages(session: SessionDep, label: Label | None = None,
                  lang: Annotated[LangTag | None, Query(description="language tag as stored, e.g. en")] = None,
                  source: Annotated[Storable | None, Query(min_length=1, max_length=32,
                                                           description="webhook provider, e.g. zendesk")] = None,
                  since: Annotated[Timestamp | None, Query(description="RFC 3339; received at or after")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  cursor: Annotated[int | None, Query(ge=1, le=MAX_DB_ID,
                                                      description="next_cursor of the previous page")] = None,
                  ) -> MessagePage:
    """Newest first. Pass ``next_cursor`` back as ``cursor`` for the next page."""
    rows = repository.list_messages(session=session, label=label.value if label else None, lang=lang, source=source,
                                    since=since, before_id=cursor, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    feedback = repository.latest_feedback(session=session, message_ids=[m.id for m in page])
    items = [to_out(m, feedback[m.id].label if m.id in feedback else None) for m in page]
    return MessagePage(items=items, next_cursor=page[-1].id if more and page else None)


@router.post("/{message_id}/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED,
             dependencies=[JsonBodyDep],
             responses=error_responses(400, 401, 404, 413, 415, 422, 500, 503, not_found="no message with this id"))
def add_feedback(message_id: MessageIdPath, feedback: FeedbackIn, session: SessionDep) -> FeedbackOut:
    """Record an agent's correction; ``ticketguard feedback export`` turns corrections into training rows."""
    row = repository.add_feedback(session=session, message_id=message_id, label=feedback.label.value,
                                  agent=feedback.agent)
    return FeedbackOut.model_validate(row)
