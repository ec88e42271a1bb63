"""Retention: every table with personal data names its rule (``retention`` on the model);
this module runs the rules.

Each domain supplies its own rules (``stemme.inbox.retention``, the identity sessions); a
rule is a query for the rows that are due and what to do with a batch of them (delete, or
wipe a column). Rules run in batches of ``batch`` rows, each in a short transaction of its
own, so a backlog (the first run on an old database) never holds a long lock and an
interrupted run simply goes on next time. Only counts are reported and audited, never
contents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from stemme.db import reader, transaction, utcnow
from stemme.identity import audit
from stemme.identity.access import command_line_principal

log = logging.getLogger("stemme.retention")

BATCH = 500


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """One retention rule: the keys of the rows due at ``now``, and what happens to them."""

    name: str
    description: str
    due: Callable[[datetime], Select[Any]]  # one column: the key of each due row
    apply: Callable[[Session, Sequence[Any]], None]


def delete_rows(key: InstrumentedAttribute[Any]) -> Callable[[Session, Sequence[Any]], None]:
    """The ``apply`` of a rule whose due rows are simply deleted; ``key`` is the column its
    query selects."""

    def apply(session: Session, keys: Sequence[Any]) -> None:
        session.execute(delete(key.class_).where(key.in_(keys)))

    return apply


def enforce(
    sessions: sessionmaker[Session],
    rules: Sequence[RetentionRule],
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
) -> dict[str, int]:
    """Apply every rule to the rows due at ``now``; rows handled per rule (due, if dry run)."""
    now = now or utcnow()
    counts = {rule.name: (_count(sessions, rule, now) if dry_run else 0) for rule in rules}
    if dry_run:
        return counts
    for rule in rules:
        counts[rule.name] = _purge(sessions, rule, now, batch)
    if any(counts.values()):
        with transaction(sessions) as session:
            audit.record(
                session,
                command_line_principal("retention"),
                "retention.enforced",
                "retention",
                now.date().isoformat(),
                details={name: n for name, n in counts.items() if n},
            )
        log.info("retention enforced", extra={"counts": counts})
    return counts


def _count(sessions: sessionmaker[Session], rule: RetentionRule, now: datetime) -> int:
    with reader(sessions) as session:
        due = rule.due(now).subquery()
        return int(session.scalar(select(func.count()).select_from(due)) or 0)


def _purge(sessions: sessionmaker[Session], rule: RetentionRule, now: datetime, batch: int) -> int:
    """Apply ``rule`` batch by batch, one transaction each, until nothing is due."""
    total = 0
    while True:
        with transaction(sessions) as session:
            keys = list(session.scalars(rule.due(now).limit(batch)))
            if keys:
                rule.apply(session, keys)
        total += len(keys)
        if len(keys) < batch:
            return total
