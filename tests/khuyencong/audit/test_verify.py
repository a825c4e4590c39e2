"""``khuyencong audit verify`` on a real PostgreSQL: an untouched record verifies; an edited,
deleted or reordered row, changed by a superuser with the append-only trigger off, is named."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from db.de_an import write_step
from khuyencong.audit.chain import canonical_event, sha256_hex
from khuyencong.audit.verify import verify_all, verify_de_an
from tests.khuyencong.audit.conftest import as_superuser, life_steps, run_cli, write_life

TRICKY = 'Quyết định "427/QĐ-UBND"\n\tđường dẫn C:\\kc\\ – ✓ \x01 Bắc Giang'


async def test_postgresql_hashes_the_canonical_text_python_builds_from_the_columns(
    audit_pool: asyncpg.Pool,
) -> None:
    code = await write_life(audit_pool, life_steps(count=3, summary=TRICKY))

    rows = await audit_pool.fetch(
        "SELECT e.*, e.details::text AS details_text, audit_canonical_event(e) AS sql_text "
        "FROM de_an_event e WHERE de_an_id = $1 ORDER BY chain_seq",
        code,
    )
    assert [r["chain_seq"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert canonical_event(row) == row["sql_text"]
        assert sha256_hex(row["sql_text"]) == row["content_hash"]
    assert rows[1]["prev_hash"] == rows[0]["chain_hash"]


async def test_an_untouched_record_verifies_for_one_de_an_and_for_all(
    audit_pool: asyncpg.Pool, audit_url: str
) -> None:
    code = await write_life(audit_pool, life_steps(count=4))

    one = await run_cli(audit_url, "audit", "verify", "--de-an", code)
    assert one.exit_code == 0, str(one)
    assert "4 mắt xích của 1 đề án" in one.stdout and "nguyên vẹn" in one.stdout
    every = await run_cli(audit_url, "audit", "verify", "--all", "--json")
    assert every.exit_code == 0, str(every)
    assert every.stdout and '"ok": true' in every.stdout


async def test_a_retried_write_stores_nothing_and_leaves_the_chain_as_it_was(
    audit_pool: asyncpg.Pool,
) -> None:
    steps = life_steps(count=2)
    code = await write_life(audit_pool, steps)
    async with audit_pool.acquire() as conn, conn.transaction():
        assert await write_step(conn, steps[1]) is False  # ON CONFLICT DO NOTHING

    head = await audit_pool.fetchrow(
        "SELECT length, head_hash FROM audit_chain_head WHERE scope = $1", f"de_an:{code}"
    )
    last = await audit_pool.fetchval(
        "SELECT chain_hash FROM de_an_event WHERE de_an_id = $1 AND chain_seq = 2", code
    )
    assert (head["length"], head["head_hash"]) == (2, last)
    async with audit_pool.acquire() as conn:
        assert (await verify_all(conn)).ok


async def test_an_edited_row_is_named_and_the_command_fails(
    audit_pool: asyncpg.Pool, audit_url: str
) -> None:
    code = await write_life(audit_pool, life_steps(count=4))
    await as_superuser(
        audit_pool,
        "de_an_event",
        "UPDATE de_an_event SET summary = 'đã sửa' WHERE de_an_id = $1 AND chain_seq = 2",
        code,
    )

    run = await run_cli(audit_url, "audit", "verify", "--de-an", code)
    assert run.exit_code == 1, str(run)
    assert f"đề án {code}, mắt xích 2" in run.stderr
    assert "đã bị sửa" in run.stderr
    every = await run_cli(audit_url, "audit", "verify", "--all", "--json")
    assert every.exit_code == 1
    assert '"kind": "edited"' in every.stdout


async def test_a_deleted_row_leaves_a_gap_that_is_named(audit_pool: asyncpg.Pool) -> None:
    code = await write_life(audit_pool, life_steps(count=4))
    await as_superuser(
        audit_pool,
        "de_an_event",
        "DELETE FROM de_an_event WHERE de_an_id = $1 AND chain_seq = 2",
        code,
    )

    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
    first = report.breaks[0]
    assert (first.chain, first.kind, first.position) == (f"đề án {code}", "missing", 2)
    assert "bị xoá" in first.message
    assert any(b.chain.startswith("ngày ") for b in report.breaks)  # its day's chain too


async def test_the_last_rows_deleted_are_seen_from_the_head(audit_pool: asyncpg.Pool) -> None:
    code = await write_life(audit_pool, life_steps(count=3))
    await as_superuser(
        audit_pool,
        "de_an_event",
        "DELETE FROM de_an_event WHERE de_an_id = $1 AND chain_seq = 3",
        code,
    )

    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
    first = report.breaks[0]
    assert (first.kind, first.position, first.where) == ("head", 3, "audit_chain_head")
    assert "3 mắt xích, còn lại 2" in first.message


async def test_reordered_rows_with_their_contents_rehashed_break_the_links(
    audit_pool: asyncpg.Pool,
) -> None:
    code = await write_life(audit_pool, life_steps(count=4))
    swap = [
        "UPDATE de_an_event SET chain_seq = 1000 WHERE de_an_id = $1 AND chain_seq = 2",
        "UPDATE de_an_event SET chain_seq = 2 WHERE de_an_id = $1 AND chain_seq = 3",
        "UPDATE de_an_event SET chain_seq = 3 WHERE de_an_id = $1 AND chain_seq = 1000",
        # someone who knows the scheme makes each row's content hash fit it again
        "UPDATE de_an_event e SET content_hash = audit_sha256(audit_canonical_event(e)) "
        "WHERE de_an_id = $1",
    ]
    for sql in swap:
        await as_superuser(audit_pool, "de_an_event", sql, code)

    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
    first = report.breaks[0]
    assert (first.kind, first.position) == ("order", 2)
    assert "đổi thứ tự" in first.message


async def test_steps_of_many_de_an_written_at_once_make_whole_chains(
    audit_pool: asyncpg.Pool,
) -> None:
    lives = [life_steps(count=3) for _ in range(8)]

    async def write(step: Any) -> None:
        async with audit_pool.acquire() as conn, conn.transaction():
            await write_step(conn, step)

    for seq in range(3):  # every đề án's n-th step at the same time
        await asyncio.gather(*(write(life[seq]) for life in lives))

    async with audit_pool.acquire() as conn:
        report = await verify_all(conn)
    assert report.ok, [str(b) for b in report.breaks]
    assert report.links == 24 and report.de_an == 8
    day_seqs = await audit_pool.fetch("SELECT day_seq FROM de_an_event ORDER BY day_seq")
    assert [r["day_seq"] for r in day_seqs] == list(range(1, 25))


REWRITE_CHAIN = """
DO $$
DECLARE
    r record;
    previous text := repeat('0', 64);
    content text;
