"""Automatic messages: the 112 answer to emergencies, the out-of-hours answer, the feedback
question when a conversation closes. All in the citizen's language (bokmål otherwise).

They go through the same outbound queue as operators' replies, so they are stored, retried
and visible in the conversation like any other reply.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stemme.inbox import hours, outbound
from stemme.inbox.models import Conversation, Message
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


def after_analysis(session: Session, keyring: Keyring, message: Message) -> None:
    """The automatic answer an analysed citizen message calls for, if any (at most one of
    each kind per conversation): 112 for an urgent message, else out-of-hours."""
    conversation = message.conversation
    if message.direction != "in" or message.kind != "citizen":
        return
    if message.lang and conversation.lang is None:
        conversation.lang = message.lang
    if message.urgent and not conversation.emergency_replied:
        child = message.category == "concern_for_child"
        text = emergency_text(message.lang or conversation.lang, child)
        outbound.queue_outbound(session, keyring, conversation, text, "emergency")
        conversation.emergency_replied = True
        return
    if not conversation.out_of_hours_replied and conversation.status != "closed":
        _out_of_hours(session, keyring, conversation, message)


def _out_of_hours(
    session: Session, keyring: Keyring, conversation: Conversation, message: Message
) -> None:
    schedule = hours.schedule_of(session, conversation.district)
    if schedule is None or schedule.is_open(message.created_at):
        return
    text = _in(OUT_OF_HOURS, message.lang or conversation.lang).format(
        hours=schedule.describe(message.lang or conversation.lang)
    )
    outbound.queue_outbound(session, keyring, conversation, text, "out_of_hours")
    conversation.out_of_hours_replied = True
