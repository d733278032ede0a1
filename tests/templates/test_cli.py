"""`truthset template render` and `truthset job create --template` (issue 13, items 1, 4)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from typer.testing import CliRunner

from conftest import require
from support import write_manifest
from truthset.cli.main import app
from truthset.media.storage import s3_client

runner = CliRunner()
TEMPLATE = """<crowd-form>
  <h1>{{ task.input.manifestLine.title }}</h1>
  <img src="{{ task.input.taskObject | grant_read_access }}">
  <crowd-classifier name="c" categories="{{ task.input.labels | to_json }}"></crowd-classifier>
</crowd-form>"""


def cli(*args: str, data_dir) -> object:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_template_render_prints_the_page(tmp_path):
    data = tmp_path / "data"
    template = tmp_path / "t.liquid.html"
    template.write_text(TEMPLATE)
    media = tmp_path / "data" / "media"
    media.mkdir(parents=True)
    line = tmp_path / "line.json"
    line.write_text(json.dumps({"source-ref": str(media / "a.png"), "title": "<i>x</i>"}))
    r = cli(
        "template", "render", str(template), "--input", str(line), "--labels", "a,b", data_dir=data
    )
    assert r.exit_code == 0, r.output
    assert "<h1>&lt;i&gt;x&lt;/i&gt;</h1>" in r.stdout
    assert 'src="/api/media/grant?ref=' in r.stdout  # inside the media folder: signed
    assert 'categories="[&#34;a&#34;,&#34;b&#34;]"' in r.stdout
    assert '<script type="module" src="/static/crowd/crowd-elements.js"></script>' in r.stdout
    task_input = tmp_path / "ti.json"
    task_input.write_text(json.dumps({"taskObject": "/etc/passwd", "manifestLine": {"title": "t"}}))
    r = cli("template", "render", str(template), "--task-input", str(task_input), data_dir=data)
    assert r.exit_code == 0 and '<img src="">' in r.stdout  # outside the roots: not signed
    template.write_text("<crowd-form>\n{% for %}</crowd-form>")
    r = cli("template", "render", str(template), "--input", str(line), data_dir=data)
    assert r.exit_code != 0 and "template line 2" in r.output


def test_job_create_with_a_template(tmp_path):
    data = tmp_path / "data"
    manifest = write_manifest(tmp_path / "in.manifest", [{"source": "one"}, {"source": "two"}])
    template = tmp_path / "t.html"
    template.write_text(TEMPLATE)
    assert cli("dataset", "import", "texts", str(manifest), data_dir=data).exit_code == 0
    r = cli("job", "create", "j", "--dataset", "texts", "--template", str(template), data_dir=data)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["task_type"] == "custom"
    template.write_text("<p>no form</p>")
    r = cli("job", "create", "k", "--dataset", "texts", "--template", str(template), data_dir=data)
    assert r.exit_code != 0 and "no <crowd-form>" in r.output


def test_job_create_with_a_template_on_s3(tmp_path):
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"tpl-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=bucket)
    try:
        client.put_object(Bucket=bucket, Key="ui/t.html", Body=TEMPLATE.encode())
        data = tmp_path / "data"
        manifest = write_manifest(tmp_path / "in.manifest", [{"source": "one"}])
        assert cli("dataset", "import", "texts", str(manifest), data_dir=data).exit_code == 0
        uri = f"s3://{bucket}/ui/t.html"
        r = cli("job", "create", "j", "--dataset", "texts", "--template", uri, data_dir=data)
        assert r.exit_code == 0, r.output
        r = cli("job", "create", "k", "--dataset", "texts", "--template", uri + "x", data_dir=data)
        assert r.exit_code != 0 and "cannot be read" in r.output
    finally:
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("args", [[], ["--input", "a", "--task-input", "b"]])
def test_template_render_needs_one_input(tmp_path, args):
    template = tmp_path / "t.html"
    template.write_text(TEMPLATE)
    r = cli("template", "render", str(template), *args, data_dir=tmp_path / "data")
    assert r.exit_code != 0
