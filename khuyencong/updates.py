"""Sending an official's action to a đề án: the one place that knows ``DeAnBusy``.

A đề án refuses an update as ``DeAnBusy`` while it registers or records another action (see
``DeAnWorkflow._check``): nothing was judged and no event was written, so the same update,
under the same update ID, is sent again a moment later. Every sender of updates to
``DeAnWorkflow`` (the admin client, the plan's activities, the backfill, the simulation, the
tests) goes through :func:`execute_de_an_update` or :func:`start_de_an_update`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError

from domain.errors import RefusalCode

T = TypeVar("T")
R = TypeVar("R")

BUSY_PATIENCE = 30.0
"""Seconds an action is sent again while its đề án answers ``DeAnBusy`` (an adjustment that
waits for its plan holds the đề án longest)."""


def is_busy(error: BaseException) -> bool:
    """A ``DeAnBusy`` refusal: the đề án judged nothing; send the same update again."""
    cause = error.cause if isinstance(error, WorkflowUpdateFailedError) else error
    return isinstance(cause, ApplicationError) and cause.type == RefusalCode.BUSY


async def _when_free(send: Callable[[], Awaitable[R]], patience: float) -> R:
    """``send()`` until it is not refused as busy, for up to ``patience`` seconds; any other
    refusal, or a busy one past the patience, is raised as the SDK raised it."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + patience
    pause = 0.02
    while True:
        try:
            return await send()
        except WorkflowUpdateFailedError as failure:
            if not is_busy(failure) or loop.time() + pause > give_up:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


async def execute_de_an_update(
    handle: WorkflowHandle[Any, Any],
    update: str,
    arg: Any,
    *,
    result_type: type[T],
    id: str | None = None,
    patience: float = BUSY_PATIENCE,
) -> T:
    """``handle.execute_update`` that waits out ``DeAnBusy``."""
    return await _when_free(
        lambda: handle.execute_update(update, arg, id=id, result_type=result_type), patience
    )


async def start_de_an_update(
    handle: WorkflowHandle[Any, Any],
    update: str,
    arg: Any,
    *,
    result_type: type[T],
    id: str | None = None,
    patience: float = BUSY_PATIENCE,
) -> WorkflowUpdateHandle[T]:
    """``handle.start_update`` until accepted, waiting out ``DeAnBusy``; the result is
    awaited on the returned handle. Any other refusal is raised here, as the SDK raises it."""

    async def start() -> WorkflowUpdateHandle[T]:
        started = await handle.start_update(
            update,
            arg,
            id=id,
            result_type=result_type,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        # A validator's refusal comes back with the start, and the SDK keeps it in the handle
        # (its result raises it) instead of raising it from start_update: raise it now, so that
        # a DeAnBusy is sent again like any other. ``result()`` makes no call when the outcome
        # is known already.
        known = getattr(started, "_known_outcome", None)
        if known is not None and known.HasField("failure"):
            await started.result()
        return started

    return await _when_free(start, patience)
