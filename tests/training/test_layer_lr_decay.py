"""Layer-wise learning-rate decay: the head trains at the full rate, each layer below it at a decayed one."""

from __future__ import annotations

import pytest

from ticketguard.training.config import TrainConfig
from ticketguard.training.fit_transformer import build_model, parameter_groups


def _rates(tiny_artifact, **overrides) -> list[float]:
    config = TrainConfig(base_model=str(tiny_artifact), freeze_layers=0, **overrides)
    model = build_model(config, tiny_artifact)
    groups = parameter_groups(model, config)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for g in groups for p in g["params"]} == trainable  # every trainable parameter, once
    assert sum(len(g["params"]) for g in groups) == len(trainable)
    return sorted({g["lr"] for g in groups}, reverse=True)


def test_each_layer_down_from_the_head_trains_at_the_decay_factor_of_the_one_above(tiny_artifact):
    # the tiny base has 2 encoder layers: head, layer 1, layer 0, then the (position and norm) embeddings
    rates = _rates(tiny_artifact, learning_rate=1e-4, layer_lr_decay=0.5)
    assert rates == pytest.approx([1e-4, 5e-5, 2.5e-5, 1.25e-5])


def test_no_decay_gives_every_parameter_the_same_rate(tiny_artifact):
    assert _rates(tiny_artifact, learning_rate=1e-4) == pytest.approx([1e-4])


def test_matrices_get_weight_decay_and_biases_and_norms_do_not(tiny_artifact):
    config = TrainConfig(base_model=str(tiny_artifact), freeze_layers=0, weight_decay=0.01, layer_lr_decay=0.8)
    for group in parameter_groups(build_model(config, tiny_artifact), config):
        assert group["weight_decay"] == (0.01 if all(p.ndim > 1 for p in group["params"]) else 0.0)


def test_a_decay_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="layer_lr_decay must be in"):
        TrainConfig(layer_lr_decay=1.5)
