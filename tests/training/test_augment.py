"""Register noise for training texts: seeded, one perturbation per chosen text, never for share 0."""

from __future__ import annotations

import random

from ticketguard.training import augment
from ticketguard.training.augment import PERTURBATIONS, augment_texts, transliterate

TEXTS = ["Hello, my card was declined twice today!", "Почему не работает интернет?", "Mi-ați taxat de două ori."]


def test_share_zero_changes_nothing_and_share_one_changes_everything() -> None:
    assert augment_texts(TEXTS, 0.0, random.Random(0)) == TEXTS
    changed = augment_texts(TEXTS * 5, 1.0, random.Random(0))
    assert sum(a != b for a, b in zip(changed, TEXTS * 5, strict=True)) >= 13  # a perturbation may be a no-op


def test_augmentation_is_reproducible_with_the_same_seed() -> None:
    assert augment_texts(TEXTS * 3, 0.5, random.Random(7)) == augment_texts(TEXTS * 3, 0.5, random.Random(7))


def test_each_perturbation_keeps_a_non_empty_text() -> None:
    for perturb in PERTURBATIONS:
        for text in TEXTS:
            assert perturb(text, random.Random(1)).strip()


def test_transliteration_and_diacritics() -> None:
    assert transliterate("Привет, Їжак!") == "Privet, Yizhak!"
    strip = PERTURBATIONS[-1]
    assert strip("Mi-ați taxat de două ori.", random.Random(0)) == "Mi-ati taxat de doua ori."
    assert strip("Почему", random.Random(0)) == "Pochemu"


def test_mentions_add_a_handle_or_a_hashtag_and_keep_the_text() -> None:
    outs = [augment._mention("where is my parcel", random.Random(seed)) for seed in range(40)]
    assert all("where is my parcel" in out for out in outs)
    assert any(out.startswith("@") for out in outs) and any(" #" in out for out in outs)
