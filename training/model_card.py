"""MODEL_CARD.md for a trained artifact, written from its typed training report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ticketguard.training.metrics import Metrics

if TYPE_CHECKING:
    from ticketguard.training.pipeline import TrainReport


def _split_table(split: Metrics | None, title: str) -> list[str]:
    if split is None:
        return [f"## {title}", "", "No rows in this split.", ""]
    lines = [f"## {title}", "", f"{split.n} rows: accuracy {split.accuracy:.3f}, macro-F1 {split.macro_f1:.3f} "
             f"(95% bootstrap interval {split.macro_f1_interval.describe()}), ECE {split.ece:.3f}, "
             f"complaint/neutral labelled abuse/threat {split.harmful_false_flag_rate:.1%}.",
             "", "| language | rows | macro-F1 | 95% interval |", "|---|---|---|---|"]
    lines += [f"| {lang} | {m.n} | {m.macro_f1:.3f} | {m.macro_f1_interval.describe()} |"
              for lang, m in split.per_language.items()]
    lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} | {m.support} |"
              for name, m in split.per_label.items()]
    return lines + [""]


def render_model_card(report: TrainReport) -> str:
    config = report.config
    base = config["base_model"] if report.arch == "transformer" else \
        "none (character n-gram TF-IDF + logistic regression)"
    calibration = report.calibration
    lines = [
        f"# TicketGuard model `{report.model_version}`",
        "",
        "Classifies a customer-support message as threat, abuse, manipulation, complaint or neutral "
        "(precedence in that order). See `data/GUIDELINES.md` for the label definitions.",
        "",
        f"- architecture: {report.arch} ({config['pooling']} pooling); base model: {base}",
        f"- training data: `{report.data.path}` sha256 `{report.data.sha256[:16]}…`, rows "
        + ", ".join(f"{k} {v}" for k, v in report.data.rows.items()),
        f"- seed {report.seed}, git commit `{report.git_commit}`, trained in {report.training_seconds:.0f} s",
        f"- calibration (fitted on the calibration half of dev, not used for checkpoint selection): temperature "
        f"{calibration.temperature}; flag thresholds "
        + ", ".join(f"{k} {v}" for k, v in calibration.thresholds.items())
        + f"; predictions under {calibration.review_threshold:.2f} top probability are marked `review`",
        "",
        "## Intended use",
        "",
        "Triage of incoming support messages: protect agents from abuse, route threats to a lead, give "
        "manipulation to experienced agents, put real complaints first. Not for decisions about a customer "
        "without a human in the loop. Scores are calibrated on held-out rows of the TicketGuard corpus; on "
        "other traffic they are estimates: check them on your own labelled sample (`ticketguard evaluate`).",
        "",
        "## Limitations",
        "",
        "The corpus is written, not sampled from real traffic; messages longer than "
        f"{config['max_length']} tokens are read only up to that length; languages outside the corpus rely on "
        "the multilingual base model alone.",
        "",
    ]
    lines += _split_table(report.selection, "Dev, selection half (checkpoint selection)")
    lines += _split_table(report.calibration_split, "Dev, calibration half (temperature, thresholds)")
    lines += _split_table(report.test, "Test split (held out)")
    lines += _split_table(report.challenge, "Challenge split (independent writers, never trained or tuned on)")
    return "\n".join(lines)
