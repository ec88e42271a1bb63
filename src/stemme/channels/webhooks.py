"""What the signed channel endpoints share: HMAC signatures, size-limited bodies, problems.

The signature scheme is the one Meta uses: ``sha256=<hex>``, the HMAC-SHA256 of the signed
bytes keyed with a shared secret, compared in constant time. An empty secret never
validates, so an endpoint without a configured secret refuses everything.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from fastapi.responses import JSONResponse

from stemme.errors import N_, AuthenticationError, StemmeError

SIGNATURE_HEADER = "X-Stemme-Signature"


class InvalidSignatureError(AuthenticationError):
    title = N_("Ugyldig signatur")


class PayloadTooLargeError(StemmeError):
    status = 413
    title = N_("For stor forespørsel")


class MalformedPayloadError(StemmeError):
    status = 400
    title = N_("Ugyldig webhook-innhold")


def sign(secret: str, data: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of data>`` (also what tests and the bridge sender use)."""
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def signature_valid(secret: str, data: bytes, header: str | None) -> bool:
    """Constant-time check of a signature header; an empty secret never validates."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, data).encode(), header.strip().encode())


def too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        N_("Forespørselen er større enn %(limit)s KiB."), limit=limit // 1024
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) past ``limit`` bytes by Content-Length or by actual size."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, object]] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem document for a machine endpoint."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
