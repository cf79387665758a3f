"""One typed settings object for the whole process (env prefix ``JINLIN_``, ``.env`` supported).

The defaults give the embedded shape (SQLite file under ``var/``, in-process bus and worker, media on local disk),
so ``make run`` needs no configuration. Production refuses to start with the placeholder secret.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-only-placeholder-secret-change-me-0123456789"

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JINLIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = "development"
    secret_key: str = PLACEHOLDER_SECRET

    database_url: str = "sqlite://var/jinlin.sqlite3"
    db_pool_size: int = Field(default=20, ge=1, le=500)
    # How many heavy one-statement writes (a report filed, an order placed, a ledger post) each API process
    # sends to PostgreSQL at once; the rest wait their turn in the process (docs/adr/0029). Unset: half the
    # pool. 0: no limit.
    db_write_slots: int | None = Field(default=None, ge=0, le=500)
    redis_url: str | None = None
    media_dir: Path = Path("var/media")
    h5_dir: Path | None = Path("miniapp/dist/build/h5")

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)  # comma-separated in env
    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON lines except in development (readable text there)
    metrics_enabled: bool = True
    # FastAPI's built-in OpenTelemetry hooks (traces, metrics, logs to a configured OTel provider). Off by
    # default: Jinlin exports Prometheus metrics, and the hooks cost a few microseconds on every request.
    opentelemetry: bool = False

    jwt_issuer: str = "jinlin"
    jwt_audience: str = "jinlin-app"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=60)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    # How long an API process remembers a session's user and grants (backend/auth/principals.py); 0: never.
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # The cyclic garbage collector's first-generation threshold in API and worker processes (CPython's
    # default is 700): a request allocates a few thousand objects that reference counting frees, and at 700
    # the collector ran every few requests, ~7 % of a write's CPU (docs/adr/0031). 0: CPython's default.
    gc_threshold: int = Field(default=10_000, ge=0, le=1_000_000)

    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)

    wechat_appid: str = "wx-dev-appid"
    wechat_secret: str = "wx-dev-secret"
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_seconds: float = 5.0

    # Outbox worker. In the embedded shape the same loop runs inside the API process.
    worker_in_process: bool | None = None  # None: on when there is no Redis (embedded shape)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    outbox_batch_size: int = Field(default=20, ge=1)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_base_seconds: float = Field(default=2.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)

    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lock_seconds: int = Field(default=60, ge=1)

    # Notifications (docs/notifications.md). WeChat subscribe-message templates per notification kind, JSON in
    # JINLIN_WECHAT_TEMPLATES: {"<kind>": {"template_id": "…", "data": {"thing1": "{title:.20}", "time2": "{time}"}}}
    wechat_templates: dict[str, dict] = Field(default_factory=dict)
    wechat_miniprogram_state: Literal["developer", "trial", "formal"] = "formal"
    ws_ping_seconds: float = Field(default=25.0, gt=0)  # server heartbeat on /api/v1/ws
    ws_dead_after_seconds: float = Field(default=60.0, gt=0)  # close a socket silent for this long
    ws_max_sockets_per_user: int = Field(default=5, ge=1)  # the mini-program's limit, across API processes

    # 爱心超市 and 服务快递站 (docs/delivery.md)
    task_offer_wave_seconds: int = Field(default=180, ge=1)  # how long each wave of offers waits for an accept
    task_due_minutes: int = Field(default=240, ge=10)  # a task not confirmed by then is shown as late
    volunteer_max_active_tasks: int = Field(default=3, ge=1)  # tasks one volunteer may hold at once
    volunteer_id_key: str | None = None  # key material for ID numbers at rest; derived from secret_key when unset

    # 入户走访 (docs/visits.md). A community's saved policy overrides the fence; these are the defaults.
    visits_fence_m: int = Field(default=150, ge=20, le=5000)  # check-in farther from the building: flagged
    visits_clock_skew_seconds: int = Field(default=300, ge=30)  # phone clock off by more than this: flagged
    visits_late_sync_hours: int = Field(default=72, ge=1)  # synced this long after the visit: flagged

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "development":
            return self
        if self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key.encode()) < 32:
            raise ValueError(
                "JINLIN_SECRET_KEY is unset or too short (needs at least 32 bytes) outside development. "
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))' "
                "and export JINLIN_SECRET_KEY=<that value> (or put it in .env)."
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env != "development"

    @property
    def wechat_configured(self) -> bool:
        """False while the app id and secret are the development placeholders: WeChat calls are then refused."""
        return self.wechat_appid != "wx-dev-appid" and self.wechat_secret != "wx-dev-secret"

    @property
    def run_worker_in_process(self) -> bool:
        if self.worker_in_process is not None:
            return self.worker_in_process
        return self.redis_url is None

    @property
    def write_slots(self) -> int | None:
        """Heavy writes in flight per API process on PostgreSQL (None: no limit)."""
        if self.db_write_slots is not None:
            return self.db_write_slots or None
        return max(1, self.db_pool_size // 2)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
