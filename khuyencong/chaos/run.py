"""The fault suite from start to table: start the stack, let simulated officials take N đề án
through every path while faults fire, then check and print.

``run_chaos`` returns a :class:`ChaosReport`; ``report.ok`` is False when any check failed
(the command exits 1 then).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from domain.deadlines import vn_date
from khuyencong.chaos.checks import Check, Life, Verdict, check_run
from khuyencong.chaos.clerk import Clerk, ClerkStats, LifecycleFailed
from khuyencong.chaos.faults import FaultLog, FaultPlan, inject
from khuyencong.chaos.officials import officials_at_desk
from khuyencong.chaos.paths import PATHS
from khuyencong.chaos.stack import chaos_stack
from khuyencong.chaos.wire import Wire


@dataclass
class ChaosOptions:
    lifecycles: int = 20
    concurrency: int = 6
    workers: int = 2
    worker_kills: int = 3
    temporal_restarts: int = 2
    postgres_restarts: int = 2
    seed: int = 1
    out: Path = Path("chaos-out")
    settle_timeout: float = 120.0
    lost_answers: float = 0.05
    """Share of applied updates whose answer the officials never get (they retry)."""
    keep_root: bool = False


@dataclass
class ChaosReport:
    options: ChaosOptions
    verdict: Verdict
    faults: FaultLog
    stats: ClerkStats
    lives: list[Life]
    elapsed: float
    worker_exits: int
    text: str = field(default="")

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.faults.errors


def plan_lives(n: int, rng: random.Random, seed: int) -> list[Life]:
    """Every path at least once when ``n`` allows, then round-robin; order shuffled."""
    paths = [PATHS[i % len(PATHS)] for i in range(n)]
    rng.shuffle(paths)
    return [Life(f"CH-S{seed}-{i:04d}", path) for i, path in enumerate(paths)]


async def run_chaos(opts: ChaosOptions, echo: Callable[[str], None] = print) -> ChaosReport:
    from db.pool import create_pool

    rng = random.Random(opts.seed)
    lives = plan_lives(opts.lifecycles, rng, opts.seed)
    total_steps = sum(1 + len(life.path.steps) for life in lives)
    stats = ClerkStats()
    fault_log = FaultLog()
    plan = FaultPlan(opts.worker_kills, opts.temporal_restarts, opts.postgres_restarts)
    opts.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="kc-chaos-"))  # short: the PostgreSQL socket lives here
    started = time.monotonic()
    try:
        async with chaos_stack(
            root, workers=opts.workers, task_queue=f"chaos-{opts.seed}"
        ) as stack:
            assert stack.client is not None
            echo(
                f"stack up in {root}: Temporal 127.0.0.1:{stack.temporal.port}, "
                f"{opts.workers} workers; {len(lives)} đề án, {total_steps} steps"
            )
            wire = Wire(random.Random(rng.random()), opts.lost_answers)
            config = stack.client.config()
            # The lossy wire outside, the signer kept: the officials' statements still go out.
            config["interceptors"] = [wire, *config["interceptors"]]
            officials_client = Client(**config)
            async with officials_at_desk(
                officials_client, stack.database_url, stack.task_queue, f"CH{opts.seed}"
            ) as desk:
                today = vn_date(datetime.now(UTC))
                finished = asyncio.Event()
                pace = asyncio.Event()
                pace.set()
                injector = asyncio.create_task(
                    inject(
                        stack,
                        plan,
                        random.Random(rng.random()),
                        lambda: stats.steps_done / total_steps,
                        finished,
                        fault_log,
                        pace,
                    )
                )
                gate = asyncio.Semaphore(opts.concurrency)

                async def one(life: Life, seed: float) -> None:
                    async with gate:
                        clerk = Clerk(desk, stats, random.Random(seed), wire, pace)
                        try:
                            await clerk.live(life.path, life.code, today)
                        except LifecycleFailed as exc:
                            life.error = str(exc)
                        except Exception as exc:
                            life.error = f"{type(exc).__name__}: {exc}"[:400]

                try:
                    await asyncio.gather(*(one(life, rng.random()) for life in lives))
                finally:
                    finished.set()
                    await injector
                echo(f"lifecycles done in {time.monotonic() - started:.0f} s; checking")
                stack.supervise_workers()
                pool: Any = await create_pool(stack.database_url, min_size=1, max_size=2)
                try:
                    verdict = await check_run(
                        stack.client,
                        pool,
                        lives,
                        stack.codec_keys,
                        stack.codec_keys_text,
                        opts.out,
                        settle_timeout=opts.settle_timeout,
                    )
                finally:
                    await pool.close()
                verdict.checks[0].failures += stats.wrong_accepts + stats.refusal_mismatch
                same_id = Check("retries keep their update ID", list(stats.id_changed))
                same_id.counted = (
                    f"{wire.lost} answers lost · {stats.resent} steps resent · "
                    f"{len(stats.id_changed)} under another ID"
                )
                verdict.checks.insert(1, same_id)
                worker_exits = sum(w.unplanned_exits for w in stack.workers)
    finally:
        if not opts.keep_root:
            shutil.rmtree(root, ignore_errors=True)
    report = ChaosReport(
        opts, verdict, fault_log, stats, lives, time.monotonic() - started, worker_exits
    )
    report.text = render(report)
    (opts.out / "report.txt").write_text(report.text + "\n", encoding="utf-8")
    (opts.out / "faults.log").write_text("\n".join(fault_log.lines) + "\n", encoding="utf-8")
    echo(report.text)
    return report


def render(report: ChaosReport) -> str:
    o, v, f, s = report.options, report.verdict, report.faults, report.stats
    lines = [
        f"Khuyến công chaos — seed {o.seed}: {o.lifecycles} đề án ({o.concurrency} at a time), "
        f"{o.workers} workers, {report.elapsed:.0f} s",
        "",
        "Faults fired (planned): "
        + " · ".join(f"{k} {f.fired[k]} ({f.planned[k]})" for k in sorted(f.planned))
        + f" · workers that exited by themselves and were restarted: {report.worker_exits}",
    ]
    if f.errors:
        lines.append("Faults that failed to fire or recover: " + "; ".join(f.errors))
    lines += [
        f"Officials: {s.steps_done} steps · transport retries "
        f"{dict(s.transport_retries) or 0} · retries found already applied "
        f"{s.repeat_found_applied} · refusals met as expected {s.expected_refusals}",
        "",
    ]
    by_path: Counter[str] = Counter(life.path.name for life in report.lives)
    good: Counter[str] = Counter(
        o_.life.path.name
        for o_ in v.observed
        if o_.result is not None and o_.result.stage is o_.life.path.stage and not o_.life.error
    )
    width = max(len(p) for p in by_path)
    lines.append(f"{'path':{width}}  đề án  ended as expected")
    for name in sorted(by_path):
        lines.append(f"{name:{width}}  {by_path[name]:5}  {good[name]:5}")
    lines.append("")
    cw = max(len(c.name) for c in v.checks)
    lines.append(f"{'check':{cw}}  result  detail")
    for c in v.checks:
        lines.append(f"{c.name:{cw}}  {'ok' if c.ok else 'FAIL':6}  {c.counted}")
    for c in v.checks:
        for failure in c.failures[:20]:
            lines.append(f"  ✗ {c.name}: {failure}")
        if len(c.failures) > 20:
            lines.append(f"  … {len(c.failures) - 20} more for {c.name}")
    for text in s.wrong_accepts + s.refusal_mismatch:
        lines.append(f"  ! {text}")
    if v.exported:
        lines.append(f"failing histories exported to {v.exported[0].parent}:")
        lines += [f"  {p.name}" for p in v.exported]
    lines.append("")
    lines.append("RESULT: " + ("ok" if report.ok else "FAIL"))
    return "\n".join(lines)
