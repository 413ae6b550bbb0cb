"""The write-back outbox: claim a due write, send it through the helpdesk's REST API, record the outcome.

A write is queued in the same transaction that classified the message (see :mod:`service.tickets`),
so a crash between classification and write-back leaves it pending and it is sent once after
restart. Failures are retried with exponential backoff and full jitter; a ``429`` or ``503`` with
``Retry-After`` waits at least that long; after ``outbox_max_attempts`` tries, or at once on an
error retrying cannot fix (other 4xx), the write is dead-lettered (``status = dead``) until
``ticketguard outbox retry`` queues it again.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ticketguard.service.orm import OutboxItem, utcnow
from ticketguard.service.writeback import Writer, WriteRequest

logger = logging.getLogger(__name__)

PENDING, DONE, SUPERSEDED, DEAD = "pending", "done", "superseded", "dead"
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
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).one_or_none()


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


def list_items(*, session: Session, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
    """Newest first, optionally only one status (``dead`` lists the dead letters)."""
    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxItem.status == status)
    return list(session.scalars(query))


def requeue(*, session: Session, ids: list[int] | None = None) -> int:
    """Queue dead writes again (all of them, or ``ids``) with a fresh attempt budget; commits; how many."""
    statement = update(OutboxItem).where(OutboxItem.status == DEAD)
    if ids is not None:
        statement = statement.where(OutboxItem.id.in_(ids))
    result = session.execute(statement.values(status=PENDING, attempts=0, next_attempt_at=utcnow(), last_error=None)
                             .execution_options(synchronize_session=False))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def schedule_after(error: WriteError, *, attempts: int, max_attempts: int, backoff: Backoff) -> tuple[str, datetime]:
    """The status and next try after a failed try number ``attempts``."""
    if error.permanent or attempts >= max_attempts:
        return DEAD, utcnow()
    return PENDING, utcnow() + timedelta(seconds=backoff.delay(attempts, error.retry_after))
