"""The operator flow in a real browser: an emergency arrives live, the operator opens it,
reads the original (audited), corrects the triage, answers with a canned reply, writes a
note and closes it; every state passes axe. Also on a phone-sized viewport."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from stemme.db import transaction, utcnow
from stemme.identity.models import AuditEvent
from stemme.inbox import service
from stemme.inbox.models import Conversation, Feedback, Message
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import Keyring
from tests.browser.conftest import AxeChecker
from tests.browser.test_pages import login
from tests.conftest import TEST_ENCRYPTION_KEY, LiveServer

pytestmark = pytest.mark.browser

EMERGENCY = "Hjelp! Det står en mann med kniv utenfor døra mi nå. Ring meg på 912 34 567, Kari"
QUESTION = "Hei, hvordan fornyer jeg passet mitt i Oslo?"


def _arrive(sessions: Any, text: str, thread: str) -> int:
    keyring = Keyring.from_setting(TEST_ENCRYPTION_KEY)
    with transaction(sessions) as session:
        received = service.receive(
            session, keyring, InboundMessage("webchat", thread, thread, text, utcnow(), "Oslo")
        )
    return received.conversation_id


def _wait_analysed(sessions: Any, conversation_id: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sessions() as session:
            pending = session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.analyzed_at.is_(None)
                )
            ).all()
        if not pending:
            return
        time.sleep(0.1)
    raise AssertionError("not analysed in time")


def test_operator_handles_an_emergency_from_queue_to_closing(
    live_server: LiveServer, make_user: Any, sessions: Any, page_factory: Any, axe: AxeChecker
) -> None:
    operator = make_user("operator", email="operator@test.stemme.no", districts=["Oslo"])
    base = live_server.url
    first = _arrive(sessions, QUESTION, "b-1")
    _wait_analysed(sessions, first)
    page = page_factory()
    login(page, base, operator.email)
    page.click("nav >> text=Innboks")
    page.wait_for_url(f"{base}/inbox")
    assert page.locator(".queue-link").count() == 1
    axe.check(page, "queue")

    urgent = _arrive(sessions, EMERGENCY, "b-2")  # arrives while the queue is open
    page.wait_for_selector("#urgent-alert .ds-alert", timeout=20_000)
    assert "hastesak" in page.inner_text("#urgent-alert").lower()
    first_row = page.locator(".queue-link").first
    assert "Haster" in first_row.inner_text()  # urgent on top
    assert "912 34 567" not in page.inner_text("#queue")  # redacted in the list
    axe.check(page, "queue with a new emergency (live)")

    page.keyboard.press("j")  # keyboard shortcut: first conversation
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/inbox/{urgent}")
    thread = page.inner_text("#thread")
    assert "<PHONE>" in thread
    assert "Ring 112" in thread  # the automatic 112 answer is in the conversation
    axe.check(page, "conversation")

    page.click("summary")  # the triage reasons
    page.click("text=Vis original (logges)")
    page.wait_for_selector(".original-text")
    assert "912 34 567" in page.inner_text(".original-text")
    axe.check(page, "conversation with original and reasons")
    with sessions() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "message"))
        assert any(e.action == "personal_data.read" for e in reads)

    page.select_option("#canned", "call_112")
    expect(page.locator("#reply-text")).to_have_value(re.compile("112"))
    page.click("text=Send svar")
    assert page.locator("[role=status]").inner_text() == "Svaret er lagt i kø for sending."
    page.wait_for_load_state()  # the shortcuts are wired by a deferred script
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.type("Ringte tilbake, politiet er på vei.")
    page.click("text=Lagre notat")
    assert "Ringte tilbake" in page.inner_text(".note-list")
    axe.check(page, "conversation after reply and note")

    page.click("main form button:text('Lagre status')")  # closing without outcome
    page.select_option("#status", "closed")
    page.click("main form button:text('Lagre status')")
    assert "Velg et utfall" in page.inner_text("[role=alert]")
    axe.check(page, "closing without outcome: error")
    page.select_option("#status", "closed")
    page.select_option("#outcome", "referred_112")
    page.click("main form button:text('Lagre status')")
    assert page.locator("[role=status]").inner_text() == "Statusen er endret."
    with sessions() as session:
        conversation = session.get(Conversation, urgent)
        assert conversation is not None
        assert (conversation.status, conversation.outcome) == ("closed", "referred_112")
        kinds = [m.kind for m in conversation.messages]
        assert kinds[-1] == "feedback_question"
        assert session.scalars(select(Feedback)).first() is None

    page.goto(f"{base}/reports/inbox")
    chart = page.locator("figure.chart img")
    expect(chart).to_be_visible()  # the weekly chart, an SVG rendered on the server
    assert chart.evaluate("img => img.naturalWidth") > 0
    axe.check(page, "response-time dashboard")
    page.wait_for_selector("#urgent-watch", state="attached")
    page.wait_for_timeout(500)  # the first poll sets the baseline
    _arrive(sessions, "Hjelp, naboen blir slått akkurat nå!", "b-3")
    page.wait_for_selector(".urgent-banner", timeout=30_000)  # alerted on any page
    axe.check(page, "dashboard with an emergency alert")
    axe.assert_clean()


def test_inbox_on_a_phone(
    live_server: LiveServer, make_user: Any, sessions: Any, page_factory: Any, axe: AxeChecker
) -> None:
    operator = make_user("operator", email="mobil@test.stemme.no", districts=["Oslo"])
    conversation = _arrive(sessions, QUESTION, "p-1")
    _wait_analysed(sessions, conversation)
    page = page_factory(viewport={"width": 375, "height": 667})
    login(page, live_server.url, operator.email)
    page.goto(f"{live_server.url}/inbox")
    axe.check(page, "queue on a phone")
    page.goto(f"{live_server.url}/inbox/{conversation}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, "no horizontal scrolling on a phone"
    axe.check(page, "conversation on a phone")
    axe.assert_clean()


def test_opening_hours_page_passes_axe(
    live_server: LiveServer, make_user: Any, page_factory: Any, axe: AxeChecker
) -> None:
    leader = make_user("leader", email="leder@test.stemme.no", districts=["Oslo", "Øst"])
    page = page_factory()
    login(page, live_server.url, leader.email)
    page.click("nav >> text=Innboksinnstillinger")
    axe.check(page, "opening hours")
    assert not page.locator("#always-1").is_visible()  # each district folded away
    page.locator(".hours-district summary").first.click()
    page.uncheck("#always-1")
    page.fill("#o-1-0", "08:00")
    page.locator(".hours-district").first.locator("button").click()
    assert "klokkeslett" in page.inner_text("[role=alert]")
    axe.check(page, "opening hours with an error")
    axe.assert_clean()
