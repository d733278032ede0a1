import os
import uuid
from pathlib import Path

import pytest

from audio_support import dialogue, write_wav
from conftest import require
from truthset.consensus.spatial import temporal_iou
from truthset.errors import BadInput
from truthset.media.audio_windows import clear_caches
from truthset.media.storage import s3_client
from truthset.tasktypes import TaskType, WorkerAnswer, all_task_types, get_task_type
from truthset.tasktypes.predictions import predicted_answer

SEG = get_task_type("audio-segmentation")
TR = get_task_type("audio-segment-transcription")
SPEAKERS = ["alice", "bob"]

CONFIG_2020 = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "alice",
            "categoryAttributes": [
                {"name": "emotion", "type": "string", "enum": ["calm", "angry"]}
            ],
        },
        {"label": "bob"},
    ],
    "categoryGlobalAttributes": [{"name": "overlapped", "type": "string", "enum": ["y", "n"]}],
    "frameAttributes": [
        {"name": "noisy", "description": "Noisy?", "type": "string", "enum": ["yes", "no"]}
    ],
}


def seg(label, start, end, **extra):
    return {"start": start, "end": end, "label": label, **extra}


def test_registered_with_the_contract_facts():
    for task_type, output in (
        (SEG, "groundtruth/audio-segmentation"),
        (TR, "groundtruth/audio-segment-transcription"),
    ):
        assert isinstance(task_type, TaskType)
        assert all_task_types()[task_type.name] is task_type
        assert task_type.media == "audio"
        assert task_type.ui_module == "tools/audio-segments.js"
        assert task_type.output_type == output
        assert task_type.supports_adjustment and not task_type.supports_auto_labeling


def test_label_config():
    assert SEG.parse_label_config(["speech"]).labels == ("speech",)
    with pytest.raises(BadInput, match="at least 1 labels"):
        SEG.parse_label_config([])
    config = TR.parse_label_config(CONFIG_2020)
    assert config.labels == ("alice", "bob")
    assert [a.name for a in config.attributes_of("alice")] == ["overlapped", "emotion"]
    assert [a.name for a in config.frame_attributes] == ["noisy"]


def test_settings():
    SEG.check_settings({"allow_overlap": False, "consolidation": {"iou_threshold": 0.3}})
    TR.check_settings({"consolidation": {"case_sensitive": True, "min_support": 1}})
    with pytest.raises(BadInput, match=r"settings\.allow_overlap: 'no' is not true or false"):
        SEG.check_settings({"allow_overlap": "no"})
    with pytest.raises(BadInput, match=r"consolidation\.case_sensitive: not a parameter"):
        SEG.check_settings({"consolidation": {"case_sensitive": True}})
    with pytest.raises(BadInput, match=r"consolidation\.iou_threshold: 0 is not"):
        SEG.check_settings({"consolidation": {"iou_threshold": 0}})
    assert SEG.tool_settings({}) == {"allow_overlap": True}
    assert SEG.tool_settings({"allow_overlap": False}) == {"allow_overlap": False}


