"""Rendering of evaluation results: Markdown tables and a confusion-matrix PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from ticketguard.models.labels import LABELS  # noqa: E402


def plot_confusion(metrics: dict, path: Path, *, title: str = "") -> None:
    """Row-normalised confusion matrix with counts, saved as PNG."""
    counts = metrics["confusion"]
    fig, ax = plt.subplots(figsize=(6.2, 5.2), dpi=110)
    totals = [max(sum(row), 1) for row in counts]
    share = [[c / t for c in row] for row, t in zip(counts, totals)]
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


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def render_report(results: dict[str, dict], *, data_name: str = "") -> str:
    """A Markdown report; with several models, their figures side by side."""
    names = list(results)
    short = [Path(n).name for n in names]
    head = "| | " + " | ".join(short) + " |\n|---|" + "---|" * len(names) + "\n"
    lines = [f"# Evaluation on {data_name or 'data'}", ""]
    lines += [f"- `{s}`: model version `{results[n].get('model_version', '?')}`, {results[n]['n']} rows" for s, n in zip(short, names)]
    lines += ["", "## Overall", "", head.rstrip("\n")]
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("ece", "expected calibration error"),
                       ("harmful_false_flag_rate", "complaint/neutral flagged as abuse/threat")):
        lines.append(f"| {label} | " + " | ".join(_fmt(results[n][key]) for n in names) + " |")
    lines += ["", "## Per label (precision / recall / F1, support)", "", head.rstrip("\n")]
    for label in LABELS:
        cells = []
        for n in names:
            m = results[n]["per_label"][label]
            cells.append(f"{_fmt(m['precision'])} / {_fmt(m['recall'])} / **{_fmt(m['f1'])}** ({m['support']})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Per language (macro-F1, rows)", "", head.rstrip("\n")]
    langs = sorted({lang for n in names for lang in results[n]["per_language"]})
    for lang in langs:
        cells = []
        for n in names:
            m = results[n]["per_language"].get(lang)
            cells.append(f"{_fmt(m['macro_f1'])} ({m['n']})" if m else "-")
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", ""]
    for n, s in zip(names, short):
        lines += [f"### {s}", "", "| true \\ predicted | " + " | ".join(LABELS) + " |", "|---|" + "---|" * len(LABELS)]
        for label, row in zip(LABELS, results[n]["confusion"]):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"
