"""The one inference path shared by the service, the CLI, re-labelling and evaluation.

``predict`` runs three stages, like a ``transformers`` pipeline:

* :meth:`Classifier.preprocess` normalises texts and groups them into length-sorted batches;
* :meth:`Classifier.forward` runs each batch through the backend (no-grad, batched);
* :meth:`Classifier.postprocess` calibrates logits and names labels and flags.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ticketguard.models.artifact import Calibration, Manifest, read_calibration, read_labels, read_manifest
from ticketguard.models.backends import Backend, TfidfBackend, TransformerBackend
from ticketguard.models.calibration import apply_temperature
from ticketguard.models.errors import InvalidInputError
from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
#: characters kept per message; far beyond what the model reads, it only bounds tokenizer work
MAX_CHARS = 20_000


def normalize_text(text: str) -> str:
    """NFC-normalise, drop control characters and collapse whitespace."""
    text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


@dataclass(frozen=True)
class Batch:
    """Row positions (into the caller's list) and their prepared texts."""

    index: list[int]
    texts: list[str]


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
        batch_size: int = 64,
        max_batch_tokens: int = 2048,
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
        batch_size: int = 64,
        max_batch_tokens: int = 2048,
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
            backend = TransformerBackend(directory, max_length=manifest.max_length, device=device, quantize=quantize)
        else:
            backend = TfidfBackend(directory)
        logger.info("loaded %s model %s from %s", manifest.arch, manifest.model_version, directory)
        return cls(backend, manifest, labels, calibration, batch_size=batch_size, max_batch_tokens=max_batch_tokens)

    @property
    def model_version(self) -> str:
        return self.manifest.model_version

    def preprocess(self, texts: Sequence[str]) -> list[Batch]:
        """Validate and normalise texts, then cut them into batches of similar length.

        Raises:
            InvalidInputError: a text is not a string or is empty after normalisation.
        """
        prepared = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidInputError(f"text #{i} is {type(text).__name__}, expected str")
            clean = normalize_text(text[:MAX_CHARS])
            if not clean:
                raise InvalidInputError(f"text #{i} is empty")
            prepared.append(self.manifest.text_prefix + clean)
        lengths = self.backend.token_lengths(prepared) if prepared else []
        order = sorted(range(len(prepared)), key=lambda i: lengths[i])
        # a batch is padded to its longest text: close it at batch_size texts, when padding it to
        # the next (longer) text would exceed max_batch_tokens (so one long e-mail does not make
        # 63 chat lines pay for 256 tokens each), or when more than half of it would be padding,
        # since on CPU padded tokens cost as much as real ones
        chunks: list[list[int]] = []
        real_tokens = 0
        for i in order:
            padded = (len(chunks[-1]) + 1) * lengths[i] if chunks else 0
            if (chunks and len(chunks[-1]) < self.batch_size and padded <= self.max_batch_tokens
                    and 2 * (real_tokens + lengths[i]) >= padded):
                chunks[-1].append(i)
                real_tokens += lengths[i]
            else:
                chunks.append([i])
                real_tokens = lengths[i]
        return [Batch(index=chunk, texts=[prepared[i] for i in chunk]) for chunk in chunks]

    def forward(self, batch: Batch) -> np.ndarray:
        """Raw logits for one batch, columns in schema (``LABELS``) order."""
        return self.backend.forward(batch.texts)[:, self._order]

    def postprocess(self, logits: np.ndarray) -> list[Prediction]:
        """Calibrated probabilities, primary label and flags for each row of logits."""
        probs = apply_temperature(logits, self.calibration.temperature)
        thresholds = self.calibration.thresholds
        predictions = []
        for row in probs:
            scores = {name: round(float(p), 6) for name, p in zip(LABELS, row)}
            flags = [name for name in LABELS if name in thresholds and scores[name] >= thresholds[name]]
            predictions.append(Prediction(label=LABELS[int(np.argmax(row))], scores=scores, flags=flags))
        return predictions

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits in input order (used to fit calibration)."""
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        for batch in self.preprocess(texts):
            out[batch.index] = self.forward(batch)
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify messages; results come back in input order."""
        if not texts:
            return []
        return self.postprocess(self.predict_logits(texts))
