"""Benchmark the plan reports over 100,000 đề án (not a test: it prints timings).

    .venv/bin/python scripts/bench_reports.py [--rows 100000] [--repeat 5]

Uses ``KHUYENCONG_DATABASE_URL`` (a fresh database ``kc_bench_<random>`` is created on that
server and dropped afterwards) or, unset, an embedded PostgreSQL in a temporary directory.
Loads synthetic rows into the read model (``de_an``) and ``plan_item`` with COPY, runs
``VACUUM ANALYZE``, then times each report (best and median of ``--repeat`` runs) and prints
the plan PostgreSQL chose for the main aggregate (an index-only scan of ``de_an_report_idx``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.pool import drop_database, with_database
from khuyencong.database import pool_on
from khuyencong.plans.generator import (
    BAC_GIANG_DISTRICTS,
    HistoryRow,
    copy_history,
    history_row,
)
from khuyencong.plans.reports import SUMMARY_SQL, build_report

PROVINCES = [
    "Bắc Giang",
    "Bắc Ninh",
    "Thái Nguyên",
    "Phú Thọ",
    "Nam Định",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Quảng Nam",
    "Đắk Lắk",
    "Cần Thơ",
    "An Giang",
]
STAGES = [
    "registered",
    "appraised",
    "approved",
    "in_progress",
    "accepted",
    "settled",
    "closed",
    "rejected",
    "stopped",
]
TYPES = ["doanh_nghiep", "hop_tac_xa", "to_hop_tac", "ho_kinh_doanh"]
ITEMS = ["training", "machinery", "demonstration_model", "consulting", "media"]


def synthetic_rows(n: int, seed: int = 1) -> list[HistoryRow]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        year = rng.randrange(2014, 2027)
        level = "quoc_gia" if rng.random() < 0.1 else "dia_phuong"
        province = rng.choice(PROVINCES)
        code = f"SYN-{year}-{i:06d}"
        requested = rng.randrange(20, 300) * 1_000_000
        stage = rng.choice(STAGES)
        approved = requested if stage not in ("registered", "appraised", "rejected") else 0
        advanced = (
            approved * 7 // 10 if stage in ("in_progress", "accepted", "settled", "closed") else 0
        )
        paid = approved if stage == "closed" else advanced
        at = datetime(year, rng.randrange(1, 13), 1, tzinfo=UTC)
        rows.append(
            history_row(
                code=code,
                title=f"Đề án tổng hợp {i}",
                level=level,
                province=province,
                district=rng.choice(BAC_GIANG_DISTRICTS),
                commune=None,
                content_area=str(rng.choice([1, 2, 3, 4, 5, 6, 9])),
                support_item=rng.choice(ITEMS),
                beneficiary_name=f"Cơ sở {i}",
                beneficiary_type=rng.choice(TYPES),
                plan_year=year,
                stage=stage,
                requested=requested,
                approved=approved,
                advanced=advanced,
                paid=paid,
                counterpart_funds=requested * rng.randrange(1, 4),
                total_cost=requested * 2,
                at=at,
            )
        )
    return rows


async def timed(label: str, repeat: int, make) -> None:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await make()
        times.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<48} best {min(times):7.1f} ms   median {statistics.median(times):7.1f} ms")


async def run(url: str, rows: int, repeat: int) -> None:
    async with pool_on(url, migrate=True, min_size=1, max_size=4) as pool:
        start = time.perf_counter()
        data = synthetic_rows(rows)
        built = time.perf_counter()
        async with pool.acquire() as conn:
            await copy_history(conn, data)
            loaded = time.perf_counter()
            await conn.execute("VACUUM ANALYZE de_an")
            await conn.execute("VACUUM ANALYZE plan_item")
        print(
            f"{rows:,} đề án: generated in {built - start:.1f} s, COPY in {loaded - built:.1f} s, "
            f"vacuum/analyze in {time.perf_counter() - loaded:.1f} s"
        )
        print("Reports (each: 6 groupings + total, counterpart by level, checkpoints):")
        await timed("all years, all provinces", repeat, lambda: build_report(pool, 2014, 2026))
        await timed(
            "2014–2018, Bắc Giang",
            repeat,
            lambda: build_report(pool, 2014, 2018, province="Bắc Giang"),
        )
        await timed(
            "2019, national", repeat, lambda: build_report(pool, 2019, 2019, level="quoc_gia")
        )
        await timed(
            "2025–2026, Bắc Ninh, provincial",
            repeat,
            lambda: build_report(pool, 2025, 2026, province="Bắc Ninh", level="dia_phuong"),
        )
        plan = await pool.fetch(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
            + SUMMARY_SQL.format(filters=" AND d.province = $3"),
            2014,
            2018,
            "Bắc Giang",
        )
        print("Plan of the main aggregate (2014–2018, Bắc Giang):")
        for line in plan:
            print("   ", line[0])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    name = f"kc_bench_{uuid.uuid4().hex[:8]}"
    server = os.environ.get("KHUYENCONG_DATABASE_URL")
    if server:
        url = with_database(server, name)
        try:
            await run(url, args.rows, args.repeat)
        finally:
            await drop_database(url)
        return
    from khuyencong.embedded_pg import start_embedded

    parent = Path(tempfile.mkdtemp(prefix="kc-bench-"))
    pg = start_embedded(parent / "data", keep=False, delete_on_stop=True)
    try:
        await run(pg.url(name), args.rows, args.repeat)
    finally:
        pg.stop()
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
