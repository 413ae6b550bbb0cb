"""``base``, ``build``, ``train``, ``soup``, ``calibrate``, ``evaluate``, ``predict`` and ``precision``: the model life
cycle on the command line.

Heavy libraries (torch, transformers, matplotlib) are imported inside the commands that need
them, so ``ticketguard --help`` and the data commands start quickly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ticketguard.cli.errors import err_console, fail
from ticketguard.models.defaults import DEFAULT_BUILD_TIME, PRECISIONS
from ticketguard.models.errors import ArtifactError, TicketGuardError
from ticketguard.service.settings import get_settings
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import SPLITS

if TYPE_CHECKING:
    from ticketguard.models.explain import Explanation
    from ticketguard.training.evaluate import LabelledText
    from ticketguard.training.pipeline import TrainReport

console = Console()

_DEFAULT = TrainConfig.field_default


def _check_precision(value: str | None) -> str | None:
    if value is not None and value not in ("auto", *PRECISIONS):
        raise typer.BadParameter(f"{value!r} is not one of auto, {', '.join(PRECISIONS)}")
    return value


#: ``--precision`` of the commands that classify (predict, serve); default: TICKETGUARD_PRECISION
PRECISION_OPTION = typer.Option(
    callback=_check_precision,
    help="auto (default: TICKETGUARD_PRECISION or auto): the fastest mode that passed the model's quality guard; "
         "a named mode is used even if it failed it (logged)")


def build_default_model() -> Path:
    """The default model directory, trained from the configured corpus first if missing."""
    from ticketguard.training.default_model import ensure_default_model

    settings = get_settings()
    return ensure_default_model(settings.default_model_dir, settings.corpus_dir, settings.cache_dir,
                                challenge=settings.challenge_dir, threads=settings.threads)


def resolve_model(model: Path | None, *, build: bool = False) -> Path:
    """The given artifact, else the configured or default model.

    Args:
        build: train the default model when it does not exist yet (``build`` and ``serve``);
            other commands refuse instead of starting a long training run.

    Raises:
        ArtifactError: no model is given or configured and the default model is not built.
    """
    settings = get_settings()
    if model is not None or settings.model_path is not None:
        return model or settings.resolved_model_path
    if build:
        return build_default_model()
    if not settings.default_model_dir.is_dir():
        raise ArtifactError(f"the default model is not built yet ({settings.default_model_dir}); run "
                            f"`ticketguard build` once ({DEFAULT_BUILD_TIME}) or pass --model")
    return settings.default_model_dir


def base() -> None:
    """Convert (or verify) the embedded multilingual-e5-small base model and print its path."""
    from ticketguard.models.base import build_base_model

    try:
        path = build_base_model(get_settings().cache_dir, log=lambda m: err_console.print(m))
    except TicketGuardError as err:
        raise fail(str(err)) from err
    console.print(str(path))


def build() -> None:
    """Build the default model (base conversion + fine-tuning on the shipped corpus) if missing; print its path."""
    try:
        path = build_default_model()
    except TicketGuardError as err:
        raise fail(str(err)) from err
    console.print(str(path))


def train_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="artifact directory to write")],
    data: Annotated[Path | None, typer.Option(help="corpus file or directory (default: the shipped corpus)")] = None,
    challenge: Annotated[Path | None, typer.Option(help="challenge rows for the report (default: shipped)")] = None,
    arch: Annotated[str, typer.Option(help="transformer | tfidf")] = _DEFAULT("arch"),
    base_model: Annotated[str, typer.Option(help="HF id, local checkpoint, or the embedded base")] = _DEFAULT("base_model"),
    pooling: Annotated[str, typer.Option(help="mean | cls")] = _DEFAULT("pooling"),
    epochs: int = _DEFAULT("epochs"),
    batch_size: int = _DEFAULT("batch_size"),
    learning_rate: float = _DEFAULT("learning_rate"),
    max_length: int = _DEFAULT("max_length"),
    label_smoothing: float = _DEFAULT("label_smoothing"),
    rdrop: Annotated[float, typer.Option(help="weight of R-Drop's consistency term between two dropout passes "
                                         "(0: off; a step costs about twice as much)")] = _DEFAULT("rdrop"),
    layer_lr_decay: Annotated[float, typer.Option(help="learning-rate factor per encoder layer down from the head "
                                                  "(1: off)")] = _DEFAULT("layer_lr_decay"),
    augment: Annotated[float, typer.Option(help="share of training texts given register noise")] = _DEFAULT("augment"),
    probe_init: Annotated[bool, typer.Option("--probe-init/--no-probe-init", help="start the head from a linear "
                                             "probe on the frozen base (LP-FT)")] = _DEFAULT("probe_init"),
    bf16: Annotated[bool | None, typer.Option("--bf16/--no-bf16", help="bfloat16 autocast for training "
                                              "(default: where the hardware has native bfloat16)")] = None,
    max_steps: Annotated[int | None, typer.Option(help="stop after this many steps (smoke runs)")] = None,
    seed: int = _DEFAULT("seed"),
    threads: int | None = None,
    freeze_layers: Annotated[int, typer.Option(help="keep the bottom N encoder layers frozen")] = _DEFAULT("freeze_layers"),
    encoder_layers: Annotated[int | None, typer.Option(help="keep only N encoder layers (faster)")] = None,
    layer_choice: Annotated[str, typer.Option(help="which N: bottom | spread (evenly, bottom to top)")] = _DEFAULT(
        "layer_choice"),
    teacher: Annotated[str | None, typer.Option(help="trained artifact to distil from (soft targets)")] = None,
    distill_alpha: float = _DEFAULT("distill_alpha"),
    unfreeze_embeddings: bool = False,
    overwrite: bool = False,
) -> None:
    """Fine-tune (or fit the TF-IDF baseline), calibrate, evaluate, and write an artifact."""
    from ticketguard.training.pipeline import train

    settings = get_settings()
    try:
        config = TrainConfig(arch=arch, base_model=base_model, pooling=pooling, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, max_length=max_length, label_smoothing=label_smoothing,
                             rdrop=rdrop, layer_lr_decay=layer_lr_decay, augment=augment, probe_init=probe_init, bf16=bf16,
                             max_steps=max_steps, seed=seed,
                             threads=threads or settings.threads, freeze_embeddings=not unfreeze_embeddings,
                             freeze_layers=freeze_layers, encoder_layers=encoder_layers, layer_choice=layer_choice,
                             teacher=teacher, distill_alpha=distill_alpha)
        challenge = challenge or (settings.challenge_dir if settings.challenge_dir.is_dir() else None)
        report = train(config, data or settings.corpus_dir, out, cache_dir=settings.cache_dir, overwrite=overwrite,
                       challenge=challenge)
    except (TicketGuardError, ValueError, FileExistsError) as err:
        raise fail(str(err)) from err
    _print_report(out, report)


def _print_report(out: Path, report: TrainReport) -> None:
    console.print(f"[green]wrote[/] {out}  ({report.model_version}, {report.training_seconds:.0f}s)")
    for name, metrics in (("test", report.test), ("challenge", report.challenge), ("dev", report.selection)):
        if metrics is not None:
            console.print(f"macro-F1 {name}: {metrics.macro_f1:.3f}  accuracy {metrics.accuracy:.3f}  "
                          f"ECE {metrics.ece:.3f}")


def soup_command(
    models: Annotated[list[Path], typer.Option("--model", help="artifact to average (repeat; same base, corpus "
                                                "and settings, other seeds)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="artifact directory to write")],
    weight: Annotated[list[float] | None, typer.Option(help="one per --model, in order (default: equal)")] = None,
    data: Annotated[Path | None, typer.Option(help="the corpus they were trained on (default: the shipped "
                                              "corpus)")] = None,
    threads: int | None = None,
    overwrite: bool = False,
) -> None:
    """Average the weights of several fine-tuned models (a model soup), calibrate, evaluate and write it."""
    from ticketguard.training.pipeline import soup

    settings = get_settings()
    try:
        challenge = settings.challenge_dir if settings.challenge_dir.is_dir() else None
        report = soup(models, data or settings.corpus_dir, out, weights=weight, challenge=challenge,
                      threads=threads or settings.threads, overwrite=overwrite)
    except (TicketGuardError, ValueError, FileExistsError) as err:
        raise fail(str(err)) from err
    _print_report(out, report)


def calibrate_command(
    model: Annotated[Path, typer.Option(help="artifact to recalibrate in place")],
    data: Annotated[Path | None, typer.Option(help="the corpus it was trained on (default: the shipped corpus)")] = None,
    noise: Annotated[bool | None, typer.Option("--noise/--no-noise", help="also calibrate on register-perturbed "
                                                "copies (default: as the artifact was trained)")] = None,
    threads: int | None = None,
) -> None:
    """Fit an artifact's temperature, flag and review thresholds again; weights are kept."""
    from ticketguard.training.pipeline import recalibrate

    settings = get_settings()
    try:
        challenge = settings.challenge_dir if settings.challenge_dir.is_dir() else None
        report = recalibrate(model, data or settings.corpus_dir, challenge=challenge, calibrate_on_noise=noise,
                             threads=threads or settings.threads)
    except TicketGuardError as err:
        raise fail(str(err)) from err
    calibration = report.calibration
    console.print(f"[green]recalibrated[/] {model}: temperature {calibration.temperature}, review under "
                  f"{calibration.review_threshold:.2f}, thresholds {calibration.thresholds}")


