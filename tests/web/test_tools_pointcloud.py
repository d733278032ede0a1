"""The point cloud tool (tools/pointcloud.js) in the real Chromium with its software WebGL
(SwiftShader, which Debian's chromium gives headless even with --disable-gpu): cuboids
placed, fitted (the server's fit route), moved by mouse and keys and resized in the side
view; a track over a sequence with two keyframes and a fill; points painted with the brush
and the lasso; the saved answers read back from the API and checked against the scenes'
known cuboids (tests/pointcloud_scenes.py); resuming from a server draft (issue 14)."""

from __future__ import annotations

import base64
import math
import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pointcloud_scenes import CAR, PERSON, moving_scene, scene, write_bin
from truthset.geometry import cuboids
from web.ui_support import TEAM, Pages, Site, wait_for_task

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1"
LABELS = {
    "documentVersion": "2020-03-01",
    "labels": [{"label": "Car"}, {"label": "Van"}, {"label": "Person"}],
}


def frame_item(site: Site, name: str, points: np.ndarray) -> dict[str, Any]:
    path = write_bin(site.ws.settings.media_dir / f"{name}.bin", points)
    return {
        "id": name,
        "source-ref": str(path),
        "source-ref-metadata": {"format": "binary/xyzi", "unix-timestamp": 1700000000.5},
    }


def sequence_item(site: Site, name: str, frames: list[np.ndarray]) -> dict[str, Any]:
    import json

    folder = site.ws.settings.media_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for i, pts in enumerate(frames):
        write_bin(folder / f"frame{i:02d}.bin", pts)
    seq = {
        "seq-no": 1,
        "prefix": str(folder) + "/",
        "number-of-frames": len(frames),
        "frames": [
            {
                "frame-no": i,
                "frame": f"frame{i:02d}.bin",
                "unix-timestamp": 1700000000 + i * 0.1,
                "format": "binary/xyzi",
            }
            for i in range(len(frames))
        ],
    }
    path = folder / "seq.json"
    path.write_text(json.dumps(seq))
    return {"id": name, "source-ref": str(path)}


def make_job(
    site: Site,
    task_type: str,
    items: list[dict[str, Any]],
    *,
    workers_per_item: int = 1,
    settings: dict[str, Any] | None = None,
    labels: dict[str, Any] = LABELS,
) -> str:
    """Site.job, with the label attribute a label-file type needs (its name ends in -ref)."""
    import json
    import uuid

    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    name = f"pc-{uuid.uuid4().hex[:8]}"
    manifest = site.ws.settings.media_dir / f"ds-{name}.manifest"
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
                teams=[TEAM],
                instructions="Put a cuboid on every vehicle and person.",
                task_time_limit=600,
                workers_per_item=workers_per_item,
                settings=settings or {},
                label_attribute=f"{name}-ref" if "detection" not in task_type else None,
            ),
        )
    return name


def open_tool(
    pages: Pages, site: Site, task_type: str, items: list[dict[str, Any]], **kw: Any
) -> Any:
    job = make_job(site, task_type, items, **kw)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    wait_ready(page)
    return job, page


def wait_ready(page: Any, frame: int = 0) -> None:
    page.wait_for_function(
        "(f) => { const m = document.getElementById('pc-main');"
        " return m && m.dataset.ready === 'true' && m.dataset.frame === String(f); }",
        arg=frame,
        timeout=20000,
    )


def idle(page: Any) -> None:
    """No fit or ground call in flight, and the view drawn since."""
    page.wait_for_function(
        "() => (document.getElementById('pc-main').dataset.busy || '0') === '0'", timeout=10000
    )
    page.wait_for_timeout(100)


def at(page: Any, x: float, y: float, z: float) -> tuple[float, float]:
    """Where a point of the frame is on the page now."""
    p = page.evaluate(
        "([x, y, z]) => document.getElementById('pc-main').pcProject(x, y, z)", [x, y, z]
    )
    return float(p["x"]), float(p["y"])


def the_answer(site: Site, job: str, item: str) -> dict[str, Any]:
    (answer,) = site.answers(job, item)
    return dict(answer["answer"])


def angle_gap(a: float, b: float, period: float = math.pi) -> float:
    """How far two yaws are apart, a box's yaw being the same after half a turn."""
    d = (a - b) % period
    return min(d, period - d)


