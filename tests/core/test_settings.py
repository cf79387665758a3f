"""Settings: the embedded shape by default; a placeholder secret is refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.config import PLACEHOLDER_SECRET, Settings


def test_defaults_give_the_embedded_shape(monkeypatch):
    for key in ("JINLIN_DATABASE_URL", "JINLIN_REDIS_URL", "JINLIN_ENV", "JINLIN_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.env == "development"
    assert settings.database_url == "sqlite://var/jinlin.sqlite3"
    assert settings.redis_url is None and settings.run_worker_in_process is True
    assert str(settings.media_dir) == "var/media"


@pytest.mark.parametrize("secret", [PLACEHOLDER_SECRET, "too-short"])
def test_production_refuses_a_placeholder_or_short_secret_and_says_how_to_fix_it(secret):
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, env="production", secret_key=secret)  # type: ignore[call-arg]
    assert "JINLIN_SECRET_KEY" in str(info.value) and "secrets.token_urlsafe" in str(info.value)


def test_production_accepts_a_real_secret_and_redis_turns_the_in_process_worker_off():
    settings = Settings(_env_file=None, env="production", secret_key="r" * 48, redis_url="redis://h:6379/0")  # type: ignore[call-arg]
    assert settings.run_worker_in_process is False


def test_env_prefix_and_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("JINLIN_PORT=9123\nJINLIN_CORS_ORIGINS=https://a.example,https://b.example\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.port == 9123
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
