"""Export requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = "groundtruth"
    out: str | None = Field(
        default=None, description="local path or s3:// URI; default: the server's exports folder"
    )
    labeled_only: bool = False
