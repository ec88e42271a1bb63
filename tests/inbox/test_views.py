"""The operator inbox pages over real HTTP: the queue with filters and live updates, a
conversation with its actions, audited originals, canned replies, the SLA dashboard.

The live server here runs without its in-process worker (the tests analyse messages
themselves, so delivery states stay where the test puts them); one test turns it on.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.db import transaction, utcnow
from stemme.identity.access import command_line_principal
from stemme.identity.models import User
from stemme.inbox import outbound, work
from stemme.inbox.models import WIPED_ORIGINAL, Conversation, Feedback, Message, TriageLabel
from stemme.privacy.crypto import Keyring
from tests.conftest import LiveServer
from tests.helpers import WebClient
from tests.inbox import factory
from tests.inbox.conftest import URGENT_TEXT, Inbound, Login

CLI = command_line_principal("test")
QUESTION = "Hei, hvordan fornyer jeg passet mitt? Ring meg på 912 34 567"
CRIME = "Jeg vil anmelde et innbrudd i bilen min i går"
QUEUE_LINK = re.compile(r'id="q-(\d+)"')
QUEUE_URL = re.compile(r'hx-get="/inbox/queue\?([^"]*)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings without the in-process worker (see the module docstring)."""
    return settings.model_copy(update={"run_jobs_in_process": False})


@dataclass
class Arranged:
    question: int  # Oslo web chat, a question with a phone number
    urgent: int  # Oslo Messenger, an emergency (with the queued 112 answer)
    crime: int  # Oslo Instagram, a crime report, assigned to the Oslo operator
    closed: int  # Oslo web chat, closed as spam
    vest: int  # Vest web chat
    operator: User  # Oslo operator
    other: User  # Vest operator


@pytest.fixture
def arranged(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    make_user: Callable[..., User],
) -> Arranged:
    operator = make_user("operator", ["Oslo"])
    other = make_user("operator", ["Vest"])
    question = factory.receive(sessions, keyring, inbound(QUESTION, thread="q"))
    urgent = factory.receive(
        sessions, keyring, inbound(URGENT_TEXT, thread="PAGE:PSID", channel="messenger")
    )
    crime = factory.receive(sessions, keyring, inbound(CRIME, thread="c", channel="instagram"))
    closed = factory.receive(sessions, keyring, inbound("test", thread="x"))
    vest = factory.receive(
        sessions, keyring, inbound("Hei fra Bergen", thread="v", district="Vest")
    )
    with transaction(sessions) as session:
        work.assign(session, CLI, crime.conversation_id, operator.id)
        work.set_status(session, CLI, keyring, closed.conversation_id, "closed", "spam")
    return Arranged(
        question.conversation_id,
        urgent.conversation_id,
        crime.conversation_id,
        closed.conversation_id,
        vest.conversation_id,
        operator,
        other,
    )


