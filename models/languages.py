"""Language codes: the corpus's code pattern, the languages TicketGuard is built for, and tag normalisation."""

from __future__ import annotations

import re

#: ISO 639-1, or zh-Hans / zh-Hant (the corpus and report form of a language)
LANG_CODE = re.compile(r"^(?:[a-z]{2}|zh-Hans|zh-Hant)$")
#: a BCP 47-like tag as callers send it (en, de-AT, zh_Hant_TW)
LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
#: the longest tag accepted
MAX_TAG_CHARS = 35
PRIMARY_LANGUAGES = ("en", "ru", "uk", "bg", "ro", "zh-Hans", "zh-Hant")
SECONDARY_LANGUAGES = ("de", "es", "fr", "pl", "it", "pt", "tr")
#: what reports and metrics show for a message without a known language
UNKNOWN_LANG = "unknown"
_HANT_REGIONS = {"tw", "hk", "mo", "hant"}


def normalize_lang(value: str | None) -> str | None:
    """A language tag in corpus form (``en``, ``zh-Hans``), or ``None`` when it has none.

    Example:
        >>> normalize_lang("en-US"), normalize_lang("zh-TW"), normalize_lang("ZH_hans_CN"), normalize_lang("tlh")
        ('en', 'zh-Hant', 'zh-Hans', None)
    """
    if not value:
        return None
    parts = re.split(r"[-_]", value.strip())
    primary = parts[0].lower()
    if primary == "zh":
        rest = {p.lower() for p in parts[1:]}
        return "zh-Hant" if rest & _HANT_REGIONS else "zh-Hans"
    return primary if LANG_CODE.match(primary) else None
