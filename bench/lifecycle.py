"""The lifecycle benchmark: the project's đề án beside the floor, on one stack, in one go.

:func:`run_bench` starts a throw-away stack (:func:`khuyencong.chaos.stack.chaos_stack`: an
embedded PostgreSQL, ``temporal server start-dev`` on SQLite, one production worker
``python -m worker``) plus the floor's worker (``python -m bench.floor``), and runs, each mode
after the other:

1. the floor (:mod:`bench.floor`): start + 12 updates per item, with ``officials`` concurrent
   officials and with one; with one, also the floor whose write is a local activity
   (``BenchFloorLocal``, the floor of the project's lean path);
2. the project's lifecycle through the admin client (``AdminClient.register`` + ``act``):
   registration + the 12 official actions of :data:`PATH`, with ``officials`` and with one;
3. the same lifecycle through raw updates: :func:`khuyencong.registration.register` and
   :func:`khuyencong.updates.execute_de_an_update` on the workflow handle, the same signed
   client;
4. with ``open_count``: memory. A fresh project worker, warmed up, then ``open_count`` đề án
   registered, appraised and approved and left open (cached in the worker): its RSS before and
   after.

An official is an asyncio task taking items one by one, each through its whole lifecycle
(the workflow's result awaited). Each mode reads the CPU of every process from ``/proc``
before and after (:mod:`bench.procstat`), fetches one item's history, and reads the worker's
RSS. :func:`check_rows` then counts what PostgreSQL holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import structlog
from temporalio.client import Client

from bench import floor
from bench.procstat import cpu_ms, machine_busy_ms, postmaster_pid, rss_kb
from domain.deadlines import vn_date
from domain.model import workflow_id_for
from domain.stages import Action
from khuyencong.admin.client import COMMANDS, update_id_for
from khuyencong.chaos.officials import Desk, officials_at_desk
from khuyencong.chaos.paths import PATHS_BY_NAME, LifePath, Step
from khuyencong.chaos.stack import ChaosStack, WorkerProcess, chaos_stack
from khuyencong.identity_interceptors import vouching
from khuyencong.registration import Outcome, RegistrationEntry, register
from khuyencong.updates import execute_de_an_update
from workflows.de_an_actions import for_command
from workflows.de_an_contract import DeAnActionResult, DeAnCommand

log = structlog.get_logger(__name__)

_BASE = PATHS_BY_NAME["dp-closed-hold-adjust"]
_LEFT_OUT = {Action.RECORD_VISIT, Action.RESOLVE_FINDINGS}
PATH: LifePath = dataclasses.replace(
    _BASE,
    name="bench-dp-machinery",
    steps=[s for s in _BASE.steps if s.refusal is None and s.action not in _LEFT_OUT],
)
"""A provincial machinery đề án, happy path: appraise, approve, sign, report and confirm
progress, request and pay an advance, change the site, accept, submit the settlement dossier,
settle, pay the settlement (the chaos path ``dp-closed-hold-adjust`` without its refusal and
its payment hold)."""
OPEN_STEPS: list[Step] = PATH.steps[:2]
"""Memory mode: registered, appraised, approved, then left open (waiting for the contract)."""
FLOOR_OPEN_STEPS = len(OPEN_STEPS)
"""Memory mode, the floor: started, then as many updates as an open đề án's actions."""

PROCESSES = ("temporal", "worker", "postgres", "harness")
"""The CPU columns; ``worker`` is the floor's worker in floor modes, the project's otherwise."""


@dataclass
class Timings:
    registration: list[float] = field(default_factory=list)
    actions: list[float] = field(default_factory=list)


@dataclass
class ModeResult:
    name: str
    kind: str
    """``floor``, ``floor-local`` (its write a local activity), ``admin`` or ``raw``."""
    officials: int
    items: int
    actions: int
    wall: float
    timings: Timings
    cpu: dict[str, float]
    events: int
    history_bytes: int
    worker_rss_kb: int
    others_cpu_ms: float = 0.0
    """CPU the machine spent in processes not of this stack during the mode."""

    @property
    def others_cores(self) -> float:
        """What other processes took, in cores (2.0: both cores of a 2-core machine)."""
        return self.others_cpu_ms / (self.wall * 1000) if self.wall else 0.0

    @property
    def per_second(self) -> float:
        return self.items / self.wall if self.wall else 0.0

    def cpu_per_action(self, process: str | None = None) -> float:
        total = self.cpu[process] if process else sum(self.cpu.values())
        return total / self.actions if self.actions else 0.0


