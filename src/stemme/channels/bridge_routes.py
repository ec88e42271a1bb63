"""HTTP endpoint of the webhook bridge: ``POST /channels/bridge/{source}``.

Mounted by ``create_app`` on the main app (not under ``/api/v1``); settings come from
``app.state.stemme.settings`` and messages go to ``app.state.stemme_intake`` (without it,
i.e. without encryption keys, deliveries are answered 503 and should be sent again later).
Answers ``200 {"status": "ok", "received": N}``; errors are problem+json (see
:mod:`stemme.channels.bridge` and ``docs/bridge.md``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from stemme.channels.bridge import (
    MAX_BODY_BYTES,
    TIMESTAMP_HEADER,
    BridgeWebhook,
    Deliver,
    InvalidMessagesError,
)
from stemme.channels.webhooks import SIGNATURE_HEADER, problem, read_body
from stemme.errors import N_, StemmeError

log = logging.getLogger("stemme.channels.bridge")

bridge_router = APIRouter(prefix="/channels/bridge", tags=["channels"])


@bridge_router.post("/{source}", include_in_schema=False)
async def receive(source: str, request: Request) -> Response:
    """One signed delivery of ``source``; answered once its messages are stored."""
    deliver: Deliver | None = getattr(request.app.state, "stemme_intake", None)
    if deliver is None:
        log.error("bridge delivery refused: intake not configured")
        return problem(request, 503, N_("Utilgjengelig"), "intake not configured")
    webhook = BridgeWebhook(request.app.state.stemme.settings, deliver)
    try:
        body = await read_body(request, MAX_BODY_BYTES)
        received = await run_in_threadpool(
            webhook.handle,
            source,
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
        )
    except InvalidMessagesError as exc:
        return problem(request, exc.status, exc.title, exc.render(), exc.errors)
    except StemmeError as exc:
        return problem(request, exc.status, exc.title, exc.render())
    except Exception as exc:
        log.error("bridge delivery failed", extra={"error": type(exc).__name__})
        return problem(
            request, 500, N_("Intern feil"), N_("Leveransen ble ikke lagret; prøv igjen.")
        )
    return JSONResponse({"status": "ok", "received": received})
