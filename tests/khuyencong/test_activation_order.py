"""khuyencong/activation_order.py: an update delivered with a result never leaves a history
that a worker cannot replay.

The live tests reproduce how the stuck histories of the fault run arose: a workflow task
carries an activity's result and an update, and the first execution handles them in two
activations (:class:`SplitDelivery` does what the SDK did there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest
from temporalio import activity
from temporalio.bridge.proto.workflow_activation import (
    DoUpdate,
    ResolveActivity,
    WorkflowActivation,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import StartTimer, WorkflowCommand
from temporalio.bridge.proto.workflow_completion import (
    Success,
    WorkflowActivationCompletion,
)
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Replayer,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.workflow import _Definition

from activities.notifications import DeAnNotificationActivities
from activities.officials import OfficialsActivities
from activities.payments import DeAnPaymentActivities
from activities.records import DeAnRecordActivities
from activities.rule_packs import RulePackActivities
from domain.stages import Stage
from khuyencong.activation_order import (
    UpdateOrderRunner,
    is_ambiguous,
    merge,
    mixes_updates,
    replay_as_worker,
    split_updates_last,
)
from khuyencong.converter import data_converter
from khuyencong.updates import execute_de_an_update
from tests.support.builders import SO, UBND, dossier_on
from tests.support.histories import before_the_lean_path
from tests.support.identity import harness_identity_interceptor, harness_verify_registration
from tests.support.lifecycle import Driver, appraisal, approval, contract, today_of
from tests.support.temporal import new_task_queue, until_admitted
from tests.support.waiting import until
from worker import SANDBOX
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import DeAnActionResult, DeAnStep

# --- the pure parts ---------------------------------------------------------------------------


def activation(*kinds: str, replaying: bool = True) -> WorkflowActivation:
    jobs = []
    for kind in kinds:
        if kind == "update":
            jobs.append(WorkflowActivationJob(do_update=DoUpdate(id="u1", name="appraise")))
        elif kind == "result":
            jobs.append(WorkflowActivationJob(resolve_activity=ResolveActivity(seq=3)))
    return WorkflowActivation(run_id="r", is_replaying=replaying, history_length=23, jobs=jobs)


def test_only_a_replayed_activation_with_an_update_and_a_result_is_ambiguous() -> None:
    assert is_ambiguous(activation("update", "result"))
    assert not is_ambiguous(activation("update", "result", replaying=False))
    assert mixes_updates(activation("update", "result", replaying=False))
    assert not is_ambiguous(activation("update"))
    assert not is_ambiguous(activation("result"))


def test_splitting_puts_the_updates_last_and_keeps_the_tasks_time_and_length() -> None:
    first, second = split_updates_last(activation("update", "result"))
    assert [j.WhichOneof("variant") for j in first.jobs] == ["resolve_activity"]
    assert [j.WhichOneof("variant") for j in second.jobs] == ["do_update"]
    assert first.history_length == second.history_length == 23


def test_merging_keeps_the_commands_of_both_activations_in_order() -> None:
    def done(seq: int) -> WorkflowActivationCompletion:
        command = WorkflowCommand(start_timer=StartTimer(seq=seq))
        return WorkflowActivationCompletion(successful=Success(commands=[command]))

    merged = merge(done(1), done(2))
    assert [c.start_timer.seq for c in merged.successful.commands] == [1, 2]
    failed = WorkflowActivationCompletion(run_id="r")
    failed.failed.failure.message = "boom"
    assert merge(failed, done(2)) is failed


# --- live: an update that arrives with an activity's result ----------------------------------


class SplitDelivery(WorkflowRunner):
    """Hands a first execution's updates to the workflow after the other jobs of their task,
    in a second activation: the order the stuck histories recorded."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self.inner = inner

    def prepare_workflow(self, defn: _Definition) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _SplitInstance(self.inner.create_instance(det))


class _SplitInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        if act.is_replaying or not mixes_updates(act):
            return self._inner.activate(act)
        first, second = split_updates_last(act)
        return merge(self._inner.activate(first), self._inner.activate(second))

    def get_serialization_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_external_store_context(command_info)

    def get_info(self):  # type: ignore[no-untyped-def]
        return self._inner.get_info()


class GatedRecords:
    """``record_step`` that holds an approval's write until the test opens the gate."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.records = DeAnRecordActivities(pool)
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    @activity.defn(name="record_step")
    async def record_step(self, step: DeAnStep) -> bool:
        if step.action == "approve":
            self.entered.set()
            await self.gate.wait()
        return await self.records.record_step(step)


@asynccontextmanager
async def activity_worker(
    client: Client, pool: asyncpg.Pool, tq: str, records: GatedRecords
) -> AsyncIterator[None]:
    worker = Worker(
        client,
        task_queue=tq,
        activities=[
            records.record_step,
            DeAnPaymentActivities(pool).record_payment,
            DeAnNotificationActivities(pool).record_missed_deadline,
            RulePackActivities().load_rule_packs,
            OfficialsActivities(pool).load_inactive_officials,
        ],
    )
    async with worker:
        yield


@pytest.fixture(autouse=True)
def writes_as_regular_activities(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trap needs a result from the server: an activity's, as on the old path (a đề án
    started before ``local-writes-v1``, a plan's answer, a write handed over after its local
    attempts). On the lean path a step's write is a local activity, whose result never
    arrives in a task of its own."""
    before_the_lean_path(monkeypatch)


