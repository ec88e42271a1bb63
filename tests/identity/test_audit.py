"""The append-only, hash-chained audit log: chain, tamper detection, search and scope."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction, utcnow
from stemme.errors import PermissionDeniedError
from stemme.identity import audit
from stemme.identity.access import Principal, Role, command_line_principal
from stemme.identity.audit import GENESIS_HASH, PAGE_SIZE, AuditFilter
from stemme.identity.models import AuditEvent, AuditHead

Sessions = sessionmaker[Session]
CLI = command_line_principal("test")
ADMIN = Principal(1, "admin@politiet.no", Role.ADMIN, None)
LEADER_OSLO = Principal(2, "leder.oslo@politiet.no", Role.LEADER, frozenset({"Oslo"}))
LEADER_NATIONAL = Principal(3, "leder@politiet.no", Role.LEADER, None)


def record_many(sessions: Sessions, n: int, **kwargs: object) -> list[AuditEvent]:
    with transaction(sessions) as session:
        return [
            audit.record(session, CLI, "test.event", "thing", i, **kwargs)  # type: ignore[arg-type]
            for i in range(1, n + 1)
        ]


def verify(sessions: Sessions) -> audit.VerifyResult:
    with sessions() as session:
        return audit.verify(session, CLI)


def all_events(sessions: Sessions) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def allow_tampering(engine: Engine) -> None:
    """Switch off the append-only triggers, as an attacker with database access could."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


# --- the chain ---------------------------------------------------------------------------------


def test_empty_log_verifies(sessions: Sessions) -> None:
    result = verify(sessions)
    assert (result.ok, result.checked, result.first_bad_seq, result.reason) == (True, 0, None, "")


def test_record_builds_a_chain(sessions: Sessions) -> None:
    returned = record_many(sessions, 6)
    events = all_events(sessions)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6] == [e.seq for e in returned]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    for event in events:
        assert len(event.hash) == 64
        assert event.hash == audit.entry_hash(event)
        assert event.occurred_at.tzinfo is not None
    assert len({e.hash for e in events}) == 6
    with sessions() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        assert (head.seq, head.hash) == (6, events[-1].hash)
    result = verify(sessions)
    assert (result.ok, result.checked) == (True, 6)


def test_chain_continues_across_transactions(sessions: Sessions) -> None:
    record_many(sessions, 2)
    record_many(sessions, 3)
    assert [e.seq for e in all_events(sessions)] == [1, 2, 3, 4, 5]
    assert verify(sessions).ok


def test_rolled_back_entries_leave_no_gap(sessions: Sessions) -> None:
    record_many(sessions, 2)
    with sessions() as session:
        audit.record(session, CLI, "never.committed", "thing", 1)
        session.rollback()
    record_many(sessions, 1)
    assert [e.seq for e in all_events(sessions)] == [1, 2, 3]
    assert "never.committed" not in [e.action for e in all_events(sessions)]
    assert verify(sessions).ok


def test_record_fields(sessions: Sessions) -> None:
    actor = Principal(7, "kari@politiet.no", Role.OPERATOR, frozenset({"Oslo"}))
    with transaction(sessions) as session:
        audit.record(
            session, actor, "case.view", "case", 42, district="Oslo", details={"fields": 3}
        )
        audit.record(session, None, "login.failed", "user", "unknown")
    first, second = all_events(sessions)
    assert (first.actor_user_id, first.actor, first.action) == (7, "kari@politiet.no", "case.view")
    assert (first.object_type, first.object_id, first.district) == ("case", "42", "Oslo")
    assert first.details == {"fields": 3}
    assert (second.actor_user_id, second.actor, second.details) == (None, "anonymous", {})
    assert second.district is None


def test_details_survive_the_round_trip(sessions: Sessions) -> None:
    """The hash covers details, so they must come back exactly as written on both engines."""
    details = {
        "tekst": "Tromsø, Måsøy og Sør-Varanger",
        "nested": {"b": [1, 2.5, None, True], "a": {"z": "æøå", "y": ""}},
        "tall": 12345678901234,
        "tom": [],
        "emoji": "🐻‍❄️",
        "quote": 'sa "hei" \\ ok',
    }
    with transaction(sessions) as session:
        audit.record(
            session, CLI, "details", "thing", "x" * 128, district="Sør-Øst", details=details
        )
    [event] = all_events(sessions)
    assert event.details == details
    assert event.hash == audit.entry_hash(event)
    assert verify(sessions).ok


