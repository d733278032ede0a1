"""The video tool (tools/video.js) in the real Chromium, over a generated sequence: a red
box moves in a straight line across 100 frames (known truth at every frame).

- draw a track with two keyframes 99 frames apart, see the interpolated box on frame 50
  where the server's rule puts it, submit, and read the per-frame boxes the server stored;
- predict next with the server's tracker: the boxes follow the moving box, and a frame
  the worker drew is never overwritten;
- resume from the server draft in a browser that kept nothing (another device);
- who may read the frames and the drafts.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from web.ui_support import TEAM, Pages, Site, wait_for_task

FRAMES = 100
SIZE = (320, 240)
BOX = (50, 40)  # width, height of the moving box


def truth(f: int) -> dict[str, float]:
    """Where the red box is on frame f: from (20, 40) to (230, 160), linearly."""
    t = f / (FRAMES - 1)
    return {"left": 20 + 210 * t, "top": 40 + 120 * t, "width": BOX[0], "height": BOX[1]}


def sequence(site: Site, name: str, frames: int = FRAMES, size: tuple[int, int] = SIZE) -> str:
    """JPEG frames of the moving box and their Ground Truth sequence file; its path."""
    from PIL import Image, ImageDraw

    folder = Path(site.ws.settings.media_dir) / "test-video" / name
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for f in range(frames):
        img = Image.new("RGB", size, "#20303f")
        draw = ImageDraw.Draw(img)
        for x in range(0, size[0], 40):  # a fixed background texture
            draw.line([(x, 0), (x, size[1])], fill="#35506a", width=1)
        b = (
            truth(f)
            if frames == FRAMES
            else {"left": 10 + f % 50, "top": 20, "width": 40, "height": 30}
        )
        draw.rectangle(
            [b["left"], b["top"], b["left"] + b["width"] - 1, b["top"] + b["height"] - 1],
            fill="#e02020",
        )
        img.save(folder / f"frame_{f:04d}.jpg", quality=90)
        entries.append(
            {"frame-no": f, "frame": f"frame_{f:04d}.jpg", "unix-timestamp": 1_700_000_000 + f / 10}
        )
    doc = {"seq-no": 1, "prefix": str(folder) + "/", "number-of-frames": frames, "frames": entries}
    path = folder / "seq.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def make_job(site: Site, task_type: str, labels: Any, items: list[dict[str, Any]]) -> str:
    """A job over `items` (Site.job, but with the `-ref` label attribute a label-file type
    needs: its SeqLabel.json is a file)."""
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    name = f"video-{uuid.uuid4().hex[:8]}"
    manifest = Path(site.ws.settings.media_dir) / f"ds-{name}.manifest"
    manifest.write_text("\n".join(json.dumps(r) for r in items) + "\n", encoding="utf-8")
    with site.ws.db.session_scope() as s:
        import_source(s, f"ds-{name}", str(manifest), allowed_roots=site.ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name=name,
                task_type=task_type,
                label_config=labels,
                dataset=f"ds-{name}",
                workers_per_item=1,
                teams=[TEAM],
                instructions="Track every car.",
                task_time_limit=600,
                label_attribute=f"{name}-ref",
            ),
        )
    return name


def video_job(site: Site, name: str, task_type: str = "video-object-tracking") -> str:
    items = [{"id": name, "source-ref": sequence(site, name)}]
    return make_job(site, task_type, ["car", "person"], items)


def open_tool(pages: Pages, job: str, worker: str = "worker1", **kw: Any) -> Any:
    page = pages.open(worker, f"/work/{job}", **kw)
    wait_for_task(page)
    page.wait_for_selector("#tool-root[data-ready='true']")
    page.wait_for_function("document.getElementById('tool-root').dataset.painted !== undefined")
    return page


def client(page: Any, x: float, y: float) -> tuple[float, float]:
    """The page coordinates of image pixel (x, y)."""
    box = page.locator("#tool-root svg.overlay").bounding_box()
    return box["x"] + x * box["width"] / SIZE[0], box["y"] + y * box["height"] / SIZE[1]


def drag(page: Any, a: tuple[float, float], b: tuple[float, float], shift: bool = False) -> None:
    page.mouse.move(*client(page, *a))
    if shift:
        page.keyboard.down("Shift")
    page.mouse.down()
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    page.mouse.move(*client(page, *mid), steps=3)
    page.mouse.move(*client(page, *b), steps=3)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def go(page: Any, frame: int) -> None:
    page.locator("#video-frame").fill(str(frame + 1))
    page.locator("#video-frame").press("Enter")
    page.wait_for_function(f"document.getElementById('tool-root').dataset.painted === '{frame}'")


def shown_box(page: Any) -> dict[str, float]:
    return dict(
        page.evaluate(
            """() => { const r = document.querySelector('#tool-root .video-shapes rect.shape');
                return r && {left: +r.getAttribute('x'), top: +r.getAttribute('y'),
                  width: +r.getAttribute('width'), height: +r.getAttribute('height'),
                  keyframe: r.classList.contains('keyframe')}; }"""
        )
    )


def test_a_track_over_100_frames_from_two_keyframes(pages: Pages, site: Site) -> None:
    job = video_job(site, "v-two-keyframes")
    page = open_tool(pages, job)
    assert page.locator("#video-clock").inner_text()  # the transport is there
    start, end = truth(0), truth(FRAMES - 1)
    drag(page, (start["left"], start["top"]), (start["left"] + 50, start["top"] + 40))
    assert page.locator("#video-track-list li").count() == 1
    page.keyboard.press("End")
    page.wait_for_function(
        f"document.getElementById('tool-root').dataset.painted === '{FRAMES - 1}'"
    )
    page.keyboard.press("k")  # the track is held here: a keyframe to move
    drag(
        page,
        (start["left"] + 25, start["top"] + 20),
        (end["left"] + 25, end["top"] + 20),
        shift=True,
    )
    mid = FRAMES // 2
    go(page, mid)
    shown = shown_box(page)
    want = truth(mid)
    assert not shown["keyframe"]  # drawn dashed: interpolated
    assert abs(shown["left"] - want["left"]) < 1.5 and abs(shown["top"] - want["top"]) < 1.5
    # The timeline shows one track; undo takes the move back, redo brings it again.
    page.keyboard.press("Control+z")
    page.wait_for_function(
        "+document.querySelector('#tool-root .video-shapes rect.shape').getAttribute('x') < 30"
    )
    page.keyboard.press("Control+Shift+z")
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    item = site.api("admin", "GET", f"/api/jobs/{job}/items/v-two-keyframes").json()
    answer = item["answers"][0]["answer"]
    (track,) = answer["tracks"]
    assert track["label"] == "car" and track["number"] == 1 and len(track["object-id"]) == 36
    assert [k["frame"] for k in track["keyframes"]] == [0, FRAMES - 1]
    seq = item["label"]["value"]
    frames = seq["tracking-annotations"]
    assert len(frames) == FRAMES
    for f in (0, 17, mid, 83, FRAMES - 1):
        (obj,) = frames[f]["annotations"]
        assert obj["object-name"] == "car:1" and obj["object-id"] == track["object-id"]
        want = truth(f)
        assert abs(obj["left"] - want["left"]) <= 1.5, (f, obj)
        assert abs(obj["top"] - want["top"]) <= 1.5, (f, obj)


def wait_for_task_gone(page: Any) -> None:
    page.wait_for_selector("#no-work")


def test_predict_next_follows_the_box_and_keeps_drawn_frames(pages: Pages, site: Site) -> None:
    job = video_job(site, "v-predict")
    page = open_tool(pages, job, "worker2")
    b = truth(0)
    drag(page, (b["left"], b["top"]), (b["left"] + b["width"], b["top"] + b["height"]))
    # A keyframe the worker draws on frame 12 (deliberately off): predictions stop there.
    go(page, 12)
    page.keyboard.press("k")
    go(page, 0)
    page.keyboard.press("t")
    page.wait_for_function(
        "/Predicted|Nothing|failed/.test(document.getElementById('video-status').textContent)"
    )
    status = page.locator("#video-status").inner_text()
    assert "Predicted 11 frames" in status and "up to a frame you drew" in status, status
    for f in (5, 11):
        go(page, f)
        shown = shown_box(page)
        want = truth(f)
        assert shown["keyframe"]
        assert abs(shown["left"] - want["left"]) <= 3 and abs(shown["top"] - want["top"]) <= 3, (
            f,
            shown,
        )
    go(page, 12)
    assert abs(shown_box(page)["left"] - truth(0)["left"]) < 1  # the drawn one, as it was


def test_resume_from_the_server_draft_on_another_device(pages: Pages, site: Site) -> None:
    job = video_job(site, "v-resume")
    page = open_tool(pages, job, "worker3")
    drag(page, (40, 40), (120, 100))
    go(page, 30)
    page.wait_for_function(
        "/saved on the server/.test(document.getElementById('video-draft-status').textContent)",
        timeout=15000,
    )
    assignment = page.evaluate("document.body.dataset.assignment")
    draft = site.api("worker3", "GET", f"/api/assignments/{assignment}/draft").json()
    assert draft["content"]["frame"] == 30 and len(draft["content"]["state"]["tracks"]) == 1
    page.locator("#video-stop-later").click()
    page.wait_for_url(f"{site.base}/")
    # Another browser (nothing in its storage): the same lease, the track, the frame.
    other = open_tool(pages, job, "worker3")
    assert other.evaluate("document.body.dataset.assignment") == assignment
    other.wait_for_function("document.getElementById('tool-root').dataset.painted === '30'")
    assert other.locator("#video-track-list li").count() == 1
    go(other, 0)
    assert shown_box(other)["left"] == 40


def test_frames_and_drafts_only_for_those_allowed(pages: Pages, site: Site) -> None:
    job = video_job(site, "v-access")
    task = site.api("worker1", "POST", f"/api/jobs/{job}/next").json()
    base = task["item"]["media_url"].removesuffix("/media")
    assert site.api("worker1", "GET", f"{base}/sequence").json()["number-of-frames"] == FRAMES
    assert site.api("worker1", "GET", f"{base}/frames/0").headers["content-type"] == "image/jpeg"
    for who in ("worker2", "outsider"):  # not assigned this item; not in the team
        assert site.api(who, "GET", f"{base}/frames/0").status_code == 404
        assert site.api(who, "GET", f"{base}/sequence").status_code == 404
        url = f"/api/assignments/{task['assignment_id']}/draft"
        assert site.api(who, "PUT", url, json={"content": {"x": 1}}).status_code == 404
    site.api("worker1", "POST", f"/api/assignments/{task['assignment_id']}/release")


@pytest.mark.parametrize("shape", ["Polygon", "Keypoint"])
def test_other_shapes_draw_and_submit(pages: Pages, site: Site, shape: str) -> None:
    name = f"v-{shape.lower()}"
    labels = {
        "documentVersion": "2020-03-01",
        "annotationType": shape,
        "labels": [{"label": "car"}],
    }
    job = make_job(
        site,
        "video-object-tracking",
        labels,
        [{"id": name, "source-ref": sequence(site, name, frames=20)}],
    )
    page = open_tool(pages, job)
    if shape == "Keypoint":
        page.mouse.click(*client(page, 60, 60))
    else:
        for x, y in ((40, 40), (120, 40), (120, 100)):
            page.mouse.click(*client(page, x, y))
        page.keyboard.press("Enter")
    page.keyboard.press("a")  # copy to every frame
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    answer = site.answers(job, name)[0]["answer"]
    (track,) = answer["tracks"]
    key = shape.lower()
    assert [k["frame"] for k in track["keyframes"]] == [0, 19]
    assert key in track["keyframes"][1]


ATTRIBUTE_LABELS = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "car",
            "categoryAttributes": [{"name": "color", "type": "string", "enum": ["red", "blue"]}],
        },
        {"label": "person"},
    ],
    "frameAttributes": [
        {"name": "weather", "type": "string", "enum": ["sun", "rain"], "description": "Weather"}
    ],
}


def shapes_shown(page: Any) -> int:
    return int(page.evaluate("document.querySelectorAll('#tool-root .video-shapes .shape').length"))


def test_track_actions_attributes_and_zoom_across_frames(pages: Pages, site: Site) -> None:
    name = "v-actions"
    job = make_job(
        site,
        "video-object-tracking",
        ATTRIBUTE_LABELS,
        [{"id": name, "source-ref": sequence(site, name)}],
    )
    page = open_tool(pages, job)
    drag(page, (20, 40), (70, 80))
    page.select_option("#attr-color", "red")  # on the track's first frame: the track's own
    page.keyboard.press("End")
    page.keyboard.press("k")
    go(page, 10)
    page.select_option("#attr-color", "blue")  # from frame 10 on
    page.select_option("#frame-weather", "rain")
    assert "from frame 11 on" in page.locator("#object-attributes").inner_text()
    go(page, 50)
    page.keyboard.press("o")  # the car leaves here, and comes back on the last frame
    go(page, 60)
    assert shapes_shown(page) == 0
    # Zoom and pan stay as the frames change.
    page.keyboard.press("+")
    page.keyboard.press("+")
    zoomed = page.evaluate("document.querySelector('#tool-root .stage').style.transform")
    go(page, 99)
    assert page.evaluate("document.querySelector('#tool-root .stage').style.transform") == zoomed
    page.keyboard.press("f")
    assert shapes_shown(page) == 1
    page.keyboard.press("Shift+H")  # hide the track, then show it again
    assert shapes_shown(page) == 0
    page.keyboard.press("Shift+H")
    page.keyboard.press("l")  # locked: a drag does not move it
    before = shown_box(page)
    drag(page, (30, 50), (90, 90), shift=True)
    assert shown_box(page)["left"] == before["left"]
    page.keyboard.press("l")
    go(page, 5)
    page.keyboard.press("[")  # the track now starts on frame 5
    go(page, 2)
    assert shapes_shown(page) == 0
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    answer = site.answers(job, name)[0]["answer"]
    (track,) = answer["tracks"]
    assert track["label-category-attributes"] == {"color": "red"}
    frames = [
        (k["frame"], "outside" in k, k.get("label-category-attributes")) for k in track["keyframes"]
    ]
    assert frames == [
        (5, False, None),
        (10, False, {"color": "blue"}),
        (50, True, None),
        (99, False, None),
    ]
    assert answer["frame-attributes"] == {"10": {"weather": "rain"}}


def test_a_box_stays_until_the_object_is_marked_outside(pages: Pages, site: Site) -> None:
    """CVAT's track rule in the player: one box drawn is held on the frames after it (dashed)
    until "o" marks the object outside; a keyframe brings it back, held to the last frame;
    "]" ends it after a frame. The server's SeqLabel has the same frames."""
    job = video_job(site, "v-outside")
    page = open_tool(pages, job)
    drag(page, (20, 40), (70, 80))
    drawn = shown_box(page)
    go(page, 30)
    held = shown_box(page)
    assert not held["keyframe"] and held["left"] == drawn["left"] and held["top"] == drawn["top"]
    assert "held from its last keyframe" in page.locator("#video-here").inner_text()
    go(page, 40)
    page.keyboard.press("o")  # the car leaves the picture here
    go(page, 45)
    assert shapes_shown(page) == 0
    go(page, 39)
    assert shapes_shown(page) == 1
    go(page, 70)
    page.keyboard.press("k")  # back: its last box, held from here on
    go(page, 99)
    assert shapes_shown(page) == 1 and not shown_box(page)["keyframe"]
    go(page, 80)
    page.keyboard.press("]")  # nothing after frame 80
    go(page, 81)
    assert shapes_shown(page) == 0
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    item = site.api("admin", "GET", f"/api/jobs/{job}/items/v-outside").json()
    (track,) = item["answers"][0]["answer"]["tracks"]
    assert [(k["frame"], "outside" in k) for k in track["keyframes"]] == [
        (0, False),
        (40, True),
        (70, False),
        (80, False),
        (81, True),
    ]
    frames = item["label"]["value"]["tracking-annotations"]
    present = [f for f, entry in enumerate(frames) if entry["annotations"]]
    assert present == list(range(40)) + list(range(70, 81))


