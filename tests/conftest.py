"""Shared fixtures: tiny random checkpoints with the real tokenizer, and small corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from ticketguard.models.artifact import Calibration, Manifest, write_artifact_metadata
from ticketguard.models.base import embedded_tokenizer_file, write_tokenizer
from ticketguard.models.labels import ID2LABEL, LABEL2ID, LABELS
from ticketguard.training.config import TrainConfig

# A few hand-written rows per label and language, enough to exercise every code path.
SEED_ROWS = {
    "threat": [
        ("en", "Refund me by Friday or my lawyer files the lawsuit on Monday."),
        ("en", "I'll post your agent's full name and photo on every forum I know."),
        ("ru", "Если деньги не вернут, подаю в суд и пишу в Роспотребнадзор."),
        ("zh-Hans", "再不退款我就去消协投诉，还要在微博曝光你们客服的名字。"),
    ],
    "abuse": [
        ("en", "You are a useless idiot, read my message again."),
        ("en", "Are all of you this brain-dead or just you, clown?"),
        ("ru", "Вы там совсем тупые? Кто вас вообще на работу взял, идиоты."),
        ("zh-Hans", "你这个客服是猪脑子吗？听不懂人话？"),
    ],
    "manipulation": [
        ("en", "Your colleague promised me a full refund plus a free year, so just do it."),
        ("en", "I've been a VIP for ten years and I know your director, 50% off is the least."),
        ("ru", "Ваш коллега вчера обещал мне компенсацию, просто оформите её."),
        ("zh-Hans", "你们经理是我朋友，他说可以给我免单，你直接办吧。"),
    ],
    "complaint": [
        ("en", "This stupid app crashed again and deleted three hours of notes."),
        ("en", "I was charged twice for order 88231, please reverse one charge."),
        ("ru", "Заказ задерживается уже на две недели, где моя посылка?"),
        ("zh-Hans", "快递已经延误十天了，到现在还没有任何更新。"),
    ],
    "neutral": [
        ("en", "How do I kill the sync process when it hangs?"),
        ("en", "Thanks for the quick fix yesterday, everything works now!"),
        ("ru", "Подскажите, как поменять тариф в личном кабинете?"),
        ("zh-Hans", "请问年度套餐可以开发票吗？"),
    ],
}


def seed_rows(split_cycle: tuple[str, ...] = ("train", "train", "dev", "test")) -> list[dict]:
    """Corpus-format rows from SEED_ROWS, with splits dealt in a fixed cycle."""
    rows = []
    for label, items in SEED_ROWS.items():
        for i, (lang, text) in enumerate(items):
            rows.append({"id": f"{label}-{i}", "text": text, "label": label, "lang": lang,
                         "source": "tests:seed", "split": split_cycle[i % len(split_cycle)]})
    return rows


def quick_train_config(tiny_artifact: Path, **overrides) -> TrainConfig:
    """A one-epoch, single-thread training run of the tiny model, every layer trained (training tests)."""
    values = {"base_model": str(tiny_artifact), "epochs": 1, "batch_size": 8, "max_length": 32,
              "freeze_layers": 0, "calibrate_on_noise": False, "threads": 1, **overrides}
    return TrainConfig(**values)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "corpus" / "seed.jsonl", seed_rows())


def build_tiny_artifact(directory: Path, *, seed: int = 0, temperature: float = 1.0,
                        thresholds: dict[str, float] | None = None) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with the real XLM-R tokenizer."""
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=250_037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, pad_token_id=1, initializer_range=0.5,
                        num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    model = BertForSequenceClassification(config).eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    write_tokenizer(embedded_tokenizer_file(), directory, max_length=512)
    write_artifact_metadata(
        directory,
        Manifest(arch="transformer", model_version="tiny-test-0", text_prefix="query: ", max_length=128),
        list(LABELS),
        Calibration(temperature=temperature, thresholds=thresholds or {"threat": 0.2, "abuse": 0.2}),
    )
    return directory


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session-wide tiny transformer artifact (read-only: copy it before changing files)."""
    return build_tiny_artifact(tmp_path_factory.mktemp("tiny") / "artifact")
