"""Custom jobs through the API: creation with a template, `next`, the rendered task page,
signed media grants and answers checked against the template (issue 13, items 1-4, 8)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import anyio._core._fileio  # noqa: F401  (imported here, not first in a server thread)
import pytest
from PIL import Image

from support import bearer, write_manifest
from truthset.api.tokens import issue_token
from truthset.datasets.importer import import_source
from truthset.templates import repository
from truthset.templates.signing import grant_key, signature
from truthset.work.router import next_task_body
from truthset.workforce.service import create_team, create_user

TEMPLATE = """<!doctype html><html><head><title>t</title>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head><body>
<crowd-form>
  <p class="text">{{ task.input.manifestLine.note }}</p>
  <div class="raw">{{ task.input.manifestLine.html | skip_autoescape }}</div>
  <crowd-image-classifier name="animal" src="{{ task.input.taskObject | grant_read_access }}"
      categories="{{ task.input.labels | to_json | escape }}" header="Which?">
  </crowd-image-classifier>
  <crowd-input name="comment"></crowd-input>
</crowd-form></body></html>"""
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def setup(ws, client):
    photo = ws.settings.media_dir / "cat.png"
    Image.new("RGB", (4, 4), "red").save(photo)
    manifest = write_manifest(
        ws.settings.media_dir / "p.manifest",
        [{"source-ref": str(photo), "note": HOSTILE, "html": "<b>bold</b>"}],
    )
    with ws.db.session_scope() as s:
        create_team(s, "t")
        import_source(s, "photos", str(manifest), allowed_roots=ws.allowed_roots)
        tokens = {
            "admin": issue_token(s, create_user(s, "admin", role="admin")),
            "w1": issue_token(s, create_user(s, "w1", role="worker", teams=["t"])),
            "w2": issue_token(s, create_user(s, "w2", role="worker", teams=["t"])),
        }
    return {"tokens": tokens, "photo": photo}


def _create(client, token, **over):
    body = {
        "name": "animals",
        "task_type": "custom",
        "labels": ["cat", "dog"],
        "dataset": "photos",
        "teams": ["t"],
        "workers_per_item": 2,
        "settings": {"template": {"html": TEMPLATE}},
        **over,
    }
    return client.post("/api/jobs", json=body, headers=bearer(token))


def test_job_creation_checks_the_template(client, setup):
    admin = setup["tokens"]["admin"]
    bad = [
        ({"settings": {"template": {"html": "<p>no form</p>"}}}, "no <crowd-form>"),
        ({"settings": {"template": {"html": "<crowd-form>\n{% if %}</crowd-form>"}}}, "line 2"),
        ({"settings": {"template": {"html": "<crowd-form>{{ a | b }}</crowd-form>"}}}, "'b'"),
        ({"settings": {}}, "needs its worker task template"),
        ({"settings": {"template": {"html": TEMPLATE, "x": 1}}}, "unknown keys x"),
        (
            {"task_type": "image-classification", "labels": ["a", "b"]},
            "only custom jobs run a template",
        ),
    ]
    for over, message in bad:
        r = _create(client, admin, **over)
        assert r.status_code == 400, r.text
        assert message in r.json()["detail"], r.json()
    assert client.get("/api/jobs/animals", headers=bearer(admin)).status_code == 404
    r = _create(client, admin)
    assert r.status_code in (200, 201), r.text
    r = client.patch(
        "/api/jobs/animals",
        json={"settings": {"template": {"html": "<crowd-form></crowd-form>"}}},
        headers=bearer(admin),
    )
    assert r.status_code == 400 and "cannot change" in r.json()["detail"]


def test_next_names_the_task_page_and_the_page_is_rendered_sandboxed(ws, client, setup):
    tokens = setup["tokens"]
    assert _create(client, tokens["admin"]).status_code in (200, 201)
    w1 = bearer(tokens["w1"])
    nxt = client.post("/api/jobs/animals/next", headers=w1)  # the hot route
    assert nxt.status_code == 200, nxt.text
    body = nxt.json()
    assignment = body["assignment_id"]
    assert body["ui_module"] == "tools/template.js"
    assert body["template_url"] == f"/api/assignments/{assignment}/task.html"

    assert client.get(body["template_url"]).status_code == 401
    other = client.get(body["template_url"], headers=bearer(tokens["w2"]))
    assert other.status_code == 404 and other.json()["error"]
    assert client.get("/api/assignments/999999/task.html", headers=w1).status_code == 404

    page = client.get(body["template_url"], headers=w1)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts allow-forms; default-src 'none'")
    assert "allow-same-origin" not in csp and "connect-src 'none'" in csp
    assert "script-src http://testserver/static/ 'unsafe-inline'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    head = html.split("</head>")[0]
    assert '<script type="module" src="http://testserver/static/crowd/crowd-elements.js">' in head
    assert "assets.crowd.aws" not in html
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<div class="raw"><b>bold</b></div>' in html
    assert 'categories="[&#34;cat&#34;,&#34;dog&#34;]"' in html

    src = html.split('src="http://testserver/api/media/grant')[1].split('"')[0]
    url = "/api/media/grant" + src.replace("&amp;", "&")
    image = client.get(url)  # no credentials: the signature is the permission
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == setup["photo"].read_bytes()
    query = parse_qs(urlparse(url).query)
    tampered = url.replace(query["signature"][0], "0" * 64)
    assert client.get(tampered).status_code == 403
    assert client.get(tampered).json()["error"] == "forbidden"
    moved = url.replace(str(query["expires"][0]), str(int(query["expires"][0]) + 1))
    assert client.get(moved).status_code == 403

    # The same body from the FastAPI route's function as from the hot route.
    with ws.db.session_scope() as s:
        from truthset.store.models import User

        w2 = s.query(User).filter_by(name="w2").one()
        direct = next_task_body(s, "animals", w2)
    assert direct["template_url"] == f"/api/assignments/{direct['assignment_id']}/task.html"


def test_answers_are_checked_against_the_template(client, setup):
    tokens = setup["tokens"]
    _create(client, tokens["admin"])
    w1 = bearer(tokens["w1"])
    assignment = client.post("/api/jobs/animals/next", headers=w1).json()["assignment_id"]
    submit = f"/api/assignments/{assignment}/submit"
    for answer, message in (
        ({"animal": {"label": "horse"}}, "answer.animal (crowd-image-classifier).label 'horse'"),
        ({"colour": "red"}, "no element named 'colour'"),
        ({"comment": 3}, "answer.comment (crowd-input) must be text"),
    ):
        r = client.post(submit, json={"answer": answer}, headers=w1)
        assert r.status_code == 400 and message in r.json()["detail"], r.text
    r = client.post(
        submit, json={"answer": {"animal": {"label": "cat"}, "comment": "fine"}}, headers=w1
    )
    assert r.status_code == 200, r.text


def test_expired_grants_and_refs_outside_the_roots_are_refused(ws, client, tmp_path):
    key = grant_key(ws.settings.data_dir)
    outside = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(outside)
    expires = int(time.time()) + 600
    r = client.get(
        "/api/media/grant",
        params={
            "ref": str(outside),
            "expires": expires,
            "signature": signature(key, str(outside), expires),
        },
    )
    assert r.status_code == 403 and "outside the allowed roots" in r.json()["detail"]
    inside = ws.settings.media_dir / "in.png"
    Image.new("RGB", (2, 2)).save(inside)
    past = int(time.time()) - 5
    r = client.get(
        "/api/media/grant",
        params={
            "ref": str(inside),
            "expires": past,
            "signature": signature(key, str(inside), past),
        },
    )
    assert r.status_code == 403 and "expired" in r.json()["detail"]


def test_a_saved_task_input_is_what_the_template_renders(ws, client, setup):
    tokens = setup["tokens"]
    _create(client, tokens["admin"])
    w1 = bearer(tokens["w1"])
    body = client.post("/api/jobs/animals/next", headers=w1).json()
    before = client.get(body["template_url"], headers=w1).text
    with ws.db.session_scope() as s:
        from truthset.store.models import Assignment

        task_id = s.get(Assignment, body["assignment_id"]).task_id
        assert repository.task_input_of(s, task_id) is None
        repository.save_task_input(
            s,
            task_id,
            {"taskObject": "s3://nowhere/x.png", "manifestLine": {"note": "hooked"}},
            True,
        )
        assert repository.task_input_of(s, task_id)["manifestLine"] == {"note": "hooked"}
    after = client.get(body["template_url"], headers=w1).text
    assert "hooked" in after and "hooked" not in before
    assert 'src=""' in after  # a reference outside the roots is never signed
