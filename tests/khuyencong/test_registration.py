"""khuyencong.registration: the one start path, its policy (a retry is idempotent, a
duplicate code is refused) and what the UI shows of a đề án."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from domain.stages import Stage
from khuyencong.cli import app
from khuyencong.demo_data import demo_entries
from khuyencong.registration import (
    RegistrationEntry,
    register_all,
    static_summary,
)
from khuyencong.settings import Settings
from tests.support.identity import HARNESS_REGISTER, suite_identity_env, with_test_identity
from tests.support.temporal import new_task_queue
from worker import build_worker
from workflows.de_an_contract import DeAnState

# --- static summary ----------------------------------------------------------------------


def test_the_static_summary_names_code_title_and_support_in_dong() -> None:
    entry = demo_entries()[0]
    assert static_summary(entry.dossier) == (
        "BG-2019-DP-01 · Ứng dụng máy móc thiết bị tiên tiến trong sản xuất bún, bánh phở "
        "tại làng nghề Đa Mai · đề nghị hỗ trợ 150.000.000 đ"
    )


def test_a_long_title_is_shortened_to_fit_the_servers_summary_limit() -> None:
    dossier = demo_entries()[0].dossier.model_copy(update={"title": "Ứng dụng máy móc " * 30})
    summary = static_summary(dossier)
    assert len(json.dumps(summary, ensure_ascii=False).encode("utf-8")) <= 400
    assert summary.startswith("BG-2019-DP-01 · Ứng dụng")
    assert "…" in summary and summary.endswith("150.000.000 đ")


# --- starting on a real server -----------------------------------------------------------


def fresh_codes(entries: list[RegistrationEntry]) -> list[RegistrationEntry]:
    """The same đề án under codes no other test uses (the dev server lives all session)."""
    run = uuid.uuid4().hex[:6].upper()
    return [
        e.model_copy(
            update={"dossier": e.dossier.model_copy(update={"code": f"{e.dossier.code}-{run}"})}
        )
        for e in entries
    ]


@pytest_asyncio.fixture
async def dev_worker(dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[str]:
    settings = Settings.from_env({}, task_queue=new_task_queue(), graceful_shutdown_seconds=1)
    async with build_worker(
        dev_env.client, db_pool, with_test_identity(settings), HARNESS_REGISTER
    ):
        yield settings.task_queue


async def test_registering_twice_starts_each_de_an_once(
    dev_env: WorkflowEnvironment, dev_worker: str
) -> None:
    entries = fresh_codes(demo_entries())
    first = await register_all(dev_env.client, dev_worker, entries, hash_key=None)
    assert first.started == [e.workflow_id for e in entries]
    assert first.existing == [] and first.failed == []

    second = await register_all(dev_env.client, dev_worker, entries, hash_key=None)
    assert second.started == []
    assert second.existing == [e.workflow_id for e in entries]
    assert second.describe() == "0 started, 25 already existing"

    handle = dev_env.client.get_workflow_handle(entries[0].workflow_id)
    state = await handle.query("state", result_type=DeAnState)
    assert state.stage is Stage.REGISTERED
    assert state.registered_on == entries[0].registered_on
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.RUNNING
    assert await description.static_summary() == static_summary(entries[0].dossier)


async def test_a_code_registered_with_another_dossier_is_refused_as_a_duplicate(
    dev_env: WorkflowEnvironment, dev_worker: str
) -> None:
    [entry] = fresh_codes(demo_entries()[:1])
    assert (await register_all(dev_env.client, dev_worker, [entry], hash_key=None)).started
    other = entry.model_copy(
        update={"dossier": entry.dossier.model_copy(update={"title": "Một đề án khác"})}
    )
    report = await register_all(dev_env.client, dev_worker, [other], hash_key=None)
    assert report.started == [] and report.existing == [] and report.failed == []
    [(workflow_id, message)] = report.duplicate
    assert workflow_id == entry.workflow_id
    assert f"mã đề án {entry.dossier.code} đã được đăng ký với một hồ sơ khác" in message
    assert report.problems == {entry.workflow_id: message}
    assert report.describe() == "0 started, 0 already existing, 1 duplicate code(s) refused"
    again = await register_all(dev_env.client, dev_worker, [entry], hash_key=None)
    assert again.existing == [entry.workflow_id]  # the original registration, retried


async def test_a_closed_de_an_is_not_started_again(
    dev_env: WorkflowEnvironment, dev_worker: str
) -> None:
    [entry] = fresh_codes(demo_entries()[:1])
    assert (await register_all(dev_env.client, dev_worker, [entry], hash_key=None)).started
    await dev_env.client.get_workflow_handle(entry.workflow_id).terminate("test")
    report = await register_all(dev_env.client, dev_worker, [entry], hash_key=None)
    assert report.existing == [entry.workflow_id]


async def test_khuyencong_register_starts_a_file_once_as_the_starter_does(
    dev_env: WorkflowEnvironment, dev_worker: str, tmp_path: Path
) -> None:
    [entry] = fresh_codes(demo_entries()[:1])
    path = tmp_path / "one.json"
    path.write_text(json.dumps([entry.model_dump(mode="json")], ensure_ascii=False), "utf-8")
    env = {
        "KHUYENCONG_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "KHUYENCONG_NAMESPACE": dev_env.client.namespace,
        "KHUYENCONG_TASK_QUEUE": dev_worker,
        **suite_identity_env(),
    }

    async def register() -> Result:
        return await asyncio.to_thread(
            CliRunner().invoke, app, ["register", str(path)], env=env, catch_exceptions=False
        )

    first = await register()
    assert first.exit_code == 0, first.output
    assert f"  started   {entry.workflow_id}" in first.stdout
    again = await register()
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        f"  existing  {entry.workflow_id}",
        "0 started, 1 already existing",
    ]
