"""Housekeeping a running worker does now and then: the retention rules of every domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from stemme.channels.ratelimit import RateBucket, idle_buckets
from stemme.config import Settings
from stemme.identity.models import User, WebSession
from stemme.identity.service import disabled_accounts, expired_sessions
from stemme.inbox.retention import inbox_rules
from stemme.privacy.retention import RetentionRule, enforce


def _delete_sessions(session: Session, ids: Any) -> None:
    session.execute(delete(WebSession).where(WebSession.id.in_(ids)))


def _delete_users(session: Session, ids: Any) -> None:
    session.execute(delete(User).where(User.id.in_(ids)))


def _delete_buckets(session: Session, keys: Any) -> None:
    session.execute(delete(RateBucket).where(RateBucket.key.in_(keys)))


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Every retention rule stemme enforces, with the periods of ``settings``."""
    sessions = RetentionRule(
        "web_sessions", "Innlogginger slettes når de er utløpt", expired_sessions, _delete_sessions
    )
    users = RetentionRule(
        "users",
        "Deaktiverte brukere slettes 12 måneder etter deaktiveringen",
        disabled_accounts,
        _delete_users,
    )
    buckets = RetentionRule(
        "rate_buckets",
        "Tellere for fartsgrenser slettes etter en time uten bruk",
        idle_buckets,
        _delete_buckets,
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
