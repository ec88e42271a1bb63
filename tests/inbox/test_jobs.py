"""The job runner: short transactions, wake-ups, errors, and `stemme worker`."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from stemme import jobs
from stemme.cli import app
from stemme.config import Settings
from stemme.db import transaction
from stemme.inbox import service
from stemme.inbox.models import Message
from stemme.inbox.outbound import Delivery, DeliveryResult
from stemme.jobs import runner
from stemme.privacy.crypto import Keyring
from tests.inbox.conftest import Inbound


def _receive(sessions: sessionmaker[Session], keyring: Keyring, msg: object) -> int:
    with transaction(sessions) as session:
        return service.receive(session, keyring, msg).message_id  # type: ignore[arg-type]


def test_run_once_and_drain(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    for n in range(3):
        _receive(sessions, keyring, inbound(f"Melding {n}", thread=str(n)))
    worker = jobs.Worker(sessions, keyring, batch=2)
    assert worker.run_once() == 2
    assert worker.drain() == 1
    assert worker.run_once() == 0
    with sessions() as session:
        assert service.pending_count(session) == 0


def test_a_running_worker_wakes_on_notify_and_stops(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    worker = jobs.Worker(sessions, keyring, idle_seconds=30)  # only notify() wakes it
    worker.start()
    try:
        assert worker.running
        time.sleep(0.1)  # now idle
        message_id = _receive(sessions, keyring, inbound("Hei, jeg har et spørsmål"))
        jobs.notify()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sessions() as session:
                message = session.get(Message, message_id)
                assert message is not None
                if message.analyzed_at is not None:
                    break
            time.sleep(0.02)
        else:
            pytest.fail("not analysed after notify()")
    finally:
        worker.stop()
    assert not worker.running


def test_an_iteration_that_fails_is_logged_and_retried(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []
    failed = threading.Event()

    def flaky(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        failed.set()
        return 0

    monkeypatch.setattr(jobs.Worker, "_analyse", flaky)
    monkeypatch.setattr(runner, "ERROR_BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(jobs.Worker, "has_work", lambda self: True)
    worker = jobs.Worker(sessions, keyring, idle_seconds=0.01)
    worker.start()
    try:
        assert failed.wait(30)  # after the models are loaded
    finally:
        worker.stop()
    assert "worker iteration failed" in caplog.text


def test_stemme_worker_once(
    settings: Settings, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _receive(sessions, keyring, inbound("Hei"))
    env = {
        "STEMME_DATABASE_URL": settings.database_url,
        "STEMME_ENCRYPTION_KEYS": settings.encryption_keys,
    }
    result = CliRunner().invoke(app, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    with sessions() as session:
        assert service.pending_count(session) == 0


def test_stemme_worker_runs_until_interrupted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs.Worker, "run_forever", lambda self: None)
    env = {
        "STEMME_DATABASE_URL": settings.database_url,
        "STEMME_ENCRYPTION_KEYS": settings.encryption_keys,
    }
    result = CliRunner().invoke(app, ["worker"], env=env)
    assert result.exit_code == 0, result.output


def test_stemme_worker_needs_encryption_keys(settings: Settings) -> None:
    env = {"STEMME_DATABASE_URL": settings.database_url, "STEMME_ENCRYPTION_KEYS": ""}
    result = CliRunner().invoke(app, ["worker", "--once"], env=env)
    assert result.exit_code != 0


@pytest.mark.parametrize("overrides", [{"encryption_keys": ""}, {"run_jobs_in_process": False}, {}])
def test_the_web_process_runs_a_worker_only_when_configured(
    settings: Settings, overrides: dict[str, object]
) -> None:
    from tests.conftest import LiveServer

    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "stemme-worker" and t.is_alive()]

    before = len(workers())
    with LiveServer(settings.model_copy(update=overrides)):
        running = len(workers()) - before
    assert running == (0 if overrides else 1)


def test_a_busy_worker_goes_straight_on_and_looks_for_work_only_when_idle(
    sessions: sessionmaker[Session], keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a full batch straight on; after one that was not full a short wait for more;
    after nothing a look for work (read only) before the next try."""
    calls: list[str] = []
    script = iter([(3, True), (2, False), (0, False), (1, True), (0, False)])
    worker = jobs.Worker(sessions, keyring, idle_seconds=0.01, gather_seconds=0.01)

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            calls.append("gather")
            return super().wait(timeout)

    worker._stop = Stop()

    def look(self: jobs.Worker) -> bool:
        calls.append("look")
        return True

    def run(self: jobs.Worker) -> int:
        calls.append("run")
        done, self._full = next(script)
        if calls.count("run") == 5:
            self._stop.set()
        return done

    monkeypatch.setattr(jobs.Worker, "has_work", look)
    monkeypatch.setattr(jobs.Worker, "run_once", run)
    monkeypatch.setattr(jobs.Worker, "warm_up", lambda self: None)
    worker.run_forever()
    assert calls == ["look", "run", "run", "gather", "run", "look", "run", "run"]


def test_the_worker_knows_whether_its_batch_was_full(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    for n in range(3):
        _receive(sessions, keyring, inbound(f"Melding {n}", thread=str(n)))
    worker = jobs.Worker(sessions, keyring, batch=2)
    assert worker.run_once() == 2
    assert worker._full
    assert worker.run_once() == 1
    assert not worker._full
    assert worker.run_once() == 0
    assert not worker._full


def test_a_slow_channel_does_not_hold_up_analysis(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    """The emergency answer hangs in the Send API; the next message is analysed meanwhile."""
    sending, release = threading.Event(), threading.Event()

    class Hanging:
        def send(self, delivery: Delivery) -> DeliveryResult:
            sending.set()
            release.wait(30)
            return DeliveryResult(True, external_id="late")

    _receive(sessions, keyring, inbound("Hjelp, det er en mann med kniv her nå!", thread="a"))
    worker = jobs.Worker(sessions, keyring, idle_seconds=0.05, senders={"webchat": Hanging()})
    worker.start()
    try:
        assert sending.wait(60)  # the automatic 112 answer is on its way, and stuck
        later = _receive(sessions, keyring, inbound("Hvordan fornyer jeg passet?", thread="b"))
        jobs.notify()
        deadline = time.monotonic() + 20
        analysed = False
        while not analysed and time.monotonic() < deadline:
            with sessions() as session:
                message = session.get(Message, later)
                analysed = message is not None and message.analyzed_at is not None
            time.sleep(0.05)
        assert analysed, "analysis waited for the channel"
    finally:
        release.set()
        worker.stop()
    assert not any(t.name == "stemme-delivery" and t.is_alive() for t in threading.enumerate())
