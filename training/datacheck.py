"""``ticketguard data check``: schema, labels, languages, lengths, duplicates, split leakage, counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABELS
from ticketguard.models.languages import PRIMARY_LANGUAGES, SECONDARY_LANGUAGES
from ticketguard.training.corpus import CorpusRow, corpus_files, read_rows
from ticketguard.training.dedup import near_duplicates

#: within one language, at most this share of rows may have a near-duplicate
MAX_DUPLICATE_ROW_SHARE = 0.01
#: minimum rows per label that the shipped corpus promises for each language
CORPUS_TARGETS = {**{lang: 300 for lang in PRIMARY_LANGUAGES}, **{lang: 80 for lang in SECONDARY_LANGUAGES}}
#: minimum rows per language of each shipped evaluation-only set (the challenge, public-register and registers splits),
#: checked for every given path that holds rows of split ``challenge``
CHALLENGE_TARGETS = {**{lang: 100 for lang in PRIMARY_LANGUAGES}, **{lang: 40 for lang in SECONDARY_LANGUAGES}}


@dataclass
class CheckReport:
    rows: list[CorpusRow]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: row id -> the given path (file or directory) the row was read from
    origins: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, Counter]:
        """label counts per language."""
        table: dict[str, Counter] = defaultdict(Counter)
        for row in self.rows:
            table[row.lang][row.label] += 1
        return dict(table)

    def evaluation_sets(self) -> dict[Path, Counter]:
        """Rows per language of each given path that holds evaluation-only (``challenge``) rows.

        The evaluation-only splits share that split name; they are told apart by where
        their rows were read from, so each one is counted and checked on its own.
        """
        table: dict[Path, Counter] = defaultdict(Counter)
        for row in self.rows:
            if row.split == "challenge":
                table[self.origins[row.id]][row.lang] += 1
        return dict(table)


def check_corpus(
    paths: Sequence[Path],
    *,
    threshold: float = 0.8,
    require_split: bool = True,
    min_per_label: dict[str, int] | None = None,
) -> CheckReport:
    """Validate every file under ``paths`` and collect problems instead of stopping at the first.

    Give the corpus and the challenge split together: near-duplicates are looked for across all
    of them, so a challenge row that leaks into training is an error like any split leakage.

    Errors: unreadable or invalid rows (file and line named), duplicate ids, exact duplicate
    texts, near-duplicates (5-gram Jaccard >= ``threshold``) across splits, a language whose
    near-duplicate rows exceed 1%, languages below ``min_per_label``.
    """
    report = CheckReport(rows=[])
    files: list[tuple[Path, Path]] = []
    for path in paths:
        try:
            files += [(path, file) for file in corpus_files(path)]
        except DataError as err:
            report.errors.append(str(err))
    if report.errors:
        return report
    ids: dict[str, str] = {}
    for path, file in files:
        try:
            for row in read_rows(file, require_split=require_split):
                if row.id in ids:
                    report.errors.append(f"{file}: duplicate id {row.id!r} (first in {ids[row.id]})")
                    continue
                ids[row.id] = str(file)
                report.origins[row.id] = path
                report.rows.append(row)
        except DataError as err:
            report.errors.append(str(err))

    by_lang: dict[str, list[CorpusRow]] = defaultdict(list)
    for row in report.rows:
        by_lang[row.lang].append(row)
    for lang, rows in sorted(by_lang.items()):
        pairs = near_duplicates([r.text for r in rows], threshold=threshold)
        involved = {p.first for p in pairs} | {p.second for p in pairs}
        for p in pairs:
            a, b = rows[p.first], rows[p.second]
            if a.split != b.split and require_split:
                report.errors.append(
                    f"split leakage: {a.id} ({a.split}) and {b.id} ({b.split}) are near-duplicates "
                    f"(Jaccard {p.similarity:.2f})"
                )
            elif a.text.strip() == b.text.strip():
                report.errors.append(f"exact duplicate text: {a.id} and {b.id}")
        share = len(involved) / max(len(rows), 1)
        if share > MAX_DUPLICATE_ROW_SHARE:
            report.errors.append(
                f"{lang}: {len(involved)} of {len(rows)} rows ({share:.1%}) have a near-duplicate "
                f"(Jaccard >= {threshold}); at most {MAX_DUPLICATE_ROW_SHARE:.0%} allowed"
            )
        elif pairs:
            report.warnings.append(f"{lang}: {len(pairs)} near-duplicate pair(s): " + ", ".join(
                f"{rows[p.first].id}~{rows[p.second].id}" for p in pairs[:5]))
    for lang, minimum in (min_per_label or {}).items():
        counts = Counter(r.label for r in by_lang.get(lang, []) if r.split != "challenge")
        short = [f"{label}={counts[label]}" for label in LABELS if counts[label] < minimum]
        if short:
            report.errors.append(f"{lang}: fewer than {minimum} rows for {', '.join(short)}")
    if min_per_label:
        for path, per_lang in report.evaluation_sets().items():
            for lang, minimum in CHALLENGE_TARGETS.items():
                if per_lang[lang] < minimum:
                    report.errors.append(f"{path}: {lang} has {per_lang[lang]} evaluation rows, "
                                         f"at least {minimum} expected")
    return report
