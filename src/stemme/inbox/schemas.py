"""JSON shapes of the inbox API (the contract: redacted text only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from stemme.inbox.work import (
    CANNED_LANGUAGES,
    CANNED_VARIABLES,
    MAX_CANNED_BODY,
    MAX_CANNED_KEY,
    MAX_CANNED_TITLE,
)


class MessageOut(BaseModel):
    id: int
    direction: str
    text: str | None = Field(description="Redacted text; null until the message is analysed")
    created_at: datetime


class ConversationOut(BaseModel):
    id: int
    channel: str
    district: str | None
    category: str | None
    urgent: bool
    status: str
    messages: list[MessageOut]


class ConversationPage(BaseModel):
    total: int
    items: list[ConversationOut]


class TriageCorrection(BaseModel):
    category: str = Field(max_length=32)
    urgent: bool


class OriginalOut(BaseModel):
    id: int
    text: str


class MessageDetailOut(MessageOut):
    kind: str = Field(description="citizen, feedback_answer, reply, emergency, out_of_hours, …")
    category: str | None
    urgent: bool
    reasons: list[str]
    delivery: str | None = Field(description="Outbound only: queued, retrying, sent or failed")
    delivery_error: str | None
    author_id: int | None


class NoteOut(BaseModel):
    id: int
    author: str | None
    text: str = Field(description="Redacted text")
    created_at: datetime


class ConversationDetailOut(BaseModel):
    id: int
    channel: str
    district: str | None
    category: str | None
    urgent: bool
    status: str
    outcome: str | None
    lang: str | None
    assignee_id: int | None
    created_at: datetime
    first_response_at: datetime | None
    messages: list[MessageDetailOut]
    notes: list[NoteOut]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class AssignmentIn(BaseModel):
    user_id: int | None = Field(description="null: back to the shared queue")


class TransferIn(BaseModel):
    district: str = Field(max_length=64)


class StatusIn(BaseModel):
    status: str = Field(max_length=16)
    outcome: str | None = Field(default=None, max_length=32)


class CannedOut(BaseModel):
    key: str
    lang: str
    title: str
    body: str


# Generous bounds only: the service checks the real limits, with errors in Norwegian.
class CannedTextIn(BaseModel):
    title: str = Field(max_length=1000, description=f"At most {MAX_CANNED_TITLE} characters")
    body: str = Field(
        max_length=20000,
        description=f"At most {MAX_CANNED_BODY} characters; the only {{variables}} are "
        + ", ".join("{" + name + "}" for name in CANNED_VARIABLES),
    )


class CannedIn(CannedTextIn):
    key: str = Field(
        max_length=200, description=f"a-z, 0-9, '-' and '_', at most {MAX_CANNED_KEY} characters"
    )
    lang: str = Field(
        max_length=16,
        description=", ".join(CANNED_LANGUAGES) + "; a new key starts with its bokmål (nb) version",
    )


class FiguresOut(BaseModel):
    conversations: int
    answered: int
    median_minutes: float | None
    p90_minutes: float | None
    within_target: float | None
    urgent: int


class GroupFiguresOut(FiguresOut):
    district: str | None = None
    channel: str | None = None


class SlaOut(BaseModel):
    since: datetime
    until: datetime
    total: FiguresOut
    groups: list[GroupFiguresOut] = Field(description="Per district and channel")


class FeedbackOut(BaseModel):
    district: str | None
    answers: int
    average: float | None = Field(description="null below the minimum group size")
    distribution: dict[int, int] | None
