"""Own account (API tokens, password) and the district switcher."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme.identity.models import ApiToken
from tests.helpers import PASSWORD, WebClient, api_headers
from tests.web.conftest import LoginAs, MakeUser, TokenFor

NEW_PASSWORD = "et helt nytt og langt passord"
TOKEN_RE = re.compile(r'<code id="new-token">(stm_[A-Za-z0-9_\-]+)</code>')
REVOKE_RE = re.compile(r'action="/account/tokens/(\d+)/revoke"')


# --- API tokens ------------------------------------------------------------------------------


def test_account_page(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    page = client.get("/account")
    assert page.status_code == 200
    assert "Min konto" in page.text
    assert user.email in page.text
    assert "Analytiker" in page.text
    assert "Du har ingen API-nøkler." in page.text


def test_token_created_in_the_ui_works_until_revoked(
    client: WebClient, make_user: MakeUser, api: httpx.Client, db: Session
) -> None:
    user = make_user("operator", ["Oslo"])
    client.login(user.email)
    client.get("/account")
    created = client.post("/account/tokens", {"name": "Mitt skript"})
    assert created.status_code == 200
    match = TOKEN_RE.search(created.text)
    assert match, created.text[:3000]
    raw = match.group(1)
    assert raw.startswith("stm_")
    assert len(raw) > 30
    assert "Ny nøkkel «Mitt skript». Kopier den nå:" in created.text
    # shown once: the account page afterwards has only the prefix
    later = client.get("/account")
    assert raw not in later.text
    assert raw[:10] in later.text
    assert "Mitt skript" in later.text
    # only the hash is stored
    stored = db.scalars(select(ApiToken)).one()
    assert stored.token_hash != raw
    assert raw not in (stored.token_hash, stored.prefix)

    me = api.get("/me", headers=api_headers(raw))
    assert me.status_code == 200
    assert me.json()["user"]["email"] == user.email

    ids = REVOKE_RE.findall(later.text)
    assert len(ids) == 1
    revoked = client.post(f"/account/tokens/{ids[0]}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account"
    page = client.follow(revoked)
    assert "API-nøkkelen er trukket tilbake." in page.text
    assert "Du har ingen API-nøkler." in page.text

    refused = api.get("/me", headers=api_headers(raw))
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_token_without_name_gets_a_default_name(client: WebClient, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    created = client.post("/account/tokens", {"name": "   "})
    assert created.status_code == 200
    assert "Ny nøkkel «API-nøkkel»" in created.text


def test_cannot_revoke_someone_elses_token(
    client: WebClient, make_user: MakeUser, token_for: TokenFor, api: httpx.Client, db: Session
) -> None:
    owner = make_user("analyst", ["Oslo"])
    raw = token_for(owner)
    token_id = db.scalars(select(ApiToken.id)).one()
    admin = make_user("admin")
    client.login(admin.email)
    response = client.post(f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert f"Fant ingen API-nøkkel med id {token_id}." in response.text
    assert api.get("/me", headers=api_headers(raw)).status_code == 200


def test_revoking_twice_is_a_404(
    client: WebClient, make_user: MakeUser, token_for: TokenFor
) -> None:
    user = make_user("analyst", ["Oslo"])
    token_for(user)
    client.login(user.email)
    ids = REVOKE_RE.findall(client.get("/account").text)
    assert client.post(f"/account/tokens/{ids[0]}/revoke").status_code == 303
    assert client.post(f"/account/tokens/{ids[0]}/revoke").status_code == 404


# --- password ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("feil nåværende passord", NEW_PASSWORD, NEW_PASSWORD, "Nåværende passord er feil."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "Passordene er ikke like."),
        (PASSWORD, "kort", "kort", "Passordet må ha minst 12 tegn."),
    ],
    ids=["wrong_current", "mismatch", "too_short"],
)
def test_change_password_errors(
    client: WebClient,
    login_as: LoginAs,
    make_user: MakeUser,
    current: str,
    new: str,
    repeat: str,
    message: str,
) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    client.get("/account")
    response = client.post("/account/password", {"current": current, "new": new, "repeat": repeat})
    assert response.status_code == 422
    assert message in response.text
    assert new not in response.text
    # the old password still works
    login_as(user.email, PASSWORD)


def test_change_password(client: WebClient, login_as: LoginAs, make_user: MakeUser) -> None:
    user = make_user("analyst", ["Oslo"])
    client.login(user.email)
    response = client.post(
        "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert "Passordet er endret." in client.follow(response).text
    login_as(user.email, NEW_PASSWORD)
    old = login_as()
    old.get("/login")
    refused = old.post("/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 401


# --- the district switcher ------------------------------------------------------------------


def listed_emails(page_html: str) -> set[str]:
    return set(re.findall(r'<a class="ds-link" href="/admin/users/\d+">([^<]+)</a>', page_html))


@pytest.fixture
def staff(make_user: MakeUser) -> dict[str, str]:
    return {
        "oslo": make_user("operator", ["Oslo"], email="oslo@test.stemme.no").email,
        "vest": make_user("operator", ["Vest"], email="vest@test.stemme.no").email,
        "both": make_user("analyst", ["Oslo", "Vest"], email="begge@test.stemme.no").email,
        "national": make_user("analyst", email="landet@test.stemme.no").email,
    }


def test_admin_narrows_the_view_to_one_district(
    client: WebClient, make_user: MakeUser, staff: dict[str, str]
) -> None:
    admin = make_user("admin", email="admin@test.stemme.no")
    client.login(admin.email)
    overview = client.get("/")
    assert 'action="/district"' in overview.text
    assert listed_emails(client.get("/admin/users").text) == {
        "admin@test.stemme.no",
        *staff.values(),
    }
    switched = client.post("/district", {"district": "Oslo", "next": "/admin/users"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/admin/users"
    page = client.follow(switched)
    assert "Visningen er byttet." in page.text
    assert listed_emails(page.text) == {"oslo@test.stemme.no", "begge@test.stemme.no"}
    assert '<option value="Oslo" selected' in page.text
    assert "Oslo" in client.get("/").text
    # the audit log follows the switch too
    audit_page = client.get("/admin/audit")
    assert "Vest" not in audit_page.text.split('<section id="audit-results"')[1]
    # back to everything
    client.post("/district", {"district": "", "next": "/admin/users"})
    assert len(listed_emails(client.get("/admin/users").text)) == 5


def test_district_switch_accepts_loose_names(client: WebClient, make_user: MakeUser, staff) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.post("/district", {"district": "vest politidistrikt", "next": "/admin/users"})
    assert response.status_code == 303
    assert listed_emails(client.get("/admin/users").text) == {
        "vest@test.stemme.no",
        "begge@test.stemme.no",
    }


def test_district_outside_scope_is_403(client: WebClient, make_user: MakeUser, staff) -> None:
    leader = make_user("leader", ["Oslo", "Vest"])
    client.login(leader.email)
    page = client.get("/")
    assert 'action="/district"' in page.text
    assert '<option value="Agder"' not in page.text
    response = client.post("/district", {"district": "Agder", "next": "/"})
    assert response.status_code == 403
    assert "Du har ikke tilgang til data fra dette politidistriktet." in response.text
    # the view is unchanged
    assert listed_emails(client.get("/admin/users").text) >= {
        "oslo@test.stemme.no",
        "vest@test.stemme.no",
    }


def test_leader_with_two_districts_narrows_to_one(
    client: WebClient, make_user: MakeUser, staff
) -> None:
    leader = make_user("leader", ["Oslo", "Vest"], email="leder@test.stemme.no")
    client.login(leader.email)
    assert client.post("/district", {"district": "Vest", "next": "/"}).status_code == 303
    assert listed_emails(client.get("/admin/users").text) == {
        "vest@test.stemme.no",
        "begge@test.stemme.no",
        "leder@test.stemme.no",
    }


def test_unknown_district_is_refused(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.post("/district", {"district": "Atlantis", "next": "/"})
    assert response.status_code in (404, 422)
    assert "Atlantis" in response.text


def test_single_district_user_has_no_switcher(client: WebClient, make_user: MakeUser) -> None:
    operator = make_user("operator", ["Oslo"])
    client.login(operator.email)
    assert 'action="/district"' not in client.get("/").text
    response = client.post("/district", {"district": "Vest", "next": "/"})
    assert response.status_code == 403
