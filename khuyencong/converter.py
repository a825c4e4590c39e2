"""The one data converter of the project: pydantic JSON, with readable refusals.

Temporal's pydantic converter validates every payload against its model. When an official's
update carries a malformed field, the SDK would answer "Failed decoding arguments". Here the
pydantic error becomes a non-retryable ``ApplicationError`` of type ``InvalidField`` that names
each field and says what is wrong, in the same shape as the workflow's own refusals. The SDK
passes such a failure through untouched, so the update is rejected before it enters history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import temporalio.api.common.v1
from pydantic import ValidationError
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.exceptions import ApplicationError

from domain.errors import RefusalCode


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(payload)"


def invalid_payload(error: ValidationError) -> ApplicationError:
    problems = [
        {
            "code": RefusalCode.INVALID_FIELD,
            "field": _field(item["loc"]),
            "message": item["msg"].removeprefix("Value error, "),
            "legal_basis": None,
        }
        for item in error.errors(include_url=False)
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return ApplicationError(
        f"[{RefusalCode.INVALID_FIELD}] dữ liệu không hợp lệ — {summary}",
        *problems,
        type=RefusalCode.INVALID_FIELD,
        non_retryable=True,
    )


class KhuyenCongPayloadConverter(PydanticPayloadConverter):
    def from_payloads(
        self,
        payloads: Sequence[temporalio.api.common.v1.Payload],
        type_hints: list[type] | None = None,
    ) -> list[Any]:
        try:
            return super().from_payloads(payloads, type_hints)
        except ValidationError as error:
            raise invalid_payload(error) from None


data_converter = DataConverter(payload_converter_class=KhuyenCongPayloadConverter)
"""Set on every Client and Replayer of the project (with a codec: :func:`converter_with`)."""


def converter_with(codec: PayloadCodec | None) -> DataConverter:
    """The project converter, encrypting through ``codec`` (:mod:`khuyencong.codec`).

    With a codec, failure messages and stack traces are encoded too (they can quote data),
    so only their type stays in clear. ``None``: :data:`data_converter`, payloads in clear."""
    if codec is None:
        return data_converter
    return dataclasses.replace(
        data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
