"""Language detection (lingua, offline) among the languages TicketGuard is built for."""

from __future__ import annotations

import pytest

from ticketguard.models.langdetect import LanguageDetector
from ticketguard.models.languages import LANG_CODE, chinese_script, normalize_lang

SAMPLES = [
    ("en", "Refund me by Friday or my lawyer files the lawsuit on Monday."),
    ("ru", "Если деньги не вернут, подаю в суд и пишу в Роспотребнадзор."),
    ("uk", "Де моя посилка? Гроші поверніть негайно, будь ласка."),
    ("bg", "Къде е моята пратка? Искам да ми върнете парите веднага."),
    ("ro", "Unde este coletul meu? Vreau banii înapoi imediat, vă rog."),
    ("de", "Wo ist mein Paket? Ich warte seit zwei Wochen auf die Erstattung."),
    ("es", "¿Dónde está mi paquete? Quiero que me devuelvan el dinero."),
    ("fr", "Où est mon colis ? Je veux être remboursé immédiatement."),
    ("pl", "Gdzie jest moja paczka? Chcę natychmiast zwrotu pieniędzy."),
    ("it", "Dov'è il mio pacco? Voglio essere rimborsato subito."),
    ("pt", "Onde está a minha encomenda? Quero o meu dinheiro de volta."),
    ("tr", "Kargom nerede? Paramı hemen geri istiyorum, lütfen."),
    ("zh-Hans", "快递已经延误十天了，到现在还没有任何更新，请你们马上处理。"),
    ("zh-Hant", "快遞已經延誤十天了，到現在還沒有任何更新，請你們馬上處理。"),
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(("lang", "text"), SAMPLES)
def test_detects_each_supported_language(detector: LanguageDetector, lang: str, text: str) -> None:
    detected = detector.detect(text)
    assert detected is not None and detected.lang == lang
    assert 0.3 < detected.confidence <= 1 and LANG_CODE.match(detected.lang)


def test_no_language_in_symbols(detector: LanguageDetector) -> None:
    assert detector.detect("?? !!") is None


def test_chinese_without_script_specific_characters_is_read_as_a_bare_zh_tag(detector: LanguageDetector) -> None:
    detected = detector.detect("中文")
    assert detected is not None and detected.lang == normalize_lang("zh", "中文") == "zh-Hans"


def test_chinese_script_needs_script_specific_characters() -> None:
    assert chinese_script("我们") == "zh-Hans" and chinese_script("我們") == "zh-Hant"
    assert chinese_script("中文") == "zh"  # the same in both scripts


def test_a_bare_zh_tag_takes_the_script_of_the_text() -> None:
    assert normalize_lang("zh", "我的訂單三週了還沒到") == "zh-Hant"
    assert normalize_lang("zh", "我的订单三周了还没到") == "zh-Hans"
    # a region or script in the tag wins over the text; a text that does not tell, or none, is Simplified
    assert normalize_lang("zh-CN", "我的訂單") == "zh-Hans" and normalize_lang("zh-HK", "我的订单") == "zh-Hant"
    assert normalize_lang("zh", "中文") == normalize_lang("zh") == "zh-Hans"
