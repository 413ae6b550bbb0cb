"""The service settings: defaults, parsing and refusal of placeholder secrets."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from ticketguard.models.defaults import PRECISIONS
from ticketguard.service.settings import Settings
from ticketguard.service.webhooks import PROVIDERS, get_provider
from ticketguard.service.writeback import WRITERS


def build(**values) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults(tmp_path: Path) -> None:
    settings = build(cache_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'ticketguard.db'}"
    assert (settings.max_text_chars, settings.max_batch_items, settings.webhook_tolerance_seconds) == (20_000, 256, 300)
    assert settings.microbatch_enabled and settings.store_text
    assert get_provider("zendesk", settings)[1] is None


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETGUARD_API_KEYS", "first-key-0123456789abc, second-key-0123456789abc")
    monkeypatch.setenv("TICKETGUARD_MICROBATCH_MAX_WAIT_MS", "12.5")
    monkeypatch.setenv("TICKETGUARD_ZENDESK_WEBHOOK_SECRET", "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==")
    settings = build()
    assert [k.get_secret_value() for k in settings.api_keys] == ["first-key-0123456789abc", "second-key-0123456789abc"]
    assert settings.microbatch_max_wait_ms == 12.5
    assert get_provider("zendesk", settings)[1] == "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    monkeypatch.setenv("TICKETGUARD_API_KEYS", '["json-list-key-0123456789"]')
    assert [k.get_secret_value() for k in build().api_keys] == ["json-list-key-0123456789"]


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("api_keys", "changeme", "placeholder"),
    ("api_keys", "good-key-0123456789abcdef,secret", "api_keys[1] is a placeholder"),
    ("zendesk_webhook_secret", "changeme", "placeholder"),
    ("generic_webhook_secret", "CHANGEME-please-0123", "placeholder"),
    ("front_app_secret", "short", "shorter than 16"),
    ("freshdesk_shared_secret", "password", "placeholder"),
])
def test_placeholder_and_weak_secrets_are_refused(field: str, value: str, needle: str) -> None:
    with pytest.raises(ValidationError) as refused:
        build(**{field: value})
    assert needle in str(refused.value)
    assert "input_value" not in str(refused.value)  # the rejected secret is not echoed


@pytest.mark.parametrize(("values", "needle"), [
    ({"max_text_chars": 20_001}, "max_text_chars"),
    ({"max_batch_items": 0}, "max_batch_items"),
    ({"microbatch_queue_size": 10}, "must hold at least one full batch"),
    ({"log_format": "xml"}, "log_format"),
    ({"freshdesk_secret_header": "Bad Header:"}, "freshdesk_secret_header"),
])
def test_bad_values_are_refused(values: dict, needle: str) -> None:
    with pytest.raises(ValidationError) as refused:
        build(**values)
    assert needle in str(refused.value)


def test_webhook_explanations_are_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build().explain_webhooks is False
    monkeypatch.setenv("TICKETGUARD_EXPLAIN_WEBHOOKS", "true")
    assert build().explain_webhooks is True


def test_the_precision_setting_offers_auto_and_every_precision_mode() -> None:
    assert get_args(Settings.model_fields["precision"].annotation) == ("auto", *PRECISIONS)


def test_settings_travel_to_fresh_processes_as_their_environment_variables(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, model_path=tmp_path / "m", precision="int8", migrate_on_start=False)
    environment = settings.environment("model_path", "precision", "migrate_on_start")
    assert environment == {"TICKETGUARD_MODEL_PATH": str(tmp_path / "m"), "TICKETGUARD_PRECISION": "int8",
                           "TICKETGUARD_MIGRATE_ON_START": "false"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    read_back = Settings(_env_file=None)
    assert (read_back.model_path, read_back.precision, read_back.migrate_on_start) == (tmp_path / "m", "int8", False)


def test_every_helpdesk_writer_has_its_write_back_setting() -> None:
    assert {f"{provider}_writeback" for provider in WRITERS} <= set(Settings.model_fields)
    assert set(WRITERS) <= set(PROVIDERS)  # a write-back needs the helpdesk's webhooks to know its tickets
