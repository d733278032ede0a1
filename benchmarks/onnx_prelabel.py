"""What your own ONNX model costs around its inference: preprocessing, YOLO decoding and
NMS on a YOLOv8-sized output, and a whole pre-labeling pass over a job's images.

    nice -n 10 .venv/bin/python benchmarks/onnx_prelabel.py [--images 200]

1. A model with YOLOv8n's output shape (1 x 84 x 8400: 80 classes, transposed) whose
   scores are fixed random numbers (0.3% of the boxes above the 0.25 threshold, as on a
   busy street scene), run on a 1280 x 720 image letterboxed to 640 x 640: the time of
   preprocessing, of onnxruntime's run (this graph does no real work: a real detector adds
   its own inference time) and of decoding with NMS.
2. The pre-labeling plan (`truthset.autolabel.prelabel.plan_onnx_predictions`) of a
   bounding-box job over generated 640 x 480 PNGs with the tests' tiny bright-rectangle
   detector: items per second, reading and decoding the images included.

Needs onnx (the test extra) to build the models; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def yolov8_shaped_model(seed: int = 0) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    n, classes = 8400, 80
    table = np.zeros((1, 4 + classes, n), np.float32)
    table[0, 0] = rng.uniform(0, 640, n)
    table[0, 1] = rng.uniform(0, 640, n)
    table[0, 2:4] = rng.uniform(8, 200, (2, n))
    table[0, 4:] = rng.uniform(0, 0.2, (classes, n))
    hot = rng.choice(n, 25, replace=False)
    table[0, 4 + rng.integers(0, classes, 25), hot] = rng.uniform(0.3, 0.95, 25)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node(
            "Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, np.float32))
        ),
        helper.make_node("Mul", ["m", "zero"], ["nothing"]),
        helper.make_node("Constant", [], ["table"], value=numpy_helper.from_array(table, "table")),
        helper.make_node("Add", ["table", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolov8-shaped",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def bench_decode(repeats: int = 30) -> None:
    from truthset.learning.models.onnx_models import OnnxBoxDetector, nms, preprocess

    detector = OnnxBoxDetector(
        yolov8_shaped_model(), kind="yolo", labels=[f"c{i}" for i in range(80)]
    ).fit()
    image = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    timings: dict[str, list[float]] = {"preprocess": [], "run": [], "decode + nms": []}
    found = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        tensor, transform = preprocess(image, detector.input_)
        t1 = time.perf_counter()
        outs = [detector.session_.run(detector.output_names_, {detector.input_.name: tensor})[0]]
        t2 = time.perf_counter()
        boxes, scores, classes = detector._raw_boxes(outs)
        good = scores >= detector.score_threshold_
        boxes = transform.boxes_to_image(boxes[good])
        keep = nms(boxes, scores[good], detector.iou_threshold_, classes[good])
        t3 = time.perf_counter()
        found = len(keep)
        timings["preprocess"].append(t1 - t0)
        timings["run"].append(t2 - t1)
        timings["decode + nms"].append(t3 - t2)
    whole = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detector.predict_one(image)
        whole.append(time.perf_counter() - t0)
    print(f"YOLOv8-shaped output 1x84x8400, 1280x720 image, {found} boxes kept:")
    for name, values in timings.items():
        print(f"  {name:14s} median {1000 * float(np.median(values)):7.2f} ms")
    print(f"  predict_one    median {1000 * float(np.median(whole)):7.2f} ms")
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 1000, (3000, 2))
    many = np.hstack([xy, xy + rng.uniform(10, 100, (3000, 2))])
    t0 = time.perf_counter()
    kept = nms(many, rng.uniform(size=3000), 0.45)
    print(
        f"  nms of 3,000 overlapping boxes: {1000 * (time.perf_counter() - t0):.1f} ms"
        f" ({len(kept)} kept)"
    )


def bench_plan(n_images: int) -> None:
    from PIL import Image

    from onnx_models_support import box_detector, bright_rectangles
    from truthset.autolabel.prelabel import plan_onnx_predictions
    from truthset.config import load_settings
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job, get_job
    from truthset.workforce.service import create_user
    from truthset.workspace import open_workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = open_workspace(load_settings(Path(tmp) / "data"))
        media = ws.settings.media_dir
        (media / "img").mkdir()
        rng = np.random.default_rng(3)
        lines = []
        for i in range(n_images):
            left, top = int(rng.integers(0, 400)), int(rng.integers(0, 300))
            pixels = bright_rectangles(640, 480, [(left, top, 120, 90)])
            path = media / "img" / f"{i:05d}.png"
            Image.fromarray(pixels).save(path)
            lines.append(f'{{"id": "{i:05d}", "source-ref": "{path}"}}')
        (media / "m.manifest").write_text("\n".join(lines) + "\n")
        (media / "yolo.onnx").write_bytes(box_detector("yolo", size=320))
        onnx = {"path": str(media / "yolo.onnx"), "kind": "yolo", "labels": {"1": "rect"}}
        with ws.db.session_scope() as s:
            import_source(s, "imgs", str(media / "m.manifest"), allowed_roots=ws.allowed_roots)
            create_user(s, "w", role="worker", teams=["t"])
            create_job(
                s,
                JobCreate(
                    name="boxes",
                    task_type="bounding-box",
                    label_config=["rect"],
                    dataset="imgs",
                    workers_per_item=1,
                    teams=["t"],
                    settings={"prelabel": {"onnx": onnx}},
                ),
            )
        with ws.db.session_scope(write=False) as s:
            t0 = time.perf_counter()
            predictions, report = plan_onnx_predictions(s, get_job(s, "boxes"), "rect")
            seconds = time.perf_counter() - t0
        ws.close()
    print(
        f"pre-labeling plan, {n_images} PNGs of 640x480 (tiny detector, 320x320 input): "
        f"{seconds:.2f} s, {n_images / seconds:.0f} items/s, {report['boxes']} boxes, "
        f"ms_per_item {report['ms_per_item']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    bench_decode()
    bench_plan(args.images)


if __name__ == "__main__":
    main()
