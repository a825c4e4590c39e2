"""A worker for each workflow test, on its own task queue, over the time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.support.lifecycle import end_started_workflows
from tests.support.temporal import new_task_queue, run_worker


@pytest_asyncio.fixture
async def tq(ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[str]:
    task_queue = new_task_queue()
    async with run_worker(ts_env.client, db_pool, task_queue):
        yield task_queue
        await end_started_workflows()
