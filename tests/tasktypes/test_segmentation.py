import base64
import io

import numpy as np
import pytest
from PIL import Image

from tasktypes.conftest import paint, rgb_png_b64
from tasktypes.gt_shapes import SEMANTIC_SEGMENTATION, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

SEG = get_task_type("semantic-segmentation")
CONFIG = SEG.parse_label_config(["cat", "dog"])
MAPPINGS = {"cat": {"color": "#2ca02c"}, "dog": {"color": "#1f77b4"}}
COLORS = {1: "#2ca02c", 2: "#1f77b4"}
SIZE = {"width": 40, "height": 30}


def mask_of(shift=0):
    m = np.zeros((30, 40), dtype=np.uint8)
    m[5:20, 5 + shift : 20 + shift] = 1
    m[22:28, 25:38] = 2
    return m


def seg_answer(mask, mappings=MAPPINGS, colors=COLORS, **extra):
    return {
        "labeledImage": {"pngImageData": rgb_png_b64(paint(mask, colors))},
        "labelMappings": mappings,
        "inputImageProperties": SIZE,
        **extra,
    }


def decode(png: bytes) -> tuple[np.ndarray, list[int]]:
    im = Image.open(io.BytesIO(png))
    assert im.mode == "P"
    return np.asarray(im), im.getpalette()[:9]


def test_type_facts_and_label_config():
    assert SEG.output_type == "groundtruth/semantic-segmentation"
    # The type's flag is the one source of truth the API publishes and job settings check.
    assert SEG.supports_auto_labeling is False
    with pytest.raises(BadInput, match="'BACKGROUND' is reserved"):
        SEG.parse_label_config(["BACKGROUND", "cat"])
    with pytest.raises(BadInput, match="256 labels; semantic segmentation takes at most 255"):
        SEG.parse_label_config([f"c{i}" for i in range(256)])


def test_valid_answer(img):
    ref = img(40, 30)
    upper = {"cat": {"color": "#2CA02C"}, "dog": "#1f77b4"}
    out = SEG.validate_answer({"crowd": seg_answer(mask_of(), upper)}, CONFIG, {"source-ref": ref})
    assert out["labelMappings"] == MAPPINGS
    assert out["inputImageProperties"] == SIZE
    assert set(out) == {"labeledImage", "labelMappings", "inputImageProperties"}


def test_bad_answers(img):
    ref = img(40, 30)
    item = {"source-ref": ref}
    small = np.zeros((30, 39), dtype=np.uint8)
    with pytest.raises(BadInput, match=r"pngImageData: mask is 39x30, the image is 40x30"):
        SEG.validate_answer(seg_answer(small), CONFIG, item)
    stray = paint(mask_of(), COLORS)
    stray[0, 0] = (1, 2, 3)
    ans = seg_answer(mask_of())
    ans["labeledImage"]["pngImageData"] = rgb_png_b64(stray)
    with pytest.raises(BadInput, match=r"pngImageData: colour #010203 is not in labelMappings"):
        SEG.validate_answer(ans, CONFIG, item)
    with pytest.raises(BadInput, match=r"labelMappings\.cow: label 'cow' is not in the label"):
        SEG.validate_answer(seg_answer(mask_of(), {"cow": {"color": "#000000"}}), CONFIG, item)
    with pytest.raises(BadInput, match=r"labelMappings\.cat\.color: 'green' is not a #rrggbb"):
        SEG.validate_answer(seg_answer(mask_of(), {"cat": {"color": "green"}}), CONFIG, item)
    with pytest.raises(BadInput, match=r"labelMappings\.dog\.color: #2ca02c is also 'cat'"):
        twin = {"cat": {"color": "#2ca02c"}, "dog": {"color": "#2ca02c"}}
        SEG.validate_answer(seg_answer(np.zeros((30, 40), np.uint8), twin), CONFIG, item)
    with pytest.raises(BadInput, match=r"labelMappings\.cat\.color: #ffffff is the background"):
        SEG.validate_answer(
            seg_answer(np.zeros((30, 40), np.uint8), {"cat": {"color": "#ffffff"}}), CONFIG, item
        )
    bad = seg_answer(mask_of())
    bad["labeledImage"]["pngImageData"] = "%%%"
    with pytest.raises(BadInput, match=r"answer\.labeledImage\.pngImageData: not valid base64"):
        SEG.validate_answer(bad, CONFIG, item)
    with pytest.raises(BadInput, match=r"answer\.labeledImage: missing"):
        SEG.validate_answer({"labelMappings": MAPPINGS}, CONFIG, item)


