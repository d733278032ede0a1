"""Your own ONNX model, run with onnxruntime: boxes, classes and prompted masks.

A user brings a model file and a small configuration instead of code:

* ``inputs``: how an image becomes the model's input tensor — ``size`` ([width, height];
  read from the model when its input shape is fixed), ``resize`` (``letterbox``: scaled
  to fit and padded on both sides, as YOLO's exports expect; ``longest-side``: scaled to
  fit and padded right and bottom, as Segment-Anything's encoder expects; ``stretch``),
  ``scale`` (pixels are multiplied by it first: 1/255 by default), ``mean`` / ``std``
  (per channel, after ``scale``), ``channels`` (``RGB`` or ``BGR``), ``layout`` (``NCHW``
  or ``NHWC``), ``dtype`` (``float32``, ``float16`` or ``uint8``; default: the type the
  model declares), ``pad_value``;
* ``outputs``: which output tensors hold what (by name), and how to read them;
* ``labels``: the model's class indices to the job's label names (``{"0": "car"}`` or a
  list); a class that is not mapped is dropped and counted.

Decoders (all numpy, vectorised over boxes):

* `OnnxBoxDetector`, YOLO-style (one ``N x (4 + classes)`` or ``N x (4 + 1 + classes)``
  tensor of centre x, centre y, width, height, with the objectness column optional; the
  transposed ``(4 + classes) x N`` of newer exports too) or SSD-style (separate boxes,
  scores and classes tensors; ``xyxy``, ``yxyx``, ``xywh`` or ``cxcywh``; pixel or
  normalised coordinates), a score threshold and per-class non-maximum suppression;
* `OnnxClassifier`: logits or probabilities (softmax applied when the outputs are not
  already probabilities, or sigmoid for multi-label);
* `OnnxPromptSegmenter`: Segment-Anything's split — an image encoder run once per image,
  and a prompt decoder taking ``image_embeddings``, ``point_coords`` and ``point_labels``
  (1 positive, 0 negative, 2 and 3 a box's corners, -1 padding) and, when it declares
  them, ``mask_input``, ``has_mask_input`` and ``orig_im_size``; its mask logits become a
  binary mask at the image's size.

onnxruntime is imported when a model is loaded, so importing this module costs nothing.
Images are RGB ``uint8`` arrays (``H x W x 3``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truthset.learning.models.base import ModelError

# The largest model file read (a Segment-Anything ViT-B encoder is ~350 MB).
MAX_MODEL_BYTES = 1024 * 1024 * 1024
KINDS = ("yolo", "ssd", "classify", "sam")
RESIZE_MODES = ("letterbox", "longest-side", "stretch")
BOX_FORMATS = ("xyxy", "yxyx", "xywh", "cxcywh")
ACTIVATIONS = ("auto", "softmax", "sigmoid", "none")
# Boxes kept for non-maximum suppression, best first: its IoU matrix is this squared.
PRE_NMS_TOP_K = 3000
# Segment-Anything's encoder normalisation, on 0-255 pixels.
SAM_MEAN = (123.675, 116.28, 103.53)
SAM_STD = (58.395, 57.12, 57.375)


def _fail(field: str, message: str) -> ModelError:
    """An error whose message starts with the configuration field it is about."""
    return ModelError(f"{field}: {message}")


# --- loading -------------------------------------------------------------------------


def load_session(data: bytes, field: str = "path") -> Any:
    """An onnxruntime session (CPU) over a model file's bytes; a file that is not an ONNX
    model, or one onnxruntime cannot run, is refused naming ``field``."""
    if len(data) > MAX_MODEL_BYTES:
        raise _fail(field, f"the model is larger than {MAX_MODEL_BYTES:,} bytes")
    if not data:
        raise _fail(field, "the model file is empty")
    try:
        import onnxruntime as ort
    except ImportError as exc:  # a main dependency: only a broken install gets here
        raise _fail(field, f"onnxruntime is not installed ({exc})") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own classes for bad files
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise _fail(field, f"not an ONNX model onnxruntime can run ({reason})") from None


def output_names(session: Any) -> list[str]:
    return [o.name for o in session.get_outputs()]


def _check_output(session: Any, name: Any, field: str) -> str:
    names = output_names(session)
    if not isinstance(name, str) or name not in names:
        raise _fail(field, f"the model has no output {name!r} (its outputs: {', '.join(names)})")
    return name


def _run(session: Any, feeds: dict[str, NDArray[Any]], names: list[str]) -> list[NDArray[Any]]:
    try:
        return [np.asarray(v) for v in session.run(names, feeds)]
    except Exception as exc:  # noqa: BLE001 - a shape or type the graph refuses
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"the model failed on its input ({reason})") from None


# --- input preprocessing ---------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """How an image becomes the model's input (see the module docstring)."""

    name: str
    width: int
    height: int
    resize: str = "stretch"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channels: str = "RGB"
    layout: str = "NCHW"
    dtype: str = "float32"
    pad_value: float = 114.0


