"""PostgreSQL fixtures: one fresh database per test session, migrated.

``KHUYENCONG_TEST_DATABASE_URL`` (any database on the server; the user must be allowed to
create databases) runs the suite against an existing server. Without it an embedded server
starts in a temporary directory and is deleted at the end. Either way the session works in a
database of its own, named ``kc_test_<random>``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from db.pool import create_pool, drop_database, ensure_database, with_database
from migrations import apply_migrations

ENV_URL = "KHUYENCONG_TEST_DATABASE_URL"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_url() -> AsyncIterator[str]:
    """URL of a fresh, empty database for this session."""
    name = f"kc_test_{uuid.uuid4().hex[:10]}"
    server_url = os.environ.get(ENV_URL)
    if server_url:
        url = with_database(server_url, name)
        await ensure_database(url)
        try:
            yield url
        finally:
            await drop_database(url)
        return

    from khuyencong.embedded_pg import start_embedded

    # Not under pytest's basetemp: as root the server runs as another user, and every pytest
    # run resets pytest-of-<user> to mode 0700, which would lock a running server out.
    parent = Path(tempfile.mkdtemp(prefix="kc-pg-"))
    server = start_embedded(parent / "data", keep=False, delete_on_stop=True)
    try:
        url = server.url(name)
        await ensure_database(url)
        yield url
    finally:
        server.stop()
        shutil.rmtree(parent, ignore_errors=True)


_SESSION_POOLS: list[Any] = []


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_pool(pg_url: str) -> AsyncIterator[Any]:
    """An asyncpg pool on the session database, with every migration applied."""
    pool = await create_pool(pg_url, min_size=1, max_size=5)
    try:
        await apply_migrations(pool)
        _SESSION_POOLS.append(pool)
        yield pool
    finally:
        _SESSION_POOLS.remove(pool)
        await pool.close()


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def decision_numbers_of_the_test() -> AsyncIterator[None]:
    """Each test is a world of its own decisions: the register of decision numbers (one
    number, one date and signer, across đề án) is emptied after it. Tests reuse numbers such
    as ``427/QĐ-UBND`` for their own, unrelated decisions, on a shared time-skipping clock
    that moves between them (emptied per module, a later test's date clashed with an earlier
    one's); inside a test they must agree, as in production."""
    yield
    for pool in _SESSION_POOLS:
        await pool.execute("DELETE FROM decision_register")


async def rows_of(pool: Any, table: str, de_an_id: str) -> int:
    """How many rows ``table`` holds for one đề án (the idempotency checks of the activities)."""
    return int(await pool.fetchval(f"SELECT count(*) FROM {table} WHERE de_an_id = $1", de_an_id))
