"""Jurisdiction follows the successor province (workflow patch
``unit-successor-jurisdiction-v1``): a đề án registered in Bắc Giang before 1/7/2025 and still
open after it is acted on by Bắc Ninh's officials, no longer by Bắc Giang's former ones; the
first act of the successor is recorded; a history recorded before the change replays."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from domain.places import UnitRegistry
from tests.support.builders import SO, SO_BAC_NINH, UBND_BAC_NINH, dossier_on
from tests.support.histories import before_the_lean_path, took_patch
from tests.support.lifecycle import Driver, appraisal, approval, today_of
from tests.support.temporal import suite_data_converter
from workflows import de_an_decisions as decisions
from workflows.de_an import DeAnWorkflow
from workflows.de_an_decisions import common

BEFORE_MERGER = date(2025, 3, 1)


async def registered_before_the_merger(env: WorkflowEnvironment, tq: str) -> tuple[Driver, date]:
    today = await today_of(env)
    assert today > date(2025, 7, 1), "the test clock runs after the merger"
    dossier = dossier_on(today)
    return await Driver.register(env.client, tq, dossier, BEFORE_MERGER), today


def markers(history: object) -> str:
    return "".join(
        str(e.marker_recorded_event_attributes)
        for e in history.events  # type: ignore[attr-defined]
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    )


async def test_a_bac_ninh_official_acts_on_a_former_bac_giang_de_an_and_the_transfer_is_recorded(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered_before_the_merger(ts_env, tq)

    await d.act(appraisal(SO_BAC_NINH, today))
    await d.act(approval(UBND_BAC_NINH, today, 200_000_000))

    state = await d.state()
    assert state.dossier.province == "Bắc Giang"  # the đề án keeps the unit it was registered in
    assert state.answering_province == "Bắc Ninh"
    transfers = [e for e in state.timeline if e.summary.startswith("Chuyển thẩm quyền")]
    assert len(transfers) == 1  # recorded once, at the successor's first act
    assert "Bắc Ninh" in transfers[0].summary and "01/07/2025" in transfers[0].summary
    history = await d.handle.fetch_history()
    assert took_patch(markers(history), decisions.UNIT_SUCCESSOR_PATCH)


async def test_bac_giang_former_officials_can_no_longer_act_and_are_told_why(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered_before_the_merger(ts_env, tq)

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.act(appraisal(SO, today))

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "WrongJurisdiction"
    assert "Bắc Ninh" in cause.message and "01/07/2025" in cause.message


async def test_a_paper_bac_giang_signed_before_the_merger_is_still_its_own(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, _ = await registered_before_the_merger(ts_env, tq)

    await d.act(appraisal(SO, date(2025, 6, 20)))  # typed in later, signed when it could

    assert (await d.state()).answering_province is None


async def test_a_history_recorded_before_the_change_replays_and_needed_the_patch(
    ts_env: WorkflowEnvironment, tq: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The code before the change: no units known, the province's name alone decides, so a
    # Bắc Giang official acted on the đề án after the merger (and no lean path yet).
    with monkeypatch.context() as before_the_change:
        before_the_change.setattr(common, "SHIPPED_UNITS", UnitRegistry())
        before_the_lean_path(before_the_change)
        d, today = await registered_before_the_merger(ts_env, tq)
        await d.act(appraisal(SO, today))
        history = await d.handle.fetch_history()
    assert not took_patch(markers(history), decisions.UNIT_SUCCESSOR_PATCH)

    # The current code decides that step as it was (the patch is not in the history).
    replayer = Replayer(workflows=[DeAnWorkflow], data_converter=suite_data_converter())
    await replayer.replay_workflow(history)

    # The same change without the patch would refuse the recorded step on replay.
    monkeypatch.setattr(decisions, "switches_for", lambda patched: common.RuleSwitches())
    unguarded = Replayer(
        workflows=[DeAnWorkflow],
        data_converter=suite_data_converter(),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(NondeterminismError):
        await unguarded.replay_workflow(history)
