"""Fine-tune a sequence-classification transformer on the corpus (CPU friendly)."""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sklearn.metrics import f1_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from ticketguard.models.base import resolve_base_model
from ticketguard.models.classifier import normalize_text
from ticketguard.models.labels import ID2LABEL, LABEL2ID, LABELS
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow

logger = logging.getLogger(__name__)


@dataclass
class FitResult:
    best_dev_macro_f1: float
    best_step: int
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
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
    batches = []
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


class _Encoded:
    def __init__(self, tokenizer, rows: Sequence[CorpusRow], config: TrainConfig) -> None:
        texts = [config.text_prefix + normalize_text(r.text) for r in rows]
        self.ids = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
        self.labels = [LABEL2ID[r.label] for r in rows]
        self.pad_id = tokenizer.pad_token_id

    def collate(self, index: Sequence[int]) -> dict[str, torch.Tensor]:
        width = max(len(self.ids[i]) for i in index)
        input_ids = torch.full((len(index), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(index), width), dtype=torch.long)
        for row, i in enumerate(index):
            seq = self.ids[i]
            input_ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "labels": torch.tensor([self.labels[i] for i in index])}


@torch.inference_mode()
def _dev_macro_f1(model, data: _Encoded, batch_size: int) -> float:
    model.eval()
    order = sorted(range(len(data.ids)), key=lambda i: len(data.ids[i]))
    preds = np.zeros(len(order), dtype=np.int64)
    for s in range(0, len(order), batch_size * 2):
        index = order[s : s + batch_size * 2]
        batch = data.collate(index)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        preds[index] = logits.argmax(-1).numpy()
    model.train()
    return float(f1_score(data.labels, preds, labels=list(range(len(LABELS))), average="macro", zero_division=0))


def fit_transformer(
    config: TrainConfig,
    train_rows: Sequence[CorpusRow],
    dev_rows: Sequence[CorpusRow],
    out_dir: Path,
    *,
    cache_dir: Path,
) -> FitResult:
    """Fine-tune ``config.base_model`` and save the best (by dev macro-F1) weights to ``out_dir``.

    Word embeddings are frozen by default: they hold most of the parameters, and freezing them
    makes a CPU step several times faster and keeps rare-language vocabulary as pre-trained.
    """
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    source = resolve_base_model(config.base_model, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID
    )
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if config.freeze_layers:
        # the bottom layers keep their pre-trained weights and backward stops above them
        encoder_layers = model.base_model.encoder.layer
        for layer in encoder_layers[: config.freeze_layers]:
            layer.requires_grad_(False)
        model.base_model.embeddings.requires_grad_(False)
    train, dev = _Encoded(tokenizer, train_rows, config), _Encoded(tokenizer, dev_rows, config)
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=class_weights(train.labels, len(LABELS)) if config.class_balanced else None
    )
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
    )
    steps_per_epoch = math.ceil(len(train.ids) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    eval_every = max(1, steps_per_epoch // config.evals_per_epoch)

    rng = random.Random(config.seed)
    best_f1, best_step, bad_evals, step = -1.0, 0, 0, 0
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict] = []
    losses: list[float] = []
    started = time.monotonic()
    model.train()
    columns = (
        TextColumn("[bold]fine-tuning"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
        TextColumn("loss {task.fields[loss]:.3f}  dev F1 {task.fields[dev_f1]:.3f}"), TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("train", total=total_steps, loss=float("nan"), dev_f1=float("nan"))
        stop = False
        while not stop:
            for index in length_grouped_batches([len(x) for x in train.ids], config.batch_size, rng):
                batch = train.collate(index)
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                loss = loss_fn(logits, batch["labels"])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                losses.append(loss.item())
                progress.update(task, advance=1, loss=losses[-1])
                if step % eval_every == 0 or step == total_steps:
                    dev_f1 = _dev_macro_f1(model, dev, config.batch_size) if dev.ids else 0.0
                    history.append({"step": step, "loss": losses[-1], "dev_macro_f1": dev_f1,
                                    "seconds": round(time.monotonic() - started, 1)})
                    progress.update(task, dev_f1=dev_f1)
                    if dev_f1 > best_f1:
                        best_f1, best_step, bad_evals = dev_f1, step, 0
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    else:
                        bad_evals += 1
                    if bad_evals >= config.patience * config.evals_per_epoch:
                        logger.info("early stop at step %d (best dev macro-F1 %.3f at %d)", step, best_f1, best_step)
                        stop = True
                if stop or step >= total_steps:
                    stop = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return FitResult(best_f1, best_step, step, time.monotonic() - started, history, losses)
