"""Rate limits shared by web processes: one bucket per client and limit in the database,
spent atomically, keyed by a hash; in memory on SQLite's single process."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from stemme.channels.ratelimit import (
    IDLE_BUCKET_SECONDS,
    RateBucket,
    RateLimitedError,
    RateLimiter,
    SharedRateLimiter,
)
from stemme.channels.webchat import Webchat
from stemme.config import Settings
from stemme.jobs.housekeeping import enforce_retention
from stemme.privacy.crypto import Keyring

SECRET = b"test secret"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limiter(
    engine: Engine, clock: Clock, name: str = "test", per_minute: int = 3
) -> SharedRateLimiter:
    return SharedRateLimiter(engine, name, per_minute, SECRET, clock=clock)


def test_two_processes_share_one_limit(engine: Engine) -> None:
    clock = Clock()
    first, second = _limiter(engine, clock), _limiter(engine, clock)  # as two web processes

    assert [first.take("10.0.0.1"), second.take("10.0.0.1"), first.take("10.0.0.1")] == [0.0] * 3
    assert second.take("10.0.0.1") == pytest.approx(20.0)  # 3 per minute: one every 20 s
    with pytest.raises(RateLimitedError) as refused:
        first.check("10.0.0.1")
    assert refused.value.retry_after == 20
    clock.now += 20
    assert second.take("10.0.0.1") == 0.0


def test_limits_and_clients_have_their_own_buckets(engine: Engine) -> None:
    clock = Clock()
    messages, reads = _limiter(engine, clock, "messages", 1), _limiter(engine, clock, "reads", 1)
    assert messages.take(("chat", 1)) == 0.0
    assert reads.take(("chat", 1)) == 0.0  # another limit
    assert messages.take(("chat", 2)) == 0.0  # another client
    assert messages.take(("chat", 1)) > 0


def test_the_bucket_holds_a_keyed_hash_not_the_address(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    limiter = _limiter(engine, Clock())
    limiter.take(("address", "192.0.2.44"))
    with sessions() as session:
        [key] = session.scalars(select(RateBucket.key)).all()
    assert key == limiter.bucket_key(("address", "192.0.2.44"))
    assert key.startswith("test:")
    assert "192.0.2.44" not in key
    other = SharedRateLimiter(engine, "test", 3, b"another secret")
    assert other.bucket_key(("address", "192.0.2.44")) != key


def test_concurrent_requests_never_spend_more_than_the_capacity(engine: Engine) -> None:
    clock = Clock()
    limiter = SharedRateLimiter(engine, "burst", 0.001, SECRET, capacity=20, clock=clock)
    allowed: list[bool] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(5):
            ok = limiter.take("same client") == 0.0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 40
    assert allowed.count(True) == 20


def test_idle_buckets_are_deleted_by_retention(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(UTC).timestamp()
    _limiter(engine, Clock(now - IDLE_BUCKET_SECONDS - 1)).take("old")
    _limiter(engine, Clock(now)).take("recent")

    assert enforce_retention(sessions, settings)["rate_buckets"] == 1
    with sessions() as session:
        assert len(session.scalars(select(RateBucket.key)).all()) == 1


def test_the_web_chat_shares_its_limits_only_where_processes_can_be_several(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    keyring = Keyring.from_setting(settings.encryption_keys)
    shared = Webchat(sessions, keyring, 20, shared_limits_secret=SECRET)
    alone = Webchat(sessions, keyring, 20)
    several = sessions.kw["bind"].dialect.name != "sqlite"
    assert isinstance(shared.limits.messages, SharedRateLimiter) is several
    assert isinstance(alone.limits.messages, RateLimiter)