def test_mask_header_is_checked_before_decoding():
    huge = seg_answer(mask_of())
    huge["inputImageProperties"] = {"width": 9000, "height": 5000}
    with pytest.raises(BadInput, match=r"the image is 9000x5000, more than the 40,000,000"):
        SEG.validate_answer(huge, CONFIG, {"source-ref": "/not/here.png"})
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (255, 255, 255)).save(buf, format="JPEG")
    jpeg = seg_answer(mask_of())
    jpeg["labeledImage"]["pngImageData"] = base64.b64encode(buf.getvalue()).decode()
    with pytest.raises(BadInput, match=r"pngImageData: a JPEG image, not a PNG"):
        SEG.validate_answer(jpeg, CONFIG, {})


def test_consolidation_pixel_vote_artifact_and_gt_shape():
    answers = [WorkerAnswer(i, seg_answer(mask_of(shift))) for i, shift in enumerate((0, 0, 3))]
    result = SEG.consolidate(answers, CONFIG, {})
    assert_same_shape(result.meta, type_meta(SEMANTIC_SEGMENTATION, "my-cat-job-ref"))
    assert isinstance(result.value, str) and result.value.endswith(".png")
    cmap = result.meta["internal-color-map"]
    assert cmap["0"] == {
        "class-name": "BACKGROUND",
        "hex-color": "#ffffff",
        "confidence": cmap["0"]["confidence"],
    }
    assert [cmap[k]["class-name"] for k in ("0", "1", "2")] == ["BACKGROUND", "cat", "dog"]
    assert [cmap[k]["hex-color"] for k in ("1", "2")] == ["#2ca02c", "#1f77b4"]
    assert len({c["confidence"] for c in cmap.values()}) == 1
    assert 0.9 < result.confidence < 1.0
    mask, palette = decode(result.artifact)
    assert np.array_equal(mask, mask_of(0))  # 2 of 3 workers outvote the shifted one
    assert palette == [255, 255, 255, 0x2C, 0xA0, 0x2C, 0x1F, 0x77, 0xB4]


def test_smoothing_scope_is_a_job_setting():
    answers = [WorkerAnswer(i, seg_answer(mask_of(shift))) for i, shift in enumerate((0, 0, 3))]
    everywhere = {"consolidation": {"smooth_where": "disputed"}}
    mask, _ = decode(SEG.consolidate(answers, CONFIG, everywhere).artifact)
    # Smoothing every disputed pixel lets the neighbourhood beat the 2-of-3 majority.
    assert not np.array_equal(mask, mask_of(0))


def test_weights_let_a_skilled_worker_win():
    answers = [
        WorkerAnswer(1, seg_answer(mask_of(3)), weight=1.0),
        WorkerAnswer(2, seg_answer(mask_of(0)), weight=0.3),
        WorkerAnswer(3, seg_answer(mask_of(0)), weight=0.3),
    ]
    mask, _ = decode(SEG.consolidate(answers, CONFIG, {}).artifact)
    assert np.array_equal(mask, mask_of(3))


def test_workers_with_different_palettes_vote_on_the_same_classes():
    # Worker 1's tool gave its only class, cat, the colour worker 2's gave to dog.
    cats = np.where(mask_of() == 1, 1, 0).astype(np.uint8)
    first = seg_answer(cats, {"cat": {"color": "#1f77b4"}}, {1: "#1f77b4"})
    swapped = {"cat": {"color": "#2ca02c"}, "dog": {"color": "#1f77b4"}}
    second = seg_answer(cats, swapped, {1: "#2ca02c"})
    result = SEG.consolidate([WorkerAnswer(1, first), WorkerAnswer(2, second)], CONFIG, {})
    mask, _ = decode(result.artifact)
    assert np.array_equal(mask, cats)
    assert result.confidence == 1.0
    cmap = result.meta["internal-color-map"]
    assert cmap["1"]["hex-color"] == "#1f77b4"  # the first worker's
    assert cmap["2"]["hex-color"] not in ("#1f77b4", "#ffffff")


