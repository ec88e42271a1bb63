"""JSON shapes of the inbox API (the contract: redacted text only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