def test_detection_shapes_are_on_their_keyframes_only(pages: Pages, site: Site) -> None:
    name = "v-detect"
    items = [{"id": name, "source-ref": sequence(site, name, frames=20)}]
    job = make_job(site, "video-object-detection", ["car"], items)
    page = open_tool(pages, job)
    assert page.locator("#video-actions [data-act='outside']").count() == 0
    drag(page, (20, 20), (60, 50))
    page.keyboard.press("n")  # copied to the next frame, and the player goes there
    page.wait_for_function("document.getElementById('tool-root').dataset.painted === '1'")
    assert shapes_shown(page) == 1
    go(page, 2)
    assert shapes_shown(page) == 0
    go(page, 1)
    page.keyboard.press("Delete")  # its keyframe on frame 1
    assert shapes_shown(page) == 0
    page.keyboard.press("Control+z")
    assert shapes_shown(page) == 1
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    (track,) = site.answers(job, name)[0]["answer"]["tracks"]
    assert [k["frame"] for k in track["keyframes"]] == [0, 1]


def test_screenshots(pages: Pages, site: Site) -> None:
    """docs/screenshots/video-tracking.png (written with TRUTHSET_UPDATE_SCREENSHOTS=1, as
    test_docs_screenshots does; otherwise only drawn)."""
    from web.test_docs_screenshots import _shot

    name = "v-shot"
    job = make_job(
        site,
        "video-object-tracking",
        ATTRIBUTE_LABELS,
        [{"id": name, "source-ref": sequence(site, name)}],
    )
    page = open_tool(pages, job)
    start, end = truth(0), truth(FRAMES - 1)
    drag(page, (start["left"], start["top"]), (start["left"] + 50, start["top"] + 40))
    page.select_option("#attr-color", "red")
    page.keyboard.press("End")
    page.keyboard.press("k")
    drag(
        page,
        (start["left"] + 25, start["top"] + 20),
        (end["left"] + 25, end["top"] + 20),
        shift=True,
    )
    page.keyboard.press("Escape")
    page.keyboard.press("2")  # the next track is a person
    go(page, 20)
    drag(page, (250, 20), (290, 110))
    go(page, 60)
    page.keyboard.press("k")
    go(page, 45)
    page.select_option("#frame-weather", "rain")
    page.mouse.click(*client(page, truth(45)["left"] + 10, truth(45)["top"] + 10))
    page.keyboard.down("Shift")
    page.mouse.click(*client(page, truth(45)["left"] + 10, truth(45)["top"] + 10))
    page.keyboard.up("Shift")
    assert page.locator("#video-track-list li").count() == 2
    _shot(page, "video-tracking")


