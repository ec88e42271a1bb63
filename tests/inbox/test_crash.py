"""Killing the server (SIGKILL) in the middle of a burst loses no acknowledged message.

A real ``stemme serve`` process receives signed Meta deliveries from several threads; it is
killed with SIGKILL while they are still sending. Every delivery it answered 200 must be in
the database afterwards (filed, or in the intake journal), and after a restart every one is
filed once and analysed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from stemme.channels.meta import sign
from stemme.config import Settings
from stemme.db import make_engine, make_session_factory
from stemme.inbox.models import InboundDelivery, Message
from tests.channels.conftest import free_port
from tests.conftest import TEST_ENCRYPTION_KEY

SECRET = "crash-app-secret"
PAGE = "555000111"
SENDERS = 4


def _delivery(mid: str) -> bytes:
    event = {
        "sender": {"id": f"psid-{mid}"},
        "recipient": {"id": PAGE},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid, "text": f"Hei, sykkelen min ble stjålet ({mid})"},
    }
    payload = {"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [event]}]}
    return json.dumps(payload).encode()


def _server(settings: Settings, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    here = Path(sys.executable).parent
    program = shutil.which("stemme", path=str(here)) or shutil.which("stemme")
    assert program is not None
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STEMME_")}
    env.update(
        STEMME_DATABASE_URL=settings.database_url,
        STEMME_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,
        STEMME_META_APP_SECRET=SECRET,
        STEMME_META_PAGE_TOKENS=json.dumps({PAGE: "token"}),
        STEMME_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [program, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("stemme serve did not start")


def _burst(url: str, prefix: str, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=5) as http:
        for number in range(10_000):
            if stop.is_set():
                return
            mid = f"{prefix}-{number}"
            body = _delivery(mid)
            headers = {"x-hub-signature-256": sign(SECRET, body)}
            try:
                answer = http.post("/channels/meta/webhook", content=body, headers=headers)
            except httpx.HTTPError:
                return  # the server is gone
            if answer.status_code == 200:
                acknowledged.append(mid)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_burst_loses_no_acknowledged_message(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    server = _server(settings, port, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()
    url = f"http://127.0.0.1:{port}"
    threads = [
        threading.Thread(target=_burst, args=(url, f"t{n}", acknowledged, stop))
        for n in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(server.pid, signal.SIGKILL)  # mid-burst, no shutdown of any kind
    server.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged) >= 40

    engine = make_engine(settings.url)
    try:
        with make_session_factory(engine)() as session:
            filed = set(session.scalars(select(Message.channel_message_id)))
            journalled = set(session.scalars(select(InboundDelivery.channel_message_id)))
        assert set(acknowledged) <= filed | journalled, "acknowledged but lost"

        restarted = _server(settings, free_port(), tmp_path)  # the worker picks up the rest
        try:
            deadline = time.monotonic() + 60
            pending = -1
            while time.monotonic() < deadline:
                with make_session_factory(engine)() as session:
                    pending = session.scalar(
                        select(func.count(Message.id)).where(
                            Message.direction == "in", Message.analyzed_at.is_(None)
                        )
                    ) + session.scalar(select(func.count(InboundDelivery.id)))
                if pending == 0:
                    break
                time.sleep(0.2)
            assert pending == 0, "messages left unfiled or unanalysed after the restart"
            with make_session_factory(engine)() as session:
                stored = list(session.scalars(select(Message.channel_message_id)))
            assert set(acknowledged) <= set(stored), "acknowledged but lost"
            assert len(stored) == len(set(stored)), "a message stored twice"
        finally:
            restarted.kill()
            restarted.wait(timeout=10)
    finally:
        engine.dispose()
