"""Intake for channel adapters: store what a channel delivered, then wake the analysis worker.

The delivery is committed before the adapter acknowledges it, so an acknowledged message is
never lost; analysis happens afterwards in the worker (the database is the queue).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.inbox.service import receive
from stemme.inbox.types import InboundMessage
from stemme.jobs import notify
from stemme.privacy.crypto import Keyring

Intake = Callable[[list[InboundMessage]], None]


def make_intake(sessions: sessionmaker[Session], keyring: Keyring) -> Intake:
    def deliver(messages: list[InboundMessage]) -> None:
        with transaction(sessions) as session:
            for message in messages:
                receive(session, keyring, message)
        notify()

    return deliver
