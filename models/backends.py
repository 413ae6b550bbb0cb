"""Model backends: encode prepared texts once, then turn batches of encodings into raw logits.

A backend owns the model-specific part of the pipeline (tokenising and the forward pass); the
:class:`~ticketguard.models.classifier.Classifier` owns normalising, batching and calibration, so
every architecture shares them. :meth:`Backend.encode` runs once per text in ``preprocess``; the
length of each encoding drives batching, and ``forward`` only pads and runs the model.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import joblib
import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from ticketguard.models.artifact import POOLINGS
from ticketguard.models.errors import ArtifactError
from ticketguard.models.heads import MeanPoolingClassifier
from ticketguard.models.precision import autocast_for, device_modes, quantize_int8

TFIDF_FILE = "tfidf.joblib"


class Backend(Protocol):
    def encode(self, texts: list[str]) -> Sequence[Sequence[Any]]:
        """One model input per text (token ids, or the text itself); ``len()`` of each is its cost."""

    def forward(self, encoded: Sequence[Sequence[Any]]) -> np.ndarray:
        """Logits of shape (len(encoded), n_labels), in ``labels.json`` order."""

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of the pieces of a prepared text that the model reads (explanations cut
        unsegmented scripts at them, and leave out what is past the model's length limit)."""

    def save(self, directory: Path) -> None:
        """Write the weights (and tokenizer) into an artifact directory."""


def load_transformer(directory: Path, *, pooling: str, num_labels: int) -> torch.nn.Module:
    """The classification model of an artifact (or a training output), by its pooling.

    Both kinds are called as ``model(input_ids=..., attention_mask=...)``; use :func:`logits_of`
    on the result.
    """
    if pooling == "mean":
        return MeanPoolingClassifier.from_pretrained(directory, num_labels=num_labels)
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_pretrained(directory)
    raise ArtifactError(f"{directory}: unknown pooling {pooling!r}, expected one of {POOLINGS}")


def logits_of(output: Any) -> torch.Tensor:
    """Logits from either model kind's output (a tensor, or a ``transformers`` output object)."""
    return output if isinstance(output, torch.Tensor) else output.logits


def pad_ids(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids right-padded to the longest row (as the tokenizer pads) and their attention mask, both int64."""
    longest = max(len(row) for row in ids)
    input_ids = np.full((len(ids), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), longest), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return input_ids, mask


class TransformerBackend:
    """A fine-tuned transformer encoder with a classification head, run in one precision mode.

    The tokenizer is only used by ``encode`` and ``offsets``, under a lock (a Rust tokenizer fails
    when two threads call it at once); ``forward`` pads token ids itself, so the service can encode
    requests on its event loop while the inference thread runs the model.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, *, max_length: int,
                 device: str = "cpu", precision: str = "fp32") -> None:
        self.device = torch.device(device)
        # a transformers model or a MeanPoolingClassifier: both save_pretrained and take ids + mask
        self.model: Any = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.precision = precision
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self._tokenizer_lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path, *, max_length: int, pooling: str, num_labels: int, device: str = "cpu",
             precision: str = "fp32") -> TransformerBackend:
        """Load an artifact's weights and tokenizer, in ``precision`` (see :mod:`~ticketguard.models.precision`).

        Raises:
            ArtifactError: the weights cannot be read, or int8 is asked for on a GPU.
        """
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory)
            model = load_transformer(directory, pooling=pooling, num_labels=num_labels)
        except (OSError, ValueError) as err:
            raise ArtifactError(f"cannot load transformer weights from {directory}: {err}") from err
        if precision not in device_modes(device):
            raise ArtifactError(f"precision {precision!r} does not run on {device} "
                                f"(what does: {', '.join(device_modes(device))})")
        if precision == "int8":
            model = quantize_int8(model)
        return cls(model, tokenizer, max_length=max_length, device=device, precision=precision)

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    def encode(self, texts: list[str]) -> list[list[int]]:
        with self._tokenizer_lock:
            return self.tokenizer(texts, add_special_tokens=True, truncation=True,
                                  max_length=self.max_length)["input_ids"]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        with self._tokenizer_lock:
            encoding = self.tokenizer(text, add_special_tokens=True, truncation=True, max_length=self.max_length,
                                      return_offsets_mapping=True, return_special_tokens_mask=True)
        return [(a, b) for (a, b), special in zip(encoding["offset_mapping"], encoding["special_tokens_mask"],
                                                  strict=True) if not special and b > a]

    def forward(self, encoded: Sequence[Sequence[Any]]) -> np.ndarray:
        input_ids, mask = pad_ids(cast(Sequence[Sequence[int]], encoded), self.pad_id)
        with torch.inference_mode(), autocast_for(self.precision, self.device):
            logits = logits_of(self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                                          attention_mask=torch.from_numpy(mask).to(self.device)))
        return logits.float().cpu().numpy()


class TfidfBackend:
    """A scikit-learn pipeline (character n-gram TF-IDF + logistic regression); texts are their own encoding."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    @classmethod
    def load(cls, directory: Path) -> TfidfBackend:
        path = directory / TFIDF_FILE
        if not path.is_file():
            raise ArtifactError(f"tfidf artifact {directory} is missing {TFIDF_FILE}")
        return cls(joblib.load(path))

    def save(self, directory: Path) -> None:
        joblib.dump(self.pipeline, directory / TFIDF_FILE)

    def encode(self, texts: list[str]) -> list[str]:
        return texts

    def offsets(self, text: str) -> list[tuple[int, int]]:
        # character n-grams see every character
        return [(i, i + 1) for i in range(len(text))]

    def forward(self, encoded: Sequence[Sequence[Any]]) -> np.ndarray:
        # log-probabilities act as logits: softmax(log p / T) with T=1 gives p back
        return np.log(np.clip(self.pipeline.predict_proba(list(encoded)), 1e-12, 1.0))
