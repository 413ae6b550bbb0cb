"""The write-back outbox: claim a due write, send it through the helpdesk's REST API, record the outcome.

A write is queued in the same transaction that classified the message (see :mod:`service.tickets`),
so a crash between classification and write-back leaves it pending and it is sent once after
restart. Failures are retried with exponential backoff and full jitter; a ``429`` or ``503`` with
``Retry-After`` waits at least that long; after ``outbox_max_attempts`` tries, or at once on an
error retrying cannot fix (other 4xx), the write moves to the dead-letter table (``outbox_dead``,
:class:`~service.orm.DeadLetter`) with its last error, until ``ticketguard outbox retry`` moves it back.

Every move is guarded by the row's status and attempt count, so when two workers race on a write
only one of them records its outcome: a write is sent, buried or re-queued exactly once.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ticketguard.service.db import claim_rows
from ticketguard.service.orm import LABEL_WRITE_COLUMNS, DeadLetter, OutboxItem, utcnow
from ticketguard.service.writeback import Writer, WriteRequest

logger = logging.getLogger(__name__)

PENDING, DONE, SUPERSEDED = "pending", "done", "superseded"
#: not an outbox status: :func:`schedule_after`'s verdict that the write goes to the dead letters
DEAD = "dead"
#: the columns a write keeps when it moves between the outbox and the dead letters
_MOVED = ("id", *LABEL_WRITE_COLUMNS, "created_at")
#: statuses a retry cannot change: the request is wrong or not allowed, not unlucky
_RETRYABLE_4XX = frozenset({408, 409, 423, 425, 429})


class WriteError(Exception):
    """A write the helpdesk did not accept; ``permanent`` errors are dead-lettered without more tries."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (``None`` when absent or unreadable)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


async def send(client: httpx.AsyncClient, writer: Writer, request: WriteRequest) -> int:
    """Make every call of ``writer`` for ``request``; the number of calls made.

    Raises:
        WriteError: a call failed (network, timeout, or a non-2xx answer).
    """
    calls = writer.calls(request)
    for call in calls:
        url = f"{writer.base_url}{call.path}"
        try:
            response = await client.request(call.method, url, json=dict(call.json), headers=writer.headers())
        except httpx.TimeoutException as err:
            raise WriteError(f"{call.method} {call.path}: timed out ({type(err).__name__})") from err
        except httpx.HTTPError as err:
            raise WriteError(f"{call.method} {call.path}: {type(err).__name__}") from err
        if response.is_success:
            continue
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=utcnow())
        permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
        raise WriteError(f"{call.method} {call.path}: HTTP {status}", permanent=permanent, retry_after=retry_after)
    return len(calls)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: after try ``n`` wait ``uniform(c / 2, c)`` with ``c = min(cap, base * 2**(n-1))``,
    and at least ``Retry-After``; the jitter spreads the retries of many writes that failed together."""

    base: float
    cap: float

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        jittered = (rng or random).uniform(ceiling / 2, ceiling)
        return max(jittered, retry_after or 0.0)


def claim_due(*, session: Session) -> OutboxItem | None:
    """The oldest due pending write; on PostgreSQL locked until commit, skipping writes others hold."""
    query = (select(OutboxItem).where(OutboxItem.status == PENDING, OutboxItem.next_attempt_at <= utcnow())
             .order_by(OutboxItem.id).limit(1))
    return session.scalars(claim_rows(query, session=session)).one_or_none()


def superseded(*, session: Session, item: OutboxItem) -> bool:
    """Whether a newer write of the same ticket is queued (this one need not be sent)."""
    newer = session.scalar(select(OutboxItem.id).where(OutboxItem.ticket_pk == item.ticket_pk,
                                                       OutboxItem.id > item.id,
                                                       OutboxItem.status.in_((PENDING, DONE))).limit(1))
    return newer is not None


def record(*, session: Session, item: OutboxItem, status: str, error: str | None = None,
           next_attempt_at: datetime | None = None, attempted: bool = True) -> bool:
    """Store the outcome of a try (caller commits); ``False`` when another worker already finished the write."""
    values: dict[str, object] = {"status": status, "last_error": error}
    if attempted:
        values["attempts"] = item.attempts + 1
    if status in (DONE, SUPERSEDED):
        values["done_at"] = utcnow()
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = session.execute(update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.status == PENDING,
                                                      OutboxItem.attempts == item.attempts)
                             .values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def bury(*, session: Session, item: OutboxItem, error: str | None) -> bool:
    """Move a failed write to the dead letters after its try (caller commits); ``False`` when another
    worker already finished it."""
    result = session.execute(delete(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.status == PENDING,
                                                      OutboxItem.attempts == item.attempts)
                             .execution_options(synchronize_session=False))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(insert(DeadLetter).values(**{name: getattr(item, name) for name in _MOVED},
                                              attempts=item.attempts + 1, last_error=error, died_at=utcnow()))
    return True


def list_items(*, session: Session, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
    """Newest first, optionally only one status."""
    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxItem.status == status)
    return list(session.scalars(query))


def list_dead(*, session: Session, limit: int = 100) -> list[DeadLetter]:
    """The dead letters, newest first."""
    return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)))


def requeue(*, session: Session, ids: list[int] | None = None) -> int:
    """Move dead letters (all of them, or ``ids``) back to the outbox under their ids, with a fresh attempt
    budget; commits; how many. On PostgreSQL the dead letters are locked, so two retries move each once."""
    query = select(DeadLetter).order_by(DeadLetter.id)
    if ids is not None:
        query = query.where(DeadLetter.id.in_(ids))
    letters = list(session.scalars(claim_rows(query, session=session)))
    now = utcnow()
    for letter in letters:
        session.execute(insert(OutboxItem).values(**{name: getattr(letter, name) for name in _MOVED},
                                                  status=PENDING, attempts=0, next_attempt_at=now))
    if letters:
        session.execute(delete(DeadLetter).where(DeadLetter.id.in_([letter.id for letter in letters]))
                        .execution_options(synchronize_session=False))
    session.commit()
    return len(letters)


def schedule_after(error: WriteError, *, attempts: int, max_attempts: int, backoff: Backoff) -> tuple[str, datetime]:
    """The status and next try after a failed try number ``attempts``."""
    if error.permanent or attempts >= max_attempts:
        return DEAD, utcnow()
    return PENDING, utcnow() + timedelta(seconds=backoff.delay(attempts, error.retry_after))
