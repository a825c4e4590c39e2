"""A plan's envelope follows its đề án after the decision: support adjustments ask the plan
first, and a đề án that settles or closes gives back what it did not use at once.

Time-skipping server, real activities, embedded PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.authority import AdjustmentKind
from domain.decisions import decision_scope
from domain.model import workflow_id_for
from domain.stages import Stage
from tests.support.builders import SO, UBND
from tests.support.lifecycle import Driver, today_of
from tests.support.waiting import until
from tests.workflows.plan_support import PlanRun, checkpoint, dossiers, plan_config
from workflows.de_an_contract import DeAnAdjust, DeAnStop
from workflows.plan import KeHoachWorkflow
from workflows.plan_contract import (
    PlanCommitmentChange,
    PlanCommitmentResult,
    PlanDecisionItem,
    PlanResult,
    PlanState,
)


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env(own_ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """These tests move the clock: each gets a time-skipping server of its own."""
    return own_ts_env


@pytest_asyncio.fixture(autouse=True)
async def end_plans(tq: str) -> AsyncIterator[None]:
    yield
    await PlanRun.end_all()


def adjustment(kind: str, number: str, on: date, new_support: int) -> DeAnAdjust:
    return DeAnAdjust(
        # A raise is the approver's (UBND tỉnh); a cut is the Sở's (TT 36/2013 Điều 11).
        actor=UBND if kind == "increase_support" else SO,
        kind=AdjustmentKind(kind),
        decision_number=number,
        decision_date=on,
        description="Điều chỉnh kinh phí hỗ trợ",
        new_support=new_support,
    )


async def approved_pair(
    ts_env: WorkflowEnvironment, tq: str, envelope: int, **overrides: Any
) -> Any:
    """A plan with two đề án approved at 150 triệu each by one decision (cap: 200 triệu)."""
    today = await today_of(ts_env)
    plan = await PlanRun.start(ts_env.client, tq, plan_config(today, envelope=envelope))
    pair = dossiers(today, 2, cost=800_000_000, requested_support=150_000_000, **overrides)
    await plan.register(pair, today)
    for d in pair:
        await plan.appraise(d.code, today)
    decided = await plan.decide([PlanDecisionItem(code=d.code) for d in pair], today)
    assert decided.committed == 300_000_000
    drivers = [
        Driver(ts_env.client, ts_env.client.get_workflow_handle(workflow_id_for(d.code)))
        for d in pair
    ]
    return plan, drivers, today


async def plan_committed(plan: PlanRun) -> dict[str, int]:
    state: PlanState = await plan.handle.query(KeHoachWorkflow.state)
    return {i.code: i.committed - (i.released or 0) for i in state.items}


async def test_a_support_increase_the_plan_envelope_cannot_hold_is_refused_and_changes_nothing(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    plan, (a, b), today = await approved_pair(ts_env, tq, envelope=380_000_000)

    raised = await a.act(adjustment("increase_support", "501/QĐ-UBND", today, 190_000_000))
    assert raised.approved_support == 190_000_000  # 40 triệu of the 80 left

    before = await b.state()
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await b.act(adjustment("increase_support", "502/QĐ-UBND", today, 200_000_000))
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == "EnvelopeExceeded"
    assert error.non_retryable
    details = error.details[0]
    assert details["field"] == "new_support"
    assert "Thông tư 36/2013/TT-BCT Điều 6" in details["legal_basis"]
    assert "40.000.000" in details["message"]  # what the envelope has left
    after = await b.state()
    assert (after.approved_support, after.seq, after.timeline) == (
        before.approved_support,
        before.seq,
        before.timeline,
    )
    a_code = (await a.state()).dossier.code
    assert await plan_committed(plan) == {a_code: 190_000_000, before.dossier.code: 150_000_000}

    # Lowering a frees room: the same raise under a new decision now fits.
    await a.act(adjustment("decrease_support", "503/QĐ-UBND", today, 160_000_000))
    again = await b.act(adjustment("increase_support", "504/QĐ-UBND", today, 200_000_000))
    assert again.approved_support == 200_000_000
    assert sum((await plan_committed(plan)).values()) == 360_000_000
    rows = await db_pool.fetch(
        "SELECT decision_number, committed_before, committed_after FROM plan_commitment_change "
        "WHERE plan_id = $1 ORDER BY recorded_at",
        plan.handle.id,
    )
    assert [tuple(r) for r in rows] == [
        ("501/QĐ-UBND", 150_000_000, 190_000_000),
        ("503/QĐ-UBND", 190_000_000, 160_000_000),
        ("504/QĐ-UBND", 150_000_000, 200_000_000),
    ]


async def test_the_plan_applies_an_adjustment_decision_once_whatever_the_update_id(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    plan, (a, _), today = await approved_pair(ts_env, tq, envelope=500_000_000)
    code = (await a.state()).dossier.code
    raised = await a.act(adjustment("increase_support", "505/QĐ-UBND", today, 180_000_000))
    assert raised.approved_support == 180_000_000

    # A retried activity, or a new attempt of the đề án's handler, sends the same decision
    # under another update ID: the plan answers it and changes nothing.
    change = PlanCommitmentChange(
        code=code,
        decision_number="505/QĐ-UBND",
        decision_date=today,
        new_support=180_000_000,
        actor=UBND,
    )
    again: PlanCommitmentResult = await plan.handle.execute_update(
        KeHoachWorkflow.change_commitment, change, id="lap-lai-1"
    )
    assert (again.committed, again.plan_committed) == (180_000_000, 330_000_000)
    # The same decision with another amount is a different paper: refused.
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await plan.handle.execute_update(
            KeHoachWorkflow.change_commitment,
            change.model_copy(update={"new_support": 170_000_000}),
            id="lap-lai-2",
        )
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == "AlreadyDecided"
    assert sum((await plan_committed(plan)).values()) == 330_000_000
    count = await db_pool.fetchval(
        "SELECT count(*) FROM plan_commitment_change WHERE plan_id = $1", plan.handle.id
    )
    assert count == 1


async def test_a_stopped_de_an_gives_its_commitment_back_at_once_and_only_once(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    today = await today_of(ts_env)
    config = plan_config(
        today,
        envelope=400_000_000,
        checkpoints=[checkpoint("later", today + timedelta(days=30))],
    )
    plan = await PlanRun.start(ts_env.client, tq, config)
    kept, stopped = dossiers(today, 2)
    await plan.register([kept, stopped], today)
    for d in (kept, stopped):
        await plan.appraise(d.code, today)
    await plan.decide([PlanDecisionItem(code=d.code) for d in (kept, stopped)], today)

    stop = Driver(ts_env.client, ts_env.client.get_workflow_handle(workflow_id_for(stopped.code)))
    closed = await stop.act(
        DeAnStop(
            actor=UBND,
            decision_number="506/QĐ-UBND",
            decision_date=today,
            reason="Đơn vị thụ hưởng xin dừng",
        ),
    )
    assert closed.stage is Stage.CLOSED

    async def released() -> bool:  # the signal is handled by the plan's main loop
        state: PlanState = await plan.handle.query(KeHoachWorkflow.state)
        item = state.item(stopped.code)
        return item is not None and item.released is not None

    await until(released)
    state: PlanState = await plan.handle.query(KeHoachWorkflow.state)
    assert state.checkpoints == []  # released before any checkpoint
    assert await plan_committed(plan) == {kept.code: 200_000_000, stopped.code: 0}

    result = await plan.handle.result()  # the checkpoint 30 days on releases nothing more
    assert isinstance(result, PlanResult)
    (later,) = result.checkpoints
    assert later.released_now == [] and later.released == 200_000_000
    assert result.committed == 200_000_000 and result.released == 200_000_000
    rows = await db_pool.fetch(
        "SELECT de_an_id, amount, checkpoint_key, released_at IS NOT NULL AS dated "
        "FROM plan_release WHERE plan_id = $1",
        result.plan_id,
    )
    assert [tuple(r) for r in rows] == [(stopped.code, 200_000_000, None, True)]


async def test_after_the_plan_has_ended_a_raise_is_refused_a_cut_and_a_stop_go_through(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    # The beneficiaries commit to fund the whole cost if the support is cut.
    plan, (a, b), today = await approved_pair(
        ts_env, tq, envelope=1_000_000_000, counterpart_funds=800_000_000
    )
    await plan.handle.terminate("năm kế hoạch đã kết thúc")

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await a.act(adjustment("increase_support", "701/QĐ-UBND", today, 180_000_000))
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == "PlanClosed"
    assert (await a.state()).approved_support == 150_000_000

    cut = await a.act(adjustment("decrease_support", "702/QĐ-UBND", today, 120_000_000))
    assert cut.approved_support == 120_000_000
    stopped = await b.act(
        DeAnStop(
            actor=UBND,
            decision_number="703/QĐ-UBND",
            decision_date=today,
            reason="Đơn vị thụ hưởng xin dừng",
        ),
    )
    assert stopped.stage is Stage.CLOSED  # the plan cannot be told; the đề án closes anyway


async def test_a_raise_whose_decision_number_is_refused_gives_the_plan_its_room_back(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool
) -> None:
    """The plan holds the raise before the step is written; when the register of decision
    numbers then refuses the number (used by the other đề án with another date), the raise
    is undone in the plan and the đề án is unchanged (issue 10, item 7)."""
    plan, (a, b), today = await approved_pair(ts_env, tq, envelope=500_000_000)
    before = await a.state()
    # The number as the other đề án's paper recorded it, one day earlier.
    other = await b.state()
    dossier = other.dossier
    await db_pool.execute(
        "INSERT INTO decision_register (scope, year, number_key, number, decision_date, signer,"
        " first_key, first_de_an) VALUES ($1, $2, $3, $3, $4, NULL, $5, $6)",
        decision_scope(dossier.level, dossier.province),
        today.year,
        "511/QĐ-UBND",
        today - timedelta(days=1) if today.day > 1 else today + timedelta(days=1),
        f"{other.de_an_id}:register",
        other.de_an_id,
    )
    raise_ = adjustment("increase_support", "511/QĐ-UBND", today, 190_000_000)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await a.act(raise_)
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == "DecisionNumberReused"
    after = await a.state()
    assert (after.approved_support, after.seq) == (before.approved_support, before.seq)
    assert (await plan_committed(plan))[before.de_an_id] == 150_000_000
    state: PlanState = await plan.handle.query(KeHoachWorkflow.state)
    item = next(i for i in state.items if i.code == before.de_an_id)
    assert item.commitment_decisions == {"511/QĐ-UBND": 190_000_000, "511/QĐ-UBND:huy": 150_000_000}


async def test_a_commitment_change_without_a_verified_official_is_refused_and_changes_nothing(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    plan, (a, _), today = await approved_pair(ts_env, tq, envelope=500_000_000)
    code = (await a.state()).dossier.code
    before = await plan_committed(plan)
    unsigned = PlanCommitmentChange(
        code=code, decision_number="506/QĐ-UBND", decision_date=today, new_support=100_000_000
    )
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await plan.handle.execute_update(KeHoachWorkflow.change_commitment, unsigned, id="vo-danh")
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == "IdentityNotProven"
    assert await plan_committed(plan) == before
