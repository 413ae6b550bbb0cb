"""The label precedence and the confidence bands (one owner: models/labels.py)."""

from __future__ import annotations

import pytest

from ticketguard.models.labels import LABELS, confidence_band, most_severe, severity


def test_most_severe_follows_the_label_order() -> None:
    assert most_severe(["neutral", "complaint", "abuse", "manipulation"]) == "abuse"
    assert most_severe(["threat", "neutral"]) == "threat"
    assert most_severe([]) == "neutral"
    assert [severity(label) for label in LABELS] == list(range(len(LABELS)))
    with pytest.raises(ValueError, match="unknown label 'angry'"):
        severity("angry")


@pytest.mark.parametrize(("probability", "band"), [(1.0, "high"), (0.85, "high"), (0.849, "medium"), (0.6, "medium"),
                                                   (0.59, "low"), (0.0, "low")])
def test_confidence_bands(probability: float, band: str) -> None:
    assert confidence_band(probability) == band
