"""The labels an import brings with its items: each label attribute of a Ground Truth
output manifest becomes (or extends) an *imported job* of the dataset, a finished job whose
tasks hold those labels, so that jobs chained on them, counters, reviews and exports read
them as labels and not as opaque keys of the line.

Class ids are Ground Truth's and are never renumbered: the label config is either given
(`label_configs`, a label category file per attribute or for all) and every line's ids are
checked against it, or built from the ids and names the lines use, which must agree with
each other and leave no id unnamed. A disagreement is an error naming the line, the id and
both names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets.checking import CheckedBatch
from truthset.datasets.gt_labels import LabelShape
from truthset.errors import BadInput
from truthset.jobs.service import (
    create_imported_job,
    free_job_name,
    imported_job_of,
)
from truthset.labels.writer import write_imported_labels, write_new_imported_labels
from truthset.media.storage import AllowedRoots, open_ref
from truthset.store.models import Job
from truthset.store.raw import raw
from truthset.tasktypes import all_task_types, get_task_type

# A mask file larger than this is refused (Ground Truth's masks are a few hundred KB).
MAX_MASK_BYTES = 32 << 20
# Output types whose class ids start at 1 in the label config's order (0 is BACKGROUND).
BACKGROUND_FIRST = frozenset({"groundtruth/semantic-segmentation"})


# Output types whose task type is not named by the part after `groundtruth/`.
_NAMED_OTHERWISE = {
    "groundtruth/object-detection": "bounding-box",
    "groundtruth/text-span": "named-entity-recognition",
}


def task_type_for(output_type: str) -> str | None:
    """The task type whose output type this is (`groundtruth/object-detection` ->
    `bounding-box`), or None when no installed task type writes it.

    The likely type is loaded alone first: loading every task type imports scipy and the
    spatial consolidators, a fixed 1.5 s that a labeled import would otherwise pay."""
    guess = _NAMED_OTHERWISE.get(output_type, output_type.removeprefix("groundtruth/"))
    try:
        if get_task_type(guess).output_type.lower() == output_type:
            return guess
    except BadInput:
        pass  # not installed under that name: look through them all
    for name, task_type in all_task_types().items():
        if task_type.output_type.lower() == output_type:
            return name
    return None


# Migration 0016's per-row counter triggers on the two rows an imported label writes.
_ROW_TRIGGERS = ("trg_job_tasks_ins", "trg_job_labels_ins")
_ADD_TASK_COUNT = (
    "INSERT INTO job_task_counts (job_id, shard, status, tasks) VALUES (?, 0, ?, ?) "
    "ON CONFLICT (job_id, shard, status) DO UPDATE SET tasks = job_task_counts.tasks + "
    "excluded.tasks"
)


class _CountsInBulk:
    """SQLite: while an import writes the labels of items its batch has just added, the
    two insert triggers of migration 0016 are dropped inside the import's transaction and
    the task counts they keep are added once per batch instead: the triggers cost ~1.5 s
    of a 1,000,000-line import's ~15 s of inserts. What the labels' trigger counts (the
    answers of the label's task) is nothing for a task made in the same batch.

    The triggers are created again from their own stored text (`restore`) before any
    other write of the import (a batch that is not all new, `finish`), and by the rollback
    of a failed import (DDL is transactional in SQLite): as SQLite has one writer at a time
    and readers see only committed states, no other connection ever sees them missing.
    PostgreSQL keeps its statement-level triggers (they already count a batch at once)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dropped: list[str] = []  # the CREATE TRIGGER statements, to run again

    def suspend(self) -> bool:
        """Drop the triggers (once); False where they stay (PostgreSQL)."""
        sql = raw(self.session)
        if sql.pg:
            return False
        if not self.dropped:
            marks = ", ".join("?" * len(_ROW_TRIGGERS))
            found = sql.cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
                _ROW_TRIGGERS,
            ).fetchall()
            if len(found) != len(_ROW_TRIGGERS):
                return False  # a schema without them (or changed): leave it alone
            for name, create in found:
                sql.cursor.execute(f"DROP TRIGGER {name}")
                self.dropped.append(create)
        return True

    def add_tasks(self, job_id: int, statuses: Sequence[str]) -> None:
        """Count new (not gold) tasks of these statuses, as the tasks' trigger would."""
        counted = Counter(statuses)
        raw(self.session).cursor.executemany(
            _ADD_TASK_COUNT,
            [(job_id, "open" if s == "full" else s, n) for s, n in counted.items()],
        )

    def restore(self) -> None:
        if self.dropped:
            cursor = raw(self.session).cursor
            for create in self.dropped:
                cursor.execute(create)
            self.dropped = []


@dataclass
class _Attribute:
    job: Job
    output_type: str
    # Given: from a label category file (or an earlier import); else built from the lines.
    given: tuple[str, ...] | None
    extensible: bool
    names: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (name, line)
    raw_labels: list[dict[str, Any]] | None = None
    job_names: set[str] = field(default_factory=set)
    added: int = 0


