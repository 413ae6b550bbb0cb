"""Evaluate artifacts on labelled rows: metrics, a Markdown report and a confusion-matrix plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ticketguard.models.artifact import write_json
from ticketguard.models.classifier import Classifier
from ticketguard.models.labels import LABEL2ID, LABELS
from ticketguard.training.corpus import CorpusRow
from ticketguard.training.metrics import compute_metrics
from ticketguard.training.report import plot_confusion, render_report


def evaluate_rows(classifier: Classifier, rows: Sequence[CorpusRow]) -> dict:
    """Metrics of ``classifier`` on ``rows`` (calibrated probabilities, as served)."""
    predictions = classifier.predict([r.text for r in rows])
    probs = np.array([[p.scores[name] for name in LABELS] for p in predictions])
    metrics = compute_metrics([LABEL2ID[r.label] for r in rows], probs, [r.lang for r in rows])
    metrics["model_version"] = classifier.model_version
    return metrics


def evaluate(
    model: Path,
    rows: Sequence[CorpusRow],
    out_dir: Path,
    *,
    compare: Path | None = None,
    data_name: str = "",
    threads: int | None = None,
) -> dict[str, dict]:
    """Evaluate ``model`` (and optionally ``compare``) on the same rows and write the report.

    Writes ``metrics.json``, ``report.md`` and ``confusion.png`` (plus ``confusion-compare.png``)
    to ``out_dir``.

    Returns:
        Metrics keyed by model path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for i, path in enumerate([model] + ([compare] if compare else [])):
        metrics = evaluate_rows(Classifier.load(path, threads=threads), rows)
        results[str(path)] = metrics
        plot_confusion(metrics, out_dir / ("confusion.png" if i == 0 else "confusion-compare.png"),
                       title=f"{Path(path).name} on {data_name or 'data'}")
    write_json(out_dir / "metrics.json", {"data": data_name, "models": results})
    (out_dir / "report.md").write_text(render_report(results, data_name=data_name), encoding="utf-8")
    return results
