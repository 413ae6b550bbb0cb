"""Agents' corrections made in the helpdesk: a change of TicketGuard's field (or tag) on a ticket.

The correction is feedback on the ticket's label, so it is recorded on the message that set that
label, with :func:`service.repository.add_feedback` (the function behind
``POST /v1/messages/{id}/feedback``), and ``ticketguard feedback export`` exports it. A change to the
value TicketGuard itself last queued for the ticket (``Ticket.written_label``) is the helpdesk's echo
of our own write-back, not an agent's opinion, and records nothing. A helpdesk that delivers the same
correction again (a retried webhook) gets the feedback already recorded, not a second row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketguard.service import repository
from ticketguard.service.orm import Ticket


@dataclass(frozen=True)
class Outcome:
    """``feedback_id`` of the recorded correction, or why nothing was recorded."""

    feedback_id: int | None = None
    reason: str | None = None


def record_correction(*, session: Session, provider: str, account: str, ticket_id: str, label: str,
                      agent: str | None) -> Outcome:
    """Record an agent's ``label`` for the ticket as feedback on the message behind the ticket's label; commits.

    Example:
        >>> record_correction(session=s, provider="zendesk", account="1", ticket_id="5158", label="abuse",
        ...                   agent="zendesk:42").feedback_id
        7
    """
    ticket = session.scalars(select(Ticket).where(Ticket.provider == provider, Ticket.account == account,
                                                  Ticket.ticket_id == ticket_id)).one_or_none()
    if ticket is None:
        return Outcome(reason=f"no {provider} ticket {ticket_id} classified by TicketGuard")
    if label == ticket.written_label:
        return Outcome(reason="the value TicketGuard wrote itself (the echo of its write-back)")
    if ticket.message_id is None:  # the message was deleted
        return Outcome(reason=f"{provider} ticket {ticket_id} has no stored message to correct")
    newest = repository.latest_feedback(session=session, message_ids=[ticket.message_id]).get(ticket.message_id)
    if newest is not None and (newest.label, newest.agent) == (label, agent):  # a redelivery
        return Outcome(feedback_id=newest.id)
    feedback = repository.add_feedback(session=session, message_id=ticket.message_id, label=label, agent=agent)
    return Outcome(feedback_id=feedback.id)
