"""Evaluation figures, as typed results: per label, per language, calibration, false alarms, review.

Macro-F1 averages over the labels present in the gold data, so a set without threat rows (such
as a public abuse/complaint/neutral set) is scored on its own labels, and a wrong ``threat``
prediction counts as a miss for the gold label without adding an F1 term of its own.

Macro-F1 carries a 95% percentile-bootstrap interval over the set's rows (per language too), and
two models on one set are compared by a paired bootstrap of their difference: a few hundred rows
leave several points of sampling noise, and a report should say how much (Efron & Tibshirani 1993;
Koehn 2004 for paired resampling). Resamples come from a fixed seed, so a report repeats exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from ticketguard.models.calibration import CoveragePoint, coverage_curve
from ticketguard.models.labels import BENIGN_LABELS, HARMFUL_LABELS, LABELS

#: share of complaint + neutral messages assumed in real support traffic
BENIGN_PRIOR = 0.9
#: bootstrap resamples behind every interval, and the intervals' two-sided level
BOOTSTRAP_RESAMPLES = 1000
INTERVAL_LEVEL = 0.95
_BENIGN = [LABELS.index(name) for name in sorted(BENIGN_LABELS)]
_HARMFUL = [LABELS.index(name) for name in sorted(HARMFUL_LABELS)]


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Interval:
    """A two-sided :data:`INTERVAL_LEVEL` percentile-bootstrap interval."""

    low: float
    high: float

    def describe(self, *, signed: bool = False) -> str:
        """``[0.931, 0.951]``; ``signed`` for a difference: ``[-0.064, +0.035]``."""
        sign = "+" if signed else ""
        return f"[{self.low:{sign}.3f}, {self.high:{sign}.3f}]"


@dataclass(frozen=True)
class LanguageScores:
    n: int
    accuracy: float
    macro_f1: float
    #: bootstrap interval over this language's rows
    macro_f1_interval: Interval
    harmful_false_flag_rate: float


@dataclass(frozen=True)
class ReliabilityBin:
    """Messages whose top probability falls in ``(lower, upper]``: their mean confidence and accuracy."""

    lower: float
    upper: float
    n: int
    confidence: float
    accuracy: float


@dataclass(frozen=True)
class Metrics:
    """Every report figure of one model on one labelled set."""

    n: int
    accuracy: float
    macro_f1: float
    #: bootstrap interval over the set's rows
    macro_f1_interval: Interval
    labels_scored: list[str]
    per_label: dict[str, LabelScores]
    per_language: dict[str, LanguageScores]
    ece: float
    #: share of complaint + neutral messages predicted abuse or threat
    harmful_false_flag_rate: float
    #: of all abuse/threat predictions, the share that are benign when BENIGN_PRIOR of traffic is benign
    harmful_false_discovery_at_prior: float | None
    confusion: list[list[int]]
    reliability: list[ReliabilityBin]
    coverage_curve: list[CoveragePoint]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reliability_bins(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> list[ReliabilityBin]:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            out.append(ReliabilityBin(float(lo), float(hi), int(mask.sum()), float(confidence[mask].mean()),
                                      float(correct[mask].mean())))
    return out


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Confidence-binned ECE of the top-1 prediction."""
    return float(sum(b.n / len(y) * abs(b.accuracy - b.confidence) for b in reliability_bins(probs, y, bins)))


