"""Requests checked against AWS's own model of each operation (botocore's),
so that a stand-in refuses what AWS would refuse instead of accepting
anything a client sends."""

from __future__ import annotations

import functools
import re

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters


@functools.lru_cache(maxsize=None)
def _input_shape(service: str, operation: str):
    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def model_error(service: str, operation: str, params: dict) -> str | None:
    """Why botocore's model of `service`'s `operation` refuses `params`, or None.
    botocore's validator checks types, required members and minimums only; AWS
    also refuses a number or a string past its maximum and a string outside its
    pattern, so those are checked too, at every depth of the request."""
    shape = _input_shape(service, operation)
    try:
        validate_parameters(params, shape)
    except ParamValidationError as e:
        return str(e)
    return _beyond_limits(shape, params, "")


def _beyond_limits(shape, value, path: str) -> str | None:
    """The first member, at any depth, past its maximum or outside its pattern."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                error = _beyond_limits(member, value[name], f"{path}.{name}" if path else name)
                if error:
                    return error
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            error = _beyond_limits(shape.member, item, f"{path}[{i}]")
            if error:
                return error
    high, pattern = shape.metadata.get("max"), shape.metadata.get("pattern")
    if shape.type_name == "integer" and high is not None and isinstance(value, int) and value > high:
        return f"{path} must be at most {high}"
    if shape.type_name == "string" and isinstance(value, str):
        if high is not None and len(value) > high:
            return f"{path} must have at most {high} characters"
        if pattern and not re.search(pattern, value):
            return f"{path} {value!r} does not match {pattern}"
    return None
