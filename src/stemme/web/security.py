"""Security headers, request ids, access logs and CSRF (signed double-submit cookie)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stemme.logs import request_id_var

CSRF_COOKIE = "stemme_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The policy of every page; only the embeddable web chat widens ``frame-ancestors``."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


# htmx runs from a file, with eval and inline indicator styles switched off (see base.html),
# so the policy needs neither 'unsafe-inline' nor 'unsafe-eval'.
CONTENT_SECURITY_POLICY = content_security_policy()

log = logging.getLogger("stemme.http")


def request_cookies(scope: Scope) -> dict[str, str]:
    cookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is treated as absent
                continue
    return {key: morsel.value for key, morsel in cookie.items()}


class SecurityMiddleware:
    """Adds security headers, a request id, one JSON access-log line and the CSRF cookie."""

    def __init__(self, app: ASGIApp, secret_key: str, cookie_secure: bool) -> None:
        self.app = app
        self.secret_key = secret_key
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(8)
        token = request_id_var.set(request_id)
        csrf_cookie = request_cookies(scope).get(CSRF_COOKIE)
        new_csrf = None if csrf_cookie else secrets.token_urlsafe(24)
        set_csrf = new_csrf is not None and not _cookieless(scope["path"])
        scope.setdefault("state", {})["csrf_cookie"] = csrf_cookie or new_csrf
        started = time.perf_counter()
        status_holder: dict[str, int] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                self._add_headers(headers, request_id, scope)
                if set_csrf and new_csrf:
                    headers.append("set-cookie", self._csrf_cookie_header(new_csrf))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],  # never the query string: it may hold search terms
                    "status": status_holder.get("status", 500),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)

    def _add_headers(self, headers: MutableHeaders, request_id: str, scope: Scope) -> None:
        headers["x-request-id"] = request_id
        policy = headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
        headers["x-content-type-options"] = "nosniff"
        headers["referrer-policy"] = "same-origin"
        if "frame-ancestors" not in policy or "frame-ancestors 'none'" in policy:
            headers["x-frame-options"] = "DENY"
        headers["cross-origin-opener-policy"] = "same-origin"
        headers["permissions-policy"] = (
            "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if self.cookie_secure:
            headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        if not scope["path"].startswith("/static/"):
            headers.setdefault("cache-control", "no-store")

    def _csrf_cookie_header(self, value: str) -> str:
        secure = "; Secure" if self.cookie_secure else ""
        return f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"


def _cookieless(path: str) -> bool:
    """The citizen web chat (and the files it loads) set no cookies: it runs in an iframe on
    other sites, where a cookie would be a third-party cookie."""
    return path == "/chat" or path.startswith(("/chat/", "/static/"))


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None


def csrf_token_for(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, cookie_value: str | None, submitted: Any) -> bool:
    if not cookie_value or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(secret_key, cookie_value), submitted)
