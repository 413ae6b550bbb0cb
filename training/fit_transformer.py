"""Fine-tune a transformer classifier on the corpus (CPU friendly), in memory.

The returned :class:`~ticketguard.models.classifier.Classifier` wraps the trained weights; the
pipeline calibrates, evaluates and writes it. Texts are encoded and the checkpoint is selected
through that same Classifier, so training and serving share one preprocessing path.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from ticketguard.models.artifact import Calibration, Manifest
from ticketguard.models.backends import TransformerBackend, logits_of
from ticketguard.models.base import resolve_base_model
from ticketguard.models.classifier import Classifier
from ticketguard.models.hardware import bf16_is_fast
from ticketguard.models.heads import MeanPoolingClassifier
from ticketguard.models.labels import ID2LABEL, LABEL2ID, LABELS
from ticketguard.training.augment import augment_texts
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow

logger = logging.getLogger(__name__)


@dataclass
class FitResult:
    """The trained classifier (uncalibrated) and how training went."""

    classifier: Classifier
    best_selection_macro_f1: float
    best_step: int
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length within windows of 50 batches, then shuffle the batches.

    Batches of similar length waste little compute on padding while the order stays random.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(chunk[s : s + batch_size] for s in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def class_weights(labels: Sequence[int], n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, normalised so that a balanced corpus gets weight 1."""
    counts = Counter(labels)
    total = len(labels)
    return torch.tensor([total / (n_classes * max(counts.get(c, 0), 1)) for c in range(n_classes)], dtype=torch.float)


def kept_layer_indices(available: int, n_layers: int, choice: str) -> list[int]:
    """Which of ``available`` encoder layers a model cut to ``n_layers`` keeps (``choice``: bottom | spread).

    ``spread`` takes them evenly from the bottom layer to the top one: 6 of 12 are 0, 2, 4, 7, 9, 11.
    """
    if n_layers > available:
        raise ValueError(f"encoder_layers={n_layers}, but the base model has only {available} layers")
    if choice == "bottom" or n_layers == 1:
        return list(range(n_layers))
    return [round(i * (available - 1) / (n_layers - 1)) for i in range(n_layers)]


def keep_layers(encoder: Any, n_layers: int, choice: str) -> None:
    """Cut a BERT-style encoder to ``n_layers`` of its layers, in place (config included, so it saves as such)."""
    layers = encoder.encoder.layer
    keep = kept_layer_indices(len(layers), n_layers, choice)
    encoder.encoder.layer = torch.nn.ModuleList(layers[i] for i in keep)
    encoder.config.num_hidden_layers = n_layers


def build_model(config: TrainConfig, source: Path | str) -> torch.nn.Module:
    """The base encoder with a new classification head, frozen as ``config`` says."""
    model: torch.nn.Module
    if config.pooling == "mean":
        model = MeanPoolingClassifier.from_encoder(source, num_labels=len(LABELS))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    base: Any = model.base_model
    if config.encoder_layers is not None:
        keep_layers(base, config.encoder_layers, config.layer_choice)
    if config.freeze_embeddings:
        base.get_input_embeddings().weight.requires_grad_(False)
    if config.freeze_layers:
        # the bottom layers keep their pre-trained weights and backward stops above them
        for layer in base.encoder.layer[: config.freeze_layers]:
            layer.requires_grad_(False)
        base.embeddings.requires_grad_(False)
    return model


_LAYER = re.compile(r"\bencoder\.layer\.(\d+)\.")


