"""Simulate a whole plan year in the time-skipping server: registration, appraisal, the plan's
decision, contracts, monthly progress reports, acceptance, settlement, and the deadlines in
between, then print where the plan stood at each checkpoint.

For planners: change the envelope, the checkpoints or how many đề án finish late, and see the
effect before the year starts. ``khuyencong plan simulate`` runs it with its own time-skipping
server and embedded PostgreSQL; the tests run :func:`simulate_year` on theirs.

The year simulated is the one after the server's current year (the engine refuses paper dates
in the future, and a time-skipping server can only move forward).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from domain.deadlines import VN_TZ, vn_date
from domain.model import Actor, Level, workflow_id_for
from domain.money import format_dong
from khuyencong.plans.backfill import history_officials
from khuyencong.plans.generator import generate
from khuyencong.plans.service import ensure_plan, import_entries
from khuyencong.updates import execute_de_an_update
from workflows.de_an_contract import DeAnActionResult, DeAnState
from workflows.plan_contract import (
    CheckpointRecord,
    ItemStatus,
    PlanConfig,
    PlanDecision,
    PlanDecisionItem,
    PlanDecisionResult,
    PlanRegistration,
    PlanResult,
    default_checkpoints,
)

Sleep = Callable[[timedelta], Awaitable[None]]
Now = Callable[[], Awaitable[datetime]]
Work = Callable[[int, str, list[str]], Awaitable[None]]
"""One đề án's steps of a simulated day: ``work(n, code, log)`` (refusals go to ``log``)."""

log = structlog.get_logger(__name__)

SKIP_ATTEMPTS = 5
"""Calls a move of the clock may take (see ``at`` in :func:`simulate_year`)."""

WORKER_WORKFLOW_TASKS = 4
WORKER_ACTIVITIES = 16
"""The simulation's own worker: tasks at once (see :func:`run_standalone`)."""

CONCURRENCY = 16
"""Đề án acted on at once within a simulated day (independent workflows: the same result as
one at a time, in a fraction of the wall time)."""


def officials(province: str) -> dict[str, Actor]:
    """The officials of a simulated year (IDs ``SIM-...``, never the register's)."""
    return history_officials(province, prefix="SIM")


@dataclass
class Scenario:
    province: str = "Bắc Giang"
    count: int = 5
    late: int = 1
    """Đề án that never finish: they miss the 22 January settlement deadline."""
    under: int = 1
    """Đề án accepted at half their cost: settled for less, the rest released."""
    envelope: int | None = None
    """Default: the sum of the requested support (everything fits)."""
    seed: int = 2019
    decision_number: str = "427/QĐ-UBND"
    completion_day: tuple[int, int] = (11, 10)
    """When the on-time đề án are accepted (month, day): before the 30/11 target."""


@dataclass
class Simulation:
    config: PlanConfig
    entries: list[PlanRegistration]
    result: PlanResult | None = None
    log: list[str] = field(default_factory=list)
    late_codes: list[str] = field(default_factory=list)