def _listed(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text[:500]
    return [int(i) for i in QUEUE_LINK.findall(page.text)]


def _conversation(sessions: sessionmaker[Session], conversation_id: int) -> Conversation:
    with sessions() as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        _ = found.messages  # loaded before the session closes
        return found


def _flash_after(web: WebClient, response: httpx.Response, location: str) -> httpx.Response:
    assert response.status_code == 303, response.text[:800]
    assert response.headers["location"] == location
    return web.follow(response)


# --- the queue ---------------------------------------------------------------------------------


def test_the_queue_lists_urgent_first_within_the_scope(login: Login, arranged: Arranged) -> None:
    web = login(arranged.operator)
    page = web.get("/inbox")
    assert _listed(page) == [arranged.urgent, arranged.question, arranged.crime]
    assert "3 samtaler" in page.text
    assert "Haster" in page.text
    assert "&lt;PHONE&gt;" in page.text  # the redacted text
    assert "912 34 567" not in page.text
    assert "Hei fra Bergen" not in page.text  # Vest is outside the scope
    assert 'id="urgent-alert"' in page.text
    assert "hx-swap-oob" not in page.text  # no alert on the full page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", ["closed"]),
        ("status=", ["urgent", "question", "crime", "closed"]),
        ("status=active", ["urgent", "question", "crime"]),
        ("status=open", ["crime"]),  # assigned: open
        ("status=new", ["urgent", "question"]),
        ("channel=messenger", ["urgent"]),
        ("channel=instagram", ["crime"]),
        ("channel=webchat&status=", ["question", "closed"]),
        ("category=crime_report", ["crime"]),
        ("category=emergency", ["urgent"]),
        ("urgent=1", ["urgent"]),
        ("urgent=0", ["urgent", "question", "crime"]),  # only "1" filters
        ("assignee=me", ["crime"]),
        ("assignee=none", ["urgent", "question"]),
        ("district=Oslo", ["urgent", "question", "crime"]),
        ("district=Vest", []),  # outside the scope: nothing, not an error
    ],
)
def test_queue_filters(login: Login, arranged: Arranged, query: str, expected: list[str]) -> None:
    web = login(arranged.operator)
    page = web.get(f"/inbox?{query}")
    assert _listed(page) == [getattr(arranged, name) for name in expected]
    if not expected:
        assert "Ingen samtaler passer filtrene." in page.text


def test_an_unknown_status_filter_is_an_error_page(login: Login, arranged: Arranged) -> None:
    web = login(arranged.operator)
    page = web.get("/inbox?status=done")
    assert page.status_code == 422
    assert "Ukjent status: done" in page.text


def test_the_queue_is_paged(
    login: Login, make_user: Callable[..., User], sessions: sessionmaker[Session]
) -> None:
    operator = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        start = utcnow() - timedelta(hours=1)
        made = [
            factory.conversation(
                session, created_at=start, last_message_at=start + timedelta(seconds=i)
            ).id
            for i in range(30)
        ]
    web = login(operator)
    first = web.get("/inbox?channel=webchat")
    assert _listed(first) == made[:25]
    assert "Side 1 av 2" in first.text
    assert 'href="/inbox?channel=webchat&amp;page=2"' in first.text or (
        'href="/inbox?channel=webchat&page=2"' in first.text
    )
    second = web.get("/inbox?channel=webchat&page=2")
    assert _listed(second) == made[25:]
    assert "Side 2 av 2" in second.text
    assert "Forrige side" in second.text
    assert "Neste side" not in second.text
    assert _listed(web.get("/inbox?page=x")) == made[:25]  # a bad page number is page 1