def test_record_read(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        event = audit.record_read(session, LEADER_OSLO, "inquiry", 99, "Oslo")
    assert (event.action, event.object_type, event.object_id, event.district) == (
        "personal_data.read",
        "inquiry",
        "99",
        "Oslo",
    )
    assert event.actor_user_id == LEADER_OSLO.user_id
    [stored] = all_events(sessions)
    assert stored.action == "personal_data.read"
    assert verify(sessions).ok


def test_known_actions(sessions: Sessions) -> None:
    with sessions() as session:
        assert audit.known_actions(session) == []
    with transaction(sessions) as session:
        for action in ("user.create", "login.failed", "user.create", "audit.viewed", "a.b"):
            audit.record(session, CLI, action, "thing", 1)
    with sessions() as session:
        assert audit.known_actions(session) == [
            "a.b",
            "audit.viewed",
            "login.failed",
            "user.create",
        ]


VERIFIERS = [
    (CLI, True),
    (ADMIN, True),
    (LEADER_NATIONAL, False),
    (LEADER_OSLO, False),
    (Principal(4, "a", Role.ANALYST, None), False),
    (Principal(5, "o", Role.OPERATOR, None), False),
    (Principal(6, "i", Role.INITIATIVE_OWNER, None), False),
]


def test_only_admins_verify(sessions: Sessions, subtests: pytest.Subtests) -> None:
    record_many(sessions, 1)
    for actor, allowed in VERIFIERS:
        with subtests.test(role=actor.role.value, national=actor.is_national), sessions() as s:
            if allowed:
                assert audit.verify(s, actor).ok
            else:
                with pytest.raises(PermissionDeniedError):
                    audit.verify(s, actor)


# --- append-only in the database ---------------------------------------------------------------


FORBIDDEN = [
    "UPDATE audit_events SET action = 'changed' WHERE seq = 1",
    "UPDATE audit_events SET details = details",
    "DELETE FROM audit_events WHERE seq = 2",
    "DELETE FROM audit_events",
]


def test_database_refuses_update_and_delete(
    engine: Engine, sessions: Sessions, subtests: pytest.Subtests
) -> None:
    record_many(sessions, 3)
    for statement in FORBIDDEN:
        with subtests.test(statement=statement):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
            assert [e.action for e in all_events(sessions)] == ["test.event"] * 3
            assert verify(sessions).ok


def test_database_refuses_orm_update_and_delete(sessions: Sessions) -> None:
    record_many(sessions, 2)
    with sessions() as session:
        event = session.get(AuditEvent, 1)
        assert event is not None
        event.action = "changed"
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        session.rollback()
    assert verify(sessions).ok


def test_postgresql_refuses_truncate(engine: Engine, sessions: Sessions) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL only")
    record_many(sessions, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events"))
    assert verify(sessions).checked == 2


def test_append_only_triggers_exist(engine: Engine) -> None:
    """The migration installs the guards (INSERT stays allowed: every test above appends)."""
    with engine.begin() as conn:
        names = {
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                if engine.dialect.name == "sqlite"
                else text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass"
                    " AND NOT tgisinternal"
                )
            )
        }
    if engine.dialect.name == "sqlite":
        assert names == {"audit_events_no_update", "audit_events_no_delete"}
    else:
        assert names == {"audit_events_append_only"}


# --- tamper detection --------------------------------------------------------------------------


ALTERATIONS = {
    "action": "user.delete",
    "actor": "someone.else@politiet.no",
    "actor_user_id": 999,
    "object_type": "case",
    "object_id": "13",
    "district": "Vest",
    "details": {"role": "admin"},
    "occurred_at": utcnow() - timedelta(days=3),
}


def snapshot(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq))
        return [dict(row) for row in rows.mappings()]


def restore(engine: Engine, rows: list[dict[str, object]]) -> None:
    """Put the log back as it was (the triggers are off), so one database serves many cases."""
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent))
        conn.execute(insert(AuditEvent), rows)