async def simulate_year(
    client: Client,
    task_queue: str,
    scenario: Scenario,
    *,
    sleep: Sleep,
    now: Now,
    workflow_id: str | None = None,
    concurrency: int = CONCURRENCY,
) -> Simulation:
    """Run the year; ``sleep`` moves the server's clock (``env.sleep``), ``now`` reads it.
    Within a simulated day, ``concurrency`` đề án are acted on at once."""
    today = vn_date(await now())
    year = today.year + 1
    people = officials(scenario.province)
    entries = generate(
        scenario.seed,
        year=year,
        level=Level.DIA_PHUONG,
        count=scenario.count,
        province=scenario.province,
        content_areas=["3"],  # machinery and models: progress, acceptance, settlement
        code_prefix=f"SIM-{year}-{scenario.seed}",
        registered_on=today,
    )
    entries = [e.model_copy(update={"registered_by": people["trung_tam"]}) for e in entries]
    envelope = scenario.envelope or sum(e.dossier.requested_support for e in entries)
    config = PlanConfig(
        province=scenario.province,
        level=Level.DIA_PHUONG,
        year=year,
        envelope=envelope,
        intake_closes_on=max(date(year - 1, 12, 31), today),
        checkpoints=default_checkpoints(year),
    )
    sim = Simulation(config=config, entries=entries)
    codes = [e.dossier.code for e in entries]
    late = codes[: scenario.late]
    under = codes[scenario.late : scenario.late + scenario.under]
    sim.late_codes = late

    async def at(day: date) -> None:
        """Move the clock to 9:00 on ``day``. A skip is one call that lasts while the worker
        catches up (200 registrations, a month of deadlines); on a loaded machine that call
        can fail (a timeout, an HTTP/2 error) after the clock moved part of the way: the
        clock is read again and the rest skipped."""
        target = datetime.combine(day, time(9), tzinfo=VN_TZ)
        for attempt in range(1, SKIP_ATTEMPTS + 1):
            wait = target - await now()
            if wait <= timedelta(0):
                return
            try:
                await sleep(wait)
                return
            except RPCError as exc:
                if attempt == SKIP_ATTEMPTS:
                    raise
                log.warning("time skip interrupted, skipping the rest", to=str(day), error=str(exc))

    async def act(
        code: str, update: str, payload: dict[str, Any], log: list[str]
    ) -> DeAnActionResult | None:
        handle = client.get_workflow_handle(workflow_id_for(code))
        try:
            answer: DeAnActionResult = await execute_de_an_update(
                handle, update, payload, result_type=DeAnActionResult
            )
            return answer
        except Exception as exc:  # a refusal is part of the story: log it and go on
            cause = getattr(exc, "cause", None) or exc
            log.append(f"{code} {update}: {cause}")
            return None

    async def each(codes: Sequence[str], work: Work) -> None:
        """``work(n, code, log)`` for every đề án of a day, ``concurrency`` at a time (each
        đề án's own steps stay in order; đề án are independent workflows). Refusals are
        logged in the đề án's order, whatever order the answers came back in."""
        gate = asyncio.Semaphore(max(1, concurrency))
        logs: list[list[str]] = [[] for _ in codes]

        async def one(n: int, code: str) -> None:
            async with gate:
                await work(n, code, logs[n])

        await asyncio.gather(*(one(n, code) for n, code in enumerate(codes)))
        for lines in logs:
            sim.log.extend(lines)

    registrar = entries[0].registered_by
    handle = await ensure_plan(client, task_queue, config, registrar, workflow_id=workflow_id)
    registered = await import_entries(
        handle, entries, f"simulation-{year}-{scenario.seed}", registrar
    )
    sim.log.append(f"{today:%d/%m/%Y}: {registered.accepted} đề án đăng ký vào kế hoạch")
    await registrations_recorded(client, codes, concurrency)

    appraised_on = date(year, 1, 15)
    await at(appraised_on)

    async def appraise(_: int, code: str, log: list[str]) -> None:
        await act(
            code,
            "appraise",
            {
                "actor": people["so"],
                "verdict": "pass",
                "appraised_on": appraised_on,
                "minutes_number": "BB-TĐ-01",
            },
            log,
        )

    await each(codes, appraise)

    decided_on = date(year, 3, 9)
    await at(decided_on)
    decision = await handle.execute_update(
        "decide",
        PlanDecision(
            decision_number=scenario.decision_number,
            decision_date=decided_on,
            signer=people["ubnd"].full_name,
            actor=people["ubnd"],
            items=[PlanDecisionItem(code=c) for c in codes],
        ),
        result_type=PlanDecisionResult,
    )
    approved = [i.code for i in decision.items if i.status is ItemStatus.APPROVED]
    sim.log.append(
        f"{decided_on:%d/%m/%Y}: QĐ {scenario.decision_number} phê duyệt {len(approved)}/{len(codes)} đề án"
    )

    signed_on = date(year, 3, 20)
    await at(signed_on)
    support = {e.dossier.code: e.dossier.requested_support for e in entries}
    eligible = {e.dossier.code: e.dossier.eligible_cost for e in entries}

    async def sign(n: int, code: str, log: list[str]) -> None:
        await act(
            code,
            "sign_contract",
            {
                "actor": people["so"],
                "contract_number": f"{n + 1}/HĐ-KC",
                "signed_on": signed_on,
                "contracted_support": support[code],
            },
            log,
        )

    await each(approved, sign)

    def report(month: int, report_on: date) -> Work:
        share = min(10_000, (month - 2) * 1_250)

        async def work(_: int, code: str, log: list[str]) -> None:
            await act(
                code,
                "report_progress",
                {
                    "actor": people["trung_tam"],
                    "month": f"{year}-{month:02d}",
                    "investment_done_bp": share,
                    "spent_cost": eligible[code] * share // 10_000,
                    "reported_on": report_on,
                },
                log,
            )

        return work

    def accept(accepted_on: date, submitted_on: date) -> Work:
        async def work(_: int, code: str, log: list[str]) -> None:
            cost = eligible[code] // 2 if code in under else eligible[code]
            await act(
                code,
                "accept",
                {
                    "actor": people["so"],
                    "minutes_number": "BB-NT-01",
                    "accepted_on": accepted_on,
                    "accepted_cost": cost,
                    "accepted_volume_bp": 10_000,
                },
                log,
            )
            await act(
                code,
                "submit_settlement_dossier",
                {"actor": people["trung_tam"], "submitted_on": submitted_on},
                log,
            )

        return work

    month_done, day_done = scenario.completion_day
    for month in range(3, 13):
        report_on = date(year, month, 20)
        await at(report_on)
        # the đề án accepted by the month of completion no longer report
        reporting = [c for c in approved if c in late or month <= month_done - 1]
        await each(reporting, report(month, report_on))
        if month == month_done:
            accepted_on = date(year, month, day_done)
            await each([c for c in approved if c not in late], accept(accepted_on, report_on))
            sim.log.append(f"{accepted_on:%d/%m/%Y}: nghiệm thu {len(approved) - len(late)} đề án")

    settled_on = date(year, 12, 10)
    await at(settled_on)

    async def settle(_: int, code: str, log: list[str]) -> None:
        settled = await act(
            code,
            "settle",
            {"actor": people["so"], "settlement_number": "QT-01", "settled_on": settled_on},
            log,
        )
        if settled is not None and settled.stage.value == "settled":
            await act(
                code,
                "pay_settlement",
                {"actor": people["ke_toan"], "paid_on": settled_on, "voucher_number": "UNC-01"},
                log,
            )

    await each([c for c in approved if c not in late], settle)
    sim.log.append(f"{settled_on:%d/%m/%Y}: quyết toán {len(approved) - len(late)} đề án")

    # To the last checkpoint (22 January) by waiting for the plan's result, which lets the
    # server skip time as far as the plan needs: one long poll instead of a sleep whose single
    # call a loaded machine could time out while 200 đề án record their deadlines.
    sim.result = await handle.result()
    return sim


