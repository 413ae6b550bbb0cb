"""Model backends: turn a batch of prepared texts into raw logits, in ``labels.json`` order.

A backend owns the model-specific part of the pipeline (tokenising and the forward pass); the
:class:`~models.classifier.Classifier` owns normalising, batching and calibration, so every
architecture shares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import joblib
import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from ticketguard.models.errors import ArtifactError

TFIDF_FILE = "tfidf.joblib"


class Backend(Protocol):
    def token_lengths(self, texts: list[str]) -> list[int]:
        """A cheap length estimate used to bucket texts of similar length together."""

    def forward(self, texts: list[str]) -> np.ndarray:
        """Logits of shape (len(texts), n_labels)."""


class TransformerBackend:
    """A Hugging Face sequence-classification checkpoint."""

    def __init__(self, directory: Path, *, max_length: int, device: str = "cpu", quantize: bool = False) -> None:
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(directory)
            self.model = AutoModelForSequenceClassification.from_pretrained(directory)
        except (OSError, ValueError) as err:
            raise ArtifactError(f"cannot load transformer weights from {directory}: {err}") from err
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        if quantize:
            if self.device.type != "cpu":
                raise ArtifactError("int8 quantisation is for CPU inference only")
            # int8 weights for every Linear layer: faster on CPU, scores move by ~1e-2 at most
            self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        self.max_length = max_length

    def token_lengths(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=self.max_length)
        return [len(ids) for ids in encoded["input_ids"]]

    def forward(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            logits = self.model(**batch).logits
        return logits.float().cpu().numpy()


class TfidfBackend:
    """A scikit-learn pipeline (character n-gram TF-IDF + logistic regression)."""

    def __init__(self, directory: Path) -> None:
        path = directory / TFIDF_FILE
        if not path.is_file():
            raise ArtifactError(f"tfidf artifact {directory} is missing {TFIDF_FILE}")
        self.pipeline = joblib.load(path)

    def token_lengths(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]

    def forward(self, texts: list[str]) -> np.ndarray:
        # log-probabilities act as logits: softmax(log p / T) with T=1 gives p back
        return np.log(np.clip(self.pipeline.predict_proba(texts), 1e-12, 1.0))
