"""Helpers of the plan workflow tests: a plan on the time-skipping server and its đề án."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from domain.model import DeAnDossier, Level, workflow_id_for
from domain.stages import Action, Stage
from khuyencong.updates import execute_de_an_update
from tests.support.builders import BG, SO, TRUNG_TAM, UBND, dossier_on
from tests.support.lifecycle import appraisal
from workflows.de_an_contract import DeAnActionResult
from workflows.plan import KeHoachWorkflow
from workflows.plan_contract import (
    CheckpointKind,
    PlanCheckpoint,
    PlanConfig,
    PlanDecision,
    PlanDecisionItem,
    PlanInput,
    PlanRegister,
    PlanRegistration,
)


def checkpoint(key: str, on: date, expect: Stage = Stage.IN_PROGRESS, **kw: Any) -> PlanCheckpoint:
    return PlanCheckpoint(key=key, label=f"Mốc {key}", on=on, expect=expect, **kw)


def plan_config(
    today: date,
    *,
    envelope: int = 500_000_000,
    intake_days: int = 30,
    checkpoints: Sequence[PlanCheckpoint] | None = None,
    province: str = BG,
) -> PlanConfig:
    """A provincial plan for this year whose checkpoints lie ahead (the server's clock is
    today's date: a test cannot go back in time)."""
    return PlanConfig(
        province=province,
        level=Level.DIA_PHUONG,
        year=today.year,
        envelope=envelope,
        intake_closes_on=today + timedelta(days=intake_days),
        checkpoints=list(
            checkpoints
            if checkpoints is not None
            else [checkpoint("far", today + timedelta(days=300), kind=CheckpointKind.OTHER)]
        ),
    )


class PlanRun:
    """A plan started in a test, with the đề án it registered (ended when the test ends)."""

    running: ClassVar[list[PlanRun]] = []

    def __init__(self, client: Client, handle: WorkflowHandle[Any, Any]) -> None:
        self.client = client
        self.handle = handle
        self.codes: list[str] = []

    @classmethod
    async def start(cls, client: Client, task_queue: str, config: PlanConfig) -> PlanRun:
        handle = await client.start_workflow(
            KeHoachWorkflow.run,
            PlanInput(config=config, created_by=TRUNG_TAM),
            id=f"{config.plan_id}/{task_queue}",  # one plan ID per test
            task_queue=task_queue,
        )
        run = cls(client, handle)
        cls.running.append(run)
        return run

    async def register(self, dossiers: Sequence[DeAnDossier], on: date) -> Any:
        result = await self.handle.execute_update(
            KeHoachWorkflow.register,
            PlanRegister(
                entries=[
                    PlanRegistration(dossier=d, registered_by=TRUNG_TAM, registered_on=on)
                    for d in dossiers
                ],
                actor=TRUNG_TAM,
            ),
        )
        self.codes += [d.code for d in dossiers]
        return result

    async def appraise(self, code: str, on: date) -> DeAnActionResult:
        handle = self.client.get_workflow_handle(workflow_id_for(code))
        result: DeAnActionResult = await execute_de_an_update(
            handle, Action.APPRAISE.value, appraisal(SO, on), result_type=DeAnActionResult
        )
        return result

    async def decide(
        self, items: Sequence[PlanDecisionItem], on: date, number: str = "427/QĐ-UBND"
    ) -> Any:
        return await self.handle.execute_update(
            KeHoachWorkflow.decide,
            PlanDecision(
                decision_number=number,
                decision_date=on,
                signer=UBND.full_name,
                actor=UBND,
                items=list(items),
            ),
        )

    @classmethod
    async def end_all(cls) -> None:
        while cls.running:
            run = cls.running.pop()
            handles = [run.handle] + [
                run.client.get_workflow_handle(workflow_id_for(c)) for c in run.codes
            ]
            for handle in handles:
                try:
                    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("test finished")
                except RPCError:
                    pass  # never started (refused at registration) or already gone


def dossiers(today: date, n: int, **overrides: Any) -> list[DeAnDossier]:
    return [dossier_on(today, **overrides) for _ in range(n)]


__all__ = ["PlanRun", "checkpoint", "dossiers", "plan_config"]
