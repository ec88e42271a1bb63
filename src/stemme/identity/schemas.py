"""Pydantic shapes of the identity JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: str
    districts: list[str] = Field(description="Empty when national_scope is true")
    national_scope: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    email: str
    role: str
    districts: list[str] = Field(default_factory=list, description="Empty: the whole country")
    display_name: str = ""
    password: str = Field(min_length=1)


class UserUpdate(BaseModel):
    role: str
    districts: list[str] = Field(default_factory=list)
    display_name: str = ""


class Me(BaseModel):
    user: UserOut
    permissions: list[str]


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    district: str | None
    details: dict[str, Any]
    hash: str


class AuditPageOut(BaseModel):
    total: int
    page: int
    pages: int
    items: list[AuditEventOut]


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str


class TokenCreate(BaseModel):
    name: str = "API-nøkkel"


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="Shown once; only its hash is stored")
