"""The one inference path shared by the service, the CLI, re-labelling and evaluation.

``predict`` runs three stages, like a ``transformers`` pipeline:

* :meth:`Classifier.preprocess` checks and normalises each text, encodes it once (token ids) and
  groups the encodings into length-sorted batches; items that cannot be classified are set aside
  with their reason;
* :meth:`Classifier.forward` pads one batch and runs it through the backend (no-grad);
* :meth:`Classifier.postprocess` calibrates logits and names labels, flags and the review mark.

Whether a text is classifiable is decided by :func:`~ticketguard.models.text.unclassifiable_reason`
(a light module, so the service's request schema applies the same rule without importing torch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ticketguard.models.artifact import Calibration, Manifest, read_calibration, read_labels, read_manifest
from ticketguard.models.backends import Backend, TfidfBackend, TransformerBackend
from ticketguard.models.calibration import apply_temperature
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS
from ticketguard.models.errors import InvalidInputError
from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction, Result, Unclassifiable
from ticketguard.models.text import MAX_CHARS, normalize_text, unclassifiable_reason

logger = logging.getLogger(__name__)

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
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}")
        self.backend = backend
        self.manifest = manifest
        self.labels = labels
        self.calibration = calibration
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        # outputs are reported in schema order whatever order the artifact stores them in
        self._order = [labels.index(name) for name in LABELS]

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        threads: int | None = None,
        device: str = "cpu",
        quantize: bool = False,
    ) -> Classifier:
        """Load an artifact directory, refusing one without labels or calibration.

        Args:
            path: artifact directory written by ``ticketguard train``.
            batch_size: maximum messages per forward pass.
            max_batch_tokens: maximum padded tokens (texts x longest text) per forward pass.
            threads: torch intra-op threads (``None`` keeps torch's default).
            device: torch device for transformer artifacts.
            quantize: int8 dynamic quantisation of a transformer's linear layers (CPU only).
        """
        directory = Path(path)
        manifest = read_manifest(directory)
        labels = read_labels(directory)
        calibration = read_calibration(directory, labels)
        if threads:
            torch.set_num_threads(threads)
        backend: Backend
        if manifest.arch == "transformer":
            backend = TransformerBackend.load(directory, max_length=manifest.max_length, pooling=manifest.pooling,
                                              num_labels=len(labels), device=device, quantize=quantize)
        else:
            backend = TfidfBackend.load(directory)
        logger.info("loaded %s model %s from %s", manifest.arch, manifest.model_version, directory)
        return cls(backend, manifest, labels, calibration, batch_size=batch_size, max_batch_tokens=max_batch_tokens)

    @property
    def model_version(self) -> str:
        return self.manifest.model_version

    def prepare(self, text: str) -> str:
        """The model's input string for one classifiable text: truncated, normalised, prefixed.

        Training encodes its texts through this too, so the model sees the same input in both.
        """
        return self.manifest.text_prefix + normalize_text(text[:MAX_CHARS])

    def preprocess(self, texts: Sequence[object]) -> Prepared:
        """Check, normalise and encode every text once, then cut the encodings into batches.

        An item that cannot be classified (see :func:`unclassifiable_reason`) is set aside with its
        reason; it never fails its neighbours.

        Raises:
            InvalidInputError: ``texts`` is a single ``str`` instead of a sequence of texts.
        """
        if isinstance(texts, str):
            raise InvalidInputError("predict takes a sequence of texts, not a single str; wrap it in a list")
        rejected: dict[int, Unclassifiable] = {}
        positions: list[int] = []
        prepared: list[str] = []
        for i, text in enumerate(texts):
            reason = unclassifiable_reason(text)
            if reason is not None:
                rejected[i] = Unclassifiable(reason)
                continue
            assert isinstance(text, str)
            positions.append(i)
            prepared.append(self.prepare(text))
        encoded = self.backend.encode(prepared) if prepared else []
        lengths = [len(e) for e in encoded]
        order = sorted(range(len(prepared)), key=lambda k: lengths[k])
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
        return Prepared(size=len(texts), batches=batches, rejected=rejected)

    def forward(self, batch: Batch) -> np.ndarray:
        """Raw logits for one batch, columns in schema (``LABELS``) order."""
        return self.backend.forward(batch.encoded)[:, self._order]

    def postprocess(self, logits: np.ndarray) -> list[Prediction]:
        """Calibrated probabilities, primary label, flags and review mark for each row of logits."""
        probs = apply_temperature(logits, self.calibration.temperature)
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

    def _logits(self, prepared: Prepared) -> np.ndarray:
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
        return self._logits(prepared)

    def predict(self, texts: Sequence[object]) -> list[Result]:
        """Classify messages; one result per item, in input order.

        Returns:
            A :class:`Prediction` for each classifiable item and an :class:`Unclassifiable` with the
            reason for each other one.

        Raises:
            InvalidInputError: ``texts`` is a single ``str`` instead of a sequence of texts.
        """
        prepared = self.preprocess(texts)
        # set-aside items get a row of zero logits, whose prediction is replaced by the reason
        predictions = self.postprocess(self._logits(prepared))
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
