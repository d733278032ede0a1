"""Request bodies of the jobs API; `JobCreate` is also what the service creates a job from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobCreate(BaseModel):
    """What a requester asks for, from the API, the command line or code; the values are
    checked by `jobs.service.create_job` (ranges, names, inputs, settings sections)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(max_length=63)
    task_type: str
    label_config: Any = Field(
        validation_alias="labels",
        description="Ground Truth label category file, or a list of names",
    )
    dataset: str | None = None
    input_job: str | None = Field(default=None, description="chain from this job's output")
    workers_per_item: int = 1
    teams: list[str] = Field(default_factory=list)
    instructions: str = ""
    task_time_limit: int = 300
    task_availability: int = 864000
    max_concurrent_tasks: int = 1000
    max_human_labeled: int | None = None
    max_percentage_labeled: float | None = None
    label_attribute: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class TeamAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str


class JobUpdate(BaseModel):
    """Fields that may change while a job runs; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    instructions: str | None = None
    task_time_limit: int | None = None
    task_availability: int | None = None
    max_concurrent_tasks: int | None = None
    max_human_labeled: int | None = None
    max_percentage_labeled: float | None = None
    settings: dict[str, Any] | None = None
