"""Bắc Giang 2014–2018 rebuilt through the engine: 166 đề án, each a ``DeAnWorkflow`` taken
from registration to closing with the dates of the paper record, on the production worker
and a database of its own; the report over what the engine wrote gives the interview's totals.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from db.pool import create_pool, drop_database, ensure_database, with_database
from domain.model import workflow_id_for
from khuyencong.plans.backfill import backfill_through_workflows
from khuyencong.plans.generator import (
    BAC_GIANG_DISTRICTS,
    INTERVIEW_CONTENT_AREAS,
    bac_giang_2014_2018,
)
from khuyencong.plans.reports import build_report
from migrations import apply_migrations
from tests.support.temporal import new_task_queue, run_worker
from workflows.de_an_contract import DeAnState


@pytest_asyncio.fixture(loop_scope="session")
async def history_pool(pg_url: str) -> AsyncIterator[Any]:
    """A database of its own: the read-model loader's rows of the same codes live in the
    session's database."""
    url = with_database(pg_url, f"kc_hist_{uuid.uuid4().hex[:8]}")
    await ensure_database(url)
    pool = await create_pool(url, min_size=1, max_size=10)
    try:
        await apply_migrations(pool)
        yield pool
    finally:
        await pool.close()
        await drop_database(url)


async def test_the_2014_2018_history_rebuilt_through_the_engine_reports_the_interview_totals(
    own_ts_env: WorkflowEnvironment, history_pool: Any
) -> None:
    client, entries = own_ts_env.client, bac_giang_2014_2018()
    task_queue = new_task_queue()
    async with run_worker(client, history_pool, task_queue):
        report = await backfill_through_workflows(client, task_queue, entries, pool=history_pool)
        assert report.failed == {}
        assert (report.started, len(report.closed)) == (166, 166)
        again = await backfill_through_workflows(client, task_queue, entries, pool=history_pool)
        assert (again.started, len(again.already_closed)) == (0, 166)  # nothing twice

        first = entries[0].dossier
        state = await client.get_workflow_handle(workflow_id_for(first.code)).query(
            "state", result_type=DeAnState
        )
        assert state.missed_deadlines == []  # paper years raise no false alarms
        assert state.approval is not None and state.approval.date.year == first.plan_year

    totals = await build_report(history_pool, 2014, 2018, province="Bắc Giang")
    assert totals.total is not None and totals.total.de_an == 166
    assert {k: g.de_an for k, g in totals.by("level").items()} == {
        "dia_phuong": 150,
        "quoc_gia": 16,
    }
    assert set(totals.by("district")) == set(BAC_GIANG_DISTRICTS)
    assert sorted(totals.by("content_area"), key=str) == INTERVIEW_CONTENT_AREAS
    requested = sum(e.dossier.requested_support for e in entries)
    assert totals.total.approved == totals.total.paid == requested
    assert {k: g.de_an for k, g in totals.by("stage").items()} == {"closed": 166}
    assert {c.level: c.de_an for c in totals.counterpart} == {"dia_phuong": 150, "quoc_gia": 16}
    events = await history_pool.fetchval("SELECT count(*) FROM de_an_event")
    payments = await history_pool.fetchval("SELECT count(*) FROM payment")
    assert events >= 166 * 8 and payments == 166  # every step and every payout, once
