"""The worker: ``DeAnWorkflow`` and its activities on one task queue.

``python worker.py`` (or ``khuyencong worker``) reads ``KHUYENCONG_*`` settings, opens the
PostgreSQL pool (the configured database, or an embedded server in ``<data_dir>/pgdata``),
applies pending migrations, connects to Temporal and polls until SIGTERM or SIGINT; then it
stops polling and gives running activities ``KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS`` to finish.

asyncpg is imported by ``db/`` (and the activities and edges that use it), never by a module
that defines a workflow (asyncpg #1292).

Proven identity (:mod:`khuyencong.identity`): every update that names an ``actor`` must carry
a statement signed by a key in ``KHUYENCONG_IDENTITY_VERIFY_KEYS`` (or the signing key's own),
checked by :class:`~khuyencong.identity_worker.IdentityInterceptor` against an in-memory
copy of the officials register; so must the start of a ``DeAnWorkflow`` (its registration),
judged by the local activity ``verify_registration`` (:mod:`activities.identity`) against the
same keys and register. :func:`officials_register` loads that copy before the worker
polls and keeps it fresh: on every change of ``officials`` (``LISTEN khuyencong_officials``,
sent by a trigger) and every :data:`REGISTER_REFRESH_SECONDS` as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.identity import RegistrationIdentityActivities
from activities.notifications import DeAnNotificationActivities
from activities.officials import OfficialsActivities
from activities.payments import DeAnPaymentActivities
from activities.plans import PlanActivities
from activities.records import DeAnRecordActivities
from activities.rule_packs import RulePackActivities
from db.officials import load_register
from khuyencong.activation_order import UpdateOrderRunner
from khuyencong.activity_context import ActivityContextInterceptor
from khuyencong.audit.history import history_exporter
from khuyencong.cli_runner import exit_process, run_to_end
from khuyencong.client import connect
from khuyencong.database import open_database
from khuyencong.identity import IdentityKeys, OfficialsRegister
from khuyencong.identity_worker import IdentityInterceptor
from khuyencong.logging import configure_logging
from khuyencong.metrics import metrics_interceptors
from khuyencong.search_attributes import tax_code_hash_key
from khuyencong.settings import Settings, StartupError
from workflows.de_an import DeAnWorkflow
from workflows.plan import KeHoachWorkflow

log = structlog.get_logger(__name__)

REGISTER_REFRESH_SECONDS = 60.0
"""Fallback re-read of the officials register (a change is normally seen at once, by NOTIFY)."""
REGISTER_CHANNEL = "khuyencong_officials"

SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "khuyencong.identity",
        "khuyencong.identity_interceptors",
        "khuyencong.identity_worker",
        "cryptography",
        "workflows.de_an",
        "workflows.plan",
    )
)
"""The identity interceptor runs in the sandbox with the worker's own modules (its keys and
register snapshot are reached by closure, never re-imported).

