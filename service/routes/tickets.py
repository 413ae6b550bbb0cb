"""``GET /v1/tickets/{provider}/{ticket_id}``: a ticket's label (most severe so far), its history and messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ticketguard.models.labels import Label
from ticketguard.service import repository, tickets
from ticketguard.service.deps import ApiKeyDep, SessionDep
from ticketguard.service.openapi import error_responses
from ticketguard.service.orm import ACCOUNT_CHARS, ID_CHARS
from ticketguard.service.routes.messages import to_out
from ticketguard.service.schemas import LabelChangeOut, TicketOut
from ticketguard.service.validation import Storable

router = APIRouter(prefix="/v1/tickets", tags=["tickets"], dependencies=[ApiKeyDep])


@router.get("/{provider}/{ticket_id}", response_model=TicketOut,
            responses=error_responses(401, 404, 409, 422, 500, 503, not_found="no such ticket"))
def read_ticket(provider: Annotated[Storable, Path(max_length=32, description="the helpdesk, e.g. zendesk")],
                ticket_id: Annotated[Storable, Path(max_length=ID_CHARS, description="its ticket or conversation id")],
                session: SessionDep,
                account: Annotated[Storable | None, Query(max_length=ACCOUNT_CHARS, description="the helpdesk account or "
                                                          "workspace; needed when several have this ticket id")] = None,
                ) -> TicketOut:
    """The ticket's label and band, each change of them, and its classified customer messages."""
    ticket = tickets.find_ticket(session=session, provider=provider, ticket_id=ticket_id, account=account)
    messages = tickets.ticket_messages(session=session, ticket=ticket)
    feedback = repository.latest_feedback(session=session, message_ids=[m.id for m in messages])
    return TicketOut(
        provider=ticket.provider, account=ticket.account, ticket_id=ticket.ticket_id, label=Label(ticket.label),
        band=ticket.band, updated_at=ticket.updated_at,
        written_label=Label(ticket.written_label) if ticket.written_label else None,
        history=[LabelChangeOut.model_validate(change) for change in tickets.label_history(messages)],
        messages=[to_out(m, feedback[m.id].label if m.id in feedback else None) for m in messages])
