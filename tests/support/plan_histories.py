"""A real plan year whose histories are committed under ``tests/histories/plans`` and replayed
in CI (``tests/workflows/test_plan_replay.py``).

``python -m tests.support.plan_histories <set>`` records the scenario with the production
worker on the time-skipping server and an embedded PostgreSQL, as
:mod:`tests.support.record_histories` does for single đề án. Record a new set before every
change to ``KeHoachWorkflow`` (or to how a đề án talks to its plan) that could touch
determinism, and commit it beside the older sets.

The scenario, ``decided-adjusted-stopped``: a provincial plan of 400 triệu with three đề án of
150 triệu each; one decision approves all three, but the second was never appraised and
refuses, and the third does not fit in the first round (150 of 100 left); the first is then
raised to 190 triệu, the third (if approved) is stopped; two checkpoints fire. Recorded:
the plan's history and the histories of the raised and the stopped đề án.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.model import workflow_id_for
from tests.support.builders import SO, TRUNG_TAM, UBND, dossier_on
from tests.support.lifecycle import Driver, today_of
from tests.workflows.plan_support import PlanRun, checkpoint, plan_config
from workflows.de_an_contract import DeAnAdjust, DeAnState, DeAnStop
from workflows.plan import KeHoachWorkflow
from workflows.plan_contract import PlanDecisionItem, PlanInput

HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "plans"

CODES = ("BG-KH-HIST-01", "BG-KH-HIST-02", "BG-KH-HIST-03")


async def decided_adjusted_stopped(
    env: WorkflowEnvironment, task_queue: str, tag: str = ""
) -> dict[str, WorkflowHandle[Any, Any]]:
    """Run the scenario to the plan's end; return the handles to record, by file name."""
    today = await today_of(env)
    config = plan_config(
        today,
        envelope=400_000_000,
        checkpoints=[
            checkpoint("first", today + timedelta(days=2)),
            checkpoint("second", today + timedelta(days=4), list_unsettled=True),
        ],
    )
    handle = await env.client.start_workflow(
        KeHoachWorkflow.run,
        PlanInput(config=config, created_by=TRUNG_TAM),
        id=f"{config.plan_id}{tag}",
        task_queue=task_queue,
    )
    plan = PlanRun(env.client, handle)
    PlanRun.running.append(plan)
    raised, unappraised, stopped = (
        dossier_on(today, code=f"{code}{tag}", cost=800_000_000, requested_support=150_000_000)
        for code in CODES
    )
    await plan.register([raised, unappraised, stopped], today)
    for d in (raised, stopped):
        await plan.appraise(d.code, today)
    await plan.decide(
        [PlanDecisionItem(code=d.code) for d in (raised, unappraised, stopped)], today
    )
    drivers = {
        d.code: Driver(env.client, env.client.get_workflow_handle(workflow_id_for(d.code)))
        for d in (raised, stopped)
    }
    await drivers[raised.code].act(
        DeAnAdjust(
            actor=UBND,
            kind="increase_support",
            decision_number="601/QĐ-UBND",
            decision_date=today,
            description="Bổ sung thiết bị",
            new_support=190_000_000,
        ),
        update_id=f"{raised.code}:adjust:601",
    )
    third: DeAnState = await drivers[stopped.code].state()
    if third.approval is not None:  # approved in a second round (after the rescreen patch)
        await drivers[stopped.code].act(
            DeAnStop(
                actor=UBND,
                decision_number="602/QĐ-UBND",
                decision_date=today,
                reason="Đơn vị thụ hưởng xin dừng",
            ),
            update_id=f"{stopped.code}:stop:602",
        )
    else:  # first round only: a cut by the Sở instead, so both sets hold an adjustment
        await drivers[raised.code].act(
            DeAnAdjust(
                actor=SO,
                kind="decrease_support",
                decision_number="603/QĐ-UBND",
                decision_date=today,
                description="Giảm khối lượng",
                new_support=170_000_000,
            ),
            update_id=f"{raised.code}:adjust:603",
        )
    await handle.result()
    return {
        "plan": handle,
        "raised": drivers[raised.code].handle,
        "third": drivers[stopped.code].handle,
    }


async def record(set_name: str) -> list[Path]:
    from tests.support.record_histories import recording_stack, write_history

    out = HISTORIES / set_name
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    async with recording_stack() as (env, task_queue):
        handles = await decided_adjusted_stopped(env, task_queue)
        for name, h in handles.items():
            path = out / f"decided-adjusted-stopped--{name}.json"
            written.append(write_history(path, await h.fetch_history()))
        await PlanRun.end_all()
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(record(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
