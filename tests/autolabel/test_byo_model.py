"""Bring your own model to a job: any class with fit/predict_proba, or a model served over
HTTP (a real server here, trained by the loop through its fit endpoint)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from truthset.errors import BadInput

from .test_job_autolabel import _easy_job, iterate, label


def run_until_machine_labels(ws, truth: dict[str, str], rounds: int = 8) -> dict[str, Any]:
    iterate(ws)
    for _ in range(rounds):
        label(ws, 150, truth)
        result = iterate(ws)
        if result.get("auto_labeled"):
            return result
    raise AssertionError(f"no machine labels after {rounds} rounds: {result}")


@pytest.fixture
def ws_with_sklearn(tmp_path, monkeypatch):
    """A workspace whose operator lets jobs name models from scikit-learn's modules."""
    from conftest import make_workspace

    monkeypatch.setenv("TRUTHSET_MODEL_MODULES", "sklearn")
    workspace = make_workspace(tmp_path)
    yield workspace
    workspace.close()


def test_a_python_class_is_trained_on_the_job_features(ws_with_sklearn):
    """scikit-learn's naive Bayes stands in for a user's class: the job names it by import
    path and the loop trains it on the TF-IDF features."""
    ws = ws_with_sklearn
    truth = _easy_job(ws, 1500, 150, model="python:sklearn.naive_bayes:MultinomialNB")
    result = run_until_machine_labels(ws, truth)
    assert result["auto_labeled"] > 0 and result["accuracy_interval"][0] > 0.8
    from truthset.autolabel.features import model_path
    from truthset.learning.models import load_model

    model, _meta = load_model(model_path(ws.settings.data_dir / "autolabel", 1))
    assert type(model.classifier_).__name__ == "MultinomialNB"


class KeywordModelServer:
    """A model service: /fit learns each word's class counts from the labelled texts it is
    sent, /predict answers class probabilities for raw texts."""

    def __init__(self) -> None:
        self.counts: dict[str, np.ndarray] = {}
        self.n_classes = 2
        self.fits = 0
        self.predicted = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path == "/fit":
                    outer.fit(body["items"], body["labels"])
                    out: dict[str, Any] = {"ok": True}
                elif self.path == "/predict":
                    out = {"probabilities": outer.predict(body["items"])}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def auto_label(self) -> dict[str, Any]:
        """A job's auto-labeling settings for this model, trained through its fit URL."""
        return {
            "model": "http",
            "model_params": {"url": f"{self.url}/predict", "fit_url": f"{self.url}/fit"},
        }

    def fit(self, texts: list[str], labels: list[int]) -> None:
        self.fits += 1
        self.counts = {}
        for text, y in zip(texts, labels, strict=True):
            assert isinstance(text, str)  # raw items, not features
            for word in text.split():
                self.counts.setdefault(word, np.ones(self.n_classes))[y] += 1

    def predict(self, texts: list[str]) -> list[list[float]]:
        self.predicted += len(texts)
        out = []
        for text in texts:
            logp = np.zeros(self.n_classes)
            for word in text.split():
                c = self.counts.get(word)
                if c is not None:
                    logp += np.log(c / c.sum())
            p = np.exp(logp - logp.max())
            out.append((p / p.sum()).tolist())
        return out


@pytest.fixture
def model_server() -> Iterator[KeywordModelServer]:
    server = KeywordModelServer()
    yield server
    server.server.shutdown()


def test_a_model_served_over_http_labels_items(ws, model_server):
    truth = _easy_job(ws, 1500, 150, **model_server.auto_label())
    result = run_until_machine_labels(ws, truth)
    assert model_server.fits >= 1 and model_server.predicted > 0
    assert result["auto_labeled"] > 0 and result["accuracy_interval"][0] > 0.8


def test_a_model_served_over_http_warm_starts_another_job(ws, model_server):
    """The job keeps its http model (endpoints and classes, no weights: those live on the
    server); a job that warm-starts from it sends that server its own raw items and gives
    people first the ones it is least sure of."""
    from support import job_over_items
    from truthset.autolabel.features import model_path
    from truthset.jobs.service import get_job
    from truthset.learning.models import load_model

    from .test_job_autolabel import assert_warm_started, easy_items

    truth = _easy_job(ws, 1500, 150, **model_server.auto_label())
    run_until_machine_labels(ws, truth)
    with ws.db.session_scope(write=False) as s:
        auto_id = get_job(s, "auto").id
    saved, meta = load_model(model_path(ws.settings.data_dir / "autolabel", auto_id))
    assert meta["input"] == "raw" and saved.url == f"{model_server.url}/predict"

    more, _ = easy_items(400, seed=11)
    job_over_items(
        ws,
        "warm",
        [{**x, "id": f"n{x['id']}"} for x in more],
        ["sunny", "rainy"],
        dataset="more",
        settings={"auto_label": {"batch_size": 40, "warm_start": "auto"}},
    )
    asked = model_server.predicted
    assert_warm_started(ws, "warm", model_server.predict, 40)
    assert model_server.predicted >= asked + 2 * 400  # the new job's items, raw (and ours)


def test_a_model_that_cannot_be_reached_fails_the_iteration_with_its_url(ws):
    from truthset.jobs.service import get_job
    from truthset.runs.executor import run_pending
    from truthset.runs.service import enqueue, get_run

    truth = _easy_job(ws, 400, 50, model="http", model_params={"url": "http://127.0.0.1:9/predict"})
    iterate(ws)
    label(ws, 150, truth)
    with ws.db.session_scope() as s:
        run_id = enqueue(s, "autolabel", {"job": "auto"}, job_id=get_job(s, "auto").id).id
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        run = get_run(s, run_id)
    assert run.state == "failed" and "http://127.0.0.1:9/predict" in (run.error or "")


@pytest.mark.parametrize(
    ("auto_label", "message"),
    [
        ({"model": "no-such-model"}, "unknown model"),
        ({"model": "python:json:JSONDecoder"}, "not one the server allows"),
        ({"model": "python:sklearn.naive_bayes:MultinomialNB"}, "not one the server allows"),
        ({"model": "linear", "model_params": {"bogus": 1}}, "cannot create"),
        ({"model": "linear", "model_params": [1]}, "must be an object"),
        ({"model": "http", "model_params": {}}, "cannot create"),
        ({"model": "http", "model_params": {"url": "http://x"}, "strategy": "k-center"}, "raw"),
    ],
)
def test_model_settings_are_checked_when_the_job_is_created(ws, setup_factory, auto_label, message):
    setup = setup_factory(ws, n_items=3, n_workers=1)
    with pytest.raises(BadInput, match=message):
        setup.job("j", settings={"auto_label": auto_label})


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("python:sklearn.utils:Bunch", "no fit, predict_proba"),
        ("python:sklearn.not_a_module_anywhere:X", "cannot import"),
    ],
)
def test_an_allowed_module_is_still_checked(ws_with_sklearn, setup_factory, model, message):
    setup = setup_factory(ws_with_sklearn, n_items=3, n_workers=1)
    with pytest.raises(BadInput, match=message):
        setup.job("j", settings={"auto_label": {"model": model}})


def test_a_box_job_takes_no_classifier(ws, setup_factory):
    setup = setup_factory(ws, n_items=3, n_workers=1)
    with pytest.raises(BadInput, match="classification jobs"):
        setup.job(
            "b",
            task_type="bounding-box",
            label_config=["face"],
            settings={"auto_label": {"detector": "face", "model": "linear"}},
        )
