"""What the classifier accepts as a message, and how it normalises one (no torch imports).

This module is the one owner of "is this text classifiable": the classifier sets unclassifiable
items aside with :func:`unclassifiable_reason`, and the service's request schema applies the same
function at the edge, so a bad item is refused before the model and never fails a batch.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

from ticketguard.models.defaults import MAX_CHARS

__all__ = ["EMPTY_TEXT", "MAX_CHARS", "SURROGATES", "normalize_text", "unclassifiable_reason", "visible_text_pattern"]

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
