"""The canned-reply pages under /admin/inbox/canned: list, create, preview, edit and delete
with confirmation; errors next to the fields with nothing typed lost; read-only for district
leaders; and a text made here is usable in the operator's reply box at once."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.db import transaction
from stemme.identity.models import User
from stemme.inbox.models import Conversation
from stemme.privacy.crypto import Keyring
from tests.helpers import WebClient
from tests.inbox import factory
from tests.inbox.conftest import Inbound, Login

LIST = "/admin/inbox/canned"
NEW = {
    "key": "pass-fornyelse",
    "lang": "nb",
    "title": "Fornye pass",
    "body": "Pass fornyer du hos politiet i {district}. Hilsen {operator}",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Without the in-process worker: nothing but the test touches the database."""
    return settings.model_copy(update={"run_jobs_in_process": False})


@pytest.fixture
def admin(login: Login, make_user: Callable[..., User]) -> WebClient:
    return login(make_user("admin", email="admin@test.stemme.no"))


def _field_value(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


def _textarea(page: str) -> str:
    found = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


# --- the list and its link ------------------------------------------------------------------


def test_the_list_shows_keys_languages_and_what_is_missing(admin: WebClient) -> None:
    settings_page = admin.get("/admin/inbox")
    assert 'href="/admin/inbox/canned"' in settings_page.text
    assert "Se og endre ferdige tekster" in settings_page.text
    page = admin.get(LIST)
    assert page.status_code == 200
    assert "<h1" in page.text
    assert "Ferdige tekster" in page.text
    assert f'href="{LIST}/greeting/nn"' in page.text
    assert f'href="{LIST}/new?key=greeting&amp;lang=da"' in page.text
    assert f'href="{LIST}/call_112/delete"' in page.text
    assert 'href="/admin/inbox/canned/new"' in page.text


def test_the_pages_are_translated(admin: WebClient) -> None:
    admin.post("/language", {"language": "en", "next": LIST})
    page = admin.get(LIST)
    assert '<h1 class="ds-heading" data-size="lg">Templates</h1>' in page.text
    assert "Add Danish" in page.text
    form = admin.get(f"{LIST}/new")
    assert "New template" in form.text
    nynorsk = admin.post("/language", {"language": "nn", "next": LIST})
    assert "Ferdige tekstar" in admin.follow(nynorsk).text


# --- creating --------------------------------------------------------------------------------


def test_create_with_errors_keeps_what_was_typed_then_saves(
    admin: WebClient, sessions: sessionmaker[Session]
) -> None:
    form = admin.get(f"{LIST}/new")
    assert form.status_code == 200
    assert "{district}" in form.text
    assert "{operator}" in form.text

    typed = {**NEW, "key": "Pass fornyelse", "title": "", "body": "Hei {navn}, se «pass»"}
    bad = admin.post(LIST, typed)
    assert bad.status_code == 422
    assert 'id="error-summary"' in bad.text
    assert 'id="canned-key-error"' in bad.text
    assert 'id="canned-title-error"' in bad.text
    assert "Teksten bruker variabler som ikke finnes: {navn}." in bad.text
    assert 'aria-invalid="true" aria-describedby="canned-lang-error"' not in bad.text
    assert _field_value(bad.text, "key") == "Pass fornyelse"
    assert _textarea(bad.text) == "Hei {navn}, se «pass»"

    saved = admin.post(LIST, NEW)
    assert saved.status_code == 303
    assert saved.headers["location"] == LIST
    listed = admin.follow(saved)
    assert "Den ferdige teksten er lagret." in listed.text
    assert "Fornye pass" in listed.text

    duplicate = admin.post(LIST, {**NEW, "title": "Igjen"})
    assert duplicate.status_code == 422
    assert "finnes allerede på språket nb" in duplicate.text
    assert _field_value(duplicate.text, "title") == "Igjen"


def test_preview_fills_the_variables_without_saving(admin: WebClient) -> None:
    preview = admin.post(LIST, {**NEW, "action": "preview"})
    assert preview.status_code == 200
    assert 'id="canned-preview"' in preview.text
    assert "Pass fornyer du hos politiet i Oslo. Hilsen Test admin" in preview.text
    assert _textarea(preview.text) == NEW["body"]  # the form still has the variables
    assert "pass-fornyelse" not in admin.get(LIST).text  # nothing saved

    unknown = admin.post(LIST, {**NEW, "body": "{x}", "action": "preview"})
    assert unknown.status_code == 200
    assert "variabler som ikke finnes: {x}" in unknown.text


def test_a_missing_language_starts_from_the_bokmal_text(admin: WebClient) -> None:
    form = admin.get(f"{LIST}/new?key=greeting&lang=da")
    assert form.status_code == 200
    assert "Bokmålsversjonen (til oversettelse)" in form.text
    assert "Du snakker med politiets nettpatrulje i {district}" in form.text
    assert _field_value(form.text, "key") == "greeting"
    assert '<option value="da" selected>' in form.text

    no_bokmal = admin.post(LIST, {**NEW, "key": "ny", "lang": "en"})
    assert no_bokmal.status_code == 422
    assert 'id="canned-lang-error"' in no_bokmal.text
    assert "Lag bokmålsversjonen først" in no_bokmal.text


# --- editing and deleting --------------------------------------------------------------------


def test_edit_shows_the_stored_text_and_saves_changes(admin: WebClient) -> None:
    form = admin.get(f"{LIST}/greeting/en")
    assert form.status_code == 200
    assert _field_value(form.text, "title") == "Greeting"
    assert "talking to the police online patrol in Oslo" in form.text  # the preview
    assert 'name="key"' not in form.text  # key and language stay

    lone_brace = admin.post(f"{LIST}/greeting/en", {"title": "Hi", "body": "Hi {district"})
    assert lone_brace.status_code == 303  # no variable: plain text
    bad = admin.post(f"{LIST}/greeting/en", {"title": "", "body": "Hi from {distrikt}"})
    assert bad.status_code == 422
    assert _textarea(bad.text) == "Hi from {distrikt}"
    assert "canned-title-error" in bad.text
    assert "canned-body-error" in bad.text

    saved = admin.post(f"{LIST}/greeting/en", {"title": "Hello", "body": "Hi in {district}"})
    assert saved.status_code == 303
    again = admin.get(f"{LIST}/greeting/en")
    assert _field_value(again.text, "title") == "Hello"
    assert admin.get(f"{LIST}/greeting/da").status_code == 404


def test_delete_a_language_version_after_confirming(admin: WebClient) -> None:
    confirm = admin.get(f"{LIST}/greeting/sv/delete")
    assert confirm.status_code == 200
    assert "Slette ferdig tekst?" in confirm.text
    assert f'action="{LIST}/greeting/sv/delete"' in confirm.text
    deleted = admin.post(f"{LIST}/greeting/sv/delete")
    assert deleted.status_code == 303
    assert "Den ferdige teksten er slettet." in admin.follow(deleted).text
    assert admin.get(f"{LIST}/greeting/sv").status_code == 404

    bokmal = admin.post(f"{LIST}/greeting/nb/delete")
    assert bokmal.status_code == 409
    assert "Bokmålsversjonen brukes når et språk mangler" in bokmal.text


def test_delete_a_whole_key_after_confirming(admin: WebClient) -> None:
    confirm = admin.get(f"{LIST}/closing/delete")
    assert confirm.status_code == 200
    assert "på alle språk" in confirm.text
    assert f'action="{LIST}/closing/delete"' in confirm.text
    assert admin.post(f"{LIST}/closing/delete").status_code == 303
    assert f"{LIST}/closing/" not in admin.get(LIST).text
    assert admin.get(f"{LIST}/closing/delete").status_code == 404


def test_changes_need_the_csrf_token(admin: WebClient) -> None:
    admin.get(LIST)
    refused = admin.post(f"{LIST}/closing/delete", {"csrf_token": "forged"})
    assert refused.status_code == 403
    assert admin.get(f"{LIST}/closing/nb").status_code == 200


# --- who --------------------------------------------------------------------------------------


def test_a_district_leader_sees_the_list_but_changes_nothing(
    login: Login, make_user: Callable[..., User]
) -> None:
    leader = login(make_user("leader", ["Oslo"]))
    assert "Se ferdige tekster" in leader.get("/admin/inbox").text
    page = leader.get(LIST)
    assert page.status_code == 200
    assert "Bare brukere med tilgang til hele landet kan endre dem." in page.text
    assert f'href="{LIST}/new' not in page.text
    assert f'href="{LIST}/greeting/' not in page.text
    for url in (f"{LIST}/new", f"{LIST}/greeting/nb", f"{LIST}/greeting/en/delete"):
        assert leader.get(url).status_code == 403, url
    assert leader.post(LIST, NEW).status_code == 403
    assert leader.post(f"{LIST}/greeting/en/delete").status_code == 403


def test_an_operator_may_not_open_the_pages(login: Login, make_user: Callable[..., User]) -> None:
    operator = login(make_user("operator", ["Oslo"]))
    assert operator.get(LIST).status_code == 403
    assert operator.post(LIST, NEW).status_code == 403


# --- into the reply box ------------------------------------------------------------------------


def test_a_canned_reply_made_in_the_admin_is_used_in_the_reply_box(
    admin: WebClient,
    login: Login,
    make_user: Callable[..., User],
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    assert admin.post(LIST, NEW).status_code == 303
    english = {**NEW, "lang": "en", "title": "Renew passport", "body": "Renew it in {district}."}
    assert admin.post(LIST, english).status_code == 303

    operator = make_user("operator", ["Oslo"])
    conversation = factory.receive(
        sessions, keyring, inbound("Hei", thread="pass"), analyse=False
    ).conversation_id
    web = login(operator)
    page = web.get(f"/inbox/{conversation}")
    assert '<option value="pass-fornyelse">Fornye pass</option>' in page.text
    box = web.get(f"/inbox/{conversation}/canned?key=pass-fornyelse")
    assert box.status_code == 200
    expected = f"Pass fornyer du hos politiet i Oslo. Hilsen {operator.display_name}"
    assert html.escape(expected) in box.text

    with transaction(sessions) as session:
        stored = session.get(Conversation, conversation)
        assert stored is not None
        stored.lang = "en"
    assert "Renew it in Oslo." in web.get(f"/inbox/{conversation}/canned?key=pass-fornyelse").text