def test_play_at_the_clip_frame_rate_and_pause(pages: Pages, site: Site) -> None:
    """The sequence's timestamps are 0.1 s apart: 10 frames a second."""
    job = video_job(site, "v-play")
    page = open_tool(pages, job)
    assert "at 10 per second" in page.locator("#video-status").inner_text()
    page.wait_for_timeout(1000)  # the frames ahead are fetched
    page.keyboard.press("p")
    assert page.locator("#video-play").inner_text() == "Pause"
    page.wait_for_timeout(2000)
    page.keyboard.press("p")
    played = int(page.evaluate("document.getElementById('tool-root').dataset.painted"))
    # 2 s at 10 frames a second: about 20 frames (never faster; a loaded machine may wait
    # for a frame, never skip one).
    assert 8 <= played <= 22, played
    assert page.locator("#video-play").inner_text() == "Play"
    page.wait_for_timeout(400)
    assert int(page.evaluate("document.getElementById('tool-root').dataset.painted")) == played
    assert page.locator("#video-frame").input_value() == str(played + 1)


def test_the_reviewer_sees_the_worker_tracks(pages: Pages, site: Site) -> None:
    """The review page mounts the same tool over the consolidated label (as keyframes),
    with no lease of its own: it saves no draft."""
    job = video_job(site, "v-review")
    page = open_tool(pages, job, "worker2")
    drag(page, (20, 40), (70, 80))
    page.keyboard.press("a")
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    review = pages.open("admin", f"/review/{job}?max_confidence=1")
    review.wait_for_selector("#tool-root[data-ready='true']")
    review.wait_for_function("document.getElementById('tool-root').dataset.painted === '0'")
    assert review.locator("#video-track-list li").count() == 1
    assert shapes_shown(review) == 1
    review.wait_for_timeout(5500)  # an autosave tick: nothing is sent without a lease
    assert "saved" not in review.locator("#video-draft-status").inner_text()


