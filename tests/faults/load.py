"""Annotators as a load: each a thread that takes a task and answers it, over and over,
through one or more app servers (the next one when a server cannot be reached), retrying
a submit until it is acknowledged. What the servers acknowledged is recorded, to be
looked for in the database afterwards."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Tally:
    acknowledged: dict[int, float] = field(default_factory=dict)  # assignment -> when
    errors: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, assignment: int) -> None:
        with self.lock:
            self.acknowledged[assignment] = time.time()

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append((time.time(), what))

    def acks_after(self, t: float) -> list[float]:
        with self.lock:
            return sorted(at for at in self.acknowledged.values() if at >= t)


class Annotators:
    def __init__(self, urls: list[str], tokens: list[str], job: str, answer: dict):
        self.urls, self.tokens, self.job, self.answer = urls, tokens, job, answer
        self.tally = Tally()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(i, token), daemon=True)
            for i, token in enumerate(tokens)
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _request(self, client: httpx.Client, i: int, path: str, **kw: object) -> httpx.Response:
        """POST through the annotator's server, or the next one that answers."""
        last: Exception | None = None
        for k in range(len(self.urls)):
            url = self.urls[(i + k) % len(self.urls)]
            try:
                return client.post(url + path, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                last = exc
        assert last is not None
        raise last

    def _work(self, i: int, token: str) -> None:
        client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10)
        while not self._stop.is_set():
            try:
                r = self._request(client, i, f"/api/jobs/{self.job}/next")
            except httpx.HTTPError as exc:
                self.tally.error(f"next: {type(exc).__name__}")
                time.sleep(0.05)
                continue
            if r.status_code == 204:
                time.sleep(0.05)
                continue
            if r.status_code != 200:
                self.tally.error(f"next: {r.status_code}")
                time.sleep(0.05)
                continue
            assignment = int(r.json()["assignment_id"])
            while not self._stop.is_set():
                try:
                    s = self._request(
                        client,
                        i,
                        f"/api/assignments/{assignment}/submit",
                        json={"answer": self.answer},
                    )
                except httpx.HTTPError as exc:
                    self.tally.error(f"submit: {type(exc).__name__}")
                    time.sleep(0.05)
                    continue
                if s.status_code == 200:
                    self.tally.ack(assignment)
                    break
                self.tally.error(f"submit: {s.status_code}")
                if s.status_code in (409, 410):
                    break  # the lease ended meanwhile: take another task
                time.sleep(0.05)


class HealthWatch:
    """Polls /api/health every 50 ms: (time, status or 0 when it could not be reached)."""

    def __init__(self, url: str):
        self.url = url
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _poll(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self._stop.is_set():
                try:
                    status = client.get(self.url + "/api/health").status_code
                except httpx.HTTPError:
                    status = 0
                self.samples.append((time.time(), status))
                time.sleep(0.05)

    def between(self, start: float, end: float) -> list[int]:
        return [s for t, s in self.samples if start <= t <= end]
