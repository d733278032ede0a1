import wave

import pytest

from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

CLS = get_task_type("audio-classification")
TR = get_task_type("audio-transcription")


def write_wav(path, seconds=0.5, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return str(path)


def test_type_facts():
    assert CLS.media == TR.media == "audio"
    assert CLS.output_type == "groundtruth/audio-classification"
    assert TR.output_type == "groundtruth/audio-transcription"
    assert not CLS.supports_auto_labeling and not TR.supports_auto_labeling


def test_audio_classification_is_single_label_classification():
    config = CLS.parse_label_config(["speech", "music"])
    with pytest.raises(BadInput, match="at least 2 labels"):
        CLS.parse_label_config(["speech"])
    with pytest.raises(BadInput, match="'noise' is not one of the job's labels"):
        CLS.validate_answer({"label": "noise"}, config, {"source-ref": "/a.wav"})
    answers = [
        WorkerAnswer(i, {"label": lab}) for i, lab in enumerate(["music", "music", "speech"])
    ]
    result = CLS.consolidate(answers, config, {})
    assert result.value == 1
    assert result.meta == {"class-name": "music", "confidence": 0.67}


def test_transcription_validation():
    config = TR.parse_label_config(None)
    assert config.labels == ()
    assert TR.validate_answer({"transcription": "hello  world"}, config, {}) == {
        "transcription": "hello  world"
    }
    with pytest.raises(BadInput, match=r"answer\.transcription: '   ' is blank"):
        TR.validate_answer({"transcription": "   "}, config, {})
    with pytest.raises(BadInput, match=r"answer\.transcription: None is not text"):
        TR.validate_answer({"text": "hi"}, config, {})
    with pytest.raises(BadInput, match=r"answer\.transcription: 20001 characters, more than"):
        TR.validate_answer({"transcription": "a" * 20001}, config, {})


def test_transcription_rover_with_weights():
    config = TR.parse_label_config([])
    answers = [
        WorkerAnswer(1, {"transcription": "the cat sat on the mat"}),
        WorkerAnswer(2, {"transcription": "the cat sat on a mat"}),
        WorkerAnswer(3, {"transcription": "a cat sat on the mat"}),
    ]
    result = TR.consolidate(answers, config, {})
    assert result.value == "the cat sat on the mat"
    assert set(result.meta) == {"confidence"}
    assert 0.8 < result.meta["confidence"] < 1.0
    # A trusted worker outweighs two weak ones.
    weighted = [
        WorkerAnswer(1, {"transcription": "recognize speech"}, weight=1.0),
        WorkerAnswer(2, {"transcription": "wreck a nice beach"}, weight=0.3),
        WorkerAnswer(3, {"transcription": "wreck a nice beach"}, weight=0.3),
    ]
    assert TR.consolidate(weighted, config, {}).value == "recognize speech"
    single = TR.consolidate(answers[:1], config, {})
    # One worker: their skill, or the job's prior when it is unknown (not 0.0).
    assert single.meta == {"confidence": 0.5} and single.value == "the cat sat on the mat"
    assert single.confidence == 0.5
    skilled = [WorkerAnswer(1, {"transcription": "a cat"}, weight=0.9)]
    assert TR.consolidate(skilled, config, {}).confidence == 0.9
    prior = {"quality": {"prior_skill": 0.6}}
    assert TR.consolidate(answers[:1], config, prior).meta == {"confidence": 0.6}


def test_transcription_end_to_end(engine):
    ref = write_wav(engine.media / "a.wav")
    engine.dataset("clips", [{"id": "a", "source-ref": ref}])
    engine.job("tr", "audio-transcription", None, dataset="clips", workers_per_item=3)
    said = ["good morning everyone", "good morning every one", "good morning everyone"]
    engine.work("tr", lambda w, item: {"transcription": said[w]})
    (line,) = engine.export("tr")
    assert line["tr"] == "good morning everyone"
    assert set(line["tr-metadata"]) == {
        "confidence",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    }
    assert line["tr-metadata"]["type"] == "groundtruth/audio-transcription"


def test_audio_classification_end_to_end(engine):
    ref = write_wav(engine.media / "b.wav")
    engine.dataset("clips2", [{"id": "b", "source-ref": ref}])
    engine.job(
        "ac", "audio-classification", ["speech", "music"], dataset="clips2", workers_per_item=2
    )
    engine.work("ac", lambda w, item: {"label": "speech"}, workers=["w0", "w1"])
    (line,) = engine.export("ac")
    assert line["ac"] == 0
    assert line["ac-metadata"]["class-name"] == "speech"
    assert line["ac-metadata"]["type"] == "groundtruth/audio-classification"
