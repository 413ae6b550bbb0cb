"""The result type every classifier entry point returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prediction:
    """Classification of one message.

    Attributes:
        label: the primary label (highest calibrated probability).
        scores: calibrated probability of every label; they sum to 1.
        flags: labels whose probability reaches their flag threshold, in precedence order.
    """

    label: str
    scores: dict[str, float]
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "scores": dict(self.scores), "flags": list(self.flags)}
