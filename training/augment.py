"""Register noise for training texts: typos, casing, dropped punctuation, transliteration, emoji, @mentions.

Real customers write in registers the corpus under-represents. Each epoch, a share of the
training texts is replaced by a perturbed copy that keeps its label: one perturbation per text,
drawn at random, seeded, and never applied to dev, calibration or test rows.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_EMOJI = ("🙂", "😡", "🙏", "😤", "👍", "😭", "🤬", "😂", "!!!", "???", "🤦")
# a common informal Latin spelling of Cyrillic (ru, uk, bg), as typed without a Cyrillic keyboard
_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t",
     "u", "f", "h", "c", "ch", "sh", "sht", "a", "y", "", "e", "yu", "ya", "i", "yi", "ye", "g"], strict=True))


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, len(chars) // 40)):
        if len(chars) < 4:
            break
        i = rng.randrange(len(chars) - 1)
        op = rng.choice(("swap", "drop", "double"))
        if op == "swap":
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == "drop":
            del chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def _lower(text: str, rng: random.Random) -> str:
    return text.lower()


def _upper(text: str, rng: random.Random) -> str:
    return text.upper()


def _no_punctuation(text: str, rng: random.Random) -> str:
    return " ".join(_PUNCT.sub(" ", text).split()) or text


def _emoji(text: str, rng: random.Random) -> str:
    return f"{text} {rng.choice(_EMOJI)}"


def _mention(text: str, rng: random.Random) -> str:
    """A public reply's shape: an invented @handle before the text (or a #hashtag after it).

    Every label gets them, so an @handle alone never reads as a sign of abuse or a threat.
    """
    handle = "".join(rng.choice("abcdefghijklmnoprstuvz") for _ in range(rng.randint(3, 8)))
    handle += rng.choice(("", "_help", "_care", "support", "_official", str(rng.randint(1, 99))))
    if rng.random() < 0.8:
        return f"@{handle.capitalize() if rng.random() < 0.5 else handle} {text}"
    return f"{text} #{handle}"


def transliterate(text: str) -> str:
    """Cyrillic letters typed in Latin (``привет`` -> ``privet``); other characters are kept."""
    out = []
    for ch in text:
        low = ch.lower()
        latin = _TRANSLIT.get(low)
        if latin is None:
            out.append(ch)
        else:
            out.append(latin.capitalize() if ch != low else latin)
    return "".join(out)


def _translit_or_accents(text: str, rng: random.Random) -> str:
    if any(ch.lower() in _TRANSLIT for ch in text):
        return transliterate(text)
    # Latin scripts: drop diacritics, as much Romanian, Polish and Turkish online text is written
    stripped = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in stripped if not unicodedata.combining(c)))


PERTURBATIONS: tuple[Callable[[str, random.Random], str], ...] = (
    _typos, _lower, _upper, _no_punctuation, _emoji, _mention, _translit_or_accents,
)


def augment_texts(texts: list[str], share: float, rng: random.Random) -> list[str]:
    """A copy of ``texts`` in which about ``share`` of them carry one random perturbation.

    Example:
        >>> augment_texts(["Hello, world!"], 1.0, random.Random(0))  # doctest: +SKIP
        ['hello world']
    """
    out = list(texts)
    for i, text in enumerate(out):
        if rng.random() < share:
            out[i] = rng.choice(PERTURBATIONS)(text, rng)
    return out
