"""The shared inference path, on a tiny random checkpoint with the real tokenizer."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import build_tiny_artifact
from tests.tolerances import PINNED_ATOL, SCORE_ATOL
from ticketguard.models.artifact import CALIBRATION_FILE, LABELS_FILE, MANIFEST
from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.errors import ArtifactError, InvalidInputError
from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction, Unclassifiable
from ticketguard.models.text import SURROGATES, normalize_text, unclassifiable_reason

TEXTS = ["You are a useless idiot.", "Как отменить подписку?", "请问可以开发票吗？", "My order 123 is late"]


@pytest.fixture(scope="module")
def classifier(tiny_artifact):
    return Classifier.load(tiny_artifact, batch_size=2)


def test_pinned_outputs_of_tiny_checkpoint(classifier):
    predictions = classifier.predict(TEXTS)
    assert [p.label for p in predictions] == ["complaint"] * 4
    assert predictions[0].scores["complaint"] == pytest.approx(0.92, abs=PINNED_ATOL)
    assert predictions[3].scores["manipulation"] == pytest.approx(0.12, abs=PINNED_ATOL)
    assert predictions[2].scores["threat"] == pytest.approx(0.005, abs=PINNED_ATOL / 5)


def test_scores_cover_all_labels_and_sum_to_one(classifier):
    for prediction in classifier.predict(TEXTS):
        assert list(prediction.scores) == list(LABELS)
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=SCORE_ATOL)
        assert prediction.label == max(prediction.scores, key=prediction.scores.get)


def test_batching_and_length_sorting_keep_input_order(classifier):
    together = classifier.predict(TEXTS + TEXTS[::-1])
    alone = [classifier.predict([t])[0] for t in TEXTS]
    for a, b in zip(together[:4], alone, strict=False):
        assert a.scores == pytest.approx(b.scores, abs=SCORE_ATOL)
    assert together[4].scores == pytest.approx(together[3].scores, abs=SCORE_ATOL)


def test_temperature_and_thresholds_are_applied(tiny_artifact, tmp_path):
    hot = build_tiny_artifact(tmp_path / "hot", temperature=100.0, thresholds={"threat": 0.0, "neutral": 0.99})
    prediction = Classifier.load(hot).predict(TEXTS[:1])[0]
    # a very high temperature flattens the distribution towards uniform
    assert max(prediction.scores.values()) < 0.21
    assert prediction.flags == ["threat"]


def test_unclassifiable_items_are_reported_without_failing_their_batch(classifier):
    assert classifier.predict([]) == []
    texts = ["fine", "  \n\t ", 42, "\u200b\u200c\u200d\u2060\ufeff", "bad \ud800 half", TEXTS[0]]
    results = classifier.predict(texts)  # type: ignore[arg-type]
    assert results[1:5] == [Unclassifiable("empty text"), Unclassifiable("text is int, expected a string"),
                            Unclassifiable("empty text"), Unclassifiable(SURROGATES)]
    assert isinstance(results[0], Prediction) and isinstance(results[5], Prediction)
    # the neighbours get exactly what they get alone
    alone = classifier.predict([TEXTS[0]])[0]
    assert results[5].label == alone.label and results[5].scores == pytest.approx(alone.scores, abs=SCORE_ATOL)


def test_a_bare_string_is_refused_not_split_into_characters(classifier):
    with pytest.raises(InvalidInputError, match="not a single str"):
        classifier.predict("hello")


def test_unclassifiable_reason_is_the_one_rule():
    assert unclassifiable_reason("ok") is None
    assert unclassifiable_reason("\u00a0\u3000\t") == "empty text"
    assert unclassifiable_reason("\U0001f621") is None  # an emoji alone is content
    with pytest.raises(InvalidInputError, match="text #1: empty text"):
        predictions_only([Prediction("neutral", {}), Unclassifiable("empty text")])


def test_normalize_text():
    assert normalize_text("  Hello\u0000\n\n  world\t ") == "Hello world"
    assert normalize_text("e\u0301") == "\u00e9"


def test_logits_match_postprocessed_scores(classifier):
    logits = classifier.predict_logits(TEXTS)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = [[p.scores[name] for name in LABELS] for p in classifier.predict(TEXTS)]
    np.testing.assert_allclose(probs, scores, atol=1e-5)


def _copy(tiny_artifact, tmp_path):
    target = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, target)
    return target


@pytest.mark.parametrize("missing", [MANIFEST, LABELS_FILE, CALIBRATION_FILE])
def test_artifact_without_metadata_is_refused(tiny_artifact, tmp_path, missing):
    target = _copy(tiny_artifact, tmp_path)
    (target / missing).unlink()
    with pytest.raises(ArtifactError, match=f"missing {missing}"):
        Classifier.load(target)


@pytest.mark.parametrize(
    ("file", "payload", "message"),
    [
        (LABELS_FILE, {"labels": ["spam", "ham"]}, "must list exactly the labels"),
        (CALIBRATION_FILE, {"temperature": -1, "thresholds": {}}, "temperature must be a positive number"),
        (CALIBRATION_FILE, {"temperature": 1.0, "thresholds": {"spam": 0.5}}, "unknown labels"),
        (MANIFEST, {"arch": "lstm", "model_version": "x"}, "unknown arch"),
        (MANIFEST, {"arch": "transformer", "model_version": "x", "colour": "red"}, "unexpected fields"),
    ],
)
def test_inconsistent_metadata_is_refused(tiny_artifact, tmp_path, file, payload, message):
    target = _copy(tiny_artifact, tmp_path)
    (target / file).write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match=message):
        Classifier.load(target)


def test_corrupt_json_and_missing_weights_are_reported(tiny_artifact, tmp_path):
    target = _copy(tiny_artifact, tmp_path)
    (target / LABELS_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Classifier.load(target)
    target = _copy(tiny_artifact, tmp_path / "second")
    (target / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="cannot load transformer weights"):
        Classifier.load(target)


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        Classifier.load(tmp_path / "nope")


def test_labels_in_another_order_are_reported_in_schema_order(tiny_artifact, tmp_path, classifier):
    target = _copy(tiny_artifact, tmp_path)
    reordered = list(reversed(LABELS))
    (target / LABELS_FILE).write_text(json.dumps({"labels": reordered}))
    swapped = Classifier.load(target).predict(TEXTS[:1])[0]
    original = classifier.predict(TEXTS[:1])[0]
    # output column i of the weights now means reordered[i]
    for i, name in enumerate(LABELS):
        assert swapped.scores[reordered[i]] == pytest.approx(original.scores[name], abs=SCORE_ATOL)


def test_int8_quantisation_keeps_scores_close(tiny_artifact, classifier):
    quantized = Classifier.load(tiny_artifact, precision="int8")
    assert quantized.precision.mode == "int8" and quantized.precision.forced
    for a, b in zip(quantized.predict(TEXTS), classifier.predict(TEXTS), strict=False):
        assert a.label == b.label
        assert a.scores == pytest.approx(b.scores, abs=0.05)


def test_batches_respect_size_and_padded_token_budget(tiny_artifact):
    clf = Classifier.load(tiny_artifact, batch_size=4, max_batch_tokens=60)
    long_text = "word " * 40
    batches = clf.preprocess(["hi"] * 6 + [long_text, long_text]).batches
    lengths = [len(b.encoded) for b in batches]
    assert sum(lengths) == 8 and max(lengths) <= 4
    # the two long texts (about 43 tokens each) cannot share a 60-token batch with anything
    assert [b.index for b in batches][-2:] == [[6], [7]]
