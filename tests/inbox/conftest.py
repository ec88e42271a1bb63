"""Fixtures for the inbox tests: the keyring of the test settings and a message factory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from stemme.config import Settings
from stemme.db import utcnow
from stemme.identity import passwords
from stemme.identity.models import User
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import Keyring
from tests.conftest import LiveServer
from tests.helpers import WebClient, api_headers

URGENT_TEXT = "Hjelp, det er innbrudd hos naboen min nå! Ring meg på 912 34 567, Kari Nordmann"
QUESTION_TEXT = "Hei, når åpner passkontoret i Tromsø?"
THANKS_TEXT = "Takk for god hjelp i går"

Inbound = Callable[..., InboundMessage]
Login = Callable[[User], WebClient]
Call = Callable[..., httpx.Response]  # call(method, path under /api/v1, token, **httpx kwargs)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return Keyring.from_setting(settings.encryption_keys)


@pytest.fixture
def inbound() -> Inbound:
    """inbound(text, thread="t1", district="Oslo", channel="webchat", mid=None)."""
    counter = itertools.count(1)

    def _make(
        text: str = THANKS_TEXT,
        thread: str = "t1",
        district: str | None = "Oslo",
        channel: str = "webchat",
        mid: str | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            channel=channel,
            thread_key=thread,
            channel_message_id=mid or f"m{next(counter)}",
            text=text,
            sent_at=utcnow(),
            channel_district=district,
        )

    return _make


@pytest.fixture
def login(live_server: LiveServer) -> Iterator[Login]:
    """login(user) -> a web client logged in as ``user`` on the live server (closed after)."""
    opened: list[WebClient] = []

    def _login(user: User) -> WebClient:
        web = WebClient(live_server.url)
        opened.append(web)
        web.login(user.email)
        return web

    yield _login
    for web in opened:
        web.http.close()


@pytest.fixture
def call(live_server: LiveServer) -> Iterator[Call]:
    """call(method, path, token) -> the JSON API's response, with the token as bearer."""
    with httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30) as http:

        def _call(method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
            return http.request(method, path, headers=api_headers(token), **kwargs)

        yield _call


@pytest.fixture(scope="package", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """argon2id with tiny costs: the inbox tests create many users and log some in (the
    production profile is the subject of tests/identity)."""
    patch = pytest.MonkeyPatch()
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    patch.setattr(passwords, "_hasher", lambda: cheap)
    yield
    patch.undo()