def test_altered_entry_is_detected(
    engine: Engine, sessions: Sessions, subtests: pytest.Subtests
) -> None:
    record_many(sessions, 5, district="Oslo", details={"role": "operator"})
    allow_tampering(engine)
    original = snapshot(engine)
    for field, value in ALTERATIONS.items():
        with subtests.test(field=field):
            with engine.begin() as conn:
                conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({field: value}))
            result = verify(sessions)
            assert (result.ok, result.first_bad_seq, result.reason, result.checked) == (
                False,
                3,
                "altered",
                2,
            )
            restore(engine, original)
            assert verify(sessions).ok


def test_altered_entry_with_recomputed_hash_breaks_the_next_link(
    engine: Engine, sessions: Sessions
) -> None:
    record_many(sessions, 5)
    allow_tampering(engine)
    with sessions() as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        event.action = "forged"
        forged_hash = audit.entry_hash(event)
    with engine.begin() as conn:
        conn.execute(
            update(AuditEvent).where(AuditEvent.seq == 3).values(action="forged", hash=forged_hash)
        )
    result = verify(sessions)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "broken_link")


def test_rewritten_tail_is_detected_by_the_head(engine: Engine, sessions: Sessions) -> None:
    """Even re-hashing every later entry does not help: the head row remembers the tip."""
    record_many(sessions, 5)
    allow_tampering(engine)
    with sessions() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        session.expunge_all()
    prev = events[1].hash
    for event in events[2:]:
        if event.seq == 3:
            event.action = "forged"
        event.prev_hash = prev
        event.hash = audit.entry_hash(event)
        prev = event.hash
    with engine.begin() as conn:
        for event in events[2:]:
            conn.execute(
                update(AuditEvent)
                .where(AuditEvent.seq == event.seq)
                .values(action=event.action, prev_hash=event.prev_hash, hash=event.hash)
            )
    result = verify(sessions)
    assert (result.ok, result.first_bad_seq, result.reason, result.checked) == (
        False,
        6,
        "tail_missing",
        5,
    )


DELETIONS = [
    # a gap is reported at the first entry after it, a missing tail at the missing number
    ([1], 2, "gap", 0),
    ([3], 4, "gap", 2),
    ([2, 3, 4], 5, "gap", 1),
    ([5], 5, "tail_missing", 4),
    ([4, 5], 4, "tail_missing", 3),
    ([1, 2, 3, 4, 5], 1, "tail_missing", 0),
]


def test_deleted_entries_are_detected(
    engine: Engine, sessions: Sessions, subtests: pytest.Subtests
) -> None:
    record_many(sessions, 5)
    allow_tampering(engine)
    original = snapshot(engine)
    for deleted, first_bad_seq, reason, checked in DELETIONS:
        with subtests.test(deleted=deleted):
            with engine.begin() as conn:
                conn.execute(delete(AuditEvent).where(AuditEvent.seq.in_(deleted)))
            result = verify(sessions)
            assert (result.ok, result.first_bad_seq, result.reason, result.checked) == (
                False,
                first_bad_seq,
                reason,
                checked,
            )
            restore(engine, original)
            assert verify(sessions).ok


def test_broken_link_is_detected(
    engine: Engine, sessions: Sessions, subtests: pytest.Subtests
) -> None:
    record_many(sessions, 5)
    allow_tampering(engine)
    original = snapshot(engine)
    for seq in (1, 3, 5):
        with subtests.test(seq=seq):
            with engine.begin() as conn:
                conn.execute(
                    update(AuditEvent).where(AuditEvent.seq == seq).values(prev_hash="f" * 64)
                )
            result = verify(sessions)
            assert (result.ok, result.first_bad_seq, result.reason) == (False, seq, "broken_link")
            restore(engine, original)


def test_renumbered_entry_is_detected(engine: Engine, sessions: Sessions) -> None:
    record_many(sessions, 3)
    allow_tampering(engine)
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=10))
    result = verify(sessions)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 10, "gap")


def test_forged_appended_entry_is_detected(engine: Engine, sessions: Sessions) -> None:
    """INSERT is allowed, so a forger could append a well-formed entry; the head gives it away."""
    [*_, last] = record_many(sessions, 3)
    forged = AuditEvent(
        seq=4,
        occurred_at=utcnow(),
        actor_user_id=None,
        actor="cli",
        action="user.create",
        object_type="user",
        object_id="1",
        district=None,
        details={},
        prev_hash=last.hash,
    )
    forged.hash = audit.entry_hash(forged)
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEvent).values(
                {c.name: getattr(forged, c.key) for c in AuditEvent.__table__.columns}
            )
        )
    result = verify(sessions)
    assert not result.ok
    assert result.reason == "tail_missing"
    assert result.checked == 4