# onnxruntime's input element types -> the `inputs.dtype` they take.
_INPUT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8"}
_INPUT_KEYS = (
    "name",
    "size",
    "resize",
    "scale",
    "mean",
    "std",
    "channels",
    "layout",
    "dtype",
    "pad_value",
)


def _triple(value: Any, field: str) -> tuple[float, float, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        return (v, v, v)
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(field, f"must be a number or three numbers (R, G, B), got {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))


def input_spec(
    session: Any, raw: Any, *, defaults: Mapping[str, Any] | None = None, field: str = "inputs"
) -> InputSpec:
    """The ``inputs`` block read against the model's own input: its name, rank and size."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _fail(field, f"must be an object, got {raw!r}")
    unknown = sorted(set(raw) - set(_INPUT_KEYS))
    if unknown:
        raise _fail(field, f"unknown key(s) {unknown} (known: {', '.join(_INPUT_KEYS)})")
    opts = {**(defaults or {}), **raw}
    inputs = session.get_inputs()
    names = [i.name for i in inputs]
    name = opts.get("name") or names[0]
    if name not in names:
        raise _fail(f"{field}.name", f"the model has no input {name!r} (its inputs: {names})")
    model_input = inputs[names.index(name)]
    shape = list(model_input.shape)
    if len(shape) != 4:
        raise _fail(
            field,
            f"the model's input {name!r} has shape {shape}; an image model takes a 4-d "
            "tensor (batch, channels, height, width or batch, height, width, channels)",
        )
    layout = opts.get("layout", "NCHW")
    if layout not in ("NCHW", "NHWC"):
        raise _fail(f"{field}.layout", f"must be NCHW or NHWC, got {layout!r}")
    c_dim, h_dim, w_dim = (1, 2, 3) if layout == "NCHW" else (3, 1, 2)
    if isinstance(shape[c_dim], int) and shape[c_dim] != 3:
        raise _fail(
            field,
            f"the model's input {name!r} has shape {shape}: {shape[c_dim]} channels where "
            f"{layout} puts the 3 colour channels (set inputs.layout?)",
        )
    size = opts.get("size")
    fixed_h, fixed_w = shape[h_dim], shape[w_dim]
    if size is None:
        if not (isinstance(fixed_w, int) and isinstance(fixed_h, int)):
            raise _fail(
                f"{field}.size",
                f"the model's input {name!r} has no fixed size ({shape}): give [width, height]",
            )
        width, height = fixed_w, fixed_h
    else:
        if isinstance(size, int) and not isinstance(size, bool):
            size = [size, size]
        if (
            not isinstance(size, list | tuple)
            or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
        ):
            raise _fail(f"{field}.size", f"must be [width, height] in pixels, got {size!r}")
        width, height = int(size[0]), int(size[1])
        if (isinstance(fixed_w, int) and fixed_w != width) or (
            isinstance(fixed_h, int) and fixed_h != height
        ):
            raise _fail(
                f"{field}.size",
                f"[{width}, {height}] is not the model's input size {fixed_w} x {fixed_h} "
                f"(input {name!r}, shape {shape})",
            )
    resize = opts.get("resize", "stretch")
    if resize not in RESIZE_MODES:
        raise _fail(f"{field}.resize", f"must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    channels = opts.get("channels", "RGB")
    if channels not in ("RGB", "BGR"):
        raise _fail(f"{field}.channels", f"must be RGB or BGR, got {channels!r}")
    # The element type the model declares (a half-precision export takes float16).
    declared = _INPUT_TYPES.get(str(getattr(model_input, "type", "")), "float32")
    dtype = opts.get("dtype", declared)
    if dtype not in _INPUT_TYPES.values():
        raise _fail(
            f"{field}.dtype", f"must be one of {', '.join(_INPUT_TYPES.values())}, got {dtype!r}"
        )
    scale = opts.get("scale", 1.0 / 255.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
        raise _fail(f"{field}.scale", f"must be a positive number, got {scale!r}")
    std = _triple(opts.get("std", 1.0), f"{field}.std")
    if min(std) <= 0:
        raise _fail(f"{field}.std", f"must be positive, got {list(std)}")
    pad = opts.get("pad_value", 114.0)
    if isinstance(pad, bool) or not isinstance(pad, int | float) or not 0 <= pad <= 255:
        raise _fail(f"{field}.pad_value", f"must be a pixel value 0-255, got {pad!r}")
    return InputSpec(
        name=name,
        width=width,
        height=height,
        resize=resize,
        scale=float(scale),
        mean=_triple(opts.get("mean", 0.0), f"{field}.mean"),
        std=std,
        channels=channels,
        layout=layout,
        dtype=dtype,
        pad_value=float(pad),
    )


@dataclass(frozen=True)
class Transform:
    """Where the image landed in the model's input: ``input = image * scale + pad``."""

    image_width: int
    image_height: int
    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float

    def to_input(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """(x, y) image pixels to model-input pixels."""
        out = np.asarray(xy, dtype=np.float64).copy()
        out[..., 0] = out[..., 0] * self.scale_x + self.pad_x
        out[..., 1] = out[..., 1] * self.scale_y + self.pad_y
        return out

    def boxes_to_image(self, xyxy: NDArray[np.float64]) -> NDArray[np.float64]:
        """x0, y0, x1, y1 rows in model-input pixels to image pixels, clipped to the image."""
        out = np.asarray(xyxy, dtype=np.float64).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale_y
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, self.image_width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, self.image_height)
        return out


def _as_rgb(image: Any) -> NDArray[np.uint8]:
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image must be H x W x 3 (RGB); got shape {arr.shape}")
    return np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8)


def preprocess(image: Any, spec: InputSpec) -> tuple[NDArray[Any], Transform]:
    """The model's input tensor (batch of one) for an RGB image, and where it landed."""
    import cv2

    rgb = _as_rgb(image)
    h, w = rgb.shape[:2]
    if spec.resize == "stretch":
        sx, sy = spec.width / w, spec.height / h
        new_w, new_h = spec.width, spec.height
    else:
        s = min(spec.width / w, spec.height / h)
        sx = sy = s
        new_w, new_h = max(1, round(w * s)), max(1, round(h * s))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if spec.resize == "letterbox":
        pad_x, pad_y = (spec.width - new_w) // 2, (spec.height - new_h) // 2
    else:
        pad_x = pad_y = 0
    canvas = resized
    if (new_w, new_h) != (spec.width, spec.height):
        canvas = np.full((spec.height, spec.width, 3), spec.pad_value, dtype=np.uint8)
        canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    if spec.channels == "BGR":
        canvas = canvas[:, :, ::-1]
    # The layout is set on the bytes, before they become four times larger as floats.
    planes = canvas.transpose(2, 0, 1) if spec.layout == "NCHW" else canvas
    tensor: NDArray[Any] = np.ascontiguousarray(planes)
    if spec.dtype != "uint8":
        mean = np.asarray(spec.mean, dtype=np.float32)
        std = np.asarray(spec.std, dtype=np.float32)
        if spec.channels == "BGR":  # mean and std are given in R, G, B order
            mean, std = mean[::-1], std[::-1]
        if spec.layout == "NCHW":
            mean, std = mean[:, None, None], std[:, None, None]
        # (pixel * scale - mean) / std as one multiply and one subtract, in place.
        tensor = tensor.astype(np.float32)
        tensor *= np.float32(spec.scale) / std
        tensor -= mean / std
        if spec.dtype == "float16":
            tensor = tensor.astype(np.float16)
    transform = Transform(w, h, sx, sy, float(pad_x), float(pad_y))
    return tensor[None], transform


# --- class names ------------------------------------------------------------------------


def label_map(raw: Any, default: Sequence[str], field: str = "labels") -> dict[int, str]:
    """Model class index -> job label: ``{"0": "car"}``, a list (index = position), or the
    job's labels in their order when ``raw`` is None (as Ground Truth's class ids)."""
    if raw is None:
        return dict(enumerate(default))
    if isinstance(raw, list):
        if not all(isinstance(v, str) or v is None for v in raw):
            raise _fail(field, "a list of labels holds label names (or null to drop a class)")
        return {i: v for i, v in enumerate(raw) if v is not None}
    if not isinstance(raw, Mapping):
        raise _fail(field, f"must be an object of class index -> label, or a list; got {raw!r}")
    out: dict[int, str] = {}
    for key, value in raw.items():
        if not str(key).isdigit():
            raise _fail(f"{field}.{key}", "a key is the model's class index (0, 1, ...)")
        if not isinstance(value, str):
            raise _fail(f"{field}.{key}", f"must be a label name, got {value!r}")
        out[int(key)] = value
    return out


def _count_dropped(classes: NDArray[np.int64], names: Mapping[int, str]) -> dict[str, int]:
    dropped: dict[str, int] = {}
    for c in classes.tolist():
        if c not in names:
            dropped[str(c)] = dropped.get(str(c), 0) + 1
    return dropped


# --- boxes ------------------------------------------------------------------------------


def box_iou(a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Pairwise IoU of x0, y0, x1, y1 rows: ``len(a) x len(b)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=2)
    area_a = np.prod((a[:, 2:] - a[:, :2]).clip(0), axis=1)
    area_b = np.prod((b[:, 2:] - b[:, :2]).clip(0), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(
    boxes: NDArray[np.floating[Any]],
    scores: NDArray[np.floating[Any]],
    iou_threshold: float,
    classes: NDArray[np.integer[Any]] | None = None,
) -> NDArray[np.int64]:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first.

    With ``classes``, only boxes of one class suppress each other (the boxes are moved
    apart by class, so one pass serves every class). Each kept box computes its IoU with
    the boxes still standing in one vector operation and removes those over the
    threshold: the work shrinks as boxes go, and no N x N matrix is built (at 3,000 boxes
    that matrix alone took seconds on the 2-core machine)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")[:PRE_NMS_TOP_K]
    ranked = boxes[order]
    if classes is not None:
        span = float(np.abs(ranked).max()) + 1.0
        ranked = (
            ranked + (np.asarray(classes).ravel()[order].astype(np.float64) * 2 * span)[:, None]
        )
    x0, y0, x1, y1 = (np.ascontiguousarray(ranked[:, k]) for k in range(4))
    area = (x1 - x0).clip(0) * (y1 - y0).clip(0)
    standing = np.arange(len(order))
    keep = []
    while len(standing):
        i, rest = standing[0], standing[1:]
        keep.append(i)
        w = (np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest])).clip(0)
        h = (np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest])).clip(0)
        inter = w * h
        union = area[i] + area[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        standing = rest[iou <= iou_threshold]
    return order[np.asarray(keep, dtype=np.int64)]


def _to_xyxy(boxes: NDArray[np.float64], box_format: str) -> NDArray[np.float64]:
    b = np.asarray(boxes, dtype=np.float64)
    if box_format == "xyxy":
        return b
    if box_format == "yxyx":
        return b[:, [1, 0, 3, 2]]
    if box_format == "xywh":
        return np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]])
    half = b[:, 2:] / 2  # cxcywh
    return np.column_stack([b[:, :2] - half, b[:, :2] + half])


