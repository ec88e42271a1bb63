"""What operators do with a conversation (inbox.work): replies, retries, canned replies,
notes, assignment, transfer, status and closing, permissions and the district scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from stemme.identity.models import User
from stemme.inbox import auto, outbound, service, work
from stemme.inbox.models import OUTCOMES, Conversation, Message, Note
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Inbound

PHONE_TEXT = "Ring meg på 912 34 567 etter klokka fire"


@dataclass
class People:
    oslo: User  # operator in Oslo
    oslo2: User  # another operator in Oslo
    vest: User  # operator in Vest
    national: User  # operator with the whole country
    leader: User  # leader in Oslo
    admin: User  # national admin
    analyst: User
    owner: User  # initiative owner
    retired: User  # an Oslo operator who is no longer active


@pytest.fixture
def people(make_user: Callable[..., User], sessions: sessionmaker[Session]) -> People:
    made = People(
        oslo=make_user("operator", ["Oslo"]),
        oslo2=make_user("operator", ["Oslo"]),
        vest=make_user("operator", ["Vest"]),
        national=make_user("operator"),
        leader=make_user("leader", ["Oslo"]),
        admin=make_user("admin"),
        analyst=make_user("analyst", ["Oslo"]),
        owner=make_user("initiative_owner", ["Oslo"]),
        retired=make_user("operator", ["Oslo"]),
    )
    with transaction(sessions) as session:
        retired = session.get(User, made.retired.id)
        assert retired is not None
        retired.is_active = False
    return made


@pytest.fixture
def oslo_conversation(sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound) -> int:
    """An Oslo web chat conversation with one (not yet analysed) citizen message."""
    return factory.receive(
        sessions, keyring, inbound("Hei, jeg har et spørsmål"), analyse=False
    ).conversation_id


def _conversation(session: Session, conversation_id: int) -> Conversation:
    found = session.get(Conversation, conversation_id)
    assert found is not None
    return found


# --- replies -------------------------------------------------------------------------------


def test_a_reply_is_queued_encrypted_and_redacted_and_sets_the_conversation_waiting(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.oslo)
    message = work.reply(db, me, keyring, oslo_conversation, f"  {PHONE_TEXT}  ")
    db.commit()
    assert (message.direction, message.kind, message.delivery) == ("out", "reply", "queued")
    assert message.author_id == people.oslo.id
    assert message.delivery_attempts == 0
    assert message.redacted_text == "Ring meg på <PHONE> etter klokka fire"
    assert factory.original(keyring, message) == PHONE_TEXT  # stripped, then encrypted
    assert PHONE_TEXT.encode() not in message.raw_encrypted
    conversation = _conversation(db, oslo_conversation)
    assert conversation.status == "waiting"
    assert conversation.assignee_id == people.oslo.id  # the first to answer takes it
    assert conversation.first_response_at is not None


def test_the_first_response_time_is_set_once_and_an_assignee_is_kept(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    work.reply(db, factory.principal(people.oslo), keyring, oslo_conversation, "Første svar")
    db.flush()
    first = _conversation(db, oslo_conversation).first_response_at
    work.reply(db, factory.principal(people.oslo2), keyring, oslo_conversation, "Andre svar")
    db.commit()
    conversation = _conversation(db, oslo_conversation)
    assert conversation.first_response_at == first
    assert conversation.assignee_id == people.oslo.id
    assert [m.author_id for m in factory.outbound_of(db, oslo_conversation)] == [
        people.oslo.id,
        people.oslo2.id,
    ]


def test_a_reply_by_the_command_line_assigns_nobody(
    db: Session, keyring: Keyring, oslo_conversation: int
) -> None:
    from stemme.identity.access import command_line_principal

    work.reply(db, command_line_principal(), keyring, oslo_conversation, "Svar")
    conversation = _conversation(db, oslo_conversation)
    assert conversation.assignee_id is None
    assert conversation.status == "waiting"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Teksten kan ikke være tom."),
        ("   \n\t ", "Teksten kan ikke være tom."),
        ("x" * (work.MAX_REPLY_LENGTH + 1), "Teksten er for lang (høyst 2000 tegn)."),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_an_empty_or_too_long_reply_is_refused(
    db: Session,
    keyring: Keyring,
    people: People,
    oslo_conversation: int,
    text: str,
    message: str,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        work.reply(db, factory.principal(people.oslo), keyring, oslo_conversation, text)
    assert str(caught.value) == message
    assert factory.outbound_of(db, oslo_conversation) == []
    assert _conversation(db, oslo_conversation).first_response_at is None


def test_a_reply_of_exactly_the_maximum_length_is_accepted(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    text = "x" * work.MAX_REPLY_LENGTH
    message = work.reply(db, factory.principal(people.oslo), keyring, oslo_conversation, text)
    assert factory.original(keyring, message) == text


def test_a_closed_conversation_cannot_be_answered(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.oslo)
    work.set_status(db, me, keyring, oslo_conversation, "closed", "answered")
    with pytest.raises(InvalidInputError, match="avsluttet"):
        work.reply(db, me, keyring, oslo_conversation, "Hallo?")
    assert [m.kind for m in factory.outbound_of(db, oslo_conversation)] == ["feedback_question"]


# --- retry ---------------------------------------------------------------------------------


def test_retry_queues_a_failed_reply_again(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.oslo)
    message = work.reply(db, me, keyring, oslo_conversation, "Svar")
    outbound.record_result(message, outbound.DeliveryResult(False, "rejected"))
    assert message.delivery == "failed"
    again = work.retry_delivery(db, me, message.id)
    assert again is message
    assert (message.delivery, message.delivery_error, message.next_attempt_at) == (
        "queued",
        None,
        None,
    )
    assert message.delivery_attempts == 1  # the history of attempts is kept


@pytest.mark.parametrize("state", ["queued", "retrying", "sent"])
def test_retry_leaves_a_message_that_is_not_failed_alone(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, state: str
) -> None:
    me = factory.principal(people.oslo)
    message = work.reply(db, me, keyring, oslo_conversation, "Svar")
    message.delivery = state
    message.delivery_error = "timeout" if state == "retrying" else None
    work.retry_delivery(db, me, message.id)
    assert message.delivery == state
    assert message.delivery_error == ("timeout" if state == "retrying" else None)


def test_retry_refuses_a_citizen_message_and_hides_other_districts(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    [incoming] = _conversation(db, oslo_conversation).messages
    with pytest.raises(InvalidInputError, match="Bare svar"):
        work.retry_delivery(db, factory.principal(people.oslo), incoming.id)
    reply = work.reply(db, factory.principal(people.oslo), keyring, oslo_conversation, "Svar")
    with pytest.raises(NotFoundError):
        work.retry_delivery(db, factory.principal(people.vest), reply.id)
    with pytest.raises(NotFoundError):
        work.retry_delivery(db, factory.principal(people.oslo), 999_999)


# --- canned replies --------------------------------------------------------------------------

CANNED_KEYS = ["call_02800", "call_112", "closing", "greeting", "report_online"]


@pytest.mark.parametrize(
    ("lang", "expected_lang", "greeting_title"),
    [
        ("nb", "nb", "Hilsen"),
        ("nn", "nn", "Helsing"),
        ("en", "en", "Greeting"),
        ("sv", "sv", "Hälsning"),
        ("da", "nb", "Hilsen"),  # no Danish set: bokmål
        ("xx", "nb", "Hilsen"),
        (None, "nb", "Hilsen"),
    ],
)
def test_canned_replies_in_a_language_with_bokmal_as_fallback(
    db: Session, people: People, lang: str | None, expected_lang: str, greeting_title: str
) -> None:
    replies = work.canned_replies(db, factory.principal(people.analyst), lang)
    assert [r.key for r in replies] == CANNED_KEYS
    assert {r.lang for r in replies} == {expected_lang}
    assert {r.key: r.title for r in replies}["greeting"] == greeting_title


@pytest.mark.parametrize(
    ("lang", "key", "expected"),
    [
        (
            None,
            "greeting",
            "Hei! Du snakker med politiets nettpatrulje i Oslo. Hva kan vi hjelpe deg med?",
        ),
        (
            "en",
            "greeting",
            "Hi! You are talking to the police online patrol in Oslo. How can we help?",
        ),
        (
            "sv",
            "closing",
            "Tack för att du hörde av dig. Hör gärna av dig igen. Hälsningar Kari Operatør, "
            "nätpatrullen.",
        ),
        (
            "da",
            "closing",
            "Takk for at du tok kontakt. Ta gjerne kontakt igjen om det er noe mer. Hilsen "
            "Kari Operatør, nettpatruljen.",
        ),
    ],
)
def test_fill_canned_uses_the_conversation_language_and_fills_variables(
    db: Session,
    make_user: Callable[..., User],
    oslo_conversation: int,
    lang: str | None,
    key: str,
    expected: str,
) -> None:
    kari = make_user("operator", ["Oslo"])
    stored = db.get(User, kari.id)
    assert stored is not None
    stored.display_name = "Kari Operatør"
    _conversation(db, oslo_conversation).lang = lang
    db.flush()
    filled = work.fill_canned(db, factory.principal(stored), oslo_conversation, key)
    assert filled.key == key
    assert filled.body == expected
    assert "{" not in filled.body


def test_fill_canned_without_a_user_or_district_leaves_the_variables_empty(
    db: Session, oslo_conversation: int
) -> None:
    from stemme.identity.access import command_line_principal

    _conversation(db, oslo_conversation).district = None
    filled = work.fill_canned(db, command_line_principal(), oslo_conversation, "closing")
    assert "Hilsen , nettpatruljen." in filled.body


def test_fill_canned_with_an_unknown_key_is_not_found(
    db: Session, people: People, oslo_conversation: int
) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        work.fill_canned(db, factory.principal(people.oslo), oslo_conversation, "nope")


# --- notes -----------------------------------------------------------------------------------


def test_a_note_keeps_the_original_encrypted_and_shows_it_redacted(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    note = work.add_note(
        db, factory.principal(people.oslo), keyring, oslo_conversation, f"\n{PHONE_TEXT} "
    )
    db.commit()
    stored = db.scalar(select(Note).where(Note.id == note.id))
    assert stored is not None
    assert stored.redacted_text == "Ring meg på <PHONE> etter klokka fire"
    assert "912 34 567" not in stored.redacted_text
    assert PHONE_TEXT.encode() not in stored.raw_encrypted
    assert keyring.decrypt(stored.raw_encrypted, b"note:" + stored.uid.encode()) == PHONE_TEXT
    assert stored.author_id == people.oslo.id
    # nothing is sent to the citizen
    assert factory.outbound_of(db, oslo_conversation) == []
    [view] = work.notes(db, factory.principal(people.analyst), oslo_conversation)
    assert (view.id, view.text) == (note.id, "Ring meg på <PHONE> etter klokka fire")
    assert view.author == people.oslo.display_name


def test_notes_are_listed_in_order_and_survive_their_author(
    db: Session,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    people: People,
    oslo_conversation: int,
) -> None:
    from stemme.identity.access import command_line_principal

    work.add_note(db, factory.principal(people.oslo), keyring, oslo_conversation, "Første")
    work.add_note(db, command_line_principal(), keyring, oslo_conversation, "Andre")
    db.commit()
    views = work.notes(db, factory.principal(people.national), oslo_conversation)
    assert [(v.text, v.author) for v in views] == [
        ("Første", people.oslo.display_name),
        ("Andre", None),
    ]


@pytest.mark.parametrize(
    "text", ["", "  ", "x" * (work.MAX_NOTE_LENGTH + 1)], ids=["empty", "blank", "too-long"]
)
def test_an_empty_or_too_long_note_is_refused(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, text: str
) -> None:
    with pytest.raises(InvalidInputError):
        work.add_note(db, factory.principal(people.oslo), keyring, oslo_conversation, text)
    assert work.notes(db, factory.principal(people.oslo), oslo_conversation) == []


# --- assignment ------------------------------------------------------------------------------


def test_assignable_users_are_active_workers_whose_scope_covers_the_conversation(
    db: Session, people: People, oslo_conversation: int
) -> None:
    found = dict(work.assignable_users(db, factory.principal(people.oslo), oslo_conversation))
    assert set(found) == {
        people.oslo.id,
        people.oslo2.id,
        people.national.id,
        people.leader.id,
        people.admin.id,
    }
    assert found[people.oslo.id] == people.oslo.display_name
    assert people.vest.id not in found  # an Oslo conversation is not for Vest
    assert people.analyst.id not in found  # cannot reply
    assert people.retired.id not in found  # not active


def test_assignable_users_of_a_conversation_without_district_are_the_national_ones(
    db: Session, people: People, oslo_conversation: int
) -> None:
    _conversation(db, oslo_conversation).district = None
    found = dict(work.assignable_users(db, factory.principal(people.national), oslo_conversation))
    assert set(found) == {people.national.id, people.admin.id}


def test_assign_gives_the_conversation_to_an_operator_and_audits_it(
    db: Session, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.leader)
    work.assign(db, me, oslo_conversation, people.national.id)
    conversation = _conversation(db, oslo_conversation)
    assert (conversation.assignee_id, conversation.status) == (people.national.id, "open")
    work.assign(db, me, oslo_conversation, None)  # back to the shared queue
    assert (conversation.assignee_id, conversation.status) == (None, "open")
    db.commit()
    events = factory.audit_events(db, "conversation.assign")
    assert [(e.object_type, e.object_id, e.district, e.details) for e in events] == [
        ("conversation", str(oslo_conversation), "Oslo", {"from": None, "to": people.national.id}),
        ("conversation", str(oslo_conversation), "Oslo", {"from": people.national.id, "to": None}),
    ]
    assert events[0].actor_user_id == people.leader.id


def test_assign_keeps_a_waiting_status(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    work.reply(db, factory.principal(people.oslo), keyring, oslo_conversation, "Svar")
    work.assign(db, factory.principal(people.oslo), oslo_conversation, people.oslo2.id)
    assert _conversation(db, oslo_conversation).status == "waiting"


@pytest.mark.parametrize("who", ["vest", "analyst", "retired", "nobody"])
def test_assign_refuses_a_user_outside_the_scope_or_without_the_role(
    db: Session, people: People, oslo_conversation: int, who: str
) -> None:
    target = 999_999 if who == "nobody" else getattr(people, who).id
    with pytest.raises(InvalidInputError, match="kan ikke få tildelt"):
        work.assign(db, factory.principal(people.oslo), oslo_conversation, target)
    assert _conversation(db, oslo_conversation).assignee_id is None
    assert factory.audit_events(db, "conversation.assign") == []


# --- transfer --------------------------------------------------------------------------------


def test_transfer_moves_the_conversation_unassigned_and_out_of_scope(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    oslo = factory.principal(people.oslo)
    work.reply(db, oslo, keyring, oslo_conversation, "Vi sender deg videre")
    moved = work.transfer(db, oslo, oslo_conversation, "Vest")
    assert (moved.district, moved.assignee_id, moved.status) == ("Vest", None, "new")
    db.commit()
    [event] = factory.audit_events(db, "conversation.transfer")
    assert (event.district, event.details) == ("Oslo", {"from": "Oslo", "to": "Vest"})
    assert event.actor_user_id == people.oslo.id
    # Oslo no longer sees it; Vest does
    with pytest.raises(NotFoundError):
        service.get_conversation(db, oslo, oslo_conversation)
    with pytest.raises(NotFoundError):
        work.reply(db, oslo, keyring, oslo_conversation, "Hallo")
    vest = factory.principal(people.vest)
    assert service.get_conversation(db, vest, oslo_conversation).district == "Vest"
    # an Oslo operator can no longer be assigned, a Vest one can
    assert people.oslo.id not in dict(work.assignable_users(db, vest, oslo_conversation))
    work.assign(db, vest, oslo_conversation, people.vest.id)


def test_a_transfer_sticks_when_the_citizen_names_another_place(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, people: People
) -> None:
    """The batch path (the worker) and the single-message path (re-analysis) both keep an
    operator's transfer; before it, a named place still moves the conversation."""
    first = factory.receive(sessions, keyring, inbound("Noen stjal sykkelen min i Bergen"))
    with transaction(sessions) as session:
        assert _conversation(session, first.conversation_id).district == "Vest"
        work.transfer(session, factory.principal(people.national), first.conversation_id, "Oslo")
    later = factory.receive(sessions, keyring, inbound("Den står nå ved Tromsø havn"))
    assert later.conversation_id == first.conversation_id
    with transaction(sessions) as session:
        service.analyze_message(session, keyring, later.message_id)
        conversation = _conversation(session, first.conversation_id)
        assert (conversation.district, conversation.district_transferred) == ("Oslo", True)
        message = session.get(Message, later.message_id)
        assert message is not None
        assert message.district == "Troms"  # the message still says where it is about


