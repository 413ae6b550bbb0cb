"""The label-history table: a message's previous label, kept when a re-labelling run replaces it.

Mapped on the service's declarative ``Base`` so it shares the metadata (and foreign keys) of
``messages``; the table itself is created by the migration ``0002_label_history``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketguard.service.orm import Base, UTCDateTime, utcnow


class LabelHistory(Base):
    """One replaced label; ``(message_id, new_model_version)`` is unique, so a run records a message once."""

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
