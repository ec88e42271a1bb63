"""The application factory: one FastAPI app for HTML pages, the JSON API under /api/v1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.resources import files
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from stemme import __version__, schema
from stemme.channels.meta_routes import MetaWebhookEndpoint
from stemme.config import Settings
from stemme.db import make_engine, make_session_factory
from stemme.errors import N_, StemmeError
from stemme.geo.routes import router as geo_api
from stemme.identity.routes import router as identity_api
from stemme.identity.views import router as identity_views
from stemme.inbox.canned_views import router as canned_views
from stemme.inbox.routes import router as inbox_api
from stemme.inbox.views import router as inbox_views
from stemme.logs import configure_logging
from stemme.web import i18n
from stemme.web.deps import AppContext, LoginRequiredError, optional_web_user
from stemme.web.pages import render_page
from stemme.web.security import SecurityMiddleware, request_cookies
from stemme.web.templating import make_environment

log = logging.getLogger("stemme.app")


def create_app(settings: Settings, *, check_migrations: bool = True) -> FastAPI:
    """Build the app; refuses (ConfigurationError) when the database is not migrated."""
    configure_logging(settings.log_level)
    engine = make_engine(settings.url)
    if check_migrations:
        try:
            schema.require_current(engine)
        except Exception:
            engine.dispose()
            raise
    ctx = AppContext(settings, engine, make_session_factory(engine), make_environment())

    app = FastAPI(
        title="stemme",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(ctx),
    )
    app.state.stemme = ctx
    app.include_router(identity_views)
    app.include_router(inbox_views)
    app.include_router(canned_views)
    _wire_channels(app, ctx)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(files("stemme.web") / "static")), name="static")
    app.mount("/api/v1", _api_app(ctx))
    _html_error_handlers(app, ctx)
    app.add_middleware(MetaWebhookEndpoint)  # innermost: its deliveries skip the router
    app.add_middleware(LanguageMiddleware, default=settings.default_language)
    app.add_middleware(
        SecurityMiddleware, secret_key=settings.secret_key, cookie_secure=settings.cookie_secure
    )
    return app


def app_from_environment() -> FastAPI:
    """The app from the environment's settings (for ``stemme serve --workers N``)."""
    from stemme.config import load_settings

    return create_app(load_settings())


def _wire_channels(app: FastAPI, ctx: AppContext) -> None:
    """Channel webhooks; without encryption keys nothing can be stored, so they answer 503."""
    from stemme.channels.bridge_routes import bridge_router
    from stemme.channels.email_routes import email_router
    from stemme.channels.meta_routes import meta_router
    from stemme.channels.webchat_routes import webchat_router

    app.include_router(meta_router)
    app.include_router(email_router)
    app.include_router(bridge_router)
    app.include_router(webchat_router)
    if ctx.settings.encryption_keys:
        from stemme.channels.email import make_email_intake
        from stemme.channels.pages import PageDirectory
        from stemme.channels.webchat import Webchat
        from stemme.inbox.intake import make_intake
        from stemme.privacy.crypto import Keyring

        keyring = Keyring.from_setting(ctx.settings.encryption_keys)
        app.state.stemme_pages = PageDirectory(ctx.sessions, keyring, ctx.settings)
        app.state.stemme_intake = make_intake(ctx.engine, keyring)
        app.state.stemme_email_intake = make_email_intake(ctx.sessions, keyring)
        app.state.stemme_webchat = Webchat(
            ctx.sessions,
            keyring,
            ctx.settings.webchat_messages_per_minute,
            shared_limits_secret=ctx.settings.secret_key.encode(),
        )


