"""Bootstrap intervals of macro-F1: what scikit-learn computes on each resample, repeatable, paired."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from ticketguard.training.metrics import (
    bootstrap_samples,
    compute_metrics,
    macro_f1_difference,
    resampled_macro_f1,
)


def _labels_and_predictions(n: int = 400, accuracy: float = 0.8, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    return y, np.where(rng.random(n) < accuracy, y, rng.integers(0, 5, n))


def test_each_resample_scores_as_scikit_learn_does() -> None:
    y, pred = _labels_and_predictions()
    pred[pred == 4] = 3  # a label never predicted: its F1 is 0, as with zero_division=0
    samples = bootstrap_samples(len(y), resamples=25)
    expected = [f1_score(y[rows], pred[rows], labels=[0, 1, 2, 3, 4], average="macro", zero_division=0)
                for rows in samples]
    np.testing.assert_allclose(resampled_macro_f1(y, pred, samples, [0, 1, 2, 3, 4]), expected, atol=1e-12)


def test_the_interval_holds_the_estimate_repeats_and_narrows_with_more_rows() -> None:
    y, pred = _labels_and_predictions()
    probs = np.eye(5)[pred] * 0.9 + 0.02
    small = compute_metrics(y.tolist(), probs, ["en"] * len(y))
    assert small.macro_f1_interval.low < small.macro_f1 < small.macro_f1_interval.high
    assert small.macro_f1_interval == compute_metrics(y.tolist(), probs, ["en"] * len(y)).macro_f1_interval
    assert small.per_language["en"].macro_f1_interval == small.macro_f1_interval
    y4, pred4 = np.tile(y, 4), np.tile(pred, 4)
    large = compute_metrics(y4.tolist(), np.eye(5)[pred4] * 0.9 + 0.02, ["en"] * len(y4))
    width = small.macro_f1_interval.high - small.macro_f1_interval.low
    assert large.macro_f1_interval.high - large.macro_f1_interval.low < 0.7 * width


def test_a_paired_difference_excludes_zero_only_when_the_rows_can_tell() -> None:
    y, pred = _labels_and_predictions(accuracy=0.8)
    langs = ["en"] * 300 + ["ro"] * 100
    same = macro_f1_difference(y.tolist(), pred.tolist(), pred.tolist(), langs)
    assert same.overall.low == same.overall.high == 0.0 and same.per_language["ro"] == same.overall
    _, better = _labels_and_predictions(accuracy=0.95, seed=4)
    better = np.where(pred == y, y, better)  # right wherever pred is right, and on most of the rest
    gain = macro_f1_difference(y.tolist(), better.tolist(), pred.tolist(), langs)
    assert 0 < gain.overall.low < gain.overall.high
    assert macro_f1_difference(y.tolist(), pred.tolist(), better.tolist(), langs).overall.high < 0
    # per language: the 100 ro rows leave a wider interval than the whole set
    ro = gain.per_language["ro"]
    assert set(gain.per_language) == {"en", "ro"}
    assert ro.high - ro.low > gain.overall.high - gain.overall.low
    # one changed row out of 400: within the noise
    nudged = pred.copy()
    first_error = np.flatnonzero(pred != y)[0]
    nudged[first_error] = y[first_error]
    tiny = macro_f1_difference(y.tolist(), nudged.tolist(), pred.tolist(), langs).overall
    assert tiny.low <= 0 <= tiny.high
