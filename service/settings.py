"""The one typed settings object of TicketGuard (environment ``TICKETGUARD_*`` and ``.env``).

Read it through :func:`get_settings`; the app keeps the one it was created with on ``app.state`` (tests
build ``Settings(...)`` directly). Nothing else in the project reads environment variables.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ticketguard.data import CHALLENGE_DIR, CORPUS_DIR, PUBLIC_DIR, REGISTERS_DIR
from ticketguard.models.defaults import MAX_CHARS
from ticketguard.models.labels import LABELS, Label

#: the classifier reads at most this many characters, so no request may carry more per message
HARD_MAX_TEXT_CHARS = MAX_CHARS
HARD_MAX_BATCH_ITEMS = 1024
#: secrets shorter than this are guessable; real helpdesk signing keys are 32+ characters
MIN_SECRET_CHARS = 16
_PLACEHOLDERS = frozenset({
    "changeme", "change-me", "change_me", "changethis", "secret", "password", "passw0rd", "placeholder",
    "default", "example", "todo", "fixme", "xxx", "your-secret", "yoursecret", "your_api_key", "apikey",
})


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ticketguard"


def _check_secret(name: str, value: str) -> str:
    """Refuse placeholder or short secrets; quote the setting, never the value."""
    lowered = value.strip().lower()
    if lowered in _PLACEHOLDERS or any(lowered.startswith(p) for p in ("changeme", "change-me", "replace")):
        raise ValueError(f"{name} is a placeholder; generate a real secret (e.g. `openssl rand -hex 32`)")
    if len(value.strip()) < MIN_SECRET_CHARS:
        raise ValueError(f"{name} is shorter than {MIN_SECRET_CHARS} characters")
    return value


_ALL_LABELS = [Label(name) for name in LABELS]


class _Writeback(BaseModel):
    """What every helpdesk write-back shares: where the API is and which ticket labels are written."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, pattern=r"^https?://", description="API root; default: the "
                                 "provider's public API (from the subdomain where it has one)")
    labels: list[Label] = Field(default_factory=lambda: list(_ALL_LABELS),
                                description="ticket labels written; other labels leave the ticket alone")

    def url(self) -> str:
        if self.base_url is None:
            raise ValueError("no base_url")
        return self.base_url.rstrip("/")


