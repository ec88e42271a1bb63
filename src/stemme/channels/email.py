"""E-mail: parsing RFC 5322 messages, threading, intake with the contact, replies by SMTP.

Inbound mail arrives through the LMTP/SMTP listener (:mod:`stemme.channels.email_listener`,
started by ``stemme serve`` when ``STEMME_EMAIL_LISTEN`` is set) or the signed webhook
``POST /channels/email/inbound`` (:mod:`stemme.channels.email_routes`); both hand the raw
message to :func:`parse_email` and then to the intake of :func:`make_email_intake`.

Parsing
    The text/plain part is preferred, else the text of the HTML part (tags stripped, quoted
    blocks dropped). Quoted replies ("On … wrote:", "tir. 25. nov. 2025 kl. 14:03 skrev …:",
    "Den … skrev:", Outlook's "Fra:/Sendt:" block, lines starting with ">") and signatures
    ("-- ", "Sendt fra min iPhone") are cut, unless the subject says the mail is forwarded
    (then the quoted mail is what the citizen wants us to see). Attachments become
    "[Vedlegg: name (type)]" lines and ``InboundMessage.attachments``; their content is never
    read. Messages over :data:`MAX_MESSAGE_BYTES` and messages without a From address are
    refused; automatic mail (``Auto-Submitted``, delivery reports) is accepted and ignored, so
    a holiday auto-reply to one of our replies does not reopen a conversation.

Threading
    The root of a thread is the first Message-ID of ``References``, else ``In-Reply-To``, else
    the message's own Message-ID. The thread key is ``email:`` + a hash of the sender's address
    and the root, so the key carries no address and a stranger who knows a Message-ID cannot
    write into somebody else's thread (replies would go to the stranger's address otherwise).
    Our replies get Message-IDs ``<stemme.HASH.UID@our-domain>`` that name the thread, so a
    citizen's client that sends only ``In-Reply-To`` still lands in the same thread (only when
    the sender's address is the thread's). ``channel_message_id`` is the Message-ID: the same
    mail delivered twice is stored once.

Contact (``channel_contacts``)
    Address and subject are personal data: both are stored only encrypted, together in
    ``address_encrypted`` (JSON ``{"address", "subject"}``, associated data
    ``contact:THREAD_KEY``); the plaintext ``subject`` column stays empty. ``references``
    holds the thread's Message-IDs (root first) for the threading headers of replies.

Replies (:class:`EmailSender`)
    One SMTP transaction per attempt (the outbound queue retries): From ``email_address``, To
    the decrypted address, ``Subject: Re: <subject>``, ``In-Reply-To`` the citizen's last
    Message-ID, ``References`` the thread's ids, our own Message-ID (returned as the message's
    external id), and ``Auto-Submitted: auto-replied`` for automatic messages. Temporary
    failures (no connection, timeouts, 4xx) are retryable; 5xx answers are final.

Neither addresses, subjects nor texts are ever logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.db import reader, transaction, utcnow
from stemme.errors import N_, ConfigurationError, StemmeError
from stemme.inbox.models import ChannelContact
from stemme.inbox.outbound import Delivery, DeliveryResult
from stemme.inbox.service import receive
from stemme.inbox.types import InboundMessage, ReceiveResult
from stemme.jobs import notify
from stemme.privacy.crypto import Keyring

log = logging.getLogger("stemme.channels.email")

CHANNEL = "email"
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_REFERENCES = 20  # Message-IDs kept per thread (the root and the newest)
MAX_ATTACHMENTS_LISTED = 20
MAX_ID_LENGTH = 250  # channel_message_id is 255 characters
NO_SUBJECT = N_("Svar fra politiet")

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_OWN_ID = re.compile(r"^<stemme\.([0-9a-f]{32})\.[0-9a-f]{8,64}@[^<>@\s]+>$")
_REPLY_PREFIX = re.compile(
    r"^(?:(?:re|sv|aw|antw|vs|fw|fwd|vb|videresend)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)
_FORWARD_PREFIX = re.compile(r"^(?:(?:re|sv|aw)\s*:\s*)*(?:fw|fwd|vs|vb|videresend)\s*:", re.I)


# --- errors ---------------------------------------------------------------------------------


class MessageTooLargeError(StemmeError):
    status = 413
    title = N_("For stor melding")


class MalformedEmailError(StemmeError):
    status = 400
    title = N_("Ugyldig e-post")


# --- parsing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """One citizen e-mail as stemme keeps it (no raw headers, no attachment content)."""

    message_id: str  # "<…>", or a stable id made from the content when the mail has none
    address: str  # the From address
    subject: str  # as written, whitespace collapsed
    references: tuple[str, ...]  # References, then In-Reply-To: the ids this mail answers
    text: str  # the citizen's own words: quotes and signature removed
    sent_at: datetime
    attachments: tuple[str, ...]  # "name (type)" of each attachment
    automatic: bool  # an auto-reply or delivery report: accepted and not stored

    @property
    def root(self) -> str:
        """The Message-ID that started the thread."""
        return self.references[0] if self.references else self.message_id

    @property
    def thread_subject(self) -> str:
        """The subject without "Re:"/"SV:"/"VS:" prefixes."""
        return _REPLY_PREFIX.sub("", self.subject).strip()

    def inbound(self, thread_key: str, *, with_subject: bool) -> InboundMessage:
        """The message for intake; the subject opens the text of a thread's first mail."""
        parts = [self.subject] if with_subject and self.subject else []
        if self.text:
            parts.append(self.text)
        if self.attachments:
            parts.append("\n".join(f"[Vedlegg: {a}]" for a in self.attachments))
        return InboundMessage(
            channel=CHANNEL,
            thread_key=thread_key,
            channel_message_id=self.message_id,
            text="\n\n".join(parts),
            sent_at=self.sent_at,
            attachments=self.attachments,
        )


