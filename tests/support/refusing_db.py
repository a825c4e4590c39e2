"""A PostgreSQL that refuses one đề án's step: the real write path meets a real ``DataError``.

``refuse_step(code, action)`` installs a trigger on ``de_an_event`` that raises SQLSTATE 22003
(``numeric_value_out_of_range``, as a number too large for its column does) for that đề án's
steps of that action; it returns the trigger's name, and every trigger is dropped after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest_asyncio

REFUSE_STEP = """
CREATE OR REPLACE FUNCTION test_refuse_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.de_an_id = TG_ARGV[0] AND NEW.action = TG_ARGV[1] THEN
        RAISE EXCEPTION 'giá trị vượt phạm vi (kiểm thử)' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN NEW;
END $$
"""


Refuse = Callable[[str, str], Awaitable[str]]


@pytest_asyncio.fixture(loop_scope="session")
async def refuse_step(db_pool: asyncpg.Pool) -> AsyncIterator[Refuse]:
    """Make PostgreSQL refuse one đề án's step of one action with a DataError (SQLSTATE 22003,
    as an out-of-range number does), through the real write path; undone after the test."""
    made: list[str] = []

    async def refuse(code: str, action: str) -> str:
        name = f"test_refuse_{uuid.uuid4().hex[:8]}"
        await db_pool.execute(REFUSE_STEP)
        await db_pool.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON de_an_event FOR EACH ROW "
            f"EXECUTE FUNCTION test_refuse_step('{code}', '{action}')"
        )
        made.append(name)
        return name

    yield refuse
    for name in made:
        await db_pool.execute(f"DROP TRIGGER IF EXISTS {name} ON de_an_event")
