"""An audio-segmentation job over HTTP with generated audio of known truth: the task names
the tool and its settings, a bad or overlapping answer is a 400 naming the field, three
workers' answers consolidate close to the truth, the output manifest has Ground Truth's
keys, agreement is reported per label and per worker, and an adjustment job starts from
the label."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audio_support import dialogue, write_wav
from truthset.api.tokens import issue_token
from truthset.consensus.spatial import temporal_iou
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.exports.groundtruth import iter_output_lines
from truthset.media.audio_windows import clear_caches
from truthset.server.app import create_app
from truthset.store.models import Job
from truthset.workforce.service import create_user

JITTER = (0.0, 0.03, -0.03)  # seconds each worker's boundaries are off by


def test_audio_segmentation_job_over_http(engine):
    clear_caches()
    ws = engine.ws
    truth, seconds = dialogue(6, seed=4)
    ref = write_wav(ws.settings.media_dir / "talk.wav", truth, seconds)
    manifest = ws.settings.media_dir / "talk.manifest"
    manifest.write_text(json.dumps({"id": "talk", "source-ref": ref}) + "\n")
    with ws.db.session_scope() as s:
        admin = {"Authorization": f"Bearer {issue_token(s, create_user(s, 'boss', role='admin'))}"}
        workers = [
            {"Authorization": f"Bearer {issue_token(s, create_user(s, f'x{i}', teams=['t']))}"}
            for i in range(3)
        ]
    with TestClient(create_app(ws)) as c:
        r = c.post(
            "/api/datasets/d/imports", json={"source": str(manifest), "wait": True}, headers=admin
        )
        assert r.status_code < 300, r.text
        job = {
            "name": "talk",
            "task_type": "audio-segmentation",
            "labels": ["alice", "bob"],
            "dataset": "d",
            "teams": ["t"],
            "workers_per_item": 3,
            "settings": {"allow_overlap": False},
        }
        bad = c.post("/api/jobs", json={**job, "settings": {"allow_overlap": 1}}, headers=admin)
        assert bad.status_code == 400 and "settings.allow_overlap" in bad.json()["detail"]
        assert c.post("/api/jobs", json=job, headers=admin).status_code < 300
        for w, (worker, jitter) in enumerate(zip(workers, JITTER, strict=True)):
            task = c.post("/api/jobs/talk/next", headers=worker).json()
            assert task["ui_module"] == "tools/audio-segments.js" and task["media"] == "audio"
            assert task["tool_settings"] == {"allow_overlap": False}
            url = f"/api/assignments/{task['assignment_id']}/submit"
            if w == 0:
                far = {"segments": [{"start": 0, "end": seconds + 1, "label": "bob"}]}
                r = c.post(url, json={"answer": far}, headers=worker)
                assert r.status_code == 400, r.text
                assert "answer.segments[0].end" in r.json()["detail"]
                both = {
                    "segments": [
                        {"start": 0.5, "end": 1.5, "label": "alice"},
                        {"start": 1.0, "end": 2.0, "label": "bob"},
                    ]
                }
                r = c.post(url, json={"answer": both}, headers=worker)
                assert r.status_code == 400 and "overlaps" in r.json()["detail"], r.text
            segments = [
                {"start": round(max(0, s + jitter), 3), "end": round(e + jitter, 3), "label": lab}
                for lab, s, e in truth
            ]
            answer = {"segments": segments, "duration": seconds}
            r = c.post(url, json={"answer": answer}, headers=worker)
            assert r.status_code == 200, r.text

        report = c.get("/api/jobs/talk/agreement", headers=admin).json()
        assert set(report["per_label"]) == {"alice", "bob"}
        assert all(0.9 < v <= 1 for v in report["per_label"].values()), report
        assert set(report["per_worker"]) == {"x0", "x1", "x2"}

        r = c.post(
            "/api/jobs",
            json={
                "name": "fix",
                "task_type": "audio-segmentation",
                "labels": ["alice", "bob"],
                "input_job": "talk",
                "label_attribute": "fix",
                "teams": ["t"],
                "settings": {"adjustment": True},
            },
            headers=admin,
        )
        assert r.status_code < 300, r.text
        task = c.post("/api/jobs/fix/next", headers=workers[0]).json()
        prior = task["prior_label"]["value"]["segments"]
        assert len(prior) == len(truth)
        # The prior segments, confidences and all, submit as they are.
        r = c.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            json={"answer": {"segments": prior, "initialValueModified": False}},
            headers=workers[0],
        )
        assert r.status_code == 200, r.text

    (line,) = engine.export("talk")
    assert line["source-ref"] == ref
    got = line["talk"]["segments"]
    assert len(got) == len(truth)
    for (label, start, end), out in zip(truth, got, strict=True):
        assert out["label"] == label
        assert abs(out["start"] - start) <= 0.001 and abs(out["end"] - end) <= 0.001
        assert temporal_iou((start, end), (out["start"], out["end"])) > 0.99
        assert set(out) == {"start", "end", "label", "confidence"}
    meta = line["talk-metadata"]
    assert meta["type"] == "groundtruth/audio-segmentation"
    assert meta["class-map"] == {"0": "alice", "1": "bob"}
    assert meta["human-annotated"] == "yes" and meta["job-name"] == "labeling-job/talk"
    assert 0.9 < meta["confidence"] <= 1
    assert set(meta) == {
        "class-map",
        "confidence",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    }
    (fixed,) = engine.export("fix")
    assert fixed["fix-metadata"]["adjustment-status"] == "unadjusted"
    assert [s["start"] for s in fixed["fix"]["segments"]] == [s["start"] for s in got]

    # The output manifest imports unchanged: its labels become an imported job's, which
    # writes the line back as it came.
    again = ws.settings.media_dir / "again.manifest"
    again.write_text(json.dumps(line) + "\n")
    with ws.db.session_scope() as s:
        import_source(s, "again", str(again), allowed_roots=ws.allowed_roots)
    with ws.db.session_scope(write=False) as s:
        imported = s.scalar(
            select(Job).where(
                Job.dataset_id.is_not(None), Job.name != "talk", Job.label_attribute == "talk"
            )
        )
        assert imported is not None and imported.task_type == "audio-segmentation"
        (back,) = [json.loads(x) for x in iter_output_lines(s, imported)]
    assert back == line


def test_a_reviewers_segments_follow_the_job_and_are_certain(engine):
    from truthset.quality.review import review_item
    from truthset.store.models import User

    clear_caches()
    truth, seconds = dialogue(3, seed=6)
    ref = write_wav(engine.media / "r.wav", truth, seconds)
    engine.dataset("rev", [{"id": "r", "source-ref": ref}])
    engine.job(
        "rev",
        "audio-segmentation",
        ["alice", "bob"],
        dataset="rev",
        workers_per_item=1,
        settings={"allow_overlap": False},
    )
    segments = [{"start": s, "end": e, "label": lab} for lab, s, e in truth]
    engine.work("rev", lambda w, item: {"segments": segments}, workers=["w0"])
    with engine.ws.db.session_scope() as s:
        create_user(s, "chief", role="admin")
    overlapping = {"segments": [*segments, {"start": 0, "end": seconds, "label": "bob"}]}
    with engine.ws.db.session_scope() as s:
        job = s.scalar(select(Job).where(Job.name == "rev"))
        chief = s.scalar(select(User).where(User.name == "chief"))
        with pytest.raises(BadInput, match="overlaps"):
            review_item(s, job, "r", overlapping, chief)
        review_item(s, job, "r", {"segments": segments[:2]}, chief)
    (line,) = engine.export("rev")
    assert [s["confidence"] for s in line["rev"]["segments"]] == [1.0, 1.0]
    assert line["rev-metadata"]["confidence"] == 1.0 and line["rev-metadata"]["reviewed"] == "yes"
