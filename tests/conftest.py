"""Fixtures: a real database per test (SQLite file or PostgreSQL with pgvector), real servers.

STEMME_TEST_ENGINE=sqlite (default) or postgresql chooses the engine. For PostgreSQL the
suite uses STEMME_TEST_DATABASE_URL when set, else starts a throw-away pgserver (PostgreSQL
16 with pgvector). With CI=true a server that cannot start fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from stemme import schema
from stemme.app import create_app
from stemme.config import Settings, load_settings
from stemme.db import make_engine, make_session_factory, reader
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.identity.models import User
from tests.helpers import PASSWORD, WebClient

ENGINE = os.environ.get("STEMME_TEST_ENGINE", "sqlite")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEMPLATE_DB = "stemme_template"
TEST_ENCRYPTION_KEY = "test:Ztc1TX2LLjfVXM31MtQGee1G8lRf3TaOfBt3eH0ZOrw="  # tests only


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def pytest_report_header() -> str:
    return f"stemme test engine: {ENGINE}"


# --- database servers and templates ---------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """A superuser URL of a PostgreSQL server with pgvector available."""
    configured = os.environ.get("STEMME_TEST_DATABASE_URL")
    if configured:
        yield make_url(configured)
        return
    try:
        import pgserver

        # Its own directory, not pytest's rotating basetemp, which overlapping runs prune.
        data_dir = tempfile.mkdtemp(prefix="stemme-pg-")
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:  # pragma: no cover - depends on the machine
        unavailable(f"cannot start pgserver: {exc}")
    uri = make_url(server.get_uri())
    yield uri.set(drivername="postgresql+psycopg")
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[URL]:
    """A migrated database that every test copies (SQLite file, or PostgreSQL TEMPLATE)."""
    if ENGINE == "sqlite":
        url = make_url(f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite3'}")
        _migrate(url)
        yield url
        return
    admin_url: URL = request.getfixturevalue("postgres_admin_url")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
    url = admin_url.set(database=TEMPLATE_DB)
    vector_engine = create_engine(url)
    with vector_engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    vector_engine.dispose()
    _migrate(url)
    yield url
    admin.dispose()


def _migrate(url: URL) -> None:
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()


@contextmanager
def copied_database(template: URL, directory: Path) -> Iterator[URL]:
    """A migrated database of its own, copied from the template (file copy or TEMPLATE)."""
    if ENGINE == "sqlite":
        target = directory / f"{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(template.database or "", target)
        yield make_url(f"sqlite:///{target}")
        return
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(template.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
    try:
        yield template.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def database_url(template_database: URL, tmp_path: Path) -> Iterator[URL]:
    """A fresh, migrated database of its own for this test."""
    with copied_database(template_database, tmp_path) as url:
        yield url


@pytest.fixture
def empty_database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[URL]:
    """A database without any tables (to test migrations and the un-migrated refusal)."""
    if ENGINE == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        return
    admin_url: URL = request.getfixturevalue("postgres_admin_url")
    name = f"e_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield admin_url.set(database=name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


# --- settings, engine, sessions -----------------------------------------------------------------


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return load_settings(
        database_url=database_url.render_as_string(hide_password=False),
        secret_key="test-secret-key-not-for-production",
        environment="test",
        log_level="WARNING",
        encryption_keys=TEST_ENCRYPTION_KEY,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking; commit explicitly to make data visible.

    Deferred on SQLite (``reader``): it may stay open beside a running server without
    holding the write lock; a write through it takes the lock only then.
    """
    with reader(sessions) as session:
        yield session


@pytest.fixture
def make_user(sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """Create a committed user: make_user("operator", ["Oslo"]) -> User."""
    counter = iter(range(1, 10_000))

    def _make(
        role: str,
        districts: list[str] | None = None,
        email: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        email = email or f"{role}{next(counter)}@test.stemme.no"
        with sessions() as session, session.begin():
            data = service.UserInput(email, role, tuple(districts or ()), f"Test {role}")
            return service.create_user(session, command_line_principal("test"), data, password)

    return _make


# --- real HTTP server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn on loopback in a thread, serving create_app(settings)."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[WebClient]:
    with WebClient(live_server.url) as web:
        yield web
