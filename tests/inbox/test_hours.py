"""Opening hours: parsing, open or not at a moment (past midnight, DST), the description
shown to citizens, and who may set them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from stemme.errors import InvalidInputError, PermissionDeniedError
from stemme.identity.access import Principal, Role
from stemme.identity.models import User
from stemme.inbox import hours
from stemme.inbox.hours import OSLO, Schedule, parse_hours
from stemme.inbox.models import DistrictHours
from tests.inbox import factory

WEEKDAYS = {str(day): ["08:00", "16:00"] for day in range(5)}


def _oslo(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Oslo, as the aware UTC instant the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_hours_reads_days_and_times() -> None:
    schedule = parse_hours({"0": ["08:00", "16:00"], "5": ["22:00", "02:30"]})
    assert schedule.days == {0: (time(8), time(16)), 5: (time(22), time(2, 30))}
    assert parse_hours({}).days == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"7": ["08:00", "16:00"]}, "Ukjent ukedag: 7"),
        ({"-1": ["08:00", "16:00"]}, "Ukjent ukedag: -1"),
        ({"mon": ["08:00", "16:00"]}, "Ukjent ukedag: mon"),
        ({"": ["08:00", "16:00"]}, "Ukjent ukedag: "),
        ({"0": ["08:00"]}, "Oppgi åpner og stenger for dag 0."),
        ({"0": ["08:00", "12:00", "16:00"]}, "Oppgi åpner og stenger for dag 0."),
        ({"0": "08:00-16:00"}, "Oppgi åpner og stenger for dag 0."),
        ({"1": ["8 am", "16:00"]}, "Ugyldig klokkeslett for dag 1."),
        ({"1": ["08:00", "25:00"]}, "Ugyldig klokkeslett for dag 1."),
        ({"1": [8, 16]}, "Ugyldig klokkeslett for dag 1."),
        ({"1": ["", "16:00"]}, "Ugyldig klokkeslett for dag 1."),
        ({"2": ["10:00", "10:00"]}, "Åpner og stenger kan ikke være likt (dag 2)."),
    ],
)
def test_parse_hours_errors(raw: dict[str, list[str]], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_hours(raw)
    assert str(caught.value) == message


# --- open or closed --------------------------------------------------------------------------

OFFICE = parse_hours(WEEKDAYS)
NIGHT_SHIFT = parse_hours({"4": ["20:00", "04:00"], "5": ["20:00", "04:00"]})  # Fri, Sat nights
SUNDAY_LATE = parse_hours({"6": ["18:00", "02:00"]})


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [
        # Wednesday 4 March 2026 (winter time, UTC+1)
        (OFFICE, _oslo(2026, 3, 4, 7, 59), False),
        (OFFICE, _oslo(2026, 3, 4, 8, 0), True),  # opening time is open
        (OFFICE, _oslo(2026, 3, 4, 15, 59), True),
        (OFFICE, _oslo(2026, 3, 4, 16, 0), False),  # closing time is closed
        (OFFICE, _oslo(2026, 3, 7, 12, 0), False),  # Saturday: no hours
        # summer time (UTC+2): 08:00 local is 06:00 UTC
        (OFFICE, datetime(2026, 6, 3, 6, 0, tzinfo=UTC), True),
        (OFFICE, datetime(2026, 6, 3, 5, 59, tzinfo=UTC), False),
        (OFFICE, datetime(2026, 6, 3, 14, 0, tzinfo=UTC), False),  # 16:00 local
        # a span past midnight: Friday 20:00 until Saturday 04:00
        (NIGHT_SHIFT, _oslo(2026, 3, 6, 19, 59), False),
        (NIGHT_SHIFT, _oslo(2026, 3, 6, 20, 0), True),
        (NIGHT_SHIFT, _oslo(2026, 3, 6, 23, 59), True),
        (NIGHT_SHIFT, _oslo(2026, 3, 7, 0, 0), True),  # Saturday, yesterday's span
        (NIGHT_SHIFT, _oslo(2026, 3, 7, 3, 59), True),
        (NIGHT_SHIFT, _oslo(2026, 3, 7, 4, 0), False),
        (NIGHT_SHIFT, _oslo(2026, 3, 8, 1, 0), True),  # Sunday, Saturday night's span
        (NIGHT_SHIFT, _oslo(2026, 3, 9, 1, 0), False),  # Monday: Sunday had none
        (NIGHT_SHIFT, _oslo(2026, 3, 5, 23, 0), False),  # Thursday
        # Sunday's span runs into Monday (the week wraps around)
        (SUNDAY_LATE, _oslo(2026, 3, 9, 1, 59), True),
        (SUNDAY_LATE, _oslo(2026, 3, 9, 2, 0), False),
        # DST starts Sunday 29 March 2026 at 02:00 (→ 03:00): 01:30 UTC is 03:30 local
        (SUNDAY_LATE, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), False),  # 01:30 local
        (NIGHT_SHIFT, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), True),  # Sat night, 01:30
        (NIGHT_SHIFT, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), True),  # 03:30 CEST
        (NIGHT_SHIFT, datetime(2026, 3, 29, 2, 0, tzinfo=UTC), False),  # 04:00 CEST
        # DST ends Sunday 25 October 2026 at 03:00 (→ 02:00): 02:30 local happens twice
        (NIGHT_SHIFT, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True),  # 02:30 CEST
        (NIGHT_SHIFT, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), True),  # 02:30 CET
        (NIGHT_SHIFT, datetime(2026, 10, 25, 2, 59, tzinfo=UTC), True),  # 03:59 CET
        (NIGHT_SHIFT, datetime(2026, 10, 25, 3, 0, tzinfo=UTC), False),  # 04:00 CET
        (OFFICE, datetime(2026, 10, 26, 7, 0, tzinfo=UTC), True),  # Monday 08:00 CET
        (OFFICE, datetime(2026, 10, 26, 6, 30, tzinfo=UTC), False),  # Monday 07:30 CET
    ],
)
def test_is_open(schedule: Schedule, at: datetime, expected: bool) -> None:
    assert schedule.is_open(at) is expected


def test_is_open_accepts_any_time_zone() -> None:
    oslo_noon = datetime(2026, 3, 4, 12, 0, tzinfo=OSLO)
    assert OFFICE.is_open(oslo_noon)
    elsewhere = oslo_noon.astimezone(timezone(timedelta(hours=-5)))
    assert elsewhere.hour == 6
    assert OFFICE.is_open(elsewhere)


# --- description -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        (WEEKDAYS, "nb", "man.–fre. 08:00–16:00"),
        (WEEKDAYS, None, "man.–fre. 08:00–16:00"),
        (WEEKDAYS, "xx", "man.–fre. 08:00–16:00"),
        (WEEKDAYS, "en", "Mon–Fri 08:00–16:00"),
        (
            {**WEEKDAYS, "5": ["10:00", "14:00"], "6": ["10:00", "14:00"]},
            "nb",
            "man.–fre. 08:00–16:00, lør.–søn. 10:00–14:00",
        ),
        (
            {"0": ["08:00", "16:00"], "1": ["08:00", "16:00"], "2": ["09:00", "16:00"]},
            "en",
            "Mon–Tue 08:00–16:00, Wed 09:00–16:00",
        ),
        (
            # equal hours with a gap in between are two runs
            {"0": ["08:00", "16:00"], "2": ["08:00", "16:00"], "3": ["08:00", "16:00"]},
            "nb",
            "man. 08:00–16:00, ons.–tor. 08:00–16:00",
        ),
        ({"6": ["18:00", "02:00"]}, "en", "Sun 18:00–02:00"),
        ({"6": ["18:00", "02:00"]}, "nn", "su. 18:00–02:00"),
        ({"4": ["20:00", "04:00"]}, "sv", "fre 20:00–04:00"),
        ({str(d): ["00:00", "23:59"] for d in range(7)}, "da", "man.–søn. 00:00–23:59"),
        ({}, "nb", ""),
    ],
)
def test_describe_joins_runs_of_equal_days(
    raw: dict[str, list[str]], lang: str | None, expected: str
) -> None:
    assert parse_hours(raw).describe(lang) == expected


# --- stored schedules and who may set them -----------------------------------------------------


def test_schedule_of_a_district(db: Session) -> None:
    assert hours.schedule_of(db, "Oslo") is None  # none stored: always open
    assert hours.schedule_of(db, None) is None
    db.add(DistrictHours(district="Oslo", hours=WEEKDAYS))
    db.add(DistrictHours(district="Vest", hours={}))
    db.flush()
    schedule = hours.schedule_of(db, "Oslo")
    assert schedule is not None
    assert schedule.describe("nb") == "man.–fre. 08:00–16:00"
    assert hours.schedule_of(db, "Vest") is None


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_admins_and_leaders_set_hours_of_their_district(
    db: Session, make_user: Callable[..., User], role: str
) -> None:
    me = factory.principal(make_user(role, ["Oslo"]))
    schedule = hours.set_hours(db, me, "Oslo", WEEKDAYS)
    assert schedule.days[0] == (time(8), time(16))
    db.commit()
    stored = db.get(DistrictHours, "Oslo")
    assert stored is not None
    assert stored.hours == WEEKDAYS
    # set again: replaced, not added
    hours.set_hours(db, me, "Oslo", {"6": ["10:00", "12:00"]})
    db.commit()
    db.expire_all()
    stored = db.get(DistrictHours, "Oslo")
    assert stored is not None
    assert stored.hours == {"6": ["10:00", "12:00"]}
    # an empty mapping removes the schedule: always open again
    hours.set_hours(db, me, "Oslo", {})
    db.commit()
    assert hours.schedule_of(db, "Oslo") is None


@pytest.mark.parametrize("role", ["operator", "analyst", "initiative_owner"])
def test_other_roles_may_not_set_hours(
    db: Session, make_user: Callable[..., User], role: str
) -> None:
    me = factory.principal(make_user(role, ["Oslo"]))
    with pytest.raises(PermissionDeniedError):
        hours.set_hours(db, me, "Oslo", WEEKDAYS)
    assert db.get(DistrictHours, "Oslo") is None


def test_a_leader_may_not_set_hours_of_another_district(
    db: Session, make_user: Callable[..., User]
) -> None:
    me = factory.principal(make_user("leader", ["Oslo"]))
    with pytest.raises(PermissionDeniedError, match="politidistriktet"):
        hours.set_hours(db, me, "Vest", WEEKDAYS)
    assert db.get(DistrictHours, "Vest") is None
    national = Principal(None, "national", Role.LEADER, None)
    hours.set_hours(db, national, "Vest", WEEKDAYS)
    assert db.get(DistrictHours, "Vest") is not None


def test_set_hours_refuses_an_unknown_district_and_a_bad_schedule(
    db: Session, make_user: Callable[..., User]
) -> None:
    me = factory.principal(make_user("admin"))
    with pytest.raises(InvalidInputError, match="Ukjent politidistrikt"):
        hours.set_hours(db, me, "Atlantis", WEEKDAYS)
    with pytest.raises(InvalidInputError, match="Ukjent ukedag"):
        hours.set_hours(db, me, "Oslo", {"9": ["08:00", "16:00"]})
    assert db.get(DistrictHours, "Oslo") is None
