"""Users, login, browser sessions and API tokens. Framework-free; every call takes a Principal."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from stemme import geo
from stemme.db import utcnow
from stemme.errors import (
    N_,
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from stemme.identity import audit
from stemme.identity.access import Permission, Principal, Role
from stemme.identity.models import ApiToken, User, UserDistrict, WebSession
from stemme.identity.passwords import hash_password, needs_rehash, verify_password

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "stm_"  # noqa: S105 - a public prefix, not a secret


def principal_of(user: User, label: str | None = None) -> Principal:
    districts = None if user.national_scope else frozenset(user.districts)
    return Principal(user.id, label or user.email, Role(user.role), districts)


# --- users -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserInput:
    email: str
    role: str
    districts: tuple[str, ...] = ()  # empty: the whole country
    display_name: str = ""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise InvalidInputError("Ugyldig e-postadresse: %(email)s", email=email)
    return email


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise InvalidInputError(
            "Ukjent rolle: %(role)s (gyldige: %(roles)s)",
            role=role,
            roles=", ".join(r.value for r in Role),
        ) from None


def parse_districts(names: Iterable[str]) -> frozenset[str] | None:
    """Canonical district names; an empty list means the whole country (None)."""
    districts = frozenset(geo.normalise_district(name) for name in names if name.strip())
    return districts or None


def create_user(session: Session, actor: Principal, data: UserInput, password: str) -> User:
    email = normalise_email(data.email)
    role = parse_role(data.role)
    districts = parse_districts(data.districts)
    _require_may_grant(actor, role, districts)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("Det finnes allerede en bruker med e-post %(email)s.", email=email)
    user = User(
        email=email,
        display_name=data.display_name.strip()[:200],
        role=role.value,
        national_scope=districts is None,
        password_hash=hash_password(password),
    )
    user.district_rows = [UserDistrict(district=d) for d in sorted(districts or ())]
    session.add(user)
    session.flush()
    _audit_user(session, actor, "user.create", user)
    return user


def update_user(session: Session, actor: Principal, user_id: int, data: UserInput) -> User:
    user = get_user(session, actor, user_id)
    role = parse_role(data.role)
    districts = parse_districts(data.districts)
    _require_may_manage(actor, user)
    _require_may_grant(actor, role, districts)
    if actor.user_id == user.id and role != Role(user.role):
        raise InvalidInputError("Du kan ikke endre din egen rolle.")
    user.role = role.value
    user.display_name = data.display_name.strip()[:200]
    user.national_scope = districts is None
    _replace_districts(user, districts or frozenset())
    session.flush()
    _audit_user(session, actor, "user.update", user)
    return user


def _replace_districts(user: User, wanted: frozenset[str]) -> None:
    """Keep rows still wanted and add the new ones (delete-then-insert of the same district
    in one flush would trip the unique constraint)."""
    user.district_rows = [row for row in user.district_rows if row.district in wanted]
    have = {row.district for row in user.district_rows}
    user.district_rows += [UserDistrict(district=d) for d in sorted(wanted - have)]


def set_user_active(session: Session, actor: Principal, user_id: int, active: bool) -> User:
    user = get_user(session, actor, user_id)
    _require_may_manage(actor, user)
    if actor.user_id == user.id and not active:
        raise InvalidInputError("Du kan ikke deaktivere deg selv.")
    user.is_active = active
    user.disabled_at = None if active else utcnow()
    user.failed_logins = 0
    user.locked_until = None
    if not active:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    _audit_user(session, actor, "user.enable" if active else "user.disable", user)
    return user


def disable_user_by_email(session: Session, actor: Principal, email: str) -> User:
    user = get_user_by_email(session, actor, email)
    return set_user_active(session, actor, user.id, active=False)


def get_user(session: Session, actor: Principal, user_id: int) -> User:
    actor.require(Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None or not _visible_to(actor, user):
        raise NotFoundError("Fant ingen bruker med id %(id)s.", id=user_id)
    return user


def get_user_by_email(session: Session, actor: Principal, email: str) -> User:
    actor.require(Permission.MANAGE_USERS)
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not _visible_to(actor, user):
        raise NotFoundError("Fant ingen bruker med e-post %(email)s.", email=email)
    return user


def list_users(session: Session, actor: Principal) -> list[User]:
    """Users the actor may manage: everyone for national scope, else those sharing a district."""
    actor.require(Permission.MANAGE_USERS)
    query = select(User).order_by(User.email)
    if actor.districts is not None:
        query = query.where(
            User.id.in_(
                select(UserDistrict.user_id).where(actor.scope_filter(UserDistrict.district))
            )
        )
    return list(session.scalars(query))


def _visible_to(actor: Principal, user: User) -> bool:
    if actor.districts is None:
        return True
    return not user.national_scope and bool(actor.districts & set(user.districts))


def _require_may_grant(actor: Principal, role: Role, districts: frozenset[str] | None) -> None:
    actor.require(Permission.MANAGE_USERS)
    if role == Role.ADMIN:
        actor.require(Permission.GRANT_ADMIN)
    if not actor.covers_all(districts):
        raise PermissionDeniedError("Du kan bare gi tilgang til dine egne politidistrikter.")


def _require_may_manage(actor: Principal, user: User) -> None:
    """Changing an account needs rights over all of it: admins only by admins, and only
    accounts whose whole scope the actor covers (else a reset password widens the actor)."""
    if Role(user.role) == Role.ADMIN:
        actor.require(Permission.GRANT_ADMIN)
    scope = None if user.national_scope else frozenset(user.districts)
    if not actor.covers_all(scope):
        raise PermissionDeniedError(
            "Brukeren har tilgang utenfor dine politidistrikter; be en administrator."
        )


def _audit_user(session: Session, actor: Principal, action: str, user: User) -> None:
    districts = user.districts
    audit.record(
        session,
        actor,
        action,
        "user",
        user.id,
        district=districts[0] if len(districts) == 1 else None,
        details={
            "role": user.role,
            "districts": list(districts) or ["*"],
            "active": user.is_active,
        },
    )


# --- password login and lockout ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


GENERIC_LOGIN_ERROR = N_("Feil e-post eller passord.")


def authenticate(session: Session, email: str, password: str, policy: LoginPolicy) -> User:
    """The active user with these credentials; every failure looks the same to the caller."""
    now = utcnow()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(None, password)
        audit.record(session, None, "login.failed", "user", "unknown")
        raise AuthenticationError(GENERIC_LOGIN_ERROR)
    if user.locked_until and user.locked_until > now:
        audit.record(session, None, "login.locked", "user", user.id)
        raise AuthenticationError(
            "Kontoen er midlertidig låst etter for mange mislykkede forsøk. Prøv igjen senere."
        )
    if not verify_password(user.password_hash, password) or not user.is_active:
        _register_failure(session, user, now, policy)
        raise AuthenticationError(GENERIC_LOGIN_ERROR)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record(session, principal_of(user), "login.succeeded", "user", user.id)
    return user


def _register_failure(session: Session, user: User, now: datetime, policy: LoginPolicy) -> None:
    user.failed_logins += 1
    details: dict[str, object] = {"failures": user.failed_logins}
    if user.failed_logins >= policy.max_failures:
        user.locked_until = now + policy.lockout
        user.failed_logins = 0
        details["locked"] = True
    audit.record(session, None, "login.failed", "user", user.id, details=details)


def change_password(session: Session, actor: Principal, current: str, new: str) -> None:
    user = _own_user(session, actor)
    if not verify_password(user.password_hash, current):
        raise InvalidInputError("Nåværende passord er feil.")
    user.password_hash = hash_password(new)
    audit.record(session, actor, "user.password_changed", "user", user.id)


def set_password(session: Session, actor: Principal, user_id: int, password: str) -> None:
    user = get_user(session, actor, user_id)
    _require_may_manage(actor, user)
    user.password_hash = hash_password(password)
    audit.record(session, actor, "user.password_reset", "user", user.id)


def _own_user(session: Session, actor: Principal) -> User:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise AuthenticationError("Du må logge inn.")
    return user


# --- browser sessions --------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start_session(session: Session, user: User, lifetime: timedelta) -> str:
    """A new session (never reusing one from before login) and its cookie value."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            id=_digest(raw), user=user, created_at=now, last_seen_at=now, expires_at=now + lifetime
        )
    )
    session.flush()
    return raw


