"""``evaluate --explain``: ERASER faithfulness per language and confident errors with their spans."""

from __future__ import annotations

import json

import pytest

from tests.conftest import seed_rows, write_jsonl
from ticketguard.models.classifier import Classifier
from ticketguard.models.explain import Explainer, Span
from ticketguard.models.labels import LABELS
from ticketguard.training.evaluate import evaluate, read_labelled
from ticketguard.training.faithfulness import ALL_LANGUAGES, measure_faithfulness
from ticketguard.training.report import highlight


def test_faithfulness_is_measured_per_language_against_random_rationales(tiny_artifact):
    explainer = Explainer(Classifier.load(tiny_artifact))
    rows = seed_rows()
    predicted = [p.label for p in explainer.classifier.predict([r["text"] for r in rows])]  # type: ignore[union-attr]
    figures = measure_faithfulness(explainer, [r["text"] for r in rows], predicted, [r["lang"] for r in rows])
    assert list(figures) == ["en", "ru", "zh-Hans", ALL_LANGUAGES]
    assert [figures[k].n for k in figures] == [10, 5, 5, 20]
    for f in figures.values():
        assert 1 <= f.rationale_units <= 3 and f.rationale_units < f.units
        assert -1 <= f.sufficiency <= 1 and -1 <= f.random_sufficiency <= 1
        # the chosen units are the ones whose removal cost the label most: removing them costs more than chance
        assert f.comprehensiveness > f.random_comprehensiveness
    assert figures["all"].comprehensiveness == pytest.approx(
        (10 * figures["en"].comprehensiveness + 5 * figures["ru"].comprehensiveness
         + 5 * figures["zh-Hans"].comprehensiveness) / 20, abs=1e-3)


def test_evaluate_explain_writes_faithfulness_and_highlighted_errors(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    results = evaluate([tiny_artifact], {"all": read_labelled(corpus)}, tmp_path / "report", explain=True)
    evaluation = results["all"][0]
    assert evaluation.faithfulness is not None and set(evaluation.faithfulness) == {"en", "ru", "zh-Hans", "all"}
    # at most 5 errors per predicted label, labels in schema order, most confident first
    predicted = [e.predicted for e in evaluation.confident_errors]
    assert predicted == sorted(predicted, key=LABELS.index) and max(map(predicted.count, predicted)) <= 5
    assert "complaint" in predicted and all(e.predicted != e.gold for e in evaluation.confident_errors)
    assert all(e.text[s.start:s.end] == s.text for e in evaluation.confident_errors for s in e.spans)
    assert any(e.spans for e in evaluation.confident_errors)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Faithfulness of `artifact`" in report and "| zh-Hans | 5 |" in report
    first = evaluation.confident_errors[0]
    assert highlight(first.text, first.spans) in report and "**" in highlight(first.text, first.spans)
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["all"][0]["faithfulness"]["all"]["n"] == 20


def test_evaluate_without_explain_stays_as_it_was(tiny_artifact, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    evaluation = evaluate([tiny_artifact], {"all": read_labelled(corpus)}, tmp_path / "report")["all"][0]
    assert evaluation.faithfulness is None and all(not e.spans for e in evaluation.confident_errors)
    assert "Faithfulness" not in (tmp_path / "report" / "report.md").read_text()


def test_highlight_marks_spans_and_escapes_table_cells():
    text = "You |are| a useless\nidiot, read again"
    spans = [Span(20, 25, "idiot", 0.5), Span(12, 19, "useless", 0.2)]
    assert highlight(text, spans) == "You \\|are\\| a **useless** **idiot**, read again"
    assert highlight("x" * 300 + " idiot", [Span(301, 306, "idiot", 0.1)], limit=50) == "x" * 50 + "..."
    assert highlight("idiot " + "x" * 300, [Span(0, 5, "idiot", 0.1)], limit=50) == "**idiot** " + "x" * 40 + "..."
