"""The timer of the next deadline runs on across steps that leave that deadline as it was
(patch ``steady-deadline-timer-v1``): no timer is cancelled and started again per step."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from tests.support.builders import SO
from tests.support.histories import before_the_lean_path, has_marker
from tests.support.lifecycle import TRAINING, Driver, contracted_provincial, paid_advance, today_of
from workflows.de_an import LOCAL_WRITES_PATCH, STEADY_TIMER_PATCH
from workflows.de_an_contract import DeAnRecordVisit
from workflows.de_an_decisions import pending_deadlines


def count(history: WorkflowHistory, kind: EventType.ValueType) -> int:
    return sum(1 for e in history.events if e.event_type == kind)


async def contracted_for_next_year(ts_env: WorkflowEnvironment, tq: str) -> tuple[Driver, date]:
    today = await today_of(ts_env)
    year = today.year + 1
    d = await contracted_provincial(
        ts_env.client,
        tq,
        today,
        plan_year=year,
        schedule={"start": date(year, 1, 1), "end": date(year, 12, 31)},
        **TRAINING,
    )
    return d, today


async def test_steps_that_keep_the_next_deadline_leave_its_timer_running(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await contracted_for_next_year(ts_env, tq)
    deadline = pending_deadlines(await d.state())[0]
    before = await d.handle.fetch_history()
    assert count(before, EventType.EVENT_TYPE_TIMER_STARTED) == 1  # the first monthly report

    await paid_advance(d, today, 30_000_000)
    await d.act(DeAnRecordVisit(actor=SO, visited_on=today, minutes_number="KT-01"))

    after = await d.handle.fetch_history()
    assert pending_deadlines(await d.state())[0] == deadline
    assert count(after, EventType.EVENT_TYPE_TIMER_STARTED) == 1
    assert count(after, EventType.EVENT_TYPE_TIMER_CANCELED) == 0
    assert has_marker(after, LOCAL_WRITES_PATCH)  # the lean path takes the steady timer


async def test_the_same_steps_cost_two_timer_events_each_without_the_patch(
    ts_env: WorkflowEnvironment, tq: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the patch saves, shown on the old wait (a đề án started before the change)."""
    real = workflow.patched

    def patched(patch_id: str) -> bool:
        return False if patch_id == STEADY_TIMER_PATCH else real(patch_id)

    monkeypatch.setattr(workflow, "patched", patched)
    before_the_lean_path(monkeypatch)
    d, today = await contracted_for_next_year(ts_env, tq)
    await paid_advance(d, today, 30_000_000)
    await d.act(DeAnRecordVisit(actor=SO, visited_on=today, minutes_number="KT-01"))

    history = await d.handle.fetch_history()
    assert not has_marker(history, STEADY_TIMER_PATCH)
    assert count(history, EventType.EVENT_TYPE_TIMER_CANCELED) == 3  # one per step
    assert count(history, EventType.EVENT_TYPE_TIMER_STARTED) == 4
