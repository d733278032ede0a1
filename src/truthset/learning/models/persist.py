"""Save and load a trained model with its metadata (to export it, or warm-start a job).

The file is a joblib pickle of ``{"format", "model", "metadata"}``. Loading a pickle runs
code: load only files this installation wrote itself.
"""

from __future__ import annotations

import datetime as dt
import importlib
import platform
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from truthset.learning.models.base import ModelError

FORMAT = "truthset-model/1"
# Models saved before the learning library moved out of `truthset.autolabel` name their
# classes by the old module paths; the pickles still load through these aliases.
_MOVED_MODULES = {
    f"truthset.autolabel.models.{name}": f"truthset.learning.models.{name}"
    for name in ("base", "byo", "detection", "image", "text")
}


def save_model(model: Any, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and ``metadata`` (plus versions, classes and a timestamp) to ``path``."""
    meta = {
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "model_class": f"{type(model).__module__}:{type(model).__qualname__}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    classes = getattr(model, "classes_", None)
    if classes is not None:
        meta["classes"] = np.asarray(classes).tolist()
    meta.update(metadata or {})
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": FORMAT, "model": model, "metadata": meta}, p, compress=3)
    return p


def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Read a file written by :func:`save_model`; returns ``(model, metadata)``."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model file {p} does not exist")
    for old, new in _MOVED_MODULES.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)
    try:
        data = joblib.load(p)
    except Exception as exc:  # joblib raises many kinds on a bad file
        raise ModelError(f"cannot read model file {p}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{p} is not a truthset model file (format {FORMAT})")
    return data["model"], data["metadata"]
