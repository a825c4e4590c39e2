"""The project's counters: what the interceptors count, and the endpoint that serves them."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import ExecuteActivityInput, Replayer

import worker
from domain.deadlines import DeadlineKind
from domain.stages import Action, Stage
from khuyencong import metrics
from khuyencong.converter import data_converter
from khuyencong.settings import Settings
from tests.support.builders import (
    KE_TOAN_BG,
    LIFECYCLE_OFFICIALS,
    SO,
    TRUNG_TAM,
    UBND,
    dossier_on,
    make_deadline,
    make_dossier,
    make_payment,
    make_step,
)
from tests.support.identity import (
    HARNESS_REGISTER,
    register_in_database,
    with_test_identity,
    worker_process_env,
)
from tests.support.lifecycle import (
    Driver,
    appraisal,
    approval,
    approved_provincial,
    contract,
    today_of,
)
from tests.support.temporal import new_task_queue, until_admitted, wait_for_poller
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import (
    DeAnActionResult,
    DeAnPayAdvance,
    DeAnRequestAdvance,
    PaymentKind,
)

REPO = Path(__file__).resolve().parents[2]

Labels = frozenset[tuple[str, str]]


# --- reading what was counted ---------------------------------------------------------------


class Buffered:
    """A Runtime whose metrics go to a buffer this test reads, instead of an endpoint."""

    def __init__(self) -> None:
        self.buffer = MetricBuffer(100_000)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self.totals: dict[tuple[str, Labels], int] = {}

    def drain(self) -> None:
        for update in self.buffer.retrieve_updates():
            if update.metric.name.startswith("khuyencong_"):
                labels = frozenset((k, str(v)) for k, v in update.attributes.items())
                key = (update.metric.name, labels)
                self.totals[key] = self.totals.get(key, 0) + int(update.value)

    def total(self, name: str, **labels: str) -> int:
        """Sum of ``name`` over every series carrying at least ``labels``."""
        self.drain()
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.totals.items() if n == name and wanted <= ls)


@pytest.fixture(scope="module")
def buffered() -> Iterator[Buffered]:
    yield Buffered()


async def run_persist_activity(
    buffered: Buffered, activity_type: str, step: Any, returns: Any
) -> Any:
    """Run the step-counting interceptor around a stand-in activity that answers ``returns``."""

    class Next:
        async def execute_activity(self, input: ExecuteActivityInput) -> Any:
            return returns

    interceptor = metrics.StepMetricsInterceptor().intercept_activity(Next())  # type: ignore[arg-type]
    env = ActivityEnvironment()
    env.metric_meter = buffered.runtime.metric_meter
    env.info = dataclasses.replace(env.info, activity_type=activity_type)

    async def call() -> Any:
        return await interceptor.execute_activity(
            ExecuteActivityInput(fn=lambda step: None, args=[step], executor=None, headers={})
        )

    return await env.run(call)


# --- the activity side ----------------------------------------------------------------------


async def test_a_new_payment_step_counts_a_transition_a_payout_and_its_amount(
    buffered: Buffered,
) -> None:
    dossier = make_dossier(code="MT-PAY-1")
    step = make_step(
        Action.PAY_ADVANCE,
        dossier=dossier,
        payment=make_payment(dossier.code, PaymentKind.ADVANCE, 70_000_000),
    )
    before = buffered.total(metrics.PAYOUT_AMOUNT, kind="advance")
    assert await run_persist_activity(buffered, "record_payment", step, True) is True
    assert buffered.total(metrics.PAYOUT_AMOUNT, kind="advance") - before == 70_000_000
    assert buffered.total(metrics.PAYOUTS, kind="advance", activity_type="record_payment") >= 1
    assert (
        buffered.total(
            metrics.STAGE_TRANSITIONS,
            action="pay_advance",
            stage=step.stage_to.value,
            level=step.snapshot.level,
        )
        >= 1
    )


async def test_a_missed_deadline_counts_as_overdue_by_its_kind(buffered: Buffered) -> None:
    dossier = make_dossier(code="MT-LATE-1")
    step = make_step(
        Action.DEADLINE_MISSED,
        dossier=dossier,
        deadline=make_deadline(DeadlineKind.SETTLEMENT_DOSSIER),
    )
    before = buffered.total(metrics.OVERDUE_DEADLINES, kind="settlement_dossier")
    await run_persist_activity(buffered, "record_missed_deadline", step, True)
    assert buffered.total(metrics.OVERDUE_DEADLINES, kind="settlement_dossier") == before + 1


async def test_a_retry_that_finds_the_step_already_written_counts_nothing(
    buffered: Buffered,
) -> None:
    dossier = make_dossier(code="MT-RETRY-1")
    step = make_step(
        Action.PAY_SETTLEMENT,
        dossier=dossier,
        payment=make_payment(dossier.code, PaymentKind.SETTLEMENT, 30_000_000),
    )
    before = buffered.total(metrics.PAYOUT_AMOUNT, kind="settlement")
    assert await run_persist_activity(buffered, "record_payment", step, False) is False
    assert buffered.total(metrics.PAYOUT_AMOUNT, kind="settlement") == before


async def test_other_activities_are_not_counted(buffered: Buffered) -> None:
    before = buffered.total(metrics.STAGE_TRANSITIONS)
    await run_persist_activity(buffered, "load_rule_packs", make_step(Action.APPROVE), True)
    assert buffered.total(metrics.STAGE_TRANSITIONS) == before


async def run_failing_persist_activity(
    buffered: Buffered, activity_type: str, error: Exception
) -> None:
    class Next:
        async def execute_activity(self, input: ExecuteActivityInput) -> Any:
            raise error

    interceptor = metrics.StepMetricsInterceptor().intercept_activity(Next())  # type: ignore[arg-type]
    env = ActivityEnvironment()
    env.metric_meter = buffered.runtime.metric_meter
    env.info = dataclasses.replace(env.info, activity_type=activity_type)

    async def call() -> Any:
        return await interceptor.execute_activity(
            ExecuteActivityInput(
                fn=lambda step: None, args=[make_step(Action.APPROVE)], executor=None, headers={}
            )
        )

    with pytest.raises(type(error)):
        await env.run(call)


async def test_a_failed_persist_attempt_is_counted_by_error_type_and_whether_it_is_retried(
    buffered: Buffered,
) -> None:
    name = metrics.PERSIST_FAILURES
    refused = buffered.total(name, error_type="InvalidStep", retryable="false")
    transient = buffered.total(name, error_type="ConnectionRefusedError", retryable="true")
    await run_failing_persist_activity(
        buffered, "record_step", ApplicationError("x", type="InvalidStep", non_retryable=True)
    )
    await run_failing_persist_activity(buffered, "record_payment", ConnectionRefusedError())
    await run_failing_persist_activity(buffered, "load_rule_packs", ConnectionRefusedError())
    assert buffered.total(name, error_type="InvalidStep", retryable="false") == refused + 1
    assert (
        buffered.total(name, error_type="ConnectionRefusedError", retryable="true") == transient + 1
    )


def test_every_counter_is_named_khuyencong_and_described() -> None:
    assert set(metrics.COUNTERS) == {
        metrics.STAGE_TRANSITIONS,
        metrics.REFUSED_ACTIONS,
        metrics.PAYOUTS,
        metrics.PAYOUT_AMOUNT,
        metrics.OVERDUE_DEADLINES,
        metrics.PERSIST_FAILURES,
    }
    for name, (description, _) in metrics.COUNTERS.items():
        assert re.fullmatch(r"khuyencong_[a-z_]+", name)
        assert description


# --- the workflow side: refusals, live and on replay ------------------------------------------


@pytest_asyncio.fixture
async def buffered_client(
    dev_env: WorkflowEnvironment, buffered: Buffered
) -> AsyncIterator[Client]:
    yield await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=data_converter,
        runtime=buffered.runtime,
    )


async def test_refusals_are_counted_by_type_a_concurrent_duplicate_leaves_no_history_and_replay_counts_nothing(
    dev_env: WorkflowEnvironment,
    buffered: Buffered,
    buffered_client: Client,
    db_pool: asyncpg.Pool,
    pg_url: str,
) -> None:
    task_queue = new_task_queue()
    # No sticky cache: each workflow task may go to any worker, as after a restart.
    settings = Settings.from_env(
        {},
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=task_queue,
        database_url=pg_url,
        max_cached_workflows=0,
    )
    today = await today_of(dev_env)
    dossier = dossier_on(today)
    async with worker.build_worker(
        buffered_client, db_pool, with_test_identity(settings), HARNESS_REGISTER
    ):
        # Registered, and idle: the refusal below must meet the đề án at rest, not in the
        # workflow task of the registration's last result (where it is refused as busy).
        d = await (await Driver.register(dev_env.client, task_queue, dossier, today)).idle()
        wrong_stage = buffered.total(
            metrics.REFUSED_ACTIONS, error_type="WrongStage", action="sign_contract"
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await d.act(contract(SO, today, 100_000_000))
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "WrongStage"
        assert (
            buffered.total(
                metrics.REFUSED_ACTIONS,
                error_type="WrongStage",
                action="sign_contract",
                phase="validator",
                workflow_type="DeAnWorkflow",
            )
            == wrong_stage + 1
        )
        await d.act(appraisal(SO, today))

    # Two approvals wait for a worker and arrive in the same workflow task: the first is
    # accepted; the second meets it in flight and is refused by the validator as DeAnBusy,
    # before history (it used to be accepted and then refused by its handler). Sent again,
    # it is judged on the approved đề án.
    first = asyncio.create_task(
        d.handle.execute_update(
            "approve",
            approval(UBND, today, 200_000_000),
            id="approve-1",
            result_type=DeAnActionResult,
        )
    )
    await until_admitted(dev_env.client, d.handle.id, "approve-1")
    second = asyncio.create_task(
        d.handle.execute_update(
            "approve",
            approval(UBND, today, 200_000_000),
            id="approve-2",
            result_type=DeAnActionResult,
        )
    )
    await until_admitted(dev_env.client, d.handle.id, "approve-2")
    handler_phase = buffered.total(metrics.REFUSED_ACTIONS, phase="handler")
    busy = buffered.total(metrics.REFUSED_ACTIONS, phase="validator", error_type="DeAnBusy")
    async with worker.build_worker(
        buffered_client, db_pool, with_test_identity(settings), HARNESS_REGISTER
    ):
        assert (await first).stage is Stage.APPROVED
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await second
        assert isinstance(late.value.cause, ApplicationError)
        assert late.value.cause.type == "DeAnBusy"
        with pytest.raises(WorkflowUpdateFailedError) as again:
            await d.act(approval(UBND, today, 200_000_000), update_id="approve-2")
        assert isinstance(again.value.cause, ApplicationError)
        assert again.value.cause.type == "WrongStage"
    assert (
        buffered.total(metrics.REFUSED_ACTIONS, phase="validator", error_type="DeAnBusy")
        == busy + 1
    )
    assert buffered.total(metrics.REFUSED_ACTIONS, phase="handler") == handler_phase
    accepted = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for e in (await d.handle.fetch_history()).events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert "approve-1" in accepted
    assert "approve-2" not in accepted

    # Replaying the history counts nothing.
    history = await d.handle.fetch_history()
    counted = buffered.total(metrics.REFUSED_ACTIONS)
    replayer = Replayer(
        workflows=[DeAnWorkflow],
        interceptors=metrics.metrics_interceptors(),
        data_converter=data_converter,
        runtime=buffered.runtime,
    )
    await replayer.replay_workflow(history)
    assert buffered.total(metrics.REFUSED_ACTIONS) == counted
    await d.handle.terminate("test finished")


# --- the endpoint ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?\s+(?P<value>\S+)$")
LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text exposition → (name, labels, value) for each sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        labels = {m["key"]: m["value"] for m in LABEL.finditer(match["labels"] or "")}
        out.append((match["name"], labels, float(match["value"])))
    return out


def value_of(found: Sequence[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, ls, v in found if n == name and labels.items() <= ls.items())


async def scrape_until(url: str, ready: Any, timeout: float = 15.0) -> list[Any]:
    """Scrape ``url`` until ``ready(samples)`` holds (the endpoint may lag a moment)."""
    found: list[Any] = []
    async with asyncio.timeout(timeout):
        while True:
            try:
                text = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(url, timeout=5).read().decode()
                )
                found = samples(text)
                if ready(found):
                    return found
            except OSError:
                pass
            await asyncio.sleep(0.1)


async def test_the_metrics_endpoint_serves_the_project_counters_next_to_the_sdk_ones(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str
) -> None:
    task_queue = new_task_queue()
    port = free_port()
    env = {
        **os.environ,
        "KHUYENCONG_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "KHUYENCONG_TASK_QUEUE": task_queue,
        "KHUYENCONG_DATABASE_URL": pg_url,
        "KHUYENCONG_METRICS_BIND": f"127.0.0.1:{port}",
        "KHUYENCONG_LOG_LEVEL": "WARNING",
        **worker_process_env(),
    }
    await register_in_database(db_pool, LIFECYCLE_OFFICIALS)
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=REPO, env=env)
    try:
        await wait_for_poller(dev_env.client, task_queue)
        today = await today_of(dev_env)
        d = await approved_provincial(
            dev_env.client,
            task_queue,
            today,
            support_item="training",
            cost=100_000_000,
            requested_support=100_000_000,
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await d.act(approval(UBND, today, 100_000_000))  # approved already
        await d.act(contract(SO, today, 100_000_000))
        await d.act(
            DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=today),
        )
        await d.act(
            DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A1"),
        )

        mine = {"task_queue": task_queue}
        found = await scrape_until(
            f"http://127.0.0.1:{port}/metrics",
            lambda s: value_of(s, metrics.PAYOUT_AMOUNT, kind="advance", **mine) > 0,
        )
        assert value_of(found, metrics.PAYOUT_AMOUNT, kind="advance", **mine) == 70_000_000
        assert value_of(found, metrics.PAYOUTS, kind="advance", **mine) == 1
        assert (
            value_of(
                found,
                metrics.REFUSED_ACTIONS,
                error_type="WrongStage",
                action="approve",
                phase="validator",
                **mine,
            )
            == 1
        )
        de_an_id = d.handle.id.removeprefix("de-an/")
        steps = await db_pool.fetch(
            "SELECT e.action, e.stage_to, d.level, count(*) AS n FROM de_an_event e"
            " JOIN de_an d USING (de_an_id) WHERE de_an_id = $1"
            " GROUP BY e.action, e.stage_to, d.level",
            de_an_id,
        )
        assert {"register", "approve", "sign_contract", "pay_advance"} <= {
            r["action"] for r in steps
        }
        for row in steps:
            assert row["action"] != "pay_advance" or row["n"] == 1
            counted = value_of(
                found,
                metrics.STAGE_TRANSITIONS,
                action=row["action"],
                stage=row["stage_to"],
                level=row["level"],
                **mine,
            )
            assert counted == row["n"], dict(row)
        names = {name for name, _, _ in found}
        assert "temporal_worker_task_slots_available" in names  # the SDK's own
        assert "temporal_request" in names
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0  # SIGTERM is a clean stop
    await d.handle.terminate("test finished")
