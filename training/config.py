"""Training configuration: one typed dataclass, validated on creation and saved in every report.

It is the one owner of the training defaults: the CLI and the default-model build read them from
here instead of restating them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from ticketguard.models.artifact import ARCHS, POOLINGS
from ticketguard.models.defaults import EMBEDDED_BASE

#: how a shallower model picks its layers from the base (see ``TrainConfig.layer_choice``)
LAYER_CHOICES = ("bottom", "spread")


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    Every value is recorded in the artifact's ``metrics.json`` so a run can be repeated.
    """

    arch: str = "transformer"
    base_model: str = EMBEDDED_BASE
    text_prefix: str = "query: "
    max_length: int = 256
    #: "mean" averages token states (as e5 was trained); "cls" uses BERT's randomly initialised pooler
    pooling: str = "mean"
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    freeze_embeddings: bool = True
    #: keep the bottom N encoder layers frozen (0: every encoder layer trains; the embeddings follow
    #: ``freeze_embeddings``)
    freeze_layers: int = 0
    #: keep only N encoder layers (None: all); a shallower model trains and runs faster
    encoder_layers: int | None = None
    #: which N layers a shallower model keeps: the "bottom" N, or N "spread" evenly from the bottom
    #: layer to the top one (6 of 12: 0, 2, 4, 7, 9, 11, as DistilBERT was cut from BERT), so it starts
    #: with the teacher's top layer under its head
    layer_choice: str = "bottom"
    class_balanced: bool = True
    label_smoothing: float = 0.0
    #: weight of R-Drop's consistency term (Liang et al. 2021): each batch runs twice under different
    #: dropout masks and the symmetric KL divergence between the two predictions joins the loss
    #: (0: off, one pass per step; on, a step costs about twice as much)
    rdrop: float = 0.0
    #: layer-wise learning-rate decay: each encoder layer below the head trains at this factor of the
    #: one above it (1.0: one rate for all; see training.fit_transformer.parameter_groups)
    layer_lr_decay: float = 1.0
    #: start the head from a logistic regression fitted on the frozen base model's pooled features
    #: (LP-FT, Kumar et al. 2022): fine-tuning from a fitted head moves the pre-trained features less
    #: than from a random one, which helps on text unlike the training data. Mean pooling only.
    probe_init: bool = True
    #: a trained artifact whose predictions the model learns from as well as the labels (knowledge
    #: distillation); with ``base_model`` = that artifact and ``encoder_layers`` the student starts
    #: from the teacher's own bottom layers
    teacher: str | None = None
    #: weight of the teacher's soft targets in the loss (the labels' cross-entropy gets the rest)
    distill_alpha: float = 0.5
    #: softmax temperature of the soft targets (higher: more of the teacher's ranking of wrong labels)
    distill_temperature: float = 2.0
    #: share of training texts given a random register perturbation each epoch (typos, casing, ...)
    augment: float = 0.0
    #: run forward and backward passes under bfloat16 autocast; None: where the hardware has native
    #: bfloat16 (AVX512-BF16/AMX CPUs, recent GPUs), float32 elsewhere
    bf16: bool | None = None
    patience: int = 1
    evals_per_epoch: int = 1
    #: share of the dev split used to fit calibration and the review threshold; the rest selects
    #: the checkpoint, so calibration never sees the rows that chose the model
    calibration_share: float = 0.5
    #: fit calibration on the calibration rows and a register-perturbed copy of each (see
    #: training.pipeline.calibrate), so confidences hold up on noisier text than the corpus
    calibrate_on_noise: bool = True
    #: the review threshold is the lowest top probability whose confident part reaches this accuracy
    review_target_accuracy: float = 0.95
    seed: int = 13
    threads: int | None = None
    max_steps: int | None = None
    # tf-idf baseline
    tfidf_ngram_max: int = 5
    tfidf_c: float = 4.0

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.layer_choice not in LAYER_CHOICES:
            raise ValueError(f"layer_choice must be one of {LAYER_CHOICES}, got {self.layer_choice!r}")
        positive = {
            "max_length": self.max_length,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "evals_per_epoch": self.evals_per_epoch,
            "tfidf_c": self.tfidf_c,
            "distill_temperature": self.distill_temperature,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        shares = {"warmup_ratio": self.warmup_ratio, "label_smoothing": self.label_smoothing,
                  "augment": self.augment}
        for name, value in shares.items():
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if self.rdrop < 0:
            raise ValueError(f"rdrop must be >= 0, got {self.rdrop!r}")
        if not 0 < self.layer_lr_decay <= 1:
            raise ValueError(f"layer_lr_decay must be in (0, 1], got {self.layer_lr_decay!r}")
        if not 0 <= self.distill_alpha <= 1:
            raise ValueError(f"distill_alpha must be in [0, 1], got {self.distill_alpha!r}")
        if not 0 < self.calibration_share < 1:
            raise ValueError(f"calibration_share must be in (0, 1), got {self.calibration_share!r}")
        if not 0 < self.review_target_accuracy <= 1:
            raise ValueError(f"review_target_accuracy must be in (0, 1], got {self.review_target_accuracy!r}")
        if self.max_length > 512:
            raise ValueError(f"max_length must be <= 512 (the base model's positions), got {self.max_length!r}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive when set, got {self.max_steps!r}")
        if self.encoder_layers is not None and self.encoder_layers < 1:
            raise ValueError(f"encoder_layers must be >= 1 when set, got {self.encoder_layers!r}")
        if self.encoder_layers is not None and self.freeze_layers >= self.encoder_layers:
            raise ValueError(f"freeze_layers ({self.freeze_layers}) must be below encoder_layers "
                             f"({self.encoder_layers}): nothing would be trained")
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be >= 0, got {self.freeze_layers!r}")
        if self.probe_init and self.pooling != "mean":
            raise ValueError("probe_init needs pooling='mean' (the probe fits the mean-pooling head); "
                             "train a CLS-pooler model with --no-probe-init")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience!r}")

    #: what a setting was, in effect, before it existed (where that is not its default): a report
    #: written before then is read with it
    BEFORE_IT_EXISTED: ClassVar[dict[str, Any]] = {"probe_init": False}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_report(cls, recorded: dict[str, Any]) -> TrainConfig:
        """The config a model's ``metrics.json`` records; settings added since take the value that reproduces
        the model (:attr:`BEFORE_IT_EXISTED`, else their default), settings removed since are dropped.

        Raises:
            ValueError: a recorded value this version refuses.
        """
        known = {f.name for f in fields(cls)}
        return cls(**{**cls.BEFORE_IT_EXISTED, **{k: v for k, v in recorded.items() if k in known}})

    @classmethod
    def field_default(cls, name: str) -> Any:
        """The default of one field (the CLI shows these instead of restating them)."""
        for f in fields(cls):
            if f.name == name:
                return f.default
        raise KeyError(name)