def test_the_queue_fragment_answers_204_until_something_changes(
    login: Login,
    arranged: Arranged,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    web = login(arranged.operator)
    page = web.get("/inbox")
    url = _poll_url(page)
    assert f"since={arranged.urgent}" in url
    unchanged = web.get(url)
    assert unchanged.status_code == 204
    assert unchanged.text == ""
    # a new message changes the queue: the fragment comes back, without the page around it
    factory.receive(sessions, keyring, inbound("Et nytt spørsmål om pass", thread="new"))
    changed = web.get(url)
    assert changed.status_code == 200
    assert changed.headers["cache-control"] == "no-store"
    assert changed.text.lstrip().startswith('<section id="queue"')
    assert "<html" not in changed.text
    assert len(_listed(changed)) == 4
    assert "hx-swap-oob" not in changed.text  # no new urgent conversation since
    # a wrong version is a redraw too
    assert web.get("/inbox/queue?version=0000").status_code == 200


def _poll_url(fragment: httpx.Response) -> str:
    """The URL a queue fragment polls next (what htmx would request)."""
    found = QUEUE_URL.search(fragment.text)
    assert found is not None
    return "/inbox/queue?" + html.unescape(found.group(1))


def test_a_newer_urgent_conversation_brings_the_alert(
    login: Login,
    arranged: Arranged,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    web = login(arranged.operator)
    fragment = web.get(f"/inbox/queue?since={arranged.urgent - 1}")
    assert fragment.status_code == 200
    assert '<div id="urgent-alert" role="alert" hx-swap-oob="true">' in fragment.text
    assert "Ny hastesak i køen!" in fragment.text
    assert web.get(_poll_url(fragment)).status_code == 204  # announced once
    # a list that an urgent conversation does not change: closed ones
    closed = web.get(f"/inbox/queue?status=closed&since={arranged.urgent}")
    assert closed.status_code == 200
    assert "hx-swap-oob" not in closed.text
    url = _poll_url(closed)
    assert "status=closed" in url
    assert web.get(url).status_code == 204
    # a new urgent conversation in Vest is not announced in Oslo
    factory.receive(sessions, keyring, inbound(URGENT_TEXT, thread="vest-urgent", district="Vest"))
    assert web.get(url).status_code == 204
    # one in Oslo is, although the list itself did not change
    newer = factory.receive(sessions, keyring, inbound(URGENT_TEXT, thread="oslo-urgent-2"))
    alert = web.get(url)
    assert alert.status_code == 200
    assert "hx-swap-oob" in alert.text
    assert _listed(alert) == [arranged.closed]
    assert f"since={newer.conversation_id}" in _poll_url(alert)
    assert web.get(_poll_url(alert)).status_code == 204


def test_other_pages_poll_for_new_urgent_conversations(
    login: Login,
    arranged: Arranged,
    make_user: Callable[..., User],
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    owner = make_user("initiative_owner", ["Oslo"])
    web = login(arranged.operator)
    assert 'hx-get="/inbox/alerts"' in web.get(f"/inbox/{arranged.question}").text
    assert 'hx-get="/inbox/alerts"' not in web.get("/inbox").text  # the queue has its own
    baseline = web.get("/inbox/alerts")  # the first poll only sets the baseline
    assert baseline.status_code == 200
    assert baseline.headers["cache-control"] == "no-store"
    assert "Ny hastesak i innboksen." not in baseline.text
    assert f'hx-get="/inbox/alerts?since={arranged.urgent}"' in baseline.text
    since = f"/inbox/alerts?since={arranged.urgent}"
    assert "Ny hastesak" not in web.get(since).text
    factory.receive(sessions, keyring, inbound(URGENT_TEXT, thread="vest-urgent", district="Vest"))
    assert "Ny hastesak" not in web.get(since).text  # not in the operator's scope
    newer = factory.receive(sessions, keyring, inbound(URGENT_TEXT, thread="oslo-urgent-2"))
    alert = web.get(since)
    assert 'role="alert"' in alert.text
    assert "Ny hastesak i innboksen." in alert.text
    assert 'href="/inbox?urgent=1"' in alert.text
    assert f"/inbox/alerts?since={newer.conversation_id}" in alert.text
    assert login(owner).get("/inbox/alerts").status_code == 403


# --- one conversation ------------------------------------------------------------------------


def test_the_conversation_page_shows_redacted_text_reasons_and_delivery(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session]
) -> None:
    conversation = _conversation(sessions, arranged.urgent)
    incoming = conversation.messages[0]
    web = login(arranged.operator)
    page = web.get(f"/inbox/{arranged.urgent}")
    assert page.status_code == 200
    text = page.text
    assert "Samtale" in text
    assert str(arranged.urgent) in text
    assert html.escape(incoming.redacted_text or "") in text
    assert "912 34 567" not in text
    assert "Kari Nordmann" not in text
    assert incoming.reasons
    for reason in incoming.reasons:
        assert html.escape(reason) in text
    assert "Nødsituasjon" in text
    assert "Messenger" in text
    assert "Automatisk svar: ring 112" in text
    assert "I kø" in text  # the 112 answer waits for the worker
    assert "Ring 112 med en gang" in text
    assert "Ikke besvart ennå" in text
    assert f'hx-post="/inbox/messages/{incoming.id}/original"' in text
    assert 'action="/inbox/' in text
    assert "/reply" in text


def test_a_failed_reply_shows_why_and_can_be_sent_again(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    with transaction(sessions) as session:
        message = work.reply(session, CLI, keyring, arranged.question, "Svar som ikke kom fram")
        outbound.record_result(message, outbound.DeliveryResult(False, "outside_24h_window"))
        failed_id = message.id
    web = login(arranged.operator)
    page = web.get(f"/inbox/{arranged.question}")
    assert "Ikke levert" in page.text
    assert "Meta tillater ikke svar nå." in page.text
    assert f'action="/inbox/messages/{failed_id}/retry"' in page.text
    response = web.post(f"/inbox/messages/{failed_id}/retry")
    followed = _flash_after(web, response, f"/inbox/{arranged.question}")
    assert "Svaret er lagt i kø for sending." in followed.text
    with sessions() as session:
        again = session.get(Message, failed_id)
        assert again is not None
        assert (again.delivery, again.delivery_error) == ("queued", None)


def test_a_conversation_outside_the_scope_is_not_found(login: Login, arranged: Arranged) -> None:
    web = login(arranged.operator)
    assert web.get(f"/inbox/{arranged.vest}").status_code == 404
    assert web.get("/inbox/999999").status_code == 404
    assert web.post(f"/inbox/{arranged.vest}/reply", {"text": "Hei"}).status_code == 404


def test_reply_redirects_back_with_a_flash(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    web = login(arranged.operator)
    web.get(f"/inbox/{arranged.question}")
    response = web.post(f"/inbox/{arranged.question}/reply", {"text": "Du fornyer passet hos oss"})
    page = _flash_after(web, response, f"/inbox/{arranged.question}")
    assert "Svaret er lagt i kø for sending." in page.text
    assert "Du fornyer passet hos oss" in page.text
    assert "Venter på innbygger" in page.text
    conversation = _conversation(sessions, arranged.question)
    assert conversation.status == "waiting"
    assert conversation.assignee_id == arranged.operator.id
    [reply] = [m for m in conversation.messages if m.kind == "reply"]
    assert factory.original(keyring, reply) == "Du fornyer passet hos oss"


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("reply", {"text": "   "}, "Teksten kan ikke være tom."),
        ("reply", {"text": "x" * 2001}, "Teksten er for lang (høyst 2000 tegn)."),
        ("notes", {"text": ""}, "Teksten kan ikke være tom."),
        ("status", {"status": "closed", "outcome": ""}, "Velg et utfall før samtalen avsluttes."),
        ("status", {"status": "done"}, "Ukjent status: done"),
        ("transfer", {"district": "Atlantis"}, "Ukjent politidistrikt: Atlantis"),
        ("assign", {"user_id": "999999"}, "Brukeren kan ikke få tildelt denne samtalen."),
    ],
)
def test_a_validation_error_renders_the_page_with_422(
    login: Login,
    arranged: Arranged,
    sessions: sessionmaker[Session],
    path: str,
    form: dict[str, str],
    message: str,
) -> None:
    web = login(arranged.operator)
    web.get(f"/inbox/{arranged.question}")
    response = web.post(f"/inbox/{arranged.question}/{path}", form)
    assert response.status_code == 422, response.text[:500]
    assert 'role="alert">' + html.escape(message) in response.text
    assert "Samtale" in response.text  # the conversation page, not an error page
    conversation = _conversation(sessions, arranged.question)
    assert (conversation.status, conversation.district, conversation.assignee_id) == (
        "new",
        "Oslo",
        None,
    )
    assert [m.direction for m in conversation.messages] == ["in"]


def test_a_refused_reply_keeps_what_was_written(login: Login, arranged: Arranged) -> None:
    web = login(arranged.operator)
    web.get(f"/inbox/{arranged.question}")
    long_text = "Et langt svar " * 150
    response = web.post(f"/inbox/{arranged.question}/reply", {"text": long_text})
    assert response.status_code == 422
    assert html.escape(long_text.strip()) in response.text


def test_assigning_a_vest_operator_to_an_oslo_conversation_is_refused(
    login: Login, arranged: Arranged
) -> None:
    web = login(arranged.operator)
    web.get(f"/inbox/{arranged.question}")
    page = web.get(f"/inbox/{arranged.question}")
    assert f'<option value="{arranged.other.id}"' not in page.text
    assert f'<option value="{arranged.operator.id}"' in page.text
    response = web.post(f"/inbox/{arranged.question}/assign", {"user_id": str(arranged.other.id)})
    assert response.status_code == 422
    assert "Brukeren kan ikke få tildelt denne samtalen." in response.text


def test_notes_assignment_status_and_triage_redirect_back(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session]
) -> None:
    web = login(arranged.operator)
    here = f"/inbox/{arranged.question}"
    web.get(here)
    page = _flash_after(web, web.post(f"{here}/notes", {"text": "Ring 912 34 567 i morgen"}), here)
    assert "Notatet er lagret." in page.text
    assert "Ring &lt;PHONE&gt; i morgen" in page.text
    page = _flash_after(web, web.post(f"{here}/assign", {"user_id": "me"}), here)
    assert "Samtalen er tildelt." in page.text
    assert _conversation(sessions, arranged.question).assignee_id == arranged.operator.id
    page = _flash_after(web, web.post(f"{here}/assign", {"user_id": ""}), here)
    assert _conversation(sessions, arranged.question).assignee_id is None
    [incoming] = _conversation(sessions, arranged.question).messages
    page = _flash_after(
        web,
        web.post(
            f"/inbox/messages/{incoming.id}/triage", {"category": "crime_report", "urgent": "1"}
        ),
        here,
    )
    assert "Vurderingen er rettet og lagret som treningsdata." in page.text
    with sessions() as session:
        [label] = session.scalars(select(TriageLabel)).all()
        assert (label.category, label.urgent, label.user_id) == (
            "crime_report",
            True,
            arranged.operator.id,
        )
    page = _flash_after(
        web, web.post(f"{here}/status", {"status": "closed", "outcome": "answered"}), here
    )
    assert "Statusen er endret." in page.text
    assert "Avsluttet" in page.text
    assert "(Besvart)" in page.text
    assert 'action="/inbox/' + str(arranged.question) + '/reply"' not in page.text
    assert "Tilbakemeldingsspørsmål" in page.text
    conversation = _conversation(sessions, arranged.question)
    assert (conversation.status, conversation.outcome) == ("closed", "answered")


def test_transfer_out_of_the_scope_goes_back_to_the_queue(
    login: Login, arranged: Arranged, make_user: Callable[..., User]
) -> None:
    national = make_user("operator")
    web = login(arranged.operator)
    here = f"/inbox/{arranged.question}"
    web.get(here)
    page = _flash_after(web, web.post(f"{here}/transfer", {"district": "Vest"}), "/inbox")
    assert "Samtalen er overført." in page.text
    assert arranged.question not in _listed(page)
    # a national operator stays on the conversation
    boss = login(national)
    boss.get(here)
    moved = _flash_after(boss, boss.post(f"{here}/transfer", {"district": "Agder"}), here)
    assert "Agder" in moved.text


def test_reading_the_original_is_audited(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session]
) -> None:
    incoming = _conversation(sessions, arranged.question).messages[0]
    web = login(arranged.operator)
    web.get(f"/inbox/{arranged.question}")
    response = web.post(f"/inbox/messages/{incoming.id}/original")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert QUESTION in response.text
    assert f'id="text-{incoming.id}"' in response.text
    assert "lesingen er logget" in response.text
    with sessions() as session:
        [event] = factory.audit_events(session, "personal_data.read")
        assert (event.object_type, event.object_id, event.actor_user_id, event.district) == (
            "message",
            str(incoming.id),
            arranged.operator.id,
            "Oslo",
        )
    vest = _conversation(sessions, arranged.vest).messages[0]
    assert web.post(f"/inbox/messages/{vest.id}/original").status_code == 404


