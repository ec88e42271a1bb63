"""Inbound e-mail by LMTP (or SMTP): a small aiosmtpd server in the web process's event loop.

``STEMME_EMAIL_LISTEN`` says where: ``host:port`` or ``lmtp://host:port`` for LMTP, which a
mail server (Postfix ``mailbox_transport = lmtp:inet:127.0.0.1:2424``, Exim, …) delivers to
after it has done spam, SPF and DKIM checks; ``smtp://host:port`` for plain SMTP (a relay in
front, or tests). Bind it to loopback or a private interface: it accepts mail for any
recipient and never relays.

Each message is parsed and stored (committed) before the server answers ``250``, so an
accepted mail is never lost. A message the inbox refuses (no From address, too large) is
answered with a permanent ``5xx`` so the mail server bounces it to the sender; a failure on
our side (database down) with ``451`` so the mail server delivers it again later. LMTP
answers once per recipient (RFC 2033); the message is stored once however many there are.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from stemme.channels.email import (
    MAX_MESSAGE_BYTES,
    EmailIntake,
    MalformedEmailError,
    MessageTooLargeError,
    make_email_intake,
    parse_email,
)
from stemme.config import Settings
from stemme.errors import N_, ConfigurationError

log = logging.getLogger("stemme.channels.email")

# aiosmtpd logs addresses and commands at INFO/DEBUG under this name: personal data.
logging.getLogger("mail.log").setLevel(logging.WARNING)

Deliver = EmailIntake


@dataclass(frozen=True, slots=True)
class ListenAddress:
    protocol: str  # "lmtp" or "smtp"
    host: str
    port: int


def parse_listen(value: str) -> ListenAddress:
    """``host:port`` (LMTP), ``lmtp://host:port`` or ``smtp://host:port``."""
    protocol, sep, rest = value.strip().partition("://")
    if not sep:
        protocol, rest = "lmtp", value.strip()
    host, _, port = rest.rstrip("/").rpartition(":")
    host = host.strip("[]")
    if protocol not in ("lmtp", "smtp") or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(
            N_(
                "Ugyldig STEMME_EMAIL_LISTEN: bruk vert:port, lmtp://vert:port eller smtp://vert:port."
            )
        )
    return ListenAddress(protocol, host, int(port))


class InboxHandler:
    """The aiosmtpd handler: every DATA becomes one stored message (or a clear refusal)."""

    def __init__(self, deliver: Deliver, *, lmtp: bool) -> None:
        self.deliver = deliver
        self.lmtp = lmtp

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else b""
        reply = await asyncio.get_running_loop().run_in_executor(None, self._store, raw or b"")
        if self.lmtp:  # one answer per accepted recipient
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply

    def _store(self, raw: bytes) -> str:
        try:
            self.deliver(parse_email(raw))
        except MessageTooLargeError:
            log.warning("e-mail refused: too large", extra={"bytes": len(raw)})
            return "552 5.3.4 Message too big for the inbox"
        except MalformedEmailError:
            log.warning("e-mail refused: no sender address or unreadable")
            return "550 5.6.0 Message has no usable From address"
        except Exception as exc:
            log.error("e-mail not stored", extra={"error": type(exc).__name__})
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 Message accepted"


class EmailListener:
    """An LMTP/SMTP server on the running event loop; ``await start()``, ``await stop()``."""

    def __init__(self, address: ListenAddress, deliver: Deliver, hostname: str = "stemme") -> None:
        self.address = address
        self.handler = InboxHandler(deliver, lmtp=address.protocol == "lmtp")
        self.hostname = hostname
        self.server: asyncio.AbstractServer | None = None

    def _protocol(self) -> SMTP:
        kind = LMTP if self.handler.lmtp else SMTP
        options: dict[str, Any] = {
            "data_size_limit": MAX_MESSAGE_BYTES,
            "enable_SMTPUTF8": True,
            "hostname": self.hostname,
            "ident": "stemme",
            "loop": asyncio.get_running_loop(),
        }
        return kind(self.handler, **options)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._protocol, self.address.host, self.address.port)
        log.info(
            "e-mail listener started",
            extra={"protocol": self.address.protocol, "port": self.address.port},
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
            log.info("e-mail listener stopped")


async def start_email_listener(
    settings: Settings, sessions: sessionmaker[DbSession]
) -> EmailListener | None:
    """Start the listener of ``settings.email_listen`` (None when unset or without keys)."""
    if not settings.email_listen:
        return None
    address = parse_listen(settings.email_listen)
    if not settings.encryption_keys:
        log.error("e-mail listener not started: no STEMME_ENCRYPTION_KEYS to store mail with")
        return None
    from stemme.privacy.crypto import Keyring

    deliver = make_email_intake(sessions, Keyring.from_setting(settings.encryption_keys))
    domain = settings.email_address.rpartition("@")[2] or "stemme"
    listener = EmailListener(address, deliver, hostname=domain)
    await listener.start()
    return listener
