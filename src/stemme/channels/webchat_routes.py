"""HTTP adapter of the web chat: the page ``/chat``, the embed script, the chat's JSON API.

Mounting (``create_app`` → ``_wire_channels``)::

    app.include_router(webchat_router)
    app.state.stemme_webchat = Webchat(sessions, keyring, settings.webchat_messages_per_minute)

Without ``app.state.stemme_webchat`` (no encryption keys) the API answers 503 and the page
says the chat is closed (still showing the 112 notice).

* ``GET /chat`` — the chat page (``lang=nb|nn|en``, ``district=`` a police district,
  ``embed=1`` for the iframe of the widget, which may be framed by
  ``settings.webchat_embed_origins``).
* ``GET /chat/widget.js`` — one ``<script src=".../chat/widget.js" data-district="Oslo"
  data-lang="nb" async>`` on a police page adds a launcher button and the chat iframe.
* ``/chat/api/...`` — JSON; the browser's token goes in ``Authorization: Bearer``. Errors are
  problem+json in the chat's language (``Accept-Language``), 429 with ``Retry-After``.
* ``GET /chat/api/stream`` — server-sent events: new messages as ``event: message``, a
  keep-alive comment now and then; the stream ends after ``STREAM_SECONDS`` and the page
  reconnects with ``after=`` the last id it has.

No route here sets a cookie (the security middleware skips its CSRF cookie under /chat): the
page may run in an iframe on another site, where cookies would be third-party cookies.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from stemme import geo
from stemme.channels.ratelimit import RateLimitedError
from stemme.channels.webchat import (
    LANGUAGES,
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    BodyTooLargeError,
    ChatUnavailableError,
    MalformedRequestError,
    UnsupportedMediaTypeError,
    Webchat,
)
from stemme.errors import N_, StemmeError
from stemme.web import i18n
from stemme.web.deps import AppContext
from stemme.web.security import content_security_policy

log = logging.getLogger("stemme.channels.webchat")

webchat_router = APIRouter(prefix="/chat", tags=["webchat"], include_in_schema=False)

STREAM_SECONDS = 60.0  # one stream's length; the page then reconnects
POLL_SECONDS = 1.0  # how often a stream looks for new messages
KEEPALIVE_SECONDS = 15.0  # a comment line so proxies keep an idle stream open
WIDGET_MAX_AGE = 300
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")

# Texts the page's script shows (bokmål msgids; translated into the chat's language).
PAGE_TEXTS: dict[str, str] = {
    "you": N_("Du"),
    "police": N_("Politiet"),
    "automatic": N_("Politiet (automatisk svar)"),
    "empty": N_("Meldingen er tom. Skriv noe før du sender."),
    "sending": N_("Sender …"),
    "not_sent": N_("Ikke sendt."),
    "retry": N_("Send på nytt"),
    "network": N_("Fikk ikke kontakt med oss. Sjekk nettforbindelsen og prøv igjen."),
    "failed": N_("Noe gikk galt. Prøv igjen om litt."),
    "deleted": N_("(Meldingen er slettet.)"),
    "expired": N_("Den forrige samtalen finnes ikke lenger her. Skriv for å starte en ny."),
    "closed": N_("Samtalen er avsluttet. Skriv en ny melding hvis du vil ta kontakt igjen."),
    "thanks": N_("Takk for tilbakemeldingen!"),
    "ended": N_("Samtalen er fjernet fra denne nettleseren."),
    "choose_rating": N_("Velg en vurdering eller skriv en kommentar."),
}

# Labels of the embed script, in every language (the host page picks one with data-lang).
WIDGET_TEXTS: dict[str, str] = {
    "open": N_("Chat med politiet"),
    "close": N_("Lukk chatten"),
    "frame": N_("Chat med politiet"),
}

# Each language in its own words (names, not translated).
SHORT_LANGUAGE_NAMES: dict[str, str] = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}

RATINGS: tuple[tuple[int, str], ...] = (
    (1, N_("Svært misfornøyd")),
    (2, N_("Misfornøyd")),
    (3, N_("Verken eller")),
    (4, N_("Fornøyd")),
    (5, N_("Svært fornøyd")),
)


# --- the page and the embed script --------------------------------------------------------


@webchat_router.get("", response_class=HTMLResponse)
def chat_page(request: Request) -> Response:
    """The chat: standalone, or (``embed=1``) inside the widget's iframe on a police page."""
    ctx: AppContext = request.app.state.stemme
    query = request.query_params
    lang = query.get("lang") or ""
    if lang in LANGUAGES:
        i18n.set_language(lang)
    lang = i18n.current_language()
    district = query.get("district") or None
    if district not in geo.POLICE_DISTRICTS:
        district = None
    embed = query.get("embed") == "1"
    available = getattr(request.app.state, "stemme_webchat", None) is not None
    html = ctx.templates.get_template("chat/page.html").render(
        lang=lang,
        district=district,
        embed=embed,
        available=available,
        texts={key: i18n.gettext_(text) for key, text in PAGE_TEXTS.items()},
        ratings=[(value, i18n.gettext_(label)) for value, label in RATINGS],
        max_chars=MAX_TEXT_CHARS,
        language_links=_language_links(district, embed),
    )
    headers = {"content-language": lang}
    if embed:
        ancestors = " ".join(["'self'", *_embed_origins(ctx)])
        headers["content-security-policy"] = content_security_policy(ancestors)
    return HTMLResponse(html, status_code=200 if available else 503, headers=headers)


