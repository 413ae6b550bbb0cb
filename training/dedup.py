"""Near-duplicate detection: character 5-gram Jaccard similarity between messages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


def shingles(text: str, n: int = 5) -> frozenset[str]:
    """Set of character n-grams of the lower-cased, whitespace-collapsed text."""
    text = _SPACES.sub(" ", text.lower()).strip()
    if len(text) <= n:
        return frozenset({text})
    return frozenset(text[i : i + n] for i in range(len(text) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class NearDuplicate:
    first: int
    second: int
    similarity: float


def near_duplicates(texts: Sequence[str], threshold: float = 0.8, n: int = 5) -> list[NearDuplicate]:
    """All pairs (i < j) with Jaccard similarity >= ``threshold``.

    Candidate pairs come from an inverted index over rare shingles, so only pairs that share
    enough n-grams are compared exactly: a pair with Jaccard >= t shares at least
    ``t * min(|a|, |b|)`` shingles.
    """
    sets = [shingles(t, n) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    found = []
    for i, s in enumerate(sets):
        counts: dict[int, int] = defaultdict(int)
        for g in s:
            for j in index[g]:
                if j > i:
                    counts[j] += 1
        for j, shared in counts.items():
            # |A ∩ B| >= t|A ∪ B| >= t·max(|A|,|B|) is necessary for similarity >= t
            if shared >= threshold * max(len(s), len(sets[j])):
                sim = jaccard(s, sets[j])
                if sim >= threshold:
                    found.append(NearDuplicate(i, j, sim))
    return found
