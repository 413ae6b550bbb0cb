"""The label schema: the five labels, their order in model outputs, their precedence, and confidence bands."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Label(str, Enum):
    """Primary label of a customer message, listed in precedence order (highest first)."""

    THREAT = "threat"
    ABUSE = "abuse"
    MANIPULATION = "manipulation"
    COMPLAINT = "complaint"
    NEUTRAL = "neutral"


#: Output order of every classifier head: index i of a logit vector is ``LABELS[i]``.
LABELS: tuple[str, ...] = tuple(label.value for label in Label)
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {name: i for i, name in ID2LABEL.items()}

#: Labels that signal a message needing protection or escalation (used in error-rate reports).
HARMFUL_LABELS: frozenset[str] = frozenset({Label.THREAT.value, Label.ABUSE.value})
#: Labels of ordinary support traffic: a harmful label on one of these is a false alarm.
BENIGN_LABELS: frozenset[str] = frozenset({Label.COMPLAINT.value, Label.NEUTRAL.value})


def severity(label: str) -> int:
    """Rank of ``label`` in the precedence order: 0 is the most severe (threat).

    Raises:
        ValueError: ``label`` is not one of :data:`LABELS`.
    """
    try:
        return LABEL2ID[label]
    except KeyError as err:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}") from err


def most_severe(labels: Iterable[str]) -> str:
    """The most severe of ``labels`` (a ticket's label is the most severe of its messages' labels).

    Example:
        >>> most_severe(["complaint", "neutral", "abuse"])
        'abuse'
    """
    return min(labels, key=severity, default=Label.NEUTRAL.value)


#: confidence bands of a calibrated probability, highest first: (band, lowest probability in it)
CONFIDENCE_BANDS: tuple[tuple[str, float], ...] = (("high", 0.85), ("medium", 0.6), ("low", 0.0))


def confidence_band(probability: float) -> str:
    """The band (high, medium, low) a label's calibrated probability falls into, as written to helpdesks.

    Example:
        >>> confidence_band(0.9), confidence_band(0.7), confidence_band(0.3)
        ('high', 'medium', 'low')
    """
    for band, floor in CONFIDENCE_BANDS:
        if probability >= floor:
            return band
    return CONFIDENCE_BANDS[-1][0]
