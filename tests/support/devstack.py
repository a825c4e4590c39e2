"""Running ``khuyencong dev`` inside a test: a free port, and the stack run until what it printed
says it is ready, inspected while it runs, then stopped."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from khuyencong.devstack import run_dev
from khuyencong.settings import Settings
from tests.support.waiting import until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def run_dev_until(
    settings: Settings,
    ports: tuple[int, int, int],
    ready: Callable[[list[str]], bool],
    *,
    timeout: float,
    inspect: Callable[[list[str]], Awaitable[None]] | None = None,
) -> list[str]:
    """Start the stack, wait until ``ready(printed)``, ``inspect(printed)`` while it runs, stop
    it; what it printed. A failed start raises with its own message."""
    stop = asyncio.Event()
    printed: list[str] = []
    port, ui_port, codec_port = ports
    stack = asyncio.create_task(
        run_dev(
            settings,
            port=port,
            ui_port=ui_port,
            codec_port=codec_port,
            stop=stop,
            echo=printed.append,
            web_bind="127.0.0.1:0",
        )
    )

    async def done() -> bool:
        if stack.done():
            stack.result()
        return ready(printed)

    try:
        await until(done, timeout=timeout)
        if inspect is not None:
            await inspect(printed)
    finally:
        stop.set()
        await asyncio.wait_for(stack, timeout=60)
    return printed
