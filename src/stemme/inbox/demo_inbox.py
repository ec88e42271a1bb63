"""A realistic demo inbox: several hundred conversations over four months, every channel,
many districts, emergencies included, most of them answered and closed, some with feedback.

Everything goes through the real intake and analysis (``receive`` → ``analyze_pending``),
then the timestamps are moved back in time; the citizen texts are invented here (the names,
numbers and addresses in them are fake).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.identity.models import User
from stemme.inbox import outbound, service
from stemme.inbox.models import OUTCOMES, Conversation, DistrictHours, Feedback, Message
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import Keyring

PLACES: dict[str, tuple[str, ...]] = {
    "Oslo": ("Grønland", "Grünerløkka", "Furuset", "Holmlia", "Majorstuen"),
    "Øst": ("Lillestrøm", "Fredrikstad", "Sarpsborg", "Moss", "Jessheim"),
    "Vest": ("Bergen", "Førde", "Voss", "Askøy"),
    "Sør-Vest": ("Stavanger", "Sandnes", "Haugesund"),
    "Agder": ("Kristiansand", "Arendal", "Grimstad"),
    "Sør-Øst": ("Drammen", "Tønsberg", "Skien", "Porsgrunn"),
    "Innlandet": ("Hamar", "Lillehammer", "Gjøvik"),
    "Møre og Romsdal": ("Ålesund", "Molde", "Kristiansund"),
    "Trøndelag": ("Trondheim", "Steinkjer", "Levanger"),
    "Nordland": ("Bodø", "Narvik", "Mo i Rana"),
    "Troms": ("Tromsø", "Harstad", "Finnsnes"),
    "Finnmark": ("Alta", "Hammerfest", "Kirkenes"),
}
NAMES = ("Emma Solberg", "Jonas Lie", "Sara Ahmed", "Mats Eriksen", "Ida Strand", "Ali Hassan")
# (text, weight); {place}, {name}, {phone} are filled in
TEXTS: tuple[tuple[str, int], ...] = (
    ("Hei, hvordan fornyer jeg passet mitt? Jeg bor i {place}.", 10),
    ("Hvor lang tid tar det å få våpenkort? Søkte for tre måneder siden, mvh {name}", 4),
    ("Er det lov å kjøre el-sparkesykkel på fortauet i {place}?", 5),
    ("Når kan man fyre opp raketter på nyttårsaften?", 3),
    ("Noen har brukt Vipps-kontoen min og tatt 4000 kr. Hvordan anmelder jeg? Tlf {phone}", 6),
    ("Sykkelen min ble stjålet utenfor stasjonen i {place} i går kveld", 6),
    ("Jeg har fått trusler på Snapchat fra en jeg ikke kjenner. Hva gjør jeg?", 5),
    ("Det selges hasj bak skolen i {place} hver fredag etter kl 15", 5),
    ("Bilene råkjører forbi barnehagen i {place} hver morgen, noen kommer til å bli skadet", 4),
    ("Takk til politiet i {place} for god hjelp da lommeboka mi ble funnet!", 5),
    ("Dere svarer altfor sent på meldinger, har ventet i to dager", 2),
    (
        "Jeg er bekymret for en jente på 13 i klassen til dattera mi, hun får meldinger fra en "
        "voksen mann som ber om bilder",
        3,
    ),
    ("Naboen roper til barna sine hver kveld og de virker redde. Bor i {place}", 2),
    ("HJELP det er en mann med kniv utenfor døra vår i {place} nå!!", 2),
    ("Kameraten min sier han skal ta livet sitt i kveld, hva gjør jeg??", 1),
    ("Det er slåsskamp utenfor kiosken i {place} akkurat nå, noen ligger på bakken", 1),
    ("Kva gjer eg viss eg har mista førarkortet? Helsing {name}", 3),
    ("Hej, jag blev bestulen på min mobil i {place} i helgen", 2),
    ("Hi, my bike was stolen in {place}. How do I report it? My number is {phone}", 3),
    ("hei", 3),
    ("test", 1),
)
CHANNELS = (("messenger", 45), ("instagram", 25), ("webchat", 20), ("email", 10))
COMMENTS = (
    "Fikk raskt svar, takk!",
    "Greit, men tok lang tid.",
    "Veldig hyggelig og nyttig",
    "Skjønte ikke helt svaret",
    "Bra at det går an å chatte med politiet",
)
REPLY = "Takk for at du tok kontakt. Vi har sett på saken din og svarer deg her."
DAYS = 120
LIVE = 60  # the newest conversations, still waiting in the queue


def load(session: Session, keyring: Keyring, count: int = 400, seed: int = 2026) -> int:
    """Add ``count`` conversations; returns how many were stored."""
    rng = random.Random(seed)  # noqa: S311 - invented demo data, not security
    now = utcnow()
    operators = list(session.scalars(select(User).where(User.role == "operator")).all())
    # Finnmark's online patrol works 08–22: messages at night get the out-of-hours answer
    hours = {str(day): ["08:00", "22:00"] for day in range(7)}
    session.merge(DistrictHours(district="Finnmark", hours=hours))
    texts = [t for t, w in TEXTS for _ in range(w)]
    channels = [c for c, w in CHANNELS for _ in range(w)]
    started: list[tuple[int, datetime]] = []
    for index in range(count):
        district = rng.choice(list(PLACES))
        text = rng.choice(texts).format(
            place=rng.choice(PLACES[district]),
            name=rng.choice(NAMES),
            phone=f"9{rng.randint(1000000, 9999999)}",
        )
        if index >= count - LIVE:
            age = timedelta(minutes=rng.randint(5, 600))
        else:
            age = timedelta(days=rng.uniform(1, DAYS), hours=rng.uniform(0, 10))
        at = now - age
        channel = rng.choice(channels)
        result = service.receive(
            session,
            keyring,
            # every district has its own pages and chat: the channel's district is known
            InboundMessage(channel, f"demo-{channel}:{index}", f"demo-{index}", text, at, district),
        )
        _backdate(session, result.message_id, result.conversation_id, at)
        started.append((result.conversation_id, at))
    while service.analyze_pending(session, keyring, limit=200):
        pass
    for conversation_id, at in started:
        _automatic_answers_sent(session, conversation_id, at)
        if now - at > timedelta(days=1):
            _answer_and_close(session, keyring, rng, conversation_id, at, operators)
    session.flush()
    return len(started)


def _backdate(session: Session, message_id: int, conversation_id: int, at: datetime) -> None:
    message = session.get(Message, message_id)
    conversation = session.get(Conversation, conversation_id)
    assert message is not None
    assert conversation is not None
    message.created_at = message.sent_at = at
    conversation.created_at = conversation.last_message_at = at


def _automatic_answers_sent(session: Session, conversation_id: int, at: datetime) -> None:
    """The demo has no Meta page or mail server: automatic answers count as sent at once."""
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    for message in conversation.messages:
        if message.direction == "out":
            message.delivery, message.created_at, message.sent_at = "sent", at, at
            message.delivery_attempts = 1


def _answer_and_close(
    session: Session,
    keyring: Keyring,
    rng: random.Random,
    conversation_id: int,
    at: datetime,
    operators: list[User],
) -> None:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    people = [u for u in operators if conversation.district in u.districts] or operators
    minutes = rng.lognormvariate(3.2, 1.0) if not conversation.urgent else rng.uniform(1, 8)
    answered = at + timedelta(minutes=minutes)
    reply = outbound.queue_outbound(session, keyring, conversation, REPLY, "reply")
    reply.delivery, reply.created_at, reply.sent_at = "sent", answered, answered
    reply.delivery_attempts = 1
    if people:
        reply.author_id = conversation.assignee_id = rng.choice(people).id
    conversation.first_response_at = answered
    conversation.status = "closed"
    conversation.closed_at = answered + timedelta(minutes=rng.uniform(5, 120))
    conversation.outcome = _outcome(rng, conversation)
    conversation.feedback_requested_at = conversation.closed_at
    if rng.random() < 0.35:
        rating = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 3, 6, 6))[0]
        session.add(
            Feedback(
                conversation_id=conversation.id,
                channel=conversation.channel,
                district=conversation.district,
                rating=rating,
                comment=rng.choice(COMMENTS) if rng.random() < 0.5 else None,
                created_at=conversation.closed_at + timedelta(minutes=3),
            )
        )


def _outcome(rng: random.Random, conversation: Conversation) -> str:
    if conversation.urgent:
        return "referred_112"
    if conversation.category in ("crime_report",):
        return "report_advised"
    if conversation.category == "tip":
        return "tip_forwarded"
    if conversation.category == "other":
        return rng.choice(("no_action", "spam"))
    return rng.choice(OUTCOMES[:3])
