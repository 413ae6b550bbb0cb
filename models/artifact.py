"""Versioned model artifacts: a directory holding the weights and everything needed to use them.

Layout::

    ticketguard.json   arch, model version, text prefix, max length (written by training)
    labels.json        label names in the order of the model's outputs
    calibration.json   temperature and per-label flag thresholds (fitted on dev data)
    metrics.json       data hash, config, git commit, seed, dev and test metrics
    precision.json     each precision mode's agreement with fp32, macro-F1 and speed on dev (the guard)
    MODEL_CARD.md
    config.json, model.safetensors, tokenizer.json ...   (arch "transformer", HF format)
    tfidf.joblib                                          (arch "tfidf")

Labels and calibration travel with the weights; an artifact without them is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ticketguard.models.defaults import GUARD_MAX_MACRO_F1_LOSS, GUARD_MIN_AGREEMENT, PRECISIONS
from ticketguard.models.errors import ArtifactError
from ticketguard.models.labels import LABELS

MANIFEST = "ticketguard.json"
LABELS_FILE = "labels.json"
CALIBRATION_FILE = "calibration.json"
METRICS_FILE = "metrics.json"
PRECISION_FILE = "precision.json"
ARCHS = ("transformer", "tfidf")
#: how a transformer turns token states into one vector
POOLINGS = ("cls", "mean")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What kind of model an artifact holds and how to feed it."""

    arch: str
    model_version: str
    text_prefix: str = ""
    max_length: int = 256
    #: "cls" (Hugging Face sequence-classification head) or "mean" (:mod:`~ticketguard.models.heads`)
    pooling: str = "cls"
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class Calibration:
    """Post-hoc calibration fitted on held-out data.

    Attributes:
        temperature: logits are divided by it before the softmax.
        thresholds: per-label probability at which a label is flagged.
        review_threshold: a prediction whose top probability is below it is marked ``review``.
    """

    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    review_threshold: float = 0.0


@dataclass(frozen=True)
class ModeCheck:
    """One precision mode measured against fp32 on the dev split.

    Attributes:
        agreement: share of dev messages whose label equals the fp32 label.
        macro_f1: macro-F1 of the mode's labels against the gold labels.
        msgs_per_s: messages per second over the dev split on the hardware of the measurement.
    """

    agreement: float
    macro_f1: float
    msgs_per_s: float


@dataclass(frozen=True)
class Hardware:
    """Where speeds were measured; they only rank modes on hardware of the same kind."""

    device: str
    bf16_native: bool
    threads: int


@dataclass(frozen=True)
class PrecisionReport:
    """The quality guard of an artifact: every precision mode measured against fp32 on dev."""

    rows: int
    hardware: Hardware
    modes: dict[str, ModeCheck]
    created: str = ""

    def failure(self, mode: str) -> str | None:
        """Why ``mode`` fails the guard (``None`` when it passes)."""
        check = self.modes.get(mode)
        reference = self.modes.get("fp32")
        if check is None or reference is None:
            return f"{mode} was not measured"
        if check.agreement < GUARD_MIN_AGREEMENT:
            return f"{check.agreement:.1%} of labels equal to fp32 (the bar is {GUARD_MIN_AGREEMENT:.0%})"
        loss = reference.macro_f1 - check.macro_f1
        if loss > GUARD_MAX_MACRO_F1_LOSS:
            return f"macro-F1 {100 * loss:.1f} points below fp32 (the bar is {100 * GUARD_MAX_MACRO_F1_LOSS:.1f})"
        return None


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ArtifactError(f"model artifact is missing {path.name} (looked for {path})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON: {err}") from err


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def read_manifest(directory: Path) -> Manifest:
    if not directory.is_dir():
        raise ArtifactError(f"model artifact {directory} does not exist or is not a directory")
    data = _read_json(directory / MANIFEST)
    try:
        manifest = Manifest(**data)
    except TypeError as err:
        raise ArtifactError(f"{directory / MANIFEST} has unexpected fields: {err}") from err
    if manifest.arch not in ARCHS:
        raise ArtifactError(f"{directory / MANIFEST}: unknown arch {manifest.arch!r}, expected one of {ARCHS}")
    if manifest.pooling not in POOLINGS:
        raise ArtifactError(f"{directory / MANIFEST}: unknown pooling {manifest.pooling!r}, expected one of {POOLINGS}")
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(f"{directory}: artifact format {manifest.format_version} is not supported")
    return manifest


def read_labels(directory: Path) -> list[str]:
    labels = _read_json(directory / LABELS_FILE).get("labels")
    if not isinstance(labels, list) or sorted(labels) != sorted(LABELS):
        raise ArtifactError(f"{directory / LABELS_FILE} must list exactly the labels {list(LABELS)}, got {labels!r}")
    return labels


def read_calibration(directory: Path, labels: list[str]) -> Calibration:
    data = _read_json(directory / CALIBRATION_FILE)
    temperature = data.get("temperature")
    thresholds = data.get("thresholds", {})
    if not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ArtifactError(f"{directory / CALIBRATION_FILE}: temperature must be a positive number, got {temperature!r}")
    unknown = set(thresholds) - set(labels)
    if unknown:
        raise ArtifactError(f"{directory / CALIBRATION_FILE}: thresholds for unknown labels {sorted(unknown)}")
    review = data.get("review_threshold", 0.0)
    if not isinstance(review, (int, float)) or not 0 <= review <= 1:
        raise ArtifactError(f"{directory / CALIBRATION_FILE}: review_threshold must be in [0, 1], got {review!r}")
    return Calibration(float(temperature), {k: float(v) for k, v in thresholds.items()}, float(review))


def write_artifact_metadata(directory: Path, manifest: Manifest, labels: list[str], calibration: Calibration) -> None:
    """Write the manifest, labels and calibration files of an artifact."""
    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / MANIFEST, asdict(manifest))
    write_json(directory / LABELS_FILE, {"labels": labels})
    write_json(directory / CALIBRATION_FILE, asdict(calibration))


def read_precision(directory: Path) -> PrecisionReport | None:
    """The artifact's precision guard, or ``None`` when it was never measured (``ticketguard precision``)."""
    path = directory / PRECISION_FILE
    if not path.exists():
        return None
    data = _read_json(path)
    try:
        modes = {name: ModeCheck(**check) for name, check in data["modes"].items()}
        report = PrecisionReport(rows=int(data["rows"]), hardware=Hardware(**data["hardware"]), modes=modes,
                                 created=str(data.get("created", "")))
    except (KeyError, TypeError, AttributeError) as err:
        raise ArtifactError(f"{path} is not a precision report: {err}") from err
    unknown = set(modes) - set(PRECISIONS)
    if unknown:
        raise ArtifactError(f"{path}: unknown precision modes {sorted(unknown)}, expected some of {PRECISIONS}")
    return report


def write_precision(directory: Path, report: PrecisionReport) -> None:
    """Write the guard into an artifact, replacing the previous one atomically."""
    staging = directory / f".{PRECISION_FILE}.tmp"
    write_json(staging, asdict(report))
    staging.replace(directory / PRECISION_FILE)
