"""Reading an artifact's training report (``metrics.json``), written by :func:`training.pipeline.train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ticketguard.models.artifact import METRICS_FILE
from ticketguard.models.errors import ArtifactError
from ticketguard.training.config import TrainConfig


def read_training_report(model_dir: Path) -> dict[str, Any]:
    """``model_dir``'s training report as recorded.

    Raises:
        ArtifactError: there is no readable report.
    """
    try:
        report = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ArtifactError(f"{model_dir}: cannot read its training report ({err})") from err
    if not isinstance(report, dict):
        raise ArtifactError(f"{model_dir}: its training report is not a JSON object")
    return report


def trained_config(report: dict[str, Any]) -> TrainConfig:
    """The training config a report records.

    Raises:
        ArtifactError: it records none, or one this version cannot read.
    """
    try:
        return TrainConfig.from_report(report["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ArtifactError(f"the training report records no readable config ({err})") from err


def trained_corpus_sha256(report: dict[str, Any]) -> str:
    """The hash of the corpus a report's model was trained on.

    Raises:
        ArtifactError: the report does not say.
    """
    try:
        return str(report["data"]["sha256"])
    except (KeyError, TypeError) as err:
        raise ArtifactError(f"the training report does not say which corpus it was trained on ({err})") from err