def test_a_deleted_original_is_said_so_instead_of_offered(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session]
) -> None:
    incoming = _conversation(sessions, arranged.question).messages[0]
    with transaction(sessions) as session:  # what the retention rule does after 90 days
        stored = session.get(Message, incoming.id)
        assert stored is not None
        stored.raw_encrypted = WIPED_ORIGINAL
    web = login(arranged.operator)
    page = web.get(f"/inbox/{arranged.question}").text
    assert "Originalen er slettet fordi oppbevaringstiden er ute." in page
    assert f"/inbox/messages/{incoming.id}/original" not in page
    assert web.post(f"/inbox/messages/{incoming.id}/original").status_code == 404


def test_a_canned_reply_fills_the_reply_box(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session]
) -> None:
    web = login(arranged.operator)
    page = web.get(f"/inbox/{arranged.question}")
    assert '<option value="greeting">Hilsen</option>' in page.text
    box = web.get(f"/inbox/{arranged.question}/canned?key=greeting")
    assert box.status_code == 200
    assert 'id="reply-box"' in box.text
    assert "Du snakker med politiets nettpatrulje i Oslo." in box.text
    closing = web.get(f"/inbox/{arranged.question}/canned?key=closing")
    assert f"Hilsen {html.escape(arranged.operator.display_name)}, nettpatruljen." in closing.text
    empty = web.get(f"/inbox/{arranged.question}/canned?key=")
    assert re.search(r"<textarea[^>]*></textarea>", empty.text)
    assert web.get(f"/inbox/{arranged.question}/canned?key=nope").status_code == 404


