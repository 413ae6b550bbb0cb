"""Evaluation figures, as typed results: per label, per language, calibration, false alarms, review.

Macro-F1 averages over the labels present in the gold data, so a set without threat rows (such
as a public abuse/complaint/neutral set) is scored on its own labels, and a wrong ``threat``
prediction counts as a miss for the gold label without adding an F1 term of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from ticketguard.models.calibration import CoveragePoint, coverage_curve
from ticketguard.models.labels import HARMFUL_LABELS, LABELS

#: share of complaint + neutral messages assumed in real support traffic
BENIGN_PRIOR = 0.9
_BENIGN = [LABELS.index("complaint"), LABELS.index("neutral")]
_HARMFUL = [LABELS.index(name) for name in sorted(HARMFUL_LABELS)]


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LanguageScores:
    n: int
    accuracy: float
    macro_f1: float
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
            harmful_false_flag_rate=harmful_false_flag_rate(y_arr[mask], pred[mask]),
        )
    return Metrics(
        n=int(len(y_arr)),
        accuracy=float(accuracy_score(y_arr, pred)),
        macro_f1=float(f1_score(y_arr, pred, labels=scored, average="macro", zero_division=0)),
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
