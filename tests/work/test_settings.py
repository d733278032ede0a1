"""The job setting `max_leases_per_worker` is checked on create and on change, and the
workspace's default is read from TRUTHSET_MAX_LEASES_PER_WORKER."""

from __future__ import annotations

import pytest

from truthset.config import load_settings
from truthset.errors import BadInput
from truthset.jobs.service import get_job, update_job


@pytest.mark.parametrize("value", [0, -1, 1001, "2", 1.5, True, [1]])
def test_a_bad_limit_is_refused_by_name(ws, setup_factory, value):
    setup = setup_factory(ws, n_items=2, n_workers=1)
    with pytest.raises(BadInput, match=r"settings\.max_leases_per_worker must be a whole number"):
        setup.job(settings={"max_leases_per_worker": value})
    setup.job(settings={"max_leases_per_worker": 2})
    with pytest.raises(BadInput, match="max_leases_per_worker"), ws.db.session_scope() as s:
        update_job(s, get_job(s, "job"), {"settings": {"max_leases_per_worker": value}})


def test_the_workspace_default(tmp_path, monkeypatch):
    assert load_settings(tmp_path).max_leases_per_worker == 1
    monkeypatch.setenv("TRUTHSET_MAX_LEASES_PER_WORKER", "4")
    assert load_settings(tmp_path).max_leases_per_worker == 4
    for bad in ("0", "two", "-3"):
        monkeypatch.setenv("TRUTHSET_MAX_LEASES_PER_WORKER", bad)
        with pytest.raises(ValueError, match="TRUTHSET_MAX_LEASES_PER_WORKER must be"):
            load_settings(tmp_path)
