"""SLA figures: the nearest-rank percentile, and first-response figures per district,
channel and week from hand-built conversations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from stemme.errors import PermissionDeniedError
from stemme.identity.access import Principal, Role
from stemme.identity.models import User
from stemme.inbox import stats
from stemme.inbox.stats import ResponseFigures, percentile
from tests.inbox import factory

NATIONAL = Principal(None, "national", Role.ANALYST, None)
TARGETS = {"messenger": 60, "instagram": 60, "webchat": 15, "email": 1440, "default": 60}
SINCE = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 3, 16, tzinfo=UTC)  # two weeks later


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.9, None),
        ([7.0], 0.0, 7.0),
        ([7.0], 0.9, 7.0),
        ([7.0], 1.0, 7.0),
        # the textbook example of the nearest-rank method
        ([15, 20, 35, 40, 50], 0.05, 15),
        ([15, 20, 35, 40, 50], 0.30, 20),
        ([15, 20, 35, 40, 50], 0.40, 20),
        ([15, 20, 35, 40, 50], 0.50, 35),
        ([15, 20, 35, 40, 50], 1.00, 50),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0.25, 7),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0.50, 8),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0.75, 15),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0.90, 16),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0.91, 20),
        # unsorted input, duplicates
        ([30, 10, 20], 0.5, 20),
        ([1, 1, 1, 9], 0.75, 1),
        ([1, 1, 1, 9], 0.76, 9),
        # share 0 is the smallest value, never an index before the first
        ([4, 2, 3], 0.0, 2),
    ],
)
def test_percentile_nearest_rank(values: list[float], share: float, expected: float | None) -> None:
    assert percentile(values, share) == expected


def test_percentile_does_not_change_its_input() -> None:
    values = [3.0, 1.0, 2.0]
    percentile(values, 0.5)
    assert values == [3.0, 1.0, 2.0]


# --- the report -----------------------------------------------------------------------------


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


# (district, channel, created, minutes to first response or None, urgent)
CONVERSATIONS: list[tuple[str | None, str, datetime, float | None, bool]] = [
    ("Oslo", "webchat", _at(2, 10), 10, False),
    ("Oslo", "webchat", _at(3, 10), 20, False),
    ("Oslo", "webchat", _at(4, 10), None, True),
    ("Oslo", "messenger", _at(9, 12), 30, False),
    ("Oslo", "messenger", _at(10, 12), 90, False),
    ("Vest", "email", _at(11, 8), 120, False),
    ("Vest", "email", _at(12, 8), 2000, True),
    (None, "webchat", _at(13, 10), 5, False),
    # outside [SINCE, UNTIL)
    ("Oslo", "webchat", SINCE - timedelta(minutes=1), 5, True),
    ("Oslo", "webchat", UNTIL, 5, True),
]


@pytest.fixture
def arranged(db: Session) -> None:
    for district, channel, created, minutes, urgent in CONVERSATIONS:
        factory.conversation(
            db,
            district=district,
            channel=channel,
            created_at=created,
            last_message_at=created,
            first_response_at=created + timedelta(minutes=minutes) if minutes is not None else None,
            urgent=urgent,
            status="waiting" if minutes is not None else "new",
        )
    db.commit()


def _figures(
    conversations: int,
    answered: int,
    median: float | None,
    p90: float | None,
    within: float | None,
    urgent: int,
) -> ResponseFigures:
    return ResponseFigures(conversations, answered, median, p90, within, urgent)


def test_sla_report_totals_and_groups(db: Session, arranged: None) -> None:
    report = stats.sla_report(db, NATIONAL, SINCE, UNTIL, TARGETS)
    assert (report.since, report.until) == (SINCE, UNTIL)
    # answered: 5, 10, 20, 30, 90, 120, 2000 minutes
    assert report.total == _figures(8, 7, 30.0, 2000.0, 0.571, 2)
    assert report.by_district == {
        "Oslo": _figures(5, 4, 25.0, 90.0, 0.5, 1),
        "Vest": _figures(2, 2, 1060.0, 2000.0, 0.5, 1),
        "–": _figures(1, 1, 5.0, 5.0, 1.0, 0),  # no district
    }
    assert list(report.by_district) == ["Oslo", "Vest", "–"]
    assert report.by_channel == {
        "email": _figures(2, 2, 1060.0, 2000.0, 0.5, 1),
        "messenger": _figures(2, 2, 60.0, 90.0, 0.5, 0),
        "webchat": _figures(4, 3, 10.0, 20.0, 0.667, 1),
    }
    assert report.by_district_channel == {
        ("Oslo", "messenger"): _figures(2, 2, 60.0, 90.0, 0.5, 0),
        ("Oslo", "webchat"): _figures(3, 2, 15.0, 20.0, 0.5, 1),
        ("Vest", "email"): _figures(2, 2, 1060.0, 2000.0, 0.5, 1),
        ("–", "webchat"): _figures(1, 1, 5.0, 5.0, 1.0, 0),
    }
    assert report.weekly == [
        (date(2026, 3, 2), 3, 15.0, 20.0),
        (date(2026, 3, 9), 5, 90.0, 2000.0),
    ]


def test_sla_report_is_limited_to_the_scope(
    db: Session, make_user: Callable[..., User], arranged: None
) -> None:
    oslo = factory.principal(make_user("operator", ["Oslo"]))
    vest = factory.principal(make_user("analyst", ["Vest"]))
    report = stats.sla_report(db, oslo, SINCE, UNTIL, TARGETS)
    assert report.total == _figures(5, 4, 25.0, 90.0, 0.5, 1)
    assert list(report.by_district) == ["Oslo"]
    assert set(report.by_channel) == {"messenger", "webchat"}
    assert [volume for _, volume, _, _ in report.weekly] == [3, 2]
    assert stats.sla_report(db, vest, SINCE, UNTIL, TARGETS).total.conversations == 2


def test_sla_report_of_an_empty_period(db: Session, arranged: None) -> None:
    report = stats.sla_report(
        db, NATIONAL, UNTIL + timedelta(days=1), UNTIL + timedelta(days=8), TARGETS
    )
    assert report.total == _figures(0, 0, None, None, None, 0)
    assert (report.by_district, report.by_channel, report.by_district_channel) == ({}, {}, {})
    assert report.weekly == []


def test_unanswered_conversations_have_no_response_figures(db: Session) -> None:
    factory.conversation(db, created_at=_at(3, 9), urgent=True)
    factory.conversation(db, created_at=_at(3, 10))
    report = stats.sla_report(db, NATIONAL, SINCE, UNTIL, TARGETS)
    assert report.total == _figures(2, 0, None, None, None, 1)
    assert report.weekly == [(date(2026, 3, 2), 2, None, None)]


def test_minutes_are_rounded_and_unknown_channels_use_the_default_target(db: Session) -> None:
    start = _at(5, 9)
    factory.conversation(
        db, channel="discord", created_at=start, first_response_at=start + timedelta(seconds=100)
    )
    factory.conversation(
        db, channel="discord", created_at=start, first_response_at=start + timedelta(minutes=61)
    )
    report = stats.sla_report(db, NATIONAL, SINCE, UNTIL, TARGETS)
    # 1.67 and 61 minutes; the default target (60) applies to a channel without its own
    assert report.by_channel["discord"] == _figures(2, 2, 31.3, 61.0, 0.5, 0)
    without_default = stats.sla_report(db, NATIONAL, SINCE, UNTIL, {"webchat": 1})
    assert without_default.total.within_target == 0.5  # 60 minutes when nothing is set


def test_sla_report_needs_the_inbox(db: Session) -> None:
    owner = Principal(None, "owner", Role.INITIATIVE_OWNER, None)
    with pytest.raises(PermissionDeniedError):
        stats.sla_report(db, owner, SINCE, UNTIL, TARGETS)
