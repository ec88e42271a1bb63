"""The citizens' web chat in a real browser on a phone: send, reload, a live reply, feedback,
the embed script on another site; axe (WCAG 2.1 A/AA) on every state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.channels import webchat_routes
from stemme.channels.senders import StoredSender
from stemme.config import Settings
from stemme.db import transaction
from stemme.inbox.models import Conversation
from stemme.inbox.outbound import deliver_pending, queue_outbound
from stemme.privacy.crypto import Keyring
from stemme.web import i18n
from tests.browser.conftest import AxeChecker
from tests.channels.conftest import Served
from tests.channels.test_webchat import wait_until_sent
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
FIRST = "Hei! Noen har knust ruta i bilen min i Storgata i natt. Hva gjør jeg nå?"
REPLY = "Hei, så leit. Du kan anmelde det på politiet.no. Ta gjerne bilder av skaden først."


@pytest.fixture(autouse=True)
def quick_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webchat_routes, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(webchat_routes, "STREAM_SECONDS", 5.0)


def answer(sessions: sessionmaker[Session], settings: Settings, text: str, kind: str) -> None:
    """What an operator does (a reply, or closing the conversation), delivered at once."""
    keyring = Keyring.from_setting(settings.encryption_keys)
    with transaction(sessions) as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.channel == "webchat")
        ).one()
        if kind == "feedback_question":
            conversation.status = "closed"
        message_id = queue_outbound(session, keyring, conversation, text, kind).id
    with transaction(sessions) as session:
        deliver_pending(session, keyring, {"webchat": StoredSender()})
    wait_until_sent(sessions, message_id)


def no_sideways_scroll(page: Any, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the chat scrolls sideways at {width} px ({scroll_width})"


def in_viewport(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_chat_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    sessions: sessionmaker[Session],
    page_factory: Any,
    axe: AxeChecker,
) -> None:
    page = page_factory(**PHONE)
    page.goto(f"{live_server.url}/chat?district=Oslo")
    assert page.title() == "Chat med politiet"
    assert page.locator("html").get_attribute("lang") == "nb"
    notice = page.locator("#chat-emergency")
    assert notice.is_visible()
    assert in_viewport(page, "#chat-emergency")
    assert "Haster det? Ring 112." in notice.inner_text()
    assert "Ring Alarmtelefonen for barn og unge 116 111." in notice.inner_text()
    assert page.locator("#chat-form").is_visible()
    no_sideways_scroll(page, 375)
    axe.check(page, "chat, empty (phone)")

    page.click("#chat-send")  # nothing written: an error, focus stays in the box
    assert "tom" in page.inner_text("#chat-error")
    assert page.evaluate("document.activeElement.id") == "chat-text"
    assert page.get_attribute("#chat-text", "aria-invalid") == "true"
    axe.check(page, "chat, empty message error")

    page.fill("#chat-text", FIRST)
    page.click("#chat-send")
    mine = page.locator("#chat-log .chat-msg--in")
    mine.first.wait_for()
    page.wait_for_selector("#chat-log .chat-msg--in[data-id]")
    assert FIRST in page.locator("[role=log]").inner_text()
    assert page.input_value("#chat-text") == ""
    assert page.locator("#chat-error").inner_text() == ""
    assert page.locator("#chat-end").is_visible()
    assert in_viewport(page, "#chat-emergency")
    axe.check(page, "chat, message sent")

    page.reload()  # resumable: the token is in localStorage, the history on the server
    page.wait_for_selector("#chat-log .chat-msg--in[data-id]")
    assert page.locator("#chat-log .chat-msg--in").count() == 1
    assert FIRST in page.inner_text("#chat-log")

    answer(sessions, settings, REPLY, "reply")  # arrives live over the event stream
    reply = page.locator("#chat-log .chat-msg--out", has_text=REPLY)
    reply.wait_for(timeout=15_000)
    assert "Politiet" in reply.inner_text()
    no_sideways_scroll(page, 375)
    axe.check(page, "chat, operator reply")

    answer(
        sessions,
        settings,
        "Samtalen er avsluttet. Hvordan var hjelpen du fikk?",
        "feedback_question",
    )
    page.wait_for_selector("#chat-feedback:not([hidden])", timeout=15_000)
    assert "avsluttet" in page.inner_text("#chat-notice")
    axe.check(page, "chat, feedback form")
    page.click("#chat-feedback-form button[type=submit]")  # nothing chosen
    assert page.inner_text("#chat-feedback-error") != ""
    axe.check(page, "chat, feedback form with error")
    page.check("label[for=chat-rating-4]")
    page.fill("#chat-comment", "Raskt og vennlig svar.")
    page.click("#chat-feedback-form button[type=submit]")
    page.wait_for_selector("#chat-feedback-done:not([hidden])")
    assert page.inner_text("#chat-feedback-done") == "Takk for tilbakemeldingen!"
    assert page.evaluate("document.activeElement.id") == "chat-feedback-done"
    axe.check(page, "chat, feedback sent")

    page.reload()  # an answered question shows no form again
    page.wait_for_selector("#chat-log .chat-msg--out")
    assert page.locator("#chat-feedback").is_hidden()

    page.click("#chat-end")
    assert page.evaluate("document.activeElement.id") == "chat-confirm-text"
    axe.check(page, "chat, confirm ending")
    page.click("#chat-confirm-yes")
    page.wait_for_selector("#chat-notice:has-text('fjernet')")
    assert page.locator("#chat-log .chat-msg").count() == 0
    assert page.evaluate("window.localStorage.getItem('stemme-chat')") is None
    axe.check(page, "chat, ended")

    page.set_viewport_size({"width": 320, "height": 640})
    no_sideways_scroll(page, 320)
    assert page.context.cookies() == []  # anonymous: not a single cookie
    axe.assert_clean()
    assert len(axe.checked) == 9


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_chat_page_in_each_language(
    live_server: LiveServer, page_factory: Any, axe: AxeChecker, language: str
) -> None:
    page = page_factory(**PHONE)
    page.goto(f"{live_server.url}/chat?lang={language}")
    assert page.title() == i18n.translations(language).gettext("Chat med politiet")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator(f"a[aria-current=true][lang={language}]").count() == 1
    assert in_viewport(page, "#chat-emergency")
    no_sideways_scroll(page, 375)
    axe.check(page, f"chat ({language}, phone)")
    axe.assert_clean()


# --- the embed script on another site ---------------------------------------------------------


@dataclass
class EmbeddingSite:
    host: str  # the police page that embeds the chat
    stemme: str  # the stemme server


@pytest.fixture
def embedding_site(settings: Settings) -> Iterator[EmbeddingSite]:
    stemme_url: dict[str, str] = {}
    site = FastAPI()

    @site.get("/", response_class=HTMLResponse)
    def police_page() -> str:
        return (
            '<!doctype html><html lang="nb"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Politiet i Oslo</title></head><body><main><h1>Politiet i Oslo</h1>"
            "<p>Kontakt nettpatruljen i chatten.</p></main>"
            f'<script src="{stemme_url["url"]}/chat/widget.js" data-district="Oslo"'
            ' data-lang="nb" async></script></body></html>'
        )

    with Served(site) as host:
        embeddable = settings.model_copy(update={"webchat_embed_origins": [host.url]})
        with LiveServer(embeddable) as stemme:
            stemme_url["url"] = stemme.url
            yield EmbeddingSite(host.url, stemme.url)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_widget_embeds_the_chat_on_another_site(
    embedding_site: EmbeddingSite, page_factory: Any, axe: AxeChecker, device: str
) -> None:
    options = PHONE if device == "phone" else {"viewport": {"width": 1280, "height": 800}}
    page = page_factory(**options)
    page.goto(embedding_site.host)
    launcher = page.locator("button.stemme-chat-launcher")
    launcher.wait_for()
    assert launcher.inner_text() == "Chat med politiet"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.locator("iframe").count() == 0  # nothing is loaded before the citizen asks
    axe.check(page, f"host page with launcher ({device})")

    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    frame_element = page.locator("iframe[title='Chat med politiet']")
    frame_element.wait_for()
    src = frame_element.get_attribute("src") or ""
    assert src.startswith(f"{embedding_site.stemme}/chat?embed=1")
    assert "district=Oslo" in src
    chat = page.frame_locator("iframe[title='Chat med politiet']")
    chat.locator("#chat-form").wait_for()
    assert "112" in chat.locator("#chat-emergency").inner_text()
    chat.locator("#chat-text").fill("Hei fra nettsiden til politiet")
    chat.locator("#chat-send").click()
    chat.locator("#chat-log .chat-msg--in[data-id]").wait_for()
    frame = page.frame(url=re.compile(r".*/chat\?embed=1.*"))
    assert frame is not None
    axe.check(frame, f"chat in the iframe ({device})")
    axe.check(page, f"host page with the chat open ({device})")
    if device == "phone":
        assert launcher.is_hidden()  # full screen: the chat's own close button is used
        no_sideways_scroll(frame, 375)

    chat.locator("#chat-close").click()
    page.wait_for_selector("#stemme-chat-panel", state="hidden")
    assert launcher.is_visible()
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.className") == "stemme-chat-launcher"
    launcher.click()  # open again: the same chat
    chat.locator("#chat-log .chat-msg--in[data-id]").wait_for()
    page.keyboard.press("Escape")
    page.wait_for_selector("#stemme-chat-panel", state="hidden")
    assert page.context.cookies() == []
    axe.assert_clean()
