"""Job creation refuses a task type that cannot work on the dataset's items, naming the
item and what it is; refs of unknown kind are allowed."""

from __future__ import annotations

import re

import pytest

from support import bearer, write_manifest
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.jobs import data_fit
from truthset.jobs.data_fit import SAMPLE, file_kind, item_misfit
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.store.lookup import find_by_name
from truthset.store.models import Job

LABELS = {
    "named-entity-recognition": ["PER", "LOC"],
    "text-classification": ["pos", "neg"],
    "bounding-box": ["car"],
    "image-classification": ["cat", "dog"],
    "audio-classification": ["speech", "music"],
    "audio-transcription": [],
    "point-cloud-object-detection": {
        "documentVersion": "2020-03-01",
        "labels": [{"label": "Car"}],
    },
}


def dataset(ws, name: str, rows: list[dict]) -> str:
    manifest = write_manifest(ws.settings.media_dir / f"{name}.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, name, str(manifest), allowed_roots=ws.allowed_roots)
    return name


def refs(ws, *names: str) -> list[dict]:
    return [
        {"id": f"it-{i}", "source-ref": str(ws.settings.media_dir / n)} for i, n in enumerate(names)
    ]


def make_job(ws, task_type: str, data: str, name: str = "j", **kw) -> None:
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name=name,
                task_type=task_type,
                label_config=LABELS[task_type],
                workers_per_item=1,
                **({"dataset": data} if "input_job" not in kw else {}),
                **kw,
            ),
        )


def job_exists(ws, name: str = "j") -> bool:
    with ws.db.session_scope(write=False) as s:
        return find_by_name(s, Job, name) is not None


def test_an_entity_job_over_pdfs_is_refused(ws):
    dataset(ws, "docs", refs(ws, "a.pdf", "b.pdf"))
    with pytest.raises(BadInput) as e:
        make_job(ws, "named-entity-recognition", "docs")
    message = str(e.value)
    assert "named-entity-recognition jobs work on inline text (source)" in message
    assert re.search(r"item 'it-0' of dataset 'docs' has no inline text \(source\), only", message)
    assert "a document" in message and ".pdf" in message
    assert "(2 of the 2 items checked do not fit)" in message
    assert not job_exists(ws)  # nothing was written


def test_a_box_job_over_a_video_frame_sequence_file_is_refused(ws):
    rows = [{"source-ref": str(ws.settings.media_dir / "frames" / "seq1.json"), "id": "seq-1"}]
    dataset(ws, "video", rows)
    with pytest.raises(BadInput) as e:
        make_job(ws, "bounding-box", "video")
    assert "item 'seq-1'" in str(e.value)
    assert "video frame and point cloud sequence files are .json" in str(e.value)
    assert "frames/seq1.json" in str(e.value)
    assert not job_exists(ws)


@pytest.mark.parametrize(
    ("task_type", "files", "refused"),
    [
        ("image-classification", ["a.jpg", "b.PNG", "c.webp"], None),
        ("image-classification", ["a.jpg", "clip.mp4"], "it-1"),
        ("image-classification", ["a.jpg", "song.wav"], "it-1"),
        ("bounding-box", ["a.jpg", "scan.pcd"], "it-1"),
        ("audio-classification", ["a.wav", "b.mp3", "c.flac", "talk.mp4"], None),
        ("audio-transcription", ["a.wav", "photo.jpg"], "it-1"),
        # Ground Truth's frames: .bin (no kind here), text/xyzi .txt, .pcd, .las, sequences.
        ("point-cloud-object-detection", ["f.bin", "f.txt", "f.pcd", "f.las", "s.json"], None),
        ("point-cloud-object-detection", ["f.bin", "photo.jpg"], "it-1"),
        # Keys without an extension, or with one not listed, are allowed.
        ("image-classification", ["0001", "frame.raw", "x.y.jpeg"], None),
        ("audio-classification", ["recording", "b.m4a"], None),
    ],
)
def test_media_types_by_extension(ws, task_type, files, refused):
    dataset(ws, "d", refs(ws, *files))
    if refused is None:
        make_job(ws, task_type, "d")
        assert job_exists(ws)
        return
    with pytest.raises(BadInput, match=f"item '{refused}'"):
        make_job(ws, task_type, "d")


def test_inline_text_and_refs_each_need_their_task_types(ws):
    dataset(ws, "texts", [{"id": "t0", "source": "hello"}, {"id": "t1", "source": "there"}])
    make_job(ws, "text-classification", "texts", name="ok-text")
    with pytest.raises(
        BadInput, match="item 't0' .* has inline text \\(source\\) and no source-ref"
    ):
        make_job(ws, "image-classification", "texts")
    with pytest.raises(BadInput, match="audio files: item 't0'"):
        make_job(ws, "audio-classification", "texts")


