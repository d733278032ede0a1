"""Media is served so that nothing in it runs in the app's origin, and only to those who
may see its item (issue 15, item 1)."""

from __future__ import annotations

from PIL import Image
from sqlalchemy import text

from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.workforce.service import create_team, create_user

SCRIPT = b"<html><body><script>fetch('/api/users', {method: 'POST'})</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# A custom job takes any media, so hostile files (HTML, SVG) can be items of one.
ANY_MEDIA = {
    "template": {"html": '<crowd-form><crowd-input name="note"></crowd-input></crowd-form>'}
}


def _items(ws):
    media = ws.settings.media_dir
    Image.new("RGB", (8, 8), "red").save(media / "photo.png")
    (media / "page.html").write_bytes(SCRIPT)
    (media / "drawing.svg").write_bytes(SVG)
    refs = ["photo.png", "page.html", "drawing.svg"]
    with ws.db.session_scope() as s:
        for team in ("ours", "theirs"):
            create_team(s, team)
    # The same three files in two jobs of two teams; one dataset each.
    job_over_items(
        ws,
        "a",
        [{"source-ref": str(media / r)} for r in refs],
        ["x", "y"],
        teams=("ours",),
        task_type="custom",
        settings=ANY_MEDIA,
    )
    job_over_items(
        ws,
        "b",
        [{"source-ref": str(media / r), "copy": 1} for r in refs],
        ["x", "y"],
        teams=("theirs",),
        task_type="custom",
        settings=ANY_MEDIA,
    )
    with ws.db.session_scope() as s:
        rows = s.execute(
            text(
                "SELECT j.name, i.data, i.id FROM tasks t JOIN jobs j ON j.id = t.job_id "
                "JOIN items i ON i.id = t.item_id"
            )
        ).all()
        tokens = {
            "admin": issue_token(s, create_user(s, "admin", role="admin")),
            "reviewer": issue_token(s, create_user(s, "rev", role="reviewer", teams=["ours"])),
            "worker": issue_token(s, create_user(s, "w", role="worker", teams=["ours"])),
        }
    ids = {(job, next(r for r in refs if r in data)): item for job, data, item in rows}
    return ids, tokens


def test_only_inert_types_are_shown_inline(ws, client):
    ids, tokens = _items(ws)
    admin = bearer(tokens["admin"])
    photo = client.get(f"/api/items/{ids['a', 'photo.png']}/media", headers=admin)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert "attachment" not in photo.headers.get("content-disposition", "")
    for name in ("page.html", "drawing.svg"):
        r = client.get(f"/api/items/{ids['a', name]}/media", headers=admin)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.content in (SCRIPT, SVG)  # the bytes, never rendered
    for r in (photo, client.get(f"/api/items/{ids['a', 'page.html']}/media", headers=admin)):
        assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_reviewer_sees_media_of_their_teams_jobs_only(ws, client):
    ids, tokens = _items(ws)
    reviewer = bearer(tokens["reviewer"])
    assert client.get(f"/api/items/{ids['a', 'photo.png']}/media", headers=reviewer).is_success
    other = client.get(f"/api/items/{ids['b', 'photo.png']}/media", headers=reviewer)
    assert other.status_code == 404
    assert other.json() == {
        "error": "not_found",
        "detail": f"item {ids['b', 'photo.png']} not found",
    }


def test_a_worker_sees_media_only_of_items_they_were_assigned(ws, client):
    ids, tokens = _items(ws)
    worker = bearer(tokens["worker"])
    item = ids["a", "photo.png"]
    assert client.get(f"/api/items/{item}/media", headers=worker).status_code == 404
    leased = client.post("/api/jobs/a/next", headers=worker).json()
    assert client.get(leased["item"]["media_url"], headers=worker).is_success
