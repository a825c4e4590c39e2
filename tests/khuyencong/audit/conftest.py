"""A database of its own for each audit test: tampering with rows (as a superuser) must not
reach the other tests' database. Helpers that write a đề án's steps through the real write
path and tamper with them as an operator with superuser rights would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest_asyncio
from typer.testing import CliRunner

from db.de_an import write_step
from db.pool import create_pool, drop_database, ensure_database, with_database
from domain.stages import Action
from khuyencong.cli import app
from migrations import apply_migrations
from tests.support.builders import make_dossier, make_step, unique_code
from workflows.de_an_contract import DeAnStep


@pytest_asyncio.fixture(loop_scope="session")
async def audit_url(pg_url: str) -> AsyncIterator[str]:
    """A fresh database, migrated, dropped afterwards."""
    url = with_database(pg_url, f"kc_audit_{uuid.uuid4().hex[:10]}")
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest_asyncio.fixture(loop_scope="session")
async def audit_pool(audit_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(audit_url, min_size=1, max_size=12)
    try:
        await apply_migrations(pool)
        yield pool
    finally:
        await pool.close()


def life_steps(code: str | None = None, count: int = 4, summary: str = "") -> list[DeAnStep]:
    """A registration and ``count - 1`` event-only steps after it (no detail rows, so a row
    can be deleted without a foreign key standing in the way)."""
    dossier = make_dossier(code=code or unique_code())
    steps = [make_step(Action.REGISTER, dossier=dossier, seq=1, summary=summary or None)]
    for seq in range(2, count + 1):
        steps.append(
            make_step(
                Action.RESOLVE_FINDINGS,
                dossier=dossier,
                seq=seq,
                details={"note": f"lần {seq}", "items": [seq, {"ok": True}]},
            )
        )
    return steps


async def write_life(pool: asyncpg.Pool, steps: list[DeAnStep]) -> str:
    for step in steps:
        async with pool.acquire() as conn, conn.transaction():
            await write_step(conn, step)
    return steps[0].de_an_id


async def as_superuser(pool: asyncpg.Pool, table: str, sql: str, *args: Any) -> None:
    """Change rows of an append-only table the way only a superuser can: its trigger off."""
    trigger = f"{table}_no_update_or_delete"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        await conn.execute(sql, *args)
        await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.exit_code}\n{self.stdout}\n{self.stderr}"


async def run_cli(url: str, *args: str, env: dict[str, str] | None = None) -> Ran:
    """``khuyencong ...`` in-process (its own event loop, in a thread) on database ``url``."""
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        list(args),
        env={"KHUYENCONG_DATABASE_URL": url, "COLUMNS": "200", **(env or {})},
        catch_exceptions=False,
    )
    return Ran(result.exit_code, result.stdout, result.stderr)