def near(c: dict[str, Any], truth: np.ndarray, *, centre: float = 0.25, size: float = 0.3) -> None:
    got = cuboids.from_json(c)
    assert np.abs(got[:2] - truth[:2]).max() < centre, (got, truth)
    assert abs(got[2] - truth[2]) < centre, (got, truth)
    dims_got = sorted(got[3:5]) + [got[5]]
    dims_true = sorted(truth[3:5]) + [truth[5]]
    assert np.abs(np.array(dims_got) - np.array(dims_true)).max() < size, (got, truth)


def test_place_fit_move_resize_relabel_and_save_cuboids(pages: Pages, site: Site) -> None:
    truth = scene(seed=3)
    job, page = open_tool(
        pages, site, "point-cloud-object-detection", [frame_item(site, "det", truth.points)]
    )
    page.keyboard.press("1")  # Car
    page.mouse.dblclick(*at(page, CAR[0], CAR[1], 0.0))  # placed on the ground, then fitted
    idle(page)
    assert page.locator("#object-list li").count() == 1
    # the side view: a drag on the right edge (the front) makes it longer, the back stays
    view = page.locator("canvas[data-view='side']").bounding_box()
    assert view is not None
    # the front edge is where the cuboid ends right of the view's centre: find it by
    # hovering until the cursor says it is an edge
    cy = view["y"] + view["height"] / 2
    edge_x = None
    for dx in range(0, int(view["width"] / 2), 2):
        page.mouse.move(view["x"] + view["width"] / 2 + dx, cy)
        if page.evaluate("document.querySelector(\"canvas[data-view='side']\").style.cursor") == (
            "ew-resize"
        ):
            edge_x = view["x"] + view["width"] / 2 + dx
            break
    assert edge_x is not None, "no edge found in the side view"
    page.mouse.down()
    page.mouse.move(edge_x + 30, cy, steps=5)
    page.mouse.up()
    page.keyboard.press("Shift+Period")  # turned 10 degrees right ...
    page.keyboard.press("Control+z")  # ... and back
    page.keyboard.press("Shift+ArrowUp")  # 1 m forward along its heading
    page.keyboard.press("2")  # the selected cuboid becomes a Van
    page.keyboard.press("Escape")
    page.keyboard.press("3")  # Person: the next cuboid's label
    page.keyboard.press("n")
    # The edits above may still be drawing (a fit or a ground call): the click is placed
    # where the person is in the view once it is still (CI once placed it 2.9 m off).
    idle(page)
    page.mouse.click(*at(page, PERSON[0], PERSON[1], 0.0))
    idle(page)
    # a drag on the selected cuboid moves it along the ground: 2 m toward +y
    z = PERSON[2]
    page.mouse.move(*at(page, PERSON[0], PERSON[1], z))
    page.mouse.down()
    page.mouse.move(*at(page, PERSON[0], PERSON[1] + 2, z), steps=8)
    page.mouse.up()
    if SHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "pointcloud-detection.png"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    answer = the_answer(site, job, "det")
    van, person = answer["cuboids"]
    assert (van["label"], van["number"], person["label"], person["number"]) == (
        "Van",
        1,
        "Person",
        1,
    )
    assert van["object-id"] != person["object-id"]
    yaw = van["yaw"]
    assert angle_gap(yaw, CAR[8]) < 0.08  # the fit estimated the car's heading
    growth = van["length"] - CAR[3]
    assert growth > 0.2, van  # the side-view drag lengthened it
    assert abs(van["width"] - CAR[4]) < 0.3
    # the back stayed where it was: the centre moved half the growth, then the 1 m step
    heading = np.array([math.cos(yaw), math.sin(yaw)])
    shift = np.array([van["center-x"] - CAR[0], van["center-y"] - CAR[1]])
    assert abs(float(shift @ heading) - (1.0 + growth / 2)) < 0.3, (shift, growth)
    assert abs(float(shift @ np.array([-heading[1], heading[0]]))) < 0.25
    moved = PERSON.copy()
    moved[1] += 2.0
    near(person, moved)


