"""A missed deadline the database refuses to store neither wedges nor fails the đề án: the
workflow keeps it in its state (logged), tries once, and goes on taking actions."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.stages import Stage
from tests.support.builders import TRUNG_TAM
from tests.support.histories import failed_attempts
from tests.support.lifecycle import contracted_provincial, today_of
from tests.support.refusing_db import Refuse
from workflows.de_an_contract import DeAnReportProgress
from workflows.de_an_decisions import pending_deadlines


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env(own_ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """This test moves the clock: a time-skipping server of its own."""
    return own_ts_env


async def test_a_missed_deadline_the_database_refuses_is_kept_in_the_state_and_the_de_an_goes_on(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str, refuse_step: Refuse
) -> None:
    today = await today_of(ts_env)
    year = today.year + 1
    d = await contracted_provincial(
        ts_env.client,
        tq,
        today,
        plan_year=year,
        schedule={"start": date(year, 1, 1), "end": date(year, 12, 31)},
    )
    state = await d.state()
    await refuse_step(state.de_an_id, "deadline_missed")
    first = pending_deadlines(state)[0]

    await ts_env.sleep(first.missed_at - await ts_env.get_current_time())
    await ts_env.sleep(1)

    after = await d.until(lambda s: first.key in s.missed_deadlines)
    assert after.stage is Stage.IN_PROGRESS and after.overdue
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM notification WHERE de_an_id = $1", state.de_an_id
        )
        == 0
    )
    history = await d.handle.fetch_history()
    assert failed_attempts(history) == [1]  # tried once, not again and again

    # Still taking actions: the monthly report goes through and the read model catches up.
    await d.act(
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=first.ref,
            investment_done_bp=1000,
            spent_cost=10_000_000,
            reported_on=await today_of(ts_env),
        ),
    )
    row = await db_pool.fetchrow(
        "SELECT stage, overdue FROM de_an WHERE de_an_id = $1", state.de_an_id
    )
    assert (row["stage"], row["overdue"]) == ("in_progress", True)