class LabelImport:
    """One import's labels: the imported job of each attribute, the class checks, and the
    batched writes (`write(batch rows)`); `finish()` sets each job's label config."""

    def __init__(
        self,
        session: Session,
        dataset_id: int,
        dataset_name: str,
        *,
        label_configs: dict[str, Any] | None,
        roots: AllowedRoots,
        endpoint_url: str | None,
        created_by: int | None,
        now: float,
    ) -> None:
        self.session = session
        self.dataset_id = dataset_id
        self.dataset_name = dataset_name
        self.label_configs = label_configs or {}
        self.roots = roots
        self.endpoint_url = endpoint_url
        self.created_by = created_by
        self.now = now
        self.attributes: dict[str, _Attribute] = {}
        # Attribute -> why its labels stay only in the lines (no task type writes them).
        self.skipped: dict[str, str] = {}
        # Shape -> why its lines' labels cannot be imported, or None: a shape's verdict
        # never changes once given (a class name, once seen, stays that id's name).
        self._verdicts: dict[LabelShape, str | None] = {}
        self._counts = _CountsInBulk(session)

    def _attribute(self, label: LabelShape) -> _Attribute | None:
        found = self.attributes.get(label.attribute)
        if found is not None or label.attribute in self.skipped:
            return found
        task_type = task_type_for(label.output_type)
        if task_type is None:
            self.skipped[label.attribute] = (
                f"no task type writes {label.output_type!r}: its labels stay in the lines only"
            )
            return None
        job = imported_job_of(self.session, self.dataset_id, label.attribute)
        given: tuple[str, ...] | None = None
        extensible = False
        raw_config = self.label_configs.get(label.attribute, self.label_configs.get("*"))
        if job is None:
            short = (label.job_name or "").removeprefix("labeling-job/")
            job = create_imported_job(
                self.session,
                name=free_job_name(self.session, short, f"{self.dataset_name}-{label.attribute}"),
                dataset_id=self.dataset_id,
                task_type=task_type,
                label_attribute=label.attribute,
                settings={"imported": {"source": "ground-truth", "job_names": []}},
                created_by=self.created_by,
                now=self.now,
            )
            if raw_config is not None:
                config = get_task_type(task_type).parse_label_config(raw_config)
                given = config.labels
                job.label_config = config.raw
        else:
            if job.task_type != task_type:
                raise BadInput(
                    f"labels under {label.attribute!r} are {label.output_type} here but the "
                    f"dataset's earlier ones are {job.task_type}"
                )
            given = tuple(e["label"] for e in job.label_config.get("labels", []))
            extensible = not job.settings["imported"].get("label_config_given", False)
        if given is not None and raw_config is not None and job.label_config != raw_config:
            # Checked like the lines: the given file must agree with the earlier labels.
            given = get_task_type(task_type).parse_label_config(raw_config).labels
        job.settings = {
            **job.settings,
            "imported": {
                **job.settings["imported"],
                "label_config_given": bool(
                    job.settings["imported"].get("label_config_given") or raw_config is not None
                ),
            },
        }
        found = _Attribute(job, label.output_type, given, extensible)
        found.job_names.update(job.settings["imported"].get("job_names", []))
        self.attributes[label.attribute] = found
        return found

    def check(self, shape: LabelShape, line_no: int) -> str | None:
        """Why the labels of this shape cannot be imported (their class ids), or None;
        `line_no` is the first line that has it. Each shape is judged once: the lines
        after it that share it get the same verdict, which is what judging each of them
        in line order would give (names are only ever added, never changed)."""
        if shape in self._verdicts:
            return self._verdicts[shape]
        verdict = self._judge(shape, line_no)
        self._verdicts[shape] = verdict
        return verdict

    def _judge(self, label: LabelShape, line_no: int) -> str | None:
        attr = self._attribute(label)
        if attr is None:
            return None
        offset = 1 if label.output_type in BACKGROUND_FIRST else 0
        if label.value_labels is not None and attr.raw_labels is None:
            attr.raw_labels = orjson.loads(label.value_labels)
        for class_id, name in label.classes:
            if offset and class_id == 0:
                continue  # BACKGROUND
            index = class_id - offset
            if attr.given is not None and index < len(attr.given):
                if attr.given[index] != name:
                    return (
                        f"{label.attribute}: class id {class_id} is {name!r} in this line "
                        f"but {attr.given[index]!r} in the label config"
                    )
                continue
            if attr.given is not None and not attr.extensible:
                return (
                    f"{label.attribute}: class id {class_id} ({name!r}) is not in the label "
                    f"config, which has {len(attr.given)} labels"
                )
            seen = attr.names.get(index)
            if seen is None:
                attr.names[index] = (name, line_no)
            elif seen[0] != name:
                return (
                    f"{label.attribute}: class id {class_id} is {name!r} in this line but "
                    f"{seen[0]!r} on line {seen[1]}"
                )
        if label.job_name:
            attr.job_names.add(label.job_name)
        return None

    def write(
        self,
        batch: CheckedBatch,
        items: Sequence[tuple[int, int] | None] | None,
        *,
        new_items: bool = False,
        first: tuple[int, int] | None = None,
    ) -> None:
        """Write a batch's labels; `items[row]` is the (item id, position) of the batch's
        row, None for a row whose item is not there (its id was refused). `new_items`:
        the batch added every one of its rows, so no item has labels yet. `first`, in place
        of `items`: the (item id, position) of the batch's first row, every row added and
        numbered in order after it (the usual case, written without a row per label)."""
        attrs = [self.attributes.get(shape.attribute) for shape, _first in batch.shapes]
        # Attribute -> its rows; per shape, the list its labels go to (None: not imported).
        entries_of: dict[str, list[tuple[Any, ...]]] = {}
        lists = [
            None if a is None else entries_of.setdefault(shape.attribute, [])
            for a, (shape, _first) in zip(attrs, batch.shapes, strict=True)
        ]
        for label in batch.labels:
            entries = lists[label[1]]
            if entries is None:
                continue
            if first is not None:
                target: tuple[Any, ...] = ()  # the row index is the label's first field
            else:
                assert items is not None
                found = items[label[0]]
                if found is None:
                    continue
                target = (*found, label[2])
            if label[8] is None:
                entries.append(label if first is not None else target + label[3:])
            else:
                shape = batch.shapes[label[1]][0]
                mask = self._mask(shape, label[8], batch.line_nos[label[0]])
                head = label[:3] if first is not None else target
                entries.append((*head, *label[3:8], mask))
        in_bulk = self._counts.suspend() if new_items else False
        if not in_bulk:
            self._counts.restore()
        for attribute, entries in entries_of.items():
            if entries:
                attr = self.attributes[attribute]
                if first is not None:
                    write_new_imported_labels(
                        self.session,
                        attr.job.id,
                        entries,
                        first_item=first[0],
                        first_position=first[1],
                        now=self.now,
                    )
                else:
                    write_imported_labels(
                        self.session, attr.job.id, entries, now=self.now, new_items=new_items
                    )
                if in_bulk:
                    self._counts.add_tasks(attr.job.id, [e[2] for e in entries])
                attr.added += len(entries)

    def _mask(self, label: LabelShape, ref: str, line_no: int) -> bytes | None:
        """A segmentation label's mask file, kept with the label (review and adjustment
        tools show it; exports write it again): read once, here, from S3 or an allowed
        local root."""
        if label.output_type not in BACKGROUND_FIRST:
            return None
        if not self.roots.allows(ref):
            raise BadInput(
                f"line {line_no}: mask {ref!r} of {label.attribute!r} is outside the allowed "
                "roots and buckets"
            )
        try:
            with open_ref(ref, self.roots, endpoint_url=self.endpoint_url) as fh:
                data = fh.read(MAX_MASK_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - named with the line below
            raise BadInput(
                f"line {line_no}: cannot read mask {ref!r} of {label.attribute!r} ({exc})"
            ) from None
        if len(data) > MAX_MASK_BYTES:
            raise BadInput(f"line {line_no}: mask {ref!r} is larger than 32 MB")
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise BadInput(f"line {line_no}: mask {ref!r} is not a PNG file")
        return data

    def finish(self) -> dict[str, Any]:
        """Set each imported job's label config (given, or built from the lines' class
        ids) and what it records; returns a summary per attribute."""
        self._counts.restore()
        summary: dict[str, Any] = {}
        for attribute, attr in self.attributes.items():
            job = attr.job
            task_type = get_task_type(job.task_type)
            if attr.raw_labels is not None and attr.given is None:
                # The entity labels (with their short names) as the lines give them.
                raw_config: Any = {"document-version": "2018-11-28", "labels": attr.raw_labels}
            elif attr.names or attr.given is None:
                names = list(attr.given or ())
                for index in sorted(attr.names):
                    if index >= len(names):
                        names.extend([""] * (index + 1 - len(names)))
                        names[index] = attr.names[index][0]
                missing = [str(i) for i, n in enumerate(names) if not n]
                if missing:
                    offset = 1 if attr.output_type in BACKGROUND_FIRST else 0
                    ids = ", ".join(str(int(i) + offset) for i in missing[:10])
                    raise BadInput(
                        f"{attribute}: no line names class id(s) {ids}; give the label "
                        "category file (--labels) so that class ids stay Ground Truth's"
                    )
                raw_config = {
                    "document-version": "2018-11-28",
                    "labels": [{"label": n} for n in names],
                }
            else:
                raw_config = job.label_config
            try:
                config = task_type.parse_label_config(raw_config)
            except BadInput as exc:
                raise BadInput(
                    f"{attribute}: the classes its labels name do not make a label config "
                    f"for {job.task_type} ({exc.detail}); give the label category file "
                    "(--labels)"
                ) from None
            job.label_config = config.raw
            job.settings = {
                **job.settings,
                "imported": {
                    **job.settings["imported"],
                    "job_names": sorted(attr.job_names)[:100],
                },
            }
            summary[attribute] = {"job": job.name, "task_type": job.task_type, "labels": attr.added}
        self.session.flush()
        return summary
