"""Benchmark the web desk's server time with 10,000 đề án in the read model (not a test: it
prints timings).

    .venv/bin/python scripts/bench_web.py [--rows 10000] [--requests 60]

A throw-away stack: an embedded PostgreSQL (or a fresh database on the server of
``KHUYENCONG_DATABASE_URL``, dropped afterwards) and a headless Temporal dev server. The read
model gets ``--rows`` synthetic đề án, all in Bắc Giang (the worst case for its officials:
every one is theirs), about a third of them open. Then, in-process (no network: the server's
own time), the desk answers the demo officials' pages; the script prints p50 / p95 / max per
page. The đề án have no workflow, so the page's deadline query comes back NOT_FOUND from
Temporal at once; on a live stack that query is one more round trip to a worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from db.pool import drop_database, with_database
from khuyencong.admin import credentials
from khuyencong.admin.client import AdminClient
from khuyencong.admin.inbox import acting_stages
from khuyencong.admin.sql import INBOX_IN_PROVINCES
from khuyencong.database import pool_on
from khuyencong.demo_data import DEMO_OFFICIALS, seed_demo_officials
from khuyencong.plans.generator import BAC_GIANG_DISTRICTS, HistoryRow, copy_history, history_row
from khuyencong.settings import Settings
from khuyencong.web.app import create_app

PASSWORD = "mat-khau-bench"
STAGES = [
    "registered",
    "appraised",
    "approved",
    "in_progress",
    "accepted",
    "settled",
    "closed",
    "closed",
    "closed",
    "rejected",
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def bac_giang_rows(n: int, seed: int = 12) -> list[HistoryRow]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        year = rng.randrange(2019, 2027)
        stage = rng.choice(STAGES)
        requested = rng.randrange(20, 300) * 1_000_000
        approved = requested if stage not in ("registered", "appraised", "rejected") else 0
        advanced = approved * 7 // 10 if stage in ("in_progress", "accepted", "settled") else 0
        paid = approved if stage == "closed" else advanced
        rows.append(
            history_row(
                code=f"BG-{year}-BN-{i:05d}",
                title=f"Đề án thử tải {i}",
                level="quoc_gia" if rng.random() < 0.05 else "dia_phuong",
                province="Bắc Giang",
                district=rng.choice(BAC_GIANG_DISTRICTS),
                commune=None,
                content_area=str(rng.choice([1, 2, 3, 4, 5, 6, 9])),
                support_item="machinery",
                beneficiary_name=f"Cơ sở {i}",
                beneficiary_type="doanh_nghiep",
                plan_year=year,
                stage=stage,
                requested=requested,
                approved=approved,
                advanced=advanced,
                paid=paid,
                counterpart_funds=requested * 2,
                total_cost=requested * 3,
                at=datetime(year, rng.randrange(1, 13), 1, tzinfo=UTC),
            )
        )
    return rows


async def logged_in(app: object, official_id: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://bench.test",
    )
    page = await client.get("/dang-nhap")
    found = CSRF.search(page.text)
    assert found is not None
    answer = await client.post(
        "/dang-nhap",
        data={"official_id": official_id, "password": PASSWORD, "csrf_token": found.group(1)},
    )
    assert answer.status_code == 303, answer.text
    return client


async def timed(label: str, client: httpx.AsyncClient, paths: list[str]) -> None:
    times = []
    for path in paths:
        start = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(
        f"  {label:<44} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {times[-1]:7.1f} ms   ({len(times)} requests)"
    )


async def run(url: str, rows: int, requests: int, data_dir: Path) -> None:
    from khuyencong.devstack import start_temporal_dev_server, wait_for_temporal

    port = _free_port()
    server = await start_temporal_dev_server(data_dir / "temporal", port=port, ui_port=None)
    try:
        settings = Settings.from_env({}, temporal_address=f"127.0.0.1:{port}", database_url=url)
        client = await wait_for_temporal(settings, server)
        async with pool_on(url, migrate=True, min_size=2, max_size=8) as pool:
            start = time.perf_counter()
            data = bac_giang_rows(rows)
            async with pool.acquire() as conn:
                await copy_history(conn, data)
                await conn.execute("VACUUM ANALYZE de_an")
            await seed_demo_officials(pool)
            for official in DEMO_OFFICIALS:
                await credentials.set_password(pool, official.official_id, PASSWORD)
            open_count = await pool.fetchval(
                "SELECT count(*) FROM de_an WHERE stage NOT IN ('closed', 'rejected')"
            )
            print(
                f"{rows:,} đề án in Bắc Giang ({open_count:,} open) loaded in "
                f"{time.perf_counter() - start:.1f} s"
            )
            admin = AdminClient(client, pool, task_queue="bench", ui_url="http://127.0.0.1:8233")
            app = create_app(admin, settings)
            rng = random.Random(7)
            codes = [r.de_an.code for r in rng.sample(data, requests)]
            so = await logged_in(app, "BG-SCT-003")
            ubnd = await logged_in(app, "BG-UBND-001")
            try:
                print("Server time per page (in-process, after one warm-up request):")
                await so.get("/viec-cho")
                await timed("Việc chờ, Sở Công Thương", so, ["/viec-cho"] * requests)
                await timed("Việc chờ, UBND tỉnh", ubnd, ["/viec-cho"] * requests)
                actor = await admin.acting("BG-SCT-003")
                spent = []
                for _ in range(10):
                    began = time.perf_counter()
                    items = await admin.inbox(actor)
                    spent.append((time.perf_counter() - began) * 1000)
                query = []
                pairs = [f"{level}:{stage}" for level, stage in acting_stages(actor.role)]
                for _ in range(10):
                    began = time.perf_counter()
                    await pool.fetch(INBOX_IN_PROVINCES, pairs, ["Bắc Giang"])
                    query.append((time.perf_counter() - began) * 1000)
                print(
                    f"    of which AdminClient.inbox (the CLI's too): median "
                    f"{statistics.median(spent):.1f} ms for {len(items)} items; its SQL alone "
                    f"{statistics.median(query):.1f} ms"
                )
                await timed("Một đề án", so, [f"/de-an/{c}" for c in codes])
                await timed(
                    "Đề án: danh sách, trang 1..n",
                    so,
                    [f"/de-an?page={n % 50 + 1}" for n in range(requests)],
                )
                await timed(
                    "Đề án: lọc năm + giai đoạn + tìm",
                    so,
                    [f"/de-an?year=2024&stage=in_progress&q=th%E1%BB%AD+t%E1%BA%A3i+{n}"
                     for n in range(requests)],
                )  # fmt: skip
            finally:
                await so.aclose()
                await ubnd.aclose()
    finally:
        await server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    name = f"kc_bench_web_{uuid.uuid4().hex[:8]}"
    parent = Path(tempfile.mkdtemp(prefix="kc-bench-web-"))
    server = os.environ.get("KHUYENCONG_DATABASE_URL")
    try:
        if server:
            url = with_database(server, name)
            try:
                await run(url, args.rows, args.requests, parent)
            finally:
                await drop_database(url)
            return
        from khuyencong.embedded_pg import start_embedded

        pg = start_embedded(parent / "data", keep=False, delete_on_stop=True)
        try:
            await run(pg.url(name), args.rows, args.requests, parent)
        finally:
            pg.stop()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
