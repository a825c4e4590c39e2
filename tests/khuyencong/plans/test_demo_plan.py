"""The dev stack's live plan: next year's, six đề án waiting, seeded once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from khuyencong.plans.service import DEMO_PLAN_SIZE, plan_state, seed_demo_plan
from tests.support.lifecycle import today_of
from tests.support.temporal import new_task_queue, run_worker
from tests.workflows.plan_support import PlanRun
from workflows.plan_contract import ItemStatus


@pytest_asyncio.fixture(loop_scope="session")
async def task_queue(ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[str]:
    queue = new_task_queue()
    async with run_worker(ts_env.client, db_pool, queue):
        yield queue
        await PlanRun.end_all()


async def test_the_demo_plan_is_next_years_with_six_de_an_waiting_and_is_seeded_once(
    ts_env: WorkflowEnvironment, task_queue: str
) -> None:
    today = await today_of(ts_env)
    wid = f"demo-plan/{task_queue}"
    plan_id, first = await seed_demo_plan(ts_env.client, task_queue, today, workflow_id=wid)
    run = PlanRun(ts_env.client, ts_env.client.get_workflow_handle(plan_id))
    PlanRun.running.append(run)
    run.codes = [i.code for i in first.items]
    assert first.accepted == DEMO_PLAN_SIZE and not any(i.already for i in first.items)

    _, again = await seed_demo_plan(ts_env.client, task_queue, today, workflow_id=wid)
    assert again == first  # the same import, answered again
    state = await plan_state(run.handle)
    assert state.config.year == today.year + 1
    assert [i.status for i in state.items] == [ItemStatus.REGISTERED] * DEMO_PLAN_SIZE
    requested = sum(i.requested_support for i in state.items)
    assert state.config.envelope < requested  # the decision has to choose
