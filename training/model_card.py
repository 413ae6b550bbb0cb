"""MODEL_CARD.md for a trained artifact, written from its metrics."""

from __future__ import annotations


def _split_table(split: dict | None, title: str) -> list[str]:
    if not split:
        return [f"## {title}", "", "No rows in this split.", ""]
    lines = [f"## {title}", "", f"{split['n']} rows: accuracy {split['accuracy']:.3f}, macro-F1 "
             f"{split['macro_f1']:.3f}, ECE {split['ece']:.3f}, complaint/neutral flagged as abuse/threat "
             f"{split['harmful_false_flag_rate']:.1%}.", "", "| language | rows | macro-F1 |", "|---|---|---|"]
    lines += [f"| {lang} | {m['n']} | {m['macro_f1']:.3f} |" for lang, m in split["per_language"].items()]
    lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
              for name, m in split["per_label"].items()]
    return lines + [""]


def render_model_card(metrics: dict) -> str:
    config = metrics["config"]
    base = config["base_model"] if metrics["arch"] == "transformer" else "none (character n-gram TF-IDF + logistic regression)"
    lines = [
        f"# TicketGuard model `{metrics['model_version']}`",
        "",
        "Classifies a customer-support message as threat, abuse, manipulation, complaint or neutral "
        "(precedence in that order). See `data/GUIDELINES.md` for the label definitions.",
        "",
        f"- architecture: {metrics['arch']}; base model: {base}",
        f"- training data: `{metrics['data']['path']}` sha256 `{metrics['data']['sha256'][:16]}…`, rows "
        + ", ".join(f"{k} {v}" for k, v in metrics["data"]["rows"].items()),
        f"- seed {metrics['seed']}, git commit `{metrics['git_commit']}`, trained in {metrics['training_seconds']:.0f} s",
        f"- calibration: temperature {metrics['calibration']['temperature']} fitted on dev; flag thresholds "
        + ", ".join(f"{k} {v}" for k, v in metrics["calibration"]["thresholds"].items()),
        "",
        "## Intended use",
        "",
        "Triage of incoming support messages: protect agents from abuse, route threats to a lead, give "
        "manipulation to experienced agents, put real complaints first. Not for decisions about a customer "
        "without a human in the loop. Scores are calibrated on the dev split of the TicketGuard corpus; on "
        "other traffic they are estimates, check them on your own labelled sample (`ticketguard evaluate`).",
        "",
        "## Limitations",
        "",
        "The corpus is written, not sampled from real traffic; messages longer than "
        f"{config['max_length']} tokens are read only up to that length; languages outside the corpus rely on "
        "the multilingual base model alone.",
        "",
    ]
    lines += _split_table(metrics.get("dev"), "Dev split (used for early stopping and calibration)")
    lines += _split_table(metrics.get("test"), "Test split (held out)")
    return "\n".join(lines)
