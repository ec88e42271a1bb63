"""User administration pages: create, validate, edit, disable/enable, district scope."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.identity.models import AuditEvent, User
from tests.helpers import PASSWORD, WebClient
from tests.web.conftest import LoginAs, MakeUser, count_users, find_user

NEW_PASSWORD = "et langt og godt startpassord"


def user_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "email": "ny.bruker@test.stemme.no",
        "display_name": "Ny Bruker",
        "role": "operator",
        "districts": ["Oslo"],
        "password": NEW_PASSWORD,
        "password_repeat": NEW_PASSWORD,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def listed_emails(page_html: str) -> set[str]:
    return set(re.findall(r'<a class="ds-link" href="/admin/users/\d+">([^<]+)</a>', page_html))


# --- create ------------------------------------------------------------------------------


def test_admin_creates_a_user_who_can_then_log_in(
    client: WebClient, login_as: LoginAs, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    form_page = client.get("/admin/users/new")
    assert form_page.status_code == 200
    assert "Ny bruker" in form_page.text
    response = client.post(
        "/admin/users", user_form(email="Kari@Test.Stemme.no", districts=["Oslo", "Vest"])
    )
    assert response.status_code == 303, response.text[:2000]
    created = find_user(sessions, "kari@test.stemme.no")
    assert created is not None
    assert response.headers["location"] == f"/admin/users/{created.id}"
    assert created.role == "operator"
    assert created.districts == ("Oslo", "Vest")
    assert created.display_name == "Ny Bruker"
    assert not created.national_scope
    assert created.is_active
    page = client.follow(response)
    assert page.status_code == 200
    assert "Brukeren er opprettet." in page.text
    assert "kari@test.stemme.no" in page.text
    # the flash is shown once
    assert "Brukeren er opprettet." not in client.get(f"/admin/users/{created.id}").text
    assert "kari@test.stemme.no" in listed_emails(client.get("/admin/users").text)
    # the new user can log in with the start password
    newcomer = login_as("kari@test.stemme.no", NEW_PASSWORD)
    overview = newcomer.get("/")
    assert overview.status_code == 200
    assert "Operatør" in overview.text


def test_admin_creates_a_national_user(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.post(
        "/admin/users",
        user_form(email="landet@test.stemme.no", role="analyst", districts=None, national="1"),
    )
    assert response.status_code == 303
    created = find_user(sessions, "landet@test.stemme.no")
    assert created is not None
    assert created.national_scope
    assert created.districts == ()


def test_admin_may_grant_the_admin_role(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    assert 'value="admin"' in client.get("/admin/users/new").text
    response = client.post("/admin/users", user_form(email="sjef@test.stemme.no", role="admin"))
    assert response.status_code == 303
    created = find_user(sessions, "sjef@test.stemme.no")
    assert created is not None
    assert created.role == "admin"


def test_user_creation_is_audited(client: WebClient, make_user: MakeUser, db: Session) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    assert client.post("/admin/users", user_form()).status_code == 303
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.create").order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None
    assert event.actor == admin.email
    assert event.district == "Oslo"
    assert NEW_PASSWORD not in str(event.details)


INVALID_FORMS = {
    "missing_email": (user_form(email=""), "Skriv inn e-postadressen."),
    "invalid_email": (user_form(email="ikke-en-adresse"), "Ugyldig e-postadresse"),
    "missing_role": (user_form(role=""), "Velg en rolle."),
    "unknown_role": (user_form(role="superuser"), "Ukjent rolle: superuser"),
    "no_district": (user_form(districts=None), "Velg minst ett politidistrikt, eller hele landet."),
    "unknown_district": (user_form(districts=["Atlantis"]), "Atlantis"),
    "passwords_differ": (
        user_form(password_repeat="et annet langt passord"),
        "Passordene er ikke like.",
    ),
    "short_password": (
        user_form(password="kort", password_repeat="kort"),
        "Passordet må ha minst 12 tegn.",
    ),
    "simple_password": (
        user_form(password="a" * 20, password_repeat="a" * 20),
        "Passordet er for enkelt",
    ),
    "duplicate_email": (
        user_form(email="finnes@test.stemme.no"),
        "Det finnes allerede en bruker med e-post finnes@test.stemme.no.",
    ),
    "duplicate_email_other_case": (
        user_form(email="FINNES@test.stemme.no"),
        "Det finnes allerede en bruker med e-post finnes@test.stemme.no.",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_FORMS))
def test_invalid_user_form_is_a_422_and_creates_nothing(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session], case: str
) -> None:
    form, message = INVALID_FORMS[case]
    admin = make_user("admin")
    make_user("analyst", ["Oslo"], email="finnes@test.stemme.no")
    client.login(admin.email)
    client.get("/admin/users/new")
    before = count_users(sessions)
    response = client.post("/admin/users", form)
    assert response.status_code == 422, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert "Skjemaet har feil" in response.text
    assert message in response.text
    assert count_users(sessions) == before
    # what was typed is kept, except the password
    if form.get("email"):
        assert f'value="{form["email"]}"' in response.text
    assert NEW_PASSWORD not in response.text


# --- edit, disable, enable -------------------------------------------------------------------


def test_admin_edits_a_user(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    target = make_user("operator", ["Oslo"])
    client.login(admin.email)
    page = client.get(f"/admin/users/{target.id}")
    assert page.status_code == 200
    assert target.email in page.text
    assert "Lagre endringer" in page.text
    response = client.post(
        f"/admin/users/{target.id}",
        {"display_name": "Endret Navn", "role": "analyst", "districts": ["Vest", "Agder"]},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/users/{target.id}"
    assert "Brukeren er oppdatert." in client.follow(response).text
    changed = find_user(sessions, target.email)
    assert changed is not None
    assert changed.display_name == "Endret Navn"
    assert changed.role == "analyst"
    assert changed.districts == ("Agder", "Vest")
    assert changed.email == target.email  # e-mail is not editable


@pytest.mark.parametrize(
    ("before", "after"),
    [(["Oslo"], ["Oslo"]), (["Oslo"], ["Oslo", "Vest"]), (["Oslo", "Vest"], ["Vest"])],
    ids=["same", "add_one", "drop_one"],
)
def test_edit_keeping_a_district(
    client: WebClient,
    make_user: MakeUser,
    sessions: sessionmaker[Session],
    before: list[str],
    after: list[str],
) -> None:
    """Editing a user without changing every district (the common case: a new name/role)."""
    admin = make_user("admin")
    target = make_user("operator", before)
    client.login(admin.email)
    response = client.post(
        f"/admin/users/{target.id}",
        {"display_name": "Nytt Navn", "role": "analyst", "districts": after},
    )
    assert response.status_code == 303, f"edit answered {response.status_code}"
    changed = find_user(sessions, target.email)
    assert changed is not None
    assert changed.display_name == "Nytt Navn"
    assert changed.role == "analyst"
    assert changed.districts == tuple(sorted(after))


def test_edit_without_districts_is_a_422(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    target = make_user("operator", ["Oslo"])
    client.login(admin.email)
    response = client.post(
        f"/admin/users/{target.id}", {"display_name": "X", "role": "analyst", "districts": []}
    )
    assert response.status_code == 422
    assert "Velg minst ett politidistrikt, eller hele landet." in response.text
    unchanged = find_user(sessions, target.email)
    assert unchanged is not None
    assert unchanged.role == "operator"
    assert unchanged.districts == ("Oslo",)


def test_admin_cannot_change_own_role(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.post(
        f"/admin/users/{admin.id}", {"display_name": "Meg", "role": "analyst", "national": "1"}
    )
    assert response.status_code == 422
    assert "Du kan ikke endre din egen rolle." in response.text
    me = find_user(sessions, admin.email)
    assert me is not None
    assert me.role == "admin"


def test_unknown_user_id_is_a_404_page(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.get("/admin/users/99999")
    assert response.status_code == 404
    assert "Fant ingen bruker med id 99999." in response.text
    assert (
        client.post("/admin/users/99999", {"role": "analyst", "national": "1"}).status_code == 404
    )
    assert client.post("/admin/users/99999/active", {"active": "0"}).status_code == 404


def test_non_numeric_user_id_is_a_422_page(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.get("/admin/users/abc")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Ugyldige data" in response.text


def test_disable_and_enable_a_user(
    client: WebClient, login_as: LoginAs, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    target = make_user("operator", ["Oslo"])
    client.login(admin.email)
    victim = login_as(target.email)
    assert victim.get("/").status_code == 200

    response = client.post(f"/admin/users/{target.id}/active", {"active": "0"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/users/{target.id}"
    page = client.follow(response)
    assert "Brukeren er deaktivert." in page.text
    assert "Brukeren er deaktivert og kan ikke logge inn." in page.text
    assert "Aktiver bruker" in page.text
    disabled = find_user(sessions, target.email)
    assert disabled is not None
    assert not disabled.is_active
    assert disabled.disabled_at is not None
    # the running session is gone and a new login fails like a wrong password
    assert victim.get("/").status_code == 303
    fresh = login_as()
    fresh.get("/login")
    refused = fresh.post("/login", {"email": target.email, "password": PASSWORD})
    assert refused.status_code == 401
    assert "Feil e-post eller passord." in refused.text
    assert "Deaktivert" in client.get("/admin/users").text

    response = client.post(f"/admin/users/{target.id}/active", {"active": "1"})
    assert response.status_code == 303
    assert "Brukeren er aktivert igjen." in client.follow(response).text
    enabled = find_user(sessions, target.email)
    assert enabled is not None
    assert enabled.is_active
    assert enabled.disabled_at is None
    login_as(target.email)  # asserts the 303


def test_admin_cannot_disable_self(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    assert "Deaktiver bruker" not in client.get(f"/admin/users/{admin.id}").text
    response = client.post(f"/admin/users/{admin.id}/active", {"active": "0"})
    assert response.status_code == 422
    assert "Du kan ikke deaktivere deg selv." in response.text
    me = find_user(sessions, admin.email)
    assert me is not None
    assert me.is_active
    assert client.get("/").status_code == 200


# --- password reset by an administrator -----------------------------------------------------

RESET_PASSWORD = "et nytt passord fra admin"


def test_admin_resets_a_password(
    client: WebClient, login_as: LoginAs, make_user: MakeUser, db: Session
) -> None:
    admin = make_user("admin")
    target = make_user("operator", ["Oslo"])
    client.login(admin.email)
    page = client.get(f"/admin/users/{target.id}")
    assert f'action="/admin/users/{target.id}/password"' in page.text
    response = client.post(
        f"/admin/users/{target.id}/password",
        {"password": RESET_PASSWORD, "password_repeat": RESET_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/users/{target.id}"
    assert "Nytt passord er satt." in client.follow(response).text
    login_as(target.email, RESET_PASSWORD)
    old = login_as()
    old.get("/login")
    assert old.post("/login", {"email": target.email, "password": PASSWORD}).status_code == 401
    assert "user.password_reset" in db.scalars(select(AuditEvent.action)).all()


@pytest.mark.parametrize(
    ("password", "repeat", "message"),
    [
        (RESET_PASSWORD, RESET_PASSWORD + "x", "Passordene er ikke like."),
        ("kort", "kort", "Passordet må ha minst 12 tegn."),
    ],
    ids=["mismatch", "too_short"],
)
def test_password_reset_errors(
    client: WebClient,
    login_as: LoginAs,
    make_user: MakeUser,
    password: str,
    repeat: str,
    message: str,
) -> None:
    admin = make_user("admin")
    target = make_user("operator", ["Oslo"])
    client.login(admin.email)
    response = client.post(
        f"/admin/users/{target.id}/password", {"password": password, "password_repeat": repeat}
    )
    assert response.status_code == 422
    assert message in response.text
    assert password not in response.text
    login_as(target.email, PASSWORD)  # unchanged


def test_password_reset_respects_scope_and_role(
    client: WebClient, login_as: LoginAs, make_user: MakeUser
) -> None:
    leader = make_user("leader", ["Oslo"])
    vest = make_user("operator", ["Vest"])
    operator = make_user("operator", ["Oslo"])
    client.login(leader.email)
    form = {"password": RESET_PASSWORD, "password_repeat": RESET_PASSWORD}
    assert client.post(f"/admin/users/{vest.id}/password", form).status_code == 404
    assert client.post(f"/admin/users/{operator.id}/password", form).status_code == 303
    other = login_as(operator.email, RESET_PASSWORD)
    assert other.post(f"/admin/users/{leader.id}/password", form).status_code == 403
    login_as(leader.email, PASSWORD)  # unchanged


# --- a leader's district scope ---------------------------------------------------------------


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, User]:
    return {
        "leader": make_user("leader", ["Oslo"], email="leder.oslo@test.stemme.no"),
        "oslo": make_user("operator", ["Oslo"], email="operator.oslo@test.stemme.no"),
        "both": make_user("analyst", ["Oslo", "Vest"], email="begge@test.stemme.no"),
        "vest": make_user("operator", ["Vest"], email="operator.vest@test.stemme.no"),
        "national": make_user("admin", email="admin.nasjonal@test.stemme.no"),
    }


def test_leader_sees_only_users_of_own_district(client: WebClient, people: dict[str, User]) -> None:
    client.login(people["leader"].email)
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert listed_emails(page.text) == {
        "leder.oslo@test.stemme.no",
        "operator.oslo@test.stemme.no",
        "begge@test.stemme.no",
    }
    assert client.get(f"/admin/users/{people['oslo'].id}").status_code == 200
    for outside in ("vest", "national"):
        response = client.get(f"/admin/users/{people[outside].id}")
        assert response.status_code == 404, outside
        assert people[outside].email not in response.text
        assert (
            client.post(f"/admin/users/{people[outside].id}/active", {"active": "0"}).status_code
            == 404
        )
        assert (
            client.post(
                f"/admin/users/{people[outside].id}",
                {"display_name": "x", "role": "operator", "districts": ["Oslo"]},
            ).status_code
            == 404
        )


def test_leader_form_offers_only_own_district_and_no_admin_role(
    client: WebClient, people: dict[str, User]
) -> None:
    client.login(people["leader"].email)
    page = client.get("/admin/users/new")
    assert page.status_code == 200
    assert 'name="districts" value="Oslo"' in page.text
    assert 'name="districts" value="Vest"' not in page.text
    assert 'name="national"' not in page.text
    assert 'value="admin"' not in page.text
    assert 'value="operator"' in page.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"role": "admin"}, "Rollen din (Leder) gir ikke tilgang til dette."),
        ({"districts": ["Vest"]}, "Du kan bare gi tilgang til dine egne politidistrikter."),
        ({"districts": ["Oslo", "Vest"]}, "Du kan bare gi tilgang til dine egne politidistrikter."),
        (
            {"districts": None, "national": "1"},
            "Du kan bare gi tilgang til dine egne politidistrikter.",
        ),
    ],
    ids=["admin_role", "other_district", "extra_district", "national"],
)
def test_leader_cannot_grant_beyond_own_scope(
    client: WebClient,
    people: dict[str, User],
    sessions: sessionmaker[Session],
    overrides: dict[str, Any],
    message: str,
) -> None:
    client.login(people["leader"].email)
    client.get("/admin/users/new")
    before = count_users(sessions)
    response = client.post("/admin/users", user_form(**overrides))
    assert response.status_code in (403, 422)
    assert message in response.text
    assert count_users(sessions) == before
    assert find_user(sessions, "ny.bruker@test.stemme.no") is None


def test_leader_cannot_widen_a_users_scope_by_editing(
    client: WebClient, people: dict[str, User], sessions: sessionmaker[Session]
) -> None:
    client.login(people["leader"].email)
    response = client.post(
        f"/admin/users/{people['oslo'].id}",
        {"display_name": "x", "role": "leader", "districts": ["Oslo", "Vest"]},
    )
    assert response.status_code in (403, 422)
    assert "Du kan bare gi tilgang til dine egne politidistrikter." in response.text
    unchanged = find_user(sessions, people["oslo"].email)
    assert unchanged is not None
    assert unchanged.districts == ("Oslo",)
    assert unchanged.role == "operator"


def test_leader_cannot_change_a_user_who_also_works_elsewhere(
    client: WebClient, people: dict[str, User], login_as: LoginAs, sessions: sessionmaker[Session]
) -> None:
    """The Oslo leader sees the Oslo+Vest user, but changing that account (a password reset
    above all) would reach into Vest."""
    both = people["both"]
    client.login(people["leader"].email)
    assert client.get(f"/admin/users/{both.id}").status_code == 200
    form = {"password": "et nytt passord fra leder", "password_repeat": "et nytt passord fra leder"}
    reset = client.post(f"/admin/users/{both.id}/password", form)
    edit = client.post(
        f"/admin/users/{both.id}", {"display_name": "x", "role": "analyst", "districts": ["Oslo"]}
    )
    disable = client.post(f"/admin/users/{both.id}/active", {"active": "0"})
    statuses = [r.status_code for r in (reset, edit, disable)]
    assert all(status in (403, 422) for status in statuses), statuses
    after = find_user(sessions, both.email)
    assert after is not None
    assert after.districts == ("Oslo", "Vest")
    assert after.is_active
    login_as(both.email, PASSWORD)  # password unchanged


def test_leader_creates_a_user_in_own_district(
    client: WebClient, people: dict[str, User], login_as: LoginAs, sessions: sessionmaker[Session]
) -> None:
    client.login(people["leader"].email)
    response = client.post("/admin/users", user_form(email="ny.oslo@test.stemme.no"))
    assert response.status_code == 303
    created = find_user(sessions, "ny.oslo@test.stemme.no")
    assert created is not None
    assert created.districts == ("Oslo",)
    login_as("ny.oslo@test.stemme.no", NEW_PASSWORD)


def test_leader_cannot_disable_or_demote_an_admin(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    """A leader lacks GRANT_ADMIN, so an (Oslo-scoped) administrator must be out of reach:
    no password reset (that would be an account take-over), no demotion, no disabling."""
    leader = make_user("leader", ["Oslo"])
    oslo_admin = make_user("admin", ["Oslo"], email="admin.oslo@test.stemme.no")
    client.login(leader.email)
    reset = client.post(
        f"/admin/users/{oslo_admin.id}/password",
        {"password": "leder tar over kontoen", "password_repeat": "leder tar over kontoen"},
    )
    demote = client.post(
        f"/admin/users/{oslo_admin.id}",
        {"display_name": "x", "role": "operator", "districts": ["Oslo"]},
    )
    disable = client.post(f"/admin/users/{oslo_admin.id}/active", {"active": "0"})
    statuses = (
        f"reset: {reset.status_code}, demote: {demote.status_code}, disable: {disable.status_code}"
    )
    after = find_user(sessions, oslo_admin.email)
    assert after is not None
    assert (after.role, after.is_active) == ("admin", True), (
        f"a leader changed an administrator ({statuses})"
    )
    assert reset.status_code in (403, 404, 422), f"a leader reset an admin's password ({statuses})"
    assert demote.status_code in (403, 404, 422), statuses
    assert disable.status_code in (403, 404, 422), statuses


# --- roles without user administration ---------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "analyst", "initiative_owner"])
def test_other_roles_get_403_on_user_admin(
    client: WebClient, make_user: MakeUser, role: str
) -> None:
    user = make_user(role, ["Oslo"])
    other = make_user("operator", ["Oslo"])
    client.login(user.email)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{other.id}"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Ingen tilgang" in response.text
        assert other.email not in response.text
    assert client.post(f"/admin/users/{other.id}/active", {"active": "0"}).status_code == 403


@pytest.mark.parametrize("role", ["operator", "analyst", "initiative_owner"])
def test_other_roles_cannot_create_users(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session], role: str
) -> None:
    user = make_user(role, ["Oslo"])
    client.login(user.email)
    before = count_users(sessions)
    response = client.post("/admin/users", user_form())
    assert count_users(sessions) == before
    assert response.status_code == 403, (
        f"POST /admin/users as {role}: expected 403, got {response.status_code}"
    )
    assert 'action="/admin/users"' not in response.text  # no user form for them


def test_operator_cannot_edit_users(
    client: WebClient, make_user: MakeUser, sessions: sessionmaker[Session]
) -> None:
    operator = make_user("operator", ["Oslo"])
    other = make_user("operator", ["Oslo"])
    client.login(operator.email)
    response = client.post(
        f"/admin/users/{other.id}", {"display_name": "x", "role": "leader", "districts": ["Oslo"]}
    )
    assert response.status_code == 403
    unchanged = find_user(sessions, other.email)
    assert unchanged is not None
    assert unchanged.role == "operator"