def harmful_false_flag_rate(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of complaint and neutral messages predicted as abuse or threat."""
    benign = np.isin(y, _BENIGN)
    return float((benign & np.isin(pred, _HARMFUL)).sum() / max(benign.sum(), 1))


def _false_discovery_at_prior(y: np.ndarray, pred: np.ndarray) -> float | None:
    harmful_rows = np.isin(y, _HARMFUL)
    if not harmful_rows.any() or not np.isin(y, _BENIGN).any():
        return None
    hit_rate = float(np.isin(pred[harmful_rows], _HARMFUL).mean())
    false_rate = harmful_false_flag_rate(y, pred)
    flagged = BENIGN_PRIOR * false_rate + (1 - BENIGN_PRIOR) * hit_rate
    return float(BENIGN_PRIOR * false_rate / flagged) if flagged else 0.0


def bootstrap_samples(n: int, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Row indices of ``resamples`` bootstrap samples of ``n`` rows, shape ``(resamples, n)``."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n), dtype=np.int32)


def resampled_macro_f1(y: np.ndarray, pred: np.ndarray, samples: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Macro-F1 over ``labels`` on each bootstrap sample (a row of ``samples``), as scikit-learn's
    ``f1_score(..., labels=labels, average="macro", zero_division=0)`` computes it on one."""
    gold, predicted = y[samples], pred[samples]
    per_label = []
    for label in labels:
        is_gold, is_predicted = gold == label, predicted == label
        tp = (is_gold & is_predicted).sum(axis=1)
        errors = (is_gold ^ is_predicted).sum(axis=1)  # false positives + false negatives
        per_label.append(np.where(2 * tp + errors > 0, 2 * tp / np.maximum(2 * tp + errors, 1), 0.0))
    return np.mean(per_label, axis=0)


def percentile_interval(values: np.ndarray) -> Interval:
    tail = 100 * (1 - INTERVAL_LEVEL) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(round(float(low), 4), round(float(high), 4))


def macro_f1_interval(y: np.ndarray, pred: np.ndarray, labels: Sequence[int]) -> Interval:
    """Bootstrap interval of macro-F1 over ``labels`` for gold ids ``y`` and predicted ids ``pred``."""
    return percentile_interval(resampled_macro_f1(y, pred, bootstrap_samples(len(y)), labels))


@dataclass(frozen=True)
class Difference:
    """Paired-bootstrap intervals of one model's macro-F1 minus another's on the same rows: over the
    whole set and within each language (an interval that excludes 0 is a difference the rows can tell)."""

    overall: Interval
    per_language: dict[str, Interval]


def _paired_interval(y: np.ndarray, pred: np.ndarray, reference: np.ndarray) -> Interval:
    labels = sorted(set(y.tolist()))
    samples = bootstrap_samples(len(y))
    return percentile_interval(resampled_macro_f1(y, pred, samples, labels)
                               - resampled_macro_f1(y, reference, samples, labels))


def macro_f1_difference(y: Sequence[int], pred: Sequence[int], reference: Sequence[int],
                        langs: Sequence[str]) -> Difference:
    """Macro-F1 of ``pred`` minus that of ``reference`` on the same rows (over the gold labels present in
    the set, or in the language), as paired-bootstrap intervals."""
    y_arr, pred_arr, reference_arr, langs_arr = map(np.asarray, (y, pred, reference, langs))
    per_language = {}
    for lang in sorted(set(langs)):
        mask = langs_arr == lang
        per_language[lang] = _paired_interval(y_arr[mask], pred_arr[mask], reference_arr[mask])
    return Difference(_paired_interval(y_arr, pred_arr, reference_arr), per_language)


def compute_metrics(y: Sequence[int], probs: np.ndarray, langs: Sequence[str]) -> Metrics:
    """All report figures for gold label ids ``y`` and calibrated probabilities ``probs``."""
    y_arr = np.asarray(y)
    pred = probs.argmax(axis=1)
    ids = list(range(len(LABELS)))
    scored = sorted(set(y_arr.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(y_arr, pred, labels=ids, zero_division=0)
    langs_arr = np.asarray(langs)
    per_language = {}
    for lang in sorted(set(langs)):
        mask = langs_arr == lang
        present = sorted(set(y_arr[mask].tolist()))
        per_language[lang] = LanguageScores(
            n=int(mask.sum()),
            accuracy=float(accuracy_score(y_arr[mask], pred[mask])),
            macro_f1=float(f1_score(y_arr[mask], pred[mask], labels=present, average="macro", zero_division=0)),
            macro_f1_interval=macro_f1_interval(y_arr[mask], pred[mask], present),
            harmful_false_flag_rate=harmful_false_flag_rate(y_arr[mask], pred[mask]),
        )
    return Metrics(
        n=int(len(y_arr)),
        accuracy=float(accuracy_score(y_arr, pred)),
        macro_f1=float(f1_score(y_arr, pred, labels=scored, average="macro", zero_division=0)),
        macro_f1_interval=macro_f1_interval(y_arr, pred, scored),
        labels_scored=[LABELS[i] for i in scored],
        per_label={name: LabelScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
                   for i, name in enumerate(LABELS)},
        per_language=per_language,
        ece=expected_calibration_error(probs, y_arr),
        harmful_false_flag_rate=harmful_false_flag_rate(y_arr, pred),
        harmful_false_discovery_at_prior=_false_discovery_at_prior(y_arr, pred),
        confusion=confusion_matrix(y_arr, pred, labels=ids).tolist(),
        reliability=reliability_bins(probs, y_arr),
        coverage_curve=coverage_curve(probs, y_arr),
    )