def test_track_keyframes_interpolate_and_fill(pages: Pages, site: Site) -> None:
    scenes, truths = moving_scene(10, seed=5)
    job, page = open_tool(
        pages,
        site,
        "point-cloud-object-tracking",
        [sequence_item(site, "track", [s.points for s in scenes])],
        labels={
            **LABELS,
            "frameAttributes": [
                {
                    "name": "weather",
                    "description": "the road",
                    "type": "string",
                    "enum": ["dry", "rain"],
                }
            ],
        },
    )
    assert page.locator("#pc-frame-label").inner_text() == "Frame 1 / 10"
    page.keyboard.press("1")
    car0, person0 = truths[0]
    page.mouse.dblclick(*at(page, car0[0], car0[1], 0.0))
    idle(page)
    for _ in range(9):
        page.keyboard.press("d")
    wait_ready(page, 9)
    car9 = truths[9][0]
    # after its last keyframe the car is shown faintly where it was: a drag brings it to
    # where the car is now (a keyframe), the fit with its yaw estimated tightens it
    page.mouse.move(*at(page, car0[0], car0[1], car0[2]))
    page.mouse.down()
    page.mouse.move(*at(page, car9[0], car9[1], car0[2]), steps=8)
    page.mouse.up()
    page.keyboard.press("y")
    idle(page)
    assert page.locator("#pc-frame-attributes h3").text_content() == "Frame 10 attributes"
    page.locator("#pc-frame-attr-weather").select_option("rain")
    assert page.locator("#pc-frame-bar").get_attribute("data-keyframe") == "true"
    page.locator("#pc-scrubber").fill("0")
    wait_ready(page, 0)
    page.keyboard.press("Escape")
    page.keyboard.press("3")
    page.mouse.dblclick(*at(page, person0[0], person0[1], 0.0))
    idle(page)
    page.keyboard.press("Shift+F")  # the person is held to the last frame
    if SHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "pointcloud-tracking.png"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    answer = the_answer(site, job, "track")
    assert answer["number-of-frames"] == 10
    assert answer["frame-attributes"] == {"9": {"weather": "rain"}}
    car, person = answer["tracks"]
    assert [k["frame"] for k in car["keyframes"]] == [0, 9]
    assert [k["frame"] for k in person["keyframes"]] == [0, 9]
    assert person["keyframes"][1]["cuboid"] == person["keyframes"][0]["cuboid"]
    near(car["keyframes"][0]["cuboid"], car0, size=0.4)
    near(car["keyframes"][1]["cuboid"], car9, size=0.4)
    # what the server interpolates between them is near the car on the frames between
    a, b = (cuboids.from_json(k["cuboid"]) for k in car["keyframes"])
    mid = cuboids.interpolate(a, b, 4 / 9)
    assert np.abs(mid[:2] - truths[4][0][:2]).max() < 0.3


def test_paint_points_with_brush_lasso_and_eraser(pages: Pages, site: Site) -> None:
    truth = scene(seed=7)
    job, page = open_tool(
        pages,
        site,
        "point-cloud-semantic-segmentation",
        [frame_item(site, "seg", truth.points)],
    )
    page.keyboard.press("t")  # from the top
    page.wait_for_timeout(200)
    a, b = at(page, 0, 0, 0), at(page, 1, 0, 0)
    px_per_m = math.hypot(b[0] - a[0], b[1] - a[1])
    reach = 36 / px_per_m + 0.3  # how far past the car the 36 px brush may paint (m)
    # the brush over the car, back and forth along its length
    page.keyboard.press("1")
    for _ in range(4):
        page.keyboard.press("]")  # a larger brush
    r = cuboids.rotation_matrix(*CAR[6:9])
    ends = [CAR[:3] + r @ np.array([s * CAR[3] / 2, 0, 0]) for s in (-0.9, 0.9)]
    page.mouse.move(*at(page, *ends[0]))
    page.mouse.down()
    for t in np.linspace(0, 1, 12):
        p = ends[0] + (ends[1] - ends[0]) * t
        page.mouse.move(*at(page, *p))
    page.mouse.up()
    # the lasso around the person
    page.keyboard.press("3")
    page.keyboard.press("l")
    ring = [
        (PERSON[0] + 1.0 * math.cos(a), PERSON[1] + 1.0 * math.sin(a), PERSON[2])
        for a in np.linspace(0, 2 * math.pi, 16)
    ]
    page.mouse.move(*at(page, *ring[0]))
    page.mouse.down()
    for p in ring[1:]:
        page.mouse.move(*at(page, *p), steps=2)
    page.mouse.up()
    # a lasso with the eraser on round one end of the car takes those points back
    page.keyboard.press("e")
    tip = ends[1]
    small = [
        (tip[0] + 0.8 * math.cos(a), tip[1] + 0.8 * math.sin(a), tip[2])
        for a in np.linspace(0, 2 * math.pi, 12)
    ]
    page.mouse.move(*at(page, *small[0]))
    page.mouse.down()
    for p in small[1:]:
        page.mouse.move(*at(page, *p), steps=2)
    page.mouse.up()
    if SHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "pointcloud-segmentation.png"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    answer = the_answer(site, job, "seg")
    assert answer["point-count"] == len(truth.points)
    got = np.frombuffer(zlib.decompress(base64.b64decode(answer["labels"])), dtype=np.uint8)
    assert len(got) == len(truth.points)
    car_pts = truth.labels == 1
    person_pts = truth.labels == 3
    assert (got[car_pts] == 1).mean() > 0.5  # the brush covered most of the car
    assert (got[person_pts] == 3).mean() > 0.9  # the lasso went round the person
    near_them = cuboids.points_inside(truth.points, CAR, margin=reach) | cuboids.points_inside(
        truth.points, PERSON, margin=1.1
    )
    assert (got[~near_them] == 0).all()  # nothing away from them
    erased = cuboids.points_inside(truth.points, np.r_[tip, 1.0, 1.0, 10, 0, 0, 0])
    assert (erased & car_pts).sum() > 10
    assert (got[erased] == 0).all()