def parse_email(raw: bytes, now: datetime | None = None) -> ParsedEmail:
    """Parse one RFC 5322 message; MessageTooLargeError or MalformedEmailError when refused."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(
            N_("E-posten er større enn %(limit)s KiB."), limit=MAX_MESSAGE_BYTES // 1024
        )
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise MalformedEmailError(N_("Meldingen kan ikke leses som e-post.")) from exc
    address = _sender(message)
    if not address:
        raise MalformedEmailError(N_("E-posten mangler avsenderadresse (From)."))
    own = _ids(_header(message, "Message-ID"))
    message_id = own[0] if own else _content_id(raw)
    references = _unique(
        [*_ids(_header(message, "References")), *_ids(_header(message, "In-Reply-To"))]
    )
    references = [r for r in references if r != message_id]
    subject = " ".join(_clean(_header(message, "Subject")).split())
    body = _body_text(message)
    text = body if _FORWARD_PREFIX.match(subject) else strip_quotes(body)
    return ParsedEmail(
        message_id=message_id,
        address=address,
        subject=subject,
        references=tuple(references),
        text=text,
        sent_at=_date(message) or now or utcnow(),
        attachments=tuple(_attachments(message)),
        automatic=_is_automatic(message),
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot make sense of counts as missing
        return ""
    return "" if value is None else str(value)


def _clean(text: str) -> str:
    """Undecodable bytes (surrogate escapes) as UTF-8 where they are, else replaced; no NUL."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")


def _sender(message: EmailMessage) -> str:
    try:
        header = message.get("From")
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    except Exception:
        return ""
    for address in addresses:
        spec = _clean(address.addr_spec).strip()
        if "@" in spec and " " not in spec and spec.strip("@") == spec:
            return spec
    return ""


