"""Ceilings of the counts that enter the system, with a Vietnamese refusal naming the rule.

Money has its own ceiling (:data:`domain.money.MAX_DONG`). Counts are bounded for the same
reason: a number no real đề án reaches is a typing mistake, and one too large for its
PostgreSQL column would otherwise fail the write after the workflow accepted it. Pure: no
Temporal, no database.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

T = TypeVar("T")

MAX_ADVANCE_REQUESTS = 100
"""Advance requests (lần đề nghị tạm ứng) of one đề án; in practice one to three."""

MAX_COST_LINES = 500
"""Lines of one cost estimate (dự toán)."""

MAX_FINDINGS = 200
"""Findings (kiến nghị) recorded by one monitoring visit."""

MAX_HISTORY_EVENTS = 51_200
"""Temporal's hard limit of events in one run's history (``history_event_limit``)."""


def _ceiling(maximum: int, rule: str) -> AfterValidator:
    def check(value: int) -> int:
        if value > maximum:
            raise PydanticCustomError(
                "count_over_ceiling",
                "{value} vượt mức trần {maximum} ({rule})",
                {"value": value, "maximum": maximum, "rule": rule},
            )
        return value

    return AfterValidator(check)


AdvanceRequestNo = Annotated[
    int,
    Field(ge=1),
    _ceiling(
        MAX_ADVANCE_REQUESTS,
        f"một đề án có nhiều nhất {MAX_ADVANCE_REQUESTS} lần đề nghị tạm ứng",
    ),
]
"""Số thứ tự lần đề nghị tạm ứng: 1 to :data:`MAX_ADVANCE_REQUESTS`."""

HistoryEventLimit = Annotated[
    int,
    Field(ge=100),
    _ceiling(MAX_HISTORY_EVENTS, "giới hạn số sự kiện của một lịch sử Temporal"),
]
"""Events after which a đề án continues as new: 100 to :data:`MAX_HISTORY_EVENTS`."""


def list_ceiling(maximum: int, what: str) -> AfterValidator:
    """A list of at most ``maximum`` ``what`` (``Annotated[list[X], list_ceiling(...)]``)."""

    def check(value: list[T]) -> list[T]:
        if len(value) > maximum:
            raise PydanticCustomError(
                "list_over_ceiling",
                "{count} {what} vượt mức trần {maximum}",
                {"count": len(value), "what": what, "maximum": maximum},
            )
        return value

    return AfterValidator(check)
