from __future__ import annotations

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
