"""The production worker (``worker.build_worker``) on the real dev server and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

import worker
from domain.stages import Action, Stage
from khuyencong.settings import Settings
from khuyencong.updates import execute_de_an_update
from tests.support.builders import KE_TOAN_BG, LIFECYCLE_OFFICIALS, SO
from tests.support.identity import (
    HARNESS_REGISTER,
    register_in_database,
    with_test_identity,
    worker_process_env,
)
from tests.support.lifecycle import Driver, contracted_training, paid_advance, today_of
from tests.support.temporal import new_task_queue, wait_for_poller
from tests.support.waiting import until
from workflows.de_an_contract import DeAnAccept, DeAnActionResult, DeAnPaySettlement, DeAnSettle

REPO = Path(__file__).resolve().parent.parent


def settings_for(env: WorkflowEnvironment, task_queue: str, pg_url: str) -> Settings:
    return with_test_identity(
        Settings.from_env(
            {},
            temporal_address=env.client.service_client.config.target_host,
            task_queue=task_queue,
            database_url=pg_url,
        )
    )


def process_env(settings: Settings, pg_url: str) -> dict[str, str]:
    """The environment of a worker process of the suite on ``settings``' server and queue."""
    return {
        **os.environ,
        "KHUYENCONG_TEMPORAL_ADDRESS": settings.temporal_address,
        "KHUYENCONG_TASK_QUEUE": settings.task_queue,
        "KHUYENCONG_DATABASE_URL": pg_url,
        "KHUYENCONG_LOG_LEVEL": "WARNING",
        **worker_process_env(),
    }


async def settle(d: Driver) -> None:
    """Advance 70M, accept 100M of training, settle: 30M left to pay."""
    today = (await d.state()).registered_on
    await paid_advance(d, today, 70_000_000)
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-1",
            accepted_on=today,
            accepted_cost=100_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await d.act(DeAnSettle(actor=SO, settlement_number="QT-1", settled_on=today))


async def test_the_worker_carries_a_de_an_to_closing_on_the_dev_server(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str
) -> None:
    task_queue = new_task_queue()
    w = worker.build_worker(
        dev_env.client, db_pool, settings_for(dev_env, task_queue, pg_url), HARNESS_REGISTER
    )
    async with w:
        today = await today_of(dev_env)
        d = await contracted_training(dev_env.client, task_queue, today)
        await settle(d)
        closed = await d.act(DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C"))
        assert closed.stage is Stage.CLOSED
        assert (await d.handle.result()).paid == 100_000_000
    row = await db_pool.fetchrow(
        "SELECT stage, paid FROM de_an WHERE de_an_id = $1", d.handle.id.removeprefix("de-an/")
    )
    assert dict(row) == {"stage": "closed", "paid": 100_000_000}


async def test_a_worker_killed_in_the_middle_of_settlement_pays_exactly_once(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str
) -> None:
    task_queue = new_task_queue()
    settings = settings_for(dev_env, task_queue, pg_url)
    env = process_env(settings, pg_url)
    await register_in_database(db_pool, LIFECYCLE_OFFICIALS)
    doomed = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashing_worker"], cwd=REPO, env=env
    )
    try:
        await wait_for_poller(dev_env.client, task_queue)
        today = await today_of(dev_env)
        d = await contracted_training(dev_env.client, task_queue, today)
        de_an_id = d.handle.id.removeprefix("de-an/")
        await settle(d)
        # The payment is written by a local activity in the update's own workflow task: the
        # server hears of the update's acceptance only when that task completes, which the
        # crash prevents. The sender keeps waiting (the update stays admitted) until a worker
        # runs the task again.
        paying = asyncio.create_task(
            execute_de_an_update(
                d.handle,
                Action.PAY_SETTLEMENT.value,
                DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C-1"),
                result_type=DeAnActionResult,
            )
        )
        assert await asyncio.to_thread(doomed.wait, 60) == 137
        assert not paying.done()
    finally:
        if doomed.poll() is None:
            doomed.kill()

    # The payment committed before the crash; the workflow has not heard of it.
    payments = "SELECT kind, amount FROM payment WHERE de_an_id = $1 AND kind = 'settlement'"
    assert [tuple(r) for r in await db_pool.fetch(payments, de_an_id)] == [
        ("settlement", 30_000_000)
    ]
    async with worker.build_worker(dev_env.client, db_pool, settings, HARNESS_REGISTER):
        result = await paying
        assert result.stage is Stage.CLOSED
        assert (await d.handle.result()).paid == 100_000_000

    assert [tuple(r) for r in await db_pool.fetch(payments, de_an_id)] == [
        ("settlement", 30_000_000)
    ]
    events = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE de_an_id = $1 AND action = 'pay_settlement'",
        de_an_id,
    )
    assert events == 1
    row = await db_pool.fetchrow("SELECT stage, paid FROM de_an WHERE de_an_id = $1", de_an_id)
    assert dict(row) == {"stage": "closed", "paid": 100_000_000}


async def test_ctrl_c_stops_a_busy_worker_gracefully_within_its_grace(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str
) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole process group (issue 10, item 6: a
    standalone worker once did not stop within 45 s of it)."""
    task_queue = new_task_queue()
    settings = settings_for(dev_env, task_queue, pg_url)
    env = {**process_env(settings, pg_url), "KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS": "10"}
    await register_in_database(db_pool, LIFECYCLE_OFFICIALS)
    khuyencong = str(Path(sys.executable).parent / "khuyencong")
    running = subprocess.Popen([khuyencong, "worker"], cwd=REPO, env=env, start_new_session=True)
    events = "SELECT count(*) FROM de_an_event"
    busy: list[asyncio.Task[Driver]] = []
    try:
        await wait_for_poller(dev_env.client, task_queue)
        today = await today_of(dev_env)
        before = await db_pool.fetchval(events)
        busy += [
            asyncio.create_task(contracted_training(dev_env.client, task_queue, today))
            for _ in range(4)
        ]

        async def working() -> bool:  # đề án registering and acting: work in flight
            return bool(await db_pool.fetchval(events) > before)

        await until(working)
        os.killpg(running.pid, signal.SIGINT)
        # It leaves within its grace (10 s here) and says so; what it left half-way is for the
        # next worker (exactly once: the crash test above).
        assert await asyncio.to_thread(running.wait, 25) == 0
    finally:
        for task in busy:
            task.cancel()
        await asyncio.gather(*busy, return_exceptions=True)
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