def parameter_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups of the trainable parameters: weight decay on matrices only, and layer-wise
    learning-rate decay (the head gets ``learning_rate``, encoder layer i of L gets
    ``learning_rate * layer_lr_decay ** (L - i)``, embeddings one step lower still).

    Lower layers hold the general multilingual knowledge; a smaller step there changes them less.
    With ``layer_lr_decay`` = 1 every parameter gets the same rate.
    """
    n_layers = len(cast(Any, model).base_model.encoder.layer)
    groups: dict[tuple[int, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        layer = _LAYER.search(name)
        if layer is not None:
            depth = n_layers - int(layer.group(1))
        elif ".embeddings." in f".{name}":
            depth = n_layers + 1
        else:  # pooling and classification head
            depth = 0
        groups.setdefault((depth, param.ndim > 1), []).append(param)
    return [{"params": group, "weight_decay": config.weight_decay if decayed else 0.0,
             "lr": config.learning_rate * config.layer_lr_decay ** depth}
            for (depth, decayed), group in sorted(groups.items())]


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL divergence from the teacher's softened distribution to the student's, scaled by T² (Hinton et al.)."""
    student = torch.log_softmax(student_logits / temperature, dim=-1)
    teacher = torch.log_softmax(teacher_logits / temperature, dim=-1)
    return torch.nn.functional.kl_div(student, teacher, log_target=True, reduction="batchmean") * temperature**2


def consistency_loss(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """R-Drop's term: the symmetric KL divergence between two dropout passes' predictions for the same batch."""
    return 0.5 * (distillation_loss(logits_a, logits_b, 1.0) + distillation_loss(logits_b, logits_a, 1.0))


@torch.no_grad()
def pooled_features(model: MeanPoolingClassifier, tokenizer: Any, ids: Sequence[Sequence[int]], *, batch_size: int,
                    autocast: Any) -> np.ndarray:
    """The head's input (mean-pooled encoder states) for each tokenised text, in ``ids`` order."""
    model.eval()
    features = np.zeros((len(ids), model.classifier.in_features), dtype=np.float32)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tokenizer.pad({"input_ids": [ids[i] for i in index]}, return_tensors="pt")
        with autocast:
            pooled = model.embed(batch["input_ids"], batch["attention_mask"])
        features[index] = pooled.float().numpy()
    return features


def fit_probe_head(model: MeanPoolingClassifier, features: np.ndarray, y: Sequence[int], *,
                   class_balanced: bool) -> float:
    """Fit a logistic regression on ``features`` and copy it into the model's linear head (the LP of LP-FT).

    The features are standardised for the solver and the scaling is folded back into the weights, so
    the head reads the raw pooled features as in ``forward``. Returns the probe's training accuracy.
    """
    scaler = StandardScaler().fit(features)
    standardised = scaler.transform(features)
    probe = LogisticRegression(max_iter=2000, class_weight="balanced" if class_balanced else None)
    probe.fit(standardised, y)
    weight = probe.coef_ / scaler.scale_
    bias = probe.intercept_ - weight @ scaler.mean_
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(weight))
        model.classifier.bias.copy_(torch.from_numpy(bias))
    return float(probe.score(standardised, y))


def _selection_macro_f1(classifier: Classifier, texts: Sequence[str], y: Sequence[int]) -> float:
    pred = classifier.predict_logits(texts).argmax(axis=1)
    return float(f1_score(y, pred, labels=list(range(len(LABELS))), average="macro", zero_division=0))


