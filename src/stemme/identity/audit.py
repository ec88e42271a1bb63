"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so changing or
removing any entry breaks every hash after it. Appends serialise on the single
``audit_head`` row, which both SQLite and PostgreSQL lock on update.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.identity.access import Permission, Principal
from stemme.identity.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
PAGE_SIZE = 50


def record(
    session: Session,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    district: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. ``details`` must never hold personal data (ids, not names)."""
    head = _lock_head(session)
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=utcnow(),
        actor_user_id=actor.user_id if actor else None,
        actor=actor.label if actor else "anonymous",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        district=district,
        details=details or {},
        prev_hash=head.hash,
    )
    event.hash = entry_hash(event)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=event.hash))
    session.flush()
    return event


def record_read(
    session: Session, actor: Principal, object_type: str, object_id: str | int, district: str | None
) -> AuditEvent:
    """Audit a read of personal data (later capabilities call this on every such read)."""
    return record(session, actor, "personal_data.read", object_type, object_id, district=district)


def _lock_head(session: Session) -> AuditHead:
    """Advance the head's seq (taking the write lock first), then read it back."""
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return AuditHead(id=1, seq=row.seq - 1, hash=row.hash)


def entry_hash(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq,
        "occurred_at": _iso(event.occurred_at),
        "actor_user_id": event.actor_user_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "district": event.district,
        "details": event.details,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(session: Session, actor: Principal) -> VerifyResult:
    """Recompute the whole chain; report the first entry that does not fit."""
    actor.require(Permission.VERIFY_AUDIT)
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        problem = _check_entry(event, expected_seq, expected_prev)
        if problem:
            return VerifyResult(False, checked, event.seq, problem)
        expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != checked or head.hash != expected_prev:
        return VerifyResult(False, checked, expected_seq, "tail_missing")
    return VerifyResult(True, checked)


def _check_entry(event: AuditEvent, expected_seq: int, expected_prev: str) -> str:
    if event.seq != expected_seq:
        return "gap"
    if event.prev_hash != expected_prev:
        return "broken_link"
    if entry_hash(event) != event.hash:
        return "altered"
    return ""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    district: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    pages: int


def search(session: Session, actor: Principal, flt: AuditFilter, page: int = 1) -> AuditPage:
    """Entries visible to ``actor``, newest first; district-scoped for non-national users."""
    actor.require(Permission.READ_AUDIT)
    query = _filtered(select(AuditEvent), actor, flt)
    total = session.scalar(_filtered(select(func.count(AuditEvent.seq)), actor, flt)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    items = session.scalars(
        query.order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return AuditPage(list(items), total, page, pages)


def _filtered(query: Select[Any], actor: Principal, flt: AuditFilter) -> Select[Any]:
    query = query.where(actor.scope_filter(AuditEvent.district))
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.actor:
        query = query.where(AuditEvent.actor.contains(flt.actor, autoescape=True))
    if flt.object_type:
        query = query.where(AuditEvent.object_type == flt.object_type)
    if flt.district:
        query = query.where(AuditEvent.district == flt.district)
    if flt.since:
        query = query.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.occurred_at < flt.until)
    return query


def known_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
