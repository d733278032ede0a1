"""Video classification: one label per clip (classification's answer, vote and output),
a job over video files only, the clip streamed by Range requests, Ground Truth's output."""

from __future__ import annotations

import pytest

from media.video_support import render_video
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

VIDEO = get_task_type("video-classification")


def test_type_facts():
    assert VIDEO.media == "video"
    assert VIDEO.output_type == "groundtruth/video-classification"
    assert VIDEO.ui_module == "tools/video-classify.js"
    assert not VIDEO.supports_auto_labeling


def test_answers_and_the_vote():
    config = VIDEO.parse_label_config(["sports", "music", "news"])
    item = {"source-ref": "/clips/a.mp4"}
    assert VIDEO.validate_answer({"label": "music"}, config, item) == {"label": "music"}
    with pytest.raises(BadInput, match="'cooking' is not one of the job's labels"):
        VIDEO.validate_answer({"label": "cooking"}, config, item)
    with pytest.raises(BadInput, match="answer must be an object"):
        VIDEO.validate_answer({"labels": ["music"]}, config, item)
    with pytest.raises(BadInput, match="at least 2 labels"):
        VIDEO.parse_label_config(["sports"])
    votes = [WorkerAnswer(i, {"label": x}) for i, x in enumerate(["news", "music", "news"])]
    result = VIDEO.consolidate(votes, config, {})
    assert result.value == 2 and result.meta == {"class-name": "news", "confidence": 0.67}
    one = VIDEO.consolidate([WorkerAnswer(0, {"label": "sports"})], config, {})
    assert one.meta["confidence"] == 0.0  # Ground Truth's 0.00 for one worker


def test_a_job_over_videos_through_the_work_engine(engine):
    clips = [render_video(engine.media / f"{name}.mp4", 8) for name in ("a", "b")]
    engine.dataset("clips", [{"id": p.stem, "source-ref": str(p)} for p in clips])
    engine.job(
        "kinds", "video-classification", ["sports", "music"], dataset="clips", workers_per_item=3
    )
    engine.work(
        "kinds", lambda w, item: {"label": "music" if item["id"] == "a" or w == 0 else "sports"}
    )
    lines = engine.export("kinds")
    assert [line["kinds"] for line in lines] == [1, 0]
    meta = lines[0]["kinds-metadata"]
    assert meta["type"] == "groundtruth/video-classification"
    assert meta["class-name"] == "music" and meta["confidence"] == 1.0
    assert lines[1]["kinds-metadata"]["class-name"] == "sports"
    assert lines[1]["kinds-metadata"]["confidence"] == 0.67


def test_a_job_over_images_is_refused_naming_the_item(engine):
    engine.dataset("stills", [{"id": "s1", "source-ref": engine.image("s1.png", 8, 8)}])
    with pytest.raises(BadInput, match=r"video-classification jobs work on video files: item 's1'"):
        engine.job("v", "video-classification", ["a", "b"], dataset="stills")


def test_the_clip_is_streamed_by_range_requests(ws, client):
    from support import bearer, job_over_items
    from truthset.api.tokens import issue_token
    from truthset.workforce.service import create_team, create_user

    video = render_video(ws.settings.media_dir / "clip.mp4", 30)
    with ws.db.session_scope() as s:
        create_team(s, "t")
        token = issue_token(s, create_user(s, "w", role="worker", teams=["t"]))
    job_over_items(
        ws, "kinds", [{"source-ref": str(video)}], ["a", "b"], task_type="video-classification"
    )
    worker = bearer(token)
    task = client.post("/api/jobs/kinds/next", headers=worker).json()
    assert task["ui_module"] == "tools/video-classify.js"
    url = task["item"]["media_url"]
    whole = client.get(url, headers=worker)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={**worker, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{video.stat().st_size}"
    assert part.content == video.read_bytes()[100:200]
    answer = client.post(
        f"/api/assignments/{task['assignment_id']}/submit",
        json={"answer": {"label": "b"}},
        headers=worker,
    )
    assert answer.status_code in (200, 201), answer.text
