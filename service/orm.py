"""Storage models (SQLAlchemy 2, typed). The schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ticketguard.models.languages import MAX_TAG_CHARS


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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
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

    feedback: Mapped[list[Feedback]] = relationship(back_populates="message", order_by="Feedback.id",
                                                    passive_deletes=True)


class Feedback(Base):
    """An agent's correction of a message's label; the newest one counts."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(128), nullable=True)
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
