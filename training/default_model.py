"""Build the embedded default model (base conversion + fine-tuning on the shipped corpus) when needed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ticketguard.models.artifact import MANIFEST, METRICS_FILE
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import corpus_hash, load_corpus
from ticketguard.training.pipeline import train

logger = logging.getLogger(__name__)


def _built_from(model_dir: Path) -> str | None:
    """The corpus hash recorded by the model in ``model_dir``, if it has one."""
    try:
        return json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))["data"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_default_model(model_dir: Path, corpus: Path, cache_dir: Path, *, challenge: Path | None = None,
                         threads: int | None = None) -> Path:
    """Return ``model_dir``, training the default model into it first if it is missing or was
    trained on another version of the corpus.

    The artifact is written atomically by :func:`~ticketguard.training.pipeline.train`, so an
    interrupted build leaves the previous model (or none) in place, never a partial one.
    """
    current = corpus_hash(load_corpus(corpus))
    if (model_dir / MANIFEST).is_file() and _built_from(model_dir) == current:
        return model_dir
    logger.info("building the default model in %s from %s (one-off, at most about 20 minutes on 2 cores)",
                model_dir, corpus)
    train(TrainConfig(threads=threads), corpus, model_dir, cache_dir=cache_dir, overwrite=True,
          challenge=challenge if challenge is not None and challenge.is_dir() else None)
    return model_dir
