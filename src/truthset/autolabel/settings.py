"""A job's `auto_label` settings: the defaults, the checks on create and on change, and
the model a job names (registered as a job settings section)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.jobs.settings import SettingsSection
from truthset.learning.loop import DIVERSITY_STRATEGIES
from truthset.learning.models import ModelError
from truthset.store.models import Job
from truthset.tasktypes import all_task_types, get_task_type
from truthset.workspace import settings_of_session

DEFAULTS: dict[str, Any] = {
    "target_accuracy": 0.95,
    "confidence_level": 0.95,
    "strategy": "margin",
    "batch_size": None,  # default: 10% of the items, at least 50
    # The held-out validation set (Ground Truth's rule): this share of the items below
    # validation_large_from items, validation_share_large from there on.
    "validation_share_small": 0.2,
    "validation_share_large": 0.1,
    "validation_large_from": 5000,
    # Answers per validation item; None: two more than the job's workers per item when it
    # asks 3 or more (so that the labels the threshold is certified on are rarely wrong
    # themselves), as many as the other items below that.
    "validation_workers_per_item": None,
    # Text: "tfidf" (default), "minilm" (frozen sentence embeddings) or "minilm-finetune"
    # (MiniLM's upper layers fine-tuned on the job's labels; model_params tune it, see
    # FINETUNE_DEFAULTS); images: "random-patch" (the default, the only one).
    "features": None,
    # The name of a job whose trained model picks this job's first batch for people.
    "warm_start": None,
    # Bring your own model (classification): a name in the model registry (built-in or a
    # plugin's entry point), "python:package.module:Class" (trained on the job's features),
    # or "http" (model_params {"url", "fit_url"}: sent the raw items); see model_for.
    "model": None,
    "model_params": None,
    # Bounding boxes (truthset.autolabel.boxes): the built-in detector, the job label its
    # boxes get, and the mean IoU to guarantee.
    "detector": None,
    "label": None,
    "target_iou": 0.6,
}


TEXT_FEATURES = ("tfidf", "minilm", "minilm-finetune")
IMAGE_FEATURES = ("random-patch",)

# The fine-tuned model's parameters (`MiniLMUpperLayersClassifier`, and the lower layers'
# max_seq_length) and their defaults; a job sets any of them in model_params. Three
# epochs over 2,000 sentences with two trainable layers fit an iteration's budget on two
# cores; max_train_seconds stops a larger job's training at the budget.
FINETUNE_DEFAULTS: dict[str, Any] = {
    "trainable_layers": 2,
    "epochs": 3,
    "learning_rate": 1e-4,
    "batch_size": 32,
    "max_seq_length": 64,
    "max_train_seconds": 180.0,
    "calibration_share": 0.1,
    "random_state": 0,
}


def batch_size(opts: dict[str, Any], n_items: int) -> int:
    """Items per batch for people: the setting, or 5% of the items, from 50 to 1,000. The
    iterations and the scheduler that decides when the next one is due use the same."""
    return int(opts["batch_size"] or max(50, min(1000, n_items // 20)))


def autolabel_settings(job: Job) -> dict[str, Any] | None:
    raw = job.settings.get("auto_label")
    if not raw:
        return None
    return {**DEFAULTS, **(raw if isinstance(raw, dict) else {})}


def supported_task_types() -> list[str]:
    """The task types the loop can label (the types' own `supports_auto_labeling`)."""
    return sorted(name for name, t in all_task_types().items() if t.supports_auto_labeling)


def check_settings(
    task_type: str, raw: Any, *, streaming: bool = False, session: Session | None = None
) -> None:
    """Called when a job is created or edited: refuse what the loop cannot do."""
    if not raw:
        return
    if streaming:
        # As Ground Truth: the loop needs a fixed set of items to hold a validation set out.
        raise BadInput("automated labeling is not available for streaming jobs")
    if not get_task_type(task_type).supports_auto_labeling:
        raise BadInput(
            f"automated labeling supports {', '.join(supported_task_types())}, not {task_type}"
        )
    if not isinstance(raw, dict) and raw is not True:
        raise BadInput("settings.auto_label must be true or an object")
    opts = {**DEFAULTS, **(raw if isinstance(raw, dict) else {})}
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise BadInput(f"settings.auto_label: unknown key(s) {sorted(unknown)}")
    for key in ("target_accuracy", "confidence_level"):
        v = opts[key]
        if not isinstance(v, int | float) or not 0.5 <= v < 1:
            raise BadInput(f"settings.auto_label.{key} must be in [0.5, 1), got {v!r}")
    for key in ("validation_share_small", "validation_share_large"):
        v = opts[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 0.5:
            raise BadInput(f"settings.auto_label.{key} must be in (0, 0.5], got {v!r}")
    cut = opts["validation_large_from"]
    if isinstance(cut, bool) or not isinstance(cut, int) or cut < 1:
        raise BadInput(
            f"settings.auto_label.validation_large_from must be a whole number >= 1, got {cut!r}"
        )
    per_item = opts["validation_workers_per_item"]
    if per_item is not None and (
        isinstance(per_item, bool) or not isinstance(per_item, int) or not 1 <= per_item <= 100
    ):
        raise BadInput(
            "settings.auto_label.validation_workers_per_item must be a whole number from 1 "
            f"to 100 (or null: the default), got {per_item!r}"
        )
    from truthset.learning.strategies import STRATEGIES

    if opts["strategy"] not in STRATEGIES:
        raise BadInput(
            f"settings.auto_label.strategy {opts['strategy']!r} is not one of {sorted(STRATEGIES)}"
        )
    if task_type == "bounding-box":
        check_box_settings(opts)
    elif opts["detector"] is not None:
        raise BadInput("settings.auto_label.detector is for bounding-box jobs")
    check_features(task_type, opts)
    if opts["features"] == "minilm-finetune":
        check_finetune_settings(opts)
    elif opts["model"] is not None or opts["model_params"] is not None:
        check_model_settings(task_type, opts, session)
    source = opts["warm_start"]
    if source is not None:
        if not isinstance(source, str) or not source:
            raise BadInput("settings.auto_label.warm_start must be the name of a job")
        if session is not None:
            other = get_job(session, source)  # NotFound names the job
            if other.task_type != task_type:
                raise BadInput(
                    f"settings.auto_label.warm_start: job {source!r} is {other.task_type}, "
                    f"not {task_type}"
                )


VALIDATION_KEYS = (
    "validation_share_small",
    "validation_share_large",
    "validation_large_from",
    "validation_workers_per_item",
)


def check_settings_change(session: Session, job: Job, new_raw: Any) -> None:
    """Refuse a new validation rule once an iteration has run: the held-out items were
    labelled by people as validation items, and the threshold's guarantee is about them."""
    before = autolabel_settings(job)
    if before is None or not new_raw:
        return
    after = {**DEFAULTS, **(new_raw if isinstance(new_raw, dict) else {})}
    changed = [k for k in VALIDATION_KEYS if before[k] != after[k]]
    if not changed:
        return
    if repository.has_succeeded_iteration(session, job.id):
        raise BadInput(
            f"settings.auto_label.{changed[0]} cannot change after auto-labeling has started: "
            "the job's validation set is already held out"
        )


def validation_settings(opts: dict[str, Any]) -> dict[str, Any]:
    """The job's validation-set rule as AutolabelSettings fields."""
    return {
        "validation_share_small": float(opts["validation_share_small"]),
        "validation_share_large": float(opts["validation_share_large"]),
        "validation_large_from": int(opts["validation_large_from"]),
        "validation_workers_per_item": None
        if opts["validation_workers_per_item"] is None
        else int(opts["validation_workers_per_item"]),
    }


def allowed_model_modules(session: Session | None) -> tuple[str, ...]:
    """The module prefixes a `python:` model may come from: the workspace's
    TRUTHSET_MODEL_MODULES (none when no workspace is known)."""
    workspace = settings_of_session(session) if session is not None else None
    return workspace.model_modules if workspace is not None else ()


def user_model(opts: dict[str, Any], n_classes: int, allowed_modules: tuple[str, ...] = ()) -> Any:
    """The model named by ``auto_label.model`` with ``model_params``: a registered name,
    or ``python:module:Class`` from a module inside ``allowed_modules`` (refused before
    it is imported). An HTTP model's probability columns are the job's classes in label
    order (class ids 0..K-1)."""
    from truthset.learning.models import create_model

    params = dict(opts.get("model_params") or {})
    if opts["model"] == "http":
        params.setdefault("classes", list(range(n_classes)))
    try:
        return create_model(str(opts["model"]), allowed_modules=allowed_modules, **params)
    except ModelError as exc:
        raise BadInput(f"settings.auto_label.model: {exc}") from exc


def check_model_settings(
    task_type: str, opts: dict[str, Any], session: Session | None = None
) -> None:
    name, params = opts["model"], opts["model_params"]
    if task_type == "bounding-box":
        raise BadInput("settings.auto_label.model is for classification jobs (boxes: detector)")
    if not isinstance(name, str) or not name:
        raise BadInput(
            "settings.auto_label.model must be a model name, python:module:Class or http"
        )
    if params is not None and not isinstance(params, dict):
        raise BadInput(f"settings.auto_label.model_params must be an object, got {params!r}")
    if name == "http" and opts["strategy"] in DIVERSITY_STRATEGIES:
        raise BadInput(
            f"settings.auto_label.strategy {opts['strategy']!r} needs item features; an "
            "http model is sent the raw items: choose margin, least-confidence or entropy"
        )
    # Creating it checks the name, the class's methods and the parameters now, not at the
    # first iteration (a `python:` module outside the allowed prefixes is not imported).
    user_model(opts, 2, allowed_model_modules(session))


def check_features(task_type: str, opts: dict[str, Any]) -> None:
    value = opts["features"]
    if value is None:
        return
    if task_type == "text-classification":
        allowed: tuple[str, ...] = TEXT_FEATURES
    elif task_type == "image-classification":
        allowed = IMAGE_FEATURES
    else:
        raise BadInput("settings.auto_label.features is for text and image classification jobs")
    if value not in allowed:
        raise BadInput(
            f"settings.auto_label.features {value!r} is not one of {', '.join(allowed)} "
            f"for {task_type} jobs"
        )


def check_finetune_settings(opts: dict[str, Any]) -> None:
    """features "minilm-finetune" trains its own model: model_params are its parameters
    (FINETUNE_DEFAULTS' keys), and another model cannot be named."""
    if opts["model"] is not None:
        raise BadInput(
            "settings.auto_label.model cannot be set with features 'minilm-finetune', which "
            "trains its own model (tune it with model_params)"
        )
    if opts["strategy"] in DIVERSITY_STRATEGIES:
        raise BadInput(
            f"settings.auto_label.strategy {opts['strategy']!r} measures distances between "
            "item features; features 'minilm-finetune' has none to measure: choose margin, "
            "least-confidence, entropy or random"
        )
    params = opts["model_params"]
    if params is None:
        return
    if not isinstance(params, dict):
        raise BadInput(f"settings.auto_label.model_params must be an object, got {params!r}")
    unknown = sorted(set(params) - set(FINETUNE_DEFAULTS))
    if unknown:
        raise BadInput(
            f"settings.auto_label.model_params: unknown key(s) {unknown} for features "
            f"'minilm-finetune'; known: {', '.join(FINETUNE_DEFAULTS)}"
        )
    whole = {"trainable_layers": (1, 6), "epochs": (1, 100), "batch_size": (1, 1024)}
    for key, (lo, hi) in {**whole, "max_seq_length": (8, 512)}.items():
        v = params.get(key, FINETUNE_DEFAULTS[key])
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise BadInput(
                f"settings.auto_label.model_params.{key} must be a whole number in "
                f"[{lo}, {hi}], got {v!r}"
            )
    shares = {"learning_rate": (0.0, 1.0), "calibration_share": (0.0, 0.5)}
    for key, (low, high) in shares.items():
        v = params.get(key, FINETUNE_DEFAULTS[key])
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            raise BadInput(
                f"settings.auto_label.model_params.{key} must be a number in [{low}, {high}], "
                f"got {v!r}"
            )
    budget = params.get("max_train_seconds", FINETUNE_DEFAULTS["max_train_seconds"])
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0
    ):
        raise BadInput(
            "settings.auto_label.model_params.max_train_seconds must be a positive number of "
            f"seconds or null, got {budget!r}"
        )
    seed = params.get("random_state", 0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise BadInput(
            f"settings.auto_label.model_params.random_state must be a whole number >= 0 or "
            f"null, got {seed!r}"
        )


def check_box_settings(opts: dict[str, Any]) -> None:
    from truthset.autolabel.prelabel import DETECTORS

    if opts.get("detector") not in DETECTORS:
        raise BadInput(
            "automated labeling of bounding boxes needs settings.auto_label.detector, one of "
            + ", ".join(DETECTORS)
        )
    target = opts.get("target_iou")
    if not isinstance(target, int | float) or not 0 < target < 1:
        raise BadInput(f"settings.auto_label.target_iou must be in (0, 1), got {target!r}")


AUTO_LABEL_SECTION = SettingsSection(
    key="auto_label",
    description="automated labeling: target accuracy, strategy, model, validation set",
    check=lambda session, task_type, settings: check_settings(
        task_type,
        settings.get("auto_label"),
        streaming=bool(settings.get("streaming")),
        session=session,
    ),
    check_change=lambda session, job, settings: check_settings_change(
        session, job, settings.get("auto_label")
    ),
)