def test_the_thread_fragment_answers_204_until_something_changes(
    login: Login, arranged: Arranged, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    web = login(arranged.operator)
    page = web.get(f"/inbox/{arranged.question}")
    found = re.search(r'hx-get="(/inbox/\d+/thread\?version=[0-9a-f]+)"', page.text)
    assert found is not None
    assert web.get(found.group(1)).status_code == 204
    with transaction(sessions) as session:
        work.reply(session, CLI, keyring, arranged.question, "Et svar fra en kollega")
    fragment = web.get(found.group(1))
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="thread"')
    assert "Et svar fra en kollega" in fragment.text


def test_the_worker_delivers_a_web_chat_reply(
    settings: Settings,
    arranged: Arranged,
) -> None:
    """With the in-process worker on, a queued web chat reply shows as sent."""
    with (
        LiveServer(settings.model_copy(update={"run_jobs_in_process": True})) as server,
        WebClient(server.url) as web,
    ):
        web.login(arranged.operator.email)
        here = f"/inbox/{arranged.question}"
        web.get(here)
        assert web.post(f"{here}/reply", {"text": "Levert av arbeideren"}).status_code == 303
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page = web.get(here).text
            if "Levert av arbeideren" in page and ">Sendt<" in page:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the reply was not delivered")


# --- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_figures_and_feedback(
    login: Login, make_user: Callable[..., User], sessions: sessionmaker[Session]
) -> None:
    operator = make_user("operator", ["Oslo", "Vest"])
    start = utcnow() - timedelta(days=2)
    with transaction(sessions) as session:
        for minutes in (4, 8, 12, 30):
            factory.conversation(
                session, created_at=start, first_response_at=start + timedelta(minutes=minutes)
            )
        factory.conversation(session, district="Vest", channel="email", created_at=start)
        for rating in (5, 4, 4, 3, 5):
            conversation = factory.conversation(session, created_at=start, status="closed")
            session.add(
                Feedback(
                    conversation_id=conversation.id,
                    channel="webchat",
                    district="Oslo",
                    rating=rating,
                    comment="Veldig bra hjelp" if rating == 5 else None,
                    created_at=start,
                )
            )
        vest = factory.conversation(session, district="Vest", created_at=start, status="closed")
        session.add(
            Feedback(
                conversation_id=vest.id,
                channel="webchat",
                district="Vest",
                rating=1,
                created_at=start,
            )
        )
    web = login(operator)
    page = web.get("/reports/inbox?days=7")
    assert page.status_code == 200
    text = page.text
    assert "Svartider og tilbakemeldinger" in text
    assert '<option value="7" selected>' in text
    assert "<dt>Samtaler</dt><dd>11</dd>" in text
    assert "<dt>Besvart</dt><dd>4</dd>" in text
    assert "<dt>Median første svar</dt><dd>10.0</dd>" in text
    assert "<dt>90-persentil første svar</dt><dd>30.0</dd>" in text
    assert "<dt>Innenfor mål</dt><dd>75 %</dd>" in text  # 3 of 4 within 15 minutes
    assert '<th scope="row">Vest – E-post</th>' in text
    assert '<th scope="row">Oslo</th>' in text
    assert "4.2" in text  # Oslo's average of five answers
    assert "1: 0, 2: 0, 3: 1, 4: 2, 5: 2" in text
    assert "For få svar" in text  # Vest: one answer
    assert "Veldig bra hjelp" in text
    assert "Siste kommentarer – Oslo" in text
    assert '<img src="data:image/svg+xml;base64,' in text  # the weekly chart, with alt text
    assert 'alt="Diagram over samtaler og første svar per uke.' in text
    # the period: nothing older than 1 day
    recent = web.get("/reports/inbox?days=1").text
    assert "Ingen samtaler i perioden." in recent
    assert "data:image/svg+xml" not in recent  # no weeks, no chart
    assert "Ingen tilbakemeldinger i perioden." in recent
    assert web.get("/reports/inbox?days=0").status_code == 422