class ZendeskWriteback(_Writeback):
    """Zendesk: drop-down custom fields (option tags ``ticketguard_<label>`` / ``ticketguard_band_<band>``),
    the label tag mirrored with ``additional_tags``, a private note for ``note_labels``. API token auth."""

    subdomain: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    email: str = Field(min_length=3, description="the agent the API token belongs to")
    api_token: SecretStr
    label_field_id: int = Field(ge=1, description="drop-down ticket field holding the label")
    band_field_id: int | None = Field(default=None, ge=1, description="drop-down ticket field holding the band")
    note_labels: list[Label] = Field(default_factory=lambda: [Label.THREAT])

    def url(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else f"https://{self.subdomain}.zendesk.com"

    @model_validator(mode="after")
    def _where(self) -> ZendeskWriteback:
        if not self.base_url and not self.subdomain:
            raise ValueError("zendesk write-back needs subdomain (or base_url)")
        _check_secret("zendesk_writeback.api_token", self.api_token.get_secret_value())
        return self


class IntercomWriteback(_Writeback):
    """Intercom: a conversation tag per label (tag ids) and conversation custom attributes."""

    access_token: SecretStr
    admin_id: str = Field(min_length=1, description="the admin who applies the tags")
    tag_ids: dict[Label, str] = Field(default_factory=dict, description="Intercom tag id of each label")
    label_attribute: str = Field(default="ticketguard_label", min_length=1)
    band_attribute: str | None = Field(default="ticketguard_band")

    def url(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else "https://api.intercom.io"

    @model_validator(mode="after")
    def _token(self) -> IntercomWriteback:
        _check_secret("intercom_writeback.access_token", self.access_token.get_secret_value())
        return self


class FreshdeskWriteback(_Writeback):
    """Freshdesk: custom drop-down ticket fields (no tags: Freshdesk replaces the whole tag list), private note."""

    domain: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="<domain>.freshdesk.com")
    api_key: SecretStr
    label_field: str = Field(default="cf_ticketguard_label", pattern=r"^cf_[a-z0-9_]{1,60}$")
    band_field: str | None = Field(default="cf_ticketguard_band", pattern=r"^cf_[a-z0-9_]{1,60}$")
    note_labels: list[Label] = Field(default_factory=lambda: [Label.THREAT])

    def url(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else f"https://{self.domain}.freshdesk.com"

    @model_validator(mode="after")
    def _where(self) -> FreshdeskWriteback:
        if not self.base_url and not self.domain:
            raise ValueError("freshdesk write-back needs domain (or base_url)")
        _check_secret("freshdesk_writeback.api_key", self.api_key.get_secret_value())
        return self


class FrontWriteback(_Writeback):
    """Front: a conversation tag per label (tag ids)."""

    api_token: SecretStr
    tag_ids: dict[Label, str] = Field(description="Front tag id (tag_...) of each label")

    def url(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else "https://api2.frontapp.com"

    @model_validator(mode="after")
    def _token(self) -> FrontWriteback:
        _check_secret("front_writeback.api_token", self.api_token.get_secret_value())
        return self


class Settings(BaseSettings):
    # hide_input_in_errors: a rejected secret must not be echoed into logs
    model_config = SettingsConfigDict(env_prefix="TICKETGUARD_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    # --- model -------------------------------------------------------------------------------
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="base model and default model cache")
    model_path: Path | None = Field(default=None, description="artifact to serve; default: the built default model")
    corpus_dir: Path = Field(default=CORPUS_DIR, description="labelled corpus")
    challenge_dir: Path = Field(default=CHALLENGE_DIR, description="challenge split (evaluation only)")
    public_dir: Path = Field(default=PUBLIC_DIR, description="public-register split (evaluation only)")
    registers_dir: Path = Field(default=REGISTERS_DIR, description="registers split (evaluation only)")
    threads: int | None = Field(default=None, ge=1, description="torch threads for inference (default: all cores "
                                "for the command line, all but one for the service)")
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$",
                        description="torch device: auto (CUDA when present), cpu, cuda, cuda:N")
    batch_size: int | None = Field(default=None, ge=1, le=4096,
                                   description="maximum messages per forward pass (default: 64 on a CPU, 256 on a GPU)")
    #: "auto" and models.defaults.PRECISIONS (a Literal for the error message and the schema; a test keeps them equal)
    precision: Literal["auto", "fp32", "bf16", "int8"] = Field(
        default="auto", description="auto: the fastest mode here that passed the model's quality guard; a named "
                                    "mode is used even if it failed the guard (logged, and shown in /readyz)")

    # --- HTTP server -------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="bind address of `ticketguard serve` (0.0.0.0 in Docker)")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes")
    worker_healthcheck_seconds: int = Field(
        default=60, ge=1, le=3600, description="with several workers, how long one may leave uvicorn's health "
        "check unanswered before it is restarted (importing torch and loading the model hold a worker for "
        "seconds on small machines; uvicorn's own 5 s restarts them in a loop there)")
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- storage -----------------------------------------------------------------------------
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite file under cache_dir")
    store_text: bool = Field(default=True, description="keep message texts in the database (off for privacy)")
    migrate_on_start: bool = Field(default=True, description="run `alembic upgrade head` when the app starts")

    # --- API limits and authentication -------------------------------------------------------
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="accepted X-API-Key values (comma-separated or JSON list)")
    auth_disabled: bool = Field(default=False, description="serve /v1/classify and /v1/messages without API keys")
    max_text_chars: int = Field(default=HARD_MAX_TEXT_CHARS, ge=1, le=HARD_MAX_TEXT_CHARS)
    max_batch_items: int = Field(default=256, ge=1, le=HARD_MAX_BATCH_ITEMS)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="larger request bodies get a 413")

    # --- micro-batching ----------------------------------------------------------------------
    microbatch_enabled: bool = Field(default=True, description="merge concurrent requests into one forward pass")
    microbatch_max_size: int = Field(default=64, ge=1, le=4096, description="messages per merged batch")
    microbatch_max_tokens: int = Field(default=4096, ge=1, le=1_000_000,
                                       description="tokens per merged batch (a request over it runs alone)")
    #: 0: a batch takes what queued while the previous one ran and never waits (a lone request goes
    #: straight to the model; under load batches still fill during each forward pass)
    microbatch_max_wait_ms: float = Field(default=0.0, ge=0, le=1000, description="wait for more messages")
    microbatch_queue_size: int = Field(default=2048, ge=1, description="messages waiting; beyond it: 503")
    retry_after_seconds: int = Field(default=1, ge=1, le=3600, description="Retry-After of a 503")

    # --- batch re-labelling (`ticketguard relabel`) ----------------------------------------
    relabel_chunk_rows: int = Field(default=2048, ge=1, le=1_000_000,
                                    description="rows per committed chunk (checkpoint granularity)")
    relabel_workers: int | None = Field(default=None, ge=1, le=256,
                                        description="worker processes / Ray actors; default: one per 4 cores, at least 1")

    # --- webhooks ----------------------------------------------------------------------------
    zendesk_webhook_secret: SecretStr | None = Field(default=None, description="Zendesk webhook signing secret")
    intercom_client_secret: SecretStr | None = Field(default=None, description="Intercom app client secret")
    front_app_secret: SecretStr | None = Field(default=None, description="Front app signing secret")
    freshdesk_shared_secret: SecretStr | None = Field(default=None, description="value of the Freshdesk header")
    freshdesk_secret_header: str = Field(default="X-TicketGuard-Secret", pattern=r"^[A-Za-z0-9-]{1,64}$")
    generic_webhook_secret: SecretStr | None = Field(default=None, description="secret of /v1/webhooks/generic")
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=86_400, description="replay window")
    explain_webhooks: bool = Field(default=False, description="store with each webhook result the spans that raised "
                                                              "its label and flags (about 10x the inference cost)")

    # --- inbox and write-back -------------------------------------------------------------------
    inbox_worker_enabled: bool = Field(default=True, description="classify stored webhook messages in this replica")
    outbox_worker_enabled: bool = Field(default=True, description="send write-backs from this replica")
    inbox_batch: int = Field(default=64, ge=1, le=1024, description="inbox rows classified per worker step")
    inbox_poll_seconds: float = Field(default=1.0, gt=0, le=60,
                                      description="how often the worker looks for rows other replicas stored")
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60, description="how often the outbox worker looks for "
                                       "write-backs that fell due or that other replicas queued")
    inbox_max_pending: int = Field(default=100_000, ge=1, description="unclassified rows beyond which deliveries "
                                                                      "are refused (503, or 429 for Intercom)")
    webhook_max_wait_seconds: float = Field(default=10.0, ge=0, le=30, description="ceiling of the generic ?wait=")
    zendesk_writeback: ZendeskWriteback | None = Field(default=None, description="JSON; unset: no write-back")
    intercom_writeback: IntercomWriteback | None = Field(default=None, description="JSON; unset: no write-back")
    freshdesk_writeback: FreshdeskWriteback | None = Field(default=None, description="JSON; unset: no write-back")
    front_writeback: FrontWriteback | None = Field(default=None, description="JSON; unset: no write-back")
    outbox_max_attempts: int = Field(default=8, ge=1, le=100, description="tries before a write is dead-lettered")
    outbox_backoff_seconds: float = Field(default=2.0, gt=0, le=3600, description="first retry delay (doubles)")
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0, le=86_400)
    outbox_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="per helpdesk API request")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _real_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for i, key in enumerate(value):
            _check_secret(f"api_keys[{i}]", key.get_secret_value())
        return value

    @field_validator("zendesk_webhook_secret", "intercom_client_secret", "front_app_secret",
                     "freshdesk_shared_secret", "generic_webhook_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr | None, info: Any) -> SecretStr | None:
        if value is not None:
            _check_secret(info.field_name, value.get_secret_value())
        return value

    def evaluation_dirs(self) -> tuple[Path, ...]:
        """The evaluation-only splits (never trained, selected or calibrated on), in the order they are reported."""
        return self.challenge_dir, self.public_dir, self.registers_dir

    @model_validator(mode="after")
    def _derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.cache_dir / 'ticketguard.db'}"
        if self.max_batch_items > self.microbatch_queue_size:
            raise ValueError(f"microbatch_queue_size ({self.microbatch_queue_size}) must hold at least one full "
                             f"batch request (max_batch_items={self.max_batch_items})")
        return self

    @property
    def default_model_dir(self) -> Path:
        return self.cache_dir / "models" / "default"

    @property
    def resolved_model_path(self) -> Path:
        return self.model_path or self.default_model_dir

    def environment(self, *names: str) -> dict[str, str]:
        """These settings as the environment variables that set them, for processes started fresh (which
        build their settings from the environment).

        Example:
            >>> Settings(_env_file=None, migrate_on_start=False).environment("migrate_on_start")
            {'TICKETGUARD_MIGRATE_ON_START': 'false'}
        """
        prefix = self.model_config.get("env_prefix", "")
        values = self.model_dump(include=set(names), mode="json")
        return {f"{prefix}{name.upper()}": json.dumps(value) if isinstance(value, bool) else str(value)
                for name, value in values.items()}


@lru_cache
def get_settings() -> Settings:
    return Settings()
