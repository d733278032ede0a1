"""The Crowd HTML Elements in a real Chromium: each renders inside a sandboxed task frame,
takes mouse and keyboard input, and <crowd-form> posts Ground Truth's answer shapes."""

from __future__ import annotations

import base64
import io

from web.crowd_support import (
    attr_json,
    click_submit,
    open_template,
    png_data_url,
    submit_count,
    submitted,
    to_screen,
)
from web.ui_support import Pages, Site

WIDGETS = """
<crowd-form>
  <crowd-instructions link-text="View instructions" link-type="button">
    <short-summary><p id="summary">Describe the photo.</p></short-summary>
    <detailed-instructions><p>Be precise.</p></detailed-instructions>
    <positive-example><p id="good">A red car.</p></positive-example>
    <negative-example><p>A thing.</p></negative-example>
  </crowd-instructions>
  <crowd-alert type="warning" dismissible>Careful</crowd-alert>
  <crowd-card heading="The item"><span id="badge-anchor">Item</span></crowd-card>
  <crowd-badge for="badge-anchor" label="new"></crowd-badge>
  <crowd-tabs><crowd-tab header="One"><p id="t1">first</p></crowd-tab>
    <crowd-tab header="Two"><p id="t2">second</p></crowd-tab></crowd-tabs>
  <crowd-modal link-text="More"><p id="modal-text">Modal body</p></crowd-modal>
  <crowd-input name="caption" label="Caption" required max-length="40"></crowd-input>
  <crowd-text-area name="notes" label="Notes" rows="2"></crowd-text-area>
  <crowd-checkbox name="agree" value="yes">I agree</crowd-checkbox>
  <crowd-radio-group>
    <crowd-radio-button name="happy" value="happy">Happy</crowd-radio-button>
    <crowd-radio-button name="sad" value="sad" checked>Sad</crowd-radio-button>
  </crowd-radio-group>
  <crowd-slider name="rating" min="1" max="10" value="5"></crowd-slider>
  <crowd-toggle-button name="urgent" value="urgent">Urgent</crowd-toggle-button>
  <input name="plain" id="plain">
  <input type="hidden" name="filled" id="filled">
  <crowd-toast text="Saved" duration="0"></crowd-toast>
  <crowd-fab label="+" title="add"></crowd-fab>
  <crowd-icon-button icon="help"></crowd-icon-button>
</crowd-form>
<script>
  document.querySelector("crowd-form").onsubmit = (e) => {
    document.getElementById("filled").value = "by the template";
    if (document.getElementById("plain").value === "stop") e.preventDefault();
  };
</script>
"""