# --- an analyst may look but not act ---------------------------------------------------------


def test_an_analyst_can_view_but_every_action_is_forbidden(
    login: Login,
    arranged: Arranged,
    make_user: Callable[..., User],
    sessions: sessionmaker[Session],
    keyring: Keyring,
) -> None:
    analyst = make_user("analyst", ["Oslo"])
    with transaction(sessions) as session:
        failed = work.reply(session, CLI, keyring, arranged.question, "Ikke levert")
        outbound.record_result(failed, outbound.DeliveryResult(False, "rejected"))
        failed_id = failed.id
    incoming = _conversation(sessions, arranged.question).messages[0]
    web = login(analyst)
    # the answered question waits for the citizen: after those that wait for us
    assert _listed(web.get("/inbox")) == [arranged.urgent, arranged.crime, arranged.question]
    page = web.get(f"/inbox/{arranged.question}")
    assert page.status_code == 200
    assert "/reply" not in page.text
    assert "/retry" not in page.text
    assert "Vis original" not in page.text
    assert web.get("/reports/inbox").status_code == 200
    here = f"/inbox/{arranged.question}"
    posts: list[tuple[str, dict[str, Any]]] = [
        (f"{here}/reply", {"text": "Hei"}),
        (f"{here}/notes", {"text": "Notat"}),
        (f"{here}/assign", {"user_id": "me"}),
        (f"{here}/transfer", {"district": "Vest"}),
        (f"{here}/status", {"status": "closed", "outcome": "answered"}),
        (f"/inbox/messages/{incoming.id}/triage", {"category": "tip"}),
        (f"/inbox/messages/{failed_id}/retry", {}),
        (f"/inbox/messages/{incoming.id}/original", {}),
    ]
    for url, form in posts:
        assert web.post(url, form).status_code == 403, url
    assert web.get(f"{here}/canned?key=greeting").status_code == 403
    conversation = _conversation(sessions, arranged.question)
    assert (conversation.status, conversation.district, conversation.assignee_id) == (
        "waiting",
        "Oslo",
        None,
    )
    with sessions() as session:
        assert factory.audit_events(session, "personal_data.read") == []
        assert session.scalars(select(TriageLabel)).all() == []
