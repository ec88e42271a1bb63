"""Intake journal rows that are stuck: list them and release them for a new try.

A row is stuck when the worker gave it up (``MAX_FILING_ATTEMPTS`` failed attempts) or when
it has waited longer than ``STUCK_AFTER`` (the worker is not running, or keeps failing). The
listing reads no ciphertext and decrypts nothing: number, channel, arrival, attempts, the
last error's type name and the next attempt. Releasing a row sets its attempts back to 0 and
makes it due at once; the worker files it on its next look. Used by ``stemme journal`` and
the administrators' page ``/admin/inbox``; a release is audited.

Rows are scoped by the district of the page they came to (``channel_district``): a leader of
Oslo sees Oslo's rows; rows of national pages only national administrators see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, case, func, or_, select, update
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.errors import NotFoundError
from stemme.identity import audit
from stemme.identity.access import Permission, Principal
from stemme.inbox.journal import GIVEN_UP, MAX_FILING_ATTEMPTS
from stemme.inbox.models import InboundDelivery

STUCK_AFTER = timedelta(minutes=5)  # the backoff of all attempts spans about three minutes

_JOURNAL = cast(Table, InboundDelivery.__table__)


@dataclass(frozen=True, slots=True)
class StuckDelivery:
    """A journal row as an administrator sees it (nothing of the message itself)."""

    id: int
    channel: str
    received_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None

    @property
    def given_up(self) -> bool:
        return self.attempts >= MAX_FILING_ATTEMPTS


@dataclass(frozen=True, slots=True)
class StuckSummary:
    count: int  # stuck rows
    given_up: int  # of them given up (what "retry all" releases)
    oldest_received_at: datetime | None


def _stuck(principal: Principal, now: datetime) -> ColumnElement[bool]:
    principal.require(Permission.MANAGE_INBOX)
    return or_(GIVEN_UP, _JOURNAL.c.received_at < now - STUCK_AFTER) & principal.scope_filter(
        _JOURNAL.c.channel_district
    )


def list_stuck(
    session: Session, principal: Principal, *, now: datetime | None = None, limit: int = 100
) -> list[StuckDelivery]:
    """The stuck rows in order of arrival, at most ``limit``."""
    where = _stuck(principal, now or utcnow())
    query = (
        select(
            _JOURNAL.c.id,
            _JOURNAL.c.channel,
            _JOURNAL.c.received_at,
            _JOURNAL.c.attempts,
            _JOURNAL.c.last_error,
            _JOURNAL.c.next_attempt_at,
        )
        .where(where)
        .order_by(_JOURNAL.c.id)
        .limit(limit)
    )
    return [StuckDelivery(*row) for row in session.execute(query)]


def stuck_summary(
    session: Session, principal: Principal, *, now: datetime | None = None
) -> StuckSummary:
    """How many rows are stuck, how many of them were given up, when the oldest came."""
    where = _stuck(principal, now or utcnow())
    query = select(
        func.count(),
        func.coalesce(func.sum(case((GIVEN_UP, 1), else_=0)), 0),
        func.min(_JOURNAL.c.received_at),
    ).where(where)
    count, given_up, oldest = session.execute(query).one()
    return StuckSummary(int(count), int(given_up), oldest)


def retry_one(session: Session, principal: Principal, row_id: int) -> None:
    """Release one journal row (given up or not) for a new try now."""
    principal.require(Permission.MANAGE_INBOX)
    row = session.execute(
        select(_JOURNAL.c.channel_district).where(_JOURNAL.c.id == row_id)
    ).first()
    if row is None:
        raise NotFoundError("Fant ingen melding nr. %(id)s i mottaksjournalen.", id=row_id)
    district: str | None = row.channel_district
    principal.require_district(district)
    _release(session, _JOURNAL.c.id == row_id)
    audit.record(session, principal, "journal.retry", "inbound_delivery", row_id, district=district)


def retry_given_up(session: Session, principal: Principal) -> int:
    """Release every given-up row in the principal's scope; how many were released."""
    principal.require(Permission.MANAGE_INBOX)
    released = _release(session, GIVEN_UP & principal.scope_filter(_JOURNAL.c.channel_district))
    audit.record(
        session,
        principal,
        "journal.retry_given_up",
        "inbound_delivery",
        "given_up",
        details={"released": released},
    )
    return released


def _release(session: Session, where: ColumnElement[bool]) -> int:
    result = session.execute(
        update(_JOURNAL).where(where).values(attempts=0, next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
