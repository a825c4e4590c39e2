"""Deadlines are durable timers: months pass in the time-skipping server, and each missed
deadline is recorded once, as an event and a notification row."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.deadlines import DeadlineKind, vn_date
from tests.support.builders import SO, TRUNG_TAM
from tests.support.lifecycle import Driver, contracted_provincial, today_of
from workflows.de_an_contract import DeAnAccept, DeAnReportProgress
from workflows.de_an_decisions import pending_deadlines


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env(own_ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """These tests move the clock: each gets a time-skipping server of its own."""
    return own_ts_env


async def next_year_de_an(ts_env: WorkflowEnvironment, tq: str) -> Driver:
    """Contracted today for next year's plan, so monthly deadlines lie ahead whatever today is."""
    today = await today_of(ts_env)
    year = today.year + 1
    d = await contracted_provincial(
        ts_env.client,
        tq,
        today,
        plan_year=year,
        schedule={"start": date(year, 1, 1), "end": date(year, 12, 31)},
    )
    return d


async def skip_past(ts_env: WorkflowEnvironment, moment: datetime) -> None:
    await ts_env.sleep(moment - await ts_env.get_current_time())
    await ts_env.sleep(1)


async def notifications(pool: asyncpg.Pool, de_an_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT deadline_kind, ref FROM notification WHERE de_an_id = $1 ORDER BY due_date",
        de_an_id,
    )
    return [(r["deadline_kind"], r["ref"]) for r in rows]


async def test_a_missed_monthly_report_is_recorded_once_as_event_and_notification(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    d = await next_year_de_an(ts_env, tq)
    first = pending_deadlines(await d.state())[0]
    assert first.kind is DeadlineKind.PROGRESS_REPORT

    await skip_past(ts_env, first.missed_at)

    state = await d.until(lambda s: first.key in s.missed_deadlines)
    assert state.overdue
    assert state.missed_deadlines.count(first.key) == 1
    assert (DeadlineKind.PROGRESS_REPORT.value, first.ref) in await notifications(
        db_pool, state.de_an_id
    )
    row = await db_pool.fetchrow("SELECT overdue FROM de_an WHERE de_an_id = $1", state.de_an_id)
    assert row["overdue"] is True
    event = await db_pool.fetchval(
        "SELECT summary FROM de_an_event WHERE de_an_id = $1 AND action = 'deadline_missed'",
        state.de_an_id,
    )
    assert "Quá hạn" in event and "trước ngày 25" in event


async def test_a_report_filed_in_time_is_not_flagged(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    d = await next_year_de_an(ts_env, tq)
    first, second = pending_deadlines(await d.state())[:2]
    # File the first month's report on its last allowed day.
    await skip_past(
        ts_env, datetime.combine(first.due_date, datetime.min.time(), first.missed_at.tzinfo)
    )
    await d.act(
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=first.ref,
            investment_done_bp=1000,
            spent_cost=10_000_000,
            reported_on=first.due_date,
        ),
    )
    await skip_past(ts_env, second.missed_at)

    state = await d.until(lambda s: second.key in s.missed_deadlines)
    assert first.key not in state.missed_deadlines
    assert [ref for _, ref in await notifications(db_pool, state.de_an_id)] == [second.ref]


async def test_the_settlement_dossier_is_due_15_days_after_acceptance(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    d = await next_year_de_an(ts_env, tq)
    today = vn_date(await ts_env.get_current_time())
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-1",
            accepted_on=today,
            accepted_cost=600_000_000,
            accepted_volume_bp=10000,
        ),
    )
    dossier_deadline = pending_deadlines(await d.state())[0]
    assert dossier_deadline.kind is DeadlineKind.SETTLEMENT_DOSSIER
    assert (dossier_deadline.due_date - today).days == 15

    await skip_past(ts_env, dossier_deadline.missed_at)

    state = await d.until(lambda s: dossier_deadline.key in s.missed_deadlines)
    assert (DeadlineKind.SETTLEMENT_DOSSIER.value, today.isoformat()) in await notifications(
        db_pool, state.de_an_id
    )


async def test_an_unsettled_de_an_misses_the_22_january_settlement_deadline(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    d = await next_year_de_an(ts_env, tq)
    state = await d.state()
    owed = pending_deadlines(state)
    reports = [x for x in owed if x.kind is DeadlineKind.PROGRESS_REPORT]
    settlement = next(x for x in owed if x.kind is DeadlineKind.SETTLEMENT)
    assert settlement.due_date == date(state.budget_year + 1, 1, 22)

    await skip_past(ts_env, settlement.missed_at)

    state = await d.until(lambda s: settlement.key in s.missed_deadlines)
    kinds = [kind for kind, _ in await notifications(db_pool, state.de_an_id)]
    assert kinds.count(DeadlineKind.SETTLEMENT.value) == 1
    # no report all year: every month from the contract to December of the plan year
    assert kinds.count(DeadlineKind.PROGRESS_REPORT.value) == len(reports) >= 12
    assert pending_deadlines(state) == []
