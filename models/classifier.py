"""The one inference path shared by the service, the CLI, re-labelling and evaluation.

``predict`` runs three stages, like a ``transformers`` pipeline:

* :meth:`Classifier.preprocess` checks and normalises each text, encodes it once (token ids,
  :meth:`Classifier.encode`) and groups the encodings into length-sorted batches
  (:meth:`Classifier.batches`); items that cannot be classified are set aside with their reason;
* :meth:`Classifier.forward` pads one batch and runs it through the backend (no-grad);
* :meth:`Classifier.postprocess` calibrates logits and names labels, flags and the review mark.

The service encodes each request as it arrives (its micro-batches close on the token counts of
those encodings) and hands the encodings to :meth:`Classifier.predict_encoded`, so no text is
tokenised twice.

Whether a text is classifiable is decided by :func:`~ticketguard.models.text.unclassifiable_reason`
(a light module, so the service's request schema applies the same rule without importing torch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, cast

import numpy as np
import torch

from ticketguard.models.artifact import (
    Calibration,
    Manifest,
    read_calibration,
    read_labels,
    read_manifest,
    read_precision,
)
from ticketguard.models.backends import Backend, TfidfBackend, TransformerBackend
from ticketguard.models.calibration import apply_temperature
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS
from ticketguard.models.errors import ArtifactError, InvalidInputError
from ticketguard.models.hardware import batch_limits, bf16_is_fast, pick_device
from ticketguard.models.labels import LABELS
from ticketguard.models.precision import PrecisionChoice, choose_precision
from ticketguard.models.prediction import Prediction, Result, Unclassifiable
from ticketguard.models.text import MAX_CHARS, normalize_text, unclassifiable_reason

logger = logging.getLogger(__name__)

#: one item after :meth:`Classifier.encode`: the model input of a classifiable text (token ids, or
#: the text for TF-IDF; ``len()`` is its cost in tokens), or why the text cannot be classified
Encoded: TypeAlias = Sequence[Any] | Unclassifiable
#: what a classifier built in memory (training) runs in
FP32 = PrecisionChoice("fp32", forced=False, guard="reference")


def token_count(item: Encoded) -> int:
    """Tokens the model reads for one encoded item (0 for an item set aside)."""
    return 0 if isinstance(item, Unclassifiable) else len(item)


@dataclass(frozen=True)
class Batch:
    """Item positions (into the caller's list) and their encodings (token ids, or texts for TF-IDF)."""

    index: list[int]
    encoded: list[Sequence[Any]]


@dataclass(frozen=True)
class Prepared:
    """What ``preprocess`` hands on: batches of classifiable items, and why the others were set aside."""

    size: int
    batches: list[Batch]
    rejected: dict[int, Unclassifiable]


class Classifier:
    """Classify support messages with a trained artifact.

    Example:
        >>> clf = Classifier.load("artifacts/default")
        >>> clf.predict(["you are useless, I'll sue you"])[0].label
        'threat'
    """

    def __init__(
        self,
        backend: Backend,
        manifest: Manifest,
        labels: list[str],
        calibration: Calibration,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        precision: PrecisionChoice = FP32,
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}")
        self.backend = backend
        self.manifest = manifest
        self.labels = labels
        self.calibration = calibration
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.precision = precision
        # outputs are reported in schema order whatever order the artifact stores them in
        self._order = [labels.index(name) for name in LABELS]

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        batch_size: int | None = None,
        max_batch_tokens: int | None = None,
        threads: int | None = None,
        device: str = "auto",
        precision: str = "auto",
    ) -> Classifier:
        """Load an artifact directory, refusing one without labels or calibration.

        Args:
            path: artifact directory written by ``ticketguard train``.
            batch_size: maximum messages per forward pass (default: 64 on a CPU, 256 on a GPU).
            max_batch_tokens: maximum padded tokens (texts x longest text) per forward pass
                (default: 2,048 on a CPU, 32,768 on a GPU).
            threads: torch intra-op threads (``None`` keeps torch's default).
            device: torch device for transformer artifacts; ``"auto"``: CUDA when present.
            precision: ``"auto"`` (the fastest mode here that passed the artifact's guard), or
                ``"fp32"``, ``"bf16"``, ``"int8"`` by name, whatever the guard says (logged when it
                failed or was not measured).

        Raises:
            ArtifactError: unreadable artifact, an unknown precision, or one its arch cannot run.
        """
        directory = Path(path)
        manifest = read_manifest(directory)
        labels = read_labels(directory)
        calibration = read_calibration(directory, labels)
        if threads:
            torch.set_num_threads(threads)
        backend: Backend
        if manifest.arch == "transformer":
            try:
                device = pick_device(device)
            except ValueError as err:
                raise ArtifactError(str(err)) from err
            choice = choose_precision(precision, read_precision(directory), device=device,
                                      bf16_native=bf16_is_fast(device))
            backend = TransformerBackend.load(directory, max_length=manifest.max_length, pooling=manifest.pooling,
                                              num_labels=len(labels), device=device, precision=choice.mode)
        else:
            if precision not in ("auto", "fp32"):
                raise ArtifactError(f"a {manifest.arch} model runs in fp32 only, not {precision}")
            device, choice = "cpu", FP32
            backend = TfidfBackend.load(directory)
        default_size, default_tokens = batch_limits(device)
        logger.info("loaded %s model %s from %s on %s, precision %s", manifest.arch, manifest.model_version,
                    directory, device, choice.describe())
        if not choice.trusted:
            logger.warning("precision %s is in use although its guard says %r: labels may differ from fp32 "
                           "(`ticketguard precision --model %s` measures it)", choice.mode, choice.guard, directory)
        return cls(backend, manifest, labels, calibration, batch_size=batch_size or default_size,
                   max_batch_tokens=max_batch_tokens or default_tokens, precision=choice)

    @property
    def model_version(self) -> str:
        return self.manifest.model_version

    def prepare(self, text: str) -> str:
        """The model's input string for one classifiable text: truncated, normalised, prefixed.

        Training encodes its texts through this too, so the model sees the same input in both.
        """
        return self.manifest.text_prefix + normalize_text(text[:MAX_CHARS])

    def encode(self, texts: Sequence[object]) -> list[Encoded]:
        """Check, normalise and encode every text once; an item that cannot be classified (see
        :func:`unclassifiable_reason`) gets its reason instead, and never fails its neighbours.

        Raises:
            InvalidInputError: ``texts`` is a single ``str`` instead of a sequence of texts.
        """
        if isinstance(texts, str):
            raise InvalidInputError("predict takes a sequence of texts, not a single str; wrap it in a list")
        items: list[Encoded] = []
        positions: list[int] = []
        prepared: list[str] = []
        for i, text in enumerate(texts):
            reason = unclassifiable_reason(text)
            if reason is not None:
                items.append(Unclassifiable(reason))
                continue
            assert isinstance(text, str)
            items.append(())
            positions.append(i)
            prepared.append(self.prepare(text))
        for i, encoding in zip(positions, self.backend.encode(prepared) if prepared else [], strict=True):
            items[i] = encoding
        return items

    def batches(self, items: Sequence[Encoded]) -> Prepared:
        """Cut encoded items into length-sorted batches; set-aside items keep their reason."""
        rejected = {i: item for i, item in enumerate(items) if isinstance(item, Unclassifiable)}
        positions = [i for i in range(len(items)) if i not in rejected]
        encoded = [cast(Sequence[Any], items[i]) for i in positions]
        lengths = [len(e) for e in encoded]
        order = sorted(range(len(encoded)), key=lambda k: lengths[k])
        # a batch is padded to its longest text: close it at batch_size texts, when padding it to
        # the next (longer) text would exceed max_batch_tokens (so one long e-mail does not make
        # 63 chat lines pay for 256 tokens each), or when more than half of it would be padding,
        # since on CPU padded tokens cost as much as real ones
        chunks: list[list[int]] = []
        real_tokens = 0
        for k in order:
            padded = (len(chunks[-1]) + 1) * lengths[k] if chunks else 0
            if (chunks and len(chunks[-1]) < self.batch_size and padded <= self.max_batch_tokens
                    and 2 * (real_tokens + lengths[k]) >= padded):
                chunks[-1].append(k)
                real_tokens += lengths[k]
            else:
                chunks.append([k])
                real_tokens = lengths[k]
        batches = [Batch(index=[positions[k] for k in chunk], encoded=[encoded[k] for k in chunk]) for chunk in chunks]
        return Prepared(size=len(items), batches=batches, rejected=rejected)

    def preprocess(self, texts: Sequence[object]) -> Prepared:
        """:meth:`encode` then :meth:`batches`.

        Raises:
            InvalidInputError: ``texts`` is a single ``str`` instead of a sequence of texts.
        """
        return self.batches(self.encode(texts))

    def forward(self, batch: Batch) -> np.ndarray:
        """Raw logits for one batch, columns in schema (``LABELS``) order."""
        return self.backend.forward(batch.encoded)[:, self._order]

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (schema order) of rows of raw logits."""
        return apply_temperature(logits, self.calibration.temperature)

    def postprocess(self, logits: np.ndarray) -> list[Prediction]:
        """Calibrated probabilities, primary label, flags and review mark for each row of logits."""
        probs = self.calibrated(logits)
        thresholds = self.calibration.thresholds
        review_below = self.calibration.review_threshold
        predictions = []
        for row in probs:
            scores = {name: round(float(p), 6) for name, p in zip(LABELS, row, strict=True)}
            flags = [name for name in LABELS if name in thresholds and scores[name] >= thresholds[name]]
            top = int(np.argmax(row))
            predictions.append(Prediction(label=LABELS[top], scores=scores, flags=flags,
                                          review=bool(row[top] < review_below)))
        return predictions

    def logits(self, prepared: Prepared) -> np.ndarray:
        """Raw logits of every encoded item of ``prepared``, in input order (set-aside rows stay zero)."""
        out = np.zeros((prepared.size, len(LABELS)), dtype=np.float64)
        for batch in prepared.batches:
            out[batch.index] = self.forward(batch)
        return out

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits in input order (used to fit calibration).

        Raises:
            InvalidInputError: an item cannot be classified (logits need every row).
        """
        prepared = self.preprocess(texts)
        if prepared.rejected:
            i, why = next(iter(prepared.rejected.items()))
            raise InvalidInputError(f"text #{i}: {why.reason}")
        return self.logits(prepared)

    def predict(self, texts: Sequence[object]) -> list[Result]:
        """Classify messages; one result per item, in input order.

        Returns:
            A :class:`Prediction` for each classifiable item and an :class:`Unclassifiable` with the
            reason for each other one.

        Raises:
            InvalidInputError: ``texts`` is a single ``str`` instead of a sequence of texts.
        """
        return self.predict_encoded(self.encode(texts))

    def predict_encoded(self, items: Sequence[Encoded]) -> list[Result]:
        """:meth:`predict` on items already through :meth:`encode` (one result per item, in order)."""
        prepared = self.batches(items)
        # set-aside items get a row of zero logits, whose prediction is replaced by the reason
        predictions = self.postprocess(self.logits(prepared))
        return [prepared.rejected.get(i, prediction) for i, prediction in enumerate(predictions)]


def predictions_only(results: Sequence[Result]) -> list[Prediction]:
    """The predictions of a batch whose items must all be classifiable (evaluation data).

    Raises:
        InvalidInputError: naming the first item that could not be classified.
    """
    for i, result in enumerate(results):
        if isinstance(result, Unclassifiable):
            raise InvalidInputError(f"text #{i}: {result.reason}")
    return [r for r in results if isinstance(r, Prediction)]
