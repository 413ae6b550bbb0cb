"""Language codes: the corpus's code pattern, the languages TicketGuard is built for, and tag normalisation.

Chinese is kept as two corpus languages, ``zh-Hans`` and ``zh-Hant``. A tag that names neither
script nor region (``zh``) is decided by the text's characters (:func:`chinese_script`).
"""

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


def normalize_lang(value: str | None, text: str | None = None) -> str | None:
    """A language tag in corpus form (``en``, ``zh-Hans``), or ``None`` when it has none.

    A bare ``zh`` (no script, no region) takes the script of ``text`` when its characters tell
    (:func:`chinese_script`), and ``zh-Hans`` otherwise.

    Example:
        >>> normalize_lang("en-US"), normalize_lang("zh-TW"), normalize_lang("ZH_hans_CN"), normalize_lang("tlh")
        ('en', 'zh-Hant', 'zh-Hans', None)
        >>> normalize_lang("zh", "我們的訂單"), normalize_lang("zh", "我们的订单"), normalize_lang("zh")
        ('zh-Hant', 'zh-Hans', 'zh-Hans')
    """
    if not value:
        return None
    parts = re.split(r"[-_]", value.strip())
    primary = parts[0].lower()
    if primary == "zh":
        rest = {p.lower() for p in parts[1:]}
        if rest & _HANT_REGIONS:
            return "zh-Hant"
        if not rest and text and chinese_script(text) == "zh-Hant":
            return "zh-Hant"
        return "zh-Hans"
    return primary if LANG_CODE.match(primary) else None


def chinese_script(text: str) -> str:
    """``zh-Hans``, ``zh-Hant`` or ``zh`` (undecided) from the characters only one script's codec can encode:
    characters only GB2312 can encode are Simplified, characters only Big5 can encode are Traditional
    (characters both share say nothing); neither, or a tie, is ``zh``.

    Example:
        >>> chinese_script("我们的订单"), chinese_script("我們的訂單"), chinese_script("中文")
        ('zh-Hans', 'zh-Hant', 'zh')
    """
    simplified = traditional = 0
    for char in text:
        if ord(char) < 0x2E80:
            continue
        in_gb = _encodes(char, "gb2312")
        in_big5 = _encodes(char, "big5")
        simplified += in_gb and not in_big5
        traditional += in_big5 and not in_gb
    if simplified > traditional:
        return "zh-Hans"
    if traditional > simplified:
        return "zh-Hant"
    return "zh"


def _encodes(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True
