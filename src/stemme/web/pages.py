"""Rendering full pages: the shared context every template gets, flash messages, redirects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from stemme import geo
from stemme.errors import N_, StemmeError
from stemme.identity.access import Permission
from stemme.web.deps import AppContext, WebUser, csrf_token
from stemme.web.i18n import current_language, gettext_

FLASH_COOKIE = "stemme_flash"

# Flash messages are chosen by key, so a crafted cookie can only pick one of these.
FLASH_MESSAGES: dict[str, tuple[str, str]] = {
    "logged_out": ("success", N_("Du er logget ut.")),
    "user_created": ("success", N_("Brukeren er opprettet.")),
    "user_updated": ("success", N_("Brukeren er oppdatert.")),
    "user_disabled": ("success", N_("Brukeren er deaktivert.")),
    "user_enabled": ("success", N_("Brukeren er aktivert igjen.")),
    "password_changed": ("success", N_("Passordet er endret.")),
    "password_reset": (
        "success",
        N_("Nytt passord er satt. Gi det til brukeren på en trygg måte."),
    ),
    "token_revoked": ("success", N_("API-nøkkelen er trukket tilbake.")),
    "district_changed": ("info", N_("Visningen er byttet.")),
    "canned_saved": ("success", N_("Den ferdige teksten er lagret.")),
    "canned_deleted": ("success", N_("Den ferdige teksten er slettet.")),
    "reply_queued": ("success", N_("Svaret er lagt i kø for sending.")),
    "note_added": ("success", N_("Notatet er lagret.")),
    "assigned": ("success", N_("Samtalen er tildelt.")),
    "transferred": ("success", N_("Samtalen er overført.")),
    "status_changed": ("success", N_("Statusen er endret.")),
    "triage_corrected": ("success", N_("Vurderingen er rettet og lagret som treningsdata.")),
    "hours_saved": ("success", N_("Åpningstidene er lagret.")),
    "page_saved": ("success", N_("Siden er lagret.")),
    "journal_released": ("success", N_("Meldingene som var gitt opp, prøves igjen nå.")),
}


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    permission: Permission


NAVIGATION = (
    NavItem("/", N_("Oversikt"), Permission.VIEW_DASHBOARD),
    NavItem("/inbox", N_("Innboks"), Permission.VIEW_INBOX),
    NavItem("/reports/inbox", N_("Svartider"), Permission.VIEW_INBOX),
    NavItem("/admin/users", N_("Brukere"), Permission.MANAGE_USERS),
    NavItem("/admin/audit", N_("Revisjonslogg"), Permission.READ_AUDIT),
    NavItem("/admin/inbox", N_("Innboksinnstillinger"), Permission.MANAGE_INBOX),
    NavItem("/account", N_("Min konto"), Permission.MANAGE_OWN_TOKENS),
)


def render_page(
    request: Request,
    ctx: AppContext,
    template: str,
    user: WebUser | None,
    *,
    status_code: int = 200,
    **data: Any,
) -> HTMLResponse:
    flash_key = request.cookies.get(FLASH_COOKIE)
    flash = FLASH_MESSAGES.get(flash_key or "")
    context: dict[str, Any] = {
        "request": request,
        "user": user,
        "nav": _navigation(user, request.url.path),
        "switchable_districts": _switchable_districts(user),
        "csrf_token": csrf_token(request, ctx),
        "flash": (flash[0], gettext_(flash[1])) if flash else None,
        "lang": current_language(),
        "path": request.url.path,
        # inbox users hear about new emergencies on every page (the queue has its own alert)
        "inbox_alerts": user is not None
        and user.principal.can(Permission.VIEW_INBOX)
        and request.url.path != "/inbox",
        **data,
    }
    html = ctx.templates.get_template(template).render(context)
    response = HTMLResponse(html, status_code=status_code)
    if flash_key:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _navigation(user: WebUser | None, path: str) -> list[dict[str, Any]]:
    if user is None:
        return []
    items = []
    for item in NAVIGATION:
        if user.principal.can(item.permission):
            current = path == item.href or (item.href != "/" and path.startswith(item.href))
            items.append({"href": item.href, "label": gettext_(item.label), "current": current})
    return items


def _switchable_districts(user: WebUser | None) -> list[str]:
    if user is None:
        return []
    if user.principal.districts is None:
        return list(geo.POLICE_DISTRICTS)
    return [d for d in geo.POLICE_DISTRICTS if d in user.principal.districts]


def set_cookie(
    response: Response, ctx: AppContext | None, name: str, value: str, max_age: int
) -> None:
    """Every cookie of stemme: HttpOnly, SameSite=Lax, Secure unless configured off."""
    secure = ctx.settings.cookie_secure if ctx else True
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )


def redirect(url: str, flash: str | None = None, ctx: AppContext | None = None) -> RedirectResponse:
    """A 303 after a successful POST, optionally carrying a flash message key."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_cookie(response, ctx, FLASH_COOKIE, flash, max_age=60)
    return response


def attempt(session: Session, action: Callable[[], object]) -> str | None:
    """Run one service call in a savepoint: its error in the reader's language, or None."""
    try:
        with session.begin_nested():
            action()
    except StemmeError as exc:
        return exc.render(gettext_)
    return None


def safe_next(url: str | None) -> str:
    """Only local paths are followed after login, never another site."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url
