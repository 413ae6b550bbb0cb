"""Explanations: which spans of a message raised a label's probability, found by batched occlusion.

A message is cut into *units*: words (runs of letters, digits and marks) in space-separated
scripts, the tokenizer's pieces in unsegmented scripts (Chinese, Japanese kana), and runs of
symbols such as emoji. Each unit (or, in a long message, each phrase of neighbouring units, so the
cost stays bounded) is removed in turn, and all these variants go through the Classifier's own
``prepare`` -> ``encode`` -> ``forward`` in one batch. A unit's score for a label is how much the
label's calibrated probability drops without it, which is what the label rested on, not where the
model looked (attention). Spans are the best units, neighbours merged, as offsets into the text
as sent (see :func:`~ticketguard.models.text.normalize_with_offsets`).

Occlusion rather than integrated gradients: it needs forward passes only (so it also works for
int8 and TF-IDF artifacts), 13 rows fit the 10x cost budget where 16 gradient steps cost about 48
forward rows, and what it scores is what ERASER's comprehensiveness measures. Both are compared by
``benchmarks/compare_explainers.py``; faithfulness is reported by ``ticketguard evaluate --explain``.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ticketguard.models.classifier import Classifier
from ticketguard.models.labels import LABEL2ID
from ticketguard.models.text import MAX_CHARS, Normalized, normalize_text, normalize_with_offsets

#: most variants (forward-pass rows) per explanation besides the message itself; a message with more
#: units is occluded phrase by phrase first, so an explanation costs a bounded, small batch (12 keeps
#: a ~30-token message under 10x one classification on 2 cores, see benchmarks/bench_explain.py)
MAX_VARIANTS = 12
#: most spans returned per label
MAX_SPANS = 3
#: at most this share of a message's units is returned as spans (ERASER's rationale length)
SPAN_SHARE = 0.2
METHOD = "occlusion"

_UNSEGMENTED = (
    (0x2E80, 0x2FDF), (0x3040, 0x30FF), (0x3100, 0x312F), (0x3190, 0x31FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F),
)
_JOINERS = frozenset({"\u200d"})
#: emoji skin-tone modifiers, part of the emoji before them
_MODIFIERS = (0x1F3FB, 0x1F3FF)


@dataclass(frozen=True)
class Span:
    """A part of the original text and how much a label's probability rests on it.

    Attributes:
        start, end: character offsets into the text as sent (``text[start:end]``).
        text: that part of the text.
        score: drop of the label's calibrated probability when the span is removed (for a span of
            several neighbouring words or phrases that were removed one by one: the largest drop).
    """

    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "score": self.score}


@dataclass(frozen=True)
class Explanation:
    """Spans per explained label: the primary label first, then each flag."""

    spans: dict[str, list[Span]] = field(default_factory=dict)
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method,
                "spans": {label: [s.to_dict() for s in spans] for label, spans in self.spans.items()}}


@dataclass(frozen=True)
class Units:
    """A normalised message and its removable units (``[start, end)`` ranges into ``normalized.text``)."""

    normalized: Normalized
    ranges: list[tuple[int, int]]

    def original(self, text: str, first: int, last: int) -> tuple[int, int, str]:
        """Offsets and text in the original string of units ``first..last`` (inclusive)."""
        start, end = self.normalized.original_span(self.ranges[first][0], self.ranges[last][1])
        return start, end, text[start:end]


def _kind(c: str) -> str:
    code = ord(c)
    if any(a <= code <= b for a, b in _UNSEGMENTED):
        return "unsegmented"
    category = unicodedata.category(c)
    if category[0] in "LN" or c == "_":
        return "word"
    if category[0] == "M" or c in _JOINERS:
        return "mark"
    if category[0] == "S":
        return "symbol"
    return "other"


def _is_modifier(c: str) -> bool:
    return _MODIFIERS[0] <= ord(c) <= _MODIFIERS[1]


def _runs(text: str) -> list[tuple[str, int, int]]:
    """Maximal runs of word or unsegmented characters, and single symbols (an emoji with its
    modifiers and ``ZWJ`` sequence is one); marks stay with what they follow."""
    runs: list[tuple[str, int, int]] = []
    for i, c in enumerate(text):
        kind = _kind(c)
        attached = runs and runs[-1][2] == i and (
            (kind == "mark" and runs[-1][0] != "other")
            or (kind == runs[-1][0] and kind in ("word", "unsegmented"))
            or (kind == "symbol" and runs[-1][0] == "symbol" and (text[i - 1] in _JOINERS or _is_modifier(c))))
        if attached:
            runs[-1] = (runs[-1][0], runs[-1][1], i + 1)
        else:
            runs.append((kind, i, i + 1))
    return [r for r in runs if r[0] not in ("other", "mark")]


def _cut(start: int, end: int, tokens: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """An unsegmented run cut at the tokenizer's piece boundaries (uncovered characters alone)."""
    pieces = sorted({(max(a, start), min(b, end)) for a, b in tokens if min(b, end) > max(a, start)})
    out: list[tuple[int, int]] = []
    position = start
    for a, b in pieces:
        if a < position:  # overlapping pieces (byte fallback): keep the first
            continue
        out += [(i, i + 1) for i in range(position, a)]
        out.append((a, b))
        position = b
    return out + [(i, i + 1) for i in range(position, end)]


