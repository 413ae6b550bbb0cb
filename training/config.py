"""Training configuration: one typed dataclass, validated on creation and saved in every report."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ticketguard.models.base import EMBEDDED_BASE


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    Every value is recorded in the artifact's ``metrics.json`` so a run can be repeated.
    """

    arch: str = "transformer"
    base_model: str = EMBEDDED_BASE
    text_prefix: str = "query: "
    max_length: int = 256
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    freeze_embeddings: bool = True
    freeze_layers: int = 3
    class_balanced: bool = True
    patience: int = 1
    evals_per_epoch: int = 1
    seed: int = 13
    threads: int | None = None
    max_steps: int | None = None
    # tf-idf baseline
    tfidf_ngram_max: int = 5
    tfidf_c: float = 4.0

    def __post_init__(self) -> None:
        if self.arch not in ("transformer", "tfidf"):
            raise ValueError(f"arch must be 'transformer' or 'tfidf', got {self.arch!r}")
        positive = {
            "max_length": self.max_length,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "evals_per_epoch": self.evals_per_epoch,
            "tfidf_c": self.tfidf_c,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.max_length > 512:
            raise ValueError(f"max_length must be <= 512 (the base model's positions), got {self.max_length!r}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive when set, got {self.max_steps!r}")
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be >= 0, got {self.freeze_layers!r}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience!r}")

    def to_dict(self) -> dict:
        return asdict(self)
