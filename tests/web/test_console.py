"""The requester console in a real browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from web.ui_support import Pages, Site


def answer_all(site: Site, job: str, worker: str, answer: Any, limit: int = 100) -> int:
    n = 0
    while n < limit:
        res = site.api(worker, "POST", f"/api/jobs/{job}/next")
        if res.status_code == 204:
            return n
        body = res.json()
        a = answer(body) if callable(answer) else answer
        ok = site.api(
            worker, "POST", f"/api/assignments/{body['assignment_id']}/submit", json={"answer": a}
        )
        assert ok.status_code == 200, ok.text
        n += 1
    return n


# Two classes told apart by their words; the second name is markup, which must stay text.
WORDS = {"pos": "good great fine lovely", "<b>odd</b>": "awful bad sad grim"}


def one_wrong_label_job(site: Site, wrong: str) -> str:
    """24 texts, 12 per class (ids pos0.. and <b>0..), all labelled by worker1: right,
    except item `wrong`, which gets the other class."""
    items = [
        {"id": f"{kind[:3]}{i}", "source": f"{WORDS[kind]} {i}"}
        for kind in WORDS
        for i in range(12)
    ]
    job = site.job("text-classification", list(WORDS), items)

    def answer(body: dict[str, Any]) -> dict[str, str]:
        right = "pos" if body["item"]["data"]["source"].startswith("good") else "<b>odd</b>"
        wrong_label = "<b>odd</b>" if right == "pos" else "pos"
        return {"label": wrong_label if body["item"]["id"] == wrong else right}

    assert answer_all(site, job, "worker1", answer) == 24
    return job


def test_create_a_job_by_uploading_a_manifest(pages: Pages, site: Site, tmp_path: Path) -> None:
    manifest = tmp_path / "reviews.jsonl"
    manifest.write_text(
        "\n".join(json.dumps({"id": f"r{i}", "source": f"review {i}"}) for i in range(5)) + "\n"
    )
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "reviews-sentiment")
    page.select_option("#f-source-kind", "upload")
    page.fill("#f-new-dataset", "reviews")
    page.set_input_files("#f-upload", str(manifest))
    page.select_option("#f-task-type", "text-classification")
    page.fill("#f-labels", "good\nbad\n")
    page.fill("#f-short", "Is the review good?")
    page.fill("#f-instructions", "# Reviews\n\n**Good** means the buyer is happy.")
    page.wait_for_selector("#f-preview strong:has-text('Good')")
    page.fill("#f-workers", "2")
    page.check("#f-teams input[value=labelers]")
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/reviews-sentiment")
    page.wait_for_selector("#c-unlabeled b:has-text('5')")
    job = site.api("admin", "GET", "/api/jobs/reviews-sentiment").json()
    assert job["workers_per_item"] == 2 and job["teams"] == ["labelers"]
    assert job["labels"] == ["good", "bad"]
    assert job["settings"]["short_instructions"] == "Is the review good?"
    # Clone it: the form starts from the job.
    page.click("#btn-clone")
    page.wait_for_selector("#new-job")
    assert page.input_value("#f-name") == "reviews-sentiment-copy"
    assert page.input_value("#f-workers") == "2"
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/reviews-sentiment-copy")


def test_new_job_form_has_no_console_error_and_names_the_servers_rule(
    pages: Pages, site: Site
) -> None:
    context = pages.context("admin")
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(site.base + "/console/new")
    page.wait_for_selector("#new-job")
    page.wait_for_timeout(200)
    assert console == []  # the pattern attribute compiles (Chromium: with the v flag)
    hint = page.locator("label[for=f-name] .hint").inner_text()
    assert "letters, digits and -" in hint and "_" not in hint
    # The browser's check is the server's: each name below is accepted by both or neither.
    for value in ("ab-1", "A9", "a_b", "a.b", "-ab", "a" * 63):
        page.fill("#f-name", value)
        browser_ok = page.evaluate("document.getElementById('f-name').checkValidity()")
        res = site.api(
            "admin",
            "POST",
            "/api/jobs",
            json={"name": value, "task_type": "text-classification", "labels": ["x"]},
        )
        server_refuses_name = res.status_code == 400 and "job name" in res.text
        assert browser_ok is not server_refuses_name, (value, res.text)
    assert console == []
    # Every label sits on the row of its field (a stray grid cell pushed them aside).
    for field in ("f-model", "f-model-params", "f-confirm-empty"):
        label = page.locator(f"#new-job .form-grid > label[for={field}]").bounding_box()
        control = page.locator(f"#{field}").bounding_box()
        assert label and control and abs(label["y"] - control["y"]) < 12, field
        assert label["x"] < control["x"], field


def test_upload_errors_are_sentences_naming_the_file_and_lines(
    pages: Pages, site: Site, tmp_path: Path
) -> None:
    manifest = tmp_path / "broken.jsonl"
    manifest.write_text('{"source": "fine"}\nnot json\n{"source-ref": 5}\n')
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "broken-upload")
    page.select_option("#f-source-kind", "upload")
    page.fill("#f-new-dataset", "broken")
    page.set_input_files("#f-upload", str(manifest))
    page.select_option("#f-task-type", "text-classification")
    page.fill("#f-labels", "good\nbad\n")
    page.click("#f-submit")
    error = page.locator("#f-error")
    error.wait_for(state="visible")
    page.wait_for_function("document.getElementById('f-error').textContent.length > 0")
    text = error.inner_text()
    assert text.startswith("The file broken.jsonl was not imported: 2 invalid line(s)"), text
    assert "line 2: not valid JSON" in text
    assert "line 3: 'source-ref' must be a non-empty string" in text
    assert "{" not in text and '"errors"' not in text  # a sentence, not the raw JSON


def test_job_page_counters_workers_labels_item_and_export(pages: Pages, site: Site) -> None:
    labels = ["cat", "dog"]
    job = site.job(
        "text-classification", labels, [{"id": f"p{i}", "source": f"pet {i}"} for i in range(5)]
    )
    answer_all(
        site,
        job,
        "worker1",
        lambda t: {"label": "cat" if t["item"]["id"] in ("p0", "p1") else "dog"},
        limit=4,
    )
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#c-human b:has-text('4')")
    assert page.locator("#c-unlabeled b").inner_text() == "1"
    assert page.locator("#workers tr[data-worker=worker1] td").nth(1).inner_text() == "4"
    assert page.locator("#throughput rect.bar").count() >= 1
    assert page.locator("#labels tbody tr").count() == 5
    # Filter by label: the URL keeps the filter.
    page.select_option("#label-filters select[name=label]", "dog")
    page.click("#label-filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#labels tbody tr').length === 2")
    assert "label=dog" in page.url
    page.click("#labels a:has-text('p2')")
    page.wait_for_selector("#consolidated")
    assert page.locator(".answer[data-worker=worker1] .answer-text").inner_text() == "dog"
    assert "dog" in page.locator("#consolidated").inner_text()
    # Export in the background with progress and a download link.
    page.goto(f"{site.base}/console/jobs/{job}")
    # Only the formats that can express this job's type are offered.
    page.wait_for_selector("#export-buttons button[data-format=groundtruth]")
    offered = page.eval_on_selector_all(
        "#export-buttons button", "els => els.map((e) => e.dataset.format)"
    )
    assert "groundtruth" in offered and "coco" not in offered and "conll" not in offered
    page.click("#export-buttons button[data-format=groundtruth]")
    link = page.locator(".export-run a:has-text('Download')")
    link.wait_for(timeout=15000)
    href = link.get_attribute("href")
    lines = site.api("admin", "GET", href).text.strip().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["source"].startswith("pet")
    # Stop and resume.
    page.click("#btn-stop")
    page.wait_for_selector("#job-state:has-text('stop')")
    page.click("#btn-resume")
    page.wait_for_selector("#job-state[data-state=in_progress]")


def test_item_page_draws_every_answer_on_the_image(pages: Pages, site: Site) -> None:
    ref = site.image("console-boxes", 400, 300)
    job = site.job("bounding-box", ["car"], [{"id": "b1", "source-ref": ref}], workers_per_item=2)
    box = {"label": "car", "left": 10, "top": 20, "width": 100, "height": 50}
    for worker, dx in (("worker1", 0), ("worker2", 4)):
        answer_all(
            site,
            job,
            worker,
            {
                "boundingBoxes": [{**box, "left": box["left"] + dx}],
                "inputImageProperties": {"width": 400, "height": 300},
            },
        )
    page = pages.open("admin", f"/console/jobs/{job}/items/b1")
    page.wait_for_selector(".answer[data-worker=worker2] svg rect")
    assert page.locator(".answer svg rect").count() == 2
    page.wait_for_selector("#consolidated svg rect")
    x = float(page.locator(".answer[data-worker=worker2] svg rect").get_attribute("x") or 0)
    assert x == 14
    # The item list shows a thumbnail with the consolidated boxes drawn on it.
    page.goto(f"{site.base}/console/jobs/{job}")
    page.wait_for_selector("#labels tr[data-item=b1] .thumb svg rect")


def test_admin_creates_a_team_and_adds_a_worker(pages: Pages, site: Site) -> None:
    page = pages.open("admin", "/console")
    page.wait_for_selector("#teams")
    page.fill("#new-team", "reviewers")
    page.click("#btn-new-team")
    row = page.locator("#teams tr[data-team=reviewers]")
    row.wait_for()
    row.locator("select").select_option("outsider")
    row.locator("button").click()
    page.wait_for_selector("#teams tr[data-team=reviewers] td.members:has-text('outsider')")
    teams = {t["name"]: t["members"] for t in site.api("admin", "GET", "/api/teams").json()}
    assert teams["reviewers"] == ["outsider"]


def test_chain_a_verification_job_from_a_job_page(pages: Pages, site: Site) -> None:
    ref = site.image("chain", 300, 200)
    first = site.job("bounding-box", ["car"], [{"id": "c1", "source-ref": ref}])
    answer_all(
        site,
        first,
        "worker1",
        {
            "boundingBoxes": [{"label": "car", "left": 5, "top": 5, "width": 50, "height": 40}],
            "inputImageProperties": {"width": 300, "height": 200},
        },
    )
    page = pages.open("admin", f"/console/jobs/{first}")
    page.click("#btn-chain")
    page.wait_for_selector("#new-job")
    assert page.input_value("#f-source-kind") == "chain"
    assert page.input_value("#f-input-job") == first
    page.fill("#f-name", f"{first}-check")
    page.select_option("#f-task-type", "label-verification")
    page.fill("#f-labels", "correct\nwrong")
    page.check("#f-teams input[value=labelers]")
    page.click("#f-submit")
    page.wait_for_url(f"**/console/jobs/{first}-check")
    page.wait_for_selector(f"p:has-text('Chained from {first}')")
    assert page.locator("#c-unlabeled b").inner_text() == "1"


def test_delete_a_job(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "d1", "source": "bye"}])
    page = pages.open("admin", f"/console/jobs/{job}")
    page.on("dialog", lambda d: d.accept())
    page.click("#btn-delete")
    page.wait_for_url(f"{site.base}/console")
    page.wait_for_selector("#jobs, .empty")
    assert page.locator(f"#jobs tr[data-job='{job}']").count() == 0
    assert site.api("admin", "GET", f"/api/jobs/{job}").status_code == 404


def test_filter_items_where_workers_disagree(pages: Pages, site: Site) -> None:
    job = site.job(
        "text-classification",
        ["yes", "no"],
        [{"id": f"q{i}", "source": f"question {i}"} for i in range(3)],
        workers_per_item=2,
    )
    answer_all(site, job, "worker1", {"label": "yes"})
    answer_all(
        site, job, "worker2", lambda t: {"label": "no" if t["item"]["id"] == "q1" else "yes"}
    )
    page = pages.open("admin", f"/console/jobs/{job}?disagreement=1")
    page.wait_for_selector("#labels")
    assert page.locator("#labels tbody tr").all_inner_texts()[0].startswith("q1")
    assert page.locator("#labels tbody tr").count() == 1
    page.uncheck("#label-filters input[name=disagreement]")
    page.click("#label-filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#labels tbody tr').length === 3")


def test_create_a_job_with_a_label_category_file(pages: Pages, site: Site, tmp_path: Path) -> None:
    labels = ["zebra", "aardvark", "<b>okapi</b>", "giraffe"]
    category_file = tmp_path / "animals.json"
    category_file.write_text(
        json.dumps({"document-version": "2018-11-28", "labels": [{"label": x} for x in labels]})
    )
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "animals")
    page.select_option("#f-source-kind", "upload")
    page.fill("#f-new-dataset", "animal-texts")
    manifest = tmp_path / "animals.jsonl"
    manifest.write_text(json.dumps({"source": "striped, four legs"}) + "\n")
    page.set_input_files("#f-upload", str(manifest))
    page.select_option("#f-task-type", "text-classification")
    page.set_input_files("#f-label-file", str(category_file))
    page.wait_for_function("document.getElementById('f-labels').value.includes('2018-11-28')")
    page.check("#f-teams input[value=labelers]")
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/animals")
    job = site.api("admin", "GET", "/api/jobs/animals").json()
    assert job["labels"] == labels  # in the file's order: it gives the class ids
    assert job["label_config"]["document-version"] == "2018-11-28"
    # The names stay text on the job page's label filter.
    page.wait_for_selector("#label-filters")
    options = page.eval_on_selector_all(
        "#label-filters select[name=label] option", "els => els.map((e) => e.textContent)"
    )
    assert options[1:] == labels


def test_create_a_job_from_a_folder_on_the_server(pages: Pages, site: Site) -> None:
    folder = site.ws.settings.media_dir / "folder-import"
    folder.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (40, 30), (40 * i, 90, 200)).save(folder / f"photo{i}.png")
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "photos-from-folder")
    page.select_option("#f-source-kind", "path")
    page.fill("#f-new-dataset", "photos")
    assert "s3://" in (page.get_attribute("#f-path", "placeholder") or "")
    page.select_option("#f-task-type", "image-classification")
    page.fill("#f-labels", "indoor\noutdoor")
    page.check("#f-teams input[value=labelers]")
    # A folder outside the server's allowed roots is refused, and the form says why.
    page.fill("#f-path", "/etc")
    page.click("#f-submit")
    page.wait_for_selector("#f-error:has-text('outside the server')")
    page.fill("#f-path", str(folder))
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/photos-from-folder")
    page.wait_for_selector("#c-total b:has-text('3')")
    assert site.api("admin", "GET", "/api/datasets/photos").json()["items"] == 3
    rows = site.api("admin", "GET", "/api/jobs/photos-from-folder/labels").json()
    refs = sorted(r["data"]["source-ref"] for r in rows)
    assert refs == [str(folder / f"photo{i}.png") for i in range(3)]
    page.wait_for_selector("#labels tbody tr .thumb img")


def test_create_an_auto_labeling_job_with_a_chosen_model(
    pages: Pages, site: Site, tmp_path: Path
) -> None:
    manifest = tmp_path / "notes.jsonl"
    manifest.write_text(
        "\n".join(json.dumps({"id": f"n{i}", "source": f"note {i}"}) for i in range(4)) + "\n"
    )
    page = pages.open("admin", "/console/new")
    page.wait_for_selector("#new-job")
    page.fill("#f-name", "notes-auto")
    page.select_option("#f-source-kind", "upload")
    page.fill("#f-new-dataset", "notes")
    page.set_input_files("#f-upload", str(manifest))
    page.select_option("#f-task-type", "text-classification")
    page.fill("#f-labels", "urgent\nlater\n")
    page.check("#f-teams input[value=labelers]")
    page.check("#f-autolabel")
    page.fill("#f-target", "0.9")
    # A model the server does not know is refused, and the form says why.
    page.fill("#f-model", "no-such-model")
    page.click("#f-submit")
    page.wait_for_selector("#f-error:has-text('no-such-model')")
    # Parameters that are not a JSON object never leave the browser.
    page.fill("#f-model", "linear")
    page.fill("#f-model-params", "[1, 2]")
    page.click("#f-submit")
    page.wait_for_selector("#f-error:has-text('Model parameters must be a JSON object')")
    page.fill("#f-model-params", '{"C": 2.0}')
    page.click("#f-submit")
    page.wait_for_url("**/console/jobs/notes-auto")
    auto = site.api("admin", "GET", "/api/jobs/notes-auto").json()["settings"]["auto_label"]
    assert auto["model"] == "linear" and auto["model_params"] == {"C": 2.0}
    assert auto["target_accuracy"] == 0.9
    # Cloning keeps the model.
    page.click("#btn-clone")
    page.wait_for_selector("#new-job")
    assert page.input_value("#f-model") == "linear"
    assert json.loads(page.input_value("#f-model-params")) == {"C": 2.0}
