"""A whole plan year in the time-skipping server: decision, work, settlement, 22 January."""

from __future__ import annotations

import asyncio
import io

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.model import workflow_id_for
from domain.stages import Stage
from khuyencong.plans.simulate import Scenario, print_simulation, simulate_year
from tests.workflows.plan_support import PlanRun
from workflows.de_an_contract import DeAnState
from workflows.plan_contract import PlanState


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env(own_ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """These tests move the clock: each gets a time-skipping server of its own."""
    return own_ts_env


async def test_a_simulated_year_reaches_22_january_with_the_late_de_an_overdue_and_unsettled(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    scenario = Scenario(count=3, late=1, under=1, seed=7)
    sim = await simulate_year(
        ts_env.client,
        tq,
        scenario,
        sleep=ts_env.sleep,
        now=ts_env.get_current_time,
        workflow_id=f"ke-hoach/sim/{tq}",
    )
    run = PlanRun(ts_env.client, ts_env.client.get_workflow_handle(f"ke-hoach/sim/{tq}"))
    run.codes = [e.dossier.code for e in sim.entries]
    PlanRun.running.append(run)
    result = sim.result
    assert result is not None and sim.log and not [x for x in sim.log if ": [" in x]
    [late] = sim.late_codes
    mid, target, year_end, settlement = result.checkpoints
    assert mid.approved_count == 3 and mid.behind == []  # all contracted by 30/6
    assert [b.code for b in target.behind] == [late]  # not accepted by 30/11
    assert (target.done_count, target.done_bp) == (2, 6666)
    assert year_end.unsettled == [late] and settlement.unsettled == [late]
    assert settlement.counts_by_stage == {"closed": 2, "in_progress": 1}
    assert [b.code for b in settlement.behind] == [late]
    # the đề án settled for half its cost gave the rest back, once, as soon as it settled
    plan_state = await run.handle.query("state", result_type=PlanState)
    assert len([i for i in plan_state.items if (i.released or 0) > 0]) == 1
    assert result.released > 0 and settlement.released == result.released
    assert result.committed == result.envelope - result.released

    handle = ts_env.client.get_workflow_handle(workflow_id_for(late))
    async with asyncio.timeout(10):  # the đề án records its own missed deadline
        while not (state := await handle.query("state", result_type=DeAnState)).overdue:
            await asyncio.sleep(0.02)
    assert state.stage is Stage.IN_PROGRESS
    assert any(key.startswith("settlement:") for key in state.missed_deadlines)
    row = await db_pool.fetchrow("SELECT overdue FROM de_an WHERE de_an_id = $1", late)
    assert row is not None and row["overdue"] is True

    out = io.StringIO()
    print_simulation(sim, out)
    assert "Hạn quyết toán" in out.getvalue() and late in out.getvalue()
