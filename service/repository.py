"""Database reads and writes. Keyword-only functions over a ``Session``; no HTTP in here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketguard.models.explain import Explanation
from ticketguard.models.prediction import Prediction
from ticketguard.service.errors import NotFoundError
from ticketguard.service.orm import Feedback, Message, utcnow


@dataclass(frozen=True)
class StoredMessage:
    """A message row and whether this call created it (``False``: an earlier delivery did)."""

    message: Message
    created: bool


def get_message(*, session: Session, message_id: int) -> Message:
    """The message with this id.

    Raises:
        NotFoundError: there is none.
    """
    message = session.get(Message, message_id)
    if message is None:
        raise NotFoundError(f"message {message_id} not found")
    return message


def find_message(*, session: Session, source: str, external_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(Message.source == source, Message.external_id == external_id)
    ).one_or_none()


def insert_message(*, session: Session, source: str, external_id: str, text: str, lang: str | None,
                   prediction: Prediction, model_version: str, store_text: bool = True,
                   explanation: Explanation | None = None, account: str = "", ticket_id: str | None = None,
                   lang_confidence: float | None = None) -> StoredMessage:
    """Insert a classified message once, in the caller's transaction (the caller commits); a duplicate
    delivery gets the stored row back.

    Concurrent deliveries of the same ``(source, external_id)`` race on the unique constraint:
    ``INSERT ... ON CONFLICT DO NOTHING`` lets exactly one win, and every caller then reads that
    committed row, so all of them answer with the same result.

    Example:
        >>> stored = insert_message(session=s, source="zendesk", external_id="t1:c1", text="hi", lang="en",
        ...                         prediction=pred, model_version="v1")
        >>> stored.created, stored.message.label
        (True, 'neutral')
    """
    values = {
        "source": source, "external_id": external_id, "text": text if store_text else None,
        "text_chars": len(text), "lang": lang, "label": prediction.label, "scores": dict(prediction.scores),
        "flags": list(prediction.flags), "model_version": model_version, "received_at": utcnow(),
        "explanation": explanation.to_dict() if explanation is not None else None,
        "account": account, "ticket_id": ticket_id, "lang_confidence": lang_confidence,
    }
    dialect = session.get_bind().dialect.name
    created: bool
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (insert(Message).values(**values)
                     .on_conflict_do_nothing(index_elements=["source", "external_id"]).returning(Message.id))
        created = session.execute(statement).scalar_one_or_none() is not None
    else:  # other backends: let the unique constraint refuse the loser
        try:
            with session.begin_nested():
                session.add(Message(**values))
            created = True
        except IntegrityError:
            created = False
    message = find_message(session=session, source=source, external_id=external_id)
    if message is None:  # only possible if the row was deleted between the two statements
        raise NotFoundError(f"message {source}:{external_id} vanished right after it was stored")
    return StoredMessage(message=message, created=created)


def list_messages(*, session: Session, label: str | None = None, lang: str | None = None,
                  source: str | None = None, since: datetime | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[Message]:
    """Newest first; ``before_id`` continues a previous page (keyset pagination, stable under inserts)."""
    query: Select[tuple[Message]] = select(Message).order_by(Message.id.desc()).limit(limit)
    if label is not None:
        query = query.where(Message.label == label)
    if lang is not None:
        query = query.where(Message.lang == lang)
    if source is not None:
        query = query.where(Message.source == source)
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        query = query.where(Message.received_at >= since)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    return list(session.scalars(query))


def latest_feedback(*, session: Session, message_ids: list[int]) -> dict[int, Feedback]:
    """The newest feedback of each of these messages (messages without any are absent)."""
    if not message_ids:
        return {}
    newest = (select(func.max(Feedback.id)).where(Feedback.message_id.in_(message_ids))
              .group_by(Feedback.message_id))
    rows = session.scalars(select(Feedback).where(Feedback.id.in_(newest)))
    return {row.message_id: row for row in rows}


def add_feedback(*, session: Session, message_id: int, label: str, agent: str | None) -> Feedback:
    """Record an agent's correction and commit.

    Raises:
        NotFoundError: the message does not exist.
    """
    get_message(session=session, message_id=message_id)
    feedback = Feedback(message_id=message_id, label=label, agent=agent, created_at=utcnow())
    session.add(feedback)
    session.commit()
    return feedback


def iter_corrections(*, session: Session, batch: int = 500) -> Iterator[tuple[Message, Feedback]]:
    """Every message with feedback, paired with its newest feedback, oldest message first."""
    newest = select(func.max(Feedback.id)).group_by(Feedback.message_id)
    query = (select(Message, Feedback).join(Feedback, Feedback.message_id == Message.id)
             .where(Feedback.id.in_(newest)).order_by(Message.id).execution_options(yield_per=batch))
    yield from session.execute(query)
