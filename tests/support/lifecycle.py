"""A driver that takes a đề án through its life in a test, and the usual first steps.

Officials and dossiers come from :mod:`tests.support.builders`.

Dates are taken from the server's clock (``today``), because the workflow refuses paper
dates in the future: a test works on any day it runs, and time-skipping moves ``today`` on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.deadlines import vn_date
from domain.model import (
    Actor,
    DeAnDossier,
    workflow_id_for,
)
from domain.stages import Action
from khuyencong.updates import execute_de_an_update
from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM, UBND, dossier_on
from tests.support.waiting import until
from workflows.de_an import DeAnWorkflow
from workflows.de_an_actions import for_command
from workflows.de_an_contract import (
    AppraisalVerdict,
    DeAnActionResult,
    DeAnAppraise,
    DeAnApprove,
    DeAnCommand,
    DeAnInput,
    DeAnPayAdvance,
    DeAnRequestAdvance,
    DeAnSignContract,
    DeAnState,
)


async def today_of(env: WorkflowEnvironment) -> date:
    return vn_date(await env.get_current_time())


def action_of(command: DeAnCommand) -> Action:
    """The action (update name) whose payload ``command`` is: the catalogue's lookup."""
    return for_command(command).action


class Driver:
    """Sends officials' updates to one đề án and reads it back."""

    started: ClassVar[list[WorkflowHandle[DeAnWorkflow, Any]]] = []
    """Every đề án a test started, so the fixture can end those still running."""

    def __init__(self, client: Client, handle: WorkflowHandle[DeAnWorkflow, Any]) -> None:
        self.client = client
        self.handle = handle

    @classmethod
    async def register(
        cls,
        client: Client,
        task_queue: str,
        dossier: DeAnDossier,
        registered_on: date,
        registered_by: Actor = TRUNG_TAM,
    ) -> Driver:
        """Start the đề án (its registration by ``registered_by``). The harness's clients sign
        the start for ``registered_by`` and enrol them in the harness register, as they do for
        updates (tests/support/identity.py); the worker verifies it (verify_registration)."""
        handle = await client.start_workflow(
            DeAnWorkflow.run,
            DeAnInput(dossier=dossier, registered_by=registered_by, registered_on=registered_on),
            id=workflow_id_for(dossier.code),
            task_queue=task_queue,
        )
        cls.started.append(handle)
        driver = cls(client, handle)
        await driver.until(lambda state: state.seq >= 1)  # the registration step is applied
        return driver

    async def until(
        self, predicate: Callable[[DeAnState], bool], timeout: float = 10.0
    ) -> DeAnState:
        """Poll the state query until ``predicate`` holds: a condition, not a guess of time."""
        seen: list[DeAnState] = []

        async def holds() -> bool:
            seen.append(await self.state())
            return predicate(seen[-1])

        await until(holds, timeout)
        return seen[-1]

    async def idle(self) -> Driver:
        """Wait until the workflow has run its course for now (no activity, no workflow task
        pending), so its history stands still until an update is accepted: an update sent
        then never shares a workflow task with a result."""

        async def still() -> bool:
            raw = (await self.handle.describe()).raw_description
            return not raw.pending_activities and not raw.HasField("pending_workflow_task")

        await until(still, timeout=10, interval=0.05)
        return self

    async def act(self, command: DeAnCommand, update_id: str | None = None) -> DeAnActionResult:
        """Send ``command`` as the update of its action (:func:`action_of`)."""
        return await self.send_raw(action_of(command), command, update_id)

    async def send_raw(
        self, action: Action, payload: DeAnCommand | Mapping[str, Any], update_id: str | None = None
    ) -> DeAnActionResult:
        """Send ``payload`` as the update ``action`` as it stands: what a client of another
        version or a careless one puts on the wire (a number out of range, a field this code
        does not know), for the tests of the workflow's door. Otherwise use :meth:`act`."""
        result: DeAnActionResult = await execute_de_an_update(
            self.handle, action.value, payload, id=update_id, result_type=DeAnActionResult
        )
        return result

    async def state(self) -> DeAnState:
        return await self.handle.query(DeAnWorkflow.state)


def appraisal(
    actor: Actor, on: date, verdict: str = "pass", minutes: str = "BB-01"
) -> DeAnAppraise:
    return DeAnAppraise(
        actor=actor,
        verdict=AppraisalVerdict(verdict),
        appraised_on=on,
        minutes_number=minutes,
        reason="" if verdict == "pass" else "Thiếu báo giá thiết bị",
    )


def approval(actor: Actor, on: date, support: int, number: str = "427/QĐ-UBND") -> DeAnApprove:
    return DeAnApprove(
        actor=actor,
        decision_number=number,
        decision_date=on,
        signer=actor.full_name,
        approved_support=support,
    )


def contract(actor: Actor, on: date, support: int, number: str = "15/HĐ-KC") -> DeAnSignContract:
    return DeAnSignContract(
        actor=actor, contract_number=number, signed_on=on, contracted_support=support
    )


async def approved_provincial(
    client: Client, task_queue: str, today: date, **dossier_overrides: Any
) -> Driver:
    """A provincial đề án up to an approval of its requested support."""
    dossier = dossier_on(today, **dossier_overrides)
    d = await Driver.register(client, task_queue, dossier, today)
    await d.act(appraisal(SO, today))
    await d.act(approval(UBND, today, dossier.requested_support))
    return d


async def contracted_provincial(
    client: Client, task_queue: str, today: date, **dossier_overrides: Any
) -> Driver:
    d = await approved_provincial(client, task_queue, today, **dossier_overrides)
    state = await d.state()
    await d.act(contract(SO, today, state.approved_support))
    return d


def days(n: int) -> timedelta:
    return timedelta(days=n)


async def end_started_workflows() -> None:
    """Terminate the đề án a test left running: their timers would otherwise wake workflow
    tasks that no worker polls, and the time-skipping server does not skip past pending work."""
    while Driver.started:
        handle = Driver.started.pop()
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")


TRAINING = {"support_item": "training", "cost": 100_000_000, "requested_support": 100_000_000}
"""A 100M training đề án, all of it supportable: advances up to 70 % on the contract."""


async def contracted_training(client: Client, task_queue: str, today: date) -> Driver:
    return await contracted_provincial(client, task_queue, today, **TRAINING)


async def paid_advance(
    d: Driver, today: date, amount: int, request_no: int = 1
) -> DeAnActionResult:
    """The Trung tâm requests an advance and finance pays it."""
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=amount, requested_on=today))
    return await d.act(
        DeAnPayAdvance(
            actor=KE_TOAN_BG,
            request_no=request_no,
            paid_on=today,
            voucher_number=f"A{request_no}",
        )
    )


async def end_running(client: Client, codes: Iterable[str]) -> None:
    """Terminate the đề án of ``codes`` that still run (a test's leftovers; never started ones
    are skipped)."""

    async def end(code: str) -> None:
        handle = client.get_workflow_handle(workflow_id_for(code))
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")
        except RPCError:
            pass  # never started

    await asyncio.gather(*(end(c) for c in codes))
