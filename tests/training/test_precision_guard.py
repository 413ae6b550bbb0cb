"""The precision guard measured on an artifact: by the API, by ``ticketguard precision``, not for TF-IDF."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from tests.conftest import seed_rows, write_jsonl
from ticketguard.cli.main import app
from ticketguard.models.artifact import METRICS_FILE, read_precision
from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.errors import ArtifactError, DataError
from ticketguard.models.labels import LABELS
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import corpus_hash, load_corpus
from ticketguard.training.pipeline import train
from ticketguard.training.precision_guard import guard_artifact, measure_precision

runner = CliRunner()


@pytest.fixture
def model(tiny_artifact: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(tiny_artifact, target)
    return target


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "corpus" / "seed.jsonl", seed_rows(split_cycle=("train", "dev")))


def test_every_mode_is_measured_against_fp32(model: Path, corpus: Path, caplog: pytest.LogCaptureFixture):
    rows = [r for r in load_corpus(corpus) if r.split == "dev"]
    (model / "precision.json").unlink(missing_ok=True)  # as in a training run, before the guard has measured
    with caplog.at_level(logging.INFO):
        guard = measure_precision(model, rows, device="cpu", threads=1)
    # the loader's "guard says 'not measured'" warning is not repeated while the guard measures
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name.endswith("precision_guard")] \
        == ["precision fp32", "precision bf16", "precision int8"]
    assert guard.rows == len(rows) == 10 and guard.hardware.device == "cpu" and guard.hardware.threads == 1
    assert list(guard.modes) == ["fp32", "bf16", "int8"]
    fp32 = guard.modes["fp32"]
    assert fp32.agreement == 1.0 and fp32.msgs_per_s > 0
    # macro-F1 of fp32's own labels against the gold labels
    labels = [p.label for p in predictions_only(Classifier.load(model).predict([r.text for r in rows]))]
    expected = f1_score([r.label for r in rows], labels, labels=sorted(LABELS), average="macro", zero_division=0)
    assert fp32.macro_f1 == pytest.approx(expected, abs=1e-4)
    for mode in ("bf16", "int8"):
        assert guard.modes[mode].agreement == 1.0 and guard.failure(mode) is None


def test_precision_command_writes_the_guard_of_an_existing_artifact(model: Path, corpus: Path):
    refused = runner.invoke(app, ["precision", "--model", str(model), "--data", str(corpus)])
    assert refused.exit_code == 2 and "cannot read its training report" in refused.output
    (model / METRICS_FILE).write_text(json.dumps({"data": {"sha256": "0" * 64}}))
    refused = runner.invoke(app, ["precision", "--model", str(model), "--data", str(corpus)])
    assert refused.exit_code == 2 and "is not the corpus" in refused.output
    (model / METRICS_FILE).write_text(json.dumps({"data": {"sha256": corpus_hash(load_corpus(corpus))}}))
    assert read_precision(model) is None
    result = runner.invoke(app, ["precision", "--model", str(model), "--data", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "int8" in result.output and "passed" in result.output and "reference" in result.output
    guard = read_precision(model)
    assert guard is not None and guard.rows == 10 and set(guard.modes) == {"fp32", "bf16", "int8"}


def test_guard_needs_dev_rows_and_a_transformer(model: Path, tmp_path: Path):
    with pytest.raises(DataError, match="needs labelled dev rows"):
        measure_precision(model, [])
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    train(TrainConfig(arch="tfidf"), corpus, tmp_path / "tfidf", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "tfidf" / "precision.json").exists()
    assert Classifier.load(tmp_path / "tfidf").precision.mode == "fp32"
    with pytest.raises(ArtifactError, match="fp32 only"):
        Classifier.load(tmp_path / "tfidf", precision="int8")
    with pytest.raises(ArtifactError, match="not a transformer"):
        guard_artifact(tmp_path / "tfidf", corpus)
