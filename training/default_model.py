"""Build the embedded default model (base conversion + fine-tuning on the shipped corpus) once."""

from __future__ import annotations

import logging
from pathlib import Path

from ticketguard.models.artifact import MANIFEST
from ticketguard.training.config import TrainConfig
from ticketguard.training.pipeline import train

logger = logging.getLogger(__name__)


def ensure_default_model(model_dir: Path, corpus: Path, cache_dir: Path, *, threads: int | None = None) -> Path:
    """Return ``model_dir``, training the default model into it first if it is not there yet."""
    if (model_dir / MANIFEST).is_file():
        return model_dir
    logger.info("no default model at %s: building it from %s (one-off, about 15 minutes on 2 cores)", model_dir, corpus)
    # train into a sibling directory and rename, so an interrupted build never looks complete
    staging = model_dir.with_name(model_dir.name + ".building")
    train(TrainConfig(threads=threads), corpus, staging, cache_dir=cache_dir, overwrite=True)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(model_dir)
    return model_dir
