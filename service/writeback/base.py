"""What every helpdesk write-back shares: the write to make, the HTTP calls that make it, the note text,
and how a value of TicketGuard's helpdesk field or tag reads back as a label (agents' corrections)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ticketguard.models.labels import LABELS

#: prefix of the Zendesk tags and drop-down option values TicketGuard writes (``ticketguard_threat``)
TAG_PREFIX = "ticketguard_"


def label_of_value(value: str | None) -> str | None:
    """The label a helpdesk field value or tag name stands for: ``ticketguard_<label>`` (Zendesk option
    tags, tag names) or the label itself (Freshdesk and Intercom values); ``None`` for anything else.

    Example:
        >>> label_of_value("ticketguard_abuse"), label_of_value("Threat"), label_of_value("ticketguard_band_high")
        ('abuse', 'threat', None)
    """
    name = (value or "").strip().lower()
    name = name.removeprefix(TAG_PREFIX)
    return name if name in LABELS else None


@dataclass(frozen=True)
class WriteRequest:
    """The ticket-level result to write: a changed label or band (``previous_label``: the label written before)."""

    ticket_id: str
    label: str
    band: str
    previous_label: str | None = None

    @property
    def new_label(self) -> bool:
        return self.label != self.previous_label


@dataclass(frozen=True)
class HttpCall:
    """One documented REST request (path below the API root, JSON body)."""

    method: str
    path: str
    json: Mapping[str, Any] = field(default_factory=dict)


class Writer(Protocol):
    """One helpdesk's REST API: where it is, how it authenticates, and the calls that write a result."""

    name: str
    base_url: str

    def headers(self) -> dict[str, str]:
        """Authentication and API-version headers of every call."""
        ...

    def calls(self, request: WriteRequest) -> list[HttpCall]:
        """The calls, in order, that write ``request`` (empty: nothing to write)."""
        ...


def note_text(request: WriteRequest) -> str:
    """The private note left for agents when a ticket gets a label they asked to be told about."""
    return (f"TicketGuard classified this ticket as {request.label} (confidence {request.band}). "
            "Please review it; change the TicketGuard field if the label is wrong.")