def test_transfer_to_the_same_district_is_a_no_op(
    db: Session, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.oslo)
    work.assign(db, me, oslo_conversation, people.oslo.id)
    work.transfer(db, me, oslo_conversation, "Oslo")
    conversation = _conversation(db, oslo_conversation)
    assert (conversation.district, conversation.assignee_id, conversation.status) == (
        "Oslo",
        people.oslo.id,
        "open",
    )
    assert factory.audit_events(db, "conversation.transfer") == []


@pytest.mark.parametrize("district", ["Atlantis", "", "oslo"])
def test_transfer_to_an_unknown_district_is_refused(
    db: Session, people: People, oslo_conversation: int, district: str
) -> None:
    with pytest.raises(InvalidInputError, match="Ukjent politidistrikt"):
        work.transfer(db, factory.principal(people.oslo), oslo_conversation, district)
    assert _conversation(db, oslo_conversation).district == "Oslo"


def test_a_closed_conversation_stays_closed_when_transferred(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.national)
    work.set_status(db, me, keyring, oslo_conversation, "closed", "referred_other")
    work.transfer(db, me, oslo_conversation, "Troms")
    conversation = _conversation(db, oslo_conversation)
    assert (conversation.district, conversation.status) == ("Troms", "closed")


# --- status and closing ----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["new", "open", "waiting"])
def test_set_status_to_an_open_state(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, status: str
) -> None:
    conversation = work.set_status(
        db, factory.principal(people.oslo), keyring, oslo_conversation, status, "answered"
    )
    assert (conversation.status, conversation.outcome, conversation.closed_at) == (
        status,
        None,  # an outcome belongs to a closed conversation only
        None,
    )
    assert factory.outbound_of(db, oslo_conversation) == []


