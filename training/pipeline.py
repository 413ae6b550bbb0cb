"""``ticketguard train``: fit a model, calibrate it, evaluate it, and write its artifact once.

Everything happens in memory through the model's own :class:`~ticketguard.models.classifier.Classifier`:
the dev split is cut in two (checkpoint selection | calibration), the temperature, flag thresholds
and review threshold are fitted on the calibration part, and the test and challenge splits are only
read for the final report. A transformer's precision modes are then checked against fp32 on the
whole dev split (:mod:`~ticketguard.training.precision_guard`). The artifact is then written into a staging directory next to the
destination and renamed into place, so an interrupted run never leaves a half-written model and
never removes the previous one.
"""

from __future__ import annotations

import logging
import os
import platform
import random
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from ticketguard.models.artifact import (
    METRICS_FILE,
    Calibration,
    Manifest,
    write_artifact_metadata,
    write_json,
    write_precision,
)
from ticketguard.models.backends import TransformerBackend
from ticketguard.models.calibration import FlagThresholds, ReviewThreshold, TemperatureScaler, apply_temperature
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import ArtifactError, DataError
from ticketguard.models.labels import LABEL2ID, LABELS, Label
from ticketguard.training.augment import augment_texts
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow, corpus_hash, load_corpus
from ticketguard.training.evaluate import evaluate_rows
from ticketguard.training.metrics import Metrics
from ticketguard.training.model_card import render_model_card
from ticketguard.training.precision_guard import measure_precision
from ticketguard.training.soup import average_state_dicts
from ticketguard.training.splits import split_dev
from ticketguard.training.training_report import read_training_report, trained_config

logger = logging.getLogger(__name__)
#: labels that get a flag threshold of their own (a message can show several; neutral is the absence of all)
FLAGGED_LABELS = tuple(name for name in LABELS if name != Label.NEUTRAL.value)


@dataclass(frozen=True)
class DataInfo:
    path: str
    sha256: str
    rows: dict[str, int]


@dataclass(frozen=True)
class FitInfo:
    """How fine-tuning went (transformer only)."""

    best_selection_macro_f1: float
    best_step: int
    steps: int
    history: list[dict[str, float]]
    first_losses: list[float]
    last_losses: list[float]


@dataclass(frozen=True)
class TrainReport:
    """Everything ``metrics.json`` records about one trained artifact."""

    model_version: str
    arch: str
    created: str
    data: DataInfo
    config: dict[str, Any]
    seed: int
    git_commit: str | None
    environment: dict[str, str]
    training_seconds: float
    fit: FitInfo | None
    calibration: Calibration
    selection: Metrics
    calibration_split: Metrics
    test: Metrics | None
    challenge: Metrics | None = None
    #: the artifacts whose weights were averaged into this one (see training.soup); empty for a trained model
    soup_of: list[str] = field(default_factory=list)
    #: the members' weights (``None``: equal)
    soup_weights: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def calibrate(classifier: Classifier, rows: list[CorpusRow], config: TrainConfig) -> Calibration:
    """Fit the temperature, flag thresholds and review threshold on held-out rows (never training rows).

    With ``config.calibrate_on_noise`` the rows are used twice: as written, and with one register
    perturbation each (typos, casing, punctuation, transliteration, emoji). Real traffic is noisier
    than the corpus, and a temperature fitted on clean rows alone makes the model overconfident
    there.
    """
    texts = [r.text for r in rows]
    labels = [LABEL2ID[r.label] for r in rows]
    if config.calibrate_on_noise:
        texts += augment_texts(texts, 1.0, random.Random(config.seed))
        labels += labels
    logits = classifier.predict_logits(texts)
    y = np.array(labels)
    scaler = TemperatureScaler().fit(logits, y)
    probs = apply_temperature(logits, scaler.temperature_)
    thresholds = FlagThresholds(LABELS, FLAGGED_LABELS).fit(probs, y)
    review = ReviewThreshold(config.review_target_accuracy).fit(probs, y)
    return Calibration(temperature=round(scaler.temperature_, 4), thresholds=thresholds.thresholds_,
                       review_threshold=review.threshold_)


def _fit(config: TrainConfig, train_rows: list[CorpusRow], selection_rows: list[CorpusRow], manifest: Manifest,
         cache_dir: Path) -> tuple[Classifier, FitInfo | None]:
    # imported here: the TF-IDF baseline must not pay for torch and transformers
    if config.arch == "transformer":
        from ticketguard.training.fit_transformer import fit_transformer

        result = fit_transformer(config, train_rows, selection_rows, manifest, cache_dir=cache_dir)
        info = FitInfo(result.best_selection_macro_f1, result.best_step, result.steps, result.history,
                       result.losses[:10], result.losses[-10:])
        return result.classifier, info
    from ticketguard.training.fit_tfidf import fit_tfidf

    return fit_tfidf(config, train_rows, manifest), None