The workflow modules themselves are passed through too (issue 14): the sandbox re-imported
``workflows/de_an.py`` for every workflow run, and each cached đề án kept that copy (its code
objects, its class and the ~40 generated update methods): about 190 KB of the worker's
memory per cached đề án, against about 60 KB for everything else Python holds for it. Every
run now shares the host's module, as the rules (``workflows.de_an_decisions``, passed through
since the start) always did; the module has no mutable globals. What the sandbox no longer
checks at run time in those two files (``datetime.now``, ``uuid4``, ``random``, reads of the process env
...) ``tests/workflows/test_workflow_determinism.py`` checks in their source."""


@contextlib.asynccontextmanager
async def officials_register(
    pool: Any,
    *,
    refresh_seconds: float = REGISTER_REFRESH_SECONDS,
    register: OfficialsRegister | None = None,
) -> AsyncIterator[OfficialsRegister]:
    """The officials register in memory (``register``, or a new one): loaded before this
    yields (usable at once), then refreshed in the background on every change (NOTIFY) and
    every ``refresh_seconds``."""
    register = OfficialsRegister() if register is None else register
    register.replace(await load_register(pool))
    changed = asyncio.Event()

    def notified(*_: Any) -> None:
        changed.set()

    async def refresh() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), refresh_seconds)
            changed.clear()
            try:
                register.replace(await load_register(pool))
            except Exception as exc:  # keep the last snapshot; try again later
                log.warning("officials register refresh failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)

    async with pool.acquire() as listener:
        await listener.add_listener(REGISTER_CHANNEL, notified)
        task = asyncio.create_task(refresh(), name="officials-register")
        try:
            register.replace(await load_register(pool))  # a change between load and LISTEN
            log.info("officials register loaded", officials=len(register))
            yield register
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await listener.remove_listener(REGISTER_CHANNEL, notified)


def identity_interceptor(settings: Settings, register: OfficialsRegister) -> IdentityInterceptor:
    keys = IdentityKeys.from_settings(settings)
    if not keys.configured:
        log.warning(
            "no identity verification keys: every official's update will be refused "
            "(set KHUYENCONG_IDENTITY_VERIFY_KEYS; see khuyencong.identity)"
        )
    return IdentityInterceptor(keys.verify, register)


def build_worker(
    client: Client, pool: Any, settings: Settings, register: OfficialsRegister
) -> Worker:
    """The production worker on ``settings.task_queue``: tuning, shutdown grace and the
    activity logging context from settings, and the identity check of officials' updates
    against ``register`` (:func:`officials_register`). Tests reuse it with their own client,
    pool and register."""
    records = DeAnRecordActivities(pool)
    payments = DeAnPaymentActivities(pool)
    notifications = DeAnNotificationActivities(pool)
    rule_packs = RulePackActivities(settings.rule_pack_dirs)
    plans = PlanActivities(pool, client, hash_key=tax_code_hash_key(settings))
    identity_check = identity_interceptor(settings, register)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[DeAnWorkflow, KeHoachWorkflow],
        activities=[
            records.record_step,
            payments.record_payment,
            notifications.record_missed_deadline,
            rule_packs.load_rule_packs,
            OfficialsActivities(pool).load_inactive_officials,
            *plans.all(),
            # Local activity of DeAnWorkflow's registration: the start's statement
            # (handed over by the identity interceptor) against the same keys and register.
            RegistrationIdentityActivities(identity_check.keys, register).verify_registration,
        ],
        interceptors=[
            ActivityContextInterceptor(),
            *metrics_interceptors(),  # outside the identity check: its refusals are counted
            identity_check,
        ],
        # Replays a workflow task whose update was accepted after its other commands
        # (khuyencong/activation_order.py) instead of failing it forever.
        workflow_runner=UpdateOrderRunner(SANDBOX),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )


def install_stop_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """Set ``stop`` on SIGTERM / SIGINT. Returns the signals installed (none off the main
    thread or where the loop cannot)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    return installed


def remove_stop_signals(signals: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.remove_signal_handler(sig)


async def run_worker(
    settings: Settings,
    *,
    pool: Any = None,
    client: Client | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the worker until ``stop`` is set (default: until SIGTERM / SIGINT).

    Opens and closes the pool and the client unless they are given; a pool it opens is
    migrated first (:func:`khuyencong.database.open_database`), a pool given was opened (and
    migrated) by its owner. Returns after a graceful shutdown; raises if the worker fails.
    """
    own_signals: list[signal.Signals] = []
    if stop is None:
        stop = asyncio.Event()
        own_signals = install_stop_signals(stop)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if client is None:
                client = await connect(settings)  # first: fails fast, before PostgreSQL starts
            if pool is None:
                pool = await stack.enter_async_context(open_database(settings, migrate=True))
            register = await stack.enter_async_context(officials_register(pool))
            await stack.enter_async_context(
                history_exporter(client, pool, settings.history_export_seconds)
            )
            worker = build_worker(client, pool, settings, register)
            await _run_until(worker, stop, settings)
    finally:
        remove_stop_signals(own_signals)


async def _run_until(worker: Worker, stop: asyncio.Event, settings: Settings) -> None:
    running = asyncio.create_task(worker.run(), name="temporal-worker")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    log.info(
        "worker running",
        task_queue=settings.task_queue,
        namespace=settings.namespace,
        address=settings.temporal_address,
    )
    try:
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stopping.cancel()
        await _shutdown(worker, running, settings)
        raise
    stopping.cancel()
    if running in done:
        running.result()  # the worker stopped by itself: raise its error
        return
    await _shutdown(worker, running, settings)


async def _shutdown(worker: Worker, running: asyncio.Task[None], settings: Settings) -> None:
    log.info("worker stopping", graceful_shutdown_seconds=settings.graceful_shutdown_seconds)
    await worker.shutdown()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    log.info("worker stopped")


def main() -> None:
    """Entry point of ``python worker.py`` (``khuyencong worker`` runs :func:`run_worker`
    through the CLI). Ends through :func:`khuyencong.cli_runner.exit_process`: status 2 with
    one line for a worker that cannot start, 0 after a graceful stop."""
    try:
        settings = Settings.from_env()
    except StartupError as exc:
        print(exc, file=sys.stderr)
        exit_process(2)
    configure_logging(settings.log_format, settings.log_level)
    try:
        run_to_end(lambda: run_worker(settings))  # no pause at exit: see cli_runner
    except StartupError as exc:
        print(exc, file=sys.stderr)
        exit_process(2)
    exit_process(0)


if __name__ == "__main__":
    main()
