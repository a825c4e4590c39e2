"""``khuyencong problems``: the running đề án that keep failing, found through visibility on the
dev server, with what fails, the attempt and the last error; exit 1 when there is any."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from db.pool import with_database
from domain.model import workflow_id_for
from khuyencong.cli import app
from khuyencong.problems import WORKFLOW_TASK, Problem, find_problems, render
from tests.support.builders import TRUNG_TAM, dossier_on, new_code
from tests.support.lifecycle import today_of
from tests.support.temporal import new_task_queue, run_worker
from tests.support.waiting import until
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import DeAnInput


@workflow.defn(name="DeAnWorkflow", sandboxed=False)
class CrashingDeAnWorkflow:
    """A đề án whose code raises (as a bad deploy would): its workflow task fails forever."""

    @workflow.run
    async def run(self, _: Any) -> None:
        raise RuntimeError("lỗi trong mã workflow (kiểm thử)")


@pytest_asyncio.fixture(loop_scope="session")
async def handles(dev_env: WorkflowEnvironment) -> AsyncIterator[list[WorkflowHandle[Any, Any]]]:
    started: list[WorkflowHandle[Any, Any]] = []
    yield started
    for handle in started:
        await handle.terminate("test finished")


async def start(
    client: Client, task_queue: str, started: list[WorkflowHandle[Any, Any]], env: Any
) -> str:
    today = await today_of(env)
    dossier = dossier_on(today, code=new_code("PB"))
    handle = await client.start_workflow(
        DeAnWorkflow.run,
        DeAnInput(dossier=dossier, registered_by=TRUNG_TAM, registered_on=today),
        id=workflow_id_for(dossier.code),
        task_queue=task_queue,
    )
    started.append(handle)
    return dossier.code


async def attempt_of(client: Client, code: str) -> tuple[int, int]:
    """(workflow task attempt, highest pending activity attempt) of đề án ``code``."""
    raw = (await client.get_workflow_handle(workflow_id_for(code)).describe()).raw_description
    task = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    return task, max((a.attempt for a in raw.pending_activities), default=0)


async def test_problems_lists_a_de_an_whose_activity_keeps_failing_and_one_whose_workflow_task_fails(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str, handles: list[Any]
) -> None:
    client = dev_env.client
    # A database that is not there: every attempt of an activity that reads it fails.
    down = await asyncpg.create_pool(with_database(pg_url, "kc_gone"), min_size=0, max_size=1)
    healthy_q, down_q, crashing_q = new_task_queue(), new_task_queue(), new_task_queue()
    crashing = Worker(client, task_queue=crashing_q, workflows=[CrashingDeAnWorkflow])
    try:
        async with (
            run_worker(client, db_pool, healthy_q),
            run_worker(client, down, down_q),
            crashing,
        ):
            healthy = await start(client, healthy_q, handles, dev_env)
            stuck = await start(client, down_q, handles, dev_env)
            broken = await start(client, crashing_q, handles, dev_env)

            async def failing_long_enough() -> bool:
                return (await attempt_of(client, stuck))[1] >= 3 and (
                    await attempt_of(client, broken)
                )[0] >= 2

            await until(failing_long_enough, 30.0, interval=0.2)
            found = {p.code: p for p in await find_problems(client, min_attempts=2)}
            run = await asyncio.to_thread(
                CliRunner().invoke,
                app,
                ["problems", "--min-attempts", "2"],
                env={
                    "KHUYENCONG_TEMPORAL_ADDRESS": client.service_client.config.target_host,
                    "KHUYENCONG_NAMESPACE": client.namespace,
                    "COLUMNS": "200",
                },
                catch_exceptions=False,
            )
            quiet = {p.code for p in await find_problems(client, min_attempts=100)}
    finally:
        await down.close()

    assert healthy not in found
    activity = found[stuck]
    assert activity.failing == "activity load_inactive_officials"
    assert activity.attempts >= 3
    assert 'database "kc_gone" does not exist' in activity.last_error
    task = found[broken]
    assert task.failing == WORKFLOW_TASK and task.attempts >= 2
    assert "lỗi trong mã workflow (kiểm thử)" in task.last_error
    assert broken in quiet and stuck not in quiet  # a failing workflow task is always listed

    assert run.exit_code == 1, run.output
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["Mã", "đề", "án", "Đang", "lỗi", "Lần", "thử", "Lỗi", "gần", "nhất"]
    (stuck_line,) = [line for line in lines if line.startswith(stuck)]
    assert "activity load_inactive_officials" in stuck_line and "kc_gone" in stuck_line
    (broken_line,) = [line for line in lines if line.startswith(broken)]
    assert "workflow task" in broken_line and "RuntimeError" in broken_line


def test_no_problem_reads_as_one_line() -> None:
    assert render([]) == ["Không có đề án nào đang lỗi."]


def test_a_long_error_is_cut_to_the_width_of_the_table() -> None:
    problem = Problem("BG-1", "de-an/BG-1", "r", "activity record_step", 12, "x " * 500)
    lines = render([problem], width=100)
    assert all(len(line) <= 100 for line in lines)
    assert lines[2].split()[:4] == ["BG-1", "activity", "record_step", "12"]
    assert lines[2].endswith("…")
    assert lines[-1] == "1 vấn đề ở 1 đề án"
