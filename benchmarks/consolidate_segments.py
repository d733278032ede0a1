"""Benchmark: consolidation of audio segments, speed and accuracy against known truth.

Truth: about an hour of a 4-speaker conversation, 2,000 turns of 0.4-3 s with pauses of
0-1.2 s (some turns overlap the next by up to 0.3 s). Five synthetic workers mark every turn
with boundary jitter N(0, s) for s = 30, 40, 50, 80, 250 ms, miss a turn with p = 0.02,
give a wrong speaker with p = 0.02 (0.15 for the worst), and add a stray 0.5 s segment
with p = 0.01 per turn: about 10,000 segments per item. For transcripts, each worker
writes the turn's 6 words with one word changed with p = 0.1.

Printed: the time of one consolidation through the task type (``consolidate``: matching,
medians, confidences, the label) for audio-segmentation and audio-segment-transcription,
best of --reps, wall clock and this process's CPU time (on a shared machine the wall clock
also counts other processes' turns); and the accuracy of the consolidated segments against
the truth (turns found, boundary error in ms, temporal IoU), unweighted and with the true
skills.

Run:  .venv/bin/python benchmarks/consolidate_segments.py [--reps 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402
from truthset.consensus.spatial import match_intervals  # noqa: E402
from truthset.tasktypes import WorkerAnswer, get_task_type  # noqa: E402

SPEAKERS = ["spk0", "spk1", "spk2", "spk3"]
JITTER_S = [0.03, 0.04, 0.05, 0.08, 0.25]
WRONG_SPEAKER = [0.02, 0.02, 0.02, 0.02, 0.15]
WORDS = [
    "yes",
    "no",
    "maybe",
    "later",
    "today",
    "tomorrow",
    "here",
    "there",
    "now",
    "then",
    "always",
    "never",
]


def make_truth(rng: np.random.Generator, turns: int) -> list[tuple[str, float, float, str]]:
    truth = []
    t = 0.5
    for _ in range(turns):
        length = float(rng.uniform(0.4, 3.0))
        text = " ".join(rng.choice(WORDS, 6))
        truth.append((SPEAKERS[int(rng.integers(4))], round(t, 3), round(t + length, 3), text))
        t += length + float(rng.uniform(-0.3, 1.2))
        t = max(t, truth[-1][1] - 0.3)
    return truth


def make_answers(rng: np.random.Generator, truth, with_text: bool) -> list[dict]:
    answers = []
    for w, jitter in enumerate(JITTER_S):
        segments = []
        for label, start, end, text in truth:
            if rng.random() < 0.02:
                continue
            if rng.random() < WRONG_SPEAKER[w]:
                label = SPEAKERS[int(rng.integers(4))]
            s = max(0.0, start + rng.normal(0, jitter))
            e = max(s + 0.05, end + rng.normal(0, jitter))
            seg = {"start": round(s, 3), "end": round(e, 3), "label": label}
            if with_text:
                words = text.split()
                if rng.random() < 0.1:
                    words[int(rng.integers(len(words)))] = str(rng.choice(WORDS))
                seg["text"] = " ".join(words)
            segments.append(seg)
            if rng.random() < 0.01:
                stray = float(rng.uniform(0, truth[-1][2]))
                extra = {"start": round(stray, 3), "end": round(stray + 0.5, 3), "label": label}
                if with_text:
                    extra["text"] = "um"
                segments.append(extra)
        segments.sort(key=lambda x: (x["start"], x["end"]))
        answers.append({"segments": segments})
    return answers


def accuracy(truth, segments) -> dict[str, float]:
    found_ms, ious, n_found = [], [], 0
    for label in SPEAKERS:
        t = np.array([(s, e) for lab, s, e, _ in truth if lab == label]).reshape(-1, 2)
        c = np.array([(x["start"], x["end"]) for x in segments if x["label"] == label]).reshape(
            -1, 2
        )
        for i, j, iou in match_intervals(t, c, 0.5):
            n_found += 1
            ious.append(iou)
            found_ms += [abs(t[i, 0] - c[j, 0]) * 1000, abs(t[i, 1] - c[j, 1]) * 1000]
    return {
        "found": n_found / len(truth),
        "extra": (len(segments) - n_found) / len(truth),
        "median_ms": float(np.median(found_ms)),
        "p95_ms": float(np.percentile(found_ms, 95)),
        "iou": float(np.mean(ious)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    truth = make_truth(rng, args.turns)
    print(f"machine: {machine()}")
    print(f"truth: {len(truth)} turns over {truth[-1][2] / 60:.1f} minutes, 5 workers")
    skills = [0.05 / j for j in JITTER_S]
    for name, with_text in (("audio-segmentation", False), ("audio-segment-transcription", True)):
        task_type = get_task_type(name)
        config = task_type.parse_label_config(SPEAKERS)
        contents = make_answers(rng, truth, with_text)
        n = sum(len(c["segments"]) for c in contents)
        for weighting, weights in (("unweighted", [1.0] * 5), ("true skills", skills)):
            answers = [
                WorkerAnswer(i, c, weight=min(1.0, w))
                for i, (c, w) in enumerate(zip(contents, weights, strict=True))
            ]
            times, cpu = [], []
            for _ in range(args.reps):
                started, started_cpu = time.perf_counter(), time.process_time()
                result = task_type.consolidate(answers, config, {})
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            acc = accuracy(truth, result.value["segments"])
            print(
                f"{name:28s} {weighting:11s} {n:,} segments: {min(times):.3f} s "
                f"(median {np.median(times):.3f} s, CPU {min(cpu):.3f} s); "
                f"found {acc['found']:.1%}, extra {acc['extra']:.1%}, "
                f"boundary error median {acc['median_ms']:.1f} ms, "
                f"p95 {acc['p95_ms']:.1f} ms, IoU {acc['iou']:.3f}"
            )
        single = accuracy(truth, contents[2]["segments"])
        print(
            f"{'':28s} {'worker 2':11s} alone: boundary error median "
            f"{single['median_ms']:.1f} ms, IoU {single['iou']:.3f}"
        )


if __name__ == "__main__":
    main()
