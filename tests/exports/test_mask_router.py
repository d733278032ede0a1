"""The mask routes: a job's label mask and a worker's painted answer as PNGs, to those
who may see them (staff; reviewers of the item's jobs' teams; a worker only their own
answers), with the media route's security headers and an ETag."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from exports.mask_jobs import (
    add_worker,
    imported_masks,
    masks_by_item,
    polygon_job,
    semantic_job,
)
from support import bearer
from tasktypes.conftest import paint
from truthset.api.tokens import issue_token
from truthset.workforce.service import create_user

COLORS = {1: "#2ca02c", 2: "#1f77b4"}


def tokens(ws, *users: tuple[str, str, list[str]]) -> dict[str, dict[str, str]]:
    out = {}
    with ws.db.session_scope() as s:
        for name, role, teams in users:
            out[name] = bearer(issue_token(s, create_user(s, name, role=role, teams=teams)))
    return out


def pixels(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def test_label_and_answer_masks_to_those_who_may_see_them(ws, client):
    add_worker(ws, "w")
    masks = masks_by_item()
    semantic_job(ws, "seg", masks)
    add_worker(ws, "w2")
    who = tokens(
        ws,
        ("boss", "admin", []),
        ("req", "requester", []),
        ("rev", "reviewer", ["t"]),
        ("rev-elsewhere", "reviewer", ["u"]),
    )
    with ws.db.session_scope() as s:
        who["w"] = bearer(issue_token(s, _user(s, "w")))
        who["w2"] = bearer(issue_token(s, _user(s, "w2")))

    for name in ("boss", "req", "rev"):
        r = client.get("/api/jobs/seg/items/a/mask", headers=who[name])
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-type"] == "image/png"
        assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "private, no-cache"
        # The consolidated label: a palette PNG whose indexes are the classes.
        assert (np.asarray(Image.open(io.BytesIO(r.content))) == masks["a"]).all()
        assert (pixels(r.content) == paint(masks["a"], COLORS)).all()
    etag = r.headers["etag"]
    again = client.get("/api/jobs/seg/items/a/mask", headers={**who["rev"], "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    # A reviewer of other teams, and workers, never see the label.
    for name in ("rev-elsewhere", "w", "w2"):
        r = client.get("/api/jobs/seg/items/a/mask", headers=who[name])
        assert r.status_code == 404 and r.json()["error"] == "not_found", name

    # The worker's own painting, to staff, the team's reviewer and the worker alone.
    for name in ("boss", "rev", "w"):
        r = client.get("/api/jobs/seg/items/b/answers/w/mask", headers=who[name])
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert (pixels(r.content) == paint(masks["b"], COLORS)).all()
    for name in ("w2", "rev-elsewhere"):
        r = client.get("/api/jobs/seg/items/b/answers/w/mask", headers=who[name])
        assert r.status_code == 404, name
    r = client.get("/api/jobs/seg/items/b/answers/w2/mask", headers=who["w2"])
    assert r.status_code == 404 and "'w2' has no answer to item 'b'" in r.json()["detail"]
    assert client.get("/api/jobs/seg/items/a/mask").status_code == 401

    # A reviewer of a job chained on this one (given to other teams) sees the label its
    # adjustment starts from, and the answers it was made of; not other jobs' masks.
    from exports.mask_jobs import adjustment_of

    adjustment_of(ws, "seg", "fix", masks, teams=["u"], worker=None)
    r = client.get("/api/jobs/seg/items/a/mask", headers=who["rev-elsewhere"])
    assert r.status_code == 200 and (pixels(r.content) == paint(masks["a"], COLORS)).all()
    r = client.get("/api/jobs/seg/items/b/answers/w/mask", headers=who["rev-elsewhere"])
    assert r.status_code == 200
    semantic_job(ws, "other", {"a": masks["a"]})
    r = client.get("/api/jobs/other/items/a/mask", headers=who["rev-elsewhere"])
    assert r.status_code == 404
    r = client.get("/api/jobs/seg/items/nope/mask", headers=who["boss"])
    assert r.status_code == 404 and "'nope' is not part of job 'seg'" in r.json()["detail"]
    r = client.get("/api/jobs/nope/items/a/mask", headers=who["boss"])
    assert r.status_code == 404


def test_item_ids_with_slashes_imported_masks_and_labels_without_one(ws, client):
    add_worker(ws, "w")
    mask = masks_by_item()["a"]
    semantic_job(ws, "deep", {"dir/x": mask})
    job, refs = imported_masks(ws, "cats-ref", {"a": mask})
    polygon_job(ws, "shapes", "polygon")
    who = tokens(ws, ("boss", "admin", []))
    r = client.get("/api/jobs/deep/items/dir/x/mask", headers=who["boss"])
    assert r.status_code == 200 and (np.asarray(Image.open(io.BytesIO(r.content))) == mask).all()
    r = client.get("/api/jobs/deep/items/dir/x/answers/w/mask", headers=who["boss"])
    assert r.status_code == 200 and (pixels(r.content) == paint(mask, COLORS)).all()

    # An imported Ground Truth mask is served as it came.
    from sqlalchemy import select

    from truthset.store.models import Item

    with ws.db.session_scope(write=False) as s:
        item = s.scalar(select(Item.external_id).where(Item.data.like(f"%{refs[0]}%")))
    r = client.get(f"/api/jobs/{job}/items/{item}/mask", headers=who["boss"])
    assert r.status_code == 200 and r.content == Path(refs[0]).read_bytes()

    r = client.get("/api/jobs/shapes/items/p/0/mask", headers=who["boss"])
    assert r.status_code == 404
    assert r.json()["detail"] == "item 'p/0' of job 'shapes' has no mask label"
    r = client.get("/api/jobs/shapes/items/p/0/answers/w/mask", headers=who["boss"])
    assert r.status_code == 404 and "has no mask" in r.json()["detail"]


def _user(s, name):
    from sqlalchemy import select

    from truthset.store.models import User

    return s.scalar(select(User).where(User.name == name))
