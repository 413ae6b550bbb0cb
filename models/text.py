"""What the classifier accepts as a message, and how it normalises one (no torch imports).

This module is the one owner of "is this text classifiable": the classifier sets unclassifiable
items aside with :func:`unclassifiable_reason`, and the service's request schema applies the same
function at the edge, so a bad item is refused before the model and never fails a batch.
"""

from __future__ import annotations

import re
import unicodedata

from ticketguard.models.defaults import MAX_CHARS

__all__ = ["EMPTY_TEXT", "MAX_CHARS", "SURROGATES", "normalize_text", "unclassifiable_reason"]

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