async def registrations_recorded(
    client: Client, codes: Sequence[str], concurrency: int = CONCURRENCY
) -> None:
    """Wait, with the clock still, until every đề án has recorded its registration.

    The plan starts its đề án and answers at once; their registrations run afterwards. A
    clock skipped meanwhile reaches the timeouts of their tasks at once: the tasks are done
    again, and on a loaded machine again, while the skip waits. So the first skip waits for
    them here, asking each đề án its state (a query; the clock does not move)."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def recorded(code: str) -> None:
        handle = client.get_workflow_handle(workflow_id_for(code))
        pause = 0.05
        async with gate:
            while (await handle.query("state", result_type=DeAnState)).seq < 1:
                await asyncio.sleep(pause)  # a poll's interval, not a condition
                pause = min(pause * 2, 1.0)

    await asyncio.gather(*(recorded(code) for code in codes))


def print_simulation(sim: Simulation, out: Any = None) -> None:
    """The year's log, then the checkpoints in two narrow tables (progress, money) and the
    late đề án listed whole below them: readable at 80 columns, nothing cut to "…"."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out or sys.stdout, width=None if out is None else 220)
    config = sim.config
    console.print(
        f"[bold]Mô phỏng kế hoạch khuyến công năm {config.year}[/bold] — tỉnh {config.province}, "
        f"{len(sim.entries)} đề án, kinh phí {format_dong(config.envelope)}"
    )
    for line in sim.log:
        console.print(f"  {line}")
    if sim.result is None:
        return
    # Dates, counts and amounts never wrap (a cut amount is a wrong amount); the labels and
    # the stage counts wrap, one stage a line, in whatever width is left.
    progress = Table(title="Các mốc kiểm điểm — tiến độ", title_justify="left")
    progress.add_column("Mốc", ratio=1)
    progress.add_column("Ngày", no_wrap=True)
    progress.add_column("Hoàn thành", no_wrap=True)
    progress.add_column("Theo giai đoạn", no_wrap=True)
    progress.add_column("Chậm / chưa QT", ratio=1)
    money = Table(title="Các mốc kiểm điểm — kinh phí", title_justify="left")
    money.add_column("Mốc", ratio=1)
    for name in ("Đã cam kết", "Đã chi", "Đã trả về (luỹ kế)"):
        money.add_column(name, justify="right", no_wrap=True)
    for c in sim.result.checkpoints:
        progress.add_row(*progress_cells(c))
        money.add_row(c.label, *money_cells(c))
    console.print(progress)
    console.print(money)
    # The codes themselves go below the tables, one checkpoint a line, so that a narrow
    # terminal folds them whole instead of cutting each to "SIM-20…" inside a cell.
    for line in late_lines(sim.result.checkpoints):
        console.print(line, overflow="fold", soft_wrap=False)
    console.print(
        f"Cuối kỳ: đã cam kết {format_dong(sim.result.committed)}, giải phóng "
        f"{format_dong(sim.result.released)} / {format_dong(sim.result.envelope)}"
    )