@dataclass
class MemoryResult:
    opened: int
    before_kb: int
    after_kb: int
    wall: float
    floor_before_kb: int = 0
    floor_after_kb: int = 0
    """The floor's worker, with as many floor items left open after two updates."""

    @property
    def per_de_an_kb(self) -> float:
        return (self.after_kb - self.before_kb) / self.opened if self.opened else 0.0

    @property
    def floor_per_item_kb(self) -> float:
        return (self.floor_after_kb - self.floor_before_kb) / self.opened if self.opened else 0.0


@dataclass
class RowCheck:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class BenchResult:
    journal: str
    modes: list[ModeResult]
    memory: MemoryResult | None
    rows: RowCheck
    kept: Path | None = None
    """Where the logs and the Temporal database were left (a failed run's), else None."""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# --- the processes --------------------------------------------------------------------------


@dataclass
class Bench:
    stack: ChaosStack
    desk: Desk
    floor_client: Client
    floor_worker: WorkerProcess
    today: date
    floor_queue: str
    floor_items: list[str] = field(default_factory=list)
    """Every floor item run (warm-up included): the row check counts their rows."""
    floor_opened: list[str] = field(default_factory=list)
    """Every floor item left open after :data:`FLOOR_OPEN_STEPS` updates (memory mode)."""
    closed: list[str] = field(default_factory=list)
    """Every đề án taken to its end."""
    opened: list[str] = field(default_factory=list)
    """Every đề án left open after approval."""

    @property
    def worker(self) -> WorkerProcess:
        return self.stack.workers[0]

    def pids(self) -> dict[str, int]:
        """Every process of the stack: both workers, whichever mode runs."""
        assert self.worker.process is not None and self.floor_worker.process is not None
        assert self.stack.temporal.server is not None
        pg = postmaster_pid(self.stack.postgres.data_dir)
        return {
            "temporal": self.stack.temporal.server.process.pid,
            "worker": self.worker.process.pid,
            "floor": self.floor_worker.process.pid,
            "postgres": pg or 0,
            "harness": os.getpid(),
        }

    def cpu_all(self) -> dict[str, float]:
        return {
            name: cpu_ms(pid, tree=name != "harness")  # the harness's children are the workers
            for name, pid in self.pids().items()
        }


@contextlib.asynccontextmanager
async def bench_stack(root: Path, *, journal_mode: str | None) -> AsyncIterator[Bench]:
    """The chaos stack with one project worker (logging at INFO, the production default)
    and the floor's worker beside it."""
    async with chaos_stack(
        root,
        workers=1,
        task_queue="bench-de-an",
        journal_mode=journal_mode,
        worker_log_level="INFO",
    ) as stack:
        assert stack.client is not None
        floor_queue = "bench-floor"
        env = stack.workers[0].env | {floor.TASK_QUEUE_ENV: floor_queue}
        floor_worker = WorkerProcess(1, env, root / "floor-worker.log", module="bench.floor")
        floor_worker.start()
        try:
            floor_client = await Client.connect(
                stack.settings.temporal_address, namespace=stack.settings.namespace
            )
            async with officials_at_desk(
                stack.client, stack.database_url, stack.task_queue, "bench", deactivate=False
            ) as desk:
                today = vn_date(datetime.now(UTC))  # the dev server runs on this clock
                yield Bench(stack, desk, floor_client, floor_worker, today, floor_queue)
        finally:
            floor_worker.stop()


# --- one item's lifecycle, per mode ---------------------------------------------------------


def _command(desk: Desk, step: Step, today: date) -> DeAnCommand:
    return COMMANDS[step.action].model_validate({**step.payload(today), "actor": desk[step.who]})


