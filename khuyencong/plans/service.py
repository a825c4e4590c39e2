"""Client-side operations on plans: start one, import a spreadsheet into it, decide, read it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.model import Actor, Level
from workflows.plan_contract import (
    PlanConfig,
    PlanDecision,
    PlanDecisionResult,
    PlanInput,
    PlanRegister,
    PlanRegisterResult,
    PlanRegistration,
    PlanResult,
    PlanState,
)

PLAN_WORKFLOW = "KeHoachWorkflow"


async def ensure_plan(
    client: Client,
    task_queue: str,
    config: PlanConfig,
    created_by: Actor,
    *,
    workflow_id: str | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start the plan, opened by ``created_by`` (the start is signed for them: the caller
    proved who they are), or attach to the running one with the same ID (its configuration
    wins)."""
    from khuyencong.identity_interceptors import vouching

    with vouching(created_by.official_id):
        return await client.start_workflow(
            PLAN_WORKFLOW,
            PlanInput(config=config, created_by=created_by),
            id=workflow_id or config.plan_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=PlanResult,
            static_summary=(
                f"Kế hoạch khuyến công năm {config.year} — {config.level.label}, "
                f"tỉnh {config.province}"
            ),
        )


IMPORT_CHUNK = 100
"""Rows per ``register`` update: a dossier is about 1.5 KB, so an update stays far below
Temporal's 2 MB payload limit however long the spreadsheet is."""


async def import_entries(
    handle: WorkflowHandle[Any, Any],
    entries: Sequence[PlanRegistration],
    digest: str,
    actor: Actor,
) -> PlanRegisterResult:
    """Register the validated rows, :data:`IMPORT_CHUNK` at a time, signed for ``actor`` (the
    centre's official the caller proved: the admin tool's password check, or the dev stack's
    and a simulation's own officials); each update's ID is the file's digest and the chunk's
    number, so importing the same file again answers the first import's results and changes
    nothing."""
    from khuyencong.identity_interceptors import vouching

    rows = list(entries)
    verdicts = []
    plan_id = handle.id
    for n, start in enumerate(range(0, len(rows), IMPORT_CHUNK)):
        chunk = rows[start : start + IMPORT_CHUNK]
        with vouching(actor.official_id):
            result: PlanRegisterResult = await handle.execute_update(
                "register",
                PlanRegister(entries=chunk, actor=actor),
                id=f"import:{digest}" if n == 0 else f"import:{digest}:{n}",
                result_type=PlanRegisterResult,
            )
        plan_id = result.plan_id
        verdicts += result.items
    return PlanRegisterResult(plan_id=plan_id, items=verdicts)


async def decide(handle: WorkflowHandle[Any, Any], decision: PlanDecision) -> PlanDecisionResult:
    """Send the decision, signed for its official (the caller proved who they are: the admin
    tool's password check, or a simulation's own officials)."""
    from khuyencong.identity_interceptors import vouching

    with vouching(decision.actor.official_id):
        result: PlanDecisionResult = await handle.execute_update(
            "decide",
            decision,
            id=f"decision:{decision.decision_number}",
            result_type=PlanDecisionResult,
        )
    return result


async def plan_state(handle: WorkflowHandle[Any, Any]) -> PlanState:
    state: PlanState = await handle.query("state", result_type=PlanState)
    return state


DEMO_PLAN_SIZE = 6


async def seed_demo_plan(
    client: Client,
    task_queue: str,
    today: date,
    *,
    workflow_id: str | None = None,
) -> tuple[str, PlanRegisterResult]:
    """The dev stack's live plan: Bắc Giang's provincial plan for next year, intake open until
    31 December, six generated đề án registered and waiting for appraisal and the decision,
    so officials can try ``plan decision-sheet`` / ``plan decide`` and watch the plan in the
    UI. Idempotent: a second run attaches to the plan and registers nothing again."""
    from khuyencong.plans.generator import PROVINCE, generate

    year = today.year + 1
    entries = generate(
        year,
        year=year,
        level=Level.DIA_PHUONG,
        count=DEMO_PLAN_SIZE,
        code_prefix=f"BG-{year}-KH",
        registered_on=today,
    )
    # Each asks 80 % of its cap (a raise stays possible), and the envelope holds 80 % of what
    # they ask (the decision has to choose).
    entries = [_asking_less(e) for e in entries]
    envelope = sum(e.dossier.requested_support for e in entries) * 8 // 10
    config = PlanConfig.with_defaults(PROVINCE, Level.DIA_PHUONG, year, envelope)
    # The generated rows name the province's centre registrar: the dev stack vouches for them.
    registrar = entries[0].registered_by
    handle = await ensure_plan(client, task_queue, config, registrar, workflow_id=workflow_id)
    return handle.id, await import_entries(handle, entries, f"demo-{year}", registrar)


def _asking_less(entry: PlanRegistration) -> PlanRegistration:
    dossier = entry.dossier
    support = max(dossier.requested_support * 8 // 10 // 1_000_000 * 1_000_000, 1_000_000)
    return entry.model_copy(
        update={
            "dossier": dossier.model_copy(
                update={
                    "requested_support": support,
                    "counterpart_funds": dossier.total_cost - support,
                }
            )
        }
    )
