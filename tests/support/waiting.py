"""Waiting for a condition, never for a guessed length of time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(
    condition: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.02
) -> None:
    """Check ``condition`` every ``interval`` seconds until it holds; ``TimeoutError`` after
    ``timeout`` seconds. For things another process or server makes true eventually."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(interval)
