"""Rate limits as token buckets: in memory for one process, in the database for several.

``stemme serve --workers N`` runs N web processes behind one port (PostgreSQL only); with
buckets in memory a client would get N times its limit, depending on which process answers.
``SharedRateLimiter`` keeps the same buckets in one table, updated by a single
``INSERT … ON CONFLICT DO UPDATE`` that refills, spends and answers in one round trip, so
concurrent requests of one client cannot both take the last token. Keys are stored only as
a keyed hash: a client's address is personal data and need not be readable to be counted.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    Boolean,
    Engine,
    Float,
    Select,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from stemme.db import Base
from stemme.errors import N_, StemmeError

# A bucket untouched this long is full again for any limit stemme sets (the slowest refills
# in a minute), so it can be forgotten.
IDLE_BUCKET_SECONDS = 3600.0


class RateLimitedError(StemmeError):
    status = 429
    title = N_("For mange meldinger")

    def __init__(self, retry_after: float) -> None:
        super().__init__(N_("Du har sendt mange meldinger på kort tid. Vent litt og prøv igjen."))
        self.retry_after = max(1, math.ceil(retry_after))


class TokenBuckets:
    """``capacity`` requests at once per key, refilled at ``per_minute`` per minute."""

    def __init__(self, per_minute: float, capacity: float | None) -> None:
        self.rate = max(per_minute, 0.001) / 60.0
        self.capacity = max(1.0, capacity if capacity is not None else per_minute)

    def take(self, key: object) -> float:  # pragma: no cover - every subclass has its own
        """Spend one token: 0.0 when allowed, else the seconds until one is available."""
        raise NotImplementedError

    def check(self, *keys: object) -> None:
        """Spend one token of every key; RateLimitedError with the longest wait if one is out."""
        waits = [self.take(key) for key in keys]
        wait = max(waits, default=0.0)
        if wait > 0:
            raise RateLimitedError(wait)


class RateLimiter(TokenBuckets):
    """Token buckets in this process's memory (one web process: SQLite, tests).

    Keys are whatever identifies a client (an address, a chat id). Full buckets are forgotten
    now and then, so memory stays bounded by the clients active in the last minute or so.
    """

    def __init__(
        self,
        per_minute: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        super().__init__(per_minute, capacity)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: object) -> float:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]


class RateBucket(Base):
    """One client's bucket of one limit, shared by every web process."""

    __tablename__ = "rate_buckets"
    retention: ClassVar[str] = "rate limit: a keyed hash of the client, deleted an hour after use"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)  # time.time() of the last request: all processes'
    allowed: Mapped[bool] = mapped_column(Boolean)  # was that request allowed?


class SharedRateLimiter(TokenBuckets):
    """Token buckets in the database: one limit for a client, whichever process it reaches.

    ``name`` tells this limit's buckets from another's with the same key (a chat's messages
    and its reads); ``secret`` keys the hash that stands for the key.
    """

    def __init__(
        self,
        engine: Engine,
        name: str,
        per_minute: float,
        secret: bytes,
        capacity: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(per_minute, capacity)
        self.engine = engine
        self.name = name
        self.secret = secret
        self.clock = clock
        self._statement = _spend_statement(engine.dialect.name, self.capacity, self.rate)

    def bucket_key(self, key: object) -> str:
        digest = hmac.new(self.secret, repr(key).encode(), hashlib.sha256).hexdigest()
        return f"{self.name}:{digest[:48]}"

    def take(self, key: object) -> float:
        params = {"key": self.bucket_key(key), "now": self.clock()}
        with self.engine.begin() as connection:  # its own transaction: a refusal counts too
            tokens, allowed = connection.execute(self._statement, params).one()
        return 0.0 if allowed else (1.0 - tokens) / self.rate


def _spend_statement(dialect: str, capacity: float, rate: float) -> Any:
    """Refill a bucket to now, spend a token if there is one, and say whether there was."""
    table = cast(Table, RateBucket.__table__)
    now = bindparam("now", type_=Float)
    smaller = func.least if dialect == "postgresql" else func.min  # SQLite: scalar min()
    refilled = smaller(literal(capacity), table.c.tokens + (now - table.c.at) * literal(rate))
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(
        key=bindparam("key"), tokens=literal(capacity - 1.0), at=now, allowed=True
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
            "at": now,
            "allowed": refilled >= 1.0,
        },
    ).returning(table.c.tokens, table.c.allowed)


def idle_buckets(now: datetime) -> Select[Any]:
    """The keys of the buckets unused for ``IDLE_BUCKET_SECONDS`` (their retention rule)."""
    return select(RateBucket.key).where(RateBucket.at <= now.timestamp() - IDLE_BUCKET_SECONDS)
