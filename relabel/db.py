"""Re-label the service's ``messages`` table in place, keeping each previous label in ``label_history``.

Messages are read in keyset-paginated chunks (``id > last ORDER BY id LIMIT n``), only those not
already labelled by the new model. Each chunk is one transaction: the history rows and the
updated labels commit together or not at all, so a run stopped at any moment resumes by simply
running again: committed messages now carry the new ``model_version`` and are skipped, the
rest are labelled once. (The unique ``(message_id, new_model_version)`` of the history table
guards the same invariant in the schema.)

Messages without text (stored with ``store_text`` off) or with empty text cannot be
re-labelled; they are reported as rejects and left untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update

from ticketguard.models.langdetect import LanguageDetector
from ticketguard.models.prediction import Unclassifiable
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.relabel.summary import Summary
from ticketguard.service.orm import LabelHistory, Message

logger = logging.getLogger(__name__)

NO_TEXT = "no stored text"


@dataclass(frozen=True)
class DbRow:
    id: int
    text: str | None
    lang: str | None
    label: str
    scores: dict[str, Any]
    model_version: str


def pending_count(engine: Engine, model_version: str) -> int:
    """Messages not yet labelled by ``model_version`` (drives the progress bar)."""
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Message)
                                     .where(Message.model_version != model_version)) or 0)


def _pages(engine: Engine, model_version: str, chunk_rows: int) -> Iterator[list[DbRow]]:
    messages = Message.__table__
    query = (select(messages.c.id, messages.c.text, messages.c.lang, messages.c.label, messages.c.scores,
                    messages.c.model_version)
             .where(messages.c.id > bindparam("last"), messages.c.model_version != model_version)
             .order_by(messages.c.id).limit(chunk_rows))
    last = 0
    while True:
        with engine.connect() as connection:
            page = [DbRow(*row) for row in connection.execute(query, {"last": last})]
        if not page:
            return
        last = page[-1].id
        yield page


def relabel_database(engine: Engine, labeller: LocalEngine, *, chunk_rows: int = 1024,
                     progress: Callable[[int], None] | None = None,
                     rejects: Callable[[list[dict[str, Any]]], None] | None = None,
                     detector: LanguageDetector | None = None) -> Summary:
    """Re-label every message not yet labelled by ``labeller``'s model.

    Args:
        engine: SQLAlchemy engine on the service database (schema at head, ``label_history`` included).
        labeller: the local engine (one or several worker processes).
        chunk_rows: messages per page and per transaction.
        progress: called with the number of messages handled after each committed chunk.
        rejects: called with the ``{"row", "id", "reason"}`` entries of each chunk.
        detector: detects and stores the language (with its confidence) of messages stored without one
            (default: a new one).

    Returns:
        The run's summary (new labels, languages, old x new shift).
    """
    version = labeller.model_version
    summary = Summary(model_version=version)
    detector = detector or LanguageDetector()
    table = Message.__table__
    items = ((page, [row.text for row in page]) for page in _pages(engine, version, chunk_rows))
    # a stored language is kept; a detected one fills only a missing language
    set_label = (update(table).where(table.c.id == bindparam("_id"))
                 .values(label=bindparam("_label"), scores=bindparam("_scores"), flags=bindparam("_flags"),
                         model_version=bindparam("_version"), lang=func.coalesce(table.c.lang, bindparam("_lang")),
                         lang_confidence=func.coalesce(table.c.lang_confidence, bindparam("_lang_confidence"))))
    for page, results in labeller.classify(items):
        now = datetime.now(UTC)
        updates, history, bad = [], [], []
        for row, p in zip(page, results, strict=True):
            if isinstance(p, Unclassifiable):
                reason = NO_TEXT if row.text is None else p.reason
                summary.reject(reason)
                bad.append({"row": row.id, "id": row.id, "reason": reason})
                continue
            detected = detector.detect(row.text) if row.lang is None and row.text is not None else None
            summary.add(new=p.label, lang=row.lang or (detected.lang if detected else None), old=row.label)
            updates.append({"_id": row.id, "_label": p.label, "_scores": p.scores, "_flags": p.flags,
                            "_version": version, "_lang": detected.lang if detected else None,
                            "_lang_confidence": detected.confidence if detected else None})
            history.append({"message_id": row.id, "label": row.label, "scores": row.scores,
                            "model_version": row.model_version, "new_label": p.label,
                            "new_model_version": version, "relabelled_at": now})
        with engine.begin() as connection:  # history and new labels commit together
            if history:
                connection.execute(insert(LabelHistory.__table__), history)
                connection.execute(set_label, updates)
        if rejects and bad:
            rejects(bad)
        if progress:
            progress(len(page))
    return summary
