import numpy as np
import pytest

from ticketguard.models.calibration import FlagThresholds, TemperatureScaler, apply_temperature


def test_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 5))
    y = np.array([rng.choice(5, p=p) for p in apply_temperature(true_logits, 1.0)])
    overconfident = true_logits * 3.0  # a model three times too sure of itself
    scaler = TemperatureScaler().fit(overconfident, y)
    assert scaler.temperature_ == pytest.approx(3.0, rel=0.1)
    probs = scaler.predict_proba(overconfident)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_thresholds_pick_the_best_f1_cut():
    labels = ["a", "b"]
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.3, 0.7], [0.1, 0.9]])
    y = np.array([0, 0, 1, 1, 1])
    fitted = FlagThresholds(labels, ["b"]).fit(probs, y)
    assert set(fitted.thresholds_) == {"b"}
    assert 0.4 < fitted.thresholds_["b"] <= 0.65
