"""Registration through the admin client is one update-with-start request: it answers once the
registration is recorded, without polling ``describe`` or the ``state`` query, keeps the
refusals' types, and its history replays as recorded."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio import client as temporal_client
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

import worker
from domain.stages import Stage
from khuyencong.admin.client import AdminClient
from khuyencong.admin.errors import ActionRefused
from khuyencong.converter import data_converter
from khuyencong.registration import Outcome, RegistrationEntry, register_all, register_and_wait
from khuyencong.settings import Settings
from tests.khuyencong.admin.conftest import Cast, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from tests.support.identity import (
    HARNESS_REGISTER,
    client_without_harness_signer,
    with_test_identity,
)
from tests.support.temporal import new_task_queue
from workflows.de_an import DeAnWorkflow


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


class CountingInterceptor(temporal_client.Interceptor):
    """Counts the client's calls to Temporal by kind."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _Counting(next, self.calls)


class _Counting(temporal_client.OutboundInterceptor):
    def __init__(self, next: temporal_client.OutboundInterceptor, calls: Counter[str]) -> None:
        super().__init__(next)
        self.calls = calls

    async def start_workflow(self, input: Any) -> Any:
        self.calls["start_workflow"] += 1
        return await super().start_workflow(input)

    async def start_update_with_start_workflow(self, input: Any) -> Any:
        self.calls["update_with_start"] += 1
        return await super().start_update_with_start_workflow(input)

    async def start_workflow_update(self, input: Any) -> Any:
        self.calls["update"] += 1
        return await super().start_workflow_update(input)

    async def describe_workflow(self, input: Any) -> Any:
        self.calls["describe"] += 1
        return await super().describe_workflow(input)

    async def query_workflow(self, input: Any) -> Any:
        self.calls["query"] += 1
        return await super().query_workflow(input)


def counted(stack: Stack, client: Client, counter: CountingInterceptor) -> AdminClient:
    """The stack's admin client over ``client`` with ``counter`` added, the same officials
    proven."""
    config = client.config()
    config["interceptors"] = [*config.get("interceptors", []), counter]
    admin = AdminClient(Client(**config), stack.admin.pool, task_queue=stack.admin.task_queue)
    admin._proven = set(stack.admin._proven)
    return admin


async def test_registration_through_the_admin_client_answers_the_registered_state_in_one_request(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment
) -> None:
    counter = CountingInterceptor()
    admin = counted(stack, dev_env.client, counter)
    dossier = dossier_on(today(), code=stack.new_code("DP"))

    result = await admin.register(cast["TT-BG"], dossier, today())

    assert (result.status, result.stage) == ("started", Stage.REGISTERED)
    assert counter.calls == {"update_with_start": 1}  # no describe, no query, no poll
    row = await admin.row(dossier.code)  # the read model already holds it
    assert row is not None and row.stage is Stage.REGISTERED


async def test_the_same_registration_again_is_existing_and_sends_no_second_start(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment
) -> None:
    dossier = dossier_on(today(), code=stack.new_code("DP"))
    await stack.admin.register(cast["TT-BG"], dossier, today())
    counter = CountingInterceptor()
    again = await counted(stack, dev_env.client, counter).register(cast["TT-BG"], dossier, today())
    assert (again.status, again.stage) == ("existing", Stage.REGISTERED)
    assert counter.calls == {"update_with_start": 1, "describe": 1, "query": 1}
    history = await dev_env.client.get_workflow_handle(f"de-an/{dossier.code}").fetch_history()
    started = [
        e for e in history.events if e.HasField("workflow_execution_started_event_attributes")
    ]
    assert len(started) == 1


async def test_another_dossier_under_a_registered_code_is_refused_as_a_duplicate(
    stack: Stack, cast: Cast
) -> None:
    dossier = dossier_on(today(), code=stack.new_code("DP"))
    await stack.admin.register(cast["TT-BG"], dossier, today())
    other = dossier.model_copy(update={"title": "Một đề án khác cùng mã"})
    with pytest.raises(ActionRefused) as refused:
        await stack.admin.register(cast["TT-BG"], other, today())
    assert (refused.value.type, refused.value.info.field) == ("Duplicate", "dossier.code")


