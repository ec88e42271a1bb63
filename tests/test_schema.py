"""Migrations: upgrading an empty database, the "is it current?" check and its refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.engine import URL

from stemme import schema
from stemme.app import create_app
from stemme.config import Settings, load_settings
from stemme.db import make_engine
from stemme.errors import ConfigurationError
from stemme.identity.audit import GENESIS_HASH

TABLES = {"users", "user_districts", "web_sessions", "api_tokens", "audit_events", "audit_head"}


@pytest.fixture
def empty_engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """create_app configures the root logger; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def settings_for(url: URL) -> Settings:
    return load_settings(
        database_url=url.render_as_string(hide_password=False),
        environment="test",
        log_level="WARNING",
    )


def downgrade(engine: Engine, revision: str) -> None:
    config = schema.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_migrations_build_exactly_the_models_tables(empty_engine: Engine) -> None:
    """Every table, column, index and foreign key of the models, as the migrations make
    them: a model changed without a migration (or the other way round) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from stemme.models import Base

    # Alembic cannot compare an index on expressions (the queue order's CASE): it reports
    # it dropped and added again on PostgreSQL and skips it on SQLite.
    comparable = {
        "include_object": lambda item, name, kind, _reflected, _other: (
            not (kind == "index" and name == "ix_conversations_queue_order")
        )
    }
    schema.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=comparable)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_there_is_exactly_one_head() -> None:
    heads = schema.head_revisions()
    assert len(heads) == 1
    assert all(isinstance(head, str) and head for head in heads)


def test_upgrade_an_empty_database(empty_engine: Engine) -> None:
    assert schema.current_revisions(empty_engine) == set()
    assert not schema.is_current(empty_engine)
    with pytest.raises(ConfigurationError) as info:
        schema.require_current(empty_engine)
    assert str(info.value) == schema.NOT_MIGRATED_HINT
    assert "stemme migrate" in schema.NOT_MIGRATED_HINT

    schema.upgrade(empty_engine)

    assert schema.current_revisions(empty_engine) == schema.head_revisions()
    assert schema.is_current(empty_engine)
    schema.require_current(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) >= TABLES
    with empty_engine.connect() as conn:
        head = conn.execute(text("SELECT id, seq, hash FROM audit_head")).all()
    assert [tuple(row) for row in head] == [(1, 0, GENESIS_HASH)]


def test_upgrade_twice_is_harmless(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)
    schema.upgrade(empty_engine)
    assert schema.is_current(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_head")).scalar_one() == 1


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert schema.current_revisions(empty_engine) == set()
    assert not (TABLES & set(inspect(empty_engine).get_table_names()))
    schema.upgrade(empty_engine)
    assert schema.is_current(empty_engine)


def test_the_test_databases_are_current(engine: Engine) -> None:
    assert schema.is_current(engine)
    schema.require_current(engine)


def test_an_unknown_revision_is_not_current(engine: Engine) -> None:
    """A database migrated by a newer stemme (or a different branch) is refused too."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff'"))
    assert schema.current_revisions(engine) == {"fffffffffff"}
    assert not schema.is_current(engine)
    with pytest.raises(ConfigurationError):
        schema.require_current(engine)


@pytest.mark.usefixtures("keep_logging")
def test_create_app_refuses_an_unmigrated_database(empty_database_url: URL) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_app(settings_for(empty_database_url))
    assert str(info.value) == schema.NOT_MIGRATED_HINT


@pytest.mark.usefixtures("keep_logging")
def test_create_app_accepts_a_migrated_database(settings: Settings) -> None:
    app = create_app(settings)
    assert app.state.stemme.settings is settings
    app.state.stemme.engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://stemme:pw@127.0.0.1:1/stemme?connect_timeout=5",
        "postgresql+psycopg://stemme:pw@localhost:1/stemme?connect_timeout=5",
    ],
)
def test_unreachable_postgresql(url: str) -> None:
    engine = make_engine(make_url(url))
    try:
        for check in (schema.current_revisions, schema.is_current, schema.require_current):
            with pytest.raises(ConfigurationError) as info:
                check(engine)
            message = str(info.value)
            assert message.startswith("Får ikke kontakt med databasen: ")
            assert "\n" not in message
            assert "pw@" not in message
    finally:
        engine.dispose()


def test_unreachable_sqlite(tmp_path: Path) -> None:
    engine = make_engine(make_url(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.sqlite3'}"))
    try:
        with pytest.raises(ConfigurationError, match=r"^Får ikke kontakt med databasen: "):
            schema.current_revisions(engine)
    finally:
        engine.dispose()


def test_journal_backoff_columns_keep_the_waiting_rows(empty_engine: Engine) -> None:
    """0007 adds next_attempt_at and last_error to a journal that may hold rows (a deploy
    while deliveries wait): they stay, due at once; the columns match the model."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from stemme.models import Base

    schema.upgrade(empty_engine, "0006")
    row = {
        "uid": "u" * 32,
        "channel": "messenger",
        "channel_message_id": "mid.1",
        "thread_key": "PAGE:PSID",
        "raw_encrypted": b"ciphertext",
        "received_at": "2026-11-26 01:00:00",
        "attempts": 2,
    }
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbound_deliveries (uid, channel, channel_message_id, thread_key,"
                " raw_encrypted, received_at, attempts) VALUES (:uid, :channel,"
                " :channel_message_id, :thread_key, :raw_encrypted, :received_at, :attempts)"
            ),
            row,
        )
    schema.upgrade(empty_engine, "0007")
    with empty_engine.connect() as conn:
        kept = conn.execute(
            text(
                "SELECT channel_message_id, attempts, next_attempt_at, last_error"
                " FROM inbound_deliveries"
            )
        ).all()
        only_journal = {
            "include_name": lambda name, kind, _parent: (
                kind != "table" or name == "inbound_deliveries"
            ),
            "include_object": lambda item, _name, kind, _reflected, _other: (
                (item if kind == "table" else item.table).name == "inbound_deliveries"
            ),
        }
        context = MigrationContext.configure(conn, opts=only_journal)
        differences = compare_metadata(context, Base.metadata)
    assert [tuple(r) for r in kept] == [("mid.1", 2, None, None)]
    assert differences == []
    downgrade(empty_engine, "0006")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("inbound_deliveries")}
    assert not {"next_attempt_at", "last_error"} & columns
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbound_deliveries")).scalar_one() == 1