def _data_sets(data: list[str]) -> dict[str, list[LabelledText]]:
    """``PATH`` or ``PATH:SPLIT`` arguments -> named sets of labelled rows.

    A set is named by its file or folder name (``corpus [test]``), or by the path as given where two
    sets share a name (``data/public`` and ``old/public``); the same set given twice is refused.
    """
    from ticketguard.training.evaluate import read_labelled

    sets = {}
    given = set()
    for item in data:
        path, _, split = item.rpartition(":")
        if not path or split not in SPLITS:
            path, split = item, ""
        key = (Path(path).resolve(), split)
        if key in given:
            raise fail(f"{item} is given twice")
        given.add(key)
        rows = read_labelled(Path(path), split=split or None)
        if not rows:
            raise fail(f"no rows in {path}" + (f" for split {split!r}" if split else ""))
        suffix = f" [{split}]" if split else ""
        name = Path(path).name + suffix
        sets[name if name not in sets else path + suffix] = rows
    return sets


def evaluate_command(
    model: Annotated[Path, typer.Option(help="artifact to evaluate")],
    data: Annotated[list[str], typer.Option(help="labelled JSONL file or directory (text and label required), "
                                                "optionally PATH:SPLIT; repeat for several sets")],
    compare: Annotated[list[Path] | None, typer.Option(help="other artifacts (previous model, TF-IDF baseline) "
                                                           "shown side by side; repeatable")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="report directory")] = Path("reports/eval"),
    threads: int | None = None,
    explain: Annotated[bool, typer.Option(help="explain the confident errors and measure the explanations' "
                                               "faithfulness per language (about 20x slower)")] = False,
) -> None:
    """One report over every set: per language and label, calibration, false alarms, confident errors."""
    from ticketguard.training.evaluate import evaluate

    try:
        sets = _data_sets(data)
        results = evaluate([model, *(compare or [])], sets, out, threads=threads, explain=explain)
    except TicketGuardError as err:
        raise fail(str(err)) from err
    for set_name, evaluations in results.items():
        for e in evaluations:
            langs = "  ".join(f"{k} {v.macro_f1:.3f}" for k, v in e.metrics.per_language.items())
            difference = (f"  minus {escape(evaluations[0].model)}: {e.difference_from_first.overall.describe(signed=True)}"
                          if e.difference_from_first else "")
            console.print(f"[bold]{escape(set_name)}[/] {escape(e.model)}: macro-F1 {e.metrics.macro_f1:.3f} "
                          f"{e.metrics.macro_f1_interval.describe()}{difference}  ECE {e.metrics.ece:.3f}  "
                          f"benign->abuse/threat {e.metrics.harmful_false_flag_rate:.1%}\n  {langs}")
            for lang, f in (e.faithfulness or {}).items():
                console.print(f"  explanations {lang}: comprehensiveness {f.comprehensiveness:.3f} "
                              f"(random {f.random_comprehensiveness:.3f})  sufficiency {f.sufficiency:.3f} "
                              f"(random {f.random_sufficiency:.3f})")
    console.print(f"report: {out / 'report.md'}")


