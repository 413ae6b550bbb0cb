"""Language detection for messages that arrive without a language: code and confidence.

Uses lingua (``lingua-language-detector``, models shipped inside the wheel, nothing downloaded),
restricted to the languages TicketGuard is built for (:mod:`models.languages`), so a short message
is not mistaken for a language the model never saw. Lingua says only "Chinese"; the script is
told apart as for a caller's bare ``zh`` tag, by :func:`~ticketguard.models.languages.normalize_lang`
(a text with no script-specific characters is ``zh-Hans``), so a detected and a given language are
stored and counted alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ticketguard.models.languages import PRIMARY_LANGUAGES, SECONDARY_LANGUAGES, normalize_lang

if TYPE_CHECKING:
    from lingua import LanguageDetector as _Lingua

#: below this confidence the language is reported as unknown (``None``)
MIN_CONFIDENCE = 0.05


@dataclass(frozen=True)
class DetectedLanguage:
    """A detected language in corpus form (``en``, ``zh-Hans``) and lingua's confidence (0 to 1)."""

    lang: str
    confidence: float


class LanguageDetector:
    """Detect the language of a text among :data:`PRIMARY_LANGUAGES` and :data:`SECONDARY_LANGUAGES`.

    Cheap to build; lingua loads the models on first use or :meth:`warm` (seconds, about 400 MB;
    it holds the GIL meanwhile, so a server warms it before it serves), and the models are shared by
    every detector of the process.

    Example:
        >>> LanguageDetector().detect("Где моя посылка?")
        DetectedLanguage(lang='ru', confidence=0.72...)
    """

    def __init__(self) -> None:
        self._lingua: _Lingua | None = None

    def warm(self) -> None:
        """Load every language's model now instead of on the first detection."""
        self._detector(preload=True)

    def _detector(self, preload: bool = False) -> _Lingua:
        if self._lingua is None:
            from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

            codes = {code.split("-")[0] for code in (*PRIMARY_LANGUAGES, *SECONDARY_LANGUAGES)}
            languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in sorted(codes)]
            builder = LanguageDetectorBuilder.from_languages(*languages)
            self._lingua = (builder.with_preloaded_language_models() if preload else builder).build()
        return self._lingua

    def detect(self, text: str) -> DetectedLanguage | None:
        """The most likely language of ``text``, or ``None`` when no language is likely enough."""
        values = self._detector().compute_language_confidence_values(text)
        if not values or values[0].value < MIN_CONFIDENCE:
            return None
        code = values[0].language.iso_code_639_1.name.lower()
        lang = normalize_lang(code, text) or code
        return DetectedLanguage(lang=lang, confidence=round(float(values[0].value), 4))

