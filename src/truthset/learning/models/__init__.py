"""Models for auto-labeling: protocols, built-ins and the registry.

``MODELS`` is the registry (`truthset.registry.Registry`) of model classes by name.
Built-ins are listed in ``BUILTIN_MODELS`` as entry points ``module:attribute`` and loaded
exactly like the third-party models found in the entry-point group ``truthset.models``; a
third-party package registers one with

    [project.entry-points."truthset.models"]
    my-model = "my_package.models:MyClassifier"

``create_model(name, **params)`` instantiates one.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint
from typing import Any

from truthset.learning.models.base import (
    Classifier,
    Detector,
    FeaturizedClassifier,
    Featurizer,
    LinearClassifier,
    MLPProbe,
    ModelError,
    expand_proba,
)
from truthset.learning.models.byo import HTTPModel, load_class, load_user_model
from truthset.learning.models.persist import load_model, save_model
from truthset.registry import Registry

ENTRY_POINT_GROUP = "truthset.models"

BUILTIN_MODELS: dict[str, str] = {
    "linear": "truthset.learning.models.base:LinearClassifier",
    "mlp": "truthset.learning.models.base:MLPProbe",
    "text-tfidf": "truthset.learning.models.text:TextClassifier",
    "tfidf-features": "truthset.learning.models.text:TfidfFeaturizer",
    "minilm-features": "truthset.learning.models.text:MiniLMFeaturizer",
    "text-minilm-finetune": "truthset.learning.models.finetune:FineTunedTextClassifier",
    "image-random-patch": "truthset.learning.models.image:ImageClassifier",
    "image-random-patch-features": "truthset.learning.models.image:RandomPatchFeaturizer",
    "haar-cascade": "truthset.learning.models.detection:HaarCascadeDetector",
    "http": "truthset.learning.models.byo:HTTPModel",
}


def _as_factory(name: str, obj: Any) -> Any:
    if not callable(obj):
        raise TypeError(f"model entry point {name!r} is not a class or factory")
    return obj


# Model classes (or factories) by name.
MODELS: Registry[Any] = Registry("model", ENTRY_POINT_GROUP, BUILTIN_MODELS, check=_as_factory)


def model_entry_points() -> dict[str, EntryPoint]:
    """Every model by name: built-ins first, then installed plugins (a plugin cannot
    silently replace a built-in: the built-in wins)."""
    return MODELS.entry_points()


def create_model(name: str, *, allowed_modules: Sequence[str] | None = None, **params: Any) -> Any:
    """Instantiate the model registered as ``name`` (built-in or plugin) with ``params``.

    ``name`` may also be ``"python:package.module:Class"`` for a class that is not
    registered (bring your own), from a module inside ``allowed_modules`` when given
    (checked before the module is imported; see `byo.load_class`)."""
    if name.startswith("python:"):
        return load_user_model(
            name.removeprefix("python:"), allowed_modules=allowed_modules, **params
        )
    ep = model_entry_points().get(name)
    if ep is None:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(MODELS.names())}")
    try:
        factory = MODELS.get(name)
    except Exception as exc:
        raise ModelError(f"cannot load model {name!r} ({ep.value}): {exc}") from exc
    try:
        return factory(**params)
    except TypeError as exc:
        raise ModelError(f"cannot create model {name!r} with {sorted(params)}: {exc}") from exc


__all__ = [
    "BUILTIN_MODELS",
    "ENTRY_POINT_GROUP",
    "MODELS",
    "Classifier",
    "Detector",
    "FeaturizedClassifier",
    "Featurizer",
    "HTTPModel",
    "LinearClassifier",
    "MLPProbe",
    "ModelError",
    "create_model",
    "expand_proba",
    "load_class",
    "load_model",
    "load_user_model",
    "model_entry_points",
    "save_model",
]