def _compose(text: str, keep: Sequence[tuple[int, int]]) -> str:
    """``text`` reduced to the ``keep`` ranges (in order), one space where a gap held whitespace."""
    parts: list[str] = []
    previous_end: int | None = None
    for a, b in keep:
        if previous_end is not None and any(c.isspace() for c in text[previous_end:a]):
            parts.append(" ")
        parts.append(text[a:b])
        previous_end = b
    return normalize_text("".join(parts))


def _complement(length: int, drop: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    keep: list[tuple[int, int]] = []
    position = 0
    for a, b in sorted(drop):
        if a > position:
            keep.append((position, a))
        position = max(position, b)
    if position < length:
        keep.append((position, length))
    return keep


class Explainer:
    """Occlusion explanations and faithfulness probes with one :class:`Classifier`.

    Example:
        >>> explainer = Explainer(Classifier.load("artifacts/default"))
        >>> text = "Refund me by Friday or my lawyer files the lawsuit."
        >>> explainer.explain(text, ["threat"]).spans["threat"][0].text
        'lawsuit'
    """

    def __init__(self, classifier: Classifier, *, max_variants: int = MAX_VARIANTS, max_spans: int = MAX_SPANS,
                 span_share: float = SPAN_SHARE) -> None:
        if max_variants < 1 or max_spans < 1 or not 0 < span_share <= 1:
            raise ValueError(f"bad explainer limits: max_variants={max_variants}, max_spans={max_spans}, "
                             f"span_share={span_share}")
        self.classifier = classifier
        self.max_variants = max_variants
        self.max_spans = max_spans
        self.span_share = span_share

    def units(self, text: str) -> Units:
        """The removable units of ``text`` that the model reads (units past its token limit are left out)."""
        normalized = normalize_with_offsets(text[:MAX_CHARS])
        prefix = self.classifier.manifest.text_prefix
        tokens = [(a - len(prefix), b - len(prefix))
                  for a, b in self.classifier.backend.offsets(prefix + normalized.text) if b > len(prefix)]
        visible = tokens[-1][1] if tokens else 0
        ranges: list[tuple[int, int]] = []
        for kind, start, end in _runs(normalized.text):
            if start >= visible:
                break
            ranges += _cut(start, end, tokens) if kind == "unsegmented" else [(start, end)]
        return Units(normalized, [r for r in ranges if r[0] < visible])

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities (schema order) of already normalised texts, through the Classifier's
        own prepare -> encode -> batches (its size and token budget) -> forward -> calibration.

        Unlike :meth:`Classifier.predict` it refuses no text: an occlusion may leave one empty, and the
        model's answer to that is the point of the occlusion."""
        clf = self.classifier
        encoded = clf.backend.encode([clf.prepare(t) for t in texts])
        return clf.calibrated(clf.logits(clf.batches(encoded)))

    def rationale_size(self, units: Units) -> int:
        """How many candidates (units or phrases) a rationale holds: :attr:`span_share` of the units, 1 to
        ``max_spans``."""
        return max(1, min(self.max_spans, round(self.span_share * len(units.ranges))))

    def _phrase_width(self, n: int) -> int:
        """Units per phrase for ``n > max_variants`` units: the width that lets the second pass refine
        the most units (ties: narrower phrases); when none can be refined, ``max_variants`` phrases."""
        best = (0, 0, math.ceil(n / self.max_variants))
        for phrases in range(1, self.max_variants):
            width = math.ceil(n / phrases)
            refined = (self.max_variants - phrases) // width * width
            best = max(best, (refined, -width, width))
        return best[2]

    def without(self, units: Units, drop: Sequence[int]) -> str:
        """The normalised message with units ``drop`` removed (comprehensiveness, occlusion)."""
        body = units.normalized.text
        return _compose(body, _complement(len(body), [units.ranges[i] for i in drop]))

    def only(self, units: Units, keep: Sequence[int]) -> str:
        """The normalised message reduced to units ``keep`` (sufficiency)."""
        return _compose(units.normalized.text, [units.ranges[i] for i in sorted(keep)])

    def rationales(self, text: str, labels: Sequence[str]) -> tuple[Units, dict[str, list[tuple[list[int], float]]]]:
        """Per label, the chosen runs of units (neighbours merged) with their occlusion scores.

        A message with at most ``max_variants`` units is occluded unit by unit in one batch. A longer
        one is occluded in two: first phrases of neighbouring units, then the single units of the
        phrases whose removal moved the labels most, as far as the rest of the budget goes (a very
        long message keeps phrases); so one explanation costs at most ``1 + max_variants`` rows.

        Raises:
            ValueError: a label is not in the schema.
        """
        unknown = [label for label in labels if label not in LABEL2ID]
        if unknown:
            raise ValueError(f"unknown labels {unknown}")
        units = self.units(text)
        if not units.ranges or not labels:
            return units, {label: [] for label in labels}
        n = len(units.ranges)
        columns = [LABEL2ID[label] for label in dict.fromkeys(labels)]
        if n <= self.max_variants:
            candidates = [[i] for i in range(n)]
            probs = self.probabilities([units.normalized.text, *(self.without(units, c) for c in candidates)])
            drops = probs[0] - probs[1:]
        else:
            width = self._phrase_width(n)
            phrases = [list(range(i, min(i + width, n))) for i in range(0, n, width)]
            probs = self.probabilities([units.normalized.text, *(self.without(units, p) for p in phrases)])
            phrase_drops = probs[0] - probs[1:]
            budget = self.max_variants - len(phrases)
            refined: set[int] = set()
            for k in np.argsort(-phrase_drops[:, columns].max(axis=1), kind="stable"):
                if len(phrases[k]) > budget:
                    break
                refined.add(int(k))
                budget -= len(phrases[k])
            singles = [[i] for k in sorted(refined) for i in phrases[k]]
            single_drops = (probs[0] - self.probabilities([self.without(units, c) for c in singles])
                            if singles else np.zeros((0, probs.shape[1])))
            rest = [k for k in range(len(phrases)) if k not in refined]
            candidates = singles + [phrases[k] for k in rest]
            drops = np.concatenate([single_drops, phrase_drops[rest]])
            order = sorted(range(len(candidates)), key=lambda c: candidates[c][0])
            candidates, drops = [candidates[c] for c in order], drops[order]
        keep = self.rationale_size(units)
        out: dict[str, list[tuple[list[int], float]]] = {}
        for label, column in zip(dict.fromkeys(labels), columns, strict=True):
            scores = drops[:, column]
            chosen = sorted(int(c) for c in np.argsort(-scores, kind="stable")[:keep] if scores[c] > 0)
            runs: list[tuple[list[int], float]] = []
            for c in chosen:  # candidates that touch merge into one span
                if runs and runs[-1][0][-1] == candidates[c][0] - 1:
                    runs[-1] = (runs[-1][0] + candidates[c], max(runs[-1][1], float(scores[c])))
                else:
                    runs.append((list(candidates[c]), float(scores[c])))
            out[label] = sorted(runs, key=lambda r: -r[1])
        return units, out

    def explain(self, text: str, labels: Sequence[str]) -> Explanation:
        """The spans of ``text`` that most raised each of ``labels`` (a prediction's label and flags).

        A label whose probability no unit raises gets an empty list.

        Raises:
            ValueError: a label is not in the schema.
        """
        units, chosen = self.rationales(text, labels)
        spans = {}
        for label, runs in chosen.items():
            spans[label] = [Span(*units.original(text, run[0], run[-1]), round(score, 6)) for run, score in runs]
        return Explanation(spans)
