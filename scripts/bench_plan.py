"""Benchmark one plan year's heavy moments (not a test: it prints figures).

    .venv/bin/python scripts/bench_plan.py [--count 200]

On the time-skipping server, an embedded PostgreSQL and the production worker (payloads
encrypted, as in production): import ``--count`` đề án into a plan, appraise them, send one
decision for all, raise one đề án's support (the đề án asks the plan), stop another (the plan
releases at once). Prints the time of each step, and the size of what Temporal keeps: the
plan's history (events, bytes, the largest event) and its state as a query returns it, so an
operator sees how far a plan can grow before the 2 MB payload and 50 MB history limits matter.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.deadlines import vn_date
from domain.model import Level, workflow_id_for
from domain.money import format_dong
from khuyencong.plans.generator import PROVINCE, generate
from khuyencong.plans.service import ensure_plan, import_entries, plan_state
from tests.support.builders import SO, UBND
from tests.support.lifecycle import appraisal
from tests.support.record_histories import recording_stack
from tests.support.waiting import until
from workflows.de_an_contract import DeAnActionResult
from workflows.plan_contract import PlanConfig, PlanDecision, PlanDecisionItem, PlanDecisionResult


def line(label: str, seconds: float, extra: str = "") -> None:
    print(f"  {label:<44} {seconds * 1000:>9.0f} ms  {extra}")


async def bench(count: int) -> None:
    async with recording_stack() as (env, task_queue):
        client = env.client
        today = vn_date(await env.get_current_time())
        year = today.year + 1
        entries = generate(
            7, year=year, level=Level.DIA_PHUONG, count=count, code_prefix=f"BENCH-{year}",
            registered_on=today,
        )  # fmt: skip
        requested = sum(e.dossier.requested_support for e in entries)
        config = PlanConfig.with_defaults(PROVINCE, Level.DIA_PHUONG, year, requested * 7 // 10)
        print(f"Kế hoạch {config.plan_id}: {count} đề án, kinh phí {format_dong(config.envelope)}")

        t = time.perf_counter()
        handle = await ensure_plan(client, task_queue, config, entries[0].registered_by)
        registered = await import_entries(
            handle, entries, f"bench-{count}", entries[0].registered_by
        )
        line("import (register, start each đề án)", time.perf_counter() - t,
             f"{registered.accepted} accepted")  # fmt: skip

        codes = [e.dossier.code for e in entries]
        semaphore = asyncio.Semaphore(32)

        async def appraise(code: str) -> None:
            async with semaphore:
                await client.get_workflow_handle(workflow_id_for(code)).execute_update(
                    "appraise", appraisal(SO, today), result_type=DeAnActionResult
                )

        t = time.perf_counter()
        await asyncio.gather(*(appraise(c) for c in codes))
        line("appraise every đề án (32 at a time)", time.perf_counter() - t)

        t = time.perf_counter()
        decided: PlanDecisionResult = await handle.execute_update(
            "decide",
            PlanDecision(
                decision_number="1/QĐ-UBND",
                decision_date=today,
                signer=UBND.full_name,
                actor=UBND,
                items=[PlanDecisionItem(code=c) for c in codes],
            ),
            result_type=PlanDecisionResult,
        )
        approved = [i.code for i in decided.items if i.approved_support]
        line("one decision for all", time.perf_counter() - t,
             f"{len(approved)} approved, {format_dong(decided.committed)} committed")  # fmt: skip

        stop_code = approved[-1]
        t = time.perf_counter()
        await client.get_workflow_handle(workflow_id_for(stop_code)).execute_update(
            "stop",
            {"actor": UBND, "decision_number": "2/QĐ-UBND", "decision_date": today,
             "reason": "Đơn vị thụ hưởng xin dừng"},
            result_type=DeAnActionResult,
        )  # fmt: skip

        async def released() -> bool:
            item = (await plan_state(handle)).item(stop_code)
            return item is not None and item.released is not None

        await until(released, timeout=60)
        line("stop one đề án until the plan released it", time.perf_counter() - t)

        history = await handle.fetch_history()
        sizes = [e.ByteSize() for e in history.events]
        state_bytes = len((await plan_state(handle)).model_dump_json().encode("utf-8"))
        print(
            f"  plan history: {len(sizes)} events, {sum(sizes) / 1024:,.0f} KiB, "
            f"largest event {max(sizes) / 1024:,.0f} KiB; state (query) {state_bytes / 1024:,.0f} KiB"
        )
        await handle.terminate("benchmark finished")
        for code in codes:
            wf: Any = client.get_workflow_handle(workflow_id_for(code))
            try:
                await wf.terminate("benchmark finished")
            except Exception:  # already closed
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bench(args.count))


if __name__ == "__main__":
    main()
