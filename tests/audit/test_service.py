"""The audit log's service: an event commits or rolls back with its action."""

from __future__ import annotations

import pytest

from truthset.audit import service
from truthset.errors import Conflict
from truthset.workforce.service import create_team, create_user


def test_an_event_rolls_back_with_its_action(any_ws):
    with any_ws.db.session_scope() as s:
        admin = create_user(s, "root", role="admin")
    with pytest.raises(Conflict), any_ws.db.session_scope() as s:
        create_team(s, "crew")
        service.record(s, actor=admin, action="team.create", target="crew")
        create_team(s, "crew")  # the action fails after its event was written
    with any_ws.db.session_scope(write=False) as s:
        assert service.list_events(s) == []
    with any_ws.db.session_scope() as s:
        create_team(s, "crew")
        service.record(s, actor=admin, action="team.create", target="crew", address="::1")
    with any_ws.db.session_scope(write=False) as s:
        [event] = [service.describe(e) for e in service.list_events(s)]
    assert (event["actor"], event["action"], event["target"], event["address"]) == (
        "root",
        "team.create",
        "crew",
        "::1",
    )


def test_an_action_prefix_is_matched_literally(ws):
    with ws.db.session_scope() as s:
        service.record(s, actor=None, actor_name="x", action="user_create")
        service.record(s, actor=None, actor_name="x", action="user.create")
    with ws.db.session_scope(write=False) as s:
        assert [e.action for e in service.list_events(s, action="user.")] == ["user.create"]
        assert [e.action for e in service.list_events(s, action="user_")] == ["user_create"]


def test_an_unknown_outcome_is_a_programming_error(ws):
    with ws.db.session_scope() as s, pytest.raises(ValueError, match="outcome 'meh'"):
        service.record(s, actor=None, action="x", outcome="meh")
