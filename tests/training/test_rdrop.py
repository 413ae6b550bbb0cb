"""R-Drop: two dropout passes per batch and a consistency term between their predictions."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import quick_train_config, seed_rows, write_jsonl
from ticketguard.models.classifier import Classifier
from ticketguard.training.config import TrainConfig
from ticketguard.training.fit_transformer import consistency_loss
from ticketguard.training.pipeline import train


def test_the_consistency_term_is_symmetric_and_zero_only_for_equal_predictions():
    a = torch.tensor([[2.0, -1.0, 0.5, 0.0, -2.0], [0.0, 0.0, 3.0, 0.0, 0.0]])
    b = torch.tensor([[1.0, 0.0, 0.5, 0.0, -1.0], [0.0, 1.0, 0.0, 0.0, 0.0]])
    assert consistency_loss(a, a.clone()).item() == pytest.approx(0.0, abs=1e-6)
    assert consistency_loss(a, b).item() > 0
    assert consistency_loss(a, b).item() == pytest.approx(consistency_loss(b, a).item())


def _train(tiny_artifact, out, corpus, rdrop: float):
    return train(quick_train_config(tiny_artifact, rdrop=rdrop), corpus, out, cache_dir=out.parent / "cache")


def test_r_drop_changes_the_training_loss_and_is_recorded(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    plain = _train(tiny_artifact, tmp_path / "plain", corpus, rdrop=0.0)
    rdrop = _train(tiny_artifact, tmp_path / "rdrop", corpus, rdrop=1.0)
    assert rdrop.config["rdrop"] == 1.0
    assert plain.fit is not None and rdrop.fit is not None
    # same seed and batches: only the second dropout pass and its consistency term differ
    assert rdrop.fit.first_losses[0] != pytest.approx(plain.fit.first_losses[0])
    assert len(Classifier.load(tmp_path / "rdrop").predict(["Where is my parcel?"])) == 1


def test_a_negative_weight_is_refused():
    with pytest.raises(ValueError, match="rdrop must be >= 0"):
        TrainConfig(rdrop=-0.1)
