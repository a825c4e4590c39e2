"""khuyencong.database: one opener; migrations applied at start-up or by ``khuyencong
migrate``, and every other command refusing a schema that is behind with a message naming
``khuyencong migrate``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from db.pool import drop_database, ensure_database, with_database
from khuyencong.cli import app
from khuyencong.database import SchemaBehind, open_database, pool_on
from khuyencong.settings import Settings
from migrations import migration_files, pending_migrations


@pytest_asyncio.fixture(loop_scope="session")
async def empty_db_url(pg_url: str) -> AsyncIterator[str]:
    """A brand-new database on the test server, dropped afterwards."""
    url = with_database(pg_url, f"kc_open_{uuid.uuid4().hex[:10]}")
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


async def test_a_command_refuses_a_schema_that_is_behind_and_names_khuyencong_migrate(
    empty_db_url: str,
) -> None:
    settings = Settings.from_env({}, database_url=empty_db_url)
    with pytest.raises(SchemaBehind) as behind:
        async with open_database(settings, migrate=False):
            pass
    assert "khuyencong migrate" in str(behind.value)
    assert "cơ sở dữ liệu chưa được cập nhật" in str(behind.value)
    assert behind.value.pending == [m.version for m in migration_files()]
    with pytest.raises(SchemaBehind):  # the check applied nothing
        async with pool_on(empty_db_url, migrate=False):
            pass


async def test_opening_with_migrate_applies_them_once_and_then_a_command_opens(
    empty_db_url: str,
) -> None:
    settings = Settings.from_env({}, database_url=empty_db_url)
    async with open_database(settings, migrate=True) as pool:
        assert await pending_migrations(pool) == []
    async with open_database(settings, migrate=False) as pool:
        assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(
            migration_files()
        )


async def test_a_database_that_does_not_exist_is_behind_too(pg_url: str) -> None:
    missing = with_database(pg_url, f"kc_none_{uuid.uuid4().hex[:10]}")
    with pytest.raises(SchemaBehind, match="khuyencong migrate") as behind:
        async with pool_on(missing, migrate=False):
            pass
    assert behind.value.pending is None
    assert "cơ sở dữ liệu chưa được tạo" in str(behind.value)


def test_the_cli_names_khuyencong_migrate_and_exits_2_then_migrate_brings_it_up_to_date(
    empty_db_url: str,
) -> None:
    env = {
        "KHUYENCONG_DATABASE_URL": empty_db_url,
        "KHUYENCONG_TEMPORAL_ADDRESS": "127.0.0.1:1",  # never reached: the report needs none
    }
    runner = CliRunner()
    behind = runner.invoke(app, ["plan", "report", "--from", "2019", "--to", "2019"], env=env)
    assert behind.exit_code == 2, behind.output
    assert "khuyencong migrate" in behind.stderr
    migrated = runner.invoke(app, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    assert migrated.stdout.startswith("applied: 0001")
    again = runner.invoke(app, ["migrate"], env=env)
    assert again.stdout.strip() == "database is up to date"


def test_de_an_show_applies_no_migration_it_names_khuyencong_migrate_and_exits_2(
    empty_db_url: str,
) -> None:
    """A command only checks the schema: a database one migration behind stays behind."""
    env = {
        "KHUYENCONG_DATABASE_URL": empty_db_url,
        "KHUYENCONG_TEMPORAL_ADDRESS": "127.0.0.1:1",  # the database is judged first
    }
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
    last = migration_files()[-1].version

    async def forget_last() -> None:
        conn = await asyncpg.connect(empty_db_url)
        try:
            await conn.execute("DELETE FROM schema_migrations WHERE version = $1", last)
        finally:
            await conn.close()

    asyncio.run(forget_last())
    for _ in range(2):
        shown = runner.invoke(app, ["de-an", "show", "BG-2019-DP-01"], env=env)
        assert shown.exit_code == 2, shown.output
        assert "khuyencong migrate" in shown.stderr and last in shown.stderr

    async def applied() -> list[str]:
        conn = await asyncpg.connect(empty_db_url)
        try:
            rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
            return [r["version"] for r in rows]
        finally:
            await conn.close()

    assert last not in asyncio.run(applied())
