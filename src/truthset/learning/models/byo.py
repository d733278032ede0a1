"""Bring your own model: a Python class named ``module:Class``, or an HTTP endpoint."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truthset.learning.models.base import ModelError

_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def module_allowed(module_name: str, allowed_modules: Sequence[str]) -> bool:
    """Whether a module is one of the allowed prefixes or inside one (`acme.models` allows
    `acme.models` and `acme.models.text`, not `acme.modelsx`)."""
    return any(
        module_name == prefix or module_name.startswith(prefix + ".")
        for prefix in (p.strip().rstrip(".") for p in allowed_modules)
        if prefix
    )


def load_class(spec: str, allowed_modules: Sequence[str] | None = None) -> type:
    """Import ``"package.module:ClassName"`` (dots after the colon reach nested names).

    With ``allowed_modules`` (what the platform always passes: the operator's list of
    module prefixes) a module outside them is refused before anything is imported, since
    importing runs the module's code; None is for library use, where the caller is the
    program's author."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ModelError(f"model spec {spec!r} must look like 'package.module:ClassName'")
    module_name, _, attr_path = spec.partition(":")
    if not _DOTTED_NAME.fullmatch(module_name) or not _DOTTED_NAME.fullmatch(attr_path):
        raise ModelError(f"model spec {spec!r} must look like 'package.module:ClassName'")
    if allowed_modules is not None and not module_allowed(module_name, allowed_modules):
        allowed = ", ".join(allowed_modules) or "none are (TRUTHSET_MODEL_MODULES is not set)"
        raise ModelError(
            f"module {module_name!r} is not one the server allows models from ({allowed}); "
            "name a registered model, or ask the operator to add its package to "
            "TRUTHSET_MODEL_MODULES"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"cannot import module {module_name!r} for model {spec!r}: {exc}") from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    if not isinstance(obj, type):
        raise ModelError(f"{spec!r} is a {type(obj).__name__}, not a class")
    return obj


def load_user_model(
    spec: str,
    *,
    task: str = "classification",
    allowed_modules: Sequence[str] | None = None,
    **params: Any,
) -> Any:
    """Instantiate a user class given as ``module:Class`` with ``params`` and check its shape.

    ``task="classification"`` needs ``fit`` and ``predict_proba``; ``task="detection"``
    needs ``predict`` (returning Ground Truth bounding-box answers). ``allowed_modules``:
    as `load_class`.
    """
    cls = load_class(spec, allowed_modules)
    required = {"classification": ("fit", "predict_proba"), "detection": ("predict",)}
    if task not in required:
        raise ModelError(f"task must be 'classification' or 'detection', got {task!r}")
    missing = [m for m in required[task] if not callable(getattr(cls, m, None))]
    if missing:
        raise ModelError(
            f"{spec} cannot serve {task}: it has no {', '.join(missing)} method"
            f" (needs {', '.join(required[task])})"
        )
    try:
        return cls(**params)
    except TypeError as exc:
        raise ModelError(f"cannot create {spec} with parameters {sorted(params)}: {exc}") from exc


class HTTPModel:
    """A model behind an HTTP endpoint.

    ``predict_proba(items)`` POSTs ``{"items": [...]}`` (JSON; numpy arrays become lists)
    to ``url`` and expects ``{"probabilities": [[...], ...]}`` with one row per item and
    one column per class of ``classes`` (or the response's ``"classes"``). ``fit(X, y)``
    POSTs ``{"items": [...], "labels": [...]}`` to ``fit_url`` when one is set; otherwise
    the model is trained elsewhere and ``fit`` only records the classes. Items are sent in
    batches of ``batch_size``; every request has a ``timeout`` in seconds; failures raise
    ``ModelError`` naming the URL and what went wrong.
    """

    def __init__(
        self,
        url: str,
        *,
        fit_url: str | None = None,
        classes: Sequence[Any] | None = None,
        timeout: float = 30.0,
        batch_size: int = 256,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.fit_url = fit_url
        self.classes = classes
        self.timeout = timeout
        self.batch_size = batch_size
        self.headers = headers

    def _post(self, url: str, payload: dict[str, Any]) -> Any:
        import httpx

        try:
            resp = httpx.post(
                url,
                content=json.dumps(payload, default=_json_default),
                headers={"content-type": "application/json", **(self.headers or {})},
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise ModelError(
                f"model endpoint {url} did not answer within {self.timeout} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot reach model endpoint {url}: {exc}") from exc
        if resp.status_code >= 400:
            raise ModelError(
                f"model endpoint {url} answered HTTP {resp.status_code}: {resp.text[:300]}"
            )
        try:
            return resp.json()
        except ValueError:
            raise ModelError(
                f"model endpoint {url} did not answer JSON: {resp.text[:300]}"
            ) from None

    def fit(self, X: Sequence[Any], y: ArrayLike) -> HTTPModel:
        yy = np.asarray(y)
        if self.fit_url:
            self._post(self.fit_url, {"items": list(X), "labels": yy.tolist()})
        self.classes_ = np.asarray(self.classes) if self.classes is not None else np.unique(yy)
        return self

    def predict_proba(self, X: Sequence[Any]) -> NDArray[np.float64]:
        items = list(X)
        rows: list[Any] = []
        for s in range(0, len(items), self.batch_size):
            batch = items[s : s + self.batch_size]
            data = self._post(self.url, {"items": batch})
            if not isinstance(data, dict) or "probabilities" not in data:
                raise ModelError(f"model endpoint {self.url} answer has no 'probabilities' key")
            probs = data["probabilities"]
            if not isinstance(probs, list) or len(probs) != len(batch):
                got = len(probs) if isinstance(probs, list) else type(probs).__name__
                raise ModelError(
                    f"model endpoint {self.url} returned {got} rows of probabilities "
                    f"for {len(batch)} items"
                )
            if "classes" in data and not hasattr(self, "classes_"):
                self.classes_ = np.asarray(data["classes"])
            rows.extend(probs)
        if not hasattr(self, "classes_") and self.classes is not None:
            self.classes_ = np.asarray(self.classes)
        try:
            out = np.asarray(rows, dtype=float).reshape(len(items), -1)
        except ValueError:
            raise ModelError(f"model endpoint {self.url} returned ragged probabilities") from None
        if hasattr(self, "classes_") and out.shape[1] != len(self.classes_):
            raise ModelError(
                f"model endpoint {self.url} returned {out.shape[1]} columns for "
                f"{len(self.classes_)} classes"
            )
        return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send {type(obj).__name__} as JSON")
