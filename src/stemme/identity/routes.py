"""JSON API for identity: the caller, users, own tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from stemme.identity import audit, service
from stemme.identity.access import Permission, Principal
from stemme.identity.models import User
from stemme.identity.schemas import (
    AuditEventOut,
    AuditPageOut,
    AuditVerifyOut,
    Me,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserOut,
    UserUpdate,
)
from stemme.web.deps import DbSession, api_principal

router = APIRouter(tags=["identity"])

Db = DbSession
Caller = Annotated[Principal, Depends(api_principal)]


def _out(user: User) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/me", response_model=Me)
def me(session: Db, caller: Caller) -> Me:
    user = session.get(User, caller.user_id)
    assert user is not None  # resolved from a live token in this transaction
    permissions = sorted(p.value for p in Permission if caller.can(p))
    return Me(user=_out(user), permissions=permissions)


@router.post("/me/tokens", response_model=TokenCreated, status_code=201)
def create_own_token(session: Db, caller: Caller, body: TokenCreate) -> TokenCreated:
    user = session.get(User, caller.user_id)
    assert user is not None
    token, raw = service.create_token(session, caller, user, body.name)
    return TokenCreated(id=token.id, name=token.name, token=raw)


@router.get("/users", response_model=list[UserOut])
def list_users(session: Db, caller: Caller) -> list[UserOut]:
    return [_out(u) for u in service.list_users(session, caller)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(session: Db, caller: Caller, body: UserCreate) -> UserOut:
    data = service.UserInput(body.email, body.role, tuple(body.districts), body.display_name)
    return _out(service.create_user(session, caller, data, body.password))


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(session: Db, caller: Caller, user_id: int) -> UserOut:
    return _out(service.get_user(session, caller, user_id))


@router.put("/users/{user_id}", response_model=UserOut)
def update_user(session: Db, caller: Caller, user_id: int, body: UserUpdate) -> UserOut:
    user = service.get_user(session, caller, user_id)
    data = service.UserInput(user.email, body.role, tuple(body.districts), body.display_name)
    return _out(service.update_user(session, caller, user_id, data))


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(session: Db, caller: Caller, user_id: int) -> UserOut:
    return _out(service.set_user_active(session, caller, user_id, active=False))


@router.post("/users/{user_id}/enable", response_model=UserOut)
def enable_user(session: Db, caller: Caller, user_id: int) -> UserOut:
    return _out(service.set_user_active(session, caller, user_id, active=True))


@router.get("/audit", response_model=AuditPageOut)
def audit_events(
    session: Db,
    caller: Caller,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    district: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> AuditPageOut:
    flt = audit.AuditFilter(action, actor, object_type, district, since, until)
    result = audit.search(session, caller, flt, page)
    items = [AuditEventOut.model_validate(e) for e in result.items]
    return AuditPageOut(total=result.total, page=result.page, pages=result.pages, items=items)


@router.get("/audit/verify", response_model=AuditVerifyOut)
def audit_verify(session: Db, caller: Caller) -> AuditVerifyOut:
    result = audit.verify(session, caller)
    return AuditVerifyOut(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
    )
