"""Rendering of evaluation results: one Markdown report, confusion and reliability plots."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from ticketguard.models.explain import Span  # noqa: E402
from ticketguard.models.labels import LABELS  # noqa: E402
from ticketguard.training.evaluate import Evaluation  # noqa: E402
from ticketguard.training.metrics import BENIGN_PRIOR, Metrics  # noqa: E402

_WHITESPACE = re.compile(r"\s+")


def plot_confusion(metrics: Metrics, path: Path, *, title: str = "") -> None:
    """Row-normalised confusion matrix with counts, saved as PNG."""
    counts = metrics.confusion
    fig, ax = plt.subplots(figsize=(6.2, 5.2), dpi=110)
    totals = [max(sum(row), 1) for row in counts]
    share = [[c / t for c in row] for row, t in zip(counts, totals, strict=True)]
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=35, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if share[i][j] > 0.5 else "black")
    ax.set_title(title or "confusion matrix", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_reliability(evaluations: Sequence[Evaluation], path: Path, *, title: str = "") -> None:
    """Reliability diagram: accuracy against mean confidence per confidence bin, one line per model."""
    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=110)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    for ev in evaluations:
        bins = ev.metrics.reliability
        ax.plot([b.confidence for b in bins], [b.accuracy for b in bins], marker="o",
                label=f"{ev.model} (ECE {ev.metrics.ece:.3f})")
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or "reliability", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _set_section(index: int, set_name: str, evaluations: Sequence[Evaluation]) -> list[str]:
    names = [e.model for e in evaluations]
    head = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    first_eval = evaluations[0]
    first = first_eval.metrics
    lines = [f"## {set_name}", "", f"{first.n} rows; macro-F1 over the gold labels present: "
             f"{', '.join(first.labels_scored)}.", ""]
    lines += head

    def row(label: str, values: Sequence[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("model version", [f"`{e.model_version}`" for e in evaluations])
    row("macro-F1", [f"**{_f(e.metrics.macro_f1)}**" for e in evaluations])
    row("macro-F1, 95% bootstrap interval", [e.metrics.macro_f1_interval.describe() for e in evaluations])
    row(f"macro-F1 minus `{names[0]}`'s, paired 95% interval",
        [e.difference_from_first.overall.describe(signed=True) if e.difference_from_first else "-"
         for e in evaluations])
    row("accuracy", [_f(e.metrics.accuracy) for e in evaluations])
    row("ECE", [_f(e.metrics.ece) for e in evaluations])
    row("complaint/neutral labelled abuse/threat", [_pct(e.metrics.harmful_false_flag_rate) for e in evaluations])
    row(f"abuse/threat predictions that are benign, at {BENIGN_PRIOR:.0%} benign traffic",
        [_pct(e.metrics.harmful_false_discovery_at_prior) for e in evaluations])
    row("review threshold / coverage / accuracy of the confident part",
        [f"{e.review.threshold:.2f} / {_pct(e.review.coverage)} / {_pct(e.review.accuracy)}"
         for e in evaluations])
    lines += ["", "Per language (macro-F1 and its 95% bootstrap interval, rows; complaint/neutral labelled "
              f"abuse/threat; beside `{names[0]}`: minus its macro-F1, paired 95% interval):", ""] + head
    for lang in sorted({lang for e in evaluations for lang in e.metrics.per_language}):
        cells = []
        for e in evaluations:
            m = e.metrics.per_language.get(lang)
            versus = e.difference_from_first.per_language.get(lang) if e.difference_from_first else None
            cells.append(f"{_f(m.macro_f1)} {m.macro_f1_interval.describe()} ({m.n}; {_pct(m.harmful_false_flag_rate)}"
                         + (f"; {versus.describe(signed=True)})" if versus else ")") if m else "-")
        row(lang, cells)
    lines += ["", "Per label (precision / recall / F1, support):", ""] + head
    for label in LABELS:
        row(label, [f"{_f(m.precision)} / {_f(m.recall)} / **{_f(m.f1)}** ({m.support})"
                    for m in (e.metrics.per_label[label] for e in evaluations)])
    lines += ["", "Coverage / accuracy when predictions under a threshold go to review "
              f"(`{names[0]}`):", "", "| threshold | coverage | accuracy |", "|---|---|---|"]
    lines += [f"| {p.threshold:.2f} | {_pct(p.coverage)} | {_pct(p.accuracy)} |" for p in first.coverage_curve]
    lines += ["", f"![reliability](reliability-{index}.png) ![confusion](confusion-{index}.png)", ""]
    if first_eval.faithfulness:
        lines += _faithfulness_lines(first_eval)
    lines += [f"Most confident errors of `{names[0]}`, per predicted label"
              + (" (**bold**: the spans that raised the predicted label most):" if first_eval.faithfulness else ":"),
              "", "| predicted | id | lang | gold | confidence | text |", "|---|---|---|---|---|---|"]
    for err in first_eval.confident_errors:
        lines.append(f"| {err.predicted} | {err.id} | {err.lang} | {err.gold} | {err.confidence:.2f} | "
                     f"{highlight(err.text, err.spans)} |")
    return lines + [""]


def _faithfulness_lines(evaluation: Evaluation) -> list[str]:
    assert evaluation.faithfulness is not None
    lines = [f"Faithfulness of `{evaluation.model}`'s explanations of its predicted label (ERASER; random: "
             "rationales of the same number of words from the same message). Comprehensiveness: probability "
             "lost without the rationale (higher is better); sufficiency: probability lost with the rationale "
             "alone (lower is better).", "",
             "| lang | messages | words | rationale words | comprehensiveness (random) | sufficiency (random) |",
             "|---|---|---|---|---|---|"]
    for lang, f in evaluation.faithfulness.items():
        lines.append(f"| {lang} | {f.n} | {f.units:.1f} | {f.rationale_units:.1f} | "
                     f"**{f.comprehensiveness:.3f}** ({f.random_comprehensiveness:.3f}) | "
                     f"**{f.sufficiency:.3f}** ({f.random_sufficiency:.3f}) |")
    return lines + [""]


def highlight(text: str, spans: Sequence[Span], *, limit: int = 240) -> str:
    """``text`` for a Markdown table cell with ``spans`` in bold, cut near ``limit`` characters
    (never inside a span)."""
    pieces: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < position:
            continue
        pieces += [_cell(text[position:span.start]), f"**{_cell(span.text).strip()}**"]
        position = span.end
    pieces.append(_cell(text[position:]))
    shown = ""
    for piece in pieces:
        if len(shown) + len(piece) > limit and not piece.startswith("**"):
            return shown + piece[:max(0, limit - len(shown))] + "..."
        shown += piece
    return shown


def _cell(text: str) -> str:
    """Text for one line of a table cell: whitespace runs collapsed, pipes escaped."""
    return _WHITESPACE.sub(" ", text).replace("|", "\\|")


def render_report(results: dict[str, list[Evaluation]]) -> str:
    """The Markdown report: a summary table over sets, then one section per set."""
    sets = list(results)
    models = [e.model for e in results[sets[0]]]
    lines = ["# TicketGuard evaluation", "", "Macro-F1 (complaint/neutral labelled abuse/threat; ECE):", "",
             "| set | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for name in sets:
        lines.append(f"| {name} | " + " | ".join(
            f"{_f(e.metrics.macro_f1)} ({_pct(e.metrics.harmful_false_flag_rate)}; {_f(e.metrics.ece)})"
            for e in results[name]) + " |")
    lines.append("")
    for i, name in enumerate(sets):
        lines += _set_section(i, name, results[name])
    return "\n".join(lines) + "\n"
