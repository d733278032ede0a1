"""The `confirm_empty_answer` job setting: checked on create and change, given to the task
page with the job's instructions."""

from __future__ import annotations

import pytest

from support import job_over_items
from truthset.errors import BadInput
from truthset.jobs.service import get_job, update_job
from truthset.web.tool_settings import confirm_empty_answer
from web.ui_support import Site


def test_confirm_empty_answer_is_a_boolean_checked_on_create_and_change(ws) -> None:
    with pytest.raises(BadInput, match=r"settings.confirm_empty_answer must be true or false"):
        job_over_items(
            ws,
            "j",
            [{"source": "a"}],
            ["x", "y"],
            teams=(),
            settings={"confirm_empty_answer": "no"},
        )
    with ws.db.session_scope(write=False) as s, pytest.raises(Exception, match="not found"):
        get_job(s, "j")  # nothing was written
    job_over_items(ws, "j", [{"source": "a"}], ["x", "y"], teams=())
    with ws.db.session_scope() as s:
        job = get_job(s, "j")
        assert confirm_empty_answer(job.settings) is True  # the default
        update_job(s, job, {"settings": {"confirm_empty_answer": False}})
        assert confirm_empty_answer(job.settings) is False
        with pytest.raises(BadInput, match="not 1"):
            update_job(s, job, {"settings": {"confirm_empty_answer": 1}})


def test_the_task_page_reads_the_setting_with_the_instructions(site: Site) -> None:
    on = site.job("text-classification", ["a", "b"], [{"source": "x"}])
    off = site.job(
        "text-classification",
        ["a", "b"],
        [{"source": "x"}],
        settings={"confirm_empty_answer": False},
    )
    got = [site.api("worker1", "GET", f"/api/ui/jobs/{j}/instructions").json() for j in (on, off)]
    assert [g["confirm_empty_answer"] for g in got] == [True, False]
