"""The precision guard: every precision mode of an artifact measured against fp32 on the dev split.

Training runs it on each new transformer artifact before installing it; ``ticketguard precision``
runs it on an existing one. The result is the artifact's ``precision.json``
(:class:`~ticketguard.models.artifact.PrecisionReport`), from which
:func:`~ticketguard.models.precision.choose_precision` picks the mode at load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import torch
from sklearn.metrics import f1_score

from ticketguard.models.artifact import (
    Hardware,
    ModeCheck,
    PrecisionReport,
    read_manifest,
    write_precision,
)
from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.errors import ArtifactError, DataError
from ticketguard.models.hardware import bf16_is_fast, pick_device
from ticketguard.models.precision import device_modes
from ticketguard.training.corpus import corpus_hash, load_corpus
from ticketguard.training.evaluate import Labelled
from ticketguard.training.training_report import read_training_report, trained_corpus_sha256

logger = logging.getLogger(__name__)


@contextmanager
def _quiet_loader() -> Iterator[None]:
    """Silence :meth:`Classifier.load` while the guard loads each mode: its warning that a mode's guard is
    "not measured" is what the guard is measuring, and its info line would repeat once per mode."""
    loader = logging.getLogger(Classifier.__module__)
    level = loader.level
    loader.setLevel(logging.ERROR)
    try:
        yield
    finally:
        loader.setLevel(level)


def measure_precision(model_dir: Path, rows: Sequence[Labelled], *, device: str = "auto",
                      threads: int | None = None) -> PrecisionReport:
    """Run the artifact in every precision mode its device can run on ``rows``; fp32 is the reference.

    Speeds are messages/s of one pass over ``rows`` after a warm-up batch, on this machine as it is
    (other load makes them pessimistic, for every mode alike).

    Raises:
        ArtifactError: not a transformer artifact, or it cannot be loaded.
        DataError: ``rows`` is empty.
    """
    if not rows:
        raise DataError("the precision guard needs labelled dev rows; none were given")
    if read_manifest(model_dir).arch != "transformer":
        raise ArtifactError(f"{model_dir} is not a transformer: it has only fp32")
    device = pick_device(device)
    kind = torch.device(device).type
    texts = [r.text for r in rows]
    gold = [r.label for r in rows]
    modes = device_modes(device)
    checks: dict[str, ModeCheck] = {}
    reference: list[str] = []
    for mode in modes:
        with _quiet_loader():
            classifier = Classifier.load(model_dir, device=device, precision=mode, threads=threads)
        classifier.predict(texts[:classifier.batch_size])  # warm-up: first-call allocations, quantised kernels
        started = time.perf_counter()
        labels = [p.label for p in predictions_only(classifier.predict(texts))]
        seconds = time.perf_counter() - started
        reference = reference or labels
        agreement = sum(a == b for a, b in zip(labels, reference, strict=True)) / len(labels)
        macro_f1 = float(f1_score(gold, labels, labels=sorted(set(gold)), average="macro", zero_division=0))
        checks[mode] = ModeCheck(agreement=round(agreement, 4), macro_f1=round(macro_f1, 4),
                                 msgs_per_s=round(len(texts) / seconds, 1))
        logger.info("precision %s: %.1f%% of labels equal to fp32, macro-F1 %.4f, %.1f msgs/s", mode,
                    100 * agreement, macro_f1, len(texts) / seconds)
    report = PrecisionReport(rows=len(rows), modes=checks, created=datetime.now(UTC).isoformat(timespec="seconds"),
                             hardware=Hardware(device=kind, bf16_native=bf16_is_fast(device),
                                               threads=torch.get_num_threads()))
    for mode in checks:
        failure = report.failure(mode)
        if failure:
            logger.info("precision %s fails the guard: %s", mode, failure)
    return report


def guard_artifact(model_dir: Path, corpus: Path, *, device: str = "auto", threads: int | None = None) -> PrecisionReport:
    """Measure the guard of an existing artifact on the dev split of the corpus it was trained on,
    and write it into the artifact (``ticketguard precision``).

    Raises:
        ArtifactError: the artifact cannot be loaded or is not a transformer.
        DataError: ``corpus`` is not the corpus the model was trained on, or has no dev rows.
    """
    rows = load_corpus(corpus)
    trained_on = trained_corpus_sha256(read_training_report(model_dir))
    if corpus_hash(rows) != trained_on:
        raise DataError(f"{corpus} is not the corpus {model_dir} was trained on (its hash differs); "
                        "its dev split may hold the model's training rows")
    report = measure_precision(model_dir, [r for r in rows if r.split == "dev"], device=device, threads=threads)
    write_precision(model_dir, report)
    return report
