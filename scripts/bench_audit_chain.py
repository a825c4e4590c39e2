"""What the audit chain costs the write path (not a test: it prints figures).

    .venv/bin/python scripts/bench_audit_chain.py [--de-an 200] [--steps 5]

On an embedded PostgreSQL of its own: ``--de-an`` đề án of ``--steps`` event-only steps each,
written through :func:`db.de_an.write_step` one at a time and 16 at a time, with the chain's
trigger (migration 0009) and then without it. Every event insert takes the day's chain head
until its transaction commits, so concurrent writers queue there: the figure at 16 is the
ceiling of steps per second of one database.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.de_an import write_step
from db.pool import create_pool, ensure_database
from domain.stages import Action
from khuyencong.embedded_pg import start_embedded
from migrations import apply_migrations
from tests.support.builders import make_dossier, make_step, unique_code

UNCHAINED = [
    "ALTER TABLE de_an_event DISABLE TRIGGER zz_audit_chain",
    "ALTER TABLE de_an_event "
    + ", ".join(
        f"ALTER COLUMN {c} DROP NOT NULL"
        for c in (
            "chain_seq",
            "content_hash",
            "prev_hash",
            "chain_hash",
            "chain_day",
            "day_seq",
            "day_prev_hash",
            "day_hash",
        )
    ),
]


def lives(count: int, steps: int) -> list[list[Any]]:
    out = []
    for _ in range(count):
        dossier = make_dossier(code=unique_code("BENCH"))
        life = [make_step(Action.REGISTER, dossier=dossier, seq=1)]
        life += [
            make_step(Action.RESOLVE_FINDINGS, dossier=dossier, seq=s) for s in range(2, steps + 1)
        ]
        out.append(life)
    return out


async def write_all(pool: Any, count: int, steps: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(life: list[Any]) -> None:
        for step in life:
            async with gate, pool.acquire() as conn, conn.transaction():
                await write_step(conn, step)

    work = lives(count, steps)
    started = time.perf_counter()
    await asyncio.gather(*(one(life) for life in work))
    return count * steps / (time.perf_counter() - started)


async def main(count: int, steps: int) -> None:
    parent = Path(tempfile.mkdtemp(prefix="kc-bench-chain-"))
    server = start_embedded(parent / "data", keep=False, delete_on_stop=True)
    try:
        url = server.url("bench_chain")
        await ensure_database(url)
        pool = await create_pool(url, min_size=16, max_size=16)
        try:
            await apply_migrations(pool)
            await write_all(pool, 20, steps, 16)  # warm up
            for label in ("with the chain", "without it"):
                if label == "without it":
                    for sql in UNCHAINED:
                        await pool.execute(sql)
                for concurrency in (1, 16):
                    rate = await write_all(pool, count, steps, concurrency)
                    print(f"{label:15} {concurrency:2} at a time: {rate:6.0f} steps/s")
        finally:
            await pool.close()
    finally:
        server.stop()
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--de-an", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.de_an, args.steps))