def _ids(value: str) -> list[str]:
    return [i for i in _MESSAGE_ID.findall(_clean(value)) if len(i) <= MAX_ID_LENGTH]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _content_id(raw: bytes) -> str:
    """A Message-ID for a mail without one: the same bytes give the same id (dedupe)."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def _date(message: EmailMessage) -> datetime | None:
    try:
        header = message.get("Date")
        value = getattr(header, "datetime", None)
    except Exception:
        return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_automatic(message: EmailMessage) -> bool:
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if message.get_content_type() == "multipart/report":  # delivery or read reports
        return True
    return any(_header(message, h) for h in ("X-Autoreply", "X-Autorespond"))


# --- body ---------------------------------------------------------------------------------


def _body_text(message: EmailMessage) -> str:
    """The text/plain body, or the text of the HTML body when there is no plain text."""
    for kind in ("plain", "html"):
        try:
            part = message.get_body(preferencelist=(kind,))
        except Exception:
            part = None
        if not isinstance(part, EmailMessage):
            continue
        content = _text_content(part)
        if kind == "html":
            content = html_to_text(content)
        content = _normalise(content)
        if content.strip():
            return content
    return ""


def _text_content(part: EmailMessage) -> str:
    try:
        value: Any = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):  # unknown charset etc.
        payload = part.get_payload(decode=True)
        value = payload if isinstance(payload, bytes) else b""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _clean(value) if isinstance(value, str) else ""


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _attachments(message: EmailMessage) -> Iterator[str]:
    """Name and type of each attachment (never the content), at most MAX_ATTACHMENTS_LISTED."""
    body_parts = set()
    for kind in ("plain", "html"):
        try:
            body = message.get_body(preferencelist=(kind,))
        except Exception:
            body = None
        if body is not None:
            body_parts.add(id(body))
    found = 0
    for part in _leaves(message):
        if id(part) in body_parts:
            continue
        kind = part.get_content_type()
        try:
            name = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:
            name, disposition = None, None
        if kind in ("text/plain", "text/html") and disposition != "attachment" and not name:
            continue  # another rendering of the body
        found += 1
        if found > MAX_ATTACHMENTS_LISTED:
            return
        label = " ".join(_clean(name).split()) if name else "uten navn"
        yield f"{label[:100]} ({kind})"


def _leaves(part: EmailMessage) -> Iterator[EmailMessage]:
    """Non-multipart parts; an attached message (message/rfc822) counts as one leaf."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.iter_parts():
            if isinstance(child, EmailMessage):
                yield from _leaves(child)
    else:
        yield part