def test_a_draft_saved_on_the_server_comes_back_in_another_browser(
    pages: Pages, site: Site
) -> None:
    truth = scene(seed=3)
    job, page = open_tool(
        pages, site, "point-cloud-object-detection", [frame_item(site, "draft", truth.points)]
    )
    with page.expect_response(lambda r: r.url.endswith("/draft") and r.ok, timeout=15000):
        page.mouse.dblclick(*at(page, CAR[0], CAR[1], 0.0))
    idle(page)
    # the fit's change reaches the server at the next autosave
    time.sleep(5.5)
    other = pages.open("worker1", f"/work/{job}")  # a new context: no localStorage
    wait_for_task(other)
    wait_ready(other)
    assert other.locator("#object-list li").count() == 1
    other.keyboard.press("Enter")
    other.wait_for_selector("#no-work")
    (cuboid,) = the_answer(site, job, "draft")["cuboids"]
    near(cuboid, CAR)


def test_a_reviewer_moves_the_consolidated_cuboid(pages: Pages, site: Site) -> None:
    from truthset.workforce import service as workforce
    from web.test_console import answer_all
    from web.test_review import REVIEWER, wait_for_item

    truth = scene(seed=3)
    job = make_job(
        site,
        "point-cloud-object-detection",
        [frame_item(site, "rev", truth.points)],
        workers_per_item=2,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.99}}},
    )
    for worker, dx in (("worker1", 0.0), ("worker2", 0.3)):
        car = {**cuboids.to_json(CAR), "center-x": float(CAR[0] + dx)}
        cuboid = {"object-id": f"id-{worker}", "label": "Car", "number": 1, **car}
        assert answer_all(site, job, worker, {"cuboids": [cuboid]}) == 1
    with site.ws.db.session_scope() as s:
        try:
            workforce.get_user(s, REVIEWER)
        except Exception:
            workforce.create_user(
                s, REVIEWER, role="reviewer", password=f"{REVIEWER}-pass", teams=[TEAM]
            )
    page = pages.open(REVIEWER, f"/review/{job}")
    wait_for_item(page, "rev")
    wait_ready(page)
    assert page.locator("#object-list li").count() == 1  # the consolidated cuboid
    page.locator("#object-list li button.link").first.click()  # select it
    page.keyboard.press("Shift+PageUp")  # 1 m up
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-review")
    res = site.api("admin", "GET", f"/api/jobs/{job}/items/rev")
    label = res.json()["label"]
    assert label["reviewed"] is True
    (annotation,) = label["value"]["annotations"]
    assert abs(annotation["center-z"] - (CAR[2] + 1.0)) < 0.01
    assert abs(annotation["center-x"] - (CAR[0] + 0.15)) < 0.05


