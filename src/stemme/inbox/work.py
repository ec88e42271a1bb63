"""What operators do with a conversation: reply, note, assign, transfer, change status, close.

Framework-free: the HTML views and the JSON API call these functions. Each takes the
acting ``Principal``, checks ``Permission.WORK_INBOX`` and the district scope (a
conversation outside the scope is "not found"), and writes an audit event for changes that
matter afterwards (who moved or closed what). Texts are stored like citizen messages: the
original encrypted, a redacted copy for display and analysis.

The canned replies operators pick in the reply box are managed here too (``create_canned``
and the functions after it): national data, changed only by national admins and leaders,
each change audited.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stemme import geo
from stemme.db import utcnow
from stemme.errors import (
    N_,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
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

# The {variables} a canned reply may contain, with what each becomes (shown to admins as
# help). fill_canned fills exactly these and the admin functions refuse any other.
CANNED_VARIABLES: dict[str, str] = {
    "district": N_("politidistriktet samtalen hører til"),
    "operator": N_("navnet til den som svarer"),
}
# The languages a conversation can have (understanding.language.LANGS but "other"), bokmål
# first: it is the fallback for a language without its own version.
CANNED_LANGUAGES: tuple[str, ...] = ("nb", "nn", "en", "sv", "da")
FALLBACK_LANGUAGE = "nb"
MAX_CANNED_KEY = 40
MAX_CANNED_TITLE = 120  # the column's size
# Room for the filled-in variables, so a filled canned reply still fits in one reply.
MAX_CANNED_BODY = MAX_REPLY_LENGTH - 200
# Underscores too: the keys seeded by migration 0003 (call_112, …) must stay usable.
_CANNED_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_VARIABLE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class CannedView:
    key: str
    lang: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class CannedGroup:
    """One key with its language versions (bokmål first) and the languages it lacks."""

    key: str
    versions: tuple[CannedView, ...]
    missing: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.versions[0].title


class CannedInputError(InvalidInputError):
    """Every invalid field of a canned reply at once; ``fields`` maps field name to error."""

    def __init__(self, fields: dict[str, InvalidInputError]) -> None:
        first = next(iter(fields.values()))
        super().__init__(first.message, **first.params)
        self.fields = fields

    @property
    def errors(self) -> list[dict[str, object]]:
        """Shaped like the API's request validation errors (problem+json ``errors``)."""
        return [{"loc": ["body", name], "msg": e.render()} for name, e in self.fields.items()]


def _canned_view(row: CannedReply) -> CannedView:
    return CannedView(row.key, row.lang, row.title, row.body)


def canned_replies(session: Session, principal: Principal, lang: str | None) -> list[CannedView]:
    """The canned replies in ``lang``; a key without a version in ``lang`` comes in bokmål."""
    principal.require(Permission.VIEW_INBOX)
    rows = session.scalars(select(CannedReply).order_by(CannedReply.key, CannedReply.lang))
    chosen: dict[str, CannedReply] = {}
    for row in rows:
        if row.lang == lang or (row.lang == FALLBACK_LANGUAGE and row.key not in chosen):
            chosen[row.key] = row
    return [_canned_view(row) for row in chosen.values()]


def fill_variables(text: str, values: dict[str, str]) -> str:
    """``text`` with each known {variable} replaced (by "" when ``values`` lacks it)."""
    for name in CANNED_VARIABLES:
        text = text.replace("{" + name + "}", values.get(name, ""))
    return text


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
    return CannedView(found.key, found.lang, found.title, fill_variables(found.body, values))


# --- managing canned replies (admin) -------------------------------------------------------


def can_edit_canned(principal: Principal) -> bool:
    """Canned replies are shared by the operators of every district, so changing one speaks
    for the whole country: MANAGE_INBOX (which a district leader has for their district's
    hours and pages) is not enough without the whole country in scope."""
    return principal.can(Permission.MANAGE_INBOX) and principal.is_national


