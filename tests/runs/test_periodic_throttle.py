"""A periodic hook's turns are counted per database: one process may serve several
workspaces, and one workspace's executor must not take another's turns."""

from __future__ import annotations

from truthset.runs.periodic import Throttle


def test_turns_are_per_database(ws, tmp_path) -> None:
    from conftest import make_workspace

    other = make_workspace(tmp_path / "other")
    throttle = Throttle()
    try:
        with ws.db.session_scope(write=False) as a, other.db.session_scope(write=False) as b:
            assert throttle.due(a, 100.0, 2.0)
            assert throttle.due(b, 100.5, 2.0)  # another database: its own turn
            assert not throttle.due(a, 101.0, 2.0)
            assert throttle.due(a, 102.0, 2.0)
            assert throttle.due(b, 99.0, 2.0)  # a clock that went back is due
    finally:
        other.close()