def test_a_verification_job_shows_the_earlier_tracks_locked(pages: Pages, site: Site) -> None:
    """editsAllowed none on every label: the earlier track comes locked for good (no
    unlock, no move, no new track of that label), and handing it back is accepted."""
    labels = {
        "documentVersion": "2020-03-01",
        "labels": [
            {"label": "car", "editsAllowed": "none"},
            {"label": "person", "editsAllowed": "none"},
        ],
    }
    first = make_job(
        site,
        "video-object-tracking",
        ["car", "person"],
        [{"id": "v-verify", "source-ref": sequence(site, "v-verify")}],
    )
    start, end = truth(0), truth(FRAMES - 1)
    track = {
        "object-id": "car-one",
        "label": "car",
        "number": 1,
        "keyframes": [{"frame": 0, "box": start}, {"frame": FRAMES - 1, "box": end}],
    }
    lease = site.api("worker2", "POST", f"/api/jobs/{first}/next").json()
    done = site.api(
        "worker2",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={"answer": {"number-of-frames": FRAMES, "tracks": [track]}},
    )
    assert done.status_code == 200, done.text
    verify = site.job(
        "video-object-tracking", labels, [], input_job=first, settings={"adjustment": True}
    )
    page = open_tool(pages, verify)
    shape = page.locator("#tool-root .video-shapes rect.shape")
    assert "locked" in (shape.get_attribute("class") or "")
    assert page.locator("#video-track-list [data-toggle='locked']").is_disabled()
    before = shown_box(page)
    drag(page, (start["left"] + 25, start["top"] + 20), (start["left"] + 65, start["top"] + 50))
    assert shown_box(page)["left"] == before["left"]  # dragging it moved nothing
    drag(page, (250, 20), (300, 60))  # a new car where nothing is: refused
    page.wait_for_selector("text=allows no edits in this job")
    assert page.locator("#video-track-list li").count() == 1
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    item = site.api("admin", "GET", f"/api/jobs/{verify}/items/v-verify").json()
    (kept,) = item["answers"][0]["answer"]["tracks"]
    assert kept["object-id"] == "car-one" and [k["frame"] for k in kept["keyframes"]] == [
        0,
        FRAMES - 1,
    ]


