"""Evaluate artifacts on labelled sets: one report with every set and every model side by side.

Any JSONL with ``text`` and ``label`` fields can be evaluated (``id`` and ``lang`` are used when
present, other fields are ignored), so a team can bring its own labelled sample, and public sets
with extra columns work as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ticketguard.models.artifact import write_json
from ticketguard.models.calibration import CoveragePoint, coverage_curve
from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.errors import DataError
from ticketguard.models.explain import Explainer, Span
from ticketguard.models.labels import LABEL2ID, LABELS
from ticketguard.models.languages import UNKNOWN_LANG
from ticketguard.training.corpus import corpus_files
from ticketguard.training.faithfulness import Faithfulness, measure_faithfulness
from ticketguard.training.metrics import Difference, Metrics, compute_metrics, macro_f1_difference

#: how many of the most confident errors the report lists per predicted label and set
CONFIDENT_ERRORS_PER_LABEL = 5


class Labelled(Protocol):
    """What evaluation needs of a row (corpus rows and :class:`LabelledText` both have it)."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def lang(self) -> str: ...


@dataclass(frozen=True)
class LabelledText:
    id: str
    text: str
    label: str
    lang: str


def read_labelled(path: Path, *, split: str | None = None) -> list[LabelledText]:
    """Rows of a labelled JSONL file (or every ``*.jsonl`` under a directory).

    Only ``text`` and ``label`` are required; ``split`` keeps the rows of one split (rows without
    a ``split`` field are kept only when no split is asked for).

    Raises:
        DataError: a line is not a JSON object with a string ``text`` and a known ``label``.
    """
    rows = []
    for file in corpus_files(path):
        with file.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{file}:{lineno}: not JSON: {err}") from err
                if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                    raise DataError(f"{file}:{lineno}: expected a JSON object with a string 'text'")
                if data.get("label") not in LABELS:
                    raise DataError(f"{file}:{lineno}: label must be one of {list(LABELS)}, got {data.get('label')!r}")
                if split is not None and data.get("split") != split:
                    continue
                rows.append(LabelledText(id=str(data.get("id", f"{file.name}:{lineno}")), text=data["text"],
                                         label=data["label"], lang=str(data.get("lang") or UNKNOWN_LANG)))
    return rows


@dataclass(frozen=True)
class ConfidentError:
    id: str
    lang: str
    gold: str
    predicted: str
    confidence: float
    text: str
    #: what made the wrong label (with ``explain``): spans of ``text`` for ``predicted``
    spans: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    """One model on one set."""

    model: str
    model_version: str
    metrics: Metrics
    #: the artifact's own review threshold on this set: how much is confident, and how right it is
    review: CoveragePoint
    confident_errors: list[ConfidentError]
    #: ERASER faithfulness of the explanations per language and ``"all"`` (with ``explain``)
    faithfulness: dict[str, Faithfulness] | None = None
    #: this model's macro-F1 minus the first model's on the same rows, overall and per language (paired
    #: bootstrap); None for the first
    difference_from_first: Difference | None = None
    #: the predicted label of each row, in row order (kept out of ``metrics.json``)
    predicted: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        del figures["predicted"]
        return figures


def _probabilities(classifier: Classifier, rows: Sequence[Labelled]) -> np.ndarray:
    predictions = predictions_only(classifier.predict([r.text for r in rows]))
    return np.array([[p.scores[name] for name in LABELS] for p in predictions])


def evaluate_rows(classifier: Classifier, rows: Sequence[Labelled]) -> Metrics:
    """Metrics of ``classifier`` on ``rows`` (calibrated probabilities, as served)."""
    return compute_metrics([LABEL2ID[r.label] for r in rows], _probabilities(classifier, rows), [r.lang for r in rows])


def evaluate_model(classifier: Classifier, rows: Sequence[Labelled], *, name: str, explain: bool = False,
                   first: Evaluation | None = None) -> Evaluation:
    """Metrics, review figures and the most confident errors per predicted label of one model on one set.

    Args:
        explain: also explain the confident errors and measure the faithfulness of explanations
            (about 20 extra forward rows per message).
        first: the evaluation of the model this one is compared with, on the same rows.
    """
    probs = _probabilities(classifier, rows)
    y = np.array([LABEL2ID[r.label] for r in rows])
    confidence = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    ranked = wrong[np.argsort(-confidence[wrong], kind="stable")]
    worst = [i for label in range(len(LABELS)) for i in ranked[pred[ranked] == label][:CONFIDENT_ERRORS_PER_LABEL]]
    explainer = Explainer(classifier) if explain else None
    errors = []
    for i in worst:
        spans = explainer.explain(rows[i].text, [LABELS[pred[i]]]).spans[LABELS[pred[i]]] if explainer else []
        errors.append(ConfidentError(rows[i].id, rows[i].lang, rows[i].label, LABELS[pred[i]],
                                     round(float(confidence[i]), 4), rows[i].text, spans))
    faithfulness = None
    if explainer is not None:
        faithfulness = measure_faithfulness(explainer, [r.text for r in rows], [LABELS[k] for k in pred],
                                            [r.lang for r in rows])
    difference = None
    if first is not None:
        difference = macro_f1_difference(y.tolist(), pred.tolist(), [LABEL2ID[label] for label in first.predicted],
                                         [r.lang for r in rows])
    return Evaluation(
        model=name,
        model_version=classifier.model_version,
        metrics=compute_metrics(y.tolist(), probs, [r.lang for r in rows]),
        review=coverage_curve(probs, y, [classifier.calibration.review_threshold])[0],
        confident_errors=errors,
        faithfulness=faithfulness,
        difference_from_first=difference,
        predicted=[LABELS[k] for k in pred],
    )


def evaluate(models: Sequence[Path], sets: dict[str, Sequence[Labelled]], out_dir: Path, *,
             threads: int | None = None, explain: bool = False) -> dict[str, list[Evaluation]]:
    """Evaluate every model on every set and write ``metrics.json``, ``report.md`` and the plots.

    Args:
        models: artifacts; the first is the one under evaluation, the others (a previous model,
            the TF-IDF baseline ...) are shown beside it, each with its macro-F1 difference from
            the first (paired bootstrap interval).
        sets: set name -> labelled rows.
        out_dir: report directory.
        explain: explain the first model's confident errors and measure how faithful its
            explanations are (slower: about 20 forward rows per message).

    Returns:
        Per set, one :class:`Evaluation` per model, in ``models`` order.
    """
    from ticketguard.training.report import plot_confusion, plot_reliability, render_report

    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[Evaluation]] = {name: [] for name in sets}
    for k, path in enumerate(models):
        classifier = Classifier.load(path, threads=threads)
        for set_name, rows in sets.items():
            first = results[set_name][0] if k else None
            results[set_name].append(evaluate_model(classifier, rows, name=Path(path).name,
                                                    explain=explain and k == 0, first=first))
    for i, (set_name, evaluations) in enumerate(results.items()):
        plot_reliability(evaluations, out_dir / f"reliability-{i}.png", title=f"reliability on {set_name}")
        plot_confusion(evaluations[0].metrics, out_dir / f"confusion-{i}.png",
                       title=f"{evaluations[0].model} on {set_name}")
    write_json(out_dir / "metrics.json", {name: [e.to_dict() for e in evs] for name, evs in results.items()})
    (out_dir / "report.md").write_text(render_report(results), encoding="utf-8")
    return results