def test_a_tie_is_settled_by_the_neighbourhood():
    holed = mask_of()
    holed[10, 10] = 0  # one of two workers leaves a hole inside the cat
    answers = [WorkerAnswer(1, seg_answer(holed)), WorkerAnswer(2, seg_answer(mask_of()))]
    mask, _ = decode(SEG.consolidate(answers, CONFIG, {}).artifact)
    assert np.array_equal(mask, mask_of())


def test_a_mask_of_another_size_is_left_out():
    odd = seg_answer(np.ones((15, 20), dtype=np.uint8))
    odd["inputImageProperties"] = {"width": 20, "height": 15}
    answers = [
        WorkerAnswer(1, seg_answer(mask_of())),
        WorkerAnswer(2, seg_answer(mask_of())),
        WorkerAnswer(3, {**odd, "initialValueModified": True}),
    ]
    result = SEG.consolidate(answers, CONFIG, {"adjustment": True})
    mask, _ = decode(result.artifact)
    assert np.array_equal(mask, mask_of())
    assert result.meta["adjustment-status"] == "adjusted"


def test_single_worker_confidence_is_the_workers_skill_or_the_jobs_prior():
    result = SEG.consolidate([WorkerAnswer(1, seg_answer(mask_of()))], CONFIG, {})
    assert result.confidence == 0.5  # skill unknown: the default prior
    assert {c["confidence"] for c in result.meta["internal-color-map"].values()} == {0.5}
    skilled = SEG.consolidate([WorkerAnswer(1, seg_answer(mask_of()), 0.9)], CONFIG, {})
    assert skilled.confidence == 0.9
    prior = {"quality": {"prior_skill": 0.8}}
    assert (
        SEG.consolidate([WorkerAnswer(1, seg_answer(mask_of()))], CONFIG, prior).confidence == 0.8
    )


def test_end_to_end_label_attribute_and_artifact(engine):
    ref = engine.image("s.png", 40, 30)
    engine.dataset("segs", [{"id": "s", "source-ref": ref}])
    with pytest.raises(BadInput, match="must end with '-ref'"):
        engine.job("seg", "semantic-segmentation", ["cat", "dog"], dataset="segs")
    engine.job(
        "seg",
        "semantic-segmentation",
        ["cat", "dog"],
        dataset="segs",
        label_attribute="seg-ref",
        workers_per_item=2,
    )
    engine.work("seg", lambda w, item: seg_answer(mask_of()), workers=["w0", "w1"])
    (line,) = engine.export("seg")
    assert isinstance(line["seg-ref"], str) and line["seg-ref"].endswith(".png")
    assert_same_shape(line["seg-ref-metadata"], SEMANTIC_SEGMENTATION["my-cat-job-ref-metadata"])
    assert line["seg-ref-metadata"]["internal-color-map"]["1"]["confidence"] == 1.0
    (stored,) = engine.labels("seg")
    mask, _ = decode(stored["artifact"])
    assert np.array_equal(mask, mask_of())


def test_an_adjustment_job_gets_the_earlier_mask(engine):
    from fastapi.testclient import TestClient

    from truthset.api.tokens import issue_token
    from truthset.server.app import create_app
    from truthset.workforce.service import get_user

    ref = engine.image("adj.png", 40, 30)
    engine.dataset("adj", [{"id": "m", "source-ref": ref}])
    engine.job(
        "masks-ref", "semantic-segmentation", ["cat", "dog"], dataset="adj", workers_per_item=1
    )
    engine.work("masks-ref", lambda i, item: seg_answer(mask_of()), workers=["w0"])
    engine.job(
        "fix-ref",
        "semantic-segmentation",
        ["cat", "dog"],
        input_job="masks-ref",
        label_attribute="masks-ref",
        workers_per_item=1,
        settings={"adjustment": True},
    )
    with engine.ws.db.session_scope() as s:
        token = issue_token(s, get_user(s, "w1"))
    with TestClient(create_app(engine.ws)) as c:
        task = c.post("/api/jobs/fix-ref/next", headers={"Authorization": f"Bearer {token}"})
    assert task.status_code == 200, (task.status_code, task.text)
    prior = task.json()["prior_label"]["value"]
    png = base64.b64decode(prior["labeledImage"]["pngImageData"])
    mask, _palette = decode(png)
    # The earlier label, pixel for pixel, with its colours as labelMappings.
    assert (mask == mask_of()).all()
    assert set(prior["labelMappings"]) == {"cat", "dog"}
