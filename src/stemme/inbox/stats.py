"""The SLA dashboard: volumes and first-response times per district and channel over time.

First response = the first operator reply (automatic answers do not count) minus the
conversation's start. Figures are operational (no personal data), computed in Python from
one narrow query, so they are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme.identity.access import Permission, Principal
from stemme.inbox.hours import OSLO
from stemme.inbox.models import Conversation

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ResponseFigures:
    """Volume and first-response minutes of one group of conversations."""

    conversations: int
    answered: int
    median_minutes: float | None
    p90_minutes: float | None
    within_target: float | None  # share answered within the channel's target
    urgent: int


@dataclass(frozen=True, slots=True)
class SlaReport:
    since: datetime
    until: datetime
    total: ResponseFigures
    by_district: dict[str, ResponseFigures]
    by_channel: dict[str, ResponseFigures]
    by_district_channel: dict[tuple[str, str], ResponseFigures]
    weekly: list[tuple[date, int, float | None, float | None]]  # week, volume, median, p90


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n)
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class _Row:
    district: str
    channel: str
    created_at: datetime
    minutes: float | None
    urgent: bool


def _figures(rows: list[_Row], targets: Mapping[str, int]) -> ResponseFigures:
    answered = [(r, r.minutes) for r in rows if r.minutes is not None]
    minutes = [m for _, m in answered]
    default = targets.get("default", 60)
    within = [r for r, m in answered if m <= targets.get(r.channel, default)]
    return ResponseFigures(
        conversations=len(rows),
        answered=len(answered),
        median_minutes=round(median(minutes), 1) if minutes else None,
        p90_minutes=round(p, 1) if (p := percentile(minutes, 0.9)) is not None else None,
        within_target=round(len(within) / len(answered), 3) if answered else None,
        urgent=sum(1 for r in rows if r.urgent),
    )


def sla_report(
    session: Session,
    principal: Principal,
    since: datetime,
    until: datetime,
    targets: Mapping[str, int],
) -> SlaReport:
    """Conversations started in [since, until) within the principal's scope."""
    principal.require(Permission.VIEW_INBOX)
    result = session.execute(
        select(
            Conversation.district,
            Conversation.channel,
            Conversation.created_at,
            Conversation.first_response_at,
            Conversation.urgent,
        ).where(
            Conversation.created_at >= since,
            Conversation.created_at < until,
            principal.scope_filter(Conversation.district),
        )
    ).all()
    rows = [
        _Row(
            district or "–",
            channel,
            created,
            (first - created).total_seconds() / 60 if first is not None else None,
            bool(urgent),
        )
        for district, channel, created, first, urgent in result
    ]
    return SlaReport(
        since=since,
        until=until,
        total=_figures(rows, targets),
        by_district=_grouped(rows, lambda r: r.district, targets),
        by_channel=_grouped(rows, lambda r: r.channel, targets),
        by_district_channel=_grouped(rows, lambda r: (r.district, r.channel), targets),
        weekly=_weekly(rows),
    )


def _grouped(
    rows: list[_Row], key: Callable[[_Row], K], targets: Mapping[str, int]
) -> dict[K, ResponseFigures]:
    groups: dict[K, list[_Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {k: _figures(groups[k], targets) for k in sorted(groups, key=str)}


def _weekly(rows: list[_Row]) -> list[tuple[date, int, float | None, float | None]]:
    weeks: dict[date, list[_Row]] = {}
    for row in rows:
        day = row.created_at.astimezone(OSLO).date()  # Norwegian weeks, not UTC ones
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(row)
    result = []
    for week, items in sorted(weeks.items()):
        minutes = [r.minutes for r in items if r.minutes is not None]
        p90 = percentile(minutes, 0.9)
        result.append(
            (
                week,
                len(items),
                round(median(minutes), 1) if minutes else None,
                round(p90, 1) if p90 is not None else None,
            )
        )
    return result
