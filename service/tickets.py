"""Ticket-level labels: a ticket's label is the most severe label of its customer messages so far.

:func:`apply_message` folds a newly classified message into its ticket inside the worker's
transaction and queues a write-back when the ticket's label or confidence band changes.
The precedence and the bands are owned by :mod:`ticketguard.models.labels`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ticketguard.models.labels import confidence_band, severity
from ticketguard.service.errors import AmbiguousTicketError, NotFoundError
from ticketguard.service.orm import Message, OutboxItem, Ticket, utcnow


def label_score(message: Message) -> float:
    """The calibrated probability of ``message``'s own label."""
    return float(message.scores.get(message.label, 0.0))


def takes_over(label: str, score: float, *, current: str, current_score: float) -> bool:
    """Whether a message labelled ``label`` (with ``score``) becomes its ticket's label: it is more severe than
    the ticket's ``current`` label, or the same label held with more confidence.

    Example:
        >>> takes_over("abuse", 0.6, current="complaint", current_score=0.99)
        True
        >>> takes_over("complaint", 0.7, current="complaint", current_score=0.9)
        False
    """
    return severity(label) < severity(current) or (label == current and score > current_score)


def apply_message(*, session: Session, provider: str, account: str, ticket_id: str, message: Message,
                  write_labels: Collection[str] | None) -> OutboxItem | None:
    """Fold ``message`` into its ticket (caller's transaction); the queued write-back, if any.

    Args:
        write_labels: the labels the provider's write-back writes; ``None`` when it has none configured.
    """
    now = utcnow()
    score = label_score(message)
    values = {"provider": provider, "account": account, "ticket_id": ticket_id, "label": message.label,
              "band": confidence_band(score), "score": score, "message_id": message.id, "created_at": now,
              "updated_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = session.execute(insert(Ticket).values(**values).on_conflict_do_nothing(
        index_elements=["provider", "account", "ticket_id"]).returning(Ticket.id)).scalar_one_or_none() is not None
    query = select(Ticket).where(Ticket.provider == provider, Ticket.account == account, Ticket.ticket_id == ticket_id)
    if dialect == "postgresql":  # two replicas may fold messages of one ticket at once
        query = query.with_for_update()
    ticket = session.scalars(query.execution_options(populate_existing=True)).one()
    if not created and takes_over(message.label, score, current=ticket.label, current_score=ticket.score):
        ticket.label, ticket.score, ticket.message_id = message.label, score, message.id
        ticket.band = confidence_band(score)
        ticket.updated_at = now
    if write_labels is None or ticket.label not in write_labels:
        return None
    if (ticket.label, ticket.band) == (ticket.written_label, ticket.written_band):
        return None
    item = OutboxItem(ticket_pk=ticket.id, provider=provider, account=account, ticket_id=ticket_id,
                      label=ticket.label, band=ticket.band, previous_label=ticket.written_label, status="pending",
                      attempts=0, next_attempt_at=now, created_at=now)
    ticket.written_label, ticket.written_band = ticket.label, ticket.band
    session.add(item)
    session.flush()
    return item


def find_ticket(*, session: Session, provider: str, ticket_id: str, account: str | None) -> Ticket:
    """The ticket ``ticket_id`` of ``provider`` (and ``account``; optional while only one account has it).

    Raises:
        NotFoundError: there is none.
        AmbiguousTicketError: several accounts have this ticket id and ``account`` was not given.
    """
    query = select(Ticket).where(Ticket.provider == provider, Ticket.ticket_id == ticket_id)
    if account is not None:
        query = query.where(Ticket.account == account)
    tickets = list(session.scalars(query.limit(2)))
    if not tickets:
        raise NotFoundError(f"no {provider} ticket {ticket_id}" + (f" in account {account}" if account else ""))
    if len(tickets) > 1:
        raise AmbiguousTicketError(f"{provider} ticket {ticket_id} exists in several accounts; pass ?account=")
    return tickets[0]


def ticket_messages(*, session: Session, ticket: Ticket) -> list[Message]:
    """The ticket's classified customer messages, oldest first."""
    return list(session.scalars(select(Message).where(
        Message.source == ticket.provider, Message.account == ticket.account, Message.ticket_id == ticket.ticket_id,
    ).order_by(Message.id)))


@dataclass(frozen=True)
class LabelChange:
    """The ticket's label and band from ``message_id`` on."""

    label: str
    band: str
    message_id: int
    at: datetime


def label_history(messages: list[Message]) -> list[LabelChange]:
    """Each change of the ticket's label or band, replaying its messages in arrival order."""
    changes: list[LabelChange] = []
    label: str | None = None
    score = 0.0
    for message in messages:
        message_score = label_score(message)
        if label is None or takes_over(message.label, message_score, current=label, current_score=score):
            band = confidence_band(message_score)
            if not changes or (changes[-1].label, changes[-1].band) != (message.label, band):
                changes.append(LabelChange(message.label, band, message.id, message.received_at))
            label, score = message.label, message_score
    return changes
