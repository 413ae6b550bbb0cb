"""LP-FT: the head starts from a logistic regression fitted on the frozen base model's pooled features."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from tests.conftest import quick_train_config, seed_rows, write_jsonl
from ticketguard.training.config import TrainConfig
from ticketguard.training.fit_transformer import build_model, fit_probe_head, pooled_features
from ticketguard.training.pipeline import train


def test_the_fitted_head_reads_raw_features_as_the_probe_reads_standardised_ones(tiny_artifact):
    model = build_model(TrainConfig(base_model=str(tiny_artifact)), tiny_artifact)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 20)
    # five separable clusters far from the origin and on different scales: the scaling must be folded back
    centres = rng.normal(size=(5, 32)) * 4 + 10
    features = (centres[y] + rng.normal(size=(100, 32))) * np.linspace(0.5, 3.0, 32)
    accuracy = fit_probe_head(model, features.astype(np.float32), y.tolist(), class_balanced=True)
    with torch.no_grad():
        logits = model.classifier(torch.from_numpy(features.astype(np.float32))).numpy()
    assert accuracy == 1.0
    assert (logits.argmax(axis=1) == y).all()


def test_pooled_features_come_back_in_input_order(tiny_artifact):
    model = build_model(TrainConfig(base_model=str(tiny_artifact)), tiny_artifact)
    ids = [[0, 5, 6, 7, 2], [0, 9, 2], [0, 11, 12, 2]]
    tokenizer = AutoTokenizer.from_pretrained(tiny_artifact)
    together = pooled_features(model, tokenizer, ids, batch_size=2, autocast=nullcontext())
    alone = [pooled_features(model, tokenizer, [one], batch_size=1, autocast=nullcontext())[0] for one in ids]
    np.testing.assert_allclose(together, np.stack(alone), rtol=1e-4, atol=1e-5)


def test_training_with_a_probe_initialised_head_writes_a_model(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    config = quick_train_config(tiny_artifact, probe_init=True)
    report = train(config, corpus, tmp_path / "lpft", cache_dir=tmp_path / "cache")
    assert report.config["probe_init"] is True


def test_a_probe_needs_the_mean_pooling_head():
    with pytest.raises(ValueError, match="probe_init needs pooling='mean'"):
        TrainConfig(pooling="cls", probe_init=True)