async def floor_item(
    bench: Bench, item: str, timings: Timings, workflow_type: str = floor.WORKFLOW
) -> None:
    bench.floor_items.append(item)
    t = time.perf_counter()
    handle = await bench.floor_client.start_workflow(
        workflow_type, item, id=item, task_queue=bench.floor_queue, result_type=int
    )
    timings.registration.append((time.perf_counter() - t) * 1000)
    for step in range(1, floor.STEPS + 1):
        t = time.perf_counter()
        await handle.execute_update(floor.UPDATE, step, result_type=int)
        timings.actions.append((time.perf_counter() - t) * 1000)
    await handle.result()


async def admin_item(
    bench: Bench, code: str, timings: Timings, steps: list[Step] | None = None
) -> None:
    """Registration and ``steps`` (default: the whole :data:`PATH`) through the admin client;
    the workflow's result awaited when the path is whole."""
    desk, today = bench.desk, bench.today
    dossier = PATH.dossier(code, today)
    t = time.perf_counter()
    await desk.admin.register(desk["tt"], dossier, today)
    timings.registration.append((time.perf_counter() - t) * 1000)
    for step in PATH.steps if steps is None else steps:
        command = _command(desk, step, today)
        t = time.perf_counter()
        await desk.admin.act(code, command)
        timings.actions.append((time.perf_counter() - t) * 1000)
    if steps is None:
        await desk.admin.client.get_workflow_handle(workflow_id_for(code)).result()
        bench.closed.append(code)
    else:
        bench.opened.append(code)


async def raw_item(bench: Bench, code: str, timings: Timings) -> None:
    """The same lifecycle as :func:`admin_item` through the one registration path and raw
    updates (``execute_de_an_update``), on the admin client's signed Temporal client."""
    desk, today = bench.desk, bench.today
    client = desk.admin.client
    registrar = desk["tt"]
    entry = RegistrationEntry(
        dossier=PATH.dossier(code, today), registered_by=registrar, registered_on=today
    )
    t = time.perf_counter()
    answer = await register(client, bench.stack.task_queue, entry, hash_key=None)
    timings.registration.append((time.perf_counter() - t) * 1000)
    if answer.outcome is not Outcome.STARTED:
        raise RuntimeError(f"{code}: registration {answer.outcome}: {answer.message}")
    handle = client.get_workflow_handle(entry.workflow_id)
    for step in PATH.steps:
        command = _command(desk, step, today)
        definition = for_command(command)
        update_id = update_id_for(code, definition.action, command)
        t = time.perf_counter()
        with vouching(command.actor.official_id):
            await execute_de_an_update(
                handle, definition.name, command, id=update_id, result_type=DeAnActionResult
            )
        timings.actions.append((time.perf_counter() - t) * 1000)
    await handle.result()
    bench.closed.append(code)


# --- modes ----------------------------------------------------------------------------------

Lifecycle = Callable[[str, Timings], Awaitable[None]]


async def with_officials(items: list[str], officials: int, lifecycle: Lifecycle) -> Timings:
    """``officials`` tasks, each taking the next item through ``lifecycle`` until none is
    left."""
    import asyncio

    timings = Timings()
    queue = list(reversed(items))

    async def official() -> None:
        while queue:
            await lifecycle(queue.pop(), timings)

    await asyncio.gather(*(official() for _ in range(max(1, min(officials, len(items))))))
    return timings