def test_items_past_the_sample_are_counted_in_sql(any_ws, monkeypatch):
    """In a dataset of at most FULL_CHECK items, an item the sample did not see that lacks
    the key the task type needs is found by the count, on both stores, and named."""
    monkeypatch.setattr(data_fit, "SAMPLE", 0)
    rows = [{"id": f"t{i:04d}", "source": f"text {i}"} for i in range(SAMPLE + 100)]
    media = any_ws.settings.media_dir
    rows[SAMPLE + 50] = {"id": "late", "source-ref": str(media / "late.pdf")}
    rows[SAMPLE + 70] = {"id": "later", "source-ref": str(media / "later.png")}
    dataset(any_ws, "mixed", rows)
    with pytest.raises(BadInput) as e:
        make_job(any_ws, "named-entity-recognition", "mixed")
    assert (
        "item 'late' of dataset 'mixed' has no inline text (source), only a source-ref to a"
        in str(e.value)
    )
    assert f"(2 of its {SAMPLE + 100} items have no source)" in str(e.value)
    rows = [{"id": f"i{i:04d}", "source-ref": str(media / f"{i}.jpg")} for i in range(SAMPLE + 10)]
    rows[-1] = {"id": "caption", "source": "a caption, no image"}
    dataset(any_ws, "images", rows)
    with pytest.raises(BadInput, match="item 'caption' .* and no source-ref"):
        make_job(any_ws, "bounding-box", "images")


def test_the_sample_is_spread_over_the_whole_dataset(any_ws, monkeypatch):
    """Past FULL_CHECK items only the sample is read; it is not the first items in import
    order, so misfits at the end of a big dataset are seen too."""
    monkeypatch.setattr(data_fit, "FULL_CHECK", 0)
    monkeypatch.setattr(data_fit, "SAMPLE", 50)
    media = any_ws.settings.media_dir
    rows = [{"id": f"i{i:03d}", "source-ref": str(media / f"{i}.jpg")} for i in range(200)]
    rows += [{"id": f"v{i:03d}", "source-ref": str(media / f"{i}.mov")} for i in range(100)]
    dataset(any_ws, "tail", rows)
    with pytest.raises(BadInput) as e:
        make_job(any_ws, "image-classification", "tail")
    assert re.search(r"item 'v\d{3}' of dataset 'tail' is a video \(.*\.mov\)", str(e.value))
    assert re.search(r"\(\d+ of the 50 items checked do not fit\)", str(e.value))


def test_a_chained_job_is_checked_against_its_input_jobs_items(ws):
    dataset(ws, "photos", refs(ws, "a.jpg"))
    make_job(ws, "image-classification", "photos", name="first")
    with pytest.raises(BadInput, match="text-classification jobs work on inline text"):
        make_job(ws, "text-classification", None, name="second", input_job="first")


def test_an_empty_dataset_fits_any_task_type(ws):
    dataset(ws, "empty", [])
    make_job(ws, "named-entity-recognition", "empty")
    assert job_exists(ws)


def test_the_api_answers_a_misfit_with_a_400_naming_the_item(ws, client):
    from truthset.api.tokens import issue_token
    from truthset.workforce.service import create_user

    dataset(ws, "docs", refs(ws, "a.pdf"))
    with ws.db.session_scope() as s:
        token = issue_token(s, create_user(s, "boss", role="admin"))
    r = client.post(
        "/api/jobs",
        headers=bearer(token),
        json={
            "name": "ner",
            "task_type": "named-entity-recognition",
            "label_config": ["PER"],
            "dataset": "docs",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"] == "bad_input"
    assert "item 'it-0'" in r.json()["detail"]


def test_file_kinds_and_misfits():
    assert file_kind("https://host/img/a.JPG?X-Amz-Signature=abc#x") == "image"
    assert file_kind("s3://bucket/no-extension") is None
    assert file_kind("s3://bucket/dir.v2/key") is None  # a dot in a folder is no extension
    assert file_kind("/data/.hidden") is None
    assert file_kind("s3://b/doc.pdf") == "document"
    assert file_kind("s3://b/seq.json") == "sequence"
    assert item_misfit("text", {"source": "x"}) is None
    assert item_misfit("text", {"source": 3}) == "has no inline text (source)"
    assert item_misfit("image", {}) == "has no source-ref"
    assert item_misfit("audio", {"source-ref": "s3://b/v.webm"}) is None
    assert item_misfit("image", {"source-ref": "s3://b/v.webm"}) == "is a video (s3://b/v.webm)"
