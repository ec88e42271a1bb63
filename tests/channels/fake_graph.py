"""A fake Graph API Send endpoint on loopback: records requests, answers as scripted."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """One scripted answer: an HTTP status (with JSON/headers), or "timeout" (never answers
    before the client gives up)."""

    status: int | str = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(message_id: str = "m_fake_1") -> Reply:
    return Reply(200, {"recipient_id": "PSID", "message_id": message_id})


def error(status: int, code: int = 1, subcode: int | None = None) -> Reply:
    err: dict[str, Any] = {"message": "fake", "type": "OAuthException", "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    err["fbtrace_id"] = "AbCdEf"
    return Reply(status, {"error": err})


TIMEOUT = Reply("timeout")


class FakeGraph:
    """Scripted replies are used in order; when none are left it answers 200."""

    def __init__(self, hang_seconds: float = 1.0) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    def answer(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    dict(request.headers),
                    body,
                )
            )
            reply = self.script.pop(0) if self.script else ok(f"m_fake_{len(self.requests)}")
        if reply.status == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"too": "late"})
        assert isinstance(reply.status, int)
        if reply.body is None:
            return Response(status_code=reply.status, headers=reply.headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
