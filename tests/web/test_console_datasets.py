"""The console's datasets page in a real browser: the list with counts and kinds, the
paged preview (thumbnails, text, audio players), the import history with a bad-line
report, a job made from the dataset with the task types its items fit, and delete."""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path
from typing import Any

from web.ui_support import Pages, Site

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1"


def _import(site: Site, dataset: str, rows: list[dict[str, Any]], **params: Any) -> Any:
    lines = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n"
    res = site.api(
        "admin",
        "POST",
        f"/api/datasets/{dataset}/upload",
        params=params,
        files={"file": (f"{dataset}.jsonl", lines.encode())},
    )
    assert res.status_code == 201, res.text
    return res.json()


def _tone(site: Site, name: str) -> str:
    path = site.ws.settings.media_dir / "ds-audio" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 8000)
    return str(path)


def test_the_list_shows_counts_and_kinds_and_opens_a_dataset(pages: Pages, site: Site) -> None:
    photos = [{"source-ref": site.image(f"ds-photo-{i}", 120, 80, "#a05")} for i in range(30)]
    _import(site, "ds-photos", photos)
    _import(site, "ds-sounds", [{"source-ref": _tone(site, f"t{i}")} for i in range(2)])
    page = pages.open("admin", "/console/datasets")
    row = page.locator("#datasets tr[data-dataset='ds-photos']")
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "30"
    page.wait_for_function(
        "document.querySelector(\"#datasets tr[data-dataset='ds-photos'] .ds-kinds\")"
        ".textContent === 'image'"
    )
    sounds = page.locator("#datasets tr[data-dataset='ds-sounds'] .ds-kinds")
    page.wait_for_function(
        "document.querySelector(\"#datasets tr[data-dataset='ds-sounds'] .ds-kinds\")"
        ".textContent === 'audio'"
    )
    assert sounds.inner_text() == "audio"
    row.locator("a").click()
    page.wait_for_selector("#ds-items .ds-item")
    assert page.locator("#ds-name").inner_text() == "ds-photos"
    assert "30 items · image" in page.locator("#ds-facts").inner_text()
    # A page of 24 thumbnails that load (the media route serves them), then the last 6.
    assert page.locator("#ds-items img.ds-thumb").count() == 24
    page.wait_for_function(
        "[...document.querySelectorAll('#ds-items img')]"
        ".every(i => i.complete && i.naturalWidth === 120)"
    )
    assert page.locator("#ds-prev").is_disabled()
    first = page.locator("#ds-items figcaption").first.inner_text()
    page.click("#ds-next")
    page.wait_for_function("document.querySelectorAll('#ds-items .ds-item').length === 6")
    assert page.locator("#ds-next").is_disabled()
    page.click("#ds-prev")
    page.wait_for_function("document.querySelectorAll('#ds-items .ds-item').length === 24")
    assert page.locator("#ds-items figcaption").first.inner_text() == first
    # Only task types that work on images are offered.
    offered = page.locator("#ds-task-type option").all_inner_texts()
    assert "bounding-box" in offered and "custom" in offered
    assert "text-classification" not in offered and "audio-transcription" not in offered
    if SHOTS:
        page.screenshot(path=str(DOCS / "console-dataset.png"), full_page=True)

    sounds_page = pages.open("admin", "/console/datasets?dataset=ds-sounds")
    sounds_page.wait_for_selector("#ds-items audio.ds-audio")
    assert sounds_page.locator("#ds-items audio[controls]").count() == 2
    duration = sounds_page.evaluate(
        """() => new Promise((ok) => {
          const a = document.querySelector('#ds-items audio');
          a.preload = 'metadata';
          a.addEventListener('loadedmetadata', () => ok(a.duration));
          a.load();
        })"""
    )
    assert abs(duration - 1.0) < 0.05
    opts = sounds_page.locator("#ds-task-type option").all_inner_texts()
    assert "audio-transcription" in opts and "bounding-box" not in opts


