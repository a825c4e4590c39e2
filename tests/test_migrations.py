"""Migrations against a real PostgreSQL: idempotent, safe to race, refuse edited history."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from db.pool import drop_database, ensure_database, with_database
from migrations import (
    Migration,
    MigrationChecksumError,
    apply_migrations,
    migration_files,
)


@pytest_asyncio.fixture(loop_scope="session")
async def empty_db_url(pg_url: str) -> AsyncIterator[str]:
    """A brand-new database on the test server, dropped afterwards."""
    url = with_database(pg_url, f"kc_mig_{uuid.uuid4().hex[:10]}")
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


def test_migration_files_are_shipped_in_version_order() -> None:
    files = migration_files()
    assert files[0].version == "0001"
    assert files[0].name == "init"
    assert [m.version for m in files] == sorted(m.version for m in files)
    assert all(re.fullmatch(r"[0-9a-f]{64}", m.checksum) for m in files)
    assert "CREATE TABLE de_an" in files[0].sql


async def test_applying_migrations_again_is_a_no_op(db_pool: Any) -> None:
    assert await apply_migrations(db_pool) == []
    async with db_pool.acquire() as conn:
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    by_version = {r["version"]: r for r in rows}
    first = migration_files()[0]
    assert by_version["0001"]["name"] == "init"
    assert by_version["0001"]["checksum"] == first.checksum


async def test_two_workers_migrating_a_new_database_at_once_apply_each_file_once(
    empty_db_url: str,
) -> None:
    slow = Migration(
        version="9998",
        name="slow",
        filename="9998_slow.sql",
        sql="SELECT pg_sleep(0.3); CREATE TABLE slow_marker (id int PRIMARY KEY);",
    )
    files = [*migration_files(), slow]
    first = await asyncpg.connect(empty_db_url)
    second = await asyncpg.connect(empty_db_url)
    try:
        results = await asyncio.gather(
            apply_migrations(first, files=files), apply_migrations(second, files=files)
        )
        versions = [m.version for m in files]
        assert sorted(results) == [[], versions]
        count = await first.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(versions)
    finally:
        await first.close()
        await second.close()


async def test_a_migration_edited_after_it_was_applied_is_refused(db_pool: Any) -> None:
    files = migration_files()
    edited = [replace(files[0], sql=files[0].sql + "\n-- edited later\n"), *files[1:]]
    with pytest.raises(MigrationChecksumError, match=r"0001_init\.sql was changed"):
        await apply_migrations(db_pool, files=edited)


async def test_a_failing_migration_is_rolled_back_and_not_recorded(db_pool: Any) -> None:
    broken = Migration(
        version="9999",
        name="broken",
        filename="9999_broken.sql",
        sql="CREATE TABLE half_done (id int); SELECT 1 / 0;",
    )
    with pytest.raises(asyncpg.DivisionByZeroError):
        await apply_migrations(db_pool, files=[*migration_files(), broken])
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert (
            await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = '9999'")
            == 0
        )
        # the advisory lock was released: another migrator gets through at once
        assert await asyncio.wait_for(apply_migrations(conn), timeout=5) == []