def _install(staging: Path, out_dir: Path) -> None:
    """Move a finished artifact into place; an existing one is replaced only once the new one is complete."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    previous = out_dir.with_name(f".{out_dir.name}.previous-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(previous)
    staging.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)


@dataclass(frozen=True)
class _Splits:
    """The corpus cut for one run: training rows, the two halves of dev, and the report-only rows."""

    train: list[CorpusRow]
    selection: list[CorpusRow]
    calibration: list[CorpusRow]
    test: list[CorpusRow]
    challenge: list[CorpusRow]
    corpus: Path
    data_hash: str

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "selection": len(self.selection), "calibration": len(self.calibration),
                "test": len(self.test), "challenge": len(self.challenge)}


def _load_splits(config: TrainConfig, corpus: Path, challenge: Path | None) -> _Splits:
    rows = load_corpus(corpus)
    by_split = {name: [r for r in rows if r.split == name] for name in ("train", "dev", "test")}
    for name in ("train", "dev"):
        if not by_split[name]:
            raise DataError(f"{corpus}: the {name} split is empty")
    missing = set(LABELS) - {r.label for r in by_split["train"]}
    if missing:
        raise DataError(f"{corpus}: the train split has no rows for {sorted(missing)}")
    selection_rows, calibration_rows = split_dev(by_split["dev"], config.calibration_share)
    if not selection_rows or not calibration_rows:
        raise DataError(f"{corpus}: the dev split ({len(by_split['dev'])} rows) is too small to cut into "
                        "selection and calibration parts")
    return _Splits(by_split["train"], selection_rows, calibration_rows, by_split["test"],
                   load_corpus(challenge) if challenge is not None else [], corpus, corpus_hash(rows))


def _calibrate_evaluate_write(classifier: Classifier, config: TrainConfig, splits: _Splits, *, created: str,
                              fit_info: FitInfo | None, started: float, out_dir: Path,
                              soup_of: Sequence[str] = (), soup_weights: Sequence[float] | None = None
                              ) -> TrainReport:
    """Calibrate the fitted classifier, evaluate it on every split and write the artifact once."""
    classifier.calibration = calibrate(classifier, splits.calibration, config)
    train_seconds = time.monotonic() - started
    report = TrainReport(
        model_version=classifier.model_version,
        arch=config.arch,
        created=created,
        data=DataInfo(str(splits.corpus), splits.data_hash, splits.counts()),
        config=config.to_dict(),
        seed=config.seed,
        git_commit=git_commit(),
        environment={"python": platform.python_version(), "machine": platform.machine()},
        training_seconds=round(train_seconds, 1),
        fit=fit_info,
        calibration=classifier.calibration,
        selection=evaluate_rows(classifier, splits.selection),
        calibration_split=evaluate_rows(classifier, splits.calibration),
        test=evaluate_rows(classifier, splits.test) if splits.test else None,
        challenge=evaluate_rows(classifier, splits.challenge) if splits.challenge else None,
        soup_of=list(soup_of),
        soup_weights=None if soup_weights is None else list(soup_weights),
    )
    staging = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        classifier.backend.save(staging)
        write_artifact_metadata(staging, classifier.manifest, list(LABELS), classifier.calibration)
        write_json(staging / METRICS_FILE, report.to_dict())
        (staging / "MODEL_CARD.md").write_text(render_model_card(report), encoding="utf-8")
        if config.arch == "transformer":
            write_precision(staging, measure_precision(staging, splits.selection + splits.calibration,
                                                       threads=config.threads))
        _install(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("wrote %s (%s) in %.0fs", out_dir, classifier.model_version, train_seconds)
    return report


def train(config: TrainConfig, corpus: Path, out_dir: Path, *, cache_dir: Path, overwrite: bool = False,
          challenge: Path | None = None) -> TrainReport:
    """Train, calibrate and evaluate one model; write its artifact to ``out_dir`` once.

    Args:
        config: hyper-parameters.
        corpus: corpus file or directory with train, dev and (optionally) test rows.
        out_dir: artifact directory to create (or replace, with ``overwrite``).
        cache_dir: where the converted base model is cached.
        overwrite: replace an existing ``out_dir`` (only after the new artifact is complete).
        challenge: labelled rows evaluated for the report only (never selected or calibrated on).

    Raises:
        FileExistsError: ``out_dir`` exists and ``overwrite`` is false.
        DataError: a split is empty or the train split lacks a label.
    """
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass --overwrite to replace it")
    splits = _load_splits(config, corpus, challenge)
    stamp = datetime.now(UTC)
    manifest = Manifest(
        arch=config.arch,
        model_version=f"{config.arch}-{stamp:%Y%m%d%H%M}-{splits.data_hash[:8]}",
        text_prefix=config.text_prefix if config.arch == "transformer" else "",
        max_length=config.max_length,
        pooling=config.pooling,
    )
    started = time.monotonic()
    classifier, fit_info = _fit(config, splits.train, splits.selection, manifest, cache_dir)
    return _calibrate_evaluate_write(classifier, config, splits, created=stamp.isoformat(), fit_info=fit_info,
                                     started=started, out_dir=out_dir)


def _read_report(model_dir: Path) -> tuple[dict[str, Any], TrainConfig, FitInfo | None]:
    """An artifact's ``metrics.json``, its training config and how fitting went.

    Raises:
        ArtifactError: no readable ``metrics.json`` with a training config.
    """
    previous = read_training_report(model_dir)
    try:
        config = trained_config(previous)
        fit_info = FitInfo(**previous["fit"]) if previous.get("fit") else None
    except (ArtifactError, TypeError) as err:
        raise ArtifactError(f"{model_dir}: cannot read its training report ({err})") from err
    return previous, config, fit_info


def recalibrate(model_dir: Path, corpus: Path, *, challenge: Path | None = None,
                calibrate_on_noise: bool | None = None, threads: int | None = None) -> TrainReport:
    """Fit an artifact's calibration again, on the calibration half of the corpus it was trained on.

    The weights are kept; the calibration, the evaluations and the model card are rewritten (atomically,
    like a training run). Use it after changing how calibration is fitted, e.g. ``calibrate_on_noise``.

    Raises:
        ArtifactError: the artifact has no readable ``metrics.json`` with its training config.
        DataError: ``corpus`` is not the corpus the model was trained on.
    """
    previous, config, fit_info = _read_report(model_dir)
    if calibrate_on_noise is not None:
        config = replace(config, calibrate_on_noise=calibrate_on_noise)
    if threads is not None:
        config = replace(config, threads=threads)
    splits = _load_splits(config, corpus, challenge)
    if splits.data_hash != previous["data"]["sha256"]:
        raise DataError(f"{corpus} is not the corpus {model_dir} was trained on (its hash differs)")
    classifier = Classifier.load(model_dir, threads=config.threads)
    started = time.monotonic() - float(previous.get("training_seconds", 0.0))
    return _calibrate_evaluate_write(classifier, config, splits, created=previous["created"], fit_info=fit_info,
                                     started=started, out_dir=model_dir)


def soup(model_dirs: Sequence[Path], corpus: Path, out_dir: Path, *, weights: Sequence[float] | None = None,
         challenge: Path | None = None, threads: int | None = None, overwrite: bool = False) -> TrainReport:
    """Average the weights of transformer artifacts trained on ``corpus`` (a model soup; ``weights``
    default to equal, see :func:`~ticketguard.training.soup.average_state_dicts`), then calibrate,
    evaluate and write the result like a training run.

    The members should differ only in their seed: a soup of models from different bases, heads or
    corpora is refused or meaningless. Calibration is fitted anew on the calibration half of dev
    (the members' temperatures do not carry over to their average).

    Raises:
        FileExistsError: ``out_dir`` exists and ``overwrite`` is false.
        ArtifactError: a member is not a transformer artifact with a training report.
        DataError: a member was trained on another corpus.
        ValueError: the members' base models, architectures or text handling differ.
    """
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass --overwrite to replace it")
    reports = [_read_report(directory) for directory in model_dirs]
    config = reports[0][1] if threads is None else replace(reports[0][1], threads=threads)
    splits = _load_splits(config, corpus, challenge)
    for directory, (previous, member, _) in zip(model_dirs, reports, strict=True):
        if member.arch != "transformer":
            raise ArtifactError(f"{directory}: a soup averages transformer weights, not a {member.arch} model")
        if previous["data"]["sha256"] != splits.data_hash:
            raise DataError(f"{directory} was not trained on {corpus} (its corpus hash differs)")
    bases = {member.base_model for _, member, _ in reports}
    if len(bases) > 1:
        raise ValueError(f"the members were fine-tuned from different base models ({', '.join(sorted(bases))}); "
                         "a soup averages runs from one base")
    members = [Classifier.load(directory, threads=config.threads, precision="fp32", device="cpu")
               for directory in model_dirs]
    if len({(m.manifest.pooling, m.manifest.text_prefix, m.manifest.max_length) for m in members}) > 1:
        raise ValueError("the members differ in pooling, text prefix or max length")
    classifier = members[0]
    backend = cast(TransformerBackend, classifier.backend)
    backend.model.load_state_dict(average_state_dicts(
        [cast(TransformerBackend, m.backend).model.state_dict() for m in members], weights))
    stamp = datetime.now(UTC)
    classifier.manifest = replace(classifier.manifest,
                                  model_version=f"transformer-soup{len(members)}-{stamp:%Y%m%d%H%M}-"
                                                f"{splits.data_hash[:8]}")
    started = time.monotonic() - sum(float(previous.get("training_seconds", 0.0)) for previous, _, _ in reports)
    return _calibrate_evaluate_write(classifier, config, splits, created=stamp.isoformat(), fit_info=None,
                                     started=started, out_dir=out_dir,
                                     soup_of=[str(d) for d in model_dirs], soup_weights=weights)
