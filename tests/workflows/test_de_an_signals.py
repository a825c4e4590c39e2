"""Signals that land while a handler waits on an activity are not lost."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notifications import DeAnNotificationActivities
from activities.officials import OfficialsActivities
from activities.payments import DeAnPaymentActivities
from activities.records import DeAnRecordActivities
from activities.rule_packs import RulePackActivities
from domain.model import Actor, Role
from domain.stages import Action, Stage
from khuyencong.updates import start_de_an_update
from tests.support.builders import SO, UBND, dossier_on, new_code, official
from tests.support.identity import harness_identity_interceptor, harness_verify_registration
from tests.support.lifecycle import Driver, appraisal, today_of
from tests.support.temporal import new_task_queue, run_worker
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import DeAnActionResult, DeAnInactiveOfficialsQuery, DeAnStep


class GatedRecords(DeAnRecordActivities):
    """Holds the appraisal's write until the test opens the gate."""

    gate: asyncio.Event

    @activity.defn(name="record_step")
    async def record_step(self, step: DeAnStep) -> bool:
        if step.action is Action.APPRAISE:
            await self.gate.wait()
        return await super().record_step(step)


async def test_a_deactivation_signalled_while_a_step_is_persisted_is_kept(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    records = GatedRecords(db_pool)
    records.gate = asyncio.Event()
    task_queue = new_task_queue()
    worker = Worker(
        ts_env.client,
        task_queue=task_queue,
        workflows=[DeAnWorkflow],
        activities=[
            records.record_step,
            DeAnPaymentActivities(db_pool).record_payment,
            DeAnNotificationActivities(db_pool).record_missed_deadline,
            RulePackActivities().load_rule_packs,
            OfficialsActivities(db_pool).load_inactive_officials,
            harness_verify_registration(),
        ],
        interceptors=[harness_identity_interceptor()],
    )
    async with worker:
        today = await today_of(ts_env)
        d = await Driver.register(ts_env.client, task_queue, dossier_on(today), today)
        appraising = await start_de_an_update(
            d.handle,
            Action.APPRAISE.value,
            appraisal(SO, today),
            result_type=DeAnActionResult,
        )
        await d.handle.signal(
            "official_deactivated", {"official_id": UBND.official_id, "deactivated_on": today}
        )
        await d.until(lambda s: UBND.official_id in s.deactivated_officials)
        records.gate.set()
        await appraising.result()

        state = await d.state()
        assert state.seq == 2  # registered, appraised
        assert UBND.official_id in state.deactivated_officials
        await d.handle.terminate("test finished")


class DeactivatedMeanwhile(OfficialsActivities):
    """The admin deactivates ``official`` just after the đề án's first read of the register,
    before its registration row exists: the deactivation's signals cannot reach it."""

    official: Actor

    @activity.defn(name="load_inactive_officials")
    async def load_inactive_officials(self, query: DeAnInactiveOfficialsQuery) -> list[str]:
        inactive = await super().load_inactive_officials(query)
        await self._pool.execute(
            "INSERT INTO officials (id, full_name, organisation, role, province, active,"
            " deactivated_at) VALUES ($1, $2, $3, $4, $5, false, now())"
            " ON CONFLICT (id) DO UPDATE SET active = false",
            self.official.official_id,
            self.official.full_name,
            self.official.organisation,
            self.official.role.value,
            self.official.province,
        )
        return inactive


async def test_a_deactivation_committed_while_a_de_an_registers_still_reaches_it(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    gone = official(f"so-race-{new_code()}".lower(), Role.SO_CONG_THUONG)
    officials = DeactivatedMeanwhile(db_pool)
    officials.official = gone
    task_queue = new_task_queue()
    async with run_worker(ts_env.client, db_pool, task_queue, officials=officials):
        today = await today_of(ts_env)
        d = await Driver.register(ts_env.client, task_queue, dossier_on(today), today)
        # The read after registering (it follows the registration's write) reaches it; the
        # test used to look as soon as the write was applied, before that read had returned.
        state = await d.until(lambda s: gone.official_id in s.deactivated_officials)
        assert state.stage is Stage.REGISTERED and state.seq == 1
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await d.act(appraisal(gone, today))
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InactiveOfficial"
        await d.handle.terminate("test finished")
