"""HTML pages of the operator inbox: the queue, a conversation, and the SLA dashboard.

Thin adapters over ``inbox.service``, ``inbox.work``, ``inbox.stats`` and
``inbox.feedback``. Live updates are htmx polling of two fragments (the queue and a
conversation's thread); a new urgent conversation is announced in an alert region.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stemme import geo
from stemme.db import utcnow
from stemme.errors import StemmeError
from stemme.identity.access import Permission
from stemme.identity.models import User
from stemme.inbox import feedback, labels, service, stats, stuck, work
from stemme.inbox.models import OUTCOMES, STATUSES, Conversation
from stemme.inbox.outbound import DELIVERY_ERRORS
from stemme.privacy.crypto import Keyring
from stemme.reports import charts
from stemme.understanding.triage import CATEGORIES
from stemme.web.deps import (
    AppContext,
    DbSession,
    WebUser,
    app_context,
    csrf_token,
    verify_csrf,
    web_user,
)
from stemme.web.i18n import current_language, gettext_
from stemme.web.pages import attempt, redirect, render_page

router = APIRouter(dependencies=[Depends(verify_csrf)])

Ctx = Annotated[AppContext, Depends(app_context)]
Me = Annotated[WebUser, Depends(web_user)]


@dataclass(frozen=True, slots=True)
class Screen:
    """One request of a logged-in user: what every operator action needs."""

    request: Request
    ctx: AppContext
    session: Session
    me: WebUser

    @property
    def keyring(self) -> Keyring:
        return _keyring(self.ctx)


def _screen(request: Request, ctx: Ctx, session: DbSession, me: Me) -> Screen:
    return Screen(request, ctx, session, me)


On = Annotated[Screen, Depends(_screen)]
POLL_SECONDS = 5
CHANNELS = ("messenger", "instagram", "webchat", "email")


def _keyring(ctx: AppContext) -> Keyring:
    return Keyring.from_setting(ctx.settings.encryption_keys)


def _translated(mapping: dict[str, str]) -> dict[str, str]:
    return {key: gettext_(label) for key, label in mapping.items()}


def _label_context() -> dict[str, Any]:
    return {
        "category_labels": _translated(labels.CATEGORY_LABELS),
        "status_labels": _translated(labels.STATUS_LABELS),
        "outcome_labels": _translated(labels.OUTCOME_LABELS),
        "channel_labels": _translated(labels.CHANNEL_LABELS),
        "kind_labels": _translated(labels.KIND_LABELS),
        "delivery_labels": _translated(labels.DELIVERY_LABELS),
        "delivery_errors": _translated(DELIVERY_ERRORS),
        "language_labels": _translated(labels.LANGUAGE_LABELS),
        "poll_seconds": POLL_SECONDS,
    }


# --- the queue -------------------------------------------------------------------------------


def _queue_filter(me: WebUser, params: dict[str, str]) -> service.ConversationFilter:
    assignee: int | str | None = None
    if params.get("assignee") == "me":
        assignee = me.user.id
    elif params.get("assignee") == "none":
        assignee = "none"
    urgent = True if params.get("urgent") == "1" else None
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    return service.ConversationFilter(
        channel=params.get("channel") or None,
        district=params.get("district") or None,
        status=params.get("status", service.ACTIVE) or None,
        category=params.get("category") or None,
        urgent=urgent,
        page=max(1, page),
        per_page=25,
        assignee=assignee,
    )


def _queue_data(session: Session, me: WebUser, request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    filters = _queue_filter(me, params)
    total, items = service.list_conversations(session, me.view, filters)
    names = _user_names(session, {c.assignee_id for c in items if c.assignee_id})
    since = int(params["since"]) if params.get("since", "").isdigit() else None
    newest_urgent = _newest_urgent(session, me)
    own = ("since", "page", "version")  # set by the page itself
    query = urlencode({k: v for k, v in params.items() if k not in own and v})
    return {
        "version": _version(
            [
                (
                    c.id,
                    c.status,
                    c.urgent,
                    c.category,
                    c.assignee_id,
                    len(c.messages),
                    c.messages[-1].analyzed if c.messages else None,
                )
                for c in items
            ],
            total,
        ),
        "filters": params,
        "status_filter": filters.status or "",
        "total": total,
        "items": items,
        "assignees": names,
        "page": filters.page,
        "pages": max(1, -(-total // filters.per_page)),
        "query": query,
        "newest_urgent": newest_urgent,
        "new_urgent": since is not None and newest_urgent > since,
        "now": utcnow(),
    }


def _version(*parts: object) -> str:
    """A short fingerprint of what a fragment shows: unchanged means nothing to redraw."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _newest_urgent(session: Session, me: WebUser) -> int:
    """The id of the newest urgent, not yet closed conversation the user can see (or 0)."""
    newest = session.scalar(
        select(func.max(Conversation.id)).where(
            Conversation.urgent.is_(True),
            Conversation.status != "closed",
            me.view.scope_filter(Conversation.district),
        )
    )
    return int(newest or 0)


