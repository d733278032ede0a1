"""What the audit trail and the source-IP guard cost every request (issue 15), measured on
the ASGI calls alone around an app that answers at once:

    .venv/bin/python benchmarks/request_guards.py [--requests 20000]

A worker's POST /api/jobs/j/next with an API token is sent (1) to the bare app, (2) through
`AuditTrail(SourceIpGuard(app))` with no allow-list anywhere (the default), (3) the same
with a workforce list and a team list the worker's address is in (the guard then finds the
caller from the token cache and checks both lists). Microseconds per request, best of 3.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from truthset.api.tokens import issue_token
from truthset.audit.middleware import AuditTrail
from truthset.config import load_settings
from truthset.workforce import ip_allow
from truthset.workforce.ip_guard import SourceIpGuard
from truthset.workforce.service import create_user
from truthset.workspace import open_workspace


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    pass


async def _per_request(app: Any, make_scope: Any, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            await app(make_scope(), _receive, _send)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    ws = open_workspace(load_settings(Path(tempfile.mkdtemp()) / "data", None))
    with ws.db.session_scope() as s:
        token = issue_token(s, create_user(s, "w1", teams=["crew"]))

    class _App:
        class state:  # noqa: N801 - what Starlette's app.state looks like
            workspace = ws

    def make_scope() -> dict[str, Any]:
        return {
            "type": "http",
            "method": "POST",
            "path": "/api/jobs/j/next",
            "app": _App,
            "client": ("10.1.2.3", 5000),
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }

    async def run() -> None:
        guarded = AuditTrail(SourceIpGuard(_answer))
        bare = await _per_request(_answer, make_scope, args.requests)
        no_lists = await _per_request(guarded, make_scope, args.requests)
        with ws.db.session_scope() as s:
            ip_allow.set_workforce_cidrs(s, ["10.0.0.0/8"])
            ip_allow.set_team_cidrs(s, "crew", ["10.1.0.0/16"])
        lists = await _per_request(guarded, make_scope, args.requests)
        print(
            f"bare app {bare:.1f} us; + audit trail and guard, no lists {no_lists:.1f} us "
            f"(+{no_lists - bare:.1f}); with a workforce and a team list {lists:.1f} us "
            f"(+{lists - bare:.1f}) per request"
        )

    asyncio.run(run())
    ws.close()


if __name__ == "__main__":
    main()
