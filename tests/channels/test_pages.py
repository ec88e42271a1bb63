"""Meta pages managed in the admin UI: stored encrypted, scoped, merged over the settings,
and used by the webhook (district routing) and the Send API (token)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.channels.meta import MetaSender
from stemme.channels.pages import ChannelPage, PageDirectory, get_page, list_pages, save_page
from stemme.config import Settings
from stemme.db import transaction, utcnow
from stemme.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from stemme.identity.access import Principal, Role, command_line_principal
from stemme.privacy.crypto import Keyring
from tests.channels.fake_graph import FakeGraph
from tests.conftest import LiveServer
from tests.helpers import WebClient


def leader(*districts: str) -> Principal:
    return Principal(1, "leder", Role.LEADER, frozenset(districts))


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return Keyring.from_setting(settings.encryption_keys)


def _save(session: Session, principal: Principal, keyring: Keyring, **changes: Any) -> None:
    values: dict[str, Any] = {
        "page_id": "111",
        "platform": "messenger",
        "name": "Politiet i Oslo",
        "district": "Oslo",
        "token": "secret-token",
    }
    save_page(session, principal, keyring, **(values | changes))


def test_a_saved_page_keeps_its_token_only_encrypted(
    sessions: sessionmaker[Session], keyring: Keyring, settings: Settings
) -> None:
    with transaction(sessions) as session:
        _save(session, command_line_principal(), keyring)
    with sessions() as session:
        stored = session.scalars(select(ChannelPage)).one()
        assert b"secret-token" not in stored.token_encrypted
        directory = PageDirectory(sessions, keyring, settings)
        assert directory().tokens["111"] == "secret-token"
        assert directory().districts["111"] == "Oslo"


def test_an_empty_token_keeps_the_stored_one_and_pages_override_settings(
    sessions: sessionmaker[Session], keyring: Keyring, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={"meta_page_tokens": {"111": "from-settings", "222": "other"},
                "meta_page_districts": {"111": "Vest"}}
    )  # fmt: skip
    with transaction(sessions) as session:
        _save(session, command_line_principal(), keyring)
        _save(session, command_line_principal(), keyring, token="", name="Nytt navn")
    directory = PageDirectory(sessions, keyring, configured)
    assert directory().tokens == {"111": "secret-token", "222": "other"}
    assert directory().districts == {"111": "Oslo"}
    with sessions() as session:
        assert get_page(session, command_line_principal(), "111").name == "Nytt navn"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"page_id": "abc"}, "sifre"),
        ({"platform": "tiktok"}, "Messenger eller Instagram"),
        ({"name": " "}, "navn"),
        ({"district": "Atlantis"}, "Ukjent politidistrikt"),
        ({"token": ""}, "tilgangsnøkkel"),
    ],
)
def test_bad_page_input_is_refused(
    sessions: sessionmaker[Session], keyring: Keyring, changes: dict[str, Any], message: str
) -> None:
    with sessions() as session, pytest.raises(InvalidInputError) as caught:
        _save(session, command_line_principal(), keyring, **changes)
    assert message in caught.value.render()


def test_a_leader_manages_only_pages_of_their_district(
    sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    with transaction(sessions) as session:
        _save(session, command_line_principal(), keyring, page_id="1", district="Vest")
        _save(session, leader("Oslo"), keyring, page_id="2", district="Oslo")
        with pytest.raises(PermissionDeniedError):
            _save(session, leader("Oslo"), keyring, page_id="1", district="Oslo")
        with pytest.raises(PermissionDeniedError):
            _save(session, leader("Oslo"), keyring, page_id="3", district=None)
        assert [p.page_id for p in list_pages(session, leader("Oslo"))] == ["2"]
        with pytest.raises(NotFoundError):
            get_page(session, leader("Oslo"), "1")
        operator = Principal(2, "op", Role.OPERATOR, frozenset({"Oslo"}))
        with pytest.raises(PermissionDeniedError):
            list_pages(session, operator)


def test_the_send_api_uses_the_token_of_the_admin_ui(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    settings: Settings,
    fake_graph: tuple[FakeGraph, str],
) -> None:
    fake, base = fake_graph
    with transaction(sessions) as session:
        _save(session, command_line_principal(), keyring)
    directory = PageDirectory(sessions, keyring, settings)
    sender = MetaSender(
        settings.model_copy(update={"meta_graph_url": base}), pages=directory, sleep=lambda s: None
    )
    with sender:
        result = sender.send_text("111", "PSID", "Hei", utcnow())
    assert result.ok
    assert fake.requests[-1].query["access_token"] == "secret-token"


def test_admin_page_form_saves_a_page_and_shows_errors(
    live_server: LiveServer, make_user: Any, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    with WebClient(live_server.url) as web:
        web.login(admin.email)
        form = {"page_id": "777", "platform": "instagram", "name": "Politiet i Troms",
                "district": "Troms", "token": "tok-777", "active": "1"}  # fmt: skip
        assert web.post("/admin/inbox/pages", form).status_code == 303
        page = web.get("/admin/inbox")
        assert "Politiet i Troms" in page.text
        assert "tok-777" not in page.text
        bad = web.post("/admin/inbox/pages", {**form, "page_id": "x"})
        assert bad.status_code == 422
        assert "sifre" in bad.text
    with sessions() as session:
        assert session.get(ChannelPage, "777") is not None
