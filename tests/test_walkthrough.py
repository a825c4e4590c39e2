"""The README's walkthrough, run as written: the demo's first đề án driven to closing with
the Temporal CLI against the dev server."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncpg
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import worker
from domain.stages import Stage
from khuyencong.admin import credentials
from khuyencong.demo_data import DEMO_OFFICIALS, demo_entries, seed_demo_officials
from khuyencong.devstack import DEV_PASSWORD
from khuyencong.registration import register_all
from khuyencong.settings import Settings
from tests.support.identity import HarnessRegister, suite_identity_env, with_test_identity
from tests.support.temporal import new_task_queue
from workflows.de_an import DeAnWorkflow

REPO = Path(__file__).resolve().parent.parent


async def test_the_readme_walkthrough_takes_the_first_demo_de_an_to_closing(
    dev_env: WorkflowEnvironment,
    db_pool: asyncpg.Pool,
    pg_url: str,
    officials_register: HarnessRegister,
) -> None:
    address = dev_env.client.service_client.config.target_host
    task_queue = new_task_queue()
    settings = Settings.from_env(
        {}, temporal_address=address, task_queue=task_queue, database_url=pg_url
    )
    entries = [e for e in demo_entries() if e.dossier.code == "BG-2019-DP-01"]
    # As `khuyencong dev` leaves them: the demo officials in the register, with a password.
    await seed_demo_officials(db_pool)
    for official in DEMO_OFFICIALS:
        await credentials.set_password(db_pool, official.official_id, DEV_PASSWORD)
    async with worker.build_worker(
        dev_env.client, db_pool, with_test_identity(settings), officials_register
    ):
        handle = dev_env.client.get_workflow_handle_for(DeAnWorkflow.run, "de-an/BG-2019-DP-01")
        try:
            await register_all(dev_env.client, task_queue, entries, hash_key=None)
            run = await asyncio.to_thread(
                subprocess.run,
                ["bash", "scripts/walkthrough.sh"],
                cwd=REPO,
                env={
                    **os.environ,
                    "KHUYENCONG_TEMPORAL_ADDRESS": address,
                    "KHUYENCONG_TASK_QUEUE": task_queue,
                    "KHUYENCONG_DATABASE_URL": pg_url,
                    "KHUYENCONG_PASSWORD": DEV_PASSWORD,
                    **suite_identity_env(),
                },
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert run.returncode == 0, run.stderr
            result = await handle.result()
        finally:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")
    assert (result.stage, result.advanced, result.paid) == (Stage.CLOSED, 105_000_000, 150_000_000)
    row = await db_pool.fetchrow("SELECT stage, paid FROM de_an WHERE de_an_id = 'BG-2019-DP-01'")
    assert dict(row) == {"stage": "closed", "paid": 150_000_000}
