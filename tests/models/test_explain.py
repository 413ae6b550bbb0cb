"""Explanations: offsets into the text as sent, faithful scores, bounded cost (tiny model), and the
trigger word of an obvious message (real model, slow)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from tests.tolerances import SCORE_ATOL
from ticketguard.models.classifier import Classifier
from ticketguard.models.explain import MAX_VARIANTS, Explainer
from ticketguard.models.labels import LABELS
from ticketguard.models.text import normalize_text, normalize_with_offsets

# decomposed accents (e + U+0301), a ZWJ family emoji, a skin-tone emoji, control characters,
# doubled and exotic spaces: everything normalisation changes
TEXTS = {
    "en": "  Cafe\u0301 staff are idiots\u00a0\u00a0👍🏽 — I\u0000will  sue you, 👨\u200d👩\u200d👧 and\tmore!! ",
    "ru": "Вы\u2003тупые идио\u0301ты!!! Верни\u0306те деньги 😡,\n\nиначе суд.",
    "zh-Hant": "　你們客服是豬腦子嗎？😤 再不退款我就去消協投訴，e\u0301 曝光你們！",
}


@pytest.fixture(scope="module")
def explainer(tiny_artifact):
    return Explainer(Classifier.load(tiny_artifact))


@pytest.mark.parametrize("lang", list(TEXTS))
def test_units_map_back_to_the_text_as_sent(explainer, lang):
    text = TEXTS[lang]
    units = explainer.units(text)
    assert units.normalized.text == normalize_text(text)
    pieces = [text[slice(*units.normalized.original_span(a, b))] for a, b in units.ranges]
    # each unit is exactly the original characters, decomposed accents and emoji modifiers included
    for piece, (a, b) in zip(pieces, units.ranges, strict=True):
        assert unicodedata.normalize("NFC", piece) == units.normalized.text[a:b]
    expected = {
        "en": ["Cafe\u0301", "staff", "are", "idiots", "👍🏽", "I", "will", "sue", "you", "👨\u200d👩\u200d👧", "and", "more"],
        "ru": ["Вы", "тупые", "идио\u0301ты", "Верни\u0306те", "деньги", "😡", "иначе", "суд"],
    }
    if lang in expected:
        assert pieces == expected[lang]
    else:  # Chinese is cut at the tokenizer's pieces: they cover every Han character once, in order
        assert "".join(p for p in pieces if p not in ("😤", "e\u0301")) == "".join(
            c for c in text if "\u4e00" <= c <= "\u9fff")
        assert "😤" in pieces and "e\u0301" in pieces
        assert any(len(p) > 1 for p in pieces if "\u4e00" <= p[0] <= "\u9fff")


@pytest.mark.parametrize("lang", list(TEXTS))
def test_spans_are_offsets_into_the_text_as_sent(explainer, lang):
    text = TEXTS[lang]
    explanation = explainer.explain(text, list(LABELS))
    assert list(explanation.spans) == list(LABELS)
    found = 0
    for spans in explanation.spans.values():
        assert len(spans) <= explainer.max_spans
        assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)
        for span in spans:
            assert text[span.start:span.end] == span.text
            assert span.text == span.text.strip() and span.score > 0
            found += 1
    assert found > 0  # a random model still moves some label's probability with some word


def test_offset_normalisation_matches_normalize_text_on_random_strings():
    rng = random.Random(7)
    alphabet = ["a", "e", " ", "\t", "\n", "\x00", "\x85", "\u0301", "\u0308", "\u0323", "\u00a0", "\u3000", "\ufeff",
                "\u200b", "\u200d", "한", "\u1100", "\u1161", "\u11a8", "\u0b47", "\u0b3e", "中", "😀", "🏽", "é", "Å"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        normalized = normalize_with_offsets(text)
        assert normalized.text == normalize_text(text), repr(text)
        for i, c in enumerate(normalized.text):
            source = text[normalized.starts[i]:normalized.ends[i]]
            assert c == " " or c in unicodedata.normalize("NFC", source), (repr(text), i)


def test_a_span_score_is_the_probability_lost_without_it(explainer):
    text = "You are a useless idiot, read my message again."
    prediction = explainer.classifier.predict([text])[0]
    spans = explainer.explain(text, [prediction.label]).spans[prediction.label]
    assert spans
    for span in spans:
        if " " in span.text:  # merged neighbours report their strongest part; single words are exact
            continue
        without = explainer.classifier.predict([text[:span.start] + text[span.end:]])[0]
        assert prediction.scores[prediction.label] - without.scores[prediction.label] == pytest.approx(
            span.score, abs=SCORE_ATOL)


def test_one_explanation_costs_one_batch_of_bounded_size(explainer, monkeypatch):
    rows: list[int] = []
    encode = explainer.classifier.backend.encode

    def counting(texts):
        rows.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(explainer.classifier.backend, "encode", counting)
    short = "Where is my parcel, it is late again"
    explainer.explain(short, ["complaint"])
    assert rows == [1 + 8]  # the message and each of its 8 words removed
    for words, passes in ((20, 2), (60, 1)):  # phrases first, then the words of the best phrases; or phrases only
        rows.clear()
        long = " ".join(f"word{i}" for i in range(words))
        explanation = explainer.explain(long, ["complaint", "threat"])
        assert sum(rows) <= 1 + MAX_VARIANTS and len(rows) == passes
        for spans in explanation.spans.values():
            for span in spans:
                assert long[span.start:span.end] == span.text


def test_words_past_the_models_length_limit_are_not_units(explainer):
    text = " ".join(["parcel"] * 400)  # the tiny model reads 128 tokens
    units = explainer.units(text)
    assert 100 < len(units.ranges) < 128


def test_bad_labels_and_empty_texts(explainer):
    with pytest.raises(ValueError, match="unknown labels"):
        explainer.explain("hello", ["spam"])
    assert explainer.explain("!!! ??? ...", ["neutral"]).spans == {"neutral": []}
    with pytest.raises(ValueError, match="max_variants"):
        Explainer(explainer.classifier, max_variants=0)


@pytest.mark.slow
def test_the_trigger_word_of_an_obvious_message_is_in_its_spans(real_classifier):
    """The real default model (or TICKETGUARD_MODEL_PATH): the insult or the lawsuit made the label."""
    explainer = Explainer(real_classifier)
    cases = [
        # one insult: with two ("you useless idiot"), removing either leaves abuse at 0.99 and single-word
        # occlusion ranks the words on drops under 0.01 (see README, Explanations)
        ("Thanks for nothing, idiot.", "abuse", "idiot"),
        ("Fix this today or my lawyer will contact you.", "threat", "lawyer"),
        ("你們客服都是白痴嗎？", "abuse", "白痴"),
    ]
    for text, label, trigger in cases:
        prediction = real_classifier.predict([text])[0]
        assert prediction.label == label, (text, prediction.scores)
        spans = explainer.explain(text, [label]).spans[label]
        at = text.index(trigger)  # a span covers the trigger, or (Chinese) one of its tokenizer pieces
        assert any(span.start < at + len(trigger) and at < span.end for span in spans), (text, spans)


@pytest.fixture(scope="module")
def real_classifier():
    """TICKETGUARD_MODEL_PATH when set, else the default model (built on first use)."""
    from ticketguard.service.settings import Settings
    from ticketguard.training.default_model import ensure_default_model

    settings = Settings()
    path = settings.model_path or ensure_default_model(settings.default_model_dir, settings.corpus_dir,
                                                       settings.cache_dir, challenge=settings.challenge_dir,
                                                       threads=settings.threads)
    return Classifier.load(path)
