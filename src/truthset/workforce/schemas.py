from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    name: str = Field(max_length=100)
    password: str = Field(max_length=200)


class UserCreate(Strict):
    name: str = Field(max_length=100)
    role: str = "worker"
    password: str | None = Field(default=None, max_length=200)
    teams: list[str] = Field(default_factory=list)


class UserUpdate(Strict):
    role: str | None = None
    password: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class UserRead(BaseModel):
    id: int
    name: str
    role: str
    active: bool
    teams: list[str]


class TeamCreate(Strict):
    name: str = Field(max_length=100)


class TeamMemberAdd(Strict):
    user: str = Field(max_length=100)


class TokenCreate(Strict):
    name: str | None = Field(default=None, max_length=100)
    expires_days: float | None = Field(default=None, gt=0, le=36500)


class TokenRead(BaseModel):
    token: str
    user: str


class OidcProviderPut(Strict):
    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=300)
    client_secret: str | None = Field(default=None, max_length=2000)
    display_name: str | None = Field(default=None, max_length=100)
    discovery_url: str | None = Field(default=None, max_length=1000)
    scopes: str = Field(default="openid profile email", max_length=500)
    groups_claim: str = Field(default="groups", max_length=100)
    group_map: dict[str, Any] = Field(default_factory=dict)
    default_role: str = "worker"
    require_group: bool = False
    redirect_base: str | None = Field(default=None, max_length=500)
    enabled: bool = True


class OidcProviderRead(BaseModel):
    name: str
    display_name: str
    issuer: str
    discovery_url: str | None
    client_id: str
    has_client_secret: bool
    scopes: str
    groups_claim: str
    group_map: dict[str, Any]
    default_role: str
    require_group: bool
    redirect_base: str | None
    enabled: bool


class OidcSignInOption(BaseModel):
    name: str
    display_name: str
    start: str


class SourceIpPut(Strict):
    cidrs: list[str] = Field(max_length=100)


class SourceIpRead(BaseModel):
    cidrs: list[str]
    trusted_proxies: list[str]
    teams: dict[str, list[str]]
