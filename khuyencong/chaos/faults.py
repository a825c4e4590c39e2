"""Faults, spread over the run: SIGKILL of a worker, kill -9 of Temporal, PostgreSQL restarts.

The faults of a run are shuffled (seeded) and fired by progress: the i-th of n fires once
``(i + 1) / (n + 1)`` of all the officials' steps are done, so they land while đề án are in
every stage, whatever the speed of the machine. Between checks the supervisor starts again any
worker that exited by itself.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from khuyencong.chaos.stack import ChaosStack

log = structlog.get_logger(__name__)

WORKER_KILL = "worker SIGKILL"
TEMPORAL_KILL = "temporal kill -9"
PG_FAST = "postgres stop -m fast"
PG_IMMEDIATE = "postgres stop -m immediate"


@dataclass(frozen=True)
class FaultPlan:
    worker_kills: int = 0
    temporal_restarts: int = 0
    postgres_restarts: int = 0

    def schedule(self, rng: random.Random) -> list[str]:
        modes = [PG_FAST, PG_IMMEDIATE]
        rng.shuffle(modes)
        pg = [modes[i % 2] for i in range(self.postgres_restarts)]
        faults = [WORKER_KILL] * self.worker_kills + [TEMPORAL_KILL] * self.temporal_restarts + pg
        rng.shuffle(faults)
        return faults


@dataclass
class FaultLog:
    fired: Counter[str] = field(default_factory=Counter)
    planned: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def fire(stack: ChaosStack, fault: str, rng: random.Random) -> str:
    if fault == WORKER_KILL:
        running = [w for w in stack.workers if w.running]
        if not running:
            return "no worker running"
        victim = rng.choice(running)
        victim.kill()
        await asyncio.sleep(rng.uniform(0.0, 1.5))
        victim.start()
        return f"worker {victim.index} killed and started again"
    if fault == TEMPORAL_KILL:
        down = rng.uniform(0.2, 2.0)
        await stack.restart_temporal(down_for=down)
        return f"temporal down {down:.1f} s"
    mode = "fast" if fault == PG_FAST else "immediate"
    down = rng.uniform(0.2, 2.0)
    await asyncio.to_thread(stack.postgres.restart, mode, down)
    return f"postgres ({mode}) down {down:.1f} s"


async def inject(
    stack: ChaosStack,
    plan: FaultPlan,
    rng: random.Random,
    progress: Callable[[], float],
    finished: asyncio.Event,
    fault_log: FaultLog,
    pace: asyncio.Event | None = None,
) -> None:
    """Fire the plan's faults by progress until ``finished``; supervise workers throughout.
    ``pace`` is cleared while a fault is due and not yet fired (the clerks wait on it before
    each step), so the lifecycles cannot all end before the plan has fired."""
    faults = plan.schedule(rng)
    fault_log.planned.update(faults)
    started = time.monotonic()
    last = 0.0
    while not finished.is_set():
        stack.supervise_workers()
        threshold = (len(fault_log.lines) + 1) / (sum(fault_log.planned.values()) + 1)
        due = bool(faults) and progress() >= threshold
        if pace is not None:
            (pace.clear if due else pace.set)()
        if due:
            if time.monotonic() - last > 1.0:
                fault = faults.pop()
                try:
                    detail = await fire(stack, fault, rng)
                    fault_log.fired[fault] += 1
                except Exception as exc:  # a fault that failed to fire or recover is a finding
                    detail = f"FAILED: {exc!r}"
                    fault_log.errors.append(f"{fault}: {exc!r}")
                line = f"{time.monotonic() - started:7.1f}s  {fault:28} {detail}"
                fault_log.lines.append(line)
                log.info("fault", fault=fault, detail=detail)
                last = time.monotonic()
        try:
            await asyncio.wait_for(finished.wait(), 0.2)
        except TimeoutError:
            pass
    if pace is not None:
        pace.set()