def resolve_session(session: Session, raw: str, idle: timedelta) -> WebSession | None:
    """The live session for a cookie value, sliding its idle timer; None when expired."""
    web_session = session.get(WebSession, _digest(raw))
    if web_session is None:
        return None
    now = utcnow()
    expired = web_session.expires_at <= now or web_session.last_seen_at + idle <= now
    if expired or not web_session.user.is_active:
        session.delete(web_session)
        return None
    if now - web_session.last_seen_at > timedelta(minutes=1):
        web_session.last_seen_at = now
    return web_session


def end_session(session: Session, raw: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == _digest(raw)))


def set_active_district(
    session: Session, web_session: WebSession, actor: Principal, district: str | None
) -> None:
    if district:
        district = geo.normalise_district(district)
        actor.require_district(district)
    web_session.active_district = district or None


def expired_sessions(now: datetime) -> Select[Any]:
    """The ids of the sessions expired at ``now`` (the sessions' retention rule)."""
    return select(WebSession.id).where(WebSession.expires_at <= now)


ACCOUNT_RETENTION = timedelta(days=365)


def disabled_accounts(now: datetime) -> Select[Any]:
    """The ids of the accounts disabled more than ``ACCOUNT_RETENTION`` ago (the accounts'
    retention rule). Their districts, tokens and sessions go with them; conversations,
    messages and notes keep their rows with the author or assignee emptied (ON DELETE SET
    NULL); the audit log keeps its own record of who did what."""
    return select(User.id).where(
        User.is_active.is_(False), User.disabled_at <= now - ACCOUNT_RETENTION
    )


