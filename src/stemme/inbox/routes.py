"""JSON API of the inbox: the district-scoped queue, corrections, and audited originals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from stemme.db import utcnow
from stemme.identity.access import Principal
from stemme.inbox import feedback, service, stats, work
from stemme.inbox.models import Message
from stemme.inbox.schemas import (
    AssignmentIn,
    CannedIn,
    CannedOut,
    CannedTextIn,
    ConversationDetailOut,
    ConversationOut,
    ConversationPage,
    FeedbackOut,
    FiguresOut,
    GroupFiguresOut,
    MessageDetailOut,
    MessageOut,
    NoteOut,
    OriginalOut,
    SlaOut,
    StatusIn,
    TextIn,
    TransferIn,
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


def _detail(session: Session, caller: Principal, conversation_id: int) -> ConversationDetailOut:
    view = service.get_conversation(session, caller, conversation_id)
    return ConversationDetailOut(
        id=view.id,
        channel=view.channel,
        district=view.district,
        category=view.category,
        urgent=view.urgent,
        status=view.status,
        outcome=view.outcome,
        lang=view.lang,
        assignee_id=view.assignee_id,
        created_at=view.created_at,
        first_response_at=view.first_response_at,
        messages=[
            MessageDetailOut(
                id=m.id,
                direction=m.direction,
                text=m.text,
                created_at=m.created_at,
                kind=m.kind,
                category=m.category,
                urgent=m.urgent,
                reasons=list(m.reasons),
                delivery=m.delivery,
                delivery_error=m.delivery_error,
                author_id=m.author_id,
            )
            for m in view.messages
        ],
        notes=[NoteOut(**asdict(n)) for n in work.notes(session, caller, conversation_id)],
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationDetailOut)
def get_conversation(
    session: DbSession, caller: Caller, conversation_id: int
) -> ConversationDetailOut:
    """One conversation with every message's kind, triage and delivery state, and notes."""
    return _detail(session, caller, conversation_id)


@router.post(
    "/conversations/{conversation_id}/replies",
    response_model=ConversationDetailOut,
    status_code=201,
)
def post_reply(
    session: DbSession,
    caller: Caller,
    ring: Annotated[Keyring, Depends(keyring)],
    conversation_id: int,
    body: TextIn,
) -> ConversationDetailOut:
    """Queue a reply on the conversation's channel; its delivery state shows in ``messages``."""
    work.reply(session, caller, ring, conversation_id, body.text)
    return _detail(session, caller, conversation_id)


@router.post(
    "/conversations/{conversation_id}/notes", response_model=ConversationDetailOut, status_code=201
)
def post_note(
    session: DbSession,
    caller: Caller,
    ring: Annotated[Keyring, Depends(keyring)],
    conversation_id: int,
    body: TextIn,
) -> ConversationDetailOut:
    """An internal note (never sent to the citizen)."""
    work.add_note(session, caller, ring, conversation_id, body.text)
    return _detail(session, caller, conversation_id)


@router.put("/conversations/{conversation_id}/assignment", response_model=ConversationDetailOut)
def put_assignment(
    session: DbSession, caller: Caller, conversation_id: int, body: AssignmentIn
) -> ConversationDetailOut:
    work.assign(session, caller, conversation_id, body.user_id)
    return _detail(session, caller, conversation_id)


@router.post("/conversations/{conversation_id}/transfer", status_code=204)
def post_transfer(
    session: DbSession, caller: Caller, conversation_id: int, body: TransferIn
) -> Response:
    """Move to another district's queue (it may leave the caller's scope: no body)."""
    work.transfer(session, caller, conversation_id, body.district)
    return Response(status_code=204)


@router.put("/conversations/{conversation_id}/status", response_model=ConversationDetailOut)
def put_status(
    session: DbSession,
    caller: Caller,
    ring: Annotated[Keyring, Depends(keyring)],
    conversation_id: int,
    body: StatusIn,
) -> ConversationDetailOut:
    """new, open, waiting or closed (closing needs an outcome and sends the feedback question)."""
    work.set_status(session, caller, ring, conversation_id, body.status, body.outcome)
    return _detail(session, caller, conversation_id)


@router.post("/messages/{message_id}/retry", response_model=ConversationDetailOut)
def post_retry(session: DbSession, caller: Caller, message_id: int) -> ConversationDetailOut:
    """Queue a reply that could not be delivered again."""
    message = work.retry_delivery(session, caller, message_id)
    return _detail(session, caller, message.conversation_id)


@router.get("/canned-replies", response_model=list[CannedOut])
def canned_replies(session: DbSession, caller: Caller, lang: str = "nb") -> list[CannedOut]:
    return [CannedOut(**asdict(c)) for c in work.canned_replies(session, caller, lang)]


@router.post("/canned-replies", response_model=CannedOut, status_code=201)
def create_canned_reply(session: DbSession, caller: Caller, data: CannedIn) -> CannedOut:
    """Add one language version (admins and leaders with the whole country in scope).

    A new key starts in bokmål, the fallback of the other languages; 409 when the key
    already has this language, 422 lists every invalid field in ``errors``.
    """
    created = work.create_canned(session, caller, data.key, data.lang, data.title, data.body)
    return CannedOut(**asdict(created))


@router.put("/canned-replies/{key}/{lang}", response_model=CannedOut)
def update_canned_reply(
    session: DbSession, caller: Caller, key: str, lang: str, data: CannedTextIn
) -> CannedOut:
    """Change the title and text of an existing language version (404 when there is none)."""
    return CannedOut(
        **asdict(work.update_canned(session, caller, key, lang, data.title, data.body))
    )


@router.delete("/canned-replies/{key}/{lang}", status_code=204)
def delete_canned_reply(session: DbSession, caller: Caller, key: str, lang: str) -> Response:
    """Delete one language version; bokmål only as the last one (409 otherwise)."""
    work.delete_canned(session, caller, key, lang)
    return Response(status_code=204)


@router.get("/inbox/sla", response_model=SlaOut)
def sla(
    session: DbSession,
    caller: Caller,
    ctx: Annotated[AppContext, Depends(app_context)],
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> SlaOut:
    """Volumes and first-response minutes per district and channel."""
    until = utcnow()
    report = stats.sla_report(
        session, caller, until - timedelta(days=days), until, ctx.settings.first_response_minutes
    )
    return SlaOut(
        since=report.since,
        until=report.until,
        total=FiguresOut(**asdict(report.total)),
        groups=[
            GroupFiguresOut(district=d, channel=c, **asdict(f))
            for (d, c), f in report.by_district_channel.items()
        ],
    )


@router.get("/inbox/feedback", response_model=list[FeedbackOut])
def feedback_figures(
    session: DbSession,
    caller: Caller,
    ctx: Annotated[AppContext, Depends(app_context)],
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> list[FeedbackOut]:
    """Citizens' ratings per district (no average below the minimum group size)."""
    since = utcnow() - timedelta(days=days)
    rows = feedback.feedback_by_district(session, caller, since, ctx.settings.min_group_size)
    return [
        FeedbackOut(
            district=r.district, answers=r.answers, average=r.average, distribution=r.distribution
        )
        for r in rows
    ]


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
