"""Settings from the environment, the .env file and keyword overrides; clear one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stemme.config import DEFAULT_DATABASE_FILE, Settings, load_settings, parse_database_url
from stemme.errors import ConfigurationError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STEMME_ variables and no .env file from the developer's machine."""
    for name in list(os.environ):
        if name.upper().startswith("STEMME_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def one_line_error(**overrides: object) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_settings(**overrides)
    message = str(info.value)
    assert message
    assert "\n" not in message
    assert message == info.value.render()
    assert info.value.status == 500
    return info.value


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{DEFAULT_DATABASE_FILE}"
    assert settings.is_sqlite
    assert settings.environment == "production"
    assert settings.cookie_secure is True
    assert settings.default_language == "nb"
    assert (settings.login_max_failures, settings.login_lockout_minutes) == (5, 15.0)
    assert (settings.session_hours, settings.session_idle_minutes) == (8.0, 60.0)
    assert settings.min_group_size == 5


def test_secret_key_is_random_unless_set() -> None:
    first, second = load_settings().secret_key, load_settings().secret_key
    assert first != second
    assert len(first) >= 32


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a url", "Ugyldig database-URL (STEMME_DATABASE_URL)"),
        ("", "Ugyldig database-URL (STEMME_DATABASE_URL)"),
        ("mysql://x/y", "Databasen mysql støttes ikke"),
        ("postgresql://localhost/stemme", "Databasen postgresql støttes ikke"),
        ("postgresql+asyncpg://localhost/stemme", "Databasen postgresql+asyncpg støttes ikke"),
        ("sqlite+aiosqlite:///x.db", "Databasen sqlite+aiosqlite støttes ikke"),
        ("postgresql+psycopg://host/", "Database-URL-en mangler databasenavn"),
        ("postgresql+psycopg://stemme@host:5432", "Database-URL-en mangler databasenavn"),
    ],
)
def test_malformed_database_url(value: str, message: str) -> None:
    error = one_line_error(database_url=value)
    assert str(error).startswith(message)


@pytest.mark.parametrize("value", ["not a url", "mysql://x/y", "postgresql+psycopg://host/"])
def test_malformed_database_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STEMME_DATABASE_URL", value)
    one_line_error()


def test_error_about_a_url_does_not_reveal_its_password() -> None:
    error = one_line_error(database_url="postgresql+psycopg://stemme:hemmelig-passord@db:5432/")
    assert "hemmelig-passord" not in str(error)


@pytest.mark.parametrize(
    "value",
    [
        "sqlite:///stemme.sqlite3",
        "sqlite:////var/lib/stemme/stemme.sqlite3",
        "sqlite://",
        "postgresql+psycopg://stemme:pw@localhost:5432/stemme",
        "postgresql+psycopg:///stemme?host=/run/postgresql",
        "postgresql+psycopg://stemme@/?dbname=stemme&host=/tmp",
    ],
)
def test_valid_database_urls(value: str) -> None:
    settings = load_settings(database_url=value)
    assert settings.url == parse_database_url(value)
    assert settings.is_sqlite == value.startswith("sqlite")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("login_max_failures", "many", "STEMME_LOGIN_MAX_FAILURES"),
        ("min_group_size", "5.5", "STEMME_MIN_GROUP_SIZE"),
        ("session_hours", "a while", "STEMME_SESSION_HOURS"),
        ("cookie_secure", "maybe", "STEMME_COOKIE_SECURE"),
        ("environment", "staging", "STEMME_ENVIRONMENT"),
        ("default_language", "de", "STEMME_DEFAULT_LANGUAGE"),
    ],
)
def test_bad_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(f"STEMME_{name.upper()}", value)
    error = one_line_error()
    assert str(error).startswith(f"Ugyldig innstilling {field}: ")
    assert error.message == "Ugyldig innstilling STEMME_%(field)s: %(reason)s"


def test_bad_override() -> None:
    error = one_line_error(login_max_failures="many")
    assert "STEMME_LOGIN_MAX_FAILURES" in str(error)


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    monkeypatch.setenv("STEMME_DATABASE_URL", url)
    monkeypatch.setenv("STEMME_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("STEMME_COOKIE_SECURE", "false")
    monkeypatch.setenv("STEMME_ENVIRONMENT", "development")
    monkeypatch.setenv("STEMME_SESSION_IDLE_MINUTES", "12.5")
    monkeypatch.setenv("STEMME_DEFAULT_LANGUAGE", "nn")
    monkeypatch.setenv("STEMME_SECRET_KEY", "fast-hemmelighet")
    settings = load_settings()
    assert settings.database_url == url
    assert settings.url.database == str(tmp_path / "env.sqlite3")
    assert settings.login_max_failures == 7
    assert settings.cookie_secure is False
    assert settings.environment == "development"
    assert settings.session_idle_minutes == 12.5
    assert settings.default_language == "nn"
    assert settings.secret_key == "fast-hemmelighet"


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://x/y")
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "99")
    settings = load_settings()
    assert settings.is_sqlite
    assert settings.login_max_failures == 5


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEMME_LOGIN_MAX_FAILURES", "7")
    assert load_settings(login_max_failures=3).login_max_failures == 3


def test_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "STEMME_LOGIN_MAX_FAILURES=9\nSTEMME_DEFAULT_LANGUAGE=en\nUNRELATED=1\n", encoding="utf-8"
    )
    settings = load_settings()
    assert (settings.login_max_failures, settings.default_language) == (9, "en")
    monkeypatch.setenv("STEMME_LOGIN_MAX_FAILURES", "4")
    assert load_settings().login_max_failures == 4  # the environment wins over .env


def test_settings_class_also_checks_the_url() -> None:
    with pytest.raises(ConfigurationError):
        Settings(database_url="mysql://x/y")
