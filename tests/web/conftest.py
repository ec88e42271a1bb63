"""Fixtures for the web and API tests: more logged-in browsers, API tokens, an API client.

The app commits its database transaction only *after* the response has been sent (the
``db_session`` dependency runs with FastAPI's default "request" scope), so a client that
fires its next request at once can race the previous commit. That bug has its own test
(test_shell.py::test_writes_are_committed_before_the_response); everywhere else the clients
below wait until the server has finished every request before they return a response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

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


def settle(server: LiveServer, timeout: float = 10.0) -> None:
    """Wait until uvicorn has no request task left (so its commit, after the response, ran)."""
    deadline = time.monotonic() + timeout
    while server.server.server_state.tasks:
        if time.monotonic() > deadline:
            raise AssertionError("the server did not finish its requests in time")
        time.sleep(0.001)


class SettledWebClient(WebClient):
    """A WebClient that returns a response only once the server has finished the request."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(server.url)
        self.server = server

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = super().request(method, url, **kwargs)
        settle(self.server)
        return response


class SettledClient(httpx.Client):
    """httpx.Client for the JSON API that waits for the server like SettledWebClient."""

    def __init__(self, server: LiveServer, **kwargs: Any) -> None:
        super().__init__(base_url=f"{server.url}/api/v1", timeout=30, **kwargs)
        self.server = server

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        settle(self.server)
        return response


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[WebClient]:
    """Overrides tests/conftest.py's client with one that waits for the server's commit."""
    with SettledWebClient(live_server) as web:
        yield web


@pytest.fixture
def login_as(live_server: LiveServer) -> Iterator[LoginAs]:
    """login_as(email) -> a fresh WebClient logged in as that user; login_as() -> anonymous."""
    opened: list[WebClient] = []

    def _open(email: str | None = None, password: str = PASSWORD) -> WebClient:
        web = SettledWebClient(live_server)
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
    with SettledClient(live_server) as http:
        yield http


def count_users(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count(User.id))) or 0)


def find_user(sessions: sessionmaker[Session], email: str) -> User | None:
    with sessions() as session:
        return session.scalar(select(User).where(User.email == email))
