"""Evaluation metrics: per label, per language, calibration and harmful false-flag rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from ticketguard.models.labels import HARMFUL_LABELS, LABELS


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Confidence-binned ECE of the top-1 prediction."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def harmful_false_flag_rate(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of complaint and neutral messages predicted as abuse or threat."""
    benign = np.isin(y, [LABELS.index("complaint"), LABELS.index("neutral")])
    harmful = np.isin(pred, [LABELS.index(name) for name in HARMFUL_LABELS])
    return float((benign & harmful).sum() / max(benign.sum(), 1))


def compute_metrics(y: Sequence[int], probs: np.ndarray, langs: Sequence[str]) -> dict:
    """All report figures for label ids ``y`` and calibrated probabilities ``probs``."""
    y = np.asarray(y)
    pred = probs.argmax(axis=1)
    ids = list(range(len(LABELS)))
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    per_language = {}
    langs_arr = np.asarray(langs)
    for lang in sorted(set(langs)):
        mask = langs_arr == lang
        present = sorted(set(y[mask].tolist()))
        per_language[lang] = {
            "n": int(mask.sum()),
            "accuracy": float(accuracy_score(y[mask], pred[mask])),
            "macro_f1": float(f1_score(y[mask], pred[mask], labels=present, average="macro", zero_division=0)),
        }
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=ids, average="macro", zero_division=0)),
        "per_label": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(LABELS)
        },
        "per_language": per_language,
        "ece": expected_calibration_error(probs, y),
        "harmful_false_flag_rate": harmful_false_flag_rate(y, pred),
        "confusion": confusion_matrix(y, pred, labels=ids).tolist(),
    }
