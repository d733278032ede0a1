"""Models for auto-labeling: protocols, built-ins and the registry.

``MODELS`` maps a name to an entry point ``module:attribute``. Built-ins are listed in
``BUILTIN_MODELS`` and loaded through ``importlib.metadata.EntryPoint`` exactly like the
third-party models found in the entry-point group ``truthset.models``; a third-party
package registers one with

    [project.entry-points."truthset.models"]
    my-model = "my_package.models:MyClassifier"

``create_model(name, **params)`` instantiates one.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
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

ENTRY_POINT_GROUP = "truthset.models"

BUILTIN_MODELS: dict[str, str] = {
    "linear": "truthset.learning.models.base:LinearClassifier",
    "mlp": "truthset.learning.models.base:MLPProbe",
    "text-tfidf": "truthset.learning.models.text:TextClassifier",
    "tfidf-features": "truthset.learning.models.text:TfidfFeaturizer",
    "minilm-features": "truthset.learning.models.text:MiniLMFeaturizer",
    "image-random-patch": "truthset.learning.models.image:ImageClassifier",
    "image-random-patch-features": "truthset.learning.models.image:RandomPatchFeaturizer",
    "haar-cascade": "truthset.learning.models.detection:HaarCascadeDetector",
    "http": "truthset.learning.models.byo:HTTPModel",
}


def _builtin_entry_points() -> dict[str, EntryPoint]:
    return {
        name: EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
        for name, value in BUILTIN_MODELS.items()
    }


def model_entry_points() -> dict[str, EntryPoint]:
    """Every model by name: built-ins first, then installed plugins (a plugin cannot
    silently replace a built-in: the built-in wins)."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(_builtin_entry_points())
    return dict(sorted(found.items()))


class _Registry(dict[str, EntryPoint]):
    """``MODELS[name]`` is an EntryPoint; refreshed from the installed packages on access."""

    def refresh(self) -> _Registry:
        self.clear()
        self.update(model_entry_points())
        return self


MODELS = _Registry().refresh()


def create_model(name: str, **params: Any) -> Any:
    """Instantiate the model registered as ``name`` (built-in or plugin) with ``params``.

    ``name`` may also be ``"python:package.module:Class"`` for a class that is not
    registered (bring your own)."""
    if name.startswith("python:"):
        return load_user_model(name.removeprefix("python:"), **params)
    ep = MODELS.get(name) or MODELS.refresh().get(name)
    if ep is None:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    try:
        factory = ep.load()
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
