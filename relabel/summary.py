"""What a re-labelling run did: counts per new label and per language, rejects per reason, and,
when rows carried a previous label, the old x new label-shift table."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ticketguard.models.labels import LABELS
from ticketguard.models.languages import UNKNOWN_LANG
from ticketguard.relabel.writers import atomic_write_bytes


@dataclass
class Summary:
    """Counters of a run; JSON-able so a checkpoint can carry it across a resume.

    Example:
        >>> s = Summary(model_version="v2")
        >>> s.add(new="abuse", lang="en", old="neutral")
        >>> s.shift["neutral"]["abuse"], s.labels["abuse"]
        (1, 1)
    """

    model_version: str = ""
    rows: int = 0
    labelled: int = 0
    rejected: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    #: shift[old][new] = rows that had label ``old`` and now have ``new``
    shift: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, *, new: str, lang: Any = None, old: Any = None) -> None:
        self.rows += 1
        self.labelled += 1
        self.labels[new] += 1
        self.languages[str(lang) if lang not in (None, "") else UNKNOWN_LANG] += 1
        if old not in (None, ""):
            self.shift.setdefault(str(old), Counter())[new] += 1

    def reject(self, reason: str) -> None:
        self.rows += 1
        self.rejected += 1
        self.reasons[reason] += 1

    @property
    def changed(self) -> int:
        """Rows whose previous label differs from the new one."""
        return sum(n for old, row in self.shift.items() for new, n in row.items() if old != new)

    def to_dict(self) -> dict[str, Any]:
        labels = {name: self.labels.get(name, 0) for name in LABELS}
        labels.update({k: v for k, v in sorted(self.labels.items()) if k not in labels})
        return {
            "model_version": self.model_version,
            "rows": self.rows,
            "labelled": self.labelled,
            "rejected": self.rejected,
            "labels": labels,
            "languages": dict(sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            "rejects": dict(sorted(self.reasons.items())),
            "label_shift": {old: dict(sorted(row.items())) for old, row in sorted(self.shift.items())},
            "changed": self.changed,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Summary:
        if not payload:
            return cls()
        return cls(model_version=payload["model_version"], rows=payload["rows"], labelled=payload["labelled"],
                   rejected=payload["rejected"], labels=Counter({k: v for k, v in payload["labels"].items() if v}),
                   languages=Counter(payload["languages"]), reasons=Counter(payload["rejects"]),
                   shift={old: Counter(row) for old, row in payload["label_shift"].items()})

    def write(self, path: Path) -> None:
        atomic_write_bytes(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"))

    def render(self, console: Console) -> None:
        """Print the counts and the label-shift table."""
        console.print(f"[bold]{self.labelled}[/] rows labelled with [bold]{self.model_version}[/], "
                      f"{self.rejected} rejected")
        labels = Table("label", "rows", "share", title="new labels")
        for name, n in self.to_dict()["labels"].items():
            labels.add_row(name, str(n), f"{n / self.labelled:.1%}" if self.labelled else "-")
        console.print(labels)
        langs = Table("language", "rows", title="languages")
        for lang, n in self.to_dict()["languages"].items():
            langs.add_row(lang, str(n))
        console.print(langs)
        if self.reasons:
            rejects = Table("reason", "rows", title="rejected rows")
            for reason, n in sorted(self.reasons.items()):
                rejects.add_row(reason, str(n))
            console.print(rejects)
        if self.shift:
            columns = list(LABELS) + sorted({n for row in self.shift.values() for n in row} - set(LABELS))
            shift = Table("old \\ new", *columns, title=f"label shift ({self.changed} rows changed)")
            olds = [o for o in LABELS if o in self.shift] + sorted(set(self.shift) - set(LABELS))
            for old in olds:
                shift.add_row(old, *(_cell(self.shift[old].get(new, 0), old == new) for new in columns))
            console.print(shift)


def _cell(n: int, diagonal: bool) -> str:
    return f"[dim]{n}[/]" if diagonal else str(n)
