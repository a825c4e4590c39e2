"""Benchmark registration through the admin client with one official (not a test: it prints
figures).

    .venv/bin/python scripts/bench_register.py [--count 30] [--warmup 3] [--concurrency 1]

Starts its own dev server (SQLite file, ``journal_mode=wal``), an embedded PostgreSQL and the
production worker in this process (identity checked as in the test harness), then has one
official register ``--count`` đề án (``--concurrency`` at a time; 1: one after another) through
:meth:`khuyencong.admin.client.AdminClient.register`, and prints the latency p50 / p90 / p99
and the calls the client made to Temporal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio import client as temporal_client
from temporalio.testing import WorkflowEnvironment

import worker
from db.pool import create_pool, ensure_database
from domain.deadlines import vn_date
from domain.model import Role
from khuyencong.admin import credentials
from khuyencong.admin.client import AdminClient
from khuyencong.admin.models import OfficialIn
from khuyencong.converter import data_converter
from khuyencong.embedded_pg import start_embedded
from khuyencong.search_attributes import ALL_KEYS
from khuyencong.settings import Settings
from migrations import apply_migrations
from tests.support.builders import dossier_on
from tests.support.identity import HARNESS_REGISTER, harness_signer, with_test_identity

PASSWORD = "mat-khau-do-hieu-nang"


class Counting(temporal_client.Interceptor):
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        calls = self.calls

        class _Out(temporal_client.OutboundInterceptor):
            async def start_workflow(self, input: Any) -> Any:
                calls["start_workflow"] += 1
                return await super().start_workflow(input)

            async def start_update_with_start_workflow(self, input: Any) -> Any:
                calls["update_with_start"] += 1
                return await super().start_update_with_start_workflow(input)

            async def describe_workflow(self, input: Any) -> Any:
                calls["describe"] += 1
                return await super().describe_workflow(input)

            async def query_workflow(self, input: Any) -> Any:
                calls["query"] += 1
                return await super().query_workflow(input)

        return _Out(next)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(count: int, warmup: int, concurrency: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="kc-bench-reg-"))
    pg = start_embedded(work / "pg", keep=False, delete_on_stop=True)
    counter = Counting()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=os.path.join(sys.prefix, "bin", "temporal"),
        data_converter=data_converter,
        interceptors=[harness_signer(), counter],
        dev_server_log_level="error",
        search_attributes=list(ALL_KEYS),
        dev_server_database_filename=str(work / "temporal.db"),
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    try:
        url = pg.url("kc_bench")
        await ensure_database(url)
        pool = await create_pool(url, min_size=1, max_size=5)
        await apply_migrations(pool)
        settings = Settings.from_env(
            {}, task_queue=f"bench-{uuid.uuid4().hex[:8]}", graceful_shutdown_seconds=1
        )
        async with worker.build_worker(
            env.client, pool, with_test_identity(settings), HARNESS_REGISTER
        ):
            admin = AdminClient(env.client, pool, task_queue=settings.task_queue)
            official = await admin.add_official(
                OfficialIn(
                    id="TT-BENCH",
                    full_name="Cán bộ đo hiệu năng",
                    role=Role.TRUNG_TAM,
                    organisation="Trung tâm Khuyến công tỉnh Bắc Giang",
                    province="Bắc Giang",
                )
            )
            await credentials.set_password(pool, official.id, PASSWORD, set_by="bench")
            actor = await admin.authenticate(official.id, PASSWORD)
            today = vn_date(await env.get_current_time())
            run = uuid.uuid4().hex[:6].upper()
            timings: list[float] = []

            async def one(i: int) -> float:
                dossier = dossier_on(today, code=f"BENCH-{run}-{i:04d}")
                t = time.perf_counter()
                result = await admin.register(actor, dossier, today)
                assert result.status == "started", result
                return time.perf_counter() - t

            for i in range(warmup):
                await one(i)
            counter.calls.clear()
            semaphore = asyncio.Semaphore(concurrency)

            async def limited(i: int) -> float:
                async with semaphore:
                    return await one(i)

            t0 = time.perf_counter()
            timings = list(await asyncio.gather(*(limited(warmup + i) for i in range(count))))
            wall = time.perf_counter() - t0
            ms = [t * 1000 for t in timings]
            print(
                f"registration through the admin client, one official, {count} đề án, "
                f"{concurrency} at a time ({count / wall:.1f}/s): "
                f"p50 {percentile(ms, 50):.0f} ms, p90 {percentile(ms, 90):.0f} ms, "
                f"p99 {percentile(ms, 99):.0f} ms, mean {statistics.mean(ms):.0f} ms, "
                f"max {max(ms):.0f} ms"
            )
            per = {k: round(v / count, 2) for k, v in sorted(counter.calls.items())}
            print(f"client calls per registration: {per}")
        await pool.close()
    finally:
        await env.shutdown()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
        await asyncio.sleep(0.5)  # sdk-python #300 at interpreter exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="registrations at a time")
    args = parser.parse_args()
    asyncio.run(bench(args.count, args.warmup, args.concurrency))


if __name__ == "__main__":
    main()