def test_the_import_history_shows_the_bad_lines(pages: Pages, site: Site) -> None:
    _import(site, "ds-notes", [{"source": f"note {i}"} for i in range(5)])
    result = _import(
        site,
        "ds-notes",
        [{"source": "one more"}, "not json at all", {"neither": "source nor ref"}],
        skip_invalid="true",
    )
    assert result["invalid"] == 2
    page = pages.open("admin", "/console/datasets?dataset=ds-notes")
    page.wait_for_selector("#ds-history-table")
    rows = page.locator("#ds-history-table tbody tr:not(.ds-report-row)")
    assert rows.count() == 2
    newest = rows.first
    assert "1 added of 3 lines, 2 bad" in newest.inner_text()
    assert "5 added of 5 lines" in rows.nth(1).inner_text()
    newest.locator(".ds-show-report").click()
    report = page.locator(".ds-report tbody tr")
    report.first.wait_for()
    lines = report.all_inner_texts()
    assert len(lines) == 2 and lines[0].startswith("2") and lines[1].startswith("3")
    # Text items are shown as their text; the offered task types are the text ones.
    assert page.locator("#ds-items .ds-text").first.inner_text().startswith("note")
    offered = page.locator("#ds-task-type option").all_inner_texts()
    assert "named-entity-recognition" in offered and "bounding-box" not in offered
    assert page.locator("#ds-task-type").input_value() != "custom"
    assert page.locator("#media-upload").count() == 0  # no media drop zone on texts
    if SHOTS:
        page.screenshot(path=str(DOCS / "console-dataset-imports.png"), full_page=True)


def test_a_job_from_the_dataset_and_delete(pages: Pages, site: Site) -> None:
    _import(site, "ds-tweets", [{"source": f"sunny day {i}"} for i in range(3)])
    page = pages.open("admin", "/console/datasets?dataset=ds-tweets")
    page.wait_for_selector("#ds-task-type")
    page.select_option("#ds-task-type", "named-entity-recognition")
    page.click("#ds-new-job")
    page.wait_for_url("**/console/new?dataset=ds-tweets&task_type=named-entity-recognition")
    page.wait_for_selector("#f-task-type")
    assert page.locator("#f-dataset").input_value() == "ds-tweets"
    assert page.locator("#f-task-type").input_value() == "named-entity-recognition"
    # A dataset a job reads cannot be deleted: the server's sentence is shown, nothing goes.
    site.job("text-classification", ["a", "b"], [{"source": "x"}], name="reads-ds-used")
    used = pages.open("admin", "/console/datasets?dataset=ds-reads-ds-used")
    used.wait_for_selector("#ds-delete")
    assert "reads-ds-used" in used.locator("#ds-jobs").inner_text()
    used.on("dialog", lambda d: d.accept())
    used.click("#ds-delete")
    used.wait_for_selector(".toast.error")
    assert "job 'reads-ds-used' uses dataset" in used.locator(".toast.error").inner_text()
    page.goto(site.base + "/console/datasets?dataset=ds-tweets")
    page.on("dialog", lambda d: d.accept())
    page.wait_for_selector("#ds-delete")
    page.click("#ds-delete")
    page.wait_for_selector("#datasets")
    assert page.locator("#datasets tr[data-dataset='ds-tweets']").count() == 0
    assert site.api("admin", "GET", "/api/datasets/ds-tweets").status_code == 404
    if SHOTS:
        page.screenshot(path=str(DOCS / "console-datasets.png"), full_page=True)


def test_media_files_dropped_on_the_page_become_items(pages: Pages, site: Site) -> None:
    _import(site, "ds-more", [{"source-ref": site.image("ds-more-0", 64, 48)}])
    page = pages.open("admin", "/console/datasets?dataset=ds-more")
    page.wait_for_selector("#media-upload")
    files = [site.image(f"ds-more-new-{i}", 40 + i, 30, "#3a7") for i in range(3)]
    page.locator("#media-upload input[type=file]:not([webkitdirectory])").set_input_files(files)
    page.click("#ds-upload")
    page.wait_for_function("document.querySelectorAll('#ds-items img.ds-thumb').length === 4")
    assert "4 items · image" in page.locator("#ds-facts").inner_text()
    assert site.api("admin", "GET", "/api/datasets/ds-more").json()["items"] == 4
    page.wait_for_selector("#ds-history-table tr[data-how='media upload']")
    newest = page.locator("#ds-history-table tbody tr").first
    assert newest.get_attribute("data-how") == "media upload"
    assert "imported" in newest.inner_text()
