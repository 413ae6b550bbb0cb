import json

import pytest

from tests.conftest import seed_rows, write_jsonl
from ticketguard.models.errors import DataError
from ticketguard.training.agreement import agreement, blind_sample, read_second_pass
from ticketguard.training.corpus import load_corpus


def test_blind_sample_has_no_labels_and_covers_every_language(seed_corpus):
    rows = load_corpus(seed_corpus)
    sample = blind_sample(rows, fraction=0.5, seed=1)
    assert {s["lang"] for s in sample} == {"en", "ru", "zh-Hans"}
    assert all(set(s) == {"id", "lang", "text"} for s in sample)
    assert len(sample) == 5 + 2 + 2  # half of 10 en, 5 ru, 5 zh-Hans rows (2.5 rounds to even)
    assert sample == blind_sample(rows, fraction=0.5, seed=1)


def test_kappa_per_language(seed_corpus, tmp_path):
    rows = load_corpus(seed_corpus)
    en = [r for r in rows if r.lang == "en"]
    second = {r.id: r.label for r in rows}
    second[en[0].id] = "neutral" if en[0].label != "neutral" else "threat"
    path = tmp_path / "second.jsonl"
    path.write_text("".join(json.dumps({"id": k, "label": v}) + "\n" for k, v in second.items()))
    result = agreement(rows, read_second_pass(path))
    assert result["ru"]["kappa"] == pytest.approx(1.0)
    assert result["en"]["agreement"] == pytest.approx(0.9)
    assert 0.8 < result["en"]["kappa"] < 1.0
    assert result["all"]["n"] == 20


def test_second_pass_errors(tmp_path):
    path = tmp_path / "second.jsonl"
    path.write_text('{"id": "x", "label": "spam"}\n')
    with pytest.raises(DataError, match=r"second.jsonl:1: unknown label 'spam'"):
        read_second_pass(path)
    rows = load_corpus(write_jsonl(tmp_path / "c.jsonl", seed_rows()))
    with pytest.raises(DataError, match="unknown ids"):
        agreement(rows, {"nope": "threat"})