_YOLO_KEYS = ("name", "objectness", "transposed", "normalized")
_SSD_KEYS = ("boxes", "scores", "classes", "box_format", "normalized")


def _flag(raw: Mapping[str, Any], key: str, field: str, default: Any) -> Any:
    value = raw.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise _fail(f"{field}.{key}", f"must be true or false, got {value!r}")
    return value


def _check_keys(raw: Any, known: Sequence[str], field: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(field, f"must be an object, got {raw!r}")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise _fail(field, f"unknown key(s) {unknown} (known: {', '.join(known)})")
    return raw


def _positive_share(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(field, f"must be a number in [0, 1], got {value!r}")
    return float(value)


class OnnxBoxDetector:
    """Boxes from a YOLO-style or SSD-style ONNX detector.

    ``model``: the model file's bytes. ``kind``: ``"yolo"`` or ``"ssd"``. ``outputs``:
    for YOLO ``{"name", "objectness", "transposed", "normalized"}`` (the output tensor,
    default the first; whether a column of objectness follows the 4 coordinates, default
    false; whether the tensor is ``(4 + classes) x N``, default: when it has fewer rows
    than columns; whether coordinates are shares of the input size); for SSD ``{"boxes",
    "scores", "classes", "box_format", "normalized"}`` (``classes`` omitted: ``scores`` is
    N x classes and each box takes its best). ``labels``: see `label_map`; ``classes`` are
    the job's labels, the default mapping. Boxes scoring under ``score_threshold`` are
    dropped, then boxes of one class overlapping a better one by more than
    ``iou_threshold`` (IoU).
    """

    def __init__(
        self,
        model: bytes,
        *,
        kind: str = "yolo",
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        labels: Any = None,
        classes: Sequence[str] = (),
        score_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_boxes: int = 300,
    ):
        self.model = model
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.labels = labels
        self.classes = classes
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_boxes = max_boxes

    def fit(self) -> OnnxBoxDetector:
        """Load the model and check the configuration against it (nothing is trained)."""
        if self.kind not in ("yolo", "ssd"):
            raise _fail("kind", f"a box detector is yolo or ssd, not {self.kind!r}")
        self.score_threshold_ = _positive_share(self.score_threshold, "score_threshold")
        self.iou_threshold_ = _positive_share(self.iou_threshold, "iou_threshold")
        self.session_ = load_session(self.model)
        defaults = {"resize": "letterbox"} if self.kind == "yolo" else {}
        self.input_ = input_spec(self.session_, self.inputs, defaults=defaults)
        self.names_ = label_map(self.labels, self.classes)
        names = output_names(self.session_)
        if self.kind == "yolo":
            raw = _check_keys(self.outputs, _YOLO_KEYS, "outputs")
            self.output_names_ = [
                _check_output(self.session_, raw.get("name", names[0]), "outputs.name")
            ]
            self.objectness_ = bool(_flag(raw, "objectness", "outputs", False))
            self.transposed_ = _flag(raw, "transposed", "outputs", None)
            self.normalized_ = bool(_flag(raw, "normalized", "outputs", False))
        else:
            raw = _check_keys(self.outputs, _SSD_KEYS, "outputs")
            wanted = [("boxes", raw.get("boxes", "boxes")), ("scores", raw.get("scores", "scores"))]
            if raw.get("classes") is not None:
                wanted.append(("classes", raw["classes"]))
            self.output_names_ = [
                _check_output(self.session_, name, f"outputs.{key}") for key, name in wanted
            ]
            fmt = raw.get("box_format", "xyxy")
            if fmt not in BOX_FORMATS:
                raise _fail(
                    "outputs.box_format", f"must be one of {', '.join(BOX_FORMATS)}, got {fmt!r}"
                )
            self.box_format_ = fmt
            self.normalized_ = bool(_flag(raw, "normalized", "outputs", False))
        return self

    def _raw_boxes(
        self, outs: list[NDArray[Any]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
        """Boxes (x0, y0, x1, y1 in input pixels), scores and class indices, unfiltered."""
        w, h = self.input_.width, self.input_.height
        if self.kind == "yolo":
            pred = np.asarray(outs[0], dtype=np.float64)
            pred = pred[0] if pred.ndim == 3 else pred
            if pred.ndim != 2:
                raise ModelError(
                    f"outputs.name: the model's output has shape {outs[0].shape}; YOLO-style "
                    "output is N x (4 + classes) (or a batch of one of it)"
                )
            transposed = self.transposed_
            if transposed is None:
                transposed = pred.shape[0] < pred.shape[1]
            if transposed:  # a contiguous copy: the reductions below run along rows
                pred = np.ascontiguousarray(pred.T)
            first = 5 if self.objectness_ else 4
            if pred.shape[1] <= first:
                raise ModelError(
                    f"outputs.name: rows of {pred.shape[1]} values leave no class scores after "
                    f"{first} (set outputs.objectness / outputs.transposed?)"
                )
            class_scores = pred[:, first:]
            classes = class_scores.argmax(axis=1)
            scores = class_scores[np.arange(len(pred)), classes]
            if self.objectness_:
                scores = scores * pred[:, 4]
            coords = pred[:, :4].copy()
            if self.normalized_:
                coords *= np.array([w, h, w, h], dtype=np.float64)
            return _to_xyxy(coords, "cxcywh"), scores, classes.astype(np.int64)
        boxes = np.asarray(outs[0], dtype=np.float64)
        if boxes.shape[-1] != 4:
            raise ModelError(f"outputs.boxes: shape {outs[0].shape} does not end in 4 coordinates")
        boxes = boxes.reshape(-1, 4)
        scores = np.asarray(outs[1], dtype=np.float64)
        if len(outs) > 2:
            scores = scores.reshape(-1)
            classes = np.asarray(outs[2]).reshape(-1).astype(np.int64)
        else:
            scores = scores.reshape(len(boxes), -1) if scores.size else scores.reshape(0, 1)
            classes = scores.argmax(axis=1).astype(np.int64)
            scores = scores[np.arange(len(scores)), classes]
        if not (len(scores) == len(boxes) == len(classes)):
            raise ModelError(
                f"outputs: {len(boxes)} boxes but {len(scores)} scores and {len(classes)} classes"
            )
        if self.normalized_:
            boxes = boxes * np.array([w, h, w, h], dtype=np.float64)
        return _to_xyxy(boxes, self.box_format_), scores, classes

    def predict_one(self, image: Any) -> dict[str, Any]:
        """One image's boxes in the bounding-box answer shape (``boundingBoxes``,
        ``inputImageProperties``), with ``confidences`` (one per box) and ``dropped``
        (class index -> boxes of a class the labels do not map)."""
        tensor, transform = preprocess(image, self.input_)
        outs = _run(self.session_, {self.input_.name: tensor}, self.output_names_)
        boxes, scores, classes = self._raw_boxes(outs)
        good = np.isfinite(scores) & (scores >= self.score_threshold_)
        boxes, scores, classes = boxes[good], scores[good], classes[good]
        boxes = transform.boxes_to_image(boxes)
        # Boxes that lie on the padding alone have no area in the image.
        real = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
        boxes, scores, classes = boxes[real], scores[real], classes[real]
        keep = nms(boxes, scores, self.iou_threshold_, classes)[: self.max_boxes]
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        dropped = _count_dropped(classes, self.names_)
        out_boxes = []
        confidences = []
        for (x0, y0, x1, y1), score, c in zip(boxes, scores, classes.tolist(), strict=True):
            if c not in self.names_:
                continue
            left, top = int(round(x0)), int(round(y0))
            out_boxes.append(
                {
                    "label": self.names_[c],
                    "left": left,
                    "top": top,
                    "width": max(1, int(round(x1)) - left),
                    "height": max(1, int(round(y1)) - top),
                }
            )
            confidences.append(round(float(score), 6))
        return {
            "boundingBoxes": out_boxes,
            "inputImageProperties": {
                "width": transform.image_width,
                "height": transform.image_height,
            },
            "confidences": confidences,
            "dropped": dropped,
        }


# --- classification ------------------------------------------------------------------------


def _softmax(x: NDArray[np.float64]) -> NDArray[np.float64]:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


class OnnxClassifier:
    """Class probabilities from an image classifier's logits or probabilities.

    ``outputs``: ``{"name", "activation"}`` — the output (default the first), and
    ``softmax``, ``sigmoid`` (multi-label: each class on its own), ``none`` (already
    probabilities), or ``auto`` (softmax unless each row already is a distribution).
    ``labels`` / ``classes``: as `OnnxBoxDetector`."""

    def __init__(
        self,
        model: bytes,
        *,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        labels: Any = None,
        classes: Sequence[str] = (),
    ):
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        self.labels = labels
        self.classes = classes

    def fit(self) -> OnnxClassifier:
        self.session_ = load_session(self.model)
        self.input_ = input_spec(self.session_, self.inputs)
        raw = _check_keys(self.outputs, ("name", "activation"), "outputs")
        first = output_names(self.session_)[0]
        self.output_name_ = _check_output(self.session_, raw.get("name", first), "outputs.name")
        activation = raw.get("activation", "auto")
        if activation not in ACTIVATIONS:
            raise _fail(
                "outputs.activation", f"must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        self.activation_ = activation
        self.names_ = label_map(self.labels, self.classes)
        return self

    def predict_proba_one(self, image: Any) -> NDArray[np.float64]:
        """The model's class probabilities for one image (by the model's class index)."""
        tensor, _ = preprocess(image, self.input_)
        (out,) = _run(self.session_, {self.input_.name: tensor}, [self.output_name_])
        scores = np.asarray(out, dtype=np.float64).reshape(1, -1)
        activation = self.activation_
        if activation == "auto":
            is_distribution = (
                scores.min() >= 0 and scores.max() <= 1 and abs(scores.sum() - 1.0) < 1e-3
            )
            activation = "none" if is_distribution else "softmax"
        if activation == "softmax":
            scores = _softmax(scores)
        elif activation == "sigmoid":
            scores = 1.0 / (1.0 + np.exp(-scores))
        return np.asarray(scores[0])


# --- prompted masks (Segment-Anything's interface) -----------------------------------------


@dataclass(frozen=True)
class ImageEmbedding:
    """An image's encoder output, kept for the prompts that follow."""

    embedding: NDArray[np.float32]
    transform: Transform


_SAM_OUTPUT_KEYS = ("embeddings", "masks", "scores")
SAM_DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels")


class OnnxPromptSegmenter:
    """Masks from an encoder-decoder segmenter with Segment-Anything's prompt interface.

    ``encoder`` and ``decoder``: the two model files' bytes. ``inputs``: the encoder's
    input (default: longest side to the input size, padded right and bottom, SAM's mean
    and std on 0-255 pixels). ``outputs``: ``{"embeddings", "masks", "scores"}`` — the
    encoder's output (default the first), the decoder's mask logits (default ``masks``, or
    its first output) and its mask quality scores (default ``iou_predictions`` when there
    is one; with several masks per prompt the best-scored is taken). A pixel is in the
    mask where its logit is above ``mask_threshold``."""

    def __init__(
        self,
        encoder: bytes,
        decoder: bytes,
        *,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        mask_threshold: float = 0.0,
    ):
        self.encoder = encoder
        self.decoder = decoder
        self.inputs = inputs
        self.outputs = outputs
        self.mask_threshold = mask_threshold

    def fit(self) -> OnnxPromptSegmenter:
        self.encoder_ = load_session(self.encoder, "path")
        self.decoder_ = load_session(self.decoder, "decoder_path")
        defaults = {"resize": "longest-side", "scale": 1.0, "mean": SAM_MEAN, "std": SAM_STD}
        defaults["pad_value"] = 0
        self.input_ = input_spec(self.encoder_, self.inputs, defaults=defaults)
        raw = _check_keys(self.outputs, _SAM_OUTPUT_KEYS, "outputs")
        self.embedding_name_ = _check_output(
            self.encoder_,
            raw.get("embeddings", output_names(self.encoder_)[0]),
            "outputs.embeddings",
        )
        decoder_outputs = output_names(self.decoder_)
        masks = raw.get("masks", "masks" if "masks" in decoder_outputs else decoder_outputs[0])
        self.masks_name_ = _check_output(self.decoder_, masks, "outputs.masks")
        scores = raw.get(
            "scores", "iou_predictions" if "iou_predictions" in decoder_outputs else None
        )
        self.scores_name_ = (
            None if scores is None else _check_output(self.decoder_, scores, "outputs.scores")
        )
        declared = {i.name: i for i in self.decoder_.get_inputs()}
        missing = [n for n in SAM_DECODER_INPUTS if n not in declared]
        if missing:
            raise _fail(
                "decoder_path",
                f"the decoder has no input(s) {missing} (its inputs: {sorted(declared)}); a "
                "Segment-Anything-style decoder takes image_embeddings, point_coords and "
                "point_labels",
            )
        self.decoder_inputs_ = declared
        if isinstance(self.mask_threshold, bool) or not isinstance(
            self.mask_threshold, int | float
        ):
            raise _fail("mask_threshold", f"must be a number, got {self.mask_threshold!r}")
        return self

    def embed(self, image: Any) -> ImageEmbedding:
        """Run the encoder once for an image."""
        tensor, transform = preprocess(image, self.input_)
        (embedding,) = _run(self.encoder_, {self.input_.name: tensor}, [self.embedding_name_])
        return ImageEmbedding(np.asarray(embedding, dtype=np.float32), transform)

    def _mask_input(self) -> NDArray[np.float32]:
        shape = [d if isinstance(d, int) else 256 for d in self.decoder_inputs_["mask_input"].shape]
        shape = [1, 1, *shape[2:]] if len(shape) == 4 else [1, 1, 256, 256]
        return np.zeros(shape, dtype=np.float32)

    def segment(
        self,
        embedding: ImageEmbedding,
        points: Sequence[tuple[float, float]] = (),
        point_labels: Sequence[int] = (),
        box: tuple[float, float, float, float] | None = None,
    ) -> NDArray[np.bool_]:
        """The mask (image height x width) for clicks (``point_labels``: 1 in the object,
        0 outside it) and/or a box (x0, y0, x1, y1), all in image pixels."""
        if len(points) != len(point_labels):
            raise ValueError(f"{len(points)} points but {len(point_labels)} point labels")
        if not len(points) and box is None:
            raise ValueError("a prompt needs a point or a box")
        if any(v not in (0, 1) for v in point_labels):
            raise ValueError("point labels are 1 (in the object) or 0 (outside it)")
        coords = [tuple(map(float, p)) for p in points]
        labels = [float(v) for v in point_labels]
        if box is not None:
            x0, y0, x1, y1 = (float(v) for v in box)
            coords += [(min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))]
            labels += [2.0, 3.0]
        else:  # SAM's exported decoder expects a padding point when there is no box
            coords.append((0.0, 0.0))
            labels.append(-1.0)
        t = embedding.transform
        xy = np.asarray(coords, dtype=np.float64)
        xy_in = t.to_input(xy)
        if box is None:
            xy_in[-1] = 0.0
        feeds: dict[str, NDArray[Any]] = {
            "image_embeddings": embedding.embedding,
            "point_coords": xy_in[None].astype(np.float32),
            "point_labels": np.asarray(labels, dtype=np.float32)[None],
        }
        if "mask_input" in self.decoder_inputs_:
            feeds["mask_input"] = self._mask_input()
        if "has_mask_input" in self.decoder_inputs_:
            feeds["has_mask_input"] = np.zeros(1, dtype=np.float32)
        if "orig_im_size" in self.decoder_inputs_:
            feeds["orig_im_size"] = np.asarray([t.image_height, t.image_width], dtype=np.float32)
        names = [self.masks_name_] + ([self.scores_name_] if self.scores_name_ else [])
        outs = _run(self.decoder_, feeds, names)
        logits = np.asarray(outs[0], dtype=np.float32)
        if logits.ndim < 2:
            raise ModelError(f"outputs.masks: shape {logits.shape} is not a mask")
        logits = logits.reshape(-1, *logits.shape[-2:])
        best = 0
        if len(outs) > 1 and outs[1].size == len(logits):
            best = int(np.asarray(outs[1]).reshape(-1).argmax())
        return self._to_image(logits[best], t)

    def _to_image(self, logits: NDArray[np.float32], t: Transform) -> NDArray[np.bool_]:
        """Mask logits at any resolution to a mask at the image's size: logits already at
        the image's size are used as they are (the decoder undid the padding); others are
        taken to cover the model's input, padding included."""
        import cv2

        threshold = float(self.mask_threshold)
        if logits.shape == (t.image_height, t.image_width):
            return np.asarray(logits > threshold)
        w_in, h_in = self.input_.width, self.input_.height
        full = cv2.resize(logits, (w_in, h_in), interpolation=cv2.INTER_LINEAR)
        x0, y0 = int(round(t.pad_x)), int(round(t.pad_y))
        x1 = int(round(t.pad_x + t.image_width * t.scale_x))
        y1 = int(round(t.pad_y + t.image_height * t.scale_y))
        crop = full[y0 : max(y0 + 1, y1), x0 : max(x0 + 1, x1)]
        out = cv2.resize(crop, (t.image_width, t.image_height), interpolation=cv2.INTER_LINEAR)
        return np.asarray(out > threshold)


# --- one configuration block ------------------------------------------------------------

_COMMON_KEYS = ("path", "kind", "inputs", "outputs", "labels")
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "yolo": (*_COMMON_KEYS, "score_threshold", "iou_threshold", "max_boxes"),
    "ssd": (*_COMMON_KEYS, "score_threshold", "iou_threshold", "max_boxes"),
    "classify": (*_COMMON_KEYS, "score_threshold"),
    "sam": (
        "path",
        "kind",
        "inputs",
        "outputs",
        "decoder_path",
        "mask_threshold",
        "boxes_from",
        "label",
    ),
}


def check_config(raw: Any) -> dict[str, Any]:
    """The structure of a model's configuration block (keys, kinds, value types); what
    depends on the model file is checked when it is loaded (`model_from_config`)."""
    if not isinstance(raw, Mapping):
        raise ModelError(f"must be an object with path and kind, got {raw!r}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(raw) - set(CONFIG_KEYS[kind]))
    if unknown:
        raise _fail(
            str(unknown[0]),
            f"is not a setting of a {kind} model (its settings: {', '.join(CONFIG_KEYS[kind])})",
        )
    paths = ("path", "decoder_path") if kind == "sam" else ("path",)
    for key in paths:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _fail(key, "must be the model file's path or s3:// URI")
    for key in ("score_threshold", "iou_threshold"):
        if key in raw:
            _positive_share(raw[key], key)
    if "max_boxes" in raw:
        v = raw["max_boxes"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _fail("max_boxes", f"must be a whole number >= 1, got {v!r}")
    if "mask_threshold" in raw and (
        isinstance(raw["mask_threshold"], bool)
        or not isinstance(raw["mask_threshold"], int | float)
    ):
        raise _fail("mask_threshold", f"must be a number, got {raw['mask_threshold']!r}")
    for key in ("boxes_from", "label"):
        if raw.get(key) is not None and (not isinstance(raw[key], str) or not raw[key]):
            raise _fail(key, f"must be a name, got {raw[key]!r}")
    return dict(raw)


def model_from_config(
    config: Mapping[str, Any],
    model: bytes,
    decoder: bytes | None = None,
    *,
    classes: Sequence[str] = (),
    multilabel: bool = False,
) -> OnnxBoxDetector | OnnxClassifier | OnnxPromptSegmenter:
    """The fitted model a checked configuration names, from its files' bytes (``decoder``:
    the Segment-Anything decoder's). ``classes``: the job's labels, the default mapping
    of class indices."""
    kind = config["kind"]
    if kind in ("yolo", "ssd"):
        return OnnxBoxDetector(
            model,
            kind=kind,
            inputs=config.get("inputs"),
            outputs=config.get("outputs"),
            labels=config.get("labels"),
            classes=classes,
            score_threshold=config.get("score_threshold", 0.25),
            iou_threshold=config.get("iou_threshold", 0.45),
            max_boxes=config.get("max_boxes", 300),
        ).fit()
    if kind == "classify":
        outputs = dict(config.get("outputs") or {})
        if multilabel:  # each class on its own unless the user said otherwise
            outputs.setdefault("activation", "sigmoid")
        return OnnxClassifier(
            model,
            inputs=config.get("inputs"),
            outputs=outputs,
            labels=config.get("labels"),
            classes=classes,
        ).fit()
    if decoder is None:
        raise _fail("decoder_path", "a sam model needs its decoder file")
    return OnnxPromptSegmenter(
        model,
        decoder,
        inputs=config.get("inputs"),
        outputs=config.get("outputs"),
        mask_threshold=config.get("mask_threshold", 0.0),
    ).fit()