def purge_expired_sessions(session: Session) -> int:
    expired = WebSession.id.in_(expired_sessions(utcnow()))
    result = session.execute(delete(WebSession).where(expired))
    return int(getattr(result, "rowcount", 0) or 0)


# --- API tokens -------------------------------------------------------------------------


def create_token(
    session: Session, actor: Principal, user: User, name: str, lifetime: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``; the raw value is returned once and never stored."""
    if actor.user_id != user.id:  # minting a token for someone else acts as them
        _require_may_manage(actor, get_user(session, actor, user.id))
    actor.require(Permission.MANAGE_OWN_TOKENS)
    if not user.is_active:
        raise InvalidInputError("Brukeren er deaktivert.")
    name = name.strip()[:100] or "API-nøkkel"
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + lifetime if lifetime else None
    token = ApiToken(
        user=user, name=name, token_hash=_digest(raw), prefix=raw[:10], expires_at=expires
    )
    session.add(token)
    session.flush()
    audit.record(
        session, actor, "token.create", "api_token", token.id, details={"user_id": user.id}
    )
    return token, raw


def list_tokens(session: Session, actor: Principal) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, actor: Principal, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id or token.revoked_at is not None:
        raise NotFoundError("Fant ingen API-nøkkel med id %(id)s.", id=token_id)
    token.revoked_at = utcnow()
    audit.record(session, actor, "token.revoke", "api_token", token.id)


def resolve_token(session: Session, raw: str) -> User:
    """The active user owning a live token, or AuthenticationError."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not token.user.is_active
    ):
        raise AuthenticationError("Ugyldig eller utløpt API-nøkkel.")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token.user
