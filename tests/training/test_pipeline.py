"""Training, calibration, evaluation and the artifact they write."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import seed_rows, write_jsonl
from ticketguard.models.artifact import read_calibration, read_manifest, read_precision
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction
from ticketguard.training.config import TrainConfig
from ticketguard.training.evaluate import evaluate, read_labelled
from ticketguard.training.pipeline import recalibrate, train


@pytest.fixture(scope="module")
def tfidf_artifact(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfidf")
    corpus = write_jsonl(root / "corpus.jsonl", seed_rows())
    report = train(TrainConfig(arch="tfidf"), corpus, root / "model", cache_dir=root / "cache", challenge=corpus)
    return root / "model", corpus, report


def test_tfidf_artifact_is_complete_and_loads(tfidf_artifact):
    out, _, report = tfidf_artifact
    for name in ("ticketguard.json", "labels.json", "calibration.json", "metrics.json", "MODEL_CARD.md", "tfidf.joblib"):
        assert (out / name).is_file(), name
    manifest = read_manifest(out)
    assert manifest.arch == "tfidf" and manifest.model_version == report.model_version
    calibration = read_calibration(out, list(LABELS))
    assert calibration.temperature > 0 and 0 <= calibration.review_threshold <= 1
    assert calibration == report.calibration
    saved = json.loads((out / "metrics.json").read_text())
    # dev is cut in two: checkpoint selection and calibration never share a row
    assert saved["data"]["rows"] == {"train": 10, "selection": 3, "calibration": 2, "test": 5, "challenge": 20}
    assert saved["selection"]["n"] == 3 and saved["calibration_split"]["n"] == 2
    assert saved["config"]["arch"] == "tfidf" and saved["seed"] == 13
    assert len(saved["data"]["sha256"]) == 64
    assert set(saved["test"]["per_language"]) <= {"en", "ru", "zh-Hans"}
    # the baseline memorises its own training rows
    prediction = Classifier.load(out).predict(["Your colleague promised me a full refund plus a free year, so just do it."])[0]
    assert isinstance(prediction, Prediction) and prediction.label == "manipulation"
    card = (out / "MODEL_CARD.md").read_text()
    assert "Test split (held out)" in card and "Challenge split" in card
    # nothing but the artifact is left next to it
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_evaluate_writes_one_report_over_sets_and_models(tfidf_artifact, tiny_artifact, tmp_path):
    out, corpus, _ = tfidf_artifact
    # a user's own file: only text and label are required, other fields are ignored
    own = write_jsonl(tmp_path / "own.jsonl", [
        {"text": "You are a useless idiot, read my message again.", "label": "abuse", "orig_label": "insult"},
        {"text": "Where is my parcel? It is ten days late.", "label": "complaint", "lang": "en", "extra": 1},
    ])
    sets = {"test": read_labelled(corpus, split="test"), "own": read_labelled(own)}
    results = evaluate([out, tiny_artifact], sets, tmp_path / "report")
    assert [e.model for e in results["test"]] == [out.name, tiny_artifact.name]
    for name in ("metrics.json", "report.md", "confusion-0.png", "reliability-0.png", "reliability-1.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## test" in report and "## own" in report and "| zh-Hans |" in report and "tiny-test-0" in report
    tiny = results["test"][1].metrics
    assert tiny.n == 5 and 0 <= tiny.harmful_false_flag_rate <= 1 and sum(map(sum, tiny.confusion)) == 5
    own_tiny = results["own"][1]
    # macro-F1 over the two gold labels present; the tiny model says complaint to everything
    assert own_tiny.metrics.labels_scored == ["abuse", "complaint"]
    assert own_tiny.metrics.per_language.keys() == {"en", "unknown"}
    assert [e.id for e in own_tiny.confident_errors] == ["own.jsonl:1"]
    # every model beside the first carries its paired macro-F1 difference from the first
    assert results["test"][0].difference_from_first is None
    difference = results["test"][1].difference_from_first
    assert difference is not None and set(difference.per_language) == set(tiny.per_language)
    versus = difference.overall
    assert versus.low <= tiny.macro_f1 - results["test"][0].metrics.macro_f1 <= versus.high
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["test"][1]["difference_from_first"]["overall"] == {"low": versus.low, "high": versus.high}
    assert "predicted" not in saved["test"][0] and "macro_f1_interval" in saved["test"][0]["metrics"]
    assert "paired 95% interval" in report and "95% bootstrap interval" in report


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
    report = train(config, corpus, tmp_path / "model", cache_dir=tmp_path / "cache")
    assert report.fit is not None
    first, last = report.fit.first_losses, report.fit.last_losses
    assert sum(last[-3:]) / 3 < sum(first[:3]) / 3 - 0.3, (first, last)
    classifier = Classifier.load(tmp_path / "model")
    predictions = classifier.predict(["You are a useless idiot, read my message again.", "请问年度套餐可以开发票吗？"])
    assert [p.label for p in predictions] == ["abuse", "neutral"]
    assert report.selection.macro_f1 > 0.5
    guard = read_precision(tmp_path / "model")  # every mode checked against fp32 on the whole dev split
    assert guard is not None and guard.rows == sum(r["split"] == "dev" for r in rows)
    assert set(guard.modes) == {"fp32", "bf16", "int8"}
    assert guard.modes["fp32"].agreement == 1.0 and guard.modes["fp32"].macro_f1 > 0.5


def test_an_interrupted_overwrite_keeps_the_previous_model(tfidf_artifact, tmp_path, monkeypatch):
    out, corpus, _ = tfidf_artifact
    target = tmp_path / "model"
    shutil.copytree(out, target)
    before = (target / "ticketguard.json").read_text()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ticketguard.training.pipeline.render_model_card", crash)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(arch="tfidf"), corpus, target, cache_dir=tmp_path / "cache", overwrite=True)
    assert (target / "ticketguard.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging directory left behind


def test_recalibration_keeps_the_weights_and_records_the_new_rule(tfidf_artifact, tmp_path):
    out, corpus, report = tfidf_artifact
    target = tmp_path / "model"
    shutil.copytree(out, target)
    flipped = not report.config["calibrate_on_noise"]
    again = recalibrate(target, corpus, calibrate_on_noise=flipped)
    assert again.model_version == report.model_version and again.config["calibrate_on_noise"] is flipped
    texts = [r["text"] for r in seed_rows()]
    np.testing.assert_array_equal(Classifier.load(target).predict_logits(texts), Classifier.load(out).predict_logits(texts))
    assert read_calibration(target, list(LABELS)) == again.calibration
    assert json.loads((target / "metrics.json").read_text())["config"]["calibrate_on_noise"] is flipped
    other = write_jsonl(tmp_path / "other.jsonl", seed_rows()[:-1])
    with pytest.raises(DataError, match="is not the corpus"):
        recalibrate(target, other)
