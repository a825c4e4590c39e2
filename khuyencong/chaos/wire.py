"""The wire between the simulated officials and Temporal: it loses answers and keeps notes.

A client interceptor on the officials' client:

- records the update ID of every attempt of a step (the clerk names the step in
  :data:`CURRENT_STEP`), so the suite can check that a retry was sent under the *same* ID —
  the only thing that makes a retry after a lost answer safe;
- with probability ``lost_rate``, lets an update complete and then raises
  :class:`AnswerLost` instead of returning its result: the official's screen shows a network
  error although the step was applied (the worst moment for a retry).
"""

from __future__ import annotations

import contextvars
import random
from collections import defaultdict
from typing import Any

from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)

CURRENT_STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "chaos_current_step", default=None
)


class AnswerLost(ConnectionError):
    """The update was applied; its answer never reached the official."""


class Wire(Interceptor):
    def __init__(self, rng: random.Random, lost_rate: float) -> None:
        self.rng = rng
        self.lost_rate = lost_rate
        self.ids: defaultdict[str, list[str]] = defaultdict(list)
        self.lost = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self)


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, wire: Wire) -> None:
        super().__init__(next)
        self.wire = wire

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        step = CURRENT_STEP.get()
        if step is not None:
            self.wire.ids[step].append(input.update_id or "")
        handle = await super().start_workflow_update(input)
        if (
            step is not None
            and input.wait_for_stage == WorkflowUpdateStage.COMPLETED
            and self.wire.rng.random() < self.wire.lost_rate
        ):
            try:
                await handle.result()
            except Exception:
                return handle  # a refusal is answered as it is
            self.wire.lost += 1
            raise AnswerLost(f"the answer to update {input.update_id} was lost")
        return handle