def require_canned_editor(principal: Principal) -> None:
    principal.require(Permission.MANAGE_INBOX)
    if not principal.is_national:
        raise PermissionDeniedError(
            "Ferdige tekster brukes i hele landet. Bare brukere med tilgang til hele landet "
            "kan endre dem."
        )


def _key_error(key: str) -> InvalidInputError | None:
    if not key:
        return InvalidInputError("Skriv inn en nøkkel.")
    if len(key) > MAX_CANNED_KEY or not _CANNED_KEY.fullmatch(key):
        return InvalidInputError(
            "Nøkkelen kan bare ha små bokstaver a–z, sifre, bindestrek og understrek "
            "(høyst %(limit)s tegn).",
            limit=MAX_CANNED_KEY,
        )
    return None


def _lang_error(lang: str) -> InvalidInputError | None:
    if lang in CANNED_LANGUAGES:
        return None
    return InvalidInputError(
        "Ukjent språk: %(lang)s. Velg et av %(allowed)s.",
        lang=lang,
        allowed=", ".join(CANNED_LANGUAGES),
    )


def _title_error(title: str) -> InvalidInputError | None:
    if not title:
        return InvalidInputError("Skriv inn en tittel.")
    if len(title) > MAX_CANNED_TITLE:
        return InvalidInputError(
            "Tittelen er for lang (høyst %(limit)s tegn).", limit=MAX_CANNED_TITLE
        )
    return None


def _body_error(body: str) -> InvalidInputError | None:
    if not body:
        return InvalidInputError("Skriv inn teksten.")
    if len(body) > MAX_CANNED_BODY:
        return InvalidInputError(
            "Teksten er for lang (høyst %(limit)s tegn).", limit=MAX_CANNED_BODY
        )
    unknown = [n for n in dict.fromkeys(_VARIABLE.findall(body)) if n not in CANNED_VARIABLES]
    if unknown:
        return InvalidInputError(
            "Teksten bruker variabler som ikke finnes: %(names)s. Du kan bruke %(allowed)s.",
            names=", ".join("{" + n + "}" for n in unknown),
            allowed=", ".join("{" + n + "}" for n in CANNED_VARIABLES),
        )
    return None


def _raise_field_errors(errors: dict[str, InvalidInputError | None]) -> None:
    found = {name: error for name, error in errors.items() if error is not None}
    if found:
        raise CannedInputError(found)


def check_canned(key: str, lang: str, title: str, body: str) -> tuple[str, str, str, str]:
    """Key, language, title and body tidied (trimmed, key in lower case, line ends as \\n);
    CannedInputError names every field that is wrong. Checks no stored data."""
    key, title = key.strip().lower(), title.strip()
    body = body.replace("\r\n", "\n").strip()
    _raise_field_errors(
        {
            "key": _key_error(key),
            "lang": _lang_error(lang),
            "title": _title_error(title),
            "body": _body_error(body),
        }
    )
    return key, lang, title, body


def _versions(session: Session, key: str) -> list[CannedReply]:
    rows = session.scalars(select(CannedReply).where(CannedReply.key == key)).all()
    order = {lang: index for index, lang in enumerate(CANNED_LANGUAGES)}
    return sorted(rows, key=lambda row: (order.get(row.lang, len(order)), row.lang))


def _group(key: str, rows: list[CannedReply]) -> CannedGroup:
    present = {row.lang for row in rows}
    missing = tuple(lang for lang in CANNED_LANGUAGES if lang not in present)
    return CannedGroup(key, tuple(_canned_view(row) for row in rows), missing)


def list_canned(session: Session, principal: Principal) -> list[CannedGroup]:
    """Every canned reply, grouped by key (sorted), for the admin page."""
    principal.require(Permission.MANAGE_INBOX)
    keys = session.scalars(select(CannedReply.key).distinct().order_by(CannedReply.key)).all()
    return [_group(key, _versions(session, key)) for key in keys]


def get_canned_group(session: Session, principal: Principal, key: str) -> CannedGroup:
    principal.require(Permission.MANAGE_INBOX)
    rows = _versions(session, key)
    if not rows:
        raise NotFoundError("Fant ingen ferdig tekst %(key)s.", key=key)
    return _group(key, rows)


