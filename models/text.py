"""What the classifier accepts as a message, and how it normalises one (no torch imports).

This module is the one owner of "is this text classifiable": the classifier sets unclassifiable
items aside with :func:`unclassifiable_reason`, and the service's request schema applies the same
function at the edge, so a bad item is refused before the model and never fails a batch.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ticketguard.models.defaults import MAX_CHARS

__all__ = ["EMPTY_TEXT", "MAX_CHARS", "SURROGATES", "Normalized", "normalize_text", "normalize_with_offsets",
           "unclassifiable_reason", "visible_text_pattern"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Unicode categories that carry no visible content: spaces, separators, control and format
#: characters (zero-width space, joiners, BOM, word joiner ...)
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
#: reasons an item is unclassifiable (see :func:`unclassifiable_reason`)
EMPTY_TEXT = "empty text"
SURROGATES = "text contains unpaired surrogate code points"


def normalize_text(text: str) -> str:
    """NFC-normalise, drop control characters and collapse whitespace."""
    text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


@dataclass(frozen=True)
class Normalized:
    """A normalised text and, for each of its characters, the range of the original it came from.

    Attributes:
        text: exactly ``normalize_text(original)``.
        starts, ends: ``original[starts[i]:ends[i]]`` produced ``text[i]`` (a composed character
            covers its whole base + combining sequence; a collapsed space its whole whitespace run).
    """

    text: str
    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The range of the original string that ``text[start:end]`` (non-empty) came from."""
        return self.starts[start], max(self.ends[start:end])


def _nfc_chunks(text: str, boundary: str) -> list[tuple[int, int]]:
    """Ranges of ``text`` that NFC normalises one by one, cut before combining-class-0 characters
    (``"starter"``), around whitespace (``"space"``, which composes with nothing), or not at all."""
    bounds = [0]
    for i in range(1, len(text)):
        c = text[i]
        if (boundary == "starter" and unicodedata.combining(c) == 0) or \
                (boundary == "space" and (c.isspace() or text[i - 1].isspace())):
            bounds.append(i)
    bounds.append(len(text))
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def normalize_with_offsets(text: str) -> Normalized:
    """:func:`normalize_text` that also says where each output character came from.

    Explanations find spans in the normalised text the model reads and report them as offsets
    into the text as sent; this is the map between the two.

    Example:
        >>> n = normalize_with_offsets("  Cafe\u0301\t\tbad ")
        >>> n.text, n.original_span(0, 4), n.original_span(5, 8)
        ('Café bad', (2, 7), (9, 12))
    """
    whole = unicodedata.normalize("NFC", text)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for boundary in ("starter", "space", "none"):
        chars, starts, ends = [], [], []
        for a, b in _nfc_chunks(text, boundary):
            for c in unicodedata.normalize("NFC", text[a:b]):
                chars.append(c)
                starts.append(a)
                ends.append(b)
        # a few starters compose with the character before them (Hangul jamo, some Indic vowel
        # signs): then the coarser cut is used; one chunk for everything always matches
        if "".join(chars) == whole:
            break
    # control characters become spaces (one for one), then whitespace runs collapse and the ends are stripped
    spaced = _CONTROL.sub(" ", "".join(chars))
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    position = 0
    for run in _SPACES.finditer(spaced):
        for i in range(position, run.start()):
            out.append(spaced[i])
            out_starts.append(starts[i])
            out_ends.append(ends[i])
        out.append(" ")
        out_starts.append(starts[run.start()])
        out_ends.append(ends[run.end() - 1])
        position = run.end()
    for i in range(position, len(spaced)):
        out.append(spaced[i])
        out_starts.append(starts[i])
        out_ends.append(ends[i])
    lead = 1 if out and out[0] == " " else 0
    trail = 1 if len(out) > lead and out[-1] == " " else 0
    stop = len(out) - trail
    return Normalized("".join(out[lead:stop]), out_starts[lead:stop], out_ends[lead:stop])


def unclassifiable_reason(text: object) -> str | None:
    """Why ``text`` cannot be classified, or ``None`` when it can.

    A text needs at least one visible character: whitespace, control and format characters
    (zero-width spaces, joiners, BOMs) alone are empty.

    Example:
        >>> unclassifiable_reason("where is my parcel?"), unclassifiable_reason("\u200b \ufeff")
        (None, 'empty text')
    """
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, expected a string"
    if _SURROGATE.search(text):
        return SURROGATES
    if all(unicodedata.category(c) in _INVISIBLE for c in text[:MAX_CHARS]):
        return EMPTY_TEXT
    return None


def _is_invisible(code_point: int) -> bool:
    return not 0xD800 <= code_point <= 0xDFFF and unicodedata.category(chr(code_point)) in _INVISIBLE


@lru_cache(maxsize=1)
def visible_text_pattern() -> str:
    """A regular expression (JSON Schema ``pattern``: matched anywhere) that finds a visible character:
    the same rule as :func:`unclassifiable_reason`, for documents that describe what is accepted.

    Built from this Python's Unicode tables on first use (about half a second), then cached.

    Example:
        >>> import re
        >>> bool(re.search(visible_text_pattern(), "\u200b hi")), bool(re.search(visible_text_pattern(), "\u200b \ufeff"))
        (True, False)
    """
    ranges: list[tuple[int, int]] = []
    for code_point in range(sys.maxunicode + 1):
        if not _is_invisible(code_point):
            continue
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1] = (ranges[-1][0], code_point)
        else:
            ranges.append((code_point, code_point))
    return "[^" + "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges) + "]"


def _escape(code_point: int) -> str:
    return f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}"