def _language_links(district: str | None, embed: bool) -> list[dict[str, str]]:
    links = []
    for code, name in SHORT_LANGUAGE_NAMES.items():
        params = {"lang": code}
        if district:
            params["district"] = district
        if embed:
            params["embed"] = "1"
        links.append({"code": code, "name": name, "href": "/chat?" + urlencode(params)})
    return links


def _embed_origins(ctx: AppContext) -> list[str]:
    origins = []
    for origin in ctx.settings.webchat_embed_origins:
        cleaned = origin.strip().rstrip("/")
        if _ORIGIN.match(cleaned):
            origins.append(cleaned)
        else:
            log.warning("ignored web chat embed origin", extra={"origin": cleaned[:100]})
    return origins


@webchat_router.get("/widget.js")
def widget_script() -> Response:
    """The embed script with its labels in nb, nn and en."""
    return Response(
        _widget_source(),
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": f"public, max-age={WIDGET_MAX_AGE}"},
    )


@cache
def _widget_source() -> str:
    texts = {
        language: {
            key: i18n.translations(language).gettext(text) for key, text in WIDGET_TEXTS.items()
        }
        for language in LANGUAGES
    }
    source = (files("stemme.web") / "static" / "chat" / "widget.js").read_text("utf-8")
    return source.replace("__STEMME_CHAT_TEXTS__", json.dumps(texts, ensure_ascii=True))


# --- the JSON API -------------------------------------------------------------------------


@webchat_router.post("/api/sessions")
async def start(request: Request) -> Response:
    """Start an anonymous chat: ``{"lang", "district"}`` → 201 ``{"token", ...}``."""

    async def run(webchat: Webchat) -> Response:
        body = await _json_body(request)
        token, chat = await run_in_threadpool(webchat.start, _address(request), body)
        return JSONResponse(
            {"token": token, "lang": chat.lang, "district": chat.district}, status_code=201
        )

    return await _guarded(request, run)


@webchat_router.post("/api/messages")
async def send(request: Request) -> Response:
    """Send ``{"client_id", "text"}``: 201 with the stored message (200 if already stored)."""

    async def run(webchat: Webchat) -> Response:
        token = _bearer(request)
        await run_in_threadpool(
            webchat.check_token, _address(request), token
        )  # 401 before reading the body
        body = await _json_body(request)
        message, duplicate = await run_in_threadpool(webchat.send, _address(request), token, body)
        return JSONResponse(
            {"message": message.as_json(), "duplicate": duplicate},
            status_code=200 if duplicate else 201,
        )

    return await _guarded(request, run)


@webchat_router.get("/api/messages")
async def messages(request: Request) -> Response:
    """The chat so far (``after=`` a message id for only newer ones)."""

    async def run(webchat: Webchat) -> Response:
        after = _after(request)
        found = await run_in_threadpool(webchat.history, _address(request), _bearer(request), after)
        return JSONResponse(found.as_json())

    return await _guarded(request, run)