def test_head_tampering_is_detected(engine: Engine, sessions: Sessions) -> None:
    record_many(sessions, 3)
    with engine.begin() as conn:
        conn.execute(update(AuditHead).values(hash="0" * 64))
    result = verify(sessions)
    assert (result.ok, result.reason) == (False, "tail_missing")


# --- search ------------------------------------------------------------------------------------


def seed_for_search(sessions: Sessions) -> list[AuditEvent]:
    kari = Principal(10, "kari@politiet.no", Role.OPERATOR, frozenset({"Oslo"}))
    ola = Principal(11, "ola@politiet.no", Role.ANALYST, frozenset({"Vest"}))
    odd = Principal(12, "100%_sikker@politiet.no", Role.ANALYST, None)
    rows = [
        (kari, "user.create", "user", "Oslo"),
        (kari, "user.update", "user", "Oslo"),
        (ola, "user.create", "user", "Vest"),
        (ola, "personal_data.read", "inquiry", "Vest"),
        (None, "login.failed", "user", None),
        (odd, "personal_data.read", "inquiry", "Oslo"),
        (kari, "token.create", "api_token", None),
        (ola, "user.create", "user", "Øst"),
    ]
    events = []
    for actor, action, object_type, district in rows:
        with transaction(sessions) as session:
            events.append(audit.record(session, actor, action, object_type, 1, district=district))
        time.sleep(0.002)  # distinct timestamps for the since/until filters
    return events


def search(sessions: Sessions, who: Principal, page: int = 1, **filters: object) -> audit.AuditPage:
    with sessions() as session:
        return audit.search(session, who, AuditFilter(**filters), page)  # type: ignore[arg-type]


def seqs(page: audit.AuditPage) -> list[int]:
    return [event.seq for event in page.items]


SEARCHES = [
    ({}, [8, 7, 6, 5, 4, 3, 2, 1]),
    ({"action": "user.create"}, [8, 3, 1]),
    ({"action": "user"}, []),  # actions match exactly
    ({"actor": "kari"}, [7, 2, 1]),
    ({"actor": "@politiet.no"}, [8, 7, 6, 4, 3, 2, 1]),
    ({"actor": "anonymous"}, [5]),
    ({"actor": "%"}, [6]),  # wildcards are literal
    ({"actor": "_"}, [6]),
    ({"object_type": "inquiry"}, [6, 4]),
    ({"district": "Oslo"}, [6, 2, 1]),
    ({"district": "Øst"}, [8]),
    ({"district": "Finnmark"}, []),
    ({"action": "user.create", "district": "Vest"}, [3]),
    ({"actor": "ola", "object_type": "user"}, [8, 3]),
]


def test_search_filters(sessions: Sessions, subtests: pytest.Subtests) -> None:
    seed_for_search(sessions)
    for filters, expected in SEARCHES:
        with subtests.test(filters=filters):
            result = search(sessions, ADMIN, **filters)
            assert seqs(result) == expected
            assert result.total == len(expected)
            assert (result.page, result.pages) == (1, 1)


def test_search_by_time(sessions: Sessions) -> None:
    events = seed_for_search(sessions)
    at = [event.occurred_at for event in events]
    assert at == sorted(at)
    assert seqs(search(sessions, ADMIN, since=at[5])) == [8, 7, 6]
    assert seqs(search(sessions, ADMIN, until=at[2])) == [2, 1]  # until is exclusive
    assert seqs(search(sessions, ADMIN, since=at[2], until=at[4])) == [4, 3]
    assert seqs(search(sessions, ADMIN, since=at[7] + timedelta(seconds=1))) == []
    # another time zone means the same instant
    oslo_time = timezone(timedelta(hours=2))
    assert seqs(search(sessions, ADMIN, since=at[5].astimezone(oslo_time))) == [8, 7, 6]


