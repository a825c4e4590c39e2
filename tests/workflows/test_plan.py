"""KeHoachWorkflow on the time-skipping server with the real activities and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.model import Actor, workflow_id_for
from domain.stages import Stage
from khuyencong.plans import service
from khuyencong.plans.importer import entries_to_rows, load_plan_file, write_xlsx
from khuyencong.plans.service import ensure_plan, import_entries, plan_state
from tests.support.builders import SO, TRUNG_TAM, UBND
from tests.support.lifecycle import today_of
from tests.support.waiting import until
from tests.workflows.plan_support import PlanRun, checkpoint, dossiers, plan_config
from workflows.de_an_contract import DeAnActionResult, DeAnState
from workflows.plan import KeHoachWorkflow
from workflows.plan_contract import (
    ItemStatus,
    PlanDecisionItem,
    PlanDecisionResult,
    PlanInput,
    PlanRegister,
    PlanRegisterResult,
    PlanRegistration,
    PlanResult,
    PlanState,
    Verdict,
)


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env(own_ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """These tests move the clock: each gets a time-skipping server of its own."""
    return own_ts_env


@pytest_asyncio.fixture(autouse=True)
async def end_plans(tq: str) -> AsyncIterator[None]:
    """End the plans while their worker still runs (this fixture is torn down before ``tq``)."""
    yield
    await PlanRun.end_all()


async def test_registrations_after_the_intake_window_closes_are_refused_with_the_date(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    plan = await PlanRun.start(ts_env.client, tq, plan_config(today, intake_days=5))
    first = await plan.register(dossiers(today, 1), today)
    assert isinstance(first, PlanRegisterResult) and first.accepted == 1

    await ts_env.sleep(timedelta(days=6))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await plan.register(dossiers(today, 1), today)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "IntakeClosed"
    assert f"{today + timedelta(days=5):%d/%m/%Y}" in cause.message
    state = await plan.handle.query(KeHoachWorkflow.state)
    assert [i.code for i in state.items] == plan.codes[:1]


async def test_registering_the_same_de_an_twice_starts_it_once(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    today = await today_of(ts_env)
    plan = await PlanRun.start(ts_env.client, tq, plan_config(today))
    batch = dossiers(today, 2)
    await plan.register(batch, today)
    again = await plan.register(batch, today)
    assert [i.already for i in again.items] == [True, True]
    state: PlanState = await plan.handle.query(KeHoachWorkflow.state)
    assert len(state.items) == 2
    rows = await db_pool.fetchval(
        "SELECT count(*) FROM plan_item WHERE de_an_id = ANY($1::text[])", [d.code for d in batch]
    )
    assert rows == 2


async def test_one_decision_approves_many_de_an_and_records_a_verdict_for_each(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    today = await today_of(ts_env)
    plan = await PlanRun.start(ts_env.client, tq, plan_config(today, envelope=500_000_000))
    a, b, c, d, e = dossiers(today, 5)  # 200 triệu requested each
    await plan.register([a, b, c, d, e], today)
    for ready in (a, c, d, e):
        await plan.appraise(ready.code, today)  # b is never appraised

    result = await plan.decide(
        [
            PlanDecisionItem(code=a.code),
            PlanDecisionItem(code=b.code),
            PlanDecisionItem(code=c.code, verdict=Verdict.REJECT, reason="Trùng nội dung"),
            PlanDecisionItem(code=d.code),
            PlanDecisionItem(code=e.code),
        ],
        today,
    )
    assert isinstance(result, PlanDecisionResult)
    verdicts = {i.code: (i.status, i.error_type) for i in result.items}
    assert verdicts == {
        a.code: (ItemStatus.APPROVED, None),
        b.code: (ItemStatus.REFUSED, "WrongStage"),  # the đề án's own rule
        c.code: (ItemStatus.REJECTED, None),
        # a, b, d reserved 600 of 500: d was refused by the plan in the first round, then
        # approved in the second with what b's refusal freed; e (200 of 100 left) is refused.
        d.code: (ItemStatus.APPROVED, None),
        e.code: (ItemStatus.REFUSED, "EnvelopeExceeded"),
    }
    assert [i.code for i in result.items] == [a.code, b.code, c.code, d.code, e.code]
    assert result.committed == 400_000_000
    refused = next(i for i in result.items if i.code == e.code)
    assert refused.refused_by_plan and "100.000.000" in refused.message

    approved = await ts_env.client.get_workflow_handle(workflow_id_for(a.code)).query(
        "state", result_type=DeAnState
    )
    assert approved.stage is Stage.APPROVED
    assert approved.approval is not None and approved.approval.number == "427/QĐ-UBND"
    assert approved.plan_id == plan.handle.id
    stored = await db_pool.fetch(
        "SELECT de_an_id, status, error_type FROM plan_verdict WHERE plan_id = $1",
        result.plan_id,
    )
    assert {r["de_an_id"]: r["status"] for r in stored} == {
        a.code: "approved",
        b.code: "refused",
        c.code: "rejected",
        d.code: "approved",
        e.code: "refused",
    }


async def test_checkpoints_count_a_release_made_when_a_de_an_stopped_without_making_it_again(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    today = await today_of(ts_env)
    config = plan_config(
        today,
        envelope=400_000_000,
        checkpoints=[
            checkpoint("first", today + timedelta(days=2)),
            checkpoint("second", today + timedelta(days=4), list_unsettled=True),
        ],
    )
    plan = await PlanRun.start(ts_env.client, tq, config)
    kept, stopped = dossiers(today, 2)
    await plan.register([kept, stopped], today)
    for x in (kept, stopped):
        await plan.appraise(x.code, today)
    decided = await plan.decide(
        [PlanDecisionItem(code=kept.code), PlanDecisionItem(code=stopped.code)], today
    )
    assert decided.committed == 400_000_000
    stop = {
        "actor": UBND,
        "decision_number": "500/QĐ-UBND",
        "decision_date": today,
        "reason": "Đơn vị thụ hưởng xin dừng",
    }
    stopped_result = await ts_env.client.get_workflow_handle(
        workflow_id_for(stopped.code)
    ).execute_update("stop", stop, result_type=DeAnActionResult)
    assert stopped_result.stage is Stage.CLOSED

    result = await plan.handle.result()
    assert isinstance(result, PlanResult)
    first, second = result.checkpoints
    assert first.released_now == second.released_now == []  # released when it closed
    assert first.released == second.released == 200_000_000
    assert first.committed == 200_000_000
    assert result.committed == 200_000_000 and result.released == 200_000_000
    assert [b.code for b in first.behind] == [kept.code]  # approved, not contracted
    assert second.unsettled == [kept.code]
    releases = await db_pool.fetch(
        "SELECT de_an_id, amount FROM plan_release WHERE plan_id = $1", result.plan_id
    )
    assert [tuple(r) for r in releases] == [(stopped.code, 200_000_000)]


async def test_importing_the_same_spreadsheet_twice_creates_nothing_twice(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    today = await today_of(ts_env)
    config = plan_config(today)
    batch = dossiers(today, 3)
    rows = entries_to_rows(
        [PlanRegistration(dossier=d, registered_by=TRUNG_TAM, registered_on=today) for d in batch]
    )
    write_xlsx(tmp_path / "ke-hoach.xlsx", rows)

    handle = await ensure_plan(
        ts_env.client, tq, config, TRUNG_TAM, workflow_id=f"{config.plan_id}/{tq}"
    )
    run = PlanRun(ts_env.client, handle)
    run.codes = [d.code for d in batch]
    PlanRun.running.append(run)
    for _ in range(2):
        entries, digest = load_plan_file(tmp_path / "ke-hoach.xlsx", config)
        again = await ensure_plan(ts_env.client, tq, config, TRUNG_TAM, workflow_id=handle.id)
        result = await import_entries(again, entries, digest, TRUNG_TAM)
        assert result.accepted == 3
    state = await plan_state(handle)
    assert sorted(i.code for i in state.items) == sorted(run.codes)
    count = "SELECT count(*) FROM de_an_event WHERE de_an_id = ANY($1::text[]) AND action = $2"

    async def all_registered() -> bool:  # each đề án records its registration as it starts
        return bool(await db_pool.fetchval(count, run.codes, "register") == 3)

    await until(all_registered)
    items = "SELECT count(*) FROM plan_item WHERE de_an_id = ANY($1::text[])"
    assert await db_pool.fetchval(items, run.codes) == 3


async def test_a_long_spreadsheet_is_registered_in_chunks_and_twice_is_still_once(
    ts_env: WorkflowEnvironment, tq: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "IMPORT_CHUNK", 2)  # 5 rows: 3 updates
    today = await today_of(ts_env)
    config = plan_config(today)
    batch = [
        PlanRegistration(dossier=d, registered_by=TRUNG_TAM, registered_on=today)
        for d in dossiers(today, 5)
    ]
    handle = await ensure_plan(
        ts_env.client, tq, config, TRUNG_TAM, workflow_id=f"{config.plan_id}/{tq}"
    )
    run = PlanRun(ts_env.client, handle)
    run.codes = [e.dossier.code for e in batch]
    PlanRun.running.append(run)
    first = await import_entries(handle, batch, "chunks", TRUNG_TAM)
    again = await import_entries(handle, batch, "chunks", TRUNG_TAM)
    assert [i.code for i in first.items] == run.codes and first.accepted == 5
    assert again == first
    history = await handle.fetch_history()
    updates = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(updates) == 3
    assert len((await plan_state(handle)).items) == 5


async def test_rows_enter_a_plan_only_from_a_verified_official_of_the_centre(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    plan = await PlanRun.start(ts_env.client, tq, plan_config(today))
    entries = [
        PlanRegistration(dossier=d, registered_by=TRUNG_TAM, registered_on=today)
        for d in dossiers(today, 1)
    ]
    for actor, refusal in ((None, "IdentityNotProven"), (SO, "WrongAuthority")):
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await plan.handle.execute_update(
                KeHoachWorkflow.register, PlanRegister(entries=entries, actor=actor)
            )
        error = failure.value.cause
        assert isinstance(error, ApplicationError) and error.type == refusal
    # Refused before history: nothing entered the plan, no đề án was started.
    assert (await plan_state(plan.handle)).items == []
    history = await plan.handle.fetch_history()
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )


@pytest.mark.parametrize(
    ("creator", "refusal"), [(None, "IdentityNotProven"), (SO, "WrongAuthority")]
)
async def test_a_plan_opened_by_anyone_but_a_verified_centre_official_fails_before_it_writes(
    ts_env: WorkflowEnvironment,
    tq: str,
    db_pool: asyncpg.Pool,
    creator: Actor | None,
    refusal: str,
) -> None:
    today = await today_of(ts_env)
    config = plan_config(today)
    handle = await ts_env.client.start_workflow(
        KeHoachWorkflow.run,
        PlanInput(config=config, created_by=creator),
        id=f"{config.plan_id}/{tq}/{refusal}",
        task_queue=tq,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == refusal
    written = await db_pool.fetchval("SELECT count(*) FROM plan WHERE plan_id = $1", handle.id)
    assert written == 0