def workflow_worker(client: Client, tq: str, runner: WorkflowRunner) -> Worker:
    # No cache: the task with the result and the update is a fresh replay, as after a crash.
    return Worker(
        client,
        task_queue=tq,
        workflows=[DeAnWorkflow],
        # The registration's identity check is a local activity: it runs on this worker.
        activities=[harness_verify_registration()],
        no_remote_activities=True,  # the activity worker beside it polls those
        interceptors=[harness_identity_interceptor()],
        workflow_runner=runner,
        max_cached_workflows=0,
    )


async def completed_activities(d: Driver) -> int:
    history = await d.handle.fetch_history()
    return sum(1 for e in history.events if e.HasField("activity_task_completed_event_attributes"))


@dataclass
class Delivered:
    """A đề án whose approval's result and a contract reached a fresh worker in one task."""

    d: Driver
    approved: DeAnActionResult
    contract: asyncio.Task[DeAnActionResult]
    today: date


@asynccontextmanager
async def contract_with_the_approvals_result(
    env: WorkflowEnvironment, pool: asyncpg.Pool, runner: WorkflowRunner
) -> AsyncIterator[Delivered]:
    """Approve a đề án, stop the workflow worker while the approval's write is held, let the
    write finish, send the contract, and only then start a worker (with ``runner``): the
    contract and the write's result arrive in one workflow task. Yields inside that worker."""
    client, tq = env.client, new_task_queue()
    today = await today_of(env)
    records = GatedRecords(pool)
    async with activity_worker(client, pool, tq, records):
        async with workflow_worker(client, tq, runner):
            d = await Driver.register(client, tq, dossier_on(today), today)
            # The registration done first (its last read included): the trap this test sets
            # is the approval's.
            await d.idle()
            await d.act(appraisal(SO, today))
            records.gate.clear()
            approving = asyncio.create_task(d.act(approval(UBND, today, 200_000_000)))
            await asyncio.wait_for(records.entered.wait(), 10)
        written = await completed_activities(d)
        records.gate.set()

        async def write_reported() -> bool:
            return await completed_activities(d) > written

        # The approval's result must wait in the server before the contract is sent, or the
        # contract would reach the worker in a task of its own.
        await until(write_reported)
        sending = asyncio.create_task(
            d.handle.execute_update(
                "sign_contract",
                contract(SO, today, 200_000_000),
                id="contract-1",
                result_type=DeAnActionResult,
            )
        )
        await until_admitted(client, d.handle.id, "contract-1")
        async with workflow_worker(client, tq, runner):
            yield Delivered(d, await approving, sending, today)


async def test_an_update_arriving_with_a_result_is_refused_as_busy_and_accepted_when_sent_again(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    runner = SplitDelivery(SANDBOX)  # the production sandbox: the workflow class is shared
    async with contract_with_the_approvals_result(dev_env, db_pool, runner) as got:
        assert got.approved.stage is Stage.APPROVED
        with pytest.raises(WorkflowUpdateFailedError) as busy:
            await got.contract
        assert isinstance(busy.value.cause, ApplicationError)
        assert busy.value.cause.type == "DeAnBusy"
        signed = await execute_de_an_update(
            got.d.handle,
            "sign_contract",
            contract(SO, got.today, 200_000_000),
            id="contract-1",
            result_type=DeAnActionResult,
        )
        assert signed.stage is Stage.IN_PROGRESS
    history = await got.d.handle.fetch_history()
    # The SDK's own runner replays it: the acceptance never follows other commands of its task.
    await Replayer(workflows=[DeAnWorkflow], data_converter=data_converter).replay_workflow(history)
    await got.d.handle.terminate("test finished")


@contextmanager
def without_the_busy_guard() -> Iterator[None]:
    """The validator as it was before the fix (only with an unsandboxed runner, which runs
    this very class)."""
    original = DeAnWorkflow._busy_reason
    DeAnWorkflow._busy_reason = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        DeAnWorkflow._busy_reason = original  # type: ignore[method-assign]


async def test_without_the_guard_the_sdk_cannot_replay_the_history_and_the_projects_runner_recovers_it(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    # The worker runs the project's runner under the SDK's delivery: the task after the
    # stuck one fails as nondeterministic once, then replays (a deployed fix recovering).
    runner = SplitDelivery(UpdateOrderRunner(UnsandboxedWorkflowRunner()))
    with without_the_busy_guard():
        async with contract_with_the_approvals_result(dev_env, db_pool, runner) as got:
            assert got.approved.stage is Stage.APPROVED
            assert (await got.contract).stage is Stage.IN_PROGRESS
    history = await got.d.handle.fetch_history()
    plain = Replayer(workflows=[DeAnWorkflow], data_converter=data_converter)
    stuck = await plain.replay_workflow(history, raise_on_replay_failure=False)
    assert stuck.replay_failure is not None
    project = Replayer(
        workflows=[DeAnWorkflow], data_converter=data_converter, workflow_runner=UpdateOrderRunner()
    )
    assert (await replay_as_worker(project, history)).replay_failure is None
    await got.d.handle.terminate("test finished")