def test_a_verification_job_keeps_the_earlier_cuboids(pages: Pages, site: Site) -> None:
    """Car allows no edits in the chained job: its earlier cuboid does not move by key or
    mouse and is not deleted (the tool says why), and the answer hands it back as it was."""

    truth = scene(seed=5)
    first = make_job(site, "point-cloud-object-detection", [frame_item(site, "ver", truth.points)])
    car = {"label": "Car", "number": 1, **cuboids.to_json(CAR, 3)}
    lease = site.api("worker2", "POST", f"/api/jobs/{first}/next").json()
    done = site.api(
        "worker2",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={"answer": {"cuboids": [car]}},
    )
    assert done.status_code == 200, done.text
    locked = {
        "documentVersion": "2020-03-01",
        "labels": [{"label": "Car", "editsAllowed": "none"}, {"label": "Van"}],
    }
    verify = site.job(
        "point-cloud-object-detection", locked, [], input_job=first, settings={"adjustment": True}
    )
    page = pages.open("worker1", f"/work/{verify}")
    wait_for_task(page)
    wait_ready(page)
    page.locator("#object-list li button.link").first.click()  # select it
    page.evaluate("document.activeElement.blur()")  # the keys go to the tool
    page.keyboard.press("Shift+ArrowUp")  # 1 m forward: refused
    page.wait_for_selector("text=allows no edits in this job")
    page.keyboard.press("Delete")
    assert page.locator("#object-list li").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (kept,) = the_answer(site, verify, "ver")["cuboids"]
    assert kept["label"] == "Car" and kept["number"] == 1
    assert abs(kept["center-x"] - car["center-x"]) < 1e-6
    assert abs(kept["center-y"] - car["center-y"]) < 1e-6


def test_a_chained_segmentation_keeps_the_points_of_a_locked_label(
    pages: Pages, site: Site
) -> None:
    """The earlier segmentation (ours: its file handed over as labeledImage) loads into the
    painter; Car allows no edits: the eraser leaves its points, painting Car is refused with
    a message, and the answer keeps every car point's class."""
    from truthset.tasktypes._cuboid_answers import encode_labels

    truth = scene(seed=7)
    first = make_job(
        site, "point-cloud-semantic-segmentation", [frame_item(site, "seg2", truth.points)]
    )
    lease = site.api("worker2", "POST", f"/api/jobs/{first}/next").json()
    earlier = {
        "point-count": len(truth.points),
        "labels": encode_labels(truth.labels.astype(np.uint8)),
    }
    done = site.api(
        "worker2",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={"answer": earlier},
    )
    assert done.status_code == 200, done.text
    locked = {
        "documentVersion": "2020-03-01",
        "labels": [{"label": "Car", "editsAllowed": "none"}, {"label": "Van"}, {"label": "Person"}],
    }
    verify = site.job(
        "point-cloud-semantic-segmentation",
        locked,
        [],
        input_job=first,
        settings={"adjustment": True},
    )
    page = pages.open("worker1", f"/work/{verify}")
    wait_for_task(page)
    wait_ready(page)
    page.keyboard.press("t")  # from the top
    page.wait_for_timeout(200)
    page.keyboard.press("e")  # the eraser, lasso round the car
    page.keyboard.press("l")
    ring = [
        (CAR[0] + 3.5 * math.cos(a), CAR[1] + 3.5 * math.sin(a), CAR[2])
        for a in np.linspace(0, 2 * math.pi, 16)
    ]
    page.mouse.move(*at(page, *ring[0]))
    page.mouse.down()
    for p in ring[1:]:
        page.mouse.move(*at(page, *p), steps=2)
    page.mouse.up()
    page.keyboard.press("e")  # painting again, with Car: refused
    page.keyboard.press("1")
    page.mouse.move(*at(page, PERSON[0], PERSON[1], PERSON[2]))
    page.mouse.down()
    page.mouse.up()
    page.wait_for_selector("text=allows no edits in this job")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    answer = the_answer(site, verify, "seg2")
    got = np.frombuffer(zlib.decompress(base64.b64decode(answer["labels"])), dtype=np.uint8)
    assert (got[truth.labels == 1] == 1).all()  # every car point kept Car
    assert (got[truth.labels == 3] == 3).all()  # the person was not painted over
    assert (got[truth.labels != 1] != 1).all()  # no point became Car
