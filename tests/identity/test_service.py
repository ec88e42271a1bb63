"""Users, roles and district scope, login and lockout, browser sessions and API tokens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction, utcnow
from stemme.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StemmeError,
)
from stemme.geo import UnknownDistrictError
from stemme.identity import passwords, service
from stemme.identity.access import Principal, Role, command_line_principal
from stemme.identity.models import ApiToken, AuditEvent, User, UserDistrict, WebSession
from stemme.identity.passwords import needs_rehash, verify_password
from stemme.identity.service import GENERIC_LOGIN_ERROR, LoginPolicy, UserInput
from tests.helpers import PASSWORD

MakeUser = Callable[..., User]
Sessions = sessionmaker[Session]
CLI = command_line_principal("test")
POLICY = LoginPolicy(max_failures=3, lockout=timedelta(minutes=15))
NEW_PASSWORD = "en helt ny og lang setning"
LOCKED = "Kontoen er midlertidig låst"


_REAL_HASHER = passwords._hasher


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with cheap parameters: these tests create hundreds of users. The real
    parameters are covered in test_passwords.py and by the CLI and demo tests."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)


def me(user: User) -> Principal:
    return service.principal_of(user)


def create(sessions: Sessions, actor: Principal, data: UserInput, password: str = PASSWORD) -> User:
    with transaction(sessions) as session:
        return service.create_user(session, actor, data, password)


def load(sessions: Sessions, user_id: int) -> User:
    with sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def count(sessions: Sessions, model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_rows(sessions: Sessions) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def actions(sessions: Sessions) -> list[str]:
    return [event.action for event in audit_rows(sessions)]


def login(
    sessions: Sessions, email: str, password: str, policy: LoginPolicy = POLICY
) -> User | AuthenticationError:
    """Like the login view: failures are committed too (counters and the audit entry)."""
    with sessions() as session:
        try:
            user = service.authenticate(session, email, password, policy)
        except AuthenticationError as exc:
            session.commit()
            return exc
        session.commit()
        return user


def all_text(sessions: Sessions, table: str) -> str:
    with sessions() as session:
        rows = session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    return json.dumps([[str(value) for value in row] for row in rows], ensure_ascii=False)


# --- create_user ------------------------------------------------------------------------------


def test_create_user_normalises_email_and_districts(sessions: Sessions) -> None:
    data = UserInput(
        "  Kari.Nordmann@Politiet.NO ",
        " Operator ",
        ("oslo", "Vest politidistrikt", "sor-ost", "Oslo", "  "),
        "  Kari Nordmann  ",
    )
    user = create(sessions, CLI, data)
    stored = load(sessions, user.id)
    assert stored.email == "kari.nordmann@politiet.no"
    assert stored.role == "operator"
    assert stored.districts == ("Oslo", "Sør-Øst", "Vest")
    assert stored.national_scope is False
    assert stored.display_name == "Kari Nordmann"
    assert stored.is_active
    assert stored.failed_logins == 0
    assert stored.locked_until is None
    assert stored.created_at.tzinfo is not None
    assert verify_password(stored.password_hash, PASSWORD)
    assert PASSWORD not in stored.password_hash


def test_create_user_without_districts_has_national_scope(sessions: Sessions) -> None:
    user = create(sessions, CLI, UserInput("nasjonal@politiet.no", "analyst"))
    stored = load(sessions, user.id)
    assert stored.national_scope is True
    assert stored.districts == ()
    assert me(stored).is_national
    assert count(sessions, UserDistrict) == 0


def test_create_user_truncates_long_display_names(sessions: Sessions) -> None:
    user = create(sessions, CLI, UserInput("lang@politiet.no", "analyst", (), "x" * 300))
    assert load(sessions, user.id).display_name == "x" * 200


def test_create_user_is_audited_without_personal_data(sessions: Sessions) -> None:
    user = create(
        sessions, CLI, UserInput("kari@politiet.no", "leader", ("Oslo",), "Kari Nordmann")
    )
    [event] = audit_rows(sessions)
    assert (event.action, event.object_type, event.object_id) == (
        "user.create",
        "user",
        str(user.id),
    )
    assert event.actor == "test"
    assert event.actor_user_id is None
    assert event.district == "Oslo"
    assert event.details == {"role": "leader", "districts": ["Oslo"], "active": True}
    assert "kari" not in json.dumps(event.details).lower()


AUDITED_DISTRICTS = [
    ((), None, ["*"]),
    (("Oslo", "Vest"), None, ["Oslo", "Vest"]),
    (("Agder",), "Agder", ["Agder"]),
]


def test_create_user_audit_district(sessions: Sessions, subtests: pytest.Subtests) -> None:
    for n, (districts, audited_district, audited_districts) in enumerate(AUDITED_DISTRICTS):
        with subtests.test(districts=districts):
            create(sessions, CLI, UserInput(f"a{n}@politiet.no", "operator", districts))
            event = audit_rows(sessions)[-1]
            assert event.district == audited_district
            assert event.details["districts"] == audited_districts


BAD_EMAILS = [
    "",
    "   ",
    "ingen-krollalfa",
    "a@b",
    "a b@politiet.no",
    "a@@politiet.no",
    "a@politiet.no@x.no",
    "@politiet.no",
    "kari@.",
    "x" * 250 + "@a.no",
]


def test_create_user_refuses_bad_email(sessions: Sessions, subtests: pytest.Subtests) -> None:
    for email in BAD_EMAILS:
        with subtests.test(email=email), pytest.raises(InvalidInputError, match="Ugyldig e-post"):
            create(sessions, CLI, UserInput(email, "analyst"))
    assert count(sessions, User) == 0
    assert count(sessions, AuditEvent) == 0


def test_create_user_refuses_unknown_role(sessions: Sessions, subtests: pytest.Subtests) -> None:
    for role in ("superuser", "", "Administrator", "leder"):
        with subtests.test(role=role):
            with pytest.raises(InvalidInputError) as info:
                create(sessions, CLI, UserInput("a@politiet.no", role))
            assert "Ukjent rolle" in str(info.value)
            for valid in Role:
                assert valid.value in str(info.value)
    assert count(sessions, User) == 0


def test_role_names_are_case_insensitive(sessions: Sessions, subtests: pytest.Subtests) -> None:
    for role in Role:
        with subtests.test(role=role.value):
            data = UserInput(f"{role.value}@politiet.no", role.value.upper())
            assert create(sessions, CLI, data).role == role.value


def test_create_user_refuses_unknown_district(
    sessions: Sessions, subtests: pytest.Subtests
) -> None:
    for districts in (("Atlantis",), ("Oslo", "Narnia"), ("Oslo kommune",)):
        with subtests.test(districts=districts):
            with pytest.raises(UnknownDistrictError) as info:
                create(sessions, CLI, UserInput("a@politiet.no", "operator", districts))
            assert isinstance(info.value, NotFoundError)
            assert "Ukjent politidistrikt" in str(info.value)
    assert count(sessions, User) == 0


def test_create_user_refuses_a_weak_password(sessions: Sessions) -> None:
    with pytest.raises(InvalidInputError, match="minst 12 tegn"):
        create(sessions, CLI, UserInput("a@politiet.no", "operator"), password="kort")
    assert count(sessions, User) == 0
    assert count(sessions, AuditEvent) == 0


def test_create_user_refuses_duplicate_email(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    make_user("analyst", email="kari@politiet.no")
    for second in ("kari@politiet.no", "KARI@Politiet.no", " kari@politiet.no "):
        with subtests.test(email=second):
            with pytest.raises(ConflictError) as info:
                create(sessions, CLI, UserInput(second, "operator", ("Oslo",)))
            assert info.value.status == 409
            assert "kari@politiet.no" in str(info.value)
    assert count(sessions, User) == 1


def test_admin_may_create_admins_and_leaders_anywhere(
    sessions: Sessions, make_user: MakeUser
) -> None:
    admin = me(make_user("admin"))
    create(sessions, admin, UserInput("a2@politiet.no", "admin"))
    create(sessions, admin, UserInput("l@politiet.no", "leader", ("Finnmark", "Troms")))
    assert count(sessions, User) == 3


LEADER_MAY_GRANT = [
    (["Oslo"], "operator", ("Oslo",)),
    (["Oslo"], "analyst", ("oslo politidistrikt",)),
    (["Oslo"], "leader", ("Oslo",)),
    (["Oslo"], "initiative_owner", ("Oslo",)),
    (["Oslo", "Øst"], "operator", ("Oslo", "Øst")),
    (["Oslo", "Øst"], "operator", ("Øst",)),
    ([], "operator", ()),  # a national leader may grant national scope
    ([], "leader", ("Vest",)),
]
LEADER_MAY_NOT_GRANT = [
    (["Oslo"], "operator", ("Vest",)),
    (["Oslo"], "operator", ("Oslo", "Vest")),
    (["Oslo"], "operator", ()),  # the whole country is more than Oslo
    (["Oslo"], "admin", ("Oslo",)),
    (["Oslo", "Øst"], "admin", ("Oslo",)),
    ([], "admin", ()),  # not even a national leader grants admin
    ([], "admin", ("Vest",)),
]


def test_leader_creates_users_within_own_districts(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    for n, (leader_districts, role, districts) in enumerate(LEADER_MAY_GRANT):
        with subtests.test(leader=leader_districts, role=role, districts=districts):
            leader = me(make_user("leader", leader_districts))
            user = create(sessions, leader, UserInput(f"ny{n}@politiet.no", role, districts))
            assert user.role == role
            event = audit_rows(sessions)[-1]
            assert event.action == "user.create"
            assert event.actor_user_id == leader.user_id
            assert event.actor == leader.label


def test_leader_cannot_grant_outside_own_districts_or_admin(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    leaders = 0
    for n, (leader_districts, role, districts) in enumerate(LEADER_MAY_NOT_GRANT):
        with subtests.test(leader=leader_districts, role=role, districts=districts):
            leader = me(make_user("leader", leader_districts))
            leaders += 1
            with pytest.raises(PermissionDeniedError):
                create(sessions, leader, UserInput(f"ny{n}@politiet.no", role, districts))
    assert count(sessions, User) == leaders


@pytest.mark.parametrize("role", ["analyst", "operator", "initiative_owner"])
def test_non_managers_cannot_manage_users_at_all(
    sessions: Sessions, make_user: MakeUser, role: str
) -> None:
    actor = me(make_user(role, ["Oslo"]))
    target = make_user("operator", ["Oslo"])
    data = UserInput("ny@politiet.no", "operator", ("Oslo",))
    operations: dict[str, Callable[[Session], object]] = {
        "create_user": lambda s: service.create_user(s, actor, data, PASSWORD),
        "list_users": lambda s: service.list_users(s, actor),
        "get_user": lambda s: service.get_user(s, actor, target.id),
        "get_user_by_email": lambda s: service.get_user_by_email(s, actor, target.email),
        "update_user": lambda s: service.update_user(s, actor, target.id, data),
        "set_user_active": lambda s: service.set_user_active(s, actor, target.id, False),
        "disable_user_by_email": lambda s: service.disable_user_by_email(s, actor, target.email),
        "set_password": lambda s: service.set_password(s, actor, target.id, NEW_PASSWORD),
        "create_token": lambda s: service.create_token(
            s, actor, s.get(User, target.id), "someone else's"
        ),
    }
    denied = []
    for name, operation in operations.items():
        with sessions() as session:
            try:
                operation(session)
            except PermissionDeniedError:
                denied.append(name)
    assert denied == list(operations)
    assert count(sessions, User) == 2
    assert load(sessions, target.id).is_active


# --- leaders and admin accounts ---------------------------------------------------------------


def _demote(s: Session, actor: Principal, target: User) -> object:
    return service.update_user(s, actor, target.id, UserInput(target.email, "operator", ("Oslo",)))


def _disable(s: Session, actor: Principal, target: User) -> object:
    return service.set_user_active(s, actor, target.id, False)


def _reset_password(s: Session, actor: Principal, target: User) -> object:
    service.set_password(s, actor, target.id, NEW_PASSWORD)
    return None


def _mint_token(s: Session, actor: Principal, target: User) -> object:
    return service.create_token(s, actor, s.get(User, target.id), "takeover")


TAKEOVERS: dict[str, Callable[[Session, Principal, User], object]] = {
    "set_password": _reset_password,
    "create_token": _mint_token,
    "demote": _demote,
    "disable": _disable,
}


def refused(sessions: Sessions, operation: Callable[..., object], *args: object) -> bool:
    with sessions() as session:
        try:
            operation(session, *args)
            session.commit()
        except (PermissionDeniedError, NotFoundError):
            return True
    return False


def test_leader_cannot_take_over_or_change_an_admin(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    """A leader lacks GRANT_ADMIN; resetting an admin's password or minting an API token
    for an admin would make the leader an admin, and demoting or disabling an admin would
    let a leader overrule the people who manage leaders."""
    for scope in ([], ["Oslo"]):
        for name, operation in TAKEOVERS.items():
            with subtests.test(leader_and_admin_scope=scope or "national", operation=name):
                leader = me(make_user("leader", scope))
                admin = make_user("admin", scope)
                assert refused(sessions, operation, leader, admin), "a leader changed an admin"
                stored = load(sessions, admin.id)
                assert stored.role == "admin"
                assert stored.is_active
                assert verify_password(stored.password_hash, PASSWORD)
                with sessions() as session:
                    assert (
                        session.scalars(select(ApiToken).where(ApiToken.user_id == admin.id)).all()
                        == []
                    )


def test_leader_cannot_take_over_an_account_with_wider_scope(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    """An Oslo leader sees a user of Oslo and Vest, but taking over that account (new
    password, or an API token in its name) would give the leader access to Vest."""
    leader = me(make_user("leader", ["Oslo"]))
    for name in ("set_password", "create_token"):
        with subtests.test(operation=name):
            wider = make_user("analyst", ["Oslo", "Vest"])
            assert refused(sessions, TAKEOVERS[name], leader, wider), (
                "an Oslo leader took over an account with access to Vest"
            )
            assert verify_password(load(sessions, wider.id).password_hash, PASSWORD)
            assert count(sessions, ApiToken) == 0


# --- update_user ------------------------------------------------------------------------------


def test_admin_updates_role_districts_and_name(sessions: Sessions, make_user: MakeUser) -> None:
    admin = me(make_user("admin"))
    target = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        data = UserInput("ignored@politiet.no", "leader", ("vest", "Agder"), " Ny Leder ")
        service.update_user(session, admin, target.id, data)
    stored = load(sessions, target.id)
    assert stored.email == target.email  # the e-mail is not changed by update_user
    assert stored.role == "leader"
    assert stored.districts == ("Agder", "Vest")
    assert stored.display_name == "Ny Leder"
    assert not stored.national_scope
    with sessions() as session:
        rows = session.scalars(
            select(UserDistrict.district).where(UserDistrict.user_id == target.id)
        )
        assert sorted(rows) == ["Agder", "Vest"]  # old rows replaced, not kept
    assert actions(sessions)[-1] == "user.update"


def test_update_to_national_scope(sessions: Sessions, make_user: MakeUser) -> None:
    admin = me(make_user("admin"))
    target = make_user("analyst", ["Oslo"])
    with transaction(sessions) as session:
        service.update_user(session, admin, target.id, UserInput(target.email, "analyst"))
    stored = load(sessions, target.id)
    assert stored.national_scope
    assert stored.districts == ()


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_cannot_change_own_role(sessions: Sessions, make_user: MakeUser, role: str) -> None:
    user = make_user(role, ["Oslo"])
    with sessions() as session, pytest.raises(InvalidInputError, match="egen rolle"):
        service.update_user(
            session, me(user), user.id, UserInput(user.email, "operator", ("Oslo",))
        )
    assert load(sessions, user.id).role == role


def test_may_update_own_name_keeping_the_role(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("leader", ["Oslo"])
    with transaction(sessions) as session:
        service.update_user(session, me(user), user.id, UserInput("", "leader", ("Oslo",), "Meg"))
    assert load(sessions, user.id).display_name == "Meg"


def test_update_keeping_a_district(sessions: Sessions, make_user: MakeUser) -> None:
    """The usual edit: change the role, keep the district (and add one)."""
    admin = me(make_user("admin"))
    target = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        service.update_user(session, admin, target.id, UserInput("", "analyst", ("Oslo", "Vest")))
    stored = load(sessions, target.id)
    assert stored.role == "analyst"
    assert stored.districts == ("Oslo", "Vest")


def test_leader_updates_a_user_in_own_district(sessions: Sessions, make_user: MakeUser) -> None:
    leader = me(make_user("leader", ["Oslo"]))
    oslo = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        service.update_user(session, leader, oslo.id, UserInput("", "analyst", ("Oslo",)))
    assert load(sessions, oslo.id).role == "analyst"


def test_leader_update_refusals(sessions: Sessions, make_user: MakeUser) -> None:
    leader = me(make_user("leader", ["Oslo"]))
    oslo = make_user("operator", ["Oslo"])
    vest = make_user("operator", ["Vest"])
    national = make_user("analyst")
    with sessions() as session:
        with pytest.raises(NotFoundError):
            service.update_user(session, leader, vest.id, UserInput("", "operator", ("Oslo",)))
        with pytest.raises(NotFoundError):
            service.update_user(session, leader, national.id, UserInput("", "analyst", ("Oslo",)))
        with pytest.raises(PermissionDeniedError):
            service.update_user(session, leader, oslo.id, UserInput("", "operator", ("Vest",)))
        with pytest.raises(PermissionDeniedError):
            service.update_user(session, leader, oslo.id, UserInput("", "admin", ("Oslo",)))
        with pytest.raises(PermissionDeniedError):
            service.update_user(session, leader, oslo.id, UserInput("", "operator", ()))
    stored = load(sessions, oslo.id)
    assert (stored.role, stored.districts) == ("operator", ("Oslo",))


def test_update_unknown_user(sessions: Sessions, make_user: MakeUser) -> None:
    admin = me(make_user("admin"))
    with sessions() as session, pytest.raises(NotFoundError):
        service.update_user(session, admin, 987654, UserInput("", "operator"))


# --- set_user_active --------------------------------------------------------------------------


def test_disabling_a_user_ends_their_sessions(sessions: Sessions, make_user: MakeUser) -> None:
    admin = me(make_user("admin"))
    target = make_user("operator", ["Oslo"])
    other = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        for user_id in (target.id, target.id, other.id):
            service.start_session(session, session.get(User, user_id), timedelta(hours=8))
    with transaction(sessions) as session:
        session.execute(
            update(User)
            .where(User.id == target.id)
            .values(failed_logins=2, locked_until=utcnow() + timedelta(minutes=5))
        )
    with transaction(sessions) as session:
        service.set_user_active(session, admin, target.id, False)
    stored = load(sessions, target.id)
    assert not stored.is_active
    assert stored.disabled_at is not None
    assert (stored.failed_logins, stored.locked_until) == (0, None)
    with sessions() as session:
        owners = list(session.scalars(select(WebSession.user_id)))
    assert owners == [other.id]
    assert actions(sessions)[-1] == "user.disable"

    with transaction(sessions) as session:
        service.set_user_active(session, admin, target.id, True)
    stored = load(sessions, target.id)
    assert stored.is_active
    assert stored.disabled_at is None
    assert actions(sessions)[-1] == "user.enable"
    assert audit_rows(sessions)[-1].details["active"] is True


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_cannot_disable_self(sessions: Sessions, make_user: MakeUser, role: str) -> None:
    user = make_user(role)
    with sessions() as session, pytest.raises(InvalidInputError, match="deaktivere deg selv"):
        service.set_user_active(session, me(user), user.id, False)
    assert load(sessions, user.id).is_active


def test_disable_by_email(sessions: Sessions, make_user: MakeUser) -> None:
    target = make_user("operator", ["Oslo"], email="ola@politiet.no")
    with transaction(sessions) as session:
        user = service.disable_user_by_email(session, CLI, " OLA@politiet.no ")
        assert user.id == target.id
    assert not load(sessions, target.id).is_active
    with sessions() as session, pytest.raises(NotFoundError, match=r"nobody@politiet\.no"):
        service.disable_user_by_email(session, CLI, "nobody@politiet.no")


def test_leader_cannot_disable_outside_scope(sessions: Sessions, make_user: MakeUser) -> None:
    leader = me(make_user("leader", ["Oslo"]))
    vest = make_user("operator", ["Vest"])
    oslo = make_user("operator", ["Oslo"])
    with sessions() as session, pytest.raises(NotFoundError):
        service.set_user_active(session, leader, vest.id, False)
    with transaction(sessions) as session:
        service.set_user_active(session, leader, oslo.id, False)
    assert load(sessions, vest.id).is_active
    assert not load(sessions, oslo.id).is_active


# --- list_users, get_user, get_user_by_email --------------------------------------------------


@pytest.fixture
def staff(make_user: MakeUser) -> dict[str, User]:
    return {
        "admin": make_user("admin", email="admin@politiet.no"),
        "leader_oslo": make_user("leader", ["Oslo"], email="leder.oslo@politiet.no"),
        "oslo": make_user("operator", ["Oslo"], email="b.oslo@politiet.no"),
        "oslo_vest": make_user("analyst", ["Oslo", "Vest"], email="c.oslovest@politiet.no"),
        "vest": make_user("operator", ["Vest"], email="d.vest@politiet.no"),
        "national": make_user("analyst", email="e.national@politiet.no"),
    }


def emails(users: list[User]) -> list[str]:
    return [user.email for user in users]


def test_list_users_scoping(sessions: Sessions, staff: dict[str, User]) -> None:
    everyone = sorted(user.email for user in staff.values())
    oslo_leader = me(staff["leader_oslo"])
    vest_leader = Principal(None, "vest", Role.LEADER, frozenset({"Vest"}))
    national_leader = Principal(None, "nl", Role.LEADER, None)
    both = Principal(None, "both", Role.LEADER, frozenset({"Oslo", "Vest"}))
    finnmark = Principal(None, "fm", Role.LEADER, frozenset({"Finnmark"}))
    with sessions() as session:
        assert emails(service.list_users(session, CLI)) == everyone
        assert emails(service.list_users(session, me(staff["admin"]))) == everyone
        assert emails(service.list_users(session, national_leader)) == everyone
        assert emails(service.list_users(session, oslo_leader)) == [
            "b.oslo@politiet.no",
            "c.oslovest@politiet.no",
            "leder.oslo@politiet.no",
        ]
        assert emails(service.list_users(session, vest_leader)) == [
            "c.oslovest@politiet.no",
            "d.vest@politiet.no",
        ]
        assert emails(service.list_users(session, both)) == [
            "b.oslo@politiet.no",
            "c.oslovest@politiet.no",
            "d.vest@politiet.no",
            "leder.oslo@politiet.no",
        ]
        assert service.list_users(session, finnmark) == []


def test_get_user_respects_scope(sessions: Sessions, staff: dict[str, User]) -> None:
    leader = me(staff["leader_oslo"])
    with sessions() as session:
        for visible in ("oslo", "oslo_vest", "leader_oslo"):
            assert service.get_user(session, leader, staff[visible].id).id == staff[visible].id
            found = service.get_user_by_email(session, leader, staff[visible].email.upper())
            assert found.id == staff[visible].id
        for hidden in ("vest", "national", "admin"):
            with pytest.raises(NotFoundError):
                service.get_user(session, leader, staff[hidden].id)
            with pytest.raises(NotFoundError):
                service.get_user_by_email(session, leader, staff[hidden].email)
        for name, user in staff.items():
            assert service.get_user(session, CLI, user.id).email == user.email, name


def test_get_user_not_found(sessions: Sessions, staff: dict[str, User]) -> None:
    with sessions() as session:
        with pytest.raises(NotFoundError, match="id 424242"):
            service.get_user(session, CLI, 424242)
        with pytest.raises(NotFoundError, match=r"ingen@politiet\.no"):
            service.get_user_by_email(session, CLI, "ingen@politiet.no")


# --- authenticate -----------------------------------------------------------------------------


def test_authenticate_success(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"], email="kari@politiet.no")
    result = login(sessions, "  KARI@politiet.no ", PASSWORD)
    assert isinstance(result, User)
    assert result.id == user.id
    stored = load(sessions, user.id)
    assert stored.last_login_at is not None
    assert abs(stored.last_login_at - utcnow()) < timedelta(minutes=1)
    [*_, event] = audit_rows(sessions)
    assert (event.action, event.actor_user_id, event.object_id) == (
        "login.succeeded",
        user.id,
        str(user.id),
    )


LOGIN_FAILURES = {
    "wrong": ("kari@politiet.no", "feil passord her"),
    "empty": ("kari@politiet.no", ""),
    "case": ("kari@politiet.no", PASSWORD.upper()),
    "unknown-user": ("ukjent@politiet.no", PASSWORD),
    "no-email": ("", PASSWORD),
}


def test_authenticate_failures_look_the_same(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    make_user("operator", ["Oslo"], email="kari@politiet.no")
    for case, (email, password) in LOGIN_FAILURES.items():
        with subtests.test(case=case):
            result = login(sessions, email, password, LoginPolicy(max_failures=100))
            assert isinstance(result, AuthenticationError)
            assert str(result) == GENERIC_LOGIN_ERROR == "Feil e-post eller passord."
            assert result.status == 401
            event = audit_rows(sessions)[-1]
            assert event.action == "login.failed"
            assert event.actor == "anonymous"


def test_unknown_user_is_audited_without_the_attempted_email(sessions: Sessions) -> None:
    login(sessions, "hemmelig.person@politiet.no", PASSWORD)
    [event] = audit_rows(sessions)
    assert (event.action, event.object_id) == ("login.failed", "unknown")
    assert "hemmelig" not in all_text(sessions, "audit_events")


def test_wrong_password_counts_failures(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("analyst")
    login(sessions, user.email, "feil passord nr en")
    login(sessions, user.email, "feil passord nr to")
    assert load(sessions, user.id).failed_logins == 2
    assert [e.details for e in audit_rows(sessions)[-2:]] == [{"failures": 1}, {"failures": 2}]
    assert isinstance(login(sessions, user.email, PASSWORD), User)
    assert load(sessions, user.id).failed_logins == 0  # success resets the counter


def test_disabled_user_cannot_log_in(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("analyst")
    with transaction(sessions) as session:
        service.set_user_active(session, CLI, user.id, False)
    result = login(sessions, user.email, PASSWORD)
    assert isinstance(result, AuthenticationError)
    assert str(result) == GENERIC_LOGIN_ERROR  # does not reveal that the account exists
    assert load(sessions, user.id).last_login_at is None


@pytest.mark.parametrize("max_failures", [1, 3, 5])
def test_lockout_after_max_failures(
    sessions: Sessions, make_user: MakeUser, max_failures: int
) -> None:
    policy = LoginPolicy(max_failures=max_failures, lockout=timedelta(minutes=15))
    user = make_user("operator", ["Oslo"])
    for attempt in range(1, max_failures + 1):
        result = login(sessions, user.email, f"feil passord {attempt:04d}", policy)
        assert str(result) == GENERIC_LOGIN_ERROR
        stored = load(sessions, user.id)
        if attempt < max_failures:
            assert stored.locked_until is None
            assert stored.failed_logins == attempt
    stored = load(sessions, user.id)
    assert stored.locked_until is not None
    remaining = stored.locked_until - utcnow()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    assert stored.failed_logins == 0
    assert audit_rows(sessions)[-1].details == {"failures": max_failures, "locked": True}

    # locked: even the right password is refused, with its own message
    result = login(sessions, user.email, PASSWORD, policy)
    assert isinstance(result, AuthenticationError)
    assert LOCKED in str(result)
    assert actions(sessions)[-1] == "login.locked"
    assert load(sessions, user.id).last_login_at is None

    # the lock has run out
    with transaction(sessions) as session:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    result = login(sessions, user.email, PASSWORD, policy)
    assert isinstance(result, User)
    stored = load(sessions, user.id)
    assert stored.locked_until is None
    assert stored.failed_logins == 0


def test_locked_account_wrong_password_does_not_extend_the_lock(
    sessions: Sessions, make_user: MakeUser
) -> None:
    user = make_user("operator", ["Oslo"])
    until = utcnow() + timedelta(minutes=3)
    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == user.id).values(locked_until=until))
    assert LOCKED in str(login(sessions, user.email, "feil passord igjen"))
    stored = load(sessions, user.id)
    assert stored.locked_until is not None
    assert abs(stored.locked_until - until) < timedelta(milliseconds=1)


def test_weak_hash_is_upgraded_on_login(
    sessions: Sessions, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "_hasher", _REAL_HASHER)
    user = make_user("analyst")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
    assert isinstance(login(sessions, user.email, PASSWORD), User)
    stored = load(sessions, user.id).password_hash
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not needs_rehash(stored)
    assert verify_password(stored, PASSWORD)


def test_current_hash_is_kept_on_login(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("analyst")
    before = load(sessions, user.id).password_hash
    assert isinstance(login(sessions, user.email, PASSWORD), User)
    assert load(sessions, user.id).password_hash == before


# --- change_password and set_password ---------------------------------------------------------


def test_change_password(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        service.change_password(session, me(user), PASSWORD, NEW_PASSWORD)
    assert isinstance(login(sessions, user.email, PASSWORD), AuthenticationError)
    assert isinstance(login(sessions, user.email, NEW_PASSWORD), User)
    assert "user.password_changed" in actions(sessions)
    assert NEW_PASSWORD not in all_text(sessions, "audit_events")


def test_change_password_refusals(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    user = make_user("operator", ["Oslo"])
    before = load(sessions, user.id).password_hash
    cases = [
        ("feil nåværende passord", NEW_PASSWORD, "Nåværende passord er feil"),
        (PASSWORD, "kort", "minst 12 tegn"),
        (PASSWORD, "a" * 20, "for enkelt"),
    ]
    for current, new, message in cases:
        with subtests.test(message=message):
            with sessions() as session, pytest.raises(InvalidInputError, match=message):
                service.change_password(session, me(user), current, new)
            assert load(sessions, user.id).password_hash == before


def test_change_password_needs_a_user(sessions: Sessions) -> None:
    with sessions() as session, pytest.raises(AuthenticationError):
        service.change_password(session, CLI, PASSWORD, NEW_PASSWORD)


def test_set_password(sessions: Sessions, make_user: MakeUser) -> None:
    leader = me(make_user("leader", ["Oslo"]))
    target = make_user("operator", ["Oslo"])
    vest = make_user("operator", ["Vest"])
    with transaction(sessions) as session:
        service.set_password(session, leader, target.id, NEW_PASSWORD)
    assert isinstance(login(sessions, target.email, NEW_PASSWORD), User)
    [*_, reset, _login] = audit_rows(sessions)
    assert (reset.action, reset.object_id, reset.actor_user_id) == (
        "user.password_reset",
        str(target.id),
        leader.user_id,
    )
    with sessions() as session:
        with pytest.raises(NotFoundError):
            service.set_password(session, leader, vest.id, NEW_PASSWORD)
        with pytest.raises(InvalidInputError):
            service.set_password(session, leader, target.id, "kort")


# --- browser sessions -------------------------------------------------------------------------

IDLE = timedelta(minutes=60)


def start(sessions: Sessions, user: User, lifetime: timedelta = timedelta(hours=8)) -> str:
    with transaction(sessions) as session:
        return service.start_session(session, session.get(User, user.id), lifetime)


def resolve(sessions: Sessions, raw: str, idle: timedelta = IDLE) -> WebSession | None:
    with transaction(sessions) as session:
        return service.resolve_session(session, raw, idle)


def set_session(sessions: Sessions, raw: str, **values: object) -> None:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    with transaction(sessions) as session:
        session.execute(update(WebSession).where(WebSession.id == digest).values(**values))


def test_session_lifecycle(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user, timedelta(hours=8))
    assert len(raw) >= 40
    with sessions() as session:
        [row] = session.scalars(select(WebSession)).all()
    assert row.id == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in all_text(sessions, "web_sessions")
    assert timedelta(hours=7, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=8)
    assert row.active_district is None

    resolved = resolve(sessions, raw)
    assert resolved is not None
    assert resolved.user.id == user.id
    assert resolve(sessions, raw + "x") is None
    assert resolve(sessions, "") is None

    with transaction(sessions) as session:
        service.end_session(session, raw)
    assert resolve(sessions, raw) is None
    assert count(sessions, WebSession) == 0


def test_every_login_gets_a_new_session(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    first, second = start(sessions, user), start(sessions, user)
    assert first != second
    assert count(sessions, WebSession) == 2
    with transaction(sessions) as session:
        service.end_session(session, first)
    assert resolve(sessions, first) is None
    assert resolve(sessions, second) is not None


def test_idle_expiry(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user)
    set_session(sessions, raw, last_seen_at=utcnow() - IDLE - timedelta(seconds=1))
    assert resolve(sessions, raw) is None
    assert count(sessions, WebSession) == 0  # the expired session is deleted


def test_absolute_expiry(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user)
    set_session(sessions, raw, expires_at=utcnow() - timedelta(seconds=1))
    assert resolve(sessions, raw) is None
    assert count(sessions, WebSession) == 0


def test_idle_timer_slides(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user)
    set_session(sessions, raw, last_seen_at=utcnow() - timedelta(minutes=50))
    resolved = resolve(sessions, raw)
    assert resolved is not None
    assert utcnow() - resolved.last_seen_at < timedelta(seconds=30)
    # still alive 50 minutes after the last request, although 100 minutes after login
    set_session(sessions, raw, last_seen_at=utcnow() - timedelta(minutes=50))
    assert resolve(sessions, raw) is not None


def test_idle_timer_is_not_written_on_every_request(
    sessions: Sessions, make_user: MakeUser
) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user)
    seen = utcnow() - timedelta(seconds=20)
    set_session(sessions, raw, last_seen_at=seen)
    resolved = resolve(sessions, raw)
    assert resolved is not None
    assert abs(resolved.last_seen_at - seen) < timedelta(milliseconds=1)


def test_inactive_users_session_is_refused(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    raw = start(sessions, user)
    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert resolve(sessions, raw) is None
    assert count(sessions, WebSession) == 0


ACTIVE_DISTRICTS = [
    (None, "oslo", "Oslo"),
    (None, "sor-ost", "Sør-Øst"),
    (None, "Trøndelag politidistrikt", "Trøndelag"),
    (None, None, None),
    (None, "", None),
    (["Oslo", "Øst"], "ost", "Øst"),
    (["Oslo"], "OSLO", "Oslo"),
    (["Oslo"], None, None),
]


def test_set_active_district(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    users = {None: make_user("analyst"), "Oslo": make_user("analyst", ["Oslo"])}
    users["Oslo,Øst"] = make_user("analyst", ["Oslo", "Øst"])
    for scope, requested, stored in ACTIVE_DISTRICTS:
        with subtests.test(scope=scope, requested=requested):
            user = users[None if scope is None else ",".join(scope)]
            raw = start(sessions, user)
            with transaction(sessions) as session:
                web_session = service.resolve_session(session, raw, IDLE)
                assert web_session is not None
                web_session.active_district = "Vest" if scope is None else None
                service.set_active_district(session, web_session, me(user), requested)
            resolved = resolve(sessions, raw)
            assert resolved is not None
            assert resolved.active_district == stored


@pytest.mark.parametrize(
    ("requested", "error"),
    [("Vest", PermissionDeniedError), ("Atlantis", UnknownDistrictError)],
)
def test_set_active_district_refusals(
    sessions: Sessions, make_user: MakeUser, requested: str, error: type[StemmeError]
) -> None:
    user = make_user("analyst", ["Oslo"])
    raw = start(sessions, user)
    with sessions() as session:
        web_session = service.resolve_session(session, raw, IDLE)
        assert web_session is not None
        with pytest.raises(error):
            service.set_active_district(session, web_session, me(user), requested)
        assert web_session.active_district is None


def test_purge_expired_sessions(sessions: Sessions, make_user: MakeUser) -> None:
    user = make_user("operator", ["Oslo"])
    live = start(sessions, user)
    expired = [start(sessions, user) for _ in range(2)]
    for raw in expired:
        set_session(sessions, raw, expires_at=utcnow() - timedelta(minutes=1))
    with transaction(sessions) as session:
        assert service.purge_expired_sessions(session) == 2
    with transaction(sessions) as session:
        assert service.purge_expired_sessions(session) == 0
    assert count(sessions, WebSession) == 1
    assert resolve(sessions, live) is not None


# --- API tokens -------------------------------------------------------------------------------


def make_token(
    sessions: Sessions,
    owner: User,
    actor: Principal | None = None,
    name: str = "rapport",
    lifetime: timedelta | None = None,
) -> tuple[int, str]:
    with transaction(sessions) as session:
        user = session.get(User, owner.id)
        assert user is not None
        token, raw = service.create_token(session, actor or me(owner), user, name, lifetime)
        return token.id, raw


def resolve_token(sessions: Sessions, raw: str) -> User:
    with transaction(sessions) as session:
        return service.resolve_token(session, raw)


def test_token_create_stores_only_the_digest(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    token_id, raw = make_token(sessions, owner)
    assert raw.startswith("stm_")
    assert len(raw) > 40
    with sessions() as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert row.prefix == raw[:10]
        assert row.name == "rapport"
        assert row.user_id == owner.id
        assert row.expires_at is None
        assert row.revoked_at is None
    stored = all_text(sessions, "api_tokens")
    assert raw not in stored
    assert raw[4:] not in stored
    assert raw not in all_text(sessions, "audit_events")
    [*_, event] = audit_rows(sessions)
    assert (event.action, event.object_type, event.object_id) == (
        "token.create",
        "api_token",
        str(token_id),
    )
    assert event.details == {"user_id": owner.id}


def test_tokens_are_unique(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    raws = {make_token(sessions, owner)[1] for _ in range(5)}
    assert len(raws) == 5


def test_token_names(sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests) -> None:
    owner = make_user("analyst", ["Oslo"])
    for name, stored in (("   ", "API-nøkkel"), ("  skript  ", "skript"), ("n" * 150, "n" * 100)):
        with subtests.test(name=name):
            token_id, _ = make_token(sessions, owner, name=name)
            with sessions() as session:
                token = session.get(ApiToken, token_id)
                assert token is not None
                assert token.name == stored


def test_token_resolves_to_its_owner(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    token_id, raw = make_token(sessions, owner, lifetime=timedelta(days=30))
    assert resolve_token(sessions, raw).id == owner.id
    with sessions() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.last_used_at is not None
        assert token.expires_at is not None
        assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)


def test_unknown_token_is_refused(
    sessions: Sessions, make_user: MakeUser, subtests: pytest.Subtests
) -> None:
    _, real = make_token(sessions, make_user("analyst", ["Oslo"]))
    for raw in ("", "stm_", "stm_nonsense", f"Bearer {real}", real[:-1], real.upper(), "x" * 200):
        with subtests.test(raw=raw), pytest.raises(AuthenticationError, match="Ugyldig eller"):
            resolve_token(sessions, raw)


def test_revoked_token_is_refused(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    token_id, raw = make_token(sessions, owner)
    with transaction(sessions) as session:
        service.revoke_token(session, me(owner), token_id)
    with pytest.raises(AuthenticationError):
        resolve_token(sessions, raw)
    assert actions(sessions)[-1] == "token.revoke"
    with sessions() as session, pytest.raises(NotFoundError):
        service.revoke_token(session, me(owner), token_id)  # already revoked


def test_only_the_owner_revokes(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    admin = make_user("admin")
    token_id, raw = make_token(sessions, owner)
    with sessions() as session:
        with pytest.raises(NotFoundError):
            service.revoke_token(session, me(admin), token_id)
        with pytest.raises(NotFoundError):
            service.revoke_token(session, me(owner), 999_999)
    assert resolve_token(sessions, raw).id == owner.id


def test_expired_token_is_refused(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    token_id, raw = make_token(sessions, owner, lifetime=timedelta(hours=1))
    assert resolve_token(sessions, raw).id == owner.id
    with transaction(sessions) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(AuthenticationError):
        resolve_token(sessions, raw)


def test_disabled_owners_token_is_refused(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    _, raw = make_token(sessions, owner)
    with transaction(sessions) as session:
        service.set_user_active(session, CLI, owner.id, False)
    with pytest.raises(AuthenticationError):
        resolve_token(sessions, raw)
    with pytest.raises(InvalidInputError, match="deaktivert"):
        make_token(sessions, owner, actor=CLI)


def test_tokens_for_someone_else(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("operator", ["Oslo"])
    leader_vest = me(make_user("leader", ["Vest"]))
    _, raw = make_token(sessions, owner, actor=CLI)  # `stemme token create --user`
    assert resolve_token(sessions, raw).id == owner.id
    with pytest.raises(NotFoundError):
        make_token(sessions, owner, actor=leader_vest)


def test_list_tokens(sessions: Sessions, make_user: MakeUser) -> None:
    owner = make_user("analyst", ["Oslo"])
    other = make_user("analyst", ["Oslo"])
    first, _ = make_token(sessions, owner, name="første")
    second, _ = make_token(sessions, owner, name="andre")
    revoked, _ = make_token(sessions, owner, name="trukket")
    make_token(sessions, other, name="andres")
    with transaction(sessions) as session:
        service.revoke_token(session, me(owner), revoked)
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == first)
            .values(created_at=utcnow() - timedelta(days=1))
        )
    with sessions() as session:
        assert [t.id for t in service.list_tokens(session, me(owner))] == [second, first]
        assert [t.name for t in service.list_tokens(session, me(other))] == ["andres"]
        assert service.list_tokens(session, CLI) == []


def test_deleting_a_user_deletes_sessions_and_tokens(
    sessions: Sessions, make_user: MakeUser
) -> None:
    """Retention: tokens and sessions go with the account (ON DELETE CASCADE)."""
    owner = make_user("analyst", ["Oslo"])
    start(sessions, owner)
    make_token(sessions, owner)
    with transaction(sessions) as session:
        session.execute(text("DELETE FROM users WHERE id = :id"), {"id": owner.id})
    assert count(sessions, WebSession) == 0
    assert count(sessions, ApiToken) == 0
    assert count(sessions, UserDistrict) == 0
