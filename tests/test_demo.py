"""The demo database: every role in several districts, working passwords, recreated each time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from stemme import demo, schema
from stemme.config import Settings
from stemme.db import make_engine, make_session_factory, transaction
from stemme.errors import AuthenticationError
from stemme.geo import POLICE_DISTRICTS
from stemme.identity import audit, passwords, service
from stemme.identity.access import Role, command_line_principal
from stemme.identity.models import User
from stemme.identity.service import LoginPolicy


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with cheap parameters (the real ones: test_passwords.py)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)


@pytest.fixture
def demo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.upper().startswith("STEMME_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return demo.demo_settings(tmp_path / "demo.sqlite3", 8123)


@pytest.fixture
def demo_sessions(demo_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(demo_settings.url)
    yield make_session_factory(engine)
    engine.dispose()


def test_demo_settings(demo_settings: Settings, tmp_path: Path) -> None:
    assert demo_settings.is_sqlite
    assert demo_settings.url.database == str((tmp_path / "demo.sqlite3").resolve())
    assert demo_settings.environment == "development"
    assert demo_settings.public_base_url == "http://127.0.0.1:8123"


def test_demo_accounts_cover_every_role_and_several_districts() -> None:
    assert {Role(account.role) for account in demo.DEMO_ACCOUNTS} == set(Role)
    districts = {d for account in demo.DEMO_ACCOUNTS for d in account.districts}
    assert len(districts) >= 5
    assert districts <= set(POLICE_DISTRICTS)
    assert any(not account.districts for account in demo.DEMO_ACCOUNTS)  # national users
    assert any(len(account.districts) > 1 for account in demo.DEMO_ACCOUNTS)
    assert len({account.email for account in demo.DEMO_ACCOUNTS}) == len(demo.DEMO_ACCOUNTS)
    assert all(account.password == "" for account in demo.DEMO_ACCOUNTS)  # no fixed passwords


def test_build_and_describe(demo_settings: Settings, demo_sessions: sessionmaker[Session]) -> None:
    accounts = demo.build(demo_settings)
    assert [a.email for a in accounts] == [a.email for a in demo.DEMO_ACCOUNTS]
    assert len({a.password for a in accounts}) == len(accounts)
    assert Path(demo_settings.url.database or "").is_file()

    engine = demo_sessions.kw["bind"]
    assert schema.is_current(engine)
    with demo_sessions() as session:
        users = {user.email: user for user in session.scalars(select(User))}
    assert set(users) == {a.email for a in accounts}
    for account in accounts:
        user = users[account.email]
        assert (user.role, user.districts, user.display_name) == (
            account.role,
            tuple(sorted(account.districts)),
            account.name,
        )
        assert user.national_scope == (account.districts == ())
        assert user.is_active

    for account in accounts:
        with transaction(demo_sessions) as session:
            user = service.authenticate(session, account.email, account.password, LoginPolicy())
            assert user.email == account.email

    with demo_sessions() as session:
        result = audit.verify(session, command_line_principal())
        assert result.ok
        created = audit.search(session, command_line_principal(), audit.AuditFilter("user.create"))
        assert created.total == len(accounts)
        assert {event.actor for event in created.items} == {"demo"}

    text = demo.describe(accounts, "127.0.0.1", 8123)
    assert "http://127.0.0.1:8123/login" in text
    for account in accounts:
        [line] = [line for line in text.splitlines() if account.email in line]
        assert account.password in line
        assert account.role in line
        for district in account.districts:
            assert district in line
        if not account.districts:
            assert "hele landet" in line


def test_building_twice_recreates_the_database(
    demo_settings: Settings, demo_sessions: sessionmaker[Session]
) -> None:
    first = demo.build(demo_settings)
    with transaction(demo_sessions) as session:
        service.create_user(
            session,
            command_line_principal(),
            service.UserInput("ekstra@demo.stemme.no", "analyst"),
            "en ekstra bruker sitt passord",
        )
    demo_sessions.kw["bind"].dispose()

    second = demo.build(demo_settings)
    assert [a.email for a in second] == [a.email for a in first]
    assert all(a.password != b.password for a, b in zip(first, second, strict=True))
    with demo_sessions() as session:
        emails = set(session.scalars(select(User.email)))
        assert "ekstra@demo.stemme.no" not in emails
        assert len(emails) == len(demo.DEMO_ACCOUNTS)
        assert session.scalar(select(func.count()).select_from(User)) == len(second)
        assert audit.verify(session, command_line_principal()).checked == len(second)
    with transaction(demo_sessions) as session:
        service.authenticate(session, second[0].email, second[0].password, LoginPolicy())
    with demo_sessions() as session, pytest.raises(AuthenticationError):
        service.authenticate(session, first[0].email, first[0].password, LoginPolicy())
