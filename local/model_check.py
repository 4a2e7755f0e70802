"""Requests checked against AWS's own model of each operation (botocore's),
so that a stand-in refuses what AWS would refuse instead of accepting
anything a client sends."""

from __future__ import annotations

import functools

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters


@functools.lru_cache(maxsize=None)
def _input_shape(service: str, operation: str):
    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def model_error(service: str, operation: str, params: dict) -> str | None:
    """Why botocore's model of `service`'s `operation` refuses `params`, or None.
    botocore checks a number's minimum only; AWS refuses past the maximum too."""
    shape = _input_shape(service, operation)
    try:
        validate_parameters(params, shape)
    except ParamValidationError as e:
        return str(e)
    for name, member in shape.members.items():
        high = member.metadata.get("max")
        value = params.get(name)
        if member.type_name == "integer" and high is not None and isinstance(value, int) and value > high:
            return f"{name} must be at most {high}"
    return None
