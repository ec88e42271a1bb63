"""Dependencies shared by the HTML views and the JSON API: database session and principal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from jinja2 import Environment
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.errors import AuthenticationError, PermissionDeniedError
from stemme.identity import service
from stemme.identity.access import Principal
from stemme.identity.models import User, WebSession
from stemme.web.security import CSRF_FIELD, CSRF_HEADER, csrf_token_for, csrf_valid

SESSION_COOKIE = "stemme_session"


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    templates: Environment


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.stemme
    return ctx


def db_session(ctx: AppContext = Depends(app_context)) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    with ctx.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# "function" scope: the commit happens before the response leaves, so a client's next
# request always sees what the previous one wrote (FastAPI's default ends it afterwards).
DbSession = Annotated[Session, Depends(db_session, scope="function")]


class LoginRequiredError(AuthenticationError):
    """Raised for HTML pages; the handler redirects to /login."""

    def __init__(self, expired: bool) -> None:
        super().__init__(
            "Økten din er utløpt. Logg inn på nytt." if expired else "Du må logge inn."
        )
        self.expired = expired


@dataclass(frozen=True, slots=True)
class WebUser:
    """The logged-in person in a browser: full principal and the district-switched view."""

    user: User
    web_session: WebSession
    principal: Principal
    view: Principal


def optional_web_user(
    request: Request,
    session: DbSession,
    ctx: AppContext = Depends(app_context),
) -> WebUser | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    idle = timedelta(minutes=ctx.settings.session_idle_minutes)
    web_session = service.resolve_session(session, raw, idle)
    if web_session is None:
        request.state.session_expired = True
        return None
    principal = service.principal_of(web_session.user)
    district = web_session.active_district
    view = principal.narrowed_to(district) if principal.covers(district) else principal
    return WebUser(web_session.user, web_session, principal, view)


def web_user(request: Request, user: WebUser | None = Depends(optional_web_user)) -> WebUser:
    if user is None:
        raise LoginRequiredError(expired=getattr(request.state, "session_expired", False))
    return user


async def verify_csrf(request: Request, ctx: AppContext = Depends(app_context)) -> None:
    """Every unsafe HTML request must carry the token matching its CSRF cookie."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        submitted = form.get(CSRF_FIELD)  # type: ignore[assignment]
    if not csrf_valid(ctx.settings.secret_key, request.cookies.get("stemme_csrf"), submitted):
        raise PermissionDeniedError(
            "Skjemaet er utløpt eller mangler sikkerhetsnøkkel. Last siden på nytt og prøv igjen."
        )


def csrf_token(request: Request, ctx: AppContext) -> str:
    return csrf_token_for(ctx.settings.secret_key, request.state.csrf_cookie)


def api_principal(request: Request, session: DbSession) -> Principal:
    """The principal behind ``Authorization: Bearer <token>``."""
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthenticationError("Mangler API-nøkkel (Authorization: Bearer …).")
    user = service.resolve_token(session, raw.strip())
    return service.principal_of(user, label=f"{user.email} (api)")
