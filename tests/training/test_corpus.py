"""Corpus format, splits, near-duplicates and the data check."""

import json

import pytest

from tests.conftest import seed_rows, write_jsonl
from ticketguard.models.errors import DataError
from ticketguard.training.corpus import CorpusRow, corpus_hash, load_corpus, read_rows
from ticketguard.training.datacheck import check_corpus
from ticketguard.training.dedup import near_duplicates, shingles
from ticketguard.training.splits import assign_splits


def test_seed_corpus_loads_and_filters_by_split(seed_corpus):
    rows = load_corpus(seed_corpus)
    assert len(rows) == 20
    assert {r.split for r in load_corpus(seed_corpus, splits=["dev"])} == {"dev"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"label": "spam"}, "label must be one of"),
        ({"lang": "english"}, "ISO 639-1"),
        ({"text": "   "}, "text is blank"),
        ({"text": "x" * 5000}, "at most 4000"),
        ({"split": "holdout"}, "split"),
        ({"tags": ["cool"]}, "unknown tags"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    rows = seed_rows()[:2]
    rows[1] = {**rows[1], **row}
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError, match=rf"bad\.jsonl:2: .*{message}"):
        list(read_rows(path))


def test_malformed_json_and_missing_split(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(seed_rows()[0]) + "\n{oops\n")
    with pytest.raises(DataError, match=r"broken\.jsonl:2"):
        list(read_rows(path))
    row = {k: v for k, v in seed_rows()[0].items() if k != "split"}
    write_jsonl(path, [row])
    with pytest.raises(DataError, match=r"broken\.jsonl:1: split is missing"):
        list(read_rows(path))
    assert next(read_rows(path, require_split=False)).split is None


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", seed_rows()[:1])
    write_jsonl(tmp_path / "b.jsonl", seed_rows()[:1])
    with pytest.raises(DataError, match="duplicate id"):
        load_corpus(tmp_path)


def test_corpus_hash_is_order_independent_and_content_sensitive(seed_corpus):
    rows = load_corpus(seed_corpus)
    assert corpus_hash(rows) == corpus_hash(list(reversed(rows)))
    changed = [rows[0].model_copy(update={"label": "neutral"})] + rows[1:]
    assert corpus_hash(changed) != corpus_hash(rows)


def test_near_duplicates_found_by_5gram_jaccard():
    texts = [
        "My parcel 5512 has not arrived after two weeks, please check.",
        "My parcel 5513 has not arrived after two weeks, please check.",
        "How do I change the e-mail address on my account?",
    ]
    pairs = near_duplicates(texts, threshold=0.8)
    assert [(p.first, p.second) for p in pairs] == [(0, 1)]
    assert pairs[0].similarity > 0.8
    assert shingles("ABC") == frozenset({"abc"})


def _unsplit(n_per_cell: int) -> list[CorpusRow]:
    rows = []
    for label in ("threat", "neutral"):
        for lang in ("en", "ru"):
            for i in range(n_per_cell):
                rows.append(CorpusRow(id=f"{lang}-{label}-{i}", text=f"message {i} {label} {lang}", label=label,
                                      lang=lang, source="tests"))
    return rows


def test_splits_are_stratified_and_reproducible():
    rows = _unsplit(20)
    first = assign_splits(rows, seed=1)
    assert [r.split for r in first] == [r.split for r in assign_splits(rows, seed=1)]
    for lang in ("en", "ru"):
        for label in ("threat", "neutral"):
            cell = [r.split for r in first if r.lang == lang and r.label == label]
            assert (cell.count("train"), cell.count("dev"), cell.count("test")) == (16, 2, 2)


def test_existing_splits_never_move():
    rows = assign_splits(_unsplit(10), seed=3)
    frozen_test = {r.id for r in rows if r.split == "test"}
    grown = rows + [CorpusRow(id=f"new-{i}", text=f"new text {i}", label="threat", lang="en", source="t")
                    for i in range(10)]
    again = assign_splits(grown, seed=99)
    assert {r.id for r in again if r.split == "test" and not r.id.startswith("new")} == frozen_test
    assert all(a.split == b.split for a, b in zip(again, rows, strict=False))
    assert all(r.split for r in again)


def test_check_finds_leakage_duplicates_and_short_languages(tmp_path):
    rows = seed_rows()
    leak = {**rows[0], "id": "leak", "text": rows[0]["text"] + "!", "split": "test"}
    write_jsonl(tmp_path / "c.jsonl", rows + [leak])
    report = check_corpus([tmp_path], min_per_label={"en": 2, "de": 1})
    assert not report.ok
    text = "\n".join(report.errors)
    assert "split leakage: threat-0 (train) and leak (test)" in text
    assert "de: fewer than 1 rows" in text
    assert not any(e.startswith("en: fewer than") for e in report.errors)  # en meets its minimum
    assert any(e.startswith("en: 2 of 11 rows") for e in report.errors)  # the leaked pair, counted
    assert report.counts()["en"]["threat"] == 3


def test_check_passes_clean_corpus(seed_corpus):
    report = check_corpus([seed_corpus.parent])
    assert report.ok, report.errors
    assert len(report.rows) == 20


def test_check_counts_and_checks_each_evaluation_set_on_its_own(tmp_path, monkeypatch):
    """The challenge and public-register splits share the split name ``challenge``: one set's rows must
    not make up for the other's, and each is counted in its own column."""
    monkeypatch.setattr("ticketguard.training.datacheck.CHALLENGE_TARGETS", {"en": 3})
    corpus = write_jsonl(tmp_path / "corpus" / "c.jsonl", seed_rows())
    texts = ["Where can I download last month's invoice?", "Do you ship to Norway as well?",
             "Thanks, the replacement arrived today.", "Can I change the delivery address on order 1182?",
             "Is the night shift support line open on Sundays?"]
    evaluation = [{"id": f"eval-{i}", "text": text, "label": "neutral", "lang": "en", "source": "tests",
                   "split": "challenge"} for i, text in enumerate(texts)]
    challenge = write_jsonl(tmp_path / "challenge" / "en.jsonl", evaluation[:3]).parent
    public = write_jsonl(tmp_path / "public" / "en.jsonl", evaluation[3:]).parent
    report = check_corpus([corpus.parent, challenge, public], min_per_label={"en": 1})
    assert {path: dict(counts) for path, counts in report.evaluation_sets().items()} == {
        challenge: {"en": 3}, public: {"en": 2}}
    assert report.errors == [f"{public}: en has 2 evaluation rows, at least 3 expected"]
