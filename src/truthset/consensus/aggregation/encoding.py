"""Answers as integer codes: the one data model every aggregator reads.

A labeling job's answers are a long table ``task, worker, label`` of strings. Aggregators
never see strings: :func:`encode_answers` turns the rows into dense integer codes once, and
:class:`AnswerMatrix` builds the sparse structures that EM steps multiply with, so no
iteration ever touches pandas or Python dictionaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

IntArray = np.ndarray
FloatArray = np.ndarray
DuplicatePolicy = Literal["keep", "first", "last"]


@dataclass(frozen=True, eq=False)
class AnswerMatrix:
    """Answers as codes: ``tasks[a]`` answered ``labels[a]`` by ``workers[a]``.

    Codes are ``0 <= tasks < n_tasks`` etc. The arrays are copied and made read-only so
    that no aggregator can mutate a caller's data. The optional ``*_names`` arrays map codes
    back to the caller's identifiers.
    """

    tasks: IntArray
    workers: IntArray
    labels: IntArray
    n_tasks: int
    n_workers: int
    n_classes: int
    task_names: np.ndarray | None = None
    worker_names: np.ndarray | None = None
    class_names: np.ndarray | None = None

    def __post_init__(self) -> None:
        arrays = []
        for name in ("tasks", "workers", "labels"):
            values = np.asarray(getattr(self, name))
            if values.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
            if values.size and not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"{name} must hold integer codes, got dtype {values.dtype}")
            values = values.astype(np.int64, copy=True)
            values.setflags(write=False)
            object.__setattr__(self, name, values)
            arrays.append(values)
        if not (len(arrays[0]) == len(arrays[1]) == len(arrays[2])):
            raise ValueError(
                "tasks, workers and labels must have the same length, got "
                f"{len(arrays[0])}, {len(arrays[1])}, {len(arrays[2])}"
            )
        for name, values, bound in zip(
            ("tasks", "workers", "labels"),
            arrays,
            (self.n_tasks, self.n_workers, self.n_classes),
            strict=True,
        ):
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise ValueError(f"{name} codes must lie in [0, {bound}), got {values.min()}..")
        if self.n_classes < 1 and self.n_answers:
            raise ValueError("n_classes must be at least 1")

    @property
    def n_answers(self) -> int:
        return int(self.tasks.shape[0])

    @classmethod
    def from_codes(
        cls,
        tasks: Sequence[int] | IntArray,
        workers: Sequence[int] | IntArray,
        labels: Sequence[int] | IntArray,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        n_classes: int | None = None,
    ) -> AnswerMatrix:
        """Build from integer codes; sizes default to ``max + 1``."""
        t = np.asarray(tasks, dtype=np.int64)
        w = np.asarray(workers, dtype=np.int64)
        lab = np.asarray(labels, dtype=np.int64)
        return cls(
            t,
            w,
            lab,
            n_tasks=int(n_tasks if n_tasks is not None else (t.max() + 1 if t.size else 0)),
            n_workers=int(n_workers if n_workers is not None else (w.max() + 1 if w.size else 0)),
            n_classes=int(
                n_classes if n_classes is not None else (lab.max() + 1 if lab.size else 0)
            ),
        )

    def subset(self, mask: np.ndarray) -> AnswerMatrix:
        """The answers where ``mask`` is true, with the same code spaces."""
        return AnswerMatrix(
            self.tasks[mask],
            self.workers[mask],
            self.labels[mask],
            self.n_tasks,
            self.n_workers,
            self.n_classes,
            self.task_names,
            self.worker_names,
            self.class_names,
        )

    # Structures built once per matrix, reused by every EM iteration.

    @cached_property
    def task_incidence(self) -> sp.csr_matrix:
        """(n_tasks, n_answers) 0/1: ``task_incidence @ X`` sums per-answer rows per task."""
        return _incidence(self.tasks, self.n_tasks, self.n_answers)

    @cached_property
    def worker_label_incidence(self) -> sp.csr_matrix:
        """(n_workers * n_classes, n_answers): groups answers by (worker, given label)."""
        return _incidence(
            self.workers * self.n_classes + self.labels,
            self.n_workers * self.n_classes,
            self.n_answers,
        )

    @cached_property
    def worker_incidence(self) -> sp.csr_matrix:
        """(n_workers, n_answers) 0/1."""
        return _incidence(self.workers, self.n_workers, self.n_answers)

    @cached_property
    def vote_counts(self) -> FloatArray:
        """(n_tasks, n_classes) number of answers per task and label."""
        counts = np.bincount(
            self.tasks * self.n_classes + self.labels, minlength=self.n_tasks * self.n_classes
        )
        return counts.reshape(self.n_tasks, self.n_classes).astype(np.float64)

    @cached_property
    def answers_per_worker(self) -> FloatArray:
        return np.bincount(self.workers, minlength=self.n_workers).astype(np.float64)

    @cached_property
    def answers_per_task(self) -> FloatArray:
        return np.bincount(self.tasks, minlength=self.n_tasks).astype(np.float64)

    def decode_labels(self, codes: IntArray) -> np.ndarray:
        if self.class_names is None:
            return np.asarray(codes)
        return self.class_names[np.asarray(codes)]


def _incidence(rows: IntArray, n_rows: int, n_answers: int) -> sp.csr_matrix:
    data = np.ones(n_answers, dtype=np.float64)
    return sp.csr_matrix((data, (rows, np.arange(n_answers))), shape=(n_rows, n_answers))


def encode_answers(
    task_ids: Sequence[str] | np.ndarray,
    worker_ids: Sequence[str] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    classes: Sequence[str] | None = None,
    duplicates: DuplicatePolicy = "keep",
) -> AnswerMatrix:
    """Encode string rows ``task, worker, label`` into an :class:`AnswerMatrix`.

    Tasks and workers are numbered in order of first appearance. Classes follow ``classes``
    when given (a label config defines class ids by its order); otherwise the sorted set of
    labels seen. ``duplicates`` says what to do when one worker answered one task more than
    once: keep every row, or only the first / last.
    """
    task_arr = np.asarray(task_ids, dtype=object)
    worker_arr = np.asarray(worker_ids, dtype=object)
    label_arr = np.asarray(labels, dtype=object)
    if not (len(task_arr) == len(worker_arr) == len(label_arr)):
        raise ValueError("task_ids, worker_ids and labels must have the same length")
    task_names, task_codes = _codes_in_order(task_arr)
    worker_names, worker_codes = _codes_in_order(worker_arr)
    if classes is None:
        class_names = np.asarray(sorted(set(label_arr.tolist())), dtype=object)
    else:
        class_names = np.asarray(list(classes), dtype=object)
        if len(set(class_names.tolist())) != len(class_names):
            raise ValueError("classes must be unique")
    class_index = {name: code for code, name in enumerate(class_names.tolist())}
    unknown = [value for value in label_arr.tolist() if value not in class_index]
    if unknown:
        raise ValueError(f"label {unknown[0]!r} is not one of the classes {list(class_names)}")
    label_codes = np.fromiter(
        (class_index[v] for v in label_arr.tolist()), dtype=np.int64, count=len(label_arr)
    )
    keep = _duplicate_mask(task_codes, worker_codes, len(worker_names), duplicates)
    return AnswerMatrix(
        task_codes[keep],
        worker_codes[keep],
        label_codes[keep],
        n_tasks=len(task_names),
        n_workers=len(worker_names),
        n_classes=len(class_names),
        task_names=task_names,
        worker_names=worker_names,
        class_names=class_names,
    )


def _codes_in_order(values: np.ndarray) -> tuple[np.ndarray, IntArray]:
    index: dict[object, int] = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in values.tolist()),
        dtype=np.int64,
        count=len(values),
    )
    names = np.empty(len(index), dtype=object)
    names[:] = list(index)
    return names, codes


def _duplicate_mask(
    tasks: IntArray, workers: IntArray, n_workers: int, duplicates: DuplicatePolicy
) -> np.ndarray:
    if duplicates == "keep":
        return np.ones(len(tasks), dtype=bool)
    if duplicates not in ("first", "last"):
        raise ValueError(f"duplicates must be 'keep', 'first' or 'last', got {duplicates!r}")
    pair = tasks * max(n_workers, 1) + workers
    order = np.arange(len(pair)) if duplicates == "first" else np.arange(len(pair))[::-1]
    _, first_seen = np.unique(pair[order], return_index=True)
    mask = np.zeros(len(pair), dtype=bool)
    mask[order[first_seen]] = True
    return mask
