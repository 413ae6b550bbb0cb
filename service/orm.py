"""Storage models (SQLAlchemy 2, typed). The schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ticketguard.models.languages import MAX_TAG_CHARS

#: the longest helpdesk account / workspace id stored
ACCOUNT_CHARS = 128
#: the longest message key or ticket id stored
ID_CHARS = 255
#: the longest name of a correcting agent stored
AGENT_CHARS = 128


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if dialect.name != "sqlite" else \
            value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Message(Base):
    """A classified customer message; ``(source, external_id)`` is unique, so a delivery is stored once."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_messages_source_external_id"),
        Index("ix_messages_label_id", "label", "id"),
        Index("ix_messages_lang_id", "lang", "id"),
        Index("ix_messages_received_at", "received_at"),
        Index("ix_messages_ticket", "source", "account", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(ID_CHARS))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_chars: Mapped[int] = mapped_column(Integer)
    lang: Mapped[str | None] = mapped_column(String(MAX_TAG_CHARS), nullable=True)
    label: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[list[str]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: spans behind the label and flags (``Explanation.to_dict()``), when webhook explanations are on
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: the helpdesk account or workspace that delivered it ("" for /v1/classify and the generic provider)
    account: Mapped[str] = mapped_column(String(ACCOUNT_CHARS), default="", server_default="")
    #: the ticket or conversation it belongs to, when the provider says
    ticket_id: Mapped[str | None] = mapped_column(String(ID_CHARS), nullable=True)
    #: probability of ``lang`` when it was detected; ``None`` when the caller gave the language
    lang_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)

    feedback: Mapped[list[Feedback]] = relationship(back_populates="message", order_by="Feedback.id",
                                                    passive_deletes=True)


class Feedback(Base):
    """An agent's correction of a message's label; the newest one counts."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(AGENT_CHARS), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[Message] = relationship(back_populates="feedback")


class LabelHistory(Base):
    """A message's previous label, kept when a re-labelling run replaces it.

    ``(message_id, new_model_version)`` is unique, so a run records a message once.
    """

    __tablename__ = "label_history"
    __table_args__ = (UniqueConstraint("message_id", "new_model_version", name="uq_label_history_message_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(128))
    new_label: Mapped[str] = mapped_column(String(16))
    new_model_version: Mapped[str] = mapped_column(String(128))
    relabelled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboxItem(Base):
    """A verified customer message waiting for (or done with) classification: the durable inbox.

    The webhook route inserts it and answers; the inbox worker classifies pending rows in ``id`` order
    and, in the same transaction, stores the :class:`Message`, marks the row done and updates the ticket.
    ``(provider, external_id)`` is unique (the key includes the account), so a retried delivery is stored once.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("provider", "external_id", name="uq_inbox_provider_external_id"),
        Index("ix_inbox_status_id", "status", "id"),
        Index("ix_inbox_ticket_sent_at", "provider", "account", "ticket_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(ACCOUNT_CHARS), default="")
    ticket_id: Mapped[str | None] = mapped_column(String(ID_CHARS), nullable=True)
    external_id: Mapped[str] = mapped_column(String(ID_CHARS))
    #: cleared once classified when text storage is off
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_chars: Mapped[int] = mapped_column(Integer)
    #: the delivered text was longer than the limit and was cut
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    lang: Mapped[str | None] = mapped_column(String(MAX_TAG_CHARS), nullable=True)
    #: the verified delivery as received (cleared once classified when text storage is off)
    payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: when the customer sent it, by the helpdesk's own clock (when the payload says; bounds replays)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: pending, done or failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)


class Ticket(Base):
    """A helpdesk ticket or conversation: the most severe label of its customer messages so far.

    ``written_label`` / ``written_band`` are what TicketGuard last queued for the helpdesk: a new
    write is queued only when the label or band differs, and a field change that equals them is
    the echo of our own write, not an agent's correction.
    """

    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("provider", "account", "ticket_id", name="uq_tickets_provider_account_ticket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(ACCOUNT_CHARS), default="")
    ticket_id: Mapped[str] = mapped_column(String(ID_CHARS))
    label: Mapped[str] = mapped_column(String(16))
    band: Mapped[str] = mapped_column(String(16))
    #: calibrated probability behind ``band``
    score: Mapped[float] = mapped_column(Float)
    #: the message that set the label (its feedback receives the agent's correction)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    written_label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    written_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _LabelWrite:
    """What a write-back carries, in the outbox and in the dead letters alike."""

    ticket_pk: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(ACCOUNT_CHARS), default="")
    ticket_id: Mapped[str] = mapped_column(String(ID_CHARS))
    label: Mapped[str] = mapped_column(String(16))
    band: Mapped[str] = mapped_column(String(16))
    #: the label written before this one (``None``: first write); a private note goes with a new label only
    previous_label: Mapped[str | None] = mapped_column(String(16), nullable=True)


#: the columns every write-back carries (those of :class:`_LabelWrite`)
LABEL_WRITE_COLUMNS: tuple[str, ...] = tuple(_LabelWrite.__annotations__)


class OutboxItem(_LabelWrite, Base):
    """A write of a ticket's label and band to its helpdesk; retried with backoff, moved to
    :class:`DeadLetter` after the last try."""

    __tablename__ = "outbox"
    # ids are never reused (AUTOINCREMENT on SQLite; sequences elsewhere): a dead letter returns under its id
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: pending, done or superseded (a newer write of the same ticket came first)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DeadLetter(_LabelWrite, Base):
    """A write that failed its last try (or one retrying cannot fix), moved out of the outbox with its
    last error; ``ticketguard outbox retry`` moves it back under its outbox id (``id``)."""

    __tablename__ = "outbox_dead"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: when the write was first queued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    died_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
