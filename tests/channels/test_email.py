"""The e-mail channel: parsing, threading, the LMTP/SMTP listener, the signed webhook, replies.

End to end on loopback: a mail sent with smtplib to the listener of a live server is stored
encrypted, analysed by the worker and listed redacted; a reply queued for it goes out through
a fake SMTP server with threading headers, and the citizen's answer lands in the same
conversation.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from stemme import jobs
from stemme.channels import email as mail_channel
from stemme.channels.email import (
    MAX_MESSAGE_BYTES,
    EmailContact,
    EmailSender,
    MalformedEmailError,
    MessageTooLargeError,
    ParsedEmail,
    parse_email,
    parse_smtp_url,
    receive_email,
    strip_quotes,
    thread_key_for,
)
from stemme.channels.email_listener import EmailListener, ListenAddress, parse_listen
from stemme.channels.email_routes import email_router
from stemme.channels.senders import build_senders
from stemme.channels.webhooks import sign
from stemme.config import Settings
from stemme.db import transaction
from stemme.errors import ConfigurationError
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.inbox import outbound
from stemme.inbox.models import ChannelContact, Conversation, Message, associated_data
from stemme.inbox.outbound import Delivery, DeliveryResult
from stemme.privacy.crypto import Keyring
from tests.channels.conftest import Served, free_port
from tests.channels.fake_smtp import FakeSmtp
from tests.channels.replies import queue_reply
from tests.conftest import LiveServer
from tests.helpers import api_headers

OURS = "nettpatrulje@politiet.example"
CITIZEN = "kari.nordmann@example.no"
WEBHOOK_SECRET = "test-email-webhook-secret"
URGENT = "Hjelp! Det er en mann med kniv utenfor døra mi nå. Ring meg på 91745302"
REPLY = "Takk for meldingen. En patrulje er på vei."


def mail(
    text: str = "Hei, jeg lurer på noe.",
    *,
    sender: str = f"Kari Nordmann <{CITIZEN}>",
    subject: str | None = "Innbrudd i bilen",
    message_id: str | None = "<m1.kari@mail.example.no>",
    in_reply_to: str | None = None,
    references: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = OURS
    if subject is not None:
        message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message["Date"] = format_datetime(datetime(2025, 11, 25, 13, 3, tzinfo=UTC))
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content(text)
    return message.as_bytes()


def keyring_of(settings: Settings) -> Keyring:
    return Keyring.from_setting(settings.encryption_keys)


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# --- parsing: quotes and signatures -----------------------------------------------------------

OWN_WORDS = "Takk, jeg sender bilde av bilen i morgen."


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        (
            "gmail bokmål",
            f"{OWN_WORDS}\n\ntir. 25. nov. 2025 kl. 14:03 skrev Nettpatruljen Oslo <{OURS}>:\n\n"
            "> Hei! Har du bilde av bilen?\n>\n",
            OWN_WORDS,
        ),
        (
            "gmail english, attribution wrapped over two lines",
            f"{OWN_WORDS}\n\nOn Tue, 25 Nov 2025 at 14:03, Nettpatruljen Oslo <\n{OURS}> wrote:\n\n"
            "> Hei! Har du bilde av bilen?\n",
            OWN_WORDS,
        ),
        (
            "thunderbird bokmål",
            f"{OWN_WORDS}\n\nDen 25.11.2025 14:03, skrev Nettpatruljen:\n> Hei!\n> Bilde?\n",
            OWN_WORDS,
        ),
        (
            "apple mail bokmål",
            f"{OWN_WORDS}\n\n25. nov. 2025 kl. 14:03 skrev Nettpatruljen <{OURS}>:\n\n> Hei!\n",
            OWN_WORDS,
        ),
        (
            "nynorsk",
            f"{OWN_WORDS}\n\nDen 25.11.2025 kl. 14:03 skreiv Nettpatruljen <{OURS}>:\n> Hei!\n",
            OWN_WORDS,
        ),
        (
            "outlook bokmål header block",
            f"{OWN_WORDS}\n\nFra: Nettpatruljen Oslo <{OURS}>\n"
            "Sendt: tirsdag 25. november 2025 14:03\nTil: Kari Nordmann <kari@example.no>\n"
            "Emne: SV: Innbrudd i bilen\n\nHei! Har du bilde av bilen?\n",
            OWN_WORDS,
        ),
        (
            "outlook bold english header block",
            f"{OWN_WORDS}\n\n*From:* Nettpatruljen <{OURS}>\n*Sent:* Tuesday\n\nHei!\n",
            OWN_WORDS,
        ),
        (
            "opprinnelig melding",
            f"{OWN_WORDS}\n\n-----Opprinnelig melding-----\nFra: Nettpatruljen\nHei!\n",
            OWN_WORDS,
        ),
        (
            "original message",
            f"{OWN_WORDS}\n-----Original Message-----\nFrom: Nettpatruljen\nHei!\n",
            OWN_WORDS,
        ),
        (
            "interleaved answers keep the citizen's lines",
            "> Hva ble stjålet?\nEn sykkel.\n> Når?\nI går kveld.\n",
            "En sykkel.\nI går kveld.",
        ),
        (
            "signature delimiter",
            f"{OWN_WORDS}\n\n-- \nKari Nordmann\nTlf. 912 34 567\n",
            OWN_WORDS,
        ),
        ("signature delimiter without the space", f"{OWN_WORDS}\n--\nKari\n", OWN_WORDS),
        ("sent from my phone", f"{OWN_WORDS}\n\nSendt fra min iPhone\n", OWN_WORDS),
        ("sent from my phone (english)", f"{OWN_WORDS}\n\nSent from my Galaxy\n", OWN_WORDS),
        (
            "a sentence with skrev and a colon is the citizen's own",
            "Jeg skrev til dere i går om dette:\nBilen min er stjålet.",
            "Jeg skrev til dere i går om dette:\nBilen min er stjålet.",
        ),
        (
            "attribution with nothing after it (from HTML)",
            f"{OWN_WORDS}\n\nOn Tue, 25 Nov 2025 at 14:03 Nettpatruljen <{OURS}> wrote:\n",
            OWN_WORDS,
        ),
        (
            "only a quote: the whole text is kept",
            "> Hei\n> Hva skjer?",
            "> Hei\n> Hva skjer?",
        ),
        ("windows line endings", f"{OWN_WORDS}\r\n\r\n> Hei!\r\n", OWN_WORDS),
    ],
)
def test_quotes_and_signatures_are_cut(name: str, body: str, expected: str) -> None:
    assert strip_quotes(body) == expected
    assert parse_email(mail(body)).text == expected


def test_a_forwarded_mail_keeps_the_forwarded_part() -> None:
    body = (
        "Se på denne, er det svindel?\n\nFra: DNB <kundeservice@dnb-sikkerhet.example>\n"
        "Sendt: 24. november 2025\nTil: Kari\nEmne: Kontoen din er sperret\n\n"
        "Logg inn her for å åpne kontoen."
    )
    parsed = parse_email(mail(body, subject="VS: Kontoen din er sperret"))
    assert "Logg inn her for å åpne kontoen." in parsed.text


# --- parsing: MIME ------------------------------------------------------------------------


def test_plain_text_mail() -> None:
    parsed = parse_email(mail("Hei, når åpner passkontoret?"))
    assert parsed == ParsedEmail(
        message_id="<m1.kari@mail.example.no>",
        address=CITIZEN,
        subject="Innbrudd i bilen",
        references=(),
        text="Hei, når åpner passkontoret?",
        sent_at=datetime(2025, 11, 25, 13, 3, tzinfo=UTC),
        attachments=(),
        automatic=False,
    )
    assert parsed.root == "<m1.kari@mail.example.no>"


HTML_ONLY = b"""From: ola@example.no
To: nettpatrulje@politiet.example
Subject: Hei
Message-ID: <html-1@example.no>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<html><head><title>x</title><style>p { color: red }</style></head><body>
<p>Det er <b>r\xc3\xa5kj\xc3\xb8ring</b> i Storgata &amp; Torggata hver kveld.</p>
<div>Mest&nbsp;mellom 22 og 24.<br>Vennlig hilsen Ola</div>
<ul><li>bl\xc3\xa5 BMW</li><li>svart Audi</li></ul>
<script>alert("x")</script>
<div class="gmail_quote"><div>On Tue Nettpatruljen wrote:</div>
<blockquote>Gammel tekst <div>nested</div></blockquote></div>
</body></html>
"""


def test_html_only_mail_becomes_text() -> None:
    parsed = parse_email(HTML_ONLY)
    assert parsed.text == (
        "Det er råkjøring i Storgata & Torggata hver kveld.\n\n"
        "Mest mellom 22 og 24.\nVennlig hilsen Ola\n\n- blå BMW\n- svart Audi"
    )
    for hidden in ("alert", "color", "Gammel", "nested", "<", "wrote"):
        assert hidden not in parsed.text


def test_outlook_html_reply_is_cut_at_its_header_block() -> None:
    html = (
        "<html><body><p>Takk, det var alt.</p><hr><div id='divRplyFwdMsg'>"
        "<b>Fra:</b> Nettpatruljen &lt;nettpatrulje@politiet.example&gt;<br>"
        "<b>Sendt:</b> tirsdag 25. november 2025 14:03<br><b>Til:</b> Kari<br>"
        "<b>Emne:</b> SV: Sak</div><div>Hei! Har du mer informasjon?</div></body></html>"
    )
    message = EmailMessage()
    message["From"] = CITIZEN
    message["Subject"] = "SV: Sak"
    message.set_content(html, subtype="html")
    assert parse_email(message.as_bytes()).text == "Takk, det var alt."


def test_plain_part_is_preferred_over_html() -> None:
    message = EmailMessage()
    message["From"] = CITIZEN
    message.set_content("Ren tekst")
    message.add_alternative("<p>HTML-tekst</p>", subtype="html")
    assert parse_email(message.as_bytes()).text == "Ren tekst"


def test_empty_plain_part_falls_back_to_html() -> None:
    message = EmailMessage()
    message["From"] = CITIZEN
    message.set_content("  \n")
    message.add_alternative("<p>HTML-tekst</p>", subtype="html")
    assert parse_email(message.as_bytes()).text == "HTML-tekst"


ENCODED = b"""From: =?iso-8859-1?q?Kj=E6r=F8y_=C5sen?= <kjaeroy@example.no>
To: nettpatrulje@politiet.example
Subject: =?utf-8?b?U3ZpbmRlbCBww6UgVmlubW9ub3BvbGV0?= =?utf-8?q?_i_=C3=85lesund?=
Message-ID: <enc-1@example.no>
Date: Tue, 25 Nov 2025 14:03:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Jeg ble lurt p=E5 Finn av en selger fra =C5lesund.
"""


def test_encoded_headers_and_body() -> None:
    parsed = parse_email(ENCODED)
    assert parsed.address == "kjaeroy@example.no"
    assert parsed.subject == "Svindel på Vinmonopolet i Ålesund"
    assert parsed.text == "Jeg ble lurt på Finn av en selger fra Ålesund."
    assert parsed.sent_at == datetime(2025, 11, 25, 13, 3, tzinfo=UTC)


def test_raw_utf8_headers_of_an_smtputf8_mail() -> None:
    raw = (
        "From: Åse Ørn <åse@eksempel.no>\nSubject: Innbrudd på Løkka\nMessage-ID: <u8@x.no>\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nBlå bil.\n"
    ).encode()
    parsed = parse_email(raw)
    assert parsed.address == "åse@eksempel.no"
    assert parsed.subject == "Innbrudd på Løkka"
    assert parsed.text == "Blå bil."


def test_unknown_charset_is_read_as_far_as_possible() -> None:
    raw = (
        b"From: ola@example.no\nContent-Type: text/plain; charset=x-unknown-8\n\n"
        b"Bilen er stj\xc3\xa5let\n"
    )
    assert parse_email(raw).text == "Bilen er stjålet"


PDF = b"%PDF-1.4 SECRET-PDF-CONTENT"
JPEG = b"\xff\xd8\xff\xe0SECRET-JPEG-CONTENT"


def test_attachments_are_named_never_read() -> None:
    message = EmailMessage()
    message["From"] = CITIZEN
    message["Subject"] = "Anmeldelse"
    message["Message-ID"] = "<att-1@example.no>"
    message.set_content("Se vedlegg.")
    message.add_alternative("<p>Se vedlegg.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="anmeldelse.pdf")
    message.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="bilde av bil.jpg")
    message.add_attachment(b"notat", maintype="text", subtype="plain", filename="notat.txt")
    message.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "Se vedlegg."
    assert parsed.attachments == (
        "anmeldelse.pdf (application/pdf)",
        "bilde av bil.jpg (image/jpeg)",
        "notat.txt (text/plain)",
        "uten navn (application/octet-stream)",
    )
    inbound = parsed.inbound("email:x", with_subject=True)
    assert inbound.text == (
        "Anmeldelse\n\nSe vedlegg.\n\n[Vedlegg: anmeldelse.pdf (application/pdf)]\n"
        "[Vedlegg: bilde av bil.jpg (image/jpeg)]\n[Vedlegg: notat.txt (text/plain)]\n"
        "[Vedlegg: uten navn (application/octet-stream)]"
    )
    assert "SECRET" not in inbound.text
    assert inbound.attachments == parsed.attachments


def test_a_forwarded_mail_as_attachment_is_listed() -> None:
    inner = EmailMessage()
    inner["From"] = "svindler@example.com"
    inner["Subject"] = "Du har vunnet"
    inner.set_content("Send oss kontonummeret ditt.")
    outer = EmailMessage()
    outer["From"] = CITIZEN
    outer.set_content("Er dette svindel?")
    outer.add_attachment(inner)
    parsed = parse_email(outer.as_bytes())
    assert parsed.text == "Er dette svindel?"
    assert parsed.attachments == ("uten navn (message/rfc822)",)


@pytest.mark.parametrize(
    ("references", "in_reply_to", "root"),
    [
        ("<root@a.no> <second@b.no>", "<second@b.no>", "<root@a.no>"),
        (None, "<parent@b.no>", "<parent@b.no>"),
        ("<only@a.no>", None, "<only@a.no>"),
        (None, None, "<m1.kari@mail.example.no>"),
        ("not an id", "neither", "<m1.kari@mail.example.no>"),
    ],
)
def test_thread_root(references: str | None, in_reply_to: str | None, root: str) -> None:
    parsed = parse_email(mail(references=references, in_reply_to=in_reply_to))
    assert parsed.root == root


def test_thread_key_hides_the_address_and_separates_senders() -> None:
    key = thread_key_for(CITIZEN, "<root@a.no>")
    assert key.startswith("email:")
    assert "kari" not in key
    assert "root" not in key
    assert key == thread_key_for(CITIZEN.upper(), "<root@a.no>")
    assert key != thread_key_for("someone.else@example.no", "<root@a.no>")
    assert key != thread_key_for(CITIZEN, "<other@a.no>")


def test_mail_without_message_id_gets_a_stable_one() -> None:
    first = parse_email(mail(message_id=None))
    assert first.message_id.endswith("@no-message-id.invalid>")
    assert parse_email(mail(message_id=None)).message_id == first.message_id
    assert parse_email(mail("Annen tekst", message_id=None)).message_id != first.message_id


@pytest.mark.parametrize(
    ("sender", "raw"),
    [
        ("", None),
        ("Kari Nordmann", None),
        ("undisclosed-recipients:;", None),
        (None, b"just some bytes, no headers at all"),
        (None, b""),
    ],
)
def test_mail_without_a_sender_is_refused(sender: str | None, raw: bytes | None) -> None:
    with pytest.raises(MalformedEmailError) as caught:
        parse_email(raw if raw is not None else mail(sender=sender or ""))
    assert caught.value.status == 400


def test_oversized_mail_is_refused() -> None:
    raw = mail("x" * MAX_MESSAGE_BYTES)
    with pytest.raises(MessageTooLargeError) as caught:
        parse_email(raw)
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("headers", "automatic"),
    [
        ({"Auto-Submitted": "auto-replied"}, True),
        ({"Auto-Submitted": "auto-generated"}, True),
        ({"Auto-Submitted": "no"}, False),
        ({"X-Autoreply": "yes"}, True),
        ({"Precedence": "bulk"}, False),
        ({}, False),
    ],
)
def test_automatic_mail_is_recognised(headers: dict[str, str], automatic: bool) -> None:
    assert parse_email(mail(extra=headers)).automatic is automatic


def test_delivery_reports_are_automatic() -> None:
    raw = (
        b"From: MAILER-DAEMON@example.no\nMessage-ID: <dsn@x>\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nUndeliverable\n--b--\n"
    )
    assert parse_email(raw).automatic is True


def test_missing_or_broken_date_is_now() -> None:
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    raw = b"From: ola@example.no\nDate: not a date\n\nHei\n"
    assert parse_email(raw, now=now).sent_at == now
    assert parse_email(b"From: ola@example.no\n\nHei\n", now=now).sent_at == now


# --- settings parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, False, False, "", "")),
        ("smtp://mail.example", ("mail.example", 25, False, False, "", "")),
        ("smtps://mail.example", ("mail.example", 465, True, False, "", "")),
        (
            "smtp://stemme:p%40ss%3Aw@mail.example:587?starttls=1",
            ("mail.example", 587, False, True, "stemme", "p@ss:w"),
        ),
    ],
)
def test_smtp_url(url: str, expected: tuple[object, ...]) -> None:
    server = parse_smtp_url(url)
    assert (
        server.host,
        server.port,
        server.tls,
        server.starttls,
        server.user,
        server.password,
    ) == expected


@pytest.mark.parametrize("url", ["", "http://mail.example", "smtp://", "smtp://h:notaport"])
def test_bad_smtp_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_smtp_url(url)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:2424", ListenAddress("lmtp", "127.0.0.1", 2424)),
        ("lmtp://0.0.0.0:24", ListenAddress("lmtp", "0.0.0.0", 24)),  # noqa: S104
        ("smtp://localhost:2525", ListenAddress("smtp", "localhost", 2525)),
        ("[::1]:2424", ListenAddress("lmtp", "::1", 2424)),
    ],
)
def test_listen_address(value: str, expected: ListenAddress) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["2424", "pop3://h:110", "h:port", "h:99999", ":25"])
def test_bad_listen_address(value: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_listen(value)


def test_sender_needs_an_address(settings: Settings) -> None:
    with pytest.raises(ConfigurationError):
        EmailSender(settings.model_copy(update={"smtp_url": "smtp://h:25"}))


def test_senders_include_email_only_when_configured(settings: Settings) -> None:
    assert "email" not in build_senders(settings)
    configured = settings.model_copy(update={"smtp_url": "smtp://h:25", "email_address": OURS})
    sender = build_senders(configured)["email"]
    assert isinstance(sender, EmailSender)


# --- intake with the database ---------------------------------------------------------------


def store(sessions: sessionmaker[Session], keyring: Keyring, raw: bytes) -> Any:
    with transaction(sessions) as session:
        return receive_email(session, keyring, parse_email(raw))


def test_stored_encrypted_with_an_encrypted_contact(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail(URGENT, subject="Kniv utenfor døra"))
    assert not result.duplicate
    message = db.get(Message, result.message_id)
    assert message is not None
    assert message.channel == "email"
    assert message.channel_message_id == "<m1.kari@mail.example.no>"
    assert b"91745302" not in message.raw_encrypted
    conversation = db.get(Conversation, result.conversation_id)
    assert conversation is not None
    [contact] = db.scalars(select(ChannelContact)).all()
    assert (
        contact.thread_key
        == conversation.thread_key
        == thread_key_for(CITIZEN, message.channel_message_id)
    )
    assert contact.channel == "email"
    assert contact.subject is None  # personal data: only encrypted
    assert contact.address_encrypted is not None
    assert b"kari" not in contact.address_encrypted
    assert b"Kniv" not in contact.address_encrypted
    assert contact.references == ["<m1.kari@mail.example.no>"]
    assert mail_channel.read_contact(db, keyring, contact.thread_key) == EmailContact(
        CITIZEN, "Kniv utenfor døra", ("<m1.kari@mail.example.no>",)
    )
    original = keyring.decrypt(message.raw_encrypted, associated_data(message))
    assert original == f"Kniv utenfor døra\n\n{URGENT}"


def test_the_same_mail_twice_is_stored_once(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    keyring = keyring_of(settings)
    first = store(sessions, keyring, mail())
    second = store(sessions, keyring, mail())
    assert second.duplicate
    assert (second.message_id, second.conversation_id) == (first.message_id, first.conversation_id)
    assert db.scalar(select(func.count(Message.id))) == 1


def test_automatic_mail_is_not_stored(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    assert (
        store(sessions, keyring_of(settings), mail(extra={"Auto-Submitted": "auto-replied"}))
        is None
    )
    assert db.scalar(select(func.count(Message.id))) == 0


def test_threading_by_references_and_by_our_message_id(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    keyring = keyring_of(settings)
    first = store(sessions, keyring, mail("Første", subject="Sak"))
    key = thread_key_for(CITIZEN, "<m1.kari@mail.example.no>")
    ours = mail_channel.own_message_id(key, "ab" * 16, "politiet.example")
    # a normal reply: References start with the root
    second = store(
        sessions,
        keyring,
        mail(
            "Andre",
            subject="Re: Sak",
            message_id="<m2@mail.example.no>",
            in_reply_to=ours,
            references=f"<m1.kari@mail.example.no> {ours}",
        ),
    )
    # a client that sends only In-Reply-To with our Message-ID
    third = store(
        sessions,
        keyring,
        mail("Tredje", subject="SV: Sak", message_id="<m3@x.no>", in_reply_to=ours),
    )
    # a stranger who knows the thread's ids gets a thread of its own
    stranger = store(
        sessions,
        keyring,
        mail(
            "Hei",
            sender="annen@example.no",
            message_id="<s1@x.no>",
            in_reply_to=ours,
            references=f"<m1.kari@mail.example.no> {ours}",
        ),
    )
    assert first.conversation_id == second.conversation_id == third.conversation_id
    assert stranger.conversation_id != first.conversation_id
    contact = mail_channel.read_contact(db, keyring, key)
    assert contact is not None
    assert contact.subject == "Sak"  # the thread's subject stays the first one
    assert contact.references == (
        "<m1.kari@mail.example.no>",
        ours,
        "<m2@mail.example.no>",
        "<m3@x.no>",
    )
    texts = [
        keyring.decrypt(m.raw_encrypted, associated_data(m))
        for m in db.scalars(select(Message).order_by(Message.id))
    ]
    assert texts[:3] == ["Sak\n\nFørste", "Andre", "Tredje"]


def test_references_are_capped(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    keyring = keyring_of(settings)
    store(sessions, keyring, mail(message_id="<r0@x.no>"))
    for n in range(1, 30):
        store(
            sessions,
            keyring,
            mail(f"Melding {n}", message_id=f"<r{n}@x.no>", references="<r0@x.no>"),
        )
    [contact] = db.scalars(select(ChannelContact)).all()
    assert len(contact.references) == mail_channel.MAX_REFERENCES
    assert contact.references[0] == "<r0@x.no>"
    assert contact.references[-1] == "<r29@x.no>"
    assert db.scalar(select(func.count(Conversation.id))) == 1


# --- the listener end to end ------------------------------------------------------------------


def admin_token(make_user: Any, sessions: sessionmaker[Session]) -> str:
    admin = make_user("admin")
    with sessions() as session, session.begin():
        user = session.merge(admin)
        return service.create_token(session, command_line_principal(), user, "e2e")[1]


def listed(http: httpx.Client, token: str, count: int = 1) -> dict[str, Any]:
    """The conversation listing once ``count`` messages are analysed (or the last answer)."""

    def analysed() -> dict[str, Any] | None:
        listing: dict[str, Any] = http.get(
            "/api/v1/conversations", headers=api_headers(token)
        ).json()
        done = [
            m
            for c in listing["items"]
            for m in c["messages"]
            if m["direction"] == "in" and m["text"] is not None
        ]
        return listing if len(done) >= count else None

    return (
        wait_for(analysed) or http.get("/api/v1/conversations", headers=api_headers(token)).json()
    )


def test_mail_through_the_lmtp_listener_is_stored_analysed_and_listed_redacted(
    settings: Settings, make_user: Any, sessions: sessionmaker[Session], db: Session
) -> None:
    token = admin_token(make_user, sessions)
    port = free_port()
    configured = settings.model_copy(update={"email_listen": f"127.0.0.1:{port}"})
    with LiveServer(configured) as server, httpx.Client(base_url=server.url) as http:
        with smtplib.LMTP("127.0.0.1", port, local_hostname="mx.test") as lmtp:
            refused = lmtp.sendmail(
                CITIZEN, [OURS, "kopi@politiet.example"], mail(URGENT, subject="Hjelp")
            )
            assert refused == {}
            # LMTP answers DATA once per recipient (smtplib reads only the first answer)
            assert lmtp.getreply()[0] == 250
            # the same message again (the MTA retried): stored once
            lmtp.sendmail(CITIZEN, [OURS], mail(URGENT, subject="Hjelp"))
            with pytest.raises(smtplib.SMTPDataError) as no_from:
                lmtp.sendmail(CITIZEN, [OURS], mail(sender=""))
            assert no_from.value.smtp_code == 550
            with pytest.raises(smtplib.SMTPException) as too_big:
                lmtp.sendmail(CITIZEN, [OURS], mail("x" * (MAX_MESSAGE_BYTES + 10)))
            assert getattr(too_big.value, "smtp_code", None) == 552 or isinstance(
                too_big.value, smtplib.SMTPServerDisconnected
            )
        listing = listed(http, token)
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["channel"] == "email"
    assert item["urgent"] is True
    [message] = [m for m in item["messages"] if m["direction"] == "in"]
    assert "91745302" not in message["text"]
    assert "<PHONE>" in message["text"]
    stored = db.scalars(select(Message).where(Message.direction == "in")).all()
    assert len(stored) == 1
    assert b"kniv" not in stored[0].raw_encrypted


def test_smtp_listener_answers_and_reports_failures() -> None:
    """The listener in SMTP mode on its own event loop; a failing store answers 451."""
    got: list[ParsedEmail] = []
    fail = threading.Event()

    def deliver(parsed: ParsedEmail) -> None:
        if fail.is_set():
            raise RuntimeError("database is down")
        got.append(parsed)

    port = free_port()
    loop = asyncio.new_event_loop()
    listener = EmailListener(ListenAddress("smtp", "127.0.0.1", port), deliver)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(listener.start(), loop).result(10)
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.test") as smtp:
            smtp.sendmail(CITIZEN, [OURS], mail("Hei fra SMTP"))
            fail.set()
            with pytest.raises(smtplib.SMTPDataError) as temporary:
                smtp.sendmail(CITIZEN, [OURS], mail("Hei igjen", message_id="<m2@x.no>"))
            assert temporary.value.smtp_code == 451
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert [p.text for p in got] == ["Hei fra SMTP"]


def test_listener_needs_encryption_keys(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    from stemme.channels.email_listener import start_email_listener

    without = settings.model_copy(update={"email_listen": "127.0.0.1:1", "encryption_keys": ""})
    assert _in_own_loop(start_email_listener(without, sessions)) is None
    assert _in_own_loop(start_email_listener(settings, sessions)) is None  # not configured


def _in_own_loop(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: the browser tests keep a loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --- the signed webhook -----------------------------------------------------------------------

URL = "/channels/email/inbound"


class Recorder:
    def __init__(self) -> None:
        self.mails: list[ParsedEmail] = []
        self.fail = False

    def __call__(self, parsed: ParsedEmail) -> Any:
        if self.fail:
            raise RuntimeError("database is down")
        self.mails.append(parsed)
        return None if parsed.automatic else object()


def webhook_app(settings: Settings, intake: Recorder | None) -> Any:
    from types import SimpleNamespace

    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(email_router)
    app.state.stemme = SimpleNamespace(settings=settings)
    if intake is not None:
        app.state.stemme_email_intake = intake
    return app


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def webhook(settings: Settings, recorder: Recorder) -> Iterator[httpx.Client]:
    configured = settings.model_copy(update={"email_webhook_secret": WEBHOOK_SECRET})
    with (
        Served(webhook_app(configured, recorder)) as served,
        httpx.Client(base_url=served.url, timeout=10) as http,
    ):
        yield http


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"Content-Type": "message/rfc822", "X-Stemme-Signature": sign(secret, body)}


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert response.json()["instance"] == URL


def test_signed_webhook_delivers(webhook: httpx.Client, recorder: Recorder) -> None:
    body = mail("Hei via relé")
    response = webhook.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "received": 1}
    [parsed] = recorder.mails
    assert parsed.text == "Hei via relé"
    auto = mail(extra={"Auto-Submitted": "auto-replied"})
    assert webhook.post(URL, content=auto, headers=signed(auto)).json()["received"] == 0


BODY = mail()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Stemme-Signature": sign("another-secret", BODY)},
        {"X-Stemme-Signature": sign(WEBHOOK_SECRET, BODY).removeprefix("sha256=")},
        {"X-Stemme-Signature": sign(WEBHOOK_SECRET, BODY + b"\n")},
        {"X-Stemme-Signature": ""},
    ],
)
def test_webhook_refuses_bad_signatures(
    webhook: httpx.Client, recorder: Recorder, headers: dict[str, str]
) -> None:
    assert_problem(webhook.post(URL, content=BODY, headers=headers), 401)
    assert recorder.mails == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (mail(sender=""), 400),
        (b"no headers, just text", 400),
        (mail("x" * MAX_MESSAGE_BYTES), 413),
    ],
)
def test_webhook_refuses_bad_mail(
    webhook: httpx.Client, recorder: Recorder, body: bytes, status: int
) -> None:
    assert_problem(webhook.post(URL, content=body, headers=signed(body)), status)
    assert recorder.mails == []


def test_webhook_refuses_oversized_streams(webhook: httpx.Client, recorder: Recorder) -> None:
    body = mail("x" * MAX_MESSAGE_BYTES)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    assert_problem(webhook.post(URL, content=chunks(), headers=signed(body)), 413)


def test_webhook_store_failure_is_500(webhook: httpx.Client, recorder: Recorder) -> None:
    recorder.fail = True
    assert_problem(webhook.post(URL, content=BODY, headers=signed(BODY)), 500)


def test_webhook_without_secret_or_intake(settings: Settings) -> None:
    with Served(webhook_app(settings, Recorder())) as served:
        response = httpx.post(served.url + URL, content=BODY, headers=signed(BODY, ""))
    assert_problem(response, 401)
    configured = settings.model_copy(update={"email_webhook_secret": WEBHOOK_SECRET})
    with Served(webhook_app(configured, None)) as served:
        response = httpx.post(served.url + URL, content=BODY, headers=signed(BODY))
    assert_problem(response, 503)


# --- replies by SMTP ------------------------------------------------------------------------


@pytest.fixture
def fake_smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


def delivery_for(
    db: Session, keyring: Keyring, conversation_id: int, kind: str = "reply", text: str = REPLY
) -> tuple[Message, Delivery]:
    conversation = db.get(Conversation, conversation_id)
    assert conversation is not None
    message = outbound.queue_outbound(db, keyring, conversation, text, kind)
    db.commit()
    delivery = outbound._delivery_of(db, keyring, message)
    db.commit()  # no transaction open while sending (SQLite: it would hold the write lock)
    return message, delivery


def deliver_like_the_worker(
    sessions: sessionmaker[Session], keyring: Keyring, senders: outbound.Senders
) -> int:
    """Claim, send with no transaction open, record: what the worker does."""
    with transaction(sessions) as session:
        deliveries = outbound.claim_due(session, keyring)
    results = outbound.send_all(senders, deliveries)
    with transaction(sessions) as session:
        outbound.record_results(session, results)
    return len(deliveries)


def test_reply_has_threading_headers(
    settings: Settings, sessions: sessionmaker[Session], db: Session, fake_smtp: FakeSmtp
) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail(subject="Innbrudd i bilen"))
    second = store(
        sessions,
        keyring,
        mail(
            "Mer info",
            subject="Re: Innbrudd i bilen",
            message_id="<m2@x.no>",
            references="<m1.kari@mail.example.no>",
        ),
    )
    assert second.conversation_id == result.conversation_id
    configured = settings.model_copy(update={"smtp_url": fake_smtp.url, "email_address": OURS})
    sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=5)
    _, delivery = delivery_for(db, keyring, result.conversation_id)
    sent = sender.send(delivery)
    assert sent.ok, sent
    [received] = fake_smtp.wait()
    assert received.mail_from == OURS
    assert received.rcpt_tos == [CITIZEN]
    message = received.message
    assert message["From"] == OURS
    assert message["To"] == CITIZEN
    assert message["Subject"] == "Re: Innbrudd i bilen"
    assert message["In-Reply-To"] == "<m2@x.no>"
    assert str(message["References"]).split() == ["<m1.kari@mail.example.no>", "<m2@x.no>"]
    assert message["Message-ID"] == sent.external_id
    assert str(sent.external_id).endswith("@politiet.example>")
    assert message["Auto-Submitted"] is None
    assert message.get_content().strip() == REPLY
    # an automatic message is marked as such
    _, automatic = delivery_for(db, keyring, result.conversation_id, kind="out_of_hours")
    assert sender.send(automatic).ok
    assert fake_smtp.wait(2)[1].message["Auto-Submitted"] == "auto-replied"
    sender.close()


def test_reply_without_subject_and_in_nynorsk(
    settings: Settings, sessions: sessionmaker[Session], db: Session, fake_smtp: FakeSmtp
) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail(subject=None))
    configured = settings.model_copy(update={"smtp_url": fake_smtp.url, "email_address": OURS})
    sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=5)
    _, delivery = delivery_for(db, keyring, result.conversation_id)
    assert sender.send(delivery).ok
    assert fake_smtp.wait()[0].message["Subject"] == "Svar fra politiet"


def test_smtp_login(settings: Settings, sessions: sessionmaker[Session], db: Session) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail())
    _, delivery = delivery_for(db, keyring, result.conversation_id)
    with FakeSmtp(credentials=("stemme", "hemmelig")) as fake:
        for password, expected in (("hemmelig", DeliveryResult(True)), ("feil", None)):
            url = f"smtp://stemme:{password}@127.0.0.1:{fake.port}"
            configured = settings.model_copy(update={"smtp_url": url, "email_address": OURS})
            sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=5)
            sent = sender.send(delivery)
            if expected is not None:
                assert sent.ok
            else:
                assert (sent.ok, sent.error, sent.retryable) == (False, "auth_failed", False)
        assert set(fake.logins) == {"stemme"}  # smtplib tries each mechanism
        assert len(fake.received) == 1


@pytest.mark.parametrize(
    ("rcpt", "data", "error", "retryable"),
    [
        ("550 5.1.1 No such user", None, "recipient_refused", False),
        ("450 4.2.1 Mailbox busy", None, "server_error", True),
        (None, "451 4.3.0 Try again later", "server_error", True),
        (None, "554 5.7.1 Rejected as spam", "rejected", False),
    ],
)
def test_smtp_refusals(
    settings: Settings,
    sessions: sessionmaker[Session],
    db: Session,
    fake_smtp: FakeSmtp,
    rcpt: str | None,
    data: str | None,
    error: str,
    retryable: bool,
) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail())
    fake_smtp.rcpt_reply, fake_smtp.data_reply = rcpt, data
    configured = settings.model_copy(update={"smtp_url": fake_smtp.url, "email_address": OURS})
    sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=5)
    message, _ = delivery_for(db, keyring, result.conversation_id)
    assert deliver_like_the_worker(sessions, keyring, {"email": sender}) == 1
    db.expire_all()
    stored = db.get(Message, message.id)
    assert stored is not None
    assert stored.delivery_error == error
    assert stored.delivery == ("retrying" if retryable else "failed")
    assert error in outbound.DELIVERY_ERRORS


def test_smtp_server_down_is_retried(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail())
    url = f"smtp://127.0.0.1:{free_port()}"
    configured = settings.model_copy(update={"smtp_url": url, "email_address": OURS})
    sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=2)
    message, delivery = delivery_for(db, keyring, result.conversation_id)
    sent = sender.send(delivery)
    assert (sent.ok, sent.error, sent.retryable) == (False, "network", True)
    assert deliver_like_the_worker(sessions, keyring, {"email": sender}) == 1
    db.expire_all()
    stored = db.get(Message, message.id)
    assert stored is not None
    assert (stored.delivery, stored.delivery_error) == ("retrying", "network")


def test_smtp_server_that_never_answers_times_out(
    settings: Settings, sessions: sessionmaker[Session], db: Session
) -> None:
    import socket

    keyring = keyring_of(settings)
    result = store(sessions, keyring, mail())
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        configured = settings.model_copy(update={"smtp_url": url, "email_address": OURS})
        sender = EmailSender(configured, sessions=sessions, keyring=keyring, timeout=0.5)
        _, delivery = delivery_for(db, keyring, result.conversation_id)
        sent = sender.send(delivery)
    assert (sent.ok, sent.error, sent.retryable) == (False, "timeout", True)


def test_no_contact_means_no_address(
    settings: Settings, sessions: sessionmaker[Session], db: Session, fake_smtp: FakeSmtp
) -> None:
    configured = settings.model_copy(update={"smtp_url": fake_smtp.url, "email_address": OURS})
    sender = EmailSender(configured, timeout=5)  # its own engine on the test database
    delivery = Delivery(
        "ab" * 16, 1, "email", "email:" + "0" * 32, REPLY, "reply", "nb", None, None
    )
    assert sender.send(delivery) == DeliveryResult(False, "no_address")
    sender.close()
    assert fake_smtp.received == []


# --- all of it over real HTTP and SMTP --------------------------------------------------------


def _received_with(fake: FakeSmtp, text: str) -> Any:
    return next((r for r in list(fake.received) if text in r.raw.decode()), None)


def test_conversation_by_email_end_to_end(
    settings: Settings,
    make_user: Any,
    sessions: sessionmaker[Session],
    db: Session,
    fake_smtp: FakeSmtp,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Webhook in, reply out through SMTP, the citizen's answer back into the same thread."""
    token = admin_token(make_user, sessions)
    configured = settings.model_copy(
        update={
            "smtp_url": fake_smtp.url,
            "email_address": OURS,
            "email_webhook_secret": WEBHOOK_SECRET,
            "log_level": "DEBUG",
        }
    )
    first = mail(URGENT, subject="Kniv i oppgangen")
    with (
        LiveServer(configured) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert http.post(URL, content=first, headers=signed(first)).status_code == 200
        listing = listed(http, token)
        reply_id, _ = queue_reply(configured, listing["items"][0]["id"], REPLY)
        jobs.notify()
        received = wait_for(lambda: _received_with(fake_smtp, REPLY))
        assert received is not None, "the reply did not reach the SMTP server"
        ours = received.message["Message-ID"]
        assert received.message["To"] == CITIZEN
        assert received.message["Subject"] == "Re: Kniv i oppgangen"
        assert received.message["In-Reply-To"] == "<m1.kari@mail.example.no>"
        assert received.message["References"] == "<m1.kari@mail.example.no>"
        answer = mail(
            "Han har gått nå, takk.",
            subject="SV: Kniv i oppgangen",
            message_id="<m2.kari@mail.example.no>",
            in_reply_to=ours,
            references=f"<m1.kari@mail.example.no> {ours}",
        )
        assert http.post(URL, content=answer, headers=signed(answer)).status_code == 200
        listing = listed(http, token, count=2)
    db.expire_all()
    sent = db.get(Message, reply_id)
    assert sent is not None
    assert (sent.delivery, sent.external_id) == ("sent", ours)
    assert listing["total"] == 1
    texts = [m["text"] for m in listing["items"][0]["messages"] if m["direction"] == "in"]
    assert len(texts) == 2
    assert "takk" in texts[1]
    for other in fake_smtp.received:  # automatic messages (e.g. the 112 answer) say so
        if other is not received:
            assert other.message["Auto-Submitted"] == "auto-replied"
    logged = capfd.readouterr().err  # the app's JSON log lines (level DEBUG)
    assert "e-mail received" in logged
    assert "e-mail send attempt" in logged
    for secret in (CITIZEN, "kari", "Kniv", "91745302", REPLY, "takk"):
        assert secret not in logged