def _canned_row(session: Session, key: str, lang: str) -> CannedReply:
    row = session.scalar(
        select(CannedReply).where(CannedReply.key == key, CannedReply.lang == lang)
    )
    if row is None:
        raise NotFoundError(
            "Fant ingen ferdig tekst %(key)s på språket %(lang)s.", key=key, lang=lang
        )
    return row


def get_canned(session: Session, principal: Principal, key: str, lang: str) -> CannedView:
    principal.require(Permission.MANAGE_INBOX)
    return _canned_view(_canned_row(session, key, lang))


def _audit_canned(
    session: Session, principal: Principal, action: str, key: str, **details: object
) -> None:
    # the key and languages only: the texts themselves are in the table, not the log
    object_id = f"{key}/{details['lang']}" if "lang" in details else key
    audit.record(
        session, principal, action, "canned_reply", object_id, details={"key": key, **details}
    )


def _exists(key: str, lang: str) -> ConflictError:
    return ConflictError(
        "Den ferdige teksten %(key)s finnes allerede på språket %(lang)s.", key=key, lang=lang
    )


def create_canned(
    session: Session, principal: Principal, key: str, lang: str, title: str, body: str
) -> CannedView:
    """Add one language version; a new key starts with bokmål (the fallback of the others)."""
    require_canned_editor(principal)
    key, lang, title, body = check_canned(key, lang, title, body)
    present = {row.lang for row in _versions(session, key)}
    if lang in present:
        raise _exists(key, lang)
    if lang != FALLBACK_LANGUAGE and FALLBACK_LANGUAGE not in present:
        first = InvalidInputError(
            "Lag bokmålsversjonen først: den brukes når samtalen er på et språk uten egen versjon."
        )
        raise CannedInputError({"lang": first})
    row = CannedReply(key=key, lang=lang, title=title, body=body)
    try:
        with session.begin_nested():  # someone else may have added it just now
            session.add(row)
            session.flush()
    except IntegrityError:
        raise _exists(key, lang) from None
    _audit_canned(session, principal, "canned_reply.create", key, lang=lang)
    return _canned_view(row)


def update_canned(
    session: Session, principal: Principal, key: str, lang: str, title: str, body: str
) -> CannedView:
    """Change the title and text of one language version (key and language stay)."""
    require_canned_editor(principal)
    row = _canned_row(session, key, lang)
    _, _, title, body = check_canned(row.key, row.lang, title, body)
    changed = [
        name for name, old, new in (("title", row.title, title), ("body", row.body, body))
        if old != new
    ]  # fmt: skip
    row.title, row.body = title, body
    session.flush()
    if changed:
        _audit_canned(session, principal, "canned_reply.update", key, lang=lang, changed=changed)
    return _canned_view(row)


def delete_canned(session: Session, principal: Principal, key: str, lang: str) -> None:
    """Delete one language version; bokmål goes last (the others fall back to it)."""
    require_canned_editor(principal)
    row = _canned_row(session, key, lang)
    if lang == FALLBACK_LANGUAGE and len(_versions(session, key)) > 1:
        raise ConflictError(
            "Bokmålsversjonen brukes når et språk mangler, så den kan ikke slettes før de "
            "andre språkene. Slett dem først, eller slett hele teksten."
        )
    session.delete(row)
    session.flush()
    _audit_canned(session, principal, "canned_reply.delete", key, lang=lang)


def delete_canned_key(session: Session, principal: Principal, key: str) -> int:
    """Delete a canned reply in every language; returns how many versions there were."""
    require_canned_editor(principal)
    rows = _versions(session, key)
    if not rows:
        raise NotFoundError("Fant ingen ferdig tekst %(key)s.", key=key)
    for row in rows:
        session.delete(row)
    session.flush()
    _audit_canned(
        session, principal, "canned_reply.delete_key", key, langs=[row.lang for row in rows]
    )
    return len(rows)


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
    conversation.district_transferred = True  # later messages' places do not move it back
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
