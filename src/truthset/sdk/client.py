"""`Client`: the truthset API from Python scripts and notebooks.

from truthset.sdk import Client
ts = Client("http://127.0.0.1:8000", token="ts_...")
ts.import_dataset("tweets", "/data/tweets.manifest")
ts.create_job("sentiment", dataset="tweets", task_type="text-classification",
              labels=["positive", "negative"], workers_per_item=3, teams=["crew"])
run = ts.export("sentiment", out="/data/out.manifest")
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx


class TruthsetError(Exception):
    """An API error: HTTP status, the error kind and its detail."""

    def __init__(self, status: int, kind: str, detail: Any):
        super().__init__(f"{status} {kind}: {detail}")
        self.status = status
        self.kind = kind
        self.detail = detail


class Client:
    def __init__(
        self, url: str, token: str, *, timeout: float = 60.0, http: httpx.Client | None = None
    ):
        self.url = url.rstrip("/")
        self.http = http or httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def request(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, f"/api{path}", **kw)
        if r.status_code == 204:
            return None
        if r.status_code >= 400:
            try:
                body = r.json()
                raise TruthsetError(r.status_code, body.get("error", "error"), body.get("detail"))
            except ValueError:
                raise TruthsetError(r.status_code, "error", r.text) from None
        return r.json()

    # -- datasets -------------------------------------------------------------------------
    def datasets(self) -> list[dict[str, Any]]:
        return self.request("GET", "/datasets")

    def import_dataset(
        self,
        name: str,
        source: str,
        *,
        id_key: str = "id",
        skip_invalid: bool = False,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Import from a path or s3:// URI the server can read."""
        out = self.request(
            "POST",
            f"/datasets/{name}/imports",
            json={"source": source, "id_key": id_key, "skip_invalid": skip_invalid, "wait": wait},
        )
        return out["result"] if wait else out["run"]

    def upload_manifest(self, name: str, path: str | Path, *, id_key: str = "id") -> dict[str, Any]:
        with open(path, "rb") as fh:
            return self.request(
                "POST",
                f"/datasets/{name}/upload",
                params={"id_key": id_key},
                files={"file": (Path(path).name, fh, "application/x-ndjson")},
            )

    # -- jobs -----------------------------------------------------------------------------
    def jobs(self) -> list[dict[str, Any]]:
        return self.request("GET", "/jobs")

    def job(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/jobs/{name}")

    def create_job(
        self, name: str, *, task_type: str, labels: Any, dataset: str | None = None, **options: Any
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "task_type": task_type,
            "labels": labels,
            "dataset": dataset,
            **options,
        }
        return self.request("POST", "/jobs", json=body)

    def labels(self, job: str, **filters: Any) -> list[dict[str, Any]]:
        """Every label of a job (paged through), with optional filters."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET", f"/jobs/{job}/labels", params={**filters, "offset": len(out), "limit": 1000}
            )
            out.extend(page)
            if len(page) < 1000:
                return out

    def autolabel_report(self, job: str) -> dict[str, Any]:
        """Auto-labeling settings and one entry per iteration (`pending`: a queued or
        running iteration, or None)."""
        return dict(self.request("GET", f"/jobs/{job}/autolabel"))

    def find_label_issues(self, job: str, *, folds: int = 5) -> dict[str, Any]:
        """Start checking the job's human labels for likely errors (a background run; the
        flagged items go first in the review queue). Returns the run."""
        return dict(self.request("POST", f"/jobs/{job}/label-issues", json={"folds": folds}))

    def label_issues(self, job: str) -> dict[str, Any]:
        """The labels flagged as likely wrong and not reviewed yet, most suspicious first."""
        return dict(self.request("GET", f"/jobs/{job}/label-issues"))

    def download_model(self, job: str, path: str | Path) -> Path:
        """Save the job's newest trained auto-labeling model to `path`."""
        response = self.http.get(f"/api/jobs/{job}/autolabel/model")
        if response.status_code != 200:
            body = response.json()
            raise TruthsetError(response.status_code, body.get("error", ""), body.get("detail"))
        out = Path(path)
        out.write_bytes(response.content)
        return out

    # -- review ---------------------------------------------------------------------------
    def review_next(
        self, job: str, *, max_confidence: float | None = None
    ) -> dict[str, Any] | None:
        """Lease the next item to review (every answer, the label, the reason), or None."""
        params = {} if max_confidence is None else {"max_confidence": max_confidence}
        found: dict[str, Any] | None = self.request(
            "POST", f"/jobs/{job}/review/next", params=params
        )
        return found

    def review_submit(self, job: str, item: str, answer: Any) -> dict[str, Any]:
        """Set an item's final label (the output records that it was reviewed)."""
        return dict(
            self.request("POST", f"/jobs/{job}/review/items/{item}", json={"answer": answer})
        )

    def review_release(self, job: str, item: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/jobs/{job}/review/items/{item}/release"))

    def add_team(self, job: str, team: str) -> dict[str, Any]:
        return self.request("POST", f"/jobs/{job}/teams", json={"team": team})

    def add_gold(self, job: str, items: list[tuple[str, Any]]) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/jobs/{job}/gold",
            json={"items": [{"item": i, "answer": a} for i, a in items]},
        )

    def consolidate(self, job: str, method: str | None = None) -> dict[str, Any]:
        out = self.request(
            "POST", f"/jobs/{job}/consolidate", json={"method": method, "wait": True}
        )
        return out["result"]

    def export(
        self,
        job: str,
        *,
        format: str = "groundtruth",
        out: str | None = None,
        wait: bool = True,
        timeout: float = 3600,
    ) -> dict[str, Any]:
        run = self.request("POST", f"/jobs/{job}/exports", json={"format": format, "out": out})
        return self.wait_run(run["id"], timeout=timeout) if wait else run

    def wait_run(self, run_id: int, *, timeout: float = 3600) -> dict[str, Any]:
        deadline = time.time() + timeout
        while True:
            run = self.request("GET", f"/runs/{run_id}")
            if run["state"] in ("succeeded", "failed", "cancelled"):
                if run["state"] != "succeeded":
                    raise TruthsetError(500, "run_failed", run.get("error"))
                return run
            if time.time() > deadline:
                raise TruthsetError(504, "timeout", f"run {run_id} is still {run['state']}")
            time.sleep(0.2)

    # -- workforce ------------------------------------------------------------------------
    def create_user(
        self,
        name: str,
        *,
        role: str = "worker",
        password: str | None = None,
        teams: list[str] | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            "/users",
            json={
                "name": name,
                "role": role,
                "password": password,
                "teams": teams or [],
            },
        )

    def create_token(self, user: str) -> str:
        return self.request("POST", f"/users/{user}/tokens", json={})["token"]

    # -- work (as a worker) ---------------------------------------------------------------
    def next_task(self, job: str) -> dict[str, Any] | None:
        return self.request("POST", f"/jobs/{job}/next")

    def submit(
        self,
        assignment_id: int,
        answer: Any,
        *,
        client_key: str | None = None,
        time_spent: float | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/assignments/{assignment_id}/submit",
            json={"answer": answer, "client_key": client_key, "time_spent": time_spent},
        )

    def decline(self, assignment_id: int) -> None:
        self.request("POST", f"/assignments/{assignment_id}/decline")

    def release(self, assignment_id: int) -> None:
        self.request("POST", f"/assignments/{assignment_id}/release")

    def heartbeat(self, assignment_id: int) -> dict[str, Any]:
        return self.request("POST", f"/assignments/{assignment_id}/heartbeat")