def test_form_widgets_answer_as_ground_truth_records_them(pages: Pages, site: Site) -> None:
    page, frame = open_template(pages, site, WIDGETS)
    assert frame.locator("#summary").is_visible()
    frame.locator("crowd-instructions button", has_text="View instructions").click()
    assert frame.locator("#good").is_visible()
    frame.locator("crowd-instructions dialog button", has_text="Close").click()
    assert not frame.locator("#t2").is_visible()
    frame.locator("crowd-tabs button", has_text="Two").click()
    assert frame.locator("#t2").is_visible() and not frame.locator("#t1").is_visible()
    frame.locator("crowd-modal button", has_text="More").click()
    assert frame.locator("#modal-text").is_visible()
    frame.locator("crowd-modal dialog button", has_text="Close").click()
    assert frame.locator("#badge-anchor crowd-badge").inner_text() == "new"
    frame.locator("crowd-alert button").click()
    assert not frame.locator("crowd-alert").is_visible()

    click_submit(frame)  # the required caption is empty
    assert "Caption" in frame.locator(".crowd-form-error").inner_text()
    assert submit_count(page) == 0

    frame.locator("crowd-input input").fill("A red car")
    frame.locator("crowd-text-area textarea").fill("parked\noutside")
    frame.locator("crowd-checkbox input").check()
    frame.locator("crowd-radio-button[name=happy] input").check()
    frame.locator("crowd-slider input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    frame.locator("crowd-toggle-button input").check()
    frame.locator("#plain").fill("stop")
    click_submit(frame)  # the template's own submit handler refuses this one
    assert submit_count(page) == 0
    frame.locator("#plain").fill("plain text")
    click_submit(frame)
    assert submitted(page) == {
        "caption": "A red car",
        "notes": "parked\noutside",
        "agree": {"yes": True},
        "happy": {"happy": True},
        "sad": {"sad": False},
        "rating": 7,
        "urgent": {"urgent": True},
        "plain": "plain text",
        "filled": "by the template",
    }
    frame.locator("crowd-input input").press("Control+Enter")
    assert submitted(page, 2)["caption"] == "A red car"


OVERLAY = {
    "boundingBox": {
        "labels": ["cat"],
        "value": [{"label": "cat", "left": 10, "top": 20, "width": 50, "height": 40}],
    }
}


def test_classifiers(pages: Pages, site: Site) -> None:
    image = png_data_url(200, 150)
    body = f"""
<crowd-form>
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative', 'Neutral']"
      header="What is the tone?">
    <classification-target><p id="target">I loved it</p></classification-target>
    <short-instructions><p>Pick one</p></short-instructions>
    <full-instructions header="Tone"><p>Read it all</p></full-instructions>
  </crowd-classifier>
  <crowd-classifier-multi-select name="topics" categories="{attr_json(["sport", "music", "art"])}"
      exclusion-category="{{ text: 'None of these' }}" header="Topics?">
    <classification-target>A concert at the stadium</classification-target>
  </crowd-classifier-multi-select>
  <crowd-image-classifier name="animal" src="{image}" categories="['cat', 'dog']" header="Animal?"
      overlay="{attr_json(OVERLAY)}">
  </crowd-image-classifier>
  <crowd-image-classifier-multi-select name="tags" src="{image}" categories="['blue', 'grid']">
  </crowd-image-classifier-multi-select>
</crowd-form>"""
    page, frame = open_template(pages, site, body)
    assert frame.locator("crowd-classifier #target").inner_text() == "I loved it"
    assert frame.locator("crowd-classifier .crowd-header").inner_text() == "What is the tone?"
    assert frame.locator("crowd-image-classifier svg.overlay rect[data-label=cat]").count() == 1
    click_submit(frame)
    assert "pick a category" in frame.locator(".crowd-form-error").inner_text()
    assert submit_count(page) == 0

    def pick(element: str, label: str) -> None:
        frame.locator(f"{element} .label-btn[data-label='{label}']").click()

    pick("crowd-classifier", "Negative")
    pick("crowd-classifier", "Neutral")
    pick("crowd-classifier-multi-select", "sport")
    pick("crowd-classifier-multi-select", "music")
    pick("crowd-classifier-multi-select", "None of these")  # excludes the others
    pick("crowd-image-classifier", "dog")
    frame.locator("crowd-image-classifier-multi-select .tool-root").click()
    page.keyboard.press("2")  # number keys of the tool
    page.keyboard.press("1")
    click_submit(frame)
    assert submitted(page) == {
        "sentiment": {"label": "Neutral"},
        "topics": {"labels": ["None of these"]},
        "animal": {"label": "dog"},
        "tags": {"labels": ["blue", "grid"]},
    }
    pick("crowd-classifier-multi-select", "art")  # and another clears the exclusion
    click_submit(frame)
    assert submitted(page, 2)["topics"] == {"labels": ["art"]}


def test_bounding_box_with_initial_value(pages: Pages, site: Site) -> None:
    body = f"""
<crowd-form>
  <crowd-bounding-box name="boxes" src="{png_data_url(400, 300)}" header="Box the animals"
      labels="{attr_json(["cat", "dog"])}"
      initial-value='[{{"label": "dog", "left": 10, "top": 10, "width": 50, "height": 40}}]'>
    <short-instructions><p id="short">Tight boxes</p></short-instructions>
  </crowd-bounding-box>
</crowd-form>"""
    page, frame = open_template(pages, site, body)
    assert frame.locator("#short").is_visible()
    assert frame.locator("crowd-bounding-box #object-list li").count() == 1
    frame.locator("crowd-bounding-box .label-btn[data-label=cat]").click()
    page.mouse.move(*to_screen(frame, "crowd-bounding-box", 100, 100))
    page.mouse.down()
    page.mouse.move(*to_screen(frame, "crowd-bounding-box", 250, 200), steps=6)
    page.mouse.up()
    assert frame.locator("crowd-bounding-box #object-list li").count() == 2
    page.keyboard.press("Control+z")  # the tool's undo, inside the frame
    assert frame.locator("crowd-bounding-box #object-list li").count() == 1
    page.keyboard.press("Control+Shift+z")
    click_submit(frame)
    answer = submitted(page)["boxes"]
    assert answer["inputImageProperties"] == {"width": 400, "height": 300}
    assert answer["initialValueModified"] is True
    dog, cat = answer["boundingBoxes"]
    assert dog == {"label": "dog", "left": 10, "top": 10, "width": 50, "height": 40}
    assert cat["label"] == "cat"
    assert abs(cat["left"] - 100) <= 2 and abs(cat["top"] - 100) <= 2
    assert abs(cat["width"] - 150) <= 3 and abs(cat["height"] - 100) <= 3


def test_polygon_polyline_line_keypoint(pages: Pages, site: Site) -> None:
    src = png_data_url(300, 200)
    labels = "['a', 'b']"
    body = (
        "<crowd-form>"
        + "".join(
            f'<crowd-{t} name="{t}" src="{src}" labels="{labels}"></crowd-{t}>'
            for t in ("polygon", "polyline", "line", "keypoint")
        )
        + "</crowd-form>"
    )
    page, frame = open_template(pages, site, body)

    def click(element: str, x: float, y: float) -> None:
        page.mouse.click(*to_screen(frame, element, x, y))

    for x, y in [(20, 20), (120, 20), (70, 100)]:
        click("crowd-polygon", x, y)
    click("crowd-polygon", 20, 20)  # its first point closes it
    for x, y in [(10, 150), (100, 160), (200, 150)]:
        click("crowd-polyline", x, y)
    page.keyboard.press("Enter")
    click("crowd-line", 30, 30)
    click("crowd-line", 30, 120)  # a line ends by itself at its second point
    click("crowd-line", 200, 30)
    click("crowd-line", 200, 120)
    frame.locator("crowd-keypoint .label-btn[data-label=b]").click()
    click("crowd-keypoint", 150, 50)
    click_submit(frame)
    a = submitted(page)

    def near(pts: list[dict[str, float]], want: list[tuple[int, int]]) -> bool:
        return len(pts) == len(want) and all(
            abs(p["x"] - x) <= 2 and abs(p["y"] - y) <= 2
            for p, (x, y) in zip(pts, want, strict=True)
        )

    size = {"width": 300, "height": 200}
    assert a["polygon"]["inputImageProperties"] == size
    (poly,) = a["polygon"]["polygons"]
    assert poly["label"] == "a" and near(poly["vertices"], [(20, 20), (120, 20), (70, 100)])
    (pl,) = a["polyline"]["polylines"]
    assert near(pl["vertices"], [(10, 150), (100, 160), (200, 150)])
    first, second = a["line"]["lines"]
    assert "polylines" not in a["line"] and near(first["vertices"], [(30, 30), (30, 120)])
    assert near(second["vertices"], [(200, 30), (200, 120)])
    (kp,) = a["keypoint"]["keypoints"]
    assert kp["label"] == "b" and abs(kp["x"] - 150) <= 2 and abs(kp["y"] - 50) <= 2


def _png_colors(b64: str) -> tuple[tuple[int, int], set[tuple[int, int, int]]]:
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")
    return img.size, {c for _, c in img.getcolors(maxcolors=1 << 16)}


def test_segmentation_elements(pages: Pages, site: Site) -> None:
    src = png_data_url(200, 160)
    body = f"""<crowd-form>
  <crowd-semantic-segmentation name="seg" src="{src}" labels="['road', 'sky']">
  </crowd-semantic-segmentation>
  <crowd-instance-segmentation name="inst" src="{src}" labels="['car']">
  </crowd-instance-segmentation>
</crowd-form>"""
    page, frame = open_template(pages, site, body)
    frame.locator("crowd-semantic-segmentation .label-btn[data-label=sky]").click()
    page.mouse.move(*to_screen(frame, "crowd-semantic-segmentation", 40, 40))
    page.mouse.down()
    page.mouse.move(*to_screen(frame, "crowd-semantic-segmentation", 150, 60), steps=8)
    page.mouse.up()
    for square in ([(10, 10), (60, 10), (60, 60), (10, 60)], [(100, 80), (180, 80), (180, 150)]):
        for x, y in square:
            page.mouse.click(*to_screen(frame, "crowd-instance-segmentation", x, y))
        page.keyboard.press("Enter")
    click_submit(frame)
    a = submitted(page)
    seg = a["seg"]
    assert seg["labelMappings"] == {"road": {"color": "#1f77b4"}, "sky": {"color": "#ff7f0e"}}
    assert seg["inputImageProperties"] == {"width": 200, "height": 160}
    size, colors = _png_colors(seg["labeledImage"]["pngImageData"])
    assert size == (200, 160) and colors == {(255, 255, 255), (0xFF, 0x7F, 0x0E)}
    inst = a["inst"]
    assert inst["instances"] == [
        {"color": "#1f77b4", "label": "car"},
        {"color": "#ff7f0e", "label": "car"},
    ]
    assert inst["inputImageProperties"] == {"width": 200, "height": 160}
    size, colors = _png_colors(inst["labeledImage"]["pngImageData"])
    assert size == (200, 160)
    assert colors == {(255, 255, 255), (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)}


CHAR_EDGE = """([cp, side]) => {
  for (const seg of document.querySelectorAll('#ner-text .seg:not(.caret)')) {
    const s = Number(seg.dataset.s), e = Number(seg.dataset.e);
    if (cp < s || cp >= e) continue;
    const node = seg.firstChild;
    const chars = Array.from(node.data);
    const off = chars.slice(0, cp - s).join('').length;
    const r = document.createRange();
    r.setStart(node, off); r.setEnd(node, off + chars[cp - s].length);
    const b = r.getBoundingClientRect();
    return [side === 'left' ? b.left + 1 : b.right - 1, b.top + b.height / 2];
  }
  return null;
}"""


def test_entity_annotation(pages: Pages, site: Site) -> None:
    labels = [
        {"label": "person", "shortDisplayName": "per"},
        {"label": "place", "shortDisplayName": "loc"},
    ]
    body = f"""<crowd-form>
  <crowd-entity-annotation name="ents" header="Mark names" text="😀 Alice met Bob in Paris."
      labels="{attr_json(labels)}"
      initial-value="[{{label: 'place', startOffset: 19, endOffset: 24}}]">
  </crowd-entity-annotation>
</crowd-form>"""
    page, frame = open_template(pages, site, body)
    frame.locator("#ner-text .seg").first.wait_for()
    inner = page.frame(url=lambda u: u.endswith("/task.html"))
    offset = page.locator("#task").bounding_box()

    def at(cp: int, side: str) -> tuple[float, float]:
        x, y = inner.evaluate(CHAR_EDGE, [cp, side])
        return offset["x"] + x, offset["y"] + y

    page.mouse.move(*at(2, "left"))
    page.mouse.down()
    page.mouse.move(*at(6, "right"), steps=5)
    page.mouse.up()
    page.keyboard.press("1")  # "Alice" is a person
    assert frame.locator("#entity-list li").count() == 2
    click_submit(frame)
    assert submitted(page)["ents"] == {
        "entities": [
            {"label": "person", "startOffset": 2, "endOffset": 7},
            {"label": "place", "startOffset": 19, "endOffset": 24},
        ],
        "initialValueModified": True,
    }


def test_attribute_values_read_as_ground_truth_writes_them(pages: Pages, site: Site) -> None:
    page, frame = open_template(pages, site, "<crowd-form></crowd-form>")
    inner = page.frame(url=lambda u: u.endswith("/task.html"))
    cases = [
        "['a', 'b']",
        '["a","b"]',
        "{ text: 'None' }",
        "[{label: 'x', startOffset: 1, endOffset: -2.5e1}]",
        "{'it\\'s': [true, false, null]}",
        "not a literal",
        "['unclosed'",
    ]
    got = inner.evaluate(
        "async (cases) => { const m = await import('/static/crowd/base.js');"
        " return cases.map((c) => m.parseLiteral(c) ?? 'UNREADABLE'); }",
        cases,
    )
    assert got == [
        ["a", "b"],
        ["a", "b"],
        {"text": "None"},
        [{"label": "x", "startOffset": 1, "endOffset": -25}],
        {"it's": [True, False, None]},
        "UNREADABLE",
        "UNREADABLE",
    ]


def test_semantic_segmentation_initial_value_is_a_mask_behind_a_grant_url(
    pages: Pages, site: Site
) -> None:
    """Ground Truth's initial-value names the earlier mask by URL ({{ ... | grant_read_access
    }}): the opaque-origin frame reads it back through CORS and the answer keeps its pixels."""
    from PIL import Image, ImageChops

    from truthset.templates.signing import grant_expiry, grant_key, grant_url

    mask_path = site.ws.settings.media_dir / "test-images" / "earlier-mask.png"
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    mask = Image.new("RGB", (200, 160), "#ffffff")
    mask.paste((0xFF, 0x7F, 0x0E), (0, 0, 90, 70))  # sky
    mask.paste((0x1F, 0x77, 0xB4), (120, 100, 200, 160))  # road
    mask.save(mask_path)
    url = grant_url(
        grant_key(site.ws.settings.data_dir), str(mask_path), grant_expiry(), origin=site.base
    )
    mappings = {"road": {"color": "#1f77b4"}, "sky": {"color": "#ff7f0e"}}
    initial = attr_json({"labelMappings": mappings, "src": url})
    body = f"""<crowd-form>
  <crowd-semantic-segmentation name="seg" src="{png_data_url(200, 160)}"
    labels="['road', 'sky']" initial-value="{initial}">
  </crowd-semantic-segmentation>
</crowd-form>"""
    page, frame = open_template(pages, site, body)
    frame.locator("crowd-semantic-segmentation svg.overlay[viewBox]").wait_for()
    assert frame.locator("crowd-semantic-segmentation p").filter(has_text="could not").count() == 0
    click_submit(frame)
    seg = submitted(page)["seg"]
    assert seg["labelMappings"] == mappings
    assert seg["initialValueModified"] is False
    got = Image.open(io.BytesIO(base64.b64decode(seg["labeledImage"]["pngImageData"])))
    assert got.size == (200, 160)
    assert ImageChops.difference(got.convert("RGB"), mask).getbbox() is None  # every pixel
