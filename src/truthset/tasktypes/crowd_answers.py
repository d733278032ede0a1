"""A worker's answer to a template job, checked against the elements its template declares.

Ground Truth records a template's answer as ``answerContent``: an object keyed by each
element's ``name``, every value in that element's documented shape
(/work/shared/reference/groundtruth-manifests.md §1.2 and the element reference pages).
The elements come from the template (``truthset.templates.elements`` parses them when the
job is created and keeps them in the job's label config as ``crowdElements``: a list of
``{"tag", "name", "attributes"}``), so this module only knows shapes: it sits below the
templates domain and imports nothing of it.

Categories and labels written as plain JSON / JavaScript array literals in the template
(``categories="['cat', 'dog']"``) are checked; ones a Liquid expression fills in at render
time are checked against the job's labels when the job has some, else only for type.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from truthset.errors import BadInput

Element = dict[str, Any]
MAX_OBJECTS = 10_000
MAX_TEXT = 100_000

# Tags whose value is part of the answer (crowd-radio-group itself is not: each of its
# crowd-radio-button children is, under the button's own name).
ANSWER_TAGS = frozenset(
    {
        "crowd-classifier",
        "crowd-classifier-multi-select",
        "crowd-image-classifier",
        "crowd-image-classifier-multi-select",
        "crowd-bounding-box",
        "crowd-polygon",
        "crowd-polyline",
        "crowd-line",
        "crowd-keypoint",
        "crowd-semantic-segmentation",
        "crowd-instance-segmentation",
        "crowd-entity-annotation",
        "crowd-input",
        "crowd-text-area",
        "crowd-checkbox",
        "crowd-radio-button",
        "crowd-slider",
        "crowd-toggle-button",
        "input",
        "select",
        "textarea",
    }
)


def static_list(text: str | None) -> list[str] | None:
    """A list attribute written as a literal (JSON or with single quotes), or None when it
    is missing or computed (Liquid, JavaScript)."""
    if not text or "{{" in text or "{%" in text:
        return None
    for candidate in (text, text.replace("'", '"')):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return value
        # crowd-entity-annotation's labels: [{"label": ..., "shortDisplayName": ...}]
        if isinstance(value, list) and all(
            isinstance(x, dict) and isinstance(x.get("label"), str) for x in value
        ):
            return [x["label"] for x in value]
        return None
    return None


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _object(
    value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict:
    if not isinstance(value, dict):
        raise BadInput(f"{where} must be an object with {', '.join(required) or 'no keys'}")
    missing = [k for k in required if k not in value]
    if missing:
        raise BadInput(f"{where} lacks {', '.join(missing)}")
    extra = sorted(set(value) - set(required) - set(optional))
    if extra:
        raise BadInput(f"{where} has unknown keys {', '.join(extra)}")
    return value


def _numbers(value: dict, where: str, keys: tuple[str, ...]) -> None:
    for k in keys:
        if not _is_number(value[k]):
            raise BadInput(f"{where}.{k} must be a number, got {value[k]!r}")


def _label(value: Any, where: str, allowed: list[str] | None) -> None:
    if not isinstance(value, str):
        raise BadInput(f"{where} must be a string")
    if allowed is not None and value not in allowed:
        raise BadInput(f"{where} {value!r} is not one of {allowed}")


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise BadInput(f"{where} must be a list")
    if len(value) > MAX_OBJECTS:
        raise BadInput(f"{where} has more than {MAX_OBJECTS} entries")
    return value


def _image_properties(answer: dict, where: str) -> None:
    if "inputImageProperties" in answer:
        props = _object(
            answer["inputImageProperties"], f"{where}.inputImageProperties", ("height", "width")
        )
        _numbers(props, f"{where}.inputImageProperties", ("height", "width"))
    if "initialValueModified" in answer and not isinstance(answer["initialValueModified"], bool):
        raise BadInput(f"{where}.initialValueModified must be true or false")


_IMAGE_KEYS = ("inputImageProperties", "initialValueModified")


def _categories(
    element: Element, job_labels: list[str] | None, attr: str = "categories"
) -> list[str] | None:
    return static_list(element["attributes"].get(attr)) or job_labels


def _classifier(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    _object(value, where, ("label",))
    _label(value["label"], f"{where}.label", _categories(element, job_labels))
    return value


def _multi_select(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    _object(value, where, ("labels",))
    allowed = _categories(element, job_labels)
    labels = _list(value["labels"], f"{where}.labels")
    for i, lab in enumerate(labels):
        _label(lab, f"{where}.labels[{i}]", allowed)
    if len(set(labels)) != len(labels):
        raise BadInput(f"{where}.labels lists a label twice")
    return value


def _vertices(value: Any, where: str, at_least: int, exactly: int | None = None) -> None:
    vertices = _list(value, where)
    if exactly is not None and len(vertices) != exactly:
        raise BadInput(f"{where} must have exactly {exactly} vertices")
    if len(vertices) < at_least:
        raise BadInput(f"{where} needs at least {at_least} vertices")
    for i, v in enumerate(vertices):
        _numbers(_object(v, f"{where}[{i}]", ("x", "y")), f"{where}[{i}]", ("x", "y"))


def _shapes(key: str, check_one: Callable[[dict, str, list[str] | None], None]) -> Callable:
    def check(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
        _object(value, where, (key,), _IMAGE_KEYS)
        _image_properties(value, where)
        allowed = _categories(element, job_labels, "labels")
        for i, shape in enumerate(_list(value[key], f"{where}.{key}")):
            check_one(shape, f"{where}.{key}[{i}]", allowed)
        return value

    return check


def _box(shape: Any, where: str, allowed: list[str] | None) -> None:
    keys = ("height", "label", "left", "top", "width")
    _object(shape, where, keys)
    _numbers(shape, where, ("height", "left", "top", "width"))
    _label(shape["label"], f"{where}.label", allowed)


def _vertex_shape(at_least: int, exactly: int | None = None) -> Callable:
    def check(shape: Any, where: str, allowed: list[str] | None) -> None:
        _object(shape, where, ("label", "vertices"))
        _label(shape["label"], f"{where}.label", allowed)
        _vertices(shape["vertices"], f"{where}.vertices", at_least, exactly)

    return check


def _point(shape: Any, where: str, allowed: list[str] | None) -> None:
    _object(shape, where, ("label", "x", "y"))
    _numbers(shape, where, ("x", "y"))
    _label(shape["label"], f"{where}.label", allowed)


def _png(value: Any, where: str) -> None:
    image = _object(value, where, ("pngImageData",))
    if not isinstance(image["pngImageData"], str) or not image["pngImageData"]:
        raise BadInput(f"{where}.pngImageData must be base64 PNG text")


def _semantic_segmentation(
    value: Any, where: str, element: Element, job_labels: list[str] | None
) -> Any:
    _object(value, where, ("labeledImage",), ("labelMappings", *_IMAGE_KEYS))
    _png(value["labeledImage"], f"{where}.labeledImage")
    _image_properties(value, where)
    allowed = _categories(element, job_labels, "labels")
    mappings = value.get("labelMappings", {})
    if not isinstance(mappings, dict):
        raise BadInput(f'{where}.labelMappings must be an object {{label: {{"color"}}}}')
    for label, mapping in mappings.items():
        _label(label, f"{where}.labelMappings key", allowed)
        if not isinstance(
            _object(mapping, f"{where}.labelMappings[{label!r}]", ("color",))["color"], str
        ):
            raise BadInput(f"{where}.labelMappings[{label!r}].color must be a string")
    return value


def _instance_segmentation(
    value: Any, where: str, element: Element, job_labels: list[str] | None
) -> Any:
    # The element's output nests the result in "annotatedResult"; the flatter shape the
    # consolidation payloads show is accepted as well.
    if isinstance(value, dict) and set(value) == {"annotatedResult"}:
        _instance_segmentation(
            value["annotatedResult"], f"{where}.annotatedResult", element, job_labels
        )
        return value
    _object(value, where, ("labeledImage", "instances"), _IMAGE_KEYS)
    _png(value["labeledImage"], f"{where}.labeledImage")
    _image_properties(value, where)
    allowed = _categories(element, job_labels, "labels")
    for i, inst in enumerate(_list(value["instances"], f"{where}.instances")):
        _object(inst, f"{where}.instances[{i}]", ("color", "label"))
        if not isinstance(inst["color"], str):
            raise BadInput(f"{where}.instances[{i}].color must be a string")
        _label(inst["label"], f"{where}.instances[{i}].label", allowed)
    return value


def _entities(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    _object(value, where, ("entities",), ("initialValueModified",))
    allowed = _categories(element, job_labels, "labels")
    for i, ent in enumerate(_list(value["entities"], f"{where}.entities")):
        here = f"{where}.entities[{i}]"
        _object(ent, here, ("endOffset", "label", "startOffset"))
        _label(ent["label"], f"{here}.label", allowed)
        start, end = ent["startOffset"], ent["endOffset"]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            raise BadInput(f"{here}: startOffset and endOffset must be whole numbers")
        if not 0 <= start < end:
            raise BadInput(f"{here}: need 0 <= startOffset < endOffset, got {start}, {end}")
    return value


def _text(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    number_field = element["attributes"].get("type") == "number"
    if element["tag"] in ("crowd-input", "input") and number_field and _is_number(value):
        return value
    if not isinstance(value, str):
        raise BadInput(f"{where} must be text")
    if len(value) > MAX_TEXT:
        raise BadInput(f"{where} is longer than {MAX_TEXT} characters")
    return value


def _switch(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    # Ground Truth records a check box, toggle or radio button as {<its value>: bool}; an
    # element without a `value` attribute records "on", as an HTML check box submits.
    key = element["attributes"].get("value") or "on"
    if not isinstance(value, dict) or set(value) != {key} or not isinstance(value[key], bool):
        raise BadInput(f'{where} must be {{"{key}": true | false}}')
    return value


def _slider(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    if not _is_number(value):
        raise BadInput(f"{where} must be a number")
    for bound, inside in (("min", lambda b: value >= b), ("max", lambda b: value <= b)):
        try:
            limit = float(element["attributes"].get(bound, ""))
        except ValueError:
            continue
        if not inside(limit):
            raise BadInput(f"{where} {value} is outside the slider's {bound} {limit:g}")
    return value


def _plain(value: Any, where: str, element: Element, job_labels: list[str] | None) -> Any:
    kind = (element["attributes"].get("type") or "text").lower()
    if element["tag"] == "input" and kind == "radio":
        # A plain radio group: the chosen value, or {<value>: bool} per button as the
        # crowd radio buttons record it.
        options = element.get("options") or []
        if isinstance(value, str) and value in options:
            return value
        if (
            isinstance(value, dict)
            and set(value) <= set(options)
            and all(isinstance(v, bool) for v in value.values())
        ):
            return value
        raise BadInput(f"{where} must be one of {options} (or {{<value>: true | false}})")
    if element["tag"] == "input" and kind == "checkbox":
        return value if isinstance(value, bool) else _switch(value, where, element, job_labels)
    if element["tag"] == "input" and kind in ("number", "range") and _is_number(value):
        return value
    if element["tag"] == "select" and "multiple" in element["attributes"]:
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return value
        raise BadInput(f"{where} must be a list of the chosen options")
    return _text(value, where, element, job_labels)


CHECKS: dict[str, Callable[[Any, str, Element, list[str] | None], Any]] = {
    "crowd-classifier": _classifier,
    "crowd-image-classifier": _classifier,
    "crowd-classifier-multi-select": _multi_select,
    "crowd-image-classifier-multi-select": _multi_select,
    "crowd-bounding-box": _shapes("boundingBoxes", _box),
    "crowd-polygon": _shapes("polygons", _vertex_shape(3)),
    "crowd-polyline": _shapes("polylines", _vertex_shape(2)),
    "crowd-line": _shapes("lines", _vertex_shape(2, exactly=2)),
    "crowd-keypoint": _shapes("keypoints", _point),
    "crowd-semantic-segmentation": _semantic_segmentation,
    "crowd-instance-segmentation": _instance_segmentation,
    "crowd-entity-annotation": _entities,
    "crowd-input": _text,
    "crowd-text-area": _text,
    "crowd-checkbox": _switch,
    "crowd-toggle-button": _switch,
    "crowd-radio-button": _switch,
    "crowd-slider": _slider,
    "input": _plain,
    "select": _plain,
    "textarea": _plain,
}


_LIQUID = re.compile(r"{{.*?}}|{%.*?%}", re.S)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name that Liquid computes (`q{{ forloop.index }}`) matches any text in its
    Liquid parts."""
    parts = _LIQUID.split(name)
    return re.compile(".+?".join(re.escape(p) for p in parts), re.S)


def validate_template_answer(
    answer: Any, elements: list[Element], job_labels: list[str] | None
) -> dict[str, Any]:
    """The answer as given, once every key names a declared element and every value has
    that element's shape; BadInput names the first element that does not."""
    if not isinstance(answer, dict):
        raise BadInput("answer must be an object {<element name>: <its value>}")
    if not answer:
        raise BadInput("answer names no element of the template")
    by_name = {e["name"]: e for e in elements}
    patterns = [(_name_pattern(e["name"]), e) for e in elements if _LIQUID.search(e["name"])]
    for name, value in answer.items():
        element = by_name.get(name) or next(
            (e for pattern, e in patterns if pattern.fullmatch(name)), None
        )
        if element is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise BadInput(
                f"answer.{name}: the template declares no element named {name!r}"
                f" (it declares {known})"
            )
        CHECKS[element["tag"]](value, f"answer.{name} ({element['tag']})", element, job_labels)
    return answer
