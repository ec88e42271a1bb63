"""HTTP endpoints of the Messenger/Instagram webhook: ``/channels/meta/webhook``.

Mounting (in ``create_app``, on the main app — not under ``/api/v1``)::

    from stemme.channels.meta_routes import MetaWebhookEndpoint, meta_router
    app.include_router(meta_router)  # GET: the subscription handshake
    app.add_middleware(MetaWebhookEndpoint)  # POST: deliveries (innermost middleware)
    app.state.stemme_intake = deliver  # Callable[[list[InboundMessage]], None]

The endpoints read settings from ``app.state.stemme.settings`` (the AppContext); deliveries
hand parsed messages to ``app.state.stemme_intake``, a synchronous function run in the thread
pool (``inbox.intake``: one INSERT into the intake journal). Without it,
deliveries are answered 503 so Meta delivers them again later. Errors are problem+json.
Meta expects 200 within a few seconds: intake should store and acknowledge, not analyse.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from stemme.channels.meta import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    Deliver,
    MetaWebhook,
    verify_subscription,
)
from stemme.channels.webhooks import problem, read_body
from stemme.config import Settings
from stemme.errors import StemmeError

log = logging.getLogger("stemme.channels.meta")

meta_router = APIRouter(prefix="/channels/meta", tags=["channels"])
WEBHOOK_PATH = "/channels/meta/webhook"


@meta_router.get("/webhook", include_in_schema=False)
def verify(request: Request) -> Response:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    query = request.query_params
    try:
        challenge = verify_subscription(
            _settings(request),
            query.get("hub.mode"),
            query.get("hub.verify_token"),
            query.get("hub.challenge"),
        )
    except StemmeError as exc:
        return problem(request, exc.status, exc.title, exc.render())
    return PlainTextResponse(challenge)


class MetaWebhookEndpoint:
    """``POST /channels/meta/webhook`` as a plain ASGI endpoint in front of the router.

    Meta's deliveries are the busiest path of the server (hundreds a second in a busy hour)
    and need nothing of FastAPI: no dependencies, no validation, no session. Through the
    router and its exception handling a delivery cost the web process about three times the
    CPU of checking and storing it (benchmarks/intake.py), so the app's middleware chain
    ends here for this one path (installed innermost: the security headers, request id,
    access log and language still apply). Every other request goes on to the router.
    """

    endpoints: ClassVar[frozenset[tuple[str, str]]] = frozenset({("POST", WEBHOOK_PATH)})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self.endpoints:
            request = Request(scope, receive)
            response = await receive_delivery(request)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def receive_delivery(request: Request) -> Response:
    """One signed delivery: answered 200 ``{"status": "ok", "received": N}`` once delivered."""
    deliver: Deliver | None = getattr(request.app.state, "stemme_intake", None)
    if deliver is None:
        log.error("meta webhook refused: intake not configured")
        return problem(request, 503, "Utilgjengelig", "intake not configured")
    webhook = MetaWebhook(
        _settings(request), deliver, getattr(request.app.state, "stemme_pages", None)
    )
    try:
        body = await read_body(request, MAX_BODY_BYTES)
        received = await run_in_threadpool(
            webhook.handle, body, request.headers.get(SIGNATURE_HEADER)
        )
    except StemmeError as exc:
        return problem(request, exc.status, exc.title, exc.render())
    except Exception as exc:
        log.error("meta webhook delivery failed", exc_info=exc)
        return problem(request, 500, "Intern feil", "Leveransen ble ikke lagret; prøv igjen.")
    return JSONResponse({"status": "ok", "received": received})


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.stemme.settings
    return settings
