"""Roles, permissions and the district scope of a Principal (no database server needed)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.engine import Connection

from stemme.errors import PermissionDeniedError
from stemme.identity.access import (
    ROLE_LABELS,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    command_line_principal,
)

P = Permission
EVERYONE = {P.VIEW_DASHBOARD, P.MANAGE_OWN_TOKENS}
INBOX = {P.VIEW_INBOX, P.WORK_INBOX, P.READ_ORIGINALS}
EXPECTED_PERMISSIONS: dict[Role, set[Permission]] = {
    Role.ADMIN: set(Permission),
    Role.LEADER: EVERYONE | INBOX | {P.MANAGE_USERS, P.READ_AUDIT, P.MANAGE_INBOX},
    Role.ANALYST: EVERYONE | {P.VIEW_INBOX},
    Role.OPERATOR: EVERYONE | INBOX,
    Role.INITIATIVE_OWNER: EVERYONE,
}
ALL_DISTRICTS = ("Oslo", "Vest", "Øst", "Agder", "Finnmark")


def principal(role: Role, districts: set[str] | None = None, user_id: int | None = 1) -> Principal:
    scope = None if districts is None else frozenset(districts)
    return Principal(user_id=user_id, label=f"{role}@test.no", role=role, districts=scope)


# --- the role table ------------------------------------------------------------------------


def test_every_role_has_permissions_and_a_label() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(ROLE_LABELS) == set(Role)
    assert all(isinstance(label, str) and label for label in ROLE_LABELS.values())


def test_role_table_is_exactly_as_designed() -> None:
    assert {role: set(perms) for role, perms in ROLE_PERMISSIONS.items()} == EXPECTED_PERMISSIONS


def test_only_admin_may_grant_admin_or_verify_the_audit_log() -> None:
    for role in Role:
        assert (P.GRANT_ADMIN in ROLE_PERMISSIONS[role]) == (role == Role.ADMIN)
        assert (P.VERIFY_AUDIT in ROLE_PERMISSIONS[role]) == (role == Role.ADMIN)


@pytest.mark.parametrize(
    ("role", "permission", "scope"),
    [
        (role, permission, scope)
        for role, permission in itertools.product(Role, Permission)
        for scope in ("national", "district")
    ],
    ids=lambda value: str(value),
)
def test_can_and_require(role: Role, permission: Permission, scope: str) -> None:
    """Permissions depend on the role only, never on the district scope."""
    actor = principal(role, None if scope == "national" else {"Oslo"})
    allowed = permission in EXPECTED_PERMISSIONS[role]
    assert actor.can(permission) is allowed
    if allowed:
        actor.require(permission)
    else:
        with pytest.raises(PermissionDeniedError) as info:
            actor.require(permission)
        assert ROLE_LABELS[role] in str(info.value)
        assert info.value.status == 403


def test_require_message_is_translatable() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        principal(Role.OPERATOR).require(P.MANAGE_USERS)
    error = info.value
    assert error.message == "Rollen din (%(role)s) gir ikke tilgang til dette."
    assert error.params == {"role": "Operatør"}
    assert error.render(lambda text: text.replace("Rollen din", "Your role")) == (
        "Your role (Operatør) gir ikke tilgang til dette."
    )


# --- district scope ------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_national_principal_covers_everything(role: Role) -> None:
    actor = principal(role, None)
    assert actor.is_national
    assert actor.covers(None)
    for district in ALL_DISTRICTS:
        assert actor.covers(district)
        actor.require_district(district)
    actor.require_district(None)
    assert actor.covers_all(None)
    assert actor.covers_all(frozenset(ALL_DISTRICTS))
    assert actor.covers_all(frozenset())


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("scope", "district", "covered"),
    [
        ({"Oslo"}, "Oslo", True),
        ({"Oslo"}, "Vest", False),
        ({"Oslo"}, None, False),  # national data is not a district's data
        ({"Oslo"}, "oslo", False),  # names are canonical before they get here
        ({"Oslo", "Øst"}, "Øst", True),
        ({"Oslo", "Øst"}, "Oslo", True),
        ({"Oslo", "Øst"}, "Agder", False),
        (set(), "Oslo", False),
    ],
)
def test_district_principal_covers_only_its_districts(
    role: Role, scope: set[str], district: str | None, covered: bool
) -> None:
    actor = principal(role, scope)
    assert not actor.is_national
    assert actor.covers(district) is covered
    if covered:
        actor.require_district(district)
    else:
        with pytest.raises(PermissionDeniedError):
            actor.require_district(district)


@pytest.mark.parametrize(
    ("scope", "wanted", "covered"),
    [
        (None, None, True),
        (None, {"Oslo", "Vest"}, True),
        ({"Oslo"}, {"Oslo"}, True),
        ({"Oslo", "Øst"}, {"Oslo"}, True),
        ({"Oslo", "Øst"}, {"Oslo", "Øst"}, True),
        ({"Oslo"}, set(), True),
        ({"Oslo"}, {"Oslo", "Vest"}, False),
        ({"Oslo"}, {"Vest"}, False),
        ({"Oslo"}, None, False),  # the whole country is more than one district
        ({"Oslo", "Øst"}, None, False),
    ],
)
def test_covers_all(scope: set[str] | None, wanted: set[str] | None, covered: bool) -> None:
    actor = principal(Role.LEADER, scope)
    assert actor.covers_all(None if wanted is None else frozenset(wanted)) is covered


# --- scope_filter against a real (in-memory) table ------------------------------------------

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("district", String(64), nullable=True),
)
ROWS = [("Oslo",), ("Oslo",), ("Vest",), ("Øst",), ("Agder",), (None,)]


@pytest.fixture(scope="module")
def connection() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(things), [{"district": d} for (d,) in ROWS])
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def districts_seen(conn: Connection, actor: Principal) -> list[str | None]:
    query = select(things.c.district).where(actor.scope_filter(things.c.district))
    return sorted(conn.scalars(query), key=lambda d: d or "")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, [None, "Agder", "Oslo", "Oslo", "Vest", "Øst"]),
        ({"Oslo"}, ["Oslo", "Oslo"]),
        ({"Oslo", "Øst"}, ["Oslo", "Oslo", "Øst"]),
        ({"Finnmark"}, []),
        (set(), []),
    ],
)
def test_scope_filter(
    connection: Connection, role: Role, scope: set[str] | None, expected: list[str | None]
) -> None:
    assert districts_seen(connection, principal(role, scope)) == expected


def test_scope_filter_of_a_district_principal_never_includes_national_rows(
    connection: Connection,
) -> None:
    actor = principal(Role.ADMIN, set(ALL_DISTRICTS))
    assert None not in districts_seen(connection, actor)


# --- narrowed_to -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_narrowed_to_none_is_the_same_principal(role: Role) -> None:
    for actor in (principal(role, None), principal(role, {"Oslo", "Vest"})):
        assert actor.narrowed_to(None) is actor


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("scope", "district"),
    [(None, "Oslo"), (None, "Finnmark"), ({"Oslo", "Vest"}, "Vest"), ({"Oslo"}, "Oslo")],
)
def test_narrowed_to_a_covered_district(role: Role, scope: set[str] | None, district: str) -> None:
    actor = principal(role, scope, user_id=42)
    narrowed = actor.narrowed_to(district)
    assert narrowed.districts == frozenset({district})
    assert (narrowed.user_id, narrowed.label, narrowed.role) == (42, actor.label, role)
    assert not narrowed.is_national
    assert narrowed.covers(district)
    assert not narrowed.covers(None)
    # the original is unchanged (frozen dataclass, replaced copy)
    assert actor.districts == (None if scope is None else frozenset(scope))


@pytest.mark.parametrize("role", list(Role))
def test_narrowed_to_an_uncovered_district_is_refused(role: Role) -> None:
    with pytest.raises(PermissionDeniedError):
        principal(role, {"Oslo"}).narrowed_to("Vest")


def test_narrowing_cannot_widen_the_scope() -> None:
    narrowed = principal(Role.LEADER, {"Oslo", "Vest"}).narrowed_to("Oslo")
    with pytest.raises(PermissionDeniedError):
        narrowed.narrowed_to("Vest")


def test_principal_is_immutable() -> None:
    actor = principal(Role.OPERATOR, {"Oslo"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        actor.role = Role.ADMIN  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        actor.districts = None  # type: ignore[misc]


# --- the command line ------------------------------------------------------------------------


def test_command_line_principal() -> None:
    cli = command_line_principal()
    assert cli.user_id is None
    assert cli.label == "cli"
    assert cli.role is Role.ADMIN
    assert cli.is_national
    assert all(cli.can(permission) for permission in Permission)
    assert cli.covers(None)
    assert cli.covers_all(None)


def test_command_line_principal_with_a_label() -> None:
    assert command_line_principal("demo").label == "demo"
    assert command_line_principal("demo").role is Role.ADMIN
