"""Login, sessions, CSRF, logout, the `next` parameter and the language switch."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.db import utcnow
from stemme.identity.models import AuditEvent, User, WebSession
from stemme.web import i18n
from tests.helpers import PASSWORD, WebClient
from tests.web.conftest import LoginAs, MakeUser, count_users

LOGIN_ERROR = "Feil e-post eller passord."
LOCKED = "Kontoen er midlertidig låst"
EXPIRED = "Økten din er utløpt. Logg inn på nytt."
CSRF_ERROR = "Skjemaet er utløpt eller mangler sikkerhetsnøkkel"


def set_cookie_header(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return str(headers[0])


# --- the login page ------------------------------------------------------------------------


def test_login_page_renders_in_bokmal(client: WebClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="nb"' in page.text
    assert "Logg inn" in page.text
    assert 'name="csrf_token"' in page.text
    assert 'name="email"' in page.text
    assert 'name="password"' in page.text


def test_login_sets_a_hardened_session_cookie(
    client: WebClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    response = client.post("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = set_cookie_header(response, "stemme_session")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "secure" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    # the cookie holds a random value; the table only its digest
    raw = cookie.split(";")[0].split("=", 1)[1]
    stored = db.scalars(select(WebSession.id)).all()
    assert len(stored) == 1
    assert raw not in stored
    overview = client.get("/")
    assert overview.status_code == 200
    assert "Oversikt" in overview.text


def test_login_is_case_insensitive_on_email(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"], email="kari.nordmann@test.stemme.no")
    client.get("/login")
    response = client.post(
        "/login", {"email": "  Kari.Nordmann@Test.Stemme.NO ", "password": PASSWORD}
    )
    assert response.status_code == 303
    assert "stemme_session" in client.cookies
    assert user.email == "kari.nordmann@test.stemme.no"


@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "empty"])
def test_failed_login_is_a_generic_401(
    client: WebClient, make_user: MakeUser, db: Session, case: str
) -> None:
    user = make_user("analyst", ["Oslo"])
    form = {
        "wrong_password": {"email": user.email, "password": "feil passord her ja"},
        "unknown_user": {"email": "nobody@test.stemme.no", "password": PASSWORD},
        "empty": {"email": "", "password": ""},
    }[case]
    client.get("/login")
    response = client.post("/login", form)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert LOGIN_ERROR in response.text
    assert not [h for h in response.headers.get_list("set-cookie") if "stemme_session" in h]
    assert "stemme_session" not in client.cookies
    assert db.scalars(select(WebSession)).all() == []
    actions = db.scalars(select(AuditEvent.action)).all()
    assert "login.failed" in actions
    assert "login.succeeded" not in actions


def test_failed_login_keeps_the_email_but_never_the_password(
    client: WebClient, make_user: MakeUser
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    response = client.post("/login", {"email": user.email, "password": "hemmelig-feil-passord"})
    assert response.status_code == 401
    assert f'value="{user.email}"' in response.text
    assert "hemmelig-feil-passord" not in response.text


def test_lockout_after_too_many_failures(
    client: WebClient, make_user: MakeUser, settings: Settings, db: Session
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    for attempt in range(settings.login_max_failures):
        response = client.post(
            "/login", {"email": user.email, "password": f"galt passord {attempt}"}
        )
        assert response.status_code == 401, attempt
        assert LOGIN_ERROR in response.text
    # locked now: even the right password is refused, with the lock message
    response = client.post("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert LOCKED in response.text
    assert "stemme_session" not in client.cookies
    locked = db.scalar(select(User).where(User.id == user.id))
    assert locked is not None
    assert locked.locked_until is not None
    assert "login.locked" in db.scalars(select(AuditEvent.action)).all()


def test_lockout_expires(
    client: WebClient, make_user: MakeUser, settings: Settings, db: Session
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    for attempt in range(settings.login_max_failures):
        client.post("/login", {"email": user.email, "password": f"galt passord {attempt}"})
    db.execute(
        update(User).where(User.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    response = client.post("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 303


# --- CSRF --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_post_without_valid_csrf_token_is_refused(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session], token: str | None
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    before = count_users(sessions)
    form = {
        "email": "csrf-victim@test.stemme.no",
        "role": "operator",
        "districts": ["Oslo"],
        "password": PASSWORD,
        "password_repeat": PASSWORD,
    }
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/admin/users", form, csrf=False)
    assert response.status_code == 403
    assert CSRF_ERROR in response.text
    assert count_users(sessions) == before


def test_csrf_token_of_another_browser_is_refused(
    client: WebClient, login_as: LoginAs, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    other = login_as()
    other.get("/login")
    assert other.csrf is not None
    assert other.csrf != client.csrf
    before = count_users(sessions)
    form = {
        "email": "csrf-victim@test.stemme.no",
        "role": "operator",
        "districts": ["Oslo"],
        "password": PASSWORD,
        "password_repeat": PASSWORD,
        "csrf_token": other.csrf,
    }
    response = client.post("/admin/users", form, csrf=False)
    assert response.status_code == 403
    assert count_users(sessions) == before


def test_csrf_header_is_accepted_for_htmx(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    form = {
        "email": "via-header@test.stemme.no",
        "role": "operator",
        "districts": ["Oslo"],
        "password": PASSWORD,
        "password_repeat": PASSWORD,
    }
    wrong = client.post("/admin/users", form, csrf=False, headers={"x-csrf-token": "nope"})
    assert wrong.status_code == 403
    assert client.csrf is not None
    right = client.post("/admin/users", form, csrf=False, headers={"x-csrf-token": client.csrf})
    assert right.status_code == 303


def test_login_itself_needs_a_csrf_token(
    client: WebClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    response = client.post("/login", {"email": user.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 403
    assert "stemme_session" not in client.cookies
    assert db.scalars(select(WebSession)).all() == []


def test_csrf_cookie_is_hardened(client: WebClient) -> None:
    page = client.get("/login")
    cookie = set_cookie_header(page, "stemme_csrf")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "secure" in attributes
    assert "samesite=lax" in attributes
    # the page carries the signed token, not the cookie value itself
    assert client.cookies["stemme_csrf"] not in page.text


# --- sessions --------------------------------------------------------------------------------


def test_pages_need_a_login(client: WebClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"
    login = client.follow(response)
    assert login.status_code == 200
    assert 'name="next" value="/admin/users"' in login.text
    assert EXPIRED not in login.text


def test_login_returns_to_next(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.get("/login?next=/admin/audit")
    response = client.post(
        "/login", {"email": admin.email, "password": PASSWORD, "next": "/admin/audit"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/audit"
    assert client.follow(response).status_code == 200


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example", "javascript:x"],
)
def test_next_only_follows_local_paths(client: WebClient, make_user: MakeUser, target: str) -> None:
    user = make_user("analyst", ["Oslo"])
    page = client.get("/login", params={"next": target})
    assert page.status_code == 200
    assert 'name="next" value="/"' in page.text
    response = client.post("/login", {"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/ /evil.example"])
def test_next_with_whitespace_does_not_become_protocol_relative(
    client: WebClient, make_user: MakeUser, target: str
) -> None:
    """Browsers drop tabs and newlines from URLs, so "/<tab>/evil" must not reach the
    Location header as such."""
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    response = client.post("/login", {"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 303
    location = response.headers["location"]
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r ")
    assert location.startswith("/")
    assert not cleaned.startswith("//")
    assert not cleaned.startswith("/\\")


def test_logged_in_user_visiting_login_is_sent_on(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    response = client.get("/login?next=/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    evil = client.get("/login?next=//evil.example")
    assert evil.headers["location"] == "/"


def test_expired_session_redirects_with_message(
    client: WebClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user("leader", ["Oslo"])
    client.login(user.email)
    db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    response = client.get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users&utlopt=1"
    login = client.follow(response)
    assert login.status_code == 200
    assert EXPIRED in login.text
    assert 'name="next" value="/admin/users"' in login.text


def test_idle_session_expires(
    client: WebClient, make_user: MakeUser, db: Session, settings: Settings
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    idle = timedelta(minutes=settings.session_idle_minutes + 1)
    db.execute(update(WebSession).values(last_seen_at=utcnow() - idle))
    db.commit()
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].endswith("utlopt=1")


def test_unknown_session_cookie_counts_as_expired(login_as: LoginAs) -> None:
    web = login_as()
    web.cookies["stemme_session"] = "forged-session-value"
    response = web.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/&utlopt=1"


def test_htmx_request_without_session_gets_401_with_hx_redirect(client: WebClient) -> None:
    response = client.get("/admin/audit", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/admin/audit"


def test_htmx_request_with_expired_session(
    client: WebClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user("leader", ["Oslo"])
    client.login(user.email)
    db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    response = client.get("/admin/audit", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/admin/audit&utlopt=1"


def test_logout_ends_the_session(
    client: WebClient, make_user: MakeUser, db: Session, login_as: LoginAs
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    old_cookie = client.cookies["stemme_session"]
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "stemme_session" not in client.cookies
    page = client.follow(response)
    assert "Du er logget ut." in page.text
    assert db.scalars(select(WebSession)).all() == []
    # the old cookie, replayed, no longer works
    replay = login_as()
    replay.cookies["stemme_session"] = old_cookie
    again = replay.get("/")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")
    assert "logout" in db.scalars(select(AuditEvent.action)).all()


def test_logout_ends_only_that_session(login_as: LoginAs, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    first = login_as(user.email)
    second = login_as(user.email)
    assert first.post("/logout").status_code == 303
    assert second.get("/").status_code == 200
    assert first.get("/").status_code == 303


def test_a_new_login_gets_a_new_session_id(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    first = client.cookies["stemme_session"]
    client.get("/login")
    response = client.post("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert client.cookies["stemme_session"] != first


# --- language --------------------------------------------------------------------------------


def translated(language: str, message: str) -> str:
    return i18n.translations(language).gettext(message)


@pytest.mark.parametrize("language", ["nn", "en"])
def test_language_switch_sets_a_cookie(client: WebClient, language: str) -> None:
    client.get("/login")
    response = client.post("/language", {"language": language, "next": "/login"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    cookie = set_cookie_header(response, "stemme_lang")
    assert cookie.startswith(f"stemme_lang={language};")
    assert "samesite=lax" in cookie.lower()
    page = client.get("/login")
    assert f'<html lang="{language}"' in page.text
    for message in ("Logg inn", "Hopp til hovedinnholdet", "Passord"):
        expected = translated(language, message)
        assert expected in page.text
        if expected != message:  # translated by now: the bokmål text must be gone
            assert message not in page.text or message in expected


def test_english_words_on_login_page(client: WebClient) -> None:
    client.get("/login")
    client.post("/language", {"language": "en", "next": "/login"})
    page = client.get("/login")
    if translated("en", "Logg inn") != "Logg inn":
        assert "Log in" in page.text
    if translated("en", "Passord") != "Passord":
        assert "Password" in page.text


def test_nynorsk_error_message(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.get("/login")
    client.post("/language", {"language": "nn", "next": "/login"})
    response = client.post("/login", {"email": user.email, "password": "feil passord her ja"})
    assert response.status_code == 401
    assert '<html lang="nn"' in response.text
    assert translated("nn", LOGIN_ERROR) in response.text


def test_unknown_language_is_ignored(client: WebClient) -> None:
    client.get("/login")
    response = client.post("/language", {"language": "xx", "next": "/login"})
    assert response.status_code == 303
    assert "stemme_lang" not in client.cookies
    assert '<html lang="nb"' in client.get("/login").text


def test_language_switch_does_not_follow_foreign_next(client: WebClient) -> None:
    client.get("/login")
    response = client.post("/language", {"language": "en", "next": "//evil.example"})
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nn-NO,nn;q=0.9", "nn"),
        ("nb-NO", "nb"),
        ("no", "nb"),
        ("de-DE,fr;q=0.8", "nb"),
    ],
)
def test_accept_language(client: WebClient, accept: str, language: str) -> None:
    page = client.get("/login", headers={"accept-language": accept})
    assert f'<html lang="{language}"' in page.text
    if language == "en" and translated("en", "Logg inn") != "Logg inn":
        assert "Log in" in page.text


def test_language_cookie_beats_accept_language(client: WebClient) -> None:
    client.get("/login")
    client.post("/language", {"language": "nn", "next": "/login"})
    page = client.get("/login", headers={"accept-language": "en"})
    assert '<html lang="nn"' in page.text


def test_login_redirect_keeps_the_query_string(client: WebClient) -> None:
    response = client.get("/admin/audit?action=user.create&page=2")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/login?next=/admin/audit%3Faction%3Duser.create%26page%3D2"
    )
