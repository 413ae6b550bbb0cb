"""The mean-pooling head: pooling over real tokens only, and a save/load round trip through an artifact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from tests.tolerances import SCORE_ATOL
from ticketguard.models.artifact import Calibration, Manifest, write_artifact_metadata
from ticketguard.models.base import embedded_tokenizer_file, write_tokenizer
from ticketguard.models.classifier import Classifier
from ticketguard.models.heads import MeanPoolingClassifier, mean_pool
from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


@pytest.fixture(scope="module")
def mean_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mean") / "artifact"
    torch.manual_seed(1)
    encoder = BertModel(BertConfig(vocab_size=250_037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=64, pad_token_id=1, initializer_range=0.5))
    model = MeanPoolingClassifier(encoder, num_labels=len(LABELS)).eval()
    directory.mkdir(parents=True)
    model.save_pretrained(directory)
    write_tokenizer(embedded_tokenizer_file(), directory, max_length=512)
    write_artifact_metadata(directory, Manifest(arch="transformer", model_version="tiny-mean-0", text_prefix="query: ",
                                                max_length=64, pooling="mean"), list(LABELS), Calibration())
    return directory


def test_a_mean_pooling_artifact_loads_and_predicts_the_same_alone_and_in_a_batch(mean_artifact: Path) -> None:
    classifier = Classifier.load(mean_artifact, batch_size=2)
    texts = ["short", "a somewhat longer message about a late parcel", "третье сообщение"]
    together = classifier.predict(texts)
    for text, result in zip(texts, together, strict=True):
        alone = classifier.predict([text])[0]
        assert isinstance(result, Prediction) and isinstance(alone, Prediction)
        assert result.label == alone.label
        assert result.scores == pytest.approx(alone.scores, abs=SCORE_ATOL)


def test_saved_head_reloads_to_the_same_logits(mean_artifact: Path) -> None:
    first = MeanPoolingClassifier.from_pretrained(mean_artifact, num_labels=len(LABELS)).eval()
    second = MeanPoolingClassifier.from_pretrained(mean_artifact, num_labels=len(LABELS)).eval()
    ids = torch.tensor([[0, 1000, 2000, 2]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        assert torch.equal(first(input_ids=ids, attention_mask=mask), second(input_ids=ids, attention_mask=mask))
