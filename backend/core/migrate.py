"""Apply the committed migrations (Tortoise's built-in migration engine)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.api.migrate import migrate as migrate_api

from backend.config import Settings, get_settings
from backend.core.db import tortoise_config

_settings: ContextVar[Settings | None] = ContextVar("migration_settings", default=None)


def migration_settings() -> Settings:
    """The settings migrations run under (data migrations that encrypt need the key): those passed to
    ``apply_migrations``, else the environment's (``tortoise migrate`` run by hand)."""
    return _settings.get() or get_settings()


def ensure_sqlite_dir(url: object) -> None:
    if isinstance(url, str) and url.startswith("sqlite://") and ":memory:" not in url:
        path = url.removeprefix("sqlite://").split("?", 1)[0]
        Path(path).parent.mkdir(parents=True, exist_ok=True)


async def apply_migrations(
    settings: Settings,
    *,
    url: str | None = None,
    progress: Callable[[str, str, str], object] | None = None,
    target: str | None = None,
) -> None:
    """Bring the database at ``url`` (default: the settings' one) up to the newest migration, or to ``target``
    (``app.migration``, forwards or backwards)."""
    config = tortoise_config(settings, url=url)
    ensure_sqlite_dir(config["connections"]["default"])
    token = _settings.set(settings)
    try:
        async with tortoise_cli_context(config):
            await migrate_api(config=config, progress=progress, target=target)
    finally:
        _settings.reset(token)
