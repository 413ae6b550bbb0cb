"""Post-hoc calibration of classifier logits, shaped like scikit-learn estimators.

Both estimators are fitted on held-out (dev) data, never on the data the model was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


class TemperatureScaler:
    """Divide logits by one temperature ``T`` fitted to minimise negative log-likelihood.

    Example:
        >>> scaler = TemperatureScaler().fit(dev_logits, dev_label_ids)
        >>> probs = scaler.predict_proba(test_logits)
    """

    def __init__(self, bounds: tuple[float, float] = (0.05, 20.0)) -> None:
        self.bounds = bounds

    def fit(self, logits: np.ndarray, y: np.ndarray) -> TemperatureScaler:
        logits = np.asarray(logits, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)

        def nll(log_t: float) -> float:
            logp = log_softmax(logits / np.exp(log_t), axis=1)
            return float(-logp[np.arange(len(y)), y].mean())

        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        result = minimize_scalar(nll, bounds=(lo, hi), method="bounded")
        self.temperature_ = float(np.exp(result.x))
        return self

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        return apply_temperature(logits, self.temperature_)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` (rows sum to 1)."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


class FlagThresholds:
    """Per-label probability thresholds for flags, chosen to maximise one-vs-rest F1.

    A flag says "this message shows label L" independently of the primary label, so a
    support team can route, for example, every message with a likely threat.
    """

    def __init__(self, labels: Sequence[str], flagged: Sequence[str], floor: float = 0.2) -> None:
        self.labels = list(labels)
        self.flagged = list(flagged)
        self.floor = floor

    def fit(self, probs: np.ndarray, y: np.ndarray) -> FlagThresholds:
        self.thresholds_: dict[str, float] = {}
        for name in self.flagged:
            k = self.labels.index(name)
            positive = np.asarray(y) == k
            best_t, best_f1 = 0.5, -1.0
            for t in np.round(np.arange(self.floor, 0.951, 0.025), 3):
                pred = probs[:, k] >= t
                tp = float(np.sum(pred & positive))
                f1 = 2 * tp / max(float(pred.sum() + positive.sum()), 1.0)
                if f1 > best_f1:
                    best_t, best_f1 = float(t), f1
            self.thresholds_[name] = best_t
        return self


@dataclass(frozen=True)
class CoveragePoint:
    """Predictions with top probability >= ``threshold``: their share and their accuracy."""

    threshold: float
    coverage: float
    accuracy: float


def coverage_curve(probs: np.ndarray, y: np.ndarray,
                   thresholds: Sequence[float] = tuple(np.round(np.arange(0.2, 1.0, 0.05), 2))) -> list[CoveragePoint]:
    """Coverage and accuracy of the predictions kept when those under each threshold go to review."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    points = []
    for t in thresholds:
        kept = confidence >= t
        points.append(CoveragePoint(float(t), float(kept.mean()) if len(y) else 0.0,
                                    float(correct[kept].mean()) if kept.any() else 1.0))
    return points


class ReviewThreshold:
    """The lowest top probability whose confident part reaches a target accuracy.

    Predictions under the threshold are marked ``review`` (an agent should check them). Fitted on
    calibrated probabilities of held-out rows, scanning thresholds from low to high and keeping
    the first whose predictions at or above it are at least ``target_accuracy`` correct.
    """

    def __init__(self, target_accuracy: float = 0.95, grid: Sequence[float] | None = None) -> None:
        self.target_accuracy = target_accuracy
        self.grid = grid

    def fit(self, probs: np.ndarray, y: np.ndarray) -> ReviewThreshold:
        grid = self.grid if self.grid is not None else np.round(np.arange(0.0, 0.991, 0.01), 2)
        self.threshold_ = float(grid[-1])
        for point in coverage_curve(probs, np.asarray(y), [float(t) for t in grid]):
            if point.coverage > 0 and point.accuracy >= self.target_accuracy:
                self.threshold_ = point.threshold
                break
        return self