def test_an_unknown_status_is_refused(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    with pytest.raises(InvalidInputError, match="Ukjent status: done"):
        work.set_status(db, factory.principal(people.oslo), keyring, oslo_conversation, "done")


@pytest.mark.parametrize("outcome", [None, "", "solved"])
def test_closing_needs_an_outcome(
    db: Session,
    keyring: Keyring,
    people: People,
    oslo_conversation: int,
    outcome: str | None,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        work.set_status(
            db, factory.principal(people.oslo), keyring, oslo_conversation, "closed", outcome
        )
    assert str(caught.value) == "Velg et utfall før samtalen avsluttes."
    conversation = _conversation(db, oslo_conversation)
    assert (conversation.status, conversation.closed_at) == ("new", None)


@pytest.mark.parametrize(
    ("lang", "channel"),
    [
        (None, "webchat"),
        ("nn", "messenger"),
        ("en", "instagram"),
        ("sv", "email"),
        ("da", "webchat"),
    ],
)
def test_closing_asks_for_feedback_in_the_conversation_language(
    db: Session,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    people: People,
    lang: str | None,
    channel: str,
) -> None:
    conversation_id = factory.receive(
        sessions, keyring, inbound("Hei", thread=f"t-{channel}", channel=channel), analyse=False
    ).conversation_id
    _conversation(db, conversation_id).lang = lang
    closed = work.set_status(
        db, factory.principal(people.oslo), keyring, conversation_id, "closed", "answered"
    )
    db.commit()
    assert (closed.status, closed.outcome) == ("closed", "answered")
    assert closed.closed_at is not None
    assert closed.feedback_requested_at == closed.closed_at
    [question] = factory.outbound_of(db, conversation_id)
    assert (question.kind, question.delivery, question.author_id) == (
        "feedback_question",
        "queued",
        None,
    )
    assert factory.original(keyring, question) == auto.FEEDBACK[lang or "nb"]
    [event] = factory.audit_events(db, "conversation.close")
    assert (event.object_id, event.district, event.details) == (
        str(conversation_id),
        "Oslo",
        {"outcome": "answered"},
    )


@pytest.mark.parametrize("outcome", [o for o in OUTCOMES if o != "spam"])
def test_every_outcome_but_spam_asks_for_feedback(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, outcome: str
) -> None:
    work.set_status(
        db, factory.principal(people.oslo), keyring, oslo_conversation, "closed", outcome
    )
    assert [m.kind for m in factory.outbound_of(db, oslo_conversation)] == ["feedback_question"]
    assert _conversation(db, oslo_conversation).outcome == outcome


def test_closing_as_spam_sends_no_feedback_question(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    closed = work.set_status(
        db, factory.principal(people.oslo), keyring, oslo_conversation, "closed", "spam"
    )
    assert (closed.status, closed.outcome) == ("closed", "spam")
    assert closed.feedback_requested_at is None
    assert factory.outbound_of(db, oslo_conversation) == []
    assert len(factory.audit_events(db, "conversation.close")) == 1


def test_a_channel_that_cannot_ask_gets_no_feedback_question(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, people: People
) -> None:
    conversation_id = factory.receive(
        sessions, keyring, inbound("Hei", channel="discord"), analyse=False
    ).conversation_id
    closed = work.set_status(
        db, factory.principal(people.oslo), keyring, conversation_id, "closed", "answered"
    )
    assert closed.feedback_requested_at is None
    assert factory.outbound_of(db, conversation_id) == []


def test_closing_twice_is_refused_and_reopening_clears_the_outcome(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int
) -> None:
    me = factory.principal(people.oslo)
    work.set_status(db, me, keyring, oslo_conversation, "closed", "answered")
    with pytest.raises(InvalidInputError, match="allerede avsluttet"):
        work.set_status(db, me, keyring, oslo_conversation, "closed", "no_action")
    reopened = work.set_status(db, me, keyring, oslo_conversation, "open")
    assert (reopened.status, reopened.outcome, reopened.closed_at) == ("open", None, None)
    assert len(factory.outbound_of(db, oslo_conversation)) == 1


# --- permissions and scope -------------------------------------------------------------------

Action = Callable[[Session, Any, Keyring, int], object]

WORK_ACTIONS: dict[str, Action] = {
    "reply": lambda s, p, k, c: work.reply(s, p, k, c, "Svar"),
    "fill_canned": lambda s, p, k, c: work.fill_canned(s, p, c, "greeting"),
    "add_note": lambda s, p, k, c: work.add_note(s, p, k, c, "Notat"),
    "assignable_users": lambda s, p, k, c: work.assignable_users(s, p, c),
    "assign": lambda s, p, k, c: work.assign(s, p, c, None),
    "transfer": lambda s, p, k, c: work.transfer(s, p, c, "Vest"),
    "set_status": lambda s, p, k, c: work.set_status(s, p, k, c, "open"),
    "close": lambda s, p, k, c: work.set_status(s, p, k, c, "closed", "answered"),
    "retry": lambda s, p, k, c: work.retry_delivery(s, p, _first_message(s, c)),
}
VIEW_ACTIONS: dict[str, Action] = {
    "notes": lambda s, p, k, c: work.notes(s, p, c),
    "canned_replies": lambda s, p, k, c: work.canned_replies(s, p, "nb"),
}


def _first_message(session: Session, conversation_id: int) -> int:
    found = session.scalar(
        select(Message.id).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )
    return int(found) if found is not None else 999_999


@pytest.mark.parametrize("action", list(WORK_ACTIONS))
def test_an_analyst_may_not_work_the_inbox(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, action: str
) -> None:
    with pytest.raises(PermissionDeniedError):
        WORK_ACTIONS[action](db, factory.principal(people.analyst), keyring, oslo_conversation)


@pytest.mark.parametrize("action", list(WORK_ACTIONS) + list(VIEW_ACTIONS))
def test_an_initiative_owner_may_not_even_view(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, action: str
) -> None:
    act = {**WORK_ACTIONS, **VIEW_ACTIONS}[action]
    with pytest.raises(PermissionDeniedError):
        act(db, factory.principal(people.owner), keyring, oslo_conversation)


@pytest.mark.parametrize("action", [*WORK_ACTIONS, "notes"])
def test_a_conversation_outside_the_scope_is_not_found(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, action: str
) -> None:
    act = {**WORK_ACTIONS, **VIEW_ACTIONS}[action]
    with pytest.raises(NotFoundError):
        act(db, factory.principal(people.vest), keyring, oslo_conversation)
    with pytest.raises(NotFoundError):
        act(db, factory.principal(people.oslo), keyring, 999_999)
    assert _conversation(db, oslo_conversation).district == "Oslo"


@pytest.mark.parametrize("role", ["leader", "admin", "national"])
def test_leaders_admins_and_national_operators_work_an_oslo_conversation(
    db: Session, keyring: Keyring, people: People, oslo_conversation: int, role: str
) -> None:
    me = factory.principal(getattr(people, role))
    work.reply(db, me, keyring, oslo_conversation, "Svar")
    work.add_note(db, me, keyring, oslo_conversation, "Notat")
    work.set_status(db, me, keyring, oslo_conversation, "closed", "answered")
    assert _conversation(db, oslo_conversation).status == "closed"
