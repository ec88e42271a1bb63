"""HTML pages for login, the overview, user administration, the audit log and own account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from stemme import geo
from stemme.errors import StemmeError
from stemme.identity import audit, service
from stemme.identity.access import ROLE_LABELS, Permission, Role
from stemme.identity.models import User
from stemme.identity.service import LoginPolicy, UserInput
from stemme.web.deps import (
    SESSION_COOKIE,
    AppContext,
    DbSession,
    WebUser,
    app_context,
    optional_web_user,
    verify_csrf,
    web_user,
)
from stemme.web.i18n import LANGUAGES, gettext_
from stemme.web.pages import attempt, redirect, render_page, safe_next, set_cookie
from stemme.web.security import CSRF_COOKIE

router = APIRouter(dependencies=[Depends(verify_csrf)])

Db = DbSession
Ctx = Annotated[AppContext, Depends(app_context)]
Me = Annotated[WebUser, Depends(web_user)]
MaybeMe = Annotated[WebUser | None, Depends(optional_web_user)]


def _new_password_error(password: str, repeat: str) -> str | None:
    return gettext_("Passordene er ikke like.") if password != repeat else None


# --- login ------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx, me: MaybeMe, next: str = "/") -> Response:
    if me is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    expired = request.query_params.get("utlopt") == "1"
    return render_page(request, ctx, "login.html", None, next=safe_next(next), expired=expired)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    ctx: Ctx,
    session: Db,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    policy = LoginPolicy(
        ctx.settings.login_max_failures, timedelta(minutes=ctx.settings.login_lockout_minutes)
    )
    try:
        user = service.authenticate(session, email, password, policy)
    except StemmeError as exc:
        return render_page(
            request,
            ctx,
            "login.html",
            None,
            status_code=401,
            error=exc.render(gettext_),
            email=email,
            next=safe_next(next),
        )
    lifetime = timedelta(hours=ctx.settings.session_hours)
    service.purge_expired_sessions(session)  # the retention rule for sessions
    raw = service.start_session(session, user, lifetime)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, ctx, SESSION_COOKIE, raw, max_age=int(lifetime.total_seconds()))
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx, session: Db, me: Me) -> Response:
    raw = request.cookies.get(SESSION_COOKIE, "")
    service.end_session(session, raw)
    audit.record(session, me.principal, "logout", "user", me.user.id)
    response = redirect("/login", "logged_out", ctx)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


# --- overview, language and district switch ------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, ctx: Ctx, me: Me) -> Response:
    me.principal.require(Permission.VIEW_DASHBOARD)
    return render_page(request, ctx, "overview.html", me)


@router.post("/language")
def choose_language(
    ctx: Ctx, language: Annotated[str, Form()] = "nb", next: Annotated[str, Form()] = "/"
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in LANGUAGES:
        set_cookie(response, ctx, "stemme_lang", language, max_age=365 * 24 * 3600)
    return response


@router.post("/district")
def choose_district(
    ctx: Ctx,
    session: Db,
    me: Me,
    district: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    service.set_active_district(session, me.web_session, me.principal, district or None)
    return redirect(safe_next(next), "district_changed", ctx)


# --- user administration ----------------------------------------------------------------


def _user_form_page(
    request: Request, ctx: Ctx, me: WebUser, *, status_code: int = 200, **data: object
) -> Response:
    grantable = [r for r in Role if r != Role.ADMIN or me.principal.can(Permission.GRANT_ADMIN)]
    return render_page(
        request,
        ctx,
        "admin/user_form.html",
        me,
        status_code=status_code,
        roles=[(r.value, gettext_(ROLE_LABELS[r])) for r in grantable],
        district_choices=_grantable_districts(me),
        **data,
    )


def _grantable_districts(me: WebUser) -> list[str]:
    return [d for d in geo.POLICE_DISTRICTS if me.principal.covers(d)]


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx, session: Db, me: Me) -> Response:
    users = service.list_users(session, me.view)
    return render_page(request, ctx, "admin/users.html", me, users=users)


@router.get("/admin/users/new", response_class=HTMLResponse)
def new_user_page(request: Request, ctx: Ctx, me: Me) -> Response:
    me.principal.require(Permission.MANAGE_USERS)
    return _user_form_page(request, ctx, me, form={}, errors={})


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    ctx: Ctx,
    session: Db,
    me: Me,
    email: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    districts: Annotated[list[str] | None, Form()] = None,
    national: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_repeat: Annotated[str, Form()] = "",
) -> Response:
    me.principal.require(Permission.MANAGE_USERS)  # before validating: no form for outsiders
    form = {
        "email": email,
        "display_name": display_name,
        "role": role,
        "districts": districts or [],
        "national": bool(national),
    }
    errors = _user_form_errors(form, password, password_repeat, creating=True)
    if not errors:
        data = UserInput(email, role, tuple([] if national else districts or []), display_name)
        try:
            with session.begin_nested():
                user = service.create_user(session, me.principal, data, password)
        except StemmeError as exc:
            errors = {_error_field(exc): exc.render(gettext_)}
        else:
            return redirect(f"/admin/users/{user.id}", "user_created", ctx)
    return _user_form_page(request, ctx, me, status_code=422, form=form, errors=errors)


def _user_form_errors(
    form: dict[str, object], password: str, repeat: str, *, creating: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if creating and not str(form["email"]).strip():
        errors["email"] = gettext_("Skriv inn e-postadressen.")
    if not form["role"]:
        errors["role"] = gettext_("Velg en rolle.")
    if not form["national"] and not form["districts"]:
        errors["districts"] = gettext_("Velg minst ett politidistrikt, eller hele landet.")
    if creating and password != repeat:
        errors["password"] = gettext_("Passordene er ikke like.")
    return errors


def _error_field(exc: StemmeError) -> str:
    message = exc.message
    if "e-post" in message:
        return "email"
    if "Passord" in message:
        return "password"
    if "rolle" in message.lower():
        return "role"
    if "distrikt" in message:
        return "districts"
    return "form"


def _form_of(user: User) -> dict[str, object]:
    """The user form filled in with a stored user."""
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "districts": list(user.districts),
        "national": user.national_scope,
    }


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def edit_user_page(request: Request, ctx: Ctx, session: Db, me: Me, user_id: int) -> Response:
    user = service.get_user(session, me.principal, user_id)
    form = _form_of(user)
    return _user_form_page(request, ctx, me, form=form, errors={}, edited=user)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request,
    ctx: Ctx,
    session: Db,
    me: Me,
    user_id: int,
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    districts: Annotated[list[str] | None, Form()] = None,
    national: Annotated[str, Form()] = "",
) -> Response:
    user = service.get_user(session, me.principal, user_id)
    form = {
        "email": user.email,
        "display_name": display_name,
        "role": role,
        "districts": districts or [],
        "national": bool(national),
    }
    errors = _user_form_errors(form, "", "", creating=False)
    if not errors:
        data = UserInput(user.email, role, tuple([] if national else districts or []), display_name)
        try:
            with session.begin_nested():
                service.update_user(session, me.principal, user_id, data)
        except StemmeError as exc:
            errors = {_error_field(exc): exc.render(gettext_)}
        else:
            return redirect(f"/admin/users/{user_id}", "user_updated", ctx)
    session.refresh(user)
    return _user_form_page(request, ctx, me, status_code=422, form=form, errors=errors, edited=user)


@router.post("/admin/users/{user_id}/active")
def set_user_active(
    ctx: Ctx, session: Db, me: Me, user_id: int, active: Annotated[str, Form()] = ""
) -> Response:
    enable = active == "1"
    service.set_user_active(session, me.principal, user_id, enable)
    return redirect(f"/admin/users/{user_id}", "user_enabled" if enable else "user_disabled", ctx)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    ctx: Ctx,
    session: Db,
    me: Me,
    user_id: int,
    password: Annotated[str, Form()] = "",
    password_repeat: Annotated[str, Form()] = "",
) -> Response:
    user = service.get_user(session, me.principal, user_id)
    error = _new_password_error(password, password_repeat) or attempt(
        session, lambda: service.set_password(session, me.principal, user_id, password)
    )
    if error is None:
        return redirect(f"/admin/users/{user_id}", "password_reset", ctx)
    form = _form_of(user)
    return _user_form_page(
        request, ctx, me, status_code=422, form=form, errors={}, edited=user, password_error=error
    )


# --- audit log --------------------------------------------------------------------------


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        from stemme.web.templating import OSLO

        return datetime.fromisoformat(value).replace(tzinfo=OSLO)
    except ValueError:
        return None


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    ctx: Ctx,
    session: Db,
    me: Me,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    district: str = "",
    since: str = "",
    until: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    until_day = _parse_day(until)
    flt = audit.AuditFilter(
        action=action or None,
        actor=actor or None,
        object_type=object_type or None,
        district=district or None,
        since=_parse_day(since),
        until=until_day + timedelta(days=1) if until_day else None,
    )
    result = audit.search(session, me.view, flt, page)
    query = {
        k: v
        for k, v in {
            "action": action,
            "actor": actor,
            "object_type": object_type,
            "district": district,
            "since": since,
            "until": until,
        }.items()
        if v
    }
    return render_page(
        request,
        ctx,
        "admin/audit.html",
        me,
        result=result,
        filters=query,
        actions=audit.known_actions(session),
        district_choices=_grantable_districts(me),
    )


# --- own account and API tokens --------------------------------------------------------------


def _account_page(
    request: Request,
    ctx: Ctx,
    session: Session,
    me: WebUser,
    *,
    status_code: int = 200,
    **data: object,
) -> Response:
    tokens = service.list_tokens(session, me.principal)
    return render_page(
        request, ctx, "account.html", me, status_code=status_code, tokens=tokens, **data
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, ctx: Ctx, session: Db, me: Me) -> Response:
    return _account_page(request, ctx, session, me)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    ctx: Ctx,
    session: Db,
    me: Me,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
) -> Response:
    error = _new_password_error(new, repeat) or attempt(
        session, lambda: service.change_password(session, me.principal, current, new)
    )
    if error is None:
        return redirect("/account", "password_changed", ctx)
    return _account_page(request, ctx, session, me, status_code=422, password_error=error)


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, ctx: Ctx, session: Db, me: Me, name: Annotated[str, Form()] = ""
) -> Response:
    token, raw = service.create_token(session, me.principal, me.user, name)
    return _account_page(request, ctx, session, me, new_token=raw, new_token_name=token.name)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(ctx: Ctx, session: Db, me: Me, token_id: int) -> Response:
    service.revoke_token(session, me.principal, token_id)
    return redirect("/account", "token_revoked", ctx)
