"""The label schema: the five labels, their order in model outputs, and their precedence."""

from __future__ import annotations

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


def primary_label(present: set[str]) -> str:
    """Return the label that wins when a message shows several behaviours.

    Example:
        >>> primary_label({"complaint", "abuse"})
        'abuse'
    """
    for name in LABELS:
        if name in present:
            return name
    return Label.NEUTRAL.value