BEGIN
    UPDATE de_an_event SET summary = 'viết lại' WHERE de_an_id = '{code}' AND chain_seq = 2;
    FOR r IN SELECT id FROM de_an_event WHERE de_an_id = '{code}' ORDER BY chain_seq LOOP
        SELECT audit_sha256(audit_canonical_event(e)) INTO content FROM de_an_event e
        WHERE e.id = r.id;
        UPDATE de_an_event SET content_hash = content, prev_hash = previous,
            chain_hash = audit_sha256(previous || content) WHERE id = r.id;
        SELECT chain_hash INTO previous FROM de_an_event WHERE id = r.id;
    END LOOP;
    UPDATE audit_chain_head SET head_hash = previous WHERE scope = 'de_an:{code}';
END $$
"""


async def test_a_de_an_s_chain_rewritten_whole_with_its_head_still_breaks_its_day(
    audit_pool: asyncpg.Pool,
) -> None:
    code = await write_life(audit_pool, life_steps(count=3))
    await as_superuser(audit_pool, "de_an_event", REWRITE_CHAIN.replace("{code}", code))

    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
        days = await conn.fetch("SELECT chain_day FROM de_an_event WHERE de_an_id = $1", code)
    assert [b.chain for b in report.breaks] == [
        f"ngày {day}" for day in sorted({str(r["chain_day"]) for r in days})
    ]
    assert report.breaks[0].kind == "edited"


async def test_the_same_step_written_twice_at_once_is_stored_and_chained_once(
    audit_pool: asyncpg.Pool,
) -> None:
    steps = life_steps(count=4)

    async def write(step: Any) -> bool:
        async with audit_pool.acquire() as conn, conn.transaction():
            return await write_step(conn, step)

    for step in steps:  # an activity and its retry racing
        assert sorted(await asyncio.gather(write(step), write(step))) == [False, True]

    code = steps[0].de_an_id
    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
        head = await conn.fetchval(
            "SELECT length FROM audit_chain_head WHERE scope = $1", f"de_an:{code}"
        )
    assert report.ok, [str(b) for b in report.breaks]
    assert report.links == head == 4
