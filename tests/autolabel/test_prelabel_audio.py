"""Pre-segmentation of audio segment jobs: voice activity on generated audio of known truth
becomes the worker's prediction (boundaries within milliseconds of the truth), the worker
corrects it, and the time report sees it; bad requests are refused before a run starts."""

from __future__ import annotations

import numpy as np
import pytest

from audio_support import dialogue, write_wav
from support import Setup, bearer, wait_run, write_manifest
from truthset.autolabel.prelabel import check_request, detected_segments
from truthset.consensus.spatial import match_intervals
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.media.audio_windows import clear_caches


def _audio_job(ws, task_type="audio-segment-transcription") -> tuple[Setup, dict]:
    clear_caches()
    folder = ws.settings.media_dir / "talks"
    truths, rows = {}, []
    for seed in (1, 2):
        truth, seconds = dialogue(6, seed=seed)
        name = f"talk{seed}"
        truths[name] = (truth, seconds)
        rows.append({"id": name, "source-ref": write_wav(folder / f"{name}.wav", truth, seconds)})
    manifest = write_manifest(ws.settings.media_dir / "talks.manifest", rows)
    setup = Setup(ws, n_items=0, n_workers=1)
    with ws.db.session_scope() as s:
        import_source(s, "talks", str(manifest), allowed_roots=ws.allowed_roots)
    setup.job(
        "talks",
        task_type=task_type,
        label_config=["speech", "alice", "bob"],
        dataset="talks",
        workers_per_item=1,
    )
    return setup, truths


@pytest.mark.parametrize("detector", ["energy", "webrtcvad"])
def test_voice_activity_becomes_the_workers_prediction(ws, client, detector):
    from truthset.runs.executor import run_pending

    setup, truths = _audio_job(ws)
    admin = bearer(setup.admin_token)
    r = client.post("/api/jobs/talks/prelabel", headers=admin, json={"detector": detector})
    assert r.status_code == 202, r.json()
    run_id = r.json()["id"]
    run_pending(ws.db, ws.settings)
    run = wait_run(client, run_id, admin)
    assert run["state"] == "succeeded", run
    assert run["result"]["items"] == 2 and run["result"]["label"] == "speech"
    assert run["result"]["segments"] == 12
    worker = bearer(setup.worker_tokens["w00"])
    tolerance_ms = {"energy": 60, "webrtcvad": 250}[detector]  # pads of 50 ms included
    for _ in range(2):
        task = client.post("/api/jobs/talks/next", headers=worker).json()
        prediction = task["prediction"]
        truth, seconds = truths[task["item"]["id"]]
        assert prediction["duration"] == seconds
        found = np.array([(s["start"], s["end"]) for s in prediction["segments"]])
        assert {s["label"] for s in prediction["segments"]} == {"speech"}
        expected = np.array([(s, e) for _, s, e in truth])
        pairs = match_intervals(expected, found, 0.5)
        assert len(pairs) == len(truth) == len(found)
        worst = max(np.abs(expected[i] - found[j]).max() for i, j, _ in pairs) * 1000
        assert worst < tolerance_ms
        # The worker names the speakers and says what was said: the corrected answer.
        answer = {
            "segments": [
                {"start": s["start"], "end": s["end"], "label": lab, "text": "hello"}
                for s, (lab, _, _) in zip(prediction["segments"], truth, strict=True)
            ]
        }
        done = client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            headers=worker,
            json={"answer": answer, "time_spent": 4.0},
        )
        assert done.status_code == 200, done.json()
    report = client.get("/api/jobs/talks/prelabeling", headers=admin).json()
    assert report["with_prediction"]["answers"] == 2
    assert report["with_prediction"]["kept_unchanged"] == 0


def test_requests_refused_before_a_run(ws):
    _audio_job(ws, task_type="audio-segmentation")
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "talks")
        assert check_request(job, "energy", None) == "speech"
        assert check_request(job, "webrtcvad", "bob") == "bob"
        with pytest.raises(BadInput, match="detector 'face' is not one of energy, webrtcvad"):
            check_request(job, "face", None)
        with pytest.raises(BadInput, match="label 'carol' is not a label of job 'talks'"):
            check_request(job, "energy", "carol")


def test_unreadable_audio_is_named(tmp_path):
    with pytest.raises(OSError, match="gone.wav"):
        detected_segments(str(tmp_path / "gone.wav"), "energy", "speech")


def test_presegment_from_the_cli(ws):
    import json

    from typer.testing import CliRunner

    from truthset.cli.main import app

    _audio_job(ws, task_type="audio-segmentation")
    data = ["--data-dir", str(ws.settings.data_dir)]
    args = ["job", "prelabel", "talks", "--detector", "energy", "--label", "alice", *data]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert (result["items"], result["segments"], result["label"]) == (2, 12, "alice")
    r = CliRunner().invoke(app, ["job", "prelabel", "talks", "--detector", "face", *data])
    assert r.exit_code == 2 and "detector 'face' is not one of energy, webrtcvad" in r.output
