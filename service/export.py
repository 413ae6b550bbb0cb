"""Agent corrections as corpus-format rows (``id, text, label, lang, source, split``) for retraining.

Only corrections that make valid corpus rows are exported: the text must have been stored
(``store_text`` on), fit the corpus length bounds, and the language must be known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ticketguard.data import TEXT_MAX_CHARS, TEXT_MIN_CHARS
from ticketguard.models.languages import normalize_lang
from ticketguard.service import repository

_AGENT = re.compile(r"[^A-Za-z0-9._@-]+")


@dataclass
class ExportReport:
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def correction_rows(*, session: Session, report: ExportReport) -> Iterator[dict[str, object]]:
    """One corpus row per corrected message (its newest correction), oldest message first.

    Example:
        >>> next(correction_rows(session=s, report=ExportReport()))
        {'id': 'feedback-zendesk-17', 'text': '...', 'label': 'threat', 'lang': 'en',
         'source': 'feedback:alice', 'split': 'train', 'tags': []}
    """
    for message, feedback in repository.iter_corrections(session=session):
        text = (message.text or "").strip()
        lang = normalize_lang(message.lang, message.text)
        if message.text is None:
            report.skip("text not stored")
        elif not TEXT_MIN_CHARS <= len(text) <= TEXT_MAX_CHARS:
            report.skip(f"text outside {TEXT_MIN_CHARS}..{TEXT_MAX_CHARS} characters")
        elif lang is None:
            report.skip("language unknown")
        else:
            agent = _AGENT.sub("-", feedback.agent).strip("-") if feedback.agent else ""
            report.written += 1
            yield {"id": f"feedback-{message.source}-{message.id}", "text": text, "label": feedback.label,
                   "lang": lang, "source": f"feedback:{agent or 'unknown'}", "split": "train", "tags": []}
