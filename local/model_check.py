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
    pattern, so those are checked for the request's own members too."""
    shape = _input_shape(service, operation)
    try:
        validate_parameters(params, shape)
    except ParamValidationError as e:
        return str(e)
    for name, member in shape.members.items():
        high, pattern, value = member.metadata.get("max"), member.metadata.get("pattern"), params.get(name)
        if member.type_name == "integer" and high is not None and isinstance(value, int) and value > high:
            return f"{name} must be at most {high}"
        if member.type_name == "string" and isinstance(value, str):
            if high is not None and len(value) > high:
                return f"{name} must have at most {high} characters"
            if pattern and not re.search(pattern, value):
                return f"{name} {value!r} does not match {pattern}"
    return None
