"""Helpers of the browser tests: the server under test, signed-in pages, waiting."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from truthset.api import tokens
from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.workforce import service as workforce
from truthset.workspace import Workspace

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TEAM = "labelers"
WORKERS = ["worker1", "worker2", "worker3"]


def _label_is_a_file(task_type: str) -> bool:
    """Whether the type's label is a file (a mask, a SeqLabel.json): its label attribute
    must end in -ref, as Ground Truth names such attributes."""
    from truthset.tasktypes import get_task_type

    kind = get_task_type(task_type)
    return task_type == "semantic-segmentation" or bool(getattr(kind, "label_file_name", None))


class Site:
    """The server under test and helpers to give it data."""

    def __init__(self, ws: Workspace, base: str):
        self.ws = ws
        self.base = base
        self.tokens: dict[str, str] = {}
        self.cookies: dict[str, str] = {}

    # -- data ---------------------------------------------------------------------------
    def image(self, name: str, width: int, height: int, color: str = "#6b8fb5") -> str:
        """A PNG in the media folder; returns its source-ref."""
        from PIL import Image, ImageDraw

        folder = self.ws.settings.media_dir / "test-images"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        if not path.exists():
            img = Image.new("RGB", (width, height), color)
            draw = ImageDraw.Draw(img)
            for x in range(0, width, 100):
                draw.line([(x, 0), (x, height)], fill="#ffffff", width=1)
            for y in range(0, height, 100):
                draw.line([(0, y), (width, y)], fill="#ffffff", width=1)
            img.save(path)
        return str(path)

    def job(
        self,
        task_type: str,
        labels: Any,
        items: list[dict[str, Any]],
        *,
        workers_per_item: int = 1,
        instructions: str = "# Do it well\n\nLabel carefully.",
        settings: dict[str, Any] | None = None,
        input_job: str | None = None,
        time_limit: int = 300,
        name: str | None = None,
    ) -> str:
        name = name or f"{task_type[:20]}-{uuid.uuid4().hex[:8]}"
        with self.ws.db.session_scope() as s:
            dataset = None
            if input_job is None:
                dataset = f"ds-{name}"
                manifest = self.ws.settings.media_dir / f"{dataset}.manifest"
                manifest.write_text(
                    "\n".join(json.dumps(r) for r in items) + "\n", encoding="utf-8"
                )
                import_source(s, dataset, str(manifest), allowed_roots=self.ws.allowed_roots)
            create_job(
                s,
                JobCreate(
                    name=name,
                    task_type=task_type,
                    label_config=labels,
                    dataset=dataset,
                    input_job=input_job,
                    workers_per_item=workers_per_item,
                    teams=[TEAM],
                    instructions=instructions,
                    task_time_limit=time_limit,
                    settings=settings or {},
                    label_attribute=f"{name}-ref" if _label_is_a_file(task_type) else None,
                ),
            )
        return name

    # -- API access ---------------------------------------------------------------------
    def token(self, user: str) -> str:
        if user not in self.tokens:
            with self.ws.db.session_scope() as s:
                self.tokens[user] = tokens.issue_token(s, workforce.get_user(s, user))
        return self.tokens[user]

    def api(self, user: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def answers(self, job: str, item: str) -> list[dict[str, Any]]:
        res = self.api("admin", "GET", f"/api/jobs/{job}/items/{item}")
        res.raise_for_status()
        return list(res.json()["answers"])

    def session_cookie(self, user: str) -> str:
        if user not in self.cookies:
            res = httpx.post(
                self.base + "/api/auth/login",
                json={"name": user, "password": f"{user}-pass"},
                timeout=10,
            )
            res.raise_for_status()
            self.cookies[user] = res.cookies["truthset_session"]
        return self.cookies[user]


class Pages:
    """Opens pages signed in as a user; screenshots every open page if the test fails."""

    def __init__(self, browser: Any, site: Site):
        self.browser = browser
        self.site = site
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def context(self, user: str | None = None, **kw: Any) -> Any:
        # bypass_csp lets Playwright evaluate its own helpers; the app's policy is
        # checked separately (test_security).
        kw.setdefault("bypass_csp", True)
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 800}, **kw)

        if user:
            ctx.add_cookies(
                [
                    {
                        "name": "truthset_session",
                        "value": self.site.session_cookie(user),
                        "url": self.site.base,
                    }
                ]
            )
        self.contexts.append(ctx)
        return ctx

    def open(self, user: str | None, path: str, **kw: Any) -> Any:
        page = self.context(user, **kw).new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.site.base + path)
        return page

    def screenshots(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, ctx in enumerate(self.contexts):
            for j, page in enumerate(ctx.pages):
                with contextlib.suppress(Exception):  # a closed page has nothing to show
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{i}-{j}.png"), full_page=True)

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


def wait_for_task(page: Any, previous: str | None = None, timeout: float = 10000) -> str:
    """Wait until the task page shows a task (other than `previous`); its assignment id."""
    if previous is None:
        page.wait_for_function("document.body.dataset.assignment", timeout=timeout)
    else:
        page.wait_for_function(
            f"document.body.dataset.assignment && document.body.dataset.assignment !== "
            f"{json.dumps(previous)}",
            timeout=timeout,
        )
    return str(page.evaluate("document.body.dataset.assignment"))


def wait_for_prefetch(page: Any, timeout: float = 10000) -> None:
    """Wait until the next task (or the news that there is none) has been prefetched."""
    page.wait_for_function("document.body.dataset.prefetched", timeout=timeout)


def item_of(page: Any) -> str:
    return str(page.locator("#item-id").inner_text()).removeprefix("item ")