def test_answer_is_rounded_to_ms_and_sorted():
    config = SEG.parse_label_config(SPEAKERS)
    out = SEG.validate_answer(
        {
            "segments": [
                seg("bob", 2.00049, 3.5),
                seg("alice", 0.1234, 1.9999, confidence=0.8),
                seg("alice", 2.0, 3.0),
            ],
            "duration": 4.0,
            "zoom": 3,  # the tool's own keys beside the answer are left out
        },
        config,
        {},
    )
    assert out == {
        "segments": [seg("alice", 0.123, 2), seg("alice", 2, 3), seg("bob", 2, 3.5)],
        "duration": 4,
    }
    assert SEG.validate_answer({"segments": []}, config, {}) == {"segments": []}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"segment": []}, r"answer\.segments: missing"),
        ({"segments": {}}, r"answer\.segments: \{\} is not a list"),
        ({"segments": [seg("alice", 0, 1)] * 10_001}, "10,001 segments, at most 10,000"),
        ({"segments": [seg("alice", 0, 1), 3]}, r"answer\.segments\[1\]: 3 is not an object"),
        ({"segments": [{"start": 0, "label": "bob"}]}, r"segments\[0\]\.end: missing"),
        ({"segments": [seg("bob", "0", 1)]}, r"segments\[0\]\.start: '0' is not a number"),
        ({"segments": [seg("bob", True, 1)]}, r"segments\[0\]\.start: True is not a number"),
        ({"segments": [seg("bob", float("nan"), 1)]}, r"segments\[0\]\.start: nan is not"),
        ({"segments": [seg("bob", -1, 1)]}, r"segments\[0\]\.start: -1 is negative"),
        ({"segments": [seg("bob", 2, 1)]}, r"segments\[0\]\.end: 1 must be after start 2"),
        ({"segments": [seg("bob", 1, 1.0004)]}, r"segments\[0\]: shorter than a millisecond"),
        ({"segments": [seg("carol", 0, 1)]}, r"segments\[0\]\.label: 'carol' is not one of"),
        (
            {"segments": [seg("carol", 0, 1, **{"label-category-attributes": {"x": 1}})]},
            r"segments\[0\]\.label: 'carol' is not one of",
        ),
        ({"segments": [seg("bob", 0, 1, id=7)]}, r"segments\[0\]\.id: not a segment field"),
        ({"segments": [seg("bob", 0, 1, text="hi")]}, r"segments\[0\]\.text: an audio-segm"),
        ({"segments": [seg("bob", 0, 5)], "duration": 4}, r"segments\[0\]\.end: 5 is after"),
        ({"segments": [], "duration": 0}, r"answer\.duration: 0 must be positive"),
        ({"segments": [], "duration": "long"}, r"answer\.duration: 'long' is not a number"),
    ],
)
def test_bad_answers_name_the_field(answer, message):
    with pytest.raises(BadInput, match=message):
        SEG.validate_answer(answer, SEG.parse_label_config(SPEAKERS), {})


def test_duration_comes_from_the_audio_file(tmp_path):
    clear_caches()
    truth, seconds = dialogue(4)
    ref = write_wav(tmp_path / "d.wav", truth, seconds)
    config = SEG.parse_label_config(SPEAKERS)
    item = {"source-ref": ref}
    # The file says how long the clip is, whatever the answer claims.
    out = SEG.validate_answer({"segments": [], "duration": 999}, config, item)
    assert out["duration"] == seconds
    SEG.validate_answer({"segments": [seg("bob", 0, seconds + 0.05)]}, config, item)
    with pytest.raises(BadInput, match=rf"end: {seconds + 0.2} is after the end of the clip"):
        SEG.validate_answer({"segments": [seg("bob", 0, seconds + 0.2)]}, config, item)
    # An unreadable file: the answer's duration is used.
    missing = {"source-ref": str(tmp_path / "gone.wav")}
    out = SEG.validate_answer({"segments": [], "duration": 3.25}, config, missing)
    assert out["duration"] == 3.25


def test_duration_of_an_s3_recording_is_read_once(tmp_path, monkeypatch):
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    from truthset.media import audio_windows
    from truthset.tasktypes import audio_segments

    truth, seconds = dialogue(3, seed=5)
    path = write_wav(tmp_path / "s3.wav", truth, seconds)
    bucket = f"seg-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="calls/a.wav", Body=Path(path).read_bytes())
    item = {"source-ref": f"s3://{bucket}/calls/a.wav"}
    config = SEG.parse_label_config(SPEAKERS)
    calls = []
    real = audio_windows.duration_of
    monkeypatch.setattr(audio_windows, "duration_of", lambda ref: calls.append(ref) or real(ref))
    for _ in range(3):
        out = SEG.validate_answer({"segments": [seg("bob", 0, seconds)]}, config, item)
        assert out["duration"] == seconds
    assert calls == [item["source-ref"]]  # one HEAD and header read, not one per answer
    with pytest.raises(BadInput, match="is after the end of the clip"):
        SEG.validate_answer({"segments": [seg("bob", 0, seconds + 1)]}, config, item)
    audio_segments._s3_duration.cache_clear()