async def history_size(client: Client, workflow_id: str) -> tuple[int, int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


async def run_mode(
    bench: Bench, name: str, kind: str, prefix: str, count: int, officials: int
) -> ModeResult:
    items = [f"BENCH-{prefix}-{i:04d}" for i in range(count)]
    lifecycle: Lifecycle
    floors = kind in ("floor", "floor-local")
    if floors:
        items = [f"floor-{prefix}-{i:04d}" for i in range(count)]
        workflow_type = floor.WORKFLOW if kind == "floor" else floor.LOCAL_WORKFLOW

        async def lifecycle(item: str, timings: Timings) -> None:
            await floor_item(bench, item, timings, workflow_type)

    elif kind == "admin":

        async def lifecycle(item: str, timings: Timings) -> None:
            await admin_item(bench, item, timings)

    else:

        async def lifecycle(item: str, timings: Timings) -> None:
            await raw_item(bench, item, timings)

    log.info("mode starting", mode=name, items=count, officials=officials)
    before, busy_before = bench.cpu_all(), machine_busy_ms()
    started = time.perf_counter()
    timings = await with_officials(items, officials, lifecycle)
    wall = time.perf_counter() - started
    after, busy_after = bench.cpu_all(), machine_busy_ms()
    ours = sum(after.values()) - sum(before.values())
    worker_key = "floor" if floors else "worker"
    client = bench.floor_client if floors else bench.desk.admin.client
    sample = items[0] if floors else workflow_id_for(items[0])
    events, size = await history_size(client, sample)
    worker = bench.floor_worker if floors else bench.worker
    assert worker.process is not None
    return ModeResult(
        name=name,
        kind=kind,
        officials=officials,
        items=count,
        actions=len(timings.actions),
        wall=wall,
        timings=timings,
        cpu={
            p: after[worker_key if p == "worker" else p]
            - before[worker_key if p == "worker" else p]
            for p in PROCESSES
        },
        events=events,
        history_bytes=size,
        worker_rss_kb=rss_kb(worker.process.pid),
        others_cpu_ms=max(0.0, busy_after - busy_before - ours),
    )


async def floor_open_item(bench: Bench, item: str, timings: Timings) -> None:
    """A floor item started and given :data:`FLOOR_OPEN_STEPS` updates, then left open."""
    bench.floor_opened.append(item)
    handle = await bench.floor_client.start_workflow(
        floor.WORKFLOW, item, id=item, task_queue=bench.floor_queue, result_type=int
    )
    for step in range(1, FLOOR_OPEN_STEPS + 1):
        await handle.execute_update(floor.UPDATE, step, result_type=int)


async def floor_memory(bench: Bench, count: int, officials: int, warm_up: int) -> tuple[int, int]:
    """The same for the floor: a fresh floor worker, ``warm_up`` whole items, then ``count``
    items left open: its RSS before and after."""
    bench.floor_worker.stop()
    bench.floor_worker.start()
    for i in range(warm_up):
        await floor_item(bench, f"floor-MW-{i:04d}", Timings())
    assert bench.floor_worker.process is not None
    pid = bench.floor_worker.process.pid
    before = rss_kb(pid)
    items = [f"floor-MO-{i:04d}" for i in range(count)]
    await with_officials(items, officials, lambda item, t: floor_open_item(bench, item, t))
    return before, rss_kb(pid)


async def memory_mode(bench: Bench, count: int, officials: int, warm_up: int) -> MemoryResult:
    """A fresh project worker, ``warm_up`` whole lifecycles (evicted from its cache once
    closed), then ``count`` đề án left open after approval: its RSS before and after; then
    the floor's worker with as many floor items left open (:func:`floor_memory`)."""
    bench.worker.stop()
    bench.worker.start()
    for i in range(warm_up):
        await admin_item(bench, f"BENCH-MW-{i:04d}", Timings())
    assert bench.worker.process is not None
    pid = bench.worker.process.pid
    before = rss_kb(pid)
    items = [f"BENCH-MO-{i:04d}" for i in range(count)]
    started = time.perf_counter()

    async def lifecycle(item: str, timings: Timings) -> None:
        await admin_item(bench, item, timings, steps=OPEN_STEPS)

    await with_officials(items, officials, lifecycle)
    after, wall = rss_kb(pid), time.perf_counter() - started
    floor_before, floor_after = await floor_memory(bench, count, officials, warm_up)
    return MemoryResult(count, before, after, wall, floor_before, floor_after)


# --- the row check --------------------------------------------------------------------------


async def check_rows(bench: Bench) -> RowCheck:
    """PostgreSQL holds exactly what the runs made: per closed đề án one event per step and
    the path's payments, closed; per open đề án its three steps; per floor item 12 rows."""
    check = RowCheck()
    pool = bench.desk.admin.pool
    codes = bench.closed + bench.opened
    events = {
        r["de_an_id"]: int(r["n"])
        for r in await pool.fetch(
            "SELECT de_an_id, count(*) AS n FROM de_an_event WHERE de_an_id = ANY($1::text[])"
            " GROUP BY de_an_id",
            codes,
        )
    }
    stages = {
        r["de_an_id"]: r["stage"]
        for r in await pool.fetch(
            "SELECT de_an_id, stage FROM de_an WHERE de_an_id = ANY($1::text[])", codes
        )
    }
    payments: dict[str, list[tuple[str, int]]] = {}
    for r in await pool.fetch(
        "SELECT de_an_id, kind, amount FROM payment WHERE de_an_id = ANY($1::text[])"
        " ORDER BY kind, amount",
        codes,
    ):
        payments.setdefault(r["de_an_id"], []).append((r["kind"], int(r["amount"])))
    want_closed = PATH.events
    want_open = 1 + len(OPEN_STEPS)
    for code in bench.closed:
        if events.get(code, 0) != want_closed:
            check.failures.append(f"{code}: {events.get(code, 0)} events, {want_closed} expected")
        if payments.get(code, []) != sorted(PATH.payments):
            check.failures.append(f"{code}: payments {payments.get(code, [])}")
        if stages.get(code) != PATH.stage.value:
            check.failures.append(f"{code}: stage {stages.get(code)}, {PATH.stage.value} expected")
    for code in bench.opened:
        if events.get(code, 0) != want_open:
            check.failures.append(f"{code}: {events.get(code, 0)} events, {want_open} expected")
        if code in payments:
            check.failures.append(f"{code}: payments {payments[code]}, none expected")
    total_events = sum(events.values())
    total_payments = sum(len(v) for v in payments.values())
    check.lines.append(
        f"de_an_event: {total_events} rows = {len(bench.closed)} closed × {want_closed}"
        f" + {len(bench.opened)} open × {want_open}"
    )
    check.lines.append(
        f"payment: {total_payments} rows = {len(bench.closed)} × {len(PATH.payments)}"
    )
    if total_payments != len(bench.closed) * len(PATH.payments):
        check.failures.append(f"{total_payments} payments in all")
    floor_rows = await pool.fetch(
        f"SELECT workflow_id, count(*) AS n FROM {floor.TABLE} GROUP BY workflow_id"
    )
    by_item = {r["workflow_id"]: int(r["n"]) for r in floor_rows}
    floor_total = sum(by_item.values())
    want_floor = {item: floor.STEPS for item in bench.floor_items}
    want_floor.update({item: FLOOR_OPEN_STEPS for item in bench.floor_opened})
    check.lines.append(
        f"{floor.TABLE}: {floor_total} rows = {len(bench.floor_items)} items × {floor.STEPS}"
        + (f" + {len(bench.floor_opened)} open × {FLOOR_OPEN_STEPS}" if bench.floor_opened else "")
    )
    if floor_total != sum(want_floor.values()) or set(by_item) != set(want_floor):
        check.failures.append(f"floor: {floor_total} rows over {len(by_item)} items")
    elif by_item != want_floor:
        check.failures.append("floor: an item without the rows its updates write")
    return check


# --- the whole run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    count: int = 40
    officials: int = 20
    single: int = 10
    """Items run with one official (each mode)."""
    open_count: int = 0
    journal: str = "wal"
    warm_up: int = 2


async def run_bench(options: Options, root: Path | None = None) -> BenchResult:
    """The whole benchmark on a stack of its own under ``root`` (a new temporary folder by
    default, short: PostgreSQL's socket lives there; deleted after a run whose rows are
    right)."""
    own_root = root is None
    root = root or Path(tempfile.mkdtemp(prefix="kc-bench-"))
    journal_mode = "wal" if options.journal == "wal" else None
    async with bench_stack(root, journal_mode=journal_mode) as bench:
        # Both workers poll and every code path is loaded before anything is timed.
        for i in range(options.warm_up):
            await floor_item(bench, f"floor-W-{i:04d}", Timings())
            await admin_item(bench, f"BENCH-W-{i:04d}", Timings())
        c, n, single = options.officials, options.count, options.single
        plan = [
            (f"floor, {c} officials", "floor", "FC", n, c),
            ("floor, 1 official", "floor", "F1", single, 1),
            ("floor, local write, 1 off.", "floor-local", "L1", single, 1),
            (f"admin client, {c} officials", "admin", "AC", n, c),
            ("admin client, 1 official", "admin", "A1", single, 1),
            (f"raw updates, {c} officials", "raw", "RC", n, c),
            ("raw updates, 1 official", "raw", "R1", single, 1),
        ]
        # A mode given no items is left out (``--count 0 --single 0 --open M``: memory alone).
        modes = [await run_mode(bench, *step) for step in plan if step[3]]
        memory = None
        if options.open_count:
            memory = await memory_mode(bench, options.open_count, c, options.warm_up)
        rows = await check_rows(bench)
    if rows.ok and own_root:
        shutil.rmtree(root, ignore_errors=True)
    return BenchResult(options.journal, modes, memory, rows, None if rows.ok else root)


# --- the table ------------------------------------------------------------------------------


def _ratio(value: float, floor_value: float) -> str:
    return f"{value / floor_value:.2f}" if floor_value else "-"


def table(result: BenchResult) -> list[str]:
    """The figures, with ratios to the floor run with the same number of officials."""
    floors = {m.officials: m for m in result.modes if m.kind == "floor"}
    out = [
        f"journal: {result.journal}; times in ms; CPU in ms per official action "
        "(registration's CPU included, divided by the 12 actions); others: cores taken by "
        "processes outside this stack during the mode",
        "",
        f"{'mode':<28} {'đề án':>5} {'đề án/s':>8} {'×floor':>6}  "
        f"{'registration p50/p95/p99':>24}  {'action p50/p95/p99':>20} {'×floor p50':>10}",
    ]
    for m in result.modes:
        base = floors.get(m.officials, m)
        r, a = m.timings.registration, m.timings.actions
        reg = f"{percentile(r, 50):.0f}/{percentile(r, 95):.0f}/{percentile(r, 99):.0f}"
        act = f"{percentile(a, 50):.0f}/{percentile(a, 95):.0f}/{percentile(a, 99):.0f}"
        out.append(
            f"{m.name:<28} {m.items:>5} {m.per_second:>8.2f} "
            f"{_ratio(m.per_second, base.per_second):>6}  {reg:>24}  {act:>20} "
            f"{_ratio(percentile(a, 50), percentile(base.timings.actions, 50)):>10}"
        )
    out += [
        "",
        f"{'mode':<28} {'server':>7} {'worker':>7} {'pg':>6} {'harness':>7} {'total':>7} "
        f"{'×floor':>6}  {'events':>6} {'KB':>6} {'ev/act':>6} {'×floor':>6}  "
        f"{'worker RSS MB':>13}  {'others':>6}",
    ]
    for m in result.modes:
        base = floors.get(m.officials, m)
        cpu = [m.cpu_per_action(p) for p in PROCESSES]
        out.append(
            f"{m.name:<28} {cpu[0]:>7.1f} {cpu[1]:>7.1f} {cpu[2]:>6.1f} {cpu[3]:>7.1f} "
            f"{m.cpu_per_action():>7.1f} {_ratio(m.cpu_per_action(), base.cpu_per_action()):>6}  "
            f"{m.events:>6} {m.history_bytes / 1024:>6.1f} {m.events / floor.STEPS:>6.1f} "
            f"{_ratio(m.events, base.events):>6}  {m.worker_rss_kb / 1024:>13.0f}  "
            f"{m.others_cores:>6.2f}"
        )
    if result.memory is not None:
        mem = result.memory
        out += [
            "",
            f"memory: {mem.opened} đề án left open after approval: project worker RSS "
            f"{mem.before_kb / 1024:.0f} → {mem.after_kb / 1024:.0f} MB, "
            f"{mem.per_de_an_kb:.0f} KB per cached đề án",
            f"floor: {mem.opened} items left open after {FLOOR_OPEN_STEPS} updates: floor worker "
            f"RSS {mem.floor_before_kb / 1024:.0f} → {mem.floor_after_kb / 1024:.0f} MB, "
            f"{mem.floor_per_item_kb:.0f} KB per cached item "
            f"(×floor {_ratio(mem.per_de_an_kb, mem.floor_per_item_kb)})",
        ]
    out += ["", "rows in PostgreSQL:"] + [f"  {line}" for line in result.rows.lines]
    out += [f"  FAILED: {f}" for f in result.rows.failures] or ["  ok"]
    if result.kept is not None:
        out.append(f"logs and the Temporal database kept in {result.kept}")
    return out
