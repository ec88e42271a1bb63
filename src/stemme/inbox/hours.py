"""Opening hours of each district's online patrol, in Norwegian local time.

A district without a schedule is always open (no automatic out-of-hours answer). A schedule
maps weekday (0 = Monday) to ``["HH:MM", "HH:MM"]``; a day that is missing is closed, and a
closing time before the opening time runs past midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme import geo
from stemme.errors import InvalidInputError
from stemme.identity.access import Permission, Principal
from stemme.inbox.models import DistrictHours

OSLO = ZoneInfo("Europe/Oslo")
DAY_NAMES: dict[str, tuple[str, ...]] = {
    "nb": ("man.", "tir.", "ons.", "tor.", "fre.", "lør.", "søn."),
    "nn": ("må.", "ty.", "on.", "to.", "fr.", "la.", "su."),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "da": ("man.", "tir.", "ons.", "tor.", "fre.", "lør.", "søn."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


@dataclass(frozen=True, slots=True)
class Schedule:
    days: dict[int, tuple[time, time]]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(OSLO)
        today = self.days.get(local.weekday())
        if today is not None and _within(today, local.time()):
            return True
        yesterday = self.days.get((local.weekday() - 1) % 7)
        # yesterday's opening that runs past midnight
        return yesterday is not None and yesterday[1] < yesterday[0] and local.time() < yesterday[1]

    def describe(self, lang: str | None) -> str:
        """E.g. "man.–fre. 08:00–22:00, lør. 10:00–18:00" (runs of equal days joined)."""
        names = DAY_NAMES.get(lang or "nb", DAY_NAMES["nb"])
        parts: list[str] = []
        day = 0
        while day < 7:
            span = self.days.get(day)
            if span is None:
                day += 1
                continue
            last = day
            while last + 1 < 7 and self.days.get(last + 1) == span:
                last += 1
            label = names[day] if last == day else f"{names[day]}–{names[last]}"
            parts.append(f"{label} {span[0]:%H:%M}–{span[1]:%H:%M}")
            day = last + 1
        return ", ".join(parts)


def _within(span: tuple[time, time], now: time) -> bool:
    opens, closes = span
    if opens <= closes:
        return opens <= now < closes
    return now >= opens  # until midnight; the rest is checked as "yesterday"


def parse_hours(raw: dict[str, list[str]]) -> Schedule:
    """A schedule from its stored form; a clear error for a malformed day or time."""
    days: dict[int, tuple[time, time]] = {}
    for key, span in raw.items():
        if not key.isdigit() or not 0 <= int(key) <= 6:
            raise InvalidInputError("Ukjent ukedag: %(day)s", day=key)
        if not isinstance(span, list) or len(span) != 2:
            raise InvalidInputError("Oppgi åpner og stenger for dag %(day)s.", day=key)
        try:
            opens, closes = (time.fromisoformat(value) for value in span)
        except (TypeError, ValueError):
            raise InvalidInputError("Ugyldig klokkeslett for dag %(day)s.", day=key) from None
        if opens == closes:
            raise InvalidInputError("Åpner og stenger kan ikke være likt (dag %(day)s).", day=key)
        days[int(key)] = (opens, closes)
    return Schedule(days)


def schedule_of(session: Session, district: str | None) -> Schedule | None:
    if district is None:
        return None
    row = session.get(DistrictHours, district)
    return parse_hours(row.hours) if row is not None and row.hours else None


class Schedules:
    """``schedule_of`` for many messages: every district's hours read once, when first
    needed (one query for a batch instead of one per message)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._stored: dict[str, dict[str, list[str]]] | None = None
        self._parsed: dict[str, Schedule | None] = {}

    def __call__(self, district: str | None) -> Schedule | None:
        if district is None:
            return None
        if self._stored is None:
            rows = self._session.execute(select(DistrictHours.district, DistrictHours.hours))
            self._stored = {row.district: row.hours for row in rows}
        if district not in self._parsed:
            raw = self._stored.get(district)
            self._parsed[district] = parse_hours(raw) if raw else None
        return self._parsed[district]


def set_hours(
    session: Session, principal: Principal, district: str, raw: dict[str, list[str]]
) -> Schedule:
    """Set (or, with an empty mapping, remove) the opening hours of a district."""
    principal.require(Permission.MANAGE_INBOX)
    if district not in geo.POLICE_DISTRICTS:
        raise InvalidInputError("Ukjent politidistrikt: %(district)s", district=district)
    principal.require_district(district)
    schedule = parse_hours(raw)
    row = session.get(DistrictHours, district)
    if row is None:
        row = DistrictHours(district=district, hours=raw)
        session.add(row)
    row.hours = dict(raw)
    session.flush()
    return schedule
