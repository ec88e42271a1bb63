"""The worker loop: file journalled webhook messages, analyse pending messages and deliver
queued replies in short transactions, sleep briefly when idle.

The database is the queue (messages with ``analyzed_at IS NULL``), so a crash loses
nothing: a message stays pending until a committed analysis. On PostgreSQL several workers
(processes or threads) may run; each claims its batch with ``FOR UPDATE SKIP LOCKED`` and
analyses it in one transaction. On SQLite run one worker (the in-process one of ``stemme
serve``, or ``stemme worker``); there a writing transaction holds the database's write lock
from its start, so the batch is read first, analysed with no transaction open, and stored in
a short one.

A batch takes whatever is pending, up to ``batch`` messages: under load the batches grow,
and the database work per message (a few statements per batch) shrinks with them. After a
batch that was not full the loop waits ``gather_seconds`` so that the next one is not a
handful of messages (a batch costs the same few statements whatever its size); after a full
one it goes straight on. Only when an iteration found nothing does it look for work (read
only) before each iteration and sleep ``idle_seconds`` between looks, unless ``notify()``
wakes it.

Deliveries (operators' replies, the automatic answers) have a loop and thread of their own
in a running worker: a channel that answers slowly or not at all must not hold up the
analysis of the messages behind it, and an emergency answer should not wait for the next
batch to be analysed. ``run_once`` (``stemme worker --once``) does both in turn.

Housekeeping (the retention rules) runs in a third thread, once at start and then every
``housekeeping_seconds``, so a long first purge never delays the analysis of an emergency.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from stemme.db import reader, transaction
from stemme.inbox import journal, outbound, service
from stemme.privacy.crypto import Keyring

log = logging.getLogger("stemme.jobs")

IDLE_SECONDS = 0.2
GATHER_SECONDS = 0.1  # after a batch that was not full, let the next one fill a little
ERROR_BACKOFF_SECONDS = 2.0
BATCH = 100  # messages analysed per transaction (at most)

_workers: weakref.WeakSet[Worker] = weakref.WeakSet()
_workers_lock = threading.Lock()


def notify() -> None:
    """Wake every running worker of this process now (call after storing new messages)."""
    with _workers_lock:
        workers = list(_workers)
    for worker in workers:
        worker.wake()


class Worker:
    """Analyses pending messages and delivers queued outbound messages until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keyring: Keyring,
        *,
        batch: int = BATCH,
        idle_seconds: float = IDLE_SECONDS,
        gather_seconds: float = GATHER_SECONDS,
        senders: outbound.Senders | None = None,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_seconds: float = 3600.0,
    ) -> None:
        self.sessions = sessions
        self.keyring = keyring
        self.senders = senders
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.gather_seconds = gather_seconds
        self.housekeeping = housekeeping
        self.housekeeping_seconds = housekeeping_seconds
        self._full = False  # was the last analysis batch full (more may be waiting)?
        self._delivering_apart = False  # does a thread of its own deliver (run_forever)?
        self._wake = threading.Event()
        self._wake_delivery = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sqlite = sessions.kw["bind"].dialect.name == "sqlite"
        with _workers_lock:
            _workers.add(self)

    def has_work(self) -> bool:
        """Anything to analyse or deliver? (read only: no write lock while idle)"""
        with reader(self.sessions) as session:
            if journal.has_waiting(session) or service.has_pending(session):
                return True
            return self._sends_here and outbound.due_count(session) > 0

    @property
    def _sends_here(self) -> bool:
        """Does the analysis loop deliver too (``run_once`` alone, as ``stemme worker --once``
        and tests use it), rather than a delivery thread of its own?"""
        return self.senders is not None and not self._delivering_apart

    def run_once(self) -> int:
        """File up to ``batch`` journalled messages, analyse up to ``batch`` messages, then try
        due deliveries (short transactions); the number of messages handled."""
        done = journal.file_journal(self.sessions, limit=self.batch)
        analysed = self._analyse()
        if analysed:
            self._wake_delivery.set()  # automatic answers may be queued now
        done += analysed
        if self._sends_here:
            done += self._deliver()
        return done

    def _analyse(self) -> int:
        self._full = False
        if not self._sqlite:
            with transaction(self.sessions) as session:
                pending = service.claim_pending(session, limit=self.batch)
                self._full = len(pending) >= self.batch
                analysed = service.analyze_claimed(self.keyring, pending)
                return service.store_analyses(session, self.keyring, analysed)
        with reader(self.sessions) as session:
            pending = service.claim_pending(session, limit=self.batch)
        if not pending:
            return 0
        self._full = len(pending) >= self.batch
        analysed = service.analyze_claimed(self.keyring, pending)
        with transaction(self.sessions) as session:
            return service.store_analyses(session, self.keyring, analysed)

    def _deliver(self) -> int:
        """Claim due outbound messages, send them with no transaction open, record results."""
        assert self.senders is not None
        with transaction(self.sessions) as session:
            deliveries = outbound.claim_due(session, self.keyring, limit=self.batch)
        if not deliveries:
            return 0
        results = outbound.send_all(self.senders, deliveries)
        with transaction(self.sessions) as session:
            outbound.record_results(session, results)
        return len(deliveries)

    def drain(self) -> int:
        """Work until nothing is due (``stemme worker --once``); the number handled."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def warm_up(self) -> None:
        """Load the language, privacy and triage models now, outside any transaction: on
        SQLite a transaction holds the write lock, and loading takes seconds."""
        from stemme.understanding import language
        from stemme.understanding.pipeline import analyze

        try:
            language.preload()
            analyze("Hei, dette er en prøve.")
        except Exception:
            log.exception("warm-up failed")

    def _has_due(self) -> bool:
        with reader(self.sessions) as session:
            return outbound.due_count(session) > 0

    def _deliver_forever(self) -> None:
        """The delivery loop: a slow or failing channel (the Send API can take seconds)
        never holds up filing and analysis, and an emergency answer goes out while the next
        batch is analysed."""
        busy = False
        while not self._stop.is_set():
            try:
                busy = (self._deliver() if busy or self._has_due() else 0) > 0
            except Exception:
                log.exception("delivery iteration failed")
                busy = False
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            if not busy:
                self._wake_delivery.wait(self.idle_seconds)
                self._wake_delivery.clear()

    def _housekeep_forever(self) -> None:
        """Housekeeping now, then every ``housekeeping_seconds`` until stopped."""
        assert self.housekeeping is not None
        while not self._stop.is_set():
            try:
                self.housekeeping()
            except Exception:
                log.exception("housekeeping failed")
            self._stop.wait(self.housekeeping_seconds)

    def run_forever(self) -> None:
        self.warm_up()
        if self.housekeeping is not None:
            threading.Thread(
                target=self._housekeep_forever, name="stemme-housekeeping", daemon=True
            ).start()
        delivery = None
        if self.senders is not None:
            self._delivering_apart = True
            delivery = threading.Thread(
                target=self._deliver_forever, name="stemme-delivery", daemon=True
            )
            delivery.start()
        try:
            self._analyse_forever()
        finally:
            self._stop.set()
            self._wake_delivery.set()
            if delivery is not None:
                delivery.join(30)
            self._delivering_apart = False

    def _analyse_forever(self) -> None:
        log.info("worker started")
        busy = False  # did the last iteration find work? then skip the look and go on
        while not self._stop.is_set():
            try:
                done = self.run_once() if busy or self.has_work() else 0
            except Exception:
                log.exception("worker iteration failed")
                busy = False
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            busy = done > 0
            if not busy:
                self._wake.wait(self.idle_seconds)
                self._wake.clear()
            elif not self._full:
                self._stop.wait(self.gather_seconds)
        log.info("worker stopped")

    def wake(self) -> None:
        self._wake.set()
        self._wake_delivery.set()

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="stemme-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._wake_delivery.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with _workers_lock:
            _workers.discard(self)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