def _read_texts(file: Path) -> list[str]:
    """Texts from a .jsonl file (``text`` field) or a plain file (one message per line)."""
    lines = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if file.suffix != ".jsonl":
        return lines
    texts = []
    for lineno, line in enumerate(lines, start=1):
        try:
            texts.append(json.loads(line)["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise fail(f"{file}:{lineno}: expected a JSON object with a 'text' field") from err
    return texts


def predict(
    text: Annotated[str | None, typer.Argument(help="a message to classify")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help=".jsonl (text field) or .txt (one per line)")] = None,
    model: Annotated[Path | None, typer.Option(help="artifact (default: the built default model)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    explain: Annotated[bool, typer.Option(help="the spans that raised the label and each flag most")] = False,
    precision: Annotated[str | None, PRECISION_OPTION] = None,
) -> None:
    """Classify a message, or every message of a file."""
    from ticketguard.models.classifier import Classifier
    from ticketguard.models.explain import Explainer
    from ticketguard.models.prediction import Prediction

    if (text is None) == (file is None):
        raise fail("give either a TEXT argument or --file")
    try:
        texts = [text] if text is not None else _read_texts(file)  # type: ignore[arg-type]
        settings = get_settings()
        classifier = Classifier.load(resolve_model(model), threads=settings.threads, device=settings.device,
                                     precision=precision or settings.precision)
        results = classifier.predict(texts)
        explainer = Explainer(classifier) if explain else None
        explanations: list[Explanation | None] = [
            explainer.explain(t, [p.label, *p.flags]) if explainer and isinstance(p, Prediction) else None
            for t, p in zip(texts, results, strict=True)]
    except (TicketGuardError, OSError) as err:
        raise fail(str(err)) from err
    if as_json:
        for t, p, e in zip(texts, results, explanations, strict=True):
            body = p.to_dict() if isinstance(p, Prediction) else {"error": p.reason}
            if e is not None:
                body["explanation"] = e.to_dict()
            sys.stdout.write(json.dumps({"text": t, **body, "model_version": classifier.model_version},
                                        ensure_ascii=False) + "\n")
        return
    table = Table("label", "score", "flags", "review", "text", title=f"model {classifier.model_version}")
    for t, p, e in zip(texts, results, explanations, strict=True):
        shown = _marked(t, e) if e is not None else escape(t if len(t) < 90 else t[:87] + "...")
        if isinstance(p, Prediction):
            table.add_row(p.label, f"{p.scores[p.label]:.2f}", ",".join(p.flags), "yes" if p.review else "", shown)
        else:
            table.add_row("[red]not classified", "", "", "", f"{shown} ({escape(p.reason)})")
    console.print(table)


def precision_command(
    model: Annotated[Path | None, typer.Option(help="artifact (default: the built default model)")] = None,
    data: Annotated[Path | None, typer.Option(help="the corpus the model was trained on (default: the shipped one)")] = None,
) -> None:
    """Measure every precision mode against fp32 on the dev split and write the artifact's guard
    (precision.json): artifacts built before the guard get it without retraining."""
    from ticketguard.models.defaults import GUARD_MAX_MACRO_F1_LOSS, GUARD_MIN_AGREEMENT
    from ticketguard.models.precision import guard_verdict
    from ticketguard.training.precision_guard import guard_artifact

    settings = get_settings()
    try:
        model_dir = resolve_model(model)
        report = guard_artifact(model_dir, data or settings.corpus_dir, device=settings.device, threads=settings.threads)
    except (TicketGuardError, OSError) as err:
        raise fail(str(err)) from err
    table = Table("mode", "labels equal to fp32", "macro-F1", "msgs/s", "guard",
                  title=f"{model_dir}: {report.rows} dev messages on {report.hardware.device}, "
                        f"{report.hardware.threads} threads (bar: >= {GUARD_MIN_AGREEMENT:.0%} agreement, "
                        f"<= {100 * GUARD_MAX_MACRO_F1_LOSS:.1f} point macro-F1 loss)")
    for mode, check in report.modes.items():
        table.add_row(mode, f"{check.agreement:.1%}", f"{check.macro_f1:.4f}", f"{check.msgs_per_s:.1f}",
                      guard_verdict(report, mode))
    console.print(table)


def _marked(text: str, explanation: Explanation) -> str:
    """``text`` (rich markup) with the spans of the primary label bold and those of flags underlined,
    followed by each label's spans and scores."""
    labels = list(explanation.spans)
    styles: dict[tuple[int, int], str] = {}
    for k, label in enumerate(labels):
        for span in explanation.spans[label]:
            styles.setdefault((span.start, span.end), "bold red" if k == 0 else "underline")
    out: list[str] = []
    position = 0
    for (start, end), style in sorted(styles.items()):
        if start < position:
            continue
        out += [escape(text[position:start]), f"[{style}]{escape(text[start:end])}[/]"]
        position = end
    out.append(escape(text[position:]))
    legend = "; ".join(f"{label}: " + ", ".join(f"{escape(s.text)!r} {s.score:+.2f}" for s in spans)
                       for label, spans in explanation.spans.items() if spans)
    return "".join(out) + (f"\n[dim]{legend}[/]" if legend else "")


def register(app: typer.Typer) -> None:
    app.command("base")(base)
    app.command("build")(build)
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("calibrate")(calibrate_command)
    app.command("soup")(soup_command)
    app.command("predict")(predict)
    app.command("precision")(precision_command)
