"""Settings: one object, read from the environment (``STEMME_`` prefix) and an optional ``.env``."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from stemme.errors import ConfigurationError

DEFAULT_DATABASE_FILE = Path("stemme.sqlite3")
SUPPORTED_DRIVERS = ("sqlite", "postgresql+psycopg")


class Settings(BaseSettings):
    """Everything configurable. Nothing else in stemme reads ``os.environ``."""

    model_config = SettingsConfigDict(env_prefix="STEMME_", env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_DATABASE_FILE}")
    secret_key: str = Field(
        default_factory=lambda: secrets.token_urlsafe(32),
        description="Signs CSRF tokens; set it in production so restarts keep forms valid.",
    )
    environment: Literal["development", "production", "test"] = "production"
    cookie_secure: bool = True
    session_hours: float = 8.0
    session_idle_minutes: float = 60.0
    login_max_failures: int = 5
    login_lockout_minutes: float = 15.0
    log_level: str = "INFO"
    default_language: Literal["nb", "nn", "en"] = "nb"
    trusted_proxies: str = "127.0.0.1"
    min_group_size: int = 5
    public_base_url: str = "http://127.0.0.1:8000"
    meta_app_secret: str = Field(default="", description="Signs Meta webhook deliveries")
    meta_verify_token: str = Field(default="", description="Meta webhook verification token")
    meta_graph_url: str = Field(
        default="https://graph.facebook.com/v21.0",
        description="Graph API base including its version (a local fake in tests)",
    )
    meta_page_tokens: dict[str, str] = Field(
        default_factory=dict, description="JSON object: page id -> page access token"
    )
    meta_page_districts: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object: page id -> the police district that runs the page",
    )
    bridge_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Webhook bridge: JSON object source name -> HMAC secret (e.g. discord)",
    )
    bridge_callbacks: dict[str, str] = Field(
        default_factory=dict,
        description="Webhook bridge: JSON object source name -> URL that receives replies",
    )
    email_address: str = Field(
        default="", description="The inbox's own e-mail address (From of replies)"
    )
    smtp_url: str = Field(
        default="",
        description="Outbound mail: smtp://[user:password@]host:port (smtps:// for TLS,"
        " ?starttls=1 to upgrade)",
    )
    email_listen: str = Field(
        default="",
        description="Inbound mail: host:port where `stemme serve` runs an LMTP/SMTP listener",
    )
    email_webhook_secret: str = Field(
        default="", description="HMAC secret of the inbound e-mail webhook (a mail relay)"
    )
    webchat_messages_per_minute: int = Field(
        default=20, description="Web chat: messages per minute per client before 429"
    )
    webchat_embed_origins: list[str] = Field(
        default_factory=list,
        description="Web chat: origins (https://www.example.no) whose pages may embed the chat"
        " widget's iframe (JSON list); empty: only stemme's own pages",
    )
    first_response_minutes: dict[str, int] = Field(
        default_factory=lambda: {
            "messenger": 60,
            "instagram": 60,
            "webchat": 15,
            "email": 24 * 60,
            "default": 60,
        },
        description="SLA: first-response target in minutes per channel (JSON object)",
    )
    retention_original_days: int = Field(
        default=90,
        ge=1,
        description="Retention: originals (encrypted) of a conversation's messages are deleted"
        " this many days after it closed",
    )
    retention_conversation_days: int = Field(
        default=365,
        ge=1,
        description="Retention: a closed conversation (redacted text, labels, notes) is deleted"
        " this many days after it closed",
    )
    retention_feedback_days: int = Field(
        default=730,
        ge=1,
        description="Retention: citizens' feedback is deleted after this many days",
    )
    retention_webchat_hours: int = Field(
        default=24,
        ge=1,
        description="Retention: an anonymous web chat session is deleted this many hours after"
        " its last use",
    )
    encryption_keys: str = Field(
        default="",
        description="Keys for originals at rest: id:base64key pairs, newest first (rotation).",
    )
    run_jobs_in_process: bool = Field(
        default=True,
        description="Analyse received messages in a thread of the web process (one per"
        " SQLite database); turn off when `stemme worker` processes run instead.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        parse_database_url(value)
        return value

    @cached_property
    def url(self) -> URL:
        return parse_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def parse_database_url(value: str) -> URL:
    """Parse and check a database URL, with a one-line reason when it is unusable."""
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ConfigurationError(
            "Ugyldig database-URL (STEMME_DATABASE_URL): %(reason)s", reason=str(exc)
        ) from exc
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigurationError(
            "Databasen %(driver)s støttes ikke; bruk sqlite:///fil eller postgresql+psycopg://…",
            driver=url.drivername,
        )
    if url.drivername == "postgresql+psycopg" and not (url.database or url.query.get("dbname")):
        raise ConfigurationError(
            "Database-URL-en mangler databasenavn: %(url)s",
            url=url.render_as_string(hide_password=True),
        )
    return url


def load_settings(**overrides: object) -> Settings:
    """Read settings; a malformed value becomes a ConfigurationError with one line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConfigurationError):
            raise cause from exc
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(
            "Ugyldig innstilling STEMME_%(field)s: %(reason)s",
            field=field.upper(),
            reason=first["msg"],
        ) from exc
