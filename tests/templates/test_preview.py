"""The console's template preview API: POST /api/templates/render and the preview page
(issue 13, item 4)."""

from __future__ import annotations

import os
import time

import anyio._core._fileio  # noqa: F401  (imported here, not first in a server thread)
import pytest
from PIL import Image

from support import bearer, write_manifest
from truthset.api.tokens import issue_token
from truthset.datasets.importer import import_source
from truthset.errors import NotFound
from truthset.templates import preview
from truthset.templates.preview import PreviewStore
from truthset.workforce.service import create_user

BOXES = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p class="note">{{ task.input.manifestLine.note }}</p>
  <crowd-bounding-box name="boxes" src="{{ task.input.taskObject | grant_read_access }}"
      header="Box the animals" labels="{{ task.input.labels | to_json | escape }}">
  </crowd-bounding-box>
</crowd-form>"""
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def setup(ws, client):
    first = ws.settings.media_dir / "first.png"
    Image.new("RGB", (8, 6), "red").save(first)
    second = ws.settings.media_dir / "second.png"
    Image.new("RGB", (8, 6), "blue").save(second)
    manifest = write_manifest(
        ws.settings.media_dir / "p.manifest",
        [
            {"source-ref": str(first), "note": HOSTILE},
            {"source-ref": str(second), "note": "second"},
        ],
    )
    with ws.db.session_scope() as s:
        import_source(s, "photos", str(manifest), allowed_roots=ws.allowed_roots)
        tokens = {
            "admin": issue_token(s, create_user(s, "admin", role="admin")),
            "req": issue_token(s, create_user(s, "req", role="requester")),
            "req2": issue_token(s, create_user(s, "req2", role="requester")),
            "w": issue_token(s, create_user(s, "w", role="worker")),
        }
    return {"tokens": tokens, "first": first}


def _render(client, token, **body):
    return client.post("/api/templates/render", json=body, headers=bearer(token))


def _granted(html: str) -> str:
    src = html.split('src="http://testserver/api/media/grant')[1].split('"')[0]
    return "/api/media/grant" + src.replace("&amp;", "&")


def test_only_staff_may_render(client, setup):
    tokens = setup["tokens"]
    r = _render(client, tokens["w"], html=BOXES, dataset="photos")
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert client.post("/api/templates/render", json={"html": BOXES}).status_code == 401
    for who in ("admin", "req"):
        assert _render(client, tokens[who], html=BOXES, dataset="photos").status_code == 200


def test_renders_the_first_item_of_the_dataset_with_signed_media(client, setup):
    r = _render(client, setup["tokens"]["req"], html=BOXES, dataset="photos", labels=["cat"])
    assert r.status_code == 200, r.text
    body = r.json()
    html = body["html"]
    assert '<script type="module" src="http://testserver/static/crowd/crowd-elements.js">' in html
    assert "assets.crowd.aws" not in html
    # The first item, escaped; not the second.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE not in html
    assert "second" not in html
    assert 'labels="[&#34;cat&#34;]"' in html
    assert body["elements"] == [
        {
            "tag": "crowd-bounding-box",
            "name": "boxes",
            "attributes": {
                "name": "boxes",
                "src": "{{ task.input.taskObject | grant_read_access }}",
                "header": "Box the animals",
                "labels": "{{ task.input.labels | to_json | escape }}",
            },
        }
    ]
    assert body["errors"] == []
    assert body["task_input"]["taskObject"] == str(setup["first"])
    # grant_read_access works in the preview: the signed URL serves the first image
    # with no credentials at all (the sandboxed frame has none).
    image = client.get(_granted(html))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == setup["first"].read_bytes()


def test_a_line_or_a_task_input_instead_of_a_dataset(client, setup, tmp_path):
    req = setup["tokens"]["req"]
    r = _render(client, req, html=BOXES, line={"source-ref": "s3://x/y.png", "note": "mine"})
    assert r.status_code == 200, r.text
    assert '<p class="note">mine</p>' in r.json()["html"]
    # A reference outside the allowed roots is never signed, and the editor is told.
    assert r.json()["errors"] == [
        {
            "line": None,
            "message": "grant_read_access: 's3://x/y.png' is outside the workspace's allowed"
            " roots and buckets, so it became an empty URL",
        }
    ]
    r = _render(
        client, req, html=BOXES, task_input={"taskObject": "", "manifestLine": {"note": "hook"}}
    )
    assert '<p class="note">hook</p>' in r.json()["html"]
    # With no item at all the template still renders (over an empty line).
    assert _render(client, req, html=BOXES).status_code == 200
    both = _render(client, req, html=BOXES, dataset="photos", line={})
    assert both.status_code == 400 and "not dataset and line" in both.json()["detail"]
    missing = _render(client, req, html=BOXES, dataset="nope")
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]
    bad_labels = _render(client, req, html=BOXES, labels={"labels": [{"label": 3}]})
    assert bad_labels.status_code in (400, 422)
    extra = _render(client, req, html=BOXES, oops=1)
    assert extra.status_code == 422 and "oops" in extra.text


def test_a_syntax_error_is_a_400_naming_the_line(client, setup):
    req = setup["tokens"]["req"]
    broken = "<crowd-form>\n<p>ok</p>\n{% if %}{% endif %}\n</crowd-form>"
    r = _render(client, req, html=broken, dataset="photos")
    assert r.status_code == 400 and r.json()["error"] == "bad_input"
    assert r.json()["detail"].startswith("template line 3: "), r.json()
    r = _render(client, req, html="<crowd-form>\n\n{{ x | nofilter }}</crowd-form>")
    assert r.status_code == 400 and "line 3: unknown filter 'nofilter'" in r.json()["detail"]
    # What only the job's creation refuses comes back beside the page, with its line.
    twice = '<crowd-form>\n<crowd-input name="a"></crowd-input>\n<crowd-input name="a">'
    r = _render(client, req, html=twice + "</crowd-input></crowd-form>")
    assert r.status_code == 200 and r.json()["html"]
    [problem] = r.json()["errors"]
    assert problem["line"] == 3 and "a second element named 'a'" in problem["message"]
    r = _render(client, req, html="<p>{{ task.input.taskObject }}</p>", dataset="photos")
    assert r.status_code == 200 and r.json()["elements"] == []
    assert r.json()["errors"][0]["line"] is None
    assert "no <crowd-form>" in r.json()["errors"][0]["message"]


def test_the_preview_page_has_the_task_pages_headers_and_is_the_users_own(client, setup):
    tokens = setup["tokens"]
    body = _render(client, tokens["req"], html=BOXES, dataset="photos").json()
    url = body["preview_url"]
    assert url.startswith("/api/templates/preview/") and url.endswith(".html")
    assert body["preview_expires"] > time.time()
    page = client.get(url, headers=bearer(tokens["req"]))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == body["html"]
    task_page = {
        "content-security-policy": (
            "sandbox allow-scripts allow-forms; default-src 'none'; script-src"
            " http://testserver/static/ 'unsafe-inline'; style-src 'unsafe-inline'"
            " http://testserver/static/; img-src http://testserver data: blob:; media-src"
            " http://testserver blob:; font-src http://testserver/static/; connect-src 'none';"
            " form-action 'none'; base-uri 'none'"
        ),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "private, no-store",
    }
    for name, value in task_page.items():
        assert page.headers[name] == value, name
    assert "allow-same-origin" not in page.headers["content-security-policy"]
    # Another requester's preview, an unknown id, a worker and no session: not served.
    other = client.get(url, headers=bearer(tokens["req2"]))
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    assert client.get(url, headers=bearer(tokens["w"])).status_code == 403
    assert client.get(url).status_code == 401
    unknown = "/api/templates/preview/" + "A" * 32 + ".html"
    assert client.get(unknown, headers=bearer(tokens["req"])).status_code == 404
    odd = client.get("/api/templates/preview/..%2F..%2Fmaster.html", headers=bearer(tokens["req"]))
    assert odd.status_code == 404


def test_previews_expire_and_are_swept(tmp_path, monkeypatch):
    store = PreviewStore(tmp_path / "previews")
    now = 1_000_000.0
    preview_id, expires = store.save(7, "<p>page</p>", now=now)
    assert expires == now + preview.PREVIEW_LIFETIME
    path = tmp_path / "previews" / f"{preview_id}.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert store.load(preview_id, 7, now=now + 1) == "<p>page</p>"
    with pytest.raises(NotFound):
        store.load(preview_id, 8, now=now + 1)
    with pytest.raises(NotFound):
        store.load(preview_id, 7, now=expires + 1)
    # An expired file is removed by the next save; beyond the cap, the oldest go.
    os.utime(path, (now, now))
    monkeypatch.setattr(preview, "MAX_PREVIEWS", 2)
    later = now + preview.PREVIEW_LIFETIME + 5
    ids = [store.save(7, f"<p>{i}</p>", now=later)[0] for i in range(4)]
    assert not path.exists()
    left = sorted(p.stem for p in (tmp_path / "previews").iterdir())
    assert len(left) <= 3 and set(left) <= set(ids)
