"""The audit chain of migration 0009 in the database: existing rows chained by the migration,
and the application's role that may only insert into the audit tables."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from db import audit as audit_db
from db.de_an import write_step
from db.pool import create_pool, drop_database, ensure_database, with_database
from khuyencong.audit.verify import verify_all
from migrations import apply_migrations, migration_files
from tests.khuyencong.audit.conftest import life_steps


@pytest_asyncio.fixture(loop_scope="session")
async def empty_url(pg_url: str) -> AsyncIterator[str]:
    url = with_database(pg_url, f"kc_chain_{uuid.uuid4().hex[:10]}")
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


async def test_the_migration_chains_the_rows_stored_before_it_in_the_order_they_were_stored(
    empty_url: str,
) -> None:
    pool = await create_pool(empty_url, min_size=1, max_size=2)
    try:
        before = [m for m in migration_files() if m.version < "0009"]
        await apply_migrations(pool, files=before)
        lives = [life_steps(count=3), life_steps(count=2)]
        for step in [lives[0][0], lives[1][0], lives[0][1], lives[1][1], lives[0][2]]:
            async with pool.acquire() as conn, conn.transaction():
                await write_step(conn, step)

        assert await apply_migrations(pool) == [
            m.version for m in migration_files() if m.version >= "0009"
        ]

        rows = await pool.fetch("SELECT de_an_id, chain_seq, day_seq FROM de_an_event ORDER BY id")
        first, second = lives[0][0].de_an_id, lives[1][0].de_an_id
        assert [(r["de_an_id"], r["chain_seq"]) for r in rows] == [
            (first, 1),
            (second, 1),
            (first, 2),
            (second, 2),
            (first, 3),
        ]
        assert [r["day_seq"] for r in rows] == [1, 2, 3, 4, 5]  # all stored today
        async with pool.acquire() as conn:
            assert (await verify_all(conn)).ok
            heads = await audit_db.heads(conn, [audit_db.de_an_scope(first)])
        assert heads[audit_db.de_an_scope(first)][0] == 3
    finally:
        await pool.close()


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


async def test_the_application_role_may_insert_steps_but_never_change_or_delete_them(
    db_pool: asyncpg.Pool, pg_url: str
) -> None:
    if not await db_pool.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'khuyencong_writer'"):
        pytest.skip("the migrating user could not create khuyencong_writer")
    role = f"kc_app_{uuid.uuid4().hex[:8]}"
    await db_pool.execute(f"CREATE ROLE {role} LOGIN IN ROLE khuyencong_writer")
    try:
        app = await create_pool(as_user(pg_url, role), min_size=1, max_size=1)
        try:
            steps = life_steps(count=2)
            for step in steps:
                async with app.acquire() as conn, conn.transaction():
                    assert await write_step(conn, step) is True
            code = steps[0].de_an_id
            assert (
                await app.fetchval(
                    "SELECT max(chain_seq) FROM de_an_event WHERE de_an_id = $1", code
                )
                == 2
            )
            refused = [
                "UPDATE de_an_event SET summary = 'sửa' WHERE de_an_id = $1",
                "DELETE FROM de_an_event WHERE de_an_id = $1",
                "UPDATE audit_chain_head SET length = 0 WHERE scope = 'de_an:' || $1",
                "DELETE FROM de_an_document WHERE de_an_id = $1",
                "DELETE FROM de_an_history WHERE de_an_id = $1",
            ]
            for sql in refused:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await app.execute(sql, code)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute("TRUNCATE de_an_event CASCADE")
            # the rest of the application's tables stay writable
            await app.execute("UPDATE de_an SET overdue = overdue WHERE de_an_id = $1", code)
            # a worker starting as this role finds the schema current (migrations: the owner)
            assert await apply_migrations(app) == []
        finally:
            await app.close()
    finally:
        await db_pool.execute(f"DROP ROLE {role}")
