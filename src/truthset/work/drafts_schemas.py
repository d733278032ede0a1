from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DraftSave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: dict[str, Any] = Field(
        description="the tool's unfinished answer, as it will restore it (any JSON object)"
    )


class DraftSaved(BaseModel):
    assignment_id: int
    saved_at: float = Field(description="UNIX seconds")
    bytes: int = Field(description="the size of the stored JSON")


class DraftRead(BaseModel):
    assignment_id: int
    content: dict[str, Any]
    saved_at: float