def test_transcription_text():
    config = TR.parse_label_config(SPEAKERS)
    out = TR.validate_answer(
        {"segments": [seg("bob", 0, 1, text="hello there"), seg("alice", 1, 2)]}, config, {}
    )
    assert out["segments"] == [seg("bob", 0, 1, text="hello there"), seg("alice", 1, 2, text="")]
    with pytest.raises(BadInput, match=r"segments\[0\]\.text: 3 is not text"):
        TR.validate_answer({"segments": [seg("bob", 0, 1, text=3)]}, config, {})
    with pytest.raises(BadInput, match=r"segments\[0\]\.text: 5,001 characters, at most 5,000"):
        TR.validate_answer({"segments": [seg("bob", 0, 1, text="a" * 5001)]}, config, {})


def test_attributes():
    config = SEG.parse_label_config(CONFIG_2020)
    out = SEG.validate_answer(
        {
            "segments": [
                seg("alice", 0, 1, **{"label-category-attributes": {"emotion": "calm"}}),
                seg("bob", 1, 2),
            ],
            "frame-attributes": {"noisy": "no"},
        },
        config,
        {},
    )
    assert out["segments"][0]["label-category-attributes"] == {"emotion": "calm"}
    assert "label-category-attributes" not in out["segments"][1]
    assert out["frame-attributes"] == {"noisy": "no"}
    with pytest.raises(BadInput, match=r"segments\[0\]\.label-category-attributes\.emotion"):
        SEG.validate_answer(
            {"segments": [seg("bob", 0, 1, **{"label-category-attributes": {"emotion": "x"}})]},
            config,
            {},
        )
    with pytest.raises(BadInput, match=r"answer\.frame-attributes\.noisy: 'maybe' is not one"):
        SEG.validate_answer({"segments": [], "frame-attributes": {"noisy": "maybe"}}, config, {})


def test_overlap_refused_only_when_the_job_says_so():
    config = SEG.parse_label_config(SPEAKERS)
    content = SEG.validate_answer(
        {"segments": [seg("alice", 0, 5), seg("bob", 1, 2), seg("bob", 5, 6)]}, config, {}
    )
    SEG.check_answer_settings(content, {})
    with pytest.raises(BadInput, match=r"'bob' 1-2 s overlaps 'alice' 0-5 s; this job does not"):
        SEG.check_answer_settings(content, {"allow_overlap": False})
    touching = SEG.validate_answer({"segments": [seg("alice", 0, 1), seg("bob", 1, 2)]}, config, {})
    SEG.check_answer_settings(touching, {"allow_overlap": False})


def test_consolidation_label_and_metadata():
    config = SEG.parse_label_config(SPEAKERS)
    answers = [
        WorkerAnswer(1, {"segments": [seg("alice", 0, 2), seg("bob", 2.5, 4)]}),
        WorkerAnswer(2, {"segments": [seg("alice", 0.1, 2.1), seg("bob", 2.5, 4.2)]}),
        WorkerAnswer(3, {"segments": [seg("alice", 0, 2)]}),
    ]
    result = SEG.consolidate(answers, config, {})
    assert [(s["label"], s["start"], s["end"]) for s in result.value["segments"]] == [
        ("alice", 0, 2),
        ("bob", 2.5, 4.1),
    ]
    assert all(set(s) == {"start", "end", "label", "confidence"} for s in result.value["segments"])
    assert result.meta["class-map"] == {"0": "alice", "1": "bob"}
    assert result.meta["confidence"] == result.confidence
    assert 0 < result.confidence < 1
    nothing = SEG.consolidate([WorkerAnswer(1, {"segments": []})] * 2, config, {})
    assert nothing.value == {"segments": []} and nothing.confidence == 1.0
    # One worker: each segment carries the worker's skill (the job's prior here), not 0.0.
    one = SEG.consolidate(answers[:1], config, {"quality": {"prior_skill": 0.6}})
    assert [s["confidence"] for s in one.value["segments"]] == [0.6, 0.6] == [one.confidence] * 2


