"""A classification head on the encoder's mean-pooled token states, the pooling e5 was trained with.

``AutoModelForSequenceClassification`` puts BERT's pooler (a dense layer on the first token,
randomly initialised for e5) under the classifier. :class:`MeanPoolingClassifier` instead averages
the last hidden states over real tokens, as multilingual-e5 does for its embeddings, and feeds one
linear layer. It saves as a standard Hugging Face encoder checkpoint plus ``head.safetensors``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, PreTrainedModel

HEAD_FILE = "head.safetensors"


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of ``hidden`` (batch, tokens, dim) over the positions where ``attention_mask`` is 1."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class MeanPoolingClassifier(nn.Module):
    """Encoder -> masked mean pooling -> dropout -> linear layer over the labels.

    Example:
        >>> model = MeanPoolingClassifier.from_encoder("path/to/e5", num_labels=5)
        >>> model(input_ids=ids, attention_mask=mask).shape
        torch.Size([batch, 5])
    """

    def __init__(self, encoder: PreTrainedModel, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

    @classmethod
    def from_encoder(cls, source: str | Path, *, num_labels: int, dropout: float = 0.1) -> MeanPoolingClassifier:
        """A new head (randomly initialised, small weights) on a pre-trained encoder."""
        model = cls(AutoModel.from_pretrained(source), num_labels, dropout)
        nn.init.normal_(model.classifier.weight, std=0.02)
        nn.init.zeros_(model.classifier.bias)
        return model

    @classmethod
    def from_pretrained(cls, directory: Path, *, num_labels: int) -> MeanPoolingClassifier:
        """Load what :meth:`save_pretrained` wrote."""
        model = cls(AutoModel.from_pretrained(directory), num_labels)
        model.classifier.load_state_dict(load_file(directory / HEAD_FILE))
        return model

    def save_pretrained(self, directory: Path) -> None:
        self.encoder.save_pretrained(directory)
        save_file({k: v.contiguous() for k, v in self.classifier.state_dict().items()}, directory / HEAD_FILE)

    @property
    def base_model(self) -> PreTrainedModel:
        """The encoder (named like ``PreTrainedModel.base_model`` so freezing code treats both alike)."""
        return self.encoder

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The pooled features the linear layer reads, (batch, hidden)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(input_ids, attention_mask)))
