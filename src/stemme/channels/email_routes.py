"""The signed inbound e-mail webhook: ``POST /channels/email/inbound``.

For a mail relay that cannot speak LMTP (a cloud inbound-mail service, a script behind the
mail server): the body is the raw RFC 822 message, signed with ``X-Stemme-Signature:
sha256=<hex HMAC-SHA256 of the body keyed with STEMME_EMAIL_WEBHOOK_SECRET>``. Answers
``200 {"status": "ok", "received": 1}`` once the mail is stored (``received: 0`` for an
automatic reply, which is not stored); 401 for a missing or bad signature, 413 over 1 MiB,
400 for a mail without From address, 503 without encryption keys; problem+json, and nothing
is stored. The same mail delivered again is stored once (by its Message-ID).

Mounted by ``create_app``; the intake is ``app.state.stemme_email_intake``
(:func:`stemme.channels.email.make_email_intake`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from stemme.channels.email import MAX_MESSAGE_BYTES, EmailIntake, parse_email
from stemme.channels.webhooks import (
    SIGNATURE_HEADER,
    InvalidSignatureError,
    problem,
    read_body,
    signature_valid,
)
from stemme.config import Settings
from stemme.errors import N_, StemmeError

log = logging.getLogger("stemme.channels.email")

email_router = APIRouter(prefix="/channels/email", tags=["channels"])


@email_router.post("/inbound", include_in_schema=False)
async def inbound(request: Request) -> Response:
    """One signed raw e-mail, stored before the answer."""
    deliver: EmailIntake | None = getattr(request.app.state, "stemme_email_intake", None)
    if deliver is None:
        log.error("e-mail webhook refused: intake not configured")
        return problem(request, 503, N_("Utilgjengelig"), "intake not configured")
    settings: Settings = request.app.state.stemme.settings
    try:
        body = await read_body(request, MAX_MESSAGE_BYTES)
        if not settings.email_webhook_secret:
            log.error("e-mail webhook refused: STEMME_EMAIL_WEBHOOK_SECRET is not set")
        if not signature_valid(
            settings.email_webhook_secret, body, request.headers.get(SIGNATURE_HEADER)
        ):
            log.warning("e-mail webhook refused: invalid or missing signature")
            raise InvalidSignatureError(N_("Signaturen mangler eller er ugyldig."))
        mail = parse_email(body)
        result = await run_in_threadpool(deliver, mail)
    except StemmeError as exc:
        return problem(request, exc.status, exc.title, exc.render())
    except Exception as exc:
        log.error("e-mail webhook delivery failed", extra={"error": type(exc).__name__})
        return problem(request, 500, N_("Intern feil"), N_("E-posten ble ikke lagret; prøv igjen."))
    return JSONResponse({"status": "ok", "received": 0 if result is None else 1})