async def test_a_start_without_a_statement_is_refused_as_identity_not_proven_with_its_type(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment
) -> None:
    counter = CountingInterceptor()
    unsigned = client_without_harness_signer(dev_env.client)
    admin = counted(stack, unsigned, counter)
    dossier = dossier_on(today(), code=stack.new_code("DP"))

    with pytest.raises(ActionRefused) as refused:
        await admin.register(cast["TT-BG"], dossier, today())

    assert refused.value.type == "IdentityNotProven"
    assert counter.calls == {"update_with_start": 1}
    handle = dev_env.client.get_workflow_handle(f"de-an/{dossier.code}")
    assert (await handle.describe()).status is WorkflowExecutionStatus.FAILED
    assert await stack.admin.row(dossier.code) is None  # nothing stored
    # Signed this time (the code is free again): registered.
    again = await stack.admin.register(cast["TT-BG"], dossier, today())
    assert (again.status, again.stage) == ("started", Stage.REGISTERED)


async def test_the_histories_of_a_registration_answered_and_refused_replay_without_a_flip(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment
) -> None:
    answered = dossier_on(today(), code=stack.new_code("DP"))
    await stack.admin.register(cast["TT-BG"], answered, today())
    refused = dossier_on(today(), code=stack.new_code("DP"))
    admin = counted(stack, client_without_harness_signer(dev_env.client), CountingInterceptor())
    with pytest.raises(ActionRefused):
        await admin.register(cast["TT-BG"], refused, today())

    # The plain SDK runner: no activation-order flip (khuyencong/activation_order.py) needed.
    replayer = Replayer(workflows=[DeAnWorkflow], data_converter=data_converter)
    for dossier in (answered, refused):
        handle = dev_env.client.get_workflow_handle(f"de-an/{dossier.code}")
        history = await handle.fetch_history()
        kinds = [e.WhichOneof("attributes") for e in history.events]
        assert "workflow_execution_update_accepted_event_attributes" in kinds
        assert "workflow_execution_update_completed_event_attributes" in kinds
        await replayer.replay_workflow(history)


async def test_with_no_worker_on_the_queue_the_registration_times_out_naming_the_queue(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment
) -> None:
    entry = RegistrationEntry(
        dossier=dossier_on(today(), code=stack.new_code("DP")), registered_by=cast["TT-BG"]
    )
    with pytest.raises(TimeoutError, match="is a worker running on nobody-listens"):
        await register_and_wait(dev_env.client, "nobody-listens", entry, hash_key=None, timeout=0.5)


async def test_the_same_registration_while_the_first_is_being_recorded_answers_once_recorded(
    stack: Stack, cast: Cast, dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    # The first start waits on a queue no worker polls yet; the second caller finds it running
    # and unregistered, and waits for its registration (no polling), answered as existing.
    queue = new_task_queue()
    entry = RegistrationEntry(
        dossier=dossier_on(today(), code=stack.new_code("DP")),
        registered_by=cast["TT-BG"],
        registered_on=today(),
    )
    first = await register_all(dev_env.client, queue, [entry], hash_key=None)
    assert first.started == [entry.workflow_id]
    counter = CountingInterceptor()
    config = dev_env.client.config()
    config["interceptors"] = [*config.get("interceptors", []), counter]
    second = asyncio.create_task(
        register_and_wait(Client(**config), queue, entry, hash_key=None, timeout=20)
    )
    settings = with_test_identity(
        Settings.from_env({}, task_queue=queue, graceful_shutdown_seconds=1)
    )
    async with worker.build_worker(dev_env.client, db_pool, settings, HARNESS_REGISTER):
        answer = await second
    assert answer.outcome is Outcome.EXISTING
    assert answer.registration is not None and answer.registration.seq == 1
    assert answer.registration.stage is Stage.REGISTERED
    # Found running: one describe, at most one state query, then the update waits (no poll).
    assert counter.calls["update_with_start"] == 1 and counter.calls["describe"] == 1
    assert counter.calls["query"] <= 1 and counter.calls["update"] <= 1
    await dev_env.client.get_workflow_handle(entry.workflow_id).terminate("test finished")
