"""Automatic answers through the real path (receive → analyze_pending): the 112 answer to an
urgent message, once per conversation, in the citizen's language; the out-of-hours answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.inbox import auto
from stemme.inbox.models import Conversation, DistrictHours, Message
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Inbound

URGENT: dict[str, str] = {
    "nb": "Hjelp, det er innbrudd hos naboen min nå!",
    "nn": "Hjelp! Det er nokon som bryt seg inn hjå naboen min no, eg er redd og veit ikkje "
    "kva eg skal gjere",
    "sv": "Hjälp, någon bryter sig in hos min granne just nu! Jag är rädd",
    "da": "Hej, nogen bryder ind hos min nabo lige nu! Hjælp!",
    "en": "Help, someone is breaking into my house right now!",
}
CHILD_URGENT = (
    "Jeg er bekymret for en jente på 13 i klassen til dattera mi, hun får meldinger fra en "
    "voksen mann som ber om bilder"
)
CALM = "Hei, hvordan fornyer jeg passet mitt?"
CALM_EN = "Hi, how do I renew my passport?"
WEEKDAYS_8_TO_16 = {str(day): ["08:00", "16:00"] for day in range(5)}
SUNDAY_NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 03:00 in Oslo
WEDNESDAY_NOON = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)  # Wednesday 12:00 in Oslo


def _automatic(sessions: sessionmaker[Session], conversation_id: int) -> list[tuple[str, str]]:
    """(kind, lang) of the automatic messages of a conversation, oldest first (read in a
    short session of its own: on SQLite an open transaction holds the write lock)."""
    with sessions() as session:
        return [
            (m.kind, m.lang or "")
            for m in factory.outbound_of(session, conversation_id)
            if m.kind in ("emergency", "out_of_hours")
        ]


def _set_hours(sessions: sessionmaker[Session], district: str, hours: dict[str, list[str]]) -> None:
    with transaction(sessions) as session:
        session.merge(DistrictHours(district=district, hours=hours))


@pytest.mark.parametrize("lang", list(URGENT))
def test_an_urgent_message_gets_one_112_answer_in_the_citizens_language(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, lang: str
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT[lang]))
    conversation = db.get(Conversation, result.conversation_id)
    assert conversation is not None
    assert (conversation.urgent, conversation.lang, conversation.emergency_replied) == (
        True,
        lang,
        True,
    )
    [answer] = factory.outbound_of(db, result.conversation_id)
    assert (answer.kind, answer.delivery, answer.lang, answer.author_id) == (
        "emergency",
        "queued",
        lang,
        None,
    )
    text = factory.original(keyring, answer)
    assert text == auto.EMERGENCY[lang]
    assert "112" in text
    assert "116 111" not in text
    assert answer.redacted_text is not None


def test_a_child_in_danger_also_gets_the_116_111_sentence(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(CHILD_URGENT))
    message = db.get(Message, result.message_id)
    assert message is not None
    assert (message.category, message.urgent) == ("concern_for_child", True)
    [answer] = factory.outbound_of(db, result.conversation_id)
    text = factory.original(keyring, answer)
    assert text == f"{auto.EMERGENCY['nb']} {auto.CHILDREN['nb']}"
    assert "116 111" in text


def test_the_112_answer_is_sent_once_per_conversation(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    first = factory.receive(sessions, keyring, inbound(URGENT["nb"]))
    factory.receive(sessions, keyring, inbound("Han står fortsatt utenfor døra med kniv, hjelp!"))
    factory.receive(sessions, keyring, inbound(CHILD_URGENT))
    assert _automatic(sessions, first.conversation_id) == [("emergency", "nb")]
    # another thread is another conversation, with its own answer
    other = factory.receive(sessions, keyring, inbound(URGENT["en"], thread="other"))
    assert other.conversation_id != first.conversation_id
    assert _automatic(sessions, other.conversation_id) == [("emergency", "en")]


def test_a_calm_message_gets_no_automatic_answer_without_opening_hours(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(CALM), at=SUNDAY_NIGHT)
    assert factory.outbound_of(db, result.conversation_id) == []
    conversation = db.get(Conversation, result.conversation_id)
    assert conversation is not None
    assert (conversation.emergency_replied, conversation.out_of_hours_replied) == (False, False)


def test_an_empty_schedule_means_always_open(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", {})
    result = factory.receive(sessions, keyring, inbound(CALM), at=SUNDAY_NIGHT)
    assert factory.outbound_of(db, result.conversation_id) == []


def test_outside_opening_hours_the_citizen_is_told_once(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", WEEKDAYS_8_TO_16)
    first = factory.receive(sessions, keyring, inbound(CALM), at=SUNDAY_NIGHT)
    factory.receive(sessions, keyring, inbound("Er dere der?"), at=SUNDAY_NIGHT)
    [answer] = factory.outbound_of(db, first.conversation_id)
    assert (answer.kind, answer.delivery) == ("out_of_hours", "queued")
    text = factory.original(keyring, answer)
    assert text == auto.OUT_OF_HOURS["nb"].format(hours="man.–fre. 08:00–16:00")
    assert "02800" in text
    conversation = db.get(Conversation, first.conversation_id)
    assert conversation is not None
    assert conversation.out_of_hours_replied


def test_the_out_of_hours_answer_is_in_the_citizens_language(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", {**WEEKDAYS_8_TO_16, "5": ["10:00", "14:00"]})
    result = factory.receive(sessions, keyring, inbound(CALM_EN), at=SUNDAY_NIGHT)
    [answer] = factory.outbound_of(db, result.conversation_id)
    assert factory.original(keyring, answer) == auto.OUT_OF_HOURS["en"].format(
        hours="Mon–Fri 08:00–16:00, Sat 10:00–14:00"
    )


def test_within_opening_hours_there_is_no_automatic_answer(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", WEEKDAYS_8_TO_16)
    result = factory.receive(sessions, keyring, inbound(CALM), at=WEDNESDAY_NOON)
    assert factory.outbound_of(db, result.conversation_id) == []


def test_hours_of_another_district_do_not_apply(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Vest", WEEKDAYS_8_TO_16)
    result = factory.receive(sessions, keyring, inbound(CALM), at=SUNDAY_NIGHT)
    assert factory.outbound_of(db, result.conversation_id) == []


def test_an_urgent_message_out_of_hours_gets_the_112_answer_first(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", WEEKDAYS_8_TO_16)
    first = factory.receive(sessions, keyring, inbound(URGENT["nb"]), at=SUNDAY_NIGHT)
    assert _automatic(sessions, first.conversation_id) == [("emergency", "nb")]
    factory.receive(sessions, keyring, inbound(CALM), at=SUNDAY_NIGHT)
    factory.receive(sessions, keyring, inbound("Hallo?"), at=SUNDAY_NIGHT)
    assert _automatic(sessions, first.conversation_id) == [
        ("emergency", "nb"),
        ("out_of_hours", "nb"),
    ]


def test_a_message_without_district_gets_no_out_of_hours_answer(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _set_hours(sessions, "Oslo", WEEKDAYS_8_TO_16)
    result = factory.receive(sessions, keyring, inbound("Hei", district=None), at=SUNDAY_NIGHT)
    conversation = db.get(Conversation, result.conversation_id)
    assert conversation is not None
    assert conversation.district is None
    assert factory.outbound_of(db, result.conversation_id) == []


def test_after_analysis_ignores_outbound_messages(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT["nb"]))
    [answer] = factory.outbound_of(db, result.conversation_id)
    answer.urgent = True  # even if it looked urgent, an outbound message is never answered
    auto.after_analysis(db, keyring, answer)
    assert len(factory.outbound_of(db, result.conversation_id)) == 1


@pytest.mark.parametrize(
    ("lang", "child", "expected"),
    [
        ("nb", False, auto.EMERGENCY["nb"]),
        (None, False, auto.EMERGENCY["nb"]),
        ("fr", False, auto.EMERGENCY["nb"]),
        ("sv", True, f"{auto.EMERGENCY['sv']} {auto.CHILDREN['sv']}"),
        ("da", True, f"{auto.EMERGENCY['da']} {auto.CHILDREN['da']}"),
    ],
)
def test_emergency_text(lang: str | None, child: bool, expected: str) -> None:
    assert auto.emergency_text(lang, child) == expected


@pytest.mark.parametrize("lang", ["nb", "nn", "sv", "da", "en"])
def test_every_language_has_every_automatic_text(lang: str) -> None:
    for texts in (auto.EMERGENCY, auto.CHILDREN, auto.OUT_OF_HOURS, auto.FEEDBACK):
        assert texts[lang]
    assert "112" in auto.EMERGENCY[lang]
    assert "116 111" in auto.CHILDREN[lang]
    assert "{hours}" in auto.OUT_OF_HOURS[lang]
    assert "5" in auto.FEEDBACK[lang]
    assert auto.feedback_question(lang) == auto.FEEDBACK[lang]
    assert auto.feedback_question("xx") == auto.FEEDBACK["nb"]
