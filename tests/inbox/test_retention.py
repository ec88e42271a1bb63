"""Retention: the inbox's rules delete or wipe exactly what is due, in batches, audited,
on both engines; the worker runs them; ``stemme retention`` applies or counts them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from stemme import schema
from stemme.cli import app
from stemme.config import Settings
from stemme.db import make_engine, transaction, utcnow
from stemme.errors import NotFoundError
from stemme.identity.access import command_line_principal
from stemme.identity.models import User, WebSession
from stemme.inbox import feedback, service, work
from stemme.inbox.models import (
    ChannelContact,
    Conversation,
    Feedback,
    InboundDelivery,
    Message,
    Note,
    TriageLabel,
    WebchatSession,
    is_wiped,
)
from stemme.jobs import Worker
from stemme.jobs.housekeeping import enforce_retention, retention_rules
from stemme.privacy.crypto import Keyring
from stemme.privacy.retention import enforce
from tests.inbox import factory
from tests.inbox.conftest import Inbound

CLI = command_line_principal("test")
QUESTION = "Hei, jeg heter Kari Nordmann. Når åpner passkontoret i Tromsø?"


def _closed(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, thread: str, days: int
) -> int:
    """A conversation with a reply, a note and a triage label, closed ``days`` ago, all of
    its deliveries done."""
    conversation_id = factory.receive(sessions, keyring, inbound(QUESTION, thread=thread))
    cid = conversation_id.conversation_id
    with transaction(sessions) as session:
        work.reply(session, CLI, keyring, cid, "Passkontoret åpner kl. 9.")
        work.add_note(session, CLI, keyring, cid, "Ringte Kari på 912 34 567.")
        service.correct_triage(session, CLI, conversation_id.message_id, "question", False)
        work.set_status(session, CLI, keyring, cid, "closed", "answered")
        session.execute(
            update(Message).where(Message.conversation_id == cid).values(delivery="sent")
        )
        session.execute(
            update(Conversation)
            .where(Conversation.id == cid)
            .values(closed_at=utcnow() - timedelta(days=days))
        )
    return cid


def _messages(sessions: sessionmaker[Session], conversation_id: int) -> list[Message]:
    with sessions() as session:
        query = select(Message).where(Message.conversation_id == conversation_id)
        return list(session.scalars(query.order_by(Message.id)))


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _run(sessions: sessionmaker[Session], settings: Settings, **kwargs: object) -> dict[str, int]:
    return enforce_retention(sessions, settings, **kwargs)  # type: ignore[arg-type]


# --- originals ---------------------------------------------------------------------------


def test_originals_are_wiped_90_days_after_closing_and_the_redacted_text_stays(
    sessions: sessionmaker[Session], settings: Settings, keyring: Keyring, inbound: Inbound
) -> None:
    old = _closed(sessions, keyring, inbound, "old", days=91)
    recent = _closed(sessions, keyring, inbound, "recent", days=89)
    still_open = factory.receive(sessions, keyring, inbound(QUESTION, thread="open"))

    counts = _run(sessions, settings)

    assert counts["originals"] == len(_messages(sessions, old)) >= 3
    assert all(is_wiped(m) for m in _messages(sessions, old))
    assert all(m.redacted_text for m in _messages(sessions, old) if m.direction == "in")
    assert not any(is_wiped(m) for m in _messages(sessions, recent))
    assert not any(is_wiped(m) for m in _messages(sessions, still_open.conversation_id))
    first = _messages(sessions, old)[0]
    with sessions() as session, pytest.raises(NotFoundError, match="oppbevaringstiden"):
        service.read_original(session, CLI, keyring, first.id)
    with sessions() as session, pytest.raises(NotFoundError, match="oppbevaringstiden"):
        service.analyze_message(session, keyring, first.id)


def test_an_unfinished_delivery_keeps_its_original(
    sessions: sessionmaker[Session], settings: Settings, keyring: Keyring, inbound: Inbound
) -> None:
    cid = _closed(sessions, keyring, inbound, "slow", days=100)
    reply_id = next(m.id for m in _messages(sessions, cid) if m.direction == "out")
    with transaction(sessions) as session:  # the channel has been failing for 100 days
        session.execute(update(Message).where(Message.id == reply_id).values(delivery="retrying"))

    _run(sessions, settings)

    kept = [m for m in _messages(sessions, cid) if m.id == reply_id]
    assert kept
    assert not is_wiped(kept[0])


# --- conversations, feedback -------------------------------------------------------------------


def test_a_conversation_goes_12_months_after_closing_and_its_feedback_stays(
    sessions: sessionmaker[Session], settings: Settings, keyring: Keyring, inbound: Inbound
) -> None:
    old = _closed(sessions, keyring, inbound, "old", days=366)
    recent = _closed(sessions, keyring, inbound, "recent", days=200)
    with transaction(sessions) as session:
        feedback_row = Feedback(conversation_id=old, channel="webchat", district="Oslo", rating=4)
        session.add(feedback_row)
        session.flush()
        feedback_id = feedback_row.id

    counts = _run(sessions, settings)

    assert counts["conversations"] == 1
    assert not _messages(sessions, old)
    with sessions() as session:
        assert session.get(Conversation, old) is None
        assert session.get(Conversation, recent) is not None
        assert session.scalars(select(Note).where(Note.conversation_id == old)).first() is None
        labels = select(TriageLabel).join(Message, TriageLabel.message_id == Message.id)
        assert len(session.scalars(labels).all()) == 1  # the recent conversation's
        kept = session.get(Feedback, feedback_id)
        assert kept is not None
        assert kept.conversation_id is None
        assert kept.rating == 4
        since = utcnow() - timedelta(days=30)
        (oslo,) = feedback.feedback_by_district(session, CLI, since, min_group_size=1)
    assert oslo.district == "Oslo"
    assert oslo.answers == 1


def test_feedback_goes_after_24_months(sessions: sessionmaker[Session], settings: Settings) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        for days in (731, 700):
            session.add(
                Feedback(
                    channel="webchat",
                    district="Oslo",
                    rating=5,
                    created_at=now - timedelta(days=days),
                )
            )

    assert _run(sessions, settings)["feedback"] == 1
    assert _count(sessions, Feedback) == 1


def test_deleting_a_conversation_in_the_database_unlinks_its_feedback(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        conversation = factory.conversation(session, status="closed")
        session.add(Feedback(conversation_id=conversation.id, channel="webchat", rating=3))
        cid = conversation.id
    with transaction(sessions) as session:
        session.execute(delete(Conversation).where(Conversation.id == cid))
    with sessions() as session:
        assert session.scalars(select(Feedback.conversation_id)).all() == [None]


# --- contacts and sessions ---------------------------------------------------------------------


def test_contacts_go_with_their_threads_last_conversation(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    old = utcnow() - timedelta(days=2)
    with transaction(sessions) as session:
        factory.conversation(session, channel="email", thread_key="email:kept")
        for key, updated in (("email:kept", old), ("email:orphan", old), ("email:new", utcnow())):
            session.add(ChannelContact(thread_key=key, channel="email", updated_at=updated))

    assert _run(sessions, settings)["channel_contacts"] == 1
    with sessions() as session:
        keys = set(session.scalars(select(ChannelContact.thread_key)))
    assert keys == {"email:kept", "email:new"}


def test_web_chat_sessions_go_24_hours_after_their_last_use(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        for name, hours in (("idle", 25), ("busy", 1)):
            session.add(
                WebchatSession(
                    token_hash=name * 4,
                    thread_key=f"webchat:{name}",
                    last_seen_at=now - timedelta(hours=hours),
                )
            )

    assert _run(sessions, settings)["webchat_sessions"] == 1
    with sessions() as session:
        assert session.scalars(select(WebchatSession.thread_key)).all() == ["webchat:busy"]


def test_expired_logins_go(sessions: sessionmaker[Session], settings: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("operator", ["Oslo"])
    now = utcnow()
    with transaction(sessions) as session:
        for name, expires in (
            ("gone", now - timedelta(minutes=1)),
            ("live", now + timedelta(hours=1)),
        ):
            session.add(WebSession(id=name, user_id=user.id, expires_at=expires))

    assert _run(sessions, settings)["web_sessions"] == 1
    with sessions() as session:
        assert session.scalars(select(WebSession.id)).all() == ["live"]


def test_journal_rows_given_up_go_when_an_original_would(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        for mid, attempts, days in (("lost", 5, 91), ("young", 5, 10), ("waiting", 2, 91)):
            session.add(
                InboundDelivery(
                    uid=mid.ljust(32, "x"),
                    channel="messenger",
                    channel_message_id=mid,
                    thread_key="PAGE:PSID",
                    raw_encrypted=b"sealed",
                    received_at=now - timedelta(days=days),
                    attempts=attempts,
                )
            )

    assert _run(sessions, settings)["journal_given_up"] == 1
    with sessions() as session:
        left = set(session.scalars(select(InboundDelivery.channel_message_id)))
    assert left == {"young", "waiting"}


def test_accounts_go_12_months_after_disabling_and_their_work_stays(
    sessions: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    inbound: Inbound,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    gone, recent, active = (make_user("operator") for _ in range(3))
    cid = factory.receive(sessions, keyring, inbound(QUESTION, thread="kept")).conversation_id
    now = utcnow()
    with transaction(sessions) as session:
        work.reply(session, factory.principal(gone), keyring, cid, "Vi ser på saken.")
        for user, days in ((gone, 366), (recent, 300)):
            session.execute(
                update(User)
                .where(User.id == user.id)
                .values(is_active=False, disabled_at=now - timedelta(days=days))
            )

    assert _run(sessions, settings)["users"] == 1
    with sessions() as session:
        assert set(session.scalars(select(User.id))) == {recent.id, active.id}
    reply = next(m for m in _messages(sessions, cid) if m.direction == "out")
    assert reply.author_id is None  # the reply stays, without its author


# --- the runner: dry run, batches, audit -------------------------------------------------------


def test_a_dry_run_counts_and_changes_nothing(
    sessions: sessionmaker[Session], settings: Settings, keyring: Keyring, inbound: Inbound
) -> None:
    cid = _closed(sessions, keyring, inbound, "old", days=400)

    counts = _run(sessions, settings, dry_run=True)

    assert counts["conversations"] == 1
    assert counts["originals"] >= 3
    with sessions() as session:
        assert session.get(Conversation, cid) is not None
        assert not factory.audit_events(session, "retention.enforced")


def test_rules_run_in_batches_and_the_run_is_audited_with_counts_only(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        for _ in range(5):
            session.add(Feedback(channel="webchat", rating=2, created_at=now - timedelta(days=800)))

    counts = enforce(sessions, retention_rules(settings), batch=2)

    assert counts["feedback"] == 5
    assert _count(sessions, Feedback) == 0
    with sessions() as session:
        (event,) = factory.audit_events(session, "retention.enforced")
    assert event.details == {"feedback": 5}
    assert event.actor == "retention"


def test_nothing_due_writes_no_audit_entry(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    assert not any(_run(sessions, settings).values())
    with sessions() as session:
        assert not factory.audit_events(session, "retention.enforced")


def test_periods_come_from_the_settings(
    sessions: sessionmaker[Session], settings: Settings, keyring: Keyring, inbound: Inbound
) -> None:
    cid = _closed(sessions, keyring, inbound, "old", days=8)
    shorter = settings.model_copy(update={"retention_original_days": 7})

    assert _run(sessions, settings)["originals"] == 0
    assert _run(sessions, shorter)["originals"] == len(_messages(sessions, cid))


# --- adapters: the worker and the command line --------------------------------------------------


def test_the_worker_runs_housekeeping_when_it_starts(
    sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    ran = threading.Event()
    worker = Worker(sessions, keyring, idle_seconds=0.05, housekeeping=ran.set)
    worker.start()
    try:
        assert ran.wait(10)
    finally:
        worker.stop()


def test_a_failing_housekeeping_run_does_not_stop_the_worker(
    sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    worker = Worker(
        sessions, keyring, idle_seconds=0.05, housekeeping=failing, housekeeping_seconds=0.05
    )
    worker.start()
    try:
        for _ in range(100):
            if len(calls) >= 2:
                break
            threading.Event().wait(0.05)
        assert len(calls) >= 2
        assert worker.running
    finally:
        worker.stop()


def test_cli_retention_dry_run_then_apply(
    sessions: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = _closed(sessions, keyring, inbound, "old", days=400)
    monkeypatch.setenv("STEMME_DATABASE_URL", settings.database_url)
    runner = CliRunner()

    dry = runner.invoke(app, ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "conversations: 1 til sletting" in dry.output
    with sessions() as session:
        assert session.get(Conversation, cid) is not None

    done = runner.invoke(app, ["retention"])
    assert done.exit_code == 0, done.output
    assert "conversations: 1 behandlet" in done.output
    with sessions() as session:
        assert session.get(Conversation, cid) is None


# --- migration 0008 ------------------------------------------------------------------------------


def test_migration_0008_unlinks_feedback_and_matches_the_model(empty_database_url: URL) -> None:
    """Feedback given before the upgrade stays linked; afterwards deleting a conversation
    only unlinks it; the table matches the model; a downgrade drops unlinked rows."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from stemme.models import Base
    from tests.test_schema import downgrade

    engine = make_engine(empty_database_url)
    try:
        schema.upgrade(engine, "0007")
        with engine.begin() as conn:
            for cid in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO conversations (id, channel, thread_key, urgent,"
                        " triage_corrected, status, created_at, last_message_at,"
                        " emergency_replied, out_of_hours_replied) VALUES (:id, 'webchat',"
                        " :key, false, false, 'closed', :at, :at, false, false)"
                    ),
                    {"id": cid, "key": f"t{cid}", "at": "2026-01-01 00:00:00"},
                )
                conn.execute(
                    text(
                        "INSERT INTO conversation_feedback (conversation_id, channel, rating,"
                        " created_at) VALUES (:id, 'webchat', 4, :at)"
                    ),
                    {"id": cid, "at": "2026-01-02 00:00:00"},
                )
        schema.upgrade(engine, "0008")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM conversations WHERE id = 1"))
        with engine.connect() as conn:
            linked = conn.execute(
                text("SELECT conversation_id FROM conversation_feedback ORDER BY id")
            ).scalars()
            assert list(linked) == [None, 2]
            only_feedback = {
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name == "conversation_feedback"
                ),
                "include_object": lambda item, _name, kind, _reflected, _other: (
                    (item if kind == "table" else item.table).name == "conversation_feedback"
                ),
            }
            context = MigrationContext.configure(conn, opts=only_feedback)
            assert compare_metadata(context, Base.metadata) == []
        downgrade(engine, "0007")
        with engine.connect() as conn:
            left = conn.execute(text("SELECT conversation_id FROM conversation_feedback"))
            assert list(left.scalars()) == [2]
    finally:
        engine.dispose()
