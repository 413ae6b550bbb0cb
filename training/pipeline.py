"""``ticketguard train``: fit a model, calibrate it on dev, evaluate it, write a versioned artifact."""

from __future__ import annotations

import logging
import platform
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ticketguard.models.artifact import METRICS_FILE, Calibration, Manifest, write_artifact_metadata, write_json
from ticketguard.models.calibration import FlagThresholds, TemperatureScaler
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABEL2ID, LABELS
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow, corpus_hash, load_corpus
from ticketguard.training.evaluate import evaluate_rows
from ticketguard.training.fit_tfidf import fit_tfidf
from ticketguard.training.fit_transformer import fit_transformer
from ticketguard.training.model_card import render_model_card

logger = logging.getLogger(__name__)
FLAGGED_LABELS = ("threat", "abuse", "manipulation", "complaint")


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def calibrate(classifier: Classifier, dev_rows: list[CorpusRow]) -> Calibration:
    """Fit the temperature and flag thresholds on dev rows (never on training rows)."""
    logits = classifier.predict_logits([r.text for r in dev_rows])
    y = np.array([LABEL2ID[r.label] for r in dev_rows])
    scaler = TemperatureScaler().fit(logits, y)
    thresholds = FlagThresholds(LABELS, FLAGGED_LABELS).fit(scaler.predict_proba(logits), y)
    return Calibration(temperature=round(scaler.temperature_, 4), thresholds=thresholds.thresholds_)


def train(config: TrainConfig, corpus: Path, out_dir: Path, *, cache_dir: Path, overwrite: bool = False) -> dict:
    """Train, calibrate and evaluate one model; return its ``metrics.json`` content.

    The test split is only read for the final report: fitting, early stopping and calibration
    use train and dev.
    """
    rows = load_corpus(corpus)
    by_split = {name: [r for r in rows if r.split == name] for name in ("train", "dev", "test")}
    for name in ("train", "dev"):
        if not by_split[name]:
            raise DataError(f"{corpus}: the {name} split is empty")
    missing = set(LABELS) - {r.label for r in by_split["train"]}
    if missing:
        raise DataError(f"{corpus}: the train split has no rows for {sorted(missing)}")
    if out_dir.exists():
        if not overwrite:
            raise FileExistsError(f"{out_dir} exists; pass --overwrite to replace it")
        shutil.rmtree(out_dir)
    data_hash = corpus_hash(rows)
    started = time.monotonic()
    fit_info: dict = {}
    if config.arch == "transformer":
        result = fit_transformer(config, by_split["train"], by_split["dev"], out_dir, cache_dir=cache_dir)
        fit_info = {"best_dev_macro_f1_during_training": result.best_dev_macro_f1, "best_step": result.best_step,
                    "steps": result.steps, "history": result.history,
                    "first_losses": result.losses[:10], "last_losses": result.losses[-10:]}
    else:
        fit_tfidf(config, by_split["train"], out_dir)
    stamp = datetime.now(timezone.utc)
    manifest = Manifest(
        arch=config.arch,
        model_version=f"{config.arch}-{stamp:%Y%m%d%H%M}-{data_hash[:8]}",
        text_prefix=config.text_prefix if config.arch == "transformer" else "",
        max_length=config.max_length,
    )
    labels = list(LABELS)
    write_artifact_metadata(out_dir, manifest, labels, Calibration())
    classifier = Classifier.load(out_dir, threads=config.threads)
    calibration = calibrate(classifier, by_split["dev"])
    write_artifact_metadata(out_dir, manifest, labels, calibration)
    classifier.calibration = calibration
    train_seconds = time.monotonic() - started
    metrics = {
        "model_version": manifest.model_version,
        "arch": config.arch,
        "created": stamp.isoformat(),
        "data": {"path": str(corpus), "sha256": data_hash,
                 "rows": {name: len(split) for name, split in by_split.items()}},
        "config": config.to_dict(),
        "seed": config.seed,
        "git_commit": git_commit(),
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
        "training_seconds": round(train_seconds, 1),
        "fit": fit_info,
        "calibration": {"temperature": calibration.temperature, "thresholds": calibration.thresholds},
        "dev": evaluate_rows(classifier, by_split["dev"]),
        "test": evaluate_rows(classifier, by_split["test"]) if by_split["test"] else None,
    }
    write_json(out_dir / METRICS_FILE, metrics)
    (out_dir / "MODEL_CARD.md").write_text(render_model_card(metrics), encoding="utf-8")
    logger.info("wrote %s (%s) in %.0fs", out_dir, manifest.model_version, train_seconds)
    return metrics
