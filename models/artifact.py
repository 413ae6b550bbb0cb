"""Versioned model artifacts: a directory holding the weights and everything needed to use them.

Layout::

    ticketguard.json   arch, model version, text prefix, max length (written by training)
    labels.json        label names in the order of the model's outputs
    calibration.json   temperature and per-label flag thresholds (fitted on dev data)
    metrics.json       data hash, config, git commit, seed, dev and test metrics
    MODEL_CARD.md
    config.json, model.safetensors, tokenizer.json ...   (arch "transformer", HF format)
    tfidf.joblib                                          (arch "tfidf")

Labels and calibration travel with the weights; an artifact without them is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ticketguard.models.errors import ArtifactError
from ticketguard.models.labels import LABELS

MANIFEST = "ticketguard.json"
LABELS_FILE = "labels.json"
CALIBRATION_FILE = "calibration.json"
METRICS_FILE = "metrics.json"
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
