"""The operations' queries on both stores: name filters keep % and _ literal, status and
time filters, pages, and the describe shape of a job made without a request."""

from __future__ import annotations

import json

from sagemaker.gt_requests import label_file, request
from support import job_over_items, write_manifest
from truthset.config import load_settings
from truthset.sagemaker import operations
from truthset.sagemaker.service import create_from_request
from truthset.store.models import User
from truthset.workforce.service import create_team, create_user
from truthset.workspace import open_workspace


def test_list_and_describe_on_both_stores(any_ws, tmp_path):
    files = tmp_path / "gt"
    write_manifest(files / "in.manifest", [{"source": f"t{i}"} for i in range(2)])
    (files / "labels.json").write_text(json.dumps(label_file()))
    ws = open_workspace(
        load_settings(any_ws.settings.data_dir, any_ws.settings.database_url, [str(files)])
    )
    with ws.db.session_scope() as s:
        create_team(s, "crew")
        admin = create_user(s, "root", role="admin")
        for name in ("a-100pct", "b-xy", "c-xay"):
            body = request(
                name,
                "TextMultiClass",
                manifest=str(files / "in.manifest"),
                labels=str(files / "labels.json"),
                output=str(files / "out"),
            )
            create_from_request(
                s,
                body,
                roots=ws.roots(),
                allowed_roots=ws.allowed_roots,
                endpoint_url=None,
                created_by=admin.id,
            )
        admin_id = admin.id
    job_over_items(ws, "plain", [{"source": "x"}], ["p", "q"], teams=("crew",))
    caller = operations.Caller(
        user=User(id=admin_id, role="admin", name="root", active=True),
        region="us-west-2",
        host="h",
        workspace=ws,
    )

    def names(**params):
        with ws.db.session_scope(write=False) as s:
            out = operations.list_labeling_jobs(s, caller, params)
        return [j["LabelingJobName"] for j in out["LabelingJobSummaryList"]], out

    # Names hold no % or _, so a filter with one matches nothing (no LIKE wildcards).
    assert names(NameContains="x_y", SortBy="Name")[0] == []
    assert names(NameContains="%", SortBy="Name")[0] == []
    assert names(NameContains="XA", SortBy="Name")[0] == ["c-xay"]
    assert names(SortBy="Name", StatusEquals="InProgress")[0] == [
        "a-100pct",
        "b-xy",
        "c-xay",
        "plain",
    ]
    first, out = names(SortBy="Name", MaxResults=3)
    rest, _ = names(SortBy="Name", MaxResults=3, NextToken=out["NextToken"])
    assert first + rest == ["a-100pct", "b-xy", "c-xay", "plain"]
    with ws.db.session_scope(write=False) as s:
        plain = operations.describe_labeling_job(s, caller, {"LabelingJobName": "plain"})
    assert plain["LabelingJobArn"] == "arn:aws:sagemaker:us-west-2:000000000000:labeling-job/plain"
    assert plain["HumanTaskConfig"]["WorkteamArn"].endswith("workteam/private-crowd/crew")
    assert plain["LabelCounters"]["Unlabeled"] == 1 and "LabelingJobOutput" not in plain
    ws.close()