def _lifespan(ctx: AppContext) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Starts the in-process job worker (settings.run_jobs_in_process) and stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from stemme.channels.email_listener import start_email_listener

        email_listener = await start_email_listener(ctx.settings, ctx.sessions)
        worker = None
        if ctx.settings.run_jobs_in_process:
            from stemme.channels.senders import build_senders
            from stemme.jobs import Worker
            from stemme.jobs.housekeeping import enforce_retention
            from stemme.privacy.crypto import Keyring

            if ctx.settings.encryption_keys:
                keyring = Keyring.from_setting(ctx.settings.encryption_keys)
                senders = build_senders(ctx.settings, getattr(app.state, "stemme_pages", None))
                worker = Worker(
                    ctx.sessions,
                    keyring,
                    senders=senders,
                    housekeeping=lambda: enforce_retention(ctx.sessions, ctx.settings),
                )
                worker.start()
            else:
                log.warning("no STEMME_ENCRYPTION_KEYS: received messages are not analysed")
        try:
            yield
        finally:
            if email_listener is not None:
                await email_listener.stop()
            if worker is not None:
                worker.stop()

    return lifespan


def _api_app(ctx: AppContext) -> FastAPI:
    api = FastAPI(
        title="stemme API",
        version=__version__,
        description="District-scoped JSON API. Authenticate with `Authorization: Bearer <token>`"
        " (create one with `stemme token create --user EMAIL` or under Min konto).",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.stemme = ctx
    api.include_router(identity_api)
    api.include_router(geo_api)
    api.include_router(inbox_api)

    @api.exception_handler(StemmeError)
    def _domain(request: Request, exc: StemmeError) -> Response:
        # errors that know their fields (e.g. inbox.work.CannedInputError) list them all
        errors = getattr(exc, "errors", None)
        return problem(exc.status, exc.title, exc.render(), request, errors)

    @api.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem(422, "Ugyldige data", "Forespørselen har ugyldige felt.", request, errors)

    @api.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), str(exc.detail), request)

    @api.exception_handler(Exception)
    def _crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled API error", exc_info=exc)
        return problem(500, "Intern feil", "En feil oppstod hos oss. Prøv igjen om litt.", request)

    return api


def problem(
    status: int, title: str, detail: str, request: Request, errors: Sequence[object] | None = None
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = list(errors)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _html_error_handlers(app: FastAPI, ctx: AppContext) -> None:
    def error_page(request: Request, status: int, title: str, detail: str) -> Response:
        user = None
        if status != 401:
            try:
                with ctx.sessions() as session:
                    user = optional_web_user(request, session, ctx)
            except Exception:  # an error page must render even when the database is down
                user = None
        return render_page(
            request,
            ctx,
            "error.html",
            user,
            status_code=status,
            title=i18n.gettext_(title),
            detail=detail,
            status=status,
        )

    @app.exception_handler(LoginRequiredError)
    def _login(request: Request, exc: LoginRequiredError) -> Response:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/login?next=" + quote(here, safe="/")
        if exc.expired:
            target += "&utlopt=1"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StemmeError)
    def _domain(request: Request, exc: StemmeError) -> Response:
        return error_page(request, exc.status, exc.title, exc.render(i18n.gettext_))

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(
            request,
            422,
            N_("Ugyldige data"),
            i18n.gettext_("Adressen eller skjemaet inneholder ugyldige verdier."),
        )

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(
                request, 404, N_("Finnes ikke"), i18n.gettext_("Vi fant ikke siden du lette etter.")
            )
        return error_page(request, exc.status_code, "Feil", str(exc.detail))

    @app.exception_handler(Exception)
    def _crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return error_page(
            request,
            500,
            N_("Noe gikk galt"),
            i18n.gettext_("En feil oppstod hos oss. Prøv igjen om litt."),
        )


class LanguageMiddleware:
    """Picks the page language from the cookie, then Accept-Language, then the default."""

    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            accept = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None
            )
            language = i18n.negotiate(
                request_cookies(scope).get("stemme_lang"), accept, self.default
            )
            i18n.set_language(language)
        await self.app(scope, receive, send)


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(request: Request) -> Response:
    ctx: AppContext = request.app.state.stemme
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = schema.is_current(ctx.engine)
    except Exception as exc:
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


__all__ = ["HTMLResponse", "create_app"]
