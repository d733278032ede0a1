from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditEventRead(BaseModel):
    id: int
    at: float
    actor: str | None
    actor_role: str | None
    action: str
    target: str | None
    outcome: str
    status: int | None
    address: str | None
    detail: dict[str, Any] | None
