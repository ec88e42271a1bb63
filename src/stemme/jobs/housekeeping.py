"""Housekeeping a running worker does now and then: the retention rules of every domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from stemme.channels.ratelimit import RateBucket, idle_buckets
from stemme.config import Settings
from stemme.identity.models import User, WebSession
from stemme.identity.service import disabled_accounts, expired_sessions
from stemme.inbox.retention import inbox_rules
from stemme.privacy.retention import RetentionRule, delete_rows, enforce


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Every retention rule stemme enforces, with the periods of ``settings``."""
    sessions = RetentionRule(
        "web_sessions",
        "Innlogginger slettes når de er utløpt",
        expired_sessions,
        delete_rows(WebSession.id),
    )
    users = RetentionRule(
        "users",
        "Deaktiverte brukere slettes 12 måneder etter deaktiveringen",
        disabled_accounts,
        delete_rows(User.id),
    )
    buckets = RetentionRule(
        "rate_buckets",
        "Tellere for fartsgrenser slettes etter en time uten bruk",
        idle_buckets,
        delete_rows(RateBucket.key),
    )
    return [*inbox_rules(settings), sessions, users, buckets]


def enforce_retention(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
) -> dict[str, int]:
    """Apply every retention rule now (or count what is due, if ``dry_run``)."""
    return enforce(sessions, retention_rules(settings), now, dry_run=dry_run)
