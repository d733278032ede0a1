from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=2000, description="manifest/CSV path, folder, or s3:// URI")
    id_key: str = Field(default="id", max_length=100)
    skip_invalid: bool = False
    wait: bool = Field(default=False, description="import inside the request instead of a run")
    labels: bool = Field(
        default=True,
        description="read the lines' Ground Truth labels (attr / attr-metadata) as labels",
    )
    label_configs: dict[str, Any] = Field(
        default_factory=dict,
        description="label attribute (or '*') -> label category file the class ids follow",
    )
    extract_video_frames: str | None = Field(
        default=None,
        max_length=2000,
        description="a folder or s3:// prefix inside the allowed roots: the source's videos "
        "are extracted there into frame sequences and imported as sequence items "
        "(a background run: not with wait)",
    )