def _user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    return {row.id: row.display_name for row in rows}


@router.get("/inbox", response_class=HTMLResponse)
def queue_page(request: Request, ctx: Ctx, session: DbSession, me: Me) -> Response:
    me.principal.require(Permission.VIEW_INBOX)
    return render_page(
        request,
        ctx,
        "inbox/queue.html",
        me,
        **_queue_data(session, me, request),
        **_label_context(),
        district_choices=[d for d in geo.POLICE_DISTRICTS if me.view.covers(d)],
        channels=CHANNELS,
        categories=CATEGORIES,
        statuses=STATUSES,
    )


@router.get("/inbox/queue", response_class=HTMLResponse)
def queue_fragment(request: Request, ctx: Ctx, session: DbSession, me: Me) -> Response:
    """The queue table alone: what the page polls for live updates."""
    me.principal.require(Permission.VIEW_INBOX)
    data = {**_queue_data(session, me, request), **_label_context(), "user": me}
    if data["version"] == request.query_params.get("version") and not data["new_urgent"]:
        return Response(status_code=204)  # nothing changed: htmx keeps the page (and focus)
    html = ctx.templates.get_template("inbox/_queue.html").render(data)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/inbox/alerts", response_class=HTMLResponse)
def alerts_fragment(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    me: Me,
    since: Annotated[int, Query()] = -1,
) -> Response:
    """Polled from every page of inbox users: an alert when a new urgent conversation came
    in since the last poll (the first poll, ``since=-1``, only sets the baseline)."""
    me.principal.require(Permission.VIEW_INBOX)
    newest = _newest_urgent(session, me)
    html = ctx.templates.get_template("inbox/_alerts.html").render(
        newest=newest, alert=since >= 0 and newest > since, poll_seconds=POLL_SECONDS * 2
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


# --- one conversation -----------------------------------------------------------------------


def _conversation_data(session: Session, me: WebUser, conversation_id: int) -> dict[str, Any]:
    view = service.get_conversation(session, me.view, conversation_id)
    authors = _user_names(session, {m.author_id for m in view.messages if m.author_id})
    may_work = me.principal.can(Permission.WORK_INBOX)
    return {
        "version": _version(
            [(m.id, m.analyzed, m.delivery, m.category, m.urgent) for m in view.messages],
            view.status,
        ),
        "c": view,
        "authors": authors,
        "assignee_name": _user_names(session, {view.assignee_id}).get(view.assignee_id or 0)
        if view.assignee_id
        else None,
        "notes": work.notes(session, me.view, conversation_id),
        "may_work": may_work,
        "may_read_originals": me.principal.can(Permission.READ_ORIGINALS),
        "canned": work.canned_replies(session, me.view, view.lang) if may_work else [],
        "assignable": work.assignable_users(session, me.view, conversation_id) if may_work else [],
        "categories": CATEGORIES,
        "statuses": STATUSES,
        "outcomes": OUTCOMES,
        "districts": geo.POLICE_DISTRICTS,
    }


def _conversation_page(
    request: Request,
    ctx: AppContext,
    session: Session,
    me: WebUser,
    conversation_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    return render_page(
        request,
        ctx,
        "inbox/conversation.html",
        me,
        status_code=status_code,
        **_conversation_data(session, me, conversation_id),
        **_label_context(),
        **extra,
    )


@router.get("/inbox/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request, ctx: Ctx, session: DbSession, me: Me, conversation_id: int
) -> Response:
    me.principal.require(Permission.VIEW_INBOX)
    return _conversation_page(request, ctx, session, me, conversation_id)


@router.get("/inbox/{conversation_id}/thread", response_class=HTMLResponse)
def thread_fragment(
    request: Request, ctx: Ctx, session: DbSession, me: Me, conversation_id: int
) -> Response:
    """The messages of a conversation alone: polled for live updates."""
    me.principal.require(Permission.VIEW_INBOX)
    data = {
        **_conversation_data(session, me, conversation_id),
        **_label_context(),
        "csrf_token": csrf_token(request, ctx),
    }
    if data["version"] == request.query_params.get("version"):
        return Response(status_code=204)  # nothing new: the page (and an open original) stays
    html = ctx.templates.get_template("inbox/_thread.html").render(data)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _act(
    on: Screen,
    conversation_id: int,
    action: Callable[[], object],
    flash: str,
    form: dict[str, str] | None = None,
) -> Response:
    """Run one operator action; back to the conversation, or the page with the error."""
    on.me.principal.require(Permission.WORK_INBOX)  # without it: 403, not a form error
    error = attempt(on.session, action)
    if error is not None:
        return _conversation_page(
            on.request, on.ctx, on.session, on.me, conversation_id,
            status_code=422, error=error, form=form,
        )  # fmt: skip
    try:
        service.get_conversation(on.session, on.me.view, conversation_id)
    except StemmeError:  # e.g. transferred out of the user's scope
        return redirect("/inbox", flash, on.ctx)
    return redirect(f"/inbox/{conversation_id}", flash, on.ctx)


@router.post("/inbox/{conversation_id}/reply")
def post_reply(on: On, conversation_id: int, text: Annotated[str, Form()] = "") -> Response:
    def action() -> object:
        return work.reply(on.session, on.me.view, on.keyring, conversation_id, text)

    return _act(on, conversation_id, action, "reply_queued", {"text": text})


@router.get("/inbox/{conversation_id}/canned", response_class=HTMLResponse)
def canned_fragment(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    me: Me,
    conversation_id: int,
    key: Annotated[str, Query()] = "",
) -> Response:
    """The reply box filled with a canned reply (variables filled in)."""
    me.principal.require(Permission.WORK_INBOX)
    text = work.fill_canned(session, me.view, conversation_id, key).body if key else ""
    html = ctx.templates.get_template("inbox/_reply_box.html").render(text=text)
    return HTMLResponse(html)


@router.post("/inbox/{conversation_id}/notes")
def post_note(on: On, conversation_id: int, text: Annotated[str, Form()] = "") -> Response:
    def action() -> object:
        return work.add_note(on.session, on.me.view, on.keyring, conversation_id, text)

    return _act(on, conversation_id, action, "note_added", {"note": text})


@router.post("/inbox/{conversation_id}/assign")
def post_assign(on: On, conversation_id: int, user_id: Annotated[str, Form()] = "") -> Response:
    target = on.me.user.id if user_id == "me" else (int(user_id) if user_id.isdigit() else None)
    return _act(
        on,
        conversation_id,
        lambda: work.assign(on.session, on.me.view, conversation_id, target),
        "assigned",
    )


@router.post("/inbox/{conversation_id}/transfer")
def post_transfer(on: On, conversation_id: int, district: Annotated[str, Form()] = "") -> Response:
    return _act(
        on,
        conversation_id,
        lambda: work.transfer(on.session, on.me.view, conversation_id, district),
        "transferred",
    )


@router.post("/inbox/{conversation_id}/status")
def post_status(
    on: On,
    conversation_id: int,
    status: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
) -> Response:
    def action() -> object:
        return work.set_status(
            on.session, on.me.view, on.keyring, conversation_id, status, outcome or None
        )

    return _act(on, conversation_id, action, "status_changed")


@router.post("/inbox/messages/{message_id}/triage")
def post_triage(
    on: On,
    message_id: int,
    category: Annotated[str, Form()] = "",
    urgent: Annotated[str, Form()] = "",
) -> Response:
    conversation_id = service.conversation_of_message(on.session, on.me.view, message_id)

    def action() -> object:
        return service.correct_triage(on.session, on.me.view, message_id, category, bool(urgent))

    return _act(on, conversation_id, action, "triage_corrected")


@router.post("/inbox/messages/{message_id}/retry")
def post_retry(on: On, message_id: int) -> Response:
    conversation_id = service.conversation_of_message(on.session, on.me.view, message_id)
    return _act(
        on,
        conversation_id,
        lambda: work.retry_delivery(on.session, on.me.view, message_id),
        "reply_queued",
    )


@router.post("/inbox/messages/{message_id}/original", response_class=HTMLResponse)
def post_original(
    request: Request, ctx: Ctx, session: DbSession, me: Me, message_id: int
) -> Response:
    """The unredacted original in place of the redacted text (an audited read)."""
    original = service.read_original(session, me.view, _keyring(ctx), message_id)
    html = ctx.templates.get_template("inbox/_original.html").render(
        text=original, message_id=message_id
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


# --- the dashboard ---------------------------------------------------------------------------


@router.get("/reports/inbox", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    me: Me,
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> Response:
    me.principal.require(Permission.VIEW_INBOX)
    until = utcnow()
    since = until - timedelta(days=days)
    report = stats.sla_report(session, me.view, since, until, ctx.settings.first_response_minutes)
    answers = feedback.feedback_by_district(session, me.view, since, ctx.settings.min_group_size)
    return render_page(
        request,
        ctx,
        "inbox/dashboard.html",
        me,
        report=report,
        weekly_chart=charts.weekly_response_chart(report.weekly, _weekly_labels()),
        answers=answers,
        days=days,
        targets=ctx.settings.first_response_minutes,
        min_group_size=ctx.settings.min_group_size,
        **_label_context(),
    )


def _weekly_labels() -> charts.WeeklyLabels:
    return charts.WeeklyLabels(
        week=gettext_("Uke"),
        conversations=gettext_("Samtaler per uke"),
        minutes=gettext_("Første svar (minutter)"),
        median=gettext_("Median"),
        p90=gettext_("90-persentil"),
    )


# --- opening hours (admin, leader) -------------------------------------------------------------


def _hours_rows(session: Session, me: WebUser) -> list[dict[str, Any]]:
    from stemme.inbox.hours import DAY_NAMES, schedule_of

    rows = []
    for district in geo.POLICE_DISTRICTS:
        if not me.principal.covers(district):
            continue
        schedule = schedule_of(session, district)
        days = [
            {
                "index": day,
                "name": DAY_NAMES["nb"][day]
                if current_language() != "en"
                else DAY_NAMES["en"][day],
                "opens": f"{schedule.days[day][0]:%H:%M}"
                if schedule and day in schedule.days
                else "",
                "closes": f"{schedule.days[day][1]:%H:%M}"
                if schedule and day in schedule.days
                else "",
            }
            for day in range(7)
        ]
        rows.append({"district": district, "always": schedule is None, "days": days})
    return rows


def _admin_page(
    request: Request,
    ctx: AppContext,
    session: Session,
    me: WebUser,
    *,
    status_code: int = 200,
    **data: Any,
) -> Response:
    from stemme.channels.pages import PLATFORMS, list_pages

    values: dict[str, Any] = {
        "districts": _hours_rows(session, me),
        "errors": {},
        "pages": list_pages(session, me.principal),
        "platforms": PLATFORMS,
        "page_districts": [d for d in geo.POLICE_DISTRICTS if me.principal.covers(d)],
        "page_form": {},
        "stuck": stuck.stuck_summary(session, me.principal),
        **data,
    }
    return render_page(request, ctx, "inbox/hours.html", me, status_code=status_code, **values)


@router.get("/admin/inbox", response_class=HTMLResponse)
def hours_page(request: Request, ctx: Ctx, session: DbSession, me: Me) -> Response:
    me.principal.require(Permission.MANAGE_INBOX)
    return _admin_page(request, ctx, session, me)


@router.post("/admin/inbox/pages")
def post_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    me: Me,
    page_id: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Add or change a Messenger page or Instagram account (an empty token keeps the old)."""
    from stemme.channels.pages import save_page

    me.principal.require(Permission.MANAGE_INBOX)
    ring = _keyring(ctx)
    error = attempt(
        session,
        lambda: save_page(
            session,
            me.principal,
            ring,
            page_id=page_id,
            platform=platform,
            name=name,
            district=district or None,
            token=token,
            active=bool(active),
        ),
    )
    if error is not None:
        form = {"page_id": page_id, "platform": platform, "name": name, "district": district}
        return _admin_page(
            request, ctx, session, me, status_code=422, page_error=error, page_form=form
        )
    pages = getattr(request.app.state, "stemme_pages", None)
    if pages is not None:
        pages.forget()
    return redirect("/admin/inbox", "page_saved", ctx)


@router.post("/admin/inbox/hours")
async def post_hours(request: Request, ctx: Ctx, session: DbSession, me: Me) -> Response:
    """One district's week: opening and closing time per day (both empty: closed that day)."""
    from stemme.inbox.hours import set_hours

    me.principal.require(Permission.MANAGE_INBOX)
    form = await request.form()
    district = str(form.get("district", ""))
    always = form.get("always") == "1"
    raw: dict[str, list[str]] = {}
    if not always:
        for day in range(7):
            opens, closes = str(form.get(f"opens-{day}", "")), str(form.get(f"closes-{day}", ""))
            if opens or closes:
                raw[str(day)] = [opens, closes]
    error = attempt(session, lambda: set_hours(session, me.principal, district, raw))
    if error is not None:
        shown = any(row["district"] == district for row in _hours_rows(session, me))
        return _admin_page(
            request,
            ctx,
            session,
            me,
            status_code=422,
            errors={district: error} if shown else {},
            error=None if shown else error,
        )
    return redirect("/admin/inbox", "hours_saved", ctx)


@router.post("/admin/inbox/journal/retry")
def post_journal_retry(ctx: Ctx, session: DbSession, me: Me) -> Response:
    """Try every intake journal row given up (in the user's scope) again (audited); the
    worker, which looks for due rows a few times a second, files them."""
    stuck.retry_given_up(session, me.principal)  # MANAGE_INBOX, within the user's districts
    return redirect("/admin/inbox", "journal_released", ctx)
