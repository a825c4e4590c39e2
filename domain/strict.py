"""Files that people type refuse fields the model does not know, at every depth.

Models carried by Temporal (inputs, commands, results, state) *ignore* unknown fields, so a
field added by a newer worker does not break an older one. What a person types (a dossier
file, a rule pack, a registration sheet, a CLI payload) is read through :func:`validate_typed`
instead, which refuses an unknown field anywhere in the data (nested models, lists, dicts)
and names it: a misspelt ``requsted_support`` is an error, not a value silently dropped.

Pure: pydantic only, so the workflow sandbox, the CLI and the starter share it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

M = TypeVar("M", bound=BaseModel)

UNKNOWN_FIELD = "unknown_field"
"""The error type of an unknown field in a :class:`ValidationError` from :func:`validate_typed`."""


def unknown_field_message(name: str | int) -> str:
    """Vietnamese first, then English, as the other messages of the files."""
    return f"trường «{name}» không có trong mẫu, kiểm tra lại tên trường (unknown field)"


def validate_typed(model: type[M], data: Any) -> M:
    """``model`` from typed ``data``, refusing unknown fields at every depth.

    Raises :class:`ValidationError` as ``model.model_validate`` does; an unknown field is an
    error of type :data:`UNKNOWN_FIELD` at its path (``loc``), whose message names it.
    """
    try:
        return model.model_validate(data, extra="forbid")
    except ValidationError as exc:
        raise _renamed(exc) from None


def _renamed(exc: ValidationError) -> ValidationError:
    """``exc`` with its unknown fields named in words; the other errors as they were (type,
    path and message)."""
    found = exc.errors(include_url=False)
    if all(error["type"] != "extra_forbidden" for error in found):
        return exc
    errors: list[InitErrorDetails] = []
    for error in found:
        if error["type"] == "extra_forbidden":
            name = error["loc"][-1] if error["loc"] else "?"
            kind = PydanticCustomError(UNKNOWN_FIELD, unknown_field_message(name))
        else:
            kind = PydanticCustomError(error["type"], error["msg"])
        errors.append(InitErrorDetails(type=kind, loc=error["loc"], input=error["input"]))
    return ValidationError.from_exception_data(exc.title, errors)
