"""A fake SMTP server on loopback (aiosmtpd): records what it receives, answers as scripted."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.channels.conftest import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


class FakeSmtp:
    """``rcpt_reply``/``data_reply`` (e.g. "550 5.1.1 No such user") refuse instead of 250.

    With ``credentials`` the server offers AUTH (without TLS, for the test) and accepts only
    that user and password.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.received: list[Received] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.logins: list[str] = []
        self.port = free_port()
        self._lock = threading.Lock()
        self._event = threading.Event()
        options: dict[str, Any] = {}
        if credentials is not None:
            self.credentials = credentials
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="fake-smtp", **options
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and (
                data.login.decode(),
                data.password.decode(),
            )
            == self.credentials
        )
        if isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        self._event.set()
        return "250 2.0.0 Queued"

    def wait(self, count: int = 1, timeout: float = 20.0) -> list[Received]:
        """Block until ``count`` messages arrived (fails the test otherwise)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            self._event.wait(0.05)
            self._event.clear()
        raise AssertionError(f"fake SMTP server got {len(self.received)} of {count} messages")
