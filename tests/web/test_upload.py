"""Media files uploaded from the new-job form in a real browser: 200 images sent through
the drop zone while connections drop (route interception), resumed, and the items they
become; a file that is no image is refused with a sentence and the job made without it."""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from PIL import Image

from web.ui_support import Pages, Site

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        out = io.BytesIO()
        Image.new("RGB", (48, 32), (i % 256, (i * 37) % 256, (i * 91) % 256)).save(out, "PNG")
        path = folder / f"photo-{i:03d}.png"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def test_two_hundred_files_resume_after_dropped_connections(
    pages: Pages, site: Site, tmp_path: Path
) -> None:
    files = photos(tmp_path / "photos", 200)
    not_media = tmp_path / "notes.jpg"
    not_media.write_text("meeting notes, not a photo\n")
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")

    puts: Counter[str] = Counter()  # file name -> requests with its bytes that reached the server
    dropped: set[str] = set()  # files whose own PUT was dropped
    bundles: list[list[str]] = []  # the files of each bundle (POST /api/uploads) sent
    lost: dict[str, list[str]] = {"before": [], "answer": []}  # the bundles dropped

    def intercept(route: Any) -> None:
        request = route.request
        if request.method == "POST":  # small files, several in one request
            body = request.post_data_buffer
            names = [f["name"] for f in json.loads(body[: body.index(b"\n")])]
            bundles.append(names)
            if "photo-003.png" in names and not lost["before"]:
                lost["before"] = names
                route.abort("connectionreset")  # lost before the server saw it
                return
            puts.update(names)
            if "photo-100.png" in names and not lost["answer"]:
                lost["answer"] = names
                route.fetch()  # the server has them all; its answer is lost
                route.abort("connectionreset")
                return
            route.continue_()
            return
        if request.method != "PUT":
            route.continue_()
            return
        name = parse_qs(urlparse(request.url).query)["name"][0]
        number = int(name[6:9]) if name.startswith("photo-") else -1
        if number % 20 == 3 and name not in dropped:
            dropped.add(name)
            route.abort("connectionreset")  # lost before the server saw it: sent again
            return
        if number % 20 == 7 and name not in dropped:
            dropped.add(name)
            puts[name] += 1
            route.fetch()  # the server has it all; its answer is lost
            route.abort("connectionreset")
            return
        puts[name] += 1
        route.continue_()

    page.route(re.compile(r".*/api/uploads(/.*)?$"), intercept)
    page.fill("#f-name", "uploaded-photos")
    # A path import names the roots the server imports from, and how to add one.
    page.select_option("#f-source-kind", "path")
    hint = page.inner_text("#f-import-roots")
    media = str(site.ws.settings.media_dir)
    assert f"media folder ({media})" in hint and "TRUTHSET_ALLOWED_ROOTS" in hint
    page.select_option("#f-source-kind", "media")
    assert f"{media}/uploads" in page.inner_text("#f-uploads-to")
    page.fill("#f-media-dataset", "shots")
    page.set_input_files(
        "#media-upload input[aria-label='choose media files']",
        [str(p) for p in files] + [str(not_media)],
    )
    page.wait_for_selector(".upload-count:has-text('201 file(s)')")
    page.select_option("#f-task-type", "image-classification")
    page.fill("#f-labels", "cat\ndog\n")
    page.click("#f-submit")
    page.wait_for_selector("#f-error:has-text('1 file(s) were refused')", timeout=60000)
    refused = page.locator(".upload-errors li").all_inner_texts()
    assert len(refused) == 1 and refused[0].startswith("notes.jpg: not an image, audio or video")
    assert "Added 200 item(s) to shots" in page.inner_text(".upload-status")
    if os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1":  # docs/ui.md's picture of it
        form = page.locator("#new-job").bounding_box()
        errors = page.locator(".upload-errors").bounding_box()
        height = errors["y"] + errors["height"] - form["y"] + 12
        top = form["y"] + page.evaluate("window.scrollY")  # boxes are the viewport's
        clip = {"x": form["x"], "y": top, "width": form["width"], "height": height}
        page.screenshot(path=str(SHOTS / "media-upload.png"), clip=clip, full_page=True)

    # The files of a bundle that never arrived were sent on their own (and their own PUTs
    # dropped too were resumed); a bundle whose answer was lost was not sent again.
    assert len(bundles) >= 3 and all(len(b) > 1 for b in bundles)
    assert "notes.jpg" in {n for b in bundles for n in b}  # refused by name within one
    assert lost["before"] and lost["answer"] and lost["before"] != lost["answer"]
    assert dropped and dropped <= set(lost["before"])
    photo_puts = {n: c for n, c in puts.items() if n.startswith("photo-")}
    assert len(photo_puts) == 200 and set(photo_puts.values()) == {1}

    items = site.api("admin", "GET", "/api/datasets/shots/items?limit=1000").json()
    assert len(items) == 200
    by_name = {i["data"]["file-name"]: Path(i["data"]["source-ref"]) for i in items}
    for path in files:
        assert by_name[path.name].read_bytes() == path.read_bytes()

    # Create again: the job is made over what was added, nothing is sent twice.
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/uploaded-photos", timeout=20000)
    job = site.api("admin", "GET", "/api/jobs/uploaded-photos").json()
    assert job["dataset"] == "shots"
    assert site.api("admin", "GET", "/api/datasets/shots").json()["items"] == 200


DROP = """async ([pngs]) => {
  const dt = new DataTransfer();
  pngs.forEach((b64, i) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], `dropped-${i}.png`, { type: "image/png" }));
  });
  const zone = document.querySelector(".upload-zone");
  const init = { dataTransfer: dt, bubbles: true, cancelable: true };
  zone.dispatchEvent(new DragEvent("dragover", init));
  const over = zone.classList.contains("over");
  zone.dispatchEvent(new DragEvent("drop", init));
  return over;
}"""


def test_files_dropped_on_the_zone_go_into_an_existing_dataset(
    pages: Pages, site: Site, tmp_path: Path
) -> None:
    import base64

    pngs = [p.read_bytes() for p in photos(tmp_path / "drop", 3)]
    first = site.api(
        "admin",
        "PUT",
        "/api/uploads/0123456789abcdef0123",
        params={"name": "already.png", "size": len(pngs[0]), "offset": 0},
        content=pngs[0],
    )
    assert first.status_code == 200, first.text
    added = site.api(
        "admin",
        "POST",
        "/api/datasets/dropped/media",
        json={"uploads": ["0123456789abcdef0123"]},
    )
    assert added.json()["added"] == 1, added.text
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "dropped-photos")
    page.select_option("#f-source-kind", "media")
    page.fill("#f-media-dataset", "dropped")
    over = page.evaluate(DROP, [[base64.b64encode(b).decode() for b in pngs]])
    assert over is True  # the zone shows that it takes the drop
    page.wait_for_selector(".upload-count:has-text('3 file(s)')")
    page.select_option("#f-task-type", "image-classification")
    page.fill("#f-labels", "cat\ndog\n")
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/dropped-photos", timeout=20000)
    # The first file's bytes were in the dataset already: one item, not two.
    assert site.api("admin", "GET", "/api/datasets/dropped").json()["items"] == 3
