"""Tiny ONNX models the tests build with onnx.helper, whose answers are known.

They compute from the image, so onnxruntime runs a real graph on a real input:

* `box_detector`: the box around the pixels brighter than 0.5 (grey mean of the scaled
  input), as YOLO-style rows (centre, size, class scores) or SSD-style tensors, with a
  near-duplicate of it (for NMS to remove), a low-scored box and a box of a class the
  tests leave unmapped, among zero-scored rows;
* `colour_classifier`: logits = 10 x each channel's mean (the dominant colour wins);
* `sam_encoder` / `sam_decoder`: embeddings = the grey image pooled 4 x 4; mask logits =
  bright embedding cells inside the prompt's box (the points labelled 2 and 3), scaled
  to the model input's pixels, as Segment-Anything's decoder takes them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# Rows of zero scores after the four meaningful ones, so that the (rows x values) tensor
# has more rows than values, as real detectors' outputs have.
PADDING_ROWS = 16
DUPLICATE_SCORE, TRUE_SCORE, LOW_SCORE, UNMAPPED_SCORE = 0.8, 0.9, 0.1, 0.95
LOW_BOX = (20.0, 30.0, 4.0, 4.0)  # cx, cy, w, h in input pixels (inside the image)
UNMAPPED_BOX = (50.0, 50.0, 6.0, 6.0)


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def _model(nodes, inputs, outputs) -> bytes:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _bright_box_nodes(image: str, size: int) -> list[onnx.NodeProto]:
    """Nodes computing x0, y0, x1, y1 (float, shape (1,)) of the bright pixels, and the
    centre form cx, cy, w, h (each (1, 1))."""
    f32 = np.float32
    nodes = [
        helper.make_node("ReduceMean", [image], ["grey"], axes=[1], keepdims=0),
        _const("half", np.array(0.5, f32)),
        helper.make_node("Greater", ["grey", "half"], ["bright_b"]),
        helper.make_node("Cast", ["bright_b"], ["bright"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMax", ["bright"], ["rows"], axes=[2], keepdims=0),
        helper.make_node("ReduceMax", ["bright"], ["cols"], axes=[1], keepdims=0),
    ]
    for axis_name, src in (("x", "cols"), ("y", "rows")):
        for end, last in (("0", 0), ("1", 1)):
            nodes += [
                helper.make_node(
                    "ArgMax",
                    [src],
                    [f"{axis_name}{end}_i"],
                    axis=1,
                    keepdims=1,
                    select_last_index=last,
                ),
                helper.make_node(
                    "Cast", [f"{axis_name}{end}_i"], [f"{axis_name}{end}"], to=TensorProto.FLOAT
                ),
            ]
    nodes += [
        _const("one", np.array(1.0, f32)),
        _const("two", np.array(2.0, f32)),
        # x1 and y1 are the last bright pixel: its far edge is one further.
        helper.make_node("Add", ["x1", "one"], ["x1e"]),
        helper.make_node("Add", ["y1", "one"], ["y1e"]),
        helper.make_node("Add", ["x0", "x1e"], ["sx"]),
        helper.make_node("Div", ["sx", "two"], ["cx"]),
        helper.make_node("Add", ["y0", "y1e"], ["sy"]),
        helper.make_node("Div", ["sy", "two"], ["cy"]),
        helper.make_node("Sub", ["x1e", "x0"], ["w"]),
        helper.make_node("Sub", ["y1e", "y0"], ["h"]),
    ]
    return nodes


def box_detector(
    style: str = "yolo",
    *,
    size: int = 64,
    objectness: bool = False,
    transposed: bool = False,
    box_format: str = "xyxy",
) -> bytes:
    """A detector of the bright rectangle (see the module docstring); classes: 0 dim,
    1 the rectangle, 2 the unmapped box. ``style``: yolo or ssd (normalised coordinates,
    ``box_format`` xyxy or yxyx, classes as int64)."""
    f32 = np.float32
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    nodes = _bright_box_nodes("images", size)
    nodes += [
        helper.make_node("Concat", ["cx", "cy", "w", "h"], ["coords"], axis=1),  # (1, 4)
        _const("shift", np.array([[1.0, 1.0, 0.0, 0.0]], f32)),
        helper.make_node("Add", ["coords", "shift"], ["coords_dup"]),
        _const("low", np.array([LOW_BOX], f32)),
        _const("unmapped", np.array([UNMAPPED_BOX], f32)),
        _const("pad_coords", np.zeros((PADDING_ROWS, 4), f32)),
        helper.make_node(
            "Concat", ["coords", "coords_dup", "low", "unmapped", "pad_coords"], ["cxcywh"], axis=0
        ),
    ]
    class_scores = np.zeros((4 + PADDING_ROWS, 3), f32)
    class_scores[0] = [0.1, TRUE_SCORE, 0.0]
    class_scores[1] = [0.05, DUPLICATE_SCORE, 0.0]
    class_scores[2] = [LOW_SCORE, 0.0, 0.0]
    class_scores[3] = [0.0, 0.0, UNMAPPED_SCORE]
    if style == "yolo":
        columns = ["cxcywh"]
        if objectness:
            # Objectness 1 for the four boxes; class scores stay the products wanted.
            obj = np.zeros((4 + PADDING_ROWS, 1), f32)
            obj[:4] = 1.0
            nodes.append(_const("objectness", obj))
            columns.append("objectness")
        nodes.append(_const("class_scores", class_scores))
        columns.append("class_scores")
        nodes += [
            helper.make_node("Concat", columns, ["table"], axis=1),
            helper.make_node("Unsqueeze", ["table", "zero_axis"], ["batched"]),
        ]
        nodes.insert(0, _const("zero_axis", np.array([0], np.int64)))
        if transposed:
            nodes.append(helper.make_node("Transpose", ["batched"], ["output0"], perm=[0, 2, 1]))
        else:
            nodes.append(helper.make_node("Identity", ["batched"], ["output0"]))
        width = 4 + int(objectness) + 3
        dims = [1, width, 4 + PADDING_ROWS] if transposed else [1, 4 + PADDING_ROWS, width]
        out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, dims)
        return _model(nodes, [image], [out])
    # SSD: corners, normalised by the input size.
    n = 4 + PADDING_ROWS
    order = [0, 1, 2, 3] if box_format == "xyxy" else [1, 0, 3, 2]
    nodes += [
        _const(
            "to_corners",
            np.array([[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]], f32),
        ),
        helper.make_node("MatMul", ["cxcywh", "to_corners"], ["xyxy_px"]),
        _const("inv_size", np.array(1.0 / size, f32)),
        helper.make_node("Mul", ["xyxy_px", "inv_size"], ["xyxy"]),
        _const("order", np.array(order, np.int64)),
        helper.make_node("Gather", ["xyxy", "order"], ["ordered"], axis=1),
        _const("zero_axis", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["ordered", "zero_axis"], ["boxes"]),
        _const("scores", class_scores.max(axis=1)[None]),
        _const("classes", class_scores.argmax(axis=1).astype(np.int64)[None]),
    ]
    outs = [
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, n, 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, n]),
        helper.make_tensor_value_info("classes", TensorProto.INT64, [1, n]),
    ]
    return _model(nodes, [image], outs)


def colour_classifier(
    size: int = 32, *, probabilities: bool = False, input_type: str = "float"
) -> bytes:
    """Logits 10 x (mean R, mean G, mean B); with ``probabilities``, their softmax.
    ``input_type``: ``float``, ``float16`` (a half-precision export) or ``uint8-nhwc``
    (raw pixels, channels last; the graph scales them by 1/255 itself)."""
    nodes = []
    if input_type == "float16":
        image = helper.make_tensor_value_info("pixels", TensorProto.FLOAT16, [1, 3, size, size])
        nodes.append(helper.make_node("Cast", ["pixels"], ["planes"], to=TensorProto.FLOAT))
    elif input_type == "uint8-nhwc":
        image = helper.make_tensor_value_info("pixels", TensorProto.UINT8, [1, size, size, 3])
        nodes += [
            helper.make_node("Cast", ["pixels"], ["raw"], to=TensorProto.FLOAT),
            helper.make_node("Transpose", ["raw"], ["raw_planes"], perm=[0, 3, 1, 2]),
            _const("inv255", np.array(1 / 255, np.float32)),
            helper.make_node("Mul", ["raw_planes", "inv255"], ["planes"]),
        ]
    else:
        image = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, size, size])
        nodes.append(helper.make_node("Identity", ["pixels"], ["planes"]))
    nodes += [
        helper.make_node("GlobalAveragePool", ["planes"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["means"], axis=1),
        _const("ten", np.array(10.0, np.float32)),
        helper.make_node("Mul", ["means", "ten"], ["logits"]),
    ]
    name = "logits"
    if probabilities:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
        name = "probs"
    out = helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3])
    return _model(nodes, [image], [out])


SAM_STRIDE = 4


def sam_encoder(size: int = 64) -> bytes:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["grey"], axes=[1], keepdims=1),
        helper.make_node(
            "AveragePool",
            ["grey"],
            ["image_embeddings"],
            kernel_shape=[SAM_STRIDE, SAM_STRIDE],
            strides=[SAM_STRIDE, SAM_STRIDE],
        ),
    ]
    e = size // SAM_STRIDE
    out = helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, 1, e, e])
    return _model(nodes, [image], [out])


def sam_decoder(size: int = 64, *, with_orig_size_input: bool = False) -> bytes:
    """Mask logits at the embedding's resolution (1 x 1 x size/4 x size/4): +10 where a
    cell is bright and inside the box prompt, -10 elsewhere; iou_predictions 0.9."""
    f32 = np.float32
    e = size // SAM_STRIDE
    centres = ((np.arange(e, dtype=f32) + 0.5) * SAM_STRIDE)[None]  # (1, e) input pixels
    inputs = [
        helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, 1, e, e]),
        helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, "n"]),
        helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, [1, "n"]),
    ]
    inputs[1] = helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, "n", 2])
    nodes = [
        _const("i0", np.array(0, np.int64)),
        _const("i1", np.array(1, np.int64)),
        helper.make_node("Gather", ["point_coords", "i0"], ["xs"], axis=2),  # (1, n)
        helper.make_node("Gather", ["point_coords", "i1"], ["ys"], axis=2),
        _const("c2", np.array(2.0, f32)),
        _const("c3", np.array(3.0, f32)),
        helper.make_node("Equal", ["point_labels", "c2"], ["is_tl_b"]),
        helper.make_node("Equal", ["point_labels", "c3"], ["is_br_b"]),
        helper.make_node("Cast", ["is_tl_b"], ["is_tl"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["is_br_b"], ["is_br"], to=TensorProto.FLOAT),
    ]
    for corner, weight in (("0", "is_tl"), ("1", "is_br")):
        for axis in ("x", "y"):
            nodes += [
                helper.make_node("Mul", [f"{axis}s", weight], [f"{axis}{corner}_w"]),
                helper.make_node(
                    "ReduceSum", [f"{axis}{corner}_w", "axis1"], [f"{axis}{corner}"], keepdims=1
                ),
            ]
    nodes.insert(0, _const("axis1", np.array([1], np.int64)))
    nodes += [
        _const("centres", centres),
        helper.make_node("GreaterOrEqual", ["centres", "x0"], ["gx0"]),
        helper.make_node("LessOrEqual", ["centres", "x1"], ["gx1"]),
        helper.make_node("And", ["gx0", "gx1"], ["in_x"]),  # (1, e)
        helper.make_node("GreaterOrEqual", ["centres", "y0"], ["gy0"]),
        helper.make_node("LessOrEqual", ["centres", "y1"], ["gy1"]),
        helper.make_node("And", ["gy0", "gy1"], ["in_y"]),
        _const("axis2", np.array([2], np.int64)),
        helper.make_node("Unsqueeze", ["in_y", "axis2"], ["in_y3"]),  # (1, e, 1)
        helper.make_node("Unsqueeze", ["in_x", "axis1"], ["in_x3"]),  # (1, 1, e)
        helper.make_node("And", ["in_y3", "in_x3"], ["inside3"]),
        helper.make_node("Unsqueeze", ["inside3", "axis1"], ["inside"]),  # (1, 1, e, e)
        _const("half", np.array(0.5, f32)),
        helper.make_node("Greater", ["image_embeddings", "half"], ["bright"]),
        helper.make_node("And", ["inside", "bright"], ["on"]),
        _const("pos", np.array(10.0, f32)),
        _const("neg", np.array(-10.0, f32)),
        helper.make_node("Where", ["on", "pos", "neg"], ["masks"]),
        _const("iou_predictions", np.array([[0.9]], f32)),
    ]
    if with_orig_size_input:
        # Declared, as SAM's export has it; this tiny decoder leaves resizing to the caller.
        inputs.append(helper.make_tensor_value_info("orig_im_size", TensorProto.FLOAT, [2]))
        nodes.append(helper.make_node("Identity", ["orig_im_size"], ["unused_size"]))
    outs = [
        helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, 1, e, e]),
        helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, 1]),
    ]
    return _model(nodes, inputs, outs)


def bright_rectangles(
    width: int, height: int, rects: list[tuple[int, int, int, int]], colour=(255, 255, 255)
) -> np.ndarray:
    """A dark RGB image with bright rectangles (left, top, width, height)."""
    img = np.full((height, width, 3), 20, dtype=np.uint8)
    for left, top, w, h in rects:
        img[top : top + h, left : left + w] = colour
    return img
