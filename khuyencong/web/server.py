"""Serving the web desk: ``khuyencong web`` on its own, or inside ``khuyencong dev``.

Uvicorn runs in the caller's event loop (the admin client's Temporal client and asyncpg pool
live there), without signal handlers of its own: the process's stop event (SIGTERM / Ctrl-C,
:func:`worker.install_stop_signals`) stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import structlog
import uvicorn

from khuyencong.admin.client import AdminClient
from khuyencong.settings import Settings, StartupError
from khuyencong.web.app import create_app

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the process's own stop event stops this server


def bind_socket(bind: str) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"cannot listen on {bind} for the web desk ({exc.strerror}); set "
            "KHUYENCONG_WEB_BIND to another host:port"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def web_desk(
    admin: AdminClient, settings: Settings, *, bind: str | None = None, **app_options: Any
) -> AsyncIterator[str]:
    """Serve the web desk on ``bind`` (default ``settings.web_bind``) while the block runs;
    yields its address."""
    sock = bind_socket(bind or settings.web_bind)
    app = create_app(admin, settings, **app_options)
    # X-Forwarded-Proto / -For are believed from a reverse proxy on this host only
    # (uvicorn's default forwarded_allow_ips): behind it, https requests get Secure cookies
    # and logins record the client's address.
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", proxy_headers=True
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="web-desk")
    try:
        while not server.started:
            if task.done():
                task.result()  # its error
                raise StartupError("the web desk stopped while starting")
            await asyncio.sleep(0.02)
        url = url_of(sock)
        log.info("web desk listening", url=url)
        yield url
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


async def run_web(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """``khuyencong web``: the admin client as ``settings`` say, the desk until SIGTERM /
    Ctrl-C."""
    from worker import install_stop_signals, remove_stop_signals

    stop = asyncio.Event()
    signals = install_stop_signals(stop)
    try:
        async with AdminClient.open(settings) as admin, web_desk(admin, settings) as url:
            echo(f"Khuyến công — bàn làm việc của cán bộ: {url}  (Ctrl-C để dừng)")
            await stop.wait()
    finally:
        remove_stop_signals(signals)