@webchat_router.get("/api/stream")
async def stream(request: Request) -> Response:
    """Server-sent events with new messages after ``after=``; ends after STREAM_SECONDS."""

    async def run(webchat: Webchat) -> Response:
        after = _after(request)
        chat_id = await run_in_threadpool(webchat.open_stream, _address(request), _bearer(request))
        return StreamingResponse(
            _events(webchat, chat_id, after),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    return await _guarded(request, run)


@webchat_router.post("/api/feedback")
async def feedback(request: Request) -> Response:
    """The answer to the closing question: ``{"message_id", "rating" 1–5, "comment"}``."""

    async def run(webchat: Webchat) -> Response:
        token = _bearer(request)
        await run_in_threadpool(webchat.check_token, _address(request), token)
        body = await _json_body(request)
        await run_in_threadpool(webchat.feedback, _address(request), token, body)
        return JSONResponse({"status": "ok"}, status_code=201)

    return await _guarded(request, run)


@webchat_router.delete("/api/session")
async def end(request: Request) -> Response:
    """Forget this browser's chat (the conversation stays with the police)."""

    async def run(webchat: Webchat) -> Response:
        await run_in_threadpool(webchat.end, _address(request), _bearer(request))
        return Response(status_code=204)

    return await _guarded(request, run)


async def _events(webchat: Webchat, chat_id: int, after: int) -> AsyncIterator[str]:
    started = last_write = time.monotonic()
    cursor = after
    yield "retry: 2000\n: connected\n\n"
    while True:
        try:
            found = await run_in_threadpool(webchat.poll, chat_id, cursor)
        except Exception as exc:  # the database is away: end; the page reconnects
            log.warning("web chat stream poll failed", extra={"error": type(exc).__name__})
            return
        if found is None:
            yield "event: ended\ndata: {}\n\n"
            return
        now = time.monotonic()
        for message in found.messages:
            cursor = max(cursor, message.id)
            data = json.dumps(message.as_json(), ensure_ascii=True)
            yield f"id: {message.id}\nevent: message\ndata: {data}\n\n"
            last_write = now
        if now - started >= STREAM_SECONDS:
            return
        if now - last_write >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_write = now
        await anyio.sleep(POLL_SECONDS)


# --- helpers ---------------------------------------------------------------------------------


async def _guarded(request: Request, run: Callable[[Webchat], Awaitable[Response]]) -> Response:
    """Runs an API call: domain errors become problem+json, anything else a logged 500."""
    try:
        webchat: Webchat | None = getattr(request.app.state, "stemme_webchat", None)
        if webchat is None:
            raise ChatUnavailableError(
                N_("Chatten er stengt akkurat nå. Haster det, ring 112. Ellers kan du ringe 02800.")
            )
        return await run(webchat)
    except StemmeError as exc:
        return problem(request, exc)
    except Exception as exc:
        log.error("web chat request failed", exc_info=exc)
        return _problem_response(
            request,
            500,
            i18n.gettext_("Intern feil"),
            i18n.gettext_("En feil oppstod hos oss. Prøv igjen om litt."),
        )


def problem(request: Request, exc: StemmeError) -> JSONResponse:
    """An RFC 9457 problem document in the chat's language."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["www-authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        headers["retry-after"] = str(exc.retry_after)
    return _problem_response(
        request, exc.status, i18n.gettext_(exc.title), exc.render(i18n.gettext_), headers
    )


def _problem_response(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _address(request: Request) -> str:
    """The client's address (uvicorn has applied X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def _after(request: Request) -> int:
    raw = request.query_params.get("after") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise MalformedRequestError(N_("after må være et ikke-negativt heltall."))
    return int(raw)


async def _json_body(request: Request) -> Any:
    """The JSON body, refusing (413) past MAX_BODY_BYTES by Content-Length or actual size."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaTypeError(N_("Send JSON (Content-Type: application/json)."))
    declared = request.headers.get("content-length")
    limit_kib = MAX_BODY_BYTES // 1024
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLargeError(N_("Forespørselen er større enn %(limit)s KiB."), limit=limit_kib)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLargeError(
                N_("Forespørselen er større enn %(limit)s KiB."), limit=limit_kib
            )
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequestError(N_("Forespørselen er ikke gyldig JSON.")) from exc
