"""Fixtures for channel adapters: any ASGI app on loopback, the Meta webhook app, a fake Graph."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from stemme.channels.meta_routes import MetaWebhookEndpoint, meta_router
from stemme.config import Settings, load_settings
from stemme.inbox.types import InboundMessage
from tests.channels.fake_graph import FakeGraph

APP_SECRET = "test-app-secret-0123456789abcdef"
VERIFY_TOKEN = "test-verify-token-stemme"
PAGE_ID = "104523987654321"
IG_ACCOUNT_ID = "17841400123456789"
PAGE_TOKEN = "EAAtestpagetoken0000SECRET"
IG_TOKEN = "EAAtestigtoken1111SECRET"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """uvicorn on loopback in a thread, serving any ASGI app (the LiveServer pattern)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:///:memory:",
        "environment": "test",
        "log_level": "WARNING",
        "meta_app_secret": APP_SECRET,
        "meta_verify_token": VERIFY_TOKEN,
        "meta_page_tokens": {PAGE_ID: PAGE_TOKEN, IG_ACCOUNT_ID: IG_TOKEN},
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def meta_settings() -> Settings:
    return make_settings()


class Intake:
    """A recording ``deliver``: one list per call. ``fail`` makes the next call raise."""

    def __init__(self) -> None:
        self.calls: list[list[InboundMessage]] = []
        self.fail = False

    def __call__(self, messages: list[InboundMessage]) -> None:
        if self.fail:
            raise RuntimeError("database is down")
        self.calls.append(list(messages))

    @property
    def messages(self) -> list[InboundMessage]:
        return [m for call in self.calls for m in call]


def webhook_app(settings: Settings, intake: Intake | None) -> FastAPI:
    app = FastAPI()
    app.include_router(meta_router)
    app.add_middleware(MetaWebhookEndpoint)
    app.state.stemme = SimpleNamespace(settings=settings)
    if intake is not None:
        app.state.stemme_intake = intake
    return app


@pytest.fixture
def intake() -> Intake:
    return Intake()


@pytest.fixture
def webhook(meta_settings: Settings, intake: Intake) -> Iterator[httpx.Client]:
    """An HTTP client for a live app that mounts only the Meta router."""
    with (
        Served(webhook_app(meta_settings, intake)) as served,
        httpx.Client(base_url=served.url, timeout=10) as http,
    ):
        yield http


@pytest.fixture
def fake_graph() -> Iterator[tuple[FakeGraph, str]]:
    """The fake Graph API and its base URL (with a version path, like the real one)."""
    fake = FakeGraph()
    with Served(fake.app) as served:
        yield fake, f"{served.url}/v21.0"
