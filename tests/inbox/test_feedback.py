"""Closing the loop: the citizen's answer after closing is filed as feedback (or reopens the
conversation when it is a new matter), ratings are parsed, figures respect the group size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction, utcnow
from stemme.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from stemme.identity.access import Principal, Role, command_line_principal
from stemme.identity.models import User
from stemme.inbox import feedback, work
from stemme.inbox.feedback import ANSWER_WINDOW, parse_rating
from stemme.inbox.models import Conversation, Feedback, Message
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Inbound

CLI = command_line_principal("test")
QUESTION = "Hei, hvordan fornyer jeg passet mitt?"


@pytest.fixture
def closed(sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound) -> int:
    """A conversation (thread "t1", Oslo web chat) answered and closed: feedback asked."""
    conversation_id = factory.receive(sessions, keyring, inbound(QUESTION)).conversation_id
    with transaction(sessions) as session:
        work.reply(session, CLI, keyring, conversation_id, "Passkontoret åpner kl. 9.")
        work.set_status(session, CLI, keyring, conversation_id, "closed", "answered")
    return conversation_id


def _state(sessions: sessionmaker[Session], conversation_id: int) -> Conversation:
    with sessions() as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found


def _feedback(sessions: sessionmaker[Session]) -> list[Feedback]:
    with sessions() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def _message(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


# --- parsing a rating ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("1", 1),
        ("4/5", 4),
        ("4 / 5 takk", 4),
        ("Jeg gir 3.", 3),
        ("Veldig bra! 5", 5),
        ("5!", 5),
        ("<PHONE_1>", None),
        ("<PHONE>", None),
        ("1.5", None),
        ("2,5", None),
        ("12", None),
        ("0", None),
        ("6", None),
        ("Terningkast 6", None),
        ("x5", None),
        ("5x", None),
        ("Takk for hjelpen", None),
        ("", None),
    ],
)
def test_parse_rating(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating


# --- answers on chat channels ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "rating", "comment"),
    [
        ("5", 5, None),
        ("4/5", 4, None),
        ("Jeg gir 3.", 3, "Jeg gir"),
        (
            "4 - raskt svar, takk til Kari Nordmann på 912 34 567",
            4,
            "raskt svar, takk til <PERSON> på <PHONE>",
        ),
        ("Dere burde svare fortere", None, "Dere burde svare fortere"),
    ],
)
def test_the_next_message_after_closing_is_filed_as_feedback(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    closed: int,
    answer: str,
    rating: int | None,
    comment: str | None,
) -> None:
    result = factory.receive(sessions, keyring, inbound(answer))
    assert result.conversation_id == closed  # the same, closed conversation
    assert _message(sessions, result.message_id).kind == "feedback_answer"
    [stored] = _feedback(sessions)
    assert (stored.conversation_id, stored.channel, stored.district) == (closed, "webchat", "Oslo")
    assert (stored.rating, stored.comment) == (rating, comment)
    conversation = _state(sessions, closed)
    assert (conversation.status, conversation.outcome) == ("closed", "answered")
    with sessions() as session:  # no automatic answer to an answer
        kinds = [m.kind for m in factory.outbound_of(session, closed)]
    assert kinds == ["reply", "feedback_question"]


@pytest.mark.parametrize(
    "text",
    [
        "Hjelp, det er innbrudd hos naboen min nå!",
        "Jeg vil anmelde et innbrudd i bilen min i går",
        "Det selges hasj bak skolen hver fredag",
    ],
    ids=["emergency", "crime_report", "tip"],
)
def test_a_new_matter_reopens_the_conversation_instead(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, closed: int, text: str
) -> None:
    result = factory.receive(sessions, keyring, inbound(text))
    assert result.conversation_id == closed
    message = _message(sessions, result.message_id)
    assert message.kind == "citizen"
    conversation = _state(sessions, closed)
    assert (conversation.status, conversation.closed_at) == ("open", None)
    assert _feedback(sessions) == []
    with sessions() as session:
        kinds = [m.kind for m in factory.outbound_of(session, closed)]
    expected = ["reply", "feedback_question"]
    assert kinds == ([*expected, "emergency"] if message.urgent else expected)


def test_after_the_answer_window_a_new_message_opens_a_new_conversation(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, closed: int
) -> None:
    with transaction(sessions) as session:
        conversation = session.get(Conversation, closed)
        assert conversation is not None
        assert conversation.feedback_requested_at is not None
        conversation.feedback_requested_at -= ANSWER_WINDOW + timedelta(minutes=1)
    result = factory.receive(sessions, keyring, inbound("5"))
    assert result.conversation_id != closed
    assert _message(sessions, result.message_id).kind == "citizen"
    assert _state(sessions, result.conversation_id).status == "new"
    assert _feedback(sessions) == []


def test_just_inside_the_answer_window_it_is_still_an_answer(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, closed: int
) -> None:
    with transaction(sessions) as session:
        conversation = session.get(Conversation, closed)
        assert conversation is not None
        assert conversation.feedback_requested_at is not None
        conversation.feedback_requested_at -= ANSWER_WINDOW - timedelta(minutes=5)
    assert factory.receive(sessions, keyring, inbound("4")).conversation_id == closed
    assert [f.rating for f in _feedback(sessions)] == [4]


def test_after_an_answer_a_new_message_opens_a_new_conversation(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, closed: int
) -> None:
    factory.receive(sessions, keyring, inbound("5"))
    later = factory.receive(sessions, keyring, inbound("Hei igjen, et nytt spørsmål"))
    assert later.conversation_id != closed
    assert _message(sessions, later.message_id).kind == "citizen"
    assert len(_feedback(sessions)) == 1


def test_two_answers_before_analysis_keep_the_first(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, closed: int
) -> None:
    first = factory.receive(sessions, keyring, inbound("2"), analyse=False)
    second = factory.receive(sessions, keyring, inbound("5"), analyse=False)
    assert first.conversation_id == second.conversation_id == closed
    factory.analyse_all(sessions, keyring)
    assert [f.rating for f in _feedback(sessions)] == [2]


def test_a_conversation_closed_as_spam_takes_no_answer(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    conversation_id = factory.receive(sessions, keyring, inbound("test")).conversation_id
    with transaction(sessions) as session:
        work.set_status(session, CLI, keyring, conversation_id, "closed", "spam")
    again = factory.receive(sessions, keyring, inbound("5"))
    assert again.conversation_id != conversation_id
    assert _feedback(sessions) == []


def test_awaiting_answer(db: Session, keyring: Keyring, closed: int) -> None:
    conversation = db.get(Conversation, closed)
    assert conversation is not None
    assert feedback.awaiting_answer(db, conversation)
    conversation.status = "open"
    assert not feedback.awaiting_answer(db, conversation)
    conversation.status = "closed"
    conversation.feedback_requested_at = None
    assert not feedback.awaiting_answer(db, conversation)
    conversation.feedback_requested_at = utcnow()
    feedback.record_feedback(db, keyring, closed, 5, None)
    assert not feedback.awaiting_answer(db, conversation)


# --- record_feedback (the web chat's rating form) --------------------------------------------


def test_record_feedback_stores_the_rating_and_the_redacted_comment(
    db: Session, keyring: Keyring, closed: int
) -> None:
    stored = feedback.record_feedback(
        db, keyring, closed, 5, "  Takk til Kari Nordmann, ring meg på 912 34 567  "
    )
    db.commit()
    assert (stored.rating, stored.channel, stored.district) == (5, "webchat", "Oslo")
    assert stored.comment == "Takk til <PERSON>, ring meg på <PHONE>"


@pytest.mark.parametrize(("rating", "comment"), [(4, None), (None, "Bra"), (1, ""), (3, "   ")])
def test_record_feedback_takes_a_rating_or_a_comment(
    db: Session, keyring: Keyring, closed: int, rating: int | None, comment: str | None
) -> None:
    stored = feedback.record_feedback(db, keyring, closed, rating, comment)
    assert stored.rating == rating
    assert stored.comment == (comment.strip() or None if comment else None)


@pytest.mark.parametrize(
    ("rating", "comment", "message"),
    [
        (0, None, "Vurderingen må være et tall fra 1 til 5."),
        (6, "Bra", "Vurderingen må være et tall fra 1 til 5."),
        (-1, None, "Vurderingen må være et tall fra 1 til 5."),
        (None, None, "Gi en vurdering eller skriv en kommentar."),
        (None, "   ", "Gi en vurdering eller skriv en kommentar."),
        (3, "x" * (feedback.MAX_COMMENT_LENGTH + 1), "Kommentaren er for lang (høyst 2000 tegn)."),
    ],
)
def test_record_feedback_validation(
    db: Session,
    keyring: Keyring,
    closed: int,
    rating: int | None,
    comment: str | None,
    message: str,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        feedback.record_feedback(db, keyring, closed, rating, comment)
    assert str(caught.value) == message
    assert db.scalar(select(func.count(Feedback.id))) == 0


def test_record_feedback_twice_or_for_nothing_is_refused(
    db: Session, keyring: Keyring, closed: int
) -> None:
    feedback.record_feedback(db, keyring, closed, 4, None)
    with pytest.raises(InvalidInputError, match="allerede svart"):
        feedback.record_feedback(db, keyring, closed, 5, "Igjen")
    with pytest.raises(NotFoundError):
        feedback.record_feedback(db, keyring, 999_999, 5, None)
    assert db.scalar(select(func.count(Feedback.id))) == 1


# --- figures per district --------------------------------------------------------------------


def _answers(db: Session, district: str | None, ratings: list[int | None], **extra: object) -> None:
    for index, rating in enumerate(ratings):
        conversation = factory.conversation(db, district=district)
        db.add(
            Feedback(
                conversation_id=conversation.id,
                channel="webchat",
                district=district,
                rating=rating,
                comment=f"Kommentar {district} {index}" if index % 2 == 0 else None,
                created_at=extra.get("created_at", utcnow() - timedelta(minutes=index)),
            )
        )
    db.flush()


def test_feedback_by_district_hides_figures_below_the_group_size(
    db: Session, make_user: Callable[..., User]
) -> None:
    analyst = factory.principal(make_user("analyst"))  # before db takes the SQLite lock
    _answers(db, "Oslo", [5, 4, 4, 3, 5, None])
    _answers(db, "Vest", [1, 2])
    _answers(db, None, [5, 5, 5, 5, 5])
    since = utcnow() - timedelta(days=1)
    rows = feedback.feedback_by_district(db, analyst, since, min_group_size=5)
    assert [(r.district, r.answers, r.average) for r in rows] == [
        (None, 5, 5.0),
        ("Oslo", 6, 4.2),
        ("Vest", 2, None),
    ]
    oslo = rows[1]
    assert oslo.distribution == {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}
    assert rows[2].distribution is None
    # comments newest first; shown also below the group size (they are redacted)
    assert [c[2] for c in oslo.comments] == [f"Kommentar Oslo {i}" for i in (0, 2, 4)]
    assert [c[1] for c in oslo.comments] == [5, 4, 5]
    assert [c[2] for c in rows[2].comments] == ["Kommentar Vest 0"]
    # a smaller group size shows Vest too; a limit on comments
    rows = feedback.feedback_by_district(db, analyst, since, min_group_size=2, comments=1)
    assert {r.district: r.average for r in rows}["Vest"] == 1.5
    assert all(len(r.comments) <= 1 for r in rows)


def test_feedback_by_district_respects_scope_and_period(
    db: Session, make_user: Callable[..., User]
) -> None:
    oslo = factory.principal(make_user("operator", ["Oslo"]))
    _answers(db, "Oslo", [5, 4, 3, 2, 1])
    _answers(db, "Vest", [5, 5, 5, 5, 5])
    _answers(db, "Oslo", [1, 1, 1], created_at=utcnow() - timedelta(days=40))
    since = utcnow() - timedelta(days=30)
    [row] = feedback.feedback_by_district(db, oslo, since, min_group_size=5)
    assert (row.district, row.answers, row.average) == ("Oslo", 5, 3.0)
    rows = feedback.feedback_by_district(db, oslo, since - timedelta(days=30), min_group_size=5)
    assert [(r.district, r.answers) for r in rows] == [("Oslo", 8)]
    assert feedback.feedback_by_district(db, oslo, utcnow() + timedelta(minutes=1), 5) == []
    owner = Principal(None, "owner", Role.INITIATIVE_OWNER, None)
    with pytest.raises(PermissionDeniedError):
        feedback.feedback_by_district(db, owner, since, min_group_size=5)


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("Fikk svar etter 2 dager, ellers bra", None),
        ("3 av 5", 3),
        ("ga dem 4/5 takk", 4),
        ("I give it 4", 4),
        ("Vi var 3 stykker som ventet", None),
    ],
)
def test_only_numbers_given_as_a_rating_count(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating
