"""Shallower models and knowledge distillation, on the tiny random checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import BertConfig, BertModel

from tests.conftest import quick_train_config, seed_rows, write_jsonl
from ticketguard.models.classifier import Classifier
from ticketguard.training.config import TrainConfig
from ticketguard.training.fit_transformer import distillation_loss, keep_layers, kept_layer_indices
from ticketguard.training.pipeline import train


def test_distillation_loss_is_zero_only_when_the_student_matches_the_teacher():
    teacher = torch.tensor([[2.0, -1.0, 0.5, 0.0, -2.0]])
    assert distillation_loss(teacher.clone(), teacher, temperature=2.0).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.zeros_like(teacher, requires_grad=True)
    loss = distillation_loss(student, teacher, temperature=2.0)
    assert loss.item() > 0
    loss.backward()
    # gradient descent moves the student's logits towards the teacher's ranking
    assert torch.argmax(-student.grad).item() == torch.argmax(teacher).item()


def test_a_shallower_student_is_cut_from_the_teacher_and_saved_as_such(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    config = quick_train_config(tiny_artifact, encoder_layers=1, teacher=str(tiny_artifact), distill_alpha=0.7)
    report = train(config, corpus, tmp_path / "student", cache_dir=tmp_path / "cache")
    saved = json.loads((tmp_path / "student" / "config.json").read_text())
    assert saved["num_hidden_layers"] == 1
    assert report.config["teacher"] == str(tiny_artifact)
    assert report.config["encoder_layers"] == 1
    student = Classifier.load(tmp_path / "student")
    assert len(student.predict(["Where is my parcel?", "You idiot."])) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"encoder_layers": 0}, "encoder_layers must be >= 1"),
     ({"encoder_layers": 2, "freeze_layers": 2}, "must be below encoder_layers"),
     ({"layer_choice": "top"}, "layer_choice must be one of"),
     ({"distill_alpha": 1.5}, "distill_alpha must be in"),
     ({"distill_temperature": 0.0}, "distill_temperature must be positive")],
)
def test_bad_student_settings_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)


def test_more_layers_than_the_base_has_is_refused(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    with pytest.raises(ValueError, match="has only 2 layers"):
        train(quick_train_config(tiny_artifact, encoder_layers=5), corpus, tmp_path / "m", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("available", "n_layers", "choice", "expected"),
    [(12, 6, "bottom", [0, 1, 2, 3, 4, 5]),
     (12, 6, "spread", [0, 2, 4, 7, 9, 11]),
     (12, 4, "spread", [0, 4, 7, 11]),
     (12, 12, "spread", list(range(12))),
     (4, 1, "spread", [0])],
)
def test_a_student_keeps_the_bottom_layers_or_layers_spread_to_the_top(available, n_layers, choice, expected):
    assert kept_layer_indices(available, n_layers, choice) == expected


def test_a_spread_cut_keeps_the_top_layer_itself_and_saves_its_depth():
    config = BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=4, num_attention_heads=2, intermediate_size=16)
    encoder = BertModel(config)
    layers = list(encoder.encoder.layer)
    keep_layers(encoder, 2, "spread")
    assert list(encoder.encoder.layer) == [layers[0], layers[3]]
    assert encoder.config.num_hidden_layers == 2
    hidden = encoder(input_ids=torch.tensor([[1, 2, 3]])).last_hidden_state
    assert hidden.shape == (1, 3, 8)