def fit_transformer(config: TrainConfig, train_rows: Sequence[CorpusRow], selection_rows: Sequence[CorpusRow],
                    manifest: Manifest, *, cache_dir: Path) -> FitResult:
    """Fine-tune ``config.base_model`` and return the checkpoint with the best selection macro-F1.

    Word embeddings are frozen by default: they hold most of the parameters, and freezing them
    makes a CPU step several times faster and keeps rare-language vocabulary as pre-trained.
    """
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    source = resolve_base_model(config.base_model, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = build_model(config, source)
    classifier = Classifier(TransformerBackend(model, tokenizer, max_length=config.max_length), manifest,
                            list(LABELS), Calibration())
    train_texts = [r.text for r in train_rows]
    y_train = [LABEL2ID[r.label] for r in train_rows]
    selection_texts = [r.text for r in selection_rows]
    y_selection = [LABEL2ID[r.label] for r in selection_rows]
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=class_weights(y_train, len(LABELS)) if config.class_balanced else None,
        label_smoothing=config.label_smoothing,
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameter_groups(model, config), lr=config.learning_rate)
    steps_per_epoch = math.ceil(len(train_texts) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    eval_every = max(1, steps_per_epoch // config.evals_per_epoch)
    use_bf16 = bf16_is_fast("cpu") if config.bf16 is None else config.bf16
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if use_bf16 else nullcontext()
    logger.info("fine-tuning %d texts, %d steps, %s autocast", len(train_texts), total_steps,
                "bfloat16" if use_bf16 else "no")
    teacher = Classifier.load(config.teacher, threads=config.threads) if config.teacher else None

    passes = 2 if config.rdrop else 1
    rng = random.Random(config.seed)
    best_f1, best_step, bad_evals, step = -1.0, 0, 0, 0
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, float]] = []
    losses: list[float] = []
    started = time.monotonic()
    columns = (
        TextColumn("[bold]fine-tuning"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
        TextColumn("loss {task.fields[loss]:.3f}  selection F1 {task.fields[f1]:.3f}"), TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("train", total=total_steps, loss=float("nan"), f1=float("nan"))
        epoch_texts = train_texts
        ids = classifier.backend.encode([classifier.prepare(t) for t in epoch_texts])
        if config.probe_init:
            probe_started = time.monotonic()
            features = pooled_features(cast(MeanPoolingClassifier, model), tokenizer, ids,
                                       batch_size=config.batch_size * 2, autocast=autocast)
            accuracy = fit_probe_head(cast(MeanPoolingClassifier, model), features, y_train,
                                      class_balanced=config.class_balanced)
            logger.info("head initialised from a linear probe (train accuracy %.3f, %.0fs)", accuracy,
                        time.monotonic() - probe_started)
        teacher_logits: torch.Tensor | None = None
        stop = False
        while not stop:
            if config.augment:  # a fresh perturbed copy each epoch
                epoch_texts = augment_texts(train_texts, config.augment, rng)
                ids = classifier.backend.encode([classifier.prepare(t) for t in epoch_texts])
            if teacher is not None and (teacher_logits is None or config.augment):
                logger.info("teacher predictions for %d texts", len(epoch_texts))
                teacher_logits = torch.from_numpy(teacher.predict_logits(epoch_texts)).float()
            model.train()
            for index in length_grouped_batches([len(x) for x in ids], config.batch_size, rng):
                batch = tokenizer.pad({"input_ids": [ids[i] for i in index]}, return_tensors="pt")
                with autocast:  # R-Drop: the batch twice in one pass, each copy under its own dropout mask
                    logits = logits_of(model(input_ids=batch["input_ids"].repeat(passes, 1),
                                             attention_mask=batch["attention_mask"].repeat(passes, 1))).float()
                loss = loss_fn(logits, torch.tensor([y_train[i] for i in index]).repeat(passes))
                if teacher_logits is not None:
                    soft = distillation_loss(logits, teacher_logits[index].repeat(passes, 1), config.distill_temperature)
                    loss = config.distill_alpha * soft + (1 - config.distill_alpha) * loss
                if config.rdrop:
                    loss = loss + config.rdrop * consistency_loss(*logits.chunk(2))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                losses.append(loss.item())
                progress.update(task, advance=1, loss=losses[-1])
                if step % max(1, total_steps // 20) == 0:  # also in logs, where the bar is not drawn
                    logger.info("step %d/%d, loss %.3f, %.0fs", step, total_steps, losses[-1],
                                time.monotonic() - started)
                if step % eval_every == 0 or step == total_steps:
                    model.eval()
                    f1 = _selection_macro_f1(classifier, selection_texts, y_selection) if selection_texts else 0.0
                    model.train()
                    history.append({"step": step, "loss": losses[-1], "selection_macro_f1": f1,
                                    "seconds": round(time.monotonic() - started, 1)})
                    progress.update(task, f1=f1)
                    if f1 > best_f1:
                        best_f1, best_step, bad_evals = f1, step, 0
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    else:
                        bad_evals += 1
                    if bad_evals >= config.patience * config.evals_per_epoch:
                        logger.info("early stop at step %d (best selection macro-F1 %.3f at %d)", step, best_f1,
                                    best_step)
                        stop = True
                if stop or step >= total_steps:
                    stop = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(classifier, best_f1, best_step, step, time.monotonic() - started, history, losses)
