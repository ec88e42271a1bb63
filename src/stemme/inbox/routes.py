"""JSON API of the inbox: the district-scoped queue, corrections, and audited originals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from stemme.identity.access import Principal
from stemme.inbox import service
from stemme.inbox.models import Message
from stemme.inbox.schemas import (
    ConversationOut,
    ConversationPage,
    MessageOut,
    OriginalOut,
    TriageCorrection,
)
from stemme.privacy.crypto import Keyring
from stemme.web.deps import AppContext, DbSession, api_principal, app_context

router = APIRouter(tags=["inbox"])

Caller = Annotated[Principal, Depends(api_principal)]


def keyring(ctx: Annotated[AppContext, Depends(app_context)]) -> Keyring:
    return Keyring.from_setting(ctx.settings.encryption_keys)


def _out(view: service.ConversationView) -> ConversationOut:
    return ConversationOut(
        id=view.id,
        channel=view.channel,
        district=view.district,
        category=view.category,
        urgent=view.urgent,
        status=view.status,
        messages=[
            MessageOut(id=m.id, direction=m.direction, text=m.text, created_at=m.created_at)
            for m in view.messages
        ],
    )


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    session: DbSession,
    caller: Caller,
    channel: str | None = None,
    district: str | None = None,
    status: str | None = None,
    category: str | None = None,
    urgent: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 25,
) -> ConversationPage:
    """Urgent conversations first, then the longest waiting; redacted text only."""
    filters = service.ConversationFilter(
        channel, district, status, category, urgent, page=page, per_page=per_page
    )
    total, items = service.list_conversations(session, caller, filters)
    return ConversationPage(total=total, items=[_out(v) for v in items])


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(session: DbSession, caller: Caller, conversation_id: int) -> ConversationOut:
    return _out(service.get_conversation(session, caller, conversation_id))


@router.post("/messages/{message_id}/triage", response_model=ConversationOut)
def correct_triage(
    session: DbSession, caller: Caller, message_id: int, body: TriageCorrection
) -> ConversationOut:
    """Correct a message's category and urgency; answers with its conversation."""
    label = service.correct_triage(session, caller, message_id, body.category, body.urgent)
    message = session.get(Message, label.message_id)
    assert message is not None
    return _out(service.get_conversation(session, caller, message.conversation_id))


@router.get("/messages/{message_id}/original", response_model=OriginalOut)
def read_original(
    session: DbSession,
    caller: Caller,
    ring: Annotated[Keyring, Depends(keyring)],
    message_id: int,
    response: Response,
) -> OriginalOut:
    """The unredacted original; every read is audited."""
    response.headers["Cache-Control"] = "no-store"
    return OriginalOut(id=message_id, text=service.read_original(session, caller, ring, message_id))