def test_consolidated_attributes_and_adjustment_status():
    config = SEG.parse_label_config(CONFIG_2020)

    def ans(emotion, noisy, modified):
        return {
            "segments": [seg("alice", 0, 1, **{"label-category-attributes": {"emotion": emotion}})],
            "frame-attributes": {"noisy": noisy},
            "initialValueModified": modified,
        }

    answers = [
        WorkerAnswer(1, ans("calm", "no", False)),
        WorkerAnswer(2, ans("angry", "yes", True)),
        WorkerAnswer(3, ans("angry", "yes", False)),
    ]
    result = SEG.consolidate(answers, config, {"adjustment": True})
    (only,) = result.value["segments"]
    assert only["label-category-attributes"] == {"emotion": "angry"}
    assert list(only)[-1] == "confidence"
    assert result.meta["dataset-object-attributes"] == {"noisy": "yes"}
    assert result.meta["adjustment-status"] == "adjusted"


def test_transcripts_consolidated_per_segment():
    config = TR.parse_label_config(SPEAKERS)
    said = ["good morning everyone", "good morning every one", "good morning everyone"]
    answers = [
        WorkerAnswer(i, {"segments": [seg("alice", 0, 2, text=t), seg("bob", 3, 4, text="hi")]})
        for i, t in enumerate(said)
    ]
    result = TR.consolidate(answers, config, {})
    assert [s["text"] for s in result.value["segments"]] == ["good morning everyone", "hi"]
    alice, bob = result.value["segments"]
    assert alice["confidence"] < bob["confidence"] == 1.0


def test_no_overlap_in_the_label_when_not_allowed():
    config = SEG.parse_label_config(SPEAKERS)
    answers = [
        WorkerAnswer(1, {"segments": [seg("alice", 0, 2.2), seg("bob", 2.2, 4)]}),
        WorkerAnswer(2, {"segments": [seg("alice", 0, 2.0), seg("bob", 2.0, 4)]}),
        WorkerAnswer(3, {"segments": [seg("alice", 0, 2.3), seg("bob", 1.9, 4)]}),
    ]
    allowed = SEG.consolidate(answers, config, {})
    a, b = allowed.value["segments"]
    assert a["end"] > b["start"]  # medians of each boundary: 2.2 and 2.0
    strict = SEG.consolidate(answers, config, {"allow_overlap": False})
    a, b = strict.value["segments"]
    assert a["end"] == b["start"] == 2.1


def test_initial_answer_and_predictions_give_the_answer_shape():
    config = TR.parse_label_config(CONFIG_2020)
    value = {
        "segments": [
            seg(
                "alice",
                0,
                1,
                text="hi",
                confidence=0.9,
                **{"label-category-attributes": {"emotion": "calm"}},
            )
        ]
    }
    meta = {"class-map": {"0": "alice"}, "dataset-object-attributes": {"noisy": "no"}}
    expected = {
        "segments": [
            seg("alice", 0, 1, text="hi", **{"label-category-attributes": {"emotion": "calm"}})
        ],
        "frame-attributes": {"noisy": "no"},
    }
    assert TR.initial_answer(value, meta, config) == expected
    assert predicted_answer(TR, value, meta, config) == expected
    assert TR.validate_answer(expected, config, {})["segments"] == expected["segments"]
    # The answer shape (what pre-segmentation writes) comes through as it is.
    plain = {"segments": [seg("bob", 1, 2)], "duration": 3}
    assert predicted_answer(SEG, plain, {}, SEG.parse_label_config(SPEAKERS)) == plain


def test_agreement():
    config = SEG.parse_label_config(SPEAKERS)
    a = {"segments": [seg("alice", 0, 2), seg("bob", 3, 4)]}
    b = {"segments": [seg("alice", 0, 1.6), seg("bob", 3, 4)]}
    assert SEG.agreement(a, a, config) == 1.0
    assert SEG.agreement(a, b, config) == pytest.approx((0.8 + 1.0) / 2)
    swapped = {"segments": [seg("bob", 0, 2), seg("alice", 3, 4)]}
    assert SEG.agreement(a, swapped, config) == 0.0  # matched per label only
    assert SEG.agreement({"segments": []}, {"segments": []}, config) == 1.0
    assert SEG.agreement(a, {"segments": []}, config) == 0.0
    t1 = {"segments": [seg("alice", 0, 2, text="one two three four")]}
    t2 = {"segments": [seg("alice", 0, 2, text="one two three five")]}
    assert TR.agreement(t1, t2, config) == pytest.approx((1.0 + 0.75) / 2)
    assert temporal_iou((0, 2), (0, 1.6)) == pytest.approx(0.8)
