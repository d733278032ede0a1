"""Model protocols and the linear classifier the built-ins share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits


class ModelError(RuntimeError):
    """A model could not be loaded, trained or queried; the message says why and where."""


@runtime_checkable
class Classifier(Protocol):
    """What the auto-labeling loop needs from a classifier (scikit-learn's shape)."""

    classes_: NDArray[Any]

    def fit(self, X: Any, y: ArrayLike) -> Classifier: ...

    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...


@runtime_checkable
class Featurizer(Protocol):
    """Turns raw items (texts, images, paths) into a numeric matrix."""

    def transform(self, items: Sequence[Any]) -> NDArray[np.float64]: ...


@runtime_checkable
class Detector(Protocol):
    """Pre-labeling for boxes: one Ground Truth bounding-box answer per image."""

    def predict(self, images: Sequence[Any]) -> list[dict[str, Any]]: ...


def expand_proba(proba: ArrayLike, classes: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    """Put a model's probability columns (for ``classes``) into K columns in class-id order."""
    p = np.asarray(proba, dtype=float)
    cls = np.asarray(classes, dtype=np.intp)
    out = np.zeros((p.shape[0], n_classes))
    out[:, cls] = p
    return out


class LinearClassifier:
    """Multinomial logistic regression, optionally recalibrated (sigmoid / isotonic).

    Works on dense or sparse feature matrices. With one class in the training labels it
    predicts that class with probability 1 (so an early iteration never crashes).
    ``blas_threads`` caps BLAS/OpenMP threads during fit and predict: these problems are
    small, and on small machines threaded BLAS made a 15,000 x 200 fit 20x slower.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        max_iter: int = 200,
        tol: float = 1e-3,
        calibration: Literal["sigmoid", "isotonic"] | None = None,
        calibration_folds: int = 3,
        class_weight: str | None = None,
        random_state: int | None = 0,
        blas_threads: int | None = 1,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.class_weight = class_weight
        self.random_state = random_state
        self.blas_threads = blas_threads

    def fit(self, X: Any, y: ArrayLike) -> LinearClassifier:
        with threadpool_limits(self.blas_threads):
            return self._fit(X, y)

    def _fit(self, X: Any, y: ArrayLike) -> LinearClassifier:
        yy = np.asarray(y)
        if yy.size == 0:
            raise ModelError("cannot fit on an empty training set")
        self.classes_ = np.unique(yy)
        if self.classes_.size == 1:
            self.model_ = None
            return self
        base = LogisticRegression(
            C=self.C,
            max_iter=self.max_iter,
            tol=self.tol,
            class_weight=self.class_weight,
            random_state=self.random_state,
        )
        min_count = int(np.bincount(np.unique(yy, return_inverse=True)[1]).min())
        if self.calibration and min_count >= self.calibration_folds:
            self.model_ = CalibratedClassifierCV(
                base, method=self.calibration, cv=self.calibration_folds
            ).fit(X, yy)
        else:
            self.model_ = base.fit(X, yy)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        if self.model_ is None:
            return np.ones((X.shape[0], 1))
        with threadpool_limits(self.blas_threads):
            return np.asarray(self.model_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class MLPProbe:
    """A one-hidden-layer network on fixed features (scikit-learn's MLPClassifier with
    early stopping): a few points more accurate than ``LinearClassifier`` on image
    features, still seconds to train on CPU."""

    def __init__(
        self,
        *,
        hidden: int = 256,
        alpha: float = 1e-3,
        max_iter: int = 60,
        random_state: int | None = 0,
        blas_threads: int | None = 1,
    ) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state
        self.blas_threads = blas_threads

    def fit(self, X: Any, y: ArrayLike) -> MLPProbe:
        from sklearn.neural_network import MLPClassifier

        yy = np.asarray(y)
        if yy.size == 0:
            raise ModelError("cannot fit on an empty training set")
        self.classes_ = np.unique(yy)
        if self.classes_.size == 1:
            self.model_ = None
            return self
        counts = np.bincount(np.unique(yy, return_inverse=True)[1])
        early = yy.size >= 200 and counts.min() >= 2
        self.model_ = MLPClassifier(
            (self.hidden,),
            alpha=self.alpha,
            max_iter=self.max_iter,
            early_stopping=early,
            random_state=self.random_state,
        )
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with threadpool_limits(self.blas_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X, yy)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        if self.model_ is None:
            return np.ones((X.shape[0], 1))
        with threadpool_limits(self.blas_threads):
            return np.asarray(self.model_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class FeaturizedClassifier:
    """A featurizer followed by a classifier: ``fit(items, y)`` / ``predict_proba(items)``.

    The featurizer is fitted (when it has ``fit``) on the training items; for the loop,
    prefer computing features once for all items and training ``LinearClassifier`` on them.
    """

    def __init__(self, featurizer: Featurizer, classifier: Classifier | None = None) -> None:
        self.featurizer = featurizer
        self.classifier = classifier

    @classmethod
    def from_fitted(cls, featurizer: Featurizer, classifier: Any) -> FeaturizedClassifier:
        """Join a featurizer and a classifier that are both fitted already (the loop fits
        them apart: features once for all items, the classifier every iteration)."""
        model = cls(featurizer, classifier)
        model.classifier_ = classifier
        model.classes_ = classifier.classes_
        return model

    def fit(self, X: Sequence[Any], y: ArrayLike) -> FeaturizedClassifier:
        fit = getattr(self.featurizer, "fit", None)
        if callable(fit):
            fit(X)
        self.classifier_ = self.classifier if self.classifier is not None else LinearClassifier()
        self.classifier_.fit(self.featurizer.transform(X), y)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Sequence[Any]) -> NDArray[np.float64]:
        return self.classifier_.predict_proba(self.featurizer.transform(X))

    def predict(self, X: Sequence[Any]) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
