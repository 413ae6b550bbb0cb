"""Training, calibration, evaluation and the artifact they write."""

import json

import pytest

from ticketguard.models.artifact import read_calibration, read_manifest
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABELS
from tests.conftest import seed_rows, write_jsonl
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import load_corpus
from ticketguard.training.evaluate import evaluate
from ticketguard.training.pipeline import train


@pytest.fixture(scope="module")
def tfidf_artifact(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfidf")
    corpus = write_jsonl(root / "corpus.jsonl", seed_rows())
    metrics = train(TrainConfig(arch="tfidf"), corpus, root / "model", cache_dir=root / "cache")
    return root / "model", corpus, metrics


def test_tfidf_artifact_is_complete_and_loads(tfidf_artifact):
    out, _, metrics = tfidf_artifact
    for name in ("ticketguard.json", "labels.json", "calibration.json", "metrics.json", "MODEL_CARD.md", "tfidf.joblib"):
        assert (out / name).is_file(), name
    manifest = read_manifest(out)
    assert manifest.arch == "tfidf" and manifest.model_version == metrics["model_version"]
    assert read_calibration(out, list(LABELS)).temperature > 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["data"]["rows"] == {"train": 10, "dev": 5, "test": 5}
    assert saved["config"]["arch"] == "tfidf" and saved["seed"] == 13
    assert len(saved["data"]["sha256"]) == 64
    assert set(saved["test"]["per_language"]) <= {"en", "ru", "zh-Hans"}
    # the baseline memorises its own training rows
    prediction = Classifier.load(out).predict(["Your colleague promised me a full refund plus a free year, so just do it."])[0]
    assert prediction.label == "manipulation"
    assert "Test split (held out)" in (out / "MODEL_CARD.md").read_text()


def test_evaluate_writes_report_plot_and_comparison(tfidf_artifact, tiny_artifact, tmp_path):
    out, corpus, _ = tfidf_artifact
    rows = load_corpus(corpus, splits=["test"])
    results = evaluate(out, rows, tmp_path / "report", compare=tiny_artifact, data_name="seed [test]")
    assert set(results) == {str(out), str(tiny_artifact)}
    for name in ("metrics.json", "report.md", "confusion.png", "confusion-compare.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| macro-F1 |" in report and "| zh-Hans |" in report and "tiny-test-0" in report
    tiny = results[str(tiny_artifact)]
    assert tiny["n"] == 5 and 0 <= tiny["harmful_false_flag_rate"] <= 1
    assert sum(map(sum, tiny["confusion"])) == 5


def test_existing_output_needs_overwrite(tfidf_artifact):
    out, corpus, _ = tfidf_artifact
    with pytest.raises(FileExistsError, match="--overwrite"):
        train(TrainConfig(arch="tfidf"), corpus, out, cache_dir=out.parent / "cache")


def test_missing_label_in_train_split_is_refused(tmp_path):
    rows = [r for r in seed_rows() if not (r["label"] == "threat" and r["split"] == "train")]
    corpus = write_jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(DataError, match=r"no rows for \['threat'\]"):
        train(TrainConfig(arch="tfidf"), corpus, tmp_path / "m", cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("arch", "svm", "arch must be"), ("epochs", 0, "epochs must be positive"),
     ("warmup_ratio", 1.5, "warmup_ratio"), ("max_length", 1024, "max_length must be <= 512")],
)
def test_bad_training_config_is_rejected(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


@pytest.mark.slow
def test_fine_tuning_the_real_base_reduces_loss(tmp_path):
    """Integration: the embedded multilingual-e5-small, fine-tuned a few steps on ~100 rows."""
    rows = []
    for i in range(5):  # 5 copies with small edits: 100 rows of 5 well separated classes
        for r in seed_rows(split_cycle=("train", "train", "train", "dev")):
            rows.append({**r, "id": f"{r['id']}-{i}", "text": f"{r['text']} (#{i})"})
    corpus = write_jsonl(tmp_path / "c.jsonl", rows)
    config = TrainConfig(epochs=8, batch_size=16, learning_rate=2e-4, max_length=64, warmup_ratio=0.0,
                         freeze_layers=0, evals_per_epoch=1, patience=5)
    metrics = train(config, corpus, tmp_path / "model", cache_dir=tmp_path / "cache")
    first, last = metrics["fit"]["first_losses"], metrics["fit"]["last_losses"]
    assert sum(last[-3:]) / 3 < sum(first[:3]) / 3 - 0.3, (first, last)
    classifier = Classifier.load(tmp_path / "model")
    predictions = classifier.predict(["You are a useless idiot, read my message again.", "请问年度套餐可以开发票吗？"])
    assert [p.label for p in predictions] == ["abuse", "neutral"]
    assert metrics["dev"]["macro_f1"] > 0.5
