"""What operators do with a conversation: reply, note, assign, transfer, change status, close.

Framework-free: the HTML views and the JSON API call these functions. Each takes the
acting ``Principal``, checks ``Permission.WORK_INBOX`` and the district scope (a
conversation outside the scope is "not found"), and writes an audit event for changes that
matter afterwards (who moved or closed what). Texts are stored like citizen messages: the
original encrypted, a redacted copy for display and analysis.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme import geo
from stemme.db import utcnow
from stemme.errors import InvalidInputError, NotFoundError
from stemme.identity import audit
from stemme.identity.access import Permission, Principal, Role
from stemme.identity.models import User
from stemme.inbox import outbound
from stemme.inbox.models import (
    OUTCOMES,
    STATUSES,
    CannedReply,
    Conversation,
    Message,
    Note,
)
from stemme.inbox.service import _visible_conversation, _visible_message
from stemme.privacy.crypto import Keyring

MAX_REPLY_LENGTH = 2000  # Messenger's limit for one text message
MAX_NOTE_LENGTH = 4000
REPLYING_ROLES = (Role.ADMIN, Role.LEADER, Role.OPERATOR)


def _working(session: Session, principal: Principal, conversation_id: int) -> Conversation:
    principal.require(Permission.WORK_INBOX)
    return _visible_conversation(session, principal, conversation_id)


def _checked_text(text: str, limit: int) -> str:
    text = text.strip()
    if not text:
        raise InvalidInputError("Teksten kan ikke være tom.")
    if len(text) > limit:
        raise InvalidInputError("Teksten er for lang (høyst %(limit)s tegn).", limit=limit)
    return text


# --- replies -------------------------------------------------------------------------------


def reply(
    session: Session, principal: Principal, keyring: Keyring, conversation_id: int, text: str
) -> Message:
    """Queue an operator's reply; the worker delivers it on the conversation's channel.

    The first reply sets the first-response time (the SLA figure); after a reply the
    conversation waits for the citizen. A closed conversation cannot be answered.
    """
    conversation = _working(session, principal, conversation_id)
    text = _checked_text(text, MAX_REPLY_LENGTH)
    if conversation.status == "closed":
        raise InvalidInputError("Samtalen er avsluttet; den kan ikke besvares.")
    message = outbound.queue_outbound(
        session, keyring, conversation, text, "reply", author_id=principal.user_id
    )
    now = utcnow()
    if conversation.first_response_at is None:
        conversation.first_response_at = now
    if conversation.assignee_id is None and principal.user_id is not None:
        conversation.assignee_id = principal.user_id
    conversation.status = "waiting"
    return message


def retry_delivery(session: Session, principal: Principal, message_id: int) -> Message:
    """Queue a reply that failed again."""
    principal.require(Permission.WORK_INBOX)
    message = _visible_message(session, principal, message_id)
    if message.direction != "out":
        raise InvalidInputError("Bare svar som ikke ble levert kan sendes på nytt.")
    if message.delivery == "failed":  # queued, retrying or sent: nothing to do
        outbound.requeue(message)
    return message


# --- canned replies --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CannedView:
    key: str
    lang: str
    title: str
    body: str


def canned_replies(session: Session, principal: Principal, lang: str | None) -> list[CannedView]:
    """The canned replies in ``lang`` (bokmål for languages without their own set)."""
    principal.require(Permission.VIEW_INBOX)
    rows = session.scalars(select(CannedReply).order_by(CannedReply.key)).all()
    langs = {r.lang for r in rows}
    wanted = lang if lang in langs else "nb"
    return [CannedView(r.key, r.lang, r.title, r.body) for r in rows if r.lang == wanted]


def fill_canned(
    session: Session, principal: Principal, conversation_id: int, key: str
) -> CannedView:
    """A canned reply in the conversation's language with its {variables} filled in."""
    conversation = _working(session, principal, conversation_id)
    replies = {c.key: c for c in canned_replies(session, principal, conversation.lang)}
    found = replies.get(key)
    if found is None:
        raise NotFoundError("Fant ingen ferdig tekst %(key)s.", key=key)
    operator = session.get(User, principal.user_id) if principal.user_id else None
    values = {
        "district": conversation.district or "",
        "operator": operator.display_name if operator else "",
    }
    body = found.body
    for name, value in values.items():
        body = body.replace("{" + name + "}", value)
    return CannedView(found.key, found.lang, found.title, body)


# --- notes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteView:
    id: int
    author: str | None
    text: str
    created_at: datetime


