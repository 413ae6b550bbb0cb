"""Inter-annotator agreement: a blind sample for a second labelling pass, and Cohen's kappa per language."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABELS
from ticketguard.training.corpus import CorpusRow


def blind_sample(rows: Sequence[CorpusRow], *, fraction: float = 0.1, seed: int = 7) -> list[dict]:
    """A random ``fraction`` of each language, with id, lang and text only (no label)."""
    by_lang: dict[str, list[CorpusRow]] = defaultdict(list)
    for row in rows:
        by_lang[row.lang].append(row)
    rng = random.Random(seed)
    sample = []
    for lang in sorted(by_lang):
        members = sorted(by_lang[lang], key=lambda r: r.id)
        k = max(1, round(fraction * len(members)))
        sample += [{"id": r.id, "lang": r.lang, "text": r.text} for r in rng.sample(members, k)]
    return sample


def read_second_pass(path: Path) -> dict[str, str]:
    """``{id: label}`` from a JSONL file of ``{"id", "label"}`` objects."""
    labels = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            row_id, label = item["id"], item["label"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise DataError(f"{path}:{lineno}: expected a JSON object with 'id' and 'label'") from err
        if label not in LABELS:
            raise DataError(f"{path}:{lineno}: unknown label {label!r}")
        labels[row_id] = label
    return labels


def agreement(rows: Sequence[CorpusRow], second: dict[str, str]) -> dict[str, dict]:
    """Cohen's kappa and raw agreement per language (and ``all``) between corpus and second-pass labels."""
    from sklearn.metrics import cohen_kappa_score  # lazy: the data commands start without sklearn

    by_id = {r.id: r for r in rows}
    unknown = sorted(set(second) - set(by_id))
    if unknown:
        raise DataError(f"second pass labels unknown ids, e.g. {unknown[:3]}")
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row_id, label in second.items():
        row = by_id[row_id]
        pairs[row.lang].append((row.label, label))
        pairs["all"].append((row.label, label))
    result = {}
    for lang, items in sorted(pairs.items()):
        first, other = zip(*items, strict=False)
        result[lang] = {
            "n": len(items),
            "agreement": sum(a == b for a, b in items) / len(items),
            "kappa": float(cohen_kappa_score(first, other, labels=list(LABELS))),
        }
    return result
