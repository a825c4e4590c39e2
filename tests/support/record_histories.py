"""Record the histories of :mod:`tests.support.histories` into ``tests/histories/<set>/``.

    python -m tests.support.record_histories v1            # every scenario
    python -m tests.support.record_histories v1 national-closed

Runs an embedded PostgreSQL, the time-skipping server (with the search attributes
registered) and the production worker, exactly as the suite does, with the suite's data
converter (payloads encrypted with the committed *test* key, see
:mod:`tests.support.temporal`). Record a new set before every change to ``DeAnWorkflow``
that could touch determinism, and commit it: see ``docs/upgrading-workflows.md``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from tests.support.histories import SCENARIOS
from tests.support.identity import harness_signer
from tests.support.lifecycle import end_started_workflows
from tests.support.temporal import (
    _binary,
    new_task_queue,
    register_on_test_server,
    run_worker,
    suite_data_converter,
)

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


@asynccontextmanager
async def recording_stack() -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """An embedded PostgreSQL, the time-skipping server (search attributes registered, the
    suite's encrypting converter, the harness's identity signer) and the production worker
    on a fresh task queue."""
    from db.pool import create_pool, ensure_database
    from khuyencong.embedded_pg import start_embedded
    from migrations import apply_migrations

    parent = Path(tempfile.mkdtemp(prefix="kc-rec-"))
    server = start_embedded(parent / "data", keep=False, delete_on_stop=True)
    try:
        url = server.url("kc_record")
        await ensure_database(url)
        pool = await create_pool(url, min_size=1, max_size=5)
        await apply_migrations(pool)
        # The client signs each update's identity statement, as the worker's
        # IdentityInterceptor requires (tests/support/identity.py).
        signer = harness_signer()
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=_binary("temporal-test-server"),
            data_converter=suite_data_converter(),
            interceptors=[signer],
        )
        signer.clock = env.get_current_time  # statements judged by the server's skipped time
        try:
            await register_on_test_server(env.client)
            task_queue = new_task_queue()
            async with run_worker(env.client, pool, task_queue):
                yield env, task_queue
        finally:
            await env.shutdown()
            await pool.close()
    finally:
        server.stop()
        shutil.rmtree(parent, ignore_errors=True)
    await asyncio.sleep(0.5)  # sdk-python #300


def write_history(path: Path, history: WorkflowHistory) -> Path:
    data = json.loads(history.to_json())
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"recorded {path} ({len(history.events)} events)")
    return path


async def record(set_name: str, names: list[str]) -> list[Path]:
    out = HISTORIES / set_name
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    async with recording_stack() as (env, task_queue):
        for name in names:
            d = await SCENARIOS[name](env, task_queue, "")
            written.append(write_history(out / f"{name}.json", await d.handle.fetch_history()))
        await end_started_workflows()
    return written


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    set_name, names = argv[0], argv[1:] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    asyncio.run(record(set_name, names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
