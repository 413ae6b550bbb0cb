"""Model soups: weights of same-base models averaged, then calibrated and written like a trained model."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from tests.conftest import quick_train_config, seed_rows, write_jsonl
from ticketguard.models.backends import TransformerBackend
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import ArtifactError, DataError
from ticketguard.training.config import TrainConfig
from ticketguard.training.pipeline import soup, train
from ticketguard.training.soup import average_state_dicts


def test_floats_are_averaged_and_fixed_buffers_kept():
    a = {"w": torch.tensor([1.0, 3.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, 5.0]), "ids": torch.tensor([0, 1])}
    averaged = average_state_dicts([a, b])
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(averaged["ids"], torch.tensor([0, 1]))


@pytest.mark.parametrize(
    ("other", "message"),
    [({"w": torch.zeros(3), "ids": torch.tensor([0, 1])}, "shape"),
     ({"w": torch.zeros(2)}, "different parameters"),
     ({"w": torch.zeros(2), "ids": torch.tensor([1, 0])}, "fixed buffers differ")],
)
def test_members_of_another_architecture_are_refused(other, message):
    with pytest.raises(ValueError, match=message):
        average_state_dicts([{"w": torch.zeros(2), "ids": torch.tensor([0, 1])}, other])


def test_weights_are_normalised_shares():
    averaged = average_state_dicts([{"w": torch.tensor([0.0])}, {"w": torch.tensor([4.0])}], weights=[3, 1])
    torch.testing.assert_close(averaged["w"], torch.tensor([1.0]))


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [0.0, 0.0]])
def test_bad_weights_are_refused(weights):
    with pytest.raises(ValueError, match="one non-negative weight per model"):
        average_state_dicts([{"w": torch.zeros(1)}, {"w": torch.ones(1)}], weights=weights)


def test_a_soup_of_one_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        average_state_dicts([{"w": torch.zeros(2)}])


def _member(tiny_artifact, corpus, out, seed):
    train(quick_train_config(tiny_artifact, seed=seed), corpus, out, cache_dir=out.parent / "cache")
    return out


def test_two_seeds_make_one_calibrated_model_whose_weights_are_their_mean(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    members = [_member(tiny_artifact, corpus, tmp_path / f"seed{seed}", seed) for seed in (1, 2)]
    report = soup(members, corpus, tmp_path / "soup")
    weighted = soup(members, corpus, tmp_path / "weighted", weights=[0.75, 0.25])
    name = "encoder.encoder.layer.1.output.dense.weight"
    weights = [_state(m)[name] for m in [*members, tmp_path / "soup", tmp_path / "weighted"]]
    torch.testing.assert_close(weights[2], (weights[0] + weights[1]) / 2)
    torch.testing.assert_close(weights[3], 0.75 * weights[0] + 0.25 * weights[1])
    assert weighted.soup_weights == [0.75, 0.25] and report.soup_weights is None
    metrics = json.loads((tmp_path / "soup" / "metrics.json").read_text())
    assert metrics["soup_of"] == [str(m) for m in members]
    assert report.model_version.startswith("transformer-soup2-")
    assert (tmp_path / "soup" / "calibration.json").exists() and (tmp_path / "soup" / "precision.json").exists()
    with pytest.raises(FileExistsError):
        soup(members, corpus, tmp_path / "soup")
    other = write_jsonl(tmp_path / "other.jsonl", seed_rows()[:-1])
    with pytest.raises(DataError, match="not trained on"):
        soup(members, other, tmp_path / "elsewhere")


def test_members_from_different_base_models_are_refused(tiny_artifact, tmp_path):
    """Two bases of one architecture have state dicts that average without error: only the training
    reports tell them apart."""
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    other_base = shutil.copytree(tiny_artifact, tmp_path / "other-base")
    members = [_member(tiny_artifact, corpus, tmp_path / "a", 1), _member(other_base, corpus, tmp_path / "b", 1)]
    with pytest.raises(ValueError, match="different base models"):
        soup(members, corpus, tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_a_tfidf_member_is_refused(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    tfidf = tmp_path / "tfidf"
    train(TrainConfig(arch="tfidf", calibrate_on_noise=False), corpus, tfidf, cache_dir=tmp_path / "cache")
    with pytest.raises(ArtifactError, match="not a tfidf model"):
        soup([tfidf, tfidf], corpus, tmp_path / "soup")


def _state(directory):
    backend = Classifier.load(directory, precision="fp32", device="cpu").backend
    assert isinstance(backend, TransformerBackend)
    return backend.model.state_dict()