def add_note(
    session: Session, principal: Principal, keyring: Keyring, conversation_id: int, text: str
) -> Note:
    """An internal note (never sent): stored encrypted, shown redacted."""
    from stemme.understanding.pipeline import redact_text

    conversation = _working(session, principal, conversation_id)
    text = _checked_text(text, MAX_NOTE_LENGTH)
    note = Note(
        uid=uuid.uuid4().hex,
        conversation_id=conversation.id,
        author_id=principal.user_id,
        redacted_text=redact_text(text),
        created_at=utcnow(),
    )
    note.raw_encrypted = keyring.encrypt(text, b"note:" + note.uid.encode("ascii"))
    session.add(note)
    session.flush()
    return note


def notes(session: Session, principal: Principal, conversation_id: int) -> list[NoteView]:
    principal.require(Permission.VIEW_INBOX)
    conversation = _visible_conversation(session, principal, conversation_id)
    rows = session.execute(
        select(Note, User.display_name)
        .outerjoin(User, User.id == Note.author_id)
        .where(Note.conversation_id == conversation.id)
        .order_by(Note.id)
    ).all()
    return [NoteView(n.id, name, n.redacted_text, n.created_at) for n, name in rows]


# --- assignment, transfer, status ----------------------------------------------------------


def assignable_users(
    session: Session, principal: Principal, conversation_id: int
) -> list[tuple[int, str]]:
    """Active operators, leaders and admins whose scope covers the conversation."""
    conversation = _working(session, principal, conversation_id)
    users = session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.display_name)
    ).all()
    return [
        (u.id, u.display_name)
        for u in users
        if Role(u.role) in REPLYING_ROLES and _covers(u, conversation.district)
    ]


def _covers(user: User, district: str | None) -> bool:
    return user.national_scope or (district is not None and district in user.districts)


def assign(
    session: Session, principal: Principal, conversation_id: int, user_id: int | None
) -> Conversation:
    """Give the conversation to an operator (None: back to the shared queue)."""
    conversation = _working(session, principal, conversation_id)
    if user_id is not None and user_id not in dict(
        assignable_users(session, principal, conversation_id)
    ):
        raise InvalidInputError("Brukeren kan ikke få tildelt denne samtalen.")
    previous = conversation.assignee_id
    conversation.assignee_id = user_id
    if conversation.status == "new" and user_id is not None:
        conversation.status = "open"
    audit.record(
        session,
        principal,
        "conversation.assign",
        "conversation",
        conversation.id,
        district=conversation.district,
        details={"from": previous, "to": user_id},
    )
    return conversation


def transfer(
    session: Session, principal: Principal, conversation_id: int, district: str
) -> Conversation:
    """Move the conversation to another police district's queue (unassigned there)."""
    conversation = _working(session, principal, conversation_id)
    if district not in geo.POLICE_DISTRICTS:
        raise InvalidInputError("Ukjent politidistrikt: %(district)s", district=district)
    previous = conversation.district
    if previous == district:
        return conversation  # already there: nothing to do
    conversation.district = district
    conversation.assignee_id = None
    if conversation.status != "closed":
        conversation.status = "new"
    audit.record(
        session,
        principal,
        "conversation.transfer",
        "conversation",
        conversation.id,
        district=previous,
        details={"from": previous, "to": district},
    )
    return conversation


FEEDBACK_CHANNELS = ("messenger", "instagram", "webchat", "email")


def set_status(
    session: Session,
    principal: Principal,
    keyring: Keyring,
    conversation_id: int,
    status: str,
    outcome: str | None = None,
) -> Conversation:
    """Change the status; closing needs an outcome and asks the citizen for feedback."""
    conversation = _working(session, principal, conversation_id)
    if status not in STATUSES:
        raise InvalidInputError("Ukjent status: %(status)s", status=status)
    if status == "closed":
        return _close(session, principal, keyring, conversation, outcome)
    conversation.status = status
    conversation.closed_at = None
    conversation.outcome = None
    return conversation


def _close(
    session: Session,
    principal: Principal,
    keyring: Keyring,
    conversation: Conversation,
    outcome: str | None,
) -> Conversation:
    if outcome not in OUTCOMES:
        raise InvalidInputError("Velg et utfall før samtalen avsluttes.")
    if conversation.status == "closed":
        raise InvalidInputError("Samtalen er allerede avsluttet.")
    from stemme.inbox.auto import feedback_question

    now = utcnow()
    conversation.status = "closed"
    conversation.outcome = outcome
    conversation.closed_at = now
    if conversation.channel in FEEDBACK_CHANNELS and outcome != "spam":
        text = feedback_question(conversation.lang)
        outbound.queue_outbound(session, keyring, conversation, text, "feedback_question")
        conversation.feedback_requested_at = now
    audit.record(
        session,
        principal,
        "conversation.close",
        "conversation",
        conversation.id,
        district=conversation.district,
        details={"outcome": outcome},
    )
    return conversation
