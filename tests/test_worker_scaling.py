"""Two workers on one task queue against the dev server; one is killed (SIGKILL) in the middle
of the đề án's lives. The other carries every đề án to its end, and PostgreSQL holds each step
and each payment exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

import worker
from domain.stages import Stage
from khuyencong.settings import Settings
from tests.support.builders import KE_TOAN_BG, LIFECYCLE_OFFICIALS, SO, TRUNG_TAM
from tests.support.identity import (
    HARNESS_REGISTER,
    register_in_database,
    with_test_identity,
    worker_process_env,
)
from tests.support.lifecycle import Driver, contracted_provincial, today_of
from tests.support.temporal import new_task_queue, wait_for_poller
from tests.support.waiting import until
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRequestAdvance,
    DeAnSettle,
)

REPO = Path(__file__).resolve().parent.parent
DE_AN = 4


async def to_advance_request(d: Driver) -> None:
    today = (await d.state()).registered_on
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=today))


async def to_closing(d: Driver, n: int) -> Stage:
    today = (await d.state()).registered_on
    await d.act(
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number=f"A-{n}"),
    )
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number=f"NT-{n}",
            accepted_on=today,
            accepted_cost=100_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await d.act(DeAnSettle(actor=SO, settlement_number=f"QT-{n}", settled_on=today))
    result = await d.act(
        DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number=f"C-{n}")
    )
    return result.stage


async def test_when_one_of_two_workers_is_killed_every_de_an_still_closes_exactly_once(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, pg_url: str
) -> None:
    task_queue = new_task_queue()
    settings = with_test_identity(
        Settings.from_env(
            {},
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=task_queue,
            database_url=pg_url,
        )
    )
    env = {
        **os.environ,
        "KHUYENCONG_TEMPORAL_ADDRESS": settings.temporal_address,
        "KHUYENCONG_TASK_QUEUE": task_queue,
        "KHUYENCONG_DATABASE_URL": pg_url,
        "KHUYENCONG_LOG_LEVEL": "WARNING",
        **worker_process_env(),
    }
    await register_in_database(db_pool, LIFECYCLE_OFFICIALS)
    doomed = subprocess.Popen([sys.executable, "worker.py"], cwd=REPO, env=env)
    try:
        # Worker A alone: every đề án starts on it and stays in its cache (sticky).
        await wait_for_poller(dev_env.client, task_queue)
        today = await today_of(dev_env)
        drivers = await asyncio.gather(
            *(
                contracted_provincial(
                    dev_env.client,
                    task_queue,
                    today,
                    support_item="training",
                    cost=100_000_000,
                    requested_support=100_000_000,
                )
                for _ in range(DE_AN)
            )
        )
        await asyncio.gather(*(to_advance_request(d) for d in drivers))
        ids = [d.handle.id.removeprefix("de-an/") for d in drivers]

        # Worker B joins the task queue; the rest of every life runs while A is killed.
        async with worker.build_worker(dev_env.client, db_pool, settings, HARNESS_REGISTER):
            lives = [asyncio.create_task(to_closing(d, n)) for n, d in enumerate(drivers)]

            async def first_payout_recorded() -> bool:
                return bool(
                    await db_pool.fetchval(
                        "SELECT count(*) FROM payment WHERE de_an_id = ANY($1::text[])", ids
                    )
                )

            await until(first_payout_recorded)
            doomed.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(doomed.wait, 10) == -signal.SIGKILL
            closed_at_kill = await db_pool.fetchval(
                "SELECT count(*) FROM de_an WHERE de_an_id = ANY($1::text[]) AND stage = 'closed'",
                ids,
            )
            assert closed_at_kill < DE_AN  # killed in the middle, not after the end

            async with asyncio.timeout(90):
                stages = await asyncio.gather(*lives)
            assert stages == [Stage.CLOSED] * DE_AN
            results = await asyncio.gather(*(d.handle.result() for d in drivers))
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()

    assert [r.paid for r in results] == [100_000_000] * DE_AN
    rows = await db_pool.fetch(
        "SELECT de_an_id, stage, paid FROM de_an WHERE de_an_id = ANY($1::text[])", ids
    )
    assert {(r["stage"], r["paid"]) for r in rows} == {("closed", 100_000_000)}
    assert len(rows) == DE_AN

    payments = await db_pool.fetch(
        "SELECT de_an_id, kind, amount, count(*) OVER (PARTITION BY idempotency_key) AS copies"
        " FROM payment WHERE de_an_id = ANY($1::text[]) ORDER BY de_an_id, kind",
        ids,
    )
    assert all(p["copies"] == 1 for p in payments)
    for de_an_id in ids:
        assert [(p["kind"], p["amount"]) for p in payments if p["de_an_id"] == de_an_id] == [
            ("advance", 70_000_000),
            ("settlement", 30_000_000),
        ]
    steps = await db_pool.fetch(
        "SELECT de_an_id, action, count(*) AS n FROM de_an_event"
        " WHERE de_an_id = ANY($1::text[]) GROUP BY de_an_id, action",
        ids,
    )
    assert {(s["de_an_id"], s["action"]) for s in steps if s["n"] != 1} == set()
    for de_an_id in ids:
        actions = {s["action"] for s in steps if s["de_an_id"] == de_an_id}
        assert {"pay_advance", "accept", "settle", "pay_settlement"} <= actions
