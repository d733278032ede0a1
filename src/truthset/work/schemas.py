from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Any = Field(description='the task type\'s worker answer, e.g. {"label": "cat"}')
    client_key: str | None = Field(
        default=None,
        max_length=100,
        description="retry key: a submit repeated with the same key returns the first result",
    )
    time_spent: float | None = Field(default=None, ge=0, le=7 * 86400)
