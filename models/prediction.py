"""The per-item results every classifier entry point returns: a prediction, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prediction:
    """Classification of one message.

    Attributes:
        label: the primary label (highest calibrated probability).
        scores: calibrated probability of every label; they sum to 1.
        flags: labels whose probability reaches their flag threshold, in precedence order.
        review: ``True`` when the model is not confident enough to act on alone (its top
            probability is under the artifact's review threshold): an agent should check it.
    """

    label: str
    scores: dict[str, float]
    flags: list[str] = field(default_factory=list)
    review: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "scores": dict(self.scores), "flags": list(self.flags), "review": self.review}


@dataclass(frozen=True)
class Unclassifiable:
    """Why one item of a batch could not be classified; its neighbours are classified as usual."""

    reason: str


#: what :meth:`~ticketguard.models.classifier.Classifier.predict` returns for each input item
Result = Prediction | Unclassifiable
