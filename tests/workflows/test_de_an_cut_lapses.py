"""``cut-lapses-advances-v1`` through the engine (time-skipping server, production worker, real
PostgreSQL): a history recorded before the rule, where a cut left an open request above the new
advance ceiling and it was paid, carries no marker and replays unchanged by the old rule; one
recorded now carries the marker, and deciding it by the old rule would not replay."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from domain.stages import Action
from tests.support import temporal as support_temporal
from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM
from tests.support.histories import before_the_lean_path, payload_texts, took_patch
from tests.support.lifecycle import Driver, contracted_provincial, today_of
from tests.support.temporal import new_task_queue, run_worker, suite_data_converter
from workflows import de_an_actions as actions
from workflows import de_an_decisions as rules
from workflows.de_an import CUT_LAPSES_PATCH, DeAnWorkflow
from workflows.de_an_contract import (
    DeAnAdjust,
    DeAnCommand,
    DeAnPayAdvance,
    DeAnRequestAdvance,
    DeAnState,
)


def replayer(**kwargs: object) -> Replayer:
    return Replayer(workflows=[DeAnWorkflow], data_converter=suite_data_converter(), **kwargs)  # type: ignore[arg-type]


def deciding_by_the_old_cut_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code before the rule, in this process (the worker unsandboxed): the patch is never
    asked, and validators and handlers decide a cut and a payment as they did then."""
    at_stake, decide = rules.patches_at_stake, actions.decide

    def never_asked(
        state: DeAnState, action: Action, command: DeAnCommand, now: datetime | None = None
    ) -> set[str]:
        return at_stake(state, action, command, now) - {CUT_LAPSES_PATCH}

    def old_rule(
        state: DeAnState,
        action: Action,
        command: DeAnCommand,
        now: datetime,
        switches: rules.RuleSwitches = rules.CURRENT_RULES,
    ) -> rules.Outcome:
        old = dataclasses.replace(switches, cut_lapses_advances=False)
        return decide(state, action, command, now, old)

    monkeypatch.setattr(rules, "patches_at_stake", never_asked)
    monkeypatch.setattr(actions, "decide", old_rule)
    monkeypatch.setattr(support_temporal, "SANDBOX", UnsandboxedWorkflowRunner())
    before_the_lean_path(monkeypatch)


async def request_then_cut(ts_env: WorkflowEnvironment, tq: str) -> Driver:
    """Training, 100 tr contracted (advances up to 70 tr); 50 tr requested, then support cut
    to 60 tr: the new ceiling, 42 tr, no longer holds the request."""
    today = await today_of(ts_env)
    d = await contracted_provincial(
        ts_env.client,
        tq,
        today,
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
        counterpart_funds=100_000_000,
    )
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=50_000_000, requested_on=today))
    await d.act(
        DeAnAdjust(
            actor=SO,
            kind="decrease_support",
            decision_number=f"{random.randint(100_000, 999_999)}/QĐ-SCT",
            decision_date=today,
            description="Giảm quy mô lớp",
            new_support=60_000_000,
        )
    )
    return d


def pay(today: date, no: int) -> DeAnPayAdvance:
    return DeAnPayAdvance(actor=KE_TOAN_BG, request_no=no, paid_on=today, voucher_number=f"A{no}")


async def texts(history: WorkflowHistory) -> str:
    return "\n".join(await payload_texts(history, None))


async def test_a_history_recorded_before_the_rule_has_no_marker_and_replays_by_the_old_rule(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    deciding_by_the_old_cut_rule(monkeypatch)
    async with run_worker(ts_env.client, db_pool, new_task_queue()) as worker:
        d = await request_then_cut(ts_env, worker.task_queue)
        state = await d.state()
        assert state.advances[0].lapsed_on is None  # the old rule: nothing lapses
        paid = await d.act(pay(await today_of(ts_env), 1))
        assert (paid.approved_support, paid.advanced) == (60_000_000, 50_000_000)
        history = await d.handle.fetch_history()
        await d.handle.terminate("test finished")
    monkeypatch.undo()

    assert not took_patch(await texts(history), CUT_LAPSES_PATCH)
    await replayer().replay_workflow(history)  # the current code decides it by the old rule


async def test_a_cut_recorded_now_carries_the_marker_and_the_old_rule_would_not_replay_it(
    ts_env: WorkflowEnvironment, tq: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = await today_of(ts_env)
    d = await request_then_cut(ts_env, tq)
    assert (await d.state()).advances[0].lapsed_on == today
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=42_000_000, requested_on=today))
    paid = await d.act(pay(today, 2))
    assert paid.advanced == 42_000_000
    history = await d.handle.fetch_history()
    assert took_patch(await texts(history), CUT_LAPSES_PATCH)
    await replayer().replay_workflow(history)

    # by the old rule the request does not lapse, so the second request, accepted in the
    # history, is refused in its handler (one is still open) and its step never scheduled
    monkeypatch.setattr(
        rules,
        "switches_for",
        lambda patched: rules.RuleSwitches(cut_lapses_advances=False),
    )
    with pytest.raises(NondeterminismError):
        await replayer(workflow_runner=UnsandboxedWorkflowRunner()).replay_workflow(history)


async def test_no_recorded_history_met_the_cut_rule_so_none_carries_its_marker() -> None:
    histories = Path(__file__).resolve().parent.parent / "histories"
    codec = suite_data_converter().payload_codec
    recorded = sorted([*histories.glob("v*/*.json"), *histories.glob("plans/*/*.json")])
    assert recorded
    for path in recorded:
        name = f"{path.parent.name}/{path.stem}"
        history = WorkflowHistory.from_json(name, path.read_text("utf-8"))
        assert CUT_LAPSES_PATCH not in "\n".join(await payload_texts(history, codec)), path
