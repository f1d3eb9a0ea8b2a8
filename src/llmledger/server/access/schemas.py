"""Request and response bodies of the access-control API (camelCase, as everywhere)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "org_admin", "viewer"]
#: text that PostgreSQL can store (it refuses NUL, which would otherwise be a 500)
NO_NUL = r"^[^\x00]*$"
ORG = Field(default=None, min_length=1, max_length=256, pattern=NO_NUL)
NAME = Field(default="", max_length=256, pattern=NO_NUL)
#: ids are 32-bit integers in the database; larger ones would be a 500 on PostgreSQL
ID_MAX = 2_147_483_647


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    email: str = Field(min_length=1, max_length=320, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024)


class PasswordIn(_In):
    currentPassword: str = Field(min_length=1, max_length=1024)
    newPassword: str = Field(min_length=1, max_length=1024)


class UserIn(_In):
    email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    name: str = NAME
    role: Role
    orgId: str | None = ORG
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class UserPatch(_In):
    name: str | None = Field(default=None, max_length=256, pattern=NO_NUL)
    role: Role | None = None
    orgId: str | None = ORG
    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    orgId: str | None
    active: bool
    hasPassword: bool
    createdAt: str
    updatedAt: str


class UsersOut(BaseModel):
    users: list[UserOut]


class MeOut(BaseModel):
    kind: str = Field(description="session, token or ingest_key")
    role: str
    orgId: str | None
    user: UserOut | None
    csrfToken: str | None = Field(
        description="Send as X-CSRF-Token with every state-changing request made with the "
        "session cookie; null for bearer tokens."
    )


class LoginOut(BaseModel):
    user: UserOut
    csrfToken: str
    expiresAt: str


class TokenIn(_In):
    name: str = Field(default="api", min_length=1, max_length=256, pattern=NO_NUL)
    userId: int | None = Field(default=None, ge=1, le=ID_MAX)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    orgId: str | None
    userId: int | None
    userEmail: str | None
    createdAt: str
    lastUsedAt: str | None
    revokedAt: str | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself: shown this once, never again.")


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class KeyIn(_In):
    name: str = Field(default="ingest", min_length=1, max_length=256, pattern=NO_NUL)
    orgId: str | None = ORG


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    orgId: str
    createdAt: str
    lastUsedAt: str | None
    revokedAt: str | None


class NewKeyOut(KeyOut):
    key: str = Field(description="The ingest key itself: shown this once, never again.")


class KeysOut(BaseModel):
    keys: list[KeyOut]


class AuditActorOut(BaseModel):
    kind: str
    userId: int | None
    label: str
    role: str
    credentialId: int | None


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: AuditActorOut
    ip: str | None
    action: str
    target: str
    orgId: str | None
    before: Any
    after: Any


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut]
    nextCursor: int | None
