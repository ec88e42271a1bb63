"""Queue an operator's reply while a live server runs (as the app would, not as an observer)."""

from __future__ import annotations

from stemme.config import Settings
from stemme.db import make_engine, make_session_factory, transaction
from stemme.inbox import outbound
from stemme.inbox.models import Conversation
from stemme.privacy.crypto import Keyring


def queue_reply(settings: Settings, conversation_id: int, text: str) -> tuple[int, str]:
    """Store a reply for delivery; (message id, uid).

    Uses an engine like the app's: on SQLite its transaction takes the write lock up front, so
    it waits for the server's worker instead of failing on a stale read.
    """
    engine = make_engine(settings.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            keyring = Keyring.from_setting(settings.encryption_keys)
            message = outbound.queue_outbound(session, keyring, conversation, text, "reply")
            return message.id, message.uid
    finally:
        engine.dispose()