def late_lines(checkpoints: Sequence[CheckpointRecord]) -> list[str]:
    """The đề án behind schedule or not settled at each checkpoint, as lines below the table."""
    lines = []
    for c in checkpoints:
        parts = []
        if c.behind:
            parts.append("chậm: " + ", ".join(b.code for b in c.behind))
        if c.unsettled:
            parts.append("chưa quyết toán: " + ", ".join(c.unsettled))
        if parts:
            lines.append(f"{c.label} ({c.on:%d/%m/%Y}) — " + "; ".join(parts))
    return lines


def progress_cells(c: CheckpointRecord) -> list[str]:
    """Mốc, ngày, hoàn thành, đề án by stage (one a line), how many late / not settled."""
    counts = []
    if c.behind:
        counts.append(f"{len(c.behind)} chậm")
    if c.unsettled:
        counts.append(f"{len(c.unsettled)} chưa QT")
    return [
        c.label,
        f"{c.on:%d/%m/%Y}",
        f"{c.done_count}/{c.approved_count} ({c.done_bp / 100:g} %)",
        "\n".join(f"{k}: {v}" for k, v in c.counts_by_stage.items()),
        ", ".join(counts) or "—",
    ]


def money_cells(c: CheckpointRecord) -> list[str]:
    """Committed, paid and released (cumulative) at the checkpoint."""
    return [format_dong(c.committed), format_dong(c.paid), format_dong(c.released)]


def quiet_runtime() -> Any:
    """A Temporal runtime whose Rust core logs its warnings through Python logging (stderr,
    this process's format) instead of writing them to stdout between the tables."""
    import logging

    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    forward = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"), forwarding=forward
    )
    return Runtime(telemetry=TelemetryConfig(logging=logs))


async def run_standalone(scenario: Scenario, out: Any = None) -> Simulation:
    """Time-skipping server, embedded PostgreSQL and a worker of our own, for the CLI."""
    import os
    import shutil
    import tempfile
    import uuid
    from pathlib import Path

    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from khuyencong.admin.sql import SEED_OFFICIAL
    from khuyencong.converter import data_converter
    from khuyencong.database import pool_on
    from khuyencong.embedded_pg import start_embedded
    from khuyencong.identity import new_signing_key
    from khuyencong.identity_interceptors import SigningInterceptor
    from khuyencong.settings import Settings
    from worker import build_worker, officials_register

    binary = os.path.join(sys.prefix, "bin", "temporal-test-server")
    parent = Path(tempfile.mkdtemp(prefix="kc-sim-"))
    pg = start_embedded(parent / "data", keep=False, delete_on_stop=True)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=data_converter, runtime=quiet_runtime()
    )
    try:
        try:
            from khuyencong.search_attributes import register_search_attributes

            await register_search_attributes(env.client)
        except ImportError:
            pass
        url = pg.url("kc_simulation")
        async with pool_on(url, migrate=True, min_size=1, max_size=5) as pool:
            task_queue = f"simulation-{uuid.uuid4().hex[:8]}"
            # A key of its own for this throwaway stack: the simulation's officials are in
            # its register and every update it sends is signed for them, so the worker's
            # identity check runs as in production.
            key = new_signing_key("sim")
            settings = Settings.from_env(
                {},
                task_queue=task_queue,
                database_url=url,
                identity_signing_key=key.render(),
                # A few tasks at a time, each finished quickly, rather than 100 sharing one
                # interpreter until a task outlives its timeout (which a skipping clock
                # reaches at once) and is done again.
                max_concurrent_workflow_tasks=WORKER_WORKFLOW_TASKS,
                max_concurrent_activities=WORKER_ACTIVITIES,
            )
            for actor in officials(scenario.province).values():
                await pool.execute(
                    SEED_OFFICIAL,
                    actor.official_id,
                    actor.full_name,
                    actor.organisation,
                    actor.role.value,
                    actor.province,
                )
            config = env.client.config()
            # Statements are judged by the workflow's (skipped) time: issue them by it too.
            signer = SigningInterceptor(key, vouch_all=True, clock=env.get_current_time)
            config["interceptors"] = [*config["interceptors"], signer]  # keep time skipping
            client = Client(**config)
            async with officials_register(pool) as register:
                async with build_worker(client, pool, settings, register):
                    sim = await simulate_year(
                        client, task_queue, scenario, sleep=env.sleep, now=env.get_current_time
                    )
    finally:
        await env.shutdown()
        pg.stop()
        shutil.rmtree(parent, ignore_errors=True)
    print_simulation(sim, out)
    return sim


__all__ = ["Scenario", "Simulation", "print_simulation", "run_standalone", "simulate_year"]
