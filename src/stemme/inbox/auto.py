"""Automatic messages: the 112 answer to emergencies, the out-of-hours answer, the feedback
question when a conversation closes. All in the citizen's language (bokmål otherwise).

They go through the same outbound queue as operators' replies, so they are stored, retried
and visible in the conversation like any other reply.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.inbox import hours, outbound
from stemme.inbox.models import Message, message_associated_data
from stemme.privacy.crypto import Keyring

EMERGENCY: dict[str, str] = {
    "nb": "Er noen i fare nå? Ring 112 med en gang. Vi leser meldingen din, men kan ikke "
    "sende hjelp fra denne chatten.",
    "nn": "Er nokon i fare no? Ring 112 med ein gong. Vi les meldinga di, men kan ikkje "
    "sende hjelp frå denne chatten.",
    "sv": "Är någon i fara nu? Ring 112 direkt. Vi läser ditt meddelande, men kan inte "
    "skicka hjälp från den här chatten.",
    "da": "Er nogen i fare nu? Ring 112 med det samme. Vi læser din besked, men kan ikke "
    "sende hjælp fra denne chat.",
    "en": "Is anyone in danger right now? Call 112 immediately. We are reading your message, "
    "but we cannot send help from this chat.",
}
CHILDREN: dict[str, str] = {
    "nb": "Er du under 18 og trenger noen å snakke med? Ring Alarmtelefonen for barn og "
    "unge på 116 111.",
    "nn": "Er du under 18 og treng nokon å snakke med? Ring Alarmtelefonen for barn og unge "
    "på 116 111.",
    "sv": "Är du under 18 och behöver någon att prata med? Ring Alarmtelefonen för barn och "
    "unga på 116 111.",
    "da": "Er du under 18 og har brug for nogen at tale med? Ring Alarmtelefonen for børn og "
    "unge på 116 111.",
    "en": "Are you under 18 and need someone to talk to? Call the children's helpline "
    "(Alarmtelefonen for barn og unge) on 116 111.",
}
OUT_OF_HOURS: dict[str, str] = {
    "nb": "Takk for meldingen. Nettpatruljen er ikke på vakt nå ({hours}); vi svarer så snart "
    "vi er tilbake. Haster det, ring 112. Ellers når du politiet på 02800.",
    "nn": "Takk for meldinga. Nettpatruljen er ikkje på vakt no ({hours}); vi svarar så snart "
    "vi er tilbake. Hastar det, ring 112. Elles når du politiet på 02800.",
    "sv": "Tack för ditt meddelande. Nätpatrullen är inte i tjänst nu ({hours}); vi svarar så "
    "snart vi är tillbaka. Är det brådskande, ring 112. Annars når du polisen på +47 02800.",
    "da": "Tak for beskeden. Netpatruljen er ikke på vagt nu ({hours}); vi svarer, så snart "
    "vi er tilbage. Haster det, ring 112. Ellers kan du ringe politiet på +47 02800.",
    "en": "Thank you for your message. The online patrol is not on duty now ({hours}); we "
    "will answer when we are back. If it is urgent, call 112. Otherwise call the police on "
    "+47 02800.",
}
FEEDBACK: dict[str, str] = {
    "nb": "Samtalen er avsluttet. Vil du hjelpe oss å bli bedre? Svar med et tall fra 1 "
    "(dårlig) til 5 (svært bra), og gjerne: Hva var bra? Hva kan vi gjøre bedre?",
    "nn": "Samtalen er avslutta. Vil du hjelpe oss å bli betre? Svar med eit tal frå 1 "
    "(dårleg) til 5 (svært bra), og gjerne: Kva var bra? Kva kan vi gjere betre?",
    "sv": "Samtalet är avslutat. Vill du hjälpa oss att bli bättre? Svara med en siffra från "
    "1 (dåligt) till 5 (mycket bra), och gärna: Vad var bra? Vad kan vi göra bättre?",
    "da": "Samtalen er afsluttet. Vil du hjælpe os med at blive bedre? Svar med et tal fra 1 "
    "(dårligt) til 5 (rigtig godt), og gerne: Hvad var godt? Hvad kan vi gøre bedre?",
    "en": "This conversation is closed. Would you help us improve? Reply with a number from "
    "1 (poor) to 5 (very good), and tell us: What was good? What can we do better?",
}


def _in(texts: dict[str, str], lang: str | None) -> str:
    return texts.get(lang or "nb", texts["nb"])


def emergency_text(lang: str | None, child: bool) -> str:
    text = _in(EMERGENCY, lang)
    return f"{text} {_in(CHILDREN, lang)}" if child else text


def feedback_question(lang: str | None) -> str:
    return _in(FEEDBACK, lang)


class MessageFacts(Protocol):
    """What the automatic answers read of an analysed message (a Message, or the batch's
    record of one)."""

    @property
    def direction(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def category(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class ConversationFacts(Protocol):
    """What they read and set of its conversation (a Conversation, or the batch's state)."""

    id: int
    channel: str
    district: str | None
    status: str
    lang: str | None
    emergency_replied: bool
    out_of_hours_replied: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """An automatic answer to queue: ``lang`` is the conversation's language when it was due."""

    conversation_id: int
    channel: str
    kind: str
    text: str
    lang: str | None


def plan_answer(
    message: MessageFacts,
    conversation: ConversationFacts,
    schedule_of: Callable[[str | None], hours.Schedule | None],
) -> Answer | None:
    """The automatic answer an analysed citizen message calls for, if any (at most one of
    each kind per conversation): 112 for an urgent message, else out-of-hours. Updates the
    conversation's language and its "replied" flags."""
    if message.direction != "in" or message.kind != "citizen":
        return None
    if message.lang and conversation.lang is None:
        conversation.lang = message.lang
    lang = message.lang or conversation.lang
    if message.urgent and not conversation.emergency_replied:
        text = emergency_text(lang, child=message.category == "concern_for_child")
        conversation.emergency_replied = True
        return Answer(conversation.id, conversation.channel, "emergency", text, conversation.lang)
    if conversation.out_of_hours_replied or conversation.status == "closed":
        return None
    schedule = schedule_of(conversation.district)
    if schedule is None or schedule.is_open(message.created_at):
        return None
    text = _in(OUT_OF_HOURS, lang).format(hours=schedule.describe(lang))
    conversation.out_of_hours_replied = True
    return Answer(conversation.id, conversation.channel, "out_of_hours", text, conversation.lang)


def after_analysis(session: Session, keyring: Keyring, message: Message) -> None:
    """Queue the automatic answer an analysed message calls for, if any (``plan_answer``)."""
    conversation = message.conversation
    answer = plan_answer(message, conversation, lambda d: hours.schedule_of(session, d))
    if answer is not None:
        outbound.queue_outbound(session, keyring, conversation, answer.text, answer.kind)


def queue_answers(session: Session, keyring: Keyring, answers: list[Answer]) -> None:
    """Queue the answers planned for a batch of analysed messages, in order, in one INSERT.

    Stored as ``outbound.queue_outbound`` stores a message (encrypted original, redacted
    copy, ``delivery="queued"``); the redacted copy of these fixed texts is computed once.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for answer in answers:
        uid = uuid.uuid4().hex
        rows.append(
            {
                "uid": uid,
                "conversation_id": answer.conversation_id,
                "channel": answer.channel,
                "direction": "out",
                "kind": answer.kind,
                "author_id": None,
                "raw_encrypted": keyring.encrypt(answer.text, message_associated_data(uid)),
                "redacted_text": _redacted(answer.text),
                "lang": answer.lang,
                "urgent": False,
                "entity_types": [],
                "reasons": [],
                "created_at": now,
                "analyzed_at": now,
                "delivery": "queued",
                "delivery_attempts": 0,
                "analysis_attempts": 0,
            }
        )
    session.execute(insert(Message), rows)


@lru_cache(maxsize=256)
def _redacted(text: str) -> str:
    from stemme.understanding.pipeline import redact_text

    return redact_text(text)
