"""Checking a request against botocore's own SageMaker service model: unknown fields,
required fields, types and ranges, with errors that name the field as the request spells
it (``HumanTaskConfig.NumberOfHumanWorkersPerDataObject must be 1-9``).

The model is what boto3 builds requests from, so a request that passes here is one boto3
would send; regular-expression patterns are checked only for the names and ARNs listed in
PATTERN_SHAPES (the S3 URIs may be local paths here, and the model's other patterns are
Java regular expressions)."""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Any

from truthset.errors import BadInput

# Shapes whose model pattern is checked (all of them valid Python regular expressions).
PATTERN_SHAPES = (
    "LabelingJobName",
    "LabelAttributeName",
    "WorkteamArn",
    "LambdaFunctionArn",
    "RoleArn",
    "LabelingJobAlgorithmSpecificationArn",
    "WorkteamName",
)


@lru_cache(maxsize=1)
def service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def operation_names() -> list[str]:
    return list(service_model().operation_names)


def input_shape(operation: str) -> Any:
    return service_model().operation_model(operation).input_shape


def check_input(operation: str, params: Any) -> None:
    """Raise BadInput naming the first field of `params` that the operation's input shape
    refuses."""
    shape = input_shape(operation)
    if shape is None:
        if params not in (None, {}):
            raise BadInput(f"{operation} takes no parameters")
        return
    _check(shape, params, "")


def _where(path: str, shape: Any) -> str:
    return path or shape.name


def _check(shape: Any, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path)
    elif kind == "list":
        if not isinstance(value, list):
            raise BadInput(f"{_where(path, shape)} must be a list, got {value!r}")
        _check_size(shape, len(value), path, "entries")
        for i, entry in enumerate(value):
            _check(shape.member, entry, f"{path}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise BadInput(f"{_where(path, shape)} must be an object, got {value!r}")
        for key, entry in value.items():
            _check(shape.key, key, f"{path}.{key}")
            _check(shape.value, entry, f"{path}.{key}")
    elif kind == "string":
        if not isinstance(value, str):
            raise BadInput(f"{_where(path, shape)} must be a string, got {value!r}")
        _check_size(shape, len(value), path, "characters")
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            raise BadInput(f"{_where(path, shape)} must be one of {', '.join(enum)}, got {value!r}")
        pattern = shape.metadata.get("pattern")
        if pattern and shape.name in PATTERN_SHAPES and not re.fullmatch(pattern, value):
            raise BadInput(f"{_where(path, shape)} {value!r} does not match {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"{_where(path, shape)} must be a whole number, got {value!r}")
        _check_range(shape, value, path)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadInput(f"{_where(path, shape)} must be a number, got {value!r}")
        _check_range(shape, value, path)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise BadInput(f"{_where(path, shape)} must be true or false, got {value!r}")
    elif kind == "timestamp" and (
        isinstance(value, bool) or not isinstance(value, int | float | datetime.datetime)
    ):
        raise BadInput(f"{_where(path, shape)} must be a time (epoch seconds), got {value!r}")


def _check_structure(shape: Any, value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise BadInput(f"{_where(path, shape)} must be an object, got {value!r}")
    prefix = f"{path}." if path else ""
    unknown = sorted(set(value) - set(shape.members))
    if unknown:
        known = ", ".join(shape.members)
        raise BadInput(f"unknown field {prefix}{unknown[0]} (known: {known})")
    for name in shape.required_members:
        if value.get(name) is None:
            raise BadInput(f"{prefix}{name} is required")
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _check(member, value[name], f"{prefix}{name}")


def _check_size(shape: Any, size: int, path: str, unit: str) -> None:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if (lo is not None and size < lo) or (hi is not None and size > hi):
        if hi is None:
            bound = f"at least {lo}"
        elif lo in (None, 0):
            bound = f"at most {hi}"
        else:
            bound = f"{lo}-{hi}"
        raise BadInput(f"{_where(path, shape)} must have {bound} {unit}, got {size}")


def _check_range(shape: Any, value: float, path: str) -> None:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bound = f"at least {lo}" if hi is None else f"{lo}-{hi}"
        raise BadInput(f"{_where(path, shape)} must be {bound}, got {value!r}")
