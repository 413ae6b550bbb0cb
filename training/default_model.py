"""Build the embedded default model (base conversion + fine-tuning on the shipped corpus) when needed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ticketguard.models.artifact import MANIFEST
from ticketguard.models.defaults import DEFAULT_BUILD_TIME
from ticketguard.models.errors import ArtifactError
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import corpus_hash, load_corpus
from ticketguard.training.pipeline import train
from ticketguard.training.training_report import read_training_report, trained_config, trained_corpus_sha256

logger = logging.getLogger(__name__)


#: settings of a run that do not change the model it trains
_RUN_ONLY = frozenset({"threads"})


def _recipe(config: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in config.items() if name not in _RUN_ONLY}


def is_current(model_dir: Path, corpus_sha256: str, config: TrainConfig) -> bool:
    """Whether ``model_dir`` holds a model trained on this corpus version with this recipe.

    A setting the model's report does not record (added since) counts as what it was before it existed
    (:meth:`TrainConfig.from_report`).
    """
    try:
        report = read_training_report(model_dir)
        trained = trained_config(report)
        return bool((model_dir / MANIFEST).is_file() and trained_corpus_sha256(report) == corpus_sha256
                    and _recipe(trained.to_dict()) == _recipe(config.to_dict()))
    except ArtifactError:
        return False


def ensure_default_model(model_dir: Path, corpus: Path, cache_dir: Path, *, challenge: Path | None = None,
                         threads: int | None = None) -> Path:
    """Return ``model_dir``, training the default model into it first if it is missing, or was
    trained on another version of the corpus or with other training defaults.

    The artifact is written atomically by :func:`~ticketguard.training.pipeline.train`, so an
    interrupted build leaves the previous model (or none) in place, never a partial one.
    """
    config = TrainConfig(threads=threads)
    if is_current(model_dir, corpus_hash(load_corpus(corpus)), config):
        return model_dir
    logger.info("building the default model in %s from %s (one-off, %s)", model_dir, corpus, DEFAULT_BUILD_TIME)
    train(config, corpus, model_dir, cache_dir=cache_dir, overwrite=True,
          challenge=challenge if challenge is not None and challenge.is_dir() else None)
    return model_dir
