"""The inbox's retention rules (the ``retention`` texts on its models, enforced).

- originals: 90 days after a conversation closed its messages' originals (encrypted) are
  wiped; the redacted text stays, so statistics and the insight bank keep what they need;
- conversations: 12 months after closing, the conversation goes with its messages, notes
  and training labels; its feedback stays (unlinked) for the statistics;
- feedback: 24 months after it was given;
- channel contacts (e-mail addresses and threading headers): when no conversation of the
  thread is left;
- web chat sessions: 24 hours after their last use;
- intake journal rows given up (and not released by an administrator): as long as an
  original is kept, counted from their arrival, then deleted (and logged as lost).

A conversation that is open again (``closed_at`` is cleared on reopening) is never due.
Periods come from the settings (``STEMME_RETENTION_*``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.orm import Session

from stemme.config import Settings
from stemme.inbox.journal import GIVEN_UP
from stemme.inbox.models import WIPED_ORIGINAL as WIPED
from stemme.inbox.models import (
    ChannelContact,
    Conversation,
    Feedback,
    InboundDelivery,
    Message,
    Note,
    TriageLabel,
    WebchatSession,
)
from stemme.privacy.retention import RetentionRule, delete_rows

log = logging.getLogger("stemme.retention")

# A contact is written in the transaction that files its thread's first message; the grace
# period keeps the rule clear of any other order of events.
_CONTACT_GRACE = timedelta(days=1)
_UNFINISHED_DELIVERIES = ("queued", "retrying")


def inbox_rules(settings: Settings) -> list[RetentionRule]:
    """The inbox's rules with the periods of ``settings``, in the order they should run."""
    original = timedelta(days=settings.retention_original_days)
    conversation = timedelta(days=settings.retention_conversation_days)
    feedback = timedelta(days=settings.retention_feedback_days)
    webchat = timedelta(hours=settings.retention_webchat_hours)
    return [
        RetentionRule(
            "originals",
            f"Originaler slettes {original.days} dager etter at samtalen ble lukket",
            lambda now: _originals_due(now - original),
            _wipe_originals,
        ),
        RetentionRule(
            "conversations",
            f"Samtaler slettes {conversation.days} dager etter at de ble lukket",
            lambda now: _closed_before(now - conversation),
            _delete_conversations,
        ),
        RetentionRule(
            "feedback",
            f"Tilbakemeldinger slettes etter {feedback.days} dager",
            lambda now: select(Feedback.id).where(Feedback.created_at <= now - feedback),
            delete_rows(Feedback.id),
        ),
        RetentionRule(
            "channel_contacts",
            "Kontaktopplysninger slettes når tråden ikke har flere samtaler",
            _orphan_contacts,
            delete_rows(ChannelContact.thread_key),
        ),
        RetentionRule(
            "webchat_sessions",
            f"Nettprat-økter slettes {settings.retention_webchat_hours} timer etter siste bruk",
            lambda now: select(WebchatSession.id).where(
                WebchatSession.last_seen_at <= now - webchat
            ),
            delete_rows(WebchatSession.id),
        ),
        RetentionRule(
            "journal_given_up",
            f"Meldinger som ikke kunne arkiveres, slettes etter {original.days} dager",
            lambda now: select(InboundDelivery.id).where(
                GIVEN_UP,
                InboundDelivery.received_at <= now - original,
            ),
            _delete_given_up,
        ),
    ]


def _delete_given_up(session: Session, ids: Sequence[Any]) -> None:
    log.error("intake journal: given-up rows deleted under retention", extra={"count": len(ids)})
    delete_rows(InboundDelivery.id)(session, ids)


def _closed_before(cutoff: datetime) -> Select[Any]:
    return select(Conversation.id).where(
        Conversation.status == "closed", Conversation.closed_at <= cutoff
    )


def _originals_due(cutoff: datetime) -> Select[Any]:
    return select(Message.id).where(
        Message.conversation_id.in_(_closed_before(cutoff)),
        Message.raw_encrypted != WIPED,
        Message.delivery.is_(None) | Message.delivery.not_in(_UNFINISHED_DELIVERIES),
    )


def _wipe_originals(session: Session, ids: Sequence[Any]) -> None:
    session.execute(update(Message).where(Message.id.in_(ids)).values(raw_encrypted=WIPED))


def _delete_conversations(session: Session, ids: Sequence[Any]) -> None:
    """A conversation with everything that hangs on it, child rows first (explicit, so that
    it does not depend on the engine enforcing ON DELETE)."""
    messages = select(Message.id).where(Message.conversation_id.in_(ids))
    session.execute(delete(TriageLabel).where(TriageLabel.message_id.in_(messages)))
    session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
    session.execute(delete(Note).where(Note.conversation_id.in_(ids)))
    session.execute(
        update(Feedback).where(Feedback.conversation_id.in_(ids)).values(conversation_id=None)
    )
    delete_rows(Conversation.id)(session, ids)


def _orphan_contacts(now: datetime) -> Select[Any]:
    thread_left = exists().where(
        Conversation.channel == ChannelContact.channel,
        Conversation.thread_key == ChannelContact.thread_key,
    )
    return select(ChannelContact.thread_key).where(
        ~thread_left, ChannelContact.updated_at <= now - _CONTACT_GRACE
    )
