"""The worker's activity context in its logs.

:class:`ActivityContextInterceptor` binds ``workflow_id``, ``run_id``, ``activity_type``,
``activity_id``, ``attempt`` and ``de_an_id`` into structlog's contextvars for the duration of
every activity, so anything an activity logs (through structlog or stdlib logging) says which
đề án it worked for. (Apart from :mod:`khuyencong.logging`, which the commands import: this
one loads the worker's half of the SDK.)
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from khuyencong.logging import de_an_id_from_workflow_id


class ActivityContextInterceptor(Interceptor):
    """Binds the running activity's identity into structlog contextvars."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity_type=info.activity_type,
            activity_id=info.activity_id,
            attempt=info.attempt,
            de_an_id=de_an_id_from_workflow_id(info.workflow_id),
        ):
            return await self.next.execute_activity(input)
