"""Benchmark: geometry consolidation against known truth on real images.

Truth is defined on five public images (skimage astronaut / coffee / chelsea, sklearn's
china / flower): a 3-class map from multi-Otsu thresholds of the smoothed grey image,
cleaned by a morphological opening (the semantic-segmentation truth), and its largest
connected regions (0.4-20 % of the image, up to 6 per image) as object instances (their
boxes are the box truth, their traced outlines the polygon truth; class = Otsu class).

Synthetic workers with known noise (worker scale s = 0.5, 0.75, 1, 1.5, 3):
* boxes: each edge jittered by N(0, 0.04 s x side), a box missed with p = 0.06 s, a wrong
  class with p = 0.02 s, Poisson(0.15 s) extra boxes at random places;
* polygons: the worker clicks fewer vertices (outline simplified with tolerance 1.5 s px),
  each jittered by N(0, 1.2 s) px, the whole shape shifted by N(0, 0.8 s) px, missed with
  p = 0.06 s;
* masks: boundaries moved by a smooth random displacement field (amplitude 2.5 s px,
  correlation 10 px) plus Poisson(1.5 s) blobs (radius 4-14 px) painted a wrong class.

Methods: one random worker; unweighted baselines (median box; per-pixel majority);
truthset's consolidators unweighted, with the true skills (weight = 0.5 / s) and with
skills estimated from agreement with the unweighted consensus over the run's images
(inverse disagreement, see ``estimate_skills``).

Run:  .venv/bin/python benchmarks/consolidation_geometry.py [--reps 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from skimage import color, data, filters, measure, morphology
from sklearn.datasets import load_sample_images

from truthset.consensus.spatial import (
    BoundingBoxConsolidator,
    PolygonConsolidator,
    SemanticSegmentationConsolidator,
    box_iou,
    class_mask_iou,
    rasterize_polygon,
)
from truthset.consensus.spatial.polygons import Crop, mask_to_polygon

WORKER_SCALES = np.array([0.5, 0.75, 1.0, 1.5, 3.0])
TRUE_SKILLS = {str(i): float(0.5 / s) for i, s in enumerate(WORKER_SCALES)}
LABELS = ["dark", "bright"]  # class 1 and 2 of the Otsu map; 0 is background


# ----------------------------------------------------------------------------- truth
def load_images() -> dict[str, np.ndarray]:
    images = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}
    sample = load_sample_images()
    for name, image in zip(["china", "flower"], sample.images, strict=True):
        images[name] = image
    return images


def truth_of(image: np.ndarray) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """(class map, [(class, instance mask)]) defined from the image itself."""
    grey = filters.gaussian(color.rgb2gray(image), 2)
    classes = np.digitize(grey, filters.threshold_multiotsu(grey, classes=3)).astype(np.uint8)
    holes = np.zeros(classes.shape, bool)
    for c in range(3):
        region = classes == c
        holes |= region & ~morphology.opening(region, morphology.disk(3))
    idx = ndimage.distance_transform_edt(holes, return_distances=False, return_indices=True)
    classes = classes[tuple(idx)]
    h, w = classes.shape
    instances = []
    for c in (1, 2):
        labelled = measure.label(classes == c, connectivity=1)
        for region in measure.regionprops(labelled):
            if 0.004 * h * w < region.area < 0.2 * h * w:
                mask = ndimage.binary_fill_holes(labelled == region.label)
                instances.append((c - 1, mask, region.area))
    instances.sort(key=lambda t: -t[2])
    return classes, [(c, m) for c, m, _ in instances[:6]]


def bbox_of(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return np.array(
        [cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()], float
    )


# ----------------------------------------------------------------------------- workers
def worker_boxes(rng, truth, size, s):
    w_img, h_img = size
    out = []
    for c, box in truth:
        if rng.random() < 0.06 * s:
            continue
        x0, y0, x1, y1 = box[0], box[1], box[0] + box[2], box[1] + box[3]
        jx, jy = 0.04 * s * box[2], 0.04 * s * box[3]
        x0, x1 = x0 + rng.normal(0, jx), x1 + rng.normal(0, jx)
        y0, y1 = y0 + rng.normal(0, jy), y1 + rng.normal(0, jy)
        x0, x1 = np.clip(sorted((x0, x1)), 0, w_img)
        y0, y1 = np.clip(sorted((y0, y1)), 0, h_img)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        label = LABELS[1 - c] if rng.random() < 0.02 * s else LABELS[c]
        out.append(
            {
                "label": label,
                "left": round(x0),
                "top": round(y0),
                "width": round(x1 - x0),
                "height": round(y1 - y0),
            }
        )
    for _ in range(rng.poisson(0.15 * s)):
        bw, bh = rng.uniform(0.05, 0.3) * w_img, rng.uniform(0.05, 0.3) * h_img
        x0, y0 = rng.uniform(0, w_img - bw), rng.uniform(0, h_img - bh)
        out.append(
            {
                "label": LABELS[rng.integers(2)],
                "left": round(x0),
                "top": round(y0),
                "width": round(bw),
                "height": round(bh),
            }
        )
    return {"boundingBoxes": out, "inputImageProperties": {"width": w_img, "height": h_img}}


def worker_polygons(rng, truth_polys, size, s):
    w_img, h_img = size
    out = []
    for c, verts in truth_polys:
        if rng.random() < 0.06 * s:
            continue
        pts = np.array([(v["y"], v["x"]) for v in verts])
        pts = measure.approximate_polygon(np.vstack([pts, pts[:1]]), tolerance=1.5 * s)[:-1]
        if len(pts) < 3:
            continue
        shift = rng.normal(0, 0.8 * s, size=2)
        pts = pts + shift + rng.normal(0, 1.2 * s, size=pts.shape)
        pts[:, 0] = np.clip(pts[:, 0], 0, h_img - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, w_img - 1)
        out.append(
            {"label": LABELS[c], "vertices": [{"x": float(x), "y": float(y)} for y, x in pts]}
        )
    return {"polygons": out, "inputImageProperties": {"width": w_img, "height": h_img}}


def worker_mask(rng, truth, s):
    h, w = truth.shape
    amp, corr = 2.5 * s, 10.0
    dy = ndimage.gaussian_filter(rng.normal(size=(h, w)), corr)
    dx = ndimage.gaussian_filter(rng.normal(size=(h, w)), corr)
    dy *= amp / (dy.std() + 1e-12)
    dx *= amp / (dx.std() + 1e-12)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    warped = ndimage.map_coordinates(truth, [yy + dy, xx + dx], order=0, mode="nearest")
    for _ in range(rng.poisson(1.5 * s)):
        r = rng.uniform(4, 14)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        warped[disk] = rng.integers(3)
    return warped.astype(np.uint8)


# ----------------------------------------------------------------------------- scoring
def score_boxes(pred, truth):
    """(matched IoUs, n_truth, n_pred, GT-style mean IoU over truth + false positives)."""
    ious_all, n_tp = [], 0
    for c in (0, 1):
        t = np.array([b for cc, b in truth if cc == c]).reshape(-1, 4)
        p = np.array([b for cc, b in pred if cc == c]).reshape(-1, 4)
        if len(t) and len(p):
            m = box_iou(t, p)
            rows, cols = linear_sum_assignment(-m)
            good = [(r, k) for r, k in zip(rows, cols, strict=True) if m[r, k] >= 0.5]
        else:
            good, m = [], None
        matched = [float(m[r, k]) for r, k in good] if m is not None else []
        n_tp += len(good)
        ious_all.extend(matched)
    n_t, n_p = len(truth), len(pred)
    denom = n_t + (n_p - n_tp)
    return ious_all, n_t, n_p, (sum(ious_all) / denom if denom else 1.0)


def boxes_from(model_label):
    return [
        (a["class_id"], np.array([a["left"], a["top"], a["width"], a["height"]], float))
        for a in model_label["annotations"]
    ]


def boxes_of_answer(ans):
    return [
        (LABELS.index(b["label"]), np.array([b["left"], b["top"], b["width"], b["height"]], float))
        for b in ans["boundingBoxes"]
    ]


def score_instances(pred, truth, shape):
    """Per truth instance, IoU with its best same-class prediction (Hungarian, 0 if none)."""
    ious = []
    for c in (0, 1):
        t = [m for cc, m in truth if cc == c]
        p = [m for cc, m in pred if cc == c]
        if not t:
            continue
        if not p:
            ious.extend([0.0] * len(t))
            continue
        m = np.array([[_iou(a, b) for b in p] for a in t])
        rows, cols = linear_sum_assignment(-m)
        got = dict(zip(rows.tolist(), cols.tolist(), strict=True))
        ious.extend(
            float(m[r, got[r]]) if r in got and m[r, got[r]] >= 0.5 else 0.0 for r in range(len(t))
        )
    return ious


def _iou(a, b):
    u = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / u if u else 1.0


# ----------------------------------------------------------------------------- runs
def estimate_skills(per_image_agreement):
    """Skill per worker from its agreement a (IoU) with the unweighted consensus.

    Weight = inverse disagreement, min_w(1 - a_w) / (1 - a_w): with jitter-like noise
    the disagreement grows with the worker's noise, so this approximates inverse noise.
    """
    err = {w: max(1.0 - float(np.mean(v)), 1e-3) for w, v in per_image_agreement.items()}
    best = min(err.values())
    return {w: best / e for w, e in err.items()}


def run_boxes(images, truths, reps, seed):
    stats: defaultdict[str, dict[str, Any]] = defaultdict(
        lambda: {"iou": [], "tp_ious": [], "n_t": 0, "n_p": 0, "n_tp": 0}
    )
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        items = []
        agreement = defaultdict(list)
        for name, image in images.items():
            h, w = image.shape[:2]
            truth = [(c, bbox_of(m)) for c, m in truths[name][1]]
            answers = [worker_boxes(rng, truth, (w, h), s) for s in WORKER_SCALES]
            consensus = BoundingBoxConsolidator(labels=LABELS).fit(answers)
            for i, ans in enumerate(answers):
                ious, n_t, n_p, _ = score_boxes(boxes_of_answer(ans), boxes_from(consensus.label_))
                agreement[str(i)].append(sum(ious) / max(n_t + n_p - len(ious), 1))
            items.append((truth, answers, consensus))
        est = estimate_skills(agreement)
        for truth, answers, consensus in items:
            k = int(rng.integers(len(answers)))
            preds = {
                "one random worker": boxes_of_answer(answers[k]),
                "median box (unweighted)": boxes_from(
                    BoundingBoxConsolidator(labels=LABELS, method="median").fit(answers).label_
                ),
                "truthset mean, unweighted": boxes_from(consensus.label_),
                "truthset mean, true skills": boxes_from(
                    BoundingBoxConsolidator(labels=LABELS).fit(answers, skills=TRUE_SKILLS).label_
                ),
                "truthset mean, estimated skills": boxes_from(
                    BoundingBoxConsolidator(labels=LABELS).fit(answers, skills=est).label_
                ),
                "truthset median, true skills": boxes_from(
                    BoundingBoxConsolidator(labels=LABELS, method="median")
                    .fit(answers, skills=TRUE_SKILLS)
                    .label_
                ),
            }
            for method, pred in preds.items():
                ious, n_t, n_p, gt_miou = score_boxes(pred, truth)
                st = stats[method]
                st["iou"].append(gt_miou)
                st["tp_ious"].extend(ious)
                st["n_t"] += n_t
                st["n_p"] += n_p
                st["n_tp"] += len(ious)
    rows = []
    for method, st in stats.items():
        rows.append(
            (
                method,
                np.mean(st["iou"]),
                np.mean(st["tp_ious"]),
                st["n_tp"] / st["n_t"],
                st["n_tp"] / max(st["n_p"], 1),
            )
        )
    return rows


def run_polygons(images, truths, reps, seed):
    stats = defaultdict(list)
    recall = defaultdict(list)
    rng = np.random.default_rng(seed + 1)
    truth_polys = {}
    for name in images:
        polys = []
        for c, m in truths[name][1]:
            rows, cols = np.nonzero(m)
            crop = Crop(
                int(rows.min()),
                int(cols.min()),
                m[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1],
            )
            polys.append((c, mask_to_polygon(crop, tolerance=1.0)))
        truth_polys[name] = polys
    for _ in range(reps):
        for name, image in images.items():
            h, w = image.shape[:2]
            # Truth = the traced outline, rasterised the same way the workers' are.
            truth = [(c, rasterize_polygon(v, w, h).paste((h, w))) for c, v in truth_polys[name]]
            answers = [worker_polygons(rng, truth_polys[name], (w, h), s) for s in WORKER_SCALES]
            k = int(rng.integers(len(answers)))
            single = [
                (LABELS.index(p["label"]), rasterize_polygon(p["vertices"], w, h).paste((h, w)))
                for p in answers[k]["polygons"]
            ]
            preds = {"one random worker": single}
            for method, skills in (
                ("truthset vote, unweighted", None),
                ("truthset vote, true skills", TRUE_SKILLS),
            ):
                model = PolygonConsolidator(labels=LABELS).fit(answers, skills=skills)
                preds[method] = [
                    (int(c), cr.paste((h, w)))
                    for c, cr in zip(model.class_ids_, model.crops_, strict=True)
                ]
                traced = [
                    (int(a["class_id"]), rasterize_polygon(a["vertices"], w, h).paste((h, w)))
                    for a in model.label_["annotations"]
                ]
                preds[method + " (traced polygon)"] = traced
            for method, pred in preds.items():
                ious = score_instances(pred, truth, (h, w))
                stats[method].extend(ious)
                recall[method].extend([i > 0 for i in ious])
    return [(m, float(np.mean(v)), float(np.mean(recall[m]))) for m, v in stats.items()]


def run_masks(images, truths, reps, seed):
    stats: defaultdict[str, dict[str, list[float]]] = defaultdict(lambda: {"miou": [], "acc": []})
    rng = np.random.default_rng(seed + 2)
    for _ in range(reps):
        items = []
        agreement = defaultdict(list)
        for name in images:
            truth = truths[name][0]
            answers = [worker_mask(rng, truth, s) for s in WORKER_SCALES]
            majority = SemanticSegmentationConsolidator(labels=LABELS, smoothing=None).fit(answers)
            for i, a in enumerate(answers):
                agreement[str(i)].append(float(np.nanmean(class_mask_iou(a, majority.mask_, 3))))
            items.append((truth, answers, majority))
        est = estimate_skills(agreement)
        for truth, answers, majority in items:
            k = int(rng.integers(len(answers)))

            def seg(skills=None, answers=answers, **params):
                model = SemanticSegmentationConsolidator(labels=LABELS, **params)
                return model.fit(answers, skills=skills).mask_

            preds = {
                "one random worker": answers[k],
                "per-pixel majority (unweighted)": majority.mask_,
                "truthset, unweighted, box 3 (defaults)": seg(),
                "truthset, true skills, no smoothing": seg(TRUE_SKILLS, smoothing=None),
                "truthset, true skills, box 3": seg(TRUE_SKILLS),
                "truthset, true skills, box 5": seg(TRUE_SKILLS, smoothing_size=5),
                "truthset, true skills, gaussian 1.5": seg(
                    TRUE_SKILLS, smoothing="gaussian", smoothing_size=1.5
                ),
                "truthset, true skills, box 3, undecided pixels only": seg(
                    TRUE_SKILLS, smooth_where="undecided"
                ),
                "truthset, true skills, box 3, all pixels": seg(TRUE_SKILLS, smooth_where="all"),
                "truthset, estimated skills, box 3": seg(est),
            }
            for method, pred in preds.items():
                stats[method]["miou"].append(float(np.nanmean(class_mask_iou(pred, truth, 3))))
                stats[method]["acc"].append(float(np.mean(pred == truth)))
    return [(m, float(np.mean(v["miou"])), float(np.mean(v["acc"]))) for m, v in stats.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="repetitions per image")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    images = load_images()
    truths = {name: truth_of(image) for name, image in images.items()}
    n_inst = sum(len(t[1]) for t in truths.values())
    print(
        f"# consolidation_geometry: {len(images)} images, {n_inst} truth instances,"
        f" 5 workers/item, reps={args.reps}, seed={args.seed}, python {platform.python_version()}"
    )

    t0 = time.perf_counter()
    rows = run_boxes(images, truths, args.reps, args.seed)
    print(f"\n## Bounding boxes ({time.perf_counter() - t0:.1f} s)\n")
    print(
        "| method | mean IoU (GT-style: misses, extras count 0) | IoU of matched boxes"
        " | recall@0.5 | precision@0.5 |"
    )
    print("|---|---|---|---|---|")
    for m, a, b, c, d in rows:
        print(f"| {m} | {a:.3f} | {b:.3f} | {c:.3f} | {d:.3f} |")

    t0 = time.perf_counter()
    rows = run_polygons(images, truths, args.reps, args.seed)
    print(f"\n## Polygons / instances ({time.perf_counter() - t0:.1f} s)\n")
    print("| method | mean mask IoU per truth instance (miss = 0) | recall@0.5 |")
    print("|---|---|---|")
    for m, a, b in rows:
        print(f"| {m} | {a:.3f} | {b:.3f} |")

    t0 = time.perf_counter()
    rows = run_masks(images, truths, args.reps, args.seed)
    print(f"\n## Semantic segmentation ({time.perf_counter() - t0:.1f} s)\n")
    print("| method | mean IoU over 3 classes | pixel accuracy |")
    print("|---|---|---|")
    for m, a, b in rows:
        print(f"| {m} | {a:.4f} | {b:.4f} |")


if __name__ == "__main__":
    main()
