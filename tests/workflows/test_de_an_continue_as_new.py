"""A đề án with hundreds of inspection visits continues as new, and loses nothing.

The history limit is lowered through ``DeAnInput.history_event_limit`` (in production the
server suggests continue-as-new at ~4K events or ~4 MB); each run's history stays short,
the whole state crosses every boundary, update IDs applied in an earlier run stay applied,
and the đề án closes with the same money as if it had never continued.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.model import workflow_id_for
from domain.stages import Stage
from khuyencong.search_attributes import KC_APPROVED_SUPPORT, KC_STAGE
from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM, UBND, dossier_on
from tests.support.lifecycle import Driver, action_of, appraisal, approval, contract, today_of
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import (
    TIMELINE_KEPT,
    DeAnAccept,
    DeAnCommand,
    DeAnInput,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRecordVisit,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnSettle,
)

VISITS = 200
LIMIT = 300  # events per run


async def runs_of(client: Client, workflow_id: str, first_run_id: str) -> list[list[Any]]:
    """The events of every run of the chain, following ContinuedAsNew from the first."""
    runs: list[list[Any]] = []
    run_id: str | None = first_run_id
    while run_id is not None:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(list(history.events))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return runs


def visit(n: int, on: date) -> DeAnRecordVisit:
    findings = ["Sổ theo dõi thiết bị chưa cập nhật"] if n % 40 == 0 else []
    return DeAnRecordVisit(actor=SO, visited_on=on, minutes_number=f"KT-{n:03d}", findings=findings)


async def test_hundreds_of_visits_cross_continue_as_new_without_losing_anything(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    client = ts_env.client
    today = await today_of(ts_env)
    dossier = dossier_on(
        today, support_item="training", cost=100_000_000, requested_support=100_000_000
    )
    workflow_id = workflow_id_for(dossier.code)
    handle: WorkflowHandle[Any, Any] = await client.start_workflow(
        DeAnWorkflow.run,
        DeAnInput(
            dossier=dossier,
            registered_by=TRUNG_TAM,
            registered_on=today,
            history_event_limit=LIMIT,
        ),
        id=workflow_id,
        task_queue=tq,
    )
    first_run_id = handle.result_run_id
    assert first_run_id is not None
    Driver.started.append(handle)
    d = Driver(client, client.get_workflow_handle_for(DeAnWorkflow.run, workflow_id))  # latest run
    await d.until(lambda s: s.seq >= 1)

    async def act(ref: str, command: DeAnCommand) -> Any:
        action = action_of(command)
        return await d.act(command, update_id=f"{workflow_id}:{action}:{ref}")

    await act("BB-1", appraisal(SO, today, minutes="BB-1"))
    await act("427", approval(UBND, today, 100_000_000))
    await act("15", contract(SO, today, 100_000_000))

    # Officials act concurrently (several visits in flight at a time), as they would.
    for batch in range(0, VISITS, 8):
        await asyncio.gather(
            *(act(f"KT-{n:03d}", visit(n, today)) for n in range(batch, batch + 8))
        )
        if batch % 40 == 0:
            await act(str(batch), DeAnResolveFindings(actor=SO, resolved_on=today))

    # A retry of updates applied in the first run (client timeout, double click) is answered,
    # not applied again.
    before = await d.state()
    for n in (0, 1, 2):
        again = await act(f"KT-{n:03d}", visit(n, today))
        assert "đã được ghi nhận trước đó" in again.message
    again = await act("BB-1", appraisal(SO, today, minutes="BB-1"))
    assert again.stage is Stage.IN_PROGRESS
    assert (await d.state()).seq == before.seq

    await act("1", DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=today))
    await act(
        "1",
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A1"),
    )
    await act(
        "NT-1",
        DeAnAccept(
            actor=SO,
            minutes_number="NT-1",
            accepted_on=today,
            accepted_cost=100_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await act("QT-1", DeAnSettle(actor=SO, settlement_number="QT-1", settled_on=today))
    closed = await act(
        "C-1", DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C-1")
    )
    assert closed.stage is Stage.CLOSED
    result = await d.handle.result()
    assert (result.stage, result.advanced, result.paid) == (Stage.CLOSED, 70_000_000, 100_000_000)

    # It did continue as new, several times, and every run stayed short.
    runs = await runs_of(client, workflow_id, first_run_id)
    assert len(runs) >= 4
    # A run ends a little past the limit: the updates already in flight finish first.
    assert all(len(events) <= LIMIT + 120 for events in runs), [len(e) for e in runs]

    # Nothing was lost: every visit, every step, every update ID, once.
    state = await d.state()
    resolutions = len(range(0, VISITS, 40))
    steps = 1 + 3 + VISITS + resolutions + 5  # register … pay_settlement
    assert state.seq == steps == len(set(state.step_keys))
    # The state keeps the last steps of the timeline, numbered; PostgreSQL holds them all.
    assert [e.seq for e in state.timeline] == list(range(steps - TIMELINE_KEPT + 1, steps + 1))
    assert state.timeline[-1].action == "pay_settlement"
    visits = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE de_an_id = $1 AND action = 'record_visit'",
        dossier.code,
    )
    assert visits == VISITS
    assert len(state.applied_update_ids) == len(set(state.applied_update_ids)) == steps - 1
    assert f"{workflow_id}:record_visit:KT-000" in state.applied_update_ids
    assert state.registered_on == today and state.approval is not None
    assert state.open_findings == [] and state.resolutions == resolutions

    # The read model saw every step exactly once.
    events = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE de_an_id = $1", dossier.code
    )
    assert events == steps

    # Search attributes travel with the chain (the new run inherits, then upserts).
    described = await d.handle.describe()
    assert described.typed_search_attributes.get(KC_STAGE) == Stage.CLOSED.value
    assert described.typed_search_attributes.get(KC_APPROVED_SUPPORT) == 100_000_000
