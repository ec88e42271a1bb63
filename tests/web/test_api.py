"""The JSON API under /api/v1: tokens, users, geography, audit and problem+json errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import utcnow
from stemme.identity.models import ApiToken, User
from tests.helpers import PASSWORD, api_headers
from tests.web.conftest import LoginAs, MakeUser, TokenFor, count_users, find_user


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    for field in ("type", "title", "status", "detail"):
        assert field in body, body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return body


@pytest.fixture
def admin(make_user: MakeUser) -> User:
    return make_user("admin", email="admin@test.stemme.no")


@pytest.fixture
def admin_auth(admin: User, token_for: TokenFor) -> dict[str, str]:
    return api_headers(token_for(admin))


# --- openapi and /me -----------------------------------------------------------------------


def test_openapi_document(api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "stemme API"
    for path in ("/me", "/users", "/users/{user_id}", "/audit", "/audit/verify", "/geo/districts"):
        assert path in doc["paths"], path


def test_me(api: httpx.Client, admin: User, admin_auth: dict[str, str]) -> None:
    response = api.get("/me", headers=admin_auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["user"]["email"] == admin.email
    assert body["user"]["role"] == "admin"
    assert body["user"]["national_scope"] is True
    assert body["user"]["districts"] == []
    assert "password_hash" not in body["user"]
    assert set(body["permissions"]) == {
        "view_dashboard",
        "manage_own_tokens",
        "manage_users",
        "grant_admin",
        "read_audit",
        "verify_audit",
        "view_inbox",
        "work_inbox",
        "read_originals",
        "manage_inbox",
    }


def test_me_for_an_operator(api: httpx.Client, make_user: MakeUser, token_for: TokenFor) -> None:
    operator = make_user("operator", ["Oslo"])
    body = api.get("/me", headers=api_headers(token_for(operator))).json()
    assert body["user"]["districts"] == ["Oslo"]
    assert sorted(body["permissions"]) == [
        "manage_own_tokens",
        "read_originals",
        "view_dashboard",
        "view_inbox",
        "work_inbox",
    ]


def test_token_scheme_is_case_insensitive(
    api: httpx.Client, admin: User, token_for: TokenFor
) -> None:
    raw = token_for(admin)
    assert api.get("/me", headers={"authorization": f"bearer {raw}"}).status_code == 200
    assert api.get("/me", headers={"authorization": f"BEARER  {raw}"}).status_code == 200


def test_create_own_token_via_api(api: httpx.Client, admin_auth: dict[str, str]) -> None:
    response = api.post("/me/tokens", json={"name": "ci"}, headers=admin_auth)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "ci"
    assert body["token"].startswith("stm_")
    assert api.get("/me", headers=api_headers(body["token"])).status_code == 200


# --- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token stm_x", "Bearer stm_unknown"],
)
def test_missing_or_invalid_token_is_401(api: httpx.Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    body = assert_problem(api.get("/me", headers=headers), 401)
    assert body["title"] == "Ikke innlogget"
    assert body["instance"] == "/api/v1/me"


def test_revoked_token_is_401(
    api: httpx.Client, admin: User, token_for: TokenFor, db: Session
) -> None:
    raw = token_for(admin)
    assert api.get("/me", headers=api_headers(raw)).status_code == 200
    db.execute(update(ApiToken).values(revoked_at=utcnow()))
    db.commit()
    body = assert_problem(api.get("/me", headers=api_headers(raw)), 401)
    assert body["detail"] == "Ugyldig eller utløpt API-nøkkel."


def test_expired_token_is_401(
    api: httpx.Client, admin: User, token_for: TokenFor, db: Session
) -> None:
    raw = token_for(admin)
    db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert_problem(api.get("/me", headers=api_headers(raw)), 401)


def test_token_of_disabled_user_is_401(
    api: httpx.Client, make_user: MakeUser, token_for: TokenFor, admin_auth: dict[str, str]
) -> None:
    operator = make_user("operator", ["Oslo"])
    raw = token_for(operator)
    assert api.post(f"/users/{operator.id}/disable", headers=admin_auth).status_code == 200
    assert_problem(api.get("/me", headers=api_headers(raw)), 401)
    assert api.post(f"/users/{operator.id}/enable", headers=admin_auth).status_code == 200
    assert api.get("/me", headers=api_headers(raw)).status_code == 200


def test_session_cookie_is_not_an_api_credential(
    api: httpx.Client, admin: User, login_as: LoginAs
) -> None:
    web = login_as(admin.email)
    cookie = f"stemme_session={web.cookies['stemme_session']}"
    assert_problem(api.get("/me", headers={"cookie": cookie}), 401)


# --- users -------------------------------------------------------------------------------


def new_user(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "ny@test.stemme.no",
        "role": "operator",
        "districts": ["Oslo"],
        "display_name": "Ny Bruker",
        "password": PASSWORD,
    }
    body.update(overrides)
    return body


def test_admin_user_lifecycle(
    api: httpx.Client, admin_auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    created = api.post("/users", json=new_user(email="Ny@Test.Stemme.no"), headers=admin_auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "ny@test.stemme.no"
    assert body["districts"] == ["Oslo"]
    assert body["national_scope"] is False
    assert body["is_active"] is True
    assert "password" not in body
    assert "password_hash" not in body
    user_id = body["id"]

    listed = api.get("/users", headers=admin_auth)
    assert listed.status_code == 200
    assert "ny@test.stemme.no" in [u["email"] for u in listed.json()]

    fetched = api.get(f"/users/{user_id}", headers=admin_auth)
    assert fetched.status_code == 200
    assert fetched.json()["email"] == "ny@test.stemme.no"

    updated = api.put(
        f"/users/{user_id}",
        json={"role": "analyst", "districts": ["Vest", "Agder"], "display_name": "Endret"},
        headers=admin_auth,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["role"] == "analyst"
    assert updated.json()["districts"] == ["Agder", "Vest"]
    assert updated.json()["display_name"] == "Endret"

    national = api.put(f"/users/{user_id}", json={"role": "analyst"}, headers=admin_auth)
    assert national.status_code == 200
    assert national.json()["national_scope"] is True
    assert national.json()["districts"] == []

    disabled = api.post(f"/users/{user_id}/disable", headers=admin_auth)
    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    enabled = api.post(f"/users/{user_id}/enable", headers=admin_auth)
    assert enabled.status_code == 200
    assert enabled.json()["is_active"] is True

    stored = find_user(sessions, "ny@test.stemme.no")
    assert stored is not None
    assert stored.is_active
    assert stored.role == "analyst"


def test_update_keeping_a_district(
    api: httpx.Client, admin_auth: dict[str, str], make_user: MakeUser
) -> None:
    target = make_user("operator", ["Oslo"])
    response = api.put(
        f"/users/{target.id}",
        json={"role": "operator", "districts": ["Oslo"], "display_name": "Nytt navn"},
        headers=admin_auth,
    )
    assert response.status_code == 200, f"PUT keeping Oslo answered {response.status_code}"
    assert response.json()["display_name"] == "Nytt navn"


def test_created_user_can_log_in(
    api: httpx.Client, admin_auth: dict[str, str], login_as: LoginAs
) -> None:
    assert api.post("/users", json=new_user(), headers=admin_auth).status_code == 201
    login_as("ny@test.stemme.no", PASSWORD)


def test_duplicate_email_is_409(
    api: httpx.Client,
    admin_auth: dict[str, str],
    make_user: MakeUser,
    sessions: sessionmaker[Session],
) -> None:
    make_user("analyst", ["Oslo"], email="finnes@test.stemme.no")
    before = count_users(sessions)
    body = assert_problem(
        api.post("/users", json=new_user(email="FINNES@test.stemme.no"), headers=admin_auth), 409
    )
    assert body["title"] == "Konflikt"
    assert "finnes@test.stemme.no" in body["detail"]
    assert count_users(sessions) == before


def test_malformed_json_is_422(
    api: httpx.Client, admin_auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    before = count_users(sessions)
    response = api.post(
        "/users",
        content=b'{"email": "x@test.stemme.no", ',
        headers={**admin_auth, "content-type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["title"] == "Ugyldige data"
    assert body["errors"]
    assert count_users(sessions) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "operator", "password": PASSWORD}, "email"),
        ({"email": "x@test.stemme.no", "password": PASSWORD}, "role"),
        ({"email": "x@test.stemme.no", "role": "operator"}, "password"),
        ({"email": "x@test.stemme.no", "role": "operator", "password": ""}, "password"),
        (
            {
                "email": "x@test.stemme.no",
                "role": "operator",
                "password": PASSWORD,
                "districts": "Oslo",
            },
            "districts",
        ),
        ([1, 2, 3], None),
    ],
    ids=[
        "no_email",
        "no_role",
        "no_password",
        "empty_password",
        "districts_not_a_list",
        "not_an_object",
    ],
)
def test_invalid_fields_are_422_with_errors(
    api: httpx.Client,
    admin_auth: dict[str, str],
    body: Any,
    field: str | None,
    sessions: sessionmaker[Session],
) -> None:
    before = count_users(sessions)
    problem = assert_problem(api.post("/users", json=body, headers=admin_auth), 422)
    assert problem["errors"]
    if field:
        assert any(field in e["loc"] for e in problem["errors"]), problem["errors"]
        for error in problem["errors"]:
            assert set(error) == {"loc", "msg"}  # the input (a password!) is not echoed
    assert PASSWORD not in str(problem)
    assert count_users(sessions) == before


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"email": "ikke-en-adresse"}, "Ugyldig e-postadresse"),
        ({"role": "superuser"}, "Ukjent rolle: superuser"),
        ({"password": "kort"}, "Passordet må ha minst 12 tegn."),
    ],
    ids=["email", "role", "password"],
)
def test_domain_validation_is_422(
    api: httpx.Client,
    admin_auth: dict[str, str],
    overrides: dict[str, Any],
    detail: str,
    sessions: sessionmaker[Session],
) -> None:
    before = count_users(sessions)
    body = assert_problem(api.post("/users", json=new_user(**overrides), headers=admin_auth), 422)
    assert detail in body["detail"]
    assert count_users(sessions) == before


def test_unknown_district_is_refused(
    api: httpx.Client, admin_auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    before = count_users(sessions)
    response = api.post("/users", json=new_user(districts=["Atlantis"]), headers=admin_auth)
    body = assert_problem(response, response.status_code)
    assert response.status_code in (404, 422)
    assert "Atlantis" in body["detail"]
    assert count_users(sessions) == before


def test_unknown_user_is_404(api: httpx.Client, admin_auth: dict[str, str]) -> None:
    body = assert_problem(api.get("/users/99999", headers=admin_auth), 404)
    assert body["detail"] == "Fant ingen bruker med id 99999."
    assert_problem(api.put("/users/99999", json={"role": "analyst"}, headers=admin_auth), 404)
    assert_problem(api.post("/users/99999/disable", headers=admin_auth), 404)
    assert_problem(api.post("/users/99999/enable", headers=admin_auth), 404)


def test_non_numeric_user_id_is_422(api: httpx.Client, admin_auth: dict[str, str]) -> None:
    assert_problem(api.get("/users/abc", headers=admin_auth), 422)


def test_admin_cannot_disable_self_or_change_own_role(
    api: httpx.Client, admin: User, admin_auth: dict[str, str]
) -> None:
    body = assert_problem(api.post(f"/users/{admin.id}/disable", headers=admin_auth), 422)
    assert body["detail"] == "Du kan ikke deaktivere deg selv."
    body = assert_problem(
        api.put(f"/users/{admin.id}", json={"role": "analyst"}, headers=admin_auth), 422
    )
    assert body["detail"] == "Du kan ikke endre din egen rolle."


@pytest.fixture
def leader_world(make_user: MakeUser, token_for: TokenFor) -> dict[str, Any]:
    leader = make_user("leader", ["Oslo"], email="leder@test.stemme.no")
    return {
        "auth": api_headers(token_for(leader)),
        "oslo": make_user("operator", ["Oslo"], email="oslo@test.stemme.no"),
        "vest": make_user("operator", ["Vest"], email="vest@test.stemme.no"),
        "national": make_user("analyst", email="landet@test.stemme.no"),
    }


def test_leader_lists_and_reads_only_own_district(
    api: httpx.Client, leader_world: dict[str, Any]
) -> None:
    auth = leader_world["auth"]
    emails = {u["email"] for u in api.get("/users", headers=auth).json()}
    assert emails == {"leder@test.stemme.no", "oslo@test.stemme.no"}
    assert api.get(f"/users/{leader_world['oslo'].id}", headers=auth).status_code == 200
    for outside in ("vest", "national"):
        user_id = leader_world[outside].id
        assert_problem(api.get(f"/users/{user_id}", headers=auth), 404)
        assert_problem(api.post(f"/users/{user_id}/disable", headers=auth), 404)
        assert_problem(
            api.put(
                f"/users/{user_id}", json={"role": "operator", "districts": ["Oslo"]}, headers=auth
            ),
            404,
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"role": "admin"},
        {"districts": ["Vest"]},
        {"districts": ["Oslo", "Vest"]},
        {"districts": []},
    ],
    ids=["admin_role", "other_district", "extra_district", "national"],
)
def test_leader_cannot_grant_beyond_own_scope(
    api: httpx.Client,
    leader_world: dict[str, Any],
    overrides: dict[str, Any],
    sessions: sessionmaker[Session],
) -> None:
    before = count_users(sessions)
    body = assert_problem(
        api.post("/users", json=new_user(**overrides), headers=leader_world["auth"]), 403
    )
    assert body["title"] == "Ingen tilgang"
    assert count_users(sessions) == before


def test_leader_creates_in_own_district(api: httpx.Client, leader_world: dict[str, Any]) -> None:
    response = api.post("/users", json=new_user(), headers=leader_world["auth"])
    assert response.status_code == 201
    assert response.json()["districts"] == ["Oslo"]


def test_leader_cannot_widen_by_update(
    api: httpx.Client, leader_world: dict[str, Any], sessions: sessionmaker[Session]
) -> None:
    user_id = leader_world["oslo"].id
    assert_problem(
        api.put(
            f"/users/{user_id}",
            json={"role": "leader", "districts": []},
            headers=leader_world["auth"],
        ),
        403,
    )
    stored = find_user(sessions, "oslo@test.stemme.no")
    assert stored is not None
    assert stored.role == "operator"
    assert not stored.national_scope


def test_leader_cannot_change_admins_or_users_beyond_own_scope(
    api: httpx.Client, make_user: MakeUser, token_for: TokenFor, sessions: sessionmaker[Session]
) -> None:
    leader = make_user("leader", ["Oslo"])
    auth = api_headers(token_for(leader))
    oslo_admin = make_user("admin", ["Oslo"], email="admin.oslo@test.stemme.no")
    both = make_user("analyst", ["Oslo", "Vest"], email="begge@test.stemme.no")
    for target in (oslo_admin, both):
        assert api.get(f"/users/{target.id}", headers=auth).status_code == 200
        body = {"role": "operator", "districts": ["Oslo"]}
        assert_problem(api.put(f"/users/{target.id}", json=body, headers=auth), 403)
        assert_problem(api.post(f"/users/{target.id}/disable", headers=auth), 403)
    admin_after = find_user(sessions, oslo_admin.email)
    both_after = find_user(sessions, both.email)
    assert admin_after is not None
    assert both_after is not None
    assert (admin_after.role, admin_after.is_active) == ("admin", True)
    assert (both_after.districts, both_after.is_active) == (("Oslo", "Vest"), True)


@pytest.mark.parametrize("role", ["operator", "analyst", "initiative_owner"])
def test_users_endpoints_are_403_for_other_roles(
    api: httpx.Client,
    make_user: MakeUser,
    token_for: TokenFor,
    role: str,
    sessions: sessionmaker[Session],
) -> None:
    caller = make_user(role, ["Oslo"])
    other = make_user("operator", ["Oslo"])
    auth = api_headers(token_for(caller))
    body = assert_problem(api.get("/users", headers=auth), 403)
    assert body["title"] == "Ingen tilgang"
    assert body["instance"] == "/api/v1/users"
    before = count_users(sessions)
    assert_problem(api.post("/users", json=new_user(), headers=auth), 403)
    assert count_users(sessions) == before
    assert_problem(api.get(f"/users/{other.id}", headers=auth), 403)
    assert_problem(api.put(f"/users/{other.id}", json={"role": "admin"}, headers=auth), 403)
    assert_problem(api.post(f"/users/{other.id}/disable", headers=auth), 403)
    assert_problem(api.get("/audit", headers=auth), 403)


def test_unknown_api_path_and_method(api: httpx.Client, admin_auth: dict[str, str]) -> None:
    assert_problem(api.get("/no-such-thing", headers=admin_auth), 404)
    assert_problem(api.delete("/users/1", headers=admin_auth), 405)


# --- geography ---------------------------------------------------------------------------


@pytest.fixture
def analyst_auth(make_user: MakeUser, token_for: TokenFor) -> dict[str, str]:
    return api_headers(token_for(make_user("analyst", ["Oslo"])))


def test_geo_districts(api: httpx.Client, analyst_auth: dict[str, str]) -> None:
    districts = api.get("/geo/districts", headers=analyst_auth).json()
    assert len(districts) == 12
    assert "Oslo" in districts
    assert "Finnmark" in districts


def test_geo_kommune_by_number(api: httpx.Client, analyst_auth: dict[str, str]) -> None:
    response = api.get("/geo/kommuner/0301", headers=analyst_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == "0301"
    assert body["name"] == "Oslo"
    assert body["district"] == "Oslo"
    assert body["population"] > 500_000


def test_geo_unknown_kommune_is_404(api: httpx.Client, analyst_auth: dict[str, str]) -> None:
    body = assert_problem(api.get("/geo/kommuner/9999", headers=analyst_auth), 404)
    assert "9999" in body["detail"]


def test_geo_search_kommuner(api: httpx.Client, analyst_auth: dict[str, str]) -> None:
    found = api.get("/geo/kommuner", params={"name": "tromso"}, headers=analyst_auth).json()
    assert [k["name"] for k in found] == ["Tromsø"]
    assert found[0]["district"] == "Troms"
    everything = api.get("/geo/kommuner", headers=analyst_auth).json()
    assert len(everything) > 300
    assert (
        api.get("/geo/kommuner", params={"name": "ingensteds"}, headers=analyst_auth).json() == []
    )


def test_geo_postcode(api: httpx.Client, analyst_auth: dict[str, str]) -> None:
    response = api.get("/geo/postcodes/0150", headers=analyst_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["postcode"] == "0150"
    assert body["place"].lower() == "oslo"
    assert body["kommune"]["number"] == "0301"
    assert_problem(api.get("/geo/postcodes/0000", headers=analyst_auth), 404)


def test_geo_needs_a_token(api: httpx.Client) -> None:
    assert_problem(api.get("/geo/districts"), 401)


# --- audit -------------------------------------------------------------------------------


def test_audit_events(api: httpx.Client, admin_auth: dict[str, str], make_user: MakeUser) -> None:
    make_user("operator", ["Oslo"])
    make_user("operator", ["Vest"])
    response = api.get("/audit", headers=admin_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] >= 4  # 3 users, 1 token
    assert body["page"] == 1
    assert body["pages"] == 1
    seqs = [e["seq"] for e in body["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert {"user.create", "token.create"} <= {e["action"] for e in body["items"]}
    oslo = api.get("/audit", params={"district": "Oslo"}, headers=admin_auth).json()
    assert [e["district"] for e in oslo["items"]] == ["Oslo"]
    only = api.get("/audit", params={"action": "token.create"}, headers=admin_auth).json()
    assert {e["action"] for e in only["items"]} == {"token.create"}
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert api.get("/audit", params={"since": future}, headers=admin_auth).json()["total"] == 0
    assert_problem(api.get("/audit", params={"page": 0}, headers=admin_auth), 422)
    assert_problem(api.get("/audit", params={"since": "i går"}, headers=admin_auth), 422)


def test_leader_audit_is_district_scoped(api: httpx.Client, leader_world: dict[str, Any]) -> None:
    body = api.get("/audit", headers=leader_world["auth"]).json()
    assert body["total"] >= 1
    assert {e["district"] for e in body["items"]} == {"Oslo"}


def test_audit_verify(
    api: httpx.Client, admin_auth: dict[str, str], leader_world: dict[str, Any]
) -> None:
    response = api.get("/audit/verify", headers=admin_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checked"] >= 5
    assert body["first_bad_seq"] is None
    assert_problem(api.get("/audit/verify", headers=leader_world["auth"]), 403)


def test_an_unexpected_api_error_is_problem_json(
    api: httpx.Client, make_user: MakeUser, token_for: TokenFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("admin")
    auth = api_headers(token_for(user))

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom with a secret value")

    monkeypatch.setattr("stemme.identity.service.list_users", explode)
    response = api.get("/users", headers=auth)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "secret" not in response.text
