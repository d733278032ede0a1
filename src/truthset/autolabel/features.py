"""What a job's model is trained on: features of its items (TF-IDF, MiniLM, MiniLM's frozen
lower layers for the fine-tuned model, image patch features; cached per job), or the raw
items for a model that takes them (http)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
from sqlalchemy.orm import object_session

from truthset.autolabel.settings import allowed_model_modules, user_model
from truthset.learning.models import (
    LinearClassifier,
    MLPProbe,
)
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

# The `features` value whose model is MiniLM fine-tuned on the job's labels.
FINETUNE = "minilm-finetune"

# Told what an iteration is doing now ("computing features: 12,000 of 70,000 images").
Progress = Callable[[str], None]


def job_features(
    job: Job,
    rows: Sequence[Any],
    opts: dict[str, Any],
    cache_dir: Path | None,
    progress: Progress | None = None,
) -> tuple[Any, Any]:
    """Features for every row and the fitted featurizer that made them."""
    if job.task_type == "text-classification":
        if opts.get("features") == "minilm":
            return _minilm_features(job, rows, cache_dir)
        if opts.get("features") == FINETUNE:
            return _minilm_lower_layer_features(job, rows, opts, cache_dir, progress)
        from truthset.learning.models.text import TfidfFeaturizer

        texts = [orjson.loads(r.data).get("source", "") for r in rows]
        tfidf = TfidfFeaturizer()
        return tfidf.fit_transform(texts), tfidf
    item_ids = np.asarray([r.item_id for r in rows], dtype=np.int64)
    # v4: no PCA below 10 images per component (v3 whitened patch features, v2 unwhitened;
    # v1 passed 0-255 floats, which the featurizer clipped to [0, 1]).
    cache = None if cache_dir is None else cache_dir / f"job-{job.id}-image-features-v4.npz"
    fitted = None if cache is None else cache.with_name(f"job-{job.id}-image-featurizer-v4.joblib")
    if cache is not None and fitted is not None and cache.exists() and fitted.exists():
        with np.load(cache) as stored:
            position = {int(i): k for k, i in enumerate(stored["item_ids"])}
            if all(int(i) in position for i in item_ids):
                return (
                    stored["features"][[position[int(i)] for i in item_ids]],
                    joblib.load(fitted),
                )
    # Only now are the items read: on later iterations the cache answers.
    refs = [orjson.loads(r.data)["source-ref"] for r in rows]
    features, featurizer = image_features(refs, progress)
    if cache is not None and fitted is not None:
        # Images do not change under a job and the featurizer is fitted once: computing
        # features for 70,000 images takes minutes, an iteration's training seconds.
        cache.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(featurizer, fitted)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, item_ids=item_ids, features=features)
        tmp.replace(cache)
    return features, featurizer


def _minilm_features(job: Job, rows: Sequence[Any], cache_dir: Path | None) -> tuple[Any, Any]:
    """Sentence embeddings, each item's computed once per job: the model is pretrained and
    fixed, so an item's embedding never changes, and encoding 10,000 sentences takes
    minutes on two cores. Items added to the job later (streaming) are encoded then."""
    from truthset.learning.models.text import MiniLMFeaturizer

    minilm = MiniLMFeaturizer()
    item_ids = np.asarray([r.item_id for r in rows], dtype=np.int64)
    cache = None if cache_dir is None else cache_dir / f"job-{job.id}-minilm-v1.npz"
    known_ids = np.zeros(0, dtype=np.int64)
    known = np.zeros((0, 0), dtype=np.float32)
    if cache is not None and cache.exists():
        with np.load(cache) as stored:
            known_ids, known = stored["item_ids"], stored["features"]
    position = {int(i): k for k, i in enumerate(known_ids)}
    missing = [k for k, i in enumerate(item_ids) if int(i) not in position]
    if missing:
        texts = [orjson.loads(rows[k].data).get("source", "") for k in missing]
        new = minilm.transform(texts).astype(np.float32)
        known_ids = np.r_[known_ids, item_ids[missing]]
        known = new if known.size == 0 else np.vstack([known, new])
        position.update({int(item_ids[k]): len(position) + j for j, k in enumerate(missing)})
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, item_ids=known_ids, features=known)
            tmp.replace(cache)
    return known[[position[int(i)] for i in item_ids]].astype(np.float64), minilm


def _minilm_lower_layer_features(
    job: Job,
    rows: Sequence[Any],
    opts: dict[str, Any],
    cache_dir: Path | None,
    progress: Progress | None = None,
) -> tuple[Any, Any]:
    """MiniLM's frozen lower layers' token vectors for every item, each item's computed
    once per job (as `_minilm_features`): only the upper layers are fine-tuned at each
    iteration, so the lower layers' output never changes, and running them over 10,000
    sentences takes minutes on two cores. Kept as float16, one (tokens, 384) array per
    item: about 20 kB for a 27-token sentence."""
    from truthset.learning.models.finetune import MiniLMLowerLayers

    params = finetune_params(opts)
    lower = MiniLMLowerLayers(
        trainable_layers=params["trainable_layers"], max_seq_length=params["max_seq_length"]
    )
    item_ids = np.asarray([r.item_id for r in rows], dtype=np.int64)
    cache = (
        None
        if cache_dir is None
        else cache_dir
        / (
            f"job-{job.id}-minilm-lower{6 - lower.trainable_layers}"
            f"-len{lower.max_seq_length}-v1.npz"
        )
    )
    known: dict[int, Any] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as stored:
            ids, offsets, tokens = stored["item_ids"], stored["offsets"], stored["tokens"]
        known = {int(i): tokens[offsets[k] : offsets[k + 1]] for k, i in enumerate(ids)}
    missing = [k for k, i in enumerate(item_ids) if int(i) not in known]
    if missing:
        if progress is not None:
            progress(f"running MiniLM's frozen layers over {len(missing):,} texts")
        texts = [orjson.loads(rows[k].data).get("source", "") for k in missing]
        for k, states in zip(missing, lower.transform(texts), strict=True):
            known[int(item_ids[k])] = states
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            ids = np.fromiter(known, dtype=np.int64, count=len(known))
            lengths = np.fromiter((known[int(i)].shape[0] for i in ids), dtype=np.int64)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(
                tmp,
                item_ids=ids,
                offsets=np.r_[0, np.cumsum(lengths)],
                tokens=np.concatenate([known[int(i)] for i in ids]),
            )
            tmp.replace(cache)
    states = np.empty(item_ids.size, dtype=object)
    states[:] = [known[int(i)] for i in item_ids]
    return states, lower


def finetune_params(opts: dict[str, Any]) -> dict[str, Any]:
    """The fine-tuned model's parameters: ``model_params`` over the defaults (checked by
    `settings.check_finetune_settings`)."""
    from truthset.autolabel.settings import FINETUNE_DEFAULTS

    return {**FINETUNE_DEFAULTS, **(opts.get("model_params") or {})}


def load_images(
    refs: list[str], side: int = 0, progress: Progress | None = None
) -> tuple[Any, int]:
    from PIL import Image

    from truthset.media.storage import open_item_media

    images = []
    for k, ref in enumerate(refs):
        if progress is not None and k % 5000 == 0:
            progress(f"reading images: {k:,} of {len(refs):,}")
        with open_item_media(ref) as fh, Image.open(fh) as img:
            # Small images keep their size (28x28 digits or garments); larger ones are
            # brought down to 64x64, which the patch features are tuned for.
            side = side or min(64, max(img.size))
            gray = img.convert("L")
            if gray.size != (side, side):
                gray = gray.resize((side, side))
            # uint8: the featurizer scales 0-255 to [0, 1] itself.
            images.append(np.asarray(gray, dtype=np.uint8))
    return np.stack(images), side


def image_features(refs: list[str], progress: Progress | None = None) -> tuple[Any, Any]:
    from truthset.learning.models.image import RandomPatchFeaturizer

    arr, _side = load_images(refs, progress=progress)
    if progress is not None:
        progress(f"computing image features for {len(refs):,} images")
    # The images are brought to one size already: the featurizer takes them as they are.
    featurizer = RandomPatchFeaturizer(n_filters=128, n_components=200)
    return featurizer.fit(arr).transform(arr).astype(np.float32), featurizer


def model_for(job: Job, opts: dict[str, Any]) -> Any:
    if opts.get("model") is not None:
        config = get_task_type(job.task_type).parse_label_config(job.label_config)
        # Checked again at every iteration: the operator may have closed the module since.
        allowed = allowed_model_modules(object_session(job))
        return user_model(opts, len(config.labels), allowed)
    if job.task_type == "text-classification" and opts.get("features") == FINETUNE:
        from truthset.learning.models.finetune import MiniLMUpperLayersClassifier

        params = finetune_params(opts)
        params.pop("max_seq_length")  # the lower layers' (the features')
        return MiniLMUpperLayersClassifier(**params)
    if job.task_type == "text-classification":
        # Sparse TF-IDF features want less regularisation than dense embeddings (the
        # setting the library's text benchmarks use).
        return LinearClassifier(C=1.0 if opts.get("features") == "minilm" else 4.0)
    # Image features: the one-hidden-layer probe the Fashion-MNIST benchmark uses.
    return MLPProbe()


def model_and_inputs(
    job: Job,
    rows: Sequence[Any],
    opts: dict[str, Any],
    cache_dir: Path | None,
    progress: Progress | None = None,
) -> tuple[Any, Any, Any]:
    """(inputs for every row, the featurizer that made them or None, the model to train).
    An ``http`` model gets the raw items (texts, or images' source-refs); every other
    model the features this job computes (TF-IDF, MiniLM, MiniLM's lower layers for the
    fine-tuned model, image patch features)."""
    model = model_for(job, opts)
    if opts.get("model") == "http":
        return raw_inputs(job, [orjson.loads(r.data) for r in rows]), None, model
    features, featurizer = job_features(job, rows, opts, cache_dir, progress)
    return features, featurizer, model


def raw_inputs(job: Job, datas: Sequence[dict[str, Any]]) -> Any:
    """What a model that takes raw items is sent: texts, or images' source-refs."""
    key = "source" if job.task_type == "text-classification" else "source-ref"
    raw = np.empty(len(datas), dtype=object)
    raw[:] = [d.get(key, "") for d in datas]
    return raw


def model_path(cache_dir: Path, job_id: int) -> Path:
    """Where a job's newest trained model (featurizer and classifier) is kept."""
    return cache_dir / f"job-{job_id}-model.joblib"
