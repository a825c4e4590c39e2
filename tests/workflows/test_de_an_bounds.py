"""No input can wedge a đề án: numbers out of range are refused at the door, naming the field,
and a step the database refuses anyway is refused as an action, the workflow unchanged."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.model import workflow_id_for
from domain.stages import Action, Stage
from khuyencong.converter import data_converter
from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM, UBND, dossier_on
from tests.support.histories import failed_attempts
from tests.support.lifecycle import Driver, appraisal, approval, today_of
from tests.support.refusing_db import Refuse
from workflows.de_an import LOCAL_WRITES_PATCH, DeAnWorkflow
from workflows.de_an_contract import DeAnInput

TOO_BIG = [10**30, 2**63 - 1]


def payloads(today: date, value: int) -> dict[str, tuple[Action, dict[str, Any]]]:
    """One update per bounded field, with ``value`` in that field (everything else valid), as
    raw payloads: the models would refuse such a number before it is sent."""
    day = today.isoformat()
    return {
        "accepted_cost": (Action.ACCEPT, {"actor": SO, "minutes_number": "NT-01", "accepted_on": day,
                                     "accepted_cost": value, "accepted_volume_bp": 10_000}),
        "spent_cost": (Action.REPORT_PROGRESS, {"actor": TRUNG_TAM, "month": day[:7],
                                           "investment_done_bp": 5_000, "spent_cost": value,
                                           "reported_on": day}),
        "disallowed_cost": (Action.SETTLE, {"actor": SO, "settlement_number": "QT-01",
                                       "settled_on": day, "disallowed_cost": value}),
        "approved_support": (Action.APPROVE, {**approval(UBND, today, 1).model_dump(),
                                              "approved_support": value}),
        "request_no": (Action.PAY_ADVANCE, {"actor": KE_TOAN_BG, "request_no": value, "paid_on": day,
                                       "voucher_number": "A1"}),
    }  # fmt: skip


async def updates_in_history(d: Driver) -> list[str]:
    history = await d.handle.fetch_history()
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


@pytest.mark.parametrize("value", TOO_BIG, ids=["10^30", "2^63-1"])
@pytest.mark.parametrize(
    "field", ["accepted_cost", "spent_cost", "disallowed_cost", "approved_support", "request_no"]
)
async def test_an_out_of_range_number_is_refused_before_the_history_naming_its_field(
    ts_env: WorkflowEnvironment, tq: str, field: str, value: int
) -> None:
    today = await today_of(ts_env)
    d = await Driver.register(ts_env.client, tq, dossier_on(today), today)
    before = await d.state()
    update, payload = payloads(today, value)[field]

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.send_raw(update, payload)

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidField" and cause.non_retryable
    (problem,) = cause.details
    assert problem["field"] == field
    assert "vượt mức trần" in problem["message"]
    assert await d.state() == before
    assert await updates_in_history(d) == []


async def test_amounts_at_the_ceiling_pass_the_door(ts_env: WorkflowEnvironment, tq: str) -> None:
    today = await today_of(ts_env)
    d = await Driver.register(ts_env.client, tq, dossier_on(today), today)
    await d.act(appraisal(SO, today))
    update, payload = payloads(today, 1_000_000_000_000)["approved_support"]
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.send_raw(update, payload)
    # Read and judged by the rules: the request, not the ceiling, is what refuses it.
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type != "InvalidField"


async def test_a_registration_with_a_requested_support_of_10_to_the_30_fails_at_once_and_frees_the_code(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    data = DeAnInput(dossier=dossier, registered_by=TRUNG_TAM, registered_on=today).model_dump(
        mode="json"
    )
    data["dossier"]["requested_support"] = 10**30  # a client that skipped the validation
    handle = await ts_env.client.start_workflow(
        "DeAnWorkflow",
        data,
        id=workflow_id_for(dossier.code),
        task_queue=tq,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidField"
    assert "dossier.requested_support" in str(cause)

    d = await Driver.register(ts_env.client, tq, dossier, today)  # same code, now valid
    assert (await d.state()).stage is Stage.REGISTERED


# --- the database refuses a step anyway ----------------------------------------------------------


async def test_a_step_the_database_refuses_refuses_the_update_and_leaves_the_state_as_it_was(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool, refuse_step: Refuse
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    d = await Driver.register(ts_env.client, tq, dossier, today)
    trigger = await refuse_step(dossier.code, "appraise")
    before = await d.state()

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.act(appraisal(SO, today), update_id="appraise-refused")

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NotStored" and cause.non_retryable
    assert "giá trị vượt phạm vi (kiểm thử)" in cause.message
    assert "đề án giữ nguyên" in cause.message
    assert await d.state() == before
    row = await db_pool.fetchrow("SELECT stage, seq FROM de_an WHERE de_an_id = $1", dossier.code)
    assert (row["stage"], row["seq"]) == ("registered", 1)
    # Tried once: the activity failed as non-retryable, it did not retry with the lock held.
    history = await d.handle.fetch_history()
    assert failed_attempts(history) == [1]

    # The lock was released: the same action, once the database takes it, goes through.
    await db_pool.execute(f"DROP TRIGGER {trigger} ON de_an_event")
    result = await d.act(appraisal(SO, today), update_id="appraise-again")
    assert result.stage is Stage.APPRAISED
    assert (await d.state()).seq == before.seq + 1

    # The refusal is behind its patch (taken with the lean path's), and the history replays.
    history = await d.handle.fetch_history()
    markers = [
        str(e.marker_recorded_event_attributes)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert any(LOCAL_WRITES_PATCH in m for m in markers)
    await Replayer(workflows=[DeAnWorkflow], data_converter=data_converter).replay_workflow(history)


async def test_a_registration_the_database_refuses_fails_the_workflow_typed_and_frees_the_code(
    ts_env: WorkflowEnvironment, tq: str, db_pool: asyncpg.Pool, refuse_step: Refuse
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    trigger = await refuse_step(dossier.code, "register")
    handle = await ts_env.client.start_workflow(
        DeAnWorkflow.run,
        DeAnInput(dossier=dossier, registered_by=TRUNG_TAM, registered_on=today),
        id=workflow_id_for(dossier.code),
        task_queue=tq,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotStored"
    assert f"không ghi được đăng ký đề án {dossier.code}" in cause.message
    assert (
        await db_pool.fetchval("SELECT count(*) FROM de_an WHERE de_an_id = $1", dossier.code) == 0
    )

    await db_pool.execute(f"DROP TRIGGER {trigger} ON de_an_event")
    d = await Driver.register(ts_env.client, tq, dossier, today)
    assert (await d.state()).stage is Stage.REGISTERED
