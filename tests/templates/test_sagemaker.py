"""A CreateLabelingJob request of a custom workflow (the team's own Lambdas and
UiTemplateS3Uri) becomes a custom job running that template, over the real S3 server."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from conftest import make_workspace, require
from sagemaker.gt_requests import label_file, request
from truthset.config import load_settings
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.media.storage import s3_client
from truthset.sagemaker.request import check_request
from truthset.sagemaker.service import create_from_request
from truthset.workforce.service import create_team
from truthset.workspace import open_workspace

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><crowd-bounding-box name="boundingBox" src="{{ task.input.taskObject |
grant_read_access }}" labels="{{ task.input.labels | to_json | escape }}"></crowd-bounding-box>
</crowd-form>"""
OWN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


@pytest.fixture
def bucket():
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"tpl-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=name)
    yield name
    for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


def _custom(bucket: str, name: str = "custom-boxes", **over) -> dict:
    body = request(
        name,
        manifest=f"s3://{bucket}/in/input.manifest",
        labels=f"s3://{bucket}/in/labels.json",
        output=f"s3://{bucket}/out/",
        PreHumanTaskLambdaArn=OWN.format("my-pre-annotation"),
        AnnotationConsolidationConfig={
            "AnnotationConsolidationLambdaArn": OWN.format("my-consolidation")
        },
        UiConfig={"UiTemplateS3Uri": f"s3://{bucket}/ui/boxes.liquid.html"},
    )
    body.update(over)
    return body


def test_a_custom_workflow_request_makes_a_custom_job(tmp_path, bucket):
    s3 = s3_client()
    lines = [{"source-ref": f"s3://{bucket}/img/{i}.jpg"} for i in range(3)]
    s3.put_object(Bucket=bucket, Key="in/input.manifest", Body="\n".join(map(json.dumps, lines)))
    s3.put_object(Bucket=bucket, Key="in/labels.json", Body=json.dumps(label_file("car", "bus")))
    s3.put_object(Bucket=bucket, Key="ui/boxes.liquid.html", Body=TEMPLATE.encode())
    make_workspace(tmp_path).close()
    ws = open_workspace(load_settings(tmp_path / "data", None, [f"s3://{bucket}"]))
    with ws.db.session_scope() as s:
        create_team(s, "crew")
    body = _custom(bucket)
    assert check_request(body) == "Custom"
    with ws.db.session_scope() as s:
        created = create_from_request(
            s,
            body,
            roots=ws.roots(),
            allowed_roots=ws.allowed_roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            created_by=None,
        )
        job = get_job(s, created.job.name)
        assert job.task_type == "custom"
        assert job.settings["template"] == {
            "html": TEMPLATE,
            "source": f"s3://{bucket}/ui/boxes.liquid.html",
        }
        assert [e["name"] for e in job.label_config["crowdElements"]] == ["boundingBox"]
        assert [x["label"] for x in job.label_config["labels"]] == ["car", "bus"]
        warnings = created.mapped.warnings
    assert any("my-pre-annotation cannot be called" in w for w in warnings)
    assert any("my-consolidation cannot be called" in w for w in warnings)
    assert not any(w.startswith("HumanTaskConfig.UiConfig has no equivalent") for w in warnings)

    missing = _custom(bucket, "custom-2")
    missing["HumanTaskConfig"]["UiConfig"] = {"UiTemplateS3Uri": f"s3://{bucket}/ui/none.html"}
    with (
        pytest.raises(BadInput, match="UiTemplateS3Uri.*cannot be read"),
        ws.db.session_scope() as s,
    ):
        create_from_request(
            s,
            missing,
            roots=ws.roots(),
            allowed_roots=ws.allowed_roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            created_by=None,
        )
    ws.close()


def test_a_custom_workflow_needs_a_template():
    body = _custom("b")
    body["HumanTaskConfig"]["UiConfig"] = {
        "HumanTaskUiArn": "arn:aws:sagemaker:x:y:human-task-ui/z"
    }
    with pytest.raises(BadInput, match="UiTemplateS3Uri is required for a custom workflow"):
        check_request(body)


def test_the_team_s_lambda_code_in_an_allowed_folder_runs_as_its_hooks(
    tmp_path, bucket, monkeypatch
):
    s3 = s3_client()
    lines = [{"source-ref": f"s3://{bucket}/img/{i}.jpg"} for i in range(2)]
    s3.put_object(Bucket=bucket, Key="in/input.manifest", Body="\n".join(map(json.dumps, lines)))
    s3.put_object(Bucket=bucket, Key="in/labels.json", Body=json.dumps(label_file("car", "bus")))
    s3.put_object(Bucket=bucket, Key="ui/boxes.liquid.html", Body=TEMPLATE.encode())
    handlers = tmp_path / "lambdas"
    (handlers / "my-consolidation").mkdir(parents=True)
    code = "def lambda_handler(event, context):\n    return []\n"
    (handlers / "my-pre-annotation.py").write_text(code)
    (handlers / "my-consolidation" / "lambda_function.py").write_text(code)
    monkeypatch.setenv("TRUTHSET_HOOK_HANDLER_DIRS", str(handlers))
    make_workspace(tmp_path).close()
    ws = open_workspace(load_settings(tmp_path / "data", None, [f"s3://{bucket}"]))
    with ws.db.session_scope() as s:
        create_team(s, "crew")
        created = create_from_request(
            s,
            _custom(bucket),
            roots=ws.roots(),
            allowed_roots=ws.allowed_roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            created_by=None,
        )
        settings = get_job(s, created.job.name).settings
    assert settings["pre_annotation"] == {"handler": str(handlers / "my-pre-annotation.py")}
    assert settings["post_annotation"] == {
        "handler": str(handlers / "my-consolidation" / "lambda_function.py")
    }
    assert not any("cannot be called" in w for w in created.mapped.warnings)
    ws.close()
