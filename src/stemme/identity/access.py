"""Roles, permissions and the principal every service call is made on behalf of.

Authorisation lives here and in the services, not in the routes: a service takes a
``Principal``, calls ``require`` and narrows every query with ``scope_filter``, so a
query that forgets the district scope cannot be written by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, true

from stemme.errors import N_, PermissionDeniedError


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    ANALYST = "analyst"
    OPERATOR = "operator"
    INITIATIVE_OWNER = "initiative_owner"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.LEADER: N_("Leder"),
    Role.ANALYST: N_("Analytiker"),
    Role.OPERATOR: N_("Operatør"),
    Role.INITIATIVE_OWNER: N_("Initiativeier"),
}


class Permission(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    MANAGE_USERS = "manage_users"
    GRANT_ADMIN = "grant_admin"
    READ_AUDIT = "read_audit"
    VERIFY_AUDIT = "verify_audit"
    VIEW_INBOX = "view_inbox"  # conversations with redacted text only
    WORK_INBOX = "work_inbox"  # replies, notes, assignment, status, triage corrections
    READ_ORIGINALS = "read_originals"  # a message's unredacted original (audited)
    MANAGE_INBOX = "manage_inbox"  # opening hours and canned replies of a district


_EVERYONE = frozenset({Permission.VIEW_DASHBOARD, Permission.MANAGE_OWN_TOKENS})
_INBOX = frozenset({Permission.VIEW_INBOX, Permission.WORK_INBOX, Permission.READ_ORIGINALS})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.LEADER: _EVERYONE
    | _INBOX
    | {Permission.MANAGE_USERS, Permission.READ_AUDIT, Permission.MANAGE_INBOX},
    Role.ANALYST: _EVERYONE | {Permission.VIEW_INBOX},
    Role.OPERATOR: _EVERYONE | _INBOX,
    Role.INITIATIVE_OWNER: _EVERYONE,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user (with role and district scope) or the command line."""

    user_id: int | None
    label: str
    role: Role
    districts: frozenset[str] | None  # None: the whole country

    @property
    def is_national(self) -> bool:
        return self.districts is None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDeniedError(
                "Rollen din (%(role)s) gir ikke tilgang til dette.", role=ROLE_LABELS[self.role]
            )

    def covers(self, district: str | None) -> bool:
        """True when this principal may see data of ``district`` (None: national data)."""
        if self.districts is None:
            return True
        return district is not None and district in self.districts

    def covers_all(self, districts: frozenset[str] | None) -> bool:
        """True when every district in ``districts`` (None: the whole country) is covered."""
        if self.districts is None:
            return True
        return districts is not None and districts <= self.districts

    def require_district(self, district: str | None) -> None:
        if not self.covers(district):
            raise PermissionDeniedError("Du har ikke tilgang til data fra dette politidistriktet.")

    def scope_filter(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause limiting ``column`` (a district column) to this principal's scope."""
        if self.districts is None:
            return true()
        return column.in_(sorted(self.districts))  # type: ignore[no-any-return]

    def narrowed_to(self, district: str | None) -> Principal:
        """The same principal seeing only one district (the district switcher)."""
        if district is None:
            return self
        self.require_district(district)
        return replace(self, districts=frozenset({district}))


def command_line_principal(label: str = "cli") -> Principal:
    """The operator at the server's command line: full rights, audited as ``cli``."""
    return Principal(user_id=None, label=label, role=Role.ADMIN, districts=None)