OSLO_VEST = Principal(20, "l", Role.LEADER, frozenset({"Oslo", "Vest"}))
SCOPED_SEARCHES = [
    ("leader Oslo", LEADER_OSLO, {}, [6, 2, 1]),
    ("leader Oslo", LEADER_OSLO, {"district": "Oslo"}, [6, 2, 1]),
    ("leader Oslo", LEADER_OSLO, {"district": "Vest"}, []),  # a filter cannot widen the scope
    ("leader Oslo", LEADER_OSLO, {"action": "login.failed"}, []),  # national is not Oslo's
    ("leader Oslo narrowed", LEADER_OSLO.narrowed_to("Oslo"), {}, [6, 2, 1]),
    ("leader Oslo+Vest", OSLO_VEST, {}, [6, 4, 3, 2, 1]),
    ("leader Oslo+Vest narrowed", OSLO_VEST.narrowed_to("Vest"), {}, [4, 3]),
    ("leader national", LEADER_NATIONAL, {}, [8, 7, 6, 5, 4, 3, 2, 1]),
    ("leader national narrowed", LEADER_NATIONAL.narrowed_to("Øst"), {}, [8]),
    ("cli", CLI, {"district": "Vest"}, [4, 3]),
]


def test_search_is_district_scoped(sessions: Sessions, subtests: pytest.Subtests) -> None:
    seed_for_search(sessions)
    for label, actor, filters, expected in SCOPED_SEARCHES:
        with subtests.test(actor=label, filters=filters):
            result = search(sessions, actor, **filters)
            assert seqs(result) == expected
            assert result.total == len(expected)


def test_search_needs_read_audit(sessions: Sessions) -> None:
    for role in (Role.ANALYST, Role.OPERATOR, Role.INITIATIVE_OWNER):
        with pytest.raises(PermissionDeniedError):
            search(sessions, Principal(1, "x", role, None))


def test_search_pages(sessions: Sessions) -> None:
    total = 2 * PAGE_SIZE + 20
    record_many(sessions, total)
    with transaction(sessions) as session:
        audit.record(session, CLI, "other", "thing", 1)
    first = search(sessions, ADMIN, action="test.event")
    assert (first.total, first.page, first.pages) == (total, 1, 3)
    assert seqs(first) == list(range(total, total - PAGE_SIZE, -1))
    second = search(sessions, ADMIN, page=2, action="test.event")
    assert seqs(second) == list(range(total - PAGE_SIZE, total - 2 * PAGE_SIZE, -1))
    last = search(sessions, ADMIN, page=3, action="test.event")
    assert seqs(last) == list(range(20, 0, -1))
    assert (last.page, last.pages) == (3, 3)
    beyond = search(sessions, ADMIN, page=99, action="test.event")
    assert (beyond.page, seqs(beyond)) == (3, seqs(last))
    before = search(sessions, ADMIN, page=0, action="test.event")
    assert (before.page, seqs(before)) == (1, seqs(first))
    negative = search(sessions, ADMIN, page=-5, action="test.event")
    assert negative.page == 1


def test_search_of_an_empty_log(sessions: Sessions) -> None:
    result = search(sessions, ADMIN, page=3)
    assert (result.items, result.total, result.page, result.pages) == ([], 0, 1, 1)


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.parametrize("read_first", [False, True], ids=["append-only", "read-then-append"])
def test_concurrent_appends_keep_the_chain(sessions: Sessions, read_first: bool) -> None:
    """Several writers at once; with read_first each transaction reads before it appends,
    as a login or a page view does (SELECT the user, then audit.record)."""
    threads_n, per_thread = 4, 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(per_thread):
                with transaction(sessions) as session:
                    if read_first:
                        session.scalar(select(AuditHead.seq))
                        time.sleep(0.001)
                    actor = Principal(worker, f"worker{worker}", Role.ADMIN, None)
                    audit.record(session, actor, "concurrent", "thing", i, district="Oslo")
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not errors, errors
    events = all_events(sessions)
    assert [e.seq for e in events] == list(range(1, threads_n * per_thread + 1))
    for worker in range(threads_n):
        mine = [e for e in events if e.actor == f"worker{worker}"]
        assert [e.object_id for e in mine] == [str(i) for i in range(per_thread)]
    result = verify(sessions)
    assert (result.ok, result.checked) == (True, threads_n * per_thread)
