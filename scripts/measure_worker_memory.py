"""Where a worker's memory per cached open đề án goes (issue 14): the Python heap, by file and
by line (tracemalloc); the worker's RSS (``bench_lifecycle.py --open``) grows by that and by
what the SDK's Rust core and the allocator hold. A tool for people, not a test: it prints
figures.

    .venv/bin/python scripts/measure_worker_memory.py [--open 100]

Starts the benchmark's stack without a worker process (embedded PostgreSQL, the dev server),
runs the production worker (``worker.run_worker``) in this process, takes two đề án through
their whole life (warm-up: imports, caches), then registers ``--open`` đề án through the admin
client, appraises and approves them and leaves them open in the worker's cache. The heap those
đề án added is what Python holds for them (the worker's, and the admin client's, which caches
nothing per đề án). tracemalloc cannot see the Rust core's memory, and adds its own to the
RSS: ``bench_lifecycle.py --open`` measures the worker's RSS, in its own process, beside the
floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import worker
from bench.lifecycle import OPEN_STEPS, Timings, admin_item
from domain.deadlines import vn_date
from khuyencong.chaos.officials import officials_at_desk
from khuyencong.chaos.stack import chaos_stack
from khuyencong.devstack import NAMESPACE
from khuyencong.settings import Settings

WARM_UP = 2
AT_ONCE = 10


async def measure(count: int, top: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="kc-memory-"))
    async with chaos_stack(root, workers=0, task_queue="memory") as stack:
        signing = stack.settings.identity_signing_key
        assert signing is not None
        settings = Settings.from_env(
            {
                "KHUYENCONG_TEMPORAL_ADDRESS": stack.settings.temporal_address,
                "KHUYENCONG_NAMESPACE": NAMESPACE,
                "KHUYENCONG_TASK_QUEUE": stack.task_queue,
                "KHUYENCONG_DATABASE_URL": stack.database_url,
                "KHUYENCONG_CODEC_KEYS": stack.codec_keys_text,
                "KHUYENCONG_IDENTITY_SIGNING_KEY": signing.get_secret_value(),
                "KHUYENCONG_DATA_DIR": str(root),
                "KHUYENCONG_LOG_LEVEL": "WARNING",
            }
        )
        assert stack.client is not None
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run_worker(settings, stop=stop))
        try:
            async with officials_at_desk(
                stack.client, stack.database_url, stack.task_queue, "memory", deactivate=False
            ) as desk:
                bench = SimpleNamespace(
                    desk=desk, today=vn_date(datetime.now(UTC)), closed=[], opened=[]
                )
                for i in range(WARM_UP):
                    await admin_item(bench, f"MEM-W-{i:02d}", Timings())  # type: ignore[arg-type]
                gc.collect()
                tracemalloc.start()
                before = tracemalloc.take_snapshot()
                at_once = asyncio.Semaphore(AT_ONCE)

                async def open_one(i: int) -> None:
                    async with at_once:
                        await admin_item(bench, f"MEM-O-{i:04d}", Timings(), steps=OPEN_STEPS)  # type: ignore[arg-type]

                await asyncio.gather(*(open_one(i) for i in range(count)))
                gc.collect()
                after = tracemalloc.take_snapshot()
                tracemalloc.stop()
        finally:
            stop.set()
            await running
    report(count, before, after, top)


def report(count: int, before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> None:
    by_line = after.compare_to(before, "lineno")
    heap = sum(s.size_diff for s in by_line)
    print(f"{count} đề án left open after approval, per đề án:")
    print(f"  Python heap (tracemalloc) +{heap / 1024 / count:.1f} KB")
    print("by file (KB per đề án):")
    for stat in after.compare_to(before, "filename")[:top]:
        name = stat.traceback[0].filename
        short = name.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        print(f"  {stat.size_diff / 1024 / count:7.2f}  {short}")
    print("by line (KB and objects per đề án):")
    for stat in by_line[:top]:
        frame = stat.traceback[0]
        short = frame.filename.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        print(
            f"  {stat.size_diff / 1024 / count:7.2f}  {stat.count_diff / count:6.1f}  "
            f"{short}:{frame.lineno}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100, help="đề án left open")
    parser.add_argument("--top", type=int, default=15, help="rows of each table")
    args = parser.parse_args()
    asyncio.run(measure(args.open, args.top))


if __name__ == "__main__":
    main()