class _HTMLText(HTMLParser):
    """Text of an HTML mail: block elements become line breaks, quoted blocks are dropped."""

    SKIP = frozenset({"script", "style", "head", "title", "blockquote", "template"})
    # Outlook's "divRplyFwdMsg" holds only the Fra:/Sendt: block: strip_quotes cuts from there.
    QUOTE_MARKERS = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted")
    BLOCK = frozenset(
        {"p", "div", "br", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
    )
    VOID = frozenset(
        {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_depth:
            if tag not in self.VOID:
                self.skip_depth += 1
            return
        marker = " ".join(f"{v or ''}" for k, v in attrs if k in ("class", "id")).lower()
        if tag in self.SKIP or any(m in marker for m in self.QUOTE_MARKERS):
            if tag not in self.VOID:
                self.skip_depth = 1
            return
        if tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag not in self.VOID:
                self.skip_depth -= 1
            return
        if tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (no tags, entities decoded, quoted blocks dropped)."""
    parser = _HTMLText()
    with contextlib.suppress(Exception):  # HTMLParser is lenient; keep what was read
        parser.feed(html)
        parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- quotes and signatures ------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"on\b.{1,300}\bwrote"  # Gmail, Apple Mail, Thunderbird (en)
    r"|.{0,300}\b(?:skrev|skreiv|schrieb|skrev følgende)\b.{0,300}"  # nb, nn, sv, da, de
    r")\s*:\s*$",
    re.I,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|fra)\s*:\*?\s*\S", re.I)
_HEADER_NEXT = re.compile(r"^\s*\*?(?:sent|sendt|date|dato|to|til)\s*:\*?", re.I)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:original message|opprinnelig melding|original melding|"
    r"opphavleg melding|ursprüngliche nachricht)\s*-{2,}\s*$",
    re.I,
)
_MOBILE = re.compile(
    r"^\s*(?:sent from|sendt fra|send frå|sendt frå)\s+(?:my|min|mi|mitt)\b.{0,40}$", re.I
)


def strip_quotes(text: str) -> str:
    """The citizen's own words: quoted replies and the signature removed.

    Cuts at an attribution line followed by quoted lines (or by nothing), at Outlook's
    "Fra:/Sendt:" header block or "-----Opprinnelig melding-----", and at a "-- " signature
    delimiter; drops lines starting with ">" and a trailing "Sendt fra min iPhone". When
    nothing would remain, the whole text is kept (nothing the citizen wrote is lost).
    """
    lines = _normalise(text).split("\n")
    end = len(lines)
    for index, line in enumerate(lines):
        if line in ("-- ", "--") or _ORIGINAL.match(line) or _outlook_header(lines, index):
            end = index
            break
        if _attribution(lines, index):
            end = index
            break
    kept = [line for line in lines[:end] if not line.lstrip().startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _MOBILE.match(kept[-1]):
        kept.pop()
    result = "\n".join(kept).strip()
    result = re.sub(r"\n{3,}", "\n\n", result)
    return result or _normalise(text).strip()


def _attribution(lines: list[str], index: int) -> bool:
    """An "On … wrote:" line (possibly wrapped onto a second line) before quoted lines."""
    for span in (1, 2):
        joined = " ".join(lines[index : index + span])
        if index + span <= len(lines) and _ATTRIBUTION.match(joined):
            rest = [line for line in lines[index + span :] if line.strip()]
            if not rest or rest[0].lstrip().startswith(">"):
                return True
    return False


def _outlook_header(lines: list[str], index: int) -> bool:
    """Outlook's quoted header block: "Fra: …" followed by "Sendt: …"/"Til: …" lines."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 4] if line.strip()]
    return bool(following) and _HEADER_NEXT.match(following[0]) is not None


# --- threading and contacts -----------------------------------------------------------------


def thread_hash(address: str, root: str) -> str:
    return hashlib.sha256(f"{address.strip().lower()}\n{root}".encode()).hexdigest()[:32]


def thread_key_for(address: str, root: str) -> str:
    """``email:`` + a hash of the sender's address and the thread's root Message-ID."""
    return f"{CHANNEL}:{thread_hash(address, root)}"


@dataclass(frozen=True, slots=True)
class EmailContact:
    address: str
    subject: str
    references: tuple[str, ...]


def _associated(thread_key: str) -> bytes:
    return b"contact:" + thread_key.encode()


def read_contact(session: Session, keyring: Keyring, thread_key: str) -> EmailContact | None:
    """The decrypted contact of an e-mail thread, or None."""
    row = session.get(ChannelContact, thread_key)
    if row is None or row.address_encrypted is None:
        return None
    data = json.loads(keyring.decrypt(row.address_encrypted, _associated(thread_key)))
    return EmailContact(str(data["address"]), str(data.get("subject") or ""), tuple(row.references))


def _store_contact(session: Session, keyring: Keyring, thread_key: str, mail: ParsedEmail) -> None:
    row = session.get(ChannelContact, thread_key, populate_existing=True)
    subject = mail.thread_subject
    references = [*mail.references, mail.message_id]
    if row is None:
        row = ChannelContact(thread_key=thread_key, channel=CHANNEL, references=[])
        session.add(row)
    elif row.address_encrypted is not None:
        known = json.loads(keyring.decrypt(row.address_encrypted, _associated(thread_key)))
        subject = str(known.get("subject") or "") or subject
        references = [*row.references, *references]
    blob = json.dumps({"address": mail.address, "subject": subject}, ensure_ascii=False)
    row.address_encrypted = keyring.encrypt(blob, _associated(thread_key))
    row.subject = None  # personal data: only inside the encrypted contact
    row.references = _capped(_unique(references))
    row.updated_at = utcnow()


def _capped(references: list[str]) -> list[str]:
    if len(references) <= MAX_REFERENCES:
        return references
    return [references[0], *references[-(MAX_REFERENCES - 1) :]]


def resolve_thread(session: Session, keyring: Keyring, mail: ParsedEmail) -> str:
    """The thread key of a mail: its root's thread, else the thread one of our replies names."""
    key = thread_key_for(mail.address, mail.root)
    if session.get(ChannelContact, key) is not None:
        return key
    for reference in reversed(mail.references):
        match = _OWN_ID.match(reference)
        if match is None:
            continue
        candidate = f"{CHANNEL}:{match.group(1)}"
        contact = read_contact(session, keyring, candidate)
        if contact is not None and contact.address.lower() == mail.address.lower():
            return candidate
    return key


def receive_email(session: Session, keyring: Keyring, mail: ParsedEmail) -> ReceiveResult | None:
    """Store one parsed e-mail and its contact (None: an automatic mail, not stored)."""
    if mail.automatic:
        log.info("e-mail ignored: automatic reply or report")
        return None
    thread_key = resolve_thread(session, keyring, mail)
    first = session.get(ChannelContact, thread_key) is None
    result = receive(session, keyring, mail.inbound(thread_key, with_subject=first))
    if not result.duplicate:
        _store_contact(session, keyring, thread_key, mail)
    return result


EmailIntake = Callable[[ParsedEmail], ReceiveResult | None]


def make_email_intake(sessions: sessionmaker[Session], keyring: Keyring) -> EmailIntake:
    """Store (committed) and wake the worker; what the listener and the webhook call."""

    def deliver(mail: ParsedEmail) -> ReceiveResult | None:
        with transaction(sessions) as session:
            result = receive_email(session, keyring, mail)
        if result is not None:
            notify()
            log.info(
                "e-mail received",
                extra={"message_id": result.message_id, "duplicate": result.duplicate},
            )
        return result

    return deliver


# --- replies by SMTP ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # smtps: TLS from the start
    starttls: bool
    user: str
    password: str


def parse_smtp_url(value: str) -> SmtpServer:
    """``smtp://[user:password@]host[:port][?starttls=1]`` or ``smtps://…``."""
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError as exc:
        raise ConfigurationError(
            N_("Ugyldig STEMME_SMTP_URL: %(reason)s"), reason=str(exc)
        ) from exc
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigurationError(
            N_("Ugyldig STEMME_SMTP_URL: bruk smtp://vert:port eller smtps://vert:port.")
        )
    query = parse_qs(url.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
    tls = url.scheme == "smtps"
    return SmtpServer(
        host=url.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        starttls=starttls and not tls,
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
    )


def own_message_id(thread_key: str, message_uid: str, domain: str) -> str:
    """Our Message-ID for a reply; it names the thread (see resolve_thread)."""
    thread = thread_key.removeprefix(f"{CHANNEL}:")
    if not re.fullmatch(r"[0-9a-f]{32}", thread):
        thread = hashlib.sha256(thread_key.encode()).hexdigest()[:32]
    uid = re.sub(r"[^0-9a-f]", "", message_uid.lower())[:64] or "0" * 8
    return f"<stemme.{thread}.{uid.ljust(8, '0')}@{domain}>"


def reply_subject(subject: str, lang: str | None) -> str:
    if subject:
        return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"
    from stemme.web.i18n import translations

    return translations(lang or "nb").gettext(NO_SUBJECT)


def build_reply(
    delivery: Delivery, contact: EmailContact, from_address: str, now: datetime | None = None
) -> EmailMessage:
    """The reply as an e-mail with threading headers (raises ValueError for bad addresses)."""
    domain = from_address.rpartition("@")[2] or "stemme.invalid"
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address
    message["To"] = contact.address
    message["Subject"] = reply_subject(" ".join(contact.subject.split()), delivery.lang)
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = own_message_id(delivery.thread_key, delivery.message_uid, domain)
    references = list(contact.references)
    last = delivery.last_inbound_id
    if last and _MESSAGE_ID.fullmatch(last):
        message["In-Reply-To"] = last
        if last not in references:
            references.append(last)
    if references:
        message["References"] = " ".join(_capped(_unique(references)))
    if delivery.kind != "reply":
        message["Auto-Submitted"] = "auto-replied"
    if delivery.lang:
        message["Content-Language"] = delivery.lang
    message.set_content(delivery.text)
    return message


class EmailSender:
    """Sends replies by SMTP, one attempt per call; reads the contact from the database.

    ``sessions`` and ``keyring`` default to a read-only engine of its own on
    ``settings.database_url`` and ``settings.encryption_keys`` (a sender is built from
    settings alone; see ``build_senders``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: sessionmaker[Session] | None = None,
        keyring: Keyring | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not settings.email_address:
            raise ConfigurationError(
                N_("STEMME_EMAIL_ADDRESS mangler (avsender av svar på e-post).")
            )
        self.server = parse_smtp_url(settings.smtp_url)
        self.settings = settings
        self.from_address = settings.email_address
        self.timeout = timeout
        self._sessions = sessions
        self._keyring = keyring
        self._engine: Engine | None = None

    def _database(self) -> tuple[sessionmaker[Session], Keyring]:
        if self._keyring is None:
            self._keyring = Keyring.from_setting(self.settings.encryption_keys)
        if self._sessions is None:
            from stemme.db import make_engine, make_session_factory

            self._engine = make_engine(self.settings.url)
            self._sessions = make_session_factory(self._engine)
        return self._sessions, self._keyring

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None

    def send(self, delivery: Delivery) -> DeliveryResult:
        sessions, keyring = self._database()
        with reader(sessions) as session:
            contact = read_contact(session, keyring, delivery.thread_key)
        if contact is None:
            log.warning(
                "e-mail reply without a contact",
                extra={"conversation_id": delivery.conversation_id},
            )
            return DeliveryResult(False, "no_address")
        try:
            message = build_reply(delivery, contact, self.from_address)
        except (ValueError, TypeError) as exc:  # an address the e-mail package refuses
            log.warning("e-mail reply not built", extra={"error": type(exc).__name__})
            return DeliveryResult(False, "no_address")
        result = self._transmit(message, contact.address)
        log.info(
            "e-mail send attempt",
            extra={
                "conversation_id": delivery.conversation_id,
                "ok": result.ok,
                "error": result.error,
            },
        )
        return result

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        local = self.from_address.rpartition("@")[2] or "localhost"
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if server.tls:
            smtp = smtplib.SMTP_SSL(
                server.host,
                server.port,
                local_hostname=local,
                timeout=self.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                server.host, server.port, local_hostname=local, timeout=self.timeout
            )
        try:
            if server.starttls:
                smtp.starttls(context=context)
            if server.user:
                smtp.login(server.user, server.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transmit(self, message: EmailMessage, to: str) -> DeliveryResult:
        message_id = str(message["Message-ID"])
        try:
            with self._connect() as smtp:
                smtp.send_message(message, from_addr=self.from_address, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(400 <= c < 500 for c in codes):
                return DeliveryResult(False, "server_error", retryable=True)
            return DeliveryResult(False, "recipient_refused")
        except smtplib.SMTPAuthenticationError:
            return DeliveryResult(False, "auth_failed")
        except smtplib.SMTPNotSupportedError:
            return DeliveryResult(False, "rejected")
        except smtplib.SMTPConnectError:
            return DeliveryResult(False, "network", retryable=True)
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                return DeliveryResult(False, "server_error", retryable=True)
            return DeliveryResult(False, "rejected")
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, TLS, disconnected
            error = "timeout" if _timed_out(exc) else "network"
            return DeliveryResult(False, error, retryable=True)
        return DeliveryResult(True, external_id=message_id)


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also when smtplib reports it as a lost connection."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
