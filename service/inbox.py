"""The durable inbox: what the webhook route stores before it answers, and how the worker claims and completes it.

The route's transaction is one ``INSERT ... ON CONFLICT DO NOTHING`` per message of the delivery
(and, for messages that carry the helpdesk's own send time, one read of the conversation's newest
stored message: the replay bound); nothing waits for the model. The worker claims pending rows in arrival order (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so replicas never take the same row) and completes them in one transaction:
the classified :class:`~service.orm.Message`, the row marked done, the ticket's label and the
write-back queued. A crash before that commit leaves the rows pending, so they are classified
again on start, and stored exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketguard.service.db import claim_rows
from ticketguard.service.orm import InboxItem, utcnow

PENDING, DONE, FAILED = "pending", "done", "failed"
STATUSES = (PENDING, DONE, FAILED)


@dataclass(frozen=True)
class NewItem:
    """One message of a verified delivery, ready to store."""

    provider: str
    account: str
    external_id: str
    text: str
    truncated: bool
    lang: str | None
    ticket_id: str | None
    #: when the customer sent it, by the helpdesk's clock (``None``: the payload does not say)
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Stored:
    """An inbox row after the route's insert: ``created`` is ``False`` for a retried delivery."""

    id: int
    created: bool
    status: str
    message_id: int | None


def enqueue(*, session: Session, items: Sequence[NewItem], payload: Any,
            replay_window: float | None = None) -> list[Stored]:
    """Store the messages of one delivery in one transaction and commit; retries get the stored rows.

    A message not stored yet whose ``sent_at`` is more than ``replay_window`` seconds older than the
    newest message stored for its ticket is a replay of an old delivery: it is left out of the result
    (an empty result: nothing of the delivery was stored). The window keeps deliveries that arrive a
    little out of order.

    Example:
        >>> enqueue(session=s, items=[NewItem("generic", "", "g-1", "hi", False, "en", None)], payload={})[0].created
        True
    """
    now = utcnow()
    results: list[Stored] = []
    dialect = session.get_bind().dialect.name
    oldest = _oldest_fresh(session=session, items=items, replay_window=replay_window)
    for item in items:
        if oldest is not None and item.sent_at is not None and item.sent_at < oldest:
            seen = session.scalars(select(InboxItem).where(InboxItem.provider == item.provider,
                                                           InboxItem.external_id == item.external_id)).one_or_none()
            if seen is not None:
                results.append(Stored(id=seen.id, created=False, status=seen.status, message_id=seen.message_id))
            continue
        values = {"provider": item.provider, "account": item.account, "external_id": item.external_id,
                  "text": item.text, "text_chars": len(item.text), "truncated": item.truncated, "lang": item.lang,
                  "ticket_id": item.ticket_id, "payload": payload, "status": PENDING, "received_at": now,
                  "sent_at": item.sent_at}
        new_id: int | None
        if dialect in ("postgresql", "sqlite"):
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (insert(InboxItem).values(**values)
                         .on_conflict_do_nothing(index_elements=["provider", "external_id"]).returning(InboxItem.id))
            new_id = session.execute(statement).scalar_one_or_none()
        else:  # pragma: no cover - other backends: the unique constraint refuses the loser
            try:
                with session.begin_nested():
                    row = InboxItem(**values)
                    session.add(row)
                new_id = row.id
            except IntegrityError:
                new_id = None
        if new_id is not None:
            results.append(Stored(id=new_id, created=True, status=PENDING, message_id=None))
            continue
        row = session.scalars(select(InboxItem).where(InboxItem.provider == item.provider,
                                                      InboxItem.external_id == item.external_id)).one()
        results.append(Stored(id=row.id, created=False, status=row.status, message_id=row.message_id))
    session.commit()
    return results


def _oldest_fresh(*, session: Session, items: Sequence[NewItem], replay_window: float | None) -> datetime | None:
    """The oldest ``sent_at`` not taken for a replay: the ticket's newest stored one less the window."""
    timed = [item for item in items if item.sent_at is not None and item.ticket_id is not None]
    if replay_window is None or not timed:
        return None
    first = timed[0]  # a delivery holds messages of one ticket
    newest = session.scalar(select(func.max(InboxItem.sent_at)).where(
        InboxItem.provider == first.provider, InboxItem.account == first.account,
        InboxItem.ticket_id == first.ticket_id))
    return None if newest is None else newest - timedelta(seconds=replay_window)


def count_pending(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == PENDING)) or 0


def claim(*, session: Session, limit: int) -> list[InboxItem]:
    """The oldest pending rows; on PostgreSQL locked until the session commits, skipping rows others hold.

    On SQLite (one node) nothing is locked: :func:`finish` only completes a row that is still pending.
    """
    query = select(InboxItem).where(InboxItem.status == PENDING).order_by(InboxItem.id).limit(limit)
    return list(session.scalars(claim_rows(query, session=session)))


def finish(*, session: Session, item: InboxItem, status: str, message_id: int | None = None,
           error: str | None = None, keep_text: bool = True) -> bool:
    """Mark a claimed row done or failed (in the caller's transaction); ``False`` when another worker did.

    ``keep_text=False`` clears the stored text and payload (text storage switched off).
    """
    values: dict[str, Any] = {"status": status, "message_id": message_id, "error": error, "processed_at": utcnow()}
    if not keep_text:
        values.update(text=None, payload=None)
    result = session.execute(update(InboxItem).where(InboxItem.id == item.id, InboxItem.status == PENDING)
                             .values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def get_items(*, session: Session, ids: Sequence[int]) -> list[InboxItem]:
    if not ids:
        return []
    return list(session.scalars(select(InboxItem).where(InboxItem.id.in_(ids)).order_by(InboxItem.id)))


def list_items(*, session: Session, status: str | None = None, limit: int = 100) -> list[InboxItem]:
    """Newest first, optionally only one status."""
    query = select(InboxItem).order_by(InboxItem.id.desc()).limit(limit)
    if status is not None:
        query = query.where(InboxItem.status == status)
    return list(session.scalars(query))


def requeue(*, session: Session, ids: Sequence[int] | None = None) -> int:
    """Put failed rows (all of them, or ``ids``) back to pending, so a running worker classifies them again;
    commits; how many. A failed row whose text is gone (text storage off) cannot be classified and stays."""
    query = update(InboxItem).where(InboxItem.status == FAILED, InboxItem.text.is_not(None))
    if ids is not None:
        query = query.where(InboxItem.id.in_(ids))
    result = session.execute(query.values(status=PENDING, error=None, processed_at=None)
                             .execution_options(synchronize_session=False))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
