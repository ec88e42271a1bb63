"""Fixtures for the web and API tests: more logged-in browsers, API tokens, an API client.

The app commits each request's transaction before its response is sent
(test_shell.py::test_writes_are_committed_before_the_response), so these clients are plain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from stemme.identity import passwords, service
from stemme.identity.models import User
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, WebClient

LoginAs = Callable[..., WebClient]
TokenFor = Callable[..., str]
MakeUser = Callable[..., User]  # tests/conftest.py's make_user


@pytest.fixture(scope="package", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """argon2id with tiny costs while the web tests run: they create users and log in
    hundreds of times. The production profile is the subject of tests/identity."""
    patch = pytest.MonkeyPatch()
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    patch.setattr(passwords, "_hasher", lambda: cheap)
    yield
    patch.undo()


@pytest.fixture
def login_as(live_server: LiveServer) -> Iterator[LoginAs]:
    """login_as(email) -> a fresh WebClient logged in as that user; login_as() -> anonymous."""
    opened: list[WebClient] = []

    def _open(email: str | None = None, password: str = PASSWORD) -> WebClient:
        web = WebClient(live_server.url)
        opened.append(web)
        if email is not None:
            web.login(email, password)
        return web

    yield _open
    for web in opened:
        web.http.close()


@pytest.fixture
def token_for(sessions: sessionmaker[Session]) -> TokenFor:
    """token_for(user) -> a raw API token of that user (made as the owner would make it)."""

    def _make(user: User, name: str = "test") -> str:
        with sessions() as session, session.begin():
            owner = session.get(User, user.id)
            assert owner is not None
            _, raw = service.create_token(session, service.principal_of(owner), owner, name)
        return raw

    return _make


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for the JSON API (base URL .../api/v1)."""
    with httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30) as http:
        yield http


def count_users(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count(User.id))) or 0)


def find_user(sessions: sessionmaker[Session], email: str) -> User | None:
    with sessions() as session:
        return session.scalar(select(User).where(User.email == email))
