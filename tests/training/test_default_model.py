"""The cached default model is rebuilt when the corpus or the training defaults change, not otherwise."""

from __future__ import annotations

import json

from ticketguard.models.artifact import MANIFEST, METRICS_FILE
from ticketguard.training.config import TrainConfig
from ticketguard.training.default_model import is_current


def _artifact(tmp_path, sha, config, *, without=()):
    """A model directory whose report records ``config``, less the settings in ``without``."""
    recorded = {k: v for k, v in config.to_dict().items() if k not in without}
    (tmp_path / MANIFEST).write_text("{}")
    (tmp_path / METRICS_FILE).write_text(json.dumps({"data": {"sha256": sha}, "config": recorded}))
    return tmp_path


def test_a_model_of_this_corpus_and_recipe_is_current_whatever_its_thread_count(tmp_path):
    model = _artifact(tmp_path, "abc", TrainConfig(threads=4))
    assert is_current(model, "abc", TrainConfig(threads=None))


def test_a_setting_added_since_the_model_was_built_counts_as_its_default(tmp_path):
    model = _artifact(tmp_path, "abc", TrainConfig(), without={"label_smoothing"})
    assert is_current(model, "abc", TrainConfig())
    assert not is_current(model, "abc", TrainConfig(label_smoothing=0.1))


def test_a_model_from_before_lp_ft_is_not_the_lp_ft_default(tmp_path):
    # reports written before the option existed trained a random head
    model = _artifact(tmp_path, "abc", TrainConfig(), without={"probe_init"})
    assert not is_current(model, "abc", TrainConfig())
    assert is_current(model, "abc", TrainConfig(probe_init=False))


def test_another_corpus_or_recipe_or_a_broken_report_is_not_current(tmp_path):
    model = _artifact(tmp_path, "abc", TrainConfig())
    assert not is_current(model, "other", TrainConfig())
    assert not is_current(model, "abc", TrainConfig(epochs=3))
    (tmp_path / METRICS_FILE).write_text("[]")
    assert not is_current(model, "abc", TrainConfig())
    (tmp_path / METRICS_FILE).unlink()
    assert not is_current(model, "abc", TrainConfig())
