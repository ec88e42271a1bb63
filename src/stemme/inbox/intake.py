"""Intake for the webhook channels: journal what a channel delivered, then wake the worker.

The delivery is in the journal (committed, encrypted) before the adapter acknowledges it,
so an acknowledged message is never lost; the worker files it into its conversation and
analyses it afterwards (the database is the queue). See ``stemme.inbox.journal``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from stemme.inbox.journal import journal_messages
from stemme.inbox.types import InboundMessage
from stemme.jobs import notify
from stemme.privacy.crypto import Keyring

Intake = Callable[[list[InboundMessage]], None]


def make_intake(engine: Engine, keyring: Keyring) -> Intake:
    def deliver(messages: list[InboundMessage]) -> None:
        journal_messages(engine, keyring, messages)
        notify()

    return deliver