def test_a_polygon_track_gets_and_loses_vertices_on_one_frame(pages: Pages, site: Site) -> None:
    """Edit mode: dragging an edge midpoint inserts a vertex, a clicked vertex goes with
    Delete; each is a keyframe on the frame shown, and interpolation copes with the
    changed vertex count."""
    labels = {
        "documentVersion": "2020-03-01",
        "annotationType": "Polygon",
        "labels": [{"label": "car"}],
    }
    name = "v-vertices"
    job = make_job(
        site,
        "video-object-tracking",
        labels,
        [{"id": name, "source-ref": sequence(site, name, frames=20)}],
    )
    page = open_tool(pages, job)
    for x, y in ((40, 40), (120, 40), (120, 100)):
        page.mouse.click(*client(page, x, y))
    page.keyboard.press("Enter")
    page.keyboard.press("End")  # the last frame: keyframe the same triangle there
    page.wait_for_function("document.getElementById('tool-root').dataset.painted === '19'")
    page.keyboard.press("k")
    go(page, 10)
    page.keyboard.press("v")  # edit mode
    page.mouse.click(*client(page, 100, 50))  # select the track
    mid = page.locator("#tool-root rect.handle.mid").first  # edge (40,40)-(120,40)
    box = mid.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx, cy - 15, steps=4)
    page.mouse.up()
    assert page.locator("#tool-root rect.handle:not(.mid)").count() == 4
    go(page, 5)  # between 3 and 4 vertices: shown with 4 (the outlines resampled)
    page.mouse.click(*client(page, 100, 50))
    assert page.locator("#tool-root rect.handle:not(.mid)").count() == 4
    vertex = page.locator("#tool-root rect.handle:not(.mid)").nth(2)
    vbox = vertex.bounding_box()
    assert vbox is not None
    page.mouse.click(vbox["x"] + vbox["width"] / 2, vbox["y"] + vbox["height"] / 2)
    page.keyboard.press("Delete")
    assert page.locator("#tool-root rect.handle:not(.mid)").count() == 3
    page.locator("#btn-submit").click()
    wait_for_task_gone(page)
    (track,) = site.answers(job, name)[0]["answer"]["tracks"]
    counts = {k["frame"]: len(k["polygon"]["points"]) for k in track["keyframes"] if "polygon" in k}
    assert counts == {0: 3, 5: 3, 10: 4, 19: 3}, counts
