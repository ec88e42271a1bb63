"""Closing the loop: the citizen's answer to "Hva var bra? Hva kan vi gjøre bedre?".

On chat channels the answer arrives as an ordinary message on the closed conversation
(``receive`` files it as ``kind="feedback_answer"``); the web chat posts a rating form.
Only the rating and the *redacted* comment are kept. Per-district figures respect the
minimum group size: a district with fewer answers shows no average.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.errors import InvalidInputError, NotFoundError
from stemme.identity.access import Permission, Principal
from stemme.inbox.models import Conversation, Feedback, Message
from stemme.privacy.crypto import Keyring

ANSWER_WINDOW = timedelta(days=3)
MAX_COMMENT_LENGTH = 2000
# a lone digit 1–5, not part of a number or a redaction tag like <PHONE_1>
# The rating: a digit 1–5 that opens the answer ("4", "4 - raskt svar", "5!"), is given out
# of five ("ga dem 4/5", "3 av 5") or follows "gir" ("jeg gir 3"); any other number in a
# sentence ("etter 2 dager") is not a rating.
_OUT_OF_FIVE = r"\s*(?:/|av|of|af|ut av)\s*5(?![\d.,]\d)"
_LONE = r"([1-5])(?![\w>]|[.,]\d)"
_RATING = re.compile(
    rf"^\W*{_LONE}(?:{_OUT_OF_FIVE})?"  # opens the answer
    rf"|(?<![\w<.,])([1-5]){_OUT_OF_FIVE}"  # "4/5", "3 av 5"
    rf"|\b(?:gir|gjev|give|ger)\s+(?:\w+\s+)?{_LONE}"  # "jeg gir 3", "I give it 4"
    rf"|(?<![\w<.,])([1-5])\W*$",  # closes the answer: "Veldig bra! 5"
    re.IGNORECASE,
)
# categories that mean "this is a new matter", not an answer to the feedback question
NEW_MATTER = ("emergency", "concern_for_child", "crime_report", "tip")


class ConversationState(Protocol):
    """What ``awaiting_answer`` reads: a Conversation, or a row with these columns."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def feedback_requested_at(self) -> datetime | None: ...


def awaiting_answer(session: Session, conversation: ConversationState) -> bool:
    """True when a closed conversation asked for feedback recently and has none yet."""
    asked = conversation.feedback_requested_at
    if conversation.status != "closed" or asked is None or utcnow() - asked > ANSWER_WINDOW:
        return False
    answered = session.scalar(
        select(Feedback.id).where(Feedback.conversation_id == conversation.id)
    )
    return answered is None


def parse_rating(text: str) -> int | None:
    return _split_rating(text)[0]


def _split_rating(text: str) -> tuple[int | None, str]:
    """The rating in an answer, and the answer without it (the comment)."""
    found = _RATING.search(text)
    if found is None:
        return None, text.strip()
    group = next(i for i, g in enumerate(found.groups(), 1) if g)
    comment = text[: found.start(group)] + text[found.end() :]
    return int(found.group(group)), comment.strip(" .,-:!\n")


def record_feedback(
    session: Session,
    keyring: Keyring,
    conversation_id: int,
    rating: int | None,
    comment: str | None,
) -> Feedback:
    """Store one answer (rating 1–5 and/or a comment, redacted before it is stored)."""
    from stemme.understanding.pipeline import redact_text

    del keyring  # nothing is kept unredacted
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInputError("Vurderingen må være et tall fra 1 til 5.")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInputError(
            "Kommentaren er for lang (høyst %(limit)s tegn).", limit=MAX_COMMENT_LENGTH
        )
    if rating is None and comment is None:
        raise InvalidInputError("Gi en vurdering eller skriv en kommentar.")
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError("Fant ingen samtale med id %(id)s.", id=conversation_id)
    existing = session.scalar(select(Feedback).where(Feedback.conversation_id == conversation_id))
    if existing is not None:
        raise InvalidInputError("Du har allerede svart. Takk!")
    feedback = Feedback(
        conversation_id=conversation.id,
        channel=conversation.channel,
        district=conversation.district,
        rating=rating,
        comment=redact_text(comment) if comment else None,
        created_at=utcnow(),
    )
    session.add(feedback)
    session.flush()
    return feedback


def file_answer(session: Session, message: Message) -> None:
    """An analysed ``feedback_answer`` message: store it as feedback, or, when it is a new
    matter (an emergency, a report, a tip), reopen the conversation and treat it as one."""
    conversation = message.conversation
    if message.urgent or message.category in NEW_MATTER:
        message.kind = "citizen"
        conversation.status = "open"
        conversation.closed_at = None
        return
    rating, comment = _split_rating(message.redacted_text or "")
    if session.scalar(select(Feedback.id).where(Feedback.conversation_id == conversation.id)):
        return  # answered twice: the first answer counts
    session.add(
        Feedback(
            conversation_id=conversation.id,
            channel=conversation.channel,
            district=conversation.district,
            rating=rating,
            comment=comment[:MAX_COMMENT_LENGTH] or None,
            created_at=utcnow(),
        )
    )


@dataclass(frozen=True, slots=True)
class DistrictFeedback:
    district: str | None
    answers: int
    average: float | None  # None below the minimum group size
    distribution: dict[int, int] | None
    comments: list[tuple[datetime, int | None, str]]


def feedback_by_district(
    session: Session,
    principal: Principal,
    since: datetime,
    min_group_size: int,
    comments: int = 10,
) -> list[DistrictFeedback]:
    """Answers per district in the principal's scope since ``since``."""
    principal.require(Permission.VIEW_INBOX)
    rows = session.scalars(
        select(Feedback)
        .where(Feedback.created_at >= since, principal.scope_filter(Feedback.district))
        .order_by(Feedback.created_at.desc())
    ).all()
    grouped: dict[str | None, list[Feedback]] = {}
    for row in rows:
        grouped.setdefault(row.district, []).append(row)
    result: list[DistrictFeedback] = []
    for district, items in sorted(grouped.items(), key=lambda kv: kv[0] or ""):
        ratings = [f.rating for f in items if f.rating is not None]
        enough = len(ratings) >= min_group_size
        result.append(
            DistrictFeedback(
                district=district,
                answers=len(items),
                average=round(sum(ratings) / len(ratings), 2) if enough else None,
                distribution={r: ratings.count(r) for r in range(1, 6)} if enough else None,
                comments=[(f.created_at, f.rating, f.comment) for f in items if f.comment][
                    :comments
                ],
            )
        )
    return result
