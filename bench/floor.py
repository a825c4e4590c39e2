"""The floor: the cheapest Temporal program of a đề án's shape.

One workflow per item; an update (``act``) with a validator (the step must be the next one)
that runs one regular activity writing one row to PostgreSQL idempotently
(``INSERT ... ON CONFLICT DO NOTHING`` into :data:`TABLE`, a table of the benchmark's own, not
a project migration); :data:`STEPS` updates in sequence, then the workflow completes. No
codec, no interceptors, no search attributes, the SDK's default converter: what any Temporal
program of this shape pays at least.

Its worker runs as a process of its own so that its CPU and memory are read apart::

    BENCH_FLOOR_TASK_QUEUE=floor KHUYENCONG_TEMPORAL_ADDRESS=127.0.0.1:7233 \\
    KHUYENCONG_DATABASE_URL=postgresql://... python -m bench.floor
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import structlog

log = structlog.get_logger(__name__)

STEPS = 12
"""Updates per item, as a đề án's official actions."""
TABLE = "bench_floor_row"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    workflow_id text        NOT NULL,
    step        integer     NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, step)
)"""
INSERT_ROW = f"INSERT INTO {TABLE} (workflow_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING"
WORKFLOW = "BenchFloor"
LOCAL_WORKFLOW = "BenchFloorLocal"
"""The same shape, its write a local activity: the floor of the project's lean path."""
UPDATE = "act"
TASK_QUEUE_ENV = "BENCH_FLOOR_TASK_QUEUE"


@dataclass(frozen=True)
class FloorRow:
    workflow_id: str
    step: int


class FloorActivities:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @activity.defn(name="bench_floor_write")
    async def write(self, row: FloorRow) -> None:
        await self.pool.execute(INSERT_ROW, row.workflow_id, row.step)


@workflow.defn(name=WORKFLOW)
class FloorWorkflow:
    def __init__(self) -> None:
        self.steps = 0
        self.busy = False

    @workflow.run
    async def run(self, item: str) -> int:
        await workflow.wait_condition(
            lambda: self.steps >= STEPS and workflow.all_handlers_finished()
        )
        return self.steps

    @workflow.update(name=UPDATE)
    async def act(self, step: int) -> int:
        self.busy = True
        try:
            await self.write(FloorRow(workflow.info().workflow_id, step))
        finally:
            self.busy = False
        self.steps = step
        return step

    @act.validator
    def check(self, step: int) -> None:
        if self.busy or step != self.steps + 1:
            raise ApplicationError(f"step {step} is not next ({self.steps} done)", type="Refused")

    async def write(self, row: FloorRow) -> None:
        await workflow.execute_activity(
            "bench_floor_write", row, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name=LOCAL_WORKFLOW)
class FloorLocalWorkflow(FloorWorkflow):
    """:class:`FloorWorkflow` with its write run as a local activity, in the update's own
    workflow task: what one update that writes one row costs at least on this stack."""

    @workflow.run
    async def run(self, item: str) -> int:
        return await super().run(item)

    async def write(self, row: FloorRow) -> None:
        await workflow.execute_local_activity(
            "bench_floor_write", row, start_to_close_timeout=timedelta(seconds=30)
        )


async def run_worker(client: Client, pool: Any, task_queue: str, stop: asyncio.Event) -> None:
    from temporalio.worker import Worker

    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow, FloorLocalWorkflow],
        activities=[FloorActivities(pool).write],
    )
    async with worker:
        log.info("floor worker running", task_queue=task_queue)
        await stop.wait()


async def main_async() -> None:
    import asyncpg

    address = os.environ["KHUYENCONG_TEMPORAL_ADDRESS"]
    namespace = os.environ.get("KHUYENCONG_NAMESPACE", "default")
    task_queue = os.environ[TASK_QUEUE_ENV]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await Client.connect(address, namespace=namespace)
    pool = await asyncpg.create_pool(os.environ["KHUYENCONG_DATABASE_URL"], min_size=1, max_size=10)
    try:
        await pool.execute(CREATE_TABLE)
        await run_worker(client, pool, task_queue, stop)
    finally:
        with contextlib.suppress(Exception):
            await pool.close()


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
