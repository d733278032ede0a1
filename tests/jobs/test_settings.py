"""Job settings sections: registered checks run on create and on change, and after-create
hooks once the tasks exist, without jobs importing the domains that own them."""

from __future__ import annotations

import pytest

from support import job_over_items
from truthset.errors import BadInput
from truthset.jobs.service import get_job, update_job
from truthset.jobs.settings import JOB_SETTINGS, SettingsSection
from truthset.tasktypes import all_task_types


@pytest.fixture
def recording_section():
    calls: list[tuple] = []

    def check(_session, task_type, settings):
        if settings.get("review_budget", 0) < 0:
            raise BadInput("settings.review_budget must not be negative")
        calls.append(("check", task_type, settings.get("review_budget")))

    section = SettingsSection(
        key="review_budget",
        description="a test's own section",
        check=check,
        check_change=lambda _s, job, settings: calls.append(("change", job.name)),
        after_create=lambda s, job: calls.append(("created", job.name, len(job.settings))),
    )
    JOB_SETTINGS.register("review_budget", section)
    yield calls
    JOB_SETTINGS._entries.pop("review_budget")  # noqa: SLF001 - undo the test's entry


def test_a_registered_section_is_checked_on_create_and_change(ws, recording_section):
    job_over_items(ws, "j", [{"source": "a"}], ["x", "y"], teams=(), settings={"review_budget": 3})
    assert recording_section == [("check", "text-classification", 3), ("created", "j", 1)]
    with ws.db.session_scope() as s:
        update_job(s, get_job(s, "j"), {"settings": {"review_budget": 5}})
    assert recording_section[-2:] == [("check", "text-classification", 5), ("change", "j")]
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="review_budget"):
        update_job(s, get_job(s, "j"), {"settings": {"review_budget": -1}})
    with pytest.raises(BadInput, match="must not be negative"):
        job_over_items(
            ws, "k", [{"source": "b"}], ["x", "y"], teams=(), settings={"review_budget": -1}
        )
    with ws.db.session_scope(write=False) as s, pytest.raises(Exception, match="'k' not found"):
        get_job(s, "k")  # nothing was written


def test_auto_labeling_follows_the_task_types_own_flag(ws):
    supported = sorted(n for n, t in all_task_types().items() if t.supports_auto_labeling)
    assert supported == ["bounding-box", "image-classification", "text-classification"]
    items = [{"source-ref": str(ws.settings.media_dir / "a.png")}]
    with pytest.raises(BadInput, match="automated labeling supports bounding-box, image-clas"):
        job_over_items(
            ws,
            "seg",
            items,
            ["cat"],
            task_type="semantic-segmentation",
            label_attribute="seg-ref",
            teams=(),
            settings={"auto_label": True},
        )


def test_an_unknown_consolidation_method_is_refused_when_the_job_is_made(ws):
    with pytest.raises(BadInput, match=r"settings.quality.method 'nope' is not one of: mv, "):
        job_over_items(
            ws,
            "q",
            [{"source": "a"}],
            ["x", "y"],
            teams=(),
            settings={"quality": {"method": "nope"}},
        )
    job_over_items(
        ws,
        "q2",
        [{"source": "a"}],
        ["x", "y"],
        teams=(),
        settings={"quality": {"method": "crowdlab"}},
        dataset="q2-items",
    )
